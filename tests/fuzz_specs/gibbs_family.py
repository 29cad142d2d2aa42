"""Specs: thermoref.gibbs, thermoref.spectra, thermoref.selftest."""

import numpy as np

from . import spec

E = np.array([0.0, 1.0, 1.0, 3.0])

spec("thermoref.gibbs.softmax", args=dict(z=np.array([1.0, 2.0, 3.0]), temperature=0.7, axis=-1))
spec("thermoref.gibbs.log_softmax", args=dict(z=np.array([1.0, 2.0, 3.0]), temperature=0.7, axis=-1), allow_inf=True)
# logsumexp documents -inf for a row of -inf entries (and for an empty axis: the empty sum).
spec("thermoref.gibbs.logsumexp", args=dict(z=np.array([1.0, 2.0, 3.0]), axis=-1, keepdims=False), allow_inf=True)
# E and degeneracy are a shape pair: a wrong-shaped E is reported as degeneracy's mismatch with it.
for f in ("boltzmann", "mean_energy", "thermal_entropy", "heat_capacity"):
    spec(f"thermoref.gibbs.{f}", args=dict(E=E, kT=0.5, degeneracy=np.array([1.0, 2.0, 1.0, 1.0]), axis=-1),
         blame={"E": ("degeneracy",)})
for f in ("log_partition_function", "partition_function", "free_energy"):
    spec(f"thermoref.gibbs.{f}", args=dict(E=E, kT=0.5, degeneracy=np.array([1.0, 2.0, 1.0, 1.0]), axis=-1),
         allow_inf=True, blame={"E": ("degeneracy",)})
spec("thermoref.gibbs.entropy", args=dict(p=np.array([0.5, 0.25, 0.25]), base=2.0, axis=-1))

# ---------------------------------------------------------------------------------------------------------
# thermoref.spectra
# ---------------------------------------------------------------------------------------------------------
_V_NAN = ("NaN-returning potential", lambda x: np.full_like(x, np.nan))
_V_SHAPE = ("potential of the wrong shape", lambda x: np.zeros(3))
_V_SCALAR = ("potential returning a string", lambda x: "abc")

spec("thermoref.spectra.box_levels", args=dict(n_levels=5, L=1.0, mass=1.0))
spec("thermoref.spectra.box_density", args=dict(n=2, x=np.array([0.0, 0.25, 0.5, 1.0]), L=1.0))
spec("thermoref.spectra.oscillator_levels", args=dict(n_levels=5, omega=1.0))
spec("thermoref.spectra.finite_difference_levels",
     args=dict(potential=lambda x: 0.5 * x**2, x_min=-8.0, x_max=8.0, n_grid=200, n_levels=3, mass=1.0),
     extra={"potential": [_V_NAN, _V_SHAPE, _V_SCALAR]},
     blame={"x_min": ("x_max",)})  # the pair (x_min, x_max): an empty interval is reported as x_max's
spec("thermoref.spectra.box3d_levels", args=dict(n_max=4, L=1.0, mass=1.0))
spec("thermoref.spectra.oscillator3d_levels", args=dict(n_levels=5, omega=1.0))
spec("thermoref.spectra.maxwell_boltzmann_speed_pdf", args=dict(v=np.array([0.0, 0.5, 1.0, 3.0]), kT=1.0, mass=1.0))
spec("thermoref.spectra.maxwell_boltzmann_energy_pdf", args=dict(E=np.array([0.0, 0.5, 1.0, 3.0]), kT=1.0))
spec("thermoref.spectra.maxwell_boltzmann_energy_cdf", args=dict(E=np.array([0.0, 0.5, 1.0, 3.0]), kT=1.0))

# ---------------------------------------------------------------------------------------------------------
# thermoref.selftest
# ---------------------------------------------------------------------------------------------------------


def _first_subject():
    from thermoref import selftest

    return selftest.subjects()[0]


def _some_results():
    from thermoref import selftest

    return selftest.run_gates(selftest.subjects()[0])


spec("thermoref.selftest.Subject", result_type=True)
spec("thermoref.selftest.GateResult", result_type=True)
spec("thermoref.selftest.subjects", args={})
spec("thermoref.selftest.run_gates", args=dict(s=_first_subject()))
spec("thermoref.selftest.box_mb_distance", args=dict(kT_units=(10.0, 100.0), n_bins=40))
spec("thermoref.selftest.report", args=dict(results=_some_results(), distances=np.array([0.1, 0.05, 0.01])),
     extra={"results": [("empty list", []), ("list of non-results", [1, 2])]})
spec("thermoref.selftest.main", args={})
