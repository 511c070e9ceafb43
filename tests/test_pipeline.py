"""enhance.pipeline: input collection, output planning, model choice and batch behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import smooth_rgb
from enhance.pipeline import (
    BatchOptions,
    Callbacks,
    InputItem,
    ModelPicker,
    collect_inputs,
    default_suffix,
    plan_output,
    run_batch,
)


@pytest.fixture
def tree(tmp_path: Path, write_png) -> Path:  # type: ignore[no-untyped-def]
    for rel in ("in/b.png", "in/a.jpg", "in/sub/c.png", "in/sub/d.tif"):
        write_png(rel, smooth_rgb(8, 8))
    (tmp_path / "in" / "readme.txt").write_text("x")
    return tmp_path / "in"


def names(items: list[InputItem]) -> list[str]:
    return [i.path.name for i in items]


def test_collect_folder_flat_and_recursive(tree: Path) -> None:
    assert names(collect_inputs([str(tree)])) == ["a.jpg", "b.png"]
    items = collect_inputs([str(tree)], recursive=True)
    assert names(items) == ["a.jpg", "b.png", "c.png", "d.tif"]
    assert all(i.base == tree and i.error is None for i in items)
    assert items[2].relative == Path("sub/c.png")


def test_collect_files_globs_missing_and_duplicates(tree: Path) -> None:
    items = collect_inputs(
        [str(tree / "b.png"), str(tree / "*.png"), str(tree / "sub" / "*.tif"), str(tree / "nope.png"), str(tree / "*.gif")]
    )
    assert names(items) == ["b.png", "d.tif", "nope.png", "*.gif"]
    assert [i.error is None for i in items] == [True, True, False, False]
    assert "no such file" in (items[2].error or "") and "matches" in (items[3].error or "")
    rec = collect_inputs([str(tree / "**" / "*.png")], recursive=True)
    assert names(rec) == ["b.png", "c.png"] and rec[1].relative == Path("sub/c.png")


def test_collect_empty_folder(tmp_path: Path) -> None:
    (item,) = collect_inputs([str(tmp_path)])
    assert item.error and "no supported images" in item.error


def test_plan_output(tmp_path: Path) -> None:
    item = InputItem(tmp_path / "in" / "sub" / "a.jpg", tmp_path / "in")
    assert plan_output(item, None, "_x4", None, False) == tmp_path / "in" / "sub" / "a_x4.jpg"
    assert plan_output(item, None, "_x4", "png", False).name == "a_x4.png"
    assert plan_output(item, None, "", "tiff", False).name == "a.tif"
    assert plan_output(item, tmp_path / "o.png", "_x4", None, False) == tmp_path / "o.png"
    assert plan_output(item, tmp_path / "out", "_x4", None, True) == tmp_path / "out" / "sub" / "a_x4.jpg"
    assert plan_output(item, f"{tmp_path}/new/", "_d", None, False) == tmp_path / "new" / "sub" / "a_d.jpg"
    assert plan_output(item, tmp_path, "_d", None, False) == tmp_path / "sub" / "a_d.jpg"  # existing folder


def test_default_suffix() -> None:
    assert default_suffix("upscale", 2) == "_x2"
    assert default_suffix("denoise") == "_denoised" and default_suffix("inpaint") == "_inpainted"


def test_picker_variants(tiny_registry) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from enhance.io import ImageData

    img = ImageData(np.zeros((4, 4, 3), np.float32), None, 8, "png")
    picker = ModelPicker("upscale", scale=4, device="cpu")
    assert picker.spec_for(img).name == "tiny-sr-x4-gan"
    assert picker.spec_for(ImageData(img.pixels, None, 16, "png")).name == "tiny-sr-x4-fidelity"
    assert picker.spec_for(ImageData(img.pixels, None, 12, "dicom")).name == "tiny-sr-x4-fidelity"
    assert picker(img) is picker(img)  # loaded once
    assert ModelPicker("upscale", scale=4, model="tiny-sr-x4-fidelity").spec_for(img).variant == "fidelity"
    assert ModelPicker("denoise").check().name == "tiny-denoise"


def test_batch_survives_unexpected_exceptions(tree: Path, tiny_registry) -> None:  # type: ignore[no-untyped-def]
    def flaky(spec):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")

    picker = ModelPicker("upscale", scale=2, build=flaky)
    events: list[str] = []
    cb = Callbacks(on_start=lambda item, i, n: events.append(f"start {i}/{n}"), on_result=lambda r: events.append(r.status))
    report = run_batch(collect_inputs([str(tree)]), picker, BatchOptions(suffix="_x2"), cb)
    assert report.counts == {"done": 0, "skipped": 0, "failed": 2}
    assert report.failed[0].reason == "internal error: ZeroDivisionError: boom"
    assert events == ["start 0/2", "failed", "start 1/2", "failed"]


def test_two_inputs_one_output_refused(tree: Path, tiny_registry) -> None:  # type: ignore[no-untyped-def]
    (tree / "a.png").write_bytes((tree / "b.png").read_bytes())
    items = collect_inputs([str(tree / "a.jpg"), str(tree / "a.png")])
    report = run_batch(items, ModelPicker("upscale", scale=2, device="cpu"), BatchOptions(suffix="", fmt="png", output=tree / "o"))
    assert [r.status for r in report.results] == ["done", "failed"]
    assert "also the output of" in report.failed[0].reason
