"""Convert an open_clip-format CLIP checkpoint into an sdtr checkpoint.

Inputs (path or URL; the format is detected):

* OpenAI ``ViT-B-16.pt`` / ``RN50.pt`` (TorchScript archive) or its state
  dict;
* open_clip / RemoteCLIP state dicts (``.pt``, ``.bin``, ``.safetensors``,
  optionally wrapped in ``{'state_dict': ...}`` with ``module.`` prefixes);
* GeoRSCLIP releases, whose keys start with ``image_backbone.`` /
  ``text_backbone.`` (renamed to ``visual.`` / text-tower keys, as GeoRSCLIP's
  own ``convert_weight.py`` does).

The CLIP image and text towers of the config's model (``CLIPVisionTransformer``
/ ``CLIPModifiedResNet`` and ``CLIPTextTransformer``, found anywhere in the
model) are loaded strictly through the loaders of
:mod:`sdtr.models.utils.clip_checkpoint` (position tables resized as the
config asks), the checkpoint's ``logit_scale`` goes to the learnable
temperatures, and the whole model state dict is saved as
``{'state_dict': ..., 'meta': ...}``, loadable by ``tools/test.py``,
``load_from=`` and :func:`sdtr.apis.get_model`.  Key coverage is printed; a
checkpoint key that fits no tower, a missing tower key or a shape mismatch is
an error (``--ignore-keys`` excludes keys on purpose).

Example::

    python tools/model_converters/openclip_to_sdtr.py \\
        configs/clip/clip_vit-b16_1xb128_rsitmd-galr.py RemoteCLIP-ViT-B-32.pt \\
        remoteclip_rsitmd_init.pth
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict

import torch


def detect_format(state_dict) -> str:
    keys = list(state_dict)
    if any(k.startswith(('image_backbone.', 'text_backbone.'))
           for k in keys):
        return 'georsclip'
    return 'openclip'


def to_openclip_keys(state_dict, fmt: str):
    """Rename a release's keys to open_clip's ``CLIP`` names."""
    if fmt == 'openclip':
        return state_dict
    if fmt != 'georsclip':
        raise ValueError(f'unknown checkpoint format {fmt!r}')
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('image_backbone.'):
            key = 'visual.' + key[len('image_backbone.'):]
        elif key.startswith('text_backbone.'):
            key = key[len('text_backbone.'):]
        out[key] = value
    return out


def find_towers(model):
    """The (name, module) of the CLIP image tower and text tower."""
    from sdtr.models.backbones.base_clip_tower import CLIPTowerMixin
    towers = {'visual': [], 'text': []}
    for name, module in model.named_modules():
        if isinstance(module, CLIPTowerMixin):
            towers[module.clip_tower].append((name, module))
    for kind, found in towers.items():
        if len(found) != 1:
            raise ValueError(
                f'the model has {len(found)} CLIP {kind} towers '
                f'({[n for n, _ in found]}); this converter fills exactly one '
                'image and one text tower')
    return towers['visual'][0], towers['text'][0]


def convert(config, checkpoint, out_file, ignore_keys=(), fmt='auto',
            resize_options=None, cfg_options=None):
    """Build ``config``'s model, load ``checkpoint`` into it, save it.

    Returns:
        dict: ``image``/``text`` load reports, ``logit_scale`` (bool),
        ``coverage`` (model tensors taken from the checkpoint / all).
    """
    from mmengine.config import Config
    from sdtr.apis import get_model
    from sdtr.models.utils.clip_checkpoint import (CheckpointMismatchError,
                                                   load_clip_state_dict,
                                                   split_clip_state_dict)
    resize_options = dict(resize_options or {})
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = get_model(cfg)  # architecture only: nothing is downloaded
    source = str(checkpoint)
    raw = load_clip_state_dict(source)
    fmt = detect_format(raw) if fmt == 'auto' else fmt
    state_dict = to_openclip_keys(raw, fmt)
    print(f'{source}: {len(state_dict)} tensors, format {fmt}')
    ignore = [re.compile(p) for p in ignore_keys]
    kept = OrderedDict((k, v) for k, v in state_dict.items()
                       if not any(p.search(k) for p in ignore))
    parts = split_clip_state_dict(kept)
    if parts['others']:
        raise CheckpointMismatchError(
            f'{source} has keys of neither CLIP tower: '
            f'{sorted(parts["others"])}; pass --ignore-keys to drop them')
    (img_name, img_tower), (txt_name, txt_tower) = find_towers(model)

    def tower_ignores(tower, prefix):
        return ['^' + re.escape(k) + '$' for k in tower.state_dict()
                if any(p.search(prefix + k) for p in ignore)]

    img_opts = {k: v for k, v in resize_options.items()
                if k in img_tower._resize_options}
    txt_opts = {k: v for k, v in resize_options.items()
                if k in txt_tower._resize_options}
    unknown = set(resize_options) - set(img_opts) - set(txt_opts)
    if unknown:
        raise ValueError(f'unknown resize options {sorted(unknown)}')
    report = dict(
        image=img_tower.load_tower_state_dict(
            parts['visual'], ignore_keys=tower_ignores(img_tower, 'visual.'),
            source=source, **img_opts),
        text=txt_tower.load_tower_state_dict(
            parts['text'], ignore_keys=tower_ignores(txt_tower, ''),
            source=source, **txt_opts))
    # the checkpoint's temperature initialises every learnable logit scale
    scale_keys = []
    if parts['logit_scale'] is not None:
        for name, param in model.named_parameters():
            if name.split('.')[-1] == 'logit_scale' and \
                    param.numel() == parts['logit_scale'].numel():
                with torch.no_grad():
                    param.copy_(parts['logit_scale'].reshape(param.shape))
                scale_keys.append(name)
    report['logit_scale'] = bool(scale_keys)

    model_sd = model.state_dict()
    from_ckpt = {f'{img_name}.{k}' for k in img_tower.state_dict()} | {
        f'{txt_name}.{k}' for k in txt_tower.state_dict()} | set(scale_keys)
    ignored = {f'{img_name}.{k}' for k in report['image']['ignored']} | {
        f'{txt_name}.{k}' for k in report['text']['ignored']}
    from_ckpt -= ignored
    rest = sorted(k for k in model_sd if k not in from_ckpt)
    report['coverage'] = len(from_ckpt) / max(len(model_sd), 1)
    print(f'key coverage: {len(from_ckpt)}/{len(model_sd)} model tensors '
          f'({100 * report["coverage"]:.1f}%) from {osp.basename(source)}; '
          f'checkpoint tensors used: {len(kept)}/{len(state_dict)}'
          + (f' ({len(state_dict) - len(kept)} ignored on purpose)'
             if len(kept) != len(state_dict) else ''))
    if scale_keys:
        print(f'logit_scale -> {scale_keys}')
    if rest:
        shown = ', '.join(rest[:20]) + (' ...' if len(rest) > 20 else '')
        print(f'kept as initialised by the config ({len(rest)}): {shown}')
    meta = dict(converted_from=source, format=fmt,
                config=cfg.pretty_text, coverage=report['coverage'])
    import sdtr
    meta['sdtr_version'] = sdtr.__version__
    torch.save(dict(state_dict=model_sd, meta=meta), out_file)
    print(f'saved {out_file}')
    return report


def main(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='open_clip / OpenAI / RemoteCLIP / GeoRSCLIP -> sdtr')
    parser.add_argument('config', help='sdtr config of a CLIP-based model')
    parser.add_argument('checkpoint', help='CLIP checkpoint (path or URL)')
    parser.add_argument('out_file', help='sdtr checkpoint to write')
    parser.add_argument('--format', default='auto',
                        choices=['auto', 'openclip', 'georsclip'],
                        help='key layout (auto-detected by default; OpenAI '
                        'and RemoteCLIP files are open_clip layout)')
    parser.add_argument('--ignore-keys', nargs='*', default=[],
                        help='regexes of checkpoint keys to leave out')
    parser.add_argument('--interpolation', choices=['bicubic', 'bilinear'],
                        help='position-embedding resize mode')
    parser.add_argument('--no-antialias', action='store_true',
                        help='resize position tables without antialias')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    resize = {}
    if args.interpolation:
        resize['interpolation'] = args.interpolation
    if args.no_antialias:
        resize['antialias'] = False
    convert(args.config, args.checkpoint, args.out_file, args.ignore_keys,
            args.format, resize, args.cfg_options)
    return 0


if __name__ == '__main__':
    sys.exit(main())
