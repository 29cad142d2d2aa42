"""Tests of thermoref.pbit: p-bits, Boltzmann-machine Gibbs sampling, the synchronous mistake, AND gate, CLT.

Oracles: explicit sums over itertools.product states written here (never the module's enumeration), closed
forms (sigmoid, binomial), and for the samplers the exact transition kernels built here from those brute-force
energies (the heat-bath rule P(hi) = e^{-beta E_hi} / (e^{-beta E_hi} + e^{-beta E_lo}) per unit, composed in
the documented schedule order). Markov-chain tests run many independent chains from a point mass far from
equilibrium and keep ONE final state per chain, so the counts are multinomial and are compared by chi-square
with the EXACT law after that many sweeps (no burn-in bias, and a sampler that returns its start fails).

The standard for every stochastic test here: the statistic is Pearson's chi-square (null chi^2 after the
pooling of bins expecting < 5), alpha = 1e-3 (the false-positive rate, as if the seed were random), and its
power against the bug it is sized for, by default a temperature off by 5 % (the same sampler at beta * 1.05),
is computed by ``chi_square_power`` (noncentral chi-square with the test's own pooling) and asserted >= 0.99;
then that wrong sampler is run with the same sample size and seed and must be rejected (the power check).
"""

import itertools
import math

import numpy as np

from thermoref.ising import greedy_colouring
import pytest
from scipy import special, stats

from thermoref.pbit import (
    AND_GATE,
    SCHEDULES,
    bm_energy,
    clt_gaussian,
    clt_ks_distance,
    conditional_probability,
    exact_law,
    gibbs_sample,
    pbit_probability,
    sample_pbit,
    sample_pbit_tanh,
    synchronous_stationary_law,
)
from thermoref.testing import chi_square_power, chi_square_test, empirical_law, enumerate_states

VALID = [s for s in SCHEDULES if s != "synchronous"]
SPIN = (-1, 1)
ALPHA = 1e-3
HOT = 1.05  # the bug every sampler test is sized for: beta off by 5 %


def brute_energies(W, b, values):
    """Independent oracle: E(m) by a Python sum for every state, in itertools.product (enumerate_states) order."""
    n = len(b)
    states = list(itertools.product(values, repeat=n))
    E = [-0.5 * sum(W[i][j] * m[i] * m[j] for i in range(n) for j in range(n)) - sum(bi * mi for bi, mi in zip(b, m))
         for m in states]
    return np.array(E), np.array(states, dtype=float)


def brute_law(W, b, beta, values):
    """Independent oracle: p(m) = e^{-beta E(m)} / Z over the brute-force energies."""
    E, states = brute_energies(W, b, values)
    w = [math.exp(-beta * (e - min(E))) for e in E]
    return np.array(w) / sum(w), states


def heat_bath_kernels(W, b, beta, values):
    """Oracle: the single-unit heat-bath kernels K[i] (S x S) from the brute-force energies.

    K[i][a, a with unit i hi] = e^{-beta E_hi} / (e^{-beta E_hi} + e^{-beta E_lo}); unit i is bit n-1-i of the
    state's index in product order (the first unit varies slowest).
    """
    E, states = brute_energies(W, b, values)
    S, n = states.shape
    a = np.arange(S)
    K = np.zeros((n, S, S))
    for i in range(n):
        up, down = a | (1 << (n - 1 - i)), a & ~(1 << (n - 1 - i))
        p_hi = special.expit(beta * (E[down] - E[up]))  # (S,)
        np.add.at(K[i], (a, up), p_hi)
        np.add.at(K[i], (a, down), 1.0 - p_hi)
    return K


