"""thermoref.decoding.negatives against independent oracles.

Oracles: brute-force enumeration in plain Python (itertools over ordered draws, products of the successive-
sampling probabilities), scipy.special.softmax/logsumexp, central finite differences, and
thermoref.transformer.loss_and_grad (the public cross-entropy). Stochastic tests: Pearson chi-square
(thermoref.testing.chi_square_test, bins with expected count >= 5 pooled, null chi-square with bins - 1 dof,
alpha = 1e-3 as if the seed were random), each paired with a power check: the same draws must reject the law
at a 5 % wrong inverse temperature; z-tests on Monte Carlo means with the sample standard deviation.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from thermoref.decoding.negatives import (
    contrastive_finetune,
    contrastive_loss_and_grad,
    expected_calibration_error,
    negative_law,
    sample_negatives,
    sampled_softmax_loss,
    sampled_softmax_moments,
)
from thermoref.testing import chi_square_sample_size, chi_square_test, z_test_mean
from thermoref.transformer import AdamW, cross_entropy, forward, load_pretrained, loss_and_grad, make_batch

ALPHA = 1e-3
L6 = np.array([1.0, -0.5, 2.0, 0.3, -1.0, 0.7])


def draw_law(logits, target, beta=1.0, weights=None):
    """One draw's law by hand: the proposal renormalised without the target."""
    w = softmax(beta * np.asarray(logits)) if weights is None else np.asarray(weights, float)
    w = w.copy()
    w[target] = 0.0
    return w / w.sum()


def ordered_law(q, K, replace):
    """{ordered draw tuple: probability} by plain-Python successive sampling."""
    out = {}
    it = itertools.product(range(len(q)), repeat=K) if replace else itertools.permutations(range(len(q)), K)
    for seq in it:
        pr, rest = 1.0, 1.0
        for i in seq:
            if q[i] == 0:
                pr = 0.0
                break
            pr *= q[i] / (1.0 if replace else rest)
            if not replace:
                rest = sum(q[j] for j in range(len(q)) if j not in seq[:seq.index(i) + 1])
        out[seq] = pr
    return out


def oracle_counts(q, K, replace):
    law = ordered_law(q, K, replace)
    ec, inc = np.zeros(len(q)), np.zeros(len(q))
    for seq, pr in law.items():
        for v in seq:
            ec[v] += pr
        for v in set(seq):
            inc[v] += pr
    return ec, inc


def oracle_ss_loss(logits, y, seq, logc):
    terms = [logits[y]] + [logits[n] - logc[n] for n in seq]
    return -logits[y] + logsumexp(terms)


# ---------------------------------------------------------------------------------------------- the law
@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("K", [1, 2, 3])
@pytest.mark.parametrize("kind", ["model", "beta", "uniform", "weights", "masked"])
def test_negative_law_matches_bruteforce(replace, K, kind):
    logits, target, beta, proposal, weights = L6.copy(), 2, 1.0, None, None
    if kind == "beta":
        beta = 0.6
    elif kind == "uniform":
        proposal = weights = np.ones(6)
        proposal = "uniform"
    elif kind == "weights":
        proposal = weights = np.array([5.0, 1.0, 3.0, 0.0, 2.0, 4.0])  # a unigram table with a zero
    elif kind == "masked":
        logits[4] = -np.inf
    q = draw_law(np.where(np.isinf(logits), -np.inf, logits), target, beta, weights)
    law = negative_law(logits, target, K, beta=beta, replace=replace, proposal=proposal)
    ec, inc = oracle_counts(q, K, replace)
    np.testing.assert_allclose(law.draw, q, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(law.expected_count, ec, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(law.inclusion, inc, rtol=1e-12, atol=1e-15)
    assert law.expected_count[target] == 0 and law.inclusion[target] == 0


def test_negative_law_batched_rows_are_independent_laws():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 3, 5))
    target = np.array([[0, 4, 2], [1, 1, 3]])
    law = negative_law(logits, target, 2, replace=False)
    for i, j in itertools.product(range(2), range(3)):
        ec, _ = oracle_counts(draw_law(logits[i, j], target[i, j]), 2, False)
        np.testing.assert_allclose(law.expected_count[i, j], ec, rtol=1e-12, atol=1e-15)


def test_inclusion_without_replacement_is_not_proportional_to_the_law():
    law = negative_law(L6, 2, 3, replace=False)
    live = law.draw > 0
    ratio = law.inclusion[live] / law.draw[live]
    assert ratio.max() / ratio.min() > 1.5  # light categories are over-included, heavy ones saturate
    assert np.all(law.inclusion <= 1.0) and math.isclose(law.inclusion.sum(), 3.0, rel_tol=1e-13)


