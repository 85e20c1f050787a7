# RSICD (Lu et al., TGRS 2017), AMFMN/GaLR split: the protocol of AMFMN,
# GaLR, SWAN, KAMCL, TGKT... and of EKLSR Table 1 (its CLIP baseline too).
# Used by configs/eklsr/*_rsicd and configs/clip/*_rsicd.
#
# Source: github.com/xiaoyuan1996/GaLR @60d6576, data/rsicd_precomp/ (the
# same bytes as xiaoyuan1996/AMFMN @c09bcfb, AMFMN/data/rsicd_precomp/).
#   train_caps.txt / train_filename.txt  9,828 images, 49,140 captions
#       (one file-name line per image)
#   test_caps.txt / test_filename.txt    1,093 images, 5,465 captions
#       (one file-name line per caption)
# This test list is not the test split of the RSICD release
# (rsicd_karpathy.py): the two 1,093-image lists share 108 images.
# Val: none (train + test = all 10,921 images).  Train without validation
# and keep the last checkpoint (this file sets save_best = None; a method
# config on this base sets val_cfg = None).  For a
# held-out val use rsicd_pir.py (1,966 val images carved out of these
# 9,828).
#
# Layout (see docs/datasets.md):
#   data/rsicd/rsicd_precomp/{train,test}_{caps,filename}.txt
#   data/rsicd/RSICD_images/*.jpg   (10,921 images, 224x224)
_base_ = ['./rs_retrieval_common.py']

train_dataloader = dict(
    dataset=dict(
        type='GaLRCaptionDataset',
        data_root='data/rsicd',
        ann_file='rsicd_precomp',
        split_files=dict(train=('train_caps.txt', 'train_filename.txt')),
        data_prefix=dict(img_path='RSICD_images')))
val_dataloader = None
val_evaluator = None
# no val split: nothing to select on, the last checkpoint is kept
default_hooks = dict(checkpoint=dict(save_best=None, save_last=True))
test_dataloader = dict(
    dataset=dict(
        type='GaLRCaptionDataset',
        data_root='data/rsicd',
        ann_file='rsicd_precomp',
        split_files=dict(test=('test_caps.txt', 'test_filename.txt')),
        data_prefix=dict(img_path='RSICD_images')))
