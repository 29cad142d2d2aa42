r"""Softmax on binary p-bits: the one-hot embedding (exactness against mixing) and the exact binary tree.

A softmax row over :math:`n` categories reaches binary hardware in one of two ways. The *one-hot embedding*
gives every category a p-bit :math:`x_i\in\{0,1\}` and penalises the states that are not one-hot,

.. math:: E(x) = -\sum_i \ell_i x_i + \lambda\Big(\sum_i x_i - 1\Big)^2, \qquad p(x) \propto e^{-\beta E(x)},

a Boltzmann machine (:func:`onehot_network`) that :func:`thermoref.pbit.gibbs_sample` runs. Conditioned on the
one-hot states its law is :math:`\mathrm{softmax}(\beta\ell)` exactly, for every :math:`\lambda`; the mass it
leaks to other states falls like :math:`e^{-\beta\lambda}` (:func:`onehot_leak`), but the same barrier makes
the Gibbs chain cross between categories only through a zero or two-hot state, at a rate :math:`\propto
e^{-\beta\lambda}` (:func:`onehot_mixing`): the mixing wall. The *tree factorisation* (:func:`sample_tree`)
draws the category with :math:`\lceil\log_2 n\rceil` independent p-bit decisions whose logits are log-ratios
of subtree partition functions: exact, with no penalty and no chain.

References: Hopfield, J. J. & Tank, D. W. (1985) "Neural computation of decisions in optimization problems",
Biol. Cybern. 52, 141–152 (one-hot penalty embeddings); Lucas, A. (2014) "Ising formulations of many NP
problems", Front. Phys. 2, 5; Morin, F. & Bengio, Y. (2005) "Hierarchical probabilistic neural network language
model", AISTATS (binary-tree softmax); Levin, D. A., Peres, Y. & Wilmer, E. L. (2009) *Markov Chains and Mixing
Times*, AMS (relaxation time, spectral gap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .._validation import (
    as_float_array,
    as_rng,
    check_allocation,
    check_beta,
    check_positive_int,
    check_real,
    check_work,
)
from ..gibbs import softmax
from ..pbit import exact_law
from ..sampling import _check_size, _scaled_logits
from ..testing import enumerate_states

__all__ = ["READOUTS", "onehot_network", "onehot_leak", "OneHotLaw", "onehot_law", "decode_onehot",
           "onehot_transition_matrix", "OneHotMixing", "onehot_mixing", "tree_law", "sample_tree"]

#: Read-outs of a p-bit state as a category: ``"reject"`` (a state that is not one-hot is discarded and read
#: again) and ``"argmax"`` (the active unit of largest logit; the zero state reads as the largest logit).
READOUTS = ("reject", "argmax")
_MAX_LAW_UNITS, _MAX_CHAIN_UNITS = 12, 10


def _row(logits: ArrayLike, limit: int) -> np.ndarray:
    """One finite row of logits, 1 <= n <= limit (a masked category has no finite p-bit bias: drop it)."""
    ell = as_float_array(logits, "logits", ndim=1)
    if ell.shape[0] == 0:
        raise ValueError("logits: the row has no categories")
    if ell.shape[0] > limit:
        raise ValueError(f"logits: {ell.shape[0]} categories; exact enumeration here is limited to n <= {limit}")
    return ell


def _penalty(penalty: object) -> float:
    return check_real(penalty, "penalty", nonnegative=True)


def _readout(readout: object) -> str:
    if not isinstance(readout, str) or readout not in READOUTS:
        raise ValueError(f"readout: expected one of {READOUTS}, got {readout!r}")
    return readout


def _scaled(ell: np.ndarray, beta: float, penalty: float) -> None:
    """Refuse sizes whose energies overflow float64 (every law below is computed in log space within them)."""
    n2 = 2.0 * max(ell.shape[0], 1) ** 2  # the largest energy multiple used: (k - 1)**2 * penalty, k * logits
    with np.errstate(over="ignore"):
        for x, name in ((n2 * ell, "logits"), (n2 * penalty, "penalty"), (beta * n2 * ell, "beta"),
                        (beta * n2 * penalty, "beta")):
            if not np.isfinite(x).all():
                raise ValueError(f"{name}: beta * logits and beta * penalty, times 2 n**2, must stay finite")


def onehot_network(logits: ArrayLike, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Couplings and biases :math:`(W, b)` of the one-hot embedding of a softmax row, in bits :math:`\{0, 1\}`.

    Parameters
    ----------
    logits : array_like of shape (n,)
        Finite logits :math:`\ell` of the row (n <= 12).
    penalty : float
        :math:`\lambda \ge 0`, the energy of each unit of :math:`(\sum_i x_i - 1)^2`.

    Returns
    -------
    W : ndarray of shape (n, n)
        :math:`W_{ij} = -2\lambda` off the diagonal, zero on it.
    b : ndarray of shape (n,)
        :math:`b_i = \ell_i + \lambda`.

    Notes
    -----
    With :math:`x_i^2 = x_i`,

    .. math:: -\sum_i \ell_i x_i + \lambda\Big(\sum_i x_i - 1\Big)^2
              = -\tfrac12 x^\top W x - b^\top x + \lambda,

    the Boltzmann-machine energy of :func:`thermoref.pbit.bm_energy` up to the constant :math:`\lambda`, which no
    law sees. Every pair of active units pays :math:`2\lambda`; each unit is pulled on by :math:`\ell_i +
    \lambda`. Run it with ``values=(0, 1)``: :func:`thermoref.pbit.gibbs_sample`, :func:`thermoref.pbit.exact_law`.

    References
    ----------
    Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5.

    Examples
    --------
    >>> from thermoref.decoding import onehot_network
    >>> W, b = onehot_network([0.5, -0.5], 2.0)
    >>> print(W, b)
    [[ 0. -4.]
     [-4.  0.]] [2.5 1.5]
    """
    ell = _row(logits, _MAX_LAW_UNITS)
    lam = _penalty(penalty)
    n = ell.shape[0]
    W = np.where(np.eye(n, dtype=bool), 0.0, -2.0 * lam)  # (n, n)
    with np.errstate(over="ignore"):
        b = ell + lam  # (n,)
    if not np.isfinite(W).all() or not np.isfinite(b).all():
        raise ValueError("penalty: 2 * penalty or logits + penalty overflows float64")
    return W, b


