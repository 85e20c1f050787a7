"""Convert a released PIR-CLIP checkpoint to an sdtr PIRCLIPRetriever one.

The released PIR-CLIP (jaychempan/PIR-CLIP, a fork of open_clip 2.24;
docs/methods/pir.md#15-pir-clip-release) saves an open_clip checkpoint
``{'epoch', 'name', 'state_dict': {...}, 'optimizer', ...}`` (keys prefixed
``module.`` under DDP) of its ``CLIP`` model:

=========================  ==============================================
released key               sdtr key
=========================  ==============================================
``visual.*``               ``image_encoder.*`` (PIRCLIPVisionTransformer)
``res_visual.*``           ``instruction_encoder.resnet.*``
``vision_proj_res.*``      ``instruction_encoder.proj.*``
text tower keys            ``text_encoder.*`` (``token_embedding``,
                           ``positional_embedding``, ``transformer``,
                           ``ln_final``, ``text_projection``)
``logit_scale``            ``logit_scale`` (the model's, docs/architecture.md)
=========================  ==============================================

Any other key is an error (nothing is dropped silently).  The output is an
mmengine checkpoint ``{'state_dict': ..., 'meta': ...}`` for
``tools/test.py`` / ``load_from``.

The released model is not the configs' default model in three ways, which
the converter prints and stores in ``meta['cfg_options']``
(:data:`RELEASED_CFG_OPTIONS`):

* **plain GELU** in both transformers: the release builds its ``PIR`` model
  from ``model_configs/PIR.json``, which does not set ``quick_gelu``, so
  open_clip uses ``nn.GELU`` (jaychempan/PIR-CLIP @ 9554baf,
  ``src/open_clip/model.py``); the sdtr configs use QuickGELU because they
  start from OpenAI weights, which were trained with it.  Released weights
  in a QuickGELU model give wrong features without any error;
* the released belief (``model.image_encoder.belief.rank_mode=released``);
* the pooled output at the instruction token (``pool='instruction'``, the
  configs' default already).

Example::

    python tools/model_converters/pir_clip_to_sdtr.py \\
        PIR-CLIP_RET-3.pt work_dirs/pir_clip_ret3_sdtr.pth
    python tools/test.py configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_ret3.py \\
        work_dirs/pir_clip_ret3_sdtr.pth --cfg-options \\
        model.image_encoder.act=gelu model.text_encoder.act=gelu \\
        model.image_encoder.belief.rank_mode=released
"""
import argparse
from collections import OrderedDict
from typing import Dict

import torch

TEXT_PREFIXES = ('token_embedding.', 'positional_embedding', 'transformer.',
                 'ln_final.', 'text_projection')
PREFIX_MAP = (
    ('visual.', 'image_encoder.'),
    ('res_visual.', 'instruction_encoder.resnet.'),
    ('vision_proj_res.', 'instruction_encoder.proj.'),
)
DROP = ('attn_mask', 'input_resolution', 'context_length', 'vocab_size')
#: what a config must set to run the released weights as released
RELEASED_CFG_OPTIONS = {
    'model.image_encoder.act': 'gelu',
    'model.text_encoder.act': 'gelu',
    'model.image_encoder.belief.rank_mode': 'released',
    'model.image_encoder.pool': 'instruction',
}


def convert_pir_clip(state_dict: Dict[str, torch.Tensor]
                     ) -> 'OrderedDict[str, torch.Tensor]':
    """Map released PIR-CLIP keys to sdtr ``PIRCLIPRetriever`` keys.

    Raises:
        KeyError: keys that belong to no part of PIR-CLIP, or a checkpoint
            without any PIR-CLIP part.
    """
    if isinstance(state_dict.get('state_dict'), dict):
        state_dict = state_dict['state_dict']
    out, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if key in DROP:
            continue
        for src, dst in PREFIX_MAP:
            if key.startswith(src):
                out[dst + key[len(src):]] = value
                break
        else:
            if key.startswith(TEXT_PREFIXES):
                out['text_encoder.' + key] = value
            elif key == 'logit_scale':
                out['logit_scale'] = value
            else:
                unknown.append(key)
    if unknown:
        raise KeyError(f'keys of no PIR-CLIP part: {sorted(unknown)[:20]}'
                       f'{" ..." if len(unknown) > 20 else ""}')
    for part in ('image_encoder.', 'instruction_encoder.resnet.',
                 'instruction_encoder.proj.', 'text_encoder.'):
        if not any(k.startswith(part) for k in out):
            raise KeyError(f'the checkpoint has no {part[:-1]} weights '
                           '(visual.* / res_visual.* / vision_proj_res.* / '
                           'text keys): is it a PIR-CLIP checkpoint?')
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released PIR-CLIP checkpoint (.pt)')
    parser.add_argument('dst', help='output sdtr checkpoint (.pth)')
    args = parser.parse_args(argv)
    from sdtr.checkpoint import load_checkpoint, save_checkpoint
    converted = convert_pir_clip(load_checkpoint(args.src))
    save_checkpoint(dict(state_dict=converted,
                         meta=dict(converted_from=args.src,
                                   converter='pir_clip_to_sdtr',
                                   cfg_options=dict(RELEASED_CFG_OPTIONS))),
                    args.dst)
    print(f'converted {len(converted)} tensors -> {args.dst}')
    options = ' '.join(f'{k}={v}' for k, v in RELEASED_CFG_OPTIONS.items())
    print('The released model uses plain GELU and the released belief; '
          f'test it with:\n  --cfg-options {options}')


if __name__ == '__main__':
    main()
