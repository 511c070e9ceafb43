"""Upscale one image with the Python API.

    python examples/api_upscale.py [IMAGE] [--scale 4] [--model NAME] [--out FILE] [--device cpu]

Without ``--model`` the installed default upscaler for the scale is used (``enhance models`` lists
them). The same call works on numpy arrays: ``enhance.upscale(array, 4)`` returns an array of the
same dtype and channel layout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

import enhance

HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description="Upscale one image with enhance.load(...)")
    parser.add_argument("image", nargs="?", type=Path, default=HERE / "astronaut_small.png")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4))
    parser.add_argument("--model", help="model name (default: the installed upscaler for --scale)")
    parser.add_argument("--out", type=Path, help="output file (default: <name>_x<scale>.png here)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    try:
        enhancer = enhance.load(args.model or "upscale", None if args.model else args.scale, device=args.device)
    except enhance.EnhanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    scale = enhancer.spec.scale
    with Image.open(args.image) as img:
        result = enhancer(img)  # PIL in, PIL out (same mode)
        print(f"{args.image.name}: {img.size} -> {result.size} with {enhancer.spec.name}")
    out = args.out or Path(f"{args.image.stem}_x{scale}.png")
    result.save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
