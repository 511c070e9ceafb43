"""The inference engine: an :class:`Enhancer` runs one model on images of any size.

Contract of the network it wraps (see :class:`enhance.spec.ModelSpec`): input ``(1, 3 + extra, H, W)``
float32 in [0, 1], output ``(1, 3, H*scale, W*scale)``. The Enhancer composes the parts that do the
work: a runner from :func:`enhance.runners.make_runners` (pads to the size multiple, runs, clamps,
crops; PyTorch or ONNX Runtime, fp16 or fp32), wrapped in :class:`enhance.tiling.Tiled` and
:class:`enhance.ensemble.Ensemble`; and the task's own steps: the noise-level channel of a
denoiser, the hole filling of an inpainter (:mod:`enhance.holes`). Grayscale images are run as RGB
and averaged back to one channel; alpha is upscaled separately (bicubic) and never dropped.
Everything here is deterministic.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from enhance import holes
from enhance.devices import resolve_device
from enhance.ensemble import ENSEMBLE_SIZES, Ensemble, check_ensemble
from enhance.ensemble import view as _view
from enhance.errors import EnhanceError, InvalidInputError
from enhance.ops.noise import noise_sigma
from enhance.runners import BACKENDS, Runners, make_runners
from enhance.spec import ModelSpec
from enhance.tiling import ProgressFn, Tiled

if TYPE_CHECKING:
    from enhance.io import ImageData

T = TypeVar("T")

MIN_TILE = 32
__all__ = ["BACKENDS", "ENSEMBLE_SIZES", "Enhancer", "ProgressFn", "estimate_noise_sigma", "resolve_device"]
CPU_MAX_TILE = 256  # larger CPU tiles are slower per pixel (cache), measured on 2 cores
# ONNX Runtime is the other way round: int8 on 2 cores, 512 vs 256 px tiles (median of 3): x4 at
# 512 / 768 px input 10.39 vs 8.77 / 9.88 vs 8.48 output MP/s, denoise at 1024 px 1.27 vs 0.95
ORT_CPU_MAX_TILE = 512
GPU_MAX_TILE = 1024


def estimate_noise_sigma(rgb: np.ndarray) -> float:
    """Gaussian noise level (on 0-255, per channel) of an ``(H, W)`` or ``(H, W, C)`` float image in
    [0, 1] (:func:`enhance.ops.noise.noise_sigma`). Measured on 30 CBSD68/Kodak24 images with sigma
    5/15/25/50: 6.3/15.8/25.5/50.3 on average (texture adds a little at low levels)."""
    planes = rgb[..., None] if rgb.ndim == 2 else rgb
    x = torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32)).permute(2, 0, 1)[None]
    return float(noise_sigma(x)[0]) * 255.0


class Enhancer:
    """A model ready to run: ``Enhancer(spec)(image)``.

    ``tile`` is ``"auto"`` (from free memory, halved and retried on CUDA out-of-memory), an int
    (input pixels per tile side) or ``None``/``0`` (no tiling).

    ``ensemble`` > 1 is self-ensembling: the image is also run flipped and rotated (2, 4 or 8 of
    the 8 such views), each result is turned back, and the results are averaged. It costs that
    many times the time and gains about 0.1 dB on the denoiser (``benchmarks/denoise.py``).

    Inpainting models fill holes deeper than ``hole_reach`` px coarse to fine (:mod:`enhance.holes`);
    ``None`` runs one pass whatever the hole. One whose spec names a ``thin_model`` hands its thin holes
    (scratches, dust) and the rim of its other holes to that model, loaded as ``thin`` with the same
    settings; set ``thin = None`` to fill everything with the main model.
    """

    hole_reach: int | None = holes.REACH

    def __init__(
        self,
        spec: ModelSpec,
        net: nn.Module | None = None,
        device: str | torch.device = "auto",
        tile: int | str | None = "auto",
        half: bool | None = None,
        backend: str = "torch",
        onnx_path: str | Path | None = None,
        ensemble: int = 1,
    ) -> None:
        self.spec = spec
        self.ensemble = check_ensemble(ensemble)
        if backend == "onnx-int8" and str(device) == "auto":
            device = "cpu"  # int8 is for CPUs: a GPU machine runs it on its CPU instead of failing
        self.device = resolve_device(device)
        self.backend = backend
        #: an ONNX file the caller gave (e.g. an int8 export), not the one exported from the weights
        self.user_onnx = Path(onnx_path) if backend != "torch" and onnx_path is not None else None
        #: the runners (default, and float32 for >8-bit images where fp16 was chosen automatically)
        self.runners: Runners = make_runners(spec, self.device, backend=backend, half=half, onnx_path=onnx_path,
                                             net=net)
        self.half = self.runners.half
        if isinstance(tile, str) and tile != "auto":
            raise InvalidInputError(f"tile must be 'auto', a number of pixels or 0, got {tile!r}")
        if isinstance(tile, int) and 0 < tile < MIN_TILE:
            raise InvalidInputError(f"tile must be at least {MIN_TILE} pixels (or 0 for no tiling), got {tile}")
        self.tile = tile
        #: the model that fills thin holes for this one (``spec.thin_model``), if it is installed
        self.thin: Enhancer | None = None
        if spec.thin_model:
            from enhance.registry import default_registry

            reg = default_registry()
            if spec.thin_model in reg:
                self.thin = Enhancer(reg.get(spec.thin_model), device=self.device, tile=tile, half=half,
                                      backend=backend, ensemble=ensemble)

    @property
    def label(self) -> str:
        """The model's name, plus what else shapes the output: a user's ONNX file, the ensemble, the
        thin-hole model."""
        extra = []
        if self.user_onnx is not None:
            extra.append(f"ONNX {self.user_onnx.name}")
        if self.backend == "onnx-int8":
            extra.append("ONNX int8")
        if self.ensemble > 1:
            extra.append(f"x{self.ensemble} ensemble")
        if self.thin is not None:
            extra.append(f"thin holes and rims: {self.thin.spec.name}")
        return f"{self.spec.name} ({', '.join(extra)})" if extra else self.spec.name

    # ------------------------------------------------------------------ tensors
    def _auto_tile(self) -> int:
        scale = self.spec.scale
        bytes_per_px = 1024.0 * (2 + scale * scale / 4)  # activations per input pixel (fp32), measured order
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            budget = free * 0.5
            cap = GPU_MAX_TILE
        else:
            try:
                avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (ValueError, OSError):
                avail = 2 << 30
            budget = min(avail / 4, 1 << 30)
            # small tiles are fastest per pixel for torch on the CPU (not for ORT), but the overlap
            # must stay a small share
            cap = max(ORT_CPU_MAX_TILE if self.backend != "torch" else CPU_MAX_TILE, 6 * self.spec.tile_overlap)
        side = int(math.sqrt(budget / bytes_per_px))
        return max(MIN_TILE * 2, min(cap, side))

    def run_tensor(self, x: torch.Tensor, progress: ProgressFn | None = None, *, precise: bool = False) -> torch.Tensor:
        """Run on ``(1, 3 + extra, H, W)`` float in [0, 1]; returns ``(1, 3, H*s, W*s)`` on the CPU.
        ``precise``: the float32 runner where fp16 was chosen automatically (as for >8-bit images)."""
        if x.ndim != 4 or x.shape[0] != 1:
            raise InvalidInputError(f"expected a (1, C, H, W) tensor, got shape {tuple(x.shape)}")
        spec = self.spec
        tile = self._auto_tile() if self.tile == "auto" else int(self.tile or 0)
        retry = self.device.type == "cuda" and self.tile in ("auto", None)
        tiled = Tiled(self.runners.get(precise), spec.scale, tile, spec.tile_overlap, spec.size_multiple, retry)
        return Ensemble(tiled, self.ensemble)(x, progress)

    # ------------------------------------------------------------------ arrays
    def enhance_rgb(
        self,
        rgb: np.ndarray,
        *,
        mask: np.ndarray | None = None,
        sigma: float | None = None,
        strength: float = 1.0,
        progress: ProgressFn | None = None,
        precise: bool = False,
    ) -> np.ndarray:
        """Enhance a float32 ``(H, W, C)`` array in [0, 1] (C = 1 or 3); returns ``(H*s, W*s, C)``.
        ``precise``: run in float32 where fp16 was chosen automatically (as for >8-bit images)."""
        if rgb.ndim != 3 or rgb.shape[2] not in (1, 3):
            raise InvalidInputError(f"expected an (H, W, 1|3) array, got shape {rgb.shape}")
        channels = rgb.shape[2]
        img = np.repeat(rgb, 3, axis=2) if channels == 1 else rgb
        cond = self.spec.condition
        if cond == "mask":
            if mask is None:
                raise InvalidInputError(f"model {self.spec.name} needs a mask (white = area to fill)")
            if mask.shape[:2] != rgb.shape[:2]:
                raise InvalidInputError(
                    f"mask size {mask.shape[1]}x{mask.shape[0]} does not match image size {rgb.shape[1]}x{rgb.shape[0]}"
                )
            m = mask if mask.ndim == 2 else mask.max(axis=2)
            hole = m > 0.5
            if hole.all():
                raise InvalidInputError("the mask covers the whole image: no pixels are left to fill the hole from")
            arr = self._inpaint(img, hole, progress, precise)
        else:
            x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]
            if cond == "sigma":
                level = estimate_noise_sigma(img) * strength if sigma is None else float(sigma)
                level = float(np.clip(level, 0.0, 75.0))
                x = torch.cat([x, torch.full_like(x[:, :1], level / 255.0)], 1)
            out = self.run_tensor(x, progress, precise=precise)
            arr = out[0].permute(1, 2, 0).numpy()
        if channels == 1:
            arr = arr.mean(axis=2, keepdims=True)
        return np.ascontiguousarray(arr, dtype=np.float32)

    def _inpaint(self, img: np.ndarray, hole: np.ndarray, progress: ProgressFn | None, precise: bool) -> np.ndarray:
        """Fill ``hole`` (bool ``(H, W)``) in ``img`` (``(H, W, 3)``); known pixels are kept exactly.

        With a companion model (``spec.thin_model``), thin holes are first filled by Navier-Stokes so
        that the main pass sees them as known; the main model fills the rest (coarse to fine for deep
        holes, :mod:`enhance.holes`); then the companion fills the thin holes again, and the rim of
        the others ring by ring from the outside in (``holes.rim_rings``), each ring's bounding box
        only. Progress is reported for every pass, coarse ones included (each a share of the count)."""
        if self.thin is None:
            return self._fill(img, hole, progress, precise)
        if holes.hole_depth(hole) <= holes.THIN_DEPTH:  # every part thin: nothing for the main model
            return self.thin._fill(img, hole, progress, precise)
        rings = holes.rim_rings(hole)
        passes = 1 + len(rings)
        img = self.main_fill(img, hole, _stage(progress, 0, passes), precise)
        for k, ring in enumerate(rings):  # the first ring holds the thin holes (depth <= THIN_DEPTH)
            img = self.refill_ring(img, ring, _stage(progress, k + 1, passes), precise)
        return img

    def main_fill(
        self, img: np.ndarray, hole: np.ndarray, progress: ProgressFn | None = None, precise: bool = False
    ) -> np.ndarray:
        """This model's fill of ``hole`` before the companion redoes the rim: the thin parts
        (``holes.thin_parts``) filled by Navier-Stokes, the rest by this model with them as context.
        The thin-hole model is trained on the rings of this fill (``training/rings.py``)."""
        thin = holes.thin_parts(hole)
        rest = hole & ~thin
        img = holes.prefill_ns(img, thin) if thin.any() else img
        return self._fill(img, rest, progress, precise) if rest.any() else np.asarray(img, dtype=np.float32)

    def refill_ring(
        self, img: np.ndarray, ring: np.ndarray, progress: ProgressFn | None = None, precise: bool = False
    ) -> np.ndarray:
        """A copy of ``img`` with ``ring`` (one of ``holes.rim_rings``) filled again by the thin-hole
        model, run on the ring's bounding box plus ``holes.RING_MARGIN`` px only."""
        if self.thin is None:
            raise EnhanceError(f"model {self.spec.name!r} has no thin-hole companion to refill rims with")
        out = np.array(img, dtype=np.float32)
        rows, cols = holes.crop_box(ring, holes.RING_MARGIN)
        out[rows, cols] = self.thin._fill(out[rows, cols], ring[rows, cols], progress, precise)
        return out

    def _fill(self, img: np.ndarray, hole: np.ndarray, progress: ProgressFn | None, precise: bool) -> np.ndarray:
        """This model's own fill of ``hole``: after a Navier-Stokes prefill in one pass
        (``spec.prefill == "ns"``), else with the hole zeroed, coarse to fine."""
        passes = 0

        def fill(rgb: np.ndarray, h: np.ndarray, depth: int) -> np.ndarray:
            nonlocal passes
            passes = max(passes, depth + 1)  # the coarsest pass comes first and knows how many follow
            x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
            t = torch.from_numpy(h.astype(np.float32))[None, None]
            known = x * (1 - t)
            out = self.run_tensor(torch.cat([x if prefilled else known, t], 1),
                                  _stage(progress, passes - 1 - depth, passes), precise=precise)
            return (out * t + known)[0].permute(1, 2, 0).numpy()

        prefilled = self.spec.prefill == "ns"
        if prefilled:
            return fill(holes.prefill_ns(img, hole), hole, 0)
        return holes.fill_coarse_to_fine(fill, img, hole, self.hole_reach)

    def upscale_alpha(self, alpha: np.ndarray) -> np.ndarray:
        """Resize an ``(H, W)`` alpha plane by the model's scale (bicubic, clamped)."""
        s = self.spec.scale
        if s == 1:
            return alpha
        t = torch.from_numpy(np.ascontiguousarray(alpha, dtype=np.float32))[None, None]
        up = F.interpolate(t, scale_factor=s, mode="bicubic", align_corners=False).clamp_(0, 1)
        return up[0, 0].numpy()

    def enhance_image(
        self,
        image: ImageData,
        *,
        mask: np.ndarray | None = None,
        sigma: float | None = None,
        strength: float = 1.0,
        progress: ProgressFn | None = None,
    ) -> ImageData:
        """Enhance an :class:`enhance.io.ImageData`, every frame of a multi-frame one in turn (the
        same mask for each); metadata is carried, alpha is kept."""
        frames = image.frames()
        out = []
        for k, (pixels, alpha) in enumerate(frames):
            # fp16 keeps about 11 bits: a 12/16-bit image (medical, raw scans) runs in float32 unless half was asked for
            done = self.enhance_rgb(pixels, mask=mask, sigma=sigma, strength=strength,
                                    progress=_stage(progress, k, len(frames)), precise=image.bit_depth > 8)
            out.append((done, None if alpha is None else self.upscale_alpha(alpha)))
        return image.with_frames(out)

    def __call__(self, image: Any, *, mask: Any = None, sigma: float | None = None, strength: float = 1.0) -> Any:
        """numpy (HxW or HxWxC; uint8, uint16 or float) or PIL image in, the same type, layout and dtype out."""
        data, info, back = _from_any(image)
        from enhance import io

        mask_arr = io.read_mask(mask)
        out = self.enhance_image(data, mask=mask_arr, sigma=sigma, strength=strength)
        return back(out, info)


def _stage(progress: ProgressFn | None, index: int, count: int) -> ProgressFn | None:
    """``progress`` for pass ``index`` of ``count``: its tiles fill that share of one running count."""
    if progress is None:
        return None

    def report(done: int, total: int) -> None:
        progress(index * total + done, count * total)

    return report


def _from_any(image: Any) -> tuple[Any, Any, Callable[[Any, Any], Any]]:
    from enhance import io

    if isinstance(image, np.ndarray):
        data, info = io.from_array(image)
        return data, info, io.to_array
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        Image = None  # type: ignore[assignment]
    if Image is not None and isinstance(image, Image.Image):
        data, info = io.from_pil(image)
        return data, info, io.to_pil
    raise InvalidInputError(f"expected a numpy array or a PIL image, got {type(image).__name__}")
