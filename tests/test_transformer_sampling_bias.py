"""thermoref.transformer.sampling_bias: the loss bias of sampled attention, measured and predicted at order 1/K.

Oracles, none of which calls the functions under test:
* the probe covariance: (diag sqrt p - p sqrt p^T)(...)^T against diag p - p p^T, and the probes' exact
  covariance (g running over a basis) against sum_j p_j (v_j - pV)(v_j - pV)^T, to a few ulps;
* the constant c: each row's Hessian block of the loss by four-point central finite differences through the
  forward pass's perturbation hook, times the row's covariance matrix, summed;
* the meaning of c: E[loss] of a model whose only random row has two keys, by exact enumeration of the
  binomial law of its counts, for K = 1, 2, 3, ..., with K (E[loss_K] - loss) -> c;
* evaluate: its mean over repeats against that exact E[loss_K] (a z-test), and its deterministic path against
  cross_entropy / accuracy of the forward logits.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_softmax, softmax

from thermoref.transformer import (AttentionSeam, Batch, TransformerConfig, accuracy, cross_entropy, forward,
                                   init_params, param_shapes)
from thermoref.transformer.model import _forward
from thermoref.transformer.sampling_bias import _probes, evaluate, head_covariance, predicted_loss_bias

ALPHA = 1e-3
Z_CRIT = float(stats.norm.isf(ALPHA / 2))  # two-sided
Z_POWER = float(stats.norm.isf(0.05))  # one-sided 95 % power margin


def _random_params(cfg: TransformerConfig, seed: int, scale: float = 0.6) -> dict[str, np.ndarray]:
    """Parameters of order one (sharp, value-laden attention), unlike the tiny initialization."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in param_shapes(cfg).items():
        out[name] = (1.0 if name.endswith(".g") else 0.0) + scale * rng.standard_normal(shape)
    return out


def _nll_per_sequence(logits, targets, mask):
    """Independent cross-entropy: SciPy's log_softmax, summed over the masked positions of each sequence."""
    logp = np.take_along_axis(log_softmax(logits, axis=-1), targets[..., None], axis=-1)[..., 0]
    return -(logp * mask).sum(axis=1)


def _loss_with_delta(params, tokens, targets, mask, cfg, delta):
    """Mean masked cross-entropy when delta[layer] (B, H, T, d_h) is added to that layer's head outputs."""
    logits = _forward(params, tokens, cfg, None, None, None, keep=False, delta=delta)[0]
    return _nll_per_sequence(logits, targets, mask).sum() / mask.sum()


def _oracle_c(params, tokens, targets, mask, cfg, layers, h=1e-4, centred=True):
    """c = 1/2 sum_r tr(H_r Cov_r): Hessian blocks by four-point central differences, covariance explicitly.

    centred=False uses the second moment sum_j p_j v_j v_j^T instead (the bug of a probe without -pp^T).
    Step h = 1e-4: truncation ~ h^2 |f^(4)| and rounding ~ 1e-16 |f| / h^2 = 1e-8 |f|, far below the tests' error.
    """
    B, T = tokens.shape
    H, dh = cfg.n_heads, cfg.head_dim
    _, trace = forward(params, tokens, cfg, return_attention=True)
    n = mask.sum()
    total = 0.0
    for layer in layers:
        p = softmax(np.where(np.isneginf(trace.logits[layer]), -np.inf, trace.logits[layer]), axis=-1)  # (B,H,T,T)
        v = trace.values[layer]  # (B, H, T, d_h)
        # every (row, a, b, s_a, s_b) perturbation of one sequence's loss as one batched forward pass
        rows = [(b, hh, t) for b in range(B) for hh in range(H) for t in range(T)]
        signs = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
        cases = [(r, a, bb, sa, sb) for r in rows for a in range(dh) for bb in range(dh) for sa, sb in signs]
        delta = np.zeros((len(cases), H, T, dh))
        seq = np.array([r[0] for r, *_ in cases])
        for i, ((b, hh, t), a, bb, sa, sb) in enumerate(cases):
            delta[i, hh, t, a] += sa * h
            delta[i, hh, t, bb] += sb * h
        logits = _forward(params, tokens[seq], cfg, None, None, None, keep=False, delta={layer: delta})[0]
        f = _nll_per_sequence(logits, targets[seq], mask[seq]) / n  # this sequence's share of the mean loss
        f = f.reshape(len(rows), dh, dh, 4)
        hess = (f[..., 0] - f[..., 1] - f[..., 2] + f[..., 3]) / (4 * h * h)  # (rows, dh, dh)
        for i, (b, hh, t) in enumerate(rows):
            w = p[b, hh, t]  # (T,)
            vc = v[b, hh] - (w @ v[b, hh] if centred else 0.0)  # (T, d_h)
            cov = (vc * w[:, None]).T @ vc  # (d_h, d_h)
            total += 0.5 * np.sum(hess[i] * cov)
    return total


