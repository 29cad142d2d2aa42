"""Tests of thermoref.ou and thermoref.ou_linalg against independent references.

Oracles: closed forms (scalar OU), SciPy's ``solve_continuous_lyapunov`` and ``expm`` (full drifts, via
Sigma(t) = Sigma_inf - e^{-At} Sigma_inf e^{-A^T t}), the Kronecker-product Lyapunov solve, ``solve_ivp`` on the
covariance ODE, and ``numpy.linalg``. Statistical tests use ``thermoref.testing`` at alpha = 1e-3 each.
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
    """KS on Mahalanobis-whitened draws (null: N(0, 1), alpha = 1e-3); power check on a 5 % scale error."""
    A, D, t, x0 = NONNORMAL, np.array([[2.0, 0.5], [0.5, 1.0]]), 0.8, np.array([1.0, -2.0])
    x = ou_sample(x0, t, A, 0.5, D, rng=0, size=20_000)
    mean = 0.5 + linalg.expm(-A * t) @ (x0 - 0.5)
    L = np.linalg.cholesky(_lyapunov_reference(A, D, t))
    w = np.linalg.solve(L, (x - mean).T)  # (2, K), iid N(0,1) under the null
    assert ks_test(w, "norm").passed
    assert z_test_mean(w[0] * w[1], 0.0, 1.0).passed  # pair statistic: whitened coordinates uncorrelated
    assert ks_test(w / 1.05, "norm").reject


def test_sample_diagonal_ks_and_trajectory_pairs():
    a, D = np.array([0.3, 1.0, 4.0]), np.array([1.0, 2.0, 8.0])
    x = ou_sample(np.ones(3), 0.5, a, 0.0, D, rng=1, size=10_000)
    sd = np.sqrt(D * (1 - np.exp(-a)) / (2 * a))
    assert ks_test((x - np.exp(-0.5 * a)) / sd, "norm").passed
    # trajectory: joint law of consecutive points; x1 | x0 is the exact transition (independent devices)
    ts = np.array([0.2, 0.9, 0.9, 2.0])
    path = ou_trajectory(np.zeros((20_000, 3)), ts, a, 1.0, D, rng=2)
    dts = np.diff(ts, prepend=0.0)
    prev = np.concatenate([np.zeros((1, 20_000, 3)), path[:-1]])
    mu = 1.0 + np.exp(-a * dts[:, None, None]) * (prev - 1.0)
    sd = np.sqrt(D * (-np.expm1(-2 * a * dts[:, None, None])) / (2 * a))
    ok = dts > 0
    assert ks_test(((path - mu)[ok] / sd[ok]).ravel()[::3], "norm").passed
    assert np.array_equal(path[1], path[2])  # zero-length step leaves the state unchanged


def test_dense_trajectory_stationary_autocovariance():
    """Devices started from the stationary law: lag-1 cross-covariance matches e^{-A dt} Sigma_inf (z-tests)."""
    A, D, dt = NONNORMAL, 2.0 * np.eye(2), 0.4
    _, S = ou_stationary(A, 0.0, D)
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((40_000, 2)) @ np.linalg.cholesky(S).T
    path = ou_trajectory(x0, [dt], A, 0.0, D, rng=rng)
    C = ou_autocovariance([dt], A, D)[0]
    np.testing.assert_allclose(C, linalg.expm(-A * dt) @ linalg.solve_continuous_lyapunov(A, D), rtol=1e-12)
    prod = path[0][:, :, None] * x0[:, None, :]  # (K, 2, 2) samples of x(t+dt) x(t)^T
    for i in range(2):
        for j in range(2):
            v = prod[:, i, j]
            assert z_test(v.mean(), C[i, j], v.std() / np.sqrt(v.size)).passed


def test_euler_maruyama_bias_closed_form_and_exact_has_none():
    """EM's stationary variance D/(a(2 - a dt)) vs exact D/(2a): z-tests on many independent chains."""
    a, D, dt = 1.0, 2.0, 0.5
    x = ou_euler_maruyama(np.zeros(40_000), dt, 60, a, 0.0, D, rng=4)[-1]
    v_em = float(em_stationary_variance(a, D, dt))
    assert v_em == pytest.approx(D / (a * (2 - a * dt)), rel=1e-15)
    se = v_em * np.sqrt(2 / x.size)
    assert z_test(np.mean(x**2), v_em, se).passed
    assert z_test(np.mean(x**2), D / (2 * a), se).reject  # EM at dt=0.5 is 33 % off: detected
    y = ou_trajectory(np.zeros(40_000), dt * np.arange(1, 61), a, 0.0, D, rng=5)[-1]
    assert z_test(np.mean(y**2), D / (2 * a), (D / (2 * a)) * np.sqrt(2 / y.size)).passed


def test_same_seed_same_bits():
    args = (np.zeros(4), 0.3, np.ones(4), 0.0, 1.0)
    assert np.array_equal(ou_sample(*args, rng=7, size=5), ou_sample(*args, rng=np.random.default_rng(7), size=5))


def test_ou_solve_against_numpy_and_exact_mse():
    """Mean squared error over 300 devices vs the exact AR(1) prediction (z-test; chi-square-like sum)."""
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.5, 0.3], [0.0, 0.3, 1.0]])
    Y = np.random.default_rng(6).standard_normal((300, 3))
    r = ou_solve(A, Y, t_f=40.0, dt=0.25, burn_in=30.0, rng=7)
    err2 = ((r.estimate - np.linalg.solve(A, Y.T).T) ** 2).sum(-1)
    mse = float(ou_solve_mse(A, 40.0, 0.25))
    assert z_test(err2.mean(), mse, err2.std() / np.sqrt(err2.size)).passed
    assert r.running.shape == (160, 300, 3) and r.times[-1] == pytest.approx(40.0)
    # dt -> 0: the continuous time average, sum_i 2/(l_i^2 t)(1 - (1 - e^{-l_i t})/(l_i t)) ~ 2 tr(A^-2)/t_f
    lam, t = np.linalg.eigvalsh(A), 400.0
    cont = np.sum(2 / (lam**2 * t) * (1 - (1 - np.exp(-lam * t)) / (lam * t)))
    assert float(ou_solve_mse(A, t, 1e-3)) == pytest.approx(cont, rel=1e-5)


