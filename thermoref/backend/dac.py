r"""Quantized device inputs: the DAC grid, and exact bounds on what quantization does to a Gibbs law.

A sampling chip receives its couplings, fields and logits through digital-to-analog converters (DACs) of
:math:`b` bits over a fixed full-scale range :math:`[-F, F]`. :func:`dac_quantize` is that converter (a
symmetric mid-tread grid that contains 0, so an absent coupling stays absent); :func:`log_ratio_bound` and
:func:`kl_bound` bound what any perturbation :math:`\delta` of the log-weights does to the law, and
:func:`ising_log_ratio_bound` bounds it for perturbed couplings and fields without enumerating states.

References: Widrow, B. & Kollár, I. (2008) *Quantization Noise*, Cambridge University Press (uniform
quantizers); Hoeffding, W. (1963) "Probability inequalities for sums of bounded random variables", J. Amer.
Statist. Assoc. 58, 13-30 (the lemma behind :func:`kl_bound`).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .._validation import as_float_array, check_beta, check_real

__all__ = ["dac_step", "dac_quantize", "log_ratio_bound", "kl_bound", "ising_log_ratio_bound"]

#: Fewest and most DAC bits accepted (2 bits: the levels -F, 0, F; 32 bits: finer than any analog input).
MIN_DAC_BITS, MAX_DAC_BITS = 2, 32


def check_bits(bits: object, name: str = "bits") -> int:
    """A number of DAC bits, an integer in [MIN_DAC_BITS, MAX_DAC_BITS]."""
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, numbers.Integral):
        raise TypeError(f"{name}: expected an integer number of bits, got {type(bits).__name__}")
    if not MIN_DAC_BITS <= int(bits) <= MAX_DAC_BITS:
        raise ValueError(f"{name}: expected an integer in [{MIN_DAC_BITS}, {MAX_DAC_BITS}], got {int(bits)}")
    return int(bits)


def _step(bits: int, full_scale: float, name: str = "full_scale") -> float:
    step = full_scale / (2 ** (bits - 1) - 1)
    if not step > 0:
        raise ValueError(f"{name}: {full_scale!r} is too small for {bits} bits: the DAC step underflows to 0")
    return step


def dac_step(bits: int, full_scale: float) -> float:
    r"""The step :math:`\Delta = F/(2^{b-1} - 1)` of a :math:`b`-bit DAC over :math:`[-F, F]`.

    Parameters
    ----------
    bits : int
        DAC resolution :math:`b`, 2 to 32.
    full_scale : float
        Full-scale value :math:`F > 0`: the DAC outputs lie in :math:`[-F, F]`.

    Returns
    -------
    float
        The grid step :math:`\Delta`.

    Notes
    -----
    The grid is mid-tread and symmetric: the :math:`2^b - 1` levels :math:`k\Delta`,
    :math:`|k| \le 2^{b-1} - 1` (two's-complement codes without the most negative one), so 0 is a level and
    the grid is symmetric about it. A value inside the range is off by at most :math:`\Delta/2`.

    References
    ----------
    Widrow, B. & Kollár, I. (2008) *Quantization Noise*, Cambridge University Press, ch. 4.

    Examples
    --------
    >>> from thermoref.backend import dac_step
    >>> print(dac_step(4, 7.0))  # 15 levels -7, -6, ..., 7
    1.0
    """
    b = check_bits(bits)
    return _step(b, check_real(full_scale, "full_scale", positive=True))


def dac_quantize(x: ArrayLike, bits: int, full_scale: float) -> np.ndarray:
    r"""What a :math:`b`-bit DAC over :math:`[-F, F]` outputs for the requested values ``x``.

    Parameters
    ----------
    x : array_like of any shape
        Requested analog values (finite).
    bits : int
        DAC resolution :math:`b`, 2 to 32.
    full_scale : float
        Full-scale value :math:`F > 0`.

    Returns
    -------
    ndarray of float64, shape of ``x``
        :math:`Q(x) = \Delta\,\mathrm{round}(\mathrm{clip}(x, -F, F)/\Delta)`, with
        :math:`\Delta` = :func:`dac_step` (ties to even).

    Notes
    -----
    The converter saturates at :math:`\pm F` and rounds to the nearest of its :math:`2^b - 1` levels, so
    :math:`|Q(x) - x| \le \Delta/2` for :math:`|x| \le F` and :math:`|Q(x) - x| = |x| - F` beyond. Zero maps
    to zero: a sparse coupling matrix keeps its sparsity (couplings below :math:`\Delta/2` vanish).

    References
    ----------
    Widrow, B. & Kollár, I. (2008) *Quantization Noise*, Cambridge University Press, ch. 4.

    Examples
    --------
    >>> from thermoref.backend import dac_quantize
    >>> print(dac_quantize([0.2, -0.6, 2.4, 9.0], bits=3, full_scale=3.0))  # levels -3 .. 3 in steps of 1
    [ 0. -1.  2.  3.]
    """
    b = check_bits(bits)
    F = check_real(full_scale, "full_scale", positive=True)
    step = _step(b, F)
    v = as_float_array(x, "x")
    return _quantize(v, b, F, step)


def _quantize(v: np.ndarray, bits: int, F: float, step: float) -> np.ndarray:
    """The DAC on validated float64 values (``-inf`` stays ``-inf``: a masked logit is a switch, not a level)."""
    levels = float(2 ** (bits - 1) - 1)
    q = np.clip(np.round(np.clip(v, -F, F) / step), -levels, levels) * step
    q = np.clip(q, -F, F)  # the top level is F exactly, up to the rounding of levels * step
    return np.where(np.isneginf(v), -np.inf, q)


def _range(delta: ArrayLike, name: str) -> np.ndarray:
    d = as_float_array(delta, name)
    if d.ndim == 0 or d.shape[-1] == 0:
        raise ValueError(f"{name}: expected shape (..., n) with n >= 1, got {d.shape}")
    with np.errstate(over="ignore"):
        r = d.max(axis=-1) - d.min(axis=-1)
    if not np.isfinite(r).all():
        raise ValueError(f"{name}: the range max - min overflows float64")
    return r


def _finite(out: np.ndarray | float, beta: float, other: str) -> np.ndarray | float:
    """``out`` if finite; else a ValueError naming beta (if > 1, the scale that overflowed) or the perturbation."""
    if not np.isfinite(out).all():
        name = "beta" if beta > 1 else other
        raise ValueError(f"{name}: the bound overflows float64 (beta = {beta!r})")
    return out


def log_ratio_bound(delta: ArrayLike, beta: float = 1.0) -> np.ndarray:
    r"""Bound on :math:`\max_i |\ln p_q(i) - \ln p(i)|` when log-weights :math:`\beta\ell` move to :math:`\beta(\ell+\delta)`.

    Parameters
    ----------
    delta : array_like of shape (..., n)
        The perturbation of the logits of each row (quantized minus exact, :math:`\ell_q - \ell`; for an
        Ising model :math:`-(E_q(s) - E(s))` over states). Finite.
    beta : float
        Inverse temperature, >= 0.

    Returns
    -------
    ndarray of float64, shape (...)
        :math:`\beta(\max_i \delta_i - \min_i \delta_i)` per row; it is at most
        :math:`2\beta\max_i|\delta_i|` (at most :math:`\beta\Delta` for a DAC of step :math:`\Delta` inside
        its range).

    Notes
    -----
    With :math:`p \propto e^{\beta\ell}` and :math:`p_q \propto e^{\beta(\ell+\delta)}`,

    .. math:: \ln p_q(i) - \ln p(i) = \beta\delta_i - \ln \mathbb E_p\!\left[e^{\beta\delta}\right],

    and the log-mean lies in :math:`[\beta\min\delta, \beta\max\delta]`, so the bound holds for every base law
    :math:`p`. It is sharp: it is approached by category :math:`i = \arg\max\delta` when :math:`p` puts almost
    all its mass on :math:`\arg\min\delta`. Masked categories (``-inf`` in both) are left out of ``delta``.

    References
    ----------
    Wainwright, M. J. & Jordan, M. I. (2008) "Graphical models, exponential families, and variational
    inference", Found. Trends Mach. Learn. 1, 1-305 (the log-partition function and its derivatives).

    Examples
    --------
    >>> from thermoref.backend import log_ratio_bound
    >>> print(log_ratio_bound([0.25, -0.5, 0.5], beta=2.0))
    2.0
    """
    b = check_beta(beta, scalar=True)
    r = _range(delta, "delta")
    with np.errstate(over="ignore"):
        return _finite(b * r, b, "delta")


def kl_bound(delta: ArrayLike, beta: float = 1.0) -> np.ndarray:
    r"""Bound on :math:`\mathrm{KL}(p\,\|\,p_q)` when log-weights :math:`\beta\ell` move to :math:`\beta(\ell+\delta)`.

    Parameters
    ----------
    delta : array_like of shape (..., n)
        The perturbation of the logits of each row, as in :func:`log_ratio_bound`. Finite.
    beta : float
        Inverse temperature, >= 0.

    Returns
    -------
    ndarray of float64, shape (...)
        :math:`\beta^2(\max_i\delta_i - \min_i\delta_i)^2/8` per row (nats).

    Notes
    -----
    .. math:: \mathrm{KL}(p\,\|\,p_q) = \ln\mathbb E_p\!\left[e^{\beta\delta}\right] - \beta\,\mathbb E_p[\delta]
              \le \frac{\beta^2(\max\delta - \min\delta)^2}{8}

    by Hoeffding's lemma (the cumulant generating function of a variable confined to an interval of length
    :math:`r` grows at most like :math:`r^2t^2/8`). A DAC of step :math:`\Delta` inside its range gives
    :math:`\mathrm{KL} \le \beta^2\Delta^2/8`: each extra bit divides the bound by 4.

    References
    ----------
    Hoeffding, W. (1963) "Probability inequalities for sums of bounded random variables", J. Amer. Statist.
    Assoc. 58, 13-30.

    Examples
    --------
    >>> from thermoref.backend import kl_bound
    >>> print(kl_bound([0.25, -0.5, 0.5], beta=2.0))
    0.5
    """
    b = check_beta(beta, scalar=True)
    r = _range(delta, "delta")
    with np.errstate(over="ignore"):
        return _finite(np.square(b * r) / 8.0, b, "delta")


def ising_log_ratio_bound(dJ: ArrayLike | sparse.sparray, dh: ArrayLike, beta: float = 1.0) -> float:
    r"""Bound on :math:`\max_s|\ln p_q(s) - \ln p(s)|` for couplings and fields perturbed by :math:`dJ, dh`.

    Parameters
    ----------
    dJ : array_like or scipy.sparse matrix of shape (n, n)
        Coupling perturbation :math:`J_q - J` (symmetric, zero diagonal; each pair counted once).
    dh : array_like of shape (n,)
        Field perturbation :math:`h_q - h`.
    beta : float
        Inverse temperature, >= 0.

    Returns
    -------
    float
        :math:`2\beta\left(\sum_{i<j}|dJ_{ij}| + \sum_i|dh_i|\right)`.

    Notes
    -----
    :math:`D(s) = E_q(s) - E(s) = -\sum_{i<j} dJ_{ij}s_is_j - \sum_i dh_i s_i`, so
    :math:`|D(s)| \le \sum_{i<j}|dJ_{ij}| + \sum_i|dh_i| = S` for every state and, by
    :func:`log_ratio_bound` with :math:`\delta = -D`,

    .. math:: |\ln p_q(s) - \ln p(s)| \le \beta(\max_s D - \min_s D) \le 2\beta S.

    No enumeration: this holds for any size. With every coupling and field on a DAC of step :math:`\Delta`
    inside its range, :math:`S \le (m + n)\Delta/2` for :math:`m` couplings; the Hoeffding bound gives
    :math:`\mathrm{KL} \le \beta^2S^2/2`.

    References
    ----------
    Wainwright, M. J. & Jordan, M. I. (2008) "Graphical models, exponential families, and variational
    inference", Found. Trends Mach. Learn. 1, 1-305 (the log-partition function and its derivatives).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend import ising_log_ratio_bound
    >>> dJ = np.array([[0.0, 0.1], [0.1, 0.0]])
    >>> print(round(ising_log_ratio_bound(dJ, [0.05, -0.05], beta=2.0), 12))
    0.8
    """
    from ..ising.model import _check_couplings

    D = _check_couplings(dJ, "dJ")
    dhv = as_float_array(dh, "dh", ndim=1)
    if dhv.shape != (D.shape[0],):
        raise ValueError(f"dh: expected shape ({D.shape[0]},) to match dJ, got {dhv.shape}")
    b = check_beta(beta, scalar=True)
    with np.errstate(over="ignore", invalid="ignore"):
        SJ = 0.5 * float(np.abs(D.data if sparse.issparse(D) else D).sum())
        S = SJ + float(np.abs(dhv).sum())
        out = 2.0 * b * S
    if not np.isfinite(SJ):
        raise ValueError("dJ: sum |dJ| overflows float64")
    if not np.isfinite(S):
        raise ValueError("dh: sum |dJ| + sum |dh| overflows float64")
    return float(_finite(np.float64(out), b, "dJ"))