@pytest.fixture(scope="module")
def tiny():
    cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=2)
    params = _random_params(cfg, 0)
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 5, size=(3, 3))
    targets = rng.integers(0, 5, size=(3, 3))
    mask = np.array([[0, 1, 1], [1, 1, 1], [0, 0, 1]], dtype=bool)
    return cfg, params, tokens, targets, mask


# ------------------------------------------------------------------------------------------- the probes
def test_probe_matrix_times_its_transpose_is_the_multinomial_covariance():
    rng = np.random.default_rng(2)
    p = softmax(3 * rng.standard_normal((5, 7)), axis=-1)
    p[0, 3] = 0.0  # a masked key
    p[0] /= p[0].sum()
    sp = np.sqrt(p)
    A = sp[:, :, None] * np.eye(7) - p[:, :, None] * sp[:, None, :]  # (5, 7, 7): diag sqrt p - p sqrt p^T
    lhs = A @ np.swapaxes(A, -1, -2)
    rhs = p[:, :, None] * np.eye(7) - p[:, :, None] * p[:, None, :]
    # the identity uses sum p = 1, which holds to a few ulps: the bound is entries of size <= 1 times 8 eps
    assert np.max(np.abs(lhs - rhs)) <= 8 * np.finfo(float).eps


def test_probe_outputs_have_covariance_cov_p_of_v():
    """g over the standard basis: sum_j z_j z_j^T = V^T A A^T V must equal sum_j p_j (v_j - pV)(v_j - pV)^T."""
    rng = np.random.default_rng(3)
    S, dh = 6, 3
    p = softmax(2 * rng.standard_normal((4, S)), axis=-1)  # (T=4, S)
    v = rng.standard_normal((S, dh))
    g = np.broadcast_to(np.eye(S)[:, None, :], (S, 4, S))  # (P=S, T, S): probe j uses g = e_j in every row
    z = _probes(p, v, g.copy())  # (S, 4, d_h)
    got = np.einsum("jta,jtb->tab", z, z)
    mean = p @ v
    want = np.einsum("ts,tsa,tsb->tab", p, v[None] - mean[:, None], v[None] - mean[:, None])
    assert np.max(np.abs(got - want)) <= 16 * np.finfo(float).eps * np.max(np.abs(want))


# -------------------------------------------------------------------------------- predicted_loss_bias
@pytest.mark.parametrize("layers", [[0], None])
def test_predicted_loss_bias_matches_hessian_blocks(tiny, layers):
    """z-test of the probe estimate against c from finite-difference Hessian blocks (alpha = 1e-3, two-sided).

    The loss's Hessian is indefinite, so one probe's z^T H z scatters by about 2.5 |c|: 4000 probes give a
    relative error near 4 %. Power, checked on the run's own error bar: > 95 % against a c off by 25 % (a
    missing 1/2 or 1/|M| is off by a factor) and against probes without the -pp^T term (uncentred values).
    """
    cfg, params, tokens, targets, mask = tiny
    sel = [0, 1] if layers is None else layers
    c_true = _oracle_c(params, tokens, targets, mask, cfg, sel)
    c_bug = _oracle_c(params, tokens, targets, mask, cfg, sel, centred=False)
    c, se = predicted_loss_bias(params, tokens, targets, cfg, mask=mask, layers=layers, rng=4, n_probes=4000)
    assert abs(c - c_true) / se < Z_CRIT
    assert 0.25 * abs(c_true) / se > Z_CRIT + Z_POWER  # power against a 25 % error
    assert abs(c_bug - c_true) / se > Z_CRIT + Z_POWER  # power against uncentred probes


