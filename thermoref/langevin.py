r"""Overdamped Langevin neurons in a quartic potential: Euler–Maruyama, MALA, Kramers escape, parallel tempering.

A neuron's state obeys :math:`dx = -V'(x)\,ds + \sqrt{2\,kT}\,dW` in device time :math:`s = t/\tau_0`, with

.. math:: V(x) = \tfrac12 J_2x^2 + \tfrac13 J_3x^3 + \tfrac14 J_4x^4 - Ix ,

and stationary density :math:`\rho(x) \propto e^{-V(x)/kT}` (normalizable when :math:`J_4 > 0`, or
:math:`J_4 = J_3 = 0 < J_2`). Parameters broadcast against the state, so one call runs neurons × batch ×
replicas. Euler–Maruyama at a finite step samples a biased law; MALA adds a Metropolis test and is exact
for :math:`e^{-V/kT}` at any step. At a short observation time :math:`t_f` the state is neither at equilibrium
nor, at :math:`kT = 0`, random at all: it is a deterministic function of the input current.

References: Risken, H. "The Fokker–Planck Equation" (1989) §5; Roberts, G. O. & Tweedie, R. L. (1996)
"Exponential convergence of Langevin distributions", Bernoulli 2, 341–363 (MALA); Kramers, H. A. (1940)
Physica 7, 284–304; Hänggi, Talkner & Borkovec (1990) Rev. Mod. Phys. 62, 251, eq. (4.56b) (overdamped rate);
Swendsen & Wang (1986) PRL 57, 2607 and Geyer (1991) (replica exchange).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, interpolate

from ._validation import (
    as_float_array,
    as_rng,
    check_allocation,
    check_positive_int,
    check_real,
    check_temperature,
    check_work,
)
from .ou import _check_time
from .tempering import PTResult, check_ladder, replica_exchange

__all__ = [
    "potential",
    "drift",
    "langevin_neuron",
    "StationaryLaw",
    "stationary_law",
    "mala",
    "kramers_rate",
    "mean_first_passage_time",
    "first_passage_times",
    "parallel_tempering",
]

_EXTREME = 1e150  # an input this large (in magnitude) is the first suspect when a result overflows


# ---------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------
def _coeffs(J2, J3, J4, I) -> tuple[np.ndarray, ...]:
    return tuple(as_float_array(v, n) for v, n in ((J2, "J2"), (J3, "J3"), (J4, "J4"), (I, "I")))


def _scalar_coeffs(J2, J3, J4, I) -> tuple[float, ...]:
    return tuple(check_real(v, n) for v, n in ((J2, "J2"), (J3, "J3"), (J4, "J4"), (I, "I")))


def _shape(named: dict[str, np.ndarray]) -> tuple[int, ...]:
    """The broadcast shape of the arguments, naming the first one that does not broadcast with those before it."""
    shape: tuple[int, ...] = ()
    for name, arr in named.items():
        try:
            shape = np.broadcast_shapes(shape, np.shape(arr))
        except ValueError:
            first = next(iter(named))
            raise ValueError(f"{name}: shape {np.shape(arr)} does not broadcast with {first} and the other "
                             f"arguments (shape {shape})") from None
    return shape


def _largest(named: dict[str, object]) -> str:
    return max(named, key=lambda k: float(np.max(np.abs(np.asarray(named[k], float)), initial=0.0)))


def _overflow(what: str, named: dict[str, object]) -> ValueError:
    name = _largest(named)
    return ValueError(f"{name}: {what} overflows float64 (an argument of magnitude "
                      f"{float(np.max(np.abs(np.asarray(named[name], float)), initial=0.0)):.3g})")


def _scalar_time(t: object, tau0: object, name: str) -> float:
    check_real(t, name, nonnegative=True)
    return float(_check_time(t, tau0, name))


def _steps(t_f, dt, tau0, t_name: str = "t_f") -> tuple[float, int]:
    """The step h = dt/tau0 and the whole number of steps t_f/dt."""
    h = _scalar_time(dt, tau0, "dt")
    if not h > 0:
        raise ValueError(f"dt: the step must be positive, got {dt!r}")
    with np.errstate(over="ignore"):
        n = _scalar_time(t_f, tau0, t_name) / h
    if not n <= 2.0**53:  # name the extreme one of the pair
        t = float(_check_time(t_f, tau0, t_name))
        name = t_name if abs(np.log(max(t, 1e-300))) >= abs(np.log(h)) else "dt"
        raise ValueError(f"{name}: {t_name} / dt = {n!r} steps; at most 2**53 can be counted")
    n_steps = int(round(n))
    if abs(n - n_steps) > 1e-9 * max(1.0, n):
        raise ValueError(f"{t_name}: must be a whole number of steps dt, got {t_name}/dt = {n!r}")
    return h, n_steps


def _not_confining(J2, J3, J4) -> bool:
    J2, J3, J4 = (np.asarray(v, float) for v in (J2, J3, J4))
    return bool(np.any((J4 < 0) | ((J4 == 0) & (J3 != 0)) | ((J4 == 0) & (J3 == 0) & (J2 < 0))))


def _diverged(named: dict[str, object], J2, J3, J4) -> ValueError:
    """The error for an Euler–Maruyama run that left the float range, naming the parameter at fault."""
    extreme = {k: v for k, v in named.items() if np.max(np.abs(np.asarray(v, float)), initial=0.0) > _EXTREME}
    if extreme:
        return _overflow("the Euler–Maruyama state", extreme)
    if _not_confining(J2, J3, J4):
        return ValueError("J4: the potential does not confine the state (J4 < 0, or J4 = 0 with J3 != 0 or J2 < 0): "
                          "it runs off to infinity")
    return ValueError("dt: Euler–Maruyama diverged (explicit steps are unstable for a quartic drift at this dt; "
                      "reduce dt, set rails, or use mala)")


# ---------------------------------------------------------------------------------------------------------
# the potential
# ---------------------------------------------------------------------------------------------------------
def _V(x, J2, J3, J4, I):
    """V(x) by Horner's rule: the one implementation of the potential."""
    return x * (0.5 * J2 * x + x * x * (J3 / 3.0 + 0.25 * J4 * x) - I)


