"""Tests for thermoref.potts: the Potts chain over query positions.

Oracle: brute-force enumeration of all S**T configurations (written here, independent of the
forward-backward code). Sampler tests use many independent chains (one final state each) and chi-square
on the *joint* configuration law, so that a sampler with exact marginals but wrong pair statistics (the
synchronous schedule) fails; alpha = 1e-3 throughout.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import softmax as scipy_softmax

from thermoref.attention.potts import potts_energy, potts_gibbs, potts_marginals
from thermoref.testing import chi_square_test


def _enumerate(ell, lam):
    """All configurations, their probabilities, log Z, single-site and pair marginals, by brute force."""
    T, S = ell.shape
    states = np.array(list(itertools.product(range(S), repeat=T)))  # (S**T, T)
    E = np.zeros(len(states))
    for k, j in enumerate(states):
        E[k] = -sum(ell[i, j[i]] for i in range(T)) - lam * sum(j[i] == j[i + 1] for i in range(T - 1))
    with np.errstate(over="ignore"):
        w = np.exp(-E)
    Z = w.sum()
    p = w / Z
    marg = np.zeros((T, S))
    pair = np.zeros((T - 1, S, S))
    for k, j in enumerate(states):
        marg[np.arange(T), j] += p[k]
        pair[np.arange(T - 1), j[:-1], j[1:]] += p[k]
    return states, p, np.log(Z), marg, pair


def _logits(seed=0, T=4, S=3, masked=True):
    ell = np.random.default_rng(seed).standard_normal((T, S)) * 1.2
    if masked:
        ell[1, 2] = -np.inf
    return ell


@pytest.mark.parametrize("lam", [0.0, 0.8, 2.5, -1.0])
def test_forward_backward_matches_enumeration(lam):
    ell = _logits()
    states, p, log_Z, marg, pair = _enumerate(ell, lam)
    m = potts_marginals(ell, lam, pairs=True)
    assert abs(m.log_Z - log_Z) < 1e-13 * max(1.0, abs(log_Z))
    np.testing.assert_allclose(m.marginals, marg, rtol=0, atol=1e-14)
    np.testing.assert_allclose(m.pairs, pair, rtol=0, atol=1e-14)
    np.testing.assert_allclose(m.agreement, np.einsum("iaa->i", pair), rtol=0, atol=1e-14)
    np.testing.assert_allclose(m.marginals.sum(-1), 1.0, rtol=0, atol=1e-14)
    # energies agree with the brute-force ones (+inf where a masked key is used)
    E = potts_energy(states, ell, lam)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(np.exp(-E - log_Z), p, rtol=1e-12, atol=1e-300)


def test_zero_coupling_gives_row_softmax_and_batched_inputs():
    ell = np.random.default_rng(1).standard_normal((2, 3, 5, 4))  # (batch, heads, T, S)
    m = potts_marginals(ell, 0.0)
    np.testing.assert_allclose(m.marginals, scipy_softmax(ell, axis=-1), rtol=1e-13, atol=1e-16)
    m2 = potts_marginals(ell, 1.5)
    for b in range(2):
        for h in range(3):
            _, _, log_Z, marg, _ = _enumerate(ell[b, h], 1.5)
            np.testing.assert_allclose(m2.marginals[b, h], marg, rtol=0, atol=1e-14)
            assert abs(m2.log_Z[b, h] - log_Z) < 1e-12


@given(st.integers(1, 6), st.integers(1, 5), st.floats(-5, 5), st.integers(0, 2**31 - 1))
def test_marginals_are_consistent_laws(T, S, lam, seed):
    ell = np.random.default_rng(seed).standard_normal((T, S)) * 3
    m = potts_marginals(ell, lam, pairs=True)
    np.testing.assert_allclose(m.marginals.sum(-1), 1.0, rtol=0, atol=1e-13)
    # pair marginals sum to the single-site marginals on both sides, and their diagonal to the agreement
    np.testing.assert_allclose(m.pairs.sum(-1), m.marginals[:-1], rtol=0, atol=1e-13)
    np.testing.assert_allclose(m.pairs.sum(-2), m.marginals[1:], rtol=0, atol=1e-13)
    np.testing.assert_allclose(np.einsum("iaa->i", m.pairs), m.agreement, rtol=0, atol=1e-13)


def test_dlogZ_dlambda_is_the_total_agreement():
    ell = _logits(seed=2, T=6, S=5, masked=False)
    lam, h = 0.7, 1e-5
    fd = (potts_marginals(ell, lam + h).log_Z - potts_marginals(ell, lam - h).log_Z) / (2 * h)
    # central difference: truncation ~h^2 ~ 1e-10, rounding ~eps log Z / h ~ 1e-10
    assert abs(fd - potts_marginals(ell, lam).agreement.sum()) < 1e-8


def test_large_sizes_stay_finite():
    ell = np.random.default_rng(3).standard_normal((64, 512)) * 30
    m = potts_marginals(ell, 300.0)
    assert np.isfinite(m.log_Z) and np.all(np.isfinite(m.marginals))
    np.testing.assert_allclose(m.marginals.sum(-1), 1.0, rtol=0, atol=1e-12)


def test_chromatic_gibbs_samples_the_joint_law_and_synchronous_does_not():
    """Chi-square of the joint configuration counts (S**T = 27 cells) from 20000 independent chains after
    25 sweeps, alpha 1e-3. The synchronous schedule has correct single-site marginals (checked) but its
    joint law is wrong: the same statistic rejects it (power check)."""
    ell = _logits(seed=4, T=3, S=3, masked=False)
    lam, C = 1.5, 20_000
    states, p, _, marg, _ = _enumerate(ell, lam)
    index = {tuple(s): k for k, s in enumerate(states)}

    def joint_counts(x):
        return np.bincount([index[tuple(r)] for r in x], minlength=len(states))

    x = potts_gibbs(ell, lam, 25, rng=5, n_chains=C, schedule="chromatic")
    assert x.shape == (C, 3)
    assert chi_square_test(joint_counts(x), p).passed
    y = potts_gibbs(ell, lam, 25, rng=6, n_chains=C, schedule="synchronous")
    site_counts = np.stack([np.bincount(y[:, i], minlength=3) for i in range(3)])
    assert chi_square_test(site_counts, marg).passed  # marginals right ...
    assert chi_square_test(joint_counts(y), p).reject  # ... joint law wrong
    # and its nearest-neighbour agreement is the product of the marginals, not the coupled value
    agree = (y[:, 1:] == y[:, :-1]).mean(0)
    np.testing.assert_allclose(agree, np.sum(marg[:-1] * marg[1:], -1), atol=0.02)


def test_zero_coupling_sweeps_are_independent_draws():
    """With lam = 0 a Gibbs sweep is independent sampling: the pair (j_i(t), j_i(t+1)) has law p (x) p.
    Chi-square on 6000 chains' consecutive states, alpha 1e-3; power: at lam = 2 the same test rejects."""
    ell = _logits(seed=7, T=4, S=3, masked=False)
    p = scipy_softmax(ell, axis=-1)
    for lam, ok in ((0.0, True), (2.0, False)):
        tr = potts_gibbs(ell, lam, 12, rng=8, n_chains=6000, return_trace=True)  # (12, C, T)
        a, b = tr[-2, :, 1], tr[-1, :, 1]
        counts = np.bincount(a * 3 + b, minlength=9)
        q = potts_marginals(ell, lam).marginals[1]
        assert chi_square_test(counts, np.outer(q, q).ravel()).passed is ok
    np.testing.assert_allclose(potts_marginals(ell, 0.0).marginals, p, rtol=1e-13)


