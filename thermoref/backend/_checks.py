"""Argument validation shared by every sampling unit, so that every backend refuses the same input the same way.

Each ``check_*`` validates one method's arguments of :class:`~thermoref.backend.SamplingUnit` and returns them
normalized; backends call it first, then trust the values.
"""

from __future__ import annotations

import numbers
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from .._validation import (
    as_float_array,
    as_logits_with_max,
    as_rng,
    check_allocation,
    check_beta,
    check_callable,
    check_positive_int,
    check_returned,
    check_work,
)
from ..ising.model import IsingModel, _check_spins

FORMS = ("cov", "precision")


def _count(n: object, name: str) -> int:
    """A non-negative Python integer (``n_sweeps``, ``n_steps``)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: expected a non-negative integer, got {type(n).__name__}")
    if int(n) < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {int(n)}")
    return int(n)


def check_ising(J: object, h: object, beta: object, n_sweeps: object, n_samples: object, init: object,
                rng: object) -> tuple[IsingModel, float, int, int, np.ndarray | None, np.random.Generator]:
    """The validated model, beta, n_sweeps, n_samples, init (int8 (n_samples, n) or None) and Generator."""
    model = IsingModel(J, h)
    beta = check_beta(beta, scalar=True)
    n_sweeps = _count(n_sweeps, "n_sweeps")
    n_samples = check_positive_int(n_samples, "n_samples")
    check_allocation((n_samples, model.n), "n_samples", itemsize=8)
    check_work(n_samples * max(n_sweeps, 1) * model.n, "n_sweeps")
    if init is not None:
        s = _check_spins(init, model.n, "init")
        if s.ndim == 1:
            s = np.broadcast_to(s, (n_samples, model.n))
        elif s.shape != (n_samples, model.n):
            raise ValueError(f"init: expected shape ({model.n},) or ({n_samples}, {model.n}), got {s.shape}")
        init = np.array(s, dtype=np.int8)
    return model, beta, n_sweeps, n_samples, init, as_rng(rng)


def check_binary(logits: object, beta: object, rng: object) -> tuple[np.ndarray, float, np.random.Generator]:
    """Logits (any shape, finite), beta and Generator."""
    z = as_float_array(logits, "logits")
    return z, check_beta(beta, scalar=True), as_rng(rng)


def check_categorical(logits: object, beta: object, size: object, rng: object
                      ) -> tuple[np.ndarray, np.ndarray, float, int, np.random.Generator]:
    """Logits (..., n) with their row maxima, beta, size and Generator."""
    z, top = as_logits_with_max(logits, "logits")
    beta = check_beta(beta, scalar=True)
    size = check_positive_int(size, "size")
    check_allocation(z.shape[:-1] + (size,), "size")
    return z, top, beta, size, as_rng(rng)


def check_gaussian(mean: object, precision_or_cov: object, size: object, form: object, rng: object
                   ) -> tuple[np.ndarray, np.ndarray, int, str, np.random.Generator]:
    """Mean (n,), the lower Cholesky factor of the given matrix (n, n), size, form and Generator."""
    mu = as_float_array(mean, "mean", ndim=1)
    if mu.size == 0:
        raise ValueError("mean: expected at least one coordinate, got shape (0,)")
    M = as_float_array(precision_or_cov, "precision_or_cov", ndim=2)
    if M.shape != (mu.size, mu.size):
        raise ValueError(f"precision_or_cov: expected shape ({mu.size}, {mu.size}) to match mean, got {M.shape}")
    if not np.array_equal(M, M.T):
        raise ValueError("precision_or_cov: expected a symmetric matrix")
    if form not in FORMS:
        raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
    try:
        L = linalg.cholesky(M, lower=True)
    except linalg.LinAlgError:
        raise ValueError("precision_or_cov: expected a positive definite matrix (Cholesky failed)") from None
    size = check_positive_int(size, "size")
    check_allocation((size, mu.size), "size")
    return mu, L, size, form, as_rng(rng)


def check_custom(energy: object, init: object, n_steps: object, beta: object, n_values: object, rng: object
                 ) -> tuple[Callable, np.ndarray, int, float, int, np.random.Generator]:
    """The energy callable, init (int64 (n_chains, n)), n_steps, beta, n_values and Generator."""
    check_callable(energy, "energy")
    n_values = check_positive_int(n_values, "n_values", minimum=2)
    if isinstance(init, (str, bytes)) or init is None:
        raise TypeError(f"init: expected an integer array of states, got {type(init).__name__}")
    s = np.asarray(init)
    if not np.issubdtype(s.dtype, np.integer) or np.issubdtype(s.dtype, np.bool_):
        raise TypeError(f"init: expected integer states in [0, n_values), got dtype {s.dtype}")
    if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
        raise ValueError(f"init: expected shape (n_chains, n) with both positive, got {s.shape}")
    if s.min() < 0 or s.max() >= n_values:
        raise ValueError(f"init: entries must lie in [0, {n_values}), got values in [{s.min()}, {s.max()}]")
    check_allocation((s.shape[0], n_values, s.shape[1]), "n_values")  # one step's candidate states
    n_steps = _count(n_steps, "n_steps")
    check_work(s.shape[0] * max(n_steps, 1) * n_values, "n_steps")
    return energy, s.astype(np.int64), n_steps, check_beta(beta, scalar=True), n_values, as_rng(rng)


def call_energy(energy: Callable, states: np.ndarray) -> np.ndarray:
    """``energy(states)`` for states (..., n), checked: real, no NaN, exactly of shape states.shape[:-1]."""
    E = check_returned(energy(states), "energy")
    if E.shape != states.shape[:-1]:
        raise ValueError(f"energy: returned shape {E.shape} for states of shape {states.shape}; expected "
                         f"{states.shape[:-1]} (one energy per state)")
    return E


def gaussian_draws(mu: np.ndarray, L: np.ndarray, size: int, form: str, rng: np.random.Generator) -> np.ndarray:
    r"""``size`` draws of :math:`N(\mu, \Sigma)` from standard normals and the Cholesky factor of Σ or of Σ⁻¹.

    With :math:`\Sigma = LL^\top`, :math:`x = \mu + Lz`; with :math:`\Sigma^{-1} = LL^\top`,
    :math:`x = \mu + L^{-\top}z` (a triangular solve, no inverse formed).
    """
    z = rng.standard_normal((size, mu.size))  # (size, n)
    if form == "cov":
        return mu + z @ L.T  # (size, n)
    return mu + linalg.solve_triangular(L, z.T, lower=True, trans="T").T  # (size, n)
