"""The sdtr model zoo: ``list_models`` and ``get_model``.

The zoo is described in the OpenMMLab model-index format: a top-level
``model-index.yml`` that imports ``configs/<method>/metafile.yml`` files,
each with ``Collections`` and ``Models`` (``Name``, ``In Collection``,
``Config``, ``Metadata``, ``Results`` and ``Weights``, ``null`` while no
checkpoint is published; a published checkpoint also records its full
``Weights SHA256``, printed by ``tools/model_converters/publish_model.py``).  ``tools/misc/gen_model_zoo.py`` regenerates
``model-index.yml`` and ``model_zoo.md`` from the metafiles.

Where the index is found (first hit wins):

1. the ``index=`` argument (a ``model-index.yml`` or a single metafile);
2. the ``SDTR_MODEL_INDEX`` environment variable;
3. ``<sdtr package>/.mim/model-index.yml`` (a wheel that ships ``configs``
   and ``model-index.yml`` inside the package, the OpenMMLab ``.mim``
   layout);
4. ``model-index.yml`` in the folder above the package, i.e. the source
   checkout of an editable install (``pip install -e .``).

A non-editable install without ``.mim`` data finds the zoo by pointing
``SDTR_MODEL_INDEX`` at the ``model-index.yml`` of a checkout.  Config paths
in the metafiles are relative to the folder of ``model-index.yml``.
"""
import copy
import fnmatch
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

import yaml

from sdtr.utils.renamed_configs import renamed_model_name, resolve_config_path

INDEX_ENV = 'SDTR_MODEL_INDEX'
SHA256_KEY = 'Weights SHA256'
_SHA256_RE = re.compile(r'[0-9a-f]{64}')


class ModelZooError(RuntimeError):
    """A model-zoo lookup failed (unknown name, no published weights...)."""


@dataclass
class ModelInfo:
    """One ``Models`` entry of a metafile."""
    name: str
    config: str  # absolute path
    collection: Optional[str] = None
    weights: Optional[str] = None
    weights_sha256: Optional[str] = None
    metadata: dict = field(default_factory=dict)
    results: List[dict] = field(default_factory=list)
    converted_from: Optional[dict] = None
    metafile: str = ''
    readme: Optional[str] = None

    @property
    def tasks(self) -> List[str]:
        return [r.get('Task', '') for r in self.results]

    @property
    def datasets(self) -> List[str]:
        return [r.get('Dataset', '') for r in self.results]


def _read_yaml(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'model-index file {path!r} does not exist')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelZooError(f'{path}: expected a mapping with Import/'
                            f'Collections/Models, got {type(data).__name__}')
    return data


def find_model_index(index: Optional[str] = None) -> str:
    """Path of the model index (see the module docstring for the order)."""
    if index is not None:
        if not osp.isfile(index):
            raise FileNotFoundError(f'model index {index!r} does not exist')
        return osp.abspath(index)
    env = os.environ.get(INDEX_ENV)
    if env:
        if not osp.isfile(env):
            raise FileNotFoundError(
                f'${INDEX_ENV}={env!r} does not name a model-index.yml')
        return osp.abspath(env)
    pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidates = [osp.join(pkg, '.mim', 'model-index.yml'),
                  osp.join(osp.dirname(pkg), 'model-index.yml')]
    for path in candidates:
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        'cannot find the sdtr model index; looked for ' +
        ', '.join(repr(c) for c in candidates) +
        f'. Set ${INDEX_ENV} to the model-index.yml of an sdtr checkout.')


