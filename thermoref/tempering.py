r"""Parallel tempering (replica exchange): one engine, one rung convention, one result type.

Replicas of a system run side by side at inverse temperatures :math:`\beta_0 < \beta_1 < \dots < \beta_{R-1}`
(**the project's one convention: rungs ordered from hottest to coldest, the last rung is the target**). Each
round moves every replica with a kernel that leaves its own Gibbs law :math:`e^{-\beta_r E}/Z(\beta_r)`
invariant, then proposes to exchange the configurations of neighbouring rungs :math:`(r, r+1)` for every
:math:`r \equiv t \pmod 2` in round :math:`t`, accepting with probability

.. math:: \min\{1,\; e^{(\beta_{r+1}-\beta_r)(E_{r+1}-E_r)}\},

which keeps the product law :math:`\prod_r e^{-\beta_r E(x_r)}/Z(\beta_r)` invariant: the chain at each rung
samples its own Gibbs law, and configurations found hot travel down to the cold rungs.
:func:`replica_exchange` is the engine; :func:`thermoref.ising.parallel_tempering` (heat-bath moves) and
:func:`thermoref.langevin.parallel_tempering` (MALA moves) supply the moves.

References: Swendsen, R. H. & Wang, J.-S. (1986) PRL 57, 2607; Geyer, C. J. (1991) "Markov chain Monte Carlo
maximum likelihood", Computing Science and Statistics 23, 156; Hukushima, K. & Nemoto, K. (1996) J. Phys.
Soc. Jpn. 65, 1604.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_rng, check_allocation, check_beta, check_positive_int

__all__ = ["PTResult", "check_ladder", "replica_exchange", "temperature_ladder"]


@dataclass(frozen=True)
class PTResult:
    """Outcome of a parallel-tempering run; rung ``r`` is at ``betas[r]`` (increasing: the last is coldest).

    Attributes
    ----------
    states : ndarray of shape (R, ...)
        Final configuration at each rung (further leading axes: independent tempering runs).
    betas : ndarray of shape (R,)
        The ladder, strictly increasing.
    energies : ndarray of shape (n_rounds, R, ...)
        Energy of the configuration at each rung after each round (after its swaps).
    observables : ndarray of shape (n_rounds, R, ...)
        The move's observable at each rung after each round: the magnetization per spin for an Ising model,
        the state itself for a Langevin neuron.
    swap_acceptance : ndarray of shape (R - 1,)
        Fraction of accepted exchanges between rungs ``r`` and ``r + 1``.
    move_acceptance : ndarray of shape (R,)
        Fraction of accepted moves at each rung (1 for heat-bath moves, which always accept).
    """

    states: np.ndarray
    betas: np.ndarray
    energies: np.ndarray
    observables: np.ndarray
    swap_acceptance: np.ndarray
    move_acceptance: np.ndarray


def check_ladder(betas: ArrayLike, name: str = "betas") -> np.ndarray:
    """Return a ladder as float64 (R,) after checking R >= 2 finite, non-negative, strictly increasing values.

    Examples
    --------
    >>> from thermoref.tempering import check_ladder
    >>> print(check_ladder([0.1, 0.5, 1.0]))
    [0.1 0.5 1. ]
    """
    b = check_beta(betas, name)
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"{name}: expected a 1-D ladder of at least two inverse temperatures, got shape {b.shape}")
    if (np.diff(b) <= 0).any():
        raise ValueError(f"{name}: must be strictly increasing (hottest rung first, the target last)")
    return b


def temperature_ladder(beta: float, n_replicas: int, beta_min: float) -> np.ndarray:
    r"""Geometric ladder of ``n_replicas`` inverse temperatures from ``beta_min`` up to exactly ``beta``.

    Parameters
    ----------
    beta : float
        The target (coldest) inverse temperature, the last rung.
    n_replicas : int
        Number of rungs, at least 2.
    beta_min : float
        The hottest rung, :math:`0 < \beta_{\min} < \beta`.

    Returns
    -------
    betas : ndarray of shape (n_replicas,)
        :math:`\beta_r = \beta_{\min}(\beta/\beta_{\min})^{r/(R-1)}`, increasing; ``betas[-1] == beta`` and
        ``betas[0] == beta_min`` bit for bit.

    Notes
    -----
    A geometric ladder gives equal swap acceptance between neighbours when the heat capacity is constant
    (Kofke 2002, J. Chem. Phys. 117, 6911).

    Examples
    --------
    >>> from thermoref.tempering import temperature_ladder
    >>> print(temperature_ladder(1.0, 3, 0.25))
    [0.25 0.5  1.  ]
    """
    beta = check_beta(beta, scalar=True)
    beta_min = check_beta(beta_min, "beta_min", scalar=True)
    n_replicas = check_positive_int(n_replicas, "n_replicas", minimum=2)
    check_allocation(n_replicas, "n_replicas")
    if not 0 < beta_min < beta:
        raise ValueError(f"beta_min: must satisfy 0 < beta_min < beta, got {beta_min!r} and beta={beta!r}")
    log_ratio = np.log(beta) - np.log(beta_min)  # no overflow of beta / beta_min
    betas = beta_min * np.exp(log_ratio * (np.arange(n_replicas) / (n_replicas - 1)))
    betas[0], betas[-1] = beta_min, beta
    if (np.diff(betas) <= 0).any():
        raise ValueError(f"n_replicas: {n_replicas} rungs between {beta_min!r} and {beta!r} are not distinct in float64")
    return betas


def replica_exchange(
    state: np.ndarray,
    betas: ArrayLike,
    n_rounds: int,
    *,
    move: Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray | None],
    energy: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator | int,
    observable: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PTResult:
    r"""Run parallel tempering with any move kernel: ``n_rounds`` of (move every rung, swap neighbours).

    Parameters
    ----------
    state : ndarray of shape (R, *batch, *event)
        Initial configuration of each rung (copied; float64). ``batch`` axes are independent tempering runs,
        ``event`` axes the configuration of one replica (empty for a scalar state).
    betas : array_like of shape (R,)
        Strictly increasing inverse temperatures (:func:`temperature_ladder`); the last rung is the target.
    n_rounds : int
        Rounds.
    move : callable ``move(state, beta, rng)``
        Updates ``state`` in place with a kernel that leaves :math:`e^{-\beta_r E}` invariant at every rung;
        ``beta`` has shape (R, 1, ..., 1) so that it broadcasts against ``state``. Returns the number of
        accepted moves per rung, shape (R,), or ``None`` for kernels that always accept (heat bath).
    energy : callable ``energy(state)``
        Energies of shape (R, *batch).
    rng : numpy.random.Generator or int
    observable : callable ``observable(state)``, optional
        Recorded per round, shape (R, *batch); the energy is recorded if omitted.

    Returns
    -------
    PTResult

    Notes
    -----
    Swap rule of the module docstring, with the uniform :math:`u` compared in log space as
    :math:`\ln(1-u) < (\beta_{r+1}-\beta_r)(E_{r+1}-E_r)`; one uniform per proposed pair and batch entry.
    The loop runs over rounds only; rungs, pairs and batch entries are updated together.

    Examples
    --------
    A two-level system at three temperatures, moved by exact redraws (a heat bath that ignores the state):

    >>> import numpy as np
    >>> from thermoref.tempering import replica_exchange
    >>> def move(x, beta, rng):
    ...     x[...] = rng.random(x.shape) < 1 / (1 + np.exp(beta))   # P(x = 1) at E(x) = x
    >>> res = replica_exchange(np.zeros((3, 1000)), [0.1, 0.5, 1.0], 50, move=move, energy=lambda x: x, rng=0)
    >>> res.energies.shape, res.swap_acceptance.shape
    ((50, 3, 1000), (2,))
    """
    betas = check_ladder(betas)
    n_rounds = check_positive_int(n_rounds, "n_rounds")
    rng = as_rng(rng)
    s = as_float_array(state, "state", min_ndim=1).copy()
    R = betas.size
    if s.shape[0] != R:
        raise ValueError(f"state: axis 0 must hold one replica per rung ({R}), got shape {s.shape}")
    E = np.asarray(energy(s), dtype=np.float64)
    batch = E.shape[1:]
    if E.shape[0] != R or s.shape[1:1 + len(batch)] != batch:
        raise ValueError(f"energy: must return shape (R, *batch) with batch a leading part of {s.shape[1:]}, got {E.shape}")
    check_allocation((n_rounds, 2) + E.shape, "n_rounds")
    event = s.ndim - E.ndim
    beta_b = betas.reshape((R,) + (1,) * (s.ndim - 1))  # (R, 1, ..., 1)
    record = energy if observable is None else observable
    energies = np.empty((n_rounds,) + E.shape)
    observed = np.empty((n_rounds,) + E.shape)
    accepted, proposed = np.zeros(R - 1), np.zeros(R - 1)
    moves = np.zeros(R)
    always = False
    for t in range(n_rounds):
        acc_moves = move(s, beta_b, rng)
        if acc_moves is None:
            always = True
        else:
            moves += acc_moves
        E = np.asarray(energy(s), dtype=np.float64)  # (R, *batch)
        lo = np.arange(t % 2, R - 1, 2)  # (P,)
        hi = lo + 1
        log_ratio = (betas[hi] - betas[lo]).reshape((-1,) + (1,) * len(batch)) * (E[hi] - E[lo])  # (P, *batch)
        with np.errstate(invalid="ignore"):  # (inf - inf) * 0 cannot occur: energies are finite
            acc = np.log1p(-rng.random(log_ratio.shape)) < log_ratio  # (P, *batch)
        acc_s = acc.reshape(acc.shape + (1,) * event)
        s_lo, s_hi = s[lo], s[hi]  # (P, *batch, *event) copies
        s[lo] = np.where(acc_s, s_hi, s_lo)
        s[hi] = np.where(acc_s, s_lo, s_hi)
        E_lo, E_hi = E[lo], E[hi]
        E[lo], E[hi] = np.where(acc, E_hi, E_lo), np.where(acc, E_lo, E_hi)
        accepted[lo] += acc.reshape(lo.size, -1).sum(axis=1)
        proposed[lo] += int(np.prod(batch, dtype=np.int64))
        energies[t] = E
        observed[t] = E if observable is None else record(s)
    n_batch = int(np.prod(batch, dtype=np.int64))
    move_acc = np.ones(R) if always else moves / (n_rounds * max(n_batch, 1))
    return PTResult(
        states=s,
        betas=betas,
        energies=energies,
        observables=observed,
        swap_acceptance=np.divide(accepted, proposed, out=np.zeros(R - 1), where=proposed > 0),
        move_acceptance=move_acc,
    )
