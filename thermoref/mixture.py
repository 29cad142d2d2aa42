r"""PMOG: a mixture-of-Gaussians sampler built from a categorical mode selector and OU relaxation.

Each device carries a mode :math:`m`, one of ``n_modes`` modes, and a scalar state :math:`x`. Within mode :math:`k`
the state relaxes as an Ornstein–Uhlenbeck process toward the mode's Gaussian,
:math:`dx = -a_k(x-\mu_k)\,ds + \sqrt{2a_k\sigma_k^2}\,dW` (:math:`s = t/\tau_0`), and at the events of a Poisson
clock of rate ``switch_rate`` the mode is redrawn from :math:`p = \mathrm{softmax}(\text{logits})` (possibly the
same mode): a continuous-time Markov chain whose stationary mode law is exactly :math:`p`. The pair
:math:`(m, x)` is simulated exactly (exponential waiting times, exact OU steps between events).

The law of :math:`x` at time :math:`t` includes samples in transit between modes. Its per-mode weights, means and
second moments obey a closed linear ODE, solved here exactly by one matrix exponential; at stationarity the mode
weights are exactly :math:`p`, but the mode-conditional means are pulled toward the global mean,
:math:`E[x\mid m=k] = (a\mu_k + r\bar\mu)/(a+r)` for a shared rate :math:`a`: the target mixture
:math:`\sum_k p_k N(\mu_k,\sigma_k^2)` is reached only for :math:`r \ll a`.

Reference: Yin, G. G. & Zhu, C. (2010) "Hybrid Switching Diffusions", Springer, §1.3 (Markov-modulated
diffusions); Gardiner, C. W. "Stochastic Methods" (2009) §4.5.6 (OU moments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg, special

from ._validation import as_float_array, as_rng
from .ou import _check_time, _relax_integral
from .sampling import sample_categorical

__all__ = ["PMOGMoments", "pmog_sample", "pmog_moments", "pmog_stationary", "mixture_pdf", "mixture_cdf"]


@dataclass(frozen=True)
class PMOGMoments:
    """Exact per-mode law of a PMOG device at one time.

    Attributes
    ----------
    weights : ndarray of shape (n_modes,)
        :math:`P(m = k)`.
    means, variances : ndarray of shape (n_modes,)
        :math:`E[x \\mid m=k]` and :math:`\\mathrm{Var}[x \\mid m=k]`.
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    @property
    def mean(self) -> float:
        """Overall :math:`E[x]`."""
        return float(self.weights @ self.means)

    @property
    def variance(self) -> float:
        """Overall :math:`\\mathrm{Var}[x]` (law of total variance)."""
        second = self.weights @ (self.variances + self.means**2)
        return float(second - self.mean**2)


def _check_mixture(logits, means, variances, relax_rate, switch_rate):
    logits = as_float_array(logits, "logits", ndim=1, allow_neg_inf=True)
    n_modes = logits.size
    if n_modes < 1 or not np.isfinite(logits).any():
        raise ValueError("logits: need at least one category with finite logit")
    means = as_float_array(means, "means", ndim=1)
    variances = as_float_array(variances, "variances", ndim=1)
    if means.shape != (n_modes,):
        raise ValueError(f"means: expected shape ({n_modes},) like logits, got {means.shape}")
    if variances.shape != (n_modes,) or (variances <= 0).any():
        raise ValueError(f"variances: expected {n_modes} positive values, got {variances!r}")
    a = np.broadcast_to(as_float_array(relax_rate, "relax_rate"), (n_modes,)).astype(float)
    if (a <= 0).any():
        raise ValueError("relax_rate: must be positive")
    r = float(as_float_array(switch_rate, "switch_rate", ndim=0))
    if r < 0:
        raise ValueError(f"switch_rate: must be non-negative, got {r!r}")
    return special.softmax(logits), means, variances, a, r


def mixture_pdf(x: ArrayLike, logits: ArrayLike, means: ArrayLike, variances: ArrayLike) -> np.ndarray:
    r"""Target density :math:`\sum_k p_k\,N(x;\mu_k,\sigma_k^2)`, :math:`p = \mathrm{softmax}(\text{logits})`.

    Examples
    --------
    >>> from thermoref.mixture import mixture_pdf
    >>> print(np.round(mixture_pdf([0.0], [0.0, 0.0], [-1.0, 1.0], [1.0, 1.0]), 6))
    [0.241971]
    """
    p, means, variances, _, _ = _check_mixture(logits, means, variances, 1.0, 0.0)
    x = as_float_array(x, "x")[..., None]  # (..., 1)
    return np.sum(p * np.exp(-0.5 * (x - means) ** 2 / variances) / np.sqrt(2 * np.pi * variances), axis=-1)


