"""Run every DICOM file that pydicom and pydicom-data ship through ``enhance upscale -x2``.

Not part of the test suite (the suite runs a representative subset through the CLI and the whole
corpus through the reader and writer). For each ``*.dcm`` file in the installed wheels' data
folders (no download: the folders are listed directly) it records whether pydicom decodes the
pixels, whether ``enhance`` reads it, and whether the output is a valid derived DICOM that pydicom
reads back with the same frame count, doubled rows and columns, a new SOP Instance UID and
ImageType DERIVED. A file that fails must fail in one line.

    python benchmarks/dicom_corpus.py                      # nearest-neighbour x2 (checks the I/O only)
    python benchmarks/dicom_corpus.py --model sr-x2-fidelity --json corpus.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn


def corpus_files() -> list[Path]:
    """Every ``*.dcm`` file under pydicom's ``data/test_files`` and pydicom-data's ``data_store/data``."""
    roots = []
    for module, sub in (("pydicom", "data/test_files"), ("data_store", "data")):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin is not None:
            roots.append(Path(spec.origin).parent / sub)
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.dcm"))


def pydicom_decodes(path: Path) -> tuple[bool, int]:
    """(pydicom decodes the pixel data, frame count)."""
    import pydicom

    frames = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
            if "PixelData" not in ds:
                return False, 0
            frames = int(ds.get("NumberOfFrames") or 1)
            ds.pixel_array  # noqa: B018 - decoding is the test
        return True, frames
    except Exception:  # noqa: BLE001
        return False, frames


class Nearest(nn.Module):
    """x2 nearest-neighbour 'model': checks the I/O without the cost of a network."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")


def enhancer(model: str | None):  # type: ignore[no-untyped-def]
    from enhance.engine import Enhancer
    from enhance.spec import ModelSpec

    if model is not None:
        from enhance.registry import resolve_model

        return Enhancer(resolve_model(model), device="cpu")
    spec = ModelSpec("nearest-x2", "upscale", 2, Nearest, None, None, "-", "-", variant="fidelity")
    return Enhancer(spec, net=Nearest(), device="cpu")


def check_output(src: Path, out: Path, frames: int) -> str | None:
    """None when ``out`` is a valid derived DICOM of ``src`` upscaled x2, else what is wrong."""
    import pydicom

    a, b = pydicom.dcmread(src, force=True), pydicom.dcmread(out)
    problems = []
    if int(b.get("NumberOfFrames") or 1) != frames:
        problems.append(f"frames {b.get('NumberOfFrames')} != {frames}")
    if (b.Rows, b.Columns) != (2 * a.Rows, 2 * a.Columns):
        problems.append(f"size {b.Rows}x{b.Columns} is not twice {a.Rows}x{a.Columns}")
    if b.SOPInstanceUID == a.get("SOPInstanceUID"):
        problems.append("same SOP Instance UID")
    if not b.get("ImageType") or b.ImageType[0] != "DERIVED":
        problems.append(f"ImageType {b.get('ImageType')}")
    if b.file_meta.TransferSyntaxUID != pydicom.uid.ExplicitVRLittleEndian:
        problems.append(f"transfer syntax {b.file_meta.TransferSyntaxUID}")
    try:
        arr = b.pixel_array
        expect = (frames,) if frames > 1 else ()
        if arr.shape[: len(expect) + 2] != expect + (b.Rows, b.Columns):
            problems.append(f"pixel array shape {arr.shape}")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"output pixels do not decode: {exc}")
    return "; ".join(problems) or None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a registered x2 model (default: nearest neighbour, I/O only)")
    parser.add_argument("--json", type=Path, help="write per-file results here")
    args = parser.parse_args()

    from enhance.pipeline import InputItem, process_file

    enh = enhancer(args.model)
    warnings.simplefilter("ignore")  # pydicom's remarks on odd values in the corpus files
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(corpus_files()):
            decodes, frames = pydicom_decodes(path)
            start = time.perf_counter()
            out = Path(tmp) / f"{i}.dcm"
            row: dict[str, Any] = {"file": f"{path.parent.name}/{path.name}", "pydicom_decodes": decodes, "frames": frames}
            try:
                process_file(enh, InputItem(path, path.parent), out)
                problem = check_output(path, out, frames)
                row["status"] = "converted" if problem is None else "invalid"
                row["error"] = problem
            except Exception as exc:  # noqa: BLE001 - recorded, judged below
                from enhance.errors import EnhanceError

                row["status"] = "refused" if isinstance(exc, EnhanceError) else "crashed"
                row["error"] = f"{type(exc).__name__}: {exc}"
            row["seconds"] = round(time.perf_counter() - start, 3)
            rows.append(row)
            print(f"{row['status']:9} {row['file']}: {row.get('error') or ''}"[:200], flush=True)
    decoded = [r for r in rows if r["pydicom_decodes"]]
    summary = {
        "files": len(rows),
        "pydicom_decodes": len(decoded),
        "converted": sum(r["status"] == "converted" for r in rows),
        "decoded_but_not_converted": sum(r["status"] != "converted" for r in decoded),
        "refused": sum(r["status"] == "refused" for r in rows),
        "invalid_output": sum(r["status"] == "invalid" for r in rows),
        "crashed": sum(r["status"] == "crashed" for r in rows),
        "multiline_errors": sum("\n" in (r.get("error") or "") for r in rows),
        "seconds": round(sum(r["seconds"] for r in rows), 1),
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "files": rows}, indent=1) + "\n")
    return 0 if summary["decoded_but_not_converted"] == 0 and summary["crashed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
