r"""A genuinely coupled attention model: a Potts chain over query positions, solved exactly and sampled.

Ordinary attention rows are independent given the logits: the joint law of the keys :math:`j = (j_1,\dots,
j_T)` chosen by the :math:`T` queries factorises, so a "Gibbs sweep over query positions" is independent
sampling. Coupling neighbouring queries changes the law:

.. math:: E(j) = -\sum_{i} \ell_{i, j_i} - J \sum_{i} 1[j_i = j_{i+1}], \qquad
          P(j) = e^{-E(j)}/Z \quad (kT = 1).

It is a one-dimensional Potts chain with site-dependent fields :math:`\ell_{i,\cdot}`, solved exactly by the
forward–backward (transfer-matrix) recursion in log space in :math:`O(TS)` per chain, because the transfer
matrix :math:`e^{J 1[a=b]}` acts as "sum plus :math:`(e^J-1)` times self". It is sampled by
chromatic Gibbs (even positions, then odd: each colour is conditionally independent given the other).
Updating *all* positions at once from the old state (synchronous updates) splits into two interleaved
chromatic chains: single-site marginals come out right, nearest-neighbour pair statistics do not.

Unlike the row-by-row functions of :mod:`thermoref.attention`, this is one joint law over all rows: it does not
exist if any row is fully masked, and every function here raises ``ValueError`` naming ``logits`` then.

References: Baum et al., Ann. Math. Stat. 41, 164 (1970) (forward–backward); Wu, Rev. Mod. Phys. 54, 235
(1982) (Potts model); Geman & Geman, IEEE PAMI 6, 721 (1984) (Gibbs sampling and colourings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._validation import (
    as_logits,
    as_rng,
    check_allocation,
    check_bool,
    check_positive_int,
    check_real,
    check_work,
)
from ..sampling import sample_categorical

__all__ = ["PottsMarginals", "potts_energy", "potts_marginals", "potts_gibbs"]

#: The update schedules of :func:`potts_gibbs`: ``"chromatic"`` (exact Gibbs) and ``"synchronous"`` (wrong pairs).
SCHEDULES = ("chromatic", "synchronous")


@dataclass(frozen=True)
class PottsMarginals:
    r"""Exact statistics of the Potts chain over query positions (:func:`potts_marginals`).

    Attributes
    ----------
    log_Z : ndarray of shape (...)
        Log partition function :math:`\ln Z`.
    marginals : ndarray of shape (..., T, S)
        :math:`P(j_i = a)`.
    agreement : ndarray of shape (..., T-1)
        :math:`P(j_i = j_{i+1})`, the statistic conjugate to :math:`J`.
    pairs : ndarray of shape (..., T-1, S, S) or None
        :math:`P(j_i = a, j_{i+1} = b)` when requested.

    Notes
    -----
    .. math:: \frac{\partial \ln Z}{\partial J} = \sum_i P(j_i = j_{i+1}).

    References
    ----------
    Baum, L. E., Petrie, T., Soules, G. & Weiss, N. (1970) "A maximization technique occurring in the
    statistical analysis of probabilistic functions of Markov chains", Ann. Math. Stat. 41, 164. Wu, F. Y.
    (1982) "The Potts model", Rev. Mod. Phys. 54, 235.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import potts_marginals
    >>> m = potts_marginals(np.zeros((2, 2)), np.log(3.0))  # two queries, two keys, e^J = 3
    >>> print(f"{m.log_Z:.4f}", m.agreement)  # Z = 2 e^J + 2 = 8; agree with probability 6/8
    2.0794 [0.75]
    """

    log_Z: np.ndarray
    marginals: np.ndarray
    agreement: np.ndarray
    pairs: np.ndarray | None


def _check(logits: ArrayLike, J: float) -> tuple[np.ndarray, float]:
    ell = as_logits(logits, min_ndim=2)  # the Potts law needs an allowed key at every position
    J = check_real(J, "J")
    if abs(J) > 700:
        raise ValueError(f"J: |J| must be at most 700 (e^J must stay finite), got {J!r}")
    return ell, J


def potts_energy(states: ArrayLike, logits: ArrayLike, J: float) -> np.ndarray:
    r"""Energy :math:`E(j) = -\sum_i \ell_{i,j_i} - J\sum_i 1[j_i = j_{i+1}]` of configurations.

    Parameters
    ----------
    states : array_like of int, shape (..., T)
        Key index :math:`j_i \in [0, S)` per query position; leading axes broadcast with those of ``logits``.
    logits : array_like of shape (..., T, S)
        Row logits :math:`\ell_{i,\cdot}` (``-inf`` = masked key; no row may be fully masked).
    J : float
        Coupling :math:`J`, :math:`|J| \le 700` (positive: neighbouring queries prefer the same key).

    Returns
    -------
    ndarray of shape (...)
        The energies at :math:`kT = 1`; ``+inf`` for configurations using a masked key.

    Notes
    -----
    .. math:: E(j) = -\sum_{i=1}^{T} \ell_{i, j_i} - J \sum_{i=1}^{T-1} 1[j_i = j_{i+1}],
              \qquad P(j) = e^{-E(j)}/Z:

    each query's logits act as a site-dependent field, :math:`J` as a ferromagnetic Potts coupling between
    neighbouring queries. An energy beyond the float64 range raises ``ValueError`` naming ``logits``.

    References
    ----------
    Baum, L. E., Petrie, T., Soules, G. & Weiss, N. (1970) "A maximization technique occurring in the
    statistical analysis of probabilistic functions of Markov chains", Ann. Math. Stat. 41, 164. Wu, F. Y.
    (1982) "The Potts model", Rev. Mod. Phys. 54, 235.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import potts_energy
    >>> print(potts_energy([0, 0, 1], np.zeros((3, 2)), 2.0))
    -2.0
    """
    ell, J = _check(logits, J)
    if isinstance(states, (str, bytes)) or states is None:
        raise TypeError(f"states: expected integers, got {type(states).__name__}")
    j = np.asarray(states)
    T, S = ell.shape[-2:]
    if not np.issubdtype(j.dtype, np.integer) or j.ndim < 1 or j.shape[-1] != T:
        raise ValueError(f"states: expected integers of shape (..., {T}), got {j.dtype}, {j.shape}")
    if j.size and (j.min() < 0 or j.max() >= S):
        raise ValueError(f"states: entries must lie in [0, {S})")
    try:
        shape = np.broadcast_shapes(j.shape, ell.shape[:-1])  # (..., T)
    except ValueError:
        raise ValueError(f"states: leading shape {j.shape[:-1]} does not broadcast with the logits' "
                         f"{ell.shape[:-2]}") from None
    check_allocation(shape, "states")
    field = np.take_along_axis(np.broadcast_to(ell, shape + (S,)), np.broadcast_to(j, shape)[..., None],
                               axis=-1)[..., 0]  # (..., T)
    masked = np.isneginf(field).any(axis=-1)  # (...): a masked key used somewhere
    same = np.sum(j[..., 1:] == j[..., :-1], axis=-1)  # (...)
    with np.errstate(over="ignore"):
        E = -np.sum(np.where(np.isneginf(field), 0.0, field), axis=-1) - J * same  # (...)
    if not np.isfinite(E[~masked]).all():
        raise ValueError("logits: the energy of a configuration exceeds the float64 range")
    return np.where(masked, np.inf, E)


def _transfer(log_w: np.ndarray, J: float) -> np.ndarray:
    r"""Apply the Potts transfer matrix in log space: :math:`\ln\sum_a e^{x_a + J 1[a=b]}` for every b.

    :math:`\sum_a e^{x_a}e^{J 1[a=b]} = \sum_a e^{x_a} + (e^J - 1)e^{x_b}`; with the row maximum
    taken out every term is at most :math:`\max(1, e^J)\cdot S`.
    """
    top = np.max(log_w, axis=-1, keepdims=True)  # finite: every row has an allowed key
    w = np.exp(log_w - top)  # (..., S)
    total = np.sum(w, axis=-1, keepdims=True)
    # For J < 0 the second term is negative but never exceeds w_b <= total in size: the sum stays > 0.
    return top + np.log(total + np.expm1(J) * w)


def potts_marginals(logits: ArrayLike, J: float, *, pairs: bool = False) -> PottsMarginals:
    r"""Exact marginals of the Potts chain over query positions by forward–backward in log space.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        Row logits :math:`\ell_{i,\cdot}` (``-inf`` = masked key). No row may be fully masked: the joint law
        would not exist (``ValueError`` naming ``logits``).
    J : float
        Coupling :math:`J`, :math:`|J| \le 700`; ``0`` recovers independent row softmaxes.
    pairs : bool
        Also return the full nearest-neighbour pair marginals, :math:`O(TS^2)` memory.

    Returns
    -------
    PottsMarginals
        ``log_Z`` (...), ``marginals`` (..., T, S), ``agreement`` (..., T-1) and, with ``pairs``,
        ``pairs`` (..., T-1, S, S).

    Notes
    -----
    Forward messages :math:`\alpha_1 = \ell_1`,
    :math:`\alpha_{i+1}(b) = \ell_{i+1}(b) + \ln\sum_a e^{\alpha_i(a) + J 1[a=b]}`; backward
    :math:`\beta_T = 0`, :math:`\beta_i(a) = \ln\sum_b e^{J 1[a=b] + \ell_{i+1}(b) + \beta_{i+1}(b)}`. Then

    .. math:: \ln Z = \ln\sum_a e^{\alpha_T(a)}, \qquad P(j_i=a) = e^{\alpha_i(a)+\beta_i(a)-\ln Z}.

    The transfer matrix :math:`e^{J 1[a=b]}` acts as "sum plus :math:`(e^J-1)` times self", so each step costs
    :math:`O(S)`. The recursion loops over positions (it is sequential by nature), vectorized over keys and
    leading axes; messages are kept with their maximum at 0, so nothing overflows however large
    :math:`\ln Z` grows. A :math:`\ln Z` beyond the float64 range raises ``ValueError`` naming ``logits``.

    References
    ----------
    Baum, L. E., Petrie, T., Soules, G. & Weiss, N. (1970) "A maximization technique occurring in the
    statistical analysis of probabilistic functions of Markov chains", Ann. Math. Stat. 41, 164. Wu, F. Y.
    (1982) "The Potts model", Rev. Mod. Phys. 54, 235.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import potts_marginals
    >>> m = potts_marginals(np.log([[0.5, 0.5], [0.9, 0.1]]), 0.0)
    >>> print(m.marginals.round(6))
    [[0.5 0.5]
     [0.9 0.1]]
    """
    ell, J = _check(logits, J)
    pairs = check_bool(pairs, "pairs")
    T, S = ell.shape[-2:]
    if pairs:
        check_allocation(ell.shape[:-2] + (max(T - 1, 0), S, S), "logits")
    # Messages are kept with their maximum at 0 (shifts recorded), so every exponent below is O(1) and the
    # marginals carry relative rounding ~1e-16 however large ln Z grows. Differences of logits beyond the
    # float64 range saturate to -inf, a weight exactly 0 in float64, hence over="ignore".
    with np.errstate(over="ignore"):
        alpha = np.empty_like(ell)  # (..., T, S), shifted forward messages
        beta = np.zeros_like(ell)  # (..., T, S), shifted backward messages
        shift_b = np.zeros(ell.shape[:-1])  # (..., T): shift taken out of beta_i
        tops = np.empty(ell.shape[:-1])  # (..., T): shift taken out of alpha_i
        log_Z = np.zeros(ell.shape[:-2])  # (...), accumulates the forward shifts
        a = ell[..., 0, :]
        for i in range(T):
            if i > 0:
                a = ell[..., i, :] + _transfer(alpha[..., i - 1, :], J)
            tops[..., i] = top = np.max(a, axis=-1)
            alpha[..., i, :] = a - top[..., None]
            log_Z = log_Z + top
        for i in range(T - 2, -1, -1):
            b = _transfer(ell[..., i + 1, :] + beta[..., i + 1, :], J)
            shift_b[..., i] = np.max(b, axis=-1)
            beta[..., i, :] = b - shift_b[..., i, None]
        last = np.log(np.sum(np.exp(alpha[..., T - 1, :]), axis=-1))  # (...)
        log_Z = log_Z + last
        if not np.isfinite(log_Z).all():  # a partial sum left the float64 range: add the shifts exactly scaled
            k = int(np.ceil(np.log2(T + 1))) + 1
            log_Z = np.ldexp(np.sum(np.ldexp(tops, -k), axis=-1) + np.ldexp(last, -k), k)
            if not np.isfinite(log_Z).all():
                raise ValueError("logits: ln Z exceeds the float64 range (|ln Z| > 1.8e308); shift the logits")
        x = alpha + beta  # (..., T, S): log marginals up to a per-position constant
        x_top = np.max(x, axis=-1, keepdims=True)
        w = np.exp(x - x_top)
        marg = w / np.sum(w, axis=-1, keepdims=True)  # (..., T, S)
        norm = (x_top[..., 0] + np.log(np.sum(w, axis=-1)))[..., :-1]  # (..., T-1): ln sum_a e^{alpha_i + beta_i}
        nxt = ell[..., 1:, :] + beta[..., 1:, :] - shift_b[..., :-1, None]  # (..., T-1, S): evidence from i+1 on
        agree = np.sum(np.exp(alpha[..., :-1, :] + J + nxt - norm[..., None]), axis=-1)  # (..., T-1)
        pair = None
        if pairs:
            coupling = J * np.eye(S)  # (S, S)
            pair = np.exp(alpha[..., :-1, :, None] + coupling + nxt[..., None, :] - norm[..., None, None])
    return PottsMarginals(log_Z, marg, agree, pair)


def _conditional_logits(ell_sites, left, right, J, S):
    """Logits of :math:`j_i` given its neighbours: :math:`\\ell_i + J(1[\\cdot=j_{i-1}] + 1[\\cdot=j_{i+1}])`.

    ``left``/``right`` are neighbour states (``-1`` where there is no neighbour).
    """
    keys = np.arange(S)
    bonus = (keys == left[..., None]).astype(float) + (keys == right[..., None]).astype(float)  # (..., n, S)
    return ell_sites + J * bonus


def _neighbours(state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pad = np.full(state.shape[:-1] + (1,), -1, dtype=state.dtype)
    left = np.concatenate([pad, state[..., :-1]], axis=-1)  # (..., T)
    right = np.concatenate([state[..., 1:], pad], axis=-1)  # (..., T)
    return left, right


def potts_gibbs(
    logits: ArrayLike,
    J: float,
    n_sweeps: int,
    *,
    rng: np.random.Generator | int,
    n_chains: int = 1,
    schedule: str = "chromatic",
    return_trace: bool = False,
) -> np.ndarray:
    r"""Heat-bath Gibbs sampling of the Potts chain over query positions, many independent chains at once.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        Row logits :math:`\ell_{i,\cdot}` (``-inf`` = masked key). No row may be fully masked: the joint law
        would not exist (``ValueError`` naming ``logits``).
    J : float
        Coupling :math:`J`, :math:`|J| \le 700`.
    n_sweeps : int
        Number of sweeps :math:`\ge 0` (each updates every position once); ``0`` returns the starting states.
    rng : numpy.random.Generator or int
        Randomness (a Generator, or a seed for ``numpy.random.default_rng``).
    n_chains : int
        Independent chains, started from independent row-softmax draws.
    schedule : {"chromatic", "synchronous"}
        ``chromatic``: even positions then odd positions, each colour drawn from its exact conditional
        (a valid Gibbs sampler). ``synchronous``: every position from the *old* state at once (wrong joint law).
    return_trace : bool
        Return every sweep's state instead of the last.

    Returns
    -------
    ndarray of int64, shape (n_chains, ..., T) or (n_sweeps, n_chains, ..., T)
        The last sweep's state of every chain, or every sweep's state with ``return_trace``.

    Notes
    -----
    The conditional of position :math:`i` given the rest is

    .. math:: P(j_i = a \mid \cdot) \propto e^{\ell_{i,a} + J(1[a = j_{i-1}] + 1[a = j_{i+1}])}.

    Positions of one parity do not interact, so drawing all of them at once is exact. The synchronous
    schedule's state at sweep :math:`t` combines the even sites of one chromatic chain with the odd sites of
    another, independent one: at stationarity each site has the right marginal but neighbours are
    independent, :math:`P(j_i = j_{i+1}) = \sum_a P(j_i=a)P(j_{i+1}=a)`.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721. Wu, F. Y. (1982) "The Potts model", Rev. Mod.
    Phys. 54, 235.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import potts_gibbs
    >>> x = potts_gibbs(np.zeros((4, 3)), 1.0, 5, rng=0, n_chains=2)
    >>> print(x.shape, x.dtype, bool(((x >= 0) & (x < 3)).all()))
    (2, 4) int64 True
    """
    ell, J = _check(logits, J)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    n_chains = check_positive_int(n_chains, "n_chains")
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {schedule!r}")
    return_trace = check_bool(return_trace, "return_trace")
    check_allocation((n_chains,) + ell.shape, "n_chains")  # the conditional logits of one sweep
    if return_trace:
        check_allocation((n_sweeps, n_chains) + ell.shape[:-1], "n_sweeps")
    check_work(n_sweeps * n_chains * max(ell.size, 1), "n_sweeps")
    rng = as_rng(rng)
    S = ell.shape[-1]
    T = ell.shape[-2]
    ell_c = np.broadcast_to(ell, (n_chains,) + ell.shape)  # (C, ..., T, S)
    state = sample_categorical(ell_c, rng=rng, method="gumbel")  # (C, ..., T)
    colours = [np.arange(0, T, 2), np.arange(1, T, 2)]
    trace = np.empty((n_sweeps,) + state.shape, dtype=np.int64) if return_trace else None
    for t in range(n_sweeps):
        if schedule == "chromatic":
            for sites in colours:
                if sites.size == 0:
                    continue
                left, right = _neighbours(state)
                cond = _conditional_logits(ell_c[..., sites, :], left[..., sites], right[..., sites], J, S)
                state[..., sites] = sample_categorical(cond, rng=rng, method="gumbel")  # (C, ..., n_colour)
        else:
            left, right = _neighbours(state)
            state = sample_categorical(_conditional_logits(ell_c, left, right, J, S), rng=rng, method="gumbel")
        if return_trace:
            trace[t] = state
    return trace if return_trace else state
