r"""Weak random sources: ``numpy.random.Generator`` objects whose uniforms are not the ideal ones.

A p-bit compares a random number with its input's sigmoid, and an inverse-CDF sampler pushes a uniform through
a CDF: both consume ``rng.random``. The classes here are Generators (they pass wherever an ``rng`` is taken)
whose ``random`` method models a flawed device source; every other method
(``standard_normal``, ``integers``, ...) is left ideal, so the flaw is confined to the comparator's uniform.

* :class:`BiasedUniforms`: uniforms on :math:`[0, c)` instead of :math:`[0, 1)` (a comparator with a gain or
  reference error). A p-bit then reads high with probability :math:`\min(1, \sigma(\beta\ell)/c)`.
* :class:`LFSRUniforms`: 16-bit words of a maximal-length linear-feedback shift register
  (:math:`x^{16}+x^{14}+x^{13}+x^{11}+1`, period :math:`2^{16}-1`): uniforms on a grid of :math:`2^{-16}` that
  repeat after 65,535 words.

References: Golomb, S. W. (1967) *Shift Register Sequences*, Holden-Day; Camsari, K. Y. et al. (2017)
Phys. Rev. X 7, 031014 (the p-bit as a comparator of a random number and a sigmoid).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import as_rng, check_allocation, check_real

__all__ = ["BiasedUniforms", "LFSRUniforms", "LFSR_PERIOD"]

#: Period of the 16-bit maximal LFSR, in bits and (being odd) in 16-bit words.
LFSR_PERIOD = 2**16 - 1
_LFSR_BITS: np.ndarray | None = None


def _lfsr_bits() -> np.ndarray:
    """One period (65,535 bits) of the Fibonacci LFSR with taps 16, 14, 13, 11 from state 0xACE1 (computed once)."""
    global _LFSR_BITS
    if _LFSR_BITS is None:
        state, bits = 0xACE1, np.empty(LFSR_PERIOD, dtype=np.uint8)
        for t in range(LFSR_PERIOD):  # a shift register is sequential by construction; run once and cached
            bit = ((state >> 0) ^ (state >> 2) ^ (state >> 3) ^ (state >> 5)) & 1
            bits[t] = state & 1
            state = (state >> 1) | (bit << 15)
        _LFSR_BITS = bits
    return _LFSR_BITS


def _shape(size: object, dtype: object, out: object) -> tuple[int, ...]:
    """The output shape of ``random(size)``, refusing what the weak sources do not model (named errors)."""
    if out is not None:
        raise TypeError("out: a weak source writes no output buffer; pass out=None")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: not a NumPy dtype: {dtype!r}") from None
    if dt != np.float64:
        raise ValueError(f"dtype: a weak source draws float64 only, got {np.dtype(dtype)}")
    if size is None:
        return ()
    dims = (size,) if isinstance(size, (numbers.Integral, np.integer)) else size
    if isinstance(size, (bool, np.bool_)) or not isinstance(dims, (tuple, list)) \
            or not all(isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, bool) for k in dims):
        raise TypeError(f"size: expected None, an int or a tuple of ints, got {size!r}")
    shape = tuple(int(k) for k in dims)
    if any(k < 0 for k in shape):
        raise ValueError(f"size: dimensions must be non-negative, got {shape}")
    check_allocation(shape, "size")
    return shape


class BiasedUniforms(np.random.Generator):
    r"""A Generator whose ``random`` returns uniforms on :math:`[0, c)` (a biased comparator), ``c`` in (0, 1].

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Seed of the underlying PCG64 stream (a Generator contributes its bit generator's state).
    high : float
        The upper end :math:`c` of the uniforms, :math:`0 < c \le 1`; 1 is the ideal source.

    Attributes
    ----------
    high : float
        As given.

    Notes
    -----
    :math:`u = c\,u_0` with :math:`u_0 \sim U[0,1)`. A unit that outputs high when :math:`u < p` does so with
    probability :math:`\min(1, p/c)`: with :math:`c = 0.99` every probability is inflated by about 1 %, and
    an inverse-CDF draw never reaches the last 1 % of the CDF.

    References
    ----------
    Camsari, K. Y. et al. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> from thermoref.backend import BiasedUniforms
    >>> rng = BiasedUniforms(0, high=0.99)
    >>> print(float(rng.random(100_000).max()) < 0.99)
    True
    """

    def __init__(self, seed: int | np.random.Generator, *, high: float = 0.99) -> None:
        super().__init__(np.random.PCG64(as_rng(seed, "seed").bit_generator.random_raw()))
        self.high = check_real(high, "high", positive=True)
        if self.high > 1.0:
            raise ValueError(f"high: must be at most 1, got {self.high!r}")

    def random(self, size=None, dtype=np.float64, out=None):
        r"""Uniforms on :math:`[0, c)`: ideal uniforms scaled by ``high``.

        Parameters
        ----------
        size : int or tuple of int, optional
            Output shape (``None``: one float).
        dtype : numpy dtype
            Only float64.
        out : None
            Not supported (must be ``None``).

        Returns
        -------
        float or ndarray of float64, shape size
            The uniforms.

        Notes
        -----
        :math:`u = c\,u_0`, :math:`u_0 \sim U[0, 1)`.

        Examples
        --------
        >>> from thermoref.backend import BiasedUniforms
        >>> print(BiasedUniforms(0, high=0.5).random(3).max() < 0.5)
        True
        """
        shape = _shape(size, dtype, out)
        return super().random(shape if size is not None else None) * self.high


class LFSRUniforms(np.random.Generator):
    r"""A Generator whose ``random`` returns successive 16-bit words of a maximal LFSR, divided by :math:`2^{16}`.

    Parameters
    ----------
    seed : int
        Starting word offset in the register's period, ``0 <= seed``; taken modulo 65,535.

    Attributes
    ----------
    position : int
        Index in the period (0 to 65,534) of the next word.

    Notes
    -----
    The register :math:`x^{16}+x^{14}+x^{13}+x^{11}+1` emits a bit stream of period :math:`2^{16}-1`; uniform
    :math:`k` is the integer of bits :math:`16k, \dots, 16k+15` over :math:`2^{16}`. Over a full period each
    word value except 0 appears exactly once, so marginal frequencies are nearly exact, but the sequence
    repeats after 65,535 draws and a p-bit's probability is resolved only to :math:`2^{-16}`. Other methods
    draw from an ideal PCG64 stream seeded with ``seed``.

    References
    ----------
    Golomb, S. W. (1967) *Shift Register Sequences*, Holden-Day.

    Examples
    --------
    >>> from thermoref.backend import LFSRUniforms
    >>> u = LFSRUniforms(0).random(65_535)
    >>> print(len(set((u * 2**16).astype(int).tolist())), float(u.min()) > 0)
    65535 True
    """

    def __init__(self, seed: int) -> None:
        rng = as_rng(seed, "seed")
        if isinstance(seed, np.random.Generator):
            raise TypeError("seed: expected an integer offset into the register's period, got a Generator")
        super().__init__(np.random.PCG64(int(seed)))
        self.position = int(seed) % LFSR_PERIOD
        del rng

    def random(self, size=None, dtype=np.float64, out=None):
        r"""The next 16-bit LFSR words divided by :math:`2^{16}`.

        Parameters
        ----------
        size : int or tuple of int, optional
            Output shape (``None``: one float).
        dtype : numpy dtype
            Only float64.
        out : None
            Not supported (must be ``None``).

        Returns
        -------
        float or ndarray of float64, shape size
            The uniforms, multiples of :math:`2^{-16}` in :math:`(0, 1)`.

        Notes
        -----
        Word :math:`k` is :math:`\sum_{b=0}^{15} x_{16k+b}\,2^b` of the register's bit stream :math:`x`.

        Examples
        --------
        >>> from thermoref.backend import LFSRUniforms
        >>> print((LFSRUniforms(0).random(4) * 2**16).astype(int))
        [44257 18210 50231 58269]
        """
        shape = _shape(size, dtype, out)
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        bits = _lfsr_bits()
        k = (self.position + np.arange(count, dtype=np.int64)) % LFSR_PERIOD  # (count,) word indices
        pos = (16 * k[:, None] + np.arange(16)) % LFSR_PERIOD  # (count, 16) bit positions
        words = (bits[pos].astype(np.int64) << np.arange(16)).sum(axis=1)  # (count,)
        self.position = int((self.position + count) % LFSR_PERIOD)
        u = words / 2.0**16
        return u.reshape(shape) if shape else float(u[0])
