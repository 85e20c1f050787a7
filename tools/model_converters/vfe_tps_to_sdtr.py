"""Convert a released VFE-TPS checkpoint (zhangweifeng1218/VFE_TPS) to sdtr.

VFE-TPS is a fork of IRRA (same checkpoint container and CLIP keys, see
``irra_to_sdtr.py``); its MIM modules (``model/build.py``,
docs/methods/vfe_tps.md#4-tg-mim) map onto ``TGMIMHead`` and the released
token-mode :class:`~sdtr.models.utils.PatchMaskGenerator`:

===================================  =========================================
VFE-TPS key                          sdtr key
===================================  =========================================
``base_model.visual.*`` / text       ``image_encoder.*`` / ``text_encoder.*``
``mask_token`` [1, 1, 768]           ``mask_generator.mask_token``
``cross_attention_image.*``          ``mim_head.cross_attn.*``
``cross_modal_transformer_image.*``  ``mim_head.transformer.*``
``image_ln_pre_i.*`` (queries)       ``mim_head.ln_pre_i.*``
``image_ln_pre_t.*`` (keys/values)   ``mim_head.ln_pre_t.*``
``image_ln_post.*``                  ``mim_head.ln_post.*``
``decoder.0.*`` (1x1 conv)           ``mim_head.decoder.decoder.0.*``
``classifier.*`` (``id``/``gi2id``)  dropped, or ``--classifier-to PREFIX``
                                     (e.g. ``losses.visual_id.classifier``
                                     for ``gi2id``)
IRRA MLM branch, ITM branch          dropped and listed (not in the paper)
(``*_itm``, ``mlp_itm``),
``gToken2id``
===================================  =========================================

Check against ``configs/vfe_tps/ablations/vfe-tps-released_vit-b16_1xb100_cuhkpedes.py``
(token masking, image-only MIM head): ``--config`` fails on any missing,
unexpected or mismatched key.  A checkpoint trained without ``mim`` (e.g. the
repo's ``run.sh``: ``sdm+mlm+id``) has no MIM keys; check it against the
baseline config instead.

Example::

    python tools/model_converters/vfe_tps_to_sdtr.py best.pth vfe_sdtr.pth \\
        --config configs/vfe_tps/ablations/vfe-tps-released_vit-b16_1xb100_cuhkpedes.py
"""
import os.path as osp
import sys
from typing import Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from irra_to_sdtr import IRRA_MLM_PREFIXES, map_keys, run, unwrap  # noqa

VFE_PREFIX_MAP = (
    ('mask_token', 'mask_generator.mask_token'),
    ('cross_attention_image.', 'mim_head.cross_attn.'),
    ('cross_modal_transformer_image.', 'mim_head.transformer.'),
    ('image_ln_pre_i.', 'mim_head.ln_pre_i.'),
    ('image_ln_pre_t.', 'mim_head.ln_pre_t.'),
    ('image_ln_post.', 'mim_head.ln_post.'),
    ('decoder.0.', 'mim_head.decoder.decoder.0.'),
)
VFE_DROP = {
    'IRRA MLM branch (not in the VFE-TPS paper)': IRRA_MLM_PREFIXES,
    'ITM branch (unused by the paper)': (
        'cross_attention_itm.', 'cross_modal_transformer_itm.',
        'itm_ln_pre_t.', 'itm_ln_pre_i.', 'itm_ln_post.', 'mlp_itm.'),
    'g2id classifier (unused by the paper)': ('gToken2id.', ),
}


def convert_vfe_tps(checkpoint,
                    classifier_to: Optional[str] = None,
                    float32: bool = True) -> dict:
    """VFE-TPS checkpoint -> ``dict(converted, dropped)`` (see module
    doc)."""
    prefix_map = list(VFE_PREFIX_MAP)
    drop = dict(VFE_DROP)
    if classifier_to:
        prefix_map.append(('classifier.', classifier_to.rstrip('.') + '.'))
    else:
        drop['ID classifier (id/gi2id; not in the paper)'] = ('classifier.',
                                                              )
    return map_keys(unwrap(checkpoint), prefix_map, drop, float32)


def main(argv=None):
    run(convert_vfe_tps, argv, description=__doc__.split('\n')[0],
        classifier_to='none')


if __name__ == '__main__':
    main()
