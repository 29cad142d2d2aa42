"""Tests of thermoref.tempering: the replica-exchange engine, its ladder and its input checks.

The toy system: four levels E = (0, 0.5, 1.5, 3) at three rungs beta = (0.3, 1, 2), moved at every rung by a
Metropolis kernel (propose one of the three other levels uniformly, accept with min(1, exp(-beta dE))) that
leaves each rung's Gibbs law exactly invariant. The oracle is independent of the engine: the exact 64 x 64
transition matrices of one round (the three moves as a Kronecker product, then the swaps of one parity) are
written here from the definitions, and the exact law after any number of rounds from any start follows by
matrix products.

Statistical tests use many independent tempering runs (the batch axis), started from a point mass far from
the product law, and one final state per run, so the draws are independent. Two statistics, each at
alpha / 2 = 5e-4 (together 1e-3, as if the seed were random): the chi-square of the full joint law of the
three rungs (64 cells, so the independence of the rungs is tested too, not only the marginals) and energy_z,
the standardized sum of the rungs' mean energies. The oracle's law after the run gives their true
false-positive rates. Power, computed exactly from the oracle's law of the buggy run (non-central chi-square,
shifted normal) and checked by running the bug: the swap rule's sign flipped (the bug injected through the
``energy`` callable, which the engine uses only for its swaps), every rung at 1.05 beta (a 5 % temperature
error), and the identity "sampler".
"""

import numpy as np
import pytest
from scipy import stats

from thermoref.tempering import PTResult, check_ladder, replica_exchange, temperature_ladder
from thermoref.testing import chi_square_power, chi_square_test

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


def swap_matrix(parity, sign=1.0, betas=BETAS):
    """Exact swap step of one parity: pairs (r, r+1) with r = parity, parity + 2, ... (disjoint)."""
    states = joint_states()
    T = np.eye(S**R)
    for r in range(parity, R - 1, 2):
        step = np.zeros((S**R, S**R))
        for i, x in enumerate(states):
            y = x.copy()
            y[r], y[r + 1] = x[r + 1], x[r]
            j = np.ravel_multi_index(tuple(y), (S,) * R)
            a = min(1.0, np.exp(sign * (betas[r + 1] - betas[r]) * (LEVELS[x[r + 1]] - LEVELS[x[r]])))
            step[i, j] += a
            step[i, i] += 1.0 - a
        T = T @ step
    return T


def product_law(betas=BETAS):
    p = gibbs(betas[0])
    for b in betas[1:]:
        p = np.multiply.outer(p, gibbs(b))
    return p.ravel()  # (64,)


def move_kernel(betas=BETAS):
    """The moves of one round at every rung: a Kronecker product (rung 0 the most significant digit)."""
    M = move_matrix(betas[0])
    for b in betas[1:]:
        M = np.kron(M, move_matrix(b))
    return M


def law_after(n_rounds, sign=1.0, start=None, betas=BETAS):
    M = move_kernel(betas)
    swaps = [swap_matrix(0, sign, betas), swap_matrix(1, sign, betas)]
    p = product_law(betas) if start is None else start
    for t in range(n_rounds):
        p = p @ M @ swaps[t % 2]
    return p


def exact_start(rng):
    """K independent draws of the product law, shape (R, K)."""
    return np.stack([rng.choice(S, size=K, p=gibbs(b)) for b in BETAS]).astype(np.float64)


def joint_counts(states):
    idx = np.ravel_multi_index(tuple(states.astype(np.int64)), (S,) * R)  # (K,)
    return np.bincount(idx, minlength=S**R)



# ---------------------------------------------------------------- the oracle is right
def test_oracle_keeps_the_product_law_and_the_flipped_rule_does_not():
    """Identities of the exact matrices: the correct round leaves the product law invariant to rounding."""
    p = product_law()
    for n in (1, 2, 7):
        np.testing.assert_allclose(law_after(n), p, rtol=0, atol=1e-15)
    assert np.abs(law_after(30, sign=-1.0) - p).sum() > 0.05


# ---------------------------------------------------------------- laws
TOP = np.zeros(S**R)
TOP[-1] = 1.0  # every rung at level 3: the start of every run, far from the cold rungs' laws
N_ROUNDS = 30


