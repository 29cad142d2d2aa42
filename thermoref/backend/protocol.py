r"""The sampling-unit interface: what a device implements, what it returns, and what it is charged.

A *sampling unit* is anything that draws from a Gibbs law on request: the NumPy reference, exact
enumeration, an accelerator engine, or a chip. :class:`SamplingUnit` is the contract, a runtime-checkable
``typing.Protocol``; :class:`Ledger` is the account every unit keeps of what it drew and of the modeled
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

__all__ = ["SamplingUnit", "Ledger", "LANDAUER_300K", "BOLTZMANN_CONSTANT"]  # implements: private helper

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
    tau0 : float
        As given.
    energy_per_update : float or None
        As given.
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
        """Add one call's counts to the ledger (what a unit does at the end of every method).

        Parameters
        ----------
        samples : int
            Draws returned, >= 0.
        sweeps : int
            Chain sweeps, >= 0.
        updates : int
            Single-unit updates, >= 0.
        phases : int
            Sequential parallel-update phases, >= 0.

        Examples
        --------
        >>> from thermoref.backend import Ledger
        >>> ledger = Ledger(); ledger.charge(samples=2, updates=6, phases=3)
        >>> print(ledger.samples, ledger.updates, ledger.time)
        2 6 3.0
        """
        for name, v in (("samples", samples), ("sweeps", sweeps), ("updates", updates), ("phases", phases)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {v!r}")
        self.samples += int(samples)
        self.sweeps += int(sweeps)
        self.updates += int(updates)
        self.phases += int(phases)

    def reset(self) -> None:
        """Set every count back to zero (the cost parameters stay).

        Examples
        --------
        >>> from thermoref.backend import Ledger
        >>> ledger = Ledger(tau0=2.0); ledger.charge(phases=5); ledger.reset()
        >>> print(ledger.phases, ledger.time, ledger.tau0)
        0 0.0 2.0
        """
        self.samples = self.sweeps = self.updates = self.phases = 0


@runtime_checkable
class SamplingUnit(Protocol):
    r"""The interface a sampling unit implements: five samplers and a :class:`Ledger`.

    Every method is keyword-only after its data, takes ``rng`` (a ``numpy.random.Generator`` or an int seed),
    validates its input (``ValueError``/``TypeError`` naming the parameter) and charges ``ledger``. The
    methods' docstrings are the contract; the implementations in this package share them.

    Parameters
    ----------
    args : tuple
        None: a protocol is not instantiated; a unit implements it (``isinstance`` checks the methods).
    kwargs : dict
        None, as ``args``.

    Attributes
    ----------
    ledger : Ledger
        The unit's account of draws and modeled cost (the cost model is stated in :class:`Ledger`).

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
                     rng: np.random.Generator | int) -> np.ndarray:
        r"""Final states of ``n_samples`` independent Ising chains after ``n_sweeps`` sweeps.

        Parameters
        ----------
        J : ndarray or scipy.sparse matrix of shape (n, n)
            Couplings, symmetric with a zero diagonal (dense or sparse).
        h : array_like of shape (n,)
            Fields.
        beta : float
            Inverse temperature, finite and >= 0.
        n_sweeps : int
            Sweeps per chain, >= 0 (0 returns ``init``); a unit that draws exactly ignores it.
        n_samples : int
            Independent chains, >= 1.
        init : array_like of shape (n,) or (n_samples, n), optional
            Starting spins in {-1, +1}; ``None``: independent uniform spins drawn from ``rng``.
        rng : numpy.random.Generator or int
            Source of randomness.

        Returns
        -------
        ndarray of int8, shape (n_samples, n)
            Spins in {-1, +1}, one chain per row.

        Notes
        -----
        The target is :math:`p(s) = e^{-\beta E(s)}/Z` with :math:`E(s) = -\tfrac12 s^\top J s - h^\top s`; a
        chain reaches it as :math:`n_\text{sweeps}\to\infty`.

        References
        ----------
        Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration
        of images", IEEE PAMI 6, 721-741.

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import NumpyBackend
        >>> J = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> NumpyBackend().sample_ising(J, [0.0, 0.0], 1.0, n_sweeps=5, n_samples=3, init=[1, 1], rng=0).shape
        (3, 2)
        """
        ...

    def sample_binary(self, logits: ArrayLike, beta: float, *, rng: np.random.Generator | int) -> np.ndarray:
        r"""One independent draw of each p-bit, 1 with probability :math:`\sigma(\beta\ell)`.

        Parameters
        ----------
        logits : array_like of any shape
            Logits :math:`\ell = \ln P(1)/P(0)` at :math:`\beta = 1`, finite.
        beta : float
            Inverse temperature, finite and >= 0.
        rng : numpy.random.Generator or int
            Source of randomness.

        Returns
        -------
        ndarray of int8, shape logits.shape
            Bits in {0, 1}.

        Notes
        -----
        .. math:: P(x = 1) = \sigma(\beta\ell) = \frac{1}{1 + e^{-\beta\ell}}.

        References
        ----------
        Camsari, K. Y. et al. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

        Examples
        --------
        >>> from thermoref.backend import NumpyBackend
        >>> print(NumpyBackend().sample_binary([-50.0, 50.0], 1.0, rng=0))
        [0 1]
        """
        ...

    def sample_categorical(self, logits: ArrayLike, beta: float, size: int, *,
                           rng: np.random.Generator | int) -> np.ndarray:
        r"""``size`` independent draws per row from :math:`\mathrm{softmax}(\beta\ell)`.

        Parameters
        ----------
        logits : array_like of shape (..., n)
            Logits; ``-inf`` masks a category (not every category of a row). Any ``n``, well beyond 256.
        beta : float
            Inverse temperature, finite and >= 0.
        size : int
            Draws per row, >= 1.
        rng : numpy.random.Generator or int
            Source of randomness.

        Returns
        -------
        ndarray of int64, shape logits.shape[:-1] + (size,)
            Category indices in [0, n); a masked category is never returned.

        Notes
        -----
        .. math:: P(i) = \frac{e^{\beta\ell_i}}{\sum_j e^{\beta\ell_j}}.

        References
        ----------
        Gibbs, J. W. (1902) *Elementary Principles in Statistical Mechanics*, Yale University Press.

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import NumpyBackend
        >>> idx = NumpyBackend().sample_categorical(np.zeros((2, 1000)), 1.0, 4, rng=0)
        >>> idx.shape, idx.dtype
        ((2, 4), dtype('int64'))
        """
        ...

    def sample_gaussian(self, mean: ArrayLike, precision_or_cov: ArrayLike, *, size: int, form: str = "cov",
                        rng: np.random.Generator | int) -> np.ndarray:
        r"""``size`` independent draws of :math:`N(\mu, \Sigma)`: the continuous (Ornstein-Uhlenbeck) unit at rest.

        Parameters
        ----------
        mean : array_like of shape (n,)
            The mean :math:`\mu`.
        precision_or_cov : array_like of shape (n, n)
            :math:`\Sigma` (``form="cov"``) or :math:`\Sigma^{-1}` (``form="precision"``), symmetric positive
            definite.
        size : int
            Number of draws, >= 1.
        form : {"cov", "precision"}
            Which matrix ``precision_or_cov`` is.
        rng : numpy.random.Generator or int
            Source of randomness.

        Returns
        -------
        ndarray of float64, shape (size, n)
            The draws.

        Notes
        -----
        The stationary law of :math:`dx = -A(x - \mu)\,dt/\tau_0 + \sqrt{2/\tau_0}\,dW` with
        :math:`A = \Sigma^{-1}` is :math:`N(\mu, \Sigma)`: a thermodynamic Gaussian unit (PMODE) samples it.

        References
        ----------
        Uhlenbeck, G. E. & Ornstein, L. S. (1930) "On the theory of the Brownian motion", Phys. Rev. 36, 823.

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import NumpyBackend
        >>> x = NumpyBackend().sample_gaussian([0.0, 1.0], np.eye(2), size=5, rng=0)
        >>> x.shape, x.dtype
        ((5, 2), dtype('float64'))
        """
        ...

    def sample_custom(self, energy: Callable[[np.ndarray], ArrayLike], init: ArrayLike, *, n_steps: int,
                      beta: float, n_values: int = 2, rng: np.random.Generator | int) -> np.ndarray:
        r"""Final states of one chain per row of ``init`` for any energy over discrete states.

        Parameters
        ----------
        energy : callable
            Maps int64 states of shape (..., n) in {0, ..., n_values - 1} to real energies of shape (...).
        init : array_like of int, shape (n_chains, n)
            Starting states.
        n_steps : int
            Single-site heat-bath updates per chain, >= 0; a unit that draws exactly ignores it.
        beta : float
            Inverse temperature, finite and >= 0.
        n_values : int
            Values each site takes, >= 2.
        rng : numpy.random.Generator or int
            Source of randomness.

        Returns
        -------
        ndarray of int64, shape (n_chains, n)
            Final states.

        Notes
        -----
        The target is :math:`p(s) = e^{-\beta E(s)}/Z` over :math:`\{0, \dots, q-1\}^n`; a site is redrawn from
        :math:`P(s_i = a \mid s_{-i}) \propto e^{-\beta E(s_{i \to a})}`.

        References
        ----------
        Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration
        of images", IEEE PAMI 6, 721-741.

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import NumpyBackend
        >>> E = lambda s: -(s[..., 1:] == s[..., :-1]).sum(axis=-1) * 1.0
        >>> NumpyBackend().sample_custom(E, np.zeros((4, 3), dtype=int), n_steps=10, beta=1.0, n_values=3, rng=0).shape
        (4, 3)
        """
        ...


def implements(method: Callable) -> Callable:
    """Give an implementation of a :class:`SamplingUnit` method the interface's docstring (the contract)."""
    def wrap(f: Callable) -> Callable:
        f.__doc__ = getattr(SamplingUnit, method.__name__).__doc__
        return f
    return wrap
