"""Tests for enhance.io: round trips, metadata, DICOM, errors, atomic writes, array conversions."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

import enhance.io.png as png_module
from enhance.errors import (
    ImageReadError,
    ImageTooLargeError,
    ImageWriteError,
    InvalidInputError,
    UnsupportedFormatError,
)
from enhance.io import (
    SUPPORTED_EXTENSIONS,
    ImageData,
    Provenance,
    format_for_path,
    from_array,
    from_pil,
    get_max_pixels,
    is_supported,
    read_image,
    set_max_pixels,
    to_array,
    to_pil,
    write_image,
)
from enhance.io.metadata import orient

PROV = Provenance(model="sr-x4-gan", task="upscale", software="enhance 0.1.0")
RNG = np.random.default_rng(1234)


def _u16(h: int, w: int, c: int) -> np.ndarray:
    return RNG.integers(0, 65536, size=(h, w, c), dtype=np.uint16)


def _u8(h: int, w: int, c: int) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, c), dtype=np.uint8)


def _smooth(h: int, w: int, c: int) -> np.ndarray:
    """A smooth float image (lossy codecs reproduce it closely)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = [(np.sin(x / 7 + k) * np.cos(y / 5 - k) + 1) / 2 for k in range(c)]
    return np.stack(planes, axis=2).astype(np.float32)


def _image(samples: np.ndarray, alpha: np.ndarray | None = None) -> ImageData:
    if samples.dtype == np.uint8:
        pixels, depth = samples.astype(np.float32) / 255, 8
    elif samples.dtype == np.uint16:
        pixels, depth = samples.astype(np.float32) / 65535, 16
    else:
        pixels, depth = samples.astype(np.float32), 8
    return ImageData(pixels, alpha, depth, "png")


def _pixels_as(image: ImageData, dtype: type) -> np.ndarray:
    top = 255 if dtype == np.uint8 else 65535
    return np.rint(image.pixels * top).astype(dtype)


def _srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --------------------------------------------------------------------------- formats


def test_extension_table() -> None:
    assert SUPPORTED_EXTENSIONS[".jpg"] == "jpeg" and SUPPORTED_EXTENSIONS[".dcm"] == "dicom"
    assert format_for_path(Path("a/B.TIFF")) == "tiff"
    assert is_supported(Path("x.webp")) and not is_supported(Path("x.gif"))
    with pytest.raises(UnsupportedFormatError, match="x.gif"):
        format_for_path(Path("x.gif"))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp"])
def test_lossless_8bit_round_trip(tmp_path: Path, ext: str, channels: int) -> None:
    samples = _u8(13, 17, channels)
    path = tmp_path / f"img{ext}"
    write_image(path, _image(samples), provenance=PROV)
    back = read_image(path)
    assert back.bit_depth == 8 and back.pixels.dtype == np.float32
    assert back.pixels.shape == (13, 17, channels)
    assert back.format == format_for_path(path) and back.source == path
    np.testing.assert_array_equal(_pixels_as(back, np.uint8), samples)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_lossy_round_trip(tmp_path: Path, ext: str, channels: int) -> None:
    pixels = _smooth(32, 40, channels)
    path = tmp_path / f"img{ext}"
    write_image(path, ImageData(pixels, None, 16, "png"), quality=95)
    back = read_image(path)
    assert back.bit_depth == 8  # JPEG / WebP hold 8 bits only
    expected_channels = 3 if ext == ".webp" else channels  # WebP has no grayscale
    assert back.pixels.shape == (32, 40, expected_channels)
    assert np.abs(back.pixels - pixels).mean() < 0.02


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_exact_round_trip(tmp_path: Path, ext: str, channels: int) -> None:
    samples = _u16(11, 19, channels)
    path = tmp_path / f"img{ext}"
    write_image(path, _image(samples))
    back = read_image(path)
    assert back.bit_depth == 16 and back.pixels.shape == (11, 19, channels)
    np.testing.assert_array_equal(_pixels_as(back, np.uint16), samples)
    assert back.pixels[0, 0, 0] == np.float32(samples[0, 0, 0] / 65535)


