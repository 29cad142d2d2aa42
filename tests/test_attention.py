"""Tests for thermoref.attention, attention_chain, attention_heads and pbit_attention.

Oracles: scipy.special.softmax and explicit per-row loops (never the code under test), closed forms (the
two-level Schottky heat capacity), finite differences, the Metropolis chain's exact one-step kernel (a loop over
its definition) and the exact law of p-bit counts (binomial convolutions); the autocorrelation-time estimator the
chain reports is tested against AR(1) in tests/test_mcmc.py. Statistical tests state their statistic, null
distribution and false-positive rate (alpha = 1e-3 unless said otherwise) and their power against the bug they
are sized for (by default a temperature 5 % off: logits times 1.05), computed, and a power check shows the same
statistic rejecting that deliberately wrong sampler. Chains start far from equilibrium (uniformly among the keys
with mass, on rows whose law is far from uniform) and are tested one draw per independent chain, or transition by
transition against their exact kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import softmax as scipy_softmax

from thermoref.attention import (
    BACKENDS,
    attention_logits,
    attention_weights,
    blended_attention,
    block_logits,
    causal_mask,
    empirical_weights,
    local_logits,
    random_logits,
    sample_keys,
    sampled_attention,
    sampled_values,
    sampling_mse,
    softmax_attention,
)
from thermoref.attention.chain import metropolis_keys
from thermoref.attention.heads import attention_specific_heat, head_statistics, samples_needed
from thermoref.gibbs import boltzmann, heat_capacity, mean_energy
from thermoref.mcmc import integrated_autocorrelation_times
from thermoref.attention.pbit import (
    pbit_attention_weights,
    sigmoid_attention_jacobian,
    sigmoid_attention_weights,
    softmax_jacobian,
)
from thermoref.testing import chi_square_sample_size, chi_square_test, z_sample_size, z_test, z_test_mean


def _qkv(seed=0, H=2, T=6, S=8, d=4, dv=3, scale=1.5):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((H, T, d)), scale * rng.standard_normal((H, S, d)), rng.standard_normal((H, S, dv))


def _oracle_cov(p, V):
    """Exact Cov_p(v) per row by an explicit loop: shape (H, T, dv, dv)."""
    H, T, S = p.shape
    out = np.zeros((H, T, V.shape[-1], V.shape[-1]))
    for h in range(H):
        for t in range(T):
            mu = p[h, t] @ V[h]
            for j in range(S):
                dvec = V[h, j] - mu
                out[h, t] += p[h, t, j] * np.outer(dvec, dvec)
    return out


# ---------------------------------------------------------------------------------------------- identities
def test_logits_are_scaled_dot_products_and_the_energy_convention():
    Q, K, _ = _qkv()
    ell = attention_logits(Q, K)
    ref = np.einsum("htd,hsd->hts", Q, K) / np.sqrt(Q.shape[-1])
    np.testing.assert_allclose(ell, ref, rtol=1e-14, atol=1e-14)
    # One convention: E = -l at kT = 1  <=>  E = -QK^T at kT = sqrt(d_k).
    p = attention_weights(ell)
    np.testing.assert_allclose(p, boltzmann(-ell, 1.0), rtol=1e-13, atol=0)
    np.testing.assert_allclose(p, boltzmann(-(Q @ np.swapaxes(K, -1, -2)), np.sqrt(Q.shape[-1])), rtol=1e-12, atol=0)
    np.testing.assert_allclose(p, scipy_softmax(ref, axis=-1), rtol=1e-13, atol=0)


def test_softmax_attention_matches_scipy_with_broadcast_heads():
    Q, K, V = _qkv()
    out = softmax_attention(Q, K[:1], V[:1])  # keys and values shared across heads
    ref = scipy_softmax(np.einsum("htd,sd->hts", Q, K[0]) / 2.0, axis=-1) @ V[0]
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-15)


def test_causal_mask_restricts_each_row_to_its_prefix():
    Q, K, V = _qkv(T=5, S=5)
    m = causal_mask(5)
    assert m.dtype == bool and m.shape == (5, 5) and m.sum() == 15
    assert np.array_equal(causal_mask(2, 4), np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool))
    out = softmax_attention(Q, K, V, m)
    w = attention_weights(attention_logits(Q, K, m))
    assert np.all(w[..., ~m] == 0.0)
    for i in range(5):  # oracle: plain softmax over the allowed prefix only
        ref = scipy_softmax(np.einsum("hd,hsd->hs", Q[:, i], K[:, : i + 1]) / 2.0, axis=-1)  # (H, i+1)
        np.testing.assert_allclose(out[:, i], np.einsum("hs,hsd->hd", ref, V[:, : i + 1]), rtol=1e-13, atol=1e-15)


def test_fully_masked_rows_are_zero_everywhere_explicitly():
    Q, K, V = _qkv(T=4, S=5)
    pad = np.ones((4, 5), bool)
    pad[2] = False
    ell = attention_logits(Q, K, pad)
    assert np.isneginf(ell[:, 2]).all()
    assert np.all(attention_weights(ell)[:, 2] == 0)
    assert np.all(softmax_attention(Q, K, V, pad)[:, 2] == 0)
    for backend in BACKENDS:
        idx = sample_keys(ell, 7, rng=3, backend=backend)
        assert np.all(idx[:, 2] == -1) and np.all(idx[:, [0, 1, 3]] >= 0)
        assert np.all(sampled_attention(Q, K, V, 7, rng=3, backend=backend, mask=pad)[:, 2] == 0)
    assert np.all(blended_attention(Q, K, V, 3, 0.5, rng=0, mask=pad)[:, 2] == 0)
    assert np.all(sampling_mse(ell, V, 3)[:, 2] == 0)
    assert np.all(empirical_weights(sample_keys(ell, 3, rng=0), 5)[:, 2] == 0)
    # the other rows are untouched by the dead one
    np.testing.assert_array_equal(softmax_attention(Q, K, V, pad)[:, [0, 1, 3]], softmax_attention(Q, K, V)[:, [0, 1, 3]])


def test_masked_keys_are_never_sampled():
    ell = np.array([[0.0, -np.inf, 0.0], [-np.inf, -np.inf, 0.0]])
    for backend in BACKENDS:
        idx = sample_keys(ell, 500, rng=1, backend=backend)
        assert not np.any(idx[0] == 1) and np.all(idx[1] == 2)


def test_gather_equals_weights_times_values_and_blend_endpoints():
    Q, K, V = _qkv()
    ell = attention_logits(Q, K)
    idx = sample_keys(ell, 9, rng=5)
    np.testing.assert_allclose(sampled_values(idx, V), empirical_weights(idx, 8) @ V, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(blended_attention(Q, K, V, 9, 0.0, rng=5), softmax_attention(Q, K, V), rtol=0, atol=0)
    np.testing.assert_allclose(blended_attention(Q, K, V, 9, 1.0, rng=5), sampled_attention(Q, K, V, 9, rng=5),
                               rtol=0, atol=0)
    assert np.array_equal(sample_keys(ell, 9, rng=5), sample_keys(ell, 9, rng=np.random.default_rng(5)))


def test_sampling_mse_is_the_trace_of_the_value_covariance_over_K():
    Q, K, V = _qkv(seed=2)
    ell = attention_logits(Q, K)
    tr = np.trace(_oracle_cov(scipy_softmax(ell, axis=-1), V), axis1=-2, axis2=-1)
    np.testing.assert_allclose(sampling_mse(ell, V, 7), tr / 7, rtol=1e-12)
    np.testing.assert_allclose(sampling_mse(ell, V, 7, alpha=0.3), 0.09 * tr / 7, rtol=1e-12)
    np.testing.assert_allclose(samples_needed(ell, V, 0.1), tr / 0.01, rtol=1e-12)


@given(st.floats(-50, 50), st.integers(0, 2**31 - 1))
def test_weights_are_shift_invariant_and_normalised(shift, seed):
    ell = np.random.default_rng(seed).standard_normal((3, 5)) * 4
    p = attention_weights(ell)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=0, atol=4e-16 * 5)
    np.testing.assert_allclose(attention_weights(ell + shift), p, rtol=1e-12, atol=1e-300)


def test_templates():
    assert np.all(local_logits(6, strength=0.0) == 0)
    L = local_logits(6, strength=2.0, width=1.0)
    assert np.array_equal(L, L.T) and np.all(np.diag(L) == 2.0) and np.all(np.argmax(L, axis=1) == np.arange(6))
    B = block_logits(8, strength=1.0, block=4, n_global=1)
    assert B[5, 6] == 1 and B[5, 2] == 0 and B[5, 0] == 1 and B[0, 7] == 1 and B[0, 0] == 2
    R = random_logits(5, strength=3.0, rng=0)
    np.testing.assert_array_equal(R, 3.0 * np.random.default_rng(0).standard_normal((5, 5)))


def test_sampled_attention_is_the_average_of_its_own_keys():
    """sampled_attention (empirical weights times V) equals sampled_values(sample_keys(...)) (a gather and a mean)
    for the same seed, for every backend, with masks, an inert row and broadcast keys. Two summation orders of K
    terms: they differ by at most 2 K eps max|v| per entry."""
    Q, K, V = _qkv(seed=8, T=5, S=7)
    pad = np.ones((5, 7), bool)
    pad[1] = False  # inert row
    pad[3, :4] = False
    ell = attention_logits(Q, K[:1], pad)
    bound = 2 * 16 * np.finfo(float).eps * np.abs(V).max()
    for backend in BACKENDS:
        out = sampled_attention(Q, K[:1], V[:1], 16, rng=4, backend=backend, mask=pad)
        ref = sampled_values(sample_keys(ell, 16, rng=4, backend=backend), V[:1])
        np.testing.assert_allclose(out, ref, rtol=0, atol=bound)
        assert np.all(out[:, 1] == 0)
        alpha1 = blended_attention(Q, K[:1], V[:1], 16, 1.0, rng=4, backend=backend, mask=pad)
        np.testing.assert_array_equal(alpha1, out)  # the blend at alpha = 1 is sampled attention, bit for bit


def test_exact_keys_keep_their_documented_draws():
    """Regression (chapter 7 prints them): the exact backend's keys are the inverse-CDF rule applied to the uniforms
    default_rng(seed).random((rows, K)), dead rows included (their keys -1). The oracle is a per-row
    np.searchsorted on scipy's softmax CDF; a uniform within ~S eps of a CDF step could differ (probability < 1e-10
    here)."""
    Q, K, _ = _qkv(seed=9, T=6, S=9)
    pad = np.ones((6, 9), bool)
    pad[2] = False
    pad[4, 3:] = False
    ell = attention_logits(Q, K, pad)  # (2, 6, 9)
    keys = sample_keys(ell, 50, rng=13)
    u = np.random.default_rng(13).random((12, 50))
    for r, (row, uu) in enumerate(zip(ell.reshape(12, 9), u)):
        if np.isneginf(row).all():
            assert np.all(keys.reshape(12, 50)[r] == -1)
            continue
        cdf = np.cumsum(scipy_softmax(row))
        np.testing.assert_array_equal(keys.reshape(12, 50)[r], np.searchsorted(cdf, uu * cdf[-1], side="right"))


def test_softmax_attention_weights_are_the_gibbs_softmax_bit_for_bit():
    """attention_weights and softmax_attention compute what thermoref.gibbs.softmax computes, bit for bit, on every
    row with a law (their lean path skips re-validation, not arithmetic), and zero on inert rows."""
    from thermoref.gibbs import softmax

    Q, K, V = _qkv(seed=10)
    pad = np.ones((6, 8), bool)
    pad[0] = False
    pad[2, ::2] = False
    ell = attention_logits(Q, K, pad)
    w = attention_weights(ell)
    live = ~np.isneginf(ell).all(axis=-1)
    np.testing.assert_array_equal(w[live], softmax(ell[live], axis=-1))
    assert np.all(w[~live] == 0)
    np.testing.assert_array_equal(softmax_attention(Q, K, V, pad), w @ V)


def test_finite_sentinels_are_logits_not_masks():
    """The module's rule: a finite sentinel (-3.4e38, as frameworks write masks) has weight exactly 0 next to an
    ordinary logit, so no backend draws it; a row made only of equal sentinels is uniform (chi-square of 20000
    draws, alpha 1e-3). A temperature error cannot change a row of equal logits; the bug this is sized for is a
    row whose weights overflow to NaN and whose draws collapse onto one key: noncentrality 3 n, power 1
    (computed), and the same statistic rejects such draws (run)."""
    ell = np.array([[0.0, -3.4e38, 1.0, -3.4e38], [-3.4e38] * 4])
    for backend in ("exact", "gumbel"):
        keys = sample_keys(ell, 20_000, rng=3, backend=backend)
        assert not np.isin(keys[0], [1, 3]).any()
        assert chi_square_test(np.bincount(keys[1], minlength=4), np.full(4, 0.25)).passed
    assert chi_square_sample_size(np.full(4, 0.25), np.eye(4)[0]) <= 20_000
    assert chi_square_test(np.bincount(np.zeros(20_000, dtype=int), minlength=4), np.full(4, 0.25)).reject
    np.testing.assert_array_equal(attention_weights(ell)[1], np.full(4, 0.25))


def test_extreme_inputs_of_exact_and_sampled_attention():
    """Limits and refusals of the boundary: huge values average without overflow; logits that overflow are refused
    naming query; a causal mask too large for memory is refused before allocating; the local template's width
    limits are exact."""
    Q, K, V = _qkv(seed=11)
    big = np.full_like(V, 1e308)  # weights summing to 1 within S eps: averages within 2 S eps of 1e308, finite
    for out in (softmax_attention(Q, K, big), sampled_attention(Q, K, big, 5, rng=0),
                sampled_values(sample_keys(attention_logits(Q, K), 5, rng=0), big)):
        np.testing.assert_allclose(out, 1e308, rtol=16 * np.finfo(float).eps)
    with pytest.raises(ValueError, match="^query:"):
        attention_logits(np.full((2, 4), 1e200), np.full((3, 4), 1e200))
    with pytest.raises(ValueError, match="^S:"):
        causal_mask(4, 2**62)
    with pytest.raises(ValueError, match="^T:"):
        causal_mask(2**62, 4)
    np.testing.assert_array_equal(local_logits(4, strength=3.0, width=5e-324), 3.0 * np.eye(4))
    np.testing.assert_array_equal(local_logits(4, strength=3.0, width=1e308), np.full((4, 4), 3.0))
    # tr Cov of values near 1e154 exceeds 1e308: computed through scaled values, or refused when it overflows
    mse = sampling_mse(attention_logits(Q, K), 1e150 * V, 4)
    np.testing.assert_allclose(mse, 1e300 * sampling_mse(attention_logits(Q, K), V, 4), rtol=1e-12)
    with pytest.raises(ValueError, match="^value:"):
        sampling_mse(attention_logits(Q, K), 1e300 * V, 4)


# ------------------------------------------------------------------------------------------ statistical
def _replicate(ell, n_samples, R, rng, backend="exact", **kw):
    """R independent sampled-attention weight draws of shape (R, ...) via one call (leading replicate axis)."""
    return sample_keys(np.broadcast_to(ell, (R,) + ell.shape), n_samples, rng=rng, backend=backend, **kw)


def test_independent_backends_draw_the_softmax_law():
    """Chi-square of key counts pooled over 12 rows (statistics and degrees of freedom add: dof 84), 16000 draws
    per row, alpha 1e-3. Independent draws: no start, no warm-up.

    Power against a temperature 5 % off, computed for the pooled statistic by the noncentral chi-square: > 0.999
    (the row with the largest effect alone reaches 0.99 at chi_square_sample_size draws, also <= n); that wrong
    sampler is run with the same seeds and rejected.
    """
    Q, K, _ = _qkv(seed=4)
    ell = attention_logits(Q, K)  # (2, 6, 8)
    p = scipy_softmax(ell, axis=-1)
    n = 16_000
    wrong = scipy_softmax(1.05 * ell, axis=-1).reshape(-1, 8)
    assert _chi2_power(p.reshape(-1, 8), wrong, n) > 0.999
    assert min(chi_square_sample_size(a, b) for a, b in zip(p.reshape(-1, 8), wrong)) <= n
    for backend in ("exact", "gumbel"):
        counts = empirical_weights(sample_keys(ell, n, rng=11, backend=backend), 8) * n
        assert chi_square_test(counts, p).passed
        counts_wrong = empirical_weights(sample_keys(1.05 * ell, n, rng=11, backend=backend), 8) * n
        assert chi_square_test(counts_wrong, p).reject


def _metropolis_kernel(row, proposal):
    """Exact one-step transition matrix (S, S) of the Metropolis chain on softmax(row), by a loop over the definition:
    propose uniformly among all S keys (or a ring neighbour j +- 1, each 1/2), accept with min(1, p_b / p_a); a
    masked key (-inf) is never accepted; the rest of each row stays put. Rows of keys without mass are left 0."""
    S = row.size
    P = np.zeros((S, S))
    for a in range(S):
        if not np.isfinite(row[a]):
            continue
        moves = [(b, 1 / S) for b in range(S)] if proposal == "uniform" else [((a - 1) % S, 0.5), ((a + 1) % S, 0.5)]
        for b, q in moves:
            if b != a and np.isfinite(row[b]):
                P[a, b] += q * min(1.0, float(np.exp(row[b] - row[a])))
        P[a, a] = 1.0 - P[a].sum()
    return P


def _chi2_power(p, q, n, dof=None, alpha=1e-3):
    """Power of Pearson's chi-square of law p (rows pooled: statistics and degrees of freedom add) against draws
    from q, n draws per row (an array: per cell of p): noncentral chi-square with lambda = sum n (q - p)^2 / p."""
    m = p > 0
    lam = float(np.sum(np.where(m, n * (q - p) ** 2 / np.where(m, p, 1.0), 0.0)))
    dof = int(np.sum(np.maximum(m.sum(-1) - 1, 0))) if dof is None else dof  # a row without mass adds none
    return float(stats.ncx2.sf(stats.chi2.isf(alpha, dof), dof, lam))


CHAIN_ROWS = np.array([[0.0, 1.0, 2.0, -np.inf, 0.5], [3.0, 0.0, 0.0, 0.0, 0.0]])  # (2, 5): a masked key; one peak


def test_chain_metropolis_kernel_oracle():
    """The oracle itself: stochastic rows, softmax (scipy) invariant, detailed balance, on both proposals."""
    p = scipy_softmax(CHAIN_ROWS, axis=-1)
    for proposal in ("uniform", "local"):
        for row, pr in zip(CHAIN_ROWS, p):
            P = _metropolis_kernel(row, proposal)
            live = np.isfinite(row)
            np.testing.assert_allclose(P[live].sum(-1), 1.0, rtol=0, atol=1e-15)
            np.testing.assert_allclose(pr @ P, pr, rtol=0, atol=1e-15)
            np.testing.assert_allclose(pr[:, None] * P, (pr[:, None] * P).T, rtol=0, atol=1e-16)


def test_chain_backend_many_independent_chains_draw_the_softmax_law():
    """One draw from each of 12,000 independent chains per row, after a warm-up: pooled chi-square over the two
    rows (dof 7), alpha 1e-3.

    Start far from equilibrium: each chain starts uniformly among the keys with mass, at total variation 0.33 and
    0.63 from the rows' laws. The warm-up is sized by the exact law after it (the kernel oracle applied to that
    start): its noncentrality against p over all chains is below 1e-3, so the false-positive rate stays alpha.
    Power against a temperature 5 % off (chains at 1.05 l), computed by the noncentral chi-square: >= 0.99 (0.994);
    the same statistic, draws and seeds reject that sampler (run), and a chain that returns its start.
    """
    p = scipy_softmax(CHAIN_ROWS, axis=-1)
    n = 12_000
    assert _chi2_power(p, scipy_softmax(1.05 * CHAIN_ROWS, axis=-1), n) >= 0.99
    start = np.isfinite(CHAIN_ROWS) / np.isfinite(CHAIN_ROWS).sum(-1, keepdims=True)  # (2, 5)
    assert np.all(0.5 * np.abs(start - p).sum(-1) > 0.3)

    def last_key_counts(ell, warm, proposal, seed):
        idx = metropolis_keys(np.broadcast_to(ell, (n,) + ell.shape), 1, rng=seed, n_warmup=warm, proposal=proposal)
        return empirical_weights(np.moveaxis(idx.indices[..., 0], 0, -1), 5) * n  # (2, 5)

    for proposal, warm, seed in (("uniform", 40, 2), ("local", 100, 3)):
        law = np.stack([s @ np.linalg.matrix_power(_metropolis_kernel(r, proposal), warm + 1)
                        for s, r in zip(start, CHAIN_ROWS)])  # exact law of the kept key
        m = p > 0
        assert n * np.sum((law[m] - p[m]) ** 2 / p[m]) < 1e-3
        assert chi_square_test(last_key_counts(CHAIN_ROWS, warm, proposal, seed), p).passed
        assert chi_square_test(last_key_counts(1.05 * CHAIN_ROWS, warm, proposal, seed), p).reject
    uniform_on_mass = np.where(np.isfinite(CHAIN_ROWS), 0.0, -np.inf)  # (2, 5): the start law, as logits
    at_start = sample_keys(np.broadcast_to(uniform_on_mass, (n, 2, 5)), 1, rng=7)[..., 0]  # a chain returning its start
    assert chi_square_test(empirical_weights(np.moveaxis(at_start, 0, -1), 5) * n, p).reject


def test_chain_backend_transitions_follow_the_metropolis_kernel():
    """Every step of every chain, from a start far from equilibrium: the transition counts N_ab between consecutive
    kept keys of 500 chains x 200 steps per row, tested row by row against the exact kernel P_a. (Anderson &
    Goodman 1957: given the visits N_a, Pearson's statistic sum_ab (N_ab - N_a P_ab)^2 / (N_a P_ab) is
    asymptotically chi-square with sum_a (#{b: P_ab > 0} - 1) degrees of freedom, however correlated the visits.)
    alpha 1e-3.

    This tests the dynamics, not only the stationary law: power against a temperature 5 % off, computed from the
    expected visits (the oracle's law at each step) and the noncentral chi-square: > 0.99 for both proposals. The
    same statistic rejects that chain (run), and i.i.d. exact draws (a correct law, but not this chain).
    Anderson, T. W. & Goodman, L. A. (1957) "Statistical inference about Markov chains", Ann. Math. Stat. 28, 89.
    """
    R, K = 500, 200
    start = np.isfinite(CHAIN_ROWS) / np.isfinite(CHAIN_ROWS).sum(-1, keepdims=True)  # (2, 5)

    def transition_counts(keys):  # keys (R, 2, K) -> (2, 5, 5)
        pairs = 25 * np.arange(2)[None, :, None] + 5 * keys[..., :-1] + keys[..., 1:]  # (R, 2, K - 1)
        return np.bincount(pairs.ravel(), minlength=50).reshape(2, 5, 5).astype(float)

    def statistic(counts, kernels):
        live = counts.sum(-1) > 0  # (2, 5): from-keys visited (never a masked key)
        return chi_square_test(counts[live], kernels[live])

    for proposal, seed in (("uniform", 4), ("local", 5)):
        P = np.stack([_metropolis_kernel(r, proposal) for r in CHAIN_ROWS])  # (2, 5, 5)
        P_hot = np.stack([_metropolis_kernel(1.05 * r, proposal) for r in CHAIN_ROWS])
        visits = np.zeros((2, 5))  # expected visits of each from-key, steps 1..K-1
        law = np.einsum("ra,rab->rb", start, P)  # the first kept key's law
        for _ in range(K - 1):
            visits += R * law
            law = np.einsum("ra,rab->rb", law, P)
        assert _chi2_power(P, P_hot, visits[..., None]) > 0.99
        keys = metropolis_keys(np.broadcast_to(CHAIN_ROWS, (R, 2, 5)), K, rng=seed, n_warmup=0, proposal=proposal)
        assert statistic(transition_counts(keys.indices), P).passed
        hot = metropolis_keys(np.broadcast_to(1.05 * CHAIN_ROWS, (R, 2, 5)), K, rng=seed, n_warmup=0, proposal=proposal)
        assert statistic(transition_counts(hot.indices), P).reject
    iid = sample_keys(np.broadcast_to(CHAIN_ROWS, (R, 2, 5)), K, rng=6)  # exact draws: every kernel row is p
    assert statistic(transition_counts(iid), P).reject  # P: the local chain's kernel


def test_sampled_attention_is_unbiased():
    """z-test of s = <w, p_hat V - p V> over R = 3000 replications, exact variance sum_rows w'Cov_p w/K.

    Null N(0, 1) by the CLT, alpha 1e-3. w points along the bias of a 5 %-too-cold sampler, and R exceeds
    z_sample_size for that bias at power 0.99: the same test rejects that sampler (run below).
    """
    Q, K, V = _qkv(seed=6)
    ell = attention_logits(Q, K)
    p = scipy_softmax(ell, axis=-1)
    exact = p @ V
    w = scipy_softmax(1.05 * ell, axis=-1) @ V - exact  # (H, T, dv)
    n_samples, R = 4, 3000
    var = np.einsum("htc,htcd,htd->", w, _oracle_cov(p, V), w) / n_samples
    delta = float(np.sum(w * w))
    assert z_sample_size(delta, np.sqrt(var)) <= R
    for backend in ("exact", "gumbel"):
        est = sampled_values(_replicate(ell, n_samples, R, 8, backend), V)  # (R, H, T, dv)
        assert z_test_mean(np.sum((est - exact) * w, axis=(1, 2, 3)), 0.0, var).passed
    est = sampled_values(_replicate(1.05 * ell, n_samples, R, 8), V)
    assert z_test_mean(np.sum((est - exact) * w, axis=(1, 2, 3)), 0.0, var).reject


def test_mse_is_trace_cov_over_K_and_the_blend_scales_it_by_alpha_squared():
    """Studentized z-test of the mean squared error over R = 4000 replications against the exact law.

    Statistic z = (mean(e) - E e)/(sd(e)/sqrt(R)) with the standard deviation estimated from the same
    replications; null approximately N(0, 1) (R large; its rate is measured in the calibration test below),
    alpha 1e-3. The bugs it is sized for: the law without the 1/K (K = 3) and the blend's law with alpha instead
    of alpha^2. Power >= 0.99 against each, computed (R >= z_sample_size for the shift and the replications'
    standard deviation), and the same statistic rejects both (run), and a correlated chain.
    """
    Q, K, V = _qkv(seed=7)
    ell = attention_logits(Q, K)
    exact = softmax_attention(Q, K, V)
    n_samples, R = 3, 4000
    law = float(np.sum(sampling_mse(ell, V, n_samples)))

    def check(err, expected):
        return z_test(err.mean(), expected, err.std(ddof=1) / np.sqrt(err.size))

    e = np.sum((sampled_values(_replicate(ell, n_samples, R, 9), V) - exact) ** 2, axis=(1, 2, 3))
    assert z_sample_size(law * (n_samples - 1), e.std(ddof=1)) <= R
    assert check(e, law).passed
    assert check(e, law * n_samples).reject
    rng = np.random.default_rng(10)
    alpha = 0.4
    blend = np.stack([blended_attention(Q, K, V, n_samples, alpha, rng=rng) for _ in range(R // 4)])  # sequential API
    eb = np.sum((blend - exact) ** 2, axis=(1, 2, 3))
    assert z_sample_size((alpha - alpha**2) * law, eb.std(ddof=1)) <= R // 4
    assert check(eb, alpha**2 * law).passed
    assert check(eb, alpha * law).reject
    # A local-proposal chain: same K, larger error (autocorrelated keys)
    ec = np.sum((sampled_values(_replicate(ell, n_samples, R // 4, 12, "chain", proposal="local", n_warmup=50), V)
                 - exact) ** 2, axis=(1, 2, 3))
    assert check(ec, law).reject and ec.mean() > law


# ------------------------------------------------------------------------------------------------- chain
def test_chain_reports_ess_sensibly():
    """The reported tau_int against the exact one, from the kernel oracle: for the energy trace f = l_j of a chain
    with kernel P and law pi, tau_int = 1 + 2 sum_t rho(t) = 2 <f~, diag(pi) Z f~> / Var_pi(f) - 1 with the
    fundamental matrix Z = (I - P + 1 pi)^{-1} (Kemeny & Snell 1960), f~ = f - E_pi f.

    Statistic: the mean of the estimates over independent rows; its standard error from the Madras-Sokal
    relative error sqrt(2 (2W + 1) / K) per row (W ~ 5 tau, the window), and 3.3 of them (alpha 1e-3, normal
    approximation), plus 1 % for the window's truncation. Power: the iid value 1 and Sokal's half convention
    (tau / 2) lie > 6 standard errors away. The last two cases are deterministic."""
    flat = metropolis_keys(np.zeros((4, 6)), 2000, rng=0)  # accepts every uniform proposal: i.i.d. keys, tau = 1
    assert np.all(flat.acceptance_rate == 1.0)
    se_flat = np.sqrt(2 * (2 * 5 + 1) / 2000) / np.sqrt(4)
    assert abs(flat.tau_int.mean() - 1) < 3.3 * se_flat and 0.5 < 1 - 6 * se_flat
    row = np.array([0.0, 0.0, 2.0, 0.0, 0.0, 0.0])
    P = _metropolis_kernel(row, "local")
    pi = scipy_softmax(row)
    f = row - pi @ row
    tau = 2 * (f * pi) @ np.linalg.solve(np.eye(6) - P + np.outer(np.ones(6), pi), f) / (pi @ f**2) - 1  # 7.35
    slow = metropolis_keys(np.broadcast_to(row, (16, 6)), 4000, rng=1, proposal="local")
    se = tau * np.sqrt(2 * (2 * 5 * tau + 1) / 4000) / np.sqrt(16)
    assert abs(slow.tau_int.mean() - tau) < 3.3 * se + 0.01 * tau and tau / 2 < tau - 6 * se
    np.testing.assert_allclose(slow.ess, 4000 / slow.tau_int, rtol=1e-15)
    # a trace that never moves although the law is not a point mass: one effective sample, not fifty. (Off key 0
    # the chain reaches it with probability 1/2 per step: 60 warm-up steps miss it with P = 2^-60; leaving it costs
    # e^-40 per step, P < 1e-15 in 50 steps.) A point mass's constant trace: every key exact.
    stuck = metropolis_keys(np.array([[0.0, -40.0, -40.0]]), 50, rng=0, n_warmup=60, proposal="local")
    assert stuck.ess[0] == 1.0
    point = metropolis_keys(np.array([[0.0, -np.inf, -np.inf]]), 50, rng=0, proposal="local")
    assert point.tau_int[0] == 1.0 and point.ess[0] == 50.0


def test_chain_tau_is_the_per_row_estimate_of_the_energy_trace():
    """Wiring: tau_int is mcmc.integrated_autocorrelation_times of each row's trace l_{j_t}; ess = K / tau_int."""
    ell = np.random.default_rng(3).standard_normal((2, 3, 7))  # (B, T, S)
    out = metropolis_keys(ell, 200, rng=5, proposal="local")
    trace = np.take_along_axis(ell, out.indices, axis=-1)  # (B, T, K)
    np.testing.assert_array_equal(out.tau_int, integrated_autocorrelation_times(trace, axis=-1))
    np.testing.assert_array_equal(out.ess, 200 / out.tau_int)


# ----------------------------------------------------------------------------------- heads, p-bit layer
def test_specific_heat_matches_gibbs_heat_capacity_and_dU_dT():
    ell = np.random.default_rng(3).standard_normal((5, 7)) * 2
    for kT in (0.3, 1.0, 4.0):
        Cv = attention_specific_heat(ell, kT)
        np.testing.assert_allclose(Cv, heat_capacity(-ell, kT), rtol=1e-12)
        h = 1e-5 * kT
        dU = (mean_energy(-ell, kT + h) - mean_energy(-ell, kT - h)) / (2 * h)
        # central differences: truncation ~h^2 U'''/6 ~ 1e-10, rounding ~eps |U|/h ~ 1e-10
        np.testing.assert_allclose(Cv, dU, rtol=1e-6, atol=1e-8)
    # two-level Schottky closed form, and the limits
    x = 1 / 0.4168
    assert abs(attention_specific_heat([0.0, -1.0], 0.4168) - x**2 * np.exp(x) / (1 + np.exp(x)) ** 2) < 1e-12
    assert attention_specific_heat(np.zeros(4)) == 0 and attention_specific_heat([0.0, 1.0], np.inf) == 0
    assert attention_specific_heat([0.0, 1.0], 0.0) == 0
    np.testing.assert_allclose(attention_specific_heat([0.0, 1.0, -np.inf]), heat_capacity([0.0, -1.0]), rtol=1e-14)


def test_head_statistics_against_direct_formulas():
    ell = np.random.default_rng(1).standard_normal((3, 6))
    p = scipy_softmax(ell, axis=-1)
    s = head_statistics(ell)
    np.testing.assert_allclose(s.entropy, -np.sum(p * np.log(p), -1), rtol=1e-13)
    np.testing.assert_allclose(s.one_minus_pmax, 1 - p.max(-1), rtol=1e-13)
    np.testing.assert_allclose(s.collision, 1 - np.sum(p * p, -1), rtol=1e-13)
    np.testing.assert_allclose(s.specific_heat, np.sum(p * ell**2, -1) - np.sum(p * ell, -1) ** 2, rtol=1e-10)


def test_sigmoid_bit_attention_is_not_softmax_and_its_gradient_is_damped():
    ell = np.array([5.0, 10.0, 0.0])
    q = sigmoid_attention_weights(ell)
    s = 1 / (1 + np.exp(-ell))
    np.testing.assert_allclose(q, s / s.sum(), rtol=1e-14)
    assert 0.5 * np.abs(q - scipy_softmax(ell)).sum() > 0.3
    # rare-firing limit b -> inf recovers softmax
    np.testing.assert_allclose(sigmoid_attention_weights(ell, bias=60.0), scipy_softmax(ell), rtol=1e-12)
    # Jacobians against central finite differences
    for fun, jac in ((lambda x: sigmoid_attention_weights(x), sigmoid_attention_jacobian(ell)),
                     (lambda x: scipy_softmax(x), softmax_jacobian(ell))):
        h = 1e-6
        fd = np.stack([(fun(ell + h * e) - fun(ell - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
        np.testing.assert_allclose(jac, fd, atol=1e-8)


def _pbit_weight_moments(ell, n_samples, key=0):
    """Exact mean and variance of the weight n_key / sum_j n_j of p-bit attention: n_j ~ Binomial(K, sigmoid(l_j))
    independent (each key's bit fires independently on each of K sweeps; weight 0 if nothing fired). The other keys'
    total by convolution of scipy's binomial pmfs, then an exact sum over the (n_key, rest) grid."""
    s = 1 / (1 + np.exp(-np.asarray(ell, dtype=float)))
    n = np.arange(n_samples + 1)
    rest = np.array([1.0])
    for j in range(s.size):
        if j != key:
            rest = np.convolve(rest, stats.binom.pmf(n, n_samples, s[j]))
    total = n[:, None] + np.arange(rest.size)[None, :]  # (K + 1, rest)
    w = np.where(total > 0, n[:, None] / np.maximum(total, 1), 0.0)
    pmf = stats.binom.pmf(n, n_samples, s[key])[:, None] * rest[None, :]
    mean = float(np.sum(pmf * w))
    return mean, float(np.sum(pmf * (w - mean) ** 2))


def test_pbit_counts_converge_to_sigmoid_weights():
    """z-test of key 0's weight over R = 2000 independent rows of K = 200 sweeps against its exact mean and variance
    (the ratio n_0 / sum n_j of independent binomials, summed exactly), null N(0, 1) by the CLT, alpha 1e-3. That
    exact mean is within 1e-4 of the sigmoid law q_0 (the ratio's O(1/K) bias) and far from softmax.

    Power against a temperature 5 % off (the bits driven by 1.05 l): R >= z_sample_size for the exact shift of
    the mean, i.e. >= 0.99; the same test rejects that layer (run) and the softmax weight."""
    ell = np.array([1.0, 0.0, -1.0, 2.0])
    K, R = 200, 2000
    mean, var = _pbit_weight_moments(ell, K)
    q = sigmoid_attention_weights(ell)
    assert abs(mean - q[0]) < 1e-4
    mean_hot, _ = _pbit_weight_moments(1.05 * ell, K)
    assert z_sample_size(abs(mean_hot - mean), np.sqrt(var)) <= R
    x = pbit_attention_weights(np.broadcast_to(ell, (R, 4)), K, rng=4)[:, 0]
    assert z_test_mean(x, mean, var).passed
    assert z_test_mean(pbit_attention_weights(np.broadcast_to(1.05 * ell, (R, 4)), K, rng=4)[:, 0], mean, var).reject
    assert z_test(x.mean(), scipy_softmax(ell)[0], np.sqrt(var / R)).reject


# --------------------------------------------------------------------------------------------- bad input
def test_bad_input():
    Q, K, V = _qkv()
    with pytest.raises(ValueError, match="^key:"):
        attention_logits(Q, K[..., :3])
    with pytest.raises(ValueError, match="^query:"):
        attention_logits(Q * np.nan, K)
    with pytest.raises(TypeError, match="mask"):
        attention_logits(Q, K, np.ones((6, 8)))
    with pytest.raises(ValueError, match="mask"):
        attention_logits(Q, K, np.ones((5, 8), bool))
    with pytest.raises(ValueError, match="^value:"):
        softmax_attention(Q, K, V[:, :5])
    with pytest.raises(ValueError, match="n_samples"):
        sampled_attention(Q, K, V, 0, rng=0)
    with pytest.raises(TypeError, match="rng"):
        sampled_attention(Q, K, V, 3, rng=None)
    with pytest.raises(ValueError, match="backend"):
        sampled_attention(Q, K, V, 3, rng=0, backend="quantum")
    with pytest.raises(TypeError, match="backend"):
        sample_keys(np.zeros((2, 3)), 3, rng=0, backend="exact", proposal="local")
    with pytest.raises(ValueError, match="alpha"):
        blended_attention(Q, K, V, 3, 1.5, rng=0)
    with pytest.raises(ValueError, match="logits"):
        attention_weights(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="indices"):
        sampled_values(np.array([[0, -1]]), V[0])
    with pytest.raises(ValueError, match="proposal"):
        metropolis_keys(np.zeros((2, 3)), 3, rng=0, proposal="far")
    with pytest.raises(ValueError, match="strength"):
        local_logits(4, strength=-1.0)
    with pytest.raises(ValueError, match="width"):
        local_logits(4, width=0.0)
    with pytest.raises(ValueError, match="T"):
        causal_mask(0)
    with pytest.raises(ValueError, match="kT"):
        attention_specific_heat(np.zeros(3), -1.0)
    inert = head_statistics(np.full((2, 3), -np.inf))  # the one rule: a fully masked row is inert, all zero
    assert all(np.array_equal(getattr(inert, f), np.zeros(2)) for f in ("entropy", "collision", "specific_heat"))
    with pytest.raises(ValueError, match="rmse"):
        samples_needed(np.zeros((2, 3)), np.zeros((3, 1)), 0.0)
    np.testing.assert_array_equal(sigmoid_attention_weights([-np.inf, -np.inf]), 0.0)  # inert row


# ----------------------------------------------------------------------------------------- calibration
@pytest.mark.slow
def test_calibration_of_the_unbiasedness_and_mse_statistics():
    """Over 400 independent seeds at alpha = 0.05 a correct sampler must be rejected at rate 0.05 within
    4 binomial standard errors (false-failure rate of this check ~6e-5), for both the exact-variance z-test of
    unbiasedness and the studentized z-test of the MSE law (whose null is only asymptotically N(0, 1))."""
    from thermoref.testing import rejection_rate

    Q, K, V = _qkv(seed=13, T=4, S=6)
    ell = attention_logits(Q, K)
    p = scipy_softmax(ell, axis=-1)
    exact = p @ V
    w = np.random.default_rng(14).standard_normal(exact.shape)
    n_samples, R = 3, 300
    var = np.einsum("htc,htcd,htd->", w, _oracle_cov(p, V), w) / n_samples
    law = float(np.sum(sampling_mse(ell, V, n_samples)))

    def draws(g):
        return sampled_values(_replicate(ell, n_samples, R, g), V) - exact  # (R, H, T, dv)

    def unbiased(g):
        return z_test_mean(np.sum(draws(g) * w, axis=(1, 2, 3)), 0.0, var, alpha=0.05)

    def mse(g):
        e = np.sum(draws(g) ** 2, axis=(1, 2, 3))
        return z_test(e.mean(), law, e.std(ddof=1) / np.sqrt(R), alpha=0.05)

    bound = 4 * np.sqrt(0.05 * 0.95 / 400)
    for trial in (unbiased, mse):
        rate, _ = rejection_rate(trial, 400, rng=15)
        assert abs(rate - 0.05) < bound, (trial.__name__, rate)
