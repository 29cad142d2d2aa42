r"""The accelerator path: :class:`ThrmlBackend`, the sampling unit interface run by the JAX library ``thrml``.

``thrml`` (Extropic, JAX) runs block Gibbs sampling of probabilistic graphical models, compiled by XLA for
CPUs, GPUs and TPUs. This adapter puts it behind :class:`~thermoref.backend.SamplingUnit`, so that a model
checked on the NumPy reference runs unchanged on an accelerator and passes the same conformance suite.

``thrml`` and JAX are optional: ``pip install thermoref[thrml]`` installs them (pinned versions). Importing
:mod:`thermoref.backend` never imports JAX; constructing a :class:`ThrmlBackend` does, and raises
``ModuleNotFoundError`` naming the install command where they are missing.

References: Extropic (2025) "thrml: thermodynamic hypergraphical model library", https://github.com/extropic-ai/thrml;
Geman, S. & Geman, D. (1984) IEEE PAMI 6, 721; Bradbury, J. et al. (2018) "JAX: composable transformations of
Python+NumPy programs", http://github.com/jax-ml/jax.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from ..ising._chromatic import greedy_colouring
from . import _checks
from .protocol import Ledger
from .reference import heat_bath_site_updates

__all__ = ["ThrmlBackend", "INSTALL_HINT"]

#: The command that installs the optional dependencies of :class:`ThrmlBackend` (thrml and a pinned JAX).
INSTALL_HINT = "pip install 'thermoref[thrml]'"

_CACHE_SIZE = 4  # compiled models kept per backend (a sweep over beta reuses one structure)
_FIELD_CAP = np.finfo(np.float64).max / 8  # largest |beta * local field| handed to thrml (no inf * 0 = NaN)
_JAX: dict[str, Any] = {}  # the lazily imported modules and jitted kernels, shared by every instance


def _load() -> dict[str, Any]:
    """Import thrml and JAX once and build the jitted kernels; ``ModuleNotFoundError`` with the install hint."""
    if _JAX:
        return _JAX
    try:
        import equinox as eqx
        import jax
        import jax.numpy as jnp
        import thrml
        from jax.scipy.linalg import solve_triangular
        from thrml.models import SpinEBMFactor, SpinGibbsConditional
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"ThrmlBackend needs the optional dependencies thrml and JAX ({exc.name} is missing): {INSTALL_HINT}",
            name=exc.name) from None

    @eqx.filter_jit
    def ising(program, keys, init, n_sweeps):  # one chain per key, n_sweeps block Gibbs sweeps each
        def chain(key, state):
            def sweep(_, carry):
                st, k = carry
                k, sub = jax.random.split(k)
                st, _ = thrml.sample_blocks(sub, list(st), [], program, [None] * len(st))
                return st, k
            return jax.lax.fori_loop(0, n_sweeps, sweep, (state, key))[0]
        return jax.vmap(chain)(keys, init)

    @jax.jit
    def binary(key, logits, beta):
        return jax.random.bernoulli(key, jax.nn.sigmoid(beta * logits))

    def categorical(key, logits, top, beta, size):
        masked = jnp.isneginf(logits)  # (R, n)
        scaled = jnp.where(masked, -jnp.inf, beta * jnp.where(masked, 0.0, logits - top))  # <= 0, max 0
        cdf = jnp.cumsum(jnp.exp(scaled), axis=-1)  # (R, n), each row's last entry >= 1
        u = jax.random.uniform(key, (logits.shape[0], size), dtype=cdf.dtype) * cdf[:, -1:]  # (R, size)
        idx = jax.vmap(lambda c, v: jnp.searchsorted(c, v, side="right"))(cdf, u)  # (R, size)
        last = logits.shape[-1] - 1 - jnp.argmax(~masked[:, ::-1], axis=-1)  # last unmasked category per row
        return jnp.minimum(idx, last[:, None])

    def gaussian(key, mu, L, size, precision):
        z = jax.random.normal(key, (size, mu.shape[0]), dtype=mu.dtype)  # (size, n)
        if precision:
            return mu + solve_triangular(L, z.T, lower=True, trans="T").T
        return mu + z @ L.T

    def scaled(program, b):  # the program of beta * (h, J): every float leaf is a (padded, gathered) weight
        return jax.tree_util.tree_map(
            lambda x: x * b if eqx.is_array(x) and jnp.issubdtype(x.dtype, jnp.floating) else x, program,
            is_leaf=eqx.is_array)

    _JAX.update(jax=jax, jnp=jnp, thrml=thrml, SpinEBMFactor=SpinEBMFactor, scaled=scaled,
                SpinGibbsConditional=SpinGibbsConditional, ising=ising, binary=binary,
                categorical=jax.jit(categorical, static_argnames="size"),
                gaussian=jax.jit(gaussian, static_argnames=("size", "precision")))
    return _JAX


def _key(rng: np.random.Generator, m: dict[str, Any]):
    """A threefry JAX key from 64 bits drawn from ``rng`` (same seed, same key)."""
    words = rng.integers(0, 2**32, size=2, dtype=np.uint64).astype(np.uint32)
    return m["jax"].random.wrap_key_data(m["jnp"].asarray(words), impl="threefry2x32")


def _edges(J: np.ndarray | sparse.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle couplings ``(i, j, J_ij)``, ``i < j``, ``J_ij != 0``, each edge once, in row-major order.

    The order does not depend on the storage, so a dense and a sparse ``J`` build the same program (same bits).
    """
    if sparse.issparse(J):
        T = sparse.coo_array(sparse.triu(J, k=1))
        keep = T.data != 0
        i, j, w = T.row[keep].astype(np.int64), T.col[keep].astype(np.int64), T.data[keep].astype(np.float64)
        order = np.lexsort((j, i))
        return i[order], j[order], w[order]
    i, j = np.nonzero(np.triu(J, k=1))
    return i.astype(np.int64), j.astype(np.int64), J[i, j].astype(np.float64)


