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

from .._validation import as_float_array, check_real, check_temperature
from ..gibbs import entropy, heat_capacity
from .exact import attention_weights
from .sampled import sampling_mse

__all__ = ["HeadStatistics", "attention_specific_heat", "head_statistics", "samples_needed"]


@dataclass(frozen=True)
class HeadStatistics:
    """Per-row statistics of an attention head's Gibbs laws, each of shape (...); zero on inert rows.

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
        Logits :math:`\ell = -E`; ``-inf`` masks a key.
    kT : float or array_like broadcastable to (...)
        Temperature; the law is :math:`p\propto e^{\ell/kT}`. ``0`` and ``inf`` give :math:`C_v = 0`.

    Returns
    -------
    ndarray of shape (...)
        Zero on fully masked (inert) rows.

    Notes
    -----
    This is :func:`thermoref.gibbs.heat_capacity` with :math:`E = -\ell`, a masked key entering as a level of
    degeneracy 0: :math:`C_v = \partial U/\partial(kT) = \beta^2\,\mathrm{Var}_p(E)`. It is not monotone in
    the sharpness of the row (zero for uniform and for one-hot attention).

    References
    ----------
    Schottky, W. (1922) Phys. Z. 23, 448; Landau & Lifshitz, *Statistical Physics* §31.

    Examples
    --------
    >>> import numpy as np
    >>> print(f"{attention_specific_heat([0.0, -1.0], kT=0.4168):.4f}")
    0.4392
    """
    ell, dead = _rows(logits)
    tau = check_temperature(kT, "kT")
    try:
        tau = np.broadcast_to(tau, np.broadcast_shapes(tau.shape, ell.shape[:-1]))
    except ValueError:
        raise ValueError(f"kT: shape {tau.shape} does not broadcast to the rows' shape {ell.shape[:-1]}") from None
    allowed = (ell > -np.inf) | dead[..., None]  # an inert row gets a placeholder law, zeroed below
    E = np.where(ell > -np.inf, -ell, 0.0)
    C = heat_capacity(E, tau[..., None], degeneracy=allowed.astype(np.float64))
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
        Every statistic is zero on a fully masked (inert) row.

    Notes
    -----
    With :math:`p = \mathrm{softmax}(\ell)`: :math:`H = -\sum_j p_j\ln p_j` (:func:`thermoref.gibbs.entropy`),
    :math:`1 - \max_j p_j`, :math:`1 - \sum_j p_j^2` and :math:`C_v = \mathrm{Var}_p(\ell)`
    (:func:`attention_specific_heat`). For values without structure,
    :math:`\mathbb E\,\mathrm{tr}\,\mathrm{Cov}_p(v) = d_v(1 - \sum_j p_j^2)`: the collision complement is the
    value-free predictor of the samples a head needs.

    Examples
    --------
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
        :math:`K^* = \mathrm{tr}\,\mathrm{Cov}_p(v)/\varepsilon^2` (real-valued; round up to use it).
    """
    eps = check_real(rmse, "rmse", positive=True)
    return sampling_mse(logits, value, 1) / eps**2
