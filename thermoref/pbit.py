"""p-bits and networks of p-bits (Boltzmann machines): Gibbs sampling, chromatic blocks, exact enumeration.

A p-bit is a binary stochastic unit whose output is "high" with probability :math:`\\sigma(\\beta I)` for
input :math:`I`. Wired so that each unit's input is its energy gap, a network of p-bits is a Gibbs sampler
of the Boltzmann machine :math:`E(m) = -\\tfrac12 m^\\top W m - b^\\top m` with symmetric :math:`W` and zero
diagonal, :math:`p(m) \\propto e^{-\\beta E(m)}`, provided units update one at a time or in independent
sets (graph colours). Updating all units at once from the old state (the synchronous update) samples a
different law; :func:`synchronous_stationary_law` computes it exactly to show how.

Every function works in an explicit convention ``values``: ``(-1, 1)`` (spins) or ``(0, 1)`` (bits). The
conditional law of unit :math:`i` is :math:`P(m_i=\\text{hi}\\mid m_{-i}) = \\sigma(\\beta(\\text{hi}-\\text{lo})
I_i)`, :math:`I_i = \\sum_j W_{ij}m_j + b_i`: :math:`\\sigma(2\\beta I_i)` for spins, :math:`\\sigma(\\beta I_i)` for
bits.

References: Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible
logic", Phys. Rev. X 7, 031014; Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm
for Boltzmann machines", Cognitive Science 9, 147–169; Geman, S. & Geman, D. (1984) "Stochastic relaxation,
Gibbs distributions, and the Bayesian restoration of images", IEEE PAMI 6, 721–741.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from ._validation import (
    as_float_array,
    as_rng,
    check_allocation,
    check_beta,
    check_bool,
    check_positive_int,
    check_symmetric_couplings,
    check_work,
)
from .ising._chromatic import colour_blocks, greedy_colouring, heat_bath_gain, heat_bath_sweep
from .ising.model import ExactLaw, _check_scale, _check_spins, _clamp, _energy, _enumerate_law
from .testing import enumerate_states

__all__ = [
    "SCHEDULES",
    "pbit_probability",
    "sample_pbit",
    "sample_pbit_tanh",
    "bm_energy",
    "conditional_probability",
    "gibbs_sample",
    "exact_law",
    "synchronous_stationary_law",
    "AND_GATE",
    "clt_gaussian",
    "clt_ks_distance",
]

#: The update schedules of :func:`gibbs_sample`: three valid ones and the synchronous mistake.
SCHEDULES = ("systematic", "random", "chromatic", "synchronous")
SPIN, BIT = (-1, 1), (0, 1)


def _values(values: tuple[int, int]) -> tuple[int, int]:
    """The value convention as a pair of ints, (-1, 1) or (0, 1); anything else is refused."""
    try:
        v = tuple(values)
    except TypeError:
        raise TypeError(f"values: expected a pair, (-1, 1) (spins) or (0, 1) (bits), got {type(values).__name__}") from None
    if any(isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) for x in v):
        raise TypeError(f"values: expected a pair of real numbers, (-1, 1) or (0, 1), got {values!r}")
    if v not in (SPIN, BIT):
        raise ValueError(f"values: expected (-1, 1) (spins) or (0, 1) (bits), got {values!r}")
    return (int(v[0]), int(v[1]))


def _beta(beta: ArrayLike) -> float:
    return check_beta(beta, scalar=True)


def pbit_probability(I: ArrayLike, *, beta: float = 1.0) -> np.ndarray:
    r"""Probability :math:`\sigma(\beta I) = 1/(1+e^{-\beta I})` that a p-bit with input ``I`` outputs "high".

    Parameters
    ----------
    I : array_like of any shape
        Inputs (finite).
    beta : float
        Gain (inverse temperature), :math:`0 \le \beta < \infty`; huge values give the step function.

    Returns
    -------
    ndarray of float64, shape ``I.shape``
        :math:`P(\text{high})` in [0, 1].

    Notes
    -----
    .. math:: P(m = \text{high}) = \sigma(\beta I) = \frac{1}{1 + e^{-\beta I}}.

    The same law in both conventions: "high" is :math:`m=+1` for spins and :math:`x=1` for bits. Physically a
    p-bit is a fluctuating binary device (a stochastic magnetic tunnel junction) whose time-averaged output is a
    sigmoid of its input; :math:`\beta` sets how sharp the sigmoid is.

    References
    ----------
    Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> from thermoref.pbit import pbit_probability
    >>> print(pbit_probability([0.0, 1.0], beta=2.0).round(6))
    [0.5      0.880797]
    """
    beta, I = _beta(beta), as_float_array(I, "I")
    with np.errstate(over="ignore"):  # beta I = +-inf at huge beta: sigma is then exactly 0 or 1
        return special.expit(beta * I)


def sample_pbit(I: ArrayLike, *, beta: float = 1.0, rng: np.random.Generator | int, values: tuple[int, int] = SPIN) -> np.ndarray:
    r"""One draw of each p-bit: ``values[1]`` with probability :math:`\sigma(\beta I)`, else ``values[0]``.

    Parameters
    ----------
    I : array_like of any shape
        Inputs (finite).
    beta : float
        Gain (inverse temperature), non-negative.
    rng : numpy.random.Generator or int
        Source of randomness (a Generator or an integer seed).
    values : (-1, 1) or (0, 1)
        Output convention: spins or bits.

    Returns
    -------
    ndarray of int8, shape ``I.shape``
        One independent draw per input.

    Notes
    -----
    Each output is ``values[1]`` if :math:`u < \sigma(\beta I)` for a fresh uniform :math:`u`, so
    :math:`P(\text{high}) = \sigma(\beta I)` (:func:`pbit_probability`): the p-bit's output is a Bernoulli
    variable whose bias the input controls.

    References
    ----------
    Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> from thermoref.pbit import sample_pbit
    >>> print(sample_pbit([0.0, 5.0, -5.0], rng=0, values=(0, 1)))
    [0 1 0]
    """
    p = pbit_probability(I, beta=beta)
    lo, hi = _values(values)
    rng = as_rng(rng)
    return np.where(rng.random(p.shape) < p, hi, lo).astype(np.int8)


def sample_pbit_tanh(I: ArrayLike, *, beta: float = 1.0, rng: np.random.Generator | int) -> np.ndarray:
    r"""Camsari's hardware form :math:`m=\mathrm{sgn}(\tanh(\beta I) - r)`, :math:`r\sim U(-1,1)`: spins.

    Parameters
    ----------
    I : array_like of any shape
        Inputs (finite).
    beta : float
        Gain (inverse temperature), non-negative.
    rng : numpy.random.Generator or int
        Source of randomness.

    Returns
    -------
    ndarray of int8, shape ``I.shape``
        Spins in {-1, +1}.

    Notes
    -----
    .. math:: P(m=+1) = P(r < \tanh\beta I) = \frac{1+\tanh\beta I}{2} = \sigma(2\beta I).

    Note the factor two: this is exactly the spin conditional :math:`\sigma(2\beta I_i)` of
    :func:`conditional_probability` when :math:`I_i` is the local field. Feeding it :math:`\beta I` and expecting
    :math:`\sigma(\beta I)` is a factor-2 temperature error.

    References
    ----------
    Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> from thermoref.pbit import sample_pbit_tanh
    >>> print(sample_pbit_tanh([0.0, 3.0], rng=0))
    [-1  1]
    """
    beta, I = _beta(beta), as_float_array(I, "I")
    rng = as_rng(rng)
    with np.errstate(over="ignore"):  # tanh(+-inf) = +-1, the beta -> inf limit
        x = beta * I
    r = rng.uniform(-1.0, 1.0, size=x.shape)
    return np.where(np.tanh(x) > r, 1, -1).astype(np.int8)


def bm_energy(W: ArrayLike, b: ArrayLike, m: ArrayLike) -> np.ndarray:
    r"""Boltzmann-machine energy :math:`E(m) = -\frac12 m^\top W m - b^\top m` of states ``m``.

    Parameters
    ----------
    W : array_like of shape (n, n)
        Symmetric couplings with zero diagonal (checked).
    b : array_like of shape (n,)
        Biases.
    m : array_like of shape (..., n)
        States, spins (-1, 1) or bits (0, 1) (checked); the quadratic form is evaluated as given.

    Returns
    -------
    ndarray of float64, shape (...)
        One energy per state.

    Notes
    -----
    .. math:: E(m) = -\tfrac12 m^\top W m - b^\top m = -\sum_{i<j} W_{ij} m_i m_j - \sum_i b_i m_i.

    The one energy of a binary network in the project: :func:`thermoref.ising.ising_energy` evaluates the
    same function (with :math:`J = W`, :math:`h = b`) over spins. Low energy means coupled units agree (for
    :math:`W_{ij} > 0`) and units follow their bias.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines", Cognitive Science 9, 147–169.

    Examples
    --------
    >>> from thermoref.pbit import bm_energy
    >>> print(bm_energy([[0.0, 1.0], [1.0, 0.0]], [0.5, 0.0], [[1, 1], [1, -1]]))
    [-1.5  0.5]
    """
    W, b = _network(W, b)
    m = as_float_array(m, "m", min_ndim=1)
    if m.shape[-1] != W.shape[0]:
        raise ValueError(f"m: last axis has {m.shape[-1]} units, W has {W.shape[0]}")
    if not np.isin(m, (-1.0, 0.0, 1.0)).all():
        raise ValueError("m: entries must be spins (-1, 1) or bits (0, 1)")
    return _energy(W, b, m)


def _network(W: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    W = check_symmetric_couplings(W, "W")
    if W.shape[0] == 0:
        raise ValueError("W: the network needs at least one unit, got shape (0, 0)")
    b = as_float_array(b, "b", ndim=1)
    if b.shape[0] != W.shape[0]:
        raise ValueError(f"b: expected shape ({W.shape[0]},), got {b.shape}")
    _check_scale(W, b, "W", "b")
    return W, b


def conditional_probability(W: ArrayLike, b: ArrayLike, m: ArrayLike, *, beta: float = 1.0, values: tuple[int, int] = SPIN) -> np.ndarray:
    r""":math:`P(m_i = \text{hi}\mid m_{-i}) = \sigma(\beta(\text{hi}-\text{lo})I_i)` for every unit of states ``m``.

    Parameters
    ----------
    W : array_like of shape (n, n)
        Symmetric couplings with zero diagonal.
    b : array_like of shape (n,)
        Biases.
    m : array_like of shape (..., n)
        States in the convention ``values``.
    beta : float
        Inverse temperature, non-negative.
    values : (-1, 1) or (0, 1)
        Spin or bit convention.

    Returns
    -------
    ndarray of float64, shape (..., n)
        The heat-bath probability of each unit given the others.

    Notes
    -----
    .. math:: I_i = \sum_j W_{ij} m_j + b_i, \qquad
              P(m_i = \text{hi} \mid m_{-i}) = \sigma\big(\beta(\text{hi}-\text{lo})\,I_i\big),

    because the diagonal is zero (so :math:`I_i` does not depend on :math:`m_i`) and
    :math:`E(\text{lo}) - E(\text{hi}) = (\text{hi}-\text{lo}) I_i`: :math:`\sigma(2\beta I_i)` for spins,
    :math:`\sigma(\beta I_i)` for bits. A p-bit fed :math:`I_i` is exactly this conditional.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721–741.

    Examples
    --------
    >>> from thermoref.pbit import conditional_probability
    >>> p = conditional_probability([[0.0, 1.0], [1.0, 0.0]], [0.0, 0.0], [[1, 1]], beta=0.5)
    >>> print(p.round(6))  # sigma(2 * 0.5 * 1)
    [[0.731059 0.731059]]
    """
    W, b = _network(W, b)
    lo, hi = _values(values)
    m = _check_spins(m, W.shape[0], "m", (lo, hi)).astype(np.float64)  # (..., n)
    gain = heat_bath_gain(_beta(beta), hi - lo)
    with np.errstate(over="ignore"):  # g I = +-inf at huge beta: sigma is then exactly 0 or 1
        return special.expit(gain * (m @ W + b))


def gibbs_sample(
    W: ArrayLike,
    b: ArrayLike,
    *,
    beta: float = 1.0,
    n_sweeps: int,
    n_chains: int,
    rng: np.random.Generator | int,
    schedule: str = "chromatic",
    values: tuple[int, int] = SPIN,
    clamp: Mapping[int, int] | None = None,
    m0: ArrayLike | None = None,
    return_trajectory: bool = False,
) -> np.ndarray:
    r"""Run ``n_chains`` independent p-bit networks for ``n_sweeps`` sweeps and return their states.

    Parameters
    ----------
    W : array_like of shape (n, n)
        Symmetric couplings with zero diagonal (asymmetric or self-coupled ``W`` is rejected: it has no
        energy, and a p-bit network built from it samples no Gibbs law).
    b : array_like of shape (n,)
        Biases.
    beta : float
        Inverse temperature, non-negative.
    n_sweeps : int
        Sweeps (``n`` single-unit updates, or one pass over the colours, or one synchronous step); 0 returns
        the initial states.
    n_chains : int
        Independent chains (the leading axis), at least 1.
    rng : numpy.random.Generator or int
        Source of randomness.
    schedule : {"systematic", "random", "chromatic", "synchronous"}
        ``"systematic"``: units 0..n-1 in order; ``"random"``: n updates of a uniformly chosen unit (a
        different one per chain); ``"chromatic"``: all units of one colour of
        :func:`thermoref.ising.greedy_colouring` at once, colour by colour. ``"synchronous"``: every unit at
        once from the previous state — the documented MISTAKE: its stationary law is not the Boltzmann law
        (:func:`synchronous_stationary_law`).
    values : (-1, 1) or (0, 1)
        Spin or bit convention.
    clamp : mapping of int to int, optional
        Units held fixed at a value (inputs of invertible logic); the others sample the conditional law.
    m0 : array_like of shape (n_chains, n) or (n,), optional
        Initial states; default uniformly random.
    return_trajectory : bool
        Return every sweep's state instead of the last one.

    Returns
    -------
    ndarray of int8, shape (n_chains, n), or (n_sweeps, n_chains, n) with ``return_trajectory``
        The states after the last sweep (or after every sweep).

    Notes
    -----
    Each update draws unit :math:`i` from :math:`P(m_i = \text{hi} \mid m_{-i}) = \sigma(\beta(\text{hi} -
    \text{lo}) I_i)` (:func:`conditional_probability`). Every valid schedule leaves
    :math:`p(m)\propto e^{-\beta E(m)}` invariant and is irreducible at finite :math:`\beta`; draws from many
    independent chains after burn-in are independent samples of it. The chromatic and systematic schedules run
    through the heat-bath kernel shared with :func:`thermoref.ising.block_gibbs`; loops run over sweeps and
    colours only, all chains update together. A fully connected network (every :math:`W_{ij} \ne 0`) needs
    :math:`n` colours, so its chromatic sweep is a sequential scan over the units: that is inherent to the
    graph, not a defect of the colouring.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721–741. Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    Run the invertible AND gate forward: clamp both inputs high and read the output.

    >>> from thermoref.pbit import AND_GATE, gibbs_sample
    >>> W, b = AND_GATE
    >>> m = gibbs_sample(W, b, beta=2.0, n_sweeps=20, n_chains=1000, rng=0, clamp={0: 1, 1: 1})
    >>> m.shape, float((m[:, 2] == 1).mean())
    ((1000, 3), 1.0)
    """
    W, b = _network(W, b)
    beta = _beta(beta)
    lo, hi = _values(values)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=0)
    n_chains = check_positive_int(n_chains, "n_chains")
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {schedule!r}")
    return_trajectory = check_bool(return_trajectory, "return_trajectory")
    rng = as_rng(rng)
    n = W.shape[0]
    check_allocation((n_chains, n), "n_chains")
    if return_trajectory:
        check_allocation((n_sweeps, n_chains, n), "n_sweeps", itemsize=1)
    check_work(n_sweeps * n_chains * n, "n_sweeps")
    fixed, fixed_vals = _clamp(clamp, n, (lo, hi))
    if m0 is None:
        m = np.where(rng.random((n_chains, n)) < 0.5, hi, lo).astype(np.float64)  # (C, n)
    else:
        start = _check_spins(m0, n, "m0", (lo, hi))
        if start.ndim > 2 or (start.ndim == 2 and start.shape[0] not in (1, n_chains)):
            raise ValueError(f"m0: expected shape ({n_chains}, {n}) or ({n},), got {start.shape}")
        m = np.broadcast_to(start, (n_chains, n)).astype(np.float64)
    m[:, fixed] = fixed_vals[fixed]
    gain = heat_bath_gain(beta, hi - lo)
    traj = np.empty((n_sweeps, n_chains, n), dtype=np.int8) if return_trajectory else None
    if schedule == "random":
        free = np.flatnonzero(~fixed)
        rows = np.arange(n_chains)
        for sweep in range(n_sweeps):
            for _ in range(free.size):  # n single-unit updates per sweep, a random unit per chain
                i = free[rng.integers(0, free.size, size=n_chains)]  # (C,)
                I = np.einsum("cj,cj->c", m, W[i]) + b[i]
                with np.errstate(over="ignore"):  # g I = +-inf at huge beta: sigma is exactly 0 or 1
                    p_hi = special.expit(gain * I)  # (C,)
                m[rows, i] = np.where(rng.random(n_chains) < p_hi, hi, lo)
            if traj is not None:
                traj[sweep] = m
        return traj if traj is not None else m.astype(np.int8)
    # Systematic: every unit its own colour, in index order; synchronous: one colour for all (the mistake).
    if schedule == "chromatic":
        colours = greedy_colouring(W)
    else:
        colours = np.arange(n) if schedule == "systematic" else np.zeros(n, dtype=np.int64)
    perm, _, _, blocks = colour_blocks(W, b, colours, fixed)
    mp = m[:, perm]  # (C, n), colours contiguous, clamped units last
    for sweep in range(n_sweeps):
        heat_bath_sweep(mp, blocks, gain, rng, lo, hi)
        if traj is not None:
            traj[sweep][:, perm] = mp
    if traj is not None:
        return traj
    out = np.empty(mp.shape, dtype=np.int8)
    out[:, perm] = mp
    return out


def exact_law(W: ArrayLike, b: ArrayLike, *, beta: float = 1.0, values: tuple[int, int] = SPIN,
              clamp: Mapping[int, int] | None = None) -> ExactLaw:
    r"""Exact :math:`p(m) = e^{-\beta E(m)}/Z` of a Boltzmann machine over all :math:`2^n` states (n <= 20).

    Parameters
    ----------
    W : array_like of shape (n, n)
        Symmetric couplings with zero diagonal.
    b : array_like of shape (n,)
        Biases.
    beta : float
        Inverse temperature, :math:`0 \le \beta \le \infty`.
    values : (-1, 1) or (0, 1)
        Spin or bit convention of the states.
    clamp : mapping of int to int, optional
        Units held fixed; states outside the clamp get probability zero and ``log_Z`` is that of the
        clamped sub-system.

    Returns
    -------
    thermoref.ising.ExactLaw
        The same result type as :func:`thermoref.ising.exact_law`, from the same enumeration. Its ``log_Z`` is
        :math:`\pm\infty` at :math:`\beta = \infty` when the ground energy is not zero (and wherever
        :math:`-\beta E_{\min}` exceeds the float64 range).

    Notes
    -----
    :math:`p = \mathrm{softmax}(-\beta E)` over the enumerated energies :math:`E(m) = -\tfrac12 m^\top W m
    - b^\top m`, through :func:`thermoref.gibbs.boltzmann` and :func:`thermoref.gibbs.log_partition_function`
    (log space: no overflow at any :math:`\beta`; at :math:`\beta = \infty` the ground states share the
    weight).

    Examples
    --------
    >>> from thermoref.pbit import exact_law
    >>> law = exact_law([[0.0, 1.0], [1.0, 0.0]], [0.0, 0.0])
    >>> print(law.p.round(6), round(float(law.corr[0, 1]), 6))  # <m0 m1> = tanh(1)
    [0.440399 0.059601 0.059601 0.440399] 0.761594
    """
    W, b = _network(W, b)
    beta = check_beta(beta, allow_inf=True, scalar=True)
    return _enumerate_law(W, b, beta, _values(values), clamp, name="W")


def synchronous_stationary_law(W: ArrayLike, b: ArrayLike, *, beta: float = 1.0, values: tuple[int, int] = SPIN) -> np.ndarray:
    r"""Exact stationary law of the (wrong) synchronous update, over :func:`thermoref.testing.enumerate_states` order.

    Parameters
    ----------
    W : array_like of shape (n, n)
        Symmetric couplings with zero diagonal, n <= 12.
    b : array_like of shape (n,)
        Biases.
    beta : float
        Inverse temperature, non-negative (refused where transition probabilities underflow and the chain has
        no unique stationary law in float64).
    values : (-1, 1) or (0, 1)
        Spin or bit convention.

    Returns
    -------
    ndarray of float64, shape ``(2**n,)``
        :math:`\pi`, the stationary probability of each state.

    Notes
    -----
    The synchronous step :math:`T(m\to m') = \prod_i P(m'_i\mid I_i(m))` is a positive stochastic matrix, so
    it has a unique stationary law :math:`\pi = \pi T`, solved here directly. It is not :math:`e^{-\beta
    E}/Z`: on a bipartite graph with sublattices :math:`A, B` it is :math:`\pi(m_A, m_B) = p(m_A)p(m_B)`
    (right marginals of each sublattice, zero connected correlation across it); on a triangle even the
    marginals are wrong in general. That is why hardware p-bit networks update in colours, never all at once.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of images", IEEE Trans. Pattern Anal. Mach. Intell. 6, 721–741. (sequential and coloured updates); Camsari, K. Y., Faria, R., Sutton, B. M. & Datta, S. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.pbit import exact_law, synchronous_stationary_law
    >>> W, b = np.array([[0.0, 1.0], [1.0, 0.0]]), np.zeros(2)
    >>> print(synchronous_stationary_law(W, b).round(6))  # uniform: the two spins decouple
    [0.25 0.25 0.25 0.25]
    >>> print(exact_law(W, b).p.round(6))
    [0.440399 0.059601 0.059601 0.440399]
    """
    W, b = _network(W, b)
    beta = _beta(beta)
    lo, hi = _values(values)
    n = W.shape[0]
    if n > 12:
        raise ValueError(f"W: the synchronous transition matrix is limited to n <= 12 units, got {n}")
    s = enumerate_states(n, (lo, hi)).astype(np.float64)  # (S, n)
    with np.errstate(over="ignore"):  # clipping at |x| = 1e4 is exact: log_expit(-1e4) makes exp(...) = 0 too
        x = np.clip(heat_bath_gain(beta, hi - lo) * (s @ W + b), -1e4, 1e4)  # (S, n) gain times local field
    log_hi, log_lo = special.log_expit(x), special.log_expit(-x)
    high = (s == hi).astype(np.float64)
    T = np.exp(log_hi @ high.T + log_lo @ (1.0 - high).T)  # (S, S): T[a, c] = P(c | a)
    A = T.T - np.eye(T.shape[0])
    A[-1] = 1.0
    rhs = np.zeros(T.shape[0])
    rhs[-1] = 1.0
    try:
        pi = np.linalg.solve(A, rhs)  # (S,)
    except np.linalg.LinAlgError:
        pi = None
    if pi is None or not np.isfinite(pi).all() or pi.min() < -1e-9 or np.abs(pi @ T - pi).sum() > 1e-9:
        raise ValueError(f"beta: at beta = {beta!r} transition probabilities underflow to 0 and the synchronous "
                         "chain has no unique stationary law in float64")
    return pi


#: Invertible AND gate (Camsari et al. 2017) in spins, units (A, B, C = A AND B): the four truth-table rows are
#: the degenerate ground states (E = -3); every other state has E = +1 or +9.
AND_GATE = (
    np.array([[0.0, -1.0, 2.0], [-1.0, 0.0, 2.0], [2.0, 2.0, 0.0]]),
    np.array([1.0, 1.0, -2.0]),
)


def clt_gaussian(M: int, size: int, *, rng: np.random.Generator | int, backend: object = None) -> np.ndarray:
    r"""Approximately standard-normal noise from M fair p-bits: :math:`g = \sum_{k=1}^M m_k/\sqrt M`.

    Parameters
    ----------
    M : int
        Number of fair spins summed per draw, at least 1.
    size : int
        Number of draws, at least 1.
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : thermoref.backend.SamplingUnit, optional
        The unit whose p-bits are summed, through ``sample_binary(zeros((size, M)), 1.0, rng=rng)`` (fair bits
        :math:`x \in \{0, 1\}`, :math:`m = 2x - 1`); default: :func:`sample_pbit`. Its output is checked.

    Returns
    -------
    ndarray of float64, shape (size,)
        The scaled sums.

    Notes
    -----
    .. math:: g = \frac{1}{\sqrt M}\sum_{k=1}^M m_k, \qquad m_k = \pm1 \text{ with probability } \tfrac12.

    The exact law is a scaled binomial on the M+1 points :math:`(2j-M)/\sqrt M`: mean 0, variance 1, bounded
    support :math:`|g|\le\sqrt M`, excess kurtosis :math:`-2/M`, and Kolmogorov distance to :math:`N(0,1)` of
    order :math:`0.4/\sqrt M` (:func:`clt_ks_distance`): how a p-bit array can serve as a Gaussian noise source,
    and how far from Gaussian it is.

    Examples
    --------
    >>> from thermoref.pbit import clt_gaussian
    >>> g = clt_gaussian(64, 4, rng=0)
    >>> g.shape, bool(abs(g).max() <= 8.0)
    ((4,), True)
    """
    M = check_positive_int(M, "M")
    size = check_positive_int(size, "size")
    check_allocation(M, "M")
    check_allocation((size, M), "size")
    if backend is None:
        m = sample_pbit(np.zeros((size, M)), rng=rng)  # (size, M) fair spins
        return m.sum(axis=1, dtype=np.float64) / np.sqrt(M)
    from .backend.protocol import SamplingUnit  # the backend package imports this module: import late

    if not isinstance(backend, SamplingUnit):
        raise TypeError(f"backend: expected None or a thermoref.backend.SamplingUnit, got {type(backend).__name__}")
    x = np.asarray(backend.sample_binary(np.zeros((size, M)), 1.0, rng=rng))  # (size, M) fair bits
    if x.shape != (size, M) or not np.isin(x, (0, 1)).all():
        raise ValueError(f"backend: sample_binary returned shape {x.shape} or values outside {{0, 1}}; expected "
                         f"bits of shape {(size, M)}")
    return (2.0 * x.sum(axis=1, dtype=np.float64) - M) / np.sqrt(M)


def clt_ks_distance(M: int) -> float:
    r"""Exact :math:`\sup_x |F_M(x) - \Phi(x)|` for the p-bit CLT sum of :func:`clt_gaussian`.

    Parameters
    ----------
    M : int
        Number of fair spins summed, at least 1.

    Returns
    -------
    float
        The Kolmogorov distance between the law of the scaled sum and :math:`N(0, 1)`.

    Notes
    -----
    The supremum of the gap between a step function and a continuous increasing one is attained at a jump:

    .. math:: \sup_x |F_M(x) - \Phi(x)| = \max_j \max\big(|F(x_j) - \Phi(x_j)|,\ |F(x_j^-) - \Phi(x_j)|\big),
              \qquad x_j = (2j - M)/\sqrt M,

    with :math:`F` the binomial CDF; it tends to :math:`1/\sqrt{2\pi M}`, half the central jump.

    Examples
    --------
    >>> from thermoref.pbit import clt_ks_distance
    >>> print(round(clt_ks_distance(100), 6))
    0.039795
    """
    M = check_positive_int(M, "M")
    check_allocation(M + 1, "M")
    j = np.arange(M + 1)
    x = (2 * j - M) / np.sqrt(M)
    F = stats.binom.cdf(j, M, 0.5)
    F_left = F - stats.binom.pmf(j, M, 0.5)
    Phi = stats.norm.cdf(x)
    return float(np.max(np.maximum(np.abs(F - Phi), np.abs(F_left - Phi))))
