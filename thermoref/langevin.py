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

from ._validation import as_float_array, as_rng, check_positive_int, check_real, check_temperature
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


def _coeffs(J2, J3, J4, I) -> tuple[np.ndarray, ...]:
    return tuple(as_float_array(v, n) for v, n in ((J2, "J2"), (J3, "J3"), (J4, "J4"), (I, "I")))


def potential(x: ArrayLike, *, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0, J4: ArrayLike = 0.0, I: ArrayLike = 0.0) -> np.ndarray:
    r""":math:`V(x) = \tfrac12 J_2x^2 + \tfrac13 J_3x^3 + \tfrac14 J_4x^4 - Ix` (broadcast)."""
    J2, J3, J4, I = _coeffs(J2, J3, J4, I)
    return _V(as_float_array(x, "x"), J2, J3, J4, I)


def drift(x: ArrayLike, *, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0, J4: ArrayLike = 0.0, I: ArrayLike = 0.0) -> np.ndarray:
    r"""The force :math:`-V'(x) = I - J_2x - J_3x^2 - J_4x^3`."""
    J2, J3, J4, I = _coeffs(J2, J3, J4, I)
    return _F(as_float_array(x, "x"), J2, J3, J4, I)


def _V(x, J2, J3, J4, I):
    """V(x) by Horner's rule: the one implementation of the potential."""
    return x * (0.5 * J2 * x + x * x * (J3 / 3.0 + 0.25 * J4 * x) - I)


def _F(x, J2, J3, J4, I):
    """-V'(x) by Horner's rule: the one implementation of the force."""
    return I - x * (J2 + x * (J3 + J4 * x))


def _steps(t_f, dt, tau0) -> tuple[float, int]:
    h = float(_check_time(dt, tau0, "dt"))
    if not h > 0:
        raise ValueError(f"dt: the step must be positive, got {dt!r}")
    n = float(_check_time(t_f, tau0, "t_f")) / h
    n_steps = int(round(n))
    if abs(n - n_steps) > 1e-9 * max(1.0, n):
        raise ValueError(f"t_f: must be a whole number of steps dt, got t_f/dt = {n!r}")
    return h, n_steps


