"""Real-world degradation ops (Real-ESRGAN's recipe and our additions): shape, range, determinism,
known values and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from enhance.training import degrade as D


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_generalized_gaussian_with_beta_one_is_gaussian() -> None:
    sx, sy, th = torch.tensor([1.5]), torch.tensor([0.7]), torch.tensor([0.4])
    g = D.gaussian_kernels(sx, sy, th, 15)
    gg = D.generalized_gaussian_kernels(sx, sy, th, torch.tensor([1.0]), 15)
    assert torch.allclose(g, gg, atol=1e-7)


def test_beta_shapes_the_tails() -> None:
    s, th = torch.tensor([2.0]), torch.zeros(1)
    heavy = D.generalized_gaussian_kernels(s, s, th, torch.tensor([0.5]), 21)[0]
    flat = D.generalized_gaussian_kernels(s, s, th, torch.tensor([4.0]), 21)[0]
    # heavy tails keep more weight at the border, a flat top less
    assert heavy[0, 10] > flat[0, 10]
    plateau = D.plateau_kernels(s, s, th, torch.tensor([1.5]), 21)[0]
    assert plateau[10, 10] == plateau.max() and plateau[0, 10] > 0


def test_sinc_kernel_is_a_low_pass_with_ringing() -> None:
    k = D.sinc_kernels(torch.tensor([math.pi / 3]), 21)[0]
    assert k.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(k, k.flip(0)) and torch.allclose(k, k.T, atol=1e-7)
    assert k.min() < 0  # negative lobes: the ringing the op is for
    spectrum = torch.fft.fft2(D.pad_kernel(k[None], 64)[0]).abs()
    assert spectrum[0, 0] > 5 * spectrum[0, 32]  # passes low frequencies, stops the highest


def test_random_kernels_are_normalised_and_reproducible() -> None:
    a = D.random_kernels(gen(3), 64)
    b = D.random_kernels(gen(3), 64)
    assert a.shape == (64, 21, 21) and torch.equal(a, b)
    assert torch.allclose(a.sum((1, 2)), torch.ones(64), atol=1e-5)
    assert not torch.equal(a, D.random_kernels(gen(4), 64))
    only_sinc = D.random_kernels(gen(0), 8, D.KernelConfig(sinc_prob=1.0))
    assert (only_sinc.flatten(1).min(1).values < 0).all()


def test_final_sinc_is_identity_when_not_drawn() -> None:
    k = D.random_sinc_kernels(gen(0), 4, prob=0.0)
    x = torch.rand(4, 3, 16, 16)
    assert torch.allclose(D.filter2d(x, k), x, atol=1e-6)


@pytest.mark.parametrize("mode", D.RESIZE_MODES)
def test_resize_modes(mode: str) -> None:
    x = torch.full((2, 3, 20, 30), 0.25)
    out = D.resize(x, (10, 15), mode)
    assert out.shape == (2, 3, 10, 15) and torch.allclose(out, torch.full_like(out, 0.25), atol=1e-6)
    assert torch.equal(D.Resize((10, 15), mode)(x), out)
    with pytest.raises(ValueError, match="resize mode"):
        D.resize(x, (4, 4), "lanczos")


def test_random_resize_respects_its_range() -> None:
    x = torch.rand(1, 3, 100, 100)
    for seed in range(20):
        out = D.random_resize(x, gen(seed), (0.0, 1.0, 0.0), (0.5, 1.5))  # always down
        assert 50 <= out.shape[-1] <= 100
        up = D.random_resize(x, gen(seed), (1.0, 0.0, 0.0), (0.5, 1.5), base=(40, 40))
        assert 40 <= up.shape[-1] <= 60


def test_scaled_poisson_noise_grows_with_scale_and_brightness() -> None:
    x = torch.cat([torch.full((1, 3, 64, 64), 0.1), torch.full((1, 3, 64, 64), 0.8)])
    weak = D.scaled_poisson_noise(x, torch.tensor([0.5, 0.5]), gen()) - x
    strong = D.scaled_poisson_noise(x, torch.tensor([3.0, 3.0]), gen()) - x
    assert strong.std() > 4 * weak.std()
    assert weak[1].std() > weak[0].std()  # shot noise: brighter is noisier (in absolute terms)
    gray = D.scaled_poisson_noise(x, torch.tensor([1.0, 1.0]), gen(), torch.tensor([True, True])) - x
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])


def test_camera_noise_is_correlated_and_has_chroma() -> None:
    x = torch.full((1, 3, 96, 96), 0.5)
    n = D.camera_noise(x, torch.tensor([8.0]), torch.tensor([8.0]), gen(), size=1.0) - x
    assert 3 / 255 < n.std() < 20 / 255
    # neighbouring pixels correlate (white noise would give ~0)
    a, b = n[0, 1, :, :-1].flatten(), n[0, 1, :, 1:].flatten()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1] > 0.3
    assert (n[0, 0] - n[0, 2]).abs().mean() > 1 / 255  # not gray: chroma noise
    white = D.camera_noise(x, torch.tensor([8.0]), torch.tensor([0.0]), gen(), size=0.0) - x
    a, b = white[0, 1, :, :-1].flatten(), white[0, 1, :, 1:].flatten()
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < 0.1


def test_usm_sharpens_edges_and_leaves_flat_areas() -> None:
    x = torch.full((1, 1, 128, 128), 0.3)
    x[..., 64:] = 0.7
    s = D.usm_sharp(x)
    assert s[0, 0, 10, 4].item() == pytest.approx(0.3, abs=1e-3)  # flat, far from the edge
    assert s[0, 0, 32, 65] > 0.7 and s[0, 0, 32, 62] < 0.3  # overshoot on both sides of the edge
    assert s.min() >= 0 and s.max() <= 1
    assert torch.equal(D.USMSharp()(x), s)


def test_filter2d_and_usm_gradcheck() -> None:
    x = torch.rand(2, 2, 12, 12, dtype=torch.float64, requires_grad=True)
    k = D.random_kernels(gen(), 2, D.KernelConfig(sizes=(5,), pad_to=5)).double()
    assert torch.autograd.gradcheck(lambda t: D.filter2d(t, k), (x,))
    y = torch.rand(1, 1, 12, 12, dtype=torch.float64, requires_grad=True)
    # the soft mask is a step function of the detail: gradients flow through the sharpening itself
    assert torch.autograd.gradcheck(lambda t: D.usm_sharp(t, radius=5, threshold=1e9), (y,))


def test_real_esrgan_chain_shape_range_determinism() -> None:
    hr = torch.rand(4, 3, 64, 64)
    a = D.real_esrgan(hr, 4, gen(7))
    b = D.real_esrgan(hr, 4, gen(7))
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    assert torch.allclose(a * 255, (a * 255).round(), atol=1e-4)  # 8-bit levels, as real files are
    assert not torch.equal(a, D.real_esrgan(hr, 4, gen(8)))
    x2 = D.real_esrgan(hr, 2, gen(1), D.RealESRGANConfig.mild())
    assert x2.shape == (4, 3, 32, 32)


def test_mild_chain_degrades_less_than_the_full_one() -> None:
    torch.manual_seed(0)
    hr = D.filter2d(torch.rand(8, 3, 96, 96), D.gaussian_kernels(*(torch.full((8,), 2.0),) * 2, torch.zeros(8), 9))
    ref = D.downscale(hr, 4)

    def err(cfg: D.RealESRGANConfig) -> float:
        return sum(float((D.real_esrgan(hr, 4, gen(s), cfg) - ref).abs().mean()) for s in range(6))

    assert err(D.RealESRGANConfig.mild()) < err(D.RealESRGANConfig())


def test_pair_pool_mixes_batches() -> None:
    pool = D.PairPool(8)
    g = gen()
    for i in range(2):  # filling: batches pass through
        x = torch.full((4, 1, 2, 2), float(i))
        out, t = pool.exchange(x, x + 10, g)
        assert torch.equal(out, x)
    assert len(pool) == 8
    x = torch.full((4, 1, 2, 2), 5.0)
    out, t = pool.exchange(x, x + 10, g)
    assert set(out.flatten().tolist()) <= {0.0, 1.0} and torch.equal(t, out + 10)  # pairs stay paired
    assert (pool.inputs == 5.0).flatten(1).all(1).sum() == 4
    with pytest.raises(ValueError):
        D.PairPool(-1)
