"""One selection policy and one mask reading, whichever door (API, batch pipeline, restore) is used."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import enhance
from enhance import api, io
from enhance.archs import CompactSR
from enhance.pipeline import ModelPicker, read_mask
from enhance.registry import ImageTraits, Registry, default_registry
from enhance.spec import ModelSpec


def _sr(name: str, variant: str, scale: int = 4) -> ModelSpec:
    return ModelSpec(name=name, task="upscale", scale=scale, build=partial(CompactSR, scale, 8, 1), weights=None,
                     sha256=None, licence="test", training_data="none", variant=variant)


def test_policy_real_for_photos_fidelity_for_careful_images() -> None:
    reg = Registry([_sr("g4", "gan"), _sr("f4", "fidelity"), _sr("r4", "real"), _sr("g2", "gan", 2), _sr("f2", "fidelity", 2)])
    assert reg.select("upscale", 4).name == "r4"
    assert reg.select("upscale", 4, ImageTraits("jpeg", 8)).name == "r4"
    assert reg.select("upscale", 4, ImageTraits("png", 16)).name == "f4"
    assert reg.select("upscale", 4, ImageTraits("dicom", 12)).name == "f4"
    # no real-world model at x2: the bicubic-trained GAN model is next
    assert reg.select("upscale", 2).name == "g2"
    assert reg.select("upscale", 2, ImageTraits("dicom", 16)).name == "f2"
    # an explicit variant wins over the policy
    assert reg.select("upscale", 4, ImageTraits("png", 16), prefer="gan").name == "g4"
    assert ImageTraits.of(io.from_array(np.zeros((4, 4), np.uint16))[0]).careful
    assert not ImageTraits.of(io.from_array(np.zeros((4, 4), np.uint8))[0]).careful


@pytest.fixture()
def chosen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the models the API builds (the network itself is replaced by a cheap stand-in)."""
    names: list[str] = []
    real = api.Enhancer

    def spy(spec: ModelSpec, **kw: object) -> object:
        names.append(spec.name)
        return real(spec, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "Enhancer", spy)
    return names


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_api_and_batch_pipeline_pick_the_same_upscaler(tmp_path: Path, dtype: type, chosen: list[str]) -> None:
    top = 255 if dtype is np.uint8 else 65535
    arr = (np.random.default_rng(0).random((24, 24, 3)) * top).astype(dtype)
    path = tmp_path / "img.png"
    if dtype is np.uint8:
        Image.fromarray(arr).save(path)
    else:
        import cv2

        cv2.imwrite(str(path), arr[..., ::-1])
    image = io.read_image(path)
    assert image.bit_depth == (8 if dtype is np.uint8 else 16)
    picker = ModelPicker("upscale", scale=4)
    expected = picker.spec_for(image).name
    assert expected == default_registry().select("upscale", 4, ImageTraits.of(image)).name
    enhance.upscale(path, 4)
    enhance.upscale(arr, 4)
    assert chosen == [expected, expected]
    careful = dtype is np.uint16
    assert default_registry().get(expected).variant == ("fidelity" if careful else picker.spec_for(None).variant)


def test_a_mask_reads_the_same_through_every_door(tmp_path: Path) -> None:
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[4:12, 4:12, :3] = 255  # white square ...
    rgba[4:12, 4:12, 3] = 255
    rgba[:, 8:, 3] = 0  # ... half of it transparent: not a hole
    rgba[0:2, :, :3] = 255  # a white but fully transparent band: not a hole either
    path = tmp_path / "mask.png"
    Image.fromarray(rgba).save(path)
    from_file = read_mask(path)
    assert from_file[6, 5] == 1.0 and from_file[6, 10] == 0.0 and from_file[0, 0] == 0.0
    for other in (io.read_mask(path), io.read_mask(rgba), io.read_mask(Image.open(path)), io.read_mask(str(path))):
        assert other is not None
        np.testing.assert_array_equal(other, from_file)
    gray = io.read_mask(rgba[..., 0] > 0)
    assert gray is not None and gray[0, 0] == 1.0  # no alpha: white is a hole
    assert io.read_mask(None) is None


