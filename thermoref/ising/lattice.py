r"""The periodic square-lattice Ising model: checkerboard heat bath (readable and tuned) and cluster updates.

The energy of a configuration :math:`s \in \{-1,+1\}^{L_x \times L_y}` on the periodic lattice is
:math:`E(s) = -J\sum_{\langle ij\rangle} s_i s_j - h\sum_i s_i`, each nearest-neighbour bond counted once.
Sites with :math:`i + j` even ("black") only touch white sites and vice versa, so a heat-bath sweep updates
all black sites at once, then all white sites: a chromatic block Gibbs sweep with two colours.

Two implementations of the same sweep live here. :func:`checkerboard_gibbs_reference` is the readable one the
book explains (int8 spins, ``np.roll``, float64 ``exp``, one full-lattice ``rng.random`` per colour,
``np.where``). :func:`checkerboard_gibbs` is the one the package runs: the four sublattices are stored
separately as 0/1 bytes, each update consumes one raw 32-bit word of the generator (compared with an
integer threshold, so no float conversion), the heat-bath probability is tabulated at the five possible
neighbour counts, and every other operation writes into a preallocated buffer. Both sample the same law (``tests/test_lattice.py`` checks each against enumeration).

:func:`swendsen_wang` and :func:`wolff` are Fortuin–Kasteleyn cluster updates built on
``scipy.sparse.csgraph.connected_components``.

References: Onsager, L. (1944) Phys. Rev. 65, 117; Swendsen, R. H. & Wang, J.-S. (1987) PRL 58, 86;
Wolff, U. (1989) PRL 62, 361; Newman, M. E. J. & Barkema, G. T. (1999) "Monte Carlo Methods in Statistical
Physics", ch. 3–4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import expit

from .._validation import as_rng, check_allocation, check_beta, check_positive_int, check_real, check_work
from ._chromatic import heat_bath_gain
from .model import _MAX_SCALE

_CHUNK = 1 << 16  # sites per cache block of the tuned sweep (a 256 kB word buffer and a 256 kB threshold buffer)

__all__ = [
    "checkerboard_gibbs",
    "checkerboard_gibbs_reference",
    "checkerboard_trace",
    "LatticeTrace",
    "heat_bath_table",
    "lattice_energy",
    "magnetization",
    "swendsen_wang",
    "wolff",
]


def _check_lattice(spins: ArrayLike, name: str = "spins", *, even: bool = False) -> np.ndarray:
    """Return ``spins`` as an int8 array of shape (..., Lx, Ly) with entries in {-1, +1}."""
    if isinstance(spins, (str, bytes)) or spins is None:
        raise TypeError(f"{name}: expected an array of spins, got {type(spins).__name__}")
    s = np.asarray(spins)
    if not (np.issubdtype(s.dtype, np.integer) or np.issubdtype(s.dtype, np.floating)):
        raise TypeError(f"{name}: expected an integer array of -1/+1, got dtype {s.dtype}")
    if s.ndim < 2:
        raise ValueError(f"{name}: expected shape (..., Lx, Ly), got {s.shape}")
    if s.shape[-1] < 2 or s.shape[-2] < 2:
        raise ValueError(f"{name}: each lattice side must be at least 2, got {s.shape[-2:]}")
    if even and (s.shape[-1] % 2 or s.shape[-2] % 2):
        raise ValueError(f"{name}: the checkerboard needs even sides on a periodic lattice, got {s.shape[-2:]}")
    if not np.isin(s, (-1, 1)).all():
        raise ValueError(f"{name}: entries must be -1 or +1")
    return s.astype(np.int8)


def _check_scale(J: float, h: float, n_sites: int | None = None) -> None:
    """Refuse a coupling or field so large that a local field (or, given ``n_sites``, an energy) overflows.

    A local field is at most :math:`4|J| + |h|` and the energy of a lattice of :math:`N` sites at most
    :math:`N(2|J| + |h|)`; both must stay below :data:`thermoref.ising.model._MAX_SCALE` (float64 max / 8).
    """
    n = 2 if n_sites is None else max(2, n_sites)  # the field bound 4|J| + |h| is the energy bound of N = 2
    if not n * 2 * abs(J) <= _MAX_SCALE:
        raise ValueError(f"J: |J| = {abs(J):.3g} makes the {'local field' if n_sites is None else 'energy'} "
                         "overflow float64")
    if not n * (2 * abs(J) + abs(h)) <= _MAX_SCALE:
        raise ValueError(f"h: |h| = {abs(h):.3g} makes the {'local field' if n_sites is None else 'energy'} "
                         "overflow float64")


def lattice_energy(spins: ArrayLike, J: float = 1.0, h: float = 0.0) -> np.ndarray:
    r"""Total energy of each periodic square-lattice configuration.

    Parameters
    ----------
    spins : array_like of shape (..., Lx, Ly)
        Spins in {-1, +1}; leading axes index independent configurations.
    J : float
        Nearest-neighbour coupling.
    h : float
        Uniform field.

    Returns
    -------
    E : ndarray of float64, shape (...)
        One energy per configuration.

    Notes
    -----
    .. math:: E = -J\sum_{\langle ij\rangle} s_i s_j - h \sum_i s_i,

    each bond counted once, through the right and the down neighbour of every site (``np.roll``). On a side of
    length 2 the two neighbours along that side are the same site and the bond is counted twice, as the
    transfer-matrix solution of the finite lattice counts it. Couplings or fields so large that the total
    energy would overflow float64 are refused.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import lattice_energy
    >>> print(lattice_energy(np.ones((4, 4), dtype=np.int8)))
    -32.0
    """
    s = _check_lattice(spins)
    J, h = check_real(J, "J"), check_real(h, "h")
    _check_scale(J, h, s.shape[-1] * s.shape[-2])
    s = s.astype(np.float64)
    bonds = s * np.roll(s, -1, axis=-1) + s * np.roll(s, -1, axis=-2)  # (..., Lx, Ly)
    return -J * bonds.sum(axis=(-2, -1)) - h * s.sum(axis=(-2, -1))


def magnetization(spins: ArrayLike) -> np.ndarray:
    r"""Magnetization per spin :math:`m = \frac1N\sum_i s_i` of each configuration.

    Parameters
    ----------
    spins : array_like of shape (..., Lx, Ly)
        Spins in {-1, +1}; leading axes index independent configurations.

    Returns
    -------
    m : ndarray of float64, shape (...)
        In [-1, 1].

    Notes
    -----
    .. math:: m = \frac{1}{N}\sum_{i=1}^{N} s_i, \qquad N = L_x L_y,

    the order parameter: :math:`|m| \to 1` in the ordered phase, :math:`m \to 0` above :math:`T_c` as the
    lattice grows.

    Examples
    --------
    >>> from thermoref.ising import magnetization
    >>> print(magnetization([[1, 1], [1, -1]]))
    0.5
    """
    s = _check_lattice(spins)
    return s.mean(axis=(-2, -1), dtype=np.float64)


def heat_bath_table(beta: float, J: float = 1.0, h: float = 0.0) -> np.ndarray:
    r"""Heat-bath probability of spin up at each number ``k`` = 0..4 of up neighbours.

    Parameters
    ----------
    beta : float
        Inverse temperature, :math:`0 \le \beta < \infty` (huge values give the zero-temperature rule 0, 1/2, 1).
    J : float
        Nearest-neighbour coupling.
    h : float
        Uniform field.

    Returns
    -------
    ndarray of float64, shape (5,)
        :math:`P(s_i = +1)` for :math:`k = 0, \dots, 4` up neighbours.

    Notes
    -----
    The neighbour sum is :math:`\sum_j s_j = 2k - 4`, so

    .. math:: P(s_i = +1 \mid k) = \sigma\big(2\beta(J(2k-4) + h)\big),

    with :math:`\sigma` the logistic function: the conditional law of one spin given its four neighbours, which
    :func:`checkerboard_gibbs` tabulates once and looks up for every site.

    Examples
    --------
    >>> from thermoref.ising import heat_bath_table
    >>> print(heat_bath_table(0.5).round(6))
    [0.017986 0.119203 0.5      0.880797 0.982014]
    """
    beta = check_beta(beta, scalar=True)
    J, h = check_real(J, "J"), check_real(h, "h")
    _check_scale(J, h)
    k = np.arange(5)
    with np.errstate(over="ignore"):  # g x = +-inf at huge beta: sigma is then exactly 0 or 1
        return expit(heat_bath_gain(beta, 2.0) * (J * (2 * k - 4) + h))  # (5,)


def checkerboard_gibbs_reference(spins: ArrayLike, beta: float, n_sweeps: int, *, rng, J: float = 1.0,
                                 h: float = 0.0) -> np.ndarray:
    r"""Checkerboard heat-bath sweeps written the straightforward way (the book's explanation).

    Parameters
    ----------
    spins : array_like of shape (..., Lx, Ly)
        Initial spins in {-1, +1}, both sides even; leading axes are independent chains.
    beta : float
        Inverse temperature (finite, non-negative).
    n_sweeps : int
        Number of sweeps (each updates every black site, then every white site); 0 returns the input.
    rng : numpy.random.Generator or int
        Random source.
    J : float
        Nearest-neighbour coupling.
    h : float
        Uniform field.

    Returns
    -------
    spins : ndarray of int8, shape (..., Lx, Ly)
        The configuration after ``n_sweeps`` sweeps.

    Notes
    -----
    Per colour: the neighbour sum :math:`n_i` by four ``np.roll``,

    .. math:: p_i = \frac{1}{1 + e^{-2\beta(J n_i + h)}}

    in float64 at every site, one uniform per site of the whole lattice, and ``np.where`` to write the new spins
    of that colour: every step touches the whole lattice for half of it updated, so the loop is limited by
    memory traffic. :func:`checkerboard_gibbs` samples the same law faster (the measured ratios are in
    ``benchmarks/bench_ising.py``).

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721–741. Newman, M. E. J. & Barkema, G. T. (1999) "Monte Carlo Methods in Statistical Physics", Oxford University Press, ch. 3–4.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import checkerboard_gibbs_reference
    >>> s = checkerboard_gibbs_reference(np.ones((8, 8), dtype=np.int8), beta=0.1, n_sweeps=20, rng=0)
    >>> s.shape, s.dtype
    ((8, 8), dtype('int8'))
    """
    s, beta, n_sweeps, J, h, rng = _check_sweep_args(spins, beta, n_sweeps, J, h, rng)
    gain = heat_bath_gain(beta, 2.0)  # 2 beta, capped at the largest float64
    i, j = np.indices(s.shape[-2:])
    black = (i + j) % 2 == 0  # (Lx, Ly)
    for _ in range(n_sweeps):
        for mask in (black, ~black):
            nb = (np.roll(s, 1, -1) + np.roll(s, -1, -1) + np.roll(s, 1, -2) + np.roll(s, -1, -2))  # (..., Lx, Ly)
            with np.errstate(over="ignore"):  # exp(inf) = inf gives p = 0: the beta -> inf limit
                p = 1.0 / (1.0 + np.exp(-gain * (J * nb + h)))
            u = rng.random(s.shape)
            new = np.where(u < p, 1, -1).astype(np.int8)
            s = np.where(mask, new, s)
    return s


def _split(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sublattices as 0/1 bytes of shape (2, M, Lx/2, Ly/2), M = number of lattices.

    black = (A, D) at (even, even) and (odd, odd) sites; white = (B, C) at (even, odd) and (odd, even).
    """
    up = (s > 0).view(np.uint8).reshape((-1,) + s.shape[-2:])  # (M, Lx, Ly)
    black = np.stack([up[:, 0::2, 0::2], up[:, 1::2, 1::2]])  # (2, M, Lx/2, Ly/2)
    white = np.stack([up[:, 0::2, 1::2], up[:, 1::2, 0::2]])  # (2, M, Lx/2, Ly/2)
    return black, white


def _merge(black: np.ndarray, white: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    s = np.empty((black.shape[1],) + shape[-2:], dtype=np.int8)  # (M, Lx, Ly)
    s[:, 0::2, 0::2], s[:, 1::2, 1::2] = black
    s[:, 0::2, 1::2], s[:, 1::2, 0::2] = white
    return (2 * s - 1).reshape(shape)


def _count_into(k: np.ndarray, X: np.ndarray, Y: np.ndarray, row_up: bool, col_up: bool) -> None:
    """Write into ``k`` the up-neighbour count of a sublattice whose neighbours are X[r, c], X[r -/+ 1, c],
    Y[r, c] and Y[r, c -/+ 1] (periodic; ``row_up``/``col_up`` pick the minus sign). All (M, h, w), contiguous.

    For A (even, even): X = C, Y = B, both minus; for D (odd, odd): X = B, Y = C, both plus; for B
    (even, odd): X = D minus, Y = A plus; for C (odd, even): X = A plus, Y = D minus. Each shift is one
    contiguous add over the flattened arrays of all lattices; the rows or columns it wrapped wrongly
    (into the neighbouring row or lattice) are then corrected by strided adds over one row or column, in
    uint8 modular arithmetic, which is exact because the final counts lie in 0..4.
    """
    w = k.shape[-1]
    kf, Xf, Yf = k.reshape(-1), X.reshape(-1), Y.reshape(-1)  # (M*h*w,)
    np.add(Xf, Yf, out=kf)
    several = k.shape[0] > 1  # with one lattice no row wraps into a neighbouring lattice
    if row_up:  # X[r - 1, c]
        kf[w:] += Xf[:-w]
        k[:, 0, :] += X[:, -1, :]
        if several:
            k[1:, 0, :] -= X[:-1, -1, :]
    else:  # X[r + 1, c]
        kf[:-w] += Xf[w:]
        k[:, -1, :] += X[:, 0, :]
        if several:
            k[:-1, -1, :] -= X[1:, 0, :]
    if col_up:  # Y[r, c - 1]
        kf[1:] += Yf[:-1]
        k[:, :, 0] += Y[:, :, -1]
        kf[w::w] -= Yf[w - 1:-1:w]
    else:  # Y[r, c + 1]
        kf[:-1] += Yf[1:]
        k[:, :, -1] += Y[:, :, 0]
        kf[w - 1:-1:w] -= Yf[w::w]


def checkerboard_gibbs(spins: ArrayLike, beta: float, n_sweeps: int, *, rng, J: float = 1.0,
                       h: float = 0.0) -> np.ndarray:
    r"""Checkerboard heat-bath sweeps of periodic square lattices, tuned (the package's fast path).

    Parameters
    ----------
    spins : array_like of shape (..., Lx, Ly)
        Initial spins in {-1, +1}, both sides even; leading axes are independent chains updated together.
    beta : float
        Inverse temperature (finite, non-negative).
    n_sweeps : int
        Number of sweeps (black sites, then white sites).
    rng : numpy.random.Generator or int
        Random source.
    J, h : float
        Nearest-neighbour coupling and uniform field.

    Returns
    -------
    spins : ndarray of shape (..., Lx, Ly), int8
        The configuration after ``n_sweeps`` sweeps (the input is not modified).

    Notes
    -----
    A site with :math:`k` up neighbours has local field :math:`J(2k-4) + h` and becomes up with probability
    :math:`p_k = \sigma(2\beta(J(2k - 4) + h))` (:func:`heat_bath_table`). Per colour the sweep computes
    :math:`k` in a uint8 buffer by in-place adds of the shifted sublattices, takes one uniform 32-bit word
    :math:`w` per site from the bit generator (``rng.bit_generator.random_raw``: each 64-bit output is two
    words, as NumPy's own 32-bit draws use it), looks the integer threshold
    :math:`t_k = \mathrm{round}(2^{32} p_k)` up with ``np.take`` and writes ``w < t_k`` straight into the
    sublattice (stored as 0/1 bytes). So :math:`P(\text{up}) = t_k/2^{32}`, within :math:`2^{-32}` of the
    exact heat-bath probability (float32 uniforms would give :math:`2^{-24}`). The only allocation in the
    loop is the word block that ``random_raw`` returns (it has no ``out=``). Its speed against the readable
    sweep, a careful newcomer's sweep and the rate of float32 uniforms is measured in
    ``benchmarks/bench_ising.py``.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721–741. Newman, M. E. J. & Barkema, G. T. (1999)
    "Monte Carlo Methods in Statistical Physics", Oxford University Press, ch. 3–4.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import checkerboard_gibbs, magnetization
    >>> s = checkerboard_gibbs(np.ones((8, 8), dtype=np.int8), beta=0.1, n_sweeps=20, rng=0)
    >>> s.shape, s.dtype
    ((8, 8), dtype('int8'))
    """
    s, beta, n_sweeps, J, h, rng = _check_sweep_args(spins, beta, n_sweeps, J, h, rng)
    return _tuned_sweeps(s, beta, n_sweeps, J, h, rng, record=False)[0]


@dataclass(frozen=True)
class LatticeTrace:
    """Outcome of :func:`checkerboard_trace`.

    Attributes
    ----------
    spins : ndarray of shape (..., Lx, Ly), int8
        The final configurations.
    energies : ndarray of shape (n_sweeps, ...)
        Total energy of every chain after each sweep.
    magnetizations : ndarray of shape (n_sweeps, ...)
        Magnetization per spin of every chain after each sweep.
    """

    spins: np.ndarray
    energies: np.ndarray
    magnetizations: np.ndarray


def checkerboard_trace(spins: ArrayLike, beta: float, n_sweeps: int, *, rng, J: float = 1.0,
                       h: float = 0.0) -> LatticeTrace:
    r"""Run :func:`checkerboard_gibbs` and record the energy and magnetization after every sweep.

    Parameters
    ----------
    spins : array_like of shape (..., Lx, Ly)
        Initial spins in {-1, +1}, both sides even; leading axes are independent chains.
    beta : float
        Inverse temperature (finite, non-negative).
    n_sweeps : int
        Number of sweeps; 0 returns the input and empty traces.
    rng : numpy.random.Generator or int
        Random source (the same stream as :func:`checkerboard_gibbs`: the final spins are equal bit for bit).
    J : float
        Nearest-neighbour coupling.
    h : float
        Uniform field.

    Returns
    -------
    LatticeTrace
        Final spins, energies and magnetizations of shape (n_sweeps, ...).

    Notes
    -----
    The observables are computed on the stored sublattices: every bond joins a black and a white site, so

    .. math:: \#\text{satisfied} = \sum_{i\,\rm black} \big[s_i k_i + (1 - s_i)(4 - k_i)\big], \qquad
              E = -J(2\,\#\text{satisfied} - 2N) - h N m,

    with :math:`s_i \in \{0, 1\}` the stored bit and :math:`k_i` the up neighbours of black site :math:`i`.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721–741. Newman, M. E. J. & Barkema, G. T. (1999) "Monte Carlo Methods in Statistical Physics", Oxford University Press, ch. 3–4.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import checkerboard_trace, lattice_energy
    >>> tr = checkerboard_trace(np.ones((2, 8, 8), dtype=np.int8), 0.3, 5, rng=0)
    >>> tr.energies.shape, bool((tr.energies[-1] == lattice_energy(tr.spins)).all())
    ((5, 2), True)
    """
    s, beta, n_sweeps, J, h, rng = _check_sweep_args(spins, beta, n_sweeps, J, h, rng, energies=True)
    out, E, m = _tuned_sweeps(s, beta, n_sweeps, J, h, rng, record=True)
    batch = s.shape[:-2]
    return LatticeTrace(out, E.reshape((n_sweeps,) + batch), m.reshape((n_sweeps,) + batch))


def _check_sweep_args(spins, beta, n_sweeps, J, h, rng, energies: bool = False):
    s = _check_lattice(spins, even=True)
    beta = check_beta(beta, scalar=True)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    J, h = check_real(J, "J"), check_real(h, "h")
    _check_scale(J, h, s.shape[-1] * s.shape[-2] if energies else None)
    if energies:  # the energy and magnetization of every chain after every sweep
        check_allocation((2, n_sweeps) + s.shape[:-2], "n_sweeps")
    check_work(n_sweeps * s.size, "n_sweeps")
    return s, beta, n_sweeps, J, h, as_rng(rng)


def _tuned_sweeps(s: np.ndarray, beta: float, n_sweeps: int, J: float, h: float, rng: np.random.Generator,
                  record: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    if s.size == 0:  # an empty batch of lattices: nothing to update, no random number drawn
        empty = np.empty((n_sweeps, 0)) if record else None
        return s.copy(), empty, empty
    # Thresholds on raw 32-bit words: P(w < t_k) = t_k / 2**32 with t_k = round(p_k 2**32), within 2**-32 of p_k.
    table = np.minimum(np.rint(heat_bath_table(beta, J, h) * 2.0**32), 2.0**32 - 1).astype(np.uint32)  # (5,)
    black, white = _split(s)  # (2, M, Lx/2, Ly/2) each
    A, D = black
    B, C = white
    k = np.empty(black.shape, dtype=np.uint8)  # (2, M, Lx/2, Ly/2)
    k0, k1 = k
    n_half = k.size
    chunk = min(n_half, _CHUNK)
    p = np.empty(chunk, dtype=np.uint32)
    raw = rng.bit_generator.random_raw  # 64 random bits per call entry: two 32-bit words
    k_flat = k.reshape(-1)  # (n_half,)
    plan = ((black.reshape(-1).view(np.bool_), (C, B, True, True), (B, C, False, False)),  # A, D
            (white.reshape(-1).view(np.bool_), (D, A, True, False), (A, D, False, True)))  # B, C
    bounds = [(a, min(a + chunk, n_half)) for a in range(0, n_half, chunk)]
    M = black.shape[1]
    N = 4 * black[0, 0].size  # sites per lattice (each of the four sublattices holds N/4)
    E = np.empty((n_sweeps, M)) if record else None
    m = np.empty((n_sweeps, M)) if record else None
    for t in range(n_sweeps):
        for target, first, second in plan:
            _count_into(k0, *first)
            _count_into(k1, *second)
            # Cache blocking: the uniforms and thresholds of one block stay in L2 between the three passes.
            for a, b in bounds:
                pp = p[: b - a]
                words = raw((b - a + 1) // 2).view(np.uint32)[: b - a]  # (b - a,) uniform 32-bit words
                np.take(table, k_flat[a:b], out=pp, mode="wrap")
                np.less(words, pp, out=target[a:b])
        if record:
            _count_into(k0, C, B, True, True)
            _count_into(k1, B, C, False, False)
            n_up = black.sum(axis=(0, 2, 3), dtype=np.int64) + white.sum(axis=(0, 2, 3), dtype=np.int64)  # (M,)
            up_black = black.sum(axis=(0, 2, 3), dtype=np.int64)
            k_sum = k.sum(axis=(0, 2, 3), dtype=np.int64)
            upk = np.einsum("cmij,cmij->m", black, k, dtype=np.int64)
            satisfied = 4 * (N // 2) - k_sum - 4 * up_black + 2 * upk  # (M,)
            m[t] = (2 * n_up - N) / N
            E[t] = -J * (2.0 * satisfied - 2 * N) - h * (2 * n_up - N)
    return _merge(black, white, s.shape), E, m


def _fk_clusters(s: np.ndarray, beta: float, J: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Fortuin–Kasteleyn clusters: bonds between equal neighbours kept with probability 1 - exp(-2 beta J).

    Returns the cluster label of every site, shape (M, Lx*Ly) for M = number of lattices, and the count.
    """
    Lx, Ly = s.shape[-2:]
    flat = s.reshape(-1, Lx, Ly)  # (M, Lx, Ly)
    idx = np.arange(flat.size).reshape(flat.shape)  # (M, Lx, Ly)
    p_bond = -np.expm1(-2.0 * beta * J)
    rows, cols = [], []
    for axis in (-1, -2):
        neighbour = np.roll(flat, -1, axis=axis)
        keep = (flat == neighbour) & (rng.random(flat.shape) < p_bond)  # (M, Lx, Ly)
        rows.append(idx[keep])
        cols.append(np.roll(idx, -1, axis=axis)[keep])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(flat.size, flat.size))
    n_clusters, labels = connected_components(graph, directed=False)
    return labels.reshape(flat.shape[0], Lx * Ly), n_clusters


def _check_cluster_args(spins, beta, n_steps, J, rng):
    s = _check_lattice(spins)
    beta = check_beta(beta, scalar=True)
    n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
    check_work(n_steps * s.size, "n_steps")
    J = check_real(J, "J")
    if J <= 0:
        raise ValueError(f"J: cluster updates here need a ferromagnetic coupling J > 0, got {J!r}")
    return s, beta, n_steps, J, as_rng(rng)


def swendsen_wang(spins: ArrayLike, beta: float, n_steps: int, *, rng, J: float = 1.0) -> np.ndarray:
    r"""Swendsen–Wang updates of periodic square lattices at zero field.

    Parameters
    ----------
    spins : array_like of shape (..., Lx, Ly)
        Spins in {-1, +1}; leading axes are independent chains.
    beta : float
        Inverse temperature (finite, non-negative).
    n_steps : int
        Number of updates; each flips every Fortuin–Kasteleyn cluster independently with probability 1/2.
    rng : numpy.random.Generator or int
        Random source.
    J : float
        Ferromagnetic coupling (> 0).

    Returns
    -------
    spins : ndarray of int8, shape (..., Lx, Ly)
        The configurations after ``n_steps`` updates.

    Notes
    -----
    A bond between equal neighbours is occupied with probability

    .. math:: p = 1 - e^{-2\beta J};

    the clusters are the connected components of the occupied bonds (``scipy.sparse.csgraph``, all chains in
    one graph). Flipping whole clusters decorrelates the lattice near :math:`T_c` in a few steps, where local
    updates slow down critically.

    References
    ----------
    Swendsen, R. H. & Wang, J.-S. (1987) "Nonuniversal critical dynamics in Monte Carlo simulations", Phys.
    Rev. Lett. 58, 86–88.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import swendsen_wang
    >>> s = swendsen_wang(np.ones((4, 16, 16), dtype=np.int8), 0.2, 10, rng=0)
    >>> s.shape, s.dtype
    ((4, 16, 16), dtype('int8'))
    """
    s, beta, n_steps, J, rng = _check_cluster_args(spins, beta, n_steps, J, rng)
    shape = s.shape
    for _ in range(n_steps):
        labels, n_clusters = _fk_clusters(s, beta, J, rng)  # (M, N)
        flip = rng.random(n_clusters) < 0.5  # (n_clusters,)
        s = np.where(flip[labels], -1, 1).astype(np.int8).reshape(shape) * s
    return s


def wolff(spins: ArrayLike, beta: float, n_steps: int, *, rng, J: float = 1.0) -> np.ndarray:
    r"""Wolff single-cluster updates of periodic square lattices at zero field.

    Parameters
    ----------
    spins : array_like of shape (..., Lx, Ly)
        Spins in {-1, +1}; leading axes are independent chains (one cluster per chain per step).
    beta : float
        Inverse temperature (finite, non-negative).
    n_steps : int
        Number of cluster flips per chain.
    rng : numpy.random.Generator or int
        Random source.
    J : float
        Ferromagnetic coupling (> 0).

    Returns
    -------
    spins : ndarray of int8, shape (..., Lx, Ly)
        The configurations after ``n_steps`` flips.

    Notes
    -----
    Wolff's cluster, grown from a uniformly chosen seed by adding equal neighbours with probability

    .. math:: p = 1 - e^{-2\beta J}

    per bond, has the law of the Fortuin–Kasteleyn cluster that contains the seed. This implementation draws the
    bonds of the whole lattice and labels clusters with ``connected_components`` (vectorized over sites and
    chains) instead of growing the cluster site by site: the same Markov chain, at a cost proportional to the
    lattice rather than to the cluster.

    References
    ----------
    Wolff, U. (1989) "Collective Monte Carlo updating for spin systems", Phys. Rev. Lett. 62, 361–364.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ising import magnetization, wolff
    >>> s = wolff(np.ones((16, 16), dtype=np.int8), 0.6, 10, rng=0)
    >>> bool(abs(magnetization(s)) > 0.8)  # deep in the ordered phase
    True
    """
    s, beta, n_steps, J, rng = _check_cluster_args(spins, beta, n_steps, J, rng)
    shape = s.shape
    n_sites = shape[-1] * shape[-2]
    for _ in range(n_steps):
        labels, _ = _fk_clusters(s, beta, J, rng)  # (M, N)
        seed = rng.integers(n_sites, size=labels.shape[0])  # (M,)
        in_cluster = labels == labels[np.arange(labels.shape[0]), seed][:, None]  # (M, N)
        s = np.where(in_cluster, -1, 1).astype(np.int8).reshape(shape) * s
    return s
