"""Tests of thermoref.tempering: the replica-exchange engine, its ladder and its input checks.

The toy system: four levels E = (0, 0.5, 1.5, 3) at three rungs beta = (0.3, 1, 2), moved at every rung by a
Metropolis kernel (propose one of the three other levels uniformly, accept with min(1, exp(-beta dE))) that
leaves each rung's Gibbs law exactly invariant. The oracle is independent of the engine: the exact 64 x 64
transition matrices of one round (the three moves as a Kronecker product, then the swaps of one parity) are
written here from the definitions, and the exact law after any number of rounds follows by matrix products.

Statistical tests use many independent tempering runs (the batch axis) and one final state per run, so the
draws are independent; chi-square on the full joint law of the three rungs (64 cells, so the independence of
the rungs is tested too, not only the marginals) at alpha = 1e-3 (false-positive rate 0.1 % per test, as if
the seed were random). Power: the engine run with the exponent's sign flipped (the bug injected through the
``energy`` callable, which the engine uses only for its swaps) is rejected, and the power of the test
against that bug is computed exactly from the oracle's law (non-central chi-square), not assumed.
"""

import numpy as np
import pytest
from scipy import stats

from thermoref.tempering import PTResult, check_ladder, replica_exchange, temperature_ladder
from thermoref.testing import _pool_small_bins, chi_square_test

ALPHA = 1e-3
LEVELS = np.array([0.0, 0.5, 1.5, 3.0])
BETAS = np.array([0.3, 1.0, 2.0])
S, R = LEVELS.size, BETAS.size
K = 20_000  # independent tempering runs


def gibbs(beta):
    w = np.exp(-beta * (LEVELS - LEVELS.min()))
    return w / w.sum()


def energy(x):
    return LEVELS[x.astype(np.int64)]


def metropolis_move(x, beta, rng):
    """One Metropolis step per rung and run; x (R, K) holds level indices as floats, beta (R, 1)."""
    proposal = (x + rng.integers(1, S, size=x.shape)) % S  # one of the three other levels, uniformly
    log_accept = -beta * (energy(proposal) - energy(x))
    accept = np.log1p(-rng.random(x.shape)) < log_accept
    x[...] = np.where(accept, proposal, x)
    return accept.sum(axis=1).astype(np.float64)  # (R,) accepted moves per rung


# ---------------------------------------------------------------- the independent oracle
def move_matrix(beta):
    M = np.zeros((S, S))
    for a in range(S):
        for b in range(S):
            if a != b:
                M[a, b] = min(1.0, np.exp(-beta * (LEVELS[b] - LEVELS[a]))) / (S - 1)
        M[a, a] = 1.0 - M[a].sum()
    return M


def joint_states():
    return np.array(np.unravel_index(np.arange(S**R), (S,) * R)).T  # (64, 3), rung 0 most significant


def swap_matrix(parity, sign=1.0):
    """Exact swap step of one parity: pairs (r, r+1) with r = parity, parity + 2, ... (disjoint)."""
    states = joint_states()
    T = np.eye(S**R)
    for r in range(parity, R - 1, 2):
        step = np.zeros((S**R, S**R))
        for i, x in enumerate(states):
            y = x.copy()
            y[r], y[r + 1] = x[r + 1], x[r]
            j = np.ravel_multi_index(tuple(y), (S,) * R)
            a = min(1.0, np.exp(sign * (BETAS[r + 1] - BETAS[r]) * (LEVELS[x[r + 1]] - LEVELS[x[r]])))
            step[i, j] += a
            step[i, i] += 1.0 - a
        T = T @ step
    return T


def product_law():
    p = gibbs(BETAS[0])
    for b in BETAS[1:]:
        p = np.multiply.outer(p, gibbs(b))
    return p.ravel()  # (64,)


def law_after(n_rounds, sign=1.0, start=None):
    M = move_matrix(BETAS[0])
    for b in BETAS[1:]:
        M = np.kron(M, move_matrix(b))
    swaps = [swap_matrix(0, sign), swap_matrix(1, sign)]
    p = product_law() if start is None else start
    for t in range(n_rounds):
        p = p @ M @ swaps[t % 2]
    return p


