"""DICOM reading and writing (pydicom): single-frame MONOCHROME1/2 and RGB images.

Pixels are the *stored values* scaled to [0, 1] by the BitsStored range (signed data offset by
2**(BitsStored - 1)); RescaleSlope/RescaleIntercept are kept untouched, so modality values stay
right. MONOCHROME1 data is inverted on read (bright = high, like every other grayscale image) and
inverted back on write, so the written file keeps MONOCHROME1.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from enhance.errors import ImageReadError, UnsupportedFormatError
from enhance.io.convert import quantize
from enhance.io.data import ImageData, Provenance
from enhance.io.limits import check_pixels

_PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2", "RGB")
_PIXEL_TAG = 0x7FE00010
#: Elements describing the old pixel data that would be stale (or wrongly typed) after a rewrite.
_STALE = (
    "SmallestImagePixelValue",
    "LargestImagePixelValue",
    "ExtendedOffsetTable",
    "ExtendedOffsetTableLengths",
)


def read_dicom(path: Path, data: bytes, limit: int | None, *, force: bool = False) -> ImageData:
    """Decode a single-frame DICOM file (the whole file's bytes in ``data``)."""
    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=force)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on bad input
        raise ImageReadError(path, f"not a valid DICOM file: {_one_line(exc)}") from None
    if "PixelData" not in ds:
        raise ImageReadError(path, "DICOM file has no (integer) pixel data")
    rows, cols = ds.get("Rows"), ds.get("Columns")
    if not rows or not cols:
        raise ImageReadError(path, "DICOM file lacks Rows/Columns")
    frames = int(ds.get("NumberOfFrames") or 1)
    check_pixels(path, int(cols), int(rows), limit, frames)
    if frames > 1:
        raise UnsupportedFormatError(
            path, f"multi-frame DICOM ({frames} frames) is not supported; split it into single frames first"
        )
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if photometric not in _PHOTOMETRICS:
        shown = photometric or "(none)"
        raise UnsupportedFormatError(path, f"DICOM photometric interpretation {shown} is not supported")
    allocated, stored = int(ds.get("BitsAllocated", 0)), int(ds.get("BitsStored", 0) or ds.get("BitsAllocated", 0))
    if allocated not in (8, 16) or not 1 <= stored <= allocated:
        raise UnsupportedFormatError(path, f"DICOM BitsAllocated {allocated} / BitsStored {stored} is not supported")
    try:
        arr = np.asarray(ds.pixel_array)
    except Exception as exc:  # noqa: BLE001 - missing codec, corrupt or short pixel data
        syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
        name = getattr(syntax, "name", None) or str(syntax or "unknown")
        problem = f"cannot decode DICOM pixel data (transfer syntax {name}): {_one_line(exc)}"
        raise ImageReadError(path, problem) from None
    channels = 3 if photometric == "RGB" else 1
    if arr.shape[:2] != (int(rows), int(cols)) or arr.size != int(rows) * int(cols) * channels:
        raise ImageReadError(path, f"DICOM pixel data shape {arr.shape} does not match Rows/Columns")
    values = arr.astype(np.int64)
    if int(ds.get("PixelRepresentation", 0)) == 1:
        values = values + (1 << (stored - 1))
    else:
        values = values & ((1 << stored) - 1)
    top = float((1 << stored) - 1)
    pixels = (np.clip(values, 0, top) / top).astype(np.float32).reshape(int(rows), int(cols), channels)
    if photometric == "MONOCHROME1":
        pixels = np.float32(1.0) - pixels
    return ImageData(pixels, None, stored, "dicom", dicom=ds, source=path)