def rung_moments(p):
    """(mean, variance) of the energy at each rung under the joint law p of the 64 states."""
    states = joint_states()
    out = []
    for r in range(R):
        m = np.bincount(states[:, r], weights=p, minlength=S)
        U = m @ LEVELS
        out.append((U, m @ (LEVELS - U) ** 2))
    return np.array(out)  # (R, 2)


def energy_z(state, moments):
    """sum_r (mean(E_r) - U_r) sqrt(K) / sigma_r / sqrt(R): N(0, 1) in the limit under the product law (its
    rungs are independent), one state per run. ``state`` (R, K) holds level indices."""
    U, V = moments.T
    return float(np.sum((energy(state).mean(axis=1) - U) * np.sqrt(state.shape[1] / V)) / np.sqrt(R))


def energy_z_power(null, alternative, n, alpha):
    """Probability that |energy_z| > z_{1 - alpha/2} when the rungs' energies have the moments ``alternative``
    (a normal with the shifted mean and the changed variance)."""
    (U, V), (Ua, Va) = null.T, alternative.T
    shift, sd = np.sum((Ua - U) * np.sqrt(n / V)) / np.sqrt(R), np.sqrt(np.sum(Va / V) / R)
    zc = stats.norm.isf(alpha / 2)
    return float(stats.norm.sf((zc - shift) / sd) + stats.norm.cdf((-zc - shift) / sd))


def test_tempering_from_a_wrong_start_converges_to_the_product_law():
    """All 20,000 runs start with every rung at the top level (a point mass, far from the cold rungs' laws)
    and run 30 rounds; one final state per run, so the draws are independent.

    Statistics, each at alpha / 2 = 5e-4 (together 1e-3): the chi-square of the 64-cell joint law of the three
    rungs (so the independence of the rungs is tested too, not only the marginals; df = 63), and energy_z, the
    standardized sum of the rungs' mean energies (N(0, 1)). The oracle's exact law after 30 rounds from that
    start gives the true false-positive rates: both below 5.005e-4 (asserted). Power, computed from the
    oracle (asserted > 0.999): against the exponent's sign flipped (the bug injected through the ``energy``
    callable, which the engine uses only for its swaps), the chi-square has power 1 to float64; against a 5 %
    temperature error (every rung at 1.05 beta), energy_z has power 0.99907 (the chi-square only 0.66).
    test_tempering_power_checks runs both bugs and the identity "sampler"."""
    p = product_law()
    law = law_after(N_ROUNDS, start=TOP)
    null = rung_moments(p)
    assert chi_square_power(p, law, K, alpha=ALPHA / 2) < 5.005e-4
    assert energy_z_power(null, rung_moments(law), K, alpha=ALPHA / 2) < 5.005e-4
    assert chi_square_power(p, law_after(N_ROUNDS, sign=-1.0, start=TOP), K, alpha=ALPHA / 2) > 0.999
    hot = law_after(N_ROUNDS, start=TOP, betas=1.05 * BETAS)
    assert energy_z_power(null, rung_moments(hot), K, alpha=ALPHA / 2) > 0.999
    res = replica_exchange(np.full((R, K), S - 1.0), BETAS, N_ROUNDS, move=metropolis_move, energy=energy, rng=2)
    assert chi_square_test(joint_counts(res.states), p, alpha=ALPHA / 2).passed
    assert abs(energy_z(res.states, null)) < stats.norm.isf(ALPHA / 4)


@pytest.mark.parametrize("bug", ["sign", "temperature", "identity"])
def test_tempering_power_checks(bug):
    """The test above, same start, rounds, sample size and seed: the sign-flipped swap rule is rejected by the
    chi-square, every rung at 1.05 beta by energy_z, and a "sampler" that returns its input by both."""
    p, null = product_law(), rung_moments(product_law())
    start = np.full((R, K), S - 1.0)
    if bug == "identity":
        assert chi_square_power(p, TOP, K, alpha=ALPHA / 2) == 1.0
        states = start
    else:
        betas, E = (BETAS, lambda x: -energy(x)) if bug == "sign" else (1.05 * BETAS, energy)
        states = replica_exchange(start, betas, N_ROUNDS, move=metropolis_move, energy=E, rng=2).states
    rejected_chi = chi_square_test(joint_counts(states), p, alpha=ALPHA / 2).reject
    rejected_z = abs(energy_z(states, null)) > stats.norm.isf(ALPHA / 4)
    assert {"sign": rejected_chi, "temperature": rejected_z, "identity": rejected_chi and rejected_z}[bug]


