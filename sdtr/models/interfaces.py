"""Declared interfaces of the parts a retriever composes.

Every registered part that a retriever receives from a config (towers,
tokenizers, selectors, beliefs, necks, heads, target generators, losses)
implements one of the small interfaces below.  They are
``typing.Protocol`` classes: a part implements one by having its members (no
inheritance needed, so plugin components need not import sdtr), and a
retriever states what it needs once, when it is built::

    require(self.image_encoder, PatchImageTower, role='image_encoder',
            by='EKLSRRetriever')

which raises :class:`InterfaceError` naming the component's class, its role,
the interface and the missing (or ill-typed) members.  The contract of each
interface (shapes, meaning) is in its docstring and in
``docs/architecture.md`` ("Component interfaces").

Dimension agreements between parts (a neck's ``in_channels`` against the
tower's ``embed_dim`` ...) are checked with :func:`require_equal`, whose
error names every value involved.
"""
from typing import (NamedTuple, Optional, Protocol, Sequence, Tuple,
                    runtime_checkable)

import torch

DOC = 'docs/architecture.md#component-interfaces'


class InterfaceError(TypeError, ValueError):
    """A component does not implement the interface its role needs.

    A ``TypeError`` (wrong kind of component) and a ``ValueError`` (wrong
    config value), so either ``except`` catches it.
    """


# --------------------------------------------------------------- towers
@runtime_checkable
class ImageTower(Protocol):
    """Image tower of a dual encoder (CLIP ViT / ModifiedResNet).

    ``forward(images [B, 3, H, W]) -> dict(global=[B, embed_dim],
    tokens=[B, N, embed_dim] or None)``, not normalised.
    """

    embed_dim: int

    def forward(self, images: torch.Tensor) -> dict:
        ...


@runtime_checkable
class PatchImageTower(ImageTower, Protocol):
    """A ViT image tower whose patch embeddings can be changed before the
    transformer runs (masked image modelling, key-patch masking).

    ``embed(images) -> [B, N, width]`` patch embeddings (no class token, no
    position embedding); ``forward_tokens(patch_tokens, extra_tokens=None,
    keep_index=None) -> dict(global, tokens)`` runs the transformer on them
    (``forward(images) == forward_tokens(embed(images))``).  ``grid_size``
    is the ``(h, w)`` patch grid, ``patch_size`` the patch side in pixels.
    """

    width: int
    patch_size: object  # int or (int, int)
    grid_size: Tuple[int, int]

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        ...

    def forward_tokens(self, patch_tokens: torch.Tensor,
                       extra_tokens: Optional[torch.Tensor] = None,
                       keep_index: Optional[torch.Tensor] = None) -> dict:
        ...


@runtime_checkable
class InstructedImageTower(ImageTower, Protocol):
    """An image tower that takes a prior instruction (PIR-CLIP's ViT):
    ``forward(images, instruction [B, width]) -> dict(global, tokens)``;
    its ``belief`` (:class:`Belief`) re-weights the tokens by the
    instruction."""

    width: int
    belief: object

    def forward(self, images: torch.Tensor,
                instruction: torch.Tensor) -> dict:
        ...


@runtime_checkable
class TextTower(Protocol):
    """Text tower of a dual encoder (CLIP text transformer).

    ``forward(input_ids [B, L], attention_mask [B, L]) -> dict(global=[B,
    embed_dim], tokens=[B, L, embed_dim], attention_mask=[B, L])``; ids below
    ``vocab_size``, ``L <= context_length``.
    """

    embed_dim: int
    context_length: int
    vocab_size: int

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> dict:
        ...


@runtime_checkable
class TokenImageEncoder(Protocol):
    """A backbone returning a token sequence (PIR-ITR's Swin):
    ``forward(images) -> Tensor [B, 1 + N, width]`` (token 0 pooled)."""

    width: int

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        ...


@runtime_checkable
class TokenTextEncoder(Protocol):
    """A text backbone returning token features (PIR-ITR's BERT):
    ``forward(input_ids, attention_mask) -> Tensor [B, L, width]`` (token 0
    is [CLS])."""

    width: int
    context_length: int
    vocab_size: int

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        ...


