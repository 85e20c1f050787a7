"""An example sdtr plugin package.

Importing it registers two components in sdtr's registries; a config picks
them up with ``custom_imports = dict(imports=['example_plugin'])``.
"""
from .conv_image_encoder import ExampleConvImageEncoder
from .margin_loss import ExampleMarginRankingLoss

__all__ = ['ExampleConvImageEncoder', 'ExampleMarginRankingLoss']
