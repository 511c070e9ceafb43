"""Representative tiles for calibration, fine-tuning and quick quality checks.

Images come from a folder (``--calib DIR``) or, by default, from the photos bundled in
``exporters/photos`` (scikit-image's public-domain / CC0 sample photos, so a plain install needs
neither scikit-image nor a download; see ``photos/SOURCES.md``). Tiles match what each task's
network sees at inference:

- upscale: low-resolution tiles (MATLAB bicubic downscale of a high-resolution crop);
- denoise: noisy tiles (Gaussian, sigma 5-50) plus the sigma map channel;
- inpaint: tiles with a box hole zeroed plus the mask channel (thin-hole models: scratches, filled by
  Navier-Stokes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from enhance.errors import InvalidInputError
from enhance.spec import ModelSpec

PHOTOS_DIR = Path(__file__).resolve().parent / "photos"
BUNDLED_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def bundled_photo(name: str) -> np.ndarray:
    """One of :data:`BUNDLED_PHOTOS` as ``(H, W, 3)`` float32 in [0, 1]."""
    from enhance import io

    return io.read_image(PHOTOS_DIR / f"{name}.jpg").pixels


def load_images(calib_dir: str | Path | None = None, limit: int = 32) -> list[np.ndarray]:
    """``(H, W, 3)`` float32 images in [0, 1]: from ``calib_dir`` (sorted), else the bundled photos."""
    if calib_dir is None:
        return [bundled_photo(name) for name in BUNDLED_PHOTOS]
    from enhance import io

    folder = Path(calib_dir)
    if not folder.is_dir():
        raise InvalidInputError(f"{folder}: calibration folder not found")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise InvalidInputError(f"{folder}: no images to calibrate on")
    out = []
    for p in files:
        px = io.read_image(p).pixels
        out.append(np.repeat(px, 3, axis=2) if px.shape[2] == 1 else px)
    return out


@dataclass(frozen=True)
class Pair:
    """A network input ``(1, C, h, w)`` and its clean target ``(1, 3, h*s, w*s)``."""

    input: torch.Tensor
    target: torch.Tensor


def _crop(img: np.ndarray, size: int, gen: torch.Generator) -> torch.Tensor:
    h, w = img.shape[:2]
    if h < size or w < size:
        raise InvalidInputError(f"image {w}x{h} is smaller than a {size}px tile")
    y = int(torch.randint(0, h - size + 1, (1,), generator=gen))
    x = int(torch.randint(0, w - size + 1, (1,), generator=gen))
    return torch.from_numpy(np.ascontiguousarray(img[y : y + size, x : x + size])).permute(2, 0, 1)[None].float()


def make_pair(spec: ModelSpec, img: np.ndarray, size: int, gen: torch.Generator) -> Pair:
    """One training/calibration pair for ``spec``'s task; ``size`` is the input tile side."""
    if spec.task == "upscale":
        from enhance.ops.resize import downscale

        hr = _crop(img, size * spec.scale, gen)
        return Pair(downscale(hr, spec.scale), hr)
    clean = _crop(img, size, gen)
    if spec.condition == "sigma":
        sigma = float(torch.empty(1).uniform_(5.0, 50.0, generator=gen)) / 255.0
        noisy = (clean + sigma * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
        return Pair(torch.cat([noisy, torch.full_like(clean[:, :1], sigma)], 1), clean)
    if spec.condition == "mask" and spec.prefill == "ns":  # thin holes, filled by Navier-Stokes first
        from enhance.holes import prefill_batch
        from enhance.ops.masks import scratches

        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        mask = torch.from_numpy((scratches(rng, size, size) > 0).astype(np.float32))[None, None]
        return Pair(torch.cat([prefill_batch(clean, mask), mask], 1), clean)
    if spec.condition == "mask":
        mask = torch.zeros_like(clean[:, :1])
        bh, bw = (int(torch.randint(size // 8, size // 2, (1,), generator=gen)) for _ in range(2))
        y0 = int(torch.randint(0, size - bh, (1,), generator=gen))
        x0 = int(torch.randint(0, size - bw, (1,), generator=gen))
        mask[:, :, y0 : y0 + bh, x0 : x0 + bw] = 1.0
        return Pair(torch.cat([clean * (1 - mask), mask], 1), clean)
    return Pair(clean, clean)


def tile_pairs(
    spec: ModelSpec, n: int = 32, size: int = 64, calib_dir: str | Path | None = None, seed: int = 0
) -> list[Pair]:
    """``n`` pairs of ``size``-pixel input tiles (rounded up to the size multiple), round-robin over images."""
    m = max(1, spec.size_multiple)
    size = -(-size // m) * m
    images = [im for im in load_images(calib_dir) if min(im.shape[:2]) >= size * spec.scale]
    if not images:
        raise InvalidInputError(f"no calibration image is at least {size * spec.scale} pixels on a side")
    gen = torch.Generator().manual_seed(seed)
    return [make_pair(spec, images[i % len(images)], size, gen) for i in range(n)]


def mean_psnr(fn, pairs: list[Pair]) -> float:  # type: ignore[no-untyped-def]
    """Mean PSNR (dB, RGB, [0, 1] range) of ``fn(input).clamp(0, 1)`` against the targets.

    ``fn`` maps a ``(1, C, h, w)`` tensor to ``(1, 3, h*s, w*s)``: a torch network or an ORT runner.
    """
    vals = []
    with torch.no_grad():
        for p in pairs:
            out = torch.as_tensor(fn(p.input)).float().clamp(0, 1)
            mse = float(((out - p.target) ** 2).mean())
            vals.append(10 * np.log10(1.0 / max(mse, 1e-12)))
    return float(np.mean(vals))