def sweep_kernel(W, b, beta, values, schedule, free=None):
    """Oracle: the exact one-sweep transition matrix of gibbs_sample's documented schedules (row = from).

    systematic: the free units in index order; chromatic: colour by colour in greedy_colouring's numbering (units
    of one colour are uncoupled, so their kernels commute and the block update is their product); random: as many
    updates as free units, each of a uniformly chosen free unit; synchronous: every unit redrawn from the OLD
    state's conditionals, T[a, c] = prod_i P(c_i | a_-i).
    """
    K = heat_bath_kernels(W, b, beta, values)
    n, S = K.shape[0], K.shape[1]
    free = list(range(n)) if free is None else list(free)
    if schedule == "random":
        return np.linalg.matrix_power(K[free].mean(axis=0), len(free))
    if schedule == "synchronous":
        a = np.arange(S)
        bits = 1 << (n - 1 - np.arange(n))  # (n,)
        p_hi = np.stack([K[i][a, a | bits[i]] for i in range(n)], axis=1)  # (S, n): from state a
        high = (a[:, None] & bits) != 0  # (S, n): is unit i hi in target state c
        return np.prod(np.where(high[None, :, :], p_hi[:, None, :], 1.0 - p_hi[:, None, :]), axis=2)  # (S, S)
    if schedule == "chromatic":
        colour = greedy_colouring(np.asarray(W, dtype=float))
        free = sorted(free, key=lambda i: colour[i])  # stable: index order within a colour
    T = np.eye(S)
    for i in free:
        T = T @ K[i]
    return T


def law_after(T, start, n_sweeps):
    """Exact law after n_sweeps from the point mass at state index ``start``: e_start T^n."""
    return np.linalg.matrix_power(T, n_sweeps)[start]



@pytest.fixture(scope="module")
def network():
    """A frustrated 6-unit network with mixed-sign couplings and fields; 3 colours (not complete)."""
    rng = np.random.default_rng(42)
    W = rng.normal(scale=0.6, size=(6, 6))
    W = np.triu(W, 1) * np.triu(rng.random((6, 6)) < 0.6, 1)
    W = W + W.T
    return W, rng.normal(scale=0.5, size=6)


def chain(n, J=1.0):
    W = np.zeros((n, n))
    idx = np.arange(n - 1)
    W[idx, idx + 1] = W[idx + 1, idx] = J
    return W


# ---------------------------------------------------------------- a single p-bit


def test_pbit_probability_is_the_sigmoid():
    I = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(pbit_probability(I, beta=0.7), 1 / (1 + np.exp(-0.7 * I)), rtol=1e-15)


def rows(prob):
    """The law (P(hi), P(lo)) of each input row, shape (inputs, 2)."""
    return np.stack([prob, 1 - prob], axis=1)


def row_counts(m, hi):
    """Counts (hi, lo) of each input row of draws m (inputs, K)."""
    n_hi = (m == hi).sum(axis=1)
    return np.stack([n_hi, m.shape[1] - n_hi], axis=1)


@pytest.mark.parametrize("values", [(-1, 1), (0, 1)])
def test_sample_pbit_law_both_conventions(values):
    """Chi-square over 9 inputs x (hi, lo) counts, 20,000 draws per input: null chi2_9, alpha = 1e-3.

    Power against a 5 % gain (temperature) error, draws from sigma(1.05 I): computed 1 - 2e-7 (lambda = 96),
    asserted >= 0.99, and the same sampler at beta = 1.05 with the same seed is rejected.
    """
    K = 20_000
    I = np.repeat(np.linspace(-2, 2, 9)[:, None], K, axis=1)  # (9, K)
    law = rows(special.expit(I[:, 0]))
    assert chi_square_power(law, rows(special.expit(HOT * I[:, 0])), K) >= 0.99
    for beta, ok in [(1.0, True), (HOT, False)]:
        m = sample_pbit(I, beta=beta, rng=1, values=values)
        assert set(np.unique(m)) == set(values) and m.dtype == np.int8
        assert chi_square_test(row_counts(m, values[1]), law).passed is ok


