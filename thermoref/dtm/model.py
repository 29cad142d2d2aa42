r"""The reverse process: one Boltzmann machine on a grid graph per denoising step, sampled through a backend.

Reverse step :math:`t` draws the less noisy image :math:`x_{t-1}` given :math:`x_t` from

.. math:: p_\theta(s \mid s_t) = \frac{1}{Z_t(s_t)} \exp\bigl(-E_t(s) + \gamma_t\, s \cdot s_t\bigr), \qquad
          E_t(s) = -\sum_{(i,j) \in \mathcal{E}} w_{t,ij}\, s_i s_j - \sum_i b_{t,i}\, s_i,

in spins :math:`s = 2x - 1`, with :math:`\gamma_t` fixed by the forward process
(:func:`thermoref.dtm.coupling_strength`) and :math:`\mathcal{E}` the edges of a grid graph
(:func:`grid_edges`). The true reverse conditional is :math:`p(s_{t-1} \mid s_t) \propto p(s_{t-1})\,
e^{\gamma_t s_{t-1} \cdot s_t}`: only the prior factor is learned, the coupling to :math:`s_t` is exact. In Ising
form (:math:`\beta = 1`) it is :math:`J = w` on the edges and :math:`h = b_t + \gamma_t s_t`: one model per
conditioning image, so a batch of :math:`B` images is one block-diagonal Ising model of :math:`Bn` spins,
which any :class:`thermoref.backend.SamplingUnit` samples by chromatic block Gibbs in one call. The single
energy-based model of the data is the case :math:`T = 1`, :math:`q_1 = 1/2` (:math:`\gamma_1 = 0`).

References: Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like
models", arXiv:2510.23972; Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for
Boltzmann machines", Cognitive Science 9, 147; Geman, S. & Geman, D. (1984) IEEE PAMI 6, 721.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.special import logsumexp

from .._validation import as_float_array, as_rng, check_allocation, check_bool, check_positive_int
from ..backend.protocol import SamplingUnit
from ..backend.reference import NumpyBackend
from ..testing import enumerate_states
from .forward import _check_flip, _check_pixels, _gamma

__all__ = ["NEIGHBOURHOODS", "MAX_SIDE", "MAX_PARAMETER", "grid_edges", "grid_colouring", "DTM", "step_energy", "step_ising", "sample_step",
           "step_chain", "generate", "exact_step_law"]

#: Grid neighbourhoods :func:`grid_edges` knows: number of neighbours of an interior pixel -> the offsets
#: :math:`(\Delta r, \Delta c)` of one half of them (the other half is the mirror image).
NEIGHBOURHOODS = {
    4: ((0, 1), (1, 0)),
    8: ((0, 1), (1, 0), (1, 1), (1, -1)),
    12: ((0, 1), (1, 0), (1, 1), (1, -1), (0, 2), (2, 0)),
    24: tuple((dr, dc) for dr in range(3) for dc in range(-2, 3) if (dr, dc) > (0, 0)),
}

#: Largest image side the model accepts (4096 pixels).
MAX_SIDE = 64

#: Largest magnitude of a coupling or field: energies of images then stay far inside the float64 range.
MAX_PARAMETER = 1e100

#: Largest number of pixels :func:`exact_step_law` enumerates.
_MAX_EXACT = 16


def grid_edges(side: int, neighbourhood: int = 8) -> np.ndarray:
    r"""The edges of a ``side`` x ``side`` grid graph whose pixels couple to their ``neighbourhood`` nearest.

    Parameters
    ----------
    side : int
        Image side, :math:`2 \le L \le` :data:`MAX_SIDE`; pixels are numbered row-major, :math:`i = rL + c`.
    neighbourhood : {4, 8, 12, 24}
        Neighbours of an interior pixel: 4 (nearest), 8 (with diagonals), 12 (and distance two along rows and
        columns), 24 (the 5 x 5 window). Open boundaries.

    Returns
    -------
    ndarray of int64, shape (m, 2)
        Edges :math:`(i, j)` with :math:`i < j`, sorted.

    Notes
    -----
    An edge joins :math:`(r, c)` and :math:`(r + \Delta r, c + \Delta c)` for every offset of
    :data:`NEIGHBOURHOODS` that stays inside the grid, so for 4 neighbours :math:`m = 2L(L-1)` and for 8,
    :math:`m = 2L(L-1) + 2(L-1)^2`. Local couplings are what a chip wires: each unit talks to a few
    neighbours, and a colouring with few colours (4 for the 8-neighbourhood) updates the grid in few phases.

    References
    ----------
    Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like models",
    arXiv:2510.23972 (grid-local Boltzmann machines).

    Examples
    --------
    >>> from thermoref.dtm import grid_edges
    >>> print(len(grid_edges(3, 4)), len(grid_edges(3, 8)), grid_edges(2, 8).tolist())
    12 20 [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    """
    L = check_positive_int(side, "side", minimum=2)
    if L > MAX_SIDE:
        raise ValueError(f"side: must be <= {MAX_SIDE}, got {L}")
    if isinstance(neighbourhood, (bool, np.bool_)) or not isinstance(neighbourhood, (int, np.integer)):
        raise TypeError(f"neighbourhood: expected an integer, got {type(neighbourhood).__name__}")
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f"neighbourhood: expected one of {sorted(NEIGHBOURHOODS)}, got {neighbourhood!r}")
    r, c = np.divmod(np.arange(L * L), L)  # (n,)
    pairs = []
    for dr, dc in NEIGHBOURHOODS[neighbourhood]:  # a handful of offsets, each vectorized over pixels
        ok = (r + dr < L) & (c + dc >= 0) & (c + dc < L)
        i = np.flatnonzero(ok)
        pairs.append(np.stack([i, i + dr * L + dc], axis=1))
    e = np.concatenate(pairs)
    e.sort(axis=1)
    return e[np.lexsort((e[:, 1], e[:, 0]))].astype(np.int64)


def grid_colouring(side: int, neighbourhood: int = 8) -> np.ndarray:
    r"""A proper colouring of :func:`grid_edges` from the pixels' coordinates: 2, 4, 9 or 9 colours.

    Parameters
    ----------
    side : int
        Image side, :math:`2 \le L \le` :data:`MAX_SIDE`.
    neighbourhood : {4, 8, 12, 24}
        Grid neighbourhood.

    Returns
    -------
    ndarray of int64, shape (n,)
        Colour of each pixel: :math:`(r + c) \bmod 2` (4 neighbours), :math:`2(r \bmod 2) + (c \bmod 2)` (8),
        :math:`3(r \bmod 3) + (c \bmod 3)` (12 and 24).

    Notes
    -----
    Two pixels at offset :math:`(\Delta r, \Delta c)` with :math:`\max(|\Delta r|, |\Delta c|) \le k - 1`,
    not both zero, differ modulo :math:`k` in at least one coordinate, so the colourings are proper. For 4,
    8 and 24 neighbours they are optimal (the graphs hold an edge, a 2 x 2 and a 3 x 3 clique). This is the
    colouring a chip wires: one phase per colour, so a sweep of the 8-neighbourhood takes 4 phases, where
    :func:`thermoref.ising.greedy_colouring` (which the reference backend uses on any graph) finds 6.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741 (coding sets of a lattice).

    Examples
    --------
    >>> from thermoref.dtm import grid_colouring
    >>> print(grid_colouring(3, 8).reshape(3, 3))
    [[0 1 0]
     [2 3 2]
     [0 1 0]]
    """
    grid_edges(side, neighbourhood)  # validates both
    r, c = np.divmod(np.arange(int(side) ** 2, dtype=np.int64), int(side))
    if neighbourhood == 4:
        return (r + c) % 2
    if neighbourhood == 8:
        return 2 * (r % 2) + c % 2
    return 3 * (r % 3) + c % 3


@dataclass(frozen=True)
class DTM:
    r"""A denoising thermodynamic model: the forward flip schedule and one grid Boltzmann machine per step.

    Parameters
    ----------
    side : int
        Image side :math:`L`; :math:`n = L^2` pixels.
    edges : array_like of int, shape (m, 2)
        Coupled pixel pairs :math:`i < j` (:func:`grid_edges`), no duplicates.
    weights : array_like of float, shape (T, m)
        Couplings :math:`w_{t,e}` of each step, finite.
    biases : array_like of float, shape (T, n)
        Fields :math:`b_{t,i}` of each step, finite.
    flip : array_like of float, shape (T,)
        Forward flip probabilities :math:`q_t \in (0, 1/2]` (:func:`thermoref.dtm.flip_schedule`).

    Attributes
    ----------
    side : int
        As given.
    edges : ndarray of int64, shape (m, 2)
        As given, read-only.
    weights : ndarray of float64, shape (T, m)
        As given, read-only.
    biases : ndarray of float64, shape (T, n)
        As given, read-only.
    flip : ndarray of float64, shape (T,)
        As given, read-only. The properties ``T`` (steps), ``n`` (pixels) and ``gammas``
        (:math:`\gamma_t = \operatorname{artanh}(1 - 2q_t)`, shape (T,)) follow from them.

    Notes
    -----
    Step :math:`t` (1-based) uses ``weights[t - 1]``, ``biases[t - 1]``, ``flip[t - 1]``; its law is
    :math:`p(s \mid s_t) \propto \exp(\sum_e w_{t,e} s_is_j + \sum_i (b_{t,i} + \gamma_t s_{t,i}) s_i)`.

    References
    ----------
    Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like models",
    arXiv:2510.23972.

    Examples
    --------
    >>> from thermoref.dtm import DTM, flip_schedule
    >>> dtm = DTM.zeros(4, flip_schedule(3, 0.01))
    >>> print(dtm.T, dtm.n, dtm.weights.shape, dtm.gammas.round(3))
    3 16 (3, 42) [0.219 0.219 0.219]
    """

    side: int
    edges: np.ndarray
    weights: np.ndarray
    biases: np.ndarray
    flip: np.ndarray

    def __post_init__(self) -> None:
        L = check_positive_int(self.side, "side", minimum=2)
        if L > MAX_SIDE:
            raise ValueError(f"side: must be <= {MAX_SIDE}, got {L}")
        n = L * L
        e = np.asarray(self.edges)
        if e.dtype == object or not np.issubdtype(e.dtype, np.integer):
            raise TypeError(f"edges: expected integer pixel pairs, got dtype {e.dtype}")
        if e.ndim != 2 or e.shape[1] != 2:
            raise ValueError(f"edges: expected shape (m, 2), got {e.shape}")
        if e.size and (e.min() < 0 or e.max() >= n or (e[:, 0] >= e[:, 1]).any()):
            raise ValueError(f"edges: every pair must be (i, j) with 0 <= i < j < {n}")
        if np.unique(e[:, 0] * n + e[:, 1]).size != len(e):
            raise ValueError("edges: duplicate pairs")
        q = _check_flip(self.flip)
        T = q.size
        w = as_float_array(self.weights, "weights", ndim=2)
        if w.shape != (T, len(e)):
            raise ValueError(f"weights: expected shape ({T}, {len(e)}) (steps, edges), got {w.shape}")
        b = as_float_array(self.biases, "biases", ndim=2)
        if b.shape != (T, n):
            raise ValueError(f"biases: expected shape ({T}, {n}) (steps, pixels), got {b.shape}")
        for name, a in (("weights", w), ("biases", b)):  # energies of every image stay finite in float64
            if a.size and np.abs(a).max() > MAX_PARAMETER:
                raise ValueError(f"{name}: magnitudes must be <= {MAX_PARAMETER:g}, got {np.abs(a).max():g}")
        for name, a in (("edges", e.astype(np.int64)), ("weights", w), ("biases", b), ("flip", q)):
            a = np.array(a)
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        object.__setattr__(self, "side", L)

    @classmethod
    def zeros(cls, side: int, flip: ArrayLike, *, neighbourhood: int = 8) -> "DTM":
        r"""A model with every coupling and field zero (each step then undoes the flips of its own step only).

        Parameters
        ----------
        side : int
            Image side.
        flip : array_like of shape (T,)
            Forward flip probabilities.
        neighbourhood : {4, 8, 12, 24}
            Grid neighbourhood (:func:`grid_edges`).

        Returns
        -------
        DTM

        Examples
        --------
        >>> from thermoref.dtm import DTM
        >>> DTM.zeros(3, [0.5], neighbourhood=4).weights.shape  # the single-EBM case
        (1, 12)
        """
        e = grid_edges(side, neighbourhood)
        q = _check_flip(flip)
        return cls(side, e, np.zeros((q.size, len(e))), np.zeros((q.size, int(side) ** 2)), q)

    @property
    def T(self) -> int:
        """Number of denoising steps."""
        return int(self.flip.size)

    @property
    def n(self) -> int:
        """Pixels per image."""
        return self.side * self.side

    @property
    def gammas(self) -> np.ndarray:
        r""":math:`\gamma_t = \operatorname{artanh}(1 - 2q_t)`, shape (T,)."""
        return _gamma(self.flip)

    def couplings(self, t: int) -> sparse.csr_array:
        r"""The symmetric coupling matrix :math:`J` of step ``t``, shape (n, n), sparse.

        Parameters
        ----------
        t : int
            Step, :math:`1 \le t \le T`.

        Returns
        -------
        scipy.sparse.csr_array of shape (n, n)
            :math:`J_{ij} = J_{ji} = w_{t,e}` for edge :math:`e = (i, j)`, zero diagonal.

        Notes
        -----
        :math:`\tfrac12 s^\top J s = \sum_{e=(i,j)} w_{t,e} s_is_j`: the coupling term of the step's energy in
        the Ising convention of :class:`thermoref.ising.IsingModel`.

        References
        ----------
        Ising, E. (1925) "Beitrag zur Theorie des Ferromagnetismus", Z. Phys. 31, 253-258.

        Examples
        --------
        >>> from thermoref.dtm import DTM
        >>> print(DTM.zeros(2, [0.25]).couplings(1).shape)
        (4, 4)
        """
        k = _check_step(self, t) - 1
        i, j = self.edges[:, 0], self.edges[:, 1]
        w = self.weights[k]
        return sparse.csr_array((np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))),
                                shape=(self.n, self.n))


def _check_dtm(dtm: object) -> DTM:
    if not isinstance(dtm, DTM):
        raise TypeError(f"dtm: expected a thermoref.dtm.DTM, got {type(dtm).__name__}")
    return dtm


def _check_step(dtm: DTM, t: object) -> int:
    t = check_positive_int(t, "t")
    if t > dtm.T:
        raise ValueError(f"t: must be <= the number of steps {dtm.T}, got {t}")
    return t


def _check_backend(backend: object) -> SamplingUnit:
    if backend is None:
        return NumpyBackend()
    if not isinstance(backend, SamplingUnit):
        raise TypeError(f"backend: expected a thermoref.backend.SamplingUnit, got {type(backend).__name__}")
    return backend


def _spins(x: np.ndarray) -> np.ndarray:
    return 2.0 * x - 1.0  # float64 spins


def _statistics(s: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """phi(s) = (s_i s_j per edge, s_i per pixel): spins (..., n) -> (..., m + n); -E_t(s) = phi(s) . theta_t."""
    return np.concatenate([s[..., edges[:, 0]] * s[..., edges[:, 1]], s], axis=-1)


def _pairs(x_prev: ArrayLike, x_t: ArrayLike, n: int, *, empty_ok: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of (x_{t-1}, x_t) pairs, shapes (N, n) and (N or 1, n) or (1, n) and (N, n)."""
    xp, xt = _check_pixels(x_prev, "x_prev", n), _check_pixels(x_t, "x_t", n)
    if xp.shape[0] != xt.shape[0] and 1 not in (xp.shape[0], xt.shape[0]):
        raise ValueError(f"x_t: expected 1 or {xp.shape[0]} images (as x_prev), got {xt.shape[0]}")
    if not empty_ok and 0 in (xp.shape[0], xt.shape[0]):
        raise ValueError("x_prev: expected at least one image pair (the gradient is a mean over pairs)")
    return xp, xt


def _enumerated(dtm: DTM) -> np.ndarray:
    """Every image as float64 spins, shape (2**n, n), in enumerate_states order; refuses n > 16 pixels."""
    if dtm.n > _MAX_EXACT:
        raise ValueError(f"dtm: exact enumeration is limited to {_MAX_EXACT} pixels, got {dtm.n}")
    return enumerate_states(dtm.n, (-1, 1)).astype(np.float64)


def step_energy(dtm: DTM, t: int, x_prev: ArrayLike, x_t: ArrayLike) -> np.ndarray:
    r"""Conditional energy of step ``t``: :math:`E_t(s) - \gamma_t\, s \cdot s_t` for each image pair.

    Parameters
    ----------
    dtm : DTM
        The model.
    t : int
        Step, :math:`1 \le t \le T`.
    x_prev : array_like of int, shape (N, n) or (n,)
        Candidate less noisy images :math:`x_{t-1}`, pixels in {0, 1}.
    x_t : array_like of int, shape (N, n) or (n,)
        Conditioning images :math:`x_t` (broadcast against ``x_prev``).

    Returns
    -------
    ndarray of float64, shape (N,)
        :math:`-\sum_e w_{t,e}s_is_j - \sum_i (b_{t,i} + \gamma_t s_{t,i}) s_i`, so that
        :math:`p_\theta(x_{t-1} \mid x_t) \propto e^{-\text{energy}}`.

    Notes
    -----
    The energy of the Ising form :math:`-\tfrac12 s^\top J s - h^\top s` with :math:`h = b_t + \gamma_t s_t`.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 147-169.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, step_energy
    >>> dtm = DTM.zeros(2, [0.25])  # gamma = artanh(1/2) = ln(3)/2
    >>> print(step_energy(dtm, 1, [[1, 1, 1, 1]], [[1, 1, 1, 0]]).round(6), round(-np.log(3), 6))
    [-1.098612] -1.098612
    """
    dtm = _check_dtm(dtm)
    k = _check_step(dtm, t) - 1
    xp, xt = _pairs(x_prev, x_t, dtm.n)
    s, st = _spins(xp), _spins(xt)
    i, j = dtm.edges[:, 0], dtm.edges[:, 1]
    pair = (s[:, i] * s[:, j]) @ dtm.weights[k]  # (N,)
    return -pair - s @ dtm.biases[k] - dtm.gammas[k] * np.einsum("ni,ni->n", *np.broadcast_arrays(s, st))


def step_ising(dtm: DTM, t: int, x_t: ArrayLike) -> tuple[sparse.csr_array, np.ndarray]:
    r"""The Ising model of step ``t`` for a batch of conditioning images: block diagonal, one block per image.

    Parameters
    ----------
    dtm : DTM
        The model.
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images, pixels in {0, 1}.

    Returns
    -------
    J : scipy.sparse.csr_array of shape (B n, B n)
        :math:`I_B \otimes J_t`: the step's couplings once per image, no coupling between images.
    h : ndarray of float64, shape (B n,)
        :math:`b_t + \gamma_t s_t` of each image, concatenated.

    Notes
    -----
    The law :math:`e^{\frac12 s^\top J s + h^\top s}/Z` of the block-diagonal model is the product of the
    :math:`B` conditionals :math:`p_\theta(s^{(k)} \mid s_t^{(k)})`, so one call of
    :meth:`thermoref.backend.SamplingUnit.sample_ising` (``n_samples=1``, ``beta=1``) draws one image per
    conditioning image, with the device holding all :math:`B` copies at once.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741.

    Examples
    --------
    >>> from thermoref.dtm import DTM, step_ising
    >>> J, h = step_ising(DTM.zeros(3, [0.25, 0.25]), 2, [[0] * 9, [1] * 9])
    >>> print(J.shape, h.reshape(2, 9)[:, 0].round(4))
    (18, 18) [-0.5493  0.5493]
    """
    dtm = _check_dtm(dtm)
    k = _check_step(dtm, t) - 1
    st = _spins(_check_pixels(x_t, "x_t", dtm.n))  # (B, n)
    B, n, m = st.shape[0], dtm.n, len(dtm.edges)
    check_allocation((B, 4 * m + n), "x_t")  # the block-diagonal couplings' indices and values
    base = (np.arange(B, dtype=np.int64) * n)[:, None]  # (B, 1) first spin of each image's block
    i, j = dtm.edges[:, 0], dtm.edges[:, 1]
    rows = np.concatenate([base + i, base + j], axis=1).ravel()  # (B * 2m,)
    cols = np.concatenate([base + j, base + i], axis=1).ravel()
    w = np.broadcast_to(np.concatenate([dtm.weights[k], dtm.weights[k]]), (B, 2 * m)).ravel()
    J = sparse.csr_array((w, (rows, cols)), shape=(B * n, B * n))
    h = (dtm.biases[k] + dtm.gammas[k] * st).ravel()
    return J, h


def _check_init(init: ArrayLike | None, x_t: np.ndarray, n: int) -> np.ndarray:
    if init is None:
        return x_t
    s = _check_pixels(init, "init", n)
    if s.shape != x_t.shape:
        raise ValueError(f"init: expected shape {x_t.shape} (as x_t), got {s.shape}")
    return s


def sample_step(dtm: DTM, t: int, x_t: ArrayLike, *, n_sweeps: int, rng: np.random.Generator | int,
                backend: SamplingUnit | None = None, init: ArrayLike | None = None) -> np.ndarray:
    r"""Draw :math:`x_{t-1}` given each :math:`x_t` by ``n_sweeps`` chromatic block-Gibbs sweeps on a backend.

    Parameters
    ----------
    dtm : DTM
        The model.
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images, pixels in {0, 1}.
    n_sweeps : int
        Sweeps of each chain, >= 0 (0 returns ``init``).
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : SamplingUnit, optional
        The unit that samples (its ledger is charged); :class:`thermoref.backend.NumpyBackend` by default.
    init : array_like of int, shape (B, n), optional
        Starting images; ``None`` starts each chain at its conditioning image :math:`x_t`.

    Returns
    -------
    ndarray of int8, shape (B, n)
        One draw of :math:`x_{t-1}` per conditioning image, pixels in {0, 1}.

    Notes
    -----
    One call of ``backend.sample_ising`` on :func:`step_ising`'s block-diagonal model with ``n_samples=1``,
    ``beta=1``. As ``n_sweeps`` grows the draws approach :math:`p_\theta(x_{t-1} \mid x_t)`; how fast is the
    mixing question of chapter 12.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, sample_step
    >>> x = sample_step(DTM.zeros(3, [0.25]), 1, np.ones((5, 9), dtype=np.int8), n_sweeps=2, rng=0)
    >>> x.shape, x.dtype
    ((5, 9), dtype('int8'))
    """
    dtm = _check_dtm(dtm)
    _check_step(dtm, t)
    xt = _check_pixels(x_t, "x_t", dtm.n)
    x0 = _check_init(init, xt, dtm.n)
    unit = _check_backend(backend)
    J, h = step_ising(dtm, t, xt)
    s = unit.sample_ising(J, h, 1.0, n_sweeps=n_sweeps, n_samples=1, init=(2 * x0 - 1).reshape(1, -1), rng=rng)
    return ((s.reshape(xt.shape) + 1) // 2).astype(np.int8)


def step_chain(dtm: DTM, t: int, x_t: ArrayLike, *, n_sweeps: int, rng: np.random.Generator | int,
               backend: SamplingUnit | None = None, init: ArrayLike | None = None) -> np.ndarray:
    r"""The whole trajectory of step ``t``'s chains, one state per sweep (for autocorrelation times).

    Parameters
    ----------
    dtm : DTM
        The model.
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images (held fixed while the chains run).
    n_sweeps : int
        Sweeps, >= 1.
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : SamplingUnit, optional
        The unit that samples; :class:`thermoref.backend.NumpyBackend` by default.
    init : array_like of int, shape (B, n), optional
        Starting images; ``None`` starts at :math:`x_t`.

    Returns
    -------
    ndarray of int8, shape (n_sweeps + 1, B, n)
        ``out[0]`` is the start, ``out[k]`` the state after ``k`` sweeps.

    Notes
    -----
    ``n_sweeps`` calls of :func:`sample_step` with one sweep each, each starting where the last ended: the
    same Markov chain :math:`x^{(k+1)} \sim P(x^{(k)}, \cdot)` as one call with ``n_sweeps`` sweeps, with every
    state kept for estimators of :math:`\rho_k = \mathrm{Corr}(f(x^{(0)}), f(x^{(k)}))`.

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration*, Springer, 131-192.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, step_chain
    >>> step_chain(DTM.zeros(3, [0.25]), 1, np.ones((4, 9), dtype=np.int8), n_sweeps=5, rng=0).shape
    (6, 4, 9)
    """
    dtm = _check_dtm(dtm)
    _check_step(dtm, t)
    xt = _check_pixels(x_t, "x_t", dtm.n)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    check_allocation((n_sweeps + 1,) + xt.shape, "n_sweeps", itemsize=1)
    unit, rng = _check_backend(backend), as_rng(rng)
    out = np.empty((n_sweeps + 1,) + xt.shape, dtype=np.int8)
    out[0] = _check_init(init, xt, dtm.n)
    J, h = step_ising(dtm, t, xt)  # built once: the conditioning images do not change
    for k in range(n_sweeps):  # a loop over sweeps: each needs the last
        s = unit.sample_ising(J, h, 1.0, n_sweeps=1, n_samples=1, init=(2 * out[k] - 1).reshape(1, -1), rng=rng)
        out[k + 1] = (s.reshape(xt.shape) + 1) // 2
    return out


def generate(dtm: DTM, n_images: int, *, n_sweeps: int, rng: np.random.Generator | int,
             backend: SamplingUnit | None = None, return_path: bool = False) -> np.ndarray:
    r"""Generate images: uniform noise :math:`x_T`, then steps :math:`T, \dots, 1` of the reverse process.

    Parameters
    ----------
    dtm : DTM
        The model.
    n_images : int
        Images to generate, >= 1 (all steps run on the whole batch at once).
    n_sweeps : int
        Block-Gibbs sweeps per step, >= 0.
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : SamplingUnit, optional
        The unit that samples (its ledger is charged for every step); :class:`thermoref.backend.NumpyBackend`
        by default.
    return_path : bool
        Return every :math:`x_t`, not only :math:`x_0`.

    Returns
    -------
    ndarray of int8, shape (n_images, n), or (T + 1, n_images, n) with ``return_path``
        :math:`x_0` (pixels in {0, 1}); with ``return_path``, ``out[t]`` is :math:`x_t`.

    Notes
    -----
    Ancestral sampling of :math:`p(x_T)\prod_t p_\theta(x_{t-1} \mid x_t)` with :math:`p(x_T)` uniform; each
    step's chain starts at :math:`x_t`. Exact only as ``n_sweeps`` grows and if each step's model is right,
    and :func:`thermoref.dtm.start_error_bound` bounds the cost of the uniform start.

    References
    ----------
    Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like models",
    arXiv:2510.23972.

    Examples
    --------
    >>> from thermoref.dtm import DTM, generate
    >>> generate(DTM.zeros(3, [0.25, 0.25]), 6, n_sweeps=2, rng=0, return_path=True).shape
    (3, 6, 9)
    """
    dtm = _check_dtm(dtm)
    N = check_positive_int(n_images, "n_images")
    check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    path_wanted = check_bool(return_path, "return_path")
    check_allocation((dtm.T + 1, N, dtm.n), "n_images", itemsize=1)
    unit, rng = _check_backend(backend), as_rng(rng)
    path = np.empty((dtm.T + 1, N, dtm.n), dtype=np.int8)
    path[dtm.T] = rng.integers(0, 2, size=(N, dtm.n), dtype=np.int8)
    for t in range(dtm.T, 0, -1):  # the steps are sequential: each conditions on the last
        path[t - 1] = sample_step(dtm, t, path[t], n_sweeps=n_sweeps, rng=rng, backend=unit)
    return path if path_wanted else path[0].copy()


def exact_step_law(dtm: DTM, t: int, x_t: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""The exact conditional law :math:`p_\theta(x_{t-1} \mid x_t)` by enumeration of all :math:`2^n` images.

    Parameters
    ----------
    dtm : DTM
        A model with at most 16 pixels.
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images.

    Returns
    -------
    states : ndarray of int8, shape ``(2**n, n)``
        Every image (pixels), in :func:`thermoref.testing.enumerate_states` order.
    p : ndarray of float64, shape ``(B, 2**n)``
        :math:`p_\theta(\text{states}[k] \mid x_t^{(b)})`, each row summing to 1.

    Notes
    -----
    :math:`p = \exp(-E - \log\sum e^{-E})` over the enumerated conditional energies (:func:`step_energy`),
    computed as one matrix product for the field term, in log space.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 147-169.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, exact_step_law
    >>> states, p = exact_step_law(DTM.zeros(2, [0.25]), 1, [[1, 1, 1, 1]])
    >>> print(round(float(p[0, -1]), 6), 0.75 ** 4)  # no couplings: each pixel stays with prob 1 - q
    0.316406 0.31640625
    """
    dtm = _check_dtm(dtm)
    k = _check_step(dtm, t) - 1
    S = _enumerated(dtm)  # (2**n, n)
    st = _spins(_check_pixels(x_t, "x_t", dtm.n))  # (B, n)
    check_allocation((st.shape[0], 2 ** dtm.n), "x_t")
    i, j = dtm.edges[:, 0], dtm.edges[:, 1]
    logw = (S[:, i] * S[:, j]) @ dtm.weights[k] + S @ dtm.biases[k]  # (2**n,) the prior factor, -E_t
    logw = logw[None, :] + dtm.gammas[k] * (st @ S.T)  # (B, 2**n)
    p = np.exp(logw - logsumexp(logw, axis=1, keepdims=True))
    return ((S + 1) // 2).astype(np.int8), p
