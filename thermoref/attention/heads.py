r"""Thermodynamics of an attention head, and which statistic predicts how many samples the head needs.

A query row's Gibbs law :math:`p_\beta = \mathrm{softmax}(\beta\ell)` (energy :math:`E = -\ell`,
:math:`kT = 1/\beta`) has a heat capacity ("specific heat")

.. math:: C_v = \frac{\partial U}{\partial (kT)} = \beta^2\,\mathrm{Var}_{p_\beta}(\ell),

which is **not** monotone in sharpness: it vanishes for uniform attention (:math:`\beta\to0`) and for
one-hot attention (:math:`\beta\to\infty`) and peaks in between (a Schottky anomaly). Uniform attention has
:math:`C_v = 0` yet the largest sampling error. What sets the error of sampled attention is the thermal
variance of the *values*, :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)`; the samples needed for a target RMSE
:math:`\varepsilon` are :math:`K^* = \mathrm{tr}\,\mathrm{Cov}_p(v)/\varepsilon^2`. For values without
structure (i.i.d. entries of unit variance) :math:`\mathbb E\,\mathrm{tr}\,\mathrm{Cov}_p(v) = d_v(1-\sum_j
p_j^2)`, so the collision complement :math:`1-\sum_j p_j^2` is the natural value-free predictor; entropy
and :math:`1-p_{\max}` are monotone proxies of it, and :math:`C_v` is not.

References: Schottky, Phys. Z. 23, 448 (1922); Landau & Lifshitz, *Statistical Physics* §§31, 112; Robert &
Casella, *Monte Carlo Statistical Methods* (2004), §3.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_float_array, check_real, check_temperature
from ..gibbs import entropy, heat_capacity
from .exact import attention_weights
from .sampled import sampling_mse

__all__ = ["HeadStatistics", "attention_specific_heat", "head_statistics", "samples_needed"]


@dataclass(frozen=True)
class HeadStatistics:
    r"""Per-row statistics of an attention head's Gibbs laws (:func:`head_statistics`); zero on inert rows.

    Attributes
    ----------
    entropy : ndarray of shape (...)
        Shannon entropy :math:`H(p) = -\sum_j p_j\ln p_j` in nats.
    one_minus_pmax : ndarray of shape (...)
        :math:`1 - \max_j p_j`.
    collision : ndarray of shape (...)
        :math:`1 - \sum_j p_j^2` (probability that two independent draws differ).
    specific_heat : ndarray of shape (...)
        :math:`C_v = \mathrm{Var}_p(\ell)` at :math:`kT = 1`.

    Notes
    -----
    For values without structure :math:`\mathbb E\,\mathrm{tr}\,\mathrm{Cov}_p(v) = d_v(1 - \sum_j p_j^2)`:
    the collision complement predicts the samples a head needs; :math:`C_v` does not.

    References
    ----------
    Schottky, W. (1922) "Über das Verhalten von Mehrfach-Zuständen", Phys. Z. 23, 448.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import head_statistics
    >>> s = head_statistics([[0.0, 0.0], [-np.inf, -np.inf]])  # a uniform row and an inert one
    >>> print(s.entropy.round(4), s.collision, s.one_minus_pmax, s.specific_heat)
    [0.6931 0.    ] [0.5 0. ] [0.5 0. ] [0. 0.]
    """

    entropy: np.ndarray
    one_minus_pmax: np.ndarray
    collision: np.ndarray
    specific_heat: np.ndarray


def _rows(logits: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated logits (..., S) (``-inf`` = masked key) and the (...) marker of fully masked (inert) rows."""
    ell = as_float_array(logits, "logits", min_ndim=1, allow_neg_inf=True)
    if ell.shape[-1] == 0:
        raise ValueError("logits: no keys (last axis is empty)")
    return ell, np.isneginf(ell).all(axis=-1)