def _noisy(kind: str, size: int = 96, sigma: float = 20.0) -> np.ndarray:
    """A smooth photo-like image with white noise, or with the same noise blurred (spatially
    correlated, as demosaicing, in-camera smoothing and JPEG leave camera noise)."""
    import cv2

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.3 + 0.4 * xx, 0.5 + 0.2 * np.sin(6 * yy), 0.4 + 0.3 * xx * yy], -1).astype(np.float32)
    noise = rng.normal(0, sigma / 255, base.shape).astype(np.float32)
    if kind == "correlated":
        noise = cv2.GaussianBlur(noise, (0, 0), 1.2) * 2.5
    return np.clip(base + noise, 0, 1).astype(np.float32)


def _dn(name: str, variant: str) -> ModelSpec:
    from enhance.archs import UNetRestorer

    return ModelSpec(name=name, task="denoise", scale=1, build=partial(UNetRestorer, 1, 8, 1, True), weights=None,
                     sha256=None, licence="test", training_data="none", variant=variant)


def test_noise_kind_tells_white_from_correlated_noise() -> None:
    from enhance.ops.noise import noise_kind

    for sigma in (10.0, 25.0, 50.0):
        assert noise_kind(_noisy("white", sigma=sigma)) == "white"
        assert noise_kind(_noisy("correlated", sigma=sigma)) == "correlated"
    assert noise_kind(_noisy("white", 2000)[:, :, :1]) == "white"  # grayscale, above the 1024 px crop
    assert noise_kind(np.zeros((4, 4, 3), np.float32)) == "correlated"  # too small to tell: the photo default


def test_policy_denoiser_by_kind_of_noise() -> None:
    reg = Registry([_dn("plain", "default"), _dn("camera", "real")])
    assert reg.select("denoise").name == "camera"  # an ordinary photo, unseen
    assert reg.select("denoise", traits=ImageTraits(pixels=_noisy("correlated"))).name == "camera"
    assert reg.select("denoise", traits=ImageTraits(pixels=_noisy("white"))).name == "plain"
    assert reg.select("denoise", traits=ImageTraits("dicom", 12, pixels=_noisy("correlated"))).name == "plain"
    assert reg.select("denoise", traits=ImageTraits("png", 16, noise="correlated")).name == "plain"
    assert reg.select("denoise", traits=ImageTraits(noise="white"), prefer="real").name == "camera"
    # without a camera-noise model every image gets the one there is
    assert Registry([_dn("plain", "default")]).select("denoise", traits=ImageTraits(noise="correlated")).name == "plain"


@pytest.mark.parametrize("kind", ["white", "correlated"])
def test_api_and_batch_pipeline_pick_the_same_denoiser(tmp_path: Path, kind: str, chosen: list[str]) -> None:
    arr = (_noisy(kind) * 255).round().astype(np.uint8)
    path = tmp_path / "noisy.png"
    Image.fromarray(arr).save(path)
    image = io.read_image(path)
    expected = ModelPicker("denoise").spec_for(image).name
    assert expected == ("denoise" if kind == "white" else "denoise-real")
    enhance.denoise(path)
    enhance.denoise(arr)
    assert chosen == [expected, expected]


def test_a_model_named_like_its_task_is_that_model_when_named(tmp_path: Path) -> None:
    """``--model denoise`` is the model ``denoise``, not the denoising task's pick for the image."""
    assert enhance.spec_by_name("denoise").name == "denoise"
    assert enhance.get_spec("denoise", traits=ImageTraits(noise="correlated")).name == "denoise-real"
    arr = (_noisy("correlated") * 255).round().astype(np.uint8)
    image = io.from_array(arr)[0]
    assert ModelPicker("denoise", model="denoise").spec_for(image).name == "denoise"
    assert ModelPicker("denoise").spec_for(image).name == "denoise-real"
