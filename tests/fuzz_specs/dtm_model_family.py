"""Specs: thermoref.dtm forward process and reverse model (issue 15, the lead's modules)."""

import numpy as np

from . import Spec, spec

_D = "thermoref.dtm."
_Q = np.array([0.2, 0.3])
_X = np.array([[0, 1, 1, 0, 1, 0, 0, 1, 1], [1, 1, 0, 0, 0, 1, 0, 1, 0]], dtype=np.int8)


def _dtm():
    from thermoref.dtm import DTM

    z = DTM.zeros(3, _Q)
    rng = np.random.default_rng(0)
    return DTM(3, z.edges, rng.normal(0, 0.3, z.weights.shape), rng.normal(0, 0.3, z.biases.shape), _Q)


_M = _dtm()

spec(_D + "flip_schedule", args=dict(n_steps=4, final_correlation=0.05, kind="linear"))
spec(_D + "cumulative_flip", args=dict(flip=_Q))
spec(_D + "coupling_strength", args=dict(flip=_Q))
spec(_D + "start_error_bound", args=dict(flip=_Q, n_pixels=9))
spec(_D + "forward_sample", args=dict(x0=_X, flip=_Q, t=2, rng=0), blame={"t": ("flip",)})
spec(_D + "forward_path", args=dict(x0=_X, flip=_Q, rng=0))
spec(_D + "grid_edges", args=dict(side=4, neighbourhood=8))
spec(_D + "grid_colouring", args=dict(side=4, neighbourhood=8))
spec(_D + "DTM", args=dict(side=3, edges=_M.edges, weights=_M.weights, biases=_M.biases, flip=_Q),
     blame={"side": ("edges", "biases"), "edges": ("weights",), "flip": ("weights",)})
#: The spec of the classmethod ``DTM.zeros`` (test_bad_input does not walk classmethods; run by
#: tests/test_dtm_model.py::test_zeros_spec).
ZEROS_SPEC = Spec(_D + "DTM.zeros", args=dict(side=3, flip=_Q, neighbourhood=8))
spec(_D + "DTM.couplings", make=lambda: _M, args=dict(t=1))
spec(_D + "step_energy", args=dict(dtm=_M, t=2, x_prev=_X, x_t=_X[::-1]))
spec(_D + "step_ising", args=dict(dtm=_M, t=2, x_t=_X))
spec(_D + "sample_step", args=dict(dtm=_M, t=2, x_t=_X, n_sweeps=3, rng=0, backend=None, init=_X[::-1]))
spec(_D + "step_chain", args=dict(dtm=_M, t=2, x_t=_X, n_sweeps=3, rng=0, backend=None, init=_X[::-1]))
spec(_D + "generate", args=dict(dtm=_M, n_images=3, n_sweeps=2, rng=0, backend=None, return_path=False))
spec(_D + "exact_step_law", args=dict(dtm=_M, t=1, x_t=_X))