def test_masked_keys_are_never_visited():
    ell = _logits(seed=9, T=5, S=4)
    ell[3, 0] = -np.inf
    for schedule in ("chromatic", "synchronous"):
        x = potts_gibbs(ell, 3.0, 10, rng=1, n_chains=500, schedule=schedule)
        assert not np.any(x[:, 1] == 2) and not np.any(x[:, 3] == 0)


def test_bad_input():
    ell = _logits()
    with pytest.raises(ValueError, match="logits"):
        potts_marginals(np.full((3, 2), -np.inf), 1.0)
    with pytest.raises(ValueError, match="logits"):
        potts_marginals(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="^J:"):
        potts_marginals(ell, np.nan)
    with pytest.raises(ValueError, match="^J:"):
        potts_marginals(ell, 1e4)
    with pytest.raises(ValueError, match="schedule"):
        potts_gibbs(ell, 1.0, 3, rng=0, schedule="random")
    with pytest.raises(ValueError, match="^n_sweeps:"):
        potts_gibbs(ell, 1.0, -1, rng=0)
    with pytest.raises(ValueError, match="^n_sweeps:"):  # refused before it could hang
        potts_gibbs(ell, 1.0, 2**62, rng=0)
    with pytest.raises(ValueError, match="^n_chains:"):  # refused before anything is allocated
        potts_gibbs(ell, 1.0, 1, rng=0, n_chains=2**40)
    with pytest.raises(TypeError, match="^return_trace:"):
        potts_gibbs(ell, 1.0, 1, rng=0, return_trace=np.array([True, False]))
    with pytest.raises(TypeError, match="^pairs:"):
        potts_marginals(ell, 1.0, pairs="yes")
    with pytest.raises(TypeError, match="rng"):
        potts_gibbs(ell, 1.0, 3, rng=None)
    with pytest.raises(ValueError, match="states"):
        potts_energy(np.array([0, 1]), ell, 1.0)
    with pytest.raises(ValueError, match="states"):
        potts_energy(np.array([0, 1, 2, 3]), ell, 1.0)


