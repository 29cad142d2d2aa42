r"""A p-bit device with its non-idealities, as a sampling unit: :class:`HardwareModel`.

An Ising unit :math:`i` of a p-bit chip reads its input :math:`I_i = \sum_j J_{ij}s_j + h_i` and a comparator
outputs :math:`+1` when a uniform random number falls below :math:`\sigma(2\beta I_i)`. Real devices fall short
in ways this module models, each optional and composable: DAC quantization of couplings, fields and logits
(:mod:`thermoref.backend.dac`), static per-unit gain and offset mismatch, fresh thermal noise on the input at
every update, a cap on the sweeps a chain runs, neighbour values read from earlier sweeps, and a weak random
source. :func:`noisy_sigmoid` is the exact firing law of one noisy p-bit; :meth:`HardwareModel.transition_matrix`
and :meth:`HardwareModel.stationary_law` give the exact law of the device chain on a tiny model.

References: Camsari, K. Y. et al. (2017) Phys. Rev. X 7, 031014 (p-bits); Peretto, P. (1984) Biol. Cybern. 50,
51 (the stationary law of synchronous updates); Little, W. A. (1974) Math. Biosci. 19, 101.
"""

from __future__ import annotations

import numbers
from functools import lru_cache
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse, special

from .._validation import as_float_array, check_allocation, check_beta, check_callable, check_real
from ..ising._chromatic import colour_blocks, greedy_colouring
from ..ising.model import _fields
from ..testing import enumerate_states
from . import _checks
from .dac import _quantize, _step, check_bits
from .exact import _inverse_cdf_rows
from .protocol import Ledger, SamplingUnit, implements
from .reference import NumpyBackend

__all__ = ["HardwareModel", "noisy_sigmoid", "noisy_sigmoid_approx", "MAX_TRANSITION_SPINS"]

#: Largest model whose :math:`2^n \times 2^n` sweep transition matrix :class:`HardwareModel` builds.
MAX_TRANSITION_SPINS = 10
_MAX_SIGMA = 1e100  # noise and mismatch widths beyond this would overflow the device input in float64


@lru_cache(maxsize=None)
def _nodes(kind: str) -> tuple[np.ndarray, np.ndarray]:
    return special.roots_hermite(128) if kind == "hermite" else special.roots_laguerre(128)


def _noisy_sigmoid(z: np.ndarray, s: float) -> np.ndarray:
    r""":math:`\mathbb E[\sigma(z + s\xi)]` for validated z and finite s >= 0 (Gauss-Hermite or Laguerre)."""
    if s == 0:
        return special.expit(z)
    with np.errstate(over="ignore", under="ignore"):
        if s <= 2.0:  # Gauss-Hermite on the Gaussian weight: error < 1e-14 up to s = 2
            x, w = _nodes("hermite")
            return special.expit(z[..., None] + s * np.sqrt(2.0) * x) @ w / np.sqrt(np.pi)
        # s > 2: E = Phi(z/s) + int_0^inf sigma(-t) [f(-t) - f(t)] dt, f the N(z, s^2) density (Gauss-Laguerre)
        x, w = _nodes("laguerre")
        zc = np.clip(z, -1e300, 1e300)[..., None]
        f = lambda t: np.exp(-0.5 * ((t - zc) / s) ** 2) / (s * np.sqrt(2.0 * np.pi))  # noqa: E731
        return np.clip(special.ndtr(z / s) + (special.expit(x) * (f(-x) - f(x))) @ w, 0.0, 1.0)


