"""Tests of thermoref.sampling against the exact law softmax(beta * logits).

Oracle: the law is computed by thermoref.gibbs.softmax (itself tested against closed forms) or, for the
independent checks, by plain NumPy exp/sum written in the test. Statistical tests are chi-square tests with
alpha = 1e-3 per test (false-positive rate as if the seed were random), sized from the noncentral chi-square
law so that the bug they are meant for (by default a temperature off by 5 %) is caught with power >= 0.99, and
paired with a power check: the buggy sampler, built in the test with the same sample size and seed, is rejected
by the same statistic. The samplers are i.i.d. (no Markov chain here), so every draw is independent.
"""

from math import isqrt

import numpy as np
import pytest
from scipy import stats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from thermoref.sampling import (
    METHODS,
    alias_table,
    categorical_counts,
    empirical_frequencies,
    gumbel_top_k,
    hierarchical_law,
    sample_categorical,
    sample_hierarchical,
)
from thermoref.testing import chi_square_sample_size, chi_square_test


def exact_law(z, beta=1.0):
    """Independent oracle: exp / sum in plain NumPy, a masked (-inf) category has weight 0."""
    z = np.asarray(z, dtype=float)
    masked = np.isneginf(z)
    x = beta * np.where(masked, 0.0, z)
    x = x - np.max(np.where(masked, -np.inf, x), axis=-1, keepdims=True)
    w = np.where(masked, 0.0, np.exp(np.where(masked, 0.0, x)))
    return w / w.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def wide_logits():
    """Three rows of 300 categories (> 256), every 7th masked."""
    z = 2.0 * np.random.default_rng(11).standard_normal((3, 300))
    z[:, ::7] = -np.inf
    return z


# ---------------------------------------------------------------- shapes, dtypes, determinism


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 5)])
def test_shapes_and_dtype(method, shape):
    z = np.zeros(shape)
    one = sample_categorical(z, rng=0, method=method)
    many = sample_categorical(z, 7, rng=0, method=method)
    assert one.shape == shape[:-1] and one.dtype == np.int64
    assert many.shape == shape[:-1] + (7,) and many.dtype == np.int64
    assert ((many >= 0) & (many < shape[-1])).all()


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_bits(method):
    z = np.random.default_rng(0).standard_normal((4, 9))
    a = sample_categorical(z, 50, rng=123, method=method)
    b = sample_categorical(z, 50, rng=np.random.default_rng(123), method=method)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", METHODS)
def test_masked_categories_are_never_drawn(method, wide_logits):
    x = sample_categorical(wide_logits, 2000, rng=1, method=method)  # (3, 2000)
    assert not np.isneginf(np.take_along_axis(wide_logits, x, axis=-1)).any()


@pytest.mark.parametrize("method", METHODS)
def test_single_allowed_category_is_certain(method):
    z = np.full((2, 6), -np.inf)
    z[0, 4] = 3.0
    z[1, 0] = -1e3
    x = sample_categorical(z, 100, rng=2, method=method)
    assert (x[0] == 4).all() and (x[1] == 0).all()


# ---------------------------------------------------------------- the law (chi-square, with power)
# Every statistical test below: Pearson's chi-square of the counts against the exact law (rows' statistics and
# degrees of freedom summed, bins expecting < 5 pooled; null: chi-square), alpha = 1e-3. Its power against the
# bug it is sized for (by default beta off by 5 %) is computed from the noncentral chi-square law by power_at /
# sample_size (SciPy's ncx2, independent of thermoref.testing) and checked: the buggy sampler, built in the
# test with the same sample size and seed, must be rejected by the same statistic.


def _phi2_and_dof(p, q):
    p, q = np.atleast_2d(p), np.atleast_2d(q)
    keep = p > 0
    phi2 = float(np.sum(np.where(keep, (q - p) ** 2 / np.where(keep, p, 1.0), 0.0)))
    return phi2, int(np.sum(keep.sum(axis=-1) - 1))


def power_at(K, p, q, alpha=1e-3):
    """Power of the chi-square test of K draws per row against law p (rows summed) when the draws come from q:
    noncentral chi-square with lambda = K sum (q - p)^2 / p, dof = sum over rows of (categories - 1)."""
    phi2, dof = _phi2_and_dof(p, q)
    return float(stats.ncx2.sf(stats.chi2.isf(alpha, dof), dof, K * phi2))