def test_16bit_png_is_really_16bit(tmp_path: Path) -> None:
    import cv2

    samples = _u16(5, 6, 3)
    path = tmp_path / "deep.png"
    write_image(path, _image(samples))
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16
    np.testing.assert_array_equal(raw[:, :, ::-1], samples)


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3])
def test_alpha_kept(tmp_path: Path, ext: str, depth: int, channels: int) -> None:
    make = _u8 if depth == 8 else _u16
    dtype = np.uint8 if depth == 8 else np.uint16
    samples = make(9, 10, channels + 1)
    top = 255 if depth == 8 else 65535
    image = _image(samples[:, :, :channels])
    image.alpha = samples[:, :, channels].astype(np.float32) / top
    path = tmp_path / f"a{ext}"
    write_image(path, image)
    back = read_image(path)
    assert back.bit_depth == depth and back.pixels.shape == (9, 10, channels)
    assert back.alpha is not None and back.alpha.dtype == np.float32
    np.testing.assert_array_equal(_pixels_as(back, dtype), samples[:, :, :channels])
    np.testing.assert_array_equal(np.rint(back.alpha * top).astype(dtype), samples[:, :, channels])


def test_read_pil_written_files(tmp_path: Path) -> None:
    """Files from another encoder: palette (with transparency), LA, 16-bit gray, CMYK JPEG."""
    pal = Image.fromarray(_u8(8, 8, 1)[:, :, 0]).convert("P")
    pal.save(tmp_path / "p.png")
    pal.save(tmp_path / "pt.png", transparency=0)
    Image.fromarray(_u8(8, 8, 2), "LA").save(tmp_path / "la.png")
    gray16 = _u16(8, 8, 1)[:, :, 0]
    Image.fromarray(gray16).save(tmp_path / "g16.png")
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")

    p = read_image(tmp_path / "p.png")
    assert p.pixels.shape == (8, 8, 3) and p.alpha is None
    pt = read_image(tmp_path / "pt.png")
    assert pt.pixels.shape == (8, 8, 3) and pt.alpha is not None
    la = read_image(tmp_path / "la.png")
    assert la.is_gray and la.alpha is not None
    g16 = read_image(tmp_path / "g16.png")
    assert g16.bit_depth == 16 and g16.is_gray
    np.testing.assert_array_equal(_pixels_as(g16, np.uint16)[:, :, 0], gray16)
    cmyk = read_image(tmp_path / "cmyk.jpg")
    assert cmyk.pixels.shape == (6, 8, 3)
    assert cmyk.pixels[..., 0].mean() > 0.9 and cmyk.pixels[..., 1].mean() < 0.1  # red


def test_mislabelled_but_readable(tmp_path: Path) -> None:
    path = tmp_path / "actually_jpeg.png"
    Image.fromarray(_u8(8, 8, 3)).save(path, format="JPEG")
    assert read_image(path).format == "jpeg"


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_matches_pil(orientation: int) -> None:
    samples = _u8(4, 7, 3)
    im = Image.fromarray(samples)
    exif = im.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, format="PNG", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(buf)))
    np.testing.assert_array_equal(orient(samples, orientation), expected)


