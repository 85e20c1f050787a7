"""Strict loading: one function puts weights into a module, for every caller
(``load_from``/``resume``, ``tools/test.py``, ``get_model``, ``pretrained=``,
the converters).  See
docs/pretrained_weights.md#one-loader-for-every-component.
"""
import inspect
import logging
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.logging import print_log
from torch import nn

from sdtr.utils.errors import SdtrError
from .door import Checkpoint, open_checkpoint, read_state_dict
from .identity import record_weights_identity

#: options every ``pretrained`` dict accepts (besides the converter's)
COMMON_OPTIONS = ('checkpoint', 'prefix', 'ignore_keys', 'reinit_keys',
                  'check_hash', 'sha256')


class CheckpointMismatchError(SdtrError, RuntimeError):
    """A checkpoint does not match the module it is loaded into."""


def _matches(key: str, patterns: Sequence[str]) -> bool:
    return any(re.search(p, key) for p in patterns)


def _short(keys, limit: Optional[int] = 40) -> str:
    keys = list(keys)
    more = len(keys) - limit if limit and len(keys) > limit else 0
    return ', '.join(keys[:limit]) + (f', ... ({more} more)' if more else '')


def _in_targets(key: str, targets: Optional[Sequence[str]]) -> bool:
    return targets is None or any(
        key == t or (t.endswith('.') and key.startswith(t)) for t in targets)


@dataclass
class LoadReport:
    """What a load did (also readable as ``report[key]``): ``expected``
    (module keys checked), ``loaded_keys``, ``missing``, ``unexpected``,
    ``mismatched``, ``ignored``, ``reinitialized``, ``dropped_by`` /
    ``kept_by`` (reasons -> keys), ``notes``, ``parts`` (sub-reports such as
    ``image``/``text`` of a CLIP retriever) and ``checkpoint`` (the opened
    file)."""

    name: str = ''
    source: str = ''
    layout: str = ''
    strict: bool = True
    option_prefix: str = ''  # how options are named in messages
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
    checkpoint: Optional[Checkpoint] = None

    def drop(self, keys, why: str) -> None:
        """Checkpoint keys left out on purpose, with the reason."""
        if keys := list(keys):
            self.dropped_by.setdefault(why, []).extend(keys)

    def keep(self, keys, why: str) -> None:
        """Module keys the checkpoint does not provide on purpose."""
        if keys := list(keys):
            self.kept_by.setdefault(why, []).extend(keys)

    def note(self, text: str) -> None:
        self.notes.append(text)

    total = property(lambda self: len(self.expected))
    loaded = property(lambda self: len(self.loaded_keys))
    dropped = property(lambda self: sorted(sum(self.dropped_by.values(), [])))
    kept = property(lambda self: sorted(sum(self.kept_by.values(), [])))
    ok = property(lambda self: not (self.missing or self.unexpected
                                    or self.mismatched))
    coverage = property(lambda self: self.loaded / max(
        self.total - len(self.kept), 1))

    def __getitem__(self, key: str):
        return self.parts[key] if key in self.parts else getattr(self, key)

    def subset(self, targets: Sequence[str], name: str) -> 'LoadReport':
        """The report restricted to module keys in ``targets``."""
        def under(keys):
            return [k for k in keys if _in_targets(k, targets)]

        return LoadReport(
            name=name, source=self.source, layout=self.layout,
            strict=self.strict, expected=under(self.expected),
            loaded_keys=under(self.loaded_keys), missing=under(self.missing),
            mismatched=[m for m in self.mismatched
                        if _in_targets(m.split(': ')[0], targets)],
            ignored=under(self.ignored), reinitialized=under(
                self.reinitialized),
            kept_by={w: under(k) for w, k in self.kept_by.items()})

    def summary(self) -> str:
        """One line (plus the key lists of a partial load)."""
        opt = self.option_prefix
        head = f'{self.name} from {self.source}' + (
            f' ({self.layout} layout)' if self.layout else '')
        parts = [f'{head}: loaded {self.loaded}/{self.total - len(self.kept)}'
                 f' model tensors ({100.0 * self.coverage:.1f}%)']
        excluded = [k for k in self.ignored if k not in self.reinitialized]
        if excluded:
            parts.append(f'excluded by {opt}ignore_keys: {_short(excluded)}')
        if self.reinitialized:
            parts.append(f'kept as initialised by {opt}reinit_keys (shape '
                         f'differs): {_short(self.reinitialized)}')
        parts += [f'kept as they are, {why}: {_short(sorted(keys), 4)}'
                  for why, keys in self.kept_by.items()]
        parts += [f'not used on purpose, {why}: {_short(sorted(keys), 4)}'
                  for why, keys in self.dropped_by.items()]
        text = '; '.join(parts + self.notes)
        if not self.ok:
            kept = self.missing + [m.split(': ')[0] for m in self.mismatched]
            text += (f'; partial load ({opt}strict=False), kept as '
                     f'initialised: {_short(sorted(kept))}\n' +
                     '\n'.join(self.key_lines(limit=40)))
        return text

    def key_lines(self, limit: Optional[int] = None) -> List[str]:
        return [f'  {title} ({len(keys)}): {_short(keys, limit)}'
                for title, keys in (('missing keys', self.missing),
                                    ('unexpected keys', self.unexpected),
                                    ('shape mismatches', self.mismatched))
                if keys]

    def error_message(self) -> str:
        """Every missing, unexpected and mismatched key, and what to do."""
        counts = [f'{len(keys)} {what}{plural if len(keys) > 1 else ""} '
                  f'({keys[0]}{", ..." if len(keys) > 1 else ""})'
                  for what, keys, plural in (
                      ('missing', self.missing, ''),
                      ('unexpected', self.unexpected, ''),
                      ('shape mismatch', self.mismatched, 'es')) if keys]
        lines = [f'Checkpoint {self.source} does not match {self.name}: '
                 f'{", ".join(counts)}; nothing was loaded.']
        lines += self.key_lines()
        opt = self.option_prefix
        if self.mismatched and self.reinit_allowed:
            lines.append(f'  {opt}reinit_keys allow re-initialising only '
                         f'{sorted(self.reinit_allowed)!r}')
        return '\n'.join(lines + [self.hint or (
            f'Exclude keys on purpose with {opt}ignore_keys=[regex, ...]' +
            (f', or keep mismatched tensors at their initialisation with '
             f'{opt}reinit_keys=[regex, ...]' if self.mismatched else '') +
            '.')])

    def log(self, logger='current') -> None:
        print_log(self.summary(), logger=logger,
                  level=logging.INFO if self.ok else logging.WARNING)


