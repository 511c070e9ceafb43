"""Degradation core shared by every trainer and benchmark.

Pure torch functions on ``(B, C, H, W)`` float tensors in [0, 1]; every random choice comes from an
explicit ``torch.Generator``, and every random tensor is drawn on that generator's device (pass a CUDA
generator for GPU tensors, so noise fields are made on the GPU; a CPU generator makes results
identical on any machine). Outputs live on the input's device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- random helpers
def uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    """``n`` samples of U[lo, hi) drawn on ``gen``'s device."""
    return torch.rand(n, generator=gen, device=gen.device) * (hi - lo) + lo


def chance(gen: torch.Generator, p: float) -> bool:
    return bool(torch.rand(1, generator=gen, device=gen.device).item() < p)


def _randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, device=gen.device)


# ---------------------------------------------------------------- MATLAB bicubic
def _cubic(x: torch.Tensor) -> torch.Tensor:
    a = x.abs()
    a2, a3 = a * a, a * a * a
    return (1.5 * a3 - 2.5 * a2 + 1) * (a <= 1) + (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * ((a > 1) & (a <= 2))


@lru_cache(maxsize=64)
def _resize_matrix(in_len: int, out_len: int, scale: float, antialias: bool) -> torch.Tensor:
    """(out_len, in_len) weights of MATLAB's ``imresize(..., 'bicubic')`` along one axis (float64)."""
    width = 4.0 / scale if (scale < 1 and antialias) else 4.0
    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + torch.arange(taps, dtype=torch.float64)[None]
    dist = u[:, None] - idx
    w = scale * _cubic(dist * scale) if (scale < 1 and antialias) else _cubic(dist)
    w = w / w.sum(1, keepdim=True)
    # MATLAB pads symmetrically (mirror including the edge pixel), indices are 1-based
    idx = idx.long()
    idx = torch.where(idx < 1, 1 - idx, idx)
    idx = torch.where(idx > in_len, 2 * in_len + 1 - idx, idx)
    idx = idx.clamp(1, in_len) - 1
    mat = torch.zeros(out_len, in_len, dtype=torch.float64)
    mat.scatter_add_(1, idx, w)
    return mat


def imresize(x: torch.Tensor, scale: float, antialias: bool = True) -> torch.Tensor:
    """MATLAB-compatible bicubic resize of ``(B, C, H, W)`` by ``scale`` (antialiased when shrinking).

    On the standard benchmarks (Set5) it reproduces the published MATLAB LR images with a mean
    absolute difference under 0.2 grey levels (MATLAB also rounds to 8 bits between the two passes).
    """
    _, _, h, w = x.shape
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    my = _resize_matrix(h, oh, float(scale), antialias).to(x.device, torch.float32)
    mx = _resize_matrix(w, ow, float(scale), antialias).to(x.device, torch.float32)
    return torch.einsum("oh,bchw,pw->bcop", my, x.float(), mx)


def downscale(x: torch.Tensor, factor: int) -> torch.Tensor:
    """MATLAB bicubic downscale by an integer factor (the benchmarks' LR), clipped to [0, 1]."""
    return imresize(x, 1.0 / factor).clamp(0, 1)


# ---------------------------------------------------------------- blur
def gaussian_kernels(
    sigma_x: torch.Tensor, sigma_y: torch.Tensor, theta: torch.Tensor, size: int = 21
) -> torch.Tensor:
    """``(B, size, size)`` normalised anisotropic Gaussian kernels (isotropic when sigma_x == sigma_y)."""
    r = size // 2
    ax = torch.arange(-r, r + 1, dtype=torch.float32)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    xr = c * xx + s * yy
    yr = -s * xx + c * yy
    k = torch.exp(-0.5 * ((xr / sigma_x[:, None, None]) ** 2 + (yr / sigma_y[:, None, None]) ** 2))
    return k / k.sum((1, 2), keepdim=True)


def filter2d(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve each image of ``(B, C, H, W)`` with its own ``(B, k, k)`` kernel (reflect padding)."""
    b, c, h, w = x.shape
    k = kernels.shape[-1]
    pad = k // 2
    xp = F.pad(x.reshape(1, b * c, h, w), (pad, pad, pad, pad), mode="reflect")
    weight = kernels.to(x.device, x.dtype).repeat_interleave(c, 0)[:, None]
    return F.conv2d(xp, weight, groups=b * c).reshape(b, c, h, w)


def random_blur(x: torch.Tensor, gen: torch.Generator, sigma: tuple[float, float] = (0.2, 3.0), p_aniso: float = 0.5) -> torch.Tensor:
    """Isotropic or anisotropic Gaussian blur with random sigmas and angle, per image."""
    b = x.shape[0]
    sx = uniform(gen, b, *sigma)
    aniso = torch.rand(b, generator=gen, device=gen.device) < p_aniso
    sy = torch.where(aniso, uniform(gen, b, *sigma), sx)
    theta = uniform(gen, b, 0, math.pi)
    size = min(21, 2 * math.ceil(3 * sigma[1]) + 1)
    return filter2d(x, gaussian_kernels(sx.cpu(), sy.cpu(), theta.cpu(), size))


# ---------------------------------------------------------------- noise
def gaussian_noise(
    x: torch.Tensor, sigma: torch.Tensor, gen: torch.Generator, gray: torch.Tensor | None = None
) -> torch.Tensor:
    """Add Gaussian noise; ``sigma`` is ``(B,)`` on the 0-255 scale; ``gray`` (B,) bool: same noise on all channels."""
    b, c, h, w = x.shape
    noise = _randn(gen, b, c, h, w).to(x.device)
    if gray is not None and c > 1:
        g = gray.to(x.device)[:, None, None, None]
        noise = torch.where(g, noise[:, :1].expand(-1, c, -1, -1), noise)
    return x + noise * (sigma.to(x.device) / 255.0)[:, None, None, None]


def poisson_noise(x: torch.Tensor, peak: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Shot noise: ``Poisson(x * peak) / peak`` with ``peak`` (B,) photons at full white (lower = noisier)."""
    p = peak.to(x.device)[:, None, None, None]
    lam = (x.clamp(0, 1) * p).to(gen.device)
    return torch.poisson(lam, generator=gen).to(x.device) / p


def film_grain(x: torch.Tensor, amount: torch.Tensor, gen: torch.Generator, size: float = 1.0) -> torch.Tensor:
    """Monochrome, spatially correlated grain, strongest in the mid-tones; ``amount`` (B,) is its std."""
    b, _, h, w = x.shape
    n = _randn(gen, b, 1, h, w).to(x.device)
    s = torch.full((b,), size)
    n = filter2d(n, gaussian_kernels(s, s, torch.zeros(b), 2 * math.ceil(3 * size) + 1))
    n = n / n.flatten(1).std(1).clamp_min(1e-6)[:, None, None, None]
    lum = x.mean(1, keepdim=True).clamp(0, 1)
    return x + n * amount.to(x.device)[:, None, None, None] * 2 * torch.sqrt(lum * (1 - lum) + 0.01)


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG compress-decompress each image with its own quality (``(B,)``, 1-100), via kornia's codec."""
    from kornia.enhance import jpeg_codec_differentiable

    q = quality.to(x.device, torch.float32)
    return jpeg_codec_differentiable(x.clamp(0, 1), q)


# ---------------------------------------------------------------- chains
@dataclass(frozen=True)
class RealChainConfig:
    """Second-order "real-world" degradation (after Real-ESRGAN), scaled down for photo SR."""

    p_blur: float = 0.7
    blur_sigma: tuple[float, float] = (0.2, 2.0)
    p_noise: float = 0.5
    noise_sigma: tuple[float, float] = (1.0, 15.0)
    p_poisson: float = 0.3
    p_jpeg: float = 0.7
    jpeg_quality: tuple[float, float] = (40.0, 95.0)
    p_second: float = 0.5


def real_world_sr(hr: torch.Tensor, factor: int, gen: torch.Generator, cfg: RealChainConfig = RealChainConfig()) -> torch.Tensor:
    """HR ``(B, 3, H, W)`` -> degraded LR ``(B, 3, H/factor, W/factor)`` by a random second-order chain."""
    b = hr.shape[0]
    x = hr
    for order in range(2):
        if order == 1 and not chance(gen, cfg.p_second):
            break
        if chance(gen, cfg.p_blur):
            x = random_blur(x, gen, cfg.blur_sigma)
        if order == 0:
            x = downscale(x, factor)
        if chance(gen, cfg.p_noise):
            if chance(gen, cfg.p_poisson):
                x = poisson_noise(x, uniform(gen, b, 30.0, 300.0), gen)
            else:
                x = gaussian_noise(x, uniform(gen, b, *cfg.noise_sigma), gen, uniform(gen, b, 0, 1) < 0.4)
        if chance(gen, cfg.p_jpeg):
            x = jpeg(x, uniform(gen, b, *cfg.jpeg_quality))
    return x.clamp(0, 1)


def denoise_pair(clean: torch.Tensor, gen: torch.Generator, max_sigma: float = 55.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A blind-denoising training pair: (noisy, noise level map ``(B, 1, H, W)`` on the 0-1 scale).

    Each image gets one of: Gaussian noise (colour or gray, sigma up to ``max_sigma``), Poisson noise,
    JPEG artefacts, film grain, or Gaussian + JPEG. The level map holds the true sigma for Gaussian
    noise, and the measured std of (noisy - clean) for the others.
    """
    b = clean.shape[0]
    kind = torch.randint(0, 10, (b,), generator=gen, device=gen.device)
    sigma = uniform(gen, b, 0.0, max_sigma)
    gray = uniform(gen, b, 0, 1) < 0.3
    out = gaussian_noise(clean, sigma, gen, gray)
    pois = poisson_noise(clean, uniform(gen, b, 5.0, 200.0), gen)
    grain = film_grain(clean, uniform(gen, b, 0.01, 0.08), gen, size=float(uniform(gen, 1, 0.5, 1.5)))
    jq = uniform(gen, b, 10.0, 90.0)
    jp = jpeg(clean, jq)
    g_then_j = jpeg(gaussian_noise(clean, sigma * 0.4, gen, gray).clamp(0, 1), jq)
    sel = kind.to(clean.device)[:, None, None, None]
    out = torch.where(sel == 6, pois, out)
    out = torch.where(sel == 7, jp, out)
    out = torch.where(sel == 8, grain, out)
    out = torch.where(sel == 9, g_then_j, out)
    clip = (sel >= 6) | (uniform(gen, b, 0, 1) < 0.5).to(clean.device)[:, None, None, None]
    out = torch.where(clip, out.clamp(0, 1), out)
    measured = (out - clean).flatten(1).std(1) * 255.0
    level = torch.where(kind.to(clean.device) < 6, sigma.to(clean.device), measured)
    return out, (level / 255.0)[:, None, None, None].expand(-1, 1, *clean.shape[2:]).contiguous()
