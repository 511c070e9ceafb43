"""``write_image``: validation, format choice and the atomic temp-file + fsync + rename dance."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

import numpy as np

from enhance.errors import ImageWriteError, OutputExistsError, UnsupportedFormatError
from enhance.io.data import ImageData, Provenance
from enhance.io.dicom import write_dicom
from enhance.io.formats import MULTI_FRAME_FORMATS, format_for_path, normalize_format
from enhance.io.raster_write import write_raster


def write_image(
    path: str | Path,
    image: ImageData,
    *,
    format: str | None = None,  # noqa: A002 - public keyword name
    provenance: Provenance | None = None,
    scale: int = 1,
    quality: int = 95,
    overwrite: bool = True,
) -> None:
    """Write ``image`` to ``path`` atomically, in the format given by the extension.

    ``format`` (e.g. 'png', 'jpg') may be given but must agree with the extension. ``provenance``
    is recorded in the file's metadata (not for BMP, which has no place for it). ``scale`` is the
    factor by which the image was upscaled from its source: DICOM PixelSpacing and
    ImagerPixelSpacing are divided by it. ``quality`` (1-100) applies to JPEG and WebP.

    The data is written to a hidden temporary file in the same folder, fsynced and renamed over
    ``path``; on failure (a full disk, a read-only folder, Ctrl-C) the temporary file is removed
    and nothing is left behind. An existing ``path`` is replaced; with ``overwrite=False`` it never
    is, not even when another process creates it while this one encodes (:class:`OutputExistsError`).

    Raises:
        OutputExistsError: ``overwrite=False`` and ``path`` exists.
        ImageWriteError: bad arguments, unsupported extension, or any I/O or encoding failure.
    """
    target = Path(path)
    fmt = _resolve_format(target, format)
    _validate(target, image, scale, quality)
    if image.frame_count > 1 and fmt not in MULTI_FRAME_FORMATS:
        raise ImageWriteError(
            target, f"{fmt.upper()} holds one image and this one has {image.frame_count} frames "
            "(write DICOM or TIFF: --format dicom|tiff)"
        )

    def encode(fh: BinaryIO) -> None:
        if fmt == "dicom":
            write_dicom(fh, image, provenance, scale)
        else:
            write_raster(fh, fmt, image, provenance, quality)

    atomic_write(target, encode, replace=overwrite)


def atomic_write(target: Path, writer: Callable[[BinaryIO], None], *, replace: bool = True) -> None:
    """Run ``writer`` on a temp file beside ``target``, fsync it and rename it to ``target``.

    ``replace=False`` publishes with a hard link, which fails if ``target`` exists (atomically:
    two processes writing one folder never clobber each other's files); where the file system has
    no hard links, an existence check right before the rename stands in.
    """
    parent = target.parent
    if not parent.is_dir():
        raise ImageWriteError(target, f"folder {parent} does not exist")
    if target.is_dir():
        raise ImageWriteError(target, "is a directory")
    if not replace and os.path.lexists(target):
        raise OutputExistsError(target, "exists (use --overwrite or --skip-existing)")
    tmp = parent / f".{target.name}.tmp-{secrets.token_hex(6)}{target.suffix}"
    try:
        fh = open(tmp, "xb")  # noqa: SIM115 - exclusive create; closed below
    except OSError as exc:
        raise ImageWriteError(target, f"cannot create a file in {parent} ({exc.strerror or exc})") from None
    try:
        with fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            _publish_new(tmp, target)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, ImageWriteError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, OSError) and exc.strerror:
            raise ImageWriteError(target, f"write failed ({exc.strerror})") from exc
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise ImageWriteError(target, f"encoding failed ({text})") from exc
    _fsync_dir(parent)


def _publish_new(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` unless that exists (then OutputExistsError); ``tmp`` goes."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExistsError(target, "exists: another process wrote it meanwhile (use --overwrite)") from None
    except OSError:  # no hard links here (FAT, some network shares): check, then rename
        if os.path.lexists(target):
            raise OutputExistsError(target, "exists: another process wrote it meanwhile (use --overwrite)") from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the OS allows it (best effort; not possible on Windows)."""
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _resolve_format(target: Path, format: str | None) -> str:  # noqa: A002
    try:
        by_extension = format_for_path(target)
    except UnsupportedFormatError as exc:
        raise ImageWriteError(target, exc.problem) from None
    if format is not None:
        wanted = normalize_format(format)
        if wanted is None:
            raise ImageWriteError(target, f"unknown output format {format!r}")
        if wanted != by_extension:
            raise ImageWriteError(
                target, f"format {format!r} does not match the extension {target.suffix} ({by_extension})"
            )
    return by_extension


def _validate(target: Path, image: ImageData, scale: int, quality: int) -> None:
    first = image.pixels
    for pixels, alpha in image.frames():
        if not isinstance(pixels, np.ndarray) or pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
            shape = getattr(pixels, "shape", None)
            raise ImageWriteError(target, f"pixels must be an (H, W, 1|3) array, got shape {shape}")
        if pixels.shape[0] == 0 or pixels.shape[1] == 0:
            raise ImageWriteError(target, "image is empty")
        if pixels.shape != getattr(first, "shape", None):
            raise ImageWriteError(target, f"frames differ in shape ({pixels.shape} vs {first.shape})")
        if alpha is not None and getattr(alpha, "shape", None) != pixels.shape[:2]:
            raise ImageWriteError(target, f"alpha shape {getattr(alpha, 'shape', None)} != {pixels.shape[:2]}")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ImageWriteError(target, f"scale must be a positive integer, got {scale!r}")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ImageWriteError(target, f"quality must be an integer in 1..100, got {quality!r}")
