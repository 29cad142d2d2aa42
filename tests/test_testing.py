"""Tests of thermoref.testing, including the calibration of its statistics.

Deterministic parts (pooling, enumeration, indices) are checked against hand-computed values and SciPy.
The calibration runs each test over many independent seeds (rejection_rate): with a correct sampler the
rejection rate must equal alpha within its binomial error (checked by an exact two-sided binomial test at
level 1e-3, i.e. the calibration itself has a 1e-3 false-alarm rate); with a deliberately wrong sampler the
rate must reach the power that chi_square_sample_size / z_sample_size predict (binomial test again).
"""

import numpy as np
import pytest
from scipy import stats

from thermoref.gibbs import softmax
from thermoref.sampling import categorical_counts, sample_categorical
from thermoref.testing import (
    GoodnessOfFit,
    chi_square_power,
    chi_square_sample_size,
    chi_square_test,
    empirical_law,
    enumerate_states,
    ks_test,
    rejection_rate,
    state_index,
    z_sample_size,
    z_test,
    z_test_mean,
)

# ---------------------------------------------------------------- deterministic behaviour


def test_chi_square_statistic_and_pvalue_match_scipy():
    counts = np.array([48.0, 35.0, 17.0])
    p = np.array([0.5, 0.3, 0.2])
    res = chi_square_test(counts, p)
    ref = stats.chisquare(counts, 100 * p)
    assert abs(res.statistic - ref.statistic) < 1e-12 and abs(res.pvalue - ref.pvalue) < 1e-12
    assert res.dof == 2 and res.n == 100 and res.passed and "pass" in str(res)


def test_rows_add_statistics_and_dofs():
    counts = np.array([[48.0, 35.0, 17.0], [30.0, 30.0, 40.0]])
    p = np.array([0.5, 0.3, 0.2])
    res = chi_square_test(counts, p)
    parts = [chi_square_test(c, p) for c in counts]
    assert abs(res.statistic - sum(r.statistic for r in parts)) < 1e-12 and res.dof == 4


def test_small_bins_are_pooled():
    p = np.array([0.9, 0.05, 0.03, 0.02])
    counts = np.array([91.0, 4.0, 3.0, 2.0])  # expected 90, 5, 3, 2: the 3 and 2 pool into one bin of 5
    res = chi_square_test(counts, p)
    assert res.dof == 2
    ref = stats.chisquare([91.0, 4.0, 5.0], [90.0, 5.0, 5.0])
    assert abs(res.statistic - ref.statistic) < 1e-12


def test_a_draw_in_a_zero_probability_category_is_rejected_even_when_pooled():
    """Regression: pooling used to hide a count in a p = 0 category among other small bins."""
    p = np.array([0.49, 0.49, 0.02, 0.0])
    counts = np.array([480.0, 490.0, 19.0, 1.0])
    res = chi_square_test(counts, p)
    assert res.reject and res.pvalue == 0.0 and np.isinf(res.statistic)


def test_z_tests():
    res = z_test(1.2, 1.0, 0.1)
    assert abs(res.statistic - 2.0) < 1e-12 and abs(res.pvalue - 2 * stats.norm.sf(2.0)) < 1e-15
    x = np.array([0.1, -0.3, 0.5, 0.2])
    assert abs(z_test_mean(x, 0.0, 1.0).statistic - x.mean() * 2.0) < 1e-15


def test_enumeration_and_state_index_roundtrip():
    s = enumerate_states(4)
    assert s.shape == (16, 4) and s.dtype == np.int8
    np.testing.assert_array_equal(s[5], [-1, 1, -1, 1])
    np.testing.assert_array_equal(state_index(s), np.arange(16))
    b = enumerate_states(3, (0, 1))
    np.testing.assert_array_equal(state_index(b, (0, 1)), np.arange(8))
    np.testing.assert_array_equal(empirical_law(np.array([[0, 1], [0, 1], [1, 1]]), (0, 1)), [0, 2, 0, 1])


def test_sample_sizes_invert_the_power_formulas():
    p, q = np.array([0.5, 0.5]), np.array([0.55, 0.45])
    K = chi_square_sample_size(p, q, alpha=0.01, power=0.9)
    crit = stats.chi2.isf(0.01, 1)
    assert stats.ncx2.sf(crit, 1, K * 0.01) >= 0.9 > stats.ncx2.sf(crit, 1, (K - 1) * 0.01)
    n = z_sample_size(0.1, 1.0, alpha=0.05, power=0.8)
    assert n == int(np.ceil((stats.norm.isf(0.025) + stats.norm.ppf(0.8)) ** 2 / 0.01))


