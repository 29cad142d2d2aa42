"""The conformance suite's fixed inputs: its Ising models, user energy, logits and Gaussians, their exact laws
(computed by enumeration and closed forms, independently of every sampling unit), and its small valid and
invalid calls. Private to :mod:`thermoref.backend.conformance`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse, special

from ..testing import enumerate_states


def ring(n: int) -> np.ndarray:
    J = np.zeros((n, n))
    J[np.arange(n), (np.arange(n) + 1) % n] = 1.0
    return J + J.T


def torus(L: int) -> np.ndarray:
    i = np.arange(L * L).reshape(L, L)
    J = np.zeros((L * L, L * L))
    for nb in (np.roll(i, 1, axis=0), np.roll(i, 1, axis=1)):  # the two lattice directions
        J[i.ravel(), nb.ravel()] = 1.0
    return J + J.T


def models() -> dict[str, tuple[np.ndarray, np.ndarray, float, bool]]:
    """name -> (J, h, beta, pass J as scipy.sparse); drawn once from a fixed seed so the suite never changes."""
    g = np.random.default_rng(12)
    A = np.triu(g.normal(0.0, 0.6, (6, 6)), 1)
    W = np.zeros((10, 10))
    for a, b in [(i, (i + 1) % 10) for i in range(10)] + [(0, 5), (2, 7), (3, 8)]:
        W[a, b] = W[b, a] = g.choice([-1.0, 1.0]) * g.uniform(0.5, 1.0)
    return {"ferro_ring": (ring(8), np.zeros(8), 0.7, False),
            "af_triangle": (ring(3) * -1.0, np.array([0.8, 0.0, -0.5]), 1.0, False),
            "random_fields": (A + A.T, g.normal(0.0, 0.4, 6), 1.0, False),
            "sparse_graph": (W, g.normal(0.0, 0.2, 10), 0.7, True)}


MODELS = models()
TORUS = torus(4)
BETAS = (0.2, 0.35, 0.5)


@lru_cache(maxsize=8)
def _energies(key: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    J, h = np.frombuffer(key[: 8 * n * n]).reshape(n, n), np.frombuffer(key[8 * n * n:])
    s = enumerate_states(n).astype(np.float64)  # (2**n, n)
    return -0.5 * np.einsum("ki,ij,kj->k", s, J, s) - s @ h, s  # (2**n,), (2**n, n)


def ising_law(J: np.ndarray, h: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, E, states) over enumerate_states order: E(s) = -s.J.s/2 - h.s, p = exp(-beta E)/Z (energies cached)."""
    E, s = _energies(np.ascontiguousarray(J, np.float64).tobytes() + np.ascontiguousarray(h, np.float64).tobytes(),
                     h.size)
    x = -beta * E
    p = np.exp(x - special.logsumexp(x))
    return p / p.sum(), E, s


def clock_energy(s: np.ndarray) -> np.ndarray:
    r"""A 3-state clock ring of 4 sites with fields: :math:`E = -\sum_i J_i\cos(2\pi(s_i-s_{i+1})/3) - H_{i,s_i}`."""
    J = np.array([0.6, 0.48, -0.36, 0.72])
    H = np.array([[1.0, -0.75, 0.0], [0.0, 1.25, -0.5], [-1.0, 0.25, 0.75], [0.5, 0.0, -1.25]])
    pair = np.cos(2 * np.pi * (s - np.roll(s, -1, axis=-1)) / 3)  # (..., 4)
    return -(pair @ J) - H[np.arange(4), s].sum(axis=-1)


CUSTOM_STATES = np.indices((3,) * 4).reshape(4, -1).T  # (81, 4), first site most significant
CUSTOM_E = clock_energy(CUSTOM_STATES)  # (81,)


def custom_energy(s: np.ndarray) -> np.ndarray:
    """The clock energy of states (..., 4) in {0, 1, 2}, looked up in its table of 81 values (a user energy)."""
    return CUSTOM_E[np.asarray(s) @ np.array([27, 9, 3, 1])]


def custom_law(beta: float) -> np.ndarray:
    x = -beta * clock_energy(CUSTOM_STATES)
    return np.exp(x - special.logsumexp(x))


def categorical_logits() -> np.ndarray:
    """Three rows of 4096 logits with nearly all mass beyond index 255, every 97th masked.

    Rows 0 and 1 have bumps at 2600 and 1495, with the even and the odd ids carrying about half the mass each;
    row 2 is row 0 with the odd ids raised by 1, so its parity halves carry unequal mass (about 0.31 / 0.69 at
    ``CAT_BETA``): a pipeline that picks a half uniformly, instead of by its partition function, is wrong there.
    """
    g = np.random.default_rng(4096)
    i = np.arange(4096)
    row = -2.0 * ((i - 2600) / 700.0) ** 2 + 0.7 * g.standard_normal(4096)
    z = np.stack([row, row[::-1], row + (i % 2)])  # (3, 4096)
    z[:, ::97] = -np.inf
    return z


