r"""Exact Ornstein–Uhlenbeck transitions: the PMODE sampler of a linear thermodynamic device.

The device obeys :math:`dx = -A(x-b)\,ds + \sqrt{D}\,dW` in the dimensionless time :math:`s = t/\tau_0`
(every public function takes physical time ``t`` and the device time constant ``tau0``, default 1). The
transition from ``x0`` over a time ``t`` is Gaussian with the exact mean and covariance

.. math:: \mu(s) = b + e^{-As}(x_0-b), \qquad \Sigma(s) = \int_0^s e^{-Au} D e^{-A^\top u}\,du ,

for any drift (stable or not, normal or not). Three forms of the drift share one API: a scalar ``A`` acts
elementwise on arrays of any shape; a 1-D ``A`` of shape (n,) is a diagonal drift (the fast path never forms an
(n, n) matrix); a 2-D ``A`` of shape (n, n) is a full drift. A single transition of a full drift sums Van Loan's
block integral on a short step and extends it by exact time doubling. Sample paths (:class:`OUProcess`,
:func:`ou_trajectory`) of a diagonalizable drift run in its real eigenbasis, where the mean step is
block-diagonal and each step's covariance has a closed form; a drift whose eigenvectors are ill-conditioned
(or that is defective) falls back to the series.

References: Van Loan, C. F. (1978) "Computing integrals involving the matrix exponential", IEEE Trans. Autom.
Control 23, 395–404; Gardiner, C. W. "Stochastic Methods" (4th ed., 2009) §4.5.6; Kloeden & Platen (1992)
"Numerical Solution of Stochastic Differential Equations" §9.1 (Euler–Maruyama); Golub, G. H. & Van Loan, C. F.
"Matrix Computations" (4th ed., 2013) §7.4.1 (real block-diagonal form), §7.6 (eigenvector conditioning);
Davis, P. J. & Rabinowitz, P. "Methods of Numerical Integration" (2nd ed., 1984) §2.7 (Gauss–Legendre error).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from ._ou_paths import KAPPA_MAX, _eigen_trajectory, _group_steps, _modes, _psd_factor  # noqa: F401 (KAPPA_MAX)
from ._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real

__all__ = [
    "ou_mean_cov",
    "ou_sample",
    "ou_trajectory",
    "OUProcess",
    "ou_stationary",
    "ou_autocovariance",
    "ou_euler_maruyama",
    "em_stationary_variance",
]

# ---------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------
def _check_system(A: ArrayLike, b: ArrayLike, D: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the drift ``A`` (scalar, (n,) or (n, n)), target ``b`` and diffusion ``D``."""
    A = as_float_array(A, "A")
    if A.ndim > 2 or (A.ndim == 2 and A.shape[0] != A.shape[1]):
        raise ValueError(f"A: expected a scalar, a diagonal of shape (n,) or a square (n, n) matrix, got shape {A.shape}")
    if A.ndim >= 1 and A.shape[0] == 0:
        raise ValueError("A: the drift is empty (a device needs at least one coordinate)")
    with np.errstate(over="ignore"):
        if not np.isfinite(np.abs(A).sum(axis=-1)).all() or (A.ndim == 2 and not np.isfinite(np.abs(A).sum(axis=0)).all()):
            raise ValueError("A: entries too large: the drift's norm overflows float64")
    b = as_float_array(b, "b")
    D = as_float_array(D, "D")
    if A.ndim == 0:
        if D.ndim == 2 and D.shape[0] == D.shape[1] and D.shape[0] > 1:
            raise ValueError("D: a matrix diffusion needs a drift A of shape (n,) or (n, n), not a scalar")
        if D.ndim == 2 and D.shape != (1, 1):
            raise ValueError(f"D: expected a scalar diffusion for a scalar drift, got shape {D.shape}")
    else:
        n = A.shape[0]
        if b.shape not in ((), (n,)):
            raise ValueError(f"b: expected a scalar or shape ({n},) to match A, got {b.shape}")
        if D.shape not in ((), (n,), (n, n)):
            raise ValueError(f"D: expected a scalar, shape ({n},) or ({n}, {n}) to match A, got {D.shape}")
    if D.ndim == 2:
        if not np.allclose(D, D.T, rtol=1e-12, atol=0.0):
            raise ValueError("D: the diffusion matrix must be symmetric")
        scale = float(np.abs(D).max())
        try:
            np.linalg.cholesky(D)  # positive definite: the common case, 3x cheaper than eigenvalues
        except np.linalg.LinAlgError:
            w = np.linalg.eigvalsh(D / scale) if scale > 0 else np.zeros(1)  # scaled: no overflow
            if w[0] < -1e-12 * max(1.0 / max(scale, 1e-300), abs(w[-1])):
                raise ValueError(f"D: the diffusion matrix must be positive semidefinite, smallest eigenvalue "
                                 f"{w[0]:.6g} x {scale:.6g}") from None
    elif (D < 0).any():
        raise ValueError("D: diffusion must be non-negative")
    return A, b, D