def attention_specific_heat(logits: ArrayLike, kT: ArrayLike = 1.0) -> np.ndarray:
    r"""Heat capacity of each row's Gibbs law, :math:`C_v = \mathrm{Var}_{p}(\ell)/kT^2`, masked keys excluded.

    Parameters
    ----------
    logits : array_like of shape (..., S)
        Logits :math:`\ell = -E`; ``-inf`` masks a key. A fully masked row is inert: :math:`C_v = 0`.
    kT : float or array_like broadcastable to (...)
        Temperature :math:`kT \ge 0`; the law is :math:`p\propto e^{\ell/kT}`. ``0`` and ``inf`` give the
        limits :math:`C_v = 0`.

    Returns
    -------
    ndarray of shape (...)
        :math:`C_v` of every row (the rows' shape broadcast with ``kT``'s); zero on fully masked rows.

    Notes
    -----
    This is :func:`thermoref.gibbs.heat_capacity` with :math:`E = -\ell`, a masked key entering as a level of
    degeneracy 0:

    .. math:: C_v = \frac{\partial U}{\partial(kT)} = \frac{\mathrm{Var}_p(E)}{kT^2}, \qquad
              p_j = \frac{e^{\ell_j/kT}}{\sum_k e^{\ell_k/kT}}.

    It is not monotone in the sharpness of the row: zero for uniform and for one-hot attention, with a
    Schottky peak in between. A key of weight exactly 0 in float64 (a finite sentinel such as
    :math:`-3.4\times10^{38}`) contributes exactly nothing and is left out before the variance is formed, and
    :math:`C_v` is computed from :math:`(E/s, kT/s)` with :math:`s` a power of two near :math:`kT` when
    :math:`kT > 1` (an exact rescaling; :math:`C_v` is dimensionless), so no square overflows.

    References
    ----------
    Schottky, W. (1922) "Über das Verhalten von Mehrfach-Zuständen", Phys. Z. 23, 448; Landau, L. D. &
    Lifshitz, E. M. (1980) *Statistical Physics*, Part 1, §31.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import attention_specific_heat
    >>> print(f"{attention_specific_heat([0.0, -1.0], kT=0.4168):.4f}")  # two levels: the Schottky peak
    0.4392
    >>> print(attention_specific_heat([[0.0, -1.0, -3.4e38], [-np.inf, -np.inf, -np.inf]]).round(4))
    [0.1966 0.    ]
    """
    ell, dead = _rows(logits)
    tau = check_temperature(kT, "kT")
    try:
        shape = np.broadcast_shapes(tau.shape, ell.shape[:-1])
    except ValueError:
        raise ValueError(f"kT: shape {tau.shape} does not broadcast to the rows' shape {ell.shape[:-1]}") from None
    tau = np.broadcast_to(tau, shape)  # (...)
    ell = np.broadcast_to(ell, shape + ell.shape[-1:])  # (..., S)
    dead = np.broadcast_to(dead, shape)
    finite = np.isfinite(tau) & (tau > 0)  # kT = 0 and kT = inf: C_v = 0, the levels do not matter
    k = np.where(finite & (tau > 1), -np.frexp(tau)[1], 0)  # (...): kT / 2^-k in [1/2, 1)
    tau_s = np.ldexp(tau, k)  # (...)
    ell_s = np.ldexp(ell, k[..., None])  # (..., S), exact for every key that matters
    top = np.max(ell_s, axis=-1, keepdims=True)  # (..., 1)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        weight = np.exp((ell_s - top) / np.where(finite, tau_s, 1.0)[..., None])  # (..., S); NaN on inert rows
    level = np.where(finite[..., None], weight > 0, ell > -np.inf) | dead[..., None]  # placeholder on inert rows
    E = np.where(level & (finite & ~dead)[..., None], -ell_s, 0.0)  # (..., S)
    C = heat_capacity(E, tau_s[..., None], degeneracy=level.astype(np.float64))
    return np.where(dead, 0.0, C)


