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
from ..utils.checkpoint_loading import PretrainedMixin


class CLIPTowerMixin(PretrainedMixin):
    """A CLIP tower; ``clip_tower`` (``'visual'`` or ``'text'``) names the
    part of a CLIP checkpoint it takes."""

    clip_tower: str = 'visual'
