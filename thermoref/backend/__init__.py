r"""Sampling units (chapter 9): the interface hardware implements, reference units, and their conformance.

==============================================  ==========================================================
:mod:`thermoref.backend.protocol`               :class:`SamplingUnit` (the interface) and :class:`Ledger`
:mod:`thermoref.backend.reference`              :class:`NumpyBackend`, the package's own samplers
:mod:`thermoref.backend.exact`                  :class:`ExactBackend`, enumeration and closed forms
:mod:`thermoref.backend.sources`                weak random sources (a biased comparator, an LFSR)
:mod:`thermoref.backend.conformance`            :func:`run_conformance`: does a unit sample the right laws?
:mod:`thermoref.backend.broken`                 six deliberately broken units the suite must reject
:mod:`thermoref.backend.hardware`               :class:`HardwareModel`, a p-bit device with non-idealities
:mod:`thermoref.backend.thrml_adapter`          :class:`ThrmlBackend`, thrml's JAX block Gibbs (optional extra)
:mod:`thermoref.backend.dac`                    DAC quantization and its bounds on a Gibbs law
==============================================  ==========================================================

A sampling unit draws from Gibbs laws on request: Ising spins, p-bits, categorical indices, Gaussian vectors
and any energy over discrete states. Components that sample (sampled attention, the transformer's seam,
annealing, the CLT noise source) accept one through ``backend=``; the default stays the NumPy reference.
Every public name of the submodules is available here and documented here.

References: Camsari, K. Y. et al. (2017) Phys. Rev. X 7, 031014; Geman, S. & Geman, D. (1984) IEEE PAMI 6, 721.
"""

from . import broken, conformance, dac, exact, hardware, protocol, reference, sources, thrml_adapter
from .broken import (
    BROKEN_BACKENDS,
    BiasedSourceUnit,
    HalfVocabularyPipeline,
    ReturnsInputUnit,
    SynchronousIsingUnit,
    TemperatureErrorUnit,
    Uint8IndexUnit,
)
from .conformance import CONFORMANCE_CHECKS, CheckResult, ConformanceReport, conformance_test, run_conformance
from .dac import dac_quantize, dac_step, ising_log_ratio_bound, kl_bound, log_ratio_bound
from .exact import MAX_EXACT_STATES, ExactBackend, SystemTooLargeError
from .hardware import MAX_TRANSITION_SPINS, HardwareModel, noisy_sigmoid, noisy_sigmoid_approx
from .protocol import BOLTZMANN_CONSTANT, LANDAUER_300K, Ledger, SamplingUnit
from .reference import NumpyBackend
from .thrml_adapter import INSTALL_HINT, ThrmlBackend
from .sources import LFSR_PERIOD, BiasedUniforms, LFSRUniforms

__all__ = [
    # submodules
    "protocol", "reference", "exact", "sources", "dac", "hardware", "conformance", "broken", "thrml_adapter",
    # the interface
    "SamplingUnit", "Ledger", "LANDAUER_300K", "BOLTZMANN_CONSTANT",
    # reference units
    "NumpyBackend", "ExactBackend", "SystemTooLargeError", "MAX_EXACT_STATES",
    # weak random sources
    "BiasedUniforms", "LFSRUniforms", "LFSR_PERIOD",
    # the conformance suite
    "run_conformance", "conformance_test", "ConformanceReport", "CheckResult", "CONFORMANCE_CHECKS",
    # deliberately broken units
    "BROKEN_BACKENDS", "TemperatureErrorUnit", "SynchronousIsingUnit", "Uint8IndexUnit", "ReturnsInputUnit",
    "HalfVocabularyPipeline", "BiasedSourceUnit",
    # the accelerator path (optional extra thermoref[thrml])
    "ThrmlBackend", "INSTALL_HINT",
    # device non-idealities
    "HardwareModel", "noisy_sigmoid", "noisy_sigmoid_approx", "MAX_TRANSITION_SPINS",
    "dac_step", "dac_quantize", "log_ratio_bound", "kl_bound", "ising_log_ratio_bound",
]
