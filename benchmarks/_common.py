"""Shared benchmark machinery: interleaved timing, min and median, progress lines, and a results file.

Every benchmark script times its methods *interleaved* (round r runs every method once, in a rotated order,
before round r + 1 starts), so slow drifts of the machine's load hit all methods alike, and reports the minimum
and the median over rounds. Ratios are formed from the same run. Each script writes its results, with the
machine, the library versions and the date, to ``benchmarks/results/<script>.json`` (git-ignored), which a
performance page can read.

Usage inside a script::

    from _common import Timer, write_results
    timer = Timer("bench_x", rounds=5)
    timer.add("exact", lambda: f(a))
    timer.add("sampled", lambda: g(a))
    stats = timer.run()                     # {"exact": {"min": s, "median": s, "times": [...]}, ...}
    write_results("bench_x", {"timings": stats, "ratios": {...}, "algorithm": {...}})
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


def machine() -> dict[str, object]:
    """The machine and the versions a result was measured with."""
    info: dict[str, object] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for pkg in ("thermoref", "numpy", "scipy", "jax", "jaxlib", "thermox", "thrml"):
        try:
            versions[pkg] = _md.version(pkg)
        except _md.PackageNotFoundError:
            pass
    info["versions"] = versions
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                            text=True, cwd=RESULTS.parent, check=False).stdout.strip()
    except OSError:
        pass
    return info


def write_results(script: str, results: dict[str, object]) -> pathlib.Path:
    """Write ``results`` with the machine, versions and date to ``benchmarks/results/<script>.json``."""
    RESULTS.mkdir(exist_ok=True)
    payload = {"script": script, "date": _dt.datetime.now().isoformat(timespec="seconds"),
               "machine": machine(), **results}
    path = RESULTS / f"{script}.json"
    path.write_text(json.dumps(payload, indent=2, default=float))
    progress(f"results written to {path.relative_to(RESULTS.parent.parent)}")
    return path
