"""Inpainting masks (1 = hole): free-form brush strokes, boxes, and thin scratches/cracks.

Drawn with OpenCV from a seeded ``numpy.random.Generator`` (rasterising strokes is what OpenCV is
for); the benchmark uses the same functions with fixed seeds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from enhance.ops.masks import boxes, scratches, strokes

MaskKind = Literal["strokes", "boxes", "scratches"]


GENERATORS = {"strokes": strokes, "boxes": boxes, "scratches": scratches}


KINDS: tuple[MaskKind, ...] = ("strokes", "boxes", "scratches")


def random_mask(
    rng: np.random.Generator,
    h: int,
    w: int,
    kind: MaskKind | None = None,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """A ``(h, w)`` uint8 mask of one kind (if None, drawn with ``weights`` for strokes, boxes, scratches)."""
    if kind is None:
        p = np.asarray(weights, np.float64)
        if p.shape != (3,) or (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"mask weights must be 3 non-negative numbers, not all 0; got {weights}")
        if np.all(p == p[0]):  # the uniform draw the shipped weights were trained with
            kind = KINDS[int(rng.integers(0, 3))]
        else:
            kind = KINDS[int(rng.choice(3, p=p / p.sum()))]
    m = GENERATORS[kind](rng, h, w)
    if m.sum() == 0:
        m[h // 2, w // 2] = 1
    return m


def mask_bank(n: int, size: int, seed: int, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """``(n, size, size)`` uint8 random masks (1 = hole), kinds drawn with ``weights``."""
    rng = np.random.default_rng(seed)
    return np.stack([random_mask(rng, size, size, weights=weights) for _ in range(n)])
