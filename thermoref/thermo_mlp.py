r"""A thermodynamic MLP: digital input currents, Langevin-neuron activations, ridge-regression readout.

Each hidden layer computes digital input currents :math:`I = hW + c`, then lets a layer of Langevin neurons
(:func:`thermoref.langevin.langevin_neuron`) evolve for a fixed observation time :math:`t_f` from rest; the
(replica-averaged) final states are the activations. Hidden weights are random and fixed (a random-feature
model); only the linear readout is fitted, in closed form by ridge regression.

The cost model keeps three quantities apart. *Modeled physical time* is :math:`\sum_\ell t_f` per input: the
neurons of a layer relax in parallel, so it does not grow with width. *Digital FLOPs* (the matrix products of
the input currents and of the readout, whose last row is its bias) do grow with width,
:math:`2(\sum_\ell n_{\ell-1}n_\ell + (n_L + 1)n_{\mathrm{out}})` per input; the additions of the hidden biases
(:math:`\sum_\ell n_\ell` per input) are not counted. *Wall time*
of this NumPy simulation grows with width × steps × replicas and says nothing about hardware.

References: Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", NeurIPS;
Hoerl, A. E. & Kennard, R. W. (1970) "Ridge regression", Technometrics 12, 55–67; Coles, P. et al. (2023)
"Thermodynamic AI and the fluctuation frontier", arXiv:2302.06584 (Langevin neurons).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real, check_temperature
from .langevin import _steps, langevin_neuron

__all__ = ["ridge_fit", "CostModel", "ThermodynamicMLP", "ThermodynamicFFN"]

#: floating-point operations of one Euler–Maruyama step of one quartic neuron (drift 6, noise 2, update 2)
EM_STEP_FLOPS = 10


def ridge_fit(H: ArrayLike, y: ArrayLike, penalty: float) -> np.ndarray:
    r"""Ridge regression weights :math:`W = (H^\top H + \lambda I)^{-1}H^\top y`, :math:`\lambda` the ``penalty``.

    Parameters
    ----------
    H : array_like of shape (B, F)
        Features (append a column of ones for a bias).
    y : array_like of shape (B,) or (B, n_out)
        Targets.
    penalty : float
        Ridge penalty :math:`\lambda \ge 0` (0 is least squares and needs full column rank).

    Returns
    -------
    ndarray of shape (F,) or (F, n_out)
        The weights.

    Notes
    -----
    .. math:: W = \arg\min_W \|HW - y\|^2 + \lambda\|W\|^2 = (H^\top H + \lambda I)^{-1}H^\top y ,

    the closed-form read-out of a random-feature model: only this linear layer is trained.

    References
    ----------
    Hoerl, A. E. & Kennard, R. W. (1970) "Ridge regression: biased estimation for nonorthogonal problems",
    Technometrics 12, 55–67.

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
    with np.errstate(all="ignore"):
        G = H.T @ H + penalty * np.eye(H.shape[1])  # (F, F)
        rhs = H.T @ y
    if not np.isfinite(G).all():
        raise ValueError("H: H^T H overflows float64 (entries too large)")
    if not np.isfinite(rhs).all():
        raise ValueError("y: H^T y overflows float64 (entries too large)")
    try:
        with np.errstate(all="ignore"):
            W = np.linalg.solve(G, rhs)
    except np.linalg.LinAlgError:
        raise ValueError("H: H^T H + penalty I is singular (H has dependent columns); use penalty > 0") from None
    if not np.isfinite(W).all():
        raise ValueError("H: the ridge system is too ill-conditioned for float64; use a larger penalty")
    return W


@dataclass(frozen=True)
class CostModel:
    r"""Cost of one batch through a :class:`ThermodynamicMLP` (returned by :meth:`ThermodynamicMLP.cost`).

    Attributes
    ----------
    physical_time : float
        Modeled device time per input, :math:`\sum_\ell t_f` (independent of width and batch).
    digital_flops : int
        Input currents and readout for the batch (grows with width).
    simulation_flops : int
        Work of simulating the neurons digitally (batch × replicas × width × steps × 10): what wall time
        tracks in this reference, not what a device would spend.
    """

    physical_time: float
    digital_flops: int
    simulation_flops: int


