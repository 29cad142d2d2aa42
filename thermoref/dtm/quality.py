r"""Sample quality against an exactly known image law: distance to the support, kernel MMD, patch statistics.

The data of chapter 12 (:class:`thermoref.dtm.ImageFamily`) have a finite support :math:`y_1, \dots, y_K`
with known probabilities :math:`p_k`, so a model's samples :math:`x_1, \dots, x_N` (pixels in {0, 1}, shape
(N, n)) can be compared with the law itself rather than with a finite test set:

* :func:`hamming_to_support` and :func:`fraction_within`: how far each sample is from the nearest data image,
  and the fraction within a radius with its Clopper–Pearson interval;
* :func:`mmd_squared` and :func:`mmd_test`: the kernel maximum mean discrepancy to the exact law, with the
  Hamming kernel :math:`k(x, y) = e^{-d_H(x, y)/\ell}`, its jackknife standard error and a Monte Carlo null
  drawn exactly from the family;
* :func:`patch_law` and :func:`patch_test`: the law of :math:`k \times k` patches pooled over positions, the
  total-variation distance of the samples' patch law to it, and a calibrated Monte Carlo test;
* :func:`pixel_marginal_error`: the largest error of a pixel's mean.

Every sum over the support or over pairs is a block of matrix products (Hamming distances from a Gram
matrix of 0/1 vectors, exact in float32 for :math:`n < 2^{24}`), never a Python loop over samples.

References: Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. & Smola, A. (2012) "A kernel two-sample
test", J. Mach. Learn. Res. 13, 723-773; Theis, L., van den Oord, A. & Bethge, M. (2016) "A note on the
evaluation of generative models", ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import as_rng, check_allocation, check_positive_int, check_probability, check_real, check_work
from .data import ImageFamily, _check_family
from .forward import _check_pixels

__all__ = ["hamming_to_support", "WithinRadius", "fraction_within", "pixel_marginal_error", "mmd_squared",
           "MMDTest", "mmd_test", "patch_law", "PatchTest", "patch_test"]

_BLOCK = 2**22  # elements in one block of pairwise distances (32 MiB as int64)
_TIE = 1e-9  # a null replicate within this of the statistic counts as a tie (two floating-point paths)


def _samples(samples: ArrayLike, fam: ImageFamily, minimum: int = 0) -> np.ndarray:
    X = _check_pixels(samples, "samples", fam.n)
    if X.shape[0] < minimum:
        raise ValueError(f"samples: need at least {minimum} images, got {X.shape[0]}")
    return X


def _distance_blocks(X: np.ndarray, Y: np.ndarray, width: int = 0):
    """Yield ``(a, b, D)``: ``D[i, j]`` the Hamming distance from ``X[a + i]`` to ``Y[j]`` (int64).

    Blocks of rows keep ``D`` (and a companion array of ``width`` columns) within ``_BLOCK`` elements.
    """
    Yf = Y.astype(np.float32)
    wy = Yf.sum(axis=1)
    rows = max(1, _BLOCK // max(len(Y), width, 1))
    for a in range(0, len(X), rows):
        Xb = X[a:a + rows].astype(np.float32)
        D = Xb.sum(axis=1)[:, None] + wy[None, :] - 2.0 * (Xb @ Yf.T)  # (B, K): |x| + |y| - 2 x.y, exact
        yield a, a + len(Xb), np.rint(D).astype(np.int64)


def _min_distance(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    out = np.empty(len(X), np.int64)
    for a, b, D in _distance_blocks(X, Y):
        out[a:b] = D.min(axis=1)
    return out


def _p_value(statistic: float, null: np.ndarray) -> float:
    return float((1 + np.count_nonzero(null >= statistic - _TIE)) / (1 + null.size))


def hamming_to_support(samples: ArrayLike, family: ImageFamily) -> np.ndarray:
    r"""Hamming distance from each sample to the nearest image of the family's support.

    Parameters
    ----------
    samples : array_like of int, shape (N, n)
        Images, pixels in {0, 1} (a single image of shape (n,) is one row).
    family : ImageFamily
        The data law.

    Returns
    -------
    ndarray of int64, shape (N,)
        :math:`d_i = \min_k d_H(x_i, y_k)`; 0 exactly for members of the support.

    Notes
    -----
    With 0/1 vectors :math:`d_H(x, y) = |x| + |y| - 2\,x \cdot y`, so a block of distances is one matrix
    product; the cost is :math:`O(NKn)`.

    References
    ----------
    Hamming, R. W. (1950) "Error detecting and error correcting codes", Bell System Technical Journal 29,
    147-160.

    Examples
    --------
    >>> from thermoref.dtm.data import bars_and_stripes
    >>> fam = bars_and_stripes(3)
    >>> x = fam.support[:2].copy()
    >>> x[1, 0] ^= 1
    >>> hamming_to_support(x, fam).tolist()
    [0, 1]
    """
    fam = _check_family(family)
    return _min_distance(_samples(samples, fam), fam.support)


@dataclass(frozen=True)
class WithinRadius:
    r"""The fraction of samples within a Hamming radius of the support, with its Clopper–Pearson interval.

    Attributes
    ----------
    fraction : float
        :math:`\hat f = m / N`.
    low : float
        Lower end of the exact interval.
    high : float
        Upper end of the exact interval.
    count : int
        :math:`m`, the number of samples with :math:`d_i \le r`.
    n : int
        :math:`N`, the number of samples.
    radius : int
        :math:`r`.
    confidence : float
        Coverage of the interval, :math:`1 - \alpha`.

    Notes
    -----
    :math:`[\mathrm{low}, \mathrm{high}] = [B^{-1}(\tfrac{\alpha}{2}; m, N - m + 1),\
    B^{-1}(1 - \tfrac{\alpha}{2}; m + 1, N - m)]` with :math:`B^{-1}` the beta quantile (0 and 1 at the ends).

    References
    ----------
    Clopper, C. J. & Pearson, E. S. (1934) "The use of confidence or fiducial limits illustrated in the case of
    the binomial", Biometrika 26, 404-413.

    Examples
    --------
    >>> from thermoref.dtm.data import bars_and_stripes
    >>> fam = bars_and_stripes(3)
    >>> w = fraction_within(fam.sample(50, rng=0), fam)
    >>> w.count, w.n, round(w.low, 3)
    (50, 50, 0.929)
    """

    fraction: float
    low: float
    high: float
    count: int
    n: int
    radius: int
    confidence: float


def fraction_within(samples: ArrayLike, family: ImageFamily, radius: int = 0, *,
                    confidence: float = 0.95) -> WithinRadius:
    r"""Fraction of samples within Hamming distance ``radius`` of the data, with an exact binomial interval.

    Parameters
    ----------
    samples : array_like of int, shape (N, n)
        Images, pixels in {0, 1}; at least one.
    family : ImageFamily
        The data law.
    radius : int
        :math:`r \ge 0`; 0 counts exact members of the support.
    confidence : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    WithinRadius
        The fraction, its Clopper–Pearson interval, the count and :math:`N`.

    Notes
    -----
    The samples are independent, so the count :math:`m = \#\{i : \min_k d_H(x_i, y_k) \le r\}` is binomial with
    the model's true rate :math:`f`, and the Clopper–Pearson interval covers :math:`f` with probability at
    least the stated confidence.

    References
    ----------
    Clopper, C. J. & Pearson, E. S. (1934) "The use of confidence or fiducial limits illustrated in the case of
    the binomial", Biometrika 26, 404-413.

    Examples
    --------
    >>> from thermoref.dtm.data import bars_and_stripes
    >>> fam = bars_and_stripes(3)
    >>> x = fam.sample(40, rng=1)
    >>> x[:10, 4] ^= 1
    >>> w = fraction_within(x, fam)
    >>> print(w.fraction, round(w.low, 3), round(w.high, 3))
    0.75 0.588 0.873
    """
    fam = _check_family(family)
    X = _samples(samples, fam, minimum=1)
    radius = check_positive_int(radius, "radius", minimum=0)
    confidence = check_probability(confidence, "confidence", open_interval=True)
    count = int(np.count_nonzero(_min_distance(X, fam.support) <= radius))
    N = X.shape[0]
    ci = stats.binomtest(count, N).proportion_ci(confidence_level=confidence, method="exact")
    return WithinRadius(count / N, float(ci.low), float(ci.high), count, N, radius, confidence)


def pixel_marginal_error(samples: ArrayLike, family: ImageFamily) -> float:
    r"""Largest error of a pixel's mean: :math:`\max_i |\bar x_i - \mathbb{E}_p[x_i]|`.

    Parameters
    ----------
    samples : array_like of int, shape (N, n)
        Images, pixels in {0, 1}; at least one.
    family : ImageFamily
        The data law.

    Returns
    -------
    float
        The largest absolute error over pixels.

    Notes
    -----
    The exact means are :math:`\mathbb{E}_p[x_i] = \sum_k p_k y_{k,i}`. For exact draws each error has standard
    deviation :math:`\sqrt{m_i(1 - m_i)/N} \le 1/(2\sqrt N)`; a model can have exact marginals and wrong images
    (bars and stripes: every marginal is 1/2), so this is a first check, not a measure of quality.

    References
    ----------
    Theis, L., van den Oord, A. & Bethge, M. (2016) "A note on the evaluation of generative models", ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm.data import bars_and_stripes
    >>> print(round(pixel_marginal_error(np.zeros((3, 9), dtype=np.int8), bars_and_stripes(3)), 12))
    0.5
    """
    fam = _check_family(family)
    X = _samples(samples, fam, minimum=1)
    return float(np.abs(X.mean(axis=0) - fam.probs @ fam.support).max())


# --------------------------------------------------------------------------------------------------------
# Kernel MMD to the exact law
# --------------------------------------------------------------------------------------------------------
def _ell(ell: object, n: int) -> float:
    return n / 16.0 if ell is None else check_real(ell, "ell", positive=True)


def _kernel_table(n: int, ell: float) -> np.ndarray:
    """k(d) = exp(-d / ell) for d = 0..n (a tiny ell gives the limit 1, 0, 0, ...)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(-(np.arange(n + 1) / ell))


