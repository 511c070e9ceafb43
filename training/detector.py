"""Train the print-defect detector: a small U-Net segmenting cracks, creases, tears and dust.

``python -m enhance.training detector --config training/configs/defects.toml``

Supervised, not adversarial: the target is an exact mask (:func:`training.damage.old_print` draws
the damage and knows where it is). The samples are drawn once into a bank on disk (``bank_size``
crops of ``bank_crop`` px, from the training split's photos at random scales, each with its own
seed) because drawing damage in numpy costs as much as a training step on the CPU; training then
takes random crops, flips and rotations of the bank. The validation bank comes from the split's
validation photos, with other seeds.

Loss: binary cross-entropy plus soft Dice (defects are a few % of the pixels; Dice keeps thin
cracks from being traded away for the background). Validation reports pixel precision / recall /
F1 with the benchmark's 2 px tolerance at threshold 0.5; the best F1 is kept (or, with
``select_kind``, the best mean of it and the F1 on crops carrying only that kind).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from enhance.weightstore import save_weights

from .checkpoint import load_checkpoint, save_checkpoint
from .logs import RunLog

TOLERANCE = 2  # px: a detected pixel this close to a true one is right (and the other way round)


@dataclass(frozen=True)
class DetectorConfig:
    out_dir: str = "runs/defects"
    seed: int = 0
    device: str = "auto"
    data_root: str = "../shared/data/train"
    manifest: str = "training/splits/realsr.json"  # train / val photo lists, relative to data_root
    textures: tuple[str, ...] = (
        "textures/digikam-data__paper2-texture.jpg",
        "textures/digikam-data__brownCard.jpg",
        "textures/digikam-data__roughPhotoCard.jpg",
    )
    bank_size: int = 4000
    val_size: int = 160
    bank_crop: int = 256
    #: photos are scaled by a random factor in this range before cropping (the long side of most
    #: training photos is 1000-1600 px; prints are scanned at every size)
    scale_range: tuple[float, float] = (0.2, 1.0)
    #: share of undamaged samples, and of aged ones (the rest are modern photos, damaged or not):
    #: undamaged white shirts, black backgrounds and highlights teach the detector what is no damage
    p_clean: float = 0.15
    p_aged: float = 0.85
    #: share of the modern photos made more saturated and brighter (:func:`training.damage.vivid`)
    p_vivid: float = 0.0
    #: the chance of each kind of damage in a damaged sample (``training.damage.KINDS`` order, then
    #: optionally the first or all of ``EXTRA_KINDS``; None: ``training.damage.WEIGHTS``)
    damage_weights: tuple[float, ...] | None = None
    #: hard negatives: this many undamaged crops added to the training bank (and a proportional
    #: share to the validation bank), the ones a detector (``hard_weights``, default ``warm_start``)
    #: flags most among ``hard_pool`` x as many drawn the same way; spokes, white jerseys and thin
    #: bright lines in busy modern photos are rare in a random bank, and they are what it
    #: takes for cracks
    hard_negatives: int = 0
    hard_pool: int = 4
    #: hard positives: this many of the hard negatives also go in as aged prints with fine bright
    #: cracks (:func:`training.damage.hard_positive`, a proportional share in validation): trained
    #: on the negatives alone, the detector learnt that a thin bright line over a dark, busy area
    #: is never damage and lost the fine white cracks of real prints
    hard_positives: int = 0
    hard_weights: str | None = None
    workers: int = 2
    base: int = 16
    levels: int = 4
    batch: int = 12
    patch: int = 192
    lr: float = 2e-3
    lr_min_ratio: float = 0.02
    weight_decay: float = 1e-4
    steps: int = 4000
    minutes: float | None = None  # wall-clock budget (the LR schedule follows it); None: ``steps``
    dice: float = 1.0
    pos_weight: float = 2.0
    threads: int = 0  # torch threads (0: torch's default)
    log_every: int = 25
    val_every: int = 250
    ckpt_every: int = 100
    warm_start: str | None = None
    resume: bool = True
    #: a damage kind (``training.damage.KINDS`` or ``EXTRA_KINDS``) to validate on its own as well:
    #: ``kind_val_size`` damaged validation crops carrying only that kind. Each validation then also
    #: logs its F1 and its mean probability on that kind's pixels, and the checkpoint kept is the one
    #: with the best mean of the two F1s: a fine-tune for one faint kind moves overall F1 too little
    #: to pick a checkpoint by
    select_kind: str | None = None
    kind_val_size: int = 80


def build_detector(base: int = 16, levels: int = 4) -> nn.Module:
    from enhance.archs.unet import UNetRestorer

    return UNetRestorer(extra_channels=0, base=base, levels=levels, residual=False, out_channels=1)


# ---------------------------------------------------------------------------------------------- data


def _photo_lists(cfg: DetectorConfig) -> tuple[list[Path], list[Path]]:
    root = Path(cfg.data_root)
    d = json.loads(Path(cfg.manifest).read_text())
    return [root / p for p in d["train"]], [root / p for p in d["val"]]


_WORKER: dict[str, Any] = {}


def _init_worker(textures: list[str]) -> None:
    import cv2

    from .damage import Paper

    cv2.setNumThreads(1)
    _WORKER["paper"] = Paper.load(textures)


def _draw(
    args: tuple[str, int, int, tuple[float, float], float, float, float, tuple[float, ...] | None]
) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    from .damage import old_print

    path, seed, crop, (s0, s1), p_clean, p_aged, p_vivid, weights = args
    rng = np.random.default_rng(seed)
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    h, w = bgr.shape[:2]
    s = max(rng.uniform(s0, s1), (crop + 1) / min(h, w))
    if s < 1:
        bgr = cv2.resize(bgr, (max(crop, int(w * s)), max(crop, int(h * s))), interpolation=cv2.INTER_AREA)
    elif s > 1:
        bgr = cv2.resize(bgr, (int(w * s) + 1, int(h * s) + 1), interpolation=cv2.INTER_CUBIC)
    h, w = bgr.shape[:2]
    y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    rgb = bgr[y : y + crop, x : x + crop, ::-1]
    return old_print(rng, rgb, _WORKER["paper"], p_clean=p_clean, p_aged=p_aged, p_vivid=p_vivid,
                     weights=weights)


def _save_bank(path: Path, images: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write a bank atomically (a half-written cache would be read back as a bank) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, images=images, masks=masks)
    os.replace(tmp, path)
    return images, masks


def make_bank(
    photos: list[Path], n: int, seed: int, cfg: DetectorConfig, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` damaged crops and masks (uint8 ``(n, c, c, 3)``, bool ``(n, c, c)``), cached in ``path``."""
    if path.is_file():
        with np.load(path) as z:
            if z["images"].shape[0] == n and z["images"].shape[1] == cfg.bank_crop:
                return z["images"], z["masks"]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(photos), n)
    jobs = [(str(photos[k]), seed * 1_000_003 + i, cfg.bank_crop, cfg.scale_range, cfg.p_clean, cfg.p_aged,
             cfg.p_vivid, cfg.damage_weights)
            for i, k in enumerate(picks)]
    textures = [str(Path(cfg.data_root) / t) for t in cfg.textures]
    if cfg.workers <= 1:
        _init_worker(textures)
        out = [_draw(j) for j in jobs]
    else:  # spawned, not forked: a fork of a process that has started torch's threads can deadlock
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=_init_worker, initargs=(textures,)) as ex:
            out = list(ex.map(_draw, jobs, chunksize=16))
    images = np.stack([o[0] for o in out])
    masks = np.stack([o[1] for o in out])
    return _save_bank(path, images, masks)