def _check_tau0(tau0: object) -> float:
    return check_real(tau0, "tau0", positive=True)


def _check_time(t: ArrayLike, tau0: float, name: str = "t") -> np.ndarray:
    """Return the dimensionless time ``t / tau0`` after checking ``t >= 0`` and ``tau0 > 0``."""
    tau0 = _check_tau0(tau0)
    t = as_float_array(t, name)
    if (t < 0).any():
        raise ValueError(f"{name}: time must be non-negative")
    with np.errstate(over="ignore"):
        s = t / tau0
    if not np.isfinite(s).all():
        culprit = "tau0" if tau0 < 1.0 else name
        raise ValueError(f"{culprit}: the dimensionless time {name} / tau0 overflows float64 ({name} up to "
                         f"{float(t.max())!r}, tau0 = {tau0!r})")
    return s


def _check_x0(x0: ArrayLike, A: np.ndarray, D: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0 = as_float_array(x0, "x0")
    if A.ndim >= 1 or D.ndim == 2:
        n = A.shape[0] if A.ndim >= 1 else D.shape[0]
        if x0.ndim < 1 or x0.shape[-1] != n:
            raise ValueError(f"x0: expected shape (..., {n}) to match A, got {x0.shape}")
    try:
        np.broadcast_shapes(x0.shape, b.shape)
    except ValueError:
        raise ValueError(f"b: shape {b.shape} does not broadcast against x0 of shape {x0.shape}") from None
    return x0


def _check_size(size: object) -> tuple[int, ...]:
    if size is None:
        return ()
    items = (size,) if isinstance(size, numbers.Integral) or np.ndim(size) == 0 else size
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"size: expected None, an integer or a tuple of integers, got {type(size).__name__}") from None
    return tuple(check_positive_int(k, "size", minimum=0) for k in items)


def _raise_overflow(what: str, A: np.ndarray, large: dict[str, np.ndarray], time_name: str = "t") -> None:
    """Name the argument that made ``what`` overflow: the time for an unstable drift, else the largest input."""
    lam = np.linalg.eigvals(A) if A.ndim == 2 else A
    if (np.real(lam) < 0).any():
        raise ValueError(f"{time_name}: {what} overflows float64: the drift is unstable (an eigenvalue has "
                         "negative real part) and grows as e^{-A t} over this time")
    name = max(large, key=lambda k: float(np.abs(large[k]).max()) if np.size(large[k]) else 0.0)
    raise ValueError(f"{name}: {what} overflows float64 (entries too large)")


# ---------------------------------------------------------------------------------------------------------
# single transitions
# ---------------------------------------------------------------------------------------------------------
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


def _halvings(normA: float, s: float, target: float) -> int:
    """Smallest k >= 0 with normA * s / 2**k <= target, computed without overflow."""
    scale = normA * s
    if np.isfinite(scale):
        return int(np.ceil(np.log2(scale / target))) if scale > target else 0
    return int(np.ceil(np.log2(normA) + np.log2(s) - np.log2(target)))


def _dense_transition(A: np.ndarray, D: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact :math:`(e^{-As}, \Sigma(s))` for a full drift: short-step series plus time doubling.

    Van Loan's block integral :math:`\Sigma(h) = \int_0^h e^{-Au}De^{-A^\top u}du` (the upper-right block of
    :math:`\exp(h[[A, D], [0, -A^\top]])`, premultiplied by :math:`e^{-Ah}`) is summed as its Taylor series
    :math:`\Sigma(h) = \sum_{j\ge 0} (-1)^j \frac{h^{j+1}}{(j+1)!}\mathcal L^j(D)`,
    :math:`\mathcal L(X) = AX + XA^\top`, on a step :math:`h = s/2^k` with :math:`\max(\|A\|_1, \|A\|_\infty) h \le 1/4` (terms
    shrink at least as :math:`2^{-j}/(j+1)!`, so about 10–15 terms reach machine precision, one matrix product
    each because every term is symmetric). Then :math:`\Sigma(2h) = \Sigma(h) + e^{-Ah}\Sigma(h)e^{-A^\top h}`
    adds positive semidefinite terms only. Exact (to rounding) for every drift, normal or not, stable or not.
    Once :math:`e^{-Ah}` underflows to exactly zero (a stable drift at a long time) the remaining doublings
    would add exact zeros and are skipped. Non-finite results (an unstable drift at a long time) are returned
    as they are; callers name the culprit.
    """
    n = A.shape[0]
    if s == 0:
        return np.eye(n), np.zeros((n, n))
    normA = max(float(np.linalg.norm(A, 1)), float(np.linalg.norm(A, np.inf)))  # bounds ||L|| / 2
    k = _halvings(normA, s, 0.25)
    h = s / 2.0**k if k < 1000 else math.ldexp(s, -k)
    with np.errstate(all="ignore"):
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
            if not Phi.any():  # e^{-Ah} underflowed: every further doubling adds exact zeros
                break
            Sigma = Sigma + Phi @ Sigma @ Phi.T
            Phi = Phi @ Phi
            if not np.isfinite(Phi).all():
                break
        return Phi, 0.5 * (Sigma + Sigma.T)


def _expm_neg(A: np.ndarray, s: float) -> np.ndarray:
    r""":math:`e^{-As}` for a full drift, by SciPy's ``expm`` or, at long times, by exact squaring with early stop."""
    normA = max(float(np.linalg.norm(A, 1)), float(np.linalg.norm(A, np.inf)))
    k = _halvings(normA, s, 2.0**10)
    if k == 0:
        return linalg.expm(-A * s)
    with np.errstate(all="ignore"):
        Phi = linalg.expm(-A * (s / 2.0**k if k < 1000 else math.ldexp(s, -k)))
        for _ in range(k):
            if not Phi.any() or not np.isfinite(Phi).all():
                break
            Phi = Phi @ Phi
    return Phi


