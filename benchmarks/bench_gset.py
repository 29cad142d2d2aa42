"""Max-Cut on the public G-set instances: cut reached against sweeps and wall time, NumPy against thrml, devices.

The five instances of ``../shared/gset/`` (G22, G43: random graphs of 2,000 and 1,000 nodes; G55: a sparse
random graph of 5,000 nodes with isolated nodes; G62, G81: toroidal +-1 spin glasses of 7,000 and 20,000 nodes)
are read with :func:`thermoref.ising.read_gset` and annealed through the documented route,
``maxcut_model(W)`` (sparse couplings) then ``simulated_annealing``, with K independent runs as chains of one
call. Parts:

* ``schedules``: the best and mean cut of K = 4 runs for each schedule (geometric or linear beta, range,
  number of sweeps), as a fraction of the best-known cut (``BEST_KNOWN`` from ``../shared/gset/README.md``;
  where the published tables disagree both values are kept and the fraction is taken against the higher one),
  with the wall time of the call;
* ``blas``: the dense route (``maxcut_model(W.toarray())``) on G43 and G22 in subprocesses with
  ``OPENBLAS_NUM_THREADS=1`` and with the default threading (threadpoolctl is not installed in the
  reference venv), same seed: time per sweep and whether the bits are the same; the sparse route beside it;
* ``thrml``: the same schedule on the same instance through ``simulated_annealing(..., backend=ThrmlBackend())``
  (one thrml call per sweep) and thrml's own throughput at fixed beta (``sample_ising`` with many sweeps in one
  compiled call, compile time reported apart), against NumPy; run in a separate interpreter that has thrml
  (``--thrml-python``, default ``/tmp/vthrml/bin/python``), skipped with the reason where it is missing;
* ``hardware``: the same schedule with device non-idealities (``thermoref.backend.HardwareModel``: DAC bits
  on the couplings, stale neighbour values), when that class exists; skipped with the reason otherwise.

Results go to ``benchmarks/results/bench_gset.json`` (committed; the appendix reads it) and, in a full run, a
small summary chapter 9 reads to ``book/data/gset_summary.json`` (committed: the book never reads ``../shared``
at build time).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_gset.py [--quick] [--gset ../shared/gset] [--no-thrml]

The full run takes about 10-15 min on the 2-core development machine; ``--quick`` about 1 min.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _common import progress, write_results  # noqa: E402

from thermoref.ising import cut_value, greedy_colouring, maxcut_model, read_gset, simulated_annealing  # noqa: E402

#: Best-known cuts, ../shared/gset/README.md: (value used for the fractions, all published values).
BEST_KNOWN = {"G22": (13359, [13359]), "G43": (6660, [6660]), "G55": (10299, [10299, 10289]),
              "G62": (4870, [4870, 4844]), "G81": (14060, [14060])}
INSTANCES = ["G43", "G22", "G55", "G62", "G81"]
K = 4  # independent runs per call (chains)


def schedule(kind: str, b0: float, b1: float, n_sweeps: int) -> np.ndarray:
    """The inverse temperatures of a geometric or linear annealing schedule."""
    return np.geomspace(b0, b1, n_sweeps) if kind == "geometric" else np.linspace(b0, b1, n_sweeps)


def starts(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(K, n))  # (K, n)


def anneal(W, kind: str, b0: float, b1: float, n_sweeps: int, seed: int = 1, **kwargs) -> dict:
    """K runs of one schedule on W; cut values, fractions of the best known, wall time."""
    model = maxcut_model(W)
    colours = kwargs.pop("colours", None)
    t0 = time.perf_counter()
    res = simulated_annealing(model, starts(W.shape[0]), schedule(kind, b0, b1, n_sweeps), rng=seed,
                              colours=colours, **kwargs)
    dt = time.perf_counter() - t0
    cuts = cut_value(res.best_spins, W)
    return {"cuts": cuts.tolist(), "best": float(cuts.max()), "mean": float(cuts.mean()), "time_s": dt,
            "trace_mean_cut": None, "digest": hashlib.sha256(res.best_spins.tobytes()).hexdigest()[:16]}


def part_schedules(gset: pathlib.Path, quick: bool) -> list[dict]:
    kinds = [("geometric", 0.1, 5.0), ("linear", 0.1, 3.0)]
    sweeps = [200, 1000] if quick else [200, 1000, 3000, 10000]
    rows = []
    for name in (["G43", "G62"] if quick else INSTANCES):
        W = read_gset(gset / name)
        colours = greedy_colouring(W)
        best = BEST_KNOWN[name][0]
        for kind, b0, b1 in kinds:
            for S in sweeps:
                r = anneal(W, kind, b0, b1, S, colours=colours)
                r.update(instance=name, n=W.shape[0], edges=W.nnz // 2, schedule=kind, beta_min=b0, beta_max=b1,
                         sweeps=S, best_known=best, frac_best=r["best"] / best, frac_mean=r["mean"] / best,
                         ms_per_sweep=1e3 * r["time_s"] / S)
                rows.append(r)
                progress(f"{name} {kind} {b0}->{b1} {S:>6} sweeps: cuts {[int(c) for c in r['cuts']]} "
                         f"best {r['frac_best']:.4f} mean {r['frac_mean']:.4f} of {best} ({r['time_s']:.1f} s)")
    if not quick:  # the toroidal instances need longer schedules
        for name, kind, b0, b1 in (("G62", "linear", 0.1, 3.0), ("G62", "geometric", 0.1, 5.0), ("G81", "linear", 0.1, 3.0)):
            W = read_gset(gset / name)
            best = BEST_KNOWN[name][0]
            r = anneal(W, kind, b0, b1, 30000, colours=greedy_colouring(W))
            r.update(instance=name, n=W.shape[0], edges=W.nnz // 2, schedule=kind, beta_min=b0, beta_max=b1,
                     sweeps=30000, best_known=best, frac_best=r["best"] / best, frac_mean=r["mean"] / best,
                     ms_per_sweep=1e3 * r["time_s"] / 30000)
            rows.append(r)
            progress(f"{name} {kind} {b0}->{b1} 30000 sweeps: cuts {[int(c) for c in r['cuts']]} "
                     f"best {r['frac_best']:.4f} mean {r['frac_mean']:.4f} of {best} ({r['time_s']:.1f} s)")
    return rows


_BLAS_CHILD = r"""
import hashlib, json, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from thermoref.ising import maxcut_model, read_gset, simulated_annealing
W = read_gset({path!r})
dense = {dense!r}
model = maxcut_model(W.toarray() if dense else W)  # the dense route on purpose
s = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=({K}, W.shape[0]))
betas = np.geomspace(0.1, 5.0, {sweeps})
simulated_annealing(model, s, betas[:5], rng=1)  # warm-up
times = []
for _ in range(3):
    t0 = time.perf_counter(); res = simulated_annealing(model, s, betas, rng=1); times.append(time.perf_counter() - t0)