def test_exif_orientation_applied(tmp_path: Path) -> None:
    im = Image.fromarray(np.zeros((20, 40, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TestCam"  # Make
    path = tmp_path / "rot.jpg"
    im.save(path, exif=exif.tobytes())
    image = read_image(path)
    assert (image.height, image.width) == (40, 20)
    parsed = Image.Exif()
    parsed.load(image.exif)
    assert parsed[0x0112] == 1 and parsed[0x010F] == "TestCam"
    out = tmp_path / "out.jpg"
    write_image(out, image, provenance=PROV)
    with Image.open(out) as written:
        tags = written.getexif()
        assert written.size == (20, 40)
        assert tags[0x0112] == 1 and tags[0x010F] == "TestCam"
        assert tags[0x010E] == PROV.describe() and tags[0x0131] == "enhance 0.1.0"


def test_exif_orientation_16bit_png(tmp_path: Path) -> None:
    image = _image(_u16(6, 10, 3))
    exif = Image.Exif()
    exif[0x0112] = 8
    image.exif = exif.tobytes()
    path = tmp_path / "rot16.png"
    # Write the orientation tag as-is through the low-level encoder (write_image resets it).
    with open(path, "wb") as fh:
        png_module.write_png(fh, np.rint(image.pixels * 65535).astype(np.uint16), exif=image.exif)
    back = read_image(path)
    assert back.bit_depth == 16 and (back.height, back.width) == (10, 6)
    np.testing.assert_array_equal(back.pixels, orient(image.pixels, 8))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_icc_carried(tmp_path: Path, ext: str) -> None:
    icc = _srgb()
    src = tmp_path / f"src{ext}"
    Image.fromarray(_u8(8, 8, 3)).save(src, icc_profile=icc)
    image = read_image(src)
    assert image.icc_profile == icc
    out = tmp_path / f"out{ext}"
    write_image(out, image, provenance=PROV)
    assert read_image(out).icc_profile == icc


def test_provenance_png(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    write_image(path, _image(_u16(4, 4, 3)), provenance=PROV)
    with Image.open(path) as im:
        im.load()
        assert im.text["Software"] == "enhance 0.1.0"
        assert im.text["Description"] == PROV.describe()
    assert "not an original image" in PROV.describe()


def test_provenance_tiff(tmp_path: Path) -> None:
    import tifffile

    path = tmp_path / "p.tif"
    write_image(path, _image(_u8(4, 4, 1)), provenance=PROV)
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        assert tags["ImageDescription"].value == PROV.describe()
        assert tags["Software"].value == "enhance 0.1.0"


def test_provenance_jpeg_webp(tmp_path: Path) -> None:
    for name in ("p.jpg", "p.webp"):
        path = tmp_path / name
        write_image(path, _image(_u8(8, 8, 3)), provenance=PROV)
        with Image.open(path) as im:
            tags = im.getexif()
            assert tags[0x010E] == PROV.describe() and tags[0x0131] == "enhance 0.1.0"


# --------------------------------------------------------------------------- DICOM


def _dicom_dataset(values: np.ndarray, *, signed: bool = False, photometric: str = "MONOCHROME2"):
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("test.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.PatientName = "Test^Patient"
    ds.PatientID = "123"
    ds.SeriesDescription = "test series"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelSpacing = [0.5, 0.5]
    ds.RescaleSlope = 2
    ds.RescaleIntercept = -1024
    ds.PixelData = values.astype("<i2" if signed else "<u2").tobytes()
    assert isinstance(ds, pydicom.Dataset)
    return ds


def test_dicom_round_trip(tmp_path: Path) -> None:
    import pydicom

    values = RNG.integers(0, 4096, size=(6, 8), dtype=np.uint16)
    src = tmp_path / "in.dcm"
    ds = _dicom_dataset(values)
    ds.save_as(src, enforce_file_format=True)

    image = read_image(src)
    assert image.format == "dicom" and image.bit_depth == 12 and image.is_gray
    np.testing.assert_array_equal(np.rint(image.pixels[:, :, 0] * 4095).astype(np.uint16), values)

    big = np.repeat(np.repeat(image.pixels, 2, axis=0), 2, axis=1)
    out = tmp_path / "out.dcm"
    write_image(out, ImageData(big, None, image.bit_depth, "dicom", dicom=image.dicom), provenance=PROV, scale=2)

    written = pydicom.dcmread(out)
    assert written.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert written.SOPInstanceUID != ds.SOPInstanceUID
    assert written.file_meta.MediaStorageSOPInstanceUID == written.SOPInstanceUID
    assert list(written.ImageType) == ["DERIVED", "PRIMARY", "AXIAL"]
    assert [float(v) for v in written.PixelSpacing] == [0.25, 0.25]
    assert (written.Rows, written.Columns) == (12, 16)
    assert float(written.RescaleSlope) == 2 and float(written.RescaleIntercept) == -1024
    assert written.DerivationDescription == PROV.describe()
    assert written.SeriesDescription == "test series" and written.PatientID == "123"
    assert written.BitsStored == 12
    expected = np.repeat(np.repeat(values, 2, axis=0), 2, axis=1)
    np.testing.assert_array_equal(written.pixel_array, expected)
    again = read_image(out)
    np.testing.assert_array_equal(again.pixels, big)


@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
def test_dicom_signed_and_monochrome1(tmp_path: Path, photometric: str) -> None:
    import pydicom

    values = RNG.integers(-2048, 2048, size=(5, 7)).astype(np.int16)
    src = tmp_path / "s.dcm"
    _dicom_dataset(values, signed=True, photometric=photometric).save_as(src, enforce_file_format=True)
    image = read_image(src)
    normalised = (values.astype(np.float32) + 2048) / 4095
    if photometric == "MONOCHROME1":
        normalised = 1 - normalised
    np.testing.assert_allclose(image.pixels[:, :, 0], normalised, atol=1e-6)
    out = tmp_path / "s_out.dcm"
    write_image(out, image)
    written = pydicom.dcmread(out)
    assert written.PhotometricInterpretation == photometric and written.PixelRepresentation == 1
    np.testing.assert_array_equal(written.pixel_array, values)


def test_dicom_from_png_data(tmp_path: Path) -> None:
    import pydicom

    out = tmp_path / "new.dcm"
    samples = _u8(4, 6, 1)
    write_image(out, _image(samples), provenance=PROV)
    written = pydicom.dcmread(out)
    np.testing.assert_array_equal(written.pixel_array, samples[:, :, 0])
    assert written.ImageType[0] == "DERIVED"


def test_dicom_multiframe_frames_geometry_and_series(tmp_path: Path) -> None:
    """Every frame is read and written back; spacing (top level and per-frame functional groups)
    is divided by the scale, the first pixel's position moves to the new pixel centre, the series
    gets one new UID for every output of one source series and model."""
    import pydicom
    from pydicom.dataset import Dataset

    values = RNG.integers(0, 4096, size=(3, 4, 5), dtype=np.uint16)
    ds = _dicom_dataset(values[0])
    ds.NumberOfFrames = 3
    ds.PixelData = values.astype("<u2").tobytes()
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [10, 20, 30]
    per_frame = []
    for k in range(3):
        measures, position, item = Dataset(), Dataset(), Dataset()
        measures.PixelSpacing = [0.8, 0.4]
        position.ImagePositionPatient = [10, 20, 30 + k]
        item.PixelMeasuresSequence = [measures]
        item.PlanePositionSequence = [position]
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    path = tmp_path / "multi.dcm"
    ds.save_as(path, enforce_file_format=True)

    image = read_image(path)
    assert image.frame_count == 3
    for (pixels, _), expected in zip(image.frames(), values):
        np.testing.assert_array_equal(np.rint(pixels[:, :, 0] * 4095).astype(np.uint16), expected)
    big = image.with_frames([(np.repeat(np.repeat(p, 2, 0), 2, 1), a) for p, a in image.frames()])
    outs = [tmp_path / "o1.dcm", tmp_path / "o2.dcm"]
    for out in outs:
        write_image(out, big, provenance=PROV, scale=2)
    a, b = (pydicom.dcmread(o) for o in outs)
    assert a.NumberOfFrames == 3 and a.pixel_array.shape == (3, 8, 10)
    np.testing.assert_array_equal(a.pixel_array, np.repeat(np.repeat(values, 2, 1), 2, 2))
    assert [float(v) for v in a.PixelSpacing] == [0.25, 0.25]
    frame = a.PerFrameFunctionalGroupsSequence[2]
    assert [float(v) for v in frame.PixelMeasuresSequence[0].PixelSpacing] == [0.4, 0.2]
    # the old pixel centre (10, 20) is a quarter of an old pixel inside the new first pixel's centre
    assert [float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient] == [9.9, 19.8, 32.0]
    assert [float(v) for v in a.ImagePositionPatient] == [9.875, 19.875, 30.0]
    assert a.SeriesInstanceUID == b.SeriesInstanceUID != ds.SeriesInstanceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID
    with pytest.raises(ImageWriteError, match="3 frames"):
        write_image(tmp_path / "o.png", big)


def test_dicom_undecodable_transfer_syntax(tmp_path: Path) -> None:
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless

    ds = _dicom_dataset(np.zeros((4, 4), np.uint16))
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\0" * 30])
    ds["PixelData"].VR = "OB"
    path = tmp_path / "j2k.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(ImageReadError, match="j2k.dcm"):
        read_image(path)


# --------------------------------------------------------------------------- read errors


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_u8(32, 32, 3)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.png", b""),
        ("garbage.jpg", bytes(range(256)) * 4),
        ("text.png", b"hello, I am not a picture\n"),
        ("notdicom.dcm", b"plain text pretending to be DICOM"),
        ("truncated.png", _png_bytes()[:300]),
        ("badheader.jpg", b"\xff\xd8\xff" + b"\0" * 40),
        ("badtiff.tif", b"II*\0" + b"\xff" * 40),
        ("truncated16.png", b""),  # filled below
    ],
)
def test_bad_files_raise_read_error(tmp_path: Path, name: str, data: bytes) -> None:
    if name == "truncated16.png":
        buf = io.BytesIO()
        png_module.write_png(buf, _u16(64, 64, 3))
        data = buf.getvalue()[:400]
    path = _write_bytes(tmp_path / name, data)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ") and "\n" not in message


def test_truncated_jpeg(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(_u8(64, 64, 3)).save(buf, format="JPEG")
    path = _write_bytes(tmp_path / "cut.jpg", buf.getvalue()[:-200])
    with pytest.raises(ImageReadError, match="cut.jpg"):
        read_image(path)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageReadError, match="directory"):
        read_image(tmp_path / "dir.png")


def test_unsupported_content(tmp_path: Path) -> None:
    path = tmp_path / "anim.png"
    Image.new("RGB", (4, 4)).save(path, format="GIF")
    with pytest.raises(UnsupportedFormatError, match="GIF"):
        read_image(path)


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (50, 40)).save(path)
    with pytest.raises(ImageTooLargeError) as info:
        read_image(path, max_pixels=1000)
    assert str(path) in str(info.value) and "50x40" in str(info.value) and "1,000" in str(info.value)
    assert read_image(path, max_pixels=None).width == 50
    previous = get_max_pixels()
    try:
        set_max_pixels(100)
        assert get_max_pixels() == 100
        with pytest.raises(ImageTooLargeError):
            read_image(path)
        # Pillow's own (2x) bomb error is converted, not leaked.
        with pytest.raises(ImageTooLargeError):
            read_image(path, max_pixels=10)
        with pytest.raises(InvalidInputError):
            set_max_pixels(0)
    finally:
        set_max_pixels(previous)
    assert get_max_pixels() == 20_000 * 20_000


def test_too_large_dicom_and_tiff16(tmp_path: Path) -> None:
    dcm = tmp_path / "big.dcm"
    _dicom_dataset(np.zeros((20, 30), np.uint16)).save_as(dcm, enforce_file_format=True)
    tif = tmp_path / "big.tif"
    write_image(tif, _image(_u16(20, 30, 1)))
    for path in (dcm, tif):
        with pytest.raises(ImageTooLargeError, match="30x20"):
            read_image(path, max_pixels=100)


# --------------------------------------------------------------------------- writing


def test_write_errors(tmp_path: Path) -> None:
    image = _image(_u8(4, 4, 3))
    with pytest.raises(ImageWriteError, match="does not match"):
        write_image(tmp_path / "x.png", image, format="jpeg")
    write_image(tmp_path / "x.jpg", image, format="jpg")  # alias agrees with the extension
    with pytest.raises(ImageWriteError):
        write_image(tmp_path / "x.gif", image)
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "nope" / "x.png", image)
    with pytest.raises(ImageWriteError, match="quality"):
        write_image(tmp_path / "x.webp", image, quality=0)
    bad = ImageData(np.zeros((4, 4, 2), np.float32), None, 8, "png")
    with pytest.raises(ImageWriteError, match="pixels"):
        write_image(tmp_path / "y.png", bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg"]


def test_write_clips_and_rounds(tmp_path: Path) -> None:
    pixels = np.array([[[-0.5], [0.6 / 255], [1.7], [np.nan]]], np.float32)
    path = tmp_path / "c.png"
    write_image(path, ImageData(pixels, None, 8, "png"))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), [[0, 1, 255, 0]])


