"""HardwareModel and its laws against independent oracles: enumeration, closed forms, SciPy quadrature.

Stochastic tests: chi-square of many independent chains' final states (never autocorrelated draws) against an
exact law, at alpha = 1e-3 each as if the seed were random; each is paired with a power check that the same
statistic at the same sample size rejects the bug it is sized for (a 5 % temperature error unless stated).
"""

import numpy as np
import pytest
from scipy import integrate, special, stats

from thermoref.backend import BiasedUniforms, ExactBackend, NumpyBackend, SamplingUnit
from thermoref.backend.dac import dac_quantize, dac_step, ising_log_ratio_bound, kl_bound, log_ratio_bound
from thermoref.backend.hardware import HardwareModel, noisy_sigmoid, noisy_sigmoid_approx
from thermoref.ising import IsingModel, exact_law
from thermoref.testing import enumerate_states

ALPHA = 1e-3
N_CHAINS = 20_000


def _model(n=5, seed=1, field=0.5):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.normal(size=(n, n)), 1)
    return A + A.T, field * rng.normal(size=n)


def _counts(s):
    n = s.shape[1]
    return np.bincount((s > 0).astype(np.int64) @ (2 ** np.arange(n)[::-1]), minlength=2**n)


def _chi2_p(counts, p):
    """Chi-square p-value of counts against law p, bins with expected count < 5 merged into one."""
    e = p * counts.sum()
    small = e < 5
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(e[~small], e[small].sum())
    keep = exp > 0
    return stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue


def _peretto(J, h, beta):
    """Peretto's stationary law of synchronous heat-bath updates, pi(s) ~ e^{beta h.s} prod_i cosh(beta phi_i)."""
    S = enumerate_states(J.shape[0]).astype(float)
    logw = beta * S @ h + np.log(np.cosh(beta * (S @ J + h))).sum(axis=1)
    w = np.exp(logw - logw.max())
    return w / w.sum()


# ---------------------------------------------------------------------------------------------------------
# DAC and bounds
# ---------------------------------------------------------------------------------------------------------
def test_dac_is_the_nearest_level_of_the_mid_tread_grid():
    rng = np.random.default_rng(0)
    for bits, F in [(2, 1.0), (3, 3.0), (5, 2.5), (8, 10.0)]:
        levels = np.linspace(-F, F, 2**bits - 1)  # independent construction of the 2^b - 1 levels
        x = rng.uniform(-1.5 * F, 1.5 * F, 2000)
        brute = levels[np.abs(x[:, None] - levels).argmin(axis=1)]
        np.testing.assert_allclose(dac_quantize(x, bits, F), brute, rtol=0, atol=1e-12 * F)
        assert dac_quantize(0.0, bits, F) == 0.0
        assert dac_step(bits, F) == pytest.approx(levels[1] - levels[0], rel=1e-14)


def test_logit_bounds_hold_against_the_exact_softmax_and_are_nearly_tight():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n, beta, bits = rng.integers(2, 40), rng.uniform(0.1, 3.0), rng.integers(2, 8)
        F = rng.uniform(1.0, 6.0)
        ell = rng.normal(scale=rng.uniform(0.5, 4.0), size=n)
        q = dac_quantize(ell, bits, F)
        d = q - ell
        lr = np.abs(special.log_softmax(beta * q) - special.log_softmax(beta * ell)).max()
        p = special.softmax(beta * ell)
        kl = np.sum(p * (special.log_softmax(beta * ell) - special.log_softmax(beta * q)))
        assert lr <= log_ratio_bound(d, beta) * (1 + 1e-12) + 1e-14
        assert log_ratio_bound(d, beta) <= 2 * beta * np.abs(d).max() * (1 + 1e-12)
        assert kl <= kl_bound(d, beta) * (1 + 1e-12) + 1e-15
        if np.abs(ell).max() <= F:
            assert log_ratio_bound(d, beta) <= beta * dac_step(bits, F) * (1 + 1e-12)
    # tightness: p on the category with the smallest delta, look at the one with the largest
    ell, d = np.array([0.0, -40.0]), np.array([-0.25, 0.25])
    lr = np.abs(special.log_softmax(ell + d) - special.log_softmax(ell)).max()
    assert lr / log_ratio_bound(d, 1.0) > 0.999


