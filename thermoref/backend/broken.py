r"""Deliberately broken sampling units: the bugs the conformance suite must catch, each with its exact law.

Each class implements the whole :class:`~thermoref.backend.SamplingUnit` protocol: it validates its input
exactly as every unit must (so it passes the suite's bad-input check) and delegates to
:class:`~thermoref.backend.NumpyBackend` for every method it does not break. :data:`BROKEN_BACKENDS` maps a
short name to each class, for the chapter and the tests.

============================  =========================================================================
``temperature_error``         :class:`TemperatureErrorUnit`: samples at :math:`0.95\beta` (5 % too hot)
``synchronous``               :class:`SynchronousIsingUnit`: every spin redrawn at once from the old state
``uint8_index``               :class:`Uint8IndexUnit`: categorical indices wrap modulo 256
``returns_input``             :class:`ReturnsInputUnit`: hands back its input (or its noiseless limit)
``half_vocabulary``           :class:`HalfVocabularyPipeline`: two units, each owning half the categories
``biased_source``             :class:`BiasedSourceUnit`: uniforms on :math:`[0, 0.99)` instead of :math:`[0, 1)`
============================  =========================================================================

References: Geman, S. & Geman, D. (1984) IEEE PAMI 6, 721 (why updates must not be simultaneous);
Camsari, K. Y. et al. (2017) Phys. Rev. X 7, 031014 (the p-bit as a comparator of a uniform and a sigmoid).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse, special

from . import _checks
from .reference import NumpyBackend
from .sources import BiasedUniforms

__all__ = ["BROKEN_BACKENDS", "TemperatureErrorUnit", "SynchronousIsingUnit", "Uint8IndexUnit",
           "ReturnsInputUnit", "HalfVocabularyPipeline", "BiasedSourceUnit"]


class _DelegatingUnit:
    """Validates every call with the shared checks, then calls a private hook; by default the NumPy reference.

    Subclasses break one thing by overriding ``_beta``, ``_rng`` or one of the ``_ising``/``_binary``/
    ``_categorical``/``_gaussian``/``_custom`` hooks; the public methods (documented in
    :class:`~thermoref.backend.SamplingUnit`) are defined once, here.
    """

    def __init__(self, *, tau0: float = 1.0, energy_per_update: float | None = None) -> None:
        self._reference = NumpyBackend(tau0=tau0, energy_per_update=energy_per_update)
        self.ledger = self._reference.ledger

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _beta(self, beta: float) -> float:
        return beta

    def _rng(self, rng: np.random.Generator) -> np.random.Generator:
        return rng

    def sample_ising(self, J: np.ndarray | sparse.sparray, h: ArrayLike, beta: float, *, n_sweeps: int,
                     n_samples: int, init: ArrayLike | None = None, rng: np.random.Generator | int) -> np.ndarray:
        model, beta, n_sweeps, n_samples, init, rng = _checks.check_ising(J, h, beta, n_sweeps, n_samples, init, rng)
        return self._ising(model.J, model.h, beta, n_sweeps, n_samples, init, rng)

    def _ising(self, J, h, beta, n_sweeps, n_samples, init, rng):  # noqa: ANN001, ANN202
        return self._reference.sample_ising(J, h, self._beta(beta), n_sweeps=n_sweeps, n_samples=n_samples,
                                            init=init, rng=self._rng(rng))

    def sample_binary(self, logits: ArrayLike, beta: float, *, rng: np.random.Generator | int) -> np.ndarray:
        z, beta, rng = _checks.check_binary(logits, beta, rng)
        return self._binary(z, beta, rng)

    def _binary(self, z, beta, rng):  # noqa: ANN001, ANN202
        return self._reference.sample_binary(z, self._beta(beta), rng=self._rng(rng))

    def sample_categorical(self, logits: ArrayLike, beta: float, size: int, *,
                           rng: np.random.Generator | int) -> np.ndarray:
        z, _, beta, size, rng = _checks.check_categorical(logits, beta, size, rng)
        return self._categorical(z, beta, size, rng)

    def _categorical(self, z, beta, size, rng):  # noqa: ANN001, ANN202
        return self._reference.sample_categorical(z, self._beta(beta), size, rng=self._rng(rng))

    def sample_gaussian(self, mean: ArrayLike, precision_or_cov: ArrayLike, *, size: int, form: str = "cov",
                        rng: np.random.Generator | int) -> np.ndarray:
        mu, _, size, form, rng = _checks.check_gaussian(mean, precision_or_cov, size, form, rng)
        return self._gaussian(mu, np.asarray(precision_or_cov, dtype=np.float64), size, form, rng)

    def _gaussian(self, mu, M, size, form, rng):  # noqa: ANN001, ANN202
        return self._reference.sample_gaussian(mu, M, size=size, form=form, rng=self._rng(rng))

    def sample_custom(self, energy: Callable[[np.ndarray], ArrayLike], init: ArrayLike, *, n_steps: int,
                      beta: float, n_values: int = 2, rng: np.random.Generator | int) -> np.ndarray:
        energy, s, n_steps, beta, n_values, rng = _checks.check_custom(energy, init, n_steps, beta, n_values, rng)
        return self._custom(energy, s, n_steps, beta, n_values, rng)

    def _custom(self, energy, s, n_steps, beta, n_values, rng):  # noqa: ANN001, ANN202
        return self._reference.sample_custom(energy, s, n_steps=n_steps, beta=self._beta(beta), n_values=n_values,
                                             rng=self._rng(rng))


_UNIT_PARAMETERS = r"""
    Parameters
    ----------
    tau0 : float
        Modeled time of one parallel update phase, > 0 (the ledger is that of the delegate
        :class:`~thermoref.backend.NumpyBackend`).
    energy_per_update : float, optional
        Modeled energy of one single-unit update in joules (``None``: not modeled).

    Attributes
    ----------
    ledger : Ledger
        The delegate's ledger.
