r"""Ising models on any graph: energies, exact laws, chromatic block Gibbs, Metropolis, tempering, annealing.

A model is :math:`E(s) = -\sum_{i<j} J_{ij} s_i s_j - \sum_i h_i s_i = -\tfrac12 s^\top J s - h^\top s` with
:math:`s \in \{-1, +1\}^n` and a symmetric, zero-diagonal coupling matrix (dense or ``scipy.sparse``).
Every sampler runs many independent chains at once: spins have shape (..., n), leading axes are chains.

* :func:`block_gibbs`: chromatic (colour-by-colour) heat bath. Units of one colour share no coupling, so
  they are conditionally independent and are all resampled at once; :func:`greedy_colouring` provides the
  colours.
* :func:`metropolis`: single-site Metropolis, sequential scan.
* :func:`parallel_tempering`: replicas on a ladder of inverse temperatures (:func:`temperature_ladder`
  contains the requested :math:`\beta` exactly) exchanging configurations with the Metropolis swap rule.
* :func:`simulated_annealing` and the Max-Cut helpers, with the exact optimum by enumeration.
* :func:`exact_law` and :func:`exact_moments`: enumeration of all :math:`2^n` states (:math:`n \le 20`).

References: Geman, S. & Geman, D. (1984) IEEE PAMI 6, 721 (Gibbs sampling, colouring); Jones, M. T. &
Plassmann, P. E. (1993) SIAM J. Sci. Comput. 14, 654 (parallel greedy colouring); Swendsen, R. H. & Wang,
J.-S. (1986) PRL 57, 2607 and Hukushima, K. & Nemoto, K. (1996) J. Phys. Soc. Jpn. 65, 1604 (replica
exchange); Kirkpatrick, S., Gelatt, C. D. & Vecchi, M. P. (1983) Science 220, 671 (annealing);
Lucas, A. (2014) Front. Phys. 2, 5 (Max-Cut as an Ising problem).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.special import expit

from ._validation import as_float_array, as_rng, check_positive_int, check_symmetric_couplings
from .gibbs import boltzmann, log_partition_function
from .testing import enumerate_states

__all__ = [
    "AnnealResult",
    "ExactIsing",
    "IsingModel",
    "PTResult",
    "block_gibbs",
    "check_colouring",
    "cut_value",
    "exact_law",
    "exact_moments",
    "greedy_colouring",
    "ising_energy",
    "maxcut_exact",
    "maxcut_model",
    "metropolis",
    "parallel_tempering",
    "simulated_annealing",
    "temperature_ladder",
]


def _check_couplings(J: object) -> np.ndarray | sparse.csr_array:
    if sparse.issparse(J):
        Js = sparse.csr_array(J, dtype=np.float64)
        if Js.ndim != 2 or Js.shape[0] != Js.shape[1]:
            raise ValueError(f"J: expected a square matrix, got shape {Js.shape}")
        as_float_array(Js.data, "J")  # NaN / inf
        if (abs(Js - Js.T)).count_nonzero():
            raise ValueError("J: couplings must be symmetric")
        if np.any(Js.diagonal() != 0):
            raise ValueError("J: the diagonal must be zero (no self-coupling)")
        Js.eliminate_zeros()
        return Js
    return check_symmetric_couplings(J, "J")


@dataclass(frozen=True, eq=False)
class IsingModel:
    r"""An Ising model :math:`E(s) = -\tfrac12 s^\top J s - h^\top s` on :math:`n` spins.

    Parameters
    ----------
    J : array_like or scipy.sparse matrix of shape (n, n)
        Symmetric couplings with a zero diagonal (validated; sparse input is stored as CSR).
    h : array_like of shape (n,), optional
        Fields; zeros by default.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import IsingModel
    >>> model = IsingModel(np.array([[0.0, 1.0], [1.0, 0.0]]), h=[0.5, 0.0])
    >>> print(model.energy(np.array([[1, 1], [1, -1]])))
    [-1.5  0.5]
    """

    J: np.ndarray | sparse.csr_array
    h: np.ndarray | None = None

    def __post_init__(self) -> None:
        J = _check_couplings(self.J)
        n = J.shape[0]
        h = np.zeros(n) if self.h is None else as_float_array(self.h, "h", ndim=1)
        if h.shape != (n,):
            raise ValueError(f"h: expected shape ({n},) to match J, got {h.shape}")
        object.__setattr__(self, "J", J)
        object.__setattr__(self, "h", h)

    @property
    def n(self) -> int:
        """Number of spins."""
        return self.J.shape[0]

    @property
    def is_sparse(self) -> bool:
        return sparse.issparse(self.J)

    def local_fields(self, spins: ArrayLike) -> np.ndarray:
        r"""Local fields :math:`\phi_i = \sum_j J_{ij}s_j + h_i`, shape (..., n)."""
        s = _check_spins(spins, self.n)
        return self._fields(s.astype(np.float64))

    def _fields(self, s: np.ndarray) -> np.ndarray:
        flat = s.reshape(-1, self.n)  # (K, n)
        f = (self.J @ flat.T).T if self.is_sparse else flat @ self.J  # (K, n)
        return f.reshape(s.shape) + self.h

    def energy(self, spins: ArrayLike) -> np.ndarray:
        """Energy of each configuration, shape (...); see :func:`ising_energy`."""
        s = _check_spins(spins, self.n).astype(np.float64)
        return self._energy(s)

    def _energy(self, s: np.ndarray) -> np.ndarray:
        return -0.5 * np.sum(s * (self._fields(s) + self.h), axis=-1)


def _check_spins(spins: ArrayLike, n: int | None = None, name: str = "spins") -> np.ndarray:
    if isinstance(spins, (str, bytes)) or spins is None:
        raise TypeError(f"{name}: expected an array of spins, got {type(spins).__name__}")
    s = np.asarray(spins)
    if not (np.issubdtype(s.dtype, np.integer) or np.issubdtype(s.dtype, np.floating)):
        raise TypeError(f"{name}: expected an array of -1/+1, got dtype {s.dtype}")
    if s.ndim < 1 or (n is not None and s.shape[-1] != n):
        raise ValueError(f"{name}: expected shape (..., {n}), got {s.shape}")
    if not np.isin(s, (-1, 1)).all():
        raise ValueError(f"{name}: entries must be -1 or +1")
    return s.astype(np.int8)


def _check_model(model: object) -> IsingModel:
    if not isinstance(model, IsingModel):
        raise TypeError(f"model: expected an IsingModel, got {type(model).__name__}")
    return model


def _check_beta(beta: ArrayLike, batch_shape: tuple[int, ...]) -> np.ndarray:
    b = as_float_array(beta, "beta")
    if (b < 0).any():
        raise ValueError("beta: inverse temperature must be non-negative")
    if not np.isfinite(b).all():
        raise ValueError("beta: must be finite")
    try:
        return np.broadcast_to(b, batch_shape)[..., None]  # (..., 1)
    except ValueError as exc:
        raise ValueError(f"beta: shape {b.shape} does not broadcast to the chains' shape {batch_shape}") from exc


def ising_energy(spins: ArrayLike, J: ArrayLike, h: ArrayLike | None = None) -> np.ndarray:
    r"""Energy :math:`E(s) = -\sum_{i<j}J_{ij}s_is_j - \sum_i h_i s_i` of each configuration.

    ``spins`` (..., n) in {-1, +1}; ``J`` (n, n) dense or sparse, symmetric, zero diagonal; ``h`` (n,)
    optional. Returns ``E`` of shape (...).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import ising_energy
    >>> print(ising_energy([1, -1, 1], -np.ones((3, 3)) + np.eye(3)))
    -1.0
    """
    return IsingModel(J, h).energy(spins)


# ------------------------------------------------------------------------------------------------ colouring
def _adjacency(J: np.ndarray | sparse.csr_array) -> sparse.csr_array:
    return sparse.csr_array(J != 0).astype(np.float64)


def greedy_colouring(J: ArrayLike) -> np.ndarray:
    r"""A proper colouring of the coupling graph: greedy, largest degree first, in parallel rounds.

    Parameters
    ----------
    J : array_like or scipy.sparse matrix of shape (n, n)
        Couplings; an edge wherever :math:`J_{ij} \ne 0`.

    Returns
    -------
    colours : ndarray of shape (n,), int
        Colour of each unit, ``0 .. n_colours - 1``; coupled units never share a colour.

    Notes
    -----
    Sequential greedy colouring in the priority order (degree, then a fixed hash of the index) gives each
    unit the smallest colour unused by its already-coloured neighbours. The Jones–Plassmann rounds compute
    exactly that colouring in parallel: every uncoloured unit whose priority beats all its uncoloured
    neighbours takes the smallest free colour at once (those units form an independent set). At most
    :math:`\Delta + 1` colours for maximum degree :math:`\Delta`; the loop runs over rounds, not units.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import greedy_colouring
    >>> ring = np.roll(np.eye(6), 1, axis=1); ring = ring + ring.T
    >>> print(greedy_colouring(ring))
    [1 0 1 0 1 0]
    """
    A = _adjacency(_check_couplings(J))
    n = A.shape[0]
    degree = np.diff(A.indptr)  # (n,)
    tiebreak = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    priority = degree.astype(np.float64) * 2.0**32 + tiebreak.astype(np.float64) + 1.0  # distinct, > 0
    colours = np.full(n, -1)
    n_max = int(degree.max(initial=0)) + 1
    rows = np.repeat(np.arange(n), degree)  # (nnz,)
    while (colours < 0).any():
        waiting = colours < 0
        p_wait = np.where(waiting, priority, 0.0)
        best_nb = np.zeros(n)
        np.maximum.at(best_nb, rows, p_wait[A.indices])
        ready = waiting & (p_wait > best_nb)  # (n,) an independent set
        onehot = np.zeros((n, n_max))
        coloured = ~waiting
        onehot[np.flatnonzero(coloured), colours[coloured]] = 1.0
        used = (A @ onehot)[ready] > 0  # (n_ready, n_max)
        colours[ready] = np.argmin(used, axis=1)
    return colours


def check_colouring(J: ArrayLike, colours: ArrayLike) -> np.ndarray:
    """Return ``colours`` as an int array after checking that no coupled pair shares a colour."""
    A = sparse.coo_array(_adjacency(_check_couplings(J)))
    c = np.asarray(colours)
    if c.shape != (A.shape[0],) or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"colours: expected integer shape ({A.shape[0]},), got {c.dtype} {c.shape}")
    clash = c[A.row] == c[A.col]
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise ValueError(f"colours: units {A.row[i]} and {A.col[i]} are coupled and share colour {c[A.row[i]]}")
    return c


# ------------------------------------------------------------------------------------------------ samplers
def _colour_blocks(model: IsingModel, colours: np.ndarray) -> tuple[np.ndarray, IsingModel, list]:
    """Units reordered so that each colour is a contiguous block: (perm, permuted model, blocks).

    Each block is (slice of its units, couplings to them): dense columns (n, n_c) or CSR rows (n_c, n).
    Sampling the permuted model on ``s[..., perm]`` is sampling the model on ``s``.
    """
    perm = np.argsort(colours, kind="stable")  # (n,)
    Jp = model.J[perm][:, perm]
    pmodel = IsingModel(Jp, model.h[perm])
    bounds = np.concatenate([[0], np.cumsum(np.bincount(colours))])
    blocks = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b > a:
            blocks.append((slice(int(a), int(b)), pmodel.J[a:b] if pmodel.is_sparse else np.ascontiguousarray(pmodel.J[:, a:b])))
    return perm, pmodel, blocks


def _heat_bath(s: np.ndarray, blocks, h: np.ndarray, beta: np.ndarray, rng: np.random.Generator) -> None:
    """One chromatic sweep in place on float64 spins s of shape (K, n); beta of shape (K, 1)."""
    for idx, Jc in blocks:
        field = (Jc @ s.T).T if sparse.issparse(Jc) else s @ Jc  # (K, n_c)
        p_up = expit(2.0 * beta * (field + h[idx]))  # (K, n_c)
        s[:, idx] = np.where(rng.random(p_up.shape) < p_up, 1.0, -1.0)


def block_gibbs(model: IsingModel, spins: ArrayLike, beta: ArrayLike, n_sweeps: int, *, rng,
                colours: ArrayLike | None = None) -> np.ndarray:
    r"""Chromatic block Gibbs (heat-bath) sweeps of many independent chains.

    Parameters
    ----------
    model : IsingModel
    spins : array_like of shape (..., n)
        Initial spins in {-1, +1}; leading axes are independent chains.
    beta : float or array_like broadcastable to spins.shape[:-1]
        Inverse temperature, one per chain if an array (finite, >= 0).
    n_sweeps : int
        Sweeps; each resamples every colour class once, in colour order.
    rng : numpy.random.Generator or int
    colours : array_like of shape (n,), optional
        A proper colouring (checked); :func:`greedy_colouring` by default.

    Returns
    -------
    spins : ndarray of shape (..., n), int8

    Notes
    -----
    Given the other units, unit :math:`i` is up with probability :math:`\sigma(2\beta\phi_i)`,
    :math:`\phi_i = \sum_j J_{ij}s_j + h_i`. Units of one colour are not coupled, so their conditionals do
    not involve each other and one vectorized draw updates them all exactly as a sequential scan would.
    """
    model = _check_model(model)
    s0 = _check_spins(spins, model.n)
    b = _check_beta(beta, s0.shape[:-1])
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    rng = as_rng(rng)
    colours = greedy_colouring(model.J) if colours is None else check_colouring(model.J, colours)
    perm, pmodel, blocks = _colour_blocks(model, colours)
    s = s0.reshape(-1, model.n)[:, perm].astype(np.float64)  # (K, n), colours contiguous
    b = b.reshape(-1, 1)  # (K, 1)
    for _ in range(n_sweeps):
        _heat_bath(s, blocks, pmodel.h, b, rng)
    out = np.empty(s.shape, dtype=np.int8)
    out[:, perm] = s
    return out.reshape(s0.shape)


def metropolis(model: IsingModel, spins: ArrayLike, beta: ArrayLike, n_sweeps: int, *, rng) -> np.ndarray:
    r"""Single-site Metropolis sweeps (sequential scan) of many independent chains.

    Same arguments and return value as :func:`block_gibbs` (without ``colours``).

    Notes
    -----
    Flipping unit :math:`i` changes the energy by :math:`\Delta E = 2 s_i \phi_i`; the flip is accepted with
    probability :math:`\min(1, e^{-\beta\Delta E})`. Each flip is one step of the chain, so the inner loop
    runs over the :math:`n` steps of a sweep (vectorized across chains), reading only the neighbours of
    unit :math:`i` from the CSR form of :math:`J`.
    """
    model = _check_model(model)
    s0 = _check_spins(spins, model.n)
    b = _check_beta(beta, s0.shape[:-1]).reshape(-1)  # (K,)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    rng = as_rng(rng)
    Jc = sparse.csr_array(model.J)
    s = s0.reshape(-1, model.n).astype(np.float64)  # (K, n)
    for _ in range(n_sweeps):
        log_u = np.log1p(-rng.random(s.shape))  # (K, n), log of a uniform on (0, 1]
        for i in range(model.n):
            lo, hi = Jc.indptr[i], Jc.indptr[i + 1]
            phi = s[:, Jc.indices[lo:hi]] @ Jc.data[lo:hi] + model.h[i]  # (K,)
            accept = log_u[:, i] < -b * 2.0 * s[:, i] * phi
            s[:, i] = np.where(accept, -s[:, i], s[:, i])
    return s.reshape(s0.shape).astype(np.int8)


def temperature_ladder(beta: float, n_replicas: int, beta_min: float) -> np.ndarray:
    r"""Geometric ladder of ``n_replicas`` inverse temperatures from ``beta_min`` up to exactly ``beta``.

    Returns
    -------
    betas : ndarray of shape (n_replicas,)
        Increasing; ``betas[-1] == beta`` bit for bit, ``betas[0] == beta_min``.
    """
    beta = float(as_float_array(beta, "beta"))
    beta_min = float(as_float_array(beta_min, "beta_min"))
    n_replicas = check_positive_int(n_replicas, "n_replicas", minimum=2)
    if not 0 < beta_min < beta:
        raise ValueError(f"beta_min: must satisfy 0 < beta_min < beta, got {beta_min!r} and beta={beta!r}")
    betas = beta_min * (beta / beta_min) ** (np.arange(n_replicas) / (n_replicas - 1))
    betas[0], betas[-1] = beta_min, beta
    return betas


@dataclass(frozen=True)
class PTResult:
    """Outcome of :func:`parallel_tempering`.

    ``spins`` (R, ..., n): final configuration at each ``betas[r]``; ``betas`` (R,); ``energies`` and
    ``magnetizations`` (per spin) (n_rounds, R, ...): at each inverse temperature after each round;
    ``swap_acceptance`` (R - 1,): fraction of accepted swaps between rungs r and r + 1.
    """

    spins: np.ndarray
    betas: np.ndarray
    energies: np.ndarray
    magnetizations: np.ndarray
    swap_acceptance: np.ndarray


def parallel_tempering(model: IsingModel, spins: ArrayLike, betas: ArrayLike, n_rounds: int, *, rng,
                       sweeps_per_round: int = 1, colours: ArrayLike | None = None) -> PTResult:
    r"""Parallel tempering (replica exchange) with block Gibbs moves.

    Parameters
    ----------
    model : IsingModel
    spins : array_like of shape (R, ..., n)
        Initial configuration of each replica; axis 0 follows ``betas``, further leading axes are
        independent tempering runs.
    betas : array_like of shape (R,)
        Strictly increasing inverse temperatures (e.g. :func:`temperature_ladder`).
    n_rounds : int
        Rounds of (``sweeps_per_round`` block Gibbs sweeps at every temperature, then one swap sweep).
    rng : numpy.random.Generator or int
    sweeps_per_round : int
    colours : array_like of shape (n,), optional

    Returns
    -------
    PTResult

    Notes
    -----
    Round :math:`t` proposes to swap the configurations at :math:`\beta_r` and :math:`\beta_{r+1}` for every
    :math:`r \equiv t \pmod 2` and accepts with probability :math:`\min\{1, e^{(\beta_{r+1}-\beta_r)
    (E_{r+1}-E_r)}\}`, which keeps the product law :math:`\prod_r e^{-\beta_r E(s_r)}/Z(\beta_r)` invariant;
    the chain at each :math:`\beta_r` therefore samples its own Gibbs law.
    """
    model = _check_model(model)
    betas = as_float_array(betas, "betas", ndim=1)
    if betas.size < 2 or (betas <= 0).any() or not np.isfinite(betas).all() or (np.diff(betas) <= 0).any():
        raise ValueError("betas: expected at least two finite, positive, strictly increasing inverse temperatures")
    s0 = _check_spins(spins, model.n)
    R = betas.size
    if s0.ndim < 2 or s0.shape[0] != R:
        raise ValueError(f"spins: expected shape ({R}, ..., {model.n}) to match betas, got {s0.shape}")
    n_rounds = check_positive_int(n_rounds, "n_rounds")
    sweeps_per_round = check_positive_int(sweeps_per_round, "sweeps_per_round")
    rng = as_rng(rng)
    colours = greedy_colouring(model.J) if colours is None else check_colouring(model.J, colours)
    perm, pmodel, blocks = _colour_blocks(model, colours)
    s = s0.reshape(R, -1, model.n)[..., perm].astype(np.float64)  # (R, K, n), colours contiguous
    K = s.shape[1]
    b_col = np.repeat(betas, K)[:, None]  # (R*K, 1)
    energies = np.empty((n_rounds, R, K))
    mags = np.empty((n_rounds, R, K))
    accepted = np.zeros(R - 1)
    proposed = np.zeros(R - 1)
    for t in range(n_rounds):
        flat = s.reshape(R * K, model.n)  # (R*K, n), a view
        for _ in range(sweeps_per_round):
            _heat_bath(flat, blocks, pmodel.h, b_col, rng)
        E = pmodel._energy(s)  # (R, K)
        lo = np.arange(t % 2, R - 1, 2)  # (P,)
        hi = lo + 1
        log_ratio = (betas[hi] - betas[lo])[:, None] * (E[hi] - E[lo])  # (P, K)
        acc = np.log1p(-rng.random(log_ratio.shape)) < log_ratio  # (P, K); log of a uniform on (0, 1]
        s_lo, s_hi = s[lo], s[hi]  # (P, K, n) copies
        s[lo] = np.where(acc[..., None], s_hi, s_lo)
        s[hi] = np.where(acc[..., None], s_lo, s_hi)
        E_lo, E_hi = E[lo], E[hi]
        E[lo], E[hi] = np.where(acc, E_hi, E_lo), np.where(acc, E_lo, E_hi)
        accepted[lo] += acc.sum(axis=1)
        proposed[lo] += K
        energies[t], mags[t] = E, s.mean(axis=-1)
    batch = s0.shape[1:-1]
    out = np.empty(s.shape, dtype=np.int8)
    out[..., perm] = s
    return PTResult(
        spins=out.reshape(s0.shape),
        betas=betas,
        energies=energies.reshape((n_rounds, R) + batch),
        magnetizations=mags.reshape((n_rounds, R) + batch),
        swap_acceptance=np.divide(accepted, proposed, out=np.zeros(R - 1), where=proposed > 0),
    )


@dataclass(frozen=True)
class AnnealResult:
    """Outcome of :func:`simulated_annealing`: final and best-seen configurations and their energies.

    ``spins``, ``best_spins``: shape (..., n), int8; ``energies``, ``best_energies``: shape (...);
    ``trace``: energy after every sweep, shape (n_sweeps, ...).
    """

    spins: np.ndarray
    energies: np.ndarray
    best_spins: np.ndarray
    best_energies: np.ndarray
    trace: np.ndarray


def simulated_annealing(model: IsingModel, spins: ArrayLike, betas: ArrayLike, *, rng,
                        colours: ArrayLike | None = None) -> AnnealResult:
    r"""Simulated annealing: one block Gibbs sweep at each inverse temperature of the schedule ``betas``.

    ``spins`` (..., n) are the initial configurations of independent runs; ``betas`` (n_sweeps,) the
    schedule (non-negative, usually increasing, e.g. ``np.geomspace(0.1, 5, 200)``). Returns an
    :class:`AnnealResult`.
    """
    model = _check_model(model)
    s0 = _check_spins(spins, model.n)
    betas = as_float_array(betas, "betas", ndim=1)
    if betas.size < 1 or (betas < 0).any():
        raise ValueError("betas: expected a non-empty schedule of non-negative inverse temperatures")
    rng = as_rng(rng)
    colours = greedy_colouring(model.J) if colours is None else check_colouring(model.J, colours)
    perm, pmodel, blocks = _colour_blocks(model, colours)
    s = s0.reshape(-1, model.n)[:, perm].astype(np.float64)  # (K, n), colours contiguous
    best = s.copy()
    best_E = pmodel._energy(s)  # (K,)
    trace = np.empty((betas.size, s.shape[0]))
    ones = np.ones((s.shape[0], 1))
    for t, beta in enumerate(betas):
        _heat_bath(s, blocks, pmodel.h, beta * ones, rng)
        E = pmodel._energy(s)
        better = E < best_E
        best[better], best_E = s[better], np.where(better, E, best_E)
        trace[t] = E
    shape = s0.shape
    final, best_out = np.empty(s.shape, dtype=np.int8), np.empty(s.shape, dtype=np.int8)
    final[:, perm], best_out[:, perm] = s, best
    return AnnealResult(final.reshape(shape), trace[-1].reshape(shape[:-1]), best_out.reshape(shape),
                        best_E.reshape(shape[:-1]), trace.reshape((betas.size,) + shape[:-1]))


# ------------------------------------------------------------------------------------------------ Max-Cut
def _check_weights(W: ArrayLike) -> np.ndarray:
    return check_symmetric_couplings(W.toarray() if sparse.issparse(W) else W, "W")


def maxcut_model(W: ArrayLike) -> IsingModel:
    r"""The Ising model whose ground states are the maximum cuts of the weighted graph ``W``: :math:`J = -W`.

    Notes
    -----
    :math:`\mathrm{cut}(s) = \sum_{i<j} W_{ij}\,[s_i \ne s_j] = \tfrac12\big(\sum_{i<j}W_{ij} - \sum_{i<j}
    W_{ij}s_is_j\big) = \tfrac12\big(\sum_{i<j}W_{ij} - E(s)\big)` with :math:`J = -W`, so maximizing the
    cut minimizes :math:`E`.
    """
    return IsingModel(-_check_weights(W))


def cut_value(spins: ArrayLike, W: ArrayLike) -> np.ndarray:
    """Total weight of the edges cut by the partition ``spins`` (shape (..., n)), shape (...)."""
    W = _check_weights(W)
    s = _check_spins(spins, W.shape[0]).astype(np.float64)
    return 0.5 * (0.5 * W.sum() - 0.5 * np.sum(s * (s @ W), axis=-1))


def maxcut_exact(W: ArrayLike) -> tuple[float, np.ndarray]:
    """Maximum cut by enumeration (n <= 20): its value and one optimal partition (unit 0 on side -1)."""
    W = _check_weights(W)
    n = W.shape[0]
    if n > 20:
        raise ValueError(f"W: exact Max-Cut by enumeration is limited to n <= 20 units, got {n}")
    if n == 1:
        return 0.0, np.array([-1], dtype=np.int8)
    rest = enumerate_states(n - 1)  # (2**(n-1), n-1); unit 0 fixed: the cut is symmetric under s -> -s
    states = np.concatenate([-np.ones((rest.shape[0], 1), dtype=np.int8), rest], axis=1)  # (2**(n-1), n)
    values = cut_value(states, W)
    k = int(np.argmax(values))
    return float(values[k]), states[k]


# ------------------------------------------------------------------------------------------------ exact
@dataclass(frozen=True)
class ExactIsing:
    """All ``2**n`` states (``enumerate_states`` order), their energies, Gibbs probabilities and ``log_Z``."""

    states: np.ndarray
    E: np.ndarray
    p: np.ndarray
    log_Z: float


def exact_law(model: IsingModel, beta: float) -> ExactIsing:
    r"""The Gibbs law :math:`p(s) = e^{-\beta E(s)}/Z` by enumeration of all :math:`2^n` states (n <= 20)."""
    model = _check_model(model)
    b = float(as_float_array(beta, "beta"))
    if b < 0:
        raise ValueError(f"beta: inverse temperature must be non-negative, got {b!r}")
    if model.n > 20:
        raise ValueError(f"model: exact enumeration is limited to n <= 20 spins, got {model.n}")
    states = enumerate_states(model.n)  # (2**n, n)
    E = model._energy(states.astype(np.float64))  # (2**n,)
    with np.errstate(divide="ignore"):
        kT = 1.0 / b
    return ExactIsing(states, E, boltzmann(E, kT), float(log_partition_function(E, kT)))


def exact_moments(model: IsingModel, beta: float) -> dict[str, np.ndarray | float]:
    r"""Exact mean energy, its variance, mean spins :math:`\langle s_i\rangle`, pair correlations
    :math:`\langle s_i s_j\rangle` (n, n), and the law of the magnetization :math:`M = \sum_i s_i`.

    Returns a dict with keys ``"E"``, ``"var_E"``, ``"s"``, ``"ss"``, ``"M_values"`` and ``"M_law"``.
    """
    law = exact_law(model, beta)
    s = law.states.astype(np.float64)  # (2**n, n)
    E_mean = float(law.p @ law.E)
    M = law.states.sum(axis=1, dtype=np.int64) + model.n  # (2**n,) 0..2n in steps of 2
    M_law = np.bincount(M, weights=law.p, minlength=2 * model.n + 1)[::2]  # (n+1,)
    return {
        "E": E_mean,
        "var_E": float(law.p @ (law.E - E_mean) ** 2),
        "s": law.p @ s,
        "ss": s.T @ (law.p[:, None] * s),
        "M_values": np.arange(-model.n, model.n + 1, 2),
        "M_law": M_law,
    }
