"""Frame sizes declared inside compressed codestreams (JPEG, JPEG-LS, JPEG 2000), read from their
headers without decoding.

A DICOM file's Rows / Columns are checked against the pixel limit before decoding, but the decoder
allocates what the *codestream* declares: a JPEG-LS frame whose SOF says 0 lines (height given
later by a DNL marker) and 32,778 columns made libjpeg take 22 GB and 90 s for a 45x10 image. So
each frame's own header must agree with the dataset before a decoder sees it. pydicom parses these
headers too, but only in private helpers; this is the small part we need.
"""

from __future__ import annotations

import struct

#: JPEG start-of-frame markers (SOF0-SOF15 less DHT, JPG and DAC) and JPEG-LS's SOF55
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_SOC_SIZ = b"\xff\x4f\xff\x51"


def jpeg_frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG or JPEG-LS codestream's start-of-frame segment; None if the
    stream has no SOI or no well-formed SOF before its first scan. Height 0 means 'given by a DNL
    marker after the first scan'."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI or SOS before any SOF
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF:
            if length < 8 or pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if length < 2:
            return None
        pos += 2 + length
    return None


def j2k_frame_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the reference grid's image area from a JPEG 2000 codestream's SIZ
    segment (raw codestream, or the JP2 file format's contiguous-codestream box); None if absent."""
    data = _j2k_codestream(data)
    if len(data) < 24:
        return None
    x_size, y_size, x_offset, y_offset = struct.unpack(">IIII", data[8:24])
    return max(x_size - x_offset, 0), max(y_size - y_offset, 0)


def j2k_components(data: bytes) -> list[tuple[int, bool]] | None:
    """``(bits, signed)`` of each component from a JPEG 2000 codestream's SIZ segment (raw, or in
    a JP2 file's contiguous-codestream box); None if absent or cut short."""
    data = _j2k_codestream(data)
    if len(data) < 42:
        return None
    (count,) = struct.unpack(">H", data[40:42])
    if count == 0 or len(data) < 42 + 3 * count:
        return None
    return [((data[42 + 3 * i] & 0x7F) + 1, bool(data[42 + 3 * i] & 0x80)) for i in range(count)]


def _j2k_codestream(data: bytes) -> bytes:
    """The codestream from its SOC and SIZ markers on (in a JP2 file: its contiguous-codestream
    box), or b"" when there is none."""
    if data.startswith(_JP2_SIGNATURE):
        box = data.find(b"jp2c")
        data = data[box + 4 :] if box >= 0 else b""
    return data if data.startswith(_J2K_SOC_SIZ) else b""
