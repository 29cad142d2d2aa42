"""Tests of thermoref.mcmc against the AR(1) process, whose autocorrelation is known in closed form.

x_t = a x_{t-1} + e_t has rho(t) = a^t and, in the project's convention tau_int = 1 + 2 sum_{t>=1} rho(t),
tau_int = (1 + a) / (1 - a) (exactly 1 for independent draws); the standard error of the mean of N steps is
sqrt(tau_int Var(x) / N) asymptotically. Chains start in the stationary law (x_0 ~ N(0, 1/(1-a^2))) so there is
no burn-in. Statistical comparisons are z-scores against the estimators' own stated (Madras-Sokal) errors, at
|z| < 3.3 (two-sided alpha = 1e-3 per comparison), plus the window's truncation bias where stated.

split_rhat is tested against reference values computed by an independent implementation (ArviZ, never a
dependency of thermoref) on fixed seeded arrays, and on its exact limits.
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
    split_rhat,
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


# ------------------------------------------------------------------------------------- split, rank-normalized R-hat
def _rhat_case(name):
    """The fixed arrays of the reference values, in ArviZ's (chain, draw) layout, and x[0, 0] as a fingerprint."""
    g = np.random.default_rng
    if name == "iid":
        return g(101).standard_normal((4, 200))
    if name == "shifted":  # chain 1 sits half a standard deviation higher
        x = g(102).standard_normal((4, 200))
        x[1] += 0.5
        return x
    if name == "scaled":  # chain 2 three times as wide
        x = g(103).standard_normal((4, 200))
        x[2] *= 3.0
        return x
    if name == "odd":  # 201 draws: the middle one is dropped when splitting
        return g(104).standard_normal((4, 201))
    if name == "cauchy":  # no variance: the rank normalization keeps R-hat finite and meaningful
        return g(105).standard_cauchy((4, 200))
    if name == "ties":  # five values only: average ranks
        return g(106).integers(0, 5, (4, 200)).astype(float)
    if name == "random walk":  # a chain that never mixes
        return np.cumsum(g(107).standard_normal((4, 200)), axis=1)
    raise KeyError(name)


# (rhat, bulk, tail) by ArviZ 0.23.4 (NumPy 2.4.6, SciPy 1.17.1): az.rhat(x, method=m) for m = "rank" (the max),
# "z_scale" (bulk) and "folded" (tail), x in (chain, draw) layout; and each array's x[0, 0].
ARVIZ_RHAT = {
    "iid": ((1.0076351879716363, 0.9989274521659972, 1.0076351879716363), -0.7901524999630146),
    "shifted": ((1.0275314249972427, 1.0275314249972427, 0.9984575138089533), 0.6257293982571508),
    "scaled": ((1.1644167138015722, 0.9957627908661489, 1.1644167138015722), 1.1033480291669078),
    "odd": ((1.001163046546442, 1.001163046546442, 0.9982485466932715), 0.5621166546881184),
    "cauchy": ((1.0001853048969898, 1.0001853048969898, 0.998590874036273), -0.05079534241872496),
    "ties": ((1.0006095701837898, 1.0006095701837898, 1.0005360122116875), 2.0),
    "random walk": ((1.678136281858037, 1.678136281858037, 1.5034195680355273), 0.379668974885706),
}


@pytest.mark.parametrize("name", list(ARVIZ_RHAT))
def test_split_rhat_matches_the_reference_implementation(name):
    """Same arrays, same numbers as ArviZ to rounding (sums in another order: a few ulps, bounded by 1e-13)."""
    (rhat, bulk, tail), x00 = ARVIZ_RHAT[name]
    x = _rhat_case(name)
    assert x[0, 0] == x00  # the seeded array is the one the reference values were computed on
    r = split_rhat(x.T)  # thermoref's layout: (n_steps, chains)
    np.testing.assert_allclose([r.rhat, r.bulk, r.tail], [rhat, bulk, tail], rtol=1e-13, atol=0)
    assert r.rhat == max(r.bulk, r.tail)


def test_split_rhat_sees_what_each_half_is_for():
    """The structure of the reference arrays, read from the values: a location shift shows in the bulk only,
    a scale difference in the tail only, a chain that never mixes in both (the paper's 1.01 threshold)."""
    r = {name: split_rhat(_rhat_case(name).T) for name in ARVIZ_RHAT}
    assert r["shifted"].bulk > 1.01 > r["shifted"].tail
    assert r["scaled"].tail > 1.1 and r["scaled"].bulk < 1.01
    assert r["random walk"].bulk > 1.5 and r["random walk"].tail > 1.5
    # splitting is what catches a drift: one chain that drifts linearly, the others stationary
    x = np.random.default_rng(5).standard_normal((400, 4))
    x[:, 0] += np.linspace(-1.5, 1.5, 400)  # its mean over the whole run is still 0
    assert split_rhat(x).bulk > 1.05


def test_split_rhat_is_rank_based_and_laid_out_like_the_module():
    """Ranks: the bulk value is unchanged, bit for bit, by any increasing map of the draws. Layout: chains on every
    axis but the first, as in the module's other functions."""
    x = _rhat_case("shifted").T  # (200, 4)
    assert split_rhat(np.exp(x)).bulk == split_rhat(x).bulk
    assert split_rhat(x.reshape(200, 2, 2)) == split_rhat(x)
    assert split_rhat(np.ldexp(x, 900)) == split_rhat(x)  # halved before folding: no overflow, same ranks
    y = np.ldexp(x, 1022)  # |y| up to 1.6e308 of both signs: y - median(y) would overflow unhalved
    assert np.ptp(y / 2) > np.finfo(float).max / 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert split_rhat(y) == split_rhat(x)


def test_split_rhat_limits_and_bad_input():
    r = split_rhat(np.full((10, 3), 0.1))  # the same number everywhere: nothing to diagnose, exactly 1
    assert (r.rhat, r.bulk, r.tail) == (1.0, 1.0, 1.0)
    stuck = split_rhat(np.repeat([[0.0, 1.0, 2.0]], 10, axis=0))  # every chain constant, at different values
    assert stuck.bulk == np.inf and stuck.rhat == np.inf
    assert np.isfinite(split_rhat(np.random.default_rng(0).standard_normal((4, 1))).rhat)  # one chain, split in two
    with pytest.raises(ValueError, match="^x:"):
        split_rhat(np.zeros((3, 4)))  # halves of one step have no variance
    with pytest.raises(ValueError, match="^x:"):
        split_rhat(np.zeros((10, 0)))
    with pytest.raises(ValueError, match="^x:"):
        split_rhat(np.array([[0.0, np.nan]] * 5))
