"""Figures for a model card from a run folder: the discriminator's curves and sample grids.

``python -m enhance.training.card_assets RUN_DIR OUT_DIR [--steps 1500 2500 ...]`` writes
``OUT_DIR/discriminator.png`` (over the GAN phase: d_real_p / d_fake_p and d_loss, or a WGAN-GP
critic's Wasserstein estimate and gradient penalty; validation PSNR and perceptual distance over
the run) and ``OUT_DIR/samples_STEP.jpg`` (input / output / target rows).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def plot(run: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(run / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))

    def series(key: str, phase: str | None = None) -> tuple[list[float], list[float]]:
        pts = [(float(r["step"]), float(r[key])) for r in rows if r.get(key) and (phase is None or r["phase"] == phase)]
        return [p[0] for p in pts], [p[1] for p in pts]

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    wgan = any(r.get("w_dist") for r in rows)
    if wgan:  # a WGAN-GP critic: its Wasserstein estimate, and the penalty that keeps it 1-Lipschitz
        ax[0].plot(*series("w_dist", "gan"), label="Wasserstein estimate E[D(real)] - E[D(restored)]")
        ax[0].axhline(0.0, color="grey", lw=0.5)
        ax[0].set_title("critic (GAN phase)")
        ax[1].plot(*series("gp", "gan"), label="gradient penalty (before lambda)")
        ax[1].set_yscale("log")
    else:
        for key, label in (("d_real_p", "D(real) mean prob."), ("d_fake_p", "D(generated) mean prob.")):
            ax[0].plot(*series(key, "gan"), label=label)
        ax[0].axhline(0.5, color="grey", lw=0.5)
        ax[0].set_title("discriminator beliefs (GAN phase)")
        ax[1].plot(*series("d_loss", "gan"), label="D loss (BCE, 1.386 = chance)")
        ax[1].plot(*series("adv", "gan"), label="G adversarial term (x0.1)")
    ax[0].legend()
    ax[1].legend()
    ax[1].set_title("losses")
    x, y = series("val_psnr")
    ax[2].plot(x, y, "o-", label="val PSNR (dB)")
    ax2 = ax[2].twinx()
    x, y = series("val_perceptual")
    ax2.plot(x, y, "s-", color="C1", label="val VGG distance")
    ax[2].set_title("validation (a fixed set of degraded crops)")
    ax[2].legend(loc="upper left")
    ax2.legend(loc="upper right")
    for a in ax:
        a.set_xlabel("step")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "discriminator.png"
    fig.savefig(path, dpi=80)
    return path


def samples(run: Path, out: Path, steps: list[int]) -> list[Path]:
    from PIL import Image

    written = []
    for s in steps:
        src = run / "samples" / f"step_{s:07d}.png"
        if src.is_file():
            dst = out / f"samples_{s}.jpg"
            Image.open(src).convert("RGB").save(dst, quality=85)
            written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m enhance.training.card_assets")
    ap.add_argument("run", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--steps", type=int, nargs="*", default=[])
    args = ap.parse_args(argv)
    print(plot(args.run, args.out))
    for p in samples(args.run, args.out, args.steps):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
