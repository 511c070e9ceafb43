"""Degradation chains: HR -> LR for real-world super-resolution, clean -> noisy for denoising.

:func:`real_esrgan` is the published second-order recipe of Real-ESRGAN (Wang et al., 2021), every
probability and range a field of :class:`RealESRGANConfig`; :func:`real_world_sr` is the simpler
chain the first upscalers were trained with, kept so their recipes stay reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from enhance.ops.noise import noise_sigma

from ._random import chance, choice, uniform
from .blur import filter2d, random_blur
from .camera import CameraConfig, camera_pair
from .jpeg import jpeg
from .kernels import KernelConfig, random_kernels, random_sinc_kernels
from .noise import camera_noise, film_grain, gaussian_noise, poisson_noise, scaled_poisson_noise
from .resize import RESIZE_MODES, downscale, random_resize, resize


# ---------------------------------------------------------------- Real-ESRGAN's second-order chain
@dataclass(frozen=True)
class OrderConfig:
    """One order of degradation: blur, random resize, noise, JPEG."""

    p_blur: float = 1.0
    kernel: KernelConfig = KernelConfig()
    resize_probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: tuple[float, float] = (0.15, 1.5)
    p_gaussian: float = 0.5  # else Poisson
    noise_sigma: tuple[float, float] = (1.0, 30.0)
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    p_gray_noise: float = 0.4
    jpeg_quality: tuple[float, float] = (30.0, 95.0)


@dataclass(frozen=True)
class RealESRGANConfig:
    """Real-ESRGAN's published degradation settings (``realesrgan_x4plus``), plus our additions.

    ``p_camera_noise``: share of the first order's noise that is camera-like (correlated luminance
    plus coarse chroma noise, as phone JPEGs show) instead of white Gaussian / Poisson; 0 in the paper.
    """

    first: OrderConfig = OrderConfig()
    second: OrderConfig = OrderConfig(
        p_blur=0.8,
        kernel=KernelConfig(sigma=(0.2, 1.5)),
        resize_probs=(0.3, 0.4, 0.3),
        resize_range=(0.3, 1.2),
        noise_sigma=(1.0, 25.0),
        poisson_scale=(0.05, 2.5),
    )
    p_second: float = 1.0
    final_sinc_prob: float = 0.8
    p_camera_noise: float = 0.0
    camera_sigma: tuple[float, float] = (2.0, 12.0)

    @classmethod
    def mild(cls) -> "RealESRGANConfig":
        """A gentler setting (web photos, good phones): lower noise, better JPEG, less blur."""
        base = cls()
        first = replace(base.first, kernel=replace(base.first.kernel, sigma=(0.2, 1.5)), noise_sigma=(1.0, 10.0),
                        poisson_scale=(0.05, 1.0), jpeg_quality=(60.0, 95.0), resize_range=(0.5, 1.2))
        second = replace(base.second, p_blur=0.5, noise_sigma=(1.0, 8.0), poisson_scale=(0.05, 0.8),
                         jpeg_quality=(60.0, 95.0), resize_range=(0.7, 1.1))
        return replace(base, first=first, second=second, p_second=0.5, final_sinc_prob=0.4)


def _noise(x: torch.Tensor, gen: torch.Generator, o: OrderConfig) -> torch.Tensor:
    b = x.shape[0]
    gray = uniform(gen, b, 0, 1) < o.p_gray_noise
    if chance(gen, o.p_gaussian):
        return gaussian_noise(x, uniform(gen, b, *o.noise_sigma), gen, gray)
    return scaled_poisson_noise(x, uniform(gen, b, *o.poisson_scale), gen, gray)


def _order(x: torch.Tensor, gen: torch.Generator, o: OrderConfig, base: tuple[int, int] | None,
           camera: tuple[float, float] | None = None) -> torch.Tensor:
    if chance(gen, o.p_blur):
        x = filter2d(x, random_kernels(gen, x.shape[0], o.kernel))
    x = random_resize(x, gen, o.resize_probs, o.resize_range, base)
    if camera is not None:
        b = x.shape[0]
        s = uniform(gen, b, *camera)
        x = camera_noise(x, s, s * uniform(gen, b, 0.5, 1.5), gen, float(uniform(gen, 1, 0.5, 1.2).item()))
    else:
        x = _noise(x, gen, o)
    return x.clamp(0, 1)


def real_esrgan(hr: torch.Tensor, factor: int, gen: torch.Generator, cfg: RealESRGANConfig = RealESRGANConfig()) -> torch.Tensor:
    """HR ``(B, 3, H, W)`` -> LR ``(B, 3, H // factor, W // factor)`` by Real-ESRGAN's second-order chain,
    rounded to 8 bits. (Real-ESRGAN degrades its sharpened target; we degrade the HR itself, so the LR
    never carries sharpening halos the network would then learn to keep.)"""
    b, _, h, w = hr.shape
    out_size = (h // factor, w // factor)
    camera = cfg.camera_sigma if cfg.p_camera_noise and chance(gen, cfg.p_camera_noise) else None
    x = _order(hr, gen, cfg.first, None, camera)
    x = jpeg(x, uniform(gen, b, *cfg.first.jpeg_quality))
    sinc = random_sinc_kernels(gen, b, cfg.final_sinc_prob)
    if chance(gen, cfg.p_second):
        x = _order(x, gen, cfg.second, out_size)
    else:
        sinc = random_sinc_kernels(gen, b, 0.0)
    mode = RESIZE_MODES[choice(gen, (1.0, 1.0, 1.0))]
    q2 = uniform(gen, b, *cfg.second.jpeg_quality)
    if chance(gen, 0.5):  # resize + sinc, then JPEG (or the other way round), as the paper does
        x = filter2d(resize(x, out_size, mode), sinc)
        x = jpeg(x.clamp(0, 1), q2)
    else:
        x = jpeg(x.clamp(0, 1), q2)
        x = filter2d(resize(x, out_size, mode), sinc)
    return ((x.clamp(0, 1) * 255).round() / 255).contiguous()


# ---------------------------------------------------------------- the first upscalers' simple chain
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


# ---------------------------------------------------------------- blind denoising pairs
def _synthetic_noise(clean: torch.Tensor, gen: torch.Generator, max_sigma: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noisy, sigma ``(B,)`` on 0-255, gaussian ``(B,)`` bool) for the kinds of :func:`denoise_pair`."""
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
    return out, sigma.to(clean.device), (kind < 6).to(clean.device)


def _level_map(level: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return (level / 255.0)[:, None, None, None].expand(-1, 1, *like.shape[2:]).contiguous()


def denoise_pair(clean: torch.Tensor, gen: torch.Generator, max_sigma: float = 55.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A blind-denoising training pair: (noisy, noise level map ``(B, 1, H, W)`` on the 0-1 scale).

    Each image gets one of: Gaussian noise (colour or gray, sigma up to ``max_sigma``), Poisson noise,
    JPEG artefacts, film grain, or Gaussian + JPEG. The level map holds the true sigma for Gaussian
    noise, and the measured std of (noisy - clean) for the others (the first denoiser's recipe;
    :func:`real_denoise_pair` labels them as inference reads them).
    """
    out, sigma, gaussian = _synthetic_noise(clean, gen, max_sigma)
    measured = (out - clean).flatten(1).std(1) * 255.0
    return out, _level_map(torch.where(gaussian, sigma, measured), clean)


def real_denoise_pair(
    clean: torch.Tensor, gen: torch.Generator, max_sigma: float = 55.0, camera_fraction: float = 0.5,
    camera: CameraConfig = CameraConfig(),
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Blind-denoising training triple (noisy, level map ``(B, 1, H, W)``, target) for real photos.

    The first ``round(camera_fraction * B)`` images go through a random camera with sensor noise
    (:func:`~training.degrade.camera.camera_pair`; their target is the same camera's noise-free
    output), the others get :func:`denoise_pair`'s synthetic kinds (target: the clean image). The
    level map is the true sigma for Gaussian noise, so that ``--sigma`` keeps meaning a Gaussian std,
    and for every other kind what :func:`enhance.ops.noise.noise_sigma` reads off the noisy image,
    exactly what the denoiser is given at inference when no sigma is set.
    """
    b = clean.shape[0]
    n_cam = min(b, max(0, round(camera_fraction * b)))
    noisy, target, parts_sigma, parts_gauss = [], [], [], []
    if n_cam:
        cam_noisy, cam_target = camera_pair(clean[:n_cam], gen, camera)
        noisy.append(cam_noisy)
        target.append(cam_target)
        parts_sigma.append(torch.zeros(n_cam, device=clean.device))
        parts_gauss.append(torch.zeros(n_cam, dtype=torch.bool, device=clean.device))
    if n_cam < b:
        syn, sigma, gaussian = _synthetic_noise(clean[n_cam:], gen, max_sigma)
        noisy.append(syn)
        target.append(clean[n_cam:])
        parts_sigma.append(sigma)
        parts_gauss.append(gaussian)
    out = torch.cat(noisy)
    level = torch.where(torch.cat(parts_gauss), torch.cat(parts_sigma), noise_sigma(out) * 255.0)
    return out, _level_map(level, clean), torch.cat(target)


__all__ = [
    "OrderConfig", "RealESRGANConfig", "real_esrgan", "RealChainConfig", "real_world_sr", "denoise_pair",
    "real_denoise_pair",
]
