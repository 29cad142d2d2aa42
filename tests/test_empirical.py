"""Tests of thermoref.empirical: error laws of empirical frequencies.

Oracles: exhaustive enumeration of all multinomial count vectors (scipy.stats.multinomial pmf) for small
(n, K); inclusion–exclusion over all subsets for P(all seen) at small n; the coupon-collector sum for the
uniform law; a Monte-Carlo z-test (many independent replicates, CLT, alpha = 1e-3) for a larger case.
"""

import itertools
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy import stats

from thermoref.empirical import (
    expected_reverse_kl,
    expected_squared_error,
    kl_divergence,
    prob_all_seen,
    reverse_kl_asymptote,
    squared_error,
)
from thermoref.testing import z_test


def all_count_vectors(n, K):
    """Every (x_1..x_n) with x_i >= 0 and sum K, by stars and bars."""
    out = []
    for bars in itertools.combinations(range(K + n - 1), n - 1):
        edges = (-1,) + bars + (K + n - 1,)
        out.append([edges[i + 1] - edges[i] - 1 for i in range(n)])
    return np.array(out)


@pytest.mark.parametrize("p, K", [([0.5, 0.3, 0.2], 6), ([0.7, 0.1, 0.1, 0.1], 5), ([0.25] * 4, 9)])
def test_error_laws_against_exact_multinomial_enumeration(p, K):
    p = np.array(p)
    x = all_count_vectors(p.size, K)  # (states, n)
    w = stats.multinomial.pmf(x, K, p)
    assert abs(w.sum() - 1) < 1e-12
    p_hat = x / K
    se = np.sum(w * np.sum((p_hat - p) ** 2, axis=1))
    np.testing.assert_allclose(expected_squared_error(p, K), se, rtol=1e-12)
    with np.errstate(divide="ignore"):
        rkl = np.sum(w * np.sum(np.where(x > 0, p_hat * np.log(np.where(x > 0, p_hat / p, 1.0)), 0.0), axis=1))
    np.testing.assert_allclose(expected_reverse_kl(p, K), rkl, rtol=1e-11)
    np.testing.assert_allclose(prob_all_seen(p, K), np.sum(w[(x > 0).all(axis=1)]), rtol=0, atol=1e-13)


def inclusion_exclusion(p, K):
    n = len(p)
    return sum((-1) ** r * (1 - sum(p[list(S)])) ** K for r in range(n + 1) for S in itertools.combinations(range(n), r))


@pytest.mark.parametrize("n, K", [(3, 2), (5, 10), (8, 30), (10, 100), (12, 400)])
def test_prob_all_seen_against_inclusion_exclusion(n, K):
    p = np.random.default_rng(n).dirichlet(np.ones(n))
    assert abs(prob_all_seen(p, K) - inclusion_exclusion(p, K)) < 1e-12


@pytest.mark.parametrize("n, K", [(20, 60), (200, 1500)])
def test_prob_all_seen_uniform_is_the_coupon_collector(n, K):
    """Exact integer arithmetic: P = sum_j (-1)^j C(n,j) (n-j)^K / n^K. Stated FFT error ~ n sqrt(K) eps."""
    exact = Fraction(sum((-1) ** j * comb(n, j) * (n - j) ** K for j in range(n + 1)), n**K)
    assert abs(prob_all_seen(np.full(n, 1 / n), K) - float(exact)) < n * np.sqrt(K) * np.finfo(float).eps


def test_prob_all_seen_edge_cases():
    assert abs(prob_all_seen([1.0], 1) - 1.0) < 1e-15
    assert prob_all_seen([0.5, 0.5, 0.0], 1) == 0.0  # fewer draws than categories
    assert abs(prob_all_seen([0.5, 0.5, 0.0], 4) - (1 - 2 * 0.5**4)) < 1e-13  # p = 0 category ignored


