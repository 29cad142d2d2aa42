"""Tests of the tiny NumPy transformer (thermoref.transformer): gradients, optimizer, KV cache, seam, bad input.

Oracles, none of them the code under test:

* an independent forward pass written here (:func:`_ref_forward`: einsum attention, ``scipy.special.softmax``,
  the erf form of GELU, ``np.where`` for the causal mask), checked against ``forward`` to 1e-12 and used to build
  the straight-through loss whose finite differences the sampled-seam gradient must match;
* float64 central finite differences of the loss for every parameter block (random directions and entries);
* closed forms for AdamW (first step, constant gradient, pure decay) and ``numpy.linalg.norm`` for clipping;
* full recomputation for the KV cache; ``scipy.special.softmax`` for every exact head;
* chi-square tests (:func:`thermoref.testing.chi_square_test`) for the laws of sampled keys and of generated
  tokens, each at alpha = 1e-3 with its power against a temperature 5 % off computed by
  :func:`thermoref.testing.chi_square_power` (>= 0.99) and a power check: the same statistic rejects draws made
  at the wrong temperature by the model itself.

A ten-step AdamW trajectory is pinned in ``tests/fixtures/transformer_adamw10.json`` (made by
``tests/fixtures/make_transformer_adamw10.py``). The other PyTorch-reference fixture of the model is tested
elsewhere. Everything here runs in float64 unless a test says otherwise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import pathlib
import signal

import numpy as np
import pytest
from scipy.special import erf, logsumexp
from scipy.special import softmax as scipy_softmax

from fuzz_specs import Spec
from fuzz_specs.core import check_spec
from thermoref.attention import metropolis_keys, sample_keys
from thermoref.testing import chi_square_power, chi_square_test
from thermoref.transformer import (
    AdamW,
    AttentionSeam,
    KVCache,
    TransformerConfig,
    check_params,
    check_tokens,
    clip_grad_norm,
    cross_entropy,
    forward,
    generate,
    init_params,
    loss_and_grad,
    param_shapes,
)

FIXTURES = pathlib.Path(__file__).with_name("fixtures")
CFG = TransformerConfig(vocab_size=7, context=8, d_model=16, n_heads=2, n_layers=2)
ALPHA = 1e-3


def _perturbed(cfg: TransformerConfig = CFG, seed: int = 1) -> dict[str, np.ndarray]:
    """Parameters moved away from initialization, so that every block matters.

    LayerNorm gains 1 + 0.3 N(0, 1) and every bias 0.2 N(0, 1) (at initialization they are 1 and 0, where some
    gradient terms vanish); ``w_qkv`` entries 0.35 N(0, 1), which makes the attention rows far from uniform (row
    maxima ~ 0.7 on average); the other matrices 15 times their initial scale.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, value in init_params(cfg, rng=0).items():  # a loop over parameter blocks
        if name.endswith(".g"):
            out[name] = value + 0.3 * rng.standard_normal(value.shape)
        elif value.ndim == 1:
            out[name] = 0.2 * rng.standard_normal(value.shape)
        elif name.endswith("w_qkv"):
            out[name] = 0.35 * rng.standard_normal(value.shape)
        else:
            out[name] = 15.0 * value
    return out


