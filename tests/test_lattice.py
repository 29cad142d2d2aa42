"""Tests of thermoref.ising.lattice: the periodic square-lattice Ising model.

Oracles: the energy of every state of small tori computed here by an explicit bond sum (independent of the
code under test), the exact Gibbs law by enumeration, and the exact law of each chain after n steps from a
given start, written here from the definition of the chain: the checkerboard heat bath as two conditional
redraws of the sublattices (CheckerboardChain), Swendsen-Wang and Wolff as transition matrices summed over
every subset of the bonds of a 3 x 3 torus (ClusterChains, the Fortuin-Kasteleyn construction).

Statistical tests: every sampler starts far from equilibrium (all up, or the well the field disfavours), so
a sampler that returns its input fails. Many independent chains, one draw per chain; Pearson's chi-square of
the joint law of (E, M) (or (E, |M|), or all states) against enumeration, bins expecting < 5 pooled, null
chi-square with (bins - 1) dof, alpha = 1e-3 (as if the seed were random). The chain has not exactly
converged after n steps: the oracle gives its exact law, and the true false-positive rate under it
(noncentral chi-square, chi_square_power) is asserted below 1.001e-3. Power against a 5 % temperature error
(the same sampler at 1.05 beta, same start and steps) is computed from the oracle's law and asserted > 0.999;
power checks run that sampler, a synchronous (all-sites-at-once) update and the identity "sampler" with the
same statistic, sample size and seed, and require rejection.
"""

import numpy as np
import pytest
from scipy import sparse, stats

from thermoref.gibbs import boltzmann
from thermoref.ising import IsingModel, block_gibbs, ising_energy
from thermoref.ising.lattice import (
    checkerboard_gibbs,
    checkerboard_gibbs_reference,
    checkerboard_trace,
    heat_bath_table,
    lattice_energy,
    magnetization,
    swendsen_wang,
    wolff,
)
from thermoref.testing import chi_square_power, chi_square_test, enumerate_states

ALPHA = 1e-3


def torus_energy(states, J=1.0, h=0.0):
    """Independent oracle: explicit sum over right and down bonds of every site (periodic)."""
    s = np.asarray(states, dtype=np.float64)
    Lx, Ly = s.shape[-2:]
    E = np.zeros(s.shape[:-2])
    for i in range(Lx):
        for j in range(Ly):
            E -= J * s[..., i, j] * (s[..., i, (j + 1) % Ly] + s[..., (i + 1) % Lx, j])
    return E - h * s.sum(axis=(-2, -1))


def torus_couplings(Lx, Ly, J=1.0):
    """Coupling matrix of the periodic Lx x Ly lattice (a side of 2 doubles its bonds)."""
    n = Lx * Ly
    W = np.zeros((n, n))
    idx = np.arange(n).reshape(Lx, Ly)
    for a, b in ((idx, np.roll(idx, -1, axis=1)), (idx, np.roll(idx, -1, axis=0))):
        np.add.at(W, (a.ravel(), b.ravel()), J)
    return W + W.T


def neighbours(Lx, Ly):
    """Flat indices of the four neighbours of every site of the periodic Lx x Ly lattice, shape (Lx*Ly, 4)
    (on a side of 2 the two neighbours along it are the same site: its bond is counted twice)."""
    x, y = np.divmod(np.arange(Lx * Ly), Ly)
    return np.stack([((x - 1) % Lx) * Ly + y, ((x + 1) % Lx) * Ly + y, x * Ly + (y - 1) % Ly,
                     x * Ly + (y + 1) % Ly], 1)



class Statistic:
    """A discrete statistic of configurations with integer values: its categories, exact law and counts."""

    def __init__(self, f, spins):
        self.f = f
        values = f(spins)  # (..., d)
        self.levels, index = np.unique(values.reshape(-1, values.shape[-1]), axis=0, return_inverse=True)
        self.index = index.reshape(spins.shape[:-2])  # category of every enumerated configuration

    def law(self, p):
        """Law of the statistic under the law ``p`` of the enumerated configurations."""
        return np.bincount(self.index.ravel(), weights=p.ravel(), minlength=len(self.levels))

    def counts(self, spins):
        values = self.f(spins)  # (k, d)
        lo, span = self.levels.min(0), self.levels.max(0) - self.levels.min(0) + 1

        def key(v):  # the mixed-radix number of each row of values
            return (v - lo) @ span ** np.arange(v.shape[1])

        order = np.argsort(key(self.levels))
        idx = order[np.minimum(np.searchsorted(key(self.levels)[order], key(values)), len(order) - 1)]
        assert np.array_equal(self.levels[idx], values), "a sampled value no configuration takes"
        return np.bincount(idx, minlength=len(self.levels))


