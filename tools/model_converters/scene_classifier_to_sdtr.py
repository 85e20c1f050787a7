"""Convert a scene-classifier checkpoint into a PIR instruction encoder.

Reads a torchvision-style ResNet classifier (the AID / RESISC45 ResNet-50 of
RSP used by PIR-ITR: ``{'model': ...}`` with ``conv1.*``, ``layer1..4.*``,
``fc.*``), or an mmpretrain classifier checkpoint written by
``tools/train.py`` (``backbone.*``, ``head.*``), loads the trunk strictly into
a :class:`~sdtr.models.backbones.SceneInstructionEncoder` of the given
backbone (any missing / unexpected / mis-shaped key is an error), and writes
the encoder's ``backbone.*`` state dict with the dropped classifier reported::

    python tools/model_converters/scene_classifier_to_sdtr.py \
        aid_28-rsp-resnet-50-ckpt.pth data/pretrained/aid_resnet50_prior.pth
    python tools/model_converters/scene_classifier_to_sdtr.py \
        work_dirs/scene_prior_tiny/epoch_6.pth prior_tiny.pth \
        --backbone "dict(type='mmpretrain.ResNet', depth=18, \
                         base_channels=16, stem_channels=16)"

Use the output as ``model.instruction_encoder.pretrained``.
"""
import argparse
import ast
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='scene classifier checkpoint')
    p.add_argument('dst', help='output file')
    p.add_argument('--backbone',
                   default="dict(type='mmpretrain.ResNet', depth=50)",
                   help='backbone config of the instruction encoder '
                   '(a Python dict literal or dict(...) call)')
    return p.parse_args(argv)


def _parse_backbone(text: str) -> dict:
    node = ast.parse(text, mode='eval').body
    if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'dict':
        return {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    value = ast.literal_eval(node)
    if not isinstance(value, dict):
        raise ValueError(f'--backbone must be a dict, got {text!r}')
    return value


def main(argv=None) -> int:
    args = parse_args(argv)
    from sdtr.models.backbones import SceneInstructionEncoder
    from sdtr.checkpoint import CheckpointMismatchError, save_checkpoint
    from sdtr.utils import register_all_modules
    register_all_modules()
    if not osp.isfile(args.src):
        print(f'error: {args.src} does not exist', file=sys.stderr)
        return 1
    encoder = SceneInstructionEncoder(backbone=_parse_backbone(args.backbone))
    try:
        report = encoder.load_pretrained(args.src)
    except CheckpointMismatchError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    state_dict = {f'backbone.{k}': v
                  for k, v in encoder.backbone.state_dict().items()}
    save_checkpoint(dict(state_dict={'instruction_encoder.' + k: v
                                     for k, v in state_dict.items()},
                         meta=dict(source=osp.basename(args.src),
                                   layout=report.layout,
                                   dropped=report.dropped,
                                   out_dim=encoder.out_dim)), args.dst)
    print(f'{args.dst}: {report.loaded} tensors ({report.layout} '
          f'layout), prior width {encoder.out_dim}, not used on purpose '
          f'{report.dropped}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
