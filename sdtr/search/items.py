"""The item names of an index folder: an append-only list of strings on
disk, read memory-mapped (see :mod:`sdtr.search.index`)."""
import json
import mmap
import os.path as osp
from typing import Callable, List, Optional, Sequence

import numpy as np


class ItemStore:
    """Append-only list of strings on disk, read memory-mapped.

    ``items.jsonl`` holds one JSON string per line and ``items.offsets`` the
    int64 byte offset of each line, so ``store[i]`` reads one line without
    loading the others.

    Args:
        folder (str): the index folder.
        count (int): committed entries (``meta.json``).
        nbytes (int): committed bytes of ``items.jsonl``.
        verify (callable, optional): called with the rows about to be read
            (an int array) before they are; the index checks their digests
            there (:class:`sdtr.search.integrity.RowDigests`).
    """

    TEXT, OFFSETS = 'items.jsonl', 'items.offsets'

    def __init__(self, folder: str, count: int, nbytes: int,
                 verify: Optional[Callable[[np.ndarray], None]] = None):
        self.folder, self.count, self.nbytes = folder, int(count), int(nbytes)
        self.verify = verify
        self._text = self._offsets = None

    @property
    def text_path(self):
        return osp.join(self.folder, self.TEXT)

    @property
    def offsets_path(self):
        return osp.join(self.folder, self.OFFSETS)

    def _open(self):
        if self._offsets is None and self.count:
            self._offsets = np.memmap(self.offsets_path, dtype=np.int64,
                                      mode='r', shape=(self.count,))
            with open(self.text_path, 'rb') as f:
                self._text = mmap.mmap(f.fileno(), 0,
                                       access=mmap.ACCESS_READ)

    def __len__(self):
        return self.count

    def _end(self, i: int) -> int:
        """Byte offset just past entry ``i - 1`` (``i`` may be ``count``)."""
        return int(self._offsets[i]) if i < self.count else self.nbytes

    def raw(self, start: int, stop: int) -> bytes:
        """The stored bytes of entries ``start..stop-1``: their offsets,
        then their lines (what the digests of the index cover)."""
        if stop <= start:
            return b''
        self._open()
        return self._offsets[start:stop].tobytes() + \
            self._text[int(self._offsets[start]):self._end(stop)]

    def __getitem__(self, i: int) -> str:
        i = int(i)
        if not -self.count <= i < self.count:
            raise IndexError(f'item {i} out of range (0..{self.count - 1})')
        i %= self.count
        if self.verify is not None:
            self.verify(np.array([i]))
        self._open()
        line = self._text[int(self._offsets[i]):self._end(i + 1) - 1]
        return json.loads(line.decode('utf-8'))

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> List[str]:
        """Every entry (one read of the whole file)."""
        if not self.count:
            return []
        if self.verify is not None:
            self.verify(np.arange(self.count))
        self._open()
        lines = self._text[:self.nbytes].split(b'\n')[:-1]
        return [json.loads(line.decode('utf-8')) for line in lines]

    def append(self, names: Sequence[str]) -> None:
        """Append ``names`` after the current entries (bytes past them,
        left by an interrupted append, are dropped first); the caller
        commits the new ``count`` / ``nbytes`` in ``meta.json``."""
        self.close()
        lines = [json.dumps(str(n), ensure_ascii=False).encode('utf-8') +
                 b'\n' for n in names]
        offsets = np.cumsum([0] + [len(ln) for ln in lines[:-1]],
                            dtype=np.int64) + self.nbytes
        for path, size in ((self.text_path, self.nbytes),
                           (self.offsets_path, 8 * self.count)):
            with open(path, 'ab') as f:
                f.truncate(size)
        with open(self.text_path, 'ab') as f:
            f.write(b''.join(lines))
        with open(self.offsets_path, 'ab') as f:
            f.write(offsets.tobytes())
        self.count += len(lines)
        self.nbytes += sum(map(len, lines))

    def close(self):
        if self._text is not None:
            self._text.close()
        self._text = self._offsets = None
