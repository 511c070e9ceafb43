"""Masks (white = hole or defect) from files, arrays, PIL images or decoded images: one reading for
the CLI, the batch pipeline and the API, so the same PNG gives the same hole through every door."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from enhance.io.data import ImageData


def mask_from_image(image: ImageData) -> np.ndarray:
    """An ``(H, W)`` float mask: the brightest channel, times alpha where there is one (a transparent
    pixel of a painted-over layer is no hole, whatever colour it holds)."""
    if image.frame_count > 1:
        from enhance.errors import InvalidInputError

        raise InvalidInputError(f"a mask must be a single image, not {image.frame_count} frames")
    mask = image.pixels.max(axis=2)
    if image.alpha is not None:
        mask = mask * image.alpha
    return mask.astype(np.float32, copy=False)


def read_mask(mask: Any) -> np.ndarray | None:
    """A mask given as a path, a numpy array (bool, uint8, uint16 or float; gray, RGB or RGBA), a PIL
    image or an :class:`ImageData`, as an ``(H, W)`` float array in [0, 1]; ``None`` stays ``None``."""
    from enhance.io.arrays import from_array, from_pil
    from enhance.io.read import read_image

    if mask is None:
        return None
    if isinstance(mask, ImageData):
        return mask_from_image(mask)
    if isinstance(mask, (str, Path)):
        return mask_from_image(read_image(mask))
    if isinstance(mask, np.ndarray):
        if mask.dtype == bool:
            mask = mask.astype(np.uint8) * 255
        return mask_from_image(from_array(mask)[0])
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        Image = None  # type: ignore[assignment]
    if Image is not None and isinstance(mask, Image.Image):
        return mask_from_image(from_pil(mask)[0])
    from enhance.errors import InvalidInputError

    raise InvalidInputError(f"a mask must be a path, a numpy array or a PIL image, not {type(mask).__name__}")
