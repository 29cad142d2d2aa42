"""Tests of thermoref.ising: general-graph Ising models and their samplers.

Oracles: energies by an explicit double loop written here, the exact Gibbs law by enumeration of all 2^n
states (thermoref.testing.enumerate_states + thermoref.gibbs.boltzmann of those energies, not the sampler),
the exact law of each chain after n sweeps from a given start, written here from the chain's definition
(ExactChain: heat-bath and Metropolis site updates, and the synchronous kernel, on the vector of 2^n
probabilities; BipartiteTempering: the joint law of the rungs of parallel tempering on K_{5,5}), sequential
greedy colouring written here, and brute-force Max-Cut over all 2^n partitions.

Statistical tests: every sampler starts far from equilibrium (all up, or the wrong well), so a sampler that
returns its input fails; many independent chains, one draw per chain. Two statistics per test, each at
alpha / 2 = 5e-4 (together at most 1e-3, as if the seed were random): the standardized mean energy
(energy_z, N(0, 1), sufficient for beta: sized for a 5 % temperature error) and Pearson's chi-square of the
full joint law of the spins (every pair correlation, not only marginals: sized for the synchronous update).
The chains have not exactly converged: the oracle's exact law after n sweeps gives each test's true
false-positive rate, asserted below 5.005e-4. Power against the 5 % temperature error is computed from the
oracle's law of the sampler at 1.05 beta and asserted > 0.999; power checks run that sampler, the
synchronous update, the identity "sampler" and plain Gibbs in the wrong well with the same statistic,
sample size and seed, and require rejection.
"""

import numpy as np
import pytest
from scipy import sparse, special, stats

from thermoref.gibbs import boltzmann
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
from thermoref.testing import chi_square_power, chi_square_test, empirical_law, enumerate_states

ALPHA = 1e-3
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


# ---------------------------------------------------------------- samplers against enumeration, from far away
class ExactChain:
    """Exact law of a single-site chain over all 2^n states, written from the definition of the chain.

    Energies by energy_by_loops; ``flip[i]`` maps the number of a state (enumerate_states order) to that of
    the state with spin i flipped. A heat-bath update of site i keeps the mass of each pair {s, s with i
    flipped} and splits it in the ratio of their Boltzmann weights; a Metropolis step moves the mass of s to
    its flipped state with probability min(1, exp(-beta dE)). A block Gibbs sweep is the heat-bath updates of
    the sites colour by colour (within a colour the order does not matter: the sites are not coupled); a
    Metropolis sweep visits sites 0 .. n-1 in order. A synchronous heat bath (every site from the old
    configuration) has the dense kernel T[s, s'] = prod_i P(s'_i | s_-i)."""

    def __init__(self, J, h):
        self.n = len(h)
        self.states = enumerate_states(self.n)
        self.E = energy_by_loops(self.states, J, h)  # (2^n,)
        self.flip = np.arange(2**self.n)[None, :] ^ (1 << np.arange(self.n - 1, -1, -1))[:, None]  # (n, 2^n)
        assert np.array_equal(self.states[self.flip[0], 0], -self.states[:, 0])
        self.all_up = np.zeros(2**self.n)
        self.all_up[-1] = 1.0

    def gibbs(self, beta):
        return boltzmann(self.E, 1.0 / beta)

    def mean_and_variance(self, p):
        U = p @ self.E
        return U, p @ (self.E - U) ** 2

    def _heat_bath(self, p, i, beta):
        f = self.flip[i]
        return (p + p[f]) / (1.0 + np.exp(-beta * (self.E[f] - self.E)))

    def _metropolis(self, p, i, beta):
        f = self.flip[i]
        a = np.minimum(1.0, np.exp(-beta * (self.E[f] - self.E)))  # acceptance of s -> s with i flipped
        return p * (1.0 - a) + p[f] * a[f]

    def after(self, kind, beta, n_sweeps, colours=None, start=None):
        """Law after n_sweeps sweeps of "block_gibbs" (in the order of ``colours``), "metropolis" or
        "synchronous" from ``start`` (default: all up)."""
        p = self.all_up if start is None else start
        if kind == "synchronous":
            q_up = 1.0 / (1.0 + np.exp(-beta * (self.E[self.flip] - self.E) * self.states.T))  # (n, 2^n)
            T = np.ones((2**self.n, 2**self.n))  # [s, s']
            for i in range(self.n):
                T *= np.where(self.states[None, :, i] > 0, q_up[i, :, None], 1.0 - q_up[i, :, None])
            for _ in range(n_sweeps):
                p = p @ T
            return p
        order = np.argsort(colours, kind="stable") if kind == "block_gibbs" else np.arange(self.n)
        step = self._heat_bath if kind == "block_gibbs" else self._metropolis
        for _ in range(n_sweeps):
            for i in order:
                p = step(p, i, beta)
        return p



