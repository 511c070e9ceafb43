"""``enhance eval`` and ``enhance.metrics.evaluate`` on small synthetic folders, with the seeded random
feature extractor (no weight file, no network)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from typer.testing import CliRunner

from conftest import smooth_rgb
from enhance.cli import app
from enhance.metrics.evaluate import EvalOptions, evaluate
from enhance.metrics.features import load_extractor

runner = CliRunner()
N = 10


def _textured(seed: int) -> np.ndarray:
    """A 64x80 image with edges and texture (so blur and noise change its features)."""
    rng = np.random.default_rng(seed)
    img = smooth_rgb(64, 80, seed).astype(np.float64)
    for _ in range(6):
        y, x = rng.integers(0, 48), rng.integers(0, 64)
        img[y : y + 16, x : x + 16] = rng.integers(0, 255, 3)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _save_set(folder: Path, images: list[np.ndarray], blur: float = 0.0, names: str = "img{}.png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, arr in enumerate(images):
        im = Image.fromarray(arr)
        if blur:
            im = im.filter(ImageFilter.GaussianBlur(blur))
        im.save(folder / names.format(i))
    return folder


@pytest.fixture(scope="module")
def sets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval")
    refs = [_textured(i) for i in range(N)]
    _save_set(root / "ref", refs)
    _save_set(root / "same", refs)
    _save_set(root / "blur1", refs, blur=1.0)
    _save_set(root / "blur3", refs, blur=3.0)
    _save_set(root / "renamed", refs, names="other{}.png")
    return root


@pytest.fixture(scope="module")
def random_features():  # type: ignore[no-untyped-def]
    return load_extractor("random:0", "cpu")


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def test_a_folder_against_itself(sets_dir: Path, random_features) -> None:  # type: ignore[no-untyped-def]
    report = evaluate(sets_dir / "same", sets_dir / "ref", random_features)
    assert report.ok and report.paired == N and len(report.images) == N
    assert all(im.psnr == float("inf") and im.ssim == pytest.approx(1.0) and im.gmsd == 0.0 for im in report.images)
    s = report.sets
    assert s is not None
    assert s.fid == pytest.approx(0.0, abs=1e-6)
    assert (s.precision, s.recall, s.coverage) == (1.0, 1.0, 1.0)
    assert s.density == pytest.approx(1.0, abs=0.05)
    assert s.extractor.fid_name == "FID-random" and len(s.extractor.sha256) == 64
    d = report.as_dict()
    json.dumps(d, allow_nan=False)  # inf PSNR is written as "inf"
    assert d["means"]["psnr"] == "inf" and d["sets"]["extractor"]["sha256"] == s.extractor.sha256
    assert any("NIQE needs both sides >= 194 px" in n for n in report.notes)  # 64x80 images


def test_set_metrics_grow_with_distortion(sets_dir: Path, random_features) -> None:  # type: ignore[no-untyped-def]
    reports = [evaluate(sets_dir / name, sets_dir / "ref", random_features, EvalOptions(niqe=False))
               for name in ("same", "blur1", "blur3")]
    fids = [r.sets.fid for r in reports if r.sets]
    kids = [r.sets.kid for r in reports if r.sets]
    psnrs = [r.means["psnr"] for r in reports]
    assert fids[0] < fids[1] < fids[2] and kids[0] < kids[1] < kids[2]
    assert psnrs[0] > psnrs[1] > psnrs[2]
    blurred = reports[2].sets
    assert blurred is not None and (blurred.precision, blurred.recall) != (1.0, 1.0)


def test_unpaired_folders_still_get_set_metrics(sets_dir: Path, random_features) -> None:  # type: ignore[no-untyped-def]
    report = evaluate(sets_dir / "renamed", sets_dir / "ref", random_features, EvalOptions(niqe=False))
    assert report.paired == 0 and report.sets is not None and report.sets.fid == pytest.approx(0.0, abs=1e-6)
    assert all(im.psnr is None for im in report.images)
    assert any("no output has a reference of the same name" in n for n in report.notes)


def test_suffix_pairing_y_channel_and_niqe(tmp_path: Path) -> None:
    data = pytest.importorskip("skimage.data")
    hr = np.asarray(data.astronaut())[:200, :210]
    _save_set(tmp_path / "hr", [hr], names="face.png")
    _save_set(tmp_path / "sr", [hr], blur=1.5, names="face_x4.png")
    report = evaluate(tmp_path / "sr", tmp_path / "hr", None, EvalOptions(y_channel=True, shave=4, suffix="_x4"))
    (im,) = report.images
    assert report.paired == 1 and im.reference == tmp_path / "hr" / "face.png"
    assert im.psnr is not None and im.ssim is not None and im.ms_ssim is not None  # 192 px after the shave
    assert 20 < im.psnr < 40 and 0 < im.ssim < im.ms_ssim < 1
    assert im.niqe is not None and im.niqe_ref is not None and im.niqe > im.niqe_ref  # blur is less natural
    assert report.sets is None and any("no feature extractor" in n for n in report.notes)


def test_cli_writes_json_and_markdown(sets_dir: Path, tmp_path: Path) -> None:
    code, out, err = run("eval", sets_dir / "blur1", sets_dir / "ref", "--features", "random",
                         "--json", tmp_path / "r.json", "--markdown", tmp_path / "r.md", "--no-niqe")
    assert code == 0, out + err
    assert "FID-random" in out and "PSNR" in out and "img0.png" in out and err == ""
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["n_paired"] == N and d["sets"]["extractor"]["kind"] == "random" and d["sets"]["fid"] > 0
    md = (tmp_path / "r.md").read_text()
    assert "FID-random" in md and d["sets"]["extractor"]["sha256"] in md and "| img9.png |" in md


def test_cli_one_line_errors(sets_dir: Path, tmp_path: Path) -> None:
    code, out, err = run("eval", tmp_path / "nothere", sets_dir / "ref")
    assert code == 1 and err.strip().splitlines() == [f"error: {tmp_path / 'nothere'}: no such file or folder"]

    code, out, err = run("eval", sets_dir / "same", sets_dir / "ref", "--features", f"vgg19p:{tmp_path / 'e5.pth'}")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "e5.pth: no such weight file" in err

    outs = _save_set(tmp_path / "outs", [_textured(i) for i in range(3)])
    (outs / "img1.png").write_bytes(b"\x89PNG\r\n\x1a\nnot a png")
    Image.fromarray(_textured(2)[:32]).save(outs / "img2.png")  # wrong size for its reference
    code, out, err = run("eval", outs, sets_dir / "ref", "--json", tmp_path / "bad.json", "--no-niqe")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 2, err
    assert lines[0].startswith("error: ") and "img1.png" in lines[0]
    assert "img2.png: 80x32 px, but its reference" in lines[1] and "80x64 px" in lines[1]
    d = json.loads((tmp_path / "bad.json").read_text())
    assert [im["name"] for im in d["images"]] == ["img0.png"] and len(d["errors"]) == 2


def test_console_script_error_is_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("enhance")
    if not exe.exists():
        pytest.skip("the enhance script is not installed next to this Python")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    res = subprocess.run([str(exe), "eval", str(bad)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.jpg" in lines[0], res.stderr


def test_the_readme_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line of the README's "Measure and compare" block runs, on small folders named as there."""
    import glob
    import shlex

    import torch

    from test_metrics_features import _tiny_vgg_state

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Measure and compare", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line.split("  #", 1)[0]) for line in block.splitlines() if line.strip()]
    assert len(commands) >= 4 and all(c[0] == "enhance" for c in commands)

    images = [_textured(i) for i in range(6)]
    _save_set(tmp_path / "hr", images)
    _save_set(tmp_path / "out", images, blur=1.0, names="img{}_x4.png")
    _save_set(tmp_path / "photos_x4", images[:2])
    _save_set(tmp_path / "gan", images[:2])
    _save_set(tmp_path / "fidelity", images[:2], blur=1.0)
    torch.save(_tiny_vgg_state(), tmp_path / "e5_base.pth")
    votes = [{"winner": "gan", "loser": "fidelity"}, {"winner": "fidelity", "loser": "gan"}]
    (tmp_path / "votes-a.json").write_text(json.dumps({"format": "enhance-rate-votes/1",
                                                       "methods": ["gan", "fidelity"], "votes": votes}))
    monkeypatch.chdir(tmp_path)
    for cmd in commands:
        args = [m for a in cmd[1:] for m in (sorted(glob.glob(a)) if "*" in a else [a])]
        code, out, err = run(*args)
        assert code == 0, f"{' '.join(cmd)}:\n{out}{err}"
    assert json.loads((tmp_path / "eval.json").read_text())["sets"]["extractor"]["kind"] == "vgg19p"
    assert (tmp_path / "rate.html").is_file()