def sample_size(p, q, alpha=1e-3, power=0.99):
    """Smallest K per row with power_at(K, p, q, alpha) >= power (doubling, then bisection)."""
    lo, hi = 1, 2
    while power_at(hi, p, q, alpha) < power:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if power_at(mid, p, q, alpha) < power else (lo, mid)
    return hi


@pytest.mark.parametrize("method", METHODS)
def test_law_matches_softmax_on_300_categories(method, wide_logits):
    """3 rows x 300 categories (every 7th masked), K = 20,000 per row; alpha = 1e-3. Power against beta * 1.05:
    1 - 3e-9 (11,097 per row give 0.99); the same method at beta = 1.05, same seed, is rejected."""
    K = 20_000
    p = exact_law(wide_logits)
    assert K >= sample_size(p, exact_law(wide_logits, 1.05))
    x = sample_categorical(wide_logits, K, rng=5, method=method)
    res = chi_square_test(categorical_counts(x, 300), p)
    assert res.passed, str(res)
    cold = sample_categorical(wide_logits, K, beta=1.05, rng=5, method=method)
    assert chi_square_test(categorical_counts(cold, 300), p).reject


@pytest.mark.parametrize("method", METHODS)
def test_temperature_and_its_5_percent_error(method):
    """beta = 0.7 on 40 categories, K from chi_square_sample_size for power 0.99 against beta * 1.05 (15,617
    draws); alpha = 1e-3. Power check: the same method at beta = 0.7 * 1.05, same seed, is rejected."""
    z = 3.0 * np.random.default_rng(3).standard_normal(40)
    p, wrong = exact_law(z, 0.7), exact_law(z, 0.7 * 1.05)
    K = chi_square_sample_size(p, wrong, power=0.99)
    assert K == sample_size(p, wrong)  # thermoref's sizing agrees with the independent one
    x = sample_categorical(z, K, beta=0.7, rng=6, method=method)
    assert chi_square_test(categorical_counts(x, 40), p).passed
    cold = sample_categorical(z, K, beta=0.7 * 1.05, rng=6, method=method)
    assert chi_square_test(categorical_counts(cold, 40), p).reject


@pytest.mark.parametrize("method", METHODS)
def test_pairs_of_draws_are_independent(method):
    """Joint statistic: consecutive draws (x_k, x_{k+1}) against the product law p x p (chi-square, 25 cells,
    alpha = 1e-3), K pairs sized for power 0.99 against beta * 1.05 (42,114 pairs). Power checks with the same
    seed: the method at beta = 1.05, and a sticky sampler that repeats the first draw of a pair with probability
    rho = 0.05 (noncentrality K rho^2 (n - 1) = 421: power above 1 - 1e-6)."""
    z = np.log([0.4, 0.25, 0.2, 0.1, 0.05])
    p = exact_law(z)
    pairs_law = np.outer(p, p).ravel()
    K = sample_size(pairs_law, np.outer(exact_law(z, 1.05), exact_law(z, 1.05)).ravel())
    x = sample_categorical(z, 2 * K, rng=7, method=method)
    assert chi_square_test(np.bincount(5 * x[0::2] + x[1::2], minlength=25), pairs_law).passed
    cold = sample_categorical(z, 2 * K, beta=1.05, rng=7, method=method)
    assert chi_square_test(np.bincount(5 * cold[0::2] + cold[1::2], minlength=25), pairs_law).reject
    sticky = np.outer(p, p) * 0.95 + 0.05 * np.diag(p)  # the law of (x, x') when x' repeats x with probability 0.05
    assert power_at(K, pairs_law, sticky.ravel()) > 1 - 1e-6
    second = np.where(np.random.default_rng(17).random(K) < 0.05, x[0::2], x[1::2])
    assert chi_square_test(np.bincount(5 * x[0::2] + second, minlength=25), pairs_law).reject


