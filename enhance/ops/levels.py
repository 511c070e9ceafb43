"""Global repair of fading: stretch a faded print's tones back to the full range.

One linear map of the luminance, applied to every channel alike, so a sepia or hand-tinted print
keeps its tone (a per-channel stretch would white-balance it away, which is not ours to decide).
"""

from __future__ import annotations

import numpy as np

#: percentiles of the luminance mapped to black and white (a few specks do not set the range)
LOW, HIGH = 0.5, 99.5
#: at most this much contrast gain: a nearly flat print's noise is not stretched into blotches
MAX_GAIN = 3.0


def auto_levels(pixels: np.ndarray, ignore: np.ndarray | None = None) -> np.ndarray:
    """``pixels`` (float ``(H, W, C)`` in [0, 1]) with the luminance range stretched to [0, 1].

    ``ignore`` (bool ``(H, W)``, e.g. the defect mask) marks pixels left out of the percentiles:
    white cracks would otherwise set the white point.
    """
    if pixels.ndim != 3:
        raise ValueError(f"expected (H, W, C) pixels, got shape {pixels.shape}")
    lum = pixels.mean(axis=2) if pixels.shape[2] != 3 else pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    values = lum[~ignore] if ignore is not None and (~ignore).any() else lum.ravel()
    lo, hi = np.percentile(values, [LOW, HIGH])
    span = max(float(hi - lo), 1.0 / MAX_GAIN)
    out = (pixels - lo) / span
    return np.clip(out, 0.0, 1.0).astype(pixels.dtype, copy=False)
