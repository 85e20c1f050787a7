"""The interface every sdtr retrieval model implements (docs/architecture.md).

A retriever maps images and captions into one embedding space:

* :meth:`encode_image` ``(images [B,3,H,W]) -> dict(global=[B,D],
  tokens=[B,N,D] or None)`` (not normalised);
* :meth:`encode_text` ``(texts: list[str]) -> dict(global=[B,D],
  tokens=[B,L,D], attention_mask=[B,L], input_ids=[B,L])``; captions are
  tokenised inside the model by a tokenizer from ``TOKENIZERS``;
* :meth:`loss` ``(inputs, data_samples) -> dict[str, Tensor]``: the one
  training loop of every method (below);
* :meth:`predict` ``(inputs, data_samples) -> list[DataSample]``, each with
  ``img_feat [D]`` and ``text_feats [n_i, D]``, the L2-normalised retrieval
  embeddings

  .. math::  \\hat v = \\frac{g_v}{\\|g_v\\|_2}, \\qquad
             \\hat t = \\frac{g_t}{\\|g_t\\|_2}

  (retrieval scores are :math:`\\hat t^\\top \\hat v`), keeping the input
  metainfo (``image_id``, ``text_ids``, ``pid``, ``text_pids``, ...);
* :meth:`forward` with ``mode='tensor'|'loss'|'predict'``.

Methods whose retrieval embedding is not the plain global feature (e.g. a
fusion of global and local features) override :meth:`image_embedding` and
:meth:`text_embedding`; :meth:`predict` and the losses then use them.

Training (docs/architecture.md#losses-and-the-training-loop).  A method
computes its features once in :meth:`forward_train` (a dict of named
features: ``img``, ``txt`` retrieval embeddings, ``img_out``, ``txt_out``
encoder outputs, plus whatever it declares in :attr:`train_features`); each
configured loss declares the features it takes (``inputs``), the metainfo
label it needs (``label_key``) and whether it takes the model's logit scale
(``uses_logit_scale``), checked when the model is built; method-specific
terms come from :meth:`extra_losses`.  The temperature is the model's: one
logit scale ``logit_scale`` (open_clip's parameter, learned, or fixed as
IRRA's ``1/0.02``) that every loss which scales similarities receives; a
loss configured with ``separate_scale=True`` gets a scale of its own built
the same way (PIR-ITR's released second temperature).
"""
import math
from abc import ABCMeta, abstractmethod
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from sdtr.registry import MODELS, TOKENIZERS
from ..interfaces import Tokenizer, require

#: what a loss that declares nothing takes (docs/architecture.md)
DEFAULT_LOSS_INPUTS = ('img', 'txt')
DEFAULT_LOSS_LABEL = 'pid'
_UNSET = object()
#: options of ``model.logit_scale``
SCALE_OPTIONS = ('init_temperature', 'learnable', 'max_scale')
#: per-loss keys the loop reads from a loss config (not the loss's own)
LOOP_KEYS = ('inputs', 'label_key', 'separate_scale')


class LossSpec(NamedTuple):
    """How the loop calls one loss: ``loss(*feats[inputs], labels[label_key],
    logit_scale=<the model's scale> if uses_logit_scale)``."""

    inputs: Tuple[str, ...]
    label_key: Optional[str]
    uses_logit_scale: bool
    #: the label keys the loss is defined for (None: any training label)
    label_choices: Optional[Tuple[str, ...]] = None
    #: the loss gets a model scale of its own (``logit_scale_<name>``)
    separate_scale: bool = False


