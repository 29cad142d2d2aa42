"""thermoref.decoding.onehot: the one-hot p-bit embedding of a softmax row and the exact binary tree.

Oracles: the energy written from its definition and enumerated by itertools (laws, leak, read-out), subset sums
by itertools (the e^{-beta lambda} asymptotes of the leak and of the argmax TV), transition matrices built
state by state with Python loops (sweep kernels), scipy.linalg.eigh of the symmetrised random-scan kernel
(relaxation time), scipy.special.softmax (tree). Stochastic tests: Pearson chi-square (bins with expected
count >= 5 pooled, null chi-square with bins - 1 dof), alpha = 1e-3 as if the seed were random; each is sized
by the noncentral chi-square to reject a 5 % temperature error with power >= 0.99, and that rejection is
checked on draws of the wrong law. Markov-chain draws come from independent chains (one state per chain).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import linalg
from scipy.special import softmax

from thermoref.decoding.onehot import (
    decode_onehot,
    onehot_law,
    onehot_leak,
    onehot_mixing,
    onehot_network,
    onehot_transition_matrix,
    sample_tree,
    tree_law,
)
from thermoref.pbit import bm_energy, gibbs_sample
from thermoref.testing import chi_square_power, chi_square_sample_size, chi_square_test

ALPHA = 1e-3
L5 = np.array([0.7, -1.1, 1.6, 0.1, -0.4])


def states(n):
    """All bit vectors in counting order, first unit most significant (built independently of the package)."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)


def energy(ell, lam, x):
    """The embedding's energy from its definition."""
    return -x @ ell + lam * (x.sum(axis=-1) - 1.0) ** 2


def enumerated(ell, lam, beta):
    x = states(len(ell))
    w = np.exp(-beta * energy(ell, lam, x) - np.max(-beta * energy(ell, lam, x)))
    return x, w / w.sum()


def test_network_energy_matches_definition():
    for lam in (0.0, 0.3, 5.0):
        W, b = onehot_network(L5, lam)
        x = states(5)
        np.testing.assert_allclose(bm_energy(W, b, x) + lam, energy(L5, lam, x), rtol=0, atol=1e-13)


@pytest.mark.parametrize("lam, beta", [(0.0, 1.0), (0.5, 0.7), (3.0, 1.3), (40.0, 1.0), (2.0, 0.0)])
def test_law_conditional_is_softmax_and_leak_closed_form(lam, beta):
    law = onehot_law(L5, lam, beta=beta)
    x, p = enumerated(L5, lam, beta)
    np.testing.assert_allclose(law.p, p, rtol=1e-12, atol=1e-300)
    one = x.sum(axis=1) == 1
    assert abs(law.onehot_mass - p[one].sum()) < 1e-14
    np.testing.assert_allclose(law.conditional, softmax(beta * L5), rtol=1e-13)  # exact for every lambda
    leak = onehot_leak(L5, lam, beta=beta)
    assert abs(leak - p[~one].sum()) <= 1e-14 + 1e-12 * p[~one].sum()


def test_leak_rows_and_asymptote():
    rng = np.random.default_rng(3)
    ell = rng.normal(size=(4, 6))
    beta = 1.4
    leaks = onehot_leak(ell, 2.0, beta=beta)
    assert leaks.shape == (4,)
    for r in range(4):
        _, p = enumerated(ell[r], 2.0, beta)
        assert abs(leaks[r] - p[states(6).sum(axis=1) != 1].sum()) < 1e-13
    lam = 25.0 / beta  # beta * lambda = 25: the next order is a relative O(e^{-beta lambda}) = 1e-11
    w = np.exp(beta * ell[0])
    e2 = sum(w[i] * w[j] for i, j in itertools.combinations(range(6), 2))
    limit = (1.0 + e2) / w.sum()
    assert abs(onehot_leak(ell[0], lam, beta=beta) * np.exp(beta * lam) / limit - 1) < 1e-9


def test_argmax_readout_tv_bounded_by_leak_and_its_asymptote():
    beta = 1.2
    for lam in (0.0, 1.0, 3.0):
        law = onehot_law(L5, lam, beta=beta, readout="argmax")
        assert law.tv <= 1 - law.onehot_mass + 1e-15
        assert onehot_law(L5, lam, beta=beta, readout="reject").tv < 1e-14
    lam = 14.0 / beta  # next order: relative O(e^{-14}) ~ 1e-6; the TV's rounding (1e-16 / 1e-6) is far below
    w, s = np.exp(beta * L5), softmax(beta * L5)
    nu = np.zeros(5)
    nu[np.argmax(L5)] += 1.0  # the zero state, read as the largest logit
    for i, j in itertools.combinations(range(5), 2):
        nu[i if L5[i] >= L5[j] else j] += w[i] * w[j]  # two-hot states, read as the larger logit
    e2 = sum(w[i] * w[j] for i, j in itertools.combinations(range(5), 2))
    limit = 0.5 * np.abs(nu - (1 + e2) * s).sum() / w.sum()
    bound = 10 * np.exp(-beta * lam) * (1 + e2) / w.sum()
    assert abs(onehot_law(L5, lam, beta=beta).tv * np.exp(beta * lam) / limit - 1) < bound, bound


