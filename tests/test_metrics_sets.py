"""FID, KID, precision / recall and density / coverage (``enhance.metrics.sets``) on synthetic features."""

from __future__ import annotations

import numpy as np
import pytest

from enhance.errors import InvalidInputError
from enhance.metrics import sets


@pytest.fixture(scope="module")
def feats() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 1, (200, 16))


def test_fid_of_a_set_with_itself_is_zero(feats: np.ndarray) -> None:
    assert sets.fid(feats, feats) == pytest.approx(0.0, abs=1e-8)
    assert sets.fid(feats, feats + 0.5) == pytest.approx(16 * 0.25, rel=1e-9)  # a shift adds |shift|^2


def test_frechet_distance_of_known_gaussians() -> None:
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])  # standard deviations
    expected = ((mu1 - mu2) ** 2).sum() + ((s1 - s2) ** 2).sum()  # diagonal covariances
    assert sets.frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2)) == pytest.approx(expected)


def test_fid_of_small_sets_is_finite() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, (5, 64)), rng.normal(0, 1, (7, 64))  # covariances of rank 4 and 6
    value = sets.fid(a, b)
    assert np.isfinite(value) and value > 0


def test_kid_is_about_zero_for_one_distribution_and_grows_with_distortion(feats: np.ndarray) -> None:
    # a set against itself: slightly negative (the shared points enter only the cross term)
    same = sets.kid(feats, feats, subsets=10)
    assert same.subset_size == 200 and -0.1 * sets.kid(feats + 0.5, feats, subsets=10).mean < same.mean <= 0.0
    other = np.random.default_rng(5).normal(0, 1, feats.shape)  # an independent draw: about 0
    base = sets.kid(other, feats, subsets=10).mean
    assert abs(base) < 0.05
    values = [sets.kid(other + shift, feats, subsets=10).mean for shift in (0.2, 0.5, 1.0)]
    assert base < values[0] < values[1] < values[2]


def test_precision_recall_density_coverage_of_identical_sets(feats: np.ndarray) -> None:
    pr = sets.precision_recall(feats, feats)
    assert (pr.precision, pr.recall, pr.k) == (1.0, 1.0, 3)
    dc = sets.density_coverage(feats, feats)
    assert dc.coverage == 1.0 and dc.density == pytest.approx(1.0, abs=0.02) and dc.k == 5


def test_precision_and_recall_separate_quality_from_diversity(feats: np.ndarray) -> None:
    far = feats + 100.0
    pr = sets.precision_recall(far, feats)
    assert pr.precision == 0.0 and pr.recall == 0.0
    collapsed = feats[:10] + 0.01 * np.random.default_rng(2).normal(0, 1, (10, 16))  # few, good samples
    pr = sets.precision_recall(np.repeat(collapsed, 20, axis=0), feats)
    assert pr.precision > 0.9 and pr.recall < 0.3
    dc = sets.density_coverage(np.repeat(collapsed, 20, axis=0), feats)
    assert dc.coverage < 0.3


def test_errors(feats: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match="at least 4"):
        sets.precision_recall(feats[:3], feats)
    with pytest.raises(InvalidInputError, match="one D"):
        sets.fid(feats, feats[:, :8])
    with pytest.raises(InvalidInputError, match="NaN"):
        sets.fid(np.full((4, 16), np.nan), feats)


def test_against_torch_fidelity(feats: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch_fidelity")
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    rng = np.random.default_rng(3)
    fake = rng.normal(0.2, 1.1, (150, 16))
    tf, tr = torch.from_numpy(fake), torch.from_numpy(feats)
    theirs = fid_statistics_to_metric(fid_features_to_statistics(tf), fid_features_to_statistics(tr), False)
    assert sets.fid(fake, feats) == pytest.approx(theirs["frechet_inception_distance"], rel=1e-9)
    k = kid_features_to_metric(tf, tr, kid_subsets=50, kid_subset_size=100, verbose=False)
    ours = sets.kid(fake, feats, subsets=50, subset_size=100)
    assert ours.mean == pytest.approx(k["kernel_inception_distance_mean"], rel=1e-9)
    assert ours.std == pytest.approx(k["kernel_inception_distance_std"], rel=1e-9)
    p = prc_features_to_metric(tf, tr, verbose=False)
    pr = sets.precision_recall(fake, feats)
    assert (pr.precision, pr.recall) == pytest.approx((p["precision"], p["recall"]))
