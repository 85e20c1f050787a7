"""Which checkpoint ``--resume`` continues from: the newest *complete* one of
a work dir (``docs/training.md``, section "Resume").

mmengine reads the ``last_checkpoint`` pointer and nothing else: with the
pointer missing it trains from scratch over the existing ``epoch_*.pth``,
and a pointer holding garbage fails with a bare ``UnicodeDecodeError``.
:func:`find_resume_checkpoint` instead

1. takes the checkpoint the pointer names if it is complete (a pointer to a
   work dir that was moved is looked up in this work dir by file name);
2. otherwise (pointer missing, unreadable, naming a missing or incomplete
   file) takes the newest complete ``epoch_N.pth`` / ``iter_N.pth`` of the
   work dir, and says which one and why;
3. finds nothing when the work dir holds no such file (a fresh start), and
   raises :class:`ResumeError` naming the work dir when it holds some but
   none is complete: a resume never starts over on top of checkpoints.

"Complete" means every record of the file reads back whole and, for the
checkpoints sdtr writes (all of a run's), matches the digest sealed into it
(:class:`~sdtr.checkpoint.records.Records`, the reader every load uses): a
truncated or partly overwritten file is skipped.  Reading the records costs
one pass over the file, whose pages the load that follows then reads from
memory.
"""
import logging
import os
import os.path as osp
import re
from typing import List, Optional

from mmengine.logging import print_log

from sdtr.utils.errors import SdtrError
from .records import SEAL, CheckpointError, Records

POINTER = 'last_checkpoint'
#: the names the checkpoint hook gives the checkpoints of a run
RUN_CHECKPOINT = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


class ResumeError(SdtrError, RuntimeError):
    """A work dir holds checkpoints, none of which can be resumed."""


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete checkpoint, or None when it is."""
    try:
        with open(path, 'rb') as f:
            records = Records(f, path)
            for name in records.infos:
                if name != records.prefix + SEAL:
                    records.read(name)
            records.finish()
    except (OSError, CheckpointError) as err:
        reason = str(err).replace(f'{path}: ', '', 1)
        return f'not a complete checkpoint ({reason})'
    return None


def run_checkpoints(folder: str) -> List[str]:
    """The ``epoch_N.pth`` and ``iter_N.pth`` files of ``folder``, newest
    first.

    Within each kind the number orders them; an ``iter_N.pth`` of an
    epoch-based run (written when a signal stopped training mid-epoch) is
    placed among the epoch checkpoints by modification time.
    """
    if not osp.isdir(folder):
        return []
    kinds = {'epoch': [], 'iter': []}
    for name in os.listdir(folder):
        match = RUN_CHECKPOINT.match(name)
        if match and osp.isfile(osp.join(folder, name)):
            kinds[match.group(1)].append((int(match.group(2)), name))
    queues = [[osp.join(folder, name) for _, name in sorted(kind)]
              for kind in kinds.values()]
    ordered = []
    while any(queues):  # merge the two newest-last lists by mtime
        queue = max((q for q in queues if q),
                    key=lambda q: osp.getmtime(q[-1]))
        ordered.append(queue.pop())
    return ordered


def _read_pointer(work_dir: str) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` names, or None (with a warning
    when the pointer exists but names nothing usable)."""
    pointer = osp.join(work_dir, POINTER)
    if not osp.isfile(pointer):
        return None
    try:
        with open(pointer, 'rb') as f:
            target = f.read(4096).decode('utf-8').strip()
    except (OSError, UnicodeDecodeError) as err:
        print_log(f'resume: {pointer} is unreadable ({err})', 'current',
                  level=logging.WARNING)
        return None
    if not target:
        print_log(f'resume: {pointer} is empty', 'current',
                  level=logging.WARNING)
        return None
    if osp.isfile(target):
        return target
    moved = osp.join(work_dir, osp.basename(target))
    if osp.isfile(moved):
        return moved
    print_log(f'resume: {pointer} names {target}, which does not exist',
              'current', level=logging.WARNING)
    return None


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume the run of ``work_dir`` from (see the module
    doc); None when the work dir holds no checkpoint.

    Raises:
        ResumeError: the work dir holds ``epoch_*``/``iter_*`` checkpoints
            but none is complete.
    """
    pointed = _read_pointer(work_dir)
    candidates = run_checkpoints(work_dir)
    if pointed is not None:
        candidates = [pointed] + [
            c for c in candidates if osp.abspath(c) != osp.abspath(pointed)]
    skipped = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            if path != pointed:
                why = '; '.join(skipped) or f'{POINTER} names no checkpoint'
                print_log(f'resume: taking {path}, the newest complete '
                          f'checkpoint of {work_dir} ({why})', 'current',
                          level=logging.WARNING)
            return path
        skipped.append(f'{osp.basename(path)} skipped: {problem}')
        print_log(f'resume: skipping {path}: {problem}', 'current',
                  level=logging.WARNING)
    if candidates:
        raise ResumeError(
            f'resume: {work_dir} holds checkpoints but none is complete '
            f'({"; ".join(skipped)}). Refusing to train from scratch over '
            'them: resume a given file with --resume PATH, or move them '
            'away to start over.')
    return None
