"""Terminal output of the CLI: one-line messages, the batch progress bar and the final summary.

Everything goes to stderr (stdout stays free for data such as the ``models`` table). The progress
bar is drawn only on a terminal; in pipes, logs and ``CliRunner`` only the plain lines appear.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from enhance.pipeline import BatchReport, Callbacks, InputItem, Result
from enhance.registry import PluginWarning


def stderr_console() -> Console:
    """A console on the current ``sys.stderr`` (looked up now, so test runners can capture it)."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def error(console: Console, message: str) -> None:
    """One red line, never a traceback."""
    console.print(f"[bold red]error:[/] {escape(message)}")


def warning(console: Console, message: str) -> None:
    """One yellow line."""
    console.print(f"[yellow]warning:[/] {escape(message)}")


@contextmanager
def plugin_warnings(console: Console) -> Iterator[None]:
    """Show each :class:`PluginWarning` raised inside as one yellow line; re-emit other warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, PluginWarning):
                    warning(console, str(w.message))
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def result_line(result: Result) -> str:
    """``done a.png -> a_x4.png (model sr-x4-gan, 0.8 s)`` and its skipped/failed forms (markup)."""
    name = escape(str(result.input))
    if result.status == "done":
        return (
            f"[green]done[/] {name} -> {escape(str(result.output))} "
            f"(model {escape(result.model or '?')}, {result.seconds:.1f} s)"
        )
    if result.status == "skipped":
        return f"[dim]skipped[/] {name}: {escape(result.reason)}"
    return f"[bold red]failed[/] {name}: {escape(result.reason)}"


class BatchDisplay:
    """Progress bar (files done/total, ETA, current file, tiles of big images) and per-file lines.

    Use as a context manager; :attr:`callbacks` feeds it from :func:`enhance.pipeline.run_batch`.
    """

    def __init__(self, console: Console, total: int, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=quiet or not console.is_terminal,
        )
        self._files: TaskID = self.progress.add_task("starting", total=total)
        self._tiles: TaskID = self.progress.add_task("  tiles", total=1, visible=False)

    def __enter__(self) -> BatchDisplay:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    @property
    def callbacks(self) -> Callbacks:
        return Callbacks(on_start=self._start, on_tile=self._tile, on_result=self._result)

    def _start(self, item: InputItem, index: int, total: int) -> None:
        self.progress.update(self._files, description=escape(item.path.name))
        self.progress.update(self._tiles, completed=0, visible=False)

    def _tile(self, done: int, total: int) -> None:
        if total > 1:
            self.progress.update(self._tiles, completed=done, total=total, visible=True)

    def _result(self, result: Result) -> None:
        self.progress.advance(self._files)
        if not self.quiet or result.status == "failed":
            self.progress.console.print(result_line(result))


def print_summary(console: Console, report: BatchReport, quiet: bool = False) -> None:
    """``3 done, 1 skipped, 1 failed (4.2 s)`` and a table of failures with one-line reasons, for
    batches of several files; a single file's own line (``failed PATH: reason``) says it all."""
    counts = report.counts
    if len(report.results) <= 1:
        return
    if not quiet or counts["failed"]:
        colour = "red" if counts["failed"] else "green"
        console.print(
            f"[{colour}]{counts['done']} done, {counts['skipped']} skipped, "
            f"{counts['failed']} failed[/] ({report.seconds:.1f} s)"
        )
    if report.failed:
        table = Table(title="Failed", title_style="bold red", show_lines=False)
        table.add_column("File", overflow="fold")
        table.add_column("Reason", overflow="fold")
        for r in report.failed:
            table.add_row(escape(str(r.input)), escape(r.reason))
        console.print(table)


def print_interrupted(console: Console, report: BatchReport, total: int) -> None:
    """After Ctrl-C: ``interrupted: 3 done, 0 skipped, 1 failed, 6 not processed (4.2 s)``."""
    counts = report.counts
    left = total - len(report.results)
    console.print(
        f"[bold red]interrupted:[/] {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed, "
        f"{left} not processed ({report.seconds:.1f} s)"
    )
