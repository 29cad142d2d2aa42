r"""Gradient estimators through one sampled attention row, with their exact expectations by enumeration.

A query row with logits :math:`\ell` over :math:`S` keys has the exact law :math:`p = \mathrm{softmax}(\ell)`.
Sampled attention draws :math:`K` keys from :math:`p`; their counts :math:`n` are multinomial,
:math:`n \sim \mathrm{Mult}(K, p)`, the empirical law is :math:`\hat p = n/K` and the head's output is
:math:`o = \hat pV` (values :math:`V`, one row per key). Training through the sampler needs the gradient of
the expected objective :math:`\mathcal L(\ell) = \mathbb E\,f(\hat pV)` with respect to the logits. Two
estimators from one draw, each with its exact mean and covariance over the :math:`\binom{K+S-1}{S-1}` count
vectors, so that the bias of each is a computed number (the categorical version of
:mod:`thermoref.estimators`, which treats a single bit):

====================  ==========================================================  =========================
estimator             one draw                                                    expectation
====================  ==========================================================  =========================
straight-through      :math:`J(p)^\top V\,\nabla f(\hat pV)`                      biased unless f is linear
REINFORCE             :math:`(f(\hat pV) - b)\,(n - Kp)`                          unbiased for any baseline b
====================  ==========================================================  =========================

with :math:`J(p) = \mathrm{diag}(p) - pp^\top` the softmax Jacobian
(:func:`thermoref.attention.softmax_jacobian`). The straight-through (ST) draw is what
:func:`thermoref.transformer.loss_and_grad` back-propagates through a sampled head: the gradient with respect
to the used weights :math:`\hat p` sent through the Jacobian at :math:`p`. REINFORCE multiplies the objective
by the score :math:`\nabla_\ell\log P(n) = n - Kp` of the multinomial.

The exact gradient is computed by a third route, independent of both: :math:`\mathcal L` is a polynomial in
:math:`p`, and differentiating the multinomial law term by term gives

.. math:: \frac{\partial\mathcal L}{\partial p_j} = K\,\mathbb E_{m\sim\mathrm{Mult}(K-1,\,p)}
          \Bigl[f\bigl((m + e_j)V/K\bigr)\Bigr], \qquad
          \nabla_\ell\mathcal L = J(p)^\top\,\nabla_p\mathcal L,

an enumeration over :math:`K-1` draws (:func:`row_exact_gradient`).

References: Williams, R. J. (1992) "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Mach. Learn. 8, 229–256; Bengio, Y., Léonard, N. & Courville, A. (2013) "Estimating or
propagating gradients through stochastic neurons for conditional computation", arXiv:1308.3432; Johnson, N. L.,
Kotz, S. & Balakrishnan, N. (1997) *Discrete Multivariate Distributions*, Wiley, ch. 35 (the multinomial law).
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, xlogy

from .._validation import (
    as_float_array,
    as_logits,
    as_rng,
    check_allocation,
    check_callable,
    check_positive_int,
    check_real,
    check_returned,
)
from ..attention import attention_weights, softmax_jacobian

__all__ = ["ROW_ESTIMATORS", "count_law", "row_objective", "row_exact_gradient", "row_sample_gradient",
           "row_gradient_moments"]

#: The estimators of :func:`row_sample_gradient` and :func:`row_gradient_moments`, by ``method`` name.
ROW_ESTIMATORS = ("straight_through", "reinforce")

Fn = Callable[[np.ndarray], np.ndarray]

_MAX_K = 2**53


# ------------------------------------------------------------------------------------------------ helpers
def _compositions(S: int, K: int) -> np.ndarray:
    """Every vector of ``S`` non-negative integers summing to ``K`` (``K >= 0``), (M, S), lexicographic order.

    Built one category at a time (a loop over the ``S`` categories, array operations over the rows): each row
    with ``r`` draws left is repeated ``r + 1`` times and given ``0 .. r`` in the next category.
    """
    counts = np.zeros((1, 0), dtype=np.int64)  # (1, 0)
    rest = np.array([K], dtype=np.int64)  # (1,) draws not yet placed
    for _ in range(S - 1):  # a loop over categories
        reps = rest + 1  # (M_j,)
        row = np.repeat(np.arange(rest.size), reps)  # (M_{j+1},) parent row of every child
        first = np.repeat(np.cumsum(reps) - reps, reps)  # (M_{j+1},) index of the parent's first child
        value = np.arange(row.size, dtype=np.int64) - first  # (M_{j+1},) 0 .. r within each parent
        counts = np.concatenate([counts[row], value[:, None]], axis=1)  # (M_{j+1}, j + 1)
        rest = rest[row] - value
    return np.concatenate([counts, rest[:, None]], axis=1)  # (M, S)


def _law(logits: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated logits (S,), exact law ``p`` (S,) and the indices of the keys with ``p > 0`` (the support)."""
    ell = as_logits(logits, "logits")
    if ell.ndim != 1:
        raise ValueError(f"logits: expected one attention row of shape (S,), got shape {ell.shape}")
    p = attention_weights(ell[None])[0]  # (S,): the same arithmetic as thermoref.gibbs.softmax
    return ell, p, np.flatnonzero(p > 0)


