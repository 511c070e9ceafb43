"""Real scanned prints: how much of their traced damage each defect detector finds, and what else it
flags, with the mask ``enhance restore`` would fill (detection only; ``--sheet`` also restores).

    python benchmarks/real_scans.py [--weights weights/defects.safetensors runs/x/best.safetensors]
                                    [--detector learned lines both] [--page benchmarks/out/real_scans]
                                    [--sheet docs/cards/defects/real_scans.jpg]
                                    [--save benchmarks/results/real_scans.md]

The damage is the centre lines traced by hand on the two scratched scans of
``samples/old_photos`` (``benchmarks/annotations/old_photos_scratched.json``: evaluation only, never
trained or tuned on). A point of a traced line counts as found when the mask has a pixel within the
file's ``radius``; *found* is the share of the traced length. *Elsewhere* is the share of the
picture flagged farther than twice that radius from every traced line: false alarms, plus the faint
damage left untraced. On the undamaged scans (``clean``: faded prints of the same test set;
``deoldify_scans``: grainy or faded photographs before 1927, some with a little damage of their
own) the flagged share is the false-alarm rate. On ``deoldify_damaged`` (damaged photographs before
1927, not traced) the flagged share has no right answer: it is there to be read with the page, a
look at damage no synthesis was modelled on. ``--page``: the masks (red) and the traced lines
(green) side by side.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt, md_table  # noqa: E402

ANNOTATIONS = Path(__file__).resolve().parent / "annotations" / "old_photos_scratched.json"
UNDAMAGED = ("clean", "deoldify_scans")
UNTRACED = ("deoldify_damaged",)

Finder = Callable[[np.ndarray], np.ndarray]  # image -> the mask restore would fill
Polyline = list[tuple[float, float]]


@dataclass
class Traced:
    """One annotated scan: its traced damage lines ``{name: [(x, y), ...]}``."""

    path: Path
    lines: dict[str, Polyline]


def load_annotations(path: Path, data: Path) -> tuple[float, list[Traced]]:
    """The match radius (px) and the traced scans of an annotation file (paths under ``samples/old_photos``)."""
    raw = json.loads(path.read_text())
    scans = [Traced(data / "samples" / "old_photos" / name, {k: [(float(x), float(y)) for x, y in pts]
                                                              for k, pts in lines.items()})
             for name, lines in raw["images"].items()]
    return float(raw["radius"]), scans


def sample_line(points: Polyline, shape: tuple[int, int]) -> np.ndarray:
    """``(N, 2)`` integer (row, col) points about 1 px apart along a polyline, clipped to ``shape``."""
    out = []
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        n = max(int(np.ceil(np.hypot(x1 - x0, y1 - y0))), 1)
        t = np.arange(n) / n
        out.append(np.stack([y0 + t * (y1 - y0), x0 + t * (x1 - x0)], axis=1))
    out.append(np.array([[points[-1][1], points[-1][0]]]))
    rc = np.rint(np.concatenate(out)).astype(int)
    rc[:, 0] = rc[:, 0].clip(0, shape[0] - 1)
    rc[:, 1] = rc[:, 1].clip(0, shape[1] - 1)
    return rc


def trace_band(lines: dict[str, Polyline], shape: tuple[int, int], radius: float) -> np.ndarray:
    """Pixels within ``radius`` px of any traced line."""
    from scipy.ndimage import distance_transform_edt

    on = np.zeros(shape, bool)
    for pts in lines.values():
        rc = sample_line(pts, shape)
        on[rc[:, 0], rc[:, 1]] = True
    return distance_transform_edt(~on) <= radius


@dataclass
class ScanScore:
    found: dict[str, float]  # per traced line: share of its length found
    length: dict[str, int]  # per traced line: its length in px
    flagged: float  # share of the picture flagged
    elsewhere: float  # share flagged away from every traced line

    @property
    def found_total(self) -> float:
        total = sum(self.length.values())
        return sum(self.found[k] * self.length[k] for k in self.found) / total if total else 0.0


def score_scan(mask: np.ndarray, scan: Traced, radius: float) -> ScanScore:
    """The traced lines found in ``mask``, and what it flags elsewhere."""
    from scipy.ndimage import distance_transform_edt

    # distance of every pixel to the nearest masked one, once for all lines (inf: an empty mask)
    dist = distance_transform_edt(~mask) if mask.any() else np.full(mask.shape, np.inf)
    found, length = {}, {}
    for name, pts in scan.lines.items():
        rc = sample_line(pts, mask.shape)
        found[name] = float(np.mean(dist[rc[:, 0], rc[:, 1]] <= radius))
        length[name] = len(rc)
    band = trace_band(scan.lines, mask.shape, 2 * radius)
    return ScanScore(found, length, float(mask.mean()), float((mask & ~band).mean()))


def detectors(weights: Sequence[Path] | None, kinds: Sequence[str]) -> dict[str, tuple[str, Path | None]]:
    """``{label: (detector kind, weights)}`` for each ``enhance restore --detector`` kind asked:
    ``learned`` and ``both`` (learned or line filters) once per detector file (None: the shipped
    one, the default), ``lines`` once; the other options are ``enhance restore``'s defaults."""
    out: dict[str, tuple[str, Path | None]] = {}
    files: list[Path | None] = list(weights) if weights else [None]
    for kind in kinds:
        if kind == "lines":
            out["line filters (`--detector lines`)"] = ("lines", None)
            continue
        for w in files:
            name = "`weights/defects.safetensors` (shipped)" if w is None else f"`{w}`"
            out[name if kind == "learned" else f"{name} + line filters (`--detector both`)"] = (kind, w)
    return out


