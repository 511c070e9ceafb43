"""Blind noise-level estimation, shared by inference (the denoiser's level input) and training
(the level map of non-Gaussian training noise), so both read a noisy image the same way."""

from __future__ import annotations

import math

import numpy as np
import torch

# E[|X| ; |X| <= 90 % quantile] / E|X| for Gaussian X (computed numerically)
_TRIMMED_MEAN_ABS = 0.8237
_KEEP = 0.9
_SAMPLE = 1 << 20
#: Below this coarse-to-fine ratio the noise is taken as white (see :func:`noise_kind`). Set on the
#: training split: Gaussian noise of sigma 5-50 reads 0.50-0.65 (5th-95th percentile), simulated
#: camera noise and clean crops 0.96 and up.
WHITE_NOISE_RATIO = 0.8
_KIND_CROP = 1024


def noise_sigma(x: torch.Tensor) -> torch.Tensor:
    """Gaussian noise level (per channel, on the 0-1 scale) of each image of ``(B, C, H, W)``: ``(B,)``.

    Immerkaer's fast method on each channel: a Laplacian-difference kernel cancels smooth
    structure, and the mean absolute response, ignoring the strongest 10 % (edges, texture; the
    trimming is corrected for), gives sigma. The median over the channels is returned: the
    per-channel level the denoiser is trained with, whether the noise is coloured or grey.
    Spatially correlated noise (demosaiced, in-camera smoothed camera noise) reads lower than its
    std; the denoiser learns from training pairs labelled by this same function what a reading means.
    """
    b, c, h, w = x.shape
    if min(h, w) < 3:
        return torch.zeros(b, device=x.device)
    # the kernel [[1, -2, 1], [-2, 4, -2], [1, -2, 1]] is the outer product of two second differences:
    # two slicing passes, much faster on the CPU than a one-channel 3x3 convolution
    p = x.reshape(b * c, h, w).float()
    p = p[:, :, :-2] - 2 * p[:, :, 1:-1] + p[:, :, 2:]
    resp = (p[:, :-2] - 2 * p[:, 1:-1] + p[:, 2:]).abs().flatten(1)
    # the kept values are those at or below the 90 % quantile, found on a strided sample of at most
    # ~1M responses (selection on tens of millions of values costs seconds; the sample's quantile is
    # within a fraction of a percent of the full one)
    sample = resp[:, :: max(1, resp.shape[1] // _SAMPLE)]
    keep = max(1, math.ceil(_KEEP * sample.shape[1]))
    kept = sample.kthvalue(keep, dim=1, keepdim=True).values
    mask = resp <= kept
    mean = torch.where(mask, resp, 0).sum(1, dtype=torch.float64) / mask.sum(1).clamp_min(1)
    level = math.sqrt(math.pi / 2) / 6 * mean / _TRIMMED_MEAN_ABS
    return level.reshape(b, c).median(1).values.float()


def coarse_noise_ratio(x: torch.Tensor) -> torch.Tensor:
    """The noise level read at half resolution (2x2 means) over the level at full resolution, per
    image of ``(B, C, H, W)``: ``(B,)``. Averaging four independent samples halves their std, so white
    noise reads about 0.5; spatially correlated noise (demosaiced, smoothed or JPEG-compressed camera
    noise, film grain) averages out less, and on clean images structure dominates both readings:
    both read about 1 or more."""
    fine = noise_sigma(x)
    coarse = noise_sigma(torch.nn.functional.avg_pool2d(x.float(), 2))
    return coarse / fine.clamp_min(1e-6)


def noise_kind(pixels: np.ndarray) -> str:
    """``'white'`` for independent per-pixel noise (Gaussian, Poisson), ``'correlated'`` otherwise
    (camera noise, grain, JPEG, or little noise at all), read on the central 1024 px of an
    ``(H, W, C)`` float image: what picks the denoiser for an image."""
    h, w = pixels.shape[:2]
    top, left = max(0, (h - _KIND_CROP) // 2), max(0, (w - _KIND_CROP) // 2)
    crop = np.ascontiguousarray(pixels[top : top + _KIND_CROP, left : left + _KIND_CROP], dtype=np.float32)
    x = torch.from_numpy(crop.reshape(crop.shape[0], crop.shape[1], -1)).permute(2, 0, 1)[None]
    if min(x.shape[-2:]) < 8:
        return "correlated"
    return "white" if float(coarse_noise_ratio(x)) < WHITE_NOISE_RATIO else "correlated"


__all__ = ["WHITE_NOISE_RATIO", "coarse_noise_ratio", "noise_kind", "noise_sigma"]
