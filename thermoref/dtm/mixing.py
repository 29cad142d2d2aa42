r"""How fast each denoising step's block-Gibbs chain mixes: integrated autocorrelation times, sampled and exact.

The central claim for denoising thermodynamic models is about mixing: a reverse step conditioned on the noisier
image (:math:`\gamma_t > 0`) is an easy law for chromatic block Gibbs, where the single energy-based model of
the data (:math:`T = 1`, :math:`q_1 = 1/2`, :math:`\gamma = 0`) mixes slowly. The measure is the integrated
autocorrelation time of an observable :math:`f` along the chain of sweeps,

.. math:: \tau_f = 1 + 2\sum_{k \ge 1} \rho_f(k), \qquad
          \rho_f(k) = \frac{\operatorname{Cov}_\pi\bigl(f(X_0), f(X_k)\bigr)}{\operatorname{Var}_\pi f},

(1 for independent draws; a chain of :math:`N` sweeps is worth :math:`N/\tau_f` of them, the project's
convention of :mod:`thermoref.mcmc`). :func:`step_autocorrelation_times` estimates it from sampled chains
(:func:`thermoref.dtm.step_chain`, Sokal's window); :func:`exact_autocorrelation_time` computes it from the
exact transition matrix of one sweep on a model small enough to enumerate (:func:`sweep_transition_matrix`),
with the fundamental matrix of Kemeny and Snell, and bounds it for every observable.

An autocorrelation time belongs to an observable, and an observable orthogonal to the chain's slowest mode does
not see it. The single EBM of a ferromagnet at zero field is slow because it must flip its global
magnetization, and its energy, even under that flip, forgets in about one sweep; the conditioned steps'
fields break the symmetry and make their energy slow as well. On 3 x 3 images with 8 neighbours at coupling
0.45, the EBM's magnetization has :math:`	au = 137` sweeps and its energy 1.7, while a step with
:math:`q = 0.3` has 6 to 89 and 2 to 21: compared by energy, the EBM would look the faster. The magnetization is
therefore the default observable, each pixel's time is available, and on small models
:class:`ExactMixing` gives the exponential time and a bound over every observable.

References: Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new
algorithms", in *Functional Integration* (Springer), 131-192; Kemeny, J. G. & Snell, J. L. (1960) *Finite
Markov Chains*, Van Nostrand; Liu, J. S., Wong, W. H. & Kong, A. (1995) "Covariance structure and convergence
rate of the Gibbs sampler with various scans", J. R. Stat. Soc. B 57, 157-169; Jelinčič, A. et al. (2025)
arXiv:2510.23972.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import log_expit

from .._validation import as_rng, check_allocation, check_positive_int
from ..backend.protocol import SamplingUnit
from ..ising import check_colouring, greedy_colouring
from ..mcmc import integrated_autocorrelation_times
from ..testing import enumerate_states
from .forward import _check_pixels, forward_sample
from .model import DTM, _check_dtm, _check_step, exact_step_law, step_chain, step_energy, step_ising

__all__ = ["OBSERVABLES", "MAX_MIXING_PIXELS", "StepAutocorrelation", "step_autocorrelation_times",
           "autocorrelation_profile", "sweep_transition_matrix", "ExactMixing", "exact_autocorrelation_time"]

#: Observables whose autocorrelation time is measured: the magnetization (mean spin), the step's conditional
#: energy (:func:`thermoref.dtm.step_energy`), or every pixel's spin separately.
OBSERVABLES = ("magnetization", "energy", "pixels")

#: Largest number of pixels of the exact sweep chain (its transition matrix is :math:`2^n \times 2^n`).
MAX_MIXING_PIXELS = 10

_CHUNK = 2**22  # float64 elements per block of observables or autocorrelation FFTs (32 MiB)


def _check_observable(observable: object) -> str:
    if not isinstance(observable, str):
        raise TypeError(f"observable: expected one of {OBSERVABLES}, got {type(observable).__name__}")
    if observable not in OBSERVABLES:
        raise ValueError(f"observable: expected one of {OBSERVABLES}, got {observable!r}")
    return observable


# ---------------------------------------------------------------------------------------------------------
# sampled chains
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepAutocorrelation:
    r"""Integrated autocorrelation times of one step's chains; returned by :func:`step_autocorrelation_times`.

    Attributes
    ----------
    taus : ndarray of float64, shape (B,), or (B, n) for ``observable="pixels"``
        :math:`\hat\tau` of each chain (one per conditioning image), in sweeps, Sokal's window.
    tau : float, or ndarray of shape (n,) for ``"pixels"``
        Their mean over chains.
    std_error : float, or ndarray of shape (n,) for ``"pixels"``
        Standard error of that mean from the spread over chains, :math:`s/\sqrt{B}`.
    t : int
        The step.
    n_sweeps : int
        Sweeps in each series (after the burn-in).
    burn_in : int
        Sweeps run and discarded before the series starts.
    observable : str
        The observable (:data:`OBSERVABLES`).
    n_constant : int
        Series that never changed (Sokal's estimate is then 1 by convention: either the law is nearly a
        point mass or the chain is stuck; compare with the exact value on a small model).

    Notes
    -----
    The chains are independent, so the per-chain estimates are independent draws of :math:`\hat\tau` and
    :math:`\bar\tau \pm s/\sqrt B` is an honest error bar for the *estimator's* mean. That mean lies below
    the true :math:`\tau` by a bias that shrinks like :math:`1/N` (mostly from centring each chain on its own
    mean): for a chain with :math:`\tau = 6.01` it is -5 %, -3 % and -0.3 % at :math:`N` = 400, 500 and 1000
    sweeps (measured against the exact chain in the tests).

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), 131-192.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, step_autocorrelation_times
    >>> r = step_autocorrelation_times(DTM.zeros(2, [0.25]), 1, np.zeros((8, 4), dtype=np.int8), n_sweeps=50,
    ...                                burn_in=0, rng=0, observable="pixels")
    >>> print(r.taus.shape, r.tau.shape, r.n_sweeps, r.observable)  # one time per chain and pixel
    (8, 4) (4,) 50 pixels
    """

    taus: np.ndarray
    tau: float | np.ndarray
    std_error: float | np.ndarray
    t: int
    n_sweeps: int
    burn_in: int
    observable: str
    n_constant: int


def _series_taus(values: np.ndarray) -> np.ndarray:
    """Sokal's tau of every series of values (S, ...), time on axis 0, in blocks of series to bound memory."""
    S = values.shape[0]
    flat = values.reshape(S, -1)  # (S, m)
    width = max(1, _CHUNK // (4 * S))  # the FFT pads to >= 2S complex numbers per series
    out = np.empty(flat.shape[1])
    for a in range(0, flat.shape[1], width):  # blocks of series: bounded memory, each block vectorized
        out[a:a + width] = integrated_autocorrelation_times(flat[:, a:a + width], axis=0)
    return out.reshape(values.shape[1:])


def _sampled_values(dtm: DTM, t: int, states: np.ndarray, x_t: np.ndarray, observable: str) -> np.ndarray:
    """The observable along chains: states (S, B, n) pixels -> (S, B), or (S, B, n) for pixels."""
    if observable == "magnetization":
        return 2.0 * states.mean(axis=-1) - 1.0  # (S, B) mean spin
    if observable == "pixels":
        return 2.0 * states - 1.0  # (S, B, n) spins
    S, B, n = states.shape
    out = np.empty((S, B))
    rows = max(1, _CHUNK // (B * n))  # sweeps per block of energies
    for a in range(0, S, rows):  # blocks of sweeps: bounded memory, each block one vectorized call
        k = min(rows, S - a)
        xt = np.broadcast_to(x_t, (k, B, n)).reshape(k * B, n)
        out[a:a + k] = step_energy(dtm, t, states[a:a + k].reshape(k * B, n), xt).reshape(k, B)
    return out


def step_autocorrelation_times(dtm: DTM, t: int, x_t: ArrayLike, *, n_sweeps: int, burn_in: int,
                               rng: np.random.Generator | int, backend: SamplingUnit | None = None,
                               observable: str = "magnetization", init: ArrayLike | None = None
                               ) -> StepAutocorrelation:
    r"""Integrated autocorrelation time of step ``t``'s block-Gibbs chains, one chain per conditioning image.

    Parameters
    ----------
    dtm : DTM
        The model (the single energy-based model is ``DTM`` with one step and ``flip=[0.5]``).
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n)
        Conditioning images, pixels in {0, 1}, at least two (one chain each; repeat an image for many chains
        of the same law).
    n_sweeps : int
        Length of each recorded series in sweeps, >= 2.
    burn_in : int
        Sweeps run and discarded first, >= 0.
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : SamplingUnit, optional
        The unit that samples (its ledger is charged for ``burn_in + n_sweeps`` sweeps per chain);
        :class:`thermoref.backend.NumpyBackend` by default.
    observable : {"magnetization", "energy", "pixels"}
        What is recorded after every sweep: the mean spin :math:`\frac1n\sum_i s_i`, the conditional energy
        :func:`thermoref.dtm.step_energy` (blind to the global flip of an unconditioned model: see the module
        notes), or each pixel's spin :math:`s_i` (one time per pixel).
    init : array_like of int, shape (B, n), optional
        Starting images; ``None`` starts each chain at its conditioning image.

    Returns
    -------
    StepAutocorrelation
        Per-chain estimates, their mean and its standard error over chains.

    Notes
    -----
    The chains of :func:`thermoref.dtm.step_chain` run ``burn_in + n_sweeps`` sweeps; the ``n_sweeps`` states
    after the burn-in give one series :math:`f(X_1), \dots, f(X_N)` per chain, and each gets
    :func:`thermoref.mcmc.integrated_autocorrelation_times`' estimate

    .. math:: \hat\tau = 1 + 2\sum_{k=1}^{W}\hat\rho(k), \qquad W = \min\{W : W \ge 5\,\hat\tau(W)\},

    in sweeps. The relative error of one chain's estimate is about :math:`\sqrt{2(2W+1)/N}` (:math:`W \approx
    5\tau`), and its bias, mostly from centring on the chain's own mean, shrinks like :math:`1/N`: about -3 %
    at :math:`N = 80\tau` and below 1 % from :math:`N \approx 170\tau` (:class:`StepAutocorrelation`). A long
    :math:`\tau` is the chain's memory of where it was: the single energy-based model of bimodal data must
    cross between modes, the conditioned steps are pinned near their noisy image.

    References
    ----------
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), 131-192; Madras, N. & Sokal, A. D. (1988) J. Stat. Phys. 50, 109.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, step_autocorrelation_times
    >>> z = DTM.zeros(2, [0.5], neighbourhood=4)  # the single EBM: a ferromagnetic ring of 4 pixels
    >>> ebm = DTM(2, z.edges, np.full((1, 4), 0.6), np.zeros((1, 4)), [0.5])
    >>> r = step_autocorrelation_times(ebm, 1, np.zeros((50, 4), dtype=np.int8), n_sweeps=300, burn_in=20,
    ...                                rng=0, observable="magnetization")
    >>> print(f"{r.tau:.1f} +- {r.std_error:.1f}")  # exact 6.01 (exact_autocorrelation_time); low by ~5 % here
    5.3 +- 0.4
    """
    dtm = _check_dtm(dtm)
    t = _check_step(dtm, t)
    xt = _check_pixels(x_t, "x_t", dtm.n)
    if xt.shape[0] < 2:
        raise ValueError(f"x_t: need at least 2 conditioning images (one chain each) for an error bar over "
                         f"chains, got {xt.shape[0]}")
    obs = _check_observable(observable)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=2)
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    check_allocation((burn_in + 1,) + xt.shape, "burn_in", itemsize=1)
    check_allocation((burn_in + n_sweeps + 1,) + xt.shape, "n_sweeps", itemsize=1)
    check_allocation((n_sweeps,) + xt.shape if obs == "pixels" else (n_sweeps, xt.shape[0]), "n_sweeps")
    chain = step_chain(dtm, t, xt, n_sweeps=burn_in + n_sweeps, rng=rng, backend=backend, init=init)
    values = _sampled_values(dtm, t, chain[burn_in + 1:], xt, obs)  # (N, B) or (N, B, n)
    taus = _series_taus(values)  # (B,) or (B, n)
    n_constant = int(np.all(values == values[:1], axis=0).sum())
    B = taus.shape[0]
    mean, se = taus.mean(axis=0), taus.std(axis=0, ddof=1) / np.sqrt(B)
    if obs != "pixels":
        mean, se = float(mean), float(se)
    return StepAutocorrelation(taus, mean, se, t, n_sweeps, burn_in, obs, n_constant)


def autocorrelation_profile(dtm: DTM, x0: ArrayLike, *, n_sweeps: int, burn_in: int,
                            rng: np.random.Generator | int, backend: SamplingUnit | None = None,
                            observable: str = "magnetization") -> tuple[StepAutocorrelation, ...]:
    r"""Autocorrelation time of every step, each conditioned on images drawn from the forward process.

    Parameters
    ----------
    dtm : DTM
        The model.
    x0 : array_like of int, shape (B, n)
        Clean images (held-out data), at least two; each gives one chain per step.
    n_sweeps : int
        Length of each recorded series, >= 2.
    burn_in : int
        Sweeps discarded first, >= 0.
    rng : numpy.random.Generator or int
        Source of randomness (forward noise and chains).
    backend : SamplingUnit, optional
        The unit that samples; :class:`thermoref.backend.NumpyBackend` by default.
    observable : {"magnetization", "energy", "pixels"}
        The observable (:func:`step_autocorrelation_times`).

    Returns
    -------
    tuple of StepAutocorrelation, length T
        Entry ``t - 1`` is step :math:`t`.

    Notes
    -----
    For step :math:`t`, :math:`x_t \sim p(x_t \mid x_0)` (:func:`thermoref.dtm.forward_sample`) for every
    clean image, then one chain of :math:`p_\theta(x_{t-1} \mid x_t)` per :math:`x_t`, started at :math:`x_t`.
    The mean over chains estimates

    .. math:: \bar\tau_t = \mathbb{E}_{x_t \sim p(x_t)}\bigl[\tau_f(x_t)\bigr],

    the autocorrelation time of step :math:`t` averaged over the conditioning images the sampler meets when
    it generates, and the standard error over chains includes the spread between images. For the single
    energy-based model (:math:`\gamma = 0`) the images only set where the chains start.

    References
    ----------
    Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like models",
    arXiv:2510.23972 (the mixing of each step against a single energy-based model).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, autocorrelation_profile
    >>> z = DTM.zeros(2, [0.1, 0.4], neighbourhood=4)  # a ferromagnetic ring of 4 pixels at both steps
    >>> dtm = DTM(2, z.edges, np.full((2, 4), 0.6), np.zeros((2, 4)), [0.1, 0.4])
    >>> x0 = np.tile([[0, 0, 1, 1], [1, 1, 0, 0]], (10, 1))  # 20 clean images, one chain each per step
    >>> prof = autocorrelation_profile(dtm, x0, n_sweeps=150, burn_in=10, rng=0, observable="magnetization")
    >>> print([p.t for p in prof], [round(p.tau, 1) for p in prof])  # step 1 (q = 0.1) is pinned hardest
    [1, 2] [1.6, 4.5]
    """
    dtm = _check_dtm(dtm)
    x = _check_pixels(x0, "x0", dtm.n)
    if x.shape[0] < 2:
        raise ValueError(f"x0: need at least 2 images (one chain each per step), got {x.shape[0]}")
    obs = _check_observable(observable)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=2)
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    check_allocation((burn_in + 1,) + x.shape, "burn_in", itemsize=1)
    check_allocation((burn_in + n_sweeps + 1,) + x.shape, "n_sweeps", itemsize=1)
    rng = as_rng(rng)
    out = []
    for t in range(1, dtm.T + 1):  # a handful of steps, each one vectorized batch of chains
        xt = forward_sample(x, dtm.flip, t, rng=rng)  # (B, n)
        out.append(step_autocorrelation_times(dtm, t, xt, n_sweeps=n_sweeps, burn_in=burn_in, rng=rng,
                                              backend=backend, observable=obs))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------
