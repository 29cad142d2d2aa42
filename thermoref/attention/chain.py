r"""A relaxing physical sampler for attention: one Metropolis chain per query row, with its autocorrelation.

An exact sampler (inverse CDF, Gumbel-max) hands out independent keys. A physical sampler does not: it
relaxes from where it was, so successive keys are correlated and :math:`K` draws are worth only
:math:`K_{\mathrm{eff}} = K/\tau_{\mathrm{int}}` independent ones. This module models that with one
Metropolis chain per query row (all rows advanced together, one loop over chain steps), on the row's Gibbs
law :math:`p_j \propto e^{\ell_j}` (energy :math:`E_j = -\ell_j` at :math:`kT = 1`), and measures the
integrated autocorrelation time of the chain's energy trace with Sokal's automatic window
(:func:`thermoref.mcmc.integrated_autocorrelation_times`, the project's convention
:math:`\tau_{\mathrm{int}} = 1 + 2\sum_{t\ge1}\rho(t)`).

References: Metropolis et al., J. Chem. Phys. 21, 1087 (1953); Sokal, "Monte Carlo methods in statistical
mechanics: foundations and new algorithms" (1997), §3; Madras & Sokal, J. Stat. Phys. 50, 109 (1988).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_float_array, as_rng, check_positive_int
from ..mcmc import integrated_autocorrelation_times

__all__ = ["ChainSamples", "metropolis_keys"]

_PROPOSALS = ("uniform", "local")

# A key whose logit lies this far below its row's maximum has weight exp(-745) = 0 in float64: no mass.
_LOG_TINY = float(np.log(np.finfo(np.float64).smallest_subnormal))


@dataclass(frozen=True)
class ChainSamples:
    """Keys drawn by one Metropolis chain per row, with the chain's own diagnostics.

    Attributes
    ----------
    indices : ndarray of shape (..., T, K)
        Key index of each kept step (int64); ``-1`` on fully masked (inert) rows, where no chain runs.
    acceptance_rate : ndarray of shape (..., T)
        Fraction of accepted proposals over warm-up and sampling (0 on inert rows).
    tau_int : ndarray of shape (..., T)
        Integrated autocorrelation time :math:`1 + 2\\sum_{t\\ge1}\\rho(t)` (in kept steps, 1 for independent
        keys) of the energy trace :math:`\\ell_{j_t}` (1 on inert rows: no chain, nothing correlated).
    ess : ndarray of shape (..., T)
        Effective sample size :math:`K/\\tau_{\\mathrm{int}}` (0 on inert rows: no draw).
    """

    indices: np.ndarray
    acceptance_rate: np.ndarray
    tau_int: np.ndarray
    ess: np.ndarray


def _metropolis_step(state, ell, rng, proposal, allowed_count):
    """One Metropolis step for every row; ``ell`` (..., T, S) logits, ``state`` (..., T) key indices."""
    S = ell.shape[-1]
    if proposal == "uniform":
        prop = rng.integers(0, S, size=state.shape)  # (..., T)
    else:
        prop = (state + rng.choice(np.array([-1, 1]), size=state.shape)) % S  # (..., T) ring neighbour
    ell_old = np.take_along_axis(ell, state[..., None], axis=-1)[..., 0]
    ell_new = np.take_along_axis(ell, prop[..., None], axis=-1)[..., 0]
    u = rng.random(state.shape)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_ratio = ell_new - ell_old  # -inf for a masked proposal (NaN only on fully masked rows)
        accept = np.log(u) < log_ratio  # u = 0 (probability 2^-53) gives -inf: always accepted, still exact
    accept &= allowed_count > 0
    return np.where(accept, prop, state), accept


def metropolis_keys(
    logits: ArrayLike,
    n_samples: int,
    *,
    rng: np.random.Generator | int,
    n_warmup: int = 100,
    thin: int = 1,
    proposal: str = "uniform",
) -> ChainSamples:
    r"""Draw keys for every query row with a Metropolis chain per row (the ``chain`` attention backend).

    Parameters
    ----------
    logits : array_like of shape (..., T, S)
        Attention logits; ``-inf`` marks masked keys. A fully masked row yields indices ``-1``.
    n_samples : int
        Number :math:`K` of kept steps per row.
    rng : numpy.random.Generator or int
        Randomness.
    n_warmup : int
        Steps discarded before the first kept one (relaxation from a key drawn uniformly among those with
        mass, see Notes).
    thin : int
        Keep every ``thin``-th step after warm-up.
    proposal : {"uniform", "local"}
        ``uniform``: propose any key uniformly (an independence sampler; masked proposals are rejected).
        ``local``: propose a ring neighbour :math:`j \pm 1` (a slowly relaxing, strongly correlated chain).

    Returns
    -------
    ChainSamples

    Notes
    -----
    Both proposals are symmetric, so accepting with probability :math:`\min(1, e^{\ell_{j'} - \ell_j})`
    leaves :math:`p_j = e^{\ell_j}/\sum_k e^{\ell_k}` invariant (detailed balance). Each row is an
    independent chain; the loop runs over chain steps only. :math:`\tau_{\mathrm{int}}` is measured on the
    energy trace :math:`\ell_{j_t}`; a trace that never moved although the row's law is not a point mass is
    reported with :math:`\tau_{\mathrm{int}} = K` (one effective sample), never as independent.

    Masks: ``-inf`` logits are masked keys, never proposed successfully. A *finite* sentinel (some frameworks
    write :math:`-3.4\times10^{38}` or ``finfo.min`` instead of ``-inf``) is an ordinary logit: its key has
    weight :math:`e^{\ell_j - \ell_{\max}}`, exactly 0 in float64 once :math:`\ell_j < \ell_{\max} - 745`, so
    it has no mass and the chain never accepts a move to it. Chains start at a key drawn uniformly among the
    keys *with mass* (weight > 0 in float64), never at a sentinel; a row whose every logit equals the same
    sentinel is not masked but uniform, as in those frameworks.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import metropolis_keys
    >>> out = metropolis_keys(np.zeros((2, 3, 5)), 8, rng=0)
    >>> out.indices.shape, out.ess.shape
    ((2, 3, 8), (2, 3))
    """
    ell = as_float_array(logits, "logits", min_ndim=2, allow_neg_inf=True)
    n_samples = check_positive_int(n_samples, "n_samples")
    n_warmup = check_positive_int(n_warmup, "n_warmup", minimum=0)
    thin = check_positive_int(thin, "thin")
    if proposal not in _PROPOSALS:
        raise ValueError(f"proposal: expected one of {_PROPOSALS}, got {proposal!r}")
    rng = as_rng(rng)
    allowed = ell > -np.inf  # (..., T, S)
    allowed_count = allowed.sum(axis=-1)  # (..., T)
    top = np.max(ell, axis=-1, keepdims=True)  # (..., T, 1)
    with np.errstate(invalid="ignore"):  # -inf - (-inf) on inert rows: NaN, not > anything
        mass = allowed & (ell - top > _LOG_TINY)  # (..., T, S): weight > 0 in float64
    # Start each row at a key drawn uniformly among those with mass (argmax of uniform scores over them).
    start_scores = np.where(mass, rng.random(ell.shape), -1.0)
    state = np.argmax(start_scores, axis=-1)  # (..., T)
    n_accept = np.zeros(state.shape, dtype=np.int64)
    for _ in range(n_warmup):
        state, acc = _metropolis_step(state, ell, rng, proposal, allowed_count)
        n_accept += acc
    kept = np.empty(state.shape + (n_samples,), dtype=np.int64)  # (..., T, K)
    for k in range(n_samples):
        for _ in range(thin):
            state, acc = _metropolis_step(state, ell, rng, proposal, allowed_count)
            n_accept += acc
        kept[..., k] = state
    acceptance = n_accept / (n_warmup + thin * n_samples)
    masked_rows = allowed_count == 0
    if n_samples >= 2:
        trace = np.take_along_axis(np.where(allowed, ell, 0.0), kept, axis=-1)  # (..., T, K)
        tau = integrated_autocorrelation_times(trace, axis=-1)  # (..., T); 1.0 for a constant trace
        moved = np.ptp(trace, axis=-1) > 0
        # energies of the keys with mass differ: a trace that never moved then means an unmixed chain
        spread = np.max(np.where(mass, ell, -np.inf), axis=-1) > np.min(np.where(mass, ell, np.inf), axis=-1)
        tau = np.where(~moved & spread, float(n_samples), tau)
    else:
        tau = np.ones(state.shape)
    kept = np.where(masked_rows[..., None], -1, kept)
    tau = np.where(masked_rows, 1.0, tau)
    ess = np.where(masked_rows, 0.0, n_samples / tau)
    return ChainSamples(kept, acceptance, tau, ess)
