r"""What sampled attention does to a frozen transformer: the loss it costs, measured and predicted at order 1/K.

A sampled head replaces the output :math:`o_r = p_rV` of each query row :math:`r` by :math:`\hat p_rV`, with
:math:`\hat p_r` the empirical law of :math:`K` keys drawn from :math:`p_r`. The error
:math:`\delta_r = (\hat p_r - p_r)V` has mean zero and covariance :math:`\mathrm{Cov}_{p_r}(v)/K`
(:func:`thermoref.attention.sampling_mse`), so each head's output is unbiased. The loss is not linear in the
outputs: expanding it to second order around the exact outputs,

.. math:: \mathbb E[\mathcal L(\text{sampled}, K)] - \mathcal L(\text{exact}) = \frac cK + O(K^{-2}), \qquad
          c = \frac12\sum_r \mathrm{tr}\big(H_r\,\mathrm{Cov}_{p_r}(v)\big),

with :math:`H_r` the Hessian of the loss with respect to row :math:`r`'s head output. :func:`predicted_loss_bias`
estimates :math:`c` from Gaussian probes through the loss's curvature; :func:`evaluate` measures the loss and the
accuracy of the sampled model over independent repeats; :func:`head_covariance` gives every row's
:math:`\mathrm{tr}\,\mathrm{Cov}_p(v)` (the error :math:`K = 1` makes).

References: Robert, C. P. & Casella, G. (2004) *Monte Carlo Statistical Methods*, 2nd ed., Springer, §3.2 (the
delta method); Hutchinson, M. F. (1989) "A stochastic estimator of the trace of the influence matrix for
Laplacian smoothing splines", Commun. Stat. Simul. Comput. 18, 1059.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_rng, check_allocation, check_positive_int
from ..attention.sampled import sampling_mse
from .config import TransformerConfig, _check_config
from .model import AttentionTrace, _check_call, _check_overflow, _forward, _log_law, _targets_and_mask
from .seam import AttentionSeam
from .tasks import Batch, accuracy

__all__ = ["evaluate", "head_covariance", "predicted_loss_bias"]

#: Step of the central second difference along a probe (a power of two: :math:`\pm\epsilon z` are exact).
_EPS = 2.0**-10
#: Sequences per forward pass when the probes are stacked along the batch axis (bounds the memory).
_CHUNK_SEQUENCES = 4096


def _guarded_forward(params, tokens, config, seam, rng, delta=None) -> np.ndarray:
    """Logits (B, T, V) of the forward pass; a pass that overflows is refused naming ``params``, as in forward."""
    with np.errstate(over="ignore", invalid="ignore"):
        logits = _forward(params, tokens, config, seam, rng, None, keep=False, delta=delta)[0]
    _check_overflow(logits)
    return logits


def _masked_nll(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-sequence sum of the cross-entropy over the masked positions: (B, T, V), (B, T), (B, T) -> (B,)."""
    logp = np.take_along_axis(_log_law(logits), targets[..., None], axis=-1)[..., 0]  # (B, T)
    return -np.where(mask, logp, 0.0).sum(axis=1)  # (B,)


