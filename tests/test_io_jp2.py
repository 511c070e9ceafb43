"""JPEG 2000 (JP2 files, raw J2K codestreams): samples as stored, 9-16-bit precision kept, lossless
output, the ICC profile and provenance kept, and bad files as one-line errors."""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import openjpeg
import pytest
from PIL import Image, ImageCms
from typer.testing import CliRunner

from conftest import smooth_rgb
from enhance.cli import app
from enhance.errors import ImageReadError, ImageTooLargeError, UnsupportedFormatError
from enhance.io import Provenance, read_image, write_image
from enhance.io.data import ImageData

RNG = np.random.default_rng(7)
CASES: dict[str, tuple[np.ndarray, int | None]] = {
    "rgb8": ((RNG.random((20, 24, 3)) * 255).astype(np.uint8), None),
    "rgba8": ((RNG.random((20, 24, 4)) * 255).astype(np.uint8), None),
    "gray_alpha8": ((RNG.random((20, 24, 2)) * 255).astype(np.uint8), None),
    "gray16": ((RNG.random((20, 24)) * 65535).astype(np.uint16), None),
    "rgb16": ((RNG.random((20, 24, 3)) * 65535).astype(np.uint16), None),
    "gray12": ((RNG.random((20, 24)) * 4095).astype(np.uint16), 12),
}


def _jp2(path: Path, samples: np.ndarray, bits: int | None = None, codec: str = "jp2") -> Path:
    path.write_bytes(bytes(imagecodecs.jpeg2k_encode(samples, level=0, codecformat=codec, bitspersample=bits)))
    return path


@pytest.mark.parametrize("name", CASES)
def test_samples_and_precision_survive_a_round_trip(name: str, tmp_path: Path) -> None:
    samples, bits = CASES[name]
    image = read_image(_jp2(tmp_path / f"{name}.jp2", samples, bits))
    assert image.format == "jp2" and image.bit_depth == (bits or 8 * samples.itemsize)
    assert (image.alpha is not None) == (samples.ndim == 3 and samples.shape[2] in (2, 4))
    top = (1 << image.bit_depth) - 1
    colour = samples if samples.ndim == 2 or samples.shape[2] in (1, 3) else samples[:, :, :-1]
    np.testing.assert_allclose(image.pixels[..., 0] if colour.ndim == 2 else image.pixels, colour / top, atol=1e-6)
    out = tmp_path / f"out_{name}.jp2"
    write_image(out, image)
    assert out.read_bytes()[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n"
    stored = openjpeg.decode(out.read_bytes())
    np.testing.assert_array_equal(stored.reshape(samples.shape), samples)  # lossless, same precision
    assert read_image(out).bit_depth == image.bit_depth


def test_fewer_than_8_bits_are_scaled_by_their_own_precision(tmp_path: Path) -> None:
    samples = (RNG.random((10, 12)) * 15).astype(np.uint8)
    image = read_image(_jp2(tmp_path / "g4.jp2", samples, bits=4))
    assert image.bit_depth == 8
    np.testing.assert_allclose(image.pixels[..., 0], samples / 15, atol=1e-6)


def test_icc_profile_and_provenance_are_kept(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    samples = CASES["rgb16"][0]
    image = read_image(_jp2(tmp_path / "a.jp2", samples))
    assert image.icc_profile is None
    tagged = ImageData(image.pixels, None, 16, "jp2", icc_profile=srgb)
    out = tmp_path / "b.jp2"
    write_image(out, tagged, provenance=Provenance(model="m-1", task="denoise", software="enhance 9"))
    back = read_image(out)
    assert back.icc_profile == srgb
    # the profile is kept, not applied: the samples are the ones written
    np.testing.assert_array_equal(openjpeg.decode(out.read_bytes()), samples)
    data = out.read_bytes()
    assert b"xml " in data and b"model m-1" in data
    with Image.open(out) as im:  # another reader still opens the file
        assert im.size == (24, 20)


def test_raw_codestreams_read_and_write(tmp_path: Path) -> None:
    samples = CASES["rgb8"][0]
    image = read_image(_jp2(tmp_path / "a.j2k", samples, codec="j2k"))
    assert image.format == "j2k"
    write_image(tmp_path / "b.j2k", image)
    data = (tmp_path / "b.j2k").read_bytes()
    assert data[:4] == b"\xff\x4f\xff\x51"
    np.testing.assert_array_equal(openjpeg.decode(data), samples)


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    whole = _jp2(tmp_path / "whole.jp2", CASES["rgb8"][0]).read_bytes()
    with pytest.raises(ImageTooLargeError, match="24x20"):
        read_image(tmp_path / "whole.jp2", max_pixels=100)  # from the header, before decoding
    cut = tmp_path / "cut.jp2"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImageReadError, match="cut.jp2") as info:
        read_image(cut)
    assert "\n" not in str(info.value)
    headless = tmp_path / "headless.jp2"
    headless.write_bytes(whole[:60])
    with pytest.raises(ImageReadError, match="headless.jp2"):
        read_image(headless)
    signed = _jp2(tmp_path / "signed.jp2", (RNG.random((8, 8)) * 2000 - 1000).astype(np.int16))
    with pytest.raises(UnsupportedFormatError, match="signed"):
        read_image(signed)


@pytest.mark.usefixtures("tiny_registry")
def test_the_cli_keeps_jpeg2000_and_converts_to_it(tmp_path: Path) -> None:
    src = _jp2(tmp_path / "scan.jp2", (smooth_rgb(16, 20).astype(np.uint16) * 257))
    result = CliRunner().invoke(app, ["denoise", str(src)])
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "scan_denoised.jp2")
    assert out.format == "jp2" and out.bit_depth == 16 and out.width == 20
    png = tmp_path / "p.png"
    Image.fromarray(smooth_rgb(16, 20)).save(png)
    result = CliRunner().invoke(app, ["upscale", str(png), "-x", "2", "--format", "jp2"])
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "p_x2.jp2").width == 40
