"""Old-photo restore benchmark: does ``enhance restore`` make a damaged print better, and how much
of that comes from its scratch detector?

    python benchmarks/restore.py [--data ../shared/data] [--sets Kodak24 CBSD68] [--limit N]
                                 [--examples out/restore] [--save results/restore.md]

There is no public set of scanned prints with their undamaged originals, so the damage is
synthetic and seeded (:func:`age_print`), on the clean photos of ``bench/denoise/<set>/``: thin
curved scratches and dust specks (``enhance.training.masks.scratches``), each white (emulsion
scraped off, 70 %) or dark (30 %), with soft edges, then monochrome film grain and colour noise,
rounded to uint8. Image ``index`` uses ``np.random.default_rng(SEED + index)``: the same damage on
every run.

Methods, all on the CPU at the shipped models' defaults:

* the damaged input, untouched;
* ``enhance restore`` (detect -> inpaint -> denoise), the CLI's default;
* the same with the true defect mask instead of the detector (how much detection costs);
* denoise only (``enhance restore --no-detect``; what the inpainting adds);
* a classical chain: our detector's mask -> OpenCV Navier-Stokes inpainting -> OpenCV non-local
  means (h = sigma / 2, hColor = 3 sigma / 4 from the same noise estimate our denoiser uses).

Reported: RGB PSNR / SSIM of the whole image against the undamaged photo, PSNR over the defect
pixels, and the detector's pixel precision and recall (a detected pixel counts as right when it is
within 2 px of a true defect pixel; recall is over the *visible* defect pixels, those the damage
changed by 0.1 or more, each found when a detected pixel is within 2 px).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
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
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.8)
    grain /= max(float(grain.std()), 1e-6)
    out = out + grain[..., None] * rng.uniform(0.015, 0.035) * 2 * np.sqrt(lum * (1 - lum) + 0.01)
    out = out + rng.standard_normal(out.shape).astype(np.float32) * rng.uniform(3.0, 8.0) / 255.0
    return metrics.to_uint8(np.clip(out, 0.0, 1.0)), alpha > 0.1, visible & (alpha > 0.1)


# ------------------------------------------------------------------------------------------ methods
def ours(detect: bool = True, inpaint: bool = True, oracle: bool = False) -> RestoreFn:
    """``enhance restore`` with the shipped models on the CPU; ``oracle``: given the true defect mask."""
    from enhance.engine import Enhancer
    from enhance.restoration import RestoreModels, RestoreOptions, restore_image

    models = RestoreModels(
        inpaint=Enhancer(common.model_spec("inpaint"), device="cpu", tile=0),
        denoise=Enhancer(common.model_spec("denoise"), device="cpu", tile=0),
    )

    def run(img: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        data, info = io.from_array(img)
        opts = RestoreOptions(detect=detect, inpaint=inpaint, mask=true if oracle else None)
        out, used = restore_image(data, opts, models)
        return io.to_array(out, info), used

    return run


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
    seconds: float = 0.0
    megapixels: float = 0.0


def detection_scores(found: np.ndarray, true: np.ndarray, visible: np.ndarray) -> tuple[float, float]:
    """Pixel precision of ``found`` against all ``true`` defects, recall of the ``visible`` ones,
    each with a ``TOLERANCE`` px slack."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * TOLERANCE + 1, 2 * TOLERANCE + 1))
    near_true = cv2.dilate(true.astype(np.uint8), kernel) > 0
    near_found = cv2.dilate(found.astype(np.uint8), kernel) > 0
    precision = float((found & near_true).sum() / found.sum()) if found.any() else 1.0
    recall = float((visible & near_found).sum() / visible.sum()) if visible.any() else 1.0
    return precision, recall


