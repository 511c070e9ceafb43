"""The GAN training loop shared by the SRGAN and Pix2Pix/WGAN-GP trainers.

A trainer subclasses :class:`GANTrainer` and supplies the batch, the generator loss and the critic
loss; this module owns everything else: devices and AMP, DDP under ``torchrun``, optimizers and
cosine schedules, EMA, checkpoints and resume, best-checkpoint selection, the divergence guard, logs
and sample grids.

Phases: ``pretrain`` (reconstruction losses only) for ``pretrain_steps``, then ``gan`` for
``gan_steps``. The best EMA generator of each phase is kept: by validation PSNR in pretraining and by
validation perceptual distance (lower is better) in the GAN phase.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from abc import ABC, abstractmethod
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import nn

from enhance.errors import ConfigError, EnhanceError
from enhance.weightstore import save_weights
from .checkpoint import load_checkpoint, save_checkpoint
from .config import LossWeights, TrainConfig
from .logs import RunLog

if TYPE_CHECKING:
    from .losses import VGGFeatures

Batch = dict[str, torch.Tensor]


class DivergenceError(EnhanceError):
    """Training diverged repeatedly even after restoring and lowering the learning rate."""


class EMA:
    """Exponential moving average of a model's parameters and buffers."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float | None = None) -> None:
        d = self.decay if decay is None else decay
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p.detach(), 1 - d)
        for eb, b in zip(self.model.buffers(), model.buffers()):
            eb.copy_(b)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    mse = (pred.float().clamp(0, 1) - target.float()).square().mean().item()
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def setup_distributed(device: str) -> tuple[torch.device, int, int]:
    """(device, rank, world size). Under ``torchrun`` (WORLD_SIZE > 1) initialise the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() and device != "cpu"
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
        if use_cuda:
            torch.cuda.set_device(local)
        return torch.device(f"cuda:{local}" if use_cuda else "cpu"), dist.get_rank(), world
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu"), 0, 1
    return torch.device(device), 0, 1


def shutdown_distributed() -> None:
    """Tear down the process group set up by :func:`setup_distributed`, if any: a gloo rank that exits
    with its group still open can abort (SIGABRT) while the others are still finishing."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(model: nn.Module, world: int) -> None:
    """All-reduce gradients by hand (used for the critic: WGAN-GP's double backward does not go
    through DistributedDataParallel's reducer)."""
    if world <= 1:
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world)


