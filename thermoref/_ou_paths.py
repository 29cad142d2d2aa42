r"""Sample paths of an OU device in the real eigenbasis of its drift (the engine of :class:`thermoref.ou.OUProcess`).

A diagonalizable drift :math:`A = PBP^{-1}` with :math:`B` real block-diagonal (1x1 blocks for real eigenvalues,
2x2 rotation-scaling blocks for complex pairs) turns the mean step into O(n) work per sample; the noise of a
step of length :math:`h` comes from one of two exact factors: the Cholesky factor of the closed-form covariance
:math:`M_{ij} = \tilde D_{ij}(1 - e^{-(\lambda_i+\lambda_j)h})/(\lambda_i+\lambda_j)` (steps that repeat), or
Gauss–Legendre quadrature of the stochastic integral :math:`\int_0^h e^{-Bu}G\,dW` (steps used once). Private:
:mod:`thermoref.ou` is the public interface and documents the algorithm, its threshold and its error bound.

References: Golub, G. H. & Van Loan, C. F. "Matrix Computations" (4th ed., 2013) §7.4.1, §7.6; Davis, P. J. &
Rabinowitz, P. "Methods of Numerical Integration" (2nd ed., 1984) §2.7.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy import linalg

from ._validation import check_allocation

_EPS = np.finfo(float).eps

#: Largest 2-norm condition number of the real eigenvector basis for which sample paths use the eigenbasis.
#: Above it (or for a defective drift) they fall back to the series. At the threshold the covariance of a step
#: is within ``4 eps KAPPA_MAX**2 + 64 n eps`` (about 8.9e-10, relative, 2-norm) of the exact one (see OUProcess).
KAPPA_MAX = 1.0e3

_GL_TOL = 2.0**-56  # Gauss–Legendre remainder bound per node panel, relative: an eighth of an ulp
_GL_QMAX = 16


def _gl_reach(q: int) -> float:
    r"""Largest :math:`z = |c|\delta` with Gauss–Legendre remainder below ``_GL_TOL`` for :math:`e^{-cu}` on [0, δ].

    Remainder (Davis & Rabinowitz §2.7): :math:`\delta^{2q+1}(q!)^4/((2q+1)((2q)!)^3)\,f^{(2q)}(\xi)`, with
    :math:`|f^{(2q)}| \le |c|^{2q}e^{|c|\delta}`; a factor :math:`\sqrt2` covers real and imaginary parts.
    """
    c = 0.5 * math.log(2.0) + 4 * math.lgamma(q + 1) - math.log(2 * q + 1) - 3 * math.lgamma(2 * q + 1)
    lo, hi = 0.0, 64.0
    for _ in range(200):
        z = 0.5 * (lo + hi)
        if c + 2 * q * math.log(z) + z <= math.log(_GL_TOL):
            lo = z
        else:
            hi = z
    return lo


_GL_REACH = np.array([_gl_reach(q) for q in range(1, _GL_QMAX + 1)])  # (16,)
_GL_RULES = [None] + [((x + 1.0) / 2.0, w / 2.0) for x, w in (leggauss(q) for q in range(1, _GL_QMAX + 1))]


def _psd_factor(S: np.ndarray) -> np.ndarray:
    """A factor L with L L^T = S for a symmetric positive semidefinite S (Cholesky, else eigen)."""
    if not S.any():
        return np.zeros_like(S)
    scale = float(np.abs(S).max())
    if not np.isfinite(scale):
        return np.full_like(S, np.nan)  # callers report the overflow
    if not 1e-150 < scale < 1e150:  # factor S / scale: entries near the float range's ends
        with np.errstate(all="ignore"):
            return _psd_factor(S / scale) * math.sqrt(scale)
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(S)
        return V * np.sqrt(np.clip(w, 0.0, None))


# ---------------------------------------------------------------------------------------------------------
# the real eigenbasis of a diagonalizable drift
# ---------------------------------------------------------------------------------------------------------
class _Modes:
    r"""A drift in its real block-diagonal eigenbasis, :math:`A = PBP^{-1}`, and the noise in that basis.

    Columns of :math:`P`: the real eigenvectors, then :math:`\sqrt2\,\mathrm{Re}\,v, -\sqrt2\,\mathrm{Im}\,v` for
    each complex pair :math:`(\lambda, \bar\lambda)`, :math:`\lambda = \alpha + i\beta`, :math:`\beta > 0`. So
    :math:`B` has a 1x1 block per real eigenvalue and :math:`[[\alpha, -\beta], [\beta, \alpha]]` per pair, and
    in :math:`y = P^{-1}x` a pair's coordinates :math:`(y_1, y_2)` read as one complex *mode*
    :math:`w = y_1 + iy_2` (a zero-copy ``complex128`` view of the real array) that evolves as
    :math:`w \to e^{-\lambda h}w`: the mean step is O(n) and never leaves real storage. ``P is None`` for a
    diagonal drift (:math:`P = I`).
    """

    def __init__(self, lam_w: np.ndarray, r: int, P: np.ndarray | None, Pinv: np.ndarray | None, kappa: float,
                 LD: np.ndarray):
        with np.errstate(all="ignore"):  # huge diffusions overflow here; the path reports it, naming D
            self._setup(lam_w, r, P, Pinv, kappa, LD)

    def _setup(self, lam_w, r, P, Pinv, kappa, LD) -> None:
        n = LD.shape[0]
        self.n, self.r, self.kappa = n, r, kappa
        self.P, self.Pinv = P, Pinv
        self.lam_w = np.asarray(lam_w, complex)  # (modes,): r real eigenvalues, then one per pair
        self.rho = float(np.abs(self.lam_w).max())
        diagonal_LD = not (LD - np.diag(np.diag(LD))).any()
        if Pinv is None:
            self.G = LD
        else:  # (n, n): the noise factor in y coordinates
            self.G = Pinv * np.diag(LD) if diagonal_LD else Pinv @ LD
        self._closed_form = None  # (lambda_i + lambda_j, D~ in the complex eigen coordinates), built on first use

    def _closed_form_data(self) -> tuple[np.ndarray, np.ndarray]:
        if self._closed_form is None:
            n, r = self.n, self.r
            lam_full = np.empty(n, complex)  # y order, both members of each conjugate pair
            lam_full[:r] = self.lam_w[:r]
            lam_full[r::2] = self.lam_w[r:]
            lam_full[r + 1::2] = self.lam_w[r:].conj()
            lam_sum = lam_full[:, None] + lam_full[None, :]  # (n, n): lambda_i + lambda_j
            with np.errstate(all="ignore"):
                Dy = self.G @ self.G.T  # (n, n): diffusion in y coordinates
            if r == n:
                self._closed_form = lam_sum.real, Dy
            else:
                self._closed_form = lam_sum, self._transform(Dy.astype(complex), inverse=True)
        return self._closed_form

    def scale(self, Y: np.ndarray, f: np.ndarray) -> None:
        """In place, ``y -> e^{-Bv} y`` given the per-mode factors ``f`` (..., modes) = e^{-lambda v}."""
        r = self.r
        Y[..., :r] *= f[..., :r].real
        if r < self.n:
            Y[..., r:].view(np.complex128)[...] *= f[..., r:]

    def _transform(self, X: np.ndarray, inverse: bool) -> np.ndarray:
        r"""Both sides of ``X`` between y and the complex eigen coordinates :math:`z = U^{-1}y` (pairs only).

        Per pair :math:`U = [[1, 1], [-i, i]]/\sqrt2` and :math:`U^{-1} = [[1, i], [1, -i]]/\sqrt2`, so that
        :math:`V = PU` is the complex eigenvector matrix; ``inverse=True`` computes :math:`U^{-1}XU^{-\top}`.
        """
        r, c = self.r, 1.0 / math.sqrt(2.0)
        for _ in range(2):
            a, b = X[r::2].copy(), X[r + 1::2].copy()
            if inverse:
                X[r::2], X[r + 1::2] = (a + 1j * b) * c, (a - 1j * b) * c
            else:
                X[r::2], X[r + 1::2] = (a + b) * c, (a - b) * (-1j * c)
            X = X.T
        return X

    def cov_y(self, h: float) -> np.ndarray:
        r"""Closed-form :math:`\Sigma_y(h)`: :math:`M_{ij} = \tilde D_{ij}\,(1-e^{-(\lambda_i+\lambda_j)h})/(\lambda_i+\lambda_j)`.

        :math:`\tilde D = V^{-1}DV^{-\top}` in the complex eigen coordinates; ``-expm1(-ch)/c`` has no cancellation
        when :math:`|ch|` is small (NumPy's complex ``expm1`` is accurate to a few ulps of :math:`|ch|` there), and
        equals :math:`h` at :math:`c = 0`. The 2x2 block transform :math:`U` returns it to the real basis.
        """
        L, Dz = self._closed_form_data()
        with np.errstate(all="ignore"):
            em1 = np.expm1(-L * h)
            em1 = np.where((np.real(L) * h > 800.0) & ~np.isfinite(em1), -1.0, em1)  # e^{-Lh} underflowed to 0
            phi = np.where(L == 0, h, -em1 / np.where(L == 0, 1.0, L))
            S = Dz * phi
        if self.r < self.n:
            S = self._transform(S, inverse=False).real
        return 0.5 * (S + S.T)

    def plan(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""Gauss–Legendre nodes per panel ``q`` and panels ``s`` with :math:`2\rho h/s` within reach, fewest nodes."""
        with np.errstate(over="ignore"):
            z = np.minimum(2.0 * self.rho * np.asarray(h, float)[:, None], 2.0**40)  # (u, 1)
        panels = np.maximum(1.0, np.ceil(z / _GL_REACH))  # (u, 16); a long step goes to the Cholesky branch
        cost = panels * np.arange(1, _GL_QMAX + 1)
        best = np.argmin(cost, axis=1)
        return best + 1, panels[np.arange(len(best)), best].astype(np.int64)

    def quad_factors(self, h: np.ndarray, q: int, panels: int) -> np.ndarray:
        r"""Per step and node :math:`\sqrt{w_j}\,e^{-\lambda v_j}`, shape (steps, panels * q, modes).

        The noise of a step is :math:`\xi_y = \sum_j \sqrt{w_j}e^{-Bv_j}Gz_j`: composite Gauss–Legendre with
        ``panels`` equal panels of ``q`` nodes on [0, h], applied to the stochastic integral.
        """
        x, wt = _GL_RULES[q]
        frac = (np.arange(panels)[:, None] + x[None, :]).ravel() / panels  # (nodes,) node times / h
        v = np.asarray(h, float)[:, None] * frac  # (steps, nodes)
        sw = np.sqrt(np.asarray(h, float)[:, None] * np.tile(wt, panels) / panels)  # (steps, nodes)
        return sw[..., None] * np.exp(-v[..., None] * self.lam_w)

    def step_factor(self, h: float, branch: str) -> np.ndarray:
        """(n, k) factor F in the original coordinates with F F^T = the covariance one step of ``branch`` draws."""
        if branch == "cholesky":
            Fy = _psd_factor(self.cov_y(h))
        else:
            (q,), (panels,) = self.plan(np.array([h]))
            blocks = []
            for f in self.quad_factors(np.array([h]), int(q), int(panels))[0]:
                Y = self.G.T.copy()  # (n, n): row i is G e_i
                self.scale(Y, f)
                blocks.append(Y.T)
            Fy = np.concatenate(blocks, axis=1)
        return Fy if self.P is None else self.P @ Fy

    def propagator(self, h: float) -> np.ndarray:
        """e^{-Ah} as the eigenbasis applies it: P e^{-Bh} P^{-1}."""
        Y = (np.eye(self.n) if self.Pinv is None else self.Pinv).T.copy()  # row i: P^{-1} e_i
        self.scale(Y, np.exp(-h * self.lam_w))
        return Y.T if self.P is None else self.P @ Y.T


def _exp_neg(z: np.ndarray) -> np.ndarray:
    """e^{-z}, exactly 0 where Re z is so large that the modulus underflows (whatever the phase)."""
    with np.errstate(all="ignore"):
        return np.where(np.real(z) > 800.0, 0.0, np.exp(-z))


def _cond2(P: np.ndarray) -> float:
    sv = linalg.svdvals(P)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf


def _noise_factor(D: np.ndarray, n: int) -> np.ndarray:
    """L with L L^T = D for a diffusion given as scalar, diagonal or matrix."""
    if D.ndim == 2:
        return _psd_factor(D)
    return np.diag(np.sqrt(np.broadcast_to(D, (n,)).astype(float)))


def _modes(A: np.ndarray, D: np.ndarray) -> tuple[_Modes | None, float]:
    """The eigenbasis of the drift, or None (and the condition number found) when the series must be used."""
    n = A.shape[0]
    LD = _noise_factor(D, n)
    if A.ndim == 1:
        return _Modes(A, n, None, None, 1.0, LD), 1.0
    try:
        with np.errstate(all="ignore"):
            lam, V = np.linalg.eig(A)
    except np.linalg.LinAlgError:
        return None, math.inf
    lam, V = np.asarray(lam, complex), np.asarray(V, complex)
    real, pos = lam.imag == 0, lam.imag > 0
    r, n_pairs = int(real.sum()), int(pos.sum())
    if r + 2 * n_pairs != n or not (np.isfinite(lam).all() and np.isfinite(V).all()):
        return None, math.inf
    P = np.empty((n, n))  # (n, n) real basis: real eigenvectors, then sqrt2 (Re v, -Im v) per pair
    P[:, :r] = V[:, real].real
    P[:, r::2] = math.sqrt(2.0) * V[:, pos].real
    P[:, r + 1::2] = -math.sqrt(2.0) * V[:, pos].imag
    kappa = _cond2(P)
    if not kappa <= KAPPA_MAX:
        return None, kappa
    Pinv = np.linalg.inv(P)
    return _Modes(np.concatenate([lam[real], lam[pos]]), r, P, Pinv, kappa, LD), kappa


def _group_steps(steps: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct positive step lengths (equal to 4 ulp of the horizon), the group of every step (-1: zero step)."""
    pos = steps > 0
    inverse = np.full(steps.shape, -1, dtype=np.int64)
    if not pos.any():
        return np.zeros(0), inverse, np.zeros(0, dtype=np.int64)
    key = np.rint(steps[pos] / horizon / (4.0 * _EPS))
    _, first, inv, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    inverse[pos] = inv
    return steps[pos][first], inverse, counts


def _plan_path(M: _Modes, steps: np.ndarray, horizon: float, nb: int):
    """Distinct steps, the group of every step, and per group the quadrature rule and whether it is used.

    Cost in (n, n) matrix-vector products: a Cholesky factor costs ~n/6 (the factorization) + ~8 (the closed
    form), then one product per use; quadrature costs one product per node per use. Each distinct step takes the
    cheaper of the two exact factors.
    """
    h, inverse, counts = _group_steps(steps, horizon)
    q, panels = M.plan(h)
    quad = counts * float(nb) * (q * panels - 1.0) < M.n / 6.0 + 8.0  # float: no int64 overflow
    return h, inverse, q, panels, quad


def _eigen_trajectory(M: _Modes, x0: np.ndarray, b: np.ndarray, s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exact path in the eigenbasis; noise per distinct step by closed form + Cholesky or by exact quadrature."""
    n, m = M.n, s.size
    state = np.broadcast_shapes(x0.shape, b.shape)  # (..., n)
    check_allocation((m,) + state, "ts", itemsize=16)  # the path in y and in x coordinates
    nb = int(np.prod(state[:-1], dtype=object))
    steps = np.diff(s, prepend=0.0)
    h, inverse, q, panels, quad = _plan_path(M, steps, float(s[-1]), nb)
    nodes = q * panels
    group = np.maximum(inverse, 0)
    chol_steps = np.flatnonzero((inverse >= 0) & ~quad[group])
    quad_steps = np.flatnonzero((inverse >= 0) & quad[group])
    n_nodes = int(nodes[inverse[quad_steps]].sum())
    check_allocation((n_nodes, nb, n), "ts")
    U = np.zeros((m, nb, n))  # (m, nb, n): the path in u = P^{-1}(x - b), noise first
    z_chol = rng.standard_normal((chol_steps.size * nb, n))
    z_quad = rng.standard_normal((n_nodes * nb, n))
    with np.errstate(all="ignore"):
        for u in np.unique(inverse[chol_steps]):
            at = np.flatnonzero(inverse[chol_steps] == u)
            S = M.cov_y(float(h[u]))
            if not np.isfinite(S).all():
                return np.full((m,) + state, np.inf)  # an unstable drift over a long step: reported by the caller
            z = z_chol.reshape(chol_steps.size, nb, n)[at].reshape(-1, n)
            U[chol_steps[at]] = (z @ _psd_factor(S).T).reshape(at.size, nb, n)
        if n_nodes:
            Yn = (z_quad @ M.G.T).reshape(n_nodes, nb, n)  # (nodes, nb, n): one product for every node
            kq = q[inverse[quad_steps]] * 1000 + panels[inverse[quad_steps]]
            offsets = np.concatenate([[0], np.cumsum(nodes[inverse[quad_steps]])])
            for key in np.unique(kq):  # steps sharing a rule, all at once
                sel = np.flatnonzero(kq == key)
                qq, pp = int(key // 1000), int(key % 1000)
                F = M.quad_factors(steps[quad_steps[sel]], qq, pp)  # (steps, nodes, modes)
                block = Yn[offsets[sel][:, None] + np.arange(qq * pp)]  # (steps, nodes, nb, n)
                M.scale(block, F[:, :, None, :])
                U[quad_steps[sel]] = block.sum(axis=1)
        bvec = np.broadcast_to(b, (n,))
        x = (np.broadcast_to(x0, state) - bvec).reshape(nb, n)
        prev = x if M.Pinv is None else x @ M.Pinv.T  # (nb, n)
        decay = _exp_neg(np.outer(h, M.lam_w))  # (u, modes): e^{-lambda h}
        r, real_part, complex_part = M.r, decay[:, :M.r].real, decay[:, M.r:]
        Ur, Uc = U[..., :r], U[..., r:].view(np.complex128)  # (m, nb, r), (m, nb, pairs): views of U
        pr, pc = prev[:, :r], prev[:, r:].view(np.complex128)
        tr, tc = np.empty_like(pr), np.empty_like(pc)
        for k in range(m):  # u_k = e^{-B h_k} u_{k-1} + noise_k, O(n) per device
            g = inverse[k]
            if g < 0:  # a zero step leaves the state exactly unchanged
                Ur[k], Uc[k] = pr, pc
            else:
                if r:
                    np.multiply(pr, real_part[g], out=tr)
                    Ur[k] += tr
                if r < n:
                    np.multiply(pc, complex_part[g], out=tc)
                    Uc[k] += tc
            pr, pc = Ur[k], Uc[k]
        out = U if M.P is None else (U.reshape(m * nb, n) @ M.P.T)  # one product over the whole grid
        out = out.reshape((m,) + state)
        out += bvec
    return out.reshape((m,) + state)
