"""Specs: thermoref.transformer (config, model, seam, inference, optim, tasks).

Every valid call uses one tiny model (V = 7, context 6, D = 8, H = 2, L = 2: 1,200 parameters), so each bad case
runs in about a millisecond. The valid calls of the model's callables sample in one layer (``chain``/``gumbel``
seams) so that ``rng`` is read and fuzzed. Extra bad values reach what the generic ones by type cannot: a
parameter mapping with a missing, extra, wrongly shaped, integer, NaN or mixed-dtype array or entries so large
that the forward pass overflows; a seam that does not fit the model or asks for more draws than memory holds;
a replacement MLP that returns text, NaN or a wrong shape; tokens outside the vocabulary or longer than the
context.

``thermoref.transformer.KVCache.empty`` is a classmethod, which ``tests/test_bad_input.py`` does not walk
(it collects plain functions only): its spec lives in ``tests/test_transformer.py`` and runs through the same
``fuzz_specs.core.check_spec``.
"""

import numpy as np

from . import spec

_T = "thermoref.transformer."


def _config(**kw):
    from thermoref.transformer import TransformerConfig

    return TransformerConfig(**{**dict(vocab_size=7, context=6, d_model=8, n_heads=2, n_layers=2), **kw})


def _params(dtype=np.float64):
    from thermoref.transformer import init_params

    return init_params(_config(), rng=0, dtype=dtype)


def _seam(**kw):
    from thermoref.transformer import AttentionSeam

    return AttentionSeam(**{**dict(n_samples=4, backend="gumbel", layers=[1]), **kw})


CFG = _config()
PARAMS = _params()
TOKENS = np.array([[1, 2, 3, 4], [6, 5, 0, 1]])  # (B, T) = (2, 4)
TARGETS = np.array([[2, 3, 4, 5], [5, 0, 1, 2]])
MASK = np.array([[False, True, True, True], [False, False, True, True]])


def _with(**changes):
    """PARAMS with some arrays replaced (None removes one)."""
    out = dict(PARAMS)
    for k, v in changes.items():
        if v is None:
            del out[k]
        else:
            out[k] = v
    return out


_BAD_PARAMS = [
    ("missing array", _with(**{"ln_f.b": None})),
    ("extra array", {**PARAMS, "blocks.2.ln_1.g": np.ones(8)}),
    ("wrong shape", _with(wte=np.zeros((7, 9)))),
    ("int dtype", _with(wpe=np.zeros((6, 8), dtype=np.int64))),
    ("one NaN entry", _with(**{"blocks.1.attn.w_qkv": np.where(np.eye(8, 24) > 0, np.nan, 0.0)})),
    ("mixed float32/float64", _with(wte=PARAMS["wte"].astype(np.float32))),
    ("1e308 entries (finite, overflowing)", {k: np.full_like(v, 1e308) for k, v in PARAMS.items()}),
    ("1e200 embedding (finite; LayerNorm removes it)", _with(wte=np.full((7, 8), 1e200))),
    ("1e200 matrices (finite, overflowing)", {k: v if v.ndim == 1 else np.full_like(v, 1e200)
                                               for k, v in PARAMS.items()}),
    ("complex dtype", _with(wte=PARAMS["wte"].astype(complex))),
]
_BAD_TOKENS = [
    ("id = vocab_size", np.array([[1, 2, 7]])),
    ("longer than the context", np.zeros((1, 7), dtype=np.int64)),
    ("bool dtype", np.array([[True, False]])),
    ("list of floats", [[1.0, 2.0]]),
]
_BAD_SEAMS = [
    ("layer outside the model", _seam(layers=[2])),
    ("head outside the model", _seam(heads=[2])),
    ("alpha of the wrong shape", _seam(alpha=np.full((1, 3), 0.5))),
    ("K = 2**62 draws per row", _seam(n_samples=2**62)),
    ("K = 2**62 chain draws", _seam(n_samples=2**62, backend="chain")),
]
_BAD_FFN = [
    ("returns text", {0: lambda u: "abc"}),
    ("returns NaN", {0: lambda u: np.full_like(u, np.nan)}),
    ("returns a wrong shape", {0: lambda u: u[..., :3]}),
    ("returns complex", {0: lambda u: u + 1j}),
    ("returns None", {0: lambda u: None}),
    ("bool key", {True: lambda u: u}),
]
_OTHER_CONFIG = [("a config the params do not fit", _config(d_model=4)),
                 ("a config with a shorter context", _config(context=3))]