def test_decode_against_hand_rule():
    ell = np.array([0.3, 2.0, -1.0, 2.0])
    for x in states(4):
        on = np.flatnonzero(x)
        want_reject = on[0] if on.size == 1 else -1
        pool = on if on.size else np.arange(4)
        want_argmax = pool[np.argmax(ell[pool])]
        assert decode_onehot(x, ell, readout="reject") == want_reject
        assert decode_onehot(x, ell) == want_argmax
    assert decode_onehot(states(4).reshape(2, 8, 4), ell).shape == (2, 8)


def kernel_by_loops(ell, lam, beta, i):
    """Heat-bath update of unit i, state by state, from energy differences of the definition."""
    x = states(len(ell))
    index = {tuple(r): k for k, r in enumerate(x)}
    K = np.zeros((len(x), len(x)))
    for k, r in enumerate(x):
        on, off = r.copy(), r.copy()
        on[i], off[i] = 1, 0
        p_on = 1 / (1 + np.exp(-beta * (energy(ell, lam, off) - energy(ell, lam, on))))
        K[k, index[tuple(on)]] += p_on
        K[k, index[tuple(off)]] += 1 - p_on
    return K


def test_transition_matrices_against_loops_balance_and_stationarity():
    ell, lam, beta = L5[:4], 1.5, 0.9
    Ks = [kernel_by_loops(ell, lam, beta, i) for i in range(4)]
    P = onehot_transition_matrix(ell, lam, beta=beta)
    np.testing.assert_allclose(P, Ks[0] @ Ks[1] @ Ks[2] @ Ks[3], rtol=0, atol=1e-14)
    Pr = onehot_transition_matrix(ell, lam, beta=beta, schedule="random")
    np.testing.assert_allclose(Pr, np.linalg.matrix_power(sum(Ks) / 4, 4), rtol=0, atol=1e-14)
    _, p = enumerated(ell, lam, beta)
    for M in (P, Pr):
        np.testing.assert_allclose(p @ M, p, rtol=0, atol=1e-15)
    F = p[:, None] * Pr
    np.testing.assert_allclose(F, F.T, rtol=0, atol=1e-16)  # random scan is reversible


def test_relaxation_time_against_eigh_and_the_mixing_wall():
    ell, beta = L5[:3], 1.0
    taus = []
    for lam in (6.0, 8.0, 10.0):
        m = onehot_mixing(ell, lam, beta=beta, schedule="random", max_sweeps=1)
        _, p = enumerated(ell, lam, beta)
        K = onehot_transition_matrix(ell, lam, beta=beta, schedule="random")
        d = np.sqrt(p)
        ev = np.sort(np.abs(linalg.eigh(d[:, None] * K / d[None, :], eigvals_only=True)))
        assert abs(m.relaxation_time / (-1 / np.log(ev[-2])) - 1) < 1e-6
        taus.append(m.relaxation_time)
    slope = np.diff(np.log(taus)) / (2.0 * beta)  # d ln t_rel / d(beta lambda)
    assert np.all(np.abs(slope - 1) < 0.05), slope  # t_rel ~ e^{beta lambda}


def test_mixing_curve_first_passage_and_read_outs():
    ell = L5[:4]
    m = onehot_mixing(ell, 3.0, eps=0.02, readout="reject")
    a = int(np.argmin(ell))
    assert abs(m.tv[0] - (1 - softmax(ell)[a])) < 1e-14  # one-hot start: the decoded law is a point mass
    assert m.tv[-1] <= 0.02 < m.tv[-2] and m.sweeps == len(m.tv) - 1
    P = onehot_transition_matrix(ell, 3.0)
    q = np.linalg.matrix_power(P, int(m.sweeps))[2 ** (3 - a)]
    one = q[[8, 4, 2, 1]]
    assert abs(m.acceptance - one.sum()) < 1e-13
    assert abs(0.5 * np.abs(one / one.sum() - softmax(ell)).sum() - m.tv[-1]) < 1e-13
    assert m.sweeps_per_sample == m.sweeps / m.acceptance
    low = onehot_mixing(ell, 0.5, eps=0.02, readout="argmax", max_sweeps=50)
    assert low.bias > 0.02 and low.sweeps == np.inf and low.tv.shape == (51,)
    assert onehot_mixing(ell, 0.0, readout="reject").sweeps == 1.0  # lambda = 0: one sweep is an exact draw


