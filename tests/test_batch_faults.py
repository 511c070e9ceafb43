"""Batches as scripts see them: errors on stderr, one line per failed file, ``--report`` JSON,
Ctrl-C (exit 130), a full disk or a read-only folder mid-batch, two batches writing one folder at
once, ``-o`` at an input, symlink loops under ``-r``. Faults are injected by patching the writer."""

from __future__ import annotations

import errno
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import smooth_rgb
from enhance.cli import app
from enhance.io import write as write_module
from enhance.pipeline import BatchOptions, ModelPicker, collect_inputs, run_batch

pytestmark = pytest.mark.usefixtures("tiny_registry")


def invoke(*args: Any) -> Any:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def three(write_png, tmp_path: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    files = [write_png(f"in/{n}.png", smooth_rgb(12, 12, i)) for i, n in enumerate("abc")]
    return files


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*tmp*")) if folder.exists() else []


def test_errors_on_stderr_one_line_each_and_a_json_report(three: list[Path], tmp_path: Path) -> None:
    three[1].write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out, report = tmp_path / "out", tmp_path / "report.json"
    res = invoke("upscale", *three, "-x2", "-o", out, "--report", report)
    assert res.exit_code == 1
    assert res.stdout == ""
    failed = [line for line in res.stderr.splitlines() if line.startswith("failed ")]
    assert len(failed) == 1 and failed[0].startswith(f"failed {three[1]}: cannot decode PNG data ("), res.stderr
    assert "2 done, 0 skipped, 1 failed" in res.stderr and "Failed" in res.stderr  # the table: several inputs
    data = json.loads(report.read_text())
    assert data["counts"] == {"done": 2, "skipped": 0, "failed": 1} and data["interrupted"] is False
    rows = {Path(r["input"]).name: r for r in data["results"]}
    assert rows["a.png"]["status"] == "done" and rows["a.png"]["model"] == "tiny-sr-x2-gan"
    assert Path(rows["a.png"]["output"]).is_file() and rows["a.png"]["seconds"] >= 0
    assert rows["b.png"]["output"] is None and "cannot decode PNG" in rows["b.png"]["error"]
    single = invoke("upscale", three[1], "-x2")  # one input: its line, no table
    assert single.exit_code == 1 and [line for line in single.stderr.splitlines() if line.strip()] == [failed[0]]


def test_ctrl_c_mid_write_exits_130_with_a_summary_and_leaves_nothing(
    three: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = write_module.write_raster
    calls = []

    def interrupted(fh, *args):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            fh.write(b"half a file")
            raise KeyboardInterrupt
        return real(fh, *args)

    monkeypatch.setattr(write_module, "write_raster", interrupted)
    out, report = tmp_path / "out", tmp_path / "r.json"
    res = invoke("upscale", *three, "-x2", "-o", out, "--report", report)
    assert res.exit_code == 130
    assert "interrupted: 1 done, 0 skipped, 0 failed, 2 not processed" in res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a_x2.png"] and not _leftovers(out)
    data = json.loads(report.read_text())
    assert data["interrupted"] is True and [r["status"] for r in data["results"]] == ["done"]


@pytest.mark.parametrize(
    ("code", "text"), [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")]
)
def test_a_full_disk_or_read_only_folder_fails_that_file_only(
    code: int, text: str, three: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while writing b's output (after part of it is written); or b's folder is read-only."""
    real_raster, real_open = write_module.write_raster, open
    out = tmp_path / "out"

    def full_disk(fh, *args):  # type: ignore[no-untyped-def]
        if "b_x2" in fh.name:
            fh.write(b"\0" * 100)
            raise OSError(code, text)
        return real_raster(fh, *args)

    def read_only(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "b_x2" in str(path):
            raise OSError(code, text)
        return real_open(path, *args, **kwargs)

    if code == errno.ENOSPC:
        monkeypatch.setattr(write_module, "write_raster", full_disk)
    else:
        monkeypatch.setattr(write_module, "open", read_only, raising=False)
    res = invoke("upscale", *three, "-x2", "-o", out)
    assert res.exit_code == 1
    failed = [line for line in res.stderr.splitlines() if line.startswith("failed ")]
    assert len(failed) == 1 and "b.png" in failed[0] and text in failed[0], res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a_x2.png", "c_x2.png"] and not _leftovers(out)


def test_two_batches_writing_one_folder_never_clobber(three: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two batches (different models) over the same inputs into one folder, in lock step: each
    output is written once, by the batch that reports it done; the other one is told it exists."""
    from enhance.engine import Enhancer

    barrier = threading.Barrier(2)
    real = Enhancer.enhance_image

    def slow(self, image, **kwargs):  # type: ignore[no-untyped-def]
        barrier.wait(timeout=30)  # both batches have checked that the output does not exist yet
        return real(self, image, **kwargs)

    monkeypatch.setattr(Enhancer, "enhance_image", slow)
    items = collect_inputs([str(p) for p in three])
    out = tmp_path / "shared"
    reports: dict[str, Any] = {}

    def batch(model: str, skip: bool) -> None:
        opts = BatchOptions(output=out, suffix="_x2", skip_existing=skip)
        reports[model] = run_batch(items, ModelPicker("upscale", scale=2, model=model, device="cpu"), opts)

    threads = [threading.Thread(target=batch, args=(m, m.endswith("gan"))) for m in ("tiny-sr-x2-gan", "tiny-sr-x2-fidelity")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for k, name in enumerate(["a_x2.png", "b_x2.png", "c_x2.png"]):
        results = {m: r.results[k] for m, r in reports.items()}
        winners = [m for m, r in results.items() if r.status == "done"]
        assert len(winners) == 1, results
        with Image.open(out / name) as im:
            assert winners[0] in im.info["Description"]  # the file is the winner's, whole
        loser = next(r for m, r in results.items() if m != winners[0])
        assert loser.status in ("failed", "skipped") and "meanwhile" in loser.reason
    assert not _leftovers(out)


def test_output_pointing_at_an_input_is_refused(three: list[Path]) -> None:
    before = three[0].read_bytes()
    res = invoke("upscale", three[0], "-x2", "-o", three[0])
    assert res.exit_code == 1 and "inputs are never overwritten" in res.stderr
    assert three[0].read_bytes() == before


def test_symlink_loops_under_recursive_do_not_hang(write_png, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_png("tree/a/x.png", smooth_rgb(8, 8))
    (tmp_path / "tree" / "a" / "up").symlink_to("..")
    (tmp_path / "tree" / "a" / "self").symlink_to(".")
    (tmp_path / "tree" / "elsewhere").symlink_to(tmp_path / "tree" / "a")  # a symlinked folder: once
    found: dict[str, list[str]] = {}

    def collect() -> None:
        found["dir"] = [p.path.name for p in collect_inputs([str(tmp_path / "tree")], recursive=True)]
        found["glob"] = [p.path.name for p in collect_inputs([str(tmp_path / "tree" / "**" / "*.png")], recursive=True)]

    worker = threading.Thread(target=collect, daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "collect_inputs hangs on a symlink loop"
    assert time.perf_counter() - start < 20
    assert found == {"dir": ["x.png"], "glob": ["x.png"]}


def test_write_image_never_replaces_when_told_not_to(tmp_path: Path) -> None:
    from enhance.errors import OutputExistsError
    from enhance.io import from_array, write_image

    image, _ = from_array(np.zeros((4, 4, 3), np.uint8))
    target = tmp_path / "t.png"
    target.write_bytes(b"someone else's")
    with pytest.raises(OutputExistsError):
        write_image(target, image, overwrite=False)
    assert target.read_bytes() == b"someone else's" and not _leftovers(tmp_path)
    write_image(target, image)  # the default replaces
    assert target.read_bytes()[:4] == b"\x89PNG"
