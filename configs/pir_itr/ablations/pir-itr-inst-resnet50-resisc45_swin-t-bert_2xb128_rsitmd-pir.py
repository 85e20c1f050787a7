# PIR Table V (RSITMD): ResNet-50 instruction encoder pre-trained on RESISC45,
# paper-reported mR 38.28 (AID: 38.24, the main config).
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(instruction_encoder=dict(pretrained=dict(
    checkpoint='data/pretrained/resisc45_resnet50_scene_classifier.pth')))
