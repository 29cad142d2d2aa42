"""Input validation shared by every public function of thermoref.

Public functions validate their arguments once, at the boundary, with these helpers; inner helpers trust
their callers. Every error is a ``ValueError`` or ``TypeError`` whose message starts with the parameter's
name, so that a user can tell at a glance which argument was wrong.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "MAX_BYTES",
    "MAX_WORK",
    "as_float_array",
    "as_logits",
    "as_rng",
    "check_allocation",
    "check_axis",
    "check_beta",
    "check_bool",
    "check_callable",
    "check_positive_int",
    "check_probability",
    "check_real",
    "check_returned",
    "check_returned_indices",
    "check_temperature",
    "check_work",
    "check_symmetric_couplings",
]

#: Largest single array (in bytes) that a public function allocates; a larger request is refused with a
#: ``ValueError`` naming the argument that set the size, before any memory is touched.
MAX_BYTES = 2**33


def as_float_array(
    x: ArrayLike,
    name: str,
    *,
    allow_neg_inf: bool = False,
    allow_pos_inf: bool = False,
    min_ndim: int = 0,
    ndim: int | None = None,
) -> np.ndarray:
    """Return ``x`` as a float64 array, rejecting NaN and (by default) infinities.

    Parameters
    ----------
    x : array_like
        The value to check.
    name : str
        The parameter's name, used in the error message.
    allow_neg_inf, allow_pos_inf : bool
        Whether ``-inf`` (for instance a mask in log space) or ``+inf`` entries are allowed.
    min_ndim : int
        Minimum number of dimensions.
    ndim : int, optional
        Exact number of dimensions required.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected a real number or array of real numbers, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name}: expected real numbers, got an array of dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name}: expected real numbers, got complex dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimension(s), got shape {arr.shape}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimension(s), got shape {arr.shape}")
    if np.isfinite(arr).all():  # one pass in the common case
        return arr
    if np.isnan(arr).any():
        raise ValueError(f"{name}: contains NaN")
    if not allow_pos_inf and np.isposinf(arr).any():
        raise ValueError(f"{name}: contains +inf")
    if not allow_neg_inf and np.isneginf(arr).any():
        raise ValueError(f"{name}: contains -inf")
    return arr


def as_logits(logits: ArrayLike, name: str = "logits", *, min_ndim: int = 1) -> np.ndarray:
    """Return logits (categories on the last axis, ``-inf`` = masked) as float64, checking every row has a law.

    Rejects NaN and ``+inf``, an empty last axis, and a row whose every entry is ``-inf`` (no category is
    allowed, so no law exists). Callers that define fully masked rows themselves (attention) do not use this.
    """
    z = as_float_array(logits, name, allow_neg_inf=True, min_ndim=min_ndim)
    if z.shape[-1] == 0:
        raise ValueError(f"{name}: the last axis (categories) is empty")
    if not np.isfinite(z).all() and np.isneginf(z).all(axis=-1).any():
        raise ValueError(f"{name}: every category of some row is -inf (fully masked); the law is undefined")
    return z


def check_temperature(kT: ArrayLike, name: str = "kT", *, allow_zero: bool = True, allow_inf: bool = True) -> np.ndarray:
    """Return a temperature as a float64 array after checking it is in [0, inf].

    ``kT = 0`` (the ground-state limit) and ``kT = inf`` (the uniform limit) are allowed unless switched off.
    """
    t = as_float_array(kT, name, allow_pos_inf=allow_inf)
    if (t < 0).any():
        raise ValueError(f"{name}: temperature must be non-negative, got {t[t < 0].ravel()[0]!r}")
    if not allow_zero and (t == 0).any():
        raise ValueError(f"{name}: temperature must be positive, got 0")
    return t


def check_beta(beta: ArrayLike, name: str = "beta", *, allow_inf: bool = False, scalar: bool = False):
    """Return an inverse temperature after checking it is in [0, inf) (or [0, inf] with ``allow_inf``).

    ``beta = 0`` (the infinite-temperature, uniform limit) is always allowed. Accepts Python and NumPy reals
    and arrays; with ``scalar=True`` only a single value (a 0-d array included) and returns a ``float``,
    otherwise a float64 array.
    """
    b = as_float_array(beta, name, allow_pos_inf=allow_inf)
    if scalar and b.ndim != 0:
        raise ValueError(f"{name}: expected a single inverse temperature, got shape {b.shape}")
    if (b < 0).any():
        raise ValueError(f"{name}: inverse temperature must be non-negative, got {b[b < 0].ravel()[0]!r}")
    return float(b) if scalar else b


