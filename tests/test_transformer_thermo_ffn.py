"""Tests of thermoref.transformer.thermo_ffn: a Langevin-neuron FFN fitted in place of one block's MLP.

Oracles: the MLP's outputs recomputed here from the parameters with GELU written with scipy.special.erf (not
the model's GELU); the LayerNorm output's row moments; the forward pass without replacement (a replacement
returning the recorded outputs must give the same logits to a few ulps); the FLOP count from the shapes of the
arrays the fitted network multiplies. The fit is judged by a relative-error bound that the wrong fits it is
sized against (a zero readout, a readout fitted to shuffled targets) fail by a wide margin.
"""

import numpy as np
import pytest
from scipy.special import erf

from thermoref.transformer import TransformerConfig, forward, init_params, make_batch, get_task
from thermoref.transformer.thermo_ffn import ThermoFFNBlock, fit_thermo_ffn, mlp_activations
from thermoref.thermo_mlp import ridge_fit

EPS = np.finfo(float).eps
TASK = get_task("copy", length=4, n_symbols=6)
CFG = TransformerConfig(vocab_size=TASK.vocab_size, context=TASK.seq_len - 1, d_model=16, n_heads=2, n_layers=2)


def _params():
    """A tiny model whose MLPs are clearly nonlinear: input weights of variance 4/D (GELU well away from linear)."""
    p = init_params(CFG, rng=0)
    g = np.random.default_rng(1)
    for layer in range(CFG.n_layers):
        p[f"blocks.{layer}.mlp.w_in"] = g.standard_normal(p[f"blocks.{layer}.mlp.w_in"].shape) * 2 / np.sqrt(16)
        p[f"blocks.{layer}.mlp.b_in"] = g.uniform(-0.5, 0.5, 4 * 16)
        p[f"blocks.{layer}.mlp.w_out"] = g.standard_normal(p[f"blocks.{layer}.mlp.w_out"].shape) / np.sqrt(64)
        p[f"blocks.{layer}.ln_2.g"] = 1 + 0.2 * g.standard_normal(16)
    return p


PARAMS = _params()
TRAIN = make_batch(TASK, 64, rng=10).tokens  # (64, 8): 512 training positions
HELD = make_batch(TASK, 32, rng=11, split="eval").tokens
FIT = dict(width=256, rng=5, t_f=1.0, dt=0.1, kT=0.0, J4=1.0, input_scale=1.5, penalty=1e-4)
BOUND = 0.05  # relative error a good fit must beat (it scores 0.004-0.006 here); the wrong fits score >= 0.9


def gelu(x):
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


@pytest.mark.parametrize("layer", [0, 1])
def test_activations_are_the_mlp_of_the_layernorm_output(layer):
    u, y = mlp_activations(PARAMS, TRAIN, CFG, layer)
    assert u.shape == y.shape == TRAIN.shape + (16,)
    p_ = f"blocks.{layer}."
    oracle = gelu(u @ PARAMS[p_ + "mlp.w_in"] + PARAMS[p_ + "mlp.b_in"]) @ PARAMS[p_ + "mlp.w_out"] \
        + PARAMS[p_ + "mlp.b_out"]
    np.testing.assert_allclose(y, oracle, rtol=0, atol=1e-13)
    xhat = (u - PARAMS[p_ + "ln_2.b"]) / PARAMS[p_ + "ln_2.g"]  # the normalized stream before gain and bias
    np.testing.assert_allclose(xhat.mean(axis=-1), 0, atol=1e-12)
    assert np.all((xhat.var(axis=-1) > 0.9) & (xhat.var(axis=-1) < 1))  # sigma^2 / (sigma^2 + eps) < 1


def test_replacing_the_mlp_by_its_recorded_outputs_leaves_the_logits_unchanged():
    u, y = mlp_activations(PARAMS, TRAIN, CFG, 1)

    def replay(v):
        assert np.array_equal(v, u)
        return y

    np.testing.assert_allclose(forward(PARAMS, TRAIN, CFG, ffn={1: replay}), forward(PARAMS, TRAIN, CFG),
                               rtol=0, atol=0)


@pytest.mark.parametrize("layer", [0, 1])
def test_fit_beats_the_bound_that_wrong_fits_fail(layer):
    block = fit_thermo_ffn(PARAMS, TRAIN, CFG, layer, **FIT)
    u, y = mlp_activations(PARAMS, HELD, CFG, layer)
    held_error = block.relative_error(u, y, rng=0)
    assert block.train_error < BOUND and held_error < BOUND
    u_train, y_train = mlp_activations(PARAMS, TRAIN, CFG, layer)  # kT = 0: a fresh read-out repeats the fit's
    assert abs(block.relative_error(u_train, y_train, rng=9) - block.train_error) < 1e-12
    net = block.net
    # wrong fit 1: a zero readout (the replacement outputs 0): error ||y|| / ||y - ybar|| >= 1
    zero = ThermoFFNBlock(net=_with_readout(net, np.zeros_like(net.readout)), layer=layer, train_error=np.nan)
    assert zero.relative_error(u, y, rng=0) >= 1.0
    # wrong fit 2: the same features fitted to targets shuffled across tokens
    U, Y = (a.reshape(-1, 16) for a in mlp_activations(PARAMS, TRAIN, CFG, layer))
    H = np.hstack([net.features(U, rng=0), np.ones((len(U), 1))])
    shuffled = ridge_fit(H, np.random.default_rng(2).permutation(Y), FIT["penalty"])
    wrong = ThermoFFNBlock(net=_with_readout(net, shuffled), layer=layer, train_error=np.nan)
    assert wrong.relative_error(u, y, rng=0) > 0.9


