"""Specs: thermoref.decoding laws, schedules and noisy heads (issue 13, helper "laws").

Merge into tests/fuzz_specs/<decoding family>.py. ``_D`` is the documented home (the names are exported by
thermoref/decoding/__init__.py).
"""

import numpy as np

from . import spec

_D = "thermoref.decoding."
_L = np.array([1.3, -0.4, 2.1, 0.2, -1.5, 0.9])
_TR = dict(beta=1.2, top_k=4, top_p=0.9, min_p=0.05, counts=np.array([0.0, 1.0, 2.0, 0.0, 0.0, 1.0]),
           repetition_penalty=0.3)

# counts and logits are a shape pair: a wrong-shaped logits is reported as counts' mismatch with it
spec(_D + "decoding_logits", args=dict(logits=_L, **_TR), allow_inf=True, blame={"logits": ("counts",)})
spec(_D + "decoding_law", args=dict(logits=_L, **_TR), blame={"logits": ("counts",)})
spec(_D + "sample_decoding", args=dict(logits=_L, size=5, rng=0, backend=None, block_size=4, **_TR),
     blame={"logits": ("counts",)})
spec(_D + "decoding_rule", args=dict(schedule=np.array([0.5, 1.0]), top_k=4, top_p=0.9, min_p=0.05,
                                     repetition_penalty=0.3, relax=np.array([0.5, 1.0]), backend=None,
                                     block_size=None))
spec(_D + "beta_schedule", args=dict(kind="linear", n_steps=5, beta_start=0.2, beta_end=2.0))
spec(_D + "metropolis_kernel", args=dict(logits=_L, beta=0.7))
spec(_D + "annealed_law", args=dict(logits=_L, betas=np.array([0.2, 0.6, 1.0]), start=1),
     blame={"logits": ("start",)})
spec(_D + "sample_annealed", args=dict(logits=_L, betas=np.array([0.2, 0.6, 1.0]), size=4, start=1, rng=0),
     blame={"logits": ("start",)})
spec(_D + "gaussian_argmax_law", args=dict(logits=_L, sigma=0.8))
spec(_D + "noisy_argmax", args=dict(logits=_L, scale=0.8, size=4, noise="gaussian", rng=0))
spec(_D + "best_gaussian_sigma", args=dict(logits=_L[:3], beta=1.0, criterion="tv"), allow_inf=True)
spec(_D + "DacHeadError", result_type=True)
spec(_D + "dac_head_error", args=dict(logits=_L, bits=6, full_scale=3.0, beta=1.0))
