"""thermoref.decoding.pipeline: the half-vocabulary design's law, the exact pipelines, conformance, latency.

Oracles: scipy.special.softmax on the sub-array of each half (the law of unit r, by enumeration of the
process: unit k mod 2, its half, renormalized), the closed forms TV = 1 - w_r (per draw) and |w_0 - 1/2|
(pooled), enumeration of the split design's two stages (half r with Z_r / Z, then softmax within it), and
hand-computed latencies. Stochastic tests: Pearson chi-square (thermoref.testing.chi_square_test, bins with
expected count < 5 pooled) against the exact law, null chi-square, alpha = 1e-3 as if the seed were random;
sample sizes from thermoref.testing.chi_square_power so that the same test rejects a 5 % temperature error
with probability >= 0.99, and each test is paired with a run that rejects a wrong unit.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import softmax

from thermoref.backend import (
    CONFORMANCE_CHECKS,
    HalfVocabularyPipeline,
    NumpyBackend,
    TemperatureErrorUnit,
    run_conformance,
)
from thermoref.decoding.pipeline import (
    PIPELINE_DESIGNS,
    AlternatingPipeline,
    SplitVocabularyPipeline,
    half_vocabulary_error,
    half_vocabulary_law,
    pipeline_rule,
    pipeline_timing,
)
from thermoref.testing import chi_square_power, chi_square_test
from thermoref.transformer import forward, generate, load_pretrained, make_batch, task_seeds

ALPHA = 1e-3
L7 = np.array([1.3, -0.4, 2.1, 0.2, -1.5, 0.9, 1.7])


def unit_law_oracle(logits: np.ndarray, beta: float, r: int) -> np.ndarray:
    """Law of unit r: softmax of its half's sub-array (ids of parity r), zero elsewhere; p if its half is empty."""
    n = logits.size
    ids = np.arange(r, n, 2)
    sub = logits[ids]
    if np.all(np.isneginf(sub)):
        return softmax(beta * np.where(np.isneginf(logits), -np.inf, logits))
    out = np.zeros(n)
    out[ids] = softmax(np.where(np.isneginf(sub), -np.inf, beta * np.where(np.isneginf(sub), 0.0, sub)))
    return out


# ---------------------------------------------------------------------------------------------- the exact law
@pytest.mark.parametrize("beta", [0.0, 0.4, 1.0, 3.0])
def test_law_of_each_draw_is_its_units_half_renormalized(beta):
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 8):
        z = rng.normal(size=n) * 2
        z[rng.random(n) < 0.25] = -np.inf
        if np.all(np.isneginf(z)):
            z[0] = 0.0
        for k in range(4):
            np.testing.assert_allclose(half_vocabulary_law(z, beta=beta, draw=k), unit_law_oracle(z, beta, k % 2),
                                       rtol=1e-13, atol=1e-15)
        pooled = 0.5 * (unit_law_oracle(z, beta, 0) + unit_law_oracle(z, beta, 1))
        np.testing.assert_allclose(half_vocabulary_law(z, beta=beta), pooled, rtol=1e-13, atol=1e-15)


def test_tv_closed_forms_per_draw_one_minus_mass_pooled_distance_of_mass_from_half():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(50, 9)) * 1.5  # both halves non-empty in every row
    e = half_vocabulary_error(z, beta=0.8)
    p = softmax(0.8 * z, axis=-1)
    w0 = p[:, ::2].sum(-1)
    np.testing.assert_allclose(e.half_mass, np.stack([w0, 1 - w0], -1), atol=1e-15)
    np.testing.assert_allclose(e.tv_draw, np.stack([1 - w0, w0], -1), atol=1e-14)  # TV(p^(r), p) = 1 - w_r
    np.testing.assert_allclose(e.tv_pooled, np.abs(w0 - 0.5), atol=1e-14)  # TV(mixture, p) = |w0 - 1/2|
    np.testing.assert_allclose(e.tv_draw.mean(-1), 0.5, atol=1e-14)  # a draw is 1/2 away from p on average


