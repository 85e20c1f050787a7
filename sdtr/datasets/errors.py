"""Exceptions raised by sdtr datasets and transforms, and the check of
dataset arguments."""
import difflib
import inspect
from typing import Mapping, Optional

from sdtr.utils.errors import SdtrError


class BadSampleError(SdtrError, ValueError):
    """An annotation entry or an image that cannot be used.

    The message always names the annotation file (or image file), the entry
    (index, line or key) and what was expected, so that the offending record
    can be found without a debugger.

    Args:
        message (str): what is wrong and what was expected.
        file (str, optional): the annotation (or image) file concerned.
        entry (str, optional): the index / line / key of the entry.
    """

    def __init__(self, message: str, file: Optional[str] = None,
                 entry: Optional[str] = None):
        self.file = file
        self.entry = entry
        self.reason = message
        parts = []
        if file is not None:
            parts.append(f'{file}')
        if entry is not None:
            parts.append(f'entry {entry}')
        prefix = ': '.join(parts)
        super().__init__(f'{prefix}: {message}' if prefix else message)


class BadImageError(BadSampleError):
    """An image file that is missing, unreadable or cannot be decoded."""


def accepted_arguments(cls: type, stop: Optional[type] = None) -> list:
    """Names of the keyword arguments accepted by ``cls(...)``: the
    parameters of every ``__init__`` along the MRO of ``cls`` down to (and
    including) ``stop`` (all of them when ``stop`` is None)."""
    names = []
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is not None:
            for p in inspect.signature(init).parameters.values():
                if p.name != 'self' and p.kind not in (
                        p.VAR_POSITIONAL, p.VAR_KEYWORD) and \
                        p.name not in names:
                    names.append(p.name)
        if klass is stop:
            break
    return names


def check_dataset_kwargs(cls: type, kwargs: Mapping) -> None:
    """Raise a clear error for dataset arguments that ``cls`` does not
    accept (see :func:`accepted_arguments`).

    Args:
        cls (type): the dataset class being built.
        kwargs (Mapping): keyword arguments given to it.

    Raises:
        TypeError: naming the class, each unknown key, the closest valid
        key and the accepted arguments.
    """
    accepted = sorted(set(accepted_arguments(cls)))
    bad = [k for k in kwargs if k not in accepted]
    if not bad:
        return
    parts = []
    for key in bad:
        close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        parts.append(f'{key!r}{hint}')
    raise TypeError(
        f'{cls.__name__} got unknown argument(s) {", ".join(parts)}; check '
        'the dataset=dict(...) of your train/val/test_dataloader config. '
        f'{cls.__name__} accepts: {", ".join(accepted)}')
