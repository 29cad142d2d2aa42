"""Tests of thermoref.mcmc against the AR(1) process, whose autocorrelation is known in closed form.

x_t = a x_{t-1} + e_t has rho(t) = a^t and, in the project's convention tau_int = 1 + 2 sum_{t>=1} rho(t),
tau_int = (1 + a) / (1 - a) (exactly 1 for independent draws); the standard error of the mean of N steps is
sqrt(tau_int Var(x) / N) asymptotically. Chains start in the stationary law (x_0 ~ N(0, 1/(1-a^2))) so there is
no burn-in. Statistical comparisons are z-scores against the estimators' own stated (Madras-Sokal) errors, at
|z| < 3.3 (two-sided alpha = 1e-3 per comparison), plus the window's truncation bias where stated.
"""

import warnings

import numpy as np
import pytest
from scipy.signal import lfilter

from thermoref.mcmc import (
    autocorrelation,
    blocking,
    integrated_autocorrelation_time,
    integrated_autocorrelation_times,
    mean_and_error,
)


def ar1(a, n_steps, n_chains, seed):
    """AR(1) chains (n_steps, n_chains); ``a`` may be one coefficient per chain."""
    a = np.broadcast_to(np.asarray(a, dtype=float), (n_chains,))
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n_steps, n_chains))
    e[0] /= np.sqrt(1 - a**2)  # stationary start
    return np.stack([lfilter([1.0], [1.0, -ak], e[:, k]) for k, ak in enumerate(a)], axis=1)  # (n_steps, n_chains)


def ar1_tau(a):
    return (1 + a) / (1 - a)


# --------------------------------------------------------------------------------------- pooled estimate
@pytest.mark.parametrize("a", [0.0, 0.5, 0.9])
def test_integrated_autocorrelation_time_of_ar1(a):
    x = ar1(a, 20_000, 16, seed=1)
    r = integrated_autocorrelation_time(x)
    tau = ar1_tau(a)
    # Sokal's window W >= 5 tau truncates a tail of relative size a^W / (1 - a) < e^{-5}: a bias below 1 %
    assert r.converged and r.window >= 5 * r.tau
    assert abs(r.tau - tau) < 3.3 * r.std_error + 0.01 * tau


def test_missing_factor_two_is_rejected():
    """Power check: Sokal's 1/2 + sum rho (half the project's tau) is rejected by the same statistic."""
    a = 0.5
    r = integrated_autocorrelation_time(ar1(a, 20_000, 16, seed=1))
    assert abs(r.tau - 0.5 * ar1_tau(a)) > 10 * r.std_error


def test_autocorrelation_of_ar1_is_geometric():
    a = 0.7
    x = ar1(a, 50_000, 8, seed=2)
    rho = autocorrelation(x)
    assert rho[0] == 1.0
    # standard error of rho(t) for t small is about sqrt((1 + a^2) / (1 - a^2) / N) < 0.0025 here
    np.testing.assert_allclose(rho[:6], a ** np.arange(6), rtol=0, atol=0.01)


def test_blocking_and_mean_error_match_the_exact_standard_error():
    a = 0.8
    n_steps, n_chains = 2**14, 8
    x = ar1(a, n_steps, n_chains, seed=3)
    exact_se = np.sqrt(ar1_tau(a) / (1 - a**2) / (n_steps * n_chains))  # sqrt(tau Var / N), Var = 1/(1-a^2)
    b = blocking(x)
    assert abs(b.std_error - exact_se) < 0.15 * exact_se  # plateau error ~ 1/sqrt(2 n_blocks) ~ 5 %
    assert b.std_errors[0] < 0.5 * exact_se  # naive error ignores the correlation: 3x too small
    mean, se = mean_and_error(x)
    assert abs(se - exact_se) < 0.1 * exact_se  # tau's relative error ~ 3 %, so se's ~ 1.5 %
    assert abs(se - exact_se / np.sqrt(2)) > 0.2 * exact_se  # a tau off by the factor 2 would fail
    assert abs(mean) < 3.3 * exact_se
    assert mean_and_error(np.full((10, 3), 0.1)) == (0.1, 0.0)


def test_independent_draws_have_tau_one():
    x = np.random.default_rng(4).standard_normal((10_000, 4))
    r = integrated_autocorrelation_time(x)
    assert abs(r.tau - 1.0) < 3.3 * r.std_error


# ------------------------------------------------------------------------------------ per-series estimate
def test_per_series_times_of_ar1_with_different_coefficients():
    """Rows with a = 0, 0.5, 0.8, 0.9 (tau = 1, 3, 9, 19), 8 series each of 50k steps, all in one call.

    Each row's mean over its 8 series is compared with its closed form at 3.3 standard errors of that mean
    (Madras-Sokal per series, ~tau sqrt(2 (2W+1) / n) with W ~ 5 tau, divided by sqrt(8)) plus a 1 % window bias.
    """
    a = np.repeat([0.0, 0.5, 0.8, 0.9], 8)
    n = 50_000
    x = ar1(a, n, a.size, seed=5)  # (n, 32)
    tau = integrated_autocorrelation_times(x)  # (32,)
    assert tau.shape == (32,)
    exact = ar1_tau(a)
    se = exact * np.sqrt(2 * (2 * 5 * exact + 1) / n) / np.sqrt(8)
    means = tau.reshape(4, 8).mean(axis=1)
    assert np.all(np.abs(means - exact[::8]) < 3.3 * se[::8] + 0.01 * exact[::8]), means
    assert np.all(np.abs(means - 0.5 * exact[::8])[1:] > 10 * se[8::8])  # Sokal's half would be rejected


