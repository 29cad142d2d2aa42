r"""The Gibbs law and the partition function: softmax and Boltzmann are one law under two names.

A system with levels :math:`E_n` (degeneracy :math:`g_n`) in equilibrium at temperature :math:`kT` occupies
level :math:`n` with probability :math:`p_n = g_n e^{-E_n/kT}/Z`; a classifier or an attention head turns
logits :math:`z_n` into :math:`\mathrm{softmax}(z/\tau)_n = e^{z_n/\tau}/\sum_m e^{z_m/\tau}`. With
:math:`z = -E` and :math:`\tau = kT` they are the same function, and here they are the same code path.

Every quantity is computed in log space from the shifted log-weights
:math:`x_n = (z_n - z_{\max})/\tau + \ln g_n`, so nothing overflows or underflows for energies shifted by
:math:`\pm 10^6` at any temperature from :math:`10^{-3}` to :math:`10^9`. Units: :math:`k_B = 1`.

References: Landau & Lifshitz, *Statistical Physics* §31 (1980); Bridle, "Probabilistic interpretation of
feedforward classification network outputs" (1990); Jaynes, "Information theory and statistical mechanics",
Phys. Rev. 106, 620 (1957).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validation import as_float_array, check_axis, check_bool, check_real, check_temperature

__all__ = [
    "logsumexp",
    "log_softmax",
    "softmax",
    "boltzmann",
    "log_partition_function",
    "partition_function",
    "entropy",
    "thermal_entropy",
    "mean_energy",
    "free_energy",
    "heat_capacity",
]


# --------------------------------------------------------------------------------------------------------
# The one code path: shifted log-weights
# --------------------------------------------------------------------------------------------------------
def _degeneracy(degeneracy: ArrayLike | None, shape: tuple[int, ...]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validated degeneracies broadcast to ``shape`` and their logarithms (``ln 0 = -inf``), or (None, None)."""
    if degeneracy is None:
        return None, None
    g = as_float_array(degeneracy, "degeneracy", allow_pos_inf=False)
    if (g < 0).any():
        raise ValueError("degeneracy: must be non-negative (it counts microstates per level)")
    try:
        g = np.broadcast_to(g, shape)
    except ValueError as exc:
        raise ValueError(f"degeneracy: shape {g.shape} does not broadcast to the levels' shape {shape}") from exc
    with np.errstate(divide="ignore"):
        return g, np.log(g)  # ln 0 = -inf: a level with no microstate


def _shifted_log_weights(z: np.ndarray, tau: np.ndarray, log_g: np.ndarray | None, axis: int) -> np.ndarray:
    """Log-weights ``x`` with the law ``p = exp(x) / sum(exp(x))`` and ``max(x) = 0`` along ``axis``.

    ``z`` are logits (``-E``), ``tau`` one temperature per row (length 1 along ``axis``; entries 0 and inf
    allowed), ``log_g`` log-degeneracies or None. Validated inputs only.
    """
    finite = np.isfinite(tau) & (tau > 0)
    if log_g is None and finite.all() and np.isfinite(z).all():
        # Fast path, the same arithmetic as below: max(x) is exactly 0 already.
        z_top = np.max(z, axis=axis, keepdims=True)
        return _scaled_gap(z, z_top, tau)
    allowed = _allowed(z, log_g)
    z_top = np.max(np.where(allowed, z, -np.inf), axis=axis, keepdims=True)
    scaled = _scaled_gap(z, z_top, np.where(finite, tau, 1.0))
    x = np.where(finite, scaled, np.where(tau == 0, np.where(z == z_top, 0.0, -np.inf), 0.0))
    if log_g is not None:
        x = x + log_g
    x = np.where(allowed, x, -np.inf)
    return x - np.max(x, axis=axis, keepdims=True)


