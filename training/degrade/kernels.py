"""Blur kernels of the real-world recipes: Gaussian, generalized Gaussian, plateau and 2-D sinc.

Every builder returns ``(B, size, size)`` kernels that sum to 1. The anisotropic ones are shaped by
``sigma_x``, ``sigma_y`` (pixels) and a rotation ``theta`` (radians), each a ``(B,)`` tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ._random import chance, choice, uniform

KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")


def _quadratic_form(sigma_x: torch.Tensor, sigma_y: torch.Tensor, theta: torch.Tensor, size: int) -> torch.Tensor:
    """``x^T Sigma^-1 x`` on a centred ``size`` x ``size`` grid, Sigma = R diag(sx^2, sy^2) R^T."""
    r = size // 2
    ax = torch.arange(-r, r + 1, dtype=sigma_x.dtype, device=sigma_x.device)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    xr = c * xx + s * yy
    yr = -s * xx + c * yy
    return (xr / sigma_x[:, None, None]) ** 2 + (yr / sigma_y[:, None, None]) ** 2


def _normalise(k: torch.Tensor) -> torch.Tensor:
    return k / k.sum((1, 2), keepdim=True)


def gaussian_kernels(
    sigma_x: torch.Tensor, sigma_y: torch.Tensor, theta: torch.Tensor, size: int = 21
) -> torch.Tensor:
    """Anisotropic Gaussian kernels (isotropic when sigma_x == sigma_y)."""
    return _normalise(torch.exp(-0.5 * _quadratic_form(sigma_x, sigma_y, theta, size)))


def generalized_gaussian_kernels(
    sigma_x: torch.Tensor, sigma_y: torch.Tensor, theta: torch.Tensor, beta: torch.Tensor, size: int = 21
) -> torch.Tensor:
    """``exp(-0.5 q^beta)``: beta < 1 gives heavy tails, beta > 1 a flat top (beta = 1 is Gaussian)."""
    q = _quadratic_form(sigma_x, sigma_y, theta, size)
    return _normalise(torch.exp(-0.5 * q.pow(beta[:, None, None])))


def plateau_kernels(
    sigma_x: torch.Tensor, sigma_y: torch.Tensor, theta: torch.Tensor, beta: torch.Tensor, size: int = 21
) -> torch.Tensor:
    """``1 / (q^beta + 1)``: a flat top with slowly decaying tails (out-of-focus lenses)."""
    q = _quadratic_form(sigma_x, sigma_y, theta, size)
    return _normalise(1.0 / (q.pow(beta[:, None, None]) + 1.0))


def sinc_kernels(cutoff: torch.Tensor, size: int = 21) -> torch.Tensor:
    """Circular low-pass (2-D sinc) kernels with angular cutoff ``cutoff`` (B,) in (0, pi]: ringing and
    overshoot like those of sharpened or badly resampled images."""
    r = size // 2
    ax = torch.arange(-r, r + 1, dtype=cutoff.dtype, device=cutoff.device)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    rad = torch.sqrt(xx * xx + yy * yy)[None]
    wc = cutoff[:, None, None]
    safe = torch.where(rad > 0, rad, torch.ones_like(rad))
    k = wc * torch.special.bessel_j1(wc * safe) / (2 * math.pi * safe)
    k = torch.where(rad > 0, k, wc * wc / (4 * math.pi))
    return _normalise(k)


def pad_kernel(k: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad ``(B, k, k)`` kernels to ``(B, size, size)`` (kept centred)."""
    p = (size - k.shape[-1]) // 2
    return F.pad(k, (p, p, p, p)) if p > 0 else k


def _beta(gen: torch.Generator, lo: float, hi: float) -> float:
    # half the draws below 1 and half above, as Real-ESRGAN does, so heavy tails and flat tops are
    # equally common whatever the range's span on either side of 1
    if lo < 1 < hi and chance(gen, 0.5):
        return float(uniform(gen, 1, lo, 1.0).item())
    return float(uniform(gen, 1, max(lo, 1.0) if lo < 1 < hi else lo, hi).item())


@dataclass(frozen=True)
class KernelConfig:
    """One order's blur kernel distribution (Real-ESRGAN's first-order defaults)."""

    probs: tuple[float, float, float, float, float, float] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sigma: tuple[float, float] = (0.2, 3.0)
    beta_gaussian: tuple[float, float] = (0.5, 4.0)
    beta_plateau: tuple[float, float] = (1.0, 2.0)
    sinc_prob: float = 0.1
    sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    pad_to: int = 21


def random_kernel(gen: torch.Generator, cfg: KernelConfig = KernelConfig()) -> torch.Tensor:
    """One ``(pad_to, pad_to)`` kernel drawn from ``cfg``: a sinc with ``sinc_prob``, else one of
    :data:`KERNEL_TYPES` with ``cfg.probs``; odd size drawn from ``cfg.sizes``."""
    size = cfg.sizes[choice(gen, (1.0,) * len(cfg.sizes))]
    if chance(gen, cfg.sinc_prob):
        lo = math.pi / 3 if size < 13 else math.pi / 5
        k = sinc_kernels(uniform(gen, 1, lo, math.pi).cpu(), size)
        return pad_kernel(k, cfg.pad_to)[0]
    kind = KERNEL_TYPES[choice(gen, cfg.probs)]
    sx = uniform(gen, 1, *cfg.sigma).cpu()
    if kind.endswith("_iso") or kind == "iso":
        sy, theta = sx, torch.zeros(1)
    else:
        sy = uniform(gen, 1, *cfg.sigma).cpu()
        theta = uniform(gen, 1, -math.pi, math.pi).cpu()
    if kind.startswith("generalized"):
        k = generalized_gaussian_kernels(sx, sy, theta, torch.tensor([_beta(gen, *cfg.beta_gaussian)]), size)
    elif kind.startswith("plateau"):
        k = plateau_kernels(sx, sy, theta, torch.tensor([_beta(gen, *cfg.beta_plateau)]), size)
    else:
        k = gaussian_kernels(sx, sy, theta, size)
    return pad_kernel(k, cfg.pad_to)[0]


def random_kernels(gen: torch.Generator, n: int, cfg: KernelConfig = KernelConfig()) -> torch.Tensor:
    """``(n, pad_to, pad_to)``: one independent kernel per image."""
    return torch.stack([random_kernel(gen, cfg) for _ in range(n)])


def random_sinc_kernels(gen: torch.Generator, n: int, prob: float, size: int = 21) -> torch.Tensor:
    """The final sinc of Real-ESRGAN's second order: a sinc (cutoff in [pi/3, pi]) with ``prob``, else
    the identity (a unit pulse), per image."""
    pulse = torch.zeros(size, size)
    pulse[size // 2, size // 2] = 1.0
    out = []
    for _ in range(n):
        if chance(gen, prob):
            out.append(sinc_kernels(uniform(gen, 1, math.pi / 3, math.pi).cpu(), size)[0])
        else:
            out.append(pulse)
    return torch.stack(out)
