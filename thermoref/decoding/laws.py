r"""Next-token laws: temperature, top-k, nucleus (top-p), min-p and a repetition penalty as exact transforms.

Each transform maps the logits :math:`\ell` of a next-token law to new log-weights (``-inf`` = removed), so the
transformed law is a function (:func:`decoding_law`, exact) and its sampler (:func:`sample_decoding`) draws from
that same function through ``rng``, a :class:`thermoref.backend.SamplingUnit` or the two-stage
:func:`thermoref.sampling.sample_hierarchical`. :func:`decoding_rule` packages a schedule and the transforms as a
``next_token`` rule for :func:`thermoref.transformer.generate`.

References: Holtzman, A. et al. (2020) "The curious case of neural text degeneration", ICLR (nucleus sampling);
Fan, A., Lewis, M. & Dauphin, Y. (2018) "Hierarchical neural story generation", ACL (top-k); Nguyen, M. N. et
al. (2024) "Turning up the heat: min-p sampling for creative and coherent LLM outputs", arXiv:2407.01082;
Keskar, N. S. et al. (2019) "CTRL: a conditional transformer language model", arXiv:1909.05858 (repetition
penalty).
"""

from __future__ import annotations

import numbers
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from .._validation import (
    as_float_array,
    as_logits,
    as_rng,
    check_beta,
    check_positive_int,
    check_real,
    check_returned_indices,
)
from ..gibbs import softmax
from ..sampling import categorical_counts, sample_categorical, sample_hierarchical

__all__ = ["decoding_logits", "decoding_law", "sample_decoding", "decoding_rule"]


def _check_transforms(top_k, top_p, min_p, repetition_penalty):
    """Validated (top_k, top_p, min_p, penalty); ``None`` means the transform is off."""
    if top_k is not None:
        top_k = check_positive_int(top_k, "top_k")
    if top_p is not None:
        top_p = check_real(top_p, "top_p")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p: must lie in (0, 1], got {top_p!r}")
    if min_p is not None:
        min_p = check_real(min_p, "min_p")
        if not 0 <= min_p <= 1:
            raise ValueError(f"min_p: must lie in [0, 1], got {min_p!r}")
    penalty = check_real(repetition_penalty, "repetition_penalty", nonnegative=True)
    return top_k, top_p, min_p, penalty


def _penalize(z: np.ndarray, counts, penalty: float) -> np.ndarray:
    """``z - penalty * counts`` (the energy term), validated; masks stay ``-inf``."""
    if counts is None:
        if penalty != 0:
            raise ValueError("counts: required when repetition_penalty is not 0")
        return z
    c = as_float_array(counts, "counts", min_ndim=1)
    if (c < 0).any():
        raise ValueError("counts: must be non-negative")
    try:
        shape = np.broadcast_shapes(c.shape, z.shape)
    except ValueError:
        shape = None
    if shape != z.shape:
        raise ValueError(f"counts: shape {c.shape} does not broadcast to the logits' shape {z.shape}")
    if penalty == 0:
        return z
    with np.errstate(over="ignore", invalid="ignore"):
        out = z - penalty * c
    if np.isnan(out).any() or (np.isneginf(out) & np.isfinite(z)).any():
        raise ValueError("repetition_penalty: penalty * counts overflows float64")
    return out


