"""Tests of thermoref.ou and thermoref.ou_linalg against independent references.

Oracles: closed forms (scalar OU), SciPy's ``solve_continuous_lyapunov`` and ``expm`` (full drifts, via
Sigma(t) = Sigma_inf - e^{-At} Sigma_inf e^{-A^T t}), the Kronecker-product Lyapunov solve, ``solve_ivp`` on the
covariance ODE, and ``numpy.linalg``.

Statistical tests use ``thermoref.testing`` at alpha = 1e-3 each (Bonferroni-split where a test makes several
of the same kind). Draws are whitened by the exact law from SciPy, so the whitened values w are i.i.d. N(0, 1)
under the null; besides KS for the shape, each sampler test z-tests mean(w^2) against 1 with the exact
variance 2, the sufficient statistic for the noise scale. The bug each is sized for, by default, is a
temperature off by 5 % (the diffusion D * 1.05: mean(w^2) becomes 1.05): the power is computed by the normal
power of the z-test (_z_power) and a power check runs the same sampler with D * 1.05 and the same seed.
"""

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from thermoref.ou import (
    em_stationary_variance,
    ou_autocovariance,
    ou_euler_maruyama,
    ou_mean_cov,
    ou_sample,
    ou_stationary,
    ou_trajectory,
)
from thermoref.ou_linalg import ou_inverse, ou_solve, ou_solve_mse
from thermoref.testing import ks_test, z_test, z_test_mean

NONNORMAL = np.array([[1.0, 1.0], [0.0, 1.5]])
ALPHA = 1e-3


def _z_power(delta, sd_null, sd_alt, n, alpha=ALPHA):
    """Normal power of the two-sided z-test of a mean of n draws: shift delta, sd of one draw sd_null under
    the null (the test's standard error) and sd_alt under the alternative."""
    c = stats.norm.isf(alpha / 2) * sd_null / np.sqrt(n)
    se = sd_alt / np.sqrt(n)
    return float(stats.norm.sf((c - delta) / se) + stats.norm.cdf((-c - delta) / se))


def _scale_power(n):
    """Power of z_test_mean(w**2, 1, 2) on n whitened values against D * 1.05 (mean 1.05, variance 2 * 1.05^2)."""
    return _z_power(0.05, np.sqrt(2.0), np.sqrt(2.0) * 1.05, n)