def _max_field(J: np.ndarray | sparse.csr_array, h: np.ndarray) -> float:
    r"""The largest possible local field :math:`\max_i \sum_j |J_{ij}| + |h_i|` (finite: IsingModel bounds it)."""
    rows = np.asarray(abs(J).sum(axis=1)).ravel()  # (n,)
    return float(np.max(rows + np.abs(h)))


class _Structure:
    """thrml's nodes and colour blocks of one coupling graph and colouring (built once, reused across beta)."""

    def __init__(self, n: int, i: np.ndarray, j: np.ndarray, colours: np.ndarray, m: dict[str, Any]) -> None:
        jax, thrml = m["jax"], m["thrml"]
        self.nodes = [thrml.SpinNode() for _ in range(n)]
        self.members = [np.flatnonzero(colours == c) for c in range(int(colours.max()) + 1)]  # per block
        self.blocks = [thrml.Block([self.nodes[k] for k in idx]) for idx in self.members]
        self.order = np.concatenate(self.members)  # (n,) site of each column of the concatenated blocks
        self.heads = thrml.Block([self.nodes[k] for k in i])
        self.tails = thrml.Block([self.nodes[k] for k in j])
        self.all = thrml.Block(self.nodes)
        self.spec = thrml.BlockGibbsSpec(self.blocks, [], {thrml.SpinNode: jax.ShapeDtypeStruct((), m["jnp"].bool_)})

    def program(self, bias: np.ndarray, weight: np.ndarray, m: dict[str, Any]):
        """The block Gibbs program of ``IsingEBM`` with these (already beta-scaled) biases and edge weights."""
        jnp = m["jnp"]
        factors = [m["SpinEBMFactor"]([self.all], jnp.asarray(bias))]
        if weight.size:
            factors.append(m["SpinEBMFactor"]([self.heads, self.tails], jnp.asarray(weight)))
        samplers = [m["SpinGibbsConditional"]() for _ in self.blocks]
        return m["thrml"].FactorSamplingProgram(self.spec, samplers, factors, [])


