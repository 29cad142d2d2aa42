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
from scipy import special, stats

from ._validation import (
    as_float_array,
    as_rng,
    check_allocation,
    check_callable,
    check_positive_int,
    check_probability,
    check_real,
    check_returned,
)

__all__ = [
    "GoodnessOfFit",
    "chi_square_test",
    "ks_test",
    "z_test",
    "z_test_mean",
    "chi_square_sample_size",
    "chi_square_power",
    "z_sample_size",
    "enumerate_states",
    "state_index",
    "empirical_law",
    "rejection_rate",
]


@dataclass(frozen=True)
class GoodnessOfFit:
    r"""The outcome of a goodness-of-fit test.

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

    Notes
    -----
    The verdict rejects the null hypothesis when :math:`p < \alpha`: a correct sampler is rejected with
    probability :math:`\alpha` (over seeds), a wrong one with the test's power.

    Examples
    --------
    >>> from thermoref.testing import z_test
    >>> r = z_test(0.1, 0.0, 0.05)
    >>> print(f"{r.statistic:.2f} {r.pvalue:.4f} {r.passed}")
    2.00 0.0455 True
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
        """One line: the test, its statistic, degrees of freedom, sample size, p-value and verdict."""
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



def _law_rows(p: ArrayLike, name: str, *, ndim: int | None = None) -> np.ndarray:
    """A law (or rows of laws) on the last axis: non-negative, non-empty, each row summing to 1 within 1e-9."""
    p = as_float_array(p, name, min_ndim=1, ndim=ndim)
    if p.shape[-1] == 0:
        raise ValueError(f"{name}: the last axis (categories) is empty")
    if (p < 0).any():
        raise ValueError(f"{name}: probabilities must be non-negative")
    with np.errstate(over="ignore"):  # entries near 1e308 sum to inf: caught as not summing to 1
        sums = p.reshape(-1, p.shape[-1]).sum(axis=1)
    if sums.size and not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"{name}: each row must sum to 1, got sums in [{sums.min()!r}, {sums.max()!r}]")
    return p


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
        Observed counts per category (non-negative). Leading axes are independent rows, each tested against
        its own row of ``p``; their statistics and degrees of freedom add.
    p : array_like of shape (..., n)
        The exact law (rows summing to 1), broadcastable to ``counts``.
    alpha : float
        Level of the test (false-positive rate), in (0, 1).
    min_expected : float
        Categories expecting fewer than this many counts are pooled (Cochran's rule, default 5); finite and
        non-negative, at most the number of draws of every row.
    ddof : int
        Extra degrees of freedom to remove (parameters fitted from the same data), non-negative.

    Returns
    -------
    GoodnessOfFit
        ``test = "chi-square"``; the statistic is ``inf`` (p-value 0) when a category of probability zero
        was observed.

    Notes
    -----
    The statistic is :math:`X^2 = \sum_i (O_i - E_i)^2 / E_i` with :math:`E_i = K p_i`; under the null it is
    asymptotically :math:`\chi^2_{m-1-\mathrm{ddof}}` with :math:`m` the number of bins after pooling. Against
    an alternative law :math:`q` it is noncentral with :math:`\lambda = K \sum_i (q_i - p_i)^2 / p_i`,
    which :func:`chi_square_sample_size` inverts. Choosing ``K``: compute the law ``q`` of the plausible bug
    (``softmax(1.05 * beta * logits)`` for a 5 % temperature error, ``softmax(2 * beta * logits)`` for a
    missing factor 2) and take ``K = chi_square_sample_size(p, q, alpha=alpha, power=0.99)``. An observed
    count in a category with :math:`p_i = 0` makes the statistic infinite (p-value 0), never pooled away.

    References
    ----------
    Cochran, W. G. (1952) "The chi-square test of goodness of fit", Ann. Math. Stat. 23, 315–345.

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
    min_expected = check_real(min_expected, "min_expected", nonnegative=True)
    ddof = check_positive_int(ddof, "ddof", minimum=0)
    counts = as_float_array(counts, "counts", min_ndim=1)
    if counts.shape[-1] == 0:
        raise ValueError("counts: the last axis (categories) is empty")
    if (counts < 0).any():
        raise ValueError("counts: must be non-negative")
    p = as_float_array(p, "p", min_ndim=1)
    if (p < 0).any():
        raise ValueError("p: probabilities must be non-negative")
    try:
        counts, p = np.broadcast_arrays(counts, p)
    except ValueError as exc:
        raise ValueError(f"p: shape {p.shape} does not broadcast to counts' shape {counts.shape}") from exc
    rows_o = counts.reshape(-1, counts.shape[-1])
    rows_p = p.reshape(-1, p.shape[-1])
    if rows_o.shape[0] == 0:
        raise ValueError(f"counts: no rows to test (shape {counts.shape})")
    with np.errstate(over="ignore"):
        sums = rows_p.sum(axis=1)
        totals = rows_o.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"p: each row must sum to 1, got sums in [{sums.min()!r}, {sums.max()!r}]")
    if not np.isfinite(totals).all():
        raise ValueError("counts: the total count of a row overflows float64")
    stat, dof = 0.0, 0
    # A draw in a category of probability exactly zero is impossible under the null: reject outright,
    # before pooling could hide it among other small bins (a sampler returning a masked token must fail).
    impossible = bool(((rows_o > 0) & (rows_p == 0)).any())
    # Rows are pooled one by one: pooling is data-dependent per row. This is a test helper, not a hot path.
    with np.errstate(over="ignore"):  # counts near 1e19: squares overflow only into a statistic of inf
        for o, q in zip(rows_o, rows_p):
            K = o.sum()
            o_pooled, e_pooled = _pool_small_bins(o, K * q, min_expected)
            nonzero = e_pooled > 0
            if (o_pooled[~nonzero] > 0).any():
                stat = np.inf
            stat += float(np.sum((o_pooled[nonzero] - e_pooled[nonzero]) ** 2 / e_pooled[nonzero]))
            dof += int(np.count_nonzero(nonzero)) - 1
    if dof - ddof < 1:
        if dof >= 1:
            raise ValueError(f"ddof: removing {ddof} degree(s) of freedom from {dof} leaves none for the test")
        if min_expected > totals.max():
            raise ValueError(f"min_expected: {min_expected!r} exceeds the number of draws of every row (at most "
                             f"{totals.max():g}); every category is pooled into one bin")
        raise ValueError("counts: too few samples or categories for a chi-square test after pooling small bins")
    dof -= ddof
    if impossible:
        stat = np.inf
    pvalue = 0.0 if np.isinf(stat) else float(stats.chi2.sf(stat, dof))
    return GoodnessOfFit("chi-square", float(stat), pvalue, alpha, dof, int(rows_o.sum()))


def _checked_cdf(cdf: object, args: object) -> Callable[[np.ndarray], np.ndarray]:
    """``cdf`` (a callable or a ``scipy.stats`` name) with ``args``, returning checked values in [0, 1]."""
    if isinstance(args, np.ndarray) and args.ndim == 1:
        args = tuple(args)
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"args: expected a tuple of extra arguments to cdf, got {type(args).__name__}")
    args = tuple(args)
    if isinstance(cdf, str):
        dist = getattr(stats, cdf, None)
        if not isinstance(dist, stats.rv_continuous):
            raise ValueError(f"cdf: {cdf!r} is not the name of a continuous scipy.stats distribution")
        as_float_array(args, "args", ndim=1)  # real and finite shape, loc and scale parameters
        name = f"scipy.stats.{cdf}"

        def evaluate(y: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):  # scipy's own arithmetic at extreme loc/scale: limits are 0 and 1
                F = dist.cdf(y, *args)
            if np.isnan(F).any():
                raise ValueError(f"args: {args!r} are not valid parameters of {name} (its cdf returned NaN)")
            return F
    else:
        check_callable(cdf, "cdf")

        def evaluate(y: np.ndarray) -> np.ndarray:
            try:
                return cdf(y, *args)
            except (TypeError, ValueError) as exc:  # e.g. args that do not match cdf's signature
                kind = TypeError if isinstance(exc, TypeError) else ValueError
                raise kind(f"cdf: cdf(x, *args) with {len(args)} extra argument(s) raised: {exc}") from exc

    def checked(y: np.ndarray) -> np.ndarray:
        F = check_returned(evaluate(y), "cdf", y.shape)
        if ((F < -1e-9) | (F > 1 + 1e-9)).any():
            raise ValueError("cdf: returned values outside [0, 1]; not a cumulative distribution function")
        return np.broadcast_to(F, y.shape)

    return checked


def ks_test(samples: ArrayLike, cdf: Callable[[np.ndarray], np.ndarray] | str, *, alpha: float = 1e-3, args: tuple = ()) -> GoodnessOfFit:
    r"""One-sample Kolmogorov–Smirnov test of continuous samples against an exact CDF.

    Parameters
    ----------
    samples : array_like of shape (...)
        Independent draws (flattened), finite, at least 2.
    cdf : callable or str
        The exact cumulative distribution function, called as ``cdf(x, *args)`` on an ndarray of shape (K,)
        and returning values in [0, 1] of the same shape; or the name of a continuous ``scipy.stats``
        distribution (``"norm"``).
    alpha : float
        Level of the test, in (0, 1).
    args : tuple
        Extra arguments to ``cdf`` (for a ``scipy.stats`` name: its shape parameters, then ``loc`` and
        ``scale``, real and finite).

    Returns
    -------
    GoodnessOfFit
        ``test = "KS"``, the statistic :math:`D` and its exact or asymptotic p-value (``scipy.stats.kstest``).

    Notes
    -----
    :math:`D = \sup_x |\hat F(x) - F(x)|`; its null law is distribution-free for a continuous :math:`F`.
    A location shift :math:`\delta` (in units of the standard deviation) is caught once
    :math:`\sqrt{n}\,\delta\,f_{\max} \gtrsim 2`; a 5 % scale error of a Gaussian needs about
    :math:`n \approx 2\times 10^4` at :math:`\alpha = 10^{-3}` for power about 0.7 (measured in
    ``tests/test_testing.py``; the z-test on the sample variance is more powerful for a pure scale error).
    Use standardized values to test many different Gaussians at once.

    References
    ----------
    Massey, F. J. (1951) "The Kolmogorov–Smirnov test for goodness of fit", J. Am. Stat. Assoc. 46, 68–78.

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
    F = _checked_cdf(cdf, args)
    res = stats.kstest(x, F)
    return GoodnessOfFit("KS", float(res.statistic), float(res.pvalue), alpha, None, int(x.size))


