"""Convert an open_clip-format CLIP checkpoint into an sdtr checkpoint.

Inputs (path or URL; the format is detected):

* OpenAI ``ViT-B-16.pt`` / ``RN50.pt`` (TorchScript archive) or its state
  dict;
* open_clip / RemoteCLIP state dicts (``.pt``, ``.bin``, ``.safetensors``,
  optionally wrapped in ``{'state_dict': ...}`` with ``module.`` prefixes);
* GeoRSCLIP releases, whose keys start with ``image_backbone.`` /
  ``text_backbone.`` (renamed to ``visual.`` / text-tower keys, as GeoRSCLIP's
  own ``convert_weight.py`` does; the layouts are
  ``sdtr.models.utils.clip_checkpoint.CLIP_LAYOUTS``).

The CLIP image and text towers of the config's model (``CLIPVisionTransformer``
/ ``CLIPModifiedResNet`` and ``CLIPTextTransformer``, found anywhere in the
model) and its learnable logit scale are loaded strictly by
:func:`sdtr.checkpoint.load_weights` with the converter a CLIP retriever's
``pretrained`` uses (position tables resized as the config asks), and the
whole model state dict is saved as ``{'state_dict': ..., 'meta': ...}``,
loadable by ``tools/test.py``, ``load_from=`` and
:func:`sdtr.apis.get_model`.  The load report is printed (key coverage); a
checkpoint key that fits no tower, a missing tower key or a shape mismatch is
an error (``--ignore-keys`` excludes keys on purpose: regexes searched in the
checkpoint's keys and the model's).

Example::

    python tools/model_converters/openclip_to_sdtr.py \\
        configs/clip/clip_vit-b16_1xb128_rsitmd-galr.py RemoteCLIP-ViT-B-32.pt \\
        remoteclip_rsitmd_init.pth
"""
import argparse
import functools
import sys


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
        LoadReport: of the towers and the logit scale, with ``parts``
        ``image``, ``text`` and ``logit_scale``.
    """
    from mmengine.config import Config
    from sdtr.apis import get_model
    from sdtr.checkpoint import load_weights, save_checkpoint
    from sdtr.models.utils.clip_checkpoint import (convert_clip_checkpoint,
                                                   logit_scale_targets)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = get_model(cfg)  # architecture only: nothing is downloaded
    (img_name, img_tower), (txt_name, txt_tower) = find_towers(model)
    towers = {img_name + '.': img_tower, txt_name + '.': txt_tower}
    scales = logit_scale_targets(model)
    report = load_weights(
        model, str(checkpoint), targets=list(towers) + list(scales),
        converter=functools.partial(convert_clip_checkpoint, towers=towers,
                                    scale_targets=scales, layout=fmt),
        ignore_keys=ignore_keys, **dict(resize_options or {}))
    report.parts.update(
        image=report.subset([img_name + '.'], img_name),
        text=report.subset([txt_name + '.'], txt_name),
        logit_scale=report.subset(list(scales), 'logit_scale'))
    model_sd = model.state_dict()
    rest = sorted(k for k in model_sd if k not in set(report.loaded_keys))
    if rest:
        print(f'model tensors not in the checkpoint, kept as initialised by '
              f'the config ({len(rest)}/{len(model_sd)}): '
              + ', '.join(rest[:20]) + (' ...' if len(rest) > 20 else ''))
    meta = dict(converted_from=str(checkpoint), format=report.layout,
                config=cfg.pretty_text, coverage=report.coverage)
    import sdtr
    meta['sdtr_version'] = sdtr.__version__
    save_checkpoint(dict(state_dict=model_sd, meta=meta), out_file)
    print(f'saved {out_file}')
    return report


def main(argv=None):
    from mmengine.config import DictAction
    from sdtr.models.utils.clip_checkpoint import CLIP_LAYOUTS
    parser = argparse.ArgumentParser(
        description='open_clip / OpenAI / RemoteCLIP / GeoRSCLIP -> sdtr')
    parser.add_argument('config', help='sdtr config of a CLIP-based model')
    parser.add_argument('checkpoint', help='CLIP checkpoint (path or URL)')
    parser.add_argument('out_file', help='sdtr checkpoint to write')
    parser.add_argument('--format', default='auto',
                        choices=['auto', 'openclip', *CLIP_LAYOUTS],
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
