r"""Generation with a KV cache: each new token costs one query per layer, not a pass over the whole prefix.

The keys and values of a causal transformer at position :math:`t` depend only on tokens :math:`\le t`, so they
can be kept (the KV cache) and each step computes the new token's query, key and value only; its attention
weights over the cached keys are those a full recomputation would give, bit for bit up to the order of
floating-point sums. The next token is the argmax of the logits (greedy, ``temperature = 0``) or a draw from
:math:`\mathrm{softmax}(\ell/kT)` (:func:`thermoref.sampling.sample_categorical` with :math:`\beta = 1/kT`).

References: Pope, R. et al. (2022) "Efficiently scaling transformer inference", arXiv:2211.05102 (KV cache);
Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) Cognitive Science 9, 147 (sampling at a temperature).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from .._validation import (
    as_rng,
    check_allocation,
    check_bool,
    check_callable,
    check_positive_int,
    check_real,
    check_returned_indices,
)
from ..backend.protocol import SamplingUnit
from ..sampling import sample_categorical
from .config import TransformerConfig, _check_config, _check_dtype
from .model import _check_call, _check_overflow, _forward
from .seam import AttentionSeam


def _rule_token(rule: Callable, last: np.ndarray, step: int, tokens: np.ndarray,
                rng: np.random.Generator | None) -> np.ndarray:
    """The ids (B,) a decoding rule returns for logits (B, V), checked (shape, integers in range)."""
    return check_returned_indices(rule(last.copy(), step, tokens.copy(), rng), "next_token", (last.shape[0],),
                                  last.shape[1])


def _next_token(unit: SamplingUnit, last: np.ndarray, beta: float, rng: np.random.Generator) -> np.ndarray:
    """One token per row of logits (B, V) drawn by a sampling unit at ``beta``, checked (shape, range)."""
    idx = check_returned_indices(unit.sample_categorical(last.astype(np.float64), beta, 1, rng=rng), "backend",
                                 (last.shape[0], 1), last.shape[1], "sample_categorical")  # (B, 1)
    return idx[:, 0]

__all__ = ["KVCache", "generate"]


@dataclass
class KVCache:
    r"""The keys and values of every layer and head for the positions processed so far.

    Parameters
    ----------
    keys : ndarray of shape (L, B, H, T_max, d_h)
        Key vectors; positions ``length`` and beyond are not yet written.
    values : ndarray of shape (L, B, H, T_max, d_h)
        Value vectors, likewise.
    length : int
        Number of positions written.

    Attributes
    ----------
    keys, values : ndarray of shape (L, B, H, T_max, d_h)
        As given.
    length : int
        As given.

    Notes
    -----
    In a causal transformer the key :math:`k_t = \mathrm{LN}(x_t)W_k + b_k` of position :math:`t` depends on
    tokens :math:`\le t` only, so it never changes once computed. Memory: :math:`2LBHT_{\max}d_h` numbers.

    References
    ----------
    Pope, R. et al. (2022) "Efficiently scaling transformer inference", arXiv:2211.05102.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig
    >>> cache = KVCache.empty(TransformerConfig(vocab_size=5, context=6, d_model=8, n_heads=2, n_layers=1), 3)
    >>> cache.keys.shape, cache.length
    ((1, 3, 2, 6, 4), 0)
    """

    keys: np.ndarray
    values: np.ndarray
    length: int = 0

    @classmethod
    def empty(cls, config: TransformerConfig, batch: int, dtype: type | str = np.float64) -> "KVCache":
        r"""An empty cache for ``batch`` sequences of a model.

        Parameters
        ----------
        config : TransformerConfig
            The model's shape.
        batch : int
            Number of sequences :math:`B`.
        dtype : {numpy.float64, numpy.float32}
            Floating type (that of the parameters).

        Returns
        -------
        KVCache
            Zero arrays of shape (L, B, H, T_max, d_h) and ``length = 0``.

        Examples
        --------
        >>> from thermoref.transformer import TransformerConfig
        >>> cfg = TransformerConfig(vocab_size=5, context=6, d_model=8, n_heads=2, n_layers=1)
        >>> KVCache.empty(cfg, 2).values.shape
        (1, 2, 2, 6, 4)
        """
        _check_config(config)
        batch = check_positive_int(batch, "batch")
        dt = _check_dtype(dtype)
        shape = (config.n_layers, batch, config.n_heads, config.context, config.head_dim)
        check_allocation((2,) + shape, "batch", dt.itemsize)
        return cls(np.zeros(shape, dtype=dt), np.zeros(shape, dtype=dt), 0)


def generate(
    params: Mapping[str, ArrayLike],
    prompt: ArrayLike,
    n_new: int,
    config: TransformerConfig,
    *,
    temperature: float = 0.0,
    rng: np.random.Generator | int | None = None,
    seam: AttentionSeam | None = None,
    return_logits: bool = False,
    backend: SamplingUnit | None = None,
    next_token: Callable[[np.ndarray, int, np.ndarray, np.random.Generator | None], ArrayLike] | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Extend each prompt by ``n_new`` tokens, one at a time, through a KV cache.

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by param_shapes
        Parameters named as in :func:`thermoref.transformer.param_shapes`.
    prompt : array_like of int, shape (T0,) or (B, T0)
        Prompt token ids, :math:`T_0\ge1`.
    n_new : int
        Tokens to generate, :math:`\ge 0`, with :math:`T_0 + n_{\rm new} - 1 \le` ``context`` (the last
        generated token is never read).
    config : TransformerConfig
        The model's shape.
    temperature : float
        :math:`kT\ge0` of the next-token law; 0 is greedy (argmax, ties to the lowest id).
    rng : numpy.random.Generator or int, optional
        Required when ``temperature > 0`` or ``seam`` samples.
    seam : AttentionSeam, optional
        How heads compute their weights (default: exact).
    return_logits : bool
        Also return the logits each new token was chosen from.
    backend : thermoref.backend.SamplingUnit, optional
        The unit that draws the next token at :math:`kT > 0`, through its
        ``sample_categorical(logits, 1/kT, 1, rng=rng)``; default: :func:`thermoref.sampling.sample_categorical`.
        (Sampled attention's unit is the seam's ``backend``.)
    next_token : callable, optional
        A decoding rule that replaces the temperature draw: ``next_token(logits, step, tokens, rng)`` gets the
        last position's logits (B, V), the step index ``s`` (0-based), the tokens so far (B, T0 + s) and the
        Generator (``None`` if no ``rng`` was given), and returns B token ids in [0, V) (checked). Schedules,
        truncations and penalties of :mod:`thermoref.decoding` are such rules; ``temperature`` and
        ``backend`` must then keep their defaults.

    Returns
    -------
    tokens : ndarray of int64, shape (B, T0 + n_new)
        The prompts followed by the generated tokens.
    logits : ndarray of shape (B, n_new, V)
        Only with ``return_logits=True``: row :math:`s` is the logits after position :math:`T_0 + s - 1`,
        equal (exact seam) to ``forward(params, tokens[:, :-1], config)[:, T0 - 1:]``.

    Notes
    -----
    The prompt is processed in one pass that fills the cache; each later step feeds only the newest token.
    At :math:`kT > 0` the next token is drawn from :math:`p_v \propto e^{\ell_v/kT}`, the Gibbs law of energies
    :math:`-\ell` at temperature :math:`kT`.

    References
    ----------
    Pope, R. et al. (2022) "Efficiently scaling transformer inference", arXiv:2211.05102.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, init_params
    >>> cfg = TransformerConfig(vocab_size=5, context=6, d_model=8, n_heads=2, n_layers=1)
    >>> out = generate(init_params(cfg, rng=0), [1, 2], 3, cfg)
    >>> out.shape, out[0, :2].tolist()
    ((1, 5), [1, 2])
    """
    n_new = check_positive_int(n_new, "n_new", minimum=0)
    kT = check_real(temperature, "temperature", nonnegative=True)
    return_logits = check_bool(return_logits, "return_logits")
    params, tokens, rng = _check_call(params, prompt, config, seam, rng, None, tokens_name="prompt")
    if backend is not None and not isinstance(backend, SamplingUnit):
        raise TypeError(f"backend: expected None or a thermoref.backend.SamplingUnit, got {type(backend).__name__}")
    if next_token is not None:
        check_callable(next_token, "next_token")
        if kT != 0 or backend is not None:
            raise ValueError("next_token: a decoding rule replaces temperature and backend; leave them at their "
                             "defaults")
        if rng is not None:
            rng = as_rng(rng)
    if kT > 0:
        if rng is None:
            raise TypeError("rng: sampling at temperature > 0 needs an rng (a numpy.random.Generator or an int seed)")
        rng = as_rng(rng)
    B, T0 = tokens.shape
    if T0 + n_new - 1 > config.context:
        raise ValueError(f"n_new: {T0} prompt tokens + {n_new} new ones exceed the context ({config.context}) "
                         f"by {T0 + n_new - 1 - config.context}")
    out = np.empty((B, T0 + n_new), dtype=np.int64)  # (B, T0 + n_new)
    out[:, :T0] = tokens
    logits_out = np.empty((B, n_new, config.vocab_size), dtype=params["wte"].dtype)  # (B, n_new, V)
    cache = KVCache.empty(config, B, params["wte"].dtype)
    step_tokens, start = tokens, 0
    for s in range(n_new):  # generation is sequential: token s + 1 depends on token s
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, with its cause
            logits, _, _ = _forward(params, step_tokens, config, seam, rng, None, keep=False, kv=cache, start=start)
        _check_overflow(logits)
        start += step_tokens.shape[1]
        cache.length = start
        last = logits[:, -1]  # (B, V)
        logits_out[:, s] = last
        if next_token is not None:
            nxt = _rule_token(next_token, last, s, out[:, :T0 + s], rng)  # (B,)
        elif kT == 0 or 1.0 / kT == np.inf:  # kT -> 0: the law's limit is its mode
            nxt = np.argmax(last, axis=-1)  # (B,)
        elif backend is None:
            nxt = sample_categorical(last, beta=1.0 / kT, rng=rng)  # (B,)
        else:
            nxt = _next_token(backend, last, 1.0 / kT, rng)  # (B,)
        out[:, T0 + s] = nxt
        step_tokens = nxt[:, None]  # (B, 1)
    return (out, logits_out) if return_logits else out
