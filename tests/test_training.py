"""Trainer smoke tests: a few steps on tiny generated images, checkpoint, resume, loss goes down."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from enhance.errors import ConfigError
from enhance.training.checkpoint import load_checkpoint, save_checkpoint
from enhance.training.config import DataConfig, Pix2PixConfig, SRConfig, from_dict, load_config
from enhance.training.data import clean, dhash, split
from enhance.training.loop import EMA
from enhance.training.pix2pix import Pix2PixTrainer
from enhance.training.degrade import downscale
from enhance.training.sr import SRTrainer, quantize


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten 96x96 crops of skimage's bundled photos (enough for an 80/20 split)."""
    import skimage.data as d

    folder = tmp_path_factory.mktemp("train_images")
    sources = [d.astronaut(), d.coffee(), d.chelsea(), d.rocket(), d.immunohistochemistry()]
    n = 0
    for img in sources:
        for y, x in ((0, 0), (150, 200)):
            Image.fromarray(np.ascontiguousarray(img[y : y + 96, x : x + 96, :3])).save(folder / f"{n:02d}.png")
            n += 1
    return folder


def _logged(out_dir: Path, key: str) -> list[float]:
    with open(out_dir / "log.csv", newline="") as fh:
        return [float(r[key]) for r in csv.DictReader(fh) if r.get(key)]


def _sr_cfg(image_dir: Path, out: Path, **kw: object) -> SRConfig:
    base = dict(
        out_dir=str(out), scale=2, channels=8, blocks=1, batch=4, patch=32, pretrain_steps=60, gan_steps=0,
        lr_g=2e-3, log_every=10, val_every=30, sample_every=30, ckpt_every=20,
        data=DataConfig(train_dirs=(str(image_dir),), blur_threshold=0.0, val_images=2), device="cpu",
    )
    base.update(kw)
    return SRConfig(**base)  # type: ignore[arg-type]


