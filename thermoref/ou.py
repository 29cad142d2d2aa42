r"""Exact Ornstein–Uhlenbeck transitions: the PMODE sampler of a linear thermodynamic device.

The device obeys :math:`dx = -A(x-b)\,ds + \sqrt{D}\,dW` in the dimensionless time :math:`s = t/\tau_0`
(every public function takes physical time ``t`` and the device time constant ``tau0``, default 1). The
transition from ``x0`` over a time ``t`` is Gaussian with the exact mean and covariance

.. math:: \mu(s) = b + e^{-As}(x_0-b), \qquad \Sigma(s) = \int_0^s e^{-Au} D e^{-A^\top u}\,du ,

for any drift (stable or not, normal or not). Three forms of the drift share one API: a scalar ``A`` acts
elementwise on arrays of any shape; a 1-D ``A`` of shape (n,) is a diagonal drift (the fast path never forms an
(n, n) matrix); a 2-D ``A`` of shape (n, n) is a full drift, whose covariance is Van Loan's block integral
summed on a short step and extended by exact time doubling.

References: Van Loan, C. F. (1978) "Computing integrals involving the matrix exponential", IEEE Trans. Autom.
Control 23, 395–404; Gardiner, C. W. "Stochastic Methods" (4th ed., 2009) §4.5.6; Kloeden & Platen (1992)
"Numerical Solution of Stochastic Differential Equations" §9.1 (Euler–Maruyama).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from ._validation import as_float_array, as_rng, check_positive_int

__all__ = [
    "ou_mean_cov",
    "ou_sample",
    "ou_trajectory",
    "ou_stationary",
    "ou_autocovariance",
    "ou_euler_maruyama",
    "em_stationary_variance",
]


def _check_system(A: ArrayLike, b: ArrayLike, D: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the drift ``A`` (scalar, (n,) or (n, n)), target ``b`` and diffusion ``D``."""
    A = as_float_array(A, "A")
    if A.ndim > 2 or (A.ndim == 2 and A.shape[0] != A.shape[1]):
        raise ValueError(f"A: expected a scalar, a diagonal of shape (n,) or a square (n, n) matrix, got shape {A.shape}")
    b = as_float_array(b, "b")
    D = as_float_array(D, "D")
    if A.ndim == 0:
        if D.ndim == 2 and D.shape[0] == D.shape[1] and D.shape[0] > 1:
            raise ValueError("D: a matrix diffusion needs a drift A of shape (n,) or (n, n), not a scalar")
    else:
        n = A.shape[0]
        if b.shape not in ((), (n,)):
            raise ValueError(f"b: expected a scalar or shape ({n},), got {b.shape}")
        if D.shape not in ((), (n,), (n, n)):
            raise ValueError(f"D: expected a scalar, shape ({n},) or ({n}, {n}), got {D.shape}")
    if D.ndim == 2:
        if not np.allclose(D, D.T, rtol=1e-12, atol=0.0):
            raise ValueError("D: the diffusion matrix must be symmetric")
        try:
            np.linalg.cholesky(D)  # positive definite: the common case, 3x cheaper than eigenvalues
        except np.linalg.LinAlgError:
            w = np.linalg.eigvalsh(D)
            if w[0] < -1e-12 * max(1.0, abs(w[-1])):
                raise ValueError(f"D: the diffusion matrix must be positive semidefinite, smallest eigenvalue {w[0]!r}") from None
    elif (D < 0).any():
        raise ValueError("D: diffusion must be non-negative")
    return A, b, D


def _check_time(t: ArrayLike, tau0: float, name: str = "t") -> np.ndarray:
    """Return the dimensionless time ``t / tau0`` after checking ``t >= 0`` and ``tau0 > 0``."""
    tau0 = float(as_float_array(tau0, "tau0", ndim=0))
    if not tau0 > 0:
        raise ValueError(f"tau0: the device time constant must be positive, got {tau0!r}")
    t = as_float_array(t, name)
    if (t < 0).any():
        raise ValueError(f"{name}: time must be non-negative")
    return t / tau0


