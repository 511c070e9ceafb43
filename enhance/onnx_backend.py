"""ONNX Runtime as an inference backend of the :class:`enhance.engine.Enhancer`.

An :class:`OrtRunner` replaces the torch network in the per-tile function only: padding, tiling,
clamping and image I/O stay in the Enhancer, shared by both backends. Without an explicit ONNX
file, the model is exported on first use into a cache folder (``$ENHANCE_CACHE/onnx`` or
``~/.cache/enhance/onnx``) under a name made of its weights' sha256, the opset and the exporter's
graph revision.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from enhance.errors import EnhanceError, InvalidInputError
from enhance.spec import ModelSpec

OPSET = 17
# bumped when the exporter writes a different (faster) graph for the same weights, so that files
# cached by an older version are exported again (exporters/graph_opt.py); 2, 3: PRelu expanded
# (with Min, then Clip), 4: pixel shuffles channels-last
GRAPH_REVISION = 4


def cache_dir() -> Path:
    """Where exported ONNX files are kept: ``$ENHANCE_CACHE/onnx``, else ``~/.cache/enhance/onnx``."""
    root = os.environ.get("ENHANCE_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "enhance"
    return base / "onnx"


def _model_key(spec: ModelSpec) -> str:
    """The weights' sha256 (verified when the weights load), else a hash of the spec's identity."""
    if spec.sha256:
        return spec.sha256.lower()
    return hashlib.sha256(f"{spec.source}:{spec.name}:{spec.weights}".encode()).hexdigest()


def cached_onnx_path(spec: ModelSpec, opset: int = OPSET, int8: bool = False) -> Path:
    suffix = "-int8" if int8 else ""
    return cache_dir() / f"{_model_key(spec)}-opset{opset}-r{GRAPH_REVISION}{suffix}.onnx"


def ensure_onnx(spec: ModelSpec, opset: int = OPSET, int8: bool = False) -> Path:
    """The cached ONNX file of ``spec``, exported (atomically) if it is not there yet. ``int8``: the
    static int8 (QDQ) quantization of that file, calibrated on the built-in sample photos (a second
    or two on a CPU, done once)."""
    path = cached_onnx_path(spec, opset)
    if not path.is_file():
        from enhance.exporters.onnx_export import export_onnx

        export_onnx(spec, path, opset=opset)  # loads verified weights; writes tmp then renames
    if not int8:
        return path
    quantized = cached_onnx_path(spec, opset, int8=True)
    if not quantized.is_file():
        from enhance.exporters.quantize import quantize_int8

        quantize_int8(path, quantized, spec)  # writes a staged file, then renames
    return quantized


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads share a core's convolution units)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        phys = core = ""
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                phys = value.strip()
            elif key == "core id":
                core = value.strip()
                cores.add((phys, core))
    except OSError:
        pass
    logical = os.cpu_count() or 1
    if cores and len(cores) < logical:  # SMT: one thread per physical core
        return max(1, min(usable, len(cores)))
    return max(1, usable)


def session_options():  # type: ignore[no-untyped-def]
    """All graph optimizations, one intra-op thread per physical core that sleeps when idle, sequential
    execution."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = physical_cores()
    # ORT's threads otherwise spin after each run and slow the torch ops around it (padding, the copy
    # into the output): x4 int8 on a 128 px image went from 7.5 to 10.5 output MP/s (median) without
    # spinning, and no measured model got slower
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # warnings about provider fallbacks are not errors
    return opts


def select_providers(device: torch.device) -> list[str]:
    """CUDA only when torch sees a GPU, the device asks for it and ORT has the provider; else CPU only."""
    import onnxruntime as ort

    if device.type == "cuda" and torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def onnx_metadata(path: str | Path) -> dict[str, str]:
    """The ``enhance.*`` metadata of an ONNX file written by ``enhance export`` (empty for others)."""
    import onnx

    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"{p}: ONNX file not found")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # protobuf decode errors have several types
        raise InvalidInputError(f"{p}: not an ONNX model ({type(exc).__name__})") from exc
    return {q.key[len("enhance."):]: q.value for q in model.metadata_props if q.key.startswith("enhance.")}


class OrtRunner:
    """Callable ``(1, C, h, w)`` float tensor -> ``(1, 3, h*s, w*s)`` float tensor, through ONNX Runtime.

    The input's size must already be a multiple of ``spec.size_multiple`` (the Enhancer pads). The
    output is not clamped (the Enhancer clamps).
    """

    def __init__(
        self, spec: ModelSpec, onnx_path: str | Path | None = None, device: str | torch.device = "cpu", int8: bool = False
    ) -> None:
        import onnxruntime as ort

        from enhance.devices import resolve_device

        self.spec = spec
        self.device = resolve_device(device)
        if int8 and self.device.type != "cpu":
            raise InvalidInputError("int8 ONNX models are for the CPU; on a GPU use the onnx or torch backend")
        if int8 and onnx_path is not None:
            raise InvalidInputError("int8 quantizes the cached export of the model's weights; to run an ONNX file of "
                                    "your own (e.g. from 'enhance export --int8'), use the onnx backend")
        if onnx_path is None:
            path = ensure_onnx(spec, int8=int8)
        else:
            path = Path(onnx_path)
            if not path.is_file():
                raise InvalidInputError(f"{path}: ONNX file not found")
        self.onnx_path = path
        opts = session_options()
        self.providers = select_providers(self.device)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=self.providers)
        except Exception as exc:  # ORT raises its own exception types
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EnhanceError(f"{path}: cannot load ONNX model ({first})") from exc
        inp = self.session.get_inputs()[0]
        want = 3 if spec.condition == "none" else 4
        if len(inp.shape) != 4 or (isinstance(inp.shape[1], int) and inp.shape[1] != want):
            raise InvalidInputError(
                f"{path}: takes input of shape {inp.shape}, but model {spec.name!r} needs (N, {want}, H, W)"
            )
        self.input_name = inp.name
        self.output_name = self.session.get_outputs()[0].name
        # fp16 models exported with keep_io_types take and give float32 too
        self.input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # numpy, not torch, makes the contiguous copy: a torch op here wakes torch's own thread pool,
        # which then competes for the cores with ONNX Runtime's (8 ms instead of 0.2 on a 128 px tile)
        arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy(), dtype=self.input_dtype)
        out: Any = self.session.run([self.output_name], {self.input_name: arr})[0]
        return torch.from_numpy(np.asarray(out, dtype=np.float32))
