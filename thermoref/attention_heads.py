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

References: Schottky, Phys. Z. 23, 448 (1922); Landau & Lifshitz, *Statistical Physics* §§31, 112.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, as_logits, check_temperature
from .attention import attention_weights, sampling_mse

__all__ = ["HeadStatistics", "attention_specific_heat", "head_statistics", "samples_needed"]


@dataclass(frozen=True)
class HeadStatistics:
    """Per-row statistics of an attention head's Gibbs laws, each of shape (..., T).

    Attributes
    ----------
    entropy : ndarray
        Shannon entropy :math:`H(p)` in nats.
    one_minus_pmax : ndarray
        :math:`1 - \\max_j p_j`.
    collision : ndarray
        :math:`1 - \\sum_j p_j^2` (probability that two independent draws differ).
    specific_heat : ndarray
        :math:`C_v = \\mathrm{Var}_p(\\ell)` at :math:`kT = 1`.
    """

    entropy: np.ndarray
    one_minus_pmax: np.ndarray
    collision: np.ndarray
    specific_heat: np.ndarray


def attention_specific_heat(logits: ArrayLike, kT: ArrayLike = 1.0) -> np.ndarray:
    r"""Heat capacity of each row's Gibbs law, :math:`C_v = \mathrm{Var}_{p}(\ell)/kT^2`, masked keys excluded.

    Parameters
    ----------
    logits : array_like of shape (..., S)
        Logits :math:`\ell = -E`; ``-inf`` masks a key.
    kT : float or array_like broadcastable to (...)
        Temperature; the law is :math:`p\propto e^{\ell/kT}`. ``0`` and ``inf`` give :math:`C_v = 0`.

    Returns
    -------
    ndarray of shape (...)

    Notes
    -----
    Identical to :func:`thermoref.gibbs.heat_capacity` with :math:`E = -\ell` (which accepts no masked
    levels); the tests check both that and :math:`C_v = dU/d(kT)` by finite differences.

    Examples
    --------
    >>> import numpy as np
    >>> print(f"{attention_specific_heat([0.0, -1.0], kT=0.4168):.4f}")
    0.4392
    """
    ell = as_logits(logits)
    tau = check_temperature(kT, "kT")
    try:
        tau = np.broadcast_to(tau, np.broadcast_shapes(tau.shape, ell.shape[:-1]))
    except ValueError:
        raise ValueError(f"kT: shape {tau.shape} does not broadcast to the rows' shape {ell.shape[:-1]}") from None
    ok = np.isfinite(tau) & (tau > 0)
    t = np.where(ok, tau, 1.0)[..., None]  # (..., 1)
    allowed = ell > -np.inf
    x = np.where(allowed, ell, 0.0)
    top = np.max(np.where(allowed, x, -np.inf), axis=-1, keepdims=True)
    w = np.where(allowed, np.exp((x - top) / t), 0.0)  # (..., S)
    p = w / w.sum(axis=-1, keepdims=True)
    mean = np.sum(p * x, axis=-1, keepdims=True)
    var = np.sum(p * (x - mean) ** 2, axis=-1)
    return np.where(ok, var / t[..., 0] ** 2, 0.0)


def head_statistics(logits: ArrayLike) -> HeadStatistics:
    r"""Entropy, :math:`1-p_{\max}`, collision complement and specific heat of each row (kT = 1).

    Parameters
    ----------
    logits : array_like of shape (..., S)

    Returns
    -------
    HeadStatistics

    Examples
    --------
    >>> s = head_statistics([[0.0, 0.0, 0.0, 0.0]])
    >>> print(f"{s.entropy[0]:.4f} {s.collision[0]:.2f} {s.specific_heat[0]:.1f}")
    1.3863 0.75 0.0
    """
    ell = as_logits(logits)
    p = attention_weights(ell[..., None, :])[..., 0, :]  # (..., S)
    with np.errstate(divide="ignore"):
        logp = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    return HeadStatistics(
        entropy=-np.sum(p * logp, axis=-1),
        one_minus_pmax=1.0 - p.max(axis=-1),
        collision=1.0 - np.sum(p**2, axis=-1),
        specific_heat=attention_specific_heat(ell),
    )


def samples_needed(logits: ArrayLike, V: ArrayLike, rmse: float) -> np.ndarray:
    r"""Samples per query that sampled attention needs for a target root-mean-square error.

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
    V : array_like of shape (..., S, d_v)
    rmse : float
        Target :math:`\varepsilon > 0` for :math:`\sqrt{\mathbb E\|\hat pV - pV\|^2}`.

    Returns
    -------
    ndarray of shape (..., T)
        :math:`K^* = \mathrm{tr}\,\mathrm{Cov}_p(v)/\varepsilon^2` (real-valued; round up to use it).
    """
    eps = float(as_float_array(rmse, "rmse"))
    if not eps > 0:
        raise ValueError(f"rmse: must be positive, got {eps!r}")
    return sampling_mse(logits, V, 1) / eps**2