def head_statistics(logits: ArrayLike) -> HeadStatistics:
    r"""Entropy, :math:`1-p_{\max}`, collision complement and specific heat of each row (kT = 1).

    Parameters
    ----------
    logits : array_like of shape (..., S)
        Row logits; ``-inf`` masks a key.

    Returns
    -------
    HeadStatistics
        Four arrays of shape (...); every statistic is zero on a fully masked (inert) row.

    Notes
    -----
    With :math:`p = \mathrm{softmax}(\ell)`:

    .. math:: H = -\sum_j p_j\ln p_j, \qquad 1 - \max_j p_j, \qquad 1 - \sum_j p_j^2, \qquad
              C_v = \mathrm{Var}_p(\ell)

    (:func:`thermoref.gibbs.entropy`, :func:`attention_specific_heat`). For values without structure,
    :math:`\mathbb E\,\mathrm{tr}\,\mathrm{Cov}_p(v) = d_v(1 - \sum_j p_j^2)`: the collision complement is the
    value-free predictor of the samples a head needs; entropy and :math:`1-p_{\max}` are monotone proxies of
    it, and :math:`C_v` is not.

    References
    ----------
    Schottky, W. (1922) Phys. Z. 23, 448; Shannon, C. E. (1948) "A mathematical theory of communication",
    Bell Syst. Tech. J. 27, 379.

    Examples
    --------
    >>> from thermoref.attention import head_statistics
    >>> s = head_statistics([[0.0, 0.0, 0.0, 0.0]])
    >>> print(f"{s.entropy[0]:.4f} {s.collision[0]:.2f} {s.specific_heat[0]:.1f}")
    1.3863 0.75 0.0
    """
    ell, dead = _rows(logits)
    p = attention_weights(np.where(dead[..., None], 0.0, ell)[..., None, :])[..., 0, :]  # (..., S)
    live = ~dead
    return HeadStatistics(
        entropy=np.where(live, entropy(p), 0.0),
        one_minus_pmax=np.where(live, 1.0 - p.max(axis=-1), 0.0),
        collision=np.where(live, 1.0 - np.sum(p**2, axis=-1), 0.0),
        specific_heat=attention_specific_heat(ell),
    )


def samples_needed(logits: ArrayLike, value: ArrayLike, rmse: float) -> np.ndarray:
    r"""Samples per query that sampled attention needs for a target root-mean-square error.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        Attention logits, ``-inf`` = masked key.
    value : array_like of shape (..., S, d_v)
        Values, one row per key.
    rmse : float
        Target :math:`\varepsilon > 0` for :math:`\sqrt{\mathbb E\|\hat pV - pV\|^2}`.

    Returns
    -------
    ndarray of shape (..., T)
        :math:`K^*` (real-valued; round up to use it). Zero on fully masked (inert) rows and on rows whose
        value variance is zero; ``+inf`` where :math:`K^*` exceeds the float64 range (:math:`\varepsilon
        \to 0` needs infinitely many samples).

    Notes
    -----
    :math:`K` independent draws have mean squared error :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)/K`
    (:func:`thermoref.attention.sampling_mse`), so the error reaches :math:`\varepsilon` at

    .. math:: K^* = \frac{\mathrm{tr}\,\mathrm{Cov}_p(v)}{\varepsilon^2}, \qquad
              \mathrm{tr}\,\mathrm{Cov}_p(v) = \sum_j p_j\|v_j - pV\|^2.

    References
    ----------
    Robert, C. P. & Casella, G. (2004) *Monte Carlo Statistical Methods*, 2nd ed. (Springer), §3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import samples_needed
    >>> V = np.array([[1.0], [-1.0]])  # tr Cov = 1 under the uniform law
    >>> print(samples_needed(np.zeros((1, 2)), V, 0.1))
    [100.]
    """
    eps = check_real(rmse, "rmse", positive=True)
    tr_cov = sampling_mse(logits, value, 1)  # (..., T)
    with np.errstate(over="ignore"):
        return tr_cov / eps / eps  # +inf once K* leaves the float64 range
