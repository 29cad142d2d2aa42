r"""Training the task models: one reproducible recipe per task (AdamW, warmup and cosine decay, clipping).

A run is a pure function of the task, the seed and the recipe: every random draw (the data stream, the
initialization, the samples of a sampled attention seam) comes from :func:`thermoref.transformer.task_seeds`
of the seed, and nothing reads a clock or hidden entropy. On one machine (the same NumPy, the same BLAS library
and CPU kernels, the same number of BLAS threads) the same call therefore returns the same bits. Another BLAS
or thread count may sum in another order and the trajectories then drift apart: OpenBLAS's threaded dot
product, used for the gradient norm of blocks of more than 10 000 entries, gives different last bits with one
and two threads (measured: the ``add`` model, 64 wide, differs; the 32-wide ``copy`` and ``sort`` models do
not). The command ``python -m thermoref train`` therefore runs with one BLAS thread, and the shipped weights
(:func:`thermoref.transformer.load_pretrained`) reproduce bit for bit under it.

References: Loshchilov, I. & Hutter, F. (2017) "SGDR: stochastic gradient descent with warm restarts", ICLR
(cosine decay); Goyal, P. et al. (2017) "Accurate, large minibatch SGD: training ImageNet in 1 hour",
arXiv:1706.02677 (linear warmup); Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from .._validation import check_allocation, check_callable, check_positive_int, check_real, check_work
from .config import TransformerConfig, init_params
from .model import forward, loss_and_grad
from .optim import AdamW, clip_grad_norm
from .seam import AttentionSeam
from .tasks import Task, _as_task, make_batch, task_seeds

__all__ = ["RECIPES", "TrainResult", "train", "lr_schedule"]


def _recipe(**fields) -> Mapping[str, object]:
    return MappingProxyType(fields)


#: The recipe of each task's shipped model (read-only mappings): model shape ``d_model``, ``n_heads``,
#: ``n_layers`` (the context is the task's ``seq_len - 1``); ``batch_size`` sequences per step; ``n_steps``;
#: peak learning rate ``lr``, reached after ``warmup`` steps (a fraction of ``n_steps``) and decayed by a
#: cosine to ``lr * min_lr_ratio``; AdamW's ``b1``, ``b2`` and ``weight_decay``; ``clip_norm`` of the global
#: gradient norm; ``n_eval`` held-out sequences scored at the end. Float64 throughout.
RECIPES: Mapping[str, Mapping[str, object]] = MappingProxyType({
    "copy": _recipe(d_model=32, n_heads=4, n_layers=2, batch_size=64, n_steps=500, lr=3e-3, warmup=0.05,
                    min_lr_ratio=0.1, b1=0.9, b2=0.99, weight_decay=0.01, clip_norm=1.0, n_eval=10_000),
    "sort": _recipe(d_model=32, n_heads=4, n_layers=2, batch_size=64, n_steps=1500, lr=3e-3, warmup=0.05,
                    min_lr_ratio=0.1, b1=0.9, b2=0.99, weight_decay=0.01, clip_norm=1.0, n_eval=10_000),
    "add": _recipe(d_model=64, n_heads=4, n_layers=2, batch_size=64, n_steps=1500, lr=3e-3, warmup=0.05,
                   min_lr_ratio=0.1, b1=0.9, b2=0.99, weight_decay=0.01, clip_norm=1.0, n_eval=10_000),
})

_EVAL_CHUNK = 512  # sequences per forward pass at evaluation (bounds the attention arrays)
_MAX_LR = 1.0


@dataclass(frozen=True, eq=False)
class TrainResult:
    r"""A trained model and how it was trained (returned by :func:`train`).

    Attributes
    ----------
    task : str
        The task's name (:data:`thermoref.transformer.TASKS`).
    config : TransformerConfig
        The model's shape.
    params : dict of str to ndarray (each of the shape param_shapes gives)
        The trained parameters (float64), named and shaped as in :func:`thermoref.transformer.param_shapes`.
    losses : ndarray of shape (n_steps,)
        Training cross-entropy (nats per answer token) of the batch of every step, before its update.
    eval_accuracy : float
        Per-token accuracy on the answer positions of ``n_eval`` held-out sequences (exact attention).
    eval_exact_match : float
        Fraction of those sequences with every answer token right.
    n_eval : int
        Held-out sequences scored.
    seed : int
        The seed of the run.
    recipe : mapping of str to object
        The recipe actually used (:data:`RECIPES` with the caller's overrides).

    Notes
    -----
    Everything here is a function of (task, seed, recipe, seam) on a given machine; the wall time of the run
    is deliberately not part of the result. The loss curve :math:`\mathcal L_s` is the mean of
    :math:`-\log p_\theta(y_{bt}\mid x_{b,\le t})` over the answer positions of step :math:`s`'s batch.

    References
    ----------
    Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT (the training loop and the held-out adder
    evaluation this record follows).

    Examples
    --------
    >>> r = train("copy", seed=0, n_steps=2, batch_size=8, n_eval=16)
    >>> print(r.task, r.losses.shape, r.config.context, r.n_eval)
    copy (2,) 16 16
    """

    task: str
    config: TransformerConfig
    params: dict
    losses: np.ndarray
    eval_accuracy: float
    eval_exact_match: float
    n_eval: int
    seed: int
    recipe: Mapping[str, object]


def lr_schedule(step: int | np.ndarray, n_steps: int, lr: float, warmup: float = 0.05,
                min_lr_ratio: float = 0.1) -> np.ndarray:
    r"""The learning rate of every step: linear warmup, then cosine decay to a floor.

    Parameters
    ----------
    step : int or array_like of int, shape (m,)
        Step indices :math:`s` in ``[0, n_steps)``.
    n_steps : int
        Length :math:`N` of the run.
    lr : float
        Peak rate :math:`\eta`, in :math:`(0, 1]`.
    warmup : float
        Fraction :math:`w` of the run spent warming up, in :math:`[0, 1)`.
    min_lr_ratio : float
        Floor :math:`r` of the decay as a fraction of :math:`\eta`, in :math:`(0, 1]`.

    Returns
    -------
    ndarray of shape (m,) or ()
        :math:`\eta_s` for every step (float64, every entry positive).

    Notes
    -----
    .. math::
        \eta_s = \begin{cases} \eta\,\dfrac{s+1}{W} & s < W,\\[1ex]
        r\eta + \tfrac12(1-r)\,\eta\left(1 + \cos\dfrac{\pi\,(s+1-W)}{N-W}\right) & W \le s < N,\end{cases}

    with :math:`W = \mathrm{round}(wN)` warmup steps: the rate climbs linearly to :math:`\eta` at step
    :math:`W-1` (Adam's second-moment estimate is poor on the first steps), then follows half a cosine period
    down to :math:`r\eta`, reached at the last step. Every rate is at least the smallest positive float, so a
    tiny :math:`\eta` never becomes 0.

    References
    ----------
    Loshchilov, I. & Hutter, F. (2017) "SGDR: stochastic gradient descent with warm restarts", ICLR; Goyal, P.
    et al. (2017) "Accurate, large minibatch SGD: training ImageNet in 1 hour", arXiv:1706.02677.

    Examples
    --------
    >>> print(np.round(lr_schedule(np.arange(6), 6, 1.0, warmup=0.3, min_lr_ratio=0.1), 4))
    [0.5    1.     0.8682 0.55   0.2318 0.1   ]
    """
    N = check_positive_int(n_steps, "n_steps")
    eta = _check_lr(lr)
    w = check_real(warmup, "warmup", nonnegative=True)
    if not w < 1:
        raise ValueError(f"warmup: must be a fraction in [0, 1), got {w!r}")
    r = check_real(min_lr_ratio, "min_lr_ratio", positive=True)
    if r > 1:
        raise ValueError(f"min_lr_ratio: must lie in (0, 1], got {r!r}")
    s = np.asarray(step)
    if s.dtype == np.bool_ or not np.issubdtype(s.dtype, np.integer):
        raise TypeError(f"step: expected integer step indices, got dtype {s.dtype}")
    if s.ndim > 1:
        raise ValueError(f"step: expected a scalar or a 1-D array of step indices, got shape {s.shape}")
    if s.size and (s.min() < 0 or s.max() >= N):
        raise ValueError(f"step: indices must lie in [0, n_steps = {N})")
    W = min(round(w * N), N)
    s = s.astype(np.float64)
    warm = eta * (s + 1.0) / max(W, 1)  # (m,)
    cos = r * eta + 0.5 * (1.0 - r) * eta * (1.0 + np.cos(np.pi * (s + 1 - W) / max(N - W, 1)))  # (m,)
    return np.maximum(np.where(s < W, warm, cos), np.nextafter(0.0, 1.0))


def _check_lr(lr: object) -> float:
    eta = check_real(lr, "lr", positive=True)
    if eta > _MAX_LR:
        raise ValueError(f"lr: must lie in (0, {_MAX_LR:g}] (Adam moves each parameter by about lr per step), "
                         f"got {eta!r}")
    return eta


def _samples(seam: object, config: TransformerConfig) -> bool:
    """Whether the seam samples in some head of the model (checked against the model's layers and heads)."""
    if seam is None:
        return False
    if not isinstance(seam, AttentionSeam):
        raise TypeError(f"seam: expected an AttentionSeam or None, got {type(seam).__name__}")
    try:
        return bool((seam.head_alpha(config.n_layers, config.n_heads) > 0).any())
    except ValueError as err:
        raise ValueError(f"seam: does not fit the model ({err})") from None


def _evaluate(params, config, task: Task, n_eval: int, eval_seed) -> tuple[float, float]:
    """Per-token accuracy and exact match on ``n_eval`` held-out sequences, in chunks (exact attention)."""
    batch = make_batch(task, n_eval, rng=np.random.default_rng(eval_seed), split="eval")
    right = np.empty(batch.mask.shape, dtype=bool)  # (n_eval, T)
    for lo in range(0, n_eval, _EVAL_CHUNK):  # a loop over chunks of sequences (bounded memory)
        hi = min(lo + _EVAL_CHUNK, n_eval)
        logits = forward(params, batch.tokens[lo:hi], config)  # (b, T, V)
        right[lo:hi] = np.argmax(logits, axis=-1) == batch.targets[lo:hi]
    m = batch.mask
    return float((right & m).sum() / m.sum()), float(np.all(right | ~m, axis=1).mean())


def train(
    task: Task | str,
    *,
    seed: int,
    n_steps: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    n_eval: int | None = None,
    seam: AttentionSeam | None = None,
    progress: Callable[[int, float], object] | None = None,
) -> TrainResult:
    r"""Train a task's model from scratch with its recipe, reproducibly from one seed.

    Parameters
    ----------
    task : Task or str
        A task of :func:`thermoref.transformer.get_task` or its name; the recipe is ``RECIPES[task.name]``
        and the model's context is ``task.seq_len - 1``.
    seed : int
        Non-negative seed of every random draw of the run (see Notes).
    n_steps : int, optional
        Optimizer steps (default: the recipe's); the schedule stretches to fit.
    batch_size : int, optional
        Sequences per step (default: the recipe's).
    lr : float, optional
        Peak learning rate in :math:`(0, 1]` (default: the recipe's).
    n_eval : int, optional
        Held-out sequences scored after training (default: the recipe's).
    seam : AttentionSeam, optional
        Train through sampled attention: the forward pass uses the seam's weights and the gradient is the
        straight-through estimator of :func:`thermoref.transformer.loss_and_grad` (default: exact attention).
    progress : callable, optional
        ``progress(step, loss)`` after every step (``step`` from 1 to ``n_steps``), e.g. a progress display;
        its return value is ignored.

    Returns
    -------
    TrainResult
        Trained parameters, config, per-step losses and held-out accuracy (evaluated with exact attention).

    Notes
    -----
    Streams: with ``train, held_out = task_seeds(seed)``, the training batches are drawn from
    ``default_rng(train)``, the initialization from ``default_rng(train.spawn(2)[0])``, the seam's samples
    from ``default_rng(train.spawn(2)[1])`` and the held-out sequences from ``default_rng(held_out)``
    (``split="eval"``). Step :math:`s` draws a batch, computes the mean cross-entropy on its answer positions
    and its gradient :math:`g_s`, clips the global norm, :math:`g_s \leftarrow g_s\min(1, c/\|g_s\|)`, and
    applies AdamW at the rate :math:`\eta_s` of :func:`lr_schedule`.

    References
    ----------
    Loshchilov, I. & Hutter, F. (2019) "Decoupled weight decay regularization", ICLR; Karpathy, A. (2020)
    minGPT, github.com/karpathy/minGPT (the same training loop for the adder).

    Examples
    --------
    >>> r1 = train("copy", seed=3, n_steps=3, batch_size=8, n_eval=16)
    >>> r2 = train("copy", seed=3, n_steps=3, batch_size=8, n_eval=16)
    >>> print(np.array_equal(r1.losses, r2.losses), np.round(r1.losses, 3))
    True [2.413 2.408 2.395]
    """
    task = _as_task(task)
    seed = check_positive_int(seed, "seed", minimum=0)
    recipe = dict(RECIPES[task.name])
    for name, value in (("n_steps", n_steps), ("batch_size", batch_size), ("n_eval", n_eval)):
        if value is not None:
            recipe[name] = check_positive_int(value, name)
    if lr is not None:
        recipe["lr"] = _check_lr(lr)
    if progress is not None:
        check_callable(progress, "progress")
    N, B, T = recipe["n_steps"], recipe["batch_size"], task.seq_len - 1
    config = TransformerConfig(vocab_size=task.vocab_size, context=T, d_model=recipe["d_model"],
                               n_heads=recipe["n_heads"], n_layers=recipe["n_layers"])
    check_allocation((B, config.n_heads, T, max(T, 4 * config.d_model, config.vocab_size)), "batch_size")
    check_allocation((4 * recipe["n_eval"], task.seq_len), "n_eval")  # the held-out batch (make_batch's rule)
    check_allocation(N, "n_steps")
    check_work(N * B * T, "n_steps")
    train_seed, eval_seed = task_seeds(seed)
    init_seed, seam_seed = train_seed.spawn(2)
    sampling = _samples(seam, config)
    if sampling:
        check_allocation((B, config.n_heads, T, T + seam.n_samples), "seam")  # draws and their empirical laws
    seam_rng = np.random.default_rng(seam_seed) if sampling else None
    params = init_params(config, rng=np.random.default_rng(init_seed))
    data_rng = np.random.default_rng(train_seed)
    rates = lr_schedule(np.arange(N), N, recipe["lr"], recipe["warmup"], recipe["min_lr_ratio"])  # (N,)
    opt = AdamW(params, lr=recipe["lr"], b1=recipe["b1"], b2=recipe["b2"], weight_decay=recipe["weight_decay"])
    losses = np.empty(N)  # (N,)
    for s in range(N):  # a loop over training steps
        batch = make_batch(task, B, rng=data_rng)  # (B, T) x 3
        try:
            loss, grads = loss_and_grad(params, batch.tokens, batch.targets, config, mask=batch.mask, seam=seam,
                                        rng=seam_rng)
            grads, _ = clip_grad_norm(grads, recipe["clip_norm"])
            opt.step(params, grads, lr=float(rates[s]))
        except ValueError as err:  # parameters or gradients that became non-finite: the run diverged
            if not str(err).startswith(("params:", "grads:")):
                raise
            raise ValueError(f"lr: training diverged at step {s} ({err}); lower the learning rate") from None
        losses[s] = loss
        if progress is not None:
            progress(s + 1, loss)
    acc, exact = _evaluate(params, config, task, recipe["n_eval"], eval_seed)
    return TrainResult(task=task.name, config=config, params=params, losses=losses, eval_accuracy=acc,
                       eval_exact_match=exact, n_eval=recipe["n_eval"], seed=seed,
                       recipe=MappingProxyType(recipe))
