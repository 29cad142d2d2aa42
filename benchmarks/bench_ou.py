"""Benchmark: exact OU sample paths, thermoref against the JAX peer thermox (if installed), timed fairly.

Cases (one path of one n-dimensional device; x0 = 0 far from nothing, b = 0, D = I):

* ``diagonal n=4096``: a diagonal drift on a uniform grid. thermoref's elementwise path never forms an
  (n, n) matrix; thermox has no diagonal path, so its users pass the dense (n, n) diagonal matrix.
* ``dense n=256 uniform``: the non-normal drift ``A = M/sqrt(n) + 2I`` (M Gaussian) on a uniform grid.
* ``dense n=256 irregular``: the same drift on 200 sorted uniform times, every step a different length.

How each side is timed, as its own users would run it:

* thermox (0.0.6): ``thermox.preprocess(A, D)`` once (its eigendecompositions), then ``jax.jit(thermox.sample)``
  called on the preprocessed matrices; the preprocessing and the first (compiling) call are reported as *setup*,
  not timed per call. JAX runs in float64 (``jax_enable_x64``) so that both sides compute in the same precision;
  ``--float32`` runs thermox in JAX's default float32 instead.
* thermoref: ``OUProcess(A, b, D)`` once (the drift's eigenbasis: its setup, reported separately), then
  ``.trajectory`` per call; and ``ou_trajectory`` per call, which repeats the setup every time.

Methods are interleaved within every round (``_common.Timer``), minimum and median reported, progress printed,
and the results written to ``benchmarks/results/bench_ou.json``. Next to the timings the script measures where
thermox is *wrong*: it builds each step's covariance from the symmetric part of the drift, which is exact only
for normal drifts; its relative covariance error on these non-normal drifts is printed (and thermoref's, against
SciPy's Van Loan block exponential, for the same step).

Usage::

    python benchmarks/bench_ou.py [--rounds 5] [--points 2000] [--diag-points 200] [--float32] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import Timer, compare, progress, write_results
from scipy import linalg

from thermoref._ou_paths import _plan_path
from thermoref.ou import OUProcess, ou_trajectory


def problems(points: int, diag_points: int) -> dict[str, tuple]:
    rng = np.random.default_rng(0)
    n_diag, n_dense = 4096, 256
    a = rng.uniform(0.5, 2.0, n_diag)
    M = rng.standard_normal((n_dense, n_dense)) / np.sqrt(n_dense)
    A = M + 2.0 * np.eye(n_dense)  # non-normal, eigenvalues in the disc |lambda - 2| <= 1
    ts_irregular = np.sort(rng.uniform(0.0, 20.0, 2000))[:200]  # 200 distinct steps
    return {
        "diagonal n=4096": (a, np.zeros(n_diag), np.ones(n_diag), 0.01 * np.arange(1, diag_points + 1)),
        "dense n=256 uniform": (A, np.zeros(n_dense), np.eye(n_dense), 0.01 * np.arange(1, points + 1)),
        "dense n=256 irregular": (A, np.zeros(n_dense), np.eye(n_dense), ts_irregular),
    }


def algorithm(dev: OUProcess, ts: np.ndarray) -> str:
    """What thermoref runs for this grid, in words."""
    if dev.method == "elementwise":
        return "elementwise: exact scalar transitions per coordinate, O(n) per step, no (n, n) matrix"
    if dev.method == "series":
        return "series: Van Loan Taylor series plus doubling per distinct step (ill-conditioned eigenvectors)"
    s = ts / dev.tau0
    h, _, q, panels, quad = _plan_path(dev._modes, np.diff(s, prepend=0.0), float(s[-1]), nb=1)
    return (f"eigen: real block-diagonal eigenbasis (kappa_2(P) = {dev.kappa:.3g} <= 1e3), O(n) mean step; "
            f"{h.size} distinct steps: {int((~quad).sum())} by closed-form covariance + Cholesky, "
            f"{int(quad.sum())} by Gauss-Legendre quadrature of the noise integral "
            f"({int((q * panels)[quad].sum())} nodes); one x = P y product over the grid")


def vanloan(A: np.ndarray, D: np.ndarray, h: float) -> np.ndarray:
    """Exact Sigma(h) from SciPy's expm of Van Loan's block matrix (independent of both libraries)."""
    n = A.shape[0]
    blk = np.zeros((2 * n, 2 * n))
    blk[:n, :n], blk[:n, n:], blk[n:, n:] = -A, D, A.T
    E = linalg.expm(blk * h)
    return E[:n, n:] @ E[:n, :n].T


def thermox_covariance(thermox, jnp, PA, h: float) -> np.ndarray:
    """The transition covariance thermox samples with (D = I), read off its own square-root operator."""
    import jax

    n = PA.val.shape[0]
    L = jax.vmap(lambda v: thermox.sampler.transition_cov_sqrt_vp(PA, v, h), in_axes=1, out_axes=1)(jnp.eye(n))
    L = np.asarray(L)
    return L @ L.T


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--points", type=int, default=2000, help="time points of the dense uniform grid")
    parser.add_argument("--diag-points", type=int, default=200, help="time points of the n = 4096 diagonal case")
    parser.add_argument("--float32", action="store_true", help="run thermox in JAX's default float32")
    parser.add_argument("--quick", action="store_true", help="skip the n = 4096 case (minutes of thermox setup)")
    args = parser.parse_args(argv)
    try:
        import jax

        if not args.float32:
            jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import thermox
    except ImportError:
        thermox = None
        progress("thermox (or jax) not installed: reporting thermoref only")
    results: dict[str, object] = {"cases": {}, "thermox_dtype": None if thermox is None else
                                  ("float32" if args.float32 else "float64")}
    rows: list[dict[str, object]] = []
    print(f"{'case':24s} {'method':41s} {'min s':>9s} {'median s':>9s} {'points/s':>11s}")
    for name, (A, b, D, ts) in problems(args.points, args.diag_points).items():
        if args.quick and name.startswith("diagonal"):
            continue
        progress(f"{name}: setting up ({len(ts)} time points)")
        n = b.size
        x0 = np.zeros(n)
        t0 = time.perf_counter()
        dev = OUProcess(A, b, D)
        setup = {"thermoref OUProcess": time.perf_counter() - t0}
        timer = Timer(f"bench_ou {name}", rounds=args.rounds)
        timer.add("thermoref OUProcess.trajectory", lambda: dev.trajectory(x0, ts, rng=1))
        timer.add("thermoref ou_trajectory (setup per call)", lambda: ou_trajectory(x0, ts, A, b, D, rng=1))
        accuracy: dict[str, dict[str, float]] = {}
        if thermox is not None:
            Ad = np.diag(A) if A.ndim == 1 else A
            Dd = np.diag(D) if D.ndim == 1 else D
            t0 = time.perf_counter()
            PA, PD = thermox.preprocess(jnp.asarray(Ad), jnp.asarray(Dd))
            jax.block_until_ready((PA, PD))
            setup["thermox preprocess"] = time.perf_counter() - t0
            sample = jax.jit(thermox.sample)
            key = jax.random.PRNGKey(0)
            tsj = jnp.asarray(np.concatenate([[0.0], ts]))  # thermox's grid includes the time of x0
            x0j, bj = jnp.asarray(x0), jnp.asarray(b)
            t0 = time.perf_counter()
            sample(key, tsj, x0j, PA, bj, PD).block_until_ready()
            setup["thermox jit compile + first call"] = time.perf_counter() - t0
            timer.add("thermox jit(sample), preprocessed", lambda: sample(key, tsj, x0j, PA, bj, PD).block_until_ready())
            if A.ndim == 2:  # where thermox is also wrong: its covariance of a typical step, and of a step of 1
                for label, h in (("median step", float(np.median(np.diff(ts)))), ("step 1.0", 1.0)):
                    exact = vanloan(A, D, h)
                    err = lambda S: float(np.linalg.norm(S - exact) / np.linalg.norm(exact))  # noqa: E731
                    F_c, F_q = dev._modes.step_factor(h, "cholesky"), dev._modes.step_factor(h, "quadrature")
                    accuracy[label] = {"h": h, "thermox": err(thermox_covariance(thermox, jnp, PA, h)),
                                       "thermoref cholesky": err(F_c @ F_c.T), "thermoref quadrature": err(F_q @ F_q.T)}
        stats = timer.run()
        algo = algorithm(dev, ts)
        for method, st in stats.items():
            st["points_per_s (min time)"] = len(ts) / st["min"]
            print(f"{name:24s} {method:41s} {st['min']:9.4f} {st['median']:9.4f} {len(ts) / st['min']:11.0f}")
        ratios = {}
        if thermox is not None:
            tx = stats["thermox jit(sample), preprocessed"]
            for method in ("thermoref OUProcess.trajectory", "thermoref ou_trajectory (setup per call)"):
                ratios[f"thermox / {method} (min)"] = tx["min"] / stats[method]["min"]
                ratios[f"thermox / {method} (median)"] = tx["median"] / stats[method]["median"]
            print(f"{'':24s} speed ratio thermox/thermoref (OUProcess): min {ratios['thermox / thermoref OUProcess.trajectory (min)']:.2f}, "
                  f"median {ratios['thermox / thermoref OUProcess.trajectory (median)']:.2f}   (>= 1: thermoref as fast or faster)")
            print(f"{'':24s} setup: " + ", ".join(f"{k} {v:.3f} s" for k, v in setup.items()))
        for label, acc in accuracy.items():
            print(f"{'':24s} covariance of a step h = {acc['h']:.4g} ({label}) vs SciPy Van Loan, relative Frobenius "
                  f"error: thermox {acc['thermox']:.3g} (symmetric-part formula: wrong for this non-normal drift), "
                  f"thermoref {acc['thermoref cholesky']:.2g} (Cholesky factor) / {acc['thermoref quadrature']:.2g} "
                  "(quadrature factor)")
        print(f"{'':24s} thermoref algorithm: {algo}")
        if thermox is not None:
            for method in ("thermoref OUProcess.trajectory", "thermoref ou_trajectory (setup per call)"):
                rows.append(compare(f"{name}: {method.split()[1]} vs thermox", {"n": int(n), "points": int(len(ts))},
                                    stats, subject=method, baseline="thermox jit(sample), preprocessed", kind="peer",
                                    peer="thermox",
                                    note="thermox preprocessed and jit-compiled outside the timed call (setup "
                                         f"{setup.get('thermox preprocess', 0):.3g} s + compile "
                                         f"{setup.get('thermox jit compile + first call', 0):.3g} s)"))
        results["cases"][name] = {"points": int(len(ts)), "n": int(n), "timings": stats, "setup": setup,
                                  "ratios": ratios, "accuracy": accuracy, "thermoref_algorithm": algo}
    notes = [f"{args.rounds} interleaved rounds per case; one path of one device per call"]
    if thermox is None:
        notes.append("thermox not installed: no comparison rows (thermoref timings in details)")
    else:
        notes.append(f"thermox in JAX {results['thermox_dtype']} on the CPU; thermox's covariance is exact only for "
                     "normal drifts, its error on these non-normal drifts is in details.cases.*.accuracy")
    write_results("bench_ou", rows, details=results, notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