def test_atomic_write_encoder_fails_midway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import enhance.io.raster_write as raster_write

    def failing(fh, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        fh.write(b"\x89PNG\r\n\x1a\n partial data")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(raster_write, "write_png", failing)
    path = tmp_path / "out.png"
    with pytest.raises(ImageWriteError, match="disk on fire") as info:
        write_image(path, _image(_u8(4, 4, 3)))
    assert str(info.value).startswith(str(path))
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import enhance.io.write as write_module

    path = tmp_path / "out.tif"
    write_image(path, _image(_u8(4, 4, 3)))
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write_module.os, "fsync", broken_fsync)
    with pytest.raises(ImageWriteError, match="No space left"):
        write_image(path, _image(_u8(8, 8, 3)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_overwrite_replaces(tmp_path: Path) -> None:
    path = tmp_path / "o.bmp"
    write_image(path, _image(_u8(4, 4, 3)))
    write_image(path, _image(_u8(6, 5, 3)))
    assert read_image(path).pixels.shape == (6, 5, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["o.bmp"]


# --------------------------------------------------------------------------- arrays / PIL


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 1), (5, 6, 3), (5, 6, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_array_round_trip(shape: tuple[int, ...], dtype: type) -> None:
    if np.issubdtype(dtype, np.integer):
        arr = RNG.integers(0, np.iinfo(dtype).max + 1, size=shape).astype(dtype)
    else:
        arr = RNG.random(shape).astype(dtype)
    image, info = from_array(arr)
    channels = 1 if len(shape) == 2 else shape[2]
    assert image.pixels.dtype == np.float32 and image.pixels.shape[:2] == (5, 6)
    assert image.pixels.shape[2] == (3 if channels >= 3 else 1)
    assert (image.alpha is not None) == (channels == 4)
    assert image.bit_depth == (8 if dtype == np.uint8 else 16)
    back = to_array(image, info)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    if np.issubdtype(dtype, np.integer):
        np.testing.assert_array_equal(back, arr)
    else:
        np.testing.assert_allclose(back, arr, atol=1e-6)


def test_to_array_new_size_and_missing_alpha() -> None:
    image, info = from_array(np.zeros((4, 4, 4), np.uint8))
    bigger = ImageData(np.ones((8, 8, 3), np.float32), None, 8, "png")
    out = to_array(bigger, info)
    assert out.shape == (8, 8, 4) and out.dtype == np.uint8 and (out == 255).all()
    gray_info = from_array(np.zeros((4, 4), np.float32))[1]
    assert to_array(bigger, gray_info).shape == (8, 8)


def test_from_array_clips_floats() -> None:
    image, _ = from_array(np.array([[-1.0, 2.0]], np.float64))
    assert image.pixels.min() == 0.0 and image.pixels.max() == 1.0


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((4, 4), np.int64),
        np.zeros((4, 4), np.complex64),
        np.zeros((4, 4, 5), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros(16, np.uint8),
        np.zeros((0, 4), np.uint8),
        np.zeros((2, 2, 2, 3), np.uint8),
        np.array([[np.nan]], np.float32),
        [[0, 1]],
    ],
)
def test_from_array_invalid(arr: object) -> None:
    with pytest.raises(InvalidInputError):
        from_array(arr)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "I;16"])
