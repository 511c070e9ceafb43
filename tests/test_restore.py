"""Old-photo restoration: the scratch/dust detector, ``restore_image`` and ``enhance restore``.

Models are the tiny random-weight ones of conftest.py; images are made here.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from enhance import io
from enhance.cli import app
from enhance.errors import InvalidInputError
from enhance.io import ImageData
from enhance.restoration import RestoreModels, RestoreOptions, mask_path, restore_image
from enhance.scratches import defect_components, detect_defects

runner = CliRunner()


# --------------------------------------------------------------------------- detector
def _smooth(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth photo-like float RGB image (gradients, a soft blob, mild grain)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([0.3 + 0.4 * xx / w, 0.25 + 0.4 * yy / h, 0.5 + 0.2 * np.sin(xx / 40)], 2)
    blob = 0.15 * np.exp(-(((xx - w / 2) / (w / 5)) ** 2 + ((yy - h / 2) / (h / 5)) ** 2))
    img = base + blob[:, :, None] + rng.normal(0, 0.01, (h, w, 3))
    return np.clip(img, 0, 1).astype(np.float32)


def _damaged(h: int = 256, w: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The smooth image with drawn 1-2 px scratches (bright and dark) and dust dots; and their mask."""
    img = _smooth(h, w)
    drawn = np.zeros((h, w), np.uint8)
    lines = [((10, 20), (240, 60), 1, 0.95), ((30, 230), (200, 15), 2, 0.05), ((128, 5), (140, 250), 1, 0.1)]
    for p0, p1, thick, value in lines:
        layer = np.zeros((h, w), np.uint8)
        cv2.line(layer, p0, p1, 1, thick)
        img[layer > 0] = value
        drawn |= layer
    rng = np.random.default_rng(1)
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(10, w - 10, 2))
        layer = np.zeros((h, w), np.uint8)
        cv2.circle(layer, (x, y), 1, 1, -1)
        img[layer > 0] = 0.98 if rng.random() < 0.5 else 0.03
        drawn |= layer
    return img, drawn.astype(bool)


