"""Realistic print damage for the defect detector: old-looking photos with cracks, creases, tears.

:func:`old_print` turns a clean photo into a damaged scan of an old print and returns the exact
defect mask with it. Two stages, as a print ages and is then scanned:

* :func:`age` makes the photo look old without damaging it: monochrome, sepia or hand-tinted, faded
  and low in contrast, blurred, uneven light, stains, halftone screens and film grain. None of
  this is in the mask: the detector must learn to leave it alone (``restore`` does not paint over
  a stain or the grain; fading is the ``--auto-levels`` repair's job).
* :func:`damage` draws the defects that ``restore`` must find and fill, each into the mask:
  branching crack networks (random walks that split), craquelure (cell boundaries of a random
  Voronoi tiling), creases (long gentle curves with a bright and a shaded side), wide cracks and
  emulsion loss that show the paper (cream with its texture, ragged edges), dark scratches, dust,
  hairs, and torn or missing corners. Widths run from 1 to 20 px. :func:`hard_positive` adds fine
  bright cracks over the dark parts of a given scan (the positive twin of a hard negative).

Everything is numpy / OpenCV on ``(H, W, 3)`` float32 in [0, 1] from one ``numpy.random.Generator``,
so a seed gives the same sample everywhere (training banks and the benchmark use the same code).
The mask holds the pixels a defect *visibly* changed (``COVER``, ``VISIBLE``, ``STRONG``): a white
crack over a white sky changes nothing there and is no defect to find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

#: A defect pixel is in the mask when the defect covers it at least this much (soft edges) ...
COVER = 0.35
#: ... and changes it by at least this much (max over RGB, on [0, 1]);
VISIBLE = 0.05
#: a pixel changed this much is damage however little the defect covers it (a ragged rim)
STRONG = 0.12
#: the ridge of a pressed crease (:func:`pressed_crease`) is damage wherever it changes the pixel
#: this much: its alpha is mostly below ``COVER``, and on real scans such ridges are plain to see
FAINT_VISIBLE = 0.04
#: ... and at least this many times the picture's own local std (grain, texture) beside it: under
#: heavy grain such a ridge cannot be seen, and a mask there only teaches the detector to guess
TEXTURE_MARGIN = 1.5

Rng = np.random.Generator


@dataclass
class Paper:
    """Paper textures (grayscale, zero mean, unit std) to show through cracks and tears."""

    textures: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def load(cls, paths: Sequence[str]) -> Paper:
        out = []
        for p in paths:
            g = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
            if g is None:
                raise FileNotFoundError(f"{p}: cannot read texture")
            g = g.astype(np.float32)
            out.append((g - g.mean()) / max(float(g.std()), 1e-3))
        return cls(out)

    def sample(self, rng: Rng, h: int, w: int) -> np.ndarray:
        """An ``(h, w)`` texture patch (fine random noise when no textures are loaded)."""
        if not self.textures:
            n = rng.standard_normal((h, w)).astype(np.float32)
            return cv2.GaussianBlur(n, (0, 0), 1.0) * 2.0
        t = self.textures[int(rng.integers(len(self.textures)))]
        scale = rng.uniform(0.5, 1.5)
        th, tw = t.shape
        if th * scale < h + 2 or tw * scale < w + 2:
            scale = max((h + 2) / th, (w + 2) / tw)
        t = cv2.resize(t, (int(tw * scale) + 1, int(th * scale) + 1), interpolation=cv2.INTER_AREA)
        y, x = int(rng.integers(0, t.shape[0] - h + 1)), int(rng.integers(0, t.shape[1] - w + 1))
        return t[y : y + h, x : x + w]


def _lum(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _local_std(rgb: np.ndarray, size: int = 5) -> np.ndarray:
    """The std of the luminance over ``size`` x ``size`` px around each pixel."""
    lum = _lum(rgb)
    mean = cv2.blur(lum, (size, size))
    sq: np.ndarray = np.sqrt(np.maximum(cv2.blur(lum * lum, (size, size)) - mean * mean, 0))
    return sq


def _smooth_noise(rng: Rng, h: int, w: int, scale: float) -> np.ndarray:
    """Low-frequency noise with features about ``scale`` px across, zero mean, unit std."""
    sh, sw = max(2, int(h / scale) + 2), max(2, int(w / scale) + 2)
    n: np.ndarray = rng.standard_normal((sh, sw)).astype(np.float32)
    n = cv2.resize(n, (w, h), interpolation=cv2.INTER_CUBIC)
    return (n - n.mean()) / max(float(n.std()), 1e-6)


def _paper_colour(rng: Rng) -> np.ndarray:
    """White to cream to light brown: the paper base of a print."""
    v = rng.uniform(0.78, 1.0)
    warm = rng.uniform(0.0, 0.12)
    return np.array([v, v - warm * 0.5, v - warm], np.float32).clip(0, 1)


# ------------------------------------------------------------------------------------------- ageing


def age(rng: Rng, rgb: np.ndarray) -> np.ndarray:
    """The photo as an old print looks before any defect: tone, fading, blur, light, stains, grain."""
    h, w, _ = rgb.shape
    out: np.ndarray = rgb.astype(np.float32)
    lum = _lum(out)
    r = rng.random()
    if r < 0.55:  # monochrome: neutral, sepia, or a cold / warm toner
        tone = rng.random()
        if tone < 0.45:
            dark = np.array([0.16, 0.10, 0.06], np.float32) * rng.uniform(0.3, 1.2)
            light = np.array([1.0, 0.94, 0.80], np.float32) * rng.uniform(0.9, 1.0)
        elif tone < 0.85:
            dark, light = np.zeros(3, np.float32), np.ones(3, np.float32)
        else:
            dark = rng.uniform(0.0, 0.12, 3).astype(np.float32)
            light = rng.uniform(0.85, 1.0, 3).astype(np.float32)
        out = dark + lum[..., None] * (light - dark)
    elif r < 0.65:  # hand-tinted: monochrome with a little of the colour painted back
        k = rng.uniform(0.2, 0.6)
        out = lum[..., None] * (1 - k) + out * k
    else:  # faded colour: less saturation, a colour cast
        sat = rng.uniform(0.3, 1.0)
        out = lum[..., None] + (out - lum[..., None]) * sat
        out = out * rng.uniform(0.85, 1.1, 3).astype(np.float32)
    # fading: lifted blacks, dimmed whites, a gamma
    lo, hi = rng.uniform(0.0, 0.25), rng.uniform(0.72, 1.0)
    out = lo + (hi - lo) * np.clip(out, 0, 1) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.6:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.6))
    if rng.random() < 0.5:  # uneven light or fading across the print
        field_ = 1 + rng.uniform(0.03, 0.15) * _smooth_noise(rng, h, w, rng.uniform(60, 300))
        out = out * field_[..., None]
    if rng.random() < 0.3:
        out = _stains(rng, out)
    if rng.random() < 0.05:
        out = _halftone(rng, out)
    if rng.random() < 0.85:  # film grain: luminance, clumped
        g: np.ndarray = rng.standard_normal((h, w)).astype(np.float32)
        gs = rng.uniform(0.0, 1.2)
        if gs > 0.3:
            g = cv2.GaussianBlur(g, (0, 0), gs)
            g = g / max(float(g.std()), 1e-6)
        out = out + rng.uniform(0.005, 0.06) * g[..., None]
    return np.clip(out, 0, 1).astype(np.float32)


def _stains(rng: Rng, rgb: np.ndarray) -> np.ndarray:
    """Soft yellow-brown blotches and tide lines of water stains (not defects to fill)."""
    h, w, _ = rgb.shape
    out = rgb
    for _ in range(int(rng.integers(1, 4))):
        n = _smooth_noise(rng, h, w, rng.uniform(20, 120))
        blob = np.clip((n - rng.uniform(0.5, 1.8)) * rng.uniform(0.5, 2.0), 0, 1)
        if rng.random() < 0.4:  # tide line: the rim of the blob is darker
            blob = blob + 2 * np.clip(0.3 - np.abs(n - 1.0), 0, 0.3)
        colour = np.array([0.75, 0.6, 0.35], np.float32) * rng.uniform(0.7, 1.1)
        a = (np.clip(blob, 0, 1) * rng.uniform(0.1, 0.45))[..., None]
        out = out * (1 - a) + out * colour * a
    return out


def _halftone(rng: Rng, rgb: np.ndarray) -> np.ndarray:
    """A printed (newspaper, postcard) image: a rotated dot screen, seen through a little blur."""
    h, w, _ = rgb.shape
    period = rng.uniform(3.0, 6.0)
    a = rng.uniform(0, np.pi / 2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = (xx * np.cos(a) + yy * np.sin(a)) / period, (-xx * np.sin(a) + yy * np.cos(a)) / period
    screen = 0.5 + 0.25 * (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v))
    lum = _lum(rgb)
    ink = (lum < screen).astype(np.float32)
    ink = cv2.GaussianBlur(ink, (0, 0), period / 3)
    paper = rgb.max(axis=(0, 1))
    return (paper * (1 - ink[..., None] * (1 - rgb.min(axis=(0, 1)) / np.maximum(paper, 1e-3)))).astype(np.float32)


# ------------------------------------------------------------------------------------------ defects


@dataclass
class Layer:
    """Where a defect covers the print (``alpha``, soft edges) and what shows there (``colour``)."""

    alpha: np.ndarray  # (H, W) float32 in [0, 1]
    colour: np.ndarray  # (H, W, 3) float32


def _walk(rng: Rng, x: float, y: float, angle: float, length: float, step: float, wiggle: float) -> np.ndarray:
    n = max(2, int(length / step))
    turns = np.cumsum(rng.normal(0, wiggle, n))
    ang = angle + turns
    xs = x + np.cumsum(step * np.cos(ang))
    ys = y + np.cumsum(step * np.sin(ang))
    return np.stack([np.r_[x, xs], np.r_[y, ys]], 1)


def _draw_polyline(a: np.ndarray, pts: np.ndarray, width: float) -> None:
    """Antialiased polyline of ``width`` px (sub-pixel widths as fainter 1 px lines)."""
    p = np.round(pts * 16).astype(np.int32).reshape(-1, 1, 2)
    t = max(1, int(round(width)))
    layer = np.zeros_like(a)
    cv2.polylines(layer, [p], False, 1.0, t, cv2.LINE_AA, shift=4)
    if width < 1:
        layer *= width
    np.maximum(a, layer, out=a)


def _ragged(rng: Rng, a: np.ndarray, amount: float) -> np.ndarray:
    """Ragged edges: the shape's blurred alpha plus fine noise, re-thresholded (softly)."""
    h, w = a.shape
    s = max(0.7, amount)
    soft = cv2.GaussianBlur(a, (0, 0), s)
    noise = _smooth_noise(rng, h, w, rng.uniform(1.5, 4.0)) * 0.18
    return np.clip((soft + noise - 0.5) * 4 + 0.5, 0, 1)


