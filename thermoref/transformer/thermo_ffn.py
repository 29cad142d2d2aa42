r"""A thermodynamic FFN in place of one transformer block's MLP: Langevin-neuron features, ridge readout.

Block :math:`l` of the transformer computes :math:`x'' = x' + \mathrm{MLP}(u)` with :math:`u = \mathrm{LN}_2(x')`
the block's normalized stream (:func:`thermoref.transformer.forward`). This module replaces the GELU MLP by a
:class:`thermoref.thermo_mlp.ThermodynamicFFN` (chapter 5): digital input currents :math:`I = uW + c` (random,
fixed), a layer of Langevin neurons read out after a fixed time :math:`t_f` from rest, and a linear readout
fitted in closed form by ridge regression (:func:`thermoref.thermo_mlp.ridge_fit`) to reproduce the MLP's
outputs, all :math:`D` of them at once, on the activations of training sequences. Nothing else in the model
changes and nothing is retrained.

The neurons are stochastic at :math:`kT > 0`: the replacement is a callable that draws from a
``numpy.random.Generator`` it owns (:meth:`ThermoFFNBlock.sampler`), so that
``forward(params, tokens, config, ffn={layer: block.sampler(rng=7)})`` runs the model with the thermodynamic
FFN and the same seed gives the same bits. The cost model (:meth:`ThermoFFNBlock.cost`) keeps modeled physical
time (:math:`t_f` per token, whatever the width), digital FLOPs (currents and readout, linear in the width)
and the FLOPs of simulating the neurons apart; wall time measures only this simulation.

References: Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", NeurIPS 20;
Coles, P. J. et al. (2023) "Thermodynamic AI and the fluctuation frontier", arXiv:2302.06584; Geva, M. et al.
(2021) "Transformer feed-forward layers are key-value memories", EMNLP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real
from ..thermo_mlp import CostModel, ThermodynamicFFN, ridge_fit
from .config import TransformerConfig, _check_config, check_params
from .model import _gelu, check_tokens, forward

__all__ = ["mlp_activations", "ThermoFFNBlock", "fit_thermo_ffn"]


_NEURON_PARAMS = ("kT", "dt", "t_f", "J2", "J3", "J4")


def _culprit(exc: ValueError, default: str) -> str:
    """The parameter to blame for a neuron layer that failed on its currents.

    :meth:`thermoref.thermo_mlp.ThermodynamicMLP.features` reports ``X: ... (<inner>)`` where ``<inner>`` is
    :func:`thermoref.langevin.langevin_neuron`'s message, which starts with the name at fault: a neuron
    parameter is blamed as itself, the currents (``I``, or an overflow of ``uW + c``) as ``default``.
    """
    msg = str(exc)
    inner = msg[msg.find("(") + 1:] if "(" in msg else ""
    name = inner.split(":", 1)[0]
    return name if name in _NEURON_PARAMS else default


def _check_layer(layer: object, config: TransformerConfig) -> int:
    layer = check_positive_int(layer, "layer", minimum=0)
    if layer >= config.n_layers:
        raise ValueError(f"layer: {layer} is not a block of a model with {config.n_layers} layers")
    return layer


def mlp_activations(params: Mapping[str, ArrayLike], tokens: ArrayLike, config: TransformerConfig,
                    layer: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Inputs and outputs of one block's MLP on a token batch (exact attention).

    Parameters
    ----------
    params : mapping of str to ndarray, each of its shape in ``param_shapes(config)``
        Parameters named as in :func:`thermoref.transformer.param_shapes`.
    tokens : array_like of int, shape (B, T)
        Token ids (e.g. the ``tokens`` of a training :class:`thermoref.transformer.Batch`).
    config : TransformerConfig
        The model's shape.
    layer : int
        The block, in ``[0, n_layers)``.

    Returns
    -------
    u : ndarray of shape (B, T, D)
        The block's LayerNorm-2 output, the MLP's input.
    y : ndarray of shape (B, T, D)
        The MLP's output :math:`\mathrm{GELU}(uW_{\rm in} + b_{\rm in})W_{\rm out} + b_{\rm out}`.

    Notes
    -----
    One exact forward pass in which block ``layer``'s MLP is the model's own, computed by a recording
    replacement (``ffn`` of :func:`thermoref.transformer.forward`): the logits are unchanged, and
    :math:`(u, y)` are the pairs a replacement must reproduce.

    References
    ----------
    Hendrycks, D. & Gimpel, K. (2016) "Gaussian error linear units (GELUs)", arXiv:1606.08415.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, init_params, mlp_activations
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=2)
    >>> u, y = mlp_activations(init_params(cfg, rng=0), [[1, 2, 3], [0, 4, 4]], cfg, 1)
    >>> u.shape, y.shape
    ((2, 3, 8), (2, 3, 8))
    """
    _check_config(config)
    params = check_params(params, config)
    tokens = check_tokens(tokens, config)
    layer = _check_layer(layer, config)
    p_ = f"blocks.{layer}.mlp."
    seen = []

    def record(u):
        with np.errstate(all="ignore"):
            hidden, _ = _gelu(u @ params[p_ + "w_in"] + params[p_ + "b_in"])  # (B, T, rD)
            y = hidden @ params[p_ + "w_out"] + params[p_ + "b_out"]  # (B, T, D)
        if not (np.isfinite(u).all() and np.isfinite(y).all()):
            raise ValueError(f"params: block {layer}'s MLP input or output overflows float64 (entries too large)")
        seen.append((u, y))
        return y

    with np.errstate(all="ignore"):  # parameters so large that the stream overflows: refused in record
        forward(params, tokens, config, ffn={layer: record})
    return seen[0]


