# PIR Table I (RSICD) "ViT-B / BERT (CL)": paper-reported mR 20.52.  The
# contrastive baseline with an ImageNet ViT-B/16 image encoder in place of
# Swin-T: [CLS] token + 14x14 patch tokens at 224 px (ViTEncoder), the rest
# as pir-itr-baseline_swin-t-bert_2xb128_rsicd-pir.py.  The paper names
# neither the checkpoint nor the patch size; we use DeiT-B's ImageNet-1k
# ViT-B/16 weights in mmpretrain's conversion (mmpretrain model zoo,
# deit-base_3rdparty_pt-16xb64_in1k_20211124-6f40c188.pth) and the Swin
# row's drop path 0.1.  Parameters: ViT-B/16 + BERT-base make about 196 M;
# the paper prints 131 M, the size of a ~22 M ViT (ViT-S/DeiT-S) + BERT:
# set image_encoder.arch='deit-small' with DeiT-S weights for that reading
# (docs/reproduction.md).
_base_ = ['./pir-itr-baseline_swin-t-bert_2xb128_rsicd-pir.py']
model = dict(
    image_encoder=dict(
        _delete_=True,
        type='ViTEncoder',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        pretrained=dict(checkpoint='data/pretrained/'
                        'deit-base_3rdparty_pt-16xb64_in1k_20211124-6f40c188'
                        '.pth')))