def _F(x, J2, J3, J4, I):
    """-V'(x) by Horner's rule: the one implementation of the force."""
    return I - x * (J2 + x * (J3 + J4 * x))


def potential(x: ArrayLike, *, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0, J4: ArrayLike = 0.0, I: ArrayLike = 0.0) -> np.ndarray:
    r"""The neuron's potential :math:`V(x) = \tfrac12 J_2x^2 + \tfrac13 J_3x^3 + \tfrac14 J_4x^4 - Ix`.

    Parameters
    ----------
    x : array_like of any shape
        States.
    J2, J3, J4 : float or array_like, broadcastable with ``x``
        Quadratic, cubic and quartic coefficients.
    I : float or array_like, broadcastable with ``x``
        Input current (a linear tilt).

    Returns
    -------
    ndarray of the broadcast shape of ``x`` and the coefficients
        :math:`V(x)`; a value beyond the float range raises ``ValueError`` naming the largest argument.

    Notes
    -----
    .. math:: V(x) = \tfrac12 J_2x^2 + \tfrac13 J_3x^3 + \tfrac14 J_4x^4 - Ix ,

    a double well for :math:`J_2 < 0 < J_4`, tilted by the input current :math:`I`; the stationary density of
    the neuron is :math:`e^{-V/kT}/Z`. Evaluated by Horner's rule.

    Examples
    --------
    >>> from thermoref.langevin import potential
    >>> print(potential([-1.0, 0.5, 1.0], J2=-1.0, J4=1.0, I=0.2))
    [-0.05     -0.209375 -0.45    ]
    """
    J2, J3, J4, I = _coeffs(J2, J3, J4, I)
    x = as_float_array(x, "x")
    _shape({"x": x, "J2": J2, "J3": J3, "J4": J4, "I": I})
    with np.errstate(all="ignore"):
        V = _V(x, J2, J3, J4, I)
    if not np.isfinite(V).all():
        raise _overflow("V(x)", {"x": x, "J2": J2, "J3": J3, "J4": J4, "I": I})
    return V


def drift(x: ArrayLike, *, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0, J4: ArrayLike = 0.0, I: ArrayLike = 0.0) -> np.ndarray:
    r"""The force on the neuron, :math:`-V'(x) = I - J_2x - J_3x^2 - J_4x^3`.

    Parameters
    ----------
    x : array_like of any shape
        States.
    J2, J3, J4 : float or array_like, broadcastable with ``x``
        Quadratic, cubic and quartic coefficients of the potential.
    I : float or array_like, broadcastable with ``x``
        Input current.

    Returns
    -------
    ndarray of the broadcast shape of ``x`` and the coefficients
        :math:`-V'(x)`; a value beyond the float range raises ``ValueError`` naming the largest argument.

    Notes
    -----
    .. math:: -V'(x) = I - J_2x - J_3x^2 - J_4x^3 ,

    the deterministic part of :math:`dx = -V'(x)\,ds + \sqrt{2kT}\,dW`.

    Examples
    --------
    >>> from thermoref.langevin import drift
    >>> print(drift([-1.0, 0.0, 1.0], J2=-1.0, J4=1.0, I=0.2))
    [0.2 0.2 0.2]
    """
    J2, J3, J4, I = _coeffs(J2, J3, J4, I)
    x = as_float_array(x, "x")
    _shape({"x": x, "J2": J2, "J3": J3, "J4": J4, "I": I})
    with np.errstate(all="ignore"):
        F = _F(x, J2, J3, J4, I)
    if not np.isfinite(F).all():
        raise _overflow("V'(x)", {"x": x, "J2": J2, "J3": J3, "J4": J4, "I": I})
    return F


