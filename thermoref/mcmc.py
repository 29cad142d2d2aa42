r"""Error bars for Markov-chain averages: autocorrelation, integrated autocorrelation time, blocking.

A Markov chain's successive states are correlated, so the variance of a time average of :math:`N` draws is
not :math:`\sigma^2/N` but :math:`2\tau_{\rm int}\sigma^2/N` with the integrated autocorrelation time
:math:`\tau_{\rm int} = \tfrac12 + \sum_{t\ge1}\rho(t)`. These functions estimate :math:`\rho`,
:math:`\tau_{\rm int}` (Sokal's self-consistent window) and the standard error of a mean by blocking
(Flyvbjerg–Petersen), for one chain or many independent chains on the trailing axes.

References: Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new
algorithms", in Functional Integration (Springer), §3; Madras, N. & Sokal, A. D. (1988) J. Stat. Phys. 50,
109; Flyvbjerg, H. & Petersen, H. G. (1989) J. Chem. Phys. 91, 461.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array

__all__ = [
    "AutocorrelationTime",
    "BlockingResult",
    "autocorrelation",
    "blocking",
    "integrated_autocorrelation_time",
    "mean_and_error",
]


def _series(x: ArrayLike) -> np.ndarray:
    """Time series as float64 (n_steps, n_chains)."""
    a = as_float_array(x, "x", min_ndim=1)
    if a.shape[0] < 4:
        raise ValueError(f"x: need at least 4 time steps on axis 0, got shape {a.shape}")
    return a.reshape(a.shape[0], -1)


def autocorrelation(x: ArrayLike) -> np.ndarray:
    r"""Normalized autocorrelation function :math:`\rho(t)`, averaged over independent chains.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0; every other index is an independent chain of the same process.

    Returns
    -------
    rho : ndarray of shape (n_steps,)
        :math:`\rho(0) = 1`.

    Notes
    -----
    :math:`C(t) = \frac{1}{n-t}\sum_{s} (x_s - \bar x)(x_{s+t} - \bar x)` with :math:`\bar x` the mean over
    all chains and times (a chain stuck away from the common mean then shows up as a long tail rather than
    being hidden), computed by FFT with zero padding and averaged over chains;
    :math:`\rho = C/C(0)`. A constant series has no defined :math:`\rho`: a ``ValueError`` is raised.
    """
    a = _series(x)
    n = a.shape[0]
    d = a - a.mean()  # (n, chains)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(d, n=size, axis=0)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n].mean(axis=1) / (n - np.arange(n))  # (n,)
    if not acov[0] > 0:
        raise ValueError("x: the series is constant; its autocorrelation is undefined")
    return acov / acov[0]


@dataclass(frozen=True)
class AutocorrelationTime:
    """Integrated autocorrelation time with Sokal's window.

    Attributes
    ----------
    tau : float
        :math:`\\tau_{\\rm int} = 1/2 + \\sum_{t=1}^{W}\\rho(t)` (in steps; 1/2 for independent draws).
    window : int
        The window :math:`W`, the smallest with :math:`W \\ge c\\,\\tau(W)`.
    converged : bool
        False if no such window exists in the series (too short: tau is then a lower bound).
    std_error : float
        Madras–Sokal error :math:`\\tau\\sqrt{2(2W+1)/(N_{\\rm eff})}`, N_eff = steps × chains.
    """

    tau: float
    window: int
    converged: bool
    std_error: float


def integrated_autocorrelation_time(x: ArrayLike, *, c: float = 5.0) -> AutocorrelationTime:
    r"""Integrated autocorrelation time of a series (or many independent chains) with Sokal's window.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0, independent chains on the other axes.
    c : float
        Window constant (Sokal recommends 4–10 for roughly exponential decay).

    Returns
    -------
    AutocorrelationTime

    Notes
    -----
    :math:`\hat\tau(W) = \tfrac12 + \sum_{t=1}^{W}\hat\rho(t)`; the window is the smallest :math:`W` with
    :math:`W \ge c\,\hat\tau(W)`, balancing the bias of a short window against the noise of a long one.
    The variance of a mean of :math:`N` steps is then :math:`2\tau\,\mathrm{Var}(x)/N`.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import integrated_autocorrelation_time
    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros((20000, 8)); a = 0.8
    >>> for t in range(1, 20000):
    ...     x[t] = a * x[t - 1] + rng.standard_normal(8)
    >>> r = integrated_autocorrelation_time(x)  # exact (1 + a)/(2(1 - a)) = 4.5
    >>> print(f"{r.tau:.2f} +- {r.std_error:.2f}")
    4.38 +- 0.10
    """
    c = float(as_float_array(c, "c"))
    if not c > 0:
        raise ValueError(f"c: must be positive, got {c!r}")
    a = _series(x)
    rho = autocorrelation(a)
    tau_w = 0.5 + np.cumsum(rho[1:])  # tau_w[W - 1] = tau(W)
    W = np.arange(1, rho.size)
    ok = W >= c * tau_w
    converged = bool(ok.any())
    w = int(W[np.argmax(ok)]) if converged else int(W[-1])
    tau = float(tau_w[w - 1])
    n_eff = a.shape[0] * a.shape[1]
    return AutocorrelationTime(tau, w, converged, float(abs(tau) * np.sqrt(2 * (2 * w + 1) / n_eff)))


@dataclass(frozen=True)
class BlockingResult:
    """Blocking analysis of a mean: per level, the block length and the estimated standard error.

    ``block_sizes``, ``std_errors``, ``std_errors_error``: shape (n_levels,); ``std_error`` is the
    estimate at level k + 1 for the first k whose estimate agrees with the next one within their summed
    errors (the start of the plateau), or at the last level if none does.
    """

    block_sizes: np.ndarray
    std_errors: np.ndarray
    std_errors_error: np.ndarray
    std_error: float


def blocking(x: ArrayLike, *, min_blocks: int = 16) -> BlockingResult:
    r"""Standard error of the mean of a correlated series by repeated pairwise blocking.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0, independent chains on the other axes (their blocks are pooled).
    min_blocks : int
        Stop when fewer than this many blocks remain (in total over chains).

    Returns
    -------
    BlockingResult

    Notes
    -----
    At level :math:`k` the series is cut into blocks of :math:`2^k` steps; once blocks are longer than the
    correlation time their means are independent and :math:`\mathrm{se}_k = s_k/\sqrt{n_k}` (sample standard
    deviation of the :math:`n_k` block means) reaches a plateau, the standard error of the overall mean.
    Each :math:`\mathrm{se}_k` carries a relative error :math:`1/\sqrt{2(n_k-1)}`.
    """
    a = _series(x)
    sizes, ses, errs = [], [], []
    size = 1
    while a.shape[0] * a.shape[1] >= min_blocks and a.shape[0] >= 2:
        n_k = a.size
        se = float(a.std(ddof=1) / np.sqrt(n_k))
        sizes.append(size), ses.append(se), errs.append(se / np.sqrt(2 * (n_k - 1)))
        m = a.shape[0] // 2
        a = 0.5 * (a[0:2 * m:2] + a[1:2 * m:2])  # (m, chains)
        size *= 2
    if not sizes:
        raise ValueError(f"x: too few samples for blocking with min_blocks={min_blocks}")
    ses_a, errs_a = np.array(ses), np.array(errs)
    agree = np.abs(np.diff(ses_a)) <= errs_a[1:] + errs_a[:-1]  # level k agrees with level k + 1
    chosen = int(np.argmax(agree)) + 1 if agree.any() else len(ses) - 1
    return BlockingResult(np.array(sizes), ses_a, errs_a, float(ses_a[chosen]))


def mean_and_error(x: ArrayLike, *, c: float = 5.0) -> tuple[float, float]:
    r"""Mean of a chain (or many chains) and its standard error :math:`\sqrt{2\tau_{\rm int}\,\mathrm{Var}(x)/N}`.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0, independent chains on the others; :math:`N` counts all steps of all chains.
    c : float
        Sokal window constant for :func:`integrated_autocorrelation_time`.
    """
    a = _series(x)
    if not a.std() > 0:
        return float(a.mean()), 0.0
    tau = integrated_autocorrelation_time(a, c=c).tau
    return float(a.mean()), float(np.sqrt(max(2 * tau, 1.0) * a.var() / a.size))