# ---------------------------------------------------------------------------------------------- the sampler
def test_sampler_with_replacement_chi_square_and_power():
    q, q_wrong = draw_law(L6, 2), draw_law(L6, 2, beta=1.05)
    n = chi_square_sample_size(q, q_wrong, power=0.99)
    K = 4
    neg = sample_negatives(L6, 2, K, size=-(-n // K), rng=11)  # i.i.d. draws: all K columns count
    counts = np.bincount(neg.ravel(), minlength=6)
    assert counts[2] == 0
    assert chi_square_test(counts, q).passed
    assert not chi_square_test(counts, q_wrong).passed, "power: a 5 % temperature error must be rejected"


@pytest.mark.parametrize("proposal", [None, "uniform"])
def test_sampler_without_replacement_joint_law_chi_square_and_power(proposal):
    """The joint law of the ordered pair (n_1, n_2) over all 20 pairs against successive sampling."""
    w = None if proposal is None else np.ones(6)
    seqs = list(itertools.permutations([0, 1, 3, 4, 5], 2))
    p = np.array([ordered_law(draw_law(L6, 2, weights=w), 2, False)[s] for s in seqs])
    if proposal is None:
        p_wrong = np.array([ordered_law(draw_law(L6, 2, beta=1.05), 2, False)[s] for s in seqs])
        n = chi_square_sample_size(p, p_wrong, power=0.99)
    else:  # the bug sized for: inclusion proportional to q (with-replacement pairs conditioned on distinct)
        p_wrong = np.array([ordered_law(np.array([0.3, 0.1, 0, 0.2, 0.2, 0.2]), 2, False)[s] for s in seqs])
        n = chi_square_sample_size(p, p_wrong, power=0.99)
    neg = sample_negatives(L6, 2, 2, size=n, replace=False, proposal=proposal, rng=5)
    assert (neg != 2).all() and (neg[:, 0] != neg[:, 1]).all()
    code = {s: i for i, s in enumerate(seqs)}
    counts = np.bincount([code[tuple(r)] for r in neg.tolist()], minlength=len(seqs))
    assert chi_square_test(counts, p).passed
    assert not chi_square_test(counts, p_wrong).passed, "power: the sized-for bug must be rejected"


def test_sampler_shapes_and_same_seed_same_bits():
    logits = np.random.default_rng(0).normal(size=(3, 7))
    a = sample_negatives(logits, [0, 1, 2], 3, size=4, replace=False, rng=9)
    b = sample_negatives(logits, [0, 1, 2], 3, size=4, replace=False, rng=9)
    assert a.shape == (3, 4, 3) and np.array_equal(a, b)
    assert sample_negatives(logits, [0, 1, 2], 3, rng=1).shape == (3, 3)
    assert not (a == np.array([0, 1, 2])[:, None, None]).any()


def test_sampler_refuses_too_few_categories():
    with pytest.raises(ValueError, match="^K:"):
        sample_negatives([0.0, 1.0, -np.inf], 0, 2, replace=False, rng=0)


# ---------------------------------------------------------------------------------------------- the loss
def test_sampled_softmax_loss_against_oracle_and_finite_differences():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 6))
    target = np.array([0, 3, 5, 2])
    neg = np.array([[1, 1, 4], [0, 2, 5], [1, 2, 3], [0, 0, 0]])  # duplicates count once per occurrence
    logc = rng.normal(size=(4, 3))
    loss, g = sampled_softmax_loss(logits, target, neg, logc)
    h = 1e-6
    for r in range(4):
        c = dict(zip(neg[r], logc[r]))  # each id's correction (duplicates share one here)
        lc = np.array([c.get(v, 0.0) for v in range(6)])
        row_c = np.array([lc[n] for n in neg[r]])
        _, g_dup = sampled_softmax_loss(logits[r], target[r], neg[r], row_c)
        assert math.isclose(float(sampled_softmax_loss(logits[r], target[r], neg[r], row_c)[0]),
                            oracle_ss_loss(logits[r], target[r], neg[r], lc), rel_tol=1e-13)
        for v in range(6):  # central differences of the oracle
            e = np.zeros(6)
            e[v] = h
            fd = (oracle_ss_loss(logits[r] + e, target[r], neg[r], lc)
                  - oracle_ss_loss(logits[r] - e, target[r], neg[r], lc)) / (2 * h)
            assert abs(fd - g_dup[v]) < 1e-8
    assert np.allclose(g.sum(axis=-1), 0.0, atol=1e-15)  # r is a law: r - e_y sums to 0


