"""Tests of thermoref.mixture (PMOG) against independent references.

Oracles: ``solve_ivp`` on the moment ODE written out here term by term, the OU closed form with no switching,
SciPy's normal CDF for the target mixture, and the two-state CTMC closed form for the mode weights. Statistical
tests use ``thermoref.testing`` at alpha = 1e-3 each, on independent devices (one draw per device).
"""

import numpy as np
import pytest
from scipy import integrate, special, stats

from thermoref.mixture import mixture_cdf, mixture_pdf, pmog_moments, pmog_sample, pmog_stationary
from thermoref.testing import chi_square_test, ks_test, z_test

LOGITS = np.log([0.2, 0.5, 0.3])
MEANS = np.array([-3.0, 0.0, 2.5])
VARS = np.array([0.3, 0.6, 0.2])
RATES = np.array([1.0, 2.0, 1.5])


def _ode_reference(t, x0, q0, r):
    p = special.softmax(LOGITS)

    def rhs(_, v):
        pi, m1, m2 = v[:3], v[3:6], v[6:]
        dpi = r * (p * pi.sum() - pi)
        dm1 = RATES * (MEANS * pi - m1) + r * (p * m1.sum() - m1)
        dm2 = 2 * RATES * (MEANS * m1 + VARS * pi - m2) + r * (p * m2.sum() - m2)
        return np.concatenate([dpi, dm1, dm2])

    v0 = np.concatenate([q0, q0 * x0, q0 * x0**2])
    v = integrate.solve_ivp(rhs, (0, t), v0, method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
    return v[:3], v[3:6] / v[:3], v[6:] / v[:3] - (v[3:6] / v[:3]) ** 2


@pytest.mark.parametrize("t", [0.05, 0.7, 3.0])
def test_transient_moments_match_ode_integration(t):
    q0 = np.array([0.0, 1.0, 0.0])
    mo = pmog_moments(t, 1.0, q0, LOGITS, MEANS, VARS, switch_rate=0.8, relax_rate=RATES)
    w, m, v = _ode_reference(t, 1.0, q0, 0.8)
    np.testing.assert_allclose(mo.weights, w, rtol=1e-9)
    np.testing.assert_allclose(mo.means, m, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mo.variances, v, rtol=1e-8)


def test_no_switching_is_plain_ou():
    """r = 0: every mode is plain OU from x0. The occupied mode by the ODE; the empty ones (weight 0) report the
    law of a device that starts in them (the limit of a vanishing initial mass there), never NaN."""
    mo = pmog_moments(0.9, 2.0, [0.0, 0.0, 1.0], LOGITS, MEANS, VARS, switch_rate=0.0, relax_rate=RATES)
    assert mo.weights[2] == 1.0 and mo.weights[0] == 0.0
    ou_mean = MEANS + np.exp(-RATES * 0.9) * (2.0 - MEANS)
    ou_var = VARS * (1 - np.exp(-2 * RATES * 0.9))
    np.testing.assert_allclose(mo.means, ou_mean, rtol=1e-13)
    np.testing.assert_allclose(mo.variances, ou_var, rtol=1e-12)


def test_empty_modes_at_time_zero_and_forbidden_modes():
    """t = 0: empty modes report the point mass at x0; a -inf logit: stationary weight 0, own target reported."""
    mo = pmog_moments(0.0, 1.5, [0.0, 1.0, 0.0], LOGITS, MEANS, VARS, switch_rate=0.8, relax_rate=RATES)
    np.testing.assert_array_equal(mo.means, [1.5, 1.5, 1.5])
    np.testing.assert_array_equal(mo.variances, [0.0, 0.0, 0.0])
    st = pmog_stationary([-np.inf, 0.0, 0.0], MEANS, VARS, switch_rate=0.5, relax_rate=RATES)
    assert st.weights[0] == 0.0 and st.means[0] == MEANS[0] and st.variances[0] == VARS[0]
    assert np.isfinite(st.means).all() and st.weights[1:].sum() == pytest.approx(1.0, rel=1e-15)


def test_moments_at_astronomical_times_are_the_stationary_law():
    """t = 1e308 takes the exact stationary limit (e^{-1000} = 0) instead of overflowing the exponential."""
    far = pmog_moments(1e308, 4.0, [0.0, 1.0, 0.0], LOGITS, MEANS, VARS, switch_rate=0.5, relax_rate=RATES)
    st = pmog_stationary(LOGITS, MEANS, VARS, switch_rate=0.5, relax_rate=RATES)
    late = pmog_moments(300.0, 4.0, [0.0, 1.0, 0.0], LOGITS, MEANS, VARS, switch_rate=0.5, relax_rate=RATES)
    np.testing.assert_allclose(far.means, late.means, rtol=1e-12)  # the matrix exponential agrees with the limit
    np.testing.assert_allclose(far.variances, st.variances, rtol=1e-13)


def test_too_many_switching_events_are_refused_not_simulated():
    """The sampler makes one pass per switching event: r t = 1e300 must be refused at once, naming the culprit."""
    with pytest.raises(ValueError, match="^switch_rate:"):
        pmog_sample(np.zeros(3), None, 1.0, LOGITS, MEANS, VARS, switch_rate=1e300, rng=0)
    with pytest.raises(ValueError, match="^t:"):
        pmog_sample(np.zeros(3), None, 1e300, LOGITS, MEANS, VARS, switch_rate=0.5, rng=0)


def test_fractional_initial_mode_is_refused():
    """Regression: mode0 = 0.5 used to be truncated to mode 0."""
    with pytest.raises(TypeError, match="^mode0:"):
        pmog_sample(np.zeros(3), 0.5, 1.0, LOGITS, MEANS, VARS, switch_rate=0.5, rng=0)


def test_mode_weights_two_state_closed_form():
    """Two modes: pi_0(t) = p_0 + (q_0 - p_0) e^{-r t}."""
    lg, mu, var = np.log([0.25, 0.75]), np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    mo = pmog_moments(1.3, 0.0, [1.0, 0.0], lg, mu, var, switch_rate=0.6)
    assert mo.weights[0] == pytest.approx(0.25 + 0.75 * np.exp(-0.6 * 1.3), rel=1e-13)


def test_stationary_closed_form_and_long_time_limit():
    lg, mu, var = np.log([0.4, 0.6]), np.array([-2.0, 1.0]), np.array([0.5, 0.25])
    a, r = 1.5, 0.3
    st = pmog_stationary(lg, mu, var, switch_rate=r, relax_rate=a)
    np.testing.assert_allclose(st.weights, [0.4, 0.6], rtol=1e-15)
    np.testing.assert_allclose(st.means, (a * mu + r * (0.4 * -2.0 + 0.6 * 1.0)) / (a + r), rtol=1e-14)
    late = pmog_moments(200.0, 5.0, [0.0, 1.0], lg, mu, var, switch_rate=r, relax_rate=a)
    np.testing.assert_allclose(late.means, st.means, rtol=1e-10)
    np.testing.assert_allclose(late.variances, st.variances, rtol=1e-10)
    slow = pmog_stationary(lg, mu, var, switch_rate=1e-9, relax_rate=a)
    np.testing.assert_allclose(slow.variances, var, rtol=1e-7)  # r << a: the target mixture


def test_sampler_transient_law():
    """Chi-square on modes vs exact weights; z-tests on per-mode mean and second moment (independent devices)."""
    t, K = 0.8, 60_000
    x, m = pmog_sample(np.full(K, 1.0), 1, t, LOGITS, MEANS, VARS, switch_rate=0.8, relax_rate=RATES, rng=0)
    mo = pmog_moments(t, 1.0, [0.0, 1.0, 0.0], LOGITS, MEANS, VARS, switch_rate=0.8, relax_rate=RATES)
    assert chi_square_test(np.bincount(m, minlength=3), mo.weights).passed
    for k in range(3):
        xk = x[m == k]
        assert z_test(xk.mean(), mo.means[k], xk.std() / np.sqrt(xk.size)).passed
        d2 = (xk - mo.means[k]) ** 2
        assert z_test(d2.mean(), mo.variances[k], d2.std() / np.sqrt(xk.size)).passed
    # power: the no-transit answer (each mode at its own target) is rejected for the mode that started elsewhere
    x0 = x[m == 0]
    assert z_test(x0.mean(), MEANS[0], x0.std() / np.sqrt(x0.size)).reject


def test_slow_switching_stationary_matches_target_mixture_ks():
    """r << a: after a long run, x ~ sum_k p_k N(mu_k, var_k); KS against the exact mixture CDF."""
    x, _ = pmog_sample(np.zeros(8000), None, 12.0, LOGITS, MEANS, VARS, switch_rate=0.01, relax_rate=RATES * 3, rng=1)
    law = pmog_stationary(LOGITS, MEANS, VARS, switch_rate=0.01, relax_rate=RATES * 3)
    assert np.max(np.abs(law.means - MEANS)) < 0.02  # the pull toward the global mean is small
    assert ks_test(x, lambda u: mixture_cdf(u, LOGITS, MEANS, VARS)).passed


def test_mixture_pdf_cdf_against_scipy():
    x = np.linspace(-5, 5, 11)
    p = special.softmax(LOGITS)
    ref_pdf = sum(p[k] * stats.norm.pdf(x, MEANS[k], np.sqrt(VARS[k])) for k in range(3))
    ref_cdf = sum(p[k] * stats.norm.cdf(x, MEANS[k], np.sqrt(VARS[k])) for k in range(3))
    np.testing.assert_allclose(mixture_pdf(x, LOGITS, MEANS, VARS), ref_pdf, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(mixture_cdf(x, LOGITS, MEANS, VARS), ref_cdf, rtol=1e-13, atol=1e-300)


def test_same_seed_same_bits():
    run = lambda rng: pmog_sample(np.zeros(50), None, 3.0, LOGITS, MEANS, VARS, switch_rate=1.0, rng=rng)
    a, b = run(3), run(np.random.default_rng(3))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: pmog_stationary(LOGITS, MEANS[:2], VARS, switch_rate=1.0), "means"),
        (lambda: pmog_stationary(LOGITS, MEANS, -VARS, switch_rate=1.0), "variances"),
        (lambda: pmog_stationary(LOGITS, MEANS, VARS, switch_rate=-1.0), "switch_rate"),
        (lambda: pmog_stationary(LOGITS, MEANS, VARS, switch_rate=1.0, relax_rate=0.0), "relax_rate"),
        (lambda: pmog_stationary([np.nan, 0.0, 0.0], MEANS, VARS, switch_rate=1.0), "logits"),
        (lambda: pmog_moments(1.0, 0.0, [0.5, 0.5], LOGITS, MEANS, VARS, switch_rate=1.0), "mode0_probs"),
        (lambda: pmog_sample(0.0, 5, 1.0, LOGITS, MEANS, VARS, switch_rate=1.0, rng=0), "mode0"),
        (lambda: pmog_sample(0.0, 0, -1.0, LOGITS, MEANS, VARS, switch_rate=1.0, rng=0), "t"),
        (lambda: pmog_sample(0.0, 0, 1.0, LOGITS, MEANS, VARS, switch_rate=1.0, rng=0, tau0=0.0), "tau0"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
