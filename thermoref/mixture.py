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

from ._validation import as_float_array, as_logits, as_rng, check_real, check_work
from .ou import _check_time
from .sampling import sample_categorical

__all__ = ["PMOGMoments", "pmog_sample", "pmog_moments", "pmog_stationary", "mixture_pdf", "mixture_cdf"]

#: Most expected switching events per device that :func:`pmog_sample` simulates one by one.
MAX_EVENTS = 2**20


@dataclass(frozen=True)
class PMOGMoments:
    r"""Exact per-mode law of a PMOG device at one time (returned by :func:`pmog_moments`, :func:`pmog_stationary`).

    Attributes
    ----------
    weights : ndarray of shape (n_modes,)
        :math:`P(m = k)`.
    means : ndarray of shape (n_modes,)
        :math:`E[x \mid m=k]`. A mode of zero weight reports the law of a device that starts in it and stays:
        plain OU relaxation toward :math:`(\mu_k, \sigma_k^2)` (the limit as a vanishing mass is put there).
    variances : ndarray of shape (n_modes,)
        :math:`\mathrm{Var}[x \mid m=k]`, with the same convention for modes of zero weight.
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    @property
    def mean(self) -> float:
        r"""Overall :math:`E[x] = \sum_k P(m=k)\,E[x \mid m=k]`."""
        return float(self.weights @ self.means)

    @property
    def variance(self) -> float:
        r"""Overall :math:`\mathrm{Var}[x]`, by the law of total variance."""
        second = self.weights @ (self.variances + self.means**2)
        return float(second - self.mean**2)


def _check_mixture(logits, means, variances, relax_rate, switch_rate):
    logits = as_logits(logits, "logits")
    if logits.ndim != 1:
        raise ValueError(f"logits: expected shape (n_modes,), got {logits.shape}")
    n_modes = logits.size
    means = as_float_array(means, "means", ndim=1)
    variances = as_float_array(variances, "variances", ndim=1)
    if means.shape != (n_modes,):
        raise ValueError(f"means: expected shape ({n_modes},) like logits, got {means.shape}")
    if variances.shape != (n_modes,) or not (variances > 0).all():
        raise ValueError(f"variances: expected {n_modes} positive values, got {variances!r}")
    a = as_float_array(relax_rate, "relax_rate")
    if a.shape not in ((), (n_modes,)):
        raise ValueError(f"relax_rate: expected a scalar or shape ({n_modes},) like logits, got {a.shape}")
    a = np.broadcast_to(a, (n_modes,)).astype(float)
    if not (a > 0).all():
        raise ValueError("relax_rate: must be positive")
    r = check_real(switch_rate, "switch_rate", nonnegative=True)
    return special.softmax(logits), means, variances, a, r


def _scalar_time(t: object, tau0: object) -> float:
    check_real(t, "t", nonnegative=True)
    return float(_check_time(t, tau0))


def _finite_or_raise(arrays, suspects: dict[str, object]) -> None:
    """Raise naming the suspect of largest magnitude when a result overflowed."""
    if all(np.isfinite(a).all() for a in arrays):
        return
    name = max(suspects, key=lambda k: float(np.max(np.abs(suspects[k]), initial=0.0)))
    raise ValueError(f"{name}: the moments overflow float64 (values of magnitude up to "
                     f"{float(np.max(np.abs(suspects[name]), initial=0.0)):.3g})")


def mixture_pdf(x: ArrayLike, logits: ArrayLike, means: ArrayLike, variances: ArrayLike) -> np.ndarray:
    r"""Target density of the mixture, :math:`\sum_k p_k\,N(x;\mu_k,\sigma_k^2)` with :math:`p = \mathrm{softmax}(\text{logits})`.

    Parameters
    ----------
    x : array_like of any shape
        Points at which to evaluate the density.
    logits : array_like of shape (n_modes,)
        Mode logits (``-inf`` removes a mode).
    means : array_like of shape (n_modes,)
        Mode means :math:`\mu_k`.
    variances : array_like of shape (n_modes,)
        Mode variances :math:`\sigma_k^2 > 0`.

    Returns
    -------
    ndarray of shape x.shape
        The density.

    Notes
    -----
    .. math:: \rho(x) = \sum_k p_k \frac{e^{-(x-\mu_k)^2/(2\sigma_k^2)}}{\sqrt{2\pi}\,\sigma_k},

    the stationary law PMOG reaches when switching is slow compared with relaxation.

    Examples
    --------
    >>> from thermoref.mixture import mixture_pdf
    >>> print(np.round(mixture_pdf([0.0], [0.0, 0.0], [-1.0, 1.0], [1.0, 1.0]), 6))
    [0.241971]
    """
    p, means, variances, _, _ = _check_mixture(logits, means, variances, 1.0, 0.0)
    x = as_float_array(x, "x")[..., None]  # (..., 1)
    with np.errstate(over="ignore", under="ignore"):
        dens = np.exp(-0.5 * (x - means) ** 2 / variances) / (np.sqrt(2 * np.pi) * np.sqrt(variances))
    return np.sum(p * dens, axis=-1)


def mixture_cdf(x: ArrayLike, logits: ArrayLike, means: ArrayLike, variances: ArrayLike) -> np.ndarray:
    r"""Target CDF of the mixture, :math:`\sum_k p_k\,\Phi((x-\mu_k)/\sigma_k)`.

    Parameters
    ----------
    x : array_like of any shape
        Points at which to evaluate the CDF.
    logits : array_like of shape (n_modes,)
        Mode logits (``-inf`` removes a mode).
    means : array_like of shape (n_modes,)
        Mode means :math:`\mu_k`.
    variances : array_like of shape (n_modes,)
        Mode variances :math:`\sigma_k^2 > 0`.

    Returns
    -------
    ndarray of shape x.shape
        :math:`P(X \le x)`.

    Notes
    -----
    .. math:: F(x) = \sum_k p_k\,\Phi\!\left(\frac{x-\mu_k}{\sigma_k}\right),

    with :math:`\Phi` the standard normal CDF (``scipy.special.ndtr``).

    Examples
    --------
    >>> from thermoref.mixture import mixture_cdf
    >>> print(np.round(mixture_cdf([-1.0, 0.0], [0.0, 0.0], [-1.0, 1.0], [1.0, 1.0]), 6))
    [0.261375 0.5     ]
    """
    p, means, variances, _, _ = _check_mixture(logits, means, variances, 1.0, 0.0)
    x = as_float_array(x, "x")[..., None]  # (..., 1)
    with np.errstate(over="ignore"):
        z = (x - means) / np.sqrt(variances)
    return np.clip(np.sum(p * special.ndtr(z), axis=-1), 0.0, 1.0)


def _check_modes(mode0: object, shape: tuple[int, ...], n_modes: int) -> np.ndarray:
    """Initial modes: integers in [0, n_modes) broadcastable to the batch ``shape``."""
    if isinstance(mode0, (bool, np.bool_)):
        raise TypeError("mode0: expected integer modes, got bool")
    arr = np.asarray(mode0) if not isinstance(mode0, (str, bytes)) else None
    if arr is None or arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        got = type(mode0).__name__ if arr is None else arr.dtype
        raise TypeError(f"mode0: expected integer modes (or None), got {got}")
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"mode0: shape {arr.shape} does not broadcast to x0's shape {shape}") from None
    if ((arr < 0) | (arr >= n_modes)).any():
        raise ValueError(f"mode0: modes must lie in [0, {n_modes})")
    return arr.astype(np.int64)


def pmog_sample(x0: ArrayLike, mode0: ArrayLike | None, t: float, logits: ArrayLike, means: ArrayLike, variances: ArrayLike, *,
                switch_rate: float, rng, relax_rate: ArrayLike = 1.0, tau0: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Run independent PMOG devices exactly for physical time ``t``; return ``(x, mode)``.

    Parameters
    ----------
    x0 : array_like of any shape
        Initial states; its shape is the batch of devices.
    mode0 : array_like of int, broadcastable to x0.shape, or None
        Initial modes, or ``None`` to draw them from :math:`p`.
    t : float
        Physical time (``t / tau0`` in device units), ``>= 0``.
    logits : array_like of shape (n_modes,)
        Mode selector logits (``-inf`` forbids a mode).
    means : array_like of shape (n_modes,)
        Each mode's target mean :math:`\mu_k`.
    variances : array_like of shape (n_modes,)
        Each mode's target variance :math:`\sigma_k^2 > 0`.
    switch_rate : float
        Rate :math:`r \ge 0` of the mode-redraw clock (per unit of ``tau0``); 0 freezes the modes.
    rng : numpy.random.Generator or int
        Source of randomness.
    relax_rate : float or array_like of shape (n_modes,)
        OU rate :math:`a_k > 0` within each mode.
    tau0 : float
        Device time constant.

    Returns
    -------
    x : ndarray of shape x0.shape
        Final states.
    mode : ndarray of int64, shape x0.shape
        Final modes.

    Notes
    -----
    Exact simulation of the switching diffusion :math:`dx = -a_m(x-\mu_m)\,ds + \sqrt{2a_m\sigma_m^2}\,dW`,
    with the mode :math:`m` redrawn from :math:`p` at the events of a Poisson clock of rate :math:`r`:
    exponential waiting times, and between events the exact OU step
    :math:`x \to \mu_m + e^{-a_m h}(x-\mu_m) + \sigma_m\sqrt{1-e^{-2a_m h}}\,z`. One vectorized pass per
    switching event, so the expected number of events per device, :math:`rs`, is limited to
    ``thermoref.mixture.MAX_EVENTS`` (2**20) (and the total over devices to ``MAX_WORK``).

    References
    ----------
    Yin, G. G. & Zhu, C. (2010) "Hybrid Switching Diffusions", Springer, §1.3. Gillespie, D. T. (1996) "Exact
    numerical simulation of the Ornstein-Uhlenbeck process and its integral", Physical Review E 54, 2084–2091.

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
    s = _scalar_time(t, tau0)
    with np.errstate(over="ignore"):
        events = r * s  # expected switching events per device
    if not events <= MAX_EVENTS:
        name = "t" if s > r else "switch_rate"
        raise ValueError(f"{name}: switch_rate * t / tau0 = {events:.3g} expected switching events per device; "
                         f"at most {MAX_EVENTS} are simulated one by one (thermoref.mixture.MAX_EVENTS)")
    check_work(int(np.ceil(events + 1)) * max(x.size, 1), "x0")
    if mode0 is None:
        mode = sample_categorical(logits_p, size=x.size, rng=rng).reshape(x.shape)
    else:
        mode = _check_modes(mode0, x.shape, p.size)
    remaining = np.full(x.shape, s)
    x, mode = x.ravel(), mode.ravel().copy()
    remaining = remaining.ravel()
    active = np.flatnonzero(remaining > 0)
    with np.errstate(over="ignore", under="ignore"):
        while active.size:  # one pass per switching event (about r*s passes)
            wait = rng.exponential(1.0 / r, active.size) if r > 0 else np.full(active.size, np.inf)
            rem = remaining[active]
            h = np.minimum(wait, rem)  # (n_active,): time to the next event or to the end
            k = mode[active]
            mu, ak = means[k], a[k]
            var = variances[k] * (-np.expm1(-2 * ak * h))  # sigma^2 (1 - e^{-2 a h})
            x[active] = mu + np.exp(-ak * h) * (x[active] - mu) + np.sqrt(var) * rng.standard_normal(active.size)
            remaining[active] = rem - h
            switched = active[wait < rem]
            if switched.size:
                mode[switched] = sample_categorical(logits_p, size=switched.size, rng=rng)
            active = switched
    if not np.isfinite(x).all():
        _finite_or_raise([x], {"x0": x0, "means": means, "variances": variances})
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


def _stationary_v(pi: np.ndarray, means: np.ndarray, variances: np.ndarray, a: np.ndarray, r: float) -> np.ndarray:
    """The fixed point v = (pi, m1, m2) of the moment ODE with mode weights ``pi`` (each row divided by its rate)."""
    n_modes = pi.size
    R = r * (np.eye(n_modes) - np.outer(pi if r > 0 else np.zeros(n_modes), np.ones(n_modes)))  # (n_modes, n_modes)
    m1 = np.linalg.solve(np.eye(n_modes) + R / a[:, None], means * pi)
    m2 = np.linalg.solve(np.eye(n_modes) + R / (2 * a[:, None]), means * m1 + variances * pi)
    return np.concatenate([pi, m1, m2])


#: Largest ``||G|| t`` for which :func:`pmog_moments` takes the matrix exponential (scaling and squaring then
#: loses at most about ``2**26 * eps = 1.5e-8`` relative); beyond it only the stationary limit is computed.
_MAX_STIFFNESS = 2.0**26


def _as_moments(v: np.ndarray, n_modes: int, empty_means: np.ndarray, empty_vars: np.ndarray) -> PMOGMoments:
    """Per-mode law from v = (pi, m1, m2); a mode of zero weight reports ``empty_means``/``empty_vars``."""
    pi, m1, m2 = v[:n_modes], v[n_modes:2 * n_modes], v[2 * n_modes:]
    occupied = pi > 0
    safe = np.where(occupied, pi, 1.0)
    with np.errstate(all="ignore"):
        mean = np.where(occupied, m1 / safe, empty_means)
        var = np.where(occupied, np.maximum(m2 / safe - mean**2, 0.0), empty_vars)
    return PMOGMoments(np.clip(pi, 0.0, 1.0), mean, var)


def pmog_moments(t: float, x0: float, mode0_probs: ArrayLike, logits: ArrayLike, means: ArrayLike, variances: ArrayLike, *,
                 switch_rate: float, relax_rate: ArrayLike = 1.0, tau0: float = 1.0) -> PMOGMoments:
    r"""Exact per-mode weights, means and variances at time ``t`` from state ``x0`` and mode law ``mode0_probs``.

    Parameters
    ----------
    t : float
        Physical time, ``>= 0``.
    x0 : float
        Initial state (shared by every device).
    mode0_probs : array_like of shape (n_modes,)
        Law of the initial mode (non-negative, summing to 1).
    logits : array_like of shape (n_modes,)
        Mode selector logits.
    means : array_like of shape (n_modes,)
        Each mode's target mean.
    variances : array_like of shape (n_modes,)
        Each mode's target variance, ``> 0``.
    switch_rate : float
        Rate :math:`r \ge 0` of the mode-redraw clock.
    relax_rate : float or array_like of shape (n_modes,)
        OU rate :math:`a_k > 0` within each mode.
    tau0 : float
        Device time constant.

    Returns
    -------
    PMOGMoments
        Weights, conditional means and conditional variances, each of shape (n_modes,).

    Notes
    -----
    With :math:`\pi_k = P(m=k)`, :math:`m^{(j)}_k = E[x^j 1\{m=k\}]` and :math:`p = \mathrm{softmax}(\text{logits})`,

    .. math::
        \dot\pi_k = r(p_k\textstyle\sum_j\pi_j - \pi_k),\quad
        \dot m^{(1)}_k = a_k(\mu_k\pi_k - m^{(1)}_k) + r(p_k\textstyle\sum_j m^{(1)}_j - m^{(1)}_k),\\
        \dot m^{(2)}_k = 2a_k(\mu_k m^{(1)}_k + \sigma_k^2\pi_k - m^{(2)}_k) + r(p_k\textstyle\sum_j m^{(2)}_j - m^{(2)}_k),

    a linear system solved by :math:`v(s) = e^{Gs}v(0)`: the switching term moves probability (and the moments it
    carries) between modes, the OU term relaxes each mode's moments toward its target. A mode of zero weight
    (at ``t = 0``, with ``switch_rate = 0``, or with a ``-inf`` logit) reports plain OU relaxation from ``x0``
    toward its own target.

    References
    ----------
    Yin, G. G. & Zhu, C. (2010) "Hybrid Switching Diffusions", Springer, §1.3. Van Loan, C. F. (1978)
    "Computing integrals involving the matrix exponential", IEEE Transactions on Automatic Control 23, 395–404.

    Examples
    --------
    >>> from thermoref.mixture import pmog_moments
    >>> law = pmog_moments(1.0, 0.0, [1.0, 0.0], [0.0, 0.0], [-1.0, 1.0], [0.5, 0.5], switch_rate=0.5)
    >>> print(np.round(law.weights, 6))
    [0.803265 0.196735]
    """
    p, means, variances, a, r = _check_mixture(logits, means, variances, relax_rate, switch_rate)
    q0 = as_float_array(mode0_probs, "mode0_probs", ndim=1)
    if q0.shape != p.shape or (q0 < 0).any() or (q0 > 1).any() or not np.isclose(q0.sum(), 1.0, rtol=0, atol=1e-12):
        raise ValueError(f"mode0_probs: expected a probability vector of length {p.size}")
    x0 = check_real(x0, "x0")
    s = _scalar_time(t, tau0)
    with np.errstate(all="ignore"):
        v0 = np.concatenate([q0, q0 * x0, q0 * np.float64(x0) ** 2])
        G = _generator(p, means, variances, a, r)
        slowest = min(float(a.min()), r if r > 0 else np.inf)  # every other component of e^{Gs} decays faster
        if np.isfinite(G).all() and s * slowest >= 1000.0:  # e^{-1000} = 0: the stationary limit, exactly
            v = _stationary_v(p if r > 0 else q0, means, variances, a, r)
        elif np.isfinite(G).all() and float(np.abs(G).sum(axis=1).max()) * s > _MAX_STIFFNESS:
            name = "switch_rate" if r >= a.max() else "relax_rate"
            raise ValueError(f"{name}: rate * t / tau0 = {max(r, float(a.max())) * s:.3g} is too stiff for the "
                             f"matrix exponential (more than 2**26) while the slowest rate * t = {slowest * s:.3g} is "
                             "short of the stationary limit (1000)")
        else:
            v = linalg.expm(G * s) @ v0
        decay = np.exp(-a * s)
        alone_mean = means + decay * (x0 - means)  # a device that starts in mode k and never leaves
        alone_var = variances * -np.expm1(-2 * a * s)
        law = _as_moments(v, p.size, alone_mean, alone_var)
        suspects = {"x0": x0, "means": means, "variances": variances, "switch_rate": r * s, "relax_rate": a * s}
    _finite_or_raise([v0, law.means, law.variances, law.weights], suspects)
    return law


def pmog_stationary(logits: ArrayLike, means: ArrayLike, variances: ArrayLike, *, switch_rate: float,
                    relax_rate: ArrayLike = 1.0) -> PMOGMoments:
    r"""Exact stationary per-mode law: weights :math:`p`, means and variances from the stationary moment equations.

    Parameters
    ----------
    logits : array_like of shape (n_modes,)
        Mode selector logits (``-inf`` forbids a mode).
    means : array_like of shape (n_modes,)
        Each mode's target mean.
    variances : array_like of shape (n_modes,)
        Each mode's target variance, ``> 0``.
    switch_rate : float
        Rate :math:`r \ge 0` of the mode-redraw clock.
    relax_rate : float or array_like of shape (n_modes,)
        OU rate :math:`a_k > 0` within each mode.

    Returns
    -------
    PMOGMoments
        Weights :math:`p`, conditional means and variances, each of shape (n_modes,).

    Notes
    -----
    Setting the time derivatives of :func:`pmog_moments` to zero,
    :math:`(\mathrm{diag}(a)+rI - rp\mathbf 1^\top)m^{(1)} = a\mu p` and
    :math:`(2\,\mathrm{diag}(a)+rI - rp\mathbf 1^\top)m^{(2)} = 2a(\mu m^{(1)} + \sigma^2 p)` (each row divided by
    its rate before solving). For a shared rate, :math:`E[x\mid k] = (a\mu_k + r\,p\cdot\mu)/(a+r)`: switching
    pulls every mode toward the global mean, and the target mixture is reached only for :math:`r \ll a`. A mode
    with :math:`p_k = 0` reports its own target :math:`(\mu_k, \sigma_k^2)`.

    References
    ----------
    Yin, G. G. & Zhu, C. (2010) "Hybrid Switching Diffusions", Springer, §1.3.

    Examples
    --------
    >>> from thermoref.mixture import pmog_stationary
    >>> law = pmog_stationary([0.0, 0.0], [-1.0, 1.0], [0.5, 0.5], switch_rate=0.1, relax_rate=1.0)
    >>> print(np.round(law.means, 6))
    [-0.909091  0.909091]
    """
    p, means, variances, a, r = _check_mixture(logits, means, variances, relax_rate, switch_rate)
    with np.errstate(all="ignore"):
        law = _as_moments(_stationary_v(p, means, variances, a, r), p.size, means, variances)
        suspects = {"means": means, "variances": variances, "switch_rate": r, "relax_rate": 1.0 / a.min()}
    _finite_or_raise([law.means, law.variances], suspects)
    return law
