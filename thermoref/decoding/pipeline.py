r"""Two sampling units in a pipeline: the half-vocabulary design, its exact law, and two exact pipelines.

A design in this field alternates two sampling units over the vocabulary to hide relaxation time: unit A owns
the even token ids, unit B the odd ones, and draw :math:`k` is made by unit :math:`k \bmod 2` from its half
alone (:class:`thermoref.backend.HalfVocabularyPipeline`). Its exact law is :func:`half_vocabulary_law`, its
distance from softmax :func:`half_vocabulary_error`. Two pipelines of the same two units are exact:
:class:`AlternatingPipeline` alternates them over *draws*, each with the full law, and
:class:`SplitVocabularyPipeline` keeps the halves but first chooses the half with probability
:math:`Z_\text{half}/Z` (two-stage, as :func:`thermoref.sampling.sample_hierarchical`). :func:`pipeline_rule`
turns any of them into a ``next_token`` rule for :func:`thermoref.transformer.generate` whose step :math:`s` is
the pipeline's draw :math:`s`, and :func:`pipeline_timing` models what each design hides in latency.

References: Huang, Y. et al. (2019) "GPipe: efficient training of giant neural networks using pipeline
parallelism", NeurIPS 32; Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_logits_with_max, check_beta, check_positive_int, check_probability, check_real
from ..backend.broken import _DelegatingUnit  # the validating, delegating base every unit of the suite shares
from ..backend.protocol import SamplingUnit
from ..backend.reference import NumpyBackend
from ..gibbs import logsumexp
from ..sampling import sample_categorical
from .laws import decoding_law

__all__ = ["half_vocabulary_law", "HalfVocabularyError", "half_vocabulary_error", "AlternatingPipeline",
           "SplitVocabularyPipeline", "pipeline_rule", "PIPELINE_DESIGNS", "PipelineTiming", "pipeline_timing"]

#: The designs :func:`pipeline_timing` compares, in its order.
PIPELINE_DESIGNS = ("single", "alternating", "half_vocabulary", "split")


def _unit_logits(z: np.ndarray) -> np.ndarray:
    """(..., 2, n): unit r's logits, its half (index parity r) with the rest at -inf, or all if its half is empty."""
    mine = (np.arange(z.shape[-1]) % 2) == np.arange(2)[:, None]  # (2, n)
    half = np.where(mine, z[..., None, :], -np.inf)  # (..., 2, n)
    empty = np.isneginf(half).all(axis=-1, keepdims=True)  # (..., 2, 1)
    return np.where(empty, z[..., None, :], half)


def half_vocabulary_law(logits: ArrayLike, *, beta: float = 1.0, draw: int | None = None) -> np.ndarray:
    r"""The exact law of the half-vocabulary pipeline: of draw ``draw``, or pooled over an even number of draws.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits :math:`\ell`; ``-inf`` masks a category.
    beta : float
        Inverse temperature in :math:`[0, \infty]`.
    draw : int, optional
        Position :math:`k \ge 0` of the draw along the pipeline (a ``size`` slot of
        :class:`thermoref.backend.HalfVocabularyPipeline`, or a generation step through :func:`pipeline_rule`);
        default: the pooled law.

    Returns
    -------
    ndarray of shape (..., n)
        :math:`p^{(k \bmod 2)}`, or the pooled mixture :math:`\tfrac12 (p^{(0)} + p^{(1)})`.

    Notes
    -----
    With :math:`p = \mathrm{softmax}(\beta\ell)` and :math:`w_r = \sum_{i \equiv r} p_i` the mass of half
    :math:`r` (ids of parity :math:`r`), unit :math:`r` draws from its half renormalized,

    .. math:: p^{(r)}_i = \frac{p_i\,[i \equiv r \ (\mathrm{mod}\ 2)]}{w_r}, \qquad
              \tfrac12\big(p^{(0)} + p^{(1)}\big)_i = \frac{p_i}{2 w_{i \bmod 2}},

    computed in log space (a half whose mass underflows keeps its exact conditional law). A half with no
    unmasked category hands its draws to the other unit: :math:`p^{(r)} = p`. The pooled law is the law of
    the draws' histogram over an even number of slots; it equals :math:`p` only when :math:`w_0 = 1/2`.

    References
    ----------
    Huang, Y. et al. (2019) "GPipe: efficient training of giant neural networks using pipeline parallelism",
    NeurIPS 32.

    Examples
    --------
    >>> import numpy as np
    >>> print(np.round(half_vocabulary_law(np.log([0.4, 0.3, 0.2, 0.1]), draw=1), 4))
    [0.   0.75 0.   0.25]
    >>> print(np.round(half_vocabulary_law(np.log([0.4, 0.3, 0.2, 0.1])), 4))
    [0.3333 0.375  0.1667 0.125 ]
    """
    z, _ = as_logits_with_max(logits)
    beta = check_beta(beta, scalar=True, allow_inf=True)
    if draw is not None:
        draw = check_positive_int(draw, "draw", minimum=0)
    q = decoding_law(_unit_logits(z), beta=beta)  # (..., 2, n): the two units' laws
    return q.mean(axis=-2) if draw is None else q[..., draw % 2, :]


