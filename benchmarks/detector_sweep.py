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
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt, md_table  # noqa: E402
from restore import TOLERANCE, detection_counts, realistic_cases  # noqa: E402

from enhance.defects import GROW, THRESHOLD, DefectDetector, damage_shaped, grow  # noqa: E402


def flip_probability(det: DefectDetector, pixels: np.ndarray, flips: int) -> np.ndarray:
    """The detector's probability map averaged over ``flips`` (1, 2 or 4) flipped copies of ``pixels``."""
    views = [(False, False), (False, True), (True, False), (True, True)][:flips]
    acc = np.zeros(pixels.shape[:2], np.float32)
    for vertical, horizontal in views:
        x = pixels[::-1] if vertical else pixels
        x = x[:, ::-1] if horizontal else x
        p = det.probability(np.ascontiguousarray(x))
        p = p[:, ::-1] if horizontal else p
        acc += p[::-1] if vertical else p
    return acc / len(views)


def decide(prob: np.ndarray, threshold: float) -> np.ndarray:
    """The mask :meth:`DefectDetector.detect` makes of ``prob`` at ``threshold``."""
    return grow(damage_shaped(prob > threshold), GROW)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--weights", type=Path, nargs="+", default=None,
                   help="detector files (default: the shipped weights/defects.safetensors)")
    p.add_argument("--sets", nargs="+", default=["Kodak24", "CBSD68"])
    p.add_argument("--limit", type=int, default=8, help="first N images of each set")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.7, THRESHOLD, 0.9])
    p.add_argument("--flips", type=int, nargs="+", choices=(1, 2, 4), default=[1, 2, 4])
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    return p.parse_args(argv)


def load(path: Path | None) -> tuple[str, DefectDetector]:
    from enhance import defects
    from enhance.weightstore import sha256_file

    if path is None:
        return "weights/defects.safetensors (shipped)", defects.shipped("cpu")
    return str(path), DefectDetector.from_file(path, sha256_file(path))


def sweep(det: DefectDetector, cases: Sequence, thresholds: Sequence[float], flips: int) -> tuple[list[list[str]], float]:
    """Rows (threshold, P, R, F1, flagged %) for one detector at ``flips``, and the detector's s/MP."""
    from enhance.training.detector import prf

    t0 = time.perf_counter()
    damaged = [flip_probability(det, common.to_float(c.damaged), flips) for c in cases]
    undamaged = [flip_probability(det, common.to_float(c.undamaged), flips) for c in cases]
    seconds = time.perf_counter() - t0
    mp = 2 * sum(c.damaged.shape[0] * c.damaged.shape[1] for c in cases) / 1e6
    rows = []
    for th in thresholds:
        counts = sum((detection_counts(decide(p, th), c.true, c.visible) for p, c in zip(damaged, cases)), np.zeros(4))
        prec, rec, f1 = prf(tuple(counts))
        flagged = 100 * float(np.mean([decide(p, th).mean() for p in undamaged]))
        rows.append([fmt(th), fmt(prec), fmt(rec), fmt(f1), fmt(flagged, 3)])
    return rows, seconds / mp


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
            rows = []
            for name, det in detectors:
                for flips in args.flips:
                    part, spm = sweep(det, cases, args.thresholds, flips)
                    rows += [[f"`{name}`", str(flips), *r, fmt(spm)] for r in part]
            rep(f"### {set_name}, {variant} ({len(files)} images)")
            rep()
            rep(md_table(["detector", "flips", "threshold", "precision", "recall", "F1", "flagged %", "s/MP"], rows))
            rep()
    rep.save(args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
