"""The task objects of enhance.tasks on their own: the input each builds, the passes it runs, what it
refuses, and which one the Enhancer builds for a model. Runs are stand-ins that record their input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from enhance import holes
from enhance.engine import Enhancer
from enhance.errors import EnhanceError, InvalidInputError
from enhance.spec import ModelSpec
from enhance.tasks import Denoise, Inpaint, Upscale, estimate_noise_sigma
from enhance.tiling import ProgressFn


class FakeRun:
    """A run that records its inputs and answers ``value`` everywhere (or the input upscaled)."""

    def __init__(self, value: float | None = None, scale: int = 1) -> None:
        self.value, self.scale = value, scale
        self.inputs: list[torch.Tensor] = []

    def __call__(self, x: torch.Tensor, progress: ProgressFn | None = None) -> torch.Tensor:
        self.inputs.append(x.clone())
        if progress:
            progress(1, 1)
        if self.value is None:
            return torch.nn.functional.interpolate(x[:, :3], scale_factor=self.scale, mode="nearest")
        _, _, h, w = x.shape
        return torch.full((1, 3, h * self.scale, w * self.scale), self.value)


def _spec(name: str = "m", task: str = "inpaint", condition: str = "mask", **extra: object) -> ModelSpec:
    return ModelSpec(name=name, task=task, build=torch.nn.Identity, weights=None, sha256=None,  # type: ignore[arg-type]
                     licence="test", training_data="none", condition=condition, **{"scale": 1, **extra})  # type: ignore[arg-type]


def _scene(h: int = 64, w: int = 80) -> np.ndarray:
    return np.random.default_rng(0).random((h, w, 3)).astype(np.float32)


def _box(h: int, w: int, top: int, left: int, size: int) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    hole[top : top + size, left : left + size] = True
    return hole


def test_upscale_runs_the_image_alone() -> None:
    run = FakeRun(scale=2)
    img = _scene(10, 12)
    out = Upscale(_spec("sr", "upscale", "none", scale=2), run)(img)
    assert [tuple(x.shape) for x in run.inputs] == [(1, 3, 10, 12)]
    assert out.shape == (20, 24, 3) and np.array_equal(out[::2, ::2], img)


def test_denoise_adds_the_noise_level_channel() -> None:
    task = Denoise(_spec("dn", "denoise", "sigma"), FakeRun(0.5))
    img = _scene(16, 16)
    for sigma, want in ((20.0, 20.0), (200.0, Denoise.MAX_SIGMA), (-3.0, 0.0)):
        task.run.inputs.clear()  # type: ignore[attr-defined]
        assert task(img, sigma=sigma).shape == img.shape
        (x,) = task.run.inputs  # type: ignore[attr-defined]
        assert x.shape == (1, 4, 16, 16) and torch.equal(x[:, :3], torch.from_numpy(img).permute(2, 0, 1)[None])
        assert torch.allclose(x[:, 3], torch.tensor(want / 255.0))
    estimated = estimate_noise_sigma(img)
    assert task.level(img) == pytest.approx(min(estimated, Denoise.MAX_SIGMA))
    assert task.level(img, strength=0.1) == pytest.approx(estimated * 0.1)
    assert task.level(img, sigma=12.0, strength=0.1) == 12.0  # a given sigma is not scaled


def test_denoise_strength_below_one_keeps_that_share_of_the_correction() -> None:
    """Less is less for every denoiser: at 0.5 half of strength 1's correction, at 0 the input, and
    the network runs at the estimated level (a low reading times 0.5 would change nothing)."""
    img = _scene(16, 16)
    estimated = estimate_noise_sigma(img)
    full = Denoise(_spec("dn", "denoise", "sigma"), FakeRun(0.5))(img)
    task = Denoise(_spec("dn", "denoise", "sigma"), FakeRun(0.5))
    half = task(img, strength=0.5)
    assert np.allclose(half - img, 0.5 * (full - img), atol=1e-6)
    assert torch.allclose(task.run.inputs[0][:, 3], torch.tensor(estimated / 255.0))  # type: ignore[attr-defined]
    assert np.array_equal(task(img, strength=0.0), img)
    stronger = Denoise(_spec("dn", "denoise", "sigma"), FakeRun(0.5))
    stronger(img, strength=3.0)  # above 1: a higher level asked for
    assert torch.allclose(stronger.run.inputs[0][:, 3], torch.tensor(min(3 * estimated, Denoise.MAX_SIGMA) / 255.0))  # type: ignore[attr-defined]
    given = Denoise(_spec("dn", "denoise", "sigma"), FakeRun(0.5))
    assert np.array_equal(given(img, sigma=10.0, strength=0.5), full)  # a given sigma overrides strength


def test_inpaint_keeps_known_pixels_and_zeroes_the_hole() -> None:
    run = FakeRun(0.5)
    img = _scene()
    hole = _box(64, 80, 20, 30, 10)
    out = Inpaint(_spec(), run)(img, hole.astype(np.float32))
    (x,) = run.inputs  # shallow: one pass
    assert x.shape == (1, 4, 64, 80) and (x[0, :3][:, torch.from_numpy(hole)] == 0).all()
    assert torch.equal(x[0, 3], torch.from_numpy(hole.astype(np.float32)))
    assert np.allclose(out[hole], 0.5) and np.array_equal(out[~hole], img[~hole])


def test_inpaint_prefill_model_sees_navier_stokes() -> None:
    run = FakeRun(0.5)
    img = _scene()
    hole = _box(64, 80, 20, 30, 10)
    Inpaint(_spec(prefill="ns"), run)(img, hole)
    (x,) = run.inputs
    assert torch.allclose(x[0, :3], torch.from_numpy(holes.prefill_ns(img, hole)).permute(2, 0, 1))


def test_inpaint_reach_sets_the_passes() -> None:
    img = _scene(512, 512)
    hole = _box(512, 512, 100, 100, 300)
    deep, one = FakeRun(0.5), FakeRun(0.5)
    Inpaint(_spec(), deep)(img, hole)
    Inpaint(_spec(), one, reach=None)(img, hole)
    assert len(deep.inputs) > 1 and [x.shape[-1] for x in deep.inputs] == sorted(x.shape[-1] for x in deep.inputs)
    assert len(one.inputs) == 1


def test_inpaint_thin_holes_only_go_to_the_companion() -> None:
    main, thin = FakeRun(0.5), FakeRun(0.9)
    task = Inpaint(_spec(), main, thin=Inpaint(_spec("thin", prefill="ns"), thin))
    img = _scene()
    scratch = np.zeros((64, 80), bool)
    scratch[30:32, 5:75] = True
    out = task(img, scratch)
    assert not main.inputs and len(thin.inputs) == 1
    assert np.allclose(out[scratch], 0.9) and np.array_equal(out[~scratch], img[~scratch])


def test_main_fill_leaves_thin_parts_to_navier_stokes() -> None:
    main = FakeRun(0.5)
    task = Inpaint(_spec(), main)
    img = _scene()
    scratch = np.zeros((64, 80), bool)
    scratch[5:7, 5:75] = True
    box = _box(64, 80, 25, 25, 20)
    out = task.main_fill(img, scratch | box)
    assert np.allclose(out[scratch], holes.prefill_ns(img, scratch)[scratch]) and np.allclose(out[box], 0.5)
    (x,) = main.inputs  # the model saw the scratch filled, as known context
    assert torch.equal(x[0, 3], torch.from_numpy(box.astype(np.float32)))
    assert np.array_equal(task.main_fill(img, scratch), holes.prefill_ns(img, scratch))  # nothing for the model


def test_refill_ring_runs_on_the_ring_box_only() -> None:
    thin = FakeRun(0.9)
    task = Inpaint(_spec(), FakeRun(0.5), thin=Inpaint(_spec("thin"), thin))
    img = _scene(200, 200)
    ring = np.zeros((200, 200), bool)
    ring[100:104, 100:110] = True
    out = task.refill_ring(img, ring)
    (x,) = thin.inputs
    m = holes.RING_MARGIN
    assert x.shape[-2:] == (4 + 2 * m, 10 + 2 * m)
    assert np.allclose(out[ring], 0.9) and np.array_equal(out[~ring], img[~ring]) and out is not img
    with pytest.raises(EnhanceError, match="thin-hole companion"):
        Inpaint(_spec(), FakeRun(0.5)).refill_ring(img, ring)


@pytest.mark.parametrize(
    ("mask", "message"),
    [(None, "needs a mask"), (np.zeros((10, 10), np.float32), "does not match"),
     (np.ones((64, 80, 3), np.float32), "whole image")],
)
def test_inpaint_refuses_bad_masks(mask: np.ndarray | None, message: str) -> None:
    run = FakeRun(0.5)
    with pytest.raises(InvalidInputError, match=message):
        Inpaint(_spec(), run)(_scene(), mask)
    assert not run.inputs


def test_enhancer_builds_the_task_of_its_model() -> None:
    class Const(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.full_like(x[:, :3], 0.5)

    def enh(condition: str, task: str = "denoise", **extra: object) -> Enhancer:
        return Enhancer(_spec(condition, task, condition, **extra), net=Const(), device="cpu", tile=0)

    assert type(enh("none").task()) is Upscale and type(enh("sigma").task()) is Denoise
    main = enh("mask", "inpaint")
    plain = main.task()
    assert isinstance(plain, Inpaint) and plain.thin is None
    main.thin = enh("mask", "inpaint", prefill="ns")
    main.hole_reach = None
    task = main.task()
    assert isinstance(task, Inpaint) and task.reach is None
    assert task.thin is not None and task.thin.spec.prefill == "ns" and task.thin.reach == holes.REACH
