r"""The exact sampling unit: :class:`ExactBackend` draws independently from laws computed exactly.

Ising and custom laws come from enumerating every state (at most :data:`MAX_EXACT_STATES`); the p-bit,
categorical and Gaussian laws from their closed forms. No Markov chain is involved, so its draws are exactly
independent and exactly distributed; it is the yardstick the conformance suite holds other units to.

References: Ising, E. (1925) Z. Phys. 31, 253; Gibbs, J. W. (1902) *Elementary Principles in Statistical
Mechanics*, Yale University Press.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse, special

from ..gibbs import boltzmann
from ..ising._chromatic import greedy_colouring
from ..ising.model import _enumerate_law
from .._validation import check_positive_int
from . import _checks
from .protocol import Ledger, SamplingUnit, implements
from .reference import NumpyBackend

__all__ = ["ExactBackend", "SystemTooLargeError", "MAX_EXACT_STATES"]

#: The largest state space :class:`ExactBackend` enumerates (2**20: 20 spins, or 5 sites of 16 values).
MAX_EXACT_STATES = 2**20


class SystemTooLargeError(ValueError):
    """A system with more states than :class:`ExactBackend` enumerates, refused before any work.

    A ``ValueError`` whose message starts with the argument that set the size (``J`` or ``init``).

    Attributes
    ----------
    args : tuple of str
        The message.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend import ExactBackend, SystemTooLargeError
    >>> try:
    ...     ExactBackend(max_states=4).sample_ising(np.zeros((3, 3)), np.zeros(3), 1.0, n_sweeps=0, n_samples=1, rng=0)
    ... except SystemTooLargeError as err:
    ...     print(err)
    J: a model of 3 spins has 8 states; ExactBackend enumerates at most max_states=4
    """


def _inverse_cdf_rows(p: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws (R, size) from each row of laws p (R, n) by one global ``searchsorted``.

    Row r's CDF is shifted by r so one sorted array holds every row; a category of probability zero is never
    returned (``side="right"``), and resolution is that of float64 at magnitude R.
    """
    R, n = p.shape
    cdf = np.cumsum(p, axis=1)  # (R, n)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    offset = np.arange(R, dtype=np.float64)[:, None]  # (R, 1)
    u = rng.random((R, size))  # (R, size)
    flat = np.searchsorted((cdf + offset).ravel(), (u + offset).ravel(), side="right")  # (R*size,)
    idx = flat.reshape(R, size) - np.arange(R)[:, None] * n
    return np.minimum(idx, n - 1).astype(np.int64)


