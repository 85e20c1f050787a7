# PIR Table V (RSITMD): VGG-16 instruction encoder pre-trained on RESISC45,
# paper-reported mR 36.36.  The prior is the global-average-pooled conv5
# feature (512-d), as the AID VGG-16 row.  The paper's classifier is not
# published: train one on RESISC45's folder-of-classes layout (the
# scene-classifier configs with model.backbone=mmpretrain.VGG depth 16 and
# 45 classes) or convert a torchvision-style one, and put it at the path
# below.
_base_ = ['./pir-itr-inst-vgg16_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(
        pretrained=dict(
            checkpoint='data/pretrained/resisc45_vgg16_scene_classifier.pth')))
