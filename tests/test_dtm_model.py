"""The forward flip process and the reverse grid Boltzmann machines of thermoref.dtm, against exact references.

References are independent of the code under test: the two-state chain's transition-matrix powers, Bayes'
rule with the flip probabilities (not the coupling gamma), thermoref.ising's own enumeration and energy, and
brute force over pixel pairs. Stochastic checks are chi-square tests (thermoref.testing) at alpha = 1e-3 whose
sample size is computed for power >= 0.99 against a 5 % temperature error, and a power check shows that error
rejected; chains start far from equilibrium (all pixels 0), so a sampler that does nothing fails.
"""

import numpy as np
import pytest
from scipy import stats

from fuzz_specs.core import check_spec
from fuzz_specs.dtm_model_family import ZEROS_SPEC
from thermoref.backend import NumpyBackend
from thermoref.dtm import (
    DTM,
    coupling_strength,
    cumulative_flip,
    exact_step_law,
    flip_schedule,
    forward_path,
    forward_sample,
    generate,
    grid_colouring,
    grid_edges,
    sample_step,
    start_error_bound,
    step_chain,
    step_energy,
    step_ising,
)
from thermoref.ising import IsingModel, check_colouring, exact_law, greedy_colouring, ising_energy
from thermoref.testing import chi_square_power, chi_square_test, enumerate_states, state_index

ALPHA = 1e-3


def _random_dtm(side: int, flip, scale: float, seed: int, neighbourhood: int = 8) -> DTM:
    rng = np.random.default_rng(seed)
    z = DTM.zeros(side, flip, neighbourhood=neighbourhood)
    return DTM(side, z.edges, rng.normal(0, scale, z.weights.shape), rng.normal(0, scale, z.biases.shape), z.flip)


def _scaled(dtm: DTM, factor: float) -> DTM:
    """The same model at inverse temperature ``factor``: couplings, fields and gamma all scaled."""
    q = (1 - np.tanh(factor * dtm.gammas)) / 2
    return DTM(dtm.side, dtm.edges, factor * dtm.weights, factor * dtm.biases, q)


@pytest.mark.parametrize("side", [2, 3, 5, 7])
@pytest.mark.parametrize("neighbourhood", [4, 8, 12, 24])
def test_grid_edges_against_brute_force(side, neighbourhood):
    r, c = np.divmod(np.arange(side * side), side)
    dr, dc = np.abs(r[:, None] - r[None]), np.abs(c[:, None] - c[None])
    near = {4: dr + dc == 1, 8: np.maximum(dr, dc) == 1, 12: (np.maximum(dr, dc) == 1) | ((dr + dc == 2) & (dr * dc == 0)),
            24: (np.maximum(dr, dc) <= 2) & (dr + dc > 0)}[neighbourhood]
    i, j = np.nonzero(np.triu(near, 1))
    assert grid_edges(side, neighbourhood).tolist() == np.stack([i, j], 1).tolist()
    if neighbourhood in (4, 8):  # closed forms quoted in the docstring
        m = 2 * side * (side - 1) + (2 * (side - 1) ** 2 if neighbourhood == 8 else 0)
        assert len(grid_edges(side, neighbourhood)) == m


@pytest.mark.parametrize("neighbourhood, colours", [(4, 2), (8, 4), (12, 9), (24, 9)])
def test_grid_colouring_is_proper_and_small(neighbourhood, colours):
    for side in (3, 4, 10):
        J = DTM.zeros(side, [0.25], neighbourhood=neighbourhood).couplings(1).copy()
        J.data[:] = 1.0
        c = check_colouring(J, grid_colouring(side, neighbourhood))  # raises if two neighbours share a colour
        assert c.max() + 1 == colours
    # the reference backend colours any graph greedily: 6 colours on the 10 x 10 king graph, not 4
    J = DTM.zeros(10, [0.25]).couplings(1).copy(); J.data[:] = 1.0
    assert greedy_colouring(J).max() + 1 == 6


