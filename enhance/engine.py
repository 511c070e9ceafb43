"""The inference engine: an :class:`Enhancer` runs one model on images of any size.

Contract of the network it wraps (see :class:`enhance.spec.ModelSpec`): input ``(1, 3 + extra, H, W)``
float32 in [0, 1], output ``(1, 3, H*scale, W*scale)``. The Enhancer is a facade over the parts that
do the work: a runner from :func:`enhance.runners.make_runners` (pads to the size multiple, runs,
clamps, crops; PyTorch or ONNX Runtime, fp16 or fp32), wrapped in :class:`enhance.tiling.Tiled` and
:class:`enhance.ensemble.Ensemble`; and the task object of the model (:mod:`enhance.tasks`:
:class:`~enhance.tasks.Upscale`, :class:`~enhance.tasks.Denoise` with its noise-level channel,
:class:`~enhance.tasks.Inpaint` with its hole filling). What it adds is not the model's: grayscale
images are run as RGB and averaged back to one channel; alpha is upscaled separately (bicubic) and
never dropped; frames, numpy and PIL. Everything here is deterministic.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from enhance import holes
from enhance.devices import resolve_device
from enhance.ensemble import ENSEMBLE_SIZES, Ensemble, check_ensemble
from enhance.ensemble import view as _view
from enhance.errors import InvalidInputError
from enhance.runners import BACKENDS, Runners, make_runners
from enhance.spec import ModelSpec
from enhance.tasks import Denoise, ImageTask, Inpaint, Run, Upscale, companion_spec, estimate_noise_sigma, stage
from enhance.tiling import ProgressFn, Tiled

if TYPE_CHECKING:
    from enhance.io import ImageData

MIN_TILE = 32
__all__ = ["BACKENDS", "ENSEMBLE_SIZES", "Enhancer", "ProgressFn", "estimate_noise_sigma", "resolve_device"]
CPU_MAX_TILE = 256  # larger CPU tiles are slower per pixel (cache), measured on 2 cores
# ONNX Runtime is the other way round: int8 runs faster with 512 px tiles than with 256 px on the
# CPU (benchmarks/results/export.md)
ORT_CPU_MAX_TILE = 512
GPU_MAX_TILE = 1024


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
    settings; set ``thin = None`` to fill everything with the main model (:class:`enhance.tasks.Inpaint`).
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
        thin = companion_spec(spec)
        self.thin: Enhancer | None = None if thin is None else Enhancer(
            thin, device=self.device, tile=tile, half=half, backend=backend, ensemble=ensemble)

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

    def run(self, precise: bool = False) -> Run:
        """The model tiled and ensembled, on the runner for an image (``precise``: the float32 one
        where fp16 was chosen automatically, as for >8-bit images). The tile is chosen at each call."""

        def run(x: torch.Tensor, progress: ProgressFn | None = None) -> torch.Tensor:
            spec = self.spec
            tile = self._auto_tile() if self.tile == "auto" else int(self.tile or 0)
            retry = self.device.type == "cuda" and self.tile in ("auto", None)
            tiled = Tiled(self.runners.get(precise), spec.scale, tile, spec.tile_overlap, spec.size_multiple, retry)
            return Ensemble(tiled, self.ensemble)(x, progress)

        return run

    def run_tensor(self, x: torch.Tensor, progress: ProgressFn | None = None, *, precise: bool = False) -> torch.Tensor:
        """Run on ``(1, 3 + extra, H, W)`` float in [0, 1]; returns ``(1, 3, H*s, W*s)`` on the CPU."""
        if x.ndim != 4 or x.shape[0] != 1:
            raise InvalidInputError(f"expected a (1, C, H, W) tensor, got shape {tuple(x.shape)}")
        return self.run(precise)(x, progress)

    def task(self, precise: bool = False) -> ImageTask:
        """The task object of this model (by ``spec.condition``) over :meth:`run`; an inpainter gets
        ``thin``'s own fill as its companion and ``hole_reach``."""
        run = self.run(precise)
        if self.spec.condition == "sigma":
            return Denoise(self.spec, run)
        if self.spec.condition != "mask":
            return Upscale(self.spec, run)
        thin = None if self.thin is None else Inpaint(self.thin.spec, self.thin.run(precise), reach=self.thin.hole_reach)
        return Inpaint(self.spec, run, thin=thin, reach=self.hole_reach)

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
        ``mask`` is for inpainters, ``sigma`` / ``strength`` for denoisers; ``precise``: run in
        float32 where fp16 was chosen automatically (as for >8-bit images)."""
        if rgb.ndim != 3 or rgb.shape[2] not in (1, 3):
            raise InvalidInputError(f"expected an (H, W, 1|3) array, got shape {rgb.shape}")
        grey = rgb.shape[2] == 1
        img = np.repeat(rgb, 3, axis=2) if grey else rgb
        task = self.task(precise)
        if isinstance(task, Inpaint):
            arr = task(img, mask, progress)
        elif isinstance(task, Denoise):
            arr = task(img, sigma=sigma, strength=strength, progress=progress)
        else:
            arr = task(img, progress)
        if grey:
            arr = arr.mean(axis=2, keepdims=True)
        return np.ascontiguousarray(arr, dtype=np.float32)

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
                                    progress=stage(progress, k, len(frames)), precise=image.bit_depth > 8)
            out.append((done, None if alpha is None else self.upscale_alpha(alpha)))
        return image.with_frames(out)

    def __call__(self, image: Any, *, mask: Any = None, sigma: float | None = None, strength: float = 1.0) -> Any:
        """numpy (HxW or HxWxC; uint8, uint16 or float) or PIL image in, the same type, layout and dtype out."""
        data, info, back = _from_any(image)
        from enhance import io

        mask_arr = io.read_mask(mask)
        out = self.enhance_image(data, mask=mask_arr, sigma=sigma, strength=strength)
        return back(out, info)


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
