"""Camera-pipeline noise (unprocess -> mosaic -> sensor noise -> demosaic -> process), the blind
noise-level estimator, and the real-photo denoising pairs built on them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from enhance.ops.noise import noise_sigma
from enhance.training import degrade as D


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def smooth(b: int = 2, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Smooth colour images (a few low-frequency waves) in [0.1, 0.8]: no highlights to clip."""
    g = gen(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    out = []
    for _ in range(b):
        ph = torch.rand(3, 2, generator=g) * 6.28
        chans = [0.45 + 0.3 * torch.sin(3 * xx + ph[c, 0]) * torch.cos(2 * yy + ph[c, 1]) for c in range(3)]
        out.append(torch.stack(chans))
    return torch.stack(out).clamp(0.1, 0.8)


def test_unprocess_process_round_trip() -> None:
    x = smooth(3)
    p = D.random_camera(3, gen(1))
    back = D.process(D.unprocess(x, p), p)
    assert torch.allclose(back, x, atol=1e-4)
    assert not torch.allclose(D.unprocess(x, p), x, atol=0.05)  # linear camera RGB is far from sRGB


def test_mosaic_keeps_one_colour_per_site() -> None:
    x = torch.rand(1, 3, 4, 4, generator=gen(2))
    m = D.mosaic(x)
    assert m.shape == (1, 1, 4, 4)
    assert m[0, 0, 0, 0] == x[0, 0, 0, 0] and m[0, 0, 0, 1] == x[0, 1, 0, 1]
    assert m[0, 0, 1, 0] == x[0, 1, 1, 0] and m[0, 0, 1, 1] == x[0, 2, 1, 1]


@pytest.mark.parametrize("demosaic", [D.demosaic_bilinear, D.demosaic_malvar])
def test_demosaicing_is_exact_on_flat_colours(demosaic) -> None:  # type: ignore[no-untyped-def]
    x = torch.tensor([0.2, 0.5, 0.7])[None, :, None, None].expand(2, 3, 16, 16)
    out = demosaic(D.mosaic(x))
    assert torch.allclose(out, x, atol=1e-6)


def test_malvar_beats_bilinear_where_the_colours_share_detail() -> None:
    """As in real photos, the channels share their detail (a fine pattern times a colour), which the
    Malvar-He-Cutler correction uses."""
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    pattern = 0.5 + 0.3 * torch.sin(0.7 * xx) * torch.cos(0.5 * yy)
    x = (pattern[None, None] * torch.tensor([1.0, 0.8, 0.6])[None, :, None, None]).expand(2, 3, 64, 64)
    err_bi = (D.demosaic_bilinear(D.mosaic(x)) - x)[..., 4:-4, 4:-4].abs().mean()
    err_mhc = (D.demosaic_malvar(D.mosaic(x)) - x)[..., 4:-4, 4:-4].abs().mean()
    assert err_mhc < err_bi


def test_sensor_noise_grows_with_the_signal() -> None:
    dark = torch.full((1, 1, 64, 64), 0.05)
    bright = torch.full((1, 1, 64, 64), 0.8)
    shot, read = torch.tensor([1e-2]), torch.tensor([1e-5])
    n_dark = (D.shot_read_noise(dark, shot, read, gen(4)) - dark).std()
    n_bright = (D.shot_read_noise(bright, shot, read, gen(4)) - bright).std()
    assert n_bright > 3 * n_dark
    assert float(n_bright) == pytest.approx(math.sqrt(0.8 * 1e-2 + 1e-5), rel=0.05)


def test_read_noise_follows_the_log_linear_fit() -> None:
    cfg = D.CameraConfig(read_std=0.0)
    p = D.random_camera(16, gen(5), cfg)
    assert torch.allclose(p.read.log(), cfg.read_slope * p.shot.log() + cfg.read_offset, atol=1e-4)
    assert torch.all((p.shot >= math.exp(cfg.log_shot[0]) - 1e-9) & (p.shot <= math.exp(cfg.log_shot[1]) + 1e-9))


def test_camera_pair_is_seeded_in_range_and_noisy() -> None:
    x = smooth(4)
    noisy, target = D.camera_pair(x, gen(6))
    again, target2 = D.camera_pair(x, gen(6))
    assert torch.equal(noisy, again) and torch.equal(target, target2)
    assert noisy.shape == target.shape == x.shape
    assert noisy.min() >= 0 and noisy.max() <= 1 and target.min() >= 0 and target.max() <= 1
    assert torch.all((noisy - target).flatten(1).std(1) > 1e-3)


def test_camera_target_is_the_clean_image_without_sharpening() -> None:
    x = smooth(2)
    cfg = D.CameraConfig(p_sharpen=0.0, p_jpeg=0.0)
    _, target = D.camera_pair(x, gen(7), cfg)
    assert torch.allclose(target, x, atol=1e-4)


def test_soft_optics_blur_the_scene_of_both_images() -> None:
    x = torch.rand(2, 3, 48, 48, generator=gen(3)) * 0.6 + 0.2  # pixel-scale detail everywhere
    cfg = D.CameraConfig(p_sharpen=0.0, p_jpeg=0.0, p_soft=1.0, soft_sigma=(1.0, 1.0))
    noisy, target = D.camera_pair(x, gen(7), cfg)
    def detail(t: torch.Tensor) -> float:  # mean absolute horizontal difference
        return float((t[..., 1:] - t[..., :-1]).abs().mean())
    assert detail(target) < 0.3 * detail(x)
    _, sharp_target = D.camera_pair(x, gen(7), D.CameraConfig(p_sharpen=0.0, p_jpeg=0.0))
    assert torch.allclose(sharp_target, x, atol=1e-4)  # off by default: the scene is the clean image


def test_camera_noise_is_spatially_correlated_and_coloured() -> None:
    """Demosaicing and in-camera noise reduction leave noise that neighbouring pixels share, and
    chroma noise (channels that differ), unlike white noise of the same std."""
    x = torch.full((1, 3, 96, 96), 0.4)
    cfg = D.CameraConfig(log_shot=(math.log(5e-3), math.log(5e-3)), p_denoise=1.0, p_sharpen=0.0, p_jpeg=0.0)
    noisy, target = D.camera_pair(x, gen(8), cfg)
    n = (noisy - target)[0]
    corr = float(torch.corrcoef(torch.stack([n[:, :, :-1].flatten(), n[:, :, 1:].flatten()]))[0, 1])
    assert corr > 0.3
    chroma = (n[0] - n[2]).std() / n.std()
    assert chroma > 0.3


def test_noise_sigma_reads_gaussian_levels_and_matches_the_engine() -> None:
    from enhance.engine import estimate_noise_sigma

    x = smooth(1, 128)
    for sigma in (5.0, 15.0, 25.0, 50.0):
        noisy = x + torch.randn(x.shape, generator=gen(int(sigma))) * sigma / 255
        level = float(noise_sigma(noisy)[0]) * 255
        assert level == pytest.approx(sigma, rel=0.08)
        hwc = noisy[0].permute(1, 2, 0).numpy()
        assert estimate_noise_sigma(hwc) == pytest.approx(level, abs=1e-3)
    batch = torch.cat([x, x + torch.randn(x.shape, generator=gen(1)) * 20 / 255])
    both = noise_sigma(batch) * 255
    assert both[0] < 1 and both[1] == pytest.approx(20, rel=0.08)
    assert float(noise_sigma(torch.zeros(1, 3, 2, 2))[0]) == 0.0


def test_noise_sigma_underestimates_camera_noise() -> None:
    """Why the denoiser is given the estimator's reading, not the true std, for camera noise."""
    x = smooth(2, 96)
    cfg = D.CameraConfig(p_denoise=1.0, p_jpeg=1.0)
    noisy, target = D.camera_pair(x, gen(9), cfg)
    true_std = (noisy - target).flatten(1).std(1)
    assert torch.all(noise_sigma(noisy) < 0.8 * true_std)


def test_real_denoise_pair_mixes_camera_and_synthetic_noise() -> None:
    x = smooth(8, 64, seed=4)
    noisy, level, target = D.real_denoise_pair(x, gen(10), max_sigma=50, camera_fraction=0.5)
    assert noisy.shape == target.shape == x.shape and level.shape == (8, 1, 64, 64)
    again = D.real_denoise_pair(x, gen(10), max_sigma=50, camera_fraction=0.5)
    assert all(torch.equal(a, b) for a, b in zip((noisy, level, target), again))
    assert torch.equal(target[4:], x[4:])  # synthetic half: the clean image itself
    est = noise_sigma(noisy)
    flat = level[:, 0, 0, 0]
    assert torch.allclose(flat[:4], est[:4], atol=1e-6)  # camera half: what inference would read
    assert torch.all(level >= 0) and torch.all(level <= 60 / 255)
    only_synthetic = D.real_denoise_pair(x, gen(10), camera_fraction=0.0)[2]
    assert torch.equal(only_synthetic, x)


def test_libjpeg_path_matches_kornia_codec_closely() -> None:
    from kornia.enhance import jpeg_codec_differentiable

    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((2, 3, 64, 64), dtype=np.float32))
    x = torch.nn.functional.avg_pool2d(x, 5, 1, 2)  # some structure for the codec to keep
    q = torch.tensor([40.0, 90.0])
    ours = D.jpeg(x, q)
    ref = jpeg_codec_differentiable(x, q)
    assert ours.shape == x.shape
    err = (ours - x).flatten(1).abs().mean(1)
    assert err[0] > err[1]
    assert float((ours - ref).abs().mean()) < float((ref - x).abs().mean())