def test_cumulative_flip_against_transition_matrix_powers():
    q = np.array([0.05, 0.2, 0.1, 0.5, 0.3])
    M, out = np.eye(2), []
    for qt in q:
        M = M @ np.array([[1 - qt, qt], [qt, 1 - qt]])
        out.append(M[0, 1])
    np.testing.assert_allclose(cumulative_flip(q), out, rtol=0, atol=4 * np.finfo(float).eps)
    assert cumulative_flip(q)[3:].tolist() == [0.5, 0.5]  # a fair flip randomizes for good


def test_flip_schedule_reaches_its_final_correlation():
    for T, c in [(1, 0.0), (4, 0.0625), (16, 0.002)]:
        q = flip_schedule(T, c)
        assert np.isclose(1 - 2 * cumulative_flip(q)[-1], c, rtol=1e-13, atol=1e-15)
    assert flip_schedule(1, 0.0).tolist() == [0.5]


def test_coupling_strength_is_the_log_odds_of_keeping_a_pixel():
    q = np.array([0.01, 0.1, 0.3, 0.5])
    np.testing.assert_allclose(coupling_strength(q), 0.5 * np.log((1 - q) / q), rtol=1e-14, atol=1e-16)


def test_start_error_bound_is_an_upper_bound_on_the_true_distance():
    # exact law of x_T for a 3-pixel data law, against uniform; the bound must hold and be within 10x
    rng = np.random.default_rng(0)
    states = enumerate_states(3, (0, 1))
    p0 = rng.dirichlet(np.ones(8))
    for q in ([0.3], [0.2, 0.2, 0.2], flip_schedule(5, 0.01)):
        qbar = cumulative_flip(q)[-1]
        d = (states[:, None, :] != states[None, :, :]).sum(-1)  # Hamming distances (8, 8)
        kernel = qbar ** d * (1 - qbar) ** (3 - d)
        tv = 0.5 * np.abs(p0 @ kernel - 1 / 8).sum()
        bound = start_error_bound(q, 3)
        assert tv <= bound < 10 * tv + 1e-12


def test_forward_sample_flip_rate():
    # statistic: flipped-pixel count, Binomial(N n, qbar); two-sided exact test at alpha; power vs 5 % error
    q, N, n = flip_schedule(6, 0.05), 4000, 25
    x0 = np.random.default_rng(1).integers(0, 2, (N, n)).astype(np.int8)
    for t in (1, 3, 6):
        flips = int((forward_sample(x0, q, t, rng=t) != x0).sum())
        qbar = cumulative_flip(q)[t - 1]
        assert stats.binomtest(flips, N * n, qbar).pvalue > ALPHA
        lo, hi = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], N * n, qbar)  # acceptance region
        power = stats.binom.cdf(lo - 1, N * n, qbar * 1.05) + stats.binom.sf(hi, N * n, qbar * 1.05)
        assert power > 0.99, power
    assert (forward_sample(x0, q, 0, rng=0) == x0).all()


def test_forward_path_is_markov_with_the_stated_steps():
    q, N, n = np.array([0.1, 0.25, 0.05]), 20000, 4
    path = forward_path(np.zeros((N, n), dtype=np.int8), q, rng=3)
    assert path.shape == (4, N, n) and (path[0] == 0).all()
    for t in range(1, 4):
        step = int((path[t] != path[t - 1]).sum())  # one-step flips: Binomial(N n, q_t)
        assert stats.binomtest(step, N * n, q[t - 1]).pvalue > ALPHA
        total = int(path[t].sum())  # marginal flips from x_0 = 0: Binomial(N n, qbar_t)
        assert stats.binomtest(total, N * n, cumulative_flip(q)[t - 1]).pvalue > ALPHA
    a = forward_path(np.zeros((5, 3), dtype=np.int8), q, rng=7)
    assert (a == forward_path(np.zeros((5, 3), dtype=np.int8), q, rng=7)).all()  # same seed, same bits


