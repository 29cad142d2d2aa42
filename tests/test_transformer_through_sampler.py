"""Tests of thermoref.transformer.through_sampler: gradient estimators through one sampled attention row.

Oracles, none of which imports the code under test's formulas: the count vectors against a brute-force filter of
itertools.product; their probabilities against scipy.stats.multinomial.pmf; the expected objective of a
quadratic f against its closed form (mean term plus tr Cov_p(v)/(2K)); the exact gradient against central finite
differences of the enumerated expectation; the moments of each estimator against a brute-force sum over the
scipy pmf of the estimator's definition (module table). Deterministic identities to a few ulps: REINFORCE's
exact mean equals the exact gradient (two different sums: the score form over K draws, the derivative form over
K - 1 draws), straight-through's equals it for linear f and misses it by exactly J(p)^T a/(2K) for the quadratic.
One Monte Carlo test: a chi-square statistic of the sample mean with the exact covariance (alpha = 1e-3), its
power against keys drawn at a 5 % wrong temperature stated and checked by running that bug.
"""

import itertools
from math import comb

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_softmax, softmax

from thermoref.transformer.through_sampler import (
    ROW_ESTIMATORS,
    count_law,
    row_exact_gradient,
    row_gradient_moments,
    row_objective,
    row_sample_gradient,
)

EPS = np.finfo(float).eps
ALPHA = 1e-3
ELL = np.array([0.7, -0.2, 0.1, -1.0])  # (S,) one attention row
VALS = np.array([[1.0, -0.5], [0.3, 0.8], [-1.2, 0.4], [0.5, 1.5]])  # (S, d)
Y = np.array([0.2, -0.1])
W_OUT = np.array([[1.5, -0.7, 0.2], [0.4, 1.1, -1.3]])  # (d, 3) a readout to 3 classes
TARGET = 1


def quad(o):
    return 0.5 * ((o - Y) ** 2).sum(axis=-1)


def quad_grad(o):
    return o - Y


def xent(o):
    """Cross-entropy of class TARGET under softmax(o W_OUT): a small readout."""
    return -log_softmax(o @ W_OUT, axis=-1)[..., TARGET]


def xent_grad(o):
    q = softmax(o @ W_OUT, axis=-1)
    q[..., TARGET] -= 1.0
    return q @ W_OUT.T


C = np.array([0.7, -1.3])


def lin(o):
    return o @ C + 0.25


def lin_grad(o):
    return np.broadcast_to(C, o.shape)


def brute_moments(ell, V, K, f, grad_f, method, baseline=0.0):
    """Oracle: mean and covariance of one draw, summing the estimator's definition over the scipy pmf."""
    p = softmax(ell)
    S = p.size
    ns = np.array([n for n in itertools.product(range(K + 1), repeat=S) if sum(n) == K])  # (M, S)
    pmf = stats.multinomial.pmf(ns, K, p)
    J = np.diag(p) - np.outer(p, p)
    o = ns / K @ V
    if method == "straight_through":
        g = np.array([J @ (V @ gr) for gr in grad_f(o)])
    else:
        g = (f(o) - baseline)[:, None] * (ns - K * p)
    mean = pmf @ g
    cov = sum(w * np.outer(x - mean, x - mean) for w, x in zip(pmf, g))
    return mean, cov


# ------------------------------------------------------------------------------------------- the count law
@pytest.mark.parametrize("S,K", [(1, 3), (2, 1), (3, 4), (4, 5)])
def test_count_vectors_are_all_compositions_and_pmf_is_scipy_multinomial(S, K):
    ell = np.linspace(0.5, -0.5, S)
    counts, pmf = count_law(ell, K)
    brute = {n for n in itertools.product(range(K + 1), repeat=S) if sum(n) == K}
    assert counts.shape == (comb(K + S - 1, S - 1), S) and counts.dtype == np.int64
    assert {tuple(n) for n in counts.tolist()} == brute  # every composition once (sizes equal)
    np.testing.assert_allclose(pmf, stats.multinomial.pmf(counts, K, softmax(ell)), rtol=1e-13)
    assert abs(pmf.sum() - 1.0) < 8 * EPS * counts.shape[0]


def test_masked_keys_are_never_drawn_and_get_zero_gradient():
    ell = np.array([0.3, -np.inf, -0.4, -np.inf, 0.0])
    counts, pmf = count_law(ell, 3)
    assert (counts[:, [1, 3]] == 0).all() and counts.shape == (comb(5, 2), 5)
    np.testing.assert_allclose(pmf, stats.multinomial.pmf(counts[:, [0, 2, 4]], 3, softmax(ell[[0, 2, 4]])),
                               rtol=1e-13)
    V = np.arange(10.0).reshape(5, 2) / 7
    g = row_exact_gradient(ell, V, 3, quad)
    assert g[1] == 0 and g[3] == 0
    np.testing.assert_allclose(g[[0, 2, 4]], row_exact_gradient(ell[[0, 2, 4]], V[[0, 2, 4]], 3, quad),
                               rtol=1e-14, atol=1e-16)


