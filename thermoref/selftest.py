r"""The partition-function bench: gates that a claimed law over energy levels must pass to be a Gibbs law.

A *subject* is a set of levels :math:`E_n` (with degeneracies :math:`g_n`, or none) and a *claimed law*: a
formula for the unnormalized weight :math:`w_n(kT)` of each level, evaluated directly (plain ``exp``, no log
space), independently of :mod:`thermoref.gibbs`. The gates compare the claim with thermoref's Gibbs law:

``identity``
    thermoref's two names agree bit for bit (``boltzmann(E, kT)`` is ``softmax(-E, kT)``; with a degeneracy,
    ``boltzmann(E, kT, g)`` is ``softmax(-E/kT + ln g)`` to a few ulps), and the claimed law matches them to
    the rounding bound of direct exponentiation, :math:`|\delta p_n|/p_n \le \epsilon(8 + 2\max|E/kT| + n)`,
    over a sweep of temperatures.
``Z``
    :math:`\ln Z` from ``log_partition_function`` equals :math:`\ln\sum_n w_n` to :math:`\epsilon(8 + 2\max|E/kT| + n)`.
``normalization``
    :math:`\sum_n p_n = 1` to :math:`n\epsilon` for thermoref's law and the normalized claim.
``entropy``
    Shannon entropy in bits times :math:`\ln 2` equals it in nats, and :math:`S = \beta(U - F)` with
    :math:`F = -kT\ln Z`, to a stated bound.
``cold``
    At small :math:`kT` the claimed law is within its exact total-variation bound of thermoref's
    :math:`kT = 0` law (the ground level, degeneracy-weighted).
``hot``
    At :math:`kT = 10^{12}` the claimed law is within :math:`10^{-6}` (total variation) of thermoref's
    :math:`kT = \infty` law (:math:`p \propto g`).

The Maxwell–Boltzmann energy law over 1-D levels is the *control*: its weight :math:`\sqrt{E}e^{-E/kT}` is not a
Gibbs law over non-degenerate levels, and it must fail ``identity`` and ``Z`` (and, for the same reason,
``cold`` and ``hot``). Written as a Gibbs law
with density of states :math:`g(E) \propto \sqrt{E}`, it passes every gate.

Run it as ``python -m thermoref selftest``.

Reference: Reif, *Fundamentals of Statistical and Thermal Physics*, §6.5–6.6 and §7.9 (1965).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import gibbs, spectra
from ._validation import as_float_array, check_allocation, check_positive_int, check_returned

__all__ = ["Subject", "GateResult", "subjects", "run_gates", "box_mb_distance", "report", "main"]

EPS = np.finfo(np.float64).eps
GATES = ("identity", "Z", "normalization", "entropy", "cold", "hot")


@dataclass(frozen=True)
class Subject:
    r"""A claimed law over energy levels, to be held against thermoref's Gibbs law by :func:`run_gates`.

    Attributes
    ----------
    name : str
        Label in the report.
    E : ndarray of shape (n,)
        The levels :math:`E_n`.
    degeneracy : ndarray of shape (n,) or None
        Degeneracies :math:`g_n` of the levels, or None for non-degenerate levels.
    weight : callable
        ``weight(kT)`` returns the claimed unnormalized weights :math:`w_n(kT)`, an ndarray of shape (n,),
        computed directly (plain ``exp``, no log space) and independently of :mod:`thermoref.gibbs`.
    kT_sweep : tuple of float
        Temperatures at which the ``identity``, ``Z``, ``normalization`` and ``entropy`` gates compare.
    kT_cold : float
        The small temperature of the ``cold`` gate.
    expected_failures : tuple of str
        Gates this subject is expected to fail (a control).

    Notes
    -----
    The claim is a Gibbs law when :math:`w_n(kT) \propto g_n e^{-E_n/kT}` at every temperature.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.selftest import Subject, run_gates
    >>> E = np.array([0.0, 1.0, 2.0])
    >>> s = Subject("three levels", E, None, lambda kT: np.exp(-E / kT), (0.5, 2.0), 0.02)
    >>> all(r.passed for r in run_gates(s))
    True
    """

    name: str
    E: np.ndarray
    degeneracy: np.ndarray | None
    weight: Callable[[float], np.ndarray]
    kT_sweep: tuple[float, ...]
    kT_cold: float
    expected_failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateResult:
    r"""One gate on one subject: the measured discrepancy, the bound it must meet, and whether that was expected.

    Attributes
    ----------
    subject : str
        The subject's name.
    gate : str
        One of ``"identity"``, ``"Z"``, ``"normalization"``, ``"entropy"``, ``"cold"``, ``"hot"``.
    value : float
        The measured discrepancy (for most gates already divided by its rounding bound).
    bound : float
        The bound the value must not exceed.
    expected_pass : bool
        Whether the subject is expected to pass this gate (False for a control's expected failures).

    Notes
    -----
    The gate passes when :math:`\text{value} \le \text{bound}`; an outcome is as expected when the pass or
    failure matches ``expected_pass``.

    Examples
    --------
    >>> from thermoref.selftest import GateResult
    >>> r = GateResult("box (1-D)", "Z", 0.25, 1.0, True)
    >>> r.passed, r.as_expected
    (True, True)
    """

    subject: str
    gate: str
    value: float
    bound: float
    expected_pass: bool

    @property
    def passed(self) -> bool:
        """True when the value meets the bound, ``value <= bound``."""
        return bool(self.value <= self.bound)

    @property
    def as_expected(self) -> bool:
        """True when the gate passed exactly if it was expected to pass."""
        return self.passed == self.expected_pass


def subjects() -> list[Subject]:
    r"""The bench's subjects: box and oscillator (pass), Maxwell–Boltzmann as 1-D levels (control), and resolved.

    Returns
    -------
    list of Subject
        Five subjects: the 1-D box (40 levels), the 1-D oscillator (60 levels), the degenerate 3-D box
        (:func:`thermoref.spectra.box3d_levels` with ``n_max = 12``), the Maxwell–Boltzmann weight
        :math:`\sqrt{E}e^{-E/kT}` on a uniform energy grid claimed as a Gibbs law over non-degenerate levels
        (the control, expected to fail ``identity``, ``Z``, ``cold`` and ``hot``), and the same weight with
        degeneracy :math:`g(E) = \sqrt{E}` (expected to pass).

    Notes
    -----
    Each claim evaluates :math:`w_n(kT) = g_n e^{-E_n/kT}` directly with ``numpy.exp``.

    References
    ----------
    Reif, F. (1965) *Fundamentals of Statistical and Thermal Physics*, McGraw-Hill, §6.5–6.6 and §7.9.

    Examples
    --------
    >>> from thermoref.selftest import subjects
    >>> [s.name for s in subjects()][:2]
    ['box (1-D)', 'oscillator (1-D)']
    """
    box = spectra.box_levels(40)
    osc = spectra.oscillator_levels(60)
    E3, g3 = spectra.box3d_levels(12)
    dE = 0.05
    mb = dE * np.arange(1, 401)  # a uniform energy grid: p(E) dE with constant dE
    sweep_box = (2.0, 10.0, 50.0, 200.0)
    return [
        Subject("box (1-D)", box, None, lambda kT: np.exp(-box / kT), sweep_box, box[0] / 20),
        Subject("oscillator (1-D)", osc, None, lambda kT: np.exp(-osc / kT), (0.3, 1.0, 3.0, 10.0), 1 / 20),
        Subject("box (3-D), degenerate", E3, g3, lambda kT: g3 * np.exp(-E3 / kT), sweep_box, (E3[1] - E3[0]) / 20),
        Subject(
            "Maxwell-Boltzmann as 1-D levels (control)", mb, None,
            lambda kT: np.sqrt(mb) * np.exp(-mb / kT), (0.5, 1.0, 2.0), dE / 20,
            expected_failures=("identity", "Z", "cold", "hot"),
        ),
        Subject(
            "Maxwell-Boltzmann as Gibbs with g(E) = sqrt(E)", mb, np.sqrt(mb),
            lambda kT: np.sqrt(mb) * np.exp(-mb / kT), (0.5, 1.0, 2.0), dE / 20,
        ),
    ]


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference of ``a`` from ``b`` over normal-range entries (absolute below 1e-280)."""
    big = b > 1e-280
    rel = np.abs(a[big] - b[big]) / b[big]
    tiny = np.abs(a[~big] - b[~big]) / 1e-280
    return float(max(rel.max(initial=0.0), tiny.max(initial=0.0)))


def _checked_subject(s: object) -> tuple[np.ndarray, np.ndarray | None]:
    """The subject's levels and degeneracies after checking every field; errors name ``s``."""
    if not isinstance(s, Subject):
        raise TypeError(f"s: expected a thermoref.selftest.Subject, got {type(s).__name__}")
    try:
        E = as_float_array(s.E, "s.E", ndim=1)
        g = None if s.degeneracy is None else as_float_array(s.degeneracy, "s.degeneracy", ndim=1)
        for kT in (*s.kT_sweep, s.kT_cold):
            as_float_array(kT, "s.kT_sweep, s.kT_cold", ndim=0)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"s: {exc}") from None
    if E.size == 0:
        raise ValueError("s: s.E has no levels")
    if g is not None and (g.shape != E.shape or not (g > 0).all()):
        raise ValueError(f"s: s.degeneracy must be positive with the shape of s.E {E.shape}")
    if not all(kT > 0 for kT in (*s.kT_sweep, s.kT_cold)):
        raise ValueError("s: every temperature in s.kT_sweep and s.kT_cold must be positive")
    if not callable(s.weight):
        raise TypeError(f"s: s.weight must be callable, got {type(s.weight).__name__}")
    return E, g