def langevin_neuron(x0: ArrayLike, *, kT: ArrayLike, dt: float, t_f: float, rng, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0,
                    J4: ArrayLike = 0.0, I: ArrayLike = 0.0, rails: tuple[float, float] | None = None,
                    tau0: float = 1.0) -> np.ndarray:
    r"""Euler–Maruyama run of Langevin neurons for a fixed observation time ``t_f``; return the final states.

    Parameters
    ----------
    x0 : array_like
        Initial states, e.g. of shape (neurons, batch) or (replicas, neurons, batch).
    kT : float or array_like
        Temperature (``>= 0``; 0 gives the deterministic gradient flow), broadcast against the state.
    dt, t_f : float
        Step and observation time (physical; ``t_f / dt`` must be a whole number).
    rng : numpy.random.Generator or int
    J2, J3, J4, I : float or array_like
        Potential coefficients and input current, broadcast against the state.
    rails : (float, float), optional
        Clip the state to ``[lo, hi]`` after every step (a hardware supply rail). This changes the law: the
        stationary density is no longer :math:`e^{-V/kT}` once the rails are reached.

    Returns
    -------
    ndarray of the broadcast shape of ``x0`` and the parameters

    Notes
    -----
    :math:`x_{k+1} = x_k - V'(x_k)h + \sqrt{2kTh}\,z_k` with :math:`h = dt/\tau_0`, for ``t_f/dt`` steps.

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
    shape = np.broadcast_shapes(x.shape, J2.shape, J3.shape, J4.shape, I.shape, kT.shape)
    x = np.broadcast_to(x, shape).copy()
    if rails is not None:
        lo, hi = (float(v) for v in as_float_array(rails, "rails", ndim=1))
        if not lo < hi:
            raise ValueError(f"rails: need lo < hi, got {rails!r}")
    noise = np.sqrt(2.0 * kT * h)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            x = x + h * _F(x, J2, J3, J4, I) + noise * rng.standard_normal(shape)
            if rails is not None:
                np.clip(x, lo, hi, out=x)
    _check_finite(x)
    return x


def _check_finite(x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise ValueError("dt: Euler–Maruyama diverged (explicit steps are unstable for a quartic drift at this dt; "
                         "reduce dt, set rails, or use mala)")


@dataclass(frozen=True)
class StationaryLaw:
    """The density :math:`e^{-V/kT}/Z` tabulated by quadrature on a fine grid.

    Attributes
    ----------
    grid, density, cumulative : ndarray of shape (m,)
        Grid covering all but ~1e-30 of the mass, the normalized density and the CDF on it.
    log_Z : float
        :math:`\\log\\int e^{-V/kT}dx`.
    """

    grid: np.ndarray
    density: np.ndarray
    cumulative: np.ndarray
    log_Z: float

    def pdf(self, x: ArrayLike) -> np.ndarray:
        """Density at ``x`` (linear interpolation of the table; 0 outside the grid)."""
        return np.interp(x, self.grid, self.density, left=0.0, right=0.0)

    def cdf(self, x: ArrayLike) -> np.ndarray:
        """CDF at ``x``: cubic Hermite interpolation with the exact slope (the density), error O(h^4)."""
        x = np.asarray(x, dtype=float)
        spline = interpolate.CubicHermiteSpline(self.grid, self.cumulative, self.density, extrapolate=False)
        inside = np.clip(x, self.grid[0], self.grid[-1])
        return np.where(x < self.grid[0], 0.0, np.where(x > self.grid[-1], 1.0, np.clip(spline(inside), 0.0, 1.0)))

    @property
    def mean(self) -> float:
        return float(integrate.simpson(self.grid * self.density, x=self.grid))

    @property
    def variance(self) -> float:
        return float(integrate.simpson((self.grid - self.mean) ** 2 * self.density, x=self.grid))


def _check_confining(J2, J3, J4) -> None:
    if not (J4 > 0 or (J4 == 0 and J3 == 0 and J2 > 0)):
        raise ValueError("J4: e^{-V/kT} is normalizable only for J4 > 0 (or J4 = J3 = 0 and J2 > 0)")


def stationary_law(*, kT: float, J2: float = 1.0, J3: float = 0.0, J4: float = 0.0, I: float = 0.0, n_grid: int = 20001) -> StationaryLaw:
    r"""Tabulate :math:`\rho(x) = e^{-V(x)/kT}/Z` by Simpson quadrature (scalar parameters).

    The grid spans the region where :math:`V - V_{\min} < 70\,kT` (mass outside below :math:`e^{-70}`).

    Examples
    --------
    >>> from thermoref.langevin import stationary_law
    >>> law = stationary_law(kT=0.5, J2=1.0)
    >>> print(f"{law.variance:.6f}")
    0.500000
    """
    J2, J3, J4, I = (float(as_float_array(v, n, ndim=0)) for v, n in ((J2, "J2"), (J3, "J3"), (J4, "J4"), (I, "I")))
    kT = float(check_temperature(kT, "kT", allow_zero=False, allow_inf=False))
    _check_confining(J2, J3, J4)
    n_grid = check_positive_int(n_grid, "n_grid", minimum=101)
    crit = np.roots([J4, J3, J2, -I]) if J4 > 0 else np.array([I / J2])
    crit = crit[np.abs(crit.imag) < 1e-9].real
    V = lambda u: _V(u, J2, J3, J4, I)  # noqa: E731
    v_min = float(V(crit).min())
    lo, hi = float(crit.min()), float(crit.max())
    step = 1.0 + abs(hi - lo)
    while V(lo) - v_min < 70 * kT:
        lo -= step
    while V(hi) - v_min < 70 * kT:
        hi += step
    grid = np.linspace(lo, hi, n_grid)
    w = np.exp(-(V(grid) - v_min) / kT)  # (m,)
    Z = integrate.simpson(w, x=grid)
    cum = integrate.cumulative_simpson(w, x=grid, initial=0.0) / Z
    return StationaryLaw(grid, w / Z, np.clip(cum, 0.0, 1.0), float(np.log(Z) - v_min / kT))


def _mala_step(x, kT, h, J2, J3, J4, I, rng):
    """One MALA step for every element; returns the new state and the acceptance mask."""
    fx = _F(x, J2, J3, J4, I)
    y = x + h * fx + np.sqrt(2.0 * kT * h) * rng.standard_normal(x.shape)
    with np.errstate(over="ignore", invalid="ignore"):  # a wild proposal gives inf/NaN: rejected below
        fy = _F(y, J2, J3, J4, I)
        log_q_fwd = -((y - x - h * fx) ** 2)
        log_q_bwd = -((x - y - h * fy) ** 2)
        log_alpha = -(_V(y, J2, J3, J4, I) - _V(x, J2, J3, J4, I)) / kT + (log_q_bwd - log_q_fwd) / (4.0 * kT * h)
    accept = np.log(rng.random(x.shape)) < np.nan_to_num(log_alpha, nan=-np.inf)
    return np.where(accept, y, x), accept


def mala(x0: ArrayLike, n_steps: int, *, kT: ArrayLike, dt: float, rng, J2: ArrayLike = 1.0, J3: ArrayLike = 0.0,
         J4: ArrayLike = 0.0, I: ArrayLike = 0.0, tau0: float = 1.0) -> tuple[np.ndarray, float]:
    r"""Metropolis-adjusted Langevin: the EM step as a proposal plus an accept/reject test; exact for :math:`e^{-V/kT}`.

    Returns ``(x, acceptance_rate)`` after ``n_steps`` steps of every chain (element of ``x0``).

    Notes
    -----
    Proposal :math:`y = x - V'(x)h + \sqrt{2kTh}z`, accepted with probability
    :math:`\min\{1, e^{-(V(y)-V(x))/kT}q(x\mid y)/q(y\mid x)\}`, :math:`q(y\mid x) \propto
    e^{-(y-x+V'(x)h)^2/(4kTh)}`: detailed balance with respect to :math:`e^{-V/kT}` at every :math:`h`.

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
    h = float(_check_time(dt, tau0, "dt"))
    if not h > 0:
        raise ValueError(f"dt: the step must be positive, got {dt!r}")
    x = as_float_array(x0, "x0")
    shape = np.broadcast_shapes(x.shape, J2.shape, J3.shape, J4.shape, I.shape, kT.shape)
    x = np.broadcast_to(x, shape).copy()
    accepted = 0
    for _ in range(n_steps):
        x, acc = _mala_step(x, kT, h, J2, J3, J4, I, rng)
        accepted += int(acc.sum())
    return x, accepted / (n_steps * x.size)


