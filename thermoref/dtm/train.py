r"""Training a denoising thermodynamic model by maximum likelihood, with a penalty that keeps each step mixing.

Every reverse step is an exponential family in its parameters :math:`\theta_t = (w_t, b_t)` with sufficient
statistics :math:`\phi(s) = (s_is_j)_{(i,j) \in \mathcal{E}} \oplus (s_i)_i = -\partial E_t / \partial\theta_t`,
so the gradient of the conditional log-likelihood of a training pair :math:`(x_{t-1}, x_t)` is the data's
statistics minus the model's expected statistics given :math:`x_t`,

.. math:: \nabla_{\theta_t} \log p_\theta(s_{t-1} \mid s_t) = \phi(s_{t-1})
          - \bigl\langle \phi \bigr\rangle_{p_\theta(\cdot \mid s_t)},

the positive phase from data, the negative phase from the model's own block-Gibbs chains (through a
:class:`thermoref.backend.SamplingUnit`). Here it is estimated, checked against enumeration, penalized for slow
mixing and fed to Adam; :func:`train_dtm` trains all :math:`T` steps at once, with every step's chains in one
block-diagonal Ising model, and trains the single energy-based model of the data as the case :math:`T = 1`,
:math:`q_1 = 1/2`.

References: Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) Cognitive Science 9, 147 (Boltzmann machine
learning); Tieleman, T. (2008) ICML (persistent contrastive divergence); Kingma, D. P. & Ba, J. (2015) ICLR
(Adam); Jelinčič, A. et al. (2025) arXiv:2510.23972 (denoising thermodynamic models, adaptive correlation
penalty).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.special import logsumexp

from .._validation import as_float_array, as_rng, check_allocation, check_positive_int, check_real, check_work
from ..backend.protocol import SamplingUnit
from .forward import _check_flip, _check_pixels, _gamma, forward_path
from .model import (DTM, _check_backend, _check_dtm, _check_step, _enumerated, _pairs, _spins, _statistics,
                    exact_step_law, grid_edges, sample_step)

__all__ = ["step_statistics", "StepGradient", "log_likelihood_gradient", "exact_log_likelihood", "exact_gradient",
           "Penalty", "correlation_penalty", "exact_penalty", "TrainingHistory", "train_dtm"]

# How train_dtm starts each iteration's negative chains.
_CHAIN_STARTS = ("persistent", "conditioning", "data")

_ADAM = (0.9, 0.999, 1e-8)  # b1, b2, eps of Kingma & Ba (2015), their recommended defaults
_MIN_PENALTY_CHAINS = 6  # three groups of >= 2 chains: the unbiased penalty estimator's minimum
_MONITORED = 64  # pairs per step whose chains take one more sweep to measure the lag-1 autocorrelation
_MAX_PENALTY = 1e6  # penalty weights (and their adaptive range, x 1e-6 .. x 1e6) stay finite in the gradient


def step_statistics(dtm: DTM, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""Sufficient statistics of images under a step's energy: edge products and spins.

    Parameters
    ----------
    dtm : DTM
        The model (its edges and pixel count).
    x : array_like of int, shape (N, n) or (n,)
        Images, pixels in {0, 1}.

    Returns
    -------
    pairs : ndarray of float64, shape (N, m)
        :math:`s_is_j = -\partial E_t/\partial w_{t,e}` for each edge :math:`e = (i, j)`.
    spins : ndarray of float64, shape (N, n)
        :math:`s_i = 2x_i - 1 = -\partial E_t/\partial b_{t,i}`.

    Notes
    -----
    :math:`E_t(s) = -\sum_e w_{t,e}\phi_e(s) - \sum_i b_{t,i}\phi_i(s)` is linear in the parameters, so these
    are the statistics whose data average and model average make the likelihood gradient.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 147-169.

    Examples
    --------
    >>> from thermoref.dtm import DTM, step_statistics
    >>> pairs, spins = step_statistics(DTM.zeros(2, [0.5], neighbourhood=4), [1, 0, 0, 1])
    >>> print(pairs, spins)
    [[-1. -1. -1. -1.]] [[ 1. -1. -1.  1.]]
    """
    dtm = _check_dtm(dtm)
    s = _spins(_check_pixels(x, "x", dtm.n))
    check_allocation((s.shape[0], len(dtm.edges) + dtm.n), "x")
    phi = _statistics(s, dtm.edges)
    return phi[:, :len(dtm.edges)], phi[:, len(dtm.edges):]


@dataclass(frozen=True)
class StepGradient:
    r"""A Monte Carlo estimate of one step's log-likelihood gradient, with the negative-phase samples.

    Attributes
    ----------
    grad_w : ndarray of float64, shape (m,)
        Estimate of :math:`\partial \bar\ell / \partial w_t`.
    grad_b : ndarray of float64, shape (n,)
        Estimate of :math:`\partial \bar\ell / \partial b_t`.
    samples : ndarray of int8, shape (B, n)
        The negative chains' final images (pixels), one per pair: a persistent trainer continues from them.

    Notes
    -----
    :math:`\bar\ell = \frac1B\sum_b \log p_\theta(x_{t-1}^{(b)} \mid x_t^{(b)})`; see
    :func:`log_likelihood_gradient`.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 147-169.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, log_likelihood_gradient
    >>> x = np.ones((3, 4), dtype=np.int8)
    >>> log_likelihood_gradient(DTM.zeros(2, [0.25]), 1, x, x, n_sweeps=2, rng=0).samples.shape
    (3, 4)
    """

    grad_w: np.ndarray
    grad_b: np.ndarray
    samples: np.ndarray


