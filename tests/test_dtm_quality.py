"""thermoref.dtm.quality: every measure against brute-force sums, the tests' calibration and their power.

Oracles: Python loops over samples, support images, pairs and patch positions (Hamming distances as
``sum(x != y)``); SciPy's beta quantiles (Clopper–Pearson) and binomial law; the leave-one-out definition of
the jackknife. The Monte Carlo tests are checked for calibration (rejection rate on exact draws, a binomial
count) and for power against the corruptions a generative model produces (pixel noise, a missing kind).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from thermoref.dtm import quality
from thermoref.dtm.data import ImageFamily, bars_and_stripes, shapes
from thermoref.dtm.quality import (
    fraction_within,
    hamming_to_support,
    mmd_squared,
    mmd_test,
    patch_law,
    patch_test,
    pixel_marginal_error,
)

ALPHA = 1e-3


def _noisy(fam, N, flip, rng):
    rng = np.random.default_rng(rng)
    x = fam.sample(N, rng=rng)
    return x ^ (rng.random(x.shape) < flip).astype(np.int8)


def _d(x, y) -> int:
    return int(sum(int(a) != int(b) for a, b in zip(x, y)))


@pytest.fixture(params=["bas4", "shapes4"])
def fam(request):
    return bars_and_stripes(4) if request.param == "bas4" else shapes(4)


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of 7 distances: every blockwise sum runs over many ragged blocks."""
    monkeypatch.setattr(quality, "_BLOCK", 7)


# ---------------------------------------------------------------------------------------------------------
# Distance to the support
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("blocks", ["default", "tiny"])
def test_hamming_to_support_against_brute_force(fam, blocks, request):
    if blocks == "tiny":
        request.getfixturevalue("tiny_blocks")
    x = np.concatenate([_noisy(fam, 30, 0.15, 1), np.random.default_rng(2).integers(0, 2, (10, fam.n))])
    want = [min(_d(xi, y) for y in fam.support) for xi in x]
    got = hamming_to_support(x, fam)
    assert got.dtype == np.int64 and got.tolist() == want
    assert hamming_to_support(fam.support, fam).tolist() == [0] * fam.n_patterns
    assert hamming_to_support(np.zeros((0, fam.n), np.int8), fam).shape == (0,)


@pytest.mark.parametrize("radius", [0, 1, 2, 16])
def test_fraction_within_and_its_clopper_pearson_interval(radius):
    fam = shapes(4)
    x = _noisy(fam, 60, 0.06, 3)
    d = [min(_d(xi, y) for y in fam.support) for xi in x]
    m, N = sum(di <= radius for di in d), len(x)
    w = fraction_within(x, fam, radius, confidence=0.9)
    lo = 0.0 if m == 0 else stats.beta.ppf(0.05, m, N - m + 1)
    hi = 1.0 if m == N else stats.beta.ppf(0.95, m + 1, N - m)
    assert (w.count, w.n, w.radius, w.fraction) == (m, N, radius, m / N)
    assert w.low == pytest.approx(lo, rel=1e-12, abs=1e-300) and w.high == pytest.approx(hi, rel=1e-12)
    assert 0 < m < N or radius in (2, 16)


def test_fraction_within_ends():
    fam = bars_and_stripes(3)
    w = fraction_within(fam.support, fam)
    assert (w.fraction, w.high) == (1.0, 1.0) and w.low == pytest.approx((0.025) ** (1 / 14), rel=1e-12)
    x = np.ones((1, 9), np.int8)
    x[0, 4] = 0  # all ones but the centre: distance 1 from the support
    w = fraction_within(x, fam)
    assert (w.count, w.low) == (0, 0.0) and w.high == pytest.approx(0.975, rel=1e-12)


def test_pixel_marginal_error_against_loops(fam):
    x = _noisy(fam, 25, 0.1, 4)
    exact = [sum(p * y[i] for p, y in zip(fam.probs, fam.support)) for i in range(fam.n)]
    want = max(abs(sum(int(r[i]) for r in x) / len(x) - exact[i]) for i in range(fam.n))
    assert pixel_marginal_error(x, fam) == pytest.approx(want, abs=1e-14)


# ---------------------------------------------------------------------------------------------------------
# MMD: exact sums
# ---------------------------------------------------------------------------------------------------------
def _brute_mmd(x, fam, ell):
    k = lambda a, b: np.exp(-_d(a, b) / ell)  # noqa: E731
    N = len(x)
    mu = lambda a: sum(p * k(a, y) for p, y in zip(fam.probs, fam.support))  # noqa: E731
    norm = sum(p * q * k(y, z) for p, y in zip(fam.probs, fam.support) for q, z in zip(fam.probs, fam.support))
    pairs = sum(k(x[i], x[j]) for i in range(N) for j in range(N) if i != j)
    return pairs / (N * (N - 1)) - 2 * sum(mu(a) for a in x) / N + norm, [mu(y) for y in fam.support], norm


