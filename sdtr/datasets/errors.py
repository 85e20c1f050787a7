"""Exceptions raised by sdtr datasets and transforms, and the check of
dataset arguments."""
import difflib
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


def check_dataset_kwargs(cls: type, kwargs: Mapping) -> None:
    """Raise a clear error for dataset arguments that ``cls`` does not
    accept (:func:`sdtr.utils.config_check.accepted_keys`, the rule the
    config check applies before anything is built).

    Args:
        cls (type): the dataset class being built.
        kwargs (Mapping): keyword arguments given to it.

    Raises:
        TypeError: naming the class, each unknown key, the closest valid
        key and the accepted arguments.
    """
    from sdtr.utils.config_check import accepted_keys
    accepted = accepted_keys(cls)
    if accepted is None:  # takes any keyword
        return
    accepted = sorted(accepted)
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
