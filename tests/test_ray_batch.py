"""Batches on Ray (``--ray``): the same results, guarantees and report as a local batch.

One local Ray (2 CPUs) serves the whole module. Its workers see the tiny test models as an
installed plugin (``PYTHONPATH``), as a cluster's nodes see a plugin installed on each of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from enhance.cli import app
from enhance.pipeline import (
    BatchOptions,
    Callbacks,
    FileFn,
    InputItem,
    Job,
    ModelPicker,
    Result,
    collect_inputs,
    run_batch,
    run_job,
)
from conftest import smooth_rgb


# --------------------------------------------------------------------------- no Ray needed
class ReversedEngine:
    """A BatchEngine that runs here, last file first: results arrive out of order."""

    def run(self, process: FileFn, jobs: Sequence[Job]) -> Iterator[tuple[int, Result]]:
        for job in reversed(jobs):
            yield job.index, run_job(process, job)


def test_an_engine_gets_only_the_planned_files_and_the_report_keeps_input_order(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        Image.fromarray(smooth_rgb(8, 8)).save(tmp_path / f"{name}.png")
    items = collect_inputs([str(tmp_path / "a.png"), str(tmp_path / "missing.png"), str(tmp_path / "b.png"),
                            str(tmp_path / "c.png")])
    seen: list[str] = []
    started: list[str] = []

    def process(item: InputItem, out: Path, on_tile: Any) -> Result:
        seen.append(item.path.name)
        if item.path.name == "b.png":
            raise OSError("disk on fire")
        return Result("done", item.path, out)

    opts = BatchOptions(output=tmp_path / "out", suffix="_x", engine=ReversedEngine())
    cb = Callbacks(on_start=lambda item, i, n: started.append(item.path.name))
    report = run_batch(items, None, opts, cb, process=process)
    assert seen == ["c.png", "b.png", "a.png"]  # the missing file never reaches the engine
    assert [r.input.name for r in report.results] == ["a.png", "missing.png", "b.png", "c.png"]
    assert [r.status for r in report.results] == ["done", "failed", "failed", "done"]
    assert report.results[2].reason == "disk on fire"
    assert sorted(started) == ["a.png", "b.png", "c.png", "missing.png"]


def test_a_picker_travels_without_its_loaded_models(tiny_registry: Any) -> None:
    cloudpickle = pytest.importorskip("cloudpickle")  # what Ray sends functions with

    picker = ModelPicker("denoise", model="tiny-denoise", device="cpu")
    picker()
    assert picker._loaded
    copy = cloudpickle.loads(cloudpickle.dumps(picker))
    assert copy._loaded == {} and copy().spec.name == "tiny-denoise"


def test_without_ray_a_batch_never_imports_it_nor_napari_nor_qt(tmp_path: Path) -> None:
    Image.fromarray(smooth_rgb(16, 16)).save(tmp_path / "a.png")
    code = f"""
import sys
from typer.testing import CliRunner
from enhance.cli import app
res = CliRunner().invoke(app, ["upscale", {str(tmp_path / "a.png")!r}, "-x2", "-o", {str(tmp_path / "o.png")!r}])
assert res.exit_code == 0, res.output
loaded = [m for m in ("ray", "napari", "qtpy", "PyQt5", "enhance.napari") if m in sys.modules]
print(loaded)
sys.exit(1 if loaded else 0)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr[-2000:]


def test_ray_not_installed_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.fromarray(smooth_rgb(16, 16)).save(tmp_path / "a.png")
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    res = CliRunner().invoke(app, ["denoise", str(tmp_path / "a.png"), "--ray", "local"])
    assert res.exit_code == 1
    assert res.output.strip() == "error: --ray needs Ray Data: pip install 'enhance[ray]'"


def test_ray_wants_an_address_not_a_path(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["denoise", str(tmp_path), "--ray", str(tmp_path)])
    assert res.exit_code == 2
    assert "ray://HOST:10001" in res.output