def energy_and_m(spins):
    """(E, M): total energy (J = 1, h = 0) and total magnetization, integers."""
    return np.stack([torus_energy(spins), spins.sum(axis=(-2, -1), dtype=np.int64)], -1).astype(np.int64)


def energy_and_abs_m(spins):
    """(E, |M|): invariant under the global spin flip."""
    return np.abs(energy_and_m(spins))


class CheckerboardChain:
    """Exact law of the checkerboard heat-bath chain on an even torus, written from the definition.

    A configuration is the pair (b, w) of its black ((i + j) even) and white sublattice configurations, each
    numbered in enumerate_states order; a law is a matrix P[b, w]. Redrawing every black site from its
    conditional law given the white ones maps P to P'[b', w] = (sum_b P[b, w]) Q_black[w, b'], where
    Q_black[w, b'] is the product over black sites i of sigma(+-2 beta (J sum_{j ~ i} s_j + h)), the sign
    that of s'_i; then the same for white. A synchronous (all sites from the old configuration) update is
    P'[b', w'] = sum_{b, w} P[b, w] Q_black[w, b'] Q_white[b, w']: from a product law f(b) g(w), such as a
    point mass, it gives the product law (g Q_black)(b') (f Q_white)(w')."""

    def __init__(self, Lx, Ly, J=1.0, h=0.0):
        i, j = np.indices((Lx, Ly))
        colour = ((i + j) % 2).ravel()
        self.sites = [np.flatnonzero(colour == c) for c in (0, 1)]  # black, white flat indices
        self.configs = [enumerate_states(len(c)) for c in self.sites]  # (2^(N/2), N/2) each
        spins = np.empty((len(self.configs[0]), len(self.configs[1]), Lx * Ly), dtype=np.int8)
        spins[:, :, self.sites[0]] = self.configs[0][:, None, :]
        spins[:, :, self.sites[1]] = self.configs[1][None, :, :]
        self.spins = spins.reshape(spins.shape[:2] + (Lx, Ly))  # (n_black, n_white, Lx, Ly)
        self.E = torus_energy(self.spins, J, h)  # (n_black, n_white)
        self.J, self.h, self.nb = J, h, neighbours(Lx, Ly)
        self.all_up = np.zeros(self.E.shape)
        self.all_up[-1, -1] = 1.0  # the last row of enumerate_states is all +1

    def gibbs(self, beta):
        return boltzmann(self.E.ravel(), 1.0 / beta).reshape(self.E.shape)

    def _conditional(self, c, beta):
        """Q[x, y]: probability of the new configuration y of colour c given the configuration x of the other."""
        position = np.empty(len(self.nb), dtype=np.int64)
        position[self.sites[1 - c]] = np.arange(len(self.sites[1 - c]))
        other = self.configs[1 - c].astype(np.float64)  # (n_x, N/2)
        field = self.J * other[:, position[self.nb[self.sites[c]]]].sum(-1) + self.h  # (n_x, N/2)
        p_up = 1.0 / (1.0 + np.exp(-2.0 * beta * field))
        new = self.configs[c][None, :, :] > 0  # (1, n_y, N/2)
        return np.where(new, p_up[:, None, :], 1.0 - p_up[:, None, :]).prod(-1)  # (n_x, n_y)

    def after(self, beta, n_sweeps, start=None, synchronous=False):
        """The law after n_sweeps sweeps (black sites, then white ones) from ``start`` (default: all up; the
        synchronous update only from all up)."""
        Qb, Qw = self._conditional(0, beta), self._conditional(1, beta)
        if synchronous:
            assert start is None
            f, g = self.all_up.sum(1), self.all_up.sum(0)  # black and white factors of the product law
            for _ in range(n_sweeps):
                f, g = g @ Qb, f @ Qw
            return np.outer(f, g)
        P = self.all_up if start is None else start
        for _ in range(n_sweeps):
            P = (P.sum(0)[:, None] * Qb).T  # (b', w): black redrawn given white
            P = P.sum(1)[:, None] * Qw  # (b', w'): white redrawn given black
        return P


