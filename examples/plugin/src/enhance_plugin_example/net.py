"""The network of the example plugin: x2 nearest-neighbour upscaling as a 1x1 conv + pixel shuffle."""

from __future__ import annotations

import torch
from torch import nn


class NearestX2(nn.Module):
    """``(B, 3, H, W)`` -> ``(B, 3, 2H, 2W)``; with :func:`nearest_weights` loaded, each pixel becomes 2x2."""

    def __init__(self) -> None:
        super().__init__()
        self.expand = nn.Conv2d(3, 12, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.expand(x))


def nearest_weights() -> NearestX2:
    """A NearestX2 whose conv copies channel ``c`` to the four sub-pixels ``4c .. 4c+3``."""
    net = NearestX2()
    with torch.no_grad():
        net.expand.weight.zero_()
        net.expand.bias.zero_()
        for c in range(3):
            net.expand.weight[4 * c : 4 * c + 4, c] = 1.0
    return net