print(json.dumps({{"min_s": min(times), "times": times, "digest": hashlib.sha256(res.best_spins.tobytes()).hexdigest()[:16]}}))
"""


def part_blas(gset: pathlib.Path, quick: bool) -> list[dict]:
    rows = []
    sweeps = 100 if quick else 300
    for name in (["G43"] if quick else ["G43", "G22"]):
        for dense, threads in ((True, "1"), (True, None), (False, "1")):
            env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                                    "MKL_NUM_THREADS")}
            if threads:
                env["OPENBLAS_NUM_THREADS"] = threads
            code = _BLAS_CHILD.format(root=str(ROOT), path=str(gset / name), dense=dense, K=K, sweeps=sweeps)
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r.update(instance=name, route="dense" if dense else "sparse", threads=threads or "default",
                     sweeps=sweeps, ms_per_sweep=1e3 * r["min_s"] / sweeps)
            rows.append(r)
            progress(f"{name} {r['route']} OPENBLAS_NUM_THREADS={r['threads']}: {r['ms_per_sweep']:.2f} ms/sweep "
                     f"(digest {r['digest']})")
    return rows


_THRML_CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from thermoref.ising import block_gibbs, cut_value, maxcut_model, read_gset, simulated_annealing
try:
    from thermoref.backend import ThrmlBackend
except ImportError:  # not exported yet
    from thermoref.backend.thrml_adapter import ThrmlBackend
out = {{}}
W = read_gset({path!r}); model = maxcut_model(W)
s = np.random.default_rng(0).choice(np.array([-1, 1], dtype=np.int8), size=({K}, W.shape[0]))
unit = ThrmlBackend()
# throughput at fixed beta: one compiled call of many sweeps (compile time apart)
t0 = time.perf_counter(); unit.sample_ising(model.J, model.h, 1.0, n_sweeps=2, n_samples={K}, init=s, rng=0)
out["thrml_first_call_s"] = time.perf_counter() - t0
for S in ({fixed},):
    t0 = time.perf_counter(); unit.sample_ising(model.J, model.h, 1.0, n_sweeps=S, n_samples={K}, init=s, rng=1)
    out["thrml_fixed_beta_ms_per_sweep"] = 1e3 * (time.perf_counter() - t0) / S
    t0 = time.perf_counter(); block_gibbs(model, s, 1.0, S, rng=1)
    out["numpy_fixed_beta_ms_per_sweep"] = 1e3 * (time.perf_counter() - t0) / S
# the same annealing schedule through both units (one thrml call per sweep)
betas = np.geomspace(0.1, 5.0, {sweeps})
try:
    if not {sweeps}:
        raise TypeError("annealing through thrml skipped on this instance (one compiled call per sweep)")
    t0 = time.perf_counter(); res = simulated_annealing(model, s, betas, rng=1, backend=unit)
    out["thrml_anneal_s"] = time.perf_counter() - t0
    out["thrml_anneal_cuts"] = cut_value(res.best_spins, W).tolist()
except TypeError as err:  # simulated_annealing without backend=
    out["thrml_anneal_error"] = str(err)
t0 = time.perf_counter(); res = simulated_annealing(model, s, betas, rng=1)
out["numpy_anneal_s"] = time.perf_counter() - t0
out["numpy_anneal_cuts"] = cut_value(res.best_spins, W).tolist()
import importlib.metadata as md
out["versions"] = {{p: md.version(p) for p in ("thrml", "jax", "jaxlib")}}
print(json.dumps(out))
"""


