# PIR Table V (RSITMD): VGG-16 instruction encoder pre-trained on ImageNet,
# paper-reported mR 36.37.  The prior is the global-average-pooled conv5
# feature (512-d), as the AID VGG-16 row (pir-itr-inst-vgg16_*).  Weights:
# mmpretrain's ImageNet VGG-16 classifier (model zoo file
# vgg16_batch256_imagenet_20210208-db26f1a5.pth, `backbone.*` keys; its
# fully connected `classifier.*` layers are dropped and reported).
_base_ = ['./pir-itr-inst-vgg16_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(
        pretrained=dict(checkpoint='data/pretrained/'
                        'vgg16_batch256_imagenet_20210208-db26f1a5.pth')))
