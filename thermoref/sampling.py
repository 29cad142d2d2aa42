"""Categorical sampling of the Gibbs law: inverse CDF, Gumbel-max, Walker's alias, Gumbel-top-k, two-stage.

A thermodynamic sampler that draws a level ``i`` with probability ``softmax(beta * logits)_i`` is the
"probabilistic inverse transform" (PDIT) unit of sampling hardware, and it is exactly what a language model
does to pick a token. Every function here draws from that one law over the last axis, vectorized over any
batch of rows; only the memory-bounded chunk loop of the Gumbel methods and the bisection steps of the
inverse-CDF search are Python loops.

References: Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 (inversion by
search) and III.4 (Walker's alias method); Vose, M. D. (1991) "A linear algorithm for generating random
numbers with a given distribution", IEEE TSE 17, 972–975; Gumbel, E. J. (1954) "Statistical theory of
extreme values", NBS Appl. Math. Ser. 33; Kool, W., van Hoof, H. & Welling, M. (2019) "Stochastic beams and
where to find them: the Gumbel-top-k trick", ICML.
"""

from __future__ import annotations


import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_logits, as_rng, check_beta, check_positive_int
from .gibbs import logsumexp, softmax

__all__ = [
    "METHODS",
    "sample_categorical",
    "alias_table",
    "gumbel_top_k",
    "sample_hierarchical",
    "hierarchical_law",
    "categorical_counts",
    "empirical_frequencies",
]

METHODS = ("inverse_cdf", "gumbel", "alias")

_CHUNK = 1 << 21  # float64 entries per Gumbel block (16 MiB)


def _scaled_logits(logits: ArrayLike, beta: ArrayLike) -> np.ndarray:
    """Validate ``logits`` (-inf = masked) and ``beta``; return ``beta * logits`` with masks kept at -inf."""
    z = as_logits(logits)
    b = check_beta(beta)
    batch = z.shape[:-1]
    try:
        if np.broadcast_shapes(b.shape, batch) != batch:
            raise ValueError
    except ValueError:
        raise ValueError(f"beta: shape {b.shape} must broadcast to the batch shape {batch} of logits") from None
    masked = np.isneginf(z)
    any_masked = bool(masked.any())
    with np.errstate(over="ignore", invalid="ignore"):
        if not any_masked:
            x = z if (b.ndim == 0 and b == 1.0) else b[..., None] * z  # (..., n)
        else:  # beta * (-inf) would be nan at beta = 0: keep masks at -inf explicitly
            x = np.where(masked, -np.inf, b[..., None] * np.where(masked, 0.0, z))
    if np.isposinf(x).any():
        raise ValueError("beta: beta * logits overflows to +inf")
    if np.isneginf(x).any() and np.isneginf(x).all(axis=-1).any():
        raise ValueError("beta: beta * logits underflows to -inf for every category of some row")
    return x


def _check_size(size: object) -> int | None:
    if size is None:
        return None
    return check_positive_int(size, "size")


def _searchsorted_rows(a: np.ndarray, v: np.ndarray, side: str) -> np.ndarray:
    """Row-wise ``np.searchsorted``: ``a`` of shape (R, n) with sorted rows, ``v`` of shape (R, m).

    A vectorized branchless bisection: ``pos`` grows by powers of two while ``a[pos + step - 1]`` still
    precedes ``v``; ``ceil(log2(n + 1))`` steps, each one gather over all rows at once.
    """
    R, n = a.shape
    flat = a.ravel()
    base = (np.arange(R, dtype=np.int64) * n)[:, None]  # (R, 1) row offsets into flat
    pos = np.zeros(v.shape, dtype=np.int64)  # (R, m): number of entries of a preceding v
    step = 1 << (int(n).bit_length() - 1)
    while step:
        cand = pos + step
        ok = cand <= n
        probe = flat[base + np.minimum(cand, n) - 1]  # (R, m)
        ok &= (probe <= v) if side == "right" else (probe < v)
        pos = np.where(ok, cand, pos)
        step >>= 1
    return pos