def test_ising_bounds_hold_against_enumeration():
    rng = np.random.default_rng(2)
    worst = 0.0
    for k in range(30):
        n = int(rng.integers(2, 7))
        J, h = _model(n, seed=100 + k)
        beta, bits = rng.uniform(0.2, 1.5), int(rng.integers(2, 6))
        Jq, hq = dac_quantize(J, bits, 2.0), dac_quantize(h, bits, 2.0)
        p, pq = exact_law(IsingModel(J, h), beta), exact_law(IsingModel(Jq, hq), beta)
        lr = np.abs(np.log(pq.p) - np.log(p.p)).max()
        bound = ising_log_ratio_bound(Jq - J, hq - h, beta)
        assert lr <= log_ratio_bound(-(pq.E - p.E), beta) * (1 + 1e-12) <= bound * (1 + 1e-12) + 1e-14
        kl = np.sum(p.p * (np.log(p.p) - np.log(pq.p)))
        assert kl <= kl_bound(-(pq.E - p.E), beta) + 1e-14
        worst = max(worst, lr / bound)
    assert worst > 0.2  # the coarse bound is not vacuous somewhere


def test_bad_dac_input_is_named():
    with pytest.raises(ValueError, match="^bits:"):
        dac_quantize([0.0], 1, 1.0)
    with pytest.raises(ValueError, match="^full_scale:"):
        dac_quantize([0.0], 8, 5e-324)
    with pytest.raises(ValueError, match="^delta:"):
        log_ratio_bound(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="^dh:"):
        ising_log_ratio_bound(np.zeros((3, 3)), [0.0], 1.0)