def _claim(s: Subject, kT: float, n: int) -> np.ndarray:
    """The subject's weights at ``kT``: real, finite, non-negative, shape (n,), not all zero."""
    w = s.weight(kT)
    try:
        w = check_returned(w, "s.weight", (n,))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"s: {exc} at kT = {kT!r}") from None
    if w.shape != (n,) or (w < 0).any() or not w.sum() > 0:
        raise ValueError(f"s: s.weight({kT!r}) must return {n} non-negative weights, not all zero")
    return w


def run_gates(s: Subject) -> list[GateResult]:
    r"""Run every gate on one subject.

    Parameters
    ----------
    s : Subject
        The claimed law, its levels and temperatures.

    Returns
    -------
    list of GateResult
        One result per gate, in the order ``identity``, ``Z``, ``normalization``, ``entropy``, ``cold``,
        ``hot``.

    Notes
    -----
    With :math:`\epsilon` the float64 machine epsilon and :math:`x_{\max} = \max_n |E_n/kT|`, the
    ``identity`` and ``Z`` gates allow the rounding bound of direct exponentiation,

    .. math:: \frac{|\delta p_n|}{p_n} \le \epsilon\,(8 + 2x_{\max} + n),

    ``normalization`` allows :math:`n\epsilon`, ``entropy`` checks :math:`S = \beta(U - F)` and bits versus
    nats to :math:`16 n\epsilon` times their scale, ``cold`` bounds the total variation from the
    :math:`kT = 0` law by the excited weight :math:`\sum_{n\,\mathrm{exc}} (g_n/g_0)e^{-(E_n - E_0)/kT}`,
    and ``hot`` requires a total variation below :math:`10^{-6}` from :math:`p \propto g` at
    :math:`kT = 10^{12}`.

    References
    ----------
    Reif, F. (1965) *Fundamentals of Statistical and Thermal Physics*, McGraw-Hill, §6.5–6.6.

    Examples
    --------
    >>> from thermoref.selftest import run_gates, subjects
    >>> [(r.gate, r.passed) for r in run_gates(subjects()[0])][:2]
    [('identity', True), ('Z', True)]
    """
    E, g = _checked_subject(s)
    n = E.size
    # Each gate's value is its discrepancy divided by its bound: it passes at value <= 1.
    identity = z_err = norm_err = ent_err = 0.0
    for kT in s.kT_sweep:
        x_max = float(np.max(np.abs(E / kT)))
        bound = EPS * (8 + 2 * x_max + n)
        p = gibbs.boltzmann(E, kT, g)
        if g is None:  # one code path: bit for bit
            two_names = 0.0 if np.array_equal(p, gibbs.softmax(-E, kT)) else np.inf
        else:  # -E/kT + ln g is rounded differently from the shifted form: the same bound as the claim
            two_names = _max_rel(gibbs.softmax(-E / kT + np.log(g)), p) / bound
        w = _claim(s, kT, n)
        claim = w / w.sum()
        identity = max(identity, two_names, _max_rel(claim, p) / bound)
        z_err = max(z_err, abs(float(gibbs.log_partition_function(E, kT, g)) - float(np.log(w.sum()))) / bound)
        norm_err = max(norm_err, abs(p.sum() - 1) / (n * EPS), abs(claim.sum() - 1) / (n * EPS))
        S = float(gibbs.thermal_entropy(E, kT, g))
        U, F = float(gibbs.mean_energy(E, kT, g)), float(gibbs.free_energy(E, kT, g))
        H_bits, H_nats = float(gibbs.entropy(p, base=2)), float(gibbs.entropy(p))
        scale = 1 + abs(U / kT) + abs(F / kT) + abs(S)
        ent_err = max(ent_err, abs(S - (U - F) / kT) / (16 * EPS * scale * n), abs(H_bits * np.log(2) - H_nats) / (16 * EPS * (1 + H_nats)))
    # Cold: total variation between the claim at small kT and the kT = 0 law is at most the excited weight,
    # bounded by sum_{n excited} (g_n/g_0) exp(-(E_n - E_0)/kT), computed here in log space.
    p0 = gibbs.boltzmann(E, 0.0, g)
    w = _claim(s, s.kT_cold, n)
    tv_cold = 0.5 * float(np.abs(w / w.sum() - p0).sum())
    ground = p0 > 0
    lg = np.zeros(n) if g is None else np.log(g)
    excited_log = lg[~ground] - lg[ground].max() - (E[~ground] - E[ground].min()) / s.kT_cold
    cold_bound = float(np.exp(excited_log).sum()) + 1e-12
    # Hot: at kT = 1e12 every weight is within 1e-9 of its infinite-temperature value.
    w = _claim(s, 1e12, n)
    tv_hot = 0.5 * float(np.abs(w / w.sum() - gibbs.boltzmann(E, np.inf, g)).sum())
    values = {
        "identity": (identity, 1.0),
        "Z": (z_err, 1.0),
        "normalization": (norm_err, 1.0),
        "entropy": (ent_err, 1.0),
        "cold": (tv_cold, cold_bound),
        "hot": (tv_hot, 1e-6),
    }
    return [GateResult(s.name, k, v, b, k not in s.expected_failures) for k, (v, b) in values.items()]