@pytest.mark.parametrize("method", METHODS)
def test_per_row_beta_and_uniform_limit(method):
    """Rows at beta = 0 (uniform over the 3 unmasked) and beta = 0.5; K = 30,000 per row, power 0.9993 against the
    second row's beta off by 5 % (23,079 give 0.99); alpha = 1e-3. Power check: beta = (0, 0.525), same seed."""
    z = np.array([[0.0, 1.0, 2.0, -np.inf], [0.0, 1.0, 2.0, 5.0]])
    expected = np.stack([[1 / 3, 1 / 3, 1 / 3, 0.0], exact_law(z[1], 0.5)])
    wrong = np.stack([expected[0], exact_law(z[1], 0.5 * 1.05)])
    K = 30_000
    assert K >= sample_size(expected, wrong)
    x = sample_categorical(z, K, beta=np.array([0.0, 0.5]), rng=8, method=method)
    assert chi_square_test(categorical_counts(x, 4), expected).passed
    cold = sample_categorical(z, K, beta=np.array([0.0, 0.5 * 1.05]), rng=8, method=method)
    assert chi_square_test(categorical_counts(cold, 4), expected).reject


def _homogeneity_sample_size(laws, alpha=1e-3, power=0.99):
    """K per sample for Pearson's homogeneity test of len(laws) samples of equal size K to reach ``power`` when
    sample j comes from laws[j]: noncentral chi-square, lambda = K sum_j sum_i (pi_ji - pibar_i)^2 / pibar_i, dof
    (samples - 1)(categories - 1)."""
    pi = np.asarray(laws)
    pibar = pi.mean(axis=0)
    phi2 = float(np.sum((pi - pibar) ** 2 / pibar))
    dof = (pi.shape[0] - 1) * (pi.shape[1] - 1)
    crit = stats.chi2.isf(alpha, dof)
    K = 1
    while stats.ncx2.sf(crit, dof, K * phi2) < power:
        K *= 2
    lo, hi = K // 2, K
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if stats.ncx2.sf(crit, dof, mid * phi2) < power else (lo, mid)
    return hi


def test_methods_agree_in_distribution_not_in_bits():
    """The three methods draw from one law, tested without the exact law: Pearson's homogeneity chi-square of the
    3 x 10 table of their counts (scipy.stats.chi2_contingency; null chi-square with 18 dof; alpha = 1e-3), K per
    method sized for power 0.99 when one of them is 5 % too cold (63,513; measured over 200 seeds: 0.99). Power
    check: the gumbel method at beta = 1.05,
    the same seeds, is rejected. And the same seed gives different bits: the methods consume the stream
    differently (as documented)."""
    z = np.linspace(0.0, 3.0, 10)
    p, cold = exact_law(z), exact_law(z, 1.05)
    K = _homogeneity_sample_size([p, cold, p])

    def table(betas):
        return np.stack([np.bincount(sample_categorical(z, K, beta=b, rng=30 + j, method=m), minlength=10)
                         for j, (m, b) in enumerate(zip(METHODS, betas))])  # (3, 10)

    assert stats.chi2_contingency(table((1.0, 1.0, 1.0))).pvalue > 1e-3
    assert stats.chi2_contingency(table((1.0, 1.05, 1.0))).pvalue <= 1e-3
    a = sample_categorical(z, 100, rng=0, method="inverse_cdf")
    b = sample_categorical(z, 100, rng=0, method="gumbel")
    assert not np.array_equal(a, b)


# ---------------------------------------------------------------- alias table (deterministic, exact)


def implied_law(prob, alias):
    n = prob.shape[-1]
    rows_p, rows_a = prob.reshape(-1, n), alias.reshape(-1, n)
    out = np.stack([(pp + np.bincount(aa, weights=1 - pp, minlength=n)) / n for pp, aa in zip(rows_p, rows_a)])
    return out.reshape(prob.shape)


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 40)),
                  elements=st.one_of(st.floats(-30, 30), st.just(-np.inf))))
def test_alias_table_reproduces_the_law(z):
    """Bucket probabilities + aliases imply p exactly up to rounding: |implied - p| <= 8 n eps."""
    z[..., 0] = np.where(np.isneginf(z).all(axis=-1), 0.0, z[..., 0])
    prob, alias = alias_table(z)
    p = exact_law(z)
    assert ((prob >= 0) & (prob <= 1)).all()
    assert (np.take_along_axis(p, alias, axis=-1) > 0).all()  # an alias is never a masked category
    n = z.shape[-1]
    np.testing.assert_allclose(implied_law(prob, alias), p, rtol=0, atol=8 * n * np.finfo(float).eps)