def _random_stable(n, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    return M + (np.abs(np.linalg.eigvals(M).real).max() + 0.5) * np.eye(n)  # non-normal, stable


def _lyapunov_reference(A, D, t):
    S_inf = linalg.solve_continuous_lyapunov(A, D)
    P = linalg.expm(-A * t)
    return S_inf - P @ S_inf @ P.T


def test_scalar_closed_form():
    a, b, D, x0 = 1.7, 0.3, 0.8, np.array([-1.0, 0.0, 2.5])
    for t in [1e-9, 0.01, 0.5, 3.0, 40.0]:
        mean, var = ou_mean_cov(x0, t, a, b, D)
        np.testing.assert_allclose(mean, b + np.exp(-a * t) * (x0 - b), rtol=4e-16, atol=0)
        if t < 1e-6:  # 1 - exp(-2at) cancels here; use the Taylor series D t (1 - a t + 2 a^2 t^2 / 3)
            np.testing.assert_allclose(var, D * t * (1 - a * t + 2 * (a * t) ** 2 / 3), rtol=4e-16)
        else:
            np.testing.assert_allclose(var, D * (1 - np.exp(-2 * a * t)) / (2 * a), rtol=1e-15)


def test_tau0_rescales_time():
    m1, v1 = ou_mean_cov(1.0, 2.0, 1.3, 0.0, 1.0, tau0=4.0)
    m2, v2 = ou_mean_cov(1.0, 0.5, 1.3, 0.0, 1.0)
    np.testing.assert_array_max_ulp(m1, m2, 2)
    np.testing.assert_array_max_ulp(v1, v2, 2)


def test_zero_drift_is_brownian_motion():
    mean, var = ou_mean_cov([0.0, 1.0], 2.5, [0.0, 1.0], 0.0, 3.0)
    assert var[0] == pytest.approx(7.5, rel=1e-15)
    assert mean[0] == 0.0


@pytest.mark.parametrize("t", [1e-3, 0.3, 1.0, 4.0, 60.0])
@pytest.mark.parametrize("A", [NONNORMAL, _random_stable(8, 0), _random_stable(5, 1)], ids=["2x2", "8x8", "5x5"])
def test_dense_covariance_matches_lyapunov_reference(A, t):
    n = A.shape[0]
    D = np.diag(np.linspace(0.5, 2.0, n)) + 0.1
    x0 = np.arange(n, dtype=float)
    mean, cov = ou_mean_cov(x0, t, A, 0.25, D)
    np.testing.assert_allclose(mean, 0.25 + linalg.expm(-A * t) @ (x0 - 0.25), rtol=1e-12, atol=1e-14)
    ref = _lyapunov_reference(A, D, t)
    # the reference loses ~eps*|Sigma_inf| to cancellation at small t; that is the stated bound
    np.testing.assert_allclose(cov, ref, rtol=1e-9, atol=1e-13 * np.abs(linalg.solve_continuous_lyapunov(A, D)).max())


def test_dense_covariance_small_t_against_ode_integration():
    """At t -> 0 the Lyapunov difference cancels; integrate dSigma/dt = D - A Sigma - Sigma A^T instead."""
    A, D, t = NONNORMAL, np.eye(2) * 2.0, 1e-4
    sol = integrate.solve_ivp(lambda _, s: (2 * np.eye(2) - A @ s.reshape(2, 2) - s.reshape(2, 2) @ A.T).ravel(),
                              (0, t), np.zeros(4), rtol=1e-12, atol=1e-18)
    _, cov = ou_mean_cov(np.zeros(2), t, A, 0.0, D)
    np.testing.assert_allclose(cov, sol.y[:, -1].reshape(2, 2), rtol=1e-8)


def test_t_zero_and_t_infinity():
    mean, cov = ou_mean_cov([1.0, 2.0], 0.0, NONNORMAL, 0.0, 2.0)
    assert np.array_equal(mean, [1.0, 2.0]) and np.array_equal(cov, np.zeros((2, 2)))
    _, cov_inf = ou_mean_cov([1.0, 2.0], 1e4, NONNORMAL, 0.0, 2.0)
    # Kronecker solve of A S + S A^T = D, independent of SciPy's Bartels-Stewart
    K = np.kron(np.eye(2), NONNORMAL) + np.kron(NONNORMAL, np.eye(2))
    ref = np.linalg.solve(K, (2.0 * np.eye(2)).ravel(order="F")).reshape(2, 2, order="F")
    np.testing.assert_allclose(cov_inf, ref, rtol=1e-13)
    np.testing.assert_allclose(ou_stationary(NONNORMAL, 0.0, 2.0)[1], ref, rtol=1e-13)


def test_symmetric_part_formula_is_wrong_for_nonnormal_drift():
    """Regression: the symmetric-part shortcut (thermox 0.0.6) misses the 2x2 non-normal case by ~8 %."""
    t = 1.0
    _, cov = ou_mean_cov(np.zeros(2), t, NONNORMAL, 0.0, 2.0 * np.eye(2))
    S = 0.5 * (NONNORMAL + NONNORMAL.T)
    wrong = np.linalg.inv(S) @ (np.eye(2) - linalg.expm(-2 * S * t))
    rel = np.linalg.norm(wrong - cov) / np.linalg.norm(cov)
    assert 0.05 < rel < 0.12
    np.testing.assert_allclose(cov, _lyapunov_reference(NONNORMAL, 2 * np.eye(2), t), rtol=1e-12)


def test_diagonal_path_equals_dense_path():
    a, D = np.array([0.5, 1.0, 3.0]), np.array([1.0, 2.0, 0.5])
    x0 = np.array([[1.0, -1.0, 2.0], [0.0, 0.0, 0.0]])
    m_d, v_d = ou_mean_cov(x0, 0.7, a, 0.1, D)
    m_f, c_f = ou_mean_cov(x0, 0.7, np.diag(a), 0.1, np.diag(D))
    np.testing.assert_allclose(m_d, m_f, rtol=1e-14)
    np.testing.assert_allclose(v_d, np.diag(c_f), rtol=1e-13)
    Dfull = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, 0.1], [0.0, 0.1, 0.5]])
    _, c_mixed = ou_mean_cov(x0, 0.7, a, 0.1, Dfull)
    np.testing.assert_allclose(c_mixed, _lyapunov_reference(np.diag(a), Dfull, 0.7), rtol=1e-12)


def test_sample_standardized_transitions_ks_dense():
    """20,000 exact transitions from the point mass x0 over t = 0.8, whitened by the exact law (2 x 20,000
    values). KS against N(0, 1), z of mean(w^2) against 1 (variance 2), and the pair statistic mean(w0 w1)
    against 0 (variance 1); alpha = 1e-3 each. Power against D * 1.05: computed 0.9998; power check below."""
    A, D, t, x0 = NONNORMAL, np.array([[2.0, 0.5], [0.5, 1.0]]), 0.8, np.array([1.0, -2.0])
    mean = 0.5 + linalg.expm(-A * t) @ (x0 - 0.5)
    L = np.linalg.cholesky(_lyapunov_reference(A, D, t))
    whiten = lambda x: np.linalg.solve(L, (x - mean).T)  # noqa: E731  (2, K), iid N(0,1) under the null
    assert _scale_power(40_000) > 0.999
    w = whiten(ou_sample(x0, t, A, 0.5, D, rng=0, size=20_000))
    assert ks_test(w, "norm").passed
    assert z_test_mean(w**2, 1.0, 2.0).passed
    assert z_test_mean(w[0] * w[1], 0.0, 1.0).passed  # pair statistic: whitened coordinates uncorrelated
    assert z_test_mean(whiten(ou_sample(x0, t, A, 0.5, 1.05 * D, rng=0, size=20_000)) ** 2, 1.0, 2.0).reject