def test_balanced_halves_hide_the_error_from_a_pooled_histogram():
    e = half_vocabulary_error(np.log([0.1, 0.3, 0.4, 0.2]))  # w0 = 0.5 exactly
    assert float(e.tv_pooled) < 1e-15
    np.testing.assert_allclose(e.tv_draw, [0.5, 0.5], atol=1e-15)


def test_empty_half_hands_its_draws_to_the_other_unit_and_underflowing_half_keeps_its_law():
    z = np.array([0.0, -np.inf, 1.0, -np.inf, 2.0])  # the odd half is empty
    for k in (0, 1):
        np.testing.assert_allclose(half_vocabulary_law(z, draw=k), softmax(np.where(np.isneginf(z), -np.inf, z)),
                                   rtol=1e-14)
    np.testing.assert_allclose(half_vocabulary_error(z).tv_draw, [0.0, 0.0], atol=1e-15)
    z = np.array([0.0, -2000.0, 0.0, -2001.0])  # w1 underflows to 0, its conditional law does not
    np.testing.assert_allclose(half_vocabulary_law(z, draw=1), [0.0, softmax([0.0, -1.0])[0], 0.0,
                                                                 softmax([0.0, -1.0])[1]], rtol=1e-14)
    np.testing.assert_allclose(half_vocabulary_law(z, beta=np.inf, draw=1), [0, 1, 0, 0])  # kT -> 0 limit


def test_law_rejects_bad_draw_and_beta_by_name():
    with pytest.raises(ValueError, match="^draw:"):
        half_vocabulary_law(L7, draw=-1)
    with pytest.raises(ValueError, match="^beta:"):
        half_vocabulary_error(L7, beta=-1.0)
    with pytest.raises(ValueError, match="^logits:"):
        half_vocabulary_law([-np.inf, -np.inf])


# ---------------------------------------------------------------------------------------------- samplers
def per_slot_counts(x: np.ndarray, n: int) -> np.ndarray:
    """(2, n) counts of the draws at even and at odd slots of one row x (S,)."""
    return np.stack([np.bincount(x[0::2], minlength=n), np.bincount(x[1::2], minlength=n)])


def sized(p: np.ndarray, beta: float) -> int:
    """Draws per slot parity so that chi-square at ALPHA rejects the law at 0.95 beta with probability >= 0.99."""
    q = np.stack([softmax(0.95 * beta * L7)] * 2) if p.ndim == 2 else softmax(0.95 * beta * L7)
    K = 256
    while chi_square_power(p, q, K, alpha=ALPHA) < 0.99:
        K = int(K * 1.25)
    return K


def test_half_vocabulary_unit_draws_the_law_of_its_slot():
    """Sampler (thermoref.backend.HalfVocabularyPipeline) against the law function, per slot parity."""
    beta = 0.9
    P = np.stack([half_vocabulary_law(L7, beta=beta, draw=k) for k in (0, 1)])  # (2, 7)
    Q = np.stack([half_vocabulary_law(L7, beta=0.95 * beta, draw=k) for k in (0, 1)])
    K = 256
    while chi_square_power(P, Q, K, alpha=ALPHA) < 0.99:
        K = int(K * 1.25)
    x = HalfVocabularyPipeline().sample_categorical(L7, beta, 2 * K, rng=3)
    assert not chi_square_test(per_slot_counts(x, 7), P, alpha=ALPHA).reject
    # power: the same statistic rejects the sized bug, the same design 5 % hot
    x_hot = HalfVocabularyPipeline().sample_categorical(L7, 0.95 * beta, 2 * K, rng=3)
    assert chi_square_test(per_slot_counts(x_hot, 7), P, alpha=ALPHA).reject