def fk_labels(n_sites, bonds):
    """Cluster label (smallest site of the cluster) of every site for every subset of the bonds.

    Subset omega is the integer whose bit b says that bond b is occupied; the subsets whose highest bond is b
    are those below 2^b with bond b added, which merges the clusters of its two ends. Shape (2^m, n_sites)."""
    labels = np.zeros((2 ** len(bonds), n_sites), dtype=np.int8)
    labels[0] = np.arange(n_sites)
    for b, (i, j) in enumerate(bonds):
        prev = labels[: 2**b]
        lo, hi = np.minimum(prev[:, i], prev[:, j])[:, None], np.maximum(prev[:, i], prev[:, j])[:, None]
        labels[2**b: 2 ** (b + 1)] = np.where(prev == hi, lo, prev)
    return labels


class ClusterChains:
    """Exact transition matrices of the Swendsen-Wang and Wolff chains on a small torus (J = 1, h = 0), from
    the Fortuin-Kasteleyn construction: every subset omega of the m bonds is enumerated with its clusters.

    From s, the bonds joining equal neighbours (the set A(s)) are occupied independently with probability
    p = 1 - exp(-2 beta), so omega (a subset of A(s)) has probability p^|omega| (1 - p)^(|A(s)| - |omega|).
    Swendsen-Wang flips each of the k(omega) clusters with probability 1/2: s' is reachable iff omega is
    also inside A(s'), each such s' with probability 2^-k(omega), so
    T(s, s') = (1 - p)^|A(s)| sum_{omega in A(s) & A(s')} x^|omega| 2^-k(omega), x = p / (1 - p),
    a sum over the subsets of one bond set (a zeta transform). Wolff flips the cluster of a uniformly chosen
    seed site: T(s, s flipped on C) = (1 - p)^|A(s)| / N sum_{omega in A(s), seeds i} x^|omega| [C_i(omega) = C],
    the polynomial in x of every (s, s') pair tabulated once."""

    def __init__(self, Lx, Ly):
        self.N = Lx * Ly
        self.spins = enumerate_states(self.N).reshape(-1, Lx, Ly)
        flat = self.spins.reshape(len(self.spins), -1)
        bonds = np.stack([np.arange(self.N), neighbours(Lx, Ly)[:, 3]], 1)  # right bonds
        bonds = np.concatenate([bonds, np.stack([np.arange(self.N), neighbours(Lx, Ly)[:, 1]], 1)])  # down
        m = len(bonds)
        labels = fk_labels(self.N, bonds)
        self.n_bonds = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).sum(1)  # |omega|
        self.n_clusters = (labels == np.arange(self.N)).sum(1)  # k(omega)
        equal = flat[:, bonds[:, 0]] == flat[:, bonds[:, 1]]  # (2^N, m)
        self.A = equal @ (1 << np.arange(m))  # bond set A(s) as an integer
        self.size_A = equal.sum(1)
        site_bit = 1 << np.arange(self.N - 1, -1, -1)  # site k flips bit N-1-k of the state's number
        assert np.array_equal(flat[np.arange(len(flat)) ^ site_bit[0], 0], -flat[:, 0])
        cluster_bits = (labels[:, :, None] == labels[:, None, :]) @ site_bit  # (2^m, N): flip mask of C_i
        self.wolff_counts = np.zeros((len(flat), len(flat), m + 1))  # [s, s', |omega|]: (omega, seed) pairs
        for s in range(len(flat) // 2):  # subsets of A(s), enumerated from the bits of A(s)
            bits = np.flatnonzero(equal[s])
            omega = ((np.arange(2 ** bits.size)[:, None] >> np.arange(bits.size)) & 1) @ (1 << bits)
            target = s ^ cluster_bits[omega]  # (2^|A|, N)
            key = target * (m + 1) + self.n_bonds[omega][:, None]
            counts = np.bincount(key.ravel(), minlength=len(flat) * (m + 1))
            self.wolff_counts[s] = counts.reshape(len(flat), m + 1)
        # The global flip s -> -s (number s -> 2^N - 1 - s) keeps A(s) and the clusters: the other half of the rows.
        self.wolff_counts[len(flat) // 2:] = self.wolff_counts[len(flat) // 2 - 1::-1, ::-1]
        self.all_up = np.zeros(len(flat))
        self.all_up[-1] = 1.0

    def gibbs(self, beta):
        return boltzmann(torus_energy(self.spins), 1.0 / beta)

    def swendsen_wang(self, beta):
        p = -np.expm1(-2.0 * beta)
        F = (p / (1 - p)) ** self.n_bonds * 0.5**self.n_clusters  # (2^m,)
        for b in range(self.n_bonds.max()):  # zeta transform: F(A) = sum over the subsets of A
            F = F.reshape(-1, 2, 2**b)
            F[:, 1, :] += F[:, 0, :]
        F = F.reshape(-1)
        return (1 - p) ** self.size_A[:, None] * F[self.A[:, None] & self.A[None, :]]

    def wolff(self, beta):
        p = -np.expm1(-2.0 * beta)
        x = (p / (1 - p)) ** np.arange(self.wolff_counts.shape[-1])
        return (1 - p) ** self.size_A[:, None] / self.N * (self.wolff_counts @ x)

    def after(self, kernel, n_steps):
        p = self.all_up
        for _ in range(n_steps):
            p = p @ kernel
        return p


# ---------------------------------------------------------------- deterministic identities
def test_energy_matches_explicit_bond_sum_and_general_graph():
    rng = np.random.default_rng(0)
    for Lx, Ly in [(4, 4), (2, 6), (3, 5), (6, 2)]:
        s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(7, Lx, Ly))
        for J, h in [(1.0, 0.0), (-0.7, 0.3)]:
            # sums of at most 3 * 16 terms of size <= 1.3 in different orders: |error| <= 48 eps * 1.3 < 2e-14
            E = lattice_energy(s, J, h)
            np.testing.assert_allclose(E, torus_energy(s, J, h), rtol=0, atol=2e-14)
            E_graph = ising_energy(s.reshape(7, -1), torus_couplings(Lx, Ly, J), np.full(Lx * Ly, h))
            np.testing.assert_allclose(E, E_graph, rtol=0, atol=2e-14)


def test_energy_and_magnetization_of_ground_states():
    up = np.ones((4, 4), dtype=np.int8)
    i, j = np.indices((4, 4))
    neel = np.where((i + j) % 2 == 0, 1, -1).astype(np.int8)
    assert lattice_energy(up) == -32.0 and lattice_energy(neel) == 32.0
    assert magnetization(up) == 1.0 and magnetization(neel) == 0.0
    assert magnetization(np.stack([up, -up])).tolist() == [1.0, -1.0]


def test_trace_records_exact_observables_and_matches_the_sweep():
    rng = np.random.default_rng(6)
    s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(3, 2, 6, 8))
    for shape_s in (s, s[0, 0], s[:, :, :2, :]):
        for n in (1, 4):
            tr = checkerboard_trace(shape_s, 0.4, n, rng=9, J=0.7, h=0.3)
            assert np.array_equal(tr.spins, checkerboard_gibbs(shape_s, 0.4, n, rng=9, J=0.7, h=0.3))
            # integer bond counts times J and h: equal to 1e-13
            np.testing.assert_allclose(tr.energies[-1], torus_energy(tr.spins, 0.7, 0.3), rtol=0, atol=1e-12)
            np.testing.assert_array_equal(tr.magnetizations[-1], tr.spins.mean(axis=(-2, -1)))
            assert tr.energies.shape == (n,) + shape_s.shape[:-2]
    # every sweep consumes the stream in the same order: sweep t of a long run is the end of a t-sweep run
    tr = checkerboard_trace(s, 0.4, 3, rng=9)
    for n in (1, 2):
        np.testing.assert_array_equal(tr.energies[n - 1], lattice_energy(checkerboard_gibbs(s, 0.4, n, rng=9)))


