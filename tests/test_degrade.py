"""Degradation core: shapes, determinism, known values, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from enhance.training import degrade as D


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_imresize_keeps_constants_and_linear_ramps() -> None:
    x = torch.full((1, 3, 40, 40), 0.3)
    assert torch.allclose(D.downscale(x, 4), torch.full((1, 3, 10, 10), 0.3), atol=1e-6)
    ramp = torch.linspace(0, 1, 64).repeat(1, 1, 64, 1)  # varies along W
    small = D.imresize(ramp, 0.5)
    assert small.shape == (1, 1, 32, 32)
    inner = small[0, 0, 0, 4:-4]
    diffs = inner[1:] - inner[:-1]
    assert torch.allclose(diffs, diffs.mean().expand_as(diffs), atol=1e-5)  # cubic reproduces linear


def test_imresize_is_separable_and_symmetric() -> None:
    # (Agreement with MATLAB itself is checked against the benchmark LR files by benchmarks/sr.py's
    # protocol; here: the 2-D result is the 1-D result applied along each axis, and mirror-symmetric.)
    row = torch.arange(1, 5, dtype=torch.float32).reshape(1, 1, 1, 4)
    a, b = D.imresize(row, 0.5)[0, 0, 0].tolist()
    assert a + b == pytest.approx(5.0, abs=1e-5) and 1.0 < a < 2.0
    x = torch.arange(1, 17, dtype=torch.float32).reshape(1, 1, 4, 4)
    out = D.imresize(x, 0.5)[0, 0]
    expected = (torch.tensor([a, b])[:, None] - 1) * 4 + torch.tensor([a, b])[None, :]
    assert torch.allclose(out, expected, atol=1e-4)


def test_blur_kernels_are_normalised_and_anisotropic() -> None:
    k = D.gaussian_kernels(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.0]), 21)
    assert torch.allclose(k.sum((1, 2)), torch.ones(2))
    assert torch.allclose(k[0], k[0].t(), atol=1e-6)
    assert not torch.allclose(k[1], k[1].t(), atol=1e-3)


def test_filter2d_gradcheck() -> None:
    x = torch.rand(1, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    k = D.gaussian_kernels(torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([0.0]), 5).double()
    assert torch.autograd.gradcheck(lambda t: D.filter2d(t, k), (x,))


def test_noise_is_seeded_and_has_the_requested_level() -> None:
    x = torch.full((2, 3, 64, 64), 0.5)
    a = D.gaussian_noise(x, torch.tensor([25.0, 5.0]), gen(1))
    b = D.gaussian_noise(x, torch.tensor([25.0, 5.0]), gen(1))
    c = D.gaussian_noise(x, torch.tensor([25.0, 5.0]), gen(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    std = (a - x).flatten(1).std(1) * 255
    assert abs(std[0] - 25) < 1.5 and abs(std[1] - 5) < 0.5
    gray = D.gaussian_noise(x, torch.tensor([25.0, 25.0]), gen(1), torch.tensor([True, False]))
    assert torch.equal(gray[0, 0], gray[0, 1]) and not torch.equal(gray[1, 0], gray[1, 1])


def test_poisson_grain_and_jpeg() -> None:
    x = torch.rand(2, 3, 32, 32, generator=gen(3))
    p = D.poisson_noise(x, torch.tensor([10.0, 1000.0]), gen(0))
    err = (p - x).flatten(1).abs().mean(1)
    assert err[0] > err[1]  # fewer photons, more noise
    g = D.film_grain(x, torch.tensor([0.05, 0.05]), gen(0))
    assert g.shape == x.shape and not torch.equal(g, x)
    j = D.jpeg(x, torch.tensor([10.0, 95.0]))
    assert j.shape == x.shape and 0 <= j.min() and j.max() <= 1
    e = (j - x).flatten(1).abs().mean(1)
    assert e[0] > e[1]


def test_real_world_chain_and_denoise_pairs() -> None:
    hr = torch.rand(3, 3, 64, 64, generator=gen(4))
    lr = D.real_world_sr(hr, 4, gen(5))
    assert lr.shape == (3, 3, 16, 16) and lr.min() >= 0 and lr.max() <= 1
    assert torch.equal(lr, D.real_world_sr(hr, 4, gen(5)))
    noisy, level = D.denoise_pair(hr, gen(6), max_sigma=50)
    assert noisy.shape == hr.shape and level.shape == (3, 1, 64, 64)
    measured = (noisy - hr).flatten(1).std(1)
    assert torch.all((level[:, 0, 0, 0] - measured).abs() < 0.06)
    assert torch.all(level >= 0) and torch.all(level <= 60 / 255)


@pytest.mark.parametrize("factor", [2, 4])
def test_downscale_shape(factor: int) -> None:
    x = torch.rand(1, 3, 48, 40)
    assert D.downscale(x, factor).shape == (1, 3, 48 // factor, 40 // factor)
    assert math.isclose(float(D.downscale(x, factor).mean()), float(x.mean()), abs_tol=0.02)
