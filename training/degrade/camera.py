"""Camera noise from an invertible camera pipeline (Brooks et al., "Unprocessing Images for Learned
Raw Denoising", CVPR 2019), in torch on ``(B, 3, H, W)`` batches.

A clean sRGB image is *unprocessed* to what a sensor would have recorded (inverse tone curve, inverse
gamma, inverse colour correction, inverse white balance, Bayer mosaic), shot + read noise is added
there, where it is independent per photosite and its variance grows with the signal, and the mosaic
is *processed* back as a camera would: white balance, demosaicing (bilinear or Malvar-He-Cutler),
colour correction, gamma and tone curve. Demosaicing and the colour matrix make the noise spatially
correlated and coloured, the curves make it depend on brightness, as in real photos. On top come what
cameras do after that: noise reduction (stronger on chroma, which leaves the coarse colour blotches of
real photos), sharpening, and JPEG.

The target is the same image through the same colour steps without the noise, so the pair differs
only in what the camera added (the round trip is exact except where white balance clips highlights).
Only the noise goes through the mosaic and demosaicing (both are linear): the training photos are
sharper than what a sensor records behind its anti-aliasing filter, and demosaicing them would add
zipper artefacts real photos do not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ._random import randn, uniform
from .blur import filter2d
from .jpeg import jpeg
from .kernels import gaussian_kernels

# XYZ -> camera matrices of four cameras (Brooks et al.); random convex mixtures give new "cameras"
_XYZ2CAMS = torch.tensor([
    [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
    [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
    [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
    [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
])
_RGB2XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_RGB2YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


@dataclass(frozen=True)
class CameraParams:
    """One camera setting per image: ``rgb2cam`` ``(B, 3, 3)``, gains ``(B,)``, noise levels ``(B,)``
    (shot: variance per unit of linear signal; read: variance floor, both on the 0-1 scale)."""

    rgb2cam: torch.Tensor
    rgb_gain: torch.Tensor
    red_gain: torch.Tensor
    blue_gain: torch.Tensor
    shot: torch.Tensor
    read: torch.Tensor


@dataclass(frozen=True)
class CameraConfig:
    """Ranges of :func:`camera_pair`. Noise levels follow the log-linear fit of Brooks et al.:
    log(read) = 2.18 log(shot) + 1.20 + N(0, 0.26)."""

    log_shot: tuple[float, float] = (math.log(1e-4), math.log(1.2e-2))
    read_slope: float = 2.18
    read_offset: float = 1.20
    read_std: float = 0.26
    p_malvar: float = 0.5  # else bilinear demosaicing
    p_denoise: float = 0.6  # in-camera noise reduction
    luma_nr: tuple[float, float] = (0.3, 1.2)  # Gaussian std (px) applied to the luminance noise
    chroma_nr: tuple[float, float] = (0.8, 3.0)  # and to the chroma noise, which cameras smooth more
    # coarse blotches: the low-frequency noise that survives cameras' (edge-preserving, wavelet)
    # noise reduction, which the linear pipeline above under-makes: in flat areas of real photos
    # more of the noise's std is left in 8x8 means than this pipeline leaves. A blurred Gaussian
    # field scaled to the local noise level; off by default
    p_coarse: float = 0.0
    coarse_sigma: tuple[float, float] = (2.0, 8.0)  # px: the blotches' size
    coarse_amount: tuple[float, float] = (0.3, 1.0)  # their std over the local noise level
    # optics: a photo straight from a camera, seen at 100 %, is soft at the pixel level (lens, anti-
    # aliasing filter, demosaicing), while the training photos are downscaled and sharp to the pixel;
    # on those a denoiser learns that pixel-scale detail is often texture, and leaves camera noise.
    # The clean photo is blurred first (the target too: the scene is softer, nothing to deblur); off
    # by default
    p_soft: float = 0.0
    soft_sigma: tuple[float, float] = (0.4, 1.2)  # px
    p_sharpen: float = 0.5
    sharpen: tuple[float, float] = (0.2, 1.0)  # unsharp amount (radius 1 px)
    p_jpeg: float = 0.8
    jpeg_quality: tuple[float, float] = (60.0, 98.0)


def random_camera(b: int, gen: torch.Generator, cfg: CameraConfig = CameraConfig()) -> CameraParams:
    """Random colour matrices, white-balance gains and noise levels for ``b`` images."""
    w = uniform(gen, 4 * b, 1e-8, 1e8).reshape(b, 4, 1, 1).cpu()
    xyz2cam = (w * _XYZ2CAMS[None]).sum(1) / w.sum(1)
    rgb2cam = xyz2cam @ _RGB2XYZ
    rgb2cam = rgb2cam / rgb2cam.sum(-1, keepdim=True)
    rgb_gain = 1.0 / (0.8 + 0.1 * randn(gen, b).cpu()).clamp(0.5, 1.2)
    red = uniform(gen, b, 1.9, 2.4).cpu()
    blue = uniform(gen, b, 1.5, 1.9).cpu()
    log_shot = uniform(gen, b, *cfg.log_shot).cpu()
    log_read = cfg.read_slope * log_shot + cfg.read_offset + cfg.read_std * randn(gen, b).cpu()
    return CameraParams(rgb2cam, rgb_gain, red, blue, log_shot.exp(), log_read.exp())


def _ccm(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return torch.einsum("brc,bchw->brhw", m.to(x.device, x.dtype), x)


def _gains(p: CameraParams, like: torch.Tensor) -> torch.Tensor:
    g = torch.stack([p.red_gain, torch.ones_like(p.red_gain), p.blue_gain], 1) * p.rgb_gain[:, None]
    return g.to(like.device, like.dtype)[:, :, None, None]


def unprocess(x: torch.Tensor, p: CameraParams) -> torch.Tensor:
    """sRGB ``(B, 3, H, W)`` in [0, 1] -> linear camera RGB before white balance (not yet mosaicked)."""
    x = x.clamp(0, 1)
    x = 0.5 - torch.sin(torch.asin(1.0 - 2.0 * x) / 3.0)  # inverse smoothstep tone curve
    x = x.clamp_min(1e-8) ** 2.2
    x = _ccm(x, p.rgb2cam)
    # inverse white balance, eased towards 1 in the highlights so that they do not clip on the way back
    gains = 1.0 / _gains(p, x)
    gray = x.mean(1, keepdim=True)
    mask = ((gray - 0.9).clamp_min(0) / 0.1) ** 2
    return x * torch.maximum(mask + (1 - mask) * gains, gains)


def process(x: torch.Tensor, p: CameraParams) -> torch.Tensor:
    """Linear camera RGB (demosaicked) -> sRGB in [0, 1]: white balance, colour matrix, gamma, tone curve."""
    x = (x * _gains(p, x)).clamp(0, 1)
    x = _ccm(x, torch.linalg.inv(p.rgb2cam)).clamp(0, 1)
    x = x.clamp_min(1e-8) ** (1 / 2.2)
    return (3 * x**2 - 2 * x**3).clamp(0, 1)


def _bayer_masks(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """RGGB site masks ``(4, 1, H, W)``: R, G on red rows, G on blue rows, B."""
    yy = torch.arange(h, device=like.device)[:, None] % 2
    xx = torch.arange(w, device=like.device)[None, :] % 2
    sites = [(yy == 0) & (xx == 0), (yy == 0) & (xx == 1), (yy == 1) & (xx == 0), (yy == 1) & (xx == 1)]
    return torch.stack(sites)[:, None].to(like.dtype)


def mosaic(x: torch.Tensor) -> torch.Tensor:
    """Full RGB ``(B, 3, H, W)`` -> RGGB Bayer mosaic ``(B, 1, H, W)`` (one colour per photosite)."""
    r, g1, g2, b = _bayer_masks(x.shape[2], x.shape[3], x)
    return x[:, :1] * r + x[:, 1:2] * (g1 + g2) + x[:, 2:3] * b


def _conv(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    pad = k.shape[-1] // 2
    return F.conv2d(F.pad(x, (pad,) * 4, mode="reflect"), k.to(x.device, x.dtype)[None, None])


def demosaic_bilinear(bayer: torch.Tensor) -> torch.Tensor:
    """RGGB mosaic ``(B, 1, H, W)`` -> RGB by bilinear interpolation of each colour's sites."""
    r, g1, g2, b = _bayer_masks(bayer.shape[2], bayer.shape[3], bayer)
    k_rb = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 4
    k_g = torch.tensor([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]]) / 4
    return torch.cat([_conv(bayer * r, k_rb), _conv(bayer * (g1 + g2), k_g), _conv(bayer * b, k_rb)], 1)


