"""The built-in models, listed in one place. sha256 sums and measured metrics come from the manifest.

Architectures and weights are described apart (timm's pretrained cfg): an :class:`Arch` is the
network and the input it takes; a :class:`Weights` record is one weight file for an architecture,
with its model name, variant tag, texts and headline metric. The fidelity, gan and real variants of
one architecture are one :class:`Arch` and three records, and adding a weight for an existing
architecture is one record in :data:`WEIGHTS`. A record whose file is not in the manifest is not
registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from torch import nn

from enhance.archs.srnet import CompactSR
from enhance.archs.unet import UNetRestorer
from enhance.spec import Condition, ModelSpec, Prefill, Task
from enhance.weightstore import read_manifest, weights_dir

TRAIN_DATA = "BSDS400 (Berkeley, research use) + 47 Debian wallpaper photos (GPL-2+/CC-BY(-SA)/CC0)"
TRAIN_DATA_REAL = TRAIN_DATA + " + 166 photos and 13 textures from Debian packages (GPL, CC-BY(-SA), CC0, PD, MIT)"
LICENCE = "MIT (ours); trained on BSDS400, whose images are for research use: check that fits yours"
INVENTS = (" It invents plausible detail: not for medical, forensic or measurement use.")


@dataclass(frozen=True)
class Arch:
    """One architecture as the library runs it: the task, how to build the network, and its input
    (``condition``, ``prefill``; see :class:`enhance.spec.ModelSpec`). The size multiple is read
    from the network itself (:func:`size_multiple`)."""

    name: str
    task: Task
    build: Callable[[], nn.Module]
    scale: int = 1
    condition: Condition = "none"
    prefill: Prefill = "none"
    tile_overlap: int = 24


@dataclass(frozen=True)
class Weights:
    """One weight file of an :class:`Arch`: the model name it is registered as (the file is
    ``<name>.safetensors``, its card ``<name>.md``), its variant tag, what it is for, the manifest
    metric the README's model table shows, and the thin-hole companion it was tuned with."""

    name: str
    arch: Arch
    description: str
    variant: str = "default"
    headline: str | None = None
    training_data: str = TRAIN_DATA
    thin_model: str | None = None

    @property
    def file(self) -> str:
        return f"{self.name}.safetensors"


SR_X4 = Arch("compact-sr-x4", "upscale", partial(CompactSR, 4, 64, 8), scale=4)
SR_X4_FAST = Arch("compact-sr-x4-48", "upscale", partial(CompactSR, 4, 48, 8), scale=4)
SR_X2 = Arch("compact-sr-x2", "upscale", partial(CompactSR, 2, 64, 8), scale=2)
DENOISE = Arch("unet-denoise", "denoise", partial(UNetRestorer, 1, 48, 3, True), condition="sigma", tile_overlap=64)
INPAINT = Arch("unet-inpaint", "inpaint", partial(UNetRestorer, 1, 48, 4, False), condition="mask", tile_overlap=96)
INPAINT_THIN = Arch("unet-inpaint-thin", "inpaint", partial(UNetRestorer, 1, 32, 2, True), condition="mask",
                    prefill="ns")

#: what each variant of an upscaler is for, ``{x}`` standing for its scale (x4, x2)
_SR_TEXTS = {
    "real": "{x} real-world upscaler (GAN, trained on JPEG, noise, blur and resize chains): "
            "the default for ordinary photos." + INVENTS,
    "gan": "{x} SRGAN-style upscaler, GAN fine-tuned on bicubic LR: sharper, for clean photos." + INVENTS,
    "fidelity": "{x} upscaler trained for PSNR: faithful, for medical and archival work",
}


def _sr(arch: Arch, variant: str, headline: str, training_data: str = TRAIN_DATA) -> Weights:
    """The ``variant`` weights of an upscaler ``arch``: named ``sr-x<scale>-<variant>``."""
    x = f"x{arch.scale}"
    return Weights(f"sr-{x}-{variant}", arch, _SR_TEXTS[variant].format(x=x), variant=variant, headline=headline,
                   training_data=training_data)


#: every built-in weight file, in the order ``enhance models`` and ``list_models()`` give them
WEIGHTS: tuple[Weights, ...] = (
    _sr(SR_X4, "real", "real photos NIQE", TRAIN_DATA_REAL),
    _sr(SR_X4, "gan", "Set5 x4 PSNR-Y"),
    _sr(SR_X4, "fidelity", "Set5 x4 PSNR-Y"),
    Weights("sr-x4-fast", SR_X4_FAST, "sr-x4-fidelity with 25 % of its channels pruned, then distilled: faster on CPUs",
            variant="fast", headline="Set5 x4 PSNR-Y"),
    _sr(SR_X2, "real", "real photos NIQE", TRAIN_DATA_REAL),
    _sr(SR_X2, "gan", "Set5 x2 PSNR-Y"),
    _sr(SR_X2, "fidelity", "Set5 x2 PSNR-Y"),
    Weights("denoise", DENOISE, "blind denoiser (Gaussian, Poisson, JPEG, grain) with a noise-level control; "
            "Pix2Pix + WGAN-GP", headline="CBSD68 s25 PSNR"),
    Weights("denoise-real", DENOISE, "denoiser for real camera noise (phone and camera JPEGs), trained on a "
            "simulated camera pipeline; weaker than denoise on Gaussian noise", variant="real",
            headline="PolyU real-noise PSNR", training_data=TRAIN_DATA_REAL),
    Weights("inpaint", INPAINT, "inpainting U-Net for strokes, boxes and scratches; Pix2Pix + WGAN-GP",
            headline="Kodak24 strokes hole PSNR", thin_model="inpaint-thin"),
    Weights("inpaint-thin", INPAINT_THIN, "thin holes (scratches, dust): Navier-Stokes fill + a learned correction; "
            "inpaint uses it for them", variant="thin", headline="Kodak24 scratches hole PSNR"),
)


def size_multiple(build: Callable[[], nn.Module]) -> int:
    """The input size multiple an architecture declares (its ``size_multiple``; 1 when it has none).
    Built on the meta device: no weights are allocated or initialised, so listing models stays cheap."""
    import torch

    with torch.device("meta"):
        return int(getattr(build(), "size_multiple", 1))


def builtin_weights() -> tuple[Weights, ...]:
    """Every built-in weight record, whether or not its file is installed (the release tool needs them)."""
    return WEIGHTS


def spec_of(w: Weights, sha256: str, metrics: dict[str, float], folder: Path) -> ModelSpec:
    """The :class:`ModelSpec` of weight record ``w``, its file in ``folder``."""
    arch = w.arch
    return ModelSpec(
        name=w.name,
        task=arch.task,
        scale=arch.scale,
        build=arch.build,
        weights=folder / w.file,
        sha256=sha256,
        licence=LICENCE,
        training_data=w.training_data,
        description=w.description,
        variant=w.variant,
        condition=arch.condition,
        prefill=arch.prefill,
        thin_model=w.thin_model,
        size_multiple=size_multiple(arch.build),
        tile_overlap=arch.tile_overlap,
        metrics=metrics,
        card=folder / f"{w.name}.md",
        headline=w.headline,
    )


def builtin_specs() -> list[ModelSpec]:
    """Specs of the shipped models whose weight files are present (listed in the manifest)."""
    folder = weights_dir()
    manifest = read_manifest(folder)
    specs = []
    for w in WEIGHTS:
        entry = manifest.get(w.file)
        if entry is None:
            continue
        metrics = entry.get("metrics", {})
        specs.append(spec_of(w, str(entry["sha256"]), dict(metrics) if isinstance(metrics, dict) else {}, folder))
    return specs
