# PIR Table V (RSITMD): ResNet-50 instruction encoder pre-trained on ImageNet,
# paper-reported mR 37.40.  torchvision's resnet50 ImageNet weights load as
# they are (fc dropped and reported).
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(instruction_encoder=dict(pretrained=dict(
    checkpoint='data/pretrained/resnet50-imagenet-torchvision.pth')))
