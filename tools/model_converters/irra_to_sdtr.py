"""Convert an IRRA checkpoint (anosorae/IRRA, CVPR 2023) to sdtr keys.

IRRA saves ``{'model': state_dict, 'optimizer', 'scheduler', 'epoch', ...}``
(``module.`` prefixes under DDP; the whole model is fp16,
docs/methods/irra_clip.md#10-checkpoints) of its ``IRRA`` module:

=====================================  =====================================
IRRA key                               sdtr key
=====================================  =====================================
``base_model.visual.*``                ``image_encoder.*`` (open_clip names)
``base_model.`` text tower keys        ``text_encoder.*`` (``token_embedding``,
                                       ``positional_embedding``,
                                       ``transformer``, ``ln_final``,
                                       ``text_projection``)
``classifier.*`` (``id`` loss)         ``losses.<id>.classifier.*``
                                       (``IDLoss``; ``--classifier-to``)
``base_model.logit_scale``             dropped: IRRA never uses it (fixed
                                       scale 1/0.02)
MLM branch: ``cross_attn``,            dropped and listed: sdtr has no
``cross_modal_transformer``,           IRR/MLM head for CLIP retrievers yet
``ln_pre_t``, ``ln_pre_i``,            (retrieval never uses it)
``ln_post``, ``mlm_head``
=====================================  =====================================

Any other key is an error.  Floating tensors are cast to float32 (IRRA trains
in fp16).  With ``--config`` the converted dict is compared with the model
that config builds: every missing, unexpected or shape-mismatched key is an
error, so a converted checkpoint always loads completely.  The output is an
mmengine checkpoint ``{'state_dict', 'meta'}`` for ``tools/test.py`` and
``load_from``.

Example::

    python tools/model_converters/irra_to_sdtr.py best.pth irra_sdtr.pth \\
        --config configs/clip/clip_vit-b16_1xb128_cuhkpedes.py \\
        --cfg-options model.losses.id.type=IDLoss \\
        model.losses.id.in_channels=512 model.losses.id.num_classes=11003
"""
import argparse
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch

TEXT_PREFIXES = ('token_embedding.', 'positional_embedding', 'transformer.',
                 'ln_final.', 'text_projection')
NON_WEIGHT = ('attn_mask', 'input_resolution', 'context_length',
              'vocab_size')
# IRRA's implicit relation reasoning (MLM) branch
IRRA_MLM_PREFIXES = ('cross_attn.', 'cross_modal_transformer.', 'ln_pre_t.',
                     'ln_pre_i.', 'ln_post.', 'mlm_head.')


def unwrap(checkpoint) -> Dict[str, torch.Tensor]:
    """The state dict of an IRRA-style checkpoint (``model`` /
    ``state_dict`` wrapper, ``module.`` prefix stripped)."""
    sd = checkpoint
    for key in ('model', 'state_dict'):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict) or not sd:
        raise KeyError('no state dict found (expected a dict of tensors or '
                       "{'model': ...})")
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in sd.items())


def map_keys(state_dict: Dict[str, torch.Tensor],
             prefix_map: Sequence[Tuple[str, str]],
             drop_groups: Dict[str, Iterable[str]],
             float32: bool = True) -> dict:
    """Map keys by prefix; return ``converted``, ``dropped`` (group ->
    keys) and raise on keys of no known part.

    ``base_model.`` CLIP keys are mapped to the towers first; then
    ``prefix_map`` (source prefix -> sdtr prefix, or None to drop) applies.
    """
    out, unknown = OrderedDict(), []
    dropped: Dict[str, List[str]] = {}
    for key, value in state_dict.items():
        if float32 and torch.is_tensor(value) and value.is_floating_point():
            value = value.float()
        name = key
        if name.startswith('base_model.'):
            sub = name[len('base_model.'):]
            if sub.startswith('visual.'):
                if sub.split('.')[-1] in NON_WEIGHT:
                    continue
                out['image_encoder.' + sub[len('visual.'):]] = value
                continue
            if sub.startswith(TEXT_PREFIXES):
                if sub.split('.')[-1] in NON_WEIGHT:
                    continue
                out['text_encoder.' + sub] = value
                continue
            if sub == 'logit_scale':
                dropped.setdefault('unused CLIP logit_scale', []).append(key)
                continue
            if sub in NON_WEIGHT:
                continue
            unknown.append(key)
            continue
        for src, dst in prefix_map:
            if name == src.rstrip('.') or name.startswith(src):
                out[dst + name[len(src):]] = value
                break
        else:
            for group, prefixes in drop_groups.items():
                if name.startswith(tuple(prefixes)):
                    dropped.setdefault(group, []).append(key)
                    break
            else:
                unknown.append(key)
    if unknown:
        raise KeyError(f'{len(unknown)} keys belong to no known part: '
                       f'{sorted(unknown)[:20]}'
                       f'{" ..." if len(unknown) > 20 else ""}')
    for part in ('image_encoder.', 'text_encoder.'):
        if not any(k.startswith(part) for k in out):
            raise KeyError(f'the checkpoint has no {part[:-1]} weights '
                           '(base_model.visual.* / base_model text keys): '
                           'is it an IRRA-style checkpoint?')
    return dict(converted=out, dropped=dropped)


