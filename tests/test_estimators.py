"""Tests of thermoref.estimators: gradient estimators through a Bernoulli(sigmoid(theta)) bit.

Oracles: the exact gradient sigma'(theta)(f(1) - f(0)) checked against a central finite difference of the
closed-form expectation; Monte-Carlo means of each estimator against its exact expectation by a z-test with
the sample standard error (CLT, many independent draws, alpha = 1e-3 per check); Gumbel-sigmoid expectation
against scipy.integrate.quad.
"""

import numpy as np
import pytest
from scipy import integrate, special

from thermoref.estimators import ESTIMATORS, exact_gradient, expected_gradient, sample_gradient
from thermoref.testing import z_test


def f(x):
    return (x - 0.3) ** 2


def df(x):
    return 2 * (x - 0.3)


THETA = np.array([-2.0, 0.0, 1.5])


def test_exact_gradient_is_the_derivative_of_the_expectation():
    def L(t):
        s = special.expit(t)
        return s * f(1.0) + (1 - s) * f(0.0)

    h = 1e-5
    fd = (L(THETA + h) - L(THETA - h)) / (2 * h)
    np.testing.assert_allclose(exact_gradient(THETA, f), fd, rtol=1e-8)


@pytest.mark.parametrize("method", ESTIMATORS)
def test_monte_carlo_mean_matches_expected_gradient(method):
    """z = (mean - E g)/se over 100000 draws per theta; three thetas, each a two-sided z-test at 1e-3."""
    g = sample_gradient(THETA, f, df, 100_000, method=method, rng=11, tau=0.3)
    expected = expected_gradient(THETA, f, df, method=method, tau=0.3)
    for k in range(THETA.size):
        assert z_test(g[k].mean(), expected[k], g[k].std(ddof=1) / np.sqrt(g.shape[1])).passed


def test_reinforce_is_unbiased_for_any_baseline():
    for c in (0.0, 0.5, -3.0):
        np.testing.assert_allclose(expected_gradient(THETA, f, df, method="reinforce", baseline=c), exact_gradient(THETA, f), rtol=1e-14, atol=1e-16)


def test_straight_through_is_biased_and_sigmoid_scaling_fixes_only_linear_f():
    exact = exact_gradient(THETA, f)
    st = expected_gradient(THETA, f, df, method="st_identity")
    sts = expected_gradient(THETA, f, df, method="st_sigmoid")
    assert (np.abs(st - exact) > 0.1).all()
    assert np.abs(sts - exact)[[0, 2]].min() > 0.05 and abs(sts[1] - exact[1]) < 1e-15  # exact only at sigma = 1/2
    lin, dlin = (lambda x: 3 * x), (lambda x: 3 + 0 * x)
    np.testing.assert_allclose(expected_gradient(THETA, lin, dlin, method="st_sigmoid"), exact_gradient(THETA, lin), rtol=1e-14)
    # power: the Monte-Carlo z-test of ST-identity against the TRUE gradient rejects
    g = sample_gradient(THETA, f, df, 20_000, method="st_identity", rng=3)
    assert z_test(g[0].mean(), exact[0], g[0].std(ddof=1) / np.sqrt(20_000)).reject


def test_gumbel_sigmoid_expectation_against_quad_and_its_bias_vanishing_with_tau():
    for tau in (1.0, 0.3, 0.05):
        for t in THETA:
            def integrand(l):
                x = special.expit((t + l) / tau)
                return df(x) * x * (1 - x) / tau * special.expit(l) * special.expit(-l)

            ref, _ = integrate.quad(integrand, -60, 60, points=[-t], limit=200, epsabs=1e-13)
            assert abs(expected_gradient(t, f, df, method="gumbel_sigmoid", tau=tau) - ref) < 1e-10
    bias = [np.abs(expected_gradient(THETA, f, df, method="gumbel_sigmoid", tau=tau) - exact_gradient(THETA, f)).max() for tau in (1.0, 0.3, 0.1, 0.03)]
    assert all(a > b for a, b in zip(bias, bias[1:])) and bias[0] > 0.03


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        expected_gradient(0.0, f, df, method="st")
    with pytest.raises(ValueError, match="tau"):
        sample_gradient(0.0, f, df, 10, method="gumbel_sigmoid", rng=0, tau=0.0)
    with pytest.raises(ValueError, match="theta"):
        exact_gradient(np.nan, f)
    with pytest.raises(TypeError, match="rng"):
        sample_gradient(0.0, f, df, 10, method="reinforce", rng=None)
