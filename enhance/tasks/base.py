"""What the tasks share: the run they compose, image <-> tensor, and progress by pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from enhance.tiling import ProgressFn

#: one model, tiled and ensembled at the precision chosen for the image:
#: ``(1, C, H, W)`` float in [0, 1] -> ``(1, 3, H*s, W*s)`` float32 on the CPU
Run = Callable[[torch.Tensor, "ProgressFn | None"], torch.Tensor]


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """``(H, W, C)`` float array -> ``(1, C, H, W)`` float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]


def to_image(x: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` tensor -> ``(H, W, C)`` array."""
    return x[0].permute(1, 2, 0).numpy()


def stage(progress: ProgressFn | None, index: int, count: int) -> ProgressFn | None:
    """``progress`` for pass ``index`` of ``count``: its tiles fill that share of one running count."""
    if progress is None:
        return None

    def report(done: int, total: int) -> None:
        progress(index * total + done, count * total)

    return report
