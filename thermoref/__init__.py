"""thermoref: a pure-NumPy reference implementation of thermodynamic and probabilistic computing for ML.

The package layout follows the book: :mod:`thermoref.gibbs` (the softmax ≡ Gibbs identity and the
partition function), :mod:`thermoref.spectra` (energy levels and degeneracies), :mod:`thermoref.selftest`
(the partition-function bench), :mod:`thermoref.testing` (goodness-of-fit statistics for samplers), and the
samplers of the later chapters.
"""

from . import gibbs, testing
from .gibbs import (
    boltzmann,
    entropy,
    free_energy,
    heat_capacity,
    log_partition_function,
    log_softmax,
    logsumexp,
    mean_energy,
    partition_function,
    softmax,
    thermal_entropy,
)

__version__ = "0.1.0"

__all__ = [
    "boltzmann",
    "entropy",
    "free_energy",
    "gibbs",
    "heat_capacity",
    "log_partition_function",
    "log_softmax",
    "logsumexp",
    "mean_energy",
    "partition_function",
    "softmax",
    "testing",
    "thermal_entropy",
]
