"""thermoref: a pure-NumPy reference implementation of thermodynamic and probabilistic computing for ML.

The modules follow the book's chapters:

==========================  =====================================================================
:mod:`thermoref.gibbs`      the softmax ≡ Gibbs identity, partition function, thermodynamics (ch. 1)
:mod:`thermoref.spectra`    energy levels, degeneracies, Maxwell–Boltzmann (ch. 1)
:mod:`thermoref.selftest`   the partition-function bench, ``python -m thermoref selftest`` (ch. 1)
:mod:`thermoref.testing`    goodness-of-fit statistics with stated error rates (all chapters)
:mod:`thermoref.sampling`   categorical sampling: inverse CDF, Gumbel, alias, top-k, hierarchical (ch. 2)
:mod:`thermoref.empirical`  exact error laws of empirical frequencies, KL divergences (ch. 2)
:mod:`thermoref.pbit`       p-bits and Boltzmann machines (ch. 3)
:mod:`thermoref.estimators` gradient estimators through binary samplers (ch. 3)
:mod:`thermoref.ou`         exact Ornstein–Uhlenbeck transitions, PMODE (ch. 4)
:mod:`thermoref.ou_linalg`  thermodynamic linear algebra (ch. 4)
:mod:`thermoref.mixture`    mixtures of Gaussians, PMOG (ch. 4)
:mod:`thermoref.langevin`   Langevin neurons, MALA, Kramers escape, tempering (ch. 5)
:mod:`thermoref.thermo_mlp` thermodynamic MLPs and their honest cost model (ch. 5)
:mod:`thermoref.ising`      Ising models on any graph: block Gibbs, Metropolis, tempering (ch. 6)
:mod:`thermoref.lattice`    the square-lattice fast path and cluster updates (ch. 6)
:mod:`thermoref.onsager`    exact results: Onsager, Kaufman (ch. 6)
:mod:`thermoref.mcmc`       autocorrelation times and error bars for Markov chains (ch. 6, 7)
:mod:`thermoref.attention`  exact and sampled attention (ch. 7)
==========================  =====================================================================

Further modules of chapter 7: :mod:`~thermoref.attention_chain`, :mod:`~thermoref.attention_heads`,
:mod:`~thermoref.pbit_attention`, :mod:`~thermoref.potts`. Names that two modules share (``exact_law``,
``parallel_tempering``) are reached through their module only.
"""

from . import (
    attention,
    attention_chain,
    attention_heads,
    empirical,
    estimators,
    gibbs,
    ising,
    langevin,
    lattice,
    mcmc,
    mixture,
    onsager,
    ou,
    ou_linalg,
    pbit,
    pbit_attention,
    potts,
    sampling,
    spectra,
    testing,
    thermo_mlp,
)
from .attention import attention_logits, blended_attention, causal_mask, sampled_attention, softmax_attention
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
from .ising import IsingModel, block_gibbs, simulated_annealing
from .lattice import checkerboard_gibbs, lattice_energy, magnetization
from .mcmc import integrated_autocorrelation_time, integrated_autocorrelation_times
from .mixture import pmog_sample, pmog_stationary
from .onsager import kaufman_log_partition_function, onsager_energy, onsager_magnetization, onsager_specific_heat
from .ou import ou_mean_cov, ou_sample, ou_stationary, ou_trajectory
from .ou_linalg import ou_inverse, ou_solve
from .pbit import gibbs_sample, sample_pbit
from .potts import potts_gibbs, potts_marginals
from .sampling import categorical_counts, empirical_frequencies, gumbel_top_k, sample_categorical, sample_hierarchical
from .thermo_mlp import ThermodynamicFFN, ThermodynamicMLP

__version__ = "0.1.0"

__all__ = [
    # modules
    "attention", "attention_chain", "attention_heads", "empirical", "estimators", "gibbs", "ising", "langevin",
    "lattice", "mcmc", "mixture", "onsager", "ou", "ou_linalg", "pbit", "pbit_attention", "potts", "sampling",
    "spectra", "testing", "thermo_mlp",
    # the Gibbs law (gibbs)
    "boltzmann", "entropy", "free_energy", "heat_capacity", "log_partition_function", "log_softmax", "logsumexp",
    "mean_energy", "partition_function", "softmax", "thermal_entropy",
    # discrete samplers
    "categorical_counts", "empirical_frequencies", "gumbel_top_k", "sample_categorical", "sample_hierarchical",
    "expected_reverse_kl", "expected_squared_error", "kl_divergence", "prob_all_seen", "gibbs_sample", "sample_pbit",
    # continuous samplers
    "ou_mean_cov", "ou_sample", "ou_stationary", "ou_trajectory", "ou_inverse", "ou_solve", "pmog_sample",
    "pmog_stationary", "ThermodynamicFFN", "ThermodynamicMLP",
    # Ising machines
    "IsingModel", "block_gibbs", "simulated_annealing", "checkerboard_gibbs", "lattice_energy", "magnetization",
    "kaufman_log_partition_function", "onsager_energy", "onsager_magnetization", "onsager_specific_heat",
    "integrated_autocorrelation_time", "integrated_autocorrelation_times",
    # attention
    "attention_logits", "blended_attention", "causal_mask", "sampled_attention", "softmax_attention",
    "potts_gibbs", "potts_marginals",
]