# ---------------------------------------------------------------------------------------------------------
# dynamics
# ---------------------------------------------------------------------------------------------------------
def langevin_neuron(x0: ArrayLike, *, kT: ArrayLike, dt: float, t_f: float, rng, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0,
                    J4: ArrayLike = 0.0, I: ArrayLike = 0.0, rails: tuple[float, float] | None = None,
                    tau0: float = 1.0) -> np.ndarray:
    r"""Euler–Maruyama run of Langevin neurons for a fixed observation time ``t_f``; return the final states.

    Parameters
    ----------
    x0 : array_like of any shape
        Initial states, e.g. of shape (neurons, batch) or (replicas, neurons, batch).
    kT : float or array_like, broadcastable with ``x0``
        Temperature (``>= 0``; 0 gives the deterministic gradient flow).
    dt : float
        Physical time step, ``> 0``.
    t_f : float
        Observation time (physical; ``t_f / dt`` must be a whole number).
    rng : numpy.random.Generator or int
        Source of randomness.
    J2, J3, J4 : float or array_like, broadcastable with ``x0``
        Potential coefficients.
    I : float or array_like, broadcastable with ``x0``
        Input current.
    rails : (float, float), optional
        Clip the state to ``[lo, hi]`` after every step (a hardware supply rail). This changes the law: the
        stationary density is no longer :math:`e^{-V/kT}` once the rails are reached.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of the broadcast shape of ``x0`` and the parameters
        The states at ``t_f``.

    Notes
    -----
    :math:`x_{k+1} = x_k - V'(x_k)h + \sqrt{2kTh}\,z_k` with :math:`h = dt/\tau_0`, for ``t_f/dt`` steps: the
    overdamped Langevin equation :math:`dx = -V'(x)\,ds + \sqrt{2kT}\,dW` discretized explicitly. At a finite
    step it samples a biased law (see :func:`mala` for an exact one), and it is unstable once
    :math:`h|V''(x)| > 2`; a run that leaves the float range raises ``ValueError`` naming ``dt`` (or ``J4`` for
    a potential that does not confine, or an argument of extreme magnitude).

    References
    ----------
    Kloeden, P. E. & Platen, E. (1992) "Numerical Solution of Stochastic Differential Equations", Springer, §9.1.
    Risken, H. (1989) "The Fokker–Planck Equation", 2nd ed., Springer, §5.

    Examples
    --------
    >>> from thermoref.langevin import langevin_neuron
    >>> x = langevin_neuron(np.zeros((4, 3)), kT=0.0, dt=0.1, t_f=1.0, I=[[1.0], [0.0], [-1.0], [2.0]], rng=0)
    >>> print(np.round(x[:, 0], 4))
    [ 0.6513  0.     -0.6513  1.3026]
    """
    rng = as_rng(rng)
    J2, J3, J4, I = _coeffs(J2, J3, J4, I)
    kT = check_temperature(kT, "kT", allow_inf=False)
    h, n_steps = _steps(t_f, dt, tau0)
    x = as_float_array(x0, "x0")
    named = {"x0": x, "J2": J2, "J3": J3, "J4": J4, "I": I, "kT": kT}
    shape = _shape(named)
    if rails is not None:
        r_ = as_float_array(rails, "rails", ndim=1)
        if r_.shape != (2,) or not r_[0] < r_[1]:
            raise ValueError(f"rails: expected (lo, hi) with lo < hi, got {rails!r}")
        lo, hi = float(r_[0]), float(r_[1])
    check_allocation(shape, "x0")
    check_work(n_steps * max(int(np.prod(shape, dtype=object)), 1), "t_f")
    x = np.array(np.broadcast_to(x, shape), dtype=float)
    with np.errstate(all="ignore"):
        noise = np.sqrt(2.0 * kT * h)
        for _ in range(n_steps):
            x = x + h * _F(x, J2, J3, J4, I) + noise * rng.standard_normal(shape)
            if rails is not None:
                x = np.clip(x, lo, hi)
    if not np.isfinite(x).all():
        raise _diverged(named, J2, J3, J4)
    return x


@dataclass(frozen=True)
class StationaryLaw:
    r"""The stationary density :math:`e^{-V/kT}/Z` of a neuron, tabulated by quadrature on a fine grid.

    Attributes
    ----------
    grid : ndarray of shape (m,)
        Grid covering all but about :math:`e^{-70}` of the mass.
    density : ndarray of shape (m,)
        The normalized density on the grid.
    cumulative : ndarray of shape (m,)
        The CDF on the grid (cumulative Simpson).
    log_Z : float
        :math:`\log\int e^{-V/kT}dx`.
    """

    grid: np.ndarray
    density: np.ndarray
    cumulative: np.ndarray
    log_Z: float

    def pdf(self, x: ArrayLike) -> np.ndarray:
        r"""Density at ``x``: linear interpolation of the table, 0 outside the grid.

        Parameters
        ----------
        x : array_like of any shape
            States.

        Returns
        -------
        ndarray of shape x.shape
            :math:`\rho(x)`.

        Notes
        -----
        :math:`\rho(x) = e^{-V(x)/kT}/Z`, interpolated linearly between grid points (error :math:`O(h^2)` in the
        grid spacing :math:`h`).

        References
        ----------
        Risken, H. (1989) "The Fokker–Planck Equation", 2nd ed., Springer, §5.2.

        Examples
        --------
        >>> from thermoref.langevin import stationary_law
        >>> print(f"{float(stationary_law(kT=0.5, J2=1.0).pdf(0.0)):.6f}")
        0.564190
        """
        x = as_float_array(x, "x")
        return np.interp(x, self.grid, self.density, left=0.0, right=0.0)

    def cdf(self, x: ArrayLike) -> np.ndarray:
        r"""CDF at ``x``: cubic Hermite interpolation of the table with the exact slope (the density).

        Parameters
        ----------
        x : array_like of any shape
            States.

        Returns
        -------
        ndarray of shape x.shape
            :math:`P(X \le x)`, 0 below the grid and 1 above it.

        Notes
        -----
        :math:`F(x) = \int_{-\infty}^x e^{-V/kT}dy/Z`; between grid points the cubic Hermite interpolant with
        :math:`F' = \rho` has error :math:`O(h^4)`.

        References
        ----------
        Fritsch, F. N. & Carlson, R. E. (1980) "Monotone piecewise cubic interpolation", SIAM Journal on
        Numerical Analysis 17, 238–246.

        Examples
        --------
        >>> from thermoref.langevin import stationary_law
        >>> print(f"{float(stationary_law(kT=0.5, J2=1.0).cdf(0.0)):.6f}")
        0.500000
        """
        x = as_float_array(x, "x")
        spline = interpolate.CubicHermiteSpline(self.grid, self.cumulative, self.density, extrapolate=False)
        inside = np.clip(x, self.grid[0], self.grid[-1])
        return np.where(x < self.grid[0], 0.0, np.where(x > self.grid[-1], 1.0, np.clip(spline(inside), 0.0, 1.0)))

    @property
    def mean(self) -> float:
        r""":math:`E[x]` by Simpson quadrature on the grid."""
        return float(integrate.simpson(self.grid * self.density, x=self.grid))

    @property
    def variance(self) -> float:
        r""":math:`\mathrm{Var}[x]` by Simpson quadrature on the grid."""
        return float(integrate.simpson((self.grid - self.mean) ** 2 * self.density, x=self.grid))