def _paper_fill(rng: Rng, paper: Paper, h: int, w: int, base: np.ndarray | None = None) -> np.ndarray:
    c = _paper_colour(rng) if base is None else base
    tex = paper.sample(rng, h, w) * rng.uniform(0.01, 0.06)
    return np.clip(c + tex[..., None], 0, 1).astype(np.float32)


def crack_network(rng: Rng, h: int, w: int, paper: Paper) -> Layer:
    """Cracks that branch and wander across the print: white (the paper shows) or, less often, dark."""
    a = np.zeros((h, w), np.float32)
    s = max(h, w)
    for _ in range(int(rng.integers(1, 5))):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        stack = [(x, y, rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 1.2) * s, rng.uniform(0.6, 4.0))]
        count = 0
        while stack and count < 14:
            x, y, ang, length, width = stack.pop()
            pts = _walk(rng, x, y, ang, length, rng.uniform(2, 5), rng.uniform(0.05, 0.3))
            _draw_polyline(a, pts, width)
            count += 1
            for _ in range(int(rng.poisson(1.2))):  # branches from random points along the crack
                k = int(rng.integers(1, len(pts)))
                bx, by = pts[k]
                d = pts[k] - pts[k - 1]
                base = float(np.arctan2(d[1], d[0]))
                stack.append(
                    (bx, by, base + rng.choice([-1, 1]) * rng.uniform(0.4, 1.4), length * rng.uniform(0.2, 0.6), width * rng.uniform(0.5, 0.9))
                )
    if rng.random() < 0.5:
        a = np.maximum(a, _ragged(rng, a, 0.8) * (a > 0.05))
    colour = _paper_fill(rng, paper, h, w) if rng.random() < 0.8 else np.full((h, w, 3), rng.uniform(0.0, 0.2), np.float32)
    return Layer(a, colour)


