r"""The chromatic heat-bath kernel shared by the Ising samplers and the p-bit networks: colouring and sweeps.

A heat-bath (Gibbs) update draws unit :math:`i` from its conditional law given the others,
:math:`P(m_i = \text{hi}\mid m_{-i}) = \sigma(g\,(\phi_i + h_i))` with :math:`\phi_i = \sum_j J_{ij}m_j`,
:math:`\sigma` the logistic function and gain :math:`g = \beta(\text{hi} - \text{lo})` (:math:`2\beta` for
spins, :math:`\beta` for bits). Units of one colour of a proper colouring share no coupling, so their
conditionals do not involve each other and one vectorized draw updates them all exactly as a sequential scan
would. Every sampler of a binary network in the project sweeps through :func:`heat_bath_sweep`.

References: Geman, S. & Geman, D. (1984) IEEE PAMI 6, 721 (Gibbs sampling, colourings); Welsh, D. J. A. &
Powell, M. B. (1967) Comput. J. 10, 85 (largest-first greedy colouring); Jones, M. T. & Plassmann, P. E.
(1993) SIAM J. Sci. Comput. 14, 654 (parallel greedy colouring).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.special import expit

from .model import _check_couplings

__all__ = ["check_colouring", "greedy_colouring"]


def _adjacency(J: np.ndarray | sparse.csr_array) -> sparse.csr_array:
    return sparse.csr_array(J != 0).astype(np.float64)


def greedy_colouring(J: ArrayLike) -> np.ndarray:
    r"""A proper colouring of the coupling graph: greedy, largest degree first.

    Parameters
    ----------
    J : array_like or scipy.sparse matrix of shape (n, n)
        Couplings; an edge wherever :math:`J_{ij} \ne 0` (symmetric, zero diagonal).

    Returns
    -------
    colours : ndarray of int64, shape (n,)
        Colour of each unit, ``0 .. n_colours - 1``; coupled units never share a colour.

    Notes
    -----
    Sequential greedy colouring in the priority order (degree, then a fixed hash of the index) gives each
    unit the smallest colour unused by its already-coloured neighbours: at most :math:`\Delta + 1` colours for
    maximum degree :math:`\Delta`. The Jones–Plassmann rounds compute exactly that colouring in parallel:
    every uncoloured unit whose priority beats all its uncoloured neighbours takes the smallest free colour
    at once (those units form an independent set).

    References
    ----------
    Welsh & Powell (1967), Comput. J. 10, 85; Jones & Plassmann (1993), SIAM J. Sci. Comput. 14, 654.

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
    """Return ``colours`` as an int64 array after checking that no coupled pair shares a colour.

    Parameters
    ----------
    J : array_like or scipy.sparse matrix of shape (n, n)
        Couplings.
    colours : array_like of int, shape (n,)
        Non-negative colour of each unit.

    Returns
    -------
    ndarray of int64, shape (n,)

    Examples
    --------
    >>> from thermoref.ising import check_colouring
    >>> print(check_colouring([[0.0, 1.0], [1.0, 0.0]], [0, 1]))
    [0 1]
    """
    A = sparse.coo_array(_adjacency(_check_couplings(J)))
    c = np.asarray(colours)
    if c.shape != (A.shape[0],) or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"colours: expected integers of shape ({A.shape[0]},), got {c.dtype} {c.shape}")
    if c.size and c.min() < 0:
        raise ValueError("colours: must be non-negative")
    clash = c[A.row] == c[A.col]
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise ValueError(f"colours: units {A.row[i]} and {A.col[i]} are coupled and share colour {c[A.row[i]]}")
    return c.astype(np.int64)


def colour_blocks(J: np.ndarray | sparse.csr_array, h: np.ndarray, colours: np.ndarray,
                  fixed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | sparse.csr_array, np.ndarray, list]:
    """Units reordered so that each colour is a contiguous block: ``(perm, Jp, hp, blocks)``.

    ``perm`` puts the free units colour by colour (stable within a colour) and the ``fixed`` (clamped) units
    last; ``Jp, hp`` are the permuted couplings and fields; each block is ``(slice, couplings to its units,
    fields of its units)``, the couplings as dense columns (n, n_c) or CSR rows (n_c, n). Sweeping the
    permuted model on ``m[..., perm]`` is sweeping the model on ``m``. The ``colours`` need not be proper:
    a single colour for every unit is the (wrong) synchronous update, on purpose.
    """
    key = colours if fixed is None else np.where(fixed, colours.max(initial=0) + 1, colours)
    perm = np.argsort(key, kind="stable")  # (n,)
    Jp = J[perm][:, perm]
    hp = h[perm]
    n_free = perm.size if fixed is None else int(np.count_nonzero(~fixed))
    counts = np.bincount(colours[perm[:n_free]]) if n_free else np.zeros(0, dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    blocks = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b > a:
            Jc = Jp[a:b] if sparse.issparse(Jp) else np.ascontiguousarray(Jp[:, a:b])
            blocks.append((slice(int(a), int(b)), Jc, hp[a:b]))
    return perm, Jp, hp, blocks


def heat_bath_sweep(m: np.ndarray, blocks: list, gain: np.ndarray | float, rng: np.random.Generator,
                    lo: float = -1.0, hi: float = 1.0) -> None:
    r"""One sweep in place over float64 states ``m`` of shape (K, n) (colours contiguous, see :func:`colour_blocks`).

    Block by block: :math:`P(m_i = \text{hi}) = \sigma(g(\phi_i + h_i))` with ``gain`` :math:`g` a scalar or
    one per chain, shape (K, 1); one uniform per updated unit, drawn with the block's shape.
    """
    for idx, Jc, hc in blocks:
        field = (Jc @ m.T).T if sparse.issparse(Jc) else m @ Jc  # (K, n_c)
        p_hi = expit(gain * (field + hc))  # (K, n_c)
        m[:, idx] = np.where(rng.random(p_hi.shape) < p_hi, hi, lo)
