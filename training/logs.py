"""Training logs: CSV (always), TensorBoard (when installed), sample grids and a plot of the curves."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import torch


class RunLog:
    def __init__(self, out_dir: Path, enabled: bool = True) -> None:
        self.out_dir = out_dir
        self.enabled = enabled
        self.path = out_dir / "log.csv"
        self._fields: list[str] | None = None
        self._tb: Any = None
        if enabled:
            out_dir.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(out_dir / "tb"))
            except Exception:  # tensorboard is optional
                self._tb = None

    def write(self, step: int, phase: str, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"step": step, "phase": phase, **{k: f"{v:.6g}" for k, v in values.items()}}
        rows: list[dict[str, Any]] = []
        if self.path.is_file():
            with open(self.path, newline="") as fh:
                rows = list(csv.DictReader(fh))
        fields = list(dict.fromkeys(["step", "phase", *(rows[0].keys() if rows else []), *row.keys()]))
        new_file = self._fields != fields
        if new_file:  # a new column appeared: rewrite with the union of fields
            rows.append(row)
            with open(self.path, "w", newline="") as fh:
                w = csv.DictWriter(fh, fields)
                w.writeheader()
                w.writerows(rows)
            self._fields = fields
        else:
            with open(self.path, "a", newline="") as fh:
                csv.DictWriter(fh, fields).writerow(row)
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(f"{phase}/{k}", v, step)

    def grid(self, step: int, rows: list[torch.Tensor]) -> Path | None:
        """Save a PNG grid: one row per tensor in ``rows`` (each ``(N, 3, H, W)``, same size)."""
        if not self.enabled:
            return None
        from torchvision.utils import save_image

        path = self.out_dir / "samples" / f"step_{step:07d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        n = rows[0].shape[0]
        save_image(torch.cat([r.float().clamp(0, 1).cpu() for r in rows]), str(path), nrow=n, padding=2)
        if self._tb is not None:
            from torchvision.utils import make_grid

            self._tb.add_image("samples", make_grid(torch.cat(rows).float().clamp(0, 1).cpu(), nrow=n), step)
        return path

    def plot(self) -> Path | None:
        """Plot loss and validation curves from the CSV into ``curves.png`` (needs matplotlib)."""
        if not self.enabled or not self.path.is_file():
            return None
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        with open(self.path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        keys = [k for k in rows[0] if k not in ("step", "phase")] if rows else []
        fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.2 * max(1, len(keys))), squeeze=False)
        for ax, key in zip(axes[:, 0], keys):
            pts = [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]
            if pts:
                ax.plot(*zip(*pts))
            ax.set_ylabel(key, fontsize=8)
        axes[-1, 0].set_xlabel("step")
        fig.tight_layout()
        out = self.out_dir / "curves.png"
        fig.savefig(out, dpi=80)
        plt.close(fig)
        return out

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
