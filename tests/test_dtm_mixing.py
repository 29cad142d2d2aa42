"""Mixing of the denoising steps' block-Gibbs chains (thermoref.dtm.mixing) against exact references.

The oracles never use the code under test: closed forms (independent pixels: tau = 1; two coupled spins:
tau = 1/(1 - tanh w)-type formulas derived by the tower property; a chain of spins at zero field, whose
heat-bath conditional means are linear, Glauber's identity, so that its autocovariances are matrix powers of
an n x n matrix), the lead's HardwareModel.transition_matrix (a second implementation of the sweep's kernel),
dense eigenvalues and singular values by NumPy, the sum of autocorrelations by matrix powers, and, for the
sampled estimator, chains simulated directly from the exact transition matrix. Stochastic checks name their
statistic, null and false-positive rate (alpha = 1e-3) and show their power against a 5 % temperature error
and a sampler that does nothing.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from thermoref.backend import HardwareModel, NumpyBackend
from thermoref.backend.broken import ReturnsInputUnit
from thermoref.dtm import DTM, exact_step_law, grid_colouring, sample_step, step_ising
from thermoref.dtm.mixing import (
    MAX_MIXING_PIXELS,
    autocorrelation_profile,
    exact_autocorrelation_time,
    step_autocorrelation_times,
    sweep_transition_matrix,
)
from thermoref.ising import greedy_colouring
from thermoref.mcmc import integrated_autocorrelation_times
from thermoref.testing import chi_square_test, enumerate_states

ALPHA = 1e-3
Z_ALPHA = 3.2905  # two-sided normal quantile at alpha = 1e-3
STATES4 = enumerate_states(4, (0, 1))


def _dtm(side, edges, w, b=None, flip=(0.5,)):
    edges = np.asarray(edges, dtype=np.int64)
    T = len(flip)
    w = np.broadcast_to(np.asarray(w, dtype=float), (T, len(edges)))
    b = np.zeros((T, side * side)) if b is None else np.broadcast_to(np.asarray(b, dtype=float), (T, side * side))
    return DTM(side, edges, w, b, np.asarray(flip, dtype=float))


def _random_dtm(side, flip, scale, seed, neighbourhood=8):
    rng = np.random.default_rng(seed)
    z = DTM.zeros(side, flip, neighbourhood=neighbourhood)
    return DTM(side, z.edges, rng.normal(0, scale, z.weights.shape), rng.normal(0, scale, z.biases.shape), z.flip)


def _scaled(dtm, factor):
    """The same model at inverse temperature ``factor``: couplings, fields and gamma all scaled."""
    q = (1 - np.tanh(factor * dtm.gammas)) / 2
    return DTM(dtm.side, dtm.edges, factor * dtm.weights, factor * dtm.biases, q)


# ---------------------------------------------------------------------------------------------------------
# the exact chain: closed forms
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [2, 3])
def test_independent_pixels_mix_in_one_sweep(side):
    # no couplings: every phase draws its pixels afresh from pi, so P = 1 pi^T and rho_k = 0 for k >= 1
    n = side * side
    rng = np.random.default_rng(side)
    dtm = _dtm(side, np.zeros((0, 2)), [], rng.normal(0, 1, n), flip=(0.2,))
    x_t = rng.integers(0, 2, (3, n))
    _, pi = exact_step_law(dtm, 1, x_t)
    for colours in (None, np.arange(n)):  # one phase, or one pixel per phase
        P = sweep_transition_matrix(dtm, 1, x_t, colours=colours)
        assert np.abs(P - pi[:, None, :]).max() < 1e-15
        for obs in ("energy", "magnetization", "pixels") if side == 2 else ("pixels",):
            m = exact_autocorrelation_time(dtm, 1, x_t, obs, colours=colours)
            assert np.abs(m.tau - 1.0).max() < 1e-12
            assert m.slem.max() < 1e-12 and m.norm.max() < 1e-7 and np.all(m.tau_exp < 0.05)


@pytest.mark.parametrize("w", [0.3, 1.1, -0.7])
def test_two_coupled_spins_closed_form(w):
    # Pixels 0, 1 coupled by w, pixels 2, 3 free, zero fields, gamma = 0. Along the half-sweeps
    # s1, s0, s1, ... each draw has conditional mean t = tanh(w) times the last, so Cov = t^(half-steps):
    # Cov(s_i^0, s_i^k) = t^2k, Cov(s0^0, s1^k) + Cov(s1^0, s0^k) = t^(2k+1) + t^(2k-1), and the product
    # s0 s1 is redrawn independently of the past at every sweep (energy: tau = 1).
    dtm = _dtm(2, [[0, 1]], [w])
    t = np.tanh(w)
    tau_m = 1 + (1 + t) * t / ((1 - t) * (2 + t))  # m = (s0 + s1 + s2 + s3)/4
    tau_pixel = (1 + t**2) / (1 - t**2)
    for colours in (None, [0, 1, 0, 0], [1, 0, 1, 1], [0, 1, 2, 3], [3, 2, 1, 0]):
        m = exact_autocorrelation_time(dtm, 1, [0, 0, 0, 0], "magnetization", colours=colours)
        assert m.tau[0] == pytest.approx(tau_m, rel=1e-12)
        p = exact_autocorrelation_time(dtm, 1, [0, 0, 0, 0], "pixels", colours=colours)
        np.testing.assert_allclose(p.tau[0], [tau_pixel, tau_pixel, 1, 1], rtol=1e-12)
        e = exact_autocorrelation_time(dtm, 1, [0, 0, 0, 0], "energy", colours=colours)
        assert e.tau[0] == pytest.approx(1.0, rel=1e-12)
        # P = K0 K1 on the coupled pair: slem = t^2 (the chain of s1 between sweeps flips with rate t^2 decay)
        assert m.slem[0] == pytest.approx(t**2, rel=1e-12)


def _glauber_tau(n, edges, w, colours, ring=False):
    """tau of the magnetization and of each spin for heat bath on a path (or ring) of spins at zero field.

    Glauber's identity: tanh(w (a + b)) = tanh(2w)/2 (a + b) for a, b = +-1, and tanh(w a) = tanh(w) a, so
    E[s_i' | s] = sum_j L_ij s_j; a phase replaces its rows by L, a sweep is A = M_{C-1} ... M_0, and
    E[s^k | s^0] = A^k s^0. With C = E[s s^T] (t^d on a path, (t^d + t^(n-d))/(1 + t^n) on a ring),
    sum_{k>=1} Cov(s^0, s^k) = C (A (I - A)^-1)^T.
    """
    nbrs = [[] for _ in range(n)]
    for i, j in edges:
        nbrs[i].append(j)
        nbrs[j].append(i)
    L = np.zeros((n, n))
    for i in range(n):
        for j in nbrs[i]:
            L[i, j] = np.tanh(w) if len(nbrs[i]) == 1 else np.tanh(2 * w) / 2
    A = np.eye(n)
    for c in np.unique(colours):
        Mc = np.eye(n)
        Mc[colours == c] = L[colours == c]
        A = Mc @ A
    # graph distance along the path / ring
    order = [0]
    while len(order) < n:
        order.append(next(j for j in nbrs[order[-1]] if j not in order))
    pos = np.empty(n, int)
    pos[order] = np.arange(n)
    d = np.abs(pos[:, None] - pos[None, :])
    t = np.tanh(w)
    C = (t**d + t ** (n - d)) / (1 + t**n) if ring else t**d
    cov = C @ (A @ np.linalg.inv(np.eye(n) - A)).T
    one = np.ones(n)
    return 1 + 2 * one @ cov @ one / (one @ C @ one), 1 + 2 * np.diag(cov)


SNAKE = [0, 1, 2, 5, 4, 3, 6, 7, 8]


@pytest.mark.parametrize("w", [0.3, 0.8, -0.5])
@pytest.mark.parametrize("colouring", ["two", "three", "greedy"])
def test_spin_chain_against_glauber_linear_recursion(w, colouring):
    edges = sorted(tuple(sorted(p)) for p in zip(SNAKE[:-1], SNAKE[1:]))
    dtm = _dtm(3, edges, w)
    pos = np.empty(9, int)
    pos[SNAKE] = np.arange(9)
    colours = {"two": pos % 2, "three": pos % 3, "greedy": greedy_colouring(dtm.couplings(1))}[colouring]
    tau_m, tau_i = _glauber_tau(9, edges, w, colours)
    m = exact_autocorrelation_time(dtm, 1, np.zeros(9, np.int8), "magnetization", colours=colours)
    p = exact_autocorrelation_time(dtm, 1, np.zeros(9, np.int8), "pixels", colours=colours)
    assert m.tau[0] == pytest.approx(tau_m, rel=1e-10)
    np.testing.assert_allclose(p.tau[0], tau_i, rtol=1e-10)


@pytest.mark.parametrize("w", [0.5, 0.8])
def test_ring_of_four_against_glauber_linear_recursion(w):
    # the 2x2 grid with 4 neighbours is a ring of 4 spins (the sampled test below uses it)
    dtm = _dtm(2, DTM.zeros(2, [0.5], neighbourhood=4).edges, w)
    tau_m, _ = _glauber_tau(4, dtm.edges, w, np.array([0, 1, 1, 0]), ring=True)
    assert exact_autocorrelation_time(dtm, 1, [0, 0, 0, 0], "magnetization").tau[0] == pytest.approx(tau_m, rel=1e-10)


# ---------------------------------------------------------------------------------------------------------
# the exact chain: identities against independent computations
# ---------------------------------------------------------------------------------------------------------

CASES = [(2, 4, 0.9, 1), (2, 8, 0.7, 2), (3, 4, 0.5, 3), (3, 8, 0.35, 4)]


@pytest.mark.parametrize("side, neighbourhood, scale, seed", CASES)
def test_sweep_matrix_is_the_hardware_models_ideal_sweep(side, neighbourhood, scale, seed):
    dtm = _random_dtm(side, [0.3, 0.2], scale, seed, neighbourhood)
    x_t = np.random.default_rng(seed).integers(0, 2, (2, side * side))
    for b in range(2):  # one image: the backend colours it as HardwareModel does
        J, h = step_ising(dtm, 2, x_t[b])
        P = sweep_transition_matrix(dtm, 2, x_t[b])[0]
        assert np.abs(P - HardwareModel().transition_matrix(J.toarray(), h, 1.0)).max() < 1e-15
        _, pi = exact_step_law(dtm, 2, x_t[b])
        assert np.abs(pi[0] @ P - pi[0]).max() < 1e-15 and np.abs(P.sum(axis=1) - 1).max() < 1e-14


@pytest.mark.parametrize("side, neighbourhood, scale, seed", CASES)
def test_tau_from_fundamental_matrix_equals_sum_of_matrix_powers(side, neighbourhood, scale, seed):
    dtm = _random_dtm(side, [0.3], scale, seed, neighbourhood)
    x_t = np.random.default_rng(seed).integers(0, 2, (2, side * side))
    P = sweep_transition_matrix(dtm, 1, x_t)
    states, pi = exact_step_law(dtm, 1, x_t)
    s = 2.0 * states - 1
    for obs in ("energy", "magnetization", "pixels"):
        m = exact_autocorrelation_time(dtm, 1, x_t, obs)
        for b in range(2):
            E = -(s[:, dtm.edges[:, 0]] * s[:, dtm.edges[:, 1]]) @ dtm.weights[0] - s @ (
                dtm.biases[0] + dtm.gammas[0] * (2.0 * x_t[b] - 1))
            F = {"energy": E[:, None], "magnetization": s.mean(1)[:, None], "pixels": s}[obs]
            F = F - pi[b] @ F
            var = pi[b] @ F**2
            g, total = F.copy(), np.zeros(F.shape[1])
            for _ in range(20000):  # rho_k by matrix powers of P - 1 pi^T until they are below 1e-16 of f
                g = P[b] @ g
                g -= pi[b] @ g
                total += pi[b] @ (F * g)
                if np.abs(g).max() < 1e-16 * np.abs(F).max():
                    break
            else:
                raise AssertionError("the powers did not decay")
            np.testing.assert_allclose(m.tau[b], 1 + 2 * total / var, rtol=1e-9)


@pytest.mark.parametrize("side, neighbourhood, scale, seed", CASES)
def test_spectral_quantities_against_dense_linear_algebra(side, neighbourhood, scale, seed):
    dtm = _random_dtm(side, [0.3], scale, seed, neighbourhood)
    x_t = np.random.default_rng(seed).integers(0, 2, (2, side * side))
    P = sweep_transition_matrix(dtm, 1, x_t)
    _, pi = exact_step_law(dtm, 1, x_t)
    m = exact_autocorrelation_time(dtm, 1, x_t, "pixels")
    slem = np.abs(np.linalg.eigvals(P - pi[:, None, :])).max(axis=1)
    r = np.sqrt(pi)
    norm = np.linalg.svd(r[:, :, None] * (P - pi[:, None, :]) / r[:, None, :], compute_uv=False)[:, 0]
    np.testing.assert_allclose(m.slem, slem, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.norm, norm, rtol=1e-12)
    np.testing.assert_allclose(m.tau_exp, -1 / np.log(slem), rtol=1e-10)
    assert np.all(m.slem <= m.norm + 1e-15) and np.all(m.tau <= m.tau_bound[:, None])
    # not reversible: detailed balance pi_a P_ab = pi_b P_ba fails for a chromatic sweep with couplings
    flow = pi[:, :, None] * P
    assert np.abs(flow - flow.transpose(0, 2, 1)).max() > 1e-3
    if neighbourhood == 4:  # two phases: P = K0 K1 has the eigenvalues of P* P = K1 K0 K1, so ||P||_0^2 = slem
        two = exact_autocorrelation_time(dtm, 1, x_t, colours=grid_colouring(side, 4))
        np.testing.assert_allclose(two.norm**2, two.slem, rtol=1e-10)


def test_reversed_sweep_keeps_every_autocorrelation_but_another_order_does_not():
    # <f, (K0 K1 K2 K3)^k f> = <f, (K3 K2 K1 K0)^k f> (adjoints in L2(pi)); K0 K2 K1 K3 is another chain
    dtm = _random_dtm(2, [0.3], 0.9, 5, neighbourhood=8)  # K4: four phases of one pixel
    x = [1, 0, 0, 1]
    forward = exact_autocorrelation_time(dtm, 1, x, "pixels", colours=[0, 1, 2, 3])
    backward = exact_autocorrelation_time(dtm, 1, x, "pixels", colours=[3, 2, 1, 0])
    other = exact_autocorrelation_time(dtm, 1, x, "pixels", colours=[0, 2, 1, 3])
    np.testing.assert_allclose(forward.tau, backward.tau, rtol=1e-10)
    np.testing.assert_allclose(forward.slem, backward.slem, rtol=1e-10)
    assert np.abs(forward.tau - other.tau).max() > 0.01


def test_a_chain_that_cannot_mix_in_float64_reports_inf_without_warnings():
    dtm = _dtm(2, DTM.zeros(2, [0.5], neighbourhood=4).edges, 60.0)  # flipping the ring costs e^-240
    m = exact_autocorrelation_time(dtm, 1, [0, 0, 0, 0], "magnetization")
    assert m.tau[0] == np.inf and m.tau_exp[0] == np.inf and m.slem[0] == 1.0
    e = exact_autocorrelation_time(dtm, 1, [0, 0, 0, 0], "energy")  # blind to the flip, yet documented inf
    assert e.tau[0] == np.inf
    pinned = _dtm(2, DTM.zeros(2, [0.5], neighbourhood=4).edges, 1.0, b=[900.0, -900.0, 900.0, 900.0])
    p = exact_autocorrelation_time(pinned, 1, [0, 0, 0, 0], "pixels")  # pi is a point mass in float64
    assert np.array_equal(p.tau, np.ones((1, 4))) and p.slem[0] == 0.0 and p.tau_exp[0] == 0.0


# ---------------------------------------------------------------------------------------------------------
# the central fact, exactly: conditioning on the noisier image speeds mixing
# ---------------------------------------------------------------------------------------------------------


def test_conditioned_steps_mix_faster_than_the_single_ebm_and_coupling_slows_both():
    # 3x3 images, 8 neighbours, the chip's 4-colour sweep, uniform ferromagnetic couplings w; the single EBM
    # (gamma = 0) against denoising steps (q = 0.3, 0.1) conditioned on several images, all exact.
    z = DTM.zeros(3, [0.5], neighbourhood=8)
    colours = grid_colouring(3, 8)
    x_t = np.array([[0] * 9, [0, 1, 0, 1, 0, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0, 1, 1, 1], [1, 0, 0, 1, 1, 0, 0, 0, 1]])
    taus = {}
    for w in (0.15, 0.3, 0.45):
        for q in (0.5, 0.3, 0.1):
            dtm = DTM(3, z.edges, np.full((1, len(z.edges)), w), np.zeros((1, 9)), [q])
            taus[w, q] = exact_autocorrelation_time(dtm, 1, x_t if q < 0.5 else x_t[:1], "magnetization",
                                                    colours=colours)
    for w in (0.15, 0.3, 0.45):
        ebm = taus[w, 0.5]
        for q in (0.3, 0.1):
            assert np.all(taus[w, q].tau < ebm.tau[0]) and np.all(taus[w, q].tau_exp < ebm.tau_exp[0])
        assert np.all(taus[w, 0.1].tau < taus[w, 0.3].tau)  # more noise removed per step: slower
    # stronger couplings: slower, for the EBM (2.75, 14.7, 137 sweeps) and on average over the images; an
    # image that agrees with the ferromagnet (all 0) pins its chain harder instead (q = 0.1: 1.10, 1.06, 1.03)
    assert np.all(np.diff([taus[w, 0.5].tau[0] for w in (0.15, 0.3, 0.45)]) > 0)
    for q in (0.3, 0.1):
        assert np.all(np.diff([taus[w, q].tau.mean() for w in (0.15, 0.3, 0.45)]) > 0)
        assert np.all(np.diff([taus[w, q].tau[1:] for w in (0.15, 0.3, 0.45)], axis=0) > 0)
    assert np.all(np.diff([taus[w, 0.1].tau[0] for w in (0.15, 0.3, 0.45)]) < 0)
    assert taus[0.45, 0.5].tau[0] > 10 * taus[0.45, 0.1].tau.max()  # at w = 0.45: 137 sweeps against <= 12.6
    # the energy does not see the EBM's slow mode (the global flip leaves it unchanged): by energy alone the
    # comparison would come out backwards (the module docstring quotes these numbers)
    ebm = DTM(3, z.edges, np.full((1, len(z.edges)), 0.45), np.zeros((1, 9)), [0.5])
    step = DTM(3, z.edges, np.full((1, len(z.edges)), 0.45), np.zeros((1, 9)), [0.3])
    e_ebm = exact_autocorrelation_time(ebm, 1, x_t[:1], "energy", colours=colours).tau[0]
    e_step = exact_autocorrelation_time(step, 1, x_t, "energy", colours=colours).tau
    assert round(taus[0.45, 0.5].tau[0]) == 137 and round(e_ebm, 1) == 1.7 and np.all(e_step > e_ebm)
    assert np.round(taus[0.45, 0.3].tau[[0, 1]]).tolist() == [6, 89] and np.round(e_step[[0, 2]]).tolist() == [2, 21]


# ---------------------------------------------------------------------------------------------------------
# the sampled chains
# ---------------------------------------------------------------------------------------------------------


def test_one_sweep_of_the_backend_is_the_exact_sweep_of_each_image_in_a_batch():
    # statistic: Pearson X^2 of the states after one sweep from a fixed start, one row per distinct colouring
    # the backend gives the blocks of the batch (rows add), null chi2, alpha = 1e-3. Power: the same counts
    # against the sweep every block would run with the single image's colouring must be rejected.
    dtm = _random_dtm(2, [0.3], 1.0, 9, neighbourhood=8)  # K4: four one-pixel phases, order matters
    N = 24000
    x_t = np.tile([1, 0, 1, 1], (N, 1))
    start = np.tile([0, 1, 0, 0], (N, 1))
    x = sample_step(dtm, 1, x_t, n_sweeps=1, rng=21, init=start)
    colours = greedy_colouring(step_ising(dtm, 1, x_t)[0]).reshape(N, 4)
    kinds, which = np.unique(colours, axis=0, return_inverse=True)
    which = which.ravel()
    a0 = 0b0100
    idx = x @ (1 << np.arange(3, -1, -1))
    counts = np.zeros((len(kinds), 16))
    np.add.at(counts, (which, idx), 1)
    law = np.stack([sweep_transition_matrix(dtm, 1, x_t[0], colours=k)[0, a0] for k in kinds])
    single = sweep_transition_matrix(dtm, 1, x_t[0], colours=greedy_colouring(dtm.couplings(1)))[0, a0]
    batch_law = sweep_transition_matrix(dtm, 1, x_t[:8])  # the default colours follow the batch
    assert np.abs(batch_law[:, a0] - law[which[:8]]).max() < 1e-15
    assert len(kinds) > 1
    assert chi_square_test(counts, law).pvalue > ALPHA
    assert chi_square_test(counts, np.broadcast_to(single, law.shape)).pvalue < ALPHA


def _reference_taus(P, start, n_sweeps, burn_in, values, rng):
    """Per-chain Sokal taus of chains drawn directly from the exact matrices P (B, M, M), one chain per row."""
    cdf = np.cumsum(P, axis=2)  # (B, M, M)
    B, M = P.shape[:2]
    rows, s = np.arange(B), start.copy()
    out = np.empty((n_sweeps, B))
    for k in range(burn_in + n_sweeps):  # time steps of a Markov chain
        s = np.minimum((cdf[rows, s] <= rng.random(B)[:, None]).sum(axis=1), M - 1)
        if k >= burn_in:
            out[k - burn_in] = values[s]
    return integrated_autocorrelation_times(out, axis=0)


def test_sampled_autocorrelation_time_against_the_exact_chain():
    # The single EBM of a ferromagnetic ring of 4 pixels (w = 0.6): exact tau of the magnetization 6.01.
    # Statistic: z = (mean X - mean Y) / sqrt(var X / B1 + var Y / B2), X the per-chain Sokal estimates of
    # step_autocorrelation_times (B1 chains), Y the same estimator on chains drawn from the exact sweep matrix
    # (B2 chains, same start, burn-in and length). Under the null (the backend runs the exact sweep) X and Y
    # are independent samples of one law, so z ~ N(0, 1) by the CLT: |z| > 3.29 rejects at alpha = 1e-3. The
    # per-chain estimates are skewed (skewness 2.8), which skews z by only 0.06 (Edgeworth: the tail moves by
    # < 2e-4). Calibrated offline on 400 seeds of the null (both samples drawn from the exact matrix): z had
    # mean 0.06, sd 0.99, KS p = 0.12 against N(0, 1), and 2 of 400 beyond 3.29 (0.4 expected; a 6 % event).
    # The estimator's own bias at N = 500 sweeps (-3 %) is in both means and cancels. Power: at beta = 1.05
    # (all parameters scaled) the exact tau is 6.71 (+11.7 %) and z = 7.1 (power > 0.999 for a mean z of
    # 7); a sampler that never moves gives tau = 1.
    ring = DTM.zeros(2, [0.5], neighbourhood=4).edges
    dtm = _dtm(2, ring, 0.6)
    B1, N, burn = 1000, 500, 30
    x_t = np.zeros((B1, 4), dtype=np.int8)
    exact = exact_autocorrelation_time(dtm, 1, x_t[:1], "magnetization").tau[0]
    assert exact == pytest.approx(6.0116, abs=1e-4)
    mag = (2.0 * STATES4 - 1).mean(axis=1)
    P = np.tile(sweep_transition_matrix(dtm, 1, x_t), (4, 1, 1))  # each block's own sweep, 4 copies
    Y = _reference_taus(P, np.zeros(4 * B1, dtype=np.int64), N, burn, mag, np.random.default_rng(5))
    assert abs(Y.mean() / exact - 1) < 0.06  # the estimator's bias at this length (measured about -3 %)

    def z(r):
        return (r.tau - Y.mean()) / np.sqrt(r.taus.var(ddof=1) / B1 + Y.var(ddof=1) / Y.size)

    r = step_autocorrelation_times(dtm, 1, x_t, n_sweeps=N, burn_in=burn, rng=6, observable="magnetization")
    assert r.taus.shape == (B1,) and r.n_sweeps == N and r.burn_in == burn and r.n_constant == 0
    assert abs(z(r)) < Z_ALPHA
    # power: chains run at beta = 1.05, drawn from that model's exact sweep matrix through the same estimator
    hot = _scaled(dtm, 1.05)
    assert exact_autocorrelation_time(hot, 1, x_t[:1], "magnetization").tau[0] == pytest.approx(6.7143, abs=1e-4)
    X_hot = _reference_taus(sweep_transition_matrix(hot, 1, x_t), np.zeros(B1, dtype=np.int64), N, burn, mag,
                            np.random.default_rng(7))
    assert z(SimpleNamespace(tau=X_hot.mean(), taus=X_hot)) > Z_ALPHA
    lazy = step_autocorrelation_times(dtm, 1, x_t[:50], n_sweeps=N, burn_in=burn, rng=6,
                                      observable="magnetization", backend=ReturnsInputUnit())
    assert lazy.n_constant == 50 and lazy.tau == 1.0  # constant series: Sokal's convention, far from 6.01


def test_step_autocorrelation_times_records_what_it_ran():
    dtm = _random_dtm(3, [0.3, 0.3], 0.3, 11)
    x_t = np.random.default_rng(0).integers(0, 2, (6, 9)).astype(np.int8)
    unit = NumpyBackend()
    r = step_autocorrelation_times(dtm, 2, x_t, n_sweeps=40, burn_in=7, rng=3, backend=unit, observable="pixels")
    assert r.taus.shape == (6, 9) and r.tau.shape == (9,) and r.std_error.shape == (9,) and r.t == 2
    assert unit.ledger.sweeps == 47 and r.observable == "pixels"
    again = step_autocorrelation_times(dtm, 2, x_t, n_sweeps=40, burn_in=7, rng=3, observable="pixels")
    assert np.array_equal(r.taus, again.taus)  # same seed, same bits
    e = step_autocorrelation_times(dtm, 2, x_t, n_sweeps=40, burn_in=7, rng=3, observable="energy")
    assert isinstance(e.tau, float) and e.taus.shape == (6,) and np.all(e.taus > 0)


def test_energy_series_is_the_step_energy_of_the_chain(monkeypatch):
    # the energies are computed in blocks of sweeps to bound memory; blocks of one sweep give the same taus
    import thermoref.dtm.mixing as mixing

    dtm = _random_dtm(3, [0.3], 0.4, 12)
    x_t = np.random.default_rng(1).integers(0, 2, (5, 9)).astype(np.int8)
    whole = step_autocorrelation_times(dtm, 1, x_t, n_sweeps=60, burn_in=3, rng=2, observable="energy")
    monkeypatch.setattr(mixing, "_CHUNK", 1)
    blocks = step_autocorrelation_times(dtm, 1, x_t, n_sweeps=60, burn_in=3, rng=2, observable="energy")
    np.testing.assert_allclose(whole.taus, blocks.taus, rtol=1e-12)  # BLAS may round blocks differently


def test_autocorrelation_profile_conditions_each_step_on_forward_noise():
    dtm = _random_dtm(2, [0.2, 0.3, 0.4], 0.3, 13)
    x0 = np.random.default_rng(2).integers(0, 2, (8, 4)).astype(np.int8)
    prof = autocorrelation_profile(dtm, x0, n_sweeps=30, burn_in=2, rng=4, observable="magnetization")
    assert [p.t for p in prof] == [1, 2, 3] and all(p.taus.shape == (8,) for p in prof)
    again = autocorrelation_profile(dtm, x0, n_sweeps=30, burn_in=2, rng=4, observable="magnetization")
    assert all(np.array_equal(a.taus, b.taus) for a, b in zip(prof, again))


def test_an_empty_batch_gives_empty_results():
    dtm = _random_dtm(2, [0.3], 0.5, 16)
    none = np.zeros((0, 4), dtype=np.int8)
    assert sweep_transition_matrix(dtm, 1, none).shape == (0, 16, 16)
    m = exact_autocorrelation_time(dtm, 1, none, "pixels")
    assert m.tau.shape == (0, 4) and m.slem.shape == m.norm.shape == m.tau_exp.shape == m.tau_bound.shape == (0,)


# ---------------------------------------------------------------------------------------------------------
# refused input
# ---------------------------------------------------------------------------------------------------------


def test_refuses_what_it_cannot_measure():
    dtm = _random_dtm(3, [0.3], 0.3, 14)
    x = np.zeros((4, 9), dtype=np.int8)
    with pytest.raises(ValueError, match="^x_t: need at least 2"):
        step_autocorrelation_times(dtm, 1, x[:1], n_sweeps=10, burn_in=0, rng=0)
    with pytest.raises(ValueError, match="^n_sweeps:"):
        step_autocorrelation_times(dtm, 1, x, n_sweeps=1, burn_in=0, rng=0)
    with pytest.raises(ValueError, match="^observable:"):
        step_autocorrelation_times(dtm, 1, x, n_sweeps=10, burn_in=0, rng=0, observable="entropy")
    with pytest.raises(ValueError, match="^burn_in:"):
        step_autocorrelation_times(dtm, 1, x, n_sweeps=10, burn_in=2**62, rng=0)
    with pytest.raises(ValueError, match="^colours: units"):
        exact_autocorrelation_time(dtm, 1, x, colours=np.zeros(9, dtype=int))
    with pytest.raises(ValueError, match="^colours: expected shape"):
        sweep_transition_matrix(dtm, 1, x, colours=np.arange(4))
    big = _random_dtm(4, [0.3], 0.3, 15)
    assert big.n > MAX_MIXING_PIXELS
    with pytest.raises(ValueError, match="^dtm: the exact sweep chain is limited"):
        exact_autocorrelation_time(big, 1, np.zeros(16, dtype=np.int8))
    with pytest.raises(ValueError, match="^x0: need at least 2"):
        autocorrelation_profile(dtm, x[:1], n_sweeps=10, burn_in=0, rng=0)