def parse_metafile(path: str, root: str) -> List[ModelInfo]:
    """The ``Models`` of one metafile (paths relative to ``root``).

    Raises:
        ModelZooError: an entry lacks ``Name``/``Config``, a ``Results``
            entry lacks ``Task``/``Dataset``/``Metrics`` or names an unknown
            collection (the message names the file and the model).
    """
    data = _read_yaml(path)
    collections = {}
    for col in data.get('Collections') or []:
        if not isinstance(col, dict) or 'Name' not in col:
            raise ModelZooError(f'{path}: every Collections entry needs a '
                                f'Name, got {col!r}')
        collections[col['Name']] = col
    models = []
    for entry in data.get('Models') or []:
        if not isinstance(entry, dict):
            raise ModelZooError(f'{path}: Models entries must be mappings, '
                                f'got {entry!r}')
        missing = [k for k in ('Name', 'Config') if not entry.get(k)]
        if missing:
            raise ModelZooError(f'{path}: model entry {entry.get("Name")!r} '
                                f'lacks {missing}')
        results = entry.get('Results') or []
        for res in results:
            if not isinstance(res, dict) or not {'Task', 'Dataset',
                                                 'Metrics'} <= set(res):
                raise ModelZooError(
                    f'{path}: model {entry["Name"]!r} has a Results entry '
                    f'without Task/Dataset/Metrics: {res!r}')
        col_name = entry.get('In Collection')
        if col_name is not None and col_name not in collections:
            raise ModelZooError(f'{path}: model {entry["Name"]!r} is "In '
                                f'Collection" {col_name!r}, which the file '
                                'does not define')
        col = collections.get(col_name, {})
        readme = entry.get('README') or col.get('README')
        sha256 = entry.get(SHA256_KEY)
        if sha256 is not None:
            sha256 = str(sha256).strip().lower()
            if not _SHA256_RE.fullmatch(sha256):
                raise ModelZooError(
                    f'{path}: model {entry["Name"]!r} has {SHA256_KEY}: '
                    f'{entry.get(SHA256_KEY)!r}; expected the 64 hex digits '
                    'printed by tools/model_converters/publish_model.py')
            if not entry.get('Weights'):
                raise ModelZooError(
                    f'{path}: model {entry["Name"]!r} records a '
                    f'{SHA256_KEY} but no Weights')
        models.append(
            ModelInfo(
                name=str(entry['Name']),
                config=osp.normpath(osp.join(root, entry['Config'])),
                collection=col_name,
                weights=entry.get('Weights'),
                weights_sha256=sha256,
                metadata=dict(entry.get('Metadata') or {}),
                results=list(results),
                converted_from=entry.get('Converted From'),
                metafile=path,
                readme=osp.normpath(osp.join(root, readme))
                if readme else None))
    return models


def load_model_index(index: Optional[str] = None) -> Dict[str, ModelInfo]:
    """Read the index and every imported metafile.

    Returns:
        dict: lower-cased model name -> :class:`ModelInfo`, in file order.

    Raises:
        ModelZooError: duplicate names or malformed entries (naming the
            metafile).
    """
    path = find_model_index(index)
    root = osp.dirname(path)
    data = _read_yaml(path)
    metafiles = [osp.normpath(osp.join(root, p))
                 for p in data.get('Import') or []]
    if 'Models' in data or not metafiles:
        metafiles.insert(0, path)  # the index is itself a metafile
    models: Dict[str, ModelInfo] = {}
    for metafile in metafiles:
        for info in parse_metafile(metafile, root):
            key = info.name.lower()
            if key in models:
                raise ModelZooError(
                    f'duplicate model name {info.name!r} in {metafile} and '
                    f'{models[key].metafile}')
            models[key] = info
    return models


def list_models(pattern: Optional[str] = None,
                task: Optional[str] = None,
                dataset: Optional[str] = None,
                exclude_patterns: Optional[List[str]] = None,
                index: Optional[str] = None) -> List[str]:
    """Names of the zoo models, optionally filtered.

    Args:
        pattern (str, optional): shell-style wildcard on the name,
            case-insensitive (``'*rsitmd*'``); a pattern without wildcards
            matches as a substring.
        task (str, optional): keep models with a Results entry whose ``Task``
            contains this text, case-insensitive (``'Text-To-Image'``).
        dataset (str, optional): keep models with a Results entry on this
            dataset (case-insensitive exact match, e.g. ``'RSITMD'``).
        exclude_patterns (list[str], optional): wildcards to drop.
        index (str, optional): see :func:`find_model_index`.

    Returns:
        list[str]: sorted model names.
    """
    models = load_model_index(index)

    def wild(p):
        p = p.lower()
        return p if any(c in p for c in '*?[') else f'*{p}*'

    names = []
    for key, info in models.items():
        if pattern and not fnmatch.fnmatch(key, wild(pattern)):
            continue
        if exclude_patterns and any(
                fnmatch.fnmatch(key, wild(p)) for p in exclude_patterns):
            continue
        if task and not any(task.lower() in t.lower() for t in info.tasks):
            continue
        if dataset and not any(dataset.lower() == d.lower()
                               for d in info.datasets):
            continue
        names.append(info.name)
    return sorted(names)