def log_likelihood_gradient(dtm: DTM, t: int, x_prev: ArrayLike, x_t: ArrayLike, *, n_sweeps: int,
                            rng: np.random.Generator | int, backend: SamplingUnit | None = None,
                            init: ArrayLike | None = None) -> StepGradient:
    r"""Estimate the gradient of step ``t``'s mean conditional log-likelihood: data minus one chain per pair.

    Parameters
    ----------
    dtm : DTM
        The model.
    t : int
        Step, :math:`1 \le t \le T`.
    x_prev : array_like of int, shape (B, n) or (n,)
        Less noisy training images :math:`x_{t-1}`, pixels in {0, 1}.
    x_t : array_like of int, shape (B, n) or (n,)
        Their noisier partners :math:`x_t`, the same number of images (or one, shared).
    n_sweeps : int
        Block-Gibbs sweeps of each negative chain, >= 0 (0: the chains stay at ``init``).
    rng : numpy.random.Generator or int
        Source of randomness.
    backend : SamplingUnit, optional
        The unit that runs the chains; :class:`thermoref.backend.NumpyBackend` by default.
    init : array_like of int, shape (B, n), optional
        Where the chains start; ``None`` starts each at its conditioning image :math:`x_t`.

    Returns
    -------
    StepGradient
        ``grad_w`` (m,), ``grad_b`` (n,) and the chains' final images ``samples`` (B, n).

    Notes
    -----
    .. math:: \widehat{\nabla}_{\theta_t}\bar\ell = \frac1B\sum_b \bigl[\phi(s_{t-1}^{(b)})
              - \phi(\tilde s^{(b)})\bigr], \qquad \tilde s^{(b)} \sim K^{n_\mathrm{sweeps}}(\cdot \mid s_t^{(b)}),

    with :math:`K` a chromatic block-Gibbs sweep of :math:`p_\theta(\cdot\mid s_t^{(b)})`
    (:func:`thermoref.dtm.sample_step`). Unbiased for the exact gradient (:func:`exact_gradient`) as the chains
    reach equilibrium; each chain is one draw, so its noise falls as :math:`1/\sqrt{B}`.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 147-169. Tieleman, T. (2008) "Training restricted Boltzmann machines using
    approximations to the likelihood gradient", ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, log_likelihood_gradient
    >>> x = np.ones((3, 4), dtype=np.int8)
    >>> g = log_likelihood_gradient(DTM.zeros(2, [0.25]), 1, x, x, n_sweeps=0, rng=0)  # chains stay at x_t
    >>> print(g.grad_w, g.grad_b)
    [0. 0. 0. 0. 0. 0.] [0. 0. 0. 0.]
    """
    dtm = _check_dtm(dtm)
    _check_step(dtm, t)
    xp, xt = _pairs(x_prev, x_t, dtm.n, empty_ok=False)
    if xt.shape[0] < xp.shape[0]:
        xt = np.broadcast_to(xt, xp.shape)
    samples = sample_step(dtm, t, xt, n_sweeps=n_sweeps, rng=rng, backend=backend, init=init)  # (B, n)
    g = _statistics(_spins(xp), dtm.edges).mean(0) - _statistics(_spins(samples), dtm.edges).mean(0)
    m = len(dtm.edges)
    return StepGradient(g[:m], g[m:], samples)


def exact_log_likelihood(dtm: DTM, t: int, x_prev: ArrayLike, x_t: ArrayLike) -> np.ndarray:
    r"""The exact conditional log-likelihood :math:`\log p_\theta(x_{t-1} \mid x_t)` of each pair, by enumeration.

    Parameters
    ----------
    dtm : DTM
        A model with at most 16 pixels.
    t : int
        Step, :math:`1 \le t \le T`.
    x_prev : array_like of int, shape (N, n) or (n,)
        Less noisy images :math:`x_{t-1}`.
    x_t : array_like of int, shape (N, n) or (n,)
        Conditioning images :math:`x_t` (N images, or one broadcast against ``x_prev``).

    Returns
    -------
    ndarray of float64, shape (N,)
        :math:`\log p_\theta(x_{t-1} \mid x_t) \le 0` in nats.

    Notes
    -----
    .. math:: \log p_\theta(s \mid s_t) = \theta_t\cdot\phi(s) + \gamma_t\, s\cdot s_t
              - \log\sum_{s'} e^{\theta_t\cdot\phi(s') + \gamma_t\, s'\cdot s_t},

    the log-partition function a log-sum-exp over the :math:`2^n` images (one matrix product for the field
    term), so the result is finite however peaked the law.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 147-169.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, exact_log_likelihood
    >>> ll = exact_log_likelihood(DTM.zeros(2, [0.25]), 1, [1, 1, 1, 0], [1, 1, 1, 1])
    >>> print(ll.round(6), round(3 * np.log(0.75) + np.log(0.25), 6))  # independent pixels, q = 1/4
    [-2.249341] -2.249341
    """
    dtm = _check_dtm(dtm)
    k = _check_step(dtm, t) - 1
    xp, xt = _pairs(x_prev, x_t, dtm.n, empty_ok=True)
    S = _enumerated(dtm)
    phi = _statistics(S, dtm.edges)  # (2**n, m + n)
    check_allocation((xt.shape[0], S.shape[0]), "x_t")
    theta = np.concatenate([dtm.weights[k], dtm.biases[k]])  # (m + n,)
    st, sp = _spins(xt), _spins(xp)
    log_Z = logsumexp((phi @ theta)[None, :] + dtm.gammas[k] * (st @ S.T), axis=1)  # (N or 1,)
    overlap = np.einsum("ni,ni->n", *np.broadcast_arrays(sp, st))  # s . s_t of each pair
    return _statistics(sp, dtm.edges) @ theta + dtm.gammas[k] * overlap - log_Z