def _log_elementary(x: np.ndarray) -> np.ndarray:
    r"""``log e_k(e^x)`` for k = 0..n along the last axis: the elementary symmetric polynomials, in log space."""
    n = x.shape[-1]
    log_e = np.full(x.shape[:-1] + (n + 1,), -np.inf)  # (..., n + 1)
    log_e[..., 0] = 0.0
    for j in range(n):  # the O(n^2) recursion e_k <- e_k + w_j e_{k-1}, vectorized over k and rows
        log_e[..., 1:] = np.logaddexp(log_e[..., 1:], log_e[..., :-1] + x[..., j:j + 1])
    return log_e


def onehot_leak(logits: ArrayLike, penalty: float, *, beta: float = 1.0) -> np.ndarray:
    r"""Exact mass :math:`1 - P(\text{one-hot})` that the one-hot embedding puts outside the one-hot states.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Finite logits, one row per softmax (any n; :math:`O(n^2)` per row).
    penalty : float
        :math:`\lambda \ge 0`.
    beta : float
        Inverse temperature, :math:`0 \le \beta < \infty`.

    Returns
    -------
    ndarray of shape (...)
        The leak of every row, in [0, 1).

    Notes
    -----
    With :math:`w_i = e^{\beta\ell_i}` and :math:`e_k` the elementary symmetric polynomials of :math:`w`, the
    states with :math:`k` active units weigh :math:`e_k\,e^{-\beta\lambda(k-1)^2}` together, so

    .. math:: 1 - P(\text{one-hot}) = 1 - \frac{e_1}{\sum_{k=0}^n e_k\,e^{-\beta\lambda(k-1)^2}}
              = \frac{1 + e_2(w)}{e_1(w)}\,e^{-\beta\lambda}\,\big(1 + O(e^{-\beta\lambda})\big).

    The zero state and the two-hot states leak first, each at Boltzmann cost :math:`\lambda`; computed in log
    space, no overflow at any :math:`\beta\lambda`.

    References
    ----------
    Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5.

    Examples
    --------
    >>> from thermoref.decoding import onehot_leak
    >>> print(onehot_leak([0.0, 0.0], 0.0).round(6))  # four equally likely states, two of them one-hot
    0.5
    """
    ell = as_float_array(logits, "logits", min_ndim=1)
    if ell.shape[-1] == 0:
        raise ValueError("logits: the last axis (categories) is empty")
    lam = _penalty(penalty)
    beta = check_beta(beta, scalar=True)
    check_allocation(ell.shape[:-1] + (ell.shape[-1] + 1,), "logits")
    _scaled(ell.reshape(-1), beta, lam)
    x = beta * ell
    top = x.max(axis=-1, keepdims=True)  # (..., 1)
    k = np.arange(ell.shape[-1] + 1)
    log_e = _log_elementary(x - top) + k * top  # (..., n + 1): e_k scales as e^{k top}; shifted sums stay finite
    log_off = np.delete(log_e - beta * lam * (k - 1.0) ** 2, 1, axis=-1)  # (..., n): every k but k = 1
    log_ratio = special.logsumexp(log_off, axis=-1) - log_e[..., 1]  # log(leaked weight / one-hot weight)
    return special.expit(log_ratio)  # leak = r / (1 + r)


