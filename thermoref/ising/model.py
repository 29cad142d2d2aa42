r"""Ising models on any graph: the model, its energy, and its exact Gibbs law by enumeration.

A model is :math:`E(s) = -\sum_{i<j} J_{ij} s_i s_j - \sum_i h_i s_i = -\tfrac12 s^\top J s - h^\top s` with
:math:`s \in \{-1, +1\}^n` and a symmetric, zero-diagonal coupling matrix (dense or ``scipy.sparse``). The
same quadratic energy over bits :math:`x \in \{0, 1\}^n` is a Boltzmann machine (:mod:`thermoref.pbit`); the
enumeration here serves both conventions, so the project has one exact law of a binary network.

References: Ising, E. (1925) Z. Phys. 31, 253; Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985)
Cognitive Science 9, 147 (the same energy over bits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .._validation import as_float_array, check_beta, check_symmetric_couplings
from ..gibbs import boltzmann, log_partition_function
from ..testing import enumerate_states

__all__ = ["ExactLaw", "IsingModel", "exact_law", "ising_energy"]

# Largest number of units whose 2**n states are enumerated.
_MAX_ENUMERATION = 20


#: Largest total coupling strength sum |J| + 2 sum |h| accepted: every local field, every energy and every
#: energy difference (at most twice an energy) then stays finite in float64, with room to spare.
_MAX_SCALE = np.finfo(np.float64).max / 8


def _check_scale(J: np.ndarray | sparse.csr_array, h: np.ndarray | None, name_J: str = "J", name_h: str = "h") -> None:
    r"""Refuse couplings and fields so large that a local field or an energy would overflow float64.

    :math:`|\phi_i| \le \sum_j |J_{ij}| + |h_i|` and :math:`|E| \le \tfrac12\sum_{ij}|J_{ij}| + \sum_i |h_i|`,
    so bounding :math:`\sum_{ij}|J_{ij}| + 2\sum_i|h_i|` by :data:`_MAX_SCALE` keeps every intermediate finite.
    """
    with np.errstate(over="ignore"):
        total_J = float(np.abs(J.data if sparse.issparse(J) else J).sum())
        total = total_J + (0.0 if h is None else 2.0 * float(np.abs(h).sum()))
    if not total_J <= _MAX_SCALE:
        raise ValueError(f"{name_J}: couplings too large: sum |{name_J}| = {total_J:.3g} would overflow the "
                         "energies in float64")
    if not total <= _MAX_SCALE:
        raise ValueError(f"{name_h}: fields too large: sum |{name_J}| + 2 sum |{name_h}| = {total:.3g} would overflow "
                         "the energies in float64")


def _check_couplings(J: object, name: str = "J") -> np.ndarray | sparse.csr_array:
    if sparse.issparse(J):
        if not (np.issubdtype(J.dtype, np.floating) or np.issubdtype(J.dtype, np.integer)
                or np.issubdtype(J.dtype, np.bool_)):
            raise TypeError(f"{name}: expected real couplings, got a sparse matrix of dtype {J.dtype}")
        Js = sparse.csr_array(J, dtype=np.float64)
        if Js.ndim != 2 or Js.shape[0] != Js.shape[1]:
            raise ValueError(f"{name}: expected a square matrix, got shape {Js.shape}")
        as_float_array(Js.data, name)  # NaN / inf
        if (Js != Js.T).nnz:
            raise ValueError(f"{name}: couplings must be symmetric")
        if np.any(Js.diagonal() != 0):
            raise ValueError(f"{name}: the diagonal must be zero (no self-coupling)")
        if Js.nnz and not Js.data.all():  # explicit zeros: drop them from a copy, never from the caller's arrays
            Js = Js.copy()
            Js.eliminate_zeros()
        return Js
    return check_symmetric_couplings(J, name)


@dataclass(frozen=True, eq=False)
class IsingModel:
    r"""An Ising model :math:`E(s) = -\tfrac12 s^\top J s - h^\top s` on :math:`n` spins.

    Parameters
    ----------
    J : array_like or scipy.sparse matrix of shape (n, n)
        Symmetric couplings with a zero diagonal (validated; sparse input is stored as CSR). Couplings and
        fields so large that an energy would overflow float64 (:math:`\sum|J_{ij}| + 2\sum|h_i| > 2^{1021}`) are
        refused.
    h : array_like of shape (n,), optional
        Fields; zeros by default.

    Attributes
    ----------
    J : ndarray of shape (n, n) or scipy.sparse.csr_array
        The validated couplings (float64).
    h : ndarray of shape (n,)
        The fields (float64). The properties :attr:`n` and :attr:`is_sparse` give the number of spins and the
        storage of ``J``.

    Notes
    -----
    Each pair is counted once: :math:`-\tfrac12 s^\top J s = -\sum_{i<j} J_{ij}s_is_j` because :math:`J` is
    symmetric with a zero diagonal. The local field of unit :math:`i` is :math:`\phi_i = \sum_j J_{ij}s_j + h_i`
    and :math:`E = -\tfrac12\sum_i s_i(\phi_i + h_i)`. A ferromagnetic bond (:math:`J_{ij} > 0`) lowers the
    energy when the two spins agree; a field :math:`h_i > 0` favours :math:`s_i = +1`.

    References
    ----------
    Ising, E. (1925) "Beitrag zur Theorie des Ferromagnetismus", Z. Phys. 31, 253–258.

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
        if n == 0:
            raise ValueError("J: the model needs at least one spin, got shape (0, 0)")
        h = np.zeros(n) if self.h is None else as_float_array(self.h, "h", ndim=1)
        if h.shape != (n,):
            raise ValueError(f"h: expected shape ({n},) to match J, got {h.shape}")
        _check_scale(J, h)
        object.__setattr__(self, "J", J)
        object.__setattr__(self, "h", h)

    @property
    def n(self) -> int:
        """Number of spins."""
        return self.J.shape[0]

    @property
    def is_sparse(self) -> bool:
        """Whether the couplings are stored as a ``scipy.sparse`` CSR array."""
        return sparse.issparse(self.J)

    def local_fields(self, spins: ArrayLike) -> np.ndarray:
        r"""Local fields :math:`\phi_i = \sum_j J_{ij}s_j + h_i` of configurations ``spins``.

        Parameters
        ----------
        spins : array_like of shape (..., n)
            Configurations in {-1, +1}; leading axes index independent configurations.

        Returns
        -------
        ndarray of float64, shape (..., n)
            The field felt by each spin.

        Notes
        -----
        .. math:: \phi_i = \sum_j J_{ij} s_j + h_i = -\frac{\partial E}{\partial s_i},

        the force on spin :math:`i`; flipping it changes the energy by :math:`2 s_i \phi_i`, and the heat-bath
        probability of :math:`s_i = +1` is :math:`\sigma(2\beta\phi_i)`.

        Examples
        --------
        >>> from thermoref.ising import IsingModel
        >>> print(IsingModel([[0.0, 2.0], [2.0, 0.0]], h=[0.5, 0.0]).local_fields([1, -1]))
        [-1.5  2. ]
        """
        s = _check_spins(spins, self.n)
        return self._fields(s.astype(np.float64))

    def _fields(self, s: np.ndarray) -> np.ndarray:
        return _fields(self.J, self.h, s)

    def energy(self, spins: ArrayLike) -> np.ndarray:
        r"""Energy :math:`E(s) = -\tfrac12 s^\top J s - h^\top s` of each configuration.

        Parameters
        ----------
        spins : array_like of shape (..., n)
            Configurations in {-1, +1}; leading axes index independent configurations.

        Returns
        -------
        ndarray of float64, shape (...)
            One energy per configuration.

        Notes
        -----
        .. math:: E(s) = -\sum_{i<j} J_{ij} s_i s_j - \sum_i h_i s_i = -\tfrac12 \sum_i s_i(\phi_i + h_i),

        evaluated through the local fields :math:`\phi` (one sparse or dense product).

        Examples
        --------
        >>> from thermoref.ising import IsingModel
        >>> print(IsingModel([[0.0, 1.0], [1.0, 0.0]]).energy([[1, 1], [1, -1]]))
        [-1.  1.]
        """
        s = _check_spins(spins, self.n).astype(np.float64)
        return self._energy(s)

    def _energy(self, s: np.ndarray) -> np.ndarray:
        return _energy(self.J, self.h, s)