def _relative_error(pred: np.ndarray, y: np.ndarray, name: str) -> float:
    """||pred - y||_F / ||y - mean row of y||_F over tokens (rows); ``name`` is blamed when y is constant.

    Both norms are taken after dividing by max |y| (the ratio does not change), so that outputs near the float64
    limit do not overflow the sums.
    """
    top = np.max(np.abs(y), initial=0.0)
    spread = np.linalg.norm(y / top - (y / top).mean(axis=0)) if top > 0 else 0.0
    if not spread > 0:
        raise ValueError(f"{name}: the MLP outputs are constant over the tokens; the relative error is undefined")
    return float(np.linalg.norm(pred / top - y / top) / spread)


@dataclass(frozen=True, eq=False)
class ThermoFFNBlock:
    r"""A fitted thermodynamic FFN standing in for one block's MLP (built by :func:`fit_thermo_ffn`).

    Attributes
    ----------
    net : thermoref.thermo_mlp.ThermodynamicFFN
        The Langevin-neuron layer with its fitted multi-output readout (``net.readout`` of shape
        (width + 1, D), the last row the bias).
    layer : int
        The block whose MLP it replaces.
    train_error : float
        Relative error :math:`\|\hat y - y\|_F/\|y - \bar y\|_F` on the training activations, measured on a
        fresh read-out of the neurons at :math:`kT > 0` (not the one the readout was fitted to; at
        :math:`kT = 0` every read-out is the same).

    Notes
    -----
    For a token with MLP input :math:`u\in\mathbb R^D` the block computes :math:`I = uW + c` (width
    currents), the neuron states :math:`h` after :math:`t_f` of :math:`dx = (I - V'(x))\,dt + \sqrt{2kT}\,dW`
    started at rest (averaged over the replicas), and :math:`\hat y = [h, 1]\,W_{\rm out}`. The relative error is
    0 for a perfect fit and 1 for the constant predictor :math:`\bar y`.

    References
    ----------
    Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", NeurIPS 20; Coles, P. J.
    et al. (2023) "Thermodynamic AI and the fluctuation frontier", arXiv:2302.06584.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, fit_thermo_ffn, init_params
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
    >>> block = fit_thermo_ffn(init_params(cfg, rng=0), [[1, 2, 3, 4]] * 4, cfg, 0, width=16, rng=1)
    >>> block.layer, block.net.readout.shape
    (0, (17, 8))
    """

    net: ThermodynamicFFN
    layer: int
    train_error: float

    def __call__(self, u: ArrayLike, *, rng: np.random.Generator | int) -> np.ndarray:
        r"""The block's output for MLP inputs ``u`` (one stochastic read-out of the neurons).

        Parameters
        ----------
        u : array_like of shape (..., D)
            Normalized stream (the block's LayerNorm-2 output).
        rng : numpy.random.Generator or int
            Source of the neurons' thermal noise.

        Returns
        -------
        ndarray of shape (..., D)
            :math:`\hat y = [h(u), 1]\,W_{\rm out}`.

        Notes
        -----
        Every token is an independent input: :math:`I = uW + c`, neurons run for :math:`t_f` from rest,
        :math:`\hat y = [h, 1]W_{\rm out}`.

        References
        ----------
        Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", NeurIPS 20.

        Examples
        --------
        >>> from thermoref.transformer import TransformerConfig, fit_thermo_ffn, init_params
        >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
        >>> block = fit_thermo_ffn(init_params(cfg, rng=0), [[1, 2, 3, 4]] * 4, cfg, 0, width=16, rng=1)
        >>> block(np.zeros((2, 3, 8)), rng=0).shape
        (2, 3, 8)
        """
        rng = as_rng(rng)
        D = self.net.n_in
        x = as_float_array(u, "u", min_ndim=1)
        if x.shape[-1] != D:
            raise ValueError(f"u: expected shape (..., {D}), got {x.shape}")
        try:
            out = self.net.predict(x.reshape(-1, D), rng=rng)  # (N, D)
        except ValueError as exc:  # the neurons' own check of the currents: u is the only input that changed
            raise ValueError(f"u: the neurons cannot run on these inputs ({exc})") from None
        return out.reshape(x.shape)

    def sampler(self, rng: np.random.Generator | int) -> Callable[[np.ndarray], np.ndarray]:
        r"""A one-argument replacement MLP for ``forward(..., ffn={layer: ...})`` that owns its noise stream.

        Parameters
        ----------
        rng : numpy.random.Generator or int
            The stream the returned function draws from, call after call (a Generator is used, not copied).

        Returns
        -------
        callable
            ``f(u)`` for ``u`` of shape (B, T, D), returning ``self(u, rng=stream)`` of the same shape.

        Notes
        -----
        :func:`thermoref.transformer.forward` calls a replacement MLP with the normalized stream only; the
        noise comes from the stream bound here. The same seed and the same sequence of calls give the same
        bits; successive calls continue the stream, so call :math:`k` returns
        :math:`\hat y^{(k)} = [h(u;\xi_k), 1]\,W_{\rm out}` with independent thermal noises :math:`\xi_k`
        (fresh read-outs, as a physical device would give).

        References
        ----------
        Coles, P. J. et al. (2023) "Thermodynamic AI and the fluctuation frontier", arXiv:2302.06584.

        Examples
        --------
        >>> from thermoref.transformer import TransformerConfig, fit_thermo_ffn, forward, init_params
        >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
        >>> params = init_params(cfg, rng=0)
        >>> block = fit_thermo_ffn(params, [[1, 2, 3, 4]] * 4, cfg, 0, width=16, rng=1)
        >>> forward(params, [[1, 2, 3]], cfg, ffn={0: block.sampler(rng=2)}).shape
        (1, 3, 5)
        """
        stream = as_rng(rng)

        def replacement(u: np.ndarray) -> np.ndarray:
            return self(u, rng=stream)

        return replacement

    def relative_error(self, u: ArrayLike, y: ArrayLike, *, rng: np.random.Generator | int) -> float:
        r"""Relative error of the replacement against MLP outputs ``y`` for inputs ``u`` (e.g. held out).

        Parameters
        ----------
        u : array_like of shape (..., D)
            MLP inputs.
        y : array_like of shape (..., D)
            The MLP's outputs for them (:func:`mlp_activations`).
        rng : numpy.random.Generator or int
            Source of the neurons' thermal noise.

        Returns
        -------
        float
            :math:`\|\hat y - y\|_F/\|y - \bar y\|_F` over all tokens (0 is perfect, 1 is the mean predictor).

        Notes
        -----
        .. math:: \epsilon = \frac{\|\hat Y - Y\|_F}{\|Y - \mathbf 1\bar y^\top\|_F},

        the square root of the fraction of the MLP output's variance (about its mean over tokens) that the
        replacement leaves unexplained.

        References
        ----------
        Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", NeurIPS 20.

        Examples
        --------
        >>> from thermoref.transformer import TransformerConfig, fit_thermo_ffn, init_params, mlp_activations
        >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
        >>> params = init_params(cfg, rng=0)
        >>> block = fit_thermo_ffn(params, [[1, 2, 3, 4], [4, 3, 2, 1]] * 8, cfg, 0, width=64, rng=1)
        >>> u, y = mlp_activations(params, [[1, 2, 3, 4]], cfg, 0)
        >>> bool(block.relative_error(u, y, rng=2) < 0.1)
        True
        """
        D = self.net.n_in
        x = as_float_array(u, "u", min_ndim=1)
        if x.shape[-1] != D:
            raise ValueError(f"u: expected shape (..., {D}), got {x.shape}")
        yy = as_float_array(y, "y", min_ndim=1)
        if yy.shape != x.shape:
            raise ValueError(f"y: expected the shape of u, {x.shape}, got {yy.shape}")
        pred = self(x, rng=rng).reshape(-1, D)  # (N, D)
        return _relative_error(pred, yy.reshape(-1, D), "y")

    def cost(self, n_tokens: int = 1) -> CostModel:
        r"""Modeled physical time, digital FLOPs and simulation FLOPs of the replacement for ``n_tokens`` tokens.

        Parameters
        ----------
        n_tokens : int
            Tokens processed, :math:`\ge 1` (1 gives the cost per token).

        Returns
        -------
        thermoref.thermo_mlp.CostModel
            ``physical_time`` :math:`t_f` per token (the neurons relax in parallel), ``digital_flops``
            :math:`N\cdot 2(Dw + (w+1)D)` of the currents and the readout, ``simulation_flops``
            :math:`N\cdot 10\,R\,w\,t_f/dt` of the Euler–Maruyama simulation.

        Notes
        -----
        :meth:`thermoref.thermo_mlp.ThermodynamicMLP.cost` with batch :math:`N` and :math:`D` outputs. For
        comparison, the GELU MLP it replaces costs :math:`N\cdot 2\cdot 2rD^2` FLOPs for its two products
        (:math:`r` the MLP ratio) plus the GELUs.

        References
        ----------
        Coles, P. J. et al. (2023) "Thermodynamic AI and the fluctuation frontier", arXiv:2302.06584.

        Examples
        --------
        >>> from thermoref.transformer import TransformerConfig, fit_thermo_ffn, init_params
        >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
        >>> block = fit_thermo_ffn(init_params(cfg, rng=0), [[1, 2, 3, 4]] * 4, cfg, 0, width=16, rng=1)
        >>> c = block.cost()
        >>> print(c.physical_time, c.digital_flops, c.simulation_flops)
        1.0 528 1600
        """
        return self.net.cost(batch=check_positive_int(n_tokens, "n_tokens"), n_out=self.net.n_in)


