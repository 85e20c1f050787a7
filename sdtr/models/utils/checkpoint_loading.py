"""The one strict way sdtr loads pretrained weights into a module.

:func:`load_weights` reads a checkpoint (:func:`read_state_dict`), hands it
to the component's *key converter*, compares the result with the module and
either loads it or raises :class:`CheckpointMismatchError`; it returns a
:class:`LoadReport`, printed the same way for every component, the model
converters in ``tools/model_converters`` and ``load_from``
(:class:`~sdtr.engine.hooks.StrictLoadHook`)::

    report = load_weights(encoder, 'resnet50.pth',
                          converter=encoder.convert_state_dict,
                          ignore_keys=[r'^fc\\.'], reinit_keys=())
    print(report.summary())

Strict means: every module tensor comes from the checkpoint and every
checkpoint tensor is used, except

* ``ignore_keys``: regular expressions searched in each checkpoint key as
  stored and in each module key (converted checkpoint keys are module keys);
  matching tensors are neither loaded nor required;
* ``reinit_keys``: regular expressions of module keys that keep their
  initialisation *when their shape differs* (e.g. a projection of another
  width); any other shape mismatch is an error;
* checkpoint keys the converter drops on purpose (a classifier head, the
  other tower of a CLIP checkpoint) and module tensors it keeps as they are
  on purpose (Swin's relative-position index, recomputed from the window
  size), each with its reason.

All of them are listed in the report.  Components mix in
:class:`PretrainedMixin` (one ``pretrained`` argument, one
``load_pretrained(checkpoint, **options)``, loading in ``init_weights``).
See ``docs/pretrained_weights.md``.
"""
import inspect
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from mmengine.logging import print_log
from torch import nn

from sdtr.utils.errors import SdtrError
from .checkpoint_io import StateDict, describe_source, read_state_dict

#: options every ``pretrained`` dict accepts (besides the converter's)
COMMON_OPTIONS = ('checkpoint', 'prefix', 'ignore_keys', 'reinit_keys',
                  'check_hash', 'sha256')


class CheckpointMismatchError(SdtrError, RuntimeError):
    """A checkpoint does not match the module it is loaded into."""


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(re.search(p, key) for p in patterns)


def _short(keys: Sequence[str], limit: int = 40) -> str:
    keys = list(keys)
    more = f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def _count(n: int, what: str, first: str, plural: str = '') -> str:
    label = what + (plural if n > 1 else '')
    return f'{n} {label} ({first}{", ..." if n > 1 else ""})'


