"""Tests for thermoref.potts: the Potts chain over query positions.

Oracles: brute-force enumeration of all S**T configurations (written here, independent of the forward-backward
code), and the samplers' exact one-sweep kernels built from the enumerated joint law (each colour, or each
site, drawn from its conditional given the rest: p restricted to the configurations that agree off the updated
sites), never from the implementation's conditional logits. Sampler tests start far from equilibrium (the
uncoupled row-softmax draws, total variation 0.35 from the coupled law), use many independent chains, and test
either the exact law after a sweep (chi-square on the *joint* configuration, so that a sampler with exact
marginals but wrong pair statistics fails) or every transition of every chain against the exact kernel
(Anderson & Goodman 1957). alpha = 1e-3 throughout; power against a temperature 5 % off (logits and J times
1.05, start included) is computed (noncentral chi-square) and checked by running that sampler.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import softmax as scipy_softmax

from thermoref.attention.potts import potts_energy, potts_gibbs, potts_marginals
from thermoref.testing import chi_square_sample_size, chi_square_test


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


def _sweep_oracle(ell, lam):
    """Exact laws of the samplers on a small chain, from the enumerated joint law p (states in itertools order).

    Returns (states, p, start, kernels): start = the product of the row softmaxes (the samplers' documented start),
    kernels = {"chromatic": K_even @ K_odd, "synchronous": prod_i P(y_i | x_-i)}, each (S**T, S**T)."""
    states, p, _, _, _ = _enumerate(ell, lam)
    T, S = ell.shape

    def update(sites):  # K[x, y]: y agrees with x off `sites`, drawn from p restricted to those configurations
        off = np.setdiff1d(np.arange(T), sites)
        w = np.all(states[:, None, off] == states[None, :, off], axis=-1) * p[None, :]
        return w / w.sum(axis=1, keepdims=True)

    synchronous = np.ones((len(states), len(states)))
    for i in range(T):
        site = update(np.array([i]))
        cond = np.stack([site[:, states[:, i] == a].sum(axis=1) for a in range(S)], axis=1)  # (n, S): P(y_i | x)
        synchronous *= cond[:, states[:, i]]
    kernels = {"chromatic": update(np.arange(0, T, 2)) @ update(np.arange(1, T, 2)), "synchronous": synchronous}
    start = np.prod(scipy_softmax(ell, axis=-1)[np.arange(T), states], axis=1)
    return states, p, start, kernels


def _codes(x, S):
    """Configuration index (itertools.product order) of every state on the last axis."""
    return x @ S ** np.arange(x.shape[-1] - 1, -1, -1)


def _ag_power(K, K_alt, visits, alpha=1e-3):
    """Power of the transition-count chi-square (rows pooled) against kernel K_alt, given the expected visits of
    each row: noncentral chi-square with lambda = sum_x visits_x sum_y (K_alt - K)^2 / K."""
    m = K > 0
    lam = float(np.sum(visits[:, None] * np.where(m, (K_alt - K) ** 2 / np.where(m, K, 1.0), 0.0)))
    dof = int(np.sum(m.sum(axis=1) - 1))
    return float(stats.ncx2.sf(stats.chi2.isf(alpha, dof), dof, lam))


POTTS_ELL, POTTS_J = _logits(seed=4, T=3, S=3, masked=False), 1.5


def test_sweep_kernels_of_the_oracle():
    """The oracle: stochastic kernels; the coupled law is invariant under the chromatic kernel; the synchronous
    kernel's stationary law is the product of the even block's and the odd block's marginals (the two colours come
    from two independent chromatic chains), so its site marginals are the forward-backward ones and its nearest-
    neighbour agreement is sum_a P(j_i = a) P(j_i+1 = a), not the coupled value: the claims of chapter 7, exactly."""
    states, p, start, K = _sweep_oracle(POTTS_ELL, POTTS_J)
    for k in K.values():
        np.testing.assert_allclose(k.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    np.testing.assert_allclose(p @ K["chromatic"], p, rtol=0, atol=1e-15)
    w, v = np.linalg.eig(K["synchronous"].T)
    stat = np.real(v[:, np.argmin(np.abs(w - 1))])
    stat /= stat.sum()
    even = np.zeros((3, 3))
    np.add.at(even, (states[:, 0], states[:, 2]), p)
    odd = np.bincount(states[:, 1], weights=p, minlength=3)
    np.testing.assert_allclose(stat, even[states[:, 0], states[:, 2]] * odd[states[:, 1]], rtol=0, atol=1e-14)
    m = potts_marginals(POTTS_ELL, POTTS_J)
    sites = np.stack([np.bincount(states[:, i], weights=stat, minlength=3) for i in range(3)])
    np.testing.assert_allclose(sites, m.marginals, rtol=0, atol=1e-14)
    agree = np.array([stat @ (states[:, i] == states[:, i + 1]) for i in range(2)])
    np.testing.assert_allclose(agree, np.sum(m.marginals[:-1] * m.marginals[1:], -1), rtol=0, atol=1e-14)
    assert np.all(m.agreement - agree > 0.1)
    assert 0.5 * np.abs(start - p).sum() > 0.35  # the samplers start far from the coupled law


@pytest.mark.parametrize("schedule", ["chromatic", "synchronous"])
def test_law_after_one_sweep_from_the_uncoupled_start(schedule):
    """Chi-square of the joint configuration counts (27 cells) of 29,000 independent chains after one sweep
    against the exact law start @ K (oracle), alpha 1e-3. Power against a temperature 5 % off: >= 0.99
    (chi_square_sample_size <= 29,000 for each schedule); the same statistic rejects that sampler (run) and a
    sampler that returns its start (zero sweeps)."""
    C = 29_000
    _, _, start, K = _sweep_oracle(POTTS_ELL, POTTS_J)
    _, _, start_hot, K_hot = _sweep_oracle(1.05 * POTTS_ELL, 1.05 * POTTS_J)
    law, law_hot = start @ K[schedule], start_hot @ K_hot[schedule]
    assert chi_square_sample_size(law, law_hot) <= C

    def counts(ell, lam, sweeps):
        x = potts_gibbs(ell, lam, sweeps, rng=5, n_chains=C, schedule=schedule)  # (C, 3)
        return np.bincount(_codes(x, 3), minlength=27)

    assert chi_square_test(counts(POTTS_ELL, POTTS_J, 1), law).passed
    assert chi_square_test(counts(1.05 * POTTS_ELL, 1.05 * POTTS_J, 1), law).reject
    assert chi_square_test(counts(POTTS_ELL, POTTS_J, 0), law).reject


@pytest.mark.parametrize("schedule", ["chromatic", "synchronous"])
def test_every_sweep_follows_its_exact_kernel(schedule):
    """Transition counts N_xy between consecutive sweeps of 2,500 chains x 41 sweeps (100,000 transitions), from
    the uncoupled start, tested row by row against the exact kernel K_x (Anderson & Goodman 1957: given the
    visits N_x, sum_xy (N_xy - N_x K_xy)^2 / (N_x K_xy) is asymptotically chi-square with sum_x (#{y: K_xy > 0} - 1)
    degrees of freedom), alpha 1e-3. Power against a temperature 5 % off, from the expected visits (oracle) and
    the noncentral chi-square: >= 0.99 (0.9987); the same statistic rejects that sampler (run), and the other
    schedule's kernel (computed power 1). With the oracle's stationary laws this proves the chapter's claims:
    chromatic Gibbs samples the coupled law; synchronous updates keep the marginals and lose the pairs.
    Anderson, T. W. & Goodman, L. A. (1957) "Statistical inference about Markov chains", Ann. Math. Stat. 28, 89."""
    R, n_sweeps = 2_500, 41
    _, _, start, K = _sweep_oracle(POTTS_ELL, POTTS_J)
    _, _, _, K_hot = _sweep_oracle(1.05 * POTTS_ELL, 1.05 * POTTS_J)
    other = "synchronous" if schedule == "chromatic" else "chromatic"
    visits, law = np.zeros(27), start @ K[schedule]
    for _ in range(n_sweeps - 1):
        visits += R * law
        law = law @ K[schedule]
    assert _ag_power(K[schedule], K_hot[schedule], visits) >= 0.99
    assert _ag_power(K[schedule], K[other], visits) > 1 - 1e-12

    def transitions(ell, lam):
        codes = _codes(potts_gibbs(ell, lam, n_sweeps, rng=6, n_chains=R, schedule=schedule, return_trace=True), 3)
        return np.bincount((27 * codes[:-1] + codes[1:]).ravel(), minlength=27 * 27).reshape(27, 27)

    def statistic(N, kernel):
        seen = N.sum(axis=1) > 0
        return chi_square_test(N[seen], kernel[seen])

    N = transitions(POTTS_ELL, POTTS_J)
    assert statistic(N, K[schedule]).passed
    assert statistic(N, K[other]).reject
    assert statistic(transitions(1.05 * POTTS_ELL, 1.05 * POTTS_J), K[schedule]).reject


def test_zero_coupling_sweeps_are_independent_draws():
    """With lam = 0 a Gibbs sweep is independent sampling: site i's next state has law p_i whatever its current one.
    Transition counts of each site between consecutive sweeps (4000 chains x 12 sweeps: 44,000 per site) against
    the kernel whose every row is p_i, pooled over the 4 sites (Anderson & Goodman), alpha 1e-3. The start is the
    lam = 0 law itself, so a sampler that returns its input shows up as N_aa only (rejected by the same test).
    Power against a temperature 5 % off: >= 0.99 (noncentral chi-square from the visits n p'_i), run below; and
    the coupled chain at lam = 2, whose sweeps are correlated, is rejected."""
    ell = _logits(seed=7, T=4, S=3, masked=False)
    p = scipy_softmax(ell, axis=-1)  # (4, 3)
    R, n_sweeps = 4000, 12
    n = R * (n_sweeps - 1)
    kernel = np.repeat(p[:, None, :], 3, axis=1)  # (4, 3, 3): every row is p_i
    hot = scipy_softmax(1.05 * ell, axis=-1)
    visits = (n * hot).ravel()
    assert _ag_power(kernel.reshape(12, 3), np.repeat(hot[:, None, :], 3, axis=1).reshape(12, 3), visits) >= 0.99

    def transitions(ell_, lam):
        tr = potts_gibbs(ell_, lam, n_sweeps, rng=8, n_chains=R, return_trace=True)  # (n_sweeps, R, 4)
        cells = 9 * np.arange(4) + 3 * tr[:-1] + tr[1:]  # (n_sweeps - 1, R, 4)
        return np.bincount(cells.ravel(), minlength=36).reshape(4, 3, 3)

    assert chi_square_test(transitions(ell, 0.0), kernel).passed
    assert chi_square_test(transitions(1.05 * ell, 0.0), kernel).reject
    assert chi_square_test(transitions(ell, 2.0), kernel).reject
    stuck = np.zeros((4, 3, 3))
    stuck[:, np.arange(3), np.arange(3)] = n * p  # a sampler returning its input: the same key every sweep
    assert chi_square_test(stuck, kernel).reject
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
    Chi-square of the joint (j_0, j_1, j_2) counts of 21,000 chains against p_0 x p_1 x p_2 (27 cells), alpha 1e-3.
    Power against a temperature 5 % off in those draws: >= 0.99 (chi_square_sample_size), run below; the coupled
    law after one sweep at lam = 2 is rejected by the same test."""
    ell = 2.5 * np.random.default_rng(12).standard_normal((3, 3))
    states = np.array(list(itertools.product(range(3), repeat=3)))
    product = np.prod(scipy_softmax(ell, axis=-1)[np.arange(3), states], axis=1)  # (27,)
    product_hot = np.prod(scipy_softmax(1.05 * ell, axis=-1)[np.arange(3), states], axis=1)
    C = 21_000
    assert chi_square_sample_size(product, product_hot) <= C
    x = potts_gibbs(ell, 2.0, 0, rng=11, n_chains=C)
    assert x.shape == (C, 3)
    assert chi_square_test(np.bincount(_codes(x, 3), minlength=27), product).passed
    hot = potts_gibbs(1.05 * ell, 2.0, 0, rng=11, n_chains=C)
    assert chi_square_test(np.bincount(_codes(hot, 3), minlength=27), product).reject
    y = potts_gibbs(ell, 2.0, 1, rng=12, n_chains=C)
    assert chi_square_test(np.bincount(_codes(y, 3), minlength=27), product).reject
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
