"""AMFMN / GaLR / SWAN plain-text caption layout (``*_precomp`` folders)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from sdtr.registry import DATASETS
from .base_retrieval_dataset import BaseRetrievalDataset
from .errors import BadSampleError
from .utils import read_lines

DEFAULT_SPLIT_FILES = dict(
    train=('train_caps.txt', 'train_filename.txt'),
    val=('val_caps_verify.txt', 'val_filename_verify.txt'),
    test=('test_caps.txt', 'test_filename.txt'),
)


@DATASETS.register_module()
class GaLRCaptionDataset(BaseRetrievalDataset):
    """Captions in the txt layout of AMFMN / GaLR / SWAN
    (``data/rsitmd_precomp``, ``data/rsicd_precomp``).

    Each split is a pair of files in the folder ``ann_file`` (joined with
    ``data_root``; when ``ann_file`` is empty ``data_root`` itself is used):

    * ``{split}_caps.txt``: one caption per line;
    * ``{split}_filename.txt``: either one line per **image** (the train
      files: 5 consecutive caption lines per image, e.g. RSITMD 21,455
      captions / 4,291 names) or one line per **caption** with the file name
      repeated (the test and val files, e.g. RSITMD test: 2,260 / 2,260).

    The layout is detected from the line counts and then verified (each
    image's caption lines must be consecutive and, when ``caps_per_image``
    is set, exactly that many).  By default val reads SWAN's
    ``val_{caps,filename}_verify.txt``; change ``split_files`` to use other
    names (e.g. ``train=('train_caps_verify.txt',
    'train_filename_verify.txt')`` for SWAN's train split without its val).

    The public RSITMD ``train_caps.txt`` has 20 empty lines: four images
    whose 5 captions are all empty (e.g. ``mountain_2378.tif`` at lines
    9631-9635).  Like every image without a caption they are skipped and
    reported (:class:`BaseRetrievalDataset`).  Errors name the line and the
    image.  Splits, sources and counts: ``docs/datasets.md``.

    Args:
        split_files (dict, optional): split -> ``(caps_file,
            filename_file)``, merged over the defaults above.
        caps_per_image (int, optional): captions per image (5).  ``None``
            accepts any number in the per-caption layout.
        **kwargs: see :class:`BaseRetrievalDataset`.
    """

    DATASET_NAME = 'galr'

    def __init__(self, *args,
                 split_files: Optional[Dict[str, Sequence[str]]] = None,
                 caps_per_image: Optional[int] = 5, **kwargs):
        self.split_files: Dict[str, Tuple[str, str]] = dict(
            DEFAULT_SPLIT_FILES)
        if split_files:
            self.split_files.update(
                {k: tuple(v) for k, v in split_files.items()})
        self.caps_per_image = caps_per_image
        super().__init__(*args, **kwargs)
        self.layout: Optional[str] = getattr(self, 'layout', None)

    def _check_split(self) -> None:
        super()._check_split()
        if self.split not in self.split_files:
            raise BadSampleError(
                f'no files configured for split {self.split!r}; set '
                'split_files=dict(<split>=(caps_file, filename_file))',
                file=str(self.ann_file), entry='split_files')

    def _files(self) -> Tuple[str, str]:
        folder = str(self.ann_file or self.data_root or '')
        caps, names = self.split_files[self.split]
        return osp.join(folder, caps), osp.join(folder, names)

    def parse_annotations(self) -> List[dict]:
        caps_file, names_file = self._files()
        caps = read_lines(caps_file)
        names = read_lines(names_file)
        while names and not names[-1].strip():
            names.pop()
        nc, nf = len(caps), len(names)
        k = self.caps_per_image
        if nc == nf and nc > 0:
            self.layout = 'per_caption'
            return self._parse_per_caption(caps, names, caps_file,
                                           names_file)
        if k and nc == k * nf and nf > 0:
            self.layout = 'per_image'
            return self._parse_per_image(caps, names, caps_file, names_file)
        raise BadSampleError(
            f'{nc} caption lines do not match the {nf} lines of '
            f'{names_file}; expected either one file-name line per caption '
            f'({nc} lines) or one per image with {k} captions each '
            f'({nc / k if k else "?"} lines)', file=caps_file,
            entry='line count')

    def _parse_per_image(self, caps, names, caps_file, names_file):
        k = self.caps_per_image
        records, seen = [], {}
        for i, name in enumerate(names):
            name = name.strip()
            a = i * k
            where = (f'lines {a + 1}-{a + k} (image {i}: {name!r}, '
                     f'{osp.basename(names_file)} line {i + 1})')
            if not name:
                self._handle_bad(BadSampleError(
                    'empty file name; expected an image file name',
                    file=names_file, entry=f'line {i + 1}'))
                continue
            if name in seen:
                self._handle_bad(BadSampleError(
                    f'file name {name!r} also on line {seen[name] + 1}; in '
                    'the one-line-per-image layout every name must be '
                    'unique (are the files of the same split?)',
                    file=names_file, entry=f'line {i + 1}'))
                continue
            seen[name] = i
            records.append(dict(
                img_path=name, captions=caps[a:a + k],
                caption_entries=[f'line {a + j + 1}' for j in range(k)],
                file=caps_file, entry=where))
        return records

    def _parse_per_caption(self, caps, names, caps_file, names_file):
        runs = []  # [name, first_line, last_line]
        for i, name in enumerate(names):
            name = name.strip()
            if runs and runs[-1][0] == name:
                runs[-1][2] = i
            else:
                runs.append([name, i, i])
        records, seen = [], {}
        k = self.caps_per_image
        for r, (name, a, b) in enumerate(runs):
            where = f'lines {a + 1}-{b + 1} ({name!r})'
            try:
                if not name:
                    raise BadSampleError(
                        'empty file name; expected an image file name',
                        file=names_file, entry=f'lines {a + 1}-{b + 1}')
                if name in seen:
                    raise BadSampleError(
                        f'file name {name!r} appears again after other '
                        f'names (first at line {seen[name] + 1}); expected '
                        'the caption lines of an image to be consecutive',
                        file=names_file, entry=f'line {a + 1}')
                if k and b - a + 1 != k:
                    raise BadSampleError(
                        f'{name!r} has {b - a + 1} caption lines; expected '
                        f'{k} (set caps_per_image=None to allow any number)',
                        file=names_file, entry=f'lines {a + 1}-{b + 1}')
            except BadSampleError as err:
                self._handle_bad(err)
                seen.setdefault(name, a)
                continue
            seen[name] = a
            records.append(dict(
                img_path=name, captions=caps[a:b + 1],
                caption_entries=[f'line {j + 1}' for j in range(a, b + 1)],
                file=caps_file, entry=where))
        return records
