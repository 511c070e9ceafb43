"""The stable Python API. Everything here is re-exported from ``enhance``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from enhance.engine import Enhancer
from enhance.errors import InvalidInputError
from enhance import registry
from enhance.spec import TASKS, ModelSpec, Task


def list_models(task: Task | None = None) -> list[ModelSpec]:
    """Every registered model (built-in and plugins), optionally for one task."""
    if task is not None and task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    return registry.default_registry().list(task)


def get_spec(name_or_task: str, scale: int | None = None, variant: str | None = None) -> ModelSpec:
    """Resolve a model name, or a task's default model (``variant`` 'gan' or 'fidelity' for upscale)."""
    reg = registry.default_registry()
    if name_or_task in TASKS:
        task: Task = name_or_task  # type: ignore[assignment]
        if task == "upscale":
            return reg.select(task, scale or 4, prefer=variant or "gan")
        return reg.select(task, prefer=variant)
    spec = reg.get(name_or_task)
    if scale is not None and spec.scale != scale:
        raise InvalidInputError(f"model {spec.name!r} upscales x{spec.scale}, not x{scale}")
    return spec


def load(
    name_or_task: str,
    scale: int | None = None,
    *,
    device: str | torch.device = "auto",
    tile: int | str | None = "auto",
    variant: str | None = None,
) -> Enhancer:
    """An :class:`Enhancer` for a model name or a task ('upscale', 'denoise', 'inpaint')."""
    return Enhancer(get_spec(name_or_task, scale, variant), device=device, tile=tile)


def _run(task: Task, image: Any, scale: int | None, model: str | None, device: str, **kw: Any) -> Any:
    enh = load(model or task, scale, device=device)
    if enh.spec.task != task:
        raise InvalidInputError(f"model {enh.spec.name!r} is a {enh.spec.task} model, not {task}")
    if isinstance(image, (str, Path)):
        from enhance import io

        data = io.read_image(image)
        mask = kw.pop("mask", None)
        if isinstance(mask, (str, Path)):
            mask = io.read_image(mask).pixels.max(axis=2)
        elif mask is not None:
            from enhance.engine import _mask_array

            mask = _mask_array(mask)
        return enh.enhance_image(data, mask=mask, **kw)
    return enh(image, **kw)


def upscale(image: Any, scale: int = 4, *, model: str | None = None, device: str = "auto") -> Any:
    """Upscale a numpy array or PIL image (same type back) or a path (an ``enhance.io.ImageData`` back)."""
    return _run("upscale", image, scale, model, device)


def denoise(
    image: Any,
    *,
    strength: float = 1.0,
    sigma: float | None = None,
    model: str | None = None,
    device: str = "auto",
) -> Any:
    """Denoise. ``sigma`` (0-255 scale) sets the noise level; else it is estimated and multiplied by ``strength``."""
    return _run("denoise", image, None, model, device, strength=strength, sigma=sigma)


def inpaint(image: Any, mask: Any, *, model: str | None = None, device: str = "auto") -> Any:
    """Fill the white (nonzero) area of ``mask`` in ``image``."""
    return _run("inpaint", image, None, model, device, mask=mask)
