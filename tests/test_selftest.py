"""The partition-function bench: expected outcomes, the control's failure, and the command line."""

import subprocess
import sys

import numpy as np
import pytest

from thermoref import selftest


def _results():
    return {(r.subject, r.gate): r for s in selftest.subjects() for r in selftest.run_gates(s)}


def test_physical_subjects_pass_every_gate():
    res = _results()
    for s in selftest.subjects():
        if "control" in s.name:
            continue
        for gate in selftest.GATES:
            r = res[(s.name, gate)]
            assert r.passed, f"{s.name} failed {gate}: {r.value} > {r.bound}"


def test_control_fails_identity_and_Z_by_far():
    res = _results()
    name = "Maxwell-Boltzmann as 1-D levels (control)"
    # Not a near miss: the sqrt(E) factor is an O(1) relative change of the law.
    assert res[(name, "identity")].value > 1e6 * res[(name, "identity")].bound
    assert res[(name, "Z")].value > 1e6 * res[(name, "Z")].bound
    assert res[(name, "hot")].value > 0.1
    # ...and the same weights pass every gate once sqrt(E) is a degeneracy.
    resolved = "Maxwell-Boltzmann as Gibbs with g(E) = sqrt(E)"
    assert all(res[(resolved, g)].passed for g in selftest.GATES)


def test_gates_are_not_self_comparisons():
    # A wrong claimed law (temperature off by 5 %) must fail the identity gate of an otherwise valid subject.
    s = selftest.subjects()[0]
    wrong = selftest.Subject(s.name, s.E, None, lambda kT: np.exp(-s.E / (1.05 * kT)), s.kT_sweep, s.kT_cold)
    by_gate = {r.gate: r for r in selftest.run_gates(wrong)}
    assert not by_gate["identity"].passed and not by_gate["Z"].passed


def test_box_microstates_approach_maxwell_boltzmann():
    d = selftest.box_mb_distance((10.0, 100.0, 1000.0))
    assert np.all(np.diff(d) < 0) and d[-1] < 0.02


def test_command_line_exits_zero_and_reports_the_control():
    out = subprocess.run([sys.executable, "-m", "thermoref", "selftest"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ALL OUTCOMES AS EXPECTED" in out.stdout
    assert "density of states" in out.stdout
    assert out.stderr == ""


def test_bad_input_names_the_parameter():
    with pytest.raises(TypeError, match="^s: expected a thermoref.selftest.Subject"):
        selftest.run_gates(None)
    s = selftest.subjects()[0]
    nan_claim = selftest.Subject(s.name, s.E, None, lambda kT: np.full(s.E.shape, np.nan), s.kT_sweep, s.kT_cold)
    with pytest.raises(ValueError, match="^s: s.weight: returned NaN"):
        selftest.run_gates(nan_claim)
    with pytest.raises(ValueError, match="^kT_units: the result would need"):  # a 3-D box list beyond MAX_BYTES
        selftest.box_mb_distance((1e308,))
    with pytest.raises(ValueError, match="^kT_units: temperatures must be positive"):
        selftest.box_mb_distance((10.0, -1.0))
    with pytest.raises(TypeError, match="^results: expected a list"):
        selftest.report([1, 2], np.array([0.1]))
    with pytest.raises(ValueError, match="^distances: expected at least one"):
        selftest.report(selftest.run_gates(s), np.array([0.1, 1e308]))


def test_report_of_a_subset_of_gates_marks_the_missing_ones():
    results = selftest.run_gates(selftest.subjects()[0])[:2]
    text, ok = selftest.report(results, np.array([0.2, 0.1]))
    assert ok and text.splitlines()[1].split()[-1] == "-"