def _critical_points(J2, J3, J4, I) -> np.ndarray:
    """Roots of V' (complex), naming the coefficient at fault when they leave the float range."""
    try:
        with np.errstate(all="ignore"):
            crit = np.roots([J4, J3, J2, -I]) if J4 > 0 else np.array([I / J2])
    except np.linalg.LinAlgError:
        crit = np.array([np.nan])
    if not np.isfinite(crit).all():
        coeffs = {"J2": J2, "J3": J3, "J4": J4, "I": I}
        if max(abs(v) for v in coeffs.values()) > _EXTREME:
            raise _overflow("the critical points of V", coeffs)
        raise ValueError(f"J4: {J4!r} is too small against J2, J3 and I: the critical points of V leave the float "
                         "range")
    return crit


def _check_confining(J2, J3, J4) -> None:
    if not (J4 > 0 or (J4 == 0 and J3 == 0 and J2 > 0)):
        raise ValueError("J4: e^{-V/kT} is normalizable only for J4 > 0 (or J4 = J3 = 0 and J2 > 0)")


def stationary_law(*, kT: float, J2: float = 1.0, J3: float = 0.0, J4: float = 0.0, I: float = 0.0, n_grid: int = 20001) -> StationaryLaw:
    r"""Tabulate the stationary density :math:`\rho(x) = e^{-V(x)/kT}/Z` by Simpson quadrature (scalar parameters).

    Parameters
    ----------
    kT : float
        Temperature, ``> 0``.
    J2, J3, J4 : float
        Potential coefficients; the density must be normalizable (:math:`J_4 > 0`, or :math:`J_4 = J_3 = 0 < J_2`).
    I : float
        Input current.
    n_grid : int
        Grid points, ``>= 101``.

    Returns
    -------
    StationaryLaw
        Grid, density and CDF of length ``n_grid``, and :math:`\log Z`.

    Notes
    -----
    The grid spans the region where :math:`V - V_{\min} < 70\,kT` (mass outside below :math:`e^{-70}`), found by
    stepping outward from the critical points (doubling the step after 64 steps). A temperature so large that
    :math:`70\,kT` or the grid's edge leaves the float range, or so small that the law is narrower than the
    float resolution around its minimum (the :math:`kT \to 0` limit is a point mass there), raises
    ``ValueError`` naming ``kT``. When the law is much narrower than the grid spacing, the grid is tightened
    to the interval where :math:`V - V_{\min} < 70\,kT`.

    .. math:: Z = \int e^{-V(x)/kT}\,dx, \qquad \rho(x) = e^{-V(x)/kT}/Z .

    References
    ----------
    Risken, H. (1989) "The Fokker–Planck Equation", 2nd ed., Springer, §5.2.

    Examples
    --------
    >>> from thermoref.langevin import stationary_law
    >>> law = stationary_law(kT=0.5, J2=1.0)
    >>> print(f"{law.variance:.6f}")
    0.500000
    """
    J2, J3, J4, I = _scalar_coeffs(J2, J3, J4, I)
    kT = float(check_temperature(check_real(kT, "kT"), "kT", allow_zero=False, allow_inf=False))
    _check_confining(J2, J3, J4)
    n_grid = check_positive_int(n_grid, "n_grid", minimum=101)
    check_allocation(n_grid, "n_grid")
    if not 70.0 * kT < 1e300:
        raise ValueError(f"kT: {kT!r} is too large: 70 kT leaves the float range (the kT -> inf limit is a flat, "
                         "non-normalizable density)")
    crit = _critical_points(J2, J3, J4, I)
    crit = crit[np.abs(crit.imag) < 1e-9].real

    def V(u):
        with np.errstate(all="ignore"):
            return _V(u, J2, J3, J4, I)

    v_min = float(V(crit).min())
    if not np.isfinite(v_min):
        raise _overflow("V at its minimum", {"J2": J2, "J3": J3, "J4": J4, "I": I})
    lo, hi = float(crit.min()), float(crit.max())
    x_min = float(crit[np.argmin(V(crit))])
    with np.errstate(all="ignore"):  # the size of V's terms at the minimum: their rounding error is ~eps times it
        v_scale = max(abs(0.5 * J2 * x_min**2), abs(J3 * x_min**3 / 3), abs(0.25 * J4 * x_min**4), abs(I * x_min))
    if not kT > max(1e-280, 1e4 * np.finfo(float).eps * v_scale):
        raise ValueError(f"kT: {kT!r} is too small to resolve V - V_min on a grid (the kT -> 0 limit is a point "
                         f"mass at x = {x_min!r})")
    first_step = 1.0 + abs(hi - lo)
    for side in (-1.0, 1.0):  # step outward until V - v_min >= 70 kT; double the step after 64 steps
        edge, step = (lo, hi)[side > 0], first_step
        for k in range(2100):
            if not V(edge) - v_min < 70 * kT:
                break
            edge += side * step
            if k >= 64:
                step *= 2.0
        if not (np.isfinite(edge) and np.isfinite(V(edge))):
            coeffs = {"J2": J2, "J3": J3, "J4": J4, "I": I}
            if max(abs(v) for v in coeffs.values()) > _EXTREME:
                raise _overflow("V at the edge of the law's support", coeffs)
            raise ValueError(f"kT: {kT!r} is too large: the law spreads beyond the range where V is finite")
        lo, hi = (edge, hi) if side < 0 else (lo, edge)
    if (hi - lo) / (n_grid - 1) > 0.01 * np.sqrt(kT / max(abs(J2) + abs(J3) + abs(J4), 1e-300)):
        # the law may be far narrower than the grid spacing: tighten to where V - v_min < 70 kT
        try:
            with np.errstate(all="ignore"):
                edges = np.roots([0.25 * J4, J3 / 3.0, 0.5 * J2, -I, -(v_min + 70 * kT)]) if J4 > 0 else \
                    np.roots([0.5 * J2, -I, -(v_min + 70 * kT)])
        except np.linalg.LinAlgError:
            edges = np.zeros(0)
        edges = edges[np.abs(edges.imag) <= 1e-7 * np.maximum(1.0, np.abs(edges))].real
        if edges.size >= 2 and np.isfinite(edges).all():
            lo, hi = max(lo, float(edges.min())), min(hi, float(edges.max()))
    if not (hi - lo) / (n_grid - 1) > 64 * np.finfo(float).eps * max(abs(lo), abs(hi), 1e-300):
        raise ValueError(f"kT: {kT!r} is too small: the law is narrower than the float resolution around its "
                         f"minimum (the kT -> 0 limit is a point mass at x = {x_min!r})")
    grid = np.linspace(lo, hi, n_grid)
    with np.errstate(under="ignore", over="ignore"):
        w = np.exp(-(V(grid) - v_min) / kT)  # (m,)
    if np.count_nonzero(w > 1e-30) < 64:  # the law falls between grid points: it cannot be tabulated here
        coeffs = {"J2": J2, "J3": J3, "J4": J4, "I": I}
        if max(abs(v) for v in coeffs.values()) > _EXTREME:
            raise _overflow("the law's curvature (it is narrower than the grid can resolve)", coeffs)
        raise ValueError(f"kT: {kT!r} is too small: the law is narrower than the grid resolves (the kT -> 0 limit "
                         f"is a point mass at x = {x_min!r})")
    Z = integrate.simpson(w, x=grid)
    cum = integrate.cumulative_simpson(w, x=grid, initial=0.0) / Z
    return StationaryLaw(grid, w / Z, np.clip(cum, 0.0, 1.0), float(np.log(Z) - v_min / kT))