def noisy_sigmoid(z: ArrayLike, sigma: float) -> np.ndarray:
    r"""Firing probability :math:`\mathbb E_\xi[\sigma(z + \sigma\xi)]`, :math:`\xi \sim N(0,1)`, of a noisy p-bit.

    Parameters
    ----------
    z : array_like of any shape
        Noise-free argument of the logistic function (for an Ising unit :math:`z = 2\beta I`, for a p-bit of
        logit :math:`\ell`, :math:`z = \beta\ell`). Finite.
    sigma : float
        Noise width in the same units (for input noise of width :math:`\sigma_I`: :math:`2\beta\sigma_I` or
        :math:`\beta\sigma_I`), >= 0 and at most 1e100.

    Returns
    -------
    ndarray of float64, shape of ``z``
        The exact firing probability, to about 1e-13.

    Notes
    -----
    .. math:: P(+1) = \int \sigma(z + \sigma x)\,\frac{e^{-x^2/2}}{\sqrt{2\pi}}\,dx .

    For :math:`\sigma \le 2`: Gauss-Hermite quadrature with 128 nodes. For :math:`\sigma > 2`, where the
    logistic's poles at :math:`\pm i\pi` slow Gauss-Hermite down, the identity
    :math:`\sigma(t) = \mathbf 1[t>0] - \mathrm{sgn}(t)\sigma(-|t|)` gives
    :math:`P = \Phi(z/\sigma) + \int_0^\infty \sigma(-t)[f(-t) - f(t)]\,dt` with :math:`f` the
    :math:`N(z, \sigma^2)` density, a Gauss-Laguerre integral (128 nodes). Both agree with adaptive quadrature
    to about 1e-13 (the tests). Noise flattens the response: :math:`P` moves toward 1/2 at every :math:`z`, a
    hotter p-bit, but not exactly a logistic one (:func:`noisy_sigmoid_approx`).

    References
    ----------
    Abramowitz, M. & Stegun, I. A. (1964) *Handbook of Mathematical Functions*, 25.4.46 (Gauss-Hermite) and
    25.4.45 (Gauss-Laguerre).

    Examples
    --------
    >>> from thermoref.backend import noisy_sigmoid
    >>> print(noisy_sigmoid([0.0, 1.0, 3.0], 1.0).round(6))
    [0.5      0.696735 0.930676]
    """
    v = as_float_array(z, "z")
    s = _check_sigma(sigma, "sigma")
    return _noisy_sigmoid(v, s)


def noisy_sigmoid_approx(z: ArrayLike, sigma: float) -> np.ndarray:
    r"""The probit approximation :math:`\sigma\big(z/\sqrt{1 + \pi\sigma^2/8}\big)` of :func:`noisy_sigmoid`.

    Parameters
    ----------
    z : array_like of any shape
        Noise-free argument of the logistic function. Finite.
    sigma : float
        Noise width in the same units, >= 0 and at most 1e100.

    Returns
    -------
    ndarray of float64, shape of ``z``

    Notes
    -----
    With :math:`\sigma(t) \approx \Phi(\lambda t)`, :math:`\lambda^2 = \pi/8` (matching slopes at 0),
    :math:`\mathbb E\,\Phi(\lambda(z + \sigma\xi)) = \Phi(\lambda z/\sqrt{1 + \lambda^2\sigma^2})` exactly, and
    mapping back gives this formula. For an Ising unit (:math:`z = 2\beta I`, noise :math:`2\beta\sigma_I`) it
    reads :math:`\sigma(2\beta I/\sqrt{1 + \pi\beta^2\sigma_I^2/2})`: input noise acts like a temperature
    raised by the factor :math:`\sqrt{1 + \pi\beta^2\sigma_I^2/2}`. An approximation: its largest error over
    :math:`z` is about 0.02 (measured in the chapter), not an exact law.

    References
    ----------
    MacKay, D. J. C. (1992) "The evidence framework applied to classification networks", Neural Comput. 4,
    720-736.

    Examples
    --------
    >>> from thermoref.backend import noisy_sigmoid_approx
    >>> print(noisy_sigmoid_approx([0.0, 1.0, 3.0], 1.0).round(6))
    [0.5      0.700014 0.927041]
    """
    v = as_float_array(z, "z")
    s = _check_sigma(sigma, "sigma")
    return special.expit(v / np.sqrt(1.0 + np.pi * s * s / 8.0))


def _check_sigma(x: object, name: str) -> float:
    v = check_real(x, name, nonnegative=True)
    if v > _MAX_SIGMA:
        raise ValueError(f"{name}: at most {_MAX_SIGMA:g} (wider noise overflows the device input), got {v!r}")
    return v


def _count_or_none(x: object, name: str, allow_none: bool) -> int | None:
    if x is None and allow_none:
        return None
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name}: expected a non-negative integer{' or None' if allow_none else ''}, got "
                        f"{type(x).__name__}")
    if int(x) < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {int(x)}")
    return int(x)


