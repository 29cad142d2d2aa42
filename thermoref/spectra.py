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

from ._validation import as_float_array, check_positive_int, check_temperature

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


def _positive(x: float, name: str) -> float:
    v = float(as_float_array(x, name))
    if not v > 0:
        raise ValueError(f"{name}: must be positive, got {v!r}")
    return v


def box_levels(n_levels: int, L: float = 1.0, mass: float = 1.0) -> np.ndarray:
    r"""The lowest ``n_levels`` levels of a particle in a 1-D box: :math:`E_n = n^2\pi^2/(2 m L^2)`, n = 1, 2, ...

    Returns
    -------
    ndarray of shape (n_levels,)

    Examples
    --------
    >>> from thermoref.spectra import box_levels
    >>> print((box_levels(3) / box_levels(1)[0]).round(12))
    [1. 4. 9.]
    """
    n_levels = check_positive_int(n_levels, "n_levels")
    L, mass = _positive(L, "L"), _positive(mass, "mass")
    n = np.arange(1, n_levels + 1, dtype=np.float64)
    return n**2 * np.pi**2 / (2.0 * mass * L**2)


def box_density(n: int, x: ArrayLike, L: float = 1.0) -> np.ndarray:
    r"""Position density :math:`|\psi_n(x)|^2 = \frac{2}{L}\sin^2(n\pi x/L)` of box level ``n`` (zero outside [0, L]).

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
    return np.where(inside, 2.0 / L * np.sin(n * np.pi * x / L) ** 2, 0.0)


def oscillator_levels(n_levels: int, omega: float = 1.0) -> np.ndarray:
    r"""The lowest ``n_levels`` levels of the 1-D harmonic oscillator: :math:`E_n = \omega(n + \tfrac12)`, n = 0, 1, ...

    Examples
    --------
    >>> from thermoref.spectra import oscillator_levels
    >>> print(oscillator_levels(3))
    [0.5 1.5 2.5]
    """
    n_levels = check_positive_int(n_levels, "n_levels")
    omega = _positive(omega, "omega")
    return omega * (np.arange(n_levels, dtype=np.float64) + 0.5)


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
        :math:`V(x)`, vectorized over a 1-D array of grid points.
    x_min, x_max : float
        The interval; the wavefunction vanishes at both ends (a box; for the oscillator choose the interval
        wide enough that the wall does not matter).
    n_grid : int
        Number of interior grid points; spacing :math:`h = (x_{\max} - x_{\min})/(n_{\mathrm{grid}} + 1)`.
    n_levels : int
        How many of the lowest eigenvalues to return.

    Returns
    -------
    ndarray of shape (n_levels,)

    Notes
    -----
    The three-point Laplacian gives a symmetric tridiagonal matrix with diagonal :math:`1/(m h^2) + V(x_i)`
    and off-diagonal :math:`-1/(2 m h^2)`, solved by ``scipy.linalg.eigh_tridiagonal``. For the box the
    discrete levels are known exactly, :math:`E_n^{(h)} = \frac{2}{m h^2}\sin^2\frac{n\pi h}{2L}`, so
    :math:`E_n^{(h)} - E_n = -\frac{\pi^4 n^4 h^2}{24 m L^4} + O(h^4)`: second order.

    Examples
    --------
    >>> from thermoref.spectra import finite_difference_levels, box_levels
    >>> import numpy as np
    >>> fd = finite_difference_levels(lambda x: np.zeros_like(x), 0.0, 1.0, 999, 3)
    >>> print(np.abs(fd / box_levels(3) - 1).max() < 1e-5)
    True
    """
    n_grid = check_positive_int(n_grid, "n_grid", minimum=3)
    n_levels = check_positive_int(n_levels, "n_levels")
    if n_levels > n_grid:
        raise ValueError(f"n_levels: at most n_grid={n_grid} levels exist on the grid, got {n_levels}")
    lo, hi = float(as_float_array(x_min, "x_min")), float(as_float_array(x_max, "x_max"))
    if not hi > lo:
        raise ValueError(f"x_max: must exceed x_min, got [{lo}, {hi}]")
    mass = _positive(mass, "mass")
    h = (hi - lo) / (n_grid + 1)
    x = lo + h * np.arange(1, n_grid + 1)
    V = as_float_array(potential(x), "potential(x)", ndim=1)
    if V.shape != x.shape:
        raise ValueError(f"potential(x): expected shape {x.shape}, got {V.shape}")
    diag = 1.0 / (mass * h**2) + V
    off = np.full(n_grid - 1, -0.5 / (mass * h**2))
    return eigh_tridiagonal(diag, off, eigvals_only=True, select="i", select_range=(0, n_levels - 1))


