"""Rewrites of exported ONNX graphs that keep the maths and make ONNX Runtime faster.

:func:`expand_prelu` replaces every ``PRelu`` whose slope is a constant by
``x + (slope - 1) * Clip(x, max=0)``. ONNX Runtime's CPU ``PRelu`` kernel broadcasts a per-channel
slope one small span at a time: on a ``(1, 48, 128, 128)`` tensor it takes 2.4-2.7 ns per element
against 0.05-0.2 for ``Min``, ``Mul`` or ``Add`` (2 threads, this project's CI machine). It made up
20 % of CompactSR's fp32 run time and half of its int8 run time, because int8 cannot fuse a
``PRelu`` and each one ran in float between a dequantize and a quantize. The plain ops cost 9 % in
fp32 and all quantize (the ``Clip`` folds into the range of its quantizer; ``Min`` would not):
sr-x4-fidelity's ORT int8 went from 7.4 to 12.9 output MP/s on a 128 px input (bare session).
``Max(x, slope * x)`` is exact only for slopes <= 1 and lets ORT duplicate the producing convolution
to fuse the ``Mul``, so it is not used.

:func:`transpose_depth_to_space` replaces a pixel shuffle (``DepthToSpace``) by reshapes around one
transpose that moves whole ``r * C`` channel blocks, after reordering the producing convolution's
output channels so that the block comes first (CRD to DCR order). ONNX Runtime has no channels-last
``DepthToSpace``: in int8, where the convolutions run channels-last, each pixel shuffle cost a
transpose there, the shuffle and a transpose back, 25 % of the pruned int8 denoiser's time. Written
channels-last, the layout transposes cancel: the pruned int8 denoiser ran about 30 % faster, and the
fp32 one about 20 %. :func:`shape_skips_dequantize` then lets the ``Shape`` this needs read the
quantized tensor, so no tensor is dequantized just to be measured.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx


def _names_in_use(graph: onnx.GraphProto) -> set[str]:
    """Every node, tensor, initializer and graph input/output name: new names must avoid them."""
    names = {t.name for t in graph.initializer} | {n.name for n in graph.node}
    names |= {name for n in graph.node for name in (*n.input, *n.output)}
    return names | {v.name for v in (*graph.input, *graph.output)}


def _unique(taken: set[str], name: str) -> str:
    out, i = name, 1
    while out in taken:
        out, i = f"{name}_{i}", i + 1
    taken.add(out)
    return out


def expand_prelu(model: onnx.ModelProto) -> int:
    """Rewrite, in place, each ``PRelu`` with a constant slope into ``x + (slope-1) * Clip(x, max=0)``.

    Returns how many were rewritten (0 when there are none, so it is safe to run twice). The slope
    keeps its broadcast shape (``(C, 1, 1)`` from PyTorch), so the result is the same for any input
    layout the slope fitted; it matches ``PRelu`` to float rounding (``x + (a-1)x`` vs ``a x``).
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    taken = _names_in_use(graph)
    nodes = []
    replaced: set[str] = set()
    count = 0
    for node in graph.node:
        if node.op_type != "PRelu" or len(node.input) != 2 or node.input[1] not in inits:
            nodes.append(node)
            continue
        x, slope_name, y = node.input[0], node.input[1], node.output[0]
        base = node.name or y
        slope = numpy_helper.to_array(inits[slope_name]).astype(np.float32)
        zero = _unique(taken, f"{base}/zero")
        slope_m1 = _unique(taken, f"{base}/slope_minus_1")
        neg, corr = _unique(taken, f"{base}/neg"), _unique(taken, f"{base}/corr")
        graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), zero))
        graph.initializer.append(numpy_helper.from_array(slope - 1.0, slope_m1))
        nodes += [
            helper.make_node("Clip", [x, "", zero], [neg], name=_unique(taken, f"{base}/clip")),
            helper.make_node("Mul", [neg, slope_m1], [corr], name=_unique(taken, f"{base}/mul")),
            helper.make_node("Add", [x, corr], [y], name=_unique(taken, f"{base}/add")),
        ]
        replaced.add(slope_name)
        count += 1
    if not replaced:
        return 0
    del graph.node[:]
    graph.node.extend(nodes)
    # drop the old slopes nothing reads any more (ONNX Runtime warns about each unused initializer)
    read = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name not in replaced or t.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return count


def _conv_feeding(graph: onnx.GraphProto, tensor: str, uses: dict[str, int]) -> onnx.NodeProto | None:
    """The Conv that writes ``tensor`` and nothing else reads, with constant weight and bias that no
    other node reads: its output channels can then be reordered freely."""
    inits = {t.name for t in graph.initializer}
    for node in graph.node:
        if tensor in node.output:
            ok = (node.op_type == "Conv" and len(node.input) == 3 and uses[tensor] == 1
                  and all(n in inits and uses[n] == 1 for n in node.input[1:]))
            return node if ok else None
    return None