def evaluate(
    methods: dict[str, RestoreFn], files: list[Path], examples: Path | None
) -> tuple[dict[str, Score], Score]:
    """Scores per method on the damaged photos, and of ``enhance restore`` on the undamaged ones
    (PSNR against themselves; ``precision`` holds the share of pixels flagged as defects)."""
    scores = {name: Score() for name in methods}
    untouched = Score()
    for index, path in enumerate(files):
        clean = common.load_rgb(path)
        out, found = methods[OURS](clean, np.zeros(clean.shape[:2], bool))
        untouched.psnr.append(metrics.psnr_rgb(out, clean))
        untouched.ssim.append(metrics.ssim_rgb(out, clean))
        untouched.precision.append(float(found.mean()) if found is not None else 0.0)
        damaged, true, visible = age_print(clean, np.random.default_rng(SEED + index))
        if examples is not None:
            common.save_png(damaged, examples / f"{path.stem}_0_damaged.png")
            common.save_png(clean, examples / f"{path.stem}_clean.png")
        for m, (name, fn) in enumerate(methods.items()):
            t0 = time.perf_counter()
            out, found = fn(damaged, true)
            sc = scores[name]
            sc.seconds += time.perf_counter() - t0
            sc.megapixels += clean.shape[0] * clean.shape[1] / 1e6
            sc.psnr.append(metrics.psnr_rgb(out, clean))
            sc.ssim.append(metrics.ssim_rgb(out, clean))
            sc.defect_psnr.append(metrics.masked_psnr(out, clean, true))
            if found is not None and name not in (ORACLE, DENOISE_ONLY):
                p, r = detection_scores(found, true, visible)
                sc.precision.append(p)
                sc.recall.append(r)
            if examples is not None and m > 0:
                common.save_png(out, examples / f"{path.stem}_{m}_{SLUG[name]}.png")
    return scores, untouched


def table(scores: dict[str, Score]) -> str:
    rows = []
    for name, sc in scores.items():
        rows.append([
            name, fmt(float(np.mean(sc.psnr))), fmt(float(np.mean(sc.ssim)), 4), fmt(float(np.mean(sc.defect_psnr))),
            fmt(float(np.mean(sc.precision))) if sc.precision else "-",
            fmt(float(np.mean(sc.recall))) if sc.recall else "-",
            fmt(sc.seconds / sc.megapixels, 2) if name != INPUT else "-",
        ])
    return md_table(["method", "PSNR", "SSIM", "defect PSNR", "det. precision", "det. recall", "s/MP"], rows)


INPUT = "damaged input (untouched)"
OURS = "**restore** (ours: detect -> inpaint -> denoise)"
ORACLE = "**restore** with the true defect mask"
DENOISE_ONLY = "**restore --no-detect** (denoise only)"
CLASSICAL = "our detector -> OpenCV NS -> OpenCV NLM"
SLUG = {OURS: "restore", ORACLE: "restore_true_mask", DENOISE_ONLY: "denoise_only", CLASSICAL: "classical"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--sets", nargs="+", default=["Kodak24", "CBSD68"])
    p.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    p.add_argument("--examples", type=Path, default=None,
                   help="write every image (damaged, clean, each method's output) as PNG into this folder")
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rep = common.Report(args.save)
    rep.header("Old-photo restore benchmark")
    rep(f"Protocol: synthetic, seeded damage (`age_print`, `np.random.default_rng({SEED} + index)`): thin curved "
        "scratches and dust specks, 70 % white / 30 % dark with soft edges, then film grain and colour noise "
        "(sigma 3-8), uint8. Scores against the undamaged photo: RGB PSNR / SSIM, PSNR over the true defect "
        f"pixels, and the detector's pixel precision / recall of the visible defects ({TOLERANCE} px slack). Models on the CPU, whole "
        f"images. Load average {common.load_average()} at start.")
    rep()
    restore = ours()
    methods: dict[str, RestoreFn] = {
        INPUT: lambda img, true: (img.copy(), None),
        OURS: restore,
        ORACLE: ours(detect=False, oracle=True),
        DENOISE_ONLY: ours(detect=False, inpaint=False),
        CLASSICAL: classical,
    }
    for set_name in args.sets:
        t0 = time.perf_counter()
        files = common.list_images(args.data / "bench" / "denoise" / set_name, args.limit)
        folder = args.examples / set_name if args.examples is not None else None
        scores, untouched = evaluate(methods, files, folder)
        rep(f"### {set_name} ({len(files)} images)")
        rep()
        rep(table(scores))
        rep()
        rep(f"The same photos undamaged, through `enhance restore`: PSNR {fmt(float(np.mean(untouched.psnr)))} dB / "
            f"SSIM {fmt(float(np.mean(untouched.ssim)), 4)} against themselves; flagged as defects: "
            f"{fmt(100 * float(np.mean(untouched.precision)), 3)} % of the pixels on average, "
            f"{fmt(100 * float(np.max(untouched.precision)), 3)} % at most.")
        rep()
        rep(f"_{set_name}: {time.perf_counter() - t0:.0f} s wall, load average {common.load_average()} at end._")
        rep()
    rep.save(args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