# ---------------------------------------------------------------- Gumbel-top-k and hierarchical sampling


def _pair_law(q):
    """Ordered pairs (i, j), i != j, of sampling without replacement: q_i q_j / (1 - q_i) (the 12 off-diagonal cells)."""
    P = q[:, None] * q[None, :] / (1 - q[:, None])
    return P[~np.eye(q.size, dtype=bool)]


def _pair_counts(first, second, n):
    return np.bincount(n * first + second, minlength=n * n)[~np.eye(n, dtype=bool).ravel()]


def test_gumbel_top_k_pair_law_is_sampling_without_replacement():
    """Chi-square of ordered pairs (i1, i2) vs p_i p_j / (1 - p_i) (Plackett-Luce), 12 cells, alpha = 1e-3; K = 60,000
    pairs, power 0.994 against beta * 1.05 (56,929 give 0.99). Power checks, same seed: top-2 at beta = 1.05, and
    the classic bug, pairs drawn i.i.d. WITH replacement and the repeats dropped (2,487 pairs give power 0.99)."""
    q = np.array([0.4, 0.3, 0.2, 0.1])
    P = _pair_law(q)
    K = 60_000
    assert power_at(K, P, _pair_law(exact_law(np.log(q), 1.05))) >= 0.99
    top = gumbel_top_k(np.log(q), 2, K, rng=9)  # (K, 2)
    assert (top[:, 0] != top[:, 1]).all()
    assert chi_square_test(_pair_counts(top[:, 0], top[:, 1], 4), P).passed
    cold = gumbel_top_k(np.log(q), 2, K, beta=1.05, rng=9)
    assert chi_square_test(_pair_counts(cold[:, 0], cold[:, 1], 4), P).reject
    iid = sample_categorical(np.log(q), 4 * K, rng=9).reshape(-1, 2)  # the bug: i.i.d. pairs, repeats dropped
    iid = iid[iid[:, 0] != iid[:, 1]][:K]
    assert len(iid) == K
    assert chi_square_test(_pair_counts(iid[:, 0], iid[:, 1], 4), P).reject


def test_gumbel_top_1_has_the_categorical_law():
    """Top-1 of the Gumbel keys is Gumbel-max: chi-square against softmax, 3 rows of 6, alpha = 1e-3; K = 50,000 per
    row, power 0.992 against beta * 1.05 (48,792 give 0.99). Power check: top-1 at beta = 1.05, same seed."""
    z = np.random.default_rng(1).standard_normal((3, 6))
    K = 50_000
    assert K >= sample_size(exact_law(z), exact_law(z, 1.05))
    a = gumbel_top_k(z, 1, K, rng=4)[..., 0]  # (3, K)
    assert chi_square_test(categorical_counts(a, 6), exact_law(z)).passed
    cold = gumbel_top_k(z, 1, K, beta=1.05, rng=4)[..., 0]
    assert chi_square_test(categorical_counts(cold, 6), exact_law(z)).reject


def test_hierarchical_law_equals_flat_softmax():
    """Exact identity Z_b/Z * e^{z_i}/Z_b = e^{z_i}/Z. Two exp/log paths, |logits| <= ~8: within 64 ulps."""
    z = 2.0 * np.random.default_rng(2).standard_normal((20, 300))
    z[:, 30:60] = -np.inf  # one fully masked block
    h = hierarchical_law(z, 30, beta=1.3)
    f = exact_law(z, 1.3)
    assert (h[:, 30:60] == 0).all()
    np.testing.assert_array_max_ulp(h[f > 0], f[f > 0], maxulp=64)