@dataclass
class LoadReport:
    """What a load did, in one format (also readable as ``report[key]``).

    Counts: ``total`` (module tensors checked), ``loaded``, ``coverage``
    (``loaded / (total - kept)``).  Key lists: ``missing``, ``unexpected``,
    ``mismatched`` (``'key: checkpoint (..) vs model (..)'``), ``ignored``
    (left out on purpose: ``ignore_keys`` and the re-initialised keys),
    ``reinitialized``, ``dropped`` (checkpoint keys the converter did not
    use, reasons in ``dropped_by``), ``kept`` (module keys the converter
    does not expect from this checkpoint, reasons in ``kept_by``).
    ``parts`` holds sub-reports (e.g. ``'image'``/``'text'`` of a CLIP
    retriever).
    """

    name: str = ''
    source: str = ''
    layout: str = ''
    strict: bool = True
    #: how the options are named in messages, e.g. ``'load_cfg.'``
    option_prefix: str = ''
    hint: str = ''
    expected: List[str] = field(default_factory=list)
    loaded_keys: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    reinitialized: List[str] = field(default_factory=list)
    reinit_allowed: List[str] = field(default_factory=list)
    dropped_by: Dict[str, List[str]] = field(default_factory=dict)
    kept_by: Dict[str, List[str]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    parts: Dict[str, 'LoadReport'] = field(default_factory=dict)

    # ------------------------------------------------------- converters
    def drop(self, keys: Iterable[str], why: str) -> None:
        """Record checkpoint keys left out on purpose, with the reason."""
        keys = list(keys)
        if keys:
            self.dropped_by.setdefault(why, []).extend(keys)

    def keep(self, keys: Iterable[str], why: str) -> None:
        """Record module keys not expected from this checkpoint (they keep
        their values), with the reason."""
        keys = list(keys)
        if keys:
            self.kept_by.setdefault(why, []).extend(keys)

    def note(self, text: str) -> None:
        """Record what a converter did (e.g. a resized position table)."""
        self.notes.append(text)

    # ----------------------------------------------------------- counts
    @property
    def total(self) -> int:
        return len(self.expected)

    @property
    def loaded(self) -> int:
        return len(self.loaded_keys)

    @property
    def coverage(self) -> float:
        return self.loaded / max(self.total - len(self.kept), 1)

    @property
    def dropped(self) -> List[str]:
        return sorted(k for keys in self.dropped_by.values() for k in keys)

    @property
    def kept(self) -> List[str]:
        return sorted(k for keys in self.kept_by.values() for k in keys)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def __getitem__(self, key: str):
        if key in self.parts:
            return self.parts[key]
        return getattr(self, key)

    def subset(self, targets: Sequence[str], name: str) -> 'LoadReport':
        """The report restricted to module keys in ``targets`` (exact keys
        or prefixes ending in ``'.'``)."""
        def under(keys):
            return [k for k in keys if _in_targets(k, targets)]

        return LoadReport(
            name=name, source=self.source, layout=self.layout,
            strict=self.strict, expected=under(self.expected),
            loaded_keys=under(self.loaded_keys),
            missing=under(self.missing),
            mismatched=[m for m in self.mismatched
                        if _in_targets(m.split(': ')[0], targets)],
            ignored=under(self.ignored),
            reinitialized=under(self.reinitialized),
            kept_by={w: under(k) for w, k in self.kept_by.items()})

    # ----------------------------------------------------------- format
    def _option(self, name: str) -> str:
        return self.option_prefix + name

    def summary(self) -> str:
        """One line (plus the key lists of a partial load)."""
        head = f'{self.name} from {self.source}'
        if self.layout:
            head += f' ({self.layout} layout)'
        parts = [f'{head}: loaded {self.loaded}/'
                 f'{self.total - len(self.kept)} model tensors '
                 f'({100.0 * self.coverage:.1f}%)']
        excluded = [k for k in self.ignored if k not in self.reinitialized]
        if excluded:
            parts.append(f'excluded by {self._option("ignore_keys")}: '
                         f'{_short(excluded)}')
        if self.reinitialized:
            parts.append(f'kept as initialised by '
                         f'{self._option("reinit_keys")} (shape differs): '
                         f'{_short(self.reinitialized)}')
        for why, keys in self.kept_by.items():
            parts.append(f'kept as they are, {why}: {_short(sorted(keys), 4)}')
        for why, keys in self.dropped_by.items():
            parts.append(f'not used on purpose, {why}: '
                         f'{_short(sorted(keys), 4)}')
        parts += self.notes
        text = '; '.join(parts)
        if not self.ok:
            kept = self.missing + [m.split(': ')[0] for m in self.mismatched]
            text += (f'; partial load ({self._option("strict")}=False), kept '
                     f'as initialised: {_short(sorted(kept))}\n' +
                     '\n'.join(self.key_lines(limit=40)))
        return text

    def key_lines(self, limit: Optional[int] = None) -> List[str]:
        lines = []
        for title, keys in (('missing keys', self.missing),
                            ('unexpected keys', self.unexpected),
                            ('shape mismatches', self.mismatched)):
            if keys:
                shown = _short(keys, limit) if limit else ', '.join(keys)
                lines.append(f'  {title} ({len(keys)}): {shown}')
        return lines

    def error_message(self) -> str:
        """Every missing, unexpected and mismatched key, and what to do."""
        counts = []
        if self.missing:
            counts.append(_count(len(self.missing), 'missing',
                                 self.missing[0]))
        if self.unexpected:
            counts.append(_count(len(self.unexpected), 'unexpected',
                                 self.unexpected[0]))
        if self.mismatched:
            counts.append(_count(len(self.mismatched), 'shape mismatch',
                                 self.mismatched[0], 'es'))
        lines = [f'Checkpoint {self.source} does not match {self.name}: '
                 f'{", ".join(counts)}; nothing was loaded.']
        lines += self.key_lines()
        if self.mismatched and self.reinit_allowed:
            lines.append(f'  {self._option("reinit_keys")} allow '
                         're-initialising only '
                         f'{sorted(self.reinit_allowed)!r}')
        hint = self.hint or (
            f'Exclude keys on purpose with '
            f'{self._option("ignore_keys")}=[regex, ...]' +
            (f', or keep mismatched tensors at their initialisation with '
             f'{self._option("reinit_keys")}=[regex, ...]'
             if self.mismatched else '') + '.')
        return '\n'.join(lines + [hint])

    def log(self, logger='current') -> None:
        import logging
        print_log(self.summary(), logger=logger,
                  level=logging.INFO if self.ok else logging.WARNING)


def _in_targets(key: str, targets: Optional[Sequence[str]]) -> bool:
    return targets is None or any(
        key == t or (t.endswith('.') and key.startswith(t)) for t in targets)


def compare_state_dicts(model_state: Dict[str, object],
                        state_dict: Dict[str, object],
                        report: Optional[LoadReport] = None,
                        ignore_keys: Sequence[str] = (),
                        reinit_keys: Sequence[str] = (),
                        targets: Optional[Sequence[str]] = None
                        ) -> LoadReport:
    """Fill ``report`` with what loading ``state_dict`` (module keys) into a
    module with ``model_state`` would do; nothing is loaded.

    ``targets``: the module keys the checkpoint must provide (exact keys, or
    prefixes ending in ``'.'``); default all.  Other arguments: see the
    module doc.
    """
    report = report if report is not None else LoadReport()
    model_keys = [k for k in model_state if _in_targets(k, targets)]
    ignored = {k for k in model_keys if _matches(k, ignore_keys)}
    ignored |= {k for k in state_dict if _matches(k, ignore_keys)}
    given = [k for k in state_dict if k not in ignored]
    given_set = set(given)
    skip = ignored | set(report.kept)
    wanted = [k for k in model_keys if k not in skip]
    wanted_set = set(wanted)
    report.expected = model_keys
    report.missing = sorted(k for k in wanted if k not in given_set)
    report.unexpected = sorted(k for k in given if k not in wanted_set)
    report.reinit_allowed = [k for k in model_keys
                             if _matches(k, reinit_keys)]
    mismatched, reinit = [], []
    for key in wanted:
        if key not in given_set:
            continue
        ckpt = tuple(getattr(state_dict[key], 'shape', ()))
        own = tuple(model_state[key].shape)
        if ckpt != own:
            if _matches(key, reinit_keys):
                reinit.append(key)
            else:
                mismatched.append(f'{key}: checkpoint {ckpt} vs model {own}')
    report.mismatched = sorted(mismatched)
    report.reinitialized = sorted(reinit)
    report.ignored = sorted(set(report.ignored) | ignored | set(reinit))
    bad = set(report.missing) | set(reinit) | {
        m.split(': ')[0] for m in mismatched}
    report.loaded_keys = [k for k in wanted if k not in bad]
    return report


def select_prefix(state_dict: StateDict, prefix: str,
                  report: LoadReport) -> StateDict:
    """Keys under ``prefix`` (stripped); the others are reported as
    dropped."""
    out = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                      if k.startswith(prefix))
    if not out:
        raise KeyError(f'no key of {report.source} starts with {prefix!r}')
    report.drop((k for k in state_dict if not k.startswith(prefix)),
                f'outside prefix {prefix!r}')
    return out


