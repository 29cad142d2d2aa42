"""Specs: thermoref.gibbs, thermoref.spectra, thermoref.selftest."""

import numpy as np

from . import spec

E = np.array([0.0, 1.0, 1.0, 3.0])

spec("thermoref.gibbs.softmax", args=dict(z=np.array([1.0, 2.0, 3.0]), temperature=0.7, axis=-1))
spec("thermoref.gibbs.log_softmax", args=dict(z=np.array([1.0, 2.0, 3.0]), temperature=0.7, axis=-1), allow_inf=True)
spec("thermoref.gibbs.logsumexp", args=dict(z=np.array([1.0, 2.0, 3.0]), axis=-1, keepdims=False))
for f in ("boltzmann", "mean_energy", "thermal_entropy", "heat_capacity"):
    spec(f"thermoref.gibbs.{f}", args=dict(E=E, kT=0.5, degeneracy=np.array([1.0, 2.0, 1.0, 1.0]), axis=-1))
for f in ("log_partition_function", "partition_function", "free_energy"):
    spec(f"thermoref.gibbs.{f}", args=dict(E=E, kT=0.5, degeneracy=np.array([1.0, 2.0, 1.0, 1.0]), axis=-1),
         allow_inf=True)
spec("thermoref.gibbs.entropy", args=dict(p=np.array([0.5, 0.25, 0.25]), base=2.0, axis=-1))