def test_layer_biases_add_at_order_one_over_k():
    """Two layers, one random two-key row in each; the second row's law depends on the first row's draws.

    E[loss_K] by exact enumeration of both rows' counts (layer 1's law and values recomputed for every count
    of layer 0): the Richardson limit of K (E[loss_K] - loss) from K = 32, 64, 128 equals c_0 + c_1 from the
    Hessian blocks (to 1e-3 relative; the extrapolation's own error is about 1e-4), so the cross-layer terms
    vanish at order 1/K. A predicted_loss_bias over both layers agrees (z-test, alpha 1e-3).
    """
    cfg = TransformerConfig(vocab_size=4, context=2, d_model=4, n_heads=1, n_layers=2)
    params = _random_params(cfg, 21, scale=0.6)
    tokens, targets, mask = np.array([[1, 3]]), np.array([[2, 0]]), np.array([[True, True]])
    dh = cfg.head_dim
    loss0 = _loss_with_delta(params, tokens, targets, mask, cfg, {})

    def k_times_bias(K):
        k = np.arange(K + 1)
        w = np.column_stack([k / K, 1 - k / K])  # (K + 1, 2): empirical laws of a two-key row
        _, _, trace = _forward(params, tokens, cfg, None, None, None, keep=False)
        p0, v0 = trace[0][1][0, 0, 1, :2], trace[0][2][0, 0, :2]  # layer 0, row t = 1: law (2,), values (2, d_h)
        d0 = np.zeros((K + 1, 1, 2, dh))
        d0[:, 0, 1] = (w - p0) @ v0
        _, _, tr1 = _forward(params, np.repeat(tokens, K + 1, 0), cfg, None, None, None, keep=False, delta={0: d0})
        p1, v1 = tr1[1][1][:, 0, 1, :2], tr1[1][2][:, 0, :2]  # (K + 1, 2), (K + 1, 2, d_h): given layer 0's counts
        d1 = np.zeros((K + 1, K + 1, 1, 2, dh))  # [k0, k1]
        d1[:, :, 0, 1] = np.einsum("abs,asd->abd", w[None, :, :] - p1[:, None, :], v1)
        pmf = stats.binom.pmf(k[:, None], K, p0[0]) * stats.binom.pmf(k[None, :], K, p1[:, 0][:, None])
        n = (K + 1) ** 2
        logits = _forward(params, np.repeat(tokens, n, 0), cfg, None, None, None, keep=False,
                          delta={0: np.repeat(d0, K + 1, 0), 1: d1.reshape(n, 1, 2, dh)})[0]
        nll = _nll_per_sequence(logits, np.repeat(targets, n, 0), np.repeat(mask, n, 0)) / 2
        return K * (pmf.ravel() @ nll - loss0)

    c0, c1 = (_oracle_c(params, tokens, targets, mask, cfg, [layer]) for layer in (0, 1))
    c01 = _oracle_c(params, tokens, targets, mask, cfg, [0, 1])
    g = {K: k_times_bias(K) for K in (32, 64, 128)}
    limit = (8 * g[128] - 6 * g[64] + g[32]) / 3  # K g(K) = c + d/K + e/K^2 + O(K^-3): Richardson, twice
    assert min(abs(c0), abs(c1)) > 0.1 * abs(c0 + c1)  # both layers contribute
    assert abs(limit - (c0 + c1)) < 1e-3 * abs(c0 + c1) and abs(c01 - (c0 + c1)) < 1e-12
    c, se = predicted_loss_bias(params, tokens, targets, cfg, mask=mask, rng=3, n_probes=2000)
    assert abs(c - (c0 + c1)) / se < Z_CRIT
    assert 0.25 * abs(c0 + c1) / se > Z_CRIT + Z_POWER  # power against a 25 % error