# --------------------------------------------------------------------------- the objective and its gradient
@pytest.mark.parametrize("K", [1, 2, 5])
def test_quadratic_objective_is_mean_term_plus_sampling_error(K):
    p = softmax(ELL)
    m = p @ VALS
    tr_cov = p @ (VALS ** 2).sum(axis=1) - m @ m
    expected = 0.5 * ((m - Y) ** 2).sum() + tr_cov / (2 * K)
    assert abs(row_objective(ELL, VALS, K, quad) - expected) < 16 * EPS * expected


@pytest.mark.parametrize("K", [1, 3, 6])
@pytest.mark.parametrize("f", [quad, xent], ids=["quadratic", "cross-entropy"])
def test_exact_gradient_matches_finite_differences_of_the_expectation(K, f):
    h = 1e-5
    fd = np.array([(row_objective(ELL + h * e, VALS, K, f) - row_objective(ELL - h * e, VALS, K, f)) / (2 * h)
                   for e in np.eye(ELL.size)])
    g = row_exact_gradient(ELL, VALS, K, f)
    # central differences: truncation h^2 |L'''| / 6 ~ 1e-11 and rounding eps |L| / h ~ 1e-11 here
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-9 * np.abs(fd).max())


def test_exact_gradient_at_one_draw_is_the_jacobian_of_the_mean():
    """K = 1: E f = sum_j p_j f(V_j), so the gradient is J(p)^T f(V) (a closed form)."""
    p = softmax(ELL)
    J = np.diag(p) - np.outer(p, p)
    np.testing.assert_allclose(row_exact_gradient(ELL, VALS, 1, xent), J @ xent(VALS), rtol=4 * EPS, atol=4 * EPS)


# ------------------------------------------------------------------------------------------- the estimators
@pytest.mark.parametrize("K", [1, 2, 4, 7])
@pytest.mark.parametrize("baseline", [0.0, 0.9, -3.0])
def test_reinforce_is_unbiased_to_a_few_ulps(K, baseline):
    exact = row_exact_gradient(ELL, VALS, K, xent)
    mean, _ = row_gradient_moments(ELL, VALS, K, xent, xent_grad, method="reinforce", baseline=baseline)
    scale = K * (abs(baseline) + np.abs(xent(VALS)).max())  # size of the summed terms (f - b)(n - Kp)
    np.testing.assert_allclose(mean, exact, rtol=0, atol=32 * EPS * scale)


@pytest.mark.parametrize("K", [1, 3, 8])
def test_straight_through_is_exact_for_linear_f(K):
    exact = row_exact_gradient(ELL, VALS, K, lin)
    mean, cov = row_gradient_moments(ELL, VALS, K, lin, lin_grad, method="straight_through")
    np.testing.assert_allclose(mean, exact, rtol=0, atol=16 * EPS * np.abs(exact).max())
    assert np.abs(cov).max() < 64 * EPS ** 2 * np.abs(exact).max() ** 2 + 1e-30  # a constant estimate


@pytest.mark.parametrize("K", [1, 2, 5, 10])
def test_straight_through_bias_for_the_quadratic_is_exactly_one_over_K(K):
    """Bias = exact - E g_ST = J(p)^T a / (2K), a_j = |V_j|^2 - 2 V_j . pV (the gradient of tr Cov/(2K))."""
    p = softmax(ELL)
    J = np.diag(p) - np.outer(p, p)
    a = (VALS ** 2).sum(axis=1) - 2 * VALS @ (p @ VALS)
    bias = row_exact_gradient(ELL, VALS, K, quad) - \
        row_gradient_moments(ELL, VALS, K, quad, quad_grad, method="straight_through")[0]
    np.testing.assert_allclose(bias, J @ a / (2 * K), rtol=0, atol=64 * EPS)
    assert np.abs(bias).max() > 0.01 / K  # nonzero: ST misses the sampling error's gradient


def test_straight_through_is_biased_for_the_cross_entropy_readout():
    biases = []
    for K in (1, 4, 16, 64):
        exact = row_exact_gradient(ELL, VALS, K, xent)
        st = row_gradient_moments(ELL, VALS, K, xent, xent_grad, method="straight_through")[0]
        biases.append(np.linalg.norm(st - exact))
    assert min(biases) > 1e-4 and biases[0] > biases[1] > biases[2] > biases[3]  # nonzero, shrinking with K


