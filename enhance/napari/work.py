"""What the napari widget runs, without Qt: a layer's array in, the enhanced array and its geometry out.

A layer's data is a 2-D image ``(H, W)``, an RGB(A) image ``(H, W, 3|4)``, or a stack of them
(``(Z, H, W)``, ``(T, Z, H, W, 3)``...): every 2-D plane is enhanced in turn with the library's
public API (:func:`enhance.get_spec`, :class:`enhance.Enhancer`, :func:`enhance.io.from_array`;
:func:`enhance.restoration.restore_image` for old photos), so the widget gives what ``enhance`` gives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from enhance import io
from enhance.api import get_spec, spec_by_name
from enhance.engine import Enhancer
from enhance.errors import EnhanceError, InvalidInputError
from enhance.registry import ImageTraits
from enhance.restoration import RestoreInfo, RestoreModels, RestoreOptions, restore_image

WidgetTask = Literal["upscale", "denoise", "inpaint", "restore"]
TASKS: tuple[WidgetTask, ...] = ("upscale", "denoise", "inpaint", "restore")

#: ``(done, total)`` in units of tiles across every plane.
Progress = Callable[[int, int], None]


class Cancelled(EnhanceError):
    """The user pressed Cancel; nothing was added."""


@dataclass(frozen=True)
class Settings:
    """The widget's choices. ``model`` None: the registry picks by the image (as the CLI does);
    ``scale``: the upscaling factor (restore: 0 = no upscaling); ``sigma`` None: estimated (``strength`` as in the CLI);
    ``tile`` "auto" (from free memory), or input pixels per tile; ``detect``: restore looks for
    scratches and dust itself (the mask layer, if any, is joined with what it finds)."""

    task: WidgetTask
    model: str | None = None
    scale: int = 2
    strength: float = 1.0
    sigma: float | None = None
    tile: int | str = "auto"
    device: str = "auto"
    detect: bool = True


@dataclass
class Outcome:
    """The enhanced data and what the new layer needs to overlay the original."""

    data: np.ndarray
    factor: int  # spatial upscaling factor (1 unless upscaling)
    models: list[str] = field(default_factory=list)


def factor_of(settings: Settings) -> int:
    """How much the output is larger than the input, per spatial axis."""
    if settings.task == "upscale":
        return settings.scale
    return settings.scale if settings.task == "restore" and settings.scale else 1


def planes(data: np.ndarray, rgb: bool) -> tuple[tuple[int, ...], np.ndarray]:
    """``(leading shape, planes)``: the stack axes before the image, and the ``(N, H, W[, C])`` planes."""
    image_dims = 3 if rgb else 2
    if data.ndim < image_dims:
        raise InvalidInputError(f"a layer of shape {data.shape} is not an image")
    lead = tuple(data.shape[: data.ndim - image_dims])
    return lead, data.reshape((-1, *data.shape[data.ndim - image_dims :]))


def to_unit(plane: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """A plane the library takes (uint8, uint16, or float in [0, 1]) and the map back to the
    layer's dtype and range; int16 CT (HU), int32 or float data outside [0, 1] are scaled by the
    plane's range and put back in it, so measurements keep their units."""
    if plane.dtype in (np.uint8, np.uint16) or (plane.dtype in (np.float32, np.float64) and plane.min() >= 0
                                                 and plane.max() <= 1):
        return plane, lambda out: out
    low, high = float(plane.min()), float(plane.max())
    span = high - low or 1.0
    unit = ((plane.astype(np.float64) - low) / span).astype(np.float32)
    dtype = plane.dtype

    def back(out: np.ndarray) -> np.ndarray:
        values = out.astype(np.float64) * span + low
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            return np.clip(np.rint(values), info.min, info.max).astype(dtype)
        return values.astype(dtype)

    return unit, back


def mask_planes(mask: np.ndarray | None, lead: tuple[int, ...], hw: tuple[int, int]) -> list[np.ndarray | None]:
    """The mask of each plane: a ``(H, W)`` mask serves every plane, a stack gives one each."""
    count = int(np.prod(lead)) if lead else 1
    if mask is None:
        return [None] * count
    mask = np.asarray(mask) != 0
    if mask.shape[-2:] != hw:
        raise InvalidInputError(f"the mask is {mask.shape[-1]}x{mask.shape[-2]}, the image {hw[1]}x{hw[0]}")
    if mask.ndim == 2:
        return [mask.astype(np.float32)] * count
    if mask.shape[:-2] != lead:
        raise InvalidInputError(f"the mask's stack shape {mask.shape[:-2]} is not the image's {lead}")
    return [m.astype(np.float32) for m in mask.reshape((-1, *hw))]


