"""Goodness-of-fit statistics for testing samplers against exact laws, with stated error rates.

Used by thermoref's own tests, by the book, and by anyone checking a sampler or a piece of sampling hardware
against thermoref as a golden model. Every test returns a :class:`GoodnessOfFit` with the statistic, its
p-value under the null hypothesis "the sampler draws from the stated law", and a verdict at level ``alpha``.

How to choose ``alpha`` and the sample size
-------------------------------------------
``alpha`` is the false-positive rate: the probability that a *correct* sampler fails the test for an unlucky
seed. With a fixed seed a test either always passes or always fails, but ``alpha`` still states how unlikely
the chosen seed was to be a bad one; ``1e-3`` (the default) keeps a suite of a few hundred statistical tests
quiet (expect one spurious failure per thousand tests) while leaving power. The sample size sets the power:
the probability that a *wrong* sampler (a temperature off by 5 %, a missing factor 2) is caught.
:func:`chi_square_sample_size` and :func:`z_sample_size` compute the sample size that catches a stated
alternative with a stated power, so a test is sized from the bug it must catch rather than by trial.
Worked numbers at ``alpha = 1e-3``, power 0.99 (computed by those functions):

* a 10-level Gibbs law with logits ``linspace(0, 3, 10)``: ``beta`` off by 5 % needs K = 35,622 draws; a
  factor 2 in ``beta`` needs K = 174; with 100 levels (logits ``linspace(0, 3, 100)``) the 5 % error needs
  K = 83,375;
* a mean shift of 5 % of one standard deviation (z-test): n = 12,620;
* a 5 % scale error of a Gaussian (KS): power about 0.7 at n = 2 × 10^4 (measured by :func:`rejection_rate`).

The calibration in ``tests/test_testing.py`` checks both sides: over many seeds a correct sampler is
rejected at rate ``alpha`` (within its binomial error) and a wrong one at the power these functions predict.

Markov chains: these tests assume independent draws. Use many independent chains (one draw from each) or
thin by a measured autocorrelation time; never feed raw autocorrelated draws to a chi-square.

References: Cochran, W. G. (1952) "The chi-square test of goodness of fit", Ann. Math. Stat. 23, 315–345;
Massey, F. J. (1951) "The Kolmogorov–Smirnov test for goodness of fit", JASA 46, 68–78.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from ._validation import as_float_array, as_rng, check_positive_int, check_probability

__all__ = [
    "GoodnessOfFit",
    "chi_square_test",
    "ks_test",
    "z_test",
    "z_test_mean",
    "chi_square_sample_size",
    "z_sample_size",
    "enumerate_states",
    "state_index",
    "empirical_law",
    "rejection_rate",
]


@dataclass(frozen=True)
class GoodnessOfFit:
    """The outcome of a goodness-of-fit test.

    Attributes
    ----------
    test : str
        Which test ("chi-square", "KS", "z").
    statistic : float
        The test statistic (chi-square sum, KS distance D, or z-score).
    pvalue : float
        Probability, under the null hypothesis, of a statistic at least as extreme.
    alpha : float
        The level: the false-positive rate of the verdict.
    dof : int or None
        Degrees of freedom (chi-square only).
    n : int
        Number of samples behind the statistic.
    """

    test: str
    statistic: float
    pvalue: float
    alpha: float
    dof: int | None
    n: int

    @property
    def reject(self) -> bool:
        """True when the null hypothesis is rejected at level ``alpha`` (the sampler looks wrong)."""
        return bool(self.pvalue < self.alpha)

    @property
    def passed(self) -> bool:
        """True when the sample is consistent with the law at level ``alpha``."""
        return not self.reject

    def __str__(self) -> str:
        verdict = "REJECT" if self.reject else "pass"
        dof = f", dof={self.dof}" if self.dof is not None else ""
        return f"{self.test}: statistic={self.statistic:.4g}{dof}, n={self.n}, p={self.pvalue:.3g} at alpha={self.alpha:g}: {verdict}"


def _pool_small_bins(observed: np.ndarray, expected: np.ndarray, min_expected: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge the bins of smallest expected count until every bin expects at least ``min_expected``.

    Bins are pooled from the smallest expected count upward into one tail bin (Cochran's rule); a bin with
    zero expected count is always pooled, and an observed count in it then shows up as a misfit of the pool.
    """
    order = np.argsort(expected, kind="stable")
    e_sorted, o_sorted = expected[order], observed[order]
    tail = np.cumsum(e_sorted)
    # Smallest number of smallest bins whose pooled expectation reaches the threshold (0 if none needed).
    need = e_sorted < min_expected
    if not need.any():
        return observed, expected
    k = int(np.searchsorted(tail, min_expected, side="left")) + 1
    k = max(k, int(np.count_nonzero(need)))
    k = min(k, e_sorted.size)
    pooled_e = np.concatenate([[e_sorted[:k].sum()], e_sorted[k:]])
    pooled_o = np.concatenate([[o_sorted[:k].sum()], o_sorted[k:]])
    return pooled_o, pooled_e


