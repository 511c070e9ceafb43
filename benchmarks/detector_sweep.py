"""Defect-detector sweep: mask precision / recall / F1 and false alarms of one or more detector
files over probability thresholds and flip averaging, on the cases of ``benchmarks/restore.py``.

    python benchmarks/detector_sweep.py [--weights weights/defects.safetensors runs/x/best.safetensors]
                                        [--limit 8] [--thresholds 0.7 0.8 0.9] [--flips 1 2 4]
                                        [--save benchmarks/results/detector_sweep.md]

Detection only (no fill), so it runs in minutes: what ``restore.py --no-restore`` measures for the
shipped decision (threshold 0.8 = ``--sensitivity 1``, the shape rule, 1 px growth), plus the
decisions it could take instead. ``--flips``: the probability averaged over the image as it is and
flipped left-right (2), and upside down too (4), each pass undone before the average: test-time
augmentation, at that many times the detector's cost. Precision / recall are pixel counts pooled
over the set with ``restore.TOLERANCE`` px slack; flagged = share of pixels marked on the same
photos without damage. Seeds, sets and damage are those of ``restore.py``.

``--by-kind`` adds a table per set of aged prints each given one kind of damage only (the same
photos and seeds), at the shipped threshold with and without the shape rule: which damage the
detector misses, and which the shape rule drops. Precision there counts every detection on those
prints, so false alarms elsewhere on the photo lower it too.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt, md_table  # noqa: E402
from restore import TOLERANCE, detection_counts, realistic_cases  # noqa: E402

from enhance.defects import THRESHOLD, DefectDetector, decide  # noqa: E402


#: (upside down, left-right) of each pass; ``--flips k`` averages the first k
VIEWS = ((False, False), (False, True), (True, False), (True, True))


def view_probability(det: DefectDetector, pixels: np.ndarray, vertical: bool, horizontal: bool) -> np.ndarray:
    """The detector's probability map of ``pixels`` flipped as asked, flipped back."""
    x = pixels[::-1] if vertical else pixels
    x = x[:, ::-1] if horizontal else x
    p = det.probability(np.ascontiguousarray(x))
    p = p[:, ::-1] if horizontal else p
    return p[::-1] if vertical else p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--weights", type=Path, nargs="+", default=None,
                   help="detector files (default: the shipped weights/defects.safetensors)")
    p.add_argument("--sets", nargs="+", default=["Kodak24", "CBSD68"])
    p.add_argument("--limit", type=int, default=8, help="first N images of each set")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.7, THRESHOLD, 0.9])
    p.add_argument("--flips", type=int, nargs="+", choices=(1, 2, 4), default=[1, 2, 4])
    p.add_argument("--by-kind", action="store_true",
                   help="also one table per set of aged prints with one kind of damage each")
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    return p.parse_args(argv)


def load(path: Path | None) -> tuple[str, DefectDetector]:
    from enhance import defects
    from enhance.weightstore import sha256_file

    if path is None:
        return "weights/defects.safetensors (shipped)", defects.shipped("cpu")
    return str(path), DefectDetector.from_file(path, sha256_file(path))


def sweep(det: DefectDetector, cases: Sequence, thresholds: Sequence[float], flip_counts: Sequence[int]) -> list[list[str]]:
    """Rows (flips, threshold, P, R, F1, flagged %, the detector's s/MP) for one detector. Each
    flipped pass runs once per image; ``k`` flips average the first ``k`` of them."""
    from enhance.training.detector import prf

    n = max(flip_counts)
    seconds = [0.0] * n

    def passes(img: np.ndarray) -> list[np.ndarray]:
        x, maps = common.to_float(img), []
        for i, view in enumerate(VIEWS[:n]):
            t0 = time.perf_counter()
            maps.append(view_probability(det, x, *view))
            seconds[i] += time.perf_counter() - t0
        return maps

    damaged = [passes(c.damaged) for c in cases]
    undamaged = [passes(c.undamaged) for c in cases]
    mp = 2 * sum(c.damaged.shape[0] * c.damaged.shape[1] for c in cases) / 1e6
    rows = []
    for k in flip_counts:
        dam = [np.mean(m[:k], axis=0) for m in damaged]
        und = [np.mean(m[:k], axis=0) for m in undamaged]
        for th in thresholds:
            counts = sum((detection_counts(decide(p, th), c.true, c.visible) for p, c in zip(dam, cases)), np.zeros(4))
            prec, rec, f1 = prf(tuple(counts))
            flagged = 100 * float(np.mean([decide(p, th).mean() for p in und]))
            rows.append([str(k), fmt(th), fmt(prec), fmt(rec), fmt(f1), fmt(flagged, 3), fmt(sum(seconds[:k]) / mp)])
    return rows


def by_kind(det: DefectDetector, cases_of: Mapping[str, Sequence]) -> list[list[str]]:
    """Rows (kind, shape rule, P, R, F1) at the shipped threshold, one kind of damage per case set."""
    from enhance.training.detector import prf

    rows = []
    for kind, cases in cases_of.items():
        probs = [det.probability(common.to_float(c.damaged)) for c in cases]
        for shape in (True, False):
            counts = sum((detection_counts(decide(p, THRESHOLD, shape), c.true, c.visible)
                          for p, c in zip(probs, cases)), np.zeros(4))
            prec, rec, f1 = prf(tuple(counts))
            rows.append([kind, "on" if shape else "off", fmt(prec), fmt(rec), fmt(f1), str(int(counts[3]))])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rep = common.Report(args.save)
    rep.header("Defect-detector sweep")
    rep(f"Cases: `benchmarks/restore.py` realistic damage, first {args.limit} photos of each set, old (aged) "
        f"and modern. P / R / F1: pixels pooled over the set, {TOLERANCE} px slack; flagged: share of pixels "
        f"marked on the same photos undamaged. Shipped decision: threshold {THRESHOLD}, 1 flip. s/MP: the "
        f"detector's passes only. Load average {common.load_average()} at start.")
    rep()
    detectors = [load(w) for w in (args.weights or [None])]
    for set_name in args.sets:
        files = common.list_images(args.data / "bench" / "denoise" / set_name, args.limit)
        for variant in ("old", "modern"):
            cases = realistic_cases(files, variant == "old")
            rows = [[f"`{name}`", *r] for name, det in detectors for r in sweep(det, cases, args.thresholds, args.flips)]
            rep(f"### {set_name}, {variant} ({len(files)} images)")
            rep()
            rep(md_table(["detector", "flips", "threshold", "precision", "recall", "F1", "flagged %", "s/MP"], rows))
            rep()
        if args.by_kind:
            from enhance.training.damage import EXTRA_KINDS, KINDS

            cases_of = {k: realistic_cases(files, True, [k]) for k in KINDS + EXTRA_KINDS}
            rows = [[f"`{name}`", *r] for name, det in detectors for r in by_kind(det, cases_of)]
            rep(f"### {set_name}, old, one kind of damage per print ({len(files)} images each)")
            rep()
            rep(md_table(["detector", "damage", "shape rule", "precision", "recall", "F1", "damage px"], rows))
            rep()
    rep.save(args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