# A config the parameters do not fit is reported by the parameters' check (the pair params/config).
_CONFIG_BLAME = {"config": ("params",)}

# ------------------------------------------------------------------------------------------------ config
spec(_T + "TransformerConfig",
     args=dict(vocab_size=7, context=6, d_model=8, n_heads=2, n_layers=2, mlp_ratio=4, ln_eps=1e-5),
     blame={"d_model": ("n_heads",)})  # a d_model that n_heads does not divide: the pair's error names n_heads
spec(_T + "param_shapes", args=dict(config=CFG))
spec(_T + "init_params", args=dict(config=CFG, rng=0, dtype=np.float32),
     extra={"dtype": [("unknown name", "abc"), ("int", int), ("float16", np.float16), ("None", None)]})
spec(_T + "check_params", args=dict(params=PARAMS, config=CFG, name="params"),
     extra={"params": _BAD_PARAMS}, blame=_CONFIG_BLAME)

# ------------------------------------------------------------------------------------------------- model
spec(_T + "AttentionTrace", result_type=True)
spec(_T + "check_tokens", args=dict(tokens=TOKENS, config=CFG, name="tokens"), extra={"tokens": _BAD_TOKENS})
spec(_T + "cross_entropy",
     args=dict(logits=np.random.default_rng(0).standard_normal((2, 4, 7)), targets=TARGETS, mask=MASK),
     extra={"mask": [("no position", np.zeros((2, 4), bool))],
            "targets": [("id = V", np.full((2, 4), 7)), ("float ids", TARGETS + 0.0)]})
spec(_T + "forward",
     args=dict(params=PARAMS, tokens=TOKENS, config=CFG, seam=_seam(backend="chain", chain_options=dict(n_warmup=3)),
               rng=0, ffn={0: lambda u: 0.5 * u}, return_attention=False),
     blame=_CONFIG_BLAME,
     extra={"params": _BAD_PARAMS, "tokens": _BAD_TOKENS, "seam": _BAD_SEAMS, "ffn": _BAD_FFN,
            "config": _OTHER_CONFIG})
spec(_T + "loss_and_grad",
     args=dict(params=PARAMS, tokens=TOKENS, targets=TARGETS, config=CFG, mask=MASK, seam=_seam(), rng=0),
     blame=_CONFIG_BLAME,
     extra={"params": _BAD_PARAMS, "tokens": _BAD_TOKENS, "seam": _BAD_SEAMS, "config": _OTHER_CONFIG,
            "mask": [("no position", np.zeros((2, 4), bool))], "targets": [("id = V", np.full((2, 4), 7))]})

# -------------------------------------------------------------------------------------------------- seam
spec(_T + "AttentionSeam",
     args=dict(n_samples=4, backend="chain", alpha=np.array([[0.5, 1.0]]), layers=[1], heads=(0, 1),
               chain_options=dict(n_warmup=2, thin=1, proposal="local")),
     extra={"layers": [("repeated", [1, 1]), ("negative", [-1]), ("float", [0.5]), ("string", "0")],
            "heads": [("repeated", (0, 0)), ("negative", (-1,))],
            "alpha": [("above 1", 1.5), ("3-d", np.full((1, 1, 2), 0.5)), ("bool", True)],
            "chain_options": [("unknown option", {"n_sweeps": 3})]})
spec(_T + "AttentionSeam.head_alpha", make=lambda: _seam(layers=[1], heads=[0, 1], alpha=np.array([[0.25, 1.0]])),
     args=dict(n_layers=2, n_heads=2))

# -------------------------------------------------------------------------------------------- inference
# A dataclass of arrays that KVCache.empty builds and generate fills; no public function takes one.
spec(_T + "KVCache", result_type=True)
spec(_T + "generate",
     args=dict(params=PARAMS, prompt=TOKENS[:, :2], n_new=3, config=CFG, temperature=0.7, rng=0,
               seam=_seam(), return_logits=True, backend=__import__("thermoref.backend", fromlist=["x"]).NumpyBackend()),
     skip={"next_token": "a user decoding rule, exclusive with temperature and backend (which this spec fuzzes); "
                         "its bad returns are tested in tests/test_transformer.py"},
     blame=_CONFIG_BLAME,
     extra={"params": _BAD_PARAMS, "prompt": _BAD_TOKENS, "seam": _BAD_SEAMS, "config": _OTHER_CONFIG,
            "temperature": [("tiny", 1e-300), ("huge", 1e300)], "n_new": [("one past the context", 5)]})