def _sample_sums(X: np.ndarray, fam: ImageFamily, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``r_i = sum_{j != i} k(x_i, x_j)`` and ``m_i = mu_p(x_i)``, each of shape (N,)."""
    r, m = np.empty(len(X)), np.empty(len(X))
    for a, b, D in _distance_blocks(X, X):
        r[a:b] = table[D].sum(axis=1) - table[0]
    for a, b, D in _distance_blocks(X, fam.support):
        m[a:b] = table[D] @ fam.probs
    return r, m


def _support_pass(fam: ImageFamily, table: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """``mu_p`` on the support (K,), ``||mu_p||^2``, and ``c^T G c`` for each row ``c`` of ``C`` (R, K)."""
    mu, quad = np.empty(fam.n_patterns), np.zeros(C.shape[0])
    for a, b, D in _distance_blocks(fam.support, fam.support, width=C.shape[0]):
        G = table[D]  # (B, K): a block of rows of the support's kernel matrix
        mu[a:b] = G @ fam.probs
        quad += np.einsum("rb,rb->r", C[:, a:b], C @ G.T)  # (R,)
    return mu, float(fam.probs @ mu), quad


def _u_statistic(r: np.ndarray, m: np.ndarray, norm: float) -> float:
    N = r.size
    return float(r.sum() / (N * (N - 1)) - 2.0 * m.mean() + norm)


def _jackknife_se(r: np.ndarray, m: np.ndarray, norm: float) -> float:
    """Jackknife standard error of the U-statistic from its kernel's row sums (N >= 3)."""
    N = r.size
    R = r - (N - 1) * m - (m.sum() - m) + (N - 1) * norm  # sum_{j != i} h(x_i, x_j)
    loo = (R.sum() - 2.0 * R) / ((N - 1) * (N - 2))  # the statistic without sample i
    return float(np.sqrt((N - 1) / N * np.sum((loo - loo.mean()) ** 2)))


def mmd_squared(samples: ArrayLike, family: ImageFamily, *, ell: float | None = None) -> float:
    r"""Unbiased squared kernel MMD between samples and the family's exact law (Hamming kernel).

    Parameters
    ----------
    samples : array_like of int, shape (N, n)
        Images, pixels in {0, 1}; at least two.
    family : ImageFamily
        The data law :math:`p`.
    ell : float, optional
        Kernel length :math:`\ell > 0` in pixels; default :math:`n/16` (see Notes).

    Returns
    -------
    float
        :math:`\widehat{\mathrm{MMD}}{}^2_u`; for samples of a law :math:`q` its mean is
        :math:`\mathrm{MMD}^2(q, p) \ge 0`, and it can be negative by chance.

    Notes
    -----
    With :math:`k(x, y) = e^{-d_H(x, y)/\ell}`, :math:`\mu_p(x) = \sum_k p_k k(x, y_k)` and
    :math:`\|\mu_p\|^2 = \sum_{k,l} p_k p_l k(y_k, y_l)`, both exact sums over the support,

    .. math::
        \widehat{\mathrm{MMD}}{}^2_u = \frac{1}{N(N-1)} \sum_{i \ne j} k(x_i, x_j)
        - \frac{2}{N} \sum_i \mu_p(x_i) + \|\mu_p\|^2 .

    The kernel is a product over pixels of :math:`e^{-|x_i - y_i|/\ell}`, whose :math:`2 \times 2` matrix is
    positive definite, so it is strictly positive definite on :math:`\{0, 1\}^n`: :math:`\mathrm{MMD}(q, p) = 0`
    only if :math:`q = p`. A short :math:`\ell` weighs near neighbours (pixel noise), a long one the global
    layout (missing or reweighted images). The default :math:`n/16` was the best compromise of
    :math:`\ell \in \{0.5, 1, 2, n/16, n/8, n/4\}` in power at :math:`N = 200`, level 0.01, against 5 %
    flipped pixels, half the support missing and one kind of shape missing, on both families at sides 5 and 10;
    it has little power against pixel noise on bars and stripes of side 10 (:func:`fraction_within` and
    :func:`patch_test` see that at once). Cost :math:`O((N^2 + NK + K^2) n)`.

    References
    ----------
    Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. & Smola, A. (2012) "A kernel two-sample test",
    J. Mach. Learn. Res. 13, 723-773.

    Examples
    --------
    >>> from thermoref.dtm.data import shapes
    >>> import numpy as np
    >>> fam = shapes(5)
    >>> x = fam.sample(400, rng=0)
    >>> noisy = x ^ (np.random.default_rng(2).random(x.shape) < 0.05)  # 5 % of pixels flipped
    >>> print(f"{mmd_squared(x, fam):.4f} {mmd_squared(noisy, fam):.4f}")
    0.0003 0.0040
    """
    fam = _check_family(family)
    X = _samples(samples, fam, minimum=2)
    table = _kernel_table(fam.n, _ell(ell, fam.n))
    r, m = _sample_sums(X, fam, table)
    _, norm, _ = _support_pass(fam, table, np.zeros((0, fam.n_patterns)))
    return _u_statistic(r, m, norm)


@dataclass(frozen=True)
class MMDTest:
    r"""The MMD statistic of samples against an exact law, its error bar and its Monte Carlo null.

    Attributes
    ----------
    statistic : float
        :math:`\widehat{\mathrm{MMD}}{}^2_u` (:func:`mmd_squared`).
    standard_error : float
        Its jackknife standard error.
    p_value : float
        :math:`(1 + \#\{r : M_r \ge \widehat{\mathrm{MMD}}{}^2_u\}) / (1 + R)`.
    null : ndarray of float64, shape (n_null,)
        The statistic :math:`M_r` of :math:`R` sets of :math:`N` exact draws from the family.
    ell : float
        Kernel length :math:`\ell`.
    n : int
        Number of samples :math:`N`.

    Notes
    -----
    Under :math:`q = p` the statistic and the :math:`R` null replicates are exchangeable, so
    :math:`P(\text{p-value} \le \alpha) \le \alpha` exactly (equality when :math:`\alpha(R+1)` is an integer and
    there are no ties).

    References
    ----------
    Davison, A. C. & Hinkley, D. V. (1997) *Bootstrap Methods and their Application*, Cambridge University
    Press, section 4.2.

    Examples
    --------
    >>> from thermoref.dtm.data import shapes
    >>> fam = shapes(4)
    >>> t = mmd_test(fam.sample(100, rng=0), fam, n_null=99, rng=1)
    >>> t.null.shape, t.p_value > 0.01
    ((99,), True)
    """

    statistic: float
    standard_error: float
    p_value: float
    null: np.ndarray
    ell: float
    n: int


def mmd_test(samples: ArrayLike, family: ImageFamily, *, ell: float | None = None, n_null: int = 199,
             rng: np.random.Generator | int) -> MMDTest:
    r"""Test samples against the family's exact law with the kernel MMD and a Monte Carlo null.

    Parameters
    ----------
    samples : array_like of int, shape (N, n)
        Images, pixels in {0, 1}; at least three.
    family : ImageFamily
        The data law :math:`p`.
    ell : float, optional
        Kernel length :math:`\ell > 0` in pixels; default :math:`n/16` (see Notes).
    n_null : int
        Number :math:`R \ge 1` of null replicates (199: :math:`\alpha = 0.05` and :math:`0.01` are attainable
        exactly).
    rng : numpy.random.Generator or int
        Source of the null replicates (their counts are its only draws).

    Returns
    -------
    MMDTest
        Statistic, jackknife standard error, p-value and the null replicates.

    Notes
    -----
    A null replicate is :math:`N` exact draws from :math:`p`; it depends only on their counts
    :math:`c \sim \mathrm{Multinomial}(N, p)` over the support, so with the support's kernel matrix
    :math:`G_{kl} = k(y_k, y_l)` and :math:`\mu = G p`,

    .. math::
        M(c) = \frac{c^\top G c - N}{N(N-1)} - \frac{2\, c^\top \mu}{N} + p^\top \mu ,

    all replicates together in :math:`O(K^2(n + R))` (blocks of :math:`G`, never all of it). The jackknife
    standard error :math:`\sqrt{\tfrac{N-1}{N}\sum_i (U_{-i} - \bar U_{-})^2}` uses the leave-one-out
    statistics :math:`U_{-i}`; it is consistent when :math:`q \ne p` and conservative at :math:`q = p` (the
    degenerate case, where it overstates the spread by about a third at :math:`N = 50`-:math:`200`; the null
    replicates give that spread exactly). Replicates within :math:`10^{-9}` of the statistic count as ties
    (the two are computed along different floating-point paths), which can only make the test more conservative.

    References
    ----------
    Gretton, A. et al. (2012) "A kernel two-sample test", J. Mach. Learn. Res. 13, 723-773; Arvesen, J. N.
    (1969) "Jackknifing U-statistics", Ann. Math. Statist. 40, 2076-2100; Davison, A. C. & Hinkley, D. V. (1997)
    *Bootstrap Methods and their Application*, Cambridge University Press.

    Examples
    --------
    >>> from thermoref.dtm.data import shapes
    >>> fam = shapes(5)
    >>> import numpy as np
    >>> x = fam.sample(400, rng=0)
    >>> t = mmd_test(x, fam, rng=1)
    >>> print(f"{t.statistic:.5f} +- {t.standard_error:.5f}, p = {t.p_value}")
    0.00029 +- 0.00076, p = 0.25
    >>> noisy = x ^ (np.random.default_rng(2).random(x.shape) < 0.05)  # 5 % of pixels flipped
    >>> print(mmd_test(noisy, fam, rng=1).p_value)
    0.005
    """
    fam = _check_family(family)
    X = _samples(samples, fam, minimum=3)
    ell = _ell(ell, fam.n)
    n_null = check_positive_int(n_null, "n_null")
    K = fam.n_patterns
    check_allocation((n_null, K), "n_null")
    check_work(n_null * K * K, "n_null")
    gen = as_rng(rng)
    N = X.shape[0]
    C = gen.multinomial(N, fam.probs, size=n_null).astype(np.float64)  # (R, K) counts of exact draws
    table = _kernel_table(fam.n, ell)
    r, m = _sample_sums(X, fam, table)
    mu, norm, quad = _support_pass(fam, table, C)
    statistic = _u_statistic(r, m, norm)
    null = (quad - N * table[0]) / (N * (N - 1)) - 2.0 * (C @ mu) / N + norm  # (R,)
    return MMDTest(statistic, _jackknife_se(r, m, norm), _p_value(statistic, null), null, ell, N)


# --------------------------------------------------------------------------------------------------------
# Patch statistics
# --------------------------------------------------------------------------------------------------------
def _check_k(k: object, side: int) -> int:
    k = check_positive_int(k, "k")
    if k > min(3, side):
        raise ValueError(f"k: must be <= min(3, side) = {min(3, side)}, got {k}")
    return k


def _patch_codes(X: np.ndarray, side: int, k: int) -> np.ndarray:
    """Code :math:`\\sum_{a,b} x_{r+a,c+b} 2^{ak+b}` of every k x k patch: (N, (side-k+1)^2) int32."""
    P = side - k + 1
    imgs = X.reshape(len(X), side, side)
    codes = np.zeros((len(X), P, P), np.int32)
    for a in range(k):
        for b in range(k):  # the k*k offsets inside a patch (at most 9), not a loop over pixels or images
            codes += imgs[:, a:a + P, b:b + P].astype(np.int32) << (a * k + b)
    return codes.reshape(len(X), P * P)


def _patch_counts(fam: ImageFamily, k: int) -> np.ndarray:
    """Counts of each patch code in each support image: (K, 2^(k^2)) float64."""
    M = 2 ** (k * k)
    check_allocation((fam.n_patterns, M), "k")
    codes = _patch_codes(fam.support, fam.side, k)  # (K, P^2)
    flat = (np.arange(fam.n_patterns)[:, None] * M + codes).ravel()
    return np.bincount(flat, minlength=fam.n_patterns * M).reshape(fam.n_patterns, M).astype(np.float64)


def patch_law(family: ImageFamily, k: int = 2) -> np.ndarray:
    r"""Exact law of a :math:`k \times k` patch at a uniformly chosen position of an image from the family.

    Parameters
    ----------
    family : ImageFamily
        The data law.
    k : int
        Patch side, :math:`1 \le k \le \min(3, L)`.

    Returns
    -------
    ndarray of float64, shape (M,)
        :math:`\pi(v)` for each of the :math:`M = 2^{k^2}` patch codes
        :math:`v = \sum_{a,b} x_{r+a, c+b}\, 2^{ak+b}` (pixel :math:`(a, b)` of the patch is bit :math:`ak + b`).

    Notes
    -----
    With :math:`P = (L - k + 1)^2` positions and :math:`n_k(v)` the number of positions of image :math:`y_k`
    showing patch :math:`v`,

    .. math:: \pi(v) = \frac{1}{P} \sum_k p_k\, n_k(v) .

    It is the law a model's pooled patch frequencies estimate: local statistics (edges, corners, line ends)
    that a grid model with short-range couplings can match even where it cannot match the whole image.

    References
    ----------
    Theis, L., van den Oord, A. & Bethge, M. (2016) "A note on the evaluation of generative models", ICLR.

    Examples
    --------
    >>> from thermoref.dtm.data import bars_and_stripes
    >>> pi = patch_law(bars_and_stripes(4), k=2)
    >>> print(round(float(pi[0]), 4), round(float(pi[15]), 4), round(float(pi.sum()), 12))
    0.2333 0.2333 1.0
    """
    fam = _check_family(family)
    k = _check_k(k, fam.side)
    return fam.probs @ _patch_counts(fam, k) / (fam.side - k + 1) ** 2


@dataclass(frozen=True)
class PatchTest:
    r"""Pooled patch law of samples against the exact one: total variation and a Monte Carlo test.

    Attributes
    ----------
    tv : float
        :math:`\tfrac12 \sum_v |\hat\pi(v) - \pi(v)|`.
    p_value : float
        :math:`(1 + \#\{r : \mathrm{TV}_r \ge \mathrm{tv}\}) / (1 + R)`.
    null : ndarray of float64, shape (n_null,)
        The distance of :math:`R` sets of :math:`N` exact draws from the family.
    empirical : ndarray of float64, shape (M,)
        :math:`\hat\pi`, the samples' pooled frequencies of the :math:`M = 2^{k^2}` patch codes.
    exact : ndarray of float64, shape (M,)
        :math:`\pi` (:func:`patch_law`).
    k : int
        Patch side.
    n : int
        Number of samples :math:`N`.

    Notes
    -----
    :math:`\hat\pi(v) = \frac{1}{NP}\sum_i n_{x_i}(v)` over the :math:`P` positions of every sample.

    References
    ----------
    Davison, A. C. & Hinkley, D. V. (1997) *Bootstrap Methods and their Application*, Cambridge University
    Press, section 4.2.

    Examples
    --------
    >>> from thermoref.dtm.data import shapes
    >>> fam = shapes(5)
    >>> t = patch_test(fam.sample(100, rng=0), fam, n_null=99, rng=1)
    >>> t.empirical.shape, t.p_value > 0.01
    ((16,), True)
    """

    tv: float
    p_value: float
    null: np.ndarray
    empirical: np.ndarray
    exact: np.ndarray
    k: int
    n: int


def patch_test(samples: ArrayLike, family: ImageFamily, *, k: int = 2, n_null: int = 199,
               rng: np.random.Generator | int) -> PatchTest:
    r"""Total-variation distance of the samples' pooled patch law to the exact one, with a calibrated test.

    Parameters
    ----------
    samples : array_like of int, shape (N, n)
        Images, pixels in {0, 1}; at least one.
    family : ImageFamily
        The data law.
    k : int
        Patch side, :math:`1 \le k \le \min(3, L)`.
    n_null : int
        Number :math:`R \ge 1` of null replicates.
    rng : numpy.random.Generator or int
        Source of the null replicates (their counts are its only draws).

    Returns
    -------
    PatchTest
        The distance, the p-value, the null replicates and both patch laws.

    Notes
    -----
    .. math:: \mathrm{TV} = \tfrac12 \sum_v |\hat\pi(v) - \pi(v)| .

    The :math:`NP` pooled patches are not independent: overlapping patches share pixels and all patches of one
    image share its shape (a bar contributes many identical patches), so a chi-square or G-test that treats
    the pooled counts as multinomial rejects exact data far more often than its level. The null is instead
    drawn exactly: a replicate's pooled counts are :math:`c^\top n_{\cdot}(v)` with
    :math:`c \sim \mathrm{Multinomial}(N, p)` over the support, all replicates in one matrix product, and the
    p-value is the Monte Carlo one of :func:`mmd_test` (exact level, ties within :math:`10^{-9}` counted).

    References
    ----------
    Davison, A. C. & Hinkley, D. V. (1997) *Bootstrap Methods and their Application*, Cambridge University
    Press; Theis, L., van den Oord, A. & Bethge, M. (2016) "A note on the evaluation of generative models", ICLR.

    Examples
    --------
    >>> from thermoref.dtm.data import bars_and_stripes
    >>> fam = bars_and_stripes(5)
    >>> import numpy as np
    >>> x = fam.sample(200, rng=0)
    >>> print(round(patch_test(x, fam, rng=1).p_value, 3))
    0.205
    >>> noisy = x ^ (np.random.default_rng(2).random(x.shape) < 0.05)  # 5 % of pixels flipped
    >>> t = patch_test(noisy, fam, rng=1)
    >>> print(round(t.tv, 3), round(float(np.quantile(t.null, 0.95)), 3), t.p_value)
    0.168 0.058 0.005
    """
    fam = _check_family(family)
    X = _samples(samples, fam, minimum=1)
    k = _check_k(k, fam.side)
    n_null = check_positive_int(n_null, "n_null")
    M, K = 2 ** (k * k), fam.n_patterns
    check_allocation((n_null, max(M, K)), "n_null")
    check_work(n_null * K * M, "n_null")
    gen = as_rng(rng)
    N, P = X.shape[0], (fam.side - k + 1) ** 2
    counts = _patch_counts(fam, k)  # (K, M)
    exact = fam.probs @ counts / P
    empirical = np.bincount(_patch_codes(X, fam.side, k).ravel(), minlength=M) / (N * P)
    tv = float(0.5 * np.abs(empirical - exact).sum())
    C = gen.multinomial(N, fam.probs, size=n_null).astype(np.float64)  # (R, K)
    null = 0.5 * np.abs(C @ counts / (N * P) - exact).sum(axis=1)  # (R,)
    return PatchTest(tv, _p_value(tv, null), null, empirical, exact, k, N)
