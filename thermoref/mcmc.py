r"""Error bars for Markov-chain averages: autocorrelation, integrated autocorrelation time, blocking.

A Markov chain's successive states are correlated, so the variance of a time average of :math:`N` draws is
not :math:`\sigma^2/N` but :math:`\tau_{\rm int}\sigma^2/N` with the integrated autocorrelation time
:math:`\tau_{\rm int} = 1 + 2\sum_{t\ge1}\rho(t)` (1 for independent draws; :math:`N/\tau_{\rm int}` is the
effective sample size). This is the one convention of the whole project; Sokal's notes use
:math:`\tfrac12 + \sum_{t\ge1}\rho(t)`, half of it. These functions estimate :math:`\rho`,
:math:`\tau_{\rm int}` (Sokal's self-consistent window), pooled over independent chains or per series, and the
standard error of a mean by blocking (Flyvbjerg–Petersen), and the split, rank-normalized :math:`\hat R` of
Vehtari et al. (2021), which compares independent chains with each other.

References: Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new
algorithms", in Functional Integration (Springer), §3; Madras, N. & Sokal, A. D. (1988) J. Stat. Phys. 50,
109; Flyvbjerg, H. & Petersen, H. G. (1989) J. Chem. Phys. 91, 461; Vehtari, A., Gelman, A., Simpson, D.,
Carpenter, B. & Bürkner, P.-C. (2021) Bayesian Analysis 16, 667.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scipy import special, stats

from ._validation import as_float_array, check_axis, check_positive_int, check_real

__all__ = [
    "AutocorrelationTime",
    "BlockingResult",
    "SplitRHat",
    "autocorrelation",
    "blocking",
    "integrated_autocorrelation_time",
    "integrated_autocorrelation_times",
    "mean_and_error",
    "split_rhat",
]


def _series(x: ArrayLike, min_steps: int = 4) -> np.ndarray:
    """Time series as float64 (n_steps, n_chains), at least one chain."""
    a = as_float_array(x, "x", min_ndim=1)
    if a.shape[0] < min_steps:
        raise ValueError(f"x: need at least {min_steps} time steps on axis 0, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"x: no chain (an axis other than time is empty), got shape {a.shape}")
    return a.reshape(a.shape[0], -1)


def _check_c(c: float) -> float:
    return check_real(c, "c", positive=True)


def _exponent_shift(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Exponent ``k`` such that ``ldexp(a, k)`` has its largest magnitude in [1/2, 1) (per series along ``axis``).

    Only where squares of ``a`` could overflow or underflow (largest magnitude outside
    :math:`[2^{-400}, 2^{400}]`); elsewhere ``k = 0``. Scaling by a power of two is exact, and every estimate
    here (:math:`\rho`, :math:`\tau`) is scale invariant, so ordinary data give bit-identical results.
    """
    top = np.max(np.abs(a), axis=axis, keepdims=axis is not None)
    _, e = np.frexp(top)
    return np.where((top > 2.0**400) | ((top > 0) & (top < 2.0**-400)), -e, 0)


def _autocovariance(d: np.ndarray) -> np.ndarray:
    """Autocovariance of every column of a centred (n, m) array at lags 0..n-1, by zero-padded FFT.

    :math:`C(t) = \\frac{1}{n-t}\\sum_{s=0}^{n-1-t} d_s d_{s+t}`; returns shape (n, m).
    """
    n = d.shape[0]
    size = 1 << int(np.ceil(np.log2(2 * n)))  # >= 2n: no circular wrap-around
    f = np.fft.rfft(d, n=size, axis=0)  # (size // 2 + 1, m)
    return np.fft.irfft(f.real**2 + f.imag**2, n=size, axis=0)[:n] / (n - np.arange(n))[:, None]  # (n, m)


