"""Draw EKLSR importance factors of one image-caption pair (paper Fig. 3).

The picture holds the image with a heat map of the patch importance factors
:math:`s_i^v = 1 - \\cos(f_{cls}^v, f_i^v)` (EKLSR eq. 1) and a bar per
word of the caption with :math:`s_i^t = 1 - \\cos(f_{eot}^t, f_i^t)`
(eq. 2; BPE pieces of one word are drawn as separate bars).

Examples::

    # a trained model
    python tools/visualization/vis_eklsr_importance.py \\
        configs/eklsr/eklsr_vit-b16_1xb128_rsitmd-galr.py \\
        --checkpoint work_dirs/eklsr_vit-b16_1xb128_rsitmd-galr/best.pth \\
        --image data/rsitmd/images/airport_1.tif \\
        --text "many planes are parked near the terminal" --out fig3.png
    # a randomly initialised tiny model on the first synthetic test image
    python tools/visualization/vis_eklsr_importance.py \\
        configs/eklsr/eklsr_tiny_1xb32_synthetic-rs.py --out fig3.png

Without ``--checkpoint`` the model is randomly initialised (its CLIP
``pretrained`` weights are not downloaded unless ``--pretrained`` is set).
Without ``--image`` the first item of the config's test set is used (with
its first caption unless ``--text`` is given).
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot EKLSR importance factors (Fig. 3)')
    parser.add_argument('config', help='an EKLSR config')
    parser.add_argument('--checkpoint', help='trained weights (.pth)')
    parser.add_argument('--pretrained', action='store_true',
                        help='load the config\'s pretrained CLIP weights '
                        '(may download) when no --checkpoint is given')
    parser.add_argument('--image', help='image file')
    parser.add_argument('--text', help='caption')
    parser.add_argument('--out', default='eklsr_importance.png',
                        help='output PNG')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--alpha', type=float, default=0.5,
                        help='heat-map opacity')
    return parser.parse_args(argv)


def _image_size(model):
    size = getattr(model.image_encoder, 'image_size', None)
    if size is None:
        raise ValueError('the image tower does not expose image_size')
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def _default_pair(cfg):
    from sdtr.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    info = dataset.get_data_info(0)
    texts = info.get('texts') or [info.get('text')]
    return info['img_path'], texts[0]


def build_model(args):
    import torch
    from mmengine.config import Config

    from sdtr.checkpoint import load_weights
    from sdtr.registry import MODELS
    from sdtr.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if not args.pretrained:
        cfg.model.pretrained = None
        if cfg.model.get('target_generator'):
            cfg.model.target_generator.pretrained = None
    model = MODELS.build(cfg.model)
    if not hasattr(model, 'importance_maps'):
        raise TypeError(f'{args.config}: {type(model).__name__} has no '
                        'importance factors (use an EKLSR config)')
    if args.checkpoint:
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'checkpoint {args.checkpoint} not found')
        load_weights(model, args.checkpoint)
    elif args.pretrained:
        model.init_weights()
    model.to(torch.device(args.device)).eval()
    return cfg, model


def compute(model, image_path, text):
    import cv2
    import torch
    if not osp.isfile(image_path):
        raise FileNotFoundError(f'image {image_path} not found')
    bgr = cv2.imread(image_path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f'could not decode image {image_path}')
    h, w = _image_size(model)
    bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_CUBIC)
    tensor = torch.from_numpy(np.ascontiguousarray(bgr.transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[tensor]), False)
    maps = model.importance_maps(data['inputs'], [text])
    gh, gw = maps['grid_size']
    image_scores = maps['image'][0].reshape(gh, gw).cpu().numpy()
    valid = maps['text_valid'][0].cpu()
    ids = maps['input_ids'][0].cpu()[valid]
    words = [model.tokenizer.decode([int(i)]) or '?' for i in ids]
    word_scores = maps['text'][0].cpu()[valid].numpy()
    return dict(rgb=bgr[:, :, ::-1], image_scores=image_scores,
                words=words, word_scores=word_scores)


def draw(result, out, text, alpha=0.5):
    import cv2
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rgb = result['rgb']
    h, w = rgb.shape[:2]
    heat = cv2.resize(result['image_scores'].astype(np.float32), (w, h),
                      interpolation=cv2.INTER_NEAREST)
    fig, axes = plt.subplots(
        1, 2, figsize=(12, 4.5), gridspec_kw=dict(width_ratios=[1, 1.6]))
    axes[0].imshow(rgb)
    im = axes[0].imshow(heat, cmap='jet', alpha=alpha)
    axes[0].set_title('image importance $s^v_i$ (eq. 1)')
    axes[0].axis('off')
    fig.colorbar(im, ax=axes[0], fraction=0.046, pad=0.04)
    x = np.arange(len(result['words']))
    axes[1].bar(x, result['word_scores'], color='tab:orange')
    axes[1].set_xticks(x)
    axes[1].set_xticklabels(result['words'], rotation=60, ha='right')
    axes[1].set_ylabel('$s^t_i$ (eq. 2)')
    axes[1].set_title(f'word importance: "{text}"', fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None):
    args = parse_args(argv)
    cfg, model = build_model(args)
    image, text = args.image, args.text
    if image is None:
        image, default_text = _default_pair(cfg)
        text = text or default_text
    if not text:
        raise ValueError('--text is required with --image')
    result = compute(model, image, text)
    draw(result, args.out, text, alpha=args.alpha)
    print(f'saved {args.out}: {len(result["words"])} words, '
          f'{result["image_scores"].shape} patch grid')
    return result


if __name__ == '__main__':
    main()