def compare_state_dicts(model_state, state_dict, report=None, ignore_keys=(),
                        reinit_keys=(), targets=None) -> LoadReport:
    """Fill ``report`` with what loading ``state_dict`` (module keys) into a
    module with ``model_state`` would do; nothing is loaded.  ``targets``:
    the module keys the checkpoint must provide (exact keys or prefixes
    ending in ``'.'``; default all)."""
    report = report if report is not None else LoadReport()
    model_keys = [k for k in model_state if _in_targets(k, targets)]
    ignored = {k for k in list(model_keys) + list(state_dict)
               if _matches(k, ignore_keys)}
    given = {k for k in state_dict if k not in ignored}
    wanted = [k for k in model_keys if k not in ignored | set(report.kept)]
    report.expected = model_keys
    report.missing = sorted(k for k in wanted if k not in given)
    report.unexpected = sorted(given - set(wanted))
    report.reinit_allowed = [k for k in model_keys
                             if _matches(k, reinit_keys)]
    mismatched, reinit = [], []
    for key in (k for k in wanted if k in given):
        ckpt = tuple(getattr(state_dict[key], 'shape', ()))
        own = tuple(model_state[key].shape)
        if ckpt != own and _matches(key, reinit_keys):
            reinit.append(key)
        elif ckpt != own:
            mismatched.append(f'{key}: checkpoint {ckpt} vs model {own}')
    report.mismatched, report.reinitialized = sorted(mismatched), sorted(
        reinit)
    report.ignored = sorted(set(report.ignored) | ignored | set(reinit))
    bad = set(report.missing) | set(reinit) | {
        m.split(': ')[0] for m in mismatched}
    report.loaded_keys = [k for k in wanted if k not in bad]
    return report


def select_prefix(state_dict, prefix: str, report: LoadReport):
    """Keys under ``prefix`` (stripped); the others are reported dropped."""
    out = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                      if k.startswith(prefix))
    if not out:
        raise KeyError(f'no key of {report.source} starts with {prefix!r}')
    report.drop((k for k in state_dict if not k.startswith(prefix)),
                f'outside prefix {prefix!r}')
    return out


