r"""Negatives for energy-based objectives: a negative sampler, the sampled softmax and its log-Q correction.

A softmax loss needs the partition function :math:`Z = \sum_v e^{\ell_v}` over the whole vocabulary. An
energy-based objective replaces it by a few *negatives* drawn from a proposal :math:`Q` (the model's own Gibbs
law :math:`e^{\beta\ell}/Z`, uniform, a unigram table), the target excluded. This module draws them (with and
without replacement), gives their exact law (by enumeration of ordered draws where no closed form exists), the
sampled-softmax loss and its logit gradient with and without the log-Q correction, their exact expectations by
enumeration of negative sets, a contrastive auxiliary loss for the chapter-8 transformer, and the expected
calibration error.

References: Bengio, Y. & Senécal, J.-S. (2008) "Adaptive importance sampling to accelerate training of a neural
probabilistic language model", IEEE TNN 19, 713-722; Jean, S. et al. (2015) "On using very large target
vocabulary for neural machine translation", ACL; Guo, C. et al. (2017) "On calibration of modern neural
networks", ICML.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from math import comb, perm
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from .._validation import (
    as_float_array,
    as_logits,
    as_rng,
    check_allocation,
    check_bool,
    check_positive_int,
    check_real,
)
from ..sampling import _scaled_logits, gumbel_top_k, sample_categorical
from ..transformer import model as _model
from ..transformer.config import TransformerConfig, _check_config
from ..transformer.optim import AdamW
from ..transformer.tasks import make_batch
from ..transformer.through_sampler import _compositions

__all__ = [
    "NegativeLaw",
    "SampledSoftmaxMoments",
    "negative_law",
    "sample_negatives",
    "sampled_softmax_loss",
    "sampled_softmax_moments",
    "expected_calibration_error",
    "contrastive_loss_and_grad",
    "contrastive_finetune",
]

#: Largest number of enumerated negative sets (ordered draws or count vectors) per row.
MAX_ENUMERATED = 2_000_000


def _as_target(target: ArrayLike, batch: tuple[int, ...], V: int) -> np.ndarray:
    t = np.asarray(target)
    if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"target: expected integer token ids, got dtype {t.dtype}")
    if t.shape != batch:
        raise ValueError(f"target: expected shape {batch} (the logits' batch shape), got {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= V):
        raise ValueError(f"target: token ids must lie in [0, {V})")
    return t.astype(np.int64)


def _log_proposal(logits: ArrayLike, target: ArrayLike, beta: ArrayLike, proposal: object):
    """Validated ``(x, t)``: log-weights of one draw (..., V) with the target at ``-inf``, and the targets (...)."""
    if proposal is None:
        x, _ = _scaled_logits(logits, beta)  # (..., V): beta * logits, masks kept
    else:
        z = as_logits(logits)
        _scaled_logits(z, beta)  # beta is still checked (it is unused: the proposal sets the law)
        if isinstance(proposal, str):
            if proposal != "uniform":
                raise ValueError(f"proposal: expected None, 'uniform' or an array of weights, got {proposal!r}")
            w = np.ones(z.shape[-1])
        else:
            w = as_float_array(proposal, "proposal", min_ndim=1)
            if (w < 0).any():
                raise ValueError("proposal: weights must be non-negative")
        try:
            w = np.broadcast_to(w, z.shape)
        except ValueError:
            raise ValueError(f"proposal: shape {np.shape(w)} does not broadcast to the logits' shape {z.shape}") from None
        with np.errstate(divide="ignore"):
            x = np.log(w)  # (..., V): 0 weight -> -inf
    t = _as_target(target, x.shape[:-1], x.shape[-1])
    x = np.array(x, dtype=np.float64)
    np.put_along_axis(x, t[..., None], -np.inf, axis=-1)  # the target is never its own negative
    return x, t


def _check_live(x: np.ndarray, K: int, replace: bool) -> None:
    live = np.isfinite(x).sum(axis=-1)  # (...,)
    need = 1 if replace else K
    if (live < need).any():
        raise ValueError(f"K: some row has fewer than {need} categories of positive weight besides the target")


def _draw_law(x: np.ndarray) -> np.ndarray:
    top = np.max(x, axis=-1, keepdims=True)  # finite: every row has a live category
    w = np.exp(x - top)  # (..., V)
    return w / w.sum(axis=-1, keepdims=True)


def _enumerate(q: np.ndarray, K: int, replace: bool) -> tuple[np.ndarray, np.ndarray]:
    r"""Every negative multiset (replace) or ordered draw (not), as counts (M, V), and its probability (R, M).

    ``q`` (R, V): the law of one draw (zero on the target). Without replacement the probability of the ordered
    draw :math:`(i_1..i_K)` is :math:`\prod_r q_{i_r} / (1 - \sum_{s<r} q_{i_s})`, the remaining mass summed
    directly over the categories not yet drawn (no cancellation).
    """
    R, V = q.shape
    M = comb(K + V - 1, V - 1) if replace else perm(V, K)
    if M > MAX_ENUMERATED:
        raise ValueError(f"K: {M} negative sets to enumerate over {V} categories exceed {MAX_ENUMERATED}")
    check_allocation((R, M, V), "K")
    if replace:
        counts = _compositions(V, K)  # (M, V)
    with np.errstate(divide="ignore"):
        logq = np.log(q)  # (R, V)
    if replace:
        log_mult = gammaln(K + 1.0) - gammaln(counts + 1.0).sum(axis=1)  # (M,)
        with np.errstate(invalid="ignore"):
            lp = np.where(counts[None] > 0, counts[None] * logq[:, None], 0.0).sum(axis=2)  # (R, M)
        return counts, np.exp(lp + log_mult)
    seq = np.array(list(permutations(range(V), K)), dtype=np.int64).reshape(M, K)  # (M, K)
    drawn = np.zeros((M, K, V), dtype=bool)  # drawn[m, r, v]: v among the first r draws of sequence m
    drawn[np.arange(M)[:, None], np.arange(K)[None, :], seq] = True
    drawn = np.cumsum(drawn, axis=1) > 0
    drawn[:, 1:] = drawn[:, :-1].copy()
    drawn[:, 0] = False
    rest = np.einsum("rv,mkv->rmk", q, ~drawn)  # (R, M, K): mass not yet drawn before draw k
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = (logq[:, seq] - np.log(rest)).sum(axis=2)  # (R, M)
    prob = np.where(np.isnan(lp), 0.0, np.exp(lp))
    counts = np.zeros((M, V), dtype=np.int64)
    counts[np.arange(M)[:, None], seq] = 1
    return counts, prob


@dataclass(frozen=True)
class NegativeLaw:
    r"""The exact law of K negatives (built by :func:`negative_law`).

    Attributes
    ----------
    draw : ndarray of shape (..., V)
        Law of one (the first) draw: :math:`q'_v = q_v / (1 - q_y)` for :math:`v \ne y`, 0 at the target.
    expected_count : ndarray of shape (..., V)
        :math:`\mathbb E[N_v]`, the mean number of times :math:`v` is drawn; sums to ``K``.
    inclusion : ndarray of shape (..., V)
        :math:`\pi_v = P(N_v \ge 1)`; equals ``expected_count`` without replacement.

    Notes
    -----
    With replacement :math:`\mathbb E[N_v] = Kq'_v` and :math:`\pi_v = 1 - (1-q'_v)^K`; without replacement
    :math:`\pi_v` is not proportional to :math:`q'_v` (it saturates for heavy categories).

    References
    ----------
    Hájek, J. (1964) "Asymptotic theory of rejective sampling with varying probabilities from a finite
    population", Annals of Mathematical Statistics 35, 1491-1523 (inclusion probabilities of successive sampling).

    Examples
    --------
    >>> law = negative_law([0.0, 0.0, 0.0], 0, 1)
    >>> print(law.draw.round(3), law.inclusion.round(3))
    [0.  0.5 0.5] [0.  0.5 0.5]
    """

    draw: np.ndarray
    expected_count: np.ndarray
    inclusion: np.ndarray


def negative_law(logits: ArrayLike, target: ArrayLike, K: int, *, beta: ArrayLike = 1.0, replace: bool = True,
                 proposal: object = None) -> NegativeLaw:
    r"""The exact law of :func:`sample_negatives`: one draw's law, the expected counts and inclusion probabilities.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell` (``-inf`` masks a category).
    target : array_like of int, shape (...)
        The target of each row, excluded from its negatives.
    K : int
        Number of negatives per row.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature of the model proposal (checked but unused when ``proposal`` is given).
    replace : bool
        With replacement (i.i.d. draws) or without (distinct negatives, successive sampling).
    proposal : None, "uniform" or array_like of shape broadcastable to (..., V)
        ``None``: the model's law :math:`q \propto e^{\beta\ell}`; ``"uniform"``; or non-negative weights
        (e.g. unigram counts).

    Returns
    -------
    NegativeLaw
        ``draw``, ``expected_count`` and ``inclusion``, each of shape (..., V).

    Notes
    -----
    Without replacement the draws are successive sampling from :math:`q'` (Plackett-Luce); the inclusion
    probabilities are summed exactly over the :math:`V!/(V-K)!` ordered draws
    :math:`\prod_{r} q'_{i_r}/(1-\sum_{s<r}q'_{i_s})` (at most ``MAX_ENUMERATED`` (2,000,000)), a small-vocabulary law.

    References
    ----------
    Kool, W., van Hoof, H. & Welling, M. (2019) "Stochastic beams and where to find them: the Gumbel-top-k trick
    for sampling sequences without replacement", ICML.

    Examples
    --------
    >>> law = negative_law([0.0, 1.0, 2.0, 3.0], 3, 2, replace=False)
    >>> print(law.inclusion.round(3), law.expected_count.sum().round(6))
    [0.298 0.755 0.947 0.   ] 2.0
    """
    K = check_positive_int(K, "K")
    replace = check_bool(replace, "replace")
    x, _ = _log_proposal(logits, target, beta, proposal)
    _check_live(x, K, replace)
    q = _draw_law(x)  # (..., V)
    if replace:
        return NegativeLaw(q, K * q, -np.expm1(K * np.log1p(-np.minimum(q, 1.0))))
    counts, prob = _enumerate(q.reshape(-1, q.shape[-1]), K, False)  # (M, V), (R, M)
    pi = (prob @ counts).reshape(q.shape)  # (..., V)
    return NegativeLaw(q, pi, pi.copy())


def sample_negatives(logits: ArrayLike, target: ArrayLike, K: int, size: int | None = None, *,
                     beta: ArrayLike = 1.0, replace: bool = True, proposal: object = None,
                     rng: np.random.Generator | int) -> np.ndarray:
    r"""Draw K negatives per row from :math:`q \propto e^{\beta\ell}` (or a proposal), the target excluded.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell`; ``-inf`` masks a category.
    target : array_like of int, shape (...)
        Each row's target, never drawn.
    K : int
        Negatives per row.
    size : int, optional
        Independent sets per row; ``None`` for one set without a sample axis.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature of the model proposal.
    replace : bool
        I.i.d. draws, or ``K`` distinct negatives (Gumbel-top-k on the masked log-weights).
    proposal : None, "uniform" or array_like broadcastable to (..., V)
        As in :func:`negative_law`.
    rng : numpy.random.Generator or int
        Source of randomness.

    Returns
    -------
    ndarray of int64, shape (..., K) or (..., size, K)
        Negative ids; their law is :func:`negative_law`.

    Notes
    -----
    The target's weight is set to zero (log-weight :math:`-\infty`); with replacement each draw is the
    categorical :math:`q'_v = q_v/(1-q_y)`, without replacement the indices of the K largest
    :math:`\log q_v + G_v` (Gumbel :math:`G`), i.e. successive sampling from :math:`q'`.

    References
    ----------
    Jean, S. et al. (2015) "On using very large target vocabulary for neural machine translation", ACL.

    Examples
    --------
    >>> neg = sample_negatives([0.0, 1.0, 2.0, 3.0], 3, 2, size=1000, replace=False, rng=0)
    >>> print(neg.shape, bool((neg != 3).all()), bool((neg[:, 0] != neg[:, 1]).all()))
    (1000, 2) True True
    """
    K = check_positive_int(K, "K")
    replace = check_bool(replace, "replace")
    x, _ = _log_proposal(logits, target, beta, proposal)
    _check_live(x, K, replace)
    check_allocation(x.shape[:-1] + (K,), "K")
    rng = as_rng(rng)
    if not replace:
        return gumbel_top_k(x, K, size, rng=rng)
    S = 1 if size is None else check_positive_int(size, "size")
    check_allocation(x.shape[:-1] + (S, K), "size")
    out = sample_categorical(x, S * K, rng=rng)  # (..., S K)
    return out.reshape(x.shape[:-1] + ((K,) if size is None else (S, K)))


def _ss_loss(z: np.ndarray, t: np.ndarray, neg: np.ndarray, logc: np.ndarray | None):
    """Loss (...) and logit gradient (..., V) of the sampled softmax, on validated input."""
    ly = np.take_along_axis(z, t[..., None], axis=-1)  # (..., 1)
    a = np.take_along_axis(z, neg, axis=-1)  # (..., K)
    if logc is not None:
        a = a - logc
    terms = np.concatenate([ly, a], axis=-1)  # (..., 1 + K)
    top = terms.max(axis=-1, keepdims=True)
    w = np.exp(terms - top)  # (..., 1 + K)
    D = w.sum(axis=-1, keepdims=True)
    loss = (top + np.log(D) - ly)[..., 0]
    w /= D  # (..., 1 + K): the restricted law over {y, n_1..n_K}
    g = np.zeros(z.shape)
    np.put_along_axis(g, t[..., None], w[..., :1] - 1.0, axis=-1)
    flat = g.reshape(-1, g.shape[-1])  # duplicates of a negative add up
    rows = np.repeat(np.arange(flat.shape[0]), neg.shape[-1])
    np.add.at(flat, (rows, neg.reshape(-1)), w[..., 1:].reshape(-1))
    return loss, g


def sampled_softmax_loss(logits: ArrayLike, target: ArrayLike, negatives: ArrayLike,
                         log_expected_count: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""The sampled-softmax loss of each row and its gradient with respect to the logits (counts held fixed).

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell`; ``-inf`` masks a category (not the target).
    target : array_like of int, shape (...)
        Target ids :math:`y`.
    negatives : array_like of int, shape (..., K)
        Negative ids :math:`n_k \ne y` (repeats allowed: each occurrence is a term).
    log_expected_count : array_like of shape (..., K), optional
        :math:`c_k = \log\mathbb E[N_{n_k}]` of each negative (``negative_law(...).expected_count``):
        :math:`\log(Kq'_{n_k})` with replacement, :math:`\log\pi_{n_k}` without. ``None``: no correction.

    Returns
    -------
    loss : ndarray of shape (...)
        :math:`L = -\ell_y + \log\big(e^{\ell_y} + \sum_k e^{\ell_{n_k} - c_k}\big)` (:math:`c_k = 0` uncorrected).
    dlogits : ndarray of shape (..., V)
        :math:`\partial L/\partial\ell = r - e_y`, with :math:`r` the softmax of the restricted, reweighted
        logits :math:`(\ell_y, \ell_{n_k} - c_k)` scattered back to the vocabulary.

    Notes
    -----
    The exact loss is :math:`-\ell_y + \log(e^{\ell_y} + Z_{-y})`, :math:`Z_{-y} = \sum_{v\ne y} e^{\ell_v}`.
    With the log-Q correction :math:`\hat Z = \sum_k e^{\ell_{n_k}}/\mathbb E[N_{n_k}]` is the Hansen-Hurwitz
    (with replacement) or Horvitz-Thompson (without) estimator: :math:`\mathbb E\hat Z = Z_{-y}` exactly. The
    correction removes the bias of the partition function, so the loss is consistent as :math:`K\to\infty`;
    the log's curvature leaves a bias :math:`\approx -\mathrm{Var}\hat Z / 2(e^{\ell_y}+Z_{-y})^2 = O(1/K)`
    (Jensen: never positive). Uncorrected, :math:`\hat Z` grows like :math:`K`, an :math:`O(1)` bias. When
    :math:`q = p` (the model's own law, with replacement) every term equals :math:`Z_{-y}/K`: the corrected
    loss is exact for every draw.

    References
    ----------
    Bengio, Y. & Senécal, J.-S. (2008) IEEE TNN 19, 713-722; Jean, S. et al. (2015) ACL.

    Examples
    --------
    >>> loss, g = sampled_softmax_loss([0.0, 0.0, 0.0], 0, [1, 2], np.log([1.0, 1.0]))
    >>> print(round(float(loss), 6), round(float(np.log(3)), 6), g.round(3))
    1.098612 1.098612 [-0.667  0.333  0.333]
    """
    z = as_logits(logits)
    t = _as_target(target, z.shape[:-1], z.shape[-1])
    n = np.asarray(negatives)
    if n.dtype == np.bool_ or not np.issubdtype(n.dtype, np.integer):
        raise TypeError(f"negatives: expected integer token ids, got dtype {n.dtype}")
    if n.ndim != z.ndim or n.shape[:-1] != z.shape[:-1] or n.shape[-1] == 0:
        raise ValueError(f"negatives: expected shape {z.shape[:-1]} + (K,) with K >= 1, got {n.shape}")
    if n.min() < 0 or n.max() >= z.shape[-1]:
        raise ValueError(f"negatives: ids must lie in [0, {z.shape[-1]})")
    n = n.astype(np.int64)
    if (n == t[..., None]).any():
        raise ValueError("negatives: a negative equals its row's target")
    if not np.isfinite(np.take_along_axis(z, t[..., None], axis=-1)).all():
        raise ValueError("target: the target's logit is -inf (masked); the loss is infinite")
    c = None
    if log_expected_count is not None:
        c = as_float_array(log_expected_count, "log_expected_count")
        if c.shape != n.shape:
            raise ValueError(f"log_expected_count: expected shape {n.shape}, got {c.shape}")
    return _ss_loss(z, t, n, c)