# Malvar, He and Cutler (2004), "High-quality linear interpolation for demosaicing of Bayer-patterned
# color images": bilinear plus a correction from the Laplacian of the site's own colour (kernels / 8)
_MHC_G = torch.tensor([[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]]) / 8
_MHC_ROW = torch.tensor([[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0], [0, 0, 0.5, 0, 0]]) / 8
_MHC_DIAG = torch.tensor([[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0], [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0], [0, 0, -1.5, 0, 0]]) / 8


def demosaic_malvar(bayer: torch.Tensor) -> torch.Tensor:
    """RGGB mosaic ``(B, 1, H, W)`` -> RGB by Malvar-He-Cutler gradient-corrected interpolation."""
    r, g1, g2, b = _bayer_masks(bayer.shape[2], bayer.shape[3], bayer)
    g_at_rb = _conv(bayer, _MHC_G)
    row = _conv(bayer, _MHC_ROW)  # the colour whose sites are left and right of this one
    col = _conv(bayer, _MHC_ROW.T.contiguous())  # ... above and below
    diag = _conv(bayer, _MHC_DIAG)  # ... on the diagonals
    red = bayer * r + row * g1 + col * g2 + diag * b
    green = bayer * (g1 + g2) + g_at_rb * (r + b)
    blue = bayer * b + row * g2 + col * g1 + diag * r
    return torch.cat([red, green, blue], 1)


