"""DICOM reading and writing (pydicom, with the pylibjpeg plugins for compressed pixel data).

Reading: every transfer syntax pydicom decodes (uncompressed, deflate, RLE, JPEG baseline /
extended / lossless, JPEG-LS, JPEG 2000, with the plugins installed); single- and multi-frame
(frames become :attr:`ImageData.more_frames`); MONOCHROME1/2; RGB and YBR (decoded to RGB);
PALETTE COLOR expanded to RGB through its lookup table; 1, 8, 16 and 32 bits allocated.

Pixels are the *stored values* scaled to [0, 1] by the BitsStored range (signed data offset by
2**(BitsStored - 1)), so RescaleSlope / RescaleIntercept, window centre / width and modality or VOI
LUTs keep meaning what they meant. 32-bit data is scaled by its own range instead and written back
as 32-bit values in that range (:class:`Samples`). MONOCHROME1 data is inverted on read (bright =
high, like every other grayscale image) and inverted back on write, so the output stays MONOCHROME1.

Writing: uncompressed Explicit VR Little Endian, a copy of the source's elements with ImageType
DERIVED, a new SOP Instance UID, a new Series Instance UID shared by every output of one source
series made by one model (derived from both, so a batch, or several, give one series), the pixel
geometry updated for the scale (PixelSpacing, per-frame functional groups, ImagePositionPatient,
ultrasound regions) and a reference to the source image.
"""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from enhance.errors import ImageReadError, UnsupportedFormatError
from enhance.io.codestream import j2k_frame_size, jpeg_frame_size
from enhance.io.convert import denormalize, normalize, quantize
from enhance.io.data import Frame, ImageData, Provenance
from enhance.io.limits import check_pixels

_GRAY = ("MONOCHROME1", "MONOCHROME2")
#: colour encodings pydicom decodes to RGB
_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT")
_PALETTE = "PALETTE COLOR"
_PIXEL_TAG = 0x7FE00010
#: Elements describing the old pixel data that would be stale (or wrongly typed) after a rewrite.
_STALE = (
    "SmallestImagePixelValue",
    "LargestImagePixelValue",
    "SmallestPixelValueInSeries",
    "LargestPixelValueInSeries",
    "ExtendedOffsetTable",
    "ExtendedOffsetTableLengths",
    "PixelDataProviderURL",
)
#: What a palette image's lookup table and grayscale-only elements become when it is expanded to RGB.
_PALETTE_ELEMENTS = tuple(
    f"{prefix}{colour}PaletteColorLookupTable{part}"
    for prefix in ("", "Segmented")
    for colour in ("Red", "Green", "Blue")
    for part in ("Descriptor", "Data")
    if not (prefix and part == "Descriptor")
) + ("PaletteColorLookupTableUID",)
_GRAY_ONLY = (
    "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction", "VOILUTSequence",
    "ModalityLUTSequence", "RescaleSlope", "RescaleIntercept", "RescaleType", "PresentationLUTShape",
)
#: transfer syntaxes that are always lossy: an image decoded from them stays flagged as lossy
_LOSSY = {"1.2.840.10008.1.2.4.50": "ISO_10918_1", "1.2.840.10008.1.2.4.51": "ISO_10918_1",
          "1.2.840.10008.1.2.4.81": "ISO_14495_1"}


