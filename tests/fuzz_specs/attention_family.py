"""Specs: thermoref.attention (chain, heads, pbit, potts) and thermoref.mcmc.

Names are written through the package namespace (``thermoref.attention.metropolis_keys``), the path the API
reference documents and ``tests/test_bad_input.py`` lists. Every valid call below includes a masked key
(``-inf``), and the attention ones a fully masked (inert) row where the function works row by row, so that the one rule of
:mod:`thermoref.attention` is part of every valid call.
"""

import numpy as np

from . import spec

# (2, 3, 5) logits: one masked key, one fully masked row (inert), one row with a finite sentinel.
ELL = np.random.default_rng(0).standard_normal((2, 3, 5))
ELL[0, 0, 1] = -np.inf
ELL[1, 2] = -np.inf
ELL[0, 1, 3] = np.finfo(np.float64).min
VALUE = np.random.default_rng(1).standard_normal((2, 5, 4))  # (2, S, d_v)

# ------------------------------------------------------------------------------------------------ chain
spec("thermoref.attention.ChainSamples", result_type=True)
spec("thermoref.attention.metropolis_keys",
     args=dict(logits=ELL, n_samples=8, rng=0, n_warmup=5, thin=2, proposal="local"))

# ------------------------------------------------------------------------------------------------ heads
spec("thermoref.attention.HeadStatistics", result_type=True)
spec("thermoref.attention.attention_specific_heat", args=dict(logits=ELL, kT=0.7))
spec("thermoref.attention.head_statistics", args=dict(logits=ELL))
# K* = tr Cov / rmse^2 grows without bound as rmse -> 0: +inf once it exceeds the float64 range (documented).
spec("thermoref.attention.samples_needed", args=dict(logits=ELL, value=VALUE, rmse=0.25),
     blame={"logits": ("value",)}, allow_inf=True)

# ------------------------------------------------------------------------------------------------- pbit
ROWS = np.array([[5.0, 10.0, 0.0, -np.inf], [-np.inf] * 4, [1.0, -2.0, 0.5, 3.0]])  # (3, 4), row 1 inert
spec("thermoref.attention.sigmoid_attention_weights", args=dict(logits=ROWS, bias=0.5))
spec("thermoref.attention.pbit_attention_weights", args=dict(logits=ROWS, n_samples=50, rng=0, bias=0.5))
spec("thermoref.attention.sigmoid_attention_jacobian", args=dict(logits=ROWS, bias=0.5))
spec("thermoref.attention.softmax_jacobian", args=dict(logits=ROWS))

# ------------------------------------------------------------------------------------------------ potts
POTTS = np.random.default_rng(2).standard_normal((4, 3))  # (T, S); the Potts law needs no fully masked row
POTTS[1, 2] = -np.inf
spec("thermoref.attention.PottsMarginals", result_type=True)
spec("thermoref.attention.potts_energy", args=dict(states=np.array([0, 1, 1, 2]), logits=POTTS, J=0.8),
     blame={"logits": ("states",)}, allow_inf=True)  # +inf: a configuration using a masked key (documented)
spec("thermoref.attention.potts_marginals", args=dict(logits=POTTS, J=0.8, pairs=True))
spec("thermoref.attention.potts_gibbs",
     args=dict(logits=POTTS, J=0.8, n_sweeps=3, rng=0, n_chains=4, schedule="synchronous", return_trace=True))

# ------------------------------------------------------------------------------------------------- mcmc
X = np.random.default_rng(3).standard_normal((64, 3))  # (n_steps, chains)
spec("thermoref.mcmc.AutocorrelationTime", result_type=True)
spec("thermoref.mcmc.BlockingResult", result_type=True)
spec("thermoref.mcmc.autocorrelation", args=dict(x=X))
spec("thermoref.mcmc.blocking", args=dict(x=X, min_blocks=8))
spec("thermoref.mcmc.integrated_autocorrelation_time", args=dict(x=X, c=5.0))
spec("thermoref.mcmc.integrated_autocorrelation_times", args=dict(x=X, axis=0, c=5.0))
spec("thermoref.mcmc.mean_and_error", args=dict(x=X, c=5.0))
spec("thermoref.mcmc.SplitRHat", result_type=True)
# Its one infinite result (split chains each constant but different: W = 0 < B) is not reachable by a bad value.
spec("thermoref.mcmc.split_rhat", args=dict(x=X))