def test_tanh_form_carries_a_factor_two():
    """sgn(tanh(beta I) - r) has P(+1) = sigma(2 beta I).

    Chi-square over 5 inputs x 2 cells, 20,000 draws per input (null chi2_5, alpha = 1e-3): passes against
    sigma(2 beta I) and rejects sigma(beta I), the factor-2 bug it is sized for (computed power 1 to float64);
    against a 5 % temperature error, sigma(2.1 I), the computed power is 0.9997 and the tanh sampler at
    beta = 1.05 (same seed) is rejected.
    """
    K = 20_000
    I = np.repeat(np.linspace(-1, 1, 5)[:, None], K, axis=1)  # (5, K)
    right = rows(special.expit(2 * I[:, 0]))
    assert chi_square_power(right, rows(special.expit(I[:, 0])), K) >= 0.99
    assert chi_square_power(right, rows(special.expit(2 * HOT * I[:, 0])), K) >= 0.99
    m = sample_pbit_tanh(I, beta=1.0, rng=2)
    for gain, ok in [(2.0, True), (1.0, False)]:
        assert chi_square_test(row_counts(m, 1), rows(special.expit(gain * I[:, 0]))).passed is ok
    assert chi_square_test(row_counts(sample_pbit_tanh(I, beta=HOT, rng=2), 1), right).reject


# ---------------------------------------------------------------- energies, conditionals, exact law


@pytest.mark.parametrize("values", [(-1, 1), (0, 1)])
def test_exact_law_matches_brute_force(network, values):
    W, b = network
    p, states = brute_law(W, b, 0.8, values)
    law = exact_law(W, b, beta=0.8, values=values)
    np.testing.assert_allclose(law.p, p, rtol=1e-12)
    np.testing.assert_allclose(law.mean, p @ states, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(law.corr, states.T @ (p[:, None] * states), rtol=1e-12, atol=1e-15)
    E = bm_energy(W, b, states)
    np.testing.assert_allclose(law.log_Z, np.log(np.sum(np.exp(-0.8 * E))), rtol=1e-13)


@pytest.mark.parametrize("values", [(-1, 1), (0, 1)])
def test_conditional_is_the_energy_gap(network, values):
    """P(hi | rest) = sigma(beta (E(lo) - E(hi))): sigma(2 beta I) for spins, sigma(beta I) for bits."""
    W, b = network
    lo, hi = values
    m = enumerate_states(6, values).astype(float)  # (64, 6)
    for i in range(6):
        up, down = m.copy(), m.copy()
        up[:, i], down[:, i] = hi, lo
        expected = special.expit(0.9 * (bm_energy(W, b, down) - bm_energy(W, b, up)))
        np.testing.assert_allclose(conditional_probability(W, b, m, beta=0.9, values=values)[:, i], expected, rtol=1e-12)


def test_coloring_is_proper():
    rng = np.random.default_rng(0)
    A = np.triu(rng.random((12, 12)) < 0.3, 1)
    W = (A | A.T).astype(float)
    c = greedy_colouring(W)
    assert not ((W != 0) & (c[:, None] == c[None, :])).any()
    assert greedy_colouring(chain(9)).max() <= 2  # max degree 2: at most 3 colours
    assert greedy_colouring(np.ones((4, 4)) - np.eye(4)).max() == 3  # complete graph: n colours


# ---------------------------------------------------------------- Gibbs samplers vs exact kernels


def test_oracle_kernels_keep_the_boltzmann_law_and_converge_to_it(network):
    """The oracle itself: every valid sweep kernel leaves the brute-force Boltzmann law invariant (to rounding)
    and forgets its start, so a sampler with the oracle's kernel samples e^{-beta E}/Z; the synchronous kernel
    does not keep it."""
    W, b = network
    for values in [SPIN, (0, 1)]:
        p, _ = brute_law(W, b, 1.0, values)
        for schedule in VALID:
            T = sweep_kernel(W, b, 1.0, values, schedule)
            np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-14)
            np.testing.assert_allclose(p @ T, p, rtol=0, atol=1e-15)
            assert np.abs(law_after(T, np.argmin(p), 400) - p).sum() < 1e-9
        assert np.abs(p @ sweep_kernel(W, b, 1.0, values, "synchronous") - p).sum() > 0.01


