"""Maximum-likelihood training of thermoref.dtm, against exact enumeration.

Oracles are independent of the code under test: central finite differences of the exact log-likelihood and of
the exact penalty, thermoref.ising's own enumeration (log Z, moments), the energy's linearity, a block-Gibbs
transition matrix built here by hand, and the exact KL of the trained law to a known truth. Stochastic checks
name their statistic and null, run at alpha = 1e-3 (Bonferroni over components), and show their power against
the bug they are sized for: a model at a temperature 5 % off, a sampler that does nothing, a biased plug-in
penalty estimator. Chains start far from equilibrium (all pixels 0), so a sampler that does not move fails.
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from thermoref.backend import NumpyBackend
from thermoref.dtm import DTM, exact_step_law, flip_schedule, forward_path, sample_step, step_energy
from thermoref.dtm.train import (
    _lag_one,
    correlation_penalty,
    exact_gradient,
    exact_log_likelihood,
    exact_penalty,
    log_likelihood_gradient,
    step_statistics,
    train_dtm,
)
from thermoref.ising import IsingModel, exact_law
from thermoref.testing import enumerate_states, state_index

ALPHA = 1e-3
EPS = np.finfo(float).eps


def _random_dtm(side, flip, scale, seed, neighbourhood=8):
    rng = np.random.default_rng(seed)
    z = DTM.zeros(side, flip, neighbourhood=neighbourhood)
    return DTM(side, z.edges, rng.normal(0, scale, z.weights.shape), rng.normal(0, scale, z.biases.shape), z.flip)


def _scaled(dtm, factor):
    """The same model at inverse temperature ``factor``: couplings, fields and gamma all scaled."""
    return DTM(dtm.side, dtm.edges, factor * dtm.weights, factor * dtm.biases, (1 - np.tanh(factor * dtm.gammas)) / 2)


def _with_step(dtm, t, theta):
    m = len(dtm.edges)
    w, b = dtm.weights.copy(), dtm.biases.copy()
    w[t - 1], b[t - 1] = theta[:m], theta[m:]
    return DTM(dtm.side, dtm.edges, w, b, dtm.flip)


def _central_differences(f, theta, h):
    out = np.empty_like(theta)
    for k in range(theta.size):  # one parameter at a time: the oracle is deliberately naive
        e = np.zeros_like(theta)
        e[k] = h
        out[k] = (f(theta + e) - f(theta - e)) / (2 * h)
    return out


def _exact_draws(dtm, t, x_t, size, rng):
    """Independent exact draws (size, B, n) of x_{t-1} given each x_t, by inverse CDF over the enumeration."""
    states, p = exact_step_law(dtm, t, x_t)  # (2**n, n), (B, 2**n)
    cdf = np.cumsum(p, axis=1)
    u = rng.random((p.shape[0], size))
    idx = np.stack([np.searchsorted(cdf[b], u[b], side="right") for b in range(p.shape[0])], axis=1)  # (size, B)
    return states[np.minimum(idx, p.shape[1] - 1)]


def test_step_statistics_are_minus_the_energy_derivative():
    # E_t is linear in (w_t, b_t): E(theta + d) - E(theta) = -phi . d exactly (a few ulps)
    dtm, rng = _random_dtm(3, [0.2, 0.3], 0.5, 0), np.random.default_rng(1)
    x, xt = rng.integers(0, 2, (7, 9)), rng.integers(0, 2, (7, 9))
    d = rng.normal(size=len(dtm.edges) + 9)
    pairs, spins = step_statistics(dtm, x)
    shifted = _with_step(dtm, 2, np.concatenate([dtm.weights[1], dtm.biases[1]]) + d)
    diff = step_energy(shifted, 2, x, xt) - step_energy(dtm, 2, x, xt)
    np.testing.assert_allclose(diff, -(np.concatenate([pairs, spins], 1) @ d), rtol=0, atol=64 * EPS * np.abs(d).sum())
    assert set(np.unique(pairs)) <= {-1.0, 1.0} and (spins == 2 * x - 1).all()


def test_exact_log_likelihood_against_ising_enumeration():
    dtm, rng = _random_dtm(3, [0.2, 0.3], 0.8, 2), np.random.default_rng(3)
    xp, xt = rng.integers(0, 2, (6, 9)), rng.integers(0, 2, (6, 9))
    ll = exact_log_likelihood(dtm, 2, xp, xt)
    for b in range(6):  # thermoref.ising: E = -1/2 s'Js - h's with h = b + gamma s_t, log Z by its own enumeration
        h = dtm.biases[1] + dtm.gammas[1] * (2.0 * xt[b] - 1)
        law = exact_law(IsingModel(dtm.couplings(2).toarray(), h), 1.0)
        ref = np.log(law.p[state_index(2 * xp[b] - 1)])
        assert abs(ll[b] - ref) <= 64 * EPS * max(1.0, abs(ref))
    everything = exact_log_likelihood(dtm, 1, enumerate_states(9, (0, 1)), xt[0])  # normalised over all images
    assert abs(logsumexp(everything)) <= 64 * EPS


def test_exact_gradient_against_central_differences():
    # error bound of a central difference with step h: h^2 |f'''| / 6 + rounding ~ eps |f| / h per evaluation;
    # f''' is a third cumulant of +-1 statistics, |f'''| <= 2, and 32 ulps of |f| cover the rounding
    dtm, rng, h = _random_dtm(3, [0.2, 0.3], 0.5, 4), np.random.default_rng(5), 1e-5
    xp, xt = rng.integers(0, 2, (5, 9)), rng.integers(0, 2, (5, 9))
    for t in (1, 2):
        theta = np.concatenate([dtm.weights[t - 1], dtm.biases[t - 1]])
        f = lambda th: exact_log_likelihood(_with_step(dtm, t, th), t, xp, xt).mean()  # noqa: E731
        fd = _central_differences(f, theta, h)
        g = np.concatenate(exact_gradient(dtm, t, xp, xt))
        bound = h ** 2 / 3 + 32 * EPS * max(1.0, abs(f(theta))) / h
        assert np.abs(fd - g).max() <= bound, (np.abs(fd - g).max(), bound)
    # the power of the check: a gradient that ignores gamma (conditions on nothing) is off by far more
    wrong = np.concatenate(exact_gradient(DTM(3, dtm.edges, dtm.weights, dtm.biases, [0.5, 0.5]), 2, xp, xt))
    assert np.abs(fd - wrong).max() > 1e3 * bound


def _gradient_z(ghat, g_ref, dtm, t, xt_distinct, K):
    """z per component of a gradient from K chains per distinct pair, with the exact null variance."""
    states, p = exact_step_law(dtm, t, xt_distinct)
    phi = np.concatenate(step_statistics(dtm, states), 1)  # (2**n, m + n)
    var = p @ phi ** 2 - (p @ phi) ** 2  # (B0, m + n): each chain one draw of its conditional law
    se = np.sqrt(var.sum(0) / (len(xt_distinct) ** 2 * K))
    return (ghat - g_ref) / se, se


def test_sampled_gradient_is_calibrated_and_catches_a_wrong_temperature():
    # statistic: max_k |z_k| over the m + n components, z_k = (sampled - exact) / exact null standard error;
    # null: chains in equilibrium, z_k ~ N(0, 1) (CLT over K independent chains per pair); Bonferroni
    # critical value c for alpha = 1e-3. Sized so that a model at a 5 % different temperature is rejected
    # with probability >= 0.99, and a sampler that does not move (0 sweeps from all-zero images) fails.
    dtm, rng = _random_dtm(3, [0.2, 0.3], 0.5, 6), np.random.default_rng(7)
    B0, K, t = 4, 8000, 2
    xp, xt = rng.integers(0, 2, (B0, 9)), rng.integers(0, 2, (B0, 9))
    xp_all, xt_all = np.tile(xp, (K, 1)), np.tile(xt, (K, 1))
    start = np.zeros_like(xt_all)
    g = np.concatenate(exact_gradient(dtm, t, xp, xt))
    c = stats.norm.isf(ALPHA / (2 * g.size))
    est = log_likelihood_gradient(dtm, t, xp_all, xt_all, n_sweeps=60, rng=8, init=start)
    z, se = _gradient_z(np.concatenate([est.grad_w, est.grad_b]), g, dtm, t, xt, K)
    assert np.abs(z).max() < c, np.abs(z).max()
    hot = np.concatenate(exact_gradient(_scaled(dtm, 1.05), t, xp, xt))
    shift = np.abs(hot - g) / se
    assert stats.norm.sf(c - shift.max()) >= 0.99, shift.max()  # power against the 5 % temperature error
    assert np.abs((np.concatenate([est.grad_w, est.grad_b]) - hot) / se).max() > c
    idle = log_likelihood_gradient(dtm, t, xp_all, xt_all, n_sweeps=0, rng=8, init=start)
    assert np.abs(_gradient_z(np.concatenate([idle.grad_w, idle.grad_b]), g, dtm, t, xt, K)[0]).max() > c
    assert (idle.samples == 0).all() and est.samples.shape == xt_all.shape


def test_exact_penalty_value_against_ising_moments():
    dtm, rng = _random_dtm(3, [0.2, 0.3], 0.6, 9), np.random.default_rng(10)
    xt = rng.integers(0, 2, (3, 9))
    i, j = dtm.edges.T
    c2 = []
    for b in range(3):
        law = exact_law(IsingModel(dtm.couplings(1).toarray(), dtm.biases[0] + dtm.gammas[0] * (2.0 * xt[b] - 1)), 1.0)
        c2.append((law.corr[i, j] - law.mean[i] * law.mean[j]) ** 2)
    assert abs(exact_penalty(dtm, 1, xt).value - np.mean(c2)) <= 64 * EPS


def test_exact_penalty_gradient_against_central_differences():
    # P is a polynomial in moments of +-1 statistics; its third derivative is bounded by a few hundred
    # (measured below 20 here), and P <= 1, so h^2 * 100 + 32 eps / h bounds the central difference error
    dtm, rng, h = _random_dtm(3, [0.2, 0.3], 0.6, 11), np.random.default_rng(12), 1e-5
    xt = rng.integers(0, 2, (4, 9))
    for t in (1, 2):
        theta = np.concatenate([dtm.weights[t - 1], dtm.biases[t - 1]])
        fd = _central_differences(lambda th: exact_penalty(_with_step(dtm, t, th), t, xt).value, theta, h)
        P = exact_penalty(dtm, t, xt)
        bound = 100 * h ** 2 + 32 * EPS / h
        assert np.abs(fd - np.concatenate([P.grad_w, P.grad_b])).max() <= bound
        assert P.value > 1e-3 and np.abs(fd).max() > 1e3 * bound  # a non-trivial gradient


def _plug_in(S, edges):
    """The naive estimator (sample moments from all R draws plugged in): biased by O(1/R)."""
    i, j = edges.T
    s = 2.0 * S - 1  # (R, B, n)
    mean = s.mean(0)
    c = (s[..., i] * s[..., j]).mean(0) - mean[:, i] * mean[:, j]  # (B, m)
    G = ((s[..., i] - mean[:, i]) * (s[..., j] - mean[:, j]) * c).sum(-1)  # (R, B)
    phi = np.concatenate([s[..., i] * s[..., j], s], -1)
    cov = ((G - G.mean(0))[..., None] * (phi - phi.mean(0))).mean(0)  # (B, m + n)
    return np.concatenate([[np.mean(c ** 2)], 2 * cov.sum(0) / (S.shape[1] * len(edges))])


def test_correlation_penalty_is_unbiased_and_the_plug_in_estimator_is_not():
    # statistic: max over value and gradient components of |t|, t = (mean of 40 independent estimates, each
    # from 400 copies of 3 conditioning images with R = 6 draws) minus the exact value, over its standard
    # error; 39 degrees of freedom, Bonferroni at alpha = 1e-3. Draws are exact (inverse CDF over the
    # enumeration), so the null is exact up to the CLT. Sized for the bug such an estimator has: the plug-in
    # estimator (sample moments of all R draws, biased by O(1/R)) sits about 50 standard errors off, so it is
    # rejected with probability ~1; the shift is computed on the same draws and must exceed c + 3.
    dtm, rng = _random_dtm(3, [0.2, 0.3], 0.6, 13), np.random.default_rng(14)
    xt, K, copies, R = rng.integers(0, 2, (3, 9)), 40, 400, 6
    ests, naive = [], []
    for _ in range(K):
        draws = _exact_draws(dtm, 2, xt, R * copies, rng).reshape(R, copies * 3, 9)
        P = correlation_penalty(dtm, draws)
        ests.append(np.concatenate([[P.value], P.grad_w, P.grad_b]))
        naive.append(_plug_in(draws, dtm.edges))
    ests, naive = np.array(ests), np.array(naive)
    P = exact_penalty(dtm, 2, xt)
    exact = np.concatenate([[P.value], P.grad_w, P.grad_b])
    se = ests.std(0, ddof=1) / np.sqrt(K)
    c = stats.t.isf(ALPHA / (2 * exact.size), K - 1)
    assert np.abs((ests.mean(0) - exact) / se).max() < c
    shift = np.abs(naive.mean(0) - exact) / se  # the plug-in's bias in the unbiased estimator's standard errors
    assert shift.max() > c + 3, shift.max()
    assert np.abs((naive.mean(0) - exact) / (naive.std(0, ddof=1) / np.sqrt(K))).max() > c


def _sweep_kernel(dtm, classes):
    """Transition matrix of one chromatic heat-bath sweep over ``classes`` in order, by enumeration (2**n)."""
    S = enumerate_states(dtm.n, (-1, 1)).astype(float)
    J = dtm.couplings(1).toarray()
    P = np.eye(len(S))
    for cls in classes:  # update a colour class given the rest: independent heat-bath flips
        field = S @ J + dtm.biases[0]  # (2**n, n) local fields of each state
        keep = np.all(np.delete(S[:, None, :] == S[None, :, :], cls, axis=2), axis=2)  # others unchanged
        pr = np.prod(np.exp(S[None, :, cls] * field[:, cls][:, None, :]) / (2 * np.cosh(field[:, cls]))[:, None, :], -1)
        P = P @ (keep * pr)
    return S, P


def test_lag_one_autocorrelation_against_the_sweep_transition_matrix():
    # the 2x2 grid with 4 neighbours is a 4-cycle: every proper greedy colouring has the classes {0, 3} and
    # {1, 2}, and swapping columns maps one class onto the other, so the pixel mean of the lag-1
    # autocorrelation of a homogeneous model is the same whichever class the backend updates first
    z = DTM.zeros(2, [0.5], neighbourhood=4)
    dtm = DTM(2, z.edges, np.full((1, 4), 0.6), np.zeros((1, 4)), z.flip)
    S, P = _sweep_kernel(dtm, [[0, 3], [1, 2]])
    pi = exact_step_law(dtm, 1, [0, 0, 0, 0])[1][0]
    assert np.allclose(pi @ P, pi, atol=1e-14)
    exact = np.mean((pi[:, None] * P * (S[:, None, :] * S[None, :, :]).transpose(2, 0, 1)).sum((1, 2)))
    # statistic: mean of 20 batch estimates vs the exact value, t with 19 degrees of freedom; chains start in
    # equilibrium (exact draws) and run one sweep; R = 1 (pooled) and R = 4 (replicas) both estimate it
    rng = np.random.default_rng(15)
    before = _exact_draws(dtm, 1, np.zeros((1, 4), np.int8), 20 * 4 * 500, rng).reshape(-1, 4)
    after = sample_step(dtm, 1, np.zeros_like(before), n_sweeps=1, rng=16, init=before)
    for R in (1, 4):
        rho = _lag_one((2.0 * before - 1).reshape(20, R, -1, 4), (2.0 * after - 1).reshape(20, R, -1, 4))
        tstat = (rho.mean() - exact) / (rho.std(ddof=1) / np.sqrt(20))
        assert abs(tstat) < stats.t.isf(ALPHA / 2, 19), (rho.mean(), exact)
    assert exact > 0.1  # far from the value 0 of independent draws, which the estimator must not return
    assert _lag_one(np.ones((1, 3, 4)), np.ones((1, 3, 4))) == 0.0  # frozen pixels are left out
    s = np.random.default_rng(17).choice([-1.0, 1.0], (2, 50, 4))
    assert np.isclose(_lag_one(s, s), 1.0)  # a chain that does not move: autocorrelation 1


def _truth_samples(truth, N, rng):
    states, p = exact_step_law(truth, 1, np.zeros((1, truth.n), np.int8))
    return states, p[0], states[rng.choice(p.shape[1], size=N, p=p[0])]


def test_single_model_training_reaches_the_sample_size_bound():
    # the truth is a 2x2 grid Boltzmann machine, which the model family contains; the maximum-likelihood fit
    # to N draws has KL(truth || fit) ~ chi2_d / (2N) (d parameters), so the trained model must come within
    # its 0.999 quantile; the all-zero start is 300 times further
    truth, rng = _random_dtm(2, [0.5], 0.4, 3), np.random.default_rng(18)
    N, d = 2000, len(truth.edges) + 4
    states, p, x0 = _truth_samples(truth, N, rng)
    lr = np.r_[np.full(80, 0.05), np.geomspace(0.05, 0.002, 80)]
    dtm, hist = train_dtm(x0, [0.5], side=2, n_iterations=160, batch_size=1000, learning_rate=lr, n_sweeps=2, rng=19)
    q = exact_step_law(dtm, 1, np.zeros((1, 4), np.int8))[1][0]
    kl = float(np.sum(p * np.log(p / q)))
    bound = stats.chi2.isf(ALPHA, d) / (2 * N)
    assert kl < bound, (kl, bound)
    assert float(np.sum(p * np.log(p * 16))) > 100 * bound
    assert hist.pseudo_log_likelihood[-20:].mean() > hist.pseudo_log_likelihood[0].mean() + 0.1


def test_dtm_training_improves_held_out_conditional_likelihood():
    # statistic: per step, the mean over M held-out pairs of log p_trained - log p_zero (exact, by enumeration),
    # paired z-test at alpha = 1e-3 that it is positive; and the trained model recovers most of what the true
    # conditional of step 1 (exactly representable: the truth's own step) gains over the zero model
    truth, rng, M = _random_dtm(3, [0.5], 0.4, 3, neighbourhood=4), np.random.default_rng(20), 3000
    q = flip_schedule(2, 0.25)
    _, _, x0 = _truth_samples(truth, 2000, rng)
    _, _, xh = _truth_samples(truth, M, rng)
    path = forward_path(xh, q, rng=rng)
    lr = np.r_[np.full(60, 0.05), np.geomspace(0.05, 0.002, 60)]
    dtm, _ = train_dtm(x0, q, side=3, neighbourhood=4, n_iterations=120, batch_size=400, learning_rate=lr,
                       n_sweeps=2, rng=21)
    zero = DTM.zeros(3, q, neighbourhood=4)
    for t in (1, 2):
        gain = exact_log_likelihood(dtm, t, path[t - 1], path[t]) - exact_log_likelihood(zero, t, path[t - 1], path[t])
        assert gain.mean() / (gain.std(ddof=1) / np.sqrt(M)) > stats.norm.isf(ALPHA), t
    best = DTM(3, truth.edges, np.repeat(truth.weights, 2, 0), np.repeat(truth.biases, 2, 0), q)
    achievable = exact_log_likelihood(best, 1, path[0], path[1]) - exact_log_likelihood(zero, 1, path[0], path[1])
    gain = exact_log_likelihood(dtm, 1, path[0], path[1]) - exact_log_likelihood(zero, 1, path[0], path[1])
    assert gain.mean() > 0.9 * achievable.mean(), (gain.mean(), achievable.mean())


def test_the_penalty_lowers_the_correlations_it_measures():
    # strongly coupled data: training with the penalty must end with a smaller exact penalty than without
    z = DTM.zeros(2, [0.5])
    truth = DTM(2, z.edges, np.full((1, 6), 0.5), np.zeros((1, 4)), z.flip)
    _, _, x0 = _truth_samples(truth, 2000, np.random.default_rng(22))
    kw = dict(side=2, n_iterations=60, batch_size=100, learning_rate=0.05, n_sweeps=2, n_chains=6, rng=23)
    free, hist0 = train_dtm(x0, [0.5], penalty=0.0, **kw)
    tied, hist1 = train_dtm(x0, [0.5], penalty=3.0, **kw)
    p_free, p_tied = (exact_penalty(m, 1, np.zeros((1, 4), np.int8)).value for m in (free, tied))
    assert p_tied < 0.5 * p_free, (p_tied, p_free)
    assert hist0.penalty_value.shape == (60, 1) and (hist1.penalty_weight == 3.0).all()


def test_adaptive_weight_follows_its_rule_and_training_is_seeded():
    x0 = np.random.default_rng(24).integers(0, 2, (50, 9)).astype(np.int8)
    kw = dict(side=3, n_iterations=12, batch_size=8, learning_rate=0.2, n_sweeps=3, n_chains=6, penalty=0.5,
              target_autocorrelation=0.05, penalty_rate=0.25, rng=25)
    dtm, hist = train_dtm(x0, flip_schedule(2, 0.1), **kw)
    lam, rho = hist.penalty_weight, hist.autocorrelation
    assert (lam[0] == 0.5).all()
    np.testing.assert_allclose(lam[1:], lam[:-1] * np.where(rho[:-1] > 0.05, 1.25, 1 / 1.25), rtol=1e-15)
    again, hist2 = train_dtm(x0, flip_schedule(2, 0.1), **kw)  # same seed, same bits
    assert np.array_equal(dtm.weights, again.weights) and np.array_equal(hist.autocorrelation, hist2.autocorrelation)
    unit = NumpyBackend()
    train_dtm(x0, [0.5], side=3, n_iterations=2, batch_size=8, learning_rate=0.1, n_sweeps=3, rng=0, backend=unit)
    assert unit.ledger.sweeps == 2 * (3 + 1)  # per iteration: n_sweeps of the block model, 1 to measure lag 1


@pytest.mark.parametrize("chain_start", ["persistent", "conditioning", "data"])
def test_chain_starts_and_the_zero_iteration_limit(chain_start):
    x0 = np.random.default_rng(26).integers(0, 2, (20, 4)).astype(np.int8)
    dtm, hist = train_dtm(x0, [0.3, 0.4], side=2, n_iterations=3, batch_size=5, learning_rate=0.1, n_sweeps=1,
                          chain_start=chain_start, rng=27)
    assert hist.gradient_norm.shape == (3, 2) and np.isfinite(dtm.weights).all() and (dtm.weights != 0).any()
    dtm0, hist0 = train_dtm(x0, [0.3], side=2, n_iterations=0, batch_size=5, learning_rate=0.1, n_sweeps=1, rng=0)
    assert (dtm0.weights == 0).all() and hist0.autocorrelation.shape == (0, 1)