def test_zero_sweeps_return_the_starting_draws():
    """n_sweeps = 0 is the valid limit "no update": the chains' starting states, independent row-softmax draws.
    Chi-square of the (j_0, j_1) pair counts of 6000 chains against p_0 (x) p_1, alpha 1e-3 (expected counts
    >= 60 per cell). Power: the coupled law at lam = 2 (one sweep and more) is rejected by the same test."""
    ell = _logits(seed=10, T=3, S=3, masked=False)
    p = scipy_softmax(ell, axis=-1)
    x = potts_gibbs(ell, 2.0, 0, rng=11, n_chains=6000)
    assert x.shape == (6000, 3)
    assert chi_square_test(np.bincount(x[:, 0] * 3 + x[:, 1], minlength=9), np.outer(p[0], p[1]).ravel()).passed
    y = potts_gibbs(ell, 2.0, 10, rng=12, n_chains=6000)
    assert chi_square_test(np.bincount(y[:, 0] * 3 + y[:, 1], minlength=9), np.outer(p[0], p[1]).ravel()).reject
    assert potts_gibbs(ell, 2.0, 0, rng=11, n_chains=4, return_trace=True).shape == (0, 4, 3)


@pytest.mark.parametrize("sentinel", [-3.4e38, np.finfo(np.float64).min])
def test_a_finite_sentinel_has_no_mass(sentinel):
    """A finite sentinel's weight is exactly 0 in float64: the law is the one with that key masked (enumeration
    oracle), the sampler never visits it, and nothing warns."""
    ell = _logits(seed=13, T=4, S=3)
    ell[3, 0] = sentinel
    masked = ell.copy()
    masked[3, 0] = -np.inf
    _, _, log_Z, marg, pair = _enumerate(masked, 1.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = potts_marginals(ell, 1.2, pairs=True)
        x = potts_gibbs(ell, 1.2, 5, rng=14, n_chains=2000)
    assert m.marginals[3, 0] == 0.0 and abs(m.log_Z - log_Z) < 1e-13 * abs(log_Z)
    np.testing.assert_allclose(m.marginals, marg, rtol=0, atol=1e-14)
    np.testing.assert_allclose(m.pairs, pair, rtol=0, atol=1e-14)
    assert not np.any(x[:, 3] == 0)


def test_logits_beyond_the_float_range():
    """ln Z = 4e308 is not representable: ValueError naming logits. Huge logits of both signs whose ln Z is
    representable give a finite law without a warning; an energy beyond float64 raises, a masked key is +inf."""
    with pytest.raises(ValueError, match="^logits:"):
        potts_marginals(np.full((4, 3), 1e308), 0.5)
    ell = np.array([[1e308, 0.0], [1e308, 1e308], [-1e308, 0.0], [-1e308, -1e308]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = potts_marginals(ell, 0.5, pairs=True)
    assert np.isfinite(m.log_Z) and np.all(np.isfinite(m.marginals)) and np.all(np.isfinite(m.pairs))
    np.testing.assert_allclose(m.marginals.sum(-1), 1.0, rtol=0, atol=1e-15)
    big = np.array([[1e308, 1e308], [-np.inf, 1e308]])
    with pytest.raises(ValueError, match="^logits:"):  # -2e308 - J
        potts_energy(np.array([1, 1]), big, 0.5)
    assert potts_energy(np.array([0, 0]), big, 0.5) == np.inf  # a masked key: +inf, whatever else overflows
