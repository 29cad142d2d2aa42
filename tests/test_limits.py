"""The valid limits documented in one place (the package docstring, "Valid limits and refused input"), tested.

Each limit is checked against an independent closed form (written here, never the code under test): the
argmax law with ties shared, the uniform law, the identity transition, the input returned unchanged, an
empty result of the right shape. The refusals at the resource limits (MAX_BYTES, MAX_WORK) are checked to be
named errors raised before any work. The bad-input suite (test_bad_input.py) checks the other side: every
input outside these limits gets a named error.
"""

from __future__ import annotations

import numpy as np
import pytest

import thermoref as tr
from thermoref import attention, ising, langevin, ou, pbit, sampling, tempering
from thermoref.testing import chi_square_test

TINY, HUGE = 5e-324, 1e308


# ----------------------------------------------------------------------------- kT = 0 and kT = inf
@pytest.mark.parametrize("kT", [0.0, TINY, 1e-300])
def test_zero_temperature_is_the_argmax_law_with_ties_shared(kT):
    z = np.array([1.0, 3.0, 3.0, -2.0])
    np.testing.assert_array_equal(tr.softmax(z, kT), [0.0, 0.5, 0.5, 0.0])
    E, g = np.array([0.0, 0.0, 1.0]), np.array([1.0, 3.0, 5.0])
    np.testing.assert_array_equal(tr.boltzmann(E, kT, degeneracy=g), [0.25, 0.75, 0.0])
    assert tr.heat_capacity(E, kT) == 0.0


@pytest.mark.parametrize("kT", [np.inf, HUGE, 1e300])
def test_infinite_temperature_is_the_uniform_law_weighted_by_degeneracy(kT):
    np.testing.assert_allclose(tr.softmax([1.0, 3.0, -np.inf, -2.0], kT), [1 / 3, 1 / 3, 0.0, 1 / 3], rtol=1e-15)
    np.testing.assert_allclose(tr.boltzmann([0.0, 5.0], kT, degeneracy=[1.0, 3.0]), [0.25, 0.75], rtol=1e-15)
    assert tr.heat_capacity([0.0, 5.0], kT) == pytest.approx(0.0, abs=1e-290)


# ----------------------------------------------------------------------------- beta = 0 and beta = inf
def test_beta_zero_samples_the_uniform_law_over_allowed_categories():
    """Chi-square (alpha = 1e-3) of 30,000 draws against uniform over the 3 unmasked of 4 categories."""
    z = np.array([5.0, -np.inf, 0.0, -3.0])
    for method in sampling.METHODS:
        x = sampling.sample_categorical(z, 30_000, beta=0.0, rng=1, method=method)
        counts = np.bincount(x, minlength=4)
        assert counts[1] == 0
        assert chi_square_test(counts, [1 / 3, 0.0, 1 / 3, 1 / 3]).passed


def test_exact_laws_at_beta_zero_and_infinity():
    J = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, -2.0], [0.0, -2.0, 0.0]])
    model = ising.IsingModel(J, h=[0.3, 0.0, 0.0])
    np.testing.assert_array_equal(ising.exact_law(model, 0.0).p, np.full(8, 1 / 8))
    cold = ising.exact_law(model, np.inf)
    ground = cold.E == cold.E.min()
    np.testing.assert_array_equal(cold.p, np.where(ground, 1 / ground.sum(), 0.0))
    law = pbit.exact_law(J, [0.3, 0.0, 0.0], beta=0.0, values=(0, 1))
    np.testing.assert_array_equal(law.p, np.full(8, 1 / 8))


# ----------------------------------------------------------------------------- zero time, zero updates
def test_zero_time_is_the_identity_transition():
    x0 = np.array([[0.3, -1.2], [2.0, 0.5]])
    A = np.array([[1.0, 0.4], [0.0, 2.0]])
    mean, cov = ou.ou_mean_cov(x0, 0.0, A, 0.1, 2.0)
    np.testing.assert_array_equal(mean, x0)
    np.testing.assert_array_equal(cov, np.zeros((2, 2)))
    np.testing.assert_array_equal(ou.ou_sample(x0, 0.0, A, 0.1, 2.0, rng=0), x0)


