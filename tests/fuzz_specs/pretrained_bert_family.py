"""Specs: thermoref.pretrained.bert (issue 14): the BERT encoder, its config, and the all-MiniLM-L6-v2 loader.

The forward's valid calls use one tiny random encoder (V = 11, L = 2, D = 8, H = 2, D_ff = 12, T_max = 7) on a
padded batch, sampling layer 1 with the ``gumbel`` backend so that ``rng`` is read and fuzzed. Extra bad values
reach what the generic ones by type cannot: a parameter mapping with a missing, wrongly shaped, integer,
complex, mixed-dtype or NaN array, or with entries so large that the pass overflows; a config that does not fit
the parameters; ids longer than ``max_position``; a mask that leaves a sequence without a real token; a seam that
does not fit the model or asks for more draws than memory holds. ``load_minilm`` loads the real weights (about
0.2 s per valid case); its extra bad paths are a file with another hash and a folder without weights.

The names are registered at their canonical path: ``thermoref.pretrained.<name>`` once the package exports them,
``thermoref.pretrained.bert.<name>`` until then.
"""

import pathlib

import numpy as np

import thermoref.pretrained
from thermoref.transformer import TransformerConfig

from . import spec

_P = "thermoref.pretrained." if "bert_forward" in thermoref.pretrained.__all__ else "thermoref.pretrained.bert."


def _config(**kw):
    from thermoref.pretrained.bert import BertConfig

    return BertConfig(**{**dict(vocab_size=11, n_layers=2, d_model=8, n_heads=2, d_ff=12, max_position=7), **kw})


def _seam(**kw):
    from thermoref.transformer import AttentionSeam

    return AttentionSeam(**{**dict(n_samples=4, backend="gumbel", layers=[1]), **kw})


CFG = _config()
_rng = np.random.default_rng(0)
PARAMS = {k: 0.5 * _rng.standard_normal(s) for k, s in CFG.param_shapes().items()}
IDS = np.array([[1, 2, 3, 4], [6, 5, 0, 0]])  # (B, T) = (2, 4)
MASK = np.array([[True, True, True, True], [True, True, False, False]])
TYPES = np.array([[0, 0, 1, 1], [0, 1, 1, 1]])


def _with(**changes):
    out = dict(PARAMS)
    for k, v in changes.items():
        if v is None:
            del out[k]
        else:
            out[k] = v
    return out


_W = "encoder.layer.1.intermediate.dense.weight"
_BAD_PARAMS = [
    ("missing array", _with(**{"embeddings.LayerNorm.bias": None})),
    ("wrong shape", _with(**{"embeddings.word_embeddings.weight": np.zeros((11, 9))})),
    ("int dtype", _with(**{_W: np.zeros((12, 8), dtype=np.int64)})),
    ("complex dtype", _with(**{_W: PARAMS[_W].astype(complex)})),
    ("a list, not an ndarray", _with(**{_W: PARAMS[_W].tolist()})),
    ("mixed float32/float64", _with(**{_W: PARAMS[_W].astype(np.float32)})),
    ("one NaN entry", _with(**{_W: np.where(np.eye(12, 8) > 0, np.nan, PARAMS[_W])})),
    ("+inf entries", _with(**{"encoder.layer.0.output.dense.bias": np.full(8, np.inf)})),
    ("1e308 matrices (finite, overflowing)", {k: v if v.ndim == 1 else np.full_like(v, 1e308)
                                               for k, v in PARAMS.items()}),
    ("1e200 everywhere (finite, overflowing)", {k: np.full_like(v, 1e200) for k, v in PARAMS.items()}),
]
_BAD_IDS = [
    ("id = vocab_size", np.array([[1, 2, 11]])),
    ("longer than max_position", np.zeros((1, 8), dtype=np.int64)),
    ("bool dtype", np.array([[True, False]])),
    ("list of floats", [[1.0, 2.0]]),
]
_BAD_MASK = [
    ("a sequence without a real token", np.array([[True] * 4, [False] * 4])),
    ("shape of one row of a batch of 2", np.array([True, False, True, True])),
    ("int 0/1", np.array([[1, 1, 1, 1], [1, 1, 0, 0]])),
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
    ("fewer positions than the ids", _config(max_position=3)),
    ("a TransformerConfig", TransformerConfig(vocab_size=11, context=7, d_model=8, n_heads=2, n_layers=2)),
]

spec(_P + "PretrainedModel", result_type=True)
spec(_P + "BertConfig",
     args=dict(vocab_size=11, n_layers=2, d_model=8, n_heads=2, d_ff=12, max_position=7, type_vocab_size=2,
               ln_eps=1e-12),
     extra={"n_heads": [("does not divide d_model", 3)], "ln_eps": [("bool", True)]})
spec(_P + "BertConfig.param_shapes", make=lambda: CFG)
spec(_P + "bert_forward",
     args=dict(params=PARAMS, ids=IDS, config=CFG, mask=MASK, token_type_ids=TYPES, seam=_seam(), rng=0,
               return_attention=False),
     blame={"config": ("params", "ids")},
     extra={"params": _BAD_PARAMS, "ids": _BAD_IDS, "mask": _BAD_MASK, "seam": _BAD_SEAM, "config": _BAD_CONFIG,
            "token_type_ids": [("type = type_vocab_size", np.array([[0, 0, 2, 0], [0, 0, 0, 0]])),
                               ("one row for a batch of 2", np.array([0, 1, 1, 1]))]})
spec(_P + "sentence_embedding",
     args=dict(params=PARAMS, ids=IDS, config=CFG, mask=MASK, seam=_seam(), rng=0, normalize=True),
     blame={"config": ("params", "ids")},
     extra={"params": _BAD_PARAMS, "ids": _BAD_IDS, "mask": _BAD_MASK, "seam": _BAD_SEAM, "config": _BAD_CONFIG})
spec(_P + "load_minilm", args=dict(path=None, sha256="card", dtype=np.float32),
     blame={"sha256": ("path",)},  # a hash that is not the file's: verified_file names the file
     extra={"path": [("a file with another hash", pathlib.Path(__file__)),
                     ("a folder without the weights", pathlib.Path(__file__).parent)],
            "sha256": [("63 hex digits", "0" * 63), ("another file's hash", "0" * 64)],
            "dtype": [("float16", np.float16), ("int", int), ("complex", complex)]},
     timeout=20.0)