def _mala_step(x, kT, h, J2, J3, J4, I, rng):
    """One MALA step for every element; returns the new state and the acceptance mask."""
    with np.errstate(all="ignore"):  # a wild proposal gives inf/NaN: rejected below
        fx = _F(x, J2, J3, J4, I)
        y = x + h * fx + np.sqrt(2.0 * kT * h) * rng.standard_normal(x.shape)
        fy = _F(y, J2, J3, J4, I)
        log_q_fwd = -((y - x - h * fx) ** 2)
        log_q_bwd = -((x - y - h * fy) ** 2)
        log_alpha = -(_V(y, J2, J3, J4, I) - _V(x, J2, J3, J4, I)) / kT + (log_q_bwd - log_q_fwd) / (4.0 * kT * h)
        accept = np.log(rng.random(x.shape)) < np.nan_to_num(log_alpha, nan=-np.inf)
    return np.where(accept, y, x), accept


def _check_start(x: np.ndarray, J2, J3, J4, I, name: str = "x0") -> None:
    with np.errstate(all="ignore"):
        ok = np.isfinite(_V(x, J2, J3, J4, I)).all() and np.isfinite(_F(x, J2, J3, J4, I)).all()
    if not ok:
        raise ValueError(f"{name}: V or V' overflows float64 at the starting states; start where the potential is "
                         "finite")


