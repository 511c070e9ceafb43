"""A short seeded fuzz run of the bytes -> image reader for every format (``tests/fuzzing.py``;
longer campaigns: ``tests/fuzz_readers.py``), and the inputs earlier campaigns found."""

from __future__ import annotations

from pathlib import Path

import pytest

import fuzzing
from enhance.errors import EnhanceError
from enhance.io import decode_image

#: inputs per format (about 3 s each on 2 CPU cores), and a time cap per format for a slower machine
RUNS = {"png": 6000, "jpeg": 5000, "tiff": 2500, "webp": 8000, "bmp": 5000, "jp2": 3000, "j2k": 3000, "dicom": 1800}
SECONDS = 5.0
FOUND = Path(__file__).parent / "data" / "fuzz"


def test_the_seeds_cover_every_format() -> None:
    seeds = fuzzing.seeds()
    assert set(seeds) == set(fuzzing.FORMATS) and all(seeds.values())


@pytest.mark.parametrize("fmt", fuzzing.FORMATS)
def test_fuzzed_inputs_end_in_an_image_or_a_typed_error(fmt: str, capfd: pytest.CaptureFixture[str]) -> None:
    runs, findings = fuzzing.fuzz(fmt, SECONDS, seed=19, max_runs=RUNS[fmt])
    assert runs > min(300, RUNS[fmt])
    assert not findings, "\n\n".join(f"{f.kind}: {f.detail}" for f in findings[:3])
    out, err = capfd.readouterr()
    assert out == "" and err == "", "a decoder printed: " + (out + err)[:500]


@pytest.mark.parametrize("path", sorted(FOUND.iterdir()), ids=lambda p: p.name)
def test_inputs_found_by_fuzzing(path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """dicom-rle-panic.dcm: pylibjpeg-rle panicked (a pyo3 PanicException is a BaseException, which
    escaped every handler) and printed a Rust backtrace; tiff-page-chain.tif: a corrupt IFD chain
    that took seconds to walk, one broken page at a time; tiff-zero-rows-pages.tif: 10,000 pages
    of 10x0 pixels, walked to the page cap (atheris); dicom-newline-in-syntax.dcm: a transfer syntax
    UID with a line break in it, quoted in the error (messages are now made one line in the error
    classes); dicom-jpegls-dnl-height.dcm: a 45x10 JPEG-LS image whose codestream declares 0 lines
    (height by DNL) of 32,778 columns, on which libjpeg took 22 GB and 90 s (the frame headers are
    now checked against Rows / Columns before decoding); tiff-page-loop.tif: a thumbnail page whose
    next-page offset points at itself, which tifffile walked for ever (atheris, after 77,547 runs)."""
    with pytest.raises(EnhanceError) as info:
        decode_image(path.read_bytes(), path.name, max_pixels=fuzzing.MAX_PIXELS)
    assert "\n" not in str(info.value)
    assert capfd.readouterr() == ("", "")
    fmt = "dicom" if path.suffix == ".dcm" else "tiff"
    assert fuzzing.run_one(path.read_bytes(), fmt, time_limit=1.0) is None
