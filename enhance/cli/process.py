"""The processing commands: ``upscale``, ``denoise`` and ``inpaint``, all through :func:`_run_task`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Optional

import typer
from rich.console import Console

from enhance.cli.report import (
    BatchDisplay,
    error,
    plugin_warnings,
    print_interrupted,
    print_summary,
    stderr_console,
)
from enhance.engine import ENSEMBLE_SIZES, MIN_TILE, Enhancer, resolve_device
from enhance.errors import EnhanceError
from enhance.pipeline import (
    BatchEngine,
    BatchInterrupted,
    BatchOptions,
    BatchReport,
    Callbacks,
    ModelPicker,
    collect_inputs,
    default_suffix,
    outputs_in_folder,
    run_batch,
)
from enhance.spec import Task


class OutputFormat(str, Enum):
    """Output file formats (``--format``)."""

    png = "png"
    jpeg = "jpeg"
    tiff = "tiff"
    webp = "webp"
    bmp = "bmp"
    jp2 = "jp2"
    dicom = "dicom"


class Backend(str, Enum):
    """What runs the network (``--backend``): PyTorch, or ONNX Runtime (exported and cached on first
    use), in float32 or quantized to int8 for CPUs."""

    torch = "torch"
    onnx = "onnx"
    onnx_int8 = "onnx-int8"


class Device(str, Enum):
    """Where to run the model (``--device``)."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def _check_tile(value: Optional[int]) -> Optional[int]:
    if value is not None and value != 0 and value < MIN_TILE:
        raise typer.BadParameter(f"must be 0 (no tiling) or at least {MIN_TILE} pixels")
    return value


def _check_ensemble(value: int) -> int:
    if value not in ENSEMBLE_SIZES:
        raise typer.BadParameter(f"must be one of {', '.join(map(str, ENSEMBLE_SIZES))}")
    return value


def _check_scale(value: int) -> int:
    if value not in (2, 4):
        raise typer.BadParameter("must be 2 or 4")
    return value


# Options shared by every processing command (typer reads them from the signatures).
Inputs = Annotated[
    list[str],
    typer.Argument(help="Image files, folders, or glob patterns such as 'scans/*.tif' (quoted).", show_default=False),
]
Output = Annotated[
    Optional[str],
    typer.Option(
        "--output", "-o",
        help="Output file (one input) or folder (several inputs, an existing folder, or a path ending in '/'; "
        "mirrors the input tree; a file name with several inputs is refused). Default: next to each input.",
    ),
]
Model = Annotated[Optional[str], typer.Option("--model", help="Model name (see 'enhance models'). Default: chosen per task.")]
Tile = Annotated[
    Optional[int],
    typer.Option("--tile", callback=_check_tile, help="Tile size in input pixels; 0 = no tiling. Default: automatic."),
]
DeviceOpt = Annotated[Device, typer.Option("--device", case_sensitive=False, help="Where to run the model.")]
Suffix = Annotated[Optional[str], typer.Option("--suffix", help="Added to output names. Default: _x4, _denoised, _inpainted.")]
Format = Annotated[
    Optional[OutputFormat],
    typer.Option("--format", case_sensitive=False, help="Output format. Default: the input's format."),
]
Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Include subfolders of folder inputs.")]
SkipExisting = Annotated[bool, typer.Option("--skip-existing", help="Leave existing outputs alone (resume a batch).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (never inputs).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only failures.")]
ReportFile = Annotated[
    Optional[Path],
    typer.Option(
        "--report", dir_okay=False,
        help="Also write the per-file results (input, output, status, model, seconds, error) to this JSON file.",
    ),
]
EnsembleOpt = Annotated[
    int,
    typer.Option(
        "--ensemble", callback=_check_ensemble,
        help="Self-ensemble: also run 1, 3 or 7 flipped/rotated copies and average (2, 4 or 8 times slower; "
        "about +0.1 dB when denoising).",
    ),
]
OnnxFile = Annotated[
    Optional[Path],
    typer.Option(
        "--onnx", dir_okay=False,
        help="Run this ONNX file (from 'enhance export', e.g. --int8 or --prune) with ONNX Runtime.",
    ),
]
def _check_ray(value: Optional[str]) -> Optional[str]:
    # an address, not a path: a folder given here by mistake would otherwise be a confusing Ray error
    if value is not None and value not in ("local", "auto") and ":" not in value:
        raise typer.BadParameter("give 'local', 'auto', HOST:PORT or ray://HOST:10001")
    return value


