# VFE-TPS "baseline (ours)" of Tables 1-3 (VFE-TPS §4.4): the VFE-TPS
# architecture (CMPM + TG-MIM + IS-GVFC, vfe_tps_vit-b16_person.py) on the
# unimodal encoders of the SOTAs it compares with, ViT + BERT, instead of
# CLIP.  The paper names neither checkpoint, the image size, nor how the
# features reach the joint space; our choices (docs/reproduction.md#every-paper-row):
#   image: ViT-B/16 at 384x128 (24x8 grid), DeiT-B ImageNet-1k weights in
#          mmpretrain's conversion (position embedding resized from 14x14),
#          ImageNet mean/std;
#   text:  BERT-base uncased, 77 tokens, padding masked;
#   f^v / f^t: a linear map 768 -> 512 of the [CLS] outputs (§3.1's FC),
#          ProjectedTower; TG-MIM on the projected tokens as with CLIP.
# Files (not downloaded; put them under data/pretrained/):
#   deit-base_3rdparty_pt-16xb64_in1k_20211124-6f40c188.pth (mmpretrain zoo)
#   bert-base-uncased/ (Hugging Face folder: config.json, weights, vocab.txt)
_base_ = ['./vfe_tps_vit-b16_person.py']

__bert_dir = 'data/pretrained/bert-base-uncased'
model = dict(
    image_encoder=dict(
        _delete_=True,
        type='ProjectedTower',
        embed_dim=512,
        encoder=dict(
            type='ViTEncoder', arch='b', img_size=(384, 128), patch_size=16,
            pretrained=dict(checkpoint='data/pretrained/deit-base_3rdparty_'
                            'pt-16xb64_in1k_20211124-6f40c188.pth'))),
    text_encoder=dict(
        _delete_=True,
        type='ProjectedTower',
        embed_dim=512,
        encoder=dict(type='BertTextEncoder', model_dir=__bert_dir)),
    tokenizer=dict(_delete_=True, type='BertTokenizer', model_dir=__bert_dir,
                   context_length=77, padding='longest'),
    pretrained=None,
    # ImageNet statistics (RGB, 0-255) of the ViT's pre-training
    data_preprocessor=dict(type='RetrievalDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375]),
)
