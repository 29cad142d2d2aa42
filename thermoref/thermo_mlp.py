r"""A thermodynamic MLP: digital input currents, Langevin-neuron activations, ridge-regression readout.

Each hidden layer computes digital input currents :math:`I = hW + c`, then lets a layer of Langevin neurons
(:func:`thermoref.langevin.langevin_neuron`) evolve for a fixed observation time :math:`t_f` from rest; the
(replica-averaged) final states are the activations. Hidden weights are random and fixed (a random-feature
model); only the linear readout is fitted, in closed form by ridge regression.

The cost model keeps three quantities apart. *Modeled physical time* is :math:`\sum_\ell t_f` per input: the
neurons of a layer relax in parallel, so it does not grow with width. *Digital FLOPs* (input currents and
readout) do grow with width, :math:`2(\sum_\ell n_{\ell-1}n_\ell + n_L n_{\mathrm{out}})` per input. *Wall time*
of this NumPy simulation grows with width × steps × replicas and says nothing about hardware.

References: Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", NeurIPS;
Hoerl, A. E. & Kennard, R. W. (1970) "Ridge regression", Technometrics 12, 55–67; Coles, P. et al. (2023)
"Thermodynamic AI and the fluctuation frontier", arXiv:2302.06584 (Langevin neurons).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_rng, check_positive_int, check_real, check_temperature
from .langevin import _steps, langevin_neuron

__all__ = ["ridge_fit", "CostModel", "ThermodynamicMLP", "ThermodynamicFFN"]

#: floating-point operations of one Euler–Maruyama step of one quartic neuron (drift 6, noise 2, update 2)
EM_STEP_FLOPS = 10


def ridge_fit(H: ArrayLike, y: ArrayLike, penalty: float) -> np.ndarray:
    r"""Ridge regression weights :math:`W = (H^\top H + \lambda I)^{-1}H^\top y`, :math:`\lambda` the ``penalty``.

    Parameters
    ----------
    H : array_like of shape (K, F)
        Features (append a column of ones for a bias).
    y : array_like of shape (K,) or (K, n_out)
        Targets.
    penalty : float
        Ridge penalty :math:`\lambda \ge 0` (0 is least squares and needs full column rank).

    Returns
    -------
    ndarray of shape (F,) or (F, n_out)

    Examples
    --------
    >>> from thermoref.thermo_mlp import ridge_fit
    >>> H = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> print(np.round(ridge_fit(H, [1.0, 2.0, 3.0], 0.0), 6))
    [1. 2.]
    """
    H = as_float_array(H, "H", ndim=2)
    y = as_float_array(y, "y", min_ndim=1)
    if y.shape[0] != H.shape[0] or y.ndim > 2:
        raise ValueError(f"y: expected shape ({H.shape[0]},) or ({H.shape[0]}, n_out), got {y.shape}")
    penalty = check_real(penalty, "penalty", nonnegative=True)
    G = H.T @ H + penalty * np.eye(H.shape[1])  # (F, F)
    return np.linalg.solve(G, H.T @ y)


@dataclass(frozen=True)
class CostModel:
    """Cost of one batch through a :class:`ThermodynamicMLP`.

    Attributes
    ----------
    physical_time : float
        Modeled device time per input, :math:`\\sum_\\ell t_f` (independent of width and batch).
    digital_flops : int
        Input currents and readout for the batch (grows with width).
    simulation_flops : int
        Work of simulating the neurons digitally (batch × replicas × width × steps × 10): what wall time
        tracks in this reference, not what a device would spend.
    """

    physical_time: float
    digital_flops: int
    simulation_flops: int


class ThermodynamicMLP:
    """Random-feature network whose hidden activations are Langevin neurons observed at time ``t_f``.

    Parameters
    ----------
    n_in : int
        Input dimension.
    widths : sequence of int
        Hidden layer widths.
    rng : numpy.random.Generator or int
        Draws the fixed hidden weights (:math:`N(0, \\text{scale}^2/\\text{fan-in})`) and biases (uniform).
    kT, t_f, dt, J2, J3, J4, rails, tau0
        Neuron physics, as in :func:`thermoref.langevin.langevin_neuron`.
    replicas : int
        Independent neuron copies averaged per activation (1 = a single stochastic read-out).
    input_scale : float
        Scale of the hidden weights and biases.

    Examples
    --------
    >>> from thermoref.thermo_mlp import ThermodynamicMLP
    >>> X = np.linspace(-1, 1, 40)[:, None]
    >>> net = ThermodynamicMLP(1, [30], rng=0, kT=0.0, J4=1.0, input_scale=3.0).fit(X, X[:, 0] ** 2, penalty=1e-6, rng=1)
    >>> bool(np.abs(net.predict(X, rng=2) - X[:, 0] ** 2).max() < 0.05)
    True
    """

    def __init__(self, n_in: int, widths, *, rng, kT: float = 0.0, t_f: float = 1.0, dt: float = 0.1, J2: float = 1.0,
                 J3: float = 0.0, J4: float = 0.0, rails: tuple[float, float] | None = None, replicas: int = 1,
                 input_scale: float = 1.0, tau0: float = 1.0):
        rng = as_rng(rng)
        self.n_in = check_positive_int(n_in, "n_in")
        self.widths = tuple(check_positive_int(w, "widths") for w in widths)
        if not self.widths:
            raise ValueError("widths: need at least one hidden layer")
        self.kT = float(check_temperature(kT, "kT", allow_inf=False))
        self.dt, self.t_f, self.tau0 = float(dt), float(t_f), float(tau0)
        _, self.n_steps = _steps(t_f, dt, tau0)
        self.J2, self.J3, self.J4 = float(J2), float(J3), float(J4)
        self.rails = rails
        self.replicas = check_positive_int(replicas, "replicas")
        scale = float(as_float_array(input_scale, "input_scale", ndim=0))
        fans = (self.n_in,) + self.widths
        self.weights = [rng.standard_normal((a, b)) * scale / np.sqrt(a) for a, b in zip(fans[:-1], fans[1:])]
        self.biases = [rng.uniform(-scale, scale, b) for b in self.widths]
        self.readout: np.ndarray | None = None

    def features(self, X: ArrayLike, *, rng) -> np.ndarray:
        """Hidden activations of the last layer, shape (K, widths[-1])."""
        rng = as_rng(rng)
        H = as_float_array(X, "X", ndim=2)
        if H.shape[1] != self.n_in:
            raise ValueError(f"X: expected shape (K, {self.n_in}), got {H.shape}")
        for W, c in zip(self.weights, self.biases):
            current = H @ W + c  # (K, width): the digital part
            x = langevin_neuron(np.zeros((self.replicas,) + current.shape), kT=self.kT, dt=self.dt, t_f=self.t_f,
                                rng=rng, J2=self.J2, J3=self.J3, J4=self.J4, I=current, rails=self.rails,
                                tau0=self.tau0)  # (replicas, K, width)
            H = x.mean(axis=0)
        return H

    def fit(self, X: ArrayLike, y: ArrayLike, *, penalty: float, rng) -> "ThermodynamicMLP":
        """Fit the readout (with bias) by ridge regression on the features of ``X``; returns ``self``."""
        H = self.features(X, rng=rng)
        self.readout = ridge_fit(np.hstack([H, np.ones((H.shape[0], 1))]), y, penalty)
        return self

    def predict(self, X: ArrayLike, *, rng) -> np.ndarray:
        """Readout of fresh (stochastic) features; shape (K,) or (K, n_out)."""
        if self.readout is None:
            raise ValueError("readout: call fit before predict")
        H = self.features(X, rng=rng)
        return np.hstack([H, np.ones((H.shape[0], 1))]) @ self.readout

    def cost(self, batch: int, n_out: int = 1) -> CostModel:
        """Modeled physical time, digital FLOPs and simulation FLOPs for ``batch`` inputs (see :class:`CostModel`)."""
        batch = check_positive_int(batch, "batch")
        n_out = check_positive_int(n_out, "n_out")
        fans = (self.n_in,) + self.widths
        currents = sum(2 * a * b for a, b in zip(fans[:-1], fans[1:]))
        readout = 2 * (self.widths[-1] + 1) * n_out
        sim = EM_STEP_FLOPS * self.replicas * sum(self.widths) * self.n_steps
        return CostModel(len(self.widths) * self.t_f, batch * (currents + readout), batch * sim)


class ThermodynamicFFN(ThermodynamicMLP):
    """A single hidden Langevin layer of ``width`` neurons (the feed-forward block); see :class:`ThermodynamicMLP`."""

    def __init__(self, n_in: int, width: int, **kwargs):
        super().__init__(n_in, (width,), **kwargs)
