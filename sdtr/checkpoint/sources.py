"""Where a checkpoint's bytes come from: a path, a URL (cached under a key of
the whole URL and the expected SHA-256), an offline folder, or
``openclip:<arch>/<tag>`` (the pinned Hugging Face file, then the URL).  The
SHA-256 is checked whenever it is known.  See
docs/pretrained_weights.md#urls-and-their-cache and
docs/pretrained_weights.md#where-the-file-comes-from.
"""
import hashlib
import os
import os.path as osp
import re
from typing import Optional, Tuple
from urllib.parse import urlparse

from mmengine.logging import print_log

from .records import CheckpointError

OFFLINE_ENV = 'SDTR_OFFLINE_DIR'
SCHEME = 'openclip:'
_HEX = re.compile(r'[0-9a-f]{8,64}')

# (open_clip architecture, tag) -> the pinned Hugging Face file
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


class ChecksumError(CheckpointError):
    """A file's SHA-256 is not the expected one."""


def is_url(path) -> bool:
    return isinstance(path, str) and path.startswith(('http://', 'https://'))


def url_hash(url: str) -> Optional[str]:
    """The SHA-256 a URL names: OpenAI's ``.../<64 hex>/file`` folder or
    the torch.hub ``name-<hex>.ext`` suffix."""
    parts = urlparse(url).path.split('/')
    if len(parts) >= 2 and re.fullmatch(r'[0-9a-f]{64}', parts[-2]):
        return parts[-2]
    return name_hash(parts[-1])


def name_hash(name: str) -> Optional[str]:
    match = re.search(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$', osp.basename(name))
    return match.group(1) if match else None


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _hex(expected) -> str:
    expected = str(expected).strip().lower()
    if not _HEX.fullmatch(expected):
        raise ValueError(f'expected SHA-256 {expected!r} is not 8-64 hex '
                         'digits')
    return expected


def verify_sha256(path: str, expected: str, what: str = '') -> str:
    """Raise :class:`ChecksumError` unless ``path``'s SHA-256 starts with
    ``expected`` (8-64 hex digits); the full digest."""
    expected, actual = _hex(expected), sha256_file(path)
    if not actual.startswith(expected):
        raise ChecksumError(
            f'checkpoint {path!r}{what}: SHA-256 is {actual}, but {expected} '
            'was expected; the file is corrupt, truncated or not the '
            'published one, and nothing was loaded')
    return actual


def offline_folder(offline_dir=None) -> Optional[str]:
    folder = offline_dir or os.environ.get(OFFLINE_ENV)
    return osp.expanduser(folder) if folder else None


def download(url: str, expected: Optional[str] = None) -> str:
    """The cached copy of ``url`` (downloaded if needed; see module doc)."""
    from mmengine.dist import barrier, get_dist_info
    from torch.hub import download_url_to_file, get_dir
    name = osp.basename(urlparse(url).path)
    if not name:
        raise ValueError(f'URL {url!r} names no file')
    key = hashlib.sha256(f'{url}\n{expected or ""}'.encode()).hexdigest()
    cached = osp.join(get_dir(), 'checkpoints', f'{key[:16]}-{name}')

    def fetch():
        if osp.isfile(cached) and expected and \
                not sha256_file(cached).startswith(expected):
            print_log(f'{cached} (cache of {url}) does not have the expected '
                      'SHA-256: fetching it again', logger='current',
                      level=30)
            os.remove(cached)
        if not osp.isfile(cached):
            os.makedirs(osp.dirname(cached), exist_ok=True)
            print_log(f'Downloading {url} to {cached}', logger='current')
            try:  # writes a temporary file, checks the hash, then renames
                download_url_to_file(url, cached, expected,
                                     progress=os.isatty(2))
            except RuntimeError as err:
                raise ChecksumError(f'{url}: {err}; nothing was cached or '
                                    'loaded') from err

    rank, world = get_dist_info()
    if rank == 0:
        fetch()
    if world > 1:
        barrier()
        if rank > 0:
            fetch()  # a node without the shared cache
    return cached


def local_file(source: str, check_hash: bool = False,
               sha256: Optional[str] = None,
               offline_dir: Optional[str] = None) -> Tuple[str, bool]:
    """``(local path, SHA-256 verified)`` for a path, URL or open_clip
    name (see the module doc)."""
    source = str(source)
    if source.startswith(SCHEME):
        return resolve_pretrained(source, sha256, offline_dir), True
    expected = _hex(sha256) if sha256 is not None else None
    if expected is None and check_hash:
        expected = url_hash(source) if is_url(source) else name_hash(source)
        if expected is None:
            raise ChecksumError(
                f'cannot verify {source!r}: it names no SHA-256 (no '
                '"-<sha256 prefix>" suffix, no .../<sha256>/ folder); pass '
                'sha256=<hex digest> or do not ask for a hash check')
    folder = offline_folder(offline_dir)
    if is_url(source) and folder:
        path = osp.join(folder, osp.basename(urlparse(source).path))
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'offline mode: {source} maps to {path!r}, which does not '
                f'exist (folder {folder!r} from '
                f'{"offline_dir" if offline_dir else "$" + OFFLINE_ENV}); '
                f'copy the file there or unset {OFFLINE_ENV} to download it')
    elif is_url(source):
        path = download(source, expected)
    else:
        path = osp.expanduser(source)
        if not osp.exists(path):
            raise FileNotFoundError(f'checkpoint {source!r} does not exist')
    if expected is not None and not (is_url(source) and not folder):
        verify_sha256(path, expected)  # (downloads are checked by download)
    return path, expected is not None


