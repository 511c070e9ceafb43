"""Frame sizes read from compressed codestream headers (``enhance.io.codestream``), and the DICOM
reader refusing a frame whose header disagrees with Rows / Columns before any decoder runs."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from enhance.errors import ImageReadError
from enhance.io.codestream import j2k_components, j2k_frame_size, jpeg_frame_size


def _encoded(fmt: str, size: tuple[int, int] = (37, 21), **kwargs: object) -> bytes:
    rgb = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("options", [{}, {"progressive": True}, {"quality": 30, "subsampling": 2}],
                         ids=["baseline", "progressive", "subsampled"])
def test_jpeg_frame_size_reads_the_sof_segment(options: dict[str, object]) -> None:
    assert jpeg_frame_size(_encoded("JPEG", **options)) == (37, 21)


def test_jpeg_frame_size_skips_fill_bytes_and_app_segments() -> None:
    data = _encoded("JPEG", (5, 9))
    padded = data[:2] + b"\xff\xe1" + struct.pack(">H", 6) + b"Exif" + b"\xff\xff" + data[2:]
    assert jpeg_frame_size(padded) == (5, 9)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xda\x00\x08", b"\x89PNG\r\n",
                                  b"\xff\xd8\xff\xe0\x00\x01", b"\xff\xd8\xff\xc0\x00\x05\x08"],
                         ids=["empty", "soi-only", "scan-first", "not-jpeg", "bad-length", "short-sof"])
def test_jpeg_frame_size_none_without_a_well_formed_sof(data: bytes) -> None:
    assert jpeg_frame_size(data) is None


def test_j2k_frame_size_reads_siz_minus_the_image_offset() -> None:
    siz = b"\xff\x4f\xff\x51" + struct.pack(">HH", 41, 0) + struct.pack(">IIII", 130, 70, 30, 20)
    assert j2k_frame_size(siz + b"\x00" * 40) == (100, 50)
    assert j2k_frame_size(b"\xff\x4f\xff\x52" + b"\x00" * 30) is None
    assert j2k_frame_size(siz[:12]) is None


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow built without OpenJPEG")
@pytest.mark.parametrize("container", ["J2K", "JP2"])
def test_j2k_frame_size_of_real_codestreams(container: str) -> None:
    assert j2k_frame_size(_encoded("JPEG2000", (33, 17), no_jp2=container == "J2K")) == (33, 17)


def test_j2k_components_gives_each_precision_and_sign() -> None:
    siz = (b"\xff\x4f\xff\x51" + struct.pack(">HH", 47, 0) + struct.pack(">IIIIIIII", 8, 8, 0, 0, 8, 8, 0, 0)
           + struct.pack(">H", 3) + bytes([11, 1, 1, 0x80 | 15, 1, 1, 7, 1, 1]))
    assert j2k_components(siz) == [(12, False), (16, True), (8, False)]
    assert j2k_components(siz[:-1]) is None  # the third component cut off
    assert j2k_components(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 8 + b"jp2c" + siz) == [(12, False), (16, True), (8, False)]
    assert j2k_components(b"\xff\xd8\xff") is None


def test_a_dicom_frame_header_that_disagrees_with_rows_and_columns_is_refused() -> None:
    pydicom = pytest.importorskip("pydicom")
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    from enhance.io import decode_image
    from enhance.io.dicom import read_dicom

    src = pydicom.dcmread(pydicom.data.get_testdata_file("SC_rgb_small_odd_jpeg.dcm"))
    good = io.BytesIO()
    src.save_as(good)
    assert read_dicom(Path("ok.dcm"), good.getvalue(), None).pixels.shape[:2] == (src.Rows, src.Columns)
    src.PixelData = encapsulate([_encoded("JPEG", (src.Columns + 8, src.Rows))])
    assert src.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    bad = io.BytesIO()
    src.save_as(bad)
    with pytest.raises(ImageReadError, match=r"frame 1 declares \d+x\d+, not the"):
        decode_image(bad.getvalue(), "bad.dcm")
