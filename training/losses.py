"""Loss core shared by the SRGAN and Pix2Pix/WGAN-GP trainers.

Each loss is a function on ``(B, C, H, W)`` tensors in [0, 1] plus a thin ``nn.Module`` that calls it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from enhance.archs.vgg import PrunedVGG19
from enhance.errors import ConfigError


# ---------------------------------------------------------------- pixel losses
def _weighted_mean(err: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``err``, or its mean weighted by ``weight`` (broadcastable to it)."""
    if weight is None:
        return err.mean()
    w = weight.expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(1e-12)


def charbonnier_loss(
    pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean of ``sqrt((pred - target)^2 + eps^2)``: L1 that is smooth at zero.

    ``weight`` (broadcastable to ``pred``, e.g. ``(B, 1, H, W)``) makes it a weighted mean, so
    that, say, each inpainting sample counts by its hole alone whatever the hole's size.
    """
    return _weighted_mean(torch.sqrt((pred - target).square() + eps * eps), weight)


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target)


def mse_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error, the loss PSNR measures; ``weight`` as for :func:`charbonnier_loss`.

    Reported x 255^2 would be the MSE in 8-bit units; kept on the 0-1 scale, so its gradients are
    small, which Adam does not mind.
    """
    return _weighted_mean((pred - target).square(), weight)


def log_mse_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Mean over the batch of ``10 * log10(MSE)`` of each sample: minus its PSNR (0-1 scale).

    Unlike the MSE of the whole batch, which heavy noise dominates, every sample counts by its
    relative error, as in a benchmark's mean PSNR; ``eps`` keeps a perfect sample finite.
    """
    per_sample = (pred - target).square().flatten(1).mean(1)
    return (10.0 * torch.log10(per_sample + eps)).mean()


def ssim_loss(pred: torch.Tensor, target: torch.Tensor, window: int = 11) -> torch.Tensor:
    """``(1 - SSIM) / 2`` averaged over the image (kornia)."""
    from kornia.losses import ssim_loss as k_ssim

    return k_ssim(pred.float(), target.float(), window)


def ms_ssim_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - MS-SSIM`` (kornia); needs images of at least ~ 176 px on the short side for 5 scales."""
    from kornia.losses import MS_SSIMLoss

    return MS_SSIMLoss(alpha=1.0, compensation=1.0).to(pred.device)(pred.float(), target.float())


def gmsd_loss(pred: torch.Tensor, target: torch.Tensor, c: float = 0.0026) -> torch.Tensor:
    """Gradient magnitude similarity deviation (Xue et al. 2014), the quality loss of GMGAN.

    Computed on luminance with Prewitt gradients; 0 for identical images, larger = worse.
    """
    w = torch.tensor([0.299, 0.587, 0.114], device=pred.device, dtype=pred.dtype)[None, :, None, None]
    py = (pred * w).sum(1, keepdim=True) if pred.shape[1] == 3 else pred
    ty = (target * w).sum(1, keepdim=True) if target.shape[1] == 3 else target
    k = torch.tensor([[1.0, 0.0, -1.0]] * 3, device=pred.device, dtype=pred.dtype) / 3.0
    kx, ky = k[None, None], k.t()[None, None]

    def mag(img: torch.Tensor) -> torch.Tensor:
        img = F.pad(img, (1, 1, 1, 1), mode="replicate")
        return torch.sqrt(F.conv2d(img, kx).square() + F.conv2d(img, ky).square() + 1e-12)

    mp, mt = mag(py), mag(ty)
    gms = (2 * mp * mt + c) / (mp.square() + mt.square() + c)
    return gms.flatten(1).std(1).mean()


# ---------------------------------------------------------------- perceptual
class VGGFeatures(PrunedVGG19):
    """The perceptual loss's encoder: :class:`enhance.archs.vgg.PrunedVGG19` (features after ReLU of
    the chosen layers), by default at the ends of the first four stages."""

    def __init__(self, state: dict[str, torch.Tensor], layers: tuple[str, ...] = ("conv12", "conv22", "conv34", "conv44")) -> None:
        super().__init__(state, layers)

    @classmethod
    def from_file(cls, path: str | Path, layers: tuple[str, ...] = ("conv12", "conv22", "conv34", "conv44")) -> "VGGFeatures":
        from safetensors.torch import load_file

        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: VGG weight file not found (convert it with `python -m enhance.training.prepare_vgg`)")
        return cls(load_file(str(p)), layers)


def perceptual_loss(features: VGGFeatures, pred: torch.Tensor, target: torch.Tensor,
                    weights: tuple[float, ...] | None = None) -> torch.Tensor:
    """Sum over layers of the L1 distance between VGG features of ``pred`` and ``target``."""
    fp = features(pred.float())
    with torch.no_grad():
        ft = features(target.float())
    ws = weights or (1.0,) * len(fp)
    return sum(w * F.l1_loss(a, b) for w, a, b in zip(ws, fp, ft))  # type: ignore[return-value]


class PerceptualLoss(nn.Module):
    def __init__(self, features: VGGFeatures) -> None:
        super().__init__()
        self.features = features

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return perceptual_loss(self.features, pred, target)


# ---------------------------------------------------------------- adversarial
AdvKind = Literal["vanilla", "ragan", "wgan"]


def discriminator_loss(kind: AdvKind, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Loss for the discriminator/critic given its outputs on real and generated images."""
    if kind == "vanilla":
        return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    if kind == "ragan":
        r = real_logits - fake_logits.mean()
        f = fake_logits - real_logits.mean()
        return 0.5 * (F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) +
                      F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
    if kind == "wgan":
        return fake_logits.mean() - real_logits.mean()
    raise ConfigError(f"unknown adversarial loss {kind!r}")


def generator_adv_loss(kind: AdvKind, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """Adversarial loss for the generator (``real_logits`` needed for the relativistic loss)."""
    if kind == "vanilla":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    if kind == "ragan":
        if real_logits is None:
            raise ValueError("the relativistic loss needs the discriminator's output on real images")
        r = real_logits.detach() - fake_logits.mean()
        f = fake_logits - real_logits.detach().mean()
        return 0.5 * (F.binary_cross_entropy_with_logits(r, torch.zeros_like(r)) +
                      F.binary_cross_entropy_with_logits(f, torch.ones_like(f)))
    if kind == "wgan":
        return -fake_logits.mean()
    raise ConfigError(f"unknown adversarial loss {kind!r}")


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     cond: torch.Tensor | None = None, gen: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad D(x_hat)||_2 - 1)^2]`` on random interpolates of real and fake.

    ``D(x)`` is the critic's score of one image: the mean of its outputs (a PatchGAN's map of patch
    scores), the same reduction as :func:`discriminator_loss`. Penalising the gradient of the *sum*
    instead would make the scored function (1/patches)-Lipschitz: the Wasserstein estimate and the
    generator's adversarial gradient would shrink with the crop size (100-fold at 96 px).
    ``cond`` (the Pix2Pix condition) is concatenated on channels before the critic, unchanged.
    """
    b = real.shape[0]
    eps = torch.rand(b, 1, 1, 1, generator=gen, device=gen.device if gen is not None else real.device)
    eps = eps.to(real.device, real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    inp = x_hat if cond is None else torch.cat([cond.detach(), x_hat], 1)
    score = critic(inp).reshape(b, -1).mean(1)  # samples are independent: d(sum of scores)/dx_i = d score_i/dx_i
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).square().mean()


# ---------------------------------------------------------------- thin modules
class CharbonnierLoss(nn.Module):
    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return charbonnier_loss(pred, target, self.eps)


class SSIMLoss(nn.Module):
    def __init__(self, window: int = 11) -> None:
        super().__init__()
        self.window = window

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ssim_loss(pred, target, self.window)


class MSSSIMLoss(nn.Module):
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ms_ssim_loss(pred, target)


class GMSDLoss(nn.Module):
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return gmsd_loss(pred, target)


class AdversarialLoss(nn.Module):
    """``forward(real_logits, fake_logits, for_discriminator)`` for one of the adversarial kinds."""

    def __init__(self, kind: AdvKind) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, real_logits: torch.Tensor | None, fake_logits: torch.Tensor, for_discriminator: bool) -> torch.Tensor:
        if for_discriminator:
            if real_logits is None:
                raise ValueError("the discriminator loss needs the outputs on real images")
            return discriminator_loss(self.kind, real_logits, fake_logits)
        return generator_adv_loss(self.kind, fake_logits, real_logits)


class GradientPenalty(nn.Module):
    """WGAN-GP penalty of a critic, weighted by ``weight`` (lambda, 10 in the paper)."""

    def __init__(self, weight: float = 10.0) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                cond: torch.Tensor | None = None, gen: torch.Generator | None = None) -> torch.Tensor:
        return self.weight * gradient_penalty(critic, real, fake, cond, gen)