@pytest.mark.parametrize("method", ROW_ESTIMATORS)
def test_moments_match_brute_force_over_the_scipy_pmf(method):
    for K in (1, 3):
        mean, cov = row_gradient_moments(ELL[:3], VALS[:3], K, xent, xent_grad, method=method, baseline=0.4)
        m_ref, c_ref = brute_moments(ELL[:3], VALS[:3], K, xent, xent_grad, method, baseline=0.4)
        np.testing.assert_allclose(mean, m_ref, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(cov, c_ref, rtol=1e-11, atol=1e-15)


def test_baseline_changes_the_variance_not_the_mean():
    b_mean = row_objective(ELL, VALS, 4, xent)
    m0, c0 = row_gradient_moments(ELL, VALS, 4, xent, xent_grad, method="reinforce", baseline=0.0)
    m1, c1 = row_gradient_moments(ELL, VALS, 4, xent, xent_grad, method="reinforce", baseline=b_mean)
    np.testing.assert_allclose(m0, m1, rtol=0, atol=1e-14)
    assert np.trace(c1) < 0.5 * np.trace(c0)


# ------------------------------------------------------------------------------------------------- sampling
def _chi2(draws, mean, cov):
    """n (xbar - mu)^T Cov^+ (xbar - mu): chi-square with rank(Cov) = S - 1 degrees of freedom under the null
    (every estimate is orthogonal to the ones vector: J 1 = 0 and 1.(n - Kp) = 0)."""
    d = draws.mean(axis=0) - mean
    return len(draws) * d @ np.linalg.pinv(cov, rcond=1e-10) @ d


@pytest.mark.parametrize("method", ROW_ESTIMATORS)
def test_sample_mean_matches_exact_moments_and_rejects_a_wrong_temperature(method):
    """Statistic: chi-square of the sample mean of n = 40,000 draws with the exact covariance, df = S - 1 = 3,
    alpha = 1e-3. Bug: keys drawn at logits 1.05 ell (a 5 % temperature error), estimate formula at ell; its
    exact mean shift gives the noncentrality; the stated power is asserted and the bug is run and rejected."""
    K, n, df = 3, 40_000, ELL.size - 1
    mean, cov = row_gradient_moments(ELL, VALS, K, xent, xent_grad, method=method)
    crit = stats.chi2.isf(ALPHA, df)
    draws = row_sample_gradient(ELL, VALS, K, xent, xent_grad, n, method=method, rng=7)
    assert draws.shape == (n, ELL.size)
    assert _chi2(draws, mean, cov) < crit
    # the bug, by the estimator's definition with counts from the wrong law
    p, hot = softmax(ELL), 1.05 * ELL
    J = np.diag(p) - np.outer(p, p)

    def g(ns):
        o = ns / K @ VALS
        return (xent_grad(o) @ VALS.T) @ J if method == "straight_through" else xent(o)[:, None] * (ns - K * p)

    counts, pmf_hot = count_law(hot, K)
    shift = pmf_hot @ g(counts) - mean
    power = stats.ncx2.sf(crit, df, n * shift @ np.linalg.pinv(cov, rcond=1e-10) @ shift)
    assert power > 0.99
    bug = g(np.random.default_rng(8).multinomial(K, softmax(hot), size=n))
    assert _chi2(bug, mean, cov) > crit


def test_same_seed_same_bits_and_counts_sum_to_K():
    a = row_sample_gradient(ELL, VALS, 5, xent, xent_grad, 50, method="straight_through", rng=3)
    b = row_sample_gradient(ELL, VALS, 5, xent, xent_grad, 50, method="straight_through",
                            rng=np.random.default_rng(3))
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a.sum(axis=1), 0.0, atol=1e-15)  # J(p) 1 = 0


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call,message", [
    (lambda: count_law(np.zeros((2, 3)), 2), "logits:"),
    (lambda: count_law([-np.inf, -np.inf], 2), "logits:"),
    (lambda: count_law([0.0, 1.0], 0), "K:"),
    (lambda: count_law(np.zeros(40), 40), "K:"),  # C(79, 39) count vectors: refused before allocating
    (lambda: row_objective(ELL, VALS[:3], 2, quad), "values:"),
    (lambda: row_objective(ELL, VALS, 2, lambda o: np.full(len(o), np.nan)), "f:"),
    (lambda: row_objective(ELL, VALS.astype(complex), 2, quad), "values:"),
    (lambda: row_exact_gradient(ELL, VALS, 2, "quad"), "f:"),
    (lambda: row_gradient_moments(ELL, VALS, 2, quad, quad_grad, method="st"), "method:"),
    (lambda: row_gradient_moments(ELL, VALS, 2, quad, lambda o: o[:, :1] * np.ones(3), method="straight_through"),
     "grad_f:"),
    (lambda: row_gradient_moments(ELL, VALS, 2, quad, quad_grad, method="reinforce", baseline=np.nan),
     "baseline:"),
    (lambda: row_sample_gradient(ELL, VALS, 2, quad, quad_grad, 0, method="reinforce", rng=0), "size:"),
    (lambda: row_sample_gradient(ELL, VALS, 2, quad, quad_grad, 3, method="reinforce", rng=None), "rng:"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert str(err.value).startswith(message)
