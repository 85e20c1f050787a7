"""VFE-TPS: Visual Feature Enhanced Text-based Person Search (Shen et al.,
arXiv 2412.20646, §3).

A CLIP dual encoder (§3.1: :math:`f^v = FC(v^v_{CLS})`,
:math:`f^t = FC(v^t_{EOS})`) trained with

.. math::

    \\mathcal{L} = \\lambda_{mim}\\,\\mathcal{L}_{TG\\text{-}MIM}
        + \\lambda_{cal}\\,\\mathcal{L}_{IS\\text{-}GVFC}
        + \\lambda_{cmpm}\\,\\mathcal{L}_{CMPM}   \\qquad \\text{(eq. 10)}

(all weights 1 in the paper; each component's ``loss_weight``):

* ``losses``: cross-modal matching losses on :math:`(f^v, f^t, \\mathrm{pid})`
  (:class:`~sdtr.models.losses.CMPMLoss`, eq. 6-9);
* ``calibration_losses``: losses on the global visual features and
  identities only, :math:`(f^v, \\mathrm{pid})`
  (:class:`~sdtr.models.losses.ISGVFCLoss`, eq. 4-5; the ablation's
  :class:`~sdtr.models.losses.VisualIDLoss` and
  :class:`~sdtr.models.losses.IdentityTripletLoss`);
* ``mim_head`` + ``mask_generator``: masked image modelling (TG-MIM, eq. 1-3,
  Algorithm 1).  The image is masked by the
  :class:`~sdtr.models.utils.PatchMaskGenerator` (zeroed pixels, paper; or a
  learnable mask token at the patch-embedding level, released code), encoded
  by the *same* image tower in a second pass, and the head reconstructs the
  pixels from these tokens and the clean caption's token features
  (:class:`~sdtr.models.heads.TGMIMHead`; ``text_guided=False``,
  :class:`~sdtr.models.heads.SimMIMHead` and
  :class:`~sdtr.models.heads.MAEHead` -- with ``mode='drop'``, the encoder
  sees the visible patches only -- are the text-free variants).  The target
  is the normalised image the encoder saw (after augmentation).

The auxiliary tasks run only in :meth:`loss`; retrieval uses
:math:`\\cos(f^v, f^t)` as the CLIP baseline.  Everything else (towers,
tokenizer, open_clip-format ``pretrained`` loading) is
:class:`~sdtr.models.retrievers.CLIPRetriever`'s.
"""
from typing import Dict, Optional, Sequence, Union

import torch
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS
from .clip_retriever import CLIPRetriever, build_losses


