"""Specs: thermoref.dtm training by maximum likelihood and the correlation penalty (chapter 12, train.py).

Names are registered at their documented home: ``thermoref.dtm.<name>`` once the subpackage exports them,
``thermoref.dtm.train.<name>`` before that.
"""

import importlib

import numpy as np

from . import spec


def _home(name: str) -> str:
    dtm = importlib.import_module("thermoref.dtm")
    return f"thermoref.dtm.{name}" if name in getattr(dtm, "__all__", ()) else f"thermoref.dtm.train.{name}"


_Q = np.array([0.2, 0.3])
_X = np.array([[0, 1, 1, 0, 1, 0, 0, 1, 1], [1, 1, 0, 0, 0, 1, 0, 1, 0]], dtype=np.int8)  # (2, 9)
_DRAWS = np.random.default_rng(0).integers(0, 2, (6, 2, 9)).astype(np.int8)  # (R, B, n)
_TRAIN = np.random.default_rng(1).integers(0, 2, (10, 4)).astype(np.int8)  # 2 x 2 images


def _dtm():
    from thermoref.dtm import DTM

    z = DTM.zeros(3, _Q)
    rng = np.random.default_rng(0)
    return DTM(3, z.edges, rng.normal(0, 0.3, z.weights.shape), rng.normal(0, 0.3, z.biases.shape), _Q)


_M = _dtm()

spec(_home("step_statistics"), args=dict(dtm=_M, x=_X))
# x_prev and x_t are a shape pair: a wrong number of pixels or images in x_prev is reported against x_t
spec(_home("log_likelihood_gradient"),
     args=dict(dtm=_M, t=2, x_prev=_X, x_t=_X[::-1], n_sweeps=2, rng=0, backend=None, init=_X),
     blame={"x_prev": ("x_t",)})
spec(_home("StepGradient"), result_type=True)
# log-likelihoods are finite by construction (log-sum-exp over the enumeration; parameters are finite)
spec(_home("exact_log_likelihood"), args=dict(dtm=_M, t=1, x_prev=_X, x_t=_X[::-1]), blame={"x_prev": ("x_t",)})
spec(_home("exact_gradient"), args=dict(dtm=_M, t=2, x_prev=_X, x_t=_X[::-1]), blame={"x_prev": ("x_t",)})
spec(_home("Penalty"), result_type=True)
spec(_home("correlation_penalty"), args=dict(dtm=_M, samples=_DRAWS),
     extra={"samples": [("five draws", _DRAWS[:5]), ("pixel 2", _DRAWS + 1), ("two axes", _DRAWS[0])]})
spec(_home("exact_penalty"), args=dict(dtm=_M, t=1, x_t=_X))
spec(_home("TrainingHistory"), result_type=True)
spec(_home("train_dtm"),
     args=dict(x0=_TRAIN, flip=_Q, side=2, neighbourhood=8, n_iterations=2, batch_size=3, learning_rate=0.1,
               n_sweeps=2, n_chains=6, chain_start="persistent", penalty=0.5, target_autocorrelation=0.2,
               penalty_rate=0.1, rng=0, backend=None),
     # pairs: a side that does not match x0's pixels is x0's mismatch; a penalty of 0 with an adaptive target
     # is the target's error (it cannot adapt a zero weight)
     blame={"side": ("x0",), "penalty": ("target_autocorrelation",)},
     extra={"learning_rate": [("schedule of the wrong length", np.full(3, 0.1)), ("above 1", 1.5)],
            "n_chains": [("5 chains with a penalty", 5)],
            "target_autocorrelation": [("1.0", 1.0)], "penalty_rate": [("2.0", 2.0)],
            "x0": [("no images", np.zeros((0, 4), np.int8)), ("9 pixels", _X)]})
