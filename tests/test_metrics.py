"""Tests of ``enhance.metrics`` on small synthetic images (no benchmark data needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from enhance import metrics
from enhance.errors import InvalidInputError


@pytest.fixture
def rgb() -> np.ndarray:
    """A deterministic 40x48 uint8 RGB image with structure (gradients plus noise)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48]
    base = np.stack([xx * 5, yy * 6, (xx + yy) * 3], axis=2).astype(np.float64)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def test_y_of_white_is_235_and_black_is_16() -> None:
    white = np.full((4, 4, 3), 255, np.uint8)
    black = np.zeros((4, 4, 3), np.uint8)
    assert np.allclose(metrics.rgb_to_y(white), 235.0)
    assert np.allclose(metrics.rgb_to_y(black), 16.0)
    assert np.allclose(metrics.rgb_to_y(np.full((2, 2, 3), 255.0)), 235.0)  # float input on 0-255
    assert np.allclose(metrics.rgb_to_y(np.full((2, 2, 3), 65535, np.uint16)), 235.0)  # uint16 rescaled


def test_y_of_gray_equals_y_of_replicated_rgb(rgb: np.ndarray) -> None:
    gray = rgb[:, :, 1]
    assert np.allclose(metrics.rgb_to_y(gray), metrics.rgb_to_y(np.repeat(gray[:, :, None], 3, 2)))
    assert np.allclose(metrics.rgb_to_y(gray[:, :, None]), metrics.rgb_to_y(gray))


def test_y_coefficients() -> None:
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    assert metrics.rgb_to_y(red)[0, 0] == pytest.approx(16 + 65.481)


def test_float_and_uint8_give_the_same_y(rgb: np.ndarray) -> None:
    assert np.allclose(metrics.rgb_to_y(rgb), metrics.rgb_to_y(rgb.astype(np.float32)))
    assert metrics.psnr_y(rgb, rgb.astype(np.float64), 2) == math.inf


def test_identical_images(rgb: np.ndarray) -> None:
    assert metrics.psnr(rgb, rgb) == math.inf
    assert metrics.psnr_y(rgb, rgb, 4) == math.inf
    assert metrics.ssim_y(rgb, rgb, 4) == pytest.approx(1.0)
    assert metrics.ssim_rgb(rgb, rgb) == pytest.approx(1.0)


def test_known_mse_gives_known_psnr() -> None:
    a = np.zeros((8, 8), np.uint8)
    b = np.full((8, 8), 10, np.uint8)  # MSE = 100
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))
    x = np.zeros((8, 8))
    assert metrics.psnr(x, x + 0.1, data_range=1.0) == pytest.approx(20.0)  # MSE 0.01 on [0, 1]


def test_shave_ignores_the_border(rgb: np.ndarray) -> None:
    damaged = rgb.copy()
    damaged[:3, :] = 0
    damaged[:, -3:] = 255
    assert metrics.psnr_y(damaged, rgb, 0) < 40
    assert metrics.psnr_y(damaged, rgb, 3) == math.inf
    assert metrics.ssim_y(damaged, rgb, 3) == pytest.approx(1.0)
    assert metrics.shave_border(rgb, 2).shape == (36, 44, 3)


def test_ssim_drops_with_noise(rgb: np.ndarray) -> None:
    noisy = np.clip(rgb + np.random.default_rng(1).normal(0, 20, rgb.shape), 0, 255).astype(np.uint8)
    assert 0.0 < metrics.ssim_rgb(noisy, rgb) < 0.95
    assert 0.0 < metrics.ssim_y(noisy, rgb, 2) < 0.95


def test_masked_metrics(rgb: np.ndarray) -> None:
    out = rgb.astype(np.int16)
    mask = np.zeros(rgb.shape[:2], np.uint8)
    mask[10:20, 10:20] = 1
    out[10:20, 10:20] += 6  # error only inside the hole
    out = np.clip(out, 0, 255)
    expected = np.abs(out.astype(np.float64) - rgb)[10:20, 10:20].mean()
    assert metrics.masked_l1(out, rgb, mask) == pytest.approx(expected)
    assert metrics.masked_psnr(rgb, rgb, mask) == math.inf
    assert metrics.masked_psnr(out, rgb, mask) < metrics.psnr(out, rgb)  # the error is concentrated in the hole


def test_bad_input_raises(rgb: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match="shape"):
        metrics.psnr(rgb, rgb[:-1])
    with pytest.raises(InvalidInputError, match="shave"):
        metrics.psnr_y(rgb, rgb, 30)
    with pytest.raises(InvalidInputError):
        metrics.rgb_to_y(np.zeros((4, 4, 4)))
    with pytest.raises(InvalidInputError, match="no hole"):
        metrics.masked_l1(rgb, rgb, np.zeros(rgb.shape[:2]))


def test_to_uint8_rounds_and_clips() -> None:
    x = np.array([-0.1, 0.0, 0.5, 1.0, 1.2])
    assert metrics.to_uint8(x).tolist() == [0, 0, 128, 255, 255]