def test_pil_round_trip(mode: str) -> None:
    if mode == "I;16":
        img = Image.fromarray(_u16(5, 7, 1)[:, :, 0])
    else:
        channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
        samples = _u8(5, 7, channels)
        img = Image.fromarray(samples[:, :, 0] if channels == 1 else samples, mode)
    assert img.mode == mode
    image, info = from_pil(img)
    back = to_pil(image, info)
    assert back.mode == mode and back.size == img.size
    np.testing.assert_array_equal(np.asarray(back), np.asarray(img))


def test_pil_palette_and_invalid() -> None:
    img = Image.new("P", (3, 3))
    image, info = from_pil(img)
    assert info.mode == "RGB" and image.pixels.shape == (3, 3, 3)
    with pytest.raises(InvalidInputError):
        from_pil(Image.new("F", (2, 2)))
    with pytest.raises(InvalidInputError):
        from_pil(np.zeros((2, 2)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- extras


def test_dicom_rle_and_rgb(tmp_path: Path) -> None:
    import pydicom
    from pydicom.uid import RLELossless

    values = RNG.integers(0, 4096, size=(6, 8), dtype=np.uint16)
    ds = _dicom_dataset(values)
    ds.compress(RLELossless)
    src = tmp_path / "rle.dcm"
    ds.save_as(src)
    image = read_image(src)
    np.testing.assert_array_equal(np.rint(image.pixels[:, :, 0] * 4095).astype(np.uint16), values)

    rgb = _u8(4, 5, 3)
    out = tmp_path / "rgb.dcm"
    write_image(out, _image(rgb))
    assert pydicom.dcmread(out).PhotometricInterpretation == "RGB"
    np.testing.assert_array_equal(_pixels_as(read_image(out), np.uint8), rgb)


def test_bad_files_print_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    cases = {
        "a.tif": b"MM\0*" + b"\0" * 10,
        "b.dcm": b"DICM" * 40,
    }
    buf = io.BytesIO()
    png_module.write_png(buf, _u16(64, 64, 4))
    cases["c.png"] = buf.getvalue()[:500]  # truncated 16-bit PNG: the OpenCV path
    for name, data in cases.items():
        with pytest.raises(ImageReadError):
            read_image(_write_bytes(tmp_path / name, data))
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_dual_personality_dicom_with_a_tiff_preamble(tmp_path: Path, name: str) -> None:
    """pydicom's own CT/MR files start their free 128-byte preamble with a TIFF header: the DICM
    marker decides, and the file upscales through the CLI to a valid DICOM."""
    import pydicom
    from typer.testing import CliRunner

    from enhance.cli import app
    from enhance.io.formats import sniff_format

    src = Path(pydicom.__file__).parent / "data" / "test_files" / name
    head = src.read_bytes()[:132]
    assert head[:2] in (b"II", b"MM") and sniff_format(head) == "dicom"
    img = read_image(src)
    assert img.format == "dicom"
    out = tmp_path / "out.dcm"
    res = CliRunner().invoke(app, ["upscale", str(src), "-x2", "-o", str(out), "--model", "sr-x2-fidelity"])
    assert res.exit_code == 0, res.output
    ds = pydicom.dcmread(out)
    assert (ds.Rows, ds.Columns) == (2 * img.height, 2 * img.width)


def test_dicom_frames_count_against_the_pixel_limit(tmp_path: Path) -> None:
    """frames x rows x columns is checked before any frame is decoded (the pixel data may be short)."""
    ds = _dicom_dataset(np.zeros((10, 10), np.uint16))
    ds.NumberOfFrames = 1000
    path = tmp_path / "many.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(ImageTooLargeError, match="100,000 pixels"):
        read_image(path, max_pixels=50_000)
    with pytest.raises(ImageReadError, match="many.dcm"):  # within the limit: the data is too short
        read_image(path)