def test_heat_bath_table_is_the_logistic_of_the_local_field():
    beta, J, h = 0.37, 1.3, -0.2
    fields = J * np.array([-4, -2, 0, 2, 4]) + h
    expected = 1.0 / (1.0 + np.exp(-2 * beta * fields))
    np.testing.assert_array_max_ulp(heat_bath_table(beta, J, h), expected, maxulp=4)


def test_zero_sweeps_returns_the_input_and_seeds_are_reproducible():
    s = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), size=(3, 8, 6))
    for f in (checkerboard_gibbs, checkerboard_gibbs_reference):
        assert np.array_equal(f(s, 0.4, 0, rng=0), s)
        a, b = f(s, 0.4, 3, rng=5), f(s, 0.4, 3, rng=np.random.default_rng(5))
        assert np.array_equal(a, b) and a.dtype == np.int8 and a.shape == s.shape
    for f in (swendsen_wang, wolff):
        assert np.array_equal(f(s, 0.4, 2, rng=3), f(s, 0.4, 2, rng=3))


def test_fast_sweep_freezes_at_zero_temperature_limit_and_randomizes_at_beta_zero():
    up = np.ones((64, 8, 8), dtype=np.int8)
    # beta large: the all-up state is kept (flip probability e^{-16 beta} ~ 1e-70, below 2^-24)
    assert (checkerboard_gibbs(up, 10.0, 3, rng=0) == 1).all()
    # beta = 0: every site is an independent fair coin after one sweep; z-test of the mean spin over the 4096
    # sites, |z| < 3.29: alpha = 1e-3. Sized for a sweep that misses sites: if a fraction f of them kept their
    # +1, the mean would be f and z = f * 64, so power > 0.999 for any f > 0.1 (one colour skipped: f = 1/2).
    s = checkerboard_gibbs(up, 0.0, 1, rng=1)
    assert abs(s.mean()) * np.sqrt(s.size) < 3.29


