"""The sampling-unit interface: the reference units, their ledgers, the weak sources, and backend= everywhere.

The conformance suite's own tests (its verdicts and power against broken units) are in
``test_backend_conformance.py``; here are the units' exact laws where a unit is the oracle's client, the cost
model's exact counts, and the promise that ``backend=NumpyBackend()`` reproduces each component's default bits.

Stochastic tests: statistic, null law and false-positive rate alpha = 1e-3 are stated per test; each has a
power check against the bug it is sized for (a temperature off by 5 %).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, special, stats

from thermoref.attention import sample_keys, sampled_attention
from thermoref.backend import (
    LANDAUER_300K,
    LFSR_PERIOD,
    BiasedUniforms,
    ExactBackend,
    Ledger,
    LFSRUniforms,
    NumpyBackend,
    ReturnsInputUnit,
    SamplingUnit,
    SystemTooLargeError,
)
from thermoref.decoding import sample_decoding
from thermoref.ising import IsingModel, exact_law, simulated_annealing
from thermoref.pbit import clt_gaussian
from thermoref.testing import chi_square_test
from thermoref.transformer import AttentionSeam, forward, generate, load_pretrained

ALPHA = 1e-3


class Hot(NumpyBackend):
    """The bug the statistical tests are sized for: every law drawn at 0.95 beta (a 5 % hotter device)."""

    def sample_categorical(self, logits, beta, size, *, rng):
        return super().sample_categorical(logits, 0.95 * beta, size, rng=rng)

    def sample_custom(self, energy, init, *, n_steps, beta, n_values=2, rng):
        return super().sample_custom(energy, init, n_steps=n_steps, beta=0.95 * beta, n_values=n_values, rng=rng)


# ------------------------------------------------------------------------------------------ the protocol


def test_reference_units_implement_the_protocol_and_arbitrary_objects_do_not():
    assert isinstance(NumpyBackend(), SamplingUnit) and isinstance(ExactBackend(), SamplingUnit)
    assert not isinstance(object(), SamplingUnit) and not isinstance("exact", SamplingUnit)


def test_landauer_bound_is_kT_ln2_at_300_K():
    # k_B = 1.380649e-23 J/K exactly (2019 SI); k_B * 300 K * ln 2 = 2.8710e-21 J (closed form, by hand)
    assert LANDAUER_300K == pytest.approx(1.380649e-23 * 300 * 0.6931471805599453, rel=1e-15)
    assert 2.870e-21 < LANDAUER_300K < 2.872e-21


# ------------------------------------------------------------------------------------------- the ledger


def test_ledger_counts_follow_the_stated_cost_model_exactly():
    ring = np.roll(np.eye(6), 1, axis=1)
    ring = ring + ring.T  # an even ring: 2 colours
    for unit in (NumpyBackend(tau0=2e-9, energy_per_update=1e-15), ExactBackend(tau0=2e-9, energy_per_update=1e-15)):
        unit.sample_ising(ring, np.zeros(6), 0.4, n_sweeps=5, n_samples=3, rng=0)
        assert (unit.ledger.samples, unit.ledger.sweeps, unit.ledger.updates, unit.ledger.phases) == (3, 15, 90, 30)
        unit.sample_binary(np.zeros((4, 5)), 1.0, rng=0)  # 20 p-bits at once: one phase
        unit.sample_categorical(np.zeros((7, 300)), 1.0, 4, rng=0)  # 7 rows in parallel, 4 draws each
        unit.sample_gaussian(np.zeros(3), np.eye(3), size=10, rng=0)
        unit.sample_custom(lambda s: s.sum(-1) * 1.0, np.zeros((2, 3), dtype=int), n_steps=6, beta=1.0, rng=0)
        led = unit.ledger
        assert led.samples == 3 + 20 + 28 + 10 + 2
        assert led.updates == 90 + 20 + 28 + 30 + 12
        assert led.phases == 30 + 1 + 4 + 10 + 12
        assert led.time == pytest.approx(led.phases * 2e-9, rel=1e-15)
        assert led.energy == pytest.approx(led.updates * 1e-15, rel=1e-15)
        led.reset()
        assert (led.samples, led.sweeps, led.updates, led.phases, led.time) == (0, 0, 0, 0, 0.0)
    assert Ledger().energy is None  # no invented constant: energy unmodeled unless given


def test_ledger_refuses_bad_parameters_and_counts():
    with pytest.raises(ValueError, match="^tau0:"):
        Ledger(tau0=0.0)
    with pytest.raises(ValueError, match="^energy_per_update:"):
        Ledger(energy_per_update=-1.0)
    with pytest.raises(ValueError, match="^updates:"):
        Ledger().charge(updates=-1)


# ------------------------------------------------------------------------------------- the exact unit


def test_exact_backend_refuses_large_systems_before_any_work():
    J = sparse.random(21, 21, density=0.1, random_state=0)
    J = (J + J.T).tocsr()
    J.setdiag(0)
    J.eliminate_zeros()
    with pytest.raises(SystemTooLargeError, match="^J: a model of 21 spins"):
        ExactBackend().sample_ising(J, np.zeros(21), 1.0, n_sweeps=0, n_samples=1, rng=0)
    assert issubclass(SystemTooLargeError, ValueError)
    calls = []
    with pytest.raises(SystemTooLargeError, match="^init:"):
        ExactBackend().sample_custom(lambda s: calls.append(1) or s.sum(-1) * 1.0, np.zeros((1, 13), dtype=int),
                                     n_steps=0, beta=1.0, n_values=3, rng=0)
    assert calls == []  # refused before the energy was ever called
    with pytest.raises(SystemTooLargeError, match="^J:"):
        ExactBackend(max_states=8).sample_ising(np.zeros((4, 4)), np.zeros(4), 1.0, n_sweeps=0, n_samples=1, rng=0)


def test_exact_backend_categorical_never_draws_a_masked_or_zero_probability_category():
    z = np.array([[0.0, -np.inf, 0.0, -800.0], [-np.inf, 5.0, -np.inf, -np.inf]])
    idx = ExactBackend().sample_categorical(z, 1.0, 20_000, rng=0)
    assert idx.dtype == np.int64 and set(np.unique(idx[0])) == {0, 2} and set(np.unique(idx[1])) == {1}


# ------------------------------------------------------------------ the reference unit's custom chain


def _potts_energy(s):
    """A 3-state energy on 4 sites: a chain with couplings 0.8 (equal neighbours) and a field on value 2."""
    same = (s[..., 1:] == s[..., :-1]).sum(axis=-1)
    return -0.8 * same - 0.5 * (s == 2).sum(axis=-1)


def _custom_law(beta):
    states = np.stack(np.unravel_index(np.arange(81), (3,) * 4), axis=-1)
    return special.softmax(-beta * _potts_energy(states))


def _custom_counts(unit, beta, rng):
    init = np.zeros((20_000, 4), dtype=np.int64)  # far from equilibrium: every chain starts in one state
    s = unit.sample_custom(_potts_energy, init, n_steps=60, beta=beta, n_values=3, rng=rng)
    return np.bincount(np.ravel_multi_index(s.T, (3,) * 4), minlength=81)


def test_numpy_custom_chain_samples_the_enumerated_law_and_rejects_a_hot_chain():
    """Chi-square on 81 states (bins of expected count < 5 pooled) of 20,000 independent chains after 60
    single-site updates (15 sweeps' worth) from one corner state; null: chi-square with pooled-bins - 1 degrees
    of freedom; alpha = 1e-3. Power: the same test must reject a chain run at 0.95 beta (power >= 0.99 by
    thermoref.testing.chi_square_power, checked below on the exact laws)."""
    from thermoref.testing import chi_square_power

    beta = 1.5
    p = _custom_law(beta)
    assert chi_square_power(p, _custom_law(0.95 * beta), 20_000, alpha=ALPHA) > 0.99
    assert chi_square_test(_custom_counts(NumpyBackend(), beta, 1), p, alpha=ALPHA).passed
    assert not chi_square_test(_custom_counts(Hot(), beta, 1), p, alpha=ALPHA).passed
    assert not chi_square_test(_custom_counts(ReturnsInputUnit(), beta, 1), p, alpha=ALPHA).passed  # a lazy unit
    assert chi_square_test(_custom_counts(ExactBackend(), beta, 2), p, alpha=ALPHA).passed


def test_numpy_backend_ising_from_all_up_reaches_the_enumerated_law_sparse_and_dense():
    """Chi-square over the 2**5 states of 40,000 independent chains after 40 sweeps from all +1, on an
    antiferromagnetic pentagon with fields (frustrated), couplings given sparse; alpha = 1e-3; the power
    against beta off by 5 % is computed exactly (> 0.99)."""
    from thermoref.testing import chi_square_power

    ring = -(np.roll(np.eye(5), 1, axis=1) + np.roll(np.eye(5), -1, axis=1))
    h = np.array([0.3, -0.2, 0.0, 0.1, 0.4])
    beta = 0.9
    p = exact_law(IsingModel(ring, h), beta).p
    assert chi_square_power(p, exact_law(IsingModel(ring, h), 0.95 * beta).p, 40_000, alpha=ALPHA) > 0.99
    for J, unit, ok in ((ring, NumpyBackend(), True), (sparse.csr_array(ring), NumpyBackend(), True),
                        (ring, ReturnsInputUnit(), False)):  # a unit that returns its (all +1) input must fail
        s = unit.sample_ising(J, h, beta, n_sweeps=40, n_samples=40_000, init=np.ones(5), rng=3)
        idx = ((s > 0).astype(int) * (1 << np.arange(4, -1, -1))).sum(axis=1)  # enumerate_states order
        assert chi_square_test(np.bincount(idx, minlength=32), p, alpha=ALPHA).passed is ok


# ------------------------------------------------------------------------------------ weak sources


def test_lfsr_words_cover_every_nonzero_16_bit_value_once_per_period_and_repeat():
    rng = LFSRUniforms(7)
    u = rng.random(LFSR_PERIOD)
    words = np.round(u * 2**16).astype(np.int64)
    assert np.array_equal(np.sort(words), np.arange(1, 2**16))  # a maximal LFSR: every nonzero state once
    assert np.array_equal(rng.random(5), u[:5])  # the period is 65,535 draws


def test_biased_comparator_inflates_every_pbit_probability_by_one_over_c():
    """z-test on the frequency of 1s of 400,000 fair p-bits (null: binomial, mean min(1, 0.5/0.99)); alpha =
    1e-3 two-sided. The shift 0.5/0.99 - 0.5 = 0.00505 is 12.8 standard errors, so an unbiased source fails."""
    n, c = 400_000, 0.99
    for rng, p in ((BiasedUniforms(0, high=c), 0.5 / c), (np.random.default_rng(0), 0.5)):
        x = NumpyBackend().sample_binary(np.zeros(n), 1.0, rng=rng)
        z = (x.mean() - p) / np.sqrt(p * (1 - p) / n)
        assert abs(z) < stats.norm.isf(ALPHA / 2)
        z_wrong = (x.mean() - (1.0 - p if p != 0.5 else 0.5 / c)) / np.sqrt(0.25 / n)
        assert abs(z_wrong) > stats.norm.isf(ALPHA / 2)


# --------------------------------------------------------------- backend= reproduces the default bits


def test_backend_numpy_reproduces_every_default_route_bit_for_bit():
    rng = np.random.default_rng(0)
    Q, K, V = rng.standard_normal((3, 2, 7, 4))
    assert np.array_equal(sampled_attention(Q, K, V, 16, rng=5), sampled_attention(Q, K, V, 16, rng=5, backend=NumpyBackend()))
    ell = Q @ K.swapaxes(-1, -2)
    assert np.array_equal(sample_keys(ell, 8, rng=3), sample_keys(ell, 8, rng=3, backend=NumpyBackend()))
    config, params = load_pretrained("copy")
    tokens = rng.integers(0, config.vocab_size, (3, config.context))
    unit = NumpyBackend()
    assert np.array_equal(forward(params, tokens, config, seam=AttentionSeam(4), rng=9),
                          forward(params, tokens, config, seam=AttentionSeam(4, backend=unit), rng=9))
    assert unit.ledger.updates == 2 * 4 * 3 * config.context * 4  # layers x heads x rows x K draws
    assert np.array_equal(generate(params, [[1, 2, 3]] * 4, 6, config, temperature=1.0, rng=2),
                          generate(params, [[1, 2, 3]] * 4, 6, config, temperature=1.0, rng=2, backend=NumpyBackend()))
    assert np.array_equal(clt_gaussian(16, 50, rng=1), clt_gaussian(16, 50, rng=1, backend=NumpyBackend()))


def test_annealing_on_a_unit_finds_the_ring_ground_state_and_counts_one_sweep_per_step():
    ring = np.roll(np.eye(8), 1, axis=1)
    ring = ring + ring.T
    unit = NumpyBackend()
    res = simulated_annealing(IsingModel(-ring), np.ones((5, 8)), np.geomspace(0.1, 5, 120), rng=0, backend=unit)
    assert np.array_equal(res.best_energies, np.full(5, -8.0))  # the antiferromagnetic even ring: E0 = -8
    assert res.trace.shape == (120, 5) and unit.ledger.sweeps == 5 * 120
    assert np.array_equal(IsingModel(-ring).energy(res.spins), res.energies)


class _Garbage(NumpyBackend):
    def sample_categorical(self, logits, beta, size, *, rng):
        return np.full(np.shape(logits)[:-1] + (size,), np.shape(logits)[-1], dtype=np.int64)  # out of range

    def sample_ising(self, J, h, beta, *, n_sweeps, n_samples, init=None, rng):
        return np.zeros((n_samples, np.shape(J)[0]), dtype=np.int8)  # zeros are not spins

    def sample_binary(self, logits, beta, *, rng):
        return np.full(np.shape(logits), 2, dtype=np.int8)


def test_what_a_unit_returns_is_checked_and_blamed_on_backend():
    Q = np.zeros((4, 3))
    with pytest.raises(ValueError, match="^backend: sample_categorical returned an index outside"):
        sampled_attention(Q, Q, Q, 4, rng=0, backend=_Garbage())
    with pytest.raises(ValueError, match="^backend: sample_ising returned"):
        simulated_annealing(IsingModel(np.zeros((3, 3))), np.ones(3), [1.0], rng=0, backend=_Garbage())
    with pytest.raises(ValueError, match="^backend: sample_binary returned"):
        clt_gaussian(4, 3, rng=0, backend=_Garbage())
    with pytest.raises(ValueError, match="^backend: sample_categorical returned an index outside"):
        sample_decoding(np.zeros(3), 2, rng=0, backend=_Garbage())
    with pytest.raises(ValueError, match="^backend: sample_categorical returned an index outside"):
        config, params = load_pretrained("copy")
        generate(params, [[1, 2]], 1, config, temperature=1.0, rng=0, backend=_Garbage())
    with pytest.raises(ValueError, match="^backend:"):
        sampled_attention(Q, Q, Q, 4, rng=0, backend=object())
    with pytest.raises(ValueError, match="^colours:"):
        simulated_annealing(IsingModel(np.zeros((3, 3))), np.ones(3), [1.0], rng=0, colours=np.zeros(3, int),
                            backend=NumpyBackend())


def test_sampled_attention_through_a_unit_draws_keys_from_softmax_and_rejects_a_hot_unit():
    """Chi-square of 200,000 keys drawn through ExactBackend for one query row against scipy's softmax
    (null: chi-square, S - 1 = 9 dof; alpha = 1e-3); the same test must reject a unit 5 % hotter (its power,
    computed exactly by chi_square_power, is > 0.99)."""
    from thermoref.testing import chi_square_power

    ell = np.linspace(-2.0, 2.5, 10)[None, :]  # (T = 1, S = 10)
    p = special.softmax(ell[0])
    n = 200_000
    assert chi_square_power(p, special.softmax(0.95 * ell[0]), n, alpha=ALPHA) > 0.99
    for unit, ok in ((ExactBackend(), True), (NumpyBackend(), True), (Hot(), False)):
        keys = sample_keys(ell, n, rng=4, backend=unit)[0]
        assert chi_square_test(np.bincount(keys, minlength=10), p, alpha=ALPHA).passed is ok
