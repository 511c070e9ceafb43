"""JPEG compression (kornia's differentiable codec: 8x8 DCT quantisation with 4:2:0 chroma subsampling)."""

from __future__ import annotations

import torch
from torch import nn


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG compress-decompress each image of ``(B, 3, H, W)`` with its own quality (``(B,)``, 1-100)."""
    from kornia.enhance import jpeg_codec_differentiable

    q = quality.to(x.device, torch.float32)
    return jpeg_codec_differentiable(x.clamp(0, 1), q)


class JPEG(nn.Module):
    """Module form of :func:`jpeg` with a fixed quality."""

    def __init__(self, quality: float) -> None:
        super().__init__()
        self.quality = quality

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return jpeg(x, torch.full((x.shape[0],), float(self.quality)))
