"""Noise models: Gaussian, Poisson (two parametrisations), film grain and camera-like correlated noise.

Levels are on the 0-255 scale unless a docstring says otherwise; ``gray`` (B,) bool gives the same
noise on every channel (luminance noise). Outputs are not clipped: the chain decides when to clip.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._random import randn
from .kernels import gaussian_kernels

# BT.601 full-range: noise drawn in YCbCr and mapped to RGB with the inverse matrix
_YCC_TO_RGB = torch.tensor([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]])


def _luma(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)[None, :, None, None]
    return (x[:, :3] * w).sum(1, keepdim=True)


def gaussian_noise(
    x: torch.Tensor, sigma: torch.Tensor, gen: torch.Generator, gray: torch.Tensor | None = None
) -> torch.Tensor:
    """Add Gaussian noise of std ``sigma`` (B,) on the 0-255 scale."""
    b, c, h, w = x.shape
    noise = randn(gen, b, c, h, w).to(x.device)
    if gray is not None and c > 1:
        g = gray.to(x.device)[:, None, None, None]
        noise = torch.where(g, noise[:, :1].expand(-1, c, -1, -1), noise)
    return x + noise * (sigma.to(x.device) / 255.0)[:, None, None, None]


class GaussianNoise(nn.Module):
    """Module form of :func:`gaussian_noise` with a fixed level; draws from the generator it is given."""

    def __init__(self, sigma: float, gray: bool = False) -> None:
        super().__init__()
        self.sigma, self.gray = sigma, gray

    def forward(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        b = x.shape[0]
        return gaussian_noise(x, torch.full((b,), self.sigma), gen, torch.full((b,), self.gray))


def poisson_noise(x: torch.Tensor, peak: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Shot noise: ``Poisson(x * peak) / peak`` with ``peak`` (B,) photons at full white (lower = noisier)."""
    p = peak.to(x.device)[:, None, None, None]
    lam = (x.clamp(0, 1) * p).to(gen.device)
    return torch.poisson(lam, generator=gen).to(x.device) / p


def scaled_poisson_noise(
    x: torch.Tensor, scale: torch.Tensor, gen: torch.Generator, gray: torch.Tensor | None = None
) -> torch.Tensor:
    """Real-ESRGAN's Poisson noise: the shot noise of an 8-bit image (``Poisson(255 x) / 255 - x``),
    multiplied by ``scale`` (B,) (0.05-3 in its recipe) and added; ``gray`` takes it from the luminance."""
    xc = ((x.clamp(0, 1) * 255).round() / 255).float()
    c = x.shape[1]

    def shot(img: torch.Tensor) -> torch.Tensor:
        lam = (img * 255).to(gen.device)
        return torch.poisson(lam, generator=gen).to(x.device) / 255 - img

    noise = shot(xc)
    if gray is not None and c > 1:
        g = gray.to(x.device)[:, None, None, None]
        if bool(g.any()):
            noise = torch.where(g, shot(_luma(xc)).expand(-1, c, -1, -1), noise)
    return x + noise.to(x.dtype) * scale.to(x.device)[:, None, None, None]


def film_grain(x: torch.Tensor, amount: torch.Tensor, gen: torch.Generator, size: float = 1.0) -> torch.Tensor:
    """Monochrome, spatially correlated grain, strongest in the mid-tones; ``amount`` (B,) is its std."""
    from .blur import filter2d

    b, _, h, w = x.shape
    n = randn(gen, b, 1, h, w).to(x.device)
    s = torch.full((b,), size)
    n = filter2d(n, gaussian_kernels(s, s, torch.zeros(b), 2 * math.ceil(3 * size) + 1))
    n = n / n.flatten(1).std(1).clamp_min(1e-6)[:, None, None, None]
    lum = x.mean(1, keepdim=True).clamp(0, 1)
    return x + n * amount.to(x.device)[:, None, None, None] * 2 * torch.sqrt(lum * (1 - lum) + 0.01)


def _correlated_field(gen: torch.Generator, b: int, h: int, w: int, size: float, device: torch.device) -> torch.Tensor:
    """Unit-variance white noise low-passed by a Gaussian of std ``size`` px (``size`` <= 0: white)."""
    from .blur import filter2d

    n = randn(gen, b, 1, h, w).to(device)
    if size <= 0:
        return n
    s = torch.full((b,), float(size))
    n = filter2d(n, gaussian_kernels(s, s, torch.zeros(b), 2 * math.ceil(3 * size) + 1))
    return n / n.flatten(1).std(1).clamp_min(1e-6)[:, None, None, None]


def camera_noise(
    x: torch.Tensor,
    sigma_luma: torch.Tensor,
    sigma_chroma: torch.Tensor,
    gen: torch.Generator,
    size: float = 0.8,
) -> torch.Tensor:
    """Camera-like noise after demosaicing and in-camera processing: spatially correlated luminance
    noise (low-passed by ``size`` px) and coarser chroma noise (twice the size), stds ``sigma_luma`` and
    ``sigma_chroma`` (B,) on the 0-255 scale, added in YCbCr and mapped back to RGB."""
    b, c, h, w = x.shape
    y = _correlated_field(gen, b, h, w, size, x.device) * (sigma_luma.to(x.device) / 255.0)[:, None, None, None]
    if c == 1:
        return x + y
    cb = _correlated_field(gen, b, h, w, 2 * size, x.device)
    cr = _correlated_field(gen, b, h, w, 2 * size, x.device)
    sc = (sigma_chroma.to(x.device) / 255.0)[:, None, None, None]
    ycc = torch.cat([y, cb * sc, cr * sc], 1)
    rgb = torch.einsum("rc,bchw->brhw", _YCC_TO_RGB.to(x.device, x.dtype), ycc)
    return x + rgb
