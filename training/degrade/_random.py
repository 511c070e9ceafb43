"""Random draws shared by the degradation ops: every draw comes from an explicit generator."""

from __future__ import annotations

import torch


def uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    """``n`` samples of U[lo, hi) drawn on ``gen``'s device."""
    return torch.rand(n, generator=gen, device=gen.device) * (hi - lo) + lo


def chance(gen: torch.Generator, p: float) -> bool:
    """One Bernoulli(p) draw."""
    return bool(torch.rand(1, generator=gen, device=gen.device).item() < p)


def choice(gen: torch.Generator, probs: tuple[float, ...]) -> int:
    """One index drawn with the (unnormalised) probabilities ``probs``."""
    p = torch.tensor(probs, dtype=torch.float64)
    u = float(torch.rand(1, generator=gen, device=gen.device).item()) * float(p.sum())
    return min(int(torch.searchsorted(torch.cumsum(p, 0), torch.tensor([u], dtype=torch.float64)).item()), len(probs) - 1)


def randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, device=gen.device)
