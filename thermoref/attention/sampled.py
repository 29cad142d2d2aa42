r"""Sampled attention: the average value of :math:`K` keys drawn from each query row's Gibbs law.

Sampled attention replaces the thermal average :math:`pV` by :math:`\hat pV = \frac1K\sum_k v_{j_k}` with
keys :math:`j_k` drawn from :math:`p_i = \mathrm{softmax}(\ell_i)` (a Boltzmann sampler's job). With
independent draws it is unbiased with mean squared error exactly :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)/K`;
the blend :math:`(1-\alpha)\,pV + \alpha\,\hat pV` has :math:`\alpha^2` times that error. A fully masked
row is inert (:mod:`thermoref.attention`): no key is drawn (index ``-1``) and its output is zero.

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS; Robert, C. P. & Casella, G. (2004)
*Monte Carlo Statistical Methods*, §3.2 (unbiased Monte Carlo averages).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_float_array, as_rng, check_positive_int, check_probability
from ..sampling import empirical_frequencies, sample_categorical
from .chain import metropolis_keys
from .exact import _check_logits, _check_values, _row_law, attention_logits

__all__ = [
    "BACKENDS",
    "sample_keys",
    "sampled_values",
    "sampled_attention",
    "blended_attention",
    "sampling_mse",
    "empirical_weights",
]

BACKENDS = ("exact", "gumbel", "chain")


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
        ``chain``: one Metropolis chain per row (:func:`thermoref.attention.metropolis_keys`, whose
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


def sampled_values(indices: ArrayLike, value: ArrayLike) -> np.ndarray:
    r"""The Monte Carlo attention output :math:`\hat pV = \frac1K\sum_k v_{j_k}` from sampled key indices.

    Parameters
    ----------
    indices : array_like of int, shape (..., T, K)
        Key indices from :func:`sample_keys`; rows of ``-1`` (fully masked) give a zero output.
    value : array_like of shape (..., S, d_v)
        Value rows, one per key.

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
    V = as_float_array(value, "value", min_ndim=2)
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
        raise ValueError(f"value: leading shape {V.shape[:-2]} does not broadcast with indices' {idx.shape[:-2]}") from None
    out = gathered.mean(axis=-2)  # (..., T, d_v)
    return np.where(dead[..., :1], 0.0, out)


def sampled_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    n_samples: int,
    *,
    rng: np.random.Generator | int,
    backend: str = "exact",
    mask: ArrayLike | None = None,
) -> np.ndarray:
    r"""Sampled attention :math:`\hat pV`: the average value of :math:`K` keys drawn from each row's Gibbs law.

    Parameters
    ----------
    query : array_like of shape (..., T, d_k)
        Queries :math:`Q`.
    key : array_like of shape (..., S, d_k)
        Keys :math:`K`.
    value : array_like of shape (..., S, d_v)
        Values :math:`V`, one row per key.
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
    ell = attention_logits(query, key, mask)
    V = _check_values(value, ell.shape[-1])
    return sampled_values(sample_keys(ell, n_samples, rng=rng, backend=backend), V)


def blended_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
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
    query, key, value, n_samples, rng, backend, mask
        As in :func:`sampled_attention`.
    alpha : float
        Weight of the sampled part, in [0, 1].

    Returns
    -------
    ndarray of shape (..., T, d_v)
    """
    alpha = check_probability(alpha, "alpha")
    ell, dead = _check_logits(attention_logits(query, key, mask))
    V = _check_values(value, ell.shape[-1])
    exact = _row_law(ell, dead) @ V  # (..., T, d_v)
    sampled = sampled_values(sample_keys(ell, n_samples, rng=rng, backend=backend), V)
    return (1.0 - alpha) * exact + alpha * sampled


def sampling_mse(logits: ArrayLike, value: ArrayLike, n_samples: int, alpha: float = 1.0) -> np.ndarray:
    r"""Exact mean squared error per row of the (blended) sampled attention with independent draws.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
    value : array_like of shape (..., S, d_v)
        Values, one row per key.
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
    V = _check_values(value, ell.shape[-1])
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


