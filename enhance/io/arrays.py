"""Conversions between in-memory numpy arrays / Pillow images and :class:`ImageData`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from enhance.errors import InvalidInputError
from enhance.io.convert import quantize, split_alpha, to_float
from enhance.io.data import ImageData

_DTYPES = ("uint8", "uint16", "float32", "float64")
_PIL_CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "I;16": 1, "I": 1}
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class ArrayInfo:
    """How to turn an :class:`ImageData` back into the caller's original array / image layout.

    Attributes:
        layout: 'hw' for a 2-D (H, W) array, 'hwc' for (H, W, C).
        channels: channel count of the original (1, 3 or 4; 2 for Pillow 'LA').
        dtype: numpy dtype name of the original ('uint8', 'uint16', 'float32', 'float64').
        mode: Pillow mode to give back (``from_pil`` only), else None.
    """

    layout: Literal["hw", "hwc"]
    channels: int
    dtype: str
    mode: str | None = None


def from_array(arr: np.ndarray) -> tuple[ImageData, ArrayInfo]:
    """Wrap an (H, W) or (H, W, C) array, C in {1, 3, 4}, as ImageData.

    uint8 is divided by 255, uint16 by 65535; float32/float64 are taken as [0, 1] and clipped.
    ``bit_depth`` is 8 for uint8 and 16 otherwise; ``format`` is 'png' (a neutral default).

    Raises:
        InvalidInputError: not a numpy array, wrong dimensions or channel count, empty, unsupported
            dtype, or non-finite float values.
    """
    if not isinstance(arr, np.ndarray):
        raise InvalidInputError(f"expected a numpy array, got {type(arr).__name__}")
    if arr.ndim not in (2, 3):
        raise InvalidInputError(f"expected an (H, W) or (H, W, C) array, got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        raise InvalidInputError(f"expected 1, 3 or 4 channels (gray, RGB, RGBA), got {arr.shape[2]}")
    if arr.size == 0:
        raise InvalidInputError(f"the array is empty (shape {arr.shape})")
    if arr.dtype.name not in _DTYPES:
        raise InvalidInputError(f"unsupported array dtype {arr.dtype} (use uint8, uint16, float32 or float64)")
    info = ArrayInfo("hw" if arr.ndim == 2 else "hwc", 1 if arr.ndim == 2 else arr.shape[2], arr.dtype.name)
    return _image_from_samples(arr), info


def to_array(image: ImageData, info: ArrayInfo) -> np.ndarray:
    """Convert ``image`` back to the layout, channel count and dtype described by ``info``.

    The size is the image's (possibly new) size. A missing alpha channel is filled with 1 (opaque);
    gray <-> RGB mismatches are bridged (replicate / Rec. 601 luma).
    """
    color = 1 if info.channels in (1, 2) else 3
    pixels = image.pixels
    if pixels.shape[2] == 3 and color == 1:
        pixels = (pixels @ _LUMA)[:, :, None]
    elif pixels.shape[2] == 1 and color == 3:
        pixels = np.repeat(pixels, 3, axis=2)
    if info.channels in (2, 4):
        alpha = image.alpha if image.alpha is not None else np.ones(pixels.shape[:2], np.float32)
        pixels = np.concatenate([pixels, alpha[:, :, None]], axis=2)
    if info.dtype in ("uint8", "uint16"):
        out = quantize(pixels, 8 if info.dtype == "uint8" else 16)
    else:
        clean = np.nan_to_num(pixels, nan=0.0, posinf=1.0, neginf=0.0)
        out = np.clip(clean, 0.0, 1.0).astype(info.dtype)
    return np.ascontiguousarray(out[:, :, 0] if info.layout == "hw" else out)


def from_pil(img: Image.Image) -> tuple[ImageData, ArrayInfo]:
    """Wrap a Pillow image as ImageData; modes L, LA, RGB, RGBA, I;16 (and I) round-trip exactly.

    Other modes are converted first ('1' -> L, P/PA -> RGB(A), CMYK/YCbCr/... -> RGB) and come back
    from :func:`to_pil` in the converted mode. The ICC profile in ``img.info`` is kept; EXIF
    orientation is not applied (the caller's image is taken as it is).

    Raises:
        InvalidInputError: not a Pillow image, an empty image, or mode 'F' (float).
    """
    if not isinstance(img, Image.Image):
        raise InvalidInputError(f"expected a PIL.Image.Image, got {type(img).__name__}")
    if img.width == 0 or img.height == 0:
        raise InvalidInputError(f"the image is empty ({img.width}x{img.height})")
    mode = img.mode
    if mode.startswith("I;16"):
        samples, mode = np.asarray(img).astype(np.uint16), "I;16"
    elif mode == "I":
        samples = np.clip(np.asarray(img), 0, 65535).astype(np.uint16)
    elif mode == "F":
        raise InvalidInputError("Pillow mode 'F' (32-bit float) is not supported; use from_array")
    else:
        if mode not in _PIL_CHANNELS:
            transparent = "A" in mode or "a" in mode or "transparency" in img.info
            mode = "L" if mode == "1" else ("RGBA" if transparent else "RGB")
            img = img.convert(mode)
        samples = np.asarray(img)
    image = _image_from_samples(samples)
    image.icc_profile = img.info.get("icc_profile") or None
    channels = _PIL_CHANNELS[mode]
    return image, ArrayInfo("hw" if channels == 1 else "hwc", channels, samples.dtype.name, mode)


def to_pil(image: ImageData, info: ArrayInfo) -> Image.Image:
    """Convert ``image`` back to a Pillow image in ``info.mode`` (see :func:`from_pil`)."""
    mode = info.mode or {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[info.channels]
    sixteen = mode in ("I;16", "I")
    spec = ArrayInfo("hw" if _PIL_CHANNELS[mode] == 1 else "hwc", _PIL_CHANNELS[mode], "uint16" if sixteen else "uint8")
    img = Image.fromarray(to_array(image, spec))
    if mode == "I":
        img = img.convert("I")
    if image.icc_profile:
        img.info["icc_profile"] = image.icc_profile
    return img


def _image_from_samples(samples: np.ndarray) -> ImageData:
    """ImageData from uint8/uint16/float (H, W[, C]) samples; 2 or 4 channels carry alpha."""
    if samples.dtype.kind == "f":
        if not np.isfinite(samples).all():
            raise InvalidInputError("the array contains NaN or infinite values")
        values = np.clip(samples, 0.0, 1.0).astype(np.float32)
        bit_depth = 16
    else:
        values = to_float(samples)
        bit_depth = 8 if samples.dtype == np.uint8 else 16
    pixels, alpha = split_alpha(values)
    return ImageData(np.ascontiguousarray(pixels), alpha, bit_depth, "png")