def test_squared_error_monte_carlo_z():
    """z-test of the mean of ||p_hat - p||^2 over R = 4000 independent replicates against the exact expectation
    (statistic: (mean - expected) / standard error; null: standard normal by the CLT; alpha = 1e-3).

    Sized for the commonly quoted shortcut 1/K, which drops the factor 1 - sum p^2 (sum p^2 = 0.033 here, a
    relative error of 3.3 %): the normal power is Phi(delta / se - z_{1 - alpha/2}) = 1 - 5e-7 with
    delta / se = 8.2 (1,877 replicates give 0.99; measured over 200 seeds: 1.0). Power check: the same mean,
    same seed, against 1/K is rejected.
    """
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(50))
    K, R = 200, 4000
    p_hat = rng.multinomial(K, p, size=R) / K
    e = squared_error(p_hat, p)
    se = e.std(ddof=1) / np.sqrt(R)
    assert z_test(e.mean(), expected_squared_error(p, K), se).passed
    assert z_test(e.mean(), 1.0 / K, se).reject


def test_reverse_kl_approaches_chi_square_asymptote_only_for_large_K_pmin():
    """Below the asymptote for K p_min << 1, ABOVE it near K p_min ~ 1 (not a bound), within 1 % at 400."""
    p = np.array([0.9, 0.05, 0.03, 0.02])
    ratio = {K: expected_reverse_kl(p, K) / reverse_kl_asymptote(p, K) for K in (5, 50, 20_000)}
    assert ratio[5] < 0.7  # K p_min = 0.1
    assert ratio[50] > 1.1  # K p_min = 1
    assert abs(ratio[20_000] - 1) < 1e-2  # K p_min = 400


def test_kl_divergence_infinite_for_unseen_category_never_clamped():
    p = np.array([0.5, 0.3, 0.2])
    p_hat = np.array([0.6, 0.4, 0.0])
    assert kl_divergence(p, p_hat) == np.inf
    assert np.isfinite(kl_divergence(p_hat, p))
    np.testing.assert_allclose(kl_divergence(p_hat, p), 0.6 * np.log(0.6 / 0.5) + 0.4 * np.log(0.4 / 0.3), rtol=1e-15)
    np.testing.assert_array_equal(kl_divergence(np.stack([p, p]), np.stack([p, p_hat])), [0.0, np.inf])


def test_bad_input():
    with pytest.raises(ValueError, match="p"):
        expected_squared_error([0.5, 0.6], 3)
    with pytest.raises(ValueError, match="^n_samples:"):
        prob_all_seen([0.5, 0.5], 0)
    with pytest.raises(ValueError, match="q"):
        kl_divergence([0.5, 0.5], [0.5, np.nan])
    with pytest.raises(ValueError, match="p"):
        expected_reverse_kl([[0.5, 0.5]], 3)


# ----------------------------------------------------------------------------- huge K and bad shapes
def test_expected_reverse_kl_refuses_a_count_grid_that_cannot_fit():  # regression: int64 max returned 0.0
    with pytest.raises(ValueError, match="^n_samples: the result would need"):
        expected_reverse_kl([0.5, 0.5], 2**63 - 1)


def test_prob_all_seen_at_huge_K_is_one_minus_the_union_bound_or_refused():
    # n = 2: P(all seen) = 1 - p1^K - p2^K exactly (inclusion-exclusion has no further term). With
    # K p_min = 25, the complement 2.8e-11 is far below 1e-9: the answer 1 - u is exact to rounding.
    mp = pytest.importorskip("mpmath")
    p2 = 1e-10
    K = 250_000_000_000
    with mp.workdps(40):
        exact = 1 - mp.mpf(p2) ** K - (1 - mp.mpf(p2)) ** K
    assert abs(prob_all_seen([1 - p2, p2], K) - float(exact)) < 2 * np.finfo(float).eps
    assert prob_all_seen([0.5, 0.5], 2**63 - 1) == 1.0
    with pytest.raises(ValueError, match="^n_samples: the result would need"):  # complement 0.33: no shortcut is exact
        prob_all_seen([1 - 1e-12, 1e-12], 2**40)


def test_mismatched_shapes_name_a_parameter():
    with pytest.raises(ValueError, match="^q: shape"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="^p: shape"):
        squared_error([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="^p: the last axis"):
        expected_squared_error(np.zeros((3, 0)), 4)
