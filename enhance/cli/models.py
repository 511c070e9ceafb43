"""The ``models`` command: a table of every installed model (built-in and plugins)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from enhance import api, defects
from enhance.cli.report import error, plugin_warnings, stderr_console, warning
from enhance.errors import EnhanceError
from enhance.registry import ImageTraits, Registry, count_parameters, default_registry
from enhance.spec import TASKS, ModelSpec

TASK_ORDER = list(TASKS)


class TaskName(str, Enum):
    """Tasks to filter on (``--task``)."""

    upscale = "upscale"
    denoise = "denoise"
    inpaint = "inpaint"


def format_count(n: int) -> str:
    """``1234567`` -> ``1.23 M``."""
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M"
    if n >= 1_000:
        return f"{n / 1e3:.1f} k"
    return str(n)


def format_metrics(metrics: Mapping[str, float]) -> str:
    """``{'Set5 x4 PSNR-Y': 31.2}`` -> ``Set5 x4 PSNR-Y 31.2 dB`` (several joined by ``; ``)."""
    parts = []
    for key, value in metrics.items():
        unit = " dB" if "PSNR" in key.upper() else ""
        parts.append(f"{key} {value:g}{unit}")
    return "; ".join(parts)


def _parameters(spec: ModelSpec) -> str:
    try:
        return format_count(count_parameters(spec))
    except Exception:  # noqa: BLE001 - a plugin's builder may fail; the table still shows
        return "?"


def _file_size(spec: ModelSpec) -> str:
    if spec.weights is None:
        return "-"
    try:
        return f"{spec.weights.stat().st_size / 1e6:.2f}"
    except OSError:
        return "missing"


def models_table(specs: list[ModelSpec]) -> Table:
    """The rich table printed by ``enhance models``."""
    table = Table(title="Installed models")
    table.add_column("Name", no_wrap=True, style="bold")
    for name in ("Task", "Scale", "Variant", "Parameters", "Size (MB)"):
        table.add_column(name, no_wrap=True)
    for name in ("Licence", "Training data", "Measured quality", "Source"):
        table.add_column(name, overflow="fold")
    for s in sorted(specs, key=lambda s: (s.task, s.scale, s.name)):
        table.add_row(
            escape(s.name),
            s.task,
            f"x{s.scale}",
            s.variant,
            _parameters(s),
            _file_size(s),
            escape(s.licence),
            escape(s.training_data),
            escape(format_metrics(s.metrics)) or "-",
            escape(s.source),
        )
    return table


def detector_table(info: defects.DetectorInfo) -> Table:
    """The shipped defect detector (not an image-to-image model, so not in the registry's table)."""
    table = Table(title="Defect detector (used by restore)")
    table.add_column("Name", no_wrap=True, style="bold")
    for name in ("Parameters", "Size (MB)"):
        table.add_column(name, no_wrap=True)
    table.add_column("Measured quality", overflow="fold")
    table.add_row(escape(info.name), format_count(info.parameters), f"{info.bytes / 1e6:.2f}",
                  escape(format_metrics(info.metrics)) or "-")
    return table


def default_for(spec: ModelSpec, reg: Registry) -> str:
    """Which images the selection policy gives ``spec`` to by default ('' when none)."""
    uses = []
    kinds: tuple[tuple[str, ImageTraits | None], ...] = (("every image", None),)
    if spec.task == "upscale":
        kinds = (("8-bit photos", ImageTraits()), ("16-bit and DICOM images", ImageTraits("dicom", 16)))
    elif spec.task == "denoise":
        kinds = (("photos with camera noise, grain or JPEG", ImageTraits(noise="correlated")),
                 ("white (Gaussian) noise", ImageTraits(noise="white")), ("16-bit / DICOM images", ImageTraits("dicom", 16)))
    for label, traits in kinds:
        try:
            if reg.select(spec.task, spec.scale, traits).name == spec.name:
                uses.append(label)
        except EnhanceError:
            pass
    return " and ".join(uses)


def headline(spec: ModelSpec) -> str:
    """The spec's headline metric with its value, e.g. ``Set5 x4 PSNR-Y 31.58 dB`` ('-' if unmeasured)."""
    if spec.headline is None or spec.headline not in spec.metrics:
        return "-"
    return format_metrics({spec.headline: spec.metrics[spec.headline]})


def markdown_table(specs: list[ModelSpec], reg: Registry) -> str:
    """The model table of the README, made from the registry and the manifest's measured metrics."""
    lines = ["| model | task | default for | parameters | measured |", "|---|---|---|---:|---|"]
    for s in sorted(specs, key=lambda s: (TASK_ORDER.index(s.task), -s.scale)):  # stable: registry order
        task = f"{s.task} x{s.scale}" if s.task == "upscale" else s.task
        lines.append(f"| `{s.name}` | {task} | {default_for(s, reg) or '-'} | {_parameters(s)} | {headline(s)} |")
    return "\n".join(lines) + "\n"


def models(
    task: Annotated[Optional[TaskName], typer.Option("--task", case_sensitive=False, help="Only this task.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the README's markdown table instead.")] = False,
) -> None:
    """List the installed models: size, licence, training data and measured quality."""
    err = stderr_console()
    with plugin_warnings(err):
        try:
            specs = api.list_models(task.value if task else None)
        except EnhanceError as exc:
            error(err, str(exc))
            raise typer.Exit(code=1) from None
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=200)
    if not specs:
        what = f" for {task.value}" if task else ""
        out.print(
            f"No models installed{what}. The trained weights are not in this installation yet; "
            "plugins can add models through the 'enhance.models' entry point."
        )
        return
    if markdown:
        typer.echo(markdown_table(specs, default_registry()), nl=False)
        return
    out.print(models_table(specs))
    try:
        info = defects.shipped_info() if task is None else None
    except EnhanceError as exc:  # the models above are fine; say what is wrong with the detector
        warning(err, str(exc))
        return
    if info is not None:
        out.print(detector_table(info))


def register(app: typer.Typer) -> None:
    """Add ``models`` to ``app``."""
    app.command("models")(models)