def write_dicom(fh: BinaryIO, image: ImageData, provenance: Provenance | None, scale: int) -> None:
    """Write ``image`` as uncompressed Explicit VR Little Endian DICOM, derived from ``image.dicom``."""
    import pydicom
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    source = image.dicom
    ds = _copy_without_pixels(source) if source is not None else _new_dataset()
    channels = image.pixels.shape[2]
    bits = image.bit_depth if 1 <= image.bit_depth <= 16 else 16
    allocated = 8 if bits <= 8 else 16
    photometric = "RGB" if channels == 3 else str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if channels == 1 and photometric not in ("MONOCHROME1", "MONOCHROME2"):
        photometric = "MONOCHROME2"
    signed = channels == 1 and int(ds.get("PixelRepresentation", 0)) == 1

    stored = quantize(image.pixels[:, :, 0] if channels == 1 else image.pixels, bits).astype(np.int32)
    if photometric == "MONOCHROME1":
        stored = ((1 << bits) - 1) - stored
    if signed:
        stored = stored - (1 << (bits - 1))
    kind = ("<i" if signed else "<u") + str(allocated // 8)
    pixel_bytes = np.ascontiguousarray(stored.astype(kind)).tobytes()
    if len(pixel_bytes) % 2:
        pixel_bytes += b"\0"

    ds.Rows, ds.Columns = image.height, image.width
    ds.SamplesPerPixel = channels
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, bits, bits - 1
    ds.PixelRepresentation = 1 if signed else 0
    if channels == 3:
        ds.PlanarConfiguration = 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    ds.add_new(_PIXEL_TAG, "OB" if allocated == 8 else "OW", pixel_bytes)

    _mark_derived(ds, source, provenance, scale)
    uid = generate_uid()
    ds.SOPInstanceUID = uid
    meta = ds.file_meta
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    if int(pydicom.__version__.split(".")[0]) >= 3:
        pydicom.dcmwrite(fh, ds, enforce_file_format=True)
    else:  # pydicom 2.x (untested here): encoding comes from the dataset flags
        ds.is_little_endian, ds.is_implicit_VR = True, False
        pydicom.dcmwrite(fh, ds, write_like_original=False)


def _mark_derived(ds: Any, source: Any, provenance: Provenance | None, scale: int) -> None:
    """ImageType DERIVED, spacing / scale, DerivationDescription and a reference to the source."""
    from pydicom.dataset import Dataset
    from pydicom.valuerep import DSfloat

    image_type = list(ds.ImageType) if "ImageType" in ds and ds.ImageType else []
    image_type = (["DERIVED"] + image_type[1:]) if image_type else ["DERIVED"]
    if len(image_type) < 2:
        image_type.append("SECONDARY")
    ds.ImageType = image_type
    if scale != 1:
        for key in ("PixelSpacing", "ImagerPixelSpacing"):
            if key in ds and ds[key].value:
                values = ds[key].value if ds[key].VM > 1 else [ds[key].value]
                ds[key].value = [DSfloat(float(v) / scale, auto_format=True) for v in values]
    if provenance is not None:
        ds.DerivationDescription = provenance.describe()
    if source is not None and "SOPInstanceUID" in source and "SOPClassUID" in source:
        ref = Dataset()
        ref.ReferencedSOPClassUID = source.SOPClassUID
        ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
        if "SourceImageSequence" in ds:
            ds.SourceImageSequence.append(ref)
        else:
            ds.SourceImageSequence = [ref]


def _copy_without_pixels(source: Any) -> Any:
    """A deep copy of a pydicom Dataset minus its pixel data and stale pixel statistics."""
    from pydicom.dataset import Dataset, FileMetaDataset

    ds = Dataset()
    for elem in source:
        if elem.tag != _PIXEL_TAG and elem.keyword not in _STALE:
            ds.add(copy.deepcopy(elem))
    meta = FileMetaDataset()
    for elem in getattr(source, "file_meta", None) or []:
        meta.add(copy.deepcopy(elem))
    ds.file_meta = meta
    if "SOPClassUID" not in ds:
        from pydicom.uid import SecondaryCaptureImageStorage

        ds.SOPClassUID = SecondaryCaptureImageStorage
    return ds


def _new_dataset() -> Any:
    """A minimal Secondary Capture dataset, for writing DICOM from a non-DICOM image."""
    import datetime

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

    now = datetime.datetime.now()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.PatientName = ""
    ds.PatientID = ""
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.PixelRepresentation = 0
    return ds


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
