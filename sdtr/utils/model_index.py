"""The model index of the sdtr zoo, read without torch or mmengine.

The zoo is described in the OpenMMLab model-index format: a top-level
``model-index.yml`` that imports ``configs/<method>/metafile.yml`` files,
each with ``Collections`` and ``Models`` (``Name``, ``In Collection``,
``Config``, ``Metadata``, ``Results`` and ``Weights``, ``null`` while no
checkpoint is published; a published checkpoint also records its full
``Weights SHA256``, printed by
``tools/model_converters/publish_model.py``).  ``tools/misc/gen_model_zoo.py``
regenerates ``model-index.yml`` and ``model_zoo.md`` from the metafiles.

Where the index is found (first hit wins):

1. the ``index=`` argument (a ``model-index.yml`` or a single metafile);
2. the ``SDTR_MODEL_INDEX`` environment variable;
3. ``<sdtr package>/.mim/model-index.yml``: the OpenMMLab ``.mim`` folder
   that every install of sdtr has (copies of ``model-index.yml``,
   ``configs/`` and ``tools/`` in a wheel, links to the checkout in an
   editable install; written by ``setup.py``), which is also where
   ``mim search sdtr`` / ``mim download sdtr`` read the zoo;
4. ``model-index.yml`` in the folder above the package, i.e. a source
   checkout used through ``PYTHONPATH`` without installing it.

Config paths in the metafiles are relative to the folder of
``model-index.yml``.  This module needs only PyYAML, so that
``sdtr list-models`` answers at once; building the models is
:mod:`sdtr.apis.model_zoo`.
"""
import fnmatch
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import yaml

from .errors import SdtrError
from .renamed_configs import renamed_model_name

INDEX_ENV = 'SDTR_MODEL_INDEX'
SHA256_KEY = 'Weights SHA256'
_SHA256_RE = re.compile(r'[0-9a-f]{64}')


class ModelZooError(SdtrError, RuntimeError):
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
        # libyaml's parser when PyYAML has it (several times faster)
        data = yaml.load(f, Loader=getattr(yaml, 'CSafeLoader',
                                           yaml.SafeLoader))
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
            # through the links of an editable install: the checkout's file
            return osp.realpath(path)
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
            f'see `sdtr list-models`).{hint}')
    return info
