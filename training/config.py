"""Typed, frozen training configs, loadable from TOML (unknown keys are rejected)."""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from enhance.errors import ConfigError
from enhance.spec import Prefill

from .degrade.camera import CameraConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DataConfig:
    train_dirs: tuple[str, ...] = ("../shared/data/train",)
    val_fraction: float = 0.2
    split_seed: int = 0
    blur_threshold: float = 20.0
    manifest: str | None = None  # reuse a saved split.json
    gray: bool = False  # train on grayscale converted images
    val_images: int = 40  # validation crops used per evaluation


@dataclass(frozen=True)
class LossWeights:
    pixel: float = 1.0  # Charbonnier (L1-like)
    mse: float = 0.0  # squared error: what PSNR measures, for a last fine-tune
    log_mse: float = 0.0  # per-sample 10 log10(MSE), i.e. minus the mean PSNR: every sample counts alike
    ssim: float = 0.0
    perceptual: float = 0.0
    adversarial: float = 0.0
    gmsd: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    """Common to both trainers. A run is ``pretrain_steps`` of reconstruction losses, then
    ``gan_steps`` of GAN training starting from the pretrained generator."""

    out_dir: str = "runs/train"
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA; ignored on the CPU
    batch: int = 16
    patch: int = 128  # HR (target) crop size
    pretrain_steps: int = 1000
    gan_steps: int = 0
    lr_g: float = 2e-4
    lr_d: float = 1e-4
    betas_g: tuple[float, float] = (0.9, 0.99)
    betas_d: tuple[float, float] = (0.9, 0.99)
    lr_gan_g: float = 5e-5
    lr_min_ratio: float = 0.02  # cosine decay to lr * this
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    pretrain_loss: LossWeights = LossWeights(pixel=1.0)
    gan_loss: LossWeights = LossWeights(pixel=1.0, perceptual=1.0, adversarial=0.005)
    adversarial: Literal["vanilla", "ragan", "wgan"] = "ragan"
    vgg_weights: str = "../shared/data/models/vgg19_pruned/e5_base.pth"
    val_every: int = 500
    sample_every: int = 1000
    log_every: int = 50
    ckpt_every: int = 1000
    warm_start: str | None = None  # generator weights (.safetensors) to start from
    #: discriminator weights to start the GAN phase from (a run's ``discriminator.safetensors``):
    #: a fresh discriminator spends hundreds of steps near chance before it teaches the generator
    warm_start_d: str | None = None
    resume: bool = True  # continue from out_dir/last.safetensors if present
    pretrain_minutes: float | None = None  # wall-clock budget of the pretraining phase (LR follows it)
    gan_minutes: float | None = None  # wall-clock budget of the GAN phase
    data: DataConfig = DataConfig()


@dataclass(frozen=True)
class SRConfig(TrainConfig):
    scale: int = 4
    arch: Literal["compact", "rrdb"] = "compact"
    channels: int = 64
    blocks: int = 8
    # "bicubic": MATLAB-bicubic LR (the benchmarks' protocol); "real": ``real_fraction`` of each
    # GAN-phase batch through the first upscalers' simple chain; "realesrgan": every batch of both
    # phases through Real-ESRGAN's second-order chain (training/degrade/chains.py)
    degradation: Literal["bicubic", "real", "realesrgan"] = "bicubic"
    real_fraction: float = 0.5  # share of a GAN-phase batch degraded by the real-world chain
    usm_target: bool = False  # realesrgan: pixel and perceptual losses against the unsharp-masked HR
    pool_size: int = 0  # realesrgan: pool of degraded pairs that batches are exchanged with
    camera_noise: float = 0.0  # realesrgan: share of chains whose first noise is camera-like (correlated)
    disc_base: int = 32


@dataclass(frozen=True)
class Pix2PixConfig(TrainConfig):
    task: Literal["denoise", "inpaint"] = "denoise"
    base: int = 48
    levels: int = 3
    critic_base: int = 64
    n_critic: int = 5
    gp_lambda: float = 10.0
    adversarial: Literal["vanilla", "ragan", "wgan"] = "wgan"
    betas_d: tuple[float, float] = (0.0, 0.9)  # WGAN-GP paper
    max_sigma: float = 55.0
    # denoise: "synthetic" is the first denoiser's noise (Gaussian, Poisson, JPEG, grain); "camera"
    # puts ``camera_fraction`` of each batch through a random camera pipeline with sensor noise
    # (training/degrade/camera.py) and labels non-Gaussian noise as inference reads it
    noise_mix: Literal["synthetic", "camera"] = "synthetic"
    camera_fraction: float = 0.5
    camera: CameraConfig = CameraConfig()  # the simulated cameras' ranges (a [camera] table)
    mask_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)  # inpaint: strokes, boxes, scratches
    # inpaint: the pixel loss is the mean over each sample's hole (else over the whole image, where a
    # thin scratch weighs a tenth of a box)
    hole_loss: bool = False
    # inpaint: "ns" fills the hole with OpenCV's Navier-Stokes first and the network learns a correction
    # (the thin-hole model); "none" zeroes it
    prefill: Prefill = "none"
    # inpaint: also train on the rims of deep holes as this inpainting model fills them (a built-in
    # model name such as "inpaint", or a .safetensors file of one), ``ring_fraction`` of each batch,
    # from ``ring_bank`` crops of ``ring_context`` px filled once at the start, then cut to ``patch``
    # (training/rings.py; the thin-hole model)
    ring_teacher: str | None = None
    ring_fraction: float = 0.5
    ring_bank: int = 1500
    ring_context: int = 256
    gan_loss: LossWeights = LossWeights(pixel=1.0, ssim=0.2, perceptual=0.1, adversarial=0.002)


C = TypeVar("C")


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return from_dict(tp, value, where)  # type: ignore[arg-type]
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list")
        if Ellipsis in args:
            return tuple(_convert(args[0], v, where) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(a, v, where) for a, v in zip(args, value))
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {value!r} is not one of {typing.get_args(tp)}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        non_none = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(non_none[0], value, where)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    return value


def from_dict(cls: type[C], data: dict[str, Any], where: str = "config") -> C:
    """Build dataclass ``cls`` from a dict, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def load_config(cls: type[C], path: str | Path, overrides: dict[str, Any] | None = None) -> C:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML ({exc})") from exc
    data.update(overrides or {})
    return from_dict(cls, data, str(p))


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
