"""Hole handling for inpainting: coarse-to-fine filling of holes too large for one pass of the
network, and the split of thin holes (scratches, cracks, dust) from the rest.

The network learned to fill holes whose pixels lie within a few dozen pixels of known ones (its
training holes were drawn on 256 px crops). Far inside a larger hole it sees nothing but the zeroed
hole and writes a flat, wrong colour: on Kodak24 upscaled 4x with proportional boxes (a 3072 px
photo with a ~500 px hole), hole PSNR was 13.4 dB in one pass, against 18.1 for OpenCV's
Navier-Stokes.

So, when some hole pixel is farther than ``reach`` from every known pixel, the image and hole are
halved (recursively) and filled there first; the upsampled coarse result then stands in for the
hole's deep interior (pixels farther than ``reach`` from the known image), and the network at full
size fills only the band between the known pixels and that interior. The same 4x case: 18.9 dB.
At the benchmark's own size (holes up to ~90 px from their edge), with ``REACH`` = 32 px, it adds
0.43 dB on the first 24 Kodak24 images' boxes (19.32 -> 19.75) and changes nothing measurable on the
first 8 (-0.02 dB) or on CBSD68's boxes (-0.01 dB).

Thin holes (scratches, cracks, dust) can go to a model that corrects a Navier-Stokes fill instead
(``thin_parts``, ``prefill_ns``; the companion of :class:`enhance.tasks.Inpaint`), which also refines the rim of
the deeper holes after the main model (``rim_rings``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch

#: hole pixels farther than this (px) from known ones are first filled at half size
REACH = 32
#: no halving below this side (px): the network still needs some context
MIN_SIDE = 64

#: ``fill(rgb, hole, depth)``: float32 ``(H, W, 3)`` and bool ``(H, W)`` -> float32 ``(H, W, 3)`` with
#: the hole filled and the known pixels kept; ``depth`` is 0 for the full-size pass, 1 at half size,
#: and so on. The passes come coarsest first, so the first call's ``depth + 1`` is the number of passes.
FillFn = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def hole_depth(hole: np.ndarray) -> float:
    """How far (px, Euclidean) the hole pixel deepest inside the hole is from the nearest known pixel."""
    if not hole.any():
        return 0.0
    return float(distance_to_known(hole).max())


def distance_to_known(hole: np.ndarray) -> np.ndarray:
    """Per pixel, the distance (px) to the nearest known (not hole) pixel; 0 on known pixels."""
    return cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def fill_coarse_to_fine(
    fill: FillFn, rgb: np.ndarray, hole: np.ndarray, reach: int | None = REACH, *, _depth: int = 0
) -> np.ndarray:
    """Fill ``hole`` (bool ``(H, W)``, True = fill) in ``rgb`` (float32 ``(H, W, 3)``) with ``fill``,
    first at half size where the hole is deeper than ``reach`` (None: always one pass)."""
    h, w = hole.shape
    if reach is None or min(h, w) < 2 * MIN_SIDE:
        return fill(rgb, hole, _depth)
    dist = distance_to_known(hole)
    if dist.max() <= reach:
        return fill(rgb, hole, _depth)
    half = ((w + 1) // 2, (h + 1) // 2)
    small = cv2.resize(rgb, half, interpolation=cv2.INTER_AREA)
    # a half-size pixel is a hole if any of its full-size pixels is: known pixels stay truly known
    small_hole = cv2.resize(hole.astype(np.float32), half, interpolation=cv2.INTER_AREA) > 0
    coarse_small = fill_coarse_to_fine(fill, small, small_hole, reach, _depth=_depth + 1)
    coarse = np.clip(cv2.resize(coarse_small, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    interior = dist > reach
    guided = np.where(interior[:, :, None], coarse, rgb).astype(np.float32)
    return fill(guided, hole & ~interior, _depth)


#: a connected hole no pixel of which is farther than this (px) from a known pixel is "thin":
#: scratches and cracks up to 5 px wide, dust specks up to 7 px across
THIN_DEPTH = 4.0
#: neighbourhood radius (px) of the Navier-Stokes prefill
NS_RADIUS = 5
#: After the main model has filled a deeper hole, its rim is filled again by the thin-hole model
#: (Navier-Stokes from the pixels around, then its correction), ring by ring from the outside in:
#: ring k holds the hole's pixels at a distance in (k * RING_STEP, k * RING_STEP + RING_WIDTH] px from
#: the known image, so each ring is filled from the known image or the rings already redone on one
#: side and from the main model's fill on the other. The main model's errors are largest near the
#: hole's edge; this is where Navier-Stokes, interpolating close neighbours, does better.
#: Hole PSNR on the first 24 images of Kodak24 / CBSD68 (benchmarks/inpaint.py): one ring, strokes
#: +0.17 / +0.24 dB, boxes +0.05 / +0.06; these six rings (to 21 px deep), strokes +0.37 / +0.45,
#: boxes +0.08 / +0.13. On the first 6 images, rings that do not overlap (step 6, 12 of them) gave
#: 0.15 / 0.17 dB less on strokes; step 2 (9 rings) 0.06 / 0.06 more at 1.5x the passes.
RING_WIDTH = 6.0
RING_STEP = 3.0
RIM_RINGS = 6
#: context (px) kept around a ring when only its bounding box is run through the thin-hole model
RING_MARGIN = 32


def thin_parts(hole: np.ndarray, depth: float = THIN_DEPTH) -> np.ndarray:
    """The connected parts (8-connected) of ``hole`` (bool ``(H, W)``) no deeper than ``depth`` px."""
    if not hole.any():
        return np.zeros_like(hole, dtype=bool)
    _, labels = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)
    deep = np.unique(labels[distance_to_known(hole) > depth])
    return hole & ~np.isin(labels, deep)


def rim_rings(
    hole: np.ndarray, width: float = RING_WIDTH, step: float = RING_STEP, count: int = RIM_RINGS
) -> list[np.ndarray]:
    """The non-empty rings of ``hole`` (bool ``(H, W)``), outermost first: ring ``k`` holds the hole's
    pixels at a distance in ``(k * step, k * step + width]`` px from the nearest known pixel."""
    if not hole.any():
        return []
    dist = distance_to_known(hole)
    rings = [hole & (dist > k * step) & (dist <= k * step + width) for k in range(count)]
    return [r for r in rings if r.any()]


def crop_box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Rows and columns of ``mask``'s bounding box grown by ``margin`` px (clipped to the image)."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    h, w = mask.shape
    return (slice(max(0, int(rows[0]) - margin), min(h, int(rows[-1]) + 1 + margin)),
            slice(max(0, int(cols[0]) - margin), min(w, int(cols[-1]) + 1 + margin)))


def prefill_ns(rgb: np.ndarray, hole: np.ndarray, radius: int = NS_RADIUS) -> np.ndarray:
    """``rgb`` (float32 ``(H, W, C)`` on [0, 1]) with ``hole`` filled by OpenCV's Navier-Stokes
    inpainting, channel by channel in float32 (no 8-bit rounding, so 16-bit scans keep their precision)."""
    m = hole.astype(np.uint8)
    src = np.where(hole[:, :, None], np.float32(0), rgb).astype(np.float32)
    planes = [cv2.inpaint(np.ascontiguousarray(src[:, :, c]), m, radius, cv2.INPAINT_NS) for c in range(src.shape[2])]
    return np.stack(planes, axis=2).astype(np.float32)


def prefill_batch(rgb: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` images with the ``(B, 1, H, W)`` holes filled by :func:`enhance.prefill_ns`
    (on the CPU, as at inference)."""
    imgs = rgb.detach().float().permute(0, 2, 3, 1).cpu().numpy()
    masks = hole[:, 0].detach().cpu().numpy() > 0.5
    out = np.stack([prefill_ns(im, m) for im, m in zip(imgs, masks)])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(rgb.device, rgb.dtype)