def load_weights(module: nn.Module, checkpoint, *,
                 converter: Optional[Callable] = None,
                 prefix: Optional[str] = None, ignore_keys=(),
                 reinit_keys=(), targets: Optional[Sequence[str]] = None,
                 strict: bool = True, name: Optional[str] = None,
                 source: Optional[str] = None, option_prefix: str = '',
                 hint: str = '', check_hash: bool = False,
                 sha256: Optional[str] = None,
                 offline_dir: Optional[str] = None, **options) -> LoadReport:
    """Read ``checkpoint`` (a source of :func:`open_checkpoint`, an opened
    :class:`Checkpoint`, a state dict or a module), convert its keys, check
    and load it; the report is logged and returned.

    ``converter(state_dict, report, **options) -> state_dict`` maps the
    file's keys to the module's.  Without one, the whole module is loaded:
    its ``upgrade_state_dict`` (older key layouts) applies, and when every
    module tensor came from the file, the file's digest is recorded as the
    module's :func:`~.identity.weights_identity`.

    Raises:
        CheckpointMismatchError: (``strict``) listing every missing,
            unexpected and shape-mismatched key; nothing is loaded.
    """
    if isinstance(checkpoint, (str, os.PathLike)):
        checkpoint = open_checkpoint(checkpoint, check_hash=check_hash,
                                     sha256=sha256, offline_dir=offline_dir)
    opened = checkpoint if isinstance(checkpoint, Checkpoint) else None
    report = LoadReport(
        name=name or type(module).__name__, strict=strict, hint=hint,
        option_prefix=option_prefix, checkpoint=opened,
        source=source or (opened.path if opened else '<state dict>'))
    if converter is None and options:
        raise TypeError(f'{report.name}: unknown options {sorted(options)}')
    state_dict = read_state_dict(checkpoint)
    if prefix:
        state_dict = select_prefix(state_dict, prefix, report)
    report.ignored = sorted(k for k in state_dict if _matches(k, ignore_keys))
    for key in report.ignored:
        state_dict.pop(key)
    if converter is not None:
        state_dict = converter(state_dict, report, **options)
    elif hasattr(module, 'upgrade_state_dict'):
        if moved := module.upgrade_state_dict(state_dict):
            report.note(f'old layout, moved {_short(moved, 5)}')
    compare_state_dicts(module.state_dict(), state_dict, report,
                        ignore_keys=ignore_keys, reinit_keys=reinit_keys,
                        targets=targets)
    if strict and not report.ok:
        raise CheckpointMismatchError(report.error_message())
    selected = OrderedDict((k, state_dict[k]) for k in report.loaded_keys)
    selected._metadata = getattr(state_dict, '_metadata', None)
    module.load_state_dict(selected, strict=False)
    if converter is None and opened and report.loaded == report.total:
        record_weights_identity(module, opened.digest)
    report.log()
    return report


def parse_pretrained(pretrained) -> Optional[dict]:
    """A ``pretrained`` argument (path/URL string, ``dict(checkpoint=...,
    **options)`` or mmengine's ``dict(type='Pretrained', ...)``) as a
    dict, or None."""
    if pretrained is None or pretrained is False:
        return None
    if isinstance(pretrained, (str, os.PathLike)):
        return dict(checkpoint=str(pretrained))
    if isinstance(pretrained, dict) and 'checkpoint' in pretrained:
        return {k: v for k, v in pretrained.items() if k != 'type'}
    raise TypeError(f'pretrained must be a str or a dict with a '
                    f'"checkpoint", got {pretrained!r}')


class PretrainedMixin:
    """``pretrained`` weights of a component, loaded by
    :func:`load_weights` in ``init_weights`` (building never downloads).

    Mix in before ``BaseModule`` and call :meth:`setup_pretrained` in
    ``__init__``.  A component overrides :meth:`convert_state_dict` (its key
    converter; its keyword arguments are its own ``pretrained`` options,
    checked at build time), :meth:`pretrained_target` (the sub-module
    loaded), :meth:`pretrained_targets`, ``pretrained_defaults`` and
    ``keeps_default_init`` (run the default initialisation first, for
    checkpoints that cover the component in part).
    """

    pretrained_defaults: dict = {}
    keeps_default_init: bool = False

    def setup_pretrained(self, pretrained, init_cfg=None) -> Optional[dict]:
        """Set ``self.pretrained``; returns ``init_cfg`` without an mmengine
        ``dict(type='Pretrained')``, which is routed here (strict)."""
        cfg = parse_pretrained(pretrained)
        if cfg is None and isinstance(init_cfg, dict) and \
                init_cfg.get('type') == 'Pretrained':
            cfg, init_cfg = parse_pretrained(init_cfg), None
        if cfg is not None:
            self._check_pretrained_options(cfg)
        self.pretrained = cfg
        return init_cfg

    def convert_state_dict(self, state_dict, report: LoadReport):
        return state_dict

    def pretrained_target(self) -> nn.Module:
        return self

    def pretrained_targets(self) -> Optional[List[str]]:
        return None

    def pretrained_options(self) -> set:
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
        strictly, with the options of ``pretrained``."""
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
            return super().init_weights()
        if self._is_init:
            print_log(f'{type(self).__name__}: weights already initialised, '
                      'skipping the pretrained load', logger='current')
            return
        if self.keeps_default_init:
            super().init_weights()
        self.load_pretrained()
        self._is_init = True
