# PIR Table V (RSITMD): Swin-T instruction encoder pre-trained on ImageNet,
# paper-reported mR 37.13.  The prior is the token-averaged last-stage
# feature (768-d), as the AID Swin-T row (pir-itr-inst-swin-t_*).  Weights:
# mmpretrain's ImageNet-1k Swin-T classifier (model zoo file
# swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth,
# `backbone.*` keys; `head.*` dropped and reported).
_base_ = ['./pir-itr-inst-swin-t_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(
        pretrained=dict(checkpoint='data/pretrained/swin_tiny_224_b16x64_'
                        '300e_imagenet_20210616_090925-66df6be6.pth')))
