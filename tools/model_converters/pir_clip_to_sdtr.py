"""Convert a released PIR-CLIP checkpoint to an sdtr PIRCLIPRetriever one.

The released PIR-CLIP (jaychempan/PIR-CLIP, a fork of open_clip 2.24;
upstream_facts §2.1-2.2, §2.7) saves an open_clip training checkpoint
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
``logit_scale``            ``losses.itc.logit_scale``
=========================  ==============================================

Any other key is an error (nothing is dropped silently).  The output is an
mmengine checkpoint ``{'state_dict': ..., 'meta': ...}`` for
``tools/test.py`` / ``load_from``; the released model reads the pooled
output at the instruction token and uses the released belief, so test it
with ``model.image_encoder.pool='instruction'`` and
``model.image_encoder.belief.rank_mode='released'``.

Example::

    python tools/model_converters/pir_clip_to_sdtr.py \\
        PIR-CLIP_RET-3.pt work_dirs/pir_clip_ret3_sdtr.pth
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


def convert_pir_clip(state_dict: Dict[str, torch.Tensor],
                     contrastive_loss_name: str = 'itc'
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
                out[f'losses.{contrastive_loss_name}.logit_scale'] = value
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
    from sdtr.utils.compat import load_checkpoint_file
    ckpt = load_checkpoint_file(args.src, map_location='cpu')
    converted = convert_pir_clip(ckpt)
    torch.save(dict(state_dict=converted,
                    meta=dict(converted_from=args.src,
                              converter='pir_clip_to_sdtr')), args.dst)
    print(f'converted {len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
