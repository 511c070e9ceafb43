"""JPEG 2000: JP2 files and raw J2K codestreams, the format of many archives' and libraries' masters.

Samples are decoded by OpenJPEG as pylibjpeg-openjpeg (already pydicom's JPEG 2000 codec here)
wraps it, which gives them as stored: uint8 up to 8 bits, uint16 for 9-16 bits, scaled here by the
codestream's own precision, so that a 12-bit master is 12-bit in :class:`ImageData` and is written
back as 12 bits. Pillow's decoder would shift 12-bit samples into 16 bits and bring 16-bit colour
down to 8; imagecodecs' applies the embedded ICC profile to the samples, which would then be
converted a second time by whatever reads the profile we keep (its encoder is used for writing). Output is always lossless (the reversible
5/3 wavelet): an archive's master must not lose what the enhancement kept. In a JP2 file the ICC
profile of the ``colr`` box is kept both ways and the provenance goes into an XML box; a raw
codestream has no place for either.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

import numpy as np

from enhance.errors import ImageReadError, UnsupportedFormatError
from enhance.io.codestream import j2k_components, j2k_frame_size
from enhance.io.convert import merge_alpha, quantize, split_alpha
from enhance.io.data import ImageData, Provenance
from enhance.io.limits import check_pixels
from enhance.io.metadata import icc_for


def read_jpeg2000(path: Path, fmt: str, data: bytes, limit: int | None) -> ImageData:
    """Decode a JP2 file or J2K codestream (``fmt`` 'jp2' / 'j2k'), checked against ``limit`` first."""
    import openjpeg

    size = j2k_frame_size(data)
    components = j2k_components(data)
    if size is None or not components:
        raise ImageReadError(path, "no JPEG 2000 image header (SIZ segment) in the file")
    check_pixels(path, *size, limit)  # before the decoder allocates what the header declares
    if any(signed for _, signed in components):
        raise UnsupportedFormatError(path, "JPEG 2000 with signed samples is not supported")
    bits = max(p for p, _ in components)
    if bits > 16:
        raise UnsupportedFormatError(path, f"JPEG 2000 with {bits}-bit samples is not supported (at most 16)")
    if len(components) > 4:
        raise UnsupportedFormatError(path, f"JPEG 2000 with {len(components)} components is not supported")
    samples = np.asarray(openjpeg.decode(data))
    if samples.ndim == 3 and samples.shape[2] == 1:
        samples = samples[:, :, 0]
    # each component by its own precision (an alpha channel may have fewer bits than the colour)
    tops = np.array([(1 << p) - 1 for p, _ in components], np.float32)
    values = samples.astype(np.float32)
    values /= tops if samples.ndim == 3 and samples.shape[2] == len(tops) else tops.max()
    pixels, alpha = split_alpha(values)
    icc = _colr_icc(data) if fmt == "jp2" else None
    return ImageData(np.clip(pixels, 0, 1), None if alpha is None else np.clip(alpha, 0, 1),
                     max(bits, 8), fmt, icc_profile=icc, source=path)


def write_jpeg2000(fh: BinaryIO, fmt: str, image: ImageData, provenance: Provenance | None) -> None:
    """Encode ``image`` losslessly as a JP2 file (``fmt`` 'jp2', with ICC and provenance) or a raw
    codestream ('j2k'), in the source's precision: 8 bits, or its own 9-16 (float samples: 16)."""
    import imagecodecs

    bits = 8 if image.bit_depth <= 8 else min(image.bit_depth, 16)
    samples = quantize(merge_alpha(image.pixels, image.alpha), bits)
    if samples.shape[2] == 1:
        samples = samples[:, :, 0]
    # imagecodecs here (its encoder takes grey + alpha, pylibjpeg-openjpeg's does not); level 0 with
    # the reversible transform is lossless
    data = bytes(imagecodecs.jpeg2k_encode(
        samples, level=0, codecformat=fmt, reversible=True, bitspersample=None if bits in (8, 16) else bits))
    if fmt == "jp2":
        data = _with_metadata(data, icc_for(image.icc_profile, image.pixels.shape[2]), provenance)
    fh.write(data)


# --------------------------------------------------------------------------- JP2 boxes
def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int, int]]:
    """``(type, box start, content start, box end)`` of each box in ``data[start:end]``; stops at
    the first malformed one."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if length == 1:  # a 64-bit length follows
            if pos + 16 > end:
                return
            (length,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif length == 0:  # the box runs to the end
            length = end - pos
        if length < header or pos + length > end:
            return
        yield kind, pos, pos + header, pos + length
        pos += length


def _box(kind: bytes, content: bytes) -> bytes:
    return struct.pack(">I4s", len(content) + 8, kind) + content


def _colr_icc(data: bytes) -> bytes | None:
    """The ICC profile of the JP2 header's colour specification box (method 2 or 3), or None."""
    for kind, _, start, end in _boxes(data):
        if kind == b"jp2h":
            for inner, _, c0, c1 in _boxes(data, start, end):
                if inner == b"colr" and c1 - c0 > 3 and data[c0] in (2, 3):
                    return data[c0 + 3 : c1] or None
    return None


def _with_metadata(data: bytes, icc: bytes | None, provenance: Provenance | None) -> bytes:
    """The JP2 file ``data`` with its colour box replaced by ``icc`` (when given) and an XML box of
    ``provenance`` after the header."""
    out = []
    for kind, box_start, start, end in _boxes(data):
        if kind == b"jp2h":
            inner = [data[b0:b1] if k != b"colr" or icc is None else _box(b"colr", bytes([2, 0, 0]) + icc)
                     for k, b0, _, b1 in _boxes(data, start, end)]
            out.append(_box(b"jp2h", b"".join(inner)))
            if provenance is not None:
                xml = (f'<?xml version="1.0" encoding="UTF-8"?><provenance software="{escape(provenance.software, {chr(34): "&quot;"})}">'
                       f"{escape(provenance.describe())}</provenance>")
                out.append(_box(b"xml ", xml.encode("utf-8")))
        else:
            out.append(data[box_start:end])
    return b"".join(out)
