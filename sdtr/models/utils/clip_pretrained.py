"""Pretrained CLIP weights by name: ``openclip:<arch>/<tag>``.

A config names published CLIP weights as open_clip does, e.g.
``pretrained=dict(checkpoint='openclip:ViT-B-16/openai')``; the name is looked
up in open_clip's pretrained registry (``open_clip.get_pretrained_cfg``, the
table of ``src/open_clip/pretrained.py`` in mlfoundations/open_clip), which
lists for each (architecture, tag) a Hugging Face hub repository
(``hf_hub``) and, for OpenAI's models, the original download URL (``url``).

Sources, in order (:func:`resolve_pretrained`):

1. an offline folder (``offline_dir=`` or ``$SDTR_OFFLINE_DIR``), when set:
   ``<folder>/<hf repo>/<hf file>`` (the layout of ``huggingface-cli
   download <repo> <file> --local-dir <folder>/<repo>``) or
   ``<folder>/<file name of the URL>`` (e.g. ``ViT-B-16.pt``); nothing is
   downloaded and a missing file is an error naming both places;
2. the Hugging Face hub, through open_clip's
   ``download_pretrained_from_hf`` (huggingface_hub's cache, ``HF_HOME``,
   ``HF_HUB_OFFLINE`` and ``HF_ENDPOINT`` apply);
3. the URL, when the hub fails (no network, repository gone, no
   ``huggingface_hub``), downloaded once into torch.hub's cache.  OpenAI's
   ``openaipublic.azureedge.net`` URLs are reported to answer 404 since
   2025 (openai/CLIP issue #516); they stay as the fallback.

Whichever source served the file, its SHA-256 is checked before it is read,
and a mismatch is an error naming the source, the file and both hashes
(never a silent fall-through to another source).  Expected hashes:

* the hub file: :data:`PINNED_HF_FILES` pins, for the weights sdtr's configs
  use, the repository revision (a commit, so the content cannot change), the
  file (the safetensors copy open_clip prefers) and its SHA-256.  These are
  the Git LFS object ids the hub reports for the files at those revisions
  (``HfApi().model_info(repo, files_metadata=True)``); sdtr's authors could
  not download the files while writing this (no network), so the values are
  as published by the hub's metadata, cross-checked against several public
  projects that pin the same files;
* the URL: the SHA-256 OpenAI put in the URL itself
  (``.../clip/models/<sha256>/ViT-B-16.pt``, verified by OpenAI's own
  ``clip.load``), or the torch.hub ``-<prefix>.`` in its file name;
* ``sha256=`` given by the caller overrides both (for tags not pinned here;
  the hub shows a file's SHA-256 on its page).

A tag without an expected hash is refused before anything is downloaded.
See ``docs/pretrained_weights.md``.
"""
import os
import os.path as osp
from typing import List, Optional, Tuple
from urllib.parse import urlparse

from mmengine.logging import print_log

SCHEME = 'openclip:'

# (open_clip architecture, tag) -> the pinned Hugging Face file.
PINNED_HF_FILES = {
    ('ViT-B-16', 'openai'): dict(
        repo='timm/vit_base_patch16_clip_224.openai',
        revision='977e3dd0ec55ab8da155f2fbeb6b5f54948b6e3d',
        filename='open_clip_model.safetensors',
        sha256='4b8699299b1e8997753c64b052ba32031449d5d853f55a039148560ee02b820f'),  # noqa: E501
    ('ViT-B-32', 'openai'): dict(
        repo='timm/vit_base_patch32_clip_224.openai',
        revision='a6f597a30f7b82c51704746581f9a4e41421e878',
        filename='open_clip_model.safetensors',
        sha256='e6d1bd7789aa45192b3bf90570a789b478bae1b74ebcce7eddd908e83a2b7c31'),  # noqa: E501
    ('RN50', 'openai'): dict(
        repo='timm/resnet50_clip.openai',
        revision='ec3d92cf63a5f9d591f0d611b736895966c73076',
        filename='open_clip_model.safetensors',
        sha256='da0baa37fb2211eee5729ab69ed587eb10d48f5b7076ceeed01552fc3d4cb4ee'),  # noqa: E501
}


def is_pretrained_name(checkpoint) -> bool:
    """Whether ``checkpoint`` is an ``openclip:<arch>/<tag>`` name."""
    return isinstance(checkpoint, str) and checkpoint.startswith(SCHEME)


def parse_pretrained_name(name: str) -> Tuple[str, str]:
    """``'openclip:ViT-B-16/openai'`` -> ``('ViT-B-16', 'openai')``."""
    body = name[len(SCHEME):] if name.startswith(SCHEME) else name
    arch, sep, tag = body.partition('/')
    if not sep or not arch or not tag or '/' in tag:
        raise ValueError(f'{name!r}: expected {SCHEME}<architecture>/<tag>, '
                         f'e.g. {SCHEME}ViT-B-16/openai')
    return arch, tag


class PretrainedSource:
    """One place a pretrained file can come from."""

    def __init__(self, kind: str, where: str, expected: Optional[str],
                 offline_name: str, **info):
        self.kind = kind  # 'hf' or 'url'
        self.where = where  # repo@revision/file or the URL (messages)
        self.expected = expected
        self.offline_name = offline_name
        self.info = info

    def fetch(self) -> str:
        if self.kind == 'hf':
            return fetch_from_hf(self.info['repo'], self.info['filename'],
                                 self.info.get('revision'))
        return fetch_from_url(self.info['url'])


def fetch_from_hf(repo: str, filename: Optional[str],
                  revision: Optional[str]) -> str:
    """Download (or find in huggingface_hub's cache) one hub file through
    open_clip; raises when the hub cannot serve it."""
    from open_clip.pretrained import download_pretrained_from_hf
    return download_pretrained_from_hf(repo, filename=filename,
                                       revision=revision)


