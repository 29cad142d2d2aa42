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


# --------------------------------------------------- the Gumbel-sigmoid expectation over every temperature
@pytest.mark.parametrize("tau", [1e-6, 1e-3, 10.0, 11.0, 1e2, 1e4])
def test_gumbel_sigmoid_expectation_far_from_unit_tau_against_quad(tau):
    """Oracle: 30-digit tanh-sinh quadrature (mpmath) of E g, in whichever variable is smooth.

    E g = int f'(s(y)) s'(y) rho(tau y - theta) dy = int f'(s(u)) s'(u)/tau rho(l) dl, u = (theta + l)/tau,
    rho = s' the logistic density. The trapezoid rule integrates over y up to tau = 10 and over l above;
    the docstring states an absolute error below 1e-15 (measured: 9e-16 at tau = 1e-3).
    """
    mp = pytest.importorskip("mpmath")
    sig = lambda z: 1 / (1 + mp.exp(-z))  # noqa: E731
    ds = lambda z: sig(z) * (1 - sig(z))  # noqa: E731
    with mp.workdps(30):
        for t in THETA:
            if tau < 1:
                ref = mp.quad(lambda y: df(sig(y)) * ds(y) * ds(tau * y - t), [-mp.inf, -20, 0, 20, mp.inf])
            else:
                ref = mp.quad(lambda l: df(sig((t + l) / tau)) * ds((t + l) / tau) / tau * ds(l),
                              [-mp.inf, -t - 20, -t, -t + 20, mp.inf])
            assert abs(expected_gradient(t, f, df, method="gumbel_sigmoid", tau=tau) - float(ref)) < 1e-15


def test_gumbel_sigmoid_limits_exact_gradient_as_tau_to_0_and_zero_as_tau_to_inf():
    # tau -> 0: E g -> sigma'(theta)(f(1) - f(0)), with an O(tau) bias; tau = 5e-324 is the limit itself.
    np.testing.assert_allclose(expected_gradient(THETA, f, df, method="gumbel_sigmoid", tau=5e-324),
                               exact_gradient(THETA, f), rtol=1e-13)
    # tau -> inf: E g ~ f'(1/2)/(4 tau) -> 0 (f'(1/2) = 0.4 here), to first order in 1/tau
    for tau in (1e6, 1e300):
        np.testing.assert_allclose(expected_gradient(THETA, f, df, method="gumbel_sigmoid", tau=tau), 0.1 / tau,
                                   rtol=1e-5)
    at_1e308 = expected_gradient(THETA, f, df, method="gumbel_sigmoid", tau=1e308)  # 1e-309: subnormal, >= 0
    assert (at_1e308 >= 0).all() and (at_1e308 < 1e-307).all()


# ------------------------------------------------------------------ user functions are checked (regression)
def _nan(x):
    return np.full(np.shape(x), np.nan)


@pytest.mark.parametrize("method", ESTIMATORS)
def test_a_nan_returning_objective_is_named_not_propagated(method):  # regression: returned NaN silently
    uses = "f" if method == "reinforce" else "df"
    bad = {"f": _nan, "df": df} if uses == "f" else {"f": f, "df": _nan}
    with pytest.raises(ValueError, match=f"^{uses}: returned NaN"):
        sample_gradient(THETA, bad["f"], bad["df"], 8, method=method, rng=0)
    with pytest.raises(ValueError, match=f"^{uses}: returned NaN"):
        expected_gradient(THETA, bad["f"], bad["df"], method=method)
    with pytest.raises(ValueError, match="^f: returned NaN"):
        exact_gradient(THETA, _nan)
    with pytest.raises(TypeError, match="^df: expected a callable"):
        sample_gradient(THETA, f, None, 8, method=method, rng=0)
    with pytest.raises(ValueError, match="^f: returned shape"):
        exact_gradient(THETA, lambda x: np.zeros(7))


def test_scalar_arguments_given_arrays_name_the_parameter():  # regression: failed inside float()
    with pytest.raises(ValueError, match="^tau: expected a single real number"):
        expected_gradient(THETA, f, df, method="gumbel_sigmoid", tau=np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="^baseline: expected a single real number"):
        sample_gradient(THETA, f, df, 4, method="reinforce", rng=0, baseline=np.zeros(2))
    with pytest.raises(ValueError, match="^size: the result would need"):
        sample_gradient(THETA, f, df, 2**62, method="reinforce", rng=0)
