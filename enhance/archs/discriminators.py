"""Discriminators / critics for the GAN trainers (training only; never shipped)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class UNetDiscriminatorSN(nn.Module):
    """Real-ESRGAN's U-Net discriminator with spectral normalisation: a per-pixel realness map."""

    def __init__(self, in_channels: int = 3, base: int = 32) -> None:
        super().__init__()
        sn = spectral_norm
        self.c0 = nn.Conv2d(in_channels, base, 3, padding=1)
        self.c1 = sn(nn.Conv2d(base, base * 2, 4, 2, 1, bias=False))
        self.c2 = sn(nn.Conv2d(base * 2, base * 4, 4, 2, 1, bias=False))
        self.c3 = sn(nn.Conv2d(base * 4, base * 8, 4, 2, 1, bias=False))
        self.c4 = sn(nn.Conv2d(base * 8, base * 4, 3, 1, 1, bias=False))
        self.c5 = sn(nn.Conv2d(base * 4, base * 2, 3, 1, 1, bias=False))
        self.c6 = sn(nn.Conv2d(base * 2, base, 3, 1, 1, bias=False))
        self.c7 = sn(nn.Conv2d(base, base, 3, 1, 1, bias=False))
        self.c8 = sn(nn.Conv2d(base, base, 3, 1, 1, bias=False))
        self.c9 = nn.Conv2d(base, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        x0 = act(self.c0(x))
        x1 = act(self.c1(x0))
        x2 = act(self.c2(x1))
        x3 = act(self.c3(x2))
        up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        x4 = act(self.c4(up(x3))) + x2
        x5 = act(self.c5(up(x4))) + x1
        x6 = act(self.c6(up(x5))) + x0
        return self.c9(act(self.c8(act(self.c7(x6)))))


class PatchCritic(nn.Module):
    """PatchGAN critic for WGAN-GP: no batch norm (it breaks the per-sample gradient penalty).

    Input: the condition and the (real or generated) image concatenated on channels, as in Pix2Pix.
    Output: one score per overlapping patch, ``(B, 1, H/8 - 2, W/8 - 2)`` for the default depth.
    """

    def __init__(self, in_channels: int = 6, base: int = 64, layers: int = 3) -> None:
        super().__init__()
        mods: list[nn.Module] = [nn.Conv2d(in_channels, base, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        ch = base
        for i in range(1, layers):
            nxt = base * min(2**i, 8)
            mods += [nn.Conv2d(ch, nxt, 4, 2, 1), nn.GroupNorm(1, nxt), nn.LeakyReLU(0.2, inplace=True)]
            ch = nxt
        nxt = base * min(2**layers, 8)
        mods += [nn.Conv2d(ch, nxt, 4, 1, 1), nn.GroupNorm(1, nxt), nn.LeakyReLU(0.2, inplace=True)]
        mods += [nn.Conv2d(nxt, 1, 4, 1, 1)]
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
