"""Specs: thermoref.backend (the sampling-unit interface, the reference units, weak sources)."""

import numpy as np
from scipy import sparse

from . import spec

_B = "thermoref.backend."
RING6 = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)
H6 = np.array([0.1, -0.2, 0.0, 0.3, 0.0, -0.1])
_NAN_E = ("NaN-returning energy", lambda s: np.full(s.shape[:-1], np.nan))
_SHAPE_E = ("energy of the wrong shape", lambda s: np.zeros(3))
_STR_E = ("energy returning a string", lambda s: "abc")


def _energy(s):
    return -1.0 * (s[..., 1:] == s[..., :-1]).sum(axis=-1)


def _units():
    from thermoref.backend import ExactBackend, NumpyBackend
    return {"NumpyBackend": NumpyBackend, "ExactBackend": ExactBackend}


for _name in ("NumpyBackend", "ExactBackend"):
    _make = (lambda n=_name: _units()[n]())
    spec(_B + _name + ".sample_ising", make=_make,
         args=dict(J=RING6, h=H6, beta=0.7, n_sweeps=3, n_samples=4, init=np.ones(6, dtype=np.int8), rng=0),
         blame={"J": ("h", "init"), "h": ("J",), "init": ("J",)},
         extra={"J": [("sparse asymmetric", sparse.csr_array(np.triu(RING6)))],
                "n_samples": [("spins needing > 10 GB", 2**34)]})
    spec(_B + _name + ".sample_binary", make=_make, args=dict(logits=np.array([[0.5, -1.0], [2.0, 0.0]]), beta=1.3, rng=0))
    spec(_B + _name + ".sample_categorical", make=_make,
         args=dict(logits=np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, 0.0]]), beta=0.8, size=5, rng=0),
         extra={"size": [("draws needing > 10 GB", 2**34)]})
    spec(_B + _name + ".sample_gaussian", make=_make,
         args=dict(mean=np.array([1.0, -1.0]), precision_or_cov=np.array([[2.0, 0.3], [0.3, 1.0]]), size=6,
                   form="precision", rng=0),
         blame={"mean": ("precision_or_cov",), "precision_or_cov": ("mean",)},
         extra={"precision_or_cov": [("not positive definite", np.array([[1.0, 2.0], [2.0, 1.0]]))]})
    spec(_B + _name + ".sample_custom", make=_make,
         args=dict(energy=_energy, init=np.zeros((3, 4), dtype=np.int64), n_steps=5, beta=0.9, n_values=3, rng=0),
         blame={"n_values": ("init",)}, extra={"energy": [_NAN_E, _SHAPE_E, _STR_E]})

spec(_B + "NumpyBackend", args=dict(tau0=1e-9, energy_per_update=1e-15))
spec(_B + "ExactBackend", args=dict(tau0=1e-9, energy_per_update=1e-15, max_states=1024))
spec(_B + "Ledger", args=dict(tau0=1e-9, energy_per_update=1e-15))
spec(_B + "Ledger.charge", make=lambda: __import__("thermoref.backend", fromlist=["Ledger"]).Ledger(),
     args=dict(samples=1, sweeps=2, updates=3, phases=4))
spec(_B + "Ledger.reset", make=lambda: __import__("thermoref.backend", fromlist=["Ledger"]).Ledger())
spec(_B + "BiasedUniforms", args=dict(seed=0, high=0.99))
spec(_B + "LFSRUniforms", args=dict(seed=3))
spec(_B + "BiasedUniforms.random", make=lambda: __import__("thermoref.backend", fromlist=["x"]).BiasedUniforms(0),
     args=dict(size=(2, 3), dtype=np.float64, out=None), extra={"size": [("> 10 GB", (2**20, 2**20))]})
spec(_B + "LFSRUniforms.random", make=lambda: __import__("thermoref.backend", fromlist=["x"]).LFSRUniforms(0),
     args=dict(size=(2, 3), dtype=np.float64, out=None), extra={"size": [("> 10 GB", (2**20, 2**20))]})