def test_all_distinct_negatives_uncorrected_is_the_cross_entropy():
    loss, g = sampled_softmax_loss(L6, 2, [0, 1, 3, 4, 5])
    assert math.isclose(float(loss), -np.log(softmax(L6)[2]), rel_tol=1e-14)
    e = np.zeros(6)
    e[2] = 1
    np.testing.assert_allclose(g, softmax(L6) - e, atol=1e-15)


def test_model_proposal_corrected_loss_is_exact_for_every_draw():
    neg = sample_negatives(L6, 2, 3, size=50, rng=4)  # (50, 3)
    ec = negative_law(L6, 2, 3).expected_count
    loss, _ = sampled_softmax_loss(np.broadcast_to(L6, (50, 6)), np.full(50, 2), neg, np.log(ec[neg]))
    np.testing.assert_allclose(loss, -np.log(softmax(L6)[2]), rtol=1e-14)


# ---------------------------------------------------------------------------------------------- exact moments
@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("corrected", [True, False])
@pytest.mark.parametrize("proposal", [None, "uniform"])
def test_moments_match_bruteforce_expectation(replace, corrected, proposal):
    K, y = 3, 2
    w = None if proposal is None else np.ones(6)
    q = draw_law(L6, y, weights=w)
    ec, inc = oracle_counts(q, K, replace)
    lc = np.log(np.where(ec > 0, ec, 1.0)) if corrected else np.zeros(6)
    mean, sq, grad = 0.0, 0.0, np.zeros(6)
    for seq, pr in ordered_law(q, K, replace).items():
        if pr == 0:
            continue
        f = oracle_ss_loss(L6, y, seq, lc)
        mean += pr * f
        sq += pr * f * f
        terms = np.array([L6[y]] + [L6[n] - lc[n] for n in seq])
        r = np.exp(terms - logsumexp(terms))
        gr = np.zeros(6)
        gr[y] += r[0] - 1.0
        for n, rn in zip(seq, r[1:]):
            gr[n] += rn
        grad += pr * gr
    m = sampled_softmax_moments(L6, y, K, replace=replace, proposal=proposal, corrected=corrected)
    assert math.isclose(float(m.mean_loss), mean, rel_tol=1e-12)
    assert math.isclose(float(m.loss_std), math.sqrt(max(sq - mean * mean, 0.0)), rel_tol=1e-6, abs_tol=1e-7)
    np.testing.assert_allclose(m.mean_grad, grad, rtol=1e-11, atol=1e-14)
    assert math.isclose(float(m.exact_loss), -np.log(softmax(L6)[y]), rel_tol=1e-14)


def test_moments_against_monte_carlo():
    """z-test of the mean sampled loss (uniform proposal, corrected) over 20000 independent sets."""
    m = sampled_softmax_moments(L6, 2, 3, proposal="uniform")
    neg = sample_negatives(L6, 2, 3, size=20000, proposal="uniform", rng=8)
    ec = negative_law(L6, 2, 3, proposal="uniform").expected_count
    loss, _ = sampled_softmax_loss(np.broadcast_to(L6, (20000, 6)), np.full(20000, 2), neg, np.log(ec[neg]))
    assert z_test_mean(loss, float(m.mean_loss), float(m.loss_std) ** 2).passed
    # power: the bias is 60 standard errors, so the exact cross-entropy as the mean is rejected
    assert not z_test_mean(loss, float(m.exact_loss), float(m.loss_std) ** 2).passed


def test_log_q_correction_bias_is_order_one_over_K_and_uncorrected_is_not_consistent():
    Ks = [4, 8, 16, 32]
    corr = [float((lambda m: m.mean_loss - m.exact_loss)(sampled_softmax_moments(L6[:4], 2, K, proposal="uniform")))
            for K in Ks]
    raw = [float((lambda m: m.mean_loss - m.exact_loss)(
        sampled_softmax_moments(L6[:4], 2, K, proposal="uniform", corrected=False))) for K in Ks]
    assert all(c < 0 for c in corr)  # Jensen: biased low at every finite K
    KB = np.array(Ks) * np.array(corr)
    assert np.all(np.abs(KB / KB[-1] - 1) < 0.15)  # K * bias tends to a constant: O(1/K)
    assert abs(corr[-1]) < 2e-3
    assert raw[-1] > 1.0 and raw[-1] > raw[0]  # uncorrected: Z-hat grows like K, the bias grows


def test_model_proposal_corrected_gradient_is_unbiased():
    m = sampled_softmax_moments(L6, 4, 3, beta=1.0)
    np.testing.assert_allclose(m.mean_grad, m.exact_grad, atol=1e-15)
    assert float(m.loss_std) < 1e-14


