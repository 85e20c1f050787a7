"""Silhouette score of the global visual features by identity (VFE-TPS
Fig. 7).

VFE-TPS §4.5.4 compares how well the image encoder separates identities
after training with IS-GVFC, an ID loss or a triplet loss by the silhouette
coefficient (Rousseeuw 1987; the paper cites Bagirov et al. 2023) of the
global visual features: for image :math:`i` with identity :math:`c`,

.. math::

    a_i = \\frac{1}{|c| - 1} \\sum_{j \\in c, j \\ne i} d(f_i, f_j), \\qquad
    b_i = \\min_{c' \\ne c} \\frac{1}{|c'|} \\sum_{j \\in c'} d(f_i, f_j),
    \\qquad s_i = \\frac{b_i - a_i}{\\max(a_i, b_i)}

and the score is the mean of :math:`s_i` (:math:`s_i = 0` for an identity
with one image).  This tool embeds the images of a split with a trained
model (``RetrievalInferencer``, the unit global image features retrieval
uses) and computes the score with scikit-learn's ``silhouette_score``, by
default with the cosine distance (the features are compared by cosine
similarity at retrieval).  The configs of the Fig. 7 rows:
``configs/vfe_tps/vfe-tps_vit-b16_1xb100_cuhkpedes.py`` (IS-GVFC),
``ablations/vfe-tps-idloss_*`` (ID loss), ``ablations/vfe-tps-triplet_*``
(triplet), ``ablations/vfe-tps-tgmim_*`` (no calibration).  Needs
scikit-learn (``pip install scikit-learn``).

Example::

    python tools/analysis_tools/silhouette_score.py \\
        configs/vfe_tps/vfe-tps_vit-b16_1xb100_cuhkpedes.py CHECKPOINT \\
        --split test --out silhouette.json
"""
import argparse
import json
import sys

import numpy as np


def require_sklearn():
    try:
        from sklearn.metrics import silhouette_score
    except ImportError as err:
        raise ImportError('silhouette_score.py needs scikit-learn: pip '
                          'install scikit-learn') from err
    return silhouette_score


def silhouette(features: np.ndarray, identities: np.ndarray,
               metric: str = 'cosine') -> float:
    """Mean silhouette coefficient of ``features`` grouped by
    ``identities`` (at least two identities, fewer than the images)."""
    identities = np.asarray(identities)
    n_ids = len(np.unique(identities))
    if not 2 <= n_ids < len(identities):
        raise ValueError(f'the silhouette needs 2 <= identities < images, '
                         f'got {n_ids} identities over {len(identities)} '
                         'images')
    return float(require_sklearn()(features, identities, metric=metric))


def collect(dataset, max_images=None):
    """Image paths and identities of a test-mode dataset (its first
    ``max_images`` images)."""
    n = len(dataset) if not max_images else min(len(dataset), max_images)
    paths, ids = [], []
    for i in range(n):
        info = dataset.get_data_info(i)
        if 'pid' not in info:
            raise KeyError(f'{type(dataset).__name__} item {i} has no '
                           '"pid": the silhouette groups images by identity')
        paths.append(info['img_path'])
        ids.append(int(info['pid']))
    return paths, np.array(ids)


def main(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='sdtr checkpoint '
                        '(omit for the config\'s initial weights)')
    parser.add_argument('--split', default='test', choices=['test', 'val'])
    parser.add_argument('--max-images', type=int,
                        help='only the first N images of the split')
    parser.add_argument('--metric', default='cosine',
                        choices=['cosine', 'euclidean'])
    parser.add_argument('--out', help='write the result as JSON here')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    require_sklearn()
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from sdtr.search import RetrievalInferencer
    from sdtr.registry import DATASETS
    from sdtr.utils import register_all_modules

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules(init_default_scope=False)
    loader = cfg.get(f'{args.split}_dataloader')
    if not loader:
        parser.error(f'{args.config} has no {args.split}_dataloader')
    with DefaultScope.overwrite_default_scope('sdtr'):
        dataset = DATASETS.build(loader['dataset'])
    paths, ids = collect(dataset, args.max_images)
    inferencer = RetrievalInferencer(cfg, checkpoint=args.checkpoint,
                                     device=args.device)
    feats = inferencer.encode_image(paths).numpy()
    score = silhouette(feats, ids, args.metric)
    result = dict(silhouette=round(score, 4), metric=args.metric,
                  images=len(paths), identities=int(len(np.unique(ids))),
                  split=args.split, config=args.config,
                  checkpoint=args.checkpoint)
    print(f'silhouette ({args.metric}) of {len(paths)} {args.split} images '
          f'by {result["identities"]} identities: {score:.4f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
    sys.exit(0)