def test_hierarchical_sampler_law():
    """Two-stage sampler, 2 rows of 300 in blocks of 20: chi-square against the flat law, alpha = 1e-3; K = 25,000
    per row, power 0.9994 against beta * 1.05 (20,803 give 0.99). Power check: beta = 1.05, same seed."""
    z = 2.0 * np.random.default_rng(4).standard_normal((2, 300))
    K = 25_000
    assert K >= sample_size(exact_law(z), exact_law(z, 1.05))
    x = sample_hierarchical(z, 20, K, rng=10)
    assert x.shape == (2, K)
    assert chi_square_test(categorical_counts(x, 300), exact_law(z)).passed
    cold = sample_hierarchical(z, 20, K, beta=1.05, rng=10)
    assert chi_square_test(categorical_counts(cold, 300), exact_law(z)).reject
    assert sample_hierarchical(z, 20, rng=1).shape == (2,)


# ---------------------------------------------------------------- the inverse-CDF rule and the two-level Gumbel


def documented_inverse_cdf(z, K, seed, beta=1.0):
    """Independent oracle of the documented rule: u = default_rng(seed).random((rows, K)); the draw is the smallest i
    with F_i > u F_{n-1}, F the CDF of the exact law (plain NumPy), found by np.searchsorted row by row."""
    cdf = np.cumsum(exact_law(z, np.asarray(beta)[..., None]), axis=-1).reshape(-1, np.shape(z)[-1])
    u = np.random.default_rng(seed).random((cdf.shape[0], K))
    idx = np.stack([np.searchsorted(c, uu * c[-1], side="right") for c, uu in zip(cdf, u)])
    return idx.reshape(np.shape(z)[:-1] + (K,))


@pytest.mark.parametrize("case", ["masked", "per-row beta", "shifted (|max| > 600)", "sentinel", "wide"])
def test_inverse_cdf_keeps_its_documented_draws(case):
    """Regression (same seed, same draws as before the speed-up, which chapters 2, 4 and 7 print): the draws are
    the documented rule applied to rng.random((rows, K)). The oracle's CDF is normalised, the sampler's is not, so
    a draw could differ only for a uniform within ~n eps of a CDF step: probability < 1e-9 over this test."""
    rng = np.random.default_rng(3)
    z = 2.0 * rng.standard_normal((6, 40))
    z[:, ::5] = -np.inf
    beta = 1.0
    if case == "per-row beta":
        beta = np.linspace(0.0, 2.0, 6)
    elif case == "shifted (|max| > 600)":
        z[0] += 900.0
        z[1] -= 900.0
    elif case == "sentinel":
        z[2, 1:3] = np.finfo(float).min  # a logit, not a mask: weight exactly 0 in float64, never drawn
    elif case == "wide":
        z = 3.0 * rng.standard_normal((3, 1000))
    x = sample_categorical(z, 300, beta=beta, rng=11)
    np.testing.assert_array_equal(x, documented_inverse_cdf(z, 300, 11, beta))


@pytest.mark.parametrize("method", METHODS)
def test_memory_layout_does_not_change_the_draws(method):
    """Regression (a broadcast view once searched a stale copy of the running sums): broadcast, transposed and
    sliced logits give the draws of their contiguous copies."""
    z = np.random.default_rng(8).standard_normal((5, 12))
    views = [np.broadcast_to(z[0], (7, 12)), np.asfortranarray(z), z[:, ::-1], z.T.copy().T]
    for v in views:
        np.testing.assert_array_equal(sample_categorical(v, 30, rng=2, method=method),
                                      sample_categorical(np.ascontiguousarray(v), 30, rng=2, method=method))


def test_extreme_uniforms_stay_on_categories_of_positive_weight():
    """u * total < total after rounding for every float u < 1: the largest uniform draws the last category of
    positive weight, never a masked or underflowed one after it; u = 0 draws the first of positive weight."""
    from thermoref.sampling import _inverse_cdf

    x = np.array([[-np.inf, 0.0, 1.0, -1e4, -np.inf], [-1e4, 2.0, -np.inf, -np.inf, -np.inf]])  # e^-1e4 underflows
    top = np.max(x, axis=1)
    u = np.array([[0.0, np.nextafter(1.0, 0.0)]] * 2)
    np.testing.assert_array_equal(_inverse_cdf(x, top, u), [[1, 2], [1, 1]])
    for T in (1.0, 1.5, np.nextafter(2.0, 0.0), 3.0 * 2.0**-1000 * 2.0**60):  # the claim, over binades
        assert np.nextafter(1.0, 0.0) * T < T


