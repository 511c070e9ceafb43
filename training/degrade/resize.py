"""Resizing: MATLAB-compatible bicubic (the benchmarks' LR) and the random resizes of real-world chains."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from enhance.ops.resize import downscale, imresize

from ._random import choice, uniform

__all__ = ["RESIZE_MODES", "Resize", "downscale", "imresize", "random_resize", "resize"]

RESIZE_MODES = ("area", "bilinear", "bicubic")


def resize(x: torch.Tensor, size: tuple[int, int], mode: str = "bicubic") -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, C, *size)`` by PyTorch's ``area`` / ``bilinear`` / ``bicubic``.

    Not antialiased, as the cameras' and web pipelines' cheap resizers are not (Real-ESRGAN's choice).
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    if mode == "area":
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


def random_resize(
    x: torch.Tensor,
    gen: torch.Generator,
    probs: tuple[float, float, float],
    scale_range: tuple[float, float],
    base: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Resize the whole batch up, down or keep (``probs``) by a random factor, with a random mode.

    Up draws the factor from ``[1, scale_range[1]]``, down from ``[scale_range[0], 1]``. ``base`` is
    the size the factor applies to (default: the input's), as Real-ESRGAN's second order applies its
    factor to the final LR size.
    """
    kind = choice(gen, probs)
    if kind == 0:
        s = float(uniform(gen, 1, 1.0, scale_range[1]).item())
    elif kind == 1:
        s = float(uniform(gen, 1, scale_range[0], 1.0).item())
    else:
        s = 1.0
    mode = RESIZE_MODES[choice(gen, (1.0, 1.0, 1.0))]
    h, w = base or x.shape[-2:]
    size = (max(1, int(h * s)), max(1, int(w * s)))
    return resize(x, size, mode)


class Resize(nn.Module):
    """Module form of :func:`resize`."""

    def __init__(self, size: tuple[int, int], mode: str = "bicubic") -> None:
        super().__init__()
        self.size, self.mode = size, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return resize(x, self.size, self.mode)