@dataclass(frozen=True)
class SampledSoftmaxMoments:
    r"""Exact moments of the sampled softmax over every negative set (built by :func:`sampled_softmax_moments`).

    Attributes
    ----------
    exact_loss : ndarray of shape (...)
        The cross-entropy :math:`-\log\mathrm{softmax}(\ell)_y`.
    mean_loss : ndarray of shape (...)
        :math:`\mathbb E_S[L(S)]` over the law of the negative set :math:`S`.
    loss_std : ndarray of shape (...)
        :math:`\mathrm{sd}_S[L(S)]`: Monte Carlo error bars of ``n`` sets are ``loss_std / sqrt(n)``.
    exact_grad : ndarray of shape (..., V)
        :math:`\mathrm{softmax}(\ell) - e_y`.
    mean_grad : ndarray of shape (..., V)
        :math:`\mathbb E_S[\partial L(S)/\partial\ell]`.

    Notes
    -----
    The biases are :math:`\mathbb E_S[L(S)] - L_{\rm CE}` (``mean_loss - exact_loss``) and
    :math:`\mathbb E_S[\nabla_\ell L(S)] - (\mathrm{softmax}(\ell) - e_y)` (``mean_grad - exact_grad``).

    References
    ----------
    Bengio, Y. & Senécal, J.-S. (2008) "Adaptive importance sampling to accelerate training of a neural
    probabilistic language model", IEEE Transactions on Neural Networks 19, 713-722.

    Examples
    --------
    >>> m = sampled_softmax_moments([0.0, 1.0, 2.0], 0, 4, proposal="uniform")
    >>> print(bool(m.mean_loss <= m.exact_loss))  # Jensen: the corrected loss is biased low
    True
    """

    exact_loss: np.ndarray
    mean_loss: np.ndarray
    loss_std: np.ndarray
    exact_grad: np.ndarray
    mean_grad: np.ndarray