def _z_result(estimate: float, expected: float, std_error: float, alpha: float, n: int) -> GoodnessOfFit:
    with np.errstate(over="ignore"):
        diff = np.float64(estimate) - np.float64(expected)
        if not np.isfinite(diff):  # the difference of two finite numbers overflowed: divide first
            z = float(np.float64(estimate) / std_error - np.float64(expected) / std_error)
        else:
            z = float(diff / std_error)  # may overflow to +-inf: a z beyond float64, p-value 0
    return GoodnessOfFit("z", z, float(2 * stats.norm.sf(abs(z))), alpha, None, int(n))


def z_test(estimate: float, expected: float, std_error: float, *, alpha: float = 1e-3, n: int = 1) -> GoodnessOfFit:
    r"""Two-sided z-test of an estimate against its exact expectation with a known standard error.

    Parameters
    ----------
    estimate : float
        The estimate :math:`\hat\theta` (a sample mean, a fitted coefficient, ...).
    expected : float
        Its exact expectation :math:`\theta` under the null hypothesis.
    std_error : float
        Its standard error, positive and finite.
    alpha : float
        Level of the test, in (0, 1).
    n : int
        Number of samples behind the estimate (reported only), at least 1.

    Returns
    -------
    GoodnessOfFit
        ``test = "z"``; the statistic is :math:`z`, which is ``+-inf`` (p-value 0) only when the quotient
        exceeds the float64 range.

    Notes
    -----
    .. math:: z = \frac{\hat\theta - \theta}{\mathrm{se}}, \qquad p = 2\,\bar\Phi(|z|),

    standard normal under the null (exactly, for Gaussian estimates; by the central limit theorem otherwise).

    References
    ----------
    Lehmann, E. L. & Romano, J. P. (2005) *Testing Statistical Hypotheses*, 3rd ed., Springer, §3.4 and
    §11.2 (the central limit theorem for the studentized mean).

    Examples
    --------
    >>> from thermoref.testing import z_test
    >>> r = z_test(1.02, 1.0, 0.01)
    >>> print(f"z = {r.statistic:.2f}, p = {r.pvalue:.4f}, passed: {r.passed}")
    z = 2.00, p = 0.0455, passed: True
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    se = check_real(std_error, "std_error", positive=True)
    estimate = check_real(estimate, "estimate")
    expected = check_real(expected, "expected")
    n = check_positive_int(n, "n")
    return _z_result(estimate, expected, se, alpha, n)


def z_test_mean(samples: ArrayLike, mean: float, variance: float, *, alpha: float = 1e-3) -> GoodnessOfFit:
    r"""z-test of a sample mean against the exact mean, with the exact variance of one draw.

    Parameters
    ----------
    samples : array_like of shape (...)
        Independent draws (flattened), finite, at least one.
    mean : float
        The exact mean :math:`\mu` of one draw under the null law.
    variance : float
        The exact variance :math:`\sigma^2` of one draw, positive and finite.
    alpha : float
        Level of the test, in (0, 1).

    Returns
    -------
    GoodnessOfFit
        ``test = "z"`` with ``n`` the number of draws; the statistic is ``+-inf`` only beyond float64.

    Notes
    -----
    .. math:: z = \frac{(\bar x - \mu)\sqrt{n}}{\sigma}.

    To catch a mean shift :math:`\delta` with power :math:`1-\beta` take
    :math:`n \ge \sigma^2 (z_{1-\alpha/2} + z_{1-\beta})^2/\delta^2` (:func:`z_sample_size`).

    References
    ----------
    Lehmann, E. L. & Romano, J. P. (2005) *Testing Statistical Hypotheses*, 3rd ed., Springer, §3.4 (the
    z-test of a normal mean with known variance).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.testing import z_test_mean
    >>> x = np.random.default_rng(2).normal(0.0, 2.0, size=10_000)
    >>> z_test_mean(x, 0.0, 4.0).passed, z_test_mean(x + 0.2, 0.0, 4.0).passed
    (True, False)
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    x = as_float_array(samples, "samples").ravel()
    if x.size < 1:
        raise ValueError("samples: empty")
    mean = check_real(mean, "mean")
    var = check_real(variance, "variance", positive=True)
    with np.errstate(over="ignore"):
        xbar = float(x.mean())
    if not np.isfinite(xbar):  # entries near 1e308: their sum overflowed; average scaled values instead
        scale = float(np.abs(x).max())
        xbar = float(np.mean(x / scale)) * scale
    se = float(np.sqrt(var / x.size))
    if not se >= np.finfo(np.float64).tiny:  # var / n underflowed (variance near 5e-324)
        se = float(np.sqrt(var)) / float(np.sqrt(x.size))
    return _z_result(xbar, mean, se, alpha, x.size)


