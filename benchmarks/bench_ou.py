"""Exact-OU sampling throughput: thermoref.ou_trajectory versus the JAX peer thermox (if installed).

Measures time points per second (one exact transition of the whole n-dimensional state per point) for
n = 4096 with a diagonal drift and n = 256 with a dense non-normal drift, on a uniform time grid (and, for the
dense case, an irregular grid, where every step needs its own transition matrix in thermoref). thermox is an
optional peer, never a dependency of thermoref: run this script with an interpreter that has thermox + jax to
get the side-by-side numbers; with only numpy/scipy it prints "thermox not installed" and thermoref's numbers.

Usage::

    python benchmarks/bench_ou.py [--points 2000] [--repeats 3]

Timings are wall-clock medians over interleaved repeats on this machine (modeled physical time plays no role
here).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from thermoref.ou import ou_trajectory  # noqa: E402


def _interleaved_rates(fns, points: int, repeats: int) -> list[float]:
    """Median points/s of each callable, timed in alternation so that machine load hits all of them alike."""
    for fn in fns:
        fn()  # warm-up (JIT compilation for thermox, caches for NumPy)
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, acc in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return [points / statistics.median(acc) for acc in times]


def problems(points: int):
    rng = np.random.default_rng(0)
    n_diag, n_dense = 4096, 256
    a = rng.uniform(0.5, 2.0, n_diag)
    M = rng.standard_normal((n_dense, n_dense)) / np.sqrt(n_dense)
    A = M + 2.0 * np.eye(n_dense)  # non-normal, eigenvalues with real part > 0
    ts = 0.01 * np.arange(points, dtype=float)
    ts_irregular = np.sort(rng.uniform(0.0, 0.01 * points, points))
    return {
        "diagonal n=4096": (a, np.zeros(n_diag), np.ones(n_diag), ts),
        "dense n=256": (A, np.zeros(n_dense), np.eye(n_dense), ts),
        "dense n=256 irregular grid": (A, np.zeros(n_dense), np.eye(n_dense), ts_irregular),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        import jax
        import jax.numpy as jnp
        import thermox
    except ImportError:
        thermox = None
        print("thermox not installed: reporting thermoref only")
    rows = []
    for name, (A, b, D, ts) in problems(args.points).items():
        n = b.size
        x0 = np.zeros(n)
        points = args.points if "irregular" not in name else min(args.points, 200)
        ts = ts[:points]
        fns = [lambda: ou_trajectory(x0, ts, A, b, D, rng=1)]
        if thermox is not None:
            Aj = jnp.asarray(np.diag(A) if A.ndim == 1 else A)
            Dj, bj, x0j, tsj = jnp.asarray(np.diag(D) if D.ndim == 1 else D), jnp.asarray(b), jnp.asarray(x0), jnp.asarray(ts)
            key = jax.random.PRNGKey(0)
            fns.append(lambda: thermox.sample(key, tsj, x0j, Aj, bj, Dj).block_until_ready())
        rates = _interleaved_rates(fns, points, args.repeats)
        ours, theirs = rates[0], (rates[1] if len(rates) > 1 else float("nan"))
        rows.append((name, points, ours, theirs))
    print(f"{'case':28s} {'points':>7s} {'thermoref pts/s':>16s} {'thermox pts/s':>14s} {'ratio':>8s}")
    for name, points, ours, theirs in rows:
        ratio = ours / theirs if theirs == theirs else float("nan")
        print(f"{name:28s} {points:7d} {ours:16.0f} {theirs:14.0f} {ratio:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
