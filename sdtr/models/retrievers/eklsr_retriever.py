"""EKLSR: explicit key-local selection and reconstruction (ACM MM 2024).

A CLIP dual encoder (:class:`CLIPRetriever`) plus, composed from registered
parts:

* **KLSF** (§3.2), per modality and independent of the other one (gallery
  features are computed offline): importance factors of the locals
  (:class:`~sdtr.models.selectors.ImportanceFactor`, eq. 1-2), selection of
  :math:`\\lceil\\alpha N\\rceil` patches / :math:`\\lceil\\beta n\\rceil`
  words (:class:`~sdtr.models.selectors.KeyLocalSelector`, eq. 3-4) and the
  fusion with the global feature (:class:`~sdtr.models.necks.KLSFFusion`,
  eq. 5-8).  The fused features :math:`F^v, F^t` are the retrieval
  embeddings and enter the contrastive loss (eq. 9: symmetric InfoNCE on
  cosines with a temperature, positives by ``pid`` so the person-search
  version is multi-positive by identity, and for remote sensing the captions
  of one image are its positives).
* **Text KLR** (§3.3.1, eq. 10-13): a second selector (ratio
  :math:`\\gamma`) picks key words from the same importance factors, they
  are replaced by ``<|mask|>``, the masked caption is re-encoded and
  :class:`~sdtr.models.heads.TextKLRHead` predicts the original ids from
  each masked token feature plus the paired image's global feature
  :math:`f_g^v`.
* **Image KLR** (§3.3.2, eq. 14-17): a selector (ratio :math:`\\tau`) picks
  key patches, :class:`~sdtr.models.heads.ImageKLRHead` replaces their patch
  embeddings by a mask embedding, the image tower re-encodes them and the
  head predicts the visual tokens that a frozen BEiT tokenizer
  (:class:`~sdtr.models.target_generators.DALLETargetGenerator`) assigns to
  those patches, from the masked patch feature plus the paired caption's
  global feature :math:`f_g^t`.

Total loss (eq. 18): :math:`\\mathcal{L} = \\mathcal{L}_{ce} + \\lambda
\\mathcal{L}_{tklr} + \\eta \\mathcal{L}_{iklr}`, with :math:`\\lambda` and
:math:`\\eta` the ``loss_weight`` of the two heads (0.1).  KLR runs only in
training.  Leaving a part out (``None``) gives the ablations of Table 5
(e.g. no necks and no heads is the CLIP baseline).

Choices where the paper is silent (documented, config switches):

* the importance factors are computed on the tower outputs (projected
  tokens), so :math:`f_{cls} = f_g` in eq. 5 and eq. 8; the text instance
  feature is CLIP's EOT token (the SOT output of a causal transformer sees
  nothing), see :mod:`sdtr.models.selectors.importance_factor`;
* KLR masks are drawn from the importance factors of the unmasked forward
  pass of the same step (no gradient through the selection);
* the paired global features of eq. 12 / 16 are the *unmasked* CLIP globals
  :math:`f_g` of the other modality (not the fused :math:`F`), as written.
"""
from typing import Dict, Optional, Sequence, Union

import torch
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS
from ..interfaces import (CLIPStyleTokenizer, FusionNeck, ImageKLRHead,
                          ImportanceScorer, LocalSelector, PatchImageTower,
                          TargetGenerator, TextKLRHead, require,
                          require_equal)
from .clip_retriever import CLIPRetriever

#: (role, interface) of the EKLSR parts, in build order
PARTS = (('importance', ImportanceScorer), ('image_selector', LocalSelector),
         ('text_selector', LocalSelector), ('image_neck', FusionNeck),
         ('text_neck', FusionNeck), ('text_klr_selector', LocalSelector),
         ('text_klr_head', TextKLRHead),
         ('image_klr_selector', LocalSelector),
         ('image_klr_head', ImageKLRHead),
         ('target_generator', TargetGenerator))
#: (part, the part it needs): necks / heads and their selectors come
#: together, selectors need the importance factors, image KLR its targets
NEEDS = (('image_neck', 'image_selector'), ('image_selector', 'image_neck'),
         ('text_neck', 'text_selector'), ('text_selector', 'text_neck'),
         ('text_klr_head', 'text_klr_selector'),
         ('text_klr_selector', 'text_klr_head'),
         ('image_klr_head', 'image_klr_selector'),
         ('image_klr_selector', 'image_klr_head'),
         ('image_selector', 'importance'), ('text_selector', 'importance'),
         ('text_klr_selector', 'importance'),
         ('image_klr_selector', 'importance'),
         ('image_klr_head', 'target_generator'))


