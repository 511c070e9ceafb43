"""Training samples for the thin-hole model's second job: redoing the rim of a deep hole.

At inference (``enhance.tasks.Inpaint.fill_holes``) the main inpainting model fills a deep hole, then
the thin-hole model refills its rim ring by ring from the outside in (``enhance.holes.rim_rings``):
each ring is filled by Navier-Stokes from what surrounds it (the known image or the rings already
redone on one side, the main model's fill on the other) and the network corrects that. Trained on
scratches only, the network never saw the main model's fill, nor its own, as a neighbour; these
samples show it both.

A :class:`RingBank` holds clean crops, deep masks (strokes and boxes, drawn larger and cropped) and
for each a ring ``k`` with the image as ring ``k`` finds it at inference: the teacher's main fill
(``Inpaint.main_fill``) with rings ``0 .. k-1`` redone by the teacher's thin-hole model
(``Inpaint.refill_ring``). Computed once, at the start of training.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from enhance import holes

from . import masks as M

#: masks are drawn on a canvas this many times the training patch and cropped, so on 96 px patches
#: brush strokes are 9-38 px wide and boxes 40-130 px across (as the benchmark's masks on a photo)
CANVAS_SCALE = 4
#: a crop is kept only if it has a pixel deeper than ``holes.THIN_DEPTH`` and at most this much hole
MAX_HOLE_FRACTION = 0.6


class Teacher(Protocol):
    """What the bank needs of an inpainting task (:class:`enhance.tasks.Inpaint`)."""

    def main_fill(self, img: np.ndarray, hole: np.ndarray) -> np.ndarray: ...

    def refill_ring(self, img: np.ndarray, ring: np.ndarray) -> np.ndarray: ...


def deep_mask(rng: np.random.Generator, size: int, canvas: int) -> np.ndarray:
    """A ``(size, size)`` bool crop of a stroke or box mask drawn on a ``canvas`` px square, around a
    pixel deeper than a thin hole, with known pixels around it."""
    canvas = max(canvas, size)
    while True:
        kind = "strokes" if rng.random() < 0.5 else "boxes"
        drawn = M.GENERATORS[kind](rng, canvas, canvas) > 0
        deep = np.argwhere(holes.distance_to_known(drawn) > holes.THIN_DEPTH)
        if len(deep) == 0:
            continue
        y, x = deep[int(rng.integers(0, len(deep)))]
        top, left = _window_corner(rng, int(y), canvas, size), _window_corner(rng, int(x), canvas, size)
        crop = drawn[top : top + size, left : left + size]
        if crop.mean() <= MAX_HOLE_FRACTION and (holes.distance_to_known(crop) > holes.THIN_DEPTH).any():
            return crop


def _window_corner(rng: np.random.Generator, at: int, length: int, window: int) -> int:
    """Start of a random ``window`` (<= ``length``) on ``[0, length)`` that contains ``at``."""
    return int(np.clip(at - rng.integers(0, window), 0, length - window))


class RingBank:
    """Per crop of ``clean`` ``(N, 3, C, C)``: a deep mask, one of its rings, and the image that ring sees
    at inference, computed on the whole crop (so the main model fills with as much context as it has
    on a photo), then cut to a ``window`` px square around a pixel of the ring (None: the whole crop).
    Masks are drawn on a ``canvas`` px square (default ``CANVAS_SCALE`` x the window) and cropped.
    Kept on the CPU: ``clean`` ``(N, 3, W, W)``; ``masks``, ``rings`` ``(N, W, W)``; ``bases`` ``(N, W, W, 3)``."""

    def __init__(
        self, clean: torch.Tensor, teacher: Teacher, seed: int, window: int | None = None, canvas: int | None = None
    ) -> None:
        rng = np.random.default_rng(seed)
        size = clean.shape[-1]
        window = window or size
        canvas = canvas or CANVAS_SCALE * window
        cleans, masks, rings, bases = [], [], [], []
        for im in clean.detach().float().cpu().permute(0, 2, 3, 1).numpy():
            hole = deep_mask(rng, size, canvas)
            all_rings = holes.rim_rings(hole)
            k = int(rng.integers(0, len(all_rings)))
            base = teacher.main_fill(np.ascontiguousarray(im), hole)
            for outer in all_rings[:k]:
                base = teacher.refill_ring(base, outer)
            ys, xs = np.nonzero(all_rings[k])
            j = int(rng.integers(0, len(ys)))
            top, left = _window_corner(rng, int(ys[j]), size, window), _window_corner(rng, int(xs[j]), size, window)
            cut = (slice(top, top + window), slice(left, left + window))
            cleans.append(im[cut])
            masks.append(hole[cut])
            rings.append(all_rings[k][cut])
            bases.append(base[cut])
        self.clean = _stack(cleans).permute(0, 3, 1, 2).contiguous()
        self.masks, self.rings = np.stack(masks), np.stack(rings)
        self.bases = np.stack(bases).astype(np.float32)

    def __len__(self) -> int:
        return self.clean.shape[0]

    def sample(self, index: np.ndarray, rng: np.random.Generator, turn: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the bank entries ``index``: (clean ``(B, 3, P, P)``, the image the ring sees ``(B, 3, P, P)``,
        the ring ``(B, 1, P, P)``), with ``turn`` each by a random quarter turn."""
        turns = rng.integers(0, 4, len(index)) if turn else np.zeros(len(index), int)
        clean = self.clean.permute(0, 2, 3, 1).numpy()
        cleans = [np.rot90(clean[i], t) for i, t in zip(index, turns)]
        bases = [np.rot90(self.bases[i], t) for i, t in zip(index, turns)]
        rings = [np.rot90(self.rings[i], t) for i, t in zip(index, turns)]
        return _stack(cleans).permute(0, 3, 1, 2), _stack(bases).permute(0, 3, 1, 2), _stack(rings)[:, None]


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrays))).float()


def load_teacher(model: str, device: str | torch.device = "cpu") -> Teacher:
    """Inpainting model ``model`` (a built-in name, or a .safetensors file of the ``inpaint``
    architecture, checked against its own sha256) with its thin-hole companion, on ``device``, whole
    crops at once."""
    import dataclasses
    from pathlib import Path

    from enhance.api import spec_by_name
    from enhance.engine import Enhancer
    from enhance.errors import ConfigError
    from enhance.tasks import Inpaint
    from enhance.weightstore import sha256_file

    path = Path(model)
    if path.suffix == ".safetensors":
        spec = dataclasses.replace(spec_by_name("inpaint"), weights=path, sha256=sha256_file(path))
    else:
        spec = spec_by_name(model)
    teacher = Enhancer(spec, device=device, tile=0).task()
    if not isinstance(teacher, Inpaint) or teacher.thin is None:
        raise ConfigError(f"ring_teacher {model!r} has no thin-hole companion (spec.thin_model) installed")
    return teacher
