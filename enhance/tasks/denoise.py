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
    [0, 1] (:func:`enhance.ops.noise.noise_sigma`). Measured on 30 CBSD68/Kodak24 images with sigma
    5/15/25/50: 6.3/15.8/25.5/50.3 on average (texture adds a little at low levels)."""
    planes = rgb[..., None] if rgb.ndim == 2 else rgb
    x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32)).permute(2, 0, 1)[None]
    return float(noise_sigma(x)[0]) * 255.0


class Denoise:
    """``Denoise(spec, run)(img, sigma=None, strength=1.0)``: ``(H, W, 3)`` float32 in [0, 1] ->
    the same size, denoised at :meth:`level`."""

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
        x = to_tensor(img)
        x = torch.cat([x, torch.full_like(x[:, :1], self.level(img, sigma, strength) / 255.0)], 1)
        return to_image(self.run(x, progress))