@runtime_checkable
class InstructionEncoder(Protocol):
    """Scene-prior encoder: ``forward(images) -> Tensor [B, out_dim]``."""

    out_dim: int

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        ...


# ------------------------------------------------------------ tokenizers
@runtime_checkable
class Tokenizer(Protocol):
    """``__call__(texts: list[str]) -> dict(input_ids=LongTensor[B, L],
    attention_mask=LongTensor[B, L])`` with ``L <= context_length`` and ids
    below ``vocab_size``."""

    context_length: int
    vocab_size: int
    #: id that pads a caption shorter than the batch's longest
    pad_token_id: int

    def __call__(self, texts: Sequence[str]) -> dict:
        ...


@runtime_checkable
class CLIPStyleTokenizer(Tokenizer, Protocol):
    """A tokenizer with CLIP's start / end-of-text tokens (the words of a
    caption lie strictly between them) and an optional ``<|mask|>`` token
    (``mask_token_id`` is None without one)."""

    sot_token_id: int
    eot_token_id: int
    mask_token_id: Optional[int]


# ------------------------------------------------------------- selectors
class BeliefOutput(NamedTuple):
    """What a :class:`Belief` returns.

    Attributes:
        tokens (Tensor): ``[B, K, C]`` the tokens the instruction trusts
            (re-weighted, or the ``K`` kept ones).
        belief (Tensor): ``[B, N]`` the belief of every input token.
        kept_indices (Tensor | None): ``[B, K]`` input index of each kept
            token (a selecting belief), None when every token is kept.
    """

    tokens: torch.Tensor
    belief: torch.Tensor
    kept_indices: Optional[torch.Tensor] = None


@runtime_checkable
class Belief(Protocol):
    """PIR belief strategy: ``forward(tokens [B, N, C], instruction [B, C])
    -> BeliefOutput`` (hard: top-K tokens; soft: all tokens re-weighted)."""

    def forward(self, tokens: torch.Tensor,
                instruction: torch.Tensor) -> BeliefOutput:
        ...


