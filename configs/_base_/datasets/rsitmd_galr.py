# RSITMD (Yuan et al., TGRS 2022), AMFMN/GaLR split: the protocol of AMFMN,
# GaLR, SWAN, KAMCL, RemoteCLIP, TGKT... and of EKLSR Table 1 (its CLIP
# baseline too).  Used by configs/eklsr/*_rsitmd*, configs/clip/*_rsitmd and
# configs/vfe_tps/*_rsitmd.
#
# Source: github.com/xiaoyuan1996/GaLR @60d6576, data/rsitmd_precomp/ (the
# same bytes as xiaoyuan1996/AMFMN @c09bcfb, AMFMN/data/rsitmd_precomp/).
#   train_caps.txt / train_filename.txt  4,291 images, 21,455 caption lines
#       (one file-name line per image, 5 caption lines each); 4 images have
#       5 empty captions (mountain_2378, railwaystation_3254,
#       storagetanks_4367, viaduct_4635 .tif) and are skipped:
#       4,287 images / 21,435 captions are used
#   test_caps.txt / test_filename.txt    452 images, 2,260 captions
#       (one file-name line per caption)
# Val: none.  The 4,291 train images are every non-test image of RSITMD,
# so any val set would overlap train or test.  Train without validation and
# keep the last checkpoint; the test split is for tools/test.py only (this
# file sets save_best = None; a method config on this base sets
# val_cfg = None).  To select checkpoints on a
# held-out val, use rsitmd_pir.py: its 3,435 / 856 train/val split is carved
# out of these 4,291 images, so train is 20 % smaller.
#
# Layout (see docs/datasets.md):
#   data/rsitmd/rsitmd_precomp/{train,test}_{caps,filename}.txt
#   data/rsitmd/images/*.tif     (4,743 images, 256x256)
_base_ = ['./rs_retrieval_common.py']

train_dataloader = dict(
    dataset=dict(
        type='GaLRCaptionDataset',
        data_root='data/rsitmd',
        ann_file='rsitmd_precomp',
        split_files=dict(train=('train_caps.txt', 'train_filename.txt')),
        data_prefix=dict(img_path='images')))
val_dataloader = None
val_evaluator = None
# no val split: nothing to select on, the last checkpoint is kept
default_hooks = dict(checkpoint=dict(save_best=None, save_last=True))
test_dataloader = dict(
    dataset=dict(
        type='GaLRCaptionDataset',
        data_root='data/rsitmd',
        ann_file='rsitmd_precomp',
        split_files=dict(test=('test_caps.txt', 'test_filename.txt')),
        data_prefix=dict(img_path='images')))