def box3d_levels(n_max: int, L: float = 1.0, mass: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Distinct levels and degeneracies of a particle in a cubic box, complete up to a cutoff.

    :math:`E = \frac{\pi^2}{2 m L^2}(n_x^2 + n_y^2 + n_z^2)` with :math:`n_x, n_y, n_z \ge 1`. Every level
    with :math:`n_x^2 + n_y^2 + n_z^2 \le n_{\max}^2 + 2` is returned with its full degeneracy (all its
    microstates have each quantum number at most ``n_max``), so the list has no missing states below its top.

    Returns
    -------
    E : ndarray of shape (m,)
        Distinct energies, ascending.
    g : ndarray of shape (m,)
        Degeneracies (number of (n_x, n_y, n_z) triples), as float64.

    Examples
    --------
    >>> from thermoref.spectra import box3d_levels
    >>> E, g = box3d_levels(3)
    >>> print((E[:4] / E[0]).round(12), g[:4])
    [1.         2.         3.         3.66666667] [1. 3. 3. 3.]
    """
    n_max = check_positive_int(n_max, "n_max")
    L, mass = _positive(L, "L"), _positive(mass, "mass")
    n = np.arange(1, n_max + 1, dtype=np.int64)
    sq = n**2
    N = (sq[:, None, None] + sq[None, :, None] + sq[None, None, :]).ravel()  # (n_max**3,)
    N = N[N <= n_max**2 + 2]  # a level above this could have a triple with some n > n_max
    values, counts = np.unique(N, return_counts=True)
    return values * (np.pi**2 / (2.0 * mass * L**2)), counts.astype(np.float64)


def oscillator3d_levels(n_levels: int, omega: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Levels :math:`E_n = \omega(n + \tfrac32)` and degeneracies :math:`g_n = (n+1)(n+2)/2` of the isotropic 3-D oscillator.

    Examples
    --------
    >>> from thermoref.spectra import oscillator3d_levels
    >>> E, g = oscillator3d_levels(4)
    >>> print(E, g)
    [1.5 2.5 3.5 4.5] [ 1.  3.  6. 10.]
    """
    n_levels = check_positive_int(n_levels, "n_levels")
    omega = _positive(omega, "omega")
    n = np.arange(n_levels, dtype=np.float64)
    return omega * (n + 1.5), (n + 1.0) * (n + 2.0) / 2.0


def maxwell_boltzmann_speed_pdf(v: ArrayLike, kT: float = 1.0, mass: float = 1.0) -> np.ndarray:
    r"""Maxwell–Boltzmann speed density :math:`f(v) = 4\pi v^2 \left(\frac{m}{2\pi kT}\right)^{3/2} e^{-m v^2/2kT}`, v ≥ 0.

    The factor :math:`4\pi v^2` is the area of the shell of velocities with speed :math:`v`: a density of
    states, not part of the Boltzmann factor.

    Examples
    --------
    >>> from thermoref.spectra import maxwell_boltzmann_speed_pdf
    >>> print(f"{maxwell_boltzmann_speed_pdf(1.0):.6f}")
    0.483941
    """
    kT = float(check_temperature(kT, "kT", allow_zero=False, allow_inf=False))
    mass = _positive(mass, "mass")
    v = as_float_array(v, "v")
    a = mass / (2.0 * kT)
    with np.errstate(under="ignore"):
        return np.where(v >= 0, 4.0 * np.pi * v**2 * (a / np.pi) ** 1.5 * np.exp(-a * v**2), 0.0)


def maxwell_boltzmann_energy_pdf(E: ArrayLike, kT: float = 1.0) -> np.ndarray:
    r"""Density of the kinetic energy of one Maxwell–Boltzmann particle: :math:`f(E) = \frac{2}{\sqrt\pi}\frac{\sqrt{E}}{(kT)^{3/2}} e^{-E/kT}`.

    A Gibbs law :math:`e^{-E/kT}` times the free-particle density of states :math:`g(E) \propto \sqrt{E}`.

    Examples
    --------
    >>> from thermoref.spectra import maxwell_boltzmann_energy_pdf
    >>> print(f"{maxwell_boltzmann_energy_pdf(1.0):.6f}")
    0.415107
    """
    kT = float(check_temperature(kT, "kT", allow_zero=False, allow_inf=False))
    E = as_float_array(E, "E")
    with np.errstate(under="ignore"):
        return np.where(E >= 0, 2.0 / np.sqrt(np.pi) * np.sqrt(np.abs(E)) / kT**1.5 * np.exp(-np.abs(E) / kT), 0.0)


def maxwell_boltzmann_energy_cdf(E: ArrayLike, kT: float = 1.0) -> np.ndarray:
    r"""Cumulative law of :func:`maxwell_boltzmann_energy_pdf`: the regularized gamma :math:`P(3/2, E/kT)`."""
    from scipy.special import gammainc

    kT = float(check_temperature(kT, "kT", allow_zero=False, allow_inf=False))
    E = as_float_array(E, "E", allow_pos_inf=True)
    return np.where(E > 0, gammainc(1.5, np.maximum(E, 0.0) / kT), 0.0)
