"""Training data: scan, clean (with a report), split (with a manifest), decode once, sample crops.

Images are decoded once into uint8 ``(3, H, W)`` tensors held in memory (or on the GPU), so the
training loop spends its time on the model, not on JPEG decoding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from enhance.errors import ConfigError, EnhanceError


def scan_images(folders: list[str | Path]) -> list[Path]:
    """Every supported image under ``folders`` (recursive), sorted."""
    from enhance.io import is_supported

    out: list[Path] = []
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise ConfigError(f"{root}: training folder not found")
        out += [p for p in root.rglob("*") if p.is_file() and is_supported(p) and not p.name.startswith(".")]
    return sorted(out)


def load_rgb_uint8(path: Path, gray: bool = False) -> np.ndarray:
    """Read any supported image as uint8 ``(H, W, 3)`` RGB (alpha dropped; gray replicated)."""
    from enhance.io import read_image

    img = read_image(path)
    px = img.pixels
    if gray and px.shape[2] == 3:
        px = (px @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    if px.shape[2] == 1:
        px = np.repeat(px, 3, axis=2)
    return (np.clip(px, 0, 1) * 255 + 0.5).astype(np.uint8)


def laplacian_variance(rgb: np.ndarray, tile: int = 64) -> float:
    """Sharpness: the 90th percentile over 64x64 tiles of the variance of the Laplacian of the
    luminance (0-255 scale). Low means blurry everywhere; a sharp subject on a soft background
    (bokeh) still scores high, unlike the whole-image variance."""
    import cv2

    lap = cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F)
    h, w = lap.shape
    th, tw = max(1, h // tile), max(1, w // tile)
    tiles = lap[: th * tile, : tw * tile].reshape(th, min(h, tile), tw, min(w, tile)).var(axis=(1, 3))
    return float(np.percentile(tiles, 90))


def dhash(rgb: np.ndarray, size: int = 8) -> int:
    """Difference hash (64 bits): near-duplicates differ in only a few bits."""
    import cv2

    gray = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (size + 1, size), interpolation=cv2.INTER_AREA)
    bits = (gray[:, 1:] > gray[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


@dataclass
class CleanReport:
    kept: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # path -> reason

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")


def clean(
    paths: list[Path],
    min_size: int,
    blur_threshold: float = 20.0,
    dup_bits: int = 4,
) -> tuple[list[Path], CleanReport]:
    """Drop unreadable/truncated files, images smaller than ``min_size``, near-duplicates (dHash within
    ``dup_bits`` bits of an earlier image) and blurry images (Laplacian variance < ``blur_threshold``)."""
    report = CleanReport()
    hashes: list[tuple[int, str]] = []
    kept: list[Path] = []
    for p in paths:
        try:
            rgb = load_rgb_uint8(p)
        except EnhanceError as exc:
            report.dropped[str(p)] = f"unreadable: {exc}"
            continue
        h, w = rgb.shape[:2]
        if min(h, w) < min_size:
            report.dropped[str(p)] = f"too small ({w}x{h} < {min_size})"
            continue
        lv = laplacian_variance(rgb)
        if lv < blur_threshold:
            report.dropped[str(p)] = f"blurry (Laplacian variance {lv:.1f} < {blur_threshold})"
            continue
        dh = dhash(rgb)
        dup = next((q for hq, q in hashes if bin(hq ^ dh).count("1") <= dup_bits), None)
        if dup is not None:
            report.dropped[str(p)] = f"near-duplicate of {dup}"
            continue
        hashes.append((dh, str(p)))
        kept.append(p)
        report.kept.append(str(p))
    return kept, report


def split(paths: list[Path], val_fraction: float = 0.2, seed: int = 0) -> tuple[list[Path], list[Path]]:
    """Deterministic split by a hash of each file name (stable when files are added or reordered).

    With two or more images, both sides get at least one (the lowest hash goes to validation)."""
    scored = sorted((int(hashlib.sha1(f"{seed}:{p.name}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF, str(p), p)
                    for p in paths)
    n_val = sum(1 for h, _, _ in scored if h < val_fraction)
    if len(scored) >= 2:
        n_val = min(max(n_val, 1), len(scored) - 1)
    val_set = {id(p) for _, _, p in scored[:n_val]}
    return [p for p in paths if id(p) not in val_set], [p for p in paths if id(p) in val_set]


def _rel(p: Path | str, root: Path) -> str:
    try:
        return str(Path(p).relative_to(root))
    except ValueError:
        return str(p)


def write_manifest(path: Path, root: Path, train: list[Path], val: list[Path], report: CleanReport) -> None:
    """Save the split with paths relative to ``root`` (the first training folder), so it can be reused
    wherever the data lives."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"train": [_rel(p, root) for p in train], "val": [_rel(p, root) for p in val],
                                "dropped": {_rel(k, root): v for k, v in report.dropped.items()}}, indent=1) + "\n")