def chi_square_test(
    counts: ArrayLike,
    p: ArrayLike,
    *,
    alpha: float = 1e-3,
    min_expected: float = 5.0,
    ddof: int = 0,
) -> GoodnessOfFit:
    r"""Pearson's chi-square test of observed category counts against an exact law.

    Parameters
    ----------
    counts : array_like of shape (..., n)
        Observed counts per category. Leading axes are independent rows, each tested against its own row of
        ``p``; their statistics and degrees of freedom add.
    p : array_like of shape (..., n)
        The exact law (rows summing to 1), broadcastable to ``counts``.
    alpha : float
        Level of the test (false-positive rate).
    min_expected : float
        Categories expecting fewer than this many counts are pooled (Cochran's rule, default 5).
    ddof : int
        Extra degrees of freedom to remove (parameters fitted from the same data).

    Returns
    -------
    GoodnessOfFit

    Notes
    -----
    The statistic is :math:`X^2 = \sum_i (O_i - E_i)^2 / E_i` with :math:`E_i = K p_i`; under the null it is
    asymptotically :math:`\chi^2_{m-1-\mathrm{ddof}}` with :math:`m` the number of bins after pooling. Against
    an alternative law :math:`q` it is noncentral with :math:`\lambda = K \sum_i (q_i - p_i)^2 / p_i`,
    which :func:`chi_square_sample_size` inverts. Choosing ``K``: compute the law ``q`` of the plausible bug
    (``softmax(1.05 * beta * logits)`` for a 5 % temperature error, ``softmax(2 * beta * logits)`` for a
    missing factor 2) and take ``K = chi_square_sample_size(p, q, alpha=alpha, power=0.99)``. An observed
    count in a category with :math:`p_i = 0` makes the statistic infinite (p-value 0), never pooled away.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.testing import chi_square_test
    >>> rng = np.random.default_rng(0)
    >>> p = np.array([0.5, 0.3, 0.2])
    >>> counts = np.bincount(rng.choice(3, size=10_000, p=p), minlength=3)
    >>> chi_square_test(counts, p).passed
    True
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    counts = as_float_array(counts, "counts", min_ndim=1)
    p = as_float_array(p, "p", min_ndim=1)
    if (counts < 0).any():
        raise ValueError("counts: must be non-negative")
    if (p < 0).any():
        raise ValueError("p: probabilities must be non-negative")
    try:
        counts, p = np.broadcast_arrays(counts, p)
    except ValueError as exc:
        raise ValueError(f"p: shape {p.shape} does not broadcast to counts' shape {counts.shape}") from exc
    rows_o = counts.reshape(-1, counts.shape[-1])
    rows_p = p.reshape(-1, p.shape[-1])
    sums = rows_p.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"p: each row must sum to 1, got sums in [{sums.min()!r}, {sums.max()!r}]")
    stat, dof = 0.0, 0
    # A draw in a category of probability exactly zero is impossible under the null: reject outright,
    # before pooling could hide it among other small bins (a sampler returning a masked token must fail).
    impossible = bool(((rows_o > 0) & (rows_p == 0)).any())
    # Rows are pooled one by one: pooling is data-dependent per row. This is a test helper, not a hot path.
    for o, q in zip(rows_o, rows_p):
        K = o.sum()
        o_pooled, e_pooled = _pool_small_bins(o, K * q, min_expected)
        nonzero = e_pooled > 0
        if (o_pooled[~nonzero] > 0).any():
            stat = np.inf
        stat += float(np.sum((o_pooled[nonzero] - e_pooled[nonzero]) ** 2 / e_pooled[nonzero]))
        dof += int(np.count_nonzero(nonzero)) - 1
    dof -= int(ddof)
    if dof < 1:
        raise ValueError("counts: too few samples or categories for a chi-square test after pooling small bins")
    if impossible:
        stat = np.inf
    pvalue = 0.0 if np.isinf(stat) else float(stats.chi2.sf(stat, dof))
    return GoodnessOfFit("chi-square", float(stat), pvalue, alpha, dof, int(rows_o.sum()))


def ks_test(samples: ArrayLike, cdf: Callable[[np.ndarray], np.ndarray] | str, *, alpha: float = 1e-3, args: tuple = ()) -> GoodnessOfFit:
    r"""One-sample Kolmogorov–Smirnov test of continuous samples against an exact CDF.

    Parameters
    ----------
    samples : array_like
        Independent draws (flattened).
    cdf : callable or str
        The exact cumulative distribution function, or the name of a ``scipy.stats`` distribution.
    alpha : float
        Level of the test.
    args : tuple
        Extra arguments to ``cdf``.

    Notes
    -----
    :math:`D = \sup_x |\hat F(x) - F(x)|`; its null law is distribution-free for a continuous :math:`F`.
    A location shift :math:`\delta` (in units of the standard deviation) is caught once
    :math:`\sqrt{n}\,\delta\,f_{\max} \gtrsim 2`; a 5 % scale error of a Gaussian needs about
    :math:`n \approx 2\times 10^4` at :math:`\alpha = 10^{-3}` for power about 0.7 (measured in
    ``tests/test_testing.py``; the z-test on the sample variance is more powerful for a pure scale error). Use standardized values to test many
    different Gaussians at once.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.testing import ks_test
    >>> x = np.random.default_rng(1).standard_normal(5000)
    >>> ks_test(x, "norm").passed
    True
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    x = as_float_array(samples, "samples").ravel()
    if x.size < 2:
        raise ValueError("samples: need at least 2 samples")
    res = stats.kstest(x, cdf, args=args)
    return GoodnessOfFit("KS", float(res.statistic), float(res.pvalue), alpha, None, int(x.size))