def test_sample_diagonal_ks_and_trajectory_pairs():
    """Diagonal drift: 20,000 x 3 exact draws from the point mass x0 = 1, and 20,000 paths of 3 dimensions over
    an irregular grid (one zero step), every transition standardized by the exact law (independent devices).
    KS and z of mean(w^2) (variance 2) on each set; alpha = 1e-3 each. Power against D * 1.05: computed
    > 0.9999 for both; power checks below (the same seeds with D * 1.05)."""
    a, D = np.array([0.3, 1.0, 4.0]), np.array([1.0, 2.0, 8.0])
    sd = np.sqrt(D * (1 - np.exp(-a)) / (2 * a))
    assert _scale_power(60_000) > 0.9999
    x = ou_sample(np.ones(3), 0.5, a, 0.0, D, rng=1, size=20_000)
    assert ks_test((x - np.exp(-0.5 * a)) / sd, "norm").passed
    assert z_test_mean(((x - np.exp(-0.5 * a)) / sd) ** 2, 1.0, 2.0).passed
    hot = ou_sample(np.ones(3), 0.5, a, 0.0, 1.05 * D, rng=1, size=20_000)  # power check
    assert z_test_mean(((hot - np.exp(-0.5 * a)) / sd) ** 2, 1.0, 2.0).reject
    # trajectory: joint law of consecutive points; x1 | x0 is the exact transition (independent devices)
    ts = np.array([0.2, 0.9, 0.9, 2.0])
    dts = np.diff(ts, prepend=0.0)
    ok = dts > 0
    sd = np.sqrt(D * (-np.expm1(-2 * a * dts[:, None, None])) / (2 * a))

    def standardized(path):
        prev = np.concatenate([np.zeros((1, 20_000, 3)), path[:-1]])
        mu = 1.0 + np.exp(-a * dts[:, None, None]) * (prev - 1.0)
        return ((path - mu)[ok] / sd[ok]).ravel()  # 3 steps x 20,000 x 3 values

    path = ou_trajectory(np.zeros((20_000, 3)), ts, a, 1.0, D, rng=2)
    z = standardized(path)
    assert ks_test(z[::3], "norm").passed
    assert z_test_mean(z**2, 1.0, 2.0).passed
    assert np.array_equal(path[1], path[2])  # zero-length step leaves the state unchanged
    hot_path = ou_trajectory(np.zeros((20_000, 3)), ts, a, 1.0, 1.05 * D, rng=2)  # power check
    assert z_test_mean(standardized(hot_path) ** 2, 1.0, 2.0).reject


def test_dense_trajectory_stationary_autocovariance():
    """40,000 devices started from the exact stationary law (drawn here from SciPy's Lyapunov solution), one
    exact step of dt = 0.4. Statistics: the four lag-1 cross-moments mean(x1_i x0_j) z-tested against
    C = e^{-A dt} Sigma_inf with their exact variances Sigma_ii Sigma_jj + C_ij^2 (Gaussian pairs), alpha =
    1e-3 / 4 each; and the whitened innovations x1 - e^{-A dt} x0, mean(w^2) against 1 (variance 2), alpha =
    1e-3. Sized for the transpose bug (e^{-A^T dt} in the mean step: computed power > 0.99 on its most
    affected entry, and the sampler built here with that bug is rejected) and for D * 1.05 (the innovations:
    computed power 0.99999, power check with the same seed).
    """
    A, D, dt, K = NONNORMAL, 2.0 * np.eye(2), 0.4, 40_000
    S = linalg.solve_continuous_lyapunov(A, D)
    E = linalg.expm(-A * dt)
    C = E @ S
    L = np.linalg.cholesky(_lyapunov_reference(A, D, dt))
    np.testing.assert_allclose(ou_autocovariance([dt], A, D)[0], C, rtol=1e-12)
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((K, 2)) @ np.linalg.cholesky(S).T
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + C**2) / K)  # (2, 2) exact standard errors

    def cross_rejects(x1):
        prod = (x1[:, :, None] * x0[:, None, :]).mean(0)  # (2, 2): mean of x(t+dt) x(t)^T
        return [z_test(prod[i, j], C[i, j], se[i, j], alpha=ALPHA / 4).reject for i in range(2) for j in range(2)]

    delta = (linalg.expm(-A.T * dt) - E) @ S  # the transpose bug's shift of the cross-moments
    assert max(_z_power(abs(d), s_ * np.sqrt(K), s_ * np.sqrt(K), K, alpha=ALPHA / 4)
               for d, s_ in zip(delta.ravel(), se.ravel())) > 0.99
    assert _scale_power(2 * K) > 0.9999
    x1 = ou_trajectory(x0, [dt], A, 0.0, D, rng=rng)[0]
    assert not any(cross_rejects(x1))
    w = np.linalg.solve(L, (x1 - x0 @ E.T).T)
    assert z_test_mean(w**2, 1.0, 2.0).passed
    transposed = x0 @ E + rng.standard_normal((K, 2)) @ L.T  # power check: mean step e^{-A^T dt} x0
    assert any(cross_rejects(transposed))
    hot = ou_trajectory(x0, [dt], A, 0.0, 1.05 * D, rng=np.random.default_rng(3))[0]  # power check: D * 1.05
    assert z_test_mean(np.linalg.solve(L, (hot - x0 @ E.T).T) ** 2, 1.0, 2.0).reject


def test_euler_maruyama_bias_closed_form_and_exact_has_none():
    """EM's stationary variance D/(a(2 - a dt)) vs exact D/(2a): z-tests of mean(x^2) on 40,000 independent
    chains from the point mass 0, with the exact variance 2 v^2 of x^2 for x ~ N(0, v); alpha = 1e-3 each.
    Power against D * 1.05 (v -> 1.05 v): computed 0.9998 for both samplers; power checks with the same seeds."""
    a, D, dt, K = 1.0, 2.0, 0.5, 40_000
    assert _scale_power(K) > 0.999
    v_em = float(em_stationary_variance(a, D, dt))
    assert v_em == pytest.approx(D / (a * (2 - a * dt)), rel=1e-15)
    assert abs((1 - a * dt) ** (2 * 60)) < 1e-30  # 60 steps from 0: the EM variance has converged
    x = ou_euler_maruyama(np.zeros(K), dt, 60, a, 0.0, D, rng=4)[-1]
    assert z_test_mean(x**2, v_em, 2 * v_em**2).passed
    assert z_test_mean(x**2, D / (2 * a), 2 * v_em**2).reject  # EM at dt=0.5 is 33 % off: detected
    x_hot = ou_euler_maruyama(np.zeros(K), dt, 60, a, 0.0, 1.05 * D, rng=4)[-1]  # power check
    assert z_test_mean(x_hot**2, v_em, 2 * v_em**2).reject
    v = D / (2 * a)
    y = ou_trajectory(np.zeros(K), dt * np.arange(1, 61), a, 0.0, D, rng=5)[-1]
    assert z_test_mean(y**2, v, 2 * v**2).passed
    y_hot = ou_trajectory(np.zeros(K), dt * np.arange(1, 61), a, 0.0, 1.05 * D, rng=5)[-1]  # power check
    assert z_test_mean(y_hot**2, v, 2 * v**2).reject