# ---------------------------------------------------------------- laws against enumeration, from far away
@pytest.fixture(scope="module")
def board():
    return CheckerboardChain(4, 4)


@pytest.fixture(scope="module")
def clusters():
    return ClusterChains(3, 3)


def general_graph_gibbs(spins, beta, n_sweeps, rng):
    """thermoref.ising.block_gibbs on the torus as a general graph, colours = the two checkerboard classes."""
    i, j = np.indices(spins.shape[-2:])
    colours = ((i + j) % 2).ravel()
    model = IsingModel(sparse.csr_array(torus_couplings(*spins.shape[-2:])))
    flat = spins.reshape(len(spins), -1)
    return block_gibbs(model, flat, beta, n_sweeps, rng=rng, colours=colours).reshape(spins.shape)


def returns_its_input(spins, beta, n_sweeps, rng):
    """The "sampler" that a test started from exact draws cannot tell from a correct one."""
    return spins


# At beta = 0.3 the chain forgets the all-up start within a few sweeps, the sign of M included: the statistic is
# (E, M). At beta = 0.44 (near T_c) the sign of M on a 4 x 4 torus flips on a time scale of about 45 sweeps (the
# oracle: TV distance 0.13 after 60 sweeps), but (E, |M|), invariant under the global flip, relaxes within a few.
SWEEP_CASES = {0.3: (energy_and_m, 50), 0.44: (energy_and_abs_m, 20)}  # beta: (statistic, sweeps)
K_SWEEP = 6_000  # independent chains, one draw each


@pytest.mark.parametrize("sampler", [checkerboard_gibbs, checkerboard_gibbs_reference, general_graph_gibbs])
@pytest.mark.parametrize("beta", sorted(SWEEP_CASES))
def test_checkerboard_sweeps_converge_from_all_up_to_the_exact_law(board, sampler, beta):
    """6,000 chains start all up (far from equilibrium: a point mass) and run n sweeps; one draw per chain.

    Statistic: Pearson's chi-square of the joint law of (E, M) at beta = 0.3, (E, |M|) at beta = 0.44,
    against the exact Gibbs law by enumeration (bins expecting < 5 pooled); null distribution chi-square with
    (bins - 1) degrees of freedom; alpha = 1e-3. The law after n sweeps is not exactly the Gibbs law: the
    oracle (CheckerboardChain, the exact law of the chain) gives it, and the test's true false-positive rate
    under it (noncentral chi-square) is asserted below 1.001e-3 (it is 1.0000016e-3 at beta = 0.3 after 50
    sweeps, 1.0000003e-3 at 0.44 after 20). Power against a 5 % temperature error (the same sampler at
    1.05 beta, same start, same n): computed from the oracle's law at 1.05 beta, asserted > 0.999 (noncentrality
    113 on 55 dof, power 0.99986, at beta = 0.3; 161 on 25 dof, 1 - 1e-11, at 0.44); run in
    test_sweep_power_checks."""
    statistic, n = SWEEP_CASES[beta]
    stat = Statistic(statistic, board.spins)
    gibbs = stat.law(board.gibbs(beta))
    assert chi_square_power(gibbs, stat.law(board.after(beta, n)), K_SWEEP) < 1.001e-3
    assert chi_square_power(gibbs, stat.law(board.after(1.05 * beta, n)), K_SWEEP) > 0.999
    s = sampler(np.ones((K_SWEEP, 4, 4), dtype=np.int8), beta, n, rng=np.random.default_rng(11))
    res = chi_square_test(stat.counts(s), gibbs, alpha=ALPHA)
    assert res.passed, str(res)