def craquelure(rng: Rng, h: int, w: int, paper: Paper) -> Layer:
    """A patch of fine cell-like cracking (boundaries of a jittered Voronoi tiling)."""
    cell = rng.uniform(8, 40)
    n = max(4, int(h * w / cell**2))
    seeds = np.ones((h, w), np.uint8)
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    seeds[ys, xs] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    # warp the label map a little so the boundaries are not straight
    dx = _smooth_noise(rng, h, w, cell) * cell * 0.15
    dy = _smooth_noise(rng, h, w, cell) * cell * 0.15
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    lab = cv2.remap(labels.astype(np.float32), gx + dx, gy + dy, cv2.INTER_NEAREST)
    edge = np.zeros((h, w), np.float32)
    edge[:, 1:] = np.maximum(edge[:, 1:], (lab[:, 1:] != lab[:, :-1]).astype(np.float32))
    edge[1:, :] = np.maximum(edge[1:, :], (lab[1:, :] != lab[:-1, :]).astype(np.float32))
    region = _smooth_noise(rng, h, w, rng.uniform(40, 150)) > rng.uniform(-0.2, 1.0)
    keep = _smooth_noise(rng, h, w, cell * 0.7) > rng.uniform(-0.8, 0.3)  # not every boundary cracks
    a: np.ndarray = edge * region * keep
    if rng.random() < 0.4:
        a = cv2.dilate(a, np.ones((2, 2), np.uint8))
    colour = _paper_fill(rng, paper, h, w) if rng.random() < 0.7 else np.full((h, w, 3), rng.uniform(0.0, 0.25), np.float32)
    return Layer(a.astype(np.float32), colour)


