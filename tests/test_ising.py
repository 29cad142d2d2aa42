"""Tests of thermoref.ising: general-graph Ising models and their samplers.

Oracles: energies by an explicit double loop written here, the exact Gibbs law by enumeration of all 2^n
states (thermoref.testing.enumerate_states + thermoref.gibbs.boltzmann, not the sampler), sequential greedy
colouring written here, and brute-force Max-Cut over all 2^n partitions.

Statistical tests: chi-square on the full joint law of the n spins (so every pair correlation is tested, not
only marginals) and on the law of the magnetization, over many independent chains, one draw per chain, at
alpha = 1e-3 (false-positive rate 0.1 % per test as if the seed were random); z-tests of the mean energy.
Power checks: the same statistics with the same sample size reject a synchronous update and a 5 % error in
beta, and single-temperature Gibbs from a biased start at low temperature (which tempering fixes).
"""

import numpy as np
import pytest
from scipy import sparse

from thermoref.ising import (
    IsingModel,
    block_gibbs,
    check_colouring,
    cut_value,
    exact_law,
    greedy_colouring,
    ising_energy,
    maxcut_exact,
    maxcut_model,
    metropolis,
    parallel_tempering,
    simulated_annealing,
)
from thermoref.tempering import temperature_ladder
from thermoref.testing import chi_square_test, empirical_law, z_test_mean

ALPHA = 1e-3
K = 20_000
N = 10


def spin_glass(n=N, seed=0, density=0.6):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.standard_normal((n, n)) * (rng.random((n, n)) < density), 1)
    return J + J.T, 0.3 * rng.standard_normal(n)


def energy_by_loops(s, J, h):
    s = np.asarray(s, dtype=np.float64)
    n = s.shape[-1]
    E = -(s * h).sum(-1)
    for i in range(n):
        for j in range(i + 1, n):
            E = E - J[i, j] * s[..., i] * s[..., j]
    return E


def draw_exact(model, beta, k, rng):
    law = exact_law(model, beta)
    return law.states[rng.choice(law.p.size, size=k, p=law.p)], law


