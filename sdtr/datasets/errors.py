"""Exceptions raised by sdtr datasets and transforms."""
from typing import Optional


class BadSampleError(ValueError):
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