class HardwareModel:
    r"""A p-bit sampling unit with DAC quantization, mismatch, input noise, finite sweeps, stale reads, weak uniforms.

    Parameters
    ----------
    base : SamplingUnit, optional
        The unit that serves ``sample_gaussian`` and ``sample_custom`` (:class:`NumpyBackend` by default); the
        p-bit methods (``sample_ising``, ``sample_binary``, ``sample_categorical``) are the device itself.
    dac_bits : int, optional
        Resolution :math:`b` (2 to 32) of the DACs that load couplings, fields and logits; ``None``: analog.
    full_scale : float, optional
        Range :math:`[-F, F]` of those DACs (required with ``dac_bits``; alone it clips without quantizing).
    gain_sigma, offset_sigma : float
        Static mismatch: unit :math:`i` reads :math:`g_iI_i + o_i`, :math:`g_i = 1 + \text{gain\_sigma}\,N_i`,
        :math:`o_i = \text{offset\_sigma}\,N'_i`, drawn once from ``mismatch_seed`` (>= 0, at most 1e100).
    noise_sigma : float
        Thermal input noise: :math:`I \to I + \text{noise\_sigma}\,\xi` with fresh :math:`\xi \sim N(0, 1)` at
        every update (>= 0, at most 1e100).
    max_sweeps : int, optional
        Most sweeps a chain runs per call, whatever ``n_sweeps`` asks (``None``: no cap).
    delay : int
        Staleness :math:`d \ge 0`: in sweep :math:`t` every unit reads its neighbours as they were at the end
        of sweep :math:`t - d` (the initial state before the first); 0 is the ideal device.
    source : callable, optional
        ``source(rng) -> numpy.random.Generator``: the device's random source, built from the call's
        Generator (e.g. ``lambda rng: BiasedUniforms(rng, high=0.99)``); ``None``: ``rng`` itself.
    mismatch_seed : int
        Seed of the device's mismatch (the same device gives the same mismatch in every call), >= 0.
    tau0, energy_per_update : float
        Ledger parameters (see :class:`Ledger`).

    Attributes
    ----------
    ledger : Ledger
        What the device drew and its modeled cost (sweeps actually run).
    base : SamplingUnit
        The unit behind ``sample_gaussian`` and ``sample_custom``.

    Notes
    -----
    Mismatch is indexed by unit: spin :math:`i` for ``sample_ising``, the last axis of the logits for
    ``sample_binary`` and ``sample_categorical`` (leading axes reuse the same units). The exact laws:

    * all effects off: the chromatic heat bath of :func:`thermoref.ising.block_gibbs`, law
      :math:`e^{-\beta E}/Z` after enough sweeps;
    * DAC: the exact law of the quantized :math:`J_q, h_q` (bounds in :mod:`thermoref.backend.dac`);
    * offsets only: Boltzmann with fields :math:`h_i + o_i` (factor 1: :math:`\sigma(2\beta(\phi_i + o_i))`);
      equal gains :math:`g`: Boltzmann at :math:`g\beta`; unequal gains on coupled units: the conditionals
      :math:`\sigma(2\beta g_i\phi_i)` belong to no joint law (:math:`g_iJ_{ij} \ne g_jJ_{ji}`), and the
      stationary law depends on the update order (:meth:`stationary_law`);
    * noise: each conditional becomes :func:`noisy_sigmoid` (exact for one p-bit; no Gibbs law for a network);
    * delay :math:`d \ge 1`: :math:`s_t` depends on :math:`s_{t-d}` only through a synchronous update, so the
      device runs :math:`d` interleaved synchronous (Little) chains whose law is Peretto's
      :math:`\pi(s) \propto e^{\beta h^\top s}\prod_i\cosh(\beta\phi_i(s))`, for every :math:`d \ge 1`;
    * ``source``: a comparator :math:`u < p` with :math:`u \sim U[0, c)` fires with :math:`\min(1, p/c)`.

    ``sample_categorical`` quantizes the logits (``-inf`` masks stay masked), applies mismatch and noise per
    draw, and draws by inverse CDF from the device's uniforms; ``sample_gaussian`` quantizes the mean and then
    calls ``base`` (the covariance is not quantized); ``sample_custom`` calls ``base`` with the device's
    random source and models no other effect.

    References
    ----------
    Camsari, K. Y. et al. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.
    Peretto, P. (1984) "Collective properties of neural networks: a statistical physics approach", Biol.
    Cybern. 50, 51-62.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend import HardwareModel
    >>> chip = HardwareModel(dac_bits=4, full_scale=2.0, offset_sigma=0.05)
    >>> ring = np.roll(np.eye(6), 1, axis=1); ring = ring + ring.T
    >>> s = chip.sample_ising(ring, np.zeros(6), 0.5, n_sweeps=10, n_samples=3, init=np.ones(6), rng=0)
    >>> s.shape, s.dtype, chip.ledger.sweeps
    ((3, 6), dtype('int8'), 30)
    """

    def __init__(self, base: SamplingUnit | None = None, *, dac_bits: int | None = None,
                 full_scale: float | None = None, gain_sigma: float = 0.0, offset_sigma: float = 0.0,
                 noise_sigma: float = 0.0, max_sweeps: int | None = None, delay: int = 0,
                 source: Callable[[np.random.Generator], np.random.Generator] | None = None,
                 mismatch_seed: int = 0, tau0: float = 1.0, energy_per_update: float | None = None) -> None:
        if base is not None and not isinstance(base, SamplingUnit):
            raise TypeError(f"base: expected a SamplingUnit, got {type(base).__name__}")
        self.base = NumpyBackend() if base is None else base
        self.dac_bits = None if dac_bits is None else check_bits(dac_bits, "dac_bits")
        self.full_scale = None if full_scale is None else check_real(full_scale, "full_scale", positive=True)
        if self.dac_bits is not None and self.full_scale is None:
            raise ValueError("full_scale: required with dac_bits (the range [-F, F] the DAC spans)")
        self._step = None if self.dac_bits is None else _step(self.dac_bits, self.full_scale)
        self.gain_sigma = _check_sigma(gain_sigma, "gain_sigma")
        self.offset_sigma = _check_sigma(offset_sigma, "offset_sigma")
        self.noise_sigma = _check_sigma(noise_sigma, "noise_sigma")
        self.max_sweeps = _count_or_none(max_sweeps, "max_sweeps", True)
        self.delay = _count_or_none(delay, "delay", False)
        if source is not None:
            check_callable(source, "source")
        self.source = source
        self.mismatch_seed = _count_or_none(mismatch_seed, "mismatch_seed", False)
        self.ledger = Ledger(tau0, energy_per_update)

    def __repr__(self) -> str:
        keys = ("dac_bits", "full_scale", "gain_sigma", "offset_sigma", "noise_sigma", "max_sweeps", "delay",
                "mismatch_seed")
        return "HardwareModel(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in keys) + ")"

    # -- the device's pieces ----------------------------------------------------------------------------
    def _dac(self, x: np.ndarray) -> np.ndarray:
        if self.full_scale is None:
            return x
        if self._step is None:  # clipping amplifier, no quantization
            return np.where(np.isneginf(x), -np.inf, np.clip(x, -self.full_scale, self.full_scale))
        return _quantize(x, self.dac_bits, self.full_scale, self._step)

    def mismatch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        r"""The device's per-unit gains and offsets for its first ``n`` units (the same in every call).

        Parameters
        ----------
        n : int
            Number of units, >= 1.

        Returns
        -------
        gains : ndarray of float64, shape (n,)
            :math:`g_i = 1 + \text{gain\_sigma}\,N_i`.
        offsets : ndarray of float64, shape (n,)
            :math:`o_i = \text{offset\_sigma}\,N'_i`.

        Notes
        -----
        :math:`N_i, N'_i` are independent standard normals from two streams seeded by
        ``(mismatch_seed, 0)`` and ``(mismatch_seed, 1)``; unit :math:`i` has the same values whatever ``n``.
        Gaussian, independent, per-unit mismatch is Pelgrom's model of fabricated devices.

        References
        ----------
        Pelgrom, M. J. M., Duinmaijer, A. C. J. & Welbers, A. P. G. (1989) "Matching properties of MOS
        transistors", IEEE J. Solid-State Circuits 24, 1433-1439.

        Examples
        --------
        >>> from thermoref.backend import HardwareModel
        >>> g, o = HardwareModel(gain_sigma=0.1).mismatch(3)
        >>> print(g.round(4), o)
        [1.0126 0.9868 1.064 ] [0. 0. 0.]
        """
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or int(n) < 1:
            raise ValueError(f"n: expected a positive integer, got {n!r}")
        check_allocation((2, int(n)), "n")
        g = 1.0 + self.gain_sigma * np.random.default_rng([self.mismatch_seed, 0]).standard_normal(int(n))
        o = self.offset_sigma * np.random.default_rng([self.mismatch_seed, 1]).standard_normal(int(n)) + 0.0
        return g, o

    def _device_rng(self, rng: np.random.Generator) -> np.random.Generator:
        if self.source is None:
            return rng
        dev = self.source(rng)
        if not isinstance(dev, np.random.Generator):
            raise TypeError(f"source: must return a numpy.random.Generator, got {type(dev).__name__}")
        return dev

    def _fire(self, z: np.ndarray, dev: np.random.Generator) -> np.ndarray:
        """Comparator: True where a device uniform falls below sigma(z + noise), z the scaled input (finite)."""
        return dev.random(z.shape) < special.expit(z)

    def _input(self, I: np.ndarray, g: np.ndarray, o: np.ndarray, dev: np.random.Generator) -> np.ndarray:
        """The input a comparator sees: g I + o + noise, clipped to the float64 range."""
        with np.errstate(over="ignore"):
            x = g * I + o
            if self.noise_sigma:
                x = x + self.noise_sigma * dev.standard_normal(x.shape)
            return np.clip(x, -np.finfo(np.float64).max, np.finfo(np.float64).max)

    def _quantized_model(self, model) -> tuple[np.ndarray | sparse.csr_array, np.ndarray]:
        if self.full_scale is None:
            return model.J, model.h
        if sparse.issparse(model.J):
            Jq = model.J.copy()
            Jq.data = self._dac(Jq.data)
            Jq.eliminate_zeros()
        else:
            Jq = self._dac(model.J)
        return Jq, self._dac(model.h)

    # -- the protocol -----------------------------------------------------------------------------------
    @implements(SamplingUnit.sample_ising)
    def sample_ising(self, J: np.ndarray | sparse.sparray, h: ArrayLike, beta: float, *, n_sweeps: int,
                     n_samples: int, init: ArrayLike | None = None, rng: np.random.Generator | int) -> np.ndarray:
        model, beta, n_sweeps, n_samples, s0, rng = _checks.check_ising(J, h, beta, n_sweeps, n_samples, init, rng)
        if s0 is None:
            s0 = (2 * rng.integers(0, 2, size=(n_samples, model.n)) - 1).astype(np.int8)  # uniform spins
        n_run = n_sweeps if self.max_sweeps is None else min(n_sweeps, self.max_sweeps)
        d = self.delay
        check_allocation((min(d, n_run) + 2, n_samples, model.n), "delay")
        Jq, hq = self._quantized_model(model)
        colours = greedy_colouring(Jq)
        perm, _, _, blocks = colour_blocks(Jq, hq, colours)
        g, o = (a[perm] for a in self.mismatch(model.n))
        gain = min(2.0 * beta, np.finfo(np.float64).max)
        dev = self._device_rng(rng)
        s = s0[:, perm].astype(np.float64)  # (K, n), colours contiguous
        history = [s.copy() for _ in range(min(d, n_run))]  # ring of end-of-sweep states, init before sweep 1
        for t in range(n_run):  # sweeps of a Markov chain: sequential by nature
            read = s if d == 0 else history[t % d] if d <= n_run else history[0]
            for idx, Jc, hc in blocks:
                field = (Jc @ read.T).T if sparse.issparse(Jc) else read @ Jc  # (K, n_c)
                x = self._input(field + hc, g[idx], o[idx], dev)  # (K, n_c)
                with np.errstate(over="ignore"):
                    s[:, idx] = np.where(self._fire(gain * x, dev), 1.0, -1.0)
            if 0 < d <= n_run:
                history[t % d] = s.copy()
        out = np.empty(s.shape, dtype=np.int8)
        out[:, perm] = s
        self.ledger.charge(samples=n_samples, sweeps=n_samples * n_run, updates=n_samples * n_run * model.n,
                           phases=n_samples * n_run * (int(colours.max()) + 1))
        return out

    @implements(SamplingUnit.sample_binary)
    def sample_binary(self, logits: ArrayLike, beta: float, *, rng: np.random.Generator | int) -> np.ndarray:
        z, beta, rng = _checks.check_binary(logits, beta, rng)
        n = z.shape[-1] if z.ndim else 1
        g, o = self.mismatch(max(n, 1))
        if z.ndim == 0:
            g, o = g[0], o[0]
        elif n == 0:
            g, o = g[:0], o[:0]
        dev = self._device_rng(rng)
        x = self._input(self._dac(z), g, o, dev)
        with np.errstate(over="ignore"):
            out = self._fire(min(beta, np.finfo(np.float64).max) * x, dev).astype(np.int8)
        self.ledger.charge(samples=z.size, updates=z.size, phases=1)
        return out

    @implements(SamplingUnit.sample_categorical)
    def sample_categorical(self, logits: ArrayLike, beta: float, size: int, *,
                           rng: np.random.Generator | int) -> np.ndarray:
        z, _, beta, size, rng = _checks.check_categorical(logits, beta, size, rng)
        n = z.shape[-1]
        zr = z.reshape(-1, n)  # (R, n)
        if self.noise_sigma:
            check_allocation((zr.shape[0], size, n), "size")
        g, o = self.mismatch(n)
        dev = self._device_rng(rng)
        q = self._dac(zr)
        masked = np.isneginf(q)
        with np.errstate(invalid="ignore", over="ignore"):
            base = np.where(masked, 0.0, g * q + o)  # (R, n)
            x = base[:, None, :]  # (R, 1 or size, n)
            if self.noise_sigma:
                x = x + self.noise_sigma * dev.standard_normal((zr.shape[0], size, n))
            x = np.clip(x, -np.finfo(np.float64).max, np.finfo(np.float64).max) * min(beta, 1e300)
            x = np.where(masked[:, None, :], -np.inf, x)
            x = x - x.max(axis=-1, keepdims=True)
        if not self.noise_sigma:  # one law per row: inverse CDF by one sorted search
            idx = _inverse_cdf_rows(np.exp(x[:, 0, :]), size, dev)  # (R, size)
        else:  # a fresh law per draw: the running sums of every draw
            cdf = np.cumsum(np.exp(x), axis=-1)  # (R, size, n)
            u = dev.random((zr.shape[0], size))  # (R, size)
            idx = (cdf <= (u * cdf[:, :, -1])[:, :, None]).sum(axis=-1)  # first category whose sum exceeds u Z
        self.ledger.charge(samples=idx.size, updates=idx.size, phases=size)
        return np.minimum(idx, n - 1).astype(np.int64).reshape(z.shape[:-1] + (size,))

    @implements(SamplingUnit.sample_gaussian)
    def sample_gaussian(self, mean: ArrayLike, precision_or_cov: ArrayLike, *, size: int, form: str = "cov",
                        rng: np.random.Generator | int) -> np.ndarray:
        mu, _, size, form, rng = _checks.check_gaussian(mean, precision_or_cov, size, form, rng)
        out = self.base.sample_gaussian(self._dac(mu), precision_or_cov, size=size, form=form,
                                        rng=self._device_rng(rng))
        self.ledger.charge(samples=size, updates=size * mu.size, phases=size)
        return out

    @implements(SamplingUnit.sample_custom)
    def sample_custom(self, energy: Callable[[np.ndarray], ArrayLike], init: ArrayLike, *, n_steps: int,
                      beta: float, n_values: int = 2, rng: np.random.Generator | int) -> np.ndarray:
        energy, s, n_steps, beta, n_values, rng = _checks.check_custom(energy, init, n_steps, beta, n_values, rng)
        out = self.base.sample_custom(energy, s, n_steps=n_steps, beta=beta, n_values=n_values,
                                      rng=self._device_rng(rng))
        self.ledger.charge(samples=s.shape[0], updates=s.shape[0] * n_steps, phases=s.shape[0] * n_steps)
        return out

    # -- exact laws of the device chain -----------------------------------------------------------------
    def transition_matrix(self, J: ArrayLike, h: ArrayLike, beta: float) -> np.ndarray:
        r"""The exact one-sweep transition matrix of the device chain on a tiny model (ideal random source).

        Parameters
        ----------
        J : array_like of shape (n, n)
            Couplings (symmetric, zero diagonal), :math:`n \le` :data:`MAX_TRANSITION_SPINS`.
        h : array_like of shape (n,)
            Fields.
        beta : float
            Inverse temperature, >= 0.

        Returns
        -------
        ndarray of float64, shape ``(2**n, 2**n)``
            ``T[a, b]`` = P(state b after one sweep | state a), states in
            :func:`thermoref.testing.enumerate_states` order; rows sum to 1. With ``delay`` :math:`d \ge 1` it
            is the synchronous update, the chain of every :math:`d`-th sweep.

        Notes
        -----
        Unit :math:`i` fires with probability :math:`q_i(s) = \mathbb E_\xi\,\sigma\big(2\beta(g_i\phi_i(s) + o_i
        + \sigma_n\xi)\big)` (:func:`noisy_sigmoid`, :math:`\sigma_n` = ``noise_sigma``) on the quantized model. With ``delay`` 0 the sweep is the product
        :math:`T = T_{c_0}T_{c_1}\cdots` over colour classes in colour order, :math:`T_c` redrawing the units of
        class :math:`c` from :math:`q(s)`; with ``delay`` :math:`\ge 1`,
        :math:`T(s, s') = \prod_i q_i(s)^{[s'_i = 1]}(1 - q_i(s))^{[s'_i = -1]}`.

        References
        ----------
        Peretto, P. (1984) "Collective properties of neural networks: a statistical physics approach", Biol.
        Cybern. 50, 51-62 (the law of the synchronous update, which ``delay`` >= 1 reproduces).

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import HardwareModel
        >>> T = HardwareModel().transition_matrix([[0.0, 1.0], [1.0, 0.0]], [0.0, 0.0], 0.5)
        >>> print(T.shape, np.allclose(T.sum(axis=1), 1.0))
        (4, 4) True
        """
        model, beta, _, _, _, _ = _checks.check_ising(J, h, beta, 0, 1, None, 0)
        n = model.n
        if n > MAX_TRANSITION_SPINS:
            raise ValueError(f"J: at most {MAX_TRANSITION_SPINS} spins for a 2^n x 2^n matrix, got {n}")
        Jq, hq = self._quantized_model(model)
        Jd = Jq.toarray() if sparse.issparse(Jq) else Jq
        g, o = self.mismatch(n)
        states = enumerate_states(n).astype(np.float64)  # (2**n, n)
        x = g * _fields(Jd, hq, states) + o  # (2**n, n) the noise-free input of every unit in every state
        with np.errstate(over="ignore"):
            q = _noisy_sigmoid(np.clip(2.0 * beta * x, -1e300, 1e300), min(2.0 * beta * self.noise_sigma, 1e300))
        up = states[None, :, :] > 0  # (1, 2**n, n): target spins
        if self.delay >= 1:
            return np.prod(np.where(up, q[:, None, :], 1.0 - q[:, None, :]), axis=-1)
        colours = greedy_colouring(Jd)
        T = np.eye(states.shape[0])
        for c in range(int(colours.max()) + 1):
            block = colours == c
            same = (states[:, None, ~block] == states[None, :, ~block]).all(axis=-1)  # (2**n, 2**n)
            p = np.prod(np.where(up[..., block], q[:, None, block], 1.0 - q[:, None, block]), axis=-1)
            T = T @ (same * p)
        return T

    def stationary_law(self, J: ArrayLike, h: ArrayLike, beta: float) -> np.ndarray:
        r"""The exact stationary law of the device chain on a tiny model: :math:`\pi T = \pi`.

        Parameters
        ----------
        J : array_like of shape (n, n)
            Couplings (symmetric, zero diagonal), :math:`n \le` :data:`MAX_TRANSITION_SPINS`.
        h : array_like of shape (n,)
            Fields.
        beta : float
            Inverse temperature, >= 0.

        Returns
        -------
        ndarray of float64, shape ``(2**n,)``
            :math:`\pi` over :func:`thermoref.testing.enumerate_states`, the law the device samples after
            many sweeps (for ``delay`` :math:`d\ge1`: of every sweep's state, each of the :math:`d`
            interleaved chains having this law).

        Notes
        -----
        The left eigenvector of :meth:`transition_matrix` for eigenvalue 1, from the linear system
        :math:`(T^\top - I)\pi = 0`, :math:`\sum\pi = 1` (least squares); the chain is irreducible at finite
        :math:`\beta` because every conditional lies strictly inside (0, 1).

        References
        ----------
        Peretto, P. (1984) "Collective properties of neural networks: a statistical physics approach", Biol.
        Cybern. 50, 51-62 (the law of the synchronous update, which ``delay`` >= 1 reproduces).

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import HardwareModel
        >>> pi = HardwareModel().stationary_law([[0.0, 1.0], [1.0, 0.0]], [0.0, 0.0], 1.0)
        >>> print(pi.round(6))  # the Boltzmann law of two coupled spins
        [0.440399 0.059601 0.059601 0.440399]
        """
        T = self.transition_matrix(J, h, beta)
        m = T.shape[0]
        A = np.vstack([T.T - np.eye(m), np.ones((1, m))])
        pi = np.linalg.lstsq(A, np.concatenate([np.zeros(m), [1.0]]), rcond=None)[0]
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum()
