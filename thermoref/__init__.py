r"""thermoref: a pure-NumPy reference implementation of thermodynamic and probabilistic computing for ML.

The package reads as the book's table of contents:

=====================================  =================================================================
:mod:`thermoref.gibbs`                 the softmax ≡ Gibbs identity, partition function, thermodynamics (ch. 1)
:mod:`thermoref.spectra`               energy levels, degeneracies, Maxwell–Boltzmann (ch. 1)
:mod:`thermoref.selftest`              the partition-function bench, ``python -m thermoref selftest`` (ch. 1)
:mod:`thermoref.sampling`              categorical sampling: inverse CDF, Gumbel, alias, top-k, two-stage (ch. 2)
:mod:`thermoref.empirical`             exact error laws of empirical frequencies, KL divergences (ch. 2)
:mod:`thermoref.pbit`                  p-bits and Boltzmann machines (ch. 3)
:mod:`thermoref.estimators`            gradient estimators through binary samplers (ch. 3)
:mod:`thermoref.ou`                    exact Ornstein–Uhlenbeck transitions, PMODE (ch. 4)
:mod:`thermoref.ou_linalg`             thermodynamic linear algebra (ch. 4)
:mod:`thermoref.mixture`               mixtures of Gaussians, PMOG (ch. 4)
:mod:`thermoref.langevin`              Langevin neurons, MALA, Kramers escape (ch. 5)
:mod:`thermoref.thermo_mlp`            thermodynamic MLPs and their honest cost model (ch. 5)
:mod:`thermoref.tempering`             parallel tempering: one engine, one rung convention (ch. 5, 6)
:mod:`thermoref.ising`                 Ising machines: any graph, the square lattice, exact results (ch. 6)
:mod:`thermoref.mcmc`                  autocorrelation times, error bars, split R-hat for Markov chains (ch. 6, 7)
:mod:`thermoref.attention`             attention as a Gibbs law: exact, sampled, heads, variants (ch. 7)
:mod:`thermoref.transformer`           a tiny decoder-only transformer, trained here, run with sampled attention (ch. 8)
:mod:`thermoref.backend`               the sampling unit: its interface, reference units, conformance, devices (ch. 9)
:mod:`thermoref.decoding`              sampling heads: schedules, truncations, pipelines, negatives, p-bit softmax (ch. 10)
:mod:`thermoref.pretrained`            real pretrained transformers in NumPy: readers, tokenizers, BERT, LLaMA (ch. 11)
:mod:`thermoref.dtm`                   denoising thermodynamic models: chains of grid Boltzmann machines (ch. 12)
:mod:`thermoref.testing`               goodness-of-fit statistics with stated error rates (all chapters)
=====================================  =================================================================

Naming table
------------
One name per concept across the whole package (units: :math:`k_B = \hbar = 1`).

========================  ========================================================================
name                      meaning
========================  ========================================================================
``E``                     energies of levels or states
``kT``                    temperature (``temperature`` in :func:`softmax`); never ``T``
``beta``                  inverse temperature :math:`1/kT`; ``betas`` a ladder or schedule of them
``logits``                :math:`-\beta E` (a masked entry is ``-inf``); ``ell`` is :math:`\ell` in attention
``Z``, ``log_Z``          partition function and its logarithm
``p``                     a probability law (last axis: the categories)
``rng``                   a ``numpy.random.Generator`` or an int seed, always explicit (SPEC 7)
``n_samples``             the number :math:`K` of draws a Monte Carlo average uses
``size``                  NumPy's number (or shape) of independent draws of a sampler
``T``, ``S``              numbers of queries and of keys (token counts), never a temperature; in a
                          denoising model (:class:`thermoref.dtm.DTM`) ``T`` is the number of steps
``query, key, value``     attention's :math:`Q`, :math:`K` (the key matrix, only inside :math:`QK^\top`), :math:`V`
``n_modes``               number of modes of a mixture
``J``, ``h``              couplings and fields (Ising model, square lattice, Potts chain)
``W``, ``b``              couplings and biases of a Boltzmann machine (the same energy as ``J``, ``h``)
``J2, J3, J4, I``         coefficients and input current of a Langevin neuron's potential
``values``                the two states of a binary unit: ``(-1, 1)`` spins or ``(0, 1)`` bits
``penalty``               a penalty's weight: ridge (ch. 5), correlation penalty :math:`\lambda_t` (ch. 12)
``tau0, dt, t_f``         device time constant, time step, observation time (physical time)
``alpha``                 a test's false-positive rate; in attention, the weight of the sampled part
``params``, ``config``    a model's flat mapping of named arrays and its frozen shape (transformer)
``seam``                  how a model's heads compute attention weights (exact, sampled, blend)
``b1``, ``b2``            AdamW's moment decay rates (never ``beta``, which is an inverse temperature)
========================  ========================================================================

The device integrates in dimensionless time :math:`s = t/\tau_0`.

Valid limits and refused input
------------------------------
Every public function validates its arguments at the boundary: bad input raises ``ValueError`` or
``TypeError`` whose message starts with the parameter's name and a colon. These limits are part of the
mathematics; they are valid input and return the limit (``tests/test_limits.py`` checks each against a
closed form):

* ``kT = 0`` (and any ``kT`` so small that :math:`\Delta E/kT` overflows, down to ``5e-324``): the ground
  state, ties sharing the weight in proportion to their degeneracy; ``kT = inf`` (or ``1e308``): the uniform
  law weighted by degeneracy (:mod:`thermoref.gibbs`).
* ``beta = 0`` wherever an inverse temperature is taken (the uniform law over the allowed states), and
  ``beta = inf`` in the exact laws by enumeration (the ground states).
* ``t = 0``: the identity transition; ``n_sweeps``, ``n_steps`` or ``n_rounds = 0``: the input, unchanged.
* Empty batches (a leading axis of length 0) give an empty result of the matching shape.
* A fully masked attention row is inert (see :mod:`thermoref.attention`).

Two resource limits turn what would exhaust the machine into named errors, raised before any work: a result
larger than :data:`MAX_BYTES` bytes is never allocated, and a run longer than :data:`MAX_WORK` elementary
updates (one site, key or row advanced by one step) is never started.
"""

