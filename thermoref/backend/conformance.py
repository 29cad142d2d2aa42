r"""The conformance suite: does a sampling unit draw from the law it claims? One call, a report, a verdict.

:func:`run_conformance` runs every check of :data:`CONFORMANCE_CHECKS` against any object implementing
:class:`~thermoref.backend.SamplingUnit` (the NumPy reference, exact enumeration, an accelerator adapter, a
chip behind a driver) and returns a :class:`ConformanceReport`; :func:`conformance_test` turns the same checks
into a parametrized pytest test for a hardware team's own CI.

Each statistical check is a stated statistic with a stated null distribution, compared with an exact law
computed here by enumeration or closed form (never by the package's samplers), at a per-check level that
splits the family-wise false-positive rate :math:`\alpha` equally (Bonferroni) over the statistical checks
run; its sample size is computed from :math:`\alpha` so that it rejects the bug it is sized for with
probability at least 0.99 (:func:`thermoref.testing.chi_square_power`, :func:`thermoref.testing.z_sample_size`).
The deterministic checks (seed determinism, shapes and dtypes, bad input) have no false positives.

Joint statistics matter: a unit that redraws every spin at once from the old state (synchronous updates) has
exact single-spin marginals on a bipartite graph and is wrong only in its correlations, so the suite tests the
full :math:`2^n` joint law and every pair correlation, not only marginals.

References: Cochran, W. G. (1952) Ann. Math. Stat. 23, 315; Geman, S. & Geman, D. (1984) IEEE PAMI 6, 721;
Bonferroni, C. E. (1936) Pubbl. R. Ist. Sup. Sci. Econ. Commer. Firenze 8, 3.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse, special, stats

from .._validation import as_rng, check_callable, check_probability
from ..pbit import synchronous_stationary_law
from ..testing import chi_square_power, chi_square_test, enumerate_states, state_index, z_sample_size
from . import _conformance_cases as cases
from .protocol import SamplingUnit

__all__ = ["CONFORMANCE_CHECKS", "CheckResult", "ConformanceReport", "run_conformance", "conformance_test"]

#: Names of the checks, in the order :func:`run_conformance` runs and reports them.
CONFORMANCE_CHECKS = ("ising_joint_law", "ising_pair_correlations", "ising_beta_scaling", "binary_frequencies",
                      "categorical_large", "gaussian_moments", "custom_energy", "seed_determinism",
                      "shapes_and_dtypes", "bad_input")
_DETERMINISTIC = ("seed_determinism", "shapes_and_dtypes", "bad_input")
_N_STATISTICAL = len(CONFORMANCE_CHECKS) - len(_DETERMINISTIC)
_POWER = 0.99  # every statistical check rejects the bug it is sized for with at least this probability
_N_SWEEPS = 60  # Ising sweeps from all +1 (block Gibbs: total variation < 1e-4 from the law after 60 sweeps)
_N_STEPS = 80  # single-site steps of the custom chains from all 0 (random scan: total variation < 1e-5)
_SLOW = 0.95  # the sized bug: a unit running at 0.95 beta (a 5 % temperature error)
_MIN_ALPHA = 1e-12


@dataclass(frozen=True)
class CheckResult:
    r"""The outcome of one conformance check.

    Attributes
    ----------
    name : str
        The check's name (one of :data:`CONFORMANCE_CHECKS`).
    description : str
        What it tests, in one sentence.
    statistic_name : str
        The statistic and, for a check made of several tests, the worst one ("X2 (af_triangle)").
    statistic : float
        Its value (``inf`` when an impossible outcome was observed; a count of failures for deterministic checks).
    pvalue : float or None
        Bonferroni-adjusted p-value, :math:`\min(1, m\,p_{\min})` over the check's :math:`m` tests (``None``
        for a deterministic check).
    alpha : float
        The check's false-positive rate (0 for a deterministic check).
    n_draws : int
        Draws behind the statistic (calls made, for a deterministic check).
    sized_for : str
        The bug the sample size was chosen to catch.
    power : float or None
        A lower bound on the probability of rejecting that bug at this sample size (``None`` for a
        deterministic check).
    passed : bool
        The verdict.
    detail : str
        Which sub-test was worst, or what failed.

    Notes
    -----
    A check made of :math:`k` tests with p-values :math:`p_1, \dots, p_k` reports
    :math:`p = \min(1, k \min_j p_j)` and passes when :math:`p \ge \alpha`: each test runs at
    :math:`\alpha/k`, so a correct unit fails the check with probability at most :math:`\alpha`. ``power``
    is a lower bound on the probability of rejecting the sized bug: the largest power among the tests.

    References
    ----------
    Bonferroni, C. E. (1936) "Teoria statistica delle classi e calcolo delle probabilità", Pubbl. R. Ist.
    Sup. Sci. Econ. Commer. Firenze 8, 3-62.

    Examples
    --------
    >>> from thermoref.backend import NumpyBackend, run_conformance
    >>> r = run_conformance(NumpyBackend(), checks=("gaussian_moments",)).results[0]
    >>> print(r.statistic_name, r.n_draws, r.passed, r.power >= 0.99)
    X2 moments (precision) 20608 True True
    """

    name: str
    description: str
    statistic_name: str
    statistic: float
    pvalue: float | None
    alpha: float
    n_draws: int
    sized_for: str
    power: float | None
    passed: bool
    detail: str


@dataclass(frozen=True)
class ConformanceReport:
    r"""The verdict of :func:`run_conformance` on one sampling unit: one :class:`CheckResult` per check.

    Attributes
    ----------
    backend : str
        ``repr`` of the unit tested.
    alpha : float
        The family-wise false-positive rate of the statistical checks run.
    results : tuple of CheckResult
        One result per check, in the order of :data:`CONFORMANCE_CHECKS`.
    seconds : float
        Wall time of the run (not printed, so that printed reports are reproducible).

    Notes
    -----
    With :math:`m` statistical checks at :math:`\alpha/m` each, Boole's inequality bounds the probability
    that a correct unit fails any of them: :math:`P(\text{any false rejection}) \le m \cdot \alpha/m =
    \alpha`, whatever the dependence between the checks. ``passed`` is the verdict at that family-wise rate.

    References
    ----------
    Bonferroni, C. E. (1936) "Teoria statistica delle classi e calcolo delle probabilità", Pubbl. R. Ist.
    Sup. Sci. Econ. Commer. Firenze 8, 3-62.

    Examples
    --------
    >>> from thermoref.backend import NumpyBackend, run_conformance
    >>> from thermoref.backend.broken import ReturnsInputUnit
    >>> report = run_conformance(ReturnsInputUnit(), checks=("binary_frequencies", "seed_determinism"))
    >>> report.passed, report.failed
    (False, ('binary_frequencies', 'seed_determinism'))
    """

    backend: str
    alpha: float
    results: tuple[CheckResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the checks that failed, in report order."""
        return tuple(r.name for r in self.results if not r.passed)

    def table(self) -> str:
        r"""The report as a plain-text table: check, statistic, value, adjusted p, level, draws, power, verdict.

        Returns
        -------
        str
            One header line and one line per check; ``-`` where a column does not apply.

        Notes
        -----
        A statistical check fails when its Bonferroni-adjusted p-value :math:`\min(1, m\,p_{\min})` is below
        its level :math:`\alpha_\text{check}`; a deterministic one when its count of failures is not zero.

        References
        ----------
        Bonferroni, C. E. (1936) "Teoria statistica delle classi e calcolo delle probabilità", Pubbl. R. Ist.
        Sup. Sci. Econ. Commer. Firenze 8, 3-62.

        Examples
        --------
        >>> from thermoref.backend import NumpyBackend, run_conformance
        >>> print(run_conformance(NumpyBackend(), checks=("shapes_and_dtypes",)).table())
        check                    statistic                      value   p (adj.)  alpha/check    draws  power  verdict
        shapes_and_dtypes        failures                           0          -            0        8      -  pass
        """
        head = (f"{'check':<24} {'statistic':<27} {'value':>8} {'p (adj.)':>10} {'alpha/check':>12} {'draws':>8} "
                f"{'power':>6}  verdict")
        lines = [head]
        for r in self.results:
            p = "-" if r.pvalue is None else f"{r.pvalue:.3g}"
            pw = "-" if r.power is None else f"{r.power:.3f}"
            lines.append(f"{r.name:<24} {r.statistic_name:<27} {r.statistic:>8.4g} {p:>10} {r.alpha:>12.3g} "
                         f"{r.n_draws:>8} {pw:>6}  {'pass' if r.passed else 'FAIL'}")
        return "\n".join(lines)

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else f"FAILED ({', '.join(self.failed)})"
        fails = [f"  {r.name}: {r.detail}" for r in self.results if not r.passed]
        return "\n".join([f"conformance of {self.backend} at family-wise alpha={self.alpha:g}: {verdict}",
                          self.table(), *fails])


