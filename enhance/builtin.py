"""The built-in models, listed in one place. sha256 sums and measured metrics come from the manifest.

Each entry names the architecture it loads into; the variants of one architecture (fidelity, gan,
real) differ only in their weights, tag and description. An entry whose weights are not in the
manifest is not registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from torch import nn

from enhance.archs.srnet import CompactSR
from enhance.archs.unet import UNetRestorer
from enhance.spec import Condition, ModelSpec, Task
from enhance.weightstore import read_manifest, weights_dir

TRAIN_DATA = "BSDS400 (Berkeley, research use) + 47 Debian wallpaper photos (GPL-2+/CC-BY(-SA)/CC0)"
TRAIN_DATA_REAL = TRAIN_DATA + " + 166 photos and 13 textures from Debian packages (GPL, CC-BY(-SA), CC0, PD, MIT)"
LICENCE = "MIT (ours); trained on BSDS400, whose images are for research use: check that fits yours"
INVENTS = (" It invents plausible detail: not for medical, forensic or measurement use.")


@dataclass(frozen=True)
class Entry:
    """One built-in model: its name, what it does and the architecture its weights load into."""

    name: str
    task: Task
    build: Callable[[], nn.Module]
    description: str
    scale: int = 1
    variant: str = "default"
    condition: Condition = "none"
    tile_overlap: int = 24
    training_data: str = TRAIN_DATA
    headline: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _sr_variants(scale: int) -> tuple[Entry, ...]:
    """The real / gan / fidelity weights of the x``scale`` CompactSR (one architecture, three tags)."""
    arch = partial(CompactSR, scale, 64, 8)
    x = f"x{scale}"
    return (
        Entry(f"sr-{x}-real", "upscale", arch, headline="real photos NIQE", scale=scale, variant="real",
              training_data=TRAIN_DATA_REAL,
              description=f"{x} real-world upscaler (GAN, trained on JPEG, noise, blur and resize chains): "
                          "the default for ordinary photos." + INVENTS),
        Entry(f"sr-{x}-gan", "upscale", arch, headline=f"Set5 {x} PSNR-Y", scale=scale, variant="gan",
              description=f"{x} SRGAN-style upscaler, GAN fine-tuned on bicubic LR: sharper, for clean photos."
                          + INVENTS),
        Entry(f"sr-{x}-fidelity", "upscale", arch, headline=f"Set5 {x} PSNR-Y", scale=scale, variant="fidelity",
              description=f"{x} upscaler trained for PSNR: faithful, for medical and archival work"),
    )


_ENTRIES: tuple[Entry, ...] = (
    *_sr_variants(4),
    Entry("sr-x4-fast", "upscale", partial(CompactSR, 4, 48, 8), headline="Set5 x4 PSNR-Y",
          scale=4, variant="fast",
          description="sr-x4-fidelity with 25 % of its channels pruned, then distilled: faster on CPUs"),
    *_sr_variants(2),
    Entry("denoise", "denoise", partial(UNetRestorer, 1, 48, 3, True), headline="CBSD68 s25 PSNR",
          condition="sigma", tile_overlap=64,
          description="blind denoiser (Gaussian, Poisson, JPEG, grain) with a noise-level control; Pix2Pix + WGAN-GP"),
    Entry("denoise-real", "denoise", partial(UNetRestorer, 1, 48, 3, True), headline="PolyU real-noise PSNR",
          variant="real", condition="sigma", tile_overlap=64,
          description="denoiser for real camera noise (phone and camera JPEGs), trained on a simulated camera "
                      "pipeline; weaker than denoise on Gaussian noise"),
    Entry("inpaint", "inpaint", partial(UNetRestorer, 1, 48, 4, False), headline="Kodak24 strokes hole PSNR",
          condition="mask", tile_overlap=96, extra={"thin_model": "inpaint-thin"},
          description="inpainting U-Net for strokes, boxes and scratches; Pix2Pix + WGAN-GP"),
    Entry("inpaint-thin", "inpaint", partial(UNetRestorer, 1, 32, 2, True), headline="Kodak24 scratches hole PSNR",
          variant="thin", condition="mask",
          extra={"prefill": "ns"},
          description="thin holes (scratches, dust): Navier-Stokes fill + a learned correction; inpaint uses it for them"),
)


def size_multiple(build: Callable[[], nn.Module]) -> int:
    """The input size multiple an architecture declares (its ``size_multiple``; 1 when it has none).
    Built on the meta device: no weights are allocated or initialised, so listing models stays cheap."""
    import torch

    with torch.device("meta"):
        return int(getattr(build(), "size_multiple", 1))


def builtin_entries() -> tuple[Entry, ...]:
    """Every built-in entry, whether or not its weights are installed (the release tool needs them)."""
    return _ENTRIES


def builtin_specs() -> list[ModelSpec]:
    """Specs of the shipped models whose weight files are present (listed in the manifest)."""
    folder = weights_dir()
    manifest = read_manifest(folder)
    specs = []
    for e in _ENTRIES:
        entry = manifest.get(f"{e.name}.safetensors")
        if entry is None:
            continue
        metrics = entry.get("metrics", {})
        specs.append(
            ModelSpec(
                name=e.name,
                task=e.task,
                scale=e.scale,
                build=e.build,
                weights=folder / f"{e.name}.safetensors",
                sha256=str(entry["sha256"]),
                licence=LICENCE,
                training_data=e.training_data,
                description=e.description,
                variant=e.variant,
                condition=e.condition,
                size_multiple=size_multiple(e.build),
                tile_overlap=e.tile_overlap,
                metrics=dict(metrics) if isinstance(metrics, dict) else {},
                card=folder / f"{e.name}.md",
                headline=e.headline,
                **e.extra,  # type: ignore[arg-type]
            )
        )
    return specs