def read_dicom(path: Path, data: bytes, limit: int | None, *, force: bool = False) -> ImageData:
    """Decode a DICOM file (the whole file's bytes in ``data``); every frame of a multi-frame one."""
    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=force)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on bad input
        raise ImageReadError(path, f"not a valid DICOM file: {_one_line(exc)}") from None
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise UnsupportedFormatError(path, "DICOM float pixel data is not supported")
        what = _sop_class_name(ds)
        raise ImageReadError(path, "DICOM file has no pixel data" + (f" (SOP class {what})" if what else ""))
    rows, cols, frames = _int(ds, "Rows"), _int(ds, "Columns"), _int(ds, "NumberOfFrames") or 1
    if rows <= 0 or cols <= 0 or frames < 0:
        raise ImageReadError(path, "DICOM file lacks valid Rows/Columns/NumberOfFrames")
    check_pixels(path, cols, rows, limit, frames)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if photometric not in _GRAY + _COLOUR + (_PALETTE,):
        shown = photometric or "(none)"
        raise UnsupportedFormatError(path, f"DICOM photometric interpretation {shown} is not supported")
    allocated = _int(ds, "BitsAllocated")
    stored = _int(ds, "BitsStored") or allocated
    if allocated not in (1, 8, 16, 32) or not 1 <= stored <= allocated:
        raise UnsupportedFormatError(path, f"DICOM BitsAllocated {allocated} / BitsStored {stored} is not supported")
    _infer_transfer_syntax(ds)
    _check_codestreams(path, ds, rows, cols, frames)
    arr = _decode(path, ds)
    channels = 1 if photometric in _GRAY + (_PALETTE,) else 3
    expected = (frames, rows, cols, channels)
    if arr.size != frames * rows * cols * channels:  # pydicom's layouts are (frames,) rows, cols(, 3)
        raise ImageReadError(path, f"DICOM pixel data shape {arr.shape} does not match {frames} frame(s) "
                                   f"of {rows}x{cols}x{channels}")
    arr = arr.reshape(expected)
    if photometric == _PALETTE:
        return _palette_image(path, ds, arr)
    signed = _int(ds, "PixelRepresentation") == 1
    if allocated == 32:
        pixels, samples = normalize(arr.astype(np.int32 if signed else np.uint32))
        if photometric == "MONOCHROME1":
            pixels = np.float32(1.0) - pixels
        planes = [(p, None) for p in pixels]
        return ImageData(planes[0][0], None, 32, "dicom", dicom=ds, source=path, samples=samples,
                         more_frames=tuple(planes[1:]))
    top = float((1 << stored) - 1)
    out: list[Frame] = []
    for frame in arr:
        values = frame.astype(np.int32)
        values = values + (1 << (stored - 1)) if signed else values & ((1 << stored) - 1)
        pixels = (np.clip(values, 0, top) / np.float32(top)).astype(np.float32)
        out.append((np.float32(1.0) - pixels if photometric == "MONOCHROME1" else pixels, None))
    return ImageData(out[0][0], None, stored, "dicom", dicom=ds, source=path, more_frames=tuple(out[1:]))


def _decode(path: Path, ds: Any) -> np.ndarray:
    """All frames' samples as an integer array (as pydicom gives them: YBR already turned to RGB)."""
    try:
        arr = np.asarray(ds.pixel_array)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - missing codec, corrupt or short pixel data; a Rust
        # decoder's panic is a BaseException (pyo3 PanicException: pylibjpeg-rle on a short RLE segment)
        syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
        name = getattr(syntax, "name", None) or str(syntax or "unknown")
        problem = f"cannot decode DICOM pixel data (transfer syntax {name}): {_one_line(exc)}"
        raise ImageReadError(path, problem) from None
    if arr.dtype.kind not in "iub":
        raise UnsupportedFormatError(path, f"DICOM pixel data of type {arr.dtype} is not supported")
    return arr