def _fold_line(rng: Rng, h: int, w: int, bend: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fold's path: a chord from one edge of the print to another, bent through a midpoint
    displaced by ``bend`` x the print's size, with a little wobble: ``(points (200, 2), p0, p1)``."""
    s = max(h, w)

    def on_edge(side: int, t: float) -> np.ndarray:
        return np.array([(t * w, -5.0), (w + 5.0, t * h), (t * w, h + 5.0), (-5.0, t * h)][side], np.float32)

    side = int(rng.integers(4))
    p0 = on_edge(side, rng.uniform(0, 1))
    p1 = on_edge((side + int(rng.choice([1, 2, 2, 3]))) % 4, rng.uniform(0, 1))
    mid = (p0 + p1) / 2 + rng.normal(0, bend * s, 2)
    tt = np.linspace(0, 1, 200)[:, None]
    pts = (1 - tt) ** 2 * p0 + 2 * (1 - tt) * tt * mid + tt**2 * p1
    return pts + np.cumsum(rng.normal(0, 0.3, pts.shape), 0), p0, p1


def crease(rng: Rng, rgb: np.ndarray, paper: Paper, faint: bool = False) -> tuple[Layer, np.ndarray]:
    """A fold: a long gentle curve, a bright broken line of paper along it and a shaded side.

    Returns the bright line as a layer and the shading as a multiplicative ``(H, W)`` field (< 1
    where shaded), which the caller applies and masks where it is visible. ``faint``: the fold of
    a print pressed flat again, as on real scans: a nearly straight hairline of paper (1-2 px, half
    shown at most) beside a narrow, light shadow, barely darker than the picture; the ordinary
    crease's shadow is 2-8 px wide and up to 45 % dark.
    """
    h, w, _ = rgb.shape
    pts, p0, p1 = _fold_line(rng, h, w, 0.03 if faint else 0.08)
    a = np.zeros((h, w), np.float32)
    width = rng.uniform(0.8, 2.0) if faint else rng.uniform(1.0, 6.0)
    _draw_polyline(a, pts, width)
    a *= rng.uniform(0.15, 0.5) if faint else rng.uniform(0.3, 1.0)  # most creases are faint: the paper barely shows
    # the bright line is broken where the emulsion held
    a *= np.clip(_smooth_noise(rng, h, w, rng.uniform(6, 30)) * 1.5 + rng.uniform(0.0, 1.5), 0, 1)
    shade_line: np.ndarray = np.zeros((h, w), np.float32)
    normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]], np.float32)
    normal /= max(float(np.linalg.norm(normal)), 1e-6)
    # the shadow's ranges (px from the line, px wide, px of blur, darkening)
    gap, band, blur, dark = ((0.5, 1.5), (1.0, 2.5), (0.5, 1.2), (0.08, 0.22)) if faint else \
        ((1, 4), (2, 8), (1, 3), (0.15, 0.45))
    offset = normal * (width / 2 + rng.uniform(*gap)) * rng.choice([-1, 1])
    _draw_polyline(shade_line, pts + offset, rng.uniform(*band))
    shade_line = cv2.GaussianBlur(shade_line, (0, 0), rng.uniform(*blur))
    shade = 1 - shade_line * rng.uniform(*dark)
    return Layer(a, _paper_fill(rng, paper, h, w)), shade.astype(np.float32)


