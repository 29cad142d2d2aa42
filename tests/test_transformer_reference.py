"""The NumPy transformer against an independent PyTorch float64 reference (an oracle stored as a fixture).

``tests/fixtures/transformer_torch_reference.npz`` was written by
``tests/fixtures/make_transformer_torch_fixture.py`` (run by hand with PyTorch; its docstring gives the model,
seeds and command): a model of vocabulary 7, context 8, width 16, 2 heads, 2 layers with perturbed parameters
(LayerNorm gains, biases and positions all away from their initial values), a batch of 3 x 7 tokens (shorter than
the context), a partial target mask, and PyTorch's forward pass (its own LayerNorm, erf GELU, softmax and
matrix products), cross-entropy and autograd gradients. This test needs NumPy only.

The bound. Both sides compute the same function in float64 with different code (summation orders inside the
matrix products and reductions, SciPy's ``ndtr`` against PyTorch's ``erf``, each correct to about one ulp), so
they differ by rounding only: about 30 operations, each of relative error a few ulps (2.2e-16), with a
condition number of order 10 through the LayerNorms and softmaxes. Measured on the machine that wrote the
fixture: logits 6e-16, attention weights 4e-16, loss 2e-16, worst gradient block 1e-15 (all as
``max |difference| / max |reference|`` per array). The bound ``BOUND = 1e-12`` leaves a margin of about 1000
for other CPUs and BLAS libraries, and ``test_bound_catches_small_bugs`` shows that bugs which change the
function slightly (LayerNorm eps 1e-6 for 1e-5: 1e-4 on the logits, 2e-6 on the loss; attention logits scaled by
1/d_h in one layer; positions off by one) exceed it by at least six orders of magnitude.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pytest

from thermoref.transformer import TransformerConfig, forward, loss_and_grad, param_shapes

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "transformer_torch_reference.npz"
BOUND = 1e-12


def rel_err(actual: np.ndarray, reference: np.ndarray) -> float:
    """max |actual - reference| / max |reference| (a normwise relative error: entries near 0 carry no weight)."""
    actual, reference = np.asarray(actual, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    assert actual.shape == reference.shape, (actual.shape, reference.shape)
    return float(np.max(np.abs(actual - reference)) / np.max(np.abs(reference)))


@pytest.fixture(scope="module")
def ref() -> dict:
    with np.load(FIXTURE) as f:
        data = {k: f[k] for k in f.files}
    vocab, context, width, heads, layers, ratio = (int(v) for v in data["config"])
    cfg = TransformerConfig(vocab_size=vocab, context=context, d_model=width, n_heads=heads, n_layers=layers,
                            mlp_ratio=ratio, ln_eps=float(data["ln_eps"]))
    return {"cfg": cfg, "tokens": data["tokens"], "targets": data["targets"], "mask": data["mask"],
            "logits": data["logits"], "loss": float(data["loss"]), "attention": data["attention"],
            "params": {k[len("param/"):]: v for k, v in data.items() if k.startswith("param/")},
            "grads": {k[len("grad/"):]: v for k, v in data.items() if k.startswith("grad/")}}


def agreement(ref: dict, cfg: TransformerConfig, params: dict) -> dict[str, float]:
    """thermoref's relative errors against the fixture: logits, attention weights, loss, every gradient block."""
    logits, trace = forward(params, ref["tokens"], cfg, return_attention=True)
    loss, grads = loss_and_grad(params, ref["tokens"], ref["targets"], cfg, mask=ref["mask"])
    errs = {"logits": rel_err(logits, ref["logits"]), "attention": rel_err(trace.weights, ref["attention"]),
            "loss": abs(loss - ref["loss"]) / abs(ref["loss"])}
    assert set(grads) == set(ref["grads"])
    errs |= {f"grad {k}": rel_err(grads[k], ref["grads"][k]) for k in ref["grads"]}
    return errs


def test_fixture_is_the_documented_case(ref):
    cfg, params = ref["cfg"], ref["params"]
    assert FIXTURE.stat().st_size < 200_000
    assert (cfg.vocab_size, cfg.context, cfg.d_model, cfg.n_heads, cfg.n_layers, cfg.ln_eps) == (7, 8, 16, 2, 2, 1e-5)
    assert {k: v.shape for k, v in params.items()} == param_shapes(cfg)
    assert {k: v.shape for k, v in ref["grads"].items()} == param_shapes(cfg)
    B, T = ref["tokens"].shape
    assert (B, T) == (3, 7) and T < cfg.context  # the last position row is unused
    assert 0 < ref["mask"].sum() < ref["mask"].size  # a partial mask
    for layer in range(cfg.n_layers):  # perturbed: LayerNorm gains and biases are not at 1 and 0
        assert np.abs(params[f"blocks.{layer}.ln_1.g"] - 1).max() > 0.1
        assert np.abs(params[f"blocks.{layer}.attn.b_qkv"]).max() > 0.1
    w = ref["attention"]  # (L, B, H, T, T): causal rows of a law, not uniform
    assert w.shape == (cfg.n_layers, B, cfg.n_heads, T, T)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    assert not np.triu(w, k=1).any()
    uniform = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]  # (T, T)
    assert np.abs(w - uniform).max() > 0.1  # the heads do not attend uniformly
    assert w[..., 1:, :].max(axis=-1).mean() < 0.9  # nor one-hot: every weight matters


def test_forward_logits_and_attention_weights(ref):
    logits, trace = forward(ref["params"], ref["tokens"], ref["cfg"], return_attention=True)
    assert logits.dtype == np.float64
    assert rel_err(logits, ref["logits"]) <= BOUND
    assert rel_err(trace.weights, ref["attention"]) <= BOUND


def test_loss_and_every_gradient(ref):
    loss, grads = loss_and_grad(ref["params"], ref["tokens"], ref["targets"], ref["cfg"], mask=ref["mask"])
    assert abs(loss - ref["loss"]) <= BOUND * abs(ref["loss"])
    assert list(grads) == list(param_shapes(ref["cfg"]))
    errs = {k: rel_err(grads[k], ref["grads"][k]) for k in grads}
    worst = max(errs, key=errs.get)
    assert errs[worst] <= BOUND, (worst, errs[worst])
    T = ref["tokens"].shape[1]
    assert not grads["wpe"][T:].any() and not ref["grads"]["wpe"][T:].any()  # unused positions: exactly 0


def test_bound_catches_small_bugs(ref):
    """Each mutation is a plausible slip that changes the function a little; it must fail the bound by far."""
    cfg, params = ref["cfg"], ref["params"]
    D = cfg.d_model
    scaled = dict(params)  # attention logits divided by d_h instead of sqrt(d_h) in layer 0: scale the queries
    s = 1.0 / np.sqrt(cfg.head_dim)
    scaled["blocks.0.attn.w_qkv"] = params["blocks.0.attn.w_qkv"] * np.r_[np.full(D, s), np.ones(2 * D)]
    scaled["blocks.0.attn.b_qkv"] = params["blocks.0.attn.b_qkv"] * np.r_[np.full(D, s), np.ones(2 * D)]
    shifted = dict(params, wpe=np.roll(params["wpe"], 1, axis=0))  # positions off by one
    mutants = {"ln_eps 1e-6": (dataclasses.replace(cfg, ln_eps=1e-6), params),
               "logits / d_h": (cfg, scaled), "positions + 1": (cfg, shifted)}
    for name, (c, p) in mutants.items():
        errs = agreement(ref, c, p)
        assert min(errs.values()) > 1e6 * BOUND, (name, min(errs, key=errs.get), min(errs.values()))
