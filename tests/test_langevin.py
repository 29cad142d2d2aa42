"""Tests of thermoref.langevin against independent references.

Oracles: ``numpy.polynomial`` derivatives, ``scipy.integrate.quad`` for the normalizer, moments, CDF and the
mean first-passage double integral, the Gaussian closed form of Euler–Maruyama in a quadratic potential, a
scalar Python loop for the deterministic map, and the exact law of the discrete chains themselves: the
Euler–Maruyama transition kernel (Gaussian) applied to a point mass by quadrature (Chapman–Kolmogorov on a
grid), with and without an absorbing target.

Statistical tests (alpha = 1e-3 each unless stated): z-tests of a sufficient statistic (the mean energy
V(x), or a sum of squared standardized values) against its exact mean and exact variance, and KS for the
shape, on many independent chains (one draw per chain) started far from equilibrium. Each test is sized to
catch a temperature off by 5 % (kT * 1.05) with power >= 0.99, computed in the test by the normal power of
the z-test from the exact moments under both laws, and a power check runs the same sampler at kT * 1.05
with the same seed and sample size and requires a rejection.
"""

import numpy as np
import pytest
from numpy.polynomial import Polynomial, legendre
from scipy import integrate, stats

from thermoref.langevin import (
    drift,
    first_passage_times,
    kramers_rate,
    langevin_neuron,
    mala,
    mean_first_passage_time,
    parallel_tempering,
    potential,
    stationary_law,
)
from thermoref.testing import ks_test, z_test_mean

ALPHA = 1e-3


# ---------------------------------------------------------------------------------------------------------
# Oracles written here from the definitions (they never call thermoref)
# ---------------------------------------------------------------------------------------------------------
def _V(u, J2=0.0, J3=0.0, J4=0.0, I=0.0):
    """V(x) = J2 x^2/2 + J3 x^3/3 + J4 x^4/4 - I x (the definition; checked against Polynomial below)."""
    return 0.5 * J2 * u * u + J3 / 3.0 * u**3 + 0.25 * J4 * u**4 - I * u


def _force(u, J2=0.0, J3=0.0, J4=0.0, I=0.0):
    """-V'(x)."""
    return I - J2 * u - J3 * u * u - J4 * u**3


def _gibbs_moments(f, kT, **kw):
    """Exact mean and variance of f(x) under e^{-V/kT}/Z, by adaptive quadrature on the real line."""
    w = lambda u: np.exp(-_V(u, **kw) / kT)  # noqa: E731
    quad = lambda g: integrate.quad(g, -np.inf, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]  # noqa: E731
    Z = quad(w)
    m = quad(lambda u: f(u) * w(u)) / Z
    return m, quad(lambda u: (f(u) - m) ** 2 * w(u)) / Z


def _gibbs_draws(kT, size, rng, **kw):
    """Exact draws from e^{-V/kT}/Z by inverse CDF on a 2e5-point table (CDF error ~1e-10)."""
    x = np.linspace(-6.0, 6.0, 200_001)
    v = _V(x, **kw)
    cdf = integrate.cumulative_trapezoid(np.exp(-(v - v.min()) / kT), x, initial=0.0)
    return np.interp(rng.random(size), cdf / cdf[-1], x)


def _em_law(x0, kT, h, n_steps, lo=-4.0, hi=4.0, m=801, **kw):
    """Exact law of n Euler–Maruyama steps from the point mass x0: the Gaussian kernel
    q(y | x) = N(y; x - V'(x) h, 2 kT h) applied n times by the trapezoid rule on [lo, hi] (spectrally
    accurate for these smooth, fast-decaying integrands: halving m changes the moments below by < 1e-12).
    Returns the nodes, the weights and the density at the nodes."""
    x = np.linspace(lo, hi, m)
    w = np.full(m, x[1] - x[0])
    w[[0, -1]] /= 2
    s2 = 2.0 * kT * h
    q = lambda y, mu: np.exp(-((y - mu) ** 2) / (2 * s2)) / np.sqrt(2 * np.pi * s2)  # noqa: E731
    K = q(x[None, :], (x + h * _force(x, **kw))[:, None]) * w[:, None]  # (m, m): K[i, j] = w_i q(x_j | x_i)
    p = q(x, x0 + h * _force(x0, **kw))  # (m,) the law after the first step
    for _ in range(n_steps - 1):
        p = p @ K
    return x, w, p


