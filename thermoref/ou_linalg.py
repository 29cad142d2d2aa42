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

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from ._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real, check_work
from .ou import _check_time, _dense_transition, _psd_factor

__all__ = ["OUSolveResult", "ou_solve", "ou_inverse", "ou_solve_mse"]


@dataclass(frozen=True)
class OUSolveResult:
    """Running time averages of a thermodynamic solve (returned by :func:`ou_solve` and :func:`ou_inverse`).

    Attributes
    ----------
    times : ndarray of shape (m,)
        Modeled physical averaging time after burn-in at each observation (physical units, like ``t_f``).
    running : ndarray of shape (m, ..., n) or (m, n, n)
        Running estimate after each observation.
    """

    times: np.ndarray
    running: np.ndarray

    @property
    def estimate(self) -> np.ndarray:
        """The final estimate, ``running[-1]``: shape (..., n) for a solve, (n, n) for an inverse."""
        return self.running[-1]


def _check_spd(A: ArrayLike) -> np.ndarray:
    A = as_float_array(A, "A", ndim=2)
    if A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"A: expected a non-empty square matrix, got shape {A.shape}")
    if not np.array_equal(A, A.T):
        raise ValueError("A: must be symmetric (a thermodynamic solve needs a symmetric positive definite drift)")
    scale = float(np.abs(A).max())
    with np.errstate(all="ignore"):
        lam = np.linalg.eigvalsh(A / scale) if scale > 0 else np.zeros(1)  # scaled: no overflow
    if not lam[0] > 4 * A.shape[0] * np.finfo(float).eps * lam[-1]:
        raise ValueError("A: must be positive definite (the device must be stable), with eigenvalues resolved at "
                         "working precision")
    if not 1e-150 < scale < 1e150:
        raise ValueError(f"A: entries of magnitude {scale:.3g} are outside the range this simulator resolves "
                         "(1e-150 to 1e150)")
    return A


def _scalar_time(t: object, tau0: float, name: str) -> float:
    """A single non-negative physical time as a dimensionless float."""
    check_real(t, name, nonnegative=True)
    return float(_check_time(t, tau0, name))


def _count(total: float, h: float, name: str) -> int:
    """The number of observation intervals ``h`` in ``total``, refusing counts that are not exact integers."""
    with np.errstate(over="ignore"):
        ratio = total / h
    if not ratio <= 2.0**53:  # name the extreme one of the pair
        culprit = name if abs(math.log(max(total, 1e-300))) >= abs(math.log(h)) else "dt"
        raise ValueError(f"{culprit}: {name} / dt = {ratio!r} observation intervals; at most 2**53 can be counted")
    return int(round(ratio))