def fit_thermo_ffn(params: Mapping[str, ArrayLike], tokens: ArrayLike, config: TransformerConfig, layer: int, *,
                   width: int, rng: np.random.Generator | int, t_f: float = 1.0, dt: float = 0.1, kT: float = 0.0,
                   J2: float = 1.0, J3: float = 0.0, J4: float = 1.0, replicas: int = 1, input_scale: float = 1.0,
                   penalty: float = 1e-3) -> ThermoFFNBlock:
    r"""Fit a thermodynamic FFN to reproduce one block's MLP on the activations of training sequences.

    Parameters
    ----------
    params : mapping of str to ndarray, each of its shape in ``param_shapes(config)``
        The trained model's parameters.
    tokens : array_like of int, shape (B, T)
        Training sequences (never the evaluation stream); every position's activation is a training pair.
    config : TransformerConfig
        The model's shape.
    layer : int
        The block whose MLP is replaced, in ``[0, n_layers)``.
    width : int
        Number of Langevin neurons :math:`w`.
    rng : numpy.random.Generator or int
        Draws the fixed input weights, then the neurons' noise while fitting and while measuring the error.
    t_f : float
        Observation time of the neurons (a whole number of steps ``dt``).
    dt : float
        Euler–Maruyama step.
    kT : float
        Neuron temperature, :math:`\ge 0` (0: deterministic features).
    J2, J3, J4 : float
        Potential of every neuron, as in :func:`thermoref.langevin.langevin_neuron`.
    replicas : int
        Independent read-outs averaged per activation.
    input_scale : float
        Scale of the random input weights (:math:`N(0, s^2/D)`) and biases (uniform on :math:`[-s, s]`).
    penalty : float
        Ridge penalty :math:`\lambda \ge 0`.

    Returns
    -------
    ThermoFFNBlock
        The fitted replacement and its training error.

    Notes
    -----
    With :math:`U` the (N, D) LayerNorm-2 outputs of block ``layer`` over all :math:`N = BT` training
    positions and :math:`Y` the MLP's outputs (:func:`mlp_activations`), the features :math:`H` (N, w) of
    one read-out of the neurons, and :math:`\tilde H = [H, \mathbf 1]`,

    .. math:: W_{\rm out} = (\tilde H^\top\tilde H + \lambda I)^{-1}\tilde H^\top Y ,

    one ridge solve for all :math:`D` outputs (:func:`thermoref.thermo_mlp.ridge_fit`). Only the readout is
    fitted; the input weights stay random.

    References
    ----------
    Rahimi, A. & Recht, B. (2007) "Random features for large-scale kernel machines", NeurIPS 20; Hoerl, A. E.
    & Kennard, R. W. (1970) "Ridge regression", Technometrics 12, 55–67.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, fit_thermo_ffn, init_params
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
    >>> block = fit_thermo_ffn(init_params(cfg, rng=0), [[1, 2, 3, 4], [4, 3, 2, 1]] * 8, cfg, 0, width=64,
    ...                        rng=1)
    >>> bool(block.train_error < 0.1)
    True
    """
    u, y = mlp_activations(params, tokens, config, layer)
    width = check_positive_int(width, "width")
    replicas = check_positive_int(replicas, "replicas")
    penalty = check_real(penalty, "penalty", nonnegative=True)
    rng = as_rng(rng)
    D = config.d_model
    U, Y = u.reshape(-1, D), y.reshape(-1, D)  # (N, D) each
    check_allocation((U.shape[0], width + 1), "width")  # the features
    check_allocation((width + 1, width + 1), "width")  # the ridge system
    check_allocation((replicas, U.shape[0], width), "replicas")  # the neurons' states
    net = ThermodynamicFFN(D, width, rng=rng, kT=kT, t_f=t_f, dt=dt, J2=J2, J3=J3, J4=J4, replicas=replicas,
                           input_scale=input_scale)
    try:
        H = np.hstack([net.features(U, rng=rng), np.ones((U.shape[0], 1))])  # (N, w + 1): one read-out
        net.readout = ridge_fit(H, Y, penalty)  # (w + 1, D), what ThermodynamicMLP.fit computes
    except ValueError as exc:  # neurons that diverge on these currents, or a ridge system too ill-conditioned
        culprit = _culprit(exc, "input_scale") if str(exc).startswith("X:") else "penalty"
        raise ValueError(f"{culprit}: the readout cannot be fitted ({exc})") from None
    # the error on a fresh read-out; at kT = 0 the features are deterministic and a fresh read-out is H itself
    pred = H @ net.readout if net.kT == 0 else net.predict(U, rng=rng)  # (N, D)
    err = _relative_error(pred, Y, "params")
    return ThermoFFNBlock(net=net, layer=int(layer), train_error=err)
