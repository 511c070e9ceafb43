"""MS-SSIM and GMSD (``enhance.metrics.paired``) on scikit-image's photos, against other implementations."""

from __future__ import annotations

import numpy as np
import pytest

from enhance import metrics
from enhance.errors import InvalidInputError

data = pytest.importorskip("skimage.data")


def _noisy(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    return np.clip(img + np.random.default_rng(seed).normal(0, sigma, img.shape), 0, 255)


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """A 256x300 RGB crop of astronaut, float64 on 0-255."""
    return np.asarray(data.astronaut(), np.float64)[:256, :300]


def test_ms_ssim_is_one_for_identical_images_and_falls_with_noise(crop: np.ndarray) -> None:
    y = metrics.rgb_to_y(crop)
    assert metrics.ms_ssim(y, y) == pytest.approx(1.0)
    scores = [metrics.ms_ssim(metrics.rgb_to_y(_noisy(crop, s)), y) for s in (5, 20, 50)]
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0.5


def test_ms_ssim_agrees_with_torchmetrics() -> None:
    # what torchmetrics 1.9's multiscale_structural_similarity_index_measure (float64, data_range 255)
    # gives on these images; it averages the coarsest SSIM over its reflection-padded border too (we
    # take the valid region, as msssim.m does), hence up to ~0.002 apart on noisy images. Constants,
    # not a call: importing torchmetrics takes longer than the rest of this file.
    expected = {5: 0.968752, 20: 0.768167, 50: 0.547738}
    img = np.asarray(data.camera(), np.float64)[:256, :256]
    for sigma, theirs in expected.items():
        assert metrics.ms_ssim(_noisy(img, sigma), img) == pytest.approx(theirs, abs=0.005)


def test_ms_ssim_sizes() -> None:
    assert metrics.min_ms_ssim_side() == 161
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 255, (161, 173))  # odd sizes at every scale
    assert 0.0 <= metrics.ms_ssim(a, np.clip(a + rng.normal(0, 10, a.shape), 0, 255)) < 1.0
    with pytest.raises(InvalidInputError, match="161"):
        metrics.ms_ssim(a[:160], a[:160])
    with pytest.raises(InvalidInputError, match=r"\(H, W\)"):
        metrics.ms_ssim(np.zeros((200, 200, 3)), np.zeros((200, 200, 3)))


def test_gmsd_matches_piq(crop: np.ndarray) -> None:
    # what piq 0.8.0's gmsd (the same algorithm in PyTorch, float32) gives on these images
    expected = {5: 0.008908016, 20: 0.090691322, 50: 0.214088400}
    for sigma, value in expected.items():
        assert metrics.gmsd(_noisy(crop, sigma), crop) == pytest.approx(value, rel=1e-4)


def test_gmsd_properties(crop: np.ndarray) -> None:
    assert metrics.gmsd(crop, crop) == 0.0
    low, high = metrics.gmsd(_noisy(crop, 5), crop), metrics.gmsd(_noisy(crop, 30), crop)
    assert 0.0 < low < high
    gray = crop[:, :, 1]
    noisy = _noisy(gray, 10)
    rgb = lambda g: np.repeat(g[:, :, None], 3, axis=2)  # noqa: E731
    assert metrics.gmsd(noisy, gray) == pytest.approx(metrics.gmsd(rgb(noisy), rgb(gray)))
    assert metrics.gmsd(noisy / 255.0, gray / 255.0, data_range=1.0) == pytest.approx(metrics.gmsd(noisy, gray))
    with pytest.raises(InvalidInputError, match="shape"):
        metrics.gmsd(crop, crop[:-1])
