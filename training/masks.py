"""Inpainting masks (1 = hole): free-form brush strokes, boxes, and thin scratches/cracks.

Drawn with OpenCV from a seeded ``numpy.random.Generator`` (rasterising strokes is what OpenCV is
for); the benchmark uses the same functions with fixed seeds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

MaskKind = Literal["strokes", "boxes", "scratches"]


def strokes(rng: np.random.Generator, h: int, w: int, max_strokes: int = 4) -> np.ndarray:
    """Free-form brush strokes (random walks of thick lines with round joints)."""
    import cv2

    m = np.zeros((h, w), np.uint8)
    s = min(h, w)
    for _ in range(int(rng.integers(1, max_strokes + 1))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        width = int(rng.integers(max(3, s // 40), max(6, s // 10)))
        for _ in range(int(rng.integers(2, 8))):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(s / 16, s / 4)
            nx = int(np.clip(x + length * np.cos(angle), 0, w - 1))
            ny = int(np.clip(y + length * np.sin(angle), 0, h - 1))
            cv2.line(m, (x, y), (nx, ny), 1, width)
            cv2.circle(m, (nx, ny), width // 2, 1, -1)
            x, y = nx, ny
    return m


def boxes(rng: np.random.Generator, h: int, w: int, max_boxes: int = 2) -> np.ndarray:
    """One or more rectangles, each 10-35 % of the image side."""
    m = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, max_boxes + 1))):
        bh = int(rng.uniform(0.1, 0.35) * h)
        bw = int(rng.uniform(0.1, 0.35) * w)
        y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        m[y : y + bh, x : x + bw] = 1
    return m


def scratches(
    rng: np.random.Generator, h: int, w: int, max_lines: int = 6, max_width: int = 4, max_radius: int = 3
) -> np.ndarray:
    """Thin (1 to ``max_width`` px) long curved scratches and cracks, as on old prints, plus a few
    dust specks (radius 1 to ``max_radius`` px)."""
    import cv2

    m = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, max_lines + 1))):
        pts = []
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(3, 10))):
            pts.append((int(x), int(y)))
            angle += rng.normal(0, 0.3)
            step = rng.uniform(max(h, w) / 20, max(h, w) / 6)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
        pts.append((int(x), int(y)))
        cv2.polylines(m, [np.array(pts, np.int32)], False, 1, int(rng.integers(1, max_width + 1)))
    for _ in range(int(rng.integers(0, 12))):
        cv2.circle(m, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(1, max_radius + 1)), 1, -1)
    return m


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
