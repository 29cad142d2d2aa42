r"""Inverse-temperature schedules: over generation steps, and over the relaxation sweeps of one annealed draw.

:func:`beta_schedule` gives :math:`\beta` at each step (constant, linear, geometric, cosine; exact endpoints).
Inside one draw, an analog head that relaxes rather than samples exactly is modelled by a Metropolis chain on
the vocabulary whose inverse temperature follows a schedule per sweep: :func:`metropolis_kernel` is one
sweep's transition matrix, :func:`annealed_law` the chain's exact law after the schedule (matrix products, for
small vocabularies) and :func:`sample_annealed` the chain itself, run for many independent draws at once.

References: Metropolis, N. et al. (1953) "Equation of state calculations by fast computing machines",
J. Chem. Phys. 21, 1087-1092; Kirkpatrick, S., Gelatt, C. D. & Vecchi, M. P. (1983) "Optimization by
simulated annealing", Science 220, 671-680; Loshchilov, I. & Hutter, F. (2017) "SGDR: stochastic gradient
descent with warm restarts", ICLR (the cosine schedule).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_logits, as_rng, check_allocation, check_beta, check_positive_int, check_work

__all__ = ["SCHEDULES", "beta_schedule", "metropolis_kernel", "annealed_law", "sample_annealed"]

#: The schedule shapes :func:`beta_schedule` knows.
SCHEDULES = ("constant", "linear", "geometric", "cosine")


def beta_schedule(kind: str, n_steps: int, beta_start: float, beta_end: float) -> np.ndarray:
    r"""Inverse temperature at each of ``n_steps`` steps, from ``beta_start`` to ``beta_end`` exactly.

    Parameters
    ----------
    kind : {"constant", "linear", "geometric", "cosine"}
        The shape of the schedule.
    n_steps : int
        Number of steps :math:`n \ge 1`.
    beta_start : float
        :math:`\beta_0 \ge 0` at step 0 (``> 0`` for ``"geometric"``; equal to ``beta_end`` for ``"constant"``).
    beta_end : float
        :math:`\beta_1 \ge 0` at step :math:`n - 1` (``> 0`` for ``"geometric"``).

    Returns
    -------
    ndarray of shape (n_steps,)
        :math:`\beta(s)`, with ``out[0] == beta_start`` and ``out[-1] == beta_end`` exactly (for
        ``n_steps = 1`` the single value is ``beta_end``, the target).

    Notes
    -----
    With :math:`t = s/(n-1)`:

    .. math:: \text{linear: } (1-t)\beta_0 + t\beta_1, \qquad \text{geometric: } \beta_0^{1-t}\beta_1^{t},
              \qquad \text{cosine: } \beta_1 + (\beta_0 - \beta_1)\frac{1 + \cos\pi t}{2}.

    The geometric schedule is linear in :math:`\ln\beta` (equal ratios of temperatures per step, the classic
    annealing schedule); the cosine one is flat at both ends.

    References
    ----------
    Kirkpatrick, S., Gelatt, C. D. & Vecchi, M. P. (1983) "Optimization by simulated annealing", Science 220,
    671-680; Loshchilov, I. & Hutter, F. (2017) "SGDR: stochastic gradient descent with warm restarts", ICLR.

    Examples
    --------
    >>> print(beta_schedule("geometric", 3, 0.25, 4.0))
    [0.25 1.   4.  ]
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind: expected a string, got {type(kind).__name__}")
    if kind not in SCHEDULES:
        raise ValueError(f"kind: expected one of {SCHEDULES}, got {kind!r}")
    n = check_positive_int(n_steps, "n_steps")
    check_allocation(n, "n_steps")
    b0 = check_beta(beta_start, "beta_start", scalar=True)
    b1 = check_beta(beta_end, "beta_end", scalar=True)
    if kind == "constant" and b0 != b1:
        raise ValueError(f"beta_end: a constant schedule needs beta_end == beta_start, got {b1!r} != {b0!r}")
    if kind == "geometric":
        if b0 == 0:
            raise ValueError("beta_start: a geometric schedule needs beta_start > 0")
        if b1 == 0:
            raise ValueError("beta_end: a geometric schedule needs beta_end > 0")
    t = np.arange(n) / max(n - 1, 1)  # (n,)
    with np.errstate(over="ignore"):
        if kind == "constant":
            out = np.full(n, b1)
        elif kind == "linear":
            out = (1 - t) * b0 + t * b1
        elif kind == "geometric":
            out = np.exp((1 - t) * np.log(b0) + t * np.log(b1))
        else:
            out = b1 + (b0 - b1) * (1 + np.cos(np.pi * t)) / 2
    out[0], out[-1] = b0, b1  # exact endpoints (n = 1: the target)
    return out


