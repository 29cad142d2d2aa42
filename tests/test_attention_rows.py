"""The one rule for fully masked attention rows, and what a finite sentinel mask means.

Rule (thermoref.attention's docstring): a fully masked query row is *inert* everywhere in the attention family:
weights and output zero, no key drawn (index -1; a chain reports acceptance 0, effective sample size 0 and
tau_int 1), every per-row statistic zero (entropy, collision, 1 - p_max, specific heat, sampling error, samples
needed, Jacobians). The Potts chain, one joint law over all rows, raises ValueError naming ``logits`` instead.

For every per-row function of the family, a batch with one fully masked row must give exactly the documented
value on that row, and on the other rows exactly (bit for bit) what the same call gives without that row: the
inert row may not leak into its neighbours (no NaN from a -inf - -inf, no shared normalisation). Deterministic
functions are compared with the batch that lacks the row and with the batch where the row is replaced by a live
one. A sampler under the same seed either draws nothing for the inert row, and its neighbours get exactly what
they get in the batch without it (the inert row is placed last in the row order, so a sampler that draws row after
row uses the same random numbers for the rows before it), or draws for a placeholder, and its neighbours get
exactly what they get with a live row in its place; either way nothing of the inert row reaches them. The chain
backend draws only for live rows, so for it the first holds wherever the inert row sits.

A finite sentinel (-3.4e38, or numpy.finfo(float).min, as some frameworks write masks) is a logit whose weight is
exactly 0 in float64: no sampler may draw it (the exact backends, and the chain even at n_warmup = 0, whose old
uniform start among allowed keys left 1.9-3.7 % sentinel keys in its draws), and a row of equal sentinels is a
uniform law, not an inert row. Statistical tests: chi-square, alpha = 1e-3, on draws from many independent chains
(one draw per chain) with enough expected count per cell (>= 160).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import expit
from scipy.special import softmax as scipy_softmax

from thermoref.attention import (
    BACKENDS,
    attention_logits,
    attention_specific_heat,
    attention_weights,
    blended_attention,
    empirical_weights,
    head_statistics,
    metropolis_keys,
    pbit_attention_weights,
    potts_energy,
    potts_gibbs,
    potts_marginals,
    sample_keys,
    sampled_attention,
    sampled_values,
    samples_needed,
    sampling_mse,
    sigmoid_attention_jacobian,
    sigmoid_attention_weights,
    softmax_attention,
    softmax_jacobian,
)
from thermoref.testing import chi_square_sample_size, chi_square_test

T, S, D_K, D_V = 5, 6, 4, 3
DEAD = T - 1  # the inert row: last in row order
SENTINELS = (-3.4e38, np.finfo(np.float64).min)


def _logits(seed: int = 0) -> np.ndarray:
    """(T, S) logits with a masked key in two live rows, a finite sentinel in one, and row DEAD fully masked."""
    ell = 1.5 * np.random.default_rng(seed).standard_normal((T, S))
    ell[0, 2] = ell[2, 5] = -np.inf
    ell[1, 0] = SENTINELS[1]
    ell[DEAD] = -np.inf
    return ell


def _qkv(seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, D_K)), rng.standard_normal((S, D_K)), rng.standard_normal((S, D_V))


def _mask() -> np.ndarray:
    m = np.random.default_rng(2).random((T, S)) < 0.8
    m[:, 0] = True
    m[DEAD] = False  # the inert query
    return m


def _without(x: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.delete(x, DEAD, axis=axis)


def _replaced(ell: np.ndarray) -> np.ndarray:
    live = ell.copy()
    live[DEAD] = np.linspace(-1.0, 1.0, ell.shape[-1])
    return live


def _check_rows(out, dead_value, reference, row_axis: int = 0):
    """``out`` has ``dead_value`` exactly on row DEAD and equals ``reference`` (lacking that row) elsewhere."""
    out = np.asarray(out)
    np.testing.assert_array_equal(np.take(out, DEAD, axis=row_axis), dead_value)
    np.testing.assert_array_equal(_without(out, row_axis), reference)


# ------------------------------------------------------------------------------ deterministic, row by row
def test_weights_and_jacobians():
    ell = _logits()
    for f in (attention_weights, softmax_jacobian, lambda x: sigmoid_attention_weights(x, bias=0.7),
              lambda x: sigmoid_attention_jacobian(x, bias=0.7)):
        out = f(ell)
        _check_rows(out, 0.0, f(_without(ell)))
        np.testing.assert_array_equal(_without(out), _without(f(_replaced(ell))))


def test_weights_against_independent_oracles_on_the_live_rows():
    """Not only consistent with themselves: the live rows are scipy's softmax and the sigmoid law."""
    ell = _logits()
    live = _without(ell)
    np.testing.assert_allclose(_without(attention_weights(ell)), scipy_softmax(live, axis=-1), rtol=1e-14, atol=0)
    s = expit(live - 0.7)
    np.testing.assert_allclose(_without(sigmoid_attention_weights(ell, bias=0.7)), s / s.sum(-1, keepdims=True),
                               rtol=1e-14, atol=0)