def _law_moments(x, w, p, f):
    m = w @ (f * p)
    return m, w @ ((f - m) ** 2 * p)


def _mala_law_mean(f, x0, kT, h, n_steps, lo=-4.0, hi=4.0, m=401, **kw):
    """E[f(x_n)] for n MALA steps from the point mass x0, by the same quadrature: accepted moves have density
    q(y|x) min(1, e^{-(V(y)-V(x))/kT} q(x|y)/q(y|x)); the rest stays put (an atom at x0 that decays)."""
    x = np.linspace(lo, hi, m)
    w = np.full(m, x[1] - x[0])
    w[[0, -1]] /= 2
    s2 = 2.0 * kT * h

    def moved(a, b):  # density of moving from a to b in one step
        lq = -((b - a - h * _force(a, **kw)) ** 2) / (2 * s2)
        lq_back = -((a - b - h * _force(b, **kw)) ** 2) / (2 * s2)
        log_ratio = -(_V(b, **kw) - _V(a, **kw)) / kT + lq_back - lq
        return np.exp(lq + np.minimum(0.0, log_ratio)) / np.sqrt(2 * np.pi * s2)

    M = moved(x[:, None], x[None, :])  # (m, m)
    stay = 1.0 - M @ w
    from_x0 = moved(x0, x)
    atom_stays = 1.0 - from_x0 @ w
    atom, c = atom_stays, from_x0.copy()
    for _ in range(n_steps - 1):
        c = (c * w) @ M + c * stay + atom * from_x0
        atom *= atom_stays
    return w @ (f(x) * c) + atom * f(x0)


def _em_first_passage(x0, c, kT, h, lo=-4.0, m=200, **kw):
    """Exact mean and variance of tau = h min{k : x_k >= c} for Euler–Maruyama from x0: the kernel killed at
    c (Nystrom on Gauss–Legendre nodes of [lo, c]); with S_k = P(tau > k h) and u the sub-law after one step,
    E[tau/h] = 1 + u (I - K)^-1 1 and E[(tau/h)^2] = sum_k (2k + 1) S_k = 1 + u (I - K)^-1 1 + 2 u (I - K)^-2 1."""
    t, wt = legendre.leggauss(m)
    x = lo + (c - lo) * (t + 1) / 2
    w = wt * (c - lo) / 2
    s2 = 2.0 * kT * h
    q = lambda y, mu: np.exp(-((y - mu) ** 2) / (2 * s2)) / np.sqrt(2 * np.pi * s2)  # noqa: E731
    K = q(x[None, :], (x + h * _force(x, **kw))[:, None]) * w[None, :]  # (m, m)
    u = q(x, x0 + h * _force(x0, **kw)) * w  # (m,)
    g1 = np.linalg.solve(np.eye(m) - K, np.ones(m))
    g2 = np.linalg.solve(np.eye(m) - K, g1)
    m1 = 1.0 + u @ g1
    m2 = m1 + 2.0 * (u @ g2)
    return h * m1, h * h * (m2 - m1 * m1)


def _z_power(delta, sd_null, sd_alt, n, alpha=ALPHA):
    """Power of the two-sided z-test of a mean (known null sd) when the mean shifts by delta and the sd of one
    draw becomes sd_alt: P(|z| > z_{1-alpha/2}) under the alternative (normal approximation)."""
    c = stats.norm.isf(alpha / 2) * sd_null / np.sqrt(n)
    se = sd_alt / np.sqrt(n)
    return float(stats.norm.sf((c - delta) / se) + stats.norm.cdf((-c - delta) / se))


DW = dict(J2=-1.0, J4=1.0, I=0.2)  # tilted double well


