"""TIFF through tifffile (with imagecodecs' decoders) where Pillow cannot: 16-bit, signed, 32-bit
integer and float samples, RGB(A) at any of those depths, tiled and BigTIFF files, and multi-page
files (each page a frame). Ordinary 8-bit single-page TIFFs are left to Pillow (palette, CMYK,
YCbCr JPEG-in-TIFF, 1-bit...), see :func:`enhance.io.raster_read.read_raster`.

Values are kept: uint8 / uint16 samples are scaled by their type range as everywhere else; other
types by :func:`enhance.io.convert.normalize` (one range for all pages), and written back in their
own type and range (float in, float out).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from enhance.errors import ImageReadError, ImageTooLargeError, UnsupportedFormatError
from enhance.io.convert import denormalize, merge_alpha, normalize, quantize, split_alpha, to_float
from enhance.io.data import Frame, ImageData, Provenance
from enhance.io.limits import check_pixels
from enhance.io.metadata import orient

_ORIENTATION_TAG = 274
_ICC_TAG = 34675
_MINISWHITE, _MINISBLACK, _RGB = 0, 1, 2
#: At most this many pages are read as frames, whatever the pixel limit.
MAX_PAGES = 10_000

# tifffile logs warnings about odd files; without a handler Python would print them to stderr.
logging.getLogger("tifffile").addHandler(logging.NullHandler())


def read_tiff(path: Path, data: bytes, limit: int | None) -> ImageData | None:
    """Decode ``data`` with tifffile; None for 1..8-bit unsigned images (Pillow's job, page by page)
    or a file tifffile cannot parse (Pillow then says what is wrong)."""
    import tifffile

    try:
        tif = tifffile.TiffFile(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - not parsable by tifffile: let Pillow try and explain
        return None
    with tif:
        pages = _pages(tif, path, limit)
        first = pages[0]
        count = len(pages)
        check_pixels(path, first.imagewidth, first.imagelength, limit, count * max(int(first.imagedepth), 1))
        _check_tiles(path, first, limit)
        if int(first.bitspersample) <= 8 and int(first.sampleformat) == 1:
            return None  # 1..8-bit unsigned, single- or multi-page: Pillow's
        if int(first.imagedepth) > 1:
            raise UnsupportedFormatError(path, f"volumetric TIFF (ImageDepth {first.imagedepth}) is not supported")
        if first.dtype is None or first.dtype.kind not in "uif" or first.dtype.itemsize > 8:
            raise UnsupportedFormatError(path, f"unsupported TIFF samples ({first.bitspersample} bits, "
                                               f"sample format {int(first.sampleformat)})")
        arrays = [_samples(path, page) for page in pages]
        orientation = _tag(first, _ORIENTATION_TAG)
        icc_tag = first.tags.get(_ICC_TAG)
        icc = bytes(icc_tag.value) if icc_tag is not None and icc_tag.value else None
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    stack = np.stack(arrays)
    dtype = stack.dtype
    samples = None
    if dtype in (np.uint8, np.uint16):
        unit = to_float(stack)
        bit_depth = 8 * dtype.itemsize
    else:
        unit, samples = normalize(stack)
        bit_depth = 8 * dtype.itemsize
    if int(first.photometric) == _MINISWHITE:
        unit[..., 0] = 1.0 - unit[..., 0]
    frames: list[Frame] = [split_alpha(orient(frame, orientation)) for frame in unit]
    pixels, alpha = frames[0]
    return ImageData(pixels, alpha, bit_depth, "tiff", icc_profile=icc, source=path, samples=samples,
                     more_frames=tuple(frames[1:]))


def _pages(tif: Any, path: Path, limit: int | None) -> list[Any]:
    """Every top-level page that is an image of its own: reduced-resolution copies (thumbnails,
    NewSubfileType bit 0) and transparency masks (bit 2) are not frames. The page chain is walked
    only as far as the pixel limit allows (a corrupt file may claim millions of pages)."""
    import tifffile

    out: list[Any] = []
    cap = MAX_PAGES
    seen: set[int] = set()
    for index, page in enumerate(tif.pages):
        if index >= MAX_PAGES:  # skipped pages (thumbnails, masks) count too
            raise ImageTooLargeError(path, f"TIFF has more than {MAX_PAGES:,} pages")
        offset = getattr(page, "offset", None)
        if isinstance(offset, int):
            # tifffile follows a chain that points back at an earlier page for ever (fuzzing found
            # a thumbnail page pointing at itself)
            if offset in seen:
                raise ImageReadError(path, f"corrupt TIFF: page {index + 1} is an earlier page again (the page chain loops)")
            seen.add(offset)
        if page is None or int(getattr(page, "subfiletype", 0) or 0) & 0b101:
            continue
        page = page if isinstance(page, tifffile.TiffPage) else page.aspage()
        if out and (page.shape != out[0].shape or page.dtype != out[0].dtype):
            raise UnsupportedFormatError(
                path, f"multi-page TIFF whose page {len(out) + 1} differs from page 1 ({page.shape} {page.dtype} vs "
                      f"{out[0].shape} {out[0].dtype}); split it into single pages first")
        out.append(page)
        if len(out) == 1 and (int(page.imagewidth) <= 0 or int(page.imagelength) <= 0):
            raise ImageReadError(path, f"TIFF image of {page.imagewidth}x{page.imagelength} pixels")
        if len(out) == 1 and limit is not None:
            cap = min(cap, max(1, limit // max(int(out[0].imagewidth) * int(out[0].imagelength), 1)))
        if len(out) > cap:
            raise ImageTooLargeError(path, f"TIFF has more than {cap:,} pages of {out[0].imagewidth}x"
                                           f"{out[0].imagelength}, above the pixel limit or {MAX_PAGES:,} pages")
    if not out:
        raise ImageReadError(path, "TIFF file has no image")
    return out


def _check_tiles(path: Path, page: Any, limit: int | None) -> None:
    """The decoder allocates whole tiles: a tile declared larger than the limit is a bomb too."""
    if limit is None or not page.is_tiled:
        return
    tile = int(page.tilewidth) * int(page.tilelength) * max(int(page.tiledepth), 1)
    if tile > limit:
        raise ImageTooLargeError(path, f"TIFF tiles of {page.tilewidth}x{page.tilelength} ({tile:,} pixels) are "
                                       f"above the limit of {limit:,} pixels (see enhance.io.set_max_pixels)")


def _samples(path: Path, page: Any) -> np.ndarray:
    """One page as (H, W, C) samples, C in 1..4 (gray, gray + alpha, RGB, RGBA)."""
    arr = page.asarray()
    axes = page.axes
    if "S" in axes and axes.index("S") < axes.index("Y"):
        arr = np.moveaxis(arr, axes.index("S"), -1)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise UnsupportedFormatError(path, f"unsupported TIFF layout (axes {axes}, shape {arr.shape})")
    photometric, channels = int(page.photometric), arr.shape[2]
    if photometric in (_MINISWHITE, _MINISBLACK) and channels in (1, 2):
        return arr
    if photometric == _RGB and channels in (3, 4):
        return arr
    raise UnsupportedFormatError(
        path, f"unsupported TIFF (photometric {page.photometric.name.lower()}, {channels} samples per pixel, "
              f"{arr.dtype})")


def _tag(page: Any, code: int) -> Any:
    tag = page.tags.get(code)
    return tag.value if tag is not None else None


def write_tiff(fh: BinaryIO, image: ImageData, bits: int, icc: bytes | None, provenance: Provenance | None) -> None:
    """Every frame as a page; samples in the source's own type and range where it had one
    (``image.samples``), else ``bits``-bit unsigned integers; zlib-compressed."""
    import tifffile

    channels = image.pixels.shape[2]
    planes = []
    for pixels, alpha in image.frames():
        merged = merge_alpha(pixels, alpha)
        planes.append(denormalize(merged, image.samples) if image.samples is not None else quantize(merged, bits))
    data = np.stack(planes)
    has_alpha = data.shape[3] > channels
    kwargs: dict[str, Any] = {
        "photometric": "minisblack" if channels == 1 else "rgb",
        "planarconfig": "contig",
        "compression": "zlib",
        "metadata": None,
    }
    if has_alpha:
        kwargs["extrasamples"] = ["unassalpha"]
    if icc:
        kwargs["iccprofile"] = icc
    if provenance is not None:
        kwargs["description"] = provenance.describe()
        kwargs["software"] = provenance.software
    if data.shape[3] == 1:
        data = data[..., 0]
    tifffile.imwrite(fh, data if len(planes) > 1 else data[0], **kwargs)
