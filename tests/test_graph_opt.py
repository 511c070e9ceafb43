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


class _Shuffle(nn.Module):
    """Conv -> PixelShuffle (CRD DepthToSpace) -> conv, like CompactSR's tail and the U-Net's upsampling."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.up = nn.Conv2d(3, 5 * 4, 1)
        self.shuffle = nn.PixelShuffle(2)
        self.out = nn.Conv2d(5, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.shuffle(self.up(x)))


def test_depth_to_space_rewrite_matches_torch(tmp_path: Path) -> None:
    net = _Shuffle().eval()
    path = export_onnx(net, tmp_path / "m.onnx")
    ops = _ops(path)
    assert "DepthToSpace" not in ops and "Transpose" in ops
    gen = torch.Generator().manual_seed(3)
    inputs = [torch.rand(1, 3, 7, 11, generator=gen), torch.rand(2, 3, 16, 5, generator=gen)]
    assert compare(net, path, inputs) < 1e-5


def test_depth_to_space_without_a_private_conv_is_kept(tmp_path: Path) -> None:
    """A CRD shuffle of a tensor something else reads too cannot reorder its producer's channels."""

    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.Conv2d(3, 12, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.up(x)
            return nn.functional.pixel_shuffle(y, 2)[:, :, ::2, ::2] + y[:, :3]

    net = Shared().eval()
    path = export_onnx(net, tmp_path / "m.onnx")
    assert "DepthToSpace" in _ops(path)
    assert compare(net, path, [torch.rand(1, 3, 8, 8)]) < 1e-5


def test_int8_shape_reads_the_quantized_tensor(tiny_specs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from enhance.exporters.quantize import quantize_int8

    spec = next(s for s in tiny_specs if s.name == "tiny-denoise")
    fp32 = export_onnx(spec, tmp_path / "m.onnx")
    q = onnx.load(str(quantize_int8(fp32, tmp_path / "m8.onnx", spec, n_tiles=2, tile=32)))
    producers = {o: n.op_type for n in q.graph.node for o in n.output}
    shapes = [n for n in q.graph.node if n.op_type == "Shape"]
    assert shapes and all(producers.get(n.input[0]) != "DequantizeLinear" for n in shapes)
