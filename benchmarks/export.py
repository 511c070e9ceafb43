"""Benchmark of the export variants: speed, peak memory and quality on CPU.

For each model (default: sr-x4-fidelity and denoise) this builds, in a scratch folder,
ORT fp32, ORT int8 (static QDQ), a pruned + distilled model (fp32 and int8), then runs every
variant (PyTorch fp32 too) in its own subprocess, so that peak memory (VmHWM, else ``ru_maxrss``) is per
variant. Quality: Set5 x4 PSNR-Y (BT.601, shave 4; LR from ``bench/sr/Set5/LR_x4``, HR cropped to
4x the LR) for SR; CBSD68 sigma 25 RGB PSNR on 5 images (fixed noise seed) for the denoiser (noise clipped to [0, 1]).

    python benchmarks/export.py --data ../shared/data [--threads 2] [--finetune-steps 300] [--gpu]

``--gpu`` adds PyTorch fp16 and ONNX Runtime CUDA fp16 (the fp16 export) on the GPU, timed on a
512 px LR input (SR) / 1024 px (denoise), in a second table.

Prints a markdown table and writes it to ``benchmarks/results/export.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from enhance.onnx_backend import GRAPH_REVISION

HERE = Path(__file__).resolve().parent
VARIANTS = ("torch-fp32", "ort-fp32", "ort-int8", "pruned-fp32", "pruned-int8")
#: with --gpu: PyTorch fp16 against ONNX Runtime's CUDA provider running the fp16 export
GPU_VARIANTS = ("torch-fp16-cuda", "ort-fp16-cuda")


# ------------------------------------------------------------------ quality
def _read(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    from enhance.metrics import psnr_y

    return float(psnr_y(sr, hr, shave))


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def quality(enh, name: str, data: Path) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    if name.startswith("sr-"):
        root = data / "bench/sr/Set5"
        vals = []
        for lr_path in sorted((root / "LR_x4").glob("*.png")):
            lr = _read(lr_path)
            hr = _read(root / "HR" / lr_path.name)[: lr.shape[0] * 4, : lr.shape[1] * 4]
            sr = _u8(enh.enhance_rgb(lr.astype(np.float32) / 255.0))
            vals.append(_psnr_y(sr, hr, 4))
        return "Set5 x4 PSNR-Y", float(np.mean(vals))
    files = sorted((data / "bench/denoise/CBSD68").glob("*.png"))[:5]
    vals = []
    rng = np.random.default_rng(0)
    for f in files:
        clean = _read(f).astype(np.float32) / 255.0
        noisy = (clean + rng.normal(0, 25 / 255.0, clean.shape)).astype(np.float32)
        # clipped to [0, 1] like a saved image: absolute PSNRs sit a little below benchmarks/denoise.py's
        # (unclipped AWGN); every variant here sees the same noisy inputs
        out = _u8(enh.enhance_rgb(np.clip(noisy, 0, 1), sigma=25.0))
        vals.append(10 * np.log10(255.0**2 / np.mean((out.astype(np.float64) - _u8(clean)) ** 2)))
    return "CBSD68 s25 PSNR", float(np.mean(vals))


# ------------------------------------------------------------------ worker
def worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from enhance.engine import Enhancer
    from enhance.registry import default_registry

    spec = default_registry().get(args.model)
    gpu = args.worker in GPU_VARIANTS
    if args.worker == "torch-fp32":
        enh = Enhancer(spec, device="cpu")
    elif args.worker == "torch-fp16-cuda":
        enh = Enhancer(spec, device="cuda", half=True)
    else:
        enh = Enhancer(spec, device="cuda" if gpu else "cpu", backend="onnx", onnx_path=args.onnx)
        ort_runner = enh.runners.default.session  # type: ignore[attr-defined]
        if gpu and ort_runner.providers[0] != "CUDAExecutionProvider":
            raise SystemExit(f"ONNX Runtime runs {args.onnx} on {ort_runner.providers}, not on CUDA")
    # a GPU needs bigger inputs to be busy; the CPU sizes keep a run within seconds
    side = (512 if gpu else 128) if spec.task == "upscale" else (1024 if gpu else 384)
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    sigma = 25.0 if spec.condition == "sigma" else None
    enh.enhance_rgb(img, sigma=sigma)  # warm up
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        enh.enhance_rgb(img, sigma=sigma)
        times.append(time.perf_counter() - t)
    mp = (side * spec.scale) ** 2 / 1e6
    metric, value = ("", 0.0) if args.no_quality else quality(enh, args.model, Path(args.data))
    # the median run: on this shared machine single runs of the same variant vary up to 3x
    print(json.dumps({"mp_s": mp / float(np.median(times)), "best_mp_s": mp / float(np.min(times)),
                      "peak_mb": _peak_mb(), "metric": metric, "value": value}))


def _peak_mb() -> float:
    """Peak resident memory of this process in MB. ``ru_maxrss`` keeps the parent's peak across
    fork + exec on Linux, so the per-process high-water mark (VmHWM) is read when available."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run_variant(args: argparse.Namespace, model: str, variant: str, onnx: Path | None, with_quality: bool = True) -> dict:  # type: ignore[type-arg]
    cmd = [sys.executable, __file__, "--worker", variant, "--model", model, "--data", str(args.data),
           "--threads", str(args.threads), "--repeats", str(args.repeats)]
    if not with_quality:
        cmd.append("--no-quality")
    if onnx is not None:
        cmd += ["--onnx", str(onnx)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{model}/{variant} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _run_rounds(args: argparse.Namespace, model: str, variants: tuple[str, ...], paths: dict[str, Path]) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every variant once per round, the rounds interleaved so that a slow spell of a shared machine
    hits all variants alike. Keeps each variant's median MP/s over the rounds (each round's figure is
    already the median of its runs), its peak memory, its quality (measured in the first round) and
    ``speedups``: its MP/s over the first variant's, round by round."""
    rows: dict[str, dict] = {}  # type: ignore[type-arg]
    for r in range(args.rounds):
        this = {v: _run_variant(args, model, v, paths.get(v), with_quality=r == 0) for v in variants}
        for v, res in this.items():
            if r == 0:
                rows[v] = dict(res, speedups=[], rounds=[])
            rows[v]["rounds"].append(res["mp_s"])
            rows[v]["best_mp_s"] = max(rows[v]["best_mp_s"], res["best_mp_s"])
            rows[v]["mp_s"] = float(np.median(rows[v]["rounds"]))
            rows[v]["peak_mb"] = max(rows[v]["peak_mb"], res["peak_mb"])
            rows[v]["speedups"].append(res["mp_s"] / this[variants[0]]["mp_s"])
        print(f"{model}: round {r + 1}/{args.rounds}: "
              + ", ".join(f"{v} {res['mp_s']:.3g} MP/s" for v, res in this.items()), flush=True)
    return rows