def chi_square_sample_size(p: ArrayLike, q: ArrayLike, *, alpha: float = 1e-3, power: float = 0.99) -> int:
    r"""Number of draws for which a chi-square test of law ``p`` catches draws from law ``q`` with ``power``.

    Parameters
    ----------
    p : array_like of shape (n,)
        The law under test (the null), summing to 1.
    q : array_like of shape (n,)
        The alternative law (the plausible bug), summing to 1, with no mass where ``p`` has none.
    alpha : float
        Level of the test, in (0, 1).
    power : float
        Required probability of rejecting when the draws come from ``q``, in (0, 1).

    Returns
    -------
    int
        The smallest :math:`K` with noncentral power at least ``power``; sample sizes beyond
        :math:`2^{62}` are refused.

    Notes
    -----
    Uses the noncentral chi-square approximation with

    .. math:: \lambda = K \sum_i \frac{(q_i - p_i)^2}{p_i}

    and :math:`n-1` degrees of freedom (no pooling), over the categories with :math:`p_i > 0` (masked
    categories, zero under both laws, are dropped): :math:`K` is the smallest integer with
    :math:`P(\chi'^2_{n-1}(\lambda) > \chi^2_{n-1, 1-\alpha}) \ge` ``power``, found by doubling and bisection.

    References
    ----------
    Cochran, W. G. (1952) "The chi-square test of goodness of fit", Ann. Math. Stat. 23, 315–345;
    Cohen, J. (1988) *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., Erlbaum, ch. 7.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref import softmax
    >>> from thermoref.testing import chi_square_sample_size
    >>> logits = np.linspace(0, 3, 10)
    >>> chi_square_sample_size(softmax(logits), softmax(2 * logits))
    174
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    power = check_probability(power, "power", open_interval=True)
    p = _law_rows(p, "p", ndim=1)
    q = _law_rows(q, "q", ndim=1)
    if p.shape != q.shape:
        raise ValueError(f"q: shape {q.shape} differs from p's {p.shape}")
    if ((p == 0) & (q > 0)).any():
        raise ValueError("q: puts mass where p has none; a single draw there is rejected outright (no chi-square sizing)")
    p, q = p[p > 0], q[p > 0]  # categories impossible under both laws carry no information
    with np.errstate(over="ignore"):  # p_i near 5e-324: phi2 beyond float64, one draw suffices
        phi2 = float(np.sum((q - p) ** 2 / p))
    if phi2 == 0:
        raise ValueError("q: equals p; no sample size distinguishes them")
    if p.size == 1:
        raise ValueError("p: a single category with mass leaves no degree of freedom")
    if np.isinf(phi2):
        return 1
    dof = p.size - 1
    crit = stats.chi2.isf(alpha, dof)
    lo, hi = 1, 2
    while stats.ncx2.sf(crit, dof, hi * phi2) < power:
        if hi > 2**62:
            raise ValueError(f"q: differs from p by too little (phi^2 = {phi2:.3g}); the sample size exceeds 2**62")
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if stats.ncx2.sf(crit, dof, mid * phi2) < power:
            lo = mid
        else:
            hi = mid
    return hi


def chi_square_power(p: ArrayLike, q: ArrayLike, n: int, *, alpha: float = 1e-3, min_expected: float = 5.0) -> float:
    r"""Probability that :func:`chi_square_test` of law ``p`` rejects ``n`` draws per row that follow law ``q``.

    Parameters
    ----------
    p : array_like of shape (..., m)
        The law under test (the null), each row summing to 1; rows are tested together, as
        :func:`chi_square_test` tests them.
    q : array_like of shape (..., m)
        The law the draws follow, broadcastable to ``p``, with no mass where ``p`` has none.
    n : int
        Draws per row.
    alpha : float
        Level of the test, in (0, 1).
    min_expected : float
        The pooling threshold of :func:`chi_square_test` (bins expecting fewer than this under ``p`` merged).

    Returns
    -------
    float
        The rejection probability: ``alpha`` for ``q = p``; the test's true false-positive rate when ``q`` is
        the exact law of a sampler that has not quite converged; its power when ``q`` is the law of a bug.

    Notes
    -----
    Each row's bins are pooled exactly as :func:`chi_square_test` pools them under ``p``; over the pooled bins
    the statistic follows the noncentral chi-square law with

    .. math:: \lambda = n \sum_{\text{rows}} \sum_{\text{bins}} \frac{(q_b - p_b)^2}{p_b}

    and degrees of freedom summed over rows (bins minus one each), and the power is
    :math:`P(\chi'^2_{\nu}(\lambda) > \chi^2_{\nu, 1-\alpha})`. Unlike :func:`chi_square_sample_size` it
    accounts for the pooling, so it is the power of the test as it runs.

    References
    ----------
    Cochran, W. G. (1952) "The chi-square test of goodness of fit", Ann. Math. Stat. 23, 315–345;
    Cohen, J. (1988) *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., Erlbaum, ch. 7.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref import softmax
    >>> from thermoref.testing import chi_square_power
    >>> logits = np.linspace(0, 3, 10)
    >>> print(round(chi_square_power(softmax(logits), softmax(logits), 1000), 6))
    0.001
    >>> print(round(chi_square_power(softmax(logits), softmax(1.05 * logits), 35_622), 3))
    0.99
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    min_expected = check_real(min_expected, "min_expected", positive=True)
    p = _law_rows(p, "p")
    q = _law_rows(q, "q")
    try:
        p, q = np.broadcast_arrays(p, q)
    except ValueError:
        raise ValueError(f"q: shape {q.shape} does not broadcast to p's shape {p.shape}") from None
    if ((p == 0) & (q > 0)).any():
        raise ValueError("q: puts mass where p has none; a single draw there is rejected outright (no chi-square power)")
    n = check_positive_int(n, "n")
    rows_p, rows_q = p.reshape(-1, p.shape[-1]), q.reshape(-1, q.shape[-1])
    if rows_p.shape[0] == 0:
        raise ValueError(f"p: no rows to test, shape {p.shape}")
    if int(np.sum(np.count_nonzero(rows_p > 0, axis=1) - 1)) < 1:
        raise ValueError("p: a single category with mass per row leaves no degree of freedom")
    lam, dof = 0.0, 0
    for p_row, q_row in zip(rows_p, rows_q):  # the test's own pooling, row by row
        with np.errstate(over="ignore"):
            eq, ep = _pool_small_bins(float(n) * q_row, float(n) * p_row, min_expected)  # (bins,) under q and p
            keep = ep > 0
            lam += float(np.sum((eq[keep] - ep[keep]) ** 2 / ep[keep]))
        dof += int(np.count_nonzero(keep)) - 1
    if dof < 1:
        raise ValueError(f"min_expected: {min_expected!r} pools every bin of {n} draws into one (no degree of "
                         "freedom left); lower it or draw more")
    crit = stats.chi2.isf(alpha, dof)
    if not lam < 1e8 + 100.0 * (dof + crit):  # the statistic's mean dof + lam is then far beyond crit
        return 1.0
    return float(stats.ncx2.sf(crit, dof, lam))