def _with_readout(net, readout):
    import copy

    other = copy.copy(net)
    other.readout = readout
    return other


def test_wider_and_longer_observed_layers_fit_better():
    u, y = mlp_activations(PARAMS, HELD, CFG, 1)
    narrow = fit_thermo_ffn(PARAMS, TRAIN, CFG, 1, **{**FIT, "width": 16}).relative_error(u, y, rng=0)
    wide = fit_thermo_ffn(PARAMS, TRAIN, CFG, 1, **FIT).relative_error(u, y, rng=0)
    # t_f = 0.1: one step from rest, x = I dt, so the features are linear in u and so is the fit
    linear = fit_thermo_ffn(PARAMS, TRAIN, CFG, 1, **{**FIT, "t_f": 0.1}).relative_error(u, y, rng=0)
    assert wide < 0.5 * narrow and wide < 0.5 * linear
    U, Y = (a.reshape(-1, 16) for a in mlp_activations(PARAMS, TRAIN, CFG, 1))
    Uh, Yh = u.reshape(-1, 16), y.reshape(-1, 16)
    W = ridge_fit(np.hstack([U, np.ones((len(U), 1))]), Y, 1e-4)  # the best affine map, by ridge
    affine = np.linalg.norm(np.hstack([Uh, np.ones((len(Uh), 1))]) @ W - Yh) / np.linalg.norm(Yh - Yh.mean(0))
    assert abs(linear - affine) < 0.02  # the t_f = dt features do no better than an affine fit


def test_same_seed_same_bits_and_the_noise_is_the_samplers():
    a = fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "kT": 0.05, "width": 32})
    b = fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "kT": 0.05, "width": 32})
    assert np.array_equal(a.net.readout, b.net.readout) and a.train_error == b.train_error
    l1 = forward(PARAMS, HELD, CFG, ffn={0: a.sampler(rng=3)})
    l2 = forward(PARAMS, HELD, CFG, ffn={0: b.sampler(rng=np.random.default_rng(3))})
    l3 = forward(PARAMS, HELD, CFG, ffn={0: a.sampler(rng=4)})
    assert np.array_equal(l1, l2) and not np.array_equal(l1, l3)
    f = a.sampler(rng=3)
    u, _ = mlp_activations(PARAMS, HELD, CFG, 0)
    assert not np.array_equal(f(u), f(u))  # successive calls continue the stream: fresh read-outs
    cold = fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "width": 32})
    assert np.array_equal(cold(u, rng=1), cold(u, rng=2))  # kT = 0: deterministic features


def test_cost_counts_the_products_the_network_does():
    block = fit_thermo_ffn(PARAMS, TRAIN, CFG, 1, **{**FIT, "width": 48, "replicas": 2, "kT": 0.01})
    c = block.cost(n_tokens=10)
    W_in, W_out = block.net.weights[0], block.net.readout
    assert W_in.shape == (16, 48) and W_out.shape == (49, 16)
    assert c.digital_flops == 10 * 2 * (W_in.size + W_out.size)
    assert c.physical_time == 1.0 and c.simulation_flops == 10 * 10 * 2 * 48 * 10  # 10 flops/step, R, w, steps
    assert block.cost().digital_flops * 10 == c.digital_flops


@pytest.mark.parametrize("call,message", [
    (lambda: mlp_activations(PARAMS, TRAIN, CFG, 2), "layer:"),
    (lambda: mlp_activations(PARAMS, TRAIN + 100, CFG, 0), "tokens:"),
    (lambda: mlp_activations(PARAMS, TRAIN, "cfg", 0), "config:"),
    (lambda: fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "width": 0}), "width:"),
    (lambda: fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "penalty": -1.0}), "penalty:"),
    (lambda: fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "t_f": 0.15}), "t_f:"),
    (lambda: fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "rng": None}), "rng:"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert str(err.value).startswith(message)


def test_bad_input_to_the_fitted_block():
    block = fit_thermo_ffn(PARAMS, TRAIN, CFG, 0, **{**FIT, "width": 8})
    u, y = mlp_activations(PARAMS, HELD, CFG, 0)
    for call, message in [(lambda: block(u[..., :5], rng=0), "u:"), (lambda: block(u * np.nan, rng=0), "u:"),
                          (lambda: block(u * 1e307, rng=0), "u:"),
                          (lambda: block.relative_error(u, y[:3], rng=0), "y:"),
                          (lambda: block.relative_error(u, np.ones_like(y), rng=0), "y:"),
                          (lambda: block.cost(0), "n_tokens:"), (lambda: block.sampler(rng="0"), "rng:")]:
        with pytest.raises((ValueError, TypeError)) as err:
            call()
        assert str(err.value).startswith(message)
