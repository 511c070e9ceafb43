"""File formats: extension table and content sniffing (magic bytes)."""

from __future__ import annotations

from pathlib import Path

from enhance.errors import UnsupportedFormatError

SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
    ".bmp": "bmp",
    ".jp2": "jp2",
    ".j2k": "j2k",
    ".j2c": "j2k",
    ".dcm": "dicom",
    ".dicom": "dicom",
}

FORMATS: frozenset[str] = frozenset(SUPPORTED_EXTENSIONS.values())

#: Formats whose files can hold 16-bit samples (everything else is written as 8-bit).
SIXTEEN_BIT_FORMATS: frozenset[str] = frozenset({"png", "tiff", "jp2", "j2k"})

#: Formats whose files can hold several frames (DICOM frames, TIFF pages).
MULTI_FRAME_FORMATS: frozenset[str] = frozenset({"dicom", "tiff"})

_ALIASES: dict[str, str] = {"jpg": "jpeg", "tif": "tiff", "dcm": "dicom", "jpeg2000": "jp2", "j2c": "j2k"}

#: Formats we recognise by content but do not support, for clearer messages.
_UNSUPPORTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"8BPS", "Photoshop PSD"),
    (b"%PDF", "PDF"),
)

#: How many leading bytes :func:`sniff_format` needs.
SNIFF_BYTES = 132


def normalize_format(name: str) -> str | None:
    """Return the canonical format name for ``name`` ('jpg' -> 'jpeg'), or None if unknown."""
    key = name.lower().lstrip(".")
    key = _ALIASES.get(key, key)
    return key if key in FORMATS else None


def format_for_path(path: Path) -> str:
    """Return the format name for ``path`` judged by its extension.

    Raises:
        UnsupportedFormatError: the extension is not in :data:`SUPPORTED_EXTENSIONS`.
    """
    ext = Path(path).suffix.lower()
    try:
        return SUPPORTED_EXTENSIONS[ext]
    except KeyError:
        shown = ext or "(no extension)"
        known = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise UnsupportedFormatError(path, f"unsupported file extension {shown} (supported: {known})") from None


def is_supported(path: Path) -> bool:
    """True if the extension of ``path`` is a supported image format (no file access)."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


def sniff_format(head: bytes) -> str | None:
    """Return the supported format that the leading bytes ``head`` belong to, or None.

    The DICOM marker at byte 128 is tested first: the 128-byte preamble is free, and "dual
    personality" files (pydicom's own CT_small.dcm among them) start it with a TIFF header."""
    if head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n"):
        return "jp2"
    if head.startswith(b"\xff\x4f\xff\x51"):
        return "j2k"
    return None


def sniff_unsupported(head: bytes) -> str | None:
    """Name a known-but-unsupported format from its leading bytes (e.g. 'GIF'), or None."""
    for magic, name in _UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            return name
    return None
