"""Shared pretrained-weight handling of the CLIP towers (not registered).

A tower takes ``pretrained=dict(checkpoint=<path or URL>, **options)`` (or a
plain string, or mmengine's ``init_cfg=dict(type='Pretrained',
checkpoint=...)``, which is routed here instead of mmengine's non-strict
loader).  The checkpoint is read in :meth:`init_weights`, as OpenMMLab models
do, so building a model never downloads anything; the Runner calls
``init_weights`` before training.

Options (all optional):

* ``prefix``: take the keys under this prefix (e.g. ``'image_encoder.'`` for
  an sdtr checkpoint); by default the tower's part of an open_clip CLIP
  checkpoint is taken (``visual.*`` or the text keys);
* ``ignore_keys``: regular expressions of keys to leave out on purpose;
* ``check_hash`` / ``sha256``: verify a downloaded file;
* tower-specific resizing options (``interpolation``, ``antialias``,
  ``old_grid_size`` for image towers, ``text_pos_resize`` for the text tower).
"""
from typing import Dict, Optional

import torch
from mmengine.logging import print_log

from ..utils.clip_checkpoint import (load_clip_state_dict,
                                     load_state_dict_strict, parse_pretrained,
                                     select_prefix, split_clip_state_dict)


class CLIPTowerMixin:
    """``pretrained`` support for a tower that also inherits ``BaseModule``.

    Subclasses set ``clip_tower`` (``'visual'`` or ``'text'``) and implement
    :meth:`adapt_pretrained_state_dict`.
    """

    clip_tower: str = 'visual'
    _resize_options: tuple = ()

    def _setup_pretrained(self, pretrained, init_cfg) -> None:
        cfg = parse_pretrained(pretrained)
        if cfg is None and isinstance(init_cfg, dict) and \
                init_cfg.get('type') == 'Pretrained':
            cfg = parse_pretrained(init_cfg)
            init_cfg = None
        if cfg is not None:
            unknown = set(cfg) - {
                'checkpoint', 'prefix', 'ignore_keys', 'check_hash', 'sha256'
            } - set(self._resize_options)
            if unknown:
                raise TypeError(f'{self.__class__.__name__}: unknown '
                                f'pretrained options {sorted(unknown)}')
        self.pretrained = cfg
        self.init_cfg = init_cfg

    def set_pending_state_dict(self, state_dict: Dict[str, torch.Tensor],
                               **kwargs) -> None:
        """Queue tower weights to be loaded by the next :meth:`init_weights`.

        Used by a retriever that reads one CLIP checkpoint for both towers:
        the load then happens inside mmengine's ``init_weights`` traversal,
        so its initialisation log reports these parameters as initialised
        by this tower.  ``kwargs`` go to :meth:`load_tower_state_dict`.
        """
        self._pending_state = (state_dict, kwargs)

    def init_weights(self) -> None:
        """Load ``pretrained`` strictly, or run mmengine's ``init_cfg``."""
        pending = getattr(self, '_pending_state', None)
        if pending is not None:
            self._pending_state = None
            if self.pretrained is None:
                super().init_weights()
            self.load_tower_state_dict(pending[0], **pending[1])
            self._is_init = True
            return
        if self.pretrained is None:
            super().init_weights()
            return
        if self._is_init:
            print_log(f'{self.__class__.__name__}: weights already '
                      'initialised, skipping the pretrained load',
                      logger='current')
            return
        self.load_pretrained(**self.pretrained)
        self._is_init = True

    def load_pretrained(self,
                        checkpoint,
                        prefix: Optional[str] = None,
                        ignore_keys=(),
                        check_hash: bool = False,
                        sha256: Optional[str] = None,
                        **resize_options) -> dict:
        """Read ``checkpoint`` and load this tower's part strictly.

        Returns:
            dict: the load report (``loaded``, ``total``, ``coverage``,
            ``ignored``).
        """
        state_dict = load_clip_state_dict(
            checkpoint, check_hash=check_hash, sha256=sha256)
        source = checkpoint if isinstance(checkpoint, str) else '<state dict>'
        if prefix is not None:
            tower_sd, num = select_prefix(state_dict, prefix)
            if num == 0:
                raise KeyError(f'no key of {source} starts with {prefix!r}')
        else:
            parts = split_clip_state_dict(state_dict)
            tower_sd = parts[self.clip_tower]
            if not tower_sd and self.clip_tower == 'visual':
                # a bare image-tower state dict (keys like conv1.weight)
                tower_sd = state_dict
        return self.load_tower_state_dict(
            tower_sd, ignore_keys=ignore_keys, source=source,
            **resize_options)

    def load_tower_state_dict(self,
                              state_dict: Dict[str, torch.Tensor],
                              ignore_keys=(),
                              source: str = '',
                              **resize_options) -> dict:
        """Resize position tables, then load ``state_dict`` strictly."""
        unknown = set(resize_options) - set(self._resize_options)
        if unknown:
            raise TypeError(f'{self.__class__.__name__}: unknown options '
                            f'{sorted(unknown)}')
        state_dict = self.adapt_pretrained_state_dict(
            dict(state_dict), **resize_options)
        return load_state_dict_strict(
            self, state_dict, ignore_keys=ignore_keys,
            name=self.__class__.__name__, source=source)

    def adapt_pretrained_state_dict(self, state_dict: dict,
                                    **options) -> dict:
        """Resize position embeddings of ``state_dict`` to this tower."""
        raise NotImplementedError