@runtime_checkable
class ImportanceScorer(Protocol):
    """EKLSR importance factors: ``forward(global_feat [B, D], local_feats
    [B, N, D], valid_mask [B, N]) -> scores [B, N]``."""

    def forward(self, global_feat: torch.Tensor, local_feats: torch.Tensor,
                valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        ...


@runtime_checkable
class LocalSelector(Protocol):
    """Key-local selection: ``forward(scores [B, N], valid_mask [B, N]) ->
    bool [B, N]``; ``num_selected(num_valid [B]) -> [B]`` how many it
    picks."""

    def num_selected(self, num_valid: torch.Tensor) -> torch.Tensor:
        ...

    def forward(self, scores: torch.Tensor,
                valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        ...


# ----------------------------------------------------------------- necks
@runtime_checkable
class FusionNeck(Protocol):
    """EKLSR KLSF fusion: ``forward(local_feats [B, N, in_channels], scores,
    selected, cls_feat=..., global_feat=..., valid_mask=...) -> [B,
    out_channels]``."""

    in_channels: int
    out_channels: int

    def forward(self, local_feats: torch.Tensor, scores: torch.Tensor,
                selected: torch.Tensor, cls_feat: torch.Tensor,
                global_feat: Optional[torch.Tensor] = None,
                valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        ...


@runtime_checkable
class TextNeck(Protocol):
    """Token refinement over a padded sequence (PIR Temporal-PAE):
    ``forward(tokens [B, L, dim], key_padding_mask [B, L] or None) -> [B, L,
    dim]`` (True in the mask = padding)."""

    dim: int

    def forward(self, tokens: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        ...


@runtime_checkable
class InstructionNeck(Protocol):
    """Instruction-guided token refinement (PIR Spatial-PAE):
    ``forward(tokens [B, K, dim], instruction [B, dim]) -> [B, K, dim]``."""

    dim: int

    def forward(self, tokens: torch.Tensor,
                instruction: torch.Tensor) -> torch.Tensor:
        ...


# ----------------------------------------------------------------- heads
@runtime_checkable
class TextKLRHead(Protocol):
    """EKLSR text key-local reconstruction: ``mask_tokens(input_ids,
    selected) -> (masked_ids, targets)``; ``loss(masked_tokens [B, L,
    in_channels], image_global [B, in_channels], targets) -> Tensor``;
    ``num_classes`` token ids, masks with ``mask_token_id`` (None: taken
    from the tokenizer)."""

    in_channels: int
    num_classes: int
    mask_token_id: Optional[int]

    def mask_tokens(self, input_ids: torch.Tensor,
                    selected: torch.Tensor) -> tuple:
        ...

    def loss(self, feats: torch.Tensor, paired_global: torch.Tensor,
             targets: torch.Tensor) -> torch.Tensor:
        ...


@runtime_checkable
class ImageKLRHead(Protocol):
    """EKLSR image key-local reconstruction: ``mask_patches(patch_tokens
    [B, N, mask_channels], selected) -> patch_tokens``;
    ``build_targets(codes, selected) -> targets``; ``loss(masked_tokens [B,
    N, in_channels], text_global [B, in_channels], targets) -> Tensor`` over
    ``num_classes`` visual-token codes."""

    in_channels: int
    num_classes: int
    mask_channels: int

    def mask_patches(self, patch_tokens: torch.Tensor,
                     selected: torch.Tensor) -> torch.Tensor:
        ...

    def build_targets(self, token_ids: torch.Tensor,
                      selected: torch.Tensor) -> torch.Tensor:
        ...

    def loss(self, feats: torch.Tensor, paired_global: torch.Tensor,
             targets: torch.Tensor) -> torch.Tensor:
        ...


@runtime_checkable
class MIMHead(Protocol):
    """Masked-image-modelling head (VFE-TPS TG-MIM, SimMIM, MAE):
    ``forward(visual_tokens, grid_size, **kw) -> pred [B, 3, H, W]`` and
    ``loss(pred, target, pixel_mask) -> Tensor``.  ``requires_visible_only``
    says whether the encoder must see the visible patches only (MAE)."""

    patch_size: int
    requires_visible_only: bool

    def loss(self, pred: torch.Tensor, target: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
        ...


@runtime_checkable
class MaskGenerator(Protocol):
    """Patch masking of masked image modelling: ``generate(B, image_size,
    patch_size) -> mask [B, h, w]`` (``grid_shapes`` validates the sizes),
    ``mask_images`` / ``mask_tokens`` / ``visible_index`` apply it in
    ``mode`` ``'pixel'`` / ``'token'`` / ``'drop'``, ``pixel_mask(mask,
    patch_size) -> [B, 1, H, W]``."""

    mode: str

    def grid_shapes(self, image_size, patch_size: int) -> tuple:
        ...

    def generate(self, batch_size: int, image_size, patch_size: int,
                 device=None) -> torch.Tensor:
        ...

    def mask_images(self, images: torch.Tensor, mask: torch.Tensor,
                    patch_size: int) -> torch.Tensor:
        ...

    def pixel_mask(self, mask: torch.Tensor,
                   patch_size: int) -> torch.Tensor:
        ...


@runtime_checkable
class TargetGenerator(Protocol):
    """Visual tokenizer of image reconstruction targets:
    ``forward(images, grid_size) -> codes [B, h, w]`` in
    ``[0, vocab_size)``; ``mean`` is the pixel mean it expects."""

    vocab_size: int
    mean: torch.Tensor

    def forward(self, images: torch.Tensor, grid_size) -> torch.Tensor:
        ...


# ---------------------------------------------------------------- losses
@runtime_checkable
class RetrievalLoss(Protocol):
    """A loss of the retriever's loop (``BaseRetriever.loss``).

    Called as ``loss(*[feats[k] for k in inputs], labels, **kw)`` where
    ``feats`` are the retriever's :meth:`forward_train` features, ``labels``
    the metainfo ``label_key`` of every sample as a LongTensor (None when
    ``label_key`` is None: every pair is its own class) and ``kw`` is
    ``dict(logit_scale=<the model's exp'd, clamped scale>)`` when
    ``uses_logit_scale`` (the temperature is the model's, never a
    loss's).  Class attributes, overridable per loss in the config
    (``inputs``, ``label_key``); a loss that declares none of them
    gets ``inputs=('img', 'txt')``, ``label_key='pid'``,
    ``uses_logit_scale=False``.  An optional ``label_choices`` tuple names
    the only label keys the loss is defined for (AffiliationLoss:
    ``('label',)``, scene classes); another ``label_key`` is a build
    error.  After ``forward`` it may leave log
    scalars (not losses) in a ``log_vars`` dict.
    """

    inputs: Tuple[str, ...]
    label_key: Optional[str]
    uses_logit_scale: bool


# ---------------------------------------------------------------- checks
def interface_members(interface: type) -> Tuple[str, ...]:
    """The members an interface declares (its annotations and methods,
    through its Protocol bases)."""
    names = []
    for base in reversed(interface.__mro__):
        if not getattr(base, '_is_protocol', False) or base is Protocol:
            continue
        declared = list(base.__dict__.get('__annotations__', {}))
        declared += [n for n, v in base.__dict__.items()
                     if callable(v) and (not n.startswith('_')
                                         or n == '__call__')]
        names += [n for n in declared if n not in names]
    return tuple(names)


def missing_members(component, interface: type) -> Tuple[str, ...]:
    """Members of ``interface`` that ``component`` lacks, or that hold a
    value of the wrong type (``name (None, expected int)``)."""
    problems = []
    for base in reversed(interface.__mro__):
        if not getattr(base, '_is_protocol', False) or base is Protocol:
            continue
        for name, kind in base.__dict__.get('__annotations__', {}).items():
            if kind is int and hasattr(component, name):
                value = getattr(component, name)
                if not isinstance(value, int) or isinstance(value, bool):
                    problems.append(f'{name} ({value!r}, expected int)')
    absent = [n for n in interface_members(interface)
              if not hasattr(component, n)]
    return tuple(absent + problems)


def require(component, interface: type, role: str, by: str,
            needed_by: Optional[str] = None):
    """Check that ``component`` implements ``interface``; return it.

    Args:
        component: the built part (None means "not configured").
        interface: one of the Protocols of this module.
        role (str): the config key of the part (``'image_encoder'``).
        by (str): who needs it (the retriever class name).
        needed_by (str, optional): the part that makes this one necessary
            (``'image_klr_head'``); then None is an error too.

    Raises:
        InterfaceError: naming the component class, the role, the interface
        and the missing members.
    """
    summary = (interface.__doc__ or '').strip().split('\n\n')[0]
    summary = ' '.join(summary.split())
    if component is None:
        if needed_by is None:
            return None
        raise InterfaceError(
            f'{by}: {needed_by} needs {role} ({interface.__name__}: '
            f'{summary}), got None (see {DOC})')
    missing = missing_members(component, interface)
    if missing:
        raise InterfaceError(
            f'{by}: {role} {type(component).__name__} does not implement '
            f'{interface.__name__} ({summary}): missing '
            f'{", ".join(missing)} (see {DOC})')
    return component


def require_equal(by: str, what: str, **values) -> None:
    """Raise ``ValueError`` unless all ``values`` are equal.

    ``require_equal('EKLSRRetriever', 'channels', **{'image_neck.in_channels':
    16, 'image_encoder.embed_dim': 32})`` ->
    ``EKLSRRetriever: channels differ: image_neck.in_channels=16,
    image_encoder.embed_dim=32``.
    """
    if len(set(values.values())) > 1:
        listed = ', '.join(f'{k}={v!r}' for k, v in values.items())
        raise ValueError(f'{by}: {what} differ: {listed}')