def _relax_integral(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    r""":math:`\int_0^s e^{-cu}\,du = -\mathrm{expm1}(-cs)/c`, equal to ``s`` at ``c = 0`` (no cancellation)."""
    c, s = np.broadcast_arrays(np.asarray(c, float), np.asarray(s, float))
    out = np.array(s, dtype=float, copy=True)
    nz = c != 0
    out[nz] = -np.expm1(-c[nz] * s[nz]) / c[nz]
    return out


def _as_matrix(D: np.ndarray, n: int) -> np.ndarray:
    """A diffusion given as scalar, diagonal or matrix, as an (n, n) matrix."""
    if D.ndim == 2:
        return D
    return np.diag(np.broadcast_to(D, (n,)).astype(float))


def _dense_transition(A: np.ndarray, D: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact :math:`(e^{-As}, \Sigma(s))` for a full drift: short-step series plus time doubling.

    Van Loan's block integral :math:`\Sigma(h) = \int_0^h e^{-Au}De^{-A^\top u}du` (the upper-right block of
    :math:`\exp(h[[A, D], [0, -A^\top]])`, premultiplied by :math:`e^{-Ah}`) is summed as its Taylor series
    :math:`\Sigma(h) = \sum_{j\ge 0} (-1)^j \frac{h^{j+1}}{(j+1)!}\mathcal L^j(D)`,
    :math:`\mathcal L(X) = AX + XA^\top`, on a step :math:`h = s/2^k` with :math:`\max(\|A\|_1, \|A\|_\infty) h \le 1/4` (terms
    shrink at least as :math:`2^{-j}/(j+1)!`, so about 10–15 terms reach machine precision, one matrix product
    each because every term is symmetric). Then :math:`\Sigma(2h) = \Sigma(h) + e^{-Ah}\Sigma(h)e^{-A^\top h}`
    adds positive semidefinite terms only. Exact (to rounding) for every drift, normal or not, stable or not.
    """
    n = A.shape[0]
    if s == 0:
        return np.eye(n), np.zeros((n, n))
    scale = max(float(np.linalg.norm(A, 1)), float(np.linalg.norm(A, np.inf))) * s  # bounds ||L|| / 2
    k = int(np.ceil(np.log2(scale / 0.25))) if scale > 0.25 else 0
    h = s / 2.0**k
    Phi = linalg.expm(-A * h)  # (n, n)
    term = D * h
    Sigma = term.copy()
    for j in range(1, 60):
        AX = A @ term
        term = (AX + AX.T) * (-h / (j + 1))  # (-1)^j h^{j+1}/(j+1)! L^j(D)
        Sigma += term
        if np.abs(term).max() <= 1e-17 * np.abs(Sigma).max():
            break
    Sigma = 0.5 * (Sigma + Sigma.T)
    for _ in range(k):
        Sigma = Sigma + Phi @ Sigma @ Phi.T
        Phi = Phi @ Phi
    return Phi, 0.5 * (Sigma + Sigma.T)


def _moments(x0: np.ndarray, s: np.ndarray, A: np.ndarray, b: np.ndarray, D: np.ndarray):
    """Mean, covariance and whether the covariance is 'elementwise' (variances) or an (n, n) matrix."""
    if A.ndim == 2:
        Phi, Sigma = _dense_transition(A, _as_matrix(D, A.shape[0]), float(s))
        mean = b + (x0 - b) @ Phi.T  # (..., n)
        return mean, Sigma, False
    decay = np.exp(-A * s)
    mean = b + decay * (x0 - b)
    if D.ndim == 2:  # diagonal drift, correlated noise: Sigma_ij = D_ij (1 - e^{-(a_i+a_j)s})/(a_i+a_j)
        return mean, D * _relax_integral(A[:, None] + A[None, :], s), False
    return mean, D * _relax_integral(2.0 * A, s), True


def _check_x0(x0: ArrayLike, A: np.ndarray, D: np.ndarray) -> np.ndarray:
    x0 = as_float_array(x0, "x0")
    if A.ndim >= 1 or D.ndim == 2:
        n = A.shape[0] if A.ndim >= 1 else D.shape[0]
        if x0.ndim < 1 or x0.shape[-1] != n:
            raise ValueError(f"x0: expected shape (..., {n}) to match A, got {x0.shape}")
    return x0


def ou_mean_cov(x0: ArrayLike, t: float, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, tau0: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact mean and covariance of the OU transition from ``x0`` over physical time ``t``.

    Parameters
    ----------
    x0 : array_like of shape (..., n) (or any shape for a scalar ``A``)
        Initial states of independent devices.
    t : float
        Elapsed physical time, ``>= 0``.
    A : array_like, scalar, shape (n,) or (n, n)
        Drift: elementwise rate, diagonal, or full matrix (need not be normal, nor stable).
    b : array_like, scalar or shape (n,)
        Target (fixed point of the drift).
    D : array_like, scalar, shape (n,) or (n, n)
        Diffusion (noise covariance per unit time), symmetric positive semidefinite.
    tau0 : float
        Device time constant; the dimensionless time is ``t / tau0``.

    Returns
    -------
    mean : ndarray of shape x0.shape
    cov : ndarray
        For a scalar or diagonal drift with scalar or diagonal ``D``: the variances (the covariance is
        diagonal), broadcastable against ``mean``. Otherwise the (n, n) covariance shared by every device.

    Notes
    -----
    :math:`\mu = b + e^{-As}(x_0-b)`, :math:`\Sigma(s) = \int_0^s e^{-Au}De^{-A^\top u}du`, :math:`s = t/\tau_0`.
    Scalar case: :math:`\Sigma = D(1-e^{-2as})/(2a)`.

    Examples
    --------
    >>> from thermoref.ou import ou_mean_cov
    >>> m, v = ou_mean_cov(1.0, 0.5, 2.0, 0.0, 2.0)
    >>> print(f"{float(m):.6f} {float(v):.6f}")
    0.367879 0.432332
    """
    A, b, D = _check_system(A, b, D)
    x0 = _check_x0(x0, A, D)
    s = _check_time(t, tau0)
    if s.ndim != 0:
        raise ValueError(f"t: expected a scalar time, got shape {s.shape} (use ou_trajectory for a grid)")
    mean, cov, _ = _moments(x0, s, A, b, D)
    return mean, cov


def _psd_factor(S: np.ndarray) -> np.ndarray:
    """A factor L with L L^T = S for a symmetric positive semidefinite S (Cholesky, else eigen)."""
    if not S.any():
        return np.zeros_like(S)
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(S)
        return V * np.sqrt(np.clip(w, 0.0, None))


def ou_sample(x0: ArrayLike, t: float, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, rng, size: int | tuple | None = None, tau0: float = 1.0) -> np.ndarray:
    r"""Draw from the exact OU transition (no discretization error at any ``t``).

    Parameters
    ----------
    x0, t, A, b, D, tau0
        As in :func:`ou_mean_cov`.
    rng : numpy.random.Generator or int
        Source of randomness.
    size : int or tuple, optional
        Independent draws per device, prepended to the output shape.

    Returns
    -------
    ndarray of shape size + x0.shape

    Examples
    --------
    >>> from thermoref.ou import ou_sample
    >>> ou_sample([0.0, 1.0], 1.0, [1.0, 2.0], 0.0, 2.0, rng=0, size=3).shape
    (3, 2)
    """
    rng = as_rng(rng)
    A, b, D = _check_system(A, b, D)
    x0 = _check_x0(x0, A, D)
    s = _check_time(t, tau0)
    if s.ndim != 0:
        raise ValueError(f"t: expected a scalar time, got shape {s.shape}")
    lead = () if size is None else (size,) if np.isscalar(size) else tuple(size)
    mean, cov, elementwise = _moments(x0, s, A, b, D)
    z = rng.standard_normal(lead + mean.shape)  # (*size, *x0.shape)
    if elementwise:
        return mean + np.sqrt(cov) * z
    return mean + z @ _psd_factor(cov).T


def ou_trajectory(x0: ArrayLike, ts: ArrayLike, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, rng, tau0: float = 1.0) -> np.ndarray:
    r"""A sample path on the time grid ``ts``, built from exact transitions between grid points.

    Parameters
    ----------
    x0 : array_like
        States at time 0 (shape as in :func:`ou_mean_cov`).
    ts : array_like of shape (m,)
        Non-decreasing, non-negative observation times.
    rng : numpy.random.Generator or int

    Returns
    -------
    ndarray of shape (m, *x0.shape)

    Notes
    -----
    Exact for every grid: :math:`x_{k} = b + e^{-A\Delta_k}(x_{k-1}-b) + \Sigma(\Delta_k)^{1/2} z_k`. For a full
    drift, steps equal to a relative :math:`2^{-40}` of the horizon share one transition matrix.

    Examples
    --------
    >>> from thermoref.ou import ou_trajectory
    >>> ou_trajectory(np.zeros((5, 2)), [0.5, 1.0, 1.5], [[1.0, 1.0], [0.0, 1.5]], 0.0, 2.0, rng=0).shape
    (3, 5, 2)
    """
    rng = as_rng(rng)
    A, b, D = _check_system(A, b, D)
    x0 = _check_x0(x0, A, D)
    s = _check_time(ts, tau0, "ts")
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"ts: expected a non-empty 1-D time grid, got shape {s.shape}")
    steps = np.diff(s, prepend=0.0)  # (m,)
    if (steps < 0).any():
        raise ValueError("ts: times must be non-decreasing")
    m = s.size
    out = np.empty((m,) + np.broadcast_shapes(x0.shape, b.shape))  # (m, *state)
    rng.standard_normal(out=out)  # noise first, transformed in place below
    x = np.broadcast_to(x0, out.shape[1:])
    key = np.rint(steps / max(s[-1], np.finfo(float).tiny) * 2.0**40)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    h = steps[first]  # (u,) distinct step lengths
    if A.ndim < 2 and D.ndim < 2:
        hu = h.reshape(-1, *(1,) * A.ndim)
        shrink = np.expm1(-A * hu)  # (u, ...): e^{-a h} - 1, exactly 0 for h = 0
        noise = np.sqrt(D * _relax_integral(2.0 * A, hu))
        tmp = np.empty(out.shape[1:])
        for k in range(m):
            i, row = inverse[k], out[k]
            row *= noise[i]
            np.subtract(x, b, out=tmp)
            tmp *= shrink[i]
            row += tmp
            row += x  # x + (e^{-ah} - 1)(x - b) + sd * z
            x = row
        return out
    Adense = A if A.ndim == 2 else np.diag(A)
    Dm = _as_matrix(D, Adense.shape[0])
    PhiT = []
    for u, hk in enumerate(h):
        Phi, S = _dense_transition(Adense, Dm, float(hk))
        PhiT.append(Phi.T)
        idx = inverse == u
        # correlated noise for every step of this length at once, plus the constant b - e^{-Ah} b
        bvec = np.broadcast_to(b, (Adense.shape[0],))
        out[idx] = out[idx] @ _psd_factor(S).T + (bvec - bvec @ Phi.T)
    for k in range(m):
        row = out[k]
        row += x @ PhiT[inverse[k]]  # x_k = e^{-Ah} x_{k-1} + (I - e^{-Ah}) b + noise
        x = row
    return out