def evaluate(
    params: Mapping[str, ArrayLike],
    config: TransformerConfig,
    batch: Batch,
    *,
    seam: AttentionSeam | None = None,
    rng: np.random.Generator | int | None = None,
    n_repeats: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Held-out cross-entropy, per-token accuracy and exact match of a (sampled) model, over independent repeats.

    Parameters
    ----------
    params : mapping of str to ndarray, each of shape ``param_shapes(config)[name]``
        Parameters named as in :func:`thermoref.transformer.param_shapes`.
    config : TransformerConfig
        The model's shape.
    batch : Batch
        Sequences to score (:func:`thermoref.transformer.make_batch`, ``split="eval"`` for held-out data); only
        the positions of ``batch.mask`` count.
    seam : AttentionSeam, optional
        How the heads compute their weights (default: exact softmax everywhere).
    rng : numpy.random.Generator or int, optional
        Required when ``seam`` samples in some head; repeat :math:`i` draws from the :math:`i`-th child
        spawned from it.
    n_repeats : int
        Independent forward passes :math:`R \ge 1` over the same batch.

    Returns
    -------
    loss : ndarray of shape (n_repeats,)
        Mean cross-entropy (nats) over the masked positions, as :func:`thermoref.transformer.cross_entropy`.
    token_accuracy : ndarray of shape (n_repeats,)
        Fraction of masked positions whose argmax is the target (:func:`thermoref.transformer.accuracy`).
    exact_match : ndarray of shape (n_repeats,)
        Fraction of sequences with every masked position right.

    Notes
    -----
    Repeat :math:`i` runs the forward pass with ``numpy.random.Generator`` number :math:`i` of
    ``rng.spawn(n_repeats)``: the repeats are independent, and repeat :math:`i` is the same whatever
    ``n_repeats`` is. Their spread is the sampling noise of one evaluation on this batch, so
    :math:`\bar x \pm s/\sqrt R` is the error bar of the mean over repeats. A seam that samples nowhere
    (``None``, or every blend weight 0) is deterministic: one forward pass, repeated, and the spread is exactly
    zero. The forward pass runs in the parameters' dtype.

    References
    ----------
    Robert, C. P. & Casella, G. (2004) *Monte Carlo Statistical Methods*, 2nd ed., Springer, §3.2 (independent
    replications and their standard error).

    Examples
    --------
    >>> from thermoref.transformer import AttentionSeam, TransformerConfig, init_params, make_batch
    >>> from thermoref.transformer import sampling_bias
    >>> cfg = TransformerConfig(vocab_size=11, context=16, d_model=16, n_heads=2, n_layers=1)
    >>> params, batch = init_params(cfg, rng=0), make_batch("copy", 8, rng=1, split="eval")
    >>> loss, acc, em = sampling_bias.evaluate(params, cfg, batch)
    >>> print(round(float(loss[0]), 3), round(float(np.log(11)), 3))  # an untrained model: about ln V
    2.406 2.398
    >>> loss, acc, em = sampling_bias.evaluate(params, cfg, batch, seam=AttentionSeam(4), rng=0, n_repeats=3)
    >>> loss.shape, bool(loss.std() > 0)
    ((3,), True)
    """
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    check_allocation((3, n_repeats), "n_repeats")
    if not isinstance(batch, Batch):
        raise TypeError(f"batch: expected a Batch (from make_batch), got {type(batch).__name__}")
    _check_config(config)
    params, tokens, gen = _check_call(params, batch.tokens, config, seam, rng, None, tokens_name="batch")
    targets = np.asarray(batch.targets)
    if targets.shape == tokens.shape and np.issubdtype(targets.dtype, np.integer) and targets.size \
            and (targets.min() < 0 or targets.max() >= config.vocab_size):
        raise ValueError(f"batch: target ids must lie in [0, {config.vocab_size})")
    sampling = seam is not None and bool((seam.head_alpha(config.n_layers, config.n_heads) > 0).any())
    streams = gen.spawn(n_repeats) if sampling else [None]
    out = np.empty((3, len(streams)))  # (3, R)
    n = None
    for i, stream in enumerate(streams):  # a loop over independent repeats, each a whole batched forward pass
        logits = _guarded_forward(params, tokens, config, seam, stream)  # (B, T, V)
        out[1, i], out[2, i] = accuracy(logits, batch)  # validates the targets and the mask against the logits
        if n is None:
            t, m = _targets_and_mask(batch.targets, batch.mask, logits.shape)
            n = int(m.sum())
        out[0, i] = float(_masked_nll(logits.astype(np.float64, copy=False), t, m).sum() / n)
    if not sampling:
        out = np.repeat(out, n_repeats, axis=1)  # (3, R): a deterministic model has no spread
    return out[0], out[1], out[2]


def head_covariance(trace: AttentionTrace) -> np.ndarray:
    r"""Thermal variance :math:`\mathrm{tr}\,\mathrm{Cov}_p(v)` of every query row of every head in a trace.

    Parameters
    ----------
    trace : AttentionTrace
        From :func:`thermoref.transformer.forward` with ``return_attention=True``.

    Returns
    -------
    ndarray of shape (L, B, H, T)
        :math:`\mathrm{tr}\,\mathrm{Cov}_{p}(v) = \sum_j p_j\|v_j - pV\|^2` of each row, with
        :math:`p = \mathrm{softmax}(\ell)` the exact law of the trace's logits (not the weights the heads used,
        which may be sampled). Zero on the first row of every head (one key).

    Notes
    -----
    This is the mean squared error of the head's output with :math:`K = 1` independent draw; :math:`K` draws
    divide it by :math:`K` (:func:`thermoref.attention.sampling_mse`), and
    :func:`thermoref.attention.samples_needed` turns it into the samples a target error needs.

    References
    ----------
    Robert, C. P. & Casella, G. (2004) *Monte Carlo Statistical Methods*, 2nd ed., Springer, §3.2.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, forward, init_params, sampling_bias
    >>> cfg = TransformerConfig(vocab_size=5, context=4, d_model=8, n_heads=2, n_layers=1)
    >>> _, trace = forward(init_params(cfg, rng=0), [[1, 2, 3]], cfg, return_attention=True)
    >>> tr_cov = sampling_bias.head_covariance(trace)
    >>> tr_cov.shape, float(tr_cov[0, 0, 0, 0])
    ((1, 1, 2, 3), 0.0)
    """
    if not isinstance(trace, AttentionTrace):
        raise TypeError(f"trace: expected an AttentionTrace (forward(..., return_attention=True)), "
                        f"got {type(trace).__name__}")
    ell, v = np.asarray(trace.logits), np.asarray(trace.values)
    if ell.ndim != 5 or v.ndim != 5 or ell.shape[:4] != v.shape[:4] or ell.shape[-1] != ell.shape[-2]:
        raise ValueError(f"trace: expected logits (L, B, H, T, T) and values (L, B, H, T, d_h), got "
                         f"{ell.shape} and {v.shape}")
    try:
        return sampling_mse(ell, v, 1)  # (L, B, H, T)
    except (ValueError, TypeError) as err:
        raise type(err)(f"trace: {err}") from None


def _probes(p: np.ndarray, v: np.ndarray, g: np.ndarray) -> np.ndarray:
    r"""Probe outputs :math:`z = V^\top(\mathrm{diag}\sqrt p - p\sqrt p^\top)g` of every row.

    ``p`` (..., T, S) exact laws (rows summing to 1), ``v`` (..., S, d_h) values, ``g`` (P, ..., T, S) standard
    normal draws; returns (P, ..., T, d_h). Since :math:`\sum_j p_j = 1`,
    :math:`(\mathrm{diag}\sqrt p - p\sqrt p^\top)(\mathrm{diag}\sqrt p - p\sqrt p^\top)^\top = \mathrm{diag}\,p
    - pp^\top`, so :math:`\mathrm{Cov}(z) = V^\top(\mathrm{diag}\,p - pp^\top)V = \mathrm{Cov}_p(v)`.
    """
    sqrt_p = np.sqrt(p)  # (..., T, S)
    a = sqrt_p * g  # (P, ..., T, S)
    a -= p * a.sum(axis=-1, keepdims=True)  # (P, ..., T, S): (diag sqrt p - p sqrt p^T) g
    return a @ v  # (P, ..., T, d_h)


def predicted_loss_bias(
    params: Mapping[str, ArrayLike],
    tokens: ArrayLike,
    targets: ArrayLike,
    config: TransformerConfig,
    *,
    mask: ArrayLike | None = None,
    layers: int | list[int] | None = None,
    rng: np.random.Generator | int,
    n_probes: int,
) -> tuple[float, float]:
    r"""The constant :math:`c` of the loss bias :math:`c/K` when the heads of some layers sample :math:`K` keys.

    Parameters
    ----------
    params : mapping of str to ndarray, each of shape ``param_shapes(config)[name]``
        Parameters named as in :func:`thermoref.transformer.param_shapes` (used in float64).
    tokens : array_like of int, shape (B, T)
        Input ids.
    targets : array_like of int, shape (B, T)
        Next-token ids to score.
    config : TransformerConfig
        The model's shape.
    mask : array_like of bool, shape (B, T), optional
        Positions that count in the mean loss (default: all).
    layers : int or sequence of int, optional
        Layers whose every head samples (default: all layers).
    rng : numpy.random.Generator or int
        Source of the probes.
    n_probes : int
        Independent Gaussian probes :math:`P \ge 2`.

    Returns
    -------
    c : float
        Estimate of :math:`c = \tfrac12\sum_r\mathrm{tr}(H_r\,\mathrm{Cov}_{p_r}(v))`, so that
        :math:`\mathbb E[\mathcal L_K] - \mathcal L \approx c/K`.
    standard_error : float
        Its standard error over the probes, :math:`s/\sqrt P`.

    Notes
    -----
    **Derivation.** Let :math:`\mathcal L(\delta)` be the mean cross-entropy when :math:`\delta_r` is added to the
    output of row :math:`r` (a query position of one head of one selected layer), everything downstream — later
    layers' attention laws included — recomputed. Sampled attention is :math:`\delta_r = (\hat p_r - p_r)V`. In
    one layer the rows draw independently, so :math:`\mathbb E[\delta_r] = 0` and
    :math:`\mathbb E[\delta_r\delta_s^\top] = [r = s]\,C_r/K` with :math:`C_r = \mathrm{Cov}_{p_r}(v)`. Taylor's
    theorem at :math:`\delta = 0` gives

    .. math:: \mathbb E\,\mathcal L(\delta) - \mathcal L(0) = \nabla\mathcal L\cdot\mathbb E\delta
              + \tfrac12\sum_{r,s}\mathrm{tr}\big(H_{rs}\,\mathbb E[\delta_s\delta_r^\top]\big) + O(K^{-2})
              = \frac1{2K}\sum_r \mathrm{tr}(H_{rr}C_r) + O(K^{-2}):

    the first-order term vanishes because the draws are unbiased, the cross terms :math:`r \ne s` because the
    rows are independent, and the third moments of a multinomial mean are :math:`O(K^{-2})`. When several
    layers sample, a later layer's draws are made from laws :math:`p_r(\delta_{\rm earlier})` that depend on
    the earlier errors; they are still unbiased *given* those errors, so the cross terms between layers vanish
    too (:math:`\mathbb E[\delta_{\rm earlier}\,\mathbb E[\delta_{\rm later}\mid\delta_{\rm earlier}]^\top] =
    0`), and :math:`C_r(\delta_{\rm earlier}) = C_r(0) + O(\delta)` changes the later term only at
    :math:`O(K^{-2})`. So at order :math:`1/K` the layers' biases add: :math:`c_{\rm all} = \sum_l c_l`.

    **Estimator.** One probe draws :math:`z_r = V^\top(\mathrm{diag}\sqrt{p_r} - p_r\sqrt{p_r}^\top)g_r` with
    :math:`g_r \sim \mathcal N(0, I)` independently for every row of the selected layers; since
    :math:`\sum_j p_j = 1` the matrix times its transpose is :math:`\mathrm{diag}\,p - pp^\top`, so
    :math:`z_r \sim \mathcal N(0, C_r)` and :math:`\mathbb E[z^\top Hz] = \sum_r\mathrm{tr}(H_{rr}C_r) = 2c`
    (Hutchinson's trace estimator; again the cross terms vanish). The curvature along :math:`z` is a central
    second difference through the forward pass's perturbation hook,

    .. math:: z^\top Hz \approx \frac{\mathcal L(\epsilon z) + \mathcal L(-\epsilon z) - 2\mathcal L(0)}{\epsilon^2},
              \qquad \epsilon = 2^{-10},

    whose error is :math:`O(\epsilon^2)` relative — the same relative size as the :math:`1/K` expansion's next
    term at :math:`K = \epsilon^{-2} \approx 10^6` — while float64 rounding of the loss contributes about
    :math:`10^{-16}|\mathcal L|/\epsilon^2 \approx 10^{-10}|\mathcal L|`; both are far below the probes'
    statistical error. The returned :math:`c` is half the mean over probes, its error half their standard
    deviation over :math:`\sqrt P`. The probes run stacked along the batch axis (vectorized), in chunks.

    References
    ----------
    Hutchinson, M. F. (1989) "A stochastic estimator of the trace of the influence matrix for Laplacian
    smoothing splines", Commun. Stat. Simul. Comput. 18, 1059; Robert, C. P. & Casella, G. (2004) *Monte Carlo
    Statistical Methods*, 2nd ed., Springer, §3.2.

    Examples
    --------
    >>> from thermoref.transformer import TransformerConfig, init_params, make_batch, sampling_bias
    >>> cfg = TransformerConfig(vocab_size=11, context=16, d_model=16, n_heads=2, n_layers=1)
    >>> b = make_batch("copy", 4, rng=0, split="eval")
    >>> c, se = sampling_bias.predicted_loss_bias(init_params(cfg, rng=0), b.tokens, b.targets, cfg,
    ...                                           mask=b.mask, rng=1, n_probes=16)
    >>> print(abs(c) < 1e-3, se < 1e-3)  # tiny initial weights: the loss hardly feels the sampling
    True True
    """
    params, tokens, _ = _check_call(params, tokens, config, None, None, None)
    targets, mask = _targets_and_mask(targets, mask, tokens.shape + (config.vocab_size,))
    layer_alpha = AttentionSeam(1, layers=layers).head_alpha(config.n_layers, config.n_heads)  # validates layers
    selected = [int(layer) for layer in np.flatnonzero(layer_alpha[:, 0] > 0)]
    gen = as_rng(rng)
    n_probes = check_positive_int(n_probes, "n_probes", minimum=2)
    B, T = tokens.shape
    H, dh = config.n_heads, config.head_dim
    check_allocation((n_probes, max(len(selected), 1) * B * H * T, max(T, dh)), "n_probes")  # draws and probes
    if not selected:
        return 0.0, 0.0
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below, naming params
        logits0, _, trace = _forward(params, tokens, config, None, None, None, keep=False)  # exact: w = p
    _check_overflow(logits0)
    z = {layer: _probes(trace[layer][1], trace[layer][2], gen.standard_normal((n_probes,) + trace[layer][1].shape))
         for layer in selected}  # each (P, B, H, T, d_h); a loop over layers
    loss0 = _masked_nll(logits0, targets, mask)  # (B,)
    n = int(mask.sum())
    second = np.empty(n_probes)  # (P,)
    chunk = max(1, _CHUNK_SEQUENCES // (2 * B))
    for start in range(0, n_probes, chunk):  # a loop over chunks of probes (memory), each chunk one forward pass
        stop = min(start + chunk, n_probes)
        m = stop - start
        delta = {layer: np.concatenate([_EPS * z[layer][start:stop], -_EPS * z[layer][start:stop]])
                 .reshape(2 * m * B, H, T, dh) for layer in selected}  # (2mB, H, T, d_h): +eps z then -eps z
        logits = _guarded_forward(params, np.tile(tokens, (2 * m, 1)), config, None, None, delta)  # (2mB, T, V)
        nll = _masked_nll(logits, np.tile(targets, (2 * m, 1)), np.tile(mask, (2 * m, 1))).reshape(2, m, B)
        second[start:stop] = (nll[0] + nll[1] - 2.0 * loss0).sum(axis=1) / n / _EPS**2  # (m,): z^T H z
    return 0.5 * float(second.mean()), 0.5 * float(second.std(ddof=1)) / np.sqrt(n_probes)
