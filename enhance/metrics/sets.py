"""Distribution metrics between two sets of feature vectors: FID, KID, precision / recall, density / coverage.

Each function takes ``fake`` (features of the images judged, e.g. a model's outputs) and ``real``
(features of the reference images) as ``(N, D)`` arrays from one feature extractor
(:mod:`enhance.metrics.features`) and computes in float64. The numbers mean something only next to
the extractor's name: FID over Inception-v3 pool features is the published FID; over any other
extractor it is a different quantity with the same formula (the reports say which).

* :func:`fid`: Frechet distance between Gaussians fitted to the two sets (Heusel et al. 2017):
  ``|mu_f - mu_r|^2 + tr(S_f + S_r - 2 (S_f S_r)^(1/2))``, sample covariances (n - 1). 0 for a
  set against itself. Biased upwards for small sets: compare FIDs of sets of the same size only.
* :func:`kid`: kernel inception distance (Binkowski et al. 2018): the unbiased MMD^2 with the
  cubic polynomial kernel ``(x.y / D + 1)^3``, averaged over random subsets; the defaults and the
  random draws are torch-fidelity's (100 subsets of ``min(1000, N_f, N_r)``, seed 2020), so the
  numbers agree with it. Unbiased: about 0 (and may be slightly negative) for independent sets
  from one distribution, whatever their size; a set against itself gives a small negative value
  (the estimator assumes independent sets, and the shared points enter only the cross term).
* :func:`precision_recall`: Kynkaanniemi et al. 2019, k = 3: each set's manifold is the union of
  balls around its points with radius the distance to the point's k-th nearest neighbour; precision
  = the share of fake points inside the real manifold, recall = the share of real points inside
  the fake manifold (``<=``, as their code and torch-fidelity).
* :func:`density_coverage`: Naeem et al. 2020, k = 5, balls around the real points only: density
  = how many real balls hold each fake point, over k, averaged (1 for a set against itself, can
  exceed 1); coverage = the share of real points whose ball holds a fake point (``<``, as their
  ``prdc`` code).

Written here rather than taken from torch-fidelity or torchmetrics because those compute from
images through their own (downloaded) extractors or from torch tensors of one extractor, have no
density / coverage, and add a dependency for some 100 lines; the test suite checks these functions
against torch-fidelity's. The trace term of FID comes from the eigenvalues of the symmetric
``S_r^(1/2) S_f S_r^(1/2)``, which stays real and finite for the rank-deficient covariances of small
sets (where ``scipy.linalg.sqrtm`` returns complex or NaN values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enhance.errors import InvalidInputError

#: Neighbourhood sizes of the papers.
PR_K = 3
DC_K = 5
#: torch-fidelity's KID defaults.
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_SEED = 2020


def _check(fake: np.ndarray, real: np.ndarray, minimum: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(fake, dtype=np.float64)
    r = np.asarray(real, dtype=np.float64)
    if f.ndim != 2 or r.ndim != 2 or f.shape[1] != r.shape[1]:
        raise InvalidInputError(f"{what} needs two (N, D) feature arrays of one D, got {f.shape} and {r.shape}")
    if len(f) < minimum or len(r) < minimum:
        raise InvalidInputError(f"{what} needs at least {minimum} images in each set, got {len(f)} and {len(r)}")
    if not (np.isfinite(f).all() and np.isfinite(r).all()):
        raise InvalidInputError(f"{what}: the features hold NaN or infinite values")
    return f, r


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Frechet distance between the Gaussians ``N(mu1, cov1)`` and ``N(mu2, cov2)`` (>= 0)."""
    root = _sqrt_psd(cov2)
    inner = np.linalg.eigvalsh(root @ cov1 @ root)
    tr_covmean = float(np.sqrt(np.clip(inner, 0.0, None)).sum())
    d = mu1 - mu2
    return max(0.0, float(d @ d + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_covmean))


def fid(fake: np.ndarray, real: np.ndarray) -> float:
    """Frechet distance of the Gaussians fitted to two ``(N, D)`` feature sets (at least 2 each)."""
    f, r = _check(fake, real, 2, "FID")
    return frechet_distance(f.mean(0), np.cov(f, rowvar=False), r.mean(0), np.cov(r, rowvar=False))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    m = len(x)
    off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off - 2.0 * kxy.sum() / (m * m))


@dataclass(frozen=True)
class KID:
    """KID's mean and standard deviation over the subsets, and the subsets' size."""

    mean: float
    std: float
    subset_size: int
    subsets: int


def kid(
    fake: np.ndarray,
    real: np.ndarray,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = KID_SEED,
) -> KID:
    """Kernel inception distance over ``subsets`` random subsets of ``min(subset_size, N_f, N_r)``."""
    f, r = _check(fake, real, 2, "KID")
    size = min(subset_size, len(f), len(r))
    rng = np.random.RandomState(seed)  # torch-fidelity's draws, in its order
    values = np.empty(subsets)
    for i in range(subsets):
        a = f[rng.choice(len(f), size, replace=False)]
        b = r[rng.choice(len(r), size, replace=False)]
        values[i] = _mmd2_unbiased(a, b)
    return KID(float(values.mean()), float(values.std()), size, subsets)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(sq, 0.0, None))


def _radii(x: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Distance of each point of ``x`` to its k-th nearest neighbour in ``x`` (itself excluded)."""
    out = np.empty(len(x))
    for start in range(0, len(x), chunk):
        d = _distances(x[start : start + chunk], x)
        out[start : start + chunk] = np.partition(d, k, axis=1)[:, k]  # column 0 is the point itself
    return out


def _inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, strict: bool,
            chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Per point: how many balls hold it; per ball: whether any point is inside."""
    counts = np.zeros(len(points), dtype=np.int64)
    hit = np.zeros(len(centres), dtype=bool)
    for start in range(0, len(points), chunk):
        d = _distances(points[start : start + chunk], centres)
        inside = d < radii[None, :] if strict else d <= radii[None, :]
        counts[start : start + chunk] = inside.sum(1)
        hit |= inside.any(0)
    return counts, hit


@dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    k: int


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = PR_K) -> PrecisionRecall:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN balls; more than ``k`` points each."""
    f, r = _check(fake, real, k + 1, "precision / recall")
    in_real, _ = _inside(f, r, _radii(r, k), strict=False)
    in_fake, _ = _inside(r, f, _radii(f, k), strict=False)
    return PrecisionRecall(float((in_real > 0).mean()), float((in_fake > 0).mean()), k)


@dataclass(frozen=True)
class DensityCoverage:
    density: float
    coverage: float
    k: int


def density_coverage(fake: np.ndarray, real: np.ndarray, k: int = DC_K) -> DensityCoverage:
    """Density and coverage (Naeem et al. 2020) with k-NN balls around the real points; more than ``k`` each."""
    f, r = _check(fake, real, k + 1, "density / coverage")
    counts, hit = _inside(f, r, _radii(r, k), strict=True)
    return DensityCoverage(float(counts.sum() / (k * len(f))), float(hit.mean()), k)