def _normal_isf_half(alpha: float) -> float:
    """The upper alpha/2 quantile of the standard normal, exact down to alpha = 5e-324 (through log alpha)."""
    if alpha / 2 >= np.finfo(np.float64).tiny:
        return float(stats.norm.isf(alpha / 2))
    return float(-special.ndtri_exp(np.log(alpha) - np.log(2.0)))


def z_sample_size(delta: float, sigma: float, *, alpha: float = 1e-3, power: float = 0.99) -> int:
    r"""Number of draws for a two-sided z-test at ``alpha`` to detect a mean shift ``delta`` with ``power``.

    Parameters
    ----------
    delta : float
        The mean shift to detect, finite and non-zero (its sign does not matter).
    sigma : float
        Standard deviation of one draw, positive and finite.
    alpha : float
        Level of the test, in (0, 1).
    power : float
        Required probability of rejecting under the shift, in (0, 1).

    Returns
    -------
    int
        At least 1; a sample size beyond float64 is refused.

    Notes
    -----
    .. math:: n = \left\lceil \frac{\sigma^2 (z_{1-\alpha/2} + z_{\mathrm{power}})^2}{\delta^2} \right\rceil,

    which neglects the far tail (rejections on the wrong side), conservative by at most :math:`\alpha/2`.

    References
    ----------
    Cohen, J. (1988) *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., Erlbaum, ch. 2.

    Examples
    --------
    >>> from thermoref.testing import z_sample_size
    >>> z_sample_size(0.05, 1.0)
    12620
    """
    alpha = check_probability(alpha, "alpha", open_interval=True)
    power = check_probability(power, "power", open_interval=True)
    delta = check_real(delta, "delta")
    if delta == 0:
        raise ValueError("delta: must be non-zero (no sample size detects a zero shift)")
    sigma = check_real(sigma, "sigma", positive=True)
    z = _normal_isf_half(alpha) + float(stats.norm.ppf(power))
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        n = np.float64(sigma) ** 2 * z**2 / np.float64(delta) ** 2
        if not (np.isfinite(n) and n > 0):  # sigma**2 or delta**2 out of range: form the ratio first
            n = (np.float64(sigma) / np.float64(delta)) ** 2 * z**2
    if not np.isfinite(n):
        name = "sigma" if abs(np.log(sigma)) >= abs(np.log(abs(delta))) else "delta"
        raise ValueError(f"{name}: the sample size (sigma * z / delta)^2 exceeds float64 "
                         f"(sigma={sigma!r}, delta={delta!r})")
    return max(1, int(np.ceil(n)))