# ---------------------------------------------------------------- device non-idealities (hardware, dac)
RING4 = np.roll(np.eye(4), 1, axis=1) + np.roll(np.eye(4), -1, axis=1)


def _chip():
    """A device with every effect on (a weak source included), so that every code path is fuzzed."""
    from thermoref.backend import BiasedUniforms, HardwareModel

    return HardwareModel(dac_bits=4, full_scale=2.0, gain_sigma=0.1, offset_sigma=0.05, noise_sigma=0.2,
                         max_sweeps=5, delay=1, source=lambda rng: BiasedUniforms(rng, high=0.99), mismatch_seed=3)


# the constructor: base must be a SamplingUnit; source must be callable (what it returns is checked per call)
spec(_B + "HardwareModel",
     args=dict(base=None, dac_bits=4, full_scale=2.0, gain_sigma=0.1, offset_sigma=0.05, noise_sigma=0.2,
               max_sweeps=5, delay=1, source=None, mismatch_seed=3, tau0=1e-9, energy_per_update=1e-15),
     blame={"dac_bits": ("full_scale",)})  # dac_bits with a tiny full_scale: the step underflows, full_scale's fault
spec(_B + "HardwareModel.sample_ising", make=_chip,
     args=dict(J=RING6, h=H6, beta=0.7, n_sweeps=3, n_samples=4, init=np.ones(6, dtype=np.int8), rng=0),
     blame={"J": ("h", "init"), "h": ("J",), "init": ("J",)},
     extra={"J": [("sparse asymmetric", sparse.csr_array(np.triu(RING6)))],
            "n_samples": [("spins needing > 10 GB", 2**34)]})
spec(_B + "HardwareModel.sample_binary", make=_chip,
     args=dict(logits=np.array([[0.5, -1.0], [2.0, 0.0]]), beta=1.3, rng=0))
spec(_B + "HardwareModel.sample_categorical", make=_chip,
     args=dict(logits=np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, 0.0]]), beta=0.8, size=5, rng=0),
     extra={"size": [("draws needing > 10 GB", 2**34)]})
spec(_B + "HardwareModel.sample_gaussian", make=_chip,
     args=dict(mean=np.array([1.0, -1.0]), precision_or_cov=np.array([[2.0, 0.3], [0.3, 1.0]]), size=6,
               form="precision", rng=0),
     blame={"mean": ("precision_or_cov",), "precision_or_cov": ("mean",)},
     extra={"precision_or_cov": [("not positive definite", np.array([[1.0, 2.0], [2.0, 1.0]]))]})
spec(_B + "HardwareModel.sample_custom", make=_chip,
     args=dict(energy=_energy, init=np.zeros((3, 4), dtype=np.int64), n_steps=5, beta=0.9, n_values=3, rng=0),
     blame={"n_values": ("init",)}, extra={"energy": [_NAN_E, _SHAPE_E, _STR_E]})
spec(_B + "HardwareModel.mismatch", make=_chip, args=dict(n=6), extra={"n": [("> 10 GB", 2**40)]})
for _m in ("transition_matrix", "stationary_law"):
    spec(_B + "HardwareModel." + _m, make=_chip, args=dict(J=RING4, h=H6[:4], beta=0.7),
         blame={"J": ("h",), "h": ("J",)}, extra={"J": [("12 spins", np.zeros((12, 12)))]})

# the laws
spec(_B + "dac_step", args=dict(bits=4, full_scale=2.0), blame={"bits": ("full_scale",)})
spec(_B + "dac_quantize", args=dict(x=np.array([0.2, -0.6, 2.4, 9.0]), bits=3, full_scale=3.0),
     blame={"bits": ("full_scale",)})
spec(_B + "log_ratio_bound", args=dict(delta=np.array([[0.25, -0.5, 0.5], [0.1, 0.0, -0.1]]), beta=2.0))
spec(_B + "kl_bound", args=dict(delta=np.array([[0.25, -0.5, 0.5], [0.1, 0.0, -0.1]]), beta=2.0))
spec(_B + "ising_log_ratio_bound", args=dict(dJ=0.01 * RING6, dh=0.01 * H6, beta=2.0),
     blame={"dJ": ("dh",), "dh": ("dJ",)})