def exact_gradient(dtm: DTM, t: int, x_prev: ArrayLike, x_t: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""The exact gradient of step ``t``'s mean conditional log-likelihood, by enumeration.

    Parameters
    ----------
    dtm : DTM
        A model with at most 16 pixels.
    t : int
        Step, :math:`1 \le t \le T`.
    x_prev : array_like of int, shape (B, n) or (n,)
        Less noisy images :math:`x_{t-1}`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images (B, or one broadcast against ``x_prev``).

    Returns
    -------
    grad_w : ndarray of float64, shape (m,)
        :math:`\partial\bar\ell/\partial w_t`.
    grad_b : ndarray of float64, shape (n,)
        :math:`\partial\bar\ell/\partial b_t`.

    Notes
    -----
    .. math:: \nabla_{\theta_t}\bar\ell = \frac1B\sum_b\Bigl[\phi(s_{t-1}^{(b)})
              - \sum_s p_\theta(s \mid s_t^{(b)})\,\phi(s)\Bigr],

    the model term one product of the mean conditional law (:func:`thermoref.dtm.exact_step_law`) with the
    :math:`2^n \times (m + n)` table of statistics. Zero at the maximum-likelihood parameters: moment matching.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985) "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 147-169.

    Examples
    --------
    >>> from thermoref.dtm import DTM, exact_gradient
    >>> gw, gb = exact_gradient(DTM.zeros(2, [0.25]), 1, [1, 1, 1, 1], [1, 1, 1, 1])
    >>> print(gb)  # 1 - <s_i> = 1 - (1 - 2q)
    [0.5 0.5 0.5 0.5]
    """
    dtm = _check_dtm(dtm)
    _check_step(dtm, t)
    xp, xt = _pairs(x_prev, x_t, dtm.n, empty_ok=False)
    S = _enumerated(dtm)
    phi = _statistics(S, dtm.edges)  # (2**n, m + n)
    _, p = exact_step_law(dtm, t, xt)  # (B, 2**n)
    g = _statistics(_spins(xp), dtm.edges).mean(0) - p.mean(0) @ phi
    m = len(dtm.edges)
    return g[:m], g[m:]


@dataclass(frozen=True)
class Penalty:
    r"""The correlation penalty of one step and its gradient (exact, or an unbiased estimate).

    Attributes
    ----------
    value : float
        :math:`P_t = \frac{1}{Bm}\sum_b\sum_e c_e(s_t^{(b)})^2` (an estimate may be slightly negative).
    grad_w : ndarray of float64, shape (m,)
        :math:`\partial P_t/\partial w_t`.
    grad_b : ndarray of float64, shape (n,)
        :math:`\partial P_t/\partial b_t`.

    Notes
    -----
    :math:`c_e = \langle s_is_j\rangle - \langle s_i\rangle\langle s_j\rangle` under
    :math:`p_\theta(\cdot \mid s_t)`; see :func:`exact_penalty` and :func:`correlation_penalty`.

    References
    ----------
    Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like models",
    arXiv:2510.23972 (an adaptive correlation penalty; this penalty is our construction in its spirit).

    Examples
    --------
    >>> from thermoref.dtm import DTM, exact_penalty
    >>> print(round(exact_penalty(DTM.zeros(2, [0.25]), 1, [1, 0, 0, 1]).value, 12))  # no couplings
    0.0
    """

    value: float
    grad_w: np.ndarray
    grad_b: np.ndarray


def exact_penalty(dtm: DTM, t: int, x_t: ArrayLike) -> Penalty:
    r"""The correlation penalty of step ``t`` given conditioning images, and its gradient, by enumeration.

    Parameters
    ----------
    dtm : DTM
        A model with at most 16 pixels.
    t : int
        Step, :math:`1 \le t \le T`.
    x_t : array_like of int, shape (B, n) or (n,)
        Conditioning images, at least one.

    Returns
    -------
    Penalty
        The value :math:`P_t` and its gradient with respect to :math:`w_t` (m,) and :math:`b_t` (n,).

    Notes
    -----
    The mean squared connected correlation of coupled pixels,

    .. math:: P_t = \frac{1}{Bm}\sum_{b=1}^{B}\sum_{e=(i,j)} c_e(s_t^{(b)})^2, \qquad
              c_e = \langle s_is_j\rangle - \langle s_i\rangle\langle s_j\rangle,

    is large when neighbours lock together, which is what slows a block-Gibbs chain (a strongly correlated
    cluster flips only through improbable intermediate states). With :math:`\partial\langle A\rangle/\partial
    \theta_k = \mathrm{Cov}(A, \phi_k)` the gradient collapses to one covariance per conditioning image,

    .. math:: \frac{\partial P_t}{\partial\theta_k} = \frac{2}{Bm}\sum_b \mathrm{Cov}_b\bigl(G_b, \phi_k\bigr),
              \qquad G_b(s) = \sum_e c_e\,(s_i - \langle s_i\rangle)(s_j - \langle s_j\rangle),

    computed here over the :math:`2^n` images with the exact law (:func:`thermoref.dtm.exact_step_law`).

    References
    ----------
    Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like models",
    arXiv:2510.23972 (an adaptive correlation penalty; this penalty is our construction in its spirit).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, exact_penalty
    >>> z = DTM.zeros(2, [0.5], neighbourhood=4)
    >>> dtm = DTM(2, z.edges, [[0.5, 0.0, 0.0, 0.0]], z.biases, z.flip)  # one coupled pair: c = tanh(1/2)
    >>> print(round(exact_penalty(dtm, 1, [0, 0, 0, 0]).value, 6), round(np.tanh(0.5) ** 2 / 4, 6))
    0.053388 0.053388
    """
    dtm = _check_dtm(dtm)
    _check_step(dtm, t)
    S = _enumerated(dtm)
    phi = _statistics(S, dtm.edges)  # (2**n, m + n)
    _, p = exact_step_law(dtm, t, x_t)  # (B, 2**n)
    B, m = p.shape[0], len(dtm.edges)
    if B == 0:
        raise ValueError("x_t: expected at least one conditioning image (the penalty is a mean over them)")
    i, j = dtm.edges[:, 0], dtm.edges[:, 1]
    mean = p @ S  # (B, n)
    c = p @ phi[:, :m] - mean[:, i] * mean[:, j]  # (B, m) connected correlations
    u = _scatter(c * mean[:, i], j, dtm.n) + _scatter(c * mean[:, j], i, dtm.n)  # (B, n)
    G = c @ phi[:, :m].T - u @ S.T  # (B, 2**n), G_b up to a constant
    G -= np.einsum("bs,bs->b", p, G)[:, None]
    grad = (p * G).sum(0) @ phi * (2.0 / (B * max(m, 1)))  # (m + n,)
    return Penalty(float((c ** 2).sum() / (B * max(m, 1))), grad[:m], grad[m:])


def _scatter(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """Sum values (..., m) into n bins along the last axis: out[..., k] = sum of values[..., e] with index[e] = k."""
    A = sparse.csr_array((np.ones(index.size), (np.arange(index.size), index)), shape=(index.size, n))
    flat = values.reshape(-1, index.size) @ A  # (rows, n)
    return np.asarray(flat).reshape(values.shape[:-1] + (n,))


def _penalty_from_spins(S: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unbiased penalty and gradient from chains S (..., R, B, n) in spins: values (...), gradients (..., m + n)."""
    i, j = edges[:, 0], edges[:, 1]
    R, B, m = S.shape[-3], S.shape[-2], len(edges)
    groups = np.array_split(np.arange(R), 3)
    means = [S[..., g, :, :].mean(-3) for g in groups]  # 3 x (..., B, n)
    covs = []
    for g, mu in zip(groups, means):
        D = S[..., g, :, :] - mu[..., None, :, :]  # (..., Rg, B, n)
        covs.append((D[..., i] * D[..., j]).sum(-3) / (len(g) - 1))  # (..., B, m), unbiased c_e
    norm = B * max(m, 1)
    value = sum((covs[a] * covs[b]).sum((-2, -1)) for a, b in ((0, 1), (0, 2), (1, 2))) / (3 * norm)
    grad = 0.0
    for x, y, z in itertools.permutations(range(3)):  # c from x, covariance over y, centring from z
        Y = S[..., groups[y], :, :]  # (..., Ry, B, n)
        D = Y - means[z][..., None, :, :]
        G = (D[..., i] * D[..., j] * covs[x][..., None, :, :]).sum(-1)  # (..., Ry, B)
        G = G - G.mean(-2, keepdims=True)
        phi = _statistics(Y, edges)  # (..., Ry, B, m + n)
        flat = phi.reshape(phi.shape[:-3] + (-1, phi.shape[-1]))  # (..., Ry B, m + n)
        grad = grad + (G.reshape(G.shape[:-2] + (1, -1)) @ flat)[..., 0, :] / (len(groups[y]) - 1)
    return value, grad * (2.0 / (6 * norm))