def _moments(x0: np.ndarray, s: np.ndarray, A: np.ndarray, b: np.ndarray, D: np.ndarray):
    """Mean, covariance and whether the covariance is 'elementwise' (variances) or an (n, n) matrix."""
    with np.errstate(all="ignore"):
        if A.ndim == 2:
            Phi, Sigma = _dense_transition(A, _as_matrix(D, A.shape[0]), float(s))
            mean = b + (x0 - b) @ Phi.T  # (..., n)
            out = mean, Sigma, False
        else:
            decay = np.exp(-A * s)
            mean = b + decay * (x0 - b)
            if D.ndim == 2:  # diagonal drift, correlated noise: Sigma_ij = D_ij (1 - e^{-(a_i+a_j)s})/(a_i+a_j)
                out = mean, D * _relax_integral(A[:, None] + A[None, :], s), False
            else:
                out = mean, D * _relax_integral(2.0 * A, s), True
    if not (np.isfinite(out[0]).all() and np.isfinite(out[1]).all()):
        what = "the mean" if not np.isfinite(out[0]).all() else "the covariance"
        _raise_overflow(what, A, {"x0": x0, "b": b} if what == "the mean" else {"D": D}, "t")
    return out


def _noise_buffer(x0: np.ndarray, b: np.ndarray, m: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple]:
    """The (m, *state) path buffer filled with standard normal noise, transformed in place by the caller."""
    state = np.broadcast_shapes(x0.shape, b.shape)
    check_allocation((m,) + state, "ts")
    out = np.empty((m,) + state)  # (m, *state)
    rng.standard_normal(out=out)
    return out, state