def shot_read_noise(x: torch.Tensor, shot: torch.Tensor, read: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Heteroscedastic sensor noise: Gaussian with variance ``shot * x + read`` per photosite."""
    var = x.clamp_min(0) * shot.to(x.device, x.dtype)[:, None, None, None] + read.to(x.device, x.dtype)[:, None, None, None]
    return x + randn(gen, *x.shape).to(x.device, x.dtype) * var.sqrt()


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    size = 2 * math.ceil(3 * float(sigma.max())) + 1
    return filter2d(x, gaussian_kernels(sigma.cpu(), sigma.cpu(), torch.zeros_like(sigma).cpu(), size))


def _in_camera_nr(noise: torch.Tensor, luma_s: torch.Tensor, chroma_s: torch.Tensor) -> torch.Tensor:
    """Smooth a noise residual in YCbCr, the chroma more than the luminance, as camera noise reduction does."""
    m = _RGB2YCC.to(noise.device, noise.dtype)
    ycc = torch.einsum("rc,bchw->brhw", m, noise)
    y = _blur(ycc[:, :1], luma_s)
    cc = _blur(ycc[:, 1:], chroma_s)
    return torch.einsum("rc,bchw->brhw", torch.linalg.inv(m), torch.cat([y, cc], 1))


def coarse_noise(residual: torch.Tensor, gen: torch.Generator, sigma: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Low-frequency colour blotches for a noise ``residual`` ``(B, 3, H, W)``: white noise blurred
    with each image's ``sigma`` (px), scaled to unit std, times ``amount`` times the local noise
    level (the residual's RMS over the same radius), so that the blotches follow brightness as the
    noise does."""
    field = _blur(randn(gen, *residual.shape).to(residual), sigma)
    field = field / field.flatten(1).std(1).clamp_min(1e-8)[:, None, None, None]
    level = _blur(residual.square().mean(1, keepdim=True), sigma).clamp_min(0).sqrt()
    return amount.to(residual)[:, None, None, None] * level * field


def camera_pair(
    clean: torch.Tensor, gen: torch.Generator, cfg: CameraConfig = CameraConfig(), params: CameraParams | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A (noisy, target) pair from clean sRGB ``(B, 3, H, W)``: the image through a random camera with
    sensor noise, and the same image through the same camera without the mosaic and the noise
    (both from the clean image softened first where ``cfg.p_soft`` draws it)."""
    b = clean.shape[0]
    p = params if params is not None else random_camera(b, gen, cfg)
    if cfg.p_soft > 0:  # drawn only when used: the default pipeline keeps its seeded stream
        soft = (uniform(gen, b, 0, 1) < cfg.p_soft).to(clean.device)[:, None, None, None]
        clean = torch.where(soft, _blur(clean, uniform(gen, b, *cfg.soft_sigma)), clean)
    linear = unprocess(clean, p)
    target = process(linear, p)
    raw = mosaic(linear)
    noise = shot_read_noise(raw, p.shot, p.read, gen) - raw
    malvar = (uniform(gen, b, 0, 1) < cfg.p_malvar).to(clean.device)[:, None, None, None]
    noisy = process(linear + torch.where(malvar, demosaic_malvar(noise), demosaic_bilinear(noise)), p)
    residual = noisy - target
    nr = (uniform(gen, b, 0, 1) < cfg.p_denoise).to(clean.device)[:, None, None, None]
    smoothed = _in_camera_nr(residual, uniform(gen, b, *cfg.luma_nr), uniform(gen, b, *cfg.chroma_nr))
    residual = torch.where(nr, smoothed, residual)
    if cfg.p_coarse > 0:  # drawn only when used: the default pipeline keeps its seeded stream
        coarse = (uniform(gen, b, 0, 1) < cfg.p_coarse).to(clean.device)[:, None, None, None]
        blotches = coarse_noise(residual, gen, uniform(gen, b, *cfg.coarse_sigma), uniform(gen, b, *cfg.coarse_amount))
        residual = torch.where(coarse, residual + blotches, residual)
    # sharpening acts on image and noise alike, so the target is sharpened the same way
    amount = uniform(gen, b, *cfg.sharpen).to(clean.device)[:, None, None, None]
    amount = amount * (uniform(gen, b, 0, 1) < cfg.p_sharpen).to(clean.device)[:, None, None, None]
    one = torch.ones(b)

    def sharpen(x: torch.Tensor) -> torch.Tensor:
        return x + amount * (x - _blur(x, one))

    target = sharpen(target).clamp(0, 1)
    noisy = (target + sharpen(residual)).clamp(0, 1)
    q = uniform(gen, b, *cfg.jpeg_quality)
    use_jpeg = (uniform(gen, b, 0, 1) < cfg.p_jpeg).to(clean.device)[:, None, None, None]
    noisy = torch.where(use_jpeg, jpeg(noisy, q), noisy)
    return noisy, target


__all__ = [
    "CameraConfig", "CameraParams", "random_camera", "unprocess", "process", "mosaic", "demosaic_bilinear",
    "demosaic_malvar", "shot_read_noise", "coarse_noise", "camera_pair",
]