def test_two_level_gumbel_uses_about_2_sqrt_n_variates():
    """The cost claim: ceil(sqrt n) + ceil(n / ceil(sqrt n)) exponential variates per draw (64 at n = 1024), against
    n = 1024 for the one-level Gumbel-max. Counted by a Generator that reports its exponential variates."""

    class Counting(np.random.Generator):
        count = 0

        def standard_exponential(self, size=None, *args, **kwargs):
            Counting.count += int(np.prod(size))
            return super().standard_exponential(size, *args, **kwargs)

    for n, per_draw in ((1024, 64), (300, 35), (10, 7), (1, 1)):
        Counting.count = 0
        sample_categorical(np.zeros(n), 50, rng=Counting(np.random.PCG64(0)), method="gumbel")
        assert Counting.count == 50 * per_draw


@pytest.mark.parametrize("n", [1, 2, 3, 10, 17, 99])
def test_two_level_gumbel_law_for_any_number_of_categories(n):
    """n that are not squares (a padded last block), with a fully masked block when n >= 10: chi-square against
    the exact law, alpha = 1e-3, with K from chi_square_sample_size for power 0.99 against beta * 1.05 (19,288 to
    59,699 draws). Power check: the same sampler at beta = 1.05, same seed."""
    if n == 1:
        assert (sample_categorical([3.0], 10, rng=0, method="gumbel") == 0).all()
        return
    z = 1.5 * np.random.default_rng(n).standard_normal(n)
    if n >= 10:
        z[:4] = -np.inf  # the first block (width ceil(sqrt n) >= 4) is fully masked
    p = exact_law(z)
    K = chi_square_sample_size(p, exact_law(z, 1.05))
    x = sample_categorical(z, K, rng=n, method="gumbel")
    assert chi_square_test(np.bincount(x, minlength=n), p).passed
    cold = sample_categorical(z, K, beta=1.05, rng=n, method="gumbel")
    assert chi_square_test(np.bincount(cold, minlength=n), p).reject


def _blocks_weighed_by_width(n):
    """The law of the regression bug below: every block of the two-level race weighed as a full block of width
    ceil(sqrt n), so each block is equally likely, and the short last block's categories get more than 1/n."""
    width = isqrt(n - 1) + 1
    sizes = np.diff(np.minimum(np.arange(0, n + width, width), n))
    sizes = sizes[sizes > 0]
    return np.repeat(1.0 / (sizes.size * sizes), sizes)


@pytest.mark.parametrize("level", [-3.4e38, -np.finfo(float).max, 1e300])
def test_two_level_gumbel_with_huge_equal_logits_is_uniform(level):
    """Regression: block weights computed as ln Z_B = max + ln(sum) lose ln(sum) next to a logit of 1e38, so a
    block of 2 categories weighed as much as a block of 3 (found with 8 framework mask sentinels). Rows of equal
    huge logits, n = 8 and 10 (padded last blocks): chi-square against the uniform law, alpha = 1e-3, K = 8,000.
    Sized for that bug (a temperature error cannot show on equal logits): power 1 - 1e-9 or better against the
    law with every block weighed alike (the short block's categories get 4/3, resp. 5/3, of their share).
    Power check: draws from that law, same seed, are rejected."""
    for n in (8, 10):
        uniform, bug = np.full(n, 1.0 / n), _blocks_weighed_by_width(n)
        assert power_at(8000, uniform, bug) > 1 - 1e-9
        x = sample_categorical(np.full(n, level), 8000, rng=n, method="gumbel")
        assert chi_square_test(np.bincount(x, minlength=n), uniform).passed
        x_bug = sample_categorical(np.log(bug), 8000, rng=n, method="gumbel")
        assert chi_square_test(np.bincount(x_bug, minlength=n), uniform).reject


