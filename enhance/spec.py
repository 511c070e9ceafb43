"""The typed description of a model: what it does, how to build it, where its weights are."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torch import nn

Task = Literal["upscale", "denoise", "inpaint"]
Condition = Literal["none", "sigma", "mask"]
Prefill = Literal["none", "ns"]
TASKS: tuple[Task, ...] = ("upscale", "denoise", "inpaint")


@dataclass(frozen=True)
class ModelSpec:
    """Everything a caller needs to know about a model, and how to build and load it.

    The network contract: input ``(B, 3 + extra, H, W)`` float32 in [0, 1] (``extra`` is 1 when
    ``condition`` is ``"sigma"`` (noise level map, sigma/255) or ``"mask"`` (1 = hole)),
    output ``(B, 3, H*scale, W*scale)``; H and W must be multiples of ``size_multiple``.

    Inpainting models get the hole zeroed, or, with ``prefill="ns"``, filled by OpenCV's
    Navier-Stokes (:func:`enhance.holes.prefill_ns`). ``thin_model`` names a model that fills the
    thin holes (:func:`enhance.holes.thin_parts`) of an inpainting model's masks in its place.
    """

    name: str
    task: Task
    scale: int
    build: Callable[[], nn.Module]
    weights: Path | None
    sha256: str | None
    licence: str
    training_data: str
    description: str = ""
    variant: str = "default"  # 'fidelity' | 'gan' | 'default'
    condition: Condition = "none"
    prefill: Prefill = "none"
    thin_model: str | None = None
    size_multiple: int = 1
    tile_overlap: int = 16  # in input pixels; the receptive-field radius should fit in a quarter of it
    fp16: bool = True
    metrics: Mapping[str, float] = field(default_factory=dict)
    headline: str | None = None  # the key of ``metrics`` that the README's model table shows
    card: Path | None = None
    source: str = "builtin"  # 'builtin' or the plugin's entry-point name

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"model {self.name!r}: unknown task {self.task!r}")
        if self.scale < 1:
            raise ValueError(f"model {self.name!r}: scale must be >= 1")
        if self.task != "upscale" and self.scale != 1:
            raise ValueError(f"model {self.name!r}: only upscale models may have scale != 1")
        if (self.prefill != "none" or self.thin_model) and self.task != "inpaint":
            raise ValueError(f"model {self.name!r}: prefill and thin_model are for inpainting models")