def get_model_info(name: str, index: Optional[str] = None) -> ModelInfo:
    """The :class:`ModelInfo` of a zoo model (case-insensitive name)."""
    models = load_model_index(index)
    info = models.get(str(name).lower())
    if info is None:
        new = renamed_model_name(name)  # a name used before the renaming
        if new is not None and new.lower() in models:
            return models[new.lower()]
    if info is None:
        close = [m.name for k, m in models.items()
                 if str(name).lower() in k or k in str(name).lower()]
        hint = f' Similar names: {close[:10]}.' if close else ''
        raise ModelZooError(
            f'{name!r} is not a model of the sdtr zoo ({len(models)} models; '
            f'see sdtr.apis.list_models()).{hint}')
    return info


def _resolve_config(name_or_config, index):
    """-> (Config, ModelInfo or None)."""
    from mmengine.config import Config
    if isinstance(name_or_config, Config):
        return name_or_config, None
    if isinstance(name_or_config, dict):
        return Config(name_or_config), None
    if not isinstance(name_or_config, (str, os.PathLike)):
        raise TypeError('name_or_config must be a model name, a config path '
                        f'or a Config, got {type(name_or_config).__name__}')
    text = resolve_config_path(str(name_or_config))
    if text.endswith('.py') or osp.isfile(text):
        if not osp.isfile(text):
            raise FileNotFoundError(f'config file {text!r} does not exist')
        try:  # a config of the zoo: remember its entry
            entries = [m for m in load_model_index(index).values()
                       if osp.isfile(m.config)
                       and osp.samefile(m.config, text)]
        except FileNotFoundError:  # no index: a plain config
            entries = []
        info = entries[0] if len(entries) == 1 else None
        if len(entries) > 1:  # ambiguous for pretrained=True
            info = ModelInfo(name=text, config=osp.abspath(text),
                             metafile=', '.join(m.name for m in entries))
            info.ambiguous = [m.name for m in entries]
        return Config.fromfile(text), info
    info = get_model_info(text, index)
    if not osp.isfile(info.config):
        raise FileNotFoundError(
            f'model {info.name!r} ({info.metafile}) names the config '
            f'{info.config!r}, which does not exist')
    return Config.fromfile(info.config), info


