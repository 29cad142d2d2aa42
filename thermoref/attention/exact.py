r"""Exact softmax attention as a Gibbs law: logits, masks, weights, outputs, and synthetic logit templates.

Each query row :math:`i` of an attention head defines a Gibbs law over the keys,

.. math:: p_{ij} = \frac{e^{\ell_{ij}}}{\sum_k e^{\ell_{ik}}}, \qquad \ell = \frac{Q K^\top}{\sqrt{d_k}},

with ``query`` :math:`Q`, ``key`` :math:`K` and ``value`` :math:`V` (energies :math:`E_{ij} = -\ell_{ij}` at
:math:`kT = 1`; equivalently :math:`E = -QK^\top` at :math:`kT = \sqrt{d_k}`). Softmax attention is the thermal
average :math:`\langle v\rangle_{p_i} = \sum_j p_{ij} v_j`. Masks are ``-inf`` logits; the rule for a fully
masked row is the package's (:mod:`thermoref.attention`): it is inert, its weights and output are zero.

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS, eq. 1; Jaynes, E. T. (1957)
Phys. Rev. 106, 620.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real
from ..gibbs import softmax

__all__ = [
    "causal_mask",
    "attention_logits",
    "attention_weights",
    "softmax_attention",
    "random_logits",
    "local_logits",
    "block_logits",
]


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


def attention_logits(query: ArrayLike, key: ArrayLike, mask: ArrayLike | None = None) -> np.ndarray:
    r"""Scaled dot-product logits :math:`\ell = QK^\top/\sqrt{d_k}`, masked entries set to ``-inf``.

    Parameters
    ----------
    query : array_like of shape (..., T, d_k)
        Queries :math:`Q` (leading axes: batch, heads).
    key : array_like of shape (..., S, d_k)
        Keys :math:`K`, leading axes broadcastable with the queries'.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        ``True`` where query ``i`` may attend key ``j``.

    Returns
    -------
    ndarray of shape (..., T, S)
        Logits; ``-inf`` where masked. A row may be entirely ``-inf`` (an inert row, see
        :mod:`thermoref.attention`).

    Notes
    -----
    The Gibbs law of row :math:`i` is :math:`p_{ij}\propto e^{\ell_{ij}}`, i.e. energy :math:`E=-\ell` at
    :math:`kT=1`, or :math:`E = -QK^\top` at :math:`kT=\sqrt{d_k}`.

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS, eq. 1.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> print(attention_logits(Q, Q, causal_mask(2)).round(4))
    [[0.7071   -inf]
     [0.     2.8284]]
    """
    Q = as_float_array(query, "query", min_ndim=2)
    K = as_float_array(key, "key", min_ndim=2)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"key: key dimension {K.shape[-1]} differs from the query dimension {Q.shape[-1]}")
    try:
        lead = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2])
    except ValueError:
        raise ValueError(f"key: leading shape {K.shape[:-2]} does not broadcast with the queries' {Q.shape[:-2]}") from None
    check_allocation(lead + (Q.shape[-2], K.shape[-2]), "query")
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


def _check_values(value: ArrayLike, S: int) -> np.ndarray:
    V = as_float_array(value, "value", min_ndim=2)
    if V.shape[-2] != S:
        raise ValueError(f"value: expected {S} value rows (one per key), got shape {V.shape}")
    return V


def softmax_attention(query: ArrayLike, key: ArrayLike, value: ArrayLike, mask: ArrayLike | None = None) -> np.ndarray:
    r"""Exact softmax attention :math:`\mathrm{softmax}(QK^\top/\sqrt{d_k})\,V`.

    Parameters
    ----------
    query : array_like of shape (..., T, d_k)
        Queries :math:`Q`.
    key : array_like of shape (..., S, d_k)
        Keys :math:`K`.
    value : array_like of shape (..., S, d_v)
        Values :math:`V`, one row per key.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        ``True`` where query ``i`` may attend key ``j``.

    Returns
    -------
    ndarray of shape (..., T, d_v)
        The thermal average :math:`\langle v\rangle_{p_i} = \sum_j p_{ij}v_j` per query; zero on a fully
        masked (inert) row.

    Notes
    -----
    :math:`p_i = \mathrm{softmax}(\ell_i)` with :math:`\ell` from :func:`attention_logits`; the output is
    :math:`pV`.

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS, eq. 1.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.zeros((2, 4)); K = np.ones((3, 4)); V = np.arange(6.0).reshape(3, 2)
    >>> print(softmax_attention(Q, K, V))
    [[2. 3.]
     [2. 3.]]
    """
    ell, dead = _check_logits(attention_logits(query, key, mask))
    V = _check_values(value, ell.shape[-1])
    return _row_law(ell, dead) @ V  # (..., T, d_v)


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
    width = check_real(width, "width", positive=True)
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
    return check_real(strength, "strength", nonnegative=True)