@pytest.mark.parametrize("values", [(-1, 1), (0, 1)])
@pytest.mark.parametrize("schedule", VALID)
def test_gibbs_joint_law(network, schedule, values):
    """Joint law over all 64 states: 40,000 independent chains started at the least probable state, one final
    state each after 10 sweeps, against the exact 10-sweep law of the oracle kernel (chi-square, alpha = 1e-3).

    Power against a 5 % temperature error (the same schedule at beta = 1.05, whose 10-sweep law is exact too):
    computed (noncentral chi-square, the test's pooling) 0.9944-0.9949 for bits, where the law is closest to
    equilibrium (a 5 % error needs 37,610-37,971 chains), and above 0.99999 for spins; asserted >= 0.99 and
    run. A sampler that returns its start puts every chain in a state of probability below 0.002: rejected.
    """
    W, b = network
    assert greedy_colouring(W).max() + 1 < 6
    K, n_sweeps = 40_000, 10
    p_eq, states = brute_law(W, b, 1.0, values)
    start = int(np.argmin(p_eq))
    p = law_after(sweep_kernel(W, b, 1.0, values, schedule), start, n_sweeps)
    q = law_after(sweep_kernel(W, b, HOT, values, schedule), start, n_sweeps)
    assert p[start] < 0.002 and chi_square_power(p, q, K) >= 0.99
    for beta, ok in [(1.0, True), (HOT, False)]:
        m = gibbs_sample(W, b, beta=beta, n_sweeps=n_sweeps, n_chains=K, rng=3, schedule=schedule, values=values,
                         m0=states[start])
        assert chi_square_test(empirical_law(m, values), p).passed is ok


def test_synchronous_update_on_bipartite_chain_right_marginals_wrong_correlations():
    """Exact: the synchronous stationary law is p(m_even) p(m_odd) and it is stationary for the oracle's
    synchronous kernel. Sampled (20,000 chains from all up, 100 steps, chi-square, alpha = 1e-3): the draws
    follow the exact 100-step synchronous law (power against the synchronous update at beta = 1.05: computed
    1 - 2e-6, run), every single-unit marginal passes against the Boltzmann marginal, and the joint law and the
    nearest-neighbour pair law are rejected (computed power 1 to float64 against each)."""
    W, b = chain(4), np.array([0.3, -0.2, 0.1, 0.4])
    law = exact_law(W, b)
    pi = synchronous_stationary_law(W, b)
    s = law.states
    even, odd = s[:, [0, 2]], s[:, [1, 3]]
    p_even = np.bincount(2 * (even[:, 0] > 0) + (even[:, 1] > 0), weights=law.p, minlength=4)
    p_odd = np.bincount(2 * (odd[:, 0] > 0) + (odd[:, 1] > 0), weights=law.p, minlength=4)
    product = p_even[2 * (even[:, 0] > 0) + (even[:, 1] > 0)] * p_odd[2 * (odd[:, 0] > 0) + (odd[:, 1] > 0)]
    np.testing.assert_allclose(pi, product, rtol=1e-12)
    T = sweep_kernel(W, b, 1.0, SPIN, "synchronous")
    np.testing.assert_allclose(pi @ T, pi, rtol=0, atol=1e-15)
    K, n_steps, start = 20_000, 100, 15  # start: all up
    p = law_after(T, start, n_steps)
    # the synchronous kernel's second eigenvalue is 0.881: after 100 steps the law is pi to 1.4e-6 (TV), so the
    # marginal tests below are tests of the stationary marginals (a shift far below their resolution, 0.007)
    assert np.abs(p - pi).sum() < 1e-5
    assert chi_square_power(p, law_after(sweep_kernel(W, b, HOT, SPIN, "synchronous"), start, n_steps), K) >= 0.99
    pair_index = 2 * (s[:, 0] > 0) + (s[:, 1] > 0)
    pair_law = np.bincount(pair_index, weights=law.p, minlength=4)
    assert chi_square_power(law.p, p, K) >= 0.99
    assert chi_square_power(pair_law, np.bincount(pair_index, weights=p, minlength=4), K) >= 0.99
    m = gibbs_sample(W, b, n_sweeps=n_steps, n_chains=K, rng=4, schedule="synchronous", m0=np.ones(4))
    counts = empirical_law(m)
    assert chi_square_test(counts, p).passed  # it samples its own law
    for i in range(4):  # single-unit marginals: right
        up = (m[:, i] == 1).sum()
        assert chi_square_test([up, K - up], [(1 + law.mean[i]) / 2, (1 - law.mean[i]) / 2]).passed
    assert chi_square_test(counts, law.p).reject  # joint: wrong
    pair = np.bincount(2 * (m[:, 0] > 0) + (m[:, 1] > 0), minlength=4)  # nearest-neighbour pair: wrong
    assert chi_square_test(pair, pair_law).reject
    hot = gibbs_sample(W, b, beta=HOT, n_sweeps=n_steps, n_chains=K, rng=4, schedule="synchronous", m0=np.ones(4))
    assert chi_square_test(empirical_law(hot), p).reject  # power check


