"""Specs: thermoref.pretrained.llama (issue 14): the LLaMA decoder, its config, KV cache, generation and loader.

Every valid call uses one tiny random decoder with grouped-query attention (V = 260: the 256 byte characters and
4 merged tokens, L = 2, D = 8, H = 2 query heads sharing H_kv = 1 key/value head, D_ff = 12, context 16),
sampling layer 1 with the ``gumbel`` backend so that ``rng`` is read and fuzzed. ``load_smollm2``'s valid call
reads the same tiny model from a GGUF file that this module writes with the ``gguf`` package (the test-only
reference writer) into a temporary folder, so no case dequantizes the real 135M-parameter file: the bad
``path=None`` case meets the real file with the tiny file's hash and is refused after hashing.

Extra bad values reach what the generic ones by type cannot: a parameter mapping with a missing, unknown,
wrongly shaped, integer, mixed-dtype or NaN array, or entries so large that the pass overflows; a config the
parameters do not fit; ids beyond the context; a cache of the wrong shape, dtype or length, read-only, full, or
holding NaN keys; a seam that does not fit the model or asks for more draws than memory holds; decoding rules
that return text, NaN or out-of-range ids; GGUF metadata of another architecture, with text or booleans where
numbers belong, partial rotary embeddings or scaled frequencies.

``LlamaConfig.from_gguf_metadata`` is a classmethod, which ``tests/test_bad_input.py`` does not walk: its spec
(``METADATA_SPEC``) runs in ``tests/test_pretrained_llama.py`` through the same ``fuzz_specs.core.check_spec``.
The names are registered at their canonical path: ``thermoref.pretrained.<name>`` once the package exports them,
``thermoref.pretrained.llama.<name>`` until then.
"""

from __future__ import annotations

import atexit
import hashlib
import pathlib
import shutil
import tempfile

import numpy as np

import thermoref.pretrained

from . import Spec, spec

_P = "thermoref.pretrained." if "llama_forward" in thermoref.pretrained.__all__ else "thermoref.pretrained.llama."
TINY = dict(vocab_size=260, n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=12, context=16,
            rope_base=10000.0, rms_eps=1e-5)
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"  # the card's file name, so that a folder path finds it too


def _config(**kw):
    from thermoref.pretrained.llama import LlamaConfig

    return LlamaConfig(**{**TINY, **kw})


def _seam(**kw):
    from thermoref.transformer import AttentionSeam

    return AttentionSeam(**{**dict(n_samples=4, backend="gumbel", layers=[1]), **kw})