def z_test(estimate: float, expected: float, std_error: float, *, alpha: float = 1e-3, n: int = 1) -> GoodnessOfFit:
    r"""Two-sided z-test of an estimate against its exact expectation with a known standard error.

    :math:`z = (\hat\theta - \theta)/\mathrm{se}`, standard normal under the null (exactly, for Gaussian
    estimates; by the central limit theorem otherwise).
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    se = float(as_float_array(std_error, "std_error"))
    if not se > 0:
        raise ValueError(f"std_error: must be positive, got {se!r}")
    z = (float(as_float_array(estimate, "estimate")) - float(as_float_array(expected, "expected"))) / se
    return GoodnessOfFit("z", z, float(2 * stats.norm.sf(abs(z))), alpha, None, int(n))


def z_test_mean(samples: ArrayLike, mean: float, variance: float, *, alpha: float = 1e-3) -> GoodnessOfFit:
    r"""z-test of a sample mean against the exact mean, with the exact variance of one draw.

    Parameters
    ----------
    samples : array_like
        Independent draws (flattened).
    mean, variance : float
        The exact mean and variance of one draw under the null law.

    Notes
    -----
    :math:`z = (\bar x - \mu)\sqrt{n}/\sigma`. To catch a mean shift :math:`\delta` with power
    :math:`1-\beta` take :math:`n \ge \sigma^2 (z_{1-\alpha/2} + z_{1-\beta})^2/\delta^2`
    (:func:`z_sample_size`).
    """
    x = as_float_array(samples, "samples").ravel()
    if x.size < 1:
        raise ValueError("samples: empty")
    var = float(as_float_array(variance, "variance"))
    if not var > 0:
        raise ValueError(f"variance: must be positive, got {var!r}")
    return z_test(float(x.mean()), mean, np.sqrt(var / x.size), alpha=alpha, n=x.size)


def chi_square_sample_size(p: ArrayLike, q: ArrayLike, *, alpha: float = 1e-3, power: float = 0.99) -> int:
    r"""Number of draws for which a chi-square test of law ``p`` catches draws from law ``q`` with ``power``.

    Uses the noncentral chi-square approximation with :math:`\lambda = K\sum_i (q_i-p_i)^2/p_i` and
    :math:`n-1` degrees of freedom (no pooling), over the categories with :math:`p_i > 0` (masked categories,
    zero under both laws, are dropped).
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    power = check_probability(power, "power", open_interval=True)
    p = as_float_array(p, "p", ndim=1)
    q = as_float_array(q, "q", ndim=1)
    if p.shape != q.shape:
        raise ValueError(f"q: shape {q.shape} differs from p's {p.shape}")
    if (p < 0).any() or (q < 0).any():
        raise ValueError("p: probabilities must be non-negative")
    if ((p == 0) & (q > 0)).any():
        raise ValueError("q: puts mass where p has none; a single draw there is rejected outright (no chi-square sizing)")
    p, q = p[p > 0], q[p > 0]  # categories impossible under both laws carry no information
    phi2 = float(np.sum((q - p) ** 2 / p))
    if phi2 == 0:
        raise ValueError("q: equals p; no sample size distinguishes them")
    dof = p.size - 1
    crit = stats.chi2.isf(alpha, dof)
    lo, hi = 1, 2
    while stats.ncx2.sf(crit, dof, hi * phi2) < power:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if stats.ncx2.sf(crit, dof, mid * phi2) < power:
            lo = mid
        else:
            hi = mid
    return hi