def part_thrml(gset: pathlib.Path, quick: bool, python: str) -> dict:
    if not pathlib.Path(python).exists():
        return {"skipped": f"no interpreter {python} (thrml lives in a separate environment)"}
    rows = {}
    for name in (["G43"] if quick else ["G43", "G81"]):
        code = _THRML_CHILD.format(root=str(ROOT), path=str(gset / name), K=K, sweeps=100 if name == "G43" else 0,
                                   fixed=200 if quick else 1000)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", JAX_PLATFORMS="cpu")
        out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True)
        if out.returncode:
            rows[name] = {"skipped": out.stderr.strip().splitlines()[-1][:300]}
        else:
            rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
        progress(f"thrml {name}: {rows[name]}")
    return rows


def part_hardware(gset: pathlib.Path, quick: bool) -> dict:
    try:
        from thermoref.backend import HardwareModel, NumpyBackend
    except ImportError as err:
        progress(f"hardware: skipped, thermoref.backend.HardwareModel not available ({err})")
        return {"skipped": f"thermoref.backend.HardwareModel not available ({err})"}
    rows = []
    names = ["G43"] if quick else ["G43", "G62"]
    sweeps = 200 if quick else 1000
    for name in names:
        W = read_gset(gset / name)
        best = BEST_KNOWN[name][0]
        for label, kw in [("ideal", {}), ("dac 2 bits, F = 1", dict(dac_bits=2, full_scale=1.0)),
                          ("dac 3 bits, F = 2.5", dict(dac_bits=3, full_scale=2.5)),
                          ("stale neighbours, delay 1", dict(delay=1))]:
            try:
                unit = HardwareModel(NumpyBackend(), **kw) if kw else NumpyBackend()
                r = anneal(W, "geometric", 0.1, 5.0, sweeps, backend=unit)
            except (TypeError, ValueError) as err:
                rows.append({"instance": name, "device": label, "skipped": str(err)[:200]})
                continue
            r.update(instance=name, device=label, sweeps=sweeps, frac_best=r["best"] / best, frac_mean=r["mean"] / best)
            rows.append(r)
            progress(f"hardware {name} {label}: best {r['frac_best']:.4f} mean {r['frac_mean']:.4f}")
    return {"rows": rows}


