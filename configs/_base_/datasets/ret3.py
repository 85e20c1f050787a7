# RET-3 = RSICD + RSITMD + UCM-captions, trained jointly (PIR-CLIP's
# "RET-3"): RET-2 (ret2.py: members, pipelines, de-duplication, val/test
# rules, checkpoint selection) with the UCM-captions release split
# (ucm_captions.py) as a third member.
# Expected layout: that of ret2.py, plus (see docs/datasets.md)
#   data/ucm_captions/dataset.json, data/ucm_captions/imgs/*.tif
#
# Train: the three train splits (one image-id space; scene labels over the
# union of scene names), without the images that duplicate an image of any
# member's val or test split, nor repeats (as ret2.py).
# Val: one gallery = RSICD val + RSITMD val + UCM val (no de-duplication).
# Test: RSITMD test; configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_ret3-rsicd.py
# tests the same model on RSICD (its one key:
# test_dataloader.dataset.datasets = [rsicd_test]); `ucm_test` reports UCM
# the same way.
_base_ = ['./ret2.py']

__ucm_root = 'data/ucm_captions'

ucm_train = dict(
    type='KarpathyCaptionDataset', data_root=__ucm_root,
    ann_file='dataset.json', data_prefix=dict(img_path='imgs'),
    split='train', scene_rule='ucm')
ucm_val = dict(ucm_train, split='val', test_mode=True,
               pipeline={{_base_.test_pipeline}})
ucm_test = dict(ucm_train, split='test', test_mode=True,
                pipeline={{_base_.test_pipeline}})

train_dataloader = dict(
    dataset=dict(
        datasets=[{{_base_.rsicd_train}}, {{_base_.rsitmd_train}}, ucm_train],
        exclude=[
            {{_base_.rsicd_val}}, {{_base_.rsicd_test}},
            {{_base_.rsitmd_val}}, {{_base_.rsitmd_test}}, ucm_val, ucm_test
        ]))
val_dataloader = dict(
    dataset=dict(
        datasets=[{{_base_.rsicd_val}}, {{_base_.rsitmd_val}}, ucm_val]))
