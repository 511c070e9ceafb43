"""ONNX export, the ONNX Runtime backend, int8 quantization, pruning and ``enhance export`` (tiny models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from typer.testing import CliRunner

from enhance.cli import app
from enhance.engine import Enhancer
from enhance.errors import InvalidInputError
from enhance.exporters.onnx_export import compare, export_onnx, sample_inputs
from enhance.onnx_backend import OrtRunner, cached_onnx_path
from enhance.registry import build_model
from enhance.spec import ModelSpec

from conftest import smooth_rgb

TASK_MODELS = ["tiny-sr-x4-fidelity", "tiny-denoise", "tiny-inpaint"]


def _spec(specs: list[ModelSpec], name: str) -> ModelSpec:
    return next(s for s in specs if s.name == name)


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCE_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", TASK_MODELS)
def test_onnx_parity_two_sizes(tiny_specs: list[ModelSpec], tmp_path: Path, name: str) -> None:
    spec = _spec(tiny_specs, name)
    path = export_onnx(spec, tmp_path / "m.onnx")
    net = build_model(spec)
    inputs = sample_inputs(spec, sizes=(16, 24))  # two sizes + a real crop, one session
    assert compare(net, path, inputs) < 1e-4
    runner = OrtRunner(spec, path, "cpu")
    assert runner.providers == ["CPUExecutionProvider"]
    out = runner(inputs[0])
    assert out.shape == (1, 3, 16 * spec.scale, 16 * spec.scale) and out.dtype == torch.float32


@pytest.mark.parametrize("name", TASK_MODELS)
def test_enhancer_onnx_matches_torch_tiled(tiny_specs: list[ModelSpec], name: str) -> None:
    spec = _spec(tiny_specs, name)
    img = smooth_rgb(70, 90, seed=3)  # not a size multiple: exercises the padding
    mask = np.zeros((70, 90), np.uint8)
    mask[20:40, 30:60] = 255
    kw = {"mask": mask} if spec.condition == "mask" else {"sigma": 20.0} if spec.condition == "sigma" else {}
    ref = Enhancer(spec, device="cpu", tile=32).enhance_rgb(img.astype(np.float32) / 255, **_arr(kw))
    enh = Enhancer(spec, device="cpu", tile=32, backend="onnx")
    assert cached_onnx_path(spec).is_file()  # exported on first use into $ENHANCE_CACHE
    got = enh.enhance_rgb(img.astype(np.float32) / 255, **_arr(kw))
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-4


def _arr(kw: dict) -> dict:  # type: ignore[type-arg]
    if "mask" in kw:
        return {"mask": kw["mask"].astype(np.float32) / 255}
    return kw


def test_bad_backend(tiny_specs: list[ModelSpec]) -> None:
    with pytest.raises(InvalidInputError, match="backend"):
        Enhancer(tiny_specs[0], device="cpu", backend="tflite")


def test_int8_runs_and_stays_close(tiny_specs: list[ModelSpec], tmp_path: Path) -> None:
    from enhance.exporters.quantize import quantize_int8, sensitive_convs

    spec = _spec(tiny_specs, "tiny-sr-x2-fidelity")
    fp32 = export_onnx(spec, tmp_path / "m.onnx")
    assert sensitive_convs(fp32)  # the first and last convs stay in float
    q = quantize_int8(fp32, tmp_path / "m8.onnx", spec, n_tiles=4, tile=32)
    ops = {n.op_type for n in onnx.load(str(q)).graph.node}
    assert "QuantizeLinear" in ops and "PRelu" not in ops  # PRelu expanded so that it quantizes
    x = sample_inputs(spec, sizes=(24,))[-1]  # the real image crop
    ref = build_model(spec).eval()(x).detach().clamp(0, 1)
    out = OrtRunner(spec, q, "cpu")(x).clamp(0, 1)
    assert out.shape == ref.shape
    assert float((out - ref).abs().mean()) < 0.02


def test_fp16_keeps_float32_io(tiny_specs: list[ModelSpec], tmp_path: Path) -> None:
    pytest.importorskip("onnxconverter_common")
    from enhance.exporters.quantize import convert_fp16

    spec = _spec(tiny_specs, "tiny-denoise")
    half = convert_fp16(export_onnx(spec, tmp_path / "m.onnx"), tmp_path / "m16.onnx")
    runner = OrtRunner(spec, half, "cpu")
    assert runner.input_dtype == np.float32  # keep_io_types
    assert compare(build_model(spec), half, sample_inputs(spec, sizes=(16,))) < 1e-2


def test_physical_cores() -> None:
    import os

    from enhance.onnx_backend import physical_cores, session_options

    assert 1 <= physical_cores() <= (os.cpu_count() or 1)
    assert session_options().intra_op_num_threads == physical_cores()


def test_pruning_reduces_params_keeps_shape(tiny_specs: list[ModelSpec], tmp_path: Path) -> None:
    pytest.importorskip("torch_pruning")
    from enhance.exporters.prune import prune_and_finetune

    spec = _spec(tiny_specs, "tiny-sr-x4-fidelity")
    net = build_model(spec)
    pruned, rep = prune_and_finetune(net, spec, ratio=0.5, steps=2, eval_tiles=2)
    assert rep.params_after < rep.params_before and rep.macs_after < rep.macs_before
    x = torch.rand(1, 3, 20, 20)
    assert pruned(x).shape == net(x).shape == (1, 3, 80, 80)
    path = export_onnx(pruned, tmp_path / "p.onnx")
    assert compare(pruned, path, [x]) < 1e-4


def test_cli_export(tiny_registry: object, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    res = CliRunner().invoke(app, ["export", "tiny-denoise", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.is_file() and "max abs error" in res.output


def test_cli_export_pruned_int8(tiny_registry: object, tmp_path: Path) -> None:
    pytest.importorskip("torch_pruning")
    out = tmp_path / "m8.onnx"
    args = ["export", "tiny-sr-x2-fidelity", "-o", str(out), "--prune", "0.5", "--finetune-steps", "1", "--int8"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert out.is_file() and "pruned 50% of channels" in res.output and "PSNR on built-in photo tiles" in res.output


def test_cli_export_bad_options(tiny_registry: object, tmp_path: Path) -> None:
    out = str(tmp_path / "m.onnx")
    assert CliRunner().invoke(app, ["export", "tiny-denoise", "-o", out, "--int8", "--fp16"]).exit_code == 2
    assert CliRunner().invoke(app, ["export", "tiny-denoise", "-o", out, "--prune", "1.5"]).exit_code == 2
    assert CliRunner().invoke(app, ["export", "tiny-denoise", "-o", out, "--calib", str(tmp_path)]).exit_code == 2


def test_cli_export_unknown_model(tiny_registry: object, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["export", "nope", "-o", str(tmp_path / "m.onnx")])
    assert res.exit_code == 1
    assert "no model named 'nope'" in res.output
    assert "Traceback" not in res.output


def test_cli_runs_an_exported_file(tiny_registry: object, tmp_path: Path, write_png) -> None:  # type: ignore[no-untyped-def]
    """export -> --onnx FILE: the file names its model; the output matches the torch backend."""
    from PIL import Image

    from enhance.exporters.onnx_export import export_onnx as plain_export

    runner = CliRunner()
    onnx_file = tmp_path / "den.onnx"
    assert runner.invoke(app, ["export", "tiny-denoise", "-o", str(onnx_file)]).exit_code == 0
    src = write_png("n.png", smooth_rgb(20, 20))
    res = runner.invoke(app, ["denoise", str(src), "--sigma", "20", "--onnx", str(onnx_file), "--suffix", "_ort"])
    assert res.exit_code == 0, res.output
    assert "tiny-denoise (ONNX den.onnx)" in res.output
    assert runner.invoke(app, ["denoise", str(src), "--sigma", "20", "--suffix", "_pt"]).exit_code == 0
    ort_out = np.asarray(Image.open(tmp_path / "n_ort.png")).astype(int)
    pt_out = np.asarray(Image.open(tmp_path / "n_pt.png")).astype(int)
    assert np.abs(ort_out - pt_out).max() <= 1
    # the file is a denoiser: refused by upscale, and by a --model it was not exported from
    res = runner.invoke(app, ["upscale", str(src), "--onnx", str(onnx_file)])
    assert res.exit_code == 1 and "not upscale" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["denoise", str(src), "--onnx", str(onnx_file), "--model", "tiny-inpaint"])
    assert res.exit_code == 1 and "exported from model 'tiny-denoise'" in res.output
    # a file without our metadata needs --model, and its input must fit the model
    bare = plain_export(build_model(tiny_registry.get("tiny-sr-x2-fidelity")), tmp_path / "bare.onnx")  # type: ignore[attr-defined]
    res = runner.invoke(app, ["upscale", str(src), "-x", "2", "--onnx", str(bare)])
    assert res.exit_code == 1 and "name it with --model" in res.output
    res = runner.invoke(app, ["denoise", str(src), "--onnx", str(bare), "--model", "tiny-denoise"])
    assert res.exit_code == 1 and "needs (N, 4, H, W)" in res.output
    res = runner.invoke(app, ["upscale", str(src), "-x", "2", "--onnx", str(bare), "--model", "tiny-sr-x2-fidelity"])
    assert res.exit_code == 0, res.output
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    res = runner.invoke(app, ["denoise", str(src), "--onnx", str(tmp_path / "junk.onnx")])
    assert res.exit_code == 1 and "not an ONNX model" in res.output


def test_onnx_backend_with_ensemble_and_tiles(tiny_specs: list[ModelSpec]) -> None:
    spec = _spec(tiny_specs, "tiny-sr-x4-fidelity")
    img = np.random.default_rng(2).random((70, 50, 3)).astype(np.float32)
    ref = Enhancer(spec, device="cpu", tile=32, ensemble=2).enhance_rgb(img)
    got = Enhancer(spec, device="cpu", tile=32, ensemble=2, backend="onnx").enhance_rgb(img)
    assert got.shape == (280, 200, 3)
    assert np.abs(got - ref).max() < 1e-4


def test_int8_backend_quantizes_once_and_stays_close(tiny_specs: list[ModelSpec]) -> None:
    spec = _spec(tiny_specs, "tiny-sr-x2-fidelity")
    img = smooth_rgb(40, 52, seed=5).astype(np.float32) / 255
    ref = Enhancer(spec, device="cpu").enhance_rgb(img)
    enh = Enhancer(spec, device="auto", backend="onnx-int8")
    assert enh.device.type == "cpu" and enh.label == "tiny-sr-x2-fidelity (ONNX int8)"
    path = cached_onnx_path(spec, int8=True)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "QuantizeLinear" in ops and cached_onnx_path(spec).is_file()  # built from the fp32 export
    stamp = path.stat().st_mtime_ns
    got = enh.enhance_rgb(img)
    assert got.shape == ref.shape and float(np.abs(got - ref).mean()) < 0.02
    Enhancer(spec, device="cpu", backend="onnx-int8")
    assert path.stat().st_mtime_ns == stamp  # the cached quantization is reused


def test_int8_backend_refuses_a_file_of_your_own(tiny_specs: list[ModelSpec], tmp_path: Path) -> None:
    spec = _spec(tiny_specs, "tiny-sr-x2-fidelity")
    path = export_onnx(spec, tmp_path / "m.onnx")
    with pytest.raises(InvalidInputError, match="use the onnx backend"):
        Enhancer(spec, device="cpu", backend="onnx-int8", onnx_path=path)


def test_cli_int8_backend(tiny_registry: object, tmp_path: Path, write_png) -> None:  # type: ignore[no-untyped-def]
    src = write_png("p.png", smooth_rgb(24, 24))
    res = CliRunner().invoke(app, ["upscale", str(src), "-x", "2", "--backend", "onnx-int8", "--suffix", "_q"])
    assert res.exit_code == 0, res.output
    assert "(ONNX int8)" in res.output and (tmp_path / "p_q.png").is_file()


def test_calibration_photos_need_no_scikit_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain install (no scikit-image) can quantize, prune and check exports: the photos are bundled."""
    import sys

    from enhance.exporters.calib import load_images
    from enhance.exporters.onnx_export import astronaut_crop

    monkeypatch.setitem(sys.modules, "skimage", None)  # any import of it now fails
    images = load_images()
    assert len(images) == 6 and all(im.ndim == 3 and im.shape[2] == 3 and im.dtype == np.float32 for im in images)
    assert all(0.0 <= im.min() and im.max() <= 1.0 and min(im.shape[:2]) >= 256 for im in images)
    crop = astronaut_crop(64)
    assert crop.shape == (1, 3, 64, 64) and 0.1 < float(crop.mean()) < 0.9


