"""Tests of thermoref.mixture (PMOG) against independent references.

Oracles: ``solve_ivp`` on the moment ODE written out here term by term, the OU closed form with no switching,
SciPy's normal CDF for the target mixture, and the two-state CTMC closed form for the mode weights. Statistical
tests use ``thermoref.testing`` at alpha = 1e-3 each (Bonferroni-split where one test makes several of a
kind), on independent devices (one draw per device) started from a point mass, against the moments of the
ODE reference. Each is sized for a temperature off by 5 %, in either of the two places a PMOG device has one:
the mode selector (logits * 1.05, caught by the chi-square on the modes: sample size from
``chi_square_sample_size``) and the devices' thermal noise (variances * 1.05, caught by the mean normalized
square: normal power from the exact moments of the alternative); power checks run the sampler with each bug
and the same seed.
"""

import numpy as np
import pytest
from scipy import integrate, special, stats

from thermoref.mixture import mixture_cdf, mixture_pdf, pmog_moments, pmog_sample, pmog_stationary
from thermoref.testing import chi_square_sample_size, chi_square_test, z_test

LOGITS = np.log([0.2, 0.5, 0.3])
MEANS = np.array([-3.0, 0.0, 2.5])
VARS = np.array([0.3, 0.6, 0.2])
RATES = np.array([1.0, 2.0, 1.5])


def _ode_reference(t, x0, q0, r, logits=LOGITS, variances=VARS, rates=RATES):
    p = special.softmax(logits)

    def rhs(_, v):
        pi, m1, m2 = v[:3], v[3:6], v[6:]
        dpi = r * (p * pi.sum() - pi)
        dm1 = rates * (MEANS * pi - m1) + r * (p * m1.sum() - m1)
        dm2 = 2 * rates * (MEANS * m1 + variances * pi - m2) + r * (p * m2.sum() - m2)
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


def _check_sampler_against_ode(t, x0, mode0, q0, r, rates, K, seed):
    """Sampler vs the ODE reference at time t, with power checks against the two 5 % temperature errors.

    (1) Chi-square of the mode counts against the exact weights (alpha = 1e-3); K is at least the size that
        catches logits * 1.05 with power 0.99 (asserted), and the sampler with logits * 1.05 is rejected.
    (2) Per-mode z-tests of the mean against the exact conditional mean (studentized, alpha = 1e-3 / 3 each).
    (3) The mean over devices of (x - mean_m)^2 / var_m, exactly 1 under the null, z-tested with its sample
        standard deviation (studentized; alpha = 1e-3); its shift under variances * 1.05 is computed from the
        ODE at the alternative, the normal power asserted >= 0.99, and the sampler with variances * 1.05 is
        rejected.
    Returns the draws and the reference moments."""
    w, mu, var = _ode_reference(t, x0, q0, r, rates=rates)
    q0_bug = special.softmax(1.05 * LOGITS) if mode0 is None else q0  # mode0=None draws the first mode from p
    w_bug = _ode_reference(t, x0, q0_bug, r, logits=1.05 * LOGITS, rates=rates)[0]
    assert chi_square_sample_size(w, w_bug) <= K
    run = lambda logits, variances: pmog_sample(np.full(K, x0), mode0, t, logits, MEANS, variances,  # noqa: E731
                                                switch_rate=r, relax_rate=rates, rng=seed)
    x, m = run(LOGITS, VARS)
    assert chi_square_test(np.bincount(m, minlength=3), w).passed
    assert chi_square_test(np.bincount(run(1.05 * LOGITS, VARS)[1], minlength=3), w).reject  # power check
    for k in range(3):
        xk = x[m == k]
        assert z_test(xk.mean(), mu[k], xk.std() / np.sqrt(xk.size), alpha=1e-3 / 3).passed
    u = (x - mu[m]) ** 2 / var[m]
    _, mu_hot, var_hot = _ode_reference(t, x0, q0, r, variances=1.05 * VARS, rates=rates)
    shift = np.sum(w * (var_hot + (mu_hot - mu) ** 2) / var) - 1
    se = u.std() / np.sqrt(K)
    assert stats.norm.sf(stats.norm.isf(5e-4) - shift / se) >= 0.99
    assert z_test(u.mean(), 1.0, se).passed
    x_hot, m_hot = run(LOGITS, 1.05 * VARS)  # power check
    assert z_test(np.mean((x_hot - mu[m_hot]) ** 2 / var[m_hot]), 1.0, se).reject
    return x, m, mu


def test_sampler_transient_law():
    """340,000 devices from x = 1 in mode 1, t = 0.8 (r = 0.8): modes, per-mode means and the thermal spread
    against the ODE reference, with power >= 0.99 against logits * 1.05 (321,041 devices needed) and against
    variances * 1.05 (computed ~1); see _check_sampler_against_ode. Power against the no-transit bug (each
    mode at its own target, ignoring devices that arrived from elsewhere): mode 0's mean is rejected."""
    x, m, _ = _check_sampler_against_ode(0.8, 1.0, 1, np.array([0.0, 1.0, 0.0]), 0.8, RATES, 340_000, seed=0)
    x0 = x[m == 0]
    assert z_test(x0.mean(), MEANS[0], x0.std() / np.sqrt(x0.size)).reject


def test_slow_switching_approaches_the_target_mixture():
    """r << a: after t = 12 from x = 0 with modes drawn from p, the exact law (ODE) is within 0.02 of the target
    mixture's means and 8 % of its variances (deterministic); the sampler matches that exact law (120,000
    devices: modes, per-mode means, thermal spread, with power >= 0.99 against logits * 1.05, 106,911 needed,
    and variances * 1.05; see _check_sampler_against_ode)."""
    p = special.softmax(LOGITS)
    w, mu, var = _ode_reference(12.0, 0.0, p, 0.01, rates=RATES * 3)
    np.testing.assert_allclose(w, p, rtol=1e-9)
    assert np.max(np.abs(mu - MEANS)) < 0.02 and np.max(np.abs(var / VARS - 1)) < 0.08  # the pull is small
    law = pmog_stationary(LOGITS, MEANS, VARS, switch_rate=0.01, relax_rate=RATES * 3)
    np.testing.assert_allclose(law.means, mu, rtol=1e-9)  # t = 12 is stationary (e^{-36})
    _check_sampler_against_ode(12.0, 0.0, None, p, 0.01, RATES * 3, 120_000, seed=1)


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