def test_step_energy_is_the_ising_energy_of_step_ising():
    dtm = _random_dtm(4, [0.2, 0.1], 0.7, 0)
    rng = np.random.default_rng(2)
    x_prev, x_t = rng.integers(0, 2, (6, 16)), rng.integers(0, 2, (6, 16))
    for t in (1, 2):
        J, h = step_ising(dtm, t, x_t)
        E = ising_energy((2 * x_prev - 1).reshape(1, -1), J.toarray(), h)  # one block-diagonal system
        np.testing.assert_allclose(step_energy(dtm, t, x_prev, x_t).sum(), E[0], rtol=1e-13)
        assert J.shape == (96, 96) and J[:16, 16:].count_nonzero() == 0  # no coupling between images


def test_exact_step_law_against_ising_enumeration():
    dtm = _random_dtm(3, [0.15, 0.3], 0.8, 1)
    x_t = np.random.default_rng(3).integers(0, 2, (3, 9))
    for t in (1, 2):
        states, p = exact_step_law(dtm, t, x_t)
        for b in range(3):  # a few images: the reference enumerates one model at a time
            J, h = step_ising(dtm, t, x_t[b])
            law = exact_law(IsingModel(J.toarray(), h), beta=1.0)
            np.testing.assert_allclose(p[b], law.p[state_index(2 * states - 1)], rtol=1e-12, atol=1e-300)


def test_reverse_step_with_the_true_prior_is_bayes_rule():
    # a data law that a grid BM represents exactly (its energy is a grid BM energy), T = 1, q = 0.2:
    # p(x0 | x1) by Bayes with the FLIP PROBABILITY must equal the model law that uses gamma = artanh(1 - 2q)
    dtm = _random_dtm(3, [0.2], 0.6, 4)
    states = enumerate_states(9, (0, 1))
    prior = np.exp(-step_energy(DTM(3, dtm.edges, dtm.weights, dtm.biases, [0.5]), 1, states, states))
    x1 = np.random.default_rng(5).integers(0, 2, (4, 9))
    d = (states[None, :, :] != x1[:, None, :]).sum(-1)  # (4, 512) Hamming distances
    bayes = prior * 0.2 ** d * 0.8 ** (9 - d)
    bayes /= bayes.sum(1, keepdims=True)
    np.testing.assert_allclose(exact_step_law(dtm, 1, x1)[1], bayes, rtol=1e-12)


def _counts(x: np.ndarray, states: np.ndarray) -> np.ndarray:
    order = np.argsort(state_index(states, (0, 1)))
    return np.bincount(state_index(x, (0, 1)), minlength=len(states))[order]


def test_sample_step_draws_the_exact_conditional_far_from_equilibrium():
    # statistic: Pearson X^2 over the 512 images of each conditioning image (pooled bins < 5 expected),
    # null chi2, alpha = 1e-3; N sized for power >= 0.99 against beta off by 5 %, and that power is checked
    dtm = _random_dtm(3, [0.2, 0.2], 0.35, 6)
    x_t = np.array([[1, 0, 1, 1, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 0, 1, 0]], dtype=np.int8)
    states, p = exact_step_law(dtm, 2, x_t)
    _, p_hot = exact_step_law(_scaled(dtm, 1.05), 2, x_t)
    N = 30000
    assert chi_square_power(p, p_hot, N) > 0.99
    cond = np.repeat(x_t, N, axis=0)
    x = sample_step(dtm, 2, cond, n_sweeps=60, rng=11, init=np.zeros_like(cond))
    counts = np.stack([_counts(x[:N], states), _counts(x[N:], states)])
    assert chi_square_test(counts, p).pvalue > ALPHA
    assert chi_square_test(counts, p_hot).pvalue < ALPHA  # power: the 5 % hotter law is rejected
    lazy = sample_step(dtm, 2, cond, n_sweeps=0, rng=11, init=np.zeros_like(cond))
    assert chi_square_test(np.stack([_counts(lazy[:N], states), _counts(lazy[N:], states)]), p).pvalue < ALPHA