def _fields(J: np.ndarray | sparse.csr_array, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Local fields J s + h of validated float64 states s (..., n)."""
    flat = s.reshape(-1, J.shape[0])  # (K, n)
    f = (J @ flat.T).T if sparse.issparse(J) else flat @ J  # (K, n)
    return f.reshape(s.shape) + h


def _energy(J: np.ndarray | sparse.csr_array, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """E = -1/2 s.J.s - h.s of validated float64 states s (..., n); the one energy of a binary network."""
    return -0.5 * np.sum(s * (_fields(J, h, s) + h), axis=-1)


def _check_spins(spins: ArrayLike, n: int | None = None, name: str = "spins", values: tuple[int, int] = (-1, 1)) -> np.ndarray:
    """Return ``spins`` as int8 of shape (..., n) after checking every entry is one of ``values``."""
    if isinstance(spins, (str, bytes)) or spins is None:
        raise TypeError(f"{name}: expected an array of {values[0]}/{values[1]}, got {type(spins).__name__}")
    s = np.asarray(spins)
    if not (np.issubdtype(s.dtype, np.integer) or np.issubdtype(s.dtype, np.floating)):
        raise TypeError(f"{name}: expected an array of {values[0]}/{values[1]}, got dtype {s.dtype}")
    if s.ndim < 1 or (n is not None and s.shape[-1] != n):
        raise ValueError(f"{name}: expected shape (..., {n}), got {s.shape}")
    if not np.isin(s, values).all():
        raise ValueError(f"{name}: entries must be {values[0]} or {values[1]}")
    return s.astype(np.int8)


def _check_model(model: object) -> IsingModel:
    """Return ``model`` after checking it is an :class:`IsingModel`."""
    if not isinstance(model, IsingModel):
        raise TypeError(f"model: expected an IsingModel, got {type(model).__name__}")
    return model


def ising_energy(spins: ArrayLike, J: ArrayLike, h: ArrayLike | None = None) -> np.ndarray:
    r"""Energy :math:`E(s) = -\sum_{i<j}J_{ij}s_is_j - \sum_i h_i s_i` of each configuration.

    Parameters
    ----------
    spins : array_like of shape (..., n)
        Configurations in {-1, +1}; leading axes index independent configurations.
    J : array_like or scipy.sparse matrix of shape (n, n)
        Symmetric couplings with a zero diagonal.
    h : array_like of shape (n,), optional
        Fields (zeros by default).

    Returns
    -------
    ndarray of shape (...)

    Notes
    -----
    :math:`E(s) = -\tfrac12 s^\top J s - h^\top s`; the same function as :meth:`IsingModel.energy`.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import ising_energy
    >>> print(ising_energy([1, -1, 1], -np.ones((3, 3)) + np.eye(3)))
    -1.0
    """
    return IsingModel(J, h).energy(spins)


@dataclass(frozen=True)
class ExactLaw:
    r"""The Gibbs law :math:`p(s) = e^{-\beta E(s)}/Z` of a binary network, by enumeration of all states.

    Attributes
    ----------
    states : ndarray of int8, shape ``(2**n, n)``
        Every configuration, in :func:`thermoref.testing.enumerate_states` order, in the network's value
        convention ({-1, +1} spins or {0, 1} bits).
    E : ndarray of float64, shape ``(2**n,)``
        Energy of each state.
    p : ndarray of float64, shape ``(2**n,)``
        Probability of each state (zero outside a clamp).
    log_Z : float
        Log partition function (of the clamped sub-system when clamped); :math:`\pm\infty` at
        :math:`\beta = \infty` unless the ground energy is zero (and where :math:`-\beta E_{\min}` exceeds the
        float64 range).

    Notes
    -----
    The moments are properties computed from ``p``: :attr:`mean` :math:`\langle s_i\rangle`, :attr:`corr`
    :math:`\langle s_is_j\rangle`, :attr:`mean_energy` :math:`\langle E\rangle`, :attr:`energy_variance`,
    and the law of the magnetization :math:`M = \sum_i s_i` by :meth:`magnetization_law`.

    Examples
    --------
    >>> from thermoref.ising import IsingModel, exact_law
    >>> law = exact_law(IsingModel([[0.0, 1.0], [1.0, 0.0]]), beta=1.0)
    >>> print(law.p.round(6), round(float(law.corr[0, 1]), 6))  # <s0 s1> = tanh(1)
    [0.440399 0.059601 0.059601 0.440399] 0.761594
    """

    states: np.ndarray
    E: np.ndarray
    p: np.ndarray
    log_Z: float

    @property
    def mean(self) -> np.ndarray:
        r""":math:`\langle s_i\rangle`, shape (n,)."""
        return self.p @ self.states.astype(np.float64)

    @property
    def corr(self) -> np.ndarray:
        r""":math:`\langle s_i s_j\rangle`, shape (n, n)."""
        s = self.states.astype(np.float64)
        return s.T @ (self.p[:, None] * s)

    @property
    def mean_energy(self) -> float:
        r""":math:`\langle E\rangle`."""
        return float(self.p @ self.E)

    @property
    def energy_variance(self) -> float:
        r""":math:`\langle (E - \langle E\rangle)^2\rangle` (the specific heat is :math:`\beta^2` times it)."""
        return float(self.p @ (self.E - self.mean_energy) ** 2)

    def magnetization_law(self) -> tuple[np.ndarray, np.ndarray]:
        r"""The law of :math:`M = \sum_i s_i`: its possible values (ascending) and their probabilities.

        Returns
        -------
        values : ndarray of int64, shape (k,)
            The distinct magnetizations, ascending.
        probabilities : ndarray of float64, shape (k,)
            :math:`P(M = v)` for each value.

        Notes
        -----
        .. math:: P(M = v) = \sum_{s:\ \sum_i s_i = v} p(s),

        the law of the total spin, which is what a magnetometer reads; for bits it is the law of the number of
        active units.

        Examples
        --------
        >>> from thermoref.ising import IsingModel, exact_law
        >>> values, prob = exact_law(IsingModel([[0.0, 1.0], [1.0, 0.0]]), beta=1.0).magnetization_law()
        >>> print(values, prob.round(6))
        [-2  0  2] [0.440399 0.119203 0.440399]
        """
        M = self.states.sum(axis=1, dtype=np.int64)  # (2**n,)
        values, inverse = np.unique(M, return_inverse=True)
        return values, np.bincount(inverse, weights=self.p, minlength=values.size)


def _clamp(clamp: Mapping[int, int] | None, n: int, values: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Boolean mask of clamped units and their values (int8)."""
    mask, vals = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int8)
    if clamp is None:
        return mask, vals
    if not isinstance(clamp, Mapping):
        raise TypeError(f"clamp: expected a mapping from unit index to value, got {type(clamp).__name__}")
    for i, v in clamp.items():
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
            raise ValueError(f"clamp: unit index {i!r} is not an integer in [0, {n})")
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float, np.floating)) or v not in values:
            raise ValueError(f"clamp: value {v!r} of unit {i} is not one of {values}")
        mask[i], vals[i] = True, int(v)
    return mask, vals


