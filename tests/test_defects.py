"""The learned defect detector (enhance/defects.py), its use in restore, auto-levels, and its trainer."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from enhance import defects
from enhance.defects import DefectDetector, threshold
from enhance.errors import InvalidInputError
from enhance.io import ImageData
from enhance.training.detector import DetectorConfig
from enhance.ops.levels import auto_levels
from enhance.restoration import RestoreModels, RestoreOptions, find_defects, restore_image


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    from enhance.training.detector import build_detector

    return build_detector(defects.BASE, defects.LEVELS)


def test_threshold_follows_the_odds() -> None:
    assert threshold(1.0) == pytest.approx(defects.THRESHOLD)
    assert threshold(2.0) < threshold(1.0) < threshold(0.5)
    t2 = threshold(2.0)
    assert t2 / (1 - t2) == pytest.approx(defects.THRESHOLD / (1 - defects.THRESHOLD) / 2)
    with pytest.raises(InvalidInputError):
        threshold(0)


def test_probability_shapes_gray_and_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    det = DefectDetector(_net())
    rng = np.random.default_rng(0)
    img = rng.random((70, 90, 3), dtype=np.float32)
    p = det.probability(img)
    assert p.shape == (70, 90) and p.dtype == np.float32 and 0 <= p.min() and p.max() <= 1
    gray = det.probability(img.mean(axis=2, keepdims=True))
    assert gray.shape == (70, 90)
    # tiled like a big scan: the blend matches the whole-image result closely
    big = rng.random((300, 260, 3), dtype=np.float32)
    whole = det.probability(big)
    monkeypatch.setattr(defects, "TILE", 160)
    monkeypatch.setattr(defects, "OVERLAP", 48)
    tiled = det.probability(big)
    assert np.abs(tiled - whole).max() < 0.05
    with pytest.raises(InvalidInputError):
        det.probability(img[:, :, :2])


def test_detect_thresholds_and_grows() -> None:
    class Fixed(torch.nn.Module):
        """Logits: +4 on one pixel column, -4 elsewhere."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.full_like(x[:, :1], -4.0)
            out[..., 20] = 4.0
            return out

    det = DefectDetector(Fixed())
    m = det.detect(np.zeros((32, 48, 3), np.float32))
    assert m[:, 20].all() and m[:, 19].all() and m[:, 21].all()  # grown by GROW = 1 px
    assert not m[:, :18].any() and not m[:, 23:].any()
    assert not det.detect(np.zeros((32, 48, 3), np.float32), sensitivity=1e-3).any()  # odds too high


def test_only_damage_shaped_regions_are_kept() -> None:
    from enhance.defects import damage_shaped

    m = np.zeros((200, 300), bool)
    m[20:23, 10:200] = True  # a crack: long and narrow
    m[60:80, 40:60] = True  # a compact blob (a white collar): dropped
    m[100:103, 100:103] = True  # a dust speck: kept
    m[120:170, 150:290] = True  # an elongated but very wide band: dropped
    out = damage_shaped(m)
    assert out[20:23, 10:200].all() and out[100:103, 100:103].all()
    assert not out[60:80, 40:60].any() and not out[120:170, 150:290].any()
    assert not damage_shaped(np.zeros((8, 8), bool)).any()