def test_per_series_time_is_the_pooled_estimator_on_one_series():
    """One estimator, two reductions: on a single series the two functions agree to a few ulps (the means are
    summed along different axes, so they round differently)."""
    x = ar1(0.7, 3000, 5, seed=6)
    per = integrated_autocorrelation_times(x)  # (5,)
    one = [integrated_autocorrelation_time(x[:, k]).tau for k in range(5)]
    np.testing.assert_array_max_ulp(per, np.array(one), maxulp=4)


def test_per_series_axis_and_shape():
    x = ar1(0.5, 1000, 6, seed=7).reshape(1000, 2, 3)  # (n, 2, 3)
    tau = integrated_autocorrelation_times(x)
    assert tau.shape == (2, 3)
    np.testing.assert_array_equal(integrated_autocorrelation_times(np.moveaxis(x, 0, -1), axis=-1), tau)
    np.testing.assert_array_equal(integrated_autocorrelation_times(np.moveaxis(x, 0, 1), axis=1), tau)
    assert integrated_autocorrelation_times(x[:, 0, 0]).shape == ()


def test_constant_series_has_tau_one():
    """Documented rule: a constant series (no information on mixing) returns exactly 1.0, next to others."""
    x = np.random.default_rng(8).standard_normal((400, 3))
    x[:, 1] = 0.1  # 0.1 is not exact in binary: its mean carries rounding, the rule must not see it
    tau = integrated_autocorrelation_times(x)
    # independent draws: tau = 1 within 3.3 Madras-Sokal errors, sqrt(2 (2W + 1) / n) with W ~ 5
    assert tau[1] == 1.0 and np.all(np.abs(tau[[0, 2]] - 1) < 3.3 * np.sqrt(2 * 11 / 400))
    assert integrated_autocorrelation_times(np.ones((10, 2))).tolist() == [1.0, 1.0]
    assert integrated_autocorrelation_times(np.ones((2, 10)), axis=1).tolist() == [1.0, 1.0]


def test_bad_input():
    with pytest.raises(ValueError, match="x"):
        autocorrelation(np.ones((100, 2)))
    with pytest.raises(ValueError, match="x"):
        autocorrelation(np.full((100, 2), 0.1))
    with pytest.raises(ValueError, match="x"):
        integrated_autocorrelation_time([1.0, 2.0])
    with pytest.raises(ValueError, match="x"):
        autocorrelation(np.full(10, np.nan))
    with pytest.raises(ValueError, match="c"):
        integrated_autocorrelation_time(np.arange(10.0), c=0)
    with pytest.raises(ValueError, match="x"):
        integrated_autocorrelation_times(np.zeros(1))
    with pytest.raises(ValueError, match="x"):
        integrated_autocorrelation_times(np.array([[0.0, np.inf], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="c"):
        integrated_autocorrelation_times(np.arange(10.0), c=-1.0)
    with pytest.raises(ValueError, match="axis"):
        integrated_autocorrelation_times(np.zeros((5, 5)), axis=2)


# ------------------------------------------------------------------------- extreme scales, valid limits
@pytest.mark.parametrize("k", [-900, -600, 600, 1000])
def test_estimates_are_exactly_scale_invariant_at_extreme_scales(k):
    """Regression: series near 1e308 overflowed in their mean and squares (RuntimeWarning, then inf or NaN) and
    series near 1e-270 underflowed (C(0) = 0, rho = 0/0). rho and tau are scale invariant and the mean and its
    errors scale with the data; scaling by a power of two is exact in float64, so at 2^k every result must be the
    unit-scale one (times 2^k) bit for bit, without a warning."""
    x = ar1(0.6, 2000, 3, seed=9)
    y = np.ldexp(x, k)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(autocorrelation(y), autocorrelation(x))
        assert integrated_autocorrelation_time(y) == integrated_autocorrelation_time(x)
        np.testing.assert_array_equal(integrated_autocorrelation_times(y), integrated_autocorrelation_times(x))
        m, se = mean_and_error(x)
        assert mean_and_error(y) == (np.ldexp(m, k), np.ldexp(se, k))
        b, by = blocking(x), blocking(y)
        np.testing.assert_array_equal(by.std_errors, np.ldexp(b.std_errors, k))
        assert by.std_error == np.ldexp(b.std_error, k)
    # one series per column, each at its own scale: each as at unit scale
    z = x * np.ldexp(1.0, np.array([k, 0, -k]))
    np.testing.assert_array_equal(integrated_autocorrelation_times(z), integrated_autocorrelation_times(x))


def test_valid_limits_and_empty_batches():
    x = ar1(0.5, 500, 2, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = integrated_autocorrelation_time(x, c=1e308)  # c tau overflows to +-inf: no warning, a finite estimate
    assert np.isfinite(r.tau) and r.tau > 0 and np.isfinite(r.std_error)
    assert integrated_autocorrelation_times(np.zeros((10, 0, 3))).shape == (0, 3)  # empty batch: empty result
    assert mean_and_error(np.full((6, 2), 1e308)) == (1e308, 0.0)


def test_bad_arguments_are_named():
    x = ar1(0.5, 200, 2, seed=11)
    with pytest.raises((TypeError, ValueError), match="^c:"):
        integrated_autocorrelation_time(x, c=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="^c:"):
        mean_and_error(x, c=np.inf)
    with pytest.raises(ValueError, match="^min_blocks:"):
        blocking(x, min_blocks=1)
    with pytest.raises(ValueError, match="^min_blocks:"):  # more blocks than samples
        blocking(x, min_blocks=401)
    with pytest.raises(TypeError, match="^min_blocks:"):
        blocking(x, min_blocks=None)
    with pytest.raises(ValueError, match="^x:"):  # no chain at all
        integrated_autocorrelation_time(np.zeros((10, 0)))
