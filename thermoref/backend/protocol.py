r"""The sampling-unit interface: what a device implements, what it returns, and what it is charged.

A *sampling unit* is anything that draws from a Gibbs law on request: the NumPy reference, exact
enumeration, an accelerator engine, or a chip. :class:`SamplingUnit` is the contract, a runtime-checkable
:class:`typing.Protocol`; :class:`Ledger` is the account every unit keeps of what it drew and of the modeled
physical time and energy that cost.

Conventions, fixed for every method and every backend (units :math:`k_B = 1`):

* ``beta`` is one non-negative finite float per call; laws are :math:`p \propto e^{-\beta E}`, or
  :math:`e^{\beta \ell}` for logits :math:`\ell`.
* Ising spins are ``int8`` in :math:`\{-1, +1\}`; p-bit outputs are ``int8`` in :math:`\{0, 1\}`;
  categorical draws are ``int64`` indices; Gaussian draws are ``float64``; custom states are ``int64`` in
  :math:`\{0, \dots, q-1\}`.
* ``rng`` is a ``numpy.random.Generator`` or an integer seed (SciPy's SPEC 7), required, keyword-only. The
  same seed gives the same bits; a unit never draws hidden entropy. A hardware unit that cannot be seeded
  documents it and fails the determinism check of the conformance suite, which is then a finding, not a bug
  of the suite.
* Bad input raises ``ValueError`` or ``TypeError`` whose message starts with the parameter's name.

References: Camsari, K. Y. et al. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014;
Landauer, R. (1961) "Irreversibility and heat generation in the computing process", IBM J. Res. Dev. 5, 183.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from .._validation import check_real

__all__ = ["SamplingUnit", "Ledger", "LANDAUER_300K", "BOLTZMANN_CONSTANT"]

#: Boltzmann's constant in J/K (exact in the 2019 SI).
BOLTZMANN_CONSTANT = 1.380649e-23

#: Landauer's bound :math:`k_B T \ln 2` at :math:`T = 300` K, in joules: the least heat a logically
#: irreversible bit operation dissipates (Landauer 1961). A floor, not a device figure.
LANDAUER_300K = BOLTZMANN_CONSTANT * 300.0 * math.log(2.0)


@dataclass
class Ledger:
    r"""What a sampling unit drew, and the modeled physical time and energy it cost.

    Parameters
    ----------
    tau0 : float
        Modeled time of one parallel update phase, in seconds or in units of :math:`\tau_0` (the default
        1.0 counts phases), > 0.
    energy_per_update : float, optional
        Modeled energy of one single-unit update, in joules, >= 0; ``None`` (the default) leaves energy
        unmodeled (:attr:`energy` is then ``None``). No default figure is built in: pass one with its source,
        e.g. :data:`LANDAUER_300K` as a floor.

    Attributes
    ----------
    samples : int
        Draws returned (configurations, bits, indices or vectors).
    sweeps : int
        Full sweeps of Markov chains (Ising: one per chain per sweep).
    updates : int
        Single-unit stochastic updates (one spin, bit, categorical draw or Gaussian coordinate).
    phases : int
        Sequential parallel-update phases; :attr:`time` is ``phases * tau0``.

    Notes
    -----
    The cost model, stated once for every backend (:class:`~thermoref.backend.NumpyBackend` and
    :class:`~thermoref.backend.ExactBackend` charge the same, so that ledgers compare):

    * ``sample_ising``: ``n_samples`` chains run one after another on one device; within a sweep the units
      of one colour class of a proper colouring update together, so a sweep costs :math:`c` phases for
      :math:`c` colours and :math:`n` updates.
    * ``sample_binary``: every p-bit updates at once: one phase, ``logits.size`` updates.
    * ``sample_categorical``: one categorical unit per row, rows in parallel: ``size`` phases,
      ``rows * size`` updates.
    * ``sample_gaussian``: one phase per draw (the unit is treated as already relaxed, a lower bound: an
      Ornstein-Uhlenbeck unit needs several :math:`\tau_0/\lambda_{\min}` between independent draws), ``n``
      updates per draw.
    * ``sample_custom``: one single-site update per phase per chain, chains in sequence.

    Modeled time is the device's physical time, not the wall time of the simulation.

    References
    ----------
    Landauer, R. (1961) "Irreversibility and heat generation in the computing process", IBM J. Res. Dev. 5, 183.

    Examples
    --------
    >>> from thermoref.backend import Ledger
    >>> ledger = Ledger(tau0=1e-9, energy_per_update=LANDAUER_300K)
    >>> ledger.charge(samples=4, sweeps=4, updates=40, phases=8)
    >>> print(ledger.time, f"{ledger.energy:.3e}")
    8e-09 1.148e-19
    """

    tau0: float = 1.0
    energy_per_update: float | None = None
    samples: int = field(default=0, init=False)
    sweeps: int = field(default=0, init=False)
    updates: int = field(default=0, init=False)
    phases: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.tau0 = check_real(self.tau0, "tau0", positive=True)
        if self.energy_per_update is not None:
            self.energy_per_update = check_real(self.energy_per_update, "energy_per_update", nonnegative=True)

    @property
    def time(self) -> float:
        """Modeled physical time, ``phases * tau0``."""
        return self.phases * self.tau0

    @property
    def energy(self) -> float | None:
        """Modeled energy, ``updates * energy_per_update`` (``None`` if no energy per update was given)."""
        return None if self.energy_per_update is None else self.updates * self.energy_per_update

    def charge(self, *, samples: int = 0, sweeps: int = 0, updates: int = 0, phases: int = 0) -> None:
        """Add one call's counts (non-negative integers) to the ledger."""
        for name, v in (("samples", samples), ("sweeps", sweeps), ("updates", updates), ("phases", phases)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {v!r}")
        self.samples += int(samples)
        self.sweeps += int(sweeps)
        self.updates += int(updates)
        self.phases += int(phases)

    def reset(self) -> None:
        """Set every count back to zero."""
        self.samples = self.sweeps = self.updates = self.phases = 0


@runtime_checkable
class SamplingUnit(Protocol):
    r"""The interface a sampling unit implements: five samplers and a :class:`Ledger`.

    Every method is keyword-only after its data, takes ``rng`` (a ``numpy.random.Generator`` or an int seed),
    validates its input (``ValueError``/``TypeError`` naming the parameter) and charges :attr:`ledger`.

    Methods
    -------
    sample_ising(J, h, beta, *, n_sweeps, n_samples, init=None, rng)
        ``J``: couplings of shape (n, n), dense ndarray or ``scipy.sparse`` (symmetric, zero diagonal);
        ``h``: fields (n,); the law :math:`p(s) \propto e^{-\beta E(s)}`,
        :math:`E(s) = -\tfrac12 s^\top J s - h^\top s` over :math:`s \in \{-1,+1\}^n`. Runs ``n_samples``
        independent chains for ``n_sweeps`` sweeps from ``init`` (shape (n,) or (n_samples, n), spins;
        ``None``: independent uniform spins drawn from ``rng``) and returns their final states, ``int8`` of
        shape (n_samples, n) in {-1, +1}. A unit that draws exactly (``ExactBackend``) returns the
        :math:`n_\text{sweeps} \to \infty` law.
    sample_binary(logits, beta, *, rng)
        Independent p-bits: ``int8`` of ``logits.shape`` in {0, 1}, :math:`P(x=1) = \sigma(\beta\ell)`.
    sample_categorical(logits, beta, size, *, rng)
        ``size`` independent draws per row of logits (..., n) from :math:`\mathrm{softmax}(\beta\ell)`;
        ``-inf`` masks a category (a fully masked row is an error). ``int64`` of shape
        ``logits.shape[:-1] + (size,)``; any ``n`` (well beyond 256).
    sample_gaussian(mean, precision_or_cov, *, size, form="cov", rng)
        ``size`` independent draws of :math:`N(\mu, \Sigma)` in dimension n, ``float64`` of shape (size, n);
        ``precision_or_cov`` is :math:`\Sigma` (``form="cov"``) or :math:`\Sigma^{-1}` (``form="precision"``),
        symmetric positive definite. The law of the continuous (Ornstein-Uhlenbeck, PMODE) unit at rest.
    sample_custom(energy, init, *, n_steps, beta, n_values=2, rng)
        A generic energy over discrete states: ``energy`` maps int64 states (..., n) in
        {0, ..., n_values - 1} to float energies (...). Runs one chain per row of ``init`` (n_chains, n) for
        ``n_steps`` single-site heat-bath updates and returns ``int64`` states (n_chains, n).

    Notes
    -----
    The target laws are exact statements: :math:`p(s) = e^{-\beta E(s)}/Z`, :math:`P(x=1)=1/(1+e^{-\beta\ell})`,
    :math:`P(i) = e^{\beta\ell_i}/\sum_j e^{\beta\ell_j}` and :math:`N(\mu, \Sigma)`. The conformance suite
    (:func:`thermoref.backend.run_conformance`) checks a unit against them.

    References
    ----------
    Camsari, K. Y. et al. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

    Examples
    --------
    >>> from thermoref.backend import NumpyBackend, SamplingUnit
    >>> isinstance(NumpyBackend(), SamplingUnit)
    True
    """

    ledger: Ledger

    def sample_ising(self, J: np.ndarray | sparse.sparray, h: ArrayLike, beta: float, *, n_sweeps: int,
                     n_samples: int, init: ArrayLike | None = None,
                     rng: np.random.Generator | int) -> np.ndarray: ...

    def sample_binary(self, logits: ArrayLike, beta: float, *, rng: np.random.Generator | int) -> np.ndarray: ...

    def sample_categorical(self, logits: ArrayLike, beta: float, size: int, *,
                           rng: np.random.Generator | int) -> np.ndarray: ...

    def sample_gaussian(self, mean: ArrayLike, precision_or_cov: ArrayLike, *, size: int, form: str = "cov",
                        rng: np.random.Generator | int) -> np.ndarray: ...

    def sample_custom(self, energy: Callable[[np.ndarray], ArrayLike], init: ArrayLike, *, n_steps: int,
                      beta: float, n_values: int = 2, rng: np.random.Generator | int) -> np.ndarray: ...