RayOpt = Annotated[
    Optional[str],
    typer.Option(
        "--ray", metavar="ADDRESS", callback=_check_ray,
        help="Run the batch on Ray (pip install 'enhance[ray]'): 'local' starts Ray on this machine; 'auto', "
        "HOST:PORT or ray://HOST:10001 joins a cluster (one actor per GPU, else per CPU; see docs/ray.md).",
    ),
]
BackendOpt = Annotated[
    Backend,
    typer.Option(
        "--backend", case_sensitive=False,
        help="Run the network with PyTorch or ONNX Runtime; onnx-int8: ONNX Runtime on an int8 quantization made "
        "on first use, the fastest on a CPU (speed and quality measured in the README).",
    ),
]


@dataclass(frozen=True)
class Common:
    """The options every processing command takes."""

    output: Optional[str]
    model: Optional[str]
    tile: Optional[int]
    device: Device
    suffix: Optional[str]
    fmt: Optional[OutputFormat]
    recursive: bool
    skip_existing: bool
    overwrite: bool
    quiet: bool
    backend: Backend = Backend.torch
    ensemble: int = 1
    onnx: Optional[Path] = None
    report: Optional[Path] = None
    ray: Optional[str] = None

    @classmethod
    def of(cls, values: dict[str, Any]) -> Common:
        """Pick the common options out of a command's ``locals()``."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})


def _fail(message: str) -> typer.Exit:
    error(stderr_console(), message)
    return typer.Exit(code=1)


#: The exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


@contextmanager
def interruptible(console: Console) -> Iterator[None]:
    """Ctrl-C outside a batch (loading a model, listing inputs): one line and exit status 130."""
    try:
        yield
    except KeyboardInterrupt:
        error(console, "interrupted")
        raise typer.Exit(code=EXIT_INTERRUPTED) from None


def run_and_report(
    console: Console, total: int, quiet: bool, report_file: Path | None, run: Callable[[Callbacks], BatchReport]
) -> None:
    """Run a batch under the progress display, then print the summary, write ``--report`` and exit
    1 if anything failed, or 130 after Ctrl-C (with a short summary of what was done)."""
    with BatchDisplay(console, total, quiet) as display:
        try:
            report = run(display.callbacks)
        except BatchInterrupted as exc:
            report = exc.report
    if report.interrupted:
        print_interrupted(console, report, total)
    else:
        print_summary(console, report, quiet)
    if report_file is not None:
        try:
            write_json_report(report_file, report)
        except EnhanceError as exc:
            raise _fail(str(exc)) from None
    if report.interrupted:
        raise typer.Exit(code=EXIT_INTERRUPTED)
    if not report.ok:
        raise typer.Exit(code=1)


def write_json_report(path: Path, report: BatchReport) -> None:
    """``--report``: the batch's results as JSON, written atomically."""
    from enhance import __version__
    from enhance.io.write import atomic_write

    data = {"software": f"enhance {__version__}", **report.to_dict()}
    text = (json.dumps(data, indent=1) + "\n").encode()

    def write(fh: BinaryIO) -> None:
        fh.write(text)

    atomic_write(path, write)


def _onnx_model(path: Path, model: Optional[str]) -> str:
    """The model an ONNX file was exported from (its metadata), checked against ``--model``."""
    from enhance.errors import InvalidInputError
    from enhance.onnx_backend import onnx_metadata

    recorded = onnx_metadata(path).get("model")
    if recorded is None and model is None:
        raise InvalidInputError(f"{path}: no model recorded in this ONNX file; name it with --model")
    if recorded is not None and model is not None and recorded != model:
        raise InvalidInputError(f"{path}: exported from model {recorded!r}, not {model!r}")
    return model or recorded  # type: ignore[return-value]


@contextmanager
def batch_engine(address: str | None) -> Iterator[BatchEngine | None]:
    """``--ray``: a connected :class:`enhance.ray_batch.RayEngine` (shut down afterwards); None
    without it, so that Ray is never imported for a local batch. Connecting errors are one line."""
    if address is None:
        yield None
        return
    from enhance.ray_batch import RayEngine

    engine = RayEngine(address)
    try:
        engine.connect()
    except EnhanceError as exc:
        raise _fail(str(exc)) from None
    try:
        yield engine
    finally:
        engine.close()