@pytest.mark.parametrize("blocks", ["default", "tiny"])
@pytest.mark.parametrize("ell", [0.7, 2.0, 9.0])
def test_mean_embedding_and_statistic_against_double_sums(fam, ell, blocks, request):
    if blocks == "tiny":
        request.getfixturevalue("tiny_blocks")
    x = _noisy(fam, 9, 0.1, 5)
    stat, mu, norm = _brute_mmd(x, fam, ell)
    table = quality._kernel_table(fam.n, ell)
    C = np.random.default_rng(6).integers(0, 4, (5, fam.n_patterns)).astype(float)
    got_mu, got_norm, quad = quality._support_pass(fam, table, C)
    np.testing.assert_allclose(got_mu, mu, rtol=1e-13)
    assert got_norm == pytest.approx(norm, rel=1e-13)
    G = np.exp(-np.array([[_d(y, z) for z in fam.support] for y in fam.support]) / ell)
    np.testing.assert_allclose(quad, [c @ G @ c for c in C], rtol=1e-12)
    assert mmd_squared(x, fam, ell=ell) == pytest.approx(stat, rel=1e-11, abs=1e-14)


def test_null_replicates_are_the_statistic_of_exact_draws(fam):
    """A null replicate from counts c (the test's only draws) equals mmd_squared of the images c describes."""
    N, R = 12, 6
    x = _noisy(fam, N, 0.05, 7)
    t = mmd_test(x, fam, ell=3.0, n_null=R, rng=8)
    C = np.random.default_rng(8).multinomial(N, fam.probs, size=R)
    want = [mmd_squared(np.repeat(fam.support, c, axis=0), fam, ell=3.0) for c in C]
    np.testing.assert_allclose(t.null, want, rtol=1e-10, atol=1e-13)
    assert t.statistic == mmd_squared(x, fam, ell=3.0) and (t.n, t.ell) == (N, 3.0)
    assert t.p_value == (1 + np.sum(t.null >= t.statistic - 1e-9)) / (1 + R)


def test_standard_error_is_the_jackknife_of_leave_one_out_statistics():
    fam = shapes(4)
    x = _noisy(fam, 10, 0.1, 9)
    loo = np.array([mmd_squared(np.delete(x, i, axis=0), fam) for i in range(len(x))])
    want = np.sqrt((len(x) - 1) / len(x) * np.sum((loo - loo.mean()) ** 2))
    assert mmd_test(x, fam, n_null=3, rng=0).standard_error == pytest.approx(want, rel=1e-9)


def test_kernel_limits():
    """ell -> 0: the delta kernel; ell -> inf: a constant kernel, MMD = 0 (no NaN, no warning)."""
    fam = bars_and_stripes(3)
    x = _noisy(fam, 8, 0.2, 10)
    assert np.array_equal(quality._kernel_table(9, 5e-324), [1.0] + [0.0] * 9)
    same = lambda a, b: float(np.array_equal(a, b))  # noqa: E731
    pairs = sum(same(x[i], x[j]) for i in range(8) for j in range(8) if i != j)
    mu = [sum(p * same(a, y) for p, y in zip(fam.probs, fam.support)) for a in x]
    want = pairs / 56 - 2 * sum(mu) / 8 + np.sum(fam.probs**2)
    assert mmd_squared(x, fam, ell=5e-324) == pytest.approx(want, rel=1e-12)
    assert abs(mmd_squared(x, fam, ell=1e308)) <= 1e-15  # 1 - 2 + 1, to rounding


# ---------------------------------------------------------------------------------------------------------
# MMD: calibration and power
# ---------------------------------------------------------------------------------------------------------
def _rejections(trial, n_runs, rng):
    rng = np.random.default_rng(rng)
    return sum(trial(rng) for _ in range(n_runs))


def test_mmd_test_is_calibrated_on_exact_draws():
    """Rejection count at level 0.05 over 1000 independent runs, exact draws (N = 30) from shapes(4).

    With R = 19 replicates the p-value is <= 0.05 exactly when the statistic exceeds all 19, probability
    1/20 under the null (exchangeability; ties have probability ~0 here): the count is Binomial(1000, 0.05).
    The acceptance region holds it with probability >= 1 - 1e-3; a test whose true level were 0.10 (a null
    on the wrong scale, a wrong N) falls outside with probability > 0.99 (computed below).
    """
    fam = shapes(4)
    n_runs = 1000
    count = _rejections(lambda g: mmd_test(fam.sample(30, rng=g), fam, n_null=19, rng=g).p_value <= 0.05, n_runs, 11)
    lo, hi = stats.binom.ppf(ALPHA / 2, n_runs, 0.05), stats.binom.isf(ALPHA / 2, n_runs, 0.05)
    assert lo <= count <= hi, (count, lo, hi)
    assert stats.binom.cdf(hi, n_runs, 0.10) < 0.01


