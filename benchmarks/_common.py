"""Shared benchmark machinery: interleaved timing, min and median, progress lines, and a results file.

Every benchmark script times its methods *interleaved* (round r runs every method once, in a rotated order,
before round r + 1 starts), so slow drifts of the machine's load hit all methods alike, and reports the minimum
and the median over rounds. Ratios are formed from the same run. Every script writes its results through the
one writer here, :func:`write_results`, to ``benchmarks/results/<benchmark>.json`` (committed; the book's
performance appendix reads these files and never re-runs a benchmark). The file's schema::

    {"benchmark": "bench_x",
     "date": "2026-12-04T10:30:00+00:00",                      # ISO 8601, UTC
     "machine": {"cpu", "logical_cores", "os", "python", "load_average"},
     "versions": {"numpy", "scipy", "thermoref", "thermoref_commit", ...and each peer library found},
     "environment": sys.prefix,                                 # which venv ran it (peers live in their own)
     "command": "OPENBLAS_NUM_THREADS=1 python benchmarks/bench_x.py --rounds 5",
     "ratio_definition": "...", "notes": [...],
     "results": [row, ...],                                      # one row per comparison, see compare()
     "details": {...}}                                           # everything else the script measured

A row (from :func:`compare`, or built by hand with the same keys) says which case, which sizes, what was timed
against what, and ``ratio`` = baseline time / thermoref time (> 1: thermoref faster) from the minima of the
same run, with ``ratio_median`` and ``ratio_range`` (the median, smallest and largest of the per-round ratios:
the rounds are interleaved, so round r of both methods ran back to back).

Usage inside a script::

    from _common import Timer, compare, write_results
    timer = Timer("bench_x", rounds=5)
    timer.add("exact", lambda: f(a))
    timer.add("sampled", lambda: g(a))
    stats = timer.run()                     # {"exact": {"min": s, "median": s, "times": [...]}, ...}
    rows = [compare("case", {"n": 100}, stats, subject="sampled", baseline="exact", kind="numpy baseline")]
    write_results("bench_x", rows, details={"timings": stats, "algorithm": {...}})
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import json
import os
import pathlib
import platform
import subprocess
import sys
import time
from collections.abc import Callable

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def progress(msg: str) -> None:
    """Print a timestamped progress line at once (long runs must show that they are alive)."""
    print(f"[{_dt.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


class Timer:
    """Interleaved timing of several methods; ``run`` returns min, median and every time per method."""

    def __init__(self, label: str, rounds: int = 5, warmup: int = 1):
        self.label, self.rounds, self.warmup = label, rounds, warmup
        self.methods: dict[str, Callable[[], object]] = {}

    def add(self, name: str, fn: Callable[[], object]) -> None:
        self.methods[name] = fn

    def run(self) -> dict[str, dict[str, object]]:
        names = list(self.methods)
        for _ in range(self.warmup):
            for n in names:
                self.methods[n]()
        times: dict[str, list[float]] = {n: [] for n in names}
        for r in range(self.rounds):
            order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
            for n in order:
                t0 = time.perf_counter()
                self.methods[n]()
                times[n].append(time.perf_counter() - t0)
            progress(f"{self.label}: round {r + 1}/{self.rounds} done")
        out = {}
        for n, ts in times.items():
            s = sorted(ts)
            m = len(s)
            median = s[m // 2] if m % 2 else 0.5 * (s[m // 2 - 1] + s[m // 2])
            out[n] = {"min": s[0], "median": median, "times": ts}
        return out


PEERS = ("jax", "jaxlib", "thrml", "thermox", "equinox", "torch", "transformers", "threadpoolctl")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=RESULTS.parent,
                              check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> dict[str, object]:
    """The machine a result was measured on: processor, cores, OS, Python and the load average."""
    info: dict[str, object] = {
        "cpu": platform.processor() or platform.machine(),
        "logical_cores": os.cpu_count(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def legacy_machine() -> dict[str, object]:
    """The layout ``book/data/thrml_crossover.json`` has always had (chapter 9 reads ``cpu_count``,
    ``processor``, ``cpu`` and ``versions`` from it): kept for that file only."""
    info, vers = machine(), versions()
    return {"python": info["python"], "platform": info["os"], "processor": platform.processor() or platform.machine(),
            "cpu_count": info["logical_cores"], "cpu": info["cpu"], "versions": vers,
            "git_commit": vers["thermoref_commit"]}


def versions() -> dict[str, object]:
    """numpy, scipy, thermoref (with its git commit) and every peer library importable here."""
    out: dict[str, object] = {}
    for pkg in ("numpy", "scipy", "thermoref", *PEERS):
        try:
            out[pkg] = _md.version(pkg)
        except _md.PackageNotFoundError:
            pass
    out["thermoref_commit"] = _git("rev-parse", "--short", "HEAD")
    out["thermoref_tree_modified"] = bool(_git("status", "--porcelain", "--", "thermoref"))
    return out


def command() -> str:
    """The command line that is running, as typed from the repository root (thread variables included)."""
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "JAX_PLATFORMS")
                   if k in os.environ)
    script = pathlib.Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(RESULTS.parent.parent)
    except ValueError:
        pass
    return " ".join(x for x in (env, "python", str(script), *sys.argv[1:]) if x)


RATIO_DEFINITION = ("ratio = baseline time / thermoref time on the same workload (> 1: thermoref is faster), "
                    "from the minima over interleaved rounds of one run; ratio_median and ratio_range are the "
                    "median, smallest and largest of the per-round ratios (round r of both ran back to back)")


def compare(case: str, sizes: dict[str, object], stats: dict[str, dict[str, object]], *, subject: str,
            baseline: str, kind: str, peer: str | None = None, per_call: float = 1.0, unit: str = "s",
            note: str | None = None) -> dict[str, object]:
    """One results row: ``subject`` (thermoref) against ``baseline`` from the same interleaved ``Timer`` run.

    ``kind`` is ``"numpy baseline"`` (a straightforward NumPy version), ``"peer"`` (another library, named by
    ``peer``), ``"floor"`` (a lower bound no sampler can beat) or ``"thermoref"`` (two thermoref routes).
    ``per_call`` divides the times (e.g. steps per timed call) so the stored times are per ``unit``.
    """
    a, b = stats[subject], stats[baseline]
    paired = [tb / ta for ta, tb in zip(a["times"], b["times"])]
    s = sorted(paired)
    m = len(s)
    row: dict[str, object] = {
        "case": case, "sizes": sizes, "subject": subject, "baseline": baseline, "kind": kind,
        "subject_time": {"min": a["min"] / per_call, "median": a["median"] / per_call},
        "baseline_time": {"min": b["min"] / per_call, "median": b["median"] / per_call},
        "time_unit": unit, "rounds": m,
        "ratio": b["min"] / a["min"],
        "ratio_median": s[m // 2] if m % 2 else 0.5 * (s[m // 2 - 1] + s[m // 2]),
        "ratio_range": [s[0], s[-1]],
    }
    if peer:
        row["peer"] = peer
    if note:
        row["note"] = note
    return row


def write_results(benchmark: str, results: list[dict[str, object]], *, details: dict[str, object] | None = None,
                  notes: list[str] | None = None, ratio_definition: str = RATIO_DEFINITION) -> pathlib.Path:
    """Write ``benchmarks/results/<benchmark>.json`` in the shared schema (see the module docstring)."""
    for row in results:
        missing = {"case", "sizes", "ratio"} - set(row)
        if missing:
            raise ValueError(f"results row without {sorted(missing)}: {row}")
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": benchmark,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "environment": sys.prefix,
        "command": command(),
        "ratio_definition": ratio_definition,
        "notes": list(notes or []),
        "results": results,
        "details": details or {},
    }
    path = RESULTS / f"{benchmark}.json"
    path.write_text(json.dumps(payload, indent=1, default=_jsonable) + "\n")
    progress(f"results written to {path.relative_to(RESULTS.parent.parent)}")
    return path


def _jsonable(x: object) -> object:
    """numpy scalars and arrays, tuples of them: plain JSON values."""
    if hasattr(x, "tolist"):
        return x.tolist()
    return float(x)