def energy_z(E, means, variances):
    """Standardized sum over rows of the mean energies: sum_r (mean(E_r) - U_r) sqrt(k) / sigma_r / sqrt(R),
    exactly N(0, 1) in the limit when the rows are independent draws of laws with means U_r and variances
    sigma_r^2. E has shape (R, k)."""
    E = np.atleast_2d(E)
    z = (E.mean(axis=1) - means) * np.sqrt(E.shape[1] / np.asarray(variances))
    return float(z.sum() / np.sqrt(len(z)))


def energy_z_power(null, alternative, k, alpha):
    """Probability that |energy_z| > z_{1-alpha/2} when the rows follow the laws ``alternative`` (the rows'
    (mean, variance) pairs) instead of ``null``: the rejection probability of a normal with the shifted mean
    and the changed variance."""
    (U, V), (Ua, Va) = (np.asarray(null, dtype=float).T, np.asarray(alternative, dtype=float).T)
    shift = np.sum((Ua - U) * np.sqrt(k / V)) / np.sqrt(len(U))
    sd = np.sqrt(np.sum(Va / V) / len(U))
    zc = stats.norm.isf(alpha / 2)
    return float(stats.norm.sf((zc - shift) / sd) + stats.norm.cdf((-zc - shift) / sd))


# Two statistics per test, each at alpha / 2 (together at most alpha = 1e-3, Bonferroni): the mean energy
# (energy_z), sufficient for beta and so sized for a 5 % temperature error, and the chi-square of the full joint
# law of the n spins, sized for a wrong joint law with the right marginals (the synchronous update).
GLASS_SEED, GLASS_BETA, N_SWEEPS, K_CHAINS = 2, 0.5, 60, 10_000


@pytest.fixture(scope="module")
def glass():
    J, h = spin_glass(seed=GLASS_SEED)
    return J, h, ExactChain(J, h)


def run_sampler(name, model, start, beta, n_sweeps, rng):
    if name == "block_gibbs":
        return block_gibbs(model, start, beta, n_sweeps, rng=rng)
    if name == "metropolis":
        return metropolis(model, start, beta, n_sweeps, rng=rng)
    if name == "synchronous":  # every unit from the same old configuration: exact marginals, wrong joint law
        s = start.astype(float)
        for _ in range(n_sweeps):
            s = np.where(rng.random(s.shape) < 1 / (1 + np.exp(-2 * beta * (s @ model.J + model.h))), 1, -1)
        return s.astype(np.int8)
    assert name == "identity"  # the "sampler" that a test started from exact draws cannot tell from a right one
    return start


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("sampler", ["block_gibbs", "metropolis"])
def test_samplers_converge_from_all_up_to_the_exact_law(glass, kind, sampler):
    """10,000 chains of the 10-spin glass start all up (a point mass) and run 60 sweeps at beta = 0.5; one
    draw per chain.

    Statistics, each at alpha / 2 = 5e-4: energy_z (null N(0, 1)) and the chi-square of the law of the 1024
    states against enumeration (bins expecting < 5 pooled; null chi-square). The exact law after 60 sweeps
    (ExactChain) is not exactly the Gibbs law: the true false-positive rates under it are asserted below
    5.005e-4 each (they are 5.0000e-4 to 4 digits). Power against a 5 % temperature error (the same sampler
    at 1.05 beta, same start and sweeps), computed from the oracle: energy_z 0.99999 (asserted > 0.999; the
    chi-square has only 0.22 against it); against the synchronous update the chi-square has power 1. The
    power checks below run both."""
    J, h, exact = glass
    model = IsingModel(sparse.csr_array(J) if kind == "sparse" else J, h)
    colours = greedy_colouring(J)
    gibbs, law = exact.gibbs(GLASS_BETA), exact.after(sampler, GLASS_BETA, N_SWEEPS, colours)
    null = [exact.mean_and_variance(gibbs)]
    assert energy_z_power(null, [exact.mean_and_variance(law)], K_CHAINS, alpha=ALPHA / 2) < 5.005e-4
    assert chi_square_power(gibbs, law, K_CHAINS, alpha=ALPHA / 2) < 5.005e-4
    wrong = exact.after(sampler, 1.05 * GLASS_BETA, N_SWEEPS, colours)
    assert energy_z_power(null, [exact.mean_and_variance(wrong)], K_CHAINS, alpha=ALPHA / 2) > 0.999
    s = run_sampler(sampler, model, np.ones((K_CHAINS, N), dtype=np.int8), GLASS_BETA, N_SWEEPS,
                    np.random.default_rng(7))
    z = energy_z(model.energy(s), *null[0])
    assert abs(z) < stats.norm.isf(ALPHA / 4), z
    assert chi_square_test(empirical_law(s), gibbs, alpha=ALPHA / 2).passed


