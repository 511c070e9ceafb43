"""SRGAN-style super-resolution generators.

Contract for every generator here: input ``(B, 3, H, W)`` float in [0, 1], output
``(B, 3, H*scale, W*scale)`` (not clamped; the Enhancer clamps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _ResBlock(nn.Module):
    """conv-PReLU-conv with an identity skip and a residual scale (EDSR-style, no batch norm)."""

    def __init__(self, channels: int, res_scale: float = 1.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.conv2(self.act(self.conv1(x)))


class CompactSR(nn.Module):
    """A CPU-friendly SRGAN-style generator.

    Conv body at LR resolution (residual blocks with PReLU, no batch norm), a long skip, one conv to
    ``3 * scale**2`` channels and a pixel shuffle, added to a bilinear upsample of the input, so the
    network only learns the missing detail. Receptive field radius (in LR pixels): ``2 * blocks + 3``.
    """

    def __init__(self, scale: int = 4, channels: int = 48, blocks: int = 6) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.head_act = nn.PReLU(channels)
        self.body = nn.Sequential(*[_ResBlock(channels) for _ in range(blocks)])
        self.body_tail = nn.Conv2d(channels, channels, 3, padding=1)
        self.upconv = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.upconv.weight)
        if self.upconv.bias is not None:
            nn.init.zeros_(self.upconv.bias)

    @property
    def size_multiple(self) -> int:
        return 1  # all convolutions are stride 1 at LR resolution: any size works

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head_act(self.head(x))
        feat = feat + self.body_tail(self.body(feat))
        detail = self.shuffle(self.upconv(feat))
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + detail


class _DenseBlock(nn.Module):
    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(channels + i * growth, growth if i < 4 else channels, 3, padding=1) for i in range(5)
        )
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for i, conv in enumerate(self.convs):
            out = conv(torch.cat(feats, 1))
            if i < 4:
                feats.append(self.act(out))
        return x + 0.2 * out


class _RRDB(nn.Module):
    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[_DenseBlock(channels, growth) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.blocks(x)


class RRDBNet(nn.Module):
    """ESRGAN's residual-in-residual dense network, the stronger generator for GPU training."""

    def __init__(self, scale: int = 4, channels: int = 64, blocks: int = 8, growth: int = 32) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"scale must be 2 or 4, got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[_RRDB(channels, growth) for _ in range(blocks)])
        self.body_tail = nn.Conv2d(channels, channels, 3, padding=1)
        self.ups = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(scale // 2))
        self.hr = nn.Conv2d(channels, channels, 3, padding=1)
        self.out = nn.Conv2d(channels, 3, 3, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    @property
    def size_multiple(self) -> int:
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = feat + self.body_tail(self.body(feat))
        for up in self.ups:
            feat = self.act(up(F.interpolate(feat, scale_factor=2, mode="nearest")))
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + self.out(self.act(self.hr(feat)))