def test_mmd_test_rejects_noise_and_a_missing_kind():
    """Power at level 0.01 (R = 199), images of side 5: 5 % flipped pixels (N = 400), or no crosses (N = 300).

    Measured over 500 seeds: both rejected in every run with the smallest p-value 1/200 (the statistic above
    every null replicate), so a failure here is a bug, not chance. (Calibration on exact draws is the test
    above.)
    """
    fam = shapes(5)
    noisy = _noisy(fam, 400, 0.05, 12)
    assert mmd_test(noisy, fam, rng=13).p_value == 1 / 200
    partial = shapes(5, kinds=("rectangles", "bars")).sample(300, rng=14)
    assert mmd_test(partial, fam, rng=15).p_value == 1 / 200


# ---------------------------------------------------------------------------------------------------------
# Patch statistics
# ---------------------------------------------------------------------------------------------------------
def _brute_patch_counts(x, side, k):
    M = 2 ** (k * k)
    out = np.zeros((len(x), M))
    for n, img in enumerate(x):
        img = np.asarray(img).reshape(side, side)
        for r, c in itertools.product(range(side - k + 1), repeat=2):
            code = sum(int(img[r + a, c + b]) << (a * k + b) for a in range(k) for b in range(k))
            out[n, code] += 1
    return out


@pytest.mark.parametrize("k", [1, 2, 3])
def test_patch_law_against_counting_every_patch(fam, k):
    P = (fam.side - k + 1) ** 2
    want = fam.probs @ _brute_patch_counts(fam.support, fam.side, k) / P
    got = patch_law(fam, k)
    assert got.shape == (2 ** (k * k),)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-16)
    if k == 1:  # a 1x1 patch is a pixel: the mean pixel law
        m = (fam.probs @ fam.support).mean()
        np.testing.assert_allclose(got, [1 - m, m], rtol=1e-13)


def test_patch_code_convention():
    img = np.zeros((1, 9), np.int8)
    img[0, 1] = 1  # pixel (0, 1): bit a*k + b = 1 of the patch at (0, 0), bit 0 of the patch at (0, 1)
    fam = ImageFamily("one", 3, img, [1.0])
    np.testing.assert_allclose(patch_law(fam, 2)[[0, 1, 2]], [0.5, 0.25, 0.25])


def test_patch_test_statistic_and_null_against_brute_force(fam):
    N, R, k = 15, 5, 2
    x = _noisy(fam, N, 0.1, 18)
    P = (fam.side - k + 1) ** 2
    t = patch_test(x, fam, k=k, n_null=R, rng=19)
    emp = _brute_patch_counts(x, fam.side, k).sum(axis=0) / (N * P)
    exact = patch_law(fam, k)
    np.testing.assert_allclose(t.empirical, emp, rtol=1e-14)
    np.testing.assert_allclose(t.exact, exact, rtol=1e-14)
    assert t.tv == pytest.approx(0.5 * np.abs(emp - exact).sum(), rel=1e-12)
    C = np.random.default_rng(19).multinomial(N, fam.probs, size=R)
    null = [0.5 * np.abs(_brute_patch_counts(np.repeat(fam.support, c, axis=0), fam.side, k).sum(axis=0) / (N * P)
                         - exact).sum() for c in C]
    np.testing.assert_allclose(t.null, null, rtol=1e-12)


def test_patch_test_is_calibrated_where_a_pooled_chi_square_is_not():
    """Exact draws (N = 20) from bars_and_stripes(4), 1000 runs at level 0.05 (R = 19): Binomial(1000, 0.05).

    The pooled chi-square on the same 2x2 patch counts, which treats the 9 N patches as independent, rejects
    exact data in most runs: the reason the test uses a Monte Carlo null.
    """
    fam = bars_and_stripes(4)
    n_runs, exact = 1000, patch_law(fam, 2)
    seen = exact > 0  # cells exact draws can fill
    chi2_rejections = 0

    def trial(g):
        nonlocal chi2_rejections
        x = fam.sample(20, rng=g)
        t = patch_test(x, fam, n_null=19, rng=g)
        counts = t.empirical * 20 * 9
        chi2_rejections += stats.chisquare(counts[seen], exact[seen] * 20 * 9).pvalue <= 0.05
        return t.p_value <= 0.05

    count = _rejections(trial, n_runs, 20)
    lo, hi = stats.binom.ppf(ALPHA / 2, n_runs, 0.05), stats.binom.isf(ALPHA / 2, n_runs, 0.05)
    assert lo <= count <= hi, (count, lo, hi)
    assert stats.binom.cdf(hi, n_runs, 0.10) < 0.01
    assert chi2_rejections > 0.3 * n_runs


def test_patch_test_rejects_pixel_noise():
    """5 % flipped pixels at side 5 (N = 200 bars and stripes, N = 300 shapes): p = 1/200 in 500 of 500 seeds."""
    for fam, N in ((bars_and_stripes(5), 200), (shapes(5), 300)):
        assert patch_test(_noisy(fam, N, 0.05, 21), fam, rng=22).p_value == 1 / 200
