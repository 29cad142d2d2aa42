r"""Max-Cut as an Ising ground-state problem, with the exact optimum by enumeration.

For a weighted graph :math:`W` (symmetric, zero diagonal, non-negative weights in the usual problem), the
cut of a partition :math:`s \in \{-1,+1\}^n` is :math:`\mathrm{cut}(s) = \sum_{i<j} W_{ij}[s_i \ne s_j]`.
With :math:`J = -W` and no field, :math:`\mathrm{cut}(s) = \tfrac12(\sum_{i<j}W_{ij} - E(s))`: the maximum
cuts are the ground states of the Ising model, which annealing (:func:`thermoref.ising.simulated_annealing`)
and Ising machines search for.

References: Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5; Goemans, M. X. &
Williamson, D. P. (1995) J. ACM 42, 1115 (the problem and its relaxation).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .._validation import check_symmetric_couplings
from ..testing import enumerate_states
from .model import _MAX_ENUMERATION, IsingModel, _check_scale, _check_spins

__all__ = ["cut_value", "maxcut_exact", "maxcut_model"]


def _check_weights(W: ArrayLike) -> np.ndarray:
    if sparse.issparse(W):
        W = W.toarray()
    W = check_symmetric_couplings(W, "W")
    if W.shape[0] == 0:
        raise ValueError("W: the graph needs at least one vertex, got shape (0, 0)")
    _check_scale(W, None, "W")
    return W


def maxcut_model(W: ArrayLike) -> IsingModel:
    r"""The Ising model whose ground states are the maximum cuts of the weighted graph ``W``: :math:`J = -W`.

    Parameters
    ----------
    W : array_like or scipy.sparse matrix of shape (n, n)
        Edge weights, symmetric with a zero diagonal.

    Returns
    -------
    IsingModel

    Notes
    -----
    :math:`\mathrm{cut}(s) = \sum_{i<j} W_{ij}\,[s_i \ne s_j] = \tfrac12\big(\sum_{i<j}W_{ij} - \sum_{i<j}
    W_{ij}s_is_j\big) = \tfrac12\big(\sum_{i<j}W_{ij} - E(s)\big)` with :math:`J = -W`, so maximizing the
    cut minimizes :math:`E`.

    References
    ----------
    Lucas, A. (2014) "Ising formulations of many NP problems", Front. Phys. 2, 5, §2.2.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import maxcut_model
    >>> triangle = np.ones((3, 3)) - np.eye(3)
    >>> print(maxcut_model(triangle).energy([[1, 1, -1], [1, 1, 1]]))  # cut 2 vs cut 0
    [-1.  3.]
    """
    return IsingModel(-_check_weights(W))


def cut_value(spins: ArrayLike, W: ArrayLike) -> np.ndarray:
    r"""Total weight of the edges cut by each partition ``spins``.

    Parameters
    ----------
    spins : array_like of shape (..., n)
        Partitions in {-1, +1}.
    W : array_like or scipy.sparse matrix of shape (n, n)
        Edge weights.

    Returns
    -------
    ndarray of shape (...)

    Notes
    -----
    :math:`\mathrm{cut}(s) = \tfrac12\big(\tfrac12\sum_{ij}W_{ij} - \tfrac12 s^\top W s\big)`.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import cut_value
    >>> print(cut_value([[1, 1, -1], [1, -1, 1]], np.ones((3, 3)) - np.eye(3)))
    [2. 2.]
    """
    W = _check_weights(W)
    s = _check_spins(spins, W.shape[0]).astype(np.float64)
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
