"""``enhance train {sr,pix2pix} --config FILE.toml [--set key=value ...]``: start or resume a training run."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from enhance.cli.report import error, stderr_console
from enhance.errors import EnhanceError


class Trainer(str, Enum):
    sr = "sr"
    pix2pix = "pix2pix"


def train(
    kind: Annotated[Trainer, typer.Argument(help="sr: SRGAN-style upscaler; pix2pix: denoise/inpaint (WGAN-GP).")],
    config: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", exists=True, dir_okay=False, help="TOML config (see training/configs/)."),
    ] = None,
    overrides: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="Override a top-level key, e.g. --set batch=8 (values parsed as JSON)."),
    ] = None,
) -> None:
    """Train a model (needs the 'train' extra). Resumes from OUT_DIR/last.safetensors when present."""
    from enhance.training.__main__ import parse_overrides, run

    console = stderr_console()
    try:
        result = run(kind.value, str(config) if config else None, parse_overrides(overrides or []))
    except EnhanceError as exc:
        error(console, str(exc))
        raise typer.Exit(1) from None
    console.print(f"finished at step {result['step']}; best: {result['best']}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
