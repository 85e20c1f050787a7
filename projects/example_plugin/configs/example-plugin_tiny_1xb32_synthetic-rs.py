# The quickstart model with two components that live outside sdtr: a small
# conv image tower and a hinge ranking loss added to InfoNCE.  Run from the
# repository root with the plugin package on PYTHONPATH:
#   PYTHONPATH=projects/example_plugin python tools/train.py \
#       projects/example_plugin/configs/example-plugin_tiny_1xb32_synthetic-rs.py
_base_ = ['../../../configs/quickstart/clip_tiny_1xb32_synthetic-rs.py']

custom_imports = dict(imports=['example_plugin'], allow_failed_imports=False)

model = dict(
    image_encoder=dict(
        _delete_=True,
        type='ExampleConvImageEncoder',
        embed_dim=128,
        widths=(32, 64, 128)),
    losses=dict(rank=dict(type='ExampleMarginRankingLoss', margin=0.2)),
)
