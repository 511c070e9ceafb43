"""A pool of degraded training pairs, so each batch mixes degradations drawn at different steps.

Real-ESRGAN degrades a whole batch at once (one resize factor, one JPEG order), which makes a batch
look alike; exchanging with a shuffled pool gives every batch samples of many chains.
"""

from __future__ import annotations

import torch


class PairPool:
    """Keeps up to ``size`` (input, target) pairs; :meth:`exchange` swaps a batch with random members."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.inputs: torch.Tensor | None = None
        self.targets: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.inputs is None else self.inputs.shape[0]

    def exchange(self, inputs: torch.Tensor, targets: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Put the batch in and take as many out. While the pool fills, the batch passes through
        unchanged; once it is full, a random set of pool members is returned and replaced."""
        if self.size == 0:
            return inputs, targets
        b = inputs.shape[0]
        if self.inputs is None or self.targets is None:
            self.inputs, self.targets = inputs.detach().clone(), targets.detach().clone()
            return inputs, targets
        if len(self) < self.size:
            self.inputs = torch.cat([self.inputs, inputs.detach()])[: self.size]
            self.targets = torch.cat([self.targets, targets.detach()])[: self.size]
            return inputs, targets
        idx = torch.randperm(self.size, generator=gen)[:b].to(self.inputs.device)
        out_i, out_t = self.inputs[idx].clone(), self.targets[idx].clone()
        self.inputs[idx], self.targets[idx] = inputs.detach(), targets.detach()
        return out_i, out_t