"""


class TemperatureErrorUnit(_DelegatingUnit):
    r"""A unit that runs 5 % hot: every method samples at :math:`0.95\beta` instead of :math:`\beta`.
    {params}
    Notes
    -----
    Asked for :math:`\beta`, it draws :math:`p(s) \propto e^{-0.95\beta E(s)}` (Ising, custom), p-bits with
    :math:`P(1) = \sigma(0.95\beta\ell)` and categories from :math:`\mathrm{softmax}(0.95\beta\ell)`: a
    temperature :math:`k_BT/0.95`, 5.3 % too high (a bias current or gain off by 5 %). The Gaussian unit at
    rest has covariance proportional to :math:`k_BT`, so it draws :math:`N(\mu, \Sigma/0.95)` (``form="cov"``)
    or :math:`N(\mu, (0.95\,\Sigma^{{-1}})^{{-1}})` (``form="precision"``), the same law.

    References
    ----------
    Gibbs, J. W. (1902) *Elementary Principles in Statistical Mechanics*, Yale University Press.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend.broken import TemperatureErrorUnit
    >>> x = TemperatureErrorUnit().sample_binary(np.full(200_000, 2.0), 1.0, rng=0)
    >>> sigmoid = lambda t: 1 / (1 + np.exp(-t))
    >>> print(f"{x.mean():.2f} {sigmoid(0.95 * 2.0):.2f} {sigmoid(2.0):.2f}")  # drawn, at 0.95 beta, asked for
    0.87 0.87 0.88
    """

    FACTOR = 0.95

    def _beta(self, beta: float) -> float:
        return self.FACTOR * beta

    def _gaussian(self, mu, M, size, form, rng):  # noqa: ANN001, ANN202
        M = M / self.FACTOR if form == "cov" else M * self.FACTOR
        return self._reference.sample_gaussian(mu, M, size=size, form=form, rng=rng)


class SynchronousIsingUnit(_DelegatingUnit):
    r"""An Ising unit that redraws every spin at once from the old state (no colouring); other methods exact.
    {params}
    Notes
    -----
    Each sweep draws every spin independently given the previous configuration :math:`s`:
    :math:`P(s'_i = +1 \mid s) = \sigma(2\beta\phi_i(s))`, :math:`\phi = Js + h`, so one sweep is the
    transition :math:`T(s \to s') = \prod_i P(s'_i \mid s)`. Its stationary law :math:`\pi = \pi T`
    (:func:`thermoref.pbit.synchronous_stationary_law`) is not :math:`e^{-\beta E}/Z`: on a bipartite graph
    it is the product of the two sublattice laws, with exact single-spin marginals and no correlation across
    the sublattices, so only joint and pair statistics see it. The ledger charges one phase per sweep.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend.broken import SynchronousIsingUnit
    >>> J = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> s = SynchronousIsingUnit().sample_ising(J, np.zeros(2), 1.0, n_sweeps=20, n_samples=100_000, rng=0)
    >>> print(round(float((s[:, 0] * s[:, 1]).mean()), 2), round(float(np.tanh(1.0)), 2))  # <s0 s1> vs exact
    0.0 0.76
    """

    def _ising(self, J, h, beta, n_sweeps, n_samples, init, rng):  # noqa: ANN001, ANN202
        n = h.size
        s = (2 * rng.integers(0, 2, size=(n_samples, n)) - 1).astype(np.float64) if init is None else init.astype(
            np.float64)
        for _ in range(n_sweeps):  # sweeps of a Markov chain: sequential by nature
            phi = (J @ s.T).T + h  # (n_samples, n), every field from the old state
            with np.errstate(over="ignore"):  # 2 beta phi beyond float64: sigma is exactly 0 or 1
                s = np.where(rng.random(s.shape) < special.expit(2.0 * beta * phi), 1.0, -1.0)
        self.ledger.charge(samples=n_samples, sweeps=n_samples * n_sweeps, updates=n_samples * n_sweeps * n,
                           phases=n_samples * n_sweeps)
        return s.astype(np.int8)


class Uint8IndexUnit(_DelegatingUnit):
    r"""A categorical unit whose index register has 8 bits: indices wrap modulo 256, returned as int64.
    {params}
    Notes
    -----
    The draw :math:`i \sim \mathrm{softmax}(\beta\ell)` is correct, but it passes through a ``uint8`` and is
    widened back to ``int64``, so the dtype looks right and the values are :math:`i \bmod 256`:

    .. math:: P(k) = \sum_{i \equiv k \ (\mathrm{mod}\ 256)} p_i, \qquad 0 \le k < 256.

    For 256 categories or fewer it is exact; beyond, mass moves to the low indices. Other methods are exact.

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30 (vocabularies of tens of thousands).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend.broken import Uint8IndexUnit
    >>> logits = np.where(np.arange(1000) == 700, 0.0, -np.inf)  # all mass on category 700
    >>> print(Uint8IndexUnit().sample_categorical(logits, 1.0, 3, rng=0))  # 700 - 2 * 256
    [188 188 188]
    """

    def _categorical(self, z, beta, size, rng):  # noqa: ANN001, ANN202
        out = self._reference.sample_categorical(z, beta, size, rng=rng)
        return out.astype(np.uint8).astype(np.int64)  # the wrap-around of an 8-bit register


class ReturnsInputUnit(_DelegatingUnit):
    r"""A lazy unit that returns its input, or its input's noiseless limit, without sampling.
    {params}
    Notes
    -----
    ``sample_ising`` returns ``init`` (with ``init=None``, the uniform random spins a chain would start from:
    zero sweeps); ``sample_custom`` returns ``init``; ``sample_binary`` returns :math:`[\ell > 0]`, the
    :math:`\beta \to \infty` limit of a p-bit (a comparator without noise); ``sample_categorical`` returns
    :math:`\arg\max_i \ell_i` for every draw (the :math:`\beta \to \infty` limit); ``sample_gaussian``
    returns the mean for every draw (zero covariance). Its laws are point masses; shapes and dtypes are right.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend.broken import ReturnsInputUnit
    >>> print(ReturnsInputUnit().sample_binary(np.array([-1.0, 0.5, 3.0]), 1.0, rng=0))
    [0 1 1]
    """

    def _ising(self, J, h, beta, n_sweeps, n_samples, init, rng):  # noqa: ANN001, ANN202
        if init is None:
            init = (2 * rng.integers(0, 2, size=(n_samples, h.size)) - 1).astype(np.int8)
        self.ledger.charge(samples=n_samples)
        return np.array(init, dtype=np.int8)

    def _binary(self, z, beta, rng):  # noqa: ANN001, ANN202
        self.ledger.charge(samples=z.size)
        return (z > 0).astype(np.int8)

    def _categorical(self, z, beta, size, rng):  # noqa: ANN001, ANN202
        top = np.argmax(z, axis=-1)[..., None]  # (..., 1)
        self.ledger.charge(samples=top.size * size)
        return np.repeat(top, size, axis=-1).astype(np.int64)

    def _gaussian(self, mu, M, size, form, rng):  # noqa: ANN001, ANN202
        self.ledger.charge(samples=size)
        return np.tile(mu, (size, 1))

    def _custom(self, energy, s, n_steps, beta, n_values, rng):  # noqa: ANN001, ANN202
        self.ledger.charge(samples=s.shape[0])
        return s.copy()


class HalfVocabularyPipeline(_DelegatingUnit):
    r"""Two categorical units in a pipeline, each owning half the vocabulary: draw k comes from unit k mod 2.
    {params}
    Notes
    -----
    Unit A owns the even indices and unit B the odd ones; draw :math:`k` of a row (along the ``size`` axis)
    is made by unit :math:`k \bmod 2` from its half of :math:`p = \mathrm{softmax}(\beta\ell)`, renormalized:

    .. math:: P(x_k = i) = p^{(k \bmod 2)}_i = \frac{p_i\,[i \equiv k \ (\mathrm{mod}\ 2)]}
              {\sum_{j \equiv k \ (\mathrm{mod}\ 2)} p_j}.

    A row's draws are independent but not identically distributed; pooled over an even number of slots their
    law is the mixture :math:`\tfrac12 p^{(0)} + \tfrac12 p^{(1)}`, which equals :math:`p` only when each half
    holds mass 1/2, so a test of pooled counts can miss it and a test per slot cannot. A half with no
    unmasked category hands its draws to the other unit (draws from :math:`p`). Other methods are exact.

    References
    ----------
    Huang, Y. et al. (2019) "GPipe: efficient training of giant neural networks using pipeline parallelism",
    NeurIPS 32 (pipelines that split work across units).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend.broken import HalfVocabularyPipeline
    >>> x = HalfVocabularyPipeline().sample_categorical(np.zeros(10), 1.0, 8, rng=0)
    >>> print((x % 2).tolist())  # the slot parity is the index parity
    [0, 1, 0, 1, 0, 1, 0, 1]
    """

    def _categorical(self, z, beta, size, rng):  # noqa: ANN001, ANN202
        out = np.empty(z.shape[:-1] + (size,), dtype=np.int64)
        for r in (0, 1):  # the two units
            mine = (np.arange(z.shape[-1]) % 2) == r  # (n,)
            half = np.where(mine, z, -np.inf)  # (..., n)
            empty = np.isneginf(half).all(axis=-1, keepdims=True)  # a unit that owns no unmasked category
            if size > r:
                out[..., r::2] = self._reference.sample_categorical(np.where(empty, z, half), beta,
                                                                    len(range(r, size, 2)), rng=rng)
        return out


class BiasedSourceUnit(_DelegatingUnit):
    r"""The NumPy reference driven by a biased random source: uniforms on :math:`[0, 0.99)` instead of :math:`[0, 1)`.
    {params}
    Notes
    -----
    Every method calls :class:`~thermoref.backend.NumpyBackend` with
    ``BiasedUniforms(rng, high=0.99)`` (:class:`~thermoref.backend.BiasedUniforms`) in place of ``rng``. A unit
    that reads high when :math:`u < p` then does so with probability :math:`\min(1, p/0.99)`: p-bits and
    heat-bath spins are biased toward their high state, and an inverse-CDF categorical draw never reaches the
    last 1 % of the CDF (the highest indices), the rest rescaled by 1/0.99. Gaussian draws use
    ``standard_normal``, which the source leaves ideal, so they are exact.

    References
    ----------
    Camsari, K. Y. et al. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend.broken import BiasedSourceUnit
    >>> logit = np.log(0.995 / 0.005)  # P(0) = 0.005: about 500 zeros in 100,000 bits
    >>> x = BiasedSourceUnit().sample_binary(np.full(100_000, logit), 1.0, rng=0)
    >>> print(int((x == 0).sum()))  # min(1, 0.995 / 0.99) = 1: the bit never reads 0
    0
    """

    HIGH = 0.99

    def _rng(self, rng: np.random.Generator) -> np.random.Generator:
        return BiasedUniforms(rng, high=self.HIGH)


for _cls in (TemperatureErrorUnit, SynchronousIsingUnit, Uint8IndexUnit, ReturnsInputUnit, HalfVocabularyPipeline,
             BiasedSourceUnit):
    if _cls.__doc__:  # None under python -OO
        _cls.__doc__ = _cls.__doc__.replace("{params}", _UNIT_PARAMETERS).replace("{{", "{").replace("}}", "}")
del _cls

#: Short name -> class of every deliberately broken unit, in the order the chapter reports them.
BROKEN_BACKENDS = {"temperature_error": TemperatureErrorUnit, "synchronous": SynchronousIsingUnit,
                   "uint8_index": Uint8IndexUnit, "returns_input": ReturnsInputUnit,
                   "half_vocabulary": HalfVocabularyPipeline, "biased_source": BiasedSourceUnit}