@pytest.mark.parametrize("bug", ["block_gibbs at 1.05 beta", "metropolis at 1.05 beta", "synchronous", "identity"])
def test_power_checks(glass, bug):
    """The test above, same start, sample size, sweeps and seed, rejects: each sampler at 1.05 beta (by
    energy_z, computed power 0.99999), the synchronous heat bath (by the chi-square: its exact law gives
    power 1), and the identity "sampler" (both statistics, power 1)."""
    J, h, exact = glass
    model = IsingModel(J, h)
    name, beta = (bug.split()[0], 1.05 * GLASS_BETA) if "1.05" in bug else (bug, GLASS_BETA)
    gibbs = exact.gibbs(GLASS_BETA)
    U, V = exact.mean_and_variance(gibbs)
    if bug == "synchronous":
        assert chi_square_power(gibbs, exact.after("synchronous", beta, N_SWEEPS), K_CHAINS, alpha=ALPHA / 2) > 0.999
    s = run_sampler(name, model, np.ones((K_CHAINS, N), dtype=np.int8), beta, N_SWEEPS, np.random.default_rng(7))
    rejected_z = abs(energy_z(model.energy(s), U, V)) > stats.norm.isf(ALPHA / 4)
    rejected_chi = chi_square_test(empirical_law(s), gibbs, alpha=ALPHA / 2).reject
    if bug == "synchronous":
        assert rejected_chi
    elif bug == "identity":
        assert chi_square_power(gibbs, exact.all_up, K_CHAINS, alpha=ALPHA / 2) == 1.0
        assert rejected_z and rejected_chi
    else:
        assert rejected_z


def test_block_gibbs_with_one_beta_per_chain(glass):
    """Two rows of 5,000 chains at beta = 0.3 and 0.5 in one call, from all up, 60 sweeps. Statistics as
    above (each at 5e-4): energy_z over the two rows and the chi-square of the two rows' laws (statistics and
    dof add). True false-positive rates under the exact 60-sweep laws: < 5.005e-4. Power of energy_z against
    a 5 % error of both betas, computed: 0.9997 (asserted > 0.999); a run with both betas 5 % off is rejected.
    A mix-up of the rows' betas moves the laws far more."""
    J, h, exact = glass
    model, colours = IsingModel(J, h), greedy_colouring(J)
    betas, k = np.array([0.3, 0.5]), K_CHAINS // 2
    gibbs = np.stack([exact.gibbs(b) for b in betas])
    null = [exact.mean_and_variance(g) for g in gibbs]
    laws = np.stack([exact.after("block_gibbs", b, N_SWEEPS, colours) for b in betas])
    assert energy_z_power(null, [exact.mean_and_variance(q) for q in laws], k, alpha=ALPHA / 2) < 5.005e-4
    assert chi_square_power(gibbs, laws, k, alpha=ALPHA / 2) < 5.005e-4
    wrong = [exact.mean_and_variance(exact.after("block_gibbs", 1.05 * b, N_SWEEPS, colours)) for b in betas]
    assert energy_z_power(null, wrong, k, alpha=ALPHA / 2) > 0.999
    start = np.ones((2, k, N), dtype=np.int8)
    for factor, verdict in ((1.0, False), (1.05, True)):
        s = block_gibbs(model, start, factor * betas[:, None], N_SWEEPS, rng=np.random.default_rng(8))  # (2, k, n)
        z = energy_z(model.energy(s), *np.transpose(null))
        chi = chi_square_test(np.stack([empirical_law(row) for row in s]), gibbs, alpha=ALPHA / 2)
        assert (abs(z) > stats.norm.isf(ALPHA / 4)) == verdict, (factor, z)
        if not verdict:
            assert chi.passed, str(chi)


