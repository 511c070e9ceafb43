"""Synthetic hole masks (1 = hole): brush strokes, boxes and thin scratches with dust.

Drawn with OpenCV from a seeded ``numpy.random.Generator``. Training, the benchmarks and int8
calibration draw from the same functions.
"""

from __future__ import annotations

import numpy as np


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
