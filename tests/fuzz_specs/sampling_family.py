"""Specs: thermoref.sampling and the exact and sampled attention of thermoref.attention (exact, sampled).

Attention names are written through the package namespace (``thermoref.attention.sampled_attention``), the
path the API reference documents and under which ``tests/test_bad_input.py`` lists the object. Every valid
call includes a masked category or key (``-inf``); the row-wise attention calls also include a fully masked
(inert) row, so that the one rule of :mod:`thermoref.attention` is part of every valid call, and a finite
sentinel (the most negative float64), which is a logit, not a mask.
"""

import numpy as np

from . import spec


# ------------------------------------------------------------------------------------------------ sampling
Z = np.array([[0.0, 1.5, -np.inf, -0.5, 2.0, 0.3], [1.0, -1.0, 0.0, 0.5, -np.inf, -np.inf]])  # (2, 6)
BETA = np.array([0.7, 1.3])  # one inverse temperature per row
_HUGE_SIZE = [("size needing > 10 GB", 2**31)]
_BETA_PAIR = {"logits": ("beta",)}  # logits of another batch shape no longer match the per-row betas
# The default method here; tests/test_sampling.py runs the same bad values through "gumbel" and "alias" too.
spec("thermoref.sampling.sample_categorical",
     args=dict(logits=Z, size=5, beta=BETA, rng=0, method="inverse_cdf"), blame=_BETA_PAIR, extra={"size": _HUGE_SIZE})
spec("thermoref.sampling.alias_table", args=dict(logits=Z, beta=BETA), blame=_BETA_PAIR)
spec("thermoref.sampling.gumbel_top_k", args=dict(logits=Z, k=2, size=3, beta=BETA, rng=0), blame=_BETA_PAIR,
     extra={"size": _HUGE_SIZE})
spec("thermoref.sampling.hierarchical_law", args=dict(logits=Z, block_size=3, beta=BETA), blame=_BETA_PAIR)
spec("thermoref.sampling.sample_hierarchical",
     args=dict(logits=Z, block_size=2, size=4, beta=BETA, rng=0, method="alias"), blame=_BETA_PAIR,
     extra={"size": _HUGE_SIZE})
IDX = np.array([[0, 2, 2, 1], [3, 3, 0, 1]])  # (2, K = 4) draws over n = 4 categories
spec("thermoref.sampling.categorical_counts", args=dict(indices=IDX, n=4), blame={"n": ("indices",)})
spec("thermoref.sampling.empirical_frequencies", args=dict(indices=IDX, n=4), blame={"n": ("indices",)})

# ----------------------------------------------------------------------------------------- exact attention
# (2, 3, 5) logits: one masked key, one fully masked row (inert), one row with a finite sentinel.
ELL = np.random.default_rng(0).standard_normal((2, 3, 5))
ELL[0, 0, 1] = -np.inf
ELL[1, 2] = -np.inf
ELL[0, 1, 3] = np.finfo(np.float64).min
QUERY, KEY = np.random.default_rng(1).standard_normal((2, 2, 3, 4))  # (heads, T, d_k), (heads, S, d_k)
VALUE = np.random.default_rng(2).standard_normal((2, 3, 2))  # (heads, S, d_v)
MASK = np.array([[True, False, True], [False, False, False], [True, True, True]])  # (T, S), row 1 inert
_QKV_BLAME = {"query": ("key",), "key": ("query",)}  # a d_k mismatch is reported on key

spec("thermoref.attention.causal_mask", args=dict(T=4, S=6))
spec("thermoref.attention.attention_logits", args=dict(query=QUERY, key=KEY, mask=MASK), blame=_QKV_BLAME,
     allow_inf=True)  # -inf: masked entries (documented)
spec("thermoref.attention.attention_weights", args=dict(logits=ELL))
spec("thermoref.attention.softmax_attention", args=dict(query=QUERY, key=KEY, value=VALUE, mask=MASK),
     blame=_QKV_BLAME)
spec("thermoref.attention.random_logits", args=dict(S=5, strength=1.5, rng=0), extra={"S": [("S x S > 10 GB", 2**17)]})
spec("thermoref.attention.local_logits", args=dict(S=5, strength=1.5, width=2.0),
     extra={"S": [("S x S > 10 GB", 2**17)]})
spec("thermoref.attention.block_logits", args=dict(S=8, strength=1.5, block=3, n_global=1),
     extra={"S": [("S x S > 10 GB", 2**17)]})

# --------------------------------------------------------------------------------------- sampled attention
KEYS = np.array([[[0, 2, 2], [4, 4, 0], [-1, -1, -1]], [[1, 1, 3], [0, 0, 0], [2, 3, 4]]])  # (2, 3, K = 3)
spec("thermoref.attention.sample_keys", args=dict(logits=ELL, n_samples=4, rng=0, backend="gumbel"),
     extra={"n_samples": [("keys needing > 10 GB", 2**31)]})
spec("thermoref.attention.sampled_values", args=dict(indices=KEYS, value=np.random.default_rng(3).standard_normal((2, 5, 2))),
     blame={"indices": ("value",), "value": ("indices",)})
spec("thermoref.attention.sampled_attention",
     args=dict(query=QUERY, key=KEY, value=VALUE, n_samples=4, rng=0, backend="exact", mask=MASK),
     blame=_QKV_BLAME, extra={"n_samples": [("keys needing > 10 GB", 2**31)]})
spec("thermoref.attention.blended_attention",
     args=dict(query=QUERY, key=KEY, value=VALUE, n_samples=4, alpha=0.3, rng=0, backend="gumbel", mask=MASK),
     blame=_QKV_BLAME, extra={"n_samples": [("keys needing > 10 GB", 2**31)]})
spec("thermoref.attention.sampling_mse",
     args=dict(logits=ELL, value=np.random.default_rng(3).standard_normal((2, 5, 2)), n_samples=4, alpha=0.5),
     blame={"logits": ("value",), "value": ("logits",)})
spec("thermoref.attention.empirical_weights", args=dict(indices=KEYS, S=5), blame={"S": ("indices",)})