def get_model(name_or_config,
              pretrained: Union[bool, str] = False,
              device: str = 'cpu',
              offline_dir: Optional[str] = None,
              check_hash: bool = False,
              sha256: Optional[str] = None,
              index: Optional[str] = None,
              **kwargs):
    """Build a zoo model (optionally with its weights) in eval mode.

    Args:
        name_or_config (str | Config): a zoo name (see :func:`list_models`),
            a config file or a :class:`mmengine.config.Config`.
        pretrained (bool | str): ``False``: weights as built (call
            ``model.init_weights()`` to run the config's own initialisation,
            which may download backbone weights); ``True``: the published
            checkpoint of the zoo entry (``Weights``), always verified
            against its recorded full SHA-256 (``Weights SHA256``); a path
            or URL: that sdtr checkpoint.
        device (str): where the model goes.
        offline_dir (str, optional): local folder standing in for every
            checkpoint URL (default ``$SDTR_OFFLINE_DIR``).
        check_hash (bool): for a path/URL given as ``pretrained``: verify
            the SHA-256 prefix in its name (``<name>-<hex>.pth``, the
            torch.hub convention); off by default, so a local file whose
            name merely ends in ``-<hex>`` is never rejected by its name.
        sha256 (str, optional): expected SHA-256 (full or a prefix of >= 8
            hex digits) of a path/URL given as ``pretrained``.
        index (str, optional): model index (see :func:`find_model_index`).
        **kwargs: merged into ``config.model``.

    Returns:
        BaseRetriever: with ``model._config`` (the config), ``model.zoo_info``
        (:class:`ModelInfo` or None) and ``model.checkpoint`` (the local file
        the weights came from, or None); a loaded model's
        :func:`sdtr.checkpoint.weights_identity` is the digest of the bytes
        read.

    Raises:
        ModelZooError: ``pretrained=True`` for an entry with ``Weights:
            null`` or without a recorded SHA-256, or for a config that is
            not in the zoo.
        ChecksumError: the file does not have the expected SHA-256.
        CheckpointMismatchError: the checkpoint does not match the model
            (every missing, unexpected and wrongly shaped key is listed).
    """
    from mmengine.registry import DefaultScope

    from sdtr.checkpoint import load_weights, register_mmengine_loaders
    from sdtr.registry import MODELS
    from sdtr.utils import register_all_modules

    cfg, info = _resolve_config(name_or_config, index)
    if 'model' not in cfg:
        raise KeyError(f'config {getattr(cfg, "filename", None)!r} has no '
                       '"model" entry')
    checkpoint = None
    if pretrained is True:
        if info is None:
            raise ModelZooError(
                'pretrained=True needs a model of the zoo; '
                f'{name_or_config!r} is not one. Pass a checkpoint path/URL.')
        if getattr(info, 'ambiguous', None):
            raise ModelZooError(
                f'pretrained=True: the config {name_or_config!r} is used by '
                f'several zoo models {info.ambiguous}; pass the model name.')
        if not info.weights:
            raise ModelZooError(
                f'no checkpoint is published for {info.name!r} (Weights: '
                f'null in {info.metafile}). Train it with tools/train.py '
                f'{osp.relpath(info.config)} and pass pretrained=<your '
                'checkpoint>, or use pretrained=False.')
        if not info.weights_sha256:
            raise ModelZooError(
                f'{info.name!r} ({info.metafile}) publishes {info.weights} '
                f'without a recorded {SHA256_KEY}, so the download cannot '
                'be verified; refusing it. Pass the file as pretrained=<path '
                'or URL> (optionally with sha256=...) if you trust it.')
        checkpoint, check_hash, sha256 = info.weights, False, \
            info.weights_sha256
    elif pretrained not in (False, None):
        if not isinstance(pretrained, (str, os.PathLike)):
            raise TypeError('pretrained must be True, False or a checkpoint '
                            f'path/URL, got {pretrained!r}')
        checkpoint = str(pretrained)

    if kwargs:
        cfg.merge_from_dict({f'model.{k}': v for k, v in kwargs.items()})
    register_all_modules(init_default_scope=False)
    register_mmengine_loaders()  # init_weights() of mmengine components
    with DefaultScope.overwrite_default_scope('sdtr'):
        model = MODELS.build(cfg.model)
    model.to(device)
    local = None
    if checkpoint is not None:
        local = load_weights(model, checkpoint, check_hash=check_hash,
                             sha256=sha256, offline_dir=offline_dir
                             ).checkpoint.path
        # the weights are loaded: init_weights() must not overwrite them
        model._is_init = True
        for module in model.modules():
            if hasattr(module, '_is_init'):
                module._is_init = True
    model._config = cfg
    model.zoo_info = None if getattr(info, 'ambiguous', None) else info
    model.checkpoint = local
    return model.eval()


def find_test_pipeline(cfg) -> list:
    """The test-time pipeline of a config: ``test_pipeline``, else the
    pipeline of the test (then val) dataloader's dataset, looking through
    wrapper datasets."""
    if cfg.get('test_pipeline') is not None:
        return list(cfg.test_pipeline)
    for loader in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        while isinstance(dataset, dict):
            if dataset.get('pipeline') is not None:
                return list(dataset['pipeline'])
            inner = dataset.get('dataset') or dataset.get('datasets')
            dataset = inner[0] if isinstance(inner, (list, tuple)) and \
                inner else inner
    raise KeyError(
        f'config {getattr(cfg, "filename", None)!r} has no test pipeline '
        '(looked for test_pipeline, test_dataloader.dataset.pipeline and '
        'val_dataloader.dataset.pipeline)')