def _fixed_detector(col: int) -> DefectDetector:
    class Fixed(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.full_like(x[:, :1], -6.0)
            out[..., col] = 6.0
            return out

    return DefectDetector(Fixed(), name="fixed")


def test_restore_uses_the_chosen_detector(tiny_registry: object) -> None:
    from enhance.restoration import RestoreInfo

    rgb = np.full((40, 48, 3), 0.5, np.float32)
    rgb[20, 4:44] = 0.02  # a dark line for the classical filters
    img = ImageData(pixels=rgb, alpha=None, bit_depth=8, format="png")
    models = RestoreModels.default(RestoreOptions(), device="cpu")
    models.detector = _fixed_detector(7)
    learned = find_defects(rgb, RestoreOptions(), models)
    lines = find_defects(rgb, RestoreOptions(detector="lines"), models)
    both = find_defects(rgb, RestoreOptions(detector="both"), models)
    assert learned[:, 7].all() and not learned[20, 20]
    assert lines[20, 10:38].all() and not lines[:, 7].all()
    np.testing.assert_array_equal(both, learned | lines)
    info = RestoreInfo()
    _, mask = restore_image(img, RestoreOptions(denoise=False), models, info=info)
    assert info.models == ["fixed", "tiny-inpaint"]
    np.testing.assert_array_equal(mask, learned)
    with pytest.raises(InvalidInputError):
        RestoreOptions(detector="magic")  # type: ignore[arg-type]


def test_auto_levels_stretches_and_keeps_the_tint() -> None:
    rng = np.random.default_rng(1)
    lum = rng.uniform(0.2, 0.65, (50, 60)).astype(np.float32)
    sepia = np.stack([lum, lum * 0.9, lum * 0.75], 2)
    out = auto_levels(sepia)
    y = out @ np.array([0.299, 0.587, 0.114], np.float32)
    assert np.percentile(y, 0.5) < 0.05 and np.percentile(y, 99.5) > 0.95
    # one linear map for every channel: the channels stay ordered like the tint
    assert (out[..., 0] >= out[..., 2] - 1e-6).all()
    # white cracks left out of the percentiles do not set the white point
    cracked = sepia.copy()
    cracked[:, 30] = 1.0
    ignore = np.zeros((50, 60), bool)
    ignore[:, 30] = True
    np.testing.assert_allclose(auto_levels(cracked, ignore)[:, :30], auto_levels(sepia, ignore)[:, :30], atol=1e-6)
    assert auto_levels(cracked)[:, :30].max() < out.max() - 0.02  # counted, the cracks would
    # a flat image gains at most MAX_GAIN in contrast
    flat = np.full((20, 20, 3), 0.5, np.float32) + rng.normal(0, 0.01, (20, 20, 3)).astype(np.float32)
    assert auto_levels(flat).std() <= 3.2 * flat.std()


def test_restore_auto_levels_is_off_by_default(tiny_registry: object) -> None:
    from enhance.restoration import RestoreInfo

    rgb = np.repeat(np.random.default_rng(2).uniform(0.2, 0.65, (32, 32, 1)), 3, axis=2).astype(np.float32)
    img = ImageData(pixels=rgb, alpha=None, bit_depth=8, format="png")
    models = RestoreModels.default(RestoreOptions(), device="cpu")
    info = RestoreInfo()
    out, _ = restore_image(img, RestoreOptions(detect=False, denoise=False), models, info=info)
    np.testing.assert_array_equal(out.pixels, rgb)
    out, _ = restore_image(img, RestoreOptions(detect=False, denoise=False, auto_levels=True), models, info=info)
    assert out.pixels.max() > 0.95 and info.models == ["auto-levels"]


@pytest.mark.parametrize("name", ["astronaut", "chelsea"])
def test_shipped_detector_finds_damage_on_an_old_print_and_leaves_it_clean(name: str) -> None:
    """The shipped weights on real photos (scikit-image's) aged into old prints and damaged: most of
    the damage is found, the same print undamaged is (nearly) not flagged."""
    if not defects.available():
        pytest.fail("weights/defects.safetensors is not installed")
    import cv2
    from skimage import data

    from enhance.training.damage import Paper, benchmark_sample

    photo = getattr(data, name)()
    det = defects.shipped("cpu")
    damaged, mask, _, undamaged = benchmark_sample(1, photo, Paper(), aged=True)
    found = det.detect(damaged.astype(np.float32) / 255)
    near = cv2.dilate(found.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert (mask & near).sum() / mask.sum() > 0.6
    assert det.detect(undamaged.astype(np.float32) / 255).mean() < 0.005


def _tiny_detector_run(tmp_path: Path, seed: int, **overrides: Any) -> DetectorConfig:
    """A detector training config on four random 90 x 100 photos (three to train, one to validate)."""
    from PIL import Image

    root = tmp_path / "data"
    (root / "p").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (90, 100, 3), dtype=np.uint8)).save(root / "p" / f"{i}.png")
        names.append(f"p/{i}.png")
    manifest = tmp_path / "split.json"
    manifest.write_text(json.dumps({"train": names[:3], "val": names[3:]}))
    base = dict(out_dir=str(tmp_path / "run"), data_root=str(root), manifest=str(manifest), textures=(),
                bank_size=8, val_size=4, bank_crop=64, patch=48, batch=2, base=4, levels=2, steps=6,
                log_every=2, val_every=3, ckpt_every=2, workers=1, scale_range=(0.8, 1.0))
    return DetectorConfig(**{**base, **overrides})  # type: ignore[arg-type]


def test_trainer_runs_resumes_and_keeps_the_best(tmp_path: Path) -> None:
    from enhance.training.detector import DetectorTrainer

    cfg = _tiny_detector_run(tmp_path, 0)
    res = DetectorTrainer(cfg).fit()
    assert res["steps"] == 6 and (tmp_path / "run" / "best.safetensors").is_file()
    assert (tmp_path / "run" / "log.csv").read_text().count("val") >= 2
    from dataclasses import replace

    res = DetectorTrainer(replace(cfg, steps=8)).fit()  # resumes from last.safetensors
    assert res["steps"] == 8