def exact_start(rng):
    """K independent draws of the product law, shape (R, K)."""
    return np.stack([rng.choice(S, size=K, p=gibbs(b)) for b in BETAS]).astype(np.float64)


def joint_counts(states):
    idx = np.ravel_multi_index(tuple(states.astype(np.int64)), (S,) * R)  # (K,)
    return np.bincount(idx, minlength=S**R)


def chi_square_power(p, q, n, alpha=ALPHA):
    """Power of chi_square_test (after its pooling of bins expecting < 5) of law p with n draws that follow q:
    the non-central chi-square law of the statistic, lambda = n sum (q - p)^2 / p over the pooled bins."""
    eq, ep = _pool_small_bins(n * q, n * p, 5.0)  # the same bins as the test pools
    df = ep.size - 1
    return float(stats.ncx2.sf(stats.chi2.isf(alpha, df), df, np.sum((eq - ep) ** 2 / ep)))


# ---------------------------------------------------------------- the oracle is right
def test_oracle_keeps_the_product_law_and_the_flipped_rule_does_not():
    """Identities of the exact matrices: the correct round leaves the product law invariant to rounding."""
    p = product_law()
    for n in (1, 2, 7):
        np.testing.assert_allclose(law_after(n), p, rtol=0, atol=1e-15)
    assert np.abs(law_after(30, sign=-1.0) - p).sum() > 0.05


# ---------------------------------------------------------------- laws
def test_every_rung_keeps_its_exact_law_and_the_rungs_stay_independent():
    """Chi-square on the 64-cell joint law of the final states (df = 63, alpha = 1e-3).

    Power: with the exponent's sign flipped the law after 30 rounds is law_after(30, sign=-1); the exact
    power of this test against it, with the same K, is asserted >= 0.999, and the flipped run is rejected."""
    rng = np.random.default_rng(1)
    p = product_law()
    res = replica_exchange(exact_start(rng), BETAS, 30, move=metropolis_move, energy=energy, rng=rng)
    assert chi_square_test(joint_counts(res.states), p, alpha=ALPHA).passed
    assert chi_square_power(p, law_after(30, sign=-1.0), K) >= 0.999
    wrong = replica_exchange(exact_start(rng), BETAS, 30, move=metropolis_move, energy=lambda x: -energy(x), rng=rng)
    assert chi_square_test(joint_counts(wrong.states), p, alpha=ALPHA).reject


def test_tempering_from_a_wrong_start_converges_to_the_product_law():
    """All runs start at the top level (far from the cold rungs' laws). The oracle gives the exact law after
    60 rounds from that start; its distance to the product law is below 1e-6 in total variation, so the
    chi-square of the product law (alpha = 1e-3) applies."""
    start = np.zeros(S**R)
    start[-1] = 1.0  # every rung at level 3
    assert np.abs(law_after(60, start=start) - product_law()).sum() < 1e-6
    res = replica_exchange(np.full((R, K), S - 1.0), BETAS, 60, move=metropolis_move, energy=energy, rng=2)
    assert chi_square_test(joint_counts(res.states), product_law(), alpha=ALPHA).passed


def expected_swap_acceptance(r, sign=1.0):
    pa, pb = gibbs(BETAS[r]), gibbs(BETAS[r + 1])
    d = BETAS[r + 1] - BETAS[r]
    ratio = np.minimum(1.0, np.exp(sign * d * (LEVELS[None, :] - LEVELS[:, None])))  # [a at r, b at r + 1]
    return float(pa @ ratio @ pb)


def expected_move_acceptance(beta):
    M = move_matrix(beta)
    return float(gibbs(beta) @ (1.0 - np.diag(M)))


