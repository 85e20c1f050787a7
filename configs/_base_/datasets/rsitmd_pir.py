# RSITMD (Yuan et al., TGRS 2022), PIR split: the split of PIR-ITR and
# PIR-CLIP (PIR paper §V-A2: 3,435 train / 856 val / 452 test).  Used by
# configs/pir_itr/*_rsitmd* and configs/pir_clip/*_rsitmd*.
#
# Source: PIR's data/finetune/rsitmd_{train,val,test}.json (PIR json; the
# github.com/jaychempan/PIR @e3faeda configs read them, the files are on
# the authors' Baidu disk; a public copy is github.com/zzl0107/DSD-RSITR
# @d55c4fd, data/finetune/).
#   rsitmd_train.json  3,435 images, 17,175 captions (one entry per caption)
#   rsitmd_val.json      856 images,  4,280 captions (one entry per image)
#   rsitmd_test.json     452 images,  2,260 captions
# train + val = the 4,291 AMFMN/GaLR train images (val carved out per
# scene, 80/20); test = the AMFMN/GaLR test images (another order).  No
# image is without captions (PIR's files give the 4 caption-less GaLR train
# images one caption repeated 5 times).  The same images in the GaLR txt
# layout: github.com/jaychempan/SWAN @1c3b217,
# fix_data/rsitmd_precomp/{train,val}_*_verify.txt (with the 4 empty
# caption sets, which are skipped there).
#
# Layout (see docs/datasets.md):
#   data/rsitmd/finetune/rsitmd_{train,val,test}.json
#   data/rsitmd/images/*.tif     (4,743 images, one flat folder: the json
#       paths "train/bridge_942.tif" are read as images/bridge_942.tif,
#       image_name_only=True; with PIR's own image download, which keeps
#       train/ val/ test/ folders, set image_name_only=False)
_base_ = ['./rs_retrieval_common.py']

train_dataloader = dict(
    dataset=dict(
        type='PIRCaptionDataset',
        data_root='data/rsitmd',
        ann_file='finetune/rsitmd_train.json',
        data_prefix=dict(img_path='images'),
        image_name_only=True))
val_dataloader = dict(
    dataset=dict(
        type='PIRCaptionDataset',
        data_root='data/rsitmd',
        ann_file='finetune/rsitmd_val.json',
        data_prefix=dict(img_path='images'),
        image_name_only=True))
# val evaluator: rs_retrieval_common.py; the best checkpoint is selected
# on val mR (never on test)
default_hooks = dict(
    checkpoint=dict(save_best='rsitr/mR', rule='greater'))
test_dataloader = dict(
    dataset=dict(
        type='PIRCaptionDataset',
        data_root='data/rsitmd',
        ann_file='finetune/rsitmd_test.json',
        data_prefix=dict(img_path='images'),
        image_name_only=True))