def _speedup(row: dict, base: dict) -> str:  # type: ignore[type-arg]
    """Median over median, with the range of the per-round ratios when there were several rounds."""
    text = f"{row['mp_s'] / base['mp_s']:.2f}x"
    lo, hi = min(row["speedups"]), max(row["speedups"])
    return text if len(row["speedups"]) < 2 else f"{text} ({lo:.2f}-{hi:.2f})"


# ------------------------------------------------------------------ main
def build_artifacts(args: argparse.Namespace, model: str, work: Path) -> tuple[dict[str, Path], dict]:  # type: ignore[type-arg]
    """The ONNX variants of ``model`` in ``work``; reused when ``work`` already holds them for the
    same pruning settings (so a long fine-tune can be built once, then timed on an idle machine)."""
    import torch

    tag = f"{model}-p{args.prune_ratio:g}-s{args.finetune_steps}" + (f"-t{args.finetune_tile}" if args.finetune_tile else "")
    saved = work / f"{tag}.json"
    if saved.is_file():
        data = json.loads(saved.read_text())
        print(f"reusing {saved}", flush=True)
        paths = {k: Path(v) for k, v in data["paths"].items()}
        if data["info"].get("graph_revision") != GRAPH_REVISION:
            _upgrade_graphs(args, model, paths)
            data["info"]["graph_revision"] = GRAPH_REVISION
            saved.write_text(json.dumps(data, indent=1))
        return paths, data["info"]
    torch.set_num_threads(args.build_threads or args.threads)
    from enhance.exporters.onnx_export import compare, export_onnx, input_channels
    from enhance.exporters.prune import count_macs_params, prune_and_finetune
    from enhance.exporters.quantize import quantize_int8
    from enhance.registry import build_model, default_registry

    spec = default_registry().get(model)
    net = build_model(spec).eval()
    c = input_channels(spec)
    paths = {"ort-fp32": work / f"{tag}-fp32.onnx", "ort-int8": work / f"{tag}-int8.onnx",
             "pruned-fp32": work / f"{tag}-pruned-fp32.onnx", "pruned-int8": work / f"{tag}-pruned-int8.onnx"}
    export_onnx(net, paths["ort-fp32"], channels=c)
    info = {"fp32_err": compare(net, paths["ort-fp32"])}
    quantize_int8(paths["ort-fp32"], paths["ort-int8"], spec, calib_dir=args.calib)
    t = time.time()
    def progress(step: int, total: int, loss: float) -> None:
        if step % 500 == 0 or step == total:
            print(f"{model}: fine-tune step {step}/{total}, L1 {loss:.5f}, {time.time() - t:.0f} s", flush=True)

    pruned, rep = prune_and_finetune(net, spec, args.prune_ratio, args.finetune_steps, tile=args.finetune_tile,
                                     calib_dir=args.calib, progress=progress)
    info.update(prune=rep.__dict__, finetune_s=time.time() - t)
    export_onnx(pruned, paths["pruned-fp32"], channels=c)
    quantize_int8(paths["pruned-fp32"], paths["pruned-int8"], spec, calib_dir=args.calib)
    macs, params = count_macs_params(net, spec)
    info.update(macs=macs, params=params, macs_pruned=rep.macs_after, params_pruned=rep.params_after,
                graph_revision=GRAPH_REVISION)
    saved.write_text(json.dumps({"paths": {k: str(v) for k, v in paths.items()}, "info": info}, indent=1))
    return paths, info


