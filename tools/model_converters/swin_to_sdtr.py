"""Convert a Microsoft Swin Transformer checkpoint for sdtr.

Microsoft's release (e.g. ``swin_tiny_patch4_window7_224_22k.pth``, PIR-ITR's
vision initialisation) stores ``{'model': ...}`` with ``layers.*`` keys; sdtr's
:class:`~sdtr.models.backbones.SwinTransformerEncoder` composes mmpretrain's
Swin.  This renames the keys, permutes the patch-merging weights, drops the
classifier head / attention masks / relative-position indices (reported),
checks the result loads strictly into an encoder of ``--arch`` and writes
``{'state_dict': ..., 'meta': ...}``::

    python tools/model_converters/swin_to_sdtr.py \
        swin_tiny_patch4_window7_224_22k.pth \
        data/pretrained/swin-t_22k_sdtr.pth

The encoder also reads Microsoft files directly
(``pretrained=dict(checkpoint=<Microsoft .pth>)``); converting once checks the
file and saves the conversion at every start.
"""
import argparse
import json
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='Microsoft Swin checkpoint (.pth)')
    p.add_argument('dst', help='output file')
    p.add_argument('--arch', default='tiny',
                   help='mmpretrain Swin arch used for the strict check '
                   '(a name or a JSON dict with embed_dims, depths, '
                   'num_heads)')
    p.add_argument('--img-size', type=int, default=224)
    p.add_argument('--window-size', type=int, default=7)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from sdtr.models.backbones import SwinTransformerEncoder
    from sdtr.checkpoint import load_weights, read_state_dict, save_checkpoint
    from sdtr.models.utils.swin_checkpoint import (convert_microsoft_swin,
                                                   is_microsoft_swin)
    if not osp.isfile(args.src):
        print(f'error: {args.src} does not exist', file=sys.stderr)
        return 1
    sd = read_state_dict(args.src)
    if not is_microsoft_swin(sd):
        print(f'error: {args.src} is not in Microsoft\'s Swin layout '
              '(expected keys layers.<i>.blocks.<j>.* and patch_embed.proj.*)',
              file=sys.stderr)
        return 1
    arch = json.loads(args.arch) if args.arch.startswith('{') else \
        args.arch
    encoder = SwinTransformerEncoder(arch=arch, img_size=args.img_size,
                                     window_size=args.window_size)
    # the strict check: what the encoder's pretrained load would do
    report = load_weights(encoder.pretrained_target(), sd,
                          converter=encoder.convert_state_dict,
                          name='SwinTransformerEncoder', source=args.src)
    converted, dropped = convert_microsoft_swin(sd, encoder.num_stages)
    save_checkpoint(dict(state_dict=converted,
                         meta=dict(source=osp.basename(args.src),
                                   dropped=dropped, arch=args.arch)),
                    args.dst)
    print(f'{args.dst}: {len(converted)} tensors, coverage '
          f'{100 * report.coverage:.1f}%, dropped {len(dropped)} '
          f'({", ".join(dropped[:4])}{" ..." if len(dropped) > 4 else ""})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