class ImageTransform:
    """The test-time image transform of a model, as one callable.

    The counterpart of the ``preprocess`` returned by open_clip's
    ``create_model_and_transforms``: ``transform(image)`` runs the config's
    test pipeline (the one ``tools/test.py`` and
    :class:`~sdtr.search.RetrievalInferencer` use) and the model's data
    preprocessor (BGR->RGB, mean/std), and returns a float32 ``[3, H, W]``
    CPU tensor, so that ``model.encode_image(torch.stack([transform(x), ...])
    .to(device))`` encodes a batch.

    Args:
        cfg (Config): the model's config (its ``test_pipeline``, else the
            test/val dataloader's dataset pipeline).
        data_preprocessor (nn.Module): the model's data preprocessor (a CPU
            copy is kept).

    Call with an image file path, an ``HxWx3`` uint8 **RGB** array or a
    ``PIL.Image``.
    """

    def __init__(self, cfg, data_preprocessor=None) -> None:
        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope

        from sdtr.registry import TRANSFORMS
        self.pipeline_cfg = find_test_pipeline(cfg)
        with DefaultScope.overwrite_default_scope('sdtr'):
            transforms = [TRANSFORMS.build(t) for t in self.pipeline_cfg]
        self._from_file = Compose(transforms)
        # decoded arrays skip the loading transform(s)
        self._from_array = Compose([
            t for t, c in zip(transforms, self.pipeline_cfg)
            if 'Load' not in str(c.get('type', ''))
        ])
        self.data_preprocessor = None if data_preprocessor is None else \
            copy.deepcopy(data_preprocessor).cpu()

    def __repr__(self) -> str:
        steps = ', '.join(str(c.get('type')) for c in self.pipeline_cfg)
        return (f'{type(self).__name__}(pipeline=[{steps}], '
                f'data_preprocessor={type(self.data_preprocessor).__name__})')

    def pack(self, image, idx: int = 0) -> dict:
        """The test pipeline's output (``inputs`` and ``data_samples``) for
        one image, before the data preprocessor; ``idx`` numbers the image
        in messages and sample metadata.  Picklable: usable in DataLoader
        workers."""
        import numpy as np
        meta = dict(text='', image_id=idx, pid=-1, label=-1, sample_idx=idx)
        if hasattr(image, 'convert') and hasattr(image, 'size'):  # PIL
            image = np.asarray(image.convert('RGB'))
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or \
                    image.dtype != np.uint8:
                raise ValueError(
                    f'image {idx}: arrays must be HxWx3 uint8 RGB, got shape '
                    f'{image.shape} dtype {image.dtype}')
            bgr = np.ascontiguousarray(image[..., ::-1])
            return self._from_array(
                dict(meta, img=bgr, img_path=f'<array {idx}>',
                     img_shape=bgr.shape[:2], ori_shape=bgr.shape[:2]))
        if isinstance(image, (str, os.PathLike)):
            if not osp.isfile(image):
                raise FileNotFoundError(f'image file {str(image)!r} does not '
                                        'exist')
            return self._from_file(dict(meta, img_path=str(image)))
        raise TypeError(f'image {idx}: expected an image path, an HxWx3 '
                        f'uint8 RGB array or a PIL image, got '
                        f'{type(image).__name__}')

    def __call__(self, image):
        if self.data_preprocessor is None:
            raise RuntimeError('this ImageTransform has no data '
                               'preprocessor; use pack()')
        packed = self.pack(image)
        data = self.data_preprocessor(
            dict(inputs=[packed['inputs']], data_samples=None), False)
        return data['inputs'][0]


def get_model_and_transforms(name_or_config,
                             pretrained: Union[bool, str] = False,
                             **kwargs) -> Tuple[object, ImageTransform]:
    """:func:`get_model` plus the model's test-time image transform.

    Like open_clip's ``create_model_and_transforms``::

        model, transform = get_model_and_transforms(
            'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py',
            pretrained='epoch_12.pth')
        feats = model.encode_image(transform('a.png')[None])['global']
        text = model.encode_text(['two planes near a terminal'])['global']

    Args and keyword arguments: as :func:`get_model`.

    Returns:
        tuple: ``(model, transform)``, ``transform`` an
        :class:`ImageTransform` (image -> normalised ``[3, H, W]`` tensor).
    """
    model = get_model(name_or_config, pretrained=pretrained, **kwargs)
    return model, ImageTransform(model._config, model.data_preprocessor)
