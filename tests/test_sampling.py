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


def test_gumbel_top_1_is_gumbel_max():
    z = np.random.default_rng(1).standard_normal((3, 6))
    a = gumbel_top_k(z, 1, 10, rng=4)[..., 0]
    b = sample_categorical(z, 10, rng=4, method="gumbel")
    np.testing.assert_array_equal(a, b)


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


# ---------------------------------------------------------------- counts


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