def _scaled_gap(z: np.ndarray, z_top: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``(z - z_top) / tau`` for finite positive ``tau``, without overflow warnings and without a spurious gap.

    On allowed entries ``z - z_top <= 0``, so an overflowing quotient (``tau`` as small as 5e-324) goes to
    ``-inf``, the exact limit of the weight ``exp(x) = 0``; a quotient below the smallest subnormal becomes 0.
    A gap that itself overflows (``z = -1e308`` against ``z_top = 1e308``) is recomputed as
    ``z/tau - z_top/tau``, which is finite when ``tau`` is large enough for the weight to matter.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        gap = z - z_top
        x = gap / tau
        split = np.isneginf(gap) & np.isfinite(z)
        if split.any():
            x = np.where(split, z / tau - z_top / tau, x)
    return x


def _allowed(z: np.ndarray, log_g: np.ndarray | None) -> np.ndarray:
    allowed = z > -np.inf if log_g is None else (z > -np.inf) & (log_g > -np.inf)
    return allowed


def _prepare(z: ArrayLike, temperature: ArrayLike, axis: int, z_name: str, t_name: str, *, energies: bool):
    """Validate levels and temperature; broadcast them; return (z, tau, axis) with one temperature per row."""
    z = as_float_array(z, z_name, min_ndim=1, allow_neg_inf=not energies)
    axis = check_axis(axis, z.ndim) - z.ndim  # negative: stable under broadcasting with leading axes
    if z.shape[axis] == 0:
        what = "levels" if energies else "categories"
        raise ValueError(f"{z_name}: the axis of {what} (axis {axis}) is empty; no law exists over zero {what}")
    tau = check_temperature(temperature, t_name)
    try:
        shape = np.broadcast_shapes(tau.shape, z.shape)
    except ValueError as exc:
        raise ValueError(f"{t_name}: shape {tau.shape} does not broadcast to shape {z.shape}") from exc
    tau = tau.reshape((1,) * (len(shape) - tau.ndim) + tau.shape)
    if tau.shape[axis] != 1:
        raise ValueError(f"{t_name}: one temperature per row: must have length 1 along axis {axis}, got shape {tau.shape}")
    z = np.broadcast_to(z, shape)
    row_shape = shape[:axis % len(shape)] + (1,) + shape[axis % len(shape) + 1:]
    tau = np.broadcast_to(tau, row_shape)
    if not energies and not (z > -np.inf).any(axis=axis).all():
        raise ValueError(f"{z_name}: every entry of some row is -inf; the law is undefined")
    return z, tau, axis


def _law(x: np.ndarray, axis: int) -> np.ndarray:
    w = np.exp(x)
    return w / np.sum(w, axis=axis, keepdims=True)


def _log_law(x: np.ndarray, axis: int) -> np.ndarray:
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


# --------------------------------------------------------------------------------------------------------
# The machine-learning face
# --------------------------------------------------------------------------------------------------------
def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    r"""Logarithm of the sum of exponentials, :math:`\ln \sum_n e^{z_n}`, without overflow.

    Parameters
    ----------
    z : array_like of shape (..., n)
        Values; ``-inf`` entries contribute nothing. NaN and ``+inf`` are rejected.
    axis : int
        Axis to reduce.
    keepdims : bool
        Keep the reduced axis with length one.

    Returns
    -------
    ndarray of shape (...)
        (length one along ``axis`` with ``keepdims``). ``-inf`` for a row whose entries are all ``-inf``, and
        for an empty axis (the empty sum is 0).

    Notes
    -----
    :math:`\ln\sum_n e^{z_n} = z_{\max} + \ln\sum_n e^{z_n - z_{\max}}`, every exponent :math:`\le 0`: the
    free-energy form :math:`\ln Z` of the softmax denominator.

    Examples
    --------
    >>> from thermoref import logsumexp
    >>> print(f"{logsumexp([1000.0, 1000.0]):.6f}")
    1000.693147
    """
    z = as_float_array(z, "z", min_ndim=1, allow_neg_inf=True)
    axis = check_axis(axis, z.ndim)
    keepdims = check_bool(keepdims, "keepdims")
    if z.shape[axis] == 0:  # the empty sum is 0, its logarithm -inf
        out = np.full(z.shape[:axis] + (1,) + z.shape[axis + 1:], -np.inf)
        return out if keepdims else np.squeeze(out, axis=axis)
    top = np.max(z, axis=axis, keepdims=True)
    top = np.where(np.isneginf(top), 0.0, top)
    with np.errstate(divide="ignore", over="ignore"):  # z - top = -inf (overflowed gap) has weight exactly 0
        out = top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z: ArrayLike, temperature: ArrayLike = 1.0, axis: int = -1) -> np.ndarray:
    r"""The softmax law :math:`p_n = e^{z_n/\tau} / \sum_m e^{z_m/\tau}` at temperature :math:`\tau`.

    Parameters
    ----------
    z : array_like of shape (..., n)
        Logits. ``-inf`` marks an excluded (masked) entry; a row with every entry ``-inf`` is an error.
    temperature : float or array_like, broadcastable to ``z``
        :math:`\tau \ge 0`. ``0`` gives the argmax law (ties share the weight equally), ``inf`` the uniform
        law over the entries that are not ``-inf``.
    axis : int
        The axis holding the categories.

    Returns
    -------
    ndarray of shape (..., n)
        Probabilities along ``axis``, summing to one.

    Notes
    -----
    Computed as :math:`\exp(x)/\sum\exp(x)` with :math:`x = (z - z_{\max})/\tau`, which is the Gibbs law
    of :func:`boltzmann` with :math:`E = -z` and :math:`kT = \tau`: the two share this code path bit for bit.

    References
    ----------
    Bridle (1990), "Probabilistic interpretation of feedforward classification network outputs".

    Examples
    --------
    >>> from thermoref import softmax
    >>> print(softmax([1.0, 2.0, 3.0]).round(6))
    [0.090031 0.244728 0.665241]
    >>> print(softmax([1.0, 3.0, 3.0], temperature=0.0))
    [0.  0.5 0.5]
    """
    z, tau, axis = _prepare(z, temperature, axis, "z", "temperature", energies=False)
    return _law(_shifted_log_weights(z, tau, None, axis), axis)


