"""Models that take the image and its noise level: a constant channel of sigma / 255."""

from __future__ import annotations

import numpy as np
import torch

from enhance.ops.noise import noise_sigma
from enhance.spec import ModelSpec
from enhance.tasks.base import Run, to_image, to_tensor
from enhance.tiling import ProgressFn


def estimate_noise_sigma(rgb: np.ndarray) -> float:
    """Gaussian noise level (on 0-255, per channel) of an ``(H, W)`` or ``(H, W, C)`` float image in
    [0, 1] (:func:`enhance.ops.noise.noise_sigma`): close to sigma for Gaussian noise (texture adds a
    little at low levels; tests/test_degrade_camera.py checks the readings), lower than the std for
    spatially correlated noise."""
    planes = rgb[..., None] if rgb.ndim == 2 else rgb
    x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32)).permute(2, 0, 1)[None]
    return float(noise_sigma(x)[0]) * 255.0


class Denoise:
    """``Denoise(spec, run)(img, sigma=None, strength=1.0)``: ``(H, W, 3)`` float32 in [0, 1] ->
    the same size, denoised.

    Without ``sigma``, ``strength`` means the same for every denoiser: below 1 the network runs at
    the estimated level and that share of its correction is kept (0.5: half of what 1 removes, 0:
    the input), so that less is less even on photos whose noise the estimator reads as nearly
    nothing (camera noise: the real-photo model decides from the noise's look, not from a small
    level); above 1 the network is asked for the estimated level times ``strength``, which cleans
    harder where it follows the level (Gaussian noise; strong camera noise)."""

    #: the highest level the network takes (sigma on 0-255); higher ones are clipped to it
    MAX_SIGMA = 75.0

    def __init__(self, spec: ModelSpec, run: Run) -> None:
        self.spec, self.run = spec, run

    def level(self, img: np.ndarray, sigma: float | None = None, strength: float = 1.0) -> float:
        """The noise level to ask for: ``sigma`` when given, else the estimated level x ``strength``,
        clipped to [0, :attr:`MAX_SIGMA`]."""
        level = estimate_noise_sigma(img) * strength if sigma is None else float(sigma)
        return float(np.clip(level, 0.0, self.MAX_SIGMA))

    def __call__(
        self, img: np.ndarray, *, sigma: float | None = None, strength: float = 1.0,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        share = min(strength, 1.0) if sigma is None else 1.0
        if share <= 0:  # nothing of the correction kept: no estimate, no network run
            return np.array(img, dtype=np.float32, copy=True)
        x = to_tensor(img)
        level = self.level(img, sigma, max(strength, 1.0))
        x = torch.cat([x, torch.full_like(x[:, :1], level / 255.0)], 1)
        out = to_image(self.run(x, progress))
        if share < 1:
            out = (img + share * (out - img)).astype(np.float32)
        return out
