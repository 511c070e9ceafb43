"""Denoise a batch of images with the pipeline API (what ``enhance denoise`` does, minus the display).

    python examples/batch_denoise.py [INPUT ...] [--out FOLDER] [--strength 1.0] [--model NAME]

INPUTs are files, folders or glob patterns (default: the example images). Results go to
``FOLDER`` (default ``denoised/``); existing results are skipped, so the script can be re-run to
resume. One bad file is reported and the others still run. Exit code 1 if anything failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from enhance import EnhanceError
from enhance.pipeline import BatchOptions, Callbacks, ModelPicker, Result, collect_inputs, run_batch

HERE = Path(__file__).parent


def show(result: Result) -> None:
    detail = f"-> {result.output} ({result.model}, {result.seconds:.1f} s)" if result.status == "done" else result.reason
    print(f"{result.status:8} {result.input} {detail}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Denoise many images with enhance.pipeline")
    parser.add_argument("inputs", nargs="*", default=[str(HERE / "*.png")])
    parser.add_argument("--out", type=Path, default=Path("denoised"))
    parser.add_argument("--strength", type=float, default=1.0, help="0.5 keeps more texture, 2 cleans harder")
    parser.add_argument("--model", help="denoising model name (default: the installed one)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    picker = ModelPicker("denoise", model=args.model, device=args.device)
    try:
        picker.check()  # unknown or missing model: one message, before any file
    except EnhanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    items = collect_inputs(args.inputs, recursive=False)
    opts = BatchOptions(output=args.out, suffix="_denoised", strength=args.strength, skip_existing=True, multiple=True)
    report = run_batch(items, picker, opts, Callbacks(on_result=show))
    print(", ".join(f"{n} {status}" for status, n in report.counts.items()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
