"""The print-damage synthesis (training/damage.py): exact masks, every kind, seeds, ageing."""

from __future__ import annotations

import numpy as np
import pytest

from enhance.training import damage
from enhance.training.damage import KINDS, Paper, age, benchmark_sample, old_print, vivid


def _photo(h: int = 128, w: int = 160, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with a few soft blobs: uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.3 + 0.4 * xx / w, 0.5 + 0.2 * yy / h, 0.45 + 0.1 * np.sin(xx / 17)], 2)
    for _ in range(4):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        img += 0.15 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 300)[..., None] * rng.uniform(-1, 1, 3)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


PAPER = Paper()  # no texture files: fine noise stands in for paper


@pytest.mark.parametrize("kind", KINDS + damage.EXTRA_KINDS)
def test_each_kind_draws_a_mask_that_matches_what_changed(kind: str) -> None:
    x = _photo().astype(np.float32) / 255
    found = 0
    for seed in range(4):  # a kind may draw nothing visible once (e.g. no dust this time)
        out, mask = damage.damage(np.random.default_rng(seed), x, PAPER, kinds=[kind])
        change = np.abs(out - x).max(axis=2)
        assert out.shape == x.shape and mask.dtype == bool
        if mask.any():
            found += 1
            # inside the mask the picture visibly changed ...
            assert np.median(change[mask]) > damage.VISIBLE
            # ... and far from it nothing did (creases shade a band beside the line, hence the slack)
            import cv2

            near = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
            assert change[~near].max() < 0.2
    assert found >= 2, f"{kind} drew no visible damage in 4 tries"


def test_thin_cracks_are_fine_bright_lines_that_start_in_the_dark() -> None:
    import cv2

    x = _photo(160, 160).astype(np.float32) / 255
    x[:, :60] *= 0.25  # a dark band on the left
    dark = damage._lum(x) < np.quantile(damage._lum(x), 0.3)
    for seed in range(4):
        out, m = damage.damage(np.random.default_rng(seed), x, PAPER, kinds=["thin_cracks"])
        assert m.any() and (m & dark).sum() > 0.2 * m.sum()  # a good part of each over the dark
        assert 2 * float(cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3).max()) <= 6
        assert damage._lum(out)[m & dark].mean() > damage._lum(x)[m & dark].mean() + 0.3  # bright


def test_weights_set_the_chance_of_each_kind() -> None:
    x = _photo().astype(np.float32) / 255
    only_creases = tuple(1.0 if k == "crease" else 0.0 for k in KINDS)
    out, mask = damage.damage(np.random.default_rng(5), x, PAPER, weights=only_creases)
    rng = np.random.default_rng(5)
    rng.random(len(KINDS))  # the draws that picked the kinds
    same, same_mask = damage.damage(rng, x, PAPER, kinds=["crease"])
    np.testing.assert_array_equal(out, same)
    np.testing.assert_array_equal(mask, same_mask)
    # the chances of the first extra kinds only (a config written before later ones existed)
    for n_extra in range(1, len(damage.EXTRA_KINDS) + 1):
        extras = damage.EXTRA_KINDS[:n_extra]
        with_extras = (0.0,) * len(KINDS) + tuple(1.0 if k == extras[-1] else 0.0 for k in extras)
        out, mask = damage.damage(np.random.default_rng(5), x, PAPER, weights=with_extras)
        rng = np.random.default_rng(5)
        rng.random(len(KINDS) + n_extra)
        same, same_mask = damage.damage(rng, x, PAPER, kinds=[extras[-1]])
        np.testing.assert_array_equal(out, same)
        np.testing.assert_array_equal(mask, same_mask)
    for bad in ((1.0,) * (len(KINDS) - 1), (0.0,) * len(KINDS), (1.0,) * (len(KINDS) + len(damage.EXTRA_KINDS) + 1)):
        with pytest.raises(ValueError, match="damage weights"):
            damage.damage(np.random.default_rng(0), x, PAPER, weights=bad)


def test_faint_creases_are_fainter_and_narrower_than_creases() -> None:
    x = np.full((128, 128, 3), 0.7, np.float32)  # a light, flat background, as the real creased scan
    def measure(kind: str) -> tuple[float, float]:
        darkest, area = [], []
        for seed in range(6):
            out, m = damage.damage(np.random.default_rng(seed), x, PAPER, kinds=[kind])
            darkest.append(float(x.mean() - out.mean(axis=2).min()))
            area.append(float(m.mean()))
        return float(np.median(darkest)), float(np.median(area))
    faint, crease = measure("faint_crease"), measure("crease")
    assert faint[0] < crease[0] and faint[1] < crease[1]
    assert faint[1] > 0  # still visible: masked where the shadow shows


