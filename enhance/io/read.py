"""``read_image``: file checks, content sniffing and dispatch to the format decoders."""

from __future__ import annotations

import re

import warnings
from pathlib import Path
from types import EllipsisType

from enhance.errors import EnhanceError, ImageReadError, UnsupportedFormatError
from enhance.io.data import ImageData
from enhance.io.dicom import read_dicom
from enhance.io.formats import SNIFF_BYTES, SUPPORTED_EXTENSIONS, sniff_format, sniff_unsupported
from enhance.io.limits import get_max_pixels
from enhance.io.native import silenced_stderr
from enhance.io.raster_read import read_raster


def read_image(path: str | Path, *, max_pixels: int | None | EllipsisType = ...) -> ImageData:
    """Read an image file into :class:`ImageData` (float32 pixels in [0, 1], metadata kept).

    The format is taken from the content (magic bytes), not the extension; a file whose content is
    a supported format under another extension is read as what it really is (``ImageData.format``
    tells which). EXIF orientation is applied. ``max_pixels`` defaults to the global limit
    (:func:`set_max_pixels`); None disables the check for this call.

    Raises:
        ImageReadError: missing, unreadable, empty, truncated, corrupt or mislabelled file.
        UnsupportedFormatError: a format or variant that is not supported (GIF, multi-frame DICOM...).
        ImageTooLargeError: width * height above the limit (checked before decoding).
    """
    p = Path(path)
    return decode_image(_read_bytes(p), p, max_pixels=max_pixels)


def decode_image(data: bytes, path: str | Path = "<bytes>", *, max_pixels: int | None | EllipsisType = ...) -> ImageData:
    """:func:`read_image` on bytes already in memory; ``path`` names them in errors, and its
    extension is the expected format (as for a file). Every input ends in an :class:`ImageData` or
    an :class:`EnhanceError` (fuzzed: ``tests/fuzz_readers.py``)."""
    p = Path(path)
    limit = get_max_pixels() if max_pixels is ... else max_pixels
    if not data:
        raise ImageReadError(p, "empty file")
    fmt = sniff_format(data[:SNIFF_BYTES])
    expected = SUPPORTED_EXTENSIONS.get(p.suffix.lower())
    if fmt is None:
        other = sniff_unsupported(data[:16])
        if other is not None:
            raise UnsupportedFormatError(p, f"{other} images are not supported")
        if expected is None:
            raise UnsupportedFormatError(p, "not a supported image format (unknown extension and content)")
        if expected != "dicom":  # DICOM files may lack the preamble; let pydicom try
            raise ImageReadError(
                p, f"not a valid {expected.upper()} file (content is not any supported image format)"
            )
    try:
        with warnings.catch_warnings(), silenced_stderr():
            warnings.simplefilter("ignore")  # decoder chatter, Python's and native (enhance.io.native)
            if fmt is None or fmt == "dicom":
                return read_dicom(p, data, limit, force=fmt is None)
            return read_raster(p, fmt, data, limit)
    except EnhanceError:
        raise
    except MemoryError:
        raise ImageReadError(p, "not enough memory to decode the image") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - decoders raise anything on corrupt data, even
        # BaseException: a Rust decoder's panic (pylibjpeg-rle, found by fuzzing) is a pyo3 PanicException
        name = (fmt or "dicom").upper()
        raise ImageReadError(p, f"cannot decode {name} data ({_describe(exc)})") from None


def _read_bytes(path: Path) -> bytes:
    """The whole file, or a typed error for missing / directory / unreadable / empty files."""
    try:
        if path.is_dir():
            raise ImageReadError(path, "is a directory, not an image file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise ImageReadError(path, "empty file")
    return data


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = re.sub(r" ?<[^<>]* object at 0x[0-9a-f]+>", "", text)  # Pillow names its BytesIO: noise to a user
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
