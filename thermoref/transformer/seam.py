r"""The one seam through which every attention head of the transformer computes its weights.

Each head :math:`h` of layer :math:`l` has a blend weight :math:`\alpha_{lh}\in[0,1]`: its attention weights are

.. math:: w = (1-\alpha_{lh})\,p + \alpha_{lh}\,\hat p,

with :math:`p = \mathrm{softmax}(\ell)` the exact Gibbs law of each query row and :math:`\hat p` the empirical
law of :math:`K` keys drawn from it by a backend of :mod:`thermoref.attention` (``exact`` inverse CDF, ``gumbel``,
``chain``). :math:`\alpha = 0` is exact attention, :math:`\alpha = 1` sampled attention. The default seam (``None``
wherever a seam is taken) is exact everywhere. The backward pass treats :math:`\hat p` as :math:`p`
(a straight-through estimator: the softmax Jacobian at :math:`p`).

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30; Bengio, Y., Léonard, N. &
Courville, A. (2013) "Estimating or propagating gradients through stochastic neurons", arXiv:1308.3432.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_rng, check_allocation, check_positive_int
from ..attention.chain import metropolis_keys
from ..attention.exact import _row_law
from ..attention.sampled import BACKENDS, _empirical_law, _sampled_law
from ..backend.protocol import SamplingUnit

__all__ = ["AttentionSeam"]

_CHAIN_OPTIONS = ("n_warmup", "thin", "proposal")


def _check_index_set(value: object, name: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (numbers.Integral,)) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: expected None, an integer or a sequence of integers, got {type(value).__name__}")
    out = tuple(check_positive_int(v, name, minimum=0) for v in value)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated index in {list(out)}")
    return out


@dataclass(frozen=True)
class AttentionSeam:
    r"""How the transformer's heads compute their attention weights: exact, sampled with :math:`K` draws, or a blend.

    Parameters
    ----------
    n_samples : int
        Keys :math:`K` drawn per query row in every sampled head.
    backend : {"exact", "gumbel", "chain"} or thermoref.backend.SamplingUnit
        The key sampler of :func:`thermoref.attention.sample_keys`: a named NumPy sampler, or any sampling unit
        (a device model, an accelerator adapter), which draws through its ``sample_categorical``.
    alpha : float or array_like of shape (len(layers), len(heads))
        Blend weight of the sampled law in the selected heads, in [0, 1] (1 = sampled attention).
    layers : int or sequence of int, optional
        Layers whose heads are selected (default: every layer).
    heads : int or sequence of int, optional
        Heads selected within each selected layer (default: every head).
    chain_options : dict, optional
        ``n_warmup``, ``thin``, ``proposal`` of :func:`thermoref.attention.metropolis_keys` (``chain`` only).

    Attributes
    ----------
    n_samples : int
        As given.
    backend : str or thermoref.backend.SamplingUnit
        As given.
    alpha : float or ndarray of shape (len(layers), len(heads))
        As given (an array is stored as float64).
    layers, heads : tuple of int or None
        As given, as tuples.
    chain_options : dict
        As given.

    Notes
    -----
    A head with blend weight :math:`\alpha` uses :math:`w = (1-\alpha)p + \alpha\hat p`, where
    :math:`\hat p_{ij}` is the fraction of row :math:`i`'s :math:`K` draws equal to key :math:`j`. With
    independent draws :math:`\mathbb E[w] = p`, so each head's output :math:`wV` is unbiased with mean squared
    error :math:`\alpha^2\,\mathrm{tr}\,\mathrm{Cov}_p(v)/K` per row (:func:`thermoref.attention.sampling_mse`);
    the network is not linear in :math:`w`, so its loss is biased at order :math:`1/K` (chapter 8).

    References
    ----------
    Robert, C. P. & Casella, G. (2004) *Monte Carlo Statistical Methods*, 2nd ed., Springer, §3.2.

    Examples
    --------
    >>> seam = AttentionSeam(16, layers=[1])  # layer 1 sampled with K = 16, every other layer exact
    >>> print(seam.head_alpha(n_layers=2, n_heads=3))
    [[0. 0. 0.]
     [1. 1. 1.]]
    """

    n_samples: int
    backend: str | SamplingUnit = "exact"
    alpha: float | np.ndarray = 1.0
    layers: tuple[int, ...] | None = None
    heads: tuple[int, ...] | None = None
    chain_options: dict = field(default_factory=dict)

    def __post_init__(self):
        check_positive_int(self.n_samples, "n_samples")
        if not isinstance(self.backend, SamplingUnit) and (not isinstance(self.backend, str)
                                                            or self.backend not in BACKENDS):
            raise ValueError(f"backend: expected one of {BACKENDS} or a thermoref.backend.SamplingUnit, "
                             f"got {self.backend!r}")
        object.__setattr__(self, "layers", _check_index_set(self.layers, "layers"))
        object.__setattr__(self, "heads", _check_index_set(self.heads, "heads"))
        a = self.alpha
        if isinstance(a, (str, bytes, bool, np.bool_)) or a is None:
            raise TypeError(f"alpha: expected a number or an array of numbers in [0, 1], got {type(a).__name__}")
        arr = np.asarray(a)
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise TypeError(f"alpha: expected real numbers in [0, 1], got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if not ((arr >= 0) & (arr <= 1)).all():  # also refuses NaN
            raise ValueError("alpha: every blend weight must lie in [0, 1]")
        if arr.ndim > 2:
            raise ValueError(f"alpha: expected a scalar or a (layers, heads) array, got shape {arr.shape}")
        object.__setattr__(self, "alpha", float(arr) if arr.ndim == 0 else arr)
        if not isinstance(self.chain_options, dict):
            raise TypeError(f"chain_options: expected a dict, got {type(self.chain_options).__name__}")
        unknown = sorted(set(self.chain_options) - set(_CHAIN_OPTIONS))
        if unknown:
            raise ValueError(f"chain_options: unknown option(s) {unknown}; expected some of {_CHAIN_OPTIONS}")
        if self.chain_options and self.backend != "chain":
            raise ValueError("chain_options: apply to the 'chain' backend only")

    def head_alpha(self, n_layers: int, n_heads: int) -> np.ndarray:
        r"""The blend weight :math:`\alpha_{lh}` of every head of a model with ``n_layers`` × ``n_heads`` heads.

        Parameters
        ----------
        n_layers : int
            Layers of the model.
        n_heads : int
            Heads per layer.

        Returns
        -------
        ndarray of shape (n_layers, n_heads)
            ``alpha`` on the selected heads, 0 (exact) elsewhere.

        Notes
        -----
        With :math:`\mathcal L` the selected layers (``layers``, default all) and :math:`\mathcal H` the selected
        heads (``heads``, default all), :math:`\alpha_{lh} = \alpha` (the entry of the :math:`l`-th selected layer
        and :math:`h`-th selected head when ``alpha`` is an array) for :math:`l\in\mathcal L, h\in\mathcal H`,
        and :math:`\alpha_{lh} = 0` otherwise: every head outside the selection computes exact attention.

        Examples
        --------
        >>> AttentionSeam(4, alpha=0.5, heads=[0]).head_alpha(1, 2).tolist()
        [[0.5, 0.0]]
        """
        n_layers = check_positive_int(n_layers, "n_layers")
        n_heads = check_positive_int(n_heads, "n_heads")
        check_allocation((n_layers,), "n_layers")
        check_allocation((n_layers, n_heads), "n_heads")
        if self.layers is not None and max(self.layers, default=-1) >= n_layers:
            raise ValueError(f"layers: index {max(self.layers)} out of range for a model with {n_layers} layers")
        if self.heads is not None and max(self.heads, default=-1) >= n_heads:
            raise ValueError(f"heads: index {max(self.heads)} out of range for a model with {n_heads} heads")
        layers = np.arange(n_layers) if self.layers is None else np.array(self.layers, dtype=np.int64)
        heads = np.arange(n_heads) if self.heads is None else np.array(self.heads, dtype=np.int64)
        out = np.zeros((n_layers, n_heads))
        try:
            out[np.ix_(layers, heads)] = self.alpha
        except ValueError:
            raise ValueError(f"alpha: shape {np.shape(self.alpha)} does not fit the selected "
                             f"({len(layers)}, {len(heads)}) heads") from None
        return out



def _seam_alpha(seam: object, n_layers: int, n_heads: int, rng: object,
                draws: tuple[int, ...]) -> tuple[np.ndarray, np.random.Generator | None]:
    """Validate a model's ``seam`` and ``rng``: the (n_layers, n_heads) blend weights and the generator.

    ``draws`` is the (B, H, T) shape of one layer's query rows; a sampled seam must fit ``K`` draws per row.
    Shared by every forward that takes a seam (the pretrained encoder and decoder).
    """
    if seam is not None and not isinstance(seam, AttentionSeam):
        raise TypeError(f"seam: expected an AttentionSeam or None, got {type(seam).__name__}")
    try:
        alpha = np.zeros((n_layers, n_heads)) if seam is None else seam.head_alpha(n_layers, n_heads)
    except ValueError as exc:  # the seam's layers, heads or alpha do not fit this model
        raise ValueError(f"seam: {exc}") from None
    if (alpha > 0).any():
        if rng is None:
            raise TypeError("rng: a sampled seam needs an rng (a numpy.random.Generator or an int seed)")
        rng = as_rng(rng)
        check_allocation(tuple(draws) + (seam.n_samples,), "seam")  # one layer's draws
    return alpha, rng

def _head_weights(ell: np.ndarray, alpha: np.ndarray, seam: AttentionSeam | None,
                  rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """Exact weights ``p`` and used weights ``w`` (both (B, H, T, S)) of one layer's causal logits ``ell``.

    ``alpha`` (H,) is the layer's row of :meth:`AttentionSeam.head_alpha`. ``w`` is ``p`` itself (not a copy)
    when no head of the layer samples. Every row has a key (causal: itself), so no row is inert.
    """
    p = _row_law(ell, np.max(ell, axis=-1))  # (B, H, T, S)
    live = np.flatnonzero(alpha > 0)  # sampled heads
    if seam is None or live.size == 0:
        return p, p
    sub = ell[:, live]  # (B, h', T, S): a copy the sampler may spend
    top = np.max(sub, axis=-1)  # (B, h', T)
    if seam.backend == "chain":
        idx = metropolis_keys(sub, seam.n_samples, rng=rng, **seam.chain_options).indices  # (B, h', T, K)
        K = seam.n_samples
        p_hat = _empirical_law(idx.reshape(-1, K), np.zeros(idx.size // K, dtype=bool), sub.shape)
    else:
        p_hat = _sampled_law(sub, top, seam.n_samples, rng, seam.backend)  # (B, h', T, S)
    a = alpha[live][None, :, None, None]  # (1, h', 1, 1)
    w = p.copy()
    w[:, live] = (1.0 - a) * p[:, live] + a * p_hat.astype(p.dtype, copy=False)  # (B, h', T, S)
    return p, w