def ou_stationary(A: ArrayLike, b: ArrayLike, D: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""The stationary law :math:`N(b, \Sigma_\infty)` of a stable drift, with :math:`A\Sigma_\infty + \Sigma_\infty A^\top = D`.

    Returns ``(mean, cov)`` with ``cov`` as in :func:`ou_mean_cov` (variances for elementwise drifts).
    Raises ``ValueError`` naming ``A`` if some eigenvalue of the drift has a non-positive real part.

    Examples
    --------
    >>> from thermoref.ou import ou_stationary
    >>> mean, cov = ou_stationary([[2.0, 0.0], [0.0, 4.0]], 0.0, 2.0)
    >>> print(np.round(cov, 6))
    [[0.5  0.  ]
     [0.   0.25]]
    """
    A, b, D = _check_system(A, b, D)
    lam = np.linalg.eigvals(A) if A.ndim == 2 else A
    if not (np.real(lam) > 0).all():
        raise ValueError("A: the drift must be stable (every eigenvalue with positive real part) for a stationary law")
    if A.ndim == 2:
        cov = linalg.solve_continuous_lyapunov(A, _as_matrix(D, A.shape[0]))
        cov = 0.5 * (cov + cov.T)
    elif D.ndim == 2:
        cov = D / (A[:, None] + A[None, :])
    else:
        cov = D / (2.0 * A)
    mean = np.broadcast_to(b, A.shape[:1]).copy() if A.ndim else np.broadcast_to(b, np.shape(cov)).copy()
    return mean, np.asarray(cov, float)


def ou_autocovariance(lags: ArrayLike, A: ArrayLike, D: ArrayLike, *, tau0: float = 1.0) -> np.ndarray:
    r"""Stationary autocovariance :math:`C(\tau) = \mathrm{Cov}(x(t+\tau), x(t)) = e^{-A\tau/\tau_0}\Sigma_\infty`.

    Parameters
    ----------
    lags : array_like of shape (L,)
        Non-negative time lags.

    Returns
    -------
    ndarray of shape (L, *cov.shape)
        Elementwise drifts: per-coordinate autocovariances; full drifts: (L, n, n) matrices.

    Examples
    --------
    >>> from thermoref.ou import ou_autocovariance
    >>> print(np.round(ou_autocovariance([0.0, 1.0], 1.0, 2.0), 6))
    [1.       0.367879]
    """
    _, cov = ou_stationary(A, 0.0, D)
    A = as_float_array(A, "A")
    s = _check_time(lags, tau0, "lags")
    if s.ndim != 1:
        raise ValueError(f"lags: expected a 1-D array, got shape {s.shape}")
    if A.ndim == 2:
        return linalg.expm(-A[None] * s[:, None, None]) @ cov  # (L, n, n)
    if cov.ndim == 2:
        return np.exp(-A[None, :, None] * s[:, None, None]) * cov  # (L, n, n)
    return np.exp(-A * s.reshape(-1, *(1,) * A.ndim)) * cov  # (L, ...)


def ou_euler_maruyama(x0: ArrayLike, dt: float, n_steps: int, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, rng, tau0: float = 1.0) -> np.ndarray:
    r"""Euler–Maruyama path :math:`x_{k+1} = x_k - A(x_k-b)h + \sqrt{Dh}\,z_k`, :math:`h = dt/\tau_0`.

    Returns an ndarray of shape (n_steps, *x0.shape): the state after each step. Biased: see
    :func:`em_stationary_variance`.

    Examples
    --------
    >>> from thermoref.ou import ou_euler_maruyama
    >>> ou_euler_maruyama(np.zeros(4), 0.1, 10, 1.0, 0.0, 2.0, rng=0).shape
    (10, 4)
    """
    rng = as_rng(rng)
    A, b, D = _check_system(A, b, D)
    x0 = _check_x0(x0, A, D)
    h = _check_time(dt, tau0, "dt")
    if h.ndim != 0 or not h > 0:
        raise ValueError(f"dt: expected a positive scalar step, got {dt!r}")
    n_steps = check_positive_int(n_steps, "n_steps")
    out = np.empty((n_steps,) + np.broadcast_shapes(x0.shape, b.shape))
    z = rng.standard_normal(out.shape)  # (n_steps, *x0.shape)
    x = np.broadcast_to(x0, out.shape[1:])
    if A.ndim == 2 or D.ndim == 2:
        Adense = A if A.ndim == 2 else np.diag(A)
        LT = _psd_factor(_as_matrix(D, Adense.shape[0]) * h).T
        for k in range(n_steps):
            x = x - (x - b) @ Adense.T * h + z[k] @ LT
            out[k] = x
        return out
    noise = np.sqrt(D * h)
    for k in range(n_steps):
        x = x - A * (x - b) * h + noise * z[k]
        out[k] = x
    return out


def em_stationary_variance(a: ArrayLike, D: ArrayLike, dt: ArrayLike, *, tau0: float = 1.0) -> np.ndarray:
    r"""Closed-form stationary variance of scalar Euler–Maruyama: :math:`D/(a(2-ah))`, :math:`h = dt/\tau_0`.

    Notes
    -----
    The recursion :math:`x' = (1-ah)x + \sqrt{Dh}z` has variance :math:`Dh/(1-(1-ah)^2)`; the exact value is
    :math:`D/(2a)`, so EM inflates it by :math:`1/(1-ah/2)` (stable only for :math:`0 < ah < 2`).

    Examples
    --------
    >>> from thermoref.ou import em_stationary_variance
    >>> print(f"{float(em_stationary_variance(1.0, 2.0, 0.1)):.6f}")
    1.052632
    """
    a = as_float_array(a, "a")
    D = as_float_array(D, "D")
    h = _check_time(dt, tau0, "dt")
    if (a <= 0).any():
        raise ValueError("a: the drift rate must be positive")
    if (D < 0).any():
        raise ValueError("D: diffusion must be non-negative")
    if ((a * h) >= 2).any() or (h <= 0).any():
        raise ValueError("dt: Euler–Maruyama is stationary only for 0 < a*dt/tau0 < 2")
    return D / (a * (2.0 - a * h))
