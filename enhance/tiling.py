"""Tiled inference with overlap and smooth blending.

Tiles cover the input with ``overlap`` input pixels shared between neighbours. Inside a shared
band, a tile's weight is 1 on its inner quarter of the band, ramps linearly to 0 across the middle
half and is 0 on the quarter next to its own edge, so every output pixel with a nonzero weight is at
least ``overlap / 4`` input pixels away from the edge of the tile that produced it. A network whose
receptive-field radius fits in ``overlap / 4`` therefore gives the same result tiled as untiled
(up to float rounding), and larger ones get a seamless cross-fade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import math
from dataclasses import dataclass

import torch

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Tile:
    y0: int
    y1: int
    x0: int
    x1: int


def _spans(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """Fewest tiles of at most ``tile`` pixels covering ``length``, all the same size (so no tile is
    mostly overlap), neighbours sharing at least ``overlap`` pixels.

    Every tile starts at a multiple of ``align`` (the network's size multiple): a strided network
    then sees each tile in the same phase as the whole image, so tiled and untiled results agree.
    For that the last tile may be up to ``align - 1`` pixels longer than the others."""
    if length <= tile:
        return [(0, length)]
    need = overlap + align - 1  # flooring the starts may cost a neighbour pair up to align - 1 shared pixels
    n = math.ceil((length - need) / (tile - need))
    size = math.ceil((length - need) / n) + need
    starts = [round(i * (length - size) / (n - 1)) // align * align for i in range(n)]
    return [(s, s + size) for s in starts[:-1]] + [(starts[-1], length)]


def plan_tiles(height: int, width: int, tile: int, overlap: int, align: int = 1) -> list[Tile]:
    """Tiles of about ``tile`` x ``tile`` input pixels covering the image, starting at multiples of ``align``."""
    if tile <= 2 * (overlap + align - 1):
        raise ValueError(f"tile size {tile} must be more than twice the overlap {overlap} (+ {align - 1} for alignment)")
    return [Tile(y0, y1, x0, x1) for y0, y1 in _spans(height, tile, overlap, align)
            for x0, x1 in _spans(width, tile, overlap, align)]


def _ramp(length: int, lo_band: int, hi_band: int, scale: int) -> torch.Tensor:
    """1-D weight along one axis of a tile, in output pixels. Bands are the overlaps with neighbours."""
    w = torch.ones(length * scale)
    for band, at_start in ((lo_band, True), (hi_band, False)):
        if band <= 0:
            continue
        n = band * scale
        q = n // 4
        ramp = torch.zeros(n)
        mid = n - 2 * q
        ramp[q : q + mid] = (torch.arange(mid, dtype=torch.float32) + 0.5) / mid
        ramp[q + mid :] = 1.0
        if at_start:
            w[:n] = torch.minimum(w[:n], ramp)
        else:
            w[-n:] = torch.minimum(w[-n:], ramp.flip(0))
    return w


def _band(a0: int, a1: int, others: list[tuple[int, int]]) -> tuple[int, int]:
    """Widths of the overlap of [a0, a1) with the previous and the next tile along one axis."""
    lo = max((o1 - a0 for o0, o1 in others if o0 < a0 < o1), default=0)
    hi = max((a1 - o0 for o0, o1 in others if o0 < a1 < o1), default=0)
    return lo, hi


def iter_tiles(tiles: list[Tile]) -> Iterator[tuple[Tile, tuple[int, int], tuple[int, int]]]:
    ys = sorted({(t.y0, t.y1) for t in tiles})
    xs = sorted({(t.x0, t.x1) for t in tiles})
    for t in tiles:
        yield t, _band(t.y0, t.y1, ys), _band(t.x0, t.x1, xs)


def run_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    scale: int,
    tile: int,
    overlap: int,
    out_channels: int = 3,
    on_tile: Callable[[int, int], None] | None = None,
    align: int = 1,
) -> torch.Tensor:
    """Apply ``fn`` ((1,C,h,w) -> (1,out_channels,h*scale,w*scale)) tile by tile and blend; tiles
    start at multiples of ``align`` (:func:`_spans`).

    ``x`` is ``(1, C, H, W)``; the accumulators live on the CPU in float32, so peak memory is
    about ``2 * out_channels * H * W * scale**2 * 4`` bytes plus one tile's activations.
    """
    _, _, height, width = x.shape
    tiles = plan_tiles(height, width, tile, overlap, align)
    if len(tiles) == 1:
        return fn(x).float().cpu()
    acc = torch.zeros(out_channels, height * scale, width * scale)
    wsum = torch.zeros(1, height * scale, width * scale)
    for i, (t, (ylo, yhi), (xlo, xhi)) in enumerate(iter_tiles(tiles)):
        out = fn(x[:, :, t.y0 : t.y1, t.x0 : t.x1]).float().cpu()[0]
        wy = _ramp(t.y1 - t.y0, ylo, yhi, scale)
        wx = _ramp(t.x1 - t.x0, xlo, xhi, scale)
        w = (wy[:, None] * wx[None, :])[None]
        ys, xs = slice(t.y0 * scale, t.y1 * scale), slice(t.x0 * scale, t.x1 * scale)
        acc[:, ys, xs] += out * w
        wsum[:, ys, xs] += w
        if on_tile is not None:
            on_tile(i + 1, len(tiles))
    return acc.div_(wsum).unsqueeze(0)


class Tiled:
    """A runner run tile by tile with blending: ``tile`` input px per side (0: whole image at once),
    the model's ``overlap`` and size multiple. On CUDA out-of-memory, ``retry_oom`` halves the tile
    and tries again (the memory-derived "auto" tile is a guess; a tile the user chose is kept)."""

    MIN_RETRY_TILE = 64

    def __init__(self, runner: Callable[[torch.Tensor], torch.Tensor], scale: int, tile: int, overlap: int,
                 multiple: int = 1, retry_oom: bool = False) -> None:
        self.runner, self.scale, self.tile = runner, scale, tile
        self.overlap, self.multiple, self.retry_oom = overlap, multiple, retry_oom

    def __call__(self, x: torch.Tensor, progress: ProgressFn | None = None) -> torch.Tensor:
        from enhance.errors import EnhanceError

        _, _, h, w = x.shape
        tile = self.tile
        with torch.inference_mode():
            while True:
                try:
                    if tile <= 0 or (h <= tile and w <= tile):
                        out = self.runner(x).cpu()
                        if progress:
                            progress(1, 1)
                        return out
                    overlap = min(self.overlap, tile // 2 - self.multiple)
                    return run_tiled(self.runner, x, self.scale, tile, overlap, on_tile=progress, align=self.multiple)
                except torch.OutOfMemoryError:
                    if not self.retry_oom:
                        raise
                    torch.cuda.empty_cache()
                    tile = (min(h, w) if tile <= 0 else tile) // 2
                    if tile < self.MIN_RETRY_TILE:
                        raise EnhanceError("out of GPU memory even with the smallest tile; try --device cpu") from None
