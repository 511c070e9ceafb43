"""The stable Python API. Everything here is re-exported from ``enhance``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from enhance.engine import Enhancer
from enhance.errors import InvalidInputError
from enhance import registry
from enhance.registry import ImageTraits
from enhance.spec import TASKS, ModelSpec, Task


def list_models(task: Task | None = None) -> list[ModelSpec]:
    """Every registered model (built-in and plugins), optionally for one task."""
    if task is not None and task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    return registry.default_registry().list(task)


def get_spec(
    name_or_task: str, scale: int | None = None, variant: str | None = None, traits: ImageTraits | None = None
) -> ModelSpec:
    """Resolve a model name, or the model a task runs on an image with ``traits`` (None: an ordinary
    8-bit photo); see :func:`enhance.registry.resolve`."""
    return registry.resolve(name_or_task, scale, variant, traits)


def spec_by_name(name: str, scale: int | None = None) -> ModelSpec:
    """The model named ``name`` (checked against ``scale`` when given), never a task's pick: the
    models ``denoise`` and ``inpaint`` share their task's name; see :func:`enhance.registry.resolve_model`."""
    return registry.resolve_model(name, scale)


def load(
    name_or_task: str,
    scale: int | None = None,
    *,
    device: str | torch.device = "auto",
    tile: int | str | None = "auto",
    variant: str | None = None,
    backend: str = "torch",
    onnx_path: str | Path | None = None,
    ensemble: int = 1,
) -> Enhancer:
    """An :class:`Enhancer` for a model name or a task ('upscale', 'denoise', 'inpaint').

    A task gives the model its policy picks for an ordinary 8-bit photo (``load("denoise")``: the
    camera-noise model); for a model named like its task use ``Enhancer(spec_by_name("denoise"))``.

    ``backend="onnx"`` runs the network with ONNX Runtime (``onnx_path``, or exported and cached on first use);
    ``backend="onnx-int8"`` runs the cached export quantized to int8 (CPU only; made on first use).
    ``ensemble`` (2, 4 or 8) averages the model over flipped and rotated copies: slower, slightly better.
    """
    spec = get_spec(name_or_task, scale, variant)
    return Enhancer(spec, device=device, tile=tile, backend=backend, onnx_path=onnx_path, ensemble=ensemble)


def _run(
    task: Task,
    image: Any,
    scale: int | None,
    model: str | None,
    device: str,
    backend: str = "torch",
    ensemble: int = 1,
    **kw: Any,
) -> Any:
    from enhance import io
    from enhance.engine import _from_any

    # the image is read before the model is chosen: its format and bit depth decide the upscaler
    if isinstance(image, (str, Path)):
        data, back = io.read_image(image), None
    else:
        data, info, to_caller = _from_any(image)
        back = (to_caller, info)
    spec = spec_by_name(model, scale) if model else get_spec(task, scale, traits=ImageTraits.of(data))
    if spec.task != task:
        raise InvalidInputError(f"model {spec.name!r} is a {spec.task} model, not {task}")
    enh = Enhancer(spec, device=device, backend=backend, ensemble=ensemble)
    if "mask" in kw:
        kw["mask"] = io.read_mask(kw["mask"])
    out = enh.enhance_image(data, **kw)
    return out if back is None else back[0](out, back[1])


def upscale(
    image: Any,
    scale: int = 4,
    *,
    model: str | None = None,
    device: str = "auto",
    backend: str = "torch",
    ensemble: int = 1,
) -> Any:
    """Upscale a numpy array or PIL image (same type back) or a path (an ``enhance.io.ImageData`` back).

    ``ensemble`` (1, 2, 4, 8): average over that many flipped/rotated runs (see :func:`load`)."""
    return _run("upscale", image, scale, model, device, backend, ensemble)


def denoise(
    image: Any,
    *,
    strength: float = 1.0,
    sigma: float | None = None,
    model: str | None = None,
    device: str = "auto",
    backend: str = "torch",
    ensemble: int = 1,
) -> Any:
    """Denoise. ``sigma`` (0-255 scale) sets the noise level; else it is estimated, and ``strength``
    below 1 keeps part of the noise (0.5: half of what 1 removes), above 1 asks for the estimated
    level times ``strength`` (cleans harder on strong noise)."""
    return _run("denoise", image, None, model, device, backend, ensemble, strength=strength, sigma=sigma)


def inpaint(
    image: Any,
    mask: Any,
    *,
    model: str | None = None,
    device: str = "auto",
    backend: str = "torch",
    ensemble: int = 1,
) -> Any:
    """Fill the white (nonzero) area of ``mask`` in ``image``."""
    return _run("inpaint", image, None, model, device, backend, ensemble, mask=mask)


def restore(
    image: Any,
    *,
    mask: Any = None,
    detect: bool = True,
    inpaint: bool = True,
    denoise: bool = True,
    strength: float = 1.0,
    sigma: float | None = None,
    upscale: int | None = None,
    sensitivity: float = 1.0,
    detector: str = "learned",
    auto_levels: bool = False,
    device: str = "auto",
) -> Any:
    """Restore an old photo: fill detected cracks, creases, tears, scratches and dust (and ``mask``),
    denoise, optionally upscale.

    ``detector``: ``"learned"`` (default), ``"lines"`` (the classical filters) or ``"both"``;
    ``auto_levels``: also stretch a faded print's tones.

    ``image``: a numpy array or PIL image (the same type back) or a path (an ``enhance.io.ImageData``
    back). ``mask`` (array, PIL image or path; white = defect) is joined with the detected defects.
    See :func:`enhance.restoration.restore_image` for the steps and for getting the mask back.
    """
    from enhance import io
    from enhance.engine import _from_any
    from enhance.restoration import RestoreModels, RestoreOptions, restore_image

    if mask is not None:
        mask = io.read_mask(mask)
    options = RestoreOptions(
        detect=detect, mask=mask, inpaint=inpaint, denoise=denoise, strength=strength,
        sigma=sigma, upscale=upscale, sensitivity=sensitivity,
        detector=detector,  # type: ignore[arg-type]  # RestoreOptions validates it
        auto_levels=auto_levels,
    )
    models = RestoreModels.default(options, device=device)
    if isinstance(image, (str, Path)):
        return restore_image(io.read_image(image), options, models)[0]
    data, info, back = _from_any(image)
    return back(restore_image(data, options, models)[0], info)