def _temper(z: np.ndarray, beta: float) -> np.ndarray:
    r"""``beta * (z - max z)`` per row: the log-weights of :math:`e^{\beta z}`, row maximum 0, masks ``-inf``.

    ``beta = inf`` keeps the row maxima (log-weight 0) and removes the rest; ``beta = 0`` is uniform over the
    unmasked tokens.
    """
    top = np.max(z, axis=-1, keepdims=True)  # (..., 1), finite: as_logits refused all-masked rows
    masked = np.isneginf(z)
    if beta == np.inf:
        return np.where(z == top, 0.0, -np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        x = beta * (z - top)
    return np.where(masked, -np.inf, x)


def _top_k(x: np.ndarray, k: int) -> np.ndarray:
    n = x.shape[-1]
    if k >= n:
        return x
    kth = np.partition(x, n - k, axis=-1)[..., n - k:n - k + 1]  # (..., 1): the k-th largest log-weight
    return np.where(x >= kth, x, -np.inf)


def _top_p(x: np.ndarray, p: float) -> np.ndarray:
    if p >= 1:
        return x
    xs = -np.sort(-x, axis=-1)  # (..., n) descending
    w = np.exp(xs)  # row maximum is 0: w[..., 0] == 1, no overflow
    cum = np.cumsum(w, axis=-1)  # (..., n)
    need = np.sum(cum < p * cum[..., -1:], axis=-1, keepdims=True)  # (..., 1): tokens before the mass reaches p
    t = np.take_along_axis(xs, np.minimum(need, x.shape[-1] - 1), axis=-1)  # (..., 1) threshold log-weight
    return np.where(x >= t, x, -np.inf)


def _min_p(x: np.ndarray, m: float) -> np.ndarray:
    return np.where(np.exp(x) >= m, x, -np.inf)  # exp(x) = p_i / p_max, as the row maximum of x is 0


def decoding_logits(
    logits: ArrayLike,
    *,
    beta: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    counts: ArrayLike | None = None,
    repetition_penalty: float = 0.0,
) -> np.ndarray:
    r"""Log-weights of the transformed next-token law: penalty, temperature, then top-k, top-p and min-p.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Next-token logits :math:`\ell = -E`; ``-inf`` masks a token (not every token of a row).
    beta : float
        Inverse temperature :math:`\beta \in [0, \infty]` (``inf``: the argmax law, ties kept).
    top_k : int, optional
        Keep the tokens whose probability is at least the :math:`k`-th largest (ties at the boundary kept).
    top_p : float in (0, 1], optional
        Nucleus: keep the smallest set of most probable tokens whose mass reaches ``top_p`` (ties kept).
    min_p : float in [0, 1], optional
        Keep the tokens with :math:`p_i \ge` ``min_p`` :math:`\cdot\,p_{\max}`.
    counts : array_like broadcastable to logits.shape, optional
        How often each token has occurred (non-negative; required when ``repetition_penalty`` is not 0).
    repetition_penalty : float
        Energy per occurrence :math:`\lambda \ge 0` (0: off).

    Returns
    -------
    ndarray of shape (..., V)
        :math:`x_i = \beta(\ell_i - \lambda c_i) - \max_j(\cdot)` on the kept tokens (row maximum 0), ``-inf`` on
        the removed and masked ones; ``softmax(x)`` is :func:`decoding_law`.

    Notes
    -----
    The order is fixed: (1) the penalty :math:`E_i \to E_i + \lambda c_i`, i.e. :math:`\ell_i \to \ell_i -
    \lambda c_i` (an energy term, like a "frequency penalty"); (2) temperature, :math:`p \propto
    e^{\beta(\ell - \lambda c)}`; (3) top-k, (4) top-p on the law renormalized after top-k, (5) min-p. Each
    truncation keeps an upper set :math:`\{i : x_i \ge t\}` of the tempered law, so tokens of equal
    probability are kept or removed together (the law never depends on token ids) and the most probable token
    is always kept. Top-p's threshold :math:`t` is the largest log-weight with
    :math:`\sum_{j: x_j \ge t} p_j \ge p`: the smallest nucleus, grown to include every token tied with its
    last one. (Its mass comparison is in floating point: a prefix mass within rounding of ``top_p`` may fall
    either way.) Min-p, :math:`p_i/p_{\max} = e^{x_i} \ge m`, commutes with the others.

    The energy penalty is shift-invariant (adding a constant to every logit leaves the law unchanged) and
    multiplies the odds of a token seen :math:`c` times by :math:`e^{-\beta\lambda c}` whatever its logit.
    CTRL's convention (Keskar et al. 2019) divides a positive logit of a seen token by :math:`\theta` and
    multiplies a negative one by :math:`\theta`: its effect depends on the logit's sign and size, so it is not
    shift-invariant and is no energy term of the tokens alone.

    References
    ----------
    Holtzman, A. et al. (2020) "The curious case of neural text degeneration", ICLR; Fan, A., Lewis, M. &
    Dauphin, Y. (2018) "Hierarchical neural story generation", ACL; Nguyen, M. N. et al. (2024) "Turning up
    the heat: min-p sampling for creative and coherent LLM outputs", arXiv:2407.01082; Keskar, N. S. et al.
    (2019) "CTRL: a conditional transformer language model", arXiv:1909.05858.

    Examples
    --------
    >>> import numpy as np
    >>> print(decoding_logits(np.log([0.5, 0.3, 0.15, 0.05]), top_p=0.75))
    [ 0.         -0.51082562        -inf        -inf]
    """
    z = as_logits(logits)
    b = check_beta(beta, allow_inf=True, scalar=True)
    top_k, top_p, min_p, penalty = _check_transforms(top_k, top_p, min_p, repetition_penalty)
    z = _penalize(z, counts, penalty)
    if np.isneginf(z).all(axis=-1).any():  # cannot happen (checked), kept as a guard for the law's existence
        raise ValueError("logits: every token of some row is masked")
    x = _temper(z, b)  # (..., V), row maximum 0
    if top_k is not None:
        x = _top_k(x, top_k)
    if top_p is not None:
        x = _top_p(x, top_p)
    if min_p is not None:
        x = _min_p(x, min_p)
    return x


def decoding_law(
    logits: ArrayLike,
    *,
    beta: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    counts: ArrayLike | None = None,
    repetition_penalty: float = 0.0,
) -> np.ndarray:
    r"""The transformed next-token law :math:`\mathrm{softmax}(x)`, :math:`x` = :func:`decoding_logits`.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Next-token logits; ``-inf`` masks a token.
    beta : float
        Inverse temperature in :math:`[0, \infty]`.
    top_k : int, optional
        Top-k truncation, as in :func:`decoding_logits`.
    top_p : float in (0, 1], optional
        Nucleus truncation.
    min_p : float in [0, 1], optional
        Min-p truncation.
    counts : array_like broadcastable to logits.shape, optional
        Occurrence counts for the penalty.
    repetition_penalty : float
        Energy per occurrence, >= 0.

    Returns
    -------
    ndarray of shape (..., V)
        :math:`q_i = \mathbb 1[i \in S]\,e^{\beta(\ell_i - \lambda c_i)} / \sum_{j \in S} e^{\beta(\ell_j -
        \lambda c_j)}` over the kept set :math:`S`; rows sum to 1.

    Notes
    -----
    A truncation is a conditioning: :math:`q = p(\cdot \mid S)`, so the removed mass :math:`1 - p(S)` is
    spread over :math:`S` in proportion to :math:`p`, and :math:`\mathrm{KL}(q\,\|\,p) = -\ln p(S)`.

    References
    ----------
    Holtzman, A. et al. (2020) "The curious case of neural text degeneration", ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> print(np.round(decoding_law(np.log([0.5, 0.3, 0.15, 0.05]), top_k=2), 6))
    [0.625 0.375 0.    0.   ]
    """
    x = decoding_logits(logits, beta=beta, top_k=top_k, top_p=top_p, min_p=min_p, counts=counts,
                        repetition_penalty=repetition_penalty)
    return softmax(x, axis=-1)


def _draw(x: np.ndarray, size, rng, backend, block_size) -> np.ndarray:
    """``size`` draws per row of log-weights ``x`` (..., V) through a unit, two stages, or sample_categorical."""
    if backend is not None:
        from ..backend import SamplingUnit

        if not isinstance(backend, SamplingUnit):
            raise TypeError(f"backend: expected None or a thermoref.backend.SamplingUnit, got {type(backend).__name__}")
        if block_size is not None:
            raise ValueError("block_size: two-stage sampling goes through thermoref.sampling; pass no backend")
        k = 1 if size is None else size
        out = check_returned_indices(backend.sample_categorical(x, 1.0, k, rng=rng), "backend",
                                     x.shape[:-1] + (k,), x.shape[-1], "sample_categorical")  # (..., k): checked
        return out[..., 0] if size is None else out
    if block_size is not None:
        bs = min(check_positive_int(block_size, "block_size"), x.shape[-1])  # a block wider than V: one block
        pad = (-x.shape[-1]) % bs
        if pad:
            x = np.concatenate([x, np.full(x.shape[:-1] + (pad,), -np.inf)], axis=-1)  # masked padding
        return sample_hierarchical(x, bs, size, rng=rng)
    return sample_categorical(x, size, rng=rng)


def sample_decoding(
    logits: ArrayLike,
    size: int | None = None,
    *,
    rng: np.random.Generator | int,
    beta: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    counts: ArrayLike | None = None,
    repetition_penalty: float = 0.0,
    backend: object | None = None,
    block_size: int | None = None,
) -> np.ndarray:
    r"""Draw tokens from :func:`decoding_law`.

    Parameters
    ----------
    logits : array_like of shape (..., V)
        Next-token logits; ``-inf`` masks a token.
    size : int, optional
        Draws per row; ``None`` for one draw without a trailing axis.
    rng : numpy.random.Generator or int
        Source of randomness.
    beta : float
        Inverse temperature in :math:`[0, \infty]`.
    top_k : int, optional
        Top-k truncation.
    top_p : float in (0, 1], optional
        Nucleus truncation.
    min_p : float in [0, 1], optional
        Min-p truncation.
    counts : array_like broadcastable to logits.shape, optional
        Occurrence counts for the penalty.
    repetition_penalty : float
        Energy per occurrence, >= 0.
    backend : thermoref.backend.SamplingUnit, optional
        Draw through the unit's ``sample_categorical(x, 1.0, size, rng=rng)`` on the masked log-weights
        :math:`x` (temperature already applied). Default: :func:`thermoref.sampling.sample_categorical`.
    block_size : int, optional
        Draw in two stages, block by its partition function then token
        (:func:`thermoref.sampling.sample_hierarchical`; the vocabulary is padded with masked tokens to a
        multiple of ``block_size``). Not with ``backend``.

    Returns
    -------
    ndarray of int64, shape logits.shape[:-1] (size None) or logits.shape[:-1] + (size,)
        Token ids; a removed or masked token is never drawn.

    Notes
    -----
    Every route draws from :math:`q = \mathrm{softmax}(x)` exactly: the truncation sets :math:`x_i = -\infty`,
    a mask every sampler honours, and the two-stage route gives block :math:`b` probability :math:`Z_b/Z`,
    then token :math:`i` probability :math:`e^{x_i}/Z_b`.

    References
    ----------
    Holtzman, A. et al. (2020) "The curious case of neural text degeneration", ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> x = sample_decoding(np.log([0.5, 0.3, 0.15, 0.05]), 6, rng=0, top_k=2)
    >>> bool(np.isin(x, [0, 1]).all()), x.shape
    (True, (6,))
    """
    x = decoding_logits(logits, beta=beta, top_k=top_k, top_p=top_p, min_p=min_p, counts=counts,
                        repetition_penalty=repetition_penalty)
    if size is not None:
        size = check_positive_int(size, "size")
    return _draw(x, size, as_rng(rng), backend, block_size)


def _check_schedule(schedule) -> np.ndarray:
    s = check_beta(schedule, "schedule", allow_inf=True)
    if s.ndim > 1 or s.size == 0:
        raise ValueError(f"schedule: expected an inverse temperature or a 1-d array of them, got shape {s.shape}")
    return s.reshape(-1)


def decoding_rule(
    *,
    schedule: ArrayLike = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    repetition_penalty: float = 0.0,
    relax: ArrayLike | None = None,
    backend: object | None = None,
    block_size: int | None = None,
) -> Callable[[np.ndarray, int, np.ndarray, np.random.Generator], np.ndarray]:
    r"""A ``next_token`` rule for :func:`thermoref.transformer.generate`: schedule, penalty, truncations, draw.

    Parameters
    ----------
    schedule : float or array_like of shape (S,)
        Inverse temperature at each generation step, in :math:`[0, \infty]` (e.g. from
        :func:`thermoref.decoding.beta_schedule`); steps beyond the last hold its value.
    top_k : int, optional
        Top-k truncation.
    top_p : float in (0, 1], optional
        Nucleus truncation.
    min_p : float in [0, 1], optional
        Min-p truncation.
    repetition_penalty : float
        Energy per occurrence of a token in the sequence so far (prompt included), >= 0.
    relax : array_like of shape (R,), optional
        Draw each token by an annealed Metropolis chain of ``R`` sweeps on the transformed law, sweep ``r`` at
        inverse temperature ``relax[r]`` (fractions in [0, 1] of the step's law; see
        :func:`thermoref.decoding.sample_annealed`), started at the row's most probable token; default: an
        exact draw. Not with ``backend`` or ``block_size``.
    backend : thermoref.backend.SamplingUnit, optional
        Unit that draws from the transformed log-weights.
    block_size : int, optional
        Two-stage draw (:func:`thermoref.sampling.sample_hierarchical`).

    Returns
    -------
    callable
        ``rule(logits (B, V), step, tokens (B, T0 + step), rng) -> ids (B,)``.

    Notes
    -----
    At step :math:`s` the token is drawn from :func:`thermoref.decoding.decoding_law` with
    :math:`\beta_s` = ``schedule[min(s, S - 1)]`` and counts :math:`c_v` = occurrences of :math:`v` in
    ``tokens``; with ``relax`` its law is :func:`thermoref.decoding.annealed_law` of those log-weights.

    References
    ----------
    Holtzman, A. et al. (2020) "The curious case of neural text degeneration", ICLR.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, generate, init_params
    >>> cfg = TransformerConfig(vocab_size=5, context=6, d_model=8, n_heads=2, n_layers=1)
    >>> rule = decoding_rule(schedule=[0.5, 1.0, 2.0], top_k=3, repetition_penalty=0.5)
    >>> generate(init_params(cfg, rng=0), [[1, 2]], 3, cfg, rng=0, next_token=rule).shape
    (1, 5)
    """
    betas = _check_schedule(schedule)
    top_k, top_p, min_p, penalty = _check_transforms(top_k, top_p, min_p, repetition_penalty)
    if block_size is not None:
        block_size = check_positive_int(block_size, "block_size")
    if backend is not None:
        from ..backend import SamplingUnit

        if not isinstance(backend, SamplingUnit):
            raise TypeError(f"backend: expected None or a thermoref.backend.SamplingUnit, got {type(backend).__name__}")
        if block_size is not None:
            raise ValueError("block_size: two-stage sampling goes through thermoref.sampling; pass no backend")
    if relax is not None:
        from .schedules import _check_betas

        relax = _check_betas(relax, "relax")
        if (relax > 1).any():
            raise ValueError("relax: fractions of the step's inverse temperature must lie in [0, 1]")
        if backend is not None or block_size is not None:
            raise ValueError("relax: an annealed chain draws by itself; pass no backend or block_size")

    def rule(logits: np.ndarray, step: int, tokens: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        if rng is None:
            raise TypeError("rng: a decoding rule samples; pass rng to generate")
        if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"step: expected a non-negative integer, got {step!r}")
        b = float(betas[min(int(step), betas.size - 1)])
        V = np.shape(logits)[-1]
        counts = categorical_counts(tokens, V) if penalty else None  # (B, V)
        x = decoding_logits(logits, beta=b, top_k=top_k, top_p=top_p, min_p=min_p, counts=counts,
                            repetition_penalty=penalty)  # (B, V)
        if relax is not None:
            from .schedules import sample_annealed

            return sample_annealed(x, relax, start=np.argmax(x, axis=-1), rng=rng)
        return _draw(x, None, rng, backend, block_size)

    return rule