def sampled_softmax_moments(logits: ArrayLike, target: ArrayLike, K: int, *, beta: ArrayLike = 1.0,
                            replace: bool = True, proposal: object = None,
                            corrected: bool = True) -> SampledSoftmaxMoments:
    r"""The sampled-softmax loss and gradient averaged exactly over every negative set (small vocabularies).

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell` of the loss (the model's law at :math:`\beta = 1`).
    target : array_like of int, shape (...)
        Targets.
    K : int
        Negatives per row.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature of the model proposal :math:`q\propto e^{\beta\ell}`.
    replace : bool
        With or without replacement.
    proposal : None, "uniform" or array_like broadcastable to (..., V)
        As in :func:`negative_law`.
    corrected : bool
        Apply the log-Q correction :math:`c_k = \log\mathbb E[N_{n_k}]` (exact, from :func:`negative_law`).

    Returns
    -------
    SampledSoftmaxMoments
        Exact and averaged loss and gradient, and the loss's standard deviation.

    Notes
    -----
    :math:`\mathbb E_S[f(S)] = \sum_S P(S) f(S)` over the multinomial count vectors (with replacement,
    :math:`P = K!\prod_v q_v'^{N_v}/N_v!`) or the ordered draws (without), at most ``MAX_ENUMERATED`` (2,000,000).
    :func:`sampled_softmax_loss` states the estimator and the orders of its bias.

    References
    ----------
    Bengio, Y. & Senécal, J.-S. (2008) IEEE TNN 19, 713-722.

    Examples
    --------
    >>> m = sampled_softmax_moments([0.5, -1.0, 2.0, 0.0], 2, 3)  # q = p, with replacement: exact
    >>> print(bool(np.allclose(m.mean_loss, m.exact_loss)), bool(np.allclose(m.mean_grad, m.exact_grad)))
    True True
    """
    K = check_positive_int(K, "K")
    replace = check_bool(replace, "replace")
    corrected = check_bool(corrected, "corrected")
    z = as_logits(logits)
    x, t = _log_proposal(z, target, beta, proposal)
    if not np.isfinite(np.take_along_axis(z, t[..., None], axis=-1)).all():
        raise ValueError("target: the target's logit is -inf (masked); the loss is infinite")
    _check_live(x, K, replace)
    V = z.shape[-1]
    z2, t2 = z.reshape(-1, V), t.reshape(-1)  # (R, V), (R,)
    q = _draw_law(x.reshape(-1, V))  # (R, V)
    counts, prob = _enumerate(q, K, replace)  # (M, V), (R, M)
    with np.errstate(divide="ignore"):
        logc = np.log(K * q if replace else prob @ counts) if corrected else np.zeros((1, V))  # (R, V)
        logn = np.log(counts)  # (M, V), -inf where absent
    a = np.where(np.isfinite(logc), z2 - logc, -np.inf)  # (R, V): a never-drawn category never counts
    ly = z2[np.arange(len(t2)), t2][:, None, None]  # (R, 1, 1)
    logw = logn[None] + a[:, None, :]  # (R, M, V)
    top = np.maximum(ly, logw.max(axis=2, keepdims=True))  # (R, M, 1)
    w = np.exp(logw - top)  # (R, M, V)
    wy = np.exp(ly - top)  # (R, M, 1)
    D = wy + w.sum(axis=2, keepdims=True)  # (R, M, 1)
    loss = (top + np.log(D) - ly)[..., 0]  # (R, M)
    g = w / D  # (R, M, V): zero at the target (it is never a negative)
    g[np.arange(len(t2)), :, t2] = (wy / D)[..., 0] - 1.0
    mean = np.einsum("rm,rm->r", prob, loss)  # (R,)
    var = np.einsum("rm,rm->r", prob, (loss - mean[:, None]) ** 2)
    logp = z2 - z2.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))  # (R, V)
    exact_grad = np.exp(logp)
    exact_grad[np.arange(len(t2)), t2] -= 1.0
    shape = z.shape[:-1]
    return SampledSoftmaxMoments(-logp[np.arange(len(t2)), t2].reshape(shape), mean.reshape(shape),
                                 np.sqrt(var).reshape(shape), exact_grad.reshape(z.shape),
                                 np.einsum("rm,rmv->rv", prob, g).reshape(z.shape))