class _BackendFailed(Exception):
    """The unit raised, or returned something malformed, during a statistical check: the check fails."""


# ----------------------------------------------------------------------------------------------------------
# Sizing: the smallest number of draws that catches the sized bug with probability _POWER
# ----------------------------------------------------------------------------------------------------------
_SIZES: dict[tuple[str, float], int] = {}  # (what, level) -> K: the sizes depend on the level only


def _smallest(key: str, alpha: float, power_of: Callable[[int], float], start: int = 64) -> int:
    """Smallest K (to 1 %) with power_of(K) >= _POWER, for power increasing in K: doubling, then bisection."""
    if (key, alpha) in _SIZES:
        return _SIZES[key, alpha]
    lo, hi = start // 2, start
    while _safe(power_of, hi) < _POWER:
        lo, hi = hi, hi * 2
    while hi - lo > max(1, lo // 100):
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _safe(power_of, mid) < _POWER else (lo, mid)
    _SIZES[key, alpha] = hi
    return hi


def _safe(power_of: Callable[[int], float], k: int) -> float:
    """power_of(k), or 0 when k draws are too few for a chi-square at all (every bin pooled into one)."""
    try:
        return power_of(k)
    except ValueError:
        return 0.0


def _z_power(delta: float, sd0: float, sd1: float, K: int, alpha: float) -> float:
    """Power of a two-sided z-test (null sd sd0) against a shift delta with alternative sd sd1, K draws."""
    z = stats.norm.isf(alpha / 2)
    root = np.sqrt(K)
    shift = abs(delta) * root
    return float(stats.norm.sf((z * sd0 - shift) / sd1) + stats.norm.cdf((-z * sd0 - shift) / sd1))


class _Run:
    """One run: the unit, the per-check level, the seed base and the Ising draws shared by two checks."""

    def __init__(self, backend: SamplingUnit, alpha_check: float, base: int) -> None:
        self.backend, self.alpha, self.base, self.ising = backend, alpha_check, base, {}

    def seed(self, key: str) -> int:
        """A seed for the draws named ``key``, the same whichever checks are run."""
        ss = np.random.SeedSequence(self.base, spawn_key=(zlib.crc32(key.encode()),))
        return int(ss.generate_state(1, np.uint64)[0])

    def call(self, method: str, *args: object, **kwargs: object) -> np.ndarray:
        try:
            return np.asarray(getattr(self.backend, method)(*args, **kwargs))
        except Exception as exc:  # a unit that raises on valid input fails the check, it does not stop the suite
            raise _BackendFailed(f"{method} raised {type(exc).__name__}: {exc}") from exc


def _expect(out: np.ndarray, shape: tuple[int, ...], allowed: Callable[[np.ndarray], np.ndarray], what: str) -> None:
    if out.shape != shape:
        raise _BackendFailed(f"{what} returned shape {out.shape}, expected {shape}")
    try:
        ok = bool(np.all(allowed(out)))
    except (TypeError, ValueError):  # an output that is not numeric at all
        ok = False
    if not ok:
        raise _BackendFailed(f"{what} returned values outside its documented set")


def _is_spin(x: np.ndarray) -> np.ndarray:
    return (x == 1) | (x == -1)


def _ising_draws(run: _Run, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(states (K, n) of the model's chains, exact law p, K), K sized against the 5 % temperature error."""
    if name not in run.ising:
        J, h, beta, as_sparse = cases.MODELS[name]
        p, _, _ = cases.ising_law(J, h, beta)
        q, _, _ = cases.ising_law(J, h, _SLOW * beta)
        a = run.alpha / len(cases.MODELS)
        K = _smallest("ising:" + name, a, lambda k: chi_square_power(p, q, k, alpha=a))
        Jarg = sparse.csr_array(J) if as_sparse else J
        s = run.call("sample_ising", Jarg, h, beta, n_sweeps=_N_SWEEPS, n_samples=K, init=np.ones(h.size, np.int8),
                     rng=run.seed("ising:" + name))
        _expect(s, (K, h.size), _is_spin, "sample_ising")
        run.ising[name] = (s, p, K)
    return run.ising[name]


def _combine(name: str, description: str, tests: list[tuple[str, float, float]], n_draws: int, sized_for: str,
             power: float, alpha: float) -> CheckResult:
    """A check made of m tests (label, statistic, p-value), each at alpha/m: Bonferroni-adjusted verdict."""
    m = len(tests)
    label, stat, p = min(tests, key=lambda t: t[2])
    p_adj = min(1.0, m * p)
    return CheckResult(name, description, label, float(stat), p_adj, alpha, n_draws, sized_for, power,
                       bool(p_adj >= alpha), f"worst of {m} tests: {label}, statistic {stat:.4g}, p {p:.3g}")


# ----------------------------------------------------------------------------------------------------------
# The statistical checks
# ----------------------------------------------------------------------------------------------------------
def _check_ising_joint_law(run: _Run) -> CheckResult:
    """Pearson chi-square of the 2**n histogram of K chains against the enumerated law, per model."""
    tests, powers, draws = [], [], 0
    for name, (J, h, beta, _) in cases.MODELS.items():
        s, p, K = _ising_draws(run, name)
        r = chi_square_test(np.bincount(state_index(s), minlength=p.size), p, alpha=run.alpha / len(cases.MODELS))
        tests.append((f"X2 ({name})", r.statistic, r.pvalue))
        q = cases.ising_law(J, h, _SLOW * beta)[0]
        powers.append(chi_square_power(p, q, K, alpha=run.alpha / len(cases.MODELS)))
        draws += K
    return _combine("ising_joint_law", "the full 2^n joint law of Ising chains started at all +1, by enumeration",
                    tests, draws, "beta 5 % low", max(powers), run.alpha)


def _check_ising_pair_correlations(run: _Run) -> CheckResult:
    """z-test of every pair correlation <s_i s_j> against enumeration, exact variance 1 - c^2 of s_i s_j."""
    tests, powers, draws = [], [], 0
    m = sum(h.size * (h.size - 1) // 2 for _, h, _, _ in cases.MODELS.values())
    for name, (J, h, beta, _) in cases.MODELS.items():
        s, p, K = _ising_draws(run, name)
        states = enumerate_states(h.size).astype(np.float64)
        iu = np.triu_indices(h.size, 1)
        c = (p @ (states[:, :, None] * states[:, None, :]).reshape(p.size, -1)).reshape(h.size, h.size)[iu]
        sf = s.astype(np.float64)
        z = ((sf.T @ sf / K)[iu] - c) / np.sqrt((1 - c**2) / K)
        tests += [(f"z <s{i}s{j}> ({name})", z[k], float(2 * stats.norm.sf(abs(z[k]))))
                  for k, (i, j) in enumerate(zip(*iu))]
        q = synchronous_stationary_law(J, h, beta=beta)  # the sized bug: every spin redrawn at once
        cq = (q @ (states[:, :, None] * states[:, None, :]).reshape(q.size, -1)).reshape(h.size, h.size)[iu]
        j = int(np.argmax(np.abs(cq - c)))
        powers.append(_z_power(cq[j] - c[j], np.sqrt(1 - c[j]**2), np.sqrt(1 - cq[j]**2), K, run.alpha / m))
        draws += K
    return _combine("ising_pair_correlations", "every pair correlation <s_i s_j> (synchronous updates keep "
                    "marginals, not pairs)", tests, draws, "synchronous updates", max(powers), run.alpha)


def _check_ising_beta_scaling(run: _Run) -> CheckResult:
    """z-test of the mean energy of a 4x4 torus at three betas against enumeration, exact Var(E)."""
    tests, powers, draws = [], [], 0
    a = run.alpha / len(cases.BETAS)
    for beta in cases.BETAS:
        p, E, _ = cases.ising_law(cases.TORUS, np.zeros(16), beta)
        U, sd = float(p @ E), float(np.sqrt(p @ (E - p @ E) ** 2))
        pq, _, _ = cases.ising_law(cases.TORUS, np.zeros(16), _SLOW * beta)
        delta = float(pq @ E) - U
        K = z_sample_size(delta, sd, alpha=a, power=_POWER)
        s = run.call("sample_ising", cases.TORUS, np.zeros(16), beta, n_sweeps=_N_SWEEPS, n_samples=K,
                     init=np.ones(16, np.int8), rng=run.seed(f"torus:{beta}"))
        _expect(s, (K, 16), _is_spin, "sample_ising")
        sf = s.astype(np.float64)
        e = -0.5 * np.einsum("ki,ij,kj->k", sf, cases.TORUS, sf)  # (K,)
        z = (e.mean() - U) / (sd / np.sqrt(K))
        tests.append((f"z of <E> (beta={beta:g})", z, float(2 * stats.norm.sf(abs(z)))))
        powers.append(_z_power(delta, sd, sd, K, a))
        draws += K
    return _combine("ising_beta_scaling", "the mean energy of a 4x4 torus at three betas (the temperature scale)",
                    tests, draws, "beta 5 % low", max(powers), run.alpha)


def _check_binary_frequencies(run: _Run) -> CheckResult:
    """Chi-square of the ones of 32 p-bits (P(1) from 0.005 to 0.995), R draws each, summed over bits."""
    p1 = special.expit(cases.BIN_BETA * cases.BIN_LOGITS)
    P = np.stack([1 - p1, p1], axis=-1)  # (32, 2)
    q1 = special.expit(_SLOW * cases.BIN_BETA * cases.BIN_LOGITS)
    Q = np.stack([1 - q1, q1], axis=-1)  # (32, 2), the law at 0.95 beta
    R = _smallest("binary", run.alpha, lambda k: chi_square_power(P, Q, k, alpha=run.alpha))
    x = run.call("sample_binary", np.broadcast_to(cases.BIN_LOGITS, (R, 32)), cases.BIN_BETA, rng=run.seed("binary"))
    _expect(x, (R, 32), lambda v: (v == 0) | (v == 1), "sample_binary")
    ones = (x == 1).sum(axis=0)
    r = chi_square_test(np.stack([R - ones, ones], -1), P, alpha=run.alpha)
    return _combine("binary_frequencies", "frequencies of 32 p-bits against sigmoid(beta * logits), beta = 1.3",
                    [(f"X2 (dof {r.dof})", r.statistic, r.pvalue)], R * 32, "beta 5 % low",
                    chi_square_power(P, Q, R, alpha=run.alpha), run.alpha)


def _check_categorical_large(run: _Run) -> CheckResult:
    """Chi-square of 4096-category draws, per row and per slot group (slot parity x first/second half)."""
    z = cases.categorical_logits()
    R = z.shape[0]
    P = np.repeat(cases.softmax_rows(z, cases.CAT_BETA), 4, axis=0)  # (4R, 4096): R rows x 4 slot groups
    Q = np.repeat(cases.softmax_rows(z, _SLOW * cases.CAT_BETA), 4, axis=0)
    Kg = _smallest("categorical", run.alpha, lambda k: chi_square_power(P, Q, k, alpha=run.alpha), start=1024)
    S = 4 * Kg
    x = run.call("sample_categorical", z, cases.CAT_BETA, S, rng=run.seed("categorical"))
    _expect(x, (R, S), lambda v: (v >= 0) & (v < 4096) & (v == np.round(v)), "sample_categorical")
    slot = np.arange(S)
    group = np.arange(R)[:, None] * 4 + (slot % 2) + 2 * (slot >= S // 2)  # (R, S)
    counts = np.bincount((group * 4096 + x.astype(np.int64)).ravel(), minlength=4 * R * 4096).reshape(4 * R, 4096)
    r = chi_square_test(counts, P, alpha=run.alpha)
    return _combine("categorical_large", "4096 categories (mass beyond 255, masked ones) at beta = 0.8, each "
                    "slot group", [(f"X2 (dof {r.dof})", r.statistic, r.pvalue)], R * S, "beta 5 % low",
                    chi_square_power(P, Q, Kg, alpha=run.alpha), run.alpha)


def _gaussian_statistic(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> float:
    """K|ybar|^2 + sum_i K(M_ii - 1)^2/2 + sum_{i<j} K M_ij^2, y the whitened draws, M = y'y/K."""
    y = linalg.solve_triangular(linalg.cholesky(cov, lower=True), (x - mean).T, lower=True).T  # (K, d)
    K, d = y.shape
    M = y.T @ y / K
    iu = np.triu_indices(d, 1)
    return float(K * (y.mean(axis=0) @ y.mean(axis=0)) + K * np.sum((np.diag(M) - 1) ** 2) / 2 + K * np.sum(M[iu] ** 2))


def _check_gaussian_moments(run: _Run) -> CheckResult:
    """Moment chi-square (mean and second moments of whitened draws) for form='cov' and form='precision'."""
    d = cases.GAUSS_MEAN.size
    dof = d + d * (d + 1) // 2
    a = run.alpha / 2
    crit = stats.chi2.isf(a, dof)
    lam = d * (1 / _SLOW - 1) ** 2 / 2  # noncentrality per draw of a covariance scaled by 1/0.95
    power_of = lambda k: float(stats.ncx2.sf(crit, dof, k * lam))  # noqa: E731
    K = _smallest("gaussian", a, power_of)
    tests = []
    forms = (("cov", cases.GAUSS_COV, cases.GAUSS_COV), ("precision", cases.GAUSS_PREC, linalg.inv(cases.GAUSS_PREC)))
    for form, M, cov in forms:
        x = run.call("sample_gaussian", cases.GAUSS_MEAN, M, size=K, form=form, rng=run.seed("gauss:" + form))
        _expect(x, (K, d), np.isfinite, "sample_gaussian")
        t = _gaussian_statistic(x.astype(np.float64), cases.GAUSS_MEAN, cov)
        tests.append((f"X2 moments ({form})", t, float(stats.chi2.sf(t, dof))))
    return _combine("gaussian_moments", "mean and covariance of N(mu, Sigma) given as cov and as precision",
                    tests, 2 * K, "covariance 1/0.95 too wide", power_of(K), run.alpha)


def _check_custom_energy(run: _Run) -> CheckResult:
    """Chi-square of the 81-state histogram of random-scan chains on a 3-state clock ring, by enumeration."""
    beta = 1.1
    p, q = cases.custom_law(beta), cases.custom_law(_SLOW * beta)
    K = _smallest("custom", run.alpha, lambda k: chi_square_power(p, q, k, alpha=run.alpha))
    x = run.call("sample_custom", cases.custom_energy, np.zeros((K, 4), np.int64), n_steps=_N_STEPS,
                 beta=beta, n_values=3, rng=run.seed("custom"))
    _expect(x, (K, 4), lambda v: (v >= 0) & (v <= 2) & (v == np.round(v)), "sample_custom")
    idx = x.astype(np.int64) @ (3 ** np.arange(3, -1, -1))
    r = chi_square_test(np.bincount(idx, minlength=81), p, alpha=run.alpha)
    return _combine("custom_energy", "a user energy over 4 sites of 3 values (81 states) at beta = 1.1",
                    [(f"X2 (dof {r.dof})", r.statistic, r.pvalue)], K, "beta 5 % low",
                    chi_square_power(p, q, K, alpha=run.alpha), run.alpha)


# ----------------------------------------------------------------------------------------------------------
# The deterministic checks
# ----------------------------------------------------------------------------------------------------------
def _deterministic(name: str, description: str, failures: list[str], calls: int, sized_for: str) -> CheckResult:
    return CheckResult(name, description, "failures", float(len(failures)), None, 0.0, calls, sized_for, None,
                       not failures, "; ".join(failures[:4]) or "all cases as documented")


def _try(run: _Run, method: str, args: tuple, kwargs: dict) -> tuple[np.ndarray | None, str | None]:
    try:
        return run.call(method, *args, **kwargs), None
    except _BackendFailed as exc:
        return None, str(exc)


def _check_seed_determinism(run: _Run) -> CheckResult:
    """Same seed (int or fresh Generator): identical output; different seed: different draws."""
    failures, calls = [], 0
    for label, (method, args, kw) in cases.small_calls().items():
        a, e1 = _try(run, method, args, dict(kw, rng=123))
        b, e2 = _try(run, method, args, dict(kw, rng=np.random.default_rng(123)))
        c, e3 = _try(run, method, args, dict(kw, rng=124))
        calls += 3
        if e1 or e2 or e3:
            failures.append(f"{label}: {e1 or e2 or e3}")
        elif not (a.shape == b.shape and np.array_equal(a, b)):
            failures.append(f"{label}: seed 123 twice gave different output")
        elif a.shape == c.shape and np.array_equal(a, c):
            failures.append(f"{label}: seeds 123 and 124 gave identical output (draws ignore the seed)")
    return _deterministic("seed_determinism", "same seed -> same bits; another seed -> other draws", failures,
                          calls, "hidden or ignored entropy")


def _check_shapes_and_dtypes(run: _Run) -> CheckResult:
    """Shapes, dtypes and value sets of every method; inputs left unmodified; a masked category never drawn."""
    spec = {"sample_ising": (np.int8, _is_spin), "sample_binary": (np.int8, lambda v: (v == 0) | (v == 1)),
            "sample_categorical": (np.int64, lambda v: (v >= 0) & (v < 300) & (v != 5)),
            "sample_gaussian": (np.float64, np.isfinite), "sample_custom": (np.int64, lambda v: (v >= 0) & (v < 3))}
    shapes = {"ising": (20, 6), "ising sparse": (20, 6), "binary": (4, 16), "categorical": (2, 40),
              "gaussian cov": (7, 4), "gaussian precision": (7, 4), "custom": (20, 4)}
    calls = cases.small_calls()
    calls["categorical"][1][0][:, 5] = -np.inf  # a masked category
    calls["ising init"] = ("sample_ising", (cases.ring(6), np.zeros(6), 0.5),
                           dict(n_sweeps=3, n_samples=20, init=np.ones(6, np.int8)))
    shapes["ising init"] = (20, 6)
    failures = []
    for label, (method, args, kw) in calls.items():
        before = [np.copy(v) for v in (*args, *kw.values()) if isinstance(v, np.ndarray)]
        out, err = _try(run, method, args, dict(kw, rng=7))
        dtype, ok = spec[method]
        if err:
            failures.append(f"{label}: {err}")
        elif out.shape != shapes[label] or out.dtype != dtype:
            failures.append(f"{label}: got {out.dtype} {out.shape}, expected {np.dtype(dtype)} {shapes[label]}")
        elif not bool(np.all(ok(out))):
            failures.append(f"{label}: values outside the documented set")
        elif not all(np.array_equal(u, v) for u, v in zip(before, [v for v in (*args, *kw.values())
                                                                  if isinstance(v, np.ndarray)])):
            failures.append(f"{label}: modified its input in place")
    return _deterministic("shapes_and_dtypes", "shapes, dtypes ({-1,+1} int8 spins, {0,1} int8 bits, int64 "
                          "indices, float64) and untouched inputs", failures, len(calls), "wrong conventions")


def _check_bad_input(run: _Run) -> CheckResult:
    """Every invalid call raises ValueError or TypeError whose message starts with 'name:'."""
    failures = []
    calls = cases.bad_calls()
    for param, method, args, kw in calls:
        try:
            getattr(run.backend, method)(*args, **kw)
            failures.append(f"{method} accepted a bad {param}")
        except (ValueError, TypeError) as exc:
            if not str(exc).startswith(f"{param}:"):
                failures.append(f"{method}: bad {param} raised {str(exc)[:60]!r}, not naming {param!r}")
        except Exception as exc:  # any other type is a finding about the unit, reported, not raised
            failures.append(f"{method}: bad {param} raised {type(exc).__name__}")
    return _deterministic("bad_input", "invalid arguments refused with ValueError/TypeError naming the "
                          "parameter", failures, len(calls), "silent acceptance of bad input")


_CHECKS: dict[str, Callable[[_Run], CheckResult]] = {
    "ising_joint_law": _check_ising_joint_law, "ising_pair_correlations": _check_ising_pair_correlations,
    "ising_beta_scaling": _check_ising_beta_scaling, "binary_frequencies": _check_binary_frequencies,
    "categorical_large": _check_categorical_large, "gaussian_moments": _check_gaussian_moments,
    "custom_energy": _check_custom_energy, "seed_determinism": _check_seed_determinism,
    "shapes_and_dtypes": _check_shapes_and_dtypes, "bad_input": _check_bad_input}


def _failed(name: str, exc: _BackendFailed, alpha: float) -> CheckResult:
    return CheckResult(name, "the unit raised or returned malformed output during the check", "unit failed",
                       float("inf"), 0.0, alpha, 0, "-", None, False, str(exc))


def _run_checks(backend: SamplingUnit, names: Sequence[str], alpha_check: float, base: int) -> tuple[CheckResult, ...]:
    run = _Run(backend, alpha_check, base)
    out = []
    for name in names:
        try:
            out.append(_CHECKS[name](run))
        except _BackendFailed as exc:
            out.append(_failed(name, exc, alpha_check))
    return tuple(out)


def _check_alpha(alpha: object) -> float:
    alpha = check_probability(alpha, "alpha", open_interval=True)
    if not _MIN_ALPHA <= alpha <= 0.5:
        raise ValueError(f"alpha: expected a family-wise false-positive rate in [{_MIN_ALPHA:g}, 0.5], got {alpha!r}")
    return alpha


def _check_backend(backend: object) -> SamplingUnit:
    if not isinstance(backend, SamplingUnit):
        raise TypeError(f"backend: expected an object implementing thermoref.backend.SamplingUnit (a ledger and "
                        f"the five sample_* methods), got {type(backend).__name__}")
    return backend


def _base_seed(rng: object) -> int:
    return int(as_rng(rng).integers(0, 2**63 - 1))


def run_conformance(backend: SamplingUnit, *, alpha: float = 1e-3, rng: np.random.Generator | int = 0,
                    checks: Sequence[str] | None = None) -> ConformanceReport:
    r"""Run the conformance checks against a sampling unit and return the report.

    Parameters
    ----------
    backend : SamplingUnit
        Any object implementing :class:`~thermoref.backend.SamplingUnit`.
    alpha : float
        Family-wise false-positive rate of the statistical checks run, in :math:`[10^{-12}, 0.5]`: a correct
        unit fails at most one of them with probability ``alpha`` (over seeds).
    rng : numpy.random.Generator or int
        Seed of the suite's draws (each check derives its seeds from it and its own name, so a check run alone
        draws exactly what it draws in the full run).
    checks : sequence of str, optional
        Names from :data:`CONFORMANCE_CHECKS` to run (default: all, in that order).

    Returns
    -------
    ConformanceReport
        One :class:`CheckResult` per check; ``report.passed`` is the verdict.

    Notes
    -----
    Each of the :math:`m` statistical checks run has level :math:`\alpha/m` (Bonferroni), and a check made
    of :math:`k` tests runs each at :math:`\alpha/(mk)`; the probability that a correct unit fails any
    check is at most :math:`\alpha`. Sample sizes are computed from these levels so that every statistical
    check rejects its sized bug with probability at least 0.99:

    * ``ising_joint_law``: Pearson :math:`X^2` of the :math:`2^n` histogram (pooled bins, Cochran's rule) of
      :math:`K` independent chains, :math:`N=60` sweeps from all :math:`+1`, against :math:`e^{-\beta E}/Z`
      by enumeration, on a ferromagnetic ring of 8, an antiferromagnetic triangle with fields, 6 spins with
      random couplings and fields, and a 10-spin graph passed as ``scipy.sparse``. :math:`K` per model from
      :func:`thermoref.testing.chi_square_power` against the law at :math:`0.95\beta` (11,392 to 33,536
      chains per model at :math:`\alpha = 10^{-3}`).
    * ``ising_pair_correlations``: :math:`z = (\overline{s_is_j} - c_{ij})\sqrt{K/(1-c_{ij}^2)}` for all 91
      pairs of the same chains, sized (power reported) against the synchronous update's exact law
      (:func:`thermoref.pbit.synchronous_stationary_law`).
    * ``ising_beta_scaling``: :math:`z = (\bar E - \langle E\rangle)\sqrt{K}/\sigma_E` on a 4x4 periodic
      lattice at :math:`\beta = 0.2, 0.35, 0.5`, :math:`K` from :func:`thermoref.testing.z_sample_size` for
      the shift :math:`\langle E\rangle_{0.95\beta} - \langle E\rangle_\beta`.
    * ``binary_frequencies``: :math:`X^2` over 32 p-bits with :math:`\sigma(\beta\ell)` from 0.005 to 0.995.
    * ``categorical_large``: :math:`X^2` over 3 rows of 4096 categories (mass beyond index 255, every 97th
      masked; in the third row the even and odd ids carry unequal mass) at :math:`\beta = 0.8`, tested per
      slot group (slot parity by first/second half of the ``size`` axis), so that draws that depend on their
      position, or a split of the vocabulary that ignores the halves' partition functions, are caught.
    * ``gaussian_moments``: with whitened draws :math:`y = L^{-1}(x-\mu)`, :math:`M = y^\top y/K`,
      :math:`T = K|\bar y|^2 + \tfrac K2\sum_i (M_{ii}-1)^2 + K\sum_{i<j}M_{ij}^2`, asymptotically
      :math:`\chi^2_{d + d(d+1)/2}`, for ``form="cov"`` and ``form="precision"``; sized against a covariance
      :math:`1/0.95` too wide.
    * ``custom_energy``: :math:`X^2` of the 81-state histogram of a 3-state clock ring (4 sites) at
      :math:`\beta = 1.1` after 80 single-site steps per chain (20 per site).
    * ``seed_determinism``, ``shapes_and_dtypes``, ``bad_input``: deterministic, no false positives.

    A unit that raises on valid input or returns malformed output fails the check it was in (the detail
    says why); the suite itself does not stop.

    References
    ----------
    Cochran, W. G. (1952) "The chi-square test of goodness of fit", Ann. Math. Stat. 23, 315-345;
    Bonferroni, C. E. (1936) "Teoria statistica delle classi e calcolo delle probabilità", Pubbl. R. Ist.
    Sup. Sci. Econ. Commer. Firenze 8, 3-62.

    Examples
    --------
    >>> from thermoref.backend import NumpyBackend, run_conformance
    >>> report = run_conformance(NumpyBackend(), checks=("binary_frequencies", "bad_input"))
    >>> report.passed, [r.name for r in report.results]
    (True, ['binary_frequencies', 'bad_input'])
    """
    backend = _check_backend(backend)
    alpha = _check_alpha(alpha)
    base = _base_seed(rng)
    if checks is None:
        names = CONFORMANCE_CHECKS
    else:
        if isinstance(checks, (str, bytes)) or not isinstance(checks, Sequence):
            raise TypeError(f"checks: expected a sequence of check names, got {type(checks).__name__}")
        names = tuple(checks)
        unknown = [c for c in names if c not in CONFORMANCE_CHECKS]
        if not names or unknown:
            raise ValueError(f"checks: expected names from CONFORMANCE_CHECKS {CONFORMANCE_CHECKS}, got {names!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"checks: a check is named twice in {names!r}")
    n_stat = sum(n not in _DETERMINISTIC for n in names)
    t0 = time.perf_counter()
    results = _run_checks(backend, names, alpha / max(n_stat, 1), base)
    return ConformanceReport(repr(backend), alpha, results, time.perf_counter() - t0)


def conformance_test(factory: Callable[[], SamplingUnit], *, alpha: float = 1e-3) -> Callable[[str], None]:
    r"""A pytest test, parametrized over :data:`CONFORMANCE_CHECKS`, that runs the suite against ``factory()``.

    Parameters
    ----------
    factory : callable
        ``factory()`` returns a fresh unit (a class or a lambda); called once per check.
    alpha : float
        Family-wise false-positive rate over the whole parametrized test, in :math:`[10^{-12}, 0.5]`.

    Returns
    -------
    callable
        ``test_conformance(check)``, marked ``pytest.mark.parametrize("check", CONFORMANCE_CHECKS)``; each case
        asserts one check and prints its statistic, p-value and detail on failure. Assign it to a module
        attribute whose name starts with ``test_``. Requires pytest (imported here, not a dependency).

    Notes
    -----
    Each of the 7 statistical cases runs at level :math:`\alpha/7`, exactly as in the full
    :func:`run_conformance`, and draws with the same seeds (seed 0), so a case's verdict is the full run's
    verdict for that check and the family-wise false-positive rate is :math:`\alpha`.

    References
    ----------
    Bonferroni, C. E. (1936) "Teoria statistica delle classi e calcolo delle probabilità", Pubbl. R. Ist.
    Sup. Sci. Econ. Commer. Firenze 8, 3-62.

    Examples
    --------
    In a hardware team's ``tests/test_my_unit.py``:

    >>> from thermoref.backend import NumpyBackend, conformance_test
    >>> test_my_unit = conformance_test(lambda: NumpyBackend())
    >>> test_my_unit.__name__, [m.args[0] for m in test_my_unit.pytestmark]
    ('test_conformance', ['check'])
    """
    check_callable(factory, "factory")
    alpha = _check_alpha(alpha)
    import pytest  # noqa: PLC0415 (a test-time dependency only)

    base = _base_seed(0)

    @pytest.mark.parametrize("check", CONFORMANCE_CHECKS)
    def test_conformance(check: str) -> None:
        result = _run_checks(_check_backend(factory()), (check,), alpha / _N_STATISTICAL, base)[0]
        assert result.passed, (f"{check} failed: {result.statistic_name} = {result.statistic:.4g}, p = "
                               f"{result.pvalue}, alpha/check = {result.alpha:.3g}; {result.detail}")

    return test_conformance
