r"""Energy spectra for the Gibbs law: particle in a box, harmonic oscillator, their 3-D versions, and Maxwell–Boltzmann.

Units: :math:`\hbar = 1`, mass ``mass`` (default 1), box length ``L`` (default 1), :math:`k_B = 1`. The 1-D
spectra are checked against a finite-difference eigensolve of the Schrödinger operator
:math:`H = -\frac{1}{2m}\frac{d^2}{dx^2} + V(x)` (:func:`finite_difference_levels`), whose error falls as
:math:`O(h^2)` in the grid spacing :math:`h`.

References: Griffiths & Schroeter, *Introduction to Quantum Mechanics*, 3rd ed., §2.2–2.3 and §4.4 (2018);
Reif, *Fundamentals of Statistical and Thermal Physics* §7.9–7.10 (1965) for the Maxwell–Boltzmann law.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import eigh_tridiagonal

from ._validation import (
    as_float_array,
    check_allocation,
    check_callable,
    check_positive_int,
    check_real,
    check_returned,
)

__all__ = [
    "box_levels",
    "box_density",
    "oscillator_levels",
    "finite_difference_levels",
    "box3d_levels",
    "oscillator3d_levels",
    "maxwell_boltzmann_speed_pdf",
    "maxwell_boltzmann_energy_pdf",
    "maxwell_boltzmann_energy_cdf",
]


_TINY = np.finfo(np.float64).tiny


def _positive(x: object, name: str) -> np.float64:
    """A positive finite real as ``numpy.float64`` (whose arithmetic overflows to inf instead of raising)."""
    return np.float64(check_real(x, name, positive=True))


def _checked_levels(out: np.ndarray, blame: dict[str, float]) -> np.ndarray:
    """Refuse levels beyond float64, naming the argument with the largest share ``blame[name]`` in their log."""
    if not np.isfinite(out).all():
        name = max(blame, key=blame.get)
        top = sum(blame.values())
        raise ValueError(f"{name}: the levels exceed the float64 range (the largest would be e^{top:.4g})")
    return out


def _box_energies(q: np.ndarray, L: np.float64, mass: np.float64, textbook, count_name: str) -> np.ndarray:
    """``q * pi^2 / (2 m L^2)`` for sums of squares ``q``, exact to a few ulps at any ``L`` and ``m``.

    ``textbook(den)`` is the caller's expression with ``den = 2 m L^2``, kept where ``den`` is a normal float
    (the bits the chapters print); otherwise the mantissas and binary exponents of ``L`` and ``m`` are
    combined separately (``frexp``/``ldexp``), so no intermediate over- or underflows.
    """
    with np.errstate(over="ignore", under="ignore"):
        L2 = L**2
        den = 2.0 * mass * L2
        if _TINY <= L2 < np.inf and _TINY <= 2.0 * mass < np.inf and _TINY <= den < np.inf:
            out = textbook(den)
        else:
            mL, eL = np.frexp(L)
            mm, em = np.frexp(mass)
            out = np.ldexp(q * (np.pi**2 / (2.0 * mm * mL**2)), -(int(em) + 2 * int(eL)))
    return _checked_levels(out, {count_name: float(np.log(q.max())), "L": -2 * float(np.log(L)),
                                 "mass": -float(np.log(mass))})


def box_levels(n_levels: int, L: float = 1.0, mass: float = 1.0) -> np.ndarray:
    r"""The lowest ``n_levels`` energy levels of a particle in a 1-D box with hard walls.

    Parameters
    ----------
    n_levels : int
        Number of levels, at least 1.
    L : float
        Length of the box, positive.
    mass : float
        Mass of the particle, positive.

    Returns
    -------
    ndarray of shape (n_levels,)
        :math:`E_1 < E_2 < \dots`, in units :math:`\hbar = 1`. Levels beyond the float64 range are refused.

    Notes
    -----
    The stationary states :math:`\psi_n(x) = \sqrt{2/L}\sin(n\pi x/L)` vanish at the walls and have

    .. math:: E_n = \frac{n^2\pi^2}{2 m L^2}, \qquad n = 1, 2, \dots

    a spectrum whose spacing grows with :math:`n` (the levels crowd together relative to :math:`kT` only
    as :math:`L` grows, the classical limit).

    References
    ----------
    Griffiths, D. J. & Schroeter, D. F. (2018) *Introduction to Quantum Mechanics*, 3rd ed., Cambridge
    University Press, §2.2.

    Examples
    --------
    >>> from thermoref.spectra import box_levels
    >>> print((box_levels(3) / box_levels(1)[0]).round(12))
    [1. 4. 9.]
    """
    n_levels = check_positive_int(n_levels, "n_levels")
    check_allocation(n_levels, "n_levels")
    L, mass = _positive(L, "L"), _positive(mass, "mass")
    n = np.arange(1, n_levels + 1, dtype=np.float64)
    return _box_energies(n**2, L, mass, lambda den: n**2 * np.pi**2 / den, "n_levels")


def box_density(n: int, x: ArrayLike, L: float = 1.0) -> np.ndarray:
    r"""Position density :math:`|\psi_n(x)|^2` of level ``n`` of a particle in a 1-D box.

    Parameters
    ----------
    n : int
        Quantum number, at least 1.
    x : array_like of shape (...)
        Positions; the density is zero outside :math:`[0, L]`.
    L : float
        Length of the box, positive.

    Returns
    -------
    ndarray of shape (...)
        The density at each position, integrating to one over :math:`[0, L]`.

    Notes
    -----
    .. math:: |\psi_n(x)|^2 = \frac{2}{L}\sin^2\frac{n\pi x}{L}, \qquad 0 \le x \le L,

    with :math:`n - 1` interior nodes. For large :math:`n` it averages to the classical uniform density
    :math:`1/L` (the correspondence principle).

    References
    ----------
    Griffiths, D. J. & Schroeter, D. F. (2018) *Introduction to Quantum Mechanics*, 3rd ed., §2.2.

    Examples
    --------
    >>> from thermoref.spectra import box_density
    >>> print(box_density(1, [0.0, 0.5, 1.0]).round(12))
    [0. 2. 0.]
    """
    n = check_positive_int(n, "n")
    L = _positive(L, "L")
    x = as_float_array(x, "x")
    inside = (x >= 0) & (x <= L)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        phase = n * np.pi * x / L
        phase = np.where(np.isfinite(phase), phase, n * np.pi * (x / L))  # inside the box x/L <= 1
        s2 = np.sin(np.where(inside, phase, 0.0)) ** 2
        out = np.where(inside & (s2 > 0), 2.0 / L * s2, 0.0)
    if not np.isfinite(out).all():
        raise ValueError(f"L: the density 2/L exceeds the float64 range (L = {float(L)!r})")
    return out


def oscillator_levels(n_levels: int, omega: float = 1.0) -> np.ndarray:
    r"""The lowest ``n_levels`` energy levels of the 1-D harmonic oscillator.

    Parameters
    ----------
    n_levels : int
        Number of levels, at least 1.
    omega : float
        Angular frequency, positive.

    Returns
    -------
    ndarray of shape (n_levels,)
        :math:`E_0 < E_1 < \dots` (units :math:`\hbar = 1`). Levels beyond the float64 range are refused.

    Notes
    -----
    For :math:`V(x) = \tfrac12 m\omega^2 x^2`,

    .. math:: E_n = \omega\left(n + \tfrac12\right), \qquad n = 0, 1, \dots,

    equally spaced, with the zero-point energy :math:`\omega/2`; independent of the mass.

    References
    ----------
    Griffiths, D. J. & Schroeter, D. F. (2018) *Introduction to Quantum Mechanics*, 3rd ed., §2.3.

    Examples
    --------
    >>> from thermoref.spectra import oscillator_levels
    >>> print(oscillator_levels(3))
    [0.5 1.5 2.5]
    """
    n_levels = check_positive_int(n_levels, "n_levels")
    check_allocation(n_levels, "n_levels")
    omega = _positive(omega, "omega")
    q = np.arange(n_levels, dtype=np.float64) + 0.5
    with np.errstate(over="ignore", under="ignore"):
        E = omega * q  # one correctly rounded product: exact, or inf beyond float64
    return _checked_levels(E, {"n_levels": float(np.log(q[-1])), "omega": float(np.log(omega))})


def finite_difference_levels(
    potential: Callable[[np.ndarray], np.ndarray],
    x_min: float,
    x_max: float,
    n_grid: int,
    n_levels: int,
    mass: float = 1.0,
) -> np.ndarray:
    r"""Lowest eigenvalues of :math:`H = -\frac{1}{2m}\partial_x^2 + V(x)` on [x_min, x_max] with :math:`\psi = 0` at the ends.

    Parameters
    ----------
    potential : callable
        :math:`V(x)`, vectorized: called once with the grid, an ndarray of shape (n_grid,), it returns real
        finite values of shape (n_grid,) (or a scalar, for a constant potential).
    x_min, x_max : float
        The interval; the wavefunction vanishes at both ends (a box; for the oscillator choose the interval
        wide enough that the wall does not matter).
    n_grid : int
        Number of interior grid points, at least 3; spacing :math:`h = (x_{\max} - x_{\min})/(n_{\mathrm{grid}} + 1)`.
    n_levels : int
        How many of the lowest eigenvalues to return, at most ``n_grid``.
    mass : float
        Mass of the particle, positive.

    Returns
    -------
    ndarray of shape (n_levels,)
        Ascending eigenvalues of the discretized Hamiltonian.

    Notes
    -----
    The three-point Laplacian gives a symmetric tridiagonal matrix with diagonal :math:`1/(m h^2) + V(x_i)`
    and off-diagonal :math:`-1/(2 m h^2)`, solved by ``scipy.linalg.eigh_tridiagonal``. For the box the
    discrete levels are known exactly,

    .. math:: E_n^{(h)} = \frac{2}{m h^2}\sin^2\frac{n\pi h}{2L},
              \qquad E_n^{(h)} - E_n = -\frac{\pi^4 n^4 h^2}{24 m L^4} + O(h^4):

    second order in :math:`h`. A grid so coarse or so fine that the kinetic coefficient
    :math:`1/(2mh^2)` leaves the normal float64 range is refused (it could not be represented).

    References
    ----------
    LeVeque, R. J. (2007) *Finite Difference Methods for Ordinary and Partial Differential Equations*, SIAM,
    §2.10 (eigenvalues of the discrete Laplacian).

    Examples
    --------
    >>> from thermoref.spectra import finite_difference_levels, box_levels
    >>> import numpy as np
    >>> fd = finite_difference_levels(lambda x: np.zeros_like(x), 0.0, 1.0, 999, 3)
    >>> print(np.abs(fd / box_levels(3) - 1).max() < 1e-5)
    True
    """
    check_callable(potential, "potential")
    n_grid = check_positive_int(n_grid, "n_grid", minimum=3)
    check_allocation(n_grid, "n_grid")
    n_levels = check_positive_int(n_levels, "n_levels")
    if n_levels > n_grid:
        raise ValueError(f"n_levels: at most n_grid={n_grid} levels exist on the grid, got {n_levels}")
    lo, hi = check_real(x_min, "x_min"), check_real(x_max, "x_max")
    if not hi > lo:
        raise ValueError(f"x_max: must exceed x_min, got [{lo}, {hi}]")
    mass = _positive(mass, "mass")
    edge = "x_max" if abs(hi) >= abs(lo) else "x_min"  # the end that sets the interval's scale
    width = hi - lo
    if not np.isfinite(width):
        raise ValueError(f"{edge}: the interval [{lo}, {hi}] is wider than float64")
    h = width / (n_grid + 1)
    log_kin = float(-np.log(2.0) - np.log(mass) - 2 * np.log(h))  # ln 1/(2 m h^2)
    if not np.log(_TINY) < log_kin < np.log(np.finfo(np.float64).max) - 1:
        shares = {"mass": abs(float(np.log(mass))), edge: abs(2 * float(np.log(width))),
                  "n_grid": 2 * float(np.log(n_grid + 1))}
        raise ValueError(f"{max(shares, key=shares.get)}: the kinetic coefficient 1/(2 m h^2) = e^{log_kin:.4g} "
                         f"(h = {h:.3g}, m = {float(mass):.3g}) is outside the normal float64 range")
    x = lo + h * np.arange(1, n_grid + 1)  # (n_grid,)
    V = np.broadcast_to(check_returned(potential(x), "potential", x.shape), x.shape)
    diag = 1.0 / (mass * h**2) + V  # (n_grid,)
    off = np.full(n_grid - 1, -0.5 / (mass * h**2))  # (n_grid - 1,)
    if not np.isfinite(diag).all():
        raise ValueError("potential: V(x) + 1/(m h^2) exceeds the float64 range on the grid")
    scale = float(max(np.abs(diag).max(), abs(off[0]) if off.size else 0.0))
    if 1e-150 < scale < 1e150:
        return eigh_tridiagonal(diag, off, eigvals_only=True, select="i", select_range=(0, n_levels - 1))
    # Entries near the ends of the float64 range: LAPACK's Sturm counts square them; solve H/scale instead.
    w = eigh_tridiagonal(diag / scale, off / scale, eigvals_only=True, select="i", select_range=(0, n_levels - 1))
    with np.errstate(over="ignore", under="ignore"):
        out = w * scale
    if not np.isfinite(out).all():
        raise ValueError("potential: the eigenvalues exceed the float64 range")
    return out


def box3d_levels(n_max: int, L: float = 1.0, mass: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Distinct levels and degeneracies of a particle in a cubic box, complete up to a cutoff.

    Parameters
    ----------
    n_max : int
        Largest quantum number per axis, at least 1.
    L : float
        Edge of the cube, positive.
    mass : float
        Mass of the particle, positive.

    Returns
    -------
    E : ndarray of shape (m,)
        Distinct energies, ascending.
    g : ndarray of shape (m,)
        Degeneracies (number of :math:`(n_x, n_y, n_z)` triples), as float64.

    Notes
    -----
    .. math:: E = \frac{\pi^2}{2 m L^2}\left(n_x^2 + n_y^2 + n_z^2\right), \qquad n_x, n_y, n_z \ge 1.

    Every level with :math:`n_x^2 + n_y^2 + n_z^2 \le n_{\max}^2 + 2` is returned with its full degeneracy
    (all its microstates have each quantum number at most ``n_max``), so the list has no missing states
    below its top. The degeneracy, counted by :math:`E`, grows like the free-particle density of states
    :math:`g(E) \propto \sqrt{E}` (:func:`maxwell_boltzmann_energy_pdf`). Work and memory grow as
    :math:`n_{\max}^3`.

    References
    ----------
    Griffiths, D. J. & Schroeter, D. F. (2018) *Introduction to Quantum Mechanics*, 3rd ed., §4.4 and
    Problem 4.2.

    Examples
    --------
    >>> from thermoref.spectra import box3d_levels
    >>> E, g = box3d_levels(3)
    >>> print((E[:4] / E[0]).round(12), g[:4])
    [1.         2.         3.         3.66666667] [1. 3. 3. 3.]
    """
    n_max = check_positive_int(n_max, "n_max")
    check_allocation(n_max**3, "n_max")
    L, mass = _positive(L, "L"), _positive(mass, "mass")
    n = np.arange(1, n_max + 1, dtype=np.int64)
    sq = n**2
    N = (sq[:, None, None] + sq[None, :, None] + sq[None, None, :]).ravel()  # (n_max**3,)
    N = N[N <= n_max**2 + 2]  # a level above this could have a triple with some n > n_max
    values, counts = np.unique(N, return_counts=True)
    E = _box_energies(values.astype(np.float64), L, mass, lambda den: values * (np.pi**2 / den), "n_max")
    return E, counts.astype(np.float64)