def _check_values(values: object) -> tuple[int, int]:
    """The two states of a binary unit: two distinct integers in the int8 range."""
    v = as_float_array(values, "values", ndim=1)
    if v.shape != (2,):
        raise ValueError(f"values: expected two values, got shape {v.shape}")
    if not (np.all(v == np.round(v)) and np.all(np.abs(v) <= 127)):
        raise ValueError(f"values: expected two integers in [-127, 127], got {tuple(v.tolist())!r}")
    lo, hi = int(v[0]), int(v[1])
    if lo == hi:
        raise ValueError(f"values: the two states must differ, got {(lo, hi)!r}")
    return lo, hi


def enumerate_states(n: int, values: tuple[int, int] = (-1, 1)) -> np.ndarray:
    r"""All :math:`2^n` configurations of ``n`` binary units, in binary counting order.

    Parameters
    ----------
    n : int
        Number of units, from 1 to 24.
    values : tuple of two int
        The unit's two states, ``(lo, hi)``: ``(-1, 1)`` for spins, ``(0, 1)`` for bits (distinct integers
        in the int8 range).

    Returns
    -------
    ndarray of shape ``(2**n, n)``, dtype int8
        Row :math:`k` is the binary expansion of :math:`k`, most significant unit first, with bit 1 mapped
        to ``hi`` and bit 0 to ``lo``, so that :func:`state_index` inverts it.

    Notes
    -----
    Unit :math:`j` of row :math:`k` is ``hi`` when bit :math:`n-1-j` of :math:`k` is set,
    :math:`k = \sum_j b_j 2^{n-1-j}`; exact enumeration of a Gibbs law over these rows is the oracle of the
    samplers' tests.

    Examples
    --------
    >>> from thermoref.testing import enumerate_states
    >>> print(enumerate_states(2, (0, 1)))
    [[0 0]
     [0 1]
     [1 0]
     [1 1]]
    """
    n = check_positive_int(n, "n")
    if n > 24:
        raise ValueError(f"n: enumeration of 2**{n} states is too large (n <= 24)")
    lo, hi = _check_values(values)
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1  # (2**n, n)
    return np.where(bits == 1, hi, lo).astype(np.int8)


