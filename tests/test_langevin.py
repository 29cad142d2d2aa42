"""Tests of thermoref.langevin against independent references.

Oracles: ``numpy.polynomial`` derivatives, ``scipy.integrate.quad`` for the normalizer, moments, CDF and the
mean first-passage double integral, the Gaussian closed form of Euler–Maruyama in a quadratic potential, and a
scalar Python loop for the deterministic map. Statistical tests: KS / z at alpha = 1e-3 each, on many
independent chains (one draw per chain), with power checks on deliberately wrong laws.
"""

import numpy as np
import pytest
from numpy.polynomial import Polynomial
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
from thermoref.testing import ks_test, z_test

DW = dict(J2=-1.0, J4=1.0, I=0.2)  # tilted double well


def test_potential_and_drift_against_polynomial():
    x = np.linspace(-2, 2, 9)
    P = Polynomial([0.0, -0.3, 0.5 * 1.2, 0.7 / 3, 0.25 * 0.9])  # -I x + J2/2 x^2 + J3/3 x^3 + J4/4 x^4
    kw = dict(J2=1.2, J3=0.7, J4=0.9, I=0.3)
    np.testing.assert_allclose(potential(x, **kw), P(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(drift(x, **kw), -P.deriv()(x), rtol=1e-14, atol=1e-15)


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
    """Quadratic V: after n EM steps from x0, x ~ N(I/J2 + r^n (x0 - I/J2), 2kTh (1 - r^{2n})/(1 - r^2)), r = 1 - J2 h."""
    J2, I, kT, h, n = 1.5, 0.4, 0.3, 0.2, 7
    x = langevin_neuron(np.full(20_000, 1.0), kT=kT, dt=h, t_f=n * h, rng=1, J2=J2, I=I)
    r = 1 - J2 * h
    mean = I / J2 + r**n * (1.0 - I / J2)
    var = 2 * kT * h * (1 - r ** (2 * n)) / (1 - r**2)
    assert ks_test((x - mean) / np.sqrt(var), "norm").passed
    assert ks_test((x - mean) / np.sqrt(kT / J2 * (1 - np.exp(-2 * J2 * n * h))), "norm").reject  # exact OU != EM here


def test_em_long_run_histogram_and_step_bias():
    """Independent chains, one draw each, KS against the quadrature CDF: dt = 0.05 passes, dt = 0.1 is rejected."""
    law = stationary_law(kT=0.5, **DW)
    x = langevin_neuron(np.zeros(20_000), kT=0.5, dt=0.05, t_f=16.0, rng=0, **DW)
    assert ks_test(x, law.cdf).passed
    x_coarse = langevin_neuron(np.zeros(20_000), kT=0.5, dt=0.1, t_f=16.0, rng=0, **DW)
    assert ks_test(x_coarse, law.cdf).reject


def test_mala_is_exact_at_a_large_step():
    law = stationary_law(kT=0.5, **DW)
    x, acc = mala(np.zeros(20_000), 60, kT=0.5, dt=0.5, rng=2, **DW)
    assert 0.5 < acc < 0.95
    assert ks_test(x, law.cdf).passed
    assert ks_test(x, stationary_law(kT=0.6, **DW).cdf).reject  # a 20 % temperature error is caught


def test_rails_confine_and_change_the_law():
    law = stationary_law(kT=0.5, **DW)
    x = langevin_neuron(np.zeros(5000), kT=0.5, dt=0.05, t_f=8.0, rng=3, rails=(-0.5, 0.5), **DW)
    assert x.min() >= -0.5 and x.max() <= 0.5
    assert np.mean(np.abs(x) == 0.5) > 0.1  # mass piles up on the rails
    assert ks_test(x, law.cdf).reject


def test_mfpt_quadrature_against_quad_and_simulation():
    kw = dict(J2=-1.0, J4=1.0)
    kT = 0.25
    T = mean_first_passage_time(-1.0, 1.0, kT=kT, **kw)
    w = lambda u: np.exp(-potential(u, **kw) / kT)  # noqa: E731
    inner = lambda y: integrate.quad(w, -np.inf, y, epsrel=1e-12)[0] / (kT * w(y))  # noqa: E731
    assert T == pytest.approx(integrate.quad(inner, -1.0, 1.0, epsrel=1e-10)[0], rel=1e-7)
    ft = first_passage_times(np.full(2000, -1.0), 1.0, kT=kT, dt=0.01, max_time=200.0, rng=4, **kw)
    assert np.isfinite(ft).all()
    assert z_test(ft.mean(), T, ft.std() / np.sqrt(ft.size)).passed  # EM bias at dt = 0.01 << 1 SE (2 %)


def test_kramers_formula_is_asymptotic():
    kw = dict(J2=-2.0, J4=1.0)  # barrier 1
    ratios = [mean_first_passage_time(-np.sqrt(2), np.sqrt(2), kT=kT, **kw) * kramers_rate(kT=kT, **kw) for kT in (0.05, 0.1, 0.2)]
    assert abs(ratios[0] - 1) < abs(ratios[1] - 1) < abs(ratios[2] - 1)
    assert abs(ratios[0] - 1) < 0.03
    assert kramers_rate(kT=0.1, start="right", **kw) == pytest.approx(kramers_rate(kT=0.1, **kw), rel=1e-12)


def test_parallel_tempering_each_replica_at_its_own_temperature():
    kTs = np.array([1.5, 0.6, 0.25, 0.1])  # rungs hottest first: betas increasing, the target last
    kw = dict(J2=-2.0, J4=1.0, I=0.1)
    res = parallel_tempering(np.full((4, 4000), -1.4), 1 / kTs, 150, dt=0.1, rng=5, steps_per_round=2, **kw)
    assert res.observables.shape == (150, 4, 4000)
    assert ((res.swap_acceptance > 0.05) & (res.swap_acceptance < 1)).all()
    last = res.observables[-1]
    np.testing.assert_array_equal(last, res.states)
    for r, kT in enumerate(kTs):
        assert ks_test(last[r], stationary_law(kT=kT, **kw).cdf).passed
    assert ks_test(last[-1], stationary_law(kT=0.25, **kw).cdf).reject
    # without swaps the cold chain stays trapped in the left well
    x, _ = mala(np.full(4000, -1.4), 300, kT=0.1, dt=0.1, rng=6, **kw)
    assert ks_test(x, stationary_law(kT=0.1, **kw).cdf).reject


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