def mala(x0: ArrayLike, n_steps: int, *, kT: ArrayLike, dt: float, rng, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0,
         J4: ArrayLike = 0.0, I: ArrayLike = 0.0, tau0: float = 1.0) -> tuple[np.ndarray, float]:
    r"""Metropolis-adjusted Langevin chains: exact for :math:`e^{-V/kT}` at any step.

    Parameters
    ----------
    x0 : array_like of any shape
        Initial states; every element is an independent chain.
    n_steps : int
        Steps of every chain, ``>= 1``.
    kT : float or array_like, broadcastable with ``x0``
        Temperature, ``> 0``.
    dt : float
        Proposal step (physical), ``> 0``.
    rng : numpy.random.Generator or int
        Source of randomness.
    J2, J3, J4 : float or array_like, broadcastable with ``x0``
        Potential coefficients.
    I : float or array_like, broadcastable with ``x0``
        Input current.
    tau0 : float
        Device time constant.

    Returns
    -------
    x : ndarray of the broadcast shape of ``x0`` and the parameters
        The states after ``n_steps`` steps.
    acceptance_rate : float
        Accepted proposals over all proposals (0.0 for an empty batch: no proposal was made).

    Notes
    -----
    Proposal :math:`y = x - V'(x)h + \sqrt{2kTh}z` (the Euler–Maruyama step), accepted with probability
    :math:`\min\{1, e^{-(V(y)-V(x))/kT}q(x\mid y)/q(y\mid x)\}`, :math:`q(y\mid x) \propto
    e^{-(y-x+V'(x)h)^2/(4kTh)}`: detailed balance with respect to :math:`e^{-V/kT}` at every :math:`h`.

    References
    ----------
    Roberts, G. O. & Tweedie, R. L. (1996) "Exponential convergence of Langevin distributions and their
    discrete approximations", Bernoulli 2, 341–363.

    Examples
    --------
    >>> from thermoref.langevin import mala
    >>> x, acc = mala(np.zeros(1000), 50, kT=0.5, dt=0.3, rng=0, J2=1.0)
    >>> x.shape, bool(0.5 < acc < 1.0)
    ((1000,), True)
    """
    rng = as_rng(rng)
    J2, J3, J4, I = _coeffs(J2, J3, J4, I)
    kT = check_temperature(kT, "kT", allow_zero=False, allow_inf=False)
    n_steps = check_positive_int(n_steps, "n_steps")
    h = _scalar_time(dt, tau0, "dt")
    if not h > 0:
        raise ValueError(f"dt: the step must be positive, got {dt!r}")
    x = as_float_array(x0, "x0")
    shape = _shape({"x0": x, "J2": J2, "J3": J3, "J4": J4, "I": I, "kT": kT})
    check_allocation(shape, "x0")
    check_work(n_steps * max(int(np.prod(shape, dtype=object)), 1), "n_steps")
    x = np.array(np.broadcast_to(x, shape), dtype=float)
    _check_start(x, J2, J3, J4, I)
    accepted = 0
    for _ in range(n_steps):
        x, acc = _mala_step(x, kT, h, J2, J3, J4, I, rng)
        accepted += int(acc.sum())
    return x, accepted / max(n_steps * x.size, 1)


def _wells(J2, J3, J4, I):
    """Left minimum, barrier top and right minimum of a double well, naming the coefficient that spoils it."""
    if not J4 > 0:
        raise ValueError(f"J4: a double well needs J4 > 0 (a confining quartic), got {J4!r}")
    roots = _critical_points(J2, J3, J4, I)
    untilted = _critical_points(J2, J3, J4, 0.0)
    three = lambda r: r.size == 3 and np.isfinite(r).all() and not np.any(np.abs(r.imag) > 1e-12)  # noqa: E731
    if not three(roots):
        if three(untilted) and I != 0:
            raise ValueError(f"I: the input current {I!r} tilts the potential past its double well (V' has one "
                             "real root)")
        raise ValueError("J2: the potential has no double well (V' needs three real roots; try J2 < 0 < J4)")
    return np.sort(roots.real)


def kramers_rate(*, kT: float, J2: float, J4: float, J3: float = 0.0, I: float = 0.0, start: str = "left") -> float:
    r"""Overdamped Kramers rate of escape from one well of a double-well potential.

    Parameters
    ----------
    kT : float
        Temperature, ``> 0``.
    J2, J4 : float
        Potential coefficients; a double well needs :math:`J_2 < 0 < J_4` (three real critical points).
    J3 : float
        Cubic coefficient.
    I : float
        Input current.
    start : {"left", "right"}
        The well the neuron escapes from.

    Returns
    -------
    float
        The escape rate (per unit of device time); 0.0 in the :math:`kT \to 0` limit.

    Notes
    -----
    .. math:: k = \frac{\sqrt{V''(x_m)\,|V''(x_b)|}}{2\pi}\,e^{-\Delta V/kT}, \qquad \Delta V = V(x_b) - V(x_m),

    the rate of thermally activated hops over the barrier top :math:`x_b` from the minimum :math:`x_m`;
    asymptotic for :math:`\Delta V \gg kT` (compare with :func:`mean_first_passage_time`).

    References
    ----------
    Kramers, H. A. (1940) "Brownian motion in a field of force and the diffusion model of chemical reactions",
    Physica 7, 284–304. Hänggi, P., Talkner, P. & Borkovec, M. (1990) "Reaction-rate theory: fifty years after
    Kramers", Reviews of Modern Physics 62, 251–341, eq. (4.56b).

    Examples
    --------
    >>> from thermoref.langevin import kramers_rate
    >>> print(f"{kramers_rate(kT=0.25, J2=-1.0, J4=1.0):.6f}")
    0.082802
    """
    kT = float(check_temperature(check_real(kT, "kT"), "kT", allow_zero=False, allow_inf=False))
    J2, J3, J4, I = _scalar_coeffs(J2, J3, J4, I)
    if not isinstance(start, str) or start not in ("left", "right"):
        raise ValueError(f"start: expected 'left' or 'right', got {start!r}")
    xl, xb, xr = _wells(J2, J3, J4, I)
    xm = xl if start == "left" else xr
    with np.errstate(all="ignore"):
        curv = lambda u: J2 + 2 * J3 * u + 3 * J4 * u * u  # noqa: E731
        dV = float(_V(xb, J2, J3, J4, I) - _V(xm, J2, J3, J4, I))
        rate = float(np.sqrt(curv(xm) * abs(curv(xb))) / (2 * np.pi) * np.exp(-dV / kT))
    if not np.isfinite(rate):
        raise _overflow("the Kramers rate", {"J2": J2, "J3": J3, "J4": J4, "I": I})
    return rate