def test_swap_and_move_acceptance_equal_their_exact_expectations():
    """Two rounds from exact draws: pair (0, 1) is proposed in round 0 and pair (1, 2) in round 1, each once
    per run and each from the product law (it is invariant), so the accepted swaps of pair r are exactly
    Binomial(K, a_r) with a_r = sum_ab p_r(a) p_r+1(b) min(1, exp((beta_r+1 - beta_r)(E_b - E_a))). Two-sided
    binomial tests at alpha = 1e-3. The moves: K runs x 2 rounds Metropolis steps per rung; a run's two
    indicators are dependent, so the z-score uses the conservative variance bound a(1 - a)/K of a per-run
    fraction in [0, 1] (the false-positive rate is at most alpha).

    Power: with the sign flipped, pair 0 accepts with probability a'_0 (also exact); the binomial test at
    this K has power > 0.999 against it and rejects the flipped run."""
    rng = np.random.default_rng(3)
    res = replica_exchange(exact_start(rng), BETAS, 2, move=metropolis_move, energy=energy, rng=rng)
    for r in range(R - 1):
        a = expected_swap_acceptance(r)
        k = round(res.swap_acceptance[r] * K)
        assert stats.binomtest(k, K, a).pvalue > ALPHA, (r, res.swap_acceptance[r], a)
    for r, b in enumerate(BETAS):
        a = expected_move_acceptance(b)
        assert abs(res.move_acceptance[r] - a) / np.sqrt(a * (1 - a) / K) < stats.norm.isf(ALPHA / 2)
    a0, a0_wrong = expected_swap_acceptance(0), expected_swap_acceptance(0, sign=-1.0)
    lo, hi = stats.binom.isf(1 - ALPHA / 2, K, a0), stats.binom.isf(ALPHA / 2, K, a0)  # acceptance region
    assert stats.binom.cdf(lo - 1, K, a0_wrong) + stats.binom.sf(hi, K, a0_wrong) > 0.999
    wrong = replica_exchange(exact_start(rng), BETAS, 2, move=metropolis_move, energy=lambda x: -energy(x), rng=rng)
    assert stats.binomtest(round(wrong.swap_acceptance[0] * K), K, a0).pvalue < ALPHA


# ---------------------------------------------------------------- deterministic behaviour
def test_swaps_move_whole_configurations_and_record_after_the_swap():
    """An event axis of length 2, moves that do nothing (heat-bath style: return None). Rung 1 holds a much
    higher energy, so (beta_1 - beta_0)(E_1 - E_0) > 0 and the swap is certain: state, energy, observable."""
    state = np.array([[[0.0, 0.0]], [[5.0, 7.0]]])  # (R=2, batch=1, event=2)
    res = replica_exchange(state, [0.5, 1.0], 1, move=lambda x, b, g: None, energy=lambda x: x.sum(-1), rng=0,
                           observable=lambda x: x[..., 0])
    np.testing.assert_array_equal(res.states, state[::-1])
    np.testing.assert_array_equal(res.energies[0], [[12.0], [0.0]])  # the high energy went to the hot rung
    np.testing.assert_array_equal(res.observables[0], [[5.0], [0.0]])
    np.testing.assert_array_equal(res.swap_acceptance, [1.0])
    np.testing.assert_array_equal(res.move_acceptance, [1.0, 1.0])
    assert isinstance(res, PTResult) and np.array_equal(state[0], [[0.0, 0.0]])  # the input is not modified


def test_zero_rounds_return_the_input():
    state = np.array([[0.0, 1.0], [2.0, 3.0], [3.0, 1.0]])
    res = replica_exchange(state, BETAS, 0, move=metropolis_move, energy=energy, rng=0)
    np.testing.assert_array_equal(res.states, state)
    assert res.energies.shape == (0, 3, 2) and res.observables.shape == (0, 3, 2)
    np.testing.assert_array_equal(res.swap_acceptance, [0.0, 0.0])


def test_same_seed_same_bits():
    start = exact_start(np.random.default_rng(4))[:, :500]
    a = replica_exchange(start, BETAS, 10, move=metropolis_move, energy=energy, rng=9)
    b = replica_exchange(start, BETAS, 10, move=metropolis_move, energy=energy, rng=np.random.default_rng(9))
    c = replica_exchange(start, BETAS, 10, move=metropolis_move, energy=energy, rng=10)
    for field in ("states", "energies", "observables", "swap_acceptance", "move_acceptance"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.states, c.states)


# ---------------------------------------------------------------- the ladder
def test_temperature_ladder_is_geometric_with_exact_ends():
    b = temperature_ladder(1.7, 7, 0.2)
    assert b[0] == 0.2 and b[-1] == 1.7 and np.all(np.diff(b) > 0)
    np.testing.assert_allclose(b[1:] / b[:-1], (1.7 / 0.2) ** (1 / 6), rtol=1e-14)