def z_sample_size(delta: float, sigma: float, *, alpha: float = 1e-3, power: float = 0.99) -> int:
    r"""Number of draws for a two-sided z-test at ``alpha`` to detect a mean shift ``delta`` with ``power``.

    :math:`n = \lceil \sigma^2 (z_{1-\alpha/2} + z_{\mathrm{power}})^2/\delta^2 \rceil`.
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    power = check_probability(power, "power", open_interval=True)
    if not (delta != 0 and np.isfinite(delta)):
        raise ValueError(f"delta: must be finite and non-zero, got {delta!r}")
    if not (sigma > 0 and np.isfinite(sigma)):
        raise ValueError(f"sigma: must be finite and positive, got {sigma!r}")
    z = stats.norm.isf(alpha / 2) + stats.norm.ppf(power)
    return int(np.ceil(sigma**2 * z**2 / delta**2))


def enumerate_states(n: int, values: tuple[int, int] = (-1, 1)) -> np.ndarray:
    """All ``2**n`` configurations of ``n`` binary units, as an int8 array of shape (2**n, n).

    Row ``k`` is the binary expansion of ``k`` with the most significant unit first, mapped to ``values``
    (``(-1, 1)`` for spins, ``(0, 1)`` for bits), so that :func:`state_index` inverts it.
    """
    n = check_positive_int(n, "n")
    if n > 24:
        raise ValueError(f"n: enumeration of 2**{n} states is too large (n <= 24)")
    if len(values) != 2:
        raise ValueError(f"values: expected two values, got {values!r}")
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1  # (2**n, n)
    lo, hi = values
    return np.where(bits == 1, hi, lo).astype(np.int8)


def state_index(states: ArrayLike, values: tuple[int, int] = (-1, 1)) -> np.ndarray:
    """Index in :func:`enumerate_states` order of each configuration in ``states`` (shape (..., n))."""
    s = np.asarray(states)
    if s.ndim < 1:
        raise ValueError("states: expected at least one dimension (the units)")
    hi = values[1]
    if not np.isin(s, values).all():
        raise ValueError(f"states: entries must be in {values}")
    n = s.shape[-1]
    weights = 1 << np.arange(n - 1, -1, -1, dtype=np.int64)
    return ((s == hi).astype(np.int64) * weights).sum(axis=-1)


def empirical_law(states: ArrayLike, values: tuple[int, int] = (-1, 1)) -> np.ndarray:
    """Counts of each of the ``2**n`` configurations among the rows of ``states`` (shape (K, n))."""
    s = np.asarray(states)
    if s.ndim != 2:
        raise ValueError(f"states: expected shape (K, n), got {s.shape}")
    return np.bincount(state_index(s, values), minlength=2 ** s.shape[1])


def rejection_rate(trial: Callable[[np.random.Generator], GoodnessOfFit], n_trials: int, *, rng: object) -> tuple[float, float]:
    r"""Fraction of ``n_trials`` independent runs of a test that reject, and its binomial standard error.

    Parameters
    ----------
    trial : callable
        ``trial(rng) -> GoodnessOfFit``: draws fresh samples with the Generator it is given and tests them.
    n_trials : int
        Number of independent trials; each gets its own child stream of ``rng`` (``Generator.spawn``).
    rng : numpy.random.Generator or int
        Parent source of randomness.

    Returns
    -------
    rate : float
        Observed rejection rate: estimates ``alpha`` for a correct sampler, the power for a wrong one.
    std_error : float
        :math:`\sqrt{\hat r(1-\hat r)/N}` (use the nominal rate instead when testing calibration).

    Notes
    -----
    This is how to calibrate a statistic (or a piece of hardware): over many seeds a correct sampler must be
    rejected at rate :math:`\alpha` within :math:`\sqrt{\alpha(1-\alpha)/N}`, and a sampler with the bug
    one cares about at the power predicted by :func:`chi_square_sample_size` or :func:`z_sample_size`.

    Examples
    --------
    >>> import numpy as np
    >>> trial = lambda g: z_test_mean(g.standard_normal(100), 0.0, 1.0, alpha=0.05)
    >>> rate, se = rejection_rate(trial, 400, rng=0)
    >>> bool(abs(rate - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 400))
    True
    """
    n_trials = check_positive_int(n_trials, "n_trials")
    parent = as_rng(rng)
    rejected = sum(trial(child).reject for child in parent.spawn(n_trials))  # loop over independent trials
    rate = rejected / n_trials
    return rate, float(np.sqrt(rate * (1 - rate) / n_trials))
