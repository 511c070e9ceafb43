"""The distribution metrics over patches that ``benchmarks/sr.py`` and ``benchmarks/realsr.py`` share
(``benchmarks/common.py``: ``patch_corners``, ``PatchFeatures``, ``dist_table``), on generated images with
the seeded random extractor (no ``../shared`` data, no weight file)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from conftest import load_script
from enhance.metrics.features import random_extractor

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def common() -> ModuleType:
    return load_script(ROOT / "benchmarks" / "common.py", "bench_common")


def _images(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (96, 130, 3), dtype=np.uint8) for _ in range(n)]


def test_patch_corners_are_a_centred_grid_and_a_seeded_choice(common: ModuleType) -> None:
    grid = common.patch_corners((130, 200, 3), 64, 100, np.random.default_rng(0))
    assert grid == [(1, 4), (1, 68), (1, 132), (65, 4), (65, 68), (65, 132)]  # 2 x 3 cells, centred
    some = common.patch_corners((130, 200, 3), 64, 4, np.random.default_rng(7))
    assert len(some) == 4 and set(some) <= set(grid) and some == sorted(some)
    assert some == common.patch_corners((130, 200, 3), 64, 4, np.random.default_rng(7))
    assert common.patch_corners((50, 200, 3), 64, 10, np.random.default_rng(0)) == []  # smaller than a patch


def test_patch_features_of_identical_sets_and_of_a_changed_one(common: ModuleType) -> None:
    pf = common.PatchFeatures(random_extractor(0), size=32, per_set=40)
    images = _images(4, 1)
    for i, img in enumerate(images):
        corners = pf.corners(img.shape, i, len(images))
        assert len(corners) == 10  # ceil(40 / 4) of the 3 x 4 grid
        assert corners == pf.corners(img.shape, i, len(images))
        pf.add("hr", img, corners)
        pf.add("same", img.copy(), corners)
        pf.add("dark", img // 4, corners)
    assert pf.count("hr") == pf.total() // 3 == 40
    same = pf.scores("same", "hr")
    assert same is not None and same.n_fake == same.n_real == 40
    assert same.fid == pytest.approx(0.0, abs=1e-6)
    assert (same.precision, same.recall, same.coverage) == (1.0, 1.0, 1.0)
    assert same.density == pytest.approx(1.0)
    dark = pf.scores("dark", "hr")
    assert dark is not None and dark.fid > 1.0 and dark.precision < 0.5
    assert pf.scores("missing", "hr") is None  # too few patches for a set metric
    assert pf.seconds > 0


def test_dist_table_and_protocol_name_the_extractor(common: ModuleType) -> None:
    pf = common.PatchFeatures(random_extractor(3), size=32, per_set=20)
    for i, img in enumerate(_images(2, 2)):
        corners = pf.corners(img.shape, i, 2)
        pf.add(("HR", "A"), img, corners)
        pf.add(("m", "A"), img[::-1].copy(), corners)
    table = common.dist_table([("m", [pf.scores(("m", "A"), ("HR", "A")), None])], ["A", "B"], pf.fid_name)
    lines = table.splitlines()
    assert lines[0] == "| method | A (20 patches) FID-random | A P / R | A D / C | B (0 patches) FID-random | B P / R | B D / C |"
    assert lines[2].startswith("| m | ") and lines[2].endswith(" | - | - | - |")
    text = pf.protocol()
    assert pf.extractor.info.sha256[:12] in text and "32x32 patches" in text and "ceil(20 / images" in text
    with pytest.raises(ValueError, match="patch size"):
        common.PatchFeatures(random_extractor(0), size=4)