@dataclass(frozen=True)
class HalfVocabularyError:
    r"""How far the half-vocabulary pipeline's laws are from softmax (:func:`half_vocabulary_error`).

    Attributes
    ----------
    half_mass : ndarray of shape (..., 2)
        :math:`w_0, w_1`: softmax mass of the even and of the odd ids.
    tv_draw : ndarray of shape (..., 2)
        Total variation from softmax of an even and of an odd draw.
    tv_pooled : ndarray of shape (...)
        Total variation from softmax of the pooled law (an even number of draws).

    Notes
    -----
    For two non-empty halves :math:`\mathrm{TV}(p^{(r)}, p) = 1 - w_r`, so the two draws' distances average
    exactly :math:`1/2` whatever the law, while :math:`\mathrm{TV}(\tfrac12(p^{(0)}+p^{(1)}), p) =
    |w_0 - \tfrac12|`, zero for balanced halves: a histogram of pooled draws can miss what every single draw
    gets wrong.

    References
    ----------
    Levin, D. A., Peres, Y. & Wilmer, E. L. (2009) *Markov Chains and Mixing Times*, AMS, ch. 4 (total
    variation).

    Examples
    --------
    >>> e = half_vocabulary_error([0.0, 0.0, 0.0, 0.0])
    >>> print(e.tv_draw.tolist(), float(e.tv_pooled))
    [0.5, 0.5] 0.0
    """

    half_mass: np.ndarray
    tv_draw: np.ndarray
    tv_pooled: np.ndarray


def half_vocabulary_error(logits: ArrayLike, *, beta: float = 1.0) -> HalfVocabularyError:
    r"""Total variation of the half-vocabulary pipeline's laws (per draw and pooled) from softmax.

    Parameters
    ----------
    logits : array_like of shape (..., n)
        Logits :math:`\ell`; ``-inf`` masks a category.
    beta : float
        Inverse temperature in :math:`[0, \infty]`.

    Returns
    -------
    HalfVocabularyError
        The half masses and the distances, each summed from the laws of :func:`half_vocabulary_law`.

    Notes
    -----
    :math:`\mathrm{TV}(q, p) = \tfrac12 \sum_i |q_i - p_i|` with :math:`p = \mathrm{softmax}(\beta\ell)`, for
    :math:`q = p^{(0)}, p^{(1)}` and the pooled mixture; the closed forms :math:`1 - w_r` and
    :math:`|w_0 - 1/2|` (:class:`HalfVocabularyError`) are the tests' oracle.

    References
    ----------
    Levin, D. A., Peres, Y. & Wilmer, E. L. (2009) *Markov Chains and Mixing Times*, AMS, ch. 4.

    Examples
    --------
    >>> import numpy as np
    >>> e = half_vocabulary_error(np.log([0.4, 0.3, 0.2, 0.1]))
    >>> print(np.round(e.half_mass, 4), np.round(e.tv_draw, 4), round(float(e.tv_pooled), 4))
    [0.6 0.4] [0.4 0.6] 0.1
    """
    z, _ = as_logits_with_max(logits)
    beta = check_beta(beta, scalar=True, allow_inf=True)
    p = decoding_law(z, beta=beta)  # (..., n)
    q = decoding_law(_unit_logits(z), beta=beta)  # (..., 2, n)
    parity = np.arange(z.shape[-1]) % 2  # (n,)
    w = np.stack([p[..., parity == 0].sum(-1), p[..., parity == 1].sum(-1)], axis=-1)  # (..., 2)
    tv = 0.5 * np.abs(q - p[..., None, :]).sum(-1)  # (..., 2)
    tv_pooled = 0.5 * np.abs(q.mean(axis=-2) - p).sum(-1)  # (...)
    return HalfVocabularyError(w, tv, tv_pooled)


