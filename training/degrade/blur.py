"""Per-image convolution, blur and unsharp masking (the sharpened targets of real-world SR)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._random import uniform
from .kernels import gaussian_kernels


def filter2d(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve each image of ``(B, C, H, W)`` with its own ``(B, k, k)`` kernel (reflect padding).

    A single ``(k, k)`` kernel is used for every image.
    """
    b, c, h, w = x.shape
    if kernels.dim() == 2:
        kernels = kernels[None].expand(b, -1, -1)
    k = kernels.shape[-1]
    pad = k // 2
    mode = "reflect" if pad < min(h, w) else "replicate"
    xp = F.pad(x.reshape(1, b * c, h, w), (pad, pad, pad, pad), mode=mode)
    weight = kernels.to(x.device, x.dtype).repeat_interleave(c, 0)[:, None]
    return F.conv2d(xp, weight, groups=b * c).reshape(b, c, h, w)


class Filter2d(nn.Module):
    """Module form of :func:`filter2d` with a fixed kernel."""

    def __init__(self, kernel: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("kernel", kernel)

        self.kernel: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return filter2d(x, self.kernel)


def random_blur(x: torch.Tensor, gen: torch.Generator, sigma: tuple[float, float] = (0.2, 3.0), p_aniso: float = 0.5) -> torch.Tensor:
    """Isotropic or anisotropic Gaussian blur with random sigmas and angle, per image (the simple chain)."""
    b = x.shape[0]
    sx = uniform(gen, b, *sigma)
    aniso = torch.rand(b, generator=gen, device=gen.device) < p_aniso
    sy = torch.where(aniso, uniform(gen, b, *sigma), sx)
    theta = uniform(gen, b, 0, math.pi)
    size = min(21, 2 * math.ceil(3 * sigma[1]) + 1)
    return filter2d(x, gaussian_kernels(sx.cpu(), sy.cpu(), theta.cpu(), size))


def _usm_kernel(radius: int) -> torch.Tensor:
    # OpenCV's getGaussianKernel(ksize, 0) sigma rule, as Real-ESRGAN's USMSharp uses
    size = radius + 1 if radius % 2 == 0 else radius
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    s = torch.tensor([sigma])
    return gaussian_kernels(s, s, torch.zeros(1), size)[0]


def usm_sharp(x: torch.Tensor, weight: float = 0.5, radius: int = 50, threshold: float = 10.0) -> torch.Tensor:
    """Unsharp mask ``x + weight * (x - blur(x))``, applied only where the detail exceeds ``threshold``
    grey levels (with a soft mask), so flat areas and noise are not sharpened. Output in [0, 1]."""
    kernel = _usm_kernel(radius)
    blurred = filter2d(x, kernel)
    residual = x - blurred
    mask = (residual.abs() * 255 > threshold).to(x.dtype)
    soft = filter2d(mask, kernel)
    sharp = (x + weight * residual).clamp(0, 1)
    return soft * sharp + (1 - soft) * x


class USMSharp(nn.Module):
    """Module form of :func:`usm_sharp`."""

    def __init__(self, weight: float = 0.5, radius: int = 50, threshold: float = 10.0) -> None:
        super().__init__()
        self.weight, self.radius, self.threshold = weight, radius, threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return usm_sharp(x, self.weight, self.radius, self.threshold)
