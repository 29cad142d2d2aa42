"""Categorical sampling of the Gibbs law: inverse CDF, Gumbel-max, Walker's alias, Gumbel-top-k, two-stage.

A thermodynamic sampler that draws a level ``i`` with probability ``softmax(beta * logits)_i`` is the
"probabilistic inverse transform" (PDIT) unit of sampling hardware, and it is exactly what a language model
does to pick a token. Every function here draws from that one law over the last axis, vectorized over any
batch of rows; the only Python loops are over memory- or cache-sized blocks of draws and over the steps of
the inverse-CDF bisection, never over rows or categories.

References: Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 and III.4; Vose,
M. D. (1991) IEEE TSE 17, 972–975; Gumbel, E. J. (1954) NBS Appl. Math. Ser. 33; Kool, W., van Hoof, H. &
Welling, M. (2019) "Stochastic beams and where to find them: the Gumbel-top-k trick", ICML.
"""

from __future__ import annotations

from math import isqrt

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_logits_with_max, as_rng, check_allocation, check_beta, check_positive_int
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

#: The samplers of :func:`sample_categorical`: ``"inverse_cdf"``, ``"gumbel"`` (two-level Gumbel-max) and ``"alias"``.
METHODS = ("inverse_cdf", "gumbel", "alias")

_CHUNK = 1 << 21  # float64 entries per block of random variates (16 MiB)
_BLOCK_BYTES = 1 << 20  # bytes of running sums per block of rows of the inverse-CDF sampler (about L2)
_SEARCH_CHUNK = 1 << 14  # draws per block of the inverse-CDF search: its work arrays stay in cache
_TINY = 5e-324  # the smallest float64, added to exponential variates


