"""Task objects: what one model does with an image, composed over a run of that model.

A *run* (:data:`Run`) is a runner already tiled and self-ensembled (:class:`enhance.tiling.Tiled`,
:class:`enhance.ensemble.Ensemble`): ``(1, C, H, W)`` float in [0, 1] in, ``(1, 3, H*s, W*s)`` out,
at the precision chosen for the image (the runner, not a flag). A task builds the network's input
from an ``(H, W, 3)`` float32 image in [0, 1], runs it and returns ``(H*s, W*s, 3)``. There is one
task per kind of input, each with its own call signature:

- :class:`Upscale`: the image alone (``condition="none"``);
- :class:`Denoise`: the image and a noise-level channel (``condition="sigma"``);
- :class:`Inpaint`: the image and a hole (``condition="mask"``), filled coarse to fine, with an
  optional thin-hole companion.

:class:`enhance.engine.Enhancer` builds the task of its model (by ``spec.condition``) for each image
and adds what is not the model's: grayscale, alpha, frames, numpy / PIL conversion.
"""

from __future__ import annotations

from enhance.tasks.base import Run, stage
from enhance.tasks.denoise import Denoise, estimate_noise_sigma
from enhance.tasks.inpaint import Inpaint, companion_spec
from enhance.tasks.upscale import Upscale

#: a task object, one of the kinds above
ImageTask = Upscale | Denoise | Inpaint


__all__ = [
    "Denoise",
    "ImageTask",
    "Inpaint",
    "Run",
    "Upscale",
    "companion_spec",
    "estimate_noise_sigma",
    "stage",
]