CAT_BETA = 0.8
BIN_BETA = 1.3
BIN_LOGITS = special.logit(np.linspace(0.005, 0.995, 32)) / BIN_BETA
GAUSS_MEAN = np.array([1.0, -2.0, 0.5, 3.0])
GAUSS_COV = np.array([[2.0, 0.6, -0.4, 0.0], [0.6, 1.0, 0.2, 0.3], [-0.4, 0.2, 1.5, -0.5], [0.0, 0.3, -0.5, 0.8]])
GAUSS_PREC = np.array([[1.0, -0.3, 0.0, 0.2], [-0.3, 2.0, 0.5, 0.0], [0.0, 0.5, 0.7, -0.1], [0.2, 0.0, -0.1, 1.2]])


def softmax_rows(z: np.ndarray, beta: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        x = np.where(np.isneginf(z), -np.inf, beta * z)
    return np.exp(x - special.logsumexp(x, axis=-1, keepdims=True))


def small_calls() -> dict[str, tuple[str, tuple, dict]]:
    """One small valid call per method (and the sparse Ising input): label -> (method, args, kwargs)."""
    J, sweeps = ring(6), dict(n_sweeps=5, n_samples=20)
    return {"ising": ("sample_ising", (J, np.full(6, 0.1), 0.5), sweeps),
            "ising sparse": ("sample_ising", (sparse.csr_array(J), np.zeros(6), 0.5), sweeps),
            "binary": ("sample_binary", (np.linspace(-2, 2, 64).reshape(4, 16), 0.7), {}),
            "categorical": ("sample_categorical", (np.linspace(0, 1, 600).reshape(2, 300), 1.5, 40), {}),
            "gaussian cov": ("sample_gaussian", (GAUSS_MEAN, GAUSS_COV), dict(size=7)),
            "gaussian precision": ("sample_gaussian", (GAUSS_MEAN, GAUSS_PREC), dict(size=7, form="precision")),
            "custom": ("sample_custom", (custom_energy, np.zeros((20, 4), np.int64)),
                       dict(n_steps=10, beta=1.0, n_values=3))}


def bad_calls() -> list[tuple[str, str, tuple, dict]]:
    """(parameter blamed, method, args, kwargs) of invalid calls every unit must refuse."""
    J, h = ring(4), np.zeros(4)
    ising = dict(n_sweeps=2, n_samples=3, rng=0)
    asym = J.copy()
    asym[0, 1] = 2.0
    G = dict(size=3, rng=0)
    C = dict(n_steps=2, beta=1.0, n_values=3, rng=0)
    init = np.zeros((2, 4), np.int64)
    return [("J", "sample_ising", (asym, h, 0.5), ising), ("J", "sample_ising", (J * np.nan, h, 0.5), ising),
            ("h", "sample_ising", (J, np.zeros(3), 0.5), ising), ("beta", "sample_ising", (J, h, -1.0), ising),
            ("beta", "sample_ising", (J, h, np.nan), ising),
            ("n_samples", "sample_ising", (J, h, 0.5), dict(ising, n_samples=0)),
            ("n_sweeps", "sample_ising", (J, h, 0.5), dict(ising, n_sweeps=-1)),
            ("init", "sample_ising", (J, h, 0.5), dict(ising, init=np.zeros(4))),
            ("rng", "sample_ising", (J, h, 0.5), dict(ising, rng="seed")),
            ("logits", "sample_binary", (np.array([np.nan, 0.0]), 1.0), dict(rng=0)),
            ("beta", "sample_binary", (np.zeros(2), -0.5), dict(rng=0)),
            ("logits", "sample_categorical", (np.array([np.nan, 0.0, 1.0]), 1.0, 2), dict(rng=0)),
            ("logits", "sample_categorical", (np.full(3, -np.inf), 1.0, 2), dict(rng=0)),
            ("size", "sample_categorical", (np.zeros(3), 1.0, 0), dict(rng=0)),
            ("beta", "sample_categorical", (np.zeros(3), np.inf, 2), dict(rng=0)),
            ("mean", "sample_gaussian", (np.array([np.nan, 0.0]), np.eye(2)), G),
            ("precision_or_cov", "sample_gaussian", (np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]])), G),
            ("precision_or_cov", "sample_gaussian", (np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]])), G),
            ("precision_or_cov", "sample_gaussian", (np.zeros(3), np.eye(2)), G),
            ("form", "sample_gaussian", (np.zeros(2), np.eye(2)), dict(G, form="cholesky")),
            ("size", "sample_gaussian", (np.zeros(2), np.eye(2)), dict(G, size=0)),
            ("energy", "sample_custom", (5, init), C),
            ("energy", "sample_custom", (lambda s: np.full(s.shape[:-1], np.nan), init), C),
            ("init", "sample_custom", (custom_energy, init + 3), C),
            ("n_values", "sample_custom", (custom_energy, init), dict(C, n_values=1)),
            ("beta", "sample_custom", (custom_energy, init), dict(C, beta=-1.0)),
            ("n_steps", "sample_custom", (custom_energy, init), dict(C, n_steps=-2))]
