"""Export a model to ONNX and check it against PyTorch.

The exported graph keeps the network contract of :class:`enhance.spec.ModelSpec`: input ``"input"``
``(N, 3 + extra, H, W)`` float32 in [0, 1], output ``"output"`` ``(N, 3, H*scale, W*scale)`` (not
clamped; the Enhancer pads, tiles and clamps for every backend). Batch, height and width are dynamic.
The graph is then rewritten for ONNX Runtime's speed without changing its maths (:mod:`.graph_opt`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from enhance.errors import EnhanceError
from enhance.spec import ModelSpec

from .graph_opt import optimize, save_atomic

DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"


class ExportError(EnhanceError):
    """A model could not be exported to ONNX, or the exported graph failed its checks."""


def extra_channels(spec: ModelSpec) -> int:
    """Condition channels after RGB: 1 for a noise-level map or a mask, else 0."""
    return 0 if spec.condition == "none" else 1


def input_channels(net_or_spec: nn.Module | ModelSpec) -> int:
    """``3 + extra`` for a spec; for a bare network, the input channels of its first convolution."""
    if isinstance(net_or_spec, ModelSpec):
        return 3 + extra_channels(net_or_spec)
    for m in net_or_spec.modules():
        if isinstance(m, nn.Conv2d):
            return int(m.in_channels)
    raise ExportError(f"cannot tell the input channels of {type(net_or_spec).__name__}")


def _net_of(net_or_spec: nn.Module | ModelSpec) -> nn.Module:
    if isinstance(net_or_spec, ModelSpec):
        from enhance.registry import build_model

        return build_model(net_or_spec)
    return net_or_spec


def _size_multiple(net_or_spec: nn.Module | ModelSpec) -> int:
    if isinstance(net_or_spec, ModelSpec):
        return max(1, net_or_spec.size_multiple)
    return int(getattr(net_or_spec, "size_multiple", 1))


def export_onnx(
    net_or_spec: nn.Module | ModelSpec,
    path: str | Path,
    opset: int = DEFAULT_OPSET,
    dynamic: bool = True,
    channels: int | None = None,
    size: int = 64,
) -> Path:
    """Export ``net_or_spec`` (a network, or a spec whose verified weights are loaded) to ``path``.

    ``channels`` overrides the input channels (default: from the spec or the first conv); ``size`` is
    the side of the example input (rounded up to the size multiple). The file is written atomically
    and checked with ``onnx.checker``. Returns ``path``.
    """
    import onnx

    net = _net_of(net_or_spec)
    c = channels or input_channels(net_or_spec)
    m = _size_multiple(net_or_spec)
    side = -(-size // m) * m
    dummy = torch.rand(1, c, side, side, generator=torch.Generator().manual_seed(0))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    axes = {0: "batch", 2: "height", 3: "width"}
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic are expected
            torch.onnx.export(
                net,
                (dummy,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes} if dynamic else None,
                do_constant_folding=True,
                dynamo=False,
            )
        model = onnx.load(str(tmp))
        if any(optimize(model).values()):
            onnx.save(model, str(tmp))
        onnx.checker.check_model(model)
        tmp.replace(path)
    except EnhanceError:
        raise
    except Exception as exc:  # the exporter and checker raise many types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"{path}: ONNX export failed ({first})") from exc
    finally:
        net.train(was_training)
        if tmp.exists():
            tmp.unlink()
    return path


def stamp_metadata(path: str | Path, spec: ModelSpec, **info: str) -> Path:
    """Record in ``path`` (metadata_props) which model it was exported from, so that
    ``enhance upscale --onnx FILE`` can find the model's spec; ``info`` adds more ``key=value``s."""
    import onnx

    from enhance import __version__

    path = Path(path)
    model = onnx.load(str(path))
    props = {"enhance.model": spec.name, "enhance.task": spec.task, "enhance.scale": str(spec.scale),
             "enhance.version": __version__, **{f"enhance.{k}": v for k, v in info.items()}}
    kept = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    return save_atomic(model, path)


# ------------------------------------------------------------------ checking
def astronaut_crop(size: int = 64, top: int = 120, left: int = 180) -> torch.Tensor:
    """A real ``(1, 3, size, size)`` crop of the bundled astronaut photo in [0, 1] (a face region)."""
    from .calib import bundled_photo

    img = bundled_photo("astronaut")[top : top + size, left : left + size]
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]


def add_condition(rgb: torch.Tensor, spec_or_channels: ModelSpec | int, gen: torch.Generator | None = None) -> torch.Tensor:
    """Append the condition channel a model expects: sigma map (25/255) or a random box mask."""
    cond = "none"
    if isinstance(spec_or_channels, ModelSpec):
        cond = spec_or_channels.condition
    elif spec_or_channels > 3:
        cond = "sigma"
    if cond == "none":
        return rgb
    b, _, h, w = rgb.shape
    if cond == "sigma":
        return torch.cat([rgb, torch.full((b, 1, h, w), 25.0 / 255.0)], 1)
    gen = gen or torch.Generator().manual_seed(1)
    mask = torch.zeros(b, 1, h, w)
    y0 = int(torch.randint(0, max(1, h // 2), (1,), generator=gen))
    x0 = int(torch.randint(0, max(1, w // 2), (1,), generator=gen))
    mask[:, :, y0 : y0 + h // 3, x0 : x0 + w // 3] = 1.0
    return torch.cat([rgb * (1 - mask), mask], 1)


def sample_inputs(spec_or_channels: ModelSpec | int, sizes: tuple[int, ...] = (32, 48), seed: int = 0) -> list[torch.Tensor]:
    """Random inputs of several sizes plus a real astronaut crop, with the condition channel."""
    gen = torch.Generator().manual_seed(seed)
    out = [add_condition(torch.rand(1, 3, s, s, generator=gen), spec_or_channels, gen) for s in sizes]
    out.append(add_condition(astronaut_crop(max(sizes)), spec_or_channels, gen))
    return out


def ort_session(onnx_path: str | Path, threads: int | None = None):  # type: ignore[no-untyped-def]
    """A CPU ONNX Runtime session with all graph optimizations."""
    import onnxruntime as ort

    from enhance.onnx_backend import session_options

    opts = session_options()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])


def compare(
    net: nn.Module, onnx_path: str | Path, inputs: list[torch.Tensor] | None = None, *, clamp: bool = False
) -> float:
    """Max absolute difference between PyTorch and ONNX Runtime (CPU) over ``inputs``.

    Default inputs: random tensors of two sizes and a real image crop (see :func:`sample_inputs`),
    all through one session, so the dynamic axes are exercised too. ``clamp`` compares outputs
    clamped to [0, 1], as the Enhancer returns them (the fair check for int8 models, whose
    activation ranges are calibrated on photos, not on uniform noise).
    """
    if inputs is None:
        inputs = sample_inputs(input_channels(net), sizes=(32, 48))
    sess = ort_session(onnx_path)
    net = net.eval()
    worst = 0.0
    with torch.no_grad():
        for x in inputs:
            ref = net(x).numpy()
            got = sess.run([OUTPUT_NAME], {INPUT_NAME: x.numpy().astype(np.float32)})[0]
            if clamp:
                ref, got = np.clip(ref, 0, 1), np.clip(got, 0, 1)
            if got.shape != ref.shape:
                raise ExportError(f"{onnx_path}: output shape {got.shape} differs from PyTorch's {ref.shape}")
            worst = max(worst, float(np.abs(got.astype(np.float32) - ref).max()))
    return worst