def _count_law(p: np.ndarray, live: np.ndarray, K: int, name: str = "K") -> tuple[np.ndarray, np.ndarray]:
    """Count vectors on the support, embedded in (M, S), and their multinomial probabilities (M,)."""
    S, s = p.size, live.size
    M = comb(K + s - 1, s - 1)
    check_allocation((M, max(S, 2)), name)
    sub = _compositions(s, K)  # (M, s)
    log_pmf = gammaln(K + 1.0) - gammaln(sub + 1.0).sum(axis=1) + xlogy(sub, p[live]).sum(axis=1)  # (M,)
    counts = np.zeros((M, S), dtype=np.int64)  # (M, S)
    counts[:, live] = sub
    return counts, np.exp(log_pmf)


def _check_K(K: object) -> int:
    """Draws per row: an integer in [1, 2**53] (counts and n/K stay exact in float64)."""
    K = check_positive_int(K, "K")
    if K > _MAX_K:
        raise ValueError(f"K: at most 2**53 draws per row, got {K}")
    return K


def _values(values: ArrayLike, S: int) -> np.ndarray:
    V = as_float_array(values, "values", ndim=2)
    if V.shape[0] != S or V.shape[1] == 0:
        raise ValueError(f"values: expected shape ({S}, d) with d >= 1 (one row per key), got {V.shape}")
    return V


def _outputs(counts: np.ndarray, V: np.ndarray, K: int) -> np.ndarray:
    """Head outputs :math:`o = (n/K)V` of count vectors ``counts`` (..., S): shape (..., d)."""
    with np.errstate(over="ignore", invalid="ignore"):
        o = (counts / K) @ V  # (..., d)
    if not np.isfinite(o).all():
        raise ValueError("values: the head outputs (n/K) V overflow float64 (values too large)")
    return o


def _check_method(method: object, baseline: object) -> float:
    if not isinstance(method, str) or method not in ROW_ESTIMATORS:
        raise ValueError(f"method: expected one of {ROW_ESTIMATORS}, got {method!r}")
    return check_real(baseline, "baseline")


