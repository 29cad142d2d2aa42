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

from ._validation import (
    as_float_array,
    as_rng,
    check_allocation,
    check_beta,
    check_callable,
    check_positive_int,
    check_returned,
    check_work,
)

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
    r"""Return a ladder as float64 (R,) after checking R >= 2 finite, non-negative, strictly increasing values.

    Parameters
    ----------
    betas : array_like of shape (R,)
        Inverse temperatures, hottest rung first: :math:`0 \le \beta_0 < \beta_1 < \dots < \beta_{R-1} < \infty`.
    name : str
        The parameter's name used in error messages (``"betas"`` by default).

    Returns
    -------
    ndarray of float64, shape (R,)
        The validated ladder.

    Examples
    --------
    >>> from thermoref.tempering import check_ladder
    >>> print(check_ladder([0.1, 0.5, 1.0]))
    [0.1 0.5 1. ]
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected the parameter's name as a str, got {type(name).__name__}")
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
        The target (coldest) inverse temperature, the last rung, :math:`0 < \beta < \infty`.
    n_replicas : int
        Number of rungs, at least 2.
    beta_min : float
        The hottest rung, :math:`0 < \beta_{\min} < \beta`.

    Returns
    -------
    betas : ndarray of float64, shape (n_replicas,)
        Increasing; ``betas[-1] == beta`` and ``betas[0] == beta_min`` bit for bit.

    Notes
    -----
    .. math:: \beta_r = \beta_{\min}\,(\beta/\beta_{\min})^{r/(R-1)}, \qquad r = 0, \dots, R - 1,

    computed as :math:`\beta_{\min}\exp(r\ln(\beta/\beta_{\min})/(R-1))` (in log space where the exponential
    alone would overflow, e.g. :math:`\beta \sim 10^{308}`). Neighbouring rungs have a constant ratio: with a
    constant heat capacity the energy distributions of neighbours then overlap equally, so the swap acceptance
    is the same along the ladder.

    References
    ----------
    Kofke, D. A. (2002) "On the acceptance probability of replica-exchange Monte Carlo trials", J. Chem. Phys.
    117, 6911–6914.

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
    if beta == 0:
        raise ValueError("beta: the target of a ladder must be positive (0 < beta_min < beta)")
    if not 0 < beta_min < beta:
        raise ValueError(f"beta_min: must satisfy 0 < beta_min < beta, got {beta_min!r} and beta={beta!r}")
    log_ratio = np.log(beta) - np.log(beta_min)  # no overflow of beta / beta_min
    frac = np.arange(n_replicas) / (n_replicas - 1)  # (R,)
    with np.errstate(over="ignore"):  # exp(log_ratio * frac) may exceed float64 where the rung itself does not
        betas = beta_min * np.exp(log_ratio * frac)
        betas = np.where(np.isfinite(betas), betas, np.exp(np.log(beta_min) + log_ratio * frac))
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
    state : array_like of shape ``(R, *batch, *event)``
        Initial configuration of each rung (copied; float64). ``batch`` axes are independent tempering runs,
        ``event`` axes the configuration of one replica (empty for a scalar state).
    betas : array_like of shape (R,)
        Strictly increasing inverse temperatures (:func:`temperature_ladder`); the last rung is the target.
    n_rounds : int
        Rounds, at least 0 (0 returns the input state).
    move : callable ``move(state, beta, rng)``
        Updates ``state`` in place with a kernel that leaves :math:`e^{-\beta_r E}` invariant at every rung;
        ``beta`` has shape (R, 1, ..., 1) so that it broadcasts against ``state``. Returns the number of
        accepted moves per rung, shape (R,), or ``None`` for kernels that always accept (heat bath).
    energy : callable ``energy(state)``
        Energies of shape ``(R, *batch)``, finite (NaN or infinite energies are refused).
    rng : numpy.random.Generator or int
        Source of randomness of the swaps (and of the moves, which receive it).
    observable : callable ``observable(state)``, optional
        Recorded per round, shape ``(R, *batch)``; the energy is recorded if omitted.

    Returns
    -------
    PTResult
        Final states, the energies and observables after every round, and the acceptance rates (0 for a pair
        never proposed, e.g. with ``n_rounds = 0``).

    Notes
    -----
    In round :math:`t` the pairs :math:`(r, r+1)` with :math:`r \equiv t \pmod 2` propose to exchange their
    configurations, accepted with probability

    .. math:: \min\{1,\; e^{(\beta_{r+1}-\beta_r)(E_{r+1}-E_r)}\},

    which is detailed balance for the product law :math:`\prod_r e^{-\beta_r E(x_r)}/Z(\beta_r)`: every rung
    keeps its own Gibbs law while low-energy configurations found at hot rungs travel to the cold ones. The
    uniform :math:`u` is compared in log space, :math:`\ln(1-u) < (\beta_{r+1}-\beta_r)(E_{r+1}-E_r)`, one per
    proposed pair and batch entry. The loop runs over rounds only; rungs, pairs and batch entries are updated
    together.

    References
    ----------
    Swendsen, R. H. & Wang, J.-S. (1986) "Replica Monte Carlo simulation of spin-glasses", Phys. Rev. Lett. 57,
    2607–2609. Hukushima, K. & Nemoto, K. (1996) "Exchange Monte Carlo method and application to spin glass
    simulations", J. Phys. Soc. Jpn. 65, 1604–1608.

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
    n_rounds = check_positive_int(n_rounds, "n_rounds", minimum=0)
    for f, name in ((move, "move"), (energy, "energy")):
        check_callable(f, name)
    if observable is not None:
        check_callable(observable, "observable")
    rng = as_rng(rng)
    s = as_float_array(state, "state", min_ndim=1).copy()
    R = betas.size
    if s.shape[0] != R:
        raise ValueError(f"state: axis 0 must hold one replica per rung ({R}), got shape {s.shape}")
    E = check_returned(energy(s), "energy")
    batch = E.shape[1:]
    if E.shape[:1] != (R,) or s.shape[1:1 + len(batch)] != batch:
        raise ValueError(f"energy: must return shape (R, *batch) with batch a leading part of {s.shape[1:]}, got {E.shape}")
    check_allocation((n_rounds, 2) + E.shape, "n_rounds")
    check_work(n_rounds * max(s.size, 1), "n_rounds")
    event = s.ndim - E.ndim
    beta_b = betas.reshape((R,) + (1,) * (s.ndim - 1))  # (R, 1, ..., 1)
    gaps = np.diff(betas).reshape((-1,) + (1,) * len(batch))  # (R - 1, 1, ..., 1), all > 0
    energies = np.empty((n_rounds,) + E.shape)  # (n_rounds, R, *batch)
    observed = np.empty((n_rounds,) + E.shape)
    accepted, proposed = np.zeros(R - 1), np.zeros(R - 1)
    moves = np.zeros(R)
    always = False
    n_batch = int(np.prod(batch, dtype=np.int64))
    for t in range(n_rounds):
        acc_moves = move(s, beta_b, rng)
        if acc_moves is None:
            always = True
        else:
            moves += check_returned(acc_moves, "move", (R,))
        E = check_returned(energy(s), "energy", E.shape)  # (R, *batch)
        lo = np.arange(t % 2, R - 1, 2)  # (P,)
        hi = lo + 1
        with np.errstate(over="ignore"):  # a huge product is +-inf: certain acceptance or rejection
            log_ratio = gaps[lo] * (E[hi] - E[lo])  # (P, *batch), never NaN: finite E, gaps > 0
        acc = np.log1p(-rng.random(log_ratio.shape)) < log_ratio  # (P, *batch)
        acc_s = acc.reshape(acc.shape + (1,) * event)
        s_lo, s_hi = s[lo], s[hi]  # (P, *batch, *event) copies
        s[lo] = np.where(acc_s, s_hi, s_lo)
        s[hi] = np.where(acc_s, s_lo, s_hi)
        E_lo, E_hi = E[lo], E[hi]
        E[lo], E[hi] = np.where(acc, E_hi, E_lo), np.where(acc, E_lo, E_hi)
        accepted[lo] += acc.reshape(lo.size, -1).sum(axis=1)
        proposed[lo] += n_batch
        energies[t] = E
        observed[t] = E if observable is None else check_returned(observable(s), "observable", E.shape)
    if always:
        move_acc = np.ones(R)
    else:
        move_acc = moves / (n_rounds * max(n_batch, 1)) if n_rounds else np.zeros(R)
    return PTResult(
        states=s,
        betas=betas,
        energies=energies,
        observables=observed,
        swap_acceptance=np.divide(accepted, proposed, out=np.zeros(R - 1), where=proposed > 0),
        move_acceptance=move_acc,
    )
