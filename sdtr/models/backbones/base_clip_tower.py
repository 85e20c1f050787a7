"""Pretrained weights of the CLIP towers (not registered).

A tower takes ``pretrained=dict(checkpoint=<path, URL or
openclip:<arch>/<tag>>, **options)`` (or a plain string, or mmengine's
``init_cfg=dict(type='Pretrained', checkpoint=...)``, which is routed to the
same strict loader), read in ``init_weights`` by
:class:`~sdtr.models.utils.PretrainedMixin`.  Its ``convert_state_dict``
takes the tower's part of a CLIP checkpoint (``visual.*`` or the text keys;
a bare tower state dict is used as it is) and resizes the position table.

Options: ``prefix``, ``ignore_keys``, ``reinit_keys``, ``check_hash``,
``sha256`` (all components) and the tower's resizing options
(``interpolation``, ``antialias``, ``old_grid_size`` for image towers,
``text_pos_resize`` for the text tower).  See
``docs/pretrained_weights.md``.
"""
from sdtr.checkpoint import PretrainedMixin
from ..utils.clip_checkpoint import (clip_tower_state_dict,
                                     resize_vision_pos_key)


class CLIPTowerMixin(PretrainedMixin):
    """A CLIP tower; ``clip_tower`` (``'visual'`` or ``'text'``) names the
    part of a CLIP checkpoint it takes."""

    clip_tower: str = 'visual'


class CLIPImageTowerMixin(CLIPTowerMixin):
    """A CLIP image tower: takes ``visual.*`` and resizes its position table
    (``pos_embed_key``, ``1 + H * W`` rows) to ``self.grid_size``."""

    clip_tower = 'visual'
    pos_embed_key: str = 'positional_embedding'

    def convert_state_dict(self,
                           state_dict: dict,
                           report,
                           interpolation: str = 'bicubic',
                           antialias: bool = True,
                           old_grid_size=None) -> dict:
        """The ``visual.*`` part of a CLIP checkpoint, with the position
        table resized to this tower's grid."""
        state_dict = clip_tower_state_dict(state_dict, report,
                                           self.clip_tower)
        rows = self.get_parameter(self.pos_embed_key).shape[0]
        return resize_vision_pos_key(
            state_dict, report, self.pos_embed_key, self.grid_size, rows,
            interpolation=interpolation, antialias=antialias,
            old_grid_size=old_grid_size)
