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

References: Baum et al., Ann. Math. Stat. 41, 164 (1970) (forward–backward); Wu, Rev. Mod. Phys. 54, 235
(1982) (Potts model); Geman & Geman, IEEE PAMI 6, 721 (1984) (Gibbs sampling and colourings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_logits, as_rng, check_positive_int, check_real
from ..sampling import sample_categorical

__all__ = ["PottsMarginals", "potts_energy", "potts_marginals", "potts_gibbs", "SCHEDULES"]

SCHEDULES = ("chromatic", "synchronous")


@dataclass(frozen=True)
class PottsMarginals:
    """Exact statistics of the Potts chain over query positions.

    Attributes
    ----------
    log_Z : ndarray of shape (...)
        Log partition function.
    marginals : ndarray of shape (..., T, S)
        :math:`P(j_i = a)`.
    agreement : ndarray of shape (..., T-1)
        :math:`P(j_i = j_{i+1})`, the statistic conjugate to :math:`J`
        (:math:`\\partial \\ln Z/\\partial J = \\sum_i P(j_i = j_{i+1})`).
    pairs : ndarray of shape (..., T-1, S, S) or None
        :math:`P(j_i = a, j_{i+1} = b)` when requested.
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
        Key index per query position; leading axes broadcast with those of ``logits``.
    logits : array_like of shape (..., T, S)
    J : float
        Coupling :math:`J` (positive: neighbouring queries prefer the same key).

    Returns
    -------
    ndarray of shape (...)
        ``+inf`` for configurations using a masked key.

    Examples
    --------
    >>> import numpy as np
    >>> print(potts_energy([0, 0, 1], np.zeros((3, 2)), 2.0))
    -2.0
    """
    ell, J = _check(logits, J)
    j = np.asarray(states)
    if not np.issubdtype(j.dtype, np.integer) or j.ndim < 1 or j.shape[-1] != ell.shape[-2]:
        raise ValueError(f"states: expected integers of shape (..., {ell.shape[-2]}), got {j.dtype}, {j.shape}")
    if j.size and (j.min() < 0 or j.max() >= ell.shape[-1]):
        raise ValueError(f"states: entries must lie in [0, {ell.shape[-1]})")
    shape = np.broadcast_shapes(j.shape, ell.shape[:-1])
    field = np.take_along_axis(np.broadcast_to(ell, shape + ell.shape[-1:]), np.broadcast_to(j, shape)[..., None], axis=-1)[..., 0]
    same = np.sum(j[..., 1:] == j[..., :-1], axis=-1)
    return -np.sum(field, axis=-1) - J * same


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
        Row logits :math:`\ell_{i,\cdot}` (``-inf`` = masked key; no row may be fully masked).
    J : float
        Coupling :math:`J`; ``0`` recovers independent row softmaxes.
    pairs : bool
        Also return the full nearest-neighbour pair marginals, :math:`O(TS^2)` memory.

    Returns
    -------
    PottsMarginals

    Notes
    -----
    Forward messages :math:`\alpha_1 = \ell_1`,
    :math:`\alpha_{i+1}(b) = \ell_{i+1}(b) + \ln\sum_a e^{\alpha_i(a) + J 1[a=b]}`; backward
    :math:`\beta_T = 0`, :math:`\beta_i(a) = \ln\sum_b e^{J 1[a=b] + \ell_{i+1}(b) + \beta_{i+1}(b)}`.
    Then :math:`\ln Z = \ln\sum_a e^{\alpha_T(a)}`, :math:`P(j_i=a) = e^{\alpha_i(a)+\beta_i(a)-\ln Z}`. The
    recursion loops over positions (it is sequential by nature), vectorized over keys and leading axes.

    Examples
    --------
    >>> import numpy as np
    >>> m = potts_marginals(np.log([[0.5, 0.5], [0.9, 0.1]]), 0.0)
    >>> print(m.marginals.round(6))
    [[0.5 0.5]
     [0.9 0.1]]
    """
    ell, J = _check(logits, J)
    T = ell.shape[-2]
    # Messages are kept with their maximum at 0 (shifts recorded), so every exponent below is O(1) and the
    # marginals carry relative rounding ~1e-16 however large ln Z grows.
    alpha = np.empty_like(ell)  # (..., T, S), shifted forward messages
    beta = np.zeros_like(ell)  # (..., T, S), shifted backward messages
    shift_b = np.zeros(ell.shape[:-1])  # (..., T): shift taken out of beta_i
    log_Z = np.zeros(ell.shape[:-2])  # (...), accumulates the forward shifts
    a = ell[..., 0, :]
    for i in range(T):
        if i > 0:
            a = ell[..., i, :] + _transfer(alpha[..., i - 1, :], J)
        top = np.max(a, axis=-1)
        alpha[..., i, :] = a - top[..., None]
        log_Z = log_Z + top
    for i in range(T - 2, -1, -1):
        b = _transfer(ell[..., i + 1, :] + beta[..., i + 1, :], J)
        shift_b[..., i] = np.max(b, axis=-1)
        beta[..., i, :] = b - shift_b[..., i, None]
    log_Z = log_Z + np.log(np.sum(np.exp(alpha[..., T - 1, :]), axis=-1))
    x = alpha + beta  # (..., T, S): log marginals up to a per-position constant
    x_top = np.max(x, axis=-1, keepdims=True)
    w = np.exp(x - x_top)
    marg = w / np.sum(w, axis=-1, keepdims=True)  # (..., T, S)
    norm = (x_top[..., 0] + np.log(np.sum(w, axis=-1)))[..., :-1]  # (..., T-1): ln sum_a e^{alpha_i + beta_i}
    nxt = ell[..., 1:, :] + beta[..., 1:, :] - shift_b[..., :-1, None]  # (..., T-1, S): evidence from i+1 on
    agree = np.sum(np.exp(alpha[..., :-1, :] + J + nxt - norm[..., None]), axis=-1)  # (..., T-1)
    pair = None
    if pairs:
        coupling = J * np.eye(ell.shape[-1])  # (S, S)
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
    J : float
        Coupling :math:`J`.
    n_sweeps : int
        Number of sweeps (each updates every position once).
    rng : numpy.random.Generator or int
    n_chains : int
        Independent chains, started from independent row-softmax draws.
    schedule : {"chromatic", "synchronous"}
        ``chromatic``: even positions then odd positions, each colour drawn from its exact conditional
        (a valid Gibbs sampler). ``synchronous``: every position from the *old* state at once (wrong joint law).
    return_trace : bool
        Return every sweep's state instead of the last.

    Returns
    -------
    ndarray of int64
        Shape (n_chains, ..., T), or (n_sweeps, n_chains, ..., T) with ``return_trace``.

    Notes
    -----
    The conditional of position :math:`i` is :math:`P(j_i = a\mid\cdot)\propto e^{\ell_{i,a} +
    J(1[a = j_{i-1}] + 1[a = j_{i+1}])}`. Positions of one parity do not interact, so drawing all of
    them at once is exact. The synchronous schedule's state at sweep :math:`t` combines the even sites of one
    chromatic chain with the odd sites of another, independent one: at stationarity each site has the right
    marginal but neighbours are independent, :math:`P(j_i = j_{i+1}) = \sum_a P(j_i=a)P(j_{i+1}=a)`.

    Examples
    --------
    >>> import numpy as np
    >>> x = potts_gibbs(np.zeros((4, 3)), 1.0, 5, rng=0, n_chains=2)
    >>> x.shape
    (2, 4)
    """
    ell, J = _check(logits, J)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    n_chains = check_positive_int(n_chains, "n_chains")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {schedule!r}")
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
