r"""The reference sampling unit: :class:`NumpyBackend`, the package's own samplers behind the interface.

Each method is a thin call into the sampler the book proves: chromatic block Gibbs
(:func:`thermoref.ising.block_gibbs`), p-bits (:func:`thermoref.pbit.sample_pbit`), inverse-CDF categorical
draws (:func:`thermoref.sampling.sample_categorical`), the exact Gaussian law of the Ornstein-Uhlenbeck unit
at rest, and a random-scan heat-bath chain for any energy over discrete states.

References: Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian
restoration of images", IEEE PAMI 6, 721-741; Camsari, K. Y. et al. (2017) Phys. Rev. X 7, 031014.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from ..ising._chromatic import greedy_colouring
from ..ising.samplers import block_gibbs
from ..pbit import sample_pbit
from ..sampling import sample_categorical
from . import _checks
from .protocol import Ledger, SamplingUnit, implements

__all__ = ["NumpyBackend"]


def heat_bath_site_updates(energy: Callable, s: np.ndarray, n_steps: int, beta: float, n_values: int,
                           rng: np.random.Generator) -> np.ndarray:
    """Random-scan heat bath on validated int64 states (n_chains, n), in place: one random site per chain per step.

    At each step every chain picks a site uniformly, evaluates the energy of its ``n_values`` variants in one
    call (shape (n_chains, n_values, n)), and redraws the site from their Gibbs law by inverse CDF.
    """
    n_chains, n = s.shape
    rows = np.arange(n_chains)
    for _ in range(n_steps):  # time steps of a Markov chain: sequential by nature
        site = rng.integers(0, n, size=n_chains)  # (n_chains,)
        cand = np.repeat(s[:, None, :], n_values, axis=1)  # (n_chains, q, n)
        cand[rows, :, site] = np.arange(n_values)
        E = _checks.call_energy(energy, cand)  # (n_chains, q)
        with np.errstate(over="ignore"):  # beta * gap = inf at huge beta: weight exactly 0
            w = np.exp(-beta * (E - E.min(axis=1, keepdims=True)))  # (n_chains, q), max weight 1
        cdf = np.cumsum(w, axis=1)
        u = rng.random(n_chains) * cdf[:, -1]
        s[rows, site] = np.minimum((cdf <= u[:, None]).sum(axis=1), n_values - 1)
    return s


class NumpyBackend:
    r"""The reference sampling unit: the package's NumPy samplers, with a :class:`Ledger`.

    Parameters
    ----------
    tau0 : float
        Modeled time of one parallel update phase (seconds, or 1.0 to count phases), > 0.
    energy_per_update : float, optional
        Modeled energy of one single-unit update in joules (``None``: not modeled); see :class:`Ledger`.

    Attributes
    ----------
    ledger : Ledger
        Counts of draws, sweeps, updates and phases since construction (or :meth:`Ledger.reset`).

    Notes
    -----
    ``sample_ising`` is chromatic block Gibbs: given its neighbours, spin :math:`i` is :math:`+1` with
    probability :math:`\sigma(2\beta\phi_i)`, :math:`\phi_i = \sum_j J_{ij}s_j + h_i`, units of one colour of
    :func:`thermoref.ising.greedy_colouring` together. The chain leaves :math:`e^{-\beta E}/Z` invariant; its
    output is that law only after enough sweeps (the conformance suite states how many it uses).
    ``sample_custom`` updates one uniformly chosen site per chain per step from its conditional law
    :math:`P(s_i = a \mid s_{-i}) \propto e^{-\beta E(s_{i\to a})}` (random-scan Gibbs). ``init=None`` in
    ``sample_ising`` starts every chain from independent uniform spins drawn from ``rng``.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend import NumpyBackend
    >>> unit = NumpyBackend()
    >>> ring = np.roll(np.eye(6), 1, axis=1); ring = ring + ring.T
    >>> s = unit.sample_ising(ring, np.zeros(6), 0.5, n_sweeps=10, n_samples=3, init=np.ones(6), rng=0)
    >>> s.shape, s.dtype, unit.ledger.sweeps, unit.ledger.phases  # 3 chains x 10 sweeps x 2 colours
    ((3, 6), dtype('int8'), 30, 60)
    """

    def __init__(self, *, tau0: float = 1.0, energy_per_update: float | None = None) -> None:
        self.ledger = Ledger(tau0, energy_per_update)

    def __repr__(self) -> str:
        return f"NumpyBackend(tau0={self.ledger.tau0!r}, energy_per_update={self.ledger.energy_per_update!r})"

    @implements(SamplingUnit.sample_ising)
    def sample_ising(self, J: np.ndarray | sparse.sparray, h: ArrayLike, beta: float, *, n_sweeps: int,
                     n_samples: int, init: ArrayLike | None = None, rng: np.random.Generator | int) -> np.ndarray:
        model, beta, n_sweeps, n_samples, s, rng = _checks.check_ising(J, h, beta, n_sweeps, n_samples, init, rng)
        if s is None:
            s = (2 * rng.integers(0, 2, size=(n_samples, model.n)) - 1).astype(np.int8)  # uniform spins
        colours = greedy_colouring(model.J)
        out = block_gibbs(model, s, beta, n_sweeps, rng=rng, colours=colours)
        self.ledger.charge(samples=n_samples, sweeps=n_samples * n_sweeps, updates=n_samples * n_sweeps * model.n,
                           phases=n_samples * n_sweeps * (int(colours.max()) + 1))
        return out

    @implements(SamplingUnit.sample_binary)
    def sample_binary(self, logits: ArrayLike, beta: float, *, rng: np.random.Generator | int) -> np.ndarray:
        z, beta, rng = _checks.check_binary(logits, beta, rng)
        out = sample_pbit(z, beta=beta, rng=rng, values=(0, 1))
        self.ledger.charge(samples=z.size, updates=z.size, phases=1)
        return out

    @implements(SamplingUnit.sample_categorical)
    def sample_categorical(self, logits: ArrayLike, beta: float, size: int, *,
                           rng: np.random.Generator | int) -> np.ndarray:
        z, _, beta, size, rng = _checks.check_categorical(logits, beta, size, rng)
        out = sample_categorical(z, size, beta=beta, rng=rng)
        rows = out.size // size
        self.ledger.charge(samples=out.size, updates=rows * size, phases=size)
        return out

    @implements(SamplingUnit.sample_gaussian)
    def sample_gaussian(self, mean: ArrayLike, precision_or_cov: ArrayLike, *, size: int, form: str = "cov",
                        rng: np.random.Generator | int) -> np.ndarray:
        mu, L, size, form, rng = _checks.check_gaussian(mean, precision_or_cov, size, form, rng)
        out = _checks.gaussian_draws(mu, L, size, form, rng)
        self.ledger.charge(samples=size, updates=size * mu.size, phases=size)
        return out

    @implements(SamplingUnit.sample_custom)
    def sample_custom(self, energy: Callable[[np.ndarray], ArrayLike], init: ArrayLike, *, n_steps: int,
                      beta: float, n_values: int = 2, rng: np.random.Generator | int) -> np.ndarray:
        energy, s, n_steps, beta, n_values, rng = _checks.check_custom(energy, init, n_steps, beta, n_values, rng)
        s = heat_bath_site_updates(energy, s.copy(), n_steps, beta, n_values, rng)
        self.ledger.charge(samples=s.shape[0], updates=s.shape[0] * n_steps, phases=s.shape[0] * n_steps)
        return s
