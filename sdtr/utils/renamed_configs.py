"""Config files renamed to the naming scheme, kept working with a warning.

Config files follow one scheme (``docs/architecture.md``, section "Naming"):
``{method}[-variant]_{backbone}_{N}xb{B}_{dataset}[-split].py``, with
ablations in ``configs/<method>/ablations/``.  :data:`RENAMED_CONFIGS` maps
each file name used before the scheme to its current one; zoo model names
are the config file names, so the same table keeps old model names working.
Both lookups warn (``FutureWarning``) and name the new file or model.
"""
import os.path as osp
import warnings
from typing import Optional

#: old path -> current path, relative to ``configs/``
RENAMED_CONFIGS = {
    'clip/clip_vit-b16_1xb128_rsicd.py': 'clip/clip_vit-b16_1xb128_rsicd-galr.py',  # noqa: E501
    'clip/clip_vit-b16_1xb128_rsitmd.py': 'clip/clip_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t5-0-baseline.py': 'eklsr/ablations/eklsr-baseline_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t5-1-klsf.py': 'eklsr/ablations/eklsr-klsf_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t5-2-klsf-textklr.py': 'eklsr/ablations/eklsr-klsf-textklr_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t5-3-klsf-imageklr.py': 'eklsr/ablations/eklsr-klsf-imageklr_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t5-4-wo-interaction.py': 'eklsr/ablations/eklsr-wo-interaction_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t6-0-klsf-random.py': 'eklsr/ablations/eklsr-klsf-random_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t6-1-klsf-topk.py': 'eklsr/ablations/eklsr-klsf-topk_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t6-3-klr-random.py': 'eklsr/ablations/eklsr-klr-random_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_cuhkpedes_t6-4-klr-topk.py': 'eklsr/ablations/eklsr-klr-topk_vit-b16_1xb128_cuhkpedes.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t5-0-baseline.py': 'eklsr/ablations/eklsr-baseline_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t5-1-klsf.py': 'eklsr/ablations/eklsr-klsf_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t5-2-klsf-textklr.py': 'eklsr/ablations/eklsr-klsf-textklr_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t5-3-klsf-imageklr.py': 'eklsr/ablations/eklsr-klsf-imageklr_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t5-4-wo-interaction.py': 'eklsr/ablations/eklsr-wo-interaction_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t6-0-klsf-random.py': 'eklsr/ablations/eklsr-klsf-random_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t6-1-klsf-topk.py': 'eklsr/ablations/eklsr-klsf-topk_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t6-3-klr-random.py': 'eklsr/ablations/eklsr-klr-random_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/ablations/eklsr_vit-b16_1xb128_rsitmd_t6-4-klr-topk.py': 'eklsr/ablations/eklsr-klr-topk_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'eklsr/eklsr_vit-b16_1xb128_rsicd.py': 'eklsr/eklsr_vit-b16_1xb128_rsicd-galr.py',  # noqa: E501
    'eklsr/eklsr_vit-b16_1xb128_rsitmd.py': 'eklsr/eklsr_vit-b16_1xb128_rsitmd-galr.py',  # noqa: E501
    'pir_clip/clip-al_vit-b32_8xb64_rsitmd.py': 'pir_clip/ablations/clip-al_vit-b32_8xb64_rsitmd-pir.py',  # noqa: E501
    'pir_clip/clip_vit-b32_8xb64_rsitmd.py': 'pir_clip/ablations/clip_vit-b32_8xb64_rsitmd-pir.py',  # noqa: E501
    'pir_clip/pir-clip_tiny_zeroshot_synthetic-scenes.py': 'pir_clip/pir-clip-zeroshot_tiny_1xb64_synthetic-scenes.py',  # noqa: E501
    'pir_clip/pir-clip_vit-b32-rn50_8xb64_rsicd.py': 'pir_clip/pir-clip_vit-b32-rn50_8xb64_rsicd-karpathy.py',  # noqa: E501
    'pir_clip/pir-clip_vit-b32-rn50_8xb64_rsicd-pir.py': 'pir_clip/pir-clip_vit-b32-rn50_8xb64_rsicd-karpathy.py',  # noqa: E501
    'pir_clip/pir-clip_vit-b32-rn50_8xb32_rs5m.py': 'pir_clip/pir-clip-stage1_vit-b32_8xb32_rs5m.py',  # noqa: E501
    'pir_clip/pir-clip_vit-b32-rn50_8xb64_rsitmd.py': 'pir_clip/pir-clip_vit-b32-rn50_8xb64_rsitmd-pir.py',  # noqa: E501
    'pir_clip/pir-clip_vit-b32-rn50_8xb64_rsitmd_wo-al.py': 'pir_clip/ablations/pir-clip-wo-al_vit-b32-rn50_8xb64_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-al_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-al_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-baseline_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-baseline_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-filter10_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-filter10_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-filter20_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-filter20_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-filter30_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-filter30_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-filter50_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-filter50_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-inst-resnet101_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-inst-resnet101_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-inst-resnet50-imagenet_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-inst-resnet50-imagenet_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-inst-resnet50-resisc45_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-inst-resnet50-resisc45_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-inst-swin-t_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-inst-swin-t_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-inst-vgg16_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-inst-vgg16_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-inst-vgg19_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-inst-vgg19_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-inst-vit-b16_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-inst-vit-b16_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-released_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-released_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-s-pae_al_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-s-pae-al_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-s-pae_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-s-pae_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-s-pae_t-pae_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-s-pae-t-pae_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-t-pae_al_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-t-pae-al_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/ablations/pir-itr-t-pae_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/ablations/pir-itr-t-pae_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/pir-itr-baseline_swin-tiny-minilm_1xb32_synthetic-rs.py': 'pir_itr/ablations/pir-itr-baseline_swin-tiny-minilm_1xb32_synthetic-rs.py',  # noqa: E501
    'pir_itr/pir-itr-soft_swin-t-bert_2xb128_rsicd.py': 'pir_itr/pir-itr-soft_swin-t-bert_2xb128_rsicd-pir.py',  # noqa: E501
    'pir_itr/pir-itr-soft_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/pir-itr-soft_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'pir_itr/pir-itr_swin-t-bert_2xb128_rsicd.py': 'pir_itr/pir-itr_swin-t-bert_2xb128_rsicd-pir.py',  # noqa: E501
    'pir_itr/pir-itr_swin-t-bert_2xb128_rsitmd.py': 'pir_itr/pir-itr_swin-t-bert_2xb128_rsitmd-pir.py',  # noqa: E501
    'vfe_tps/vfe_tps_tiny-baseline_1xb32_synthetic-person.py': 'vfe_tps/ablations/vfe-tps-baseline_tiny_1xb32_synthetic-person.py',  # noqa: E501
    'vfe_tps/vfe_tps_tiny_1xb32_synthetic-person.py': 'vfe_tps/vfe-tps_tiny_1xb32_synthetic-person.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-baseline_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-baseline_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-idloss_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-idloss_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-imgmim_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-imgmim_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-isgvfc_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-isgvfc_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-mae_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-mae_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-released_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-released_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-simmim_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-simmim_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-tgmim_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-tgmim_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16-triplet_1xb100_cuhkpedes.py': 'vfe_tps/ablations/vfe-tps-triplet_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16_1xb100_cuhkpedes.py': 'vfe_tps/vfe-tps_vit-b16_1xb100_cuhkpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16_1xb100_icfgpedes.py': 'vfe_tps/vfe-tps_vit-b16_1xb100_icfgpedes.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16_1xb100_rsitmd.py': 'vfe_tps/vfe-tps_vit-b16_1xb100_rsitmd-galr.py',  # noqa: E501
    'vfe_tps/vfe_tps_vit-b16_1xb100_rstpreid.py': 'vfe_tps/vfe-tps_vit-b16_1xb100_rstpreid.py',  # noqa: E501
}

