"""EXIF orientation, EXIF/ICC helpers and provenance tags."""

from __future__ import annotations

import numpy as np
from PIL import Image

from enhance.io.data import Provenance

ORIENTATION = 0x0112
IMAGE_DESCRIPTION = 0x010E
SOFTWARE = 0x0131
EXIF_HEADER = b"Exif\x00\x00"


def orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF ``orientation`` (1-8) to an (H, W, ...) array like ``PIL.ImageOps.exif_transpose``."""
    if orientation == 2:
        out = arr[:, ::-1]
    elif orientation == 3:
        out = arr[::-1, ::-1]
    elif orientation == 4:
        out = arr[::-1, :]
    elif orientation == 5:
        out = arr.swapaxes(0, 1)
    elif orientation == 6:
        out = np.rot90(arr, k=-1)
    elif orientation == 7:
        out = np.rot90(arr, k=2).swapaxes(0, 1)
    elif orientation == 8:
        out = np.rot90(arr, k=1)
    else:
        return arr
    return np.ascontiguousarray(out)


def read_exif(im: Image.Image, *, keep_bytes: bool = True) -> tuple[int, bytes | None]:
    """Return (orientation, exif bytes with Orientation reset to 1) of an opened Pillow image.

    Unreadable EXIF is dropped rather than failing the read. With ``keep_bytes=False`` only the
    orientation is extracted (TIFF: the "EXIF" Pillow reports there is the image's own tag directory).
    """
    try:
        exif = im.getexif()
    except Exception:  # noqa: BLE001 - damaged EXIF must not make the image unreadable
        return 1, None
    raw = exif.get(ORIENTATION, 1)
    orientation = raw if isinstance(raw, int) and 1 <= raw <= 8 else 1
    if not keep_bytes or len(exif) == 0:
        return orientation, None
    if ORIENTATION in exif:
        exif[ORIENTATION] = 1
    try:
        return orientation, exif.tobytes()
    except Exception:  # noqa: BLE001
        return orientation, None


def exif_with_provenance(exif: bytes | None, provenance: Provenance | None) -> bytes | None:
    """Merge ImageDescription + Software (provenance) into ``exif``; Orientation forced to 1."""
    merged = Image.Exif()
    if exif:
        try:
            merged.load(exif if exif.startswith(EXIF_HEADER) else EXIF_HEADER + exif)
        except Exception:  # noqa: BLE001 - unparsable EXIF is replaced by a fresh one
            merged = Image.Exif()
    if ORIENTATION in merged:
        merged[ORIENTATION] = 1
    if provenance is not None:
        merged[IMAGE_DESCRIPTION] = provenance.describe()
        merged[SOFTWARE] = provenance.software
    if len(merged) == 0:
        return None
    return merged.tobytes()


def icc_color_space(icc: bytes) -> str | None:
    """The data colour space of an ICC profile ('RGB', 'GRAY', 'CMYK', ...), or None if malformed."""
    if len(icc) < 20:
        return None
    return icc[16:20].decode("ascii", "replace").strip()


def icc_for(icc: bytes | None, channels: int) -> bytes | None:
    """Return ``icc`` if it suits an image with ``channels`` colour channels, else None."""
    if not icc:
        return None
    wanted = "GRAY" if channels == 1 else "RGB"
    return icc if icc_color_space(icc) == wanted else None
