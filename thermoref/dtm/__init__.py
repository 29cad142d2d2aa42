r"""Denoising thermodynamic models (chapter 12): chains of grid Boltzmann machines that undo bit-flip noise."""

from . import forward, model
from .forward import coupling_strength, cumulative_flip, flip_schedule, forward_path, forward_sample, start_error_bound
from .model import (
    DTM,
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
