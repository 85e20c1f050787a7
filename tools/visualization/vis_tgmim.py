"""Show TG-MIM reconstructions (VFE-TPS §3.2.1) and compute avgDist (§4.5.3).

For a few gallery images of the config's test (or val) split, each paired
with its first caption, the model masks the image, encodes it and the MIM
head reconstructs it.  One PNG, one row per image, columns: the input, the
input as the encoder sees it with the mask (masked patches hatched
red), the raw reconstruction ("recon"), and the input with the masked
patches replaced by the reconstruction ("mixed"); the whole caption sits
above its row, wrapped to the row's width.  It also prints, over a
batch of images:

* ``avgDist`` as VFE-TPS §4.5.3 describes it: the mean absolute difference
  between each predicted masked pixel and the nearest visible pixel of the
  input (mean over channels, in normalised pixel units);
* ``avgDist_geometric``: SimMIM's original AvgDist, the mean Euclidean
  distance (pixels) of masked pixels to the nearest visible pixel, a
  property of the mask only;
* ``l1_masked``: the TG-MIM loss (eq. 3) of that batch.

Nearest visible pixels come from OpenCV's L2 distance transform (5x5 mask,
approximate to a fraction of a pixel)::

    python tools/visualization/vis_tgmim.py \\
        configs/vfe_tps/vfe-tps_tiny_1xb32_synthetic-person.py \\
        work_dirs/vfe-tps_tiny_1xb32_synthetic-person/epoch_12.pth \\
        --out tgmim.png --num-images 4

Without a checkpoint the model keeps its initial weights (a warning says so).
"""
import argparse
import json
import warnings

import cv2
import numpy as np
import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='VFE-TPS config (with a mim_head)')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='trained checkpoint (optional)')
    p.add_argument('--out', required=True, help='output PNG')
    p.add_argument('--split', choices=['test', 'val'], default='test')
    p.add_argument('--num-images', type=int, default=4,
                   help='rows of the picture')
    p.add_argument('--batch', type=int, default=32,
                   help='images used for avgDist')
    p.add_argument('--seed', type=int, default=0, help='mask seed')
    p.add_argument('--json', help='also write the numbers here')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='key=value overrides of the config')
    return p.parse_args(argv)


