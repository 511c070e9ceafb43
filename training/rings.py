"""Training samples for the thin-hole model's second job: redoing the rim of a deep hole.

At inference (``enhance.engine.Enhancer._inpaint``) the main inpainting model fills a deep hole, then
the thin-hole model refills its rim ring by ring from the outside in (``enhance.holes.rim_rings``):
each ring is filled by Navier-Stokes from what surrounds it (the known image or the rings already
redone on one side, the main model's fill on the other) and the network corrects that. Trained on
scratches only, the network never saw the main model's fill as a neighbour; these samples show it.

A :class:`RingBank` holds clean crops, deep masks (strokes and boxes) and the main model's fill of
them (``Enhancer.main_fill``, computed once). :meth:`RingBank.sample` picks a ring of each mask and
returns the image around it as the ring sees it at inference, except that the rings outside it are
the clean image (they were redone already; their remaining error is not modelled).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from enhance import holes

from . import masks as M

#: masks are drawn on a canvas this many times the crop side and cropped, so brush strokes are
#: 9-38 px wide and boxes 40-130 px across (the shapes the benchmark's masks have on a full photo)
CANVAS_SCALE = 4
#: a crop is kept only if it has a pixel deeper than ``holes.THIN_DEPTH`` and at most this much hole
MAX_HOLE_FRACTION = 0.6

FillFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rgb (H, W, 3) float32, hole (H, W) bool) -> rgb


def deep_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A ``(size, size)`` bool crop of a stroke or box mask drawn at ``CANVAS_SCALE`` x the size,
    around a pixel deeper than a thin hole, with known pixels around it."""
    big = size * CANVAS_SCALE
    while True:
        kind = "strokes" if rng.random() < 0.5 else "boxes"
        canvas = M.GENERATORS[kind](rng, big, big) > 0
        deep = np.argwhere(holes.distance_to_known(canvas) > holes.THIN_DEPTH)
        if len(deep) == 0:
            continue
        y, x = deep[int(rng.integers(0, len(deep)))]
        top = int(np.clip(y - rng.integers(0, size), 0, big - size))
        left = int(np.clip(x - rng.integers(0, size), 0, big - size))
        crop = canvas[top : top + size, left : left + size]
        if crop.mean() <= MAX_HOLE_FRACTION and (holes.distance_to_known(crop) > holes.THIN_DEPTH).any():
            return crop


class RingBank:
    """Clean crops ``(N, 3, P, P)``, deep masks ``(N, P, P)`` and ``fill``'s result for them, on the CPU."""

    def __init__(self, clean: torch.Tensor, fill: FillFn, seed: int) -> None:
        rng = np.random.default_rng(seed)
        size = clean.shape[-1]
        self.clean = clean.detach().float().cpu()
        self.masks = np.stack([deep_mask(rng, size) for _ in range(clean.shape[0])])
        rgb = self.clean.permute(0, 2, 3, 1).numpy()
        self.fills = np.stack([fill(np.ascontiguousarray(im), m) for im, m in zip(rgb, self.masks)])

    def __len__(self) -> int:
        return self.clean.shape[0]

    def sample(self, index: np.ndarray, rng: np.random.Generator, turn: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the bank entries ``index``: (clean ``(B, 3, P, P)``, the image the ring sees ``(B, 3, P, P)``,
        the ring ``(B, 1, P, P)``), each entry at a random ring depth (and, with ``turn``, quarter turn)."""
        cleans, bases, rings = [], [], []
        for i in index:
            clean = self.clean[i].permute(1, 2, 0).numpy()
            hole = self.masks[i]
            all_rings = holes.rim_rings(hole)
            k = int(rng.integers(0, len(all_rings)))
            # outside ring k: the rings before it are redone (here: clean), the inside is the main fill
            outer = hole & (holes.distance_to_known(hole) <= k * holes.RING_STEP)
            base = np.where((hole & ~outer)[:, :, None], self.fills[i], clean)
            t = int(rng.integers(0, 4)) if turn else 0
            cleans.append(np.rot90(clean, t))
            bases.append(np.rot90(base, t))
            rings.append(np.rot90(all_rings[k], t))
        return _stack(cleans).permute(0, 3, 1, 2), _stack(bases).permute(0, 3, 1, 2), _stack(rings)[:, None]


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrays))).float()


def teacher_fill(model: str) -> FillFn:
    """``Enhancer.main_fill`` of inpainting model ``model`` (a built-in name, or a .safetensors file of
    the ``inpaint`` architecture, checked against its own sha256), on the CPU, whole crops at once."""
    import dataclasses
    from pathlib import Path

    from enhance.api import get_spec
    from enhance.engine import Enhancer
    from enhance.weightstore import sha256_file

    path = Path(model)
    if path.suffix == ".safetensors":
        spec = dataclasses.replace(get_spec("inpaint"), weights=path, sha256=sha256_file(path))
    else:
        spec = get_spec(model)
    enh = Enhancer(spec, device="cpu", tile=0)

    def fill(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        return enh.main_fill(rgb, hole)

    return fill
