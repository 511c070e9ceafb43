"""The Python API (enhance.load / upscale / denoise / inpaint) on arrays and PIL images."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import enhance
from conftest import smooth_rgb
from enhance.engine import Enhancer
from enhance.errors import EnhanceError, InvalidInputError, ModelNotFoundError

pytestmark = pytest.mark.usefixtures("tiny_registry")

RGB = smooth_rgb(12, 10)


def _inputs() -> dict[str, Any]:
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 200, np.uint8)])
    return {
        "u8-gray": RGB[:, :, 0].copy(),
        "u8-rgb": RGB,
        "u8-rgba": rgba,
        "u16-gray": RGB[:, :, 0].astype(np.uint16) * 257,
        "u16-rgb": RGB.astype(np.uint16) * 257,
        "f32-gray": RGB[:, :, 0].astype(np.float32) / 255,
        "f32-rgb": RGB.astype(np.float32) / 255,
        "f32-rgba": rgba.astype(np.float32) / 255,
        "pil-L": Image.fromarray(RGB[:, :, 0].copy()),
        "pil-RGB": Image.fromarray(RGB),
        "pil-RGBA": Image.fromarray(rgba),
    }


INPUTS = _inputs()


def _check_same_kind(src: Any, out: Any, scale: int) -> None:
    assert type(out) is type(src)
    if isinstance(src, Image.Image):
        assert out.mode == src.mode and out.size == (src.width * scale, src.height * scale)
        return
    assert out.dtype == src.dtype and out.ndim == src.ndim
    assert out.shape[:2] == (src.shape[0] * scale, src.shape[1] * scale)
    assert out.shape[2:] == src.shape[2:]


@pytest.mark.parametrize("kind", list(INPUTS))
def test_upscale_keeps_type_dtype_layout(kind: str) -> None:
    src = INPUTS[kind]
    _check_same_kind(src, enhance.upscale(src, 2, device="cpu"), 2)


@pytest.mark.parametrize("kind", ["u8-rgb", "u16-gray", "f32-rgba", "pil-RGB"])
def test_denoise_and_inpaint_keep_type(kind: str) -> None:
    src = INPUTS[kind]
    _check_same_kind(src, enhance.denoise(src, strength=0.5, device="cpu"), 1)
    _check_same_kind(src, enhance.denoise(src, sigma=15, device="cpu"), 1)
    mask = np.zeros(RGB.shape[:2], np.uint8)
    mask[3:6, 2:5] = 255
    _check_same_kind(src, enhance.inpaint(src, mask, device="cpu"), 1)


def test_inpaint_keeps_known_pixels() -> None:
    mask = np.zeros(RGB.shape[:2], bool)
    mask[3:6, 2:5] = True
    out = enhance.inpaint(RGB, mask.astype(np.uint8) * 255, device="cpu")
    assert np.array_equal(out[~mask], RGB[~mask])


def test_load_by_task_name_and_variant() -> None:
    assert enhance.load("upscale", 4, device="cpu").spec.name == "tiny-sr-x4-gan"
    assert enhance.load("upscale", 2, variant="fidelity", device="cpu").spec.name == "tiny-sr-x2-fidelity"
    assert enhance.load("tiny-denoise", device="cpu").spec.condition == "sigma"
    assert {s.name for s in enhance.list_models("inpaint")} == {"tiny-inpaint"}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: enhance.upscale(RGB.astype(np.int64), 2), InvalidInputError),
        (lambda: enhance.upscale(RGB.astype(np.complex64), 2), InvalidInputError),
        (lambda: enhance.upscale(np.zeros((4, 4, 5), np.uint8), 2), InvalidInputError),
        (lambda: enhance.upscale([[1, 2], [3, 4]], 2), InvalidInputError),
        (lambda: enhance.inpaint(RGB, np.zeros((5, 5), np.uint8)), InvalidInputError),
        (lambda: enhance.upscale(RGB, model="no-such-model"), ModelNotFoundError),
        (lambda: enhance.upscale(RGB, 3), ModelNotFoundError),
        (lambda: enhance.upscale(RGB, 4, model="tiny-sr-x2-gan"), InvalidInputError),
        (lambda: enhance.denoise(RGB, model="tiny-sr-x2-gan"), InvalidInputError),
        (lambda: enhance.load("upscale", 2, device="tpu"), InvalidInputError),
        (lambda: enhance.list_models("sharpen"), InvalidInputError),  # type: ignore[arg-type]
    ],
)
def test_typed_errors(call: Any, error: type[EnhanceError]) -> None:
    with pytest.raises(error):
        call()


def test_deterministic() -> None:
    enh = enhance.load("upscale", 4, device="cpu")
    img = smooth_rgb(20, 18, seed=3)
    assert np.array_equal(enh(img), enh(img))
    den = enhance.load("denoise", device="cpu")
    assert np.array_equal(den(img), den(img))


def test_tiled_equals_untiled(tiny_registry) -> None:  # type: ignore[no-untyped-def]
    """CompactSR(blocks=1) has a radius of 5 LR pixels; tile_overlap 20 >= 4 * 5 makes tiling exact."""
    spec = tiny_registry.get("tiny-sr-x2-gan")
    assert spec.tile_overlap >= 4 * (2 * 1 + 3)
    img = np.random.default_rng(1).random((100, 90, 3)).astype(np.float32)
    whole = Enhancer(spec, device="cpu", tile=0).enhance_rgb(img)
    ticks: list[tuple[int, int]] = []
    tiled = Enhancer(spec, device="cpu", tile=48).enhance_rgb(img, progress=lambda d, t: ticks.append((d, t)))
    assert len(ticks) > 1 and ticks[-1][0] == ticks[-1][1]
    assert np.abs(tiled - whole).max() <= 1 / 255


def test_strided_network_tiles_in_phase() -> None:
    """A U-Net downsamples by strided convolutions: a tile that started off the 4-px grid would be
    computed in another phase than the whole image (differences of ~15/255 were seen with the
    thin-hole inpainter). Tiles start on the size multiple, so tiled equals untiled."""
    from enhance.archs.unet import UNetRestorer
    from enhance.spec import ModelSpec
    from enhance.tiling import plan_tiles

    torch.manual_seed(0)
    net = UNetRestorer(0, 8, 2, residual=True)
    spec = ModelSpec(name="unet", task="denoise", scale=1, build=lambda: net, weights=None, sha256=None,
                     licence="test", training_data="none", size_multiple=4, tile_overlap=120)
    img = np.random.default_rng(2).random((257, 301, 3)).astype(np.float32)
    whole = Enhancer(spec, net=net, device="cpu", tile=0).enhance_rgb(img)
    for tile in (150, 151, 203):
        tiles = plan_tiles(257, 301, tile, min(120, tile // 2 - 4), align=4)
        assert len(tiles) > 1 and all(t.y0 % 4 == 0 and t.x0 % 4 == 0 for t in tiles)
        assert max(t.y1 for t in tiles) == 257 and max(t.x1 for t in tiles) == 301
        tiled = Enhancer(spec, net=net, device="cpu", tile=tile).enhance_rgb(img)
        assert np.abs(tiled - whole).max() < 1e-4, tile


def test_large_image_small_tile() -> None:
    enh = enhance.load("tiny-denoise", device="cpu", tile=64)
    img = smooth_rgb(300, 260, seed=2)
    out = enh(img, sigma=20)
    assert out.shape == img.shape and out.dtype == np.uint8


def test_views_invert() -> None:
    from enhance.engine import _view

    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    seen = set()
    for k in range(8):
        v = _view(x, k)
        seen.add(tuple(v[0, 0].flatten().tolist()))
        assert torch.equal(_view(v, k, inverse=True), x)
    assert len(seen) == 8  # eight different views


def test_ensemble_averages_the_views(tiny_registry) -> None:  # type: ignore[no-untyped-def]
    """The ensemble equals averaging the model's outputs on flipped/rotated copies by hand."""
    spec = tiny_registry.get("tiny-sr-x2-gan")
    img = np.random.default_rng(4).random((23, 17, 3)).astype(np.float32)
    plain = Enhancer(spec, device="cpu", tile=0)
    views = [
        img, img[:, ::-1], img[::-1], img[::-1, ::-1],
        img.transpose(1, 0, 2), img.transpose(1, 0, 2)[:, ::-1],
        img.transpose(1, 0, 2)[::-1], img.transpose(1, 0, 2)[::-1, ::-1],
    ]
    back = [
        lambda y: y, lambda y: y[:, ::-1], lambda y: y[::-1], lambda y: y[::-1, ::-1],
        lambda y: y.transpose(1, 0, 2), lambda y: y[:, ::-1].transpose(1, 0, 2),
        lambda y: y[::-1].transpose(1, 0, 2), lambda y: y[::-1, ::-1].transpose(1, 0, 2),
    ]
    outs = [b(plain.enhance_rgb(np.ascontiguousarray(v))) for v, b in zip(views, back)]
    for n in (2, 4, 8):
        ticks: list[tuple[int, int]] = []
        got = Enhancer(spec, device="cpu", tile=0, ensemble=n).enhance_rgb(img, progress=lambda d, t: ticks.append((d, t)))
        assert got.shape == (46, 34, 3)
        np.testing.assert_allclose(got, np.mean(outs[:n], axis=0), atol=1e-5)
        assert ticks[-1] == (n, n)
    assert np.abs(outs[0] - np.mean(outs, axis=0)).max() > 1e-3  # the views really differ


