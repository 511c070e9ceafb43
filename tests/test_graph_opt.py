"""The ONNX graph rewrites of ``exporters/graph_opt.py``: same outputs, no slow ops left."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from enhance.exporters.graph_opt import expand_prelu
from enhance.exporters.onnx_export import compare, export_onnx, ort_session


def _net() -> nn.Module:
    torch.manual_seed(0)
    act = nn.PReLU(6)
    with torch.no_grad():  # slopes below 0, between 0 and 1, and above 1 (all seen in trained models)
        act.weight.copy_(torch.tensor([-0.3, 0.0, 0.1, 0.5, 1.0, 1.4]))
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), act, nn.Conv2d(6, 3, 3, padding=1), nn.PReLU()).eval()


def _ops(path: Path) -> list[str]:
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def _raw_export(net: nn.Module, path: Path) -> Path:
    """An export as an older version of ``enhance`` wrote it: PRelu nodes kept."""
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(net, (torch.rand(1, 3, 16, 16),), str(path), input_names=["input"], output_names=["output"],
                      opset_version=17, dynamic_axes={"input": axes, "output": axes}, dynamo=False)
    return path


def test_export_expands_prelu_and_matches_torch(tmp_path: Path) -> None:
    net = _net()
    path = export_onnx(net, tmp_path / "m.onnx")
    assert "PRelu" not in _ops(path) and "Clip" in _ops(path)
    gen = torch.Generator().manual_seed(1)
    inputs = [torch.randn(1, 3, 20, 12, generator=gen), torch.randn(2, 3, 9, 31, generator=gen)]
    assert compare(net, path, inputs) < 1e-5
    model = onnx.load(str(path))
    assert expand_prelu(model) == 0  # nothing left to do: running it twice is harmless
    names = {t.name for t in model.graph.initializer}
    assert all(n in names for node in model.graph.node for n in node.input[1:] if "slope" in n)


def test_expand_prelu_on_an_old_file(tmp_path: Path) -> None:
    net = _net()
    raw = _raw_export(net, tmp_path / "old.onnx")
    assert _ops(raw).count("PRelu") == 2
    model = onnx.load(str(raw))
    assert expand_prelu(model) == 2
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp_path / "new.onnx"))
    x = np.random.default_rng(0).normal(size=(1, 3, 17, 17)).astype(np.float32)
    before = ort_session(raw).run(None, {"input": x})[0]
    after = ort_session(tmp_path / "new.onnx").run(None, {"input": x})[0]
    np.testing.assert_allclose(after, before, atol=1e-5)