def expected_calibration_error(probs: ArrayLike, labels: ArrayLike, n_bins: int = 15) -> float:
    r"""Expected calibration error of predictive laws: equal-width bins over the top probability.

    Parameters
    ----------
    probs : array_like of shape (N, V)
        One predictive law per row (non-negative, rows summing to 1 within 1e-9 relative).
    labels : array_like of int, shape (N,)
        The true classes.
    n_bins : int
        Number :math:`M` of equal-width confidence bins :math:`B_b = ((b-1)/M, b/M]`.

    Returns
    -------
    float
        :math:`\mathrm{ECE} = \sum_b \frac{|B_b|}{N}\,\big|\mathrm{acc}(B_b) - \mathrm{conf}(B_b)\big|`.

    Notes
    -----
    Each row's confidence is :math:`c_i = \max_v p_{iv}` and its prediction :math:`\arg\max_v p_{iv}` (ties:
    the first); :math:`\mathrm{acc}(B)` and :math:`\mathrm{conf}(B)` are the mean correctness and confidence of
    the rows in bin :math:`B`, so :math:`\mathrm{ECE} = \frac1N\sum_b\big|\sum_{i\in B_b}(1[\hat y_i = y_i] -
    c_i)\big|`. A model that is always right with confidence :math:`c` has ECE :math:`1 - c`.

    References
    ----------
    Naeini, M. P., Cooper, G. F. & Hauskrecht, M. (2015) "Obtaining well calibrated probabilities using
    Bayesian binning", AAAI; Guo, C., Pleiss, G., Sun, Y. & Weinberger, K. Q. (2017) "On calibration of modern
    neural networks", ICML.

    Examples
    --------
    >>> print(round(expected_calibration_error([[0.9, 0.1], [0.6, 0.4]], [0, 1], n_bins=10), 6))
    0.35
    """
    p = as_float_array(probs, "probs", ndim=2)
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"probs: expected a non-empty (N, V) array, got shape {p.shape}")
    if (p < 0).any() or (p > 1).any() or not np.allclose(p.sum(axis=1), 1.0, rtol=0.0, atol=1e-9 * p.shape[1]):
        raise ValueError("probs: every row must be a probability law (non-negative, summing to 1)")
    y = np.asarray(labels)
    if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels: expected integer class ids, got dtype {y.dtype}")
    if y.shape != p.shape[:1]:
        raise ValueError(f"labels: expected shape {p.shape[:1]}, got {y.shape}")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"labels: class ids must lie in [0, {p.shape[1]})")
    M = check_positive_int(n_bins, "n_bins")
    check_allocation(M, "n_bins")
    conf, pred = p.max(axis=1), p.argmax(axis=1)  # (N,)
    b = np.clip(np.ceil(conf * M).astype(np.int64) - 1, 0, M - 1)  # (N,): bin ((b)/M, (b+1)/M]
    gap = np.bincount(b, weights=(pred == y) - conf, minlength=M)  # (M,)
    return float(np.abs(gap).sum() / p.shape[0])