def test_synchronous_update_on_triangle_wrong_marginals_and_joint():
    """Triangle (n colours): 25,000 chains from all up, 100 sweeps, chi-square at alpha = 1e-3 against exact laws.

    Chromatic draws follow the exact 100-sweep law, which is the Boltzmann law to 5e-5 in total variation
    (computed power against beta * 1.05: 0.9981); synchronous draws follow their own exact 100-step law
    (power against beta * 1.05: 1 - 2e-15) and are rejected against the Boltzmann law (power 1 to float64).
    Both beta * 1.05 samplers are run with the same seed and rejected.
    """
    W, b = np.ones((3, 3)) - np.eye(3), np.array([0.5, 0.0, 0.0])
    law = exact_law(W, b)
    pi = synchronous_stationary_law(W, b)
    assert abs(pi @ law.states[:, 0] - law.mean[0]) > 0.1  # exact marginals differ
    K, n_sweeps, start = 25_000, 100, 7  # start: all up
    p_chrom = law_after(sweep_kernel(W, b, 1.0, SPIN, "chromatic"), start, n_sweeps)
    p_sync = law_after(sweep_kernel(W, b, 1.0, SPIN, "synchronous"), start, n_sweeps)
    assert np.abs(p_chrom - law.p).sum() < 1e-4
    assert chi_square_power(law.p, p_sync, K) >= 0.99
    for schedule, p in [("chromatic", p_chrom), ("synchronous", p_sync)]:
        assert chi_square_power(p, law_after(sweep_kernel(W, b, HOT, SPIN, schedule), start, n_sweeps), K) >= 0.99
        m = gibbs_sample(W, b, n_sweeps=n_sweeps, n_chains=K, rng=5, schedule=schedule, m0=np.ones(3))
        assert chi_square_test(empirical_law(m), p).passed
        assert chi_square_test(empirical_law(m), law.p).passed is (schedule == "chromatic")
        hot = gibbs_sample(W, b, beta=HOT, n_sweeps=n_sweeps, n_chains=K, rng=5, schedule=schedule, m0=np.ones(3))
        assert chi_square_test(empirical_law(hot), p).reject  # power check


# ---------------------------------------------------------------- invertible AND gate


def test_and_gate_ground_states_are_the_truth_table():
    W, b = AND_GATE
    law = exact_law(W, b, beta=3.0)
    truth = {(a, c, (1 if (a == 1 and c == 1) else -1)) for a in (-1, 1) for c in (-1, 1)}
    E = bm_energy(W, b, law.states)
    ground = {tuple(int(v) for v in s) for s in law.states[E == E.min()]}
    assert ground == truth and len(ground) == 4