# ---------------------------------------------------------------- tempering
def test_temperature_ladder_contains_beta_exactly():
    b = temperature_ladder(1.7, 7, 0.2)
    assert b[-1] == 1.7 and b[0] == 0.2 and np.all(np.diff(b) > 0)
    np.testing.assert_allclose(b[1:] / b[:-1], (1.7 / 0.2) ** (1 / 6), rtol=1e-14)
    with pytest.raises(ValueError, match="beta_min"):
        temperature_ladder(1.0, 4, 2.0)
    with pytest.raises(ValueError, match="n_replicas"):
        temperature_ladder(1.0, 1, 0.1)


class BipartiteTempering:
    """Exact joint law of parallel tempering on the ferromagnet K_{m,m} (coupling c between the sides, uniform
    field h), from the definitions, lumped onto (a, b) = (up spins of side A, up spins of side B) per rung.

    The lumping is exact from a start that is exchangeable within each side (all down is): block Gibbs redraws
    the m spins of side A independently, each up with probability sigma(2 beta (c (2b - m) + h)), so a' is
    Binomial(m, that); then side B given a'. The energy E(a, b) = -c (2a - m)(2b - m) - h (2a + 2b - 2m)
    depends only on (a, b), so the swaps do too. A round (replica_exchange's order): one sweep at every rung,
    then the swaps of pairs (r, r+1) with r = round mod 2, accepted with min(1, exp((beta_r+1 - beta_r)
    (E_r+1 - E_r))). The joint law of the R rungs is a tensor of (m+1)^(2R) entries."""

    def __init__(self, m, c, h):
        self.m, self.c, self.h = m, c, h
        n_up = np.arange(m + 1)
        self.E = (-c * (2 * n_up[:, None] - m) * (2 * n_up[None, :] - m)
                  - h * (2 * n_up[:, None] + 2 * n_up[None, :] - 2 * m)).ravel()  # ((m+1)^2,)
        self.g = (special.comb(m, n_up)[:, None] * special.comb(m, n_up)[None, :]).ravel()  # multiplicities

    def gibbs(self, beta):
        w = self.g * np.exp(-beta * (self.E - self.E.min()))
        return w / w.sum()

    def spread(self, law):
        """Law over the 2^(2m) spin configurations (side A the first m spins): uniform within each (a, b)."""
        states = enumerate_states(2 * self.m)
        a, b = (states[:, : self.m] > 0).sum(1), (states[:, self.m:] > 0).sum(1)
        cell = a * (self.m + 1) + b
        return law[cell] / self.g[cell]

    def _sweep(self, beta):
        """S[b, a', b']: law of the new (a', b') given the old b (the old a is forgotten)."""
        n_up = np.arange(self.m + 1)
        q = special.expit(2 * beta * (self.c * (2 * n_up - self.m) + self.h))  # P(up) given the other side
        B = stats.binom.pmf(n_up[None, :], self.m, q[:, None])  # [other side, this side]
        return np.einsum("ba,ac->bac", B, B)

    def after(self, betas, n_rounds):
        """Joint law of the rungs after n_rounds rounds from all down; shape ((m+1)^2,) * R."""
        R, side = len(betas), self.m + 1
        sweeps = [self._sweep(b) for b in betas]
        P = np.zeros((side**2,) * R)
        P[(0,) * R] = 1.0  # all down at every rung
        for t in range(n_rounds):
            for r in range(R):
                Pr = np.moveaxis(P, r, -1).reshape(-1, side, side).sum(axis=1)  # (rest, b)
                new = (Pr @ sweeps[r].reshape(side, -1)).reshape(P.shape[:r] + P.shape[r + 1:] + (-1,))
                P = np.moveaxis(new, -1, r)
            for r in range(t % 2, R - 1, 2):
                E_lo = self.E.reshape([-1 if i == r else 1 for i in range(R)])
                E_hi = self.E.reshape([-1 if i == r + 1 else 1 for i in range(R)])
                accepted = P * np.minimum(1.0, np.exp((betas[r + 1] - betas[r]) * (E_hi - E_lo)))
                P = P - accepted + np.swapaxes(accepted, r, r + 1)
        return P

    def rung(self, P, r):
        return P.sum(axis=tuple(i for i in range(P.ndim) if i != r))

    def moments(self, q):
        """(mean, variance) of the energy under the law q of one rung."""
        U = self.E @ q
        return U, q @ (self.E - U) ** 2