def _series_trajectory(A: np.ndarray, D: np.ndarray, x0: np.ndarray, b: np.ndarray, s: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
    """The fallback: one series-plus-doubling transition per distinct step, applied in the original coordinates."""
    m = s.size
    out, state = _noise_buffer(x0, b, m, rng)  # (m, *state)
    steps = np.diff(s, prepend=0.0)
    h, inverse, _ = _group_steps(steps, float(s[-1]))
    n = A.shape[0]
    bvec = np.broadcast_to(b, (n,))
    PhiT = []
    with np.errstate(all="ignore"):
        for u, hk in enumerate(h):
            Phi, S = _dense_transition(A, D, float(hk))
            PhiT.append(Phi.T)
            idx = inverse == u
            out[idx] = out[idx] @ _psd_factor(S).T + (bvec - bvec @ Phi.T)  # noise plus b - e^{-Ah} b
        x = np.broadcast_to(x0, state)
        for k in range(m):
            row = out[k]
            if inverse[k] < 0:
                row[...] = x
            else:
                row += x @ PhiT[inverse[k]]  # x_k = e^{-Ah} x_{k-1} + (I - e^{-Ah}) b + noise
            x = row
    return out


def _elementwise_trajectory(A: np.ndarray, D: np.ndarray, x0: np.ndarray, b: np.ndarray, s: np.ndarray,
                            rng: np.random.Generator) -> np.ndarray:
    """Scalar or diagonal drift with scalar or diagonal noise: O(n) per step, never an (n, n) matrix."""
    m = s.size
    out, state = _noise_buffer(x0, b, m, rng)  # (m, *state)
    x = np.broadcast_to(x0, out.shape[1:])
    steps = np.diff(s, prepend=0.0)  # (m,)
    key = np.rint(steps / max(s[-1], np.finfo(float).tiny) * 2.0**40)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    h = steps[first]  # (u,) distinct step lengths
    with np.errstate(all="ignore"):
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


# ---------------------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------------------
def ou_mean_cov(x0: ArrayLike, t: float, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, tau0: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact mean and covariance of the OU transition from ``x0`` over physical time ``t``.

    Parameters
    ----------
    x0 : array_like of shape (..., n), or of any shape for a scalar ``A``
        Initial states of independent devices.
    t : float
        Elapsed physical time, ``>= 0``.
    A : float or array_like of shape (n,) or (n, n)
        Drift: elementwise rate, diagonal, or full matrix (need not be normal, nor stable).
    b : float or array_like of shape (n,)
        Target (fixed point of the drift).
    D : float or array_like of shape (n,) or (n, n)
        Diffusion (noise covariance per unit time), symmetric positive semidefinite.
    tau0 : float
        Device time constant; the dimensionless time is ``t / tau0``.

    Returns
    -------
    mean : ndarray of shape x0.shape
        :math:`\mu(s)`.
    cov : ndarray of shape (n,), (n, n) or broadcastable against ``mean``
        For a scalar or diagonal drift with scalar or diagonal ``D``: the variances (the covariance is
        diagonal), broadcastable against ``mean``. Otherwise the (n, n) covariance shared by every device.

    Notes
    -----
    With :math:`s = t/\tau_0`,

    .. math:: \mu = b + e^{-As}(x_0-b), \qquad \Sigma(s) = \int_0^s e^{-Au}De^{-A^\top u}du ,

    the law of a device that relaxes toward :math:`b` while thermal noise of covariance :math:`D\,ds` is fed in
    and then damped by the same drift. Scalar case: :math:`\Sigma = D(1-e^{-2as})/(2a)`, which tends to the
    equipartition value :math:`D/(2a)`. A full drift's covariance is Van Loan's block integral, summed as a
    Taylor series on a short step and extended by exact doubling :math:`\Sigma(2h) = \Sigma(h) +
    e^{-Ah}\Sigma(h)e^{-A^\top h}`.

    References
    ----------
    Van Loan, C. F. (1978) "Computing integrals involving the matrix exponential", IEEE Transactions on
    Automatic Control 23, 395–404. Gardiner, C. W. (2009) "Stochastic Methods", 4th ed., Springer, §4.5.6.

    Examples
    --------
    >>> from thermoref.ou import ou_mean_cov
    >>> m, v = ou_mean_cov(1.0, 0.5, 2.0, 0.0, 2.0)
    >>> print(f"{float(m):.6f} {float(v):.6f}")
    0.367879 0.432332
    """
    A, b, D = _check_system(A, b, D)
    x0 = _check_x0(x0, A, D, b)
    s = _check_time(t, tau0)
    if s.ndim != 0:
        raise ValueError(f"t: expected a scalar time, got shape {s.shape} (use ou_trajectory for a grid)")
    mean, cov, _ = _moments(x0, s, A, b, D)
    return mean, cov


def ou_sample(x0: ArrayLike, t: float, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, rng, size: int | tuple | None = None, tau0: float = 1.0) -> np.ndarray:
    r"""Draw from the exact OU transition (no discretization error at any ``t``).

    Parameters
    ----------
    x0 : array_like of shape (..., n), or of any shape for a scalar ``A``
        Initial states of independent devices.
    t : float
        Elapsed physical time, ``>= 0``.
    A : float or array_like of shape (n,) or (n, n)
        Drift, as in :func:`ou_mean_cov`.
    b : float or array_like of shape (n,)
        Target.
    D : float or array_like of shape (n,) or (n, n)
        Diffusion, symmetric positive semidefinite.
    rng : numpy.random.Generator or int
        Source of randomness.
    size : int or tuple of int, optional
        Independent draws per device, prepended to the output shape.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of shape size + x0.shape
        :math:`x = \mu + Lz` with :math:`LL^\top = \Sigma(s)` and :math:`z \sim N(0, I)`.

    Notes
    -----
    The transition law is :math:`N(\mu(s), \Sigma(s))` with the moments of :func:`ou_mean_cov`; a draw is
    :math:`\mu + Lz` with :math:`L` the Cholesky factor of :math:`\Sigma` (an eigen factor when :math:`\Sigma`
    is singular). No time step is involved, so a single draw at any :math:`t` is exact.

    References
    ----------
    Gillespie, D. T. (1996) "Exact numerical simulation of the Ornstein-Uhlenbeck process and its integral",
    Physical Review E 54, 2084–2091.

    Examples
    --------
    >>> from thermoref.ou import ou_sample
    >>> ou_sample([0.0, 1.0], 1.0, [1.0, 2.0], 0.0, 2.0, rng=0, size=3).shape
    (3, 2)
    """
    rng = as_rng(rng)
    A, b, D = _check_system(A, b, D)
    x0 = _check_x0(x0, A, D, b)
    s = _check_time(t, tau0)
    if s.ndim != 0:
        raise ValueError(f"t: expected a scalar time, got shape {s.shape}")
    lead = _check_size(size)
    check_allocation(lead + np.broadcast_shapes(x0.shape, b.shape), "size")
    mean, cov, elementwise = _moments(x0, s, A, b, D)
    z = rng.standard_normal(lead + mean.shape)  # (*size, *x0.shape)
    if elementwise:
        return mean + np.sqrt(cov) * z
    return mean + z @ _psd_factor(cov).T


class OUProcess:
    r"""An OU device with its drift decomposed once: exact sample paths on any time grid.

    Parameters
    ----------
    A : float or array_like of shape (n,) or (n, n)
        Drift: elementwise rate, diagonal, or full matrix (need not be normal, nor stable).
    b : float or array_like of shape (n,)
        Target.
    D : float or array_like of shape (n,) or (n, n)
        Diffusion, symmetric positive semidefinite.
    tau0 : float
        Device time constant.

    Attributes
    ----------
    A, b, D : ndarray of shape (), (n,) or (n, n)
        The validated drift, target and diffusion (float64).
    tau0 : float
        Device time constant.
    method : str
        The algorithm :meth:`OUProcess.trajectory` runs: ``"elementwise"`` (scalar or diagonal drift and noise: O(n) per
        step), ``"eigen"`` (a diagonalizable drift whose real eigenvector basis has condition number at most
        ``thermoref.ou.KAPPA_MAX`` = 1e3), or ``"series"`` (the fallback: series plus doubling per distinct step).
    kappa : float
        2-norm condition number of the real eigenvector basis :math:`P` (1 for a diagonal drift, ``inf`` when
        the drift is defective or the decomposition failed, ``nan`` for the elementwise method).

    Notes
    -----
    **Eigenbasis path.** For :math:`A = PBP^{-1}` with :math:`B` real block-diagonal (a 1x1 block per real
    eigenvalue, :math:`[[\alpha, \beta], [-\beta, \alpha]]` per complex pair), :math:`y = P^{-1}x` obeys
    :math:`dy = -B(y - P^{-1}b)ds + P^{-1}\sqrt D\,dW`. The mean step is block-diagonal, O(n) per sample, and the
    covariance of a step of length :math:`h` is, in the complex eigen coordinates
    :math:`z = V^{-1}x`,

    .. math:: M_{ij}(h) = \tilde D_{ij}\,\frac{1 - e^{-(\lambda_i+\lambda_j)h}}{\lambda_i+\lambda_j},
              \qquad \tilde D = V^{-1}DV^{-\top},

    exact for non-normal diagonalizable drifts too (the symmetric-part shortcut is not), computed as
    ``-expm1(-ch)/c`` without cancellation, and returned to the real basis by the 2x2 block transform. Each
    distinct step's noise comes from one of two exact factors, whichever costs fewer operations: the Cholesky
    factor of :math:`M(h)` (one O(n^3) factorization, then O(n^2) per use: steps that repeat), or Gauss–Legendre
    quadrature of the stochastic integral, :math:`\xi = \sum_j \sqrt{w_j}\,e^{-Bv_j}P^{-1}\sqrt D\,z_j` with
    independent :math:`z_j`, whose covariance :math:`\sum_j w_j e^{-Bv_j}\tilde De^{-B^\top v_j}` is the
    quadrature of :math:`\Sigma_y(h)` (O(n^2) per node: steps that occur once). Nodes and panels are chosen so
    that the Gauss–Legendre remainder, :math:`\le \sqrt2\,\delta\,(q!)^4 z^{2q} e^{z}/((2q+1)((2q)!)^3)` with
    :math:`z = 2\rho(A)\delta` per panel of length :math:`\delta`, is below :math:`2^{-56}` of the panel's
    integral scale. The path is mapped back with one product :math:`x = Py` over the whole grid.

    **Threshold and error bound.** The basis is used when :math:`\kappa = \kappa_2(P) \le 10^3`. Rounding in
    :math:`P^{-1}DP^{-\top}` and :math:`P\Sigma_yP^\top` is amplified by up to :math:`\kappa^2`, so the covariance
    every step draws is within :math:`(4\kappa^2 + 64n)\,\epsilon` of the exact :math:`\Sigma(h)` (relative,
    2-norm; at most :math:`8.9\times10^{-10}` at the threshold; measured :math:`\le 0.5\,\epsilon\kappa^2`
    for random non-normal drifts, e.g. 1e-13 at n = 256, :math:`\kappa = 300`), and the mean step is the
    exact one of a drift within :math:`\epsilon\kappa\|A\|` of :math:`A` (a backward-stable eigensolver).
    The quadrature remainder adds less than :math:`2^{-56}\kappa^2`. An ill-conditioned or defective drift
    (:math:`\kappa = \infty`) takes the series path, exact to rounding for any drift.

    References
    ----------
    Golub, G. H. & Van Loan, C. F. (2013) "Matrix Computations", 4th ed., Johns Hopkins, §7.4.1 and §7.6.
    Van Loan, C. F. (1978) "Computing integrals involving the matrix exponential", IEEE Transactions on
    Automatic Control 23, 395–404. Davis, P. J. & Rabinowitz, P. (1984) "Methods of Numerical Integration",
    2nd ed., Academic Press, §2.7.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.ou import OUProcess
    >>> dev = OUProcess([[1.0, 1.0], [0.0, 1.5]], 0.0, 2.0)
    >>> dev.method, round(dev.kappa, 3)
    ('eigen', 4.236)
    >>> dev.trajectory(np.zeros((5, 2)), [0.1, 0.35, 1.0], rng=0).shape
    (3, 5, 2)
    """

    def __init__(self, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, tau0: float = 1.0):
        self.A, self.b, self.D = _check_system(A, b, D)
        self.tau0 = _check_tau0(tau0)
        if self.A.ndim < 2 and self.D.ndim < 2:
            self.method, self.kappa, self._modes = "elementwise", math.nan, None
        else:
            A_ = self.A if self.A.ndim else np.atleast_1d(self.A)
            self._modes, self.kappa = _modes(A_, self.D)
            self.method = "eigen" if self._modes is not None else "series"

    def __repr__(self) -> str:
        return f"OUProcess(n={self.A.shape[0] if self.A.ndim else 'elementwise'}, method={self.method!r}, kappa={self.kappa:.3g})"

    def trajectory(self, x0: ArrayLike, ts: ArrayLike, *, rng) -> np.ndarray:
        r"""A sample path on the time grid ``ts``, built from exact transitions between grid points.

        Parameters
        ----------
        x0 : array_like of shape (..., n), or of any shape for a scalar drift
            States at time 0 of independent devices.
        ts : array_like of shape (m,)
            Non-decreasing, non-negative observation times (physical; ``ts / tau0`` in device units).
        rng : numpy.random.Generator or int
            Source of randomness.

        Returns
        -------
        ndarray of shape (m,) + x0.shape
            The state at each observation time.

        Notes
        -----
        Exact on every grid: :math:`x_k = b + e^{-A\Delta_k}(x_{k-1}-b) + \xi_k`,
        :math:`\xi_k \sim N(0, \Sigma(\Delta_k))` independent, :math:`\Delta_k = (t_k - t_{k-1})/\tau_0`, with the
        algorithm named by ``method``. Steps that agree to 4 ulp of the horizon (the resolution of the grid's
        own floating-point times) share one transition; a zero step leaves the state exactly unchanged.

        References
        ----------
        Gillespie, D. T. (1996) "Exact numerical simulation of the Ornstein-Uhlenbeck process and its integral",
        Physical Review E 54, 2084–2091.

        Examples
        --------
        >>> from thermoref.ou import OUProcess
        >>> OUProcess(1.0, 0.0, 2.0).trajectory(np.zeros(4), [0.5, 1.0], rng=0).shape
        (2, 4)
        """
        rng = as_rng(rng)
        x0 = _check_x0(x0, self.A, self.D, self.b)
        s = _check_time(ts, self.tau0, "ts")
        if s.ndim != 1 or s.size == 0:
            raise ValueError(f"ts: expected a non-empty 1-D time grid, got shape {s.shape}")
        if (np.diff(s) < 0).any():
            raise ValueError("ts: times must be non-decreasing")
        A, b, D = self.A, self.b, self.D
        if self.method == "elementwise":
            out = _elementwise_trajectory(A, D, x0, b, s, rng)
        elif self.method == "eigen":
            out = _eigen_trajectory(self._modes, x0, b, s, rng)
        else:
            Adense = A if A.ndim == 2 else np.diag(np.atleast_1d(A))
            out = _series_trajectory(Adense, _as_matrix(D, Adense.shape[0]), x0, b, s, rng)
        if not np.isfinite(out).all():
            _raise_overflow("the path", A, {"x0": x0, "b": b, "D": D}, "ts")
        return out


def ou_trajectory(x0: ArrayLike, ts: ArrayLike, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, rng, tau0: float = 1.0) -> np.ndarray:
    r"""A sample path on the time grid ``ts``, built from exact transitions between grid points.

    Parameters
    ----------
    x0 : array_like of shape (..., n), or of any shape for a scalar ``A``
        States at time 0 of independent devices.
    ts : array_like of shape (m,)
        Non-decreasing, non-negative observation times.
    A : float or array_like of shape (n,) or (n, n)
        Drift, as in :func:`ou_mean_cov`.
    b : float or array_like of shape (n,)
        Target.
    D : float or array_like of shape (n,) or (n, n)
        Diffusion, symmetric positive semidefinite.
    rng : numpy.random.Generator or int
        Source of randomness.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of shape (m,) + x0.shape
        The state at each observation time.

    Notes
    -----
    Exact for every grid: :math:`x_{k} = b + e^{-A\Delta_k}(x_{k-1}-b) + \Sigma(\Delta_k)^{1/2} z_k`. The same as
    ``OUProcess(A, b, D, tau0=tau0).trajectory(x0, ts, rng=rng)``; build an :class:`OUProcess` once to sample many
    paths of one device without decomposing its drift each time.

    References
    ----------
    Gillespie, D. T. (1996) "Exact numerical simulation of the Ornstein-Uhlenbeck process and its integral",
    Physical Review E 54, 2084–2091.

    Examples
    --------
    >>> from thermoref.ou import ou_trajectory
    >>> ou_trajectory(np.zeros((5, 2)), [0.5, 1.0, 1.5], [[1.0, 1.0], [0.0, 1.5]], 0.0, 2.0, rng=0).shape
    (3, 5, 2)
    """
    rng = as_rng(rng)
    return OUProcess(A, b, D, tau0=tau0).trajectory(x0, ts, rng=rng)


def ou_stationary(A: ArrayLike, b: ArrayLike, D: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""The stationary law :math:`N(b, \Sigma_\infty)` of a stable drift.

    Parameters
    ----------
    A : float or array_like of shape (n,) or (n, n)
        Drift; every eigenvalue must have a positive real part.
    b : float or array_like of shape (n,)
        Target, the stationary mean.
    D : float or array_like of shape (n,) or (n, n)
        Diffusion, symmetric positive semidefinite.

    Returns
    -------
    mean : ndarray of shape (n,) or like ``cov``
        :math:`b`, broadcast.
    cov : ndarray of shape (n,), (n, n) or ()
        :math:`\Sigma_\infty`: variances for elementwise drifts with elementwise noise, else the (n, n) matrix.

    Notes
    -----
    :math:`\Sigma_\infty` solves the Lyapunov equation :math:`A\Sigma_\infty + \Sigma_\infty A^\top = D`: the
    balance between the noise fed in per unit time and the drift's damping. Scalar case :math:`D/(2a)`
    (equipartition); a symmetric :math:`A` with :math:`D = 2kT\,I` gives :math:`kT A^{-1}`, the Gibbs law of the
    quadratic energy :math:`\frac12 x^\top A x`.

    References
    ----------
    Gardiner, C. W. (2009) "Stochastic Methods", 4th ed., Springer, §4.5.6. Bartels, R. H. & Stewart, G. W.
    (1972) "Solution of the matrix equation AX + XB = C", Communications of the ACM 15, 820–826.

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
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if A.ndim == 2:
            try:  # SciPy warns (and perturbs) when two eigenvalues nearly cancel: the solution is ill-determined
                cov = linalg.solve_continuous_lyapunov(A, _as_matrix(D, A.shape[0]))
            except RuntimeWarning:
                raise ValueError("A: two eigenvalues of the drift sum to (nearly) zero at working precision; the "
                                 "stationary covariance is ill-determined") from None
            cov = 0.5 * (cov + cov.T)
        elif D.ndim == 2:
            cov = D / (A[:, None] + A[None, :])
        else:
            cov = D / (2.0 * A)
    if not np.isfinite(cov).all():
        smallest = float(np.abs(np.real(lam)).min())
        name = "A" if smallest < 1e-300 else "D"
        raise ValueError(f"{name}: the stationary covariance overflows float64 (smallest decay rate {smallest!r})")
    mean = np.broadcast_to(b, A.shape[:1]).copy() if A.ndim else np.broadcast_to(b, np.shape(cov)).copy()
    return mean, np.asarray(cov, float)


def ou_autocovariance(lags: ArrayLike, A: ArrayLike, D: ArrayLike, *, tau0: float = 1.0) -> np.ndarray:
    r"""Stationary autocovariance :math:`C(\tau) = \mathrm{Cov}(x(t+\tau), x(t))` of a stable drift.

    Parameters
    ----------
    lags : array_like of shape (L,)
        Non-negative time lags (physical).
    A : float or array_like of shape (n,) or (n, n)
        Stable drift.
    D : float or array_like of shape (n,) or (n, n)
        Diffusion, symmetric positive semidefinite.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of shape (L,) + cov.shape
        Elementwise drifts: per-coordinate autocovariances; full drifts: (L, n, n) matrices.

    Notes
    -----
    :math:`C(\tau) = e^{-A\tau/\tau_0}\Sigma_\infty`: the memory of a fluctuation decays with the drift, with
    correlation time :math:`\tau_0/a` in the scalar case. At lags long enough for :math:`e^{-A\tau}` to underflow
    the autocovariance is exactly zero.

    References
    ----------
    Gardiner, C. W. (2009) "Stochastic Methods", 4th ed., Springer, §4.5.6.

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
    check_allocation((s.size,) + np.shape(cov), "lags")
    with np.errstate(under="ignore"):
        if A.ndim == 2 and s.size == 0:
            return np.zeros((0,) + A.shape)
        if A.ndim == 2:
            return np.stack([_expm_neg(A, float(si)) for si in s]).reshape((s.size,) + A.shape) @ cov  # (L, n, n)
        if cov.ndim == 2:
            return np.exp(-A[None, :, None] * s[:, None, None]) * cov  # (L, n, n)
        return np.exp(-A * s.reshape(-1, *(1,) * A.ndim)) * cov  # (L, ...)


def ou_euler_maruyama(x0: ArrayLike, dt: float, n_steps: int, A: ArrayLike, b: ArrayLike, D: ArrayLike, *, rng, tau0: float = 1.0) -> np.ndarray:
    r"""Euler–Maruyama path of the OU device: the biased explicit scheme, for comparison with the exact one.

    Parameters
    ----------
    x0 : array_like of shape (..., n), or of any shape for a scalar ``A``
        Initial states of independent devices.
    dt : float
        Physical time step, ``> 0``.
    n_steps : int
        Number of steps, ``>= 1``.
    A : float or array_like of shape (n,) or (n, n)
        Drift.
    b : float or array_like of shape (n,)
        Target.
    D : float or array_like of shape (n,) or (n, n)
        Diffusion, symmetric positive semidefinite.
    rng : numpy.random.Generator or int
        Source of randomness.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of shape (n_steps,) + x0.shape
        The state after each step.

    Notes
    -----
    :math:`x_{k+1} = x_k - A(x_k-b)h + \sqrt{Dh}\,z_k`, :math:`h = dt/\tau_0`. Biased at every finite step (see
    :func:`em_stationary_variance`) and unstable once :math:`|1 - \lambda h| > 1` for an eigenvalue
    :math:`\lambda` of :math:`A`; a diverging run raises ``ValueError`` naming ``dt``.

    References
    ----------
    Kloeden, P. E. & Platen, E. (1992) "Numerical Solution of Stochastic Differential Equations", Springer, §9.1.

    Examples
    --------
    >>> from thermoref.ou import ou_euler_maruyama
    >>> ou_euler_maruyama(np.zeros(4), 0.1, 10, 1.0, 0.0, 2.0, rng=0).shape
    (10, 4)
    """
    rng = as_rng(rng)
    A, b, D = _check_system(A, b, D)
    x0 = _check_x0(x0, A, D, b)
    h = _check_time(dt, tau0, "dt")
    if h.ndim != 0 or not h > 0:
        raise ValueError(f"dt: expected a positive scalar step, got {dt!r}")
    n_steps = check_positive_int(n_steps, "n_steps")
    state = np.broadcast_shapes(x0.shape, b.shape)
    check_allocation((n_steps,) + state, "n_steps")
    out = np.empty((n_steps,) + state)
    z = rng.standard_normal(out.shape)  # (n_steps, *x0.shape)
    x = np.broadcast_to(x0, out.shape[1:])
    with np.errstate(all="ignore"):
        if A.ndim == 2 or D.ndim == 2:
            Adense = A if A.ndim == 2 else np.diag(np.atleast_1d(A))
            LT = _psd_factor(_as_matrix(D, Adense.shape[0]) * h).T
            for k in range(n_steps):
                x = x - (x - b) @ Adense.T * h + z[k] @ LT
                out[k] = x
        else:
            noise = np.sqrt(D * h)
            for k in range(n_steps):
                x = x - A * (x - b) * h + noise * z[k]
                out[k] = x
    if not np.isfinite(out).all():
        lam = np.linalg.eigvals(A) if A.ndim == 2 else np.atleast_1d(A)
        if (np.abs(1.0 - lam * float(h)) > 1.0).any():
            raise ValueError(f"dt: Euler–Maruyama diverged (|1 - lambda*dt/tau0| > 1 for an eigenvalue lambda of A "
                             f"at dt = {dt!r}); reduce dt or use ou_trajectory")
        name = max({"x0": x0, "b": b, "D": D}.items(), key=lambda kv: float(np.abs(kv[1]).max()) if kv[1].size else 0.0)[0]
        raise ValueError(f"{name}: the Euler–Maruyama path overflows float64 (entries too large)")
    return out


def em_stationary_variance(a: ArrayLike, D: ArrayLike, dt: ArrayLike, *, tau0: float = 1.0) -> np.ndarray:
    r"""Closed-form stationary variance of scalar Euler–Maruyama, :math:`D/(a(2-ah))` with :math:`h = dt/\tau_0`.

    Parameters
    ----------
    a : float or array_like, broadcastable with ``D`` and ``dt``
        Drift rate, ``> 0``.
    D : float or array_like, broadcastable with ``a`` and ``dt``
        Diffusion, ``>= 0``.
    dt : float or array_like, broadcastable with ``a`` and ``D``
        Physical time step, with :math:`0 < a\,dt/\tau_0 < 2`.
    tau0 : float
        Device time constant.

    Returns
    -------
    ndarray of the broadcast shape of ``a``, ``D`` and ``dt``
        The stationary variance of the scheme.

    Notes
    -----
    The recursion :math:`x' = (1-ah)x + \sqrt{Dh}z` has variance :math:`Dh/(1-(1-ah)^2) = D/(a(2-ah))`; the exact
    value is :math:`D/(2a)`, so EM inflates it by :math:`1/(1-ah/2)` (stable only for :math:`0 < ah < 2`).

    References
    ----------
    Kloeden, P. E. & Platen, E. (1992) "Numerical Solution of Stochastic Differential Equations", Springer, §9.1.

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
    for name, shapes in (("D", (a.shape, D.shape)), ("dt", (a.shape, D.shape, h.shape))):
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(f"{name}: shape {shapes[-1]} does not broadcast with the other arguments "
                             f"{shapes[:-1]}") from None
    with np.errstate(all="ignore"):
        ah = a * h
        if (h <= 0).any() or not (ah < 2).all():
            raise ValueError("dt: Euler–Maruyama is stationary only for 0 < a*dt/tau0 < 2")
        out = D / (a * (2.0 - ah))
    if not np.isfinite(out).all():
        raise ValueError("a: the stationary variance D/(a(2 - a dt)) overflows float64 (a too small for this D)")
    return out