# ------------------------------------------------------------------------------------------------ optim
_GRADS = {k: np.full_like(v, 0.1) for k, v in PARAMS.items()}
_BAD_GRADS = [("missing array", {k: v for k, v in _GRADS.items() if k != "wte"}),
              ("wrong shape", {**_GRADS, "wte": np.zeros((7, 9))}),
              ("NaN entry", {**_GRADS, "wte": np.full((7, 8), np.nan)}),
              ("int dtype", {**_GRADS, "wte": np.zeros((7, 8), dtype=np.int64)}),
              ("1e308 entries", {k: np.full_like(v, 1e308) for k, v in _GRADS.items()})]
spec(_T + "clip_grad_norm", args=dict(grads=_GRADS, max_norm=1.0),
     extra={"grads": _BAD_GRADS[2:] + [("1e200 entries", {k: np.full_like(v, 1e200) for k, v in _GRADS.items()}),
                                        ("5e-324 entries", {k: np.full_like(v, 5e-324) for k, v in _GRADS.items()})]})
spec(_T + "AdamW", args=dict(params=PARAMS, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01),
     extra={"params": [("NaN entry", _with(wte=np.full((7, 8), np.nan))),
                       ("int dtype", _with(wte=np.zeros((7, 8), dtype=np.int64)))],
            "b1": [("one", 1.0)], "b2": [("one", 1.0)]})


def _optimizer():
    from thermoref.transformer import AdamW

    return AdamW(_params(), lr=1e-3)


spec(_T + "AdamW.step", make=_optimizer, args=dict(params=_params(), grads=_GRADS, lr=1e-2),
     extra={"grads": _BAD_GRADS,
            "params": [("missing array", _with(wte=None)), ("wrong shape", _with(wte=np.zeros((7, 9)))),
                       ("int dtype", _with(wte=np.zeros((7, 8), dtype=np.int64))),
                       ("NaN entry", _with(wte=np.full((7, 8), np.nan))),
                       ("a mapping that is not a dict", tuple(PARAMS.items()))]})

# ------------------------------------------------------------------------------------------------ tasks
spec(_T + "Task", result_type=True)
spec(_T + "Batch", result_type=True)
def _copy_task():
    from thermoref.transformer import get_task

    return get_task("copy")


spec(_T + "Task.decode", make=_copy_task, args=dict(tokens=np.array([0, 3, 10, 0, 3])))
spec(_T + "get_task", args=dict(name="sort", length=4, n_symbols=5))
spec(_T + "make_batch", args=dict(task="copy", n_sequences=3, rng=0, split="eval"))


def _batch():
    from thermoref.transformer import make_batch

    return make_batch("add", 3, rng=0)


spec(_T + "accuracy", args=dict(logits=np.random.default_rng(1).standard_normal((3, 8, 12)), batch=_batch()))
spec(_T + "task_seeds", args=dict(seed=3))
# ------------------------------------------------------------------------- through_sampler (helper for issue 11)
def _row_f(o):  # bounded for every finite head output: the valid call never overflows inside the user's f
    return np.tanh(o).sum(axis=-1)


def _row_grad_f(o):
    return 1.0 - np.tanh(o) ** 2


def _nan_fn(o):
    return np.full(np.shape(o), np.nan)


def _str_fn(o):  # noqa: ARG001
    return "abc"


def _shape7_fn(o):  # noqa: ARG001
    return np.zeros(7)


_ROW_FN = [("NaN-returning", _nan_fn), ("string-returning", _str_fn), ("wrong-shape-returning", _shape7_fn),
           ("inf-returning", lambda o: np.full(np.shape(o)[:1], np.inf))]
_ROW = dict(logits=np.array([0.5, -0.2, -np.inf, 0.1]),  # one masked key: 3 live keys
            values=np.array([[1.0, 0.0], [0.5, -1.0], [2.0, 2.0], [-0.3, 0.7]]), K=3)
_ROW_BAD_LOGITS = [("all keys masked", np.full(4, -np.inf)), ("two rows", np.zeros((2, 4)))]
_ROW_BAD_VALUES = [("one row short", np.ones((3, 2))), ("no value dimension", np.ones((4, 0)))]
spec(_T + "count_law", args=dict(logits=_ROW["logits"], K=3), extra={"logits": _ROW_BAD_LOGITS})
spec(_T + "row_objective", args=dict(**_ROW, f=_row_f),
     extra={"f": _ROW_FN, "logits": _ROW_BAD_LOGITS, "values": _ROW_BAD_VALUES}, blame={"logits": ("values",)})