def ratio_rows(res: dict) -> list[dict]:
    """Results rows of the shared schema: the sparse route against the dense one, NumPy against thrml."""
    rows = []
    by = {(r["instance"], r["route"], r["threads"]): r for r in res["blas"]}
    for (name, route, threads), r in by.items():
        if route != "dense":
            continue
        sparse_ = by.get((name, "sparse", "1"))
        if sparse_:
            rows.append({"case": f"{name}: sparse route vs dense route (BLAS threads {threads})",
                         "sizes": {"instance": name, "runs": K, "sweeps": r["sweeps"]}, "subject": "sparse, 1 thread",
                         "baseline": f"dense, {threads} thread(s)", "kind": "thermoref",
                         "subject_time": {"min": sparse_["ms_per_sweep"] / 1e3},
                         "baseline_time": {"min": r["ms_per_sweep"] / 1e3}, "time_unit": "s per sweep",
                         "rounds": len(r["times"]), "ratio": r["ms_per_sweep"] / sparse_["ms_per_sweep"],
                         "note": "minimum of 3 calls each, in separate subprocesses"})
    for name, t in (res["thrml"].items() if isinstance(res["thrml"], dict) else []):
        if not isinstance(t, dict) or "thrml_fixed_beta_ms_per_sweep" not in t:
            continue
        rows.append({"case": f"{name}: NumPy block Gibbs vs thrml at fixed beta",
                     "sizes": {"instance": name, "runs": K}, "subject": "numpy block_gibbs",
                     "baseline": "thrml sample_ising", "kind": "peer", "peer": "thrml",
                     "subject_time": {"min": t["numpy_fixed_beta_ms_per_sweep"] / 1e3},
                     "baseline_time": {"min": t["thrml_fixed_beta_ms_per_sweep"] / 1e3}, "time_unit": "s per sweep",
                     "rounds": 1, "ratio": t["thrml_fixed_beta_ms_per_sweep"] / t["numpy_fixed_beta_ms_per_sweep"],
                     "note": f"one call each; thrml's first (compiling) call took {t['thrml_first_call_s']:.2g} s, "
                             "not in the rate"})
    return rows


def summary(results: dict) -> dict:
    """The small file the book reads: per instance and schedule, the fractions and times."""
    sched = [{k: r[k] for k in ("instance", "n", "edges", "schedule", "beta_min", "beta_max", "sweeps", "best",
                                "mean", "best_known", "frac_best", "frac_mean", "time_s", "ms_per_sweep")}
             for r in results["schedules"]]
    return {"source": "benchmarks/bench_gset.py", "date": results["date"], "runs_per_call": K,
            "best_known": {k: {"used": v[0], "published": v[1]} for k, v in BEST_KNOWN.items()},
            "schedules": sched, "blas": results["blas"], "thrml": results["thrml"], "hardware": results["hardware"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="two instances, short schedules (about a minute)")
    ap.add_argument("--gset", default=str(ROOT.parent / "shared" / "gset"), help="folder of the G-set files")
    ap.add_argument("--no-thrml", action="store_true")
    ap.add_argument("--thrml-python", default="/tmp/vthrml/bin/python")
    ap.add_argument("--parts", default="schedules,blas,thrml,hardware")
    args = ap.parse_args()
    gset = pathlib.Path(args.gset)
    if not (gset / "G43").is_file():
        sys.exit(f"no G-set files in {gset} (they live in ../shared/gset, outside the repository)")
    parts = args.parts.split(",")
    res: dict = {"quick": args.quick, "date": time.strftime("%Y-%m-%d"), "runs_per_call": K}
    res["schedules"] = part_schedules(gset, args.quick) if "schedules" in parts else []
    res["blas"] = part_blas(gset, args.quick) if "blas" in parts else []
    res["thrml"] = ({"skipped": "--no-thrml"} if args.no_thrml or "thrml" not in parts
                    else part_thrml(gset, args.quick, args.thrml_python))
    res["hardware"] = part_hardware(gset, args.quick) if "hardware" in parts else {"skipped": "not run"}
    write_results("bench_gset", ratio_rows(res), details=res, notes=[
        "not interleaved: the BLAS routes run in subprocesses (minimum of 3 calls each), the thrml comparison in "
        "another interpreter (one call each); cut quality against the best-known cuts is in details.schedules",
        "quick run (two instances, short schedules)" if args.quick else "full run"])
    if not args.quick:
        out = ROOT / "book" / "data" / "gset_summary.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(summary(res), indent=1, default=float) + "\n")
        progress(f"summary written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
