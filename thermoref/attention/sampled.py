r"""Sampled attention: the average value of :math:`K` keys drawn from each query row's Gibbs law.

Sampled attention replaces the thermal average :math:`pV` by :math:`\hat pV = \frac1K\sum_k v_{j_k}` with
keys :math:`j_k` drawn from :math:`p_i = \mathrm{softmax}(\ell_i)` (a Boltzmann sampler's job). With
independent draws it is unbiased with mean squared error exactly :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)/K`;
the blend :math:`(1-\alpha)\,pV + \alpha\,\hat pV` has :math:`\alpha^2` times that error. A fully masked
row is inert (:mod:`thermoref.attention`): no key is drawn (index ``-1``) and its output is zero.

Speed: the ``exact`` backend draws by inverse CDF with one uniform per key (the algorithm of
:func:`thermoref.sampling.sample_categorical`), and :func:`sampled_attention` averages the values through the
empirical weights, :math:`\hat p V` with :math:`\hat p_{ij} = \#\{k: j_k = j\}/K`, one matrix product like
exact attention's :math:`pV`, instead of gathering :math:`K` value rows per query.

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS; Robert, C. P. & Casella, G. (2004)
*Monte Carlo Statistical Methods*, §3.2 (unbiased Monte Carlo averages).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validation import (
    as_float_array,
    as_rng,
    check_allocation,
    check_positive_int,
    check_probability,
    check_returned_indices,
)
from ..backend.protocol import SamplingUnit
from ..sampling import _inverse_cdf, _two_level_gumbel, empirical_frequencies
from .chain import metropolis_keys
from .exact import _check_logits, _check_values, _qkv_logits, _row_law

__all__ = [
    "BACKENDS",
    "sample_keys",
    "sampled_values",
    "sampled_attention",
    "blended_attention",
    "sampling_mse",
    "empirical_weights",
]

#: The key samplers of :func:`sampled_attention`: ``"exact"`` (inverse CDF), ``"gumbel"`` (two-level Gumbel-max),
#: ``"chain"`` (one Metropolis chain per query row).
BACKENDS = ("exact", "gumbel", "chain")


# --------------------------------------------------------------------------------------------------------
# Sampled attention
# --------------------------------------------------------------------------------------------------------
def _check_sampling(ell_shape: tuple[int, ...], n_samples: object, backend: object, chain_options: dict) -> int:
    n_samples = check_positive_int(n_samples, "n_samples")
    if isinstance(backend, SamplingUnit):
        if chain_options:
            raise TypeError(f"backend: options {sorted(chain_options)} apply to the 'chain' backend only")
        check_allocation(ell_shape[:-1] + (n_samples,), "n_samples")
        return n_samples
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS} or a thermoref.backend.SamplingUnit, got {backend!r}")
    if chain_options and backend != "chain":
        raise TypeError(f"backend: options {sorted(chain_options)} apply to the 'chain' backend only")
    check_allocation(ell_shape[:-1] + (n_samples,), "n_samples")
    return n_samples


def _unit_keys(unit: SamplingUnit, x: np.ndarray, dead: np.ndarray, n_samples: int,
               rng: np.random.Generator) -> np.ndarray:
    """Keys (R, K) drawn by a sampling unit from rows ``x`` (R, S) at beta = 1; inert rows get placeholder zeros.

    What the unit returns is checked (shape, integers in range, never a masked key): a device is not trusted.
    """
    if dead.any():
        x = np.where(dead[:, None], 0.0, x)  # (R, S): a law for the inert rows, whose draws are discarded
    idx = check_returned_indices(unit.sample_categorical(x, 1.0, n_samples, rng=rng), "backend",
                                 (x.shape[0], n_samples), x.shape[1], "sample_categorical")  # (R, K)
    if np.isneginf(np.take_along_axis(x, idx, axis=1)).any():
        raise ValueError("backend: sample_categorical returned a masked key")
    return idx


def _draw_rows(ell: np.ndarray, top: np.ndarray, n_samples: int, rng: np.random.Generator,
               backend: str | SamplingUnit, chain_options: dict) -> tuple[np.ndarray, np.ndarray]:
    """Keys (R, K) drawn in every row of validated logits (..., T, S), and the rows' inert flags (R,).

    The keys of an inert row are placeholders (the caller marks them).
    """
    S = ell.shape[-1]
    dead = np.isneginf(top.reshape(-1))  # (R,)
    if not isinstance(backend, str):
        return _unit_keys(backend, ell.reshape(-1, S), dead, n_samples, rng), dead
    if backend == "chain":
        idx = metropolis_keys(ell, n_samples, rng=rng, **chain_options).indices.reshape(-1, n_samples)
        return np.maximum(idx, 0), dead
    x = ell.reshape(-1, S)  # (R, S)
    if backend == "exact":  # inverse CDF: the uniforms rng.random((R, K)), inert rows included
        u = rng.random((x.shape[0], n_samples))  # (R, K)
        return _inverse_cdf(x, np.where(dead, 0.0, top.reshape(-1)), u), dead
    return _two_level_gumbel(np.where(dead[:, None], 0.0, x) if dead.any() else x, n_samples, rng), dead


def sample_keys(
    logits: ArrayLike, n_samples: int, *, rng: np.random.Generator | int, backend: str | SamplingUnit = "exact",
    **chain_options
) -> np.ndarray:
    r"""Draw :math:`K` keys per query row from :math:`p_i = \mathrm{softmax}(\ell_i)`.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        Logits :math:`\ell`; ``-inf`` marks masked keys.
    n_samples : int
        :math:`K`, keys per row.
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : {"exact", "gumbel", "chain"} or thermoref.backend.SamplingUnit
        ``exact``: inverse CDF, one uniform per key (the algorithm of
        :func:`thermoref.sampling.sample_categorical`, same draws for the same seed); ``gumbel``: two-level
        Gumbel-max (:func:`thermoref.sampling.sample_categorical` with ``method="gumbel"``); ``chain``: one
        Metropolis chain per row (:func:`thermoref.attention.metropolis_keys`, whose keyword options
        ``n_warmup``, ``thin``, ``proposal`` may be passed through). The first two give independent draws; the
        chain gives correlated ones. A sampling unit (:class:`thermoref.backend.SamplingUnit`, e.g. a device
        model) draws through its ``sample_categorical(logits, 1.0, K, rng=rng)``; what it returns is checked.
    **chain_options : keyword arguments
        Options of :func:`thermoref.attention.metropolis_keys` (``backend="chain"`` only).

    Returns
    -------
    ndarray of int64, shape (..., T, K)
        Key indices; ``-1`` on fully masked rows.

    Notes
    -----
    Every backend targets :math:`P(j_k = j) = p_{ij} = e^{\ell_{ij}}/\sum_m e^{\ell_{im}}`. The ``exact``
    backend returns the smallest :math:`j` with :math:`c_{ij} > u_k c_{i,S-1}`, :math:`c_{ij} = \sum_{m\le j}
    e^{\ell_{im} - \ell_i^{\max}}`, for uniforms :math:`u_k` drawn as ``rng.random((rows, K))``; a masked key has
    a flat step of the CDF and is never drawn.

    References
    ----------
    Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 (inversion by search);
    Gumbel, E. J. (1954) "Statistical theory of extreme values and some practical applications", National
    Bureau of Standards Applied Mathematics Series 33.

    Examples
    --------
    >>> import numpy as np
    >>> keys = sample_keys([[0.0, 0.0, -np.inf], [-np.inf, -np.inf, -np.inf]], 6, rng=0)
    >>> keys.shape, bool((keys[0] < 2).all()), keys[1].tolist()
    ((2, 6), True, [-1, -1, -1, -1, -1, -1])
    """
    ell, top = _check_logits(logits)
    n_samples = _check_sampling(ell.shape, n_samples, backend, chain_options)
    idx, dead = _draw_rows(ell, top, n_samples, as_rng(rng), backend, chain_options)
    idx[dead] = -1
    return idx.reshape(ell.shape[:-1] + (n_samples,))  # (..., T, K)


def sampled_values(indices: ArrayLike, value: ArrayLike) -> np.ndarray:
    r"""The Monte Carlo attention output :math:`\hat pV = \frac1K\sum_k v_{j_k}` from sampled key indices.

    Parameters
    ----------
    indices : array_like of int, shape (..., T, K)
        Key indices from :func:`thermoref.attention.sample_keys`; rows of ``-1`` (fully masked) give a zero
        output.
    value : array_like of shape (..., S, d_v)
        Value rows, one per key; leading axes broadcast with those of ``indices``.

    Returns
    -------
    ndarray of shape (..., T, d_v)
        The mean of the :math:`K` sampled value rows of each query.

    Notes
    -----
    :math:`\hat pV_i = \frac1K\sum_{k=1}^K v_{j_{ik}}`: a gather of :math:`K` value rows per query,
    :math:`O(TKd)` work instead of the :math:`O(TSd)` of :math:`pV`; equal to
    ``empirical_weights(indices, S) @ V`` up to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    >>> print(sampled_values([[0, 1, 1, 2], [-1, -1, -1, -1]], V))
    [[1.25 2.  ]
     [0.   0.  ]]
    """
    idx = np.asarray(indices)
    if idx.ndim < 2 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected an integer array of shape (..., T, K), got {idx.dtype}, {idx.shape}")
    if idx.shape[-1] == 0:
        raise ValueError("indices: no samples (K = 0)")
    V = as_float_array(value, "value", min_ndim=2)
    S = V.shape[-2]
    if idx.size and (idx.min() < -1 or idx.max() >= S):
        raise ValueError(f"indices: entries must lie in [0, {S}) (or -1 for a masked row)")
    dead = idx < 0
    if (dead.any(axis=-1) & ~dead.all(axis=-1)).any():
        raise ValueError("indices: -1 may only fill whole rows (fully masked queries)")
    try:
        lead = np.broadcast_shapes(idx.shape[:-2], V.shape[:-2])
    except ValueError:
        raise ValueError(f"value: leading shape {V.shape[:-2]} does not broadcast with indices' {idx.shape[:-2]}") from None
    check_allocation(lead + idx.shape[-2:] + V.shape[-1:], "indices")
    Vb = np.broadcast_to(V, lead + V.shape[-2:])[..., None, :, :]  # (..., 1, S, d_v)
    ib = np.broadcast_to(np.where(dead, 0, idx), lead + idx.shape[-2:])[..., None]  # (..., T, K, 1)
    gathered = np.take_along_axis(Vb, ib, axis=-2)  # (..., T, K, d_v)
    with np.errstate(over="ignore"):
        out = gathered.mean(axis=-2)  # (..., T, d_v)
    if not np.isfinite(out).all():  # a sum of huge values overflowed: average the scaled values instead
        out = np.sum(gathered / idx.shape[-1], axis=-2)
    return np.where(dead[..., :1], 0.0, out)


def _sampled_law(ell: np.ndarray, top: np.ndarray, n_samples: int, rng: np.random.Generator,
                 backend: str | SamplingUnit) -> np.ndarray:
    """Empirical weights (..., T, S) of the keys drawn in each row of ``ell`` (which this spends); zero if inert."""
    if backend != "exact":
        idx, dead = _draw_rows(ell, top, n_samples, rng, backend, {})
        return _empirical_law(idx, dead, ell.shape)
    x = ell.reshape(-1, ell.shape[-1])  # (R, S)
    t = top.reshape(-1)
    u = rng.random((x.shape[0], n_samples))  # (R, K): the draws of sample_keys for the same rng
    return _inverse_cdf(x, np.where(np.isneginf(t), 0.0, t), u, inplace=True, weights=True).reshape(ell.shape)


def _empirical_law(idx: np.ndarray, dead: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Empirical weights of shape ``shape`` (..., T, S) from keys (R, K) in [0, S); zero rows where ``dead``.

    One weighted bincount over all rows (each draw adds 1/K to its row's key), not a loop.
    """
    R, K = idx.shape
    S = shape[-1]
    pos = idx + (np.arange(R, dtype=np.int64) * S)[:, None]  # (R, K): positions in the flat (R * S) weights
    weight = np.repeat(np.where(dead, 0.0, 1.0 / K), K)  # (R * K,)
    return np.bincount(pos.ravel(), weights=weight, minlength=R * S).reshape(shape)


