"""Specs: thermoref.backend.ThrmlBackend (registered only where thrml is installed).

For the lead to merge into tests/fuzz_specs/backend_family.py (or keep as tests/fuzz_specs/thrml_family.py).
The same valid calls as NumpyBackend/ExactBackend. Where thrml is missing (the main .venv) nothing is
registered, so test_bad_input.py's "every public callable has a spec" must skip the ThrmlBackend names there
(they are fuzzed by tests/test_backend_thrml.py in CI's thrml step, which loads these specs).
"""

import importlib.util

import numpy as np
from scipy import sparse

from . import spec

_B = "thermoref.backend."
RING6 = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)
H6 = np.array([0.1, -0.2, 0.0, 0.3, 0.0, -0.1])
_NAN_E = ("NaN-returning energy", lambda s: np.full(s.shape[:-1], np.nan))
_SHAPE_E = ("energy of the wrong shape", lambda s: np.zeros(3))
_STR_E = ("energy returning a string", lambda s: "abc")

HAVE_THRML = importlib.util.find_spec("thrml") is not None


def _energy(s):
    return -1.0 * (s[..., 1:] == s[..., :-1]).sum(axis=-1)


def _thrml_unit():
    from thermoref.backend.thrml_adapter import ThrmlBackend
    return ThrmlBackend()


if HAVE_THRML:
    _T = _B + "ThrmlBackend"
    spec(_T, args=dict(tau0=1e-9, energy_per_update=1e-15), timeout=30.0)
    spec(_T + ".sample_ising", make=_thrml_unit, timeout=30.0,
         args=dict(J=RING6, h=H6, beta=0.7, n_sweeps=3, n_samples=4, init=np.ones(6, dtype=np.int8), rng=0),
         blame={"J": ("h", "init"), "h": ("J",), "init": ("J",)},
         extra={"J": [("sparse asymmetric", sparse.csr_array(np.triu(RING6)))],
                "n_samples": [("spins needing > 10 GB", 2**34)]})
    spec(_T + ".sample_binary", make=_thrml_unit, timeout=30.0,
         args=dict(logits=np.array([[0.5, -1.0], [2.0, 0.0]]), beta=1.3, rng=0))
    spec(_T + ".sample_categorical", make=_thrml_unit, timeout=30.0,
         args=dict(logits=np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, 0.0]]), beta=0.8, size=5, rng=0),
         extra={"size": [("draws needing > 10 GB", 2**34)]})
    spec(_T + ".sample_gaussian", make=_thrml_unit, timeout=30.0,
         args=dict(mean=np.array([1.0, -1.0]), precision_or_cov=np.array([[2.0, 0.3], [0.3, 1.0]]), size=6,
                   form="precision", rng=0),
         blame={"mean": ("precision_or_cov",), "precision_or_cov": ("mean",)},
         extra={"precision_or_cov": [("not positive definite", np.array([[1.0, 2.0], [2.0, 1.0]]))]})
    spec(_T + ".sample_custom", make=_thrml_unit, timeout=30.0,
         args=dict(energy=_energy, init=np.zeros((3, 4), dtype=np.int64), n_steps=5, beta=0.9, n_values=3, rng=0),
         blame={"n_values": ("init",)}, extra={"energy": [_NAN_E, _SHAPE_E, _STR_E]})
