r"""Attention from independent sigmoid bits (a "p-bit attention layer") is not softmax attention.

A p-bit fires with probability :math:`\sigma(x) = 1/(1+e^{-x})`. A layer that gives every key its own
independent p-bit driven by the logit :math:`\ell_j - b` and normalises the firing counts, has the
large-sample weights

.. math:: q_j = \frac{\sigma(\ell_j - b)}{\sum_k \sigma(\ell_k - b)} \ne \frac{e^{\ell_j}}{\sum_k e^{\ell_k}},

because :math:`\sigma` saturates: two keys with logits 5 and 10 both fire almost always and get nearly
equal weight, where softmax gives a ratio :math:`e^5`. The two agree only in the rare-firing limit
:math:`b\to\infty`, where :math:`\sigma(\ell - b)\approx e^{\ell-b}` — and then almost no bit fires, so the
counts need ever more samples. The gradient is wrong too: the Jacobian is softmax's with column :math:`k`
scaled by :math:`1-\sigma_k`.

References: Camsari et al., "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014 (2017);
Bridle (1990) for softmax as the normalised exponential.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scipy.special import expit

from .._validation import as_float_array, as_logits, as_rng, check_positive_int, check_real
from ..gibbs import softmax

__all__ = ["sigmoid_attention_weights", "pbit_attention_weights", "sigmoid_attention_jacobian", "softmax_jacobian"]


def _prepare(logits: ArrayLike, bias: float) -> tuple[np.ndarray, np.ndarray]:
    ell = as_logits(logits)
    b = check_real(bias, "bias")
    return ell, expit(ell - b)


def sigmoid_attention_weights(logits: ArrayLike, *, bias: float = 0.0) -> np.ndarray:
    r"""Large-sample weights of p-bit attention, :math:`q = \sigma(\ell-b)/\sum_k\sigma(\ell_k-b)`.

    Parameters
    ----------
    logits : array_like of shape (..., S)
        ``-inf`` masks a key (its bit never fires). No row may be fully masked.
    bias : float
        Threshold :math:`b` subtracted from every logit before the sigmoid.

    Returns
    -------
    ndarray of shape (..., S)

    Examples
    --------
    >>> import numpy as np
    >>> print(sigmoid_attention_weights([5.0, 10.0]).round(4))
    [0.4983 0.5017]
    """
    ell, s = _prepare(logits, bias)
    total = s.sum(axis=-1, keepdims=True)
    if (total == 0).any():
        raise ValueError("bias: so large that no bit of some row can fire (sigmoid underflows to 0)")
    return s / total


def pbit_attention_weights(
    logits: ArrayLike, n_samples: int, *, rng: np.random.Generator | int, bias: float = 0.0
) -> np.ndarray:
    r"""Weights of a p-bit attention layer after :math:`K` sweeps of independent sigmoid bits.

    Parameters
    ----------
    logits : array_like of shape (..., S)
    n_samples : int
        Sweeps :math:`K`; every key's bit fires independently with probability :math:`\sigma(\ell_j-b)`.
    rng : numpy.random.Generator or int
    bias : float

    Returns
    -------
    ndarray of shape (..., S)
        Firing counts normalised per row; a row where no bit fired in any sweep is all zero (the layer has
        no output there), which happens with probability :math:`\prod_j(1-\sigma_j)^K`.
    """
    ell, s = _prepare(logits, bias)
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = as_rng(rng)
    counts = rng.binomial(n_samples, s)  # (..., S): sum of K independent bits per key
    total = counts.sum(axis=-1, keepdims=True)
    return np.where(total > 0, counts / np.maximum(total, 1), 0.0)


def sigmoid_attention_jacobian(logits: ArrayLike, *, bias: float = 0.0) -> np.ndarray:
    r"""Jacobian :math:`\partial q_j/\partial \ell_k` of the sigmoid-bit weights; shape (..., S, S).

    Notes
    -----
    :math:`\partial q_j/\partial\ell_k = (\delta_{jk} q_j - q_j q_k)(1 - \sigma_k)`: softmax's form
    (:func:`softmax_jacobian`) with column :math:`k` damped by :math:`1-\sigma(\ell_k - b)`, so a saturated
    key passes almost no gradient.
    """
    ell, s = _prepare(logits, bias)
    q = s / s.sum(axis=-1, keepdims=True)
    base = q[..., :, None] * (np.eye(ell.shape[-1]) - q[..., None, :])  # (..., S, S)
    return base * (1.0 - s)[..., None, :]


def softmax_jacobian(logits: ArrayLike) -> np.ndarray:
    r"""Jacobian :math:`\partial p_j/\partial\ell_k = p_j(\delta_{jk} - p_k)` of softmax; shape (..., S, S).

    Examples
    --------
    >>> print(softmax_jacobian([0.0, 0.0]))
    [[ 0.25 -0.25]
     [-0.25  0.25]]
    """
    ell = as_float_array(logits, "logits", min_ndim=1, allow_neg_inf=True)
    p = softmax(ell, axis=-1)
    return p[..., :, None] * (np.eye(ell.shape[-1]) - p[..., None, :])
