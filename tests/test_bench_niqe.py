"""NIQE in the SR benchmarks: ``benchmarks/common.py``'s NIQE helpers (shared by ``sr.py`` and
``realsr.py``) and ``sr.py``'s NIQE table, on generated images (no ``../shared`` data, no network)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from conftest import load_script
from enhance.metrics.niqe import live_params_file, niqe

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def common() -> ModuleType:
    return load_script(ROOT / "benchmarks" / "common.py", "bench_common")


@pytest.fixture(scope="module")
def sr() -> ModuleType:
    return load_script(ROOT / "benchmarks" / "sr.py", "bench_sr")


def _photo(side: int, seed: int) -> np.ndarray:
    """A smooth pattern with some noise: something NIQE can score."""
    y, x = np.mgrid[:side, :side] / side
    base = 128 + 60 * np.sin(9 * x + 4 * y) * np.cos(7 * y)
    noise = np.random.default_rng(seed).normal(0, 6, (side, side))
    g = np.clip(base + noise, 0, 255)
    return np.stack([g, g * 0.9, g * 0.8], axis=-1).astype(np.uint8)


def test_niqe_cells_labels_and_caveat(common: ModuleType) -> None:
    assert common.niqe_cell([[3.0, 10.0], [5.0, 12.0]]) == "4.00 / 11.00"
    assert common.niqe_cell(None) == common.niqe_cell([]) == "-"
    models = common.load_niqe_models([str(live_params_file())])
    assert [common.niqe_label(m) for m in models] == ["LIVE model (niqe_pris_params.npz)"]
    assert common.niqe_caveat(models) is None
    img = _photo(200, 0)
    assert common.niqe_all(img, models) == [niqe(img)]


def test_sr_niqe_flags(sr: ModuleType) -> None:
    args = sr.parse_args([])
    assert args.niqe_model == [str(live_params_file())] and not args.no_niqe
    assert sr.parse_args(["--no-niqe"]).no_niqe
    with pytest.raises(SystemExit):
        sr.parse_args(["--niqe-model", str(ROOT / "no-such-model.npz")])


def test_sr_niqe_table_has_the_outputs_and_the_hr(sr: ModuleType, common: ModuleType, tmp_path: Path) -> None:
    root = tmp_path / "bench" / "sr" / "Toy"
    (root / "HR").mkdir(parents=True)
    (root / "LR_x4").mkdir()
    for name, side in (("a.png", 200), ("b.png", 160)):  # b: under NIQE's 194 px, left out
        hr = _photo(side, len(name) + side)
        Image.fromarray(hr).save(root / "HR" / name)
        Image.fromarray(hr).resize((side // 4, side // 4), Image.Resampling.BICUBIC).save(root / "LR_x4" / name)
    methods = [sr.Method("bicubic", sr.bicubic_pil(4))]
    run = sr.NiqeRun(common.load_niqe_models([str(live_params_file())]))
    counts = sr.evaluate(methods, tmp_path, ["Toy"], 4, None, niqe=run)
    assert counts == {"Toy": 2} and len(methods[0].psnr["Toy"]) == 2
    hr_a = np.asarray(Image.open(root / "HR" / "a.png").convert("RGB"))
    assert run.hr["Toy"] == [[pytest.approx(niqe(hr_a))]]
    assert len(methods[0].niqe["Toy"]) == 1 and run.images == 2 and run.patches == {"Toy": [4]}
    lines = sr.niqe_table(methods, ["Toy"], 4, run).splitlines()
    assert lines[0] == "| method | Toy x4 (1) NIQE |"
    assert lines[2] == f"| bicubic | {methods[0].niqe['Toy'][0][0]:.2f} |"
    assert lines[3] == f"| HR (the target) | {run.hr['Toy'][0][0]:.2f} |"
    assert sr.niqe_note(["Toy"], run) == "Toy 4"