def _run_task(
    task: Task,
    inputs: list[str],
    opts: Common,
    *,
    scale: int = 1,
    mask: Path | None = None,
    strength: float = 1.0,
    sigma: float | None = None,
) -> None:
    """Resolve the model, run the batch with a progress display, print the summary, set the exit code."""
    if opts.overwrite and opts.skip_existing:
        raise typer.BadParameter("use either --overwrite or --skip-existing, not both", param_hint="'--overwrite' / '--skip-existing'")
    console = stderr_console()
    tile: int | str = "auto" if opts.tile is None else opts.tile
    device, backend, ensemble = opts.device.value, opts.backend.value, opts.ensemble
    model, onnx_path = opts.model, opts.onnx
    if onnx_path is not None:
        try:
            model = _onnx_model(onnx_path, model)
        except EnhanceError as exc:
            raise _fail(str(exc)) from None
        backend = "onnx"
    picker = ModelPicker(
        task, scale=scale, model=model, device=device, tile=tile,
        build=lambda spec: Enhancer(spec, device=device, tile=tile, backend=backend, onnx_path=onnx_path,
                                    ensemble=ensemble),
    )
    with plugin_warnings(console), interruptible(console):
        try:
            picker.check()
            if opts.ray is None:  # with --ray, the devices and files that count are the actors'
                resolve_device(opts.device.value)
                if model is not None:
                    picker()  # load now: a broken weight file is one error, not one per input
        except EnhanceError as exc:
            raise _fail(str(exc)) from None
        items = collect_inputs(inputs, opts.recursive)
        try:
            multiple = outputs_in_folder(inputs, items, opts.output)
        except EnhanceError as exc:
            raise _fail(str(exc)) from None
    with interruptible(console), batch_engine(opts.ray) as engine:
        batch = BatchOptions(
            output=opts.output,
            suffix=default_suffix(task, scale) if opts.suffix is None else opts.suffix,
            fmt=opts.fmt.value if opts.fmt else None,
            mask=mask,
            strength=strength,
            sigma=sigma,
            overwrite=opts.overwrite,
            skip_existing=opts.skip_existing,
            multiple=multiple,
            engine=engine,
        )
        run_and_report(console, len(items), opts.quiet, opts.report,
                       lambda callbacks: run_batch(items, picker, batch, callbacks))


def upscale(
    inputs: Inputs,
    scale: Annotated[int, typer.Option("--scale", "-x", callback=_check_scale, help="Upscaling factor: 2 or 4.")] = 4,
    output: Output = None,
    model: Model = None,
    tile: Tile = None,
    device: DeviceOpt = Device.auto,
    suffix: Suffix = None,
    fmt: Format = None,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    backend: BackendOpt = Backend.torch,
    ensemble: EnsembleOpt = 1,
    onnx: OnnxFile = None,
    report: ReportFile = None,
    ray: RayOpt = None,
) -> None:
    """Upscale images x2 or x4 (faithful 'fidelity' model for DICOM and 16-bit inputs, 'gan' otherwise)."""
    _run_task("upscale", inputs, Common.of(locals()), scale=scale)


def denoise(
    inputs: Inputs,
    strength: Annotated[
        float,
        typer.Option(
            "--strength", min=0.0,
            help="Below 1 keeps part of the noise (0.5: half of what 1 removes); above 1 asks for a higher "
                 "noise level (cleans harder on strong noise).",
        ),
    ] = 1.0,
    sigma: Annotated[
        Optional[float],
        typer.Option("--sigma", min=0.0, max=255.0, help="Explicit noise level on 0-255 (overrides --strength)."),
    ] = None,
    output: Output = None,
    model: Model = None,
    tile: Tile = None,
    device: DeviceOpt = Device.auto,
    suffix: Suffix = None,
    fmt: Format = None,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    backend: BackendOpt = Backend.torch,
    ensemble: EnsembleOpt = 1,
    onnx: OnnxFile = None,
    report: ReportFile = None,
    ray: RayOpt = None,
) -> None:
    """Remove noise (camera, JPEG, grain: 'denoise-real'; white Gaussian, 16-bit, DICOM: 'denoise')."""
    _run_task("denoise", inputs, Common.of(locals()), strength=strength, sigma=sigma)


def inpaint(
    inputs: Inputs,
    mask: Annotated[
        Path,
        typer.Option(
            "--mask", "-m", exists=True,
            help="Mask image (white = area to fill), or a folder of masks named like the inputs.",
        ),
    ],
    output: Output = None,
    model: Model = None,
    tile: Tile = None,
    device: DeviceOpt = Device.auto,
    suffix: Suffix = None,
    fmt: Format = None,
    recursive: Recursive = False,
    skip_existing: SkipExisting = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    backend: BackendOpt = Backend.torch,
    ensemble: EnsembleOpt = 1,
    onnx: OnnxFile = None,
    report: ReportFile = None,
    ray: RayOpt = None,
) -> None:
    """Fill the masked areas of images (scratches, strokes, boxes)."""
    _run_task("inpaint", inputs, Common.of(locals()), mask=mask)


def register(app: typer.Typer) -> None:
    """Add ``upscale``, ``denoise`` and ``inpaint`` to ``app``."""
    app.command("upscale")(upscale)
    app.command("denoise")(denoise)
    app.command("inpaint")(inpaint)