def test_parallel_tempering_samples_every_rung_of_a_bimodal_law():
    """Ferromagnet on the complete bipartite graph K_{5,5} (J = 0.5, weak field 0.05) at beta = 1: two
    wells (all up, all down); every state with M = 0 lies at least 12.5 above all down. Ladder (0.2, 0.447,
    1); 3,000 independent tempering runs start all down (the wrong well) for 150 rounds; one final state per
    run.

    Oracle: BipartiteTempering, the exact joint law of the three rungs after 150 rounds. Statistics, each at
    alpha / 2 = 5e-4: energy_z over the three rungs (null N(0, 1): the rungs are independent under the
    product law) and the chi-square of the three rungs' laws over the 1024 states (rows add). True
    false-positive rates under the 150-round law: < 5.005e-4 (asserted). Power against a 5 % temperature
    error (the whole ladder times 1.05), computed from the oracle: energy_z 0.9992 (asserted > 0.999).

    Power checks: the run with the ladder times 1.05 is rejected by energy_z; plain block Gibbs at beta = 1
    from the same start, for the same number of sweeps, mostly stays in the wrong well (90 % of the chains,
    by the one-rung oracle, which also gives the chi-square power 1 against it) and is rejected."""
    n, m, k, rounds = 10, 5, 3000, 150
    bipartite = np.zeros((n, n))
    bipartite[:m, m:] = 0.5
    model = IsingModel(bipartite + bipartite.T, np.full(n, 0.05))
    colours = np.repeat([0, 1], m)  # side A first, as the oracle sweeps
    oracle = BipartiteTempering(m, 0.5, 0.05)
    betas = temperature_ladder(1.0, 3, 0.2)
    gibbs = np.stack([oracle.gibbs(b) for b in betas])  # (3, 36)
    null = [oracle.moments(g) for g in gibbs]
    moments = lambda P: [oracle.moments(oracle.rung(P, r)) for r in range(3)]  # noqa: E731
    P = oracle.after(betas, rounds)
    laws = np.stack([oracle.spread(oracle.rung(P, r)) for r in range(3)])
    full = np.stack([oracle.spread(g) for g in gibbs])  # (3, 1024)
    assert energy_z_power(null, moments(P), k, alpha=ALPHA / 2) < 5.005e-4
    assert chi_square_power(full, laws, k, alpha=ALPHA / 2) < 5.005e-4
    assert energy_z_power(null, moments(oracle.after(1.05 * betas, rounds)), k, alpha=ALPHA / 2) > 0.999
    start = -np.ones((3, k, n), dtype=np.int8)
    for factor in (1.0, 1.05):
        res = parallel_tempering(model, start, factor * betas, rounds, rng=10, colours=colours)
        z = energy_z(model.energy(res.states), *np.transpose(null))
        assert (abs(z) > stats.norm.isf(ALPHA / 4)) == (factor != 1.0), (factor, z)
        if factor == 1.0:
            assert chi_square_test(np.stack([empirical_law(s) for s in res.states]), full, alpha=ALPHA / 2).passed
            assert res.energies.shape == (rounds, 3, k)
    stuck_law = oracle.spread(oracle.rung(oracle.after(betas[-1:], rounds), 0))
    assert chi_square_power(full[-1], stuck_law, k, alpha=ALPHA / 2) > 0.999
    stuck = block_gibbs(model, start[-1], betas[-1], rounds, rng=11, colours=colours)
    assert chi_square_test(empirical_law(stuck), full[-1], alpha=ALPHA / 2).reject


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
    """64 runs on a 16-vertex graph from random partitions, schedule beta = 0.05 -> 4 (geometric, 300 sweeps).

    Statistic: the number of runs whose final configuration is a maximum cut (brute force). Null:
    Binomial(64, q) with q the per-run success rate of a correct annealer, measured 0.987 (1,263 of 1,280
    runs, seeds 1000-1019; 0.974 at the 1e-3 lower confidence bound). The test requires >= 54: its
    false-positive rate is P(Bin(64, q) < 54) = 3e-4 at q = 0.95, 7e-10 at q = 0.987. Power against an
    annealer that does not cool (the whole schedule at beta = 0.05): a run then ends in an optimum with
    probability 2.5e-4 (its Gibbs law by enumeration; computed here), so it reaches 54 with probability
    below 1e-180; that run is rejected."""
    W = random_graph(16, 1)
    best, _ = maxcut_exact(W)
    model = maxcut_model(W)
    rng = np.random.default_rng(12)
    start = rng.choice(np.array([-1, 1], dtype=np.int8), size=(64, 16))
    res = simulated_annealing(model, start, np.geomspace(0.05, 4.0, 300), rng=rng)
    assert np.sum(cut_value(res.spins, W) == best) >= 54
    cuts = cut_value(res.best_spins, W)
    assert cuts.max() == best and np.all(cuts <= best)
    np.testing.assert_array_equal(res.best_energies, model.energy(res.best_spins))
    assert res.trace.shape == (300, 64) and np.all(res.best_energies <= res.trace.min(0))

    states = enumerate_states(16)
    s = states.astype(np.float64)
    hot = boltzmann(((s @ np.triu(W)) * s).sum(1), 1 / 0.05)  # E = sum_{i<j} W_ij s_i s_j
    p_hot = hot[cut_value(states, W) == best].sum()
    assert stats.binom.sf(53, 64, p_hot) < 1e-100
    flat = simulated_annealing(model, start, np.full(300, 0.05), rng=np.random.default_rng(12))
    assert np.sum(cut_value(flat.spins, W) == best) < 54


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


