"""Inpainting benchmark: our model vs OpenCV Telea and Navier-Stokes, per mask kind.

    python benchmarks/inpaint.py [--data ../shared/data] [--sets Kodak24 CBSD68] [--limit N]
                                 [--kinds strokes boxes scratches] [--html out/inpaint]
                                 [--upscale F] [--write-manifest] [--save results/inpaint.md]

Protocol: clean images from ``bench/denoise/<set>/``; for image ``index`` and mask kind ``k`` (0, 1,
2 for strokes, boxes, scratches) the mask is
``random_mask(np.random.default_rng(MASK_SEED + 1000 * k + index), h, w, kind)`` from
``enhance.training.masks`` (1 = hole): the same masks on every run. Every method keeps the known
pixels. Outputs rounded to uint8. Reported: RGB PSNR and SSIM of the whole image, and inside the
hole the mean absolute error (0-255) and PSNR, plus the hole's share of the image and s/MP.

``--upscale F`` tests large images with large holes: each image is first enlarged F times (bicubic)
and its mask drawn at the original size is enlarged with it (nearest), so the holes are F times
deeper than the network's training holes; it adds a row for our model in one pass (no coarse-to-fine
filling, ``enhance.holes``).
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt, md_table  # noqa: E402

from enhance import metrics  # noqa: E402

InpaintFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (uint8 RGB, uint8 mask 1=hole) -> uint8 RGB
KINDS = ("strokes", "boxes", "scratches")
MASK_SEED = 0  # seed = 1000 * kind + index, kind = 0, 1, 2 for strokes, boxes, scratches
OURS = "**inpaint** (ours)"


@dataclass
class Score:
    """Per-image metrics of one (method, mask kind) on one set."""

    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    hole_l1: list[float] = field(default_factory=list)
    hole_psnr: list[float] = field(default_factory=list)
    hole_frac: list[float] = field(default_factory=list)
    seconds: float = 0.0
    megapixels: float = 0.0


def mask_for(index: int, kind: str, h: int, w: int) -> np.ndarray:
    """The fixed mask of image ``index`` and ``kind``: uint8 ``(h, w)``, 1 = hole."""
    from enhance.training.masks import random_mask

    seed = MASK_SEED + 1000 * KINDS.index(kind) + index
    return random_mask(np.random.default_rng(seed), h, w, kind)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- methods
def ours(tile: int | str = 0, weights: Path | None = None, ensemble: int = 1, one_pass: bool = False,
         main_only: bool = False, thin_weights: Path | None = None) -> InpaintFn:
    """Our ``inpaint`` model on the CPU (it keeps the known pixels itself); ``weights``: a candidate
    weight file (e.g. a training checkpoint) instead of the shipped one; ``ensemble``: self-ensemble size;
    ``one_pass``: no coarse-to-fine filling of deep holes; ``main_only``: thin holes not handed to the
    thin-hole model; ``thin_weights``: a candidate for the thin-hole model (inpaint-thin)."""
    from enhance.engine import Enhancer

    enh = Enhancer(common.model_spec("inpaint", weights), device="cpu", tile=tile, ensemble=ensemble)
    if thin_weights is not None:
        enh.thin = Enhancer(common.model_spec("inpaint-thin", thin_weights), device="cpu", tile=tile, ensemble=ensemble)
    if one_pass:
        enh.hole_reach = None
    if main_only:
        enh.thin = None

    def run(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return metrics.to_uint8(enh.enhance_rgb(common.to_float(img), mask=mask.astype(np.float32)))

    return run


def opencv(flag_name: str, radius: int = 5) -> InpaintFn:
    """``cv2.inpaint`` with ``INPAINT_TELEA`` or ``INPAINT_NS``; the hole's pixels are zeroed first."""
    import cv2

    flag = getattr(cv2, flag_name)

    def run(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
        src = img * (1 - mask[:, :, None])
        return cv2.inpaint(np.ascontiguousarray(src), mask, radius, flag)

    return run


# ---------------------------------------------------------------------------------------- evaluation
def enlarge(clean: np.ndarray, mask: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """``clean`` enlarged ``factor`` times (bicubic) and ``mask`` with it (nearest): holes ``factor`` x deeper."""
    import cv2

    if factor == 1:
        return clean, mask
    size = (clean.shape[1] * factor, clean.shape[0] * factor)
    return (cv2.resize(clean, size, interpolation=cv2.INTER_CUBIC),
            cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST))


def evaluate(
    methods: dict[str, InpaintFn], files: list[Path], kinds: list[str], keep: int = 0, upscale: int = 1
) -> tuple[dict[tuple[str, str], Score], list[tuple[str, str, np.ndarray, np.ndarray, dict[str, np.ndarray]]]]:
    """Scores per (kind, method); plus (image, kind, clean, mask, outputs) of the first ``keep`` images."""
    scores: dict[tuple[str, str], Score] = {}
    examples = []
    for index, path in enumerate(files):
        original = common.load_rgb(path)
        h, w = original.shape[:2]
        for kind in kinds:
            clean, mask = enlarge(original, mask_for(index, kind, h, w), upscale)
            outs = {}
            for name, fn in methods.items():
                t0 = time.perf_counter()
                out = fn(clean, mask)
                sec = time.perf_counter() - t0
                sc = scores.setdefault((kind, name), Score())
                sc.psnr.append(metrics.psnr_rgb(out, clean))
                sc.ssim.append(metrics.ssim_rgb(out, clean))
                sc.hole_l1.append(metrics.masked_l1(out, clean, mask))
                sc.hole_psnr.append(metrics.masked_psnr(out, clean, mask))
                sc.hole_frac.append(float(mask.mean()))
                sc.seconds += sec
                sc.megapixels += clean.shape[0] * clean.shape[1] / 1e6
                outs[name] = out
            if index < keep:
                examples.append((path.stem, kind, clean, mask, outs))
    return scores, examples


def table(scores: dict[tuple[str, str], Score]) -> str:
    """Rows = (mask kind, method)."""
    headers = ["mask", "method", "hole %", "PSNR", "SSIM", "hole L1 (0-255)", "hole PSNR", "s/MP"]
    rows = []
    for (kind, name), sc in scores.items():
        rows.append([kind, name, fmt(100 * float(np.mean(sc.hole_frac)), 1), fmt(float(np.mean(sc.psnr))),
                     fmt(float(np.mean(sc.ssim)), 4), fmt(float(np.mean(sc.hole_l1))),
                     fmt(float(np.mean(sc.hole_psnr))), fmt(sc.seconds / sc.megapixels, 3)])
    return md_table(headers, rows)


def write_html(out: Path, examples: list[tuple[str, str, np.ndarray, np.ndarray, dict[str, np.ndarray]]]) -> Path:
    """``inpaint_examples.html``: masked input (hole in magenta), each method, the original."""
    img_dir = out / "inpaint_img"
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Inpainting examples</title>",
             "<style>body{font-family:sans-serif} td{text-align:center;font-size:12px;vertical-align:top}"
             " img{max-width:360px}</style></head><body><h1>Inpainting examples</h1>"]
    for stem, kind, clean, mask, outs in examples:
        shown = clean.copy()
        shown[mask > 0] = (255, 0, 255)
        cells = [("input (hole magenta)", shown)] + [(n.replace("*", ""), o) for n, o in outs.items()]
        cells.append(("original", clean))
        parts.append(f"<h2>{html.escape(stem)}: {kind}</h2><table><tr>")
        for i, (label, img) in enumerate(cells):
            fname = f"{stem}_{kind}_{i}.png"
            common.save_png(img, img_dir / fname)
            parts.append(f"<td><img src='inpaint_img/{fname}'><br>{html.escape(label)}</td>")
        parts.append("</tr></table>")
    parts.append("</body></html>")
    page = out / "inpaint_examples.html"
    out.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(parts))
    return page


