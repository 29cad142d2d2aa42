"""The conformance suite passes the good units, rejects every broken one by the check it is sized for, and is
calibrated; the broken units sample exactly the laws their docstrings state.

Verdicts use a fixed seed (rng=0) and the family-wise false-positive rate 1e-3 of run_conformance (Bonferroni
over 7 statistical checks). Calibration runs a cheap check over many seeds: with a correct unit the number of
rejections must be consistent with its level (two-sided exact binomial test at 1e-3), with a broken one with
its stated power 0.99. The broken units' laws are checked against enumeration with chi-square tests at 1e-3
(sample sizes sized from chi_square_sample_size against the nearest wrong law).
"""

import numpy as np
import pytest
from scipy import sparse, special, stats

from thermoref.backend import ExactBackend, NumpyBackend, SamplingUnit
from thermoref.backend import _conformance_cases as cases
from thermoref.backend.broken import (
    BROKEN_BACKENDS,
    BiasedSourceUnit,
    HalfVocabularyPipeline,
    ReturnsInputUnit,
    SynchronousIsingUnit,
    TemperatureErrorUnit,
    Uint8IndexUnit,
)
from thermoref.backend.conformance import (
    CONFORMANCE_CHECKS,
    CheckResult,
    ConformanceReport,
    conformance_test,
    run_conformance,
)
from thermoref.ising import greedy_colouring
from thermoref.pbit import synchronous_stationary_law
from thermoref.testing import chi_square_power, chi_square_sample_size, chi_square_test, enumerate_states, state_index

STATISTICAL = CONFORMANCE_CHECKS[:7]

# Which checks reject each broken unit at rng=0, alpha=1e-3 (all others pass: the unbroken methods are exact).
EXPECTED_FAILURES = {
    "temperature_error": set(STATISTICAL),
    "synchronous": {"ising_joint_law", "ising_pair_correlations", "ising_beta_scaling"},
    "uint8_index": {"categorical_large"},
    # a lazy unit never evaluates the energy, so a NaN-returning energy goes unnoticed: bad_input catches it
    "returns_input": set(STATISTICAL) | {"seed_determinism", "bad_input"},
    "half_vocabulary": {"categorical_large"},
    # Gaussian draws use standard_normal, which the biased source leaves ideal
    "biased_source": set(STATISTICAL) - {"gaussian_moments"},
}


# --------------------------------------------------------------------------------------------- the verdicts
@pytest.mark.parametrize("unit", [NumpyBackend, ExactBackend], ids=["numpy", "exact"])
def test_good_units_pass_at_family_wise_alpha(unit):
    report = run_conformance(unit(), alpha=1e-3, rng=0)
    assert isinstance(report, ConformanceReport) and report.passed, str(report)
    assert [r.name for r in report.results] == list(CONFORMANCE_CHECKS)
    for r in report.results[:7]:
        assert r.alpha == pytest.approx(1e-3 / 7) and r.power >= 0.99 and r.pvalue >= r.alpha
    assert all(r.pvalue is None and r.alpha == 0 and r.statistic == 0 for r in report.results[7:])


@pytest.mark.parametrize("name", list(BROKEN_BACKENDS))
def test_every_broken_unit_is_rejected_by_the_check_sized_for_it(name):
    unit = BROKEN_BACKENDS[name]()
    assert isinstance(unit, SamplingUnit)
    report = run_conformance(unit, alpha=1e-3, rng=0)
    assert not report.passed
    assert set(report.failed) == EXPECTED_FAILURES[name], str(report)
    for r in report.results:
        if not r.passed and r.pvalue is not None:
            assert r.pvalue < r.alpha and r.power >= 0.99


def test_synchronous_unit_has_exact_marginals_on_the_ring_but_the_joint_law_sees_it():
    J, h, beta, _ = cases.MODELS["ferro_ring"]
    p, _, s = cases.ising_law(J, h, beta)
    q = synchronous_stationary_law(J, h, beta=beta)
    assert np.allclose(p @ s, q @ s, atol=1e-12)  # single-spin marginals agree (both zero, by symmetry too)
    corr = lambda law: law @ (s[:, 0] * s[:, 1])  # noqa: E731
    assert corr(p) > 0.5 and abs(corr(q)) < 1e-12  # the bipartite factorization: no nearest-neighbour correlation
    assert chi_square_power(p, q, 1000, alpha=1e-3 / 28) > 0.999999  # 1,000 chains would do; the suite runs 21,504
    report = run_conformance(SynchronousIsingUnit(), checks=("ising_joint_law",))
    assert report.results[0].statistic_name == "X2 (ferro_ring)" and report.results[0].statistic > 1e5