def test_pressed_creases_are_bright_ridges_masked_where_they_show() -> None:
    x = np.full((128, 128, 3), 0.5, np.float32)
    seen = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        layer, shade = damage.pressed_crease(rng, x, PAPER)
        assert layer.alpha.max() <= 0.4  # at most 40 % of the way to the paper, mostly below COVER ...
        out, m = damage.damage(np.random.default_rng(seed), x, PAPER, kinds=["pressed_crease"])
        again, m2 = damage.damage(np.random.default_rng(seed), x, PAPER, kinds=["pressed_crease"])
        np.testing.assert_array_equal(out, again)
        np.testing.assert_array_equal(m, m2)
        lum = out.mean(axis=2)
        assert lum.min() > 0.5 - 0.06  # hardly any shadow
        if m.any():  # ... yet masked where the ridge shows, and only there
            seen += 1
            change = np.abs(out - x).max(axis=2)[m]  # (the thin dark lip may cancel a little of it)
            assert np.mean(change > damage.FAINT_VISIBLE) >= 0.8 and lum[m].mean() > 0.5
            assert m.mean() < 0.1
    assert seen >= 6
    # under heavy grain the same ridges are masked far less: they cannot be seen there
    grainy = np.clip(x + np.random.default_rng(1).normal(0, 0.08, x.shape), 0, 1).astype(np.float32)
    flat_area = sum(damage.damage(np.random.default_rng(s), x, PAPER, kinds=["pressed_crease"])[1].sum() for s in range(8))
    grain_area = sum(damage.damage(np.random.default_rng(s), grainy, PAPER, kinds=["pressed_crease"])[1].sum()
                     for s in range(8))
    assert grain_area < 0.7 * flat_area


def test_hard_positive_ages_the_scan_and_draws_thin_cracks() -> None:
    scan_u8 = _photo(96, 96)
    a, ma = damage.hard_positive(np.random.default_rng(3), scan_u8, PAPER)
    b, mb = damage.hard_positive(np.random.default_rng(3), scan_u8, PAPER)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    assert a.dtype == np.uint8 and a.shape == scan_u8.shape and ma.shape == scan_u8.shape[:2] and ma.any()


def test_widths_reach_wide_cracks_and_stay_thin_for_scratches() -> None:
    import cv2

    x = _photo(192, 192).astype(np.float32) / 255

    def widest(kind: str) -> float:
        w = 0.0
        for seed in range(6):
            _, m = damage.damage(np.random.default_rng(seed), x, PAPER, kinds=[kind])
            if m.any():
                w = max(w, 2 * float(cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3).max()))
        return w

    assert widest("wide") >= 8
    assert widest("scratches") <= 12  # dust specks reach ~10 px; scratches and hairs stay under 3


def test_old_print_is_seeded_and_sometimes_clean() -> None:
    img = _photo()
    a = old_print(np.random.default_rng(5), img, PAPER)
    b = old_print(np.random.default_rng(5), img, PAPER)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].dtype == np.uint8 and a[0].shape == img.shape
    clean = [old_print(np.random.default_rng(s), img, PAPER, p_clean=1.0)[1].any() for s in range(3)]
    assert not any(clean)


def test_vivid_raises_saturation_and_keeps_range() -> None:
    x = _photo().astype(np.float32) / 255
    sat = float((x.max(axis=2) - x.min(axis=2)).mean())
    sats = []
    for s in range(4):
        v = vivid(np.random.default_rng(s), x)
        assert v.shape == x.shape and v.dtype == np.float32 and 0 <= v.min() and v.max() <= 1
        assert float(v.mean()) >= float(x.mean()) - 1e-6  # never darker
        sats.append(float((v.max(axis=2) - v.min(axis=2)).mean()))
    assert np.mean(sats) > 1.1 * sat
    np.testing.assert_array_equal(vivid(np.random.default_rng(1), x), vivid(np.random.default_rng(1), x))
    # old_print applies it only to modern photos, and only when asked
    img = _photo()
    plain = old_print(np.random.default_rng(3), img, PAPER, p_clean=1.0, aged=False)[0]
    bright = old_print(np.random.default_rng(3), img, PAPER, p_clean=1.0, aged=False, p_vivid=1.0)[0]
    assert not np.array_equal(plain, bright)


def test_ageing_keeps_the_picture_and_changes_its_look() -> None:
    import cv2

    x = _photo().astype(np.float32) / 255
    outs = [age(np.random.default_rng(s), x) for s in range(12)]
    corrs = []
    for o in outs:
        assert o.shape == x.shape and o.dtype == np.float32 and 0 <= o.min() and o.max() <= 1
        a, b = (cv2.GaussianBlur(v.mean(axis=2), (0, 0), 3) for v in (o, x))  # grain and screens out
        corrs.append(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    # the content survives: the aged luminance still follows the original's (stains lower it)
    assert min(corrs) > 0.4 and np.median(corrs) > 0.7
    sat = [float((o.max(axis=2) - o.min(axis=2)).mean()) for o in outs]
    assert min(sat) < 0.02  # some are monochrome


def test_benchmark_sample_undamaged_scan_matches_outside_the_defects() -> None:
    img = _photo()
    damaged, mask, ref, undamaged = benchmark_sample(7, img, PAPER, aged=True)
    assert mask.any() and damaged.shape == ref.shape == undamaged.shape == img.shape
    again = benchmark_sample(7, img, PAPER, aged=True)
    np.testing.assert_array_equal(again[0], damaged)
    import cv2

    far = cv2.dilate(mask.astype(np.uint8), np.ones((17, 17), np.uint8)) == 0
    diff = np.abs(damaged.astype(int) - undamaged.astype(int)).max(axis=2)
    assert np.median(diff[far]) <= 2  # same ageing, noise and JPEG quality; only the damage differs
