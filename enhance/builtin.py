"""The built-in models, listed in one place. sha256 sums and measured metrics come from the manifest."""

from __future__ import annotations

from functools import partial

from enhance.archs.srnet import CompactSR
from enhance.archs.unet import UNetRestorer
from enhance.spec import ModelSpec
from enhance.weightstore import read_manifest, weights_dir

TRAIN_DATA = "BSDS400 (Berkeley, research use) + 47 Debian wallpaper photos (GPL-2+/CC-BY(-SA)/CC0)"
LICENCE = "MIT (ours); trained on BSDS400, whose images are for research use: check that fits yours"

# name, task, scale, variant, builder, condition, size multiple, tile overlap, description
_TABLE: list[tuple[str, str, int, str, object, str, int, int, str]] = [
    ("sr-x4-gan", "upscale", 4, "gan", partial(CompactSR, 4, 64, 8), "none", 1, 24,
     "x4 SRGAN-style upscaler, GAN fine-tuned: sharper, for photos"),
    ("sr-x4-fidelity", "upscale", 4, "fidelity", partial(CompactSR, 4, 64, 8), "none", 1, 24,
     "x4 upscaler trained for PSNR: faithful, for medical and archival work"),
    ("sr-x4-fast", "upscale", 4, "fast", partial(CompactSR, 4, 48, 8), "none", 1, 24,
     "sr-x4-fidelity with 25 % of its channels pruned, then distilled: 1.7x faster on CPUs, -0.17 dB"),
    ("sr-x2-gan", "upscale", 2, "gan", partial(CompactSR, 2, 64, 8), "none", 1, 24,
     "x2 SRGAN-style upscaler, GAN fine-tuned: sharper, for photos"),
    ("sr-x2-fidelity", "upscale", 2, "fidelity", partial(CompactSR, 2, 64, 8), "none", 1, 24,
     "x2 upscaler trained for PSNR: faithful, for medical and archival work"),
    ("denoise", "denoise", 1, "default", partial(UNetRestorer, 1, 48, 3, True), "sigma", 8, 64,
     "blind denoiser (Gaussian, Poisson, JPEG, grain) with a noise-level control; Pix2Pix + WGAN-GP"),
    ("inpaint", "inpaint", 1, "default", partial(UNetRestorer, 1, 48, 4, False), "mask", 16, 96,
     "inpainting U-Net for strokes, boxes and scratches; Pix2Pix + WGAN-GP"),
    ("inpaint-thin", "inpaint", 1, "thin", partial(UNetRestorer, 1, 32, 2, True), "mask", 4, 24,
     "thin holes (scratches, dust): Navier-Stokes fill + a learned correction; inpaint uses it for them"),
]
# fields of ModelSpec beyond the table's, per model
_EXTRA: dict[str, dict[str, str]] = {
    "inpaint": {"thin_model": "inpaint-thin"},
    "inpaint-thin": {"prefill": "ns"},
}


def builtin_specs() -> list[ModelSpec]:
    """Specs of the shipped models whose weight files are present (listed in the manifest)."""
    folder = weights_dir()
    manifest = read_manifest(folder)
    specs = []
    for name, task, scale, variant, build, cond, mult, overlap, desc in _TABLE:
        entry = manifest.get(f"{name}.safetensors")
        if entry is None:
            continue
        metrics = entry.get("metrics", {})
        specs.append(
            ModelSpec(
                name=name,
                task=task,  # type: ignore[arg-type]
                scale=scale,
                build=build,  # type: ignore[arg-type]
                weights=folder / f"{name}.safetensors",
                sha256=str(entry["sha256"]),
                licence=LICENCE,
                training_data=TRAIN_DATA,
                description=desc,
                variant=variant,
                condition=cond,  # type: ignore[arg-type]
                size_multiple=mult,
                tile_overlap=overlap,
                metrics=dict(metrics) if isinstance(metrics, dict) else {},
                card=folder / f"{name}.md",
                **_EXTRA.get(name, {}),  # type: ignore[arg-type]
            )
        )
    return specs