def mixture_cdf(x: ArrayLike, logits: ArrayLike, means: ArrayLike, variances: ArrayLike) -> np.ndarray:
    r"""Target CDF :math:`\sum_k p_k\,\Phi((x-\mu_k)/\sigma_k)`."""
    p, means, variances, _, _ = _check_mixture(logits, means, variances, 1.0, 0.0)
    x = as_float_array(x, "x")[..., None]  # (..., 1)
    return np.sum(p * special.ndtr((x - means) / np.sqrt(variances)), axis=-1)


def pmog_sample(x0: ArrayLike, mode0: ArrayLike | None, t: float, logits: ArrayLike, means: ArrayLike, variances: ArrayLike, *,
                switch_rate: float, rng, relax_rate: ArrayLike = 1.0, tau0: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Run independent PMOG devices exactly for physical time ``t``; return ``(x, mode)``.

    Parameters
    ----------
    x0 : array_like
        Initial states; its shape is the batch of devices.
    mode0 : array_like of int or None
        Initial modes (broadcast to ``x0``), or ``None`` to draw them from :math:`p`.
    t : float
        Physical time (``t / tau0`` in device units).
    logits, means, variances : array_like of shape (n_modes,)
        Mode selector logits and each mode's target Gaussian.
    switch_rate : float
        Rate :math:`r` of the mode-redraw clock (per unit of ``tau0``); 0 freezes the modes.
    rng : numpy.random.Generator or int
    relax_rate : float or array_like of shape (n_modes,)
        OU rate :math:`a_k` within each mode.

    Returns
    -------
    x : ndarray of shape x0.shape
    mode : ndarray of int64, shape x0.shape

    Examples
    --------
    >>> from thermoref.mixture import pmog_sample
    >>> x, m = pmog_sample([0.0, 0.0, 0.0], None, 2.0, [0.0, 0.0], [-2.0, 2.0], [0.1, 0.1], switch_rate=0.5, rng=0)
    >>> x.shape, m.dtype
    ((3,), dtype('int64'))
    """
    rng = as_rng(rng)
    p, means, variances, a, r = _check_mixture(logits, means, variances, relax_rate, switch_rate)
    logits_p = np.log(np.where(p > 0, p, 1.0)) + np.where(p > 0, 0.0, -np.inf)
    x = as_float_array(x0, "x0").copy()
    s = float(_check_time(t, tau0))
    if mode0 is None:
        mode = sample_categorical(logits_p, size=x.size, rng=rng).reshape(x.shape)
    else:
        mode = np.broadcast_to(np.asarray(mode0), x.shape).astype(np.int64)
        if ((mode < 0) | (mode >= p.size)).any():
            raise ValueError(f"mode0: modes must lie in [0, {p.size})")
    remaining = np.full(x.shape, s)
    x, mode = x.ravel(), mode.ravel().copy()
    remaining = remaining.ravel()
    active = np.flatnonzero(remaining > 0)
    while active.size:  # one pass per switching event (about r*s passes)
        wait = rng.exponential(1.0 / r, active.size) if r > 0 else np.full(active.size, np.inf)
        rem = remaining[active]
        h = np.minimum(wait, rem)  # (n_active,): time to the next event or to the end
        k = mode[active]
        mu, ak = means[k], a[k]
        var = 2 * ak * variances[k] * _relax_integral(2 * ak, h)
        x[active] = mu + np.exp(-ak * h) * (x[active] - mu) + np.sqrt(var) * rng.standard_normal(active.size)
        remaining[active] = rem - h
        switched = active[wait < rem]
        if switched.size:
            mode[switched] = sample_categorical(logits_p, size=switched.size, rng=rng)
        active = switched
    return x.reshape(np.shape(x0)), mode.reshape(np.shape(x0))


def _generator(p, means, variances, a, r) -> np.ndarray:
    """Generator G of the linear moment ODE for v = (pi, m1, m2), each block of length n_modes."""
    n_modes = p.size
    G = np.zeros((3 * n_modes, 3 * n_modes))  # (3 n_modes, 3 n_modes)
    switch = r * (np.outer(p, np.ones(n_modes)) - np.eye(n_modes))  # redraw: gain p_k * total, loss own
    i = np.arange(n_modes)
    G[:n_modes, :n_modes] = switch
    G[n_modes:2 * n_modes, n_modes:2 * n_modes] = switch - np.diag(a)
    G[n_modes + i, i] = a * means
    G[2 * n_modes:, 2 * n_modes:] = switch - np.diag(2 * a)
    G[2 * n_modes + i, n_modes + i] = 2 * a * means
    G[2 * n_modes + i, i] = 2 * a * variances
    return G


def _as_moments(v: np.ndarray, n_modes: int) -> PMOGMoments:
    pi, m1, m2 = v[:n_modes], v[n_modes:2 * n_modes], v[2 * n_modes:]
    safe = np.where(pi > 0, pi, 1.0)
    mean = np.where(pi > 0, m1 / safe, np.nan)
    var = np.where(pi > 0, m2 / safe - mean**2, np.nan)
    return PMOGMoments(pi, mean, var)


def pmog_moments(t: float, x0: float, mode0_probs: ArrayLike, logits: ArrayLike, means: ArrayLike, variances: ArrayLike, *,
                 switch_rate: float, relax_rate: ArrayLike = 1.0, tau0: float = 1.0) -> PMOGMoments:
    r"""Exact per-mode weights, means and variances at time ``t`` from state ``x0`` and mode law ``mode0_probs``.

    Notes
    -----
    With :math:`\pi_k = P(m=k)`, :math:`m^{(j)}_k = E[x^j 1\{m=k\}]` and :math:`\bar p = \mathrm{softmax}`,

    .. math::
        \dot\pi_k = r(p_k\textstyle\sum_j\pi_j - \pi_k),\quad
        \dot m^{(1)}_k = a_k(\mu_k\pi_k - m^{(1)}_k) + r(p_k\textstyle\sum_j m^{(1)}_j - m^{(1)}_k),\\
        \dot m^{(2)}_k = 2a_k(\mu_k m^{(1)}_k + \sigma_k^2\pi_k - m^{(2)}_k) + r(p_k\textstyle\sum_j m^{(2)}_j - m^{(2)}_k),

    a linear system solved by :math:`v(s) = e^{Gs}v(0)`. Modes with zero weight report NaN moments.

    Examples
    --------
    >>> from thermoref.mixture import pmog_moments
    >>> law = pmog_moments(1.0, 0.0, [1.0, 0.0], [0.0, 0.0], [-1.0, 1.0], [0.5, 0.5], switch_rate=0.5)
    >>> print(np.round(law.weights, 6))
    [0.803265 0.196735]
    """
    p, means, variances, a, r = _check_mixture(logits, means, variances, relax_rate, switch_rate)
    q0 = as_float_array(mode0_probs, "mode0_probs", ndim=1)
    if q0.shape != p.shape or (q0 < 0).any() or not np.isclose(q0.sum(), 1.0, rtol=0, atol=1e-12):
        raise ValueError(f"mode0_probs: expected a probability vector of length {p.size}")
    x0 = float(as_float_array(x0, "x0", ndim=0))
    s = float(_check_time(t, tau0))
    v0 = np.concatenate([q0, q0 * x0, q0 * x0**2])
    v = linalg.expm(_generator(p, means, variances, a, r) * s) @ v0
    return _as_moments(v, p.size)


def pmog_stationary(logits: ArrayLike, means: ArrayLike, variances: ArrayLike, *, switch_rate: float,
                    relax_rate: ArrayLike = 1.0) -> PMOGMoments:
    r"""Exact stationary per-mode law: weights :math:`p`, means and variances from the stationary moment equations.

    Notes
    -----
    :math:`(\mathrm{diag}(a)+rI - rp\mathbf 1^\top)m^{(1)} = a\mu p` and
    :math:`(2\,\mathrm{diag}(a)+rI - rp\mathbf 1^\top)m^{(2)} = 2a(\mu m^{(1)} + \sigma^2 p)`. For a shared
    rate, :math:`E[x\mid k] = (a\mu_k + r\,p\cdot\mu)/(a+r)`.

    Examples
    --------
    >>> from thermoref.mixture import pmog_stationary
    >>> law = pmog_stationary([0.0, 0.0], [-1.0, 1.0], [0.5, 0.5], switch_rate=0.1, relax_rate=1.0)
    >>> print(np.round(law.means, 6))
    [-0.909091  0.909091]
    """
    p, means, variances, a, r = _check_mixture(logits, means, variances, relax_rate, switch_rate)
    n_modes = p.size
    R = r * (np.eye(n_modes) - np.outer(p, np.ones(n_modes)))
    m1 = np.linalg.solve(np.diag(a) + R, a * means * p)
    m2 = np.linalg.solve(np.diag(2 * a) + R, 2 * a * (means * m1 + variances * p))
    return _as_moments(np.concatenate([p, m1, m2]), n_modes)