def _check_codestreams(path: Path, ds: Any, rows: int, cols: int, frames: int) -> None:
    """Each compressed frame's own header must declare the dataset's Rows x Columns: the decoder
    allocates what the codestream says, which the pixel limit on Rows / Columns does not bound."""
    from pydicom.encaps import generate_fragmented_frames
    from pydicom.uid import JPEG2000TransferSyntaxes, JPEGLSTransferSyntaxes, JPEGTransferSyntaxes

    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax in JPEG2000TransferSyntaxes:
        frame_size, family = j2k_frame_size, "JPEG 2000"
    elif syntax in JPEGTransferSyntaxes or syntax in JPEGLSTransferSyntaxes:
        frame_size, family = jpeg_frame_size, "JPEG"
    else:
        return
    try:
        fragments = [frame[0] for frame in generate_fragmented_frames(ds.PixelData, number_of_frames=frames)
                     if frame]
    except Exception as exc:  # noqa: BLE001 - a broken basic offset table or item tag
        raise ImageReadError(path, f"DICOM encapsulated pixel data is malformed: {_one_line(exc)}") from None
    for index, fragment in enumerate(fragments[:frames], 1):
        size = frame_size(fragment)
        if size != (cols, rows):
            declared = "no frame header" if size is None else f"{size[0]}x{size[1]}"
            raise ImageReadError(path, f"DICOM {family} frame {index} declares {declared}, "
                                       f"not the {cols}x{rows} of its Columns / Rows")


def _palette_image(path: Path, ds: Any, arr: np.ndarray) -> ImageData:
    """PALETTE COLOR indices expanded to RGB through the lookup table (8-bit where it holds 8-bit)."""
    from pydicom.pixels import apply_color_lut

    try:
        rgb = np.asarray(apply_color_lut(arr[..., 0], ds))
    except Exception as exc:  # noqa: BLE001 - a broken or missing lookup table
        raise UnsupportedFormatError(path, f"DICOM palette colour lookup table cannot be applied: {_one_line(exc)}") from None
    rgb = rgb.reshape(arr.shape[:3] + (3,))
    bits = 8
    if rgb.dtype.itemsize > 1:
        if not (rgb % 257).any():
            rgb = rgb // 257
        elif not (rgb % 256).any():
            rgb = rgb >> 8
        else:
            bits = 16
    top = np.float32((1 << bits) - 1)
    planes: list[Frame] = [((frame / top).astype(np.float32), None) for frame in rgb]
    return ImageData(planes[0][0], None, bits, "dicom", dicom=ds, source=path, more_frames=tuple(planes[1:]))