@pytest.mark.parametrize("sampler", [checkerboard_gibbs, checkerboard_gibbs_reference, general_graph_gibbs])
def test_sweep_power_checks(board, sampler):
    """The test above at beta = 0.3 (the smaller computed power), with the same statistic, sample size,
    start and seed, rejects each sampler run at 1.05 beta, and a sampler that returns its input (power 1)."""
    statistic, n = SWEEP_CASES[0.3]
    stat = Statistic(statistic, board.spins)
    gibbs = stat.law(board.gibbs(0.3))
    start = np.ones((K_SWEEP, 4, 4), dtype=np.int8)
    wrong = sampler(start, 1.05 * 0.3, n, rng=np.random.default_rng(11))
    assert chi_square_test(stat.counts(wrong), gibbs, alpha=ALPHA).reject
    assert chi_square_power(gibbs, stat.law(board.all_up), K_SWEEP) == 1.0
    assert chi_square_test(stat.counts(returns_its_input(start, 0.3, n, 11)), gibbs, alpha=ALPHA).reject


def test_power_against_synchronous_updates(board):
    """Synchronous heat bath (every site from the same old neighbours): exact marginals of each site given
    its neighbours, a wrong joint law. Same statistic, sample size, start and sweeps as at beta = 0.44 above;
    its exact law (CheckerboardChain, synchronous) gives power > 0.999, and the run is rejected."""
    statistic, n = SWEEP_CASES[0.44]
    stat = Statistic(statistic, board.spins)
    gibbs = stat.law(board.gibbs(0.44))
    assert chi_square_power(gibbs, stat.law(board.after(0.44, n, synchronous=True)), K_SWEEP) > 0.999
    rng = np.random.default_rng(11)
    s = np.ones((K_SWEEP, 4, 4), dtype=np.int8)
    for _ in range(n):
        nb = sum(np.roll(s, d, a) for d in (1, -1) for a in (-1, -2))
        s = np.where(rng.random(s.shape) < 1 / (1 + np.exp(-2 * 0.44 * nb)), 1, -1).astype(np.int8)
    assert chi_square_test(stat.counts(s), gibbs, alpha=ALPHA).reject


def test_oracles_are_exact_chains_of_the_gibbs_law(board, clusters):
    """The oracles themselves: each kernel keeps the Gibbs law (to rounding) and its rows sum to 1; the
    synchronous update's product form equals its definition P' = Q_black^T P^T Q_white."""
    for beta in (0.3, 0.44):
        g = board.gibbs(beta)
        np.testing.assert_allclose(board.after(beta, 1, start=g), g, rtol=0, atol=1e-15)
        g = clusters.gibbs(beta)
        for T in (clusters.swendsen_wang(beta), clusters.wolff(beta)):
            np.testing.assert_allclose(T.sum(1), 1.0, rtol=0, atol=1e-12)
            np.testing.assert_allclose(g @ T, g, rtol=0, atol=1e-13)
    Qb, Qw = board._conditional(0, 0.44), board._conditional(1, 0.44)
    P = board.all_up
    for n in (1, 2, 3):
        P = Qb.T @ P.T @ Qw
        np.testing.assert_allclose(board.after(0.44, n, synchronous=True), P, rtol=0, atol=1e-15)


# The cluster chains are held to their exact transition matrices on a 3 x 3 torus (18 bonds: 2^18 subsets; a
# 4 x 4 torus would need 2^32). Steps from all up after which the law of (E, M) is within the stated rate.
CLUSTER_STEPS = {("swendsen_wang", 0.3): 15, ("swendsen_wang", 0.44): 20, ("wolff", 0.3): 15, ("wolff", 0.44): 45}
K_CLUSTER = 8_000


