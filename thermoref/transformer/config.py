r"""The transformer's shape (a frozen config) and its parameters (a flat mapping of named arrays).

A decoder-only transformer in the layout of GPT-2: token and learned position embeddings, ``n_layers`` pre-norm
blocks (LayerNorm, causal multi-head attention, LayerNorm, GELU MLP of ``mlp_ratio`` times the width, each with
a residual connection), a final LayerNorm, and an output head tied to the token embedding. Every parameter is one
NumPy array in a flat ``dict`` keyed by name (:func:`param_shapes` lists them); nothing else is state.

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30; Radford, A. et al. (2019)
"Language models are unsupervised multitask learners" (GPT-2: pre-norm blocks, tied head, initialization).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .._validation import as_rng, check_allocation

__all__ = ["TransformerConfig", "param_shapes", "init_params", "check_params"]

_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _positive_field(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: must be >= 1, got {value}")
    return int(value)


@dataclass(frozen=True)
class TransformerConfig:
    r"""The shape of a decoder-only transformer.

    Parameters
    ----------
    vocab_size : int
        Number of token ids :math:`V`; tokens are integers in ``[0, V)``.
    context : int
        Longest input :math:`T_{\max}` (rows of the position embedding).
    d_model : int
        Width :math:`D` of the residual stream.
    n_heads : int
        Attention heads :math:`H` per layer; must divide ``d_model`` (head width :math:`d_h = D/H`).
    n_layers : int
        Number of blocks :math:`L`.
    mlp_ratio : int
        Width of the MLP's hidden layer in units of :math:`D` (4 in GPT-2).
    ln_eps : float
        The :math:`\epsilon` of every LayerNorm, :math:`> 0`.

    Attributes
    ----------
    vocab_size, context, d_model, n_heads, n_layers, mlp_ratio : int
        As given.
    ln_eps : float
        As given. The properties ``head_dim`` (:math:`d_h = D/H`) and ``n_params`` (the number of scalar
        parameters) are derived from them.

    Notes
    -----
    Parameter count: :math:`(V + T_{\max})D + L\,(4D^2 + 2rD^2 + (9 + r)D) + 2D` with :math:`r` the MLP ratio
    (the head is tied to the token embedding and has no parameters of its own).

    References
    ----------
    Radford, A. et al. (2019) "Language models are unsupervised multitask learners", OpenAI technical report.

    Examples
    --------
    >>> cfg = TransformerConfig(vocab_size=11, context=16, d_model=32, n_heads=4, n_layers=2)
    >>> cfg.head_dim, cfg.n_params
    (8, 26336)
    """

    vocab_size: int
    context: int
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    mlp_ratio: int = 4
    ln_eps: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "context", "d_model", "n_heads", "n_layers", "mlp_ratio"):
            _positive_field(getattr(self, name), name)
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads: must divide d_model = {self.d_model}, got {self.n_heads}")
        eps = self.ln_eps
        if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
            raise TypeError(f"ln_eps: expected a real number, got {type(eps).__name__}")
        if not (0.0 < float(eps) < np.inf):
            raise ValueError(f"ln_eps: must be positive and finite, got {eps!r}")
        # Sizes before any loop over layers, each named after the field that makes it large (a matrix of
        # each kind, then one block per layer, then the whole model).
        V, T, D, L, r = self.vocab_size, self.context, self.d_model, self.n_layers, self.mlp_ratio
        check_allocation((D, D), "d_model")
        check_allocation((r * D, D), "mlp_ratio")
        check_allocation((V, D), "vocab_size")
        check_allocation((T, D), "context")
        check_allocation((L, (4 + 2 * r) * D * D + (9 + r) * D), "n_layers")
        check_allocation(((V + T) * D + L * ((4 + 2 * r) * D * D + (9 + r) * D) + 2 * D,), "d_model")

    @property
    def head_dim(self) -> int:
        """Width :math:`d_h = D/H` of each attention head."""
        return self.d_model // self.n_heads

    @property
    def n_params(self) -> int:
        """Number of scalar parameters (the sum of the sizes of :func:`param_shapes`)."""
        return sum(int(np.prod(s)) for s in param_shapes(self).values())


def _check_config(config: object) -> None:
    """Refuse anything but a TransformerConfig, naming the parameter ``config``."""
    if not isinstance(config, TransformerConfig):
        raise TypeError(f"config: expected a TransformerConfig, got {type(config).__name__}")


def param_shapes(config: TransformerConfig) -> dict[str, tuple[int, ...]]:
    r"""The name and shape of every parameter, in a fixed order.

    Parameters
    ----------
    config : TransformerConfig
        The model's shape.

    Returns
    -------
    dict of str to tuple of int
        ``wte`` (V, D) token embedding (also the output head), ``wpe`` (T_max, D) position embedding; for each
        block ``l``: ``blocks.l.ln_1.g``/``.b`` (D,), ``blocks.l.attn.w_qkv`` (D, 3D) and ``.b_qkv`` (3D,)
        (queries, keys, values side by side, head ``h`` in columns ``h*d_h:(h+1)*d_h`` of each third),
        ``blocks.l.attn.w_out`` (D, D) and ``.b_out`` (D,), ``blocks.l.ln_2.g``/``.b`` (D,),
        ``blocks.l.mlp.w_in`` (D, rD) and ``.b_in`` (rD,), ``blocks.l.mlp.w_out`` (rD, D) and ``.b_out`` (D,);
        then ``ln_f.g``/``.b`` (D,).

    Notes
    -----
    Every matrix acts on row vectors, :math:`y = xW + b`, as in the forward pass.

    References
    ----------
    Radford, A. et al. (2019) "Language models are unsupervised multitask learners", OpenAI technical report
    (GPT-2's layout: pre-norm blocks, a final LayerNorm, the output head tied to the token embedding).

    Examples
    --------
    >>> shapes = param_shapes(TransformerConfig(vocab_size=5, context=8, d_model=8, n_heads=2, n_layers=1))
    >>> shapes["wte"], shapes["blocks.0.attn.w_qkv"], len(shapes)
    ((5, 8), (8, 24), 16)
    """
    _check_config(config)
    V, T, D, R = config.vocab_size, config.context, config.d_model, config.mlp_ratio * config.d_model
    shapes: dict[str, tuple[int, ...]] = {"wte": (V, D), "wpe": (T, D)}
    for layer in range(config.n_layers):
        p = f"blocks.{layer}."
        shapes.update({
            p + "ln_1.g": (D,), p + "ln_1.b": (D,),
            p + "attn.w_qkv": (D, 3 * D), p + "attn.b_qkv": (3 * D,),
            p + "attn.w_out": (D, D), p + "attn.b_out": (D,),
            p + "ln_2.g": (D,), p + "ln_2.b": (D,),
            p + "mlp.w_in": (D, R), p + "mlp.b_in": (R,),
            p + "mlp.w_out": (R, D), p + "mlp.b_out": (D,),
        })
    shapes.update({"ln_f.g": (D,), "ln_f.b": (D,)})
    return shapes


def init_params(config: TransformerConfig, *, rng: np.random.Generator | int,
                dtype: type | str = np.float64) -> dict[str, np.ndarray]:
    r"""Fresh parameters: GPT-2's initialization.

    Parameters
    ----------
    config : TransformerConfig
        The model's shape.
    rng : numpy.random.Generator or int
        Source of randomness.
    dtype : {numpy.float64, numpy.float32}
        Floating type of every array (float64 by default; float32 for faster training).

    Returns
    -------
    dict of str to ndarray, each of the shape given by param_shapes
        Every parameter of :func:`param_shapes`, in its order.

    Notes
    -----
    Matrices and embeddings are :math:`\mathcal N(0, 0.02^2)`; the two projections that write into the
    residual stream (``attn.w_out`` and ``mlp.w_out``) are scaled by :math:`1/\sqrt{2L}` so that the stream's
    variance does not grow with depth; biases are 0 and LayerNorm gains 1. The token embedding's small scale
    makes the initial logits nearly equal, so the initial loss is close to :math:`\ln V`.

    References
    ----------
    Radford, A. et al. (2019) "Language models are unsupervised multitask learners", §2.3.

    Examples
    --------
    >>> cfg = TransformerConfig(vocab_size=5, context=8, d_model=8, n_heads=2, n_layers=1)
    >>> params = init_params(cfg, rng=0)
    >>> params["wte"].shape, params["blocks.0.ln_1.g"][:3].tolist(), params["ln_f.b"].dtype
    ((5, 8), [1.0, 1.0, 1.0], dtype('float64'))
    """
    shapes = param_shapes(config)
    dt = _check_dtype(dtype)
    rng = as_rng(rng)
    out_scale = 0.02 / np.sqrt(2 * config.n_layers)
    params: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():  # a loop over parameter blocks (a few dozen), not over entries
        if name.endswith((".g",)):
            params[name] = np.ones(shape, dtype=dt)
        elif len(shape) == 1:
            params[name] = np.zeros(shape, dtype=dt)
        else:
            scale = out_scale if name.endswith(("attn.w_out", "mlp.w_out")) else 0.02
            params[name] = (scale * rng.standard_normal(shape)).astype(dt, copy=False)
    return params


def _check_dtype(dtype: object) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected numpy.float64 or numpy.float32, got {dtype!r}") from None
    if dt not in _DTYPES:
        raise ValueError(f"dtype: expected float64 or float32, got {dt}")
    return dt


def check_params(params: Mapping[str, object], config: TransformerConfig,
                 name: str = "params") -> dict[str, np.ndarray]:
    r"""Validate a parameter mapping against a config: exact names, shapes, one float dtype, finite entries.

    Parameters
    ----------
    params : mapping of str to array_like, each of the shape given by param_shapes
        Candidate parameters.
    config : TransformerConfig
        The model's shape.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    dict of str to ndarray, each of the shape given by param_shapes
        The arrays (not copied when already arrays of float32 or float64), in :func:`param_shapes` order.

    Notes
    -----
    Refused: a name missing or not in :func:`param_shapes`, a wrong shape, a non-float or mixed dtype, a NaN or
    infinite entry. Each error names the offending parameter.

    Examples
    --------
    >>> cfg = TransformerConfig(vocab_size=5, context=8, d_model=8, n_heads=2, n_layers=1)
    >>> params = init_params(cfg, rng=0)
    >>> del params["ln_f.b"]
    >>> try:
    ...     check_params(params, cfg)
    ... except ValueError as err:
    ...     print(err)
    params: missing parameter(s) ['ln_f.b']
    """
    shapes = param_shapes(config)
    if not isinstance(params, Mapping):
        raise TypeError(f"{name}: expected a mapping of parameter names to arrays, got {type(params).__name__}")
    missing = [k for k in shapes if k not in params]
    extra = sorted(str(k) for k in params if k not in shapes)
    if missing:
        raise ValueError(f"{name}: missing parameter(s) {missing}")
    if extra:
        raise ValueError(f"{name}: unexpected parameter(s) {extra}")
    out: dict[str, np.ndarray] = {}
    dtypes = set()
    for key, shape in shapes.items():  # a loop over parameter blocks
        arr = np.asarray(params[key])
        if arr.dtype not in _DTYPES:
            raise TypeError(f"{name}: {key!r} must be float64 or float32, got dtype {arr.dtype}")
        if arr.shape != shape:
            raise ValueError(f"{name}: {key!r} must have shape {shape}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}: {key!r} contains NaN or infinite entries")
        dtypes.add(arr.dtype)
        out[key] = arr
    if len(dtypes) > 1:
        raise TypeError(f"{name}: every array must share one dtype, got {sorted(str(d) for d in dtypes)}")
    return out
