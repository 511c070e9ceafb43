"""``benchmarks/detector_sweep.py``: its flip averaging and its decision, on a tiny random detector
(no ``../shared`` data, no network)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from conftest import load_script
from enhance.archs.unet import UNetRestorer
from enhance.defects import LEVELS, DefectDetector

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sweep() -> ModuleType:
    return load_script(ROOT / "benchmarks" / "detector_sweep.py", "detector_sweep")


@pytest.fixture(scope="module")
def det() -> DefectDetector:
    torch.manual_seed(0)
    net = UNetRestorer(extra_channels=0, base=4, levels=LEVELS, residual=False, out_channels=1)
    return DefectDetector(net)


def _flips(sweep: ModuleType, det: DefectDetector, x: np.ndarray, k: int) -> np.ndarray:
    """The map ``--flips k`` scores: the mean of the first ``k`` passes, as ``sweep.sweep`` takes it."""
    return np.mean([sweep.view_probability(det, x, *v) for v in sweep.VIEWS[:k]], axis=0)


def _image(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((48, 64, 3), dtype=np.float32)


def test_one_flip_is_the_plain_probability_and_its_decision_is_detect(sweep: ModuleType, det: DefectDetector) -> None:
    x = _image()
    p = _flips(sweep, det, x, 1)
    np.testing.assert_array_equal(p, det.probability(x))
    for th in (float(np.quantile(p, 0.7)), float(np.quantile(p, 0.95))):
        from enhance import defects

        sens = (defects.THRESHOLD / (1 - defects.THRESHOLD)) / (th / (1 - th))
        np.testing.assert_array_equal(sweep.decide(p, th), det.detect(x, sensitivity=sens))


def test_flip_averaging_undoes_each_flip(sweep: ModuleType, det: DefectDetector) -> None:
    x = _image()
    p2 = _flips(sweep, det, x, 2)
    manual = (det.probability(x) + det.probability(np.ascontiguousarray(x[:, ::-1]))[:, ::-1]) / 2
    np.testing.assert_allclose(p2, manual, atol=1e-6)
    # averaged over both flips, the map follows the image: the map of the flipped image is the flipped map
    p4 = _flips(sweep, det, x, 4)
    p4_flipped = _flips(sweep, det, np.ascontiguousarray(x[::-1]), 4)
    np.testing.assert_allclose(p4_flipped, p4[::-1], atol=1e-5)
    assert not np.allclose(det.probability(np.ascontiguousarray(x[::-1])), det.probability(x)[::-1], atol=1e-5)


def test_by_kind_scores_each_kind_with_and_without_the_shape_rule(sweep: ModuleType) -> None:
    """A detector that finds exactly the damage: a thin line keeps recall 1 with the shape rule, a
    compact flake (too wide to be a crack) is dropped by it and found without it."""
    from types import SimpleNamespace

    line = np.zeros((96, 96), bool)
    line[40:42, 5:90] = True
    flake = np.zeros((96, 96), bool)
    flake[20:60, 20:60] = True

    class Oracle:
        def probability(self, pixels: np.ndarray) -> np.ndarray:  # the case's damage, read off its red channel
            return (pixels[..., 0] > 0.5).astype(np.float32)

    def case(mask: np.ndarray) -> SimpleNamespace:
        img = np.zeros((96, 96, 3), np.uint8)
        img[mask] = 255
        return SimpleNamespace(damaged=img, true=mask, visible=mask)

    rows = sweep.by_kind(Oracle(), {"line": [case(line)], "flake": [case(flake)]})
    recall = {(r[0], r[1]): float(r[3]) for r in rows}
    assert recall[("line", "on")] == recall[("line", "off")] == 1.0
    assert recall[("flake", "off")] == 1.0 and recall[("flake", "on")] == 0.0
    assert [r[5] for r in rows] == [str(line.sum())] * 2 + [str(flake.sum())] * 2