def test_head_statistics_specific_heat_and_sampling_error():
    ell = _logits()
    _, _, V = _qkv()
    kT = np.array([0.5, 1.0, 2.0, 7.0, 3.0])  # one temperature per row
    for f in (attention_specific_heat, lambda x: attention_specific_heat(x, 2.5),
              lambda x: sampling_mse(x, V, 4, 0.5), lambda x: samples_needed(x, V, 0.1)):
        out = f(ell)
        _check_rows(out, 0.0, f(_without(ell)))
        np.testing.assert_array_equal(_without(out), _without(f(_replaced(ell))))
    _check_rows(attention_specific_heat(ell, kT), 0.0, attention_specific_heat(_without(ell), _without(kT)))
    stats = head_statistics(ell)
    ref = head_statistics(_without(ell))
    for field in ("entropy", "one_minus_pmax", "collision", "specific_heat"):
        _check_rows(getattr(stats, field), 0.0, getattr(ref, field))


def test_outputs_from_query_key_value():
    Q, K, V = _qkv()
    m = _mask()
    ell = attention_logits(Q, K, m)
    assert np.isneginf(ell[DEAD]).all()  # a fully masked query has logits all -inf: the inert row
    np.testing.assert_array_equal(_without(ell), attention_logits(_without(Q), K, _without(m)))
    out = softmax_attention(Q, K, V, m)
    np.testing.assert_array_equal(out[DEAD], 0.0)
    # p @ V goes through BLAS, whose kernels may round a 4-row and a 5-row product differently: a few ulps
    np.testing.assert_array_max_ulp(_without(out), softmax_attention(_without(Q), K, V, _without(m)), maxulp=4)


def test_gathered_outputs_and_empirical_weights():
    _, _, V = _qkv()
    idx = np.random.default_rng(3).integers(0, S, size=(T, 7))
    idx[DEAD] = -1
    _check_rows(sampled_values(idx, V), 0.0, sampled_values(_without(idx), V))
    _check_rows(empirical_weights(idx, S), 0.0, empirical_weights(_without(idx), S))


def test_batched_rows_with_leading_axes():
    """A (2, T, S) batch with the inert row inside the first block: every other row as with a live row there."""
    ell = np.stack([_replaced(_logits(4)), _replaced(_logits(5))])  # (2, T, S), all live
    dead = ell.copy()
    dead[0, 2] = -np.inf
    for f in (attention_weights, softmax_jacobian, attention_specific_heat, sigmoid_attention_weights,
              lambda x: head_statistics(x).collision):
        a, b = f(dead), f(ell)
        np.testing.assert_array_equal(a[0, 2], 0.0)
        a[0, 2] = b[0, 2] = 0.0
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------- samplers
def _neighbours_untouched(out, without, replaced, maxulp=0):
    """The rows other than DEAD equal the batch without it, or the batch with a live row in its place."""
    rest, rest_r = _without(out), _without(replaced)

    def same(a, b):
        return np.array_equal(a, b) if maxulp == 0 else bool(np.all(np.abs(a - b) <= maxulp * np.spacing(np.abs(b))))

    assert same(rest, without) or same(rest, rest_r)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sampled_keys_and_outputs(backend):
    ell = _logits()
    Q, K, V = _qkv()
    m = _mask()
    live_m = m.copy()
    live_m[DEAD] = True
    idx = sample_keys(ell, 9, rng=6, backend=backend)
    np.testing.assert_array_equal(idx[DEAD], -1)
    _neighbours_untouched(idx, sample_keys(_without(ell), 9, rng=6, backend=backend),
                          sample_keys(_replaced(ell), 9, rng=6, backend=backend))
    out = sampled_attention(Q, K, V, 9, rng=7, backend=backend, mask=m)
    np.testing.assert_array_equal(out[DEAD], 0.0)
    _neighbours_untouched(out, sampled_attention(_without(Q), K, V, 9, rng=7, backend=backend, mask=_without(m)),
                          sampled_attention(Q, K, V, 9, rng=7, backend=backend, mask=live_m))
    out = blended_attention(Q, K, V, 9, 0.5, rng=8, backend=backend, mask=m)
    np.testing.assert_array_equal(out[DEAD], 0.0)
    # its exact part is a BLAS product p @ V, which may round a 4-row and a 5-row product differently: 4 ulps
    _neighbours_untouched(out, blended_attention(_without(Q), K, V, 9, 0.5, rng=8, backend=backend, mask=_without(m)),
                          blended_attention(Q, K, V, 9, 0.5, rng=8, backend=backend, mask=live_m), maxulp=4)


