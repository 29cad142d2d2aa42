"""Specs: thermoref.dtm mixing measurements (chapter 12, module mixing.py).

Names are registered at their documented home: ``thermoref.dtm.<name>`` once the subpackage exports them,
``thermoref.dtm.mixing.<name>`` before that.
"""

import importlib

import numpy as np

from . import spec


def _home(name: str) -> str:
    dtm = importlib.import_module("thermoref.dtm")
    return f"thermoref.dtm.{name}" if name in getattr(dtm, "__all__", ()) else f"thermoref.dtm.mixing.{name}"


_Q = np.array([0.2, 0.3])
_X = np.array([[0, 1, 1, 0, 1, 0, 0, 1, 1], [1, 1, 0, 0, 0, 1, 0, 1, 0]], dtype=np.int8)  # (2, 9)


def _dtm():
    from thermoref.dtm import DTM

    z = DTM.zeros(3, _Q)
    rng = np.random.default_rng(0)
    return DTM(3, z.edges, rng.normal(0, 0.3, z.weights.shape), rng.normal(0, 0.3, z.biases.shape), _Q)


_M = _dtm()
_COLOURS = np.array([0, 1, 0, 2, 3, 2, 0, 1, 0])  # grid_colouring(3, 8): proper for the 8-neighbourhood

spec(_home("StepAutocorrelation"), result_type=True)
spec(_home("ExactMixing"), result_type=True)
spec(_home("step_autocorrelation_times"),
     args=dict(dtm=_M, t=2, x_t=_X, n_sweeps=6, burn_in=2, rng=0, backend=None, observable="energy", init=_X[::-1]))
spec(_home("autocorrelation_profile"),
     args=dict(dtm=_M, x0=_X, n_sweeps=6, burn_in=2, rng=0, backend=None, observable="magnetization"))
spec(_home("sweep_transition_matrix"), args=dict(dtm=_M, t=1, x_t=_X, colours=_COLOURS))
# tau, tau_exp and tau_bound are documented as inf for a chain that does not mix within float64
spec(_home("exact_autocorrelation_time"), args=dict(dtm=_M, t=1, x_t=_X, observable="pixels", colours=_COLOURS),
     allow_inf=True)
