"""Models that take the image and a hole: hole filling, coarse to fine, with a thin-hole companion."""

from __future__ import annotations

import numpy as np
import torch

from enhance import holes
from enhance.errors import EnhanceError, InvalidInputError
from enhance.registry import default_registry
from enhance.spec import ModelSpec
from enhance.tasks.base import Run, stage, to_image, to_tensor
from enhance.tiling import ProgressFn


def companion_spec(spec: ModelSpec) -> ModelSpec | None:
    """The thin-hole model ``spec`` names (``spec.thin_model``), if it is registered."""
    if not spec.thin_model:
        return None
    reg = default_registry()
    return reg.get(spec.thin_model) if spec.thin_model in reg else None


class Inpaint:
    """``Inpaint(spec, run, thin=None)(img, mask)``: ``(H, W, 3)`` float32 in [0, 1] with the white
    (> 0.5) part of ``mask`` filled; known pixels are kept exactly.

    Holes deeper than ``reach`` px are filled coarse to fine (:mod:`enhance.holes`); ``None`` runs
    one pass whatever the hole. ``thin`` (the companion of ``spec.thin_model``, itself an
    :class:`Inpaint`) takes the thin holes (scratches, dust) and the rim of the others; without one
    this model fills everything.
    """

    def __init__(self, spec: ModelSpec, run: Run, thin: Inpaint | None = None, reach: int | None = holes.REACH) -> None:
        self.spec, self.run, self.thin, self.reach = spec, run, thin, reach

    def hole(self, mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
        """The bool ``(H, W)`` hole of ``mask`` (``(H, W)`` or ``(H, W, C)``, white = fill) for an
        image of ``shape``; refuses a missing or mismatched mask and one that leaves nothing known."""
        if mask is None:
            raise InvalidInputError(f"model {self.spec.name} needs a mask (white = area to fill)")
        if mask.shape[:2] != tuple(shape[:2]):
            raise InvalidInputError(
                f"mask size {mask.shape[1]}x{mask.shape[0]} does not match image size {shape[1]}x{shape[0]}"
            )
        hole = (mask if mask.ndim == 2 else mask.max(axis=2)) > 0.5
        if hole.all():
            raise InvalidInputError("the mask covers the whole image: no pixels are left to fill the hole from")
        return hole

    def __call__(self, img: np.ndarray, mask: np.ndarray | None, progress: ProgressFn | None = None) -> np.ndarray:
        return self.fill_holes(img, self.hole(mask, img.shape), progress)

    def fill_holes(self, img: np.ndarray, hole: np.ndarray, progress: ProgressFn | None = None) -> np.ndarray:
        """Fill ``hole`` (bool ``(H, W)``) in ``img``.

        With a companion, thin holes are first filled by Navier-Stokes so that the main pass sees
        them as known; this model fills the rest (:meth:`main_fill`); then the companion fills the
        thin holes again, and the rim of the others ring by ring from the outside in
        (``holes.rim_rings``, :meth:`refill_ring`). Progress is reported for every pass, coarse ones
        included (each a share of the count)."""
        if self.thin is None:
            return self.fill(img, hole, progress)
        if holes.hole_depth(hole) <= holes.THIN_DEPTH:  # every part thin: nothing for the main model
            return self.thin.fill(img, hole, progress)
        rings = holes.rim_rings(hole)
        passes = 1 + len(rings)
        img = self.main_fill(img, hole, stage(progress, 0, passes))
        for k, ring in enumerate(rings):  # the first ring holds the thin holes (depth <= THIN_DEPTH)
            img = self.refill_ring(img, ring, stage(progress, k + 1, passes))
        return img

    def main_fill(self, img: np.ndarray, hole: np.ndarray, progress: ProgressFn | None = None) -> np.ndarray:
        """This model's fill of ``hole`` before the companion redoes the rim: the thin parts
        (``holes.thin_parts``) filled by Navier-Stokes, the rest by this model with them as context.
        The thin-hole model is trained on the rings of this fill (``training/rings.py``)."""
        thin = holes.thin_parts(hole)
        rest = hole & ~thin
        img = holes.prefill_ns(img, thin) if thin.any() else img
        return self.fill(img, rest, progress) if rest.any() else np.asarray(img, dtype=np.float32)

    def refill_ring(self, img: np.ndarray, ring: np.ndarray, progress: ProgressFn | None = None) -> np.ndarray:
        """A copy of ``img`` with ``ring`` (one of ``holes.rim_rings``) filled again by the companion,
        run on the ring's bounding box plus ``holes.RING_MARGIN`` px only."""
        if self.thin is None:
            raise EnhanceError(f"model {self.spec.name!r} has no thin-hole companion to refill rims with")
        out = np.array(img, dtype=np.float32)
        rows, cols = holes.crop_box(ring, holes.RING_MARGIN)
        out[rows, cols] = self.thin.fill(out[rows, cols], ring[rows, cols], progress)
        return out

    def fill(self, img: np.ndarray, hole: np.ndarray, progress: ProgressFn | None = None) -> np.ndarray:
        """This model's own fill of ``hole``, without the companion: after a Navier-Stokes prefill in
        one pass (``spec.prefill == "ns"``), else with the hole zeroed, coarse to fine."""
        passes = 0
        prefilled = self.spec.prefill == "ns"

        def fill(rgb: np.ndarray, h: np.ndarray, depth: int) -> np.ndarray:
            nonlocal passes
            passes = max(passes, depth + 1)  # the coarsest pass comes first and knows how many follow
            x = to_tensor(rgb)
            t = torch.from_numpy(h.astype(np.float32))[None, None]
            known = x * (1 - t)
            out = self.run(torch.cat([x if prefilled else known, t], 1), stage(progress, passes - 1 - depth, passes))
            return to_image(out * t + known)

        if prefilled:
            return fill(holes.prefill_ns(img, hole), hole, 0)
        return holes.fill_coarse_to_fine(fill, img, hole, self.reach)
