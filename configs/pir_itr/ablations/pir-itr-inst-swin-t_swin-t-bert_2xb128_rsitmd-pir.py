# PIR Table V (RSITMD): Swin-T instruction encoder pre-trained on AID,
# paper-reported mR 36.78.  The prior is the pooled last-stage feature (768-d;
# for VGG the global-average-pooled conv5 feature, not fc7).  Provide an AID
# checkpoint of that architecture (torchvision-style or an mmpretrain
# classifier trained with tools/train.py) at the path below.
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(
        backbone=dict(
            _delete_=True,
            type='mmpretrain.SwinTransformer',
            arch='tiny',
            img_size=224),
        out_dim=768,
        pretrained=dict(
            checkpoint='data/pretrained/aid_swin-t_scene_classifier.pth')))
