# RSICD (Lu et al., TGRS 2017), the split of the RSICD release ("Karpathy"
# json): train 8,734 / val 1,094 / test 1,093 images, 5 captions each.
# Not the split of the retrieval papers sdtr reproduces: their RSICD test
# list (AMFMN/GaLR, rsicd_galr.py / rsicd_pir.py) shares only 108 of its
# 1,093 images with this test split, and their train split has 9,828 (or
# 7,862) images.  Use it to compare with work that evaluates on the
# release's split.
#
# Source: github.com/201528014227051/RSICD_optimal (dataset_rsicd.json).
# Layout (see docs/datasets.md):
#   data/rsicd/dataset_rsicd.json   {"images": [{"filename", "split",
#                                    "sentences": [{"raw"}]}]}
#   data/rsicd/RSICD_images/*.jpg   (10,921 images, 224x224)
# Scene labels: file-name prefix (airport_1.jpg -> airport); the purely
# numeric RSICD files (00578.jpg) are singleton classes (PIR's rule).
_base_ = ['./rs_retrieval_common.py']

train_dataloader = dict(
    dataset=dict(
        type='KarpathyCaptionDataset',
        data_root='data/rsicd',
        ann_file='dataset_rsicd.json',
        data_prefix=dict(img_path='RSICD_images')))
val_dataloader = dict(
    dataset=dict(
        type='KarpathyCaptionDataset',
        data_root='data/rsicd',
        ann_file='dataset_rsicd.json',
        data_prefix=dict(img_path='RSICD_images')))
# val evaluator: rs_retrieval_common.py; the best checkpoint is selected
# on val mR (never on test)
default_hooks = dict(
    checkpoint=dict(save_best='rsitr/mR', rule='greater'))
test_dataloader = dict(
    dataset=dict(
        type='KarpathyCaptionDataset',
        data_root='data/rsicd',
        ann_file='dataset_rsicd.json',
        data_prefix=dict(img_path='RSICD_images')))