@pytest.mark.parametrize("sampler", [swendsen_wang, wolff])
@pytest.mark.parametrize("beta", [0.3, 0.44])
def test_cluster_updates_converge_from_all_up_to_the_exact_law(clusters, sampler, beta):
    """8,000 chains on the 3 x 3 torus start all up and take n cluster steps; one draw per chain.

    Statistic: Pearson's chi-square of the joint law of (E, M) (22 values) against the exact Gibbs law by
    enumeration; null chi-square (bins - 1 dof); alpha = 1e-3. The exact law after n steps comes from the
    chain's exact transition matrix (ClusterChains, from the Fortuin-Kasteleyn construction), and the true
    false-positive rate under it is asserted below 1.001e-3. Power against a 5 % temperature error (the same
    sampler at 1.05 beta, n steps from all up), computed from the oracle: asserted > 0.999 (noncentrality 82
    on 21 dof, power 0.99975, at beta = 0.3; 98 on 18 dof, 1 - 4e-6, at 0.44). True false-positive rates:
    at most 1.0000028e-3, except Wolff at 0.44 after 45 steps, 1.000075e-3 (its all-up start relaxes slowly
    on 3 x 3). The power checks below run the 1.05 beta sampler."""
    n = CLUSTER_STEPS[sampler.__name__, beta]
    stat = Statistic(energy_and_m, clusters.spins)
    gibbs = stat.law(clusters.gibbs(beta))
    kernel = getattr(clusters, sampler.__name__)
    assert chi_square_power(gibbs, stat.law(clusters.after(kernel(beta), n)), K_CLUSTER) < 1.001e-3
    assert chi_square_power(gibbs, stat.law(clusters.after(kernel(1.05 * beta), n)), K_CLUSTER) > 0.999
    s = sampler(np.ones((K_CLUSTER, 3, 3), dtype=np.int8), beta, n, rng=np.random.default_rng(12))
    res = chi_square_test(stat.counts(s), gibbs, alpha=ALPHA)
    assert res.passed, str(res)


@pytest.mark.parametrize("sampler", [swendsen_wang, wolff])
def test_cluster_power_checks(clusters, sampler):
    """The same test at beta = 0.3 (the smaller computed power) rejects the sampler run at 1.05 beta, and a
    sampler that returns its input."""
    n = CLUSTER_STEPS[sampler.__name__, 0.3]
    stat = Statistic(energy_and_m, clusters.spins)
    gibbs = stat.law(clusters.gibbs(0.3))
    start = np.ones((K_CLUSTER, 3, 3), dtype=np.int8)
    wrong = sampler(start, 1.05 * 0.3, n, rng=np.random.default_rng(12))
    assert chi_square_test(stat.counts(wrong), gibbs, alpha=ALPHA).reject
    assert chi_square_power(gibbs, stat.law(clusters.all_up), K_CLUSTER) == 1.0
    assert chi_square_test(stat.counts(returns_its_input(start, 0.3, n, 12)), gibbs, alpha=ALPHA).reject


def state_number(spins):
    """The number of each configuration in enumerate_states order (shape (..., 1)): its full identity."""
    flat = spins.reshape(spins.shape[:-2] + (-1,))
    return ((flat > 0) @ (1 << np.arange(flat.shape[-1] - 1, -1, -1)))[..., None]


def test_fast_sweep_with_field_and_coupling_converges_from_the_wrong_well():
    """2 x 6 torus (doubled vertical bonds), J = 0.7, h = 0.25, beta = 0.5: 20,000 chains start all down,
    in the well the field disfavours, and run 50 sweeps.

    Statistic: chi-square of the full law of the 4096 configurations against enumeration (pooled bins),
    alpha = 1e-3; the true false-positive rate under the exact law after 50 sweeps (CheckerboardChain) is
    asserted below 1.001e-3 (it is 1.000004e-3). Power against a 5 % temperature error, computed from the
    oracle's law at 1.05 beta: > 0.999 (noncentrality 382 on 365 dof, 1 - 7e-13); the sweep at 1.05 beta,
    same seed, is rejected."""
    beta, J, h, n, k = 0.5, 0.7, 0.25, 50, 20_000
    chain = CheckerboardChain(2, 6, J, h)
    stat = Statistic(state_number, chain.spins)
    gibbs = stat.law(chain.gibbs(beta))
    all_down = np.zeros(chain.E.shape)
    all_down[0, 0] = 1.0
    assert chi_square_power(gibbs, stat.law(chain.after(beta, n, start=all_down)), k) < 1.001e-3
    assert chi_square_power(gibbs, stat.law(chain.after(1.05 * beta, n, start=all_down)), k) > 0.999
    start = -np.ones((k, 2, 6), dtype=np.int8)
    for b, verdict in ((beta, "passed"), (1.05 * beta, "reject")):
        s = checkerboard_gibbs(start, b, n, rng=np.random.default_rng(3), J=J, h=h)
        res = chi_square_test(stat.counts(s), gibbs, alpha=ALPHA)
        assert getattr(res, verdict), (b, str(res))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("f", [checkerboard_gibbs, checkerboard_gibbs_reference])