@pytest.mark.parametrize("proposal", ["uniform", "local"])
@pytest.mark.parametrize("dead", [0, 2, T - 1])
def test_chain_diagnostics(proposal, dead):
    ell = _replaced(_logits())  # all live
    ell[dead] = -np.inf
    out = metropolis_keys(ell, 40, rng=9, n_warmup=3, proposal=proposal)
    ref = metropolis_keys(np.delete(ell, dead, axis=0), 40, rng=9, n_warmup=3, proposal=proposal)
    for field, value in (("indices", -1), ("acceptance_rate", 0.0), ("tau_int", 1.0), ("ess", 0.0)):
        got = getattr(out, field)
        np.testing.assert_array_equal(got[dead], value)
        np.testing.assert_array_equal(np.delete(got, dead, axis=0), getattr(ref, field))


def test_pbit_counts():
    ell = _logits()
    out = pbit_attention_weights(ell, 50, rng=10, bias=0.3)
    np.testing.assert_array_equal(out[DEAD], 0.0)
    _neighbours_untouched(out, pbit_attention_weights(_without(ell), 50, rng=10, bias=0.3),
                          pbit_attention_weights(_replaced(ell), 50, rng=10, bias=0.3))


def test_potts_chain_raises_naming_logits():
    ell = _logits()
    for call in (lambda: potts_marginals(ell, 0.5), lambda: potts_gibbs(ell, 0.5, 2, rng=0),
                 lambda: potts_energy(np.zeros(T, dtype=int), ell, 0.5)):
        with pytest.raises(ValueError, match="^logits:"):
            call()


# ------------------------------------------------------------------------------------- finite sentinels
@pytest.mark.parametrize("sentinel", SENTINELS)
@pytest.mark.parametrize("proposal", ["uniform", "local"])
def test_chain_never_draws_a_finite_sentinel_even_without_warmup(sentinel, proposal):
    """Regression (issue 9): 4000 rows with 3 sentinel keys out of 8. The old start, uniform among allowed keys,
    put 3/8 of the chains on a sentinel; with uniform proposals it kept 866, 338, 128, 37, 32 and 3 sentinel keys
    among these 32,000 draws at warm-up 0 to 5 (measured with the pre-issue code and these seeds). Now not one,
    at any warm-up, and no warning."""
    row = np.array([0.3, sentinel, -1.0, sentinel, 2.0, 0.0, sentinel, 1.2])
    sentinel_keys = np.flatnonzero(row == sentinel)
    ell = np.broadcast_to(row, (4000, row.size))
    for n_warmup in range(6):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = metropolis_keys(ell, 8, rng=n_warmup, n_warmup=n_warmup, proposal=proposal)
        assert not np.isin(out.indices, sentinel_keys).any()
        assert np.isfinite(out.tau_int).all() and np.isfinite(out.ess).all()


