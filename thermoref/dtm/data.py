r"""The data of chapter 12: binary image families whose law is known exactly, generated from a seed.

An :class:`ImageFamily` is a finite law over binary images: a support of :math:`K` distinct images
:math:`y_1, \dots, y_K \in \{0, 1\}^n` (pixels, ``int8``, flattened row-major, :math:`n = L^2` for side
:math:`L`) and their probabilities :math:`p_k`. Every quality measure of :mod:`thermoref.dtm.quality` is then
computed against the exact law, not against a finite test set. Two families are built here, each enumerating
its support in closed form (no downloaded data):

* :func:`bars_and_stripes`: every row constant, or every column constant; :math:`2^{L+1} - 2` images;
* :func:`shapes`: rectangle outlines, full-length bars and plus-shaped crosses at every position: long-range
  structure (a rectangle's four sides must meet) that no pairwise model on a local grid graph represents
  exactly, and local statistics (edges, corners, line ends) that such a model can learn.

:func:`make_dataset` draws the training set and a held-out test set from two independent streams of one seed.

References: MacKay, D. J. C. (2003) *Information Theory, Inference, and Learning Algorithms*, Cambridge
University Press (bars and stripes); Jelinčič, A. et al. (2025) "An efficient probabilistic hardware
architecture for diffusion-like models", arXiv:2510.23972 (the models these data train).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int
from .forward import _check_pixels

__all__ = ["MAX_SUPPORT", "SHAPE_KINDS", "FAMILIES", "ImageFamily", "bars_and_stripes", "shapes", "image_family",
           "make_dataset"]

#: Largest support (number of distinct images) a family may have: the exact quality measures cost
#: :math:`O(K^2 n)`, so bars and stripes stop at side 14 and shapes at side 20.
MAX_SUPPORT = 2**15

#: The kinds of strokes :func:`shapes` draws, in the order of its support.
SHAPE_KINDS = ("rectangles", "bars", "crosses")

#: The families :func:`image_family` builds by name.
FAMILIES = ("bars_and_stripes", "shapes")

_MAX_SIDE = 64  # the model's largest side (thermoref.dtm.MAX_SIDE); checked before any count is computed


@dataclass(frozen=True, eq=False)
class ImageFamily:
    r"""A finite law over binary images: distinct support images and their exact probabilities.

    Parameters
    ----------
    name : str
        A label (printed in tables).
    side : int
        Image side :math:`L \ge 2`; images have :math:`n = L^2` pixels.
    support : array_like of int, shape (K, n)
        The :math:`K` distinct images, pixels in {0, 1}, flattened row-major; :math:`1 \le K \le`
        :data:`MAX_SUPPORT`.
    probs : array_like of float, shape (K,)
        Their probabilities, in (0, 1], summing to 1 within :math:`10^{-9}` (renormalized if the sum is off by
        more than rounding).

    Attributes
    ----------
    name : str
        As given.
    side : int
        As given.
    support : ndarray of int8, shape (K, n)
        Read-only.
    probs : ndarray of float64, shape (K,)
        Read-only, summing to 1 up to rounding.

    Notes
    -----
    The law is :math:`P(X = y_k) = p_k` and zero off the support. Equality is identity (``eq=False``): two
    families are the same object, not merely equal arrays.

    References
    ----------
    MacKay, D. J. C. (2003) *Information Theory, Inference, and Learning Algorithms*, Cambridge University Press.

    Examples
    --------
    >>> import numpy as np
    >>> fam = ImageFamily("two pixels", 2, [[0, 0, 0, 0], [1, 1, 1, 1]], [0.25, 0.75])
    >>> fam.n, fam.n_patterns, fam.probs.tolist()
    (4, 2, [0.25, 0.75])
    """

    name: str
    side: int
    support: np.ndarray
    probs: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name: expected a string, got {type(self.name).__name__}")
        side = check_positive_int(self.side, "side", minimum=2)
        if side > _MAX_SIDE:
            raise ValueError(f"side: must be <= {_MAX_SIDE}, got {side}")
        support = _check_pixels(self.support, "support", side * side)
        K = support.shape[0]
        if K > MAX_SUPPORT:
            raise ValueError(f"support: {K} images, more than MAX_SUPPORT = {MAX_SUPPORT}")
        if _n_distinct(support) != K:
            raise ValueError("support: the images must be distinct (merge repeated images and add their probs)")
        p = as_float_array(self.probs, "probs", ndim=1)
        if p.shape != (K,):
            raise ValueError(f"probs: expected shape ({K},), one per support image, got {p.shape}")
        if not ((p > 0) & (p <= 1)).all():
            raise ValueError("probs: every probability must lie in (0, 1] (drop images of probability 0)")
        total = p.sum()
        if not abs(total - 1.0) <= 1e-9:
            raise ValueError(f"probs: must sum to 1, got {total!r}")
        if abs(total - 1.0) > 1e-13:  # more than rounding: renormalize (multinomial draws need <= 1 + 1e-12)
            p = p / total
        support.flags.writeable = False
        p.flags.writeable = False
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "support", support)
        object.__setattr__(self, "probs", p)

    @property
    def n(self) -> int:
        """Pixels per image, :math:`n = L^2`."""
        return self.side * self.side

    @property
    def n_patterns(self) -> int:
        """Number :math:`K` of distinct images in the support."""
        return self.support.shape[0]

    def sample(self, n_images: int, *, rng: np.random.Generator | int) -> np.ndarray:
        r"""Draw independent images from the exact law.

        Parameters
        ----------
        n_images : int
            Number of images :math:`N \ge 0`.
        rng : numpy.random.Generator or int
            Source of randomness.

        Returns
        -------
        ndarray of int8, shape (n_images, n)
            :math:`N` independent draws, ``support[k]`` with probability ``probs[k]``.

        Notes
        -----
        One uniform :math:`u \sim U[0, 1)` per image and the inverse of the cumulative law:
        :math:`k = \min\{k : u < \sum_{l \le k} p_l\}`, so :math:`P(k) = p_k`.

        References
        ----------
        Devroye, L. (1986) *Non-Uniform Random Variate Generation*, Springer, section III.2.

        Examples
        --------
        >>> x = bars_and_stripes(3).sample(4, rng=0)
        >>> x.shape, x.dtype.name
        ((4, 9), 'int8')
        """
        n_images = check_positive_int(n_images, "n_images", minimum=0)
        check_allocation((n_images, self.n), "n_images", itemsize=1)
        check_allocation(n_images, "n_images")
        gen = as_rng(rng)
        return self.support[_draw(self.probs, n_images, gen)]  # (N, n)


def _draw(p: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices into ``p`` by the inverse cumulative law (one uniform per draw)."""
    cdf = np.cumsum(p)
    idx = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(idx, p.size - 1)  # cdf[-1] may round below a uniform just under 1