def read_manifest(path: Path, root: Path) -> tuple[list[Path], list[Path]]:
    data = json.loads(path.read_text())
    train, val = [root / p for p in data["train"]], [root / p for p in data["val"]]
    missing = [p for p in train + val if not p.is_file()]
    if missing:
        raise ConfigError(f"{path}: {len(missing)} listed images are missing under {root} (first: {missing[0]})")
    return train, val


def prepare(
    folders: list[str | Path],
    out_dir: Path,
    min_size: int,
    val_fraction: float = 0.2,
    seed: int = 0,
    blur_threshold: float = 20.0,
    manifest: Path | None = None,
) -> tuple[list[Path], list[Path]]:
    """Scan, clean and split (or reuse ``manifest``); writes ``clean_report.json`` and ``split.json``."""
    root = Path(folders[0])
    if manifest is not None:
        if not manifest.is_file():
            raise ConfigError(f"{manifest}: split manifest not found")
        return read_manifest(manifest, root)
    kept, report = clean(scan_images(folders), min_size, blur_threshold)
    report.write(out_dir / "clean_report.json")
    train, val = split(kept, val_fraction, seed)
    if not train or not val:
        raise ConfigError(f"not enough usable images after cleaning ({len(kept)} kept) for a train/val split")
    write_manifest(out_dir / "split.json", root, train, val, report)
    return train, val


class ImageBank:
    """Decoded images as uint8 ``(3, H, W)`` tensors on one device; samples augmented random crops."""

    def __init__(self, paths: list[Path], device: torch.device, gray: bool = False) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor() as pool:
            arrays = list(pool.map(lambda p: load_rgb_uint8(p, gray), paths))
        self.images = [torch.from_numpy(a).permute(2, 0, 1).contiguous().to(device) for a in arrays]
        self.device = device
        sizes = torch.tensor([im.shape[1] * im.shape[2] for im in self.images], dtype=torch.float64)
        self.weights = sizes / sizes.sum()  # sample big images more often, per pixel

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, batch: int, size: int, gen: torch.Generator, augment: bool = True) -> torch.Tensor:
        """``(batch, 3, size, size)`` float crops in [0, 1] with random flips and 90-degree rotations."""
        idx = torch.multinomial(self.weights, batch, replacement=True, generator=gen)
        crops = []
        for i in idx.tolist():
            im = self.images[i]
            _, h, w = im.shape
            y = int(torch.randint(0, h - size + 1, (1,), generator=gen))
            x = int(torch.randint(0, w - size + 1, (1,), generator=gen))
            crops.append(im[:, y : y + size, x : x + size])
        out = torch.stack(crops).float().div_(255.0)
        if augment:
            flags = torch.randint(0, 2, (3,), generator=gen).tolist()
            if flags[0]:
                out = out.flip(3)
            if flags[1]:
                out = out.flip(2)
            if flags[2]:
                out = out.transpose(2, 3)
        return out

    def center_crops(self, size: int, limit: int | None = None) -> torch.Tensor:
        """Fixed validation crops: the central ``size`` x ``size`` of each image."""
        crops = []
        for im in self.images[:limit]:
            _, h, w = im.shape
            y, x = (h - size) // 2, (w - size) // 2
            crops.append(im[:, y : y + size, x : x + size])
        return torch.stack(crops).float().div_(255.0)
