"""Old-photo restoration: detect scratches and dust, inpaint them, denoise, optionally upscale.

Each step is switchable (:class:`RestoreOptions`). The models are the shipped ones, picked per image
like the other commands (:class:`enhance.pipeline.ModelPicker`, the registry's selection policy: the
upscaler is the real-world model for 8-bit photos, 'fidelity' for 16-bit and DICOM inputs). Alpha is preserved and grayscale scans stay grayscale::

    options = RestoreOptions(upscale=2)
    restored, mask = restore_image(io.read_image("scan.tif"), options, RestoreModels.default(options))

:func:`run_restore_batch` is the batch form used by ``enhance restore``; it plans outputs and
reports per-file results exactly like :func:`enhance.pipeline.run_batch`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from enhance import io
from enhance.version import __version__
from enhance.engine import Enhancer, ProgressFn
from enhance.errors import InvalidInputError, OutputExistsError, WeightsError
from enhance.io import ImageData, Provenance
from enhance.pipeline import (
    BatchOptions,
    BatchReport,
    Callbacks,
    InputItem,
    ModelPicker,
    Result,
    existing_output,
    make_folder,
    mask_for,
    plan_output,
    read_mask,
    run_batch,
    same_file,
)
from enhance.defects import WEIGHTS_FILE as DEFECTS_FILE
from enhance.defects import DefectDetector, shipped
from enhance.defects import available as defects_available
from enhance.devices import resolve_device
from enhance.ops.levels import auto_levels
from enhance.scratches import detect_defects

Model = Enhancer | ModelPicker
#: how defects are found: the learned detector, the classical line and dust filters, or both joined
DetectorKind = Literal["learned", "lines", "both"]
DETECTORS: tuple[DetectorKind, ...] = ("learned", "lines", "both")


@dataclass(frozen=True, eq=False)
class RestoreOptions:
    """What :func:`restore_image` does.

    Attributes:
        detect: find damage automatically (cracks, creases, tears, scratches, dust).
        detector: ``"learned"`` (:mod:`enhance.defects`, the default), ``"lines"`` (the classical
            line and dust filters of :mod:`enhance.scratches`), or ``"both"`` (their masks joined).
        mask: a user mask (file path or ``(H, W)`` array, nonzero = defect), joined with the detected one.
        inpaint: fill the mask with the inpainting model (nothing to do when the mask is empty).
        denoise: run the denoiser; ``sigma`` (0-255), or the estimated level and ``strength``
            (:class:`enhance.tasks.denoise.Denoise`).
        upscale: None, 2 or 4.
        sensitivity: detection sensitivity (> 1 finds fainter defects, and more false ones).
        auto_levels: stretch a faded print's tones to the full range (after the fill, before
            denoising; :func:`enhance.ops.levels.auto_levels`). Off by default.
        save_mask: write the mask next to the output (batch / CLI only).
    """

    detect: bool = True
    detector: DetectorKind = "learned"
    mask: Path | str | np.ndarray | None = None
    inpaint: bool = True
    denoise: bool = True
    strength: float = 1.0
    sigma: float | None = None
    upscale: int | None = None
    sensitivity: float = 1.0
    auto_levels: bool = False
    save_mask: bool = False

    def __post_init__(self) -> None:
        if self.upscale not in (None, 2, 4):
            raise InvalidInputError(f"upscale must be None, 2 or 4, got {self.upscale!r}")
        if self.strength < 0:
            raise InvalidInputError(f"strength must be >= 0, got {self.strength}")
        if self.sigma is not None and not 0 <= self.sigma <= 255:
            raise InvalidInputError(f"sigma must be in [0, 255], got {self.sigma}")
        if self.sensitivity <= 0:
            raise InvalidInputError(f"sensitivity must be > 0, got {self.sensitivity}")
        if self.detector not in DETECTORS:
            raise InvalidInputError(f"detector must be one of {', '.join(DETECTORS)}; got {self.detector!r}")


@dataclass
class RestoreModels:
    """The model of each step: an :class:`Enhancer`, or a :class:`ModelPicker` (chosen per image).

    ``detector`` is the learned defect detector; None loads the shipped one on ``device`` when
    first needed."""

    inpaint: Model | None = None
    denoise: Model | None = None
    upscale: Model | None = None
    detector: DefectDetector | None = None
    device: str = "auto"

    def defect_detector(self) -> DefectDetector:
        if self.detector is None:
            self.detector = shipped(str(resolve_device(self.device)))
        return self.detector

    @classmethod
    def default(
        cls, options: RestoreOptions, device: str = "auto", tile: int | str | None = "auto"
    ) -> RestoreModels:
        """Pickers of the default models for the steps ``options`` switches on (loaded on first use)."""
        return cls(
            inpaint=ModelPicker("inpaint", device=device, tile=tile) if options.inpaint else None,
            denoise=ModelPicker("denoise", device=device, tile=tile) if options.denoise else None,
            upscale=ModelPicker("upscale", scale=options.upscale, device=device, tile=tile)
            if options.upscale
            else None,
            device=device,
        )

    def check(self, options: RestoreOptions | None = None) -> None:
        """Resolve every picker's model now (unknown names raise here, before any file), and check
        that the defect detector is installed if ``options`` will use it (it loads where it runs:
        on a Ray actor, on that actor's device)."""
        for m in (self.inpaint, self.denoise, self.upscale):
            if isinstance(m, ModelPicker):
                m.check()
        if options is not None and options.detect and options.detector != "lines" and self.detector is None:
            if not defects_available():
                raise WeightsError(f"{DEFECTS_FILE}: the defect detector is not installed (use --detector lines)")


@dataclass
class RestoreInfo:
    """What :func:`restore_image` ran: the model of each step, in order."""

    models: list[str] = field(default_factory=list)


def _enhancer(model: Model | None, step: str, image: ImageData) -> Enhancer:
    if model is None:
        raise InvalidInputError(f"the {step} step is on but no {step} model was given")
    return model if isinstance(model, Enhancer) else model(image)


def _user_mask(mask: Path | str | np.ndarray, image: ImageData) -> np.ndarray:
    arr = read_mask(Path(mask)) if isinstance(mask, (str, Path)) else np.asarray(mask, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr.max(axis=2)
    if arr.shape != (image.height, image.width):
        raise InvalidInputError(
            f"mask size {arr.shape[1]}x{arr.shape[0]} does not match image size {image.width}x{image.height}"
        )
    return arr > 0.5 if arr.dtype != bool else arr


def find_defects(pixels: np.ndarray, options: RestoreOptions, models: RestoreModels) -> np.ndarray:
    """The ``(H, W)`` bool defect mask of ``pixels`` by ``options.detector`` at ``options.sensitivity``."""
    mask = np.zeros(pixels.shape[:2], bool)
    if options.detector in ("learned", "both"):
        mask |= models.defect_detector().detect(pixels, options.sensitivity)
    if options.detector in ("lines", "both"):
        mask |= detect_defects(pixels, options.sensitivity)
    return mask


def restore_image(
    image: ImageData,
    options: RestoreOptions | None = None,
    models: RestoreModels | None = None,
    *,
    progress: ProgressFn | None = None,
    info: RestoreInfo | None = None,
) -> tuple[ImageData, np.ndarray]:
    """Restore one image: detect -> inpaint -> denoise -> upscale, each step as ``options`` says.

    Returns the restored image and the ``(H, W)`` bool defect mask at the *input* size (detected
    defects joined with the user mask; empty when neither is asked for). Metadata and alpha are
    carried; a grayscale image stays grayscale. ``models`` defaults to the shipped models
    (:meth:`RestoreModels.default`, loaded on the first call); pass one :class:`RestoreModels` to
    reuse loaded models across images. ``info`` (optional) receives the models used.
    """
    if image.frame_count > 1:
        raise InvalidInputError(f"restore works on single images; this one has {image.frame_count} frames")
    opts = options or RestoreOptions()
    models = RestoreModels.default(opts) if models is None else models
    mask = find_defects(image.pixels, opts, models) if opts.detect else np.zeros((image.height, image.width), bool)
    if opts.mask is not None:
        mask |= _user_mask(opts.mask, image)
    out = image
    steps: list[str] = []
    if opts.inpaint and mask.any():
        enh = _enhancer(models.inpaint, "inpaint", out)
        out = enh.enhance_image(out, mask=mask.astype(np.float32), progress=progress)
        steps.append(enh.spec.name)
    if opts.auto_levels:
        out = replace(out, pixels=auto_levels(out.pixels, ignore=mask))
        steps.append("auto-levels")
    if opts.denoise:
        enh = _enhancer(models.denoise, "denoise", out)
        out = enh.enhance_image(out, sigma=opts.sigma, strength=opts.strength, progress=progress)
        steps.append(enh.spec.name)
    if opts.upscale:
        enh = _enhancer(models.upscale, "upscale", out)
        if enh.spec.scale != opts.upscale:
            raise InvalidInputError(f"model {enh.spec.name!r} upscales x{enh.spec.scale}, not x{opts.upscale}")
        out = enh.enhance_image(out, progress=progress)
        steps.append(enh.spec.name)
    if opts.detect and opts.detector != "lines":
        steps.insert(0, models.defect_detector().name)
    if info is not None:
        info.models = steps
    if out is image:
        out = replace(image, pixels=image.pixels.copy())
    return out, mask


def mask_path(output: Path) -> Path:
    """Where ``--save-mask`` puts the mask of ``output``: ``<stem>_mask.png`` beside it."""
    return output.with_name(f"{output.stem}_mask.png")


def _mask_image(mask: np.ndarray) -> ImageData:
    return ImageData(pixels=mask.astype(np.float32)[:, :, None], alpha=None, bit_depth=8, format="png")


def restore_file(
    models: RestoreModels,
    item: InputItem,
    out_path: Path,
    options: RestoreOptions,
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    fmt: str | None = None,
    progress: ProgressFn | None = None,
) -> Result:
    """Read ``item``, restore it, write ``out_path`` (and its mask with ``save_mask``) atomically.

    Same contract as :func:`enhance.pipeline.process_file`: existing outputs are skipped,
    replaced or refused; errors propagate (:func:`run_restore_batch` records them).
    """
    start = time.perf_counter()
    existing = existing_output(item, out_path, overwrite=overwrite, skip_existing=skip_existing)
    if existing is not None:
        return existing
    image = io.read_image(item.path)
    info = RestoreInfo()
    restored, mask = restore_image(image, options, models, progress=progress, info=info)
    name = "+".join(info.models) or "none"
    prov = Provenance(model=name, task="restore", software=f"enhance {__version__}")
    make_folder(out_path)
    try:
        io.write_image(out_path, restored, format=fmt, provenance=prov, scale=options.upscale or 1, overwrite=overwrite)
    except OutputExistsError:  # another run wrote it while this one worked: theirs is kept
        if skip_existing:
            return Result("skipped", item.path, out_path, "output exists (written by another run meanwhile)")
        return Result("failed", item.path, out_path, "output written by another run meanwhile; kept (use --overwrite)",
                      seconds=time.perf_counter() - start)
    if options.save_mask:
        io.write_image(mask_path(out_path), _mask_image(mask), provenance=prov)
    return Result("done", item.path, out_path, seconds=time.perf_counter() - start, model=name)


def run_restore_batch(
    items: list[InputItem],
    models: RestoreModels,
    batch: BatchOptions,
    options: RestoreOptions,
    callbacks: Callbacks | None = None,
) -> BatchReport:
    """:func:`enhance.pipeline.run_batch` for restoration: same planning, safety rules and reporting.

    ``batch.mask`` (a file, or a folder of masks named like the inputs) is the user mask of each
    file. With ``save_mask``, an input that is the mask written for another input (an earlier
    run's result found in a folder) is skipped, and a mask that would replace an input makes that
    item fail.
    """
    multiple = len(items) > 1 if batch.multiple is None else batch.multiple
    masks: dict[Path, Path] = {}
    if options.save_mask:
        for it in items:
            if it.error is None:
                out = plan_output(it, batch.output, batch.suffix, batch.fmt, multiple)
                masks[mask_path(out).resolve()] = it.path
    # inputs that are masks written for another input are not processed, nor protected
    inputs = [it.path for it in items if it.error is None and masks.get(it.path.resolve(), it.path) == it.path]

    def process(item: InputItem, out: Path, on_tile: ProgressFn | None) -> Result:
        if options.save_mask:
            owner = masks.get(item.path.resolve())
            if owner is not None and owner != item.path:
                return Result("skipped", item.path, None, f"looks like the mask of {owner}; not processed")
            target = mask_path(out)
            hit = next((p for p in inputs if same_file(target, p)), None)
            if hit is not None:
                reason = f"refused: mask {target} would replace the input file {hit} (inputs are never overwritten)"
                return Result("failed", item.path, out, reason)
        user = mask_for(item, batch.mask)
        opts = replace(options, mask=user) if user is not None else options
        return restore_file(
            models, item, out, opts,
            overwrite=batch.overwrite, skip_existing=batch.skip_existing, fmt=batch.fmt, progress=on_tile,
        )

    return run_batch(items, None, batch, callbacks, process=process)


__all__ = [
    "DETECTORS",
    "DetectorKind",
    "RestoreInfo",
    "RestoreModels",
    "RestoreOptions",
    "find_defects",
    "mask_path",
    "restore_file",
    "restore_image",
    "run_restore_batch",
]
