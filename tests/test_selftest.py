"""The partition-function bench: expected outcomes, the control's failure, and the command line."""

import subprocess
import sys

import numpy as np

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