def correlation_penalty(dtm: DTM, samples: ArrayLike) -> Penalty:
    r"""An unbiased estimate of the correlation penalty and its gradient from independent conditioned draws.

    Parameters
    ----------
    dtm : DTM
        The model (its edges).
    samples : array_like of int, shape (R, B, n)
        ``samples[r, b]`` is a draw of :math:`x_{t-1}` from :math:`p_\theta(\cdot \mid x_t^{(b)})`, the
        :math:`R \ge 6` draws for each conditioning image independent; pixels in {0, 1}.

    Returns
    -------
    Penalty
        Estimates of :math:`P_t` (:func:`exact_penalty`) and of its gradient, (m,) and (n,).

    Notes
    -----
    The draws of each conditioning image are split into three groups :math:`X, Y, Z`: :math:`X` estimates
    :math:`c_e` (the unbiased covariance, divisor :math:`|X| - 1`), :math:`Z` the means
    :math:`\langle s_i\rangle`, and :math:`Y` the covariance of
    :math:`\hat G(s) = \sum_e \hat c_e (s_i - \hat m_i)(s_j - \hat m_j)` with :math:`\phi` (divisor
    :math:`|Y| - 1`). Given :math:`X` and :math:`Z` that covariance is unbiased for
    :math:`\sum_e \hat c_e\,\partial c_e/\partial\theta` with :math:`\hat m` in place of :math:`\langle s\rangle`,
    which is linear in :math:`\hat c_e` and in :math:`\hat c_e \hat m_i`; independent groups make both unbiased,
    so :math:`\mathbb{E}[\widehat{\nabla P}] = \nabla P` exactly. The value uses :math:`\hat c^X_e \hat c^Y_e`.
    Every assignment of roles (6 for the gradient, 3 pairs for the value) is averaged. With draws from a
    Markov chain the estimates are unbiased only as far as the chains have mixed.

    References
    ----------
    Hoeffding, W. (1948) "A class of statistics with asymptotically normal distribution", Ann. Math. Statist.
    19, 293-325 (unbiased estimation of products of moments from independent samples).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import DTM, correlation_penalty
    >>> x = np.random.default_rng(0).integers(0, 2, size=(6, 50, 4))
    >>> print(correlation_penalty(DTM.zeros(2, [0.5]), x).grad_b.shape)
    (4,)
    """
    dtm = _check_dtm(dtm)
    a = np.asarray(samples)
    if a.ndim != 3:
        raise ValueError(f"samples: expected shape (R, B, n), got {a.shape}")
    x = _check_pixels(a.reshape(-1, a.shape[-1]) if a.size else np.zeros((0, a.shape[-1])), "samples", dtm.n)
    if a.shape[0] < _MIN_PENALTY_CHAINS or a.shape[1] == 0:
        raise ValueError(f"samples: expected at least {_MIN_PENALTY_CHAINS} draws (axis 0) for at least one "
                         f"conditioning image (axis 1), got shape {a.shape}")
    check_allocation((a.shape[0], a.shape[1], len(dtm.edges) + dtm.n), "samples")
    value, grad = _penalty_from_spins(_spins(x.reshape(a.shape)), dtm.edges)
    m = len(dtm.edges)
    return Penalty(float(value), grad[:m], grad[m:])


