"""Image-quality metrics for the benchmarks: PSNR and SSIM, on the Y channel (SR protocol) or on RGB.

Conventions, written down once:

* Arrays are ``(H, W)`` or ``(H, W, C)`` numpy arrays on the 0-255 scale (``uint8``, or float
  holding 0-255 values); :func:`to_uint8` turns a [0, 1] float image into uint8 first.
* The SR protocol (as in EDSR/RCAN/SwinIR/BasicSR): convert both images to Y (ITU-R BT.601, the
  MATLAB ``rgb2ycbcr`` coefficients, Y on the [16, 235] scale, *not* rounded to integers, as BasicSR
  does), shave ``scale`` pixels off every border, then PSNR with ``data_range=255`` and SSIM with a
  Gaussian window (sigma 1.5, population covariance, ``data_range=255``; Wang et al. 2004).
* Denoising and inpainting use RGB PSNR/SSIM on uint8 images (SSIM per channel, averaged).
* Identical images have PSNR ``inf``.

scikit-image is needed for SSIM only and is imported inside :func:`ssim` (an optional dependency:
``pip install enhance[bench]``).
"""

from __future__ import annotations

import math

import numpy as np

from enhance.errors import InvalidInputError

#: BT.601 luma coefficients (MATLAB ``rgb2ycbcr``): Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, RGB on 0-255.
Y_COEFFS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise InvalidInputError("images are empty")


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of an ``(H, W, 3)`` image (or ``(H, W)``/``(H, W, 1)`` gray, taken as R = G = B).

    As MATLAB ``rgb2ycbcr``: ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for R, G, B on
    0-255. ``uint8`` and float input are both read on the 0-255 scale (a float image on [0, 1]
    must be multiplied by 255 first); ``uint16`` is rescaled from 0-65535. Returns a float64
    ``(H, W)`` array on the [16, 235] scale, not rounded.
    """
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise InvalidInputError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {img.shape}")
    if img.dtype == np.uint16:
        x = img.astype(np.float64) * (255.0 / 65535.0)
    else:
        x = img.astype(np.float64)
    if x.ndim == 2:
        return Y_OFFSET + sum(Y_COEFFS) * x / 255.0
    r, g, b = Y_COEFFS
    return Y_OFFSET + (r * x[:, :, 0] + g * x[:, :, 1] + b * x[:, :, 2]) / 255.0


def shave_border(img: np.ndarray, shave: int) -> np.ndarray:
    """``img`` without ``shave`` pixels on each of its four borders (a view; ``shave=0`` returns it)."""
    if shave < 0:
        raise InvalidInputError(f"shave must be >= 0, got {shave}")
    if shave == 0:
        return img
    h, w = img.shape[:2]
    if h <= 2 * shave or w <= 2 * shave:
        raise InvalidInputError(f"cannot shave {shave} px from each border of a {w}x{h} image")
    return img[shave:-shave, shave:-shave]


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error, computed in float64."""
    _check_pair(a, b)
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(d * d))


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range^2 / MSE)``; ``inf`` for identical images."""
    err = mse(a, b)
    if err == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / err)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0, channel_axis: int | None = None) -> float:
    """Structural similarity (Wang et al. 2004): Gaussian window sigma 1.5, population covariance.

    ``a`` and ``b`` are ``(H, W)`` (e.g. Y) or, with ``channel_axis=2``, ``(H, W, C)`` (SSIM per
    channel, averaged). Needs scikit-image.
    """
    _check_pair(a, b)
    from skimage.metrics import structural_similarity

    if min(a.shape[:2]) < 7:
        raise InvalidInputError(f"SSIM needs images of at least 7x7 pixels, got shape {a.shape}")
    return float(
        structural_similarity(
            a.astype(np.float64),
            b.astype(np.float64),
            data_range=data_range,
            channel_axis=channel_axis,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """SR-protocol PSNR: Y channel of two uint8 RGB (or gray) images, ``shave`` px cut from each border."""
    _check_pair(sr, hr)
    return psnr(shave_border(rgb_to_y(sr), shave), shave_border(rgb_to_y(hr), shave), 255.0)


def ssim_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """SR-protocol SSIM: Y channel of two uint8 RGB (or gray) images, ``shave`` px cut from each border."""
    _check_pair(sr, hr)
    return ssim(shave_border(rgb_to_y(sr), shave), shave_border(rgb_to_y(hr), shave), 255.0)


def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR over all RGB samples of two uint8 ``(H, W, 3)`` images."""
    return psnr(a, b, 255.0)


def ssim_rgb(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two uint8 ``(H, W, 3)`` images: per channel, averaged."""
    if a.ndim != 3:
        raise InvalidInputError(f"expected (H, W, C) images, got shape {a.shape}")
    return ssim(a, b, 255.0, channel_axis=2)


def _hole_diff(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    _check_pair(a, b)
    if mask.shape != a.shape[:2]:
        raise InvalidInputError(f"mask shape {mask.shape} does not match image shape {a.shape[:2]}")
    hole = mask > 0
    if not hole.any():
        raise InvalidInputError("mask has no hole pixels")
    return a.astype(np.float64)[hole] - b.astype(np.float64)[hole]


def masked_l1(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference over the pixels where ``mask`` (``(H, W)``) is nonzero, all channels."""
    return float(np.mean(np.abs(_hole_diff(a, b, mask))))


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR over the pixels where ``mask`` (``(H, W)``) is nonzero, all channels."""
    d = _hole_diff(a, b, mask)
    err = float(np.mean(d * d))
    return math.inf if err == 0.0 else 10.0 * math.log10(data_range * data_range / err)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """A float image on [0, 1] rounded to uint8 (clipped first), as a saved PNG would be."""
    return np.clip(np.round(img.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
