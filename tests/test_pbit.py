"""Tests of thermoref.pbit: p-bits, Boltzmann-machine Gibbs sampling, the synchronous mistake, AND gate, CLT.

Oracles: explicit sums over itertools.product states written here (never the module's enumeration), closed
forms (sigmoid, binomial), and for the samplers exact enumeration. Markov-chain tests use many independent
chains and ONE final state per chain, so chi-square applies to independent draws. Every chi-square has
alpha = 1e-3 (false-positive rate as if the seed were random); the wrong samplers must be rejected (power).
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
from thermoref.testing import chi_square_test, empirical_law, enumerate_states

VALID = [s for s in SCHEDULES if s != "synchronous"]


def brute_law(W, b, beta, values):
    """Independent oracle: p(m) by a Python sum over itertools.product in enumerate_states order."""
    states = list(itertools.product(values, repeat=len(b)))
    E = [-0.5 * sum(W[i][j] * m[i] * m[j] for i in range(len(b)) for j in range(len(b))) - sum(bi * mi for bi, mi in zip(b, m)) for m in states]
    w = [math.exp(-beta * (e - min(E))) for e in E]
    return np.array(w) / sum(w), np.array(states, dtype=float)


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


@pytest.mark.parametrize("values", [(-1, 1), (0, 1)])
def test_sample_pbit_law_both_conventions(values):
    """Chi-square over 9 inputs x (hi, lo) counts; null chi2_9, alpha = 1e-3; rejects a 5 % gain error."""
    I = np.repeat(np.linspace(-2, 2, 9)[:, None], 20_000, axis=1)  # (9, K)
    m = sample_pbit(I, beta=1.0, rng=1, values=values)
    assert set(np.unique(m)) == set(values) and m.dtype == np.int8
    hi = (m == values[1]).sum(axis=1)
    counts = np.stack([hi, 20_000 - hi], axis=1)
    sig = special.expit(I[:, 0])
    assert chi_square_test(counts, np.stack([sig, 1 - sig], axis=1)).passed
    wrong = special.expit(1.05 * I[:, 0])
    assert chi_square_test(counts, np.stack([wrong, 1 - wrong], axis=1), alpha=0.05).reject


def test_tanh_form_carries_a_factor_two():
    """sgn(tanh(beta I) - r) has P(+1) = sigma(2 beta I): passes against it, rejected against sigma(beta I)."""
    I = np.repeat(np.linspace(-1, 1, 5)[:, None], 20_000, axis=1)
    m = sample_pbit_tanh(I, beta=1.0, rng=2)
    hi = (m == 1).sum(axis=1)
    counts = np.stack([hi, 20_000 - hi], axis=1)
    for gain, ok in [(2.0, True), (1.0, False)]:
        s = special.expit(gain * I[:, 0])
        assert chi_square_test(counts, np.stack([s, 1 - s], axis=1)).passed is ok


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


# ---------------------------------------------------------------- Gibbs samplers vs exact enumeration


@pytest.mark.parametrize("values", [(-1, 1), (0, 1)])
@pytest.mark.parametrize("schedule", VALID)
def test_gibbs_joint_law(network, schedule, values):
    """Joint law over all 64 states from 20000 independent chains (one final state each), chi-square."""
    W, b = network
    assert greedy_colouring(W).max() + 1 < 6
    m = gibbs_sample(W, b, beta=1.0, n_sweeps=150, n_chains=20_000, rng=3, schedule=schedule, values=values)
    counts = empirical_law(m, values)
    assert chi_square_test(counts, brute_law(W, b, 1.0, values)[0]).passed
    assert chi_square_test(counts, brute_law(W, b, 1.15, values)[0]).reject  # power: 15 % temperature error


def test_synchronous_update_on_bipartite_chain_right_marginals_wrong_correlations():
    """Exact: the synchronous stationary law is p(m_even) p(m_odd); sampled: marginals pass, joint rejected."""
    W, b = chain(4), np.array([0.3, -0.2, 0.1, 0.4])
    law = exact_law(W, b)
    pi = synchronous_stationary_law(W, b)
    s = law.states
    even, odd = s[:, [0, 2]], s[:, [1, 3]]
    p_even = np.bincount(2 * (even[:, 0] > 0) + (even[:, 1] > 0), weights=law.p, minlength=4)
    p_odd = np.bincount(2 * (odd[:, 0] > 0) + (odd[:, 1] > 0), weights=law.p, minlength=4)
    product = p_even[2 * (even[:, 0] > 0) + (even[:, 1] > 0)] * p_odd[2 * (odd[:, 0] > 0) + (odd[:, 1] > 0)]
    np.testing.assert_allclose(pi, product, rtol=1e-12)
    # Burn-in: the synchronous kernel's second eigenvalue is 0.881 (relaxation time 7.9 steps); 300 steps
    # leave a bias below e^-38.
    m = gibbs_sample(W, b, n_sweeps=300, n_chains=20_000, rng=4, schedule="synchronous")
    for i in range(4):  # single-unit marginals: right
        up = (m[:, i] == 1).sum()
        assert chi_square_test([up, 20_000 - up], [(1 + law.mean[i]) / 2, (1 - law.mean[i]) / 2]).passed
    counts = empirical_law(m)
    assert chi_square_test(counts, law.p).reject  # joint: wrong
    assert chi_square_test(counts, pi).passed  # it samples its own stationary law instead
    pair = np.bincount(2 * (m[:, 0] > 0) + (m[:, 1] > 0), minlength=4)  # nearest-neighbour pair: wrong
    assert chi_square_test(pair, np.bincount(2 * (s[:, 0] > 0) + (s[:, 1] > 0), weights=law.p, minlength=4)).reject


def test_synchronous_update_on_triangle_wrong_marginals_and_joint():
    W, b = np.ones((3, 3)) - np.eye(3), np.array([0.5, 0.0, 0.0])
    law = exact_law(W, b)
    pi = synchronous_stationary_law(W, b)
    assert abs(pi @ law.states[:, 0] - law.mean[0]) > 0.1  # exact marginals differ
    # Burn-in: the chromatic (here sequential) kernel's second eigenvalue is 0.917, a relaxation time of 11.5
    # sweeps; 30 sweeps left a 7 % bias that the chi-square caught. 300 sweeps leave e^-26.
    m = gibbs_sample(W, b, n_sweeps=300, n_chains=20_000, rng=5, schedule="synchronous")
    assert chi_square_test(empirical_law(m), law.p).reject
    m_ok = gibbs_sample(W, b, n_sweeps=300, n_chains=20_000, rng=5, schedule="chromatic")
    assert chi_square_test(empirical_law(m_ok), law.p).passed


# ---------------------------------------------------------------- invertible AND gate


def test_and_gate_ground_states_are_the_truth_table():
    W, b = AND_GATE
    law = exact_law(W, b, beta=3.0)
    truth = {(a, c, (1 if (a == 1 and c == 1) else -1)) for a in (-1, 1) for c in (-1, 1)}
    E = bm_energy(W, b, law.states)
    ground = {tuple(int(v) for v in s) for s in law.states[E == E.min()]}
    assert ground == truth and len(ground) == 4


@pytest.mark.parametrize("clamp", [{0: 1, 1: 1}, {0: 1, 1: -1}, {2: 1}, {2: -1}])
def test_and_gate_forward_and_backward(clamp):
    """Clamped Gibbs vs the exact conditional law (states outside the clamp have zero expected count)."""
    W, b = AND_GATE
    law = exact_law(W, b, beta=1.0, clamp=clamp)
    m = gibbs_sample(W, b, beta=1.0, n_sweeps=30, n_chains=10_000, rng=6, clamp=clamp)
    for i, v in clamp.items():
        assert (m[:, i] == v).all()
    keep = law.p > 0
    counts = empirical_law(m)
    assert counts[~keep].sum() == 0
    assert chi_square_test(counts[keep], law.p[keep]).passed


# ---------------------------------------------------------------- CLT Gaussian from p-bits


@pytest.mark.parametrize("M", [1, 4, 16, 64])
def test_clt_exact_law_and_samples(M):
    j = np.arange(M + 1)
    x = (2 * j - M) / np.sqrt(M)
    pmf = stats.binom.pmf(j, M, 0.5)
    assert abs(pmf @ x) < 1e-14 and abs(pmf @ x**2 - 1) < 1e-13
    np.testing.assert_allclose(pmf @ x**4 - 3, -2 / M, rtol=1e-12, atol=1e-13)  # excess kurtosis
    g = clt_gaussian(M, 20_000, rng=M)
    k = np.rint((g * np.sqrt(M) + M) / 2).astype(int)
    assert chi_square_test(np.bincount(k, minlength=M + 1), pmf).passed


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