# the exact chain of one sweep
# ---------------------------------------------------------------------------------------------------------


def _check_small(dtm: DTM) -> None:
    if dtm.n > MAX_MIXING_PIXELS:
        raise ValueError(f"dtm: the exact sweep chain is limited to {MAX_MIXING_PIXELS} pixels (a 2^n x 2^n "
                         f"transition matrix), got {dtm.n}")


def _check_colours(dtm: DTM, t: int, xt: np.ndarray, colours: ArrayLike | None) -> np.ndarray:
    """Colours of each image's pixels, (B, n): the reference backend's for this batch, or as given (checked)."""
    B, n = xt.shape
    J = step_ising(dtm, t, xt)[0]  # (B n, B n) block diagonal
    if colours is None:
        return greedy_colouring(J).reshape(B, n)
    c = np.asarray(colours)
    if c.dtype == object or not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"colours: expected integer colours, got dtype {c.dtype}")
    if c.shape not in ((n,), (B, n)):
        raise ValueError(f"colours: expected shape ({n},) or ({B}, {n}), got {c.shape}")
    if c.size and c.max() >= n:
        raise ValueError(f"colours: at most {n} colours (0 .. {n - 1}) for {n} pixels, got {int(c.max())}")
    c = np.ascontiguousarray(np.broadcast_to(c, (B, n)))
    return check_colouring(J, c.ravel()).reshape(B, n)