@dataclass(frozen=True)
class TrainingHistory:
    r"""What :func:`train_dtm` measured at each iteration and step, before that iteration's update.

    Attributes
    ----------
    pseudo_log_likelihood : ndarray of float64, shape (n_iterations, T)
        Mean over the batch's pairs and pixels of :math:`\log p_\theta(s_{t-1,i} \mid s_{t-1,\setminus i},
        s_t)`, nats per pixel (Besag's pseudo-likelihood, exact and cheap).
    gradient_norm : ndarray of float64, shape (n_iterations, T)
        Euclidean norm of the estimated log-likelihood gradient of each step.
    autocorrelation : ndarray of float64, shape (n_iterations, T)
        Measured lag-1 autocorrelation of each step's negative chains (:func:`train_dtm`, Notes).
    penalty_weight : ndarray of float64, shape (n_iterations, T)
        The weight :math:`\lambda_t` applied at that iteration.
    penalty_value : ndarray of float64, shape (n_iterations, T), or (0, T) with fewer than 6 chains per image
        Unbiased estimate of the correlation penalty :math:`P_t` (:func:`correlation_penalty`).

    Notes
    -----
    The pseudo-log-likelihood uses :math:`p(s_i \mid \cdot) = \sigma(2 s_i f_i)`,
    :math:`f_i = b_{t,i} + \gamma_t s_{t,i} + \sum_{j \sim i} w_{t,ij} s_j`.

    References
    ----------
    Besag, J. (1975) "Statistical analysis of non-lattice data", Journal of the Royal Statistical Society D
    (The Statistician) 24, 179-195.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import train_dtm
    >>> x0 = np.zeros((8, 4), dtype=np.int8)
    >>> _, hist = train_dtm(x0, [0.5], side=2, n_iterations=3, batch_size=4, learning_rate=0.1, n_sweeps=1, rng=0)
    >>> hist.autocorrelation.shape, hist.penalty_value.shape
    ((3, 1), (0, 1))
    """

    pseudo_log_likelihood: np.ndarray
    gradient_norm: np.ndarray
    autocorrelation: np.ndarray
    penalty_weight: np.ndarray
    penalty_value: np.ndarray