def _wells(J2, J3, J4, I):
    crit = np.sort(np.roots([J4, J3, J2, -I]).real) if J4 > 0 else np.array([])
    if crit.size != 3 or np.any(np.abs(np.roots([J4, J3, J2, -I]).imag) > 1e-12):
        raise ValueError("J2: the potential has no double well (V' needs three real roots; try J2 < 0 < J4)")
    return crit  # left minimum, barrier top, right minimum


def kramers_rate(*, kT: float, J2: float, J4: float, J3: float = 0.0, I: float = 0.0, start: str = "left") -> float:
    r"""Overdamped Kramers rate of escape from one well: :math:`\frac{\sqrt{V''(x_m)|V''(x_b)|}}{2\pi}e^{-\Delta V/kT}`.

    Asymptotic for :math:`\Delta V \gg kT`; compare with :func:`mean_first_passage_time`.

    Examples
    --------
    >>> from thermoref.langevin import kramers_rate
    >>> print(f"{kramers_rate(kT=0.25, J2=-1.0, J4=1.0):.6f}")
    0.082802
    """
    kT = float(check_temperature(kT, "kT", allow_zero=False, allow_inf=False))
    if start not in ("left", "right"):
        raise ValueError(f"start: expected 'left' or 'right', got {start!r}")
    xl, xb, xr = _wells(J2, J3, J4, I)
    xm = xl if start == "left" else xr
    curv = lambda u: J2 + 2 * J3 * u + 3 * J4 * u * u  # noqa: E731
    dV = float(potential(xb, J2=J2, J3=J3, J4=J4, I=I) - potential(xm, J2=J2, J3=J3, J4=J4, I=I))
    return float(np.sqrt(curv(xm) * abs(curv(xb))) / (2 * np.pi) * np.exp(-dV / kT))