def box_mb_distance(kT_units: tuple[float, ...] = (10.0, 100.0, 1000.0), n_bins: int = 40) -> np.ndarray:
    r"""Total-variation distance between the 3-D box's Gibbs law, binned by energy, and Maxwell–Boltzmann.

    Parameters
    ----------
    kT_units : sequence of float of shape (m,)
        Temperatures in units of the box's ground-state unit :math:`\epsilon_1 = \pi^2/2` (:math:`m = L = 1`),
        positive and finite. The work grows as :math:`u^{3/2}`; temperatures whose level list would exceed
        :data:`thermoref.MAX_BYTES` are refused.
    n_bins : int
        Number of equal energy bins on :math:`[0, 12\,kT]` (the last bin extends to infinity).

    Returns
    -------
    ndarray of shape (m,)
        The total-variation distance at each temperature, in [0, 1].

    Notes
    -----
    At :math:`kT = u\,\epsilon_1` the microstates of a cubic box (:func:`thermoref.spectra.box3d_levels`,
    complete up to :math:`E = 14\,kT`), counted by energy with the Gibbs weights, are put in ``n_bins`` bins
    and compared with the Maxwell–Boltzmann energy law integrated over the same bins:

    .. math:: d_{\mathrm{TV}} = \tfrac12 \sum_b \Bigl| \sum_{E_n \in b} \frac{g_n e^{-E_n/kT}}{Z}
              - \int_b f_{\mathrm{MB}}(E)\,dE \Bigr|.

    The distance falls as the levels crowd together relative to :math:`kT` (the classical limit).

    References
    ----------
    Reif, F. (1965) *Fundamentals of Statistical and Thermal Physics*, McGraw-Hill, §7.9.

    Examples
    --------
    >>> from thermoref.selftest import box_mb_distance
    >>> print(box_mb_distance((10.0, 100.0)).round(4))
    [0.2303 0.038 ]
    """
    kT_units = as_float_array(kT_units, "kT_units", ndim=1)
    if not (kT_units > 0).all():
        raise ValueError("kT_units: temperatures must be positive")
    n_bins = check_positive_int(n_bins, "n_bins")
    check_allocation(n_bins + 1, "n_bins")
    with np.errstate(over="ignore"):
        side = np.minimum(np.ceil(np.sqrt(14.0 * kT_units)) + 1, 2.0**40)  # (m,) n_max of each temperature
    if side.size:  # refuse before any work: the level list of the largest temperature must fit
        check_allocation(int(side.max()) ** 3, "kT_units")
    eps1 = np.pi**2 / 2
    out = []
    for u in kT_units:
        kT = u * eps1
        n_max = int(np.ceil(np.sqrt(14 * u))) + 1  # complete up to n^2 = 14 u, i.e. E = 14 kT
        E, g = spectra.box3d_levels(n_max)
        p = gibbs.boltzmann(E, kT, g)
        edges = np.linspace(0, 12 * kT, n_bins + 1)
        edges[-1] = np.inf
        P = np.bincount(np.clip(np.searchsorted(edges, E, side="right") - 1, 0, n_bins - 1), weights=p, minlength=n_bins)
        Q = np.diff(spectra.maxwell_boltzmann_energy_cdf(edges, kT))
        out.append(0.5 * float(np.abs(P - Q).sum()))
    return np.array(out)