spec(_T + "row_exact_gradient", args=dict(**_ROW, f=_row_f),
     extra={"f": _ROW_FN, "logits": _ROW_BAD_LOGITS, "values": _ROW_BAD_VALUES}, blame={"logits": ("values",)})
spec(_T + "row_sample_gradient",
     args=dict(**_ROW, f=_row_f, grad_f=_row_grad_f, size=5, method="straight_through", rng=0, baseline=0.5),
     extra={"f": _ROW_FN, "grad_f": _ROW_FN, "logits": _ROW_BAD_LOGITS, "values": _ROW_BAD_VALUES},
     blame={"logits": ("values",)}, skip={"f": "read by REINFORCE only; fuzzed in row_gradient_moments"})
spec(_T + "row_gradient_moments",
     args=dict(**_ROW, f=_row_f, grad_f=_row_grad_f, method="reinforce", baseline=0.5),
     extra={"f": _ROW_FN, "logits": _ROW_BAD_LOGITS, "values": _ROW_BAD_VALUES},
     blame={"logits": ("values",)}, skip={"grad_f": "read by straight-through only; fuzzed in row_sample_gradient"})

# ------------------------------------------------------------------------------ thermo_ffn (helper for issue 11)
_FFN_FIT = dict(width=6, rng=0, t_f=0.5, dt=0.1, kT=0.01, J2=1.0, J3=0.0, J4=1.0, replicas=2, input_scale=1.0,
                penalty=1e-3)


def _ffn_block():
    from thermoref.transformer import fit_thermo_ffn

    return fit_thermo_ffn(PARAMS, TOKENS, CFG, 1, **_FFN_FIT)


def _ffn_pair():
    from thermoref.transformer import mlp_activations

    return mlp_activations(PARAMS, TOKENS, CFG, 1)


_U, _Y = _ffn_pair()
spec(_T + "mlp_activations", args=dict(params=PARAMS, tokens=TOKENS, config=CFG, layer=1),
     extra={"params": _BAD_PARAMS, "tokens": _BAD_TOKENS, "config": _OTHER_CONFIG}, blame=_CONFIG_BLAME)
spec(_T + "fit_thermo_ffn", args=dict(params=PARAMS, tokens=TOKENS, config=CFG, layer=1, **_FFN_FIT),
     extra={"params": _BAD_PARAMS, "tokens": _BAD_TOKENS, "config": _OTHER_CONFIG,
            "t_f": [("not a whole number of steps", 0.55)], "J4": [("not confining", -1.0)]},
     blame=_CONFIG_BLAME)
spec(_T + "ThermoFFNBlock", result_type=True)
spec(_T + "ThermoFFNBlock.sampler", make=_ffn_block, args=dict(rng=0))
spec(_T + "ThermoFFNBlock.relative_error", make=_ffn_block, args=dict(u=_U, y=_Y, rng=0),
     extra={"y": [("constant outputs", np.ones_like(_Y))]}, blame={"u": ("y",)})
spec(_T + "ThermoFFNBlock.cost", make=_ffn_block, args=dict(n_tokens=16))

# --------------------------------------------------------------------------------------------- sampling_bias
from thermoref.transformer import AttentionTrace, Batch, forward  # noqa: E402

SB_TRACE = forward(PARAMS, TOKENS, CFG, seam=_seam(), rng=0, return_attention=True)[1]
SB_BATCH = Batch(tokens=TOKENS, targets=TARGETS, mask=MASK)
_BAD_BATCHES = [
    ("token id = vocab_size", Batch(tokens=np.array([[1, 2, 3, 7], [6, 5, 0, 1]]), targets=TARGETS, mask=MASK)),
    ("target id = vocab_size", Batch(tokens=TOKENS, targets=np.full((2, 4), 7), mask=MASK)),
    ("longer than the context", Batch(tokens=np.zeros((2, 7), np.int64), targets=np.zeros((2, 7), np.int64),
                                      mask=np.ones((2, 7), bool))),
    ("a row without an answer position", Batch(tokens=TOKENS, targets=TARGETS, mask=np.zeros((2, 4), bool))),
    ("float tokens", Batch(tokens=TOKENS + 0.5, targets=TARGETS, mask=MASK)),
    ("int mask", Batch(tokens=TOKENS, targets=TARGETS, mask=MASK.astype(np.int64))),
]
spec(_T + "evaluate", args=dict(params=PARAMS, config=CFG, batch=SB_BATCH, seam=_seam(), rng=0, n_repeats=2),
     blame=_CONFIG_BLAME,
     extra={"params": _BAD_PARAMS, "seam": _BAD_SEAMS, "config": _OTHER_CONFIG, "batch": _BAD_BATCHES})
