"""Tests of thermoref.sampling against the exact law softmax(beta * logits).

Oracle: the law is computed by thermoref.gibbs.softmax (itself tested against closed forms) or, for the
independent checks, by plain NumPy exp/sum written in the test. Statistical tests are chi-square tests with
alpha = 1e-3 per test (false-positive rate as if the seed were random), sized by chi_square_sample_size so
that a 5 % temperature error is caught, and paired with a power check that the same statistic rejects it.
"""

import numpy as np
import pytest
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


@pytest.mark.parametrize("method", METHODS)
def test_law_matches_softmax_on_300_categories(method, wide_logits):
    """Chi-square of counts (3 rows x 300 categories, pooled bins) vs the exact law; null chi2, alpha=1e-3."""
    K = 20_000
    x = sample_categorical(wide_logits, K, rng=5, method=method)
    res = chi_square_test(categorical_counts(x, 300), exact_law(wide_logits))
    assert res.passed, str(res)


@pytest.mark.parametrize("method", METHODS)
def test_temperature_and_its_5_percent_error(method):
    """beta = 0.7: chi-square passes for the right law and rejects beta off by 5 % (power >= 0.99 by design)."""
    z = 3.0 * np.random.default_rng(3).standard_normal(40)
    p, wrong = exact_law(z, 0.7), exact_law(z, 0.7 * 1.05)
    K = chi_square_sample_size(p, wrong, power=0.99)
    x = sample_categorical(z, K, beta=0.7, rng=6, method=method)
    counts = categorical_counts(x, 40)
    assert chi_square_test(counts, p).passed
    assert chi_square_test(counts, wrong).reject


@pytest.mark.parametrize("method", METHODS)
def test_pairs_of_draws_are_independent(method):
    """Joint statistic: consecutive draws (x_k, x_{k+1}) have the product law p x p (chi-square, 25 cells)."""
    z = np.log([0.4, 0.25, 0.2, 0.1, 0.05])
    x = sample_categorical(z, 40_000, rng=7, method=method)
    pairs = 5 * x[0::2] + x[1::2]
    p = exact_law(z)
    assert chi_square_test(np.bincount(pairs, minlength=25), np.outer(p, p).ravel()).passed


@pytest.mark.parametrize("method", METHODS)
def test_per_row_beta_and_uniform_limit(method):
    z = np.array([[0.0, 1.0, 2.0, -np.inf], [0.0, 1.0, 2.0, 5.0]])
    beta = np.array([0.0, 0.5])
    x = sample_categorical(z, 30_000, beta=beta, rng=8, method=method)
    counts = categorical_counts(x, 4)
    expected = np.stack([[1 / 3, 1 / 3, 1 / 3, 0.0], exact_law(z[1], 0.5)])
    assert chi_square_test(counts, expected).passed


def test_methods_agree_in_distribution_not_in_bits():
    z = np.zeros(10)
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


def test_gumbel_top_k_pair_law_is_sampling_without_replacement():
    """Chi-square of ordered pairs (i1, i2) vs p_i p_j / (1 - p_i) (Plackett-Luce), 12 cells, alpha=1e-3."""
    q = np.array([0.4, 0.3, 0.2, 0.1])
    top = gumbel_top_k(np.log(q), 2, 60_000, rng=9)  # (K, 2)
    assert (top[:, 0] != top[:, 1]).all()
    P = q[:, None] * q[None, :] / (1 - q[:, None])
    np.fill_diagonal(P, 0.0)
    counts = np.bincount(4 * top[:, 0] + top[:, 1], minlength=16)
    keep = P.ravel() > 0
    assert chi_square_test(counts[keep], P.ravel()[keep]).passed
    # power: sampling WITH replacement (i.i.d. pairs renormalised off the diagonal) is rejected
    wrong = np.outer(q, q)
    np.fill_diagonal(wrong, 0)
    wrong = wrong.ravel()[keep] / wrong.sum()
    assert chi_square_test(counts[keep], wrong).reject