def test_detect_finds_drawn_scratches_and_dust() -> None:
    img, drawn = _damaged()
    mask = detect_defects(img)
    assert mask.shape == drawn.shape and mask.dtype == bool
    recall = (mask & drawn).sum() / drawn.sum()
    assert recall > 0.8, recall
    # the flagged area stays close to the drawn defects (dilation allowance of a few px)
    near = cv2.dilate(drawn.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert (mask & ~near).sum() < 0.01 * mask.size


def test_detect_clean_smooth_image_is_empty() -> None:
    assert detect_defects(_smooth(200, 240)).mean() < 0.001


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_detect_ignores_texture_of_clean_photos(name: str) -> None:
    data = pytest.importorskip("skimage.data")
    arr = getattr(data, name)().astype(np.float32) / 255.0
    rgb = arr[:, :, None] if arr.ndim == 2 else arr
    flagged = detect_defects(rgb).mean()
    assert flagged < 0.01, flagged


def test_detect_grayscale_and_sensitivity() -> None:
    img, drawn = _damaged(160, 160)
    gray = img.mean(axis=2, keepdims=True)
    assert detect_defects(gray).shape == (160, 160)
    assert detect_defects(img, sensitivity=2.0).sum() >= detect_defects(img, sensitivity=0.5).sum()
    with pytest.raises(InvalidInputError):
        detect_defects(img, sensitivity=0)
    with pytest.raises(InvalidInputError):
        detect_defects(img[:, :, :2])


def test_components_explain_decisions() -> None:
    img, _ = _damaged()
    _, _, comps = defect_components(img)
    kinds = {c.kind for c in comps}
    assert {"scratch", "dust"} <= kinds
    assert all(c.reason for c in comps if c.kind is None)


def _grainy(h: int, w: int, sigma: float, seed: int = 2) -> np.ndarray:
    """The smooth image under strong Gaussian grain (``sigma`` on 0-1)."""
    rng = np.random.default_rng(seed)
    return np.clip(_smooth(h, w) + rng.normal(0, sigma, (h, w, 1)).astype(np.float32), 0, 1)


def test_detect_finds_faint_bent_scratch_in_grain() -> None:
    """A 2 px scratch ~8 grain sigmas brighter than the photo, bent twice: each of its pixels
    is lost in the grain, the line is not."""
    img = _grainy(256, 256, 0.035)
    drawn = np.zeros((256, 256), np.uint8)
    cv2.polylines(drawn, [np.array([(20, 30), (120, 80), (180, 170), (200, 240)], np.int32)], False, 1, 2)
    img = np.where(drawn[:, :, None] > 0, np.clip(img + 0.3, 0, 1), img).astype(np.float32)
    mask = detect_defects(img)
    near = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (near & (drawn > 0)).sum() > 0.7 * drawn.sum()
    far = ~cv2.dilate(drawn, np.ones((9, 9), np.uint8)).astype(bool)
    assert (mask & far).sum() < 0.002 * mask.size  # the grain itself is not flagged


def test_detect_joins_a_scratch_broken_by_the_background() -> None:
    """Where a white scratch crosses a white band it vanishes; the visible runs, each shorter than a
    scratch must be, are joined into one."""
    img = _smooth(256, 256)
    bands = [(60, 75), (120, 135), (180, 195)]  # bright bands the scratch crosses
    for x0, x1 in bands:
        img[:, x0:x1] = 0.97
    runs = np.zeros((256, 256), np.uint8)
    cv2.line(runs, (20, 128), (236, 128), 1, 2)
    img[runs > 0] = 0.97
    visible = runs.copy()
    for x0, x1 in bands:
        visible[:, x0:x1] = 0
    labels, _, comps = defect_components(img)
    pieces = [c for c in comps if c.kind == "scratch"]
    assert pieces and all(c.length < 0.25 * 256 for c in pieces)  # none long enough alone
    assert any("pieces" in c.reason for c in pieces)
    mask = detect_defects(img)
    assert (mask & (visible > 0)).sum() > 0.8 * visible.sum()


def test_detect_ignores_outlines_between_regions() -> None:
    """A thin dark line along the border of two differently lit regions is drawing, not damage."""
    img = _smooth(256, 256)
    img[:, 128:] = np.clip(img[:, 128:] + 0.35, 0, 1)
    img[:, 127:129] = 0.05
    assert detect_defects(img)[:, 120:136].sum() == 0


# --------------------------------------------------------------------------- restore_image
def _image(h: int = 40, w: int = 48, gray: bool = False, alpha: bool = False, bit_depth: int = 8) -> ImageData:
    rgb = _smooth(h, w)
    rgb[h // 2, 4 : w - 4] = 0.02  # one dark scratch
    pixels = rgb.mean(axis=2, keepdims=True) if gray else rgb
    a = np.linspace(0, 1, h * w, dtype=np.float32).reshape(h, w) if alpha else None
    return ImageData(pixels=np.ascontiguousarray(pixels), alpha=a, bit_depth=bit_depth, format="png")


@pytest.fixture
def models(tiny_registry: object) -> RestoreModels:
    return RestoreModels.default(RestoreOptions(upscale=2), device="cpu")


def test_restore_image_shapes_and_steps(models: RestoreModels) -> None:
    img = _image()
    info_models: list[str] = []
    from enhance.restoration import RestoreInfo

    info = RestoreInfo()
    out, mask = restore_image(img, RestoreOptions(detector="lines"), models, info=info)
    info_models = info.models
    assert out.pixels.shape == img.pixels.shape and out.pixels.dtype == np.float32
    assert mask.shape == (40, 48) and mask[20, 10:38].all()
    assert info_models == ["tiny-inpaint", "tiny-denoise"]
    restore_image(img, RestoreOptions(), models, info=info)  # the learned detector by default
    assert info.models[0] == "defects" and info.models[-1] == "tiny-denoise"
    assert np.isfinite(out.pixels).all() and 0 <= out.pixels.min() and out.pixels.max() <= 1


def test_restore_image_upscale_gray_alpha(models: RestoreModels) -> None:
    img = _image(gray=True, alpha=True)
    out, mask = restore_image(img, RestoreOptions(upscale=2), models)
    assert out.pixels.shape == (80, 96, 1)
    assert out.alpha is not None and out.alpha.shape == (80, 96)
    assert mask.shape == (40, 48)


def test_restore_image_variant_follows_bit_depth(models: RestoreModels) -> None:
    from enhance.restoration import RestoreInfo

    info = RestoreInfo()
    restore_image(_image(bit_depth=16), RestoreOptions(upscale=2, denoise=False), models, info=info)
    assert info.models[-1] == "tiny-sr-x2-fidelity"
    restore_image(_image(), RestoreOptions(upscale=2, denoise=False), models, info=info)
    assert info.models[-1] == "tiny-sr-x2-gan"


def test_restore_image_switches(models: RestoreModels) -> None:
    from enhance.restoration import RestoreInfo

    img = _image()
    info = RestoreInfo()
    out, mask = restore_image(img, RestoreOptions(detect=False, denoise=False), models, info=info)
    assert not mask.any() and info.models == []
    np.testing.assert_array_equal(out.pixels, img.pixels)
    assert out.pixels is not img.pixels
    user = np.zeros((40, 48), np.float32)
    user[5:9, 5:9] = 1
    out, mask = restore_image(img, RestoreOptions(detect=False, denoise=False, mask=user), models, info=info)
    assert mask.sum() == 16 and info.models == ["tiny-inpaint"]
    unchanged = ~mask
    np.testing.assert_allclose(out.pixels[unchanged], img.pixels[unchanged], atol=1e-6)
    _, mask = restore_image(img, RestoreOptions(inpaint=False, denoise=False, mask=user, detector="lines"), models,
                            info=info)
    assert mask[5:9, 5:9].all() and mask[20, 10:38].all() and info.models == []


def test_restore_options_validate() -> None:
    with pytest.raises(InvalidInputError):
        RestoreOptions(upscale=3)
    with pytest.raises(InvalidInputError):
        RestoreOptions(sensitivity=0)
    with pytest.raises(InvalidInputError):
        RestoreOptions(strength=-1)


def test_restore_image_bad_mask_size(models: RestoreModels) -> None:
    with pytest.raises(InvalidInputError, match="mask size"):
        restore_image(_image(), RestoreOptions(mask=np.ones((3, 3))), models)


# --------------------------------------------------------------------------- CLI
def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def _scratched(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    arr = np.round(_smooth(h, w, seed) * 255).astype(np.uint8)
    arr[h // 2, 3 : w - 3] = 250
    return arr


@pytest.mark.usefixtures("tiny_registry")
def test_cli_folder_with_corrupt_file(write_png, tmp_path: Path) -> None:
    write_png("in/a.png", _scratched())
    write_png("in/b.jpg", _scratched(seed=1))
    (tmp_path / "in" / "c.png").write_bytes(b"not a png")
    code, out = run("restore", tmp_path / "in", "-o", tmp_path / "out", "--device", "cpu")
    assert code == 1, out
    assert (tmp_path / "out" / "a_restored.png").is_file()
    assert (tmp_path / "out" / "b_restored.jpg").is_file()
    assert not (tmp_path / "out" / "c_restored.png").exists()
    assert "c.png" in out and "failed" in out.lower()


@pytest.mark.usefixtures("tiny_registry")
def test_cli_save_mask_upscale_and_skip(write_png, tmp_path: Path) -> None:
    src = write_png("a.png", _scratched())
    code, out = run("restore", src, "--save-mask", "--upscale", "2", "--device", "cpu", "-q", "--detector", "lines")
    assert code == 0, out
    dst = tmp_path / "a_restored.png"
    with Image.open(dst) as im:
        assert im.size == (128, 96)
    mask_file = mask_path(dst)
    assert mask_file.name == "a_restored_mask.png"
    mask = io.read_image(mask_file).pixels[:, :, 0]
    assert mask.shape == (48, 64) and mask[24, 5:59].min() == 1.0
    # a second run: the output exists; --skip-existing leaves it, and the mask is not an input
    code, out = run("restore", tmp_path, "--save-mask", "--skip-existing", "--device", "cpu")
    assert code == 0, out
    assert not (tmp_path / "a_restored_mask_restored.png").exists()


@pytest.mark.usefixtures("tiny_registry")
def test_cli_switches_and_user_mask(write_png, tmp_path: Path) -> None:
    src = write_png("a.png", _scratched())
    m = np.zeros((48, 64), np.uint8)
    m[2:6, 2:6] = 255
    mfile = write_png("m.png", m)
    code, out = run(
        "restore", src, "--no-detect", "--no-denoise", "--mask", mfile, "--save-mask", "--suffix", "_r",
        "--device", "cpu",
    )
    assert code == 0, out
    mask = io.read_image(tmp_path / "a_r_mask.png").pixels[:, :, 0]
    assert mask.sum() == 16
    assert "tiny-inpaint" in out
    code, out = run("restore", src, "--upscale", "3")
    assert code == 2


@pytest.mark.usefixtures("tiny_registry")
def test_api_restore_numpy_and_pil() -> None:
    import enhance

    arr = _scratched()
    out = enhance.restore(arr, upscale=2, device="cpu")
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (96, 128, 3)
    mask = np.zeros((48, 64), np.uint8)
    mask[2:6, 2:6] = 255
    pil = enhance.restore(Image.fromarray(arr), mask=Image.fromarray(mask), denoise=False, device="cpu")
    assert isinstance(pil, Image.Image) and pil.size == (64, 48)


@pytest.mark.usefixtures("tiny_registry")
def test_enhance_restore_stays_callable_after_module_import() -> None:
    import importlib

    import enhance

    importlib.import_module("enhance.restoration")
    out = enhance.restore(_scratched(), denoise=False, device="cpu")
    assert out.shape == (48, 64, 3)


@pytest.mark.parametrize("sensitivity", [1.5, 2.0, 4.0])
def test_detect_recall_holds_across_sensitivities(sensitivity: float) -> None:
    img, drawn = _damaged()
    mask = detect_defects(img, sensitivity)
    assert (mask & drawn).sum() / drawn.sum() > 0.8