def byte_chars() -> list[str]:
    """GPT-2's printable character for each byte 0..255 (Radford et al. 2019, ``bytes_to_unicode``)."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    extra = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


TOKENS = byte_chars() + ["\u0120t", "he", "\u0120the", "<|endoftext|>"]  # V = 260
MERGES = ["\u0120 t", "h e", "\u0120t he"]


def tiny_params(config=None, seed: int = 0, scale: float = 0.5) -> dict[str, np.ndarray]:
    """Random float64 parameters of a config (norm gains near 1), by GGUF name."""
    cfg = config or _config()
    rng = np.random.default_rng(seed)
    return {k: (1.0 + 0.1 * rng.standard_normal(s)) if len(s) == 1 else scale * rng.standard_normal(s)
            for k, s in cfg.param_shapes().items()}


def write_tiny_gguf(path, params: dict | None = None, *, metadata: dict | None = None, drop: str | None = None,
                    arch: str = "llama") -> pathlib.Path:
    """Write a tiny LLaMA GGUF v3 file (F32 tensors) with gguf's writer; return its path.

    ``metadata`` overrides ``llama.*`` numbers (None removes a key), ``drop`` leaves a tensor out.
    """
    import gguf

    cfg = _config()
    params = tiny_params() if params is None else params
    path = pathlib.Path(path)
    w = gguf.GGUFWriter(str(path), arch)
    meta = {"block_count": cfg.n_layers, "context_length": cfg.context, "embedding_length": cfg.d_model,
            "feed_forward_length": cfg.d_ff, "attention.head_count": cfg.n_heads,
            "attention.head_count_kv": cfg.n_kv_heads, "rope.freq_base": cfg.rope_base,
            "attention.layer_norm_rms_epsilon": cfg.rms_eps, "rope.dimension_count": cfg.head_dim,
            "vocab_size": cfg.vocab_size, **(metadata or {})}
    for key, value in meta.items():
        if value is None:
            continue
        if isinstance(value, str):
            w.add_string(f"{arch}.{key}", value)
        elif isinstance(value, float):
            w.add_float32(f"{arch}.{key}", value)
        else:
            w.add_uint32(f"{arch}.{key}", value)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(TOKENS)
    w.add_token_merges(MERGES)
    w.add_token_types([1] * (len(TOKENS) - 1) + [3])
    w.add_eos_token_id(len(TOKENS) - 1)
    w.add_add_bos_token(False)
    for name, arr in params.items():
        if name != drop:
            w.add_tensor(name, np.ascontiguousarray(arr, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _tiny_file() -> pathlib.Path:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="thermoref_llama_spec_"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return write_tiny_gguf(folder / GGUF_NAME)


CFG = _config()
PARAMS = tiny_params()
IDS = np.array([[1, 2, 3, 4], [6, 5, 0, 259]])  # (B, T) = (2, 4)
try:  # the gguf writer is test-only (requirements-weights.txt); an environment without it (CI's thrml step,
    import gguf  # noqa: F401  which loads every family) registers every spec but load_smollm2's
except ModuleNotFoundError:
    FILE = FILE_SHA256 = None
else:
    FILE = _tiny_file()
    FILE_SHA256 = hashlib.sha256(FILE.read_bytes()).hexdigest()
METADATA = {"general.architecture": "llama", **{f"llama.{k}": v for k, v in dict(
    block_count=2, context_length=16, embedding_length=8, feed_forward_length=12, **{
        "attention.head_count": 2, "attention.head_count_kv": 1, "rope.freq_base": 10000.0,
        "attention.layer_norm_rms_epsilon": 1e-5, "rope.dimension_count": 4}, vocab_size=260).items()}}


def _with(**changes):
    """PARAMS with some arrays replaced (None removes one)."""
    out = dict(PARAMS)
    for k, v in changes.items():
        if v is None:
            del out[k]
        else:
            out[k] = v
    return out


def _cache(length=0, T_max=8, batch=2, dtype=np.float64, **kw):
    from thermoref.transformer import KVCache

    shape = (kw.get("L", 2), batch, kw.get("H_kv", 1), T_max, kw.get("d_h", 4))
    keys = np.full(shape, kw.get("fill", 0.0), dtype=dtype)
    if kw.get("readonly"):
        keys.flags.writeable = False
    return KVCache(keys, np.zeros(shape, dtype=dtype), length)


_Q = "blk.1.attn_q.weight"
_BAD_PARAMS = [
    ("missing array", _with(**{"output_norm.weight": None})),
    ("unknown array", {**PARAMS, "output.weight": np.zeros((260, 8))}),
    ("wrong shape", _with(**{"token_embd.weight": np.zeros((260, 9))})),
    ("int dtype", _with(**{_Q: np.zeros((8, 8), dtype=np.int64)})),
    ("complex dtype", _with(**{_Q: PARAMS[_Q].astype(complex)})),
    ("a list, not an ndarray", _with(**{_Q: PARAMS[_Q].tolist()})),
    ("mixed float32/float64", _with(**{_Q: PARAMS[_Q].astype(np.float32)})),
    ("one NaN entry", _with(**{_Q: np.where(np.eye(8) > 0, np.nan, PARAMS[_Q])})),
    ("+inf norm gain", _with(**{"blk.0.ffn_norm.weight": np.full(8, np.inf)})),
    ("1e308 matrices (finite, overflowing)", {k: v if v.ndim == 1 else np.full_like(v, 1e308)
                                               for k, v in PARAMS.items()}),
    ("1e200 everywhere (finite, overflowing)", {k: np.full_like(v, 1e200) for k, v in PARAMS.items()}),
    ("not a mapping", list(PARAMS.values())),
]
_BAD_IDS = [
    ("id = vocab_size", np.array([[1, 2, 260]])),
    ("longer than the context", np.zeros((1, 17), dtype=np.int64)),
    ("bool dtype", np.array([[True, False]])),
    ("list of floats", [[1.0, 2.0]]),
]
_BAD_CACHE = [
    ("wrong number of layers", _cache(L=3)),
    ("another batch size", _cache(batch=1)),
    ("H_kv = H (not grouped)", _cache(H_kv=2)),
    ("float32 for float64 parameters", _cache(dtype=np.float32)),
    ("full", _cache(length=8)),
    ("too short for the ids", _cache(T_max=3)),
    ("length beyond T_max", _cache(length=9)),
    ("negative length", _cache(length=-1)),
    ("bool length", _cache(length=True)),
    ("read-only keys", _cache(readonly=True)),
    ("NaN keys", _cache(length=2, fill=np.nan)),
    ("longer than the context", _cache(length=14, T_max=20)),
    ("a dict", {"keys": np.zeros((2, 2, 1, 8, 4)), "values": np.zeros((2, 2, 1, 8, 4)), "length": 0}),
]
_BAD_SEAM = [
    ("layer outside the model", _seam(layers=[2])),
    ("head outside the model", _seam(heads=[2])),
    ("alpha of the wrong shape", _seam(alpha=np.ones((1, 3)))),
    ("2**40 draws per query", _seam(n_samples=2**40)),
    ("an AttentionSeam class, not an instance", type(_seam())),
]
_BAD_CONFIG = [
    ("another width than the parameters", _config(d_model=4)),
    ("H_kv = H", _config(n_kv_heads=2)),
    ("a shorter context than the ids", _config(context=3)),
    ("a TransformerConfig", __import__("thermoref.transformer", fromlist=["x"]).TransformerConfig(260, 16, 8, 2, 2)),
]
_BAD_RULES = [
    ("returns text", lambda logits, step, tokens, rng: "abc"),
    ("returns an id = V", lambda logits, step, tokens, rng: np.full(logits.shape[0], 260)),
    ("returns NaN", lambda logits, step, tokens, rng: np.full(logits.shape[0], np.nan)),
    ("returns one id for a batch of 2", lambda logits, step, tokens, rng: 3),
]
_BAD_METADATA = [
    ("another architecture", {**METADATA, "general.architecture": "gpt2"}),
    ("no block count", {k: v for k, v in METADATA.items() if k != "llama.block_count"}),
    ("text block count", {**METADATA, "llama.block_count": "2"}),
    ("bool head count", {**METADATA, "llama.attention.head_count": True}),
    ("fractional width", {**METADATA, "llama.embedding_length": 8.5}),
    ("3 KV heads for 2 query heads", {**METADATA, "llama.attention.head_count_kv": 3}),
    ("partial rotary", {**METADATA, "llama.rope.dimension_count": 2}),
    ("key width 8 for heads of 4", {**METADATA, "llama.attention.key_length": 8}),
    ("scaled rotary", {**METADATA, "llama.rope.scaling.type": "linear"}),
    ("NaN epsilon", {**METADATA, "llama.attention.layer_norm_rms_epsilon": float("nan")}),
    ("rope base 1", {**METADATA, "llama.rope.freq_base": 1.0}),
    ("no vocabulary size", {k: v for k, v in METADATA.items() if k != "llama.vocab_size"}),
]

spec(_P + "LlamaConfig", args=dict(TINY),
     blame={"d_model": ("n_heads",)},  # a width the heads do not split evenly: the pair's error names n_heads
     extra={"n_heads": [("odd head width", 4)], "n_kv_heads": [("does not divide n_heads", 3)],
            "rope_base": [("1 (no rotation scale)", 1.0), ("bool", True)], "rms_eps": [("bool", True)]})
spec(_P + "LlamaConfig.param_shapes", make=lambda: CFG)
spec(_P + "llama_cache", args=dict(config=CFG, batch=2, max_length=8, dtype=np.float32),
     extra={"max_length": [("beyond the context", 17)], "dtype": [("float16", np.float16), ("int", int)],
            "config": [("a TransformerConfig", _BAD_CONFIG[-1][1])]})
spec(_P + "llama_forward",
     args=dict(params=PARAMS, ids=IDS, config=CFG, cache=None, seam=_seam(), rng=0, return_attention=False),
     blame={"config": ("params", "ids")},
     extra={"params": _BAD_PARAMS, "ids": _BAD_IDS, "cache": _BAD_CACHE, "seam": _BAD_SEAM, "config": _BAD_CONFIG})
spec(_P + "llama_generate",
     args=dict(params=PARAMS, ids=IDS[:, :2], config=CFG, n_new=3, seam=_seam(), rng=0,
               next_token=lambda logits, step, tokens, rng: np.argmax(logits, axis=-1), return_logits=True),
     blame={"config": ("params", "ids", "n_new")},  # a shorter context: the prompt + n_new overflow it
     extra={"params": _BAD_PARAMS, "ids": _BAD_IDS, "seam": _BAD_SEAM, "config": _BAD_CONFIG,
            "n_new": [("one past the context", 16)], "next_token": _BAD_RULES})
if FILE is not None:
    spec(_P + "load_smollm2", args=dict(path=FILE, sha256=FILE_SHA256, dtype=np.float32),
         blame={"sha256": ("path",)},  # a hash that is not the file's: verified_file names the file
         extra={"path": [("the folder of the file (valid: finds it)", FILE.parent),
                         ("a folder without the weights", pathlib.Path(__file__).parent),
                         ("a file with another hash", pathlib.Path(__file__))],
                "sha256": [("63 hex digits", "0" * 63), ("the real weights' hash", "card")],
                "dtype": [("float16", np.float16), ("int", int), ("complex", complex)]},
         timeout=20.0)

#: The spec of the classmethod ``LlamaConfig.from_gguf_metadata`` (not walked by test_bad_input; run by
#: tests/test_pretrained_llama.py).
METADATA_SPEC = Spec(_P + "LlamaConfig.from_gguf_metadata", args=dict(metadata=METADATA),
                     extra={"metadata": _BAD_METADATA})