CLAMPS = [{0: 1, 1: 1}, {0: 1, 1: -1}, {2: 1}, {2: -1}]


@pytest.mark.parametrize("clamp", CLAMPS)
def test_and_gate_clamped_exact_law_is_the_conditional(clamp):
    """exact_law(clamp=...) is the brute-force Boltzmann law restricted to the clamped states, renormalized."""
    W, b = AND_GATE
    for beta in (0.5, 1.0, 3.0):
        p, states = brute_law(W, b, beta, SPIN)
        inside = np.all([states[:, i] == v for i, v in clamp.items()], axis=0)
        np.testing.assert_allclose(exact_law(W, b, beta=beta, clamp=clamp).p, np.where(inside, p, 0) / p[inside].sum(),
                                   rtol=1e-13, atol=0)


# (clamp, chains, sweeps): the chains a 5 % temperature error needs at power 0.99 are 54,007 for an input clamp
# (one free unit), 33,398 for C = +1 and 190,977 for C = -1 (the truth-table rows are nearly certain at beta = 1,
# so the error moves little mass); the sweeps bring the law within 1e-7 of the conditional law (C = -1 has
# second eigenvalue 0.23; one sweep of a single free unit is an exact draw).
AND_RUNS = [({0: 1, 1: 1}, 60_000, 2), ({0: 1, 1: -1}, 60_000, 2), ({2: 1}, 40_000, 8), ({2: -1}, 200_000, 12)]


@pytest.mark.parametrize("clamp, K, n_sweeps", AND_RUNS)
def test_and_gate_forward_and_backward(clamp, K, n_sweeps):
    """Clamped chromatic Gibbs: K chains from the highest-energy state the clamp allows, against the exact law
    after n_sweeps of the oracle kernel over the free units (chi-square, alpha = 1e-3), which is the gate's
    conditional law to 1e-7 in total variation; a draw outside the clamp has probability 0 and rejects outright.

    Power against a 5 % temperature error (sizes in AND_RUNS), computed: 0.9957 (input clamps), 0.9991 (C = +1),
    0.9932 (C = -1); asserted >= 0.99, and the beta = 1.05 sampler is run with the same seed and rejected.
    """
    W, b = AND_GATE
    p_eq, states = brute_law(W, b, 1.0, SPIN)
    inside = np.all([states[:, i] == v for i, v in clamp.items()], axis=0)
    free = [i for i in range(3) if i not in clamp]
    E, _ = brute_energies(W, b, SPIN)
    start = int(np.flatnonzero(inside)[np.argmax(E[inside])])
    p = law_after(sweep_kernel(W, b, 1.0, SPIN, "chromatic", free), start, n_sweeps)
    q = law_after(sweep_kernel(W, b, HOT, SPIN, "chromatic", free), start, n_sweeps)
    assert np.abs(p - np.where(inside, p_eq, 0) / p_eq[inside].sum()).sum() < 1e-7
    assert chi_square_power(p, q, K) >= 0.99 and p[start] < 0.02
    for beta, ok in [(1.0, True), (HOT, False)]:
        m = gibbs_sample(W, b, beta=beta, n_sweeps=n_sweeps, n_chains=K, rng=6, clamp=clamp, m0=states[start])
        for i, v in clamp.items():
            assert (m[:, i] == v).all()
        assert chi_square_test(empirical_law(m), p).passed is ok


# ---------------------------------------------------------------- CLT Gaussian from p-bits


