"""The sdtr model zoo: ``get_model`` and ``get_model_and_transforms``.

The zoo is the OpenMMLab model index (``model-index.yml`` and the
metafiles), read by :mod:`sdtr.utils.model_index` (``list_models``,
``get_model_info``; re-exported here), which also says where the index is
found.  This module builds the models of its entries and loads their
weights.
"""
import copy
import os
import os.path as osp
from typing import Optional, Tuple, Union

from sdtr.utils.model_index import (INDEX_ENV, SHA256_KEY,  # noqa: F401
                                    ModelInfo, ModelZooError,
                                    find_model_index, get_model_info,
                                    list_models, load_model_index,
                                    parse_metafile)
from sdtr.utils.renamed_configs import resolve_config_path


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