spec(_B + "noisy_sigmoid", args=dict(z=np.array([-1.0, 0.0, 3.0]), sigma=1.0))
spec(_B + "noisy_sigmoid_approx", args=dict(z=np.array([-1.0, 0.0, 3.0]), sigma=1.0))

# ---------------------------------------------------------------- the conformance suite and broken units


def _unit():
    from thermoref.backend import NumpyBackend

    return NumpyBackend()


def _report():
    from thermoref.backend import run_conformance

    return run_conformance(_unit(), checks=("bad_input",))


_NOT_A_UNIT = [("an object without the methods", object()), ("a unit class, not an instance", type(_unit()))]
_BAD_CHECKS = [("unknown name", ("no_such_check",)), ("empty", ()), ("repeated", ("bad_input", "bad_input")),
               ("list with a non-string", [3])]

spec("thermoref.backend.CheckResult", result_type=True)
spec("thermoref.backend.ConformanceReport", result_type=True)
spec("thermoref.backend.ConformanceReport.table", make=_report, args={})
# checks=("bad_input",) keeps each case fast; checks=None (a generic bad value, valid: all checks) runs the
# whole suite against the NumPy reference, about 2-3 s: hence the timeout.
spec("thermoref.backend.run_conformance",
     args=dict(backend=_unit(), alpha=1e-3, rng=0, checks=("bad_input",)),
     extra={"backend": _NOT_A_UNIT, "checks": _BAD_CHECKS, "alpha": [("above 0.5", 0.6), ("below 1e-12", 1e-13)]},
     timeout=30.0)
spec("thermoref.backend.conformance_test", args=dict(factory=type(_unit()), alpha=1e-3),
     extra={"factory": [("an instance, not a factory", _unit())], "alpha": [("above 0.5", 0.6)]})

for _name in ("TemperatureErrorUnit", "SynchronousIsingUnit", "Uint8IndexUnit", "ReturnsInputUnit",
              "HalfVocabularyPipeline", "BiasedSourceUnit"):
    spec(f"thermoref.backend.{_name}", args=dict(tau0=1.0, energy_per_update=1e-18))

# ---------------------------------------------------------------- the protocol itself
# A Protocol is not instantiated; its methods are the contract, fuzzed here on the reference unit (which shares
# their docstrings), so that the interface's documented errors are exercised under the interface's names.
spec(_B + "SamplingUnit", result_type=True)
spec(_B + "SystemTooLargeError", result_type=True)
for _m, _args in (
        ("sample_ising", dict(J=RING6, h=H6, beta=0.7, n_sweeps=3, n_samples=4, init=np.ones(6, dtype=np.int8), rng=0)),
        ("sample_binary", dict(logits=np.array([[0.5, -1.0], [2.0, 0.0]]), beta=1.3, rng=0)),
        ("sample_categorical", dict(logits=np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, 0.0]]), beta=0.8, size=5, rng=0)),
        ("sample_gaussian", dict(mean=np.array([1.0, -1.0]), precision_or_cov=np.array([[2.0, 0.3], [0.3, 1.0]]),
                                 size=6, form="precision", rng=0)),
        ("sample_custom", dict(energy=_energy, init=np.zeros((3, 4), dtype=np.int64), n_steps=5, beta=0.9,
                               n_values=3, rng=0))):
    spec(_B + "SamplingUnit." + _m, make=lambda: _units()["NumpyBackend"](), args=_args,
         blame={"J": ("h", "init"), "h": ("J",), "init": ("J",), "mean": ("precision_or_cov",),
                "precision_or_cov": ("mean",), "n_values": ("init",)},
         extra={"energy": [_NAN_E, _SHAPE_E, _STR_E]} if _m == "sample_custom" else {})
