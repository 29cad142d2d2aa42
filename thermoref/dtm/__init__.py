r"""Denoising thermodynamic models (chapter 12): chains of grid Boltzmann machines that undo bit-flip noise.

==============================================  ==========================================================
:mod:`thermoref.dtm.data`                       seeded binary image families whose law is known exactly
:mod:`thermoref.dtm.quality`                    sample quality measures that are exact for those families
:mod:`thermoref.dtm.forward`                    the forward process: independent bit flips, exact marginals
:mod:`thermoref.dtm.model`                      :class:`DTM`: one grid Boltzmann machine per reverse step
:mod:`thermoref.dtm.train`                      maximum likelihood, the gradient by enumeration, the penalty
:mod:`thermoref.dtm.mixing`                     autocorrelation times of each step's chain, exact and sampled
:mod:`thermoref.dtm.shipped`                    the trained models that ship with the package (sha256)
==============================================  ==========================================================

A denoising thermodynamic model (DTM) generates an image by starting from uniform noise and running
:math:`T` reverse steps; step :math:`t` draws :math:`x_{t-1}` from a Boltzmann machine on a grid graph whose
fields hold the noisier image :math:`x_t` with the exact strength :math:`\gamma_t` of the forward flips. The
claim for the architecture is that each step only has to undo a little noise, so its chain, pinned by those
fields, mixes fast, where a single energy-based model of the data (:math:`T = 1`, no conditioning) has to
represent, and its chain to cross, the whole landscape. Chapter 12 measures it: on the shipped models every
step but the first mixes in about one sweep, and the first, which learns the strongest couplings, mixes as
slowly as the single model. Every step runs as one block-diagonal Ising model through a
:class:`thermoref.backend.SamplingUnit`, so a device model or thrml can run it and its ledger counts the cost.
Images are pixels in {0, 1}, ``int8``, flattened to shape (N, n). Every public name of the submodules is
available here and documented here.

References: Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like
models", arXiv:2510.23972; Sohl-Dickstein, J. et al. (2015) "Deep unsupervised learning using nonequilibrium
thermodynamics", ICML; Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) Cognitive Science 9, 147.
"""

from . import data, forward, mixing, model, quality, shipped, train
from .data import FAMILIES, MAX_SUPPORT, SHAPE_KINDS, ImageFamily, bars_and_stripes, image_family, make_dataset, shapes
from .forward import SCHEDULE_KINDS, coupling_strength, cumulative_flip, flip_schedule, forward_path, forward_sample, start_error_bound
from .mixing import (
    MAX_MIXING_PIXELS,
    OBSERVABLES,
    ExactMixing,
    StepAutocorrelation,
    autocorrelation_profile,
    exact_autocorrelation_time,
    step_autocorrelation_times,
    sweep_transition_matrix,
)
from .model import (
    DTM,
    MAX_PARAMETER,
    MAX_SIDE,
    NEIGHBOURHOODS,
    exact_step_law,
    generate,
    grid_colouring,
    grid_edges,
    sample_step,
    step_chain,
    step_energy,
    step_ising,
)
from .quality import (
    MMDTest,
    PatchTest,
    WithinRadius,
    fraction_within,
    hamming_to_support,
    mmd_squared,
    mmd_test,
    patch_law,
    patch_test,
    pixel_marginal_error,
)
from .shipped import SHIPPED, load_dtm, save_dtm
from .train import (
    Penalty,
    StepGradient,
    TrainingHistory,
    correlation_penalty,
    exact_gradient,
    exact_log_likelihood,
    exact_penalty,
    log_likelihood_gradient,
    step_statistics,
    train_dtm,
)

__all__ = [
    # submodules
    "data", "quality", "forward", "model", "train", "mixing", "shipped",
    # data and exact quality measures
    "ImageFamily", "bars_and_stripes", "shapes", "image_family", "make_dataset", "FAMILIES", "SHAPE_KINDS",
    "MAX_SUPPORT", "hamming_to_support", "fraction_within", "WithinRadius", "pixel_marginal_error",
    "mmd_squared", "mmd_test", "MMDTest", "patch_law", "patch_test", "PatchTest",
    # the forward process
    "flip_schedule", "SCHEDULE_KINDS", "cumulative_flip", "coupling_strength", "start_error_bound", "forward_sample", "forward_path",
    # the reverse model
    "DTM", "NEIGHBOURHOODS", "MAX_SIDE", "MAX_PARAMETER", "grid_edges", "grid_colouring", "step_energy", "step_ising",
    "sample_step", "step_chain", "generate", "exact_step_law",
    # training
    "step_statistics", "log_likelihood_gradient", "StepGradient", "exact_log_likelihood", "exact_gradient",
    "correlation_penalty", "exact_penalty", "Penalty", "train_dtm", "TrainingHistory",
    # mixing
    "step_autocorrelation_times", "StepAutocorrelation", "autocorrelation_profile", "sweep_transition_matrix",
    "exact_autocorrelation_time", "ExactMixing", "OBSERVABLES", "MAX_MIXING_PIXELS",
    # shipped models
    "SHIPPED", "load_dtm", "save_dtm",
]
