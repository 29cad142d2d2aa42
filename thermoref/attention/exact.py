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

import math

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real

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
    r"""Boolean causal mask of shape (T, S): query ``i`` may attend key ``j`` iff ``j <= i + (S - T)``.

    Parameters
    ----------
    T : int
        Number of queries (rows), at least 1.
    S : int, optional
        Number of keys (columns), at least 1; ``None`` means ``S = T``.

    Returns
    -------
    ndarray of bool, shape (T, S)
        ``True`` means *attend*.

    Notes
    -----
    :math:`m_{ij} = 1[\,j \le i + (S - T)\,]`. With :math:`S = T` this is the lower triangle including the
    diagonal, so no row is fully masked; :math:`S > T` aligns the queries with the last :math:`T` keys (a KV
    cache), and :math:`S < T` leaves the first :math:`T - S` rows fully masked (inert, see
    :mod:`thermoref.attention`). Sizes whose mask would exceed :data:`thermoref.MAX_BYTES` are refused.

    Examples
    --------
    >>> print(causal_mask(3).astype(int))
    [[1 0 0]
     [1 1 0]
     [1 1 1]]
    >>> print(causal_mask(2, 4).astype(int))
    [[1 1 1 0]
     [1 1 1 1]]
    """
    T = check_positive_int(T, "T")
    S = T if S is None else check_positive_int(S, "S")
    check_allocation((T, S), "S" if S > T else "T", itemsize=1)
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
    :math:`kT=1`, or :math:`E = -QK^\top` at :math:`kT=\sqrt{d_k}`. Queries and keys whose logits would
    overflow float64 (:math:`|\ell_{ij}|` beyond :math:`1.8\times10^{308}`) are refused, naming ``query``.

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", Advances in Neural Information Processing Systems
    30, eq. 1.

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
    d = Q.shape[-1]
    if K.shape[-1] != d:
        raise ValueError(f"key: key dimension {K.shape[-1]} differs from the query dimension {d}")
    if d == 0:
        raise ValueError("query: the key dimension d_k is 0 (no features to compare)")
    try:
        lead = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2])
    except ValueError:
        raise ValueError(f"key: leading shape {K.shape[:-2]} does not broadcast with the queries' {Q.shape[:-2]}") from None
    check_allocation(lead + (Q.shape[-2], K.shape[-2]), "query" if Q.shape[-2] >= K.shape[-2] else "key")
    # |q.k| <= d max|q| max|k|: when that bound is safe, no entry can overflow and no check is needed.
    bound = d * float(np.max(np.abs(Q), initial=0.0)) * float(np.max(np.abs(K), initial=0.0))
    if bound < 1e300:
        ell = (Q @ np.swapaxes(K, -1, -2)) / np.sqrt(d)  # (..., T, S)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            ell = (Q @ np.swapaxes(K, -1, -2)) / np.sqrt(d)
        if not np.isfinite(ell).all():
            raise ValueError("query: the logits Q K^T / sqrt(d_k) overflow float64; scale the queries or keys down")
    if mask is None:
        return ell
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"mask: expected a boolean array (True = attend), got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(m.shape, ell.shape)
    except ValueError:
        raise ValueError(f"mask: shape {m.shape} does not broadcast to the logits' shape {ell.shape}") from None
    check_allocation(shape, "mask")
    return np.where(m, ell, -np.inf)  # (..., T, S), broadcast to the mask's leading axes if it has more


def _check_logits(logits: ArrayLike, name: str = "logits") -> tuple[np.ndarray, np.ndarray]:
    """Validated logits (..., T, S) and their row maxima (..., T): ``-inf`` marks a fully masked (inert) row."""
    ell = as_float_array(logits, name, min_ndim=2, allow_neg_inf=True)
    if ell.shape[-1] == 0:
        raise ValueError(f"{name}: no keys (last axis is empty)")
    return ell, np.max(ell, axis=-1)


