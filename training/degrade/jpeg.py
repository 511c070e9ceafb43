"""JPEG compression: libjpeg (through OpenCV) for CPU tensors, kornia's codec on accelerators.

Both are baseline JPEG with the standard quantisation tables scaled by quality and 4:2:0 chroma
subsampling. On the CPU, kornia's differentiable codec costs about as much as a training step of
the denoiser, libjpeg a hundredth of that, and it is the codec real photos were saved with; on a
GPU kornia keeps the batch on the device. Degradations never need gradients through the codec.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _libjpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    import cv2

    px = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out = np.empty_like(px)
    for i, (img, q) in enumerate(zip(px, quality.round().clamp(1, 100).int().tolist())):
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        if dec is None:
            raise RuntimeError("OpenCV could not decode its own JPEG")
        out[i] = dec[..., ::-1]
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(x.dtype) / 255.0


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG compress-decompress each image of ``(B, 3, H, W)`` with its own quality (``(B,)``, 1-100)."""
    if x.device.type == "cpu":
        return _libjpeg(x.detach(), quality.cpu())
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