@pytest.mark.parametrize("M", [1, 4, 16, 64])
def test_clt_exact_law_and_samples(M):
    """Exact moments of the scaled binomial; the sampled sum by chi-square over its M + 1 values (20,000 draws,
    alpha = 1e-3). A fair p-bit sits at I = 0, where a temperature error changes nothing, so the test is sized
    for a 5 % bias of the bit, P(+1) = 0.525 (an input offset): computed power 0.99992 at M = 1 and above for
    larger M, asserted >= 0.99, and run with the same uniforms (sample_pbit at that offset, seed M)."""
    j = np.arange(M + 1)
    x = (2 * j - M) / np.sqrt(M)
    pmf = stats.binom.pmf(j, M, 0.5)
    assert abs(pmf @ x) < 1e-14 and abs(pmf @ x**2 - 1) < 1e-13
    np.testing.assert_allclose(pmf @ x**4 - 3, -2 / M, rtol=1e-12, atol=1e-13)  # excess kurtosis
    K, biased = 20_000, 0.5 * HOT
    assert chi_square_power(pmf, stats.binom.pmf(j, M, biased), K) >= 0.99
    g = clt_gaussian(M, K, rng=M)
    wrong = sample_pbit(np.full((K, M), special.logit(biased)), rng=M).sum(axis=1) / np.sqrt(M)
    for draws, ok in [(g, True), (wrong, False)]:
        k = np.rint((draws * np.sqrt(M) + M) / 2).astype(int)
        assert np.allclose((2 * k - M) / np.sqrt(M), draws, rtol=0, atol=1e-12)  # on the M + 1 points
        assert chi_square_test(np.bincount(k, minlength=M + 1), pmf).passed is ok


def test_clt_ks_distance_against_a_fine_grid():
    for M in (3, 10, 50):
        jumps = (2 * np.arange(M + 1) - M) / np.sqrt(M)
        grid = np.concatenate([np.linspace(-np.sqrt(M) - 1, np.sqrt(M) + 1, 20_001), jumps, np.nextafter(jumps, -np.inf)])
        F = stats.binom.cdf(np.floor((grid * np.sqrt(M) + M) / 2 + 1e-9), M, 0.5)
        assert abs(np.max(np.abs(F - stats.norm.cdf(grid))) - clt_ks_distance(M)) < 1e-12
    assert abs(clt_ks_distance(4096) * 64 - 1 / np.sqrt(2 * np.pi)) < 2e-3


# ---------------------------------------------------------------- bad input


def test_bad_input():
    W = np.array([[0.0, 1.0], [0.5, 0.0]])
    with pytest.raises(ValueError, match="W"):
        gibbs_sample(W, [0.0, 0.0], n_sweeps=1, n_chains=1, rng=0)
    with pytest.raises(ValueError, match="W"):
        exact_law(np.eye(2), [0.0, 0.0])
    with pytest.raises(ValueError, match="b"):
        exact_law(np.zeros((2, 2)), [0.0])
    with pytest.raises(ValueError, match="values"):
        sample_pbit([0.0], rng=0, values=(1, 2))
    with pytest.raises(ValueError, match="schedule"):
        gibbs_sample(np.zeros((2, 2)), [0.0, 0.0], n_sweeps=1, n_chains=1, rng=0, schedule="parallel")
    with pytest.raises(ValueError, match="clamp"):
        gibbs_sample(np.zeros((2, 2)), [0.0, 0.0], n_sweeps=1, n_chains=1, rng=0, clamp={5: 1})
    with pytest.raises(ValueError, match="beta"):
        pbit_probability([0.0], beta=-1.0)
    with pytest.raises(ValueError, match="I"):
        pbit_probability([np.nan])