def transpose_depth_to_space(model: onnx.ModelProto) -> int:
    """Rewrite, in place, each ``DepthToSpace`` on a 4D tensor as channels-last reshapes around one
    transpose; a CRD-mode one (PyTorch's ``PixelShuffle``) only when a Conv that nothing else reads
    produces its input, whose output channels are then reordered to DCR. Returns how many."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for n in graph.node:
        for name in n.input:
            uses[name] = uses.get(name, 0) + 1
    for o in graph.output:
        uses[o.name] = uses.get(o.name, 0) + 1
    taken = _names_in_use(graph)
    nodes = []
    count = 0
    for node in graph.node:
        if node.op_type != "DepthToSpace":
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        r = int(attrs["blocksize"])
        mode = attrs.get("mode", b"DCR")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if mode == "CRD":
            conv = _conv_feeding(graph, node.input[0], uses)
            if conv is None:
                nodes.append(node)
                continue
            weight = numpy_helper.to_array(inits[conv.input[1]])
            bias = numpy_helper.to_array(inits[conv.input[2]])
            c = weight.shape[0] // (r * r)
            # DCR channel (i*r + j)*C + c holds what CRD channel c*r*r + i*r + j held
            order = np.array([ch * r * r + ij for ij in range(r * r) for ch in range(c)])
            inits[conv.input[1]].CopyFrom(numpy_helper.from_array(weight[order], conv.input[1]))
            inits[conv.input[2]].CopyFrom(numpy_helper.from_array(bias[order], conv.input[2]))
        x, y = node.input[0], node.output[0]

        def name(suffix: str, base: str = node.name or y) -> str:
            return _unique(taken, f"{base}/{suffix}")

        split, first, spatial, factor = name("split_shape"), name("first"), name("spatial"), name("factor")
        last = name("last")
        graph.initializer.extend([
            numpy_helper.from_array(np.array([0, 0, 0, r, -1], np.int64), split),
            numpy_helper.from_array(np.array([0], np.int64), first),
            numpy_helper.from_array(np.array([2, 3], np.int64), spatial),
            numpy_helper.from_array(np.array([r, r], np.int64), factor),
            numpy_helper.from_array(np.array([-1], np.int64), last),
        ])
        nhwc, blocks, moved, shape, n, hw, hw_r, out_shape, out_nhwc = (
            name(s) for s in ("nhwc", "blocks", "moved", "shape", "n", "hw", "hw_r", "out_shape", "out_nhwc"))
        nodes += [
            # (N, r*r*C, H, W) -> (N, H, W, r, r*C): channel (i, j, c) of pixel (h, w)
            helper.make_node("Transpose", [x], [nhwc], perm=[0, 2, 3, 1], name=name("to_nhwc")),
            helper.make_node("Reshape", [nhwc, split], [blocks], name=name("split")),
            # (N, H, r, W, r*C): row i of each block next to row h; the (j, c) run of r*C stays whole
            helper.make_node("Transpose", [blocks], [moved], perm=[0, 1, 3, 2, 4], name=name("move")),
            helper.make_node("Shape", [x], [shape], name=name("shape")),
            helper.make_node("Gather", [shape, first], [n], axis=0, name=name("gather_n")),
            helper.make_node("Gather", [shape, spatial], [hw], axis=0, name=name("gather_hw")),
            helper.make_node("Mul", [hw, factor], [hw_r], name=name("times_r")),
            helper.make_node("Concat", [n, hw_r, last], [out_shape], axis=0, name=name("out_shape")),
            helper.make_node("Reshape", [moved, out_shape], [out_nhwc], name=name("merge")),
            helper.make_node("Transpose", [out_nhwc], [y], perm=[0, 3, 1, 2], name=name("to_nchw")),
        ]
        count += 1
    if count:
        del graph.node[:]
        graph.node.extend(nodes)
    return count


def shape_skips_dequantize(model: onnx.ModelProto) -> int:
    """In a QDQ model, let each ``Shape`` that reads a ``DequantizeLinear``'s output read its
    (quantized) input instead: same shape, and ORT need not dequantize a tensor to measure it."""
    producers = {o: n for n in model.graph.node for o in n.output}
    count = 0
    for node in model.graph.node:
        src = producers.get(node.input[0]) if node.op_type == "Shape" else None
        if src is not None and src.op_type == "DequantizeLinear":
            node.input[0] = src.input[0]
            count += 1
    used = {name for n in model.graph.node for name in n.input} | {o.name for o in model.graph.output}
    dead = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.output[0] not in used]
    for n in dead:
        model.graph.node.remove(n)
    return count


def optimize(model: onnx.ModelProto) -> dict[str, int]:
    """The float-graph rewrites of this module, in place; returns what each changed."""
    return {"prelu": expand_prelu(model), "depth_to_space": transpose_depth_to_space(model)}


def rewrite_file(path: str | Path, rewrite: Callable[[onnx.ModelProto], dict[str, int]] = optimize) -> dict[str, int]:
    """Apply ``rewrite`` (default: :func:`optimize`) to the ONNX file at ``path``; the file is replaced
    (atomically) only when something changed. Returns what each rewrite changed."""
    import onnx

    path = Path(path)
    model = onnx.load(str(path))
    changes = rewrite(model)
    if any(changes.values()):
        save_atomic(model, path)
    return changes


def save_atomic(model: onnx.ModelProto, path: str | Path) -> Path:
    """Write ``model`` to ``path`` through a temporary file in the same folder and a rename, so
    ``path`` is never left half-written; the temporary file is removed if saving fails."""
    import onnx

    path = Path(path)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(staged))
        staged.replace(path)
    finally:
        if staged.exists():
            staged.unlink()
    return path
