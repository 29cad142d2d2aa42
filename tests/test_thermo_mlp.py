"""Tests of thermoref.thermo_mlp: ridge readout against ``numpy.linalg.lstsq``, features against the neuron
module run by hand, the cost model against hand counts, and a small regression task."""

import numpy as np
import pytest

from thermoref.langevin import langevin_neuron
from thermoref.thermo_mlp import ThermodynamicFFN, ThermodynamicMLP, ridge_fit


def test_ridge_closed_form_matches_augmented_lstsq():
    rng = np.random.default_rng(0)
    H, y, lam = rng.standard_normal((50, 7)), rng.standard_normal((50, 2)), 0.3
    aug_H = np.vstack([H, np.sqrt(lam) * np.eye(7)])
    aug_y = np.vstack([y, np.zeros((7, 2))])
    ref = np.linalg.lstsq(aug_H, aug_y, rcond=None)[0]
    np.testing.assert_allclose(ridge_fit(H, y, lam), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ridge_fit(H, y[:, 0], 0.0), np.linalg.lstsq(H, y[:, 0], rcond=None)[0], rtol=1e-11)


def test_features_are_langevin_neurons_driven_by_digital_currents():
    net = ThermodynamicMLP(3, [5, 4], rng=1, kT=0.0, J4=1.0, t_f=0.5, dt=0.1)
    X = np.random.default_rng(2).standard_normal((6, 3))
    h = X
    for W, c in zip(net.weights, net.biases):
        h = langevin_neuron(np.zeros((6, W.shape[1])), kT=0.0, dt=0.1, t_f=0.5, rng=0, J4=1.0, I=h @ W + c)
    np.testing.assert_array_max_ulp(net.features(X, rng=3), h, 4)


def test_regression_task_and_noise_averaging():
    rng = np.random.default_rng(4)
    X, Xt = rng.uniform(-2, 2, (300, 2)), rng.uniform(-2, 2, (300, 2))
    f = lambda Z: np.sin(Z[:, 0]) + 0.5 * Z[:, 1] ** 2  # noqa: E731
    rmse = lambda net: np.sqrt(np.mean((net.predict(Xt, rng=7) - f(Xt)) ** 2))  # noqa: E731
    det = ThermodynamicFFN(2, 128, rng=5, kT=0.0, J4=1.0, input_scale=2.0).fit(X, f(X), penalty=1e-4, rng=6)
    assert rmse(det) < 0.02
    noisy1 = ThermodynamicFFN(2, 128, rng=5, kT=0.05, J4=1.0, input_scale=2.0).fit(X, f(X), penalty=1e-4, rng=6)
    noisy16 = ThermodynamicFFN(2, 128, rng=5, kT=0.05, J4=1.0, input_scale=2.0, replicas=16).fit(X, f(X), penalty=1e-4, rng=6)
    assert rmse(noisy16) < 0.6 * rmse(noisy1)  # replica averaging cuts activation noise ~1/sqrt(16)


def test_cost_model_counts():
    net = ThermodynamicMLP(3, [10, 20], rng=0, t_f=2.0, dt=0.5, replicas=2)
    c = net.cost(batch=7, n_out=4)
    assert c.physical_time == 4.0  # two layers of t_f, width-independent
    assert c.digital_flops == 7 * (2 * 3 * 10 + 2 * 10 * 20 + 2 * 21 * 4)
    assert c.simulation_flops == 7 * 10 * 2 * 30 * 4
    wide = ThermodynamicMLP(3, [100, 200], rng=0, t_f=2.0, dt=0.5).cost(batch=7, n_out=4)
    assert wide.physical_time == c.physical_time and wide.digital_flops > 50 * c.digital_flops


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: ridge_fit(np.ones((3, 2)), np.ones(4), 0.1), "y"),
        (lambda: ridge_fit(np.ones((3, 2)), np.ones(3), -1.0), "penalty"),
        (lambda: ThermodynamicMLP(2, [], rng=0), "widths"),
        (lambda: ThermodynamicMLP(2, [3], rng=0, kT=-1.0), "kT"),
        (lambda: ThermodynamicMLP(2, [3], rng=0, t_f=1.0, dt=0.3), "t_f"),
        (lambda: ThermodynamicMLP(2, [3], rng=0).features(np.ones((4, 3)), rng=0), "X"),
        (lambda: ThermodynamicMLP(2, [3], rng=0).predict(np.ones((4, 2)), rng=0), "readout"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="^width:"):
        ThermodynamicFFN(2, 0, rng=0)
    with pytest.raises(TypeError, match="^widths:"):
        ThermodynamicMLP(2, None, rng=0)
    net = ThermodynamicMLP(2, [3], rng=0, J4=1.0, dt=0.5, t_f=5.0)
    with pytest.raises(ValueError, match="^X:"):  # the neurons diverge for these inputs: the inputs are named
        net.features(np.full((2, 2), 1e6), rng=0)
    with pytest.raises(ValueError, match="^H:"):
        ridge_fit(np.ones((4, 2)), np.ones(4), 0.0)  # dependent columns, no penalty
