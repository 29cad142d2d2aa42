r"""Gradient estimators through a binary sampler (a p-bit), with their exact expectations.

A bit :math:`x\sim\mathrm{Bernoulli}(\sigma(\theta))` feeds an objective :math:`f(x)`; the target is
:math:`\frac{d}{d\theta}\mathbb E f(x) = \sigma'(\theta)\,(f(1)-f(0))`, :math:`\sigma' = \sigma(1-\sigma)`.
Training a network of p-bits needs an estimate of it from samples. Four standard estimators, each with a
sampler (one estimate per draw) and its exact expectation (enumeration over :math:`x\in\{0,1\}` or
quadrature over the noise), so their bias is a computed number, not a claim:

=========================  ===============================================  ===========================
estimator                  one draw                                         expectation
=========================  ===============================================  ===========================
straight-through (ST)      :math:`f'(x)`                                    biased (even in scale)
ST, sigmoid-scaled         :math:`f'(x)\,\sigma'(\theta)`                   biased unless f is linear
REINFORCE                  :math:`(f(x)-c)(x-\sigma(\theta))`               unbiased for any baseline c
Gumbel-sigmoid (concrete)  :math:`f'(\tilde x)\,\tilde x(1-\tilde x)/\tau`  biased; exact as tau -> 0
=========================  ===============================================  ===========================

with :math:`\tilde x = \sigma((\theta+L)/\tau)` and :math:`L` standard logistic noise.

References: Bengio, Y., Léonard, N. & Courville, A. (2013) "Estimating or propagating gradients through
stochastic neurons for conditional computation", arXiv:1308.3432; Williams, R. J. (1992) "Simple
statistical gradient-following algorithms for connectionist reinforcement learning", Mach. Learn. 8,
229–256; Maddison, C. J., Mnih, A. & Teh, Y. W. (2017) "The concrete distribution", ICLR; Jang, E., Gu, S. &
Poole, B. (2017) "Categorical reparameterization with Gumbel-softmax", ICLR.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ._validation import (
    as_float_array,
    as_rng,
    check_allocation,
    check_callable,
    check_positive_int,
    check_real,
    check_returned,
)

__all__ = ["ESTIMATORS", "exact_gradient", "sample_gradient", "expected_gradient"]

#: The estimators of :func:`sample_gradient` and :func:`expected_gradient`, by ``method`` name.
ESTIMATORS = ("st_identity", "st_sigmoid", "reinforce", "gumbel_sigmoid")

Fn = Callable[[np.ndarray], np.ndarray]

_N_QUAD = 24_001  # trapezoid nodes of the Gumbel-sigmoid expectation


def _dsigma(theta: np.ndarray) -> np.ndarray:
    s = special.expit(theta)
    return s * (1.0 - s)


def _check(theta: ArrayLike, method: object, tau: object, baseline: object) -> tuple[np.ndarray, float, float]:
    theta = as_float_array(theta, "theta")
    if not isinstance(method, str) or method not in ESTIMATORS:
        raise ValueError(f"method: expected one of {ESTIMATORS}, got {method!r}")
    tau = check_real(tau, "tau", positive=True)
    baseline = check_real(baseline, "baseline")
    return theta, tau, baseline


def _call(fn: Fn, name: str, x: np.ndarray) -> np.ndarray:
    """``fn(x)`` for a user function elementwise on ``x``: real, finite, broadcastable to ``x.shape``."""
    return check_returned(fn(x), name, x.shape)


def _finite(out: np.ndarray, culprit: str, what: str) -> np.ndarray:
    if not np.isfinite(out).all():
        raise ValueError(f"{culprit}: {what} exceeds the float64 range")
    return out


def exact_gradient(theta: ArrayLike, f: Fn) -> np.ndarray:
    r"""Exact gradient of :math:`\mathbb E f(x)` for a bit :math:`x \sim \mathrm{Bernoulli}(\sigma(\theta))`.

    Parameters
    ----------
    theta : array_like of shape (...)
        Logits of the bits; each entry is an independent problem.
    f : callable
        The objective, elementwise on arrays: called on ndarrays of ones and of zeros of shape (...), it
        returns finite real values broadcastable to that shape.

    Returns
    -------
    ndarray of shape (...)
        :math:`\frac{d}{d\theta}\mathbb E f(x)`.

    Notes
    -----
    :math:`\mathbb E f(x) = \sigma(\theta) f(1) + (1 - \sigma(\theta)) f(0)`, so

    .. math:: \frac{d}{d\theta}\mathbb E f(x) = \sigma'(\theta)\,\bigl(f(1) - f(0)\bigr),
              \qquad \sigma' = \sigma(1 - \sigma),

    the target every estimator of :func:`sample_gradient` is judged against.

    References
    ----------
    Bengio, Y., Léonard, N. & Courville, A. (2013) "Estimating or propagating gradients through stochastic
    neurons for conditional computation", arXiv:1308.3432.

    Examples
    --------
    >>> from thermoref.estimators import exact_gradient
    >>> print(round(float(exact_gradient(0.0, lambda x: (x - 0.3) ** 2)), 6))
    0.1
    """
    theta = as_float_array(theta, "theta")
    check_callable(f, "f")
    one, zero = _call(f, "f", np.ones_like(theta)), _call(f, "f", np.zeros_like(theta))
    with np.errstate(over="ignore", invalid="ignore"):
        out = _dsigma(theta) * (one - zero)
    return _finite(np.broadcast_to(out, theta.shape), "f", "f(1) - f(0)")


def sample_gradient(
    theta: ArrayLike,
    f: Fn,
    df: Fn,
    size: int,
    *,
    method: str,
    rng: np.random.Generator | int,
    tau: float = 0.5,
    baseline: float = 0.0,
) -> np.ndarray:
    r"""Draw ``size`` independent single-sample gradient estimates for each ``theta``.

    Parameters
    ----------
    theta : array_like of shape (...)
        Logits of the bits; each entry is an independent problem.
    f, df : callable
        The objective and its derivative, elementwise on arrays of shape (..., size), returning finite real
        values of that shape (``df`` is used by the pathwise estimators, which need :math:`f` defined on
        reals; ``f`` by REINFORCE).
    size : int
        Estimates per ``theta``, at least 1.
    method : {"st_identity", "st_sigmoid", "reinforce", "gumbel_sigmoid"}
        See the module table.
    rng : numpy.random.Generator or int
        Source of randomness.
    tau : float
        Temperature of the Gumbel-sigmoid relaxation, positive.
    baseline : float
        Control variate :math:`c` of REINFORCE (does not change its mean).

    Returns
    -------
    ndarray of shape (..., size)
        One estimate per draw; their mean estimates :func:`expected_gradient`.

    Notes
    -----
    With :math:`x \sim \mathrm{Bernoulli}(\sigma(\theta))`, :math:`L` standard logistic noise and
    :math:`\tilde x = \sigma((\theta + L)/\tau)`, the estimates are

    .. math:: g_{\mathrm{ST}} = f'(x), \quad g_{\mathrm{ST}\sigma} = f'(x)\,\sigma'(\theta), \quad
              g_{\mathrm{RF}} = (f(x) - c)(x - \sigma(\theta)), \quad
              g_{\mathrm{GS}} = f'(\tilde x)\,\tilde x(1 - \tilde x)/\tau.

    One uniform per draw: a hard bit is :math:`[u < \sigma(\theta)]`, the logistic noise
    :math:`L = \mathrm{logit}(u)`.

    References
    ----------
    Bengio, Y., Léonard, N. & Courville, A. (2013) arXiv:1308.3432; Williams, R. J. (1992) "Simple
    statistical gradient-following algorithms for connectionist reinforcement learning", Mach. Learn. 8,
    229–256; Maddison, C. J., Mnih, A. & Teh, Y. W. (2017) "The concrete distribution", ICLR; Jang, E.,
    Gu, S. & Poole, B. (2017) "Categorical reparameterization with Gumbel-softmax", ICLR.

    Examples
    --------
    >>> from thermoref.estimators import sample_gradient
    >>> f, df = (lambda x: (x - 0.3) ** 2), (lambda x: 2 * (x - 0.3))
    >>> sample_gradient([0.0, 1.0], f, df, 5, method="reinforce", rng=0).shape
    (2, 5)
    """
    theta, tau, baseline = _check(theta, method, tau, baseline)
    check_callable(f, "f")
    check_callable(df, "df")
    size = check_positive_int(size, "size")
    check_allocation(theta.shape + (size,), "size")
    rng = as_rng(rng)
    th = theta[..., None]  # (..., 1)
    s = special.expit(th)
    if method == "gumbel_sigmoid":
        u = rng.random(theta.shape + (size,))
        logistic = special.logit(u)  # standard logistic noise (u = 0 gives -inf, a relaxed bit of exactly 0)
        with np.errstate(over="ignore", under="ignore"):  # tau near 5e-324: the relaxed bit is exactly 0 or 1
            x = special.expit((th + logistic) / tau)  # (..., size) relaxed bit in (0, 1)
            out = _call(df, "df", x) * x * (1.0 - x) / tau
        return _finite(out, "tau", "a relaxed estimate f'(x) x (1 - x) / tau")
    x = (rng.random(theta.shape + (size,)) < s).astype(np.float64)  # (..., size) hard bits
    if method == "st_identity":
        return _call(df, "df", x) * np.ones_like(s)
    if method == "st_sigmoid":
        return _call(df, "df", x) * s * (1.0 - s)
    fx = _call(f, "f", x)
    with np.errstate(over="ignore"):
        out = (fx - baseline) * (x - s)
    return _finite(out, "baseline" if abs(baseline) >= np.abs(fx).max(initial=0.0) else "f", "f(x) - baseline")


def expected_gradient(theta: ArrayLike, f: Fn, df: Fn, *, method: str, tau: float = 0.5, baseline: float = 0.0) -> np.ndarray:
    r"""Exact expectation of one draw of :func:`sample_gradient`.

    Parameters
    ----------
    theta : array_like of shape (...)
        Logits of the bits.
    f, df : callable
        The objective and its derivative, elementwise on arrays (called on arrays of shape (...) and, for
        the Gumbel-sigmoid, on a quadrature grid of shape (24001,)), returning finite real values.
    method : {"st_identity", "st_sigmoid", "reinforce", "gumbel_sigmoid"}
        See the module table.
    tau : float
        Temperature of the Gumbel-sigmoid relaxation, positive.
    baseline : float
        Control variate :math:`c` of REINFORCE.

    Returns
    -------
    ndarray of shape (...)
        :math:`\mathbb E\,g`; compare :func:`exact_gradient` for the bias.

    Notes
    -----
    Hard-bit estimators: a two-point sum :math:`\sigma g(1) + (1-\sigma) g(0)`. REINFORCE then gives
    :math:`\sigma(1-\sigma)(f(1)-f(0))`, the exact gradient, for any baseline (subtracted as given, so a
    baseline far larger than :math:`f` costs relative precision :math:`|c|\epsilon/|f(1) - f(0)|`).
    Gumbel-sigmoid: with :math:`y = (\theta + L)/\tau`,

    .. math:: \mathbb E\,g = \int f'(\sigma(y))\,\sigma'(y)\,\rho(\tau y-\theta)\,dy
              = \int f'(\sigma(u))\,\frac{\sigma'(u)}{\tau}\,\rho(l)\,dl, \quad u = \frac{\theta + l}{\tau},
              \qquad \rho(l) = \sigma'(l),

    by the trapezoid rule with 24001 points on :math:`|y| \le 60` for :math:`\tau \le 10` and on
    :math:`|l| \le 60` above (each integrand is analytic, decays like :math:`e^{-|\cdot|}` and varies on a
    scale the grid resolves, so the rule converges geometrically; absolute error below :math:`10^{-15}`
    against adaptive quadrature for :math:`10^{-3} \le \tau \le 10^{4}`). As :math:`\tau \to 0` it tends to
    the exact gradient, as :math:`\tau \to \infty` to 0.

    References
    ----------
    Maddison, C. J., Mnih, A. & Teh, Y. W. (2017) "The concrete distribution: a continuous relaxation of
    discrete random variables", ICLR; Trefethen, L. N. & Weideman, J. A. C. (2014) "The exponentially
    convergent trapezoidal rule", SIAM Rev. 56, 385–458.

    Examples
    --------
    >>> from thermoref.estimators import exact_gradient, expected_gradient
    >>> f, df = (lambda x: (x - 0.3) ** 2), (lambda x: 2 * (x - 0.3))
    >>> print(round(float(expected_gradient(0.0, f, df, method="st_sigmoid")), 6))
    0.1
    >>> print(round(float(expected_gradient(1.0, f, df, method="st_sigmoid")), 6))
    0.169503
    >>> print(round(float(exact_gradient(1.0, f)), 6))
    0.078645
    """
    theta, tau, baseline = _check(theta, method, tau, baseline)
    check_callable(f, "f")
    check_callable(df, "df")
    s = special.expit(theta)
    one, zero = np.ones_like(theta), np.zeros_like(theta)
    if method == "st_identity":
        return s * _call(df, "df", one) + (1 - s) * _call(df, "df", zero)
    if method == "st_sigmoid":
        return s * (1 - s) * (s * _call(df, "df", one) + (1 - s) * _call(df, "df", zero))
    if method == "reinforce":
        f1, f0 = _call(f, "f", one), _call(f, "f", zero)
        with np.errstate(over="ignore", invalid="ignore"):
            out = s * (f1 - baseline) * (1 - s) + (1 - s) * (f0 - baseline) * (-s)
        return _finite(np.broadcast_to(out, theta.shape), "baseline", "f - baseline")
    check_allocation(theta.shape + (_N_QUAD,), "theta")
    grid = np.linspace(-60.0, 60.0, _N_QUAD)  # (Y,)
    if tau <= 10.0:  # integrate over y: the logistic density rho(tau y - theta) is smooth on the grid
        x = special.expit(grid)
        w = _call(df, "df", x) * _dsigma(grid) * _dsigma(tau * grid - theta[..., None])  # (..., Y)
    else:  # integrate over the noise l: sigma'(u)/tau with u = (theta + l)/tau is the smooth factor
        u = (theta[..., None] + grid) / tau  # (..., Y)
        w = _call(df, "df", special.expit(u)) * (_dsigma(u) / tau) * _dsigma(grid)
    return np.trapezoid(w, grid, axis=-1)