# ------------------------------------------------------------------------------------- calibration and power
def test_false_positive_rate_of_a_cheap_check_matches_its_level():
    """gaussian_moments alone at family-wise 0.3: two tests at 0.15, exact rate 1 - 0.85^2 = 0.2775."""
    n = 120
    rejected = sum(not run_conformance(NumpyBackend(), alpha=0.3, rng=seed, checks=("gaussian_moments",)).passed
                   for seed in range(n))
    assert stats.binomtest(rejected, n, 1 - 0.85**2).pvalue > 1e-3, rejected


def test_power_of_the_binary_check_against_a_five_percent_temperature_error():
    """At the full suite's level, 20 seeds: the count of rejections is consistent with power >= 0.99."""
    n = 20
    rejected = sum(not run_conformance(TemperatureErrorUnit(), alpha=1e-3 / 7, rng=seed,
                                       checks=("binary_frequencies",)).passed for seed in range(n))
    assert stats.binom.cdf(rejected, n, 0.99) > 1e-3, rejected  # fewer rejections than power 0.99 allows fails


def test_chains_have_relaxed_after_the_suites_sweeps():
    """The exact law of NumpyBackend's block Gibbs chain after 60 sweeps from all +1 (transition matrices by
    enumeration, colour by colour) inflates each joint-law test's false-positive rate by less than 0.1 %."""
    for name, (J, h, beta, _) in cases.MODELS.items():
        s = enumerate_states(h.size).astype(float)
        colours = greedy_colouring(J)
        T = np.eye(s.shape[0])
        for c in range(colours.max() + 1):
            mine = colours == c
            p_up = special.expit(2 * beta * (s @ J + h))  # (S, n) heat-bath probability of +1
            same = (s[:, None, ~mine] == s[None, :, ~mine]).all(-1)  # (S, S): only colour c may change
            step = np.where(s[None, :, mine] > 0, p_up[:, None, mine], 1 - p_up[:, None, mine]).prod(-1)
            T = T @ (step * same)
        q = np.linalg.matrix_power(T, 60)[-1]  # from all +1 (the last state)
        p, _, _ = cases.ising_law(J, h, beta)
        a = 1e-3 / 7 / 4
        K = chi_square_sample_size(p, cases.ising_law(J, h, 0.95 * beta)[0], alpha=a)
        assert chi_square_power(p, q, 2 * K, alpha=a) < 1.001 * a, name


# ------------------------------------------------------------------------------------- the pytest entry point
test_numpy_backend_conforms = conformance_test(NumpyBackend)


def test_entry_point_reports_the_statistic_on_failure():
    test = conformance_test(Uint8IndexUnit, alpha=1e-3)
    test("binary_frequencies")  # an unbroken method passes
    with pytest.raises(AssertionError, match=r"categorical_large failed: X2 \(dof \d+\) = inf"):
        test("categorical_large")


# ------------------------------------------------------------------------------------- report and arguments
def test_report_table_and_text():
    report = run_conformance(ReturnsInputUnit(), checks=("custom_energy", "shapes_and_dtypes"))
    lines = report.table().splitlines()
    assert len(lines) == 3 and lines[0].split()[:3] == ["check", "statistic", "value"]
    assert lines[1].startswith("custom_energy") and lines[1].endswith("FAIL") and lines[2].endswith("pass")
    assert "FAILED (custom_energy)" in str(report) and report.failed == ("custom_energy",)
    assert isinstance(report.results[0], CheckResult) and report.seconds >= 0