def _fp16_file(fp32: Path) -> Path:
    """The fp16 copy of an fp32 export, next to it (built once)."""
    from enhance.exporters.quantize import convert_fp16

    out = fp32.with_name(fp32.name.replace("-fp32.onnx", "-fp16.onnx"))
    return out if out.is_file() else convert_fp16(fp32, out)


def _upgrade_graphs(args: argparse.Namespace, model: str, paths: dict[str, Path]) -> None:
    """Bring fp32 files built by an older exporter up to the current graph rewrites (keeping the
    pruned network's fine-tuned weights) and quantize them again."""
    from enhance.exporters.graph_opt import rewrite_file
    from enhance.exporters.quantize import quantize_int8
    from enhance.registry import default_registry

    spec = default_registry().get(model)
    for fp32, int8 in (("ort-fp32", "ort-int8"), ("pruned-fp32", "pruned-int8")):
        print(f"{paths[fp32].name}: graph rewrites {rewrite_file(paths[fp32])}", flush=True)
        quantize_int8(paths[fp32], paths[int8], spec, calib_dir=args.calib)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--models", nargs="+", default=["sr-x4-fidelity", "denoise"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds over all variants")
    ap.add_argument("--no-quality", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--prune-ratio", type=float, default=0.4)
    ap.add_argument("--finetune-steps", type=int, default=300)
    ap.add_argument("--finetune-tile", type=int, default=None,
                    help="fine-tune crop side in input px (default: 48 for SR, 96 for the denoiser)")
    ap.add_argument("--calib", type=Path, help="images for int8 calibration and the pruning fine-tune (default: built-in)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "export.md")
    ap.add_argument("--work", type=Path, help="keep the built models here and reuse them on the next run")
    ap.add_argument("--build-only", action="store_true", help="build (and keep, with --work) the models, time nothing")
    ap.add_argument("--build-threads", type=int, help="threads for building/fine-tuning (default: --threads)")
    ap.add_argument("--gpu", action="store_true", help="also time PyTorch fp16 against ORT CUDA fp16 on the GPU")
    ap.add_argument("--worker", choices=VARIANTS + GPU_VARIANTS)
    ap.add_argument("--model")
    ap.add_argument("--onnx")
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    lines = [f"# Export variants on CPU ({args.threads} threads)", "",
             f"Pruning: {args.prune_ratio:.0%} of channels (L1), {args.finetune_steps} distillation steps "
             f"on {args.calib or 'the bundled photos (exporters/photos)'}. "
             f"Speed: the Enhancer on a random 128x128 (SR) / 384x384 (denoise) input, output MP/s of the median of "
             f"{args.repeats} runs, median over {args.rounds} interleaved rounds; speed-up: ratio of those medians "
             "(in brackets: the range of the per-round ratios).", "",
             "| model | variant | MP/s | speed-up | fastest run (MP/s) | peak RSS (MB) | quality | dB vs PyTorch | MACs (64px tile) | params |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    gpu_lines = ["", "On the GPU (fp16; speed-up against PyTorch fp16 on the same GPU):", "",
                 "| model | variant | MP/s | vs PyTorch fp16 | quality | dB vs PyTorch fp16 |", "|---|---|---|---|---|---|"]
    if args.gpu:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--gpu: PyTorch sees no CUDA GPU on this machine")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for model in args.models:
            paths, info = build_artifacts(args, model, work)
            if args.gpu:
                paths["ort-fp16-cuda"] = _fp16_file(paths["ort-fp32"])
            if args.build_only:
                continue
            if args.gpu:
                gpu_rows = _run_rounds(args, model, GPU_VARIANTS, paths)
                ref = gpu_rows["torch-fp16-cuda"]
                gpu_lines += [f"| {model} | {v} | {r['mp_s']:.2f} | {_speedup(r, ref)} | {r['metric']} "
                              f"{r['value']:.2f} | {r['value'] - ref['value']:+.2f} |" for v, r in gpu_rows.items()]
                print("\n".join(gpu_lines[-len(GPU_VARIANTS):]), flush=True)
            rows = _run_rounds(args, model, VARIANTS, paths)
            base = rows["torch-fp32"]
            for v, r in rows.items():
                pruned = v.startswith("pruned")
                macs = info["macs_pruned"] if pruned else info["macs"]
                params = info["params_pruned"] if pruned else info["params"]
                lines.append(
                    f"| {model} | {v} | {r['mp_s']:.3f} | {_speedup(r, base)} | {r['best_mp_s']:.3f} | {r['peak_mb']:.0f} | "
                    f"{r['metric']} {r['value']:.2f} | {r['value'] - base['value']:+.2f} | {macs / 1e9:.2f} G | {params:,} |"
                )
            p = info["prune"]
            notes.append(
                f"- {model}: fp32 ONNX max abs error {info['fp32_err']:.1e}; pruning removed "
                f"{1 - info['macs_pruned'] / info['macs']:.0%} of MACs; tile PSNR {p['psnr_before']:.2f} -> "
                f"{p['psnr_pruned']:.2f} (pruned) -> {p['psnr_after']:.2f} dB (fine-tuned, {info['finetune_s']:.0f} s)"
            )
            print("\n".join(lines[-len(VARIANTS):]), flush=True)
    if args.build_only:
        return
    text = "\n".join(lines + [""] + notes + (gpu_lines if args.gpu else [])) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