def _scaled_logits(logits: ArrayLike, beta: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate; return ``x = beta * logits`` (..., n), masks kept at -inf, and its finite row maxima (...).

    At ``beta = 1`` ``x`` is the validated array itself, and the maxima are the one pass over the values.
    """
    z, top = as_logits_with_max(logits)
    b = check_beta(beta)
    batch = z.shape[:-1]
    if b.ndim > len(batch) or any(d not in (1, e) for d, e in zip(b.shape[::-1], batch[::-1])):
        raise ValueError(f"beta: shape {b.shape} must broadcast to the batch shape {batch} of logits")
    if b.ndim == 0 and b == 1.0:
        return z, top
    with np.errstate(over="ignore", invalid="ignore"):
        x = b[..., None] * z  # (..., n)
    top = np.max(x, axis=-1)  # NaN (0 * -inf), +inf (overflow) and -inf (all underflowed) propagate here
    if not np.isfinite(top).all():
        masked = np.isneginf(z)  # beta * (-inf) is NaN at beta = 0: keep masks at -inf explicitly
        with np.errstate(over="ignore"):
            x = np.where(masked, -np.inf, b[..., None] * np.where(masked, 0.0, z))
        top = np.max(x, axis=-1)
        if np.isposinf(top).any():
            raise ValueError("beta: beta * logits overflows to +inf")
        if np.isneginf(top).any():
            raise ValueError("beta: beta * logits underflows to -inf for every category of some row")
    return x, top


def _check_size(size: object, batch: tuple[int, ...], per_draw: int = 1) -> int | None:
    """Validate ``size`` (None or a positive int) and refuse a result too large to allocate."""
    K = None if size is None else check_positive_int(size, "size")
    check_allocation(batch + (1 if K is None else K, per_draw), "size")
    return K


def _count_at_most(flat: np.ndarray, start: np.ndarray, v: np.ndarray, L: int) -> np.ndarray:
    """``start`` plus how many of the ``L`` sorted entries ``flat[start : start + L]`` are ``<= v``, per query.

    A branchless bisection, one gather per step for all queries. The first probe, at ``h - 1`` (``h`` the
    largest power of two ``<= L``), leaves a window of ``h - 1`` entries (Shar's variant): every query takes the
    same ``ceil(log2(L + 1))`` steps, none needs a bounds check.
    """
    if L == 0:
        return np.broadcast_to(start, v.shape).copy()
    h = 1 << (L.bit_length() - 1)
    pos = start + np.where(flat[start + (h - 1)] <= v, L - h + 1, 0)  # absolute position of the window
    step = h >> 1
    while step:
        pos += (flat[step - 1:][pos] <= v) * step  # probe flat[pos + step - 1]; a view spares the index sum
        step >>= 1
    return pos


def _searchsorted_rows(a: np.ndarray, v: np.ndarray, side: str) -> np.ndarray:
    """Row-wise ``np.searchsorted`` of ``v`` (R, m) in the sorted rows of ``a`` (R, n), by :func:`_count_at_most`."""
    R, n = a.shape
    start = (np.arange(R, dtype=np.int64) * n)[:, None]  # (R, 1)
    w = v if side == "right" else np.nextafter(v, -np.inf)  # a < v  <=>  a <= the float just below v
    return _count_at_most(np.ascontiguousarray(a).ravel(), start, w, n) - start


def _inverse_cdf(x: np.ndarray, top: np.ndarray, u: np.ndarray, *, inplace: bool = False,
                 weights: bool = False) -> np.ndarray:
    """For each uniform ``u[r, k]`` the smallest ``i`` with ``c[r, i] > u[r, k] c[r, -1]``: int64, shape (R, K).

    ``x`` (R, n): scaled logits with finite row maxima ``top``; ``c[r, i] = sum_{j <= i} exp(x[r, j] - top[r])``,
    by blocks of rows kept in cache. ``inplace``: ``c`` overwrites ``x``. A row of total 0 gives an arbitrary index.
    ``weights``: return ``c`` overwritten by the draws' empirical law (R, n) instead (zero rows where the total is 0).
    """
    R, n = x.shape
    K = u.shape[1]
    c = x if inplace and x.flags.c_contiguous else np.empty(x.shape)  # (R, n), C order: blocks are contiguous
    # No shift when |top| <= 600: e^x neither overflows (n e^600 << 1.8e308) nor drops a weight that matters
    # (what underflows, x < -708, weighs < e^-108 of the row's largest).
    shift = R > 0 and not (-600.0 <= top.min() and top.max() <= 600.0)
    out = np.empty(u.shape, dtype=np.int64)
    rows = max(1, min(_BLOCK_BYTES // (8 * n), _SEARCH_CHUNK // max(1, K)))
    for r0 in range(0, R, rows):  # blocks of rows for the cache, not a loop over rows
        block = c[r0:r0 + rows]  # (rows, n)
        if shift:
            with np.errstate(over="ignore"):  # a finite sentinel far below a huge maximum: -inf, weight 0
                np.subtract(x[r0:r0 + rows], top[r0:r0 + rows, None], out=block)
            np.exp(block, out=block)
        else:
            np.exp(x[r0:r0 + rows], out=block)
        np.cumsum(block, axis=1, out=block)
        # v = u * total < total even after rounding, for every float u < 1 and a normal total (>= e^-600): the
        # last entry, the total, is never <= v, so the first n - 1 suffice, and the draw has positive weight.
        v = u[r0:r0 + rows] * block[:, -1:]  # (rows, K)
        start = (np.arange(len(block), dtype=np.int64) * n)[:, None]  # (rows, 1): row offsets in the block
        pos = _count_at_most(block.ravel(), start, v, n - 1)  # (rows, K): positions in the block
        if weights:  # each draw adds 1/K to its category (0 in a row without weight)
            w = np.repeat(np.where(block[:, -1] > 0, 1.0 / K, 0.0), K)  # (rows * K,)
            block[...] = np.bincount(pos.ravel(), weights=w, minlength=block.size).reshape(block.shape)
        else:
            out[r0:r0 + rows] = pos - start
    return c if weights else out


def _race(rng: np.random.Generator, inv_rate: np.ndarray) -> np.ndarray:
    """Per row of ``inv_rate`` (m, r), the first of r exponential clocks of rates ``1 / inv_rate`` (inf: never)."""
    e = rng.standard_exponential(inv_rate.shape)  # (m, r)
    e += _TINY  # an exact 0 must not meet an infinite inverse rate (0 * inf = nan)
    with np.errstate(over="ignore"):  # e * huge = inf is the wanted "never"
        e *= inv_rate
    return np.argmin(e, axis=1)


def _two_level_gumbel(x: np.ndarray, K: int, rng: np.random.Generator) -> np.ndarray:
    """``K`` two-level Gumbel-max draws per row of ``x`` (R, n) as exponential races (:func:`sample_categorical`)."""
    R, n = x.shape
    width = isqrt(n - 1) + 1  # ceil(sqrt(n))
    n_blocks = -(-n // width)
    if n_blocks * width != n:  # pad the last block with masked categories
        x = np.concatenate([x, np.full((R, n_blocks * width - n), -np.inf)], axis=1)
    xb = x.reshape(R, n_blocks, width)  # (R, blocks, width)
    b_top = np.max(xb, axis=2)  # (R, blocks), -inf on a block without an allowed category
    w = np.exp(xb - np.where(b_top > -np.inf, b_top, 0.0)[..., None])  # (R, blocks, width): max 1 in a live block
    with np.errstate(divide="ignore", over="ignore"):  # never in log space: ln Z_B = top + ln sum would round away
        z = np.exp(b_top - np.max(b_top, axis=1, keepdims=True)) * np.sum(w, axis=2)  # (R, blocks): Z_B / e^max
        inv_z = 1.0 / z  # inverse rates of the blocks: inf on empty ones
        np.divide(1.0, w, out=w)  # inverse rates of the categories: inf on masked ones
    inv_w = w.reshape(R * n_blocks, width)
    out = np.empty(R * K, dtype=np.int64)
    step = max(1, _CHUNK // max(n_blocks, width))
    for start in range(0, R * K, step):  # memory blocks of draws, not a loop over rows
        rows = np.arange(start, min(start + step, R * K)) // K  # (m,)
        block = _race(rng, inv_z[rows]) if n_blocks > 1 else np.zeros(len(rows), dtype=np.int64)  # (m,)
        out[start:start + step] = block * width + _race(rng, inv_w[rows * n_blocks + block])
    return out.reshape(R, K)


def alias_table(logits: ArrayLike, *, beta: ArrayLike = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Walker's alias table of ``softmax(beta * logits)`` for every row, built without a loop over rows.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits; ``-inf`` marks a masked category. A row with every category masked is a ``ValueError``.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature, one per row or shared.

    Returns
    -------
    prob : ndarray of shape (..., n)
        Probability that bucket ``j`` returns its own category ``j``.
    alias : ndarray of int64, shape (..., n)
        The category bucket ``j`` returns otherwise.

    Notes
    -----
    A uniformly chosen bucket :math:`j` returns :math:`j` with probability ``prob[j]``, else ``alias[j]``:
    :math:`p_i = \frac1n\big(\mathrm{prob}_i + \sum_{j:\,\mathrm{alias}_j = i}(1-\mathrm{prob}_j)\big)`. Vose's
    sequential construction in closed form, with :math:`q_i = n p_i`: each row sorted into "small" (:math:`q<1`)
    then "large" items, a small item whose cumulative deficit starts at :math:`D` is aliased to the first large
    item of cumulative excess :math:`C_j \ge D`; large item :math:`j` keeps :math:`1-(P_j-C_j)` of its bucket
    (:math:`P_j` the first cumulative deficit above :math:`C_j`) and is aliased to the next large item.

    References
    ----------
    Walker, A. J. (1977) "An efficient method for generating discrete random variables with general
    distributions", ACM Transactions on Mathematical Software 3, 253-256; Vose, M. D. (1991) "A linear algorithm
    for generating random numbers with a given distribution", IEEE Transactions on Software Engineering 17,
    972-975.

    Examples
    --------
    >>> import numpy as np
    >>> prob, alias = alias_table(np.log([0.5, 0.25, 0.25]))
    >>> implied = (prob + np.bincount(alias, weights=1 - prob, minlength=3)) / 3
    >>> print(np.round(implied, 12))
    [0.5  0.25 0.25]
    """
    x, _ = _scaled_logits(logits, beta)
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
        ``"inverse_cdf"``: one uniform per draw pushed through the row's CDF (``rng.random((rows, K))``, then a
        vectorized bisection; :math:`O(n + K\log n)` per row). ``"gumbel"``: two-level Gumbel-max, about
        :math:`2\sqrt n` exponential variates per draw. ``"alias"``: Walker's alias table
        (:func:`alias_table`), then two variates and :math:`O(1)` work per draw.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] (size None) or logits.shape[:-1] + (size,)
        Category indices in ``[0, n)``; a masked category is never returned.

    Notes
    -----
    All methods draw from :math:`p_i = e^{\beta z_i}/\sum_j e^{\beta z_j}`; they consume the random stream
    differently, so the same seed gives different (equally valid) draws per method, and the same bits for the
    same seed and method.

    *Inverse CDF.* With running sums :math:`c_i = \sum_{j\le i} e^{\beta z_j - m}` (:math:`m` the row's largest
    scaled logit; no shift when :math:`|m|\le 600`) and a uniform :math:`u`, the draw is the smallest :math:`i`
    with :math:`c_i > u\,c_{n-1}`; a zero weight is a flat step, never returned, and :math:`u\,c_{n-1}` stays below
    :math:`c_{n-1}` after rounding for every float :math:`u < 1`, so no draw falls past the last positive weight.
    Error bound: the returned index has the law :math:`\hat p_i = (c_i - c_{i-1})/c_{n-1}` of the computed sums
    to within :math:`2^{-50}` per category (the :math:`2^{-53}` grid of ``rng.random``, one rounding of
    :math:`u\,c_{n-1}` at each end of a step), and :math:`|\hat p_i - p_i| \lesssim 2n\epsilon`
    (:math:`\epsilon = 2^{-52}`, the rounding of :math:`n` exponentials and of their running sum) as for any
    float64 inverse-CDF sampler. The search compares floats of one row only: no precision is lost to offsets.

    *Gumbel-max.* :math:`\arg\max_i(\beta z_i + G_i)`, :math:`G_i` i.i.d. standard Gumbel, has law :math:`p`
    (chapter 2 of the book). With blocks of :math:`b = \lceil\sqrt n\,\rceil` categories, a draw takes the argmax
    over blocks of :math:`\ln Z_B + G_B` (block :math:`B` wins with probability :math:`Z_B/Z`), then of
    :math:`\beta z_i + G_i` inside it (:math:`e^{\beta z_i}/Z_B`): law :math:`p_i`, exactly. Each argmax is the
    equivalent exponential race :math:`\arg\min_i E_i e^{-a_i}`, :math:`E_i = e^{-G_i}` standard exponential.

    References
    ----------
    Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 (inversion by search) and
    III.4 (the alias method); Gumbel, E. J. (1954) "Statistical theory of extreme values and some practical
    applications", National Bureau of Standards Applied Mathematics Series 33; Maddison, C. J., Tarlow, D. &
    Minka, T. (2014) "A* sampling", Advances in Neural Information Processing Systems 27 (Gumbel-max over
    blocks of categories by their log-partition functions).

    Examples
    --------
    >>> import numpy as np
    >>> x = sample_categorical([[0.0, 1.0, -np.inf], [2.0, 0.0, 0.0]], size=4, rng=0)
    >>> x.shape, x.dtype
    ((2, 4), dtype('int64'))
    >>> bool((x[0] != 2).all())
    True
    >>> print(sample_categorical([-np.inf, 0.0, -np.inf], size=3, rng=1, method="gumbel"))
    [1 1 1]
    """
    x, top = _scaled_logits(logits, beta)
    batch, n = x.shape[:-1], x.shape[-1]
    K = _check_size(size, batch)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    rng = as_rng(rng)
    x2, draws = x.reshape(-1, n), 1 if K is None else K  # (R, n)
    if method == "inverse_cdf":
        idx = _inverse_cdf(x2, top.reshape(-1), rng.random((x2.shape[0], draws)))  # one uniform per draw
    elif method == "gumbel":
        idx = _two_level_gumbel(x2, draws, rng)
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
        Number of distinct categories per draw, in ``[1, n]``.
    size : int, optional
        Number of independent draws per row; ``None`` for one draw without a sample axis.
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
    With one standard Gumbel :math:`G_i` per category (all :math:`n` of them per draw), the indices of the
    :math:`k` largest :math:`\beta z_i + G_i`, in decreasing order, have the law of successive sampling without
    replacement (Plackett–Luce): :math:`\prod_{r=1}^{k} p_{i_r}/(1-\sum_{s<r} p_{i_s})`.

    References
    ----------
    Kool, W., van Hoof, H. & Welling, M. (2019) "Stochastic beams and where to find them: the Gumbel-top-k trick
    for sampling sequences without replacement", Proceedings of the 36th International Conference on Machine
    Learning (ICML), PMLR 97, 3499-3508.

    Examples
    --------
    >>> top = gumbel_top_k([0.0, 1.0, 2.0, 3.0], 2, size=5, rng=0)
    >>> top.shape, bool((top[:, 0] != top[:, 1]).all())
    ((5, 2), True)
    >>> print(gumbel_top_k([0.0, -np.inf, 1.0], 2, rng=0).tolist() in ([0, 2], [2, 0]))
    True
    """
    x, _ = _scaled_logits(logits, beta)
    batch, n = x.shape[:-1], x.shape[-1]
    k = check_positive_int(k, "k")
    if k > n:
        raise ValueError(f"k: cannot draw {k} distinct categories out of {n}")
    if (np.isfinite(x).sum(axis=-1) < k).any():
        raise ValueError(f"k: some row has fewer than {k} unmasked categories")
    K = _check_size(size, batch, k)
    rng = as_rng(rng)
    x2, draws = x.reshape(-1, n), 1 if K is None else K  # (R, n)
    out = np.empty((x2.shape[0] * draws, k), dtype=np.int64)
    step = max(1, _CHUNK // n)
    for start in range(0, len(out), step):  # memory chunks of draws, not a loop over rows
        y = x2[np.arange(start, min(start + step, len(out))) // draws]  # (chunk, n)
        y += rng.gumbel(size=y.shape)
        top = np.argpartition(-y, k - 1, axis=-1)[:, :k]  # (chunk, k), unordered
        order = np.argsort(-np.take_along_axis(y, top, axis=-1), axis=-1, kind="stable")
        out[start:start + step] = np.take_along_axis(top, order, axis=-1)
    return out.reshape(batch + (k,)) if K is None else out.reshape(batch + (K, k))


def _blocks(logits: ArrayLike, block_size: object, beta: ArrayLike) -> np.ndarray:
    x, _ = _scaled_logits(logits, beta)
    b = check_positive_int(block_size, "block_size")
    n = x.shape[-1]
    if n % b:
        raise ValueError(f"block_size: {b} does not divide the number of categories {n}")
    return x.reshape(x.shape[:-1] + (n // b, b))  # (..., blocks, block_size)


def hierarchical_law(logits: ArrayLike, block_size: int, *, beta: ArrayLike = 1.0) -> np.ndarray:
    r"""The law of two-stage (block, then item) sampling, computed exactly; equal to the flat softmax.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits; ``-inf`` masks a category. ``n`` must be a multiple of ``block_size``.
    block_size : int
        Categories per contiguous block.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature.

    Returns
    -------
    ndarray of shape (..., n)
        :math:`P(b)\,P(i\mid b)` for item :math:`i` of block :math:`b`.

    Notes
    -----
    :math:`P(b) = \mathrm{softmax}_b(\log Z_b)`, :math:`\log Z_b = \mathrm{logsumexp}_{i\in b}\,\beta z_i`, and
    :math:`P(i\mid b) = \mathrm{softmax}_{i\in b}(\beta z_i)`: the product is the flat law
    :math:`e^{\beta z_i}/\sum_j e^{\beta z_j}` (checked to a few ulps by the book and the tests).

    References
    ----------
    Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 (indexed search by
    groups of categories).

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
    return (p_block * p_item).reshape(xb.shape[:-2] + (xb.shape[-2] * xb.shape[-1],))


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
    size : int, optional
        Number of draws per row, as in :func:`sample_categorical`.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature.
    rng : numpy.random.Generator or int
        Source of randomness.
    method : {"inverse_cdf", "gumbel", "alias"}
        The sampler of each stage, as in :func:`sample_categorical`.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] (size None) or logits.shape[:-1] + (size,)
        Flat category indices ``block * block_size + item``.

    Notes
    -----
    Stage 1 draws block :math:`b` from :math:`\mathrm{softmax}(\log Z_b)` (:func:`hierarchical_law`), stage 2
    item :math:`i` from the block's own softmax: :math:`Z_b/Z \cdot e^{\beta z_i}/Z_b = e^{\beta z_i}/Z`, the flat
    law exactly. A block's log-partition function is all stage 1 needs (one PDIT unit per block, one over blocks).

    References
    ----------
    Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 (indexed search by
    groups of categories).

    Examples
    --------
    >>> sample_hierarchical([0.0, 1.0, 2.0, 3.0], 2, size=3, rng=0).shape
    (3,)
    >>> print(sample_hierarchical([-np.inf, -np.inf, 0.0, -np.inf], 2, size=3, rng=0))
    [2 2 2]
    """
    xb = _blocks(logits, block_size, beta)
    rng = as_rng(rng)
    K = _check_size(size, xb.shape[:-2])
    block = sample_categorical(logsumexp(xb, axis=-1), 1 if K is None else K, rng=rng, method=method)  # (..., K)
    inner = np.take_along_axis(xb, block[..., None], axis=-2)  # (..., K, block_size)
    flat = block * xb.shape[-1] + sample_categorical(inner, rng=rng, method=method)  # (..., K)
    return flat[..., 0] if K is None else flat


def categorical_counts(indices: ArrayLike, n: int) -> np.ndarray:
    r"""Counts of each category along the last axis of ``indices``.

    Parameters
    ----------
    indices : array_like of int, shape (..., K)
        Category indices in ``[0, n)``, ``K`` draws per row (``K = 0`` gives zero counts).
    n : int
        Number of categories.

    Returns
    -------
    ndarray of int64, shape indices.shape[:-1] + (n,)
        ``counts[..., i]`` = number of draws equal to ``i`` in that row.

    Notes
    -----
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
    check_allocation(batch + (n,), "n")
    R = int(np.prod(batch, dtype=np.int64))
    rows = idx.reshape(R, idx.shape[-1]).astype(np.int64) + (np.arange(R, dtype=np.int64) * n)[:, None]  # (R, K)
    return np.bincount(rows.ravel(), minlength=R * n).reshape(batch + (n,))  # each row in its own range of n


def empirical_frequencies(indices: ArrayLike, n: int) -> np.ndarray:
    r"""The empirical law of draws: the fraction of each row's draws equal to each category.

    Parameters
    ----------
    indices : array_like of int, shape (..., K)
        Category indices in ``[0, n)``, ``K >= 1`` draws per row.
    n : int
        Number of categories.

    Returns
    -------
    ndarray of shape indices.shape[:-1] + (n,)
        :math:`\hat p_i`; each row sums to one.

    Notes
    -----
    :math:`\hat p_i = \#\{k : x_k = i\}/K`, the maximum-likelihood estimate of the categorical law :math:`p`
    from :math:`K` draws; :math:`K\hat p` is multinomial with mean :math:`Kp`.

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
