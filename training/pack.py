"""Pack HR training crops small enough to travel with the repository to a GPU machine.

``python -m enhance.training.pack OUT_DIR [--manifest training/splits/realsr.json] [--budget-mb 20]``
writes JPEG (q95, 4:4:4) crops of the split's training and validation images into ``OUT_DIR/train``
and ``OUT_DIR/val`` plus ``OUT_DIR/split.json`` (a manifest the trainers read with
``data.manifest``), keeping the total under the budget. Images up to ``--crop`` px are kept whole;
larger ones give their centre and random crops of that size, so every source photo is represented.
The device tool carries the tree and the pack together in 64 MiB, hence the default budget. ``--vgg``
copies the perceptual loss's VGG weights (MIT licence) into the pack, which has to travel too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from enhance.errors import ConfigError, EnhanceError


def _crops(rgb: np.ndarray, size: int, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = rgb.shape[:2]
    if h <= size and w <= size:
        return [rgb]
    ch, cw = min(h, size), min(w, size)
    out = [rgb[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]]
    for _ in range(n - 1):
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        out.append(rgb[y : y + ch, x : x + cw])
    return out


def pack(manifest: Path, root: Path, out: Path, crop: int = 256, per_image: int = 3, budget_mb: float = 20.0,
         seed: int = 0) -> dict[str, int]:
    """Write the pack; returns counts and bytes. Raises ConfigError when even one crop per image
    does not fit the budget."""
    from PIL import Image

    from .data import load_rgb_uint8, read_manifest

    train, val = read_manifest(manifest, root)
    rng = np.random.default_rng(seed)
    for n in range(per_image, 0, -1):
        files: dict[str, list[str]] = {"train": [], "val": []}
        total = 0
        for part, paths in (("train", train), ("val", val)):
            (out / part).mkdir(parents=True, exist_ok=True)
            for p in paths:
                rgb = load_rgb_uint8(p)
                for i, c in enumerate(_crops(rgb, crop, n if part == "train" else 1, rng)):
                    dst = out / part / f"{p.stem}_{i}.jpg"
                    Image.fromarray(np.ascontiguousarray(c)).save(dst, quality=95, subsampling=0)
                    total += dst.stat().st_size
                    files[part].append(f"{part}/{dst.name}")
        if total <= budget_mb * 2**20:
            (out / "split.json").write_text(json.dumps({**files, "dropped": {}}, indent=1) + "\n")
            return {"train": len(files["train"]), "val": len(files["val"]), "bytes": total, "per_image": n}
        for part in ("train", "val"):
            for f in (out / part).glob("*.jpg"):
                f.unlink()
    raise ConfigError(f"{out}: one {crop} px crop per image does not fit in {budget_mb} MB; lower --crop")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m enhance.training.pack")
    ap.add_argument("out", type=Path)
    ap.add_argument("--manifest", type=Path, default=Path("training/splits/realsr.json"))
    ap.add_argument("--root", type=Path, default=Path("../shared/data/train"))
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--per-image", type=int, default=3)
    ap.add_argument("--budget-mb", type=float, default=20.0)
    ap.add_argument("--vgg", type=Path, default=Path("../shared/data/models/vgg19_pruned/e5_base.pth"))
    args = ap.parse_args(argv)
    try:
        info = pack(args.manifest, args.root, args.out, args.crop, args.per_image, args.budget_mb)
    except EnhanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.vgg.is_file():
        import shutil

        shutil.copyfile(args.vgg, args.out / "vgg19_e5_base.pth")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
