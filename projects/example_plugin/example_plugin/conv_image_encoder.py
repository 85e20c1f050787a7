import torch
from mmengine.model import BaseModule
from torch import nn

from sdtr.registry import MODELS


@MODELS.register_module()
class ExampleConvImageEncoder(BaseModule):
    """A small convolutional image tower, written outside sdtr.

    It implements sdtr's ``ImageTower`` interface
    (``sdtr/models/interfaces.py``): an ``embed_dim`` and ``forward(images)``
    returning ``dict(global=[B, D], tokens=[B, 1 + N, D])`` where the first
    token is the global feature and the others are the cells of the last
    feature map.

    Args:
        embed_dim (int): output feature size.
        widths (tuple[int]): channels of the stride-2 conv stages.
    """

    def __init__(self, embed_dim=128, widths=(32, 64, 128), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dim = embed_dim  # the ImageTower interface
        layers, c_in = [], 3
        for c_out in widths:
            layers += [
                nn.Conv2d(c_in, c_out, 3, stride=2, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True)
            ]
            c_in = c_out
        self.stem = nn.Sequential(*layers)
        self.proj = nn.Linear(c_in, embed_dim)

    def forward(self, images):
        fmap = self.stem(images)  # [B, C, h, w]
        cells = fmap.flatten(2).transpose(1, 2)  # [B, h*w, C]
        tokens = self.proj(torch.cat([cells.mean(1, keepdim=True), cells], 1))
        return {'global': tokens[:, 0], 'tokens': tokens}