def _draws(counts: np.ndarray, p: np.ndarray, ell: np.ndarray, V: np.ndarray, K: int, f: Fn, grad_f: Fn,
           method: str, baseline: float) -> np.ndarray:
    """One estimate per count vector: (N, S) from counts (N, S)."""
    o = _outputs(counts, V, K)  # (N, d)
    if method == "straight_through":
        dw = check_returned(grad_f(o), "grad_f", o.shape) @ V.T  # (N, S): gradient w.r.t. the used weights
        with np.errstate(over="ignore", invalid="ignore"):
            out = dw @ softmax_jacobian(ell)  # (N, S): J(p) is symmetric
        culprit = "grad_f"
    else:
        fo = check_returned(f(o), "f", o.shape[:1])  # (N,) or broadcastable
        with np.errstate(over="ignore", invalid="ignore"):
            out = (fo - baseline)[..., None] * (counts - K * p)  # (N, S): objective times the score
        culprit = "baseline" if abs(baseline) >= np.abs(fo).max(initial=0.0) else "f"
    if not np.isfinite(out).all():
        raise ValueError(f"{culprit}: the {method} estimate exceeds the float64 range")
    return np.broadcast_to(out, counts.shape) if out.shape != counts.shape else out


# --------------------------------------------------------------------------------------------- public API
def count_law(logits: ArrayLike, K: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Every count vector of :math:`K` draws from :math:`\mathrm{softmax}(\ell)` and its multinomial probability.

    Parameters
    ----------
    logits : array_like of shape (S,)
        One attention row :math:`\ell`; ``-inf`` masks a key (at least one key must be unmasked).
    K : int
        Number of draws, :math:`1 \le K \le 2^{53}`.

    Returns
    -------
    counts : ndarray of int64, shape (M, S)
        The count vectors :math:`n` (:math:`\sum_j n_j = K`) on the keys with :math:`p_j > 0`, zero elsewhere,
        in lexicographic order; :math:`M = \binom{K+s-1}{s-1}` with :math:`s` the number of such keys.
    pmf : ndarray of shape (M,)
        :math:`P(n) = K!\prod_j p_j^{n_j}/n_j!`, summing to 1 up to rounding.

    Notes
    -----
    .. math:: P(n) = \frac{K!}{\prod_j n_j!}\prod_j p_j^{n_j}, \qquad p = \mathrm{softmax}(\ell),

    computed in log space (``gammaln``, ``xlogy``). A key with :math:`p_j = 0` (masked, or a finite logit so
    far below the maximum that :math:`e^{\ell_j-\ell_{\max}}` underflows) is never drawn and is left out of
    the enumeration. Sizes are refused before allocating when :math:`M` is too large.

    References
    ----------
    Johnson, N. L., Kotz, S. & Balakrishnan, N. (1997) *Discrete Multivariate Distributions*, Wiley, ch. 35.

    Examples
    --------
    >>> from thermoref.transformer import count_law
    >>> counts, pmf = count_law([0.0, 0.0], 2)
    >>> print(counts.tolist(), pmf.round(6).tolist())
    [[0, 2], [1, 1], [2, 0]] [0.25, 0.5, 0.25]
    """
    _, p, live = _law(logits)
    K = _check_K(K)
    return _count_law(p, live, K)


def row_objective(logits: ArrayLike, values: ArrayLike, K: int, f: Fn) -> float:
    r"""Exact expectation :math:`\mathbb E\,f(\hat pV)` over the :math:`K` draws of one sampled attention row.

    Parameters
    ----------
    logits : array_like of shape (S,)
        The row's logits :math:`\ell` (``-inf`` masks a key).
    values : array_like of shape (S, d)
        Value vectors, one row per key.
    K : int
        Draws per row, :math:`1 \le K \le 2^{53}`.
    f : callable
        The objective of the head output: ``f(o)`` with ``o`` of shape (N, d) returns N finite reals
        (shape (N,), or broadcastable to it).

    Returns
    -------
    float
        :math:`\mathcal L(\ell) = \sum_n P(n)\,f(nV/K)`.

    Notes
    -----
    .. math:: \mathcal L(\ell) = \mathbb E_{n\sim\mathrm{Mult}(K,\,p)}\,f\!\left(\tfrac{n}{K}V\right),
              \qquad p = \mathrm{softmax}(\ell),

    a finite sum over the count vectors of :func:`count_law`. For :math:`f(o) = \tfrac12\|o - y\|^2` it equals
    :math:`\tfrac12\|pV - y\|^2 + \mathrm{tr}\,\mathrm{Cov}_p(v)/(2K)`: the sampling error of the head
    (:func:`thermoref.attention.sampling_mse`) enters the objective at order :math:`1/K`.

    References
    ----------
    Johnson, N. L., Kotz, S. & Balakrishnan, N. (1997) *Discrete Multivariate Distributions*, Wiley, ch. 35.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.transformer import row_objective
    >>> V = np.array([[0.0], [1.0]])
    >>> print(round(row_objective([0.0, 0.0], V, 4, lambda o: 0.5 * (o[:, 0] - 0.5) ** 2), 6))  # 0.25 / 8
    0.03125
    """
    _, p, live = _law(logits)
    V = _values(values, p.size)
    K = _check_K(K)
    check_callable(f, "f")
    counts, pmf = _count_law(p, live, K)
    fo = check_returned(f(_outputs(counts, V, K)), "f", (counts.shape[0],))
    with np.errstate(over="ignore", invalid="ignore"):
        out = float(np.broadcast_to(fo, pmf.shape) @ pmf)
    if not np.isfinite(out):
        raise ValueError("f: the expectation of f exceeds the float64 range")
    return out


def row_exact_gradient(logits: ArrayLike, values: ArrayLike, K: int, f: Fn) -> np.ndarray:
    r"""Exact gradient :math:`\nabla_\ell\,\mathbb E\,f(\hat pV)` of one sampled attention row, by enumeration.

    Parameters
    ----------
    logits : array_like of shape (S,)
        The row's logits :math:`\ell` (``-inf`` masks a key).
    values : array_like of shape (S, d)
        Value vectors, one row per key.
    K : int
        Draws per row, :math:`1 \le K \le 2^{53}`.
    f : callable
        The objective of the head output: ``f(o)`` with ``o`` of shape (N, d) returns N finite reals.

    Returns
    -------
    ndarray of shape (S,)
        :math:`\partial\mathcal L/\partial\ell_k`; zero on keys with :math:`p_k = 0`.

    Notes
    -----
    :math:`\mathcal L = \sum_n \frac{K!}{\prod n_i!}\prod_i p_i^{n_i} f(nV/K)` is a polynomial in :math:`p`;
    differentiating :math:`p_j^{n_j}` and re-indexing :math:`m = n - e_j` gives

    .. math:: g_j = \frac{\partial\mathcal L}{\partial p_j} = K\,\mathbb E_{m\sim\mathrm{Mult}(K-1,\,p)}
              f\!\left(\frac{(m + e_j)V}{K}\right),\qquad
              \frac{\partial\mathcal L}{\partial\ell_k} = p_k\Bigl(g_k - \sum_j p_jg_j\Bigr),

    the second factor being the softmax Jacobian :math:`J(p) = \mathrm{diag}(p) - pp^\top` (the constraint
    :math:`\sum_j p_j = 1` drops out because :math:`J\mathbf 1 = 0`). An enumeration over :math:`K - 1`
    draws, independent of the score-function form :math:`\mathbb E[f\,(n - Kp)]` that REINFORCE averages.
    At :math:`K = 1`, :math:`g_j = f(V_j)` and :math:`\mathcal L = \sum_j p_jf(V_j)`.

    References
    ----------
    Johnson, N. L., Kotz, S. & Balakrishnan, N. (1997) *Discrete Multivariate Distributions*, Wiley, ch. 35;
    Williams, R. J. (1992) "Simple statistical gradient-following algorithms for connectionist reinforcement
    learning", Mach. Learn. 8, 229–256.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.transformer import row_exact_gradient
    >>> V = np.array([[0.0], [1.0]])
    >>> g = row_exact_gradient([0.0, 0.0], V, 1, lambda o: o[:, 0])  # E f = p_1: gradient p_1(e_1 - p)
    >>> print(g.round(6).tolist())
    [-0.25, 0.25]
    """
    ell, p, live = _law(logits)
    V = _values(values, p.size)
    K = _check_K(K)
    check_callable(f, "f")
    m, pmf = _count_law(p, live, K - 1)  # (M', S), (M',): the other K - 1 draws
    s = live.size
    check_allocation((m.shape[0], s, max(V.shape[1], p.size)), "K")
    shifted = m[:, None, :] + np.eye(p.size, dtype=np.int64)[live][None]  # (M', s, S): m + e_j, j in support
    fo = check_returned(f(_outputs(shifted, V, K).reshape(-1, V.shape[1])), "f", (m.shape[0] * s,))
    with np.errstate(over="ignore", invalid="ignore"):
        g = np.zeros(p.size)  # (S,)
        g[live] = K * (pmf @ np.broadcast_to(fo, (m.shape[0] * s,)).reshape(m.shape[0], s))  # dL/dp_j
        out = p * (g - p @ g)  # (S,): J(p)^T g
    if not np.isfinite(out).all():
        raise ValueError("f: the gradient exceeds the float64 range")
    return out


def row_sample_gradient(logits: ArrayLike, values: ArrayLike, K: int, f: Fn, grad_f: Fn, size: int, *,
                        method: str, rng: np.random.Generator | int, baseline: float = 0.0) -> np.ndarray:
    r"""Draw ``size`` independent single-draw gradient estimates for one sampled attention row.

    Parameters
    ----------
    logits : array_like of shape (S,)
        The row's logits :math:`\ell` (``-inf`` masks a key).
    values : array_like of shape (S, d)
        Value vectors, one row per key.
    K : int
        Keys drawn per estimate, :math:`1 \le K \le 2^{53}`.
    f : callable
        The objective: ``f(o)`` with ``o`` of shape (N, d) returns N finite reals (used by REINFORCE).
    grad_f : callable
        Its gradient: ``grad_f(o)`` returns finite reals of shape (N, d) (used by straight-through).
    size : int
        Number of estimates, :math:`\ge 1`.
    method : {"straight_through", "reinforce"}
        The estimator (module table, :data:`ROW_ESTIMATORS`).
    rng : numpy.random.Generator or int
        Source of the draws.
    baseline : float
        Control variate :math:`b` of REINFORCE (does not change its mean).

    Returns
    -------
    ndarray of shape (size, S)
        One estimate per row; their mean estimates :func:`row_gradient_moments`'s mean.

    Notes
    -----
    Each estimate draws :math:`n\sim\mathrm{Mult}(K, p)` (``rng.multinomial``, one call for all of them), sets
    :math:`\hat p = n/K`, :math:`o = \hat pV`, and returns

    .. math:: g_{\rm ST} = J(p)^\top V\,\nabla f(o), \qquad g_{\rm RF} = (f(o) - b)(n - Kp).

    References
    ----------
    Bengio, Y., Léonard, N. & Courville, A. (2013) arXiv:1308.3432; Williams, R. J. (1992) Mach. Learn. 8,
    229–256.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.transformer import row_sample_gradient
    >>> V = np.array([[0.0], [1.0], [2.0]])
    >>> f, grad_f = (lambda o: o[:, 0] ** 2), (lambda o: 2 * o)
    >>> row_sample_gradient([0.0, 1.0, -1.0], V, 4, f, grad_f, 5, method="reinforce", rng=0).shape
    (5, 3)
    """
    ell, p, live = _law(logits)
    V = _values(values, p.size)
    K = _check_K(K)
    check_callable(f, "f")
    check_callable(grad_f, "grad_f")
    size = check_positive_int(size, "size")
    baseline = _check_method(method, baseline)
    check_allocation((size, max(p.size, V.shape[1])), "size")
    rng = as_rng(rng)
    counts = np.zeros((size, p.size), dtype=np.int64)  # (size, S)
    counts[:, live] = rng.multinomial(K, p[live] / p[live].sum(), size=size)  # (size, s)
    return _draws(counts, p, ell, V, K, f, grad_f, method, baseline)


def row_gradient_moments(logits: ArrayLike, values: ArrayLike, K: int, f: Fn, grad_f: Fn, *, method: str,
                         baseline: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact mean and covariance of one draw of :func:`row_sample_gradient`, by enumeration of the counts.

    Parameters
    ----------
    logits : array_like of shape (S,)
        The row's logits :math:`\ell` (``-inf`` masks a key).
    values : array_like of shape (S, d)
        Value vectors, one row per key.
    K : int
        Keys drawn per estimate, :math:`1 \le K \le 2^{53}`.
    f : callable
        The objective: ``f(o)`` with ``o`` of shape (N, d) returns N finite reals.
    grad_f : callable
        Its gradient: ``grad_f(o)`` returns finite reals of shape (N, d).
    method : {"straight_through", "reinforce"}
        The estimator (:data:`ROW_ESTIMATORS`).
    baseline : float
        Control variate :math:`b` of REINFORCE.

    Returns
    -------
    mean : ndarray of shape (S,)
        :math:`\mathbb E\,g = \sum_n P(n)\,g(n)`; compare :func:`row_exact_gradient` for the bias.
    cov : ndarray of shape (S, S)
        :math:`\mathrm{Cov}\,g = \sum_n P(n)\,(g(n) - \mathbb E g)(g(n) - \mathbb E g)^\top`.

    Notes
    -----
    For REINFORCE, :math:`\mathbb E[(f - b)(n - Kp)] = \nabla_\ell\mathcal L` for every :math:`b` (the score
    has mean zero), so its mean equals :func:`row_exact_gradient` to rounding, while :math:`b` changes the
    covariance. For straight-through,

    .. math:: \mathbb E\,g_{\rm ST} = J(p)^\top V\,\mathbb E\,\nabla f(\hat pV),

    which equals the exact gradient when :math:`f` is linear (then :math:`\nabla f` is constant) and
    otherwise differs from it at order :math:`1/K`: for :math:`f = \tfrac12\|o-y\|^2` the bias is
    :math:`J(p)^\top a/(2K)` with :math:`a_j = \|V_j\|^2 - 2V_j\cdot pV`, the gradient of the sampling error's
    contribution :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)/(2K)` that ST never sees.

    References
    ----------
    Williams, R. J. (1992) "Simple statistical gradient-following algorithms for connectionist reinforcement
    learning", Mach. Learn. 8, 229–256; Bengio, Y., Léonard, N. & Courville, A. (2013) arXiv:1308.3432.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.transformer import row_exact_gradient, row_gradient_moments
    >>> V, ell = np.array([[0.0], [1.0], [3.0]]), [0.5, 0.0, -0.5]
    >>> f, grad_f = (lambda o: 0.5 * o[:, 0] ** 2), (lambda o: o)
    >>> st, _ = row_gradient_moments(ell, V, 2, f, grad_f, method="straight_through")
    >>> rf, _ = row_gradient_moments(ell, V, 2, f, grad_f, method="reinforce")
    >>> print(st.round(4), rf.round(4), row_exact_gradient(ell, V, 2, f).round(4))
    [-0.38    0.0356  0.3444] [-0.4412 -0.0578  0.499 ] [-0.4412 -0.0578  0.499 ]
    """
    ell, p, live = _law(logits)
    V = _values(values, p.size)
    K = _check_K(K)
    check_callable(f, "f")
    check_callable(grad_f, "grad_f")
    baseline = _check_method(method, baseline)
    counts, pmf = _count_law(p, live, K)  # (M, S), (M,)
    g = _draws(counts, p, ell, V, K, f, grad_f, method, baseline)  # (M, S)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = pmf @ g  # (S,)
        dev = g - mean  # (M, S)
        cov = (dev * pmf[:, None]).T @ dev  # (S, S)
    if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
        raise ValueError(f"{'grad_f' if method == 'straight_through' else 'f'}: the moments of the estimate "
                         "exceed the float64 range")
    return mean, cov
