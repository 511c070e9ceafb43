"""Image-quality metrics, one module per concern.

* :mod:`enhance.metrics.paired`: an image against its reference (PSNR, SSIM, MS-SSIM, GMSD, masked
  PSNR / L1) and the conventions they share (0-255 scale, BT.601 Y for the SR protocol). Its names
  are re-exported here, so ``from enhance import metrics; metrics.psnr_y(sr, hr, 4)`` works.
* :mod:`enhance.metrics.niqe`: NIQE, the no-reference naturalness score, with the LIVE pristine
  model shipped in ``enhance/metrics/data/`` (see ``NOTICE.md`` there).
* :mod:`enhance.metrics.sets`: distribution metrics over two sets of feature vectors: FID, KID,
  precision / recall (Kynkaanniemi et al. 2019), density / coverage (Naeem et al. 2020).
* :mod:`enhance.metrics.features`: the feature extractors for those, built from local weight files
  only (Inception-v3, a pruned VGG-19, a seeded random net for tests); nothing is downloaded.
* :mod:`enhance.metrics.evaluate`: folders of outputs (and references) to a report, the library
  side of ``enhance eval``.

Only :mod:`~enhance.metrics.paired` is imported with the package; the others load when imported.
"""

from __future__ import annotations

from enhance.metrics.paired import (
    Y_COEFFS,
    Y_OFFSET,
    GMSD_T,
    MS_SSIM_WEIGHTS,
    gmsd,
    masked_l1,
    masked_psnr,
    min_ms_ssim_side,
    ms_ssim,
    mse,
    psnr,
    psnr_rgb,
    psnr_y,
    rgb_to_y,
    shave_border,
    ssim,
    ssim_rgb,
    ssim_y,
    to_uint8,
)

__all__ = [
    "GMSD_T",
    "MS_SSIM_WEIGHTS",
    "Y_COEFFS",
    "Y_OFFSET",
    "gmsd",
    "masked_l1",
    "masked_psnr",
    "min_ms_ssim_side",
    "ms_ssim",
    "mse",
    "psnr",
    "psnr_rgb",
    "psnr_y",
    "rgb_to_y",
    "shave_border",
    "ssim",
    "ssim_rgb",
    "ssim_y",
    "to_uint8",
]
