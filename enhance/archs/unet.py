"""Pix2Pix-style U-Net generator used for denoising and inpainting.

Input ``(B, 3 + extra, H, W)``: the degraded RGB image followed by ``extra`` condition channels
(a noise-level map for denoising, the hole mask for inpainting). Output ``(B, 3, H, W)``.
H and W must be multiples of ``2 ** levels`` (the Enhancer pads).
"""

from __future__ import annotations

import torch
from torch import nn


class _ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.net(x)


class UNetRestorer(nn.Module):
    """U-Net with skip connections, strided-conv downsampling and pixel-shuffle upsampling.

    ``residual=True`` adds the network output to the input RGB (denoising: the net predicts
    the negative noise). For inpainting (``residual=False``) the output replaces the image and
    the Enhancer keeps the known pixels. ``out_channels=1`` (not residual) makes it a segmentation
    network: the defect detector's logits.
    """

    def __init__(
        self,
        extra_channels: int = 1,
        base: int = 32,
        levels: int = 3,
        residual: bool = True,
        out_channels: int = 3,
    ) -> None:
        super().__init__()
        if residual and out_channels != 3:
            raise ValueError("a residual U-Net adds its output to the input RGB: out_channels must be 3")
        self.levels = levels
        self.residual = residual
        widths = [base * min(2**i, 4) for i in range(levels + 1)]
        self.inc = _ConvBlock(3 + extra_channels, widths[0])
        self.downs = nn.ModuleList()
        self.enc = nn.ModuleList()
        for i in range(levels):
            self.downs.append(nn.Conv2d(widths[i], widths[i + 1], 2, stride=2))
            self.enc.append(_ConvBlock(widths[i + 1], widths[i + 1]))
        self.ups = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(levels)):
            self.ups.append(nn.Sequential(nn.Conv2d(widths[i + 1], widths[i] * 4, 1), nn.PixelShuffle(2)))
            self.dec.append(_ConvBlock(widths[i] * 2, widths[i]))
        self.out = nn.Conv2d(widths[0], out_channels, 3, padding=1)

    @property
    def size_multiple(self) -> int:
        return 2**self.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = x[:, :3]
        feats = [self.inc(x)]
        for down, enc in zip(self.downs, self.enc):
            feats.append(enc(down(feats[-1])))
        y = feats.pop()
        for up, dec in zip(self.ups, self.dec):
            y = dec(torch.cat([up(y), feats.pop()], 1))
        out = self.out(y)
        return rgb + out if self.residual else out
