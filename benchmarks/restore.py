"""Old-photo restore benchmark: does ``enhance restore`` find the damage of an old print and
repair it, and does it leave undamaged photos alone?

    python benchmarks/restore.py [--data ../shared/data] [--sets Kodak24 CBSD68] [--limit N]
                                 [--damage realistic|scratches] [--detector-weights FILE]
                                 [--page out/restore_page] [--save results/restore.md]

There is no public set of scanned prints with their undamaged originals, so the damage is
synthetic and seeded, on the clean photos of ``bench/denoise/<set>/``:

* ``--damage realistic`` (default): :func:`enhance.training.damage.benchmark_sample`, the same
  synthesis the detector is trained on (crack networks, craquelure, creases, wide cracks, emulsion
  loss, scratches, dust, hairs, torn corners; widths 1-20 px), each photo twice: as it is
  ("modern") and first aged into an old print ("old": monochrome / sepia / tinted, faded, grain,
  stains, ...). Image ``i`` of variant ``v`` uses seed ``SEED + 1000 v + i``. The reference is the
  print before damage and scan; the false-alarm rate is measured on the same print scanned
  without the damage.
* ``--damage scratches``: the older protocol (:func:`age_print`: thin scratches and dust only),
  kept to compare with earlier results.

Methods, all on the CPU at the shipped models' defaults: the damaged input; ``enhance restore``
with each detector (``--detector lines``, the classical filters; ``learned``, the default;
``both``); restore with the true mask (what detection costs); and a classical chain (line filters
-> OpenCV Navier-Stokes -> OpenCV NLM).

Reported: RGB PSNR / SSIM against the reference, PSNR over the defect pixels, the mask's pixel
precision / recall / F1 (a detected pixel is right within 2 px of a true defect pixel, a true one
found within 2 px of a detected one), s/MP, and the share of pixels flagged on the undamaged scans.
``--page`` writes a side-by-side page of the real prints in ``samples/old_photos`` (input, each
detector's mask and restore), which are never used to train or tune.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt, md_table  # noqa: E402
from denoise import nlm_once  # noqa: E402

from enhance import io, metrics  # noqa: E402

SEED = 4000
TOLERANCE = 2  # px, for the detector's precision and recall
#: widest scratch drawn (px, before its soft edge): hairline scratches on a print scanned at this
#: resolution; the detector looks for defects up to 3 px wide (plus their rim) on images this size
MAX_WIDTH = 2
VISIBLE = 0.1  # mean absolute change (0-1) that makes a defect pixel visible
#: (damaged uint8 RGB, true defect mask) -> (restored uint8 RGB, defect mask used or None); only the
#: oracle row looks at the true mask
RestoreFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]


# ------------------------------------------------------------------------------------------- damage
def age_print(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scratches, dust, grain and noise on a uint8 RGB photo: (damaged uint8 RGB, true defect mask,
    the visible part of that mask), masks bool.

    Every scratch or speck is one connected component of ``masks.scratches``; it gets one tone
    (white 0.82-1.0 or dark 0-0.18) blended in with an edge softened by a 0.6 px Gaussian, so its
    core replaces the photo and its rim mixes with it. The true mask is where the blend weight
    exceeds 0.1, its visible part where the marks changed the photo by ``VISIBLE`` or more (a white
    scratch across white sky is a defect, but there is nothing to find or repair). Then grain
    (monochrome, correlated over ~1 px, std 0.015-0.035, strongest in the mid-tones) and colour
    noise (sigma 3-8 on 0-255).
    """
    from enhance.training.masks import scratches

    h, w = clean.shape[:2]
    img = clean.astype(np.float32) / 255.0
    marks = scratches(rng, h, w, max_width=MAX_WIDTH, max_radius=2)
    n, labels = cv2.connectedComponents(marks, connectivity=8)
    tone = np.zeros((h, w), np.float32)
    for k in range(1, n):
        white = rng.uniform() < 0.7
        tone[labels == k] = rng.uniform(0.82, 1.0) if white else rng.uniform(0.0, 0.18)
    weight = cv2.GaussianBlur(marks.astype(np.float32), (0, 0), 0.6)
    alpha = np.clip(weight * 1.6, 0.0, 1.0)
    # the rim takes the tone of the marks next to it (normalised convolution)
    tone = cv2.GaussianBlur(tone * marks, (0, 0), 0.6) / np.maximum(weight, 1e-6)
    out = img * (1 - alpha[..., None]) + tone[..., None] * alpha[..., None]
    visible = np.abs(out - img).mean(axis=2) >= VISIBLE
    lum = out.mean(axis=2, keepdims=True)
    blurred = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.8)
    grain = blurred / max(float(blurred.std()), 1e-6)
    out = out + grain[..., None] * rng.uniform(0.015, 0.035) * 2 * np.sqrt(lum * (1 - lum) + 0.01)
    out = out + rng.standard_normal(out.shape).astype(np.float32) * rng.uniform(3.0, 8.0) / 255.0
    return metrics.to_uint8(np.clip(out, 0.0, 1.0)), alpha > 0.1, visible & (alpha > 0.1)