def test_float32_params_are_used_in_float64(tiny):
    cfg, params, tokens, targets, mask = tiny
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    p64 = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
    a = predicted_loss_bias(p32, tokens, targets, cfg, mask=mask, rng=5, n_probes=8)
    b = predicted_loss_bias(p64, tokens, targets, cfg, mask=mask, rng=5, n_probes=8)
    assert a == b


def test_no_layer_selected_gives_zero(tiny):
    cfg, params, tokens, targets, mask = tiny
    assert predicted_loss_bias(params, tokens, targets, cfg, mask=mask, layers=[], rng=0, n_probes=4) == (0.0, 0.0)


# ---------------------------------------------- the meaning of c: exact enumeration of a two-key row
def _one_row():
    """One head, one layer, two tokens: row t = 1 (two keys) is the only random one."""
    cfg = TransformerConfig(vocab_size=4, context=2, d_model=4, n_heads=1, n_layers=1)
    params = _random_params(cfg, 6, scale=0.9)
    tokens, targets, mask = np.array([[1, 3]]), np.array([[2, 0]]), np.array([[True, True]])
    _, trace = forward(params, tokens, cfg, return_attention=True)
    p = softmax(trace.logits[0, 0, 0, 1, :2])  # (2,): the row's law
    v = trace.values[0, 0, 0, :2]  # (2, d_h)

    def expected_loss(K):
        k = np.arange(K + 1)  # draws of key 0
        pmf = stats.binom.pmf(k, K, p[0])
        w = np.column_stack([k / K, 1 - k / K])  # (K + 1, 2): the empirical law
        delta = np.zeros((K + 1, 1, 2, cfg.head_dim))
        delta[:, 0, 1] = (w - p) @ v  # row t = 1 of the head
        logits = _forward(params, np.repeat(tokens, K + 1, 0), cfg, None, None, None, keep=False,
                          delta={0: delta})[0]
        return float(pmf @ _nll_per_sequence(logits, np.repeat(targets, K + 1, 0), np.repeat(mask, K + 1, 0))) / 2

    loss0 = _loss_with_delta(params, tokens, targets, mask, cfg, {})
    return cfg, params, tokens, targets, mask, expected_loss, loss0


@pytest.fixture(scope="module")
def one_row():
    return _one_row()


def test_k_times_loss_bias_tends_to_c_by_exact_enumeration(one_row):
    cfg, params, tokens, targets, mask, expected_loss, loss0 = one_row
    c = _oracle_c(params, tokens, targets, mask, cfg, [0])
    g = {K: K * (expected_loss(K) - loss0) for K in (1, 2, 3, 256, 512, 1024, 2048)}
    assert abs(c) > 1e-3  # a row whose bias is visible
    assert {K: np.sign(g[K]) for K in (1, 2, 3)} == {K: np.sign(c) for K in (1, 2, 3)}
    # K g(K) = c + d/K + O(1/K^2): the Richardson combination 2 g(2K) - g(K) is c + O(1/K^2)
    rich = [2 * g[2 * K] - g[K] for K in (256, 512, 1024)]
    assert abs(rich[-1] - c) < 1e-4 * abs(c)
    assert abs(rich[-1] - c) < abs(rich[0] - c) or abs(rich[0] - c) < 1e-6 * abs(c)
    assert abs(g[2048] - c) < abs(g[256] - c)  # K g(K) levels off at c from one side