from . import (
    attention,
    backend,
    decoding,
    empirical,
    estimators,
    gibbs,
    ising,
    langevin,
    mcmc,
    mixture,
    ou,
    ou_linalg,
    pbit,
    pretrained,
    sampling,
    spectra,
    tempering,
    testing,
    thermo_mlp,
    transformer,
)
from ._validation import MAX_BYTES, MAX_WORK
from .attention import (
    attention_logits,
    blended_attention,
    causal_mask,
    potts_gibbs,
    potts_marginals,
    sampled_attention,
    softmax_attention,
)
from .empirical import expected_reverse_kl, expected_squared_error, kl_divergence, prob_all_seen
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
from .ising import (
    IsingModel,
    block_gibbs,
    cut_value,
    maxcut_exact,
    maxcut_model,
    read_gset,
    checkerboard_gibbs,
    kaufman_log_partition_function,
    lattice_energy,
    magnetization,
    onsager_energy,
    onsager_magnetization,
    onsager_specific_heat,
    simulated_annealing,
)
from .mcmc import integrated_autocorrelation_time, integrated_autocorrelation_times
from .mixture import pmog_sample, pmog_stationary
from .ou import OUProcess, ou_mean_cov, ou_sample, ou_stationary, ou_trajectory
from .ou_linalg import ou_inverse, ou_solve
from .pbit import gibbs_sample, sample_pbit
from .sampling import categorical_counts, empirical_frequencies, gumbel_top_k, sample_categorical, sample_hierarchical
from .tempering import PTResult, replica_exchange, temperature_ladder
from .thermo_mlp import ThermodynamicFFN, ThermodynamicMLP

__version__ = "0.1.0"

__all__ = [
    # modules
    "attention", "backend", "decoding", "empirical", "estimators", "gibbs", "ising", "langevin", "mcmc", "mixture", "ou", "ou_linalg",
    "pbit", "pretrained", "sampling", "spectra", "tempering", "testing", "thermo_mlp", "transformer",
    # limits
    "MAX_BYTES", "MAX_WORK",
    # the Gibbs law (gibbs)
    "boltzmann", "entropy", "free_energy", "heat_capacity", "log_partition_function", "log_softmax", "logsumexp",
    "mean_energy", "partition_function", "softmax", "thermal_entropy",
    # discrete samplers
    "categorical_counts", "empirical_frequencies", "gumbel_top_k", "sample_categorical", "sample_hierarchical",
    "expected_reverse_kl", "expected_squared_error", "kl_divergence", "prob_all_seen", "gibbs_sample", "sample_pbit",
    # continuous samplers
    "OUProcess", "ou_mean_cov", "ou_sample", "ou_stationary", "ou_trajectory", "ou_inverse", "ou_solve", "pmog_sample",
    "pmog_stationary", "ThermodynamicFFN", "ThermodynamicMLP",
    # tempering
    "PTResult", "replica_exchange", "temperature_ladder",
    # Ising machines
    "IsingModel", "block_gibbs", "simulated_annealing", "checkerboard_gibbs", "lattice_energy", "magnetization",
    "maxcut_model", "cut_value", "maxcut_exact", "read_gset",
    "kaufman_log_partition_function", "onsager_energy", "onsager_magnetization", "onsager_specific_heat",
    "integrated_autocorrelation_time", "integrated_autocorrelation_times",
    # attention
    "attention_logits", "blended_attention", "causal_mask", "sampled_attention", "softmax_attention",
    "potts_gibbs", "potts_marginals",
]