def sheet(path: Path, scans: Sequence[Traced], images: dict[Path, np.ndarray],
          chosen: dict[str, tuple[str, Path | None]], scale: int = 2) -> None:
    """One JPEG for a model card or a note: a row per scratched scan, the input, then for each
    detector its mask (red) and the photo ``enhance restore`` makes with it, ``scale`` x nearest."""
    from PIL import Image
    from restore import ours

    rows = []
    for scan in scans:
        img = images[scan.path]
        cells = [img]
        for kind, w in chosen.values():
            out, mask = ours(kind, weights=w)(img, np.zeros(img.shape[:2], bool))
            cells += [overlay(img, mask if mask is not None else np.zeros(img.shape[:2], bool), None), out]
        gap = np.full((img.shape[0], 4, 3), 255, np.uint8)
        rows.append(np.concatenate([x for c in cells for x in (c, gap)][:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    grid = np.concatenate(rows, axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.Resampling.NEAREST).save(
        path, quality=90)


def overlay(img: np.ndarray, mask: np.ndarray, band: np.ndarray | None) -> np.ndarray:
    """The mask in red, and the traced lines (a 1 px band) in green where the mask misses them."""
    out = img.copy()
    out[mask] = (0.35 * out[mask] + 0.65 * np.array([255, 0, 0])).astype(np.uint8)
    if band is not None:
        out[band & ~mask] = (0, 200, 0)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--weights", type=Path, nargs="+", default=None,
                   help="detector files (default: the shipped weights/defects.safetensors)")
    p.add_argument("--detector", nargs="+", choices=("learned", "lines", "both"), default=["learned"],
                   help="which masks of `enhance restore --detector` to score (default: learned)")
    p.add_argument("--sensitivity", type=float, nargs="+", default=[1.0],
                   help="`enhance restore --sensitivity` values to score (default 1; the sheet is at 1)")
    p.add_argument("--annotations", type=Path, default=ANNOTATIONS)
    p.add_argument("--page", type=Path, default=None, help="write a side-by-side page to this folder")
    p.add_argument("--sheet", type=Path, default=None, metavar="FILE.jpg",
                   help="write one image: each scratched scan, then per detector its mask and its restore")
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    args = p.parse_args(argv)

    radius, scans = load_annotations(args.annotations, args.data)
    from restore import finder  # the mask restore fills, as restore.py builds it

    chosen = detectors(args.weights, args.detector)
    finders = {(label if s == 1 else f"{label}, `--sensitivity {s:g}`"): finder(kind, w, s)
               for label, (kind, w) in chosen.items() for s in args.sensitivity}
    images = {s.path: common.load_rgb(s.path) for s in scans}
    groups = {g: [(q, common.load_rgb(q)) for q in common.list_images(args.data / "samples" / "old_photos" / g)]
                 for g in UNDAMAGED + UNTRACED}

    rep = common.Report(args.save)
    rep.header("Real scanned prints: traced damage found")
    rep(f"Traced lines: `{args.annotations.name}` (match radius {radius:g} px; elsewhere = flagged farther than "
        f"{2 * radius:g} px from every traced line). Masks as `enhance restore` makes them. "
        f"Load average {common.load_average()} at start.")
    rep()
    rows, per_line, undamaged_rows, untraced_rows = [], [], [], []
    page: dict[str, list[tuple[str, np.ndarray]]] = {}  # image -> input, then each detector's mask

    def show(key: str, img: np.ndarray, caption: str, shown: np.ndarray) -> None:
        page.setdefault(key, [("input", img)]).append((caption, shown))

    for label, find in finders.items():
        row = [label]
        for scan in scans:
            mask = find(images[scan.path])
            s = score_scan(mask, scan, radius)
            row += [fmt(100 * s.found_total, 0), fmt(100 * s.elsewhere)]
            per_line += [[label, scan.path.name, name, str(s.length[name]), fmt(100 * s.found[name], 0)]
                         for name in scan.lines]
            show(f"scratched/{scan.path.name}", images[scan.path],
                 f"{html.escape(label)}: found {100 * s.found_total:.0f} %, elsewhere {100 * s.elsewhere:.2f} %",
                 overlay(images[scan.path], mask, trace_band(scan.lines, mask.shape, 0.5)))
        rows.append(row)
        u_row = [label]
        for group, files in groups.items():
            shares = []
            for path, img in files:
                mask = find(img)
                shares.append(float(mask.mean()))
                show(f"{group}/{path.name}", img, f"{html.escape(label)}: {100 * shares[-1]:.2f} % flagged",
                     overlay(img, mask, None))
            u_row += [fmt(100 * float(np.mean(shares)) if shares else None), fmt(100 * max(shares) if shares else None)]
        undamaged_rows.append(u_row[: 1 + 2 * len(UNDAMAGED)])
        untraced_rows.append([label, *u_row[1 + 2 * len(UNDAMAGED):]])
        print(f"done: {label}", flush=True)
    heads = ["detector"]
    for scan in scans:
        heads += [f"{scan.path.name}: found %", f"{scan.path.name}: elsewhere %"]
    rep("### Traced damage on the scratched scans")
    rep()
    rep(md_table(heads, rows))
    rep()
    rep("### Each traced line: share of its length found")
    rep()
    rep(md_table(["detector", "scan", "line", "length px", "found %"], per_line))
    rep()
    rep("### Flagged on undamaged scans (mean and worst image)")
    rep()
    u_heads = ["detector"]
    for group, files in groups.items():
        u_heads += [f"{group} ({len(files)}) mean %", f"{group} {'worst' if group in UNDAMAGED else 'most'} %"]
    rep(md_table(u_heads[: 1 + 2 * len(UNDAMAGED)], undamaged_rows))
    rep()
    rep("### Flagged on damaged scans without traces (no right answer: read with the page)")
    rep()
    rep(md_table(["detector", *u_heads[1 + 2 * len(UNDAMAGED):]], untraced_rows))
    rep()
    if args.page:
        index = common.write_image_page(args.page, "Real scanned prints: masks and traced damage",
                                        html.escape("Red: the mask restore would fill. Green: traced damage the "
                                                    "mask misses."), list(page.items()), width=384)
        rep(f"Page: `{index}` (not committed).")
    if args.sheet:
        sheet(args.sheet, scans, images, chosen)
        rep(f"Sheet: `{args.sheet}` (rows: {', '.join(s.path.name for s in scans)}; columns: the input, then for "
            f"each detector its mask and its restore: {'; '.join(chosen)}).")
    rep.save(args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