def log_softmax(z: ArrayLike, temperature: ArrayLike = 1.0, axis: int = -1) -> np.ndarray:
    r"""Logarithm of :func:`softmax`, accurate where the probabilities underflow.

    Parameters
    ----------
    z : array_like of shape (..., n)
        Logits. ``-inf`` marks an excluded (masked) entry; a row with every entry ``-inf`` is an error.
    temperature : float or array_like, broadcastable to ``z`` with length 1 along ``axis``
        :math:`\tau \ge 0`, one per row; ``0`` gives the argmax law, ``inf`` the uniform law.
    axis : int
        The axis holding the categories.

    Returns
    -------
    ndarray of shape (..., n)
        :math:`\ln p_n`; ``-inf`` for excluded entries (and for every entry but the maximal ones at
        ``temperature=0``).

    Notes
    -----
    .. math:: \ln p_n = x_n - \ln\sum_m e^{x_m}, \qquad x_n = \frac{z_n - z_{\max}}{\tau} \le 0,

    so the logarithm is exact where :math:`p_n` itself underflows (a log-probability of :math:`-2000` is
    :math:`-2000`, not :math:`\ln 0`).

    Examples
    --------
    >>> from thermoref import log_softmax
    >>> print(log_softmax([0.0, -2000.0]).round(6))
    [    0. -2000.]
    """
    z, tau, axis = _prepare(z, temperature, axis, "z", "temperature", energies=False)
    return _log_law(_shifted_log_weights(z, tau, None, axis), axis)


# --------------------------------------------------------------------------------------------------------
# The physics face
# --------------------------------------------------------------------------------------------------------
def boltzmann(E: ArrayLike, kT: ArrayLike = 1.0, degeneracy: ArrayLike | None = None, axis: int = -1) -> np.ndarray:
    r"""The Gibbs (Boltzmann) law :math:`p_n = g_n e^{-E_n/kT}/Z` over the levels on ``axis``.

    Parameters
    ----------
    E : array_like of shape (..., n)
        Finite energies of the levels.
    kT : float or array_like, broadcastable to ``E`` with length 1 along ``axis``
        Temperature :math:`kT \ge 0` (:math:`k_B = 1`), one per row. ``0`` is the ground-state limit, ``inf``
        the infinite-temperature limit; 5e-324 and 1e308 behave as those limits without overflow.
    degeneracy : array_like, broadcastable to ``E``, optional
        Number of microstates :math:`g_n \ge 0` per level (density of states). ``None`` means all ones.
    axis : int
        The axis holding the levels.

    Returns
    -------
    ndarray of shape (..., n)
        Occupation probabilities of the levels, summing to one along ``axis``.

    Notes
    -----
    .. math:: p_n = \frac{g_n e^{-E_n/kT}}{Z} = \mathrm{softmax}(-E/kT + \ln g)_n.

    Without a degeneracy this is ``softmax(-E, kT)`` through the same code path, equal bit for bit. At
    :math:`kT = 0` the weight is shared by the ground level(s) in proportion to :math:`g`; at
    :math:`kT = \infty`, :math:`p \propto g`.

    References
    ----------
    Landau, L. D. & Lifshitz, E. M. (1980) *Statistical Physics, Part 1*, 3rd ed., Pergamon, §31.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref import boltzmann, softmax
    >>> E = np.array([0.0, 1.0, 1.0])
    >>> bool(np.array_equal(boltzmann(E, 0.7), softmax(-E, 0.7)))
    True
    >>> print(boltzmann(E, np.inf, degeneracy=[1, 2, 1]))
    [0.25 0.5  0.25]
    """
    E, tau, axis, log_g = _levels(E, kT, degeneracy, axis)
    return _law(_shifted_log_weights(-E, tau, log_g, axis), axis)


