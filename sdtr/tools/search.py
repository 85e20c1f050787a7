"""Search a gallery with a caption (text->image) or an image (image->text).

Prints the ranked results and writes them as a PNG grid (query on the left,
correct results framed green and wrong ones red when ``--gt`` is given).
``tools/search.py`` and ``sdtr search`` run :func:`main`.

Examples::

    # caption -> images of a folder (features cached for the next query)
    python tools/search.py --config CONFIG --checkpoint CKPT \\
        --gallery data/images --cache gallery.safetensors \\
        --query "many planes are parked next to a terminal" --topk 10 \\
        --out result.png --gt airport_12.png
    # image -> captions (one caption per line, or a text gallery cache)
    python tools/search.py --config CONFIG --checkpoint CKPT \\
        --gallery captions.txt --query data/images/airport_12.png
    # an index folder written by tools/build_gallery.py, its files read
    # (and checked) once before the query, 1 search thread
    python tools/search.py --config CONFIG --checkpoint CKPT \\
        --gallery gallery_idx --query "a caption" --nprobe 32 --warm \\
        --threads 1

``--config`` may also be a model-zoo name (see ``sdtr.apis.list_models``).
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__[__doc__.index('Examples::'):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', required=True,
                        help='config file or model-zoo name')
    parser.add_argument('--checkpoint', help='sdtr checkpoint (path or URL)')
    parser.add_argument('--gallery', required=True,
                        help='image folder, image gallery .safetensors or '
                        'image index folder (caption query); caption .txt, '
                        'text gallery .safetensors or text index folder '
                        '(image query)')
    parser.add_argument('--query', required=True,
                        help='a caption, or the path of an image')
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--out', help='PNG to write')
    parser.add_argument('--cache', help='.safetensors file (or index '
                        'folder) to store/reuse the gallery features; '
                        'rebuilt when the model or the items differ')
    parser.add_argument('--no-fingerprint-check', action='store_true',
                        help='use a gallery file/index built by another '
                        'model anyway (its rankings may be meaningless)')
    parser.add_argument('--nprobe', type=int, help='IVF-PQ index: cells '
                        'scanned per query')
    parser.add_argument('--ef-search', type=int, help='HNSW index: beam '
                        'width')
    parser.add_argument('--warm', action='store_true',
                        help='index folder: read and check every file once '
                        'before searching (fills the page cache: the first '
                        'query then runs at warm speed)')
    parser.add_argument('--threads', type=int,
                        help='index folder: search threads (default: '
                        '$SDTR_SEARCH_THREADS, else the free cores)')
    parser.add_argument('--gt', nargs='*',
                        help='ground truth: image file names/paths or '
                        'captions; marks the results')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=32)
    return parser.parse_args(argv)


def is_correct(item: str, gt) -> bool:
    """``item`` equals a ground-truth entry or ends with it as a path."""
    for g in gt:
        if item == g or item.replace('\\', '/').endswith(
                '/' + g.replace('\\', '/').lstrip('/')):
            return True
    return False


def check_out(path):
    """Create the folder of ``--out`` (or fail) before any encoding."""
    if not path:
        return
    folder = osp.dirname(osp.abspath(path))
    if not osp.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            raise SystemExit(f'--out {path}: cannot create the folder '
                             f'{folder!r} ({err})') from err
    if not os.access(folder, os.W_OK):
        raise SystemExit(f'--out {path}: the folder {folder!r} is not '
                         'writable')


def main(argv=None):
    args = parse_args(argv)
    check_out(args.out)
    from sdtr.search import RetrievalInferencer
    if not args.checkpoint:
        print('warning: no --checkpoint given, the model has the weights it '
              'is built with (random for most configs)')
    inferencer = RetrievalInferencer(
        args.config, checkpoint=args.checkpoint, device=args.device,
        batch_size=args.batch_size)
    image_query = RetrievalInferencer._is_image_query(args.query)
    build = inferencer.build_text_gallery if image_query else \
        inferencer.build_gallery
    gallery = build(args.gallery, cache=args.cache,
                    check_fingerprint=not args.no_fingerprint_check)
    if hasattr(gallery, 'verify'):  # an index folder
        if args.threads:
            gallery.threads = args.threads
        if args.warm:
            gallery.verify()
    tuning = {k: v for k, v in dict(nprobe=args.nprobe,
                                    ef_search=args.ef_search).items()
              if v is not None}
    results = inferencer.search(args.query, topk=args.topk, **tuning)
    matches = [is_correct(r['item'], args.gt) for r in results] \
        if args.gt else None
    kind = 'image -> text' if image_query else 'text -> image'
    print(f'query ({kind}): {args.query}')
    for j, res in enumerate(results):
        mark = '' if matches is None else ('  [correct]' if matches[j]
                                            else '  [wrong]')
        print(f'{res["rank"]:>4}  {res["score"]:.4f}  {res["item"]}{mark}')
    if args.out:
        from sdtr.visualization import draw_search_results
        draw_search_results(
            args.query, results, args.out, is_match=matches,
            query_kind='image' if image_query else 'text',
            title=f'{kind}, top-{len(results)}, '
            f'{osp.basename(str(args.config))}')
        print(f'wrote {args.out}')
    return results


if __name__ == '__main__':  # pragma: no cover
    main()
    sys.exit(0)
