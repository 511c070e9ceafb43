"""Learned detection of print damage: cracks, creases, tears, emulsion loss, scratches and dust.

The detector is a small U-Net (``weights/defects.safetensors``, card ``weights/defects.md``)
trained on photos aged and damaged by :mod:`enhance.training.damage`; it returns the probability
that each pixel is damage, and :meth:`DefectDetector.detect` thresholds it into the hole mask
``restore`` fills. ``sensitivity`` divides the odds the threshold asks for: 1 is the calibrated
threshold (:data:`THRESHOLD`), 2 flags pixels at half those odds (fainter damage, more false
alarms), 0.5 at twice.

It is not an :class:`enhance.engine.Enhancer` (its output is a mask, not an image) and so not in
the model registry; :func:`shipped` loads the one we ship, verified against the manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from enhance.errors import InvalidInputError, WeightsError
from enhance.tiling import run_tiled
from enhance.weightstore import load_weights, read_manifest, weights_dir

WEIGHTS_FILE = "defects.safetensors"
#: the architecture of the shipped file (``training/detector.py: build_detector``)
BASE, LEVELS = 16, 4
#: probability threshold at sensitivity 1: on the training run's validation bank F1 is flat from 0.5 to
#: 0.85 (0.69), and 0.8 flags half as much on the undamaged prints as 0.5
THRESHOLD = 0.8
#: tiles of this many pixels per side keep the activations of big scans small; the overlap covers
#: the receptive field (the coarsest level sees about 100 px), so tiles blend without seams
TILE, OVERLAP = 768, 64
#: the mask grows by this many px: the soft rim of a crack is damage too, and the fill needs it
GROW = 1
#: the shape of damage: cracks, creases, scratches and hairs are long and narrow, dust specks are
#: small. A detected region is kept when it is at most ``MAX_WIDTH`` px wide (or ``MAX_WIDTH_FRACTION``
#: of the short side, if more) and either elongated (area / width**2 >= ``MIN_ELONGATION``) or no
#: wider than a speck (``DUST_WIDTH`` px, or ``DUST_WIDTH_FRACTION`` of the short side). What the
#: network takes for bare paper on real prints is mostly compact and wide: white collars and shirts,
#: highlights on a cheek; a fill there would smear a face, so those regions are dropped (and with
#: them the rare compact flake of emulsion loss, which ``--mask`` can still add).
MAX_WIDTH, MAX_WIDTH_FRACTION = 24, 0.04
MIN_ELONGATION = 3.0
DUST_WIDTH, DUST_WIDTH_FRACTION = 5, 0.004


def threshold(sensitivity: float) -> float:
    """The probability threshold for ``sensitivity`` (> 0): the odds of :data:`THRESHOLD` / sensitivity."""
    if sensitivity <= 0:
        raise InvalidInputError(f"sensitivity must be > 0, got {sensitivity}")
    odds = THRESHOLD / (1 - THRESHOLD) / sensitivity
    return odds / (1 + odds)


class DefectDetector:
    """A defect detector on ``device``: :meth:`probability` and :meth:`detect` on ``(H, W, C)`` pixels."""

    def __init__(self, net: torch.nn.Module, device: str | torch.device = "cpu", name: str = "defects") -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.name = name
        self.multiple = 2**LEVELS

    @classmethod
    def from_file(cls, path: Path, sha256: str | None, device: str | torch.device = "cpu") -> DefectDetector:
        from enhance.archs.unet import UNetRestorer

        net = UNetRestorer(extra_channels=0, base=BASE, levels=LEVELS, residual=False, out_channels=1)
        load_weights(net, path, sha256)
        return cls(net, device, path.stem)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        return torch.sigmoid(self.net(x.to(self.device)))[:, :, :h, :w]

    def probability(self, pixels: np.ndarray) -> np.ndarray:
        """``(H, W)`` float32 probability of damage for float pixels ``(H, W, C)`` in [0, 1] (C = 1 or 3)."""
        if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
            raise InvalidInputError(f"expected (H, W, 1) or (H, W, 3) pixels, got shape {pixels.shape}")
        rgb = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
        x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].clamp_(0, 1)
        with torch.inference_mode():
            p = run_tiled(self._run, x, 1, TILE, OVERLAP, out_channels=1, align=self.multiple)
        return p[0, 0].numpy()

    def detect(self, pixels: np.ndarray, sensitivity: float = 1.0, shape_filter: bool = True) -> np.ndarray:
        """``(H, W)`` bool defect mask: probability above :func:`threshold`, only regions shaped like
        damage (:func:`damage_shaped`, unless ``shape_filter`` is False), grown by :data:`GROW` px."""
        return decide(self.probability(pixels), threshold(sensitivity), shape_filter)


def decide(prob: np.ndarray, min_probability: float, shape_filter: bool = True) -> np.ndarray:
    """The defect mask of a probability map: above ``min_probability``, only regions shaped like
    damage (unless ``shape_filter`` is False), grown by :data:`GROW` px (:meth:`DefectDetector.detect`)."""
    mask = prob > min_probability
    if shape_filter:
        mask = damage_shaped(mask)
    return grow(mask, GROW)


def damage_shaped(mask: np.ndarray) -> np.ndarray:
    """``mask`` with only its connected regions shaped like damage (see :data:`MIN_ELONGATION`)."""
    if not mask.any():
        return mask
    import cv2

    short = min(mask.shape)
    max_width = max(MAX_WIDTH, MAX_WIDTH_FRACTION * short)
    dust = max(DUST_WIDTH, DUST_WIDTH_FRACTION * short)
    m8 = mask.astype(np.uint8)
    n, raw = cv2.connectedComponents(m8, connectivity=8)
    labels = np.asarray(raw, dtype=np.intp)
    half_width = cv2.distanceTransform(m8, cv2.DIST_L2, 3)
    width = np.zeros(n, np.float32)
    np.maximum.at(width, labels.ravel(), half_width.ravel())
    width *= 2
    area = np.bincount(labels.ravel(), minlength=n).astype(np.float32)
    elongation = area / np.maximum(width, 1.0) ** 2
    keep = (width <= max_width) & ((elongation >= MIN_ELONGATION) | (width <= dust))
    keep[0] = False
    return keep[labels]


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    if px <= 0 or not mask.any():
        return mask
    import cv2

    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool)


def available() -> bool:
    """Whether the shipped detector is installed (its file and manifest entry)."""
    return (weights_dir() / WEIGHTS_FILE).is_file() and WEIGHTS_FILE in read_manifest()


@dataclass(frozen=True)
class DetectorInfo:
    """What ``enhance models`` shows of the shipped detector (read from its file and the manifest)."""

    name: str
    path: Path
    parameters: int
    bytes: int
    metrics: Mapping[str, float] = field(default_factory=dict)


def shipped_info() -> DetectorInfo | None:
    """The shipped detector's file, size, parameter count and measured metrics (None if not installed).
    Reads the safetensors header only: no network is built and no tensor loaded."""
    if not available():
        return None
    from safetensors import safe_open

    path = weights_dir() / WEIGHTS_FILE
    try:
        with safe_open(str(path), framework="np") as fh:
            parameters = sum(int(np.prod(fh.get_slice(k).get_shape())) for k in fh.keys())
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for a bad header
        raise WeightsError(f"{path}: unreadable weight file ({exc})") from exc
    raw = read_manifest()[WEIGHTS_FILE].get("metrics") or {}
    metrics = {str(k): float(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return DetectorInfo(path.stem, path, parameters, path.stat().st_size, metrics)


@lru_cache(maxsize=4)
def shipped(device: str = "cpu") -> DefectDetector:
    """The shipped detector on ``device`` (loaded once per device)."""
    entry = read_manifest().get(WEIGHTS_FILE)
    if entry is None:
        raise WeightsError(f"{WEIGHTS_FILE}: the defect detector is not installed (no manifest entry)")
    return DefectDetector.from_file(weights_dir() / WEIGHTS_FILE, str(entry["sha256"]), device)