@dataclass(frozen=True)
class OneHotLaw:
    r"""Exact law of the one-hot embedding of one softmax row (:func:`onehot_law`).

    Attributes
    ----------
    p : ndarray of shape ``(2**n,)``
        :math:`p(x)` over the states of :func:`thermoref.testing.enumerate_states` ``(n, (0, 1))``.
    onehot_mass : float
        :math:`P(\text{one-hot})`.
    conditional : ndarray of shape (n,)
        The law conditioned on the one-hot states (category :math:`i` = unit :math:`i` on): softmax exactly.
    decoded : ndarray of shape (n,)
        The law of the category read out (``readout``) from a draw of :math:`p`.
    tv : float
        Total variation :math:`\tfrac12\sum_i|\text{decoded}_i - \mathrm{softmax}(\beta\ell)_i|`.
    readout : str
        The read-out used, one of :data:`READOUTS`.

    Notes
    -----
    .. math:: p(x) = \frac{e^{-\beta E(x)}}{Z}, \qquad p(e_i \mid \text{one-hot}) = \frac{e^{\beta\ell_i}}{\sum_j
              e^{\beta\ell_j}}.

    The conditional law is the softmax the embedding is built to sample; the decoded law is what a device
    that reads every state actually delivers.

    References
    ----------
    Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5.

    Examples
    --------
    >>> from thermoref.decoding import onehot_law
    >>> law = onehot_law([0.0, 0.0], 0.0)
    >>> print(law.p, law.onehot_mass, law.conditional)
    [0.25 0.25 0.25 0.25] 0.5 [0.5 0.5]
    """

    p: np.ndarray
    onehot_mass: float
    conditional: np.ndarray
    decoded: np.ndarray
    tv: float
    readout: str


def _readout_matrix(ell: np.ndarray, readout: str) -> np.ndarray:
    """(2**n, n) 0/1 matrix: state s reads as category i (rows of rejected states are zero)."""
    idx = decode_onehot(enumerate_states(ell.shape[0], (0, 1)), ell, readout=readout)  # (S,)
    R = np.zeros((idx.shape[0], ell.shape[0]))
    ok = idx >= 0
    R[np.flatnonzero(ok), idx[ok]] = 1.0
    return R


def _onehot_rows(n: int) -> np.ndarray:
    """Indices of the one-hot states e_0..e_{n-1} in enumeration order (unit j is bit n-1-j)."""
    return 2 ** (n - 1 - np.arange(n))