def magnetization_counts(s, n):
    return np.bincount((s.sum(-1).astype(np.int64) + n) // 2, minlength=n + 1)


# ---------------------------------------------------------------- model, energy, colouring
def test_energy_dense_sparse_and_loops_agree():
    J, h = spin_glass()
    s = np.random.default_rng(1).choice([-1, 1], size=(50, N))
    E = ising_energy(s, J, h)
    # sums of <= 55 terms of size < 3 in different orders: |error| < 55 * 3 * eps < 4e-14
    np.testing.assert_allclose(E, energy_by_loops(s, J, h), rtol=0, atol=4e-14)
    np.testing.assert_allclose(IsingModel(sparse.csr_array(J), h).energy(s), E, rtol=0, atol=4e-14)
    model = IsingModel(J, h)
    np.testing.assert_allclose(model.local_fields(s), s @ J + h, rtol=0, atol=4e-14)


def test_model_validation():
    J, h = spin_glass()
    bad = J.copy()
    bad[0, 1] += 1
    with pytest.raises(ValueError, match="J"):
        IsingModel(bad)
    with pytest.raises(ValueError, match="J"):
        IsingModel(sparse.csr_array(bad))
    diag = J + np.eye(N)
    with pytest.raises(ValueError, match="J"):
        IsingModel(diag)
    with pytest.raises(ValueError, match="J"):
        IsingModel(sparse.csr_array(diag))
    nan = J.copy()
    nan[0, 1] = nan[1, 0] = np.nan
    with pytest.raises(ValueError, match="J"):
        IsingModel(nan)
    with pytest.raises(ValueError, match="h"):
        IsingModel(J, h[:-1])
    with pytest.raises(ValueError, match="spins"):
        IsingModel(J).energy(np.zeros(N))
    with pytest.raises(ValueError, match="spins"):
        IsingModel(J).energy(np.ones(N + 1))


def sequential_greedy(J):
    """Oracle: sequential greedy colouring in the documented priority order."""
    A = J != 0
    n = len(J)
    degree = A.sum(1)
    tiebreak = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    order = sorted(range(n), key=lambda i: (-degree[i], -int(tiebreak[i])))
    colours = -np.ones(n, dtype=int)
    for i in order:
        used = set(colours[A[i]]) - {-1}
        colours[i] = min(set(range(n + 1)) - used)
    return colours


@pytest.mark.parametrize("seed", range(6))
def test_greedy_colouring_is_proper_and_equals_sequential_greedy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    J = np.triu(rng.random((n, n)) < rng.uniform(0.05, 0.6), 1).astype(float)
    J = J + J.T
    c = greedy_colouring(J)
    check_colouring(J, c)
    assert np.array_equal(c, sequential_greedy(J))
    assert c.max() <= (J != 0).sum(1).max()  # at most max degree + 1 colours
    assert np.array_equal(greedy_colouring(sparse.csr_array(J)), c)


def structured_graphs():
    n = 12
    ring = np.roll(np.eye(n), 1, axis=1)
    star = np.zeros((n, n))
    star[0, 1:] = 1.0
    bipartite = np.zeros((n, n))
    bipartite[: n // 2, n // 2:] = 1.0
    rng = np.random.default_rng(11)
    sparse_random = np.triu(rng.random((300, 300)) < 0.02, 1).astype(float)  # larger, sparse, many ties
    return {"edgeless": np.zeros((n, n)), "one unit": np.zeros((1, 1)), "complete": np.triu(np.ones((n, n)), 1),
            "ring": ring, "star": star, "complete bipartite": bipartite, "sparse n=300": sparse_random}


@pytest.mark.parametrize("name", list(structured_graphs()))
def test_greedy_colouring_on_structured_graphs_equals_sequential_greedy(name):
    """Regular graphs exercise the hash tiebreak (every degree equal); the complete graph needs n colours
    (a fully connected Boltzmann machine sweeps one unit at a time); bipartite graphs need 2."""
    upper = structured_graphs()[name]
    J = upper + upper.T
    c = greedy_colouring(J)
    check_colouring(J, c)
    np.testing.assert_array_equal(c, sequential_greedy(J))
    np.testing.assert_array_equal(greedy_colouring(sparse.csr_array(J)), c)
    expected = {"edgeless": 1, "one unit": 1, "complete": len(J), "star": 2, "complete bipartite": 2}
    if name in expected:
        assert c.max() + 1 == expected[name]


def test_bad_colouring_is_rejected():
    J, _ = spin_glass()
    with pytest.raises(ValueError, match="colours"):
        check_colouring(J, np.zeros(N, dtype=int))
    with pytest.raises(ValueError, match="colours"):
        block_gibbs(IsingModel(J), np.ones(N), 0.5, 1, rng=0, colours=np.zeros(N, dtype=int))


# ---------------------------------------------------------------- samplers against enumeration
@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("sampler", [block_gibbs, metropolis])
def test_samplers_keep_the_exact_joint_law(kind, sampler):
    """Start from exact draws; after 3 sweeps the full law of 2^10 states and of M must be unchanged."""
    J, h = spin_glass()
    model = IsingModel(sparse.csr_array(J) if kind == "sparse" else J, h)
    beta = 0.8
    rng = np.random.default_rng(7)
    start, law = draw_exact(model, beta, K, rng)
    s = sampler(model, start, beta, 3, rng=rng)
    assert chi_square_test(empirical_law(s), law.p, alpha=ALPHA).passed
    assert chi_square_test(magnetization_counts(s, N), law.magnetization_law()[1], alpha=ALPHA).passed
    assert z_test_mean(model.energy(s), law.mean_energy, law.energy_variance, alpha=ALPHA).passed


@pytest.mark.parametrize("sampler", [block_gibbs, metropolis])
def test_samplers_converge_from_all_up(sampler):
    J, h = spin_glass(seed=2)
    model = IsingModel(J, h)
    beta = 0.5
    s = sampler(model, np.ones((K, N), dtype=np.int8), beta, 60, rng=3)
    assert chi_square_test(empirical_law(s), exact_law(model, beta).p, alpha=ALPHA).passed


def test_block_gibbs_with_one_beta_per_chain():
    J, h = spin_glass(seed=4)
    model = IsingModel(J, h)
    betas = np.array([0.3, 1.0])
    rng = np.random.default_rng(8)
    start = np.stack([draw_exact(model, b, K // 2, rng)[0] for b in betas])  # (2, K/2, n)
    s = block_gibbs(model, start, betas[:, None], 3, rng=rng)
    for r, b in enumerate(betas):
        assert chi_square_test(empirical_law(s[r]), exact_law(model, b).p, alpha=ALPHA).passed


def test_power_rejects_synchronous_updates_and_wrong_beta():
    J, h = spin_glass()
    model = IsingModel(J, h)
    beta = 0.8
    rng = np.random.default_rng(9)
    s, law = draw_exact(model, beta, K, rng)
    s = s.astype(float)
    for _ in range(3):  # every unit from the same old configuration: exact marginals, wrong joint law
        s = np.where(rng.random(s.shape) < 1 / (1 + np.exp(-2 * beta * (s @ J + h))), 1, -1)
    assert chi_square_test(empirical_law(s), law.p, alpha=ALPHA).reject
    wrong = block_gibbs(model, draw_exact(model, beta, K, rng)[0], beta * 1.05, 3, rng=rng)
    assert chi_square_test(empirical_law(wrong), law.p, alpha=ALPHA).reject


# ---------------------------------------------------------------- tempering
def test_temperature_ladder_contains_beta_exactly():
    b = temperature_ladder(1.7, 7, 0.2)
    assert b[-1] == 1.7 and b[0] == 0.2 and np.all(np.diff(b) > 0)
    np.testing.assert_allclose(b[1:] / b[:-1], (1.7 / 0.2) ** (1 / 6), rtol=1e-14)
    with pytest.raises(ValueError, match="beta_min"):
        temperature_ladder(1.0, 4, 2.0)
    with pytest.raises(ValueError, match="n_replicas"):
        temperature_ladder(1.0, 1, 0.1)


def test_parallel_tempering_samples_every_rung_of_a_bimodal_law():
    """Ferromagnet on the complete bipartite graph K_{5,5} (J = 0.5, weak field 0.05) at beta = 1: two
    wells (all up, all down) separated by an energy barrier of 12.5. Every rung must sample its exact law.

    Power: plain block Gibbs from the same (all-down, wrong-well) start, for the same number of sweeps,
    stays in the wrong well and its magnetization law is rejected.
    """
    n = 10
    bipartite = np.zeros((n, n))
    bipartite[:5, 5:] = 0.5
    model = IsingModel(bipartite + bipartite.T, np.full(n, 0.05))
    betas = temperature_ladder(1.0, 6, 0.05)
    k, rounds = 3000, 150
    start = -np.ones((betas.size, k, n), dtype=np.int8)
    res = parallel_tempering(model, start, betas, rounds, rng=10)
    for r, b in enumerate(betas):
        law = exact_law(model, b)
        assert chi_square_test(magnetization_counts(res.states[r], n), law.magnetization_law()[1], alpha=ALPHA).passed
        assert chi_square_test(empirical_law(res.states[r]), law.p, alpha=ALPHA).passed
    assert res.energies.shape == (rounds, betas.size, k) and np.all(res.swap_acceptance > 0.25)
    stuck = block_gibbs(model, start[-1], betas[-1], rounds, rng=11)
    M_law = exact_law(model, betas[-1]).magnetization_law()[1]
    assert chi_square_test(magnetization_counts(stuck, n), M_law, alpha=ALPHA).reject


def test_parallel_tempering_bad_input():
    J, h = spin_glass()
    model = IsingModel(J, h)
    with pytest.raises(ValueError, match="betas"):
        parallel_tempering(model, np.ones((2, N)), [1.0, 0.5], 1, rng=0)
    with pytest.raises(ValueError, match="spins"):
        parallel_tempering(model, np.ones((3, N)), [0.5, 1.0], 1, rng=0)


# ---------------------------------------------------------------- annealing and Max-Cut
def random_graph(n, seed, p=0.5):
    rng = np.random.default_rng(seed)
    W = np.triu((rng.random((n, n)) < p) * rng.integers(1, 4, (n, n)), 1).astype(float)
    return W + W.T


def test_cut_value_identity_and_exact_maxcut_against_brute_force():
    from thermoref.testing import enumerate_states

    W = random_graph(9, 0)
    s = enumerate_states(9)
    cuts = np.array([sum(W[i, j] for i in range(9) for j in range(i + 1, 9) if row[i] != row[j]) for row in s])
    np.testing.assert_array_equal(cut_value(s, W), cuts)
    # cut = (sum_{i<j} W_ij - E) / 2 with J = -W (integer-valued: exact in float64)
    np.testing.assert_array_equal(cut_value(s, W), 0.5 * (np.triu(W).sum() - maxcut_model(W).energy(s)))
    best, part = maxcut_exact(W)
    assert best == cuts.max() and cut_value(part, W) == best


def test_simulated_annealing_reaches_the_exact_max_cut():
    W = random_graph(16, 1)
    best, _ = maxcut_exact(W)
    model = maxcut_model(W)
    rng = np.random.default_rng(12)
    start = rng.choice(np.array([-1, 1], dtype=np.int8), size=(64, 16))
    res = simulated_annealing(model, start, np.geomspace(0.05, 4.0, 300), rng=rng)
    cuts = cut_value(res.best_spins, W)
    assert cuts.max() == best and np.all(cuts <= best)
    np.testing.assert_array_equal(res.best_energies, model.energy(res.best_spins))
    assert res.trace.shape == (300, 64) and np.all(res.best_energies <= res.trace.min(0))


def test_bad_input():
    J, h = spin_glass()
    model = IsingModel(J, h)
    with pytest.raises(ValueError, match="beta"):
        block_gibbs(model, np.ones(N), -1.0, 1, rng=0)
    with pytest.raises(ValueError, match="beta"):
        metropolis(model, np.ones(N), np.inf, 1, rng=0)
    with pytest.raises(ValueError, match="beta"):
        block_gibbs(model, np.ones((3, N)), [0.1, 0.2], 1, rng=0)
    with pytest.raises(TypeError, match="rng"):
        block_gibbs(model, np.ones(N), 1.0, 1, rng=None)
    with pytest.raises(TypeError, match="model"):
        metropolis(J, np.ones(N), 1.0, 1, rng=0)
    with pytest.raises(ValueError, match="n_sweeps"):
        block_gibbs(model, np.ones(N), 1.0, -1, rng=0)
    with pytest.raises(ValueError, match="W"):
        maxcut_exact(np.ones((21, 21)) - np.eye(21))
    with pytest.raises(ValueError, match="model"):
        exact_law(IsingModel(np.zeros((21, 21))), 1.0)


# ---------------------------------------------------------------- limits and refused input
def test_zero_sweeps_and_empty_schedules_return_the_input():
    J, h = spin_glass()
    model = IsingModel(J, h)
    s0 = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=(5, N))
    for sampler in (block_gibbs, metropolis):
        np.testing.assert_array_equal(sampler(model, s0, 0.7, 0, rng=0), s0)
    res = simulated_annealing(model, s0, [], rng=0)
    np.testing.assert_array_equal(res.spins, s0)
    np.testing.assert_allclose(res.energies, model.energy(s0), rtol=0, atol=4e-14)  # other summation order
    assert res.trace.shape == (0, 5)
    pt = parallel_tempering(model, np.stack([s0, s0]), [0.2, 0.7], 0, rng=0)
    np.testing.assert_array_equal(pt.states, np.stack([s0, s0]))


def test_huge_beta_is_the_zero_temperature_dynamics():
    """At beta = 1e308 (finite, valid) the heat bath sets every spin along its local field (a tie, which
    the fields below avoid, would be a fair coin): after one sweep from any start each spin of a
    ferromagnetic ring with a uniform positive field is +1, without NaN or a warning; Metropolis accepts
    exactly the flips that lower the energy."""
    ring = np.roll(np.eye(8), 1, axis=1)
    model = IsingModel(ring + ring.T, np.full(8, 2.5))  # |h| > 2: every local field is positive
    start = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), size=(50, 8))
    assert (block_gibbs(model, start, 1e308, 2, rng=0) == 1).all()
    assert (metropolis(model, start, 1e308, 2, rng=0) == 1).all()
    res = simulated_annealing(model, start, [1e308], rng=0)
    assert (res.spins == 1).all() and np.all(res.best_energies == -28.0)


def test_couplings_whose_energies_overflow_are_refused():
    ring = np.roll(np.eye(4), 1, axis=1)
    with pytest.raises(ValueError, match="^J: couplings too large"):
        IsingModel((ring + ring.T) * 1e308)
    with pytest.raises(ValueError, match="^h: fields too large"):
        IsingModel(np.zeros((4, 4)), np.full(4, 1e308))
    with pytest.raises(ValueError, match="^J: couplings too large"):
        IsingModel(sparse.csr_array((ring + ring.T) * 1e308))
    with pytest.raises(TypeError, match="^J: "):
        IsingModel(sparse.csr_array((ring + ring.T) * 1j))
    IsingModel((ring + ring.T) * 1e306)  # large but safe: accepted


def test_sampler_run_lengths_beyond_the_work_limit_are_refused():
    J, h = spin_glass()
    model = IsingModel(J, h)
    with pytest.raises(ValueError, match="^n_sweeps: "):
        block_gibbs(model, np.ones(N), 0.5, 2**62, rng=0)
    with pytest.raises(ValueError, match="^n_sweeps: "):
        metropolis(model, np.ones(N), 0.5, 2**62, rng=0)
    with pytest.raises(ValueError, match="^n_rounds: "):
        parallel_tempering(model, np.ones((2, N)), [0.1, 0.5], 2**62, rng=0)
    with pytest.raises(ValueError, match="^sweeps_per_round: "):
        parallel_tempering(model, np.ones((2, N)), [0.1, 0.5], 10, rng=0, sweeps_per_round=2**60)


def test_same_seed_same_bits():
    J, h = spin_glass()
    model = IsingModel(J, h)
    s0 = np.ones((100, N), dtype=np.int8)
    for sampler in (block_gibbs, metropolis):
        a = sampler(model, s0, 0.6, 5, rng=3)
        np.testing.assert_array_equal(a, sampler(model, s0, 0.6, 5, rng=np.random.default_rng(3)))
        assert not np.array_equal(a, sampler(model, s0, 0.6, 5, rng=4))
