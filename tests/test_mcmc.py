"""Tests of thermoref.mcmc against the AR(1) process, whose autocorrelation is known in closed form.

x_t = a x_{t-1} + e_t has rho(t) = a^t, tau_int = (1 + a) / (2 (1 - a)) and, for the mean of N steps,
standard error sqrt(2 tau_int Var(x) / N) asymptotically. Chains start in the stationary law (x_0 ~ N(0, 1/(1-a^2)))
so there is no burn-in. Statistical comparisons are z-scores against the estimators' own stated errors, at
|z| < 3.3 (alpha = 1e-3).
"""

import numpy as np
import pytest
from scipy.signal import lfilter

from thermoref.mcmc import autocorrelation, blocking, integrated_autocorrelation_time, mean_and_error


def ar1(a, n_steps, n_chains, seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n_steps, n_chains))
    e[0] /= np.sqrt(1 - a**2)  # stationary start
    return lfilter([1.0], [1.0, -a], e, axis=0)  # (n_steps, n_chains)


@pytest.mark.parametrize("a", [0.0, 0.5, 0.9])
def test_integrated_autocorrelation_time_of_ar1(a):
    x = ar1(a, 20_000, 16, seed=1)
    r = integrated_autocorrelation_time(x)
    tau = (1 + a) / (2 * (1 - a))
    # Sokal's window truncates a tail of relative size a^W / (1 - a) ~ e^{-c}: a bias below 1 %
    assert r.converged and abs(r.tau - tau) < 3.3 * r.std_error + 0.01 * tau


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
    exact_se = np.sqrt((1 + a) / (1 - a) / (1 - a**2) / (n_steps * n_chains))  # sqrt(2 tau Var / N)
    b = blocking(x)
    assert abs(b.std_error - exact_se) < 0.15 * exact_se  # plateau error ~ 1/sqrt(2 n_blocks) ~ 5 %
    assert b.std_errors[0] < 0.5 * exact_se  # naive error ignores the correlation: 3x too small
    mean, se = mean_and_error(x)
    assert abs(se - exact_se) < 0.1 * exact_se
    assert abs(mean) < 3.3 * exact_se


def test_independent_draws_have_tau_one_half():
    x = np.random.default_rng(4).standard_normal((10_000, 4))
    r = integrated_autocorrelation_time(x)
    assert abs(r.tau - 0.5) < 3.3 * r.std_error


def test_bad_input():
    with pytest.raises(ValueError, match="x"):
        autocorrelation(np.ones((100, 2)))
    with pytest.raises(ValueError, match="x"):
        integrated_autocorrelation_time([1.0, 2.0])
    with pytest.raises(ValueError, match="x"):
        autocorrelation(np.full(10, np.nan))
    with pytest.raises(ValueError, match="c"):
        integrated_autocorrelation_time(np.arange(10.0), c=0)
