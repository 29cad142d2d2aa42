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


def _ragged(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices ``starts[k] .. starts[k] + lengths[k] - 1`` of several CSR rows, concatenated."""
    offsets = np.cumsum(lengths) - lengths  # (k,) where each row's slice begins in the output
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


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
    The colouring is the sequential greedy one in the priority order :math:`\pi_i = (d_i, t_i)`, degree
    :math:`d_i` first and a fixed hash :math:`t_i = 2654435761\,i \bmod 2^{32}` of the index to break ties:
    taking the units by decreasing :math:`\pi`, each gets the smallest colour

    .. math:: c_i = \min\{c \ge 0 : c \ne c_j \text{ for every neighbour } j \text{ with } \pi_j > \pi_i\},

    so at most :math:`\Delta + 1` colours for maximum degree :math:`\Delta` (Welsh & Powell). It is computed
    in Jones–Plassmann rounds: a unit is *ready* when all its higher-priority neighbours are coloured (a
    counter per unit); the ready units form an independent set and take their colours at once, from the
    colours of their neighbours marked in a scratch array of :math:`d_i + 1` slots per unit; then the counters
    of their lower-priority neighbours drop. Every edge is looked at a bounded number of times, so the work
    is :math:`O(n + m)` for :math:`m` couplings (plus a sort of each round's decrements), in vectorized
    rounds whose number is the longest priority-decreasing path of the graph: :math:`n` rounds on a complete
    graph (one unit each), a handful on a sparse one.

    A fully connected network (every :math:`J_{ij} \ne 0`) needs :math:`n` colours, so a chromatic sweep
    of it is a sequential scan over units; that is inherent to the graph, not a defect of the colouring.

    References
    ----------
    Welsh, D. J. A. & Powell, M. B. (1967) "An upper bound for the chromatic number of a graph and its
    application to timetabling problems", Comput. J. 10, 85–86. Jones, M. T. & Plassmann, P. E. (1993) "A
    parallel graph coloring heuristic", SIAM J. Sci. Comput. 14, 654–669.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import greedy_colouring
    >>> ring = np.roll(np.eye(6), 1, axis=1); ring = ring + ring.T
    >>> print(greedy_colouring(ring))
    [1 0 1 0 1 0]
    >>> print(greedy_colouring(np.ones((4, 4)) - np.eye(4)))  # complete graph: n colours
    [3 1 2 0]
    """
    A = _adjacency(_check_couplings(J))
    n = A.shape[0]
    indptr, indices = A.indptr.astype(np.int64), A.indices.astype(np.int64)
    degree = np.diff(indptr)  # (n,)
    tiebreak = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    priority = (degree << 32) + tiebreak.astype(np.int64)  # (n,) distinct: the tiebreak is a bijection
    rows = np.repeat(np.arange(n), degree)  # (m,) row of every stored coupling
    waiting = np.bincount(rows[priority[indices] > priority[rows]], minlength=n)  # uncoloured higher neighbours
    colours = np.full(n, -1, dtype=np.int64)
    ready = np.flatnonzero(waiting == 0)  # (k,) an independent set
    while ready.size:
        d = degree[ready]  # (k,)
        nb = indices[_ragged(indptr[ready], d)]  # (sum d,) neighbours of the ready units
        owner = np.repeat(np.arange(ready.size), d)  # (sum d,)
        c = colours[nb]  # coloured iff higher priority
        slots = np.cumsum(d + 1) - (d + 1)  # (k,) each unit's d + 1 scratch slots: colours 0 .. d
        used = np.zeros(int(slots[-1] + d[-1] + 1), dtype=bool)
        mark = (c >= 0) & (c <= d[owner])
        used[slots[owner[mark]] + c[mark]] = True
        free = np.flatnonzero(~used)  # at least one free slot per unit
        colours[ready] = free[np.searchsorted(free, slots)] - slots
        lower, drops = np.unique(nb[c < 0], return_counts=True)  # lower-priority neighbours
        waiting[lower] -= drops
        ready = lower[waiting[lower] == 0]
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


def heat_bath_gain(beta: np.ndarray | float, width: float) -> np.ndarray | float:
    r"""The gain :math:`g = \beta(\text{hi} - \text{lo})` of the conditional law, capped at the largest float64.

    The cap keeps :math:`g\,\phi` free of ``inf * 0 = NaN`` at :math:`\beta \sim 10^{308}`; capped or not,
    :math:`\sigma(g\phi)` is then 0, 1/2 or 1 to float64 precision, the :math:`\beta \to \infty` limit.
    """
    with np.errstate(over="ignore"):
        return np.minimum(np.multiply(beta, width), np.finfo(np.float64).max)


def heat_bath_sweep(m: np.ndarray, blocks: list, gain: np.ndarray | float, rng: np.random.Generator,
                    lo: float = -1.0, hi: float = 1.0) -> None:
    r"""One sweep in place over float64 states ``m`` of shape (K, n) (colours contiguous, see :func:`colour_blocks`).

    Block by block: :math:`P(m_i = \text{hi}) = \sigma(g(\phi_i + h_i))` with ``gain`` :math:`g` (finite,
    :func:`heat_bath_gain`) a scalar or one per chain, shape (K, 1); one uniform per updated unit, drawn with
    the block's shape, compared with :math:`\sigma`. Units of one colour share no coupling, so the block's
    fields :math:`\phi` do not depend on the units being redrawn and the vectorized draw is exactly a
    sequential scan over them. With :math:`n` colours (a fully connected network) the loop over blocks is a
    sequential scan over units: that is the graph, not the kernel.
    """
    with np.errstate(over="ignore"):  # g * phi = +-inf at huge beta: sigma is then exactly 0 or 1
        for idx, Jc, hc in blocks:
            field = (Jc @ m.T).T if sparse.issparse(Jc) else m @ Jc  # (K, n_c)
            p_hi = expit(gain * (field + hc))  # (K, n_c)
            m[:, idx] = np.where(rng.random(p_hi.shape) < p_hi, hi, lo)
