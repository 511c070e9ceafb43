"""Make the two example images from scikit-image's bundled data (run once; the PNGs are committed).

    python examples/make_example_images.py [--out DIR]

* ``astronaut_small.png``: 128x128 RGB, the face of ``skimage.data.astronaut()`` (NASA, public domain),
  a 256x256 crop averaged down 2x.
* ``camera_16bit.png``: 128x128 16-bit grayscale from ``skimage.data.camera()`` (CC0), averaged down
  4x in float so the 16-bit values carry real sub-8-bit detail.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image


def area_down(arr: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks of an (H, W[, C]) array (float64 result)."""
    h, w = arr.shape[0] // factor, arr.shape[1] // factor
    blocks = arr[: h * factor, : w * factor].astype(np.float64)
    return blocks.reshape(h, factor, w, factor, *arr.shape[2:]).mean(axis=(1, 3))


def make(out: Path) -> list[Path]:
    """Write both images into ``out`` and return their paths."""
    import skimage.data

    out.mkdir(parents=True, exist_ok=True)
    astronaut = area_down(skimage.data.astronaut()[0:256, 128:384], 2)
    rgb = np.clip(np.rint(astronaut), 0, 255).astype(np.uint8)
    a_path = out / "astronaut_small.png"
    Image.fromarray(rgb).save(a_path, optimize=True)

    camera = area_down(skimage.data.camera(), 4) / 255.0
    gray16 = np.clip(np.rint(camera * 65535.0), 0, 65535).astype(np.uint16)
    c_path = out / "camera_16bit.png"
    Image.fromarray(gray16).save(c_path)
    return [a_path, c_path]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="output folder (default: examples/)")
    args = parser.parse_args()
    for path in make(args.out):
        print(path)


if __name__ == "__main__":
    main()
