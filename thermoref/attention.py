r"""Attention is a Gibbs law: exact softmax attention, sampled attention, and the blended bridge between them.

Each query row :math:`i` of an attention head defines a Gibbs law over the keys,

.. math:: p_{ij} = \frac{e^{\ell_{ij}}}{\sum_k e^{\ell_{ik}}}, \qquad \ell = \frac{Q K^\top}{\sqrt{d_k}},

**the one convention of this module**: energies :math:`E_{ij} = -\ell_{ij}` at :math:`kT = 1` (equivalently
:math:`E = -QK^\top` at :math:`kT = \sqrt{d_k}`; the tests check the two agree). Softmax attention is the
thermal average :math:`\langle v\rangle_p = \sum_j p_{ij} v_j`. Sampled attention replaces it by the average
of :math:`K` keys drawn from :math:`p` (a Boltzmann sampler's job), which is unbiased with mean squared error
exactly :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)/K`; the blend :math:`(1-\alpha)\,pV + \alpha\,\hat pV` has
:math:`\alpha^2` times that error.

Masks are ``-inf`` logits. A query row with every key masked has no Gibbs law; this module defines its
attention weights and its output as **zero** (and its sampled key indices as ``-1``), explicitly, rather
than returning NaN.

References: Vaswani et al., "Attention is all you need" (2017), eq. 1; Jaynes, Phys. Rev. 106, 620 (1957);
Robert & Casella, *Monte Carlo Statistical Methods* (2004), §3.2 (unbiased Monte Carlo averages).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_rng, check_positive_int, check_probability
from .attention_chain import metropolis_keys
from .gibbs import softmax
from .sampling import empirical_frequencies, sample_categorical

__all__ = [
    "BACKENDS",
    "causal_mask",
    "attention_logits",
    "attention_weights",
    "softmax_attention",
    "sample_keys",
    "sampled_values",
    "sampled_attention",
    "blended_attention",
    "sampling_mse",
    "empirical_weights",
    "random_logits",
    "local_logits",
    "block_logits",
]

BACKENDS = ("exact", "gumbel", "chain")


# --------------------------------------------------------------------------------------------------------
# Logits and masks
# --------------------------------------------------------------------------------------------------------
def causal_mask(T: int, S: int | None = None) -> np.ndarray:
    """Boolean causal mask of shape (T, S): query ``i`` may attend key ``j`` iff ``j <= i + (S - T)``.

    ``True`` means *attend*. With ``S = T`` (default) this is the lower triangle including the diagonal, so
    no row is fully masked; ``S > T`` aligns the queries with the last ``T`` keys (a KV cache).

    Examples
    --------
    >>> print(causal_mask(3).astype(int))
    [[1 0 0]
     [1 1 0]
     [1 1 1]]
    """
    T = check_positive_int(T, "T")
    S = T if S is None else check_positive_int(S, "S")
    return np.arange(S)[None, :] <= np.arange(T)[:, None] + (S - T)  # (T, S)


def attention_logits(Q: ArrayLike, K: ArrayLike, mask: ArrayLike | None = None) -> np.ndarray:
    r"""Scaled dot-product logits :math:`\ell = QK^\top/\sqrt{d_k}`, masked entries set to ``-inf``.

    Parameters
    ----------
    Q : array_like of shape (..., T, d_k)
        Queries (leading axes: batch, heads).
    K : array_like of shape (..., S, d_k)
        Keys, leading axes broadcastable with ``Q``'s.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        ``True`` where query ``i`` may attend key ``j``.

    Returns
    -------
    ndarray of shape (..., T, S)
        Logits; ``-inf`` where masked. A row may be entirely ``-inf`` (see the module's convention).

    Notes
    -----
    The Gibbs law of row :math:`i` is :math:`p_{ij}\propto e^{\ell_{ij}}`, i.e. energy :math:`E=-\ell` at
    :math:`kT=1`, or :math:`E = -QK^\top` at :math:`kT=\sqrt{d_k}`.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> print(attention_logits(Q, Q, causal_mask(2)).round(4))
    [[0.7071   -inf]
     [0.     2.8284]]
    """
    Q = as_float_array(Q, "Q", min_ndim=2)
    K = as_float_array(K, "K", min_ndim=2)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"K: key dimension {K.shape[-1]} differs from the query dimension {Q.shape[-1]}")
    try:
        np.broadcast_shapes(Q.shape[:-2], K.shape[:-2])
    except ValueError:
        raise ValueError(f"K: leading shape {K.shape[:-2]} does not broadcast with Q's {Q.shape[:-2]}") from None
    ell = (Q @ np.swapaxes(K, -1, -2)) / np.sqrt(Q.shape[-1])  # (..., T, S)
    if mask is None:
        return ell
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"mask: expected a boolean array (True = attend), got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(m.shape, ell.shape)
    except ValueError:
        raise ValueError(f"mask: shape {m.shape} does not broadcast to the logits' shape {ell.shape}") from None
    return np.where(m, np.broadcast_to(ell, shape), -np.inf)


def _check_logits(logits: ArrayLike, name: str = "logits") -> tuple[np.ndarray, np.ndarray]:
    """Validated logits (..., T, S) and the boolean (..., T) marker of fully masked rows."""
    ell = as_float_array(logits, name, min_ndim=2, allow_neg_inf=True)
    if ell.shape[-1] == 0:
        raise ValueError(f"{name}: no keys (last axis is empty)")
    return ell, np.isneginf(ell).all(axis=-1)


def _row_law(ell: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """Row softmax with fully masked rows mapped to zero rows (the module's convention)."""
    safe = np.where(dead[..., None], 0.0, ell)  # a dead row gets a placeholder law, zeroed below
    return np.where(dead[..., None], 0.0, softmax(safe, axis=-1))  # (..., T, S)


def attention_weights(logits: ArrayLike) -> np.ndarray:
    r"""Attention weights :math:`p = \mathrm{softmax}(\ell)` per row; fully masked rows give zero rows.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)

    Returns
    -------
    ndarray of shape (..., T, S)
        Each row sums to one, except fully masked rows, which are all zero.

    Examples
    --------
    >>> import numpy as np
    >>> print(attention_weights([[0.0, np.log(3.0)], [-np.inf, -np.inf]]))
    [[0.25 0.75]
     [0.   0.  ]]
    """
    ell, dead = _check_logits(logits)
    return _row_law(ell, dead)


def _check_values(V: ArrayLike, S: int) -> np.ndarray:
    V = as_float_array(V, "V", min_ndim=2)
    if V.shape[-2] != S:
        raise ValueError(f"V: expected {S} value rows (one per key), got shape {V.shape}")
    return V


def softmax_attention(Q: ArrayLike, K: ArrayLike, V: ArrayLike, mask: ArrayLike | None = None) -> np.ndarray:
    r"""Exact softmax attention :math:`\mathrm{softmax}(QK^\top/\sqrt{d_k})\,V`.

    Parameters
    ----------
    Q : array_like of shape (..., T, d_k)
    K : array_like of shape (..., S, d_k)
    V : array_like of shape (..., S, d_v)
    mask : array_like of bool, broadcastable to (..., T, S), optional

    Returns
    -------
    ndarray of shape (..., T, d_v)
        The thermal average :math:`\langle v\rangle_{p_i}` per query; zero on fully masked rows.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.zeros((2, 4)); K = np.ones((3, 4)); V = np.arange(6.0).reshape(3, 2)
    >>> print(softmax_attention(Q, K, V))
    [[2. 3.]
     [2. 3.]]
    """
    ell, dead = _check_logits(attention_logits(Q, K, mask))
    V = _check_values(V, ell.shape[-1])
    return _row_law(ell, dead) @ V  # (..., T, d_v)


# --------------------------------------------------------------------------------------------------------
# Sampled attention
# --------------------------------------------------------------------------------------------------------
def sample_keys(
    logits: ArrayLike, n_samples: int, *, rng: np.random.Generator | int, backend: str = "exact", **chain_options
) -> np.ndarray:
    r"""Draw :math:`K` keys per query row from :math:`p_i = \mathrm{softmax}(\ell_i)`.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        ``-inf`` marks masked keys.
    n_samples : int
        :math:`K`, keys per row.
    rng : numpy.random.Generator or int
    backend : {"exact", "gumbel", "chain"}
        ``exact``: inverse CDF (:func:`thermoref.sampling.sample_categorical`); ``gumbel``: Gumbel-max;
        ``chain``: one Metropolis chain per row (:func:`thermoref.attention_chain.metropolis_keys`, whose
        keyword options ``n_warmup``, ``thin``, ``proposal`` may be passed through). The first two give
        independent draws; the chain gives correlated ones.

    Returns
    -------
    ndarray of int64, shape (..., T, K)
        Key indices; ``-1`` on fully masked rows.

    Examples
    --------
    >>> import numpy as np
    >>> keys = sample_keys([[0.0, 0.0, -np.inf]], 6, rng=0)
    >>> keys.shape, bool((keys < 2).all())
    ((1, 6), True)
    """
    ell, dead = _check_logits(logits)
    n_samples = check_positive_int(n_samples, "n_samples")
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if chain_options and backend != "chain":
        raise TypeError(f"backend: options {sorted(chain_options)} apply to the 'chain' backend only")
    rng = as_rng(rng)
    if backend == "chain":
        return metropolis_keys(ell, n_samples, rng=rng, **chain_options).indices
    safe = np.where(dead[..., None], 0.0, ell)  # placeholder law on dead rows, overwritten below
    method = "inverse_cdf" if backend == "exact" else "gumbel"
    idx = sample_categorical(safe, n_samples, rng=rng, method=method)  # (..., T, K)
    return np.where(dead[..., None], -1, idx)


def sampled_values(indices: ArrayLike, V: ArrayLike) -> np.ndarray:
    r"""The Monte Carlo attention output :math:`\hat pV = \frac1K\sum_k v_{j_k}` from sampled key indices.

    Parameters
    ----------
    indices : array_like of int, shape (..., T, K)
        Key indices from :func:`sample_keys`; rows of ``-1`` (fully masked) give a zero output.
    V : array_like of shape (..., S, d_v)

    Returns
    -------
    ndarray of shape (..., T, d_v)

    Notes
    -----
    A gather of :math:`K` value rows per query, :math:`O(TKd)` work instead of the :math:`O(TSd)` of
    :math:`pV`; equal to ``empirical_frequencies(indices, S) @ V`` up to rounding.
    """
    idx = np.asarray(indices)
    if idx.ndim < 2 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected an integer array of shape (..., T, K), got {idx.dtype}, {idx.shape}")
    V = as_float_array(V, "V", min_ndim=2)
    S = V.shape[-2]
    if idx.size and (idx.min() < -1 or idx.max() >= S):
        raise ValueError(f"indices: entries must lie in [0, {S}) (or -1 for a masked row)")
    dead = idx < 0
    if (dead.any(axis=-1) & ~dead.all(axis=-1)).any():
        raise ValueError("indices: -1 may only fill whole rows (fully masked queries)")
    Vb = V[..., None, :, :]  # (..., 1, S, d_v)
    ib = np.where(dead, 0, idx)[..., None]  # (..., T, K, 1)
    nd = max(Vb.ndim, ib.ndim)
    Vb = Vb.reshape((1,) * (nd - Vb.ndim) + Vb.shape)
    ib = ib.reshape((1,) * (nd - ib.ndim) + ib.shape)
    try:
        gathered = np.take_along_axis(Vb, ib, axis=-2)  # (..., T, K, d_v)
    except ValueError:
        raise ValueError(f"V: leading shape {V.shape[:-2]} does not broadcast with indices' {idx.shape[:-2]}") from None
    out = gathered.mean(axis=-2)  # (..., T, d_v)
    return np.where(dead[..., :1], 0.0, out)


def sampled_attention(
    Q: ArrayLike,
    K: ArrayLike,
    V: ArrayLike,
    n_samples: int,
    *,
    rng: np.random.Generator | int,
    backend: str = "exact",
    mask: ArrayLike | None = None,
) -> np.ndarray:
    r"""Sampled attention :math:`\hat pV`: the average value of :math:`K` keys drawn from each row's Gibbs law.

    Parameters
    ----------
    Q : array_like of shape (..., T, d_k)
    K : array_like of shape (..., S, d_k)
    V : array_like of shape (..., S, d_v)
    n_samples : int
        Keys per query, :math:`K`.
    rng : numpy.random.Generator or int
    backend : {"exact", "gumbel", "chain"}
        See :func:`sample_keys`.
    mask : array_like of bool, broadcastable to (..., T, S), optional

    Returns
    -------
    ndarray of shape (..., T, d_v)

    Notes
    -----
    With independent draws (``exact``, ``gumbel``) the estimator is unbiased,
    :math:`\mathbb E[\hat pV] = pV`, with :math:`\mathbb E\|\hat pV - pV\|^2 = \mathrm{tr}\,\mathrm{Cov}_p(v)/K`
    per row (:func:`sampling_mse`). A chain multiplies that by its integrated autocorrelation time.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Q, K, V = rng.standard_normal((3, 2, 5, 4))
    >>> sampled_attention(Q, K, V, 16, rng=1).shape
    (2, 5, 4)
    """
    ell = attention_logits(Q, K, mask)
    V = _check_values(V, ell.shape[-1])
    return sampled_values(sample_keys(ell, n_samples, rng=rng, backend=backend), V)


def blended_attention(
    Q: ArrayLike,
    K: ArrayLike,
    V: ArrayLike,
    n_samples: int,
    alpha: float,
    *,
    rng: np.random.Generator | int,
    backend: str = "exact",
    mask: ArrayLike | None = None,
) -> np.ndarray:
    r"""The bridge :math:`(1-\alpha)\,pV + \alpha\,\hat pV` between exact and sampled attention.

    ``alpha = 0`` is softmax attention, ``alpha = 1`` sampled attention; in between the estimator stays
    unbiased and its mean squared error is :math:`\alpha^2\,\mathrm{tr}\,\mathrm{Cov}_p(v)/K`.

    Parameters
    ----------
    Q, K, V, n_samples, rng, backend, mask
        As in :func:`sampled_attention`.
    alpha : float
        Weight of the sampled part, in [0, 1].

    Returns
    -------
    ndarray of shape (..., T, d_v)
    """
    alpha = check_probability(alpha, "alpha")
    ell, dead = _check_logits(attention_logits(Q, K, mask))
    V = _check_values(V, ell.shape[-1])
    exact = _row_law(ell, dead) @ V  # (..., T, d_v)
    sampled = sampled_values(sample_keys(ell, n_samples, rng=rng, backend=backend), V)
    return (1.0 - alpha) * exact + alpha * sampled


def sampling_mse(logits: ArrayLike, V: ArrayLike, n_samples: int, alpha: float = 1.0) -> np.ndarray:
    r"""Exact mean squared error per row of the (blended) sampled attention with independent draws.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
    V : array_like of shape (..., S, d_v)
    n_samples : int
        :math:`K`.
    alpha : float
        Blend weight (1 for plain sampled attention).

    Returns
    -------
    ndarray of shape (..., T)
        :math:`\alpha^2\,\mathrm{tr}\,\mathrm{Cov}_{p_i}(v)/K`; zero on fully masked rows.

    Notes
    -----
    :math:`\mathrm{tr}\,\mathrm{Cov}_p(v) = \sum_j p_j\|v_j - \bar v\|^2` with :math:`\bar v = pV`: the
    "thermal variance" of the value vectors. Each draw contributes it once; :math:`K` independent draws
    divide it by :math:`K`. Computed from values centred on their key-average to limit cancellation.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[1.0], [-1.0]])
    >>> print(sampling_mse(np.zeros((1, 2)), V, 4))
    [0.25]
    """
    ell, dead = _check_logits(logits)
    V = _check_values(V, ell.shape[-1])
    n_samples = check_positive_int(n_samples, "n_samples")
    alpha = check_probability(alpha, "alpha")
    p = _row_law(ell, dead)  # (..., T, S)
    Vc = V - V.mean(axis=-2, keepdims=True)  # (..., S, d_v): covariance is shift invariant
    second = p @ np.sum(Vc**2, axis=-1)[..., None]  # (..., T, 1)
    mean = p @ Vc  # (..., T, d_v)
    tr_cov = np.maximum(second[..., 0] - np.sum(mean**2, axis=-1), 0.0)  # (..., T)
    return alpha**2 * tr_cov / n_samples


def empirical_weights(indices: ArrayLike, S: int) -> np.ndarray:
    r"""Sampled attention weights :math:`\hat p_{ij}` = fraction of row :math:`i`'s draws equal to :math:`j`.

    Rows of ``-1`` (fully masked) give zero rows. Shape (..., T, S).
    """
    idx = np.asarray(indices)
    S = check_positive_int(S, "S")
    if idx.ndim < 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected an integer array, got {idx.dtype}")
    dead = (idx < 0).all(axis=-1)
    freq = empirical_frequencies(np.where(dead[..., None], 0, idx), S)  # (..., T, S)
    return np.where(dead[..., None], 0.0, freq)


# --------------------------------------------------------------------------------------------------------
# Synthetic energy templates (the demos' matrices), logits at kT = 1
# --------------------------------------------------------------------------------------------------------
def random_logits(S: int, *, strength: float = 1.0, rng: np.random.Generator | int) -> np.ndarray:
    r"""Random logits :math:`\ell_{ij} = \text{strength}\cdot g_{ij}`, :math:`g_{ij}\sim N(0,1)`; shape (S, S).

    ``strength`` plays the role of an inverse temperature: 0 gives uniform attention.
    """
    S = check_positive_int(S, "S")
    strength = _check_strength(strength)
    return strength * as_rng(rng).standard_normal((S, S))  # (S, S)


def local_logits(S: int, *, strength: float = 1.0, width: float = 1.5) -> np.ndarray:
    r"""Local (diagonal) logits :math:`\ell_{ij} = \text{strength}\cdot e^{-(i-j)^2/(2w^2)}`; shape (S, S).

    Each query prefers keys within about ``width`` positions of itself; the preference sharpens with
    ``strength``.
    """
    S = check_positive_int(S, "S")
    strength = _check_strength(strength)
    width = float(as_float_array(width, "width"))
    if not width > 0:
        raise ValueError(f"width: must be positive, got {width!r}")
    i = np.arange(S)
    return strength * np.exp(-((i[:, None] - i[None, :]) ** 2) / (2 * width**2))  # (S, S)


def block_logits(S: int, *, strength: float = 1.0, block: int = 4, n_global: int = 1) -> np.ndarray:
    r"""Block local + global logits; shape (S, S).

    :math:`\ell_{ij} = \text{strength}\,(1[\lfloor i/b\rfloor = \lfloor j/b\rfloor] + 1[i < g \text{ or } j < g])`:
    tokens attend within their block of size ``block``; the first ``n_global`` tokens are global (every
    query attends them, and they attend everything).
    """
    S = check_positive_int(S, "S")
    strength = _check_strength(strength)
    block = check_positive_int(block, "block")
    n_global = check_positive_int(n_global, "n_global", minimum=0)
    i = np.arange(S)
    same = (i[:, None] // block) == (i[None, :] // block)  # (S, S)
    glob = (i[None, :] < n_global) | (i[:, None] < n_global)  # (S, S)
    return strength * (same.astype(float) + glob.astype(float))


def _check_strength(strength: float) -> float:
    s = float(as_float_array(strength, "strength"))
    if s < 0:
        raise ValueError(f"strength: must be non-negative, got {s!r}")
    return s