def _marginalize(a: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Sum the last axis (states) over the given pixels' values and copy the sum to every such state, per image.

    ``a`` (B, ..., M), ``pixels`` (B, n) bool: afterwards ``a[b, ..., s]`` is the sum of the old ``a[b, ..., s']``
    over the states ``s'`` that agree with ``s`` off those pixels (one pixel at a time: sums over bits commute;
    pixel j is the middle axis of the state index split as (2**j, 2, 2**(n - 1 - j))).
    """
    n = pixels.shape[1]
    a = a.copy()
    for j in np.flatnonzero(pixels.any(axis=0)):  # at most n pixels, each one vectorized over images and states
        v = a.reshape(a.shape[:-1] + (2**j, 2, 2 ** (n - 1 - j)))  # a view: writes go to a
        total = v[..., :1, :] + v[..., 1:, :]
        sel = pixels[:, j]
        if sel.all():
            v[...] = total
        else:
            v[sel] = np.broadcast_to(total[sel], v[sel].shape)
    return a


def _sweep_matrices(dtm: DTM, t: int, xt: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """P[b] = K_{c_0} K_{c_1} ... (colours in increasing order) for every image, shape (B, 2**n, 2**n).

    Phase c maps a row r to ``marginalize(r over the pixels of c) * q_c``, q_c(s) = prod_{i in c} P(s_i | s_-i):
    O(n 4**n) per image instead of the O(8**n) of multiplying dense phase kernels.
    """
    B, n = xt.shape
    M = 2**n
    k = t - 1
    S = enumerate_states(n, (-1, 1)).astype(np.float64)  # (M, n)
    h = dtm.biases[k] + dtm.gammas[k] * (2.0 * xt - 1.0)  # (B, n)
    with np.errstate(over="ignore", invalid="ignore"):  # couplings near the float64 limit: a field of +-inf
        phi = S @ dtm.couplings(t).toarray() + h[:, None, :]  # (B, M, n) local fields, phi_i free of s_i
    phi = np.clip(np.nan_to_num(phi, nan=0.0), -1e300, 1e300)  # inf - inf: the sign is lost, not the size
    logc = log_expit(2.0 * S * phi)  # (B, M, n) log P(s_i | s_-i), heat bath, finite
    P = np.broadcast_to(np.eye(M), (B, M, M)).copy()
    for c in np.unique(colours):  # the sweep's phases, in order
        block = colours == c  # (B, n)
        P = _marginalize(P, block) * np.exp(np.where(block[:, None, :], logc, 0.0).sum(axis=2))[:, None, :]
    return P


def _by_first_class(P: np.ndarray, pi: np.ndarray, colours: np.ndarray):
    """Group images by the pixels of their first phase; yield (images, V, pi_x, VU) per group.

    The first phase redraws the pixels of the first colour class, so row a of P depends only on a's other
    pixels ``x``: P = U V with U[a, x] = [a off the class = x] and V (M0, M) the rows of the states whose class
    pixels are 0, M0 = 2**(n - |class|). V U (M0, M0) is the chain of x between sweeps, pi_x its law.
    """
    B, n = colours.shape
    M = 2**n
    bits = np.int64(1) << np.arange(n - 1, -1, -1, dtype=np.int64)
    groups, which = np.unique(colours == colours.min(axis=1, keepdims=True), axis=0, return_inverse=True)
    for g, mask in enumerate(groups):  # a few distinct first classes, each one batched call
        b = np.flatnonzero(which.ravel() == g)
        rows = np.flatnonzero((np.arange(M) & (mask @ bits)) == 0)  # (M0,) states with the class's pixels 0
        V = P[b][:, rows, :]  # (G, M0, M)
        m = np.broadcast_to(mask, (b.size, n))
        yield b, V, _marginalize(pi[b], m)[:, rows], _marginalize(V, m)[:, :, rows]


def _spectral(dtm: DTM, t: int, xt: np.ndarray, P: np.ndarray, pi: np.ndarray, colours: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """slem and ||P||_0 per image, from reduced matrices (see _by_first_class).

    slem: the nonzero eigenvalues of P = U V are those of V U; rotating the phases cyclically so that the
    largest class comes first (K_r ... K_0 ... K_{r-1}: AB and BA share their nonzero eigenvalues) makes V U
    smallest. ||P||_0: D^1/2 (P - 1 pi^T) D^-1/2 = W diag(sqrt pi_x) (V - 1 pi^T) D^-1/2 with W's columns
    orthonormal (U's columns are orthogonal in L2(pi)), so the singular values are those of the (M0, M)
    matrix on the right; singular values are not invariant under the rotation, so this uses P's own order.
    """
    B, n = colours.shape
    if B == 0:
        return np.zeros(0), np.zeros(0)
    top = int(colours.max()) + 1
    counts = (colours[:, :, None] == np.arange(top)).sum(axis=1)  # (B, top) pixels per colour
    rotated = (colours - counts.argmax(axis=1)[:, None]) % top  # the same cyclic order, largest class first
    slem, norm = np.empty(B), np.empty(B)
    for b, _, pi_x, VU in _by_first_class(_sweep_matrices(dtm, t, xt, rotated), pi, rotated):
        slem[b] = np.abs(np.linalg.eigvals(VU - pi_x[:, None, :])).max(axis=1)
    for b, V, pi_x, _ in _by_first_class(P, pi, colours):
        root = np.sqrt(pi[b])  # (G, M)
        inv = np.divide(1.0, root, out=np.zeros_like(root), where=root > 0)
        R = np.sqrt(pi_x)[:, :, None] * (V - pi[b][:, None, :]) * inv[:, None, :]  # (G, M0, M)
        largest = np.linalg.eigvalsh(R @ R.transpose(0, 2, 1))[:, -1]  # (G,) the largest squared singular value
        norm[b] = np.sqrt(np.maximum(largest, 0.0))
    return np.minimum(slem, 1.0), np.minimum(norm, 1.0)


def sweep_transition_matrix(dtm: DTM, t: int, x_t: ArrayLike, *, colours: ArrayLike | None = None) -> np.ndarray:
    r"""The exact transition matrix of one chromatic block-Gibbs sweep of step ``t``, for each conditioning image.

    Parameters
    ----------
    dtm : DTM
        A model with at most :data:`MAX_MIXING_PIXELS` pixels.
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images, pixels in {0, 1}.
    colours : array_like of int, shape (n,) or (B, n), optional
        The colouring each image's chain sweeps with (a proper colouring of the step's nonzero couplings,
        colour classes updated in increasing order). ``None``: what :class:`thermoref.backend.NumpyBackend`
        runs for this batch, :func:`thermoref.ising.greedy_colouring` of :func:`thermoref.dtm.step_ising`'s
        block-diagonal model, which can differ from image to image.

    Returns
    -------
    ndarray of float64, shape ``(B, 2**n, 2**n)``
        ``P[b, a, a2]`` = probability that one sweep moves image ``a`` to image ``a2`` given
        :math:`x_t^{(b)}`, states in :func:`thermoref.testing.enumerate_states` order (as
        :func:`thermoref.dtm.exact_step_law`); rows sum to 1.

    Notes
    -----
    Phase :math:`c` redraws the pixels of colour :math:`c` from their conditional law given the others,
    :math:`P(s_i = +1 \mid s_{-i}) = \sigma(2\phi_i)`, :math:`\phi_i = \sum_j J_{ij}s_j + b_{t,i} +
    \gamma_t s_{t,i}`: a kernel :math:`K_c` that changes only those pixels, and the sweep is

    .. math:: P = K_{c_0} K_{c_1} \cdots K_{c_{C-1}}.

    Each :math:`K_c` leaves the conditional law :math:`\pi` invariant and is self-adjoint in
    :math:`L^2(\pi)` (a projection), but their product is not: :math:`P^* = K_{c_{C-1}}\cdots K_{c_0}` is the
    sweep in reverse order, so the chromatic sweep is not reversible in general. Reversing the order leaves
    every autocorrelation :math:`\langle f, P^k f\rangle_\pi` unchanged (so with two colours the order does not
    matter); other orders of three or more colours are other chains. The kernel of a phase is assembled in log
    space, :math:`\log\sigma` of the fields, so it stays finite for any finite couplings.

    References
    ----------
    Geman, S. & Geman, D. (1984) "Stochastic relaxation, Gibbs distributions, and the Bayesian restoration of
    images", IEEE PAMI 6, 721-741; Liu, J. S., Wong, W. H. & Kong, A. (1995) "Covariance structure and
    convergence rate of the Gibbs sampler with various scans", J. R. Stat. Soc. B 57, 157-169.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, exact_step_law, sweep_transition_matrix
    >>> dtm = DTM.zeros(2, [0.25])
    >>> P = sweep_transition_matrix(dtm, 1, [1, 0, 0, 1])  # no couplings: one phase draws every pixel afresh
    >>> pi = exact_step_law(dtm, 1, [1, 0, 0, 1])[1]
    >>> print(P.shape, bool(np.allclose(P[0], pi[0])))  # every row is the conditional law itself
    (1, 16, 16) True
    """
    dtm = _check_dtm(dtm)
    t = _check_step(dtm, t)
    _check_small(dtm)
    xt = _check_pixels(x_t, "x_t", dtm.n)
    check_allocation((3, xt.shape[0], 2**dtm.n, 2**dtm.n), "x_t")
    return _sweep_matrices(dtm, t, xt, _check_colours(dtm, t, xt, colours))


@dataclass(frozen=True)
class ExactMixing:
    r"""Exact mixing of the sweep chain of a small model; returned by :func:`exact_autocorrelation_time`.

    Attributes
    ----------
    tau : ndarray of float64, shape (B,), or (B, n) for ``observable="pixels"``
        The integrated autocorrelation time :math:`\tau_f = 1 + 2\sum_{k\ge1}\rho_f(k)` of the observable in
        the stationary chain, in sweeps; ``inf`` where the chain does not mix within float64
        (:math:`1 - \lambda_\star < 2^{-40}`). A function that is constant under :math:`\pi` gets 1.
    slem : ndarray of float64, shape (B,)
        Second-largest eigenvalue modulus :math:`\lambda_\star = \max\{|\lambda| : \lambda \text{ eigenvalue
        of } P \text{ on mean-zero functions}\}`.
    tau_exp : ndarray of float64, shape (B,)
        Exponential autocorrelation time :math:`-1/\ln\lambda_\star` (0 if :math:`\lambda_\star = 0`, ``inf``
        if 1): the decay rate of the slowest mode.
    norm : ndarray of float64, shape (B,)
        :math:`\|P\|_0`, the operator norm of :math:`P` on mean-zero functions in :math:`L^2(\pi)`;
        :math:`\lambda_\star \le \|P\|_0 \le 1`, with equality on the left for a reversible chain.
    tau_bound : ndarray of float64, shape (B,)
        :math:`(1 + \|P\|_0)/(1 - \|P\|_0) \ge \tau_f` for every observable (``inf`` if :math:`\|P\|_0 = 1`).
    observable : str
        The observable (:data:`OBSERVABLES`).

    Notes
    -----
    :math:`|\rho_f(k)| \le \|P^k\|_0 \le \|P\|_0^k`, hence the bound, valid for any chain. The familiar
    :math:`(1 + \lambda_\star)/(1 - \lambda_\star)` needs reversibility, which a chromatic sweep lacks; with two
    colours :math:`\|P\|_0^2 = \lambda_\star` (:math:`P = K_0K_1` has the eigenvalues of the positive
    operator :math:`K_1K_0K_1 = P^*P`), so the valid bound is about twice the reversible one.

    References
    ----------
    Kemeny, J. G. & Snell, J. L. (1960) *Finite Markov Chains*, Van Nostrand; Fill, J. A. (1991) "Eigenvalue
    bounds on convergence to stationarity for nonreversible Markov chains, with an application to the
    exclusion process", Ann. Appl. Probab. 1, 62-87.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, exact_autocorrelation_time
    >>> m = exact_autocorrelation_time(DTM.zeros(2, [0.25]), 1, [0, 0, 1, 1], "pixels")
    >>> print(m.tau.round(12), m.slem.round(12))  # independent pixels: every sweep is a fresh draw
    [[1. 1. 1. 1.]] [0.]
    """

    tau: np.ndarray
    slem: np.ndarray
    tau_exp: np.ndarray
    norm: np.ndarray
    tau_bound: np.ndarray
    observable: str


def _exact_values(dtm: DTM, t: int, xt: np.ndarray, states: np.ndarray, observable: str) -> np.ndarray:
    """The observable on every state for every image: (B, M, 1), or (B, M, n) for pixels."""
    B, n = xt.shape
    M = states.shape[0]
    s = 2.0 * states - 1.0  # (M, n)
    if observable == "magnetization":
        return np.broadcast_to(s.mean(axis=1)[None, :, None], (B, M, 1))
    if observable == "pixels":
        return np.broadcast_to(s[None], (B, M, n))
    x_prev = np.broadcast_to(states, (B, M, n)).reshape(B * M, n)
    cond = np.broadcast_to(xt[:, None, :], (B, M, n)).reshape(B * M, n)
    return step_energy(dtm, t, x_prev, cond).reshape(B, M, 1)


def exact_autocorrelation_time(dtm: DTM, t: int, x_t: ArrayLike, observable: str = "magnetization", *,
                               colours: ArrayLike | None = None) -> ExactMixing:
    r"""The exact integrated autocorrelation time of step ``t``'s sweep chain, from its transition matrix.

    Parameters
    ----------
    dtm : DTM
        A model with at most :data:`MAX_MIXING_PIXELS` pixels (side 2 or 3).
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images, pixels in {0, 1}.
    observable : {"magnetization", "energy", "pixels"}
        The observable (:func:`step_autocorrelation_times`).
    colours : array_like of int, shape (n,) or (B, n), optional
        The sweep's colouring (:func:`sweep_transition_matrix`); by default the reference backend's for this
        batch, so that the values are those of the chains :func:`thermoref.dtm.step_chain` runs.

    Returns
    -------
    ExactMixing
        :math:`\tau_f` per image (and pixel), and the spectral quantities that bound every observable.

    Notes
    -----
    With :math:`P` the sweep's transition matrix, :math:`\pi` the conditional law
    (:func:`thermoref.dtm.exact_step_law`, which every phase leaves invariant) and :math:`f` centred under
    :math:`\pi`, :math:`\operatorname{Cov}(f(X_0), f(X_k)) = \langle f, P^k f\rangle_\pi`, and the sum over
    :math:`k` is the fundamental matrix :math:`Z = (I - P + \mathbf 1\pi^\top)^{-1} = \sum_{k\ge0}(P -
    \mathbf 1\pi^\top)^k`:

    .. math:: \tau_f = \frac{2\langle f, Zf\rangle_\pi - \langle f, f\rangle_\pi}{\langle f, f\rangle_\pi},

    one linear solve per image, exact for any ergodic chain, reversible or not. :math:`\lambda_\star` comes from
    the eigenvalues of :math:`P - \mathbf 1\pi^\top` (the eigenvalue 1 removed) and :math:`\|P\|_0` is the
    largest singular value of :math:`D^{1/2}PD^{-1/2} - \sqrt\pi\sqrt\pi^\top`, :math:`D =
    \operatorname{diag}\pi` (over the states whose :math:`\pi` is not 0 in float64). The relative error of
    :math:`\tau_f` grows like machine epsilon times :math:`1/(1 - \lambda_\star)`.

    References
    ----------
    Kemeny, J. G. & Snell, J. L. (1960) *Finite Markov Chains*, Van Nostrand (the fundamental matrix);
    Sokal, A. D. (1997) "Monte Carlo methods in statistical mechanics: foundations and new algorithms", in
    *Functional Integration* (Springer), 131-192 (:math:`\tau_{\rm int}`, :math:`\tau_{\rm exp}`); Fill, J. A.
    (1991) Ann. Appl. Probab. 1, 62-87 (:math:`\|P\|_0` for nonreversible chains).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, exact_autocorrelation_time
    >>> z = DTM.zeros(2, [0.5], neighbourhood=4)  # a ferromagnetic ring of 4 pixels, no conditioning
    >>> ebm = DTM(2, z.edges, np.full((1, 4), 0.6), np.zeros((1, 4)), [0.5])
    >>> m = exact_autocorrelation_time(ebm, 1, [0, 0, 0, 0], "magnetization")
    >>> print(m.tau.round(3), m.tau_exp.round(3), m.slem.round(4), m.norm.round(4), m.tau_bound.round(2))
    [6.012] [2.748] [0.695] [0.8337] [11.02]
    """
    dtm = _check_dtm(dtm)
    t = _check_step(dtm, t)
    _check_small(dtm)
    xt = _check_pixels(x_t, "x_t", dtm.n)
    obs = _check_observable(observable)
    B, M = xt.shape[0], 2**dtm.n
    check_allocation((4, B, M, M), "x_t")
    c = _check_colours(dtm, t, xt, colours)  # (B, n)
    P = _sweep_matrices(dtm, t, xt, c)  # (B, M, M)
    states, pi = exact_step_law(dtm, t, xt)  # (M, n), (B, M)
    one_pi = np.broadcast_to(pi[:, None, :], (B, M, M))  # rows of 1 pi^T
    slem, norm = _spectral(dtm, t, xt, P, pi, c)
    f = _exact_values(dtm, t, xt, states, obs)  # (B, M, k)
    f = f - np.einsum("bm,bmk->bk", pi, f)[:, None, :]  # centred under pi
    var = np.einsum("bm,bmk->bk", pi, f * f)  # (B, k)
    mixes = 1.0 - slem >= 2.0**-40  # (B,) else the chain does not mix within float64: tau = inf
    A = np.where(mixes[:, None, None], np.eye(M) - P + one_pi, np.eye(M))  # (B, M, M), Z^-1 where it exists
    g = np.linalg.solve(A, f)  # (B, M, k) = Z f
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tau = (2.0 * np.einsum("bm,bmk->bk", pi, f * g) - var) / var  # (B, k)
        tau_exp = -1.0 / np.log(slem)
        tau_bound = np.where(1.0 - norm >= 2.0**-40, (1.0 + norm) / (1.0 - norm), np.inf)
    tau = np.where(var > 0, np.where(mixes[:, None] & np.isfinite(tau), tau, np.inf), 1.0)
    tau_exp = np.where(slem > 0, np.where(mixes, tau_exp, np.inf), 0.0)
    return ExactMixing(tau if obs == "pixels" else tau[:, 0], slem, tau_exp, norm, tau_bound, obs)