@pytest.mark.parametrize("unit_class", [AlternatingPipeline, SplitVocabularyPipeline])
def test_exact_pipelines_draw_softmax_at_every_slot(unit_class):
    beta = 0.9
    p = softmax(beta * L7)
    P = np.stack([p, p])
    K = sized(P, beta)
    x = unit_class().sample_categorical(L7, beta, 2 * K, rng=4)
    assert not chi_square_test(per_slot_counts(x, 7), P, alpha=ALPHA).reject
    broken = HalfVocabularyPipeline().sample_categorical(L7, beta, 2 * K, rng=4)  # power against the design
    assert chi_square_test(per_slot_counts(broken, 7), P, alpha=ALPHA).reject
    hot = TemperatureErrorUnit().sample_categorical(L7, beta, 2 * K, rng=4)  # the sized bug, at power >= 0.99
    assert chi_square_test(per_slot_counts(hot, 7), P, alpha=ALPHA).reject


@pytest.mark.parametrize("unit_class", [AlternatingPipeline, SplitVocabularyPipeline])
def test_consecutive_draws_are_independent(unit_class):
    """Joint law of (slot 2j, slot 2j+1) pairs against p x p on 3 categories: 9-cell chi-square."""
    z = np.array([0.8, -0.3, 0.1])
    p = softmax(z)
    pp = np.outer(p, p).ravel()
    x = unit_class().sample_categorical(z, 1.0, 2 * 20_000, rng=5)
    pairs = 3 * x[0::2] + x[1::2]
    assert not chi_square_test(np.bincount(pairs, minlength=9), pp, alpha=ALPHA).reject
    # power: a pipeline whose second draw copies the first (a unit read twice) is rejected
    copied = 3 * x[0::2] + x[0::2]
    assert chi_square_test(np.bincount(copied, minlength=9), pp, alpha=ALPHA).reject


def test_split_stage_one_chooses_halves_by_partition_function():
    """Enumerate the two stages: P(half r) = Z_r / Z; the fraction of draws of parity r follows it."""
    z = np.array([2.0, -1.0, 0.5, -0.5, 1.0, 0.0])
    p = softmax(z)
    Z_r = np.array([np.exp(z[::2]).sum(), np.exp(z[1::2]).sum()])
    two_stage = np.zeros(6)
    for r in (0, 1):  # stage 1 then stage 2, summed over the half
        two_stage[r::2] = Z_r[r] / Z_r.sum() * softmax(z[r::2])
    np.testing.assert_allclose(two_stage, p, rtol=1e-14)
    x = SplitVocabularyPipeline().sample_categorical(z, 1.0, 40_000, rng=6)
    r = stats.binomtest(int((x % 2 == 0).sum()), x.size, Z_r[0] / Z_r.sum())
    assert r.pvalue > ALPHA


def test_ledgers_model_two_units_side_by_side():
    alt = AlternatingPipeline()
    alt.sample_categorical(np.zeros((3, 5)), 1.0, 7, rng=0)
    assert (alt.units[0].ledger.samples, alt.units[1].ledger.samples) == (12, 9)
    assert (alt.ledger.samples, alt.ledger.phases) == (21, 4)
    split = SplitVocabularyPipeline()
    split.sample_categorical(np.zeros((3, 5)), 1.0, 7, rng=0)
    assert (split.units[0].ledger.samples, split.units[1].ledger.samples) == (21, 21)
    assert (split.ledger.samples, split.ledger.phases) == (21, 7)


def test_beta_zero_and_masks_in_the_split_pipeline():
    z = np.array([5.0, -np.inf, -3.0, 1.0, -np.inf])
    x = SplitVocabularyPipeline().sample_categorical(z, 0.0, 30_000, rng=7)  # beta = 0: uniform on {0, 2, 3}
    assert set(np.unique(x)) <= {0, 2, 3}
    assert not chi_square_test(np.bincount(x, minlength=5), np.array([1, 0, 1, 1, 0]) / 3, alpha=ALPHA).reject


# ---------------------------------------------------------------------------------------------- conformance
@pytest.mark.parametrize("unit_class", [AlternatingPipeline, SplitVocabularyPipeline])
def test_conformance_suite_passes_the_exact_pipelines(unit_class):
    report = run_conformance(unit_class())
    assert report.passed, str(report)
    assert [r.name for r in report.results] == list(CONFORMANCE_CHECKS)