# ---------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--sets", nargs="+", default=["Kodak24", "CBSD68"])
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    p.add_argument("--html", type=Path, default=None, help="write inpaint_examples.html into this folder")
    p.add_argument("--html-count", type=int, default=2, help="images per set on the HTML page")
    p.add_argument("--write-manifest", action="store_true", help="store our model's numbers in weights/manifest.json")
    p.add_argument("--tile", default="0", help="our model's tile size in input px (0 = whole image, the default; 'auto')")
    p.add_argument("--weights", type=Path, default=None,
                   help="also evaluate this weight file (e.g. runs/x/best_pretrain.safetensors), next to the shipped one")
    p.add_argument("--thin-weights", type=Path, default=None,
                   help="also evaluate ours with this weight file for the thin-hole model (inpaint-thin)")
    p.add_argument("--ensemble", type=int, default=0, choices=(0, 2, 4, 8),
                   help="also run ours with this self-ensemble (flips/rotations averaged)")
    p.add_argument("--main-only", action="store_true",
                   help="add a row for ours without the thin-hole model (inpaint-thin) on thin holes")
    p.add_argument("--upscale", type=int, default=1,
                   help="enlarge images and masks this many times (large holes); adds a one-pass row for ours")
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    args = p.parse_args(argv)
    if args.upscale < 1:
        p.error("--upscale must be 1 or more")
    if args.write_manifest and (args.limit is not None or args.upscale != 1):
        p.error("--write-manifest needs the full sets at their own size (drop --limit and --upscale)")
    if args.write_manifest and (args.weights is not None or args.thin_weights is not None):
        p.error("--write-manifest and --weights / --thin-weights do not mix (release the candidate first)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rep = common.Report(args.save)
    rep.header("Inpainting benchmark")
    rep(f"Protocol: masks from `enhance.training.masks.random_mask` with `np.random.default_rng(1000*kind + index)` "
        "(1 = hole, same masks every run); every method keeps the known pixels; OpenCV `cv2.inpaint` radius 5 on "
        "the image with the hole zeroed. Outputs rounded to uint8. PSNR/SSIM over the whole RGB image; hole L1 = "
        "mean |out - clean| (0-255) over hole pixels and channels; hole PSNR over the same samples. "
        f"Load average {common.load_average()} at start.")
    rep()
    tile = int(args.tile) if args.tile.isdigit() else args.tile
    methods: dict[str, InpaintFn] = {OURS: ours(tile)}
    if args.weights is not None:
        rep(f"Candidate: the weights in `{args.weights}`, next to the shipped model.")
        rep()
        methods[f"**inpaint** candidate (`{args.weights.name}`)"] = ours(tile, args.weights)
    if args.thin_weights is not None:
        rep(f"Thin-hole candidate: the weights in `{args.thin_weights}`, with the shipped main model.")
        rep()
        methods[f"**inpaint** thin-hole candidate (`{args.thin_weights.name}`)"] = ours(tile, thin_weights=args.thin_weights)
    if args.upscale > 1:
        methods["**inpaint** one pass (no coarse-to-fine)"] = ours(tile, one_pass=True)
    if args.main_only:
        methods["**inpaint** main model only (no thin-hole model)"] = ours(tile, main_only=True)
    if args.ensemble:
        methods[f"**inpaint** x{args.ensemble} ensemble (`--ensemble {args.ensemble}`)"] = ours(tile, ensemble=args.ensemble)
    methods |= {
        "OpenCV Telea (r=5)": opencv("INPAINT_TELEA"),
        "OpenCV Navier-Stokes (r=5)": opencv("INPAINT_NS"),
    }
    manifest: dict[str, float] = {}
    all_examples = []
    for set_name in args.sets:
        t0 = time.perf_counter()
        files = common.list_images(args.data / "bench" / "denoise" / set_name, args.limit)
        keep = args.html_count if args.html is not None else 0
        scores, examples = evaluate(methods, files, args.kinds, keep, args.upscale)
        all_examples += examples
        enlarged = f", enlarged {args.upscale}x" if args.upscale > 1 else ""
        rep(f"### {set_name} ({len(files)} images{enlarged} x {len(args.kinds)} masks)")
        rep()
        rep(table(scores))
        rep()
        rep(f"_{set_name}: {time.perf_counter() - t0:.0f} s wall, load average {common.load_average()} at end._")
        rep()
        for kind in args.kinds:
            sc = scores[(kind, OURS)]
            manifest[f"{set_name} {kind} PSNR"] = round(float(np.mean(sc.psnr)), 2)
            manifest[f"{set_name} {kind} hole L1"] = round(float(np.mean(sc.hole_l1)), 2)
    if args.write_manifest:
        common.update_manifest_metrics({"inpaint": manifest})
        rep("_Wrote the inpaint model's metrics to weights/manifest.json._")
        rep()
    if args.html is not None:
        rep(f"_HTML: {write_html(args.html, all_examples)}_")
    rep.save(args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