def mean_first_passage_time(a: float, c: float, *, kT: float, J2: float = 1.0, J3: float = 0.0, J4: float = 0.0,
                            I: float = 0.0, n_grid: int = 20001) -> float:
    r"""Exact mean time to go from ``a`` up to ``c > a`` (reflecting at :math:`-\infty`), by quadrature.

    Notes
    -----
    :math:`T(a\to c) = \frac{1}{kT}\int_a^c e^{V(y)/kT}\int_{-\infty}^y e^{-V(z)/kT}dz\,dy`.

    Examples
    --------
    >>> from thermoref.langevin import mean_first_passage_time
    >>> print(f"{mean_first_passage_time(-1.0, 1.0, kT=0.25, J2=-1.0, J4=1.0):.4f}")
    14.2777
    """
    law = stationary_law(kT=kT, J2=J2, J3=J3, J4=J4, I=I, n_grid=n_grid)
    if not a < c:
        raise ValueError(f"c: must exceed a, got a={a!r}, c={c!r}")
    y = np.linspace(a, c, n_grid)
    # law.cumulative = (1/Z) int e^{-V/kT}; 1/(kT rho(y)) = Z e^{V/kT}/kT, so the Z factors cancel
    inner = law.cdf(y) / (kT * np.exp(-potential(y, J2=J2, J3=J3, J4=J4, I=I) / kT - law.log_Z))
    return float(integrate.simpson(inner, x=y))


def first_passage_times(x0: ArrayLike, target: float, *, kT: float, dt: float, max_time: float, rng, J2: float = 1.0,
                        J3: float = 0.0, J4: float = 0.0, I: float = 0.0, tau0: float = 1.0) -> np.ndarray:
    """Simulated (Euler–Maruyama) times at which each trajectory first reaches ``x >= target``.

    Returns an ndarray of x0's shape; ``inf`` where the target was not reached within ``max_time``.
    """
    rng = as_rng(rng)
    h, n_steps = _steps(max_time, dt, tau0)
    kT = float(check_temperature(kT, "kT", allow_inf=False))
    x = as_float_array(x0, "x0").copy()
    times = np.full(x.shape, np.inf)
    alive = np.flatnonzero(x < target)
    times.flat[np.flatnonzero(x >= target)] = 0.0
    xs = x.ravel()[alive]
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, n_steps + 1):
            if not alive.size:
                break
            xs = xs + h * _F(xs, J2, J3, J4, I) + np.sqrt(2 * kT * h) * rng.standard_normal(xs.size)
            hit = xs >= target
            times.flat[alive[hit]] = k * h * tau0
            alive, xs = alive[~hit], xs[~hit]
    _check_finite(xs)
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
    J2, J3, J4, I : float
        Potential coefficients (confining: see :func:`stationary_law`).

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
    h = float(_check_time(dt, 1.0, "dt"))
    if not h > 0:
        raise ValueError(f"dt: the step must be positive, got {dt!r}")
    J2, J3, J4, I = (check_real(v, n) for v, n in ((J2, "J2"), (J3, "J3"), (J4, "J4"), (I, "I")))
    _check_confining(J2, J3, J4)
    x = as_float_array(x0, "x0", min_ndim=1)
    if x.shape[0] != betas.size:
        raise ValueError(f"x0: axis 0 must hold one replica per rung ({betas.size}), got shape {x.shape}")

    def move(state: np.ndarray, beta: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        accepted = np.zeros(betas.size)
        for _ in range(steps_per_round):
            state[...], acc = _mala_step(state, 1.0 / beta, h, J2, J3, J4, I, gen)
            accepted += acc.reshape(betas.size, -1).sum(axis=1)
        return accepted / steps_per_round

    return replica_exchange(x, betas, n_rounds, move=move, energy=lambda u: _V(u, J2, J3, J4, I), rng=rng,
                            observable=lambda u: u.copy())