@MODELS.register_module()
class EKLSRRetriever(CLIPRetriever):
    """CLIP + KLSF + Text/Image KLR (EKLSR eq. 1-18).

    Args:
        image_encoder, text_encoder, tokenizer, losses, logit_scale,
        pretrained, data_preprocessor, init_cfg: as :class:`CLIPRetriever`
            (``losses`` is :math:`\\mathcal{L}_{ce}` of eq. 9, on the fused
            features; the tokenizer must be CLIP-style).
        importance (dict): ``ImportanceFactor`` config (eq. 1-2).
        image_selector (dict, optional): ``KeyLocalSelector`` with ratio
            :math:`\\alpha` (eq. 3).
        text_selector (dict, optional): ``KeyLocalSelector`` with ratio
            :math:`\\beta` (eq. 4).
        image_neck (dict, optional): ``KLSFFusion`` of the image branch
            (eq. 5-8); None = retrieval on the CLIP global feature.
        text_neck (dict, optional): ``KLSFFusion`` of the text branch.
        text_klr_selector (dict, optional): ``KeyLocalSelector`` with ratio
            :math:`\\gamma` (eq. 10).
        text_klr_head (dict, optional): ``TextKLRHead`` (eq. 12-13); needs a
            tokenizer with a mask token.
        image_klr_selector (dict, optional): ``KeyLocalSelector`` with ratio
            :math:`\\tau` (eq. 14).
        image_klr_head (dict, optional): ``ImageKLRHead`` (eq. 16-17); needs
            a ViT image tower.
        target_generator (dict, optional): visual tokenizer of Image KLR
            (``DALLETargetGenerator``).
    """

    train_features = CLIPRetriever.train_features + ('img_klsf',
                                                     'txt_klsf')
    extra_loss_names = ('klr_text', 'klr_image')

    def __init__(self,
                 image_encoder: dict,
                 text_encoder: dict,
                 tokenizer: dict = dict(type='CLIPTokenizer',
                                        mask_token=True),
                 losses: Union[dict, Sequence[dict]] = dict(
                     type='InfoNCELoss'),
                 logit_scale: Optional[dict] = dict(
                     init_temperature=0.07, learnable=True, max_scale=100.),
                 importance: Optional[dict] = dict(type='ImportanceFactor'),
                 image_selector: Optional[dict] = None,
                 text_selector: Optional[dict] = None,
                 image_neck: Optional[dict] = None,
                 text_neck: Optional[dict] = None,
                 text_klr_selector: Optional[dict] = None,
                 text_klr_head: Optional[dict] = None,
                 image_klr_selector: Optional[dict] = None,
                 image_klr_head: Optional[dict] = None,
                 target_generator: Optional[dict] = None,
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
        cfgs = dict(importance=importance, image_selector=image_selector,
                    text_selector=text_selector, image_neck=image_neck,
                    text_neck=text_neck, text_klr_selector=text_klr_selector,
                    text_klr_head=text_klr_head,
                    image_klr_selector=image_klr_selector,
                    image_klr_head=image_klr_head,
                    target_generator=target_generator)
        for role, interface in PARTS:
            setattr(self, role, self.build_part(cfgs[role], interface, role))
        self._check_parts()

    # ------------------------------------------------------------ checks
    def _check_parts(self) -> None:
        """The declared requirements between the parts (build time)."""
        by = type(self).__name__
        interfaces = dict(PARTS)
        for part, needed in NEEDS:
            if getattr(self, part) is not None:
                require(getattr(self, needed), interfaces[needed], needed, by,
                        needed_by=part)
        require(self.tokenizer, CLIPStyleTokenizer, 'tokenizer', by)
        dim = self.image_encoder.embed_dim
        for role in ('image_neck', 'text_neck'):
            neck = getattr(self, role)
            if neck is not None:
                require_equal(by, 'channels', **{
                    f'{role}.in_channels': neck.in_channels,
                    f'{role}.out_channels': neck.out_channels,
                    'image_encoder.embed_dim': dim})
        for role in ('text_klr_head', 'image_klr_head'):
            head = getattr(self, role)
            if head is not None:
                require_equal(by, 'channels', **{
                    f'{role}.in_channels': head.in_channels,
                    'image_encoder.embed_dim': dim})
        if self.text_klr_head is not None:
            self._check_text_klr()
        if self.image_klr_head is not None:
            self._check_image_klr()

    def _check_text_klr(self) -> None:
        """Text KLR masks with the tokenizer's ``<|mask|>`` and predicts
        every id of the text tower."""
        by, head = type(self).__name__, self.text_klr_head
        tok_mask = self.tokenizer.mask_token_id
        if head.mask_token_id is None:
            if tok_mask is None:
                raise ValueError(
                    f'{by}: text_klr_head needs a mask token: use '
                    'tokenizer=dict(type="CLIPTokenizer", mask_token=True) '
                    'or set mask_token_id')
            head.mask_token_id = int(tok_mask)
        elif tok_mask is not None:
            require_equal(by, 'mask token ids', **{
                'text_klr_head.mask_token_id': head.mask_token_id,
                'tokenizer.mask_token_id': tok_mask})
        require_equal(by, 'vocab_size (token ids)', **{
            'text_klr_head.vocab_size': head.num_classes,
            'text_encoder.vocab_size': self.text_encoder.vocab_size})

    def _check_image_klr(self) -> None:
        """Image KLR masks patch embeddings of a ViT and predicts the codes
        of a visual tokenizer that reads the same normalised images."""
        by, head = type(self).__name__, self.image_klr_head
        require(self.image_encoder, PatchImageTower, 'image_encoder', by)
        require_equal(by, 'mask_channels (patch embedding widths)', **{
            'image_klr_head.mask_channels': head.mask_channels,
            'image_encoder.width': self.image_encoder.width})
        require_equal(by, 'codes (visual-token vocabularies)', **{
            'image_klr_head.vocab_size': head.num_classes,
            'target_generator.vocab_size': self.target_generator.vocab_size})
        # a normalising preprocessor registers a `mean` buffer
        pre_mean = dict(self.data_preprocessor.named_buffers()).get('mean')
        gen_mean = self.target_generator.mean
        if isinstance(pre_mean, torch.Tensor) and pre_mean.numel() == 3 and \
                not pre_mean.is_meta and not torch.allclose(
                    pre_mean.flatten().float(), gen_mean.flatten(),
                    atol=1e-3):
            raise ValueError(
                f'{by}: target_generator.mean {gen_mean.flatten().tolist()} '
                'differs from the data preprocessor mean '
                f'{pre_mean.flatten().tolist()}')

    # --------------------------------------------------------- importance
    @staticmethod
    def image_locals(image_out: dict) -> dict:
        """Locals of the image: the patch tokens (class token excluded)."""
        tokens = image_out.get('tokens')
        if tokens is None or tokens.dim() != 3:
            raise ValueError('EKLSR needs the image tower to return patch '
                             'tokens [B, 1 + N, D]')
        locals_ = tokens[:, 1:]
        valid = torch.ones(locals_.shape[:2], dtype=torch.bool,
                           device=locals_.device)
        return dict(feats=locals_, valid=valid, cls=tokens[:, 0],
                    global_feat=image_out['global'])

    def text_locals(self, text_out: dict) -> dict:
        """Locals of a caption: the words, never SOT, EOT or padding."""
        ids = text_out['input_ids']
        valid = text_out['attention_mask'].bool()
        valid = valid & (ids != self.tokenizer.sot_token_id)
        valid = valid & (ids != self.tokenizer.eot_token_id)
        # the instance feature is the EOT token (CLIP's global), see
        # ImportanceFactor: the SOT output of a causal tower sees nothing.
        return dict(feats=text_out['tokens'], valid=valid,
                    cls=text_out['global'], global_feat=text_out['global'])

    def _klsf(self, parts: dict, selector, neck) -> dict:
        out = dict(parts)
        if self.importance is not None:
            out['scores'] = self.importance(parts['global_feat'],
                                            parts['feats'], parts['valid'])
        if neck is None:
            out['embedding'] = parts['global_feat']
            return out
        selected = selector(out['scores'], parts['valid'])
        out['selected'] = selected
        out['embedding'] = neck(parts['feats'], out['scores'], selected,
                                cls_feat=parts['cls'],
                                global_feat=parts['global_feat'],
                                valid_mask=parts['valid'])
        return out

    def image_klsf(self, image_out: dict) -> dict:
        """Importance, selection and fused feature of the image branch."""
        return self._klsf(self.image_locals(image_out), self.image_selector,
                          self.image_neck)

    def text_klsf(self, text_out: dict) -> dict:
        """Importance, selection and fused feature of the text branch."""
        return self._klsf(self.text_locals(text_out), self.text_selector,
                          self.text_neck)

    def image_embedding(self, image_out: dict) -> torch.Tensor:
        """:math:`F^v` (eq. 8), or the CLIP global without a neck."""
        if self.image_neck is None:
            return image_out['global']
        return self.image_klsf(image_out)['embedding']

    def text_embedding(self, text_out: dict) -> torch.Tensor:
        """:math:`F^t` (eq. 8), or the CLIP global without a neck."""
        if self.text_neck is None:
            return text_out['global']
        return self.text_klsf(text_out)['embedding']

    # -------------------------------------------------------------- train
    def forward_train(self, inputs: torch.Tensor,
                      data_samples: Sequence[DataSample]) -> dict:
        """Encoder outputs, then KLSF of both branches (eq. 1-8): ``img`` /
        ``txt`` are :math:`F^v, F^t` (eq. 9's inputs), ``img_klsf`` /
        ``txt_klsf`` the importance factors and selections KLR reuses."""
        img_out = self.encode_image(inputs)
        txt_out = self.encode_text(self.get_text_inputs(data_samples))
        img = self.image_klsf(img_out)
        txt = self.text_klsf(txt_out)
        return dict(img=img['embedding'], txt=txt['embedding'],
                    img_out=img_out, txt_out=txt_out, img_klsf=img,
                    txt_klsf=txt)

    def extra_losses(self, inputs: torch.Tensor,
                     data_samples: Sequence[DataSample],
                     feats: dict) -> Dict[str, torch.Tensor]:
        """``loss_klr_text`` / ``loss_klr_image`` (eq. 13 / 17, already
        weighted by :math:`\\lambda` / :math:`\\eta`).  The keys must not end
        in ``lr``: mmengine's LogProcessor logs such keys as learning
        rates."""
        out = {}
        if self.text_klr_head is not None:
            out['loss_klr_text'] = self._text_klr(
                feats['txt_klsf'], feats['txt_out'], feats['img_out'])
        if self.image_klr_head is not None:
            out['loss_klr_image'] = self._image_klr(
                inputs, feats['img_klsf'], feats['txt_out'])
        return out

    def _text_klr(self, txt: dict, txt_out: dict,
                  img_out: dict) -> torch.Tensor:
        """Eq. 10-13."""
        selected = self.text_klr_selector(txt['scores'], txt['valid'])
        masked_ids, targets = self.text_klr_head.mask_tokens(
            txt_out['input_ids'], selected)
        masked_out = self.encode_tokens(masked_ids,
                                        txt_out['attention_mask'])
        return self.text_klr_head.loss(masked_out['tokens'],
                                       img_out['global'], targets)

    def _image_klr(self, inputs: torch.Tensor, img: dict,
                   txt_out: dict) -> torch.Tensor:
        """Eq. 14-17."""
        selected = self.image_klr_selector(img['scores'], img['valid'])
        patches = self.image_encoder.embed(inputs)
        if patches.shape[:2] != selected.shape:
            raise RuntimeError(f'patch embeddings {tuple(patches.shape)} do '
                               f'not match the selection '
                               f'{tuple(selected.shape)}')
        masked_out = self.image_encoder.forward_tokens(
            self.image_klr_head.mask_patches(patches, selected))
        codes = self.target_generator(inputs, self.image_encoder.grid_size)
        targets = self.image_klr_head.build_targets(codes, selected)
        return self.image_klr_head.loss(masked_out['tokens'][:, 1:],
                                        txt_out['global'], targets)

    # -------------------------------------------------------------- utils
    @torch.no_grad()
    def importance_maps(self, images: torch.Tensor,
                        texts: Sequence[str]) -> dict:
        """Importance factors of images and captions (for Fig. 3 plots).

        Returns:
            dict: ``image`` ``[B, N]`` (patch order of the grid
            ``grid_size``), ``text`` ``[B, L]``, ``text_valid`` ``[B, L]``,
            ``input_ids`` ``[B, L]`` and ``grid_size``.
        """
        if self.importance is None:
            raise RuntimeError('this model has no importance module')
        img = self.image_locals(self.encode_image(images))
        txt = self.text_locals(self.encode_text(list(texts)))
        txt_out_ids = self.tokenize(list(texts))['input_ids']
        return dict(
            image=self.importance(img['global_feat'], img['feats'],
                                  img['valid']),
            text=self.importance(txt['global_feat'], txt['feats'],
                                 txt['valid']),
            text_valid=txt['valid'],
            input_ids=txt_out_ids,
            # optional: the token layout of the tower, for plotting
            grid_size=tuple(self.image_encoder.grid_size) if isinstance(
                self.image_encoder, PatchImageTower) else ())