def test_same_seed_same_bits():
    args = (np.zeros(4), 0.3, np.ones(4), 0.0, 1.0)
    assert np.array_equal(ou_sample(*args, rng=7, size=5), ou_sample(*args, rng=np.random.default_rng(7), size=5))


def _ar1_mean_variance(lam, h, m):
    """Variance of the mean of m observations, spaced h, of a stationary mode with variance 1/lam and
    correlation e^{-lam h |i-j|}: (1/(lam m^2)) sum_ij rho^|i-j|, summed directly (independent of ou_linalg)."""
    k = np.arange(1, m)
    return (m + 2 * np.sum((m - k)[None, :] * np.exp(-np.outer(lam, k) * h), axis=1)) / (lam * m**2)


def test_ou_solve_against_numpy_and_exact_mse():
    """300 devices solve A x = y (D = 2I), 160 observations each after a burn-in of 30 (e^{-lam_min 30} ~ 3e-11).

    (1) The observed paths, recovered from the running averages (x_k = (k+1) r_k - k r_{k-1}), must follow the
    exact AR(1) transition x_{k+1} - A^-1 y = e^{-A h}(x_k - A^-1 y) + N(0, Sigma(h)) (SciPy expm and
    Lyapunov): whitened innovations (300 x 159 x 3 values), z of mean(w^2) against 1 (variance 2); alpha =
    1e-3. Power against a 5 % noise error: computed > 0.9999; power check: the same statistic on paths with
    1.05 Sigma(h) (ou_solve fixes D = 2I, so that buggy sampler is written here). (2) The squared error of the
    estimate: |err|^2 = sum_i v_i chi^2_1 in the eigenbasis (Gaussian, independent modes), so z-test of its
    mean sum v_i with the exact variance 2 sum v_i^2 (v_i from the direct AR(1) double sum); alpha = 1e-3.
    Sized for a wrong averaging window (the last half only: MSE x 1.95, computed power > 0.9999); a 5 % noise
    error moves the MSE by only 0.85 standard errors here, which is what (1) is for.
    """
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.5, 0.3], [0.0, 0.3, 1.0]])
    h, m, K = 0.25, 160, 300
    Y = np.random.default_rng(6).standard_normal((K, 3))
    r = ou_solve(A, Y, t_f=40.0, dt=h, burn_in=30.0, rng=7)
    assert r.running.shape == (m, K, 3) and r.times[-1] == pytest.approx(40.0)
    x_true = np.linalg.solve(A, Y.T).T  # (K, 3)
    k = np.arange(m)[:, None, None]
    x = (k + 1) * r.running - k * np.concatenate([np.zeros((1, K, 3)), r.running[:-1]])  # (m, K, 3) observations
    E = linalg.expm(-A * h)
    L = np.linalg.cholesky(_lyapunov_reference(A, 2 * np.eye(3), h))
    innov = (x[1:] - x_true) - (x[:-1] - x_true) @ E.T  # (m-1, K, 3)
    w = np.linalg.solve(L, innov.reshape(-1, 3).T)
    assert _scale_power(w.size) > 0.9999
    assert z_test_mean(w**2, 1.0, 2.0).passed
    hot = (x[:-1] - x_true) @ E.T + np.sqrt(1.05) * np.random.default_rng(8).standard_normal(x[1:].shape) @ L.T
    assert z_test_mean(np.linalg.solve(L, (hot - (x[:-1] - x_true) @ E.T).reshape(-1, 3).T) ** 2, 1.0, 2.0).reject
    lam = np.linalg.eigvalsh(A)
    v = _ar1_mean_variance(lam, h, m)  # (3,) per-mode variance of the time average
    assert float(ou_solve_mse(A, 40.0, h)) == pytest.approx(v.sum(), rel=1e-12)
    err2 = ((r.estimate - x_true) ** 2).sum(-1)
    assert z_test_mean(err2, v.sum(), 2 * np.sum(v**2)).passed
    v_half = _ar1_mean_variance(lam, h, m // 2)
    assert _z_power(v_half.sum() - v.sum(), np.sqrt(2 * np.sum(v**2)), np.sqrt(2 * np.sum(v_half**2)), K) > 0.9999
    # dt -> 0: the continuous time average, sum_i 2/(l_i^2 t)(1 - (1 - e^{-l_i t})/(l_i t)) ~ 2 tr(A^-2)/t_f
    t = 400.0
    cont = np.sum(2 / (lam**2 * t) * (1 - (1 - np.exp(-lam * t)) / (lam * t)))
    assert float(ou_solve_mse(A, t, 1e-3)) == pytest.approx(cont, rel=1e-5)


def test_ou_inverse_against_numpy():
    """300 devices, 200 observations of x x^T each (D = 2I, drift -A x, burn-in 15: e^{-2 lam_min 15} ~ 5e-11).

    Each entry of the estimate R = (1/(m K)) sum_{k, devices} x_a x_b is z-tested against A^-1 with its exact
    variance (Isserlis): Var R_ab = (1/(K m^2)) sum_{k,l} [C_aa C_bb + C_ab^2](|k - l| h), C(tau) = e^{-A tau} A^-1
    from numpy's eigendecomposition; alpha = 1e-3 / 3 per entry (3 distinct entries). Sized for a 5 % noise
    error (R -> 1.05 A^-1): computed power 0.999 on the most sensitive entry. Power check: the same devices and
    seed with the noise covariance times 1.05 give exactly 1.05 R (the path from rest is linear in the noise),
    which is rejected.
    """
    A, h, m, K = np.array([[2.0, 0.5], [0.5, 1.0]]), 0.5, 200, 300
    r = ou_inverse(A, t_f=100.0, dt=h, n_devices=K, burn_in=15.0, rng=8)
    lam, Q = np.linalg.eigh(A)
    lags = np.arange(m)
    C = np.einsum("ap,bp,lp->lab", Q, Q, np.exp(-np.outer(lags * h, lam)) / lam)  # (m, 2, 2) exact C(l h)
    pairs = np.where(lags == 0, m, 2 * (m - lags))  # how often each lag occurs among the m^2 pairs (k, l)
    idx = [(0, 0), (1, 1), (0, 1)]
    var = np.array([np.sum(pairs * (C[:, a, a] * C[:, b, b] + C[:, a, b] ** 2)) / (K * m**2) for a, b in idx])
    Ainv = np.linalg.inv(A)
    target = np.array([Ainv[a, b] for a, b in idx])
    est = np.array([r.estimate[a, b] for a, b in idx])
    powers = [_z_power(0.05 * abs(t_), np.sqrt(v_), 1.05 * np.sqrt(v_), 1, alpha=ALPHA / 3) for t_, v_ in zip(target, var)]
    assert max(powers) > 0.99
    for e_, t_, v_ in zip(est, target, var):
        assert z_test(e_, t_, np.sqrt(v_), alpha=ALPHA / 3).passed
    assert any(z_test(1.05 * e_, t_, np.sqrt(v_), alpha=ALPHA / 3).reject for e_, t_, v_ in zip(est, target, var))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: ou_mean_cov(0.0, 1.0, 1.0, 0.0, 1.0, tau0=0.0), "tau0"),
        (lambda: ou_mean_cov(0.0, -1.0, 1.0, 0.0, 1.0), "t"),
        (lambda: ou_mean_cov(0.0, 1.0, np.nan, 0.0, 1.0), "A"),
        (lambda: ou_mean_cov(0.0, 1.0, 1.0, 0.0, -1.0), "D"),
        (lambda: ou_mean_cov(np.zeros(3), 1.0, np.eye(2), 0.0, 1.0), "x0"),
        (lambda: ou_mean_cov(np.zeros(2), 1.0, np.ones((2, 3)), 0.0, 1.0), "A"),
        (lambda: ou_mean_cov(np.zeros(2), 1.0, np.eye(2), 0.0, [[1.0, 2.0], [0.0, 1.0]]), "D"),
        (lambda: ou_mean_cov(np.zeros(2), 1.0, np.eye(2), 0.0, [[1.0, 2.0], [2.0, 1.0]]), "D"),
        (lambda: ou_stationary([[1.0, 0.0], [0.0, -0.1]], 0.0, 1.0), "A"),
        (lambda: ou_trajectory(0.0, [1.0, 0.5], 1.0, 0.0, 1.0, rng=0), "ts"),
        (lambda: em_stationary_variance(1.0, 1.0, 2.5), "dt"),
        (lambda: ou_solve([[1.0, 0.2], [0.0, 1.0]], [1.0, 1.0], t_f=1.0, dt=0.1, rng=0), "A"),
        (lambda: ou_solve([[1.0, 0.0], [0.0, -1.0]], [1.0, 1.0], t_f=1.0, dt=0.1, rng=0), "A"),
        (lambda: ou_solve(np.eye(2), [1.0, 1.0], t_f=0.01, dt=0.1, rng=0), "t_f"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_rng_required():
    with pytest.raises(TypeError, match="rng"):
        ou_sample(0.0, 1.0, 1.0, 0.0, 1.0, rng=None)


def test_stats_reference_sanity():
    """The scalar stationary law is N(b, D/2a): 40,000 exact long-time draws from the point mass 0, KS and the
    z-test of mean(w^2) (variance 2) on w = (x - 1)/0.5; alpha = 1e-3 each. Power against D * 1.05: computed
    0.9998; power check with the same seed."""
    assert _scale_power(40_000) > 0.999
    x = ou_sample(np.zeros(40_000), 50.0, 2.0, 1.0, 1.0, rng=9)
    assert ks_test(x, stats.norm(1.0, 0.5).cdf).passed
    assert z_test_mean(((x - 1.0) / 0.5) ** 2, 1.0, 2.0).passed
    assert z_test_mean(((ou_sample(np.zeros(40_000), 50.0, 2.0, 1.0, 1.05, rng=9) - 1.0) / 0.5) ** 2, 1.0, 2.0).reject


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=50)
@given(st.floats(0.01, 3.0), st.floats(0.01, 3.0), st.integers(0, 50))
def test_chapman_kolmogorov_semigroup(s, t, seed):
    """Sigma(s + t) = Sigma(t) + e^{-At} Sigma(s) e^{-A^T t} and means compose, for random non-normal drifts."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3, 3)) + 0.5 * np.eye(3)  # not necessarily stable: the transition is still exact
    D = np.eye(3) + 0.2 * np.ones((3, 3))
    x0 = rng.standard_normal(3)
    m_s, S_s = ou_mean_cov(x0, s, A, 0.3, D)
    m_st, S_st = ou_mean_cov(x0, s + t, A, 0.3, D)
    m_t, S_t = ou_mean_cov(m_s, t, A, 0.3, D)
    P = linalg.expm(-A * t)
    scale = np.abs(S_st).max()
    np.testing.assert_allclose(m_t, m_st, rtol=1e-10, atol=1e-10 * np.abs(m_st).max())
    np.testing.assert_allclose(S_t + P @ S_s @ P.T, S_st, rtol=0, atol=1e-10 * scale)


# ---------------------------------------------------------------------------------------------------------
# Sample paths in the real eigenbasis (OUProcess, method "eigen") and the fallback to the series
# ---------------------------------------------------------------------------------------------------------
from thermoref._ou_paths import _modes, _plan_path  # noqa: E402
from thermoref.ou import KAPPA_MAX, OUProcess  # noqa: E402

EPS = np.finfo(float).eps


def _van_loan(A, D, h):
    """Oracle: Sigma(h) from SciPy's expm of Van Loan's block matrix [[-A, D], [0, A^T]] (never thermoref)."""
    n = A.shape[0]
    blk = np.zeros((2 * n, 2 * n))
    blk[:n, :n], blk[:n, n:], blk[n:, n:] = -A, D, A.T
    E = linalg.expm(blk * h)
    return E[:n, n:] @ E[:n, :n].T


ROT = np.array([[0.5, 2.0], [-2.0, 0.5]])  # normal, eigenvalues 0.5 +- 2i
EIGEN_CASES = {
    "nonnormal-real": (NONNORMAL, np.array([[2.0, 0.5], [0.5, 1.0]])),
    "normal-complex": (ROT, np.eye(2)),
    "nonnormal-complex-6": (np.array([[1.0, 3.0, 0, 0, 0, 0], [-2.0, 1.0, 1, 0, 0, 0], [0, 0, 2.0, 0.5, 0, 1],
                                      [0, 0, -4.0, 2.0, 0, 0], [0, 0, 0, 0, 0.5, 0], [1, 0, 0, 0, 2.0, 3.0]]),
                            np.eye(6) + 0.3 * np.ones((6, 6))),
    "random-8": (_random_stable(8, 0), np.diag(np.linspace(0.5, 2.0, 8))),
    "unstable-complex": (np.array([[-0.3, 2.0], [-2.0, -0.3]]), np.eye(2)),
    "singular-D": (NONNORMAL, np.array([[1.0, 0.0], [0.0, 0.0]])),
    "zero-eigenvalue": (np.array([[0.0, 1.0], [0.0, 1.0]]), np.eye(2)),
}


@pytest.mark.parametrize("branch", ["cholesky", "quadrature"])
@pytest.mark.parametrize("h", [1e-6, 0.01, 0.3, 1.0])
@pytest.mark.parametrize("case", sorted(EIGEN_CASES))
def test_eigen_step_covariance_against_van_loan(case, h, branch):
    """The covariance one step draws (F F^T of its noise factor) vs SciPy's Van Loan exponential, within the
    stated bound 4 eps kappa^2 (+ 64 n eps of ordinary rounding); the mean step vs scipy.linalg.expm."""
    A, D = EIGEN_CASES[case]
    M, kappa = _modes(A, D)
    assert M is not None and kappa <= KAPPA_MAX
    n = A.shape[0]
    F = M.step_factor(h, branch)
    ref = _van_loan(A, D, h)
    bound = 4 * EPS * kappa**2 + 64 * n * EPS
    assert np.linalg.norm(F @ F.T - ref, 2) <= bound * np.linalg.norm(ref, 2)
    E = linalg.expm(-A * h)
    assert np.linalg.norm(M.propagator(h) - E, 2) <= (4 * EPS * kappa + 16 * n * EPS) * np.linalg.norm(E, 2)


@pytest.mark.parametrize("target", [1e1, 1e2, 1e3])
def test_eigen_error_bound_holds_up_to_the_threshold(target):
    """Drifts S diag(lam) S^-1 with cond(S) set: the covariance error stays within 4 eps kappa^2 + 64 n eps
    (against the series path, itself checked against Lyapunov and Van Loan above)."""
    rng = np.random.default_rng(int(target))
    n = 12
    Q1, Q2 = (linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(2))
    S = Q1 @ np.diag(np.logspace(0, np.log10(target), n)) @ Q2
    A = S @ np.diag(rng.uniform(0.5, 3.0, n)) @ np.linalg.inv(S)
    M, kappa = _modes(A, np.eye(n))
    if M is None:  # the eigenbasis of this draw came out above the threshold: the fallback is the right answer
        assert kappa > KAPPA_MAX
        return
    for h in (0.01, 0.5, 3.0):
        _, ref = ou_mean_cov(np.zeros(n), h, A, 0.0, np.eye(n))
        for branch in ("cholesky", "quadrature"):
            F = M.step_factor(h, branch)
            err = np.linalg.norm(F @ F.T - ref, 2) / np.linalg.norm(ref, 2)
            assert err <= 4 * EPS * kappa**2 + 64 * n * EPS


def test_fallback_to_the_series_for_nearly_defective_and_defective_drifts():
    mild = OUProcess([[1.0, 1.0], [0.0, 1.01]], 0.0, 1.0)  # eigenvector basis kappa = 200
    assert mild.method == "eigen" and 100 < mild.kappa < KAPPA_MAX
    near = OUProcess([[1.0, 1.0], [0.0, 1.0 + 1e-6]], 0.0, 1.0)  # kappa ~ 2e6
    assert near.method == "series" and near.kappa > KAPPA_MAX
    jordan = OUProcess([[1.0, 1.0], [0.0, 1.0]], 0.0, 1.0)  # defective: no eigenvector basis
    assert jordan.method == "series" and jordan.kappa > 1e12
    assert OUProcess(NONNORMAL, 0.0, 1.0).method == "eigen"
    assert OUProcess([1.0, 2.0], 0.0, 1.0).method == "elementwise"
    assert OUProcess([1.0, 2.0], 0.0, np.eye(2)).method == "eigen"  # diagonal drift, correlated noise: P = I


def _exact_step(A, D, h):
    """Oracle (e^{-Ah}, Sigma(h)) from one SciPy expm of Van Loan's block [[-A, D], [0, A^T]] h."""
    n = A.shape[0]
    blk = np.zeros((2 * n, 2 * n))
    blk[:n, :n], blk[:n, n:], blk[n:, n:] = -A, D, A.T
    E = linalg.expm(blk * h)
    return E[:n, :n], E[:n, n:] @ E[:n, :n].T