@MODELS.register_module()
class VFETPSRetriever(CLIPRetriever):
    """CLIP + CMPM + TG-MIM + IS-GVFC.

    Args:
        image_encoder (dict): a ``CLIPVisionTransformer`` config (MIM needs
            the patch grid).
        text_encoder (dict): a ``CLIPTextTransformer`` config.
        tokenizer (dict): ``TOKENIZERS`` config.
        losses (dict | list[dict]): cross-modal losses (default CMPM, paper
            mode).
        calibration_losses (dict | list[dict], optional): visual-only
            identity losses called as ``loss(f_v, pid)`` (default IS-GVFC
            with C = 20); None disables calibration.
        mim_head (dict, optional): reconstruction head config; ``visual_dim``,
            ``text_dim`` and ``patch_size`` default to the towers'.  None
            disables MIM.
        mask_generator (dict): ``PatchMaskGenerator`` config (``token_dim``
            defaults to the image tower width).
        label_key (str): identity field (``'pid'``).
        pretrained (str | dict, optional): open_clip-format CLIP checkpoint
            for both towers (see ``CLIPRetriever``).
        data_preprocessor (dict, optional): default
            ``RetrievalDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 image_encoder: dict,
                 text_encoder: dict,
                 tokenizer: dict = dict(type='CLIPTokenizer'),
                 losses: Union[dict, Sequence[dict]] = dict(
                     cmpm=dict(type='CMPMLoss')),
                 calibration_losses: Union[dict, Sequence[dict], None] = dict(
                     isgvfc=dict(type='ISGVFCLoss')),
                 mim_head: Optional[dict] = dict(type='TGMIMHead'),
                 mask_generator: dict = dict(type='PatchMaskGenerator'),
                 label_key: str = 'pid',
                 pretrained: Union[str, dict, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            image_encoder=image_encoder,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            losses=losses,
            label_key=label_key,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.calibration_losses = build_losses(calibration_losses)
        clash = set(self.losses) & set(self.calibration_losses)
        if clash:
            raise ValueError(f'loss names used twice: {sorted(clash)}')
        self.mim_head = None
        self.mask_generator = None
        if mim_head is not None:
            tower = self.image_encoder
            if not (hasattr(tower, 'embed') and hasattr(tower, 'grid_size')):
                raise TypeError(
                    'masked image modelling needs a patch-token image tower '
                    f'(CLIPVisionTransformer), got {type(tower).__name__}')
            head_cfg = dict(mim_head)
            head_cfg.setdefault('visual_dim', tower.embed_dim)
            head_cfg.setdefault('text_dim', self.text_encoder.embed_dim)
            head_cfg.setdefault('patch_size', self._patch_size)
            if head_cfg['patch_size'] != self._patch_size:
                raise ValueError(
                    f'mim_head.patch_size {head_cfg["patch_size"]} != image '
                    f'tower patch size {self._patch_size}')
            self.mim_head = MODELS.build(head_cfg)
            gen_cfg = dict(mask_generator)
            if gen_cfg.get('mode', 'pixel') == 'token':
                gen_cfg.setdefault('token_dim', tower.width)
            self.mask_generator = MODELS.build(gen_cfg)
            visible_only = bool(
                getattr(self.mim_head, 'requires_visible_only', False))
            if visible_only != (self.mask_generator.mode == 'drop'):
                raise ValueError(
                    f'{type(self.mim_head).__name__} needs mask_generator '
                    f"mode {'drop' if visible_only else 'pixel or token'}, "
                    f'got {self.mask_generator.mode!r}')
            # validate the image size against the mask grid now
            self.mask_generator.grid_shapes(self._image_size,
                                            self._patch_size)

    @property
    def _patch_size(self) -> int:
        p = self.image_encoder.patch_size
        return int(p[0] if isinstance(p, (tuple, list)) else p)

    @property
    def _image_size(self) -> tuple:
        gh, gw = self.image_encoder.grid_size
        return gh * self._patch_size, gw * self._patch_size

    # ---------------------------------------------------------------- MIM
    def reconstruct(self,
                    images: torch.Tensor,
                    text_out: Optional[dict] = None,
                    mask: Optional[torch.Tensor] = None) -> dict:
        """Mask ``images``, encode them and reconstruct (Algorithm 1).

        Args:
            images (Tensor): ``[B, 3, H, W]`` normalised images.
            text_out (dict, optional): :meth:`encode_text` output of the
                paired captions (``tokens``, ``attention_mask``).
            mask (BoolTensor, optional): ``[B, h, w]`` patch mask; drawn by
                the mask generator when None.

        Returns:
            dict: ``pred`` ``[B, 3, H, W]``, ``mask`` ``[B, h, w]``,
            ``pixel_mask`` ``[B, 1, H, W]`` and ``masked_images`` (the
            pixel-masked input; the clean input in token mode; in drop mode
            the masked patches are zeroed for display, the encoder never
            sees them).
        """
        if self.mim_head is None:
            raise RuntimeError('this model has no mim_head')
        P = self._patch_size
        B = images.shape[0]
        if tuple(images.shape[-2:]) != tuple(self._image_size):
            raise ValueError(f'images are {tuple(images.shape[-2:])}, the '
                             f'image tower expects {self._image_size}')
        gen = self.mask_generator
        if mask is None:
            mask = gen.generate(B, self._image_size, P, device=images.device)
        mask = mask.to(images.device)
        tower = self.image_encoder
        kwargs = {}
        if gen.mode == 'pixel':
            masked = gen.mask_images(images, mask, P)
            vis = tower(masked)
        elif gen.mode == 'token':
            masked = images
            vis = tower.forward_tokens(gen.mask_tokens(tower.embed(images),
                                                       mask))
        else:  # 'drop': the encoder sees the visible patches only (MAE)
            masked = gen.mask_images(images, mask, P)  # for display only
            vis = tower.forward_tokens(tower.embed(images),
                                       keep_index=gen.visible_index(mask))
            kwargs['mask'] = mask
        if text_out is not None:
            kwargs.update(text_tokens=text_out['tokens'],
                          text_mask=text_out.get('attention_mask'))
        pred = self.mim_head(vis['tokens'], tower.grid_size, **kwargs)
        return dict(pred=pred, mask=mask, masked_images=masked,
                    pixel_mask=gen.pixel_mask(mask, P))

    # -------------------------------------------------------------- train
    @staticmethod
    def _calibration_log_vars(name: str, loss_fn) -> Dict[str, torch.Tensor]:
        """``<name>_<key>`` log scalars a calibration loss left in its
        ``log_vars`` (e.g. ``isgvfc_pos_frac``, the fraction of rows with a
        same-identity partner).  mmengine sums every output whose key
        contains ``'loss'``, so such keys are refused."""
        out = {}
        for key, value in getattr(loss_fn, 'log_vars', {}).items():
            full = f'{name}_{key}'
            if 'loss' in full:
                raise ValueError(
                    f'log scalar {full!r} contains "loss": mmengine would '
                    'add it to the training loss; rename the calibration '
                    'loss or the scalar')
            out[full] = torch.as_tensor(value).detach()
        return out

    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_<name>`` of every matching and calibration loss, plus
        ``loss_mim`` (eq. 10), and the calibration losses' log scalars
        (``isgvfc_pos_frac``: not losses, mmengine only logs them)."""
        if not len(self.losses) and not len(self.calibration_losses) and \
                self.mim_head is None:
            raise RuntimeError('VFETPSRetriever has no loss configured')
        img = self.image_embedding(self.encode_image(inputs))
        text_out = self.encode_text(self.get_texts(data_samples))
        txt = self.text_embedding(text_out)
        labels = self.get_labels(data_samples, self.label_key)
        out = {
            f'loss_{name}': loss_fn(img, txt, labels)
            for name, loss_fn in self.losses.items()
        }
        for name, loss_fn in self.calibration_losses.items():
            out[f'loss_{name}'] = loss_fn(img, labels)
            out.update(self._calibration_log_vars(name, loss_fn))
        if self.mim_head is not None:
            rec = self.reconstruct(inputs, text_out)
            out['loss_mim'] = self.mim_head.loss(rec['pred'], inputs,
                                                 rec['pixel_mask'])
        return out