def log_partition_function(E: ArrayLike, kT: ArrayLike = 1.0, degeneracy: ArrayLike | None = None, axis: int = -1) -> np.ndarray:
    r"""Natural log of the partition function, :math:`\ln Z = \ln \sum_n g_n e^{-E_n/kT}`.

    Finite wherever :math:`Z` itself overflows or underflows (e.g. :math:`E \sim -10^6` at :math:`kT=10^{-3}`).

    Parameters
    ----------
    E : array_like of shape (..., n)
        Finite energies of the levels.
    kT : float or array_like, broadcastable to ``E`` with length 1 along ``axis``
        Temperature :math:`kT \ge 0` (:math:`k_B = 1`), one per row. ``0`` is the ground-state limit, ``inf``
        the infinite-temperature limit; 5e-324 and 1e308 behave as those limits without overflow.
    degeneracy : array_like, broadcastable to ``E``, optional
        Number of microstates :math:`g_n \ge 0` per level (density of states). ``None`` means all ones.
    axis : int
        The axis holding the levels.

    Returns
    -------
    ndarray of shape (...)
        At :math:`kT = \infty`, :math:`\ln\sum g`. At :math:`kT = 0` the limit :math:`-\infty`,
        :math:`+\infty` or :math:`\ln g_0` as the ground energy :math:`E_0` is positive, negative or zero.

    Notes
    -----
    .. math:: \ln Z = -\frac{E_0}{kT} + \ln\sum_n g_n e^{-(E_n - E_0)/kT}

    with :math:`E_0` the lowest allowed level, so every exponent is :math:`\le 0`.

    Examples
    --------
    >>> from thermoref import log_partition_function
    >>> print(f"{log_partition_function([-1e6, -1e6], kT=1e-3):.1f}")
    1000000000.7
    """
    E, tau, axis, log_g, g = _levels_g(E, kT, degeneracy, axis)
    ground, rest = _log_Z_parts(E, tau, log_g, g, axis)
    return np.squeeze(ground + rest, axis=axis)


