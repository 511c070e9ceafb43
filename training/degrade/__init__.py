"""Degradation core shared by every trainer and benchmark.

Pure torch functions on ``(B, C, H, W)`` float tensors in [0, 1], one module per kind of op, each op
a function with a thin ``nn.Module`` beside it where it has fixed parameters. Every random choice
comes from an explicit ``torch.Generator`` and every random tensor is drawn on that generator's
device (pass a CUDA generator for GPU tensors, so noise fields are made on the GPU; a CPU generator
makes results identical on any machine). Outputs live on the input's device.
"""

from ._random import chance, choice, uniform
from .blur import Filter2d, USMSharp, filter2d, random_blur, usm_sharp
from .camera import (
    CameraConfig,
    CameraParams,
    camera_pair,
    coarse_noise,
    demosaic_bilinear,
    demosaic_malvar,
    mosaic,
    process,
    random_camera,
    shot_read_noise,
    unprocess,
)
from .chains import (
    OrderConfig,
    RealChainConfig,
    RealESRGANConfig,
    denoise_pair,
    real_denoise_pair,
    real_esrgan,
    real_world_sr,
)
from .jpeg import JPEG, jpeg
from .kernels import (
    KERNEL_TYPES,
    KernelConfig,
    gaussian_kernels,
    generalized_gaussian_kernels,
    pad_kernel,
    plateau_kernels,
    random_kernel,
    random_kernels,
    random_sinc_kernels,
    sinc_kernels,
)
from .noise import GaussianNoise, camera_noise, film_grain, gaussian_noise, poisson_noise, scaled_poisson_noise
from .pool import PairPool
from .resize import RESIZE_MODES, Resize, downscale, imresize, random_resize, resize

__all__ = [
    "chance", "choice", "uniform",
    "CameraConfig", "CameraParams", "camera_pair", "coarse_noise", "demosaic_bilinear", "demosaic_malvar", "mosaic", "process",
    "random_camera", "shot_read_noise", "unprocess",
    "Filter2d", "USMSharp", "filter2d", "random_blur", "usm_sharp",
    "OrderConfig", "RealChainConfig", "RealESRGANConfig", "denoise_pair", "real_denoise_pair", "real_esrgan", "real_world_sr",
    "JPEG", "jpeg",
    "KERNEL_TYPES", "KernelConfig", "gaussian_kernels", "generalized_gaussian_kernels", "pad_kernel",
    "plateau_kernels", "random_kernel", "random_kernels", "random_sinc_kernels", "sinc_kernels",
    "GaussianNoise", "camera_noise", "film_grain", "gaussian_noise", "poisson_noise", "scaled_poisson_noise",
    "PairPool",
    "RESIZE_MODES", "Resize", "downscale", "imresize", "random_resize", "resize",
]