def test_potential_and_drift_against_polynomial():
    x = np.linspace(-2, 2, 9)
    P = Polynomial([0.0, -0.3, 0.5 * 1.2, 0.7 / 3, 0.25 * 0.9])  # -I x + J2/2 x^2 + J3/3 x^3 + J4/4 x^4
    kw = dict(J2=1.2, J3=0.7, J4=0.9, I=0.3)
    np.testing.assert_allclose(potential(x, **kw), P(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(drift(x, **kw), -P.deriv()(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(_V(x, **kw), P(x), rtol=1e-14, atol=1e-15)  # the tests' own oracle too
    np.testing.assert_allclose(_force(x, **kw), -P.deriv()(x), rtol=1e-14, atol=1e-15)


def test_stationary_law_against_quad():
    kT = 0.5
    law = stationary_law(kT=kT, **DW)
    w = lambda u: np.exp(-potential(u, **DW) / kT)  # noqa: E731
    Z = integrate.quad(w, -np.inf, np.inf, epsabs=0, epsrel=1e-13)[0]
    assert law.log_Z == pytest.approx(np.log(Z), abs=1e-10)
    m = integrate.quad(lambda u: u * w(u), -np.inf, np.inf, epsabs=0, epsrel=1e-13)[0] / Z
    assert law.mean == pytest.approx(m, abs=1e-10)
    for c in [-1.3, -0.2, 0.0, 0.9]:
        assert law.cdf(c) == pytest.approx(integrate.quad(w, -np.inf, c, epsrel=1e-13)[0] / Z, abs=1e-9)
    assert stationary_law(kT=0.3, J2=2.0).variance == pytest.approx(0.15, rel=1e-10)  # Gaussian: kT/J2


def test_kT_zero_is_a_deterministic_map():
    I = np.array([[-1.0], [0.5], [2.0]])  # (neurons, 1) broadcast over a batch of 4
    x = langevin_neuron(np.zeros((3, 4)), kT=0.0, dt=0.05, t_f=1.0, rng=0, J2=1.0, J4=0.5, I=I)
    assert x.shape == (3, 4) and np.array_equal(x[:, 0], x[:, 3])
    for i, cur in enumerate(I[:, 0]):
        u = 0.0
        for _ in range(20):
            u = u + 0.05 * (cur - u - 0.5 * u**3)
        assert x[i, 0] == pytest.approx(u, rel=1e-14)
    y = langevin_neuron(np.zeros((3, 4)), kT=0.0, dt=0.05, t_f=1.0, rng=99, J2=1.0, J4=0.5, I=I)
    assert np.array_equal(x, y)  # no randomness at kT = 0


def test_em_quadratic_closed_form_ks():
    """Quadratic V: after n EM steps from x0, x ~ N(I/J2 + r^n (x0 - I/J2), 2kTh (1 - r^{2n})/(1 - r^2)), r = 1 - J2 h.

    Statistics on the standardized draws z (i.i.d. N(0, 1) under the null; 40,000 independent chains started
    at the point mass x0 = 1, 7 steps, so a sampler that returns its input fails): KS for the shape, and the
    z-test of mean(z^2) against 1 with the exact variance 2 (chi-square / n), which is the sufficient
    statistic for the scale. alpha = 1e-3 each. A 5 % temperature error multiplies the variance by 1.05:
    mean(z^2) becomes 1.05 with variance 2 * 1.05^2; computed power 0.9999, and the power check (the same
    sampler and seed at kT * 1.05) is rejected.
    """
    J2, I, kT, h, n, K = 1.5, 0.4, 0.3, 0.2, 7, 40_000
    r = 1 - J2 * h
    mean = I / J2 + r**n * (1.0 - I / J2)
    var = 2 * kT * h * (1 - r ** (2 * n)) / (1 - r**2)
    assert _z_power(0.05, np.sqrt(2.0), np.sqrt(2.0) * 1.05, K) > 0.999
    x = langevin_neuron(np.full(K, 1.0), kT=kT, dt=h, t_f=n * h, rng=1, J2=J2, I=I)
    z = (x - mean) / np.sqrt(var)
    assert ks_test(z, "norm").passed
    assert z_test_mean(z**2, 1.0, 2.0).passed
    assert ks_test((x - mean) / np.sqrt(kT / J2 * (1 - np.exp(-2 * J2 * n * h))), "norm").reject  # exact OU != EM here
    hot = langevin_neuron(np.full(K, 1.0), kT=kT * 1.05, dt=h, t_f=n * h, rng=1, J2=J2, I=I)  # power check
    assert z_test_mean(((hot - mean) / np.sqrt(var)) ** 2, 1.0, 2.0).reject


def test_em_matches_its_exact_n_step_law_and_is_biased():
    """Double well, 60,000 independent chains from the point mass x0 = -1 (the shallower well), 320 EM steps of
    dt = 0.05. Null: the exact law of the EM chain after 320 steps (its Gaussian kernel applied to the point
    mass by quadrature), not e^{-V/kT}: EM at a finite step has its own law.

    Statistic: z-test of the mean energy V(x) against its exact mean with its exact variance (both from the
    quadrature law), plus KS against the quadrature CDF for the shape; alpha = 1e-3 each. Power against
    kT * 1.05 (the same chain's exact law at the higher temperature): computed 0.997 (asserted >= 0.99), and
    the power check runs the sampler at kT * 1.05 with the same seed. The same draws reject e^{-V/kT} (EM's
    step bias, 9 standard errors here), and the quadrature law itself tends to e^{-V/kT} as dt -> 0 (checked
    at dt = 0.005).
    """
    kT, h, n, K = 0.5, 0.05, 320, 60_000
    x, w, p = _em_law(-1.0, kT, h, n, **DW)
    Vx = _V(x, **DW)
    m0, v0 = _law_moments(x, w, p, Vx)
    xa, wa, pa = _em_law(-1.0, kT * 1.05, h, n, **DW)
    m1, v1 = _law_moments(xa, wa, pa, _V(xa, **DW))
    assert abs(w @ p - 1) < 1e-9  # the quadrature keeps the mass
    assert _z_power(m1 - m0, np.sqrt(v0), np.sqrt(v1), K) >= 0.99
    cdf_table = integrate.cumulative_trapezoid(p, x, initial=0.0)
    cdf = lambda u: np.interp(u, x, cdf_table / cdf_table[-1])  # noqa: E731

    draws = langevin_neuron(np.full(K, -1.0), kT=kT, dt=h, t_f=n * h, rng=0, **DW)
    assert z_test_mean(_V(draws, **DW), m0, v0).passed
    assert ks_test(draws, cdf).passed
    m_pi, v_pi = _gibbs_moments(lambda u: _V(u, **DW), kT, **DW)
    assert z_test_mean(_V(draws, **DW), m_pi, v_pi).reject  # EM's step bias is resolved
    hot = langevin_neuron(np.full(K, -1.0), kT=kT * 1.05, dt=h, t_f=n * h, rng=0, **DW)  # power check
    assert z_test_mean(_V(hot, **DW), m0, v0).reject
    # the oracle itself: at a 10x smaller step (same time) its law approaches e^{-V/kT}
    xs, ws, ps = _em_law(-1.0, kT, h / 10, n * 10, lo=-3.5, hi=3.5, m=201, **DW)  # kernel sd / spacing = 2
    assert abs(_law_moments(xs, ws, ps, _V(xs, **DW))[0] - m_pi) < 0.15 * abs(m0 - m_pi)


def test_mala_is_exact_at_a_large_step():
    """MALA at dt = 0.5 (ten times EM's step above), 50,000 independent chains from the point mass x0 = -1.

    Null: e^{-V/kT} (quadrature). Burn-in: the exact law after 60 MALA steps (its kernel applied to the point
    mass by quadrature) has E[V] within 1e-5 of the stationary value, asserted below to be under 5 % of the
    test's standard error, so the z-test's level is alpha = 1e-3 up to a negligible shift. Statistic: z-test
    of the mean energy V(x) with the exact variance (the sufficient statistic for kT), and KS for the shape.
    Power against kT * 1.05: computed 0.994 (exact moments at both temperatures); power check: the same
    sampler and seed at kT * 1.05 is rejected, and so is a 20 % error by KS.
    """
    kT, h, n, K = 0.5, 0.5, 60, 50_000
    law = stationary_law(kT=kT, **DW)
    energy = lambda u: _V(u, **DW)  # noqa: E731
    m0, v0 = _gibbs_moments(energy, kT, **DW)
    m1, v1 = _gibbs_moments(energy, kT * 1.05, **DW)
    assert _z_power(m1 - m0, np.sqrt(v0), np.sqrt(v1), K) >= 0.99
    assert abs(_mala_law_mean(energy, -1.0, kT, h, n, **DW) - m0) < 0.05 * np.sqrt(v0 / K)
    x, acc = mala(np.full(K, -1.0), n, kT=kT, dt=h, rng=2, **DW)
    assert 0.5 < acc < 0.95
    assert z_test_mean(energy(x), m0, v0).passed
    assert ks_test(x, law.cdf).passed
    hot, _ = mala(np.full(K, -1.0), n, kT=kT * 1.05, dt=h, rng=2, **DW)  # power check
    assert z_test_mean(energy(hot), m0, v0).reject
    assert ks_test(x, stationary_law(kT=0.6, **DW).cdf).reject  # a 20 % temperature error, by KS alone


def test_rails_confine_and_change_the_law():
    """Rails clip the state (deterministic checks) and change the law: KS against e^{-V/kT} rejects at
    alpha = 1e-3. A gross difference, not a sized test: e^{-V/kT} puts 53 % of its mass above the upper rail,
    which no clipped draw can reach, so D >= 0.5 against the critical value 0.028 at n = 5000."""
    law = stationary_law(kT=0.5, **DW)
    x = langevin_neuron(np.zeros(5000), kT=0.5, dt=0.05, t_f=8.0, rng=3, rails=(-0.5, 0.5), **DW)
    assert x.min() >= -0.5 and x.max() <= 0.5
    assert np.mean(np.abs(x) == 0.5) > 0.1  # mass piles up on the rails
    assert ks_test(x, law.cdf).reject


def test_mfpt_quadrature_against_quad():
    kw = dict(J2=-1.0, J4=1.0)
    kT = 0.25
    T = mean_first_passage_time(-1.0, 1.0, kT=kT, **kw)
    w = lambda u: np.exp(-potential(u, **kw) / kT)  # noqa: E731
    inner = lambda y: integrate.quad(w, -np.inf, y, epsrel=1e-12)[0] / (kT * w(y))  # noqa: E731
    assert T == pytest.approx(integrate.quad(inner, -1.0, 1.0, epsrel=1e-10)[0], rel=1e-7)


def test_first_passage_times_against_the_exact_discrete_law():
    """8,000 independent walkers from x = -1 to x >= 1 (kT = 0.25, dt = 0.05). Null: the exact mean and
    variance of the EM first-passage time (the kernel killed at the target, solved by quadrature), not the
    continuous-time value: discrete monitoring delays the passage by O(sqrt dt) (2.7 % here, 1.6 % at
    dt = 0.01, 0.6 % at dt = 0.001, shrinking toward mean_first_passage_time: checked).

    Statistic: z-test of the mean passage time with the exact variance; alpha = 1e-3. Power against kT * 1.05
    (the passage is 5.6 % faster): computed 0.994 (asserted >= 0.99); power check at kT * 1.05, same seed.
    """
    kw = dict(J2=-1.0, J4=1.0)
    kT, h, K = 0.25, 0.05, 8000
    m0, v0 = _em_first_passage(-1.0, 1.0, kT, h, **kw)
    m1, v1 = _em_first_passage(-1.0, 1.0, kT * 1.05, h, **kw)
    assert _z_power(m1 - m0, np.sqrt(v0), np.sqrt(v1), K) >= 0.99
    T = mean_first_passage_time(-1.0, 1.0, kT=kT, **kw)
    bias = [_em_first_passage(-1.0, 1.0, kT, step, m=m, **kw)[0] / T - 1
            for step, m in ((h, 200), (0.01, 200), (0.001, 400))]
    assert bias[0] > bias[1] > bias[2] > 0 and bias[2] < 0.01
    ft = first_passage_times(np.full(K, -1.0), 1.0, kT=kT, dt=h, max_time=400.0, rng=4, **kw)
    assert np.isfinite(ft).all()
    assert z_test_mean(ft, m0, v0).passed
    hot = first_passage_times(np.full(K, -1.0), 1.0, kT=kT * 1.05, dt=h, max_time=400.0, rng=4, **kw)
    assert z_test_mean(hot, m0, v0).reject


def test_kramers_formula_is_asymptotic():
    kw = dict(J2=-2.0, J4=1.0)  # barrier 1
    ratios = [mean_first_passage_time(-np.sqrt(2), np.sqrt(2), kT=kT, **kw) * kramers_rate(kT=kT, **kw) for kT in (0.05, 0.1, 0.2)]
    assert abs(ratios[0] - 1) < abs(ratios[1] - 1) < abs(ratios[2] - 1)
    assert abs(ratios[0] - 1) < 0.03
    assert kramers_rate(kT=0.1, start="right", **kw) == pytest.approx(kramers_rate(kT=0.1, **kw), rel=1e-12)


PT = dict(J2=-2.0, J4=1.0, I=0.1)  # barrier 1, the right well lower by ~0.28
PT_KTS = np.array([1.5, 0.6, 0.25, 0.1])  # rungs hottest first: betas increasing, the target last


def test_parallel_tempering_escapes_the_wrong_well():
    """All 4 x 4000 replicas start in the wrong (left) well. Statistic: KS of each rung's final states against
    its own e^{-V/kT} (alpha = 1e-3 / 4 per rung, Bonferroni). Sized for the bugs of tempering, not for a 5 %
    temperature error (see the next test): a cold chain that stays trapped (MALA alone, no swaps: rejected
    below) and a rung sampling its neighbour's law (the cold replica against kT = 0.25: rejected)."""
    res = parallel_tempering(np.full((4, 4000), -1.4), 1 / PT_KTS, 150, dt=0.1, rng=5, steps_per_round=2, **PT)
    assert res.observables.shape == (150, 4, 4000)
    assert ((res.swap_acceptance > 0.05) & (res.swap_acceptance < 1)).all()
    last = res.observables[-1]
    np.testing.assert_array_equal(last, res.states)
    np.testing.assert_allclose(res.energies[-1], _V(last, **PT), rtol=1e-12, atol=1e-14)
    for r, kT in enumerate(PT_KTS):
        assert ks_test(last[r], stationary_law(kT=kT, **PT).cdf, alpha=ALPHA / 4).passed
    assert ks_test(last[-1], stationary_law(kT=0.25, **PT).cdf, alpha=ALPHA / 4).reject
    # without swaps the cold chain stays trapped in the left well
    x, _ = mala(np.full(4000, -1.4), 300, kT=0.1, dt=0.1, rng=6, **PT)
    assert ks_test(x, stationary_law(kT=0.1, **PT).cdf).reject


def test_parallel_tempering_keeps_every_rung_at_its_own_temperature():
    """Invariance of the product law, with the power to see a 5 % temperature error. 10,000 independent runs
    start from exact draws of prod_r e^{-beta_r V(x_r)} (inverse CDF by quadrature) and make 20 rounds; the
    product law must hold exactly after every round (no burn-in enters the null).

    Statistic: the score statistic of a common scale of the ladder, S = mean over runs of sum_r beta_r V(x_r),
    z-tested against its exact mean and variance (quadrature; the rungs are independent under the product law);
    alpha = 1e-3. Power against betas * 1.05: 1.00 computed at the alternative's equilibrium (per-run shift
    0.075 sd, needing 5,500 runs for 0.99), 1.00 measured after 20 rounds from the null's start (100 seeds,
    smallest |z| 4.1); the power check below runs the same seed at betas * 1.05. A sampler that returns its
    input passes this test; the previous one rejects it.
    """
    betas, K, rounds = 1 / PT_KTS, 10_000, 20
    mom = np.array([_gibbs_moments(lambda u: _V(u, **PT), kT, **PT) for kT in PT_KTS])  # (4, 2)
    mom_alt = np.array([_gibbs_moments(lambda u: _V(u, **PT), kT / 1.05, **PT) for kT in PT_KTS])
    mean, var = betas @ mom[:, 0], betas**2 @ mom[:, 1]
    assert _z_power(betas @ mom_alt[:, 0] - mean, np.sqrt(var), np.sqrt(betas**2 @ mom_alt[:, 1]), K) > 0.999
    rng = np.random.default_rng(7)
    x0 = np.stack([_gibbs_draws(kT, K, rng, **PT) for kT in PT_KTS])  # (4, K)
    res = parallel_tempering(x0, betas, rounds, dt=0.1, rng=8, steps_per_round=2, **PT)
    assert ((res.swap_acceptance > 0.05) & (res.swap_acceptance < 1)).all()
    assert z_test_mean(betas @ _V(res.states, **PT), mean, var).passed
    cold = parallel_tempering(x0, betas * 1.05, rounds, dt=0.1, rng=8, steps_per_round=2, **PT)  # power check
    assert z_test_mean(betas @ _V(cold.states, **PT), mean, var).reject


def test_same_seed_same_bits():
    f = lambda rng: langevin_neuron(np.zeros(10), kT=0.3, dt=0.1, t_f=1.0, rng=rng, **DW)  # noqa: E731
    assert np.array_equal(f(3), f(np.random.default_rng(3)))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: langevin_neuron(0.0, kT=-1.0, dt=0.1, t_f=1.0, rng=0), "kT"),
        (lambda: langevin_neuron(0.0, kT=1.0, dt=0.0, t_f=1.0, rng=0), "dt"),
        (lambda: langevin_neuron(0.0, kT=1.0, dt=0.3, t_f=1.0, rng=0), "t_f"),
        (lambda: langevin_neuron(np.nan, kT=1.0, dt=0.1, t_f=1.0, rng=0), "x0"),
        (lambda: langevin_neuron(0.0, kT=1.0, dt=0.1, t_f=1.0, rng=0, tau0=-1.0), "tau0"),
        (lambda: langevin_neuron(0.0, kT=1.0, dt=0.1, t_f=1.0, rng=0, rails=(1.0, -1.0)), "rails"),
        (lambda: langevin_neuron(5.0, kT=0.5, dt=0.5, t_f=50.0, rng=0, J2=-1.0, J4=1.0), "dt"),
        (lambda: stationary_law(kT=1.0, J2=-1.0), "J4"),
        (lambda: stationary_law(kT=0.0, J2=1.0), "kT"),
        (lambda: kramers_rate(kT=0.1, J2=1.0, J4=1.0), "J2"),
        (lambda: mean_first_passage_time(1.0, -1.0, kT=0.2, J2=-1.0, J4=1.0), "c"),
        (lambda: parallel_tempering(np.zeros((2, 2)), [0.2, 0.1], 5, dt=0.1, rng=0), "betas"),
        (lambda: parallel_tempering(np.zeros((3, 2)), [0.1, 0.2], 5, dt=0.1, rng=0), "x0"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_stats_module_normal_reference():
    """stationary_law for a harmonic well is N(I/J2, kT/J2): CDF equals SciPy's to quadrature accuracy."""
    law = stationary_law(kT=0.4, J2=2.0, I=1.0)
    u = np.linspace(-1, 2, 7)
    np.testing.assert_allclose(law.cdf(u), stats.norm.cdf(u, 0.5, np.sqrt(0.2)), atol=1e-8)


# ---------------------------------------------------------------------------------------------------------
# Extreme but valid input: refused by name (never a hang), or the limit
# ---------------------------------------------------------------------------------------------------------
def test_stationary_law_extreme_temperatures_are_refused_at_once():
    """Regression: kT = 1e308 used to hang (one grid step at a time out to |x| ~ 1e77); kT = 5e-324 gave NaN."""
    import time

    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="^kT:"):
        stationary_law(kT=1e308, **DW)
    with pytest.raises(ValueError, match="^kT:.*point mass"):
        stationary_law(kT=5e-324, **DW)
    with pytest.raises(ValueError, match="^kT:"):
        mean_first_passage_time(-1.0, 1.0, kT=1e308, J2=-1.0, J4=1.0)
    assert time.perf_counter() - t0 < 2.0


def test_stationary_law_wide_and_narrow_laws_against_closed_forms():
    """Doubling steps and grid tightening keep quadrature exact: Gaussian variance kT/J2 at kT = 1e4 and 1e-8."""
    for kT in (1e4, 1e-8):
        law = stationary_law(kT=kT, J2=2.0, I=0.3)
        assert law.variance == pytest.approx(kT / 2.0, rel=1e-8)
        assert law.mean == pytest.approx(0.15, rel=1e-8, abs=1e-12)


def test_errors_name_the_coefficient_at_fault():
    with pytest.raises(ValueError, match="^J4:"):
        kramers_rate(kT=0.2, J2=-1.0, J4=-1.0)
    with pytest.raises(ValueError, match="^I:"):
        kramers_rate(kT=0.2, J2=-1.0, J4=1.0, I=5.0)  # the tilt removes the second well
    with pytest.raises(ValueError, match="^J4:"):  # not "dt": no step makes a repelling quartic converge
        langevin_neuron(np.full(10, 1.0), kT=0.1, dt=0.01, t_f=100.0, rng=0, J2=1.0, J4=-1.0)
    with pytest.raises(ValueError, match="^x:"):
        potential(1e200, J4=1.0)


def test_mala_empty_batch_and_zero_kT_limits():
    x, acc = mala(np.zeros(0), 5, kT=0.5, dt=0.1, rng=0, **DW)
    assert x.shape == (0,) and acc == 0.0
    x = langevin_neuron(np.zeros((0, 3)), kT=0.5, dt=0.1, t_f=1.0, rng=0, **DW)
    assert x.shape == (0, 3)
