"""thermoref.dtm.data: the image families' supports and laws against independent enumerations, and their samplers.

Oracles: exhaustive enumeration of every image of a small side (bars and stripes), explicit Python loops that
draw each stroke pixel by pixel (shapes), closed-form counts (``math.comb``), SciPy's chi-square and
noncentral chi-square laws, and NumPy's ``SeedSequence`` for the documented streams of ``make_dataset``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from thermoref.dtm.data import (
    MAX_SUPPORT,
    SHAPE_KINDS,
    ImageFamily,
    bars_and_stripes,
    image_family,
    make_dataset,
    shapes,
)

ALPHA = 1e-3


def _rows(x) -> set[bytes]:
    return {np.asarray(r, dtype=np.int8).tobytes() for r in x}


# ---------------------------------------------------------------------------------------------------------
# Bars and stripes
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("side", [2, 3, 4])
def test_bars_and_stripes_is_every_image_with_constant_rows_or_constant_columns(side):
    """Exhaustive: among all 2**(side**2) images, exactly those with all rows or all columns constant."""
    n = side * side
    every = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.int8).reshape(-1, side, side)
    rows_const = (every == every[:, :, :1]).all(axis=(1, 2))
    cols_const = (every == every[:, :1, :]).all(axis=(1, 2))
    want = every[rows_const | cols_const].reshape(-1, n)
    fam = bars_and_stripes(side)
    assert fam.support.shape == (2 ** (side + 1) - 2, n) == want.shape
    assert _rows(fam.support) == _rows(want)
    assert fam.support.dtype == np.int8 and fam.probs.dtype == np.float64


@pytest.mark.parametrize("side", [5, 8, 10, 14])
def test_bars_and_stripes_count_and_uniform_law(side):
    fam = bars_and_stripes(side)
    K = 2 ** (side + 1) - 2
    assert fam.n_patterns == K == len(_rows(fam.support)) and fam.n == side * side
    assert np.all(fam.probs == 1.0 / K)
    assert abs(fam.probs.sum() - 1.0) <= 4 * K * np.finfo(float).eps


def test_bars_and_stripes_stops_at_the_support_limit():
    assert 2**15 - 2 <= MAX_SUPPORT < 2**16 - 2
    with pytest.raises(ValueError, match="^side: bars and stripes of side 15 would have 65534 images"):
        bars_and_stripes(15)


# ---------------------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------------------
def _draw(side, pixels) -> bytes:
    img = np.zeros((side, side), np.int8)
    for r, c in pixels:
        img[r, c] = 1
    return img.ravel().tobytes()


def _brute_shapes(side) -> dict[str, list[bytes]]:
    """Each stroke drawn pixel by pixel with Python loops, independently of the implementation."""
    L = side
    rects = []
    for top, left in itertools.product(range(L), range(L)):
        for h, w in itertools.product(range(3, L + 1), range(3, L + 1)):
            if top + h <= L and left + w <= L:
                px = [(top + i, left + j) for i in range(h) for j in range(w) if i in (0, h - 1) or j in (0, w - 1)]
                rects.append(_draw(L, px))
    bars = []
    for width in (1, 2):
        for top in range(L - width + 1):
            bars.append(_draw(L, [(top + i, c) for i in range(width) for c in range(L)]))
            bars.append(_draw(L, [(c, top + i) for i in range(width) for c in range(L)]))
    crosses = []
    for a in (1, 2):
        for cr, cc in itertools.product(range(a, L - a), range(a, L - a)):
            crosses.append(_draw(L, [(cr, cc + d) for d in range(-a, a + 1)] + [(cr + d, cc) for d in range(-a, a + 1)]))
    return {"rectangles": rects, "bars": bars, "crosses": crosses}


@pytest.mark.parametrize("side", [3, 4, 5, 7])
def test_shapes_support_and_law_against_drawing_each_stroke(side):
    fam = shapes(side)
    want = _brute_shapes(side)
    # closed forms for the counts (an independent formula: choose the two boundary lines of each axis)
    closed = {"rectangles": math.comb(side - 1, 2) ** 2, "bars": 2 * (2 * side - 1),
              "crosses": (side - 2) ** 2 + max(side - 4, 0) ** 2}
    assert {k: len(v) for k, v in want.items()} == closed
    assert {k: len(set(v)) for k, v in want.items()} == closed  # no stroke drawn twice
    assert fam.n_patterns == sum(closed.values())
    got = {r.tobytes(): p for r, p in zip(fam.support, fam.probs)}
    assert len(got) == fam.n_patterns
    for kind, imgs in want.items():
        assert set(imgs) <= set(got), kind
        # kind uniform, then placement uniform within the kind
        np.testing.assert_allclose([got[i] for i in imgs], 1.0 / (3 * closed[kind]), rtol=1e-15)
    assert set(got) == set().union(*map(set, want.values()))
    assert abs(fam.probs.sum() - 1.0) <= 1e-15


def test_shapes_at_the_chapter_size_and_the_limit():
    assert shapes(10).n_patterns == 1296 + 38 + 100 == 1434
    assert image_family("shapes", 10).n_patterns == 1434 and image_family("bars_and_stripes", 10).n_patterns == 2046
    with pytest.raises(ValueError, match="^side: shapes of side 21 would have"):
        shapes(21)


def test_shapes_subset_of_kinds():
    fam = shapes(5, kinds=("crosses", "bars"))
    want = _brute_shapes(5)
    assert _rows(fam.support) == set(want["bars"]) | set(want["crosses"])
    assert fam.support[0].tobytes() == want["bars"][0]  # SHAPE_KINDS order, whatever the order asked
    got = {r.tobytes(): p for r, p in zip(fam.support, fam.probs)}
    assert sum(got[i] for i in want["bars"]) == pytest.approx(0.5, abs=1e-15)
    assert SHAPE_KINDS == ("rectangles", "bars", "crosses")
    for bad in (("circles",), (), ("bars", "bars")):
        with pytest.raises(ValueError, match="^kinds:"):
            shapes(5, kinds=bad)
    with pytest.raises(TypeError, match="^kinds:"):
        shapes(5, kinds="bars")


# ---------------------------------------------------------------------------------------------------------
# ImageFamily and its sampler
# ---------------------------------------------------------------------------------------------------------
def test_image_family_validates_and_freezes():
    fam = ImageFamily("t", 2, [[0, 0, 0, 1], [1, 0, 0, 0]], [0.3, 0.7 + 1e-12])
    assert fam.probs.sum() == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError):
        fam.support[0, 0] = 1  # read-only
    with pytest.raises(ValueError, match="^support: the images must be distinct"):
        ImageFamily("t", 2, [[0, 0, 0, 1], [0, 0, 0, 1]], [0.5, 0.5])
    with pytest.raises(ValueError, match="^probs: must sum to 1"):
        ImageFamily("t", 2, [[0, 0, 0, 1], [1, 0, 0, 0]], [0.5, 0.4])
    with pytest.raises(ValueError, match="^support: expected 9 pixels"):
        ImageFamily("t", 3, [[0, 0, 0, 1]], [1.0])
    assert fam != ImageFamily("t", 2, fam.support, fam.probs)  # identity, not array equality


def _indices(fam, x) -> np.ndarray:
    lookup = {r.tobytes(): k for k, r in enumerate(fam.support)}
    return np.array([lookup[r.tobytes()] for r in x])


def _chi2_p(fam_probs, idx) -> float:
    counts = np.bincount(idx, minlength=fam_probs.size)
    return stats.chisquare(counts, fam_probs * idx.size).pvalue


def test_sample_frequencies_match_the_law():
    """Chi-square of N = 20000 draws of shapes(4) (27 images, three different probabilities) at alpha = 1e-3.

    Power: the same sampler with the smallest probability doubled (then renormalized) has noncentrality
    lambda = N * sum (q - p)^2 / p, and the test rejects it with probability > 0.999 (computed below); a
    draw from that law is shown to be rejected.
    """
    fam = shapes(4)
    N = 20000
    x = fam.sample(N, rng=11)
    assert x.shape == (N, 16) and x.dtype == np.int8
    assert _chi2_p(fam.probs, _indices(fam, x)) > ALPHA
    j = int(np.argmin(fam.probs))
    q = fam.probs.copy()
    q[j] *= 2
    q /= q.sum()
    lam = N * np.sum((q - fam.probs) ** 2 / fam.probs)
    df = fam.n_patterns - 1
    power = stats.ncx2.sf(stats.chi2.isf(ALPHA, df), df, lam)
    assert power > 0.999
    broken = ImageFamily("doubled", 4, fam.support, q)
    assert _chi2_p(fam.probs, _indices(fam, broken.sample(N, rng=12))) < ALPHA


def test_sample_same_seed_same_bits_and_empty():
    fam = bars_and_stripes(4)
    a = fam.sample(50, rng=3)
    assert np.array_equal(a, fam.sample(50, rng=np.random.default_rng(3)))
    assert not np.array_equal(a, fam.sample(50, rng=4))
    assert fam.sample(0, rng=3).shape == (0, 16)


# ---------------------------------------------------------------------------------------------------------
# Held-out streams
# ---------------------------------------------------------------------------------------------------------
def test_make_dataset_uses_two_children_of_the_seed():
    fam = shapes(5)
    train, test = make_dataset(fam, 30, 20, rng=7)
    ss_train, ss_test = np.random.SeedSequence(7).spawn(2)
    assert np.array_equal(train, fam.sample(30, rng=np.random.default_rng(ss_train)))
    assert np.array_equal(test, fam.sample(20, rng=np.random.default_rng(ss_test)))
    # the held-out set does not depend on the size of the training set, and is not its continuation
    assert np.array_equal(make_dataset(fam, 1000, 20, rng=7)[1], test)
    assert not np.array_equal(make_dataset(fam, 50, 20, rng=7)[0][30:50], test)
    g = np.random.default_rng(7)
    assert np.array_equal(make_dataset(fam, 30, 20, rng=g)[1], test)  # a fresh Generator from seed 7: same
    assert not np.array_equal(make_dataset(fam, 30, 20, rng=g)[1], test)  # spawned again: new children