def _affine_step(A: np.ndarray, Y: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`e^{-Ah}` and :math:`\int_0^h e^{-Au}du\,Y` from one exponential of :math:`[[-A, I], [0, 0]]h`.

    The (2n, 2n) block exponential gives :math:`\int_0^h e^{-Au}du` once, whatever the number of right-hand
    sides (an exponential with ``Y`` in the block would cost the cube of n plus their number).
    """
    n = A.shape[0]
    M = np.zeros((2 * n, 2 * n))  # (2n, 2n)
    M[:n, :n] = -A * h
    M[:n, n:] = np.eye(n) * h
    C = linalg.expm(M)
    return C[:n, :n], C[:n, n:] @ Y


def _run(A, y, t_f, dt, burn_in, tau0, rng, second_moment: bool) -> OUSolveResult:
    h = _scalar_time(dt, tau0, "dt")
    total = _scalar_time(t_f, tau0, "t_f")
    burn = _scalar_time(burn_in, tau0, "burn_in")
    if not h > 0:
        raise ValueError("dt: the observation interval must be positive")
    n_obs = _count(total, h, "t_f")
    if n_obs < 1:  # name the extreme one of the pair
        name = "dt" if total > 0 and abs(math.log(h)) > abs(math.log(total)) else "t_f"
        raise ValueError(f"{name}: t_f must cover at least one observation interval dt, got t_f={t_f!r}, dt={dt!r}")
    n_burn = int(np.ceil(burn / h)) if _count(burn, h, "burn_in") >= 0 else 0
    n = A.shape[0]
    n_dev = int(np.prod(y.shape[:-1], dtype=object))
    check_allocation((n_obs,) + ((n, n) if second_moment else y.shape), "t_f")
    check_allocation((n_dev, n), "n_devices" if second_moment else "y")
    check_work((n_burn + n_obs) * max(n_dev * n, 1), "burn_in" if n_burn > n_obs else "t_f")
    if not second_moment and y.size:
        # The running averages hold sums of up to n_obs states of size about |A^-1 y| <= n |y|_max / lam_min:
        # refuse right-hand sides whose sums would overflow float64 (instead of a silent inf).
        lam_min = float(np.linalg.eigvalsh(A)[0])
        if float(np.abs(y).max()) * n / lam_min * (n_obs + n_burn + 1) > 1e300:
            raise ValueError("y: right-hand sides so large that the running averages of the device's state "
                             "would overflow float64; rescale y (the solution is linear in y)")
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
        Source of randomness.
    burn_in : float
        Relaxation time discarded before averaging (devices start at rest, ``x = 0``).
    tau0 : float
        Device time constant.

    Returns
    -------
    OUSolveResult
        ``running`` has shape (m, ..., n), ``m = round(t_f / dt)``.

    Notes
    -----
    Stationary law :math:`N(A^{-1}y, A^{-1})`: the device relaxes to the solution and fluctuates around it with
    the inverse as covariance. The mean of :math:`m` observations has error covariance
    :math:`\approx 2A^{-2}/t_f` for :math:`dt \ll 1/\lambda_{\max}` (exact value: :func:`ou_solve_mse`). Each
    observation interval is an exact OU transition (one block exponential for the affine part, the
    series-plus-doubling covariance of :func:`thermoref.ou.ou_mean_cov`), so the only error is statistical.

    References
    ----------
    Aifer, M. et al. (2024) "Thermodynamic linear algebra", npj Unconventional Computing 1, 13.

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

    Parameters
    ----------
    A : array_like of shape (n, n)
        Symmetric positive definite.
    t_f : float
        Averaging time (physical), after ``burn_in``.
    dt : float
        Interval between observations of the state.
    rng : numpy.random.Generator or int
        Source of randomness.
    n_devices : int
        Independent devices averaged together.
    burn_in : float
        Relaxation time discarded before averaging (devices start at rest).
    tau0 : float
        Device time constant.

    Returns
    -------
    OUSolveResult
        ``running`` has shape (m, n, n), ``m = round(t_f / dt)``.

    Notes
    -----
    With drift :math:`-Ax` and :math:`D = 2I` the stationary covariance solves :math:`A\Sigma + \Sigma A = 2I`,
    that is :math:`\Sigma = A^{-1}`: the device's thermal fluctuations measure the inverse.

    References
    ----------
    Aifer, M. et al. (2024) "Thermodynamic linear algebra", npj Unconventional Computing 1, 13.

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
    check_allocation((n_devices, A.shape[0]), "n_devices")
    return _run(A, np.zeros((n_devices, A.shape[0])), t_f, dt, burn_in, tau0, rng, second_moment=True)


def ou_solve_mse(A: ArrayLike, t_f: ArrayLike, dt: float, *, tau0: float = 1.0) -> np.ndarray:
    r"""Exact expected squared error :math:`E\|\bar x - A^{-1}y\|^2` of :func:`ou_solve` from a stationary start.

    Parameters
    ----------
    A : array_like of shape (n, n)
        Symmetric positive definite.
    t_f : float or array_like of any shape
        Averaging times (physical).
    dt : float
        Interval between observations.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of shape t_f.shape
        The expected squared error of the time average.

    Notes
    -----
    In the eigenbasis of :math:`A` each mode is an AR(1) sequence with :math:`\rho = e^{-\lambda h}` and
    variance :math:`1/\lambda`; the mean of :math:`m` observations has variance
    :math:`\frac{1}{\lambda m^2}\left[m\frac{1+\rho}{1-\rho} - \frac{2\rho(1-\rho^m)}{(1-\rho)^2}\right]`,
    which tends to :math:`2/(\lambda^2 t_f)` for :math:`h \to 0`. Summing over modes gives
    :math:`\approx 2\,\mathrm{tr}(A^{-2})/t_f`. Evaluated without cancellation (``expm1`` and the series of
    :math:`(e^{-x}-1+x)/x^2`), so it stays accurate for observation intervals far below the relaxation time.

    References
    ----------
    Aifer, M. et al. (2024) "Thermodynamic linear algebra", npj Unconventional Computing 1, 13. Box, G. E. P.,
    Jenkins, G. M. & Reinsel, G. C. (2008) "Time Series Analysis", 4th ed., Wiley, §2.1 (AR(1) variance of a mean).

    Examples
    --------
    >>> from thermoref.ou_linalg import ou_solve_mse
    >>> print(f"{float(ou_solve_mse([[1.0]], 100.0, 1e-3)):.6f}")
    0.019800
    """
    A = _check_spd(A)
    h = _scalar_time(dt, tau0, "dt")
    if not h > 0:
        raise ValueError("dt: the observation interval must be positive")
    total = _check_time(t_f, tau0, "t_f")
    _count(float(total.max(initial=0.0)), h, "t_f")
    m = np.maximum(np.rint(total / h), 1.0)[..., None]  # (..., 1)
    lam = np.linalg.eigvalsh(A)  # (n,)
    with np.errstate(over="ignore", under="ignore"):
        a = lam * h  # (n,) decay per observation interval
        rho = np.exp(-a)
        ratio = np.where(rho > 0, a / -np.expm1(-a), 0.0)  # a / (1 - rho), 1 at a -> 0
        # (1/m^2) sum_ij rho^|i-j| = (1/m)[1 + 2 rho (m^2 phi2(ma) - m phi2(a)) a^2 / ((1 - rho)^2 m)]
        pair = np.where(rho > 0, 2 * rho * ratio**2 * (m * _phi2(m * a) - _phi2(a)), 0.0)
    return ((1.0 + pair) / (lam * m)).sum(axis=-1)


def _phi2(x: np.ndarray) -> np.ndarray:
    r""":math:`\varphi_2(x) = (e^{-x} - 1 + x)/x^2`, by its Taylor series below 0.1 (no cancellation), 1/2 at 0."""
    x = np.asarray(x, float)
    series = np.zeros_like(x)
    with np.errstate(all="ignore"):
        for k in range(12, -1, -1):  # sum_k (-x)^k / (k+2)!, Horner
            series = series * -x + 1.0 / math.factorial(k + 2)
        direct = (1.0 + np.expm1(-x) / x) / x
    return np.where(x < 0.1, series, direct)