def _inverse_cdf(x: np.ndarray, K: int, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(softmax(x, axis=-1), axis=-1)  # (R, n)
    u = rng.random((x.shape[0], K)) * cdf[:, -1:]  # (R, K), uniform on [0, total)
    # Smallest i with cdf_i > u: a category of zero probability has a flat CDF step and is never returned.
    idx = _searchsorted_rows(cdf, u, side="right")
    # Guard against u * total rounding up to total (index n): fall back to the row's last allowed category.
    last = x.shape[1] - 1 - np.argmax(np.isfinite(x[:, ::-1]), axis=1)  # (R,)
    return np.minimum(idx, last[:, None])


def _perturbed_argmax(x: np.ndarray, K: int, rng: np.random.Generator, k: int | None) -> np.ndarray:
    """Argmax (k None) or the top-k, in decreasing order, of ``x[row] + Gumbel`` for K draws per row."""
    R, n = x.shape
    total = R * K
    out = np.empty((total,) if k is None else (total, k), dtype=np.int64)
    step = max(1, _CHUNK // n)
    for start in range(0, total, step):  # memory chunks of draws, not a loop over rows
        stop = min(start + step, total)
        rows = np.arange(start, stop) // K
        y = x[rows] + rng.gumbel(size=(stop - start, n))  # (chunk, n)
        if k is None:
            out[start:stop] = np.argmax(y, axis=-1)
        else:
            top = np.argpartition(-y, k - 1, axis=-1)[:, :k]  # (chunk, k), unordered
            order = np.argsort(-np.take_along_axis(y, top, axis=-1), axis=-1, kind="stable")
            out[start:stop] = np.take_along_axis(top, order, axis=-1)
    return out.reshape((R, K) if k is None else (R, K, k))


def alias_table(logits: ArrayLike, *, beta: ArrayLike = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Walker's alias table of ``softmax(beta * logits)`` for every row, built without a loop over rows.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits; ``-inf`` marks a masked category.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature.

    Returns
    -------
    prob : ndarray of shape (..., n)
        Probability that bucket ``j`` returns its own category ``j``.
    alias : ndarray of shape (..., n)
        The category bucket ``j`` returns otherwise (int64).

    Notes
    -----
    With :math:`q_i = n p_i`, bucket :math:`j` is chosen uniformly and returns :math:`j` with probability
    ``prob[j]``, else ``alias[j]``, so that
    :math:`p_i = \frac1n\big(\mathrm{prob}_i + \sum_{j:\,\mathrm{alias}_j = i}(1-\mathrm{prob}_j)\big)`.
    Vose's sequential construction is replaced by its closed form: sort each row into "small"
    (:math:`q<1`) then "large" items; a small item whose cumulative deficit starts at :math:`D` is aliased
    to the first large item whose cumulative excess :math:`C_j \ge D`, and large item :math:`j` keeps
    :math:`1-(P_j-C_j)` of its own bucket, with :math:`P_j` the first cumulative deficit above :math:`C_j`,
    and is aliased to the next large item. Both searches are row-wise bisections.

    Examples
    --------
    >>> import numpy as np
    >>> prob, alias = alias_table(np.log([0.5, 0.25, 0.25]))
    >>> implied = (prob + np.bincount(alias, weights=1 - prob, minlength=3)) / 3
    >>> print(np.round(implied, 12))
    [0.5  0.25 0.25]
    """
    x = _scaled_logits(logits, beta)
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])  # (R, n)
    prob, alias = _alias_rows(softmax(x2, axis=-1))
    return prob.reshape(shape), alias.reshape(shape)


def _alias_rows(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    R, n = p.shape
    q = n * p  # (R, n), mean 1 per row
    large = q >= 1.0
    order = np.argsort(large, axis=1, kind="stable")  # smalls first, then larges
    qs = np.take_along_axis(q, order, axis=1)
    ls = np.take_along_axis(large, order, axis=1)
    deficit = np.where(ls, 0.0, 1.0 - qs)
    D = np.cumsum(deficit, axis=1)  # cumulative deficit, constant over the large part
    C = np.cumsum(np.where(ls, qs - 1.0, 0.0), axis=1)  # cumulative excess, zero over the small part
    n_large = ls.sum(axis=1, keepdims=True)  # (R, 1), >= 1 since max q >= 1
    first_large = n - n_large
    # Small items: alias = first large position with C >= start of its deficit interval.
    C_large = np.where(ls, C, -np.inf)
    pos = _searchsorted_rows(C_large, D - deficit, side="left")
    pos = np.clip(pos, first_large, n - 1)  # rounding at the far end falls on the last large item
    # Large items: P_j = first cumulative deficit strictly above C_j (or C_j itself if there is none).
    D0 = np.concatenate([np.zeros((R, 1)), D], axis=1)  # (R, n + 1)
    k = _searchsorted_rows(D0, C, side="right")
    P = np.where(k <= n, np.take_along_axis(D0, np.minimum(k, n), axis=1), C)
    keep = np.clip(1.0 - (P - C), 0.0, 1.0)
    nxt = np.minimum(np.arange(n)[None, :] + 1, n - 1)  # next large position (the last aliases itself)
    prob_sorted = np.where(ls, keep, qs)
    alias_pos = np.where(ls, np.broadcast_to(nxt, (R, n)), pos)
    alias_sorted = np.take_along_axis(order, alias_pos, axis=1)
    prob = np.empty_like(prob_sorted)
    alias = np.empty_like(alias_sorted)
    np.put_along_axis(prob, order, prob_sorted, axis=1)
    np.put_along_axis(alias, order, alias_sorted, axis=1)
    return prob, alias


def _alias_draw(x: np.ndarray, K: int, rng: np.random.Generator) -> np.ndarray:
    prob, alias = _alias_rows(softmax(x, axis=-1))
    R, n = x.shape
    bucket = rng.integers(0, n, size=(R, K))  # (R, K)
    u = rng.random((R, K))
    own = u < np.take_along_axis(prob, bucket, axis=1)
    return np.where(own, bucket, np.take_along_axis(alias, bucket, axis=1))


def sample_categorical(
    logits: ArrayLike,
    size: int | None = None,
    *,
    beta: ArrayLike = 1.0,
    rng: np.random.Generator | int,
    method: str = "inverse_cdf",
) -> np.ndarray:
    r"""Draw categories from the Gibbs law ``softmax(beta * logits)`` over the last axis.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits :math:`z_i = -E_i/kT_0`; ``-inf`` marks a masked (forbidden) category. A row with every
        category masked is a ``ValueError``.
    size : int, optional
        Number ``K`` of independent draws per row; ``None`` for one draw without a trailing axis.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature multiplying the logits (``beta = 0``: uniform over unmasked categories).
    rng : numpy.random.Generator or int
        Source of randomness (required).
    method : {"inverse_cdf", "gumbel", "alias"}
        ``"inverse_cdf"``: a uniform pushed through the row's CDF by vectorized bisection (one uniform per
        draw, :math:`O(n + K\log n)` per row). ``"gumbel"``: :math:`\arg\max_i (\beta z_i + G_i)` with
        i.i.d. standard Gumbel :math:`G_i` (:math:`n` variates per draw). ``"alias"``: Walker's alias table
        (:func:`alias_table`), then two variates and :math:`O(1)` work per draw.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] (size None) or logits.shape[:-1] + (size,)
        Category indices in ``[0, n)``; a masked category is never returned.

    Notes
    -----
    All methods draw exactly from :math:`p_i = e^{\beta z_i}/\sum_j e^{\beta z_j}`, up to floating-point
    rounding of :math:`p` (relative :math:`\sim 10^{-16}`); they consume the random stream differently, so
    the same seed gives different (equally valid) draws per method. The Gumbel-max identity
    :math:`P(\arg\max_i(\beta z_i + G_i) = k) = p_k` is proved in chapter 2 of the book.

    Examples
    --------
    >>> import numpy as np
    >>> x = sample_categorical([[0.0, 1.0, -np.inf], [2.0, 0.0, 0.0]], size=4, rng=0)
    >>> x.shape, x.dtype
    ((2, 4), dtype('int64'))
    >>> bool((x[0] != 2).all())
    True
    """
    x = _scaled_logits(logits, beta)
    K = _check_size(size)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    rng = as_rng(rng)
    batch, n = x.shape[:-1], x.shape[-1]
    x2 = x.reshape(-1, n)  # (R, n)
    draws = 1 if K is None else K
    if method == "inverse_cdf":
        idx = _inverse_cdf(x2, draws, rng)
    elif method == "gumbel":
        idx = _perturbed_argmax(x2, draws, rng, None)
    else:
        idx = _alias_draw(x2, draws, rng)
    return idx.reshape(batch) if K is None else idx.reshape(batch + (K,))


def gumbel_top_k(
    logits: ArrayLike,
    k: int,
    size: int | None = None,
    *,
    beta: ArrayLike = 1.0,
    rng: np.random.Generator | int,
) -> np.ndarray:
    r"""Sample ``k`` distinct categories without replacement, in order, by the Gumbel-top-k trick.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits; ``-inf`` masks a category. Each row needs at least ``k`` unmasked categories.
    k : int
        Number of distinct categories per draw.
    size : int, optional
        Number of independent draws per row.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature.
    rng : numpy.random.Generator or int
        Source of randomness.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] + (k,) or logits.shape[:-1] + (size, k)
        The indices of the ``k`` largest perturbed logits, largest first.

    Notes
    -----
    The ordered tuple :math:`(i_1,\dots,i_k)` has the law of successive sampling without replacement
    (Plackett–Luce): :math:`\prod_{r=1}^{k} p_{i_r}/(1-\sum_{s<r} p_{i_s})`.

    Examples
    --------
    >>> top = gumbel_top_k([0.0, 1.0, 2.0, 3.0], 2, size=5, rng=0)
    >>> top.shape, bool((top[:, 0] != top[:, 1]).all())
    ((5, 2), True)
    """
    x = _scaled_logits(logits, beta)
    n = x.shape[-1]
    k = check_positive_int(k, "k")
    if k > n:
        raise ValueError(f"k: cannot draw {k} distinct categories out of {n}")
    if (np.isfinite(x).sum(axis=-1) < k).any():
        raise ValueError(f"k: some row has fewer than {k} unmasked categories")
    K = _check_size(size)
    rng = as_rng(rng)
    batch = x.shape[:-1]
    out = _perturbed_argmax(x.reshape(-1, n), 1 if K is None else K, rng, k)  # (R, K, k)
    return out.reshape(batch + (k,)) if K is None else out.reshape(batch + (K, k))


def _blocks(logits: ArrayLike, block_size: object, beta: ArrayLike) -> np.ndarray:
    x = _scaled_logits(logits, beta)
    b = check_positive_int(block_size, "block_size")
    n = x.shape[-1]
    if n % b:
        raise ValueError(f"block_size: {b} does not divide the number of categories {n}")
    return x.reshape(x.shape[:-1] + (n // b, b))  # (..., blocks, block_size)


def hierarchical_law(logits: ArrayLike, block_size: int, *, beta: ArrayLike = 1.0) -> np.ndarray:
    r"""The law of two-stage (block, then item) sampling, computed exactly; equal to the flat softmax.

    Returns an ndarray of shape logits.shape: :math:`P(b)\,P(i\mid b)` with
    :math:`P(b) = \mathrm{softmax}_b(\log\sum_{i\in b} e^{\beta z_i})` and
    :math:`P(i\mid b) = \mathrm{softmax}_{i\in b}(\beta z_i)`; the product is
    :math:`e^{\beta z_i}/\sum_j e^{\beta z_j}`, which the book and tests check to a few ulps.

    Examples
    --------
    >>> print(np.round(hierarchical_law([0.0, 1.0, 2.0, 3.0], 2), 6))
    [0.032059 0.087144 0.236883 0.643914]
    """
    xb = _blocks(logits, block_size, beta)
    lse = logsumexp(xb, axis=-1)  # (..., blocks); -inf for an all-masked block
    p_block = softmax(lse, axis=-1)[..., None]  # (..., blocks, 1)
    has_mass = np.isfinite(lse)[..., None]
    safe = np.where(has_mass, xb, 0.0)  # an all-masked block gets weight 0 from p_block anyway
    p_item = np.where(has_mass, softmax(safe, axis=-1), 0.0)  # (..., blocks, block_size)
    return (p_block * p_item).reshape(xb.shape[:-2] + (-1,))


def sample_hierarchical(
    logits: ArrayLike,
    block_size: int,
    size: int | None = None,
    *,
    beta: ArrayLike = 1.0,
    rng: np.random.Generator | int,
    method: str = "inverse_cdf",
) -> np.ndarray:
    r"""Exact two-stage sampling: a block by its log-partition function, then an item inside it.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits; ``n`` must be a multiple of ``block_size`` (pad with ``-inf`` otherwise).
    block_size : int
        Categories per contiguous block.
    size, beta, rng, method
        As in :func:`sample_categorical`.

    Returns
    -------
    ndarray of int64, same shape as :func:`sample_categorical` returns
        Flat category indices ``block * block_size + item``.

    Notes
    -----
    Stage 1 draws block :math:`b` from :math:`\mathrm{softmax}(\log Z_b)`, :math:`\log Z_b =
    \mathrm{logsumexp}_{i\in b}\,\beta z_i`; stage 2 draws :math:`i` from the block's own softmax. Since
    :math:`Z_b/Z \cdot e^{\beta z_i}/Z_b = e^{\beta z_i}/Z` the result has the flat law exactly: the
    per-block log-partition function is the only summary stage 1 needs (hardware: one PDIT unit per block
    plus one over blocks).

    Examples
    --------
    >>> sample_hierarchical([0.0, 1.0, 2.0, 3.0], 2, size=3, rng=0).shape
    (3,)
    """
    xb = _blocks(logits, block_size, beta)
    rng = as_rng(rng)
    K = _check_size(size)
    b = xb.shape[-1]
    block = sample_categorical(logsumexp(xb, axis=-1), 1 if K is None else K, rng=rng, method=method)  # (..., K)
    inner = np.take_along_axis(xb, block[..., None], axis=-2)  # (..., K, block_size)
    item = sample_categorical(inner, rng=rng, method=method)  # (..., K)
    flat = block * b + item
    return flat[..., 0] if K is None else flat


def categorical_counts(indices: ArrayLike, n: int) -> np.ndarray:
    """Counts of each category along the last axis of ``indices``: shape indices.shape[:-1] + (n,).

    Vectorized over rows by offsetting each row's indices into its own range of a single ``bincount``.

    Examples
    --------
    >>> print(categorical_counts([[0, 2, 2], [1, 1, 1]], 3))
    [[1 0 2]
     [0 3 0]]
    """
    n = check_positive_int(n, "n")
    idx = np.asarray(indices)
    if idx.ndim < 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices: expected an integer array with a sample axis, got dtype {idx.dtype}, shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"indices: entries must lie in [0, {n})")
    batch = idx.shape[:-1]
    rows = idx.reshape(-1, idx.shape[-1]).astype(np.int64)  # (R, K)
    offset = (np.arange(rows.shape[0], dtype=np.int64) * n)[:, None]
    counts = np.bincount((rows + offset).ravel(), minlength=rows.shape[0] * n)
    return counts.reshape(batch + (n,))


def empirical_frequencies(indices: ArrayLike, n: int) -> np.ndarray:
    """Empirical law :math:`\\hat p_i = (\\#\\text{draws equal to } i)/K` along the last axis; shape (..., n).

    Examples
    --------
    >>> print(empirical_frequencies([0, 2, 2, 1], 3))
    [0.25 0.25 0.5 ]
    """
    idx = np.asarray(indices)
    counts = categorical_counts(idx, n)
    if idx.shape[-1] == 0:
        raise ValueError("indices: no samples (K = 0)")
    return counts / idx.shape[-1]