def pressed_crease(rng: Rng, rgb: np.ndarray, paper: Paper) -> tuple[Layer, np.ndarray]:
    """A fold pressed flat again, as the creases of real scanned prints look across: a bright
    ridge 1.5-3 px wide, 5-40 % of the way from the picture's tone to the paper's and unbroken for
    most of its length, a softer, slightly brighter shoulder on one side and at most a thin, faint
    dark line on the other; most run in from an edge and fade out inside the picture.

    Returns the ridge as a layer and the shoulder (and the rare faint shadow) as a multiplicative
    ``(H, W)`` field, as :func:`crease` does; :func:`damage` masks the ridge wherever it shows
    (:data:`FAINT_VISIBLE`, :data:`TEXTURE_MARGIN`), since its alpha is mostly below :data:`COVER`.
    """
    h, w, _ = rgb.shape
    pts, p0, p1 = _fold_line(rng, h, w, 0.03)
    partial = rng.random() < 0.6
    if partial:  # from the edge to somewhere inside
        pts = pts[: max(2, int(len(pts) * rng.uniform(0.3, 0.8)))]
    width = rng.uniform(1.5, 3.0)
    line = np.zeros((h, w), np.float32)
    _draw_polyline(line, pts, width)
    a: np.ndarray = cv2.GaussianBlur(line, (0, 0), rng.uniform(0.3, 0.6))  # crisp: a fold, not a blur
    a *= rng.uniform(0.05, 0.4)
    a *= np.clip(_smooth_noise(rng, h, w, rng.uniform(10, 40)) * 0.6 + rng.uniform(0.8, 1.3), 0, 1)
    if partial:  # fades out over its last 5-25 px
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a *= np.clip(np.hypot(xx - pts[-1, 0], yy - pts[-1, 1]) / rng.uniform(5, 25), 0, 1)
    normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]], np.float32)
    normal /= max(float(np.linalg.norm(normal)), 1e-6)
    sign = rng.choice([-1, 1])
    shoulder = np.zeros((h, w), np.float32)
    _draw_polyline(shoulder, pts + normal * sign * (width / 2 + rng.uniform(0.5, 1.5)), rng.uniform(2, 4))
    shade = 1 + cv2.GaussianBlur(shoulder, (0, 0), rng.uniform(1.0, 2.0)) * rng.uniform(0.02, 0.08)
    if rng.random() < 0.6:  # the fold's other lip, a thin dark line
        shadow = np.zeros((h, w), np.float32)
        _draw_polyline(shadow, pts - normal * sign * (width / 2 + 0.5), 1.0)
        shade *= 1 - cv2.GaussianBlur(shadow, (0, 0), 0.5) * rng.uniform(0.03, 0.10)
    return Layer(a, _paper_fill(rng, paper, h, w)), shade.astype(np.float32)


def wide_crack(rng: Rng, h: int, w: int, paper: Paper) -> Layer:
    """A crack 5-20 px wide with ragged edges, the paper showing through."""
    a = np.zeros((h, w), np.float32)
    s = max(h, w)
    for _ in range(int(rng.integers(1, 3))):
        pts = _walk(rng, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.9) * s, 4, 0.12)
        width = rng.uniform(4, 20)
        # width varies along the crack: draw pieces of different widths
        k = max(2, len(pts) // int(rng.integers(4, 12)))
        for i in range(0, len(pts) - 1, k):
            _draw_polyline(a, pts[i : i + k + 1], max(1.0, width * rng.uniform(0.4, 1.0)))
    a = _ragged(rng, a, rng.uniform(1.0, 2.5))
    return Layer(a, _paper_fill(rng, paper, h, w))


def emulsion_loss(rng: Rng, h: int, w: int, paper: Paper) -> Layer:
    """Flakes of emulsion gone: irregular patches 5-60 px across showing the paper."""
    a = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 6))):
        r = rng.uniform(3, 30)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        x0, x1 = int(max(0, cx - 2 * r)), int(min(w, cx + 2 * r + 1))
        y0, y1 = int(max(0, cy - 2 * r)), int(min(h, cy + 2 * r + 1))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d = np.hypot((xx - cx) / r, (yy - cy) / (r * rng.uniform(0.5, 1.5)))
        n = _smooth_noise(rng, y1 - y0, x1 - x0, max(2.0, r / 3))
        blob = np.clip((1 - d + 0.35 * n) * 3, 0, 1)
        a[y0:y1, x0:x1] = np.maximum(a[y0:y1, x0:x1], blob)
    return Layer(a, _paper_fill(rng, paper, h, w))