def test_bad_input_for_sweeps(f):
    good = np.ones((4, 4), dtype=np.int8)
    with pytest.raises(ValueError, match="spins"):
        f(np.zeros((4, 4), dtype=np.int8), 0.4, 1, rng=0)
    with pytest.raises(ValueError, match="spins"):
        f(np.ones((5, 4), dtype=np.int8), 0.4, 1, rng=0)
    with pytest.raises(ValueError, match="spins"):
        f(np.ones(4, dtype=np.int8), 0.4, 1, rng=0)
    with pytest.raises(ValueError, match="beta"):
        f(good, -0.1, 1, rng=0)
    with pytest.raises(ValueError, match="beta"):
        f(good, float("nan"), 1, rng=0)
    with pytest.raises(ValueError, match="n_sweeps"):
        f(good, 0.4, -1, rng=0)
    with pytest.raises(TypeError, match="rng"):
        f(good, 0.4, 1, rng=None)
    with pytest.raises(ValueError, match="h"):
        f(good, 0.4, 1, rng=0, h=float("inf"))


def test_bad_input_for_energy_and_clusters():
    with pytest.raises(ValueError, match="spins"):
        lattice_energy(np.full((4, 4), 2))
    with pytest.raises(TypeError, match="spins"):
        magnetization("up")
    with pytest.raises(ValueError, match="J"):
        wolff(np.ones((4, 4), dtype=np.int8), 0.4, 1, rng=0, J=-1.0)
    with pytest.raises(ValueError, match="n_steps"):
        swendsen_wang(np.ones((4, 4), dtype=np.int8), 0.4, -2, rng=0)


# ---------------------------------------------------------------- property: neighbour counts on any even torus
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_trace_energy_equals_the_bond_sum_on_any_even_torus(batch, hx, hy, seed):
    """The sublattice neighbour counts (shift-and-correct in uint8) are exact for every shape and batch."""
    rng = np.random.default_rng(seed)
    s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(batch, 2 * hx, 2 * hy))
    tr = checkerboard_trace(s, 0.3, 1, rng=rng, J=1.0, h=0.5)
    np.testing.assert_allclose(tr.energies[0], torus_energy(tr.spins, 1.0, 0.5), rtol=0, atol=1e-12)


def test_heat_bath_table_validates_and_takes_the_limits():
    """It validated nothing before (beta = NaN gave a NaN table). beta = 0: 1/2 everywhere; beta = 1e308:
    the zero-temperature rule (0, 0, 1/2, 1, 1) at h = 0, without NaN from inf * 0 or an overflow warning."""
    for bad, name in [(dict(beta=np.nan), "beta"), (dict(beta=-1.0), "beta"), (dict(beta=[0.1, 0.2]), "beta"),
                      (dict(beta=0.4, J=np.inf), "J"), (dict(beta=0.4, h="x"), "h"), (dict(beta=0.4, J=1e308), "J")]:
        with pytest.raises((ValueError, TypeError), match=f"^{name}: "):
            heat_bath_table(**bad)
    np.testing.assert_array_equal(heat_bath_table(0.0, J=3.0, h=-2.0), np.full(5, 0.5))
    np.testing.assert_array_equal(heat_bath_table(1e308), [0.0, 0.0, 0.5, 1.0, 1.0])
    # against the definition at an ordinary temperature: sigma(2 beta (J (2k - 4) + h)) by scipy's expit
    from scipy.special import expit

    np.testing.assert_array_equal(heat_bath_table(0.4, 0.7, 0.3), expit(0.8 * (0.7 * np.array([-4, -2, 0, 2, 4]) + 0.3)))


@pytest.mark.parametrize("f", [checkerboard_gibbs, checkerboard_gibbs_reference])
def test_sweeps_at_huge_beta_follow_the_local_field(f):
    """beta = 1e308 with a field h = 5 > 4|J|: every local field is positive, so one sweep sets every spin up."""
    s = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=(3, 6, 8))
    assert (f(s, 1e308, 1, rng=0, h=5.0) == 1).all()


def test_lattice_run_lengths_and_overflowing_couplings_are_refused():
    s = np.ones((4, 4), dtype=np.int8)
    for f, kw in [(checkerboard_gibbs, {}), (checkerboard_gibbs_reference, {}), (checkerboard_trace, {})]:
        with pytest.raises(ValueError, match="^n_sweeps: "):
            f(s, 0.4, 2**62, rng=0, **kw)
    for f in (swendsen_wang, wolff):
        with pytest.raises(ValueError, match="^n_steps: "):
            f(s, 0.4, 2**62, rng=0)
    with pytest.raises(ValueError, match="^J: "):
        lattice_energy(s, J=1e308)
    with pytest.raises(ValueError, match="^h: "):
        lattice_energy(s, h=1e308)