def test_gumbel_top_1_has_the_categorical_law():
    """Top-1 of the Gumbel keys is Gumbel-max: chi-square against softmax (alpha = 1e-3)."""
    z = np.random.default_rng(1).standard_normal((3, 6))
    a = gumbel_top_k(z, 1, 20_000, rng=4)[..., 0]  # (3, K)
    assert chi_square_test(categorical_counts(a, 6), exact_law(z)).passed


def test_hierarchical_law_equals_flat_softmax():
    """Exact identity Z_b/Z * e^{z_i}/Z_b = e^{z_i}/Z. Two exp/log paths, |logits| <= ~8: within 64 ulps."""
    z = 2.0 * np.random.default_rng(2).standard_normal((20, 300))
    z[:, 30:60] = -np.inf  # one fully masked block
    h = hierarchical_law(z, 30, beta=1.3)
    f = exact_law(z, 1.3)
    assert (h[:, 30:60] == 0).all()
    np.testing.assert_array_max_ulp(h[f > 0], f[f > 0], maxulp=64)


def test_hierarchical_sampler_law():
    z = 2.0 * np.random.default_rng(4).standard_normal((2, 300))
    x = sample_hierarchical(z, 20, 20_000, rng=10)
    assert x.shape == (2, 20_000)
    assert chi_square_test(categorical_counts(x, 300), exact_law(z)).passed
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
    """Chi-square of 30000 draws vs the exact law (alpha = 1e-3) for n that are not squares (a padded last block),
    with a fully masked block when n >= 10."""
    if n == 1:
        assert (sample_categorical([3.0], 10, rng=0, method="gumbel") == 0).all()
        return
    z = 1.5 * np.random.default_rng(n).standard_normal(n)
    if n >= 10:
        z[:4] = -np.inf  # the first block (width ceil(sqrt n) >= 4) is fully masked
    x = sample_categorical(z, 30_000, rng=n, method="gumbel")
    assert chi_square_test(np.bincount(x, minlength=n), exact_law(z)).passed


@pytest.mark.parametrize("level", [-3.4e38, -np.finfo(float).max, 1e300])
def test_two_level_gumbel_with_huge_equal_logits_is_uniform(level):
    """Regression: block weights computed as ln Z_B = max + ln(sum) lose ln(sum) next to a logit of 1e38, so a
    block of 2 categories weighed as much as a block of 3 (found with 8 framework mask sentinels). Rows of equal
    huge logits, n = 8 and 10 (padded last blocks): chi-square against the uniform law, alpha = 1e-3; the bug
    gives the short block's categories 4/3 of their share, a chi-square of about 130 at K = 4000 per row."""
    for n in (8, 10):
        x = sample_categorical(np.full(n, level), 8000, rng=n, method="gumbel")
        assert chi_square_test(np.bincount(x, minlength=n), np.full(n, 1.0 / n)).passed


def test_two_level_gumbel_catches_a_block_chosen_by_its_maximum():
    """Power against the natural bug of the two-level scheme: choosing the block by its largest logit instead of its
    log-partition function. Blocks of 4 with one large logit or four equal ones make the laws differ; K is sized by
    chi_square_sample_size for power 0.99, and the correct sampler passes (alpha = 1e-3)."""
    z = np.log(np.array([4.0, 1e-3, 1e-3, 1e-3, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 1e-3, 1e-3, 0.5, 0.5, 0.5, 0.5]))
    p = exact_law(z)
    zb = z.reshape(4, 4)
    by_max = np.exp(zb.max(axis=1)) / np.exp(zb.max(axis=1)).sum()  # the buggy block law
    wrong = (by_max[:, None] * exact_law(zb)).ravel()
    K = chi_square_sample_size(p, wrong, power=0.99)
    counts = np.bincount(sample_categorical(z, K, rng=21, method="gumbel"), minlength=16)
    assert chi_square_test(counts, p).passed
    assert chi_square_test(counts, wrong).reject


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