def _whitened_innovations(path, x0, ts, A, b, D, cache=None, transpose=False):
    """Oracle whitening of every transition of a path: z_k = L_k^-1 (x_k - b - e^{-A h_k}(x_{k-1} - b)).

    path: (m, ..., n), x0: (..., n). ``cache`` keeps the exact step of each distinct h across calls;
    ``transpose=True`` whitens with e^{-A^T h} instead (the transpose bug, for power checks). Zero steps give NaN."""
    prev = np.concatenate([np.broadcast_to(x0, path.shape[1:])[None], path[:-1]])
    hs = np.diff(ts, prepend=0.0)
    cache = {} if cache is None else cache
    out = np.empty(path.shape)
    for k, h in enumerate(hs):
        if h == 0:  # no transition: nothing to whiten
            out[k] = np.nan
            continue
        if h not in cache:
            E, S = _exact_step(A, D, h)
            cache[h] = E, np.linalg.cholesky(S)
        E, L = cache[h]
        E = E.T if transpose else E
        innovation = (path[k] - b - (prev[k] - b) @ E.T).reshape(-1, A.shape[0])  # (devices, n)
        out[k] = np.linalg.solve(L, innovation.T).T.reshape(path.shape[1:])
    return out  # (m, ..., n)


def test_eigen_path_irregular_grid_far_from_equilibrium_ks():
    """Five independent single devices (nb = 1, so both noise factors are used), 1500 transitions each on an
    irregular grid (distinct tiny steps: quadrature branch; a repeated step of 0.7: Cholesky branch), started
    10-20 sd away from the stationary law, complex non-normal drift.

    Statistics on the 5 x 1500 x 4 whitened innovations (each transition whitened with the exact law from
    SciPy, so the values are i.i.d. N(0, 1) under the null): KS, z of mean(w^2) against 1 (variance 2), and
    the lag-1 product of consecutive innovations (pair statistic); alpha = 1e-3 each. Power against D * 1.05:
    computed 0.996, power check with the same seeds; the transpose bug (e^{-A^T h}) is rejected too.
    """
    A = np.array([[1.0, 2.5, 0.0, 0.3], [-1.5, 1.0, 0.4, 0.0], [0.0, 0.0, 0.6, 1.0], [0.2, 0.0, -0.8, 0.6]])
    b, D = np.array([0.5, -0.5, 1.0, 0.0]), np.eye(4) + 0.4 * np.ones((4, 4))
    assert np.iscomplexobj(np.linalg.eigvals(A))
    rng = np.random.default_rng(11)
    steps = rng.exponential(0.05, 1500)
    steps[::3] = 0.7  # a repeated step
    ts = np.cumsum(steps)
    x0 = np.array([20.0, -15.0, 12.0, 18.0])
    dev = OUProcess(A, b, D)
    _, _, _, _, quad = _plan_path(dev._modes, steps, ts[-1], nb=1)
    assert quad.any() and (~quad).any()  # both factors are exercised
    assert _scale_power(5 * 1500 * 4) > 0.99
    cache = {}

    def whitened(D_run):
        paths = np.stack([OUProcess(A, b, D_run).trajectory(x0, ts, rng=seed) for seed in (12, 20, 21, 22, 23)], axis=1)
        return paths, _whitened_innovations(paths, x0, ts, A, b, D, cache)  # (1500, 5, 4)

    paths, z = whitened(D)
    assert ks_test(z.ravel(), "norm").passed
    assert z_test_mean(z**2, 1.0, 2.0).passed
    assert z_test_mean(z[1:, :, 0] * z[:-1, :, 0], 0.0, 1.0).passed
    assert z_test_mean(whitened(1.05 * D)[1] ** 2, 1.0, 2.0).reject  # power check
    wrong = _whitened_innovations(paths[:200], x0, ts[:200], A, b, D, cache, transpose=True)
    assert ks_test(wrong.ravel(), "norm").reject