def scratches_dust_hair(rng: Rng, h: int, w: int) -> Layer:
    """Thin scratches (dark or bright), dust specks and hairs."""
    a = np.zeros((h, w), np.float32)
    s = max(h, w)
    for _ in range(int(rng.integers(0, 5))):  # long thin scratches, nearly straight
        pts = _walk(rng, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 1.0) * s, 6, 0.02)
        _draw_polyline(a, pts, rng.uniform(0.6, 2.5))
    for _ in range(int(rng.integers(0, 6))):  # hairs and fibres: short, curly
        pts = _walk(rng, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, 2 * np.pi), rng.uniform(15, 90), 2, 0.25)
        _draw_polyline(a, pts, rng.uniform(0.7, 1.6))
    for _ in range(int(rng.integers(0, 40))):  # dust
        r = rng.exponential(1.2) + 0.6
        c = (int(rng.uniform(0, w) * 16), int(rng.uniform(0, h) * 16))
        layer = np.zeros_like(a)
        cv2.circle(layer, c, int(r * 16), 1.0, -1, cv2.LINE_AA, shift=4)
        np.maximum(a, layer, out=a)
    bright = rng.random() < 0.5
    v = rng.uniform(0.85, 1.0) if bright else rng.uniform(0.0, 0.15)
    return Layer(a, np.full((h, w, 3), v, np.float32))