def convert_irra(checkpoint,
                 classifier_to: Optional[str] = 'losses.id.classifier',
                 float32: bool = True) -> dict:
    """IRRA checkpoint -> ``dict(converted, dropped)`` (see module doc).

    Args:
        classifier_to (str, optional): sdtr prefix of the ID classifier
            (``losses.<name>.classifier``); None drops it.
    """
    prefix_map = []
    drop = {'IRRA MLM branch (no sdtr counterpart)': IRRA_MLM_PREFIXES}
    if classifier_to:
        prefix_map.append(('classifier.', classifier_to.rstrip('.') + '.'))
    else:
        drop['ID classifier (--classifier-to none)'] = ('classifier.', )
    return map_keys(unwrap(checkpoint), prefix_map, drop, float32)


def check_coverage(converted: Dict[str, torch.Tensor],
                   model_state: Dict[str, torch.Tensor],
                   ignore: Sequence[str] = ()):
    """Compare converted keys with a model's state dict.

    Returns:
        LoadReport: sdtr's one load-report format
        (:func:`sdtr.models.utils.compare_state_dicts`): ``missing``,
        ``unexpected``, ``mismatched``, ``loaded`` / ``total``.
    """
    from sdtr.models.utils import LoadReport, compare_state_dicts
    return compare_state_dicts(model_state, converted,
                               LoadReport(name='the target model'),
                               ignore_keys=ignore)


def model_state_from_config(config: str, cfg_options=None) -> dict:
    """State dict of the (randomly initialised) model a config builds; the
    ``pretrained`` checkpoint is not read."""
    from mmengine.config import Config, DictAction  # noqa: F401

    import sdtr.models  # noqa: F401
    from sdtr.registry import MODELS
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model_cfg = cfg.model.to_dict()
    model_cfg.pop('pretrained', None)
    return MODELS.build(model_cfg).state_dict()


def report(result: dict, coverage=None) -> str:
    lines = [f'mapped {len(result["converted"])} tensors']
    for group, keys in result['dropped'].items():
        lines.append(f'dropped {len(keys)} tensors: {group} '
                     f'(e.g. {keys[0]})')
    if coverage is not None:
        lines.append(f'covers {coverage.loaded}/{coverage.total} '
                     'tensors of the target model')
        lines += coverage.key_lines(limit=10)
    return '\n'.join(lines)


def run(converter, argv=None, description='', **defaults):
    """Shared command line of the IRRA-family converters."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='upstream checkpoint (.pth path or URL)')
    parser.add_argument('dst', help='output sdtr checkpoint (.pth)')
    parser.add_argument('--config', help='sdtr config to check the key '
                        'coverage against (recommended)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides of --config')
    parser.add_argument('--classifier-to',
                        default=defaults.get('classifier_to',
                                             'losses.id.classifier'),
                        help="sdtr prefix of the ID classifier or 'none'")
    parser.add_argument('--keep-dtype', action='store_true',
                        help='do not cast fp16 tensors to fp32')
    args = parser.parse_args(argv)
    from sdtr.checkpoint import load_checkpoint, save_checkpoint
    ckpt = load_checkpoint(args.src)
    classifier_to = None if str(args.classifier_to).lower() == 'none' \
        else args.classifier_to
    result = converter(ckpt, classifier_to=classifier_to,
                       float32=not args.keep_dtype)
    coverage = None
    if args.config:
        coverage = check_coverage(
            result['converted'],
            model_state_from_config(args.config, args.cfg_options))
    print(report(result, coverage))
    if coverage is not None and not coverage.ok:
        raise SystemExit(f'{args.src} does not match {args.config}: see the '
                         'missing / unexpected / mismatched keys above')
    save_checkpoint(dict(state_dict=result['converted'],
                    meta=dict(converted_from=args.src,
                              converter=converter.__name__)), args.dst)
    print(f'saved {args.dst}')


def main(argv=None):
    run(convert_irra, argv, description=__doc__.split('\n')[0])


if __name__ == '__main__':
    main()