def test_eigen_path_many_devices_each_step_exact():
    """20,000 devices (Cholesky branch), six irregular steps (one of length zero) from a far start. Per-step KS of
    a third of the whitened values (alpha = 1e-3 / 5 each, Bonferroni over the five steps) and z of mean(w^2)
    over all 5 x 20,000 x 6 values (alpha = 1e-3): power against D * 1.05 computed > 0.9999, power check with
    the same seed."""
    A, D = EIGEN_CASES["nonnormal-complex-6"]
    b = np.linspace(-1.0, 1.0, 6)
    ts = np.array([0.05, 0.12, 0.5, 0.5, 1.3, 4.0])
    x0 = np.full((20_000, 6), 6.0)
    path = OUProcess(A, b, D).trajectory(x0, ts, rng=13)
    assert np.array_equal(path[2], path[3])  # a zero step leaves the state exactly unchanged
    moving = np.diff(ts, prepend=0.0) > 0
    cache = {}
    z = _whitened_innovations(path, x0, ts, A, b, D, cache)[moving]  # (5, 20000, 6)
    for zk in z:
        assert ks_test(zk.ravel()[::3], "norm", alpha=ALPHA / 5).passed
    assert _scale_power(z.size) > 0.9999
    assert z_test_mean(z**2, 1.0, 2.0).passed
    hot = OUProcess(A, b, 1.05 * D).trajectory(x0, ts, rng=13)  # power check
    assert z_test_mean(_whitened_innovations(hot, x0, ts, A, b, D, cache)[moving] ** 2, 1.0, 2.0).reject