def _batch(cfg: TransformerConfig = CFG, B: int = 3, T: int = 7, seed: int = 2):
    """Tokens, targets and a partial mask (about 60 % of positions), with T < context (one unused wpe row)."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, cfg.vocab_size, (B, T))
    targets = rng.integers(0, cfg.vocab_size, (B, T))
    mask = rng.random((B, T)) < 0.6
    mask[0, 0] = False
    mask[-1, -1] = True
    return tokens, targets, mask


# ------------------------------------------------------------------------------------------------ oracle
def _ref_forward(P, tokens, cfg, offset=None):
    """Logits (B, T, V) of the model, written independently of thermoref.transformer.model.

    ``offset`` (layer -> (B, H, T, T)) is added to every head's softmax weights: a constant that makes the
    weights at the current parameters equal to sampled ones while the derivative stays that of the softmax
    (the straight-through estimator's function, w = p + stop(p_hat - p)).
    """
    B, T = tokens.shape
    D, H = cfg.d_model, cfg.n_heads
    dh = D // H

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + cfg.ln_eps) * g + b

    x = P["wte"][tokens] + P["wpe"][:T]
    causal = np.tril(np.ones((T, T), bool))
    for layer in range(cfg.n_layers):
        p = f"blocks.{layer}."
        u = ln(x, P[p + "ln_1.g"], P[p + "ln_1.b"])
        qkv = u @ P[p + "attn.w_qkv"] + P[p + "attn.b_qkv"]
        q, k, v = (qkv[..., i * D:(i + 1) * D].reshape(B, T, H, dh) for i in range(3))
        ell = np.where(causal, np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(dh), -np.inf)
        w = scipy_softmax(ell, axis=-1)
        if offset is not None:
            w = w + offset[layer]
        o = np.einsum("bhqk,bkhd->bqhd", w, v).reshape(B, T, D)
        x = x + o @ P[p + "attn.w_out"] + P[p + "attn.b_out"]
        a = ln(x, P[p + "ln_2.g"], P[p + "ln_2.b"]) @ P[p + "mlp.w_in"] + P[p + "mlp.b_in"]
        x = x + (0.5 * a * (1.0 + erf(a / np.sqrt(2.0)))) @ P[p + "mlp.w_out"] + P[p + "mlp.b_out"]
    return ln(x, P["ln_f.g"], P["ln_f.b"]) @ P["wte"].T


def _ref_loss(logits, targets, mask):
    nll = logsumexp(logits, axis=-1) - np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return float(nll[mask].mean())


def test_forward_matches_an_independent_implementation():
    P = _perturbed()
    tokens, targets, mask = _batch()
    logits = forward(P, tokens, CFG)
    ref = _ref_forward(P, tokens, CFG)
    assert np.max(np.abs(logits - ref)) <= 1e-12 * np.max(np.abs(ref))
    loss, _ = loss_and_grad(P, tokens, targets, CFG, mask=mask)
    assert loss == pytest.approx(_ref_loss(ref, targets, mask), rel=1e-13)
    assert loss == pytest.approx(cross_entropy(logits, targets, mask), rel=4e-16)


# ---------------------------------------------------------------------------------------------- gradients
# Finite-difference step. The fourth-order central stencil D(h) = [f(-2h) - 8f(-h) + 8f(h) - f(2h)] / (12h)
# has truncation error h^4 |f^(5)| / 30 and rounding error about (1 + 8 + 8 + 1)/12 * delta / h, with delta a
# few ulps of the loss (loss ~ 2, delta ~ 1e-15). Along unit directions |f^(5)| is O(1-10) here, so the total
# c h^4 / 30 + 1.5 delta / h is smallest at h* = (45 delta / (4 c))^(1/5) ~ 1e-3, where it is ~ 2e-12 absolute.
# A relative error <= 1e-6 then holds for any derivative above ~ 2e-6; every compared derivative is required to
# exceed 1e-4 (margin 50). (The second-order stencil, truncation h^2 |f'''| / 6 and rounding delta / h, is best
# at h ~ (3 delta / c)^(1/3) ~ 1e-5 with error ~ 1e-10 absolute: 50 times less margin, measured up to 7e-8
# relative on the smallest directional derivatives here.) Measured at h = 1e-3: worst relative error ~ 1e-9.
FD_STEP = 1e-3
FD_RTOL = 1e-6
MIN_DERIVATIVE = 1e-4


def _fd(f, P, name, direction, h=FD_STEP):
    vals = []
    for s in (-2.0, -1.0, 1.0, 2.0):
        Q = dict(P)
        Q[name] = P[name] + (s * h) * direction
        vals.append(f(Q))
    return (vals[0] - 8.0 * vals[1] + 8.0 * vals[2] - vals[3]) / (12.0 * h)


def _library_loss(tokens, targets, mask):
    return lambda Q: cross_entropy(forward(Q, tokens, CFG), targets, mask)


def test_every_gradient_block_matches_finite_differences_in_a_random_direction():
    P = _perturbed()
    tokens, targets, mask = _batch()
    _, grads = loss_and_grad(P, tokens, targets, CFG, mask=mask)
    assert list(grads) == list(param_shapes(CFG))
    f = _library_loss(tokens, targets, mask)
    rng = np.random.default_rng(3)
    errors = {}
    for name in P:  # a loop over the 28 parameter blocks
        d = rng.standard_normal(P[name].shape)
        d /= np.linalg.norm(d)
        analytic = float(np.vdot(grads[name], d))
        assert abs(analytic) > MIN_DERIVATIVE, name
        errors[name] = abs(_fd(f, P, name, d) - analytic) / abs(analytic)
    assert max(errors.values()) <= FD_RTOL, errors


def test_every_gradient_block_matches_finite_differences_entrywise():
    """Three entries per block: the largest |gradient| and two drawn with probability proportional to |g|."""
    P = _perturbed()
    tokens, targets, mask = _batch()
    _, grads = loss_and_grad(P, tokens, targets, CFG, mask=mask)
    f = _library_loss(tokens, targets, mask)
    rng = np.random.default_rng(4)
    errors = {}
    for name in P:  # a loop over parameter blocks
        g = np.abs(grads[name]).ravel()
        picks = {int(np.argmax(g))} | set(rng.choice(g.size, size=2, replace=False, p=g / g.sum()).tolist())
        for i in picks:  # three entries
            e = np.zeros(g.size)
            e[i] = 1.0
            analytic = grads[name].ravel()[i]
            assert abs(analytic) > MIN_DERIVATIVE, (name, i)
            errors[(name, i)] = abs(_fd(f, P, name, e.reshape(P[name].shape)) - analytic) / abs(analytic)
    assert max(errors.values()) <= FD_RTOL, errors


def test_gradient_is_exactly_zero_where_the_loss_does_not_reach():
    """Position rows beyond the sequence and an all-masked sequence contribute nothing (not even rounding)."""
    P = _perturbed()
    tokens, targets, mask = _batch()  # T = 7 < context = 8
    _, grads = loss_and_grad(P, tokens, targets, CFG, mask=mask)
    assert np.all(grads["wpe"][7] == 0.0)
    # an extra sequence whose every position is masked out changes no gradient beyond rounding
    extra_tokens = np.vstack([tokens, tokens[:1]])
    extra_mask = np.vstack([mask, np.zeros((1, 7), bool)])
    _, grads2 = loss_and_grad(P, extra_tokens, np.vstack([targets, targets[:1]]), CFG, mask=extra_mask)
    for name in P:
        assert np.allclose(grads2[name], grads[name], rtol=1e-12, atol=1e-15), name


@pytest.mark.parametrize("seam", [AttentionSeam(3, alpha=1.0),
                                  AttentionSeam(2, backend="gumbel", alpha=0.4, layers=[1], heads=[0])],
                         ids=["sampled-K3-everywhere", "blend-0.4-one-head"])
def test_sampled_seam_gradient_is_the_straight_through_estimator(seam):
    """loss_and_grad through a sampled seam = the exact gradient of w = p + stop(w_sampled - p).

    The oracle freezes the offset c = w_sampled - softmax(ell), read from the same draws (same rng) with
    ``return_attention``, and differentiates the independent forward pass with weights softmax(ell(theta)) + c
    by finite differences. A backward pass that used the softmax Jacobian at the sampled weights, or p instead
    of the sampled weights for the value gradient, or dropped the sampled weights altogether (the exact
    gradient, also checked to differ here), fails it.
    """
    P = _perturbed()
    tokens, targets, mask = _batch()
    _, trace = forward(P, tokens, CFG, seam=seam, rng=11, return_attention=True)
    offset = trace.weights - scipy_softmax(trace.logits, axis=-1)  # (L, B, H, T, T), frozen
    loss, grads = loss_and_grad(P, tokens, targets, CFG, mask=mask, seam=seam, rng=11)

    def f(Q):
        return _ref_loss(_ref_forward(Q, tokens, CFG, offset=offset), targets, mask)

    assert loss == pytest.approx(f(P), rel=1e-12)
    _, exact = loss_and_grad(P, tokens, targets, CFG, mask=mask)
    rng = np.random.default_rng(5)
    errors, differs = {}, {}
    for name in P:  # a loop over parameter blocks
        d = rng.standard_normal(P[name].shape)
        d /= np.linalg.norm(d)
        analytic = float(np.vdot(grads[name], d))
        assert abs(analytic) > MIN_DERIVATIVE, name
        errors[name] = abs(_fd(f, P, name, d) - analytic) / abs(analytic)
        differs[name] = abs(float(np.vdot(exact[name], d)) - analytic) / abs(analytic)
    assert max(errors.values()) <= FD_RTOL, errors
    assert max(differs.values()) > 1e-2  # the test distinguishes the estimator from the exact gradient


def test_float32_parameters_give_float32_results_close_to_float64():
    P = _perturbed()
    tokens, targets, mask = _batch()
    P32 = {k: v.astype(np.float32) for k, v in P.items()}
    loss64, g64 = loss_and_grad(P, tokens, targets, CFG, mask=mask)
    loss32, g32 = loss_and_grad(P32, tokens, targets, CFG, mask=mask)
    assert forward(P32, tokens, CFG).dtype == np.float32
    assert all(g.dtype == np.float32 for g in g32.values())
    assert loss32 == pytest.approx(loss64, rel=1e-5)  # float32 rounding, ~1e-7 per operation through ~1e2 ops
    for name in P:
        assert np.linalg.norm(g32[name] - g64[name]) <= 1e-4 * np.linalg.norm(g64[name]) + 1e-7, name


# ---------------------------------------------------------------------------------------------- loss at init
def test_initial_loss_is_ln_vocab_plus_half_the_logit_variance():
    r"""At GPT-2's initialization the loss is ln V plus a gap set by the logits' spread.

    For uniformly random targets y, E_y[-log softmax(ell)_y] = logsumexp(ell) - mean(ell) = ln V + KL(U || p)
    exactly, and with x = ell - mean(ell) (variance s^2 over the vocabulary, ddof 0)
    KL = ln E_U[e^x] = s^2/2 + O(x^3): E[CE] ~ ln V + sigma^2 (1 - 1/V) / 2 for logits of per-entry variance
    sigma^2. The remainder is bounded from e^x - 1 - x = x^2 e^xi / 2 (xi between 0 and x) and
    a - a^2/2 <= ln(1 + a) <= a:  s^2 e^min(x) / 2 - s^4 e^(2 min(x)) / 8 <= KL <= s^2 e^max(x) / 2, per position.
    That bracket, computed from the model's own logits, is asserted; then the loss on random targets (what
    training starts from) is z-tested against the exact average: given the logits, its deviation is a mean of
    N independent zero-mean terms of variances s^2 (standard error sqrt(sum s^2) / N), alpha = 1e-3 two-sided.
    Power: scoring the input token instead of the target (an off-by-one in the targets) lowers the loss by
    mean(ell_token - mean ell), 0.40 nats here because of the tied embedding (z = 76); its z is computed and must
    exceed 3.29 + 2.33 (power >= 0.99).
    """
    cfg = TransformerConfig(vocab_size=11, context=16, d_model=32, n_heads=4, n_layers=2)
    V, B, T = cfg.vocab_size, 64, 16
    P = init_params(cfg, rng=3)
    rng = np.random.default_rng(103)
    tokens = rng.integers(0, V, (B, T))
    logits = forward(P, tokens, cfg)  # (B, T, V)
    every_target = np.repeat(np.arange(V), B)[:, None] * np.ones((1, T), np.int64)  # (V B, T)
    mean_loss = cross_entropy(np.tile(logits, (V, 1, 1)), every_target)  # exact average over uniform targets
    x = logits - logits.mean(axis=-1, keepdims=True)  # (B, T, V)
    s2 = np.mean(x * x, axis=-1)  # (B, T)
    lo_x, hi_x = x.min(axis=-1), x.max(axis=-1)
    gap = mean_loss - np.log(V)
    lower = np.mean(s2 * np.exp(lo_x) / 2 - s2**2 * np.exp(2 * lo_x) / 8)
    upper = np.mean(s2 * np.exp(hi_x) / 2)
    assert 0.0 <= lower <= gap <= upper, (lower, gap, upper)
    assert gap < 0.01 * np.log(V)  # "loss at initialization ~ ln V": within 1 % (measured 0.6 %)

    targets = rng.integers(0, V, (B, T))
    loss, _ = loss_and_grad(P, tokens, targets, cfg)
    se = np.sqrt(s2.sum()) / s2.size
    z = (loss - mean_loss) / se
    assert abs(z) < 3.29
    off_by_one = np.mean(np.take_along_axis(x, tokens[..., None], axis=-1))
    assert abs(off_by_one) / se > 3.29 + 2.33


# --------------------------------------------------------------------------------------------------- AdamW
def _load_fixture_script():
    spec = importlib.util.spec_from_file_location("make_transformer_adamw10", FIXTURES / "make_transformer_adamw10.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ten_adamw_steps_reproduce_the_pinned_trajectory():
    stored = json.loads((FIXTURES / "transformer_adamw10.json").read_text())
    result = _load_fixture_script().trajectory(stored["recipe"])
    want = stored["result"]
    np.testing.assert_allclose(result["losses"], want["losses"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(result["grad_norms"], want["grad_norms"], rtol=1e-12, atol=0)
    for name, value in want["sum_sq"].items():
        assert result["sum_sq"][name] == pytest.approx(value, rel=1e-12, abs=0), name
    assert abs(result["projection"] - want["projection"]) <= 1e-12 * want["projection_scale"]
    assert want["losses"][-1] < want["losses"][0] - 0.5  # the pinned run learns (2.40 -> 1.85 nats)
    norms = np.array(want["grad_norms"])
    max_norm = stored["recipe"]["max_norm"]
    assert (norms > max_norm).any() and (norms < max_norm).any()  # clipping active in some steps only


def _tiny_params():
    rng = np.random.default_rng(6)
    return {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}


def test_adamw_first_step_moves_each_entry_by_lr_in_the_sign_of_minus_g():
    """m_1 / (1 - b1) = g and v_1 / (1 - b2) = g^2, so the step is lr g / (|g| + eps) (= lr sign g for |g| >> eps)."""
    P = _tiny_params()
    start = {k: v.copy() for k, v in P.items()}
    signs = np.random.default_rng(7).choice([-1.0, 1.0], size=16)
    g = {"w": signs[:12].reshape(3, 4) * 10.0 ** np.arange(-4, 8).reshape(3, 4),  # |g| = 1e-4 ... 1e7
         "b": signs[12:] * 10.0 ** np.arange(-3, 1)}
    lr, eps = 0.05, 1e-8
    opt = AdamW(P, lr=lr, eps=eps, weight_decay=0.0)
    opt.step(P, g)
    for k in P:
        want = start[k] - lr * g[k] / (np.abs(g[k]) + eps)
        assert np.allclose(P[k], want, rtol=0, atol=8 * np.finfo(float).eps * (1 + np.abs(start[k]))), k
        assert np.allclose(np.abs(P[k] - start[k]), lr, rtol=1e-4)  # |g| >= 1e-4 = 1e4 eps


def test_adamw_constant_gradient_moves_every_step_by_lr():
    """With a constant gradient m_t = (1 - b1^t) g and v_t = (1 - b2^t) g^2: bias correction makes every step lr."""
    P = _tiny_params()
    g = {k: np.full(v.shape, -0.3) for k, v in P.items()}
    lr = 0.01
    opt = AdamW(P, lr=lr, weight_decay=0.0)
    for step in range(10):  # a loop over steps
        before = {k: v.copy() for k, v in P.items()}
        opt.step(P, g)
        for k in P:
            np.testing.assert_allclose(P[k] - before[k], lr * 0.3 / (0.3 + 1e-8), rtol=1e-12, atol=0)
    assert opt.step_count == 10


def test_adamw_decays_matrices_only():
    """A zero gradient leaves m = v = 0 and a zero Adam step: only the decoupled decay acts, on 2-D arrays."""
    P = _tiny_params()
    start = {k: v.copy() for k, v in P.items()}
    lr, wd = 0.1, 0.5
    opt = AdamW(P, lr=lr, weight_decay=wd)
    opt.step(P, {k: np.zeros_like(v) for k, v in P.items()})
    np.testing.assert_allclose(P["w"], start["w"] * (1 - lr * wd), rtol=4 * np.finfo(float).eps, atol=0)
    assert np.array_equal(P["b"], start["b"])
    opt.step(P, {k: np.zeros_like(v) for k, v in P.items()}, lr=0.2)  # a per-step learning rate
    np.testing.assert_allclose(P["w"], start["w"] * (1 - lr * wd) * (1 - 0.2 * wd), rtol=8 * np.finfo(float).eps)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_against_numpy_norm(max_norm):
    rng = np.random.default_rng(8)
    g = {"a": rng.standard_normal((5, 3)), "b": rng.standard_normal(7), "c": rng.standard_normal((2, 2, 2))}
    flat = np.concatenate([v.ravel() for v in g.values()])
    norm_np = np.linalg.norm(flat)
    clipped, norm = clip_grad_norm(g, max_norm)
    assert norm == pytest.approx(norm_np, rel=1e-15)
    scale = min(1.0, max_norm / norm_np)
    for k in g:
        np.testing.assert_allclose(clipped[k], g[k] * scale, rtol=1e-15)
    assert np.linalg.norm(np.concatenate([v.ravel() for v in clipped.values()])) == pytest.approx(
        min(norm_np, max_norm), rel=1e-14)
    assert clipped["a"] is not g["a"]


def test_clip_grad_norm_of_huge_gradients_keeps_their_direction():
    """Regression: entries of 1e200 (finite) overflowed the sum of squares and returned a norm of inf."""
    g = {"a": np.full(3, 1e200), "b": np.array([-1e200])}
    clipped, norm = clip_grad_norm(g, 1.0)
    assert norm == pytest.approx(2e200, rel=1e-15)
    np.testing.assert_allclose(clipped["a"], 0.5, rtol=1e-15)
    np.testing.assert_allclose(clipped["b"], -0.5, rtol=1e-15)


# ------------------------------------------------------------------------------------------------ KV cache
@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_generate_with_kv_cache_equals_full_recomputation(temperature):
    P = _perturbed()
    prompt = np.random.default_rng(9).integers(0, CFG.vocab_size, (4, 3))
    T0, n_new = 3, CFG.context - 3 + 1  # fills the context: the last generated token is never read
    out, logits = generate(P, prompt, n_new, CFG, temperature=temperature, rng=12, return_logits=True)
    assert out.shape == (4, T0 + n_new) and np.array_equal(out[:, :T0], prompt)
    full = forward(P, out[:, :-1], CFG)[:, T0 - 1:]  # (B, n_new, V)
    assert np.max(np.abs(logits - full)) <= 1e-12 * np.max(np.abs(full))
    if temperature == 0.0:
        assert np.array_equal(out[:, T0:], np.argmax(logits, axis=-1))
    else:
        assert not np.array_equal(out[:, T0:], np.argmax(logits, axis=-1))  # it does sample


def test_kv_cache_empty_shape_and_dtype():
    cache = KVCache.empty(CFG, 5, np.float32)
    assert cache.keys.shape == cache.values.shape == (2, 5, 2, 8, 8) and cache.length == 0
    assert cache.keys.dtype == np.float32 and not cache.keys.any()


def test_generate_draws_from_the_gibbs_law_at_the_temperature():
    """One generated token per row at kT = 0.5 from B identical prompts against softmax(logits / kT).

    Chi-square on the B draws (alpha = 1e-3), sized by chi_square_power against kT off by 5 % (>= 0.99). Power
    check: the same statistic rejects draws that generate itself makes at temperature 1.05 kT.
    """
    cfg = TransformerConfig(vocab_size=7, context=3, d_model=8, n_heads=2, n_layers=1)
    P = _perturbed(cfg, seed=13)
    B, kT = 24_000, 0.5
    prompt = np.tile([[3, 5]], (B, 1))
    out, logits = generate(P, prompt, 1, cfg, temperature=kT, rng=14, return_logits=True)
    assert np.all(logits == logits[0])  # identical prompts, identical logits
    p = scipy_softmax(logits[0, 0] / kT)
    q = scipy_softmax(logits[0, 0] / (1.05 * kT))
    assert chi_square_power(p, q, B, alpha=ALPHA) >= 0.99
    counts = np.bincount(out[:, -1], minlength=cfg.vocab_size)
    assert chi_square_test(counts, p, alpha=ALPHA).passed
    wrong = generate(P, prompt, 1, cfg, temperature=1.05 * kT, rng=15)
    assert chi_square_test(np.bincount(wrong[:, -1], minlength=cfg.vocab_size), p, alpha=ALPHA).reject


# ---------------------------------------------------------------------------------------------------- seam
def test_exact_seams_are_bit_identical_to_no_seam():
    P = _perturbed()
    tokens, _, _ = _batch()
    base = forward(P, tokens, CFG)
    for seam in (AttentionSeam(4, alpha=0.0), AttentionSeam(8, backend="chain", alpha=np.zeros((1, 2)), layers=[0])):
        assert np.array_equal(forward(P, tokens, CFG, seam=seam), base)  # no rng needed: nothing samples
    assert np.array_equal(forward(P, tokens, CFG, seam=None, rng=3), base)


def test_unselected_heads_use_the_exact_softmax():
    P = _perturbed()
    tokens, _, _ = _batch()
    seam = AttentionSeam(4, layers=[1], heads=[0])
    _, trace = forward(P, tokens, CFG, seam=seam, rng=16, return_attention=True)
    exact = scipy_softmax(trace.logits, axis=-1)  # (L, B, H, T, T)
    assert np.array_equal(trace.weights[0], exact[0])
    assert np.array_equal(trace.weights[1][:, 1], exact[1][:, 1])
    assert not np.allclose(trace.weights[1][:, 0], exact[1][:, 0])  # the selected head samples
    future = np.triu(np.ones((tokens.shape[1],) * 2, bool), k=1)  # (T, T): keys after the query
    assert np.all(np.isneginf(trace.logits[..., future])) and not np.isinf(trace.logits[..., ~future]).any()


@pytest.mark.parametrize("backend", ["exact", "gumbel", "chain"])
def test_sampled_weights_are_empirical_laws_inside_the_model(backend):
    """Every backend runs inside the model; each sampled row is counts / K: multiples of 1/K, sum 1, causal."""
    P = _perturbed()
    tokens, _, _ = _batch()
    K = 5
    _, trace = forward(P, tokens, CFG, seam=AttentionSeam(K, backend=backend), rng=17, return_attention=True)
    w = trace.weights  # (L, B, H, T, T)
    counts = np.rint(w * K)
    assert np.max(np.abs(w * K - counts)) <= 1e-12
    assert np.array_equal(counts.sum(axis=-1), np.full(w.shape[:-1], K))
    assert np.all(w[np.isneginf(trace.logits)] == 0.0)
    assert np.all(w[..., 0, 0] == 1.0)  # the first query has one key


@pytest.mark.parametrize("backend", ["exact", "gumbel"])
def test_sampled_weights_are_unbiased(backend):
    """Mean sampled weights of layer 0's 14 query rows (2 heads x 7 positions) over B = 625 independent rows.

    B identical sequences give identical layer-0 logits and independent draws: the total counts of each row are
    multinomial(B K = 10,000, p). Chi-square of all rows together against scipy's softmax (alpha = 1e-3); power
    against sampling at 1.05 beta, by chi_square_power, >= 0.99. Power check: the same statistic rejects the
    model's own draws once its layer-0 logits are multiplied by 1.05 (queries scaled), still tested against p.
    (The chain backend's draws are correlated within a row, so its counts are not multinomial: not tested here.)
    """
    P = _perturbed()
    B, K = 625, 16
    tokens = np.tile(_batch()[0][:1], (B, 1))  # (B, 7)
    seam = AttentionSeam(K, backend=backend, layers=[0])
    _, trace = forward(P, tokens, CFG, seam=seam, rng=18, return_attention=True)
    p = scipy_softmax(trace.logits[0, 0], axis=-1)  # (H, T, T)
    q = scipy_softmax(1.05 * trace.logits[0, 0], axis=-1)
    assert chi_square_power(p, q, B * K, alpha=ALPHA) >= 0.99
    counts = np.rint(K * trace.weights[0].sum(axis=0))  # (H, T, T)
    assert chi_square_test(counts, p, alpha=ALPHA).passed
    hot = dict(P)
    hot["blocks.0.attn.w_qkv"] = P["blocks.0.attn.w_qkv"].copy()
    hot["blocks.0.attn.w_qkv"][:, :CFG.d_model] *= 1.05
    hot["blocks.0.attn.b_qkv"] = P["blocks.0.attn.b_qkv"].copy()
    hot["blocks.0.attn.b_qkv"][:CFG.d_model] *= 1.05
    _, hot_trace = forward(hot, tokens, CFG, seam=seam, rng=19, return_attention=True)
    assert np.allclose(hot_trace.logits[0, 0], 1.05 * trace.logits[0, 0], rtol=1e-12)
    assert chi_square_test(np.rint(K * hot_trace.weights[0].sum(axis=0)), p, alpha=ALPHA).reject


def test_blend_is_the_convex_combination_with_the_same_draws():
    P = _perturbed()
    tokens, _, _ = _batch()
    a = 0.3
    _, sampled = forward(P, tokens, CFG, seam=AttentionSeam(6, layers=[0]), rng=20, return_attention=True)
    _, blend = forward(P, tokens, CFG, seam=AttentionSeam(6, alpha=a, layers=[0]), rng=20, return_attention=True)
    p = scipy_softmax(blend.logits[0], axis=-1)
    np.testing.assert_allclose(blend.weights[0], (1 - a) * p + a * sampled.weights[0], rtol=0, atol=2e-16)
    alphas = np.array([[0.25, 0.75]])  # per head
    _, per_head = forward(P, tokens, CFG, seam=AttentionSeam(6, alpha=alphas, layers=[0]), rng=20,
                          return_attention=True)
    want = (1 - alphas[0, :, None, None]) * p + alphas[0, :, None, None] * sampled.weights[0]
    np.testing.assert_allclose(per_head.weights[0], want, rtol=0, atol=2e-16)


@pytest.mark.parametrize("backend,options", [("exact", {}), ("gumbel", {}),
                                             ("chain", dict(n_warmup=0, thin=1, proposal="local")),
                                             ("chain", dict(n_warmup=7, thin=3))])
def test_seam_draws_are_the_attention_samplers_draws(backend, options):
    """The seam passes its backend and chain options through: its sampled weights in the one selected head are
    the empirical law of ``sample_keys``/``metropolis_keys`` called on the same logits with the same seed."""
    P = _perturbed()
    tokens, _, _ = _batch()
    K = 5
    seam = AttentionSeam(K, backend=backend, layers=[0], heads=[1], chain_options=options)
    _, trace = forward(P, tokens, CFG, seam=seam, rng=21, return_attention=True)
    ell = trace.logits[0][:, [1]]  # (B, 1, T, T)
    if backend == "chain":
        idx = metropolis_keys(ell, K, rng=21, **options).indices
    else:
        idx = sample_keys(ell, K, rng=21, backend=backend)
    counts = (idx[..., None] == np.arange(ell.shape[-1])).sum(axis=-2)  # (B, 1, T, S)
    assert np.array_equal(np.rint(K * trace.weights[0][:, [1]]), counts)


def test_chain_options_change_the_draws():
    P = _perturbed()
    tokens, _, _ = _batch()
    runs = [forward(P, tokens, CFG, seam=AttentionSeam(5, backend="chain", chain_options=o), rng=22,
                    return_attention=True)[1].weights for o in ({}, dict(n_warmup=0, proposal="local"))]
    assert not np.array_equal(*runs)


def test_head_alpha_places_the_blend_weights():
    seam = AttentionSeam(4, alpha=np.array([[0.2, 0.9]]), layers=[1], heads=[2, 0])
    np.testing.assert_array_equal(seam.head_alpha(2, 3), [[0, 0, 0], [0.9, 0, 0.2]])


# --------------------------------------------------------------------------------------------- bad input
P0 = init_params(CFG, rng=0)
TOK = np.array([[1, 2, 3]])


def _params_with(**changes):
    out = dict(P0)
    for k, v in changes.items():
        if v is None:
            del out[k]
        else:
            out[k] = v
    return out


BAD_CALLS = [
    # (what, callable, kwargs, exception, message prefix)
    ("id = V", forward, dict(params=P0, tokens=[[1, 7]], config=CFG), ValueError,
     "tokens: token ids must lie in [0, 7)"),
    ("negative id", forward, dict(params=P0, tokens=[[-1, 2]], config=CFG), ValueError, "tokens: token ids must lie"),
    ("float tokens", forward, dict(params=P0, tokens=[[1.0, 2.0]], config=CFG), TypeError,
     "tokens: expected integer token ids, got dtype float64"),
    ("bool tokens", forward, dict(params=P0, tokens=[[True]], config=CFG), TypeError, "tokens: expected integer"),
    ("too long", forward, dict(params=P0, tokens=np.zeros((1, 9), int), config=CFG), ValueError,
     "tokens: sequence length 9 outside [1, context = 8]"),
    ("empty", forward, dict(params=P0, tokens=np.zeros((1, 0), int), config=CFG), ValueError,
     "tokens: sequence length 0"),
    ("3-d tokens", forward, dict(params=P0, tokens=np.zeros((1, 1, 2), int), config=CFG), ValueError,
     "tokens: expected shape (T,) or (B, T)"),
    ("missing param", forward, dict(params=_params_with(**{"ln_f.b": None}), tokens=TOK, config=CFG), ValueError,
     "params: missing parameter(s) ['ln_f.b']"),
    ("extra param", forward, dict(params={**P0, "head": np.zeros((7, 16))}, tokens=TOK, config=CFG), ValueError,
     "params: unexpected parameter(s) ['head']"),
    ("wrong shape", forward, dict(params=_params_with(wte=np.zeros((7, 15))), tokens=TOK, config=CFG), ValueError,
     "params: 'wte' must have shape (7, 16), got (7, 15)"),
    ("mixed dtypes", forward, dict(params=_params_with(wte=P0["wte"].astype(np.float32)), tokens=TOK, config=CFG),
     TypeError, "params: every array must share one dtype"),
    ("int params", forward, dict(params=_params_with(wpe=np.zeros((8, 16), int)), tokens=TOK, config=CFG),
     TypeError, "params: 'wpe' must be float64 or float32"),
    ("NaN param", forward, dict(params=_params_with(**{"ln_f.g": np.full(16, np.nan)}), tokens=TOK, config=CFG),
     ValueError, "params: 'ln_f.g' contains NaN or infinite entries"),
    ("not a mapping", forward, dict(params=[1, 2], tokens=TOK, config=CFG), TypeError, "params: expected a mapping"),
    ("not a config", forward, dict(params=P0, tokens=TOK, config={"vocab_size": 7}), TypeError,
     "config: expected a TransformerConfig"),
    ("sampled seam without rng", forward, dict(params=P0, tokens=TOK, config=CFG, seam=AttentionSeam(2)),
     TypeError, "rng: a sampled seam needs an rng"),
    ("seam of another type", forward, dict(params=P0, tokens=TOK, config=CFG, seam="exact"), TypeError,
     "seam: expected an AttentionSeam or None"),
    ("targets of another shape", loss_and_grad, dict(params=P0, tokens=TOK, targets=[[1, 2]], config=CFG),
     ValueError, "targets: expected shape (1, 3)"),
    ("target id = V", loss_and_grad, dict(params=P0, tokens=TOK, targets=[[1, 2, 7]], config=CFG), ValueError,
     "targets: token ids must lie in [0, 7)"),
    ("int mask", loss_and_grad, dict(params=P0, tokens=TOK, targets=TOK, config=CFG, mask=[[1, 0, 1]]), TypeError,
     "mask: expected a boolean array"),
    ("empty mask", loss_and_grad, dict(params=P0, tokens=TOK, targets=TOK, config=CFG, mask=np.zeros((1, 3), bool)),
     ValueError, "mask: selects no position"),
    ("float tokens (loss)", loss_and_grad, dict(params=P0, tokens=[[1.5]], targets=[[1]], config=CFG), TypeError,
     "tokens: expected integer token ids"),
    ("greedy beyond the context", generate, dict(params=P0, prompt=[1, 2, 3], n_new=7, config=CFG), ValueError,
     "n_new: 3 prompt tokens + 7 new ones exceed the context (8) by 1"),
    ("negative temperature", generate, dict(params=P0, prompt=[1], n_new=2, config=CFG, temperature=-1.0), ValueError,
     "temperature: must be non-negative"),
    ("sampling without rng", generate, dict(params=P0, prompt=[1], n_new=2, config=CFG, temperature=1.0), TypeError,
     "rng: sampling at temperature > 0 needs an rng"),
    ("NaN logits", cross_entropy, dict(logits=np.full((1, 2, 3), np.nan), targets=[[0, 1]]), ValueError,
     "logits: contains NaN"),
    ("config field", TransformerConfig, dict(vocab_size=7, context=8, d_model=10, n_heads=4), ValueError,
     "n_heads: must divide d_model = 10, got 4"),
    ("float config field", TransformerConfig, dict(vocab_size=7.0, context=8), TypeError,
     "vocab_size: expected an integer"),
    ("float16 params", init_params, dict(config=CFG, rng=0, dtype=np.float16), ValueError,
     "dtype: expected float64 or float32, got float16"),
    ("alpha > 1", AttentionSeam, dict(n_samples=4, alpha=1.5), ValueError,
     "alpha: every blend weight must lie in [0, 1]"),
    ("unknown backend", AttentionSeam, dict(n_samples=4, backend="metropolis"), ValueError, "backend: expected one of"),
    ("chain options elsewhere", AttentionSeam, dict(n_samples=4, chain_options={"thin": 2}), ValueError,
     "chain_options: apply to the 'chain' backend only"),
    ("unknown chain option", AttentionSeam, dict(n_samples=4, backend="chain", chain_options={"sweeps": 2}),
     ValueError, "chain_options: unknown option(s) ['sweeps']"),
    ("repeated head", AttentionSeam, dict(n_samples=4, heads=[1, 1]), ValueError, "heads: repeated index in [1, 1]"),
    ("zero max_norm", clip_grad_norm, dict(grads={"a": np.ones(2)}, max_norm=0.0), ValueError,
     "max_norm: must be positive"),
    ("b1 = 1", AdamW, dict(params={"a": np.ones(2)}, b1=1.0), ValueError, "b1: must be in [0, 1), got 1.0"),
]


@pytest.mark.parametrize("what,func,kwargs,exc,prefix", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_gets_the_named_error(what, func, kwargs, exc, prefix):
    with pytest.raises(exc) as info:
        func(**kwargs)
    assert type(info.value) is exc and str(info.value).startswith(prefix), str(info.value)


def test_check_params_and_check_tokens_return_what_the_model_uses():
    out = check_params(P0, CFG)
    assert list(out) == list(param_shapes(CFG)) and all(out[k] is P0[k] for k in P0)
    assert check_tokens(np.array([1, 2], np.int32), CFG).dtype == np.int64
    assert check_tokens([1, 2], CFG).shape == (1, 2)


# Regressions for the problems the bad-input harness (tests/fuzz_specs/transformer_family.py) found; each is
# the parameter the caller got wrong, named in the message.
REGRESSIONS = [
    ("prompt named as prompt", generate, dict(params=P0, prompt=[[1, 9]], n_new=1, config=CFG), ValueError,
     "prompt: token ids must lie in [0, 7)"),
    ("seam that does not fit the model", forward, dict(params=P0, tokens=TOK, config=CFG,
                                                       seam=AttentionSeam(2, layers=[2]), rng=0),
     ValueError, "seam:"),
    ("seam with more draws than memory", forward, dict(params=P0, tokens=TOK, config=CFG,
                                                       seam=AttentionSeam(2**62), rng=0), ValueError, "seam:"),
    ("ffn returning text", forward, dict(params=P0, tokens=TOK, config=CFG, ffn={0: lambda u: "abc"}), TypeError,
     "ffn:"),
    ("parameters that overflow", forward, dict(params={k: np.full_like(v, 1e308) for k, v in P0.items()},
                                               tokens=TOK, config=CFG), ValueError, "params:"),
    ("check_tokens without a config", check_tokens, dict(tokens=TOK, config=None), TypeError, "config:"),
    ("huge vocabulary", TransformerConfig, dict(vocab_size=10**30, context=8), ValueError, "vocab_size:"),
    # (head_alpha iterated over range(n_heads) in Python, then allocated n_layers x n_heads: 2**62 heads hung)
    ("huge head count request", AttentionSeam(2).head_alpha, dict(n_layers=64, n_heads=2**28), ValueError, "n_heads:"),
    ("adamw params of another shape", AdamW({"a": np.ones(2)}).step,
     dict(params={"a": np.ones(3)}, grads={"a": np.ones(2)}), ValueError, "params:"),
    ("adamw gradients whose squares overflow", AdamW({"a": np.ones(2)}).step,
     dict(params={"a": np.ones(2)}, grads={"a": np.full(2, 1e300)}), ValueError, "grads:"),
]


@contextlib.contextmanager
def _deadline(seconds: float):
    """Fail (TimeoutError) instead of hanging when the block runs longer than ``seconds``."""
    def on_alarm(signum, frame):  # noqa: ARG001
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("what,func,kwargs,exc,prefix", REGRESSIONS, ids=[c[0] for c in REGRESSIONS])
def test_bad_input_regressions(what, func, kwargs, exc, prefix):
    with _deadline(2.0), pytest.raises(exc) as info:
        func(**kwargs)
    assert type(info.value) is exc and str(info.value).startswith(prefix), str(info.value)


def test_huge_n_layers_is_refused_at_once():
    """Regression: TransformerConfig(n_layers=2**63 - 1) looped over the layers to count parameters (a hang)."""
    with _deadline(2.0), pytest.raises(ValueError, match=r"^n_layers:"):
        TransformerConfig(vocab_size=7, context=8, n_layers=2**63 - 1)


def test_kv_cache_empty_bad_input():
    """KVCache.empty is a classmethod, which tests/test_bad_input.py does not walk: its spec runs here."""
    s = Spec("thermoref.transformer.KVCache.empty", args=dict(config=CFG, batch=3, dtype=np.float32),
             extra={"dtype": [("unknown name", "abc"), ("float16", np.float16), ("int", int)]})
    assert check_spec(s) == []


def test_generate_next_token_rule_is_called_with_the_state_and_its_output_checked():
    """A decoding rule sees the last logits, the step and the tokens so far; greedy as a rule equals greedy."""
    from thermoref.transformer import generate, load_pretrained

    config, params = load_pretrained("copy")
    seen = []

    def greedy(logits, step, tokens, rng):
        seen.append((logits.shape, step, tokens.shape, rng is None))
        return np.argmax(logits, axis=-1)

    out = generate(params, [[1, 2, 3]] * 2, 4, config, next_token=greedy)
    assert np.array_equal(out, generate(params, [[1, 2, 3]] * 2, 4, config))
    assert seen == [((2, config.vocab_size), s, (2, 3 + s), True) for s in range(4)]
    bad = {"wrong shape": lambda l, s, t, r: np.zeros(3, dtype=int), "float ids": lambda l, s, t, r: np.zeros(2),
           "out of range": lambda l, s, t, r: np.full(2, config.vocab_size)}
    for name, rule in bad.items():
        with pytest.raises(ValueError, match="^next_token:"):
            generate(params, [[1, 2, 3]] * 2, 2, config, next_token=rule)
    with pytest.raises(ValueError, match="^next_token:"):
        generate(params, [[1, 2, 3]], 2, config, temperature=1.0, rng=0, next_token=greedy)
    with pytest.raises(TypeError, match="^next_token:"):
        generate(params, [[1, 2, 3]], 2, config, next_token=3)
