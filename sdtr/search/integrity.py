"""Digests of the rows of an index folder, checked lazily, chunk by chunk.

The rows of an index (:mod:`sdtr.search.index`) are cut into chunks of
``rows_per_chunk`` rows (256 KiB of vectors: 128 rows of 512-d float32).
``meta.json`` records, per chunk, two digests (the first 8 bytes of a
SHA-256 each): one of the chunk's bytes in ``vectors.*``, one of its item
offsets and lines in ``items.*``; and the SHA-256 of the FAISS file.  They
are computed from the files as written, when an add is committed.

When they are checked, and why:

* **Opening** reads ``meta.json`` and compares file sizes, nothing more, so
  opening an index of any size costs milliseconds.
* **A chunk is checked the first time a search or an item read touches one
  of its rows** (and never again in that process).  An IVF-PQ or HNSW
  search touches the rows it re-scores; a flat search reads every row, so
  its first search checks every chunk.  A row whose bytes changed (swapped,
  overwritten, NaN) is refused with an error naming the file and the rows,
  before any score computed from it is returned.
* The cost of checking everything on open would be one full read of the
  vectors (2 GiB per million 512-d rows) before the first query; lazily,
  the same hashing is spread over the first searches and skipped for
  chunks never touched.  The price: the first searches of an approximate
  index hash up to one chunk per candidate row (256 KiB each), and
  corruption of a chunk no search touches goes unnoticed until one does.
  :meth:`SearchIndex.verify` (``--warm`` in the tools) checks every chunk
  and the FAISS file at once, and leaves the files in the page cache.
* The FAISS file (cells and codes, or the graph) is checked by
  :meth:`~sdtr.search.index.SearchIndex.verify` only: every score a search
  returns is recomputed from checked vectors (IVF-PQ re-ranking, HNSW), so
  a damaged FAISS file can cost recall, never a wrong score.
"""
import hashlib
import math
import threading
from typing import Callable, Optional, Tuple

import numpy as np

from sdtr.utils.errors import SdtrError

#: vector bytes per chunk
CHUNK_BYTES = 256 * 1024
#: hex digits of one digest (8 bytes of SHA-256); two per chunk
HEX = 16


def rows_per_chunk(row_bytes: int) -> int:
    """Rows of ``row_bytes`` bytes in one chunk (at least 1)."""
    return max(1, CHUNK_BYTES // int(row_bytes))


def short_digest(data) -> str:
    """First :data:`HEX` hex digits of the SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()[:HEX]


ReadRows = Callable[[int, int], Tuple[object, bytes]]


def chunk_digests(read_rows: ReadRows, count: int, rows: int,
                  old: str = '', old_count: int = 0) -> str:
    """The digests of ``count`` rows (``read_rows(a, b)`` returns the vector
    bytes and the item bytes of rows ``a..b-1``), reusing those of ``old``
    for the chunks that the first ``old_count`` rows fill completely."""
    first = old_count // rows
    out = [old[:first * 2 * HEX]]
    for c in range(first, math.ceil(count / rows)):
        vec, items = read_rows(c * rows, min(count, (c + 1) * rows))
        out.append(short_digest(vec) + short_digest(items))
    return ''.join(out)


class RowDigests:
    """The lazy check of an opened index's rows against ``meta.json``.

    Args:
        where (str): the index folder, for messages.
        files (tuple[str, str]): names of the vector and item files.
        digests (str, optional): the recorded digests (``None``: an index
            written before digests existed, which is not checked).
        count (int): committed rows.
        rows (int): rows per chunk.
        read_rows (callable): as for :func:`chunk_digests`.
        vectors (callable): the ``count x dim`` vectors (for messages).
    """

    def __init__(self, where: str, files: Tuple[str, str],
                 digests: Optional[str], count: int, rows: int,
                 read_rows: ReadRows, vectors: Callable[[], np.ndarray]):
        self.where, self.files, self.digests = where, files, digests
        self.count, self.rows = int(count), int(rows)
        self.read_rows, self.vectors = read_rows, vectors
        self.ok = np.zeros(math.ceil(self.count / self.rows), bool)
        self._left = len(self.ok)  # chunks not checked yet
        self._lock = threading.Lock()
        #: every chunk checked (or nothing to check): checks are free
        self.complete = digests is None or not self._left
        if digests is not None and len(digests) != 2 * HEX * len(self.ok):
            raise SdtrError(
                f'index {where!r} is damaged: meta.json holds '
                f'{len(digests) // (2 * HEX)} chunk digests, '
                f'{len(self.ok)} expected for {count} rows')

    def verify(self, rows: np.ndarray) -> None:
        """Check the chunks of ``rows`` (any shape; ids < 0 are ignored)
        not checked yet; raise :class:`SdtrError` on a mismatch."""
        if self.complete:
            return
        chunks = rows[rows >= 0] // self.rows
        todo = chunks[~self.ok[chunks]]
        if todo.size:
            for c in np.unique(todo):
                self._check(int(c))

    def verify_all(self) -> None:
        """Check every chunk not checked yet."""
        if not self.complete:
            for c in np.flatnonzero(~self.ok):
                self._check(int(c))

    def _check(self, c: int) -> None:
        a, b = c * self.rows, min(self.count, (c + 1) * self.rows)
        vec, items = self.read_rows(a, b)
        stored = self.digests[2 * HEX * c:2 * HEX * (c + 1)]
        bad = [name for name, data, want in zip(
            self.files, (vec, items), (stored[:HEX], stored[HEX:]))
            if short_digest(data) != want]
        if bad:
            rows = np.asarray(self.vectors()[a:b], np.float32)
            nan = a + np.flatnonzero(~np.isfinite(rows).all(axis=1))
            extra = f' (rows {nan.tolist()[:8]} hold NaN or inf)' \
                if len(nan) else ''
            raise SdtrError(
                f'index {self.where!r} is damaged: rows {a}..{b - 1} of '
                f'{" and ".join(bad)} do not match the digest recorded when '
                f'they were written{extra}; the file was changed or '
                'damaged since (swapped or overwritten rows). Rebuild the '
                'index with tools/build_gallery.py (--overwrite).')
        with self._lock:
            if not self.ok[c]:
                self.ok[c] = True
                self._left -= 1
                self.complete = not self._left
