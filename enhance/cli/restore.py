"""The ``restore`` command: scratches and dust out, noise down, optionally upscaled (old photos)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional, cast

import typer

from enhance.cli.process import (
    Device,
    DeviceOpt,
    Format,
    Inputs,
    Output,
    Overwrite,
    Quiet,
    RayOpt,
    Recursive,
    ReportFile,
    SkipExisting,
    Tile,
    _check_scale,
    _fail,
    batch_engine,
    interruptible,
    run_and_report,
)
from enhance.cli.report import plugin_warnings, stderr_console
from enhance.engine import resolve_device
from enhance.errors import EnhanceError
from enhance.pipeline import BatchOptions, collect_inputs, outputs_in_folder
from enhance.restoration import DetectorKind, RestoreModels, RestoreOptions, run_restore_batch


class Detector(str, Enum):
    learned = "learned"
    lines = "lines"
    both = "both"


def _check_upscale(value: Optional[int]) -> Optional[int]:
    return None if value is None else _check_scale(value)


def restore(
    inputs: Inputs,
    no_detect: Annotated[bool, typer.Option("--no-detect", help="Do not look for scratches and dust.")] = False,
    mask: Annotated[
        Optional[Path],
        typer.Option(
            "--mask", "-m", exists=True,
            help="Extra mask (white = defect), or a folder of masks named like the inputs; joined with the detected one.",
        ),
    ] = None,
    no_inpaint: Annotated[bool, typer.Option("--no-inpaint", help="Do not fill the defects.")] = False,
    no_denoise: Annotated[bool, typer.Option("--no-denoise", help="Do not denoise.")] = False,
    strength: Annotated[
        float, typer.Option("--strength", min=0.0, help="Denoising: below 1 keeps part of the noise, above 1 cleans harder.")
    ] = 1.0,
    sigma: Annotated[
        Optional[float],
        typer.Option("--sigma", min=0.0, max=255.0, help="Denoising: explicit noise level on 0-255 (overrides --strength)."),
    ] = None,
    upscale: Annotated[
        Optional[int], typer.Option("--upscale", "-x", callback=_check_upscale, help="Also upscale x2 or x4.")
    ] = None,
    detector: Annotated[
        Detector,
        typer.Option("--detector", case_sensitive=False,
                     help="How damage is found: the learned detector (cracks, creases, tears, scratches, dust), "
                          "the classical line and dust filters, or both joined."),
    ] = Detector.learned,
    sensitivity: Annotated[
        float,
        typer.Option("--sensitivity", min=0.01, help="Defect detection: higher finds fainter damage, and more false alarms (2 = half the odds the default asks for). Check with --save-mask."),
    ] = 1.0,
    auto_levels: Annotated[
        bool, typer.Option("--auto-levels", help="Also repair fading: stretch the tones to the full range (keeps the print's tint).")
    ] = False,
    save_mask: Annotated[
        bool, typer.Option("--save-mask", help="Also write the defect mask as <output name>_mask.png.")
    ] = False,
    output: Output = None,
    tile: Tile = None,
    device: DeviceOpt = Device.auto,
    suffix: Annotated[Optional[str], typer.Option("--suffix", help="Added to output names.")] = "_restored",
    fmt: Format = None,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    report: ReportFile = None,
    ray: RayOpt = None,
) -> None:
    """Restore old photos: find and fill cracks, creases, tears, scratches and dust (and/or --mask), denoise, optionally upscale."""
    if overwrite and skip_existing:
        raise typer.BadParameter(
            "use either --overwrite or --skip-existing, not both", param_hint="'--overwrite' / '--skip-existing'"
        )
    options = RestoreOptions(
        detect=not no_detect, inpaint=not no_inpaint, denoise=not no_denoise, strength=strength,
        sigma=sigma, upscale=upscale, sensitivity=sensitivity, save_mask=save_mask,
        detector=cast(DetectorKind, detector.value), auto_levels=auto_levels,
    )
    console = stderr_console()
    models = RestoreModels.default(options, device.value, "auto" if tile is None else tile)
    with plugin_warnings(console), interruptible(console):
        try:
            if ray is None:  # with --ray, the devices that count are the actors'
                resolve_device(device.value)
            models.check(options)
        except EnhanceError as exc:
            raise _fail(str(exc)) from None
        items = collect_inputs(inputs, recursive)
        try:
            multiple = outputs_in_folder(inputs, items, output)
        except EnhanceError as exc:
            raise _fail(str(exc)) from None
    with interruptible(console), batch_engine(ray) as engine:
        batch = BatchOptions(
            output=output,
            suffix=suffix or "",
            fmt=fmt.value if fmt else None,
            mask=mask,
            overwrite=overwrite,
            skip_existing=skip_existing,
            multiple=multiple,
            engine=engine,
        )
        run_and_report(console, len(items), quiet, report,
                       lambda callbacks: run_restore_batch(items, models, batch, options, callbacks))


def register(app: typer.Typer) -> None:
    """Add ``restore`` to ``app``."""
    app.command("restore")(restore)
