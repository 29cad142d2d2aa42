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

A fully masked row is inert (:mod:`thermoref.attention`): no bit can fire, its weights and Jacobians are zero.

References: Camsari et al., "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014 (2017);
Bridle (1990) for softmax as the normalised exponential.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, log_expit

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real
from ..gibbs import softmax

__all__ = ["sigmoid_attention_weights", "pbit_attention_weights", "sigmoid_attention_jacobian", "softmax_jacobian"]


def _rows(logits: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated logits (..., S) (``-inf`` = masked key) and the (...) marker of fully masked (inert) rows."""
    ell = as_float_array(logits, "logits", min_ndim=1, allow_neg_inf=True)
    if ell.shape[-1] == 0:
        raise ValueError("logits: no keys (last axis is empty)")
    return ell, np.isneginf(ell).all(axis=-1)


def _drive(ell: np.ndarray, bias: float) -> np.ndarray:
    """The bits' drive :math:`x = \\ell - b`; beyond the float64 range it saturates to :math:`\\pm\\infty`, where
    :math:`\\sigma(x)` is exactly 1 or 0 in float64 anyway."""
    with np.errstate(over="ignore"):
        return ell - bias  # (..., S)


def _row_softmax(log_w: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """Row softmax of log-weights (..., S); fully masked rows give zero rows."""
    safe = np.where(dead[..., None], 0.0, log_w)  # a placeholder law on inert rows, zeroed below
    return np.where(dead[..., None], 0.0, softmax(safe, axis=-1))


def _sigmoid_weights(ell: np.ndarray, dead: np.ndarray, bias: float) -> np.ndarray:
    """:math:`q = \\sigma(\\ell - b)/\\sum_k \\sigma(\\ell_k - b)` per row, as the softmax of :math:`\\ln\\sigma`."""
    log_s = log_expit(_drive(ell, bias))  # (..., S): ln sigma, -inf on masked keys
    # Every allowed drive below -1.8e308 (overflowed to -inf): the rare-firing limit, where ln sigma(x) = x up
    # to e^x = 0 in float64 and q is exactly softmax(l).
    deep = ~dead & ~(log_s > -np.inf).any(axis=-1)  # (...)
    return _row_softmax(np.where(deep[..., None], ell, log_s), dead)


def sigmoid_attention_weights(logits: ArrayLike, *, bias: float = 0.0) -> np.ndarray:
    r"""Large-sample weights of p-bit attention, :math:`q = \sigma(\ell-b)/\sum_k\sigma(\ell_k-b)`.

    Parameters
    ----------
    logits : array_like of shape (..., S)
        Logits :math:`\ell`; ``-inf`` masks a key (its bit never fires). A fully masked row is inert.
    bias : float
        Threshold :math:`b` subtracted from every logit before the sigmoid.

    Returns
    -------
    ndarray of shape (..., S)
        Each row sums to one; fully masked rows are all zero.

    Notes
    -----
    Key :math:`j`'s bit fires with probability :math:`\sigma(\ell_j - b)`, so over many sweeps the
    normalised firing counts converge to

    .. math:: q_j = \frac{\sigma(\ell_j - b)}{\sum_k \sigma(\ell_k - b)}, \qquad \sigma(x) = \frac{1}{1+e^{-x}},

    which is not softmax: :math:`\sigma` saturates, so strongly preferred keys share the weight. As
    :math:`b\to\infty` (rare firing) :math:`\sigma(\ell - b) \approx e^{\ell - b}` and :math:`q \to
    \mathrm{softmax}(\ell)`. Computed as the softmax of :math:`\ln\sigma(\ell - b)` (``scipy.special.log_expit``),
    so a bias so large that every :math:`\sigma` underflows still gives that limit.

    References
    ----------
    Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic",
    Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import sigmoid_attention_weights
    >>> print(sigmoid_attention_weights([[5.0, 10.0], [-np.inf, -np.inf]]).round(4))  # softmax: 0.0067, 0.9933
    [[0.4983 0.5017]
     [0.     0.    ]]
    >>> print(sigmoid_attention_weights([5.0, 10.0], bias=1e6).round(4))  # rare firing: softmax
    [0.0067 0.9933]
    """
    ell, dead = _rows(logits)
    b = check_real(bias, "bias")
    return _sigmoid_weights(ell, dead, b)


def pbit_attention_weights(
    logits: ArrayLike, n_samples: int, *, rng: np.random.Generator | int, bias: float = 0.0
) -> np.ndarray:
    r"""Weights of a p-bit attention layer after :math:`K` sweeps of independent sigmoid bits.

    Parameters
    ----------
    logits : array_like of shape (..., S)
        Logits :math:`\ell`; ``-inf`` masks a key (its bit never fires). A fully masked row is inert.
    n_samples : int
        Sweeps :math:`K \ge 1`; every key's bit fires independently with probability :math:`\sigma(\ell_j-b)`.
    rng : numpy.random.Generator or int
        Randomness (a Generator, or a seed for ``numpy.random.default_rng``).
    bias : float
        Threshold :math:`b` subtracted from every logit before the sigmoid.

    Returns
    -------
    ndarray of shape (..., S)
        Firing counts normalised per row. A row where no bit fired in any sweep is all zero (the layer has
        no output there), which happens with probability :math:`\prod_j(1-\sigma_j)^K`; always on a fully
        masked row.

    Notes
    -----
    The count of key :math:`j` is :math:`n_j \sim \mathrm{Binomial}(K, \sigma(\ell_j - b))` and the weight
    :math:`\hat q_j = n_j/\sum_k n_k`, which converges to :func:`sigmoid_attention_weights` (not to
    softmax) as :math:`K\to\infty`.

    References
    ----------
    Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic",
    Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import pbit_attention_weights
    >>> w = pbit_attention_weights([[5.0, 10.0, -np.inf], [-np.inf, -np.inf, -np.inf]], 1000, rng=0)
    >>> print(w.round(3))
    [[0.498 0.502 0.   ]
     [0.    0.    0.   ]]
    """
    ell, _ = _rows(logits)
    b = check_real(bias, "bias")
    n_samples = check_positive_int(n_samples, "n_samples")
    if n_samples > np.iinfo(np.int64).max:
        raise ValueError(f"n_samples: at most 2**63 - 1 sweeps (firing counts are int64), got {n_samples}")
    rng = as_rng(rng)
    counts = rng.binomial(n_samples, expit(_drive(ell, b)))  # (..., S): sum of K independent bits per key
    counts = counts.astype(np.float64)  # a sum over keys of int64 counts could wrap around
    total = counts.sum(axis=-1, keepdims=True)  # (..., 1)
    return np.where(total > 0, counts / np.where(total > 0, total, 1.0), 0.0)


def sigmoid_attention_jacobian(logits: ArrayLike, *, bias: float = 0.0) -> np.ndarray:
    r"""Jacobian :math:`\partial q_j/\partial \ell_k` of the sigmoid-bit weights.

    Parameters
    ----------
    logits : array_like of shape (..., S)
        Logits :math:`\ell`; ``-inf`` masks a key. A fully masked row is inert: its Jacobian is zero.
    bias : float
        Threshold :math:`b`.

    Returns
    -------
    ndarray of shape (..., S, S)
        Entry ``[..., j, k]`` is :math:`\partial q_j/\partial\ell_k`.

    Notes
    -----
    .. math:: \frac{\partial q_j}{\partial\ell_k} = (\delta_{jk} q_j - q_j q_k)\,(1 - \sigma(\ell_k - b)),

    softmax's form (:func:`softmax_jacobian`) with column :math:`k` damped by :math:`1-\sigma(\ell_k - b)`,
    so a saturated key passes almost no gradient. In the rare-firing limit the damping vanishes and the
    Jacobian becomes softmax's.

    References
    ----------
    Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic",
    Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> from thermoref.attention import sigmoid_attention_jacobian
    >>> print(sigmoid_attention_jacobian([0.0, 0.0]))  # softmax's 0.25 entries times 1 - sigma(0) = 1/2
    [[ 0.125 -0.125]
     [-0.125  0.125]]
    """
    ell, dead = _rows(logits)
    b = check_real(bias, "bias")
    S = ell.shape[-1]
    check_allocation(ell.shape + (S,), "logits")
    q = _sigmoid_weights(ell, dead, b)  # (..., S)
    damping = expit(-_drive(ell, b))  # (..., S): 1 - sigma(l - b), without cancellation
    base = q[..., :, None] * (np.eye(S) - q[..., None, :])  # (..., S, S)
    return base * damping[..., None, :]


def softmax_jacobian(logits: ArrayLike) -> np.ndarray:
    r"""Jacobian :math:`\partial p_j/\partial\ell_k` of the row softmax :math:`p = \mathrm{softmax}(\ell)`.

    Parameters
    ----------
    logits : array_like of shape (..., S)
        Logits :math:`\ell`; ``-inf`` masks a key. A fully masked row is inert: its Jacobian is zero.

    Returns
    -------
    ndarray of shape (..., S, S)
        Entry ``[..., j, k]`` is :math:`\partial p_j/\partial\ell_k`.

    Notes
    -----
    .. math:: \frac{\partial p_j}{\partial\ell_k} = p_j(\delta_{jk} - p_k),

    the covariance matrix of the one-hot key indicator under :math:`p` (the fluctuation–response relation
    of the Gibbs law :math:`p_j \propto e^{\ell_j}`).

    References
    ----------
    Bridle, J. S. (1990) "Probabilistic interpretation of feedforward classification network outputs, with
    relationships to statistical pattern recognition", in *Neurocomputing* (Springer), 227–236.

    Examples
    --------
    >>> from thermoref.attention import softmax_jacobian
    >>> print(softmax_jacobian([0.0, 0.0]))
    [[ 0.25 -0.25]
     [-0.25  0.25]]
    """
    ell, dead = _rows(logits)
    S = ell.shape[-1]
    check_allocation(ell.shape + (S,), "logits")
    p = _row_softmax(ell, dead)  # (..., S)
    return p[..., :, None] * (np.eye(S) - p[..., None, :])  # (..., S, S)