def check_real(x: object, name: str, *, positive: bool = False, nonnegative: bool = False,
               allow_inf: bool = False) -> float:
    """Return a single real number as a ``float`` (a 0-d array or NumPy scalar included).

    Rejects booleans, strings, arrays with more than one element, NaN, infinities (unless ``allow_inf``),
    and, on request, values that are not positive or negative values.
    """
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a real number, got bool")
    v = as_float_array(x, name, allow_pos_inf=allow_inf, allow_neg_inf=allow_inf and not (positive or nonnegative))
    if v.ndim != 0:
        raise ValueError(f"{name}: expected a single real number, got shape {v.shape}")
    v = float(v)
    if positive and not v > 0:
        raise ValueError(f"{name}: must be positive, got {v!r}")
    if nonnegative and not v >= 0:
        raise ValueError(f"{name}: must be non-negative, got {v!r}")
    return v


def check_allocation(shape: tuple[int, ...] | int, name: str, itemsize: int = 8) -> None:
    """Refuse a result of ``shape`` (elements of ``itemsize`` bytes) larger than :data:`MAX_BYTES`.

    Computed with Python integers, so products that overflow int64 are caught too. ``name`` is the
    argument that set the size.
    """
    n = 1
    for d in (shape,) if isinstance(shape, numbers.Integral) else shape:
        n *= int(d)
    if n * itemsize > MAX_BYTES:
        raise ValueError(
            f"{name}: the result would need {n * itemsize / 2**30:.3g} GiB, more than the {MAX_BYTES / 2**30:g} GiB "
            "a single array may take (thermoref.MAX_BYTES)"
        )


def check_positive_int(n: object, name: str, *, minimum: int = 1) -> int:
    """Return ``n`` as an ``int`` after checking it is an integer ``>= minimum`` (booleans are rejected)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(n).__name__}")
    n = int(n)
    if n < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {n}")
    return n


def check_probability(p: float, name: str, *, open_interval: bool = False) -> float:
    """Return a scalar probability after checking it lies in [0, 1] (or (0, 1))."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(p).__name__}")
    p = float(p)
    lo_ok = p > 0 if open_interval else p >= 0
    hi_ok = p < 1 if open_interval else p <= 1
    if not (lo_ok and hi_ok):
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name}: must lie in {interval}, got {p!r}")
    return p


def check_axis(axis: object, ndim: int, name: str = "axis") -> int:
    """Return a normalised (non-negative) axis index for an array of ``ndim`` dimensions."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(axis).__name__}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: {axis} is out of range for an array of {ndim} dimension(s)")
    return axis % ndim


def check_symmetric_couplings(J: ArrayLike, name: str = "J", *, zero_diagonal: bool = True) -> np.ndarray:
    """Return dense couplings as a float64 (n, n) array after checking symmetry and a zero diagonal.

    Symmetry is required exactly (``J == J.T``), as the energy ``-1/2 s^T J s`` only sees the symmetric part
    and a sampler built from rows of an asymmetric matrix samples no Gibbs law at all.
    """
    J = as_float_array(J, name, ndim=2)
    if J.shape[0] != J.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {J.shape}")
    if not np.array_equal(J, J.T):
        i, j = np.argwhere(J != J.T)[0]
        raise ValueError(f"{name}: couplings must be symmetric; {name}[{i},{j}]={J[i, j]!r} != {name}[{j},{i}]={J[j, i]!r}")
    if zero_diagonal and np.any(np.diag(J) != 0):
        i = int(np.flatnonzero(np.diag(J))[0])
        raise ValueError(f"{name}: the diagonal must be zero (no self-coupling); {name}[{i},{i}]={J[i, i]!r}")
    return J


def as_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a Generator or an integer seed (SPEC 7).

    ``None`` is rejected on purpose: thermoref never draws hidden entropy, so that the same seed always gives
    the same bits. Pass ``np.random.default_rng()`` explicitly for a fresh stream.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a numpy.random.Generator or an integer seed, got bool")
    if isinstance(rng, numbers.Integral):
        if int(rng) < 0:
            raise ValueError(f"{name}: a seed must be non-negative, got {int(rng)}")
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if rng is None:
        raise TypeError(
            f"{name}: required; pass a numpy.random.Generator or an integer seed "
            "(thermoref never draws hidden entropy)"
        )
    raise TypeError(f"{name}: expected a numpy.random.Generator or an integer seed, got {type(rng).__name__}")


def check_bool(x: object, name: str) -> bool:
    """Return a flag as a ``bool`` (Python or NumPy booleans only; ``0``/``1``, strings and arrays are refused)."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {type(x).__name__}")
    return bool(x)


