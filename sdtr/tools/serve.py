"""Serve a search page and a JSON API for a model and its galleries.

``tools/serve.py`` and ``sdtr serve`` run :func:`main`; the app is
:func:`sdtr.serve.create_app` (FastAPI, run by uvicorn).  Needs the
``serve`` extra: ``pip install -c requirements/constraints.txt -e
".[serve]"``.

Examples::

    # text -> images of an index built by tools/build_gallery.py
    python tools/serve.py CONFIG CKPT --gallery gallery_idx
    # ... and image -> captions; captions and true matches from the split
    # the indexes were built from (tools/build_gallery.py --split test)
    python tools/serve.py CONFIG CKPT --gallery gallery_idx \\
        --captions captions_idx --split test --port 8080
    # reachable from other machines under a name (there is no login: put
    # it behind a proxy that has one, see docs/inference.md)
    python tools/serve.py CONFIG CKPT --gallery gallery_idx \\
        --host 0.0.0.0 --allowed-hosts search.example.org
    # then open http://127.0.0.1:8000, or
    curl 'http://127.0.0.1:8000/api/search/text?q=two+planes&topk=5'
    curl -F file=@query.png 'http://127.0.0.1:8000/api/search/image?topk=5'
"""
import argparse
import ipaddress
import sys

from sdtr.serve.app import LOCAL_HOSTS, MAX_PIXELS


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__[__doc__.index('Examples::'):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file or model-zoo name')
    p.add_argument('checkpoint', help='sdtr checkpoint (path or URL)')
    p.add_argument('--gallery', help='image gallery: index folder, '
                   '.safetensors gallery or image folder (encoded at start)')
    p.add_argument('--captions', help='caption gallery: index folder, '
                   '.safetensors gallery or a .txt file (one per line)')
    p.add_argument('--host', default='127.0.0.1',
                   help='address to bind (default 127.0.0.1: this machine '
                   'only)')
    p.add_argument('--port', type=int, default=8000)
    p.add_argument('--allowed-hosts', nargs='+', metavar='HOST',
                   help='Host names the server answers to, against DNS '
                   'rebinding (default: 127.0.0.1, localhost, [::1] and the '
                   '--host address; "*": any)')
    p.add_argument('--split', choices=['train', 'val', 'test'],
                   help="label results with the captions and true matches "
                   "of the config's <split>_dataloader dataset (for "
                   "galleries built with tools/build_gallery.py --split)")
    p.add_argument('--device', default='cpu')
    p.add_argument('--max-topk', type=int, default=100)
    p.add_argument('--max-upload-mb', type=float, default=10.0,
                   help='largest request body, refused while it streams in')
    p.add_argument('--max-pixels', type=int, default=MAX_PIXELS,
                   help='largest uploaded image (width x height, read from '
                   f'its header before decoding; default {MAX_PIXELS})')
    p.add_argument('--nprobe', type=int, help='IVF-PQ cells per query')
    p.add_argument('--ef-search', type=int, help='HNSW beam width')
    p.add_argument('--warm', action='store_true',
                   help='read and check every file of the index folders at '
                   'start (the first queries then run at warm speed)')
    p.add_argument('--threads', type=int, help='threads per index search '
                   '(default: $SDTR_SEARCH_THREADS, else the free cores)')
    p.add_argument('--no-fingerprint-check', action='store_true',
                   help='serve galleries built by another model anyway')
    args = p.parse_args(argv)
    if not args.gallery and not args.captions:
        p.error('give --gallery (text -> image search), --captions (image '
                '-> text search) or both')
    return args


def build_app(args):
    """The inferencer, its galleries and the app, from parsed arguments."""
    from sdtr.search import RetrievalInferencer
    from sdtr.serve import create_app
    from sdtr.serve.annotations import SplitAnnotations
    inferencer = RetrievalInferencer(args.config, checkpoint=args.checkpoint,
                                     device=args.device)
    check = not args.no_fingerprint_check
    images = texts = None
    if args.gallery:
        images = inferencer.build_gallery(args.gallery,
                                          check_fingerprint=check)
    if args.captions:
        texts = inferencer.build_text_gallery(args.captions,
                                              check_fingerprint=check)
    for gallery in (images, texts):
        if hasattr(gallery, 'verify'):  # an index folder
            gallery.threads = args.threads or gallery.threads
            if args.warm:
                gallery.verify()
    annotations = SplitAnnotations.from_config(inferencer.cfg, args.split) \
        if args.split else None
    tuning = {k: v for k, v in dict(nprobe=args.nprobe,
                                    ef_search=args.ef_search).items()
              if v is not None}
    return create_app(inferencer, images, texts, max_topk=args.max_topk,
                      max_upload_bytes=int(args.max_upload_mb * 2**20),
                      search_kwargs=tuning, annotations=annotations,
                      max_pixels=args.max_pixels,
                      allowed_hosts=allowed_hosts(args))


def allowed_hosts(args):
    """``--allowed-hosts``, else the local names and the bound address
    (unless it is a wildcard such as 0.0.0.0)."""
    if args.allowed_hosts:
        return args.allowed_hosts
    wildcard = args.host in ('0.0.0.0', '::', '')
    return list(LOCAL_HOSTS) + ([] if wildcard or args.host in LOCAL_HOSTS
                                else [args.host])


def main(argv=None):
    args = parse_args(argv)
    try:
        import uvicorn
    except ImportError:
        raise SystemExit('sdtr serve needs FastAPI and uvicorn: pip install '
                         '-c requirements/constraints.txt -e ".[serve]"')
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == 'localhost'
    if not loopback:
        print(f'warning: binding {args.host}: the app has no login; anyone '
              'who can reach this machine can query the model and see the '
              'gallery images (docs/inference.md: put it behind a proxy '
              'with authentication)')
    app = build_app(args)
    print(f'sdtr search on http://{args.host}:{args.port}  (Ctrl-C stops)',
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level='warning')
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