def contrastive_loss_and_grad(
    params: Mapping[str, ArrayLike],
    tokens: ArrayLike,
    targets: ArrayLike,
    config: TransformerConfig,
    *,
    K: int,
    lam: float,
    rng: np.random.Generator | int,
    mask: ArrayLike | None = None,
    proposal: object = None,
    replace: bool = True,
    corrected: bool = True,
) -> tuple[float, dict[str, np.ndarray]]:
    r"""Cross-entropy plus ``lam`` times a sampled-softmax term on the next-token logits, and its gradient.

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by param_shapes
        The transformer's parameters (:func:`thermoref.transformer.param_shapes`).
    tokens : array_like of int, shape (B, T)
        Input ids.
    targets : array_like of int, shape (B, T)
        Next-token ids.
    config : TransformerConfig
        The model's shape.
    K : int
        Negatives per scored position.
    lam : float
        Weight :math:`\lambda \ge 0` of the auxiliary term (``0``: the plain cross-entropy).
    rng : numpy.random.Generator or int
        Source of the negatives.
    mask : array_like of bool, shape (B, T), optional
        Scored positions (default: all).
    proposal : None, "uniform" or array_like of shape (V,)
        Negatives' proposal (``None``: the model's own law at these logits, held fixed: no gradient through it).
    replace, corrected : bool
        As in :func:`sampled_softmax_moments`.

    Returns
    -------
    loss : float
        :math:`\mathrm{CE} + \lambda\,\overline{L}_{\rm ss}`, means over the scored positions.
    grads : dict of str to ndarray, each of the shape given by param_shapes
        Its gradient with respect to every parameter (negatives and their counts held fixed).

    Notes
    -----
    The loss's logit gradient is :math:`(\mathrm{softmax}(\ell)-e_y) + \lambda(r - e_y)` per position
    (:func:`sampled_softmax_loss`), sent through the transformer's hand-written backward pass.

    References
    ----------
    Jean, S. et al. (2015) ACL; Oord, A. van den, Li, Y. & Vinyals, O. (2018) "Representation learning with
    contrastive predictive coding", arXiv:1807.03748 (the InfoNCE loss: the uncorrected form).

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, init_params
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
    >>> loss, grads = contrastive_loss_and_grad(init_params(cfg, rng=0), [[1, 2, 3]], [[2, 3, 4]], cfg,
    ...                                         K=2, lam=0.5, rng=0)
    >>> print(grads["wte"].shape, bool(loss > 0))
    (5, 8) True
    """
    params, tokens, _ = _model._check_call(params, tokens, config, None, None, None)
    t, m = _model._targets_and_mask(targets, mask, tokens.shape + (config.vocab_size,))
    K = check_positive_int(K, "K")
    lam = check_real(lam, "lam", nonnegative=True)
    check_allocation((int(m.sum()), K), "K")
    rng = as_rng(rng)
    replace, corrected = check_bool(replace, "replace"), check_bool(corrected, "corrected")
    with np.errstate(over="ignore", invalid="ignore"):
        logits, cache, _ = _model._forward(params, tokens, config, None, None, None, keep=True)
    _model._check_overflow(logits)
    z, y = logits[m].astype(np.float64), t[m]  # (P, V), (P,)
    P = len(y)
    logp = z - z.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))  # (P, V)
    loss = -logp[np.arange(P), y].mean()
    d = np.exp(logp)
    d[np.arange(P), y] -= 1.0  # (P, V): softmax - e_y
    if lam > 0:
        neg = sample_negatives(z, y, K, replace=replace, proposal=proposal, rng=rng)  # (P, K)
        c = None
        if corrected:
            count = negative_law(z, y, K, replace=replace, proposal=proposal).expected_count  # (P, V)
            c = np.log(np.take_along_axis(count, neg, axis=1))  # (P, K)
        aux, g = _ss_loss(z, y, neg, c)
        loss += lam * aux.mean()
        d += lam * g
    dlogits = np.zeros(logits.shape)
    dlogits[m] = d / P  # (B, T, V)
    with np.errstate(over="ignore", invalid="ignore"):
        grads = _model._backward(params, tokens, config, cache, dlogits.astype(logits.dtype))
    if lam > 0 and not all(np.isfinite(a).all() for a in (np.array(loss), *grads.values())):
        raise ValueError(f"lam: {lam!r} makes the objective or its gradient overflow")
    _model._check_overflow(np.array(loss), *grads.values())
    return float(loss), grads