def torn_corner(rng: Rng, h: int, w: int, paper: Paper) -> Layer:
    """A torn or missing corner or edge: the scanner lid (white or black) or bare card shows."""
    a = np.zeros((h, w), np.float32)
    corner = int(rng.integers(4))
    cx, cy = [(0, 0), (w, 0), (w, h), (0, h)][corner]
    ex, ey = rng.uniform(0.1, 0.45) * w, rng.uniform(0.1, 0.45) * h
    sx, sy = (1 if cx == 0 else -1), (1 if cy == 0 else -1)
    # jagged line from one edge to the other
    n = 30
    t = np.linspace(0, 1, n)
    xs = cx + sx * ex * (1 - t) + rng.normal(0, 2.5, n).cumsum() * 0.4
    ys = cy + sy * ey * t + rng.normal(0, 2.5, n).cumsum() * 0.4
    poly = np.concatenate([[[cx, cy]], np.stack([xs, ys], 1)], 0)
    cv2.fillPoly(a, [np.round(poly * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    r = rng.random()
    fill = (
        np.full((h, w, 3), rng.uniform(0.9, 1.0), np.float32)
        if r < 0.4
        else np.full((h, w, 3), rng.uniform(0.0, 0.08), np.float32)
        if r < 0.6
        else _paper_fill(rng, paper, h, w)
    )
    return Layer(a, fill)


def thin_cracks(rng: Rng, rgb: np.ndarray, paper: Paper) -> Layer:
    """Fine bright cracks (about 1-2.5 px) that start in the dark parts of ``rgb`` and wander on.

    A thin bright line over a dark, busy area is what a fine white crack looks like, and also what
    a spoke or a lit wire in a modern photo looks like: trained on the second as hard negatives
    alone, the detector stopped seeing the first. These are the matching hard positives. Their
    wander is log-uniform from nearly straight to curly: cracks in the emulsion of real prints often
    run straight for a long way, as poles and wires in the hard negatives do.
    """
    h, w, _ = rgb.shape
    a = np.zeros((h, w), np.float32)
    s = max(h, w)
    lum = _lum(rgb)
    dark = np.flatnonzero(lum < np.quantile(lum, 0.3))
    for _ in range(int(rng.integers(1, 4))):
        k = int(dark[rng.integers(len(dark))]) if len(dark) else int(rng.integers(h * w))
        y, x = divmod(k, w)
        width = rng.uniform(0.8, 2.5)
        wiggle = float(np.exp(rng.uniform(np.log(0.005), np.log(0.25))))
        pts = _walk(rng, float(x), float(y), rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 1.2) * s,
                    rng.uniform(2, 5), wiggle)
        _draw_polyline(a, pts, width)
        for _ in range(int(rng.poisson(0.8))):
            j = int(rng.integers(1, len(pts)))
            d = pts[j] - pts[j - 1]
            ang = float(np.arctan2(d[1], d[0])) + rng.choice([-1, 1]) * rng.uniform(0.4, 1.4)
            branch = _walk(rng, float(pts[j, 0]), float(pts[j, 1]), ang, rng.uniform(0.15, 0.5) * s,
                           rng.uniform(2, 5), wiggle)
            _draw_polyline(a, branch, width * rng.uniform(0.6, 0.9))
    return Layer(a, _paper_fill(rng, paper, h, w))


#: (draw, weight): how often each kind of damage appears in a sample
KINDS = ("cracks", "craquelure", "crease", "wide", "emulsion", "scratches", "torn")
WEIGHTS = (0.30, 0.10, 0.25, 0.12, 0.08, 0.30, 0.04)
#: kinds only drawn when asked for (not in the random draw, so that a seed keeps its sample)
EXTRA_KINDS = ("thin_cracks", "faint_crease", "pressed_crease")


def damage(
    rng: Rng, rgb: np.ndarray, paper: Paper, kinds: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw defects on ``rgb`` (float32 (H, W, 3)): the damaged image and its bool defect mask.

    ``kinds`` picks the defects (default: each of :data:`KINDS` with its chance in ``weights``,
    default :data:`WEIGHTS`, at least one). ``weights`` may also give the chances of
    the first (or all) of :data:`EXTRA_KINDS` after those of :data:`KINDS`; a seed draws what it
    drew before later extra kinds existed (with one per kind of :data:`KINDS` only, as before any).
    """
    h, w, _ = rgb.shape
    if kinds is None:
        chances = WEIGHTS if weights is None else tuple(weights)
        names = (KINDS + EXTRA_KINDS)[: len(chances)]
        if not len(KINDS) <= len(chances) <= len(KINDS) + len(EXTRA_KINDS) or min(chances) < 0 or sum(chances) <= 0:
            raise ValueError(f"damage weights {chances}: expected {len(KINDS)} chances >= 0, not all 0, for "
                             f"{KINDS}, optionally followed by those of the first of {EXTRA_KINDS}")
        kinds = [k for k, p in zip(names, chances) if rng.random() < p]
        if not kinds:
            kinds = [str(rng.choice(names, p=np.asarray(chances) / sum(chances)))]
    out = rgb.astype(np.float32).copy()
    cover = np.zeros((h, w), np.float32)
    for kind in kinds:
        if kind in ("crease", "faint_crease", "pressed_crease"):
            layer, shade = (pressed_crease(rng, out, paper) if kind == "pressed_crease"
                            else crease(rng, out, paper, faint=kind == "faint_crease"))
            shaded = out * shade[..., None]
            cover = np.maximum(cover, (np.abs(shaded - out).max(axis=2) > VISIBLE).astype(np.float32))
            # the bright line itself is composited below like every other layer
            out = shaded
        elif kind == "cracks":
            layer = crack_network(rng, h, w, paper)
        elif kind == "craquelure":
            layer = craquelure(rng, h, w, paper)
        elif kind == "wide":
            layer = wide_crack(rng, h, w, paper)
        elif kind == "emulsion":
            layer = emulsion_loss(rng, h, w, paper)
        elif kind == "scratches":
            layer = scratches_dust_hair(rng, h, w)
        elif kind == "torn":
            layer = torn_corner(rng, h, w, paper)
        elif kind == "thin_cracks":
            layer = thin_cracks(rng, out, paper)
        else:
            raise ValueError(f"unknown damage kind {kind!r}; expected one of {KINDS + EXTRA_KINDS}")
        al = layer.alpha[..., None]
        new = out * (1 - al) + layer.colour * al
        delta = np.abs(new - out).max(axis=2)
        hit = ((layer.alpha >= COVER) & (delta > VISIBLE)) | (delta > STRONG)
        if kind == "pressed_crease":  # a faint ridge is damage where it stands out of the picture's texture
            hit |= (delta > FAINT_VISIBLE) & (delta > TEXTURE_MARGIN * _local_std(out))
        cover = np.maximum(cover, hit.astype(np.float32))
        out = new
    return out, cover > 0


def scan(rng: Rng, rgb: np.ndarray) -> np.ndarray:
    """The scanner's part: a little sensor noise, then JPEG (most scans on the web are JPEGs)."""
    out = rgb
    if rng.random() < 0.5:
        out = out + rng.normal(0, rng.uniform(0.002, 0.015), out.shape).astype(np.float32)
    u8: np.ndarray = np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        q = int(rng.integers(40, 96))
        ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            if dec is not None:
                u8 = dec[..., ::-1].copy()
    return u8


def vivid(rng: Rng, rgb: np.ndarray) -> np.ndarray:
    """A modern photo made more saturated and brighter (float (H, W, 3) on [0, 1]).

    Neon caps, clipped skies and bright printed labels are rare in the training photos; without
    them the detector took bright saturated areas around dark lettering for bare paper.
    """
    lum = _lum(rgb)[..., None]
    out = lum + rng.uniform(1.0, 1.9) * (rgb - lum)
    return np.clip(out * rng.uniform(1.0, 1.3), 0, 1).astype(np.float32)


def old_print(
    rng: Rng, rgb: np.ndarray, paper: Paper, p_clean: float = 0.15, aged: bool | None = None, p_aged: float = 0.85,
    p_vivid: float = 0.0, weights: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A damaged scan of an old print made from the clean photo ``rgb`` (uint8 or float (H, W, 3)).

    Returns ``(uint8 (H, W, 3) scan, bool (H, W) defect mask)``. With probability ``p_clean`` the
    print is aged but undamaged (empty mask): the detector sees as many grainy, faded and stained
    prints without defects as with. ``aged`` forces the ageing on or off (default: aged with
    probability ``p_aged``, the rest stay modern photos, made :func:`vivid` with probability ``p_vivid``).
    ``weights``: the chance of each kind of damage, as :func:`damage` takes it.
    """
    x = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    if aged if aged is not None else rng.random() < p_aged:
        x = age(rng, x)
    elif p_vivid and rng.random() < p_vivid:
        x = vivid(rng, x)
    if rng.random() < p_clean:
        mask = np.zeros(x.shape[:2], bool)
    else:
        x, mask = damage(rng, x, paper, weights=weights)
    return scan(rng, np.clip(x, 0, 1)), mask


def hard_positive(rng: Rng, scan_u8: np.ndarray, paper: Paper) -> tuple[np.ndarray, np.ndarray]:
    """An undamaged scan (uint8 (H, W, 3)) aged into an old print and given :func:`thin_cracks`:
    ``(uint8 scan, bool defect mask)``, the positive twin of a hard negative."""
    x = age(rng, scan_u8.astype(np.float32) / 255.0)
    x, mask = damage(rng, x, paper, kinds=["thin_cracks"])
    return scan(rng, np.clip(x, 0, 1)), mask


def benchmark_sample(
    seed: int, rgb: np.ndarray, paper: Paper, aged: bool, kinds: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One seeded benchmark case from a clean uint8 photo: ``(damaged scan, defect mask, reference,
    undamaged scan)``.

    The reference is the print before damage and scan (aged when ``aged``), what a restore should
    give back; the undamaged scan is the same print scanned with the same noise and JPEG quality,
    only without the defects (for the false-alarm rate). Separate generators per stage keep the
    ageing and the scan identical between the damaged and the undamaged case. ``kinds`` as in
    :func:`damage` (default: the random mix).
    """
    x = rgb.astype(np.float32) / 255.0
    if aged:
        x = age(np.random.default_rng([seed, 0]), x)
    damaged, mask = damage(np.random.default_rng([seed, 1]), x, paper, kinds)
    reference = np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)
    return (scan(np.random.default_rng([seed, 2]), np.clip(damaged, 0, 1)), mask, reference,
            scan(np.random.default_rng([seed, 2]), x))