def build_losses(losses) -> Tuple[nn.ModuleDict, Dict[str, LossSpec]]:
    """Build ``losses`` and resolve how each one is called.

    ``losses`` may be one config (``dict(type=...)``), a list of configs
    (named by each class's ``default_name``: ``itc``, ``sdm``, ``cmpm``,
    ``id``...) or a dict ``{name: config}`` (a ``None`` value leaves that
    loss out, so a derived config can drop an inherited one).  Each config
    may override the loss's declared ``inputs`` and ``label_key``, and ask
    for a model scale of its own (``separate_scale=True``); a loss class
    that declares none takes ``('img', 'txt')`` and ``'pid'``.  A
    ``temperature`` in a loss config is refused: the model owns it.

    Returns:
        tuple: ``nn.ModuleDict`` of the losses keyed by name, and the
        :class:`LossSpec` of each.
    """
    if losses is None:
        return nn.ModuleDict(), {}
    if isinstance(losses, dict) and 'type' in losses:
        losses = [losses]
    if isinstance(losses, dict):
        items = [(n, c) for n, c in losses.items() if c is not None]
    else:
        items = []
        for cfg in losses:
            name = _default_name(cfg)
            base, i = name, 1
            while any(name == n for n, _ in items):
                i += 1
                name = f'{base}{i}'
            items.append((name, cfg))
    built, specs = nn.ModuleDict(), {}
    for name, cfg in items:
        overrides = {}
        if isinstance(cfg, dict):
            cfg = dict(cfg)
            if 'temperature' in cfg:
                raise TypeError(
                    f'loss {name!r}: the temperature is the model\'s, not '
                    'a loss\'s: set model.logit_scale=dict(init_temperature='
                    f'{cfg["temperature"]}, learnable=...) (or '
                    'separate_scale=True on the loss for a scale of its own; '
                    'docs/architecture.md#losses-and-the-training-loop)')
            for key in LOOP_KEYS:
                value = cfg.pop(key, _UNSET)
                if value is not _UNSET:
                    overrides[key] = value
        loss = MODELS.build(cfg) if isinstance(cfg, dict) else cfg
        inputs = overrides.get(
            'inputs', getattr(loss, 'inputs', DEFAULT_LOSS_INPUTS))
        specs[name] = LossSpec(
            inputs=(inputs, ) if isinstance(inputs, str) else tuple(inputs),
            label_key=overrides.get(
                'label_key', getattr(loss, 'label_key', DEFAULT_LOSS_LABEL)),
            uses_logit_scale=bool(getattr(loss, 'uses_logit_scale', False)),
            label_choices=getattr(loss, 'label_choices', None),
            separate_scale=bool(overrides.get('separate_scale', False)))
        built[name] = loss
    return built, specs


def _default_name(cfg) -> str:
    cls = MODELS.get(cfg['type']) if isinstance(cfg, dict) else type(cfg)
    if cls is None:
        raise KeyError(f'loss type {cfg["type"]!r} is not registered')
    return getattr(cls, 'default_name', cls.__name__.lower())