def contrastive_finetune(params: Mapping[str, ArrayLike], config: TransformerConfig, task: str, n_steps: int, *,
                         lam: float, K: int, rng: np.random.Generator | int, lr: float = 1e-3, batch_size: int = 32,
                         proposal: object = None, replace: bool = True,
                         corrected: bool = True) -> tuple[dict[str, np.ndarray], np.ndarray]:
    r"""Fine-tune a transformer briefly with AdamW on :func:`contrastive_loss_and_grad` (a copy; input untouched).

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by param_shapes
        Starting parameters (e.g. :func:`thermoref.transformer.load_pretrained`).
    config : TransformerConfig
        The model's shape.
    task : str
        Training task of :func:`thermoref.transformer.make_batch` (``split="train"``, answer positions scored).
    n_steps : int
        AdamW steps (``0`` returns a copy of ``params``).
    lam : float
        Weight of the auxiliary term, as in :func:`contrastive_loss_and_grad`.
    K : int
        Negatives per scored position.
    rng : numpy.random.Generator or int
        Seeds two child streams, batches and negatives: the same ``rng`` gives the same batches for every
        ``lam`` (a paired comparison with the plain cross-entropy, ``lam = 0``).
    lr : float
        AdamW learning rate (no weight decay).
    batch_size : int
        Sequences per step.
    proposal : None, "uniform" or array_like of shape (V,)
        Negatives' proposal, as in :func:`contrastive_loss_and_grad`.
    replace : bool
        Negatives with or without replacement.
    corrected : bool
        Apply the log-Q correction.

    Returns
    -------
    params : dict of str to ndarray, each of the shape given by param_shapes
        The fine-tuned parameters.
    losses : ndarray of shape (n_steps,)
        The training objective at each step.

    Notes
    -----
    Each step minimises :math:`\mathrm{CE} + \lambda\,\overline L_{\rm ss}` on a fresh batch.

    References
    ----------
    Loshchilov, I. & Hutter, F. (2019) "Decoupled weight decay regularization", ICLR.

    Examples
    --------
    >>> from thermoref.transformer import load_pretrained
    >>> cfg, params = load_pretrained("copy")
    >>> new, losses = contrastive_finetune(params, cfg, "copy", 2, lam=0.5, K=3, rng=0)
    >>> print(losses.shape, bool(np.all(losses > 0)))
    (2,) True
    """
    n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
    lr = check_real(lr, "lr", positive=True)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_positive_int(K, "K")
    lam = check_real(lam, "lam", nonnegative=True)
    check_bool(replace, "replace"), check_bool(corrected, "corrected")
    _check_config(config)
    p = {k: np.array(v, copy=True) for k, v in _model.check_params(params, config).items()}
    T = make_batch(task, 0, rng=0).tokens.shape[1]  # checks the task before any step
    check_allocation((batch_size, T, config.vocab_size), "batch_size")
    check_allocation(n_steps, "n_steps")
    data, draws = as_rng(rng).spawn(2)
    opt = AdamW(p, lr=lr, weight_decay=0.0)
    losses = np.empty(n_steps)
    for s in range(n_steps):  # a loop over optimizer steps
        b = make_batch(task, batch_size, rng=data)
        losses[s], grads = contrastive_loss_and_grad(p, b.tokens, b.targets, config, K=K, lam=lam, rng=draws,
                                                     mask=b.mask, proposal=proposal, replace=replace,
                                                     corrected=corrected)
        try:
            opt.step(p, grads)
        except ValueError as exc:  # finite but huge gradients: set by lam on a checked model
            raise ValueError(f"{'lam' if lam > 0 else 'params'}: AdamW refused the step ({exc})") from None
    return p, losses
