"""t-SNE of the image and caption embeddings of a test split (PIR Fig. 1/8).

Images are drawn as circles and captions as crosses, coloured by scene label
(remote sensing: the filename prefix) or by identity (person search); a
caption takes the colour of its image.  Needs scikit-learn (optional
dependency: ``pip install scikit-learn``) and matplotlib.

Example::

    python tools/visualization/vis_tsne.py CONFIG CHECKPOINT \\
        --out tsne.png --max-images 300
"""
import argparse
import sys

import numpy as np


def require_tsne():
    try:
        from sklearn.manifold import TSNE
    except ImportError as err:
        raise ImportError(
            'vis_tsne.py needs scikit-learn for t-SNE: pip install '
            'scikit-learn') from err
    return TSNE


def collect(dataset, max_images):
    """Image paths, captions, their colour keys and caption->image map."""
    n = min(len(dataset), max_images) if max_images else len(dataset)
    paths, texts, img_keys, txt_keys = [], [], [], []
    for i in range(n):
        info = dataset.get_data_info(i)
        if 'texts' not in info:
            raise KeyError('vis_tsne needs a test-mode dataset (items with '
                           '"texts"); set test_mode=True')
        label = info.get('label', -1)
        key = label if label is not None and label >= 0 else info['pid']
        paths.append(info['img_path'])
        img_keys.append(key)
        texts += list(info['texts'])
        txt_keys += [key] * len(info['texts'])
    return paths, texts, np.array(img_keys), np.array(txt_keys)


def main(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='sdtr checkpoint '
                        '(omit for random weights)')
    parser.add_argument('--out', default='tsne.png')
    parser.add_argument('--split', default='test', choices=['test', 'val'])
    parser.add_argument('--max-images', type=int, default=500)
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--method', default='auto',
                        choices=['auto', 'exact', 'barnes_hut'],
                        help="t-SNE gradient: 'exact' (O(N^2), used by "
                        "'auto' up to 2000 points) or 'barnes_hut'")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    TSNE = require_tsne()
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from sdtr.search import RetrievalInferencer
    from sdtr.registry import DATASETS
    from sdtr.utils import register_all_modules

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('sdtr'):
        dataset = DATASETS.build(cfg[f'{args.split}_dataloader']['dataset'])
    paths, texts, img_keys, txt_keys = collect(dataset, args.max_images)
    inferencer = RetrievalInferencer(cfg, checkpoint=args.checkpoint,
                                     device=args.device)
    feats = np.concatenate([inferencer.encode_image(paths).numpy(),
                            inferencer.encode_text(texts).numpy()])
    perplexity = min(args.perplexity, (len(feats) - 1) / 3)
    method = args.method if args.method != 'auto' else (
        'exact' if len(feats) <= 2000 else 'barnes_hut')
    emb = TSNE(n_components=2, perplexity=perplexity, init='pca',
               method=method, random_state=args.seed).fit_transform(feats)
    n_img = len(paths)
    keys = sorted(set(img_keys.tolist()))
    cmap = plt.get_cmap('tab20' if len(keys) > 10 else 'tab10')
    colour = {k: cmap(i % cmap.N) for i, k in enumerate(keys)}
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(emb[:n_img, 0], emb[:n_img, 1], s=22, marker='o',
               c=[colour[k] for k in img_keys], label='image')
    ax.scatter(emb[n_img:, 0], emb[n_img:, 1], s=14, marker='x',
               c=[colour[k] for k in txt_keys], label='caption')
    names = getattr(dataset, 'metainfo', {}).get('scene_classes') or []
    if len(keys) <= 20:
        for k in keys:
            name = names[k] if 0 <= k < len(names) else str(k)
            ax.scatter([], [], c=[colour[k]], marker='s', label=str(name))
    ax.legend(loc='best', fontsize=7, ncol=2)
    ax.set_title(f't-SNE of {n_img} images and {len(texts)} captions '
                 f'({args.split} split)')
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f'wrote {args.out} ({n_img} images, {len(texts)} captions, '
          f'{len(keys)} colours)')
    return emb


if __name__ == '__main__':
    main()
    sys.exit(0)
