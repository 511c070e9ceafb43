"""Models that take the image alone: the upscalers (and a plugin's plain image-to-image model)."""

from __future__ import annotations

import numpy as np

from enhance.spec import ModelSpec
from enhance.tasks.base import Run, to_image, to_tensor
from enhance.tiling import ProgressFn


class Upscale:
    """``Upscale(spec, run)(img)``: ``(H, W, 3)`` float32 in [0, 1] -> ``(H*s, W*s, 3)``, ``s`` =
    ``spec.scale`` (1 for a plain restoration model)."""

    def __init__(self, spec: ModelSpec, run: Run) -> None:
        self.spec, self.run = spec, run

    def __call__(self, img: np.ndarray, progress: ProgressFn | None = None) -> np.ndarray:
        return to_image(self.run(to_tensor(img), progress))