def test_a_check_run_alone_draws_what_it_draws_in_the_full_run():
    alone = run_conformance(NumpyBackend(), alpha=1e-3 / 7, checks=("custom_energy",)).results[0]
    full = run_conformance(NumpyBackend(), checks=("custom_energy", "binary_frequencies")).results
    again = run_conformance(NumpyBackend(), alpha=2e-3 / 7, checks=("binary_frequencies", "custom_energy"))
    assert alone.statistic == again.results[1].statistic  # same level and seed: same draws and statistic
    assert full[0].alpha == pytest.approx(1e-3 / 2)


def test_a_unit_that_raises_fails_its_check_without_stopping_the_suite():
    class Flaky(NumpyBackend):
        def sample_binary(self, logits, beta, *, rng):  # noqa: ARG002
            raise RuntimeError("device timeout")

    report = run_conformance(Flaky(), checks=("binary_frequencies", "gaussian_moments"))
    assert report.failed == ("binary_frequencies",)
    assert "sample_binary raised RuntimeError: device timeout" in report.results[0].detail


@pytest.mark.parametrize("kwargs, name", [
    (dict(backend=object()), "backend"), (dict(alpha=0.7), "alpha"), (dict(alpha=1e-13), "alpha"),
    (dict(checks=("nope",)), "checks"), (dict(checks="bad_input"), "checks"), (dict(checks=()), "checks"),
    (dict(checks=("bad_input", "bad_input")), "checks"), (dict(rng=-1), "rng")])
def test_run_conformance_refuses_bad_arguments(kwargs, name):
    kwargs = dict(dict(backend=NumpyBackend(), checks=("bad_input",)), **kwargs)
    with pytest.raises((ValueError, TypeError), match=f"^{name}:"):
        run_conformance(kwargs.pop("backend"), **kwargs)


def test_conformance_test_refuses_bad_arguments():
    with pytest.raises(TypeError, match="^factory:"):
        conformance_test(3)
    with pytest.raises(ValueError, match="^alpha:"):
        conformance_test(NumpyBackend, alpha=0.0)


# ------------------------------------------------------------------------------------- the broken units' laws
def _softmax(z, beta):
    w = np.exp(beta * (z - z.max()))
    return w / w.sum()


def test_half_vocabulary_pipeline_draws_each_slot_from_its_half():
    z = np.random.default_rng(3).normal(0, 1, 10)
    p = _softmax(z, 0.7)
    halves = [np.where(np.arange(10) % 2 == r, p, 0.0) for r in (0, 1)]
    halves = [q / q.sum() for q in halves]  # p^(0), p^(1)
    x = HalfVocabularyPipeline().sample_categorical(z, 0.7, 40_000, rng=1)
    for r in (0, 1):
        counts = np.bincount(x[r::2], minlength=10)
        assert chi_square_test(counts, halves[r]).passed
    pooled = np.bincount(x, minlength=10)
    assert chi_square_test(pooled, 0.5 * halves[0] + 0.5 * halves[1]).passed  # the stated mixture
    assert not chi_square_test(pooled, p).passed


def test_half_vocabulary_pipeline_with_an_empty_half_draws_from_the_full_law():
    z = np.where(np.arange(6) % 2 == 1, -np.inf, np.arange(6.0))  # odd indices masked: unit B owns nothing
    x = HalfVocabularyPipeline().sample_categorical(z, 1.0, 1000, rng=2)
    assert set(np.unique(x)) <= {0, 2, 4}


def test_uint8_unit_folds_indices_modulo_256():
    z = np.random.default_rng(5).normal(0, 1, 600)
    p = _softmax(z, 1.3)
    folded = np.bincount(np.arange(600) % 256, weights=p, minlength=256)
    x = Uint8IndexUnit().sample_categorical(z, 1.3, 200_000, rng=6)
    assert x.dtype == np.int64 and x.max() < 256
    assert chi_square_test(np.bincount(x, minlength=256), folded).passed
    assert (Uint8IndexUnit().sample_categorical(z[:256], 1.3, 50, rng=7)
            == NumpyBackend().sample_categorical(z[:256], 1.3, 50, rng=7)).all()  # exact up to 256 categories


