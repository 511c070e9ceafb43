"""The ``rate`` command: a blind A/B rating page from folders of images, or the analysis of its votes
(a thin layer over :mod:`enhance.rating`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from enhance.cli.evaluate import write_text
from enhance.cli.report import error, stderr_console
from enhance.errors import EnhanceError

if TYPE_CHECKING:
    from enhance.rating.votes import Analysis


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def analysis_tables(result: Analysis) -> list[Table]:
    """The win-rate table per method and the one per pair, as ``--analyze`` prints them."""
    methods = Table(title=f"Win rates ({result.n_votes} votes)")
    for name, justify in (("Method", "left"), ("Wins", "right"), ("Win rate", "right"), ("95 % interval", "right"),
                          ("Bradley-Terry", "right")):
        methods.add_column(name, justify=justify)  # type: ignore[arg-type]
    for m in result.methods:
        methods.add_row(escape(m.name), f"{m.wins} / {m.comparisons}", _pct(m.win_rate),
                        f"{_pct(m.interval[0])} - {_pct(m.interval[1])}", f"{m.strength:.3f}")
    pairs = Table(title="Pairs (A beat B)")
    for name, justify in (("A", "left"), ("B", "left"), ("A wins", "right"), ("Rate", "right"),
                          ("95 % interval", "right"), ("BT P(A > B)", "right")):
        pairs.add_column(name, justify=justify)  # type: ignore[arg-type]
    for p in result.pairs:
        pairs.add_row(escape(p.a), escape(p.b), f"{p.a_wins} / {p.comparisons}", _pct(p.rate),
                      f"{_pct(p.interval[0])} - {_pct(p.interval[1])}", _pct(p.predicted))
    return [methods, pairs]


def rate(
    inputs: Annotated[list[Path], typer.Argument(
        help="Two or more folders of images to compare (matched by file name), or with --analyze the votes "
        "files the page saved.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", dir_okay=False, help="The HTML page to write.")]
    = Path("rate.html"),
    crop: Annotated[int, typer.Option("--crop", min=16, help="Side of the square crops in pixels.")] = 256,
    crops: Annotated[int, typer.Option("--crops", min=1, help="Crops per image (each at a random place).")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the crop places, the order and the sides.")] = 0,
    max_trials: Annotated[Optional[int], typer.Option("--max-trials", min=1, help="Keep this many comparisons "
                                                     "(a random subset).")] = None,
    title: Annotated[str, typer.Option("--title", help="Title of the page.")] = "Which image looks better?",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Include subfolders.")] = False,
    analyze: Annotated[bool, typer.Option("--analyze", help="Read votes files and print win rates with 95 % "
                                          "intervals and Bradley-Terry strengths.")] = False,
    json_path: Annotated[Optional[Path], typer.Option("--json", dir_okay=False, help="With --analyze: also "
                                                      "write the analysis as JSON.")] = None,
) -> None:
    """Make a blind two-alternative forced-choice page (crops, random order and sides, zoom, keyboard
    shortcuts, no network) that saves the choices as JSON; --analyze turns saved choices into win rates."""
    err = stderr_console()
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=140)
    try:
        if analyze:
            from enhance.rating.votes import analyze as analyze_votes
            from enhance.rating.votes import read_votes

            votes, methods = read_votes(inputs)
            result = analyze_votes(votes, methods)
            for table in analysis_tables(result):
                out.print(table)
            for note in result.notes:
                out.print(f"[dim]note:[/] {escape(note)}")
            if json_path is not None:
                write_text(json_path, json.dumps(result.as_dict(), indent=2) + "\n")
            return
        from enhance.rating.page import RateOptions, build_page

        page = build_page(inputs, RateOptions(crop=crop, crops_per_image=crops, seed=seed, max_trials=max_trials,
                                              title=title, recursive=recursive))
        for problem in page.errors:
            error(err, problem)
        write_text(output, page.html)
    except EnhanceError as exc:
        error(err, str(exc))
        raise typer.Exit(code=1) from None
    size = output.stat().st_size / 1e6
    out.print(f"wrote {escape(str(output))}: {page.n_trials} comparisons of {len(page.images)} images "
              f"({', '.join(escape(m) for m in page.methods)}), {size:.1f} MB, page {page.page_id}")
    for note in page.notes:
        out.print(f"[dim]note:[/] {escape(note)}")
    if page.errors:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``rate`` to ``app``."""
    app.command("rate")(rate)
