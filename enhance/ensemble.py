"""Self-ensembling: run on flipped and rotated copies of the input, turn each result back, average."""

from __future__ import annotations

from collections.abc import Callable

import torch

from enhance.tiling import ProgressFn

ENSEMBLE_SIZES = (1, 2, 4, 8)
TiledFn = Callable[[torch.Tensor, "ProgressFn | None"], torch.Tensor]


def check_ensemble(n: int) -> int:
    """``n`` if it is one of :data:`ENSEMBLE_SIZES`, else an :class:`InvalidInputError`."""
    if n not in ENSEMBLE_SIZES:
        from enhance.errors import InvalidInputError

        raise InvalidInputError(f"ensemble must be one of {', '.join(map(str, ENSEMBLE_SIZES))}, got {n}")
    return n


def view(x: torch.Tensor, k: int, inverse: bool = False) -> torch.Tensor:
    """The ``k``-th of the 8 flips/rotations of ``(B, C, H, W)`` (or its inverse). Views 0-3 are the
    identity, a horizontal flip, a vertical flip and a half turn; 4-7 are those of the transpose."""
    def flips(t: torch.Tensor) -> torch.Tensor:
        dims = [d for d, on in ((3, k & 1), (2, k & 2)) if on]
        return torch.flip(t, dims) if dims else t

    if not inverse:
        x = x.transpose(2, 3) if k & 4 else x
        return flips(x).contiguous()
    x = flips(x)
    return (x.transpose(2, 3) if k & 4 else x).contiguous()


class Ensemble:
    """``run`` (a tiled runner) averaged over the first ``n`` of the 8 views; ``n`` = 1 is ``run``."""

    def __init__(self, run: TiledFn, n: int) -> None:
        self.run, self.n = run, check_ensemble(n)

    def __call__(self, x: torch.Tensor, progress: ProgressFn | None = None) -> torch.Tensor:
        if self.n == 1:
            return self.run(x, progress)
        total: torch.Tensor | None = None
        for k in range(self.n):

            def step(done: int, count: int, k: int = k) -> None:
                if progress:
                    progress(k * count + done, self.n * count)

            y = view(self.run(view(x, k), step), k, inverse=True)
            total = y if total is None else total + y  # not in place: y may be an inference tensor
        assert total is not None
        return total / self.n