def test_conformance_suite_rejects_the_half_vocabulary_design():
    report = run_conformance(HalfVocabularyPipeline(), checks=("categorical_large", "seed_determinism",
                                                               "shapes_and_dtypes", "bad_input"))
    assert report.failed == ("categorical_large",)


# ---------------------------------------------------------------------------------------------- generation
def test_rule_step_is_the_pipeline_draw():
    rule = pipeline_rule(HalfVocabularyPipeline(), beta=1.0)
    rng = np.random.default_rng(0)
    logits = np.zeros((64, 10))
    for s in range(5):
        assert np.all(rule(logits, s, None, rng) % 2 == s % 2)
    with pytest.raises(TypeError, match="^rng:"):
        rule(logits, 0, None, None)
    with pytest.raises(TypeError, match="^unit:"):
        pipeline_rule(NumpyBackend)


def test_generation_exact_match_follows_the_exact_law_of_each_pipeline():
    """Adder, beta = 0.3 (where sampling matters): sampled exact match against the teacher-forced exact
    expectation prod_j q_j(y_j), z-test with variance sum_b P_b (1 - P_b); the broken design's expectation
    is far from softmax's, so the softmax expectation is rejected for its draws."""
    cfg, params = load_pretrained("add")
    held = make_batch("add", 400, rng=np.random.default_rng(task_seeds(8)[1]), split="eval")
    ans = np.flatnonzero(held.mask[0])
    y = held.targets[:, ans]  # (400, 3)
    L = forward(params, held.tokens, cfg)[:, ans]  # (400, 3, V)
    beta = 0.3
    exact = softmax(beta * L, axis=-1)
    broken = np.stack([half_vocabulary_law(L[:, j], beta=beta, draw=j) for j in range(len(ans))], axis=1)

    def p_right(q):
        return np.prod(np.take_along_axis(q, y[..., None], axis=-1)[..., 0], axis=-1)  # (400,)

    def z(em, P):
        return (em * P.size - P.sum()) / np.sqrt(np.sum(P * (1 - P)))

    crit = stats.norm.isf(ALPHA / 2)
    prompt = held.tokens[:, :ans[0] + 1]
    for unit, law in ((AlternatingPipeline(), exact), (SplitVocabularyPipeline(), exact),
                      (HalfVocabularyPipeline(), broken)):
        out = generate(params, prompt, len(ans), cfg, rng=11, next_token=pipeline_rule(unit, beta=beta))
        em = float(np.mean((out[:, -len(ans):] == y).all(axis=1)))
        assert abs(z(em, p_right(law))) < crit
    assert abs(z(float(p_right(broken).mean()), p_right(exact))) > 3 * crit  # power: far beyond the critical value


# ---------------------------------------------------------------------------------------------- latency
def test_latency_model_by_hand():
    t = pipeline_timing(10.0, 1.0, t_partition=2.0, mix_exponent=1.0, heavier_half=0.8)
    assert t.designs == PIPELINE_DESIGNS
    np.testing.assert_allclose(t.latency, [11.0, 11.0, 6.0, 6.0])  # max(2, 5) + 1
    np.testing.assert_allclose(t.throughput, [1 / 11, 2 / 11, 2 / 6, 1 / (0.8 * 6)])
    assert t.exact == (True, True, False, True)
    t = pipeline_timing(0.5, 1.0, mix_exponent=0.0)  # read-out bound: the port caps every pipeline at 1/t_read
    np.testing.assert_allclose(t.throughput, [1 / 1.5, 1.0, 1.0, 1.0])
    t = pipeline_timing(10.0, 1.0, t_partition=0.0, heavier_half=0.5)  # balanced halves: the split costs nothing
    assert t.throughput[2] == t.throughput[3] and t.latency[2] == t.latency[3]
    with pytest.raises(ValueError, match="^heavier_half:"):
        pipeline_timing(10.0, 1.0, heavier_half=0.3)
