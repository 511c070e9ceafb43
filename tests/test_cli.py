"""The ``enhance`` command line, end to end on tiny random-weight models (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import smooth_rgb
from enhance import __version__
from enhance.cli import app

pytestmark = pytest.mark.usefixtures("tiny_registry")
runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_upscale_single_file(write_png) -> None:
    src = write_png("a.png", smooth_rgb(20, 24))
    before = src.read_bytes()
    code, out = run("upscale", src, "-x", "2")
    assert code == 0, out
    dst = src.with_name("a_x2.png")
    assert size(dst) == (48, 40)
    assert src.read_bytes() == before
    assert "done" in out and "a_x2.png" in out and "tiny-sr-x2-gan" in out


def test_default_scale_is_4_and_suffix(write_png, tmp_path: Path) -> None:
    src = write_png("b.jpg", smooth_rgb(16, 12))
    code, out = run("upscale", src, "--suffix", "_big")
    assert code == 0, out
    assert size(tmp_path / "b_big.jpg") == (48, 64)


def test_output_file_and_format(write_png, tmp_path: Path) -> None:
    src = write_png("c.jpg", smooth_rgb(16, 16))
    code, out = run("upscale", src, "-x", "2", "-o", tmp_path / "out.png")
    assert code == 0, out
    assert (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"
    code, out = run("upscale", src, "-x", "2", "--format", "PNG")
    assert code == 0, out
    with Image.open(tmp_path / "c_x2.png") as im:
        assert im.format == "PNG"


def test_folder_output_mirrors_tree(write_png, tmp_path: Path) -> None:
    write_png("in/a.png", smooth_rgb(12, 12))
    write_png("in/sub/b.png", smooth_rgb(12, 12, 1))
    write_png("in/sub/deeper/c.png", smooth_rgb(12, 12, 2))
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    code, out = run("upscale", tmp_path / "in", "-r", "-x", "2", "-o", tmp_path / "out")
    assert code == 0, out
    got = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert got == ["a_x2.png", "sub/b_x2.png", "sub/deeper/c_x2.png"]
    # without --recursive only the top level
    code, out = run("upscale", tmp_path / "in", "-x", "2", "-o", tmp_path / "flat")
    assert code == 0, out
    assert [p.name for p in (tmp_path / "flat").rglob("*.png")] == ["a_x2.png"]


def test_a_file_name_for_several_inputs_is_refused_before_any_work(write_png, tmp_path: Path) -> None:
    a = write_png("a.png", smooth_rgb(12, 12))
    b = write_png("b.png", smooth_rgb(12, 12, 1))
    # a flag's value taken for an input (`--save-mask m.png`) makes two inputs for one -o file
    code, out = run("upscale", a, b, "-x", "2", "-o", tmp_path / "out.png")
    assert code != 0 and "-o" in out and "names a file" in out and "2 inputs" in out
    assert not (tmp_path / "out.png").exists()  # no folder of that name, no outputs
    assert not list(tmp_path.glob("*_x2.png"))
    code, out = run("restore", a, tmp_path / "missing.png", "-o", tmp_path / "r.png")
    assert code != 0 and "names a file" in out and not (tmp_path / "r.png").exists()
    # a trailing slash asks for that folder anyway, and a name without an image extension is a folder
    code, out = run("upscale", a, b, "-x", "2", "-o", f"{tmp_path / 'pics.png'}/")
    assert code == 0, out
    assert sorted(p.name for p in (tmp_path / "pics.png").iterdir()) == ["a_x2.png", "b_x2.png"]
    code, out = run("upscale", a, b, "-x", "2", "-o", tmp_path / "pics")
    assert code == 0, out
    assert (tmp_path / "pics" / "a_x2.png").is_file()


def test_glob_pattern(write_png, tmp_path: Path) -> None:
    write_png("g/a.png", smooth_rgb(12, 12))
    write_png("g/b.png", smooth_rgb(12, 12, 1))
    code, out = run("upscale", str(tmp_path / "g" / "*.png"), "-x", "2", "-o", str(tmp_path / "o") + "/")
    assert code == 0, out
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a_x2.png", "b_x2.png"]


def test_corrupt_file_does_not_stop_batch(write_png, tmp_path: Path) -> None:
    write_png("in/a.png", smooth_rgb(12, 12))
    (tmp_path / "in" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    write_png("in/c.png", smooth_rgb(12, 12, 2))
    code, out = run("upscale", tmp_path / "in", tmp_path / "missing.png", "-x", "2")
    assert code == 1
    assert (tmp_path / "in" / "a_x2.png").exists() and (tmp_path / "in" / "c_x2.png").exists()
    assert "2 done, 0 skipped, 2 failed" in out
    assert "b.png" in out and "missing.png" in out and "no such file" in out


def test_skip_existing_resumes(write_png, tmp_path: Path) -> None:
    write_png("in/a.png", smooth_rgb(12, 12))
    write_png("in/b.png", smooth_rgb(12, 12, 1))
    assert run("upscale", tmp_path / "in", "-x", "2")[0] == 0
    outs = [tmp_path / "in" / "a_x2.png", tmp_path / "in" / "b_x2.png"]
    stamps = [p.stat().st_mtime_ns for p in outs]
    code, out = run("upscale", tmp_path / "in", "-x", "2", "--skip-existing")
    assert code == 0, out
    assert "0 done, 4 skipped, 0 failed" in out  # 2 existing outputs + 2 earlier outputs found as inputs
    assert [p.stat().st_mtime_ns for p in outs] == stamps
    assert not list((tmp_path / "in").glob("*_x2_x2.png"))


def test_existing_output_fails_without_flags_and_overwrite_replaces(write_png, tmp_path: Path) -> None:
    src = write_png("a.png", smooth_rgb(12, 12))
    dst = tmp_path / "a_x2.png"
    dst.write_bytes(b"old")
    code, out = run("upscale", src, "-x", "2")
    assert code == 1 and "exists (use --overwrite or --skip-existing)" in out
    assert dst.read_bytes() == b"old"
    code, out = run("upscale", src, "-x", "2", "--overwrite")
    assert code == 0, out
    assert size(dst) == (24, 24)


def test_overwrite_and_skip_existing_conflict(write_png) -> None:
    src = write_png("a.png", smooth_rgb(12, 12))
    code, out = run("upscale", src, "--overwrite", "--skip-existing")
    assert code == 2 and "not both" in out


def test_never_overwrites_input(write_png, tmp_path: Path) -> None:
    src = write_png("a.png", smooth_rgb(12, 12))
    other = write_png("b.png", smooth_rgb(12, 12, 1))
    before = src.read_bytes()
    for extra in ([], ["--overwrite"]):
        code, out = run("upscale", src, "-x", "2", "-o", src, *extra)
        assert code == 1 and "never overwritten" in out
    # several inputs into a folder where one output name is an input file
    code, out = run("upscale", src, other, "-x", "2", "--suffix", "", "-o", tmp_path, "--overwrite")
    assert code == 1 and "2 failed" in out
    assert src.read_bytes() == before


def test_gray_16bit_stays_16bit_gray(write_png, tmp_path: Path) -> None:
    arr = (smooth_rgb(16, 16)[:, :, 0].astype(np.uint16) * 257)
    src = write_png("g16.png", arr)
    code, out = run("upscale", src, "-x", "2")
    assert code == 0, out
    assert "tiny-sr-x2-fidelity" in out  # 16-bit input -> fidelity variant by default
    with Image.open(tmp_path / "g16_x2.png") as im:
        assert im.mode in ("I;16", "I;16B", "I") and im.size == (32, 32)
        assert np.asarray(im).max() > 255


def test_gray_8bit(write_png, tmp_path: Path) -> None:
    src = write_png("g8.png", smooth_rgb(16, 16)[:, :, 1])
    code, out = run("upscale", src, "-x", "2", "--model", "tiny-sr-x2-fidelity")
    assert code == 0, out
    with Image.open(tmp_path / "g8_x2.png") as im:
        assert im.mode == "L" and im.size == (32, 32)


def test_rgba_keeps_alpha(write_png, tmp_path: Path) -> None:
    rgba = np.dstack([smooth_rgb(16, 16), np.full((16, 16), 128, np.uint8)])
    rgba[:8, :, 3] = 0
    src = write_png("t.png", rgba)
    code, out = run("upscale", src, "-x", "2")
    assert code == 0, out
    with Image.open(tmp_path / "t_x2.png") as im:
        assert im.mode == "RGBA"
        alpha = np.asarray(im)[:, :, 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 128


def test_denoise_strength_and_sigma(write_png, tmp_path: Path) -> None:
    src = write_png("n.png", smooth_rgb(20, 20))
    outs = {}
    for name, args in {"weak": ["--strength", "0.5"], "s10": ["--sigma", "10"], "s40": ["--sigma", "40"]}.items():
        code, out = run("denoise", src, "--suffix", f"_{name}", *args)
        assert code == 0, out
        outs[name] = np.asarray(Image.open(tmp_path / f"n_{name}.png"))
        assert outs[name].shape == (20, 20, 3)
    assert not np.array_equal(outs["s10"], outs["s40"])  # the noise level reaches the model
    assert run("denoise", src, "--sigma", "-1")[0] == 2


def test_inpaint_with_mask(write_png, tmp_path: Path) -> None:
    img = smooth_rgb(16, 16)
    src = write_png("p.png", img)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:9, 5:11] = 255
    mpath = write_png("mask.png", mask)
    code, out = run("inpaint", src, "--mask", mpath)
    assert code == 0, out
    res = np.asarray(Image.open(tmp_path / "p_inpainted.png"))
    known = mask == 0
    assert np.array_equal(res[known], img[known])
    assert not np.array_equal(res[~known], img[~known])


def test_inpaint_mask_folder(write_png, tmp_path: Path) -> None:
    write_png("imgs/a.png", smooth_rgb(12, 12))
    write_png("imgs/b.png", smooth_rgb(12, 12, 1))
    mask = np.zeros((12, 12), np.uint8)
    mask[3:8, 4:9] = 255
    write_png("masks/a.png", mask)
    code, out = run("inpaint", tmp_path / "imgs", "--mask", tmp_path / "masks")
    assert code == 1
    assert (tmp_path / "imgs" / "a_inpainted.png").exists()
    assert "no mask with this name" in out
    assert run("inpaint", tmp_path / "imgs")[0] == 2  # --mask is required


def test_inpaint_refuses_an_all_white_mask(write_png, tmp_path: Path) -> None:
    src = write_png("a.png", smooth_rgb(12, 12))
    write_png("m.png", np.full((12, 12), 255, np.uint8))
    code, out = run("inpaint", src, "--mask", tmp_path / "m.png")
    assert code == 1 and "a.png" in out and "covers the whole image" in out
    assert not (tmp_path / "a_inpainted.png").exists()


def test_unknown_model_is_one_line(write_png) -> None:
    src = write_png("a.png", smooth_rgb(12, 12))
    code, out = run("upscale", src, "--model", "nope")
    assert code == 1 and "no model named 'nope'" in out
    code, out = run("denoise", src, "--model", "tiny-sr-x2-gan")
    assert code == 1 and "not denoise" in out


def test_broken_weights_is_one_line(write_png, tiny_registry, tmp_path: Path) -> None:
    import dataclasses

    spec = tiny_registry.get("tiny-sr-x2-gan")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    tiny_registry.add(dataclasses.replace(spec, name="broken", weights=bad))
    src = write_png("a.png", smooth_rgb(12, 12))
    code, out = run("upscale", src, "-x", "2", "--model", "broken")
    assert code == 1 and "sha256 mismatch" in out
    assert len([line for line in out.splitlines() if line.strip()]) == 1


def test_usage_errors_exit_2(write_png) -> None:
    src = write_png("a.png", smooth_rgb(12, 12))
    assert run("upscale", src, "-x", "3")[0] == 2
    assert run("upscale", src, "--tile", "5")[0] == 2
    assert run("upscale", src, "--format", "gif")[0] == 2
    assert run("upscale")[0] == 2


def test_tile_and_device_options(write_png, tmp_path: Path) -> None:
    src = write_png("big.png", smooth_rgb(80, 70))
    code, out = run("upscale", src, "-x", "2", "--tile", "32", "--device", "CPU", "--quiet")
    assert code == 0, out
    assert out.strip() == ""
    assert size(tmp_path / "big_x2.png") == (140, 160)


def test_ensemble_option(write_png, tmp_path: Path) -> None:
    src = write_png("e.png", smooth_rgb(20, 18))
    assert run("denoise", src, "--sigma", "20", "--suffix", "_one")[0] == 0
    code, out = run("denoise", src, "--sigma", "20", "--ensemble", "8", "--suffix", "_ens")
    assert code == 0, out
    assert "tiny-denoise (x8 ensemble)" in out
    one = np.asarray(Image.open(tmp_path / "e_one.png"))
    ens = np.asarray(Image.open(tmp_path / "e_ens.png"))
    assert ens.shape == one.shape and not np.array_equal(ens, one)
    code, out = run("upscale", src, "--ensemble", "3")
    assert code == 2 and "must be one of 1, 2, 4, 8" in out


def test_models_lists_fixture_models() -> None:
    code, out = run("models")
    assert code == 0, out
    for name in ("tiny-sr-x4-gan", "tiny-sr-x2-fidelity", "tiny-denoise", "tiny-inpaint"):
        assert name in out
    assert "Set5 x4 PSNR-Y 12.5 dB" in out
    code, out = run("models", "--task", "denoise")
    assert "tiny-denoise" in out and "tiny-inpaint" not in out


def test_models_lists_the_shipped_defect_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    from enhance import defects
    from enhance.cli.models import format_count

    info = defects.shipped_info()
    assert info is not None and info.parameters > 100_000 and info.bytes == info.path.stat().st_size
    assert any("F1" in k for k in info.metrics)
    code, out = run("models")
    assert code == 0 and "Defect detector" in out and format_count(info.parameters) in out
    code, out = run("models", "--task", "denoise")
    assert code == 0 and "Defect detector" not in out
    monkeypatch.setattr(defects, "available", lambda: False)
    code, out = run("models")
    assert code == 0 and "Defect detector" not in out and "tiny-denoise" in out


def test_models_names_a_broken_detector_file_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from enhance import defects

    bad = tmp_path / defects.WEIGHTS_FILE
    bad.write_bytes(b"not a safetensors file")
    monkeypatch.setattr(defects, "weights_dir", lambda: tmp_path)
    monkeypatch.setattr(defects, "read_manifest", lambda: {defects.WEIGHTS_FILE: {"sha256": "0" * 64}})
    code, out = run("models")
    assert code == 0 and "tiny-denoise" in out and "Traceback" not in out
    assert f"{bad}: unreadable weight file" in " ".join(out.split())


def test_models_empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from enhance import registry

    monkeypatch.setattr(registry, "default_registry", lambda: registry.Registry())
    code, out = run("models")
    assert code == 0 and "No models installed" in out


def test_version() -> None:
    code, out = run("--version")
    assert code == 0 and out.strip() == f"enhance {__version__}"


def test_console_script_entry_point() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "enhance"]
    assert ep.value == "enhance.cli:main"
    assert callable(ep.load())


def test_one_bad_file_gives_one_line_on_stderr(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("enhance")
    if not exe.exists():
        pytest.skip("the enhance script is not installed next to this Python")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    res = subprocess.run([str(exe), "upscale", str(bad), "-x", "2"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert res.stdout == ""
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("failed ") and "bad.png" in lines[0], res.stderr
    assert not list(tmp_path.glob("*_x2*")) and not list(tmp_path.glob(".*"))  # nothing left behind
