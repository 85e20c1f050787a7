# PIR Table V (RSITMD): VGG-19 instruction encoder pre-trained on AID,
# paper-reported mR 37.54.  The prior is the pooled last-stage feature (512-d;
# for VGG the global-average-pooled conv5 feature, not fc7).  Provide an AID
# checkpoint of that architecture (torchvision-style or an mmpretrain
# classifier trained with tools/train.py) at the path below.
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(
        backbone=dict(
            _delete_=True,
            type='mmpretrain.VGG',
            depth=19),
        out_dim=512,
        pretrained=dict(
            checkpoint='data/pretrained/aid_vgg19_scene_classifier.pth')))