def _decode(q: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read-out laws (..., n) of state laws q (..., S) and their accepted mass (...)."""
    d = q @ R  # (..., n)
    mass = d.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass[..., None] > 0, d / mass[..., None], 0.0), mass


def onehot_law(logits: ArrayLike, penalty: float, *, beta: float = 1.0, readout: str = "argmax") -> OneHotLaw:
    r"""Exact law of the one-hot embedding by enumeration of its :math:`2^n` states, and its read-out.

    Parameters
    ----------
    logits : array_like of shape (n,)
        Finite logits (n <= 12).
    penalty : float
        :math:`\lambda \ge 0`.
    beta : float
        Inverse temperature, :math:`0 \le \beta < \infty`.
    readout : {"reject", "argmax"}
        How a state becomes a category (:func:`decode_onehot`).

    Returns
    -------
    OneHotLaw
        The state law, the one-hot mass, the conditional and decoded laws and the decoded law's TV from softmax.

    Notes
    -----
    :math:`p = ` :func:`thermoref.pbit.exact_law` of :func:`onehot_network`. On a one-hot state
    :math:`E(e_i) = -\ell_i`, so :math:`p(\cdot\mid\text{one-hot}) = \mathrm{softmax}(\beta\ell)` for every
    :math:`\lambda` (``"reject"`` is exact, at the price of :math:`1/P(\text{one-hot})` reads per sample). With
    ``"argmax"`` the decoded law is :math:`(1-L)\,\mathrm{softmax} + L\,\nu` (:math:`L` the leak,
    :math:`\nu` the read-out of the leaked states), so its TV is at most :math:`L` and, as
    :math:`\lambda\to\infty`, :math:`e^{\beta\lambda}\,\mathrm{TV} \to \mathrm{TV}_0` with :math:`\nu` the
    law of the zero state (weight 1, read as :math:`\arg\max\ell`) and the two-hot states (weights
    :math:`w_iw_j`, read as the larger).

    References
    ----------
    Hopfield, J. J. & Tank, D. W. (1985) "Neural computation of decisions in optimization problems", Biol.
    Cybern. 52, 141–152; Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5.

    Examples
    --------
    >>> from thermoref.decoding import onehot_law
    >>> law = onehot_law([1.0, 0.0, -1.0], 4.0)
    >>> print(round(law.onehot_mass, 4), law.conditional.round(4), round(law.tv, 4))
    0.9777 [0.6652 0.2447 0.09  ] 0.0058
    """
    ell = _row(logits, _MAX_LAW_UNITS)
    lam = _penalty(penalty)
    beta = check_beta(beta, scalar=True)
    readout = _readout(readout)
    _scaled(ell, beta, lam)
    W, b = onehot_network(ell, lam)
    p = exact_law(W, b, beta=beta, values=(0, 1)).p  # (S,)
    one = p[_onehot_rows(ell.shape[0])]  # (n,)
    mass = float(one.sum())
    target = softmax(beta * ell)
    decoded, _ = _decode(p, _readout_matrix(ell, readout))
    return OneHotLaw(p=p, onehot_mass=mass, conditional=one / mass, decoded=decoded,
                     tv=float(0.5 * np.abs(decoded - target).sum()), readout=readout)


def decode_onehot(states: ArrayLike, logits: ArrayLike, *, readout: str = "argmax") -> np.ndarray:
    r"""Read p-bit states of the one-hot embedding as categories.

    Parameters
    ----------
    states : array_like of shape (..., n)
        Bits in {0, 1}.
    logits : array_like of shape (n,)
        The row's finite logits (the ``"argmax"`` read-out breaks ambiguity with them).
    readout : {"reject", "argmax"}
        ``"reject"``: the active unit of a one-hot state, ``-1`` for any other state. ``"argmax"``: the
        active unit of largest logit (lowest index among ties); the zero state reads as :math:`\arg\max\ell`.

    Returns
    -------
    ndarray of int64, shape (...)
        Category indices in ``[0, n)``; ``-1`` marks a rejected state.

    Notes
    -----
    A one-hot state :math:`e_i` reads as :math:`i` under both read-outs, so both agree with
    :math:`\mathrm{softmax}(\beta\ell)` on the one-hot subspace; they differ only in what they do with the
    leaked mass (:func:`onehot_law`).

    References
    ----------
    Hopfield, J. J. & Tank, D. W. (1985) "Neural computation of decisions in optimization problems", Biol.
    Cybern. 52, 141–152 (winner-take-all read-out of a one-hot network).

    Examples
    --------
    >>> from thermoref.decoding import decode_onehot
    >>> s = [[0, 1, 0], [1, 1, 0], [0, 0, 0]]
    >>> print(decode_onehot(s, [0.0, 2.0, 1.0]), decode_onehot(s, [0.0, 2.0, 1.0], readout="reject"))
    [1 1 1] [ 1 -1 -1]
    """
    ell = _row(logits, 62)
    readout = _readout(readout)
    s = as_float_array(states, "states", min_ndim=1)
    if s.shape[-1] != ell.shape[0]:
        raise ValueError(f"states: last axis has {s.shape[-1]} units, logits has {ell.shape[0]} categories")
    if not np.isin(s, (0.0, 1.0)).all():
        raise ValueError("states: entries must be bits 0 or 1")
    on = s == 1.0  # (..., n)
    k = on.sum(axis=-1)
    if readout == "reject":
        return np.where(k == 1, np.argmax(on, axis=-1), -1).astype(np.int64)
    score = np.where(on | (k == 0)[..., None], ell, -np.inf)  # (..., n): the zero state competes over all units
    return np.argmax(score, axis=-1).astype(np.int64)


def onehot_transition_matrix(logits: ArrayLike, penalty: float, *, beta: float = 1.0,
                             schedule: str = "systematic") -> np.ndarray:
    r"""Exact one-sweep transition matrix of heat-bath Gibbs on the one-hot embedding (:math:`2^n` states).

    Parameters
    ----------
    logits : array_like of shape (n,)
        Finite logits (n <= 10).
    penalty : float
        :math:`\lambda \ge 0`.
    beta : float
        Inverse temperature, :math:`0 \le \beta < \infty`.
    schedule : {"systematic", "random"}
        ``"systematic"``: units 0..n-1 in order (the chromatic sweep of a fully connected network, as
        :func:`thermoref.pbit.gibbs_sample` runs it); ``"random"``: n updates of a uniformly chosen unit.

    Returns
    -------
    ndarray of shape ``(2**n, 2**n)``
        :math:`P[s, s']` = probability that one sweep takes state :math:`s` to :math:`s'`, states in
        :func:`thermoref.testing.enumerate_states` ``(n, (0, 1))`` order; rows sum to 1.

    Notes
    -----
    The update of unit :math:`i` is :math:`K_i[s, s'] = \sigma(\pm\beta I_i(s))` for :math:`s'` equal to
    :math:`s` off unit :math:`i`, :math:`I_i = \sum_j W_{ij}x_j + b_i`. A sweep is :math:`K_0K_1\cdots K_{n-1}`
    (systematic) or :math:`(\tfrac1n\sum_i K_i)^n` (random scan, reversible). Both leave :math:`p` invariant.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721–741.

    Examples
    --------
    >>> from thermoref.decoding import onehot_transition_matrix
    >>> P = onehot_transition_matrix([0.0, 1.0], 3.0)
    >>> P.shape, bool(abs(P.sum(axis=1) - 1).max() < 1e-12)
    ((4, 4), True)
    """
    ell = _row(logits, _MAX_CHAIN_UNITS)
    lam = _penalty(penalty)
    beta = check_beta(beta, scalar=True)
    if not isinstance(schedule, str) or schedule not in ("systematic", "random"):
        raise ValueError(f"schedule: expected 'systematic' or 'random', got {schedule!r}")
    _scaled(ell, beta, lam)
    return _sweep_matrix(ell, lam, beta, schedule)


def _sweep_matrix(ell: np.ndarray, lam: float, beta: float, schedule: str) -> np.ndarray:
    n = ell.shape[0]
    W, b = onehot_network(ell, lam)
    s = enumerate_states(n, (0, 1)).astype(np.float64)  # (S, n)
    S = s.shape[0]
    p_on = special.expit(beta * (s @ W + b))  # (S, n): unit i's heat-bath P(x_i = 1 | others)
    rows = np.arange(S)

    def apply(M: np.ndarray, i: int) -> np.ndarray:  # M @ K_i, without forming K_i
        bit = 2 ** (n - 1 - i)
        lo, hi = rows & ~bit, rows | bit  # (S,): each state's partner with unit i off / on
        mass = M[:, lo] + M[:, hi]  # (S, S): mass[:, s'] that sits on the pair {lo(s'), hi(s')} before the update
        return mass * np.where(s[:, i] == 1.0, p_on[:, i], 1.0 - p_on[:, i])

    if schedule == "systematic":
        P = np.eye(S)
        for i in range(n):  # loop over the n site kernels of one sweep; each is an (S, S) array operation
            P = apply(P, i)
        return P
    K = sum(apply(np.eye(S), i) for i in range(n)) / n
    return np.linalg.matrix_power(K, n)


@dataclass(frozen=True)
class OneHotMixing:
    r"""Mixing of the one-hot embedding's Gibbs chain at one penalty (:func:`onehot_mixing`).

    Attributes
    ----------
    penalty : float
        :math:`\lambda`.
    relaxation_time : float
        :math:`t_{\rm rel} = -1/\ln|\lambda_2|` sweeps, :math:`|\lambda_2|` the second-largest eigenvalue
        modulus of the sweep matrix.
    bias : float
        TV of the decoded stationary law from softmax (0 for ``"reject"``).
    onehot_mass : float
        Stationary :math:`P(\text{one-hot})`.
    tv : ndarray of shape (t + 1,)
        TV of the decoded law after 0..t sweeps from the one-hot start (t = ``sweeps`` or ``max_sweeps``).
    sweeps : float
        First number of sweeps whose decoded law is within ``eps`` of softmax (``inf`` if not reached).
    acceptance : float
        Probability that the read at ``sweeps`` (or at ``max_sweeps`` if not reached) is accepted (1 for
        ``"argmax"``).
    sweeps_per_sample : float
        ``sweeps / acceptance``: sweeps a fresh chain spends per accepted sample within ``eps``.

    Notes
    -----
    .. math:: t_{\rm rel} = -\frac{1}{\ln|\lambda_2|}, \qquad
              t_\varepsilon = \min\{t : \mathrm{TV}(\text{decoded}(\delta_{e_a}P^t), \mathrm{softmax}) \le
              \varepsilon\}.

    The price of an exact-enough sample on binary hardware, in sweeps: it grows like :math:`e^{\beta\lambda}`.

    References
    ----------
    Levin, D. A., Peres, Y. & Wilmer, E. L. (2009) *Markov Chains and Mixing Times*, AMS, ch. 12.

    Examples
    --------
    >>> from thermoref.decoding import onehot_mixing
    >>> m = onehot_mixing([0.0, 0.0], 0.0)  # independent fair p-bits: one sweep is an exact draw
    >>> print(m.sweeps, m.acceptance, m.sweeps_per_sample)
    1.0 0.5 2.0
    """

    penalty: float
    relaxation_time: float
    bias: float
    onehot_mass: float
    tv: np.ndarray
    sweeps: float
    acceptance: float
    sweeps_per_sample: float


def onehot_mixing(logits: ArrayLike, penalty: float, *, beta: float = 1.0, readout: str = "reject",
                  eps: float = 0.01, start: int | None = None, schedule: str = "systematic",
                  max_sweeps: int = 100_000) -> OneHotMixing:
    r"""Exact mixing of the one-hot embedding under Gibbs: relaxation time and sweeps to a target TV.

    Parameters
    ----------
    logits : array_like of shape (n,)
        Finite logits (n <= 10).
    penalty : float
        :math:`\lambda \ge 0`.
    beta : float
        Inverse temperature, :math:`0 \le \beta < \infty`.
    readout : {"reject", "argmax"}
        Read-out of the state (:func:`decode_onehot`).
    eps : float
        Target total variation of the decoded law from softmax, in (0, 1).
    start : int, optional
        Category whose one-hot state starts the chain; default the least likely one (far from equilibrium).
    schedule : {"systematic", "random"}
        Sweep of :func:`onehot_transition_matrix`.
    max_sweeps : int
        Longest chain followed, at least 1.

    Returns
    -------
    OneHotMixing
        Relaxation time, stationary bias, TV curve, sweeps needed and sweeps per accepted sample.

    Notes
    -----
    With :math:`P` the exact sweep matrix and :math:`q_t = \delta_{e_a}P^t`, the decoded law is
    :math:`q_tR/(q_tR\mathbf 1)` (:math:`R` the read-out matrix) and ``tv[t]`` its distance from
    :math:`\mathrm{softmax}(\beta\ell)`. A move between categories must pass a zero state (unit off:
    :math:`\sigma(-\beta(\ell_i+\lambda))`) or a two-hot state (second unit on: :math:`\sigma(\beta(\ell_j -
    \lambda))`), so :math:`1-|\lambda_2| = \Theta(e^{-\beta\lambda})` and :math:`t_{\rm rel}` grows like
    :math:`e^{\beta\lambda}`: the mixing wall. ``sweeps`` is a first passage (``inf`` when the stationary
    ``bias`` already exceeds ``eps``); :math:`|\lambda_2|` is refused once :math:`1 - |\lambda_2| <
    10^{-12}`, beyond what float64 eigenvalues resolve, and read as 0 (``relaxation_time = 0``) below the
    eigensolver's rounding :math:`2^n\epsilon` (at :math:`\lambda = 0` one systematic sweep is an exact draw).

    References
    ----------
    Levin, D. A., Peres, Y. & Wilmer, E. L. (2009) *Markov Chains and Mixing Times*, AMS, ch. 12.

    Examples
    --------
    >>> from thermoref.decoding import onehot_mixing
    >>> m = onehot_mixing([1.0, 0.0, -1.0], 2.0, eps=0.01)
    >>> print(round(m.relaxation_time, 2), m.sweeps, round(m.sweeps_per_sample, 2))
    1.34 7.0 8.19
    """
    ell = _row(logits, _MAX_CHAIN_UNITS)
    lam = _penalty(penalty)
    beta = check_beta(beta, scalar=True)
    readout = _readout(readout)
    eps = check_real(eps, "eps")
    if not 0 < eps < 1:
        raise ValueError(f"eps: must lie in (0, 1), got {eps!r}")
    n = ell.shape[0]
    a = int(np.argmin(ell)) if start is None else check_positive_int(start, "start", minimum=0)
    if a >= n:
        raise ValueError(f"start: category {a} out of range for {n} categories")
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")
    check_allocation(max_sweeps + 1, "max_sweeps")
    P = onehot_transition_matrix(ell, lam, beta=beta, schedule=schedule)  # (S, S)
    S = P.shape[0]
    check_work((max_sweeps + 1) * S * S, "max_sweeps")
    law = onehot_law(ell, lam, beta=beta, readout=readout)
    slem = np.sort(np.abs(np.linalg.eigvals(P)))[-2] if S > 1 else 0.0
    if 1.0 - slem < 1e-12:
        raise ValueError(f"penalty: beta * penalty = {beta * lam:.4g} puts the spectral gap below float64 "
                         "resolution (1 - |lambda_2| < 1e-12)")
    t_rel = -1.0 / np.log(slem) if slem > S * np.finfo(float).eps else 0.0  # below rounding: |lambda_2| = 0
    R, target = _readout_matrix(ell, readout), softmax(beta * ell)
    q = np.zeros(S)
    q[_onehot_rows(n)[a]] = 1.0
    tvs, acc, t_eps = [], [], np.inf
    block = 256
    for t0 in range(0, max_sweeps + 1, block):  # loop over time only: one (S,) x (S, S) product per sweep
        m = min(block, max_sweeps + 1 - t0)
        Q = np.empty((m, S))  # (m, S): q_t for t0 <= t < t0 + m
        for k in range(m):
            Q[k] = q
            q = q @ P
        d, mass = _decode(Q, R)
        tv = np.where(mass > 0, 0.5 * np.abs(d - target).sum(axis=-1), 1.0)
        tvs.append(tv)
        acc.append(mass)
        hit = np.flatnonzero(tv <= eps) if law.tv <= eps else np.empty(0, dtype=np.int64)
        if hit.size:
            t_eps = float(t0 + hit[0])
            break
    tv_all, acc_all = np.concatenate(tvs), np.concatenate(acc)
    if np.isfinite(t_eps):
        tv_all, accept = tv_all[:int(t_eps) + 1], float(acc_all[int(t_eps)])
    else:
        accept = float(acc_all[-1])  # not reached: the acceptance of the last read followed
    if readout == "argmax":
        accept = 1.0  # every state is read (q_t R sums to 1 up to rounding)
    per = t_eps / accept if np.isfinite(t_eps) else np.inf
    return OneHotMixing(penalty=lam, relaxation_time=float(t_rel), bias=law.tv, onehot_mass=law.onehot_mass,
                        tv=tv_all, sweeps=t_eps, acceptance=accept, sweeps_per_sample=float(per))


def _tree_logZ(x: np.ndarray) -> list[np.ndarray]:
    """Subtree log-partition functions: entry k has shape (..., 2**k), leaves padded with -inf to 2**d."""
    n = x.shape[-1]
    d = int(np.ceil(np.log2(n))) if n > 1 else 0
    pad = np.full(x.shape[:-1] + (2**d - n,), -np.inf)
    levels = [np.concatenate([x, pad], axis=-1)]  # (..., 2**d)
    while levels[-1].shape[-1] > 1:
        y = levels[-1].reshape(levels[-1].shape[:-1] + (levels[-1].shape[-1] // 2, 2))
        with np.errstate(over="ignore"):  # a difference of huge logs overflows inside: the result is the max
            levels.append(np.logaddexp(y[..., 0], y[..., 1]))  # (..., 2**k) from (..., 2**(k+1))
    return levels[::-1]


def _decision_logits(levels: list[np.ndarray], k: int) -> np.ndarray:
    """(..., 2**k): log(Z_right / Z_left) of every node at depth k (NaN where both children are empty)."""
    child = levels[k + 1].reshape(levels[k + 1].shape[:-1] + (2**k, 2))
    with np.errstate(invalid="ignore", over="ignore"):  # +-inf on overflow is the decision's exact limit
        return child[..., 1] - child[..., 0]


def tree_law(logits: ArrayLike, *, beta: float = 1.0) -> np.ndarray:
    r"""Exact law of :func:`sample_tree`: the product of its binary decisions' probabilities along each path.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits; ``-inf`` masks a category (not every one of a row).
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature, non-negative.

    Returns
    -------
    ndarray of shape (..., n)
        :math:`\prod_k \sigma(\pm L_k)` along the path to each leaf; equals :math:`\mathrm{softmax}(\beta\ell)`.

    Notes
    -----
    Pad the row to :math:`2^d` leaves, :math:`d = \lceil\log_2 n\rceil`, and give every node :math:`v` the
    partition function :math:`Z_v = \sum_{i\in v} e^{\beta\ell_i}`. The decision at :math:`v` is a p-bit with
    logit :math:`L_v = \ln(Z_{v,\rm right}/Z_{v,\rm left})`, so it goes right with probability
    :math:`Z_{\rm right}/Z_v`; the product telescopes to :math:`e^{\beta\ell_i}/Z`. Exact, with no penalty.

    References
    ----------
    Morin, F. & Bengio, Y. (2005) "Hierarchical probabilistic neural network language model", AISTATS.

    Examples
    --------
    >>> from thermoref.decoding import tree_law
    >>> print(tree_law([1.0, 0.0, -1.0]).round(4))
    [0.6652 0.2447 0.09  ]
    """
    x, _ = _scaled_logits(logits, beta)
    n = x.shape[-1]
    levels = _tree_logZ(x)
    logp = np.zeros(x.shape[:-1] + (1,))  # (..., 1): the root
    for k in range(len(levels) - 1):  # loop over depth, ceil(log2 n) levels
        L = _decision_logits(levels, k)  # (..., 2**k)
        right = np.where(np.isnan(L), -np.inf, special.log_expit(np.nan_to_num(L, nan=0.0)))
        left = np.where(np.isnan(L), -np.inf, special.log_expit(-np.nan_to_num(L, nan=0.0)))
        with np.errstate(over="ignore"):  # log-probabilities below -1.8e308 are probability 0 either way
            logp = np.stack([logp + left, logp + right], axis=-1).reshape(x.shape[:-1] + (2 ** (k + 1),))
    return np.exp(logp[..., :n])


def sample_tree(logits: ArrayLike, size: int | None = None, *, beta: float = 1.0,
                rng: np.random.Generator | int) -> np.ndarray:
    r"""Draw categories from :math:`\mathrm{softmax}(\beta\ell)` by :math:`\lceil\log_2 n\rceil` p-bit decisions.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits; ``-inf`` masks a category (not every one of a row).
    size : int, optional
        Draws per row; ``None`` for one draw without a trailing axis.
    beta : float or array_like broadcastable to logits.shape[:-1]
        Inverse temperature, non-negative.
    rng : numpy.random.Generator or int
        Source of randomness: one uniform per decision, ``rng.random`` of shape (..., size) per level.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] (size None) or logits.shape[:-1] + (size,)
        Category indices; a masked category is never returned.

    Notes
    -----
    Descend from the root: at node :math:`v` a p-bit with input :math:`L_v = \ln(Z_{\rm right}/Z_{\rm left})`
    (:func:`tree_law`) fires with :math:`\sigma(L_v)` and the path goes right if it fires. Each sample costs
    :math:`\lceil\log_2 n\rceil` independent p-bit updates and no relaxation; the subtree partition functions
    are computed once per row (:math:`O(n)`, as :func:`thermoref.sampling.hierarchical_law` computes block
    partition functions).

    References
    ----------
    Morin, F. & Bengio, Y. (2005) "Hierarchical probabilistic neural network language model", AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.decoding import sample_tree
    >>> x = sample_tree([0.0, 1.0, -np.inf], size=5, rng=0)
    >>> x.shape, bool((x != 2).all())
    ((5,), True)
    """
    x, _ = _scaled_logits(logits, beta)
    batch = x.shape[:-1]
    K = _check_size(size, batch)
    rng = as_rng(rng)
    levels = _tree_logZ(x)
    draws = 1 if K is None else K
    node = np.zeros(batch + (draws,), dtype=np.int64)  # (..., K): current node index at depth k
    for k in range(len(levels) - 1):  # ceil(log2 n) p-bit decisions per draw, all draws at once
        L = np.take_along_axis(_decision_logits(levels, k), node, axis=-1)  # (..., K), never NaN on a path
        fire = rng.random(node.shape) < special.expit(L)
        node = 2 * node + fire
    return node[..., 0] if K is None else node