@pytest.mark.parametrize("sentinel", SENTINELS)
def test_exact_backends_never_draw_a_finite_sentinel(sentinel):
    """The sentinel's probability e^{sentinel - max} is exactly 0 in float64: any draw of it is a bug."""
    row = np.array([0.3, sentinel, -1.0, sentinel, 2.0, 0.0, sentinel, 1.2])
    ell = np.broadcast_to(row, (500, row.size))
    for backend in ("exact", "gumbel"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            idx = sample_keys(ell, 64, rng=11, backend=backend)
        assert not np.isin(idx, np.flatnonzero(row == sentinel)).any()


@pytest.mark.parametrize("sentinel", SENTINELS)
def test_chain_with_sentinels_draws_the_softmax_of_the_other_keys(sentinel):
    """Chi-square of the last key of 27,000 independent chains against softmax over the keys that are not
    sentinels, alpha = 1e-3 (expected counts >= 900).

    Start: uniform among the 5 keys with mass, at total variation 0.40 from p. Warm-up: 40 steps. The uniform
    proposal is an independence sampler, whose distance to p shrinks at least by 1 - min_j q_j/p_j per step
    (q = 1/8 the proposal; Mengersen & Tweedie 1996, Ann. Statist. 24, 101): after 41 steps the noncentrality of
    the start's remnant over all chains, n sum (law - p)^2/p <= n (2 TV)^2 / min p, is below 1e-3, so the
    false-positive rate stays alpha. Power against a temperature 5 % off: >= 0.99 (n from chi_square_sample_size);
    the same statistic rejects those chains (run) and the uniform law, that of a chain ignoring the logits."""
    row = np.array([0.3, sentinel, -1.0, sentinel, 2.0, 0.0, sentinel, 1.2])
    ok = row != sentinel
    p = np.zeros(row.size)
    p[ok] = scipy_softmax(row[ok])
    n, warm = 27_000, 40
    assert chi_square_sample_size(p[ok], scipy_softmax(1.05 * row[ok])) <= n
    tv = (1 - (1 / row.size) / p.max()) ** (warm + 1) * 0.5 * np.abs(ok / ok.sum() - p).sum()
    assert n * (2 * tv) ** 2 / p[ok].min() < 1e-3

    def counts(ell_row):
        out = metropolis_keys(np.broadcast_to(ell_row, (n, row.size)), 1, rng=12, n_warmup=warm)
        return np.bincount(out.indices[:, -1], minlength=row.size)

    c = counts(row)
    assert c[~ok].sum() == 0
    assert chi_square_test(c[ok], p[ok]).passed
    hot = np.where(ok, 1.05 * np.where(ok, row, 0.0), sentinel)  # 1.05 * finfo.min would overflow
    assert chi_square_test(counts(hot)[ok], p[ok]).reject
    assert chi_square_test(c[ok], np.full(ok.sum(), 1 / ok.sum())).reject


@pytest.mark.parametrize("sentinel", SENTINELS)
def test_a_row_of_equal_sentinels_is_uniform_not_inert(sentinel):
    """Every backend: chi-square of 4000 independent draws (one per row; for the chain, the last step of an
    independent chain per row) against the uniform law on 8 keys, alpha = 1e-3; expected count 500 per key.
    A temperature error cannot change a row of equal logits; the bugs this is sized for are an inert reading (-1,
    caught before the statistic) and a point mass (NaN weights and an argmax landing on key 0): noncentrality
    7 n, power 1 (computed below), and the same statistic rejects it (run). A chain starts uniform here, so the
    law of its start is the null: what the chain test adds is that 100 steps never leave the uniform law."""
    ell = np.full((4000, 8), sentinel)
    for backend in BACKENDS:
        idx = sample_keys(ell, 1, rng=13, backend=backend)[:, -1]
        assert (idx >= 0).all()
        assert chi_square_test(np.bincount(idx, minlength=8), np.full(8, 1 / 8)).passed, backend
    point = np.eye(8)[0]
    assert chi_square_sample_size(np.full(8, 1 / 8), point) <= 4000
    assert chi_square_test(np.bincount(np.zeros(4000, dtype=int), minlength=8), np.full(8, 1 / 8)).reject
    np.testing.assert_array_equal(attention_weights(ell[:2]), np.full((2, 8), 1 / 8))
    stats = head_statistics(ell[:2])
    np.testing.assert_allclose(stats.entropy, np.log(8), rtol=1e-15)
    np.testing.assert_array_equal(stats.specific_heat, 0.0)


@pytest.mark.parametrize("sentinel", SENTINELS)
def test_sentinels_raise_no_warning_and_count_for_nothing(sentinel):
    """With finfo.min next to ordinary (and next to huge) logits, every per-row statistic is finite, raises no
    RuntimeWarning, and equals the statistic of the row without the sentinel keys (weight exactly 0)."""
    _, _, V = _qkv()
    base = np.array([[0.3, -1.0, 2.0, 0.0], [1e308, 1e308 * 0.5, -2.0, 1.0]])  # (2, 4)
    ell = np.insert(base, [1, 3], sentinel, axis=1)  # (2, 6): sentinels at keys 1 and 4
    keep = np.array([0, 2, 3, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (attention_weights, sigmoid_attention_weights, softmax_jacobian):
            out = f(ell)
            assert np.isfinite(out).all()
        np.testing.assert_array_equal(attention_weights(ell)[:, [1, 4]], 0.0)
        np.testing.assert_array_equal(attention_weights(ell)[:, keep], attention_weights(base))
        for kT in (0.5, 1.0, 3.0):
            np.testing.assert_array_equal(attention_specific_heat(ell[:1], kT), attention_specific_heat(base[:1], kT))
        # at kT ~ |sentinel| the sentinel is an ordinary level again (a logit, not a mask): finite, no warning
        assert np.isfinite(attention_specific_heat(ell, np.array([[1e300], [1e308]]))).all()
        s, r = head_statistics(ell[:1]), head_statistics(base[:1])
        for field in ("entropy", "one_minus_pmax", "collision", "specific_heat"):
            np.testing.assert_array_equal(getattr(s, field), getattr(r, field))
        # tr Cov_p(v) over 6 keys (two of weight 0) vs over 4: the same sums up to the order of rounding
        np.testing.assert_allclose(sampling_mse(ell, V, 3), sampling_mse(base, V[keep], 3), rtol=1e-13, atol=0)
        out = metropolis_keys(ell, 50, rng=14, n_warmup=0, proposal="local")
        assert not np.isin(out.indices, [1, 4]).any() and np.isfinite(out.tau_int).all()
