"""Tests of thermoref.thermo_mlp: ridge readout against ``numpy.linalg.lstsq``, features against the neuron
module run by hand, the cost model against a count of the operations of an actual run (matrix products and
Euler–Maruyama steps observed while the network computes), replica averaging against the exact variance
reduction 1/R, and a small regression task."""

import numpy as np
import pytest
from scipy import stats

import thermoref.langevin as langevin_module
import thermoref.thermo_mlp as thermo_mlp_module
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


def test_regression_task_at_kT_zero():
    """At kT = 0 the features are a deterministic map: a random-feature fit of a smooth target (no statistics)."""
    rng = np.random.default_rng(4)
    X, Xt = rng.uniform(-2, 2, (300, 2)), rng.uniform(-2, 2, (300, 2))
    f = lambda Z: np.sin(Z[:, 0]) + 0.5 * Z[:, 1] ** 2  # noqa: E731
    det = ThermodynamicFFN(2, 128, rng=5, kT=0.0, J4=1.0, input_scale=2.0).fit(X, f(X), penalty=1e-4, rng=6)
    assert np.sqrt(np.mean((det.predict(Xt, rng=7) - f(Xt)) ** 2)) < 0.02
    assert np.array_equal(det.predict(Xt, rng=7), det.predict(Xt, rng=8))  # no randomness at kT = 0


def _replica_variance_z(R, claimed_R, M=4000):
    """z of sum_j (claimed_R * s2_R[j] - s2_1[j]) over the 16 neurons of one layer at a fixed input, and the
    power of the same statistic against a lost replica (15 averaged where claimed_R = 16 are claimed).

    s2_1[j], s2_R[j]: sample variances of neuron j over M independent read-outs (the input repeated M times)
    with 1 and R replicas. Under the null (R = claimed_R independent replicas averaged) E[R s2_R] = E[s2_1]
    up to O(1/M); the standard error comes from the fourth moments, Var(s2) = (m4 - s2^2)/M, so z is N(0, 1)
    asymptotically (studentized sample variances, M = 4000 per neuron). A lost replica shifts the sum by
    (16/15 - 1) sum_j s2_1[j]; the normal power of that shift uses the same standard error."""
    X = np.tile([[0.7, -1.2]], (M, 1))  # (M, 2): one input, M independent read-outs
    kw = dict(kT=0.05, J4=1.0, input_scale=2.0, t_f=1.0, dt=0.1)
    one = ThermodynamicFFN(2, 16, rng=5, **kw)
    many = ThermodynamicFFN(2, 16, rng=5, replicas=R, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(one.weights, many.weights))  # the same network
    F1, FR = one.features(X, rng=6), many.features(X, rng=7)  # (M, 16) each

    def var_and_se2(F):
        d = F - F.mean(0)
        s2 = (d**2).mean(0)
        return s2, ((d**4).mean(0) - s2**2) / F.shape[0]

    s1, e1 = var_and_se2(F1)
    sR, eR = var_and_se2(FR)
    se = np.sqrt(np.sum(claimed_R**2 * eR + e1))
    power = stats.norm.sf(stats.norm.isf(5e-4) - (16 / 15 - 1) * np.sum(s1) / se)
    return float(np.sum(claimed_R * sR - s1) / se), float(power)


def test_replica_averaging_divides_the_activation_variance_by_R():
    """16 independent replicas averaged: the read-out variance of every neuron is 1/16 of one replica's.

    Statistic: the studentized z of sum_j (16 s2_16[j] - s2_1[j]) (see _replica_variance_z), alpha = 1e-3.
    Sized for a lost replica (15 averaged where 16 are claimed, a 6.7 % variance error): the shift is 7.7
    standard errors, computed power 0.99999 (asserted > 0.99); power check: the network with 15 replicas is
    rejected as a 16-replica one, and so, grossly, is a single replica (the shared-noise bug: no reduction).
    """
    crit = stats.norm.isf(5e-4)
    z, power = _replica_variance_z(16, 16)
    assert abs(z) < crit and power > 0.99
    assert abs(_replica_variance_z(15, 16)[0]) > crit  # power check: a lost replica
    assert abs(_replica_variance_z(1, 16)[0]) > crit  # no averaging at all


def test_cost_model_against_an_operation_count_of_a_run(monkeypatch):
    """The cost model against what one batch through the network actually does, counted while it runs:

    - physical time: the observation time t_f of every Langevin layer the network launches (each launch runs
      all its neurons in parallel, so launches add and widths do not);
    - digital FLOPs: every matrix product observed (through an ndarray subclass that logs np.matmul calls on
      the weights and the read-out), 2 m k n each (one multiply and one add per term); the cost model counts
      matrix products only, so the hidden biases (B * sum of widths additions) are outside it;
    - simulation FLOPs: the neuron-steps executed (elements through the force -V', once per EM step),
      times the operations of one step: those of the force counted by running it on a counting array, plus
      the 4 of the update x + h F + s z (two multiplies, two adds).
    The formula of ``cost`` is never re-typed here.
    """
    matmuls, launches, neuron_steps, ops = [], [], [0], [0]

    class Logged(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            args = [np.asarray(a) for a in inputs]
            if ufunc is np.matmul:
                matmuls.append((args[0].shape, args[1].shape))
            return getattr(ufunc, method)(*args, **kwargs)

    class Counting(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            ops[0] += 1
            return getattr(ufunc, method)(*[np.asarray(a) for a in inputs], **kwargs).view(Counting)

    langevin_module._F(np.ones(1).view(Counting), 1.0, 1.0, 1.0, 1.0)  # one element through the force
    flops_per_step = ops[0] + 4
    assert flops_per_step == 10  # by hand: -V'(x) = I - x (J2 + x (J3 + J4 x)) is 6 operations, the update 4

    real_force, real_neuron = langevin_module._F, thermo_mlp_module.langevin_neuron

    def force(x, *coef):
        out = real_force(x, *coef)
        neuron_steps[0] += out.size
        return out

    def neuron(x0, **kw):
        launches.append((np.shape(x0), kw["t_f"]))
        return real_neuron(x0, **kw)

    for n_in, widths, replicas, batch, n_out in [(3, [10, 20], 2, 7, 4), (3, [100, 200, 50], 1, 5, 2)]:
        net = ThermodynamicMLP(n_in, widths, rng=0, t_f=1.0, dt=0.25, replicas=replicas, J4=1.0)
        rng = np.random.default_rng(1)
        net.fit(rng.standard_normal((30, n_in)), rng.standard_normal((30, n_out)), penalty=0.1, rng=2)
        net.weights = [W.view(Logged) for W in net.weights]
        net.readout = net.readout.view(Logged)
        matmuls.clear()
        launches.clear()
        neuron_steps[0] = 0
        with monkeypatch.context() as m:
            m.setattr(langevin_module, "_F", force)
            m.setattr(thermo_mlp_module, "langevin_neuron", neuron)
            net.predict(rng.standard_normal((batch, n_in)), rng=3)
        c = net.cost(batch=batch, n_out=n_out)
        assert [shape for shape, _ in launches] == [(replicas, batch, w) for w in widths]
        assert c.physical_time == sum(t_f for _, t_f in launches)
        assert len(matmuls) == len(widths) + 1  # the currents of every layer, then the read-out
        assert c.digital_flops == sum(2 * a[0] * a[1] * b[1] for a, b in matmuls)
        assert neuron_steps[0] == replicas * batch * sum(widths) * 4  # t_f / dt = 4 steps per launch
        assert c.simulation_flops == flops_per_step * neuron_steps[0]


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