def swap_acceptance(p, r, sign=1.0):
    """Probability that the swap of pair (r, r + 1) is accepted when the joint state has law p."""
    x = joint_states()
    d = BETAS[r + 1] - BETAS[r]
    return float(p @ np.minimum(1.0, np.exp(sign * d * (LEVELS[x[:, r + 1]] - LEVELS[x[:, r]]))))


def move_acceptance(p, r):
    """Probability that the Metropolis move at rung r is accepted when the joint state has law p."""
    stay = np.diag(move_matrix(BETAS[r]))  # probability of staying at each level (rejection; proposals move)
    return float(p @ (1.0 - stay[joint_states()[:, r]]))


def test_swap_and_move_acceptance_equal_their_exact_expectations():
    """Two rounds from a point mass, every rung at the lowest level (after one move from the top level the
    three rungs would be exchangeable, every downhill proposal being accepted at any beta, and the sign of the
    swap rule would not show in round 0): pair (0, 1) is proposed in round 0 and pair (1, 2) in round 1, each
    once per run, so the accepted swaps of pair r are exactly Binomial(K, a_r), with a_r the acceptance
    probability under the oracle's exact law just before that swap (after the round's moves). Two-sided
    binomial tests at alpha / 4 each. The moves: K runs x 2 rounds Metropolis steps per rung; a run's two
    indicators are dependent, so the z-score uses the conservative variance bound a(1 - a)/K of a per-run
    fraction in [0, 1] (false-positive rate at most alpha / 6 per rung). Together at most 1e-3.

    Sized for the sign error of the swap rule: with the sign flipped, pair 0 accepts with probability a'_0
    (exact from the same law); the binomial test at this K has power > 0.999 against it and rejects the
    flipped run (a_0 = 0.708, a'_0 = 0.938: power 1 to float64). A 5 % temperature error is the job of the
    law test above."""
    M, bottom = move_kernel(), np.eye(S**R)[0]
    before_swap_0 = bottom @ M
    before_swap_1 = before_swap_0 @ swap_matrix(0) @ M
    a = [swap_acceptance(before_swap_0, 0), swap_acceptance(before_swap_1, 1)]
    after_round_0 = before_swap_0 @ swap_matrix(0)
    a_moves = [(move_acceptance(bottom, r) + move_acceptance(after_round_0, r)) / 2 for r in range(R)]
    start = np.zeros((R, K))
    res = replica_exchange(start, BETAS, 2, move=metropolis_move, energy=energy, rng=3)
    for r in range(R - 1):
        k = round(res.swap_acceptance[r] * K)
        assert stats.binomtest(k, K, a[r]).pvalue > ALPHA / 4, (r, res.swap_acceptance[r], a[r])
    for r in range(R):
        z = (res.move_acceptance[r] - a_moves[r]) / np.sqrt(a_moves[r] * (1 - a_moves[r]) / K)
        assert abs(z) < stats.norm.isf(ALPHA / 12), (r, res.move_acceptance[r], a_moves[r])
    a0_wrong = swap_acceptance(before_swap_0, 0, sign=-1.0)
    lo, hi = stats.binom.isf(1 - ALPHA / 8, K, a[0]), stats.binom.isf(ALPHA / 8, K, a[0])  # acceptance region
    assert stats.binom.cdf(lo - 1, K, a0_wrong) + stats.binom.sf(hi, K, a0_wrong) > 0.999
    wrong = replica_exchange(start, BETAS, 2, move=metropolis_move, energy=lambda x: -energy(x), rng=3)
    assert stats.binomtest(round(wrong.swap_acceptance[0] * K), K, a[0]).pvalue < ALPHA / 4


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