def _check_widths(widths: object) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__") or \
            (isinstance(widths, np.ndarray) and widths.ndim != 1):
        raise TypeError(f"widths: expected a sequence of positive integers, got {type(widths).__name__}")
    out = tuple(check_positive_int(w, "widths") for w in widths)
    if not out:
        raise ValueError("widths: need at least one hidden layer")
    return out


class ThermodynamicMLP:
    r"""Random-feature network whose hidden activations are Langevin neurons observed at time ``t_f``.

    Parameters
    ----------
    n_in : int
        Input dimension.
    widths : sequence of int
        Hidden layer widths.
    rng : numpy.random.Generator or int
        Draws the fixed hidden weights (:math:`N(0, \text{scale}^2/\text{fan-in})`) and biases (uniform).
    kT : float
        Neuron temperature, ``>= 0``.
    t_f : float
        Observation time of every layer (physical; a whole number of steps ``dt``).
    dt : float
        Euler–Maruyama step (physical).
    J2, J3, J4 : float
        Potential coefficients of every neuron, as in :func:`thermoref.langevin.langevin_neuron`.
    rails : (float, float), optional
        Supply rails clipping the neuron states.
    replicas : int
        Independent neuron copies averaged per activation (1 = a single stochastic read-out).
    input_scale : float
        Scale of the hidden weights and biases, ``>= 0``.
    tau0 : float
        Device time constant.

    Attributes
    ----------
    n_in : int
        Input dimension.
    widths : tuple of int
        Hidden layer widths.
    weights : list of ndarray of shape (fan_in, width)
        Fixed hidden weights, one per layer.
    biases : list of ndarray of shape (width,)
        Fixed hidden biases, one per layer.
    readout : ndarray of shape (widths[-1] + 1,) or (widths[-1] + 1, n_out), or None
        Ridge read-out (the last row is the bias); ``None`` before :meth:`ThermodynamicMLP.fit`.
    n_steps : int
        Euler–Maruyama steps per layer, ``t_f / dt``.

    Notes
    -----
    Layer :math:`\ell` computes the digital currents :math:`I = h_{\ell-1}W_\ell + c_\ell` and lets a layer of
    neurons :math:`dx = -V'(x)\,ds + I\,ds + \sqrt{2kT}\,dW` relax from rest for :math:`t_f`; the
    (replica-averaged) states are :math:`h_\ell`. Only the read-out is trained, by :func:`ridge_fit`.

    References
    ----------
    Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", Advances in Neural
    Information Processing Systems 20. Coles, P. J. et al. (2023) "Thermodynamic AI and the fluctuation
    frontier", arXiv:2302.06584.

    Examples
    --------
    >>> from thermoref.thermo_mlp import ThermodynamicMLP
    >>> X = np.linspace(-1, 1, 40)[:, None]
    >>> net = ThermodynamicMLP(1, [30], rng=0, kT=0.0, J4=1.0, input_scale=3.0).fit(X, X[:, 0] ** 2, penalty=1e-6, rng=1)
    >>> bool(np.abs(net.predict(X, rng=2) - X[:, 0] ** 2).max() < 0.05)
    True
    """

    _widths_name = "widths"  # the constructor argument that sets the hidden widths

    def __init__(self, n_in: int, widths, *, rng, kT: float = 0.0, t_f: float = 1.0, dt: float = 0.1, J2: float = 1.0,
                 J3: float = 0.0, J4: float = 0.0, rails: tuple[float, float] | None = None, replicas: int = 1,
                 input_scale: float = 1.0, tau0: float = 1.0):
        rng = as_rng(rng)
        self.n_in = check_positive_int(n_in, "n_in")
        self.widths = _check_widths(widths)
        self.kT = float(check_temperature(check_real(kT, "kT"), "kT", allow_inf=False))
        _, self.n_steps = _steps(t_f, dt, tau0)
        self.dt, self.t_f, self.tau0 = float(dt), float(t_f), float(tau0)
        self.J2, self.J3, self.J4 = (check_real(v, n) for v, n in ((J2, "J2"), (J3, "J3"), (J4, "J4")))
        if rails is not None:
            r_ = as_float_array(rails, "rails", ndim=1)
            if r_.shape != (2,) or not r_[0] < r_[1]:
                raise ValueError(f"rails: expected (lo, hi) with lo < hi, got {rails!r}")
        self.rails = rails
        self.replicas = check_positive_int(replicas, "replicas")
        scale = check_real(input_scale, "input_scale", nonnegative=True)
        if not scale < 1e300:
            raise ValueError(f"input_scale: {scale!r} is too large (the bias range overflows float64)")
        fans = (self.n_in,) + self.widths
        for a, b in zip(fans[:-1], fans[1:]):
            check_allocation((a, b), "n_in" if a == self.n_in and a > b else self._widths_name)
        self.weights = [rng.standard_normal((a, b)) * scale / np.sqrt(a) for a, b in zip(fans[:-1], fans[1:])]
        self.biases = [rng.uniform(-scale, scale, b) for b in self.widths]
        self.readout: np.ndarray | None = None

    def features(self, X: ArrayLike, *, rng) -> np.ndarray:
        r"""Hidden activations of the last layer for the inputs ``X``.

        Parameters
        ----------
        X : array_like of shape (B, n_in)
            Inputs.
        rng : numpy.random.Generator or int
            Source of the neurons' thermal noise.

        Returns
        -------
        ndarray of shape (B, widths[-1])
            Replica-averaged neuron states after ``t_f``.

        Notes
        -----
        Per layer, :math:`I = hW + c` (digital), then ``replicas`` independent runs of
        :math:`x_{k+1} = x_k + h(I - V'(x_k)) + \sqrt{2kTh}\,z_k` from :math:`x_0 = 0` for ``t_f / dt`` steps,
        averaged. Neurons that diverge for these inputs raise ``ValueError`` naming ``X``.

        References
        ----------
        Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", Advances in Neural
        Information Processing Systems 20.

        Examples
        --------
        >>> from thermoref.thermo_mlp import ThermodynamicMLP
        >>> ThermodynamicMLP(2, [5], rng=0, J4=1.0).features(np.ones((3, 2)), rng=1).shape
        (3, 5)
        """
        rng = as_rng(rng)
        H = as_float_array(X, "X", ndim=2)
        if H.shape[1] != self.n_in:
            raise ValueError(f"X: expected shape (B, {self.n_in}), got {H.shape}")
        for W, c in zip(self.weights, self.biases):
            with np.errstate(all="ignore"):
                current = H @ W + c  # (B, width): the digital part
            if not np.isfinite(current).all():
                raise ValueError("X: the input currents overflow float64 (inputs too large)")
            try:
                x = langevin_neuron(np.zeros((self.replicas,) + current.shape), kT=self.kT, dt=self.dt, t_f=self.t_f,
                                    rng=rng, J2=self.J2, J3=self.J3, J4=self.J4, I=current, rails=self.rails,
                                    tau0=self.tau0)  # (replicas, B, width)
            except ValueError as exc:
                raise ValueError(f"X: the neurons cannot run on these inputs ({exc})") from None
            H = x.mean(axis=0)
        return H

    def fit(self, X: ArrayLike, y: ArrayLike, *, penalty: float, rng) -> "ThermodynamicMLP":
        r"""Fit the read-out (with bias) by ridge regression on fresh features of ``X``; return ``self``.

        Parameters
        ----------
        X : array_like of shape (B, n_in)
            Training inputs.
        y : array_like of shape (B,) or (B, n_out)
            Targets.
        penalty : float
            Ridge penalty, ``>= 0``.
        rng : numpy.random.Generator or int
            Source of the neurons' thermal noise.

        Returns
        -------
        ThermodynamicMLP
            ``self``, with ``readout`` set.

        Examples
        --------
        >>> from thermoref.thermo_mlp import ThermodynamicMLP
        >>> net = ThermodynamicMLP(1, [8], rng=0, J4=1.0).fit(np.ones((4, 1)), np.ones(4), penalty=0.1, rng=1)
        >>> net.readout.shape
        (9,)
        """
        H = self.features(X, rng=rng)
        y = as_float_array(y, "y", min_ndim=1)
        self.readout = ridge_fit(np.hstack([H, np.ones((H.shape[0], 1))]), y, penalty)
        return self

    def predict(self, X: ArrayLike, *, rng) -> np.ndarray:
        r"""Read-out of fresh (stochastic) features of ``X``.

        Parameters
        ----------
        X : array_like of shape (B, n_in)
            Inputs.
        rng : numpy.random.Generator or int
            Source of the neurons' thermal noise.

        Returns
        -------
        ndarray of shape (B,) or (B, n_out)
            Predictions :math:`[h, 1]\,W`.

        Examples
        --------
        >>> from thermoref.thermo_mlp import ThermodynamicMLP
        >>> net = ThermodynamicMLP(1, [8], rng=0, J4=1.0).fit(np.ones((4, 1)), np.ones(4), penalty=0.1, rng=1)
        >>> net.predict(np.ones((2, 1)), rng=2).shape
        (2,)
        """
        if self.readout is None:
            raise ValueError("readout: call fit before predict")
        H = self.features(X, rng=rng)
        return np.hstack([H, np.ones((H.shape[0], 1))]) @ self.readout

    def cost(self, batch: int, n_out: int = 1) -> CostModel:
        r"""Modeled physical time, digital FLOPs and simulation FLOPs for ``batch`` inputs.

        Parameters
        ----------
        batch : int
            Number of inputs, ``>= 1``.
        n_out : int
            Read-out width, ``>= 1``.

        Returns
        -------
        CostModel
            The three costs.

        Notes
        -----
        Physical time :math:`L\,t_f` (the neurons of a layer relax in parallel); digital FLOPs of the matrix
        products :math:`B\cdot 2(\sum_\ell n_{\ell-1}n_\ell + (n_L + 1)n_{\mathrm{out}})` (the hidden biases'
        additions, :math:`B\sum_\ell n_\ell`, are not counted); simulation FLOPs
        :math:`B\cdot 10\,R\,\sum_\ell n_\ell\,(t_f/dt)`.

        References
        ----------
        Coles, P. J. et al. (2023) "Thermodynamic AI and the fluctuation frontier", arXiv:2302.06584.

        Examples
        --------
        >>> from thermoref.thermo_mlp import ThermodynamicMLP
        >>> ThermodynamicMLP(3, [10, 20], rng=0, t_f=2.0, dt=0.5).cost(batch=7, n_out=4).digital_flops
        4396
        """
        batch = check_positive_int(batch, "batch")
        n_out = check_positive_int(n_out, "n_out")
        fans = (self.n_in,) + self.widths
        currents = sum(2 * a * b for a, b in zip(fans[:-1], fans[1:]))
        readout = 2 * (self.widths[-1] + 1) * n_out
        sim = EM_STEP_FLOPS * self.replicas * sum(self.widths) * self.n_steps
        return CostModel(len(self.widths) * self.t_f, batch * (currents + readout), batch * sim)


class ThermodynamicFFN(ThermodynamicMLP):
    r"""A single hidden layer of ``width`` Langevin neurons (the feed-forward block of a transformer).

    Parameters
    ----------
    n_in : int
        Input dimension.
    width : int
        Number of hidden neurons.
    **kwargs : dict
        Every keyword of :class:`ThermodynamicMLP` (``rng`` is required).

    Attributes
    ----------
    widths : tuple of int
        ``(width,)``; the other attributes are those of :class:`ThermodynamicMLP`.

    Examples
    --------
    >>> from thermoref.thermo_mlp import ThermodynamicFFN
    >>> ThermodynamicFFN(2, 16, rng=0, J4=1.0).widths
    (16,)
    """

    _widths_name = "width"

    def __init__(self, n_in: int, width: int, **kwargs):
        width = check_positive_int(width, "width")
        super().__init__(n_in, (width,), **kwargs)