def chi2_reject(draws, p):
    counts = np.bincount(draws.ravel(), minlength=p.size)
    return chi_square_test(counts, p, alpha=ALPHA).reject


def test_gibbs_chain_far_from_equilibrium_matches_matrix_powers():
    ell, lam, beta, t = L5[:3], 2.0, 1.0, 3
    W, b = onehot_network(ell, lam)
    start = np.zeros(3, dtype=int)
    start[np.argmin(ell)] = 1  # the least likely category: far from equilibrium
    law_t = np.linalg.matrix_power(onehot_transition_matrix(ell, lam, beta=beta), t)[int(start @ [4, 2, 1])]
    wrong = np.linalg.matrix_power(onehot_transition_matrix(ell, lam, beta=1.05 * beta), t)[int(start @ [4, 2, 1])]
    C = chi_square_sample_size(law_t, wrong, alpha=ALPHA, power=0.99)
    assert C < 200_000 and chi_square_power(law_t, wrong, C, alpha=ALPHA) >= 0.99
    def run(bt, seed):
        x = gibbs_sample(W, b, beta=bt, n_sweeps=t, n_chains=C, rng=seed, schedule="systematic", values=(0, 1),
                         m0=start)
        return x.astype(int) @ np.array([4, 2, 1])  # state index, one per independent chain
    assert not chi2_reject(run(beta, 11), law_t)
    assert chi2_reject(run(1.05 * beta, 12), law_t)  # power check: the 5 % temperature error is caught


def test_tree_law_is_softmax_to_ulps():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 5, 8, 13, 17):
        ell = rng.normal(scale=3.0, size=(2, n))
        np.testing.assert_allclose(tree_law(ell, beta=1.3), softmax(1.3 * ell, axis=-1), rtol=1e-13, atol=1e-300)
    ell = np.array([0.5, -np.inf, 2.0, -np.inf, 1.0])
    np.testing.assert_allclose(tree_law(ell), softmax(ell), rtol=1e-14)
    np.testing.assert_allclose(tree_law([[3.0, 1.0, 0.0]], beta=0.0), np.full((1, 3), 1 / 3), rtol=1e-15)


def test_tree_sampler_chi_square_with_power():
    ell = np.array([1.3, -0.4, 2.1, 0.2, -1.5, 0.9])
    p, q = softmax(ell), softmax(1.05 * ell)
    K = chi_square_sample_size(p, q, alpha=ALPHA, power=0.99)
    assert chi_square_power(p, q, K, alpha=ALPHA) >= 0.99
    x = sample_tree(np.stack([ell, ell]), K, rng=5)  # two independent rows
    assert x.shape == (2, K) and not chi2_reject(x[0], p) and not chi2_reject(x[1], p)
    assert chi2_reject(sample_tree(ell, K, beta=1.05, rng=6), p)
    masked = sample_tree([0.0, -np.inf, 1.0], 2000, rng=1)
    assert not (masked == 1).any()
    np.testing.assert_array_equal(sample_tree(ell, 7, rng=9), sample_tree(ell, 7, rng=9))
    assert sample_tree(ell, rng=0).shape == ()


@pytest.mark.parametrize("call, name", [
    (lambda: onehot_network([1.0, -np.inf], 1.0), "logits"),
    (lambda: onehot_network([1.0, 2.0], -1.0), "penalty"),
    (lambda: onehot_network(np.zeros(13), 1.0), "logits"),
    (lambda: onehot_law([1.0, 2.0], 1.0, readout="max"), "readout"),
    (lambda: onehot_law([1.0, 2.0], 1.0, beta=1e308), "beta"),
    (lambda: onehot_leak([], 1.0), "logits"),
    (lambda: decode_onehot([[0, 2]], [1.0, 2.0]), "states"),
    (lambda: decode_onehot([[0, 1, 0]], [1.0, 2.0]), "states"),
    (lambda: onehot_transition_matrix(np.zeros(11), 1.0), "logits"),
    (lambda: onehot_transition_matrix([0.0, 1.0], 1.0, schedule="chromatic"), "schedule"),
    (lambda: onehot_mixing([0.0, 1.0], 1.0, start=2), "start"),
    (lambda: onehot_mixing([0.0, 1.0], 1.0, eps=1.0), "eps"),
    (lambda: onehot_mixing([0.0, 1.0], 40.0), "penalty"),
    (lambda: onehot_mixing([0.0, 1.0], 1.0, max_sweeps=2**62), "max_sweeps"),
    (lambda: tree_law([-np.inf, -np.inf]), "logits"),
    (lambda: sample_tree([0.0, 1.0], 0, rng=0), "size"),
    (lambda: sample_tree([0.0, 1.0], rng=None), "rng"),
])
def test_bad_input_is_named(call, name):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert str(err.value).startswith(name + ":"), str(err.value)
