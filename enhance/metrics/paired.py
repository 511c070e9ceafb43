"""Full-reference metrics (an image against its reference): PSNR, SSIM, MS-SSIM, GMSD, masked PSNR / L1.

Conventions, written down once:

* Arrays are ``(H, W)`` or ``(H, W, C)`` numpy arrays on the 0-255 scale (``uint8``, or float
  holding 0-255 values); :func:`to_uint8` turns a [0, 1] float image into uint8 first.
* The SR protocol (as in EDSR/RCAN/SwinIR/BasicSR): convert both images to Y (ITU-R BT.601, the
  MATLAB ``rgb2ycbcr`` coefficients, Y on the [16, 235] scale, *not* rounded to integers, as BasicSR
  does), shave ``scale`` pixels off every border, then PSNR with ``data_range=255`` and SSIM with a
  Gaussian window (sigma 1.5, population covariance, ``data_range=255``; Wang et al. 2004).
* Denoising and inpainting use RGB PSNR/SSIM on uint8 images (SSIM per channel, averaged).
* MS-SSIM (Wang, Simoncelli and Bovik 2003) and GMSD (Xue et al. 2014) follow their authors'
  MATLAB code on one channel (Y for MS-SSIM, ``0.299 R + 0.587 G + 0.114 B`` for GMSD, as that code
  does); both are written here in numpy (scikit-image has neither; torchmetrics' MS-SSIM would be a
  new dependency for 30 lines, and the test suite checks ours against it).
* Identical images have PSNR ``inf``.

scikit-image is needed for SSIM only and is imported inside :func:`ssim`; MS-SSIM and GMSD use SciPy.
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


# ---------------------------------------------------------------- MS-SSIM
#: Scale weights of MS-SSIM (Wang, Simoncelli and Bovik 2003), finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_SSIM_WIN, _SSIM_SIGMA = 11, 1.5


def _gaussian_valid(x: np.ndarray) -> np.ndarray:
    """``filter2(fspecial('gaussian', 11, 1.5), x, 'valid')``: separable, only fully covered pixels."""
    from scipy.ndimage import correlate1d

    t = np.arange(_SSIM_WIN, dtype=np.float64) - (_SSIM_WIN - 1) / 2
    w = np.exp(-0.5 * t * t / _SSIM_SIGMA**2)
    w /= w.sum()
    r = _SSIM_WIN // 2
    out = correlate1d(correlate1d(x, w, 0, mode="constant"), w, 1, mode="constant")
    return out[r:-r, r:-r]


def _ssim_terms(a: np.ndarray, b: np.ndarray, data_range: float) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure term over the valid region (MATLAB ``ssim_index_new``)."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = _gaussian_valid(a), _gaussian_valid(b)
    var_a = _gaussian_valid(a * a) - mu_a * mu_a
    var_b = _gaussian_valid(b * b) - mu_b * mu_b
    cov = _gaussian_valid(a * b) - mu_a * mu_b
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    lum = (2 * mu_a * mu_b + c1) / (mu_a * mu_a + mu_b * mu_b + c1)
    return float(np.mean(lum * cs)), float(np.mean(cs))


def _half_box(x: np.ndarray) -> np.ndarray:
    """MATLAB ``imfilter(x, ones(2) / 4, 'symmetric', 'same')`` then ``x(1:2:end, 1:2:end)``."""
    p = np.pad(x, ((0, 1), (0, 1)), mode="symmetric")
    avg = (p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4.0
    return avg[::2, ::2]


def min_ms_ssim_side(scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """The shortest side MS-SSIM accepts: the coarsest scale must hold one 11x11 window (161 px for 5)."""
    return (_SSIM_WIN - 1) * 2 ** (scales - 1) + 1


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Multi-scale SSIM (Wang, Simoncelli and Bovik 2003) of two ``(H, W)`` images, 1 for identical ones.

    As the authors' ``msssim.m``: 5 scales with :data:`MS_SSIM_WEIGHTS`, an 11x11 Gaussian window
    (sigma 1.5) over the valid region, K = (0.01, 0.03), 2x2 mean and subsampling between scales;
    the product of the contrast-structure terms of the finer scales and the SSIM of the coarsest.
    A negative term (anti-correlated images) counts as 0, as in pytorch-msssim, instead of giving
    NaN. Both sides must be at least :func:`min_ms_ssim_side` (161) px, else ``InvalidInputError``.
    """
    _check_pair(a, b)
    if a.ndim != 2:
        raise InvalidInputError(f"MS-SSIM takes (H, W) images (e.g. rgb_to_y), got shape {a.shape}")
    need = min_ms_ssim_side()
    if min(a.shape) < need:
        raise InvalidInputError(f"MS-SSIM needs both sides >= {need} px, got {a.shape[1]}x{a.shape[0]}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    score = 1.0
    for i, weight in enumerate(MS_SSIM_WEIGHTS):
        full, cs = _ssim_terms(x, y, data_range)
        last = i == len(MS_SSIM_WEIGHTS) - 1
        score *= max(full if last else cs, 0.0) ** weight
        if not last:
            x, y = _half_box(x), _half_box(y)
    return float(score)


# ---------------------------------------------------------------- GMSD
#: GMSD's stability constant for images on 0-255 (``T = 170`` in the authors' code).
GMSD_T = 170.0
_GMSD_GRAY = (0.299, 0.587, 0.114)


def _gmsd_gray(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float64)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim == 2:
        return x
    if x.ndim != 3 or x.shape[2] != 3:
        raise InvalidInputError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {img.shape}")
    r, g, b = _GMSD_GRAY
    return r * x[:, :, 0] + g * x[:, :, 1] + b * x[:, :, 2]


def gmsd(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Gradient magnitude similarity deviation (Xue, Zhang, Mou and Bovik 2014): 0 for identical images,
    larger = worse (about 0.05-0.2 for typical distortions).

    ``a`` (the distorted image) and ``b`` (the reference) are RGB or gray on 0-``data_range``. As the
    authors' ``GMSD.m``: gray ``0.299 R + 0.587 G + 0.114 B``, ``conv2(., ones(2) / 4, 'same')``
    and every second pixel, Prewitt gradients ``[1 0 -1] / 3`` (zero padding), the similarity map
    ``(2 m_a m_b + T) / (m_a^2 + m_b^2 + T)`` with ``T = 170`` (scaled to ``data_range``), and its
    standard deviation (``std2``, n - 1). The loss of the same name in the trainers is a
    differentiable variant without the subsampling.
    """
    from scipy.ndimage import correlate

    _check_pair(a, b)
    if min(a.shape[:2]) < 4:
        raise InvalidInputError(f"GMSD needs images of at least 4x4 pixels, got shape {a.shape}")
    t = GMSD_T * (data_range / 255.0) ** 2
    prewitt = np.array([[1.0, 0.0, -1.0]] * 3) / 3.0

    def magnitude(img: np.ndarray) -> np.ndarray:
        p = np.pad(_gmsd_gray(img), ((0, 1), (0, 1)))  # conv2 'same' with a 2x2 kernel: zero past the end
        y = ((p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4.0)[::2, ::2]
        gx = correlate(y, prewitt, mode="constant")
        gy = correlate(y, prewitt.T, mode="constant")
        return np.sqrt(gx * gx + gy * gy)

    ma, mb = magnitude(a), magnitude(b)
    gms = (2 * ma * mb + t) / (ma * ma + mb * mb + t)
    return float(np.std(gms, ddof=1))