def sampled_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    n_samples: int,
    *,
    rng: np.random.Generator | int,
    backend: str | SamplingUnit = "exact",
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
        Source of randomness.
    backend : {"exact", "gumbel", "chain"} or thermoref.backend.SamplingUnit
        The key sampler, see :func:`thermoref.attention.sample_keys`.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        ``True`` where query ``i`` may attend key ``j``.

    Returns
    -------
    ndarray of shape (..., T, d_v)
        :math:`\hat pV`; zero on a fully masked (inert) row. Equal, up to rounding, to
        ``sampled_values(sample_keys(attention_logits(query, key, mask), n_samples, rng=rng, backend=backend),
        value)`` with the same ``rng``.

    Notes
    -----
    :math:`\hat pV_i = \frac1K\sum_k v_{j_{ik}} = \sum_j \hat p_{ij} v_j` with :math:`j_{ik}\sim p_i` and
    :math:`\hat p_{ij}` the fraction of row :math:`i`'s draws equal to :math:`j`; computed in the second form,
    one matrix product like exact attention's. With independent draws (``exact``, ``gumbel``) the estimator is
    unbiased, :math:`\mathbb E[\hat pV] = pV`, with
    :math:`\mathbb E\|\hat pV_i - pV_i\|^2 = \mathrm{tr}\,\mathrm{Cov}_{p_i}(v)/K` per row
    (:func:`thermoref.attention.sampling_mse`). A chain multiplies that by its integrated autocorrelation
    time.

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", Advances in Neural Information Processing Systems
    30; Robert, C. P. & Casella, G. (2004) *Monte Carlo Statistical Methods*, 2nd ed., Springer, §3.2.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Q, K, V = rng.standard_normal((3, 2, 5, 4))
    >>> sampled_attention(Q, K, V, 16, rng=1).shape
    (2, 5, 4)
    >>> V1 = np.ones((2, 5, 1))  # every value is 1, so every average is exactly 1
    >>> print(sampled_attention(Q, K, V1, 16, rng=1)[0, :, 0])
    [1. 1. 1. 1. 1.]
    """
    ell, top = _qkv_logits(query, key, mask)
    V = _check_values(value, ell.shape)
    n_samples = _check_sampling(ell.shape, n_samples, backend, {})
    return _sampled_law(ell, top, n_samples, as_rng(rng), backend) @ V  # (..., T, d_v)


def blended_attention(
    query: ArrayLike,
    key: ArrayLike,
    value: ArrayLike,
    n_samples: int,
    alpha: float,
    *,
    rng: np.random.Generator | int,
    backend: str | SamplingUnit = "exact",
    mask: ArrayLike | None = None,
) -> np.ndarray:
    r"""The bridge :math:`(1-\alpha)\,pV + \alpha\,\hat pV` between exact and sampled attention.

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
    alpha : float
        Weight of the sampled part, in [0, 1].
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : {"exact", "gumbel", "chain"} or thermoref.backend.SamplingUnit
        The key sampler, see :func:`thermoref.attention.sample_keys`.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        ``True`` where query ``i`` may attend key ``j``.

    Returns
    -------
    ndarray of shape (..., T, d_v)
        The blend; ``alpha = 0`` gives :func:`thermoref.attention.softmax_attention` and ``alpha = 1``
        :func:`thermoref.attention.sampled_attention` (same ``rng``), bit for bit; zero on a fully masked row.

    Notes
    -----
    :math:`\big((1-\alpha)\,p + \alpha\,\hat p\big)V`: the estimator stays unbiased and its mean squared error is
    :math:`\alpha^2\,\mathrm{tr}\,\mathrm{Cov}_p(v)/K` per row, since only the sampled part is random.

    Examples
    --------
    >>> import numpy as np
    >>> Q, K = np.zeros((1, 2)), np.zeros((2, 2)); V = np.array([[0.0], [1.0]])
    >>> print(blended_attention(Q, K, V, 4, 0.0, rng=0))  # alpha = 0: exact attention, 1/2 each
    [[0.5]]
    """
    alpha = check_probability(alpha, "alpha")
    ell, top = _qkv_logits(query, key, mask)
    V = _check_values(value, ell.shape)
    n_samples = _check_sampling(ell.shape, n_samples, backend, {})
    p = _row_law(ell, top)  # (..., T, S)
    p_hat = _sampled_law(ell, top, n_samples, as_rng(rng), backend)  # (..., T, S); ell is spent
    return ((1.0 - alpha) * p + alpha * p_hat) @ V  # (..., T, d_v)


def sampling_mse(logits: ArrayLike, value: ArrayLike, n_samples: int, alpha: float = 1.0) -> np.ndarray:
    r"""Exact mean squared error per row of the (blended) sampled attention with independent draws.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        Logits :math:`\ell`; ``-inf`` marks masked keys.
    value : array_like of shape (..., S, d_v)
        Values, one row per key.
    n_samples : int
        :math:`K`.
    alpha : float
        Blend weight in [0, 1] (1 for plain sampled attention).

    Returns
    -------
    ndarray of shape (..., T)
        :math:`\alpha^2\,\mathrm{tr}\,\mathrm{Cov}_{p_i}(v)/K`; zero on fully masked rows.

    Notes
    -----
    :math:`\mathrm{tr}\,\mathrm{Cov}_p(v) = \sum_j p_j\|v_j - \bar v\|^2` with :math:`\bar v = pV`: the
    "thermal variance" of the value vectors. Each draw contributes it once; :math:`K` independent draws
    divide it by :math:`K`. Computed from values centred on their key-average to limit cancellation (and
    scaled down first when they are so large that their squares would overflow; an error beyond the float64
    range is refused, naming ``value``).

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[1.0], [-1.0]])
    >>> print(sampling_mse(np.zeros((1, 2)), V, 4))
    [0.25]
    """
    ell, top = _check_logits(logits)
    V = _check_values(value, ell.shape)
    n_samples = check_positive_int(n_samples, "n_samples")
    alpha = check_probability(alpha, "alpha")
    p = _row_law(ell, top)  # (..., T, S)
    scale = float(np.max(np.abs(V), initial=0.0))
    scale = scale if scale > 1e150 else 1.0  # values whose squares could overflow are scaled to at most 1
    Vs = V / scale if scale != 1.0 else V
    Vc = Vs - Vs.mean(axis=-2, keepdims=True)  # (..., S, d_v): covariance is shift invariant
    second = p @ np.sum(Vc**2, axis=-1)[..., None]  # (..., T, 1)
    mean = p @ Vc  # (..., T, d_v)
    tr_cov = np.maximum(second[..., 0] - np.sum(mean**2, axis=-1), 0.0)  # (..., T)
    mse = alpha**2 * tr_cov / n_samples
    if scale != 1.0:
        with np.errstate(over="ignore"):
            mse = mse * scale * scale
        if not np.isfinite(mse).all():
            raise ValueError(f"value: values up to {scale:.3g} make the mean squared error exceed the float64 range")
    return mse


def empirical_weights(indices: ArrayLike, S: int) -> np.ndarray:
    r"""Sampled attention weights :math:`\hat p_{ij}`: the fraction of row :math:`i`'s draws equal to :math:`j`.

    Parameters
    ----------
    indices : array_like of int, shape (..., T, K)
        Key indices in ``[0, S)``, from :func:`thermoref.attention.sample_keys`; rows of ``-1`` are fully
        masked.
    S : int
        Number of keys.

    Returns
    -------
    ndarray of shape (..., T, S)
        Empirical weights; each row sums to one, except fully masked rows, which are zero.

    Notes
    -----
    :math:`\hat p_{ij} = \frac1K\#\{k : j_{ik} = j\}`, the empirical law whose product with the values is
    :func:`thermoref.attention.sampled_values`' output.

    Examples
    --------
    >>> print(empirical_weights([[0, 2, 2, 1], [-1, -1, -1, -1]], 3))
    [[0.25 0.25 0.5 ]
     [0.   0.   0.  ]]
    """
    idx = np.asarray(indices)
    S = check_positive_int(S, "S")
    if idx.ndim < 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected an integer array, got {idx.dtype}")
    if idx.shape[-1] == 0:
        raise ValueError("indices: no samples (K = 0)")
    check_allocation(idx.shape[:-1] + (S,), "S")
    dead = (idx < 0).all(axis=-1)
    freq = empirical_frequencies(np.where(dead[..., None], 0, idx), S)  # (..., T, S)
    return np.where(dead[..., None], 0.0, freq)
