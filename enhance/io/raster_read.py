"""Decoding PNG, JPEG, TIFF, WebP, BMP and JPEG 2000 files into :class:`ImageData`.

8-bit data goes through Pillow (a multi-page TIFF page by page); 16-bit PNG through OpenCV and
TIFFs with more than 8 bits per sample through tifffile (:mod:`enhance.io.tiff`), so 16-bit, float
and 32-bit samples never take an 8-bit detour; JPEG 2000 through :mod:`enhance.io.jp2`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from enhance.errors import ImageReadError, UnsupportedFormatError
from enhance.io.convert import split_alpha, to_float
from enhance.io.data import ImageData
from enhance.io.jp2 import read_jpeg2000
from enhance.io.limits import check_pixels, pil_bomb_guard
from enhance.io.metadata import icc_color_space, orient, read_exif
from enhance.io.png import png_header
from enhance.io.tiff import read_tiff

_PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "webp": "WEBP", "bmp": "BMP"}


def read_raster(path: Path, fmt: str, data: bytes, limit: int | None) -> ImageData:
    """Decode ``data`` (the whole file, already sniffed as ``fmt``) read from ``path``."""
    if fmt in ("jp2", "j2k"):
        return read_jpeg2000(path, fmt, data, limit)
    if fmt == "tiff":
        image = read_tiff(path, data, limit)
        if image is not None:
            return image
    with pil_bomb_guard(path, limit):
        im = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[fmt]])
    with im:
        pages = int(getattr(im, "n_frames", 1)) if fmt == "tiff" else 1
        check_pixels(path, im.width, im.height, limit, pages)
        orientation, exif = read_exif(im, keep_bytes=fmt != "tiff")
        icc = im.info.get("icc_profile") or None
        header = png_header(data[:29]) if fmt == "png" else None
        if header is not None and header[2] == 16:
            samples = _decode_png16(path, data, header[3])
            bit_depth = 16
        else:
            im.load()
            samples, icc = _pil_samples(path, im, icc)
            bit_depth = 16 if samples.dtype == np.uint16 else 8
        more = [_tiff_page(path, im, k, samples, icc) for k in range(1, pages)]
    frames = [split_alpha(orient(to_float(s), orientation)) for s in [samples, *more]]
    pixels, alpha = frames[0]
    return ImageData(pixels, alpha, bit_depth, fmt, icc_profile=icc, exif=exif, source=path,
                     more_frames=tuple(frames[1:]))


def _tiff_page(path: Path, im: Image.Image, index: int, first: np.ndarray, icc: bytes | None) -> np.ndarray:
    """Page ``index`` of a multi-page TIFF, which must be like the first (a frame, not a thumbnail)."""
    im.seek(index)
    im.load()
    samples, _ = _pil_samples(path, im, icc)
    if samples.shape != first.shape or samples.dtype != first.dtype:
        raise UnsupportedFormatError(
            path, f"multi-page TIFF whose page {index + 1} differs from page 1 ({samples.shape} vs {first.shape}); "
                  "split it into single pages first")
    return samples


def _pil_samples(path: Path, im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """Samples of a loaded Pillow image as uint8/uint16 (H, W[, C]) plus the ICC profile to keep."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im), icc
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), icc
    if mode == "I":
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise UnsupportedFormatError(path, "32-bit integer samples are not supported")
        return arr.astype(np.uint16), icc
    if mode == "F":
        raise UnsupportedFormatError(path, "32-bit floating-point samples are not supported")
    if mode == "1":
        return np.asarray(im.convert("L")), icc
    if mode in ("P", "PA"):
        transparent = mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGBA" if transparent else "RGB")), icc
    if mode == "CMYK":
        return _cmyk_to_rgb(im, icc)
    has_alpha = "A" in mode or "a" in mode
    return np.asarray(im.convert("RGBA" if has_alpha else "RGB")), icc


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """CMYK to RGB through the embedded CMYK profile when there is one (then tagged sRGB)."""
    if icc and icc_color_space(icc) == "CMYK":
        try:
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            rgb = ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
            if rgb is not None:
                return np.asarray(rgb), srgb.tobytes()
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return np.asarray(im.convert("RGB")), None


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own logging (it would print decoder warnings to stderr)."""
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def _decode_png16(path: Path, data: bytes, color_type: int) -> np.ndarray:
    """16-bit PNG samples via OpenCV, converted from BGR(A) to gray / gray+alpha / RGB(A)."""
    import cv2

    with _quiet_opencv():
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(path, "truncated or corrupt PNG data")
    if arr.dtype != np.uint16:
        raise ImageReadError(path, f"16-bit PNG decoded as {arr.dtype}")
    if arr.ndim == 2:
        return arr
    gray = color_type in (0, 4)
    if arr.shape[2] == 4:
        return arr[:, :, [0, 3]] if gray else arr[:, :, [2, 1, 0, 3]]
    return arr[:, :, 0] if gray else arr[:, :, ::-1]