def test_series_fallback_path_is_exact_too():
    """A nearly defective drift (kappa ~ 2e6) takes the series path: 170 devices from a far start, 120
    irregular transitions, whitened by the exact law: KS and z of mean(w^2) on the 40,800 values, alpha =
    1e-3 each. Power against D * 1.05: computed 0.9998; power check with the same seed."""
    A, b, D = np.array([[1.0, 1.0], [0.0, 1.0 + 1e-6]]), np.array([0.3, -0.2]), np.eye(2)
    dev = OUProcess(A, b, D)
    assert dev.method == "series"
    ts = np.cumsum(np.random.default_rng(14).exponential(0.3, 120))
    x0 = np.tile([9.0, -7.0], (170, 1))
    cache = {}
    z = _whitened_innovations(dev.trajectory(x0, ts, rng=15), x0, ts, A, b, D, cache)
    assert _scale_power(z.size) > 0.999
    assert ks_test(z.ravel(), "norm").passed
    assert z_test_mean(z**2, 1.0, 2.0).passed
    hot = OUProcess(A, b, 1.05 * D)
    assert hot.method == "series"
    z_hot = _whitened_innovations(hot.trajectory(x0, ts, rng=15), x0, ts, A, b, D, cache)  # power check
    assert z_test_mean(z_hot**2, 1.0, 2.0).reject