def test_onnx_backend_tiles_larger_on_the_cpu(tiny_specs: list[ModelSpec]) -> None:
    """ORT runs large CPU tiles faster, torch small ones: each gets its own cap (memory permitting)."""
    from enhance.engine import CPU_MAX_TILE

    spec = _spec(tiny_specs, "tiny-denoise")
    torch_tile = Enhancer(spec, device="cpu")._auto_tile()
    ort_tile = Enhancer(spec, device="cpu", backend="onnx")._auto_tile()
    assert ort_tile >= torch_tile
    if torch_tile == CPU_MAX_TILE:  # torch was held by its cap, not by free memory
        assert ort_tile > torch_tile


def test_calibration_pairs_of_a_prefill_model_come_filled_by_navier_stokes() -> None:
    """int8 calibration feeds a prefill model what it sees at inference: thin holes filled by NS."""
    from enhance import holes
    from enhance.builtin import builtin_specs
    from enhance.exporters.calib import make_pair

    spec = next(s for s in builtin_specs() if s.prefill == "ns")
    img = smooth_rgb(80, 80)
    pair = make_pair(spec, img, 64, torch.Generator().manual_seed(0))
    x, clean = pair.input, pair.target
    hole = x[0, 3].numpy() > 0.5
    assert x.shape == (1, 4, 64, 64) and 0 < hole.mean() < 0.5
    expected = holes.prefill_ns(clean[0].permute(1, 2, 0).numpy(), hole)
    np.testing.assert_allclose(x[0, :3].permute(1, 2, 0).numpy(), expected, atol=1e-6)
    assert np.abs(x[0, :3].numpy()[:, hole]).min() > 0  # the holes are filled, not zeroed