_PIPELINE_PARAMETERS = r"""
    Parameters
    ----------
    tau0 : float
        Modeled time of one parallel update phase, > 0 (both units and the pipeline's own ledger).
    energy_per_update : float, optional
        Modeled energy of one single-unit update in joules (``None``: not modeled).

    Attributes
    ----------
    units : tuple of two NumpyBackend
        Unit A and unit B, each with its own :class:`~thermoref.backend.Ledger` of what it drew.
    ledger : Ledger
        The pipeline's ledger: every non-categorical call (made by the NumPy reference) and, per categorical
        call, the draws returned, both units' updates and the phases of the two units running side by side.
"""


class _Pipeline(_DelegatingUnit):
    """Two NumPy units behind the shared validation; subclasses define ``_categorical``."""

    def __init__(self, *, tau0: float = 1.0, energy_per_update: float | None = None) -> None:
        super().__init__(tau0=tau0, energy_per_update=energy_per_update)
        self.units = (NumpyBackend(tau0=tau0, energy_per_update=energy_per_update),
                      NumpyBackend(tau0=tau0, energy_per_update=energy_per_update))

    def _updates(self) -> int:
        return self.units[0].ledger.updates + self.units[1].ledger.updates


class AlternatingPipeline(_Pipeline):
    r"""Two units alternating over draws, each with the full law: draw k by unit k mod 2 (exact).
    {params}
    Notes
    -----
    Draw :math:`k` of a row (along ``size``) is made by unit :math:`k \bmod 2` from the whole
    :math:`p = \mathrm{softmax}(\beta\ell)`, so every draw has law :math:`p` and the draws are independent:
    the pipeline is the reference sampler with the work split in time. While one unit reads out a draw the
    other relaxes towards the next, which hides relaxation only when the next law is known in advance
    (:func:`pipeline_timing`). ``size`` draws take :math:`\lceil \text{size}/2 \rceil` phases.

    References
    ----------
    Huang, Y. et al. (2019) "GPipe: efficient training of giant neural networks using pipeline parallelism",
    NeurIPS 32.

    Examples
    --------
    >>> import numpy as np
    >>> unit = AlternatingPipeline()
    >>> x = unit.sample_categorical(np.zeros(10), 1.0, 8, rng=0)
    >>> print(x.shape, unit.units[0].ledger.samples, unit.units[1].ledger.samples, unit.ledger.phases)
    (8,) 4 4 4
    """

    def _categorical(self, z, beta, size, rng):  # noqa: ANN001, ANN202
        out = np.empty(z.shape[:-1] + (size,), dtype=np.int64)  # (..., size)
        before = self._updates()
        for r in (0, 1):  # unit r makes the draws at slots r, r + 2, ...
            if size > r:
                out[..., r::2] = self.units[r].sample_categorical(z, beta, len(range(r, size, 2)), rng=rng)
        self.ledger.charge(samples=out.size, updates=self._updates() - before, phases=(size + 1) // 2)
        return out


class SplitVocabularyPipeline(_Pipeline):
    r"""The half-vocabulary pipeline made exact: choose the half by its partition function, then draw in it.
    {params}
    Notes
    -----
    Unit :math:`r` owns the ids of parity :math:`r`, as in :class:`thermoref.backend.HalfVocabularyPipeline`.
    For each draw, stage 1 chooses half :math:`r` with probability :math:`Z_r/Z`,
    :math:`\ln Z_r = \mathrm{logsumexp}_{i \equiv r}\,\beta\ell_i`; stage 2 takes unit :math:`r`'s draw from
    its half, :math:`p^{(r)}_i = e^{\beta\ell_i}/Z_r`. Both units draw every time (in parallel, one draw is
    discarded), so the choice is independent of the draws and

    .. math:: P(x = i) = \frac{Z_{i \bmod 2}}{Z}\,\frac{e^{\beta\ell_i}}{Z_{i \bmod 2}} = \frac{e^{\beta\ell_i}}{Z},

    softmax exactly (the two-block case of :func:`thermoref.sampling.hierarchical_law`). The half-vocabulary
    design is this pipeline with stage 1 replaced by the draw's slot parity.

    References
    ----------
    Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 (indexed search by
    groups of categories).

    Examples
    --------
    >>> import numpy as np
    >>> x = SplitVocabularyPipeline().sample_categorical(np.log([0.7, 0.1, 0.1, 0.1]), 1.0, 100_000, rng=0)
    >>> print(np.round(np.bincount(x, minlength=4) / x.size, 2))
    [0.7 0.1 0.1 0.1]
    """

    def _categorical(self, z, beta, size, rng):  # noqa: ANN001, ANN202
        zs = _unit_logits(z)  # (..., 2, n)
        before = self._updates()
        draws = [self.units[r].sample_categorical(zs[..., r, :], beta, size, rng=rng) for r in (0, 1)]
        parity = np.arange(z.shape[-1]) % 2  # (n,)
        masked = np.isneginf(z)
        with np.errstate(over="ignore"):  # finite: the units refused any beta * logits beyond float64
            x = np.where(masked, -np.inf, beta * np.where(masked, 0.0, z))  # (..., n), masks kept at -inf
        log_Z = np.stack([logsumexp(np.where(parity == r, x, -np.inf), axis=-1) for r in (0, 1)], -1)  # (..., 2)
        half = sample_categorical(log_Z, size, rng=rng)  # (..., size): stage 1, a half by Z_r / Z
        out = np.where(half == 0, draws[0], draws[1])  # (..., size)
        self.ledger.charge(samples=out.size, updates=self._updates() - before + out.size, phases=size)
        return out


for _cls in (AlternatingPipeline, SplitVocabularyPipeline):
    if _cls.__doc__:  # None under python -OO
        _cls.__doc__ = _cls.__doc__.replace("{params}", _PIPELINE_PARAMETERS)
del _cls


def pipeline_rule(unit: SamplingUnit, *, beta: float = 1.0
                  ) -> Callable[[np.ndarray, int, np.ndarray, np.random.Generator], np.ndarray]:
    r"""A ``next_token`` rule for :func:`thermoref.transformer.generate`: generation step s is draw s of a pipeline.

    Parameters
    ----------
    unit : thermoref.backend.SamplingUnit
        A unit whose draw depends on its slot only through the slot's parity (the three two-unit pipelines,
        or any exact unit).
    beta : float
        Inverse temperature of the draws, :math:`\ge 0`.

    Returns
    -------
    callable
        ``rule(logits (B, V), step, tokens, rng) -> ids (B,)``; it needs ``rng`` (pass one to ``generate``).

    Notes
    -----
    Passed as ``backend=``, a unit is asked for one draw per step (``size=1``), so a pipeline restarts at its
    slot 0 every step: the half-vocabulary design would then draw every token from the even ids. The rule
    instead asks for :math:`(s \bmod 2) + 1` draws at step :math:`s` and keeps the last, so the token of step
    :math:`s` comes from unit :math:`s \bmod 2`, with the law :func:`half_vocabulary_law` (``draw=s``) for
    :class:`thermoref.backend.HalfVocabularyPipeline`.

    References
    ----------
    Huang, Y. et al. (2019) "GPipe: efficient training of giant neural networks using pipeline parallelism",
    NeurIPS 32.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend import HalfVocabularyPipeline
    >>> rule = pipeline_rule(HalfVocabularyPipeline())
    >>> rng = np.random.default_rng(0)
    >>> print([int(rule(np.zeros((1, 10)), s, None, rng)[0] % 2) for s in range(6)])
    [0, 1, 0, 1, 0, 1]
    """
    if not isinstance(unit, SamplingUnit):
        raise TypeError(f"unit: expected a thermoref.backend.SamplingUnit, got {type(unit).__name__}")
    beta = check_beta(beta, scalar=True)

    def rule(logits: np.ndarray, step: int, tokens: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        if rng is None:
            raise TypeError("rng: a pipeline draws at random; pass rng to generate")
        step = check_positive_int(step, "step", minimum=0)
        return np.asarray(unit.sample_categorical(logits, beta, step % 2 + 1, rng=rng))[..., -1]

    return rule


@dataclass(frozen=True)
class PipelineTiming:
    r"""Latency and throughput of the four designs of :data:`PIPELINE_DESIGNS` (:func:`pipeline_timing`).

    Attributes
    ----------
    designs : tuple of str
        :data:`PIPELINE_DESIGNS`.
    latency : ndarray of shape (4,)
        Time from a law's logits to its token, in units of :math:`\tau_0`: the time per token of one
        autoregressive stream (its next law needs this token).
    throughput : ndarray of shape (4,)
        Tokens per :math:`\tau_0` in steady state when laws are available ahead (independent streams, or
        many draws from one law).
    exact : tuple of bool
        Whether the design samples softmax (the half-vocabulary design does not).

    Notes
    -----
    Latency is time per token of one stream, :math:`t_\text{mix} + t_\text{read}` for one unit; throughput
    is capped by the shared read-out port, :math:`\le 1/t_\text{read}`. The model and its assumptions:
    :func:`pipeline_timing`.

    References
    ----------
    Little, J. D. C. (1961) "A proof for the queuing formula L = lambda W", Oper. Res. 9, 383-387.

    Examples
    --------
    >>> t = pipeline_timing(10.0, 1.0)
    >>> print(t.designs[3], float(t.latency[3]), round(float(t.throughput[3]), 4), t.exact[3])
    split 6.0 0.3333 True
    """

    designs: tuple[str, ...]
    latency: np.ndarray
    throughput: np.ndarray
    exact: tuple[bool, ...]


def pipeline_timing(t_mix: float, t_read: float, *, t_partition: float = 1.0, mix_exponent: float = 1.0,
                    heavier_half: float = 0.5) -> PipelineTiming:
    r"""A latency model of one unit, two units alternating, the half-vocabulary and the split pipelines.

    Parameters
    ----------
    t_mix : float
        Relaxation time of one unit over the whole vocabulary, per draw, in :math:`\tau_0`, >= 0.
    t_read : float
        Read-out time of one draw (latch, convert, transfer), in :math:`\tau_0`, > 0.
    t_partition : float
        Time of the split design's stage 1 (two half partition functions and the choice), >= 0.
    mix_exponent : float
        :math:`a` in :math:`t_\text{mix}(n) \propto n^a` for a unit spanning :math:`n` tokens, >= 0
        (0: size-independent, 1: a sequential sweep).
    heavier_half : float
        Long-run fraction of the split design's draws that fall in the busier half, in [1/2, 1].

    Returns
    -------
    PipelineTiming
        Latency and throughput of each design.

    Notes
    -----
    Assumptions: a unit relaxes for its :math:`t_\text{mix}` on a law, then is read out for
    :math:`t_\text{read}`, during which it cannot relax; one read-out port is shared, so no design exceeds
    :math:`1/t_\text{read}` tokens per :math:`\tau_0`; a half-vocabulary unit relaxes in
    :math:`t_h = 2^{-a} t_\text{mix}`; stage 1 needs only the logits, so it runs while the units relax.

    * one unit: latency and :math:`1/\text{throughput}` both :math:`t_\text{mix} + t_\text{read}`;
    * two units alternating over draws: latency :math:`t_\text{mix} + t_\text{read}`, throughput
      :math:`\min(2/(t_\text{mix} + t_\text{read}), 1/t_\text{read})`;
    * half vocabulary: latency :math:`t_h + t_\text{read}`, throughput
      :math:`\min(2/(t_h + t_\text{read}), 1/t_\text{read})` (and the wrong law);
    * split: latency :math:`\max(t_\text{partition}, t_h) + t_\text{read}`, throughput
      :math:`\min(1/(w(t_h + t_\text{read})), 1/t_\text{read})`,

    with :math:`w` = ``heavier_half``: unit :math:`r` serves the fraction :math:`w_r` of the draws, each
    costing it :math:`t_h + t_\text{read}`. Alternation hides relaxation only across laws known in advance;
    for one stream it hides nothing. The half-vocabulary design's extra throughput over the split,
    :math:`2w`, is the imbalance :math:`w \ne 1/2` that makes it wrong.

    References
    ----------
    Little, J. D. C. (1961) "A proof for the queuing formula L = lambda W", Oper. Res. 9, 383-387.

    Examples
    --------
    >>> t = pipeline_timing(10.0, 1.0, heavier_half=0.9)
    >>> print(dict(zip(t.designs, np.round(t.throughput, 4).tolist())))
    {'single': 0.0909, 'alternating': 0.1818, 'half_vocabulary': 0.3333, 'split': 0.1852}
    """
    t_mix = check_real(t_mix, "t_mix", nonnegative=True)
    t_read = check_real(t_read, "t_read", positive=True)
    t_partition = check_real(t_partition, "t_partition", nonnegative=True)
    a = check_real(mix_exponent, "mix_exponent", nonnegative=True)
    w = check_probability(heavier_half, "heavier_half")
    if w < 0.5:
        raise ValueError(f"heavier_half: expected a fraction in [0.5, 1] (the busier half), got {w!r}")
    t_h = t_mix * 2.0 ** -a
    cap = 1.0 / t_read
    latency = np.array([t_mix + t_read, t_mix + t_read, t_h + t_read, max(t_partition, t_h) + t_read])
    throughput = np.array([1.0 / (t_mix + t_read), min(2.0 / (t_mix + t_read), cap), min(2.0 / (t_h + t_read), cap),
                           min(1.0 / (w * (t_h + t_read)), cap)])
    return PipelineTiming(PIPELINE_DESIGNS, latency, throughput, (True, True, False, True))