def pretrained_sources(name: str, sha256: Optional[str] = None) -> list:
    """``[(kind, where, expected sha256, offline name, fetch), ...]`` of an
    ``openclip:<arch>/<tag>`` name in the order they are tried."""
    import open_clip
    arch, _, tag = name[len(SCHEME):].partition('/')
    if not arch or not tag or '/' in tag:
        raise ValueError(f'{name!r}: expected {SCHEME}<architecture>/<tag>, '
                         f'e.g. {SCHEME}ViT-B-16/openai')
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        tags = sorted(open_clip.list_pretrained_tags_by_model(arch))
        raise KeyError(f'{name!r} is not in open_clip\'s pretrained registry '
                       f'(open_clip {open_clip.__version__}); ' +
                       (f'its tags: {", ".join(tags)}' if tags else
                        'open_clip has no weights for that architecture'))
    from open_clip.pretrained import download_pretrained_from_hf as hub
    pin = PINNED_HF_FILES.get((arch, tag))
    sources = []
    if pin or cfg.get('hf_hub'):
        repo, file = (pin['repo'], pin['filename']) if pin else \
            osp.split(cfg['hf_hub'])
        rev = pin['revision'] if pin else None
        sources.append(('hf', f'{repo}@{rev}/{file}' if rev else
                        f'{repo}/{file}', sha256 or (pin or {}).get('sha256'),
                        osp.join(repo, file or 'open_clip_model.safetensors'),
                        lambda: hub(repo, filename=file or None,
                                    revision=rev)))
    if cfg.get('url'):
        url = cfg['url']
        sources.append(('url', url, sha256 or url_hash(url),
                        osp.basename(urlparse(url).path),
                        lambda: download(url)))
    missing = [where for _, where, expected, _, _ in sources if not expected]
    if missing or not sources:
        raise ValueError(
            f'{name!r}: sdtr has no SHA-256 for {", ".join(missing) or name}'
            ', so the file cannot be verified. Pass pretrained=dict('
            "checkpoint=..., sha256='<64 hex>') (the hub shows it on the "
            "file's page), or download the file and give its path.")
    return sources


def resolve_pretrained(name: str, sha256: Optional[str] = None,
                       offline_dir: Optional[str] = None) -> str:
    """A verified local file for ``openclip:<arch>/<tag>``: the offline
    folder, else each source in turn; a hash mismatch is never skipped."""
    sources, errors = pretrained_sources(name, sha256), []
    folder = offline_folder(offline_dir)
    for kind, where, expected, offline_name, fetch in sources:
        if folder:
            path = osp.join(folder, offline_name)
            if not osp.isfile(path):
                continue
        else:
            try:
                path = fetch()
            except Exception as err:  # noqa: BLE001 - listed if all fail
                print_log(f'{name}: could not get {where} ({err!r}); trying '
                          'the next source', logger='current', level=30)
                errors.append(f'{kind} {where}: {err!r}')
                continue
        try:
            verify_sha256(path, expected, f' from {kind} source {where}')
        except ChecksumError:
            if kind == 'url' and not folder:
                os.remove(path)  # our cache copy: fetched again next time
            raise
        print_log(f'{name}: using {path} (from {where})', logger='current')
        return path
    if folder:
        raise FileNotFoundError(
            f'offline mode ({folder!r}): {name} needs one of ' + ', '.join(
                repr(osp.join(folder, s[3])) for s in sources) +
            f'; copy the file there, or unset {OFFLINE_ENV} to download it')
    raise RuntimeError(
        f'{name}: no source could serve the weights:\n  ' +
        '\n  '.join(errors) +
        f'\nDownload the file into a folder and set {OFFLINE_ENV} to it '
        '(docs/pretrained_weights.md#offline).')
