"""Tests of thermoref.lattice: the periodic square-lattice Ising model.

Oracles: the energy of every state of small tori computed here by an explicit bond sum (independent of the
code under test) and the exact Gibbs law by enumeration; the general-graph sampler of thermoref.ising on the
same torus as a second, independent implementation.

Statistical tests: chi-square of the joint law of (energy, magnetization) over many independent chains
(one draw per chain, so the draws are independent) at alpha = 1e-3 (false-positive rate 0.1 % per test, as
if the seed were random). Chains start from exact draws of the Gibbs law: a correct kernel keeps that law
after any number of sweeps, a wrong one moves away from it within a sweep or two. Power checks: the same
statistic with the same sample size rejects a 5 % error in beta and a synchronous (all-sites-at-once) update.
"""

import numpy as np
import pytest
from scipy import sparse
from scipy.stats import chi2_contingency

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
from thermoref.testing import chi_square_test, enumerate_states

ALPHA = 1e-3
K = 20_000  # independent chains per statistical test


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


class ExactTorus:
    def __init__(self, Lx, Ly, beta, J=1.0, h=0.0):
        self.states = enumerate_states(Lx * Ly).reshape(-1, Lx, Ly)
        self.E = torus_energy(self.states, J, h)
        self.M = self.states.sum(axis=(1, 2), dtype=np.int64)
        self.p = boltzmann(self.E, 1.0 / beta)
        self.levels, self.cat = np.unique(np.stack([self.E, self.M], 1), axis=0, return_inverse=True)
        self.law = np.bincount(self.cat.ravel(), weights=self.p, minlength=len(self.levels))

    def draw(self, k, rng):
        return self.states[rng.choice(self.p.size, size=k, p=self.p)]

    def counts(self, spins):
        """Counts of the joint (E, M) categories among configurations of shape (k, Lx, Ly)."""
        pairs = np.stack([torus_energy(spins), spins.sum(axis=(1, 2), dtype=np.int64)], 1)
        idx = np.searchsorted(self.levels[:, 0] * 1000 + self.levels[:, 1], pairs[:, 0] * 1000 + pairs[:, 1])
        return np.bincount(idx, minlength=len(self.levels))


@pytest.fixture(scope="module")
def torus4():
    return {beta: ExactTorus(4, 4, beta) for beta in (0.3, 0.44)}


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
    # beta = 0: every site is an independent fair coin after one sweep; z-test of the mean spin
    s = checkerboard_gibbs(up, 0.0, 1, rng=1)
    assert abs(s.mean()) * np.sqrt(s.size) < 3.3  # |z| < 3.3: alpha = 1e-3


# ---------------------------------------------------------------- laws against enumeration
def _sample(sampler, exact, beta, rng, n_sweeps=6, **kw):
    start = exact.draw(K, rng)
    return sampler(start, beta, n_sweeps, rng=rng, **kw)


@pytest.mark.parametrize("sampler", [checkerboard_gibbs, checkerboard_gibbs_reference, swendsen_wang, wolff])
@pytest.mark.parametrize("beta", [0.3, 0.44])
def test_samplers_keep_the_exact_joint_law_of_energy_and_magnetization(torus4, sampler, beta):
    exact = torus4[beta]
    rng = np.random.default_rng(11)
    s = _sample(sampler, exact, beta, rng)
    res = chi_square_test(exact.counts(s), exact.law, alpha=ALPHA)
    assert res.passed, str(res)


def test_fast_sweep_converges_from_all_up_to_the_exact_law(torus4):
    exact = torus4[0.3]
    s = checkerboard_gibbs(np.ones((K, 4, 4), dtype=np.int8), 0.3, 40, rng=2)
    assert chi_square_test(exact.counts(s), exact.law, alpha=ALPHA).passed


def test_fast_sweep_with_field_and_coupling_on_a_rectangle():
    """2 x 6 torus (doubled vertical bonds), J = 0.7, h = 0.25: chi-square on all 4096 states."""
    beta, J, h = 0.5, 0.7, 0.25
    states = enumerate_states(12).reshape(-1, 2, 6)
    p = boltzmann(torus_energy(states, J, h), 1.0 / beta)
    rng = np.random.default_rng(3)
    start = states[rng.choice(p.size, size=4 * K, p=p)]
    s = checkerboard_gibbs(start, beta, 4, rng=rng, J=J, h=h)
    counts = np.bincount(((s.reshape(len(s), -1) > 0) * (1 << np.arange(11, -1, -1))).sum(1), minlength=p.size)
    assert chi_square_test(counts, p, alpha=ALPHA).passed


def test_fast_path_and_general_graph_sampler_agree(torus4):
    """Two-sample chi-square (homogeneity) of the (E, M) categories; and both against enumeration."""
    exact = torus4[0.44]
    rng = np.random.default_rng(4)
    fast = checkerboard_gibbs(exact.draw(K, rng), 0.44, 6, rng=rng)
    model = IsingModel(sparse.csr_array(torus_couplings(4, 4)))
    general = block_gibbs(model, exact.draw(K, rng).reshape(K, 16), 0.44, 6, rng=rng).reshape(K, 4, 4)
    c_fast, c_general = exact.counts(fast), exact.counts(general)
    keep = (c_fast + c_general) >= 10
    assert chi2_contingency(np.stack([c_fast[keep], c_general[keep]])).pvalue > ALPHA
    assert chi_square_test(c_general, exact.law, alpha=ALPHA).passed


def test_power_rejects_wrong_temperature_and_synchronous_updates(torus4):
    exact = torus4[0.44]
    rng = np.random.default_rng(5)
    wrong_beta = checkerboard_gibbs(exact.draw(K, rng), 0.44 * 1.05, 6, rng=rng)
    assert chi_square_test(exact.counts(wrong_beta), exact.law, alpha=ALPHA).reject

    s = exact.draw(K, rng)  # synchronous heat bath: every site from the same old neighbours
    for _ in range(6):
        nb = sum(np.roll(s, d, a) for d in (1, -1) for a in (-1, -2))
        s = np.where(rng.random(s.shape) < 1 / (1 + np.exp(-2 * 0.44 * nb)), 1, -1).astype(np.int8)
    assert chi_square_test(exact.counts(s), exact.law, alpha=ALPHA).reject


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
