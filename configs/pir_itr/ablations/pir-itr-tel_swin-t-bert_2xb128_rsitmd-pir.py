# PIR Table I (RSITMD) "Swin-T / BERT + TEL": paper-reported mR 36.74.  The
# contrastive Swin-T + BERT baseline with Transformer encoder layers on the
# image and the text tokens (PIR §V-D1), no prior: 4 post-norm
# self-attention layers over the 50 image tokens and 6 over the text tokens,
# the parameter budget of the Spatial-PAE (2 steps) and Temporal-PAE
# (3 steps) they stand in for (TransformerEncoderNeck; 160 M parameters,
# paper: 161 M).  v = f_0 + H(TEL(F)_0), t = T_0 + H(TEL(T)_0), the text
# padding masked.  The paper gives no layer count; this one is an
# assumption (docs/reproduction.md).
_base_ = ['./pir-itr-baseline_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    image_neck=dict(type='TransformerEncoderNeck', num_layers=4, num_heads=8,
                    dropout=0.2),
    temporal_pae=dict(_delete_=True, type='TransformerEncoderNeck',
                      num_layers=6, num_heads=8, dropout=0.2),
)
