"""SRGAN-style super-resolution trainer (PSNR pretraining, then GAN fine-tuning)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from enhance.archs.discriminators import UNetDiscriminatorSN
from enhance.archs.srnet import CompactSR, RRDBNet
from enhance.errors import ConfigError

from .config import SRConfig
from .data import ImageBank, prepare
from .degrade import PairPool, RealESRGANConfig, downscale, real_esrgan, real_world_sr, usm_sharp
from .loop import Batch, GANTrainer, export_generator


def build_generator(cfg: SRConfig) -> nn.Module:
    if cfg.arch == "compact":
        return CompactSR(cfg.scale, cfg.channels, cfg.blocks)
    return RRDBNet(cfg.scale, cfg.channels, cfg.blocks)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels, as the LR of real files and of the benchmarks is."""
    return (x.clamp(0, 1) * 255).round() / 255


class SRTrainer(GANTrainer):
    def __init__(self, cfg: SRConfig) -> None:
        if cfg.patch % cfg.scale:
            raise ConfigError(f"patch {cfg.patch} must be a multiple of the scale {cfg.scale}")
        super().__init__(cfg, build_generator(cfg), UNetDiscriminatorSN(3, cfg.disc_base))
        self.scfg = cfg
        train, val = prepare(list(cfg.data.train_dirs), self.out_dir, cfg.patch, cfg.data.val_fraction,
                             cfg.data.split_seed, cfg.data.blur_threshold,
                             Path(cfg.data.manifest) if cfg.data.manifest else None)
        self.train_bank = ImageBank(train, self.device, cfg.data.gray)
        val_bank = ImageBank(val[: cfg.data.val_images], self.device, cfg.data.gray)
        vsize = min(192, min(min(im.shape[1:]) for im in val_bank.images)) // cfg.scale * cfg.scale
        target = val_bank.center_crops(vsize)
        self.chain = RealESRGANConfig(p_camera_noise=cfg.camera_noise)
        self.pool = PairPool(cfg.pool_size)
        if cfg.degradation == "realesrgan":
            # a fixed draw of the chain, so validation PSNR is comparable between steps and runs
            vgen = torch.Generator(device=self.device).manual_seed(12345)
            lr = torch.cat([real_esrgan(target[i : i + 8], cfg.scale, vgen, self.chain)
                            for i in range(0, target.shape[0], 8)])
        else:
            lr = quantize(downscale(target, cfg.scale))
        self._val = {"input": lr, "target": target}

    def make_batch(self, phase: str) -> Batch:
        cfg = self.scfg
        hr = self.train_bank.sample(cfg.batch, cfg.patch, self.gen)
        if cfg.degradation == "realesrgan":
            lr, hr = self.pool.exchange(real_esrgan(hr, cfg.scale, self.dgen, self.chain), hr, self.gen)
            batch = {"input": lr, "target": hr}
            if cfg.usm_target:
                batch["target_sharp"] = usm_sharp(hr)
            return batch
        lr = downscale(hr, cfg.scale)
        if phase == "gan" and cfg.degradation == "real":
            n = int(round(cfg.batch * cfg.real_fraction))
            if n:
                lr = torch.cat([real_world_sr(hr[:n], cfg.scale, self.dgen), lr[n:]])
        return {"input": quantize(lr), "target": hr}

    def generate(self, G: nn.Module, batch: Batch) -> torch.Tensor:
        return G(batch["input"])

    def critic_inputs(self, batch: Batch, image: torch.Tensor) -> torch.Tensor:
        return image

    def validation_set(self) -> Batch:
        return self._val

    def export(self, G: nn.Module, path: Path, phase: str) -> None:
        cfg = self.scfg
        export_generator(G, path, {"arch": cfg.arch, "scale": str(cfg.scale), "channels": str(cfg.channels),
                                   "blocks": str(cfg.blocks), "phase": phase, "step": str(self.step)})
