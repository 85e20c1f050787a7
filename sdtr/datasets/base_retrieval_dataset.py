"""Base class of every sdtr image-text retrieval dataset."""
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmengine.logging import print_log
from torch.utils.data import get_worker_info

from sdtr.registry import DATASETS
from sdtr.utils.rng import SeededSamplesMixin
from .errors import BadImageError, BadSampleError, check_dataset_kwargs
from .utils import SCENE_RULES, scene_name_from_filename

VERIFY_HINT = ('run `python tools/misc/verify_dataset.py <config> --split '
               '<split>` to list every unreadable image of the split')
GALLERY_NOTE = (
    '. skip_bad_samples=True does not apply to a test_mode (val/test) '
    'gallery: dropping the entry would silently change the benchmark. Fix '
    'the annotation or the image file (the only images a gallery skips are '
    'those whose captions are all empty)')
#: metainfo key of a returned sample carrying the skips made while it was
#: drawn inside a DataLoader worker (read and logged by
#: ``SkippedSamplesHook``)
SKIPPED_META_KEY = 'skipped_samples'


def collect_worker_skips(data_batch: Any) -> List[dict]:
    """The skip records carried by the samples of a collated batch.

    A sample whose image could not be read inside a DataLoader worker
    process is replaced by another one; the record of that skip travels in
    the metainfo (``SKIPPED_META_KEY``) of the sample returned instead, or
    under that key of a sample dict without ``data_samples``.  Returns the
    records of every sample of ``data_batch`` (a dict with
    ``data_samples`` or a list of samples) in order.
    """
    if isinstance(data_batch, dict):
        samples = data_batch.get('data_samples')
        if samples is None:
            found = data_batch.get(SKIPPED_META_KEY)
            return list(found) if isinstance(found, (list, tuple)) else []
    else:
        samples = data_batch
    if not isinstance(samples, (list, tuple)):
        return []
    out = []
    for s in samples:
        meta = getattr(s, 'metainfo', s if isinstance(s, dict) else {})
        found = meta.get(SKIPPED_META_KEY) if isinstance(meta, dict) else None
        if found:
            out.extend(dict(r) for r in found)
    return out


def format_skips(records: Sequence[dict], limit: int = 10) -> str:
    """One line listing skip records: ``file [entry]: reason; ...``."""
    shown = '; '.join(f"{s['file']} [{s['entry']}]: {s['reason']}"
                      for s in records[:limit])
    more = len(records) - limit
    return shown + (f' ... and {more} more (see .skipped_samples)'
                    if more > 0 else '')