def load_weights(module: nn.Module,
                 checkpoint,
                 *,
                 converter: Optional[Callable] = None,
                 prefix: Optional[str] = None,
                 ignore_keys: Sequence[str] = (),
                 reinit_keys: Sequence[str] = (),
                 targets: Optional[Sequence[str]] = None,
                 strict: bool = True,
                 check_hash: bool = False,
                 sha256: Optional[str] = None,
                 name: Optional[str] = None,
                 source: Optional[str] = None,
                 **options) -> LoadReport:
    """Read ``checkpoint``, convert its keys, check and load it.

    Args:
        module (nn.Module): where the tensors go.
        checkpoint: anything :func:`read_state_dict` reads.
        converter (callable, optional): ``converter(state_dict, report,
            **options) -> state_dict`` mapping the checkpoint's keys to
            ``module``'s (it may call ``report.drop`` / ``report.note``).
        prefix (str, optional): take only keys under this prefix (stripped).
        ignore_keys, reinit_keys: see the module doc.
        targets (Sequence[str], optional): see :func:`compare_state_dicts`.
        strict (bool): raise on any mismatch (False: load what matches and
            report the rest).
        check_hash, sha256: verify a download.
        name, source (str, optional): names in messages.
        **options: passed to ``converter``.

    Returns:
        LoadReport: also logged.

    Raises:
        CheckpointMismatchError: (``strict``) listing every missing,
            unexpected and shape-mismatched key; nothing is loaded.
    """
    report = LoadReport(name=name or type(module).__name__,
                        source=source or describe_source(checkpoint),
                        strict=strict)
    if converter is None and options:
        raise TypeError(f'{report.name}: unknown options {sorted(options)}')
    state_dict = read_state_dict(checkpoint, check_hash=check_hash,
                                 sha256=sha256)
    if prefix:
        state_dict = select_prefix(state_dict, prefix, report)
    report.ignored = sorted(k for k in state_dict
                            if _matches(k, ignore_keys))
    state_dict = OrderedDict((k, v) for k, v in state_dict.items()
                             if k not in set(report.ignored))
    if converter is not None:
        state_dict = converter(state_dict, report, **options)
    compare_state_dicts(module.state_dict(), state_dict, report,
                        ignore_keys=ignore_keys, reinit_keys=reinit_keys,
                        targets=targets)
    if strict and not report.ok:
        raise CheckpointMismatchError(report.error_message())
    result = module.load_state_dict(
        {k: state_dict[k] for k in report.loaded_keys}, strict=False)
    assert not result.unexpected_keys, result  # matched by construction
    report.log()
    return report