def _check_betas(betas: ArrayLike, name: str = "betas") -> np.ndarray:
    b = check_beta(betas, name)
    if b.ndim > 1:
        raise ValueError(f"{name}: expected a 1-d array of inverse temperatures, got shape {b.shape}")
    return b.reshape(-1)


def _check_start(start: object, batch: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """Start tokens broadcast to ``batch``, integers in [0, V), unmasked."""
    s = np.asarray(start)
    if s.dtype == bool or not np.issubdtype(s.dtype, np.integer):
        raise TypeError(f"start: expected integer token ids, got {s.dtype}")
    try:
        s = np.broadcast_to(s, batch)
    except ValueError:
        raise ValueError(f"start: shape {s.shape} does not broadcast to the logits' rows {batch}") from None
    V = x.shape[-1]
    if s.size and (s.min() < 0 or s.max() >= V):
        raise ValueError(f"start: token ids must lie in [0, {V})")
    if np.isneginf(np.take_along_axis(x, s[..., None].astype(np.int64), axis=-1)).any():
        raise ValueError("start: a chain may not start on a masked token")
    return s.astype(np.int64)


def _kernel(x: np.ndarray, beta: float) -> np.ndarray:
    """Metropolis matrices (..., V, V) for validated log-weights ``x`` (..., V)."""
    V = x.shape[-1]
    xi, xj = x[..., :, None], x[..., None, :]  # (..., V, 1), (..., 1, V)
    with np.errstate(over="ignore", invalid="ignore"):
        acc = np.exp(np.minimum(0.0, beta * (xj - xi)))  # (..., V, V)
    acc = np.where(np.isneginf(xj), 0.0, acc) / V  # never onto a masked token
    eye = np.eye(V, dtype=bool)
    acc = np.where(eye, 0.0, acc)
    P = acc + np.where(eye, 1.0 - acc.sum(axis=-1, keepdims=True), 0.0)
    return np.where(np.isneginf(xi), eye.astype(float), P)  # a masked token is absorbing (never reached)


def metropolis_kernel(logits: ArrayLike, beta: float = 1.0) -> np.ndarray:
    r"""Transition matrix of one Metropolis sweep over the tokens at inverse temperature :math:`\beta`.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell`; ``-inf`` masks a token.
    beta : float
        Inverse temperature of this sweep, finite and >= 0.

    Returns
    -------
    ndarray of shape (..., V, V)
        :math:`P_{ij}` = probability that a chain at token :math:`i` is at :math:`j` after the sweep; rows sum
        to 1.

    Notes
    -----
    A sweep proposes a token :math:`j` uniformly among all :math:`V` and accepts with probability
    :math:`\min(1, e^{\beta(\ell_j - \ell_i)})`:

    .. math:: P_{ij} = \frac1V\min\!\left(1, e^{\beta(\ell_j-\ell_i)}\right)\ (j \ne i), \qquad
              P_{ii} = 1 - \sum_{j\ne i} P_{ij}.

    Detailed balance :math:`p_iP_{ij} = p_jP_{ji}` holds for :math:`p = \mathrm{softmax}(\beta\ell)`, which is
    therefore stationary. A masked token is never proposed successfully (and, if it were a start, absorbing).

    References
    ----------
    Metropolis, N. et al. (1953) "Equation of state calculations by fast computing machines", J. Chem. Phys.
    21, 1087-1092.

    Examples
    --------
    >>> import numpy as np
    >>> print(np.round(metropolis_kernel([0.0, np.log(2.0)]), 6))
    [[0.5  0.5 ]
     [0.25 0.75]]
    """
    x = as_logits(logits)
    b = check_beta(beta, scalar=True)
    V = x.shape[-1]
    check_allocation(x.shape + (V,), "logits")
    return _kernel(x, b)


def annealed_law(logits: ArrayLike, betas: ArrayLike, *, start: ArrayLike) -> np.ndarray:
    r"""Exact law of the annealed Metropolis chain after its schedule: :math:`\delta_{\rm start}P_{\beta_1}\cdots P_{\beta_S}`.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell`; ``-inf`` masks a token.
    betas : array_like of shape (S,)
        Inverse temperature of each sweep, finite and >= 0 (``S = 0``: the chain stays at ``start``).
    start : int or array_like of int broadcastable to logits.shape[:-1]
        Token each chain starts at (unmasked).

    Returns
    -------
    ndarray of shape (..., V)
        The law of the token after the :math:`S` sweeps.

    Notes
    -----
    .. math:: \pi_S = \delta_{\rm start}\,\prod_{t=1}^{S} P_{\beta_t},

    with :math:`P_\beta` = :func:`metropolis_kernel`. Sweeps held at the target :math:`\beta` after a ramp
    converge to :math:`\mathrm{softmax}(\beta\ell)` geometrically, at the rate of :math:`P_\beta`'s second
    largest eigenvalue modulus. Cost :math:`O(SV^2)` per row: for small vocabularies.

    References
    ----------
    Kirkpatrick, S., Gelatt, C. D. & Vecchi, M. P. (1983) "Optimization by simulated annealing", Science 220,
    671-680.

    Examples
    --------
    >>> import numpy as np
    >>> print(np.round(annealed_law([0.0, np.log(2.0)], [1.0, 1.0], start=0), 6))
    [0.375 0.625]
    """
    x = as_logits(logits)
    b = _check_betas(betas)
    start = _check_start(start, x.shape[:-1], x)
    V = x.shape[-1]
    check_allocation(x.shape + (V,), "logits")
    check_work(max(b.size, 1) * max(x.size, 1) * V, "betas")
    pi = (np.arange(V) == start[..., None]).astype(float)  # (..., V)
    for beta in b:  # sweeps are sequential
        pi = np.einsum("...i,...ij->...j", pi, _kernel(x, float(beta)))  # (..., V)
    return pi


def sample_annealed(
    logits: ArrayLike,
    betas: ArrayLike,
    size: int | None = None,
    *,
    start: ArrayLike,
    rng: np.random.Generator | int,
) -> np.ndarray:
    r"""Run independent annealed Metropolis chains over the tokens and return where each ends.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell`; ``-inf`` masks a token.
    betas : array_like of shape (S,)
        Inverse temperature of each sweep, finite and >= 0.
    size : int, optional
        Independent chains per row; ``None`` for one without a trailing axis.
    start : int or array_like of int broadcastable to logits.shape[:-1]
        Token every chain of a row starts at (unmasked).
    rng : numpy.random.Generator or int
        Source of randomness.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] (size None) or logits.shape[:-1] + (size,)
        The token of each chain after the :math:`S` sweeps, distributed as :func:`annealed_law`.

    Notes
    -----
    Per sweep and chain: a proposal :math:`j` uniform on :math:`\{0..V-1\}` and a uniform :math:`u`; the chain
    moves if :math:`u < \min(1, e^{\beta_t(\ell_j - \ell_i)})` (the kernel of :func:`metropolis_kernel`). All
    chains advance together (vectorized); only the sweeps are sequential.

    References
    ----------
    Metropolis, N. et al. (1953) "Equation of state calculations by fast computing machines", J. Chem. Phys.
    21, 1087-1092.

    Examples
    --------
    >>> import numpy as np
    >>> x = sample_annealed([0.0, 1.0, 2.0], [0.5, 1.0, 1.0], 5, start=0, rng=0)
    >>> x.shape, bool(((x >= 0) & (x < 3)).all())
    ((5,), True)
    """
    x = as_logits(logits)
    b = _check_betas(betas)
    start = _check_start(start, x.shape[:-1], x)
    K = 1 if size is None else check_positive_int(size, "size")
    rng = as_rng(rng)
    batch, V = x.shape[:-1], x.shape[-1]
    check_allocation(batch + (K,), "size")
    check_work(max(b.size, 1) * max(int(np.prod(batch)), 1) * K, "betas")
    state = np.repeat(start[..., None], K, axis=-1)  # (..., K)
    xk = np.broadcast_to(x[..., None, :], batch + (K, V))  # (..., K, V), a view
    for beta in b:  # sweeps are sequential
        j = rng.integers(0, V, size=state.shape)  # (..., K) proposals
        u = rng.random(state.shape)  # (..., K)
        xi = np.take_along_axis(xk, state[..., None], axis=-1)[..., 0]  # (..., K)
        xj = np.take_along_axis(xk, j[..., None], axis=-1)[..., 0]  # (..., K)
        with np.errstate(over="ignore", invalid="ignore"):
            a = np.where(np.isneginf(xj), 0.0, np.exp(np.minimum(0.0, float(beta) * (xj - xi))))
        state = np.where(u < a, j, state)
    return state[..., 0] if size is None else state