# ------------------------------------------------------------------------------------------ methods
def ours(detector: str = "learned", detect: bool = True, inpaint: bool = True, oracle: bool = False,
         weights: Path | None = None) -> RestoreFn:
    """``enhance restore --detector DETECTOR`` with the shipped models on the CPU; ``oracle``: given
    the true defect mask; ``weights``: a detector checkpoint instead of the shipped one."""
    from enhance.defects import DefectDetector
    from enhance.engine import Enhancer
    from enhance.restoration import RestoreModels, RestoreOptions, restore_image
    from enhance.weightstore import sha256_file

    models = RestoreModels(
        inpaint=Enhancer(common.model_spec("inpaint"), device="cpu", tile=0),
        denoise=Enhancer(common.model_spec("denoise"), device="cpu", tile=0),
        detector=DefectDetector.from_file(weights, sha256_file(weights)) if weights else None,
        device="cpu",
    )

    def run(img: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        data, info = io.from_array(img)
        opts = RestoreOptions(detect=detect, detector=detector, inpaint=inpaint,  # type: ignore[arg-type]
                              mask=true if oracle else None)
        out, used = restore_image(data, opts, models)
        return io.to_array(out, info), used

    return run


def finder(detector: str, weights: Path | None = None, sensitivity: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """The defect mask alone (no restore): for the false-alarm rate on undamaged scans."""
    from enhance.defects import DefectDetector
    from enhance.restoration import RestoreModels, RestoreOptions, find_defects
    from enhance.weightstore import sha256_file

    models = RestoreModels(detector=DefectDetector.from_file(weights, sha256_file(weights)) if weights else None,
                           device="cpu")
    opts = RestoreOptions(detector=detector, sensitivity=sensitivity)  # type: ignore[arg-type]
    return lambda img: find_defects(common.to_float(img), opts, models)


def classical(img: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Our detector -> OpenCV Navier-Stokes inpainting (r=5) -> OpenCV NLM with the estimated sigma."""
    from enhance.engine import estimate_noise_sigma
    from enhance.scratches import detect_defects

    mask = detect_defects(common.to_float(img))
    filled = cv2.inpaint(np.ascontiguousarray(img), mask.astype(np.uint8), 5, cv2.INPAINT_NS) if mask.any() else img
    filled_float = common.to_float(filled)
    sigma = estimate_noise_sigma(filled_float)
    return nlm_once(filled_float, sigma / 2, 3 * sigma / 4), mask


# ------------------------------------------------------------------------------------------ scoring
@dataclass
class Score:
    """Per-image metrics of one method on one set."""

    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    defect_psnr: list[float] = field(default_factory=list)
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(4))  # pooled pixel counts for P / R / F1
    seconds: float = 0.0
    megapixels: float = 0.0

    def pooled(self) -> tuple[float, float, float]:
        """Precision, recall and F1 over all pixels of the set (every defect pixel counts alike)."""
        from enhance.training.detector import prf

        tp_p, n_p, tp_t, n_t = self.counts
        return prf((tp_p, n_p, tp_t, n_t))


def detection_counts(found: np.ndarray, true: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(right detections, detections, found visible defects, visible defects) with ``TOLERANCE`` px
    slack: a detection is right near any ``true`` defect; recall is over the ``visible`` ones."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * TOLERANCE + 1, 2 * TOLERANCE + 1))
    near_true = cv2.dilate(true.astype(np.uint8), kernel) > 0
    near_found = cv2.dilate(found.astype(np.uint8), kernel) > 0
    return np.array([(found & near_true).sum(), found.sum(), (visible & near_found).sum(), visible.sum()], float)


@dataclass
class Case:
    """One benchmark image: the damaged scan, its defects, what a restore should give back, and the
    same scan undamaged (for false alarms)."""

    name: str
    damaged: np.ndarray
    true: np.ndarray
    visible: np.ndarray
    reference: np.ndarray
    undamaged: np.ndarray


def realistic_cases(files: list[Path], aged: bool, kinds: Sequence[str] | None = None) -> list[Case]:
    """The realistic-damage cases of ``files`` (``kinds``: only these kinds of damage, as
    :func:`enhance.training.damage.damage` takes them; default the random mix)."""
    from enhance.training.damage import Paper, benchmark_sample

    paper = Paper.load([str(common.DEFAULT_DATA / "train" / t) for t in PAPER])
    out = []
    for i, path in enumerate(files):
        clean = common.load_rgb(path)
        damaged, mask, ref, undamaged = benchmark_sample(SEED + 1000 * int(aged) + i, clean, paper, aged, kinds)
        out.append(Case(path.stem, damaged, mask, mask, ref, undamaged))
    return out


def scratch_cases(files: list[Path]) -> list[Case]:
    out = []
    for i, path in enumerate(files):
        clean = common.load_rgb(path)
        damaged, true, visible = age_print(clean, np.random.default_rng(SEED + i))
        out.append(Case(path.stem, damaged, true, visible, clean, clean))
    return out


def evaluate(methods: dict[str, RestoreFn], finders: dict[str, Callable[[np.ndarray], np.ndarray]],
             cases: list[Case], examples: Path | None) -> tuple[dict[str, Score], dict[str, list[float]]]:
    """Scores per method on the damaged scans, and the share of pixels each finder flags on the
    undamaged ones (and their union, as ``both``: what ``--detector both`` flags)."""
    scores = {name: Score() for name in methods}
    flagged: dict[str, list[float]] = {name: [] for name in (*finders, "both")}
    for case in cases:
        found = {name: find(case.undamaged) for name, find in finders.items()}
        for name, m in found.items():
            flagged[name].append(float(m.mean()))
        flagged["both"].append(float(np.logical_or.reduce(list(found.values())).mean()))
        if examples is not None:
            common.save_png(case.damaged, examples / f"{case.name}_0_damaged.png")
            common.save_png(case.reference, examples / f"{case.name}_reference.png")
            common.save_png((case.true * 255).astype(np.uint8), examples / f"{case.name}_true_mask.png")
        for k, (name, fn) in enumerate(methods.items()):
            t0 = time.perf_counter()
            out, mask = fn(case.damaged, case.true)
            sc = scores[name]
            sc.seconds += time.perf_counter() - t0
            sc.megapixels += case.damaged.shape[0] * case.damaged.shape[1] / 1e6
            sc.psnr.append(metrics.psnr_rgb(out, case.reference))
            sc.ssim.append(metrics.ssim_rgb(out, case.reference))
            sc.defect_psnr.append(metrics.masked_psnr(out, case.reference, case.true) if case.true.any() else np.nan)
            if mask is not None and name not in (ORACLE, DENOISE_ONLY):
                c = detection_counts(mask, case.true, case.visible)
                sc.counts += c
                sc.precision.append(c[0] / c[1] if c[1] else 1.0)
                sc.recall.append(c[2] / c[3] if c[3] else 1.0)
            if examples is not None and k > 0:
                common.save_png(out, examples / f"{case.name}_{k}_{SLUG.get(name, str(k))}.png")
    return scores, flagged


def table(scores: dict[str, Score]) -> str:
    rows = []
    for name, sc in scores.items():
        p, r, f1 = sc.pooled()
        has = bool(sc.precision)
        rows.append([
            name, fmt(float(np.mean(sc.psnr))), fmt(float(np.mean(sc.ssim)), 4), fmt(float(np.nanmean(sc.defect_psnr))),
            fmt(p) if has else "-", fmt(r) if has else "-", fmt(f1) if has else "-",
            fmt(sc.seconds / sc.megapixels, 2) if name != INPUT else "-",
        ])
    return md_table(["method", "PSNR", "SSIM", "defect PSNR", "mask precision", "mask recall", "mask F1", "s/MP"],
                    rows)


INPUT = "damaged input (untouched)"
LINES = "restore --detector lines (the classical filters)"
OURS = "**restore** (default: learned detector)"
BOTH = "restore --detector both"
ORACLE = "restore with the true defect mask"
DENOISE_ONLY = "restore --no-detect (denoise only)"
CLASSICAL = "line filters -> OpenCV NS -> OpenCV NLM"
SLUG = {LINES: "lines", OURS: "learned", BOTH: "both", ORACLE: "true_mask", DENOISE_ONLY: "denoise_only",
        CLASSICAL: "classical"}
#: paper textures for the damage (training data folder; textures are not benchmark images)
PAPER = ("textures/digikam-data__paper2-texture.jpg", "textures/digikam-data__brownCard.jpg",
         "textures/digikam-data__roughPhotoCard.jpg")


# ----------------------------------------------------------------------------------------- real page
def overlay(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image with the mask in red."""
    out = img.copy()
    out[mask] = (0.4 * out[mask] + 0.6 * np.array([255, 0, 0])).astype(np.uint8)
    return out


def real_page(data: Path, folder: Path, weights: Path | None, limit_damaged: int) -> Path:
    """Side by side on the real prints: input, each detector's mask and its restore."""
    import html

    groups = [("scratched", None), ("clean", None), ("deoldify_damaged", limit_damaged)]
    rows = []
    runs = {d: ours(d, weights=weights) for d in ("lines", "learned")}
    for group, limit in groups:
        for path in common.list_images(data / "samples" / "old_photos" / group, limit):
            img = common.load_rgb(path)
            cells: list[tuple[str, np.ndarray]] = [("input", img)]
            for d, fn in runs.items():
                out, mask = fn(img, np.zeros(img.shape[:2], bool))
                share = 100 * float(mask.mean()) if mask is not None else 0.0
                cells.append((f"{d}: mask ({share:.2f} %)", overlay(img, mask if mask is not None else
                              np.zeros(img.shape[:2], bool))))
                cells.append((f"{d}: restored", out))
            rows.append((f"{group}/{path.name}", cells))
            print(f"page: {group}/{path.name}", flush=True)
    intro = html.escape("enhance restore on real old prints (samples/old_photos: never used to train or tune). "
                        "Red: the defect mask each detector found. 'lines' = the classical filters, "
                        "'learned' = the shipped detector (default).")
    return common.write_image_page(folder, "enhance restore on real old prints", intro, rows, width=360)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--sets", nargs="+", default=["Kodak24", "CBSD68"])
    p.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    p.add_argument("--damage", choices=["realistic", "scratches"], default="realistic")
    p.add_argument("--variants", nargs="+", choices=["modern", "old"], default=["modern", "old"],
                   help="realistic damage: on the photos as they are and/or aged into old prints first")
    p.add_argument("--detector-weights", type=Path, default=None,
                   help="a detector checkpoint to measure instead of the shipped weights/defects.safetensors")
    p.add_argument("--no-restore", action="store_true", help="detection scores and false alarms only (fast)")
    p.add_argument("--methods", nargs="+", choices=sorted(SLUG.values()), default=None,
                   help="only these methods (and the damaged input)")
    p.add_argument("--examples", type=Path, default=None,
                   help="write every image (damaged, reference, each method's output) as PNG into this folder")
    p.add_argument("--page", type=Path, default=None, help="write the side-by-side page of the real prints here")
    p.add_argument("--page-damaged", type=int, default=6, help="how many of samples/old_photos/deoldify_damaged")
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    return p.parse_args(argv)


def detect_only(detector: str, weights: Path | None) -> RestoreFn:
    find = finder(detector, weights)
    return lambda img, true: (img.copy(), find(img))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rep = common.Report(args.save)
    rep.header("Old-photo restore benchmark")
    w = args.detector_weights
    if args.damage == "realistic":
        rep("Protocol: realistic synthetic damage (`enhance.training.damage.benchmark_sample`, seed "
            f"{SEED} + 1000 x variant + index): crack networks, craquelure, creases, wide cracks, emulsion loss, "
            "scratches, dust, hairs and torn corners (1-20 px), on the photos as they are (modern) and aged into old "
            "prints first (old); then scanner noise and JPEG. Scores against the print before damage: RGB PSNR / "
            "SSIM, PSNR over the defect pixels, the mask's pixel precision / recall / F1 pooled over the set "
            f"({TOLERANCE} px slack). False alarms: share of pixels flagged on the same scans without damage. "
            f"Models on the CPU, whole images. Load average {common.load_average()} at start.")
    else:
        rep(f"Protocol: synthetic, seeded damage (`age_print`, `np.random.default_rng({SEED} + index)`): thin curved "
            "scratches and dust specks, 70 % white / 30 % dark with soft edges, then film grain and colour noise "
            "(sigma 3-8), uint8. Scores against the undamaged photo: RGB PSNR / SSIM, PSNR over the true defect "
            f"pixels, and the mask's pixel precision / recall of the visible defects ({TOLERANCE} px slack). "
            f"Models on the CPU, whole images. Load average {common.load_average()} at start.")
    if w is not None:
        rep(f"Detector: checkpoint `{w}` (not the shipped file).")
    rep()
    finders = {d: finder(d, w) for d in ("lines", "learned")}
    if args.no_restore:
        methods: dict[str, RestoreFn] = {f"detector: {d}": detect_only(d, w) for d in ("lines", "learned", "both")}
    else:
        methods = {
            INPUT: lambda img, true: (img.copy(), None),
            LINES: ours("lines", weights=w),
            OURS: ours("learned", weights=w),
            BOTH: ours("both", weights=w),
            ORACLE: ours(detect=False, oracle=True),
            CLASSICAL: classical,
        }
        if args.methods:
            methods = {k: v for k, v in methods.items() if k == INPUT or SLUG.get(k) in args.methods}
    variants = args.variants if args.damage == "realistic" else ["scratches"]
    for set_name in args.sets:
        files = common.list_images(args.data / "bench" / "denoise" / set_name, args.limit)
        for variant in variants:
            t0 = time.perf_counter()
            cases = (realistic_cases(files, variant == "old") if args.damage == "realistic" else scratch_cases(files))
            folder = args.examples / set_name / variant if args.examples is not None else None
            scores, flagged = evaluate(methods, finders, cases, folder)
            rep(f"### {set_name}, {variant} ({len(files)} images)")
            rep()
            rep(table(scores))
            rep()
            rep("Flagged on the undamaged scans (share of pixels, mean / max): " + "; ".join(
                f"{d} {fmt(100 * float(np.mean(v)), 3)} % / {fmt(100 * float(np.max(v)), 3)} %"
                for d, v in flagged.items()) + ".")
            rep()
            rep(f"_{set_name} {variant}: {time.perf_counter() - t0:.0f} s wall, load average "
                f"{common.load_average()} at end._")
            rep()
    if args.page is not None:
        page = real_page(args.data, args.page, w, args.page_damaged)
        rep(f"Side-by-side page of the real prints: `{page}`.")
    rep.save(args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