def _infer_transfer_syntax(ds: Any) -> None:
    """Files without file meta (read with ``force``) get the transfer syntax they were read with, so
    that pydicom can decode their (native) pixel data."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    encoding = getattr(ds, "original_encoding", (None, None))
    syntax = {(True, True): ImplicitVRLittleEndian, (False, True): ExplicitVRLittleEndian,
              (False, False): ExplicitVRBigEndian}.get(tuple(encoding))
    if syntax is not None:
        if meta is None:
            ds.file_meta = meta = FileMetaDataset()
        meta.TransferSyntaxUID = syntax


def write_dicom(fh: BinaryIO, image: ImageData, provenance: Provenance | None, scale: int) -> None:
    """Write ``image`` as uncompressed Explicit VR Little Endian DICOM, derived from ``image.dicom``."""
    import pydicom
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    source = image.dicom
    ds = _copy_without_pixels(source) if source is not None else _new_dataset()
    channels = image.pixels.shape[2]
    photometric = "RGB" if channels == 3 else str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if channels == 1 and photometric not in _GRAY:
        photometric = "MONOCHROME2"
    signed = channels == 1 and int(ds.get("PixelRepresentation", 0)) == 1
    samples = image.samples
    if samples is not None and samples.dtype in ("int32", "uint32"):
        bits = allocated = 32
        signed = samples.dtype == "int32"
    else:
        bits = image.bit_depth if 1 <= image.bit_depth <= 16 else 16
        allocated = 1 if bits == 1 else 8 if bits <= 8 else 16
    pixel_bytes = _pixel_bytes(image, bits, allocated, signed, photometric)

    if channels == 3:  # a palette image expanded, or YBR decoded: RGB has no LUTs or rescaling
        for keyword in _PALETTE_ELEMENTS + _GRAY_ONLY:
            if keyword in ds:
                delattr(ds, keyword)
    ds.Rows, ds.Columns = image.height, image.width
    ds.SamplesPerPixel = channels
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, bits, bits - 1
    ds.PixelRepresentation = 1 if signed else 0
    if image.frame_count > 1 or "NumberOfFrames" in ds:
        ds.NumberOfFrames = image.frame_count
    if channels == 3:
        ds.PlanarConfiguration = 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    ds.add_new(_PIXEL_TAG, "OB" if allocated <= 8 else "OW", pixel_bytes)

    _mark_derived(ds, source, provenance, scale)
    uid = generate_uid()
    ds.SOPInstanceUID = uid
    meta = ds.file_meta
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's remarks on odd values copied from the source
        if int(pydicom.__version__.split(".")[0]) >= 3:
            pydicom.dcmwrite(fh, ds, enforce_file_format=True)
        else:  # pydicom 2.x (untested here): encoding comes from the dataset flags
            ds.is_little_endian, ds.is_implicit_VR = True, False
            pydicom.dcmwrite(fh, ds, write_like_original=False)


def _pixel_bytes(image: ImageData, bits: int, allocated: int, signed: bool, photometric: str) -> bytes:
    """Every frame's stored values, little endian, frame after frame (bit-packed for 1 bit)."""
    parts: list[np.ndarray] = []
    for pixels, _alpha in image.frames():
        plane = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
        if allocated == 32:
            assert image.samples is not None
            unit = np.float32(1.0) - plane if photometric == "MONOCHROME1" else plane
            parts.append(denormalize(unit, image.samples).astype("<i4" if signed else "<u4"))
            continue
        stored = quantize(plane, bits).astype(np.int32)
        if photometric == "MONOCHROME1":
            stored = ((1 << bits) - 1) - stored
        if signed:
            stored = stored - (1 << (bits - 1))
        kind = "u1" if allocated == 1 else ("<i" if signed else "<u") + str(allocated // 8)
        parts.append(stored.astype(kind))
    values = np.stack(parts)
    if allocated == 1:
        from pydicom.pixels import pack_bits

        data = bytes(pack_bits(values.ravel(), pad=False))
    else:
        data = np.ascontiguousarray(values).tobytes()
    return data + b"\0" if len(data) % 2 else data


def _mark_derived(ds: Any, source: Any, provenance: Provenance | None, scale: int) -> None:
    """ImageType DERIVED, the geometry of the new pixel grid, DerivationDescription, a new series
    and a reference to the source."""
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    ds.ImageType = _derived_type(ds.ImageType if "ImageType" in ds else None)
    for group in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        for item in ds.get(group) or []:
            for elem in item:
                if elem.VR == "SQ" and elem.keyword.endswith("FrameTypeSequence"):
                    for sub in elem.value:
                        if "FrameType" in sub:
                            sub.FrameType = _derived_type(sub.FrameType)
    if scale != 1:
        _rescale_geometry(ds, scale)
    if provenance is not None:
        ds.DerivationDescription = provenance.describe()[:1024]
    if source is None:
        return
    meta = getattr(source, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if syntax in _LOSSY and str(ds.get("LossyImageCompression", "")) != "01":
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = _LOSSY[syntax]
    if "SeriesInstanceUID" in source:
        made_by = provenance.describe() if provenance is not None else "enhance"
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=[str(source.SeriesInstanceUID), made_by, str(scale)])
    if "SOPInstanceUID" in source and "SOPClassUID" in source:
        ref = Dataset()
        ref.ReferencedSOPClassUID = source.SOPClassUID
        ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
        if "SourceImageSequence" in ds:
            ds.SourceImageSequence.append(ref)
        else:
            ds.SourceImageSequence = [ref]


def _derived_type(value: Any) -> list[str]:
    """An ImageType / FrameType value with DERIVED first (and a second value)."""
    values = ([str(value)] if isinstance(value, str) else [str(v) for v in value]) if value else []
    values = ["DERIVED"] + values[1:] if values else ["DERIVED"]
    return values if len(values) >= 2 else values + ["SECONDARY"]


def _rescale_geometry(ds: Any, scale: int) -> None:
    """Pixel spacings / scale, the first pixel's position moved to the new pixel centre, ultrasound
    regions in the new pixel coordinates; at the top level and in the functional groups."""
    from pydicom.valuerep import DSfloat

    def spacing(item: Any) -> list[float] | None:
        for key in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
            if key in item and item[key].value:
                values = item[key].value if item[key].VM > 1 else [item[key].value]
                item[key].value = [DSfloat(float(v) / scale, auto_format=True) for v in values]
        if "PixelSpacing" in item and item["PixelSpacing"].VM == 2:
            return [float(v) * scale for v in item.PixelSpacing]  # the old spacing
        return None

    def shift(position_item: Any, orientation: Any, old: list[float] | None) -> None:
        if old is None or orientation is None or "ImagePositionPatient" not in position_item:
            return
        pos = [float(v) for v in position_item.ImagePositionPatient]
        cosines = [float(v) for v in orientation]
        if len(pos) != 3 or len(cosines) != 6:
            return
        # the old first pixel's centre lies (s - 1) / (2 s) old pixels inside the new first pixel's
        k = (scale - 1) / (2 * scale)
        new = [p - k * (cosines[i] * old[1] + cosines[3 + i] * old[0]) for i, p in enumerate(pos)]
        position_item.ImagePositionPatient = [DSfloat(v, auto_format=True) for v in new]

    old = spacing(ds)
    shift(ds, ds.get("ImageOrientationPatient"), old)
    shared = (ds.get("SharedFunctionalGroupsSequence") or [None])[0]
    shared_old, shared_orient = None, ds.get("ImageOrientationPatient")
    if shared is not None:
        for measures in shared.get("PixelMeasuresSequence") or []:
            shared_old = spacing(measures)
        for plane in shared.get("PlaneOrientationSequence") or []:
            shared_orient = plane.get("ImageOrientationPatient")
    for frame in ds.get("PerFrameFunctionalGroupsSequence") or []:
        frame_old, orient = shared_old, shared_orient
        for measures in frame.get("PixelMeasuresSequence") or []:
            frame_old = spacing(measures) or frame_old
        for plane in frame.get("PlaneOrientationSequence") or []:
            orient = plane.get("ImageOrientationPatient", orient)
        for position in frame.get("PlanePositionSequence") or []:
            shift(position, orient, frame_old)
    for region in ds.get("SequenceOfUltrasoundRegions") or []:
        for key in ("RegionLocationMinX0", "RegionLocationMinY0"):
            if key in region:
                region[key].value = int(region[key].value) * scale
        for key in ("RegionLocationMaxX1", "RegionLocationMaxY1"):
            if key in region:
                region[key].value = (int(region[key].value) + 1) * scale - 1
        for key in ("PhysicalDeltaX", "PhysicalDeltaY"):
            if key in region:
                region[key].value = float(region[key].value) / scale
        for key in ("ReferencePixelX0", "ReferencePixelY0"):
            if key in region:
                region[key].value = int(round(int(region[key].value) * scale + (scale - 1) / 2))


def _copy_without_pixels(source: Any) -> Any:
    """A deep copy of a pydicom Dataset minus its pixel data, stale pixel statistics and overlays
    (whose bitmaps are on the old pixel grid)."""
    from pydicom.dataset import Dataset, FileMetaDataset

    ds = Dataset()
    for elem in source:
        if elem.tag == _PIXEL_TAG or elem.keyword in _STALE or 0x6000 <= elem.tag.group <= 0x601E:
            continue
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


def _int(ds: Any, keyword: str) -> int:
    """An integer element, 0 when missing, empty or unreadable."""
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else 0
    except (TypeError, ValueError, OverflowError):
        return 0
    except Exception:  # noqa: BLE001 - a value pydicom cannot even convert
        return 0


def _sop_class_name(ds: Any) -> str:
    try:
        uid = ds.get("SOPClassUID")
        name = getattr(uid, "name", "") if uid else ""
        return str(name) if name and name != str(uid) else ""
    except Exception:  # noqa: BLE001
        return ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