def report(results: list[GateResult], distances: np.ndarray) -> tuple[str, bool]:
    r"""Format the bench's table; return it with True when every outcome is the expected one.

    Parameters
    ----------
    results : list of GateResult
        The gates of every subject (from :func:`run_gates`), at least one.
    distances : array_like of shape (m,)
        Total-variation distances from :func:`box_mb_distance` at increasing temperatures, each in [0, 1].

    Returns
    -------
    text : str
        One row per subject and one column per gate (``pass``, ``FAIL``, marked ``(!)`` when unexpected),
        the control's explanation, and the distances with their verdict.
    ok : bool
        True when every gate's outcome is the expected one and the distances fall strictly,
        :math:`d_1 > d_2 > \dots`.

    Examples
    --------
    >>> from thermoref.selftest import report, run_gates, subjects
    >>> text, ok = report(run_gates(subjects()[0]), [0.1, 0.03, 0.01])
    >>> ok
    True
    >>> print(text.splitlines()[-1])
    ALL OUTCOMES AS EXPECTED
    """
    if not isinstance(results, (list, tuple)) or not all(isinstance(r, GateResult) for r in results):
        raise TypeError("results: expected a list of thermoref.selftest.GateResult")
    if len(results) == 0:
        raise ValueError("results: empty; nothing to report")
    distances = as_float_array(distances, "distances", ndim=1)
    if distances.size == 0 or not ((distances >= 0) & (distances <= 1)).all():
        raise ValueError("distances: expected at least one total-variation distance, each in [0, 1]")
    lines = [f"{'subject':48s} " + " ".join(f"{g:>13s}" for g in GATES)]
    ok = True
    by_subject: dict[str, dict[str, GateResult]] = {}
    for r in results:
        by_subject.setdefault(r.subject, {})[r.gate] = r
        ok &= r.as_expected
    for name, gates in by_subject.items():
        cells = []
        for gname in GATES:
            r = gates.get(gname)
            if r is None:
                cells.append(f"{'-':>13s}")
                continue
            mark = "pass" if r.passed else "FAIL"
            cells.append(f"{mark + ('' if r.as_expected else '(!)'):>13s}")
        lines.append(f"{name:48s} " + " ".join(cells))
    ctrl = by_subject.get("Maxwell-Boltzmann as 1-D levels (control)")
    if ctrl is not None and all(k in ctrl for k in ("identity", "Z", "cold", "hot")):
        lines.append("")
        lines.append(
            "control: the Maxwell-Boltzmann weight sqrt(E) exp(-E/kT) is not softmax(-E/kT): the sqrt(E) factor is "
            f"a density of states (identity off by {ctrl['identity'].value:.3g} x its bound, ln Z off by "
            f"{ctrl['Z'].value:.3g} x its bound; excited levels weighted by sqrt(E_n/E_0) near kT = 0: cold TV "
            f"{ctrl['cold'].value:.2e} > bound {ctrl['cold'].bound:.2e}; hot limit not uniform: TV {ctrl['hot'].value:.3f})."
        )
        lines.append("resolution: with degeneracy g(E) = sqrt(E) the same law passes every gate.")
    monotone = bool(np.all(np.diff(distances) < 0))
    ok &= monotone
    lines.append(
        "3-D box microstates counted by energy -> Maxwell-Boltzmann, TV distance at kT = 10, 100, 1000 x (pi^2/2): "
        + ", ".join(f"{d:.4f}" for d in distances)
        + ("  (falling)" if monotone else "  (NOT falling)")
    )
    lines.append("ALL OUTCOMES AS EXPECTED" if ok else "UNEXPECTED OUTCOME: see (!) above")
    return "\n".join(lines), ok


def main() -> int:
    """Run the bench, print the table, return 0 exactly when every outcome is the expected one.

    This is ``python -m thermoref selftest``: :func:`run_gates` on every subject of :func:`subjects`, and
    :func:`box_mb_distance` at its default temperatures, formatted by :func:`report`.

    Returns
    -------
    int
        The exit status: 0 when every outcome is the expected one, else 1.

    Examples
    --------
    >>> from thermoref.selftest import main
    >>> code = main()  # doctest: +ELLIPSIS
    subject ...
    ALL OUTCOMES AS EXPECTED
    >>> code
    0
    """
    results = [r for s in subjects() for r in run_gates(s)]
    text, ok = report(results, box_mb_distance())
    print(text)
    return 0 if ok else 1
