r"""Thermodynamic linear algebra: solving :math:`Ax = y` and inverting :math:`A` with an OU device.

A device with symmetric positive definite drift :math:`A` and diffusion :math:`D = 2I` relaxes to
:math:`N(A^{-1}y, A^{-1})` when programmed with the affine drift :math:`-(Ax - y)`. Its time-averaged state
estimates the solution of :math:`Ax = y` and its time-averaged second moment estimates :math:`A^{-1}`; the
simulator below never forms :math:`A^{-1}` (the affine term of each exact step comes from one block
exponential), so the only solve is the one the device's physics performs. Error falls as
:math:`1/\sqrt{t_f}` in modeled physical time.

Reference: Aifer, M. et al. (2024) "Thermodynamic linear algebra", npj Unconventional Computing 1, 13
(arXiv:2308.05660), §II; Van Loan, C. F. (1978) IEEE Trans. Autom. Control 23, 395–404.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from ._validation import as_float_array, as_rng, check_positive_int
from .ou import _check_time, _dense_transition, _psd_factor

__all__ = ["OUSolveResult", "ou_solve", "ou_inverse", "ou_solve_mse"]


@dataclass(frozen=True)
class OUSolveResult:
    """Running time averages of a thermodynamic solve.

    Attributes
    ----------
    times : ndarray of shape (m,)
        Modeled physical averaging time after burn-in at each observation (units of ``tau0``-scaled time).
    running : ndarray of shape (m, ..., n) or (m, n, n)
        Running estimate after each observation.
    estimate : ndarray
        The final estimate, ``running[-1]``.
    """

    times: np.ndarray
    running: np.ndarray

    @property
    def estimate(self) -> np.ndarray:
        return self.running[-1]


def _check_spd(A: ArrayLike) -> np.ndarray:
    A = as_float_array(A, "A", ndim=2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A: expected a square matrix, got shape {A.shape}")
    if not np.array_equal(A, A.T):
        raise ValueError("A: must be symmetric (a thermodynamic solve needs a symmetric positive definite drift)")
    if np.linalg.eigvalsh(A)[0] <= 0:
        raise ValueError("A: must be positive definite (the device must be stable)")
    return A


def _affine_step(A: np.ndarray, Y: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`e^{-Ah}` and :math:`\int_0^h e^{-Au}du\,Y` from one exponential of :math:`[[-A, Y], [0, 0]]h`."""
    n, k = A.shape[0], Y.shape[1]
    M = np.zeros((n + k, n + k))  # (n+k, n+k)
    M[:n, :n] = -A * h
    M[:n, n:] = Y * h
    C = linalg.expm(M)
    return C[:n, :n], C[:n, n:]


def _run(A, y, t_f, dt, burn_in, tau0, rng, second_moment: bool) -> OUSolveResult:
    h = float(_check_time(dt, tau0, "dt"))
    total = float(_check_time(t_f, tau0, "t_f"))
    burn = float(_check_time(burn_in, tau0, "burn_in"))
    if not h > 0:
        raise ValueError("dt: the observation interval must be positive")
    n_obs = int(round(total / h))
    if n_obs < 1:
        raise ValueError(f"t_f: must cover at least one observation interval dt, got t_f={t_f!r}, dt={dt!r}")
    n_burn = int(np.ceil(burn / h))
    n = A.shape[0]
    Y = y.reshape(-1, n).T  # (n, B)
    Phi, G = _affine_step(A, Y, h)  # (n, n), (n, B)
    _, Sigma = _dense_transition(A, 2.0 * np.eye(n), h)
    LT = _psd_factor(Sigma).T
    x = np.zeros((Y.shape[1], n))  # (B, n): devices start at rest
    PhiT, GT = Phi.T, G.T
    acc = np.zeros((n, n)) if second_moment else np.zeros_like(x)
    running = np.empty((n_obs,) + acc.shape)
    for k in range(n_burn + n_obs):
        x = x @ PhiT + GT + rng.standard_normal(x.shape) @ LT
        if k >= n_burn:
            acc = acc + (x.T @ x / x.shape[0] if second_moment else x)
            running[k - n_burn] = acc / (k - n_burn + 1)
    times = h * tau0 * np.arange(1, n_obs + 1)
    if not second_moment:
        running = running.reshape((n_obs,) + y.shape)
    return OUSolveResult(times, running)


