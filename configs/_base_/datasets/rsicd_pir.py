# RSICD (Lu et al., TGRS 2017), PIR split: the split of PIR-ITR and PIR-CLIP
# (PIR Tables I-II).  Used by configs/pir_itr/*_rsicd and
# configs/pir_clip/*_rsicd.
#
# Source: PIR's data/finetune/rsicd_{train,val,test}.json (PIR json; read by
# the github.com/jaychempan/PIR @e3faeda configs, files on the authors'
# Baidu disk; public copies of val/test: github.com/zzl0107/DSD-RSITR
# @d55c4fd, data/finetune/; of train: github.com/Xinmu-Tantai/VEGA,
# data/finetune/rsicd_train.json).
#   rsicd_train.json  7,862 images = the 9,828 GaLR train images less the
#                     1,966 val images (one entry per caption, 5 per image)
#   rsicd_val.json    1,966 images, 9,830 captions (one entry per image)
#   rsicd_test.json   1,093 images, 5,465 captions
# train + val = the 9,828 AMFMN/GaLR train images (val carved out per
# scene, 80/20; the same val images as github.com/jaychempan/SWAN @1c3b217,
# fix_data/rsicd_precomp/val_*_verify.txt); test = the AMFMN/GaLR test
# images, which share only 108 images with the test split of the RSICD
# release (rsicd_karpathy.py).
#
# Layout (see docs/datasets.md):
#   data/rsicd/finetune/rsicd_{train,val,test}.json
#   data/rsicd/RSICD_images/*.jpg   (10,921 images, one flat folder: json
#       paths such as "test/bridge_358.jpg" are read as
#       RSICD_images/bridge_358.jpg, image_name_only=True)
_base_ = ['./rs_retrieval_common.py']

train_dataloader = dict(
    dataset=dict(
        type='PIRCaptionDataset',
        data_root='data/rsicd',
        ann_file='finetune/rsicd_train.json',
        data_prefix=dict(img_path='RSICD_images'),
        image_name_only=True))
val_dataloader = dict(
    dataset=dict(
        type='PIRCaptionDataset',
        data_root='data/rsicd',
        ann_file='finetune/rsicd_val.json',
        data_prefix=dict(img_path='RSICD_images'),
        image_name_only=True))
# val evaluator: rs_retrieval_common.py; the best checkpoint is selected
# on val mR (never on test)
default_hooks = dict(
    checkpoint=dict(save_best='rsitr/mR', rule='greater'))
test_dataloader = dict(
    dataset=dict(
        type='PIRCaptionDataset',
        data_root='data/rsicd',
        ann_file='finetune/rsicd_test.json',
        data_prefix=dict(img_path='RSICD_images'),
        image_name_only=True))