def test_sample_size_ignores_categories_masked_in_both_laws():
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.45, 0.35, 0.2])
    masked = chi_square_sample_size(np.append(p, 0.0), np.append(q, 0.0))
    assert masked == chi_square_sample_size(p, q)
    with pytest.raises(ValueError, match="q"):
        chi_square_sample_size(np.append(p, 0.0), np.append(q[:-1], [0.1, 0.1]))


def test_bad_input():
    with pytest.raises(ValueError, match="p"):
        chi_square_test([1, 2], [0.5, 0.6])
    with pytest.raises(ValueError, match="counts"):
        chi_square_test([-1, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="alpha"):
        chi_square_test([1, 2], [0.5, 0.5], alpha=0.0)
    with pytest.raises(ValueError, match="std_error"):
        z_test(0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="n"):
        enumerate_states(30)
    with pytest.raises(ValueError, match="states"):
        state_index([[0, 2]])
    with pytest.raises(ValueError, match="n_trials"):
        rejection_rate(lambda g: z_test(0.0, 0.0, 1.0), 0, rng=0)


def test_enumerate_states_refuses_non_integer_values():  # regression: values=(0.5, 1) truncated to (0, 1)
    with pytest.raises(ValueError, match="^values: expected two integers"):
        enumerate_states(3, (0.5, 1))
    with pytest.raises(ValueError, match="^values: the two states must differ"):
        state_index([[1, 1]], (1, 1))
    with pytest.raises(ValueError, match="^values: expected two values"):
        empirical_law([[1, 1]], (1,))


def test_indices_and_histograms_that_cannot_fit_are_refused():
    with pytest.raises(ValueError, match="^states: 63 units"):
        state_index(np.ones((2, 63), dtype=np.int8))
    with pytest.raises(ValueError, match="^states: the result would need"):  # 2**40 counts
        empirical_law(np.ones((2, 40), dtype=np.int8))
    assert state_index(np.ones((1, 62), dtype=np.int8)).tolist() == [2**62 - 1]


def test_z_statistics_at_the_ends_of_float64():
    # the difference 2e308 overflows; the statistic (1e308 - (-1e308)) / 1e308 = 2 does not
    r = z_test(1e308, -1e308, 1e308)
    assert r.statistic == 2.0 and r.pvalue == pytest.approx(2 * stats.norm.sf(2.0), rel=1e-15)
    # a mean of draws near 1e308 (the plain sum overflows) and a variance near 5e-324 (var / n underflows)
    x = np.array([1e308, 1.5e308, 1.7e308, 1.2e308])
    assert z_test_mean(x, 1.35e308, 1e300).statistic == pytest.approx(0.0, abs=1e-150)
    assert z_test_mean([1e-162, 3e-162], 2e-162, 5e-324).statistic == pytest.approx(0.0, abs=1e-12)
    # z = (xbar - mu) sqrt(n) / sigma with sigma^2 = 5e-324, the smallest subnormal (var / n underflows to 0)
    r = z_test_mean([4e-162, 4e-162], 2e-162, 5e-324)
    assert r.statistic == pytest.approx(2e-162 * np.sqrt(2.0) / np.sqrt(5e-324), rel=1e-12)


def test_z_sample_size_at_tiny_alpha_against_the_normal_quantile():
    # z_{1 - alpha/2} at alpha = 5e-324 (alpha/2 is below the smallest subnormal): 38.47..., from mpmath's erfc
    mp = pytest.importorskip("mpmath")
    with mp.workdps(40):
        half = mp.mpf(5e-324) / 2
        z_a = mp.findroot(lambda z: mp.erfc(z / mp.sqrt(2)) / 2 - half, 38.0)
        z = z_a + mp.sqrt(2) * mp.erfinv(2 * mp.mpf(0.99) - 1)
        exact = int(mp.ceil((z / mp.mpf(0.05)) ** 2))
    assert z_sample_size(0.05, 1.0, alpha=5e-324) == exact
    assert z_sample_size(1e308, 1.0) == 1  # a shift far beyond sigma is caught by one draw
    with pytest.raises(ValueError, match="^delta: the sample size"):
        z_sample_size(5e-324, 1.0)
    with pytest.raises(ValueError, match="^sigma: the sample size"):
        z_sample_size(0.05, 1e308)


def test_ks_and_chi_square_name_what_was_wrong():
    x = np.random.default_rng(0).standard_normal(50)
    with pytest.raises(ValueError, match="^cdf: returned NaN"):
        ks_test(x, lambda u: np.full_like(u, np.nan))
    with pytest.raises(ValueError, match="^cdf: returned values outside"):
        ks_test(x, lambda u: u)
    with pytest.raises(ValueError, match="^cdf: 'no-such' is not the name"):
        ks_test(x, "no-such")
    with pytest.raises(ValueError, match="^args: .* not valid parameters of scipy.stats.norm"):
        ks_test(x, "norm", args=(0.0, -1.0))
    with pytest.raises(TypeError, match="^cdf: cdf\\(x, \\*args\\)"):
        ks_test(x, lambda u: u, args=(1.0,))
    assert ks_test(x, "norm", args=(0.0, 1.0)).pvalue == ks_test(x, "norm").pvalue
    with pytest.raises(ValueError, match="^ddof: removing 5"):
        chi_square_test([30, 40, 30], [0.3, 0.4, 0.3], ddof=5)
    with pytest.raises(ValueError, match="^min_expected: 1e\\+308 exceeds"):
        chi_square_test([30, 40, 30], [0.3, 0.4, 0.3], min_expected=1e308)
    with pytest.raises(TypeError, match="^trial: must return"):
        rejection_rate(lambda g: 0.5, 3, rng=0)
    with pytest.raises(ValueError, match="^n_trials: the result would need"):
        rejection_rate(lambda g: z_test(0.0, 0.0, 1.0), 2**62, rng=0)


# ---------------------------------------------------------------- calibration (many seeds)
# Each calibration counts rejections over independent seeds (rejection_rate) and holds the count against its
# binomial law with an exact two-sided test at level 1e-3 (statistic: the count; null: Binomial(N, rate)). Each
# is sized for a plausible bug of the statistic it calibrates, its power against that bug is the exact binomial
# power (stated in the docstring), and a power check shows the bug rejected on the same seeds: where the bug is a
# different decision rule, it is applied to the recorded statistics of the same trials.

LOGITS = np.linspace(0.0, 3.0, 10)
P = softmax(LOGITS)


def consistent(rejections_rate, n_trials, rate):
    """Exact two-sided binomial test (level 1e-3) that the observed rate is consistent with ``rate``."""
    k = int(round(rejections_rate * n_trials))
    return bool(stats.binomtest(k, n_trials, rate).pvalue > 1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_chi_square_false_positive_rate_is_alpha(alpha):
    """2000 independent tests of the correct categorical sampler (K = 2000, all expected counts >= 40).

    Sized for mis-stated degrees of freedom: p-values from chi-square with 2 dof too few reject at 0.120 (nominal
    0.05) or 0.030 (nominal 0.01), caught with exact binomial power 1 - 1e-15 or 0.9997 (one dof too few: 0.078
    and 0.017, power 0.97 and 0.44). Power check: that rule applied to the same 2000 statistics is rejected.
    """
    statistics = []

    def trial(g):
        x = sample_categorical(LOGITS, 2000, rng=g)
        res = chi_square_test(categorical_counts(x, 10), P, alpha=alpha)
        statistics.append((res.statistic, res.dof))
        return res

    rate, _ = rejection_rate(trial, 2000, rng=1)
    assert consistent(rate, 2000, alpha), rate
    bug_rate = np.mean([stats.chi2.sf(s, dof - 2) <= alpha for s, dof in statistics])
    assert not consistent(bug_rate, 2000, alpha), bug_rate


@pytest.mark.slow
def test_chi_square_power_matches_the_sample_size_formula():
    """beta off by 5 %: with K from chi_square_sample_size(power=0.5) the rejection rate is 0.5; with power=0.99
    it is 0.99 (binomial tests, 400 trials each).

    Sized for a sample-size formula 20 % low: at 0.8 K the power is 0.335 (resp. 0.949), caught by the binomial
    test with power 0.9996 (resp. 0.985). Power check: 400 trials at 0.8 K for the 0.5 level are rejected."""
    wrong = softmax(1.05 * LOGITS)

    def rate_at(K, seed):
        def trial(g):
            x = sample_categorical(1.05 * LOGITS, K, rng=g)
            return chi_square_test(categorical_counts(x, 10), P, alpha=1e-3)

        return rejection_rate(trial, 400, rng=seed)[0]

    for power in (0.5, 0.99):
        K = chi_square_sample_size(P, wrong, alpha=1e-3, power=power)
        rate = rate_at(K, 2)
        assert consistent(rate, 400, power), (power, rate)
    K = chi_square_sample_size(P, wrong, alpha=1e-3, power=0.5)
    rate = rate_at(round(0.8 * K), 2)
    assert not consistent(rate, 400, 0.5), rate


@pytest.mark.slow
def test_ks_and_z_calibration():
    """KS and z-mean: false-positive rate alpha = 0.05 (2000 trials); z power as z_sample_size predicts;
    the measured KS power for a 5 % Gaussian scale error at n = 2e4 and alpha = 1e-3 quoted in the docs.

    Bugs and powers (exact binomial): a KS p-value halved (one- for two-sided) rejects at 0.10, power 1 - 1e-7;
    z_test_mean dividing by the variance instead of the standard deviation (variance 1/3) rejects at 0.258,
    power 1 - 1e-15; z_sample_size 20 % low gives power 0.788 instead of 0.9, caught with power 0.998. Power
    checks: the first two rules applied to the recorded statistics, the third run at 0.8 n. The KS power window
    (0.55, 0.85) over 100 trials has a false-alarm rate of 1.5e-3 if the quoted power 0.7 is right.
    """
    def recorded(test, results):
        def trial(g):
            results.append(test(g))
            return results[-1]

        return trial

    ks, zs = [], []
    rate, _ = rejection_rate(recorded(lambda g: ks_test(g.standard_normal(200), "norm", alpha=0.05), ks), 2000, rng=3)
    assert consistent(rate, 2000, 0.05), rate
    assert not consistent(np.mean([r.pvalue / 2 <= 0.05 for r in ks]), 2000, 0.05)
    rate, _ = rejection_rate(recorded(lambda g: z_test_mean(g.uniform(-1, 1, 300), 0.0, 1 / 3, alpha=0.05), zs), 2000, rng=4)
    assert consistent(rate, 2000, 0.05), rate
    assert not consistent(np.mean([2 * stats.norm.sf(abs(r.statistic) * np.sqrt(3)) <= 0.05 for r in zs]), 2000, 0.05)
    n = z_sample_size(0.05, 1.0, alpha=1e-3, power=0.9)
    for size, expect in ((n, True), (round(0.8 * n), False)):
        rate, _ = rejection_rate(lambda g: z_test_mean(0.05 + g.standard_normal(size), 0.0, 1.0), 400, rng=5)
        assert consistent(rate, 400, 0.9) is expect, (size, rate)
    rate, _ = rejection_rate(lambda g: ks_test(1.05 * g.standard_normal(20_000), "norm"), 100, rng=6)
    assert 0.55 < rate < 0.85, rate


def test_goodness_of_fit_is_frozen():
    res = GoodnessOfFit("z", 0.0, 1.0, 0.05, None, 1)
    with pytest.raises(AttributeError):
        res.pvalue = 0.0


def test_chi_square_power_is_the_rejection_rate_of_chi_square_test():
    """chi_square_power against two independent references.

    1. Without pooling it is SciPy's noncentral chi-square with lambda = K sum (q - p)^2 / p, and it crosses
       0.99 exactly at chi_square_sample_size (K - 1 below, K at or above).
    2. With pooling (three rare bins pooled into one), it predicts the rejection rate of chi_square_test itself
       over 2,000 multinomial samples: exact binomial test of the observed rejection count at level 1e-3. The
       noncentral law is an approximation (here about 5 % low in relative terms, well inside the test); the
       check's power against a prediction off by 0.1 in absolute terms is above 0.999 (computed below).
    """
    logits = np.linspace(0, 3, 10)
    p, q = softmax(logits), softmax(1.05 * logits)
    K = chi_square_sample_size(p, q, alpha=1e-3, power=0.99)
    lam = K * np.sum((q - p) ** 2 / p)
    assert chi_square_power(p, q, K) == pytest.approx(stats.ncx2.sf(stats.chi2.isf(1e-3, 9), 9, lam), rel=1e-12)
    assert chi_square_power(p, q, K - 1) < 0.99 <= chi_square_power(p, q, K)
    assert chi_square_power(p, p, K) == pytest.approx(1e-3, rel=1e-9)

    p2 = np.array([0.5, 0.3, 0.1985, 0.0005, 0.0005, 0.0005])  # 3 bins of 1.5 expected at n = 3000: pooled
    q2 = np.array([0.475, 0.31, 0.2135, 0.0005, 0.0005, 0.0005])
    n, trials = 3_000, 2_000
    predicted = chi_square_power(p2, q2, n)
    counts = np.random.default_rng(41).multinomial(n, q2, size=trials)  # (trials, 6)
    rejected = sum(chi_square_test(c, p2).reject for c in counts)
    assert stats.binomtest(rejected, trials, predicted).pvalue > 1e-3
    # power of this binomial check against a prediction 0.1 too high: sum of the binomial tails beyond the
    # acceptance region of the test at the true rate predicted - 0.1
    lo, hi = stats.binom.ppf([5e-4, 1 - 5e-4], trials, predicted)
    assert stats.binom.cdf(lo - 1, trials, predicted - 0.1) + stats.binom.sf(hi, trials, predicted - 0.1) > 0.999