def ou_solve(A: ArrayLike, y: ArrayLike, *, t_f: float, dt: float, rng, burn_in: float = 0.0, tau0: float = 1.0) -> OUSolveResult:
    r"""Estimate :math:`A^{-1}y` as the time average of a device with drift :math:`-(Ax-y)` and :math:`D = 2I`.

    Parameters
    ----------
    A : array_like of shape (n, n)
        Symmetric positive definite.
    y : array_like of shape (..., n)
        Right-hand sides; each is an independent device.
    t_f : float
        Averaging time (physical), after ``burn_in``.
    dt : float
        Interval between observations of the state (the average is over observations).
    rng : numpy.random.Generator or int
    burn_in : float
        Relaxation time discarded before averaging (devices start at rest, ``x = 0``).

    Returns
    -------
    OUSolveResult
        ``running`` has shape (m, ..., n), ``m = round(t_f / dt)``.

    Notes
    -----
    Stationary law :math:`N(A^{-1}y, A^{-1})`; the mean of :math:`m` observations has error covariance
    :math:`\approx 2A^{-2}/t_f` for :math:`dt \ll 1/\lambda_{\max}` (exact value: :func:`ou_solve_mse`).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ou_linalg import ou_solve
    >>> A = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> r = ou_solve(A, [1.0, 1.0], t_f=2000.0, dt=0.5, burn_in=10.0, rng=0)
    >>> bool(np.allclose(r.estimate, np.linalg.solve(A, [1.0, 1.0]), atol=0.1))
    True
    """
    rng = as_rng(rng)
    A = _check_spd(A)
    y = as_float_array(y, "y", min_ndim=1)
    if y.shape[-1] != A.shape[0]:
        raise ValueError(f"y: expected shape (..., {A.shape[0]}), got {y.shape}")
    return _run(A, y, t_f, dt, burn_in, tau0, rng, second_moment=False)


def ou_inverse(A: ArrayLike, *, t_f: float, dt: float, rng, n_devices: int = 1, burn_in: float = 0.0, tau0: float = 1.0) -> OUSolveResult:
    r"""Estimate :math:`A^{-1}` as the time- and device-averaged :math:`xx^\top` of ``n_devices`` OU devices.

    With drift :math:`-Ax` and :math:`D = 2I` the stationary covariance solves :math:`A\Sigma + \Sigma A = 2I`,
    that is :math:`\Sigma = A^{-1}`. ``running`` has shape (m, n, n).

    Examples
    --------
    >>> from thermoref.ou_linalg import ou_inverse
    >>> r = ou_inverse([[2.0, 0.0], [0.0, 4.0]], t_f=50.0, dt=0.5, n_devices=200, burn_in=5.0, rng=0)
    >>> bool(np.allclose(r.estimate, [[0.5, 0.0], [0.0, 0.25]], atol=0.05))
    True
    """
    rng = as_rng(rng)
    A = _check_spd(A)
    n_devices = check_positive_int(n_devices, "n_devices")
    return _run(A, np.zeros((n_devices, A.shape[0])), t_f, dt, burn_in, tau0, rng, second_moment=True)


def ou_solve_mse(A: ArrayLike, t_f: ArrayLike, dt: float, *, tau0: float = 1.0) -> np.ndarray:
    r"""Exact expected squared error :math:`E\|\bar x - A^{-1}y\|^2` of :func:`ou_solve` from a stationary start.

    Notes
    -----
    In the eigenbasis of :math:`A` each mode is an AR(1) sequence with :math:`\rho = e^{-\lambda h}` and
    variance :math:`1/\lambda`; the mean of :math:`m` observations has variance
    :math:`\frac{1}{\lambda m^2}\left[m\frac{1+\rho}{1-\rho} - \frac{2\rho(1-\rho^m)}{(1-\rho)^2}\right]`,
    which tends to :math:`2/(\lambda^2 t_f)` for :math:`h \to 0`. Summing over modes gives
    :math:`\approx 2\,\mathrm{tr}(A^{-2})/t_f`.

    Examples
    --------
    >>> from thermoref.ou_linalg import ou_solve_mse
    >>> print(f"{float(ou_solve_mse([[1.0]], 100.0, 1e-3)):.6f}")
    0.019800
    """
    A = _check_spd(A)
    h = float(_check_time(dt, tau0, "dt"))
    if not h > 0:
        raise ValueError("dt: the observation interval must be positive")
    m = np.maximum(np.rint(_check_time(t_f, tau0, "t_f") / h), 1.0)[..., None]  # (..., 1)
    lam = np.linalg.eigvalsh(A)  # (n,)
    rho = np.exp(-lam * h)
    var = (m * (1 + rho) / (1 - rho) - 2 * rho * (1 - rho**m) / (1 - rho) ** 2) / (lam * m**2)
    return var.sum(axis=-1)
