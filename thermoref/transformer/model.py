r"""Forward and hand-written backward pass of the decoder-only transformer, and its cross-entropy loss.

Block :math:`l` maps the residual stream :math:`x` (B, T, D) to

.. math:: x' = x + \mathrm{Attn}(\mathrm{LN}_1(x)),\qquad x'' = x' + \mathrm{MLP}(\mathrm{LN}_2(x')),

with causal multi-head attention :math:`\mathrm{Attn}` (weights through :class:`thermoref.transformer.AttentionSeam`)
and :math:`\mathrm{MLP}(u) = \mathrm{GELU}(uW_{\rm in} + b_{\rm in})W_{\rm out} + b_{\rm out}`; the logits are
:math:`\mathrm{LN}_f(x)\,W_{te}^\top`. The backward pass applies the chain rule block by block in reverse
(no automatic differentiation); tests check it against central finite differences.

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30; Ba, J. L., Kiros, J. R. &
Hinton, G. E. (2016) "Layer normalization", arXiv:1607.06450; Hendrycks, D. & Gimpel, K. (2016) "Gaussian error
linear units (GELUs)", arXiv:1606.08415.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from .._validation import as_rng, check_allocation, check_bool, check_callable, check_returned
from ..gibbs import _log_law as _gibbs_log_law
from .config import TransformerConfig, _check_config, check_params
from .seam import AttentionSeam, _head_weights

__all__ = ["AttentionTrace", "forward", "cross_entropy", "loss_and_grad", "check_tokens"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class AttentionTrace:
    r"""What every head of every layer did in one forward pass (returned with ``return_attention=True``).

    Attributes
    ----------
    logits : ndarray of shape (L, B, H, T, T)
        Attention logits :math:`\ell = qk^\top/\sqrt{d_h}`, ``-inf`` above the diagonal (causal mask).
    weights : ndarray of shape (L, B, H, T, T)
        The weights the heads used, :math:`w = (1-\alpha)p + \alpha\hat p` (equal to :math:`p` in exact heads).
    values : ndarray of shape (L, B, H, T, d_h)
        Each head's value vectors :math:`v`, so that the head's output is ``weights @ values``.

    Notes
    -----
    The exact law of a row is :math:`p = \mathrm{softmax}(\ell)`, recoverable from ``logits``
    (:func:`thermoref.attention.attention_weights`); with ``values`` it gives each head's sampling error
    :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)/K` (:func:`thermoref.attention.sampling_mse`).

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, init_params, forward
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
    >>> _, trace = forward(init_params(cfg, rng=0), [[1, 2, 3]], cfg, return_attention=True)
    >>> trace.weights.shape, trace.values.shape
    ((1, 1, 2, 3, 3), (1, 1, 2, 3, 4))
    """

    logits: np.ndarray
    weights: np.ndarray
    values: np.ndarray


def check_tokens(tokens: ArrayLike, config: TransformerConfig, name: str = "tokens") -> np.ndarray:
    r"""Validate token ids: integers in ``[0, vocab_size)``, shape (T,) or (B, T) with :math:`1\le T\le T_{\max}`.

    Parameters
    ----------
    tokens : array_like of int, shape (T,) or (B, T)
        Token ids.
    config : TransformerConfig
        The model's shape.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    ndarray of int64, shape (B, T)
        The ids, with a batch axis of 1 added to a single sequence.

    Notes
    -----
    Refused: a non-integer dtype (floats are not silently truncated), an id outside :math:`[0, V)`, an empty or
    too long sequence (longer than the position embedding), more than two dimensions.

    Examples
    --------
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
    >>> check_tokens([1, 2], cfg).tolist()
    [[1, 2]]
    """
    _check_config(config)
    if isinstance(tokens, (str, bytes)) or tokens is None:
        raise TypeError(f"{name}: expected an array of integer token ids, got {type(tokens).__name__}")
    arr = np.asarray(tokens)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name}: expected integer token ids, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name}: expected shape (T,) or (B, T), got {arr.shape}")
    arr = arr.reshape((1,) * (2 - arr.ndim) + arr.shape).astype(np.int64, copy=False)
    T = arr.shape[1]
    if not 1 <= T <= config.context:
        raise ValueError(f"{name}: sequence length {T} outside [1, context = {config.context}]")
    if arr.size and (arr.min() < 0 or arr.max() >= config.vocab_size):
        raise ValueError(f"{name}: token ids must lie in [0, {config.vocab_size}), got "
                         f"{int(arr.min()) if arr.min() < 0 else int(arr.max())}")
    return arr


# ------------------------------------------------------------------------------------------ building blocks
def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float):
    mu = x.mean(axis=-1, keepdims=True)  # (B, T, 1)
    xhat = x - mu  # (B, T, D): centred here, normalized in place below
    var = np.multiply(xhat, xhat).mean(axis=-1, keepdims=True)  # (B, T, 1)
    var += eps
    rstd = 1.0 / np.sqrt(var, out=var)  # (B, T, 1)
    xhat *= rstd  # (B, T, D)
    y = xhat * g  # (B, T, D)
    y += b
    return y, (xhat, rstd)


def _layer_norm_backward(dy: np.ndarray, g: np.ndarray, cache):
    xhat, rstd = cache
    dg = (dy * xhat).sum(axis=(0, 1))  # (D,)
    db = dy.sum(axis=(0, 1))  # (D,)
    dxhat = dy * g  # (B, T, D)
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))  # (B, T, D)
    return dx, dg, db


def _gelu(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GELU(u) = u Phi(u) (the exact, erf form) and Phi(u), which the backward pass reuses."""
    phi_cdf = ndtr(u)  # Phi(u) = (1 + erf(u / sqrt 2)) / 2
    return u * phi_cdf, phi_cdf


def _gelu_grad(u: np.ndarray, phi_cdf: np.ndarray) -> np.ndarray:
    """Phi(u) + u phi(u), the derivative of u Phi(u); in place on one buffer (the arrays are the largest)."""
    g = np.multiply(u, u)  # (B, T, rD)
    g *= -0.5
    np.exp(g, out=g)
    g *= u
    g *= _INV_SQRT_2PI
    g += phi_cdf
    return g


def _outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over batch and time of the outer products a_bt^T b_bt: (B, T, m), (B, T, n) -> (m, n), one matmul."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])


def _split_heads(x: np.ndarray, H: int) -> np.ndarray:
    B, T, D = x.shape
    return x.reshape(B, T, H, D // H).transpose(0, 2, 1, 3)  # (B, H, T, d_h)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    B, H, T, dh = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * dh)  # (B, T, D)


def _causal_logits(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    T, S = q.shape[-2], k.shape[-2]
    ell = q @ np.swapaxes(k, -1, -2)  # (B, H, T, S)
    ell /= math.sqrt(q.shape[-1])  # a Python float keeps float32
    future = np.arange(S)[None, :] > np.arange(S - T, S)[:, None]  # (T, S): key after the query
    ell += np.where(future, -np.inf, 0.0).astype(ell.dtype)  # (T, S) broadcast: l + 0 = l, l - inf = -inf
    return ell


# ------------------------------------------------------------------------------------------------ forward
def _forward(params, tokens, config, seam, rng, ffn, keep: bool, kv=None, start: int = 0, delta=None):
    """Logits (B, T, V) and, if ``keep``, the per-layer caches the backward pass needs.

    ``delta`` (optional, for analysis): a mapping layer -> array (B, H, T, d_h) added to that layer's head
    outputs ``w @ v`` (a perturbation of the attention outputs, e.g. probes of the loss's curvature).

    With a KV cache ``kv`` (arrays ``keys``/``values`` of shape (L, B, H, T_max, d_h)), ``tokens`` sit at
    positions ``start .. start + T - 1``: their keys and values are written into the cache and their queries
    attend every cached position up to their own.
    """
    B, T = tokens.shape
    H, eps = config.n_heads, config.ln_eps
    alpha = np.zeros((config.n_layers, H)) if seam is None else seam.head_alpha(config.n_layers, H)
    x = params["wte"][tokens] + params["wpe"][start:start + T]  # (B, T, D)
    caches, trace = [], []
    for layer in range(config.n_layers):  # a loop over layers
        p_ = f"blocks.{layer}."
        u, ln1 = _layer_norm(x, params[p_ + "ln_1.g"], params[p_ + "ln_1.b"], eps)  # (B, T, D)
        qkv = u @ params[p_ + "attn.w_qkv"] + params[p_ + "attn.b_qkv"]  # (B, T, 3D)
        q, k, v = (_split_heads(m, H) for m in np.split(qkv, 3, axis=-1))  # 3 x (B, H, T, d_h)
        if kv is not None:
            kv.keys[layer, :, :, start:start + T] = k
            kv.values[layer, :, :, start:start + T] = v
            k, v = kv.keys[layer, :, :, :start + T], kv.values[layer, :, :, :start + T]  # (B, H, S, d_h)
        ell = _causal_logits(q, k)  # (B, H, T, T)
        p, w = _head_weights(ell, alpha[layer], seam, rng)  # (B, H, T, T) each
        o = w @ v  # (B, H, T, d_h)
        if delta is not None and layer in delta:
            o = o + delta[layer]
        y = _merge_heads(o)  # (B, T, D)
        x_mid = y @ params[p_ + "attn.w_out"]  # (B, T, D)
        x_mid += x  # y W + x: the same sum as x + y W
        x_mid += params[p_ + "attn.b_out"]
        u2, ln2 = _layer_norm(x_mid, params[p_ + "ln_2.g"], params[p_ + "ln_2.b"], eps)  # (B, T, D)
        if ffn is not None and layer in ffn:
            _check_overflow(u2)  # the user's function gets finite input, or the parameters are blamed
            mlp_out = check_returned(ffn[layer](u2), "ffn")  # (B, T, D): a replacement MLP, real and not NaN
            if mlp_out.shape != u2.shape or not np.isfinite(mlp_out).all():
                raise ValueError(f"ffn: layer {layer}'s function must return finite values of shape {u2.shape}")
            mlp_out = mlp_out.astype(x.dtype, copy=False)
            a = hidden = cdf = None
        else:
            a = u2 @ params[p_ + "mlp.w_in"]  # (B, T, rD)
            a += params[p_ + "mlp.b_in"]
            hidden, cdf = _gelu(a)  # (B, T, rD) each
            mlp_out = hidden @ params[p_ + "mlp.w_out"] + params[p_ + "mlp.b_out"]  # (B, T, D)
        if keep:
            caches.append((ln1, u, q, k, v, p, w, y, ln2, u2, a, hidden, cdf))
        trace.append((ell, w, v))
        x = x_mid + mlp_out  # (B, T, D)
    z, lnf = _layer_norm(x, params["ln_f.g"], params["ln_f.b"], eps)  # (B, T, D)
    logits = z @ params["wte"].T  # (B, T, V): the head tied to the token embedding
    return logits, (caches, lnf, z), trace


def _check_call(params, tokens, config, seam, rng, ffn, tokens_name="tokens"):
    _check_config(config)
    params = check_params(params, config)
    tokens = check_tokens(tokens, config, tokens_name)
    if seam is not None and not isinstance(seam, AttentionSeam):
        raise TypeError(f"seam: expected an AttentionSeam or None, got {type(seam).__name__}")
    sampling = False
    if seam is not None:
        try:
            sampling = bool((seam.head_alpha(config.n_layers, config.n_heads) > 0).any())
        except ValueError as exc:  # the seam's layers, heads or alpha do not fit this model
            raise ValueError(f"seam: {exc}") from None
    if sampling:
        if rng is None:
            raise TypeError("rng: a sampled seam needs an rng (a numpy.random.Generator or an int seed)")
        rng = as_rng(rng)
        # the draws of one layer: (B, H, T, K) keys, and as many uniforms or chain states
        check_allocation(tokens.shape[:1] + (config.n_heads, tokens.shape[1], seam.n_samples), "seam")
    if ffn is not None:
        if not isinstance(ffn, Mapping):
            raise TypeError(f"ffn: expected a mapping of layer index to callable, got {type(ffn).__name__}")
        for layer, f in ffn.items():
            if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 0 <= layer < config.n_layers:
                raise ValueError(f"ffn: key {layer!r} is not a layer index in [0, {config.n_layers})")
            check_callable(f, "ffn")
    return params, tokens, rng


def _check_overflow(*arrays: np.ndarray) -> None:
    """Refuse a pass whose result overflowed (finite parameters too large for the floating type)."""
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("params: the pass overflowed the floating-point range (parameters too large)")


def forward(
    params: Mapping[str, ArrayLike],
    tokens: ArrayLike,
    config: TransformerConfig,
    *,
    seam: AttentionSeam | None = None,
    rng: np.random.Generator | int | None = None,
    ffn: Mapping[int, Callable[[np.ndarray], np.ndarray]] | None = None,
    return_attention: bool = False,
) -> np.ndarray | tuple[np.ndarray, AttentionTrace]:
    r"""Next-token logits of a token batch (and, on request, what every attention head did).

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by param_shapes
        Parameters named as in :func:`thermoref.transformer.param_shapes`.
    tokens : array_like of int, shape (T,) or (B, T)
        Token ids in ``[0, vocab_size)``, :math:`T \le` ``context``.
    config : TransformerConfig
        The model's shape.
    seam : AttentionSeam, optional
        How heads compute their weights (default: exact softmax everywhere).
    rng : numpy.random.Generator or int, optional
        Source of randomness; required when ``seam`` samples in some head.
    ffn : mapping of int to callable, optional
        Replacement MLPs: ``ffn[l](u)`` maps block ``l``'s normalized stream (B, T, D) to its MLP output
        (B, T, D) (for instance a thermodynamic FFN, chapter 8).
    return_attention : bool
        Also return an :class:`AttentionTrace`.

    Returns
    -------
    logits : ndarray of shape (B, T, V)
        :math:`\ell_{bt} = \mathrm{LN}_f(x^{(L)}_{bt})\,W_{te}^\top`, the logits of the token after position
        :math:`t` (a batch axis of 1 for a single sequence).
    trace : AttentionTrace
        Only with ``return_attention=True``.

    Notes
    -----
    Each head computes :math:`\ell = qk^\top/\sqrt{d_h}` with the causal mask (:math:`-\infty` for keys after
    the query), its exact law :math:`p = \mathrm{softmax}(\ell)` (the Gibbs law of energies
    :math:`-\ell` at :math:`kT = 1`) and its weights :math:`w` through the seam; its output is :math:`wv`.
    LayerNorm is :math:`g\odot(x-\mu)/\sqrt{\sigma^2+\epsilon} + b`; GELU is :math:`u\,\Phi(u)` (erf form).

    References
    ----------
    Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30; Radford, A. et al. (2019) "Language
    models are unsupervised multitask learners".

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, init_params
    >>> cfg = TransformerConfig(vocab_size=7, context=8, d_model=16, n_heads=2, n_layers=2)
    >>> params = init_params(cfg, rng=0)
    >>> logits = forward(params, [[1, 2, 3], [4, 5, 6]], cfg)
    >>> logits.shape
    (2, 3, 7)
    >>> sampled = forward(params, [[1, 2, 3]], cfg, seam=AttentionSeam(4), rng=1)  # K = 4 keys per query
    >>> bool(np.allclose(sampled[0, 0], logits[0, 0]))  # the first query has one key: nothing to sample
    True
    """
    return_attention = check_bool(return_attention, "return_attention")
    params, tokens, rng = _check_call(params, tokens, config, seam, rng, ffn)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, with its cause
        logits, _, trace = _forward(params, tokens, config, seam, rng, ffn, keep=False)
    _check_overflow(logits)
    if not return_attention:
        return logits
    ell, w, v = (np.stack(parts) for parts in zip(*trace))  # (L, B, H, T, T) x2, (L, B, H, T, d_h)
    return logits, AttentionTrace(ell, w, v)


# ---------------------------------------------------------------------------------------------------- loss
def _targets_and_mask(targets, mask, shape):
    t = np.asarray(targets)
    if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"targets: expected integer token ids, got dtype {t.dtype}")
    t = t.reshape((1,) + t.shape) if t.ndim == 1 else t  # a single sequence
    if t.shape != shape[:-1]:
        raise ValueError(f"targets: expected shape {shape[:-1]}, got {np.shape(targets)}")
    if t.size and (t.min() < 0 or t.max() >= shape[-1]):
        raise ValueError(f"targets: token ids must lie in [0, {shape[-1]})")
    if mask is None:
        m = np.ones(t.shape, dtype=bool)
    else:
        m = np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"mask: expected a boolean array (True = scored position), got dtype {m.dtype}")
        m = m.reshape(t.shape) if m.size == t.size and m.ndim < t.ndim else m
        if m.shape != t.shape:
            raise ValueError(f"mask: expected shape {t.shape}, got {np.shape(mask)}")
    if not m.any():
        raise ValueError("mask: selects no position; the mean loss is undefined")
    return t.astype(np.int64, copy=False), m


def _log_law(logits: np.ndarray) -> np.ndarray:
    """log softmax over the vocabulary: thermoref.gibbs's kernel on the logits shifted by their maximum."""
    return _gibbs_log_law(logits - logits.max(axis=-1, keepdims=True), axis=-1)  # (B, T, V)


def cross_entropy(logits: ArrayLike, targets: ArrayLike, mask: ArrayLike | None = None) -> float:
    r"""Mean cross-entropy (nats) of the targets under the softmax of the logits, over the masked positions.

    Parameters
    ----------
    logits : array_like of shape (B, T, V)
        Next-token logits.
    targets : array_like of int, shape (B, T)
        Target ids in ``[0, V)``.
    mask : array_like of bool, shape (B, T), optional
        ``True`` on the positions that count (default: all).

    Returns
    -------
    float
        :math:`-\frac1{|M|}\sum_{(b,t)\in M}\log\mathrm{softmax}(\ell_{bt})_{y_{bt}}`.

    Notes
    -----
    :math:`-\log\mathrm{softmax}(\ell)_y = \log Z - \ell_y` with :math:`Z = \sum_v e^{\ell_v}`: the free energy
    of the logits' Gibbs law minus the target's negative energy. Uniform logits give :math:`\ln V`.

    References
    ----------
    Goodfellow, I., Bengio, Y. & Courville, A. (2016) *Deep Learning*, MIT Press, §6.2.2.3 (softmax units and
    the negative log-likelihood).

    Examples
    --------
    >>> import numpy as np
    >>> print(round(cross_entropy(np.zeros((1, 2, 4)), [[0, 3]]), 6), round(np.log(4), 6))
    1.386294 1.386294
    """
    from .._validation import as_float_array

    z = as_float_array(logits, "logits", ndim=3)
    if z.shape[-1] == 0:
        raise ValueError("logits: the vocabulary axis is empty")
    t, m = _targets_and_mask(targets, mask, z.shape)
    logp = np.take_along_axis(_log_law(z), t[..., None], axis=-1)[..., 0]  # (B, T)
    return float(-logp[m].mean())


def loss_and_grad(
    params: Mapping[str, ArrayLike],
    tokens: ArrayLike,
    targets: ArrayLike,
    config: TransformerConfig,
    *,
    mask: ArrayLike | None = None,
    seam: AttentionSeam | None = None,
    rng: np.random.Generator | int | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    r"""Cross-entropy of the targets and its gradient with respect to every parameter (hand-written backward).

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by param_shapes
        Parameters named as in :func:`thermoref.transformer.param_shapes`.
    tokens : array_like of int, shape (B, T)
        Input ids.
    targets : array_like of int, shape (B, T)
        Next-token ids to score.
    config : TransformerConfig
        The model's shape.
    mask : array_like of bool, shape (B, T), optional
        Positions that count in the mean (default: all).
    seam : AttentionSeam, optional
        How heads compute their weights in the forward pass (default: exact).
    rng : numpy.random.Generator or int, optional
        Required when ``seam`` samples.

    Returns
    -------
    loss : float
        :func:`cross_entropy` of the forward logits.
    grads : dict of str to ndarray, each of the shape given by param_shapes
        :math:`\partial\,\mathrm{loss}/\partial\theta` for every parameter, same names, shapes and dtype.

    Notes
    -----
    Reverse-mode chain rule, block by block. The loss's gradient with respect to the logits is
    :math:`(\mathrm{softmax}(\ell) - e_y)/|M|` on masked positions. Through an attention head with weights
    :math:`w` and exact law :math:`p`: :math:`\partial v = w^\top\partial o`,
    :math:`\partial w = \partial o\, v^\top` and :math:`\partial\ell = p\odot(\partial w -
    \langle\partial w\rangle_p)` (the softmax Jacobian at :math:`p`). In exact heads :math:`w = p` and this is
    the exact gradient; in sampled heads it is the straight-through estimator. The tied head adds
    :math:`\partial W_{te} \mathrel{+}= \partial\ell^\top z` to the embedding's gradient.

    References
    ----------
    Bengio, Y., Léonard, N. & Courville, A. (2013) "Estimating or propagating gradients through stochastic
    neurons for conditional computation", arXiv:1308.3432 (straight-through estimator).

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, init_params
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
    >>> loss, grads = loss_and_grad(init_params(cfg, rng=0), [[1, 2, 3]], [[2, 3, 4]], cfg)
    >>> print(round(loss, 3), round(float(np.log(5)), 3), grads["wte"].shape)  # near ln V at initialization
    1.588 1.609 (5, 8)
    """
    params, tokens, rng = _check_call(params, tokens, config, seam, rng, None)
    t, m = _targets_and_mask(targets, mask, tokens.shape + (config.vocab_size,))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, with its cause
        loss, grads = _loss_and_grad(params, tokens, t, m, config, seam, rng)
    _check_overflow(np.array(loss), *grads.values())
    return loss, grads


def _loss_and_grad(params, tokens, t, m, config, seam, rng):
    """The forward and backward pass on validated input (``t``, ``m``: targets and mask)."""
    logits, cache, _ = _forward(params, tokens, config, seam, rng, None, keep=True)
    logp = _log_law(logits)  # (B, T, V)
    n = int(m.sum())
    loss = float(-np.take_along_axis(logp, t[..., None], axis=-1)[..., 0][m].sum() / n)
    dlogits = np.exp(logp)  # (B, T, V): softmax
    np.put_along_axis(dlogits, t[..., None], np.take_along_axis(dlogits, t[..., None], axis=-1) - 1.0, axis=-1)
    dlogits *= (m / n)[..., None]  # (B, T, V)
    return loss, _backward(params, tokens, config, cache, dlogits)


def _backward(params, tokens, config, cache, dlogits):
    """Every parameter's gradient from the loss's gradient ``dlogits`` (B, T, V) and a ``keep=True`` cache.

    Private hook shared with :mod:`thermoref.decoding.negatives` (losses other than the cross-entropy).
    """
    caches, lnf, z = cache
    grads = {"wte": _outer(dlogits, z)}  # (V, D): the tied head
    dz = dlogits @ params["wte"]  # (B, T, D)
    dx, grads["ln_f.g"], grads["ln_f.b"] = _layer_norm_backward(dz, params["ln_f.g"], lnf)
    H = config.n_heads
    for layer in reversed(range(config.n_layers)):  # a loop over layers
        p_ = f"blocks.{layer}."
        ln1, u, q, k, v, p, w, y, ln2, u2, a, hidden, cdf = caches[layer]
        # MLP: x = x_mid + GELU(u2 W_in + b_in) W_out + b_out
        grads[p_ + "mlp.w_out"] = _outer(hidden, dx)  # (rD, D)
        grads[p_ + "mlp.b_out"] = dx.sum(axis=(0, 1))  # (D,)
        da = _gelu_grad(a, cdf)  # (B, T, rD)
        da *= dx @ params[p_ + "mlp.w_out"].T
        grads[p_ + "mlp.w_in"] = _outer(u2, da)  # (D, rD)
        grads[p_ + "mlp.b_in"] = da.sum(axis=(0, 1))  # (rD,)
        du2 = da @ params[p_ + "mlp.w_in"].T  # (B, T, D)
        dln2, grads[p_ + "ln_2.g"], grads[p_ + "ln_2.b"] = _layer_norm_backward(du2, params[p_ + "ln_2.g"], ln2)
        dln2 += dx  # (B, T, D): gradient at x_mid, dln2 + dx
        dx = dln2
        # attention: x_mid = x + merge(w v) W_out + b_out
        grads[p_ + "attn.w_out"] = _outer(y, dx)  # (D, D)
        grads[p_ + "attn.b_out"] = dx.sum(axis=(0, 1))  # (D,)
        do = _split_heads(dx @ params[p_ + "attn.w_out"].T, H)  # (B, H, T, d_h)
        B, T, D = dx.shape
        dqkv = np.empty((B, T, 3, H, D // H), dtype=dx.dtype)  # (B, T, 3, H, d_h): the merged [dq | dk | dv]
        dq, dk, dv = (dqkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))  # 3 x (B, H, T, d_h) views into it
        np.matmul(np.swapaxes(w, -1, -2), do, out=dv)  # (B, H, T, d_h)
        dell = do @ np.swapaxes(v, -1, -2)  # (B, H, T, T): dw, turned into dell in place
        dell -= (dell * p).sum(axis=-1, keepdims=True)
        dell *= p  # (B, H, T, T): p (dw - <dw>_p); masked keys have p = 0
        scale = 1.0 / math.sqrt(q.shape[-1])  # a Python float keeps float32
        np.matmul(dell, k, out=dq)
        dq *= scale  # (B, H, T, d_h)
        np.matmul(np.swapaxes(dell, -1, -2), q, out=dk)
        dk *= scale  # (B, H, T, d_h)
        dqkv = dqkv.reshape(B, T, 3 * D)  # (B, T, 3D)
        grads[p_ + "attn.w_qkv"] = _outer(u, dqkv)  # (D, 3D)
        grads[p_ + "attn.b_qkv"] = dqkv.sum(axis=(0, 1))  # (3D,)
        du = dqkv @ params[p_ + "attn.w_qkv"].T  # (B, T, D)
        dln1, grads[p_ + "ln_1.g"], grads[p_ + "ln_1.b"] = _layer_norm_backward(du, params[p_ + "ln_1.g"], ln1)
        dln1 += dx  # (B, T, D): gradient at the block's input, dln1 + dx
        dx = dln1
    T = tokens.shape[1]
    grads["wpe"] = np.zeros_like(params["wpe"])  # (T_max, D)
    grads["wpe"][:T] = dx.sum(axis=0)
    np.add.at(grads["wte"], tokens.ravel(), dx.reshape(-1, dx.shape[-1]))  # (V, D): embedding lookups
    dtype = params["wte"].dtype
    return {name: grads[name].astype(dtype, copy=False) for name in params}