def _n_distinct(x: np.ndarray) -> int:
    """Number of distinct rows of a 0/1 array."""
    packed = np.packbits(x.astype(np.uint8), axis=1)
    return np.unique(packed, axis=0).shape[0]


def _check_family(family: object, name: str = "family") -> ImageFamily:
    if not isinstance(family, ImageFamily):
        raise TypeError(f"{name}: expected a thermoref.dtm.ImageFamily, got {type(family).__name__}")
    return family


def _check_side(side: object, minimum: int) -> int:
    side = check_positive_int(side, "side", minimum=minimum)
    if side > _MAX_SIDE:
        raise ValueError(f"side: must be <= {_MAX_SIDE}, got {side}")
    return side


def _check_support_size(K: int, what: str) -> None:
    if K > MAX_SUPPORT:
        raise ValueError(f"side: {what} would have {K} images, more than MAX_SUPPORT = {MAX_SUPPORT}")


def bars_and_stripes(side: int) -> ImageFamily:
    r"""The bars-and-stripes family: every row constant or every column constant, uniform over distinct images.

    Parameters
    ----------
    side : int
        Image side :math:`L`, :math:`2 \le L \le 14` (the support must stay within :data:`MAX_SUPPORT`).

    Returns
    -------
    ImageFamily
        :math:`K = 2^{L+1} - 2` images, each with probability :math:`1/K`.

    Notes
    -----
    A binary word :math:`b \in \{0,1\}^L` gives the stripes image :math:`x_{rc} = b_r` (row :math:`r` is
    constant) and the bars image :math:`x_{rc} = b_c`. The all-0 and all-1 images arise from both, so there are

    .. math:: K = 2 \cdot 2^L - 2 = 2^{L+1} - 2

    distinct images. Order: the :math:`2^L` stripes images by :math:`\sum_r b_r 2^r`, then the bars images
    without the two constant ones. Every pixel is 1 with probability 1/2, every pair of pixels in one row or
    column is strongly correlated, and the law has no pairwise (Ising) form: it is a mixture of two orientations.

    References
    ----------
    MacKay, D. J. C. (2003) *Information Theory, Inference, and Learning Algorithms*, Cambridge University Press.

    Examples
    --------
    >>> fam = bars_and_stripes(4)
    >>> fam.n_patterns, fam.n
    (30, 16)
    >>> print(fam.support[5].reshape(4, 4))
    [[1 1 1 1]
     [0 0 0 0]
     [1 1 1 1]
     [0 0 0 0]]
    """
    L = _check_side(side, 2)
    K = 2 ** (L + 1) - 2
    _check_support_size(K, f"bars and stripes of side {L}")
    bits = ((np.arange(2**L)[:, None] >> np.arange(L)) & 1).astype(np.int8)  # (2^L, L): bit r of b
    stripes = np.repeat(bits[:, :, None], L, axis=2)  # (2^L, L, L): x[r, c] = b_r
    bars = stripes.transpose(0, 2, 1)[1:-1]  # (2^L - 2, L, L): x[r, c] = b_c, constants dropped
    support = np.concatenate([stripes, bars]).reshape(K, L * L)
    return ImageFamily(f"bars_and_stripes({L})", L, support, np.full(K, 1.0 / K))


