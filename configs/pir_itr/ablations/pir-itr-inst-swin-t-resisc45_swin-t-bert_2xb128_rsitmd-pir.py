# PIR Table V (RSITMD): Swin-T instruction encoder pre-trained on RESISC45,
# paper-reported mR 36.71.  The prior is the token-averaged last-stage
# feature (768-d), as the AID Swin-T row.  The paper's classifier is not
# published: train one on RESISC45's folder-of-classes layout (the
# scene-classifier configs with model.backbone=mmpretrain.SwinTransformer
# arch tiny and 45 classes) or convert one, and put it at the path below.
_base_ = ['./pir-itr-inst-swin-t_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(
        pretrained=dict(
            checkpoint='data/pretrained/resisc45_swin-t_scene_classifier.pth'
        )))