def enhance_layer(
    data: np.ndarray,
    settings: Settings,
    *,
    rgb: bool = False,
    mask: np.ndarray | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Outcome:
    """Enhance every plane of a layer's ``data`` as ``settings`` say; raises :class:`Cancelled`
    soon after ``cancel`` is set (between tiles), and :class:`enhance.EnhanceError` for bad input."""
    data = np.asarray(data)
    lead, stack = planes(data, rgb)
    hw = (int(stack.shape[1]), int(stack.shape[2]))
    masks = mask_planes(mask, lead, hw)
    if settings.task == "inpaint" and all(m is None or not m.any() for m in masks):
        raise InvalidInputError("inpainting needs a mask layer (Labels or Shapes) that marks something")
    run = _planner(settings)
    outs: list[np.ndarray] = []
    models: list[str] = []
    for k, (plane, plane_mask) in enumerate(zip(stack, masks)):
        def tile_progress(done: int, total: int, k: int = k) -> None:
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled")
            if progress is not None:
                progress(k * total + done, len(stack) * total)

        tile_progress(0, 1)
        unit, back = to_unit(plane)
        out, used = run(unit, plane_mask, tile_progress)
        outs.append(back(out))
        models.extend(m for m in used if m not in models)
    if progress is not None:
        progress(1, 1)
    result = np.stack(outs).reshape((*lead, *outs[0].shape))
    return Outcome(result, factor_of(settings), models)


PlaneFn = Callable[[np.ndarray, "np.ndarray | None", Progress], tuple[np.ndarray, Sequence[str]]]


def _planner(settings: Settings) -> PlaneFn:
    """The function that enhances one plane, with its models loaded once for the whole stack."""
    if settings.task == "restore":
        return _restorer(settings)
    loaded: dict[str, Enhancer] = {}

    def run(plane: np.ndarray, mask: np.ndarray | None, progress: Progress) -> tuple[np.ndarray, Sequence[str]]:
        image, info = io.from_array(plane)
        scale = settings.scale if settings.task == "upscale" else None
        spec = (spec_by_name(settings.model, scale) if settings.model
                else get_spec(settings.task, scale, traits=ImageTraits.of(image)))
        if spec.task != settings.task:
            raise InvalidInputError(f"model {spec.name!r} is a {spec.task} model, not {settings.task}")
        enh = loaded.get(spec.name)
        if enh is None:
            enh = loaded[spec.name] = Enhancer(spec, device=settings.device, tile=settings.tile)
        out = enh.enhance_image(image, mask=mask, sigma=settings.sigma, strength=settings.strength, progress=progress)
        return io.to_array(out, info), [enh.label]

    return run


def _restorer(settings: Settings) -> PlaneFn:
    options = RestoreOptions(detect=settings.detect, strength=settings.strength, sigma=settings.sigma,
                             upscale=settings.scale or None)
    models = RestoreModels.default(options, device=settings.device, tile=settings.tile)

    def run(plane: np.ndarray, mask: np.ndarray | None, progress: Progress) -> tuple[np.ndarray, Sequence[str]]:
        image, info = io.from_array(plane)
        opts = replace(options, mask=mask) if mask is not None else options
        steps = RestoreInfo()
        out, _ = restore_image(image, opts, models, progress=progress, info=steps)
        return io.to_array(out, info), steps.models

    return run


def geometry(scale: Sequence[float], translate: Sequence[float], factor: int) -> tuple[list[float], list[float]]:
    """The new layer's ``scale`` and ``translate`` so that an upscaled image covers the original.

    ``scale`` / ``translate`` are the original layer's, one per data axis (napari keeps the RGB
    axis out of them); the last two are the spatial ones. A pixel is centred on its coordinate,
    so the first pixel's outer edge, ``translate - scale / 2``, must stay where it was:
    ``translate' = translate - scale / 2 * (1 - 1 / factor)``.
    """
    new_scale, new_translate = list(map(float, scale)), list(map(float, translate))
    for axis in (-2, -1):
        s = new_scale[axis]
        new_scale[axis] = s / factor
        new_translate[axis] -= s / 2 * (1 - 1 / factor)
    return new_scale, new_translate


__all__ = ["TASKS", "Cancelled", "Outcome", "Settings", "enhance_layer", "factor_of", "geometry", "planes", "to_unit"]
