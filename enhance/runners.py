"""Runners: one network on one device at one precision, for one tile at a time.

A runner only pads the input to the model's size multiple (reflect), runs it, clamps the output to
[0, 1] and crops it back: ``(1, C, h, w)`` float on the CPU in, ``(1, 3, h*s, w*s)`` float32 on the
CPU out. Which runner a model gets (PyTorch or ONNX Runtime, fp16 or fp32) is decided here, by
:func:`make_runners`, not by the code that calls it; tiling (:class:`enhance.tiling.Tiled`) and
self-ensembling (:class:`enhance.ensemble.Ensemble`) wrap a runner.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from enhance.errors import InvalidInputError
from enhance.spec import ModelSpec

#: torch; onnx: ONNX Runtime on the exported graph; onnx-int8: its static int8 quantization (CPU)
BACKENDS = ("torch", "onnx", "onnx-int8")


class Runner(Protocol):
    """Runs one tile: ``(1, C, h, w)`` -> ``(1, 3, h*s, w*s)``, padded, clamped and cropped."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


def pad_run_crop(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, multiple: int, scale: int
) -> torch.Tensor:
    """``fn`` on ``x`` padded (reflect, or replicate where the image is too small to reflect) to
    ``multiple``, clamped to [0, 1] and cropped back to ``x``'s size times ``scale``."""
    _, _, h, w = x.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if (ph < h and pw < w) else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    y = fn(x)
    return y[:, :, : h * scale, : w * scale].float().clamp_(0, 1)


class TorchRunner:
    """A PyTorch network in inference mode on ``device`` in ``dtype`` (float16 or float32)."""

    def __init__(self, net: nn.Module, spec: ModelSpec, device: torch.device, dtype: torch.dtype) -> None:
        self.spec, self.device, self.dtype = spec, device, dtype
        net = net.eval().to(device)
        if device.type == "cpu":  # oneDNN convolutions are faster in NHWC on the CPU (measured)
            net = net.to(memory_format=torch.channels_last)
        self.net = net.to(dtype)
        for p in self.net.parameters():
            p.requires_grad_(False)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, self.dtype)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return pad_run_crop(self._run, x, self.spec.size_multiple, self.spec.scale)


class OnnxRunner:
    """ONNX Runtime on the model's export (or a user's ONNX file); int8 runs on the CPU only."""

    def __init__(self, spec: ModelSpec, device: torch.device, onnx_path: Path | None, int8: bool) -> None:
        from enhance.onnx_backend import OrtRunner

        self.spec = spec
        self.session = OrtRunner(spec, onnx_path, device, int8=int8)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return pad_run_crop(self.session, x, self.spec.size_multiple, self.spec.scale)


class Runners:
    """The runners of one model: ``default`` for ordinary images, and ``precise``, the float32 one
    that images of more than 8 bits get where fp16 was chosen automatically (fp16 keeps about 11
    bits), built from the original weights on first use (thread-safe)."""

    def __init__(self, default: Runner, half: bool, make_fp32: Callable[[], Runner] | None = None) -> None:
        self.default = default
        self.half = half
        self._make_fp32 = make_fp32
        self._fp32: Runner | None = None
        self._lock = threading.Lock()

    @property
    def has_precise(self) -> bool:
        """True when :meth:`get` gives another runner for precise images."""
        return self._make_fp32 is not None

    def get(self, precise: bool = False) -> Runner:
        if not precise or self._make_fp32 is None:
            return self.default
        with self._lock:
            if self._fp32 is None:
                self._fp32 = self._make_fp32()
        return self._fp32


def make_runners(
    spec: ModelSpec,
    device: torch.device,
    *,
    backend: str = "torch",
    half: bool | None = None,
    onnx_path: str | Path | None = None,
    net: nn.Module | None = None,
) -> Runners:
    """The runners for ``spec`` on ``device``. ``half=None`` picks fp16 on CUDA where the spec allows
    it (and keeps a float32 runner for >8-bit images); True / False force it."""
    if backend not in BACKENDS:
        raise InvalidInputError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend != "torch":
        if half:
            raise InvalidInputError("half applies to the torch backend; export an fp16 ONNX file instead")
        path = Path(onnx_path) if onnx_path is not None else None
        return Runners(OnnxRunner(spec, device, path, int8=backend == "onnx-int8"), half=False)
    if net is None:
        from enhance.registry import build_model

        net = build_model(spec)
    use_half = (device.type == "cuda" and spec.fp16) if half is None else bool(half)
    if use_half and device.type != "cuda":
        raise InvalidInputError("fp16 inference is only supported on CUDA")
    if not use_half:
        return Runners(TorchRunner(net, spec, device, torch.float32), half=False)
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()} if half is None else None
    runner = TorchRunner(net, spec, device, torch.float16)
    if state is None:
        return Runners(runner, half=True)

    def make_fp32() -> Runner:
        # chosen automatically: >8-bit images get float32 from the original (not fp16-rounded) weights
        import copy

        fp32 = copy.deepcopy(runner.net).float()
        fp32.load_state_dict(state)
        return TorchRunner(fp32, spec, device, torch.float32)

    return Runners(runner, half=True, make_fp32=make_fp32)