def test_synchronous_unit_samples_the_synchronous_stationary_law():
    """The antiferromagnetic triangle's synchronous chain oscillates (second eigenvalue 0.93): 300 sweeps."""
    J, h, beta = -cases.ring(3), np.array([0.8, 0.0, -0.5]), 1.0
    q = synchronous_stationary_law(J, h, beta=beta)
    s = SynchronousIsingUnit().sample_ising(sparse.csr_array(J), h, beta, n_sweeps=300, n_samples=40_000,
                                           init=np.ones(3, np.int8), rng=8)
    assert chi_square_test(np.bincount(state_index(s), minlength=8), q).passed
    assert not chi_square_test(np.bincount(state_index(s), minlength=8), cases.ising_law(J, h, beta)[0]).passed


def test_temperature_error_and_biased_source_laws_of_a_p_bit():
    logits = np.linspace(-3, 3, 13)
    R = 40_000
    for unit, p1 in ((TemperatureErrorUnit(), special.expit(0.95 * 1.2 * logits)),
                     (BiasedSourceUnit(), np.minimum(1.0, special.expit(1.2 * logits) / 0.99))):
        ones = unit.sample_binary(np.broadcast_to(logits, (R, 13)), 1.2, rng=9).sum(axis=0)
        assert chi_square_test(np.stack([R - ones, ones], -1), np.stack([1 - p1, p1], -1)).passed


def test_temperature_error_widens_the_gaussian_by_one_over_0_95():
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    for form, M in (("cov", cov), ("precision", np.linalg.inv(cov))):
        x = TemperatureErrorUnit().sample_gaussian(np.zeros(2), M, size=200_000, form=form, rng=10)
        assert np.allclose(np.cov(x.T), cov / 0.95, rtol=0.02)


def test_returns_input_unit_returns_its_input():
    unit = ReturnsInputUnit()
    init = np.array([[1, -1, 1], [-1, -1, 1]], np.int8)
    J = cases.ring(3)
    assert (unit.sample_ising(J, np.zeros(3), 1.0, n_sweeps=9, n_samples=2, init=init, rng=0) == init).all()
    assert (unit.sample_binary(np.array([-0.1, 0.2]), 5.0, rng=0) == [0, 1]).all()
    assert (unit.sample_categorical(np.array([[0.0, 2.0, 1.0]]), 1.0, 4, rng=0) == 1).all()
    assert (unit.sample_gaussian(np.array([1.0, 2.0]), np.eye(2), size=3, rng=0) == [1.0, 2.0]).all()
    assert (unit.sample_custom(cases.custom_energy, np.array([[0, 1, 2, 0]]), n_steps=5, beta=1.0, n_values=3,
                               rng=0) == [[0, 1, 2, 0]]).all()


def test_broken_units_refuse_bad_input_like_every_unit():
    for cls in BROKEN_BACKENDS.values():
        with pytest.raises(ValueError, match="^beta:"):
            cls().sample_binary(np.zeros(2), -1.0, rng=0)
        with pytest.raises(TypeError, match="^rng:"):
            cls().sample_categorical(np.zeros(3), 1.0, 2, rng="x")


class _UniformHalfSplit(NumpyBackend):
    """A split pipeline that picks the even or odd half of the vocabulary uniformly, then draws within it: its
    pooled law is (p_even / w_even + p_odd / w_odd) / 2, which equals softmax only where each half holds half
    the mass (the regression the third categorical row was added for)."""

    def sample_categorical(self, logits, beta, size, *, rng):
        rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        z = np.asarray(logits, dtype=float)
        parity = np.arange(z.shape[-1]) % 2
        half = rng.integers(0, 2, size=z.shape[:-1] + (size,))  # (..., size): the half of each draw
        out = np.empty(z.shape[:-1] + (size,), dtype=np.int64)
        for r in (0, 1):  # the two halves (not a loop over rows or draws)
            masked = np.where(parity == r, z, -np.inf)
            draws = super().sample_categorical(masked, beta, size, rng=rng)
            out = np.where(half == r, draws, out)
        return out


def test_a_split_that_ignores_the_halves_partition_functions_is_rejected():
    from thermoref.backend import run_conformance

    report = run_conformance(_UniformHalfSplit(), checks=("categorical_large",), rng=0)
    assert not report.passed and report.failed == ("categorical_large",)
    assert run_conformance(NumpyBackend(), checks=("categorical_large",), rng=0).passed