@DATASETS.register_module()
class BaseRetrievalDataset(SeededSamplesMixin, BaseDataset):
    """Image-text retrieval dataset (train: one sample per caption; test: one
    item per gallery image carrying its captions).

    Subclasses only implement :meth:`parse_annotations`, which reads the
    annotation file(s) of ``split`` and returns one *image record* per image::

        dict(img_path=str,              # relative to data_prefix['img_path']
             captions=[str, ...],
             label_name=str or None,    # optional, else from the file name
             pid=int or None,           # person identity (person datasets)
             file=str,                  # annotation file of the record
             entry=str,                 # index / line / key in that file
             caption_entries=[str, ...])  # optional, one per caption

    This class validates the records (captions must be non-empty strings,
    images must exist), assigns image ids, identities and scene labels and
    expands them into the data-sample contract of ``docs/architecture.md``:

    * train mode, one sample per caption: ``text, image_id, pid, label,
      img_path`` (+ ``sample_idx`` added on access);
    * test mode, one item per image: ``texts, text_ids, image_id, pid,
      text_pids, label, img_path`` (+ ``sample_idx == image_id``).

    Scene labels come from ``label_name`` when the annotation has one, else
    from the file name (``scene_rule``, see
    :func:`sdtr.datasets.utils.scene_name_from_filename`): ``'prefix'``
    takes the text before the first ``_`` and gives names without ``_``
    (numeric RSICD files like ``00578.jpg``) a singleton class named by the
    file name (PIR's rule); ``'ucm'`` maps numeric UCM names ``n.tif`` to
    class ``(n-1)//100`` (an assumption); ``None`` gives label -1.  Label ids
    follow the sorted class names, exposed as ``metainfo['scene_classes']``;
    pass ``metainfo=dict(scene_classes=[...])`` to force a fixed list (names
    outside it get -1).

    Identities: remote-sensing datasets use ``pid == image_id``.  Person
    datasets (``DOMAIN = 'person'``) keep the annotation's id; on the train
    split the ids are relabelled to ``0..num_classes-1`` in sorted order
    (``relabel_pids``), and ``pid_map`` holds ``raw id -> pid``.

    Images without any caption (every caption empty, or none at all) are
    skipped in every split and mode, whatever ``skip_bad_samples``: they
    cannot be trained on, and in a gallery they cannot be queried
    (image-to-text has no correct answer).  Each is logged (warning) and
    recorded in :attr:`skipped_samples` with the image and the annotation
    file.

    Other bad input (malformed entry, a partly empty caption set, missing
    image, corrupt image, unknown split) raises
    :class:`~sdtr.datasets.errors.BadSampleError` naming the annotation
    file, the entry (with the image) and what was expected.  With
    ``skip_bad_samples=True`` on a train-mode dataset, malformed entries,
    empty captions and missing images are dropped at load time, and a
    corrupt image is replaced by another random sample; every skip is logged
    and recorded in :attr:`skipped_samples` of the process that made it
    (a DataLoader worker's copy reports its skips in the metainfo of the
    sample returned instead, ``SKIPPED_META_KEY``, which
    :class:`~sdtr.engine.hooks.SkippedSamplesHook` reads and logs in the
    training process).  A test-mode
    dataset (a val/test gallery) never skips anything else: it raises even
    with ``skip_bad_samples=True``, because a smaller gallery changes the
    benchmark.  Unknown arguments (a misspelt ``spilt=``) raise a
    ``TypeError`` naming the class, the key, the closest valid key and the
    accepted arguments.  See ``docs/datasets.md``.

    Args:
        ann_file (str): annotation file (or folder, see subclasses), joined
            with ``data_root`` when relative.
        split (str): ``'train'``, ``'val'`` or ``'test'`` (``SPLITS``).
        data_root (str): dataset root folder.
        data_prefix (dict): ``dict(img_path=<image folder>)`` relative to
            ``data_root``.
        pipeline (list): transforms, normally ending in
            ``PackRetrievalInputs``.
        test_mode (bool): one item per image (True) or per caption (False).
        scene_rule (str | None): ``'prefix'``, ``'ucm'`` or ``None``;
            defaults to ``DEFAULT_SCENE_RULE`` of the class.
        relabel_pids (bool, optional): relabel person ids contiguously;
            defaults to ``split == 'train'``.
        skip_bad_samples (bool): in train mode, skip bad entries/images
            instead of raising (ignored in test mode, see above).
        check_images (bool): check at load time that every image file
            exists (cheap ``stat`` calls; disable for annotation-only use).
        indices (int | Sequence[int], optional): keep only these *images*
            (an int keeps the first ``indices`` images); ids stay
            contiguous, in both modes.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    SPLITS = ('train', 'val', 'test')
    DOMAIN = 'remote_sensing'
    DEFAULT_SCENE_RULE: Optional[str] = 'prefix'
    DATASET_NAME = 'retrieval'

    def __new__(cls, *args, **kwargs):
        # before any __init__ of the chain runs: a misspelt argument is
        # reported as such, not as a later, unrelated failure
        check_dataset_kwargs(cls, kwargs)
        return super().__new__(cls)

    def __init__(self,
                 ann_file: str = '',
                 split: str = 'train',
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 scene_rule: Union[str, None, type(...)] = ...,
                 relabel_pids: Optional[bool] = None,
                 skip_bad_samples: bool = False,
                 check_images: bool = True,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 lazy_init: bool = False,
                 **kwargs):
        self.split = split
        self.scene_rule = (self.DEFAULT_SCENE_RULE
                           if scene_rule is ... else scene_rule)
        if self.scene_rule not in SCENE_RULES:
            raise ValueError(f'scene_rule must be one of {SCENE_RULES}, got '
                             f'{self.scene_rule!r}')
        self.relabel_pids = relabel_pids
        self.skip_bad_samples = skip_bad_samples
        self.check_images = check_images
        self._image_indices = indices
        self.skipped_samples: List[dict] = []
        self._pending_skips: List[dict] = []
        self.image_records: List[dict] = []
        self.pid_map: Dict[Any, int] = {}
        self._index: Dict[str, Any] = {}
        if data_prefix is None:
            data_prefix = dict(img_path='')
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=True,
            **kwargs)
        self._check_split()
        if not lazy_init:
            self.full_init()

    # ------------------------------------------------------------------
    # to be implemented by the format classes
    # ------------------------------------------------------------------
    def parse_annotations(self) -> List[dict]:
        """Read the annotation file(s) of ``self.split``.

        Returns:
            list[dict]: image records (see the class docstring).
        """
        raise NotImplementedError

    # ------------------------------------------------------------------
    # helpers for subclasses
    # ------------------------------------------------------------------
    def _check_split(self) -> None:
        if self.split not in self.SPLITS:
            raise BadSampleError(
                f'unknown split {self.split!r} for {type(self).__name__}; '
                f'expected one of {list(self.SPLITS)}',
                file=str(self.ann_file), entry='split')

    def _handle_bad(self, err: BadSampleError,
                    image: Optional[str] = None) -> None:
        """Raise ``err``, or record it when ``skip_bad_samples`` is on (train
        mode only: a test-mode gallery always raises)."""
        if not self.skip_bad_samples:
            raise err
        if self.test_mode:
            raise BadSampleError(err.reason + GALLERY_NOTE, file=err.file,
                                 entry=err.entry) from err
        self._record_skip(err.file, err.entry, err.reason, image,
                          'bad_entry')

    def _record_skip(self, file: Optional[str], entry: Optional[str],
                     reason: str, image: Optional[str],
                     kind: str) -> dict:
        """Append a skip record (``file, entry, reason, image, kind``) to
        :attr:`skipped_samples` and return it."""
        rec = dict(file=file, entry=entry, reason=reason, image=image,
                   kind=kind)
        self.skipped_samples.append(rec)
        return rec

    @staticmethod
    def _with_image(entry: str, image: Optional[str]) -> str:
        """``entry`` naming its image (when it does not already)."""
        if image and osp.basename(image) not in entry:
            return f'{entry} of image {image!r}'
        return entry

    def img_prefix(self) -> str:
        return self.data_prefix.get('img_path', '') or ''

    def _full_img_path(self, img_path: str) -> str:
        if osp.isabs(img_path):
            return img_path
        prefix = self.img_prefix()
        return osp.join(prefix, img_path) if prefix else img_path

    # ------------------------------------------------------------------
    # mmengine hooks
    # ------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Parse, validate, index and expand the image records."""
        self.skipped_samples = []
        records = self.parse_annotations()
        records = self._validate_records(records)
        records = self._select_images(records)
        self.image_records = records
        self._assign_labels_and_pids(records)
        data_list = self._expand(records)
        name = f'{type(self).__name__} ({self.split})'
        captionless = [s for s in self.skipped_samples
                       if s.get('kind') == 'no_caption']
        others = [s for s in self.skipped_samples
                  if s.get('kind') != 'no_caption']
        if captionless:
            print_log(
                f'{name}: skipped {len(captionless)} images without any '
                'caption (always skipped: they can neither be trained on '
                f'nor queried): {format_skips(captionless)}',
                logger='current', level=logging.WARNING)
        if others:
            print_log(
                f'{name}: skipped {len(others)} bad annotation entries / '
                'captions / images (skip_bad_samples=True): '
                f'{format_skips(others)}', logger='current',
                level=logging.WARNING)
        return data_list

    def _validate_records(self, records: List[dict]) -> List[dict]:
        valid = []
        for rec in records:
            file = rec.get('file', str(self.ann_file))
            entry = rec.get('entry', '?')
            img_path = rec.get('img_path')
            image = img_path if isinstance(img_path, str) and img_path \
                else None
            caps = rec.get('captions')
            if not isinstance(caps, (list, tuple)):
                self._handle_bad(BadSampleError(
                    f'captions should be a list of strings, got '
                    f'{type(caps).__name__}', file=file,
                    entry=self._with_image(entry, image)), image)
                continue
            cap_entries = rec.get('caption_entries') or [
                f'{entry} caption {i}' for i in range(len(caps))]
            typed = []  # (stripped caption, its entry)
            for cap, cap_entry in zip(caps, cap_entries):
                if not isinstance(cap, str):
                    self._handle_bad(BadSampleError(
                        f'caption should be a string, got '
                        f'{type(cap).__name__} ({cap!r:.60})', file=file,
                        entry=self._with_image(cap_entry, image)), image)
                    continue
                typed.append((cap.strip(), cap_entry))
            if not any(cap for cap, _ in typed):
                if typed or not caps:
                    # every caption is empty, or there is none at all
                    self._skip_captionless(file, entry, image, len(typed))
                else:  # every caption was malformed and skipped
                    self._handle_bad(BadSampleError(
                        'image dropped: none of its captions is usable',
                        file=file, entry=self._with_image(entry, image)),
                        image)
                continue
            n_empty = sum(1 for cap, _ in typed if not cap)
            good_caps = []
            for cap, cap_entry in typed:
                if not cap:
                    self._handle_bad(BadSampleError(
                        f'empty caption ({n_empty} of the {len(typed)} '
                        'captions of this image are empty); expected a '
                        'non-empty sentence (an image whose captions are '
                        'all empty is skipped automatically, a partly empty '
                        'caption set is an error)', file=file,
                        entry=self._with_image(cap_entry, image)), image)
                    continue
                good_caps.append(cap)
            if image is None:
                self._handle_bad(BadSampleError(
                    f'image path should be a non-empty string, got '
                    f'{img_path!r}', file=file, entry=entry))
                continue
            full = self._full_img_path(img_path)
            if self.check_images and not osp.isfile(full):
                self._handle_bad(BadSampleError(
                    f'image file {full!r} does not exist; expected it under '
                    f'data_root/data_prefix.img_path '
                    f'({self.img_prefix()!r})', file=file,
                    entry=self._with_image(entry, image)), image)
                continue
            rec = dict(rec)
            rec['captions'] = good_caps
            rec['img_path'] = full
            rec['file'] = file
            rec['entry'] = entry
            rec.pop('caption_entries', None)
            valid.append(rec)
        if not valid:
            raise BadSampleError(
                f'{type(self).__name__}: no usable image in split '
                f'{self.split!r} ({len(records)} image entries found, '
                f'{len(self.skipped_samples)} skipped); expected at least '
                'one image with a caption (is it the right annotation file '
                'and split?)', file=str(self.ann_file),
                entry=f'split {self.split!r}')
        return valid

    def _skip_captionless(self, file: str, entry: str,
                          image: Optional[str], n_captions: int) -> None:
        """Record (never raise) an image without any caption."""
        what = (f'all {n_captions} of its captions are empty'
                if n_captions else 'it has no caption')
        self._record_skip(
            file, self._with_image(entry, image),
            f'image {image!r} skipped: {what}. An image without a caption '
            'can neither be trained on nor queried in a val/test gallery, '
            'so it is skipped in every split', image, 'no_caption')

    def _select_images(self, records: List[dict]) -> List[dict]:
        idx = self._image_indices
        if idx is None:
            return records
        if isinstance(idx, int):
            return records[:idx] if idx >= 0 else records[idx:]
        return [records[i] for i in idx]

    def _assign_labels_and_pids(self, records: List[dict]) -> None:
        # scene labels
        names = []
        for rec in records:
            name = rec.get('label_name')
            if name is None:
                name = scene_name_from_filename(rec['img_path'],
                                                self.scene_rule)
            names.append(name)
        given = self._metainfo.get('scene_classes')
        if given is not None:
            classes = list(given)
        else:
            classes = sorted({n for n in names if n is not None})
        cls_idx = {c: i for i, c in enumerate(classes)}
        unknown = 0
        for rec, name in zip(records, names):
            rec['label_name'] = name
            lab = cls_idx.get(name, -1) if name is not None else -1
            if name is not None and lab < 0:
                unknown += 1
            rec['label'] = lab
        if unknown:
            print_log(
                f'{type(self).__name__} ({self.split}): {unknown} images '
                'have a scene name outside metainfo["scene_classes"]; their '
                'label is -1', logger='current', level=logging.WARNING)
        # identities
        if self.DOMAIN == 'person':
            raw = [rec.get('pid') for rec in records]
            relabel = (self.split == 'train' if self.relabel_pids is None
                       else self.relabel_pids)
            if relabel:
                uniq = sorted(set(raw))
                self.pid_map = {r: i for i, r in enumerate(uniq)}
            else:
                self.pid_map = {r: r for r in set(raw)}
            for rec in records:
                rec['raw_pid'] = rec.get('pid')
                rec['pid'] = self.pid_map[rec['raw_pid']]
        else:
            for i, rec in enumerate(records):
                rec['pid'] = i
        for i, rec in enumerate(records):
            rec['image_id'] = i
        self._metainfo.update(
            dataset_name=self.DATASET_NAME,
            domain=self.DOMAIN,
            split=self.split,
            scene_classes=classes)

    def _expand(self, records: List[dict]) -> List[dict]:
        data_list = []
        txt2img, text_pids, captions, img2txt = [], [], [], []
        for rec in records:
            ids = []
            for cap in rec['captions']:
                ids.append(len(captions))
                captions.append(cap)
                txt2img.append(rec['image_id'])
                text_pids.append(rec['pid'])
            img2txt.append(ids)
            if self.test_mode:
                data_list.append(
                    dict(texts=list(rec['captions']), text_ids=ids,
                         image_id=rec['image_id'], pid=rec['pid'],
                         text_pids=[rec['pid']] * len(ids),
                         label=rec['label'], img_path=rec['img_path']))
            else:
                for cap in rec['captions']:
                    data_list.append(
                        dict(text=cap, image_id=rec['image_id'],
                             pid=rec['pid'], label=rec['label'],
                             img_path=rec['img_path']))
        image_pids = [rec['pid'] for rec in records]
        self._index = dict(
            txt2img=txt2img, text_pids=text_pids, captions=captions,
            img2txt=img2txt, image_pids=image_pids,
            img_paths=[rec['img_path'] for rec in records])
        if self.test_mode:
            self._sample_pids = np.asarray(image_pids, dtype=np.int64)
        else:
            self._sample_pids = np.asarray(text_pids, dtype=np.int64)
        self._metainfo.update(
            num_images=len(records), num_texts=len(captions),
            num_classes=len(set(image_pids)))
        return data_list

    # ------------------------------------------------------------------
    # retrieval-specific accessors
    # ------------------------------------------------------------------
    @property
    @force_full_init
    def num_images(self) -> int:
        """Number of gallery images."""
        return len(self._index['image_pids'])

    @property
    @force_full_init
    def num_texts(self) -> int:
        """Number of captions."""
        return len(self._index['captions'])

    @property
    @force_full_init
    def num_classes(self) -> int:
        """Number of identities (train ids for person search; images for
        remote sensing, where ``pid == image_id``)."""
        return len(set(self._index['image_pids']))

    @property
    @force_full_init
    def txt2img(self) -> List[int]:
        """Caption index -> image index."""
        return list(self._index['txt2img'])

    @property
    @force_full_init
    def img2txt(self) -> List[List[int]]:
        """Image index -> its caption indices."""
        return [list(x) for x in self._index['img2txt']]

    @property
    @force_full_init
    def image_pids(self) -> List[int]:
        """Identity of every gallery image."""
        return list(self._index['image_pids'])

    @property
    @force_full_init
    def text_pids(self) -> List[int]:
        """Identity of every caption."""
        return list(self._index['text_pids'])

    @property
    @force_full_init
    def captions(self) -> List[str]:
        """All captions, flat, in ``text_ids`` order."""
        return list(self._index['captions'])

    @property
    @force_full_init
    def img_paths(self) -> List[str]:
        """Image file of every gallery image."""
        return list(self._index['img_paths'])

    @force_full_init
    def get_pids(self) -> np.ndarray:
        """Identity of every dataset item (per caption in train mode, per
        image in test mode); used by :class:`IdentityBalancedSampler`."""
        return self._sample_pids.copy()

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        """Scene label of item ``idx`` (for class-balanced wrappers)."""
        return [self.get_data_info(idx)['label']]

    # ------------------------------------------------------------------
    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline; handle unreadable images.

        A :class:`BadImageError` raised by the pipeline is re-raised with the
        annotation file and entry of the image.  In training with
        ``skip_bad_samples=True`` it is recorded instead and ``None`` is
        returned, so :class:`~mmengine.dataset.BaseDataset` draws another
        sample.  Test mode never skips.
        """
        data_info = self.get_data_info(idx)
        try:
            return self.pipeline(data_info)
        except BadImageError as err:
            rec = self.image_records[data_info['image_id']] \
                if self.image_records else {}
            file = rec.get('file', str(self.ann_file))
            entry = (f"{rec.get('entry', '?')} (image_id "
                     f"{data_info['image_id']}, sample {idx})")
            reason = f'unusable image {data_info["img_path"]!r}: {err.reason}'
            if self.test_mode:
                raise BadSampleError(
                    reason + '. A test/val gallery image cannot be skipped '
                    '(the gallery would change); fix or remove it from the '
                    f'annotation; {VERIFY_HINT}', file=file,
                    entry=entry) from err
            if not self.skip_bad_samples:
                raise BadSampleError(
                    reason + '. Set skip_bad_samples=True on the train '
                    f'dataset to re-sample another item, or {VERIFY_HINT}',
                    file=file, entry=entry) from err
            rec = self._record_skip(file, entry, reason,
                                    data_info['img_path'], 'bad_image')
            if get_worker_info() is not None:
                # a DataLoader worker: its skipped_samples is a copy the
                # main process never sees, so the record travels with the
                # sample returned instead (see __getitem__), where
                # SkippedSamplesHook reads and logs it
                self._pending_skips.append(rec)
            else:
                print_log(
                    f'{type(self).__name__}: skipping sample {idx}: '
                    f'{reason} (another sample is drawn instead)',
                    logger='current', level=logging.WARNING)
            return None

    def __getitem__(self, idx: int) -> Any:
        """The sample of ``idx`` (see :meth:`prepare_data`), its random
        augmentation (and the replacement of an unreadable image) drawn from
        the seed ``idx`` carries when a seeding sampler gave it
        (:class:`sdtr.utils.rng.SeededSamplesMixin`); skips made while
        drawing it in a DataLoader worker are attached to its metainfo under
        ``SKIPPED_META_KEY``."""
        data = super().__getitem__(idx)
        if self._pending_skips:
            pending, self._pending_skips = self._pending_skips, []
            samples = data.get('data_samples') if isinstance(data,
                                                             dict) else None
            if hasattr(samples, 'set_metainfo'):
                prev = list(samples.metainfo.get(SKIPPED_META_KEY, ()))
                samples.set_metainfo({SKIPPED_META_KEY: prev + pending})
            elif isinstance(data, dict):
                data[SKIPPED_META_KEY] = (
                    list(data.get(SKIPPED_META_KEY, ())) + pending)
        return data