def test_zero_updates_return_the_input():
    s = np.where(np.random.default_rng(0).random((3, 4, 4)) < 0.5, 1, -1).astype(np.int8)
    np.testing.assert_array_equal(ising.checkerboard_gibbs(s, 0.4, 0, rng=0), s)
    model = ising.IsingModel(np.ones((3, 3)) - np.eye(3))
    flat = s.reshape(-1, 4)[:, :3]
    for sampler in (ising.block_gibbs, ising.metropolis):
        np.testing.assert_array_equal(sampler(model, flat, 1.0, 0, rng=0), flat)
    x = np.array([[0.1, -0.4], [0.2, 0.3]])
    res = tempering.replica_exchange(x, [0.5, 1.0], 0, move=lambda *a: None, energy=lambda u: u, rng=0)
    np.testing.assert_array_equal(res.states, x)
    assert res.energies.shape == (0, 2, 2)


# ----------------------------------------------------------------------------- empty batches
EMPTY_BATCH = {
    "softmax": (lambda: tr.softmax(np.zeros((0, 3))), (0, 3)),
    "boltzmann": (lambda: tr.boltzmann(np.zeros((0, 3)), 1.0), (0, 3)),
    "log_partition_function": (lambda: tr.log_partition_function(np.zeros((0, 3)), 1.0), (0,)),
    "sample_categorical": (lambda: sampling.sample_categorical(np.zeros((0, 3)), 4, rng=0), (0, 4)),
    "gumbel method": (lambda: sampling.sample_categorical(np.zeros((0, 3)), 4, rng=0, method="gumbel"), (0, 4)),
    "softmax_attention": (lambda: attention.softmax_attention(np.zeros((0, 2, 4)), np.zeros((0, 3, 4)),
                                                              np.zeros((0, 3, 5))), (0, 2, 5)),
    "sampled_attention": (lambda: attention.sampled_attention(np.zeros((0, 2, 4)), np.zeros((0, 3, 4)),
                                                              np.zeros((0, 3, 5)), 4, rng=0), (0, 2, 5)),
    "head_statistics": (lambda: attention.head_statistics(np.zeros((0, 3))).entropy, (0,)),
    "block_gibbs": (lambda: ising.block_gibbs(ising.IsingModel(np.zeros((3, 3))), np.ones((0, 3)), 1.0, 3,
                                              rng=0), (0, 3)),
    "checkerboard_gibbs": (lambda: ising.checkerboard_gibbs(np.ones((0, 4, 4)), 0.4, 3, rng=0), (0, 4, 4)),
    "sample_pbit": (lambda: pbit.sample_pbit(np.zeros((0, 3)), rng=0), (0, 3)),
    "ou_sample": (lambda: ou.ou_sample(np.zeros((0, 2)), 1.0, [1.0, 2.0], 0.0, 2.0, rng=0), (0, 2)),
    "langevin_neuron": (lambda: langevin.langevin_neuron(np.zeros(0), kT=0.1, dt=0.1, t_f=1.0, rng=0), (0,)),
}


@pytest.mark.parametrize("name", sorted(EMPTY_BATCH))
def test_an_empty_batch_gives_an_empty_result(name):
    call, shape = EMPTY_BATCH[name]
    out = call()
    assert np.shape(out) == shape


# ----------------------------------------------------------------------------- resource limits
def test_sizes_beyond_max_bytes_are_refused_by_name_before_allocating():
    with pytest.raises(ValueError, match="^size: the result would need"):
        sampling.sample_categorical(np.zeros((4, 3)), 2**40, rng=0)
    with pytest.raises(ValueError, match="^T: the result would need"):
        attention.causal_mask(2**40)
    assert tr.MAX_BYTES == 2**33


def test_runs_beyond_max_work_are_refused_by_name_before_running():
    with pytest.raises(ValueError, match="^n_sweeps: the run would take"):
        ising.checkerboard_gibbs(np.ones((4, 4)), 0.4, 2**62, rng=0)
    with pytest.raises(ValueError, match="^n_sweeps: the run would take"):
        ising.block_gibbs(ising.IsingModel(np.zeros((3, 3))), np.ones((2, 3)), 1.0, 2**62, rng=0)
    assert tr.MAX_WORK == 2**40