def fetch_from_url(url: str) -> str:
    """Download ``url`` once into torch.hub's cache (no hash check here)."""
    from sdtr.utils.compat import cached_download
    return cached_download(url)


def pretrained_sources(name: str,
                       sha256: Optional[str] = None
                       ) -> List[PretrainedSource]:
    """The sources of ``name`` in the order they are tried.

    Raises:
        KeyError: open_clip's registry has no such (architecture, tag).
        ValueError: no expected SHA-256 for a source and none given.
    """
    import open_clip
    from .checkpoint_io import hash_prefix_from_url
    arch, tag = parse_pretrained_name(name)
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(arch)
        hint = (f'its tags: {", ".join(sorted(tags))}' if tags else
                'open_clip has no pretrained weights for that architecture')
        raise KeyError(f'{name!r} is not in open_clip\'s pretrained registry '
                       f'(open_clip {open_clip.__version__}); {hint}')
    sources = []
    pinned = PINNED_HF_FILES.get((arch, tag))
    if pinned is not None:
        sources.append(PretrainedSource(
            'hf', f'{pinned["repo"]}@{pinned["revision"]}/'
            f'{pinned["filename"]}', sha256 or pinned['sha256'],
            osp.join(pinned['repo'], pinned['filename']), **pinned))
    elif cfg.get('hf_hub'):
        # open_clip's convention: 'org/repo/' = the repo's default file
        repo, filename = os.path.split(cfg['hf_hub'])
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME
        sources.append(PretrainedSource(
            'hf', f'{repo}/{filename or "(open_clip default file)"}', sha256,
            osp.join(repo, filename or HF_SAFE_WEIGHTS_NAME), repo=repo,
            filename=filename or None, revision=None))
    if cfg.get('url'):
        url = cfg['url']
        sources.append(PretrainedSource(
            'url', url, sha256 or hash_prefix_from_url(url),
            osp.basename(urlparse(url).path), url=url))
    if not sources:
        raise KeyError(f'{name!r}: open_clip lists neither a hub repository '
                       'nor a URL for it')
    unverifiable = [s.where for s in sources if not s.expected]
    if unverifiable:
        raise ValueError(
            f'{name!r}: sdtr has no SHA-256 for {", ".join(unverifiable)}, '
            'so the file could not be verified. Pass the expected hash as '
            "pretrained=dict(checkpoint=..., sha256='<64 hex>') (the hub "
            'shows it on the file\'s page), or download the file yourself '
            'and give its path.')
    return sources


def _verify(path: str, source: PretrainedSource, name: str,
            downloaded: bool = False) -> str:
    from sdtr.apis.hub import ChecksumError, sha256_file
    actual = sha256_file(path)
    expected = source.expected.lower()
    if not actual.startswith(expected):
        if downloaded and source.kind == 'url':
            os.remove(path)  # our torch.hub cache copy: retry next time
            fix = 'it was removed from the cache; try again'
        else:
            fix = 'delete it and try again'
        raise ChecksumError(
            f'{name}: the file from {source.kind} source {source.where} '
            f'({path}) has SHA-256 {actual}, expected {expected}. It is '
            f'corrupt, truncated or not the published file ({fix}); nothing '
            'was loaded.')
    return path


def resolve_pretrained(name: str,
                       sha256: Optional[str] = None,
                       offline_dir: Optional[str] = None) -> str:
    """A verified local file for ``openclip:<arch>/<tag>``.

    Args:
        name (str): ``openclip:<arch>/<tag>``.
        sha256 (str, optional): expected hash (or prefix) overriding the
            recorded ones.
        offline_dir (str, optional): read from this folder only (default
            ``$SDTR_OFFLINE_DIR``).

    Raises:
        FileNotFoundError: offline and the file is not in the folder.
        ChecksumError: the file's SHA-256 is not the expected one.
        RuntimeError: every source failed (each error is listed).
    """
    from sdtr.apis.hub import OFFLINE_ENV, offline_dir_from
    sources = pretrained_sources(name, sha256)
    folder = offline_dir_from(offline_dir)
    if folder is not None:
        folder = osp.expanduser(folder)
        candidates = [(osp.join(folder, s.offline_name), s) for s in sources]
        for path, source in candidates:
            if osp.isfile(path):
                print_log(f'{name}: reading {path} (offline folder)',
                          logger='current')
                return _verify(path, source, name)
        how = 'offline_dir argument' if offline_dir else f'${OFFLINE_ENV}'
        raise FileNotFoundError(
            f'offline mode ({how} = {folder!r}): {name} needs one of ' +
            ', '.join(repr(p) for p, _ in candidates) + '; copy the file '
            f'there, or unset {OFFLINE_ENV} to download it.')
    errors = []
    for source in sources:
        try:
            path = source.fetch()
        except Exception as err:  # noqa: BLE001 - reported, then next source
            errors.append(f'{source.kind} {source.where}: '
                          f'{type(err).__name__}: {err}')
            print_log(f'{name}: could not get {source.where} '
                      f'({type(err).__name__}: {err}); trying the next '
                      'source', logger='current', level=30)
            continue
        print_log(f'{name}: using {path} (from {source.where})',
                  logger='current')
        return _verify(path, source, name, downloaded=True)
    raise RuntimeError(f'{name}: no source could serve the weights:\n  ' +
                       '\n  '.join(errors) + f'\nDownload a file yourself '
                       f'into a folder and set {OFFLINE_ENV} to it (see '
                       'docs/pretrained_weights.md).')