def _sokal_window(rho: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sokal's self-consistent window for every column of rho (n, m), rho[0] = 1.

    Returns tau (m,) floored at 1/n, window (m,) and converged (m,): the window is the smallest W >= 1 with
    W >= c tau(W), tau(W) = 1 + 2 sum_{t=1}^{W} rho(t); the last lag n - 1 if there is none.
    """
    n = rho.shape[0]
    taus = 1.0 + 2.0 * np.cumsum(rho[1:], axis=0)  # (n - 1, m); taus[W - 1] = tau(W)
    with np.errstate(over="ignore"):  # c tau = +-inf for a huge c: the window is then never reached
        ok = np.arange(1, n)[:, None] >= c * taus  # (n - 1, m)
    converged = ok.any(axis=0)  # (m,)
    window = np.where(converged, np.argmax(ok, axis=0) + 1, n - 1)  # (m,)
    tau = np.take_along_axis(taus, (window - 1)[None, :], axis=0)[0]  # (m,)
    return np.maximum(tau, 1.0 / n), window, converged


def autocorrelation(x: ArrayLike) -> np.ndarray:
    r"""Normalized autocorrelation function :math:`\rho(t)`, averaged over independent chains.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0 (at least 4 steps); every other index is an independent chain of the same process.

    Returns
    -------
    rho : ndarray of shape (n_steps,)
        :math:`\rho(t)` at lags :math:`t = 0, \dots, n-1`, with :math:`\rho(0) = 1`.

    Notes
    -----
    .. math:: C(t) = \frac{1}{n-t}\sum_{s=0}^{n-1-t} (x_s - \bar x)(x_{s+t} - \bar x), \qquad
              \rho(t) = C(t)/C(0),

    with :math:`\bar x` the mean over all chains and times (a chain stuck away from the common mean then
    shows up as a long tail rather than being hidden), computed by FFT with zero padding and averaged over
    chains. :math:`\rho` measures how long the process remembers a fluctuation. A constant series has no
    defined :math:`\rho`: a ``ValueError`` is raised. The estimate is scale invariant; data whose squares
    would overflow (or underflow) are rescaled by an exact power of two first.

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), §3.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import autocorrelation
    >>> x = np.tile([1.0, -1.0], 50)  # perfectly alternating: rho(t) = (-1)^t
    >>> print(autocorrelation(x)[:4])
    [ 1. -1.  1. -1.]
    """
    a = _series(x)
    if np.all(a == a[0, 0]):
        raise ValueError("x: the series is constant; its autocorrelation is undefined")
    a = np.ldexp(a, _exponent_shift(a))  # exact rescaling where squares could overflow or underflow
    acov = _autocovariance(a - a.mean()).mean(axis=1)  # (n,)
    return acov / acov[0]


@dataclass(frozen=True)
class AutocorrelationTime:
    r"""Integrated autocorrelation time with Sokal's window; returned by :func:`integrated_autocorrelation_time`.

    Attributes
    ----------
    tau : float
        :math:`\tau_{\rm int} = 1 + 2\sum_{t=1}^{W}\rho(t)` in steps (1 for independent draws), so that
        a chain of :math:`N` steps is worth :math:`N/\tau_{\rm int}` independent draws.
    window : int
        The window :math:`W`, the smallest with :math:`W \ge c\,\tau(W)`.
    converged : bool
        False if no such window exists in the series (too short: tau is then unreliable, usually too small).
    std_error : float
        Madras–Sokal error :math:`\tau\sqrt{2(2W+1)/N}`, :math:`N` = steps × chains.

    Notes
    -----
    The variance of the mean of :math:`N` correlated steps is :math:`\tau_{\rm int}\,\mathrm{Var}(x)/N`.

    References
    ----------
    Madras, N. & Sokal, A. D. (1988) "The pivot algorithm: a highly efficient Monte Carlo method for the
    self-avoiding walk", J. Stat. Phys. 50, 109.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import integrated_autocorrelation_time
    >>> r = integrated_autocorrelation_time(np.random.default_rng(0).standard_normal((5000, 4)))
    >>> print(f"{r.tau:.2f} +- {r.std_error:.2f}", r.window, r.converged)  # independent draws: tau = 1
    1.05 +- 0.04 6 True
    """

    tau: float
    window: int
    converged: bool
    std_error: float


def integrated_autocorrelation_time(x: ArrayLike, *, c: float = 5.0) -> AutocorrelationTime:
    r"""Integrated autocorrelation time of a series, pooled over independent chains, with Sokal's window.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0 (at least 4 steps), independent chains of the same process on the other axes; they are
        pooled into one estimate. For one estimate per series use :func:`integrated_autocorrelation_times`.
    c : float
        Window constant, positive.

    Returns
    -------
    AutocorrelationTime
        The estimate, its window, whether the window converged, and its Madras–Sokal standard error.

    Notes
    -----
    .. math:: \hat\tau(W) = 1 + 2\sum_{t=1}^{W}\hat\rho(t), \qquad W = \min\{W \ge 1 : W \ge c\,\hat\tau(W)\},

    with :math:`\hat\rho` from :func:`autocorrelation`: the window balances the bias of a short window
    against the noise of a long one. With this normalization :math:`c = 5` is Sokal's :math:`c = 10` in his
    :math:`\tfrac12 + \sum\rho` convention (he recommends 4–10 for roughly exponential decay); the truncation
    bias is of order :math:`e^{-W/\tau_{\exp}}`. The variance of a mean of :math:`N` steps is
    :math:`\tau_{\rm int}\,\mathrm{Var}(x)/N`: the effective sample size is :math:`N/\tau_{\rm int}`.
    The estimate is floored at :math:`1/n` (n steps) so that it stays positive.

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), §3; Madras, N. & Sokal, A. D. (1988) J. Stat. Phys. 50, 109.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import integrated_autocorrelation_time
    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros((20000, 8)); a = 0.8
    >>> for t in range(1, 20000):
    ...     x[t] = a * x[t - 1] + rng.standard_normal(8)
    >>> r = integrated_autocorrelation_time(x)  # exact (1 + a)/(1 - a) = 9
    >>> print(f"{r.tau:.2f} +- {r.std_error:.2f}")
    8.69 +- 0.29
    """
    c = _check_c(c)
    a = _series(x)
    rho = autocorrelation(a)
    tau, w, converged = _sokal_window(rho[:, None], c)
    tau, w = float(tau[0]), int(w[0])
    return AutocorrelationTime(tau, w, bool(converged[0]), tau * float(np.sqrt(2 * (2 * w + 1) / a.size)))


def integrated_autocorrelation_times(x: ArrayLike, *, axis: int = 0, c: float = 5.0) -> np.ndarray:
    r"""Integrated autocorrelation time of every series along ``axis`` separately, with Sokal's window.

    Parameters
    ----------
    x : array_like of shape (..., n_steps, ...)
        Time series, time on ``axis`` (at least 2 steps); every other index is a separate series (an empty
        batch gives an empty result).
    axis : int
        The time axis.
    c : float
        Window constant, positive (the same rule as :func:`integrated_autocorrelation_time`).

    Returns
    -------
    ndarray of shape x.shape without ``axis``
        :math:`\hat\tau_{\rm int}` of each series, in steps, at least :math:`1/n`. A constant series gives
        exactly ``1.0``: it carries no information on mixing, and 1 is the value of draws from a point mass
        (every draw is exact). Callers that know the law is not a point mass must treat a constant series
        as unmixed themselves (as :func:`thermoref.attention.metropolis_keys` does).

    Notes
    -----
    Each series is centred on its own mean and gets its own autocovariance, window and

    .. math:: \hat\tau(W) = 1 + 2\sum_{t=1}^{W}\hat\rho(t), \qquad W = \min\{W \ge 1 : W \ge c\,\hat\tau(W)\}:

    the same estimator as :func:`integrated_autocorrelation_time` applied to that series alone, for all
    series at once (no loop). The relative error of each is about :math:`\sqrt{2(2W+1)/n}`.

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), §3.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import integrated_autocorrelation_times
    >>> x = np.random.default_rng(0).standard_normal((4, 4000))  # 4 series of independent draws
    >>> print(np.round(integrated_autocorrelation_times(x, axis=1), 2))
    [0.97 1.09 0.99 0.89]
    >>> print(integrated_autocorrelation_times(np.ones((10, 2))))
    [1. 1.]
    """
    c = _check_c(c)
    a = as_float_array(x, "x", min_ndim=1)
    axis = check_axis(axis, a.ndim)
    n = a.shape[axis]
    if n < 2:
        raise ValueError(f"x: need at least 2 time steps along axis {axis}, got shape {a.shape}")
    s = np.moveaxis(a, axis, 0)  # (n, ...)
    batch = s.shape[1:]
    s = s.reshape(n, -1)  # (n, m)
    if s.shape[1] == 0:
        return np.ones(batch)
    s = np.ldexp(s, _exponent_shift(s, axis=0))  # (n, m): exact rescaling per series where squares could overflow
    constant = np.all(s == s[:1], axis=0)  # (m,)
    d = np.where(constant, 0.0, s - s.mean(axis=0))  # (n, m)
    acov = _autocovariance(d)  # (n, m)
    tau, _, _ = _sokal_window(acov / np.where(constant, 1.0, acov[0]), c)  # (m,)
    return np.where(constant, 1.0, tau).reshape(batch)


@dataclass(frozen=True)
class BlockingResult:
    r"""Blocking analysis of a mean (:func:`blocking`): per level, the block length and the standard error.

    Attributes
    ----------
    block_sizes : ndarray of int, shape (n_levels,)
        Steps per block at each level, :math:`2^k`.
    std_errors : ndarray of shape (n_levels,)
        Estimated standard error of the mean at each level, :math:`s_k/\sqrt{n_k}`.
    std_errors_error : ndarray of shape (n_levels,)
        The error of each estimate, :math:`\mathrm{se}_k/\sqrt{2(n_k - 1)}`.
    std_error : float
        The estimate at level :math:`k + 1` for the first :math:`k` whose estimate agrees with the next one
        within their summed errors (the start of the plateau), or at the last level if none does.

    Notes
    -----
    On the plateau :math:`\mathrm{se}^2 = \tau_{\rm int}\,\mathrm{Var}(x)/N`.

    References
    ----------
    Flyvbjerg, H. & Petersen, H. G. (1989) "Error estimates on averages of correlated data", J. Chem. Phys.
    91, 461.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import blocking
    >>> b = blocking(np.random.default_rng(0).standard_normal(4096))  # independent: se = 1/64
    >>> print(b.block_sizes[:4], f"{b.std_error:.4f}")
    [1 2 4 8] 0.0153
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
        Time on axis 0 (at least 4 steps), independent chains on the other axes (their blocks are pooled).
    min_blocks : int
        Stop when fewer than this many blocks remain (in total over chains); at least 2 and at most the
        number of samples.

    Returns
    -------
    BlockingResult
        The standard error at every level and the plateau value ``std_error``.

    Notes
    -----
    At level :math:`k` the series is cut into blocks of :math:`2^k` steps; once blocks are longer than the
    correlation time their means are independent and

    .. math:: \mathrm{se}_k = s_k/\sqrt{n_k}

    (sample standard deviation :math:`s_k` of the :math:`n_k` block means) reaches a plateau, the standard
    error of the overall mean. Each :math:`\mathrm{se}_k` carries a relative error
    :math:`1/\sqrt{2(n_k-1)}`. On the plateau :math:`\mathrm{se}^2 = \tau_{\rm int}\,\mathrm{Var}(x)/N`, an
    estimate of :math:`\tau_{\rm int}` independent of :func:`integrated_autocorrelation_time`.

    References
    ----------
    Flyvbjerg, H. & Petersen, H. G. (1989) "Error estimates on averages of correlated data", J. Chem. Phys.
    91, 461.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import blocking
    >>> x = np.repeat(np.random.default_rng(0).standard_normal(4096), 8)  # runs of 8 equal steps
    >>> b = blocking(x)  # the naive error is sqrt(8) too small; blocks of >= 8 steps see the truth
    >>> print(f"{b.std_errors[0]:.4f} {b.std_error:.4f} {1 / np.sqrt(4096):.4f}")
    0.0055 0.0153 0.0156
    """
    min_blocks = check_positive_int(min_blocks, "min_blocks", minimum=2)
    a = _series(x)
    if a.size < min_blocks:
        raise ValueError(f"min_blocks: {min_blocks} exceeds the {a.size} samples of x; no level has that many blocks")
    shift = int(_exponent_shift(a))
    a = np.ldexp(a, shift)  # exact rescaling where squares could overflow or underflow
    sizes, ses, errs = [], [], []
    size = 1
    while a.shape[0] * a.shape[1] >= min_blocks and a.shape[0] >= 2:
        n_k = a.size
        se = float(a.std(ddof=1) / np.sqrt(n_k))
        sizes.append(size), ses.append(se), errs.append(se / np.sqrt(2 * (n_k - 1)))
        m = a.shape[0] // 2
        a = 0.5 * (a[0:2 * m:2] + a[1:2 * m:2])  # (m, chains)
        size *= 2
    ses_a, errs_a = np.ldexp(np.array(ses), -shift), np.ldexp(np.array(errs), -shift)
    agree = np.abs(np.diff(ses_a)) <= errs_a[1:] + errs_a[:-1]  # level k agrees with level k + 1
    chosen = int(np.argmax(agree)) + 1 if agree.any() else len(ses) - 1
    return BlockingResult(np.array(sizes), ses_a, errs_a, float(ses_a[chosen]))


def mean_and_error(x: ArrayLike, *, c: float = 5.0) -> tuple[float, float]:
    r"""Mean of a chain (or many chains) and its standard error :math:`\sqrt{\tau_{\rm int}\,\mathrm{Var}(x)/N}`.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0 (at least 4 steps), independent chains on the others; :math:`N` counts all steps of
        all chains.
    c : float
        Sokal window constant for :func:`integrated_autocorrelation_time`, positive.

    Returns
    -------
    mean, std_error : float
        The error uses :math:`\max(\tau_{\rm int}, 1)`: an estimate below 1 (anticorrelated or noisy) never
        makes the error bar smaller than that of independent draws. A constant series has error 0.

    Notes
    -----
    .. math:: \bar x = \frac1N\sum x, \qquad \mathrm{se}(\bar x) = \sqrt{\max(\tau_{\rm int}, 1)\,
              \mathrm{Var}(x)/N}:

    :math:`N` correlated steps are worth :math:`N/\tau_{\rm int}` independent ones.

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), §3.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import mean_and_error
    >>> m, se = mean_and_error(np.tile([1.0, 3.0], 50))
    >>> print(m, f"{se:.3f}")
    2.0 0.100
    """
    c = _check_c(c)
    a = _series(x)
    if np.all(a == a[0, 0]):
        return float(a[0, 0]), 0.0
    shift = int(_exponent_shift(a))
    a = np.ldexp(a, shift)  # exact rescaling where squares could overflow or underflow
    tau = integrated_autocorrelation_time(a, c=c).tau
    mean, se = a.mean(), np.sqrt(max(tau, 1.0) * a.var() / a.size)
    return float(np.ldexp(mean, -shift)), float(np.ldexp(se, -shift))


@dataclass(frozen=True)
class SplitRHat:
    r"""Split, rank-normalized :math:`\hat R` of Vehtari et al. (2021); returned by :func:`split_rhat`.

    Attributes
    ----------
    rhat : float
        :math:`\hat R = \max(\hat R_{\rm bulk}, \hat R_{\rm tail})`, the paper's diagnostic (they recommend
        using draws only when it is below 1.01).
    bulk : float
        Rank-normalized split-:math:`\hat R` of the draws: sensitive to chains that disagree in location.
    tail : float
        Rank-normalized split-:math:`\hat R` of the folded draws :math:`|x - \mathrm{median}(x)|`: sensitive
        to chains that disagree in scale (their tails).

    Notes
    -----
    Each value is :math:`\sqrt{\widehat{\rm var}^+/W} \ge` about 1, with :math:`\widehat{\rm var}^+ =
    \frac{n-1}{n}W + \frac{B}{n}` (see :func:`split_rhat`); it approaches 1 when the chains agree.

    References
    ----------
    Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. & Bürkner, P.-C. (2021) "Rank-normalization, folding,
    and localization: an improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16, 667.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import split_rhat
    >>> x = np.random.default_rng(0).standard_normal((1000, 4))  # 4 chains of independent draws
    >>> x[:, 0] *= 3.0  # one chain three times as wide: the same centre, other tails
    >>> r = split_rhat(x)
    >>> print(f"bulk {r.bulk:.3f}, tail {r.tail:.3f}, rhat {r.rhat:.3f}")
    bulk 0.999, tail 1.164, rhat 1.164
    """

    rhat: float
    bulk: float
    tail: float


def _split_halves(a: np.ndarray) -> np.ndarray:
    """(N, M) chains -> (N // 2, 2 M): first and second halves as separate chains (the middle draw dropped if N is odd)."""
    half = a.shape[0] // 2
    return np.concatenate([a[:half], a[a.shape[0] - half:]], axis=1)  # (half, 2 M)


def _rank_normalized_rhat(a: np.ndarray) -> float:
    """sqrt(var+/W) of the normal scores of the pooled average ranks of the (n, m) split chains ``a``."""
    n = a.shape[0]
    r = stats.rankdata(a, method="average", axis=None).reshape(a.shape)  # (n, m), 1..S, ties averaged
    z = special.ndtri((r - 0.375) / (a.size + 0.25))  # (n, m): Blom's normal scores, |z| < 6
    constant = np.all(z == z[:1], axis=0)  # (m,): a constant chain's variance is 0, not a rounding residue
    W = float(np.mean(np.where(constant, 0.0, np.var(z, axis=0, ddof=1))))  # mean within-chain variance
    B = n * float(np.var(np.mean(z, axis=0), ddof=1))  # between-chain variance (times n)
    if W == 0.0:  # every split chain constant: equal everywhere (nothing to diagnose) or stuck apart
        return 1.0 if B == 0.0 else float(np.inf)
    return float(np.sqrt((n - 1) / n + B / (n * W)))


def split_rhat(x: ArrayLike) -> SplitRHat:
    r"""Split, rank-normalized :math:`\hat R` (bulk, tail and their maximum) of independent chains.

    Parameters
    ----------
    x : array_like of shape (n_steps, ...)
        Time on axis 0 (at least 4 steps), independent chains of the same target on the other axes (at least
        one chain: it is split into two). Note the layout: ArviZ and Stan take (chain, draw).

    Returns
    -------
    SplitRHat
        ``rhat`` (the maximum), ``bulk`` and ``tail``. A series that is the same number everywhere gives exactly
        1 (nothing to diagnose); split chains that are each constant but differ give ``inf`` (stuck apart).

    Notes
    -----
    Each of the :math:`M` chains of :math:`N` steps is split into its first and last :math:`n = \lfloor N/2
    \rfloor` steps (the middle step dropped when :math:`N` is odd), giving :math:`m = 2M` chains: a chain that
    drifts then disagrees with itself. Every value is replaced by the normal score of its average rank
    :math:`r` among all :math:`S = nm` values,

    .. math:: z = \Phi^{-1}\!\left(\frac{r - 3/8}{S + 1/4}\right),

    which makes the diagnostic invariant under monotone transformations and finite for heavy tails. With the
    within-chain variance :math:`W = \frac1m\sum_k s_k^2` (sample variances of the chains) and the
    between-chain variance :math:`B = \frac{n}{m-1}\sum_k(\bar z_k - \bar z)^2`,

    .. math:: \widehat{\rm var}^+ = \frac{n-1}{n}W + \frac{B}{n}, \qquad
              \hat R = \sqrt{\widehat{\rm var}^+/W}.

    ``bulk`` applies this to :math:`x`, ``tail`` to the folded draws :math:`|x - \mathrm{median}(x)|` (median
    over the split chains' draws), and ``rhat`` is their maximum. :math:`\hat R \to 1` when the chains agree: it measures
    *disagreement between chains*, so independent chains of exact draws pass it whatever law they draw;
    it cannot tell a correct sampler from a wrong one that is wrong the same way in every chain.
    Data beyond :math:`2^{1022}` in magnitude are halved first (exact, and ranks are scale invariant) so that
    :math:`x - \mathrm{median}(x)` cannot overflow.

    References
    ----------
    Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. & Bürkner, P.-C. (2021) "Rank-normalization, folding,
    and localization: an improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16, 667.
    Gelman, A. & Rubin, D. B. (1992) "Inference from iterative simulation using multiple sequences",
    Statistical Science 7, 457.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.mcmc import split_rhat
    >>> x = np.random.default_rng(0).standard_normal((1000, 4))  # (n_steps, chains)
    >>> print(f"{split_rhat(x).rhat:.3f}")  # independent draws: 1
    1.000
    >>> x[:, 0] += 1.0  # one chain sits one standard deviation away
    >>> r = split_rhat(x)
    >>> print(f"bulk {r.bulk:.3f}, tail {r.tail:.3f}, rhat {r.rhat:.3f}")
    bulk 1.104, tail 1.006, rhat 1.104
    """
    a = _series(x)  # (N, M)
    if np.max(np.abs(a)) > 2.0**1022:
        a = 0.5 * a  # exact for normal numbers: x - median(x) below cannot overflow
    split = _split_halves(a)  # (N // 2, 2 M)
    bulk = _rank_normalized_rhat(split)
    tail = _rank_normalized_rhat(np.abs(split - np.median(split)))
    return SplitRHat(max(bulk, tail), bulk, tail)