class GANTrainer(ABC):
    """Owns the loop; subclasses define data and losses."""

    def __init__(self, cfg: TrainConfig, generator: nn.Module, critic: nn.Module) -> None:
        self.cfg = cfg
        self.device, self.rank, self.world = setup_distributed(cfg.device)
        self.is_main = self.rank == 0
        torch.manual_seed(cfg.seed + self.rank)
        self.out_dir = Path(cfg.out_dir)
        # gen: small draws on the CPU (crop positions); dgen: noise fields on the training device
        self.gen = torch.Generator().manual_seed(cfg.seed * 1000 + self.rank)
        self.dgen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1000 + self.rank + 1)
        self.G = generator.to(self.device)
        self.D = critic.to(self.device)
        self.G_train: nn.Module = self.G
        if self.world > 1:
            self.G_train = nn.parallel.DistributedDataParallel(
                self.G, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.ema = EMA(self.G, cfg.ema_decay)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas_g)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas_d)
        self.amp = cfg.amp and self.device.type == "cuda"
        self.step = 0
        self.phase = "pretrain" if cfg.pretrain_steps > 0 else "gan"
        self.phase_start = 0
        self.phase_t0 = time.time()
        self.lr_scale = 1.0
        self.restores = 0
        self.best = {"pretrain": -math.inf, "gan": -math.inf}
        self.loss_avg: float | None = None
        self.log = RunLog(self.out_dir, enabled=self.is_main)
        self._good: dict[str, Any] | None = None
        self._perceptual: VGGFeatures | None = None

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def make_batch(self, phase: str) -> Batch: ...

    @abstractmethod
    def generate(self, G: nn.Module, batch: Batch) -> torch.Tensor: ...

    @abstractmethod
    def critic_inputs(self, batch: Batch, image: torch.Tensor) -> torch.Tensor:
        """What the critic sees for a (real or generated) image: the image, or condition + image."""

    @abstractmethod
    def validation_set(self) -> Batch: ...

    @abstractmethod
    def export(self, G: nn.Module, path: Path, phase: str) -> None:
        """Write the release weights (plain generator state dict, safetensors)."""

    def n_critic(self) -> int:
        return 1

    def gp_lambda(self) -> float:
        return 0.0

    # ------------------------------------------------------------------ losses
    @property
    def perceptual(self) -> VGGFeatures:
        if self._perceptual is None:
            from .losses import VGGFeatures

            path = Path(self.cfg.vgg_weights)
            if path.suffix == ".pth":  # convert once into the run folder, read as safetensors
                from .prepare_vgg import convert

                conv = self.out_dir / "vgg_features.safetensors"
                if not conv.is_file():
                    if not path.is_file():
                        raise ConfigError(f"{path}: VGG weights not found (needed by the perceptual loss)")
                    convert(path, conv)
                path = conv
            self._perceptual = VGGFeatures.from_file(path).to(self.device)
        return self._perceptual

    def reconstruction(
        self, fake: torch.Tensor, real: torch.Tensor, w: LossWeights, pixel_weight: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The weighted reconstruction losses; ``pixel_weight`` weighs the pixel terms (Charbonnier, MSE)."""
        from . import losses as L

        parts: dict[str, torch.Tensor] = {}
        if w.pixel:
            parts["pixel"] = w.pixel * L.charbonnier_loss(fake.float(), real.float(), weight=pixel_weight)
        if w.mse:
            parts["mse"] = w.mse * L.mse_loss(fake.float(), real.float(), weight=pixel_weight)
        if w.log_mse:
            parts["log_mse"] = w.log_mse * L.log_mse_loss(fake.float(), real.float())
        if w.ssim:
            parts["ssim"] = w.ssim * L.ssim_loss(fake.float().clamp(0, 1), real.float())
        if w.perceptual:
            parts["perceptual"] = w.perceptual * L.perceptual_loss(self.perceptual, fake.float(), real.float())
        if w.gmsd:
            parts["gmsd"] = w.gmsd * L.gmsd_loss(fake.float(), real.float())
        total = sum(parts.values(), torch.zeros((), device=fake.device))
        return total, {k: v.item() for k, v in parts.items()}

    def _autocast(self) -> Any:
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp)

    def critic_step(self, phase: str) -> dict[str, float]:
        from . import losses as L

        batch = self.make_batch(phase)
        with torch.no_grad(), self._autocast():
            fake = self.generate(self.G, batch).float()
        real = batch["target"]
        with self._autocast():
            d_real = self.D(self.critic_inputs(batch, real)).float()
            d_fake = self.D(self.critic_inputs(batch, fake)).float()
        loss = L.discriminator_loss(self.cfg.adversarial, d_real, d_fake)
        logs = {"d_loss": loss.item()}
        if self.gp_lambda():
            cond = batch.get("cond")
            gp = L.gradient_penalty(self.D, real, fake, cond, self.dgen)
            loss = loss + self.gp_lambda() * gp
            logs["gp"] = gp.item()
        if self.cfg.adversarial == "wgan":
            logs["w_dist"] = (d_real.mean() - d_fake.mean()).item()
        else:  # the discriminator's mean belief that real / generated pixels are real: 0.5 / 0.5 is balance
            logs["d_real_p"] = torch.sigmoid(d_real).mean().item()
            logs["d_fake_p"] = torch.sigmoid(d_fake).mean().item()
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.D, self.world)
        torch.nn.utils.clip_grad_norm_(self.D.parameters(), 10.0)
        self.opt_d.step()
        return logs

    def generator_step(self, phase: str) -> dict[str, float]:
        from . import losses as L

        batch = self.make_batch(phase)
        with self._autocast():
            fake = self.generate(self.G_train, batch).float()
        w = self.cfg.pretrain_loss if phase == "pretrain" else self.cfg.gan_loss
        # reconstruction against a sharpened target where the trainer gives one (Real-ESRGAN's USM
        # targets); the critic always compares with the plain target
        rec_target = batch.get("target_sharp", batch["target"])
        loss, logs = self.reconstruction(fake, rec_target, w, batch.get("pixel_weight"))
        if phase == "gan" and w.adversarial:
            with self._autocast():
                d_fake = self.D(self.critic_inputs(batch, fake)).float()
                d_real = None
                if self.cfg.adversarial == "ragan":
                    with torch.no_grad():
                        d_real = self.D(self.critic_inputs(batch, batch["target"])).float()
            adv = w.adversarial * L.generator_adv_loss(self.cfg.adversarial, d_fake, d_real)
            loss = loss + adv
            logs["adv"] = adv.item()
        logs["g_loss"] = loss.item()
        if not math.isfinite(logs["g_loss"]):
            return logs
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.G.parameters(), self.cfg.grad_clip)
        self.opt_g.step()
        return logs

    # ------------------------------------------------------------------ schedule and guard
    def _phase(self) -> str:
        return self.phase

    def _progress(self) -> float:
        """Fraction of the current phase done, by steps or by its wall-clock budget, whichever is further."""
        cfg = self.cfg
        steps, minutes = (
            (cfg.pretrain_steps, cfg.pretrain_minutes) if self.phase == "pretrain" else (cfg.gan_steps, cfg.gan_minutes)
        )
        t = (self.step - self.phase_start) / max(1, steps)
        if minutes:
            t = max(t, (time.time() - self.phase_t0) / (60 * minutes))
        return t

    def _set_lr(self, phase: str) -> None:
        base_g = self.cfg.lr_g if phase == "pretrain" else self.cfg.lr_gan_g
        t = min(1.0, self._progress())
        factor = self.cfg.lr_min_ratio + (1 - self.cfg.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        for g in self.opt_g.param_groups:
            g["lr"] = base_g * factor * self.lr_scale
        for g in self.opt_d.param_groups:
            g["lr"] = self.cfg.lr_d * factor * self.lr_scale

    def _snapshot(self) -> None:
        self._good = {
            "G": copy.deepcopy(self.G.state_dict()),
            "D": copy.deepcopy(self.D.state_dict()),
            "E": copy.deepcopy(self.ema.model.state_dict()),
            "og": copy.deepcopy(self.opt_g.state_dict()),
            "od": copy.deepcopy(self.opt_d.state_dict()),
        }

    def _diverged(self, logs: dict[str, float]) -> bool:
        values = [v for k, v in logs.items() if k in ("g_loss", "d_loss")]
        if any(not math.isfinite(v) for v in values):
            return True
        g = logs.get("g_loss", 0.0)
        if self.loss_avg is not None and self.step > 200 and g > 20 * max(self.loss_avg, 1e-3):
            return True
        self.loss_avg = g if self.loss_avg is None else 0.98 * self.loss_avg + 0.02 * g
        return False

    def _restore(self) -> None:
        if self._good is None:
            raise DivergenceError("training diverged before the first good snapshot")
        self.restores += 1
        if self.restores > 5:
            raise DivergenceError("training diverged 6 times; giving up (lower the learning rate)")
        self.G.load_state_dict(self._good["G"])
        self.D.load_state_dict(self._good["D"])
        self.ema.model.load_state_dict(self._good["E"])
        self.opt_g.load_state_dict(self._good["og"])
        self.opt_d.load_state_dict(self._good["od"])
        self.lr_scale *= 0.5
        self.loss_avg = None

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        from . import losses as L

        val = self.validation_set()
        outs = []
        G = self.ema.model
        for i in range(0, val["target"].shape[0], 8):
            part = {k: v[i : i + 8] for k, v in val.items()}
            with self._autocast():
                outs.append(self.generate(G, part).float().clamp(0, 1))
        out = torch.cat(outs)
        res = {"val_psnr": sum(psnr(o, t) for o, t in zip(out, val["target"])) / out.shape[0]}
        res["val_ssim"] = 1 - 2 * L.ssim_loss(out, val["target"]).item()
        if self._phase() == "gan" or self.cfg.gan_steps:
            try:
                res["val_perceptual"] = L.perceptual_loss(self.perceptual, out, val["target"]).item()
            except ConfigError:
                pass
        return res

    def _score(self, phase: str, metrics: dict[str, float]) -> float:
        if phase == "gan" and "val_perceptual" in metrics:
            return -metrics["val_perceptual"]
        return metrics["val_psnr"]

    # ------------------------------------------------------------------ checkpoints
    def _meta(self) -> dict[str, Any]:
        return {"step": self.step, "phase": self.phase, "phase_start": self.phase_start,
                "phase_elapsed": time.time() - self.phase_t0, "lr_scale": self.lr_scale, "restores": self.restores, "best": self.best,
                "config": asdict(self.cfg), "rng": self.gen.get_state().tolist(),
                "drng": self.dgen.get_state().tolist()}

    def save(self, name: str = "last.safetensors") -> None:
        if self.is_main:
            save_checkpoint(self.out_dir / name, {"G": self.G, "D": self.D, "E": self.ema.model},
                            {"g": self.opt_g, "d": self.opt_d}, self._meta())

    def resume(self) -> bool:
        path = self.out_dir / "last.safetensors"
        if not (self.cfg.resume and path.is_file()):
            return False
        meta = load_checkpoint(path, {"G": self.G, "D": self.D, "E": self.ema.model}, {"g": self.opt_g, "d": self.opt_d})
        self.step = int(meta["step"])
        self.phase = str(meta.get("phase", self.phase))
        self.phase_start = int(meta.get("phase_start", 0))
        self.phase_t0 = time.time() - float(meta.get("phase_elapsed", 0.0))
        self.lr_scale = float(meta.get("lr_scale", 1.0))
        self.restores = int(meta.get("restores", 0))
        self.best = {k: float(v) for k, v in meta.get("best", self.best).items()}
        if "rng" in meta:
            self.gen.set_state(torch.tensor(meta["rng"], dtype=torch.uint8))
        if "drng" in meta:
            self.dgen.set_state(torch.tensor(meta["drng"], dtype=torch.uint8))
        return True

    def warm_start(self, path: Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(path))
        self.G.load_state_dict(state, strict=True)
        self.ema.model.load_state_dict(state, strict=True)

    def warm_start_discriminator(self, path: Path) -> None:
        from safetensors.torch import load_file

        self.D.load_state_dict(load_file(str(path)), strict=True)

    def save_discriminator(self) -> None:
        """The discriminator alone, for a later run's ``warm_start_d``."""
        from safetensors.torch import save_file

        if self.is_main and self.cfg.gan_steps > 0:
            save_file({k: v.detach().cpu().contiguous() for k, v in self.D.state_dict().items()},
                      str(self.out_dir / "discriminator.safetensors"))

    # ------------------------------------------------------------------ loop
    def samples(self) -> None:
        val = self.validation_set()
        part = {k: v[:6] for k, v in val.items()}
        with torch.no_grad(), self._autocast():
            out = self.generate(self.ema.model, part).float().clamp(0, 1)
        self.log.grid(self.step, [self.preview_input(part, out.shape[-2:]), out, part["target"]])

    def preview_input(self, batch: Batch, size: torch.Size) -> torch.Tensor:
        x = batch["input"][:, :3]
        return torch.nn.functional.interpolate(x.float(), size=tuple(size), mode="nearest")

    def fit(self) -> dict[str, Any]:
        cfg = self.cfg
        if not self.resume():
            if cfg.warm_start:
                self.warm_start(Path(cfg.warm_start))
            if cfg.warm_start_d:
                self.warm_start_discriminator(Path(cfg.warm_start_d))
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
        self._snapshot()
        t0, step0 = time.time(), self.step
        acc: dict[str, float] = {}
        n_acc: dict[str, int] = {}  # per key: the GAN-only keys start mid-interval at the phase switch
        while True:
            if self._progress() >= 1.0:
                self._evaluate(self.phase)
                if self.phase == "pretrain" and cfg.gan_steps > 0:
                    # entering the GAN phase: start it (and its EMA) from the best pretrained generator
                    self._load_best_pretrain()
                    self.phase, self.phase_start, self.phase_t0 = "gan", self.step, time.time()
                    self.loss_avg = None
                    self._snapshot()
                    continue
                break
            phase = self.phase
            self._set_lr(phase)
            self.G_train.train()
            logs: dict[str, float] = {}
            if phase == "gan" and cfg.gan_loss.adversarial:
                for _ in range(self.n_critic()):
                    logs.update(self.critic_step(phase))
            logs.update(self.generator_step(phase))
            if self._diverged(logs):
                self._restore()
                continue
            self.ema.update(self.G, min(cfg.ema_decay, (1 + self.step - self.phase_start) / (10 + self.step - self.phase_start)))
            self.step += 1
            for k, v in logs.items():
                acc[k] = acc.get(k, 0.0) + v
                n_acc[k] = n_acc.get(k, 0) + 1
            if self.step % cfg.log_every == 0 and self.is_main:
                vals = {k: v / n_acc[k] for k, v in acc.items()}
                vals["lr_g"] = self.opt_g.param_groups[0]["lr"]
                vals["steps_per_s"] = (self.step - step0) / max(1e-6, time.time() - t0)
                self.log.write(self.step, phase, vals)
                acc, n_acc = {}, {}
            if self.step % cfg.val_every == 0:
                self._evaluate(phase)
            if self.step % cfg.sample_every == 0 and self.is_main:
                self.samples()
            if self.step % cfg.ckpt_every == 0:
                self._snapshot()
                self.save()
                if phase == "gan":
                    self.save_discriminator()
        self.save()
        self.save_discriminator()
        if self.is_main:
            self.samples()
            self.log.plot()
            self.log.close()
        if self.world > 1:
            dist.barrier()  # every rank leaves together, after the main one has written its files
        return {"step": self.step, "best": self.best, "restores": self.restores}

    def _load_best_pretrain(self) -> None:
        from safetensors.torch import load_file

        path = self.out_dir / "best_pretrain.safetensors"
        if self.is_main and path.is_file():
            state = load_file(str(path))
            self.G.load_state_dict(state)
        if self.world > 1:
            for p in self.G.state_dict().values():
                dist.broadcast(p, 0)
        self.ema.model.load_state_dict(self.G.state_dict())

    def _evaluate(self, phase: str) -> None:
        if not self.is_main:
            return
        metrics = self.validate()
        self.log.write(self.step, phase, metrics)
        score = self._score(phase, metrics)
        if score > self.best[phase]:
            self.best[phase] = score
            self.export(self.ema.model, self.out_dir / f"best_{phase}.safetensors", phase)
            (self.out_dir / f"best_{phase}.json").write_text(
                json.dumps({"step": self.step, **metrics}, indent=1) + "\n")


def export_generator(G: nn.Module, path: Path, meta: dict[str, str]) -> str:
    """Save a generator's state dict for release; returns its sha256."""
    return save_weights(G, path, metadata=meta)