def check_callable(f: object, name: str) -> None:
    """Refuse a user-supplied function that is not callable, naming the parameter."""
    if not callable(f):
        raise TypeError(f"{name}: expected a callable, got {type(f).__name__}")


def check_returned(out: object, name: str, shape: tuple[int, ...] | None = None, *,
                   allow_pos_inf: bool = False, allow_neg_inf: bool = False) -> np.ndarray:
    """Return what a user-supplied function ``name`` returned as float64, refusing what would poison the result.

    The output must be real numbers without NaN (and without infinities unless allowed) and, when ``shape`` is
    given, broadcast to ``shape`` without changing it (an elementwise function of an array of that shape).
    Every message starts with ``name``: the error is the function's, not the caller's arguments'.
    """
    if isinstance(out, (str, bytes)) or out is None:
        raise TypeError(f"{name}: returned {type(out).__name__}; expected real numbers")
    arr = np.asarray(out)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)) \
            or np.iscomplexobj(arr):
        raise TypeError(f"{name}: returned values of dtype {arr.dtype}; expected real numbers")
    arr = arr.astype(np.float64, copy=False)
    if shape is not None:
        try:
            ok = np.broadcast_shapes(arr.shape, shape) == tuple(shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{name}: returned shape {arr.shape}; expected a shape that broadcasts to {tuple(shape)}")
    if not np.isfinite(arr).all():
        if np.isnan(arr).any():
            raise ValueError(f"{name}: returned NaN")
        if not allow_pos_inf and np.isposinf(arr).any():
            raise ValueError(f"{name}: returned +inf")
        if not allow_neg_inf and np.isneginf(arr).any():
            raise ValueError(f"{name}: returned -inf")
    return arr


def check_returned_indices(out: object, name: str, shape: tuple[int, ...], n: int, what: str = "") -> np.ndarray:
    """Return what a sampling unit or user rule returned as int64 indices of exactly ``shape``, each in [0, n).

    A device or a user function is not trusted: anything else is a ``ValueError`` starting with ``name`` (the
    argument that supplied it), and ``what`` names the method that returned it.
    """
    idx = np.asarray(out)
    said = f"{name}: {what} returned" if what else f"{name}: returned"
    if idx.shape != tuple(shape) or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{said} {idx.dtype} of shape {idx.shape}; expected integers of shape {tuple(shape)}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"{said} an index outside [0, {n})")
    return idx.astype(np.int64, copy=False)


#: Largest number of elementary updates (one site, key or row advanced by one step) that a single call of a
#: public function performs; a larger request (e.g. ``n_sweeps = 2**63 - 1``) is refused instead of hanging.
#: About an hour at 10**8-10**9 updates per second.
MAX_WORK = 2**40


def check_work(n_updates: int, name: str) -> None:
    """Refuse a run of ``n_updates`` elementary updates (a Python integer) larger than :data:`MAX_WORK`.

    ``name`` is the argument that set the count (a number of sweeps, steps or samples). Callers count a loop
    over zero rows as one update per iteration, so that a long loop over an empty batch is refused too.
    """
    if int(n_updates) > MAX_WORK:
        raise ValueError(
            f"{name}: the run would take {float(n_updates):.3g} elementary updates, more than the "
            f"{float(MAX_WORK):.3g} a single call may do (thermoref._validation.MAX_WORK)"
        )


def as_logits_with_max(logits: ArrayLike, name: str = "logits", *, min_ndim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Return :func:`as_logits`'s array and its row maxima (shape ``logits.shape[:-1]``), in one validation pass.

    For samplers, which need the maxima anyway to shift the exponentials: a fully masked row is the one whose
    maximum is ``-inf``, so only :func:`as_float_array`'s pass looks at the values. Same errors as :func:`as_logits`.
    """
    z = as_float_array(logits, name, allow_neg_inf=True, min_ndim=min_ndim)
    if z.shape[-1] == 0:
        raise ValueError(f"{name}: the last axis (categories) is empty")
    top = np.max(z, axis=-1)
    if np.isneginf(top).any():
        raise ValueError(f"{name}: every category of some row is -inf (fully masked); the law is undefined")
    return z, top
