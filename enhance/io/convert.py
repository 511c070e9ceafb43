"""Sample conversions between integer storage and float32 [0, 1] pixels."""

from __future__ import annotations

import numpy as np

from enhance.io.data import Samples


def to_float(arr: np.ndarray) -> np.ndarray:
    """uint8 (/255) or uint16 (/65535) samples to float32 in [0, 1]."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / np.float32(65535.0)
    raise TypeError(f"unexpected sample type {arr.dtype}")


def quantize(arr: np.ndarray, bits: int) -> np.ndarray:
    """Float samples in [0, 1] to unsigned integers of ``bits`` bits (rounded, clipped; NaN -> 0).

    The result is uint8 for ``bits <= 8`` and uint16 otherwise.
    """
    top = float((1 << bits) - 1)
    clean = np.nan_to_num(np.asarray(arr, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    scaled = np.rint(np.clip(clean, 0.0, 1.0) * np.float32(top))
    return scaled.astype(np.uint8 if bits <= 8 else np.uint16)


def split_alpha(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split an (H, W), (H, W, 1..4) float array into (pixels (H, W, 1|3), alpha (H, W) | None).

    Two channels are gray + alpha, four are RGBA.
    """
    if arr.ndim == 2:
        return arr[:, :, None], None
    channels = arr.shape[2]
    if channels in (2, 4):
        return np.ascontiguousarray(arr[:, :, :-1]), np.ascontiguousarray(arr[:, :, -1])
    return arr, None


def merge_alpha(pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Inverse of :func:`split_alpha`: (H, W, C) plus optional (H, W) alpha to (H, W, C[+1])."""
    if alpha is None:
        return pixels
    return np.concatenate([pixels, alpha[:, :, None].astype(pixels.dtype, copy=False)], axis=2)


def normalize(arr: np.ndarray) -> tuple[np.ndarray, Samples]:
    """Samples of any real type (float, int32, int16...) to float32 [0, 1] plus the way back.

    8/16-bit integers map their whole type range (exact, whatever the content); wider integers and
    floats map their finite data range (floats already in [0, 1] keep that range), so the values
    a model writes stay in the source's range. NaN becomes the low end, +-inf the ends.
    """
    kind, dtype = arr.dtype.kind, arr.dtype.name
    if kind in "iu" and arr.dtype.itemsize <= 2:
        info = np.iinfo(arr.dtype)
        low, high = float(info.min), float(info.max)
    else:
        finite = arr[np.isfinite(arr)] if kind == "f" else arr
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if kind == "f" and 0.0 <= low and high <= 1.0:
            low, high = 0.0, 1.0
        if high <= low:
            high = low + 1.0
    span = np.float64(high - low)
    unit = (arr.astype(np.float64) - low) / span
    unit = np.nan_to_num(unit, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(unit, 0.0, 1.0).astype(np.float32), Samples(dtype, low, high)


def denormalize(pixels: np.ndarray, samples: Samples) -> np.ndarray:
    """Inverse of :func:`normalize`: float [0, 1] pixels to ``samples.dtype`` values in its range
    (integers rounded and clipped to the type)."""
    clean = np.clip(np.nan_to_num(np.asarray(pixels, np.float64), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    values = samples.low + clean * (samples.high - samples.low)
    dtype = np.dtype(samples.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(dtype)
