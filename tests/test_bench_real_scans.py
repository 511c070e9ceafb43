"""``benchmarks/real_scans.py``: its scoring of traced damage against a mask, on drawn masks (no
``../shared`` data, no network), and the shipped annotation file's form."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scans() -> ModuleType:
    return load_script(ROOT / "benchmarks" / "real_scans.py", "real_scans")


def _scan(scans: ModuleType) -> object:
    # a horizontal line at row 20 from x 10 to 89 (80 px) and a vertical one at column 70
    return scans.Traced(Path("x.png"), {"h": [(10.0, 20.0), (89.0, 20.0)], "v": [(70.0, 30.0), (70.0, 69.0)]})


def test_sample_line_is_dense_and_clipped(scans: ModuleType) -> None:
    rc = scans.sample_line([(0.0, 0.0), (10.0, 0.0), (10.0, 5.0)], (4, 20))
    assert len(rc) == 16  # 10 + 5 steps, and the end point
    assert rc[:, 0].max() == 3 and rc[:, 1].max() == 10  # rows clipped to the shape


def test_found_counts_the_traced_length_within_the_radius(scans: ModuleType) -> None:
    scan = _scan(scans)
    mask = np.zeros((80, 100), bool)
    mask[22, 10:50] = True  # 2 px off the horizontal line, along its first half
    s = scans.score_scan(mask, scan, radius=3.0)
    assert s.found["h"] == pytest.approx(40 / 80, abs=0.05)
    assert s.found["v"] == 0.0
    assert s.found_total == pytest.approx(40 / 120, abs=0.05)
    assert s.elsewhere == 0.0  # all of it near a traced line
    far = mask.copy()
    far[60:70, 0:10] = True  # 100 px far from both lines
    s = scans.score_scan(far, scan, radius=3.0)
    assert s.elsewhere == pytest.approx(100 / 8000)
    assert s.flagged == pytest.approx(140 / 8000)


def test_a_mask_beyond_the_radius_finds_nothing(scans: ModuleType) -> None:
    mask = np.zeros((80, 100), bool)
    mask[25, :] = True  # 5 px from the horizontal line
    s = scans.score_scan(mask, _scan(scans), radius=3.0)
    assert s.found["h"] == 0.0
    assert scans.score_scan(np.zeros((80, 100), bool), _scan(scans), 3.0).found_total == 0.0


def test_the_annotation_file_loads(scans: ModuleType, tmp_path: Path) -> None:
    radius, traced = scans.load_annotations(scans.ANNOTATIONS, tmp_path)
    assert radius > 0 and {t.path.name for t in traced} == {"b.png", "c.png"}
    raw = json.loads(scans.ANNOTATIONS.read_text())
    for t in traced:
        assert t.path == tmp_path / "samples" / "old_photos" / next(k for k in raw["images"] if k.endswith(t.path.name))
        for pts in t.lines.values():
            assert len(pts) >= 2 and all(0 <= x <= 255 and 0 <= y <= 335 for x, y in pts)
