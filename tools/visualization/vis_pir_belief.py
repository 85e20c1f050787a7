"""Draw PIR-ITR's belief over the Swin token grid for one image (PNG).

For an image, the model computes the belief of every visual token in the
scene prior (``softmax_j(f_j . g)``, docs/methods/pir.md#3-hard-belief): the
average-pooled token plus the h x w Swin grid (7 x 7 for Swin-T at 224 px).
The picture shows the image, the belief of the grid tokens as a heat map
over the image, and which tokens the hard belief keeps (the top
``filter_size``; dropped cells are hatched and greyed), with the kept rank of
every kept cell::

    python tools/visualization/vis_pir_belief.py \
        configs/pir_itr/pir-itr_swin-t-bert_2xb128_rsitmd-pir.py \
        work_dirs/x/best.pth \
        --img data/rsitmd/images/airport_1.tif --out belief.png

Without a checkpoint the model keeps its initial weights (a warning says so).
"""
import argparse
import os
import os.path as osp
import sys
import warnings

import numpy as np
import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='PIR-ITR config')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='trained checkpoint (optional)')
    p.add_argument('--img', required=True, help='image file')
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='key=value overrides of the config')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def compute_belief(model, image: np.ndarray, pipeline) -> dict:
    """Belief of every token, kept indices and the grid size for ``image``
    (BGR uint8 HxWx3) run through the config's test ``pipeline``."""
    from mmengine.dataset import Compose
    if getattr(model, 'belief', None) is None:
        raise ValueError('the model has no belief strategy (an ablation '
                         'without the instruction branch?)')
    pipe = Compose([
        t for t in pipeline
        if t['type'] not in ('LoadImage', 'PreCaption')
        and 'Pack' not in t['type']
    ])
    img = pipe(dict(img=image, img_shape=image.shape[:2],
                    ori_shape=image.shape[:2]))['img']
    tensor = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[tensor]), False)
    model.eval()
    with torch.no_grad():
        out = model.encode_image(data['inputs'])
    belief = out['belief'][0].cpu()
    n = belief.numel() - 1
    grid = getattr(model.image_encoder, 'grid_size', None)
    if grid is None or grid[0] * grid[1] != n:
        side = int(round(n**0.5))
        if side * side != n:
            raise ValueError(f'{n} grid tokens do not form a square grid')
        grid = (side, side)
    kept = out.get('kept_indices')
    kept = kept[0].cpu().tolist() if kept is not None else list(
        range(n + 1))
    return dict(belief=belief, kept=kept, grid=tuple(grid),
                input=data['inputs'][0].cpu())


def draw(image_rgb: np.ndarray, result: dict, out: str, title: str = ''):
    """Write the PNG: the image, the grid belief and the kept cells."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    h, w = result['grid']
    belief = result['belief']
    grid_belief = belief[1:].view(h, w).numpy()
    rank = {idx: r for r, idx in enumerate(result['kept'])}
    H, W = image_rgb.shape[:2]
    ch, cw = H / h, W / w
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    axes[0].imshow(image_rgb)
    axes[0].set_title('image')
    axes[1].imshow(image_rgb)
    im = axes[1].imshow(grid_belief, cmap='inferno', alpha=0.6,
                        extent=(0, W, H, 0), interpolation='nearest')
    for r in range(h):
        for c in range(w):
            tok = 1 + r * w + c
            if tok in rank:
                axes[1].text((c + 0.5) * cw, (r + 0.5) * ch, str(rank[tok]),
                             color='white', ha='center', va='center',
                             fontsize=max(5, int(60 / max(h, w))))
            else:
                axes[1].add_patch(Rectangle(
                    (c * cw, r * ch), cw, ch, facecolor='grey', alpha=0.7,
                    hatch='///', edgecolor='black'))
    pooled = 'kept (rank %d)' % rank[0] if 0 in rank else 'dropped'
    axes[1].set_title(f'belief over the {h}x{w} grid; kept '
                      f'{len(rank)}/{h * w + 1} tokens\n'
                      f'(avg-pooled token: belief {float(belief[0]):.3f}, '
                      f'{pooled}; numbers = kept rank)')
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100, bbox_inches='tight')
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config, DictAction  # noqa: F401

    from sdtr.checkpoint import load_weights
    from sdtr.datasets.utils import read_image
    from sdtr.registry import MODELS
    from sdtr.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        opts = {}
        for item in args.cfg_options:
            key, _, value = item.partition('=')
            try:
                import ast
                opts[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                opts[key] = value
        cfg.merge_from_dict(opts)
    model = MODELS.build(cfg.model).to(args.device)
    if args.checkpoint:
        if not osp.isfile(args.checkpoint):
            print(f'error: checkpoint {args.checkpoint} not found',
                  file=sys.stderr)
            return 1
        load_weights(model, args.checkpoint)
    else:
        warnings.warn('no checkpoint given: drawing the belief of an '
                      'untrained model')
        model.init_weights()
    image = read_image(args.img)
    pipeline = cfg.test_dataloader.dataset.pipeline
    result = compute_belief(model, image, pipeline)
    shown = result['input'].permute(1, 2, 0).numpy()
    shown = (shown - shown.min()) / max(float(np.ptp(shown)), 1e-6)
    draw(shown, result, args.out, title=osp.basename(args.img))
    print(f'{args.out}: kept {len(result["kept"])} of '
          f'{result["belief"].numel()} tokens')
    return 0


if __name__ == '__main__':
    sys.exit(main())