def test_two_level_gumbel_catches_a_block_chosen_by_its_maximum():
    """Power against the natural bug of the two-level scheme: choosing the block by its largest logit instead of its
    log-partition function. Blocks of 4 with one large logit or four equal ones make the laws differ; K is sized by
    chi_square_sample_size for power 0.99; the correct sampler passes (alpha = 1e-3) and the buggy one, built here
    (block by its maximum, then an item by the block's own law, same K), is rejected."""
    z = np.log(np.array([4.0, 1e-3, 1e-3, 1e-3, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 1e-3, 1e-3, 0.5, 0.5, 0.5, 0.5]))
    p = exact_law(z)
    zb = z.reshape(4, 4)
    by_max = np.exp(zb.max(axis=1)) / np.exp(zb.max(axis=1)).sum()  # the buggy block law
    wrong = (by_max[:, None] * exact_law(zb)).ravel()
    K = chi_square_sample_size(p, wrong, power=0.99)
    counts = np.bincount(sample_categorical(z, K, rng=21, method="gumbel"), minlength=16)
    assert chi_square_test(counts, p).passed
    block = sample_categorical(zb.max(axis=1), K, rng=21)  # the bug, run: (K,) blocks by their maximum
    item = sample_categorical(zb[block], rng=22)  # (K,) an item of each drawn block
    assert chi_square_test(np.bincount(4 * block + item, minlength=16), p).reject


def test_gumbel_top_k_keeps_its_one_level_perturbation():
    """gumbel_top_k perturbs every category (its Plackett-Luce law needs all n keys): same seed, same draws as the
    rule it documents, argsort of z + rng.gumbel(size=(K, n)), largest first."""
    z = np.random.default_rng(5).standard_normal(9)
    top = gumbel_top_k(z, 3, 40, rng=6)  # (40, 3)
    y = z + np.random.default_rng(6).gumbel(size=(40, 9))
    np.testing.assert_array_equal(top, np.argsort(-y, axis=1)[:, :3])


# ---------------------------------------------------------------- counts


def test_counts_of_no_draws_are_zero():
    np.testing.assert_array_equal(categorical_counts(np.zeros((2, 0), dtype=int), 3), np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="^indices:"):
        empirical_frequencies(np.zeros((2, 0), dtype=int), 3)


def test_counts_match_per_row_bincount():
    x = np.random.default_rng(0).integers(0, 7, size=(3, 4, 50))
    c = categorical_counts(x, 7)
    ref = np.array([[np.bincount(r, minlength=7) for r in row] for row in x])
    np.testing.assert_array_equal(c, ref)
    np.testing.assert_array_equal(empirical_frequencies(x, 7), ref / 50)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(logits=[[0.0, 1.0], [-np.inf, -np.inf]]), "logits"),
        (dict(logits=[0.0, np.nan]), "logits"),
        (dict(logits=[0.0, np.inf]), "logits"),
        (dict(logits=np.zeros((2, 0))), "logits"),
        (dict(logits=[0.0, 1.0], beta=-1.0), "beta"),
        (dict(logits=[0.0, 1.0], beta=np.inf), "beta"),
        (dict(logits=[1e300, 0.0], beta=1e10), "beta"),
        (dict(logits=np.zeros((2, 3)), beta=np.ones(3)), "beta"),
        (dict(logits=[0.0, 1.0], size=0), "size"),
        (dict(logits=[0.0, 1.0], method="choice"), "method"),
    ],
)
def test_bad_input(kwargs, match):
    kwargs.setdefault("rng", 0)
    with pytest.raises(ValueError, match=match):
        sample_categorical(**kwargs)


@pytest.mark.parametrize("method", ["gumbel", "alias"])
def test_every_method_keeps_the_bad_input_promise(method):
    """The bad-input suite fuzzes sample_categorical with its default method; the same generic bad values (the
    harness of tests/fuzz_specs) go through the other two methods here: a named error or a clean result."""
    import dataclasses

    from fuzz_specs import SPECS, load_all
    from fuzz_specs.core import check_spec

    load_all()
    s = SPECS["thermoref.sampling.sample_categorical"]
    assert check_spec(dataclasses.replace(s, args=dict(s.args, method=method))) == []


def test_rng_is_required():
    with pytest.raises(TypeError, match="rng"):
        sample_categorical([0.0, 1.0], rng=None)


def test_bad_input_other_functions():
    with pytest.raises(ValueError, match="k"):
        gumbel_top_k([0.0, -np.inf, 1.0], 3, rng=0)
    with pytest.raises(ValueError, match="block_size"):
        hierarchical_law(np.zeros(10), 3)
    with pytest.raises(ValueError, match="indices"):
        categorical_counts([0, 5], 3)