spec(_T + "head_covariance", args=dict(trace=SB_TRACE),
     extra={"trace": [
         ("values of another length",
          AttentionTrace(SB_TRACE.logits, SB_TRACE.weights, SB_TRACE.values[:, :1])),
         ("NaN logits", AttentionTrace(np.full_like(SB_TRACE.logits, np.nan), SB_TRACE.weights, SB_TRACE.values)),
         ("4-d logits", AttentionTrace(SB_TRACE.logits[0], SB_TRACE.weights[0], SB_TRACE.values[0])),
         ("inf values",
          AttentionTrace(SB_TRACE.logits, SB_TRACE.weights, np.full_like(SB_TRACE.values, np.inf)))]})
spec(_T + "predicted_loss_bias",
     args=dict(params=PARAMS, tokens=TOKENS, targets=TARGETS, config=CFG, mask=MASK, layers=[1], rng=0, n_probes=4),
     blame=_CONFIG_BLAME,
     extra={"params": _BAD_PARAMS, "tokens": _BAD_TOKENS, "config": _OTHER_CONFIG,
            "layers": [("outside the model", [2]), ("repeated", [1, 1]), ("negative", [-1])],
            "mask": [("no position", np.zeros((2, 4), bool))], "targets": [("id = V", np.full((2, 4), 7))]})
# ------------------------------------------------------------------------------------------- train (issue 11)
# RECIPES and SHA256 are data (not callables): no spec. One valid call trains 2 steps at batch 4 on copy with a
# sampled seam (so that the seam's stream is drawn); n_steps=None runs the recipe's 500 steps at batch 4
# (about 2 s on a quiet machine), hence the timeout.
import os as _os
import tempfile as _tempfile


def _short_result():
    from thermoref.transformer import train

    return train("copy", seed=0, n_steps=2, batch_size=4, n_eval=4)


def _nan_result():
    import dataclasses

    r = _short_result()
    params = {k: v.copy() for k, v in r.params.items()}
    params["wte"][0, 0] = np.nan
    return dataclasses.replace(r, params=params)


def _shipped(task):
    from thermoref.transformer.shipped import _shipped_path

    return _shipped_path(task)


def _digest(task):
    from thermoref.transformer import SHA256

    return SHA256[task]


def _tampered_copy():
    path = _os.path.join(_tempfile.gettempdir(), "thermoref-fuzz-tampered-copy.npz")
    with open(_shipped("copy"), "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 1
    with open(path, "wb") as f:
        f.write(bytes(data))
    return path


spec(_T + "TrainResult", result_type=True)
spec(_T + "train",
     args=dict(task="copy", seed=0, n_steps=2, batch_size=4, lr=1e-3, n_eval=4, seam=_seam(n_samples=2),
               progress=None),
     extra={"seam": [("a seam for a third layer", _seam(layers=[2]))]}, timeout=60.0)
spec(_T + "lr_schedule", args=dict(step=np.arange(5), n_steps=5, lr=1e-3, warmup=0.2, min_lr_ratio=0.1),
     extra={"step": [("index past the end", np.array([5]))], "warmup": [("one", 1.0)],
            "min_lr_ratio": [("above one", 1.5)]})
spec(_T + "save_weights",
     args=dict(path=_os.path.join(_tempfile.gettempdir(), "thermoref-fuzz-weights.npz"), result=_short_result()),
     extra={"result": [("a NaN parameter", _nan_result())], "path": [("a missing directory", "/no/such/dir/w.npz")]})
# A file whose digest differs from the claimed sha256 is refused naming path (the file is what is wrong).
spec(_T + "load_pretrained",
     args=dict(task="copy", path=_shipped("copy"), sha256=_digest("copy"), metadata=True),
     extra={"path": [("a tampered copy", _tampered_copy())], "sha256": [("another digest", "0" * 64)],
            "task": [("a task whose file is not the one given", "sort")]},
     blame={"sha256": ("path",)})
