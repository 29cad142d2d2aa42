r"""Ising machines (chapter 6): Ising models on any graph, the square lattice, and exact results.

==============================================  ==========================================================
:mod:`thermoref.ising.model`                    :class:`IsingModel`, its energy, its exact law by enumeration
:mod:`thermoref.ising.samplers`                 block Gibbs, Metropolis, parallel tempering, annealing
:mod:`thermoref.ising.maxcut`                   Max-Cut as a ground-state problem, exact optimum, G-set
:mod:`thermoref.ising.lattice`                  the periodic square lattice: tuned checkerboard sweep, clusters
:mod:`thermoref.ising.onsager`                  Onsager's and Kaufman's exact solutions
==============================================  ==========================================================

The colouring and the heat-bath sweep live in one private kernel that :mod:`thermoref.pbit` shares, so a
p-bit network and an Ising model are sampled by the same code. :func:`greedy_colouring` (largest degree
first) costs :math:`O(n + m)` for :math:`n` units and :math:`m` couplings; a sweep is one product with the
couplings per colour, so a sparse graph with few colours sweeps in a few vectorized steps, while a fully
connected network needs :math:`n` colours and its sweep is a sequential scan over the units. Every public
name of the submodules is available here and documented here, e.g. ``thermoref.ising.block_gibbs``.

References: Ising, E. (1925) Z. Phys. 31, 253; Onsager, L. (1944) Phys. Rev. 65, 117; Geman, S. & Geman, D.
(1984) IEEE PAMI 6, 721.
"""

from . import lattice, maxcut, model, onsager, samplers
from ._chromatic import check_colouring, greedy_colouring
from .lattice import (
    LatticeTrace,
    checkerboard_gibbs,
    checkerboard_gibbs_reference,
    checkerboard_trace,
    heat_bath_table,
    lattice_energy,
    magnetization,
    swendsen_wang,
    wolff,
)
from .maxcut import cut_value, maxcut_exact, maxcut_model, read_gset
from .model import ExactLaw, IsingModel, exact_law, ising_energy
from .onsager import (
    BETA_C,
    finite_lattice_energy,
    finite_lattice_specific_heat,
    kaufman_log_partition_function,
    onsager_energy,
    onsager_magnetization,
    onsager_specific_heat,
)
from .samplers import AnnealResult, block_gibbs, metropolis, parallel_tempering, simulated_annealing

__all__ = [
    # submodules
    "lattice", "maxcut", "model", "onsager", "samplers",
    # any graph
    "IsingModel", "ExactLaw", "exact_law", "ising_energy", "greedy_colouring", "check_colouring",
    "block_gibbs", "metropolis", "parallel_tempering", "simulated_annealing", "AnnealResult",
    "maxcut_model", "cut_value", "maxcut_exact", "read_gset",
    # the square lattice
    "checkerboard_gibbs", "checkerboard_gibbs_reference", "checkerboard_trace", "LatticeTrace",
    "heat_bath_table", "lattice_energy", "magnetization", "swendsen_wang", "wolff",
    # exact results
    "BETA_C", "onsager_energy", "onsager_specific_heat", "onsager_magnetization",
    "kaufman_log_partition_function", "finite_lattice_energy", "finite_lattice_specific_heat",
]
