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

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_work
from ..mcmc import integrated_autocorrelation_times

__all__ = ["ChainSamples", "metropolis_keys"]

_PROPOSALS = ("uniform", "local")


@dataclass(frozen=True)
class ChainSamples:
    r"""Keys drawn by one Metropolis chain per query row, with the chain's own diagnostics.

    Returned by :func:`metropolis_keys`; a fully masked (inert) row runs no chain and reports no draw.

    Attributes
    ----------
    indices : ndarray of int64, shape (..., T, K)
        Key index of each kept step; ``-1`` on fully masked (inert) rows.
    acceptance_rate : ndarray of shape (..., T)
        Fraction of accepted proposals over warm-up and sampling (0 on inert rows).
    tau_int : ndarray of shape (..., T)
        Integrated autocorrelation time :math:`\tau_{\mathrm{int}} = 1 + 2\sum_{t\ge1}\rho(t)` of the energy
        trace :math:`\ell_{j_t}`, in kept steps (1 for independent keys; 1 on inert rows: nothing drawn,
        nothing correlated).
    ess : ndarray of shape (..., T)
        Effective sample size :math:`K/\tau_{\mathrm{int}}` (0 on inert rows: no draw).

    Notes
    -----
    The variance of a time average of :math:`K` correlated draws is :math:`\tau_{\mathrm{int}}\sigma^2/K`: the
    draws are worth :math:`K_{\mathrm{eff}} = K/\tau_{\mathrm{int}}` independent ones.

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), §3.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import metropolis_keys
    >>> out = metropolis_keys(np.zeros((1, 4)), 200, rng=0)  # a flat row: every proposal accepted
    >>> print(out.indices.shape, out.acceptance_rate[0], f"{out.ess[0]:.0f}")
    (1, 200) 1.0 200
    """

    indices: np.ndarray
    acceptance_rate: np.ndarray
    tau_int: np.ndarray
    ess: np.ndarray