class ExactBackend:
    r"""A sampling unit that draws independently from the exact law: enumeration and closed forms.

    Parameters
    ----------
    tau0 : float
        Modeled time of one parallel update phase, > 0 (the ledger charges what the device it stands for
        would; see :class:`Ledger`).
    energy_per_update : float, optional
        Modeled energy of one single-unit update in joules (``None``: not modeled).
    max_states : int
        Largest state space enumerated, at most :data:`MAX_EXACT_STATES`; larger systems raise
        :class:`SystemTooLargeError` (a ``ValueError`` naming the argument) before any work.

    Attributes
    ----------
    ledger : Ledger
        What was drawn and its modeled cost.

    Notes
    -----
    ``sample_ising`` returns independent draws of :math:`p(s) = e^{-\beta E(s)}/Z` over all :math:`2^n`
    states, the :math:`n_\text{sweeps}\to\infty` limit of any correct chain (``init`` and ``n_sweeps`` are
    validated, then irrelevant). ``sample_custom`` does the same over :math:`q^n` states. Draws use
    ``rng.choice`` and a vectorized inverse CDF, code paths independent of the package's samplers.

    References
    ----------
    Gibbs, J. W. (1902) *Elementary Principles in Statistical Mechanics*, Yale University Press.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.backend import ExactBackend
    >>> unit = ExactBackend()
    >>> s = unit.sample_ising(np.array([[0.0, 1.0], [1.0, 0.0]]), [0.0, 0.0], 2.0, n_sweeps=0, n_samples=5, rng=0)
    >>> print(s.tolist())
    [[1, 1], [-1, -1], [-1, -1], [-1, -1], [1, 1]]
    """

    def __init__(self, *, tau0: float = 1.0, energy_per_update: float | None = None,
                 max_states: int = MAX_EXACT_STATES) -> None:
        self.ledger = Ledger(tau0, energy_per_update)
        self.max_states = check_positive_int(max_states, "max_states", minimum=2)
        if self.max_states > MAX_EXACT_STATES:
            raise ValueError(f"max_states: at most {MAX_EXACT_STATES}, got {self.max_states}")

    def __repr__(self) -> str:
        return f"ExactBackend(tau0={self.ledger.tau0!r}, max_states={self.max_states!r})"

    def _refuse(self, n_states: int, name: str, what: str) -> None:
        if n_states > self.max_states:
            raise SystemTooLargeError(f"{name}: {what} has {n_states:.4g} states; ExactBackend enumerates at most "
                                      f"max_states={self.max_states}")

    @implements(SamplingUnit.sample_ising)
    def sample_ising(self, J: np.ndarray | sparse.sparray, h: ArrayLike, beta: float, *, n_sweeps: int,
                     n_samples: int, init: ArrayLike | None = None, rng: np.random.Generator | int) -> np.ndarray:
        model, beta, n_sweeps, n_samples, _, rng = _checks.check_ising(J, h, beta, n_sweeps, n_samples, init, rng)
        self._refuse(2.0**model.n, "J", f"a model of {model.n} spins")
        law = _enumerate_law(model.J, model.h, beta, (-1, 1))
        out = law.states[rng.choice(law.p.size, size=n_samples, p=law.p)]  # (n_samples, n)
        n_colours = int(greedy_colouring(model.J).max()) + 1
        self.ledger.charge(samples=n_samples, sweeps=n_samples * n_sweeps, updates=n_samples * n_sweeps * model.n,
                           phases=n_samples * n_sweeps * n_colours)
        return out

    @implements(SamplingUnit.sample_binary)
    def sample_binary(self, logits: ArrayLike, beta: float, *, rng: np.random.Generator | int) -> np.ndarray:
        z, beta, rng = _checks.check_binary(logits, beta, rng)
        with np.errstate(over="ignore"):  # beta * z = +-inf at huge beta: sigma is then exactly 0 or 1
            p = special.expit(beta * z)
        out = (rng.random(z.shape) < p).astype(np.int8)
        self.ledger.charge(samples=z.size, updates=z.size, phases=1)
        return out

    @implements(SamplingUnit.sample_categorical)
    def sample_categorical(self, logits: ArrayLike, beta: float, size: int, *,
                           rng: np.random.Generator | int) -> np.ndarray:
        z, top, beta, size, rng = _checks.check_categorical(logits, beta, size, rng)
        with np.errstate(invalid="ignore", over="ignore"):  # 0 * -inf masked below; huge beta: -inf is weight 0
            x = np.where(np.isneginf(z), -np.inf, beta * (z - top[..., None]))  # (..., n), max 0
        p = np.exp(x.reshape(-1, z.shape[-1]))  # (R, n)
        out = _inverse_cdf_rows(p, size, rng).reshape(z.shape[:-1] + (size,))
        self.ledger.charge(samples=out.size, updates=out.size, phases=size)
        return out

    # the Gaussian law is exact in closed form (a Cholesky factor); one implementation serves both units
    sample_gaussian = NumpyBackend.sample_gaussian

    @implements(SamplingUnit.sample_custom)
    def sample_custom(self, energy: Callable[[np.ndarray], ArrayLike], init: ArrayLike, *, n_steps: int,
                      beta: float, n_values: int = 2, rng: np.random.Generator | int) -> np.ndarray:
        energy, s, n_steps, beta, n_values, rng = _checks.check_custom(energy, init, n_steps, beta, n_values, rng)
        n = s.shape[1]
        self._refuse(float(n_values) ** n, "init", f"a system of {n} sites with {n_values} values each")
        states = np.stack(np.unravel_index(np.arange(n_values**n), (n_values,) * n), axis=-1)  # (q**n, n)
        E = _checks.call_energy(energy, states)  # (q**n,)
        p = boltzmann(E, np.inf if beta == 0 else 1.0 / beta)
        out = states[rng.choice(p.size, size=s.shape[0], p=p)].astype(np.int64)
        self.ledger.charge(samples=s.shape[0], updates=s.shape[0] * n_steps, phases=s.shape[0] * n_steps)
        return out
