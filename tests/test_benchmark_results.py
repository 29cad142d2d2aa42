"""The committed benchmark results (``benchmarks/results/*.json``) have the shared schema the appendix reads.

``book/appendix_performance.ipynb`` renders these files without re-running any benchmark, so a file that is
empty, half written or written in an older layout would render as an empty or wrong table. Every file is
checked here: the keys of ``benchmarks/_common.write_results``, a date that parses (UTC), the machine and the
versions, the command, and at least one result row whose ratio is a finite positive number.
"""

from __future__ import annotations

import copy
import json
import math
import pathlib
from datetime import datetime, timedelta

import pytest

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "results"
FILES = sorted(RESULTS.glob("*.json"))
TOP = ("benchmark", "date", "machine", "versions", "environment", "command", "ratio_definition", "notes", "results",
       "details")
MACHINE = ("cpu", "logical_cores", "os", "python")
VERSIONS = ("numpy", "scipy", "thermoref", "thermoref_commit")


def _positive(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def problems(payload: dict, stem: str) -> list[str]:
    """Everything wrong with one results file (an empty list: the file is fit for the appendix)."""
    out = [f"missing key {k!r}" for k in TOP if k not in payload]
    if out:
        return out
    if payload["benchmark"] != stem:
        out.append(f"benchmark {payload['benchmark']!r} written to {stem}.json")
    try:
        date = datetime.fromisoformat(payload["date"])
        if date.utcoffset() != timedelta(0):
            out.append(f"date {payload['date']!r} is not in UTC")
    except (TypeError, ValueError):
        out.append(f"date {payload['date']!r} does not parse as ISO 8601")
    m = payload["machine"]
    out += [f"machine without {k!r}" for k in MACHINE if not m.get(k)]
    if not (isinstance(m.get("logical_cores"), int) and m["logical_cores"] > 0):
        out.append(f"logical_cores {m.get('logical_cores')!r}")
    out += [f"versions without {k!r}" for k in VERSIONS if not payload["versions"].get(k)]
    if f"benchmarks/{stem}.py" not in str(payload["command"]):
        out.append(f"command {payload['command']!r} does not run benchmarks/{stem}.py")
    rows = payload["results"]
    if not isinstance(rows, list) or not rows:
        return out + ["no result rows"]
    for i, row in enumerate(rows):
        where = f"row {i} ({row.get('case', '?')})"
        if not isinstance(row.get("case"), str) or not row["case"]:
            out.append(f"{where}: no case")
        if not isinstance(row.get("sizes"), dict) or not row["sizes"]:
            out.append(f"{where}: no sizes")
        if not _positive(row.get("ratio")):
            out.append(f"{where}: ratio {row.get('ratio')!r} is not finite and > 0")
        if "ratio_median" in row and not _positive(row["ratio_median"]):
            out.append(f"{where}: ratio_median {row['ratio_median']!r}")
        if "ratio_range" in row:
            lo_hi = row["ratio_range"]
            if not (isinstance(lo_hi, list) and len(lo_hi) == 2 and all(_positive(x) for x in lo_hi)
                    and lo_hi[0] <= lo_hi[1]):
                out.append(f"{where}: ratio_range {lo_hi!r}")
            elif "ratio_median" in row and not lo_hi[0] <= row["ratio_median"] <= lo_hi[1]:
                out.append(f"{where}: ratio_median outside ratio_range")
        for key in ("subject_time", "baseline_time"):
            if key in row and not all(_positive(t) for t in row[key].values()):
                out.append(f"{where}: {key} {row[key]!r}")
    return out


def test_there_are_results():
    assert FILES, f"no results files in {RESULTS}: the performance appendix would be empty"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_results_file_schema(path):
    payload = json.loads(path.read_text())
    assert problems(payload, path.stem) == []


def test_the_check_rejects_broken_files():
    """The check is not vacuous: each kind of damage to a good file is reported."""
    good = json.loads(FILES[0].read_text())
    stem = FILES[0].stem
    assert problems(good, stem) == []
    damage = {
        "nan ratio": lambda p: p["results"][0].update(ratio=float("nan")),
        "zero ratio": lambda p: p["results"][0].update(ratio=0.0),
        "ratio as text": lambda p: p["results"][0].update(ratio="2.0"),
        "no rows": lambda p: p.update(results=[]),
        "bad date": lambda p: p.update(date="yesterday"),
        "local date": lambda p: p.update(date="2026-12-04T10:00:00"),
        "no machine cpu": lambda p: p["machine"].pop("cpu"),
        "no numpy version": lambda p: p["versions"].pop("numpy"),
        "no command": lambda p: p.update(command=""),
        "old layout": lambda p: p.pop("results"),
        "wrong name": lambda p: p.update(benchmark="bench_other"),
    }
    for label, hurt in damage.items():
        broken = copy.deepcopy(good)
        hurt(broken)
        assert problems(broken, stem), f"{label}: not detected"
