"""Where NumPy stops and thrml takes over: block Gibbs sweeps through NumpyBackend vs ThrmlBackend, same models.

Both units run the same chain (chromatic heat-bath sweeps, colours from ``thermoref.ising.greedy_colouring``)
through the same interface call, ``sample_ising(J, h, beta, n_sweeps=..., n_samples=chains, rng=...)``:

* ``numpy``: :class:`thermoref.backend.NumpyBackend` (sparse couplings, float64 states, one product per colour);
* ``thrml``: :class:`thermoref.backend.ThrmlBackend` (thrml's ``sample_blocks`` under ``jax.vmap`` over chains
  and ``jax.lax.fori_loop`` over sweeps, float64). Its one-off costs are measured apart and never enter the
  rate: *setup* (thrml's nodes, blocks and sampling program built in Python) and *compile* (the first call's
  XLA compilation, = first call - setup - a steady call of the same size).

Models: periodic square lattices L x L (L = 16 .. 256, J = 1, sparse) and the G-set instance G22 (2000 nodes,
19 990 edges, a sparse random graph; antiferromagnetic J = -W, the Max-Cut Ising model), each with 1, 16 and
256 independent chains (L = 256 with 256 chains is left out: 16.8 M spins). Steady rates are timed interleaved
(``_common.Timer``), reported as chain-sweeps per second and spin updates per second, best (min time) and
median. From them: the ratio thrml / numpy and the *break-even sweeps*: how many sweeps a run must do before
thrml's setup + compile is paid back (infinite where thrml's steady rate is not higher).

Agreement: the same model through both backends gives the same mean energy per spin within error bars
(standard error over independent chains): the L = 32 lattice at beta = 0.3 (also against the exact finite-lattice
energy, Kaufman) and G22 at beta = 0.5, 256 chains, 300 sweeps from uniform spins.

This machine has no GPU: thrml runs on JAX's CPU backend here, so the crossover measured is NumPy vs thrml on
the *same CPU*. The crossover on an accelerator is not measured here.

Results go to ``benchmarks/results/bench_thrml.json`` and to ``book/data/thrml_crossover.json`` (committed; the
chapter reads it; ``--no-book-data`` leaves that file alone). Usage (in an environment with
``pip install -e .[thrml]``)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_thrml.py [--reps 3] [--quick] [--no-book-data]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np
from scipy import sparse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from _common import Timer, compare, legacy_machine, progress, write_results  # noqa: E402

from thermoref.backend import NumpyBackend  # noqa: E402
from thermoref.backend import thrml_adapter  # noqa: E402
from thermoref.backend.thrml_adapter import ThrmlBackend  # noqa: E402
from thermoref.ising import IsingModel, finite_lattice_energy, greedy_colouring, read_gset  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
GSET = ROOT.parent / "shared" / "gset" / "G22"
BOOK_DATA = ROOT / "book" / "data" / "thrml_crossover.json"
TARGET_S = 0.4  # seconds per timed call (sweeps chosen per method and case)


def lattice(L: int) -> sparse.csr_array:
    """Couplings J = 1 of the periodic L x L square lattice (sparse, row-major sites)."""
    idx = np.arange(L * L).reshape(L, L)
    i = np.concatenate([idx.ravel(), idx.ravel()])
    j = np.concatenate([np.roll(idx, -1, axis=1).ravel(), np.roll(idx, -1, axis=0).ravel()])
    A = sparse.coo_array((np.ones(i.size), (i, j)), shape=(L * L, L * L))
    return sparse.csr_array(A + A.T)


def models(quick: bool) -> list[tuple[str, sparse.csr_array, float]]:
    sizes = (16, 64) if quick else (16, 32, 64, 128, 256)
    out = [(f"lattice L={L}", lattice(L), 0.3) for L in sizes]
    if GSET.exists():
        out.append(("G22", sparse.csr_array(-read_gset(GSET)), 0.5))
    else:
        progress(f"{GSET} not found: G22 left out")
    return out


def sweeps_for(call, chains: int, n: int) -> int:
    """Sweeps that make one call last about TARGET_S, from a short calibration call."""
    probe = 2
    t0 = time.perf_counter()
    call(probe)
    dt = max(time.perf_counter() - t0, 1e-6) / probe
    return int(np.clip(TARGET_S / dt, 2, 20_000))


def one_case(name, J, beta, chains, reps):
    n = J.shape[0]
    h = np.zeros(n)
    ref, thr = NumpyBackend(), ThrmlBackend()
    init = np.ones((chains, n), dtype=np.int8)
    run_np = lambda k: ref.sample_ising(J, h, beta, n_sweeps=k, n_samples=chains, init=init, rng=1)  # noqa: E731
    run_th = lambda k: thr.sample_ising(J, h, beta, n_sweeps=k, n_samples=chains, init=init, rng=1)  # noqa: E731
    # one-off costs of thrml: setup (program built in Python), then the first call (setup + compile + run)
    m = thrml_adapter._load()
    i, j, w = thrml_adapter._edges(sparse.csr_array(J))
    colours = greedy_colouring(J)
    builds = []
    for _ in range(2):  # the smaller of two builds (the first may pay for garbage collection)
        t0 = time.perf_counter()
        with m["jax"].enable_x64(True):
            st = thrml_adapter._Structure(n, i, j, colours, m)
            st.program(beta * h, beta * w, m)
        builds.append(time.perf_counter() - t0)
    setup = min(builds)
    t0 = time.perf_counter()
    run_th(1)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_th(1)
    steady_one = time.perf_counter() - t0
    compile_s = max(first - setup - steady_one, 0.0)
    k_np, k_th = sweeps_for(run_np, chains, n), sweeps_for(run_th, chains, n)
    timer = Timer(f"bench_thrml {name} x{chains}", rounds=reps)
    timer.add("numpy", lambda: run_np(k_np))
    timer.add("thrml", lambda: run_th(k_th))
    stats = timer.run()
    sweeps = {"numpy": k_np, "thrml": k_th}
    rate_best = {k: chains * sweeps[k] / st_["min"] for k, st_ in stats.items()}  # chain-sweeps / s
    rate_median = {k: chains * sweeps[k] / st_["median"] for k, st_ in stats.items()}
    ratio = rate_median["thrml"] / rate_median["numpy"]
    per_np, per_th = 1 / rate_median["numpy"], 1 / rate_median["thrml"]  # seconds per chain-sweep
    break_even = (setup + compile_s) / (chains * (per_np - per_th)) if per_th < per_np else None  # None: never
    print(f"[{name} x{chains}] n={n} colours={int(colours.max()) + 1}: numpy {rate_median['numpy']:.3g}, "
          f"thrml {rate_median['thrml']:.3g} chain-sweeps/s (median; thrml/numpy {ratio:.2f}); thrml setup "
          f"{setup:.2f} s, compile {compile_s:.2f} s; break-even after {break_even if break_even is None else round(break_even)} sweeps")
    return {"model": name, "n": n, "edges": int(J.nnz // 2), "colours": int(colours.max()) + 1, "chains": chains,
            "beta": beta, "sweeps_per_call": sweeps, "timings": stats, "chain_sweeps_per_s_best": rate_best,
            "chain_sweeps_per_s_median": rate_median,
            "spin_updates_per_s_median": {k: v * n for k, v in rate_median.items()},
            "thrml_over_numpy_median": ratio, "thrml_setup_s": setup, "thrml_compile_s": compile_s,
            "thrml_first_call_s": first, "break_even_sweeps": break_even}


def mean_energy(unit, J, beta, chains, sweeps, seed):
    """Mean energy per spin over independent chains, with its standard error."""
    model = IsingModel(J)
    s = unit.sample_ising(J, np.zeros(J.shape[0]), beta, n_sweeps=sweeps, n_samples=chains, rng=seed)
    e = model.energy(s) / J.shape[0]  # (chains,)
    return float(e.mean()), float(e.std(ddof=1) / np.sqrt(chains))


def agreement(models_, chains=256, sweeps=300):
    out = []
    for name, J, beta in models_:
        if name not in ("lattice L=32", "G22"):
            continue
        e_np, se_np = mean_energy(NumpyBackend(), J, beta, chains, sweeps, seed=2)
        e_th, se_th = mean_energy(ThrmlBackend(), J, beta, chains, sweeps, seed=3)
        z = (e_th - e_np) / np.hypot(se_np, se_th)
        row = {"model": name, "beta": beta, "chains": chains, "sweeps": sweeps, "numpy_energy": e_np,
               "numpy_se": se_np, "thrml_energy": e_th, "thrml_se": se_th, "z_difference": float(z)}
        if name.startswith("lattice"):
            L = int(round(np.sqrt(J.shape[0])))
            row["exact_energy"] = float(finite_lattice_energy(beta, L, L))
        print(f"[energy {name}] numpy {e_np:.5f} +- {se_np:.5f}, thrml {e_th:.5f} +- {se_th:.5f}, z = {z:.2f}"
              + (f", exact {row['exact_energy']:.5f}" if "exact_energy" in row else ""))
        out.append(row)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions per case (default 3)")
    parser.add_argument("--quick", action="store_true", help="two lattice sizes only (a smoke run)")
    parser.add_argument("--no-book-data", action="store_true",
                        help="write benchmarks/results only, leave book/data/thrml_crossover.json (chapter 9) alone")
    args = parser.parse_args(argv)
    import jax

    platform = jax.devices()[0].platform
    progress(f"thrml {thrml_adapter._load()['thrml'].__version__}, jax {jax.__version__} on {platform}")
    ms = models(args.quick)
    ThrmlBackend().sample_ising(lattice(4), np.zeros(16), 0.3, n_sweeps=1, n_samples=1, rng=0)  # JAX warm-up
    cases = []
    for name, J, beta in ms:
        for chains in (1, 16, 256):
            if J.shape[0] * chains > 4_000_000:
                continue
            cases.append(one_case(name, J, beta, chains, args.reps))
    energies = agreement(ms)
    results = {"device": platform, "accelerator_measured": platform != "cpu",
               "note": "No GPU on this machine: thrml ran on JAX's CPU backend; the crossover on an accelerator "
                       "is not measured here.",
               "command": "OPENBLAS_NUM_THREADS=1 python benchmarks/bench_thrml.py --reps " + str(args.reps),
               "cases": cases, "energies": energies}
    rows = []
    for c in cases:
        per = {k: {"min": st_["min"] / (c["chains"] * c["sweeps_per_call"][k]),
                   "median": st_["median"] / (c["chains"] * c["sweeps_per_call"][k]),
                   "times": [t / (c["chains"] * c["sweeps_per_call"][k]) for t in st_["times"]]}
               for k, st_ in c["timings"].items()}
        be = c["break_even_sweeps"]
        rows.append(compare(f"{c['model']}, {c['chains']} chains: NumpyBackend vs ThrmlBackend",
                            {"n": c["n"], "edges": c["edges"], "chains": c["chains"]}, per, subject="numpy",
                            baseline="thrml", kind="peer", peer="thrml", unit="s per chain-sweep",
                            note=f"thrml on JAX's {platform} backend; setup {c['thrml_setup_s']:.2g} s + compile "
                                 f"{c['thrml_compile_s']:.2g} s not in the rate; break-even "
                                 + ("never" if be is None else f"after {be:.0f} sweeps")))
    write_results("bench_thrml", rows, details=results,
                  notes=[f"{args.reps} interleaved rounds per case; no GPU on this machine: thrml ran on JAX's CPU "
                         "backend; rates per chain-sweep"])
    if args.no_book_data:
        return 0
    BOOK_DATA.parent.mkdir(parents=True, exist_ok=True)
    payload = {"script": "bench_thrml", "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": legacy_machine(),
               **results}
    for c in payload["cases"]:
        c.pop("timings")  # the per-round times stay in benchmarks/results
    BOOK_DATA.write_text(json.dumps(payload, indent=1, default=float) + "\n")
    progress(f"book data written to {BOOK_DATA.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