def test_bad_input_named_errors_regressions():
    """Regressions from an independent fuzz: each bad argument gets a ValueError/TypeError naming it."""
    W, b = AND_GATE
    cases = [
        (lambda: gibbs_sample(W, b, n_sweeps=1, n_chains=1, rng=0, clamp="ab"), TypeError, "clamp"),  # was AttributeError
        (lambda: sample_pbit([0.0], rng=0, values=None), TypeError, "values"),
        (lambda: sample_pbit([0.0], rng=0, values=(-1 + 0j, 1 + 0j)), TypeError, "values"),  # was a ComplexWarning
        (lambda: sample_pbit([0.0], rng=0, values=(0.5, 1)), ValueError, "values"),
        (lambda: sample_pbit([0.0], rng=0, values=np.float64(1.0)), TypeError, "values"),
        (lambda: gibbs_sample(W, b, n_sweeps=1, n_chains=1, rng=0, return_trajectory="yes"), TypeError,
         "return_trajectory"),
        (lambda: gibbs_sample(W, b, n_sweeps=2**62, n_chains=1, rng=0), ValueError, "n_sweeps"),  # was a hang
        (lambda: gibbs_sample(W, b, n_sweeps=1, n_chains=2**62, rng=0), ValueError, "n_chains"),
        (lambda: conditional_probability(W, b, np.ones((2, 4))), ValueError, "m"),  # was a matmul error
        (lambda: conditional_probability(W, b, [[0.5, 1.0, 1.0]]), ValueError, "m"),
        (lambda: bm_energy(W, b, [[0.5, 1.0, 1.0]]), ValueError, "m"),
        (lambda: bm_energy(W, np.full(3, 1e308), [[1, 1, 1]]), ValueError, "b"),  # was an overflow warning
        (lambda: clt_gaussian(2**62, 10, rng=0), ValueError, "M"),
        (lambda: clt_gaussian(16, 2**62, rng=0), ValueError, "size"),
        (lambda: clt_ks_distance(2**62), ValueError, "M"),
        (lambda: synchronous_stationary_law(W, b, beta=1e308), ValueError, "beta"),  # was a LinAlgError
    ]
    for call, kind, name in cases:
        with pytest.raises(kind, match=f"^{name}: "):
            call()


def test_limits_are_valid_input():
    """beta = 0: fair coins; beta = 1e308: the step function (no NaN from inf * 0, no warning); zero sweeps
    return the start; beta = inf in the exact law: the ground states share the weight, log Z = -beta E_min."""
    W, b = AND_GATE
    np.testing.assert_array_equal(pbit_probability([-2.0, 0.0, 3.0], beta=1e308), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(pbit_probability([-2.0, 0.0, 3.0], beta=0.0), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(conditional_probability(W, b, [[1, 1, 1]], beta=1e308), [[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(sample_pbit_tanh([-1.0, 1.0], beta=1e308, rng=0), [-1, 1])
    m0 = np.array([1, -1, 1], dtype=np.int8)
    np.testing.assert_array_equal(gibbs_sample(W, b, n_sweeps=0, n_chains=4, rng=0, m0=m0), np.tile(m0, (4, 1)))
    assert gibbs_sample(W, b, n_sweeps=0, n_chains=4, rng=0, return_trajectory=True).shape == (0, 4, 3)
    # zero temperature: from any start, one chromatic sweep with both inputs clamped high lands on the
    # unique ground state consistent with the clamp (the AND gate's output 1)
    m = gibbs_sample(W, b, beta=1e308, n_sweeps=1, n_chains=100, rng=0, clamp={0: 1, 1: 1})
    assert (m[:, 2] == 1).all()
    law = exact_law(W, b, beta=np.inf)
    E = bm_energy(W, b, law.states)
    np.testing.assert_array_equal(law.p[E == E.min()], 0.25)  # the four rows of the truth table
    assert law.log_Z == np.inf  # ground energy -3 < 0: Z -> inf as beta -> inf


def test_same_seed_same_bits():
    W, b = AND_GATE
    for schedule in SCHEDULES:
        a = gibbs_sample(W, b, n_sweeps=5, n_chains=50, rng=7, schedule=schedule)
        np.testing.assert_array_equal(a, gibbs_sample(W, b, n_sweeps=5, n_chains=50, rng=np.random.default_rng(7),
                                                      schedule=schedule))