def _block_pattern(edges: np.ndarray, n: int, n_blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR pattern of n_blocks copies of the grid graph: (order of the 2m edge values in a row, indices, indptr)."""
    i, j = edges[:, 0], edges[:, 1]
    rows, cols = np.concatenate([i, j]), np.concatenate([j, i])  # (2m,) one block, both triangles
    order = np.lexsort((cols, rows))
    nnz = rows.size
    base = (np.arange(n_blocks, dtype=np.int64) * n)[:, None]  # (K, 1)
    indices = (cols[order][None, :] + base).ravel()  # (K 2m,)
    start = np.searchsorted(rows[order], np.arange(n))  # (n,) first entry of each row in a block
    indptr = np.append((start[None, :] + (np.arange(n_blocks, dtype=np.int64) * nnz)[:, None]).ravel(), n_blocks * nnz)
    return order, indices, indptr


def _sweeps(unit: SamplingUnit, pattern, weights: np.ndarray, h: np.ndarray, init: np.ndarray, n_sweeps: int,
            rng: np.random.Generator) -> np.ndarray:
    """Chains init (T, R, B, n) in spins, all steps as one block-diagonal model, after n_sweeps sweeps."""
    order, indices, indptr = pattern
    T, R, B, n = init.shape
    w = np.broadcast_to(np.concatenate([weights, weights], 1)[:, None, :], (T, R * B, 2 * weights.shape[1]))
    # fresh index arrays: thermoref.ising.IsingModel prunes explicit zeros of a float64 CSR in place
    J = sparse.csr_array((w[..., order].ravel(), indices.copy(), indptr.copy()), shape=(init.size, init.size))
    s = unit.sample_ising(J, h.ravel(), 1.0, n_sweeps=n_sweeps, n_samples=1, init=init.reshape(1, -1), rng=rng)
    return np.asarray(s, dtype=np.int8).reshape(init.shape)


def _lag_one(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Mean over pixels of the lag-1 autocorrelation of chains (..., R, B, n) in spins -> (...)."""
    axes = (-3,) if before.shape[-3] >= 2 else (-3, -2)  # centre per conditioning image when there are replicas
    a = before - before.mean(axes, keepdims=True)
    c = after - after.mean(axes, keepdims=True)
    cov, va, vc = (a * c).sum((-3, -2)), (a * a).sum((-3, -2)), (c * c).sum((-3, -2))  # (..., n)
    ok = (va > 0) & (vc > 0)
    rho = np.where(ok, cov / np.sqrt(np.where(ok, va * vc, 1.0)), 0.0)
    return rho.sum(-1) / np.maximum(ok.sum(-1), 1)


def _pseudo_log_likelihood(theta: np.ndarray, edges: np.ndarray, gammas: np.ndarray, s_prev: np.ndarray,
                           s_t: np.ndarray) -> np.ndarray:
    """Mean per-pixel conditional pseudo-log-likelihood of pairs (T, B, n) in spins -> (T,)."""
    m, n = len(edges), s_prev.shape[-1]
    i, j = edges[:, 0], edges[:, 1]
    w = theta[:, None, :m]  # (T, 1, m)
    field = (theta[:, None, m:] + gammas[:, None, None] * s_t + _scatter(w * s_prev[..., j], i, n)
             + _scatter(w * s_prev[..., i], j, n))  # (T, B, n)
    return -np.logaddexp(0.0, -2.0 * s_prev * field).mean((-2, -1))


def _adam_ascent(theta: np.ndarray, g: np.ndarray, moments: np.ndarray, k: int, lr: float) -> None:
    """One Adam step up the gradient g, in place (moments: (2,) + theta.shape; k: 1-based step)."""
    b1, b2, eps = _ADAM
    moments[0] = b1 * moments[0] + (1 - b1) * g
    moments[1] = b2 * moments[1] + (1 - b2) * g * g
    theta += lr * (moments[0] / (1 - b1 ** k)) / (np.sqrt(moments[1] / (1 - b2 ** k)) + eps)


def train_dtm(x0: ArrayLike, flip: ArrayLike, *, side: int, neighbourhood: int = 8, n_iterations: int,
              batch_size: int, learning_rate: float | ArrayLike, n_sweeps: int, n_chains: int = 1,
              chain_start: str = "persistent", penalty: float = 0.0, target_autocorrelation: float | None = None,
              penalty_rate: float = 0.1, rng: np.random.Generator | int,
              backend: SamplingUnit | None = None) -> tuple[DTM, TrainingHistory]:
    r"""Train every step of a denoising thermodynamic model by stochastic maximum likelihood (Adam).

    Parameters
    ----------
    x0 : array_like of int, shape (N, n)
        Training images, pixels in {0, 1}, :math:`n` = ``side ** 2``.
    flip : array_like of shape (T,)
        Forward flip probabilities (:func:`thermoref.dtm.flip_schedule`); ``[0.5]`` trains the single
        energy-based model of the data.
    side : int
        Image side.
    neighbourhood : {4, 8, 12, 24}
        Grid neighbourhood of the couplings (:func:`thermoref.dtm.grid_edges`).
    n_iterations : int
        Adam steps, >= 0 (0 returns the all-zero model).
    batch_size : int
        Training images per iteration (drawn with replacement), each noised into one pair per step.
    learning_rate : float or array_like of shape (n_iterations,)
        Adam's step size, in (0, 1]: one for all iterations, or a schedule.
    n_sweeps : int
        Block-Gibbs sweeps of the negative chains per iteration, >= 1.
    n_chains : int
        Negative chains per training pair, >= 1 (>= 6 for the penalty).
    chain_start : {"persistent", "conditioning", "data"}
        Where each iteration's chains start: where the last iteration's ended (persistent contrastive
        divergence; the first iteration starts at :math:`x_t`), at the conditioning image :math:`x_t` (as
        :func:`thermoref.dtm.generate` does), or at the pair's :math:`x_{t-1}` (contrastive divergence).
    penalty : float
        Initial weight :math:`\lambda_t \in [0, 10^6]` of the correlation penalty (0: none).
    target_autocorrelation : float, optional
        Adapt :math:`\lambda_t` towards this lag-1 autocorrelation, in (-1, 1); needs ``penalty > 0``.
        ``None`` keeps :math:`\lambda_t` fixed.
    penalty_rate : float
        :math:`\eta \in (0, 1]`, the factor :math:`1 + \eta` of each adaptation.
    rng : numpy.random.Generator or int
        Source of randomness (batches, forward noise, chains).
    backend : SamplingUnit, optional
        The unit that runs the negative chains (its ledger is charged);
        :class:`thermoref.backend.NumpyBackend` by default.

    Returns
    -------
    dtm : DTM
        The trained model.
    history : TrainingHistory
        Per iteration and step: pseudo-log-likelihood, gradient norm, autocorrelation, penalty weight and value.

    Notes
    -----
    Each iteration draws a batch, noises it with :func:`thermoref.dtm.forward_path` into pairs
    :math:`(x_{t-1}, x_t)` for every step, runs ``n_chains`` chains per pair for ``n_sweeps`` sweeps (all
    steps at once: one block-diagonal Ising model of :math:`T \cdot R \cdot B` blocks, each with its step's
    couplings and the fields :math:`b_t + \gamma_t s_t`, in one backend call), and ascends

    .. math:: g_t = \widehat{\nabla_{\theta_t}\bar\ell_t} - \lambda_t\,\widehat{\nabla_{\theta_t} P_t}

    (:func:`log_likelihood_gradient`, :func:`correlation_penalty`) with Adam: :math:`b_1 = 0.9`,
    :math:`b_2 = 0.999`, :math:`\epsilon = 10^{-8}`, bias-corrected moments (Kingma & Ba 2015). The lag-1
    autocorrelation of step :math:`t` is measured by one more sweep (a second, smaller backend call) of the
    chains of its first :math:`\min(B, 64)` pairs, :math:`\rho_t = \frac1n\sum_i
    \mathrm{corr}(s_i^{(k)}, s_i^{(k+1)})`, the pixels' covariances taken within each conditioning image (over
    its replicas) when ``n_chains >= 2``; with one chain per pair they are pooled over the batch, exact for the
    single model (every chain has the same law) but an overestimate for a conditioned step, whose chains'
    means differ. Pixels that never move are left out. With a target :math:`\rho^*`, after each iteration
    :math:`\lambda_t \leftarrow \lambda_t (1 + \eta)^{\pm 1}`, up if :math:`\rho_t > \rho^*`, kept within
    :math:`[10^{-6}, 10^6]` times ``penalty``: our construction in the spirit of the adaptive correlation
    penalty of Jelinčič et al. (2025), whose exact rule may differ. The penalty's estimate is unbiased when the
    ``n_chains`` chains of a pair are independent equilibrium draws: with persistent chains they decorrelate
    across iterations; started together at ``"conditioning"`` or ``"data"`` they need enough sweeps to.

    References
    ----------
    Tieleman, T. (2008) "Training restricted Boltzmann machines using approximations to the likelihood
    gradient", ICML. Hinton, G. E. (2002) "Training products of experts by minimizing contrastive divergence",
    Neural Computation 14, 1771-1800. Kingma, D. P. & Ba, J. (2015) "Adam: a method for stochastic
    optimization", ICLR. Besag, J. (1975) "Statistical analysis of non-lattice data", The Statistician 24,
    179-195. Jelinčič, A. et al. (2025) "An efficient probabilistic hardware architecture for diffusion-like
    models", arXiv:2510.23972.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.dtm import train_dtm
    >>> x0 = np.array([[1, 1, 0, 0], [0, 0, 1, 1]] * 50, dtype=np.int8)  # two stripes
    >>> dtm, hist = train_dtm(x0, [0.5], side=2, n_iterations=100, batch_size=50, learning_rate=0.05,
    ...                       n_sweeps=2, rng=0)
    >>> print(np.sign(dtm.weights))  # edges (0,1), (2,3) aligned, the rest anti-aligned
    [[ 1. -1. -1. -1. -1.  1.]]
    """
    edges = grid_edges(side, neighbourhood)
    L, m = int(side), len(edges)
    n = L * L
    x = _check_pixels(x0, "x0", n)
    if x.shape[0] == 0:
        raise ValueError("x0: expected at least one training image")
    q = _check_flip(flip)
    T, gammas = q.size, _gamma(q)  # exactly DTM.gammas
    n_it = check_positive_int(n_iterations, "n_iterations", minimum=0)
    B = check_positive_int(batch_size, "batch_size")
    check_allocation((T + 1, B, m + n), "batch_size")
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    R = check_positive_int(n_chains, "n_chains")
    check_allocation((T, R, B, 2 * m + n), "n_chains")
    check_work(T * R * B * n * n_sweeps, "n_sweeps")
    check_work(T * R * B * n * n_sweeps * n_it, "n_iterations")
    lr = as_float_array(learning_rate, "learning_rate")
    if lr.ndim > 1 or (lr.ndim == 1 and lr.size != n_it):
        raise ValueError(f"learning_rate: expected a number or shape ({n_it},) (one per iteration), got {lr.shape}")
    if not ((lr > 0) & (lr <= 1)).all():
        raise ValueError("learning_rate: must lie in (0, 1] (Adam moves each parameter by about this much)")
    lr = np.broadcast_to(lr, (n_it,))
    if not isinstance(chain_start, str) or chain_start not in _CHAIN_STARTS:
        raise ValueError(f"chain_start: expected one of {_CHAIN_STARTS}, got {chain_start!r}")
    lam0 = check_real(penalty, "penalty", nonnegative=True)
    if lam0 > _MAX_PENALTY:
        raise ValueError(f"penalty: must be <= {_MAX_PENALTY:g}, got {lam0!r}")
    if lam0 > 0 and R < _MIN_PENALTY_CHAINS:
        raise ValueError(f"n_chains: the correlation penalty needs >= {_MIN_PENALTY_CHAINS} chains per pair, got {R}")
    if target_autocorrelation is not None:
        target = check_real(target_autocorrelation, "target_autocorrelation")
        if not -1 < target < 1 or lam0 == 0:
            raise ValueError(f"target_autocorrelation: must lie in (-1, 1), with penalty > 0 (the adaptation "
                             f"multiplies the weight), got {target!r} with penalty {lam0!r}")
    eta = check_real(penalty_rate, "penalty_rate", positive=True)
    if eta > 1:
        raise ValueError(f"penalty_rate: must be <= 1, got {eta!r}")
    unit, rng = _check_backend(backend), as_rng(rng)

    theta, moments = np.zeros((T, m + n)), np.zeros((2, T, m + n))  # (w_t, b_t) of each step
    lam = np.full(T, lam0)
    hist = np.zeros((4, n_it, T))  # pll, gradient norm, autocorrelation, penalty weight
    values = np.zeros((n_it if R >= _MIN_PENALTY_CHAINS else 0, T))
    b = min(B, _MONITORED)
    pattern, monitor = _block_pattern(edges, n, T * R * B), _block_pattern(edges, n, T * R * b)
    chains = None
    for it in range(n_it):  # iterations are sequential: each starts from the last one's parameters
        path = forward_path(x[rng.integers(0, x.shape[0], size=B)], q, rng=rng)  # (T + 1, B, n)
        s_prev, s_t = _spins(path[:-1]), _spins(path[1:])  # (T, B, n)
        if chains is None or chain_start != "persistent":
            chains = np.broadcast_to((path[:-1] if chain_start == "data" else path[1:])[:, None], (T, R, B, n))
            chains = (2 * chains - 1).astype(np.int8)  # (T, R, B, n) spins
        h = np.broadcast_to(theta[:, None, None, m:] + gammas[:, None, None, None] * s_t[:, None], (T, R, B, n))
        chains = _sweeps(unit, pattern, theta[:, :m], h, chains, n_sweeps, rng)
        S = chains.astype(np.float64)  # (T, R, B, n)
        later = _sweeps(unit, monitor, theta[:, :m], h[:, :, :b], chains[:, :, :b], 1, rng)  # one more sweep
        g = _statistics(s_prev, edges).mean(1) - _statistics(S, edges).mean((1, 2))  # (T, m + n)
        hist[0, it] = _pseudo_log_likelihood(theta, edges, gammas, s_prev, s_t)
        hist[1, it] = np.sqrt((g * g).sum(1))
        hist[2, it] = _lag_one(S[:, :, :b], later.astype(np.float64))
        hist[3, it] = lam
        if values.shape[0]:
            values[it], grad_p = _penalty_from_spins(S, edges)
            g = g - lam[:, None] * grad_p
        _adam_ascent(theta, g, moments, it + 1, float(lr[it]))
        if target_autocorrelation is not None:
            lam = np.clip(lam * (1 + eta) ** np.where(hist[2, it] > target, 1.0, -1.0), lam0 / _MAX_PENALTY,
                          lam0 * _MAX_PENALTY)
    history = TrainingHistory(hist[0], hist[1], hist[2], hist[3], values)
    return DTM(L, edges, theta[:, :m], theta[:, m:], q), history