# ---------------------------------------------------------------------------------------------------------
# Thermal noise on one p-bit
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("s", [0.0, 0.3, 1.0, 2.0, 2.5, 6.0, 40.0])
def test_noisy_sigmoid_matches_adaptive_quadrature(s):
    for z in [-7.0, -1.0, 0.0, 0.4, 3.0, 25.0]:
        f = lambda t: special.expit(z + s * t) * np.exp(-t * t / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        ref = special.expit(z) if s == 0 else integrate.quad(f, -40, 40, epsabs=1e-15, epsrel=1e-13, limit=2000,
                                                             points=[-z / s])[0]
        assert abs(noisy_sigmoid(z, s) - ref) < 1e-12


def test_probit_approximation_is_close_but_not_exact():
    z = np.linspace(-30, 30, 6001)
    err = [np.abs(noisy_sigmoid(z, s) - noisy_sigmoid_approx(z, s)).max() for s in (0.5, 1.0, 2.0, 4.0, 8.0)]
    assert max(err) < 0.02 and min(err) > 1e-4


def test_noisy_p_bits_fire_at_the_quadrature_law_with_power_against_ignored_noise():
    """z-test on the firing fraction of 200,000 bits; power: the noise-free law is 13 sigma away."""
    beta, sigma, ell, N = 1.0, 1.5, 1.0, 200_000
    hw = HardwareModel(noise_sigma=sigma)
    x = hw.sample_binary(np.full(N, ell), beta, rng=5)
    p = noisy_sigmoid(beta * ell, beta * sigma)
    z = (x.mean() - p) / np.sqrt(p * (1 - p) / N)
    assert abs(z) < stats.norm.isf(ALPHA / 2)
    assert abs(special.expit(beta * ell) - p) / np.sqrt(p * (1 - p) / N) > 10  # power against ignored noise


# ---------------------------------------------------------------------------------------------------------
# The ideal device and each effect on the Ising law
# ---------------------------------------------------------------------------------------------------------
def test_ideal_device_samples_the_exact_law_with_power_against_a_5_percent_temperature_error():
    J, h = _model()
    beta = 0.7
    law = exact_law(IsingModel(J, h), beta).p
    hw = HardwareModel()
    assert isinstance(hw, SamplingUnit)
    ok = hw.sample_ising(J, h, beta, n_sweeps=30, n_samples=N_CHAINS, init=np.ones(5), rng=3)
    assert _chi2_p(_counts(ok), law) > ALPHA
    hot = hw.sample_ising(J, h, 1.05 * beta, n_sweeps=30, n_samples=N_CHAINS, init=np.ones(5), rng=4)
    assert _chi2_p(_counts(hot), law) < ALPHA  # power: a 5 % temperature error is rejected
    assert hw.ledger.sweeps == 2 * 30 * N_CHAINS


def test_transition_matrix_oracles_ideal_offsets_and_delay():
    J, h = _model()
    beta = 0.7
    assert np.abs(HardwareModel().stationary_law(J, h, beta) - exact_law(IsingModel(J, h), beta).p).max() < 1e-12
    hw = HardwareModel(offset_sigma=0.3)
    _, o = hw.mismatch(5)
    assert np.abs(hw.stationary_law(J, h, beta) - exact_law(IsingModel(J, h + o), beta).p).max() < 1e-12
    for d in (1, 3):
        assert np.abs(HardwareModel(delay=d).stationary_law(J, h, beta) - _peretto(J, h, beta)).max() < 1e-12
    hq = HardwareModel(dac_bits=3, full_scale=1.5)
    law_q = exact_law(IsingModel(dac_quantize(J, 3, 1.5), dac_quantize(h, 3, 1.5)), beta).p
    assert np.abs(hq.stationary_law(J, h, beta) - law_q).max() < 1e-12


def test_offsets_only_device_samples_boltzmann_with_shifted_fields():
    J, h = _model()
    beta = 0.7
    hw = HardwareModel(offset_sigma=0.3, mismatch_seed=7)
    _, o = hw.mismatch(5)
    s = hw.sample_ising(J, h, beta, n_sweeps=30, n_samples=N_CHAINS, init=np.ones(5), rng=6)
    assert _chi2_p(_counts(s), exact_law(IsingModel(J, h + o), beta).p) > ALPHA
    assert _chi2_p(_counts(s), exact_law(IsingModel(J, h), beta).p) < ALPHA  # power: offsets are visible


def test_unequal_gains_break_detailed_balance_and_the_sampler_follows_the_matrix():
    J, h = _model()
    beta = 0.7
    hw = HardwareModel(gain_sigma=0.3)
    pi = hw.stationary_law(J, h, beta)
    law = exact_law(IsingModel(J, h), beta).p
    assert 0.5 * np.abs(pi - law).sum() > 0.02
    T = hw.transition_matrix(J, h, beta)
    flux = pi[:, None] * T
    assert np.abs(flux - flux.T).max() > 1e-3  # no detailed balance
    s = hw.sample_ising(J, h, beta, n_sweeps=30, n_samples=N_CHAINS, init=np.ones(5), rng=8)
    assert _chi2_p(_counts(s), pi) > ALPHA
    assert _chi2_p(_counts(s), law) < ALPHA


def test_noise_heats_the_chain_and_the_sampler_follows_the_matrix():
    J, h = _model()
    beta = 0.7
    hw = HardwareModel(noise_sigma=0.5)
    pi = hw.stationary_law(J, h, beta)
    law = exact_law(IsingModel(J, h), beta)
    assert pi @ law.E > law.mean_energy + 0.1  # hotter
    s = hw.sample_ising(J, h, beta, n_sweeps=30, n_samples=N_CHAINS, init=np.ones(5), rng=9)
    assert _chi2_p(_counts(s), pi) > ALPHA
    assert _chi2_p(_counts(s), law.p) < ALPHA


def test_delay_gives_peretto_law_far_from_boltzmann():
    J, h = _model()
    beta = 0.7
    w = _peretto(J, h, beta)
    assert 0.5 * np.abs(w - exact_law(IsingModel(J, h), beta).p).sum() > 0.1
    s = HardwareModel(delay=1).sample_ising(J, h, beta, n_sweeps=200, n_samples=N_CHAINS, init=np.ones(5), rng=10)
    assert _chi2_p(_counts(s), w) > ALPHA
    assert _chi2_p(_counts(s), exact_law(IsingModel(J, h), beta).p) < ALPHA


def test_max_sweeps_caps_the_chain_at_the_law_of_that_many_sweeps():
    J, h = _model()
    beta = 0.7
    hw = HardwareModel(max_sweeps=2)
    T = HardwareModel().transition_matrix(J, h, beta)
    p2 = np.linalg.matrix_power(T, 2)[-1]  # from all +1 (the last enumerated state)
    s = hw.sample_ising(J, h, beta, n_sweeps=1000, n_samples=N_CHAINS, init=np.ones(5), rng=11)
    assert _chi2_p(_counts(s), p2) > ALPHA
    assert _chi2_p(_counts(s), exact_law(IsingModel(J, h), beta).p) < ALPHA
    assert hw.ledger.sweeps == 2 * N_CHAINS
    init = np.array([[1, -1, 1, -1, 1]] * 3)
    assert np.array_equal(HardwareModel(max_sweeps=0).sample_ising(J, h, beta, n_sweeps=5, n_samples=3,
                                                                   init=init, rng=0), init)


def test_biased_source_inflates_firing_by_one_over_c():
    N, c, ell = 200_000, 0.9, 0.0
    hw = HardwareModel(source=lambda rng: BiasedUniforms(rng, high=c))
    x = hw.sample_binary(np.full(N, ell), 1.0, rng=12)
    p = min(1.0, special.expit(ell) / c)
    assert abs(x.mean() - p) / np.sqrt(p * (1 - p) / N) < stats.norm.isf(ALPHA / 2)
    assert abs(0.5 - p) / np.sqrt(p * (1 - p) / N) > 20  # power against an ignored source


# ---------------------------------------------------------------------------------------------------------
# Categorical, Gaussian, custom
# ---------------------------------------------------------------------------------------------------------
def test_categorical_draws_the_quantized_softmax():
    ell = np.array([1.3, -0.4, 0.2, 2.1, -np.inf, 0.9])
    hw = HardwareModel(dac_bits=3, full_scale=2.0)
    idx = hw.sample_categorical(np.tile(ell, (4, 1)), 1.5, 20_000, rng=13)
    assert idx.dtype == np.int64 and idx.shape == (4, 20_000) and not (idx == 4).any()
    counts = np.bincount(idx.ravel(), minlength=6)
    ell_q = ell.copy()
    ell_q[np.isfinite(ell)] = dac_quantize(ell[np.isfinite(ell)], 3, 2.0)
    pq = special.softmax(1.5 * ell_q)
    keep = pq > 0
    assert stats.chisquare(counts[keep], pq[keep] * idx.size).pvalue > ALPHA
    p = special.softmax(1.5 * ell)
    assert stats.chisquare(counts[keep], p[keep] * idx.size).pvalue < ALPHA  # power: quantization is visible


def test_categorical_noise_follows_the_noisy_law_for_two_categories():
    """Two categories: P(0) = E sigma(beta(l0 - l1 + sigma (xi0 - xi1))): noisy_sigmoid with width sqrt(2) sigma."""
    beta, sigma, N = 1.0, 1.0, 100_000
    idx = HardwareModel(noise_sigma=sigma).sample_categorical([[0.7, 0.0]], beta, N, rng=14)
    p0 = noisy_sigmoid(0.7 * beta, np.sqrt(2) * sigma * beta)
    f0 = (idx == 0).mean()
    assert abs(f0 - p0) / np.sqrt(p0 * (1 - p0) / N) < stats.norm.isf(ALPHA / 2)


def test_gaussian_and_custom_delegate_to_the_base_unit():
    hw = HardwareModel(dac_bits=4, full_scale=1.0)
    a = hw.sample_gaussian([0.33, -0.2], np.eye(2), size=5, rng=0)
    b = NumpyBackend().sample_gaussian(dac_quantize([0.33, -0.2], 4, 1.0), np.eye(2), size=5, rng=0)
    assert np.array_equal(a, b)
    hw2 = HardwareModel(base=ExactBackend())
    out = hw2.sample_custom(lambda s: s.sum(axis=-1).astype(float), np.zeros((3, 2), dtype=int), n_steps=4,
                            beta=1.0, rng=0)
    assert out.shape == (3, 2) and out.dtype == np.int64


# ---------------------------------------------------------------------------------------------------------
# Determinism and bad input
# ---------------------------------------------------------------------------------------------------------
def test_same_seed_same_bits_and_mismatch_fixed_across_calls():
    J, h = _model()
    kw = dict(gain_sigma=0.1, offset_sigma=0.1, noise_sigma=0.2, dac_bits=5, full_scale=2.0, delay=1)
    a = HardwareModel(**kw).sample_ising(J, h, 0.5, n_sweeps=5, n_samples=10, rng=1)
    b = HardwareModel(**kw).sample_ising(J, h, 0.5, n_sweeps=5, n_samples=10, rng=1)
    assert np.array_equal(a, b)
    hw = HardwareModel(**kw)
    g1, o1 = hw.mismatch(5)
    hw.sample_binary(np.zeros((3, 5)), 1.0, rng=2)
    g2, o2 = hw.mismatch(8)
    assert np.array_equal(g1, g2[:5]) and np.array_equal(o1, o2[:5])
    assert not np.array_equal(g1, HardwareModel(**kw, mismatch_seed=1).mismatch(5)[0])


@pytest.mark.parametrize("kw, name", [
    (dict(dac_bits=4), "full_scale"), (dict(dac_bits=1, full_scale=1.0), "dac_bits"),
    (dict(gain_sigma=-0.1), "gain_sigma"), (dict(noise_sigma=np.nan), "noise_sigma"),
    (dict(offset_sigma=1e300), "offset_sigma"), (dict(delay=-1), "delay"), (dict(max_sweeps=1.5), "max_sweeps"),
    (dict(source=3), "source"), (dict(base="numpy"), "base"), (dict(mismatch_seed=-2), "mismatch_seed"),
    (dict(tau0=0.0), "tau0"),
])
def test_bad_constructor_input_is_named(kw, name):
    with pytest.raises((ValueError, TypeError), match=f"^{name}:"):
        HardwareModel(**kw)


def test_a_source_that_returns_no_generator_is_named():
    with pytest.raises(TypeError, match="^source:"):
        HardwareModel(source=lambda rng: 0).sample_binary([0.0], 1.0, rng=0)