_OLD_NAMES = {osp.splitext(osp.basename(old))[0].lower(): new
               for old, new in RENAMED_CONFIGS.items()}


def renamed_model_name(name: str) -> Optional[str]:
    """The current zoo name of a renamed model, else None (warns)."""
    new = _OLD_NAMES.get(str(name).lower())
    if new is None:
        return None
    new = osp.splitext(osp.basename(new))[0]
    warnings.warn(f'model {name!r} was renamed to {new!r}; the old name '
                  'still works but will be removed in a future release',
                  FutureWarning, stacklevel=3)
    return new


def resolve_config_path(path: str) -> str:
    """``path`` itself, or the current file of a renamed config (warns).

    A path that exists is returned unchanged; a missing path whose tail is
    ``configs/<old name>`` (or the bare old file name) is mapped to the
    renamed file next to it.
    """
    text = str(path)
    if osp.exists(text):
        return text
    norm = text.replace(osp.sep, '/')
    for old, new in RENAMED_CONFIGS.items():
        if norm.endswith('configs/' + old) or norm == old:
            head = norm[:len(norm) - len(old)]
            candidate = head + new
            warnings.warn(f'config {text!r} was renamed to {candidate!r}; '
                          'the old path still works but will be removed in '
                          'a future release', FutureWarning, stacklevel=3)
            return candidate
    return text