def mean_first_passage_time(a: float, c: float, *, kT: float, J2: float = 1.0, J3: float = 0.0, J4: float = 0.0,
                            I: float = 0.0, n_grid: int = 20001) -> float:
    r"""Exact mean time to go from ``a`` up to ``c > a`` (reflecting at :math:`-\infty`), by quadrature.

    Parameters
    ----------
    a : float
        Starting point.
    c : float
        Target, ``> a``.
    kT : float
        Temperature, ``> 0``.
    J2, J3, J4 : float
        Potential coefficients (confining, as in :func:`stationary_law`).
    I : float
        Input current.
    n_grid : int
        Quadrature points, ``>= 101``.

    Returns
    -------
    float
        The mean first-passage time (device units).

    Notes
    -----
    .. math:: T(a\to c) = \frac{1}{kT}\int_a^c e^{V(y)/kT}\int_{-\infty}^y e^{-V(z)/kT}\,dz\,dy ,

    the solution of the backward equation :math:`kT\,T'' - V'T' = -1` with :math:`T(c) = 0`; the inner integral
    is the stationary CDF (times :math:`Z`), so :math:`T = \int_a^c F(y)/(kT\rho(y))\,dy`.

    References
    ----------
    Gardiner, C. W. (2009) "Stochastic Methods", 4th ed., Springer, §5.5. Hänggi, P., Talkner, P. & Borkovec, M.
    (1990) Reviews of Modern Physics 62, 251–341.

    Examples
    --------
    >>> from thermoref.langevin import mean_first_passage_time
    >>> print(f"{mean_first_passage_time(-1.0, 1.0, kT=0.25, J2=-1.0, J4=1.0):.4f}")
    14.2777
    """
    a = check_real(a, "a")
    c = check_real(c, "c")
    if not a < c:
        raise ValueError(f"c: must exceed a, got a={a!r}, c={c!r}")
    law = stationary_law(kT=kT, J2=J2, J3=J3, J4=J4, I=I, n_grid=n_grid)
    J2, J3, J4, I = _scalar_coeffs(J2, J3, J4, I)
    kT = float(kT)
    y = np.linspace(a, c, n_grid)
    with np.errstate(all="ignore"):
        # law.cumulative = (1/Z) int e^{-V/kT}; 1/(kT rho(y)) = Z e^{V/kT}/kT, so the Z factors cancel
        inner = law.cdf(y) / (kT * np.exp(-_V(y, J2, J3, J4, I) / kT - law.log_Z))
        T = float(integrate.simpson(inner, x=y))
    if not np.isfinite(T):
        named = {"a": a, "c": c, "J2": J2, "J3": J3, "J4": J4, "I": I}
        if max(abs(v) for v in named.values()) <= _EXTREME:
            raise ValueError(f"kT: the mean first-passage time e^(Delta V / kT) overflows float64 at kT = {kT!r}")
        raise _overflow("the mean first-passage time", named)
    return T


def first_passage_times(x0: ArrayLike, target: float, *, kT: float, dt: float, max_time: float, rng, J2: float = 1.0,
                        J3: float = 0.0, J4: float = 0.0, I: float = 0.0, tau0: float = 1.0) -> np.ndarray:
    r"""Simulated (Euler–Maruyama) times at which each trajectory first reaches ``x >= target``.

    Parameters
    ----------
    x0 : array_like of any shape
        Starting states of independent trajectories.
    target : float
        The level to reach.
    kT : float
        Temperature, ``>= 0``.
    dt : float
        Physical time step, ``> 0``.
    max_time : float
        Longest simulated time (a whole number of steps ``dt``).
    rng : numpy.random.Generator or int
        Source of randomness.
    J2, J3, J4 : float or array_like, broadcastable with ``x0``
        Potential coefficients.
    I : float or array_like, broadcastable with ``x0``
        Input current.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of shape x0.shape
        First-passage times (physical); ``inf`` where the target was not reached within ``max_time``.

    Notes
    -----
    :math:`\tau = \min\{t_k : x_k \ge c\}` along :math:`x_{k+1} = x_k - V'(x_k)h + \sqrt{2kTh}\,z_k`; its mean
    approaches :func:`mean_first_passage_time` as :math:`h \to 0` (the discrete walk can step over the target
    between observations, which biases :math:`\tau` upward by :math:`O(\sqrt h)`).

    References
    ----------
    Gardiner, C. W. (2009) "Stochastic Methods", 4th ed., Springer, §5.5. Kloeden, P. E. & Platen, E. (1992)
    "Numerical Solution of Stochastic Differential Equations", Springer, §9.1.

    Examples
    --------
    >>> from thermoref.langevin import first_passage_times
    >>> t = first_passage_times(np.full(200, -1.0), 1.0, kT=0.5, dt=0.01, max_time=200.0, rng=0, J2=-1.0, J4=1.0)
    >>> t.shape, bool(np.isfinite(t).all())
    ((200,), True)
    """
    rng = as_rng(rng)
    h, n_steps = _steps(max_time, dt, tau0, "max_time")
    kT = float(check_temperature(check_real(kT, "kT"), "kT", allow_inf=False))
    target = check_real(target, "target")
    J2, J3, J4, I = _coeffs(J2, J3, J4, I)
    x = as_float_array(x0, "x0").copy()
    _shape({"x0": x, "J2": J2, "J3": J3, "J4": J4, "I": I})
    if any(np.ndim(v) for v in (J2, J3, J4, I)):
        x = np.array(np.broadcast_to(x, _shape({"x0": x, "J2": J2, "J3": J3, "J4": J4, "I": I})), dtype=float)
    check_work(n_steps * max(x.size, 1), "max_time")
    coef = [np.broadcast_to(v, x.shape).ravel() for v in (J2, J3, J4, I)]
    times = np.full(x.shape, np.inf)
    alive = np.flatnonzero(x < target)
    times.flat[np.flatnonzero(x >= target)] = 0.0
    xs = x.ravel()[alive]
    with np.errstate(all="ignore"):
        for k in range(1, n_steps + 1):
            if not alive.size:
                break
            c2, c3, c4, cI = (v[alive] for v in coef)
            xs = xs + h * _F(xs, c2, c3, c4, cI) + np.sqrt(2 * kT * h) * rng.standard_normal(xs.size)
            hit = xs >= target
            times.flat[alive[hit]] = k * h * tau0
            alive, xs = alive[~hit], xs[~hit]
    if not np.isfinite(xs).all():
        raise _diverged({"x0": x, "J2": J2, "J3": J3, "J4": J4, "I": I, "kT": kT}, J2, J3, J4)
    return times