# ---------------------------------------------------------------- Max-Cut at scale: sparse end to end, G-set files
# Oracles: the definition sum_{i<j} W_ij [s_i != s_j] evaluated edge by edge from the COO lists (written here),
# the dense route (whose bits are fixed by the chapters), exact enumeration (maxcut_exact) for the optimum.
# With integer weights every product is exact in float64, so the two storages must agree bit for bit.
def integer_graph(n, seed, p=0.15, isolated=3):
    rng = np.random.default_rng(seed)
    W = np.triu((rng.random((n, n)) < p) * rng.choice([-2, -1, 1, 3], (n, n)), 1).astype(float)
    W[:isolated] = 0.0  # isolated nodes (as in G55)
    return W + W.T


def cut_by_edges(s, W):
    C = sparse.coo_array(sparse.triu(sparse.csr_array(W), 1))
    s = np.asarray(s)
    return ((s[..., C.row] != s[..., C.col]) * C.data).sum(-1)


def test_maxcut_sparse_and_dense_routes_agree_exactly():
    W = integer_graph(60, 3)
    Ws = sparse.csr_array(W)
    s = np.random.default_rng(4).choice(np.array([-1, 1], np.int8), size=(5, 7, 60))  # (..., n) batches
    dense_cut, sparse_cut = cut_value(s, W), cut_value(s, Ws)
    assert sparse_cut.shape == (5, 7)
    np.testing.assert_array_equal(sparse_cut, dense_cut)
    np.testing.assert_array_equal(sparse_cut, cut_by_edges(s, W))
    md, ms = maxcut_model(W), maxcut_model(Ws)
    assert ms.is_sparse and not md.is_sparse and ms.J.nnz == np.count_nonzero(W)
    np.testing.assert_array_equal(ms.energy(s), md.energy(s))
    np.testing.assert_array_equal(sparse_cut, 0.5 * (np.triu(W).sum() - ms.energy(s)))
    # same seed, same bits: annealing through either storage is the same chain
    start = s[0]
    a = simulated_annealing(md, start, np.geomspace(0.1, 3.0, 40), rng=9)
    b = simulated_annealing(ms, start, np.geomspace(0.1, 3.0, 40), rng=9)
    for field in ("spins", "energies", "best_spins", "best_energies", "trace"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    # every sparse format and the legacy matrix classes go the same way; non-integer weights agree to rounding
    for fmt in (sparse.coo_array(W), sparse.csc_matrix(W), sparse.lil_matrix(W)):
        np.testing.assert_array_equal(cut_value(s, fmt), dense_cut)
    Wf = W * np.pi
    bound = 8 * np.finfo(float).eps * np.abs(Wf).sum()  # two sums of at most sum|W| in a different order
    assert np.max(np.abs(cut_value(s, sparse.csr_array(Wf)) - cut_value(s, Wf))) <= bound


def test_maxcut_sparse_validation_names_W():
    ring = sparse.diags_array([np.ones(5), np.ones(5)], offsets=[1, -1], shape=(6, 6)).tocsr()
    for bad, match in ((sparse.csr_array(np.triu(np.ones((4, 4)), 1)), "^W: couplings must be symmetric"),
                       (sparse.eye_array(3, format="csr"), "^W: the diagonal must be zero"),
                       (sparse.csr_array((0, 0)), "^W: "), (ring * np.inf, "^W: "), (ring * 1e308, "^W: ")):
        with pytest.raises(ValueError, match=match):
            maxcut_model(bad)
    with pytest.raises(ValueError, match="^spins: "):
        cut_value(np.ones(5), ring)


def _fail(*args, **kwargs):
    raise AssertionError("a sparse weight matrix was made dense")


def test_maxcut_never_densifies_a_sparse_graph(monkeypatch):
    """Every sparse-to-dense conversion raises; then a 20,000-node torus (G81's shape) runs in ~ O(edges) memory."""
    import tracemalloc

    for cls in {c for k in (sparse.csr_array, sparse.csc_array, sparse.coo_array, sparse.csr_matrix) for c in k.__mro__}:
        for name in ("toarray", "todense", "__array__"):
            if name in vars(cls):
                monkeypatch.setattr(cls, name, _fail)
    rows, cols = 200, 100  # toroidal grid, random +-1 weights: G81's structure
    v = np.arange(rows * cols)
    right, down = v // cols * cols + (v + 1) % cols, (v + cols) % (rows * cols)
    i, j = np.concatenate([v, v]), np.concatenate([right, down])
    w = np.random.default_rng(5).choice([-1.0, 1.0], i.size)
    W = sparse.csr_array((np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(v.size,) * 2)
    tracemalloc.start()
    try:
        model = maxcut_model(W)
        start = np.random.default_rng(6).choice(np.array([-1, 1], np.int8), size=(2, v.size))
        res = simulated_annealing(model, start, np.geomspace(0.1, 3.0, 20), rng=7)
        cuts = cut_value(res.best_spins, W)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model.is_sparse and peak < 60e6, peak  # a dense W alone would take 3.2e9 bytes
    np.testing.assert_array_equal(cuts, cut_by_edges(res.best_spins, W))
    np.testing.assert_array_equal(res.best_energies, model.energy(res.best_spins))
    assert np.all(cuts > cut_by_edges(start, W))  # annealing improved on the random start
    # the exact optimum of a small sparse graph through the same (patched) path
    best, part = maxcut_exact(sparse.csr_array(integer_graph(12, 8, p=0.4)))
    assert best == maxcut_exact(integer_graph(12, 8, p=0.4))[0] and cut_value(part, integer_graph(12, 8, p=0.4)) == best


def write_gset(path, W, *, crlf=False):
    C = sparse.coo_array(sparse.triu(sparse.csr_array(W), 1))
    lines = [f"{W.shape[0]} {C.nnz}"] + [f"{a + 1} {b + 1} {int(x)}" for a, b, x in zip(C.row, C.col, C.data)]
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode() + b"\n")
    return path


def test_read_gset_round_trips_a_file(tmp_path):
    from thermoref.ising import read_gset

    W = integer_graph(30, 11)
    for crlf in (False, True):
        got = read_gset(write_gset(tmp_path / f"g{crlf}", W, crlf=crlf))
        assert isinstance(got, sparse.csr_array) and got.dtype == np.float64 and got.shape == (30, 30)
        np.testing.assert_array_equal(got.toarray(), W)
    (tmp_path / "reversed").write_text("4 2\n3 1 -1\n4 2 2\n\n\n")  # i > j allowed; trailing blank lines ignored
    np.testing.assert_array_equal(read_gset(str(tmp_path / "reversed")).toarray(),
                                  [[0, 0, -1, 0], [0, 0, 0, 2], [-1, 0, 0, 0], [0, 2, 0, 0]])
    (tmp_path / "isolated").write_text("5 0\n")  # no edge at all: five isolated nodes
    assert read_gset(tmp_path / "isolated").shape == (5, 5) and read_gset(tmp_path / "isolated").nnz == 0


@pytest.mark.parametrize("text, match", [
    ("", "line 1: empty file"),
    ("3\n1 2 1\n", "line 1: expected a header"),
    ("3 x\n", "line 1: expected a header"),
    ("3 -1\n", "line 1: expected a header"),
    ("0 0\n", "line 1: the graph needs at least one node"),
    ("3 2\n1 2 1\n", "the header announces m = 2 edge lines, the file has 1"),
    ("3 1\n1 2 1\n2 3 1\n", "line 3: the header announces m = 1 edge lines, the file has 2"),
    ("3 2\n1 2 1\n2 3\n", "line 3: expected three numbers"),
    ("3 2\n1 2 1\n2 3 1 1\n", "line 3: expected three numbers"),
    ("3 2\n1 2 1\n2 three 1\n", "line 3: expected three numbers"),
    ("3 1\n0 2 1\n", "line 2: node indices must be integers in 1..3"),
    ("3 1\n1 4 1\n", "line 2: node indices must be integers in 1..3"),
    ("3 1\n1.5 2 1\n", "line 2: node indices must be integers in 1..3"),
    ("3 2\n1 2 1\n2 2 1\n", "line 3: self-loop"),
    ("3 3\n1 2 1\n2 3 1\n1 2 1\n", "line 4: edge '1 2 1' repeats line 2"),
    ("3 2\n2 3 1\n3 2 -1\n", "line 3: edge '3 2 -1' repeats line 2"),
    ("3 1\n1 2 inf\n", "line 2: the weight must be finite"),
    ("3 1\n1 2 nan\n", "line 2: the weight must be finite"),
])
def test_read_gset_refuses_malformed_files(tmp_path, text, match):
    from thermoref.ising import read_gset

    path = tmp_path / "bad"
    path.write_text(text)
    with pytest.raises(ValueError, match="^path: .*" + match.replace(".", r"\.")):
        read_gset(path)


def test_read_gset_refuses_what_is_not_a_readable_file(tmp_path):
    from thermoref.ising import read_gset

    with pytest.raises(ValueError, match="^path: no such file"):
        read_gset(tmp_path / "missing")
    with pytest.raises(ValueError, match="^path: no such file"):
        read_gset(tmp_path)  # a directory
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="^path: cannot read"):
        read_gset(tmp_path / "binary")
    for bad in (None, 3, b"/tmp/x", ["a"]):
        with pytest.raises(TypeError, match="^path: "):
            read_gset(bad)