def _enumerate_law(J: np.ndarray | sparse.csr_array, h: np.ndarray, beta: float, values: tuple[int, int],
                  clamp: Mapping[int, int] | None = None, name: str = "J") -> ExactLaw:
    """The exact law of the validated network (J, h) in the value convention ``values``; the one enumeration.

    ``beta`` is validated by the caller (``inf`` allowed: the ground states share the weight).
    """
    n = J.shape[0]
    if n > _MAX_ENUMERATION:
        raise ValueError(f"{name}: exact enumeration is limited to n <= {_MAX_ENUMERATION} units, got {n}")
    states = enumerate_states(n, values)  # (2**n, n)
    E = _energy(J, h, states.astype(np.float64))  # (2**n,)
    fixed, vals = _clamp(clamp, n, values)
    allowed = (states[:, fixed] == vals[fixed]).all(axis=1)  # states consistent with the clamp
    kT = np.inf if beta == 0 else 0.0 if np.isposinf(beta) else 1.0 / beta
    p = np.zeros(E.shape)
    p[allowed] = boltzmann(E[allowed], kT)
    return ExactLaw(states, E, p, float(log_partition_function(E[allowed], kT)))


def exact_law(model: IsingModel, beta: float, *, clamp: Mapping[int, int] | None = None) -> ExactLaw:
    r"""The Gibbs law :math:`p(s) = e^{-\beta E(s)}/Z` of an Ising model by enumeration of all :math:`2^n` states.

    Parameters
    ----------
    model : IsingModel
        At most 20 spins.
    beta : float
        Inverse temperature, :math:`0 \le \beta \le \infty` (``inf``: the ground states share the weight).
    clamp : mapping of int to int, optional
        Spins held fixed at -1 or +1; the law is then that of the others given them.

    Returns
    -------
    ExactLaw
        States, energies, probabilities and ``log_Z`` (:math:`\pm\infty` at :math:`\beta = \infty` unless the
        ground energy is zero).

    Notes
    -----
    :math:`p = \mathrm{softmax}(-\beta E)` over the enumerated energies, through :func:`thermoref.gibbs.boltzmann`
    and :func:`thermoref.gibbs.log_partition_function` (log space: no overflow at any :math:`\beta`).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import IsingModel, exact_law
    >>> law = exact_law(IsingModel(np.zeros((3, 3)), h=[1.0, 0.0, 0.0]), beta=0.5)
    >>> print(round(float(law.mean[0]), 6), round(law.log_Z, 6))  # tanh(0.5), ln(2 cosh 0.5) + 2 ln 2
    0.462117 2.199556
    """
    model = _check_model(model)
    b = check_beta(beta, allow_inf=True, scalar=True)
    return _enumerate_law(model.J, model.h, b, (-1, 1), clamp, name="model")