def _log_Z_parts(E: np.ndarray, tau: np.ndarray, log_g, g, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """``ln Z = ground + rest``: ``ground = -E0/kT`` (may overflow to +-inf), ``rest = ln sum g e^{-(E-E0)/kT}``."""
    allowed = _allowed(-E, log_g)
    E0 = np.min(np.where(allowed, E, np.inf), axis=axis, keepdims=True)  # ground level
    lg = 0.0 if log_g is None else log_g
    finite = np.isfinite(tau) & (tau > 0)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        gap = _scaled_gap(-E, -E0, np.where(finite, tau, 1.0))  # -(E - E0)/kT <= 0
        gap = np.where(finite, gap, np.where((tau == 0) & (E != E0), -np.inf, 0.0))
        y = np.where(allowed, gap + lg, -np.inf)
        y_top = np.max(y, axis=axis, keepdims=True)
        rest = y_top + np.log(np.sum(np.exp(y - y_top), axis=axis, keepdims=True))  # ln sum g e^{-(E-E0)/kT}
        # Exactly one microstate in total (sum g = 1: a single level, or a normalized prior g) at a kT far above
        # the spread of E: Z = 1 + x with x = sum g (e^gap - 1) tiny, which ln(Z) would round away. Every term
        # of x is <= 0 (no cancellation), and log1p is well conditioned for x > -1/2.
        gg = np.where(allowed, 1.0 if g is None else g, 0.0)
        single = (tau > 0) & (np.sum(gg, axis=axis, keepdims=True) == 1.0)  # kT = inf included: ln 1 = 0
        if single.any():
            x = np.sum(np.where(allowed, gg * np.expm1(gap), 0.0), axis=axis, keepdims=True)
            rest = np.where(single & (x > -0.5), np.log1p(x), rest)
        ground = np.where(finite, -E0 / np.where(finite, tau, 1.0), 0.0)  # -E0/kT; may overflow to +-inf
    ground = np.where(tau == 0, np.where(E0 > 0, -np.inf, np.where(E0 < 0, np.inf, 0.0)), ground)
    return ground, rest


def partition_function(E: ArrayLike, kT: ArrayLike = 1.0, degeneracy: ArrayLike | None = None, axis: int = -1) -> np.ndarray:
    r"""The partition function :math:`Z = \sum_n g_n e^{-E_n/kT}`, as ``exp`` of :func:`log_partition_function`.

    Parameters
    ----------
    E : array_like of shape (..., n)
        Finite energies of the levels.
    kT : float or array_like, broadcastable to ``E`` with length 1 along ``axis``
        Temperature :math:`kT \ge 0` (:math:`k_B = 1`), one per row. ``0`` is the ground-state limit, ``inf``
        the infinite-temperature limit; 5e-324 and 1e308 behave as those limits without overflow.
    degeneracy : array_like, broadcastable to ``E``, optional
        Number of microstates :math:`g_n \ge 0` per level (density of states). ``None`` means all ones.
    axis : int
        The axis holding the levels.

    Returns
    -------
    ndarray of shape (...)
        :math:`Z`; ``inf`` or ``0`` where :math:`Z` is not representable in float64 (that is the point of
        working with :math:`\ln Z`), without a warning.

    Notes
    -----
    .. math:: Z = \sum_n g_n e^{-E_n/kT} = e^{\ln Z}:

    the normalization of the Gibbs law, and the softmax denominator with :math:`z = -E`, :math:`\tau = kT`.

    Examples
    --------
    >>> from thermoref import partition_function
    >>> print(f"{partition_function([0.0, 1.0], kT=1.0):.6f}")
    1.367879
    """
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(log_partition_function(E, kT, degeneracy, axis))


def entropy(p: ArrayLike, base: float = np.e, axis: int = -1) -> np.ndarray:
    r"""Shannon entropy :math:`H = -\sum_n p_n \log_b p_n` of a distribution, with :math:`0\log 0 = 0`.

    Parameters
    ----------
    p : array_like of shape (..., n)
        Probabilities (non-negative, summing to one within 1e-9 along ``axis``).
    base : float
        Logarithm base, positive and not 1: ``e`` for nats, ``2`` for bits.
    axis : int
        The axis holding the categories.

    Returns
    -------
    ndarray of shape (...)
        The entropy in units of :math:`\log b`, between 0 (a pure law) and :math:`\log_b n` (uniform).

    Notes
    -----
    .. math:: H_b(p) = -\sum_{n:\,p_n > 0} p_n \frac{\ln p_n}{\ln b}.

    For the Gibbs law of :func:`boltzmann` without degeneracy, :math:`H_e` is the thermal entropy
    :math:`S = \beta(U - F)` of :func:`thermal_entropy`.

    References
    ----------
    Shannon, C. E. (1948) "A mathematical theory of communication", Bell Syst. Tech. J. 27, 379–423.

    Examples
    --------
    >>> from thermoref import entropy
    >>> print(entropy([0.5, 0.25, 0.25], base=2))
    1.5
    """
    p = as_float_array(p, "p", min_ndim=1)
    axis = check_axis(axis, p.ndim)
    b = check_real(base, "base", positive=True)
    if b == 1:
        raise ValueError(f"base: must be positive and not 1, got {b!r}")
    if (p < 0).any():
        raise ValueError("p: probabilities must be non-negative")
    if p.shape[axis] == 0:
        raise ValueError(f"p: the axis of categories (axis {axis}) is empty; no law exists over zero categories")
    with np.errstate(over="ignore"):  # entries near 1e308 sum to inf: caught as not summing to 1
        sums = p.sum(axis=axis)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        raise ValueError("p: probabilities must sum to 1 along axis")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return (0.0 - np.sum(terms, axis=axis)) / np.log(b)


def _levels(E, kT, degeneracy, axis):
    """Validated (E, tau, axis, log_g) for the thermodynamic functions."""
    E, tau, axis, log_g, _ = _levels_g(E, kT, degeneracy, axis)
    return E, tau, axis, log_g


def _levels_g(E, kT, degeneracy, axis):
    """Validated (E, tau, axis, log_g, g): the degeneracies themselves too (None without them)."""
    E, tau, axis = _prepare(E, kT, axis, "E", "kT", energies=True)
    g, log_g = _degeneracy(degeneracy, E.shape)
    if log_g is not None and not (log_g > -np.inf).any(axis=axis).all():
        raise ValueError("degeneracy: every level of some row has degeneracy 0; the law is undefined")
    return E, tau, axis, log_g, g


def _thermal(E, kT, degeneracy, axis):
    E, tau, axis, log_g = _levels(E, kT, degeneracy, axis)
    x = _shifted_log_weights(-E, tau, log_g, axis)
    return E, tau, axis, log_g, _law(x, axis), _log_law(x, axis)


def mean_energy(E: ArrayLike, kT: ArrayLike = 1.0, degeneracy: ArrayLike | None = None, axis: int = -1) -> np.ndarray:
    r"""Internal energy :math:`U = \sum_n p_n E_n = -\partial \ln Z/\partial\beta`.

    Parameters
    ----------
    E : array_like of shape (..., n)
        Finite energies of the levels.
    kT : float or array_like, broadcastable to ``E`` with length 1 along ``axis``
        Temperature :math:`kT \ge 0` (:math:`k_B = 1`), one per row. ``0`` is the ground-state limit, ``inf``
        the infinite-temperature limit; 5e-324 and 1e308 behave as those limits without overflow.
    degeneracy : array_like, broadcastable to ``E``, optional
        Number of microstates :math:`g_n \ge 0` per level (density of states). ``None`` means all ones.
    axis : int
        The axis holding the levels.

    Returns
    -------
    ndarray of shape (...)
        :math:`U`; the ground energy at :math:`kT = 0`, the :math:`g`-weighted mean of the levels at
        :math:`kT = \infty`.

    Notes
    -----
    .. math:: U = \sum_n p_n E_n = -\frac{\partial \ln Z}{\partial \beta}, \qquad \beta = 1/kT,

    the mean energy of the Gibbs law :math:`p` of :func:`boltzmann`.

    Examples
    --------
    >>> from thermoref import mean_energy
    >>> print(f"{mean_energy([0.0, 1.0], kT=1.0):.6f}")
    0.268941
    """
    E, _, axis, _, p, _ = _thermal(E, kT, degeneracy, axis)
    return np.sum(p * E, axis=axis)


def thermal_entropy(E: ArrayLike, kT: ArrayLike = 1.0, degeneracy: ArrayLike | None = None, axis: int = -1) -> np.ndarray:
    r"""Gibbs entropy of the microstate law, :math:`S = -\sum_n p_n \ln(p_n/g_n)` (nats, :math:`k_B = 1`).

    Parameters
    ----------
    E : array_like of shape (..., n)
        Finite energies of the levels.
    kT : float or array_like, broadcastable to ``E`` with length 1 along ``axis``
        Temperature :math:`kT \ge 0` (:math:`k_B = 1`), one per row. ``0`` is the ground-state limit, ``inf``
        the infinite-temperature limit; 5e-324 and 1e308 behave as those limits without overflow.
    degeneracy : array_like, broadcastable to ``E``, optional
        Number of microstates :math:`g_n \ge 0` per level (density of states). ``None`` means all ones.
    axis : int
        The axis holding the levels.

    Returns
    -------
    ndarray of shape (...)
        :math:`S \ge 0`: the residual entropy :math:`\ln g_0` at :math:`kT = 0`, :math:`\ln\sum_n g_n` at
        :math:`kT = \infty`.

    Notes
    -----
    Each of the :math:`g_n` microstates of level :math:`n` has probability :math:`p_n/g_n`, so

    .. math:: S = -\sum_n p_n \ln\frac{p_n}{g_n} = \beta(U - F),

    which without degeneracy is the Shannon entropy (nats) of :func:`boltzmann`.

    References
    ----------
    Landau, L. D. & Lifshitz, E. M. (1980) *Statistical Physics, Part 1*, 3rd ed., Pergamon, §7 and §31; Jaynes, E. T. (1957) "Information theory and statistical mechanics", Phys. Rev. 106,
    620–630.

    Examples
    --------
    >>> from thermoref import thermal_entropy
    >>> print(f"{thermal_entropy([0.0, 1.0, 1.0], kT=1e-9):.6f}")
    0.000000
    >>> print(f"{thermal_entropy([0.0, 1.0], kT=0.0, degeneracy=[2, 1]):.6f}")
    0.693147
    """
    E, _, axis, log_g, p, log_p = _thermal(E, kT, degeneracy, axis)
    lg = 0.0 if log_g is None else log_g
    with np.errstate(invalid="ignore"):
        terms = np.where(p > 0, p * (log_p - lg), 0.0)
    return 0.0 - np.sum(terms, axis=axis)  # 0.0 - : a pure state has entropy +0.0, not -0.0


def free_energy(E: ArrayLike, kT: ArrayLike = 1.0, degeneracy: ArrayLike | None = None, axis: int = -1) -> np.ndarray:
    r"""Helmholtz free energy :math:`F = -kT \ln Z`.

    Parameters
    ----------
    E : array_like of shape (..., n)
        Finite energies of the levels.
    kT : float or array_like, broadcastable to ``E`` with length 1 along ``axis``
        Temperature :math:`kT \ge 0` (:math:`k_B = 1`), one per row. ``0`` is the ground-state limit, ``inf``
        the infinite-temperature limit; 5e-324 and 1e308 behave as those limits without overflow.
    degeneracy : array_like, broadcastable to ``E``, optional
        Number of microstates :math:`g_n \ge 0` per level (density of states). ``None`` means all ones.
    axis : int
        The axis holding the levels.

    Returns
    -------
    ndarray of shape (...)
        :math:`F`. Limits: :math:`F \to E_0` at :math:`kT = 0`; at :math:`kT = \infty`, :math:`-\infty` when
        the system has more than one microstate (:math:`\sum g > 1`), :math:`+\infty` when
        :math:`\sum g < 1`, and the :math:`g`-weighted mean energy :math:`\sum_n g_n E_n` when
        :math:`\sum g = 1`. At a finite :math:`kT` whose :math:`-kT\ln Z` exceeds float64 (:math:`kT`
        near 1e308), :math:`\pm\infty`.

    Notes
    -----
    .. math:: F = -kT\ln Z = U - kT\,S,

    the energy available as work at constant temperature; computed from :func:`log_partition_function`.

    Examples
    --------
    >>> from thermoref import free_energy
    >>> print(f"{free_energy([0.0, 0.0], kT=1.0):.6f}")  # two degenerate states: -kT ln 2
    -0.693147
    """
    E, tau, axis, log_g, g = _levels_g(E, kT, degeneracy, axis)
    log_Z = log_partition_function(E, tau, None if log_g is None else np.exp(log_g), axis)
    tau_row = tau
    tau = np.squeeze(tau, axis=axis)
    E0 = np.min(np.where(_allowed(-E, log_g), E, np.inf), axis=axis)
    finite = np.isfinite(tau) & (tau > 0)
    with np.errstate(over="ignore"):
        F = np.where(finite, -np.where(finite, tau, 1.0) * log_Z, E0)  # kT = 0: F -> E0
    lost = finite & ~np.isfinite(log_Z)
    if lost.any():  # ln Z beyond float64 (kT near 5e-324): F = E0 - kT ln sum g e^{-(E - E0)/kT}
        _, rest = _log_Z_parts(E, tau_row, log_g, g, axis)
        F = np.where(lost, E0 - np.where(finite, tau, 0.0) * np.squeeze(rest, axis=axis), F)
    # kT = inf: -inf if the system has more than one microstate (sum g > 1), +inf below one; with exactly one
    # (sum g = 1), F = -kT ln(1 - <E>_g/kT + ...) -> <E>_g, the g-weighted mean energy.
    hot = np.isposinf(tau)
    if hot.any():
        gg = np.ones_like(E) if g is None else np.where(_allowed(-E, log_g), g, 0.0)
        g_sum = np.sum(gg, axis=axis)
        with np.errstate(over="ignore", invalid="ignore"):
            mean_g = np.sum(np.where(gg > 0, gg * E, 0.0), axis=axis) / g_sum
        F = np.where(hot, np.where(g_sum > 1, -np.inf, np.where(g_sum < 1, np.inf, mean_g)), F)
    return F


def heat_capacity(E: ArrayLike, kT: ArrayLike = 1.0, degeneracy: ArrayLike | None = None, axis: int = -1) -> np.ndarray:
    r"""Heat capacity :math:`C = \partial U/\partial (kT) = \beta^2 \mathrm{Var}_p(E)` (:math:`k_B = 1`).

    Parameters
    ----------
    E : array_like of shape (..., n)
        Finite energies of the levels.
    kT : float or array_like, broadcastable to ``E`` with length 1 along ``axis``
        Temperature :math:`kT \ge 0` (:math:`k_B = 1`), one per row. ``0`` is the ground-state limit, ``inf``
        the infinite-temperature limit; 5e-324 and 1e308 behave as those limits without overflow.
    degeneracy : array_like, broadcastable to ``E``, optional
        Number of microstates :math:`g_n \ge 0` per level (density of states). ``None`` means all ones.
    axis : int
        The axis holding the levels.

    Returns
    -------
    ndarray of shape (...)
        :math:`C \ge 0`; zero in both limits :math:`kT = 0` and :math:`kT = \infty` (the variance stays
        finite while :math:`\beta \to 0`; at :math:`kT \to 0` it vanishes exponentially).

    Notes
    -----
    .. math:: C = \frac{\partial U}{\partial (kT)} = \frac{\langle E^2\rangle - \langle E\rangle^2}{(kT)^2}:

    the energy fluctuations of the Gibbs law. For two levels :math:`0` and :math:`\Delta` this is the
    Schottky anomaly :math:`C = (\Delta/kT)^2 e^{\Delta/kT}/(1+e^{\Delta/kT})^2`, peaked near
    :math:`kT \approx 0.417\,\Delta`. Where :math:`(kT)^2` leaves the normal float64 range it is computed
    as :math:`\sum_n p_n ((E_n - U)/kT)^2`.

    References
    ----------
    Landau, L. D. & Lifshitz, E. M. (1980) *Statistical Physics, Part 1*, 3rd ed., Pergamon,§112 (fluctuations); Tari, A. (2003) *The Specific Heat of Matter at Low Temperatures*,
    Imperial College Press, §2.4 (the Schottky anomaly).

    Examples
    --------
    >>> from thermoref import heat_capacity
    >>> print(f"{heat_capacity([0.0, 1.0], kT=0.4168):.4f}")
    0.4392
    """
    E, tau, axis, _, p, _ = _thermal(E, kT, degeneracy, axis)
    finite = np.isfinite(tau) & (tau > 0)
    t = np.where(finite, tau, 1.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        U = np.sum(p * E, axis=axis, keepdims=True)
        var = np.sum(np.where(p > 0, p * (E - U) ** 2, 0.0), axis=axis)
        t2 = np.squeeze(t, axis=axis) ** 2
        C = var / t2
        # kT**2 outside the normal range (kT < 1.5e-154 or > 1.3e154), or a variance beyond float64: the same
        # sum as sum p ((E - U)/kT)**2, whose terms stay bounded wherever p > 0.
        redo = ~((t2 >= np.finfo(np.float64).tiny) & np.isfinite(t2) & np.isfinite(var))
        if redo.any():
            dev = (E - U) / t
            dev = np.where(np.isfinite(dev), dev, E / t - U / t)  # a gap E - U that itself overflowed
            C = np.where(redo, np.sum(np.where(p > 0, p * dev * dev, 0.0), axis=axis), C)
    return np.where(np.squeeze(finite, axis=axis), C, 0.0)