# --------------------------------------------------------------------------
# components
# --------------------------------------------------------------------------
def parse_pretrained(pretrained) -> Optional[dict]:
    """Normalise a ``pretrained`` argument to a dict (or None).

    ``pretrained`` may be a path/URL string or ``dict(checkpoint=...,
    **options)``; mmengine's ``dict(type='Pretrained', checkpoint=...,
    prefix=...)`` is accepted too.
    """
    if pretrained is None or pretrained is False:
        return None
    if isinstance(pretrained, (str, os.PathLike)):
        return dict(checkpoint=str(pretrained))
    if isinstance(pretrained, dict):
        cfg = dict(pretrained)
        cfg.pop('type', None)
        if 'checkpoint' not in cfg:
            raise KeyError(f'pretrained needs a "checkpoint": {pretrained}')
        return cfg
    raise TypeError(f'pretrained must be a str or dict, got {pretrained!r}')


class PretrainedMixin:
    """``pretrained`` weights of a component, loaded by :func:`load_weights`.

    Mix in before ``BaseModule``; call :meth:`setup_pretrained` in
    ``__init__``.  A component describes its checkpoints with

    * :meth:`convert_state_dict` (``(state_dict, report, **options) ->
      state_dict``): the key converter; its keyword arguments are the
      component's own ``pretrained`` options, checked when it is built;
    * :meth:`pretrained_target`: the sub-module the weights go to;
    * ``pretrained_defaults`` (default options) and ``keeps_default_init``
      (run the default initialisation before loading, for components the
      checkpoint covers only in part).

    ``pretrained=dict(checkpoint=..., **options)`` is read in
    :meth:`init_weights` (building a model never downloads anything), and
    :meth:`load_pretrained` loads any checkpoint on demand.
    """

    pretrained_defaults: dict = {}
    keeps_default_init: bool = False

    def setup_pretrained(self, pretrained, init_cfg=None) -> Optional[dict]:
        """Set ``self.pretrained``; returns ``init_cfg``, without an
        mmengine ``dict(type='Pretrained')``, which is routed here (strict)
        instead of mmengine's non-strict loader."""
        cfg = parse_pretrained(pretrained)
        if cfg is None and isinstance(init_cfg, dict) and \
                init_cfg.get('type') == 'Pretrained':
            cfg, init_cfg = parse_pretrained(init_cfg), None
        if cfg is not None:
            self._check_pretrained_options(cfg)
        self.pretrained = cfg
        return init_cfg

    def convert_state_dict(self, state_dict: StateDict,
                           report: LoadReport) -> StateDict:
        """Map a checkpoint's keys to :meth:`pretrained_target`'s."""
        return state_dict

    def pretrained_target(self) -> nn.Module:
        return self

    def pretrained_targets(self) -> Optional[List[str]]:
        """The target's keys a checkpoint must provide (None: all)."""
        return None

    def pretrained_options(self) -> set:
        """The converter's options (its keyword arguments)."""
        params = list(inspect.signature(
            self.convert_state_dict).parameters.values())[2:]
        return {p.name for p in params if p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def _check_pretrained_options(self, options: dict) -> None:
        unknown = set(options) - set(COMMON_OPTIONS) - \
            self.pretrained_options()
        if unknown:
            raise TypeError(f'{type(self).__name__}: unknown pretrained '
                            f'options {sorted(unknown)}')

    def load_pretrained(self, checkpoint=None, **options) -> LoadReport:
        """Load ``checkpoint`` (default: the configured ``pretrained``)
        strictly; options as in ``pretrained``."""
        if checkpoint is None:
            if self.pretrained is None:
                raise ValueError(f'{type(self).__name__} has no pretrained '
                                 'checkpoint configured')
            options = {**self.pretrained, **options}
            checkpoint = options.pop('checkpoint')
        self._check_pretrained_options(options)
        return load_weights(
            self.pretrained_target(), checkpoint,
            converter=self.convert_state_dict,
            targets=self.pretrained_targets(), name=type(self).__name__,
            **{**self.pretrained_defaults, **options})

    def init_weights(self) -> None:
        """Load ``pretrained``, or run mmengine's default initialisation."""
        if self.pretrained is None:
            super().init_weights()
            return
        if self._is_init:
            print_log(f'{type(self).__name__}: weights already initialised, '
                      'skipping the pretrained load', logger='current')
            return
        if self.keeps_default_init:
            super().init_weights()
        self.load_pretrained()
        self._is_init = True
