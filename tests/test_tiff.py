"""TIFF beyond Pillow: float, signed and 32-bit samples, 16-bit RGB(A), tiles, BigTIFF, pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

from enhance.cli import app
from enhance.errors import ImageTooLargeError, UnsupportedFormatError
from enhance.io import ImageData, read_image, write_image

RNG = np.random.default_rng(7)


def _x2(image: ImageData) -> ImageData:
    return image.with_frames([(np.repeat(np.repeat(p, 2, 0), 2, 1), None if a is None else np.repeat(np.repeat(a, 2, 0), 2, 1))
                              for p, a in image.frames()])


def _nearest(arr: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(arr, 2, -3 if arr.ndim >= 3 and arr.shape[-1] <= 4 else -2), 2,
                     -2 if arr.ndim >= 3 and arr.shape[-1] <= 4 else -1)


CASES = {
    "float32 gray": (RNG.uniform(-3.5, 1200.25, (6, 7)).astype(np.float32), {}),
    "float64 rgb": (RNG.normal(0, 5, (6, 7, 3)), {"photometric": "rgb"}),
    "float32 in [0, 1]": (RNG.uniform(0.2, 0.7, (6, 7)).astype(np.float32), {}),
    "int32 gray": (RNG.integers(-50_000, 90_000, (6, 7)).astype(np.int32), {}),
    "int16 gray": (RNG.integers(-3000, 3000, (6, 7)).astype(np.int16), {}),
    "uint16 rgba": (RNG.integers(0, 65536, (6, 7, 4)).astype(np.uint16), {"photometric": "rgb", "extrasamples": ["unassalpha"]}),
    "uint16 rgb tiled": (RNG.integers(0, 65536, (40, 36, 3)).astype(np.uint16), {"photometric": "rgb", "tile": (16, 16)}),
    "float32 bigtiff lzw": (RNG.uniform(0, 100, (6, 7)).astype(np.float32), {"bigtiff": True, "compression": "lzw"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_type_are_kept(name: str, tmp_path: Path) -> None:
    values, kwargs = CASES[name]
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, values, **kwargs)
    image = read_image(src)
    assert image.format == "tiff" and image.bit_depth == 8 * values.dtype.itemsize
    assert image.pixels.min() >= 0 and image.pixels.max() <= 1
    out = tmp_path / "out.tif"
    write_image(out, _x2(image))
    back = tifffile.imread(out)
    assert back.dtype == values.dtype
    expected = _nearest(values)
    if values.dtype.kind == "f":
        span = float(values.max() - values.min())
        np.testing.assert_allclose(back, expected, atol=span * 1e-6)
        assert back.min() >= values.min() - span * 1e-6 and back.max() <= values.max() + span * 1e-6
    else:
        np.testing.assert_array_equal(back, expected)


def test_multi_page_tiff_is_read_and_written_page_by_page(tmp_path: Path) -> None:
    pages = RNG.integers(0, 65536, (3, 5, 6)).astype(np.uint16)
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, pages, photometric="minisblack")
    image = read_image(src)
    assert image.frame_count == 3
    write_image(tmp_path / "o.tif", _x2(image))
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "o.tif"), np.repeat(np.repeat(pages, 2, 1), 2, 2))
    eight = tmp_path / "eight.tif"  # 8-bit pages go through Pillow
    frames = [Image.fromarray(RNG.integers(0, 256, (5, 6, 3)).astype(np.uint8)) for _ in range(2)]
    frames[0].save(eight, save_all=True, append_images=frames[1:])
    assert read_image(eight).frame_count == 2


def test_multi_page_tiff_with_unlike_pages_is_refused_in_one_line(tmp_path: Path) -> None:
    src = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(src) as tw:
        tw.write(np.zeros((8, 8), np.uint16))
        tw.write(np.zeros((4, 4), np.uint16))
    with pytest.raises(UnsupportedFormatError, match="page 2 differs") as info:
        read_image(src)
    assert "\n" not in str(info.value)


def test_bomb_limit_holds_for_pages_and_tiles(tmp_path: Path) -> None:
    stack = tmp_path / "pages.tif"
    tifffile.imwrite(stack, np.zeros((4, 10, 10), np.uint16), photometric="minisblack")
    with pytest.raises(ImageTooLargeError):
        read_image(stack, max_pixels=300)  # 4 pages x 100 pixels
    assert read_image(stack, max_pixels=400).frame_count == 4
    tiled = tmp_path / "tiles.tif"
    tifffile.imwrite(tiled, np.zeros((16, 16), np.uint16), tile=(256, 256))
    with pytest.raises(ImageTooLargeError, match="tiles"):
        read_image(tiled, max_pixels=1000)


def test_float_tiff_through_the_cli(tiny_registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    values = RNG.uniform(-10, 400, (12, 10)).astype(np.float32)
    src = tmp_path / "micro.tif"
    tifffile.imwrite(src, values)
    res = CliRunner().invoke(app, ["upscale", str(src), "-x2"])
    assert res.exit_code == 0, res.output
    assert "fidelity" in res.output  # a float image is a careful one
    out = tifffile.imread(tmp_path / "micro_x2.tif")
    assert out.dtype == np.float32 and out.shape == (24, 20)
    assert values.min() - 1e-3 <= out.min() and out.max() <= values.max() + 1e-3
    res = CliRunner().invoke(app, ["upscale", str(src), "-x2", "--format", "png", "-o", str(tmp_path / "p.png")])
    assert res.exit_code == 0, res.output  # PNG gets 16 bits of the normalised range
    with Image.open(tmp_path / "p.png") as im:
        assert im.mode.startswith("I")