def test_ensemble_rejects_other_sizes(tiny_registry) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="ensemble must be one of 1, 2, 4, 8"):
        Enhancer(tiny_registry.get("tiny-sr-x2-gan"), device="cpu", ensemble=3)


@pytest.mark.parametrize("grey_noise", [False, True])
def test_noise_estimate_is_per_channel_sigma(grey_noise: bool) -> None:
    from enhance.engine import estimate_noise_sigma

    clean = smooth_rgb(200, 160, seed=5).astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    shape = clean.shape[:2] + ((1,) if grey_noise else (3,))
    for sigma in (10.0, 30.0):
        noisy = clean + rng.standard_normal(shape).astype(np.float32) * sigma / 255.0
        assert estimate_noise_sigma(noisy) == pytest.approx(sigma, rel=0.1)
    assert estimate_noise_sigma(clean) == pytest.approx(4.0, rel=0.15)  # smooth_rgb adds noise of sigma 4


def test_high_bit_depth_images_skip_automatic_fp16(tiny_registry) -> None:  # type: ignore[no-untyped-def]
    """With fp16 chosen automatically (CUDA), 12/16-bit images still run in float32. Simulated on the
    CPU by putting the Enhancer in the state it has on a GPU."""
    import dataclasses

    from enhance.io import ImageData

    from enhance.registry import build_model
    from enhance.runners import Runners, TorchRunner

    spec = tiny_registry.get("tiny-sr-x2-fidelity")
    ref = Enhancer(spec, device="cpu", tile=0)
    enh = Enhancer(spec, device="cpu", tile=0)
    cpu = torch.device("cpu")
    half = TorchRunner(build_model(spec), spec, cpu, torch.float16)  # as make_runners(half=None) on CUDA
    built: list[int] = []

    def fp32() -> TorchRunner:
        built.append(1)
        return TorchRunner(build_model(spec), spec, cpu, torch.float32)

    enh.runners = Runners(half, half=True, make_fp32=fp32)
    px = np.random.default_rng(3).random((12, 10, 3)).astype(np.float32)
    img16 = ImageData(pixels=px, alpha=None, bit_depth=16, format="png")
    out16 = enh.enhance_image(img16).pixels
    assert np.array_equal(out16, ref.enhance_image(img16).pixels)  # float32, bit for bit
    out8 = enh.enhance_image(dataclasses.replace(img16, bit_depth=8)).pixels
    assert not np.array_equal(out8, out16) and np.abs(out8 - out16).max() < 0.02  # fp16 for 8-bit
    enh.enhance_image(img16)
    assert built == [1]  # the float32 runner is built once, on first use
    assert next(half.net.parameters()).dtype == torch.float16  # the fp16 model is left as it was
