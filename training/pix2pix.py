"""Pix2Pix + WGAN-GP trainer for denoising and inpainting (U-Net generator, PatchGAN critic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from enhance import holes
from enhance.archs.discriminators import PatchCritic
from enhance.archs.unet import UNetRestorer
from enhance.errors import ConfigError

from .config import Pix2PixConfig
from .data import ImageBank, prepare
from .degrade import denoise_pair, real_denoise_pair
from .loop import Batch, GANTrainer, export_generator
from .masks import mask_bank
from .rings import CANVAS_SCALE, RingBank, load_teacher


def build_generator(cfg: Pix2PixConfig) -> nn.Module:
    """Denoising predicts the noise (residual); inpainting the hole, or, with a Navier-Stokes prefill,
    a correction to it, starting from zero so that training starts from the prefill itself."""
    net = UNetRestorer(1, cfg.base, cfg.levels, residual=cfg.task == "denoise" or cfg.prefill != "none")
    if cfg.task == "inpaint" and cfg.prefill != "none":
        nn.init.zeros_(net.out.weight)
        if net.out.bias is not None:
            nn.init.zeros_(net.out.bias)
    return net


class Pix2PixTrainer(GANTrainer):
    """The condition is the degraded image plus one extra channel (noise level map or hole mask);
    the critic sees condition + image, as in Pix2Pix, and is trained with WGAN-GP."""

    def __init__(self, cfg: Pix2PixConfig) -> None:
        if cfg.patch % (2**cfg.levels):
            raise ConfigError(f"patch {cfg.patch} must be a multiple of {2 ** cfg.levels} for {cfg.levels} levels")
        if cfg.prefill != "none" and cfg.task != "inpaint":
            raise ConfigError(f"prefill = {cfg.prefill!r} is for task = 'inpaint' only")
        if not 0 <= cfg.camera_fraction <= 1:
            raise ConfigError(f"camera_fraction = {cfg.camera_fraction} must be in [0, 1]")
        if cfg.ring_teacher and (cfg.task != "inpaint" or not 0 < cfg.ring_fraction <= 1 or cfg.ring_bank < 1
                                 or cfg.ring_context < cfg.patch):
            raise ConfigError("ring_teacher is for task = 'inpaint', with 0 < ring_fraction <= 1, ring_bank >= 1 "
                              "and ring_context >= patch")
        super().__init__(cfg, build_generator(cfg), PatchCritic(3 + 1 + 3, cfg.critic_base))
        self.pcfg = cfg
        train, val = prepare(list(cfg.data.train_dirs), self.out_dir, cfg.patch, cfg.data.val_fraction,
                             cfg.data.split_seed, cfg.data.blur_threshold,
                             Path(cfg.data.manifest) if cfg.data.manifest else None)
        self.train_bank = ImageBank(train, self.device, cfg.data.gray)
        if cfg.task == "inpaint":
            self.masks = torch.from_numpy(mask_bank(4000, cfg.patch, cfg.seed, cfg.mask_weights)).to(self.device)
        val_bank = ImageBank(val[: cfg.data.val_images], self.device, cfg.data.gray)
        vsize = min(256, min(min(im.shape[1:]) for im in val_bank.images)) // 2**cfg.levels * 2**cfg.levels
        target = val_bank.center_crops(vsize)
        vgen = torch.Generator(device=self.device).manual_seed(12345)
        self._val = self._degrade(target, vgen, fixed_masks=torch.from_numpy(
            mask_bank(target.shape[0], vsize, 999, cfg.mask_weights)).to(self.device))
        self.rings: RingBank | None = None
        if cfg.ring_teacher:  # validation: the scratch crops above, then the same crops' rings
            teacher = load_teacher(cfg.ring_teacher, self.device)
            bank_gen = torch.Generator().manual_seed(cfg.seed + 7)
            crops = self.train_bank.sample(cfg.ring_bank, cfg.ring_context, bank_gen)
            canvas = CANVAS_SCALE * cfg.patch  # the same hole sizes in training and validation
            self.rings = RingBank(crops, teacher, cfg.seed, window=cfg.patch, canvas=canvas)
            val_rings = RingBank(target, teacher, 999, canvas=canvas)
            ring_val = self._ring_batch(val_rings, np.arange(len(val_rings)), np.random.default_rng(999), turn=False)
            self._val = {k: torch.cat([v, ring_val[k]]) for k, v in self._val.items()}

    def _degrade(self, clean: torch.Tensor, gen: torch.Generator, fixed_masks: torch.Tensor | None = None) -> Batch:
        if self.pcfg.task == "denoise":
            if self.pcfg.noise_mix == "camera":
                noisy, level, target = real_denoise_pair(clean, gen, self.pcfg.max_sigma, self.pcfg.camera_fraction,
                                                          self.pcfg.camera)
            else:
                (noisy, level), target = denoise_pair(clean, gen, self.pcfg.max_sigma), clean
            cond = torch.cat([noisy, level], 1)
        else:
            if fixed_masks is None:
                idx = torch.randint(0, self.masks.shape[0], (clean.shape[0],), generator=gen, device=gen.device)
                m = self.masks[idx.to(self.device)]
                k = int(torch.randint(0, 4, (1,), generator=gen, device=gen.device))
                m = torch.rot90(m, k, (1, 2))
            else:
                m = fixed_masks
            return self._inpaint_batch(clean, clean, m[:, None].float())
        return {"input": cond, "cond": cond, "target": target}

    def _inpaint_batch(self, clean: torch.Tensor, image: torch.Tensor, hole: torch.Tensor) -> Batch:
        """Fill ``hole`` ``(B, 1, H, W)`` in ``image`` (``clean``, or a ring's surroundings) back to ``clean``."""
        rgb = image * (1 - hole)
        if self.pcfg.prefill == "ns":
            rgb = holes.prefill_batch(rgb, hole)
        cond = torch.cat([rgb, hole], 1)
        if self.pcfg.hole_loss:  # each sample weighs the same, spread over its hole
            area = hole.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1.0)
            return {"input": cond, "cond": cond, "target": clean, "pixel_weight": hole / area}
        return {"input": cond, "cond": cond, "target": clean}

    def _ring_batch(self, bank: RingBank, index: np.ndarray, rng: np.random.Generator, turn: bool = True) -> Batch:
        clean, image, ring = (t.to(self.device) for t in bank.sample(index, rng, turn))
        return self._inpaint_batch(clean, image, ring)

    def make_batch(self, phase: str) -> Batch:
        n_ring = round(self.pcfg.batch * self.pcfg.ring_fraction) if self.rings is not None else 0
        parts = []
        if n_ring < self.pcfg.batch:
            parts.append(self._degrade(self.train_bank.sample(self.pcfg.batch - n_ring, self.pcfg.patch, self.gen), self.dgen))
        if self.rings is not None and n_ring:
            # numpy draws seeded from the trainer's generator, so a resumed run continues the same way
            rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=self.gen)))
            parts.append(self._ring_batch(self.rings, rng.integers(0, len(self.rings), n_ring), rng))
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    def generate(self, G: nn.Module, batch: Batch) -> torch.Tensor:
        out = G(batch["input"])
        if self.pcfg.task == "inpaint":
            hole = batch["input"][:, 3:4]
            out = out * hole + batch["input"][:, :3] * (1 - hole)
        return out

    def critic_inputs(self, batch: Batch, image: torch.Tensor) -> torch.Tensor:
        return torch.cat([batch["cond"], image.to(batch["cond"].dtype)], 1)

    def n_critic(self) -> int:
        return self.pcfg.n_critic

    def gp_lambda(self) -> float:
        return self.pcfg.gp_lambda if self.pcfg.adversarial == "wgan" else 0.0

    def validation_set(self) -> Batch:
        return self._val

    def export(self, G: nn.Module, path: Path, phase: str) -> None:
        cfg = self.pcfg
        export_generator(G, path, {"arch": "unet", "task": cfg.task, "base": str(cfg.base),
                                   "levels": str(cfg.levels), "prefill": cfg.prefill, "phase": phase, "step": str(self.step)})
