"""Copy a trained generator into ``weights/`` as a release file and refresh the manifest.

``python -m enhance.training.release RUN_BEST.safetensors NAME [--fp16]`` (NAME e.g. ``sr-x4-gan``).
The architecture is the one the built-in table gives for NAME; loading checks that it fits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import load_file

from enhance.builtin import builtin_weights
from enhance.weightstore import save_weights, weights_dir, write_manifest


def release(src: Path, name: str, fp16: bool = False, folder: Path | None = None, meta: dict[str, str] | None = None) -> str:
    from enhance import defects

    from .detector import build_detector

    builders = {w.name: w.arch.build for w in builtin_weights()}
    builders[defects.WEIGHTS_FILE.removesuffix(".safetensors")] = lambda: build_detector(defects.BASE, defects.LEVELS)
    if name not in builders:
        raise SystemExit(f"unknown model name {name!r} (known: {', '.join(builders)})")
    net = builders[name]()
    net.load_state_dict(load_file(str(src)), strict=True)
    out = (folder or weights_dir()) / f"{name}.safetensors"
    digest = save_weights(net, out, {"name": name, **(meta or {})}, torch.float16 if fp16 else torch.float32)
    write_manifest(out.parent)
    return digest


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m enhance.training.release")
    ap.add_argument("src", type=Path)
    ap.add_argument("name")
    ap.add_argument("--fp16", action="store_true", help="store fp16 (half the size; loads into fp32)")
    ap.add_argument("--folder", type=Path, default=None, help="weights folder (default: the package's)")
    args = ap.parse_args()
    print(release(args.src, args.name, args.fp16, args.folder))


if __name__ == "__main__":
    main()