def test_generate_draws_the_composed_law_of_the_steps():
    # T = 2 on 2x2 images: the exact law of x_0 is uniform(x_2) composed with both exact step laws
    dtm = _random_dtm(2, [0.3, 0.3], 0.5, 7)
    states = enumerate_states(4, (0, 1))
    law = np.full(16, 1 / 16)
    for t in (2, 1):
        law = law @ exact_step_law(dtm, t, states)[1]
    _, hot = exact_step_law(_scaled(dtm, 1.05), 1, states)
    law_hot = (np.full(16, 1 / 16) @ exact_step_law(_scaled(dtm, 1.05), 2, states)[1]) @ hot
    N = 200000
    assert chi_square_power(law, law_hot, N) > 0.99
    unit = NumpyBackend()
    x = generate(dtm, N, n_sweeps=25, rng=12, backend=unit)
    assert chi_square_test(_counts(x, states), law).pvalue > ALPHA
    assert chi_square_test(_counts(x, states), law_hot).pvalue < ALPHA
    # the ledger: every step runs N images of 4 pixels for 25 sweeps; a 2x2 king graph needs 4 colours
    assert unit.ledger.updates == 2 * 25 * N * 4 and unit.ledger.phases == 2 * 25 * 4 and unit.ledger.sweeps == 2 * 25


def test_step_chain_is_the_chain_of_sample_step():
    dtm = _random_dtm(3, [0.2], 0.5, 8)
    x_t = np.random.default_rng(0).integers(0, 2, (5, 9)).astype(np.int8)
    chain = step_chain(dtm, 1, x_t, n_sweeps=7, rng=4)
    assert chain.shape == (8, 5, 9) and (chain[0] == x_t).all()
    assert (chain[-1] == sample_step(dtm, 1, x_t, n_sweeps=7, rng=4)).all()  # same seed, same bits


def test_model_refuses_inconsistent_parameters():
    z = DTM.zeros(3, [0.2, 0.2])
    with pytest.raises(ValueError, match="^weights: expected shape"):
        DTM(3, z.edges, z.weights[:1], z.biases, z.flip)
    with pytest.raises(ValueError, match="^edges: every pair"):
        DTM(3, z.edges[:, ::-1], z.weights, z.biases, z.flip)
    with pytest.raises(ValueError, match="^edges: duplicate"):
        DTM(3, np.concatenate([z.edges[:1], z.edges[:-1]]), z.weights, z.biases, z.flip)
    with pytest.raises(ValueError, match="^flip: every flip"):
        DTM(3, z.edges, z.weights, z.biases, [0.2, 0.6])
    with pytest.raises(ValueError, match="^t: must be <="):
        sample_step(z, 3, np.zeros(9), n_sweeps=1, rng=0)
    with pytest.raises(ValueError, match="^x_t: pixels must be 0 or 1"):
        step_ising(z, 1, np.full(9, 2))
    with pytest.raises(ValueError, match="^dtm: exact enumeration"):
        exact_step_law(DTM.zeros(5, [0.2]), 1, np.zeros(25))
    assert not z.weights.flags.writeable


def test_zeros_spec():
    """DTM.zeros is a classmethod, which test_bad_input does not walk: its spec runs here."""
    assert check_spec(ZEROS_SPEC) == []


def test_parameters_beyond_the_bound_are_refused():
    z = DTM.zeros(3, [0.2])
    with pytest.raises(ValueError, match="^weights: magnitudes must be"):
        DTM(3, z.edges, np.full(z.weights.shape, 1e300), z.biases, z.flip)


def test_linear_schedule_grows_the_marginal_flip_evenly():
    for T, c in [(2, 0.0), (8, 0.005), (5, 0.3)]:
        qbar = cumulative_flip(flip_schedule(T, c, "linear"))
        np.testing.assert_allclose(qbar, np.arange(1, T + 1) / T * (1 - c) / 2, rtol=1e-13, atol=1e-16)