def test_sr_trainer_learns_checkpoints_and_resumes(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = SRTrainer(_sr_cfg(image_dir, out)).fit()
    assert result["step"] == 60
    losses = _logged(out, "pixel")
    assert np.mean(losses[-2:]) < losses[0], losses
    for name in ("last.safetensors", "best_pretrain.safetensors", "split.json", "clean_report.json", "curves.png"):
        assert (out / name).is_file(), name
    assert list((out / "samples").glob("*.png"))
    # resume: a longer schedule continues from step 60 instead of starting again
    result = SRTrainer(_sr_cfg(image_dir, out, pretrain_steps=70)).fit()
    assert result["step"] == 70
    steps = [int(float(s)) for s in _logged(out, "step")]
    assert steps == sorted(steps)


def test_sr_gan_phase_runs_with_perceptual_loss(image_dir: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    vgg = tmp_path / "vgg.safetensors"
    _fake_vgg(vgg)
    out = tmp_path / "gan"
    cfg = _sr_cfg(image_dir, out, pretrain_steps=10, gan_steps=10, vgg_weights=str(vgg), degradation="real",
                  real_fraction=0.5, disc_base=8)
    result = SRTrainer(cfg).fit()
    assert result["step"] == 20
    assert _logged(out, "adv") and _logged(out, "d_loss") and _logged(out, "perceptual")
    assert (out / "best_gan.safetensors").is_file()
    # a later run continues the GAN from both networks: the generator and the trained discriminator
    from safetensors.torch import load_file

    d_state = load_file(str(out / "discriminator.safetensors"))
    # lr_d 0: the discriminator's parameters stay as loaded through 2 GAN steps
    again = SRTrainer(_sr_cfg(image_dir, tmp_path / "again", pretrain_steps=0, gan_steps=2, vgg_weights=str(vgg),
                              disc_base=8, lr_d=0.0, warm_start=str(out / "best_gan.safetensors"),
                              warm_start_d=str(out / "discriminator.safetensors")))
    assert again.fit()["step"] == 2
    for k, v in again.D.named_parameters():
        assert torch.equal(v.detach(), d_state[k]), k


def test_sr_real_world_chain_trains_against_sharpened_targets(image_dir: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    vgg = tmp_path / "vgg.safetensors"
    _fake_vgg(vgg)
    out = tmp_path / "real"
    cfg = _sr_cfg(image_dir, out, pretrain_steps=6, gan_steps=6, vgg_weights=str(vgg), degradation="realesrgan",
                  usm_target=True, pool_size=8, camera_noise=0.5, adversarial="vanilla", disc_base=8,
                  log_every=2, val_every=6)
    trainer = SRTrainer(cfg)
    batch = trainer.make_batch("pretrain")
    assert batch["input"].shape == (4, 3, 16, 16) and batch["target_sharp"].shape == (4, 3, 32, 32)
    assert not torch.equal(batch["target_sharp"], batch["target"])
    # validation LR is one fixed draw of the chain, not the bicubic LR
    assert not torch.allclose(trainer.validation_set()["input"], quantize(downscale(trainer.validation_set()["target"], 2)))
    result = trainer.fit()
    assert result["step"] == 12
    real_p, fake_p = _logged(out, "d_real_p"), _logged(out, "d_fake_p")
    assert real_p and fake_p and all(0 < v < 1 for v in real_p + fake_p)


def test_pix2pix_wgan_gp_denoise_and_inpaint(image_dir: Path, tmp_path: Path) -> None:
    vgg = tmp_path / "vgg.safetensors"
    _fake_vgg(vgg)
    for task in ("denoise", "inpaint"):
        out = tmp_path / task
        cfg = Pix2PixConfig(
            out_dir=str(out), task=task, base=8, levels=2, critic_base=8, batch=2, patch=32, pretrain_steps=6,
            gan_steps=4, n_critic=2, log_every=2, val_every=5, sample_every=5, ckpt_every=5, vgg_weights=str(vgg),
            data=DataConfig(train_dirs=(str(image_dir),), blur_threshold=0.0, val_images=2), device="cpu",
            hole_loss=task == "inpaint", mask_weights=(1.0, 1.0, 2.0),
        )
        trainer = Pix2PixTrainer(cfg)
        if task == "inpaint":  # the pixel loss weighs each sample's hole, normalised to its area
            batch = trainer.make_batch("pretrain")
            w, hole = batch["pixel_weight"], batch["input"][:, 3:4]
            assert torch.allclose(w.sum(dim=(1, 2, 3)), torch.ones(2)) and torch.equal(w > 0, hole > 0)
        result = trainer.fit()
        assert result["step"] == 10
        gp = _logged(out, "gp")
        assert gp and all(math.isfinite(v) for v in gp)
        assert (out / "best_gan.safetensors").is_file()


def test_pix2pix_camera_noise_mix_batches_and_trains(image_dir: Path, tmp_path: Path) -> None:
    """noise_mix = "camera": batches of (noisy + one level per image, target) that train, and a
    camera_fraction outside [0, 1] refused (the chain itself: tests/test_degrade_camera.py)."""
    cfg = Pix2PixConfig(
        out_dir=str(tmp_path / "cam"), task="denoise", base=8, levels=2, batch=4, patch=32, pretrain_steps=2,
        gan_steps=0, log_every=1, val_every=2, sample_every=2, ckpt_every=2, noise_mix="camera", camera_fraction=0.5,
        data=DataConfig(train_dirs=(str(image_dir),), blur_threshold=0.0, val_images=2), device="cpu",
    )
    trainer = Pix2PixTrainer(cfg)
    batch = trainer.make_batch("pretrain")
    assert batch["input"].shape == (4, 4, 32, 32) and batch["target"].shape == (4, 3, 32, 32)
    level = batch["input"][:, 3]
    assert torch.all(level == level[:, :1, :1]) and torch.all(level >= 0)
    assert trainer.fit()["step"] == 2
    with pytest.raises(ConfigError, match="camera_fraction"):
        Pix2PixTrainer(dataclasses.replace(cfg, camera_fraction=1.5))


def test_pix2pix_ns_prefill_starts_from_navier_stokes(image_dir: Path, tmp_path: Path) -> None:
    """The thin-hole model: its input holds the Navier-Stokes fill, and before training its output is that fill."""
    from enhance import holes

    cfg = Pix2PixConfig(
        out_dir=str(tmp_path / "thin"), task="inpaint", prefill="ns", base=8, levels=2, batch=2, patch=32,
        pretrain_steps=4, gan_steps=0, log_every=2, val_every=4, sample_every=4, ckpt_every=4,
        data=DataConfig(train_dirs=(str(image_dir),), blur_threshold=0.0, val_images=2), device="cpu",
        hole_loss=True, mask_weights=(0.0, 0.0, 1.0),
    )
    trainer = Pix2PixTrainer(cfg)
    batch = trainer.make_batch("pretrain")
    rgb, hole = batch["input"][:, :3], batch["input"][:, 3:4]
    for i in range(2):
        expected = holes.prefill_ns(batch["target"][i].permute(1, 2, 0).numpy(), hole[i, 0].numpy() > 0.5)
        assert np.allclose(rgb[i].permute(1, 2, 0).numpy(), expected, atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(trainer.generate(trainer.G, batch), rgb, atol=1e-6)
    assert trainer.fit()["step"] == 4
    with pytest.raises(ConfigError, match="inpaint"):
        Pix2PixTrainer(dataclasses.replace(cfg, task="denoise"))


def _fake_vgg(path: Path) -> None:
    """A random VGG-style encoder in the layout of shared/data/models/vgg19_pruned (tiny widths)."""
    from safetensors.torch import save_file

    widths = {"1": 4, "2": 4, "3": 8, "4": 8, "5": 8}
    state = {"conv0.weight": torch.randn(3, 3, 1, 1) * 0.3, "conv0.bias": torch.zeros(3)}
    cin = 3
    for name in ["conv11", "conv12", "conv21", "conv22", "conv31", "conv32", "conv33", "conv34",
                 "conv41", "conv42", "conv43", "conv44", "conv51"]:
        cout = widths[name[4]]
        state[f"{name}.weight"] = torch.randn(cout, cin, 3, 3) * 0.2
        state[f"{name}.bias"] = torch.zeros(cout)
        cin = cout
    save_file(state, str(path))


def test_checkpoint_round_trip_restores_optimizer(tmp_path: Path) -> None:
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c.safetensors", {"G": net}, {"g": opt}, {"step": 7})
    net2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(net2.parameters(), lr=5.0)
    meta = load_checkpoint(tmp_path / "c.safetensors", {"G": net2}, {"g": opt2})
    assert meta["step"] == 7
    assert torch.equal(net.weight, net2.weight)
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s2["param_groups"][0]["lr"] == 1e-3
    assert torch.equal(s1["state"][0]["exp_avg"], s2["state"][0]["exp_avg"])


def test_ema_moves_towards_model() -> None:
    net = torch.nn.Linear(2, 2)
    ema = EMA(net, 0.5)
    with torch.no_grad():
        net.weight.add_(1.0)
    before = ema.model.weight.clone()
    ema.update(net)
    assert torch.allclose(ema.model.weight, before + 0.5)


def test_config_rejects_unknown_keys_and_bad_types(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(SRConfig, {"scael": 4})
    with pytest.raises(ConfigError, match="expected int"):
        from_dict(SRConfig, {"batch": "big"})
    with pytest.raises(ConfigError, match="not one of"):
        from_dict(SRConfig, {"arch": "transformer"})
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(SRConfig, {"data": {"folders": []}})
    with pytest.raises(ConfigError, match="expected 3 values, got 2"):
        from_dict(Pix2PixConfig, {"mask_weights": [1, 2]})
    assert from_dict(Pix2PixConfig, {"mask_weights": [0, 1, 2]}).mask_weights == (0.0, 1.0, 2.0)
    toml = tmp_path / "c.toml"
    toml.write_text('scale = 2\nlr_g = 1\n[gan_loss]\nperceptual = 0.5\n[data]\ntrain_dirs = ["x"]\n')
    cfg = load_config(SRConfig, toml)
    assert cfg.scale == 2 and cfg.lr_g == 1.0 and cfg.gan_loss.perceptual == 0.5 and cfg.data.train_dirs == ("x",)


def test_mask_weights_pick_the_kinds() -> None:
    from enhance.training.masks import mask_bank

    import cv2

    kernel = np.ones((9, 9), np.uint8)  # boxes (>= 12 px here) survive this erosion; thin scratches do not
    boxes = mask_bank(6, 128, 0, (0.0, 1.0, 0.0))
    assert all(cv2.erode(m, kernel).any() for m in boxes)
    scratches = mask_bank(6, 128, 0, (0.0, 0.0, 1.0))
    assert not any(cv2.erode(m, kernel).any() for m in scratches)
    assert np.array_equal(mask_bank(4, 32, 7), mask_bank(4, 32, 7))  # seeded
    with pytest.raises(ValueError, match="mask weights"):
        mask_bank(1, 32, 0, (0.0, 0.0, 0.0))


def test_shipped_configs_parse() -> None:
    root = Path(__file__).resolve().parents[1] / "training" / "configs"
    from enhance.training.detector import DetectorConfig

    for path in sorted(root.glob("*.toml")):
        cls: type = (SRConfig if path.stem.startswith("sr") else DetectorConfig if path.stem.startswith("defects")
                     else Pix2PixConfig)
        assert load_config(cls, path).batch > 0


def test_cleaning_drops_bad_small_blurry_and_duplicates(tmp_path: Path, image_dir: Path) -> None:
    import shutil

    folder = tmp_path / "mix"
    shutil.copytree(image_dir, folder)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(folder / "tiny.png")
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(folder / "flat.png")
    shutil.copy(folder / "00.png", folder / "00_copy.png")
    from enhance.training.data import scan_images

    kept, report = clean(scan_images([folder]), min_size=32, blur_threshold=5.0)
    reasons = {Path(k).name: v for k, v in report.dropped.items()}
    assert reasons["broken.png"].startswith("unreadable")
    assert reasons["tiny.png"].startswith("too small")
    assert reasons["flat.png"].startswith("blurry")
    assert reasons["00_copy.png"].startswith("near-duplicate")
    assert len(kept) == 10


def test_split_is_deterministic_and_stable() -> None:
    paths = [Path(f"img_{i}.png") for i in range(200)]
    train, val = split(paths, 0.2, seed=0)
    assert 20 < len(val) < 60 and len(train) + len(val) == 200
    train2, val2 = split(list(reversed(paths)) + [Path("new.png")], 0.2, seed=0)
    assert set(val) <= set(val2)


def test_dhash_near_duplicates() -> None:
    rng = np.random.default_rng(0)
    a = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    b = np.clip(a.astype(int) + 2, 0, 255).astype(np.uint8)
    assert bin(dhash(a) ^ dhash(b)).count("1") <= 4


def test_ddp_under_torchrun_on_cpu(image_dir: Path, tmp_path: Path) -> None:
    """Two processes (gloo on the CPU) train, sync and checkpoint like one."""
    import json
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    sets = [f"out_dir={json.dumps(str(out))}", 'device="cpu"', "pretrain_steps=4", "gan_steps=0", "batch=2",
            "patch=32", "channels=8", "blocks=1", "val_every=4", "sample_every=4", "log_every=2",
            f'data={{"train_dirs": [{json.dumps(str(image_dir))}], "val_images": 2, "blur_threshold": 0}}']
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
         "-m", "enhance.training", "sr", "--set", *sets],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "last.safetensors").is_file() and (out / "best_pretrain.safetensors").is_file()
    assert _logged(out, "pixel")


class _FakeTeacher:
    """Main fill: 2.0 in the hole; a ring redone by the thin-hole model: 3.0."""

    def main_fill(self, img: np.ndarray, hole: np.ndarray) -> np.ndarray:
        return np.where(hole[:, :, None], np.float32(2.0), img)

    def refill_ring(self, img: np.ndarray, ring: np.ndarray) -> np.ndarray:
        return np.where(ring[:, :, None], np.float32(3.0), img)


def test_ring_bank_shows_a_ring_what_it_sees_at_inference() -> None:
    """A ring sample: the known image is clean, the rings outside this one are redone by the thin-hole
    model, the hole inside it holds the main model's fill, and the ring lies inside the deep mask."""
    from enhance import holes
    from enhance.training.rings import RingBank

    clean = torch.rand(8, 3, 64, 64)
    bank = RingBank(clean, _FakeTeacher(), seed=3)
    assert bank.masks.shape == (8, 64, 64) and all(holes.hole_depth(m) > holes.THIN_DEPTH for m in bank.masks)
    c, base, ring = bank.sample(np.arange(8), np.random.default_rng(0), turn=False)
    assert torch.equal(c, clean)
    depths = set()
    for i in range(8):
        hole, r, b = bank.masks[i], ring[i, 0].numpy() > 0.5, base[i].permute(1, 2, 0).numpy()
        d = holes.distance_to_known(hole)
        assert r.any() and not (r & ~hole).any()
        assert np.array_equal(b[~hole], c[i].permute(1, 2, 0).numpy()[~hole])
        assert (b[hole & (d > d[r].max())] == 2.0).all()  # inside: the main fill
        assert (b[hole & (d < d[r].min())] == 3.0).all()  # outside: the rings already redone
        depths.add(round(float(d[r].min())))
    assert len(depths) > 1  # not always the outermost ring
    _, turned, turned_ring = bank.sample(np.arange(8), np.random.default_rng(1))
    assert torch.equal(turned_ring.sum((1, 2, 3)), ring.sum((1, 2, 3)))


def test_ring_bank_fills_whole_crops_and_cuts_windows_around_the_ring() -> None:
    from enhance.training.rings import RingBank

    clean = torch.rand(6, 3, 96, 96)
    bank = RingBank(clean, _FakeTeacher(), seed=4, window=48, canvas=192)  # filled on 96 px, cut to 48
    c, base, ring = bank.sample(np.arange(6), np.random.default_rng(0), turn=False)
    assert c.shape == base.shape == (6, 3, 48, 48) and ring.shape == (6, 1, 48, 48)
    for i in range(6):
        corner = [(y, x) for y in range(49) for x in range(49) if torch.equal(c[i], clean[i, :, y : y + 48, x : x + 48])]
        assert corner  # a piece of its crop
        assert ring[i].sum() > 0 and not (ring[i, 0].numpy().astype(bool) & ~bank.masks[i]).any()
        known = ~bank.masks[i]
        assert torch.equal(base[i][:, torch.from_numpy(known)], c[i][:, torch.from_numpy(known)])


def test_thin_model_trains_on_rings_of_the_main_fill(image_dir: Path, tmp_path: Path) -> None:
    cfg = Pix2PixConfig(
        out_dir=str(tmp_path / "rings"), task="inpaint", prefill="ns", base=8, levels=2, batch=4, patch=32,
        pretrain_steps=4, gan_steps=0, log_every=2, val_every=4, sample_every=4, ckpt_every=4,
        data=DataConfig(train_dirs=(str(image_dir),), blur_threshold=0.0, val_images=2), device="cpu",
        hole_loss=True, mask_weights=(0.0, 0.0, 1.0), ring_teacher="inpaint", ring_fraction=0.5, ring_bank=6,
        ring_context=64,
    )
    trainer = Pix2PixTrainer(cfg)
    assert len(trainer.rings or []) == 6
    val = trainer.validation_set()["target"]  # the validation crops with scratches, then the same crops' rings
    n = val.shape[0] // 2
    assert n >= 1 and torch.equal(val[:n], val[n:])
    batch = trainer.make_batch("pretrain")
    assert batch["input"].shape == (4, 4, 32, 32) and batch["pixel_weight"].shape == (4, 1, 32, 32)
    assert trainer.fit()["step"] == 4
    with pytest.raises(ConfigError, match="ring_teacher"):
        Pix2PixTrainer(dataclasses.replace(cfg, ring_fraction=0.0))