def test_annealing_a_gset_file_reaches_the_exact_max_cut(tmp_path):
    """The documented route on a file: read_gset -> maxcut_model (sparse) -> simulated_annealing.

    Same graph, start, schedule and seed as test_simulated_annealing_reaches_the_exact_max_cut, so the same
    statistic, null and power apply (>= 54 of 64 runs at the optimum; a non-cooling annealer fails). Here the
    sparse run must moreover be bit-identical to the dense one (integer weights)."""
    from thermoref.ising import read_gset

    W = random_graph(16, 1)
    Ws = read_gset(write_gset(tmp_path / "g16", W))
    best, _ = maxcut_exact(Ws)
    assert best == maxcut_exact(W)[0]
    start = np.random.default_rng(12).choice(np.array([-1, 1], dtype=np.int8), size=(64, 16))
    res = simulated_annealing(maxcut_model(Ws), start, np.geomspace(0.05, 4.0, 300), rng=13)
    assert np.sum(cut_value(res.spins, Ws) == best) >= 54
    dense = simulated_annealing(maxcut_model(W), start, np.geomspace(0.05, 4.0, 300), rng=13)
    np.testing.assert_array_equal(res.spins, dense.spins)


GSET = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "gset"


@pytest.mark.skipif(not (GSET / "G81").is_file(), reason="the G-set files (../shared/gset) are not in the repository")
def test_read_gset_on_the_shared_instances():
    """G81 (20,000 nodes, toroidal 200 x 100) and G55 (31 isolated nodes), as documented in shared/gset/README."""
    import tracemalloc

    from thermoref.ising import read_gset

    tracemalloc.start()
    try:
        W = read_gset(GSET / "G81")
        cut = cut_value(np.ones((1, 20000), np.int8), W)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert W.shape == (20000, 20000) and W.nnz == 80000 and W.sum() == 2 * 34 and cut[0] == 0
    assert peak < 100e6, peak
    assert set(np.diff(W.indptr)) == {4}
    G55 = read_gset(GSET / "G55")
    assert G55.shape == (5000, 5000) and np.sum(np.diff(G55.indptr) == 0) == 31 and G55.sum() == 2 * 12498


def test_sparse_couplings_with_explicit_zeros_leave_the_callers_matrix_alone():
    # IsingModel drops explicit zeros from its own copy; it once did so in place, rewriting the caller's
    # indptr and data (a trainer that reused one sparsity pattern lost its couplings)
    from scipy import sparse

    J = sparse.csr_array((np.array([0.0, 1.0, 0.0, 1.0]), (np.array([0, 0, 1, 2]), np.array([1, 2, 0, 0]))),
                         shape=(3, 3))
    indptr, data = J.indptr.copy(), J.data.copy()
    model = IsingModel(J, np.zeros(3))
    assert np.array_equal(J.indptr, indptr) and np.array_equal(J.data, data) and model.J.nnz == 2