def test_select_kind_validates_that_kind_alone_and_keeps_by_both_f1s(tmp_path: Path) -> None:
    from enhance.training.detector import DetectorTrainer
    from safetensors import safe_open

    cfg = _tiny_detector_run(tmp_path, 3, steps=3, select_kind="pressed_crease", kind_val_size=3)
    DetectorTrainer(cfg).fit()
    run = tmp_path / "run"
    with np.load(run / "bank_val_pressed_crease.npz") as z:
        assert z["images"].shape == (3, 64, 64, 3)
    rows = [r for r in csv.DictReader((run / "log.csv").open()) if r.get("kind_f1")]
    assert rows and all(0 <= float(r["kind_mean_prob"]) <= 1 for r in rows)
    best = max((float(r["f1"]) + float(r["kind_f1"])) / 2 for r in rows)
    with safe_open(str(run / "best.safetensors"), "pt") as f:
        assert float(f.metadata()["val_score"]) == pytest.approx(best, abs=1e-4)
    with pytest.raises(ValueError, match="select_kind"):
        DetectorTrainer(_tiny_detector_run(tmp_path / "b", 3, select_kind="coffee_stain"))


def test_hard_negatives_are_the_undamaged_crops_the_detector_flags_most(tmp_path: Path) -> None:
    from enhance.training.detector import DetectorTrainer, mine_hard_negatives

    cfg = _tiny_detector_run(tmp_path, 1, steps=2, log_every=1, val_every=2, hard_negatives=4, hard_pool=3)
    root = Path(cfg.data_root)
    names = json.loads(Path(cfg.manifest).read_text())["train"]

    class Bright(torch.nn.Module):  # "flags" a pixel where it is bright: the brightest crops are the hardest
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(1, keepdim=True) - 0.5

    photos = [root / n for n in names]
    images, masks = mine_hard_negatives(photos, 4, 7, cfg, Bright(), torch.device("cpu"), tmp_path / "hard.npz")
    with np.load(tmp_path / "hard_pool.npz") as z:
        pool = z["images"]
    assert images.shape == (4, 64, 64, 3) and pool.shape[0] == 12 and not masks.any()
    share = (pool.mean(3) / 255 > 0.5).mean((1, 2))
    assert (images.mean(3) / 255 > 0.5).mean((1, 2)).min() >= np.sort(share)[-4] - 1e-9
    res = DetectorTrainer(cfg).fit()  # the banks grow by the mined crops: 8 + 4 train, 4 + 2 validation (in proportion)
    assert res["steps"] == 2
    with np.load(tmp_path / "run" / "bank_val_hard.npz") as z:
        assert z["images"].shape[0] == 2


def test_hard_positives_are_cracked_twins_of_the_hard_negatives(tmp_path: Path) -> None:
    from enhance.training.detector import DetectorTrainer

    cfg = _tiny_detector_run(tmp_path, 2, steps=2, log_every=1, val_every=2, hard_negatives=4, hard_pool=2,
                             hard_positives=2)
    assert DetectorTrainer(cfg).fit()["steps"] == 2
    run = tmp_path / "run"
    with np.load(run / "bank_hard.npz") as neg, np.load(run / "bank_hard_pos.npz") as pos:
        assert pos["images"].shape == (2, 64, 64, 3) and pos["masks"].any()
        assert not neg["masks"].any()
        # the same crops (aged, cracked and scanned again): close outside the cracks, not equal
        diff = np.abs(pos["images"].astype(int) - neg["images"][:2].astype(int)).mean()
        assert 0 < diff < 80
    with np.load(run / "bank_val_hard_pos.npz") as z:
        assert z["images"].shape[0] == 1  # 2 of 4, in proportion: 1 of the 2 validation negatives


def test_check_refuses_a_missing_detector_before_any_file(tiny_registry: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from enhance import restoration
    from enhance.errors import WeightsError

    models = RestoreModels.default(RestoreOptions(), device="cpu")
    monkeypatch.setattr(restoration, "defects_available", lambda: False)
    with pytest.raises(WeightsError, match="--detector lines"):
        models.check(RestoreOptions())
    models.check(RestoreOptions(detector="lines"))  # the classical filters need no weights
    assert models.detector is None  # nothing loaded on the driver: it loads where it runs
