"""The DICOM files that pydicom and pydicom-data ship (the wheels' folders, listed directly: no
download), through the reader and the writer, and a few through the real CLI and shipped model.

Every file that pydicom decodes must give an x2 DICOM that pydicom reads back with the same frame
count, doubled rows and columns, a new SOP Instance UID, ImageType DERIVED and the same samples
(nearest-neighbour x2 here, so the values must come back exactly); every file it cannot decode is
refused in one line. Files above a million pixels are left to ``benchmarks/dicom_corpus.py``, which runs
the whole corpus through the pipeline.
"""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from enhance.errors import EnhanceError
from enhance.io import Provenance, read_image, write_image

pydicom = pytest.importorskip("pydicom")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's remarks on the corpus files

PROV = Provenance("nearest", "upscale", "enhance test")
MAX_PIXELS = 1_000_000  # rows x columns x frames: the bigger files are left to benchmarks/dicom_corpus.py


def _root(module: str, sub: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return Path(spec.origin).parent / sub if spec is not None and spec.origin else None


def corpus() -> list[Path]:
    roots = [_root("pydicom", "data/test_files"), _root("data_store", "data")]
    return sorted(p for r in roots if r is not None and r.is_dir() for p in r.rglob("*.dcm"))


def _pixels(path: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            return int(ds.Rows) * int(ds.Columns) * int(ds.get("NumberOfFrames") or 1)
        except Exception:  # noqa: BLE001 - no image at all: cheap to try
            return 0


SMALL = [p for p in corpus() if _pixels(p) <= MAX_PIXELS]


def _pydicom_decodes(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            ds.pixel_array  # noqa: B018
            return True
        except Exception:  # noqa: BLE001
            return False


def test_the_corpus_is_there() -> None:
    names = {p.name for p in corpus()}
    assert {"CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_rle_2frame.dcm"} <= names
    if _root("data_store", "data") is not None:  # pydicom-data (the dev extra)
        assert {"emri_small_jpeg_2k_lossless.dcm", "OBXXXX1A.dcm", "liver.dcm"} <= names


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.name)
def test_corpus_file_upscales_to_a_valid_derived_dicom(path: Path, tmp_path: Path) -> None:
    decodes = _pydicom_decodes(path)
    try:
        image = read_image(path)
    except EnhanceError as exc:
        assert not decodes, f"pydicom decodes {path.name}, enhance refused it: {exc}"
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    src = pydicom.dcmread(path, force=True)
    frames = int(src.get("NumberOfFrames") or 1)
    assert image.frame_count == frames
    big = image.with_frames([(np.repeat(np.repeat(p, 2, 0), 2, 1), a) for p, a in image.frames()])
    out = tmp_path / "out.dcm"
    write_image(out, big, provenance=PROV, scale=2)

    ds = pydicom.dcmread(out)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert int(ds.get("NumberOfFrames") or 1) == frames
    assert (ds.Rows, ds.Columns) == (2 * src.Rows, 2 * src.Columns)
    assert ds.SOPInstanceUID != src.get("SOPInstanceUID")
    assert ds.ImageType[0] == "DERIVED"
    assert ds.get("InstanceNumber") == src.get("InstanceNumber")
    if src.PhotometricInterpretation in ("MONOCHROME1", "MONOCHROME2"):
        assert ds.PhotometricInterpretation == src.PhotometricInterpretation
    else:  # RGB, YBR decoded to RGB, palette expanded: written as RGB
        assert ds.PhotometricInterpretation == "RGB" and ds.SamplesPerPixel == 3
    assert ds.pixel_array.shape[-3 if ds.SamplesPerPixel == 3 else -2:][:2] == (ds.Rows, ds.Columns)
    back = read_image(out)
    for (want, _), (got, _) in zip(big.frames(), back.frames()):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_stored_values_and_their_meaning_are_kept(tmp_path: Path) -> None:
    """MR_small: signed 16-bit with rescale and window; the stored values and the elements that
    give them meaning come back unchanged (nearest x2)."""
    path = _root("pydicom", "data/test_files") / "MR_small.dcm"  # type: ignore[operator]
    image = read_image(path)
    big = image.with_frames([(np.repeat(np.repeat(p, 2, 0), 2, 1), a) for p, a in image.frames()])
    write_image(tmp_path / "o.dcm", big, provenance=PROV, scale=2)
    src, out = pydicom.dcmread(path), pydicom.dcmread(tmp_path / "o.dcm")
    np.testing.assert_array_equal(out.pixel_array, np.repeat(np.repeat(src.pixel_array, 2, 0), 2, 1))
    for key in ("BitsStored", "PixelRepresentation", "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"):
        assert out.get(key) == src.get(key), key
    assert [float(v) for v in out.PixelSpacing] == [float(v) / 2 for v in src.PixelSpacing]


def test_palette_is_expanded_to_rgb(tmp_path: Path) -> None:
    from pydicom.pixels import apply_color_lut

    path = _root("pydicom", "data/test_files") / "examples_palette.dcm"  # type: ignore[operator]
    image = read_image(path)
    src = pydicom.dcmread(path)
    rgb = apply_color_lut(src.pixel_array, src)
    assert image.pixels.shape[2] == 3 and image.bit_depth == 8
    np.testing.assert_array_equal(np.rint(image.pixels * 255), rgb >> 8)  # 8-bit entries in a 16-bit table
    write_image(tmp_path / "o.dcm", image, provenance=PROV)
    out = pydicom.dcmread(tmp_path / "o.dcm")
    assert out.PhotometricInterpretation == "RGB" and "RedPaletteColorLookupTableData" not in out


def test_a_series_folder_through_the_cli_and_the_api(tmp_path: Path) -> None:
    """Three instances of one series (and a JPEG 2000 multi-frame enhanced MR of another where
    pydicom-data is installed), upscaled x2 by the shipped fidelity model as one batch: one new
    SeriesInstanceUID for the series, InstanceNumber kept, every frame; the API picks the same
    (fidelity) model."""
    from typer.testing import CliRunner

    import enhance
    from enhance.cli import app

    src_dir = tmp_path / "series"
    src_dir.mkdir()
    mr = _root("pydicom", "data/test_files") / "MR_small.dcm"  # type: ignore[operator]
    for k in (1, 2, 3):
        ds = pydicom.dcmread(mr)
        ds.InstanceNumber = k
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.save_as(src_dir / f"im{k}.dcm")
    emri = [p for p in corpus() if p.name == "emri_small_jpeg_2k_lossless.dcm"]
    if emri:
        shutil.copy(emri[0], src_dir / "other.dcm")
    res = CliRunner().invoke(app, ["upscale", str(src_dir), "-x2", "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0, res.output
    outs = sorted((tmp_path / "out").glob("im*.dcm"))
    written = [pydicom.dcmread(p) for p in outs]
    if emri:
        a, b = pydicom.dcmread(emri[0]), pydicom.dcmread(tmp_path / "out" / "other_x2.dcm")
        assert b.NumberOfFrames == a.NumberOfFrames == 10 and (b.Rows, b.Columns) == (128, 128)
        assert b.SeriesInstanceUID not in {a.SeriesInstanceUID, written[0].SeriesInstanceUID}
    assert [int(d.InstanceNumber) for d in written] == [1, 2, 3]
    series = {d.SeriesInstanceUID for d in written}
    assert len(series) == 1 and series != {pydicom.dcmread(mr).SeriesInstanceUID}
    assert all(d.Rows == 128 and "sr-x2-fidelity" in d.DerivationDescription for d in written)
    api = enhance.upscale(str(src_dir / "im1.dcm"), scale=2)
    assert api.format == "dicom" and api.height == 128
    from enhance.registry import ImageTraits

    assert enhance.get_spec("upscale", 2, traits=ImageTraits.of(read_image(src_dir / "im1.dcm"))).name == "sr-x2-fidelity"
