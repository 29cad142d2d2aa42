"""thermoref.decoding laws, schedules and noisy heads against independent oracles.

Oracles: enumeration of subsets and sorting by hand (truncations), scipy.special.softmax, scipy.integrate.quad
and the closed form Phi(d / (sigma sqrt 2)) (Gaussian-argmax law), matrix powers and detailed balance
(annealing chain). Stochastic tests: Pearson chi-square on bins with expected count >= 5, null chi-square with
(bins - 1) dof, alpha = 1e-3 as if the seed were random; each is paired with a power check that the same
statistic rejects the law at a 5 % wrong inverse temperature (or the wrong law) with the same draws.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, softmax

from thermoref.backend import NumpyBackend, dac_quantize
from thermoref.decoding.laws import decoding_law, decoding_logits, decoding_rule, sample_decoding
from thermoref.decoding.noise import best_gaussian_sigma, dac_head_error, gaussian_argmax_law, noisy_argmax
from thermoref.decoding.schedules import annealed_law, beta_schedule, metropolis_kernel, sample_annealed

ALPHA = 1e-3
L8 = np.array([1.3, -0.4, 2.1, 0.2, -1.5, 0.9, 1.7, -0.8])


def chi2_pvalue(draws: np.ndarray, p: np.ndarray) -> float:
    """Pearson chi-square p-value of integer draws against law p (bins with expected < 5 pooled)."""
    n = draws.size
    counts = np.bincount(draws.ravel(), minlength=p.size).astype(float)
    if (counts[p == 0] > 0).any():
        return 0.0
    exp_ = n * p
    big = exp_ >= 5
    obs = np.append(counts[big], counts[~big].sum())
    ex = np.append(exp_[big], exp_[~big].sum())
    keep = ex > 0
    obs, ex = obs[keep], ex[keep]
    return float(stats.chi2.sf(((obs - ex) ** 2 / ex).sum(), obs.size - 1))


def masked_softmax(beta: float, l: np.ndarray) -> np.ndarray:
    """softmax(beta * l) with -inf entries masked (0 * -inf kept out of the arithmetic)."""
    return softmax(np.where(np.isinf(l), -np.inf, beta * np.where(np.isinf(l), 0.0, l)))


def check_law_and_power(draws: np.ndarray, p: np.ndarray, p_wrong: np.ndarray) -> None:
    assert chi2_pvalue(draws, p) > ALPHA
    assert chi2_pvalue(draws, p_wrong) < ALPHA, "power: a 5 % temperature error must be rejected"


# --------------------------------------------------------------------------------------------------------
# laws, exactly
# --------------------------------------------------------------------------------------------------------

def _oracle_top_p(p: np.ndarray, top_p: float) -> set[int]:
    """Smallest subset (by enumeration) with mass >= top_p; among equal sizes the heaviest."""
    best = None
    for m in range(1, p.size + 1):
        for S in itertools.combinations(range(p.size), m):
            mass = p[list(S)].sum()
            if mass >= top_p and (best is None or mass > p[list(best)].sum()):
                best = S
        if best is not None:
            return set(best)
    raise AssertionError


@pytest.mark.parametrize("seed", range(12))
def test_truncations_against_enumeration_and_sorting(seed):
    rng = np.random.default_rng(seed)
    V = 7
    l = rng.normal(size=V) * 1.5
    beta = rng.uniform(0.3, 2.0)
    p = softmax(beta * l)
    k = int(rng.integers(1, V + 1))
    top_p = rng.uniform(0.2, 0.95)
    min_p = rng.uniform(0.01, 0.6)
    prefix = np.cumsum(np.sort(p)[::-1])
    assert np.abs(prefix - top_p).min() > 1e-9 and np.abs(p / p.max() - min_p).min() > 1e-9
    keep_k = set(sorted(range(V), key=lambda i: -l[i])[:k])  # sort by hand
    keep_p = _oracle_top_p(p, top_p)
    keep_m = {i for i in range(V) if p[i] >= min_p * p.max()}
    for kw, keep in ((dict(top_k=k), keep_k), (dict(top_p=top_p), keep_p), (dict(min_p=min_p), keep_m)):
        q = decoding_law(l, beta=beta, **kw)
        want = np.array([p[i] if i in keep else 0.0 for i in range(V)])
        np.testing.assert_allclose(q, want / want.sum(), rtol=1e-13, atol=1e-16)
    # composition in the stated order: top-k, then top-p on the renormalized law, then min-p
    pk = np.array([p[i] if i in keep_k else 0.0 for i in range(V)])
    pk /= pk.sum()
    prefix_k = np.cumsum(np.sort(pk)[::-1])
    if np.abs(prefix_k - top_p).min() > 1e-9:
        keep_kp = _oracle_top_p(pk, top_p)
        keep_all = {i for i in keep_kp if p[i] >= min_p * p.max()}
        want = np.array([p[i] if i in keep_all else 0.0 for i in range(V)])
        q = decoding_law(l, beta=beta, top_k=k, top_p=top_p, min_p=min_p)
        np.testing.assert_allclose(q, want / want.sum(), rtol=1e-13, atol=1e-16)


def test_ties_are_kept_together_and_masks_never_return():
    l = np.array([1.0, 1.0, 0.0, 0.0, -np.inf])
    np.testing.assert_array_equal(decoding_law(l, top_k=1), [0.5, 0.5, 0, 0, 0])
    e = np.e
    np.testing.assert_allclose(decoding_law(l, top_k=3), np.array([e, e, 1, 1, 0]) / (2 * e + 2), rtol=1e-15)  # tie
    np.testing.assert_array_equal(decoding_law(l, top_p=0.1), [0.5, 0.5, 0, 0, 0])  # tied nucleus grows
    np.testing.assert_array_equal(decoding_law(l, top_k=10, top_p=1.0, min_p=0.0), softmax(np.where(
        np.isinf(l), -np.inf, l)))
    np.testing.assert_array_equal(decoding_law(l, min_p=1.0), [0.5, 0.5, 0, 0, 0])


def test_temperature_limits_and_penalty_as_energy():
    l = np.array([0.5, 2.0, 2.0, -1.0, -np.inf])
    for beta in (0.0, 0.37, 1.0, 3.0):
        np.testing.assert_allclose(decoding_law(l, beta=beta), masked_softmax(beta, l),
                                   rtol=1e-14, atol=1e-300)
    np.testing.assert_array_equal(decoding_law(l, beta=np.inf), [0, 0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(decoding_law(l, beta=1e308), [0, 0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(decoding_law(l, beta=0.0), [0.25, 0.25, 0.25, 0.25, 0])
    c = np.array([0, 3, 1, 0, 2])
    lam, beta = 0.4, 1.3
    want = np.exp(beta * (l - lam * c))  # E_i + lam c_i
    np.testing.assert_allclose(decoding_law(l, beta=beta, counts=c, repetition_penalty=lam), want / want.sum(),
                               rtol=1e-14)
    # shift invariance (the CTRL divide/multiply convention does not have it)
    np.testing.assert_allclose(decoding_law(l + 5.0, beta=beta, counts=c, repetition_penalty=lam),
                               want / want.sum(), rtol=1e-13)
    x = decoding_logits(l, beta=beta, counts=c, repetition_penalty=lam)
    assert x.max() == 0.0 and np.isneginf(x[4])


# --------------------------------------------------------------------------------------------------------
# samplers, calibrated
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("route", ["default", "backend", "blocks"])
def test_sample_decoding_routes(route):
    kw = dict(top_k=6, top_p=0.97, min_p=0.02, counts=np.array([0, 1, 2, 0, 0, 1, 0, 0]), repetition_penalty=0.3)
    extra = {"default": {}, "backend": dict(backend=NumpyBackend()), "blocks": dict(block_size=3)}[route]
    draws = sample_decoding(L8, 60_000, rng=11, beta=1.2, **kw, **extra)
    check_law_and_power(draws, decoding_law(L8, beta=1.2, **kw), decoding_law(L8, beta=1.2 * 1.05, **kw))


def test_schedules_exact_endpoints_and_shapes():
    for kind, b0, b1 in (("linear", 0.1, 2.3), ("geometric", 0.1, 2.3), ("cosine", 0.7, 0.1), ("constant", 0.3, 0.3)):
        for n in (1, 2, 7):
            s = beta_schedule(kind, n, b0, b1)
            assert s.shape == (n,) and s[-1] == b1 and (n == 1 or s[0] == b0)
    t = np.linspace(0, 1, 9)
    np.testing.assert_allclose(beta_schedule("geometric", 9, 0.1, 2.3), 0.1 * 23.0 ** t, rtol=1e-14)
    np.testing.assert_allclose(beta_schedule("cosine", 9, 0.7, 0.1), 0.1 + 0.6 * np.cos(np.pi * t / 2) ** 2,
                               rtol=1e-14)
    np.testing.assert_allclose(beta_schedule("linear", 9, 0.1, 2.3), np.interp(t, [0, 1], [0.1, 2.3]), rtol=1e-14)


def test_metropolis_kernel_balance_and_annealed_law():
    l = np.array([0.3, -1.0, 1.4, 0.0, -np.inf])
    for beta in (0.0, 0.6, 2.0):
        P = metropolis_kernel(l, beta)
        p = masked_softmax(beta, l)
        np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-15)
        np.testing.assert_allclose(p[:, None] * P, (p[:, None] * P).T, atol=1e-16)  # detailed balance
        np.testing.assert_allclose(p @ P, p, atol=1e-15)
    # V = 2 by hand: from 0 to 1 with probability (1/2) min(1, e^{beta d})
    np.testing.assert_allclose(metropolis_kernel([0.0, 1.0], 2.0), [[1 - 0.5, 0.5], [0.5 * np.exp(-2), 1 - 0.5 * np.exp(-2)]])
    betas = beta_schedule("linear", 5, 0.0, 1.5)
    want = np.eye(5)[1]
    for b in betas:
        want = want @ metropolis_kernel(l, b)
    np.testing.assert_allclose(annealed_law(l, betas, start=1), want, atol=1e-15)
    held = np.concatenate([betas, np.full(400, 1.5)])
    target = masked_softmax(1.5, l)
    np.testing.assert_allclose(annealed_law(l, held, start=1), target, atol=1e-12)  # converges to softmax
    np.testing.assert_array_equal(annealed_law(l, [], start=3), np.eye(5)[3])  # zero sweeps: the start


def test_sample_annealed_far_from_equilibrium():
    l = np.array([0.0, 1.0, 2.5, 0.5, 1.8, -1.0])
    betas = beta_schedule("geometric", 8, 0.1, 1.0)
    start = int(np.argmin(l))  # the least probable token: far from equilibrium
    draws = sample_annealed(np.tile(l, (4, 1)), betas, 15_000, start=start, rng=5)  # 60 000 independent chains
    law = annealed_law(l, betas, start=start)
    assert 0.5 * np.abs(law - softmax(l)).sum() > 0.05  # not yet at equilibrium
    check_law_and_power(draws, law, annealed_law(l, betas * 1.05, start=start))
    assert chi2_pvalue(draws, softmax(l)) < ALPHA
    # power against a sampler that returns its input: every chain left at the start is rejected
    assert chi2_pvalue(np.full_like(draws, start), law) < ALPHA


def test_decoding_rule_in_generate_and_by_step():
    from thermoref.transformer import TransformerConfig, generate, init_params

    cfg = TransformerConfig(vocab_size=8, context=6, d_model=8, n_heads=2, n_layers=1)
    params = init_params(cfg, rng=0)
    greedy = generate(params, [[1, 2], [3, 4]], 4, cfg)
    rule = decoding_rule(schedule=np.inf)
    np.testing.assert_array_equal(generate(params, [[1, 2], [3, 4]], 4, cfg, rng=0, next_token=rule), greedy)
    sched = beta_schedule("linear", 3, 0.5, 2.0)
    rule = decoding_rule(schedule=sched, top_k=6, repetition_penalty=0.7)
    tokens = np.tile([2, 2, 5, 0], (30_000, 1))
    logits = np.tile(L8, (30_000, 1))
    c = np.bincount([2, 2, 5, 0], minlength=8)
    for step, beta in ((1, 1.25), (9, 2.0)):  # a later step holds the last value
        draws = rule(logits, step, tokens, np.random.default_rng(step))
        check_law_and_power(draws, decoding_law(L8, beta=beta, top_k=6, counts=c, repetition_penalty=0.7),
                            decoding_law(L8, beta=beta * 1.05, top_k=6, counts=c, repetition_penalty=0.7))
    relax = beta_schedule("linear", 4, 0.2, 1.0)
    rule = decoding_rule(schedule=1.0, top_k=5, relax=relax)
    draws = rule(np.tile(L8, (200_000, 1)), 0, np.zeros((200_000, 1), int), np.random.default_rng(3))
    x = decoding_logits(L8, top_k=5)
    check_law_and_power(draws, annealed_law(x, relax, start=int(np.argmax(L8))),
                        annealed_law(x, relax * 1.05, start=int(np.argmax(L8))))


# --------------------------------------------------------------------------------------------------------
# noise on logits
# --------------------------------------------------------------------------------------------------------

def test_gaussian_argmax_law_against_quad_and_closed_form():
    from scipy.stats import norm

    rng = np.random.default_rng(2)
    for sigma in (0.05, 0.4, 1.0, 7.0):
        l = rng.normal(size=4) * 2
        want = [integrate.quad(lambda z, i=i: norm.pdf(z) * np.prod(
            [norm.cdf((l[i] - l[j]) / sigma + z) for j in range(4) if j != i]), -np.inf, np.inf,
            epsabs=1e-14, epsrel=1e-12)[0] for i in range(4)]
        np.testing.assert_allclose(gaussian_argmax_law(l, sigma), want, atol=1e-12)
    for d, sigma in ((0.3, 0.2), (-2.0, 1.5), (5.0, 0.5)):
        np.testing.assert_allclose(gaussian_argmax_law([0.0, d], sigma)[1], norm.cdf(d / (sigma * np.sqrt(2))),
                                   rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(gaussian_argmax_law([1.0, 2.0, 2.0, -np.inf], 0.0), [0, 0.5, 0.5, 0], atol=1e-15)
    np.testing.assert_allclose(gaussian_argmax_law([1.0, 2.0, 2.0, -np.inf], 5e-324), [0, 0.5, 0.5, 0], atol=1e-15)
    np.testing.assert_allclose(gaussian_argmax_law([1.0, 2.0, 0.0, -np.inf], np.inf), [1 / 3, 1 / 3, 1 / 3, 0], rtol=1e-15)


def test_gumbel_argmax_is_softmax_gaussian_is_not():
    l = L8[:6]
    draws = noisy_argmax(l, 0.8, 80_000, noise="gumbel", rng=1)
    check_law_and_power(draws, softmax(l / 0.8), softmax(l / 0.8 * 1.05))
    sigma = 0.8
    q = gaussian_argmax_law(l, sigma)
    draws = noisy_argmax(np.tile(l, (2, 1)), sigma, 100_000, noise="gaussian", rng=2)
    s_best, _ = best_gaussian_sigma(l, 1.0)
    beta_best = 1.0 / (sigma / s_best)  # the softmax that best matches this sigma
    check_law_and_power(draws, q, gaussian_argmax_law(l, sigma * 1.05))
    assert chi2_pvalue(draws, softmax(beta_best * l)) < ALPHA  # no temperature makes it a softmax


def test_best_gaussian_sigma_two_tokens_closed_form():
    from scipy.stats import norm

    for d, beta in ((0.5, 1.0), (3.0, 0.7)):
        sigma, kl = best_gaussian_sigma([0.0, d], beta)
        exact = d / (np.sqrt(2) * norm.ppf(expit(beta * d)))  # the sigma that reproduces p exactly
        assert abs(sigma - exact) < 1e-5 * exact and kl < 1e-10
    sigma, _ = best_gaussian_sigma([0.0, 1e-3], 2.0)
    assert abs(sigma * 2.0 - 2 / np.sqrt(np.pi)) < 1e-4  # the slope match at small gaps
    assert best_gaussian_sigma(L8, 0.0) == (np.inf, 0.0)


def test_dac_head_error_against_direct_computation():
    rng = np.random.default_rng(4)
    l = rng.normal(size=(20, 9)) * 2
    F = float(np.abs(l).max())
    prev = np.inf
    for bits in (3, 5, 8, 12):
        e = dac_head_error(l, bits, F, beta=1.3)
        lp = np.log(softmax(1.3 * l, axis=-1))
        lq = np.log(softmax(1.3 * dac_quantize(l, bits, F), axis=-1))
        np.testing.assert_allclose(e.max_log_ratio, np.abs(lq - lp).max(axis=-1), rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(e.kl, np.sum(np.exp(lp) * (lp - lq), axis=-1), rtol=1e-8, atol=1e-16)
        assert (e.max_log_ratio <= e.log_ratio_bound * (1 + 1e-12)).all() and (e.kl <= e.kl_bound).all()
        assert (e.log_ratio_bound <= 1.3 * e.step * (1 + 1e-12)).all()  # inside the range: beta * step
        assert e.kl.max() < prev
        prev = e.kl.max()



def test_dac_head_error_keeps_masked_tokens_masked():
    """A -inf token stays masked: the error equals that of the row without it (it was refused before)."""
    l = np.array([[0.3, -np.inf, 2.0, -1.1], [1.0, 0.5, -np.inf, -np.inf]])
    e = dac_head_error(l, 6, 3.0, beta=0.8)
    for row, got in zip(l, (0, 1)):
        alone = dac_head_error(row[np.isfinite(row)], 6, 3.0, beta=0.8)
        assert e.max_log_ratio[got] == alone.max_log_ratio and e.kl[got] == alone.kl
        assert e.log_ratio_bound[got] == alone.log_ratio_bound and e.kl_bound[got] == alone.kl_bound

# --------------------------------------------------------------------------------------------------------
# bad input, named
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: decoding_law(L8, top_p=0.0), "top_p"),
    (lambda: decoding_law(L8, min_p=1.5), "min_p"),
    (lambda: decoding_law(L8, top_k=0), "top_k"),
    (lambda: decoding_law(L8, beta=-1.0), "beta"),
    (lambda: decoding_law(L8, counts=-np.ones(8), repetition_penalty=1.0), "counts"),
    (lambda: decoding_law(L8, repetition_penalty=1.0), "counts"),
    (lambda: decoding_law(L8, counts=np.ones(3), repetition_penalty=1.0), "counts"),
    (lambda: decoding_law([0.0, 1.0], counts=[1e308, 0.0], repetition_penalty=1e10), "repetition_penalty"),
    (lambda: sample_decoding(L8, rng=None), "rng"),
    (lambda: sample_decoding(L8, rng=0, backend=object()), "backend"),
    (lambda: beta_schedule("exponential", 3, 1.0, 2.0), "kind"),
    (lambda: beta_schedule("geometric", 3, 0.0, 2.0), "beta_start"),
    (lambda: beta_schedule("constant", 3, 1.0, 2.0), "beta_end"),
    (lambda: annealed_law([0.0, -np.inf], [1.0], start=1), "start"),
    (lambda: sample_annealed([0.0, 1.0], [1.0], start=2, rng=0), "start"),
    (lambda: gaussian_argmax_law(L8, -1.0), "sigma"),
    (lambda: noisy_argmax(L8, 1.0, noise="cauchy", rng=0), "noise"),
    (lambda: noisy_argmax(L8, 0.0, rng=0), "scale"),
    (lambda: best_gaussian_sigma(L8, criterion="js"), "criterion"),
    (lambda: dac_head_error(L8, 1, 3.0), "bits"),
    (lambda: decoding_rule(relax=[0.5, 2.0]), "relax"),
    (lambda: decoding_rule(top_p=2.0), "top_p"),
])
def test_bad_input_is_named(call, name):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert str(err.value).startswith(name + ":"), str(err.value)