def _states(states: object, values: tuple[int, int], *, ndim: int | None = None) -> np.ndarray:
    """Configurations with entries in ``values`` and at most 62 units (so that an index fits in int64)."""
    if isinstance(states, np.ndarray) and states.dtype.kind in "iub":
        s = states
        if s.ndim < 1 or (ndim is not None and s.ndim != ndim):
            raise ValueError(f"states: expected {ndim or 'at least 1'} dimension(s), got shape {s.shape}")
    else:
        s = as_float_array(states, "states", min_ndim=1, ndim=ndim)
    if s.shape[-1] > 62:
        raise ValueError(f"states: {s.shape[-1]} units have more than 2**62 configurations; "
                         "an index would overflow int64")
    if not np.isin(s, values).all():
        raise ValueError(f"states: entries must be in {values}")
    return s


def state_index(states: ArrayLike, values: tuple[int, int] = (-1, 1)) -> np.ndarray:
    r"""Index in :func:`enumerate_states` order of each configuration.

    Parameters
    ----------
    states : array_like of shape (..., n)
        Configurations of ``n`` units (at most 62), each entry one of ``values``.
    values : tuple of two int
        The unit's two states ``(lo, hi)``.

    Returns
    -------
    ndarray of shape (...), dtype int64
        :math:`k = \sum_j [s_j = \mathrm{hi}]\, 2^{n-1-j}`.

    Notes
    -----
    The inverse of :func:`enumerate_states`: ``state_index(enumerate_states(n, v), v)`` is
    ``arange(2**n)``.

    Examples
    --------
    >>> from thermoref.testing import state_index
    >>> print(state_index([[-1, 1, 1], [1, -1, -1]]))
    [3 4]
    """
    lo, hi = _check_values(values)
    s = _states(states, (lo, hi))
    n = s.shape[-1]
    weights = 1 << np.arange(n - 1, -1, -1, dtype=np.int64)
    return ((s == hi).astype(np.int64) * weights).sum(axis=-1)


