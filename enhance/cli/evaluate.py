"""The ``eval`` command: quality metrics of a folder of outputs, against references when given
(a thin layer over :mod:`enhance.metrics.evaluate`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from enhance.cli.process import Device
from enhance.cli.report import error, stderr_console
from enhance.errors import EnhanceError
from enhance.metrics.evaluate import DIGITS, IMAGE_METRICS, EvalOptions, EvalReport, evaluate, fmt

FEATURES_HELP = (
    "Feature extractor for FID, KID, precision/recall, density/coverage, from a local file (nothing is "
    "downloaded): inception:FILE (torch-fidelity's weights-inception-2015-12-05-6726825d.pth: published FID; "
    "or torchvision's inception_v3 state dict as .safetensors), vgg19p:FILE (the pruned VGG-19 e5_base.pth: "
    "FID-VGG19p, not comparable with published FID), random[:SEED] (a test net). Default: no set metrics."
)


def write_text(path: Path, text: str) -> None:
    """Write a report (UTF-8), or raise an EnhanceError naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EnhanceError(f"{path}: cannot write ({exc.strerror or exc})") from None


def summary_table(report: EvalReport) -> Table:
    table = Table(title="enhance eval")
    table.add_column("Metric", style="bold")
    table.add_column("Value", justify="right")
    for label, value in report.summary_rows():
        table.add_row(escape(label), escape(value))
    return table


def features_line(report: EvalReport) -> str | None:
    """Which network made the features of the set metrics, its sha256, and what its FID compares with."""
    if report.sets is None:
        return None
    e = report.sets.extractor
    return f"features: {e.name}, sha256 {e.sha256}: {e.fid_name}, {e.note}"


def image_table(report: EvalReport) -> Table:
    keys = report.image_columns()
    table = Table(title="Per image")
    table.add_column("Image", overflow="fold")
    for key, label, higher in IMAGE_METRICS:
        if key in keys:
            table.add_column(f"{label} {'(up)' if higher else '(down)'}", justify="right")
    for im in report.images:
        table.add_row(escape(im.name), *(fmt(im.value(k), DIGITS[k]) for k, _, _ in IMAGE_METRICS if k in keys))
    return table


def eval_command(
    outputs: Annotated[Path, typer.Argument(help="Folder (or one file) of images to score, e.g. a model's outputs.",
                                            show_default=False)],
    references: Annotated[
        Optional[Path],
        typer.Argument(help="Folder of reference images: paired with the outputs by file name (extension ignored) "
                       "for PSNR/SSIM/MS-SSIM/GMSD; the set metrics compare the two folders either way.",
                       show_default=False),
    ] = None,
    features: Annotated[Optional[str], typer.Option("--features", help=FEATURES_HELP, show_default=False)] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the report as JSON.", dir_okay=False)] = None,
    markdown_path: Annotated[
        Optional[Path], typer.Option("--markdown", help="Also write the report as Markdown.", dir_okay=False)
    ] = None,
    y: Annotated[bool, typer.Option("--y", help="PSNR/SSIM on the Y channel (BT.601), the SR protocol.")] = False,
    shave: Annotated[int, typer.Option("--shave", min=0, help="Pixels cut from each border before paired metrics "
                                       "(the SR protocol shaves the scale).")] = 0,
    suffix: Annotated[str, typer.Option("--suffix", help="Removed from output names before pairing, e.g. _x4.")] = "",
    no_niqe: Annotated[bool, typer.Option("--no-niqe", help="Skip NIQE (about 0.3 s per image).")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Include subfolders.")] = False,
    device: Annotated[Device, typer.Option("--device", case_sensitive=False, help="Where the feature extractor runs.")]
    = Device.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the summary only, not the per-image table.")] = False,
) -> None:
    """Score images: PSNR, SSIM, MS-SSIM, GMSD against references; NIQE of every image; FID, KID,
    precision/recall and density/coverage of the sets with --features."""
    err = stderr_console()
    opts = EvalOptions(y_channel=y, shave=shave, suffix=suffix, niqe=not no_niqe, recursive=recursive)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, transient=True, disable=not err.is_terminal)
    try:
        extractor = None
        if features is not None:
            from enhance.metrics.features import load_extractor

            extractor = load_extractor(features, device.value)
        with progress:
            task = progress.add_task("reading", total=None)

            def tick(done: int, total: int, name: str) -> None:
                progress.update(task, completed=done, total=total, description=escape(name))

            report = evaluate(outputs, references, extractor, opts, tick)
    except EnhanceError as exc:
        error(err, str(exc))
        raise typer.Exit(code=1) from None
    for problem in report.errors:
        error(err, problem)
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)
    if not quiet and report.images and report.image_columns():
        out.print(image_table(report))
    out.print(summary_table(report))
    line = features_line(report)
    if line is not None:
        out.print(f"[bold]{escape(line)}[/]")
    for note in report.notes:
        out.print(f"[dim]note:[/] {escape(note)}")
    try:
        if json_path is not None:
            write_text(json_path, json.dumps(report.as_dict(), indent=2, allow_nan=False) + "\n")
        if markdown_path is not None:
            write_text(markdown_path, report.to_markdown())
    except EnhanceError as exc:
        error(err, str(exc))
        raise typer.Exit(code=1) from None
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``eval`` to ``app``."""
    app.command("eval")(eval_command)