class ThrmlBackend:
    r"""A sampling unit run by ``thrml`` (JAX block Gibbs): the accelerator path behind the same interface.

    Parameters
    ----------
    tau0 : float
        Modeled time of one parallel update phase (seconds, or 1.0 to count phases), > 0.
    energy_per_update : float, optional
        Modeled energy of one single-unit update in joules (``None``: not modeled); see
        :class:`~thermoref.backend.Ledger`.

    Attributes
    ----------
    ledger : Ledger
        Counts of draws, sweeps, updates and phases, charged exactly as
        :class:`~thermoref.backend.NumpyBackend` charges them (the same cost model, so ledgers compare).

    Notes
    -----
    What runs where:

    * ``sample_ising``: **thrml**. The model :math:`E(s) = -\tfrac12 s^\top J s - h^\top s` becomes thrml's
      ``IsingEBM`` factors (a bias :math:`\beta h_i` per spin, a weight :math:`\beta J_{ij}` per edge
      :math:`i<j`, dense or sparse ``J``), the colour classes of :func:`thermoref.ising.greedy_colouring` its
      free blocks, and ``thrml.sample_blocks`` with ``SpinGibbsConditional`` updates each block from
      :math:`P(s_i=+1\mid s_{-i}) = \sigma(2\beta\phi_i)`, :math:`\phi_i=\sum_j J_{ij}s_j+h_i` (the same
      chain as the NumPy reference, with JAX's threefry bits). Chains run under ``jax.vmap``, sweeps under
      ``jax.lax.fori_loop``, compiled once per coupling graph and number of chains (changing ``beta``, ``h``,
      the couplings' values or ``n_sweeps`` reuses the compiled program); thrml's program object is built
      once per model and scaled by :math:`\beta` per call, so an annealing schedule of one call per sweep does
      not rebuild it.
    * ``sample_binary``: JAX, ``jax.random.bernoulli`` with :math:`p=\sigma(\beta\ell)` (what thrml's
      ``BernoulliConditional`` does for one unit; a graph of independent units needs no program).
    * ``sample_categorical``: JAX, inverse CDF of :math:`\mathrm{softmax}(\beta\ell)` by ``searchsorted``,
      int64 indices. thrml's ``CategoricalNode`` stores states as ``uint8`` by default, which cannot hold more
      than 256 categories; it is not used.
    * ``sample_gaussian``: JAX, :math:`x=\mu+Lz` (or :math:`\mu+L^{-\top}z` for a precision) with the
      Cholesky factor from the shared checks and ``jax.random.normal``; thrml has no Gaussian node.
    * ``sample_custom``: the NumPy reference's random-scan heat bath (an arbitrary Python energy cannot be
      traced by JAX; in thrml it would have to be rewritten as factors), drawing from ``rng`` itself.

    Precision: every JAX computation runs in float64 inside ``jax.enable_x64(True)`` (scoped to the call).
    Randomness: each call draws 64 bits from ``rng`` and makes a threefry key of them, so the same seed gives
    the same bits; a flawed ``random`` method of the Generator therefore does not reach thrml's draws (only
    ``sample_custom``'s). At very large :math:`\beta`, :math:`\beta` is capped where
    :math:`\beta\max_i(\sum_j|J_{ij}|+|h_i|)` reaches ``float64 max / 8``: the conditionals are then 0, 1/2 or
    1 to float64 precision, the :math:`\beta\to\infty` limit, and no ``inf * 0`` reaches thrml's padded sums.

    References
    ----------
    Extropic (2025) "thrml: thermodynamic hypergraphical model library", https://github.com/extropic-ai/thrml.
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741.

    Examples
    --------
    The examples need thrml (``pip install 'thermoref[thrml]'``); ``tests/test_backend_thrml.py`` runs them.

    >>> import numpy as np
    >>> from thermoref.backend import ThrmlBackend
    >>> unit = ThrmlBackend()  # doctest: +SKIP
    >>> ring = np.roll(np.eye(6), 1, axis=1); ring = ring + ring.T
    >>> s = unit.sample_ising(ring, np.zeros(6), 0.5, n_sweeps=10, n_samples=3, init=np.ones(6), rng=0)  # doctest: +SKIP
    >>> s.shape, s.dtype, unit.ledger.sweeps, unit.ledger.phases  # doctest: +SKIP
    ((3, 6), dtype('int8'), 30, 60)
    """

    def __init__(self, *, tau0: float = 1.0, energy_per_update: float | None = None) -> None:
        self.ledger = Ledger(tau0, energy_per_update)
        self._m = _load()
        self._structures: OrderedDict = OrderedDict()
        self._programs: OrderedDict = OrderedDict()

    def __repr__(self) -> str:
        return f"ThrmlBackend(tau0={self.ledger.tau0!r}, energy_per_update={self.ledger.energy_per_update!r})"

    def _cached(self, cache: OrderedDict, key: tuple, build: Callable[[], Any]) -> Any:
        """Least-recently-used cache of at most ``_CACHE_SIZE`` entries."""
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        cache[key] = value = build()
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
        return value

    def sample_ising(self, J: np.ndarray | sparse.sparray, h: ArrayLike, beta: float, *, n_sweeps: int,
                     n_samples: int, init: ArrayLike | None = None, rng: np.random.Generator | int) -> np.ndarray:
        r"""Final spins of independent block Gibbs chains run by thrml.

        Parameters
        ----------
        J : ndarray or scipy.sparse array of shape (n, n)
            Couplings, symmetric with zero diagonal.
        h : array_like of shape (n,)
            Fields.
        beta : float
            Inverse temperature, finite, >= 0.
        n_sweeps : int
            Sweeps per chain, >= 0 (0 returns the initial spins).
        n_samples : int
            Independent chains, >= 1.
        init : array_like of shape (n,) or (n_samples, n), optional
            Initial spins in {-1, +1}; ``None`` draws independent uniform spins from ``rng``.
        rng : numpy.random.Generator or int
            Source of the initial spins and of the 64-bit seed of JAX's key.

        Returns
        -------
        ndarray of int8, shape (n_samples, n)
            Spins in {-1, +1}.

        Notes
        -----
        Each sweep updates the colour blocks in order, unit :math:`i` to :math:`+1` with probability
        :math:`\sigma(2\beta\phi_i)`, :math:`\phi_i = \sum_j J_{ij}s_j + h_i`; the chain leaves
        :math:`e^{-\beta E}/Z` invariant.

        References
        ----------
        Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration
        of images", IEEE PAMI 6, 721-741.

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import ThrmlBackend
        >>> pair = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> s = ThrmlBackend().sample_ising(pair, np.zeros(2), 3.0, n_sweeps=20, n_samples=500, rng=1)  # doctest: +SKIP
        >>> print(bool(np.mean(s[:, 0] == s[:, 1]) > 0.95))  # doctest: +SKIP
        True
        """
        model, beta, n_sweeps, n_samples, s, rng = _checks.check_ising(J, h, beta, n_sweeps, n_samples, init, rng)
        if s is None:
            s = (2 * rng.integers(0, 2, size=(n_samples, model.n)) - 1).astype(np.int8)  # uniform spins
        colours = greedy_colouring(model.J)
        self.ledger.charge(samples=n_samples, sweeps=n_samples * n_sweeps, updates=n_samples * n_sweeps * model.n,
                           phases=n_samples * n_sweeps * (int(colours.max()) + 1))
        if n_sweeps == 0:
            return np.array(s, dtype=np.int8)
        m = self._m
        i, j, w = _edges(model.J)
        field = _max_field(model.J, model.h)
        b = beta if field == 0.0 else min(beta, _FIELD_CAP / field)
        key = _key(rng, m)
        with m["jax"].enable_x64(True):
            skey = (model.n, i.tobytes(), j.tobytes(), colours.tobytes())
            st = self._cached(self._structures, skey, lambda: _Structure(model.n, i, j, colours, m))
            # thrml builds a program from beta-scaled factors; building it costs far more than a sweep, so the
            # program of (h, J) is built once and scaled by beta (bit-identical: each float leaf of the program is
            # a padded gather of the weights, and b * gather(x) == gather(b * x) elementwise)
            prog = m["scaled"](self._cached(self._programs, (skey, model.h.tobytes(), w.tobytes()),
                                            lambda: st.program(model.h, w, m)), b)
            init_blocks = [m["jnp"].asarray(s[:, idx] > 0) for idx in st.members]  # bool, True = +1
            keys = m["jax"].random.split(key, n_samples)
            out = m["ising"](prog, keys, init_blocks, m["jnp"].asarray(n_sweeps))
            cols = np.concatenate([np.asarray(x) for x in out], axis=1)  # (n_samples, n) in block order
        spins = np.empty((n_samples, model.n), dtype=np.int8)
        spins[:, st.order] = np.where(cols, 1, -1)
        return spins

    def sample_binary(self, logits: ArrayLike, beta: float, *, rng: np.random.Generator | int) -> np.ndarray:
        r"""Independent p-bits in {0, 1} drawn by JAX.

        Parameters
        ----------
        logits : array_like of shape (...)
            Finite logits :math:`\ell`.
        beta : float
            Inverse temperature, finite, >= 0.
        rng : numpy.random.Generator or int
            Source of the 64-bit seed of JAX's key.

        Returns
        -------
        ndarray of int8, shape logits.shape
            Bits in {0, 1}.

        Notes
        -----
        :math:`P(x = 1) = \sigma(\beta\ell) = 1/(1 + e^{-\beta\ell})`, by ``jax.random.bernoulli``.

        References
        ----------
        Camsari, K. Y. et al. (2017) "Stochastic p-bits for invertible logic", Phys. Rev. X 7, 031014.

        Examples
        --------
        >>> from thermoref.backend import ThrmlBackend
        >>> print(ThrmlBackend().sample_binary([-50.0, 50.0], 1.0, rng=0))  # doctest: +SKIP
        [0 1]
        """
        z, beta, rng = _checks.check_binary(logits, beta, rng)
        self.ledger.charge(samples=z.size, updates=z.size, phases=1)
        if z.size == 0:
            return np.zeros(z.shape, dtype=np.int8)
        m = self._m
        key = _key(rng, m)
        with m["jax"].enable_x64(True):
            out = np.asarray(m["binary"](key, m["jnp"].asarray(z), m["jnp"].asarray(beta)))
        return out.astype(np.int8)

    def sample_categorical(self, logits: ArrayLike, beta: float, size: int, *,
                           rng: np.random.Generator | int) -> np.ndarray:
        r"""``size`` independent draws per row of logits from their softmax, drawn by JAX.

        Parameters
        ----------
        logits : array_like of shape (..., n)
            Logits, ``-inf`` masks a category (not a whole row).
        beta : float
            Inverse temperature, finite, >= 0.
        size : int
            Draws per row, >= 1.
        rng : numpy.random.Generator or int
            Source of the 64-bit seed of JAX's key.

        Returns
        -------
        ndarray of int64, shape logits.shape[:-1] + (size,)
            Category indices in [0, n).

        Notes
        -----
        :math:`P(i) = e^{\beta\ell_i}/\sum_j e^{\beta\ell_j}`, by the inverse CDF of the weights
        :math:`e^{\beta(\ell_i - \max\ell)}` (at most 1, masked ones 0, never drawn), for any ``n``.

        References
        ----------
        Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, ch. III.2 (inversion).

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import ThrmlBackend
        >>> logits = np.full(1000, -np.inf); logits[700] = 0.0
        >>> print(ThrmlBackend().sample_categorical(logits, 1.0, 3, rng=0))  # doctest: +SKIP
        [700 700 700]
        """
        z, top, beta, size, rng = _checks.check_categorical(logits, beta, size, rng)
        rows = int(np.prod(z.shape[:-1], dtype=np.int64))
        self.ledger.charge(samples=rows * size, updates=rows * size, phases=size)
        if rows == 0:
            return np.zeros(z.shape[:-1] + (size,), dtype=np.int64)
        m = self._m
        key = _key(rng, m)
        z2 = z.reshape(rows, z.shape[-1])
        top2 = np.asarray(top, dtype=np.float64).reshape(rows, 1)
        with m["jax"].enable_x64(True):
            jnp = m["jnp"]
            idx = m["categorical"](key, jnp.asarray(z2), jnp.asarray(top2), jnp.asarray(beta), size=size)
            out = np.asarray(idx).astype(np.int64)
        return out.reshape(z.shape[:-1] + (size,))

    def sample_gaussian(self, mean: ArrayLike, precision_or_cov: ArrayLike, *, size: int, form: str = "cov",
                        rng: np.random.Generator | int) -> np.ndarray:
        r"""``size`` independent draws of a multivariate normal law, drawn by JAX.

        Parameters
        ----------
        mean : array_like of shape (n,)
            Mean :math:`\mu`.
        precision_or_cov : array_like of shape (n, n)
            :math:`\Sigma` (``form="cov"``) or :math:`\Sigma^{-1}` (``form="precision"``), symmetric positive
            definite.
        size : int
            Draws, >= 1.
        form : str
            ``"cov"`` or ``"precision"``.
        rng : numpy.random.Generator or int
            Source of the 64-bit seed of JAX's key.

        Returns
        -------
        ndarray of float64, shape (size, n)

        Notes
        -----
        With :math:`\Sigma = LL^\top`, :math:`x = \mu + Lz`; with :math:`\Sigma^{-1} = LL^\top`,
        :math:`x = \mu + L^{-\top}z`, :math:`z \sim N(0, I)` from ``jax.random.normal``: the law of the
        Ornstein-Uhlenbeck unit at rest.

        References
        ----------
        Gardiner, C. W. (2009) *Stochastic Methods*, 4th ed., Springer, sec. 3.8.4 (the Ornstein-Uhlenbeck process).

        Examples
        --------
        >>> from thermoref.backend import ThrmlBackend
        >>> x = ThrmlBackend().sample_gaussian([1.0, -1.0], [[1.0, 0.0], [0.0, 4.0]], size=4, rng=0)  # doctest: +SKIP
        >>> x.shape, x.dtype  # doctest: +SKIP
        ((4, 2), dtype('float64'))
        """
        mu, L, size, form, rng = _checks.check_gaussian(mean, precision_or_cov, size, form, rng)
        self.ledger.charge(samples=size, updates=size * mu.size, phases=size)
        m = self._m
        key = _key(rng, m)
        with m["jax"].enable_x64(True):
            jnp = m["jnp"]
            out = m["gaussian"](key, jnp.asarray(mu), jnp.asarray(L), size=size, precision=form == "precision")
            return np.array(out, dtype=np.float64)

    def sample_custom(self, energy: Callable[[np.ndarray], ArrayLike], init: ArrayLike, *, n_steps: int,
                      beta: float, n_values: int = 2, rng: np.random.Generator | int) -> np.ndarray:
        r"""Final states of random-scan heat-bath chains for any energy (the NumPy reference's kernel).

        Parameters
        ----------
        energy : callable
            Maps int64 states of shape (..., n) to real energies of shape (...).
        init : array_like of int, shape (n_chains, n)
            Initial states in {0, ..., n_values - 1}.
        n_steps : int
            Single-site updates per chain, >= 0.
        beta : float
            Inverse temperature, finite, >= 0.
        n_values : int
            States per site, >= 2.
        rng : numpy.random.Generator or int
            Source of randomness (drawn from directly).

        Returns
        -------
        ndarray of int64, shape (n_chains, n)

        Notes
        -----
        A uniformly chosen site per chain per step is redrawn from
        :math:`P(s_i = a \mid s_{-i}) \propto e^{-\beta E(s_{i \to a})}`. A Python energy cannot be compiled by
        JAX, so this runs the NumPy reference's kernel (same bits as
        :class:`~thermoref.backend.NumpyBackend`).

        References
        ----------
        Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration
        of images", IEEE PAMI 6, 721-741.

        Examples
        --------
        >>> import numpy as np
        >>> from thermoref.backend import ThrmlBackend
        >>> flat = lambda s: np.zeros(s.shape[:-1])
        >>> ThrmlBackend().sample_custom(flat, np.zeros((2, 3), dtype=int), n_steps=5, beta=1.0, rng=0).shape  # doctest: +SKIP
        (2, 3)
        """
        energy, s, n_steps, beta, n_values, rng = _checks.check_custom(energy, init, n_steps, beta, n_values, rng)
        s = heat_bath_site_updates(energy, s.copy(), n_steps, beta, n_values, rng)
        self.ledger.charge(samples=s.shape[0], updates=s.shape[0] * n_steps, phases=s.shape[0] * n_steps)
        return s
