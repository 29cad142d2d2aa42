r"""The forward (noising) process of a denoising thermodynamic model: independent bit flips, exactly.

At step :math:`t = 1, \dots, T` every pixel flips independently with probability :math:`q_t \in (0, \tfrac12]`.
In spins :math:`s = 2x - 1` the one-step kernel is a product of two-state laws,

.. math:: p(s_t \mid s_{t-1}) = \prod_i \frac{e^{\gamma_t s_{t,i} s_{t-1,i}}}{2\cosh\gamma_t},
          \qquad \gamma_t = \operatorname{artanh}(1 - 2q_t) = \tfrac12 \ln\frac{1 - q_t}{q_t},

so the reverse conditional :math:`p(s_{t-1} \mid s_t) \propto p(s_{t-1})\,e^{\gamma_t s_{t-1}\cdot s_t}` sees
the noisier image only through fields :math:`\gamma_t s_t` (:mod:`thermoref.dtm.model`). Flips compose by
multiplying correlations: :math:`\mathbb{E}[s_{t,i} s_{0,i}] = \prod_{u \le t}(1 - 2q_u)`, so the marginal
after :math:`t` steps is again independent flips with probability :math:`\bar q_t = (1 - \prod_{u\le t}(1 -
2q_u))/2`. Pixels are ``int8`` in {0, 1}, images flattened to shape (N, n).

References: Sohl-Dickstein, J. et al. (2015) "Deep unsupervised learning using nonequilibrium
thermodynamics", ICML (the diffusion construction; binomial noise); Jelinčič, A. et al. (2025) "An efficient
probabilistic hardware architecture for diffusion-like models", arXiv:2510.23972 (the denoising thermodynamic
model).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real

__all__ = ["SCHEDULE_KINDS", "flip_schedule", "cumulative_flip", "start_error_bound", "coupling_strength", "forward_sample", "forward_path"]

#: The shapes of :func:`flip_schedule`.
SCHEDULE_KINDS = ("equal", "linear")


def _check_flip(flip: ArrayLike, name: str = "flip") -> np.ndarray:
    """Per-step flip probabilities, shape (T,), each in (0, 1/2]."""
    q = as_float_array(flip, name, ndim=1)
    if q.size == 0:
        raise ValueError(f"{name}: expected at least one step, got shape (0,)")
    if not ((q > 0) & (q <= 0.5)).all():
        raise ValueError(f"{name}: every flip probability must lie in (0, 1/2], got {q[~((q > 0) & (q <= 0.5))][0]!r}")
    return q


def _check_pixels(x: ArrayLike, name: str, n: int | None = None) -> np.ndarray:
    """Images as int8 (N, n) in {0, 1}; a single image (n,) becomes (1, n)."""
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)
                                 or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name}: expected an array of pixels in {{0, 1}}, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected pixels of shape (N, n) or (n,), got shape {np.shape(x)}")
    if n is not None and a.shape[1] != n:
        raise ValueError(f"{name}: expected {n} pixels per image, got {a.shape[1]}")
    if not ((a == 0) | (a == 1)).all():
        raise ValueError(f"{name}: pixels must be 0 or 1")
    return a.astype(np.int8)


def flip_schedule(n_steps: int, final_correlation: float = 0.02, kind: str = "equal") -> np.ndarray:
    r"""Per-step flip probabilities after which a pixel keeps correlation ``final_correlation`` with the data.

    Parameters
    ----------
    n_steps : int
        Number of steps :math:`T \ge 1`.
    final_correlation : float
        :math:`c_T = \mathbb{E}[s_{T,i}s_{0,i}] \in [0, 1)`; 0 makes the last step a full randomization
        (:math:`q_T = 1/2`, which with :math:`T = 1` is the single energy-based model of the data).
    kind : {"equal", "linear"}
        ``"equal"``: the same flip probability at every step; ``"linear"``: the flip probability of the
        marginal, :math:`\bar q_t`, grows linearly in :math:`t` (small flips first, large ones last).

    Returns
    -------
    ndarray of float64, shape (n_steps,)
        :math:`q_t`.

    Notes
    -----
    Step :math:`t` multiplies the correlation :math:`c_t = 1 - 2\bar q_t` by :math:`r_t = 1 - 2q_t`. Equal
    steps: :math:`r^T = c_T`, so

    .. math:: q_t = \frac{1 - c_T^{1/T}}{2}.

    Linear: :math:`c_t = 1 - \tfrac{t}{T}(1 - c_T)` and :math:`q_t = (1 - c_t/c_{t-1})/2`, the binary analogue
    of a diffusion schedule whose marginal noise grows evenly: the low-noise steps, where the data's structure
    lives, flip few pixels and couple strongly to the noisier image; the last steps, whose images are nearly
    uniform anyway, flip many.

    The reverse coupling is :math:`\gamma = \operatorname{artanh} r`; for large :math:`T`,
    :math:`1 - r \approx \ln(1/c_T)/T` and :math:`\gamma \approx \tfrac12\ln\bigl(2T/\ln(1/c_T)\bigr)`: more
    steps, stronger conditioning on the
    noisier image, each step closer to independent pixels. Generation starts from uniform :math:`x_T`; how
    far that is from the true marginal is bounded by :func:`start_error_bound`.

    References
    ----------
    Sohl-Dickstein, J. et al. (2015) "Deep unsupervised learning using nonequilibrium thermodynamics", ICML.

    Examples
    --------
    >>> from thermoref.dtm import flip_schedule, cumulative_flip
    >>> q = flip_schedule(4, final_correlation=0.0625)
    >>> print(q, cumulative_flip(q))
    [0.25 0.25 0.25 0.25] [0.25    0.375   0.4375  0.46875]
    >>> print(cumulative_flip(flip_schedule(4, 0.0, kind="linear")))  # the marginal flip grows evenly
    [0.125 0.25  0.375 0.5  ]
    """
    T = check_positive_int(n_steps, "n_steps")
    check_allocation(T, "n_steps")
    c = check_real(final_correlation, "final_correlation", nonnegative=True)
    if not c < 1:
        raise ValueError(f"final_correlation: must be < 1, got {c!r}")
    if not isinstance(kind, str) or kind not in SCHEDULE_KINDS:
        raise ValueError(f"kind: expected one of {SCHEDULE_KINDS}, got {kind!r}")
    if kind == "equal":
        return np.full(T, (1.0 - c ** (1.0 / T)) / 2.0)
    corr = 1.0 - np.arange(T + 1) / T * (1.0 - c)  # (T + 1,) c_0 = 1 .. c_T
    return np.minimum((1.0 - corr[1:] / corr[:-1]) / 2.0, 0.5)


def cumulative_flip(flip: ArrayLike) -> np.ndarray:
    r"""Flip probability of the marginal :math:`p(x_t \mid x_0)` after each step: :math:`\bar q_t`.

    Parameters
    ----------
    flip : array_like of shape (T,)
        Per-step flip probabilities :math:`q_t \in (0, 1/2]`.

    Returns
    -------
    ndarray of float64, shape (T,)
        :math:`\bar q_t = \bigl(1 - \prod_{u \le t}(1 - 2q_u)\bigr)/2`.

    Notes
    -----
    Two independent flips with probabilities :math:`a, b` compose to one with probability
    :math:`a(1-b) + b(1-a)`, i.e. :math:`1 - 2\bar q = (1-2a)(1-2b)`: correlations multiply.

    References
    ----------
    Feller, W. (1968) *An Introduction to Probability Theory and Its Applications*, vol. 1, 3rd ed., Wiley
    (the two-state Markov chain).

    Examples
    --------
    >>> from thermoref.dtm import cumulative_flip
    >>> print(cumulative_flip([0.1, 0.1]))  # 0.1 * 0.9 + 0.9 * 0.1
    [0.1  0.18]
    """
    q = _check_flip(flip)
    return (1.0 - np.cumprod(1.0 - 2.0 * q)) / 2.0


def coupling_strength(flip: ArrayLike) -> np.ndarray:
    r"""The reverse conditional's coupling to the noisier image, :math:`\gamma_t = \operatorname{artanh}(1 - 2q_t)`.

    Parameters
    ----------
    flip : array_like of shape (T,)
        Per-step flip probabilities :math:`q_t \in (0, 1/2]`.

    Returns
    -------
    ndarray of float64, shape (T,)
        :math:`\gamma_t \ge 0` (0 where :math:`q_t = 1/2`).

    Notes
    -----
    :math:`P(s_{t,i} = s_{t-1,i}) / P(s_{t,i} \ne s_{t-1,i}) = (1-q_t)/q_t = e^{2\gamma_t}`.

    References
    ----------
    Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like models",
    arXiv:2510.23972.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import coupling_strength
    >>> print(coupling_strength([0.5, 0.1]).round(6), round(0.5 * np.log(9), 6))
    [0.       1.098612] 1.098612
    """
    q = _check_flip(flip)
    return _gamma(q)


def _gamma(q: np.ndarray) -> np.ndarray:
    """artanh(1 - 2q) as (ln(1 - q) - ln q) / 2: finite for every q > 0 (1 - 2q rounds to 1 below 1e-17)."""
    return 0.5 * (np.log1p(-q) - np.log(q))


def start_error_bound(flip: ArrayLike, n_pixels: int) -> float:
    r"""Bound on the total-variation distance between the true :math:`p(x_T)` and the uniform start of generation.

    Parameters
    ----------
    flip : array_like of shape (T,)
        Per-step flip probabilities.
    n_pixels : int
        Pixels per image :math:`n \ge 1`.

    Returns
    -------
    float
        :math:`\sqrt{n f(c_T)/2}` (capped at 1), with :math:`c_T = \prod_t (1 - 2q_t)` and
        :math:`f(c) = \tfrac{1+c}{2}\ln(1+c) + \tfrac{1-c}{2}\ln(1-c)`.

    Notes
    -----
    Given :math:`x_0`, the pixels of :math:`x_T` are independent coins with :math:`P(x_{T,i} = x_{0,i}) =
    (1 + c_T)/2`, each at Kullback-Leibler divergence :math:`f(c_T)` from a fair coin. KL is convex, so the
    mixture over :math:`x_0` is within :math:`n f(c_T)` of uniform, and Pinsker's inequality
    :math:`\mathrm{TV} \le \sqrt{\mathrm{KL}/2}` gives the bound; :math:`f(c) \approx c^2/2`, so it is about
    :math:`c_T\sqrt{n}/2`. It does not depend on the data.

    References
    ----------
    Cover, T. M. & Thomas, J. A. (2006) *Elements of Information Theory*, 2nd ed., Wiley, Lemma 11.6.1
    (Pinsker's inequality) and Theorem 2.7.2 (convexity of relative entropy).

    Examples
    --------
    >>> from thermoref.dtm import flip_schedule, start_error_bound
    >>> print(round(start_error_bound(flip_schedule(8, 0.002), 100), 6))
    0.01
    """
    q = _check_flip(flip)
    n = check_positive_int(n_pixels, "n_pixels")
    c = float(np.prod(1.0 - 2.0 * q))
    f = 0.5 * ((1 + c) * np.log1p(c) + (1 - c) * np.log1p(-c)) if c < 1 else np.log(2.0)
    return float(min(1.0, np.sqrt(n * f / 2.0)))


def forward_sample(x0: ArrayLike, flip: ArrayLike, t: int, *, rng: np.random.Generator | int) -> np.ndarray:
    r"""Draw :math:`x_t \sim p(x_t \mid x_0)`: each pixel flipped with probability :math:`\bar q_t`.

    Parameters
    ----------
    x0 : array_like of int, shape (N, n) or (n,)
        Clean images, pixels in {0, 1}.
    flip : array_like of shape (T,)
        Per-step flip probabilities.
    t : int
        Step, :math:`0 \le t \le T` (0 returns a copy of ``x0``).
    rng : numpy.random.Generator or int
        Source of randomness.

    Returns
    -------
    ndarray of int8, shape (N, n)
        :math:`x_t = x_0 \oplus b` with independent :math:`b_i \sim \mathrm{Bernoulli}(\bar q_t)`.

    Notes
    -----
    The marginal of :math:`t` composed flips is one flip with :math:`\bar q_t` (:func:`cumulative_flip`).

    References
    ----------
    Sohl-Dickstein, J. et al. (2015) "Deep unsupervised learning using nonequilibrium thermodynamics", ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import forward_sample
    >>> x = forward_sample(np.zeros((20000, 1), dtype=np.int8), [0.1, 0.1], 2, rng=0)
    >>> print(round(float(x.mean()), 2))  # 0.18
    0.18
    """
    q = _check_flip(flip)
    t = check_positive_int(t, "t", minimum=0)
    if t > q.size:
        raise ValueError(f"t: must be <= the number of steps {q.size}, got {t}")
    x = _check_pixels(x0, "x0")
    rng = as_rng(rng)
    if t == 0:
        return x.copy()
    qbar = (1.0 - np.prod(1.0 - 2.0 * q[:t])) / 2.0
    return x ^ (rng.random(x.shape) < qbar).astype(np.int8)


def forward_path(x0: ArrayLike, flip: ArrayLike, *, rng: np.random.Generator | int) -> np.ndarray:
    r"""One forward trajectory per image: :math:`x_0, x_1, \dots, x_T`, flipping step by step.

    Parameters
    ----------
    x0 : array_like of int, shape (N, n) or (n,)
        Clean images, pixels in {0, 1}.
    flip : array_like of shape (T,)
        Per-step flip probabilities.
    rng : numpy.random.Generator or int
        Source of randomness.

    Returns
    -------
    ndarray of int8, shape (T + 1, N, n)
        ``out[t]`` is :math:`x_t`; ``out[0]`` is ``x0``. Consecutive pairs :math:`(x_{t-1}, x_t)` are the
        training pairs of reverse step :math:`t`.

    Notes
    -----
    :math:`x_t = x_{t-1} \oplus b_t`, :math:`b_{t,i} \sim \mathrm{Bernoulli}(q_t)` independent: a Markov chain,
    so each pair has the joint law :math:`p(x_{t-1})\,p(x_t \mid x_{t-1})`.

    References
    ----------
    Sohl-Dickstein, J. et al. (2015) "Deep unsupervised learning using nonequilibrium thermodynamics", ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import forward_path
    >>> path = forward_path(np.zeros((3, 4), dtype=np.int8), [0.25, 0.5], rng=0)
    >>> path.shape, path.dtype
    ((3, 3, 4), dtype('int8'))
    """
    q = _check_flip(flip)
    x = _check_pixels(x0, "x0")
    rng = as_rng(rng)
    check_allocation((q.size,) + x.shape, "x0", itemsize=8)
    flips = (rng.random((q.size,) + x.shape) < q[:, None, None]).astype(np.int8)  # (T, N, n)
    path = np.empty((q.size + 1,) + x.shape, dtype=np.int8)
    path[0] = x
    path[1:] = x[None] ^ np.bitwise_xor.accumulate(flips, axis=0)
    return path
