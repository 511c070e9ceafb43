"""The ``enhance`` command line: a thin layer over :mod:`enhance.pipeline` and :mod:`enhance.api`.

Adding a command: write a module ``enhance/cli/<name>.py`` with a ``register(app: typer.Typer)``
function that declares its commands on ``app`` (``app.command("name")(function)``), and add the
module's name to :data:`COMMAND_MODULES` below. Commands print through :mod:`enhance.cli.report`
(one-line red errors, yellow warnings, no tracebacks) and exit with ``typer.Exit(code=1)`` when
something failed; usage errors (``typer.BadParameter``) exit with 2.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from enhance import __version__

#: Modules under ``enhance.cli`` whose ``register(app)`` adds commands, in help order.
COMMAND_MODULES: tuple[str, ...] = ("process", "models", "train", "export", "restore", "evaluate", "rate")

app = typer.Typer(
    name="enhance",
    help="Upscale, denoise and inpaint images with models trained by the enhance authors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"enhance {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Upscale, denoise and inpaint images with models trained by the enhance authors."""


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"enhance.cli.{name}").register(app)


_register_all()


def main() -> None:
    """Entry point of the ``enhance`` console script."""
    app()


__all__ = ["app", "main", "COMMAND_MODULES"]
