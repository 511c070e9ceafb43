"""The conformance suite: every registered model (built-in and installed plugins) meets the model
contract of :class:`enhance.spec.ModelSpec`. A new model gets these checks by being registered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import enhance
from enhance.engine import Enhancer
from enhance.exporters.onnx_export import compare, export_onnx, sample_inputs
from enhance.registry import build_model
from enhance.spec import ModelSpec

from conftest import smooth_rgb

MODELS = enhance.list_models()


def _input(spec: ModelSpec, side: int, seed: int = 0) -> torch.Tensor:
    return sample_inputs(spec, sizes=(side,), seed=seed)[0]


def _side(spec: ModelSpec) -> int:
    return 2 * max(spec.size_multiple, 8)


def _kwargs(spec: ModelSpec, shape: tuple[int, int]) -> dict[str, object]:
    if spec.condition == "mask":
        mask = np.zeros(shape, np.float32)
        mask[shape[0] // 3 : shape[0] // 2, shape[1] // 4 : shape[1] * 3 // 4] = 1.0
        return {"mask": mask}
    if spec.condition == "sigma":
        return {"sigma": 15.0}
    return {}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCE_CACHE", str(tmp_path / "cache"))


def test_the_registry_is_not_empty() -> None:
    assert MODELS and {"upscale", "denoise", "inpaint"} <= {s.task for s in MODELS}


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_forward_shape_finite_and_backward(spec: ModelSpec) -> None:
    net = build_model(spec)
    side = _side(spec)
    x = _input(spec, side)
    y = net(x)
    assert y.shape == (1, 3, side * spec.scale, side * spec.scale)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_size_multiple_is_the_architectures(spec: ModelSpec) -> None:
    net = spec.build()
    assert spec.size_multiple == int(getattr(net, "size_multiple", 1))
    # an input of that multiple runs; the Enhancer pads any other size to it
    side = spec.size_multiple * 3
    with torch.no_grad():
        assert net(_input(spec, side)).shape[-1] == side * spec.scale


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_tiled_equals_untiled_at_the_declared_overlap(spec: ModelSpec) -> None:
    tile = max(2 * spec.tile_overlap, 48)
    h, w = tile + tile // 2 + 3, tile + 5  # several tiles, sizes not a multiple of anything
    rgb = smooth_rgb(h, w, seed=1).astype(np.float32) / 255
    kw = _kwargs(spec, (h, w))
    whole = Enhancer(spec, device="cpu", tile=None).enhance_rgb(rgb, **kw)  # type: ignore[arg-type]
    tiled = Enhancer(spec, device="cpu", tile=tile).enhance_rgb(rgb, **kw)  # type: ignore[arg-type]
    assert tiled.shape == whole.shape == (h * spec.scale, w * spec.scale, 3)
    assert np.abs(tiled - whole).mean() < 2e-3
    assert np.abs(tiled - whole).max() < 0.05


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_onnx_parity(spec: ModelSpec, tmp_path: Path) -> None:
    path = export_onnx(spec, tmp_path / "m.onnx", size=_side(spec))
    side = max(_side(spec), 16)
    assert compare(build_model(spec), path, [_input(spec, side, 1), _input(spec, side + spec.size_multiple * 2, 2)]) < 1e-3


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_int8_backend_runs_close_to_fp32(spec: ModelSpec) -> None:
    h, w = 40, 48
    rgb = smooth_rgb(h, w, seed=2).astype(np.float32) / 255
    kw = _kwargs(spec, (h, w))
    ref = Enhancer(spec, device="cpu", tile=None).enhance_rgb(rgb, **kw)  # type: ignore[arg-type]
    got = Enhancer(spec, device="cpu", tile=None, backend="onnx-int8").enhance_rgb(rgb, **kw)  # type: ignore[arg-type]
    assert got.shape == ref.shape and np.isfinite(got).all()
    mse = float(np.square(got - ref).mean())
    assert 10 * np.log10(1 / max(mse, 1e-12)) > 30  # int8 stays within a few grey levels of fp32


@pytest.mark.parametrize("spec", [s for s in MODELS if s.fp16], ids=lambda s: s.name)
def test_fp16_close_to_fp32_where_declared(spec: ModelSpec) -> None:
    net = build_model(spec).eval()
    x = _input(spec, _side(spec) * 2, 3)
    with torch.no_grad():
        ref = net(x).clamp(0, 1)
        half = net.half()(x.half()).float().clamp(0, 1)
    assert torch.isfinite(half).all()
    assert (half - ref).abs().max() < 0.02