@pytest.mark.parametrize("beta, beta_min", [(1e308, 0.1), (1.0, 5e-324), (1.7976931348623157e308, 5e-324)])
def test_temperature_ladder_at_extreme_inverse_temperatures(beta, beta_min):
    """Computed in log space: finite, strictly increasing, geometric to 1e-12 in log, exact ends."""
    b = temperature_ladder(beta, 6, beta_min)
    assert b[0] == beta_min and b[-1] == beta and np.all(np.isfinite(b)) and np.all(np.diff(b) > 0)
    expected = np.log(beta_min) + (np.log(beta) - np.log(beta_min)) * np.arange(6) / 5
    np.testing.assert_allclose(np.log(b), expected, rtol=1e-12)


def test_check_ladder():
    np.testing.assert_array_equal(check_ladder([0.0, 0.5]), [0.0, 0.5])  # beta = 0 is a valid hottest rung
    for bad, msg in [([1.0, 0.5], "strictly increasing"), ([0.5], "at least two"), ([0.1, np.inf], r"\+inf"),
                     ([-0.1, 0.5], "non-negative"), ([[0.1, 0.2]], "1-D")]:
        with pytest.raises(ValueError, match=f"^betas: .*{msg}"):
            check_ladder(bad)
    with pytest.raises(ValueError, match="^ladder: "):
        check_ladder([0.2, 0.1], "ladder")
    with pytest.raises(TypeError, match="^name: "):
        check_ladder([0.1, 0.2], None)


# ---------------------------------------------------------------- bad input
def test_bad_input_names_the_parameter():
    x = np.zeros((3, 4))
    ok = dict(move=metropolis_move, energy=energy, rng=0)
    cases = [
        (lambda: temperature_ladder(1.0, 4, 2.0), ValueError, "beta_min"),
        (lambda: temperature_ladder(0.0, 4, 0.1), ValueError, "beta"),
        (lambda: temperature_ladder(1.0, 1, 0.1), ValueError, "n_replicas"),
        (lambda: temperature_ladder(1.0, 2**62, 0.1), ValueError, "n_replicas"),
        (lambda: temperature_ladder(1.0, 10**6, 1.0 - 1e-15), ValueError, "n_replicas"),  # not distinct
        (lambda: replica_exchange(x, [0.5, 0.1, 1.0], 2, **ok), ValueError, "betas"),
        (lambda: replica_exchange(x[:2], BETAS, 2, **ok), ValueError, "state"),
        (lambda: replica_exchange(x, BETAS, -1, **ok), ValueError, "n_rounds"),
        (lambda: replica_exchange(x, BETAS, 2.5, **ok), TypeError, "n_rounds"),
        (lambda: replica_exchange(x, BETAS, 2**62, **ok), ValueError, "n_rounds"),
        (lambda: replica_exchange(x, BETAS, 2, move=None, energy=energy, rng=0), TypeError, "move"),
        (lambda: replica_exchange(x, BETAS, 2, move=metropolis_move, energy=3, rng=0), TypeError, "energy"),
        (lambda: replica_exchange(x, BETAS, 2, move=metropolis_move, energy=energy, rng=None), TypeError, "rng"),
        (lambda: replica_exchange(x, BETAS, 2, move=metropolis_move, energy=lambda s: s[0], rng=0), ValueError,
         "energy"),
        (lambda: replica_exchange(x, BETAS, 2, move=metropolis_move, energy=lambda s: s * np.nan, rng=0),
         ValueError, "energy"),
        (lambda: replica_exchange(x, BETAS, 2, move=lambda s, b, g: np.ones(5), energy=energy, rng=0), ValueError,
         "move"),
        (lambda: replica_exchange(x, BETAS, 2, observable=lambda s: s[:, :1, None], **ok), ValueError,
         "observable"),
        (lambda: replica_exchange(np.full((3, 4), np.nan), BETAS, 2, **ok), ValueError, "state"),
    ]
    for call, kind, name in cases:
        with pytest.raises(kind, match=f"^{name}: "):
            call()