@torch.no_grad()
def flagged_share(net: nn.Module, images: np.ndarray, device: torch.device, batch: int = 16) -> np.ndarray:
    """Share of each uint8 crop's pixels that ``net`` gives a defect probability above 0.5."""
    net.eval()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).permute(0, 3, 1, 2).float().div(255).to(device)
        out.append((net(x) > 0).float().mean((1, 2, 3)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def mine_hard_negatives(
    photos: list[Path], n: int, seed: int, cfg: DetectorConfig, net: nn.Module, device: torch.device, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` undamaged crops (of ``cfg.hard_pool * n`` drawn as :func:`make_bank` draws, with
    no damage) that ``net`` flags most, with their empty masks; cached in ``path``."""
    pool = make_bank(photos, cfg.hard_pool * n, seed, replace(cfg, p_clean=1.0), path.with_name(path.stem + "_pool.npz"))
    if path.is_file():
        with np.load(path) as z:
            if z["images"].shape[0] == n:
                return z["images"], z["masks"]
    share = flagged_share(net, pool[0], device)
    keep = np.sort(np.argsort(-share, kind="stable")[:n])
    print(f"hard negatives: {n} of {len(share)} undamaged crops, flagged {share[keep].mean():.2%} "
          f"(pool mean {share.mean():.2%})", flush=True)
    images, masks = pool[0][keep], pool[1][keep]
    return _save_bank(path, images, masks)


def make_hard_positives(
    scans: np.ndarray, seed: int, cfg: DetectorConfig, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`training.damage.hard_positive` of each uint8 crop in ``scans``, cached in ``path``."""
    from .damage import Paper, hard_positive

    if path.is_file():
        with np.load(path) as z:
            if z["images"].shape[0] == len(scans):
                return z["images"], z["masks"]
    paper = Paper.load([str(Path(cfg.data_root) / t) for t in cfg.textures])
    out = [hard_positive(np.random.default_rng([seed, i]), im, paper) for i, im in enumerate(scans)]
    images = np.stack([o[0] for o in out])
    masks = np.stack([o[1] for o in out])
    return _save_bank(path, images, masks)


def sample_batch(
    images: np.ndarray, masks: np.ndarray, batch: int, patch: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops with random flips and quarter turns: ``(B, 3, p, p)`` float and ``(B, 1, p, p)``."""
    n, c = images.shape[0], images.shape[1]
    xs, ms = [], []
    for _ in range(batch):
        k = int(rng.integers(n))
        y, x = int(rng.integers(0, c - patch + 1)), int(rng.integers(0, c - patch + 1))
        im, m = images[k, y : y + patch, x : x + patch], masks[k, y : y + patch, x : x + patch]
        r = int(rng.integers(4))
        im, m = np.rot90(im, r), np.rot90(m, r)
        if rng.random() < 0.5:
            im, m = im[:, ::-1], m[:, ::-1]
        xs.append(np.ascontiguousarray(im))
        ms.append(np.ascontiguousarray(m))
    x_t = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255.0
    m_t = torch.from_numpy(np.stack(ms)).float()[:, None]
    return x_t, m_t


# -------------------------------------------------------------------------------------------- losses


def detector_loss(logits: torch.Tensor, target: torch.Tensor, dice: float, pos_weight: float) -> torch.Tensor:
    """BCE (positives weighted ``pos_weight``) + ``dice`` x soft Dice over the batch."""
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(pos_weight, device=logits.device))
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    d = 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return bce + dice * d


def tolerant_counts(pred: torch.Tensor, truth: torch.Tensor, tol: int = TOLERANCE) -> tuple[float, float, float, float]:
    """(right detections, detections, found truths, truths): pixel counts with ``tol`` px slack."""
    k = 2 * tol + 1
    near_truth = F.max_pool2d(truth.float(), k, 1, tol) > 0
    near_pred = F.max_pool2d(pred.float(), k, 1, tol) > 0
    return (
        float((pred & near_truth).sum()),
        float(pred.sum()),
        float((truth & near_pred).sum()),
        float(truth.sum()),
    )


def prf(counts: tuple[float, float, float, float]) -> tuple[float, float, float]:
    tp_p, n_p, tp_t, n_t = counts
    precision = tp_p / n_p if n_p else 1.0
    recall = tp_t / n_t if n_t else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# ------------------------------------------------------------------------------------------- trainer


class DetectorTrainer:
    def __init__(self, cfg: DetectorConfig) -> None:
        self.cfg = cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        dev = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self.device = torch.device(dev)
        self.out = Path(cfg.out_dir)
        self.log = RunLog(self.out)
        torch.manual_seed(cfg.seed)
        self.net = build_detector(cfg.base, cfg.levels).to(self.device)
        if cfg.warm_start:
            from enhance.weightstore import load_weights, sha256_file

            load_weights(self.net, Path(cfg.warm_start), sha256_file(Path(cfg.warm_start)))
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.kind_bank: tuple[np.ndarray, np.ndarray] | None = None
        from .damage import EXTRA_KINDS, KINDS

        if cfg.select_kind is not None and cfg.select_kind not in KINDS + EXTRA_KINDS:  # before any bank is drawn
            raise ValueError(f"select_kind {cfg.select_kind!r}: expected one of {KINDS + EXTRA_KINDS}")

    def _lr(self, progress: float) -> float:
        c = self.cfg
        warm = min(1.0, progress / 0.02) if progress < 0.02 else 1.0
        cos = c.lr_min_ratio + (1 - c.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return c.lr * warm * cos

    @torch.no_grad()
    def _scores(self, images: np.ndarray, masks: np.ndarray) -> tuple[float, np.ndarray, float, float]:
        """One pass over a bank: summed loss, tolerant counts, summed probability on truth pixels, truth pixels."""
        self.net.eval()
        totals = np.zeros(4)
        loss, prob, n_true = 0.0, 0.0, 0.0
        for i in range(0, len(images), 16):
            x = torch.from_numpy(images[i : i + 16]).permute(0, 3, 1, 2).float().div(255).to(self.device)
            t = torch.from_numpy(masks[i : i + 16]).to(self.device)[:, None]
            logits = self.net(x)
            loss += float(detector_loss(logits, t.float(), self.cfg.dice, self.cfg.pos_weight)) * len(x)
            totals += np.array(tolerant_counts(logits > 0, t))
            prob += float(torch.sigmoid(logits)[t].sum())
            n_true += float(t.sum())
        self.net.train()
        return loss, totals, prob, n_true

    def validate(self, images: np.ndarray, masks: np.ndarray) -> dict[str, float]:
        loss, totals, _, _ = self._scores(images, masks)
        p, r, f1 = prf((totals[0], totals[1], totals[2], totals[3]))
        return {"val_loss": loss / len(images), "precision": p, "recall": r, "f1": f1}

    def validate_kind(self, images: np.ndarray, masks: np.ndarray) -> dict[str, float]:
        """Recall, F1 and mean defect probability on the truth pixels of the one-kind validation bank."""
        _, totals, prob, n_true = self._scores(images, masks)
        _, r, f1 = prf((totals[0], totals[1], totals[2], totals[3]))
        return {"kind_recall": r, "kind_f1": f1, "kind_mean_prob": prob / n_true if n_true else 0.0}

    def _kind_bank(self, val_photos: list[Path]) -> tuple[np.ndarray, np.ndarray] | None:
        from .damage import EXTRA_KINDS, KINDS

        c = self.cfg
        if c.select_kind is None:
            return None
        names = KINDS + EXTRA_KINDS
        onehot = tuple(float(n == c.select_kind) for n in names[: max(len(KINDS), names.index(c.select_kind) + 1)])
        return make_bank(val_photos, c.kind_val_size, c.seed + 1100, replace(c, p_clean=0.0, damage_weights=onehot),
                         self.out / f"bank_val_{c.select_kind}.npz")

    def fit(self) -> dict[str, Any]:
        c = self.cfg
        train_photos, val_photos = _photo_lists(c)
        t0 = time.time()
        images, masks = make_bank(train_photos, c.bank_size, c.seed + 1, c, self.out / "bank_train.npz")
        v_images, v_masks = make_bank(val_photos, c.val_size, c.seed + 1000, c, self.out / "bank_val.npz")
        if c.hard_negatives:
            images, masks, v_images, v_masks = self._add_hard_negatives(
                train_photos, val_photos, (images, masks), (v_images, v_masks))
        self.kind_bank = self._kind_bank(val_photos)
        print(f"banks ready in {time.time() - t0:.0f} s: {images.shape[0]} train, {v_images.shape[0]} val; "
              f"defect share {masks.mean():.3%}", flush=True)
        (self.out / "config.json").write_text(json.dumps(asdict(c), indent=1))
        step, elapsed, best = 0, 0.0, -1.0
        last = self.out / "last.safetensors"
        if c.resume and last.is_file():
            meta = load_checkpoint(last, {"net": self.net}, {"opt": self.opt})
            step, elapsed, best = int(meta["step"]), float(meta["elapsed"]), float(meta["best"])
            print(f"resumed at step {step} ({elapsed / 60:.1f} min, best score {best:.4f})", flush=True)
        rng = np.random.default_rng(c.seed * 7919 + step)
        start = time.time() - elapsed
        self.net.train()
        run_loss = 0.0
        while True:
            elapsed = time.time() - start
            progress = elapsed / (c.minutes * 60) if c.minutes else step / c.steps
            if progress >= 1:
                break
            for g in self.opt.param_groups:
                g["lr"] = self._lr(progress)
            x, t = sample_batch(images, masks, c.batch, c.patch, rng)
            x, t = x.to(self.device), t.to(self.device)
            loss = detector_loss(self.net(x), t, c.dice, c.pos_weight)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.opt.step()
            step += 1
            run_loss += loss.item()
            if step % c.log_every == 0:
                self.log.write(step, "train", {"loss": run_loss / c.log_every, "lr": self.opt.param_groups[0]["lr"],
                                               "minutes": elapsed / 60})
                print(f"step {step} loss {run_loss / c.log_every:.4f} lr {self.opt.param_groups[0]['lr']:.2e} "
                      f"{elapsed / 60:.1f} min", flush=True)
                run_loss = 0.0
            if step % c.val_every == 0:
                best = self._validate_and_keep(step, v_images, v_masks, best)
            if step % c.ckpt_every == 0:
                save_checkpoint(last, {"net": self.net}, {"opt": self.opt},
                                {"step": step, "elapsed": time.time() - start, "best": best})
        if step % c.val_every:
            best = self._validate_and_keep(step, v_images, v_masks, best)
        save_checkpoint(last, {"net": self.net}, {"opt": self.opt},
                        {"step": step, "elapsed": time.time() - start, "best": best})
        return {"steps": step, "minutes": (time.time() - start) / 60, "best_f1": best,
                "best": str(self.out / "best.safetensors")}

    def _add_hard_negatives(
        self, train_photos: list[Path], val_photos: list[Path], bank: tuple[np.ndarray, np.ndarray],
        val_bank: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        c = self.cfg
        miner = self.net
        if c.hard_weights and c.hard_weights != c.warm_start:
            from enhance.weightstore import load_weights, sha256_file

            miner = build_detector(c.base, c.levels).to(self.device)
            load_weights(miner, Path(c.hard_weights), sha256_file(Path(c.hard_weights)))
        n_val = max(1, round(c.hard_negatives * c.val_size / c.bank_size))
        hard = mine_hard_negatives(train_photos, c.hard_negatives, c.seed + 2, c, miner, self.device,
                                   self.out / "bank_hard.npz")
        v_hard = mine_hard_negatives(val_photos, n_val, c.seed + 1002, c, miner, self.device,
                                     self.out / "bank_val_hard.npz")
        self.net.train()
        train = [bank, hard]
        val = [val_bank, v_hard]
        if c.hard_positives:
            n_pos = min(c.hard_positives, c.hard_negatives)
            n_vpos = max(1, round(n_pos * n_val / c.hard_negatives))
            train.append(make_hard_positives(hard[0][:n_pos], c.seed + 3, c, self.out / "bank_hard_pos.npz"))
            val.append(make_hard_positives(v_hard[0][:n_vpos], c.seed + 1003, c, self.out / "bank_val_hard_pos.npz"))
            print(f"hard positives: {n_pos} train, {n_vpos} val; defect share "
                  f"{train[-1][1].mean():.2%}", flush=True)
        return (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train]),
                np.concatenate([b[0] for b in val]), np.concatenate([b[1] for b in val]))

    def _validate_and_keep(self, step: int, v_images: np.ndarray, v_masks: np.ndarray, best: float) -> float:
        m = self.validate(v_images, v_masks)
        score = m["f1"]
        line = f"  val step {step}: loss {m['val_loss']:.4f} P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.4f}"
        if self.kind_bank is not None:
            m.update(self.validate_kind(*self.kind_bank))
            score = (m["f1"] + m["kind_f1"]) / 2
            line += (f"; {self.cfg.select_kind}: R {m['kind_recall']:.3f} F1 {m['kind_f1']:.4f} "
                     f"mean prob {m['kind_mean_prob']:.3f}")
        self.log.write(step, "val", m)
        print(line, flush=True)
        if score > best:
            best = score
            save_weights(self.net, self.out / "best.safetensors",
                         {"arch": "unet-detector", "base": str(self.cfg.base), "levels": str(self.cfg.levels),
                          "step": str(step), "val_f1": f"{m['f1']:.4f}", "val_score": f"{best:.4f}"})
        return best