def parallel_tempering(x0: ArrayLike, betas: ArrayLike, n_rounds: int, *, dt: float, rng: np.random.Generator | int,
                       steps_per_round: int = 1, J2: float = 1.0, J3: float = 0.0, J4: float = 0.0,
                       I: float = 0.0) -> PTResult:
    r"""Replica exchange over inverse temperatures ``betas``: MALA moves at each rung, then neighbour swaps.

    Parameters
    ----------
    x0 : array_like of shape (R, ...)
        Initial states; axis 0 follows ``betas``, further axes are independent tempering runs.
    betas : array_like of shape (R,)
        Strictly increasing inverse temperatures :math:`1/kT` (the project's convention: hottest rung first,
        the target last; :func:`thermoref.tempering.temperature_ladder`).
    n_rounds : int
        Rounds of (``steps_per_round`` MALA steps at every rung, then one swap sweep).
    dt : float
        MALA step (device time, :math:`\tau_0 = 1`).
    rng : numpy.random.Generator or int
        Source of randomness.
    steps_per_round : int
        MALA steps per replica per round.
    J2, J3, J4 : float
        Potential coefficients (confining: see :func:`stationary_law`).
    I : float
        Input current.

    Returns
    -------
    thermoref.tempering.PTResult
        ``states`` (R, ...), ``energies`` :math:`V(x)` and ``observables`` :math:`x` of shape
        (n_rounds, R, ...), and the MALA acceptance per rung as ``move_acceptance``.

    Notes
    -----
    The engine is :func:`thermoref.tempering.replica_exchange`: rungs :math:`(r, r+1)` swap states with
    probability :math:`\min\{1, e^{(\beta_{r+1} - \beta_r)(V(x_{r+1}) - V(x_r))}\}`, which keeps the product
    law :math:`\prod_r e^{-\beta_r V(x_r)}` invariant, so every rung samples its own temperature's law.

    References
    ----------
    Geyer, C. J. (1991) "Markov chain Monte Carlo maximum likelihood", Computing Science and Statistics 23,
    156–163; Roberts, G. O. & Tweedie, R. L. (1996) Bernoulli 2, 341 (MALA).

    Examples
    --------
    >>> from thermoref.langevin import parallel_tempering
    >>> res = parallel_tempering(np.zeros((3, 100)), [1.0, 3.0, 10.0], 20, dt=0.1, rng=0, J2=-1.0, J4=1.0)
    >>> res.observables.shape, res.swap_acceptance.shape
    ((20, 3, 100), (2,))
    """
    rng = as_rng(rng)
    betas = check_ladder(betas)
    if betas[0] == 0:
        raise ValueError("betas: a Langevin rung needs a finite temperature (beta > 0)")
    n_rounds = check_positive_int(n_rounds, "n_rounds")
    steps_per_round = check_positive_int(steps_per_round, "steps_per_round")
    h = _scalar_time(dt, 1.0, "dt")
    if not h > 0:
        raise ValueError(f"dt: the step must be positive, got {dt!r}")
    J2, J3, J4, I = _scalar_coeffs(J2, J3, J4, I)
    _check_confining(J2, J3, J4)
    x = as_float_array(x0, "x0", min_ndim=1)
    if x.shape[0] != betas.size:
        raise ValueError(f"x0: axis 0 must hold one replica per rung ({betas.size}), got shape {x.shape}")
    check_work(n_rounds * steps_per_round * max(x.size, 1), "steps_per_round" if steps_per_round > n_rounds else "n_rounds")
    _check_start(x, J2, J3, J4, I)

    def move(state: np.ndarray, beta: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        accepted = np.zeros(betas.size)
        for _ in range(steps_per_round):
            state[...], acc = _mala_step(state, 1.0 / beta, h, J2, J3, J4, I, gen)
            accepted += acc.reshape(betas.size, -1).sum(axis=1)
        return accepted / steps_per_round

    def energy(u: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return _V(u, J2, J3, J4, I)

    return replica_exchange(x, betas, n_rounds, move=move, energy=energy, rng=rng, observable=lambda u: u.copy())
