r"""Max-Cut as an Ising ground-state problem: the model, cut values, the exact optimum, and the G-set reader.

For a weighted graph :math:`W` (symmetric, zero diagonal, non-negative weights in the usual problem), the
cut of a partition :math:`s \in \{-1,+1\}^n` is :math:`\mathrm{cut}(s) = \sum_{i<j} W_{ij}[s_i \ne s_j]`.
With :math:`J = -W` and no field, :math:`\mathrm{cut}(s) = \tfrac12(\sum_{i<j}W_{ij} - E(s))`: the maximum
cuts are the ground states of the Ising model, which annealing (:func:`thermoref.ising.simulated_annealing`)
and Ising machines search for. A ``scipy.sparse`` weight matrix stays sparse end to end (model, annealing,
cut values), so the 20,000-node instances of the G-set (:func:`read_gset`) take memory proportional to their
edges, never :math:`n^2`.

References: Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5; Goemans, M. X. &
Williamson, D. P. (1995) J. ACM 42, 1115 (the problem and its relaxation); Helmberg, C. & Rendl, F. (2000)
SIAM J. Optim. 10, 673 (the G-set instances).
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .._validation import check_allocation, check_symmetric_couplings
from ..testing import enumerate_states
from .model import _MAX_ENUMERATION, IsingModel, _check_couplings, _check_scale, _check_spins

__all__ = ["cut_value", "maxcut_exact", "maxcut_model", "read_gset"]


def _check_weights(W: ArrayLike) -> np.ndarray | sparse.csr_array:
    """Validated weights: dense input as a float64 ndarray (as before), sparse input as a float64 CSR array."""
    W = _check_couplings(W, "W") if sparse.issparse(W) else check_symmetric_couplings(W, "W")
    if W.shape[0] == 0:
        raise ValueError("W: the graph needs at least one vertex, got shape (0, 0)")
    _check_scale(W, None, "W")
    return W


def maxcut_model(W: ArrayLike) -> IsingModel:
    r"""The Ising model whose ground states are the maximum cuts of the weighted graph ``W``: :math:`J = -W`.

    Parameters
    ----------
    W : array_like or scipy.sparse matrix of shape (n, n)
        Edge weights, symmetric with a zero diagonal. Sparse input stays sparse: the model's couplings are a
        CSR array with the same non-zeros (never an :math:`n \times n` dense array).

    Returns
    -------
    IsingModel
        Couplings :math:`J = -W` (dense for dense ``W``, ``scipy.sparse.csr_array`` for sparse ``W``), no field.

    Notes
    -----
    :math:`\mathrm{cut}(s) = \sum_{i<j} W_{ij}\,[s_i \ne s_j] = \tfrac12\big(\sum_{i<j}W_{ij} - \sum_{i<j}
    W_{ij}s_is_j\big) = \tfrac12\big(\sum_{i<j}W_{ij} - E(s)\big)` with :math:`J = -W`, so maximizing the
    cut minimizes :math:`E`.

    **Dense or sparse.** The two storages give the same model: with integer weights (the G-set) every
    energy, every local field, hence every annealing run with the same seed, is bit-for-bit the same. Prefer
    sparse storage for graphs with few edges per node: a sweep then costs :math:`O(\text{edges})` per run
    instead of :math:`O(n^2)`, and memory is :math:`O(\text{edges})` (a dense 20,000-node matrix alone would
    take 3.2 GB). On the G-set's 1,000-node G43 (10 colour classes), one annealing sweep of 4 runs was about
    five times faster sparse than dense on the 2-core development machine (``benchmarks/bench_gset.py``
    measures it).

    **BLAS threading.** The dense route does one small matrix product per colour class per sweep (on G43,
    4 x 1000 times 1000 x ~100). Such products are too small to gain from threads: with OpenBLAS's default
    of one thread per core, starting and synchronizing the threads costs more than the product, and on the
    2-core machine the dense route ran about twice as slowly with the default threads as with
    ``OPENBLAS_NUM_THREADS=1``, with the same bits (a 10x slowdown has been seen too; the ratio depends on the
    machine's load). Set ``OPENBLAS_NUM_THREADS=1`` (or use ``threadpoolctl``) before running many small dense
    sweeps; the sparse route does not call BLAS.

    References
    ----------
    Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5, §2.2.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from thermoref.ising import maxcut_model
    >>> triangle = np.ones((3, 3)) - np.eye(3)
    >>> print(maxcut_model(triangle).energy([[1, 1, -1], [1, 1, 1]]))  # cut 2 vs cut 0
    [-1.  3.]
    >>> model = maxcut_model(sparse.csr_array(triangle))
    >>> print(model.is_sparse, model.energy([[1, 1, -1], [1, 1, 1]]))
    True [-1.  3.]
    """
    return IsingModel(-_check_weights(W))


def cut_value(spins: ArrayLike, W: ArrayLike) -> np.ndarray:
    r"""Total weight of the edges cut by each partition ``spins``.

    Parameters
    ----------
    spins : array_like of shape (..., n)
        Partitions in {-1, +1}.
    W : array_like or scipy.sparse matrix of shape (n, n)
        Edge weights (sparse input is used as it is, never made dense).

    Returns
    -------
    ndarray of shape (...)

    Notes
    -----
    :math:`\mathrm{cut}(s) = \tfrac12\big(\tfrac12\sum_{ij}W_{ij} - \tfrac12 s^\top W s\big)`; for sparse
    ``W`` the sums run over the stored edges only, :math:`O(\text{edges})` per partition. With integer
    weights both storages give exactly the same values.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from thermoref.ising import cut_value
    >>> W = np.ones((3, 3)) - np.eye(3)
    >>> print(cut_value([[1, 1, -1], [1, -1, 1]], W), cut_value([[1, 1, -1], [1, -1, 1]], sparse.csr_array(W)))
    [2. 2.] [2. 2.]
    """
    W = _check_weights(W)
    s = _check_spins(spins, W.shape[0]).astype(np.float64)
    if sparse.issparse(W):
        flat = s.reshape(-1, W.shape[0])  # (K, n)
        sWs = np.sum(flat * (W @ flat.T).T, axis=-1).reshape(s.shape[:-1])  # W symmetric: s W = (W s^T)^T
        return 0.5 * (0.5 * W.sum() - 0.5 * sWs)
    return 0.5 * (0.5 * W.sum() - 0.5 * np.sum(s * (s @ W), axis=-1))


def maxcut_exact(W: ArrayLike) -> tuple[float, np.ndarray]:
    r"""Maximum cut by enumeration of all partitions (n <= 20): its value and one optimal partition.

    Parameters
    ----------
    W : array_like or scipy.sparse matrix of shape (n, n)
        Edge weights.

    Returns
    -------
    value : float
        The maximum cut.
    spins : ndarray of int8, shape (n,)
        One optimal partition, with unit 0 on side -1.

    Notes
    -----
    Unit 0 is fixed at -1 (the cut is symmetric under :math:`s \to -s`), so :math:`2^{n-1}` partitions are
    evaluated by :func:`cut_value`.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import maxcut_exact
    >>> value, s = maxcut_exact(np.ones((4, 4)) - np.eye(4))
    >>> print(value, int(s.sum()))
    4.0 0
    """
    W = _check_weights(W)
    n = W.shape[0]
    if n > _MAX_ENUMERATION:
        raise ValueError(f"W: exact Max-Cut by enumeration is limited to n <= {_MAX_ENUMERATION} units, got {n}")
    if n == 1:
        return 0.0, np.array([-1], dtype=np.int8)
    rest = enumerate_states(n - 1)  # (2**(n-1), n-1); unit 0 fixed: the cut is symmetric under s -> -s
    states = np.concatenate([-np.ones((rest.shape[0], 1), dtype=np.int8), rest], axis=1)  # (2**(n-1), n)
    values = cut_value(states, W)
    k = int(np.argmax(values))
    return float(values[k]), states[k]


def _format_error(p: str, line: int, what: str) -> ValueError:
    return ValueError(f"path: {p!r} line {line}: {what}")


def _parse_numbers(p: str, rows: list[list[str]], first_line: int, what: str) -> np.ndarray:
    """Rows of numeric tokens as float64 (integers are exact up to 2**53); the first bad token is named."""
    try:
        return np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    except ValueError:
        for k, row in enumerate(rows):  # error path only: find the offending line
            try:
                np.array(row, dtype=np.float64)
            except ValueError:
                raise _format_error(p, first_line + k, f"expected {what}, got {' '.join(row)!r}") from None
        raise


def read_gset(path: str | os.PathLike) -> sparse.csr_array:
    r"""Read a weighted graph in the G-set format as a sparse symmetric weight matrix.

    Parameters
    ----------
    path : str or os.PathLike
        A text file: a header line ``n m`` (number of nodes, number of edges), then exactly ``m`` lines
        ``i j w``, an undirected edge between nodes ``i`` and ``j`` (1-based, ``i != j``) of weight ``w``.
        Blank lines at the end are ignored; isolated nodes (no edge) are allowed.

    Returns
    -------
    W : scipy.sparse.csr_array of float64, shape (n, n)
        Symmetric, zero diagonal, :math:`W_{ij} = W_{ji} = w` for every edge; ready for
        :func:`maxcut_model` and :func:`cut_value`.

    Raises
    ------
    ValueError
        A file not in this format, with a message that starts with ``"path: "`` and names the file and line:
        a header that is not two non-negative integers (or ``n = 0``), a line that is not three numbers, a
        non-integer or out-of-range node index, a self-loop, an edge given twice (in either order), a
        non-finite weight, more or fewer than ``m`` edge lines, or a size whose matrix would exceed the
        allocation limit. A missing or unreadable file is a ``ValueError`` naming ``path`` too; a ``path``
        that is not a path is a ``TypeError``.

    Notes
    -----
    The G-set (Helmberg & Rendl) is the standard benchmark of Max-Cut heuristics: random graphs, planar
    graphs and toroidal grids of 800 to 20,000 nodes with weights :math:`\pm 1`, generated by Rinaldi's
    ``rudy``. Memory is :math:`O(n + m)`: the file's edges go straight into a CSR array.

    References
    ----------
    Helmberg, C. & Rendl, F. (2000) "A spectral bundle method for semidefinite programming", SIAM J. Optim.
    10, 673–696.

    Examples
    --------
    >>> import os, tempfile
    >>> from thermoref.ising import cut_value, read_gset
    >>> path = os.path.join(tempfile.mkdtemp(), "triangle")
    >>> with open(path, "w") as f:
    ...     _ = f.write("3 3\n1 2 1\n1 3 1\n2 3 1\n")
    >>> W = read_gset(path)
    >>> print(W.shape, W.nnz, cut_value([1, 1, -1], W))
    (3, 3) 6 2.0
    """
    if isinstance(path, (bool, int, float)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    if not isinstance(p, str):
        raise TypeError(f"path: expected a text path, got {type(p).__name__}")
    if not os.path.isfile(p):
        raise ValueError(f"path: no such file {p!r}")
    try:
        with open(p, encoding="ascii") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"path: cannot read {p!r} as a text file ({err})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise _format_error(p, 1, "empty file; expected a header 'n m'")
    header = lines[0].split()
    if len(header) != 2 or not all(t.isdigit() for t in header):
        raise _format_error(p, 1, f"expected a header 'n m' of two non-negative integers, got {lines[0]!r}")
    n, m = int(header[0]), int(header[1])
    if n == 0:
        raise _format_error(p, 1, "the graph needs at least one node (n = 0)")
    check_allocation(n + 1, "path")  # the CSR row pointers
    body = lines[1:]
    if len(body) != m:
        raise _format_error(p, min(len(body), m) + 2 if len(body) > m else len(lines) + 1,
                            f"the header announces m = {m} edge lines, the file has {len(body)}")
    rows = [line.split() for line in body]
    counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=m)
    if np.any(counts != 3):
        k = int(np.flatnonzero(counts != 3)[0])
        raise _format_error(p, k + 2, f"expected three numbers 'i j w', got {body[k]!r}")
    data = _parse_numbers(p, rows, 2, "three numbers 'i j w'") if m else np.zeros((0, 3))
    ij, w = data[:, :2], data[:, 2]
    bad = ~((ij == np.round(ij)) & (ij >= 1) & (ij <= n)).all(axis=1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise _format_error(p, k + 2, f"node indices must be integers in 1..{n}, got {body[k]!r}")
    if not np.isfinite(w).all():
        k = int(np.flatnonzero(~np.isfinite(w))[0])
        raise _format_error(p, k + 2, f"the weight must be finite, got {body[k]!r}")
    i, j = ij[:, 0].astype(np.int64) - 1, ij[:, 1].astype(np.int64) - 1  # (m,) 0-based
    loops = i == j
    if loops.any():
        k = int(np.flatnonzero(loops)[0])
        raise _format_error(p, k + 2, f"self-loop {body[k]!r}")
    key = np.minimum(i, j) * n + np.maximum(i, j)  # (m,) the unordered pair
    order = np.argsort(key, kind="stable")
    repeat = np.flatnonzero(key[order][1:] == key[order][:-1])
    if repeat.size:
        first, again = sorted(order[repeat[0]:repeat[0] + 2])
        raise _format_error(p, int(again) + 2, f"edge {body[again]!r} repeats line {int(first) + 2}")
    W = sparse.csr_array((np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n))
    W.sort_indices()
    return W
