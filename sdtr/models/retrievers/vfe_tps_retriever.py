"""VFE-TPS: Visual Feature Enhanced Text-based Person Search (Shen et al.,
arXiv 2412.20646, §3).

A CLIP dual encoder (§3.1: :math:`f^v = FC(v^v_{CLS})`,
:math:`f^t = FC(v^t_{EOS})`) trained with

.. math::

    \\mathcal{L} = \\lambda_{mim}\\,\\mathcal{L}_{TG\\text{-}MIM}
        + \\lambda_{cal}\\,\\mathcal{L}_{IS\\text{-}GVFC}
        + \\lambda_{cmpm}\\,\\mathcal{L}_{CMPM}   \\qquad \\text{(eq. 10)}

(all weights 1 in the paper; each component's ``loss_weight``):

* ``losses``, run by the loop of :class:`BaseRetriever`: the cross-modal
  matching loss on :math:`(f^v, f^t, \\mathrm{pid})`
  (``cmpm``: :class:`~sdtr.models.losses.CMPMLoss`, eq. 6-9) and the
  calibration loss on the global visual features and identities only,
  :math:`(f^v, \\mathrm{pid})` (``isgvfc``:
  :class:`~sdtr.models.losses.ISGVFCLoss`, eq. 4-5, which declares
  ``inputs=('img',)``; the ablation's
  :class:`~sdtr.models.losses.VisualIDLoss` and
  :class:`~sdtr.models.losses.IdentityTripletLoss` likewise);
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

MIM is the method's own term (:meth:`extra_losses`).  The auxiliary tasks
run only in :meth:`loss`; retrieval uses
:math:`\\cos(f^v, f^t)` as the CLIP baseline.  Everything else (towers,
tokenizer, open_clip-format ``pretrained`` loading) is
:class:`~sdtr.models.retrievers.CLIPRetriever`'s.
"""
from typing import Dict, Optional, Sequence, Union

import torch
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS
from ..interfaces import MaskGenerator, MIMHead, PatchImageTower, require
from .clip_retriever import CLIPRetriever


@MODELS.register_module()
class VFETPSRetriever(CLIPRetriever):
    """CLIP + CMPM + TG-MIM + IS-GVFC.

    Args:
        image_encoder (dict): a ``CLIPVisionTransformer`` config (MIM needs
            the patch grid).
        text_encoder (dict): a ``CLIPTextTransformer`` config.
        tokenizer (dict): ``TOKENIZERS`` config.
        losses (dict | list[dict]): default CMPM (paper mode) and IS-GVFC
            (C = 20); ``dict(isgvfc=None)`` disables calibration.
        logit_scale (dict, optional): the model's logit scale (see
            :meth:`BaseRetriever.setup_losses`); default fixed at 1/0.02
            (the paper gives no temperature; the code base's scale 50).
        mim_head (dict, optional): reconstruction head config; ``visual_dim``,
            ``text_dim`` and ``patch_size`` default to the towers'.  None
            disables MIM.
        mask_generator (dict): ``PatchMaskGenerator`` config (``token_dim``
            defaults to the image tower width).
        pretrained (str | dict, optional): open_clip-format CLIP checkpoint
            for both towers (see ``CLIPRetriever``).
        data_preprocessor (dict, optional): default
            ``RetrievalDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    extra_loss_names = ('mim', )

    def __init__(self,
                 image_encoder: dict,
                 text_encoder: dict,
                 tokenizer: dict = dict(type='CLIPTokenizer'),
                 losses: Union[dict, Sequence[dict]] = dict(
                     cmpm=dict(type='CMPMLoss'),
                     isgvfc=dict(type='ISGVFCLoss')),
                 logit_scale: Optional[dict] = dict(init_temperature=0.02,
                                                    learnable=False),
                 mim_head: Optional[dict] = dict(type='TGMIMHead'),
                 mask_generator: dict = dict(type='PatchMaskGenerator'),
                 pretrained: Union[str, dict, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            image_encoder=image_encoder,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            losses=losses,
            logit_scale=logit_scale,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.mim_head = None
        self.mask_generator = None
        if mim_head is not None:
            tower = require(self.image_encoder, PatchImageTower,
                            'image_encoder', type(self).__name__)
            head_cfg = dict(mim_head)
            head_cfg.setdefault('visual_dim', tower.embed_dim)
            head_cfg.setdefault('text_dim', self.text_encoder.embed_dim)
            head_cfg.setdefault('patch_size', self._patch_size)
            if head_cfg['patch_size'] != self._patch_size:
                raise ValueError(
                    f'mim_head.patch_size {head_cfg["patch_size"]} != image '
                    f'tower patch size {self._patch_size}')
            self.mim_head = self.build_part(head_cfg, MIMHead, 'mim_head')
            gen_cfg = dict(mask_generator)
            if gen_cfg.get('mode', 'pixel') == 'token':
                gen_cfg.setdefault('token_dim', tower.width)
            self.mask_generator = self.build_part(gen_cfg, MaskGenerator,
                                                  'mask_generator')
            visible_only = bool(self.mim_head.requires_visible_only)
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
    def extra_losses(self, inputs: torch.Tensor,
                     data_samples: Sequence[DataSample],
                     feats: dict) -> Dict[str, torch.Tensor]:
        """``loss_mim`` (eq. 1-3, weighted): the masked images re-encoded
        and reconstructed with the clean caption's tokens (Algorithm 1)."""
        if self.mim_head is None:
            return {}
        rec = self.reconstruct(inputs, feats['txt_out'])
        return dict(loss_mim=self.mim_head.loss(rec['pred'], inputs,
                                                rec['pixel_mask']))