class BaseRetriever(BaseModel, metaclass=ABCMeta):
    """Base class of image-text retrievers.

    Args:
        tokenizer (dict | object): a ``TOKENIZERS`` config or instance.
        data_preprocessor (dict | nn.Module, optional): defaults to
            ``RetrievalDataPreprocessor`` (CLIP mean/std, BGR to RGB).
        init_cfg (dict, optional): mmengine init config.

    A subclass builds its parts, then calls :meth:`setup_losses` with its
    ``losses`` and ``logit_scale`` arguments.
    """

    #: features :meth:`forward_train` returns (losses may take any of them)
    train_features: Tuple[str, ...] = ('img', 'txt', 'img_out', 'txt_out')
    #: metainfo fields of a training sample a loss may take as labels
    #: (docs/architecture.md#data-samples)
    train_labels: Tuple[str, ...] = ('pid', 'image_id', 'label',
                                     'sample_idx')
    #: names of the terms :meth:`extra_losses` returns (``loss_<name>``);
    #: a configured loss may not take one of them
    extra_loss_names: Tuple[str, ...] = ()

    def __init__(self,
                 tokenizer: Union[dict, object],
                 data_preprocessor: Union[dict, torch.nn.Module,
                                          None] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='RetrievalDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tokenizer = require(
            TOKENIZERS.build(tokenizer) if isinstance(tokenizer, dict) else
            tokenizer, Tokenizer, 'tokenizer', type(self).__name__)

    # ------------------------------------------------------------ helpers
    @property
    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device('cpu')

    def tokenize(self, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
        """Tokenise captions onto the model's device."""
        tokens = self.tokenizer(list(texts))
        return {k: v.to(self._device) for k, v in tokens.items()}

    def build_part(self, cfg, interface: type, role: str):
        """Build a part from its config (or take a built one; None stays
        None) and check it implements ``interface``
        (:func:`~sdtr.models.interfaces.require`)."""
        if cfg is None:
            return None
        part = MODELS.build(cfg) if isinstance(cfg, dict) else cfg
        return require(part, interface, role, type(self).__name__)

    def check_tokenizer(self, text_encoder) -> None:
        """The tokenizer's ids and lengths fit the text tower (both declare
        ``context_length`` and ``vocab_size``)."""
        by = type(self).__name__
        tokenizer = self.tokenizer
        for what, tok, tower in (
                ('context_length', tokenizer.context_length,
                 text_encoder.context_length),
                ('vocab_size', tokenizer.vocab_size, text_encoder.vocab_size)):
            if tok > tower:
                raise ValueError(f'{by}: tokenizer {what} {tok} exceeds the '
                                 f'text tower {what} {tower}')

    @staticmethod
    def get_texts(data_samples: Sequence[DataSample]) -> List[str]:
        """The ``text`` of every (train-mode) sample."""
        texts = []
        for ds in data_samples:
            text = ds.get('text', None)
            if not isinstance(text, str):
                raise KeyError('every training sample needs a "text" caption '
                               f'(got {type(text).__name__})')
            texts.append(text)
        return texts

    def get_text_inputs(self, data_samples: Sequence[DataSample]
                        ) -> Union[List[str], Dict[str, torch.Tensor]]:
        """What :meth:`encode_text` takes for a training batch: the token
        ids made in the data pipeline (``TokenizeCaption`` with the model's
        tokenizer) when every sample carries them, stacked
        and right-padded to the batch's longest caption with the
        tokenizer's ``pad_token_id`` (what a ``padding='longest'``
        tokenizer gives on the whole batch), else the captions.

        Raises:
            ValueError: the tokens were made by another tokenizer than the
                model's (``text_tokenizer`` differs from its ``repr``).
        """
        tokens = [ds.get('text_tokens', None) for ds in data_samples]
        if not tokens or any(t is None for t in tokens):
            return self.get_texts(data_samples)
        made_by = {ds.get('text_tokenizer', None) for ds in data_samples}
        if made_by != {repr(self.tokenizer)}:
            raise ValueError(
                f'{type(self).__name__}: training captions were tokenised by '
                f'{sorted(map(str, made_by))}, but the model\'s tokenizer is '
                f'{self.tokenizer!r}; declare the pipeline step as '
                "TokenizeCaption(tokenizer='model') or remove it")
        return dict(
            input_ids=pad_sequence([t['input_ids'] for t in tokens],
                                   batch_first=True,
                                   padding_value=self.tokenizer.pad_token_id),
            attention_mask=pad_sequence(
                [t['attention_mask'] for t in tokens], batch_first=True))

    def get_labels(self, data_samples: Sequence[DataSample], key: str,
                   needed_by: str = '') -> torch.Tensor:
        """LongTensor of metainfo ``key`` (e.g. ``pid``) of every sample."""
        values = []
        for ds in data_samples:
            value = ds.get(key, None)
            if value is None:
                raise KeyError(f'data sample has no "{key}" label'
                               f'{needed_by and " (needed by " + needed_by}'
                               f'{needed_by and ")"}')
            values.append(int(value))
        return torch.tensor(values, dtype=torch.long, device=self._device)

    # ----------------------------------------------------------- encoders
    @abstractmethod
    def encode_image(self, images: torch.Tensor) -> dict:
        """``[B, 3, H, W]`` -> ``dict(global=[B, D], tokens=...)``."""

    @abstractmethod
    def encode_tokens(self, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> dict:
        """Token ids -> ``dict(global=[B, D], tokens=[B, L, D], ...)``."""

    def encode_text(self, texts: Union[Sequence[str], dict]) -> dict:
        """Captions (or a tokenizer output) -> text features.

        Returns:
            dict: ``global`` ``[B, D]``, ``tokens`` ``[B, L, D]``,
            ``attention_mask`` ``[B, L]`` and ``input_ids`` ``[B, L]``.
        """
        if isinstance(texts, str):
            texts = [texts]
        if isinstance(texts, dict):
            tokens = {k: v.to(self._device) for k, v in texts.items()}
        else:
            tokens = self.tokenize(texts)
        out = dict(self.encode_tokens(tokens['input_ids'],
                                      tokens['attention_mask']))
        out['input_ids'] = tokens['input_ids']
        out['attention_mask'] = tokens['attention_mask']
        return out

    def image_embedding(self, image_out: dict) -> torch.Tensor:
        """Retrieval embedding (not normalised) from :meth:`encode_image`."""
        return image_out['global']

    def text_embedding(self, text_out: dict) -> torch.Tensor:
        """Retrieval embedding (not normalised) from :meth:`encode_text`."""
        return text_out['global']

    # -------------------------------------------------------------- train
    def setup_losses(self, losses, logit_scale: Optional[dict]) -> None:
        """Build the configured losses and the model's logit scale(s), and
        check that every loss gets what it declares.

        Args:
            losses: see :func:`build_losses`.
            logit_scale (dict, optional): the model's scale :math:`s = 1/T`,
                ``dict(init_temperature=0.07, learnable=True,
                max_scale=100.)``: learned as open_clip's ``logit_scale``
                (:math:`\\log s`, clamped to :math:`[0, \\log s_{max}]`
                when read; an open_clip checkpoint's value is loaded into
                it) or fixed (``learnable=False``, e.g. IRRA's
                ``init_temperature=0.02``).  Every loss with
                ``uses_logit_scale`` receives it; one configured with
                ``separate_scale=True`` receives ``logit_scale_<name>``,
                built with the same options.  None when no loss scales
                similarities.

        Raises:
            ValueError: a loss takes a feature this retriever does not
                compute, a label that is no training metainfo, or the
                model's scale when there is none; or a scale no loss uses.
        """
        self.losses, self.loss_specs = build_losses(losses)
        self.scale_options = None
        if logit_scale is not None:
            cfg = dict(logit_scale)
            unknown = sorted(set(cfg) - set(SCALE_OPTIONS))
            if unknown:
                raise TypeError(f'{type(self).__name__}: unknown logit_scale '
                                f'options {unknown}, expected '
                                f'{list(SCALE_OPTIONS)}')
            temperature = cfg.get('init_temperature', 0.07)
            if not temperature > 0:
                raise ValueError(f'{type(self).__name__}: logit_scale.'
                                 f'init_temperature must be > 0, got '
                                 f'{temperature}')
            self.scale_options = dict(
                learnable=bool(cfg.get('learnable', True)),
                max_log=math.log(cfg.get('max_scale', 100.)),
                fixed=1.0 / temperature)
            init = math.log(1.0 / temperature)
            for attr in self._scale_names():
                if self.scale_options['learnable']:
                    setattr(self, attr, nn.Parameter(torch.tensor(init)))
                else:  # fixed: not learned, not saved
                    self.register_buffer(attr, torch.tensor(init),
                                         persistent=False)
        else:
            self.logit_scale = None
        self._check_loss_specs()

    def _scale_names(self) -> List[str]:
        """``logit_scale`` and the ``logit_scale_<name>`` of every loss
        configured with ``separate_scale=True``."""
        return ['logit_scale'] + [f'logit_scale_{n}' for n, spec in
                                  self.loss_specs.items()
                                  if spec.separate_scale]

    def get_logit_scale(self, loss: Optional[str] = None) -> torch.Tensor:
        """The scale loss ``loss`` receives (the model's, or its own with
        ``separate_scale``): :math:`\\exp(\\mathrm{clamp}(\\log s, 0,
        \\log s_{max}))` when learned, :math:`1/T` itself when fixed
        (IRRA's ``1 / temperature``: exactly 50 for 0.02, where
        :math:`\\exp(\\log 50)` is 50.0000038 in float32)."""
        spec = self.loss_specs.get(loss)
        log_scale = getattr(self, f'logit_scale_{loss}'
                            if spec and spec.separate_scale else 'logit_scale')
        if self.scale_options['learnable']:
            return log_scale.clamp(0, self.scale_options['max_log']).exp()
        return log_scale.new_tensor(self.scale_options['fixed'])

    def _check_loss_specs(self) -> None:
        by = type(self).__name__
        for name, spec in self.loss_specs.items():
            problems = self._loss_spec_problems(name, spec)
            if problems:
                raise ValueError(f'{by}: loss {name!r} '
                                 f'({type(self.losses[name]).__name__}) '
                                 + problems[0])
        users = [n for n, s in self.loss_specs.items() if s.uses_logit_scale]
        if self.logit_scale is not None and not users:
            raise ValueError(
                f'{by}: logit_scale is configured but no loss of '
                f'{list(self.losses)} scales similarities; set '
                'logit_scale=None')

    def _loss_spec_problems(self, name: str, spec: LossSpec) -> List[str]:
        """What is wrong with how loss ``name`` would be called (one
        sentence each, empty when nothing is)."""
        missing = [k for k in spec.inputs if k not in self.train_features]
        checks = (
            (name in self.extra_loss_names,
             f'is named like a term of {type(self).__name__}.extra_losses '
             f'{self.extra_loss_names}; rename the configured loss'),
            (bool(missing),
             f'takes features {spec.inputs}, this retriever provides '
             f'{self.train_features} (missing {missing})'),
            (spec.label_key is not None
             and spec.label_key not in self.train_labels,
             f'needs label {spec.label_key!r}, training samples provide '
             f'{self.train_labels} (or label_key=None: each pair its own '
             'class)'),
            (spec.label_choices is not None
             and spec.label_key not in (spec.label_choices or ()),
             f'is given label_key={spec.label_key!r}, expected one of '
             f'{tuple(spec.label_choices or ())} (the labels it is defined '
             'for; see its docstring)'),
            (spec.uses_logit_scale and self.logit_scale is None,
             'scales similarities by the model\'s logit scale, but the '
             'model has none: set model.logit_scale=dict('
             'init_temperature=0.07)'),
            (spec.separate_scale and not spec.uses_logit_scale,
             'is given separate_scale=True but takes no logit scale'),
        )
        return [message for failed, message in checks if failed]

    def forward_train(self, inputs: torch.Tensor,
                      data_samples: Sequence[DataSample]) -> dict:
        """The features of a training batch, computed once for all losses.

        Returns:
            dict: ``img`` / ``txt`` ``[B, D]`` retrieval embeddings (not
            normalised here), ``img_out`` / ``txt_out`` the
            :meth:`encode_image` / :meth:`encode_text` outputs.  A method
            that computes more overrides this and :attr:`train_features`.
        """
        img_out = self.encode_image(inputs)
        img = self.image_embedding(img_out)
        txt_out = self.encode_text(self.get_text_inputs(data_samples))
        txt = self.text_embedding(txt_out)
        return dict(img=img, txt=txt, img_out=img_out, txt_out=txt_out)

    def extra_losses(self, inputs: torch.Tensor,
                     data_samples: Sequence[DataSample],
                     feats: dict) -> Dict[str, torch.Tensor]:
        """Method-specific terms (``loss_<name>``, already weighted) and log
        scalars, computed after the configured losses from the same
        ``feats`` (EKLSR's KLR, VFE-TPS's MIM).  None by default."""
        return {}

    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[DataSample]) -> Dict[str, torch.Tensor]:
        """Training losses of a batch of (image, caption) samples.

        ``loss_<name>`` of every configured loss in config order (called as
        its :class:`LossSpec` says), each loss's log scalars as
        ``<name>_<key>`` (a ``log_vars`` dict it leaves after ``forward``,
        e.g. ``isgvfc_pos_frac``: logged, not summed), then
        :meth:`extra_losses`.  mmengine sums the keys containing ``loss``.
        """
        feats = self.forward_train(inputs, data_samples)
        missing = [k for k in self.train_features if k not in feats]
        if missing:
            raise RuntimeError(f'{type(self).__name__}.forward_train did not '
                               f'return the declared features {missing}')
        labels, out = {}, {}
        for name, loss_fn in self.losses.items():
            spec = self.loss_specs[name]
            key = spec.label_key
            if key is not None and key not in labels:
                labels[key] = self.get_labels(data_samples, key,
                                              f'loss {name!r}')
            kwargs = {}
            if spec.uses_logit_scale:
                kwargs['logit_scale'] = self.get_logit_scale(name)
            out[f'loss_{name}'] = loss_fn(*[feats[k] for k in spec.inputs],
                                          labels.get(key), **kwargs)
            for log_key, value in getattr(loss_fn, 'log_vars', {}).items():
                out[f'{name}_{log_key}'] = torch.as_tensor(value).detach()
        for key, value in self.extra_losses(inputs, data_samples,
                                            feats).items():
            if key in out:
                raise ValueError(f'{type(self).__name__}: {key!r} comes from '
                                 'a configured loss and from extra_losses; '
                                 'rename the configured loss')
            out[key] = value
        self._check_output_keys(out)
        return out

    def _check_output_keys(self, out: dict) -> None:
        """mmengine sums every key containing ``loss`` and logs keys ending
        in ``lr`` as learning rates: log scalars must avoid the first, loss
        names the second."""
        if not any(k.startswith('loss_') for k in out):
            raise RuntimeError(f'{type(self).__name__} has no losses '
                               'configured')
        for key in out:
            if key.endswith('lr'):
                raise ValueError(f'output key {key!r} ends in "lr": mmengine '
                                 'would log it as a learning rate')
            if 'loss' in key and not key.startswith('loss_'):
                raise ValueError(
                    f'log scalar {key!r} contains "loss": mmengine would add '
                    'it to the training loss; rename the loss or the scalar')

    # ------------------------------------------------------ checkpoints
    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Load checkpoints saved while losses owned temperatures.

        Such checkpoints hold a loss's learnable scale as
        ``losses.<name>.logit_scale``; it becomes the model scale that loss
        now receives (``logit_scale``, or ``logit_scale_<name>`` with
        ``separate_scale``).  Several old keys moving to one scale must
        agree, else the checkpoint is ambiguous and refused.  Applies to
        old sdtr checkpoints, ``tools/model_converters`` outputs of earlier
        versions and ``load_from`` alike (docs/architecture.md#losses-and-
        the-training-loop).
        """
        self.upgrade_state_dict(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def upgrade_state_dict(self, state_dict: dict,
                           prefix: str = '') -> List[str]:
        """Rewrite the keys of older checkpoint layouts in place; returns
        the keys it moved.  Today: ``losses.<name>.logit_scale`` -> the
        learned model scale that loss receives (see
        :meth:`_load_from_state_dict`).  Also called by
        :func:`sdtr.checkpoint.load_weights` before it compares a whole-model
        checkpoint (``load_from``, ``get_model``) with the model."""
        moves = {}  # new key -> old keys
        for name, spec in self.loss_specs.items():
            old = f'{prefix}losses.{name}.logit_scale'
            attr = f'logit_scale_{name}' if spec.separate_scale else \
                'logit_scale'
            if (spec.uses_logit_scale and old in state_dict and
                    isinstance(getattr(self, attr, None), nn.Parameter)):
                moves.setdefault(prefix + attr, []).append(old)
        for new_key, old in moves.items():
            values = [state_dict[k] for k in old]
            if new_key in state_dict:
                values.append(state_dict[new_key])
            if any(not torch.equal(v.reshape(-1), values[0].reshape(-1))
                   for v in values[1:]):
                listed = ', '.join(
                    f'{k}={float(v.reshape(-1)[0]):.6g}'
                    for k, v in zip(old + [new_key], values))
                raise ValueError(
                    f'{type(self).__name__}: the checkpoint holds different '
                    f'logit scales ({listed}) but the model has one '
                    f'`{new_key[len(prefix):]}` for these losses')
            state_dict.setdefault(new_key, values[0])
            for k in old:
                del state_dict[k]
        return [k for old in moves.values() for k in old]

    # -------------------------------------------------------------- modes
    def extract_feat(self,
                     inputs: Optional[torch.Tensor] = None,
                     data_samples: Optional[Sequence[DataSample]] = None
                     ) -> dict:
        """``mode='tensor'``: raw encoder outputs.

        Returns:
            dict: ``image`` (``encode_image`` output or None) and ``text``
            (``encode_text`` of all captions of ``data_samples`` in order, or
            None).
        """
        image = self.encode_image(inputs) if inputs is not None else None
        texts, _ = self._all_captions(data_samples)
        text = self.encode_text(texts) if texts else None
        return dict(image=image, text=text)

    @staticmethod
    def _all_captions(data_samples) -> tuple:
        texts, counts = [], []
        for ds in data_samples or []:
            captions = ds.get('texts', None)
            if captions is None:
                captions = ds.get('text', None)
            if captions is None:
                captions = []
            elif isinstance(captions, str):
                captions = [captions]
            texts.extend(captions)
            counts.append(len(captions))
        return texts, counts

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence[DataSample]] = None
                ) -> List[DataSample]:
        """Normalised retrieval embeddings of gallery images and captions.

        A test item carries the captions of its image in ``texts`` (a train
        sample's ``text`` is accepted too); all captions of the batch are
        encoded in one pass and split back per item.

        Returns:
            list[DataSample]: the input samples (metainfo kept) with
            ``img_feat`` ``[D]`` and ``text_feats`` ``[n_i, D]``.
        """
        img = F.normalize(
            self.image_embedding(self.encode_image(inputs)), dim=-1).detach()
        if data_samples is None:
            data_samples = [DataSample() for _ in range(img.shape[0])]
        texts, counts = self._all_captions(data_samples)
        if texts:
            txt = F.normalize(
                self.text_embedding(self.encode_text(texts)), dim=-1).detach()
            per_item = txt.split(counts, dim=0)
        else:
            per_item = [img.new_zeros((0, img.shape[1]))] * len(data_samples)
        for ds, feat, text_feats in zip(data_samples, img, per_item):
            ds.set_data(dict(img_feat=feat, text_feats=text_feats))
        return list(data_samples)

    def forward(self,
                inputs: Optional[torch.Tensor] = None,
                data_samples: Optional[Sequence[DataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to :meth:`extract_feat`, :meth:`loss` or
        :meth:`predict`."""
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')