def _qkv_logits(query: ArrayLike, key: ArrayLike, mask: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """Logits of queries and keys (finite or -inf by construction, so not re-validated) and their row maxima."""
    ell = attention_logits(query, key, mask)
    if ell.shape[-1] == 0:
        raise ValueError("key: no keys (S = 0)")
    return ell, np.max(ell, axis=-1)


def _row_law(ell: np.ndarray, top: np.ndarray, *, inplace: bool = False) -> np.ndarray:
    """Row softmax of logits with row maxima ``top``; a fully masked row (``top = -inf``) gives a zero row.

    The same arithmetic as :func:`thermoref.gibbs.softmax` (shift by the maximum, exp, divide by the sum), so
    the weights are bitwise those of ``softmax`` on every row that has a law. ``inplace`` overwrites ``ell``
    (for callers that own it).
    """
    dead = np.isneginf(top)  # (..., T)
    shift = np.where(dead, 0.0, top)[..., None]  # (..., T, 1)
    with np.errstate(over="ignore"):  # a finite sentinel far below a large maximum: e^-inf = 0, the limit
        w = np.subtract(ell, shift, out=ell if inplace else None)  # (..., T, S), <= 0
    np.exp(w, out=w)
    total = np.sum(w, axis=-1, keepdims=True)  # (..., T, 1), >= 1 on a row with a law, 0 on an inert row
    total[dead] = 1.0
    w /= total
    return w


def attention_weights(logits: ArrayLike) -> np.ndarray:
    r"""Attention weights :math:`p = \mathrm{softmax}(\ell)` per row; fully masked rows give zero rows.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        Logits :math:`\ell`; ``-inf`` marks a masked key. NaN and ``+inf`` are refused.

    Returns
    -------
    ndarray of shape (..., T, S)
        Each row sums to one, except fully masked (inert) rows, which are all zero.

    Notes
    -----
    :math:`p_{ij} = e^{\ell_{ij} - \ell_i^{\max}} / \sum_k e^{\ell_{ik} - \ell_i^{\max}}`: the Gibbs law of row
    :math:`i` at :math:`kT = 1` with energies :math:`E_{ij} = -\ell_{ij}`, computed with the shift by the row's
    largest logit so that nothing overflows.

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", Advances in Neural Information Processing Systems
    30, eq. 1.

    Examples
    --------
    >>> import numpy as np
    >>> print(attention_weights([[0.0, np.log(3.0)], [-np.inf, -np.inf]]))
    [[0.25 0.75]
     [0.   0.  ]]
    """
    ell, top = _check_logits(logits)
    return _row_law(ell, top)


def _check_values(value: ArrayLike, ell_shape: tuple[int, ...]) -> np.ndarray:
    """Validated values (..., S, d_v) whose leading axes broadcast with those of logits of shape ``ell_shape``."""
    V = as_float_array(value, "value", min_ndim=2)
    S = ell_shape[-1]
    if V.shape[-2] != S:
        raise ValueError(f"value: expected {S} value rows (one per key), got shape {V.shape}")
    try:
        np.broadcast_shapes(V.shape[:-2], ell_shape[:-2])
    except ValueError:
        raise ValueError(f"value: leading shape {V.shape[:-2]} does not broadcast with the logits' "
                         f"{ell_shape[:-2]}") from None
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
    :math:`p_i = \mathrm{softmax}(\ell_i)` with :math:`\ell = QK^\top/\sqrt{d_k}` from
    :func:`thermoref.attention.attention_logits`; the output is :math:`pV`, the mean value under each row's
    Gibbs law.

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", Advances in Neural Information Processing Systems
    30, eq. 1.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.zeros((2, 4)); K = np.ones((3, 4)); V = np.arange(6.0).reshape(3, 2)
    >>> print(softmax_attention(Q, K, V))
    [[2. 3.]
     [2. 3.]]
    """
    ell, top = _qkv_logits(query, key, mask)
    V = _check_values(value, ell.shape)
    return _row_law(ell, top, inplace=True) @ V  # (..., T, d_v)


# --------------------------------------------------------------------------------------------------------
# Synthetic energy templates (the demos' matrices), logits at kT = 1
# --------------------------------------------------------------------------------------------------------
def _check_strength(strength: float) -> float:
    return check_real(strength, "strength", nonnegative=True)


def random_logits(S: int, *, strength: float = 1.0, rng: np.random.Generator | int) -> np.ndarray:
    r"""Random logits :math:`\ell_{ij} = \text{strength}\cdot g_{ij}` with :math:`g_{ij}\sim N(0,1)`; shape (S, S).

    Parameters
    ----------
    S : int
        Number of tokens (queries = keys), at least 1.
    strength : float
        Non-negative scale; it plays the role of an inverse temperature (0 gives uniform attention).
    rng : numpy.random.Generator or int
        Source of the Gaussian entries.

    Returns
    -------
    ndarray of shape (S, S)
        The logits, drawn row by row from ``rng.standard_normal((S, S))``.

    Notes
    -----
    :math:`\ell_{ij} = s\,g_{ij}`: a random-energy model of attention, :math:`E_{ij} = -s\,g_{ij}` at
    :math:`kT = 1`. A strength so large that some :math:`s\,g_{ij}` overflows float64 is refused.

    Examples
    --------
    >>> print(random_logits(2, strength=0.5, rng=0).round(3))
    [[ 0.063 -0.066]
     [ 0.32   0.052]]
    """
    S = check_positive_int(S, "S")
    strength = _check_strength(strength)
    check_allocation((S, S), "S")
    g = as_rng(rng).standard_normal((S, S))  # (S, S)
    with np.errstate(over="ignore"):
        g *= strength
    if not np.isfinite(g).all():
        raise ValueError(f"strength: {strength!r} times a standard normal overflows float64")
    return g


def local_logits(S: int, *, strength: float = 1.0, width: float = 1.5) -> np.ndarray:
    r"""Local (diagonal) logits :math:`\ell_{ij} = \text{strength}\cdot e^{-(i-j)^2/(2w^2)}`; shape (S, S).

    Parameters
    ----------
    S : int
        Number of tokens (queries = keys), at least 1.
    strength : float
        Non-negative height of the diagonal band (an inverse temperature).
    width : float
        Positive width :math:`w` of the band, in positions.

    Returns
    -------
    ndarray of shape (S, S)
        Symmetric logits, largest (``strength``) on the diagonal.

    Notes
    -----
    :math:`\ell_{ij} = s\,e^{-(i-j)^2/(2w^2)}`: each query prefers keys within about :math:`w` positions of
    itself, and the preference sharpens with :math:`s`. The limits are exact: :math:`w \to 0` (``width`` so small
    that :math:`2w^2` underflows) gives :math:`s\,1[i = j]`, a huge ``width`` gives the constant :math:`s`.

    Examples
    --------
    >>> print(local_logits(3, strength=2.0, width=1.0).round(4))
    [[2.     1.2131 0.2707]
     [1.2131 2.     1.2131]
     [0.2707 1.2131 2.    ]]
    """
    S = check_positive_int(S, "S")
    strength = _check_strength(strength)
    width = check_real(width, "width", positive=True)
    check_allocation((S, S), "S")
    i = np.arange(S)
    d2 = ((i[:, None] - i[None, :]) ** 2).astype(float)  # (S, S) squared distances
    with np.errstate(over="ignore"):
        denom = 2 * np.float64(width) ** 2  # inf for a huge width: every ratio is 0, the constant limit
    if denom == 0.0:  # the narrow limit: only the diagonal survives
        return strength * (d2 == 0)
    return strength * np.exp(-d2 / denom)  # (S, S)


def block_logits(S: int, *, strength: float = 1.0, block: int = 4, n_global: int = 1) -> np.ndarray:
    r"""Block-local plus global logits; shape (S, S).

    Parameters
    ----------
    S : int
        Number of tokens (queries = keys), at least 1.
    strength : float
        Non-negative logit of one shared block or one global token (an inverse temperature).
    block : int
        Size of the contiguous blocks, at least 1.
    n_global : int
        Number of global tokens (the first ones), at least 0.

    Returns
    -------
    ndarray of shape (S, S)
        Logits with values in :math:`\{0, s, 2s\}`.

    Notes
    -----
    :math:`\ell_{ij} = s\,(1[\lfloor i/b\rfloor = \lfloor j/b\rfloor] + 1[i < g \text{ or } j < g])`:
    tokens attend within their block of size :math:`b`; the first :math:`g` tokens are global (every query
    attends them, and they attend everything). A strength whose double overflows float64 is refused.

    Examples
    --------
    >>> print(block_logits(4, strength=1.0, block=2, n_global=1))
    [[2. 2. 1. 1.]
     [2. 1. 0. 0.]
     [1. 0. 1. 1.]
     [1. 0. 1. 1.]]
    """
    S = check_positive_int(S, "S")
    strength = _check_strength(strength)
    block = min(check_positive_int(block, "block"), S)  # a block longer than the sequence is one block
    n_global = min(check_positive_int(n_global, "n_global", minimum=0), S)
    if not math.isfinite(2.0 * strength):
        raise ValueError(f"strength: {strength!r} overflows float64 where a block and a global token add up (2 x strength)")
    check_allocation((S, S), "S")
    i = np.arange(S)
    same = (i[:, None] // block) == (i[None, :] // block)  # (S, S)
    glob = (i[None, :] < n_global) | (i[:, None] < n_global)  # (S, S)
    return strength * (same.astype(float) + glob.astype(float))