def _metropolis_step(state, ell, rng, proposal):
    """One Metropolis step for every row; ``ell`` (R, S) logits of live rows, ``state`` (R,) key indices."""
    S = ell.shape[-1]
    if proposal == "uniform":
        prop = rng.integers(0, S, size=state.shape)  # (R,)
    else:
        prop = (state + rng.choice(np.array([-1, 1]), size=state.shape)) % S  # (R,) ring neighbour
    ell_old = np.take_along_axis(ell, state[:, None], axis=-1)[:, 0]  # (R,)
    ell_new = np.take_along_axis(ell, prop[:, None], axis=-1)[:, 0]  # (R,)
    u = rng.random(state.shape)  # (R,), in [0, 1)
    with np.errstate(over="ignore"):
        # Accept with probability min(1, e^{l' - l}): u < e^{l' - l}. A proposal of weight 0 in float64 (a
        # -inf mask, or a finite sentinel ~745 below the current key) has e^{l' - l} = 0 and is never
        # accepted, not even at u = 0.
        accept = u < np.exp(ell_new - ell_old)  # (R,)
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
        Attention logits :math:`\ell`; ``-inf`` marks a masked key. A fully masked row is inert (indices
        ``-1``, see :mod:`thermoref.attention`). A finite sentinel is a logit, not a mask (see Notes).
    n_samples : int
        Number :math:`K \ge 1` of kept steps per row.
    rng : numpy.random.Generator or int
        Randomness (a Generator, or a seed for ``numpy.random.default_rng``).
    n_warmup : int
        Steps :math:`\ge 0` discarded before the first kept one (relaxation from the start, see Notes).
    thin : int
        Keep every ``thin``-th step after warm-up (:math:`\ge 1`).
    proposal : {"uniform", "local"}
        ``uniform``: propose any key uniformly (an independence sampler; masked proposals are rejected).
        ``local``: propose a ring neighbour :math:`j \pm 1` (a slowly relaxing, strongly correlated chain).

    Returns
    -------
    ChainSamples
        ``indices`` of shape (..., T, K); ``acceptance_rate``, ``tau_int`` and ``ess`` of shape (..., T).

    Notes
    -----
    Each row :math:`i` is an independent chain on its Gibbs law :math:`p_j \propto e^{\ell_{ij}}` (energy
    :math:`E = -\ell` at :math:`kT = 1`). Both proposals are symmetric, so accepting a move :math:`j \to j'`
    with probability

    .. math:: A(j \to j') = \min\left(1, e^{\ell_{j'} - \ell_j}\right)

    satisfies detailed balance, :math:`p_j A(j\to j') = p_{j'} A(j'\to j)`, and leaves :math:`p` invariant.
    All rows advance together; the loop runs over chain steps only. :math:`\tau_{\mathrm{int}}` is measured
    on the energy trace :math:`\ell_{j_t}` with :func:`thermoref.mcmc.integrated_autocorrelation_times`; a
    trace that never moved although the row's law is not a point mass is reported with
    :math:`\tau_{\mathrm{int}} = K` (one effective sample), never as independent draws.

    *Masks and finite sentinels.* A ``-inf`` logit is a masked key: it is never accepted. A *finite*
    sentinel, as some frameworks write masks (:math:`-3.4\times10^{38}` or ``numpy.finfo(float).min``), is an
    ordinary logit: its key's weight :math:`e^{\ell_j - \ell_{\max}}` is exactly 0 in float64 (once
    :math:`\ell_j < \ell_{\max} - 745`), so it carries no mass. The chain starts at a key drawn uniformly
    among the keys *with mass* (weight > 0 in float64), never at a sentinel, and the acceptance
    :math:`e^{\ell_{j'} - \ell_j}` of a move to a sentinel is exactly 0: its draws contain no sentinel key at
    any warm-up, including ``n_warmup = 0``. A row whose every logit equals the same sentinel is not masked
    but uniform, as in those frameworks.

    References
    ----------
    Metropolis, N., Rosenbluth, A. W., Rosenbluth, M. N., Teller, A. H. & Teller, E. (1953) "Equation of
    state calculations by fast computing machines", J. Chem. Phys. 21, 1087. Sokal, A. D. (1997) "Monte
    Carlo methods in statistical mechanics: foundations and new algorithms", in *Functional Integration*
    (Springer), §3.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.attention import metropolis_keys
    >>> ell = np.array([[0.0, np.log(3.0), -3.4e38], [-np.inf, -np.inf, -np.inf]])  # sentinel; inert row
    >>> out = metropolis_keys(ell, 4000, rng=0, n_warmup=0)
    >>> print(np.round(np.bincount(out.indices[0], minlength=3) / 4000, 2))  # p = (1/4, 3/4, 0): no sentinel
    [0.24 0.76 0.  ]
    >>> print(out.indices[1, :3], out.acceptance_rate[1], out.tau_int[1], out.ess[1])
    [-1 -1 -1] 0.0 1.0 0.0
    """
    ell = as_float_array(logits, "logits", min_ndim=2, allow_neg_inf=True)
    if ell.shape[-1] == 0:
        raise ValueError("logits: no keys (last axis is empty)")
    n_samples = check_positive_int(n_samples, "n_samples")
    n_warmup = check_positive_int(n_warmup, "n_warmup", minimum=0)
    thin = check_positive_int(thin, "thin")
    if not isinstance(proposal, str) or proposal not in _PROPOSALS:
        raise ValueError(f"proposal: expected one of {_PROPOSALS}, got {proposal!r}")
    rows = max(int(np.prod(ell.shape[:-1])), 1)  # a loop over an empty batch still costs its iterations
    check_allocation(ell.shape[:-1] + (n_samples,), "n_samples")
    check_work(n_warmup * rows, "n_warmup")
    check_work(thin * n_samples * rows, "thin")
    rng = as_rng(rng)
    allowed = ell > -np.inf  # (..., T, S)
    live = allowed.any(axis=-1)  # (..., T): False on fully masked (inert) rows
    top = np.max(ell, axis=-1, keepdims=True)  # (..., T, 1)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):  # NaN on inert rows: no mass
        mass = np.exp(ell - top) > 0  # (..., T, S): weight > 0 in float64 (never a finite sentinel)
    # Only live rows run a chain and draw randomness, so an inert row leaves every other row's draws unchanged.
    S = ell.shape[-1]
    live_f = live.reshape(-1)  # (R,)
    every = bool(live_f.all())
    ell_l = ell.reshape(-1, S) if every else ell.reshape(-1, S)[live_f]  # (R_live, S)
    mass_l = mass.reshape(-1, S) if every else mass.reshape(-1, S)[live_f]  # (R_live, S)
    # Start each chain at a key drawn uniformly among those with mass (argmax of uniform scores over them).
    start_scores = np.where(mass_l, rng.random(ell_l.shape), -1.0)  # (R_live, S)
    state = np.argmax(start_scores, axis=-1)  # (R_live,)
    n_accept = np.zeros(state.shape, dtype=np.int64)
    for _ in range(n_warmup):
        state, acc = _metropolis_step(state, ell_l, rng, proposal)
        n_accept += acc
    kept_l = np.empty(state.shape + (n_samples,), dtype=np.int64)  # (R_live, K)
    for k in range(n_samples):
        for _ in range(thin):
            state, acc = _metropolis_step(state, ell_l, rng, proposal)
            n_accept += acc
        kept_l[:, k] = state
    kept = np.full((live_f.size, n_samples), -1, dtype=np.int64)  # (R, K)
    kept[live_f] = kept_l
    kept = kept.reshape(live.shape + (n_samples,))  # (..., T, K)
    acceptance = np.zeros(live_f.size)  # (R,)
    acceptance[live_f] = n_accept / (n_warmup + thin * n_samples)
    acceptance = acceptance.reshape(live.shape)  # (..., T)
    if n_samples >= 2:
        trace = np.take_along_axis(np.where(allowed, ell, 0.0), np.maximum(kept, 0), axis=-1)  # (..., T, K)
        tau = integrated_autocorrelation_times(trace, axis=-1)  # (..., T); 1.0 for a constant trace
        moved = np.ptp(trace, axis=-1) > 0  # (..., T)
        # energies of the keys with mass differ: a trace that never moved then means an unmixed chain
        spread = np.max(np.where(mass, ell, -np.inf), axis=-1) > np.min(np.where(mass, ell, np.inf), axis=-1)
        tau = np.where(~moved & spread, float(n_samples), tau)
    else:
        tau = np.ones(live.shape)
    tau = np.where(live, tau, 1.0)
    ess = np.where(live, n_samples / tau, 0.0)
    return ChainSamples(kept, acceptance, tau, ess)
