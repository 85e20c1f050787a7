"""Search a gallery with a caption (text->image) or an image (image->text).

Prints the ranked results and writes them as a PNG grid (query on the left,
correct results framed green and wrong ones red when ``--gt`` is given).

Examples::

    # caption -> images of a folder (features cached for the next query)
    python tools/search.py --config CONFIG --checkpoint CKPT \\
        --gallery data/images --cache gallery.safetensors \\
        --query "many planes are parked next to a terminal" --topk 10 \\
        --out result.png --gt airport_12.png
    # image -> captions (one caption per line, or a text gallery cache)
    python tools/search.py --config CONFIG --checkpoint CKPT \\
        --gallery captions.txt --query data/images/airport_12.png

``--config`` may also be a model-zoo name (see ``sdtr.apis.list_models``).
"""
import argparse
import os.path as osp
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', required=True,
                        help='config file or model-zoo name')
    parser.add_argument('--checkpoint', help='sdtr checkpoint (path or URL)')
    parser.add_argument('--gallery', required=True,
                        help='image folder or image gallery .safetensors '
                        '(caption query); caption .txt or text gallery '
                        '.safetensors (image query)')
    parser.add_argument('--query', required=True,
                        help='a caption, or the path of an image')
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--out', help='PNG to write')
    parser.add_argument('--cache', help='.safetensors file to store/reuse '
                        'the gallery features')
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


def main(argv=None):
    args = parse_args(argv)
    from sdtr.apis import RetrievalInferencer
    if not args.checkpoint:
        print('warning: no --checkpoint given, the model has the weights it '
              'is built with (random for most configs)')
    inferencer = RetrievalInferencer(
        args.config, checkpoint=args.checkpoint, device=args.device,
        batch_size=args.batch_size)
    image_query = RetrievalInferencer._is_image_query(args.query)
    if image_query:
        inferencer.build_text_gallery(args.gallery, cache=args.cache)
    else:
        inferencer.build_gallery(args.gallery, cache=args.cache)
    results = inferencer.search(args.query, topk=args.topk)
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


if __name__ == '__main__':
    main()
    sys.exit(0)
