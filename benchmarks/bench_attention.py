"""Benchmark: sampled attention backends vs exact softmax attention vs a per-row loop.

Workload (issue 6): one layer's attention with 8 heads, S = T = 512 tokens, d = 64, K = 64 keys sampled per
query. Every timing is end to end from (Q, K, V) to the (8, 512, 64) output, float64, timed interleaved in one
run (``_common.Timer``: every round runs every method once, in rotated order), minimum and median over rounds;
ratios are formed from the minima of the same run.

Methods:

* ``exact softmax attention``: :func:`thermoref.attention.softmax_attention` (validation, logits, row softmax,
  ``p @ V``), the reference the targets are stated against;
* ``plain NumPy exact attention``: what a careful user writes without validation (``Q @ K^T / sqrt(d)``, shift,
  exp, normalise, ``p @ V``), shown so that the exact baseline is seen to carry no padding of its own;
* ``sampled (exact)``, ``sampled (gumbel)``, ``sampled (chain)``: :func:`thermoref.attention.sampled_attention`
  with each backend (the chain with its default 100 warm-up steps);
* ``per-row loop``: one Python iteration per query row (logits, softmax, ``Generator.choice``, mean of the
  sampled values), timed on ``--loop-rows`` rows and scaled linearly to all 8 x 512 rows (rows are independent
  and identical in cost, so the scaling is exact up to cache effects).

Targets (issue 9): sampled attention with the exact backend within 1.5x of exact softmax attention; the Gumbel
backend within 10x. The last column checks each estimator's mean squared error against its law
``tr Cov_p(v) / K`` (about 1 for independent draws, larger for the chain).

Usage::

    python benchmarks/bench_attention.py [--rounds 5] [--loop-rows 256]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _common import Timer, compare, progress, write_results

from thermoref.attention import attention_logits, sampled_attention, sampling_mse, softmax_attention

H, S, D, K_SAMPLES = 8, 512, 64, 64

ALGORITHMS = {
    "exact": "inverse CDF: exp + cumsum per row, one uniform per key, vectorized branchless bisection; then the "
             "empirical weights (one bincount) times V, one matrix product like exact attention's",
    "gumbel": "two-level Gumbel-max as an exponential race (about 2 sqrt(S) = 46 exponential variates per key), "
              "then the empirical weights times V",
    "chain": "one Metropolis chain per query row (uniform proposal, 100 warm-up steps), then the empirical weights "
             "times V",
}


def plain_exact(Q, Kmat, V):
    """Exact attention without validation, as a careful user writes it in NumPy."""
    ell = Q @ np.swapaxes(Kmat, -1, -2) / np.sqrt(Q.shape[-1])  # (H, T, S)
    w = np.exp(ell - ell.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    return w @ V  # (H, T, D)


def naive_rows(Q, Kmat, V, rows, rng):
    """Per-row reference loop: the way one would write sampled attention without vectorization."""
    out = np.empty((len(rows), V.shape[-1]))
    for r, (h, i) in enumerate(rows):
        ell = Kmat[h] @ Q[h, i] / np.sqrt(Q.shape[-1])  # (S,)
        p = np.exp(ell - ell.max())
        p /= p.sum()
        keys = rng.choice(S, size=K_SAMPLES, p=p)  # (K,)
        out[r] = V[h, keys].mean(axis=0)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop-rows", type=int, default=256)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    Q, Kmat, V = rng.standard_normal((3, H, S, D))  # (H, S, D) each
    rows_all = [(h, i) for h in range(H) for i in range(S)]
    pick = np.random.default_rng(1).choice(len(rows_all), size=args.loop_rows, replace=False)
    sub = [rows_all[k] for k in pick]
    scale = len(rows_all) / len(sub)

    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    progress(f"bench_attention: heads={H}, S=T={S}, d={D}, K={K_SAMPLES}, float64, {args.rounds} interleaved "
             f"rounds; per-row loop on {len(sub)} of {len(rows_all)} rows, scaled x{scale:g}; "
             f"BLAS threads: {blas_threads} "
             "(the matrix products of every method use them, the sampling steps run on one core)")
    outputs = {}

    def keep(name, fn):
        def run():
            outputs[name] = fn()
        return run

    timer = Timer("bench_attention", rounds=args.rounds)
    timer.add("exact softmax attention", keep("softmax", lambda: softmax_attention(Q, Kmat, V)))
    timer.add("plain NumPy exact attention", lambda: plain_exact(Q, Kmat, V))
    for backend in ("exact", "gumbel", "chain"):
        timer.add(f"sampled ({backend})", keep(backend, lambda b=backend: sampled_attention(Q, Kmat, V, K_SAMPLES, rng=3,
                                                                                          backend=b)))
    timer.add("per-row loop (subset)", lambda: naive_rows(Q, Kmat, V, sub, np.random.default_rng(2)))
    stats = timer.run()
    stats["per-row loop (scaled)"] = {k: (v * scale if k != "times" else [x * scale for x in v])
                                      for k, v in stats.pop("per-row loop (subset)").items()}

    law = float(sampling_mse(attention_logits(Q, Kmat), V, K_SAMPLES).mean())
    exact_out = outputs["softmax"]
    t_exact = stats["exact softmax attention"]["min"]
    t_plain = stats["plain NumPy exact attention"]["min"]
    t_loop = stats["per-row loop (scaled)"]["min"]
    print(f"\n{'method':30s}{'min [ms]':>10s}{'median [ms]':>13s}{'/ exact':>9s}{'/ plain':>9s}{'loop /':>9s}"
          f"{'MSE / law':>11s}")
    for name, s in stats.items():
        backend = name[len("sampled ("):-1] if name.startswith("sampled") else None
        mse = (f"{float(np.mean(np.sum((outputs[backend] - exact_out) ** 2, axis=-1))) / law:11.2f}"
               if backend else f"{'-':>11s}")
        print(f"{name:30s}{1e3 * s['min']:10.1f}{1e3 * s['median']:13.1f}{s['min'] / t_exact:8.2f}x"
              f"{s['min'] / t_plain:8.2f}x{t_loop / s['min']:8.1f}x{mse}")
    print("\nalgorithms of sampled_attention:")
    for backend, text in ALGORITHMS.items():
        print(f"  {backend}: {text}")
    t_s, t_g = stats["sampled (exact)"]["min"], stats["sampled (gumbel)"]["min"]
    targets = {
        "sampled (exact) / exact softmax <= 1.5": (t_s / t_exact, t_s / t_exact <= 1.5),
        "sampled (gumbel) / exact softmax <= 10": (t_g / t_exact, t_g / t_exact <= 10.0),
    }
    print("\ntargets (ratios of minima, this run):")
    for label, (ratio, met) in targets.items():
        print(f"  {label:42s} {ratio:6.2f}  {'met' if met else 'NOT met'}")
    print(f"  (for reference: sampled (exact) / plain NumPy exact = {t_s / t_plain:.2f})")
    sizes = {"heads": H, "S": S, "T": S, "d": D, "K": K_SAMPLES}
    rows = []
    for backend in ("exact", "gumbel", "chain"):
        rows.append(compare(f"sampled ({backend}) vs per-row loop", sizes, stats, subject=f"sampled ({backend})",
                            baseline="per-row loop (scaled)", kind="numpy baseline",
                            note=f"loop timed on {len(sub)} of {len(rows_all)} rows and scaled x{scale:g}"))
    for backend in ("exact", "gumbel", "chain"):
        rows.append(compare(f"sampled ({backend}) vs exact softmax attention", sizes, stats,
                            subject=f"sampled ({backend})", baseline="exact softmax attention", kind="thermoref",
                            note="two thermoref routes: the sampled estimator against the exact product it estimates"))
    rows.append(compare("softmax_attention vs plain NumPy attention", sizes, stats, subject="exact softmax attention",
                        baseline="plain NumPy exact attention", kind="numpy baseline",
                        note="the package's exact attention carries validation; about 1 means no overhead"))
    write_results("bench_attention", rows, details={
        "workload": {"heads": H, "S": S, "T": S, "d": D, "K": K_SAMPLES, "dtype": "float64",
                     "loop_rows_timed": len(sub), "loop_scale": scale, "blas_threads": blas_threads},
        "algorithm": ALGORITHMS,
        "timings": stats,
        "ratios": {label: ratio for label, (ratio, _) in targets.items()} | {
            "sampled (exact) / plain NumPy exact": t_s / t_plain},
        "targets_met": {label: bool(met) for label, (_, met) in targets.items()},
    }, notes=[f"{args.rounds} interleaved rounds, float64; BLAS threads: {blas_threads}"])


if __name__ == "__main__":
    main()