def _grid(L: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.arange(L)
    return r[None, :, None], r[None, None, :]  # rows (1, L, 1), columns (1, 1, L)


def _rectangles(L: int) -> np.ndarray:
    """Outlines with height and width >= 3 at every position, ordered by (top, left, height, width)."""
    t, c, h, w = (a.ravel() for a in np.meshgrid(np.arange(L), np.arange(L), np.arange(3, L + 1),
                                                 np.arange(3, L + 1), indexing="ij"))
    keep = (t + h <= L) & (c + w <= L)
    t, c, b, r = (a[keep, None, None] for a in (t, c, t + h - 1, c + w - 1))  # (M, 1, 1) each
    R, C = _grid(L)
    inside = (R >= t) & (R <= b) & (C >= c) & (C <= r)
    return inside & ((R == t) | (R == b) | (C == c) | (C == r))  # (M, L, L)


def _bars(L: int) -> np.ndarray:
    """Full-length horizontal bars of width 1 then 2 (by top row), then the same bars transposed."""
    top = np.concatenate([np.arange(L), np.arange(L - 1)])[:, None, None]
    width = np.concatenate([np.ones(L, int), np.full(L - 1, 2)])[:, None, None]
    R, C = _grid(L)
    rows = (R >= top) & (R < top + width) & (C >= 0)  # (2L - 1, L, L)
    return np.concatenate([rows, rows.transpose(0, 2, 1)])


def _crosses(L: int) -> np.ndarray:
    """Plus signs with arms of length 1 then 2 (those that fit), centres in row-major order."""
    out = []
    R, C = _grid(L)
    for a in (1, 2):  # two arm lengths, not a loop over pixels
        if 2 * a + 1 > L:
            break
        cr, cc = (v.ravel()[:, None, None] for v in np.meshgrid(np.arange(a, L - a), np.arange(a, L - a),
                                                                indexing="ij"))
        out.append(((R == cr) & (abs(C - cc) <= a)) | ((C == cc) & (abs(R - cr) <= a)))
    return np.concatenate(out)


def _shape_counts(L: int) -> dict[str, int]:
    """Closed-form number of placements of each kind at side L (L >= 3)."""
    tri = (L - 2) * (L - 1) // 2  # sum over sizes 3..L of the (L - size + 1) positions
    return {"rectangles": tri * tri, "bars": 2 * (2 * L - 1),
            "crosses": sum((L - 2 * a) ** 2 for a in (1, 2) if 2 * a + 1 <= L)}


def shapes(side: int, kinds: tuple[str, ...] = SHAPE_KINDS) -> ImageFamily:
    r"""Strokes at every position: rectangle outlines, full-length bars and plus-shaped crosses.

    Parameters
    ----------
    side : int
        Image side :math:`L`, :math:`3 \le L \le 20` (the support must stay within :data:`MAX_SUPPORT`).
    kinds : tuple of str
        Which kinds to include, a non-empty subset of :data:`SHAPE_KINDS` (each at most once); the support
        keeps the order of :data:`SHAPE_KINDS`.

    Returns
    -------
    ImageFamily
        The union of the kinds' placements (disjoint: no image is of two kinds).

    Notes
    -----
    The law picks a kind uniformly, then a placement uniformly within the kind: an image of kind :math:`c`
    with :math:`M_c` placements has probability :math:`1/(|\mathrm{kinds}|\, M_c)`. With
    :math:`\binom{L-1}{2} = (L-2)(L-1)/2` positions-and-sizes per axis for a side of length at least 3,

    .. math::
        M_\mathrm{rectangles} = \binom{L-1}{2}^2, \qquad M_\mathrm{bars} = 2(2L - 1), \qquad
        M_\mathrm{crosses} = \sum_{a \in \{1, 2\},\ 2a + 1 \le L} (L - 2a)^2:

    outlines of height and width :math:`\ge 3`; horizontal and vertical bars spanning the image, one or two
    pixels wide; crosses with arms of length :math:`a`. At side 10 that is 1296 + 38 + 100 = 1434 images. A
    rectangle's four sides must close and a bar must span the image: constraints between distant pixels that a
    model with couplings only between grid neighbours cannot express, while its local statistics (straight
    segments, corners, line ends) are what such a model learns.

    References
    ----------
    MacKay, D. J. C. (2003) *Information Theory, Inference, and Learning Algorithms*, Cambridge University Press
    (bars and stripes, of which this is a family of strokes).

    Examples
    --------
    >>> fam = shapes(5)
    >>> fam.n_patterns
    64
    >>> print(fam.support[0].reshape(5, 5))
    [[1 1 1 0 0]
     [1 0 1 0 0]
     [1 1 1 0 0]
     [0 0 0 0 0]
     [0 0 0 0 0]]
    """
    L = _check_side(side, 3)
    if isinstance(kinds, str) or not isinstance(kinds, (tuple, list)):
        raise TypeError(f"kinds: expected a tuple of kind names from {SHAPE_KINDS}, got {type(kinds).__name__}")
    if not kinds or any(k not in SHAPE_KINDS for k in kinds) or len(set(kinds)) != len(kinds):
        raise ValueError(f"kinds: expected distinct names from {SHAPE_KINDS}, got {tuple(kinds)!r}")
    chosen = [k for k in SHAPE_KINDS if k in kinds]
    counts = _shape_counts(L)
    _check_support_size(sum(counts[k] for k in chosen), f"shapes of side {L}")
    build = {"rectangles": _rectangles, "bars": _bars, "crosses": _crosses}
    parts = [build[k](L).reshape(-1, L * L) for k in chosen]
    probs = np.concatenate([np.full(len(x), 1.0 / (len(chosen) * len(x))) for x in parts])
    label = f"shapes({L})" if len(chosen) == len(SHAPE_KINDS) else f"shapes({L}, {'+'.join(chosen)})"
    return ImageFamily(label, L, np.concatenate(parts).astype(np.int8), probs)


def image_family(name: str, side: int) -> ImageFamily:
    r"""The family called ``name`` at side ``side``: :func:`bars_and_stripes` or :func:`shapes`.

    Parameters
    ----------
    name : str
        One of :data:`FAMILIES`.
    side : int
        Image side :math:`L` (within the family's own bounds).

    Returns
    -------
    ImageFamily
        The family, with its exact law.

    Notes
    -----
    Support sizes: :math:`2^{L+1} - 2` for bars and stripes, :math:`\binom{L-1}{2}^2 + 2(2L-1) + \sum_a
    (L-2a)^2` for shapes (see each function).

    References
    ----------
    MacKay, D. J. C. (2003) *Information Theory, Inference, and Learning Algorithms*, Cambridge University Press.

    Examples
    --------
    >>> image_family("bars_and_stripes", 10).n_patterns, image_family("shapes", 10).n_patterns
    (2046, 1434)
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected one of {FAMILIES}, got {type(name).__name__}")
    if name not in FAMILIES:
        raise ValueError(f"name: expected one of {FAMILIES}, got {name!r}")
    return bars_and_stripes(side) if name == "bars_and_stripes" else shapes(side)


def make_dataset(family: ImageFamily, n_train: int, n_test: int, *,
                 rng: np.random.Generator | int) -> tuple[np.ndarray, np.ndarray]:
    r"""A training set and a held-out test set, drawn from two independent streams of one seed.

    Parameters
    ----------
    family : ImageFamily
        The law to draw from.
    n_train : int
        Number of training images (>= 0).
    n_test : int
        Number of held-out images (>= 0).
    rng : numpy.random.Generator or int
        The seed. Its two children ``rng.spawn(2)`` (for an int seed, the children of
        ``numpy.random.SeedSequence(seed).spawn(2)``) draw the training and the test set.

    Returns
    -------
    train : ndarray of int8, shape (n_train, n)
        Independent draws from the family's law.
    test : ndarray of int8, shape (n_test, n)
        Independent draws from a stream the training set never uses; changing ``n_train`` leaves them unchanged.

    Notes
    -----
    Both sets are independent samples of one finite law :math:`P(X = y_k) = p_k`, so they share images
    whenever :math:`N \gtrsim \sqrt{K}`; the test set measures how a model's samples compare with fresh draws,
    and :mod:`thermoref.dtm.quality` compares them with the exact law itself.

    References
    ----------
    O'Neill, M. E. (2014) "PCG: a family of simple fast space-efficient statistically good algorithms for
    random number generation", Harvey Mudd College, HMC-CS-2014-0905 (NumPy's default generator).

    Examples
    --------
    >>> fam = bars_and_stripes(4)
    >>> train, test = make_dataset(fam, 100, 20, rng=0)
    >>> train.shape, test.shape
    ((100, 16), (20, 16))
    >>> bool((make_dataset(fam, 5, 20, rng=0)[1] == test).all())
    True
    """
    fam = _check_family(family)
    n_train = check_positive_int(n_train, "n_train", minimum=0)
    n_test = check_positive_int(n_test, "n_test", minimum=0)
    check_allocation((n_train, fam.n), "n_train", itemsize=1)
    check_allocation((n_test, fam.n), "n_test", itemsize=1)
    train_rng, test_rng = as_rng(rng).spawn(2)
    return fam.sample(n_train, rng=train_rng), fam.sample(n_test, rng=test_rng)