def nearest_visible(mask: np.ndarray):
    """For a ``[H, W]`` mask (True = masked): ``(dist, ys, xs)``, the
    distance of every pixel to the nearest visible pixel and that pixel's
    coordinates."""
    src = mask.astype(np.uint8)
    if src.all():
        raise ValueError('every pixel is masked: no visible pixel')
    dist, labels = cv2.distanceTransformWithLabels(
        src, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    vy, vx = np.nonzero(src == 0)
    lut_y = np.zeros(labels.max() + 1, dtype=np.int64)
    lut_x = np.zeros(labels.max() + 1, dtype=np.int64)
    lut_y[labels[vy, vx]] = vy
    lut_x[labels[vy, vx]] = vx
    return dist, lut_y[labels], lut_x[labels]


def avg_dist(pred: torch.Tensor, target: torch.Tensor,
             pixel_mask: torch.Tensor) -> dict:
    """avgDist (§4.5.3), SimMIM's geometric AvgDist and the masked L1.

    Args:
        pred, target (Tensor): ``[B, 3, H, W]`` (normalised pixels).
        pixel_mask (Tensor): ``[B, 1, H, W]``, 1 on masked pixels.
    """
    pred = pred.detach().float().cpu()
    target = target.detach().float().cpu()
    masks = pixel_mask.detach().cpu()[:, 0].bool().numpy()
    diffs, geo = [], []
    for b in range(pred.shape[0]):
        dist, ys, xs = nearest_visible(masks[b])
        my, mx = np.nonzero(masks[b])
        nearest = target[b][:, ys[my, mx], xs[my, mx]]
        diffs.append((pred[b][:, my, mx] - nearest).abs().mean(0))
        geo.append(torch.from_numpy(dist[my, mx]))
    m = pixel_mask.detach().cpu().float()
    l1 = ((pred - target).abs() * m).sum() / (m.sum() * pred.shape[1])
    return dict(avg_dist=float(torch.cat(diffs).mean()),
                avg_dist_geometric=float(torch.cat(geo).float().mean()),
                l1_masked=float(l1))


def to_bgr_uint8(x: torch.Tensor, mean, std) -> np.ndarray:
    """Normalised RGB ``[3, H, W]`` -> BGR uint8 ``[H, W, 3]``."""
    img = x.detach().float().cpu() * std.view(3, 1, 1) + mean.view(3, 1, 1)
    img = img.clamp(0, 255).round().byte().permute(1, 2, 0).numpy()
    return np.ascontiguousarray(img[..., ::-1])


CAPTION_FONT = (cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1)  # face, scale, thickness
CAPTION_LINE = 13  # pixels per caption line


def wrap_caption(text: str, width: int, font=CAPTION_FONT) -> list:
    """Split ``text`` into lines no wider than ``width`` pixels when drawn
    with ``font``: words are kept whole where they fit, a word wider than
    the panel is broken between characters.  Nothing is dropped."""
    face, scale, thick = font

    def fits(s):
        return cv2.getTextSize(s, face, scale, thick)[0][0] <= width

    lines, line = [], ''
    for word in text.split():
        candidate = f'{line} {word}' if line else word
        if fits(candidate):
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ''
        for ch in word:  # a word alone may still be too wide
            if line and not fits(line + ch):
                lines.append(line)
                line = ''
            line += ch
    if line:
        lines.append(line)
    return lines


def caption_bar(text: str, width: int) -> np.ndarray:
    """A white bar holding ``text`` wrapped to ``width`` pixels."""
    face, scale, thick = CAPTION_FONT
    lines = wrap_caption(text, width - 4)
    bar = np.full((CAPTION_LINE * max(1, len(lines)) + 5, width, 3), 255,
                  np.uint8)
    for k, line in enumerate(lines):
        cv2.putText(bar, line, (2, CAPTION_LINE * (k + 1)), face, scale,
                    (0, 0, 0), thick)
    return bar


def render(images, masked, preds, pixel_masks, mean, std,
           captions=None) -> np.ndarray:
    """Rows: input | masked input | reconstruction | input + prediction."""
    H, W = images.shape[-2:]
    scale = max(1, int(np.ceil(192 / H)))
    rows = []
    for i in range(images.shape[0]):
        m = pixel_masks[i, 0].bool()
        comp = torch.where(m, preds[i], images[i])
        tiles = [to_bgr_uint8(t, mean, std)
                 for t in (images[i], masked[i], preds[i], comp)]
        hatch = tiles[1].copy()
        mm = m.numpy()
        stripes = ((np.add.outer(np.arange(H), np.arange(W)) // 2) % 2) == 0
        hatch[mm & stripes] = (0, 0, 255)
        tiles[1] = hatch
        tiles = [cv2.resize(t, (W * scale, H * scale),
                            interpolation=cv2.INTER_NEAREST) for t in tiles]
        gap = np.full((H * scale, 4, 3), 255, np.uint8)
        row = np.concatenate(sum([[t, gap] for t in tiles], [])[:-1], 1)
        if captions:  # the whole caption, wrapped to the row's width
            row = np.concatenate([caption_bar(captions[i], row.shape[1]),
                                  row], 0)
        rows.append(row)
        rows.append(np.full((4, row.shape[1], 3), 255, np.uint8))
    header = np.full((20, rows[0].shape[1], 3), 255, np.uint8)
    tile_w = W * scale + 4
    for j, name in enumerate(('input', 'masked', 'recon', 'mixed')):
        cv2.putText(header, name, (j * tile_w + 2, 14),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return np.concatenate([header] + rows[:-1], 0)


def build(config, checkpoint=None, cfg_options=()):
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    import sdtr.datasets  # noqa: F401
    import sdtr.models  # noqa: F401
    from sdtr.checkpoint import load_weights
    from sdtr.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'sdtr'))
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *cfg_options]).o)
    model_cfg = cfg.model.to_dict()
    model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    if model_cfg['type'] != 'VFETPSRetriever' or model.mim_head is None:
        raise ValueError(f'{config}: the model has no MIM head '
                         '(model.mim_head is None or not a VFETPSRetriever)')
    if checkpoint:
        load_weights(model, checkpoint)
    else:
        warnings.warn('no checkpoint given: showing an untrained model')
    return cfg, model.eval()


def main(argv=None):
    args = parse_args(argv)
    from sdtr.registry import DATASETS
    cfg, model = build(args.config, args.checkpoint, args.cfg_options)
    loader = cfg.get(f'{args.split}_dataloader')
    if not loader:
        raise KeyError(f'{args.config} has no {args.split}_dataloader')
    dataset = DATASETS.build(loader['dataset'])
    n = min(len(dataset), max(args.batch, args.num_images))
    items = [dataset[i] for i in range(n)]
    captions = []
    for it in items:
        texts = it['data_samples'].get('texts') or [
            it['data_samples'].get('text')]
        captions.append(texts[0])
    data = model.data_preprocessor(
        dict(inputs=[it['inputs'] for it in items]), False)
    images = data['inputs']
    g = torch.Generator().manual_seed(args.seed)
    P = model._patch_size
    mask = model.mask_generator.generate(len(items), model._image_size, P,
                                         generator=g)
    with torch.no_grad():
        text = model.encode_text(captions)
        rec = model.reconstruct(images, text, mask)
    stats = avg_dist(rec['pred'], images, rec['pixel_mask'])
    stats.update(num_images=n, mask_ratio=model.mask_generator.mask_ratio,
                 mask_mode=model.mask_generator.mode,
                 text_guided=bool(getattr(model.mim_head, 'text_guided',
                                          False)))
    pre = model.data_preprocessor
    mean = pre.mean.view(3).cpu()
    std = pre.std.view(3).cpu()
    k = args.num_images
    picture = render(images[:k], rec['masked_images'][:k], rec['pred'][:k],
                     rec['pixel_mask'][:k], mean, std, captions[:k])
    if not cv2.imwrite(args.out, picture):
        raise OSError(f'could not write {args.out}')
    print(json.dumps(stats, indent=1))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(stats, f, indent=1)
    print(f'saved {args.out}')
    return stats


if __name__ == '__main__':
    main()
