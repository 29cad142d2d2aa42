r"""Imperfect heads: noise added to the logits before an argmax, and logits quantized by a DAC.

An analog head picks :math:`\arg\max_i(\ell_i + s\,\varepsilon_i)`. With Gumbel noise that is exactly
:math:`\mathrm{softmax}(\ell/s)`; with Gaussian (thermal) noise it is a different law, the multinomial probit,
computed here exactly for small vocabularies by a one-dimensional quadrature (:func:`gaussian_argmax_law`),
with the noise level that best imitates a temperature (:func:`best_gaussian_sigma`). :func:`dac_head_error`
measures what a :math:`b`-bit DAC on the logits does to the law, next to the bounds of
:func:`thermoref.backend.log_ratio_bound` and :func:`thermoref.backend.kl_bound`.

References: Gumbel, E. J. (1954) "Statistical theory of extreme values and some practical applications", NBS
Applied Mathematics Series 33; Thurstone, L. L. (1927) "A law of comparative judgment", Psychological Review
34, 273-286; Trefethen, L. N. & Weideman, J. A. C. (2014) "The exponentially convergent trapezoidal rule",
SIAM Review 56, 385-458.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar
from scipy.special import log_ndtr

from .._validation import as_logits, as_rng, check_allocation, check_beta, check_positive_int, check_real
from ..gibbs import log_softmax, logsumexp

__all__ = ["gaussian_argmax_law", "noisy_argmax", "best_gaussian_sigma", "DacHeadError", "dac_head_error"]

#: Quadrature nodes of :func:`gaussian_argmax_law`: the trapezoid rule with step 1/4 on [-40, 40].
_Z = np.arange(-160, 161) * 0.25
_LOG_PHI = -0.5 * _Z**2 - 0.5 * np.log(2 * np.pi)  # log of the standard normal density at the nodes


def _log_probit(x: np.ndarray, sigma: float) -> np.ndarray:
    """The log of the Gaussian-argmax law of validated logits ``x`` (..., V) at noise ``sigma`` in [0, inf]."""
    masked = np.isneginf(x)
    if sigma == np.inf:
        return np.where(masked, -np.inf, -np.log(np.sum(~masked, axis=-1, keepdims=True)))
    V = x.shape[-1]
    check_allocation(x.shape + (V, _Z.size), "logits")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = (x[..., :, None] - x[..., None, :]) / sigma  # (..., V, V): a_ij = (l_i - l_j) / sigma
    a = np.where(np.isnan(a), 0.0, a)  # a tie (0/0 at sigma = 0) or a masked row i (removed below)
    eye = np.eye(V, dtype=bool)[..., None]
    with np.errstate(invalid="ignore"):
        terms = np.where(eye, 0.0, log_ndtr(a[..., None] + _Z))  # (..., V, V, nodes): log Phi(a_ij + z)
    log_f = _LOG_PHI + terms.sum(axis=-2)  # (..., V, nodes)
    log_p = logsumexp(log_f, axis=-1) + np.log(0.25)  # (..., V): trapezoid rule, in log space
    return np.where(masked, -np.inf, log_p)


def _probit(x: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(_log_probit(x, sigma))


def gaussian_argmax_law(logits: ArrayLike, sigma: float) -> np.ndarray:
    r"""Law of :math:`\arg\max_i(\ell_i + \sigma\xi_i)`, :math:`\xi_i` i.i.d. standard normal, by quadrature.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell`; ``-inf`` masks a token.
    sigma : float
        Noise standard deviation :math:`\sigma \in [0, \infty]` (0: uniform over the maximal logits;
        ``inf``: uniform over the unmasked tokens).

    Returns
    -------
    ndarray of shape (..., V)
        :math:`P(i)`; rows sum to 1 within about :math:`10^{-14}`.

    Notes
    -----
    Conditioning on :math:`\xi_i = z`, token :math:`i` wins when every other :math:`\ell_j + \sigma\xi_j` is
    below :math:`\ell_i + \sigma z`:

    .. math:: P(i) = \int_{-\infty}^{\infty} \varphi(z) \prod_{j \ne i}
              \Phi\!\left(\frac{\ell_i - \ell_j}{\sigma} + z\right) dz .

    For :math:`V = 2`, :math:`P(1) = \Phi\big((\ell_1 - \ell_0)/(\sigma\sqrt2)\big)`. The integrand is smooth
    on the scale 1 whatever :math:`\sigma` and decays like :math:`\varphi`, so the trapezoid rule with step
    :math:`h = 1/4` on :math:`[-40, 40]` converges geometrically (error about :math:`e^{-2\pi^2/h^2}`, below
    rounding), products taken as sums of ``scipy.special.log_ndtr`` and the sum over nodes in log space. A
    probability below about :math:`e^{-800}` (a loser :math:`\gtrsim 40\sigma` behind) loses its relative
    accuracy, as the integrand's peak leaves the grid. This law is not a softmax for :math:`V > 2` at any
    :math:`\sigma`: Gaussian noise violates Luce's choice axiom, which Gumbel noise obeys.
    Cost :math:`O(V^2)` per row times 321 nodes: for small vocabularies.

    References
    ----------
    Thurstone, L. L. (1927) "A law of comparative judgment", Psychological Review 34, 273-286; Trefethen, L. N.
    & Weideman, J. A. C. (2014) "The exponentially convergent trapezoidal rule", SIAM Review 56, 385-458.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import norm
    >>> print(np.round(gaussian_argmax_law([0.0, 1.0], 1.0), 9), round(norm.cdf(1 / np.sqrt(2)), 9))
    [0.23975006 0.76024994] 0.760249939
    """
    x = as_logits(logits)
    s = check_real(sigma, "sigma", nonnegative=True, allow_inf=True)
    return _probit(x, s)


def noisy_argmax(
    logits: ArrayLike,
    scale: float,
    size: int | None = None,
    *,
    noise: str = "gumbel",
    rng: np.random.Generator | int,
) -> np.ndarray:
    r"""Draw :math:`\arg\max_i(\ell_i + s\,\varepsilon_i)` with Gumbel or Gaussian noise :math:`\varepsilon`.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell`; ``-inf`` masks a token.
    scale : float
        Noise scale :math:`s > 0` (finite): the temperature :math:`kT` for Gumbel noise, :math:`\sigma` for
        Gaussian noise.
    size : int, optional
        Draws per row; ``None`` for one draw without a trailing axis.
    noise : {"gumbel", "gaussian"}
        Standard Gumbel (``rng.gumbel``) or standard normal (``rng.standard_normal``) variates.
    rng : numpy.random.Generator or int
        Source of randomness.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] (size None) or logits.shape[:-1] + (size,)
        Token ids.

    Notes
    -----
    The draw is :math:`\arg\max_i(\ell_i/s + \varepsilon_i)` (the same event). Gumbel noise gives exactly
    :math:`\mathrm{softmax}(\ell/s)` (the Gumbel-max trick); Gaussian noise gives
    :func:`gaussian_argmax_law` with :math:`\sigma = s`. One noise variate per token and draw:
    :math:`O(V)` work per draw, unlike :func:`thermoref.sampling.sample_categorical`.

    References
    ----------
    Gumbel, E. J. (1954) "Statistical theory of extreme values and some practical applications", NBS Applied
    Mathematics Series 33; Thurstone, L. L. (1927) "A law of comparative judgment", Psychological Review 34,
    273-286.

    Examples
    --------
    >>> import numpy as np
    >>> x = noisy_argmax([0.0, 1.0, -np.inf], 1.0, 8, noise="gaussian", rng=0)
    >>> x.shape, bool((x != 2).all())
    ((8,), True)
    """
    x = as_logits(logits)
    s = check_real(scale, "scale", positive=True)
    if not isinstance(noise, str):
        raise TypeError(f"noise: expected a string, got {type(noise).__name__}")
    if noise not in ("gumbel", "gaussian"):
        raise ValueError(f"noise: expected 'gumbel' or 'gaussian', got {noise!r}")
    K = 1 if size is None else check_positive_int(size, "size")
    rng = as_rng(rng)
    batch, V = x.shape[:-1], x.shape[-1]
    check_allocation(batch + (K, V), "size")
    eps = rng.gumbel(size=batch + (K, V)) if noise == "gumbel" else rng.standard_normal(batch + (K, V))
    with np.errstate(over="ignore"):
        y = x[..., None, :] / s + eps  # (..., K, V); masked tokens stay -inf
    idx = np.argmax(y, axis=-1)  # (..., K)
    return idx[..., 0] if size is None else idx


def _divergence(log_p: np.ndarray, log_q: np.ndarray, criterion: str) -> float:
    p = np.exp(log_p)
    if criterion == "tv":
        return float(np.mean(0.5 * np.abs(p - np.exp(log_q)).sum(axis=-1)))
    return float(np.mean(np.sum(p * (log_p - log_q), axis=-1)))


def best_gaussian_sigma(logits: ArrayLike, beta: float = 1.0, *, criterion: str = "kl") -> tuple[float, float]:
    r"""The Gaussian noise level whose argmax law is closest to :math:`\mathrm{softmax}(\beta\ell)`.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Logits :math:`\ell` (finite, small :math:`V`); the divergence is averaged over rows.
    beta : float
        Target inverse temperature, finite and >= 0.
    criterion : {"kl", "tv"}
        :math:`\mathrm{KL}(p\,\|\,q_\sigma)` (nats) or the total variation :math:`\frac12\sum|p - q_\sigma|`.

    Returns
    -------
    sigma : float
        The minimizer :math:`\sigma^*` (``inf`` for :math:`\beta = 0`).
    divergence : float
        The divergence at :math:`\sigma^*` (mean over rows).

    Notes
    -----
    :math:`q_\sigma` = :func:`gaussian_argmax_law` depends on :math:`\ell/\sigma`, so
    :math:`c = \beta\sigma` is searched (bounded Brent on :math:`\ln c \in [\ln 0.05, \ln 20]`). For
    :math:`V = 2` matching the slopes of :math:`\Phi(d/(\sigma\sqrt2))` and the logistic
    :math:`1/(1+e^{-\beta d})` at :math:`d = 0` gives :math:`\beta\sigma = 2/\sqrt\pi \approx 1.128` (the
    probit-logit factor :math:`\sqrt{\pi/8}`); the best fit over a range of gaps is measured, not assumed.

    References
    ----------
    Amemiya, T. (1981) "Qualitative response models: a survey", Journal of Economic Literature 19, 1483-1536
    (the probit-logit scale factor).

    Examples
    --------
    >>> sigma, kl = best_gaussian_sigma([[0.0, 0.01]], beta=1.0)  # a small gap: the slope match 2/sqrt(pi)
    >>> print(round(sigma, 3), kl < 1e-9)
    1.128 True
    """
    x = as_logits(logits)
    if not np.isfinite(x).all():
        raise ValueError("logits: must be finite (the fit compares every token's probability)")
    if x.size == 0:
        raise ValueError(f"logits: no rows to fit (shape {x.shape})")
    b = check_beta(beta, scalar=True)
    if not isinstance(criterion, str):
        raise TypeError(f"criterion: expected a string, got {type(criterion).__name__}")
    if criterion not in ("kl", "tv"):
        raise ValueError(f"criterion: expected 'kl' or 'tv', got {criterion!r}")
    if b == 0:
        return np.inf, 0.0
    with np.errstate(over="ignore"):
        bx = b * (x - x.max(axis=-1, keepdims=True))
    if not np.isfinite(bx).all():
        raise ValueError("beta: beta * logits overflows float64")
    log_p = log_softmax(bx, axis=-1)
    res = minimize_scalar(lambda u: _divergence(log_p, _log_probit(bx, float(np.exp(u))), criterion),
                          bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-7})
    return float(np.exp(res.x)) / b, float(res.fun)


@dataclass(frozen=True)
class DacHeadError:
    r"""Measured error of a DAC-quantized next-token law, next to its bounds (one entry per row).

    Attributes
    ----------
    step : float
        The DAC step :math:`\Delta` (:func:`thermoref.backend.dac_step`).
    max_log_ratio : ndarray of shape (...)
        :math:`\max_i|\ln p_q(i) - \ln p(i)|` over unmasked tokens.
    kl : ndarray of shape (...)
        :math:`\mathrm{KL}(p\,\|\,p_q)` in nats.
    log_ratio_bound : ndarray of shape (...)
        :func:`thermoref.backend.log_ratio_bound` of the actual perturbation :math:`\ell_q - \ell`.
    kl_bound : ndarray of shape (...)
        :func:`thermoref.backend.kl_bound` of the same perturbation.

    Notes
    -----
    Inside the DAC's range :math:`\mathrm{bound} \le \beta\Delta` and :math:`\mathrm{KL} \le \beta^2\Delta^2/8`.

    References
    ----------
    Hoeffding, W. (1963) "Probability inequalities for sums of bounded random variables", J. Amer. Statist.
    Assoc. 58, 13-30.

    Examples
    --------
    >>> e = dac_head_error([[0.3, -1.2, 2.0]], bits=4, full_scale=3.0)
    >>> bool((e.kl <= e.kl_bound).all() and (e.max_log_ratio <= e.log_ratio_bound).all())
    True
    """

    step: float
    max_log_ratio: np.ndarray
    kl: np.ndarray
    log_ratio_bound: np.ndarray
    kl_bound: np.ndarray


def dac_head_error(logits: ArrayLike, bits: int, full_scale: float, *, beta: float = 1.0) -> DacHeadError:
    r"""Quantize logits with a ``bits``-bit DAC over :math:`[-F, F]` and measure the law's error against its bounds.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Next-token logits; ``-inf`` masks a token (kept masked by the DAC).
    bits : int
        DAC resolution, 2 to 32.
    full_scale : float
        Full-scale value :math:`F > 0`.
    beta : float
        Inverse temperature of the head, finite and >= 0.

    Returns
    -------
    DacHeadError
        Step, measured :math:`\max|\ln p_q - \ln p|` and KL per row, and their bounds.

    Notes
    -----
    :math:`\ell_q` = :func:`thermoref.backend.dac_quantize` :math:`(\ell)`, :math:`p = \mathrm{softmax}(\beta\ell)`,
    :math:`p_q = \mathrm{softmax}(\beta\ell_q)`, :math:`\delta = \ell_q - \ell` over the unmasked tokens; the
    bounds are :math:`\beta(\max\delta - \min\delta)` and :math:`\beta^2(\max\delta-\min\delta)^2/8`.

    References
    ----------
    Widrow, B. & Kollár, I. (2008) *Quantization Noise*, Cambridge University Press.

    Examples
    --------
    >>> e = dac_head_error([0.3, -1.2, 2.0], bits=6, full_scale=3.0)
    >>> print(round(e.step, 6), bool(e.kl <= e.kl_bound))
    0.096774 True
    """
    from ..backend import dac_quantize, dac_step, kl_bound, log_ratio_bound

    x = as_logits(logits)
    b = check_beta(beta, scalar=True)
    step = dac_step(bits, full_scale)
    masked = np.isneginf(x)
    x0 = np.where(masked, 0.0, x)  # finite placeholders: the DAC sees levels only, a mask is a switch
    xq0 = dac_quantize(x0, bits, full_scale)
    xq = np.where(masked, -np.inf, xq0)
    delta = np.where(masked, 0.0, xq0 - x0)
    ref = np.take_along_axis(delta, np.argmax(x, axis=-1)[..., None], axis=-1)  # an unmasked token's delta
    delta = np.where(masked, ref, delta)  # masked tokens leave the range max - min unchanged
    with np.errstate(over="ignore", invalid="ignore"):
        lp = log_softmax(np.where(masked, -np.inf, b * (x - x.max(axis=-1, keepdims=True))), axis=-1)
        lq = log_softmax(np.where(masked, -np.inf, b * (xq - xq.max(axis=-1, keepdims=True))), axis=-1)
        d = np.where(masked, 0.0, lq - lp)
    kl = np.sum(np.where(masked, 0.0, np.exp(lp) * -d), axis=-1)
    return DacHeadError(step=step, max_log_ratio=np.max(np.abs(d), axis=-1), kl=np.maximum(kl, 0.0),
                        log_ratio_bound=log_ratio_bound(delta, b), kl_bound=kl_bound(delta, b))
