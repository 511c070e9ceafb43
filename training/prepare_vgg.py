"""Convert the pruned VGG-19 encoder (``.pth``) to safetensors for the perceptual loss.

The only place that reads a pickle-based file, and it does so with ``torch.load(weights_only=True)``
(no code execution). Usage: ``python -m enhance.training.prepare_vgg SRC.pth DST.safetensors``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file


def convert(src: Path, dst: Path) -> None:
    state = torch.load(src, map_location="cpu", weights_only=True)
    state = {k: v.float().contiguous() for k, v in state.items() if not k.endswith("_aux.weight") and "_aux" not in k}
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(dst))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m enhance.training.prepare_vgg SRC.pth DST.safetensors")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
