"""Classical, explainable detection of scratches and dust on scanned prints (no learned model).

:func:`detect_defects` returns a boolean mask of the defects, meant as the hole mask of the
inpainting model. Every decision it takes is a threshold on a measured quantity (contrast against
the local background, noise level, width, length, straightness), so a false detection can always
be explained by looking at those numbers (:func:`defect_components` returns them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

from enhance.errors import InvalidInputError

Kind = Literal["scratch", "dust"]

#: Thresholds on the contrast, in robust noise sigmas (divided by ``sensitivity``).
K_SIGMA = 9.0
#: Contrast below this (on [0, 1]) is never a defect worth filling, however clean the image.
MIN_CONTRAST = 0.12
#: A defect must have this many times the contrast of the picture's own edges next to it.
EDGE_FACTOR = 3.0
#: Dust must be this much stronger than the threshold (isolated specks look like noise or texture;
#: tuned on real photos: eye highlights, teeth, snowflakes and line-art dots reach 1.6-2.8).
DUST_FACTOR = 3.0
#: A scratch's line response must be this much above its threshold (see ``LINE_LENGTH``).
SCRATCH_FACTOR = 2.0
#: Scratches: at least this many times longer than wide, and filling this much of their rectangle.
MIN_ELONGATION = 5.0
MIN_FILL = 0.35
#: Otherwise (crossing scratches): at most this many straight segments covering this much of it.
MAX_LINES = 3
#: Scratches are at least this many times ``mw`` long, and at least this fraction of the picture's
#: short side (short thin lines are mostly real content: hair strands, twigs, eyelids, line art).
MIN_LENGTH = 8
MIN_LENGTH_FRACTION = 0.25
LINE_COVER = 0.9
#: Pieces of one scratch (broken where it crosses a background as bright or as dark as itself) are
#: joined when their ends are at most ``JOIN_GAP`` x ``mw`` px apart and their directions, and the
#: direction of the gap between them, differ by at most ``JOIN_ANGLE`` degrees.
JOIN_GAP = 5.0
JOIN_ANGLE = 30.0
#: A piece may bend: at most this many straight parts, each at least a third of a scratch's length.
BENT_LINES = 5
#: Scratches are found on the *line response*: the mean luminance along a short segment
#: (``LINE_LENGTH`` x ``mw`` px, ``LINE_ANGLES`` directions) minus the mean of the two parallel
#: segments ``mw + 1`` px to either side (less ``LINE_BALANCE`` x their difference). Averaged along
#: the line, a thin scratch stands out of grain and noise far better than any one of its pixels.
LINE_LENGTH = 4
LINE_ANGLES = 12
#: A scratch crosses one background, so both sides look alike; an outline (line art, the rim of an
#: object) separates two different ones. The response loses this many times the sides' difference.
LINE_BALANCE = 2.5
#: The line threshold: this many times the local median line response (over ``LINE_WINDOW`` x ``mw``
#: px: grain, noise and texture all raise it), and never below ``MIN_CONTRAST``.
LINE_TEXTURE_FACTOR = 4.0
LINE_WINDOW = 16


@dataclass(frozen=True)
class Component:
    """One candidate defect and the measurements it was judged on (pixel units)."""

    kind: Kind | None  # None: rejected
    area: int
    length: float  # long side of the minimum-area rectangle
    width: float  # short side of that rectangle
    thickness: float  # inscribed diameter of the core (2 x the 95th percentile of its distance transform)
    contrast: float  # peak contrast against the local background, on [0, 1]
    bbox: tuple[int, int, int, int]  # x, y, w, h
    reason: str = ""


def _luminance(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] not in (1, 3, 4):
        raise InvalidInputError(f"expected an (H, W, 1|3) array, got shape {rgb.shape}")
    if rgb.shape[2] == 1:
        lum = rgb[:, :, 0]
    else:
        lum = 0.299 * rgb[:, :, 0] + 0.587 * rgb[:, :, 1] + 0.114 * rgb[:, :, 2]
    return np.clip(np.asarray(lum, dtype=np.float32), 0.0, 1.0)


def _max_width(h: int, w: int) -> int:
    """Widest defect (px) looked for: 3 px up to ~1200 px images, growing with the scan resolution."""
    return max(3, round(min(h, w) / 400))


def _median(lum: np.ndarray, ksize: int) -> np.ndarray:
    """Median filter of a [0, 1] image (8-bit internally: OpenCV's large medians need uint8)."""
    u8 = np.round(lum * 255).astype(np.uint8)
    return cv2.medianBlur(u8, ksize).astype(np.float32) / 255.0


def _robust_sigma(values: np.ndarray) -> float:
    """Noise sigma from the median absolute deviation (1.4826 x MAD, Gaussian-consistent)."""
    med = float(np.median(values))
    return 1.4826 * float(np.median(np.abs(values - med)))


def _contrast_maps(lum: np.ndarray, mw: int, sensitivity: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel signed defect contrast (> 0 bright, < 0 dark) and per-pixel threshold.

    The contrast is the smaller of the morphological top-hat response (white top-hat for bright,
    black-hat for dark structures narrower than the structuring element) and the difference to a
    median filter of the same size; both vanish on flat areas and straight edges, and taking the
    smaller one removes most of their separate false responses (corners, texture ends).
    """
    k = 2 * mw + 1
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    pad = k
    padded = cv2.copyMakeBorder(lum, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    tophat = cv2.morphologyEx(padded, cv2.MORPH_TOPHAT, se)[pad:-pad, pad:-pad]
    blackhat = cv2.morphologyEx(padded, cv2.MORPH_BLACKHAT, se)[pad:-pad, pad:-pad]
    med = _median(lum, 4 * mw + 1)  # wider: a median only removes lines well below half its size
    diff = lum - med
    bright = np.minimum(tophat, np.maximum(diff, 0.0))
    dark = np.minimum(blackhat, np.maximum(-diff, 0.0))

    # Noise: the residual to a 3x3 median is mostly noise and fine texture; its MAD over the whole
    # image is the global noise level, its local median (window ~ 5 defect widths) the local one.
    residual = np.abs(lum - _median(lum, 3))
    sigma_global = _robust_sigma(residual[residual > 0]) if np.any(residual > 0) else 0.0
    scale = 1024.0  # |residual| up to 0.25 fits in uint8
    q = np.clip(residual * scale, 0, 255).astype(np.uint8)
    win = 2 * (5 * mw) + 1
    local = cv2.medianBlur(q, win).astype(np.float32) / scale * 1.4826 * 1.5  # median|r| -> sigma
    sigma = np.maximum(local, sigma_global)
    # Edges of the picture itself: the median removes the thin defects, what is left is content.
    # A defect must stand out more than the strongest content edge within ~mw px (outlines of
    # drawings, the sides of thin objects and texture are the typical false detections).
    gx = cv2.Sobel(med, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(med, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    step = np.sqrt(gx * gx + gy * gy) * (2 * mw)  # gradient -> height of a step over ~2 mw px
    near = cv2.dilate(step, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * mw + 1, 2 * mw + 1)))
    threshold = np.maximum.reduce([K_SIGMA * sigma, EDGE_FACTOR * near, np.full_like(sigma, MIN_CONTRAST)])
    threshold = threshold / max(sensitivity, 1e-6)
    signed = np.where(bright >= dark, bright, -dark)
    return signed.astype(np.float32), threshold.astype(np.float32)


def _few_lines(sub: np.ndarray, mw: int, min_len: int, max_lines: int = MAX_LINES) -> bool:
    """True when at most ``max_lines`` straight segments cover ``LINE_COVER`` of ``sub``.

    ``sub`` is the core of a component (its pixels above the full threshold, not the hysteresis
    halo), so crossing scratches are covered by their centre lines within ``mw`` px.
    """
    u8 = sub.astype(np.uint8)
    segs = cv2.HoughLinesP(u8, 1, np.pi / 180, threshold=min_len, minLineLength=min_len, maxLineGap=mw)
    if segs is None:
        return False
    # Each segment stands for its whole line across the component (a scratch broken where another
    # one crosses it is still one line); greedily take the line that covers most of what is left.
    far = 2 * (u8.shape[0] + u8.shape[1])
    bands = []
    for x0, y0, x1, y1 in segs.reshape(-1, 4).tolist():
        d = np.hypot(x1 - x0, y1 - y0)
        if d == 0:
            continue
        ux, uy = (x1 - x0) / d * far, (y1 - y0) / d * far
        p0, p1 = (int(round(x0 - ux)), int(round(y0 - uy))), (int(round(x0 + ux)), int(round(y0 + uy)))
        bands.append(np.asarray(cv2.line(np.zeros_like(u8), p0, p1, 1, 2 * mw + 1), dtype=np.uint8) & u8)
    total = int(u8.sum())
    covered = np.zeros_like(u8)
    for _ in range(max_lines):
        gains = [int((band & (1 - covered)).sum()) for band in bands]
        if not gains or max(gains) < min_len:
            return False
        covered |= bands[int(np.argmax(gains))]
        if covered.sum() >= LINE_COVER * total:
            return True
    return False


@dataclass(frozen=True)
class _Piece:
    """A thin, straight or gently bent run, strong enough for a scratch but not long enough alone."""

    index: int  # into the component list
    centre: np.ndarray  # (x, y)
    direction: np.ndarray  # unit (x, y)
    ends: tuple[np.ndarray, np.ndarray]
    length: float


def _piece(index: int, pts: np.ndarray, length: float) -> _Piece:
    centre = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - centre, full_matrices=False)
    u = vt[0] / np.linalg.norm(vt[0])
    t = (pts - centre) @ u
    return _Piece(index, centre, u, (centre + u * t.min(), centre + u * t.max()), length)


def _joinable(a: _Piece, b: _Piece, gap: float, cos_max: float) -> bool:
    """Ends within ``gap``, parallel within the angle, and the gap itself along that direction."""
    dists = [(float(np.linalg.norm(ea - eb)), ea, eb) for ea in a.ends for eb in b.ends]
    d, ea, eb = min(dists, key=lambda x: x[0])
    if d > gap or abs(float(a.direction @ b.direction)) < cos_max:
        return False
    if d <= 2.0:  # touching: the direction of a 1-2 px gap means nothing
        return True
    v = (eb - ea) / d
    return abs(float(v @ a.direction)) >= cos_max and abs(float(v @ b.direction)) >= cos_max


def _join_pieces(pieces: list[_Piece], mw: int, min_len: int) -> list[list[_Piece]]:
    """Chains of pieces (union-find over joinable pairs) whose summed length reaches ``min_len``
    (a single bent piece that long is a chain of one)."""
    parent = list(range(len(pieces)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    gap, cos_max = JOIN_GAP * mw, float(np.cos(np.radians(JOIN_ANGLE)))
    centres = np.array([p.centre for p in pieces]).reshape(-1, 2)
    lengths = np.array([p.length for p in pieces])
    for i, a in enumerate(pieces):
        # only pieces whose centres are close enough for their ends to be within the gap
        d = np.linalg.norm(centres[i + 1 :] - centres[i], axis=1)
        for j in (np.flatnonzero(d <= (a.length + lengths[i + 1 :]) / 2 + gap) + i + 1).tolist():
            if _joinable(a, pieces[j], gap, cos_max):
                parent[root(i)] = root(j)
    groups: dict[int, list[_Piece]] = {}
    for i, p in enumerate(pieces):
        groups.setdefault(root(i), []).append(p)
    return [g for g in groups.values() if sum(p.length for p in g) >= min_len]


@lru_cache(maxsize=8)
def _line_kernels(length: int, offset: int) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
    """Per direction: normalised kernels of the centre segment and of the two parallel ones at
    ``+offset`` and ``-offset`` px (drawn anti-aliased at 4x and averaged down)."""
    k = length + 2 * offset + 3
    k += 1 - k % 2
    c = (k - 1) / 2
    kernels = []
    for a in range(LINE_ANGLES):
        th = np.pi * a / LINE_ANGLES
        u = np.array([np.cos(th), np.sin(th)])
        nrm = np.array([-u[1], u[0]])
        trio = []
        for off in (0, offset, -offset):
            big = np.zeros((4 * k, 4 * k), np.float32)
            ends = [(np.array([c, c]) + nrm * off + u * t * (length - 1) / 2) * 4 + 1.5 for t in (-1, 1)]
            p0, p1 = ((int(round(e[0])), int(round(e[1]))) for e in ends)
            cv2.line(big, p0, p1, 1.0, 3)
            small = cv2.resize(big, (k, k), interpolation=cv2.INTER_AREA)
            trio.append(small / small.sum())
        kernels.append((trio[0], trio[1], trio[2]))
    return tuple(kernels)


def _line_maps(lum: np.ndarray, mw: int, sensitivity: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel signed line response (> 0 bright, < 0 dark line) and its threshold (``LINE_LENGTH``)."""
    bright = np.full(lum.shape, -1.0, np.float32)
    dark = np.full(lum.shape, -1.0, np.float32)
    for centre, side_a, side_b in _line_kernels(LINE_LENGTH * mw, mw + 1):
        m0 = cv2.filter2D(lum, -1, centre, borderType=cv2.BORDER_REFLECT)
        ma = cv2.filter2D(lum, -1, side_a, borderType=cv2.BORDER_REFLECT)
        mb = cv2.filter2D(lum, -1, side_b, borderType=cv2.BORDER_REFLECT)
        sides = 0.5 * (ma + mb)
        unbalanced = LINE_BALANCE * np.abs(ma - mb)
        np.maximum(bright, m0 - sides - unbalanced, out=bright)
        np.maximum(dark, sides - m0 - unbalanced, out=dark)
    bright = np.clip(bright, 0.0, 1.0)
    dark = np.clip(dark, 0.0, 1.0)
    win = 2 * (LINE_WINDOW * mw // 2) + 1
    level = np.round(np.maximum(bright, dark) * 255).astype(np.uint8)
    local = cv2.medianBlur(level, win).astype(np.float32) / 255.0
    threshold = np.maximum(LINE_TEXTURE_FACTOR * local, MIN_CONTRAST) / max(sensitivity, 1e-6)
    signed = np.where(bright >= dark, bright, -dark)
    return signed.astype(np.float32), threshold.astype(np.float32)


def _candidates(signed: np.ndarray, threshold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hysteresis components, bright and dark apart: pixels above half the threshold connected to
    one above it. Returns ``(labels, stats, has_strong, strong)``; ``stats`` as from
    ``cv2.connectedComponentsWithStats``, ``has_strong[i]``: component ``i`` has a pixel above it."""
    strong = np.abs(signed) >= threshold
    weak_b = signed >= 0.5 * threshold
    weak_d = -signed >= 0.5 * threshold
    nb, lab_b, stats_b, _ = cv2.connectedComponentsWithStats(weak_b.astype(np.uint8), connectivity=8)
    nd, lab_d, stats_d, _ = cv2.connectedComponentsWithStats(weak_d.astype(np.uint8), connectivity=8)
    labels = np.where(weak_d, lab_d + nb - 1, lab_b).astype(np.int32)
    stats = np.concatenate([stats_b, stats_d[1:]], 0)
    has_strong = np.zeros(nb + nd - 1, bool)
    has_strong[np.unique(labels[strong])] = True
    has_strong[0] = False
    return labels, stats, has_strong, strong


def defect_components(
    rgb: np.ndarray, sensitivity: float = 1.0
) -> tuple[np.ndarray, np.ndarray, list[Component]]:
    """Candidate defects with their measurements: ``(labels, contrast, components)``.

    ``labels`` is the ``(H, W)`` int32 label image (label ``i + 1`` is ``components[i]``);
    ``contrast`` the larger of the per-pixel contrast and the line response. Used by
    :func:`detect_defects`; useful on its own to see why something was (not) detected.
    """
    if sensitivity <= 0:
        raise InvalidInputError(f"sensitivity must be > 0, got {sensitivity}")
    lum = _luminance(rgb)
    h, w = lum.shape
    if min(h, w) < 8:
        return np.zeros((h, w), np.int32), np.zeros((h, w), np.float32), []
    mw = _max_width(h, w)
    min_len = max(MIN_LENGTH * mw, round(MIN_LENGTH_FRACTION * min(h, w) / sensitivity))
    dust_side = 2 * mw + 1
    dust_area = dust_side * dust_side
    comps: list[Component] = []
    pieces: list[_Piece] = []
    out = np.zeros((h, w), np.int32)
    pixel_maps = _contrast_maps(lum, mw, sensitivity)
    line_maps = _line_maps(lum, mw, sensitivity)
    # dust is judged on the per-pixel contrast, scratches on the line response
    for dust_pass, (signed, threshold) in ((True, pixel_maps), (False, line_maps)):
        labels, stats, has_strong, strong = _candidates(signed, threshold)
        magnitude = np.abs(signed)
        dist = cv2.distanceTransform(strong.astype(np.uint8), cv2.DIST_L2, 3)
        for i in np.flatnonzero(has_strong).tolist():
            x, y, bw, bh, area = (int(v) for v in stats[i])
            if area < 2 or (bw <= dust_side and bh <= dust_side and area <= dust_area) != dust_pass:
                continue
            sub = labels[y : y + bh, x : x + bw] == i
            peak = float(magnitude[y : y + bh, x : x + bw][sub].max())
            thr = float(np.median(threshold[y : y + bh, x : x + bw][sub]))
            # thickness of the core (above the full threshold), ignoring the few widest pixels
            # (where scratches cross)
            thick = 2.0 * float(np.percentile(dist[y : y + bh, x : x + bw][sub], 95))
            ys, xs = np.nonzero(sub)
            pts = np.stack([xs + x, ys + y], 1).astype(np.float32)
            (_, _), (rw, rh), _ = cv2.minAreaRect(pts)
            length, width = max(rw, rh) + 1.0, min(rw, rh) + 1.0
            kind: Kind | None = None
            reason = ""
            if dust_pass:
                if area < 3:
                    reason = "too small"
                elif peak < DUST_FACTOR * thr:
                    reason = "speck too faint"
                else:
                    kind = "dust"
            elif thick > mw + 2.0:
                reason = "too thick"
            elif peak < SCRATCH_FACTOR * thr:
                reason = "line too faint"
            else:
                core = sub & strong[y : y + bh, x : x + bw]
                straight = length / width >= MIN_ELONGATION and area / (length * width) >= MIN_FILL
                if length >= min_len and straight:
                    kind = "scratch"
                elif length >= min_len and _few_lines(core, mw, min_len):
                    kind = "scratch"  # crossing scratches
                elif length >= 2 * mw and (
                    straight or _few_lines(core, mw, max(MIN_LENGTH * mw, min_len // 3), BENT_LINES)
                ):
                    # a straight or gently bent run: part of a scratch if it joins others (below)
                    reason = "too short" if length < min_len else "bent"
                    pieces.append(_piece(len(comps), pts, length))
                else:
                    reason = "too short" if length < min_len else "not one straight line, nor a few crossing ones"
            comps.append(Component(kind, area, length, width, thick, peak, (x, y, bw, bh), reason))
            out[y : y + bh, x : x + bw][sub] = len(comps)
    for chain in _join_pieces(pieces, mw, min_len):
        total = sum(p.length for p in chain)
        for p in chain:
            comps[p.index] = replace(comps[p.index], kind="scratch",
                                     reason=f"piece of a {total:.0f} px scratch in {len(chain)} pieces")
    contrast = np.maximum(np.abs(pixel_maps[0]), np.abs(line_maps[0]))
    return out, contrast, comps


def detect_defects(rgb: np.ndarray, sensitivity: float = 1.0) -> np.ndarray:
    """Mask of scratches and dust on a scanned print: ``(H, W, C)`` float in [0, 1] -> ``(H, W)`` bool.

    Method (all on the luminance, sizes relative to the widest defect looked for, ``mw`` = 3 px up
    to ~1200 px images, more for larger scans):

    1. **Dust: per-pixel contrast**: white top-hat (bright structures) and black-hat (dark
       structures) with an elliptic structuring element ``2*mw+1`` wide, each limited by the
       difference to a median filter of the same size. Flat areas and straight edges give ~0;
       specks give their contrast to the surrounding background. Threshold: ``K_SIGMA`` x the
       noise sigma (1.4826 x median absolute deviation of the residual to a 3x3 median; the larger
       of the global level and the local one over ~10 defect widths, so textured areas need more
       contrast than smooth sky or skin), at least ``EDGE_FACTOR`` x the strongest content edge
       nearby, never below ``MIN_CONTRAST``.
    2. **Scratches: line response**: in ``LINE_ANGLES`` directions, the mean luminance along a
       ``LINE_LENGTH * mw`` px segment minus the mean of its two parallel neighbours ``mw + 1`` px
       to either side, less ``LINE_BALANCE`` x their difference (an outline between two different
       regions is not a scratch); the best direction counts. Averaging along the line lifts a
       thin scratch out of grain that hides each of its pixels. Threshold: ``LINE_TEXTURE_FACTOR``
       x the local median response (over ``LINE_WINDOW * mw`` px), never below ``MIN_CONTRAST``.
       ``sensitivity`` divides both thresholds and the length a scratch must have as a fraction
       of the picture (2 = twice as sensitive).
    3. **Components** (hysteresis: pixels above half the threshold, connected to one above it),
       each measured (:class:`Component`) and kept only as
       - *dust* (from 1.): a compact speck at most ``2*mw+1`` px across, at least 3 px, with a
         contrast at least ``DUST_FACTOR`` x the threshold;
       - *scratch* (from 2.): thin (inscribed diameter of its core <= ``mw + 2``), a response of
         at least ``SCRATCH_FACTOR`` x the threshold, at least ``MIN_LENGTH * mw`` px and
         ``MIN_LENGTH_FRACTION`` of the short side long, and straight: ``MIN_ELONGATION`` x
         longer than its minimum-area rectangle (``cv2.minAreaRect``) is wide and filling
         ``MIN_FILL`` of it, or covered by at most ``MAX_LINES`` straight lines (crossing
         scratches; Hough). Shorter straight runs, and runs bent into at most ``BENT_LINES``
         straight parts, are *pieces*: pieces whose ends are within ``JOIN_GAP * mw`` px and whose
         directions (and that of the gap) agree within ``JOIN_ANGLE`` degrees are joined, and a
         chain of them as long as a scratch must be is one (a scratch is broken wherever it
         crosses a background as bright or as dark as itself).
       Everything else (large or thick blobs, texture, networks, short strokes) is rejected.
       The factors were tuned on real photos without defects (hair strands, twigs, line art, eye
       highlights and snowflakes are the typical false detections) and on synthetic scratches
       over grainy photos (``benchmarks/restore.py``).
    4. The kept components are **dilated** by ``mw // 2`` px (1 px for ordinary images) so the
       inpainting also covers their soft edges.

    Known limits: real thin straight content (wires, whiskers, branches, window frames, shutter
    slats, the outlines of line art) and real specks (snow, stars) look exactly like defects and
    can be flagged; scratches across strong texture (brick, foliage) and faint dust are missed.
    """
    labels, _, comps = defect_components(rgb, sensitivity)
    keep = np.array([False] + [c.kind is not None for c in comps])
    mask = keep[labels]
    if mask.any():
        r = max(1, _max_width(*mask.shape) // 2)
        se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        mask = cv2.dilate(mask.astype(np.uint8), se).astype(bool)
    return mask


__all__ = ["Component", "defect_components", "detect_defects"]