def oscillator3d_levels(n_levels: int, omega: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Levels and degeneracies of the isotropic 3-D harmonic oscillator.

    Parameters
    ----------
    n_levels : int
        Number of levels, at least 1.
    omega : float
        Angular frequency, positive.

    Returns
    -------
    E : ndarray of shape (n_levels,)
        :math:`E_n = \omega(n + \tfrac32)`, ascending.
    g : ndarray of shape (n_levels,)
        Degeneracies :math:`g_n = (n+1)(n+2)/2`, as float64.

    Notes
    -----
    Three independent 1-D oscillators, :math:`E = \omega(n_x + n_y + n_z + \tfrac32)`; the level
    :math:`n = n_x + n_y + n_z` is reached by

    .. math:: g_n = \binom{n + 2}{2} = \frac{(n+1)(n+2)}{2}

    triples, a density of states growing as :math:`E^2` (the classical :math:`g(E) \propto E^2` of a 3-D
    oscillator).

    References
    ----------
    Griffiths, D. J. & Schroeter, D. F. (2018) *Introduction to Quantum Mechanics*, 3rd ed., Problem 4.46.

    Examples
    --------
    >>> from thermoref.spectra import oscillator3d_levels
    >>> E, g = oscillator3d_levels(4)
    >>> print(E, g)
    [1.5 2.5 3.5 4.5] [ 1.  3.  6. 10.]
    """
    n_levels = check_positive_int(n_levels, "n_levels")
    check_allocation(n_levels, "n_levels")
    omega = _positive(omega, "omega")
    n = np.arange(n_levels, dtype=np.float64)
    q = n + 1.5
    with np.errstate(over="ignore", under="ignore"):
        E = omega * q
    E = _checked_levels(E, {"n_levels": float(np.log(q[-1])), "omega": float(np.log(omega))})
    return E, (n + 1.0) * (n + 2.0) / 2.0


def _density(direct: np.ndarray, exact: np.ndarray, log_density, support: np.ndarray, what: str) -> np.ndarray:
    """``direct`` where every factor was a normal float (``exact``), else ``exp(log_density())``; 0 off support."""
    if not exact.all():
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            direct = np.where(exact, direct, np.exp(log_density()))
    out = np.where(support, direct, 0.0)
    if not np.isfinite(out).all():
        raise ValueError(f"{what}: the density exceeds the float64 range at some point")
    return out


def maxwell_boltzmann_speed_pdf(v: ArrayLike, kT: float = 1.0, mass: float = 1.0) -> np.ndarray:
    r"""Maxwell–Boltzmann density of the speed of one classical particle in 3-D.

    Parameters
    ----------
    v : array_like of shape (...)
        Speeds; the density is zero for :math:`v < 0`.
    kT : float
        Temperature, positive and finite (:math:`k_B = 1`).
    mass : float
        Mass of the particle, positive.

    Returns
    -------
    ndarray of shape (...)
        :math:`f(v)`, integrating to one over :math:`v \ge 0`.

    Notes
    -----
    .. math:: f(v) = 4\pi v^2 \left(\frac{m}{2\pi kT}\right)^{3/2} e^{-m v^2/2kT}, \qquad v \ge 0.

    The factor :math:`4\pi v^2` is the area of the shell of velocities with speed :math:`v`: a density of
    states, not part of the Boltzmann factor. Where a factor over- or underflows (``kT = 5e-324``,
    :math:`v = 10^{300}`) the density is computed in log space.

    References
    ----------
    Reif, F. (1965) *Fundamentals of Statistical and Thermal Physics*, McGraw-Hill, §7.9–7.10.

    Examples
    --------
    >>> from thermoref.spectra import maxwell_boltzmann_speed_pdf
    >>> print(f"{maxwell_boltzmann_speed_pdf(1.0):.6f}")
    0.483941
    """
    kT = _positive(kT, "kT")
    mass = _positive(mass, "mass")
    v = as_float_array(v, "v")
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        a = mass / (2.0 * kT)
        pref = (a / np.pi) ** 1.5
        v2 = v**2
        f = 4.0 * np.pi * v**2 * (a / np.pi) ** 1.5 * np.exp(-a * v**2)
    exact = (_TINY <= a < np.inf) & (_TINY <= pref < np.inf) & np.isfinite(v2) & np.isfinite(f)

    def log_f():
        lv = np.log(np.abs(v))
        lz = float(np.log(mass) - np.log(2.0) - np.log(kT))  # ln a
        return np.log(4.0 * np.pi) + 2 * lv + 1.5 * (lz - np.log(np.pi)) - np.exp(lz + 2 * lv)

    return _density(f, exact, log_f, v >= 0, "kT" if abs(np.log(kT)) >= abs(np.log(mass)) else "mass")


def maxwell_boltzmann_energy_pdf(E: ArrayLike, kT: float = 1.0) -> np.ndarray:
    r"""Density of the kinetic energy of one classical particle in 3-D (Maxwell–Boltzmann).

    Parameters
    ----------
    E : array_like of shape (...)
        Energies; the density is zero for :math:`E < 0`.
    kT : float
        Temperature, positive and finite (:math:`k_B = 1`).

    Returns
    -------
    ndarray of shape (...)
        :math:`f(E)`, integrating to one over :math:`E \ge 0`.

    Notes
    -----
    .. math:: f(E) = \frac{2}{\sqrt\pi}\frac{\sqrt{E}}{(kT)^{3/2}} e^{-E/kT}, \qquad E \ge 0:

    a Gibbs law :math:`e^{-E/kT}` times the free-particle density of states :math:`g(E) \propto \sqrt{E}`,
    i.e. a Gamma(3/2, kT) law. Where a factor over- or underflows the density is computed in log space.

    References
    ----------
    Reif, F. (1965) *Fundamentals of Statistical and Thermal Physics*, McGraw-Hill, §7.9–7.10.

    Examples
    --------
    >>> from thermoref.spectra import maxwell_boltzmann_energy_pdf
    >>> print(f"{maxwell_boltzmann_energy_pdf(1.0):.6f}")
    0.415107
    """
    kT = _positive(kT, "kT")
    E = as_float_array(E, "E")
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        k15 = kT**1.5
        ratio = np.abs(E) / kT
        f = 2.0 / np.sqrt(np.pi) * np.sqrt(np.abs(E)) / k15 * np.exp(-np.abs(E) / kT)
    exact = (_TINY <= k15 < np.inf) & (np.isfinite(ratio)) & ((ratio >= _TINY) | (E == 0)) & np.isfinite(f)

    def log_f():
        lE = np.log(np.abs(E))
        return np.log(2.0 / np.sqrt(np.pi)) + 0.5 * lE - 1.5 * np.log(kT) - np.exp(lE - np.log(kT))

    return _density(f, exact, log_f, E >= 0, "kT")


def maxwell_boltzmann_energy_cdf(E: ArrayLike, kT: float = 1.0) -> np.ndarray:
    r"""Cumulative distribution of :func:`maxwell_boltzmann_energy_pdf`.

    Parameters
    ----------
    E : array_like of shape (...)
        Energies; ``+inf`` is allowed (the CDF is 1 there), and the CDF is 0 for :math:`E \le 0`.
    kT : float
        Temperature, positive and finite.

    Returns
    -------
    ndarray of shape (...)
        :math:`F(E) \in [0, 1]`.

    Notes
    -----
    .. math:: F(E) = P\left(\tfrac32, E/kT\right) = \frac{\gamma(3/2, E/kT)}{\Gamma(3/2)},

    the regularized lower incomplete gamma function (``scipy.special.gammainc``). An :math:`E/kT` beyond
    float64 gives its limit 1.

    References
    ----------
    Reif, F. (1965) *Fundamentals of Statistical and Thermal Physics*, McGraw-Hill, §7.9–7.10.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.spectra import maxwell_boltzmann_energy_cdf
    >>> print(maxwell_boltzmann_energy_cdf([0.0, 1.5, np.inf]).round(6))
    [0.       0.608375 1.      ]
    """
    from scipy.special import gammainc

    kT = _positive(kT, "kT")
    E = as_float_array(E, "E", allow_pos_inf=True)
    with np.errstate(over="ignore", under="ignore"):
        return np.where(E > 0, gammainc(1.5, np.maximum(E, 0.0) / kT), 0.0)