# ---------------------------------------------------------------------------------------------- ECE
def test_ece_hand_computed_example():
    probs = np.array([[0.85, 0.15], [0.38, 0.62], [0.71, 0.29], [0.45, 0.55], [0.97, 0.03]])
    labels = np.array([0, 0, 0, 1, 0])
    # confidences .85 .62 .71 .55 .97, correct 1 0 1 1 1. M = 2: all in (0.5, 1]: |4/5 - 3.70/5| = 0.06.
    assert math.isclose(expected_calibration_error(probs, labels, n_bins=2), 0.06, rel_tol=1e-12)
    # M = 5: (0.4,0.6]: {.55 ok}: |1-.55| = .45; (0.6,0.8]: {.62 wrong, .71 ok}: |1-1.33| = .33;
    # (0.8,1]: {.85, .97 ok}: |2-1.82| = .18. ECE = (.45 + .33 + .18) / 5 = 0.192.
    assert math.isclose(expected_calibration_error(probs, labels, n_bins=5), 0.192, rel_tol=1e-12)


def test_ece_always_right_is_one_minus_confidence():
    probs = np.tile([0.1, 0.7, 0.2], (10, 1))
    assert math.isclose(expected_calibration_error(probs, np.ones(10, int)), 0.3, rel_tol=1e-12)


# ---------------------------------------------------------------------------------------------- the transformer
@pytest.fixture(scope="module")
def copy_model():
    return load_pretrained("copy")


def test_lam_zero_is_the_cross_entropy_gradient(copy_model):
    cfg, params = copy_model
    b = make_batch("copy", 4, rng=0)
    loss, grads = contrastive_loss_and_grad(params, b.tokens, b.targets, cfg, K=3, lam=0.0, rng=0, mask=b.mask)
    ref_loss, ref = loss_and_grad(params, b.tokens, b.targets, cfg, mask=b.mask)
    assert math.isclose(loss, ref_loss, rel_tol=1e-12)
    for k in ref:
        np.testing.assert_allclose(grads[k], ref[k], rtol=1e-9, atol=1e-13)


def test_auxiliary_gradient_against_finite_differences(copy_model):
    cfg, params = copy_model
    b = make_batch("copy", 2, rng=1)
    K, lam = 3, 0.7
    loss, grads = contrastive_loss_and_grad(params, b.tokens, b.targets, cfg, K=K, lam=lam, rng=7, mask=b.mask,
                                            proposal="uniform", corrected=True)
    P = int(b.mask.sum())
    neg = sample_negatives(np.zeros((P, cfg.vocab_size)), b.targets[b.mask], K, proposal="uniform", rng=7)
    logc = np.log(np.full(neg.shape, K / (cfg.vocab_size - 1)))

    def objective(p):
        lg = forward(p, b.tokens, cfg)
        aux, _ = sampled_softmax_loss(lg[b.mask], b.targets[b.mask], neg, logc)
        return cross_entropy(lg, b.targets, b.mask) + lam * aux.mean()

    assert math.isclose(objective(params), loss, rel_tol=1e-12)
    rng = np.random.default_rng(2)
    for name in ["wte", "blocks.0.attn.w_qkv", "blocks.1.mlp.w_in", "ln_f.g"]:
        d = rng.normal(size=params[name].shape)
        h = 1e-5
        up, dn = dict(params), dict(params)
        up[name], dn[name] = params[name] + h * d, params[name] - h * d
        fd = (objective(up) - objective(dn)) / (2 * h)
        assert abs(fd - float((grads[name] * d).sum())) < 1e-6 * max(1.0, abs(fd))


def test_finetune_with_lam_zero_is_adamw_on_the_cross_entropy(copy_model):
    cfg, params = copy_model
    new, losses = contrastive_finetune(params, cfg, "copy", 3, lam=0.0, K=2, rng=4, batch_size=4)
    data, _ = np.random.default_rng(4).spawn(2)
    p = {k: v.copy() for k, v in params.items()}
    opt = AdamW(p, lr=1e-3, weight_decay=0.0)
    for s in range(3):
        bt = make_batch("copy", 4, rng=data)
        ls, g = loss_and_grad(p, bt.tokens, bt.targets, cfg, mask=bt.mask)
        assert math.isclose(ls, losses[s], rel_tol=1e-12)
        opt.step(p, g)
    for k in p:
        np.testing.assert_allclose(new[k], p[k], rtol=1e-10, atol=1e-13)
    assert not np.shares_memory(new["wte"], params["wte"])