def test_when_ray_itself_fails_the_files_left_fail_with_its_reason(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from enhance import ray_batch

    class Dataset:
        def map_batches(self, *args: Any, **kwargs: Any) -> Dataset:
            return self

        def iter_rows(self) -> Iterator[dict[str, Any]]:
            yield {"index": 0, "status": "done", "output": str(tmp_path / "a_x.png"), "reason": "", "seconds": 0.5,
                   "model": "m"}
            raise RuntimeError("node 10.0.0.7 died\nlong Ray traceback")

    context = types.SimpleNamespace(enable_progress_bars=True)
    data = types.SimpleNamespace(from_items=lambda rows, override_num_blocks: Dataset(),
                                 DataContext=types.SimpleNamespace(get_current=lambda: context),
                                 ActorPoolStrategy=lambda size: size)
    fake = types.SimpleNamespace(is_initialized=lambda: True, cluster_resources=lambda: {"CPU": 2.0}, data=data)
    monkeypatch.setattr(ray_batch, "import_ray", lambda: fake)
    for name in ("a", "b", "c"):
        Image.fromarray(smooth_rgb(8, 8)).save(tmp_path / f"{name}.png")
    items = collect_inputs([str(tmp_path)])
    opts = BatchOptions(output=tmp_path / "out", suffix="_x", engine=ray_batch.RayEngine())
    report = run_batch(items, None, opts, process=lambda item, out, tile: Result("done", item.path, out))
    assert [(r.status, r.reason) for r in report.results] == [
        ("done", ""), ("failed", "Ray failed: node 10.0.0.7 died"), ("failed", "Ray failed: node 10.0.0.7 died")]
    assert context.enable_progress_bars is False


# --------------------------------------------------------------------------- on a local Ray
@pytest.fixture(scope="module")
def ray_cluster(tiny_models_plugin: Path) -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    path = os.pathsep.join([str(tiny_models_plugin), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Five tiny photos and a corrupt PNG."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(smooth_rgb(40 + 4 * i, 48, seed=i)).save(folder / f"p{i}.png")
    (folder / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    return folder


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_ray_batch_matches_the_local_batch_and_resumes(
    ray_cluster: Any, tiny_registry: Any, photos: Path, tmp_path: Path
) -> None:
    common = ["denoise", str(photos), "--model", "tiny-denoise", "--device", "cpu", "--tile", "32", "--sigma", "20"]
    res = _cli(*common, "-o", str(tmp_path / "local"), "--report", str(tmp_path / "local.json"))
    assert res.exit_code == 1, res.output
    res = _cli(*common, "-o", str(tmp_path / "ray"), "--report", str(tmp_path / "ray.json"), "--ray", "local")
    assert res.exit_code == 1, res.output
    assert f"failed {photos / 'bad.png'}: " in res.output
    assert "1 failed" in res.output and "Traceback" not in res.output
    local, remote = _report(tmp_path / "local.json"), _report(tmp_path / "ray.json")
    assert remote["counts"] == local["counts"] == {"done": 5, "skipped": 0, "failed": 1}
    keep = ("input", "status", "model", "error")
    assert [{k: r[k] for k in keep} for r in remote["results"]] == [{k: r[k] for k in keep} for r in local["results"]]
    for i in range(5):
        mine, theirs = tmp_path / "ray" / f"p{i}_denoised.png", tmp_path / "local" / f"p{i}_denoised.png"
        a, b = np.asarray(Image.open(mine), np.int16), np.asarray(Image.open(theirs), np.int16)
        assert np.abs(a - b).max() <= 1  # one torch thread per actor vs two here: float rounding at most
        assert "tiny-denoise" in Image.open(mine).text["Description"]  # provenance
    assert not list((tmp_path / "ray").glob(".*"))  # no temporary files left by the atomic writes

    # resume: one output lost, the rest are kept; the bad file still fails
    (tmp_path / "ray" / "p3_denoised.png").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "ray").iterdir()}
    res = _cli(*common, "-o", str(tmp_path / "ray"), "--report", str(tmp_path / "again.json"), "--ray", "local",
               "--skip-existing")
    assert res.exit_code == 1, res.output
    again = _report(tmp_path / "again.json")
    assert again["counts"] == {"done": 1, "skipped": 4, "failed": 1}
    assert [Path(r["input"]).name for r in again["results"] if r["status"] == "done"] == ["p3.png"]
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "ray").iterdir()}
    assert all(after[name] == t for name, t in before.items())


def test_ray_batch_never_overwrites_an_input(ray_cluster: Any, tiny_registry: Any, photos: Path) -> None:
    # an output named like an input (empty suffix, same folder) is refused before Ray sees it
    before = (photos / "p0.png").read_bytes()
    res = _cli("denoise", str(photos / "p0.png"), str(photos / "p1.png"), "--model", "tiny-denoise",
               "--suffix", "", "-o", str(photos), "--ray", "local")
    assert res.exit_code == 1
    assert f"failed {photos / 'p0.png'}: refused: output" in res.output and "0 done, 0 skipped, 2 failed" in res.output
    assert (photos / "p0.png").read_bytes() == before


def test_ray_restore_with_masks(ray_cluster: Any, photos: Path, tmp_path: Path) -> None:
    (photos / "bad.png").unlink()
    out = tmp_path / "restored"
    res = _cli("restore", str(photos), "-o", str(out), "--save-mask", "--no-detect", "--device", "cpu",
               "--ray", "local", "--report", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    assert _report(tmp_path / "r.json")["counts"] == {"done": 5, "skipped": 0, "failed": 0}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"p{i}_restored.png" for i in range(5)] + [f"p{i}_restored_mask.png" for i in range(5)]
    )
    assert "(task restore, model denoise)" in Image.open(out / "p0_restored.png").text["Description"]