def test_ou_inverse_against_numpy():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    r = ou_inverse(A, t_f=100.0, dt=0.5, n_devices=200, burn_in=15.0, rng=8)
    np.testing.assert_allclose(r.estimate, np.linalg.inv(A), atol=0.03)  # ~6 standard errors


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
    """The scalar stationary law is N(b, D/2a): KS of exact long-time draws."""
    x = ou_sample(np.zeros(5000), 50.0, 2.0, 1.0, 1.0, rng=9)
    assert ks_test(x, stats.norm(1.0, 0.5).cdf).passed


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


def _whitened_innovations(path, x0, ts, A, b, D):
    """Oracle whitening of every transition of a path: z_k = L_k^-1 (x_k - b - e^{-A h_k}(x_{k-1} - b))."""
    prev = np.concatenate([x0[None], path[:-1]])
    hs = np.diff(ts, prepend=0.0)
    cache = {}
    out = []
    for k, h in enumerate(hs):
        if h not in cache:
            cache[h] = linalg.expm(-A * h), np.linalg.cholesky(_van_loan(A, D, h))
        E, L = cache[h]
        out.append(np.linalg.solve(L, path[k] - b - E @ (prev[k] - b)))
    return np.array(out)  # (m, n)


def test_eigen_path_irregular_grid_far_from_equilibrium_ks():
    """One device, 1500 transitions on an irregular grid (distinct tiny steps: quadrature branch; a repeated
    step of 0.7: Cholesky branch), started 10-20 sd away from its stationary law, complex non-normal drift.

    Statistic: KS of the 4 * 1500 whitened innovations against N(0, 1) (each transition whitened with the exact
    law from SciPy, so the values are i.i.d. under the null), plus a z-test of the lag-1 product of consecutive
    innovations (pair statistic). alpha = 1e-3 each. Power: whitening with e^{-A^T h} instead of e^{-A h} (the
    transpose bug) or with a 10 % larger noise scale is rejected.
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
    path = dev.trajectory(x0, ts, rng=12)
    z = _whitened_innovations(path, x0, ts, A, b, D)
    assert ks_test(z.ravel(), "norm").passed
    assert z_test_mean(z[1:, 0] * z[:-1, 0], 0.0, 1.0).passed
    assert ks_test(z.ravel() / 1.1, "norm").reject
    prev = np.concatenate([x0[None], path[:-1]])
    wrong = [np.linalg.solve(np.linalg.cholesky(_van_loan(A, D, hk)), path[k] - b - linalg.expm(-A.T * hk) @ (prev[k] - b))
             for k, hk in enumerate(steps[:200])]
    assert ks_test(np.ravel(wrong), "norm").reject


def test_eigen_path_many_devices_each_step_exact():
    """20,000 devices (Cholesky branch), six irregular steps from a far start: per-step KS of whitened values."""
    A, D = EIGEN_CASES["nonnormal-complex-6"]
    b = np.linspace(-1.0, 1.0, 6)
    ts = np.array([0.05, 0.12, 0.5, 0.5, 1.3, 4.0])
    x0 = np.full((20_000, 6), 6.0)
    path = OUProcess(A, b, D).trajectory(x0, ts, rng=13)
    assert np.array_equal(path[2], path[3])  # a zero step leaves the state exactly unchanged
    prev = np.concatenate([x0[None], path[:-1]])
    for k, hk in enumerate(np.diff(ts, prepend=0.0)):
        if hk == 0:
            continue
        L = np.linalg.cholesky(_van_loan(A, D, hk))
        z = np.linalg.solve(L, (path[k] - b - (prev[k] - b) @ linalg.expm(-A * hk).T).T)
        assert ks_test(z.ravel()[::3], "norm", alpha=1e-3 / 5).passed  # Bonferroni over the five steps


def test_series_fallback_path_is_exact_too():
    """A nearly defective drift (kappa ~ 2e6) takes the series path; its whitened innovations are N(0, 1)."""
    A, b, D = np.array([[1.0, 1.0], [0.0, 1.0 + 1e-6]]), np.array([0.3, -0.2]), np.eye(2)
    dev = OUProcess(A, b, D)
    assert dev.method == "series"
    ts = np.cumsum(np.random.default_rng(14).exponential(0.3, 400))
    x0 = np.array([9.0, -7.0])
    z = _whitened_innovations(dev.trajectory(x0, ts, rng=15), x0, ts, A, b, D)
    assert ks_test(z.ravel(), "norm").passed


def test_trajectory_long_step_reaches_the_stationary_law():
    """A single step of 1e308 time units (a stable drift): exact draws from N(b, Sigma_inf), KS on whitened."""
    A, D = EIGEN_CASES["nonnormal-complex-6"]
    b = np.arange(6.0)
    x = OUProcess(A, b, D).trajectory(np.full((4000, 6), 50.0), [1e308], rng=16)[0]
    S = linalg.solve_continuous_lyapunov(A, D)
    assert ks_test(np.linalg.solve(np.linalg.cholesky(S), (x - b).T).ravel(), "norm").passed


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