def empirical_law(states: ArrayLike, values: tuple[int, int] = (-1, 1)) -> np.ndarray:
    r"""Counts of each of the :math:`2^n` configurations among the rows of ``states``.

    Parameters
    ----------
    states : array_like of shape (K, n)
        ``K`` sampled configurations of ``n`` units, each entry one of ``values``; :math:`2^n` counts must
        fit in :data:`thermoref.MAX_BYTES`.
    values : tuple of two int
        The unit's two states ``(lo, hi)``.

    Returns
    -------
    ndarray of shape ``(2**n,)``, dtype int64
        Counts in :func:`enumerate_states` order, summing to ``K``; feed them to :func:`chi_square_test`
        with the exact law.

    Notes
    -----
    :math:`c_k = \#\{r : \mathrm{index}(s_r) = k\}`, with the index of :func:`state_index`.

    Examples
    --------
    >>> from thermoref.testing import empirical_law
    >>> print(empirical_law([[0, 1], [0, 1], [1, 1]], (0, 1)))
    [0 2 0 1]
    """
    lo, hi = _check_values(values)
    s = _states(states, (lo, hi), ndim=2)
    check_allocation(2 ** s.shape[1], "states")
    return np.bincount(state_index(s, (lo, hi)), minlength=2 ** s.shape[1])


def rejection_rate(trial: Callable[[np.random.Generator], GoodnessOfFit], n_trials: int, *, rng: object) -> tuple[float, float]:
    r"""Fraction of ``n_trials`` independent runs of a test that reject, and its binomial standard error.

    Parameters
    ----------
    trial : callable
        ``trial(rng) -> GoodnessOfFit``: draws fresh samples with the Generator it is given and tests them.
    n_trials : int
        Number of independent trials, at least 1; each gets its own child stream of ``rng``
        (``numpy.random.Generator.spawn``, about 1 KiB each, refused beyond :data:`thermoref.MAX_BYTES`).
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
    check_callable(trial, "trial")
    n_trials = check_positive_int(n_trials, "n_trials")
    check_allocation(n_trials, "n_trials", itemsize=1024)  # one spawned child stream per trial
    parent = as_rng(rng)
    rejected = 0
    for child in parent.spawn(n_trials):  # loop over independent trials
        result = trial(child)
        if not isinstance(result, GoodnessOfFit):
            raise TypeError(f"trial: must return a thermoref.testing.GoodnessOfFit, got {type(result).__name__}")
        rejected += result.reject
    rate = rejected / n_trials
    return rate, float(np.sqrt(rate * (1 - rate) / n_trials))