def test_trajectory_long_step_reaches_the_stationary_law():
    """A single step of 1e308 time units (a stable drift) from 50: exact draws from N(b, Sigma_inf); KS and z of
    mean(w^2) on the 5000 x 6 whitened values, alpha = 1e-3 each. Power against D * 1.05: computed 0.9965;
    power check with the same seed."""
    A, D = EIGEN_CASES["nonnormal-complex-6"]
    b = np.arange(6.0)
    L = np.linalg.cholesky(linalg.solve_continuous_lyapunov(A, D))

    def w(D_run):
        x = OUProcess(A, b, D_run).trajectory(np.full((5000, 6), 50.0), [1e308], rng=16)[0]  # (5000, 6)
        return np.linalg.solve(L, (x - b).T)

    assert _scale_power(30_000) > 0.99
    z = w(D)
    assert ks_test(z.ravel(), "norm").passed
    assert z_test_mean(z**2, 1.0, 2.0).passed
    assert z_test_mean(w(1.05 * D) ** 2, 1.0, 2.0).reject


def test_unstable_drift_overflow_is_named():
    with pytest.raises(ValueError, match="^ts:"):
        OUProcess(EIGEN_CASES["unstable-complex"][0], 0.0, 1.0).trajectory([1.0, 1.0], [1e4], rng=0)


def test_ou_trajectory_is_ouprocess_trajectory_and_same_seed_same_bits():
    A, D = EIGEN_CASES["random-8"]
    ts = np.sort(np.random.default_rng(17).uniform(0, 3, 40))
    a = ou_trajectory(np.zeros(8), ts, A, 0.1, D, rng=18)
    b_ = OUProcess(A, 0.1, D).trajectory(np.zeros(8), ts, rng=np.random.default_rng(18))
    assert np.array_equal(a, b_)


def test_ou_solve_mse_against_the_direct_double_sum():
    """Regression (cancellation): the closed form lost 1e-11 relative at m * lambda * dt ~ 1e-3. Oracle: the
    definition (1/m^2) sum_ij rho^|i-j| / lambda summed with math.fsum, for short runs and tiny steps."""
    import math

    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    lam = np.linalg.eigvalsh(A)
    for dt in (1e-12, 1e-7, 1e-3, 0.1, 3.0):
        for m in (1, 2, 3, 17, 400):
            ref = sum(math.fsum([m] + [2 * (m - k) * math.exp(-float(l) * dt * k) for k in range(1, m)]) / m**2 / float(l)
                      for l in lam)
            assert float(ou_solve_mse(A, dt * m, dt)) == pytest.approx(ref, rel=2e-15)