def test_sampled_evaluate_matches_exact_expected_loss(one_row):
    """Mean over repeats of evaluate's loss against the enumerated E[loss_K] (z-test, alpha = 1e-3).

    Power: against an evaluate that ignores the seam (mean = loss0, off by the bias c/K) the expected z is
    checked below to exceed z_crit + 1.645 (power > 95 %).
    """
    cfg, params, tokens, targets, mask, expected_loss, loss0 = one_row
    batch = Batch(np.repeat(tokens, 200, 0), np.repeat(targets, 200, 0), np.repeat(mask, 200, 0))
    for K in (1, 4):
        loss, acc, em = evaluate(params, cfg, batch, seam=AttentionSeam(K), rng=K, n_repeats=20)
        se = loss.std(ddof=1) / np.sqrt(loss.size)
        assert abs(loss.mean() - expected_loss(K)) / se < Z_CRIT
        assert abs(expected_loss(K) - loss0) / se > Z_CRIT + Z_POWER


# ---------------------------------------------------------------------------------------------- evaluate
def test_evaluate_exact_is_deterministic_and_matches_cross_entropy(tiny):
    cfg, params, tokens, targets, mask = tiny
    batch = Batch(tokens, targets, mask)
    loss, acc, em = evaluate(params, cfg, batch, n_repeats=4)
    assert loss.shape == acc.shape == em.shape == (4,)
    assert np.ptp(loss) == np.ptp(acc) == np.ptp(em) == 0.0
    logits = forward(params, tokens, cfg)
    assert abs(loss[0] - cross_entropy(logits, targets, mask)) <= 4 * np.finfo(float).eps * loss[0]
    assert (acc[0], em[0]) == accuracy(logits, batch)
    zero_alpha = AttentionSeam(8, alpha=0.0)
    assert np.array_equal(evaluate(params, cfg, batch, seam=zero_alpha, n_repeats=2)[0], loss[:2])


def test_evaluate_repeats_are_reproducible_independent_streams(tiny):
    cfg, params, tokens, targets, mask = tiny
    batch = Batch(np.tile(tokens, (4, 1)), np.tile(targets, (4, 1)), np.tile(mask, (4, 1)))
    seam = AttentionSeam(2, backend="gumbel", layers=[1])
    a = evaluate(params, cfg, batch, seam=seam, rng=9, n_repeats=6)
    b = evaluate(params, cfg, batch, seam=seam, rng=np.random.default_rng(9), n_repeats=6)
    c = evaluate(params, cfg, batch, seam=seam, rng=9, n_repeats=3)
    for x, y, w in zip(a, b, c):
        assert np.array_equal(x, y) and np.array_equal(x[:3], w)
    assert len(set(a[0].tolist())) == 6  # six different streams


def test_evaluate_refuses_bad_batches(tiny):
    cfg, params, tokens, targets, mask = tiny
    with pytest.raises(TypeError, match="^batch:"):
        evaluate(params, cfg, (tokens, targets, mask))
    with pytest.raises(ValueError, match="^batch:"):
        evaluate(params, cfg, Batch(tokens, targets + 5, mask))
    with pytest.raises(ValueError, match="^batch:"):
        evaluate(params, cfg, Batch(tokens + 5, targets, mask))
    with pytest.raises(TypeError, match="^rng:"):
        evaluate(params, cfg, Batch(tokens, targets, mask), seam=AttentionSeam(2))


# ------------------------------------------------------------------------------------------ head_covariance
def test_head_covariance_against_explicit_sum(tiny):
    cfg, params, tokens, *_ = tiny
    _, trace = forward(params, tokens, cfg, seam=AttentionSeam(1), rng=0, return_attention=True)
    got = head_covariance(trace)  # (L, B, H, T): from the exact law, not the sampled weights
    p = softmax(trace.logits, axis=-1)
    mean = p @ trace.values  # (L, B, H, T, d_h)
    diff = trace.values[..., None, :, :] - mean[..., :, None, :]  # (L, B, H, T, S, d_h)
    want = np.einsum("...ts,...tsd->...t", p, diff**2)
    assert got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=1e-14)
    assert np.all(got[..., 0] == 0.0)
    with pytest.raises(TypeError, match="^trace:"):
        head_covariance((trace.logits, trace.weights, trace.values))
