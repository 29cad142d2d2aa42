"""Benchmark: sampled attention backends vs exact softmax attention vs a naive per-row loop.

Workload (issue 6): one layer's attention with 8 heads, S = T = 512 tokens, d = 64, K = 64 keys sampled per
query. Every timing is end to end from (Q, K, V) to the (8, 512, 64) output, wall time on this machine
(median of ``--repeats`` runs), and all ratios come from the same run.

The naive loop (one Python iteration per query row: logits, softmax, ``Generator.choice``, mean of the
sampled values) is timed on a subset of ``--loop-rows`` rows and scaled linearly to all 8 x 512 rows; rows
are independent and identical in cost, so the scaling is exact up to cache effects (stated in the output).

Usage::

    python benchmarks/bench_attention.py [--repeats 3] [--loop-rows 256]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from thermoref.attention import sampled_attention, sampling_mse, attention_logits, softmax_attention

H, S, D, K_SAMPLES = 8, 512, 64, 64


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-rows", type=int, default=256)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    Q, Kmat, V = rng.standard_normal((3, H, S, D))  # (H, S, D) each

    t_exact, ref = _median_time(lambda: softmax_attention(Q, Kmat, V), args.repeats)
    mse_law = float(sampling_mse(attention_logits(Q, Kmat), V, K_SAMPLES).mean())
    rows = [(h, i) for h in range(H) for i in range(S)]
    pick = np.random.default_rng(1).choice(len(rows), size=args.loop_rows, replace=False)
    sub = [rows[k] for k in pick]
    t_sub, _ = _median_time(lambda: naive_rows(Q, Kmat, V, sub, np.random.default_rng(2)), args.repeats)
    t_loop = t_sub * len(rows) / len(sub)

    print(f"sampled attention: heads={H}, S=T={S}, d={D}, K={K_SAMPLES}; numpy {np.__version__}, "
          f"{platform.machine()}, median of {args.repeats}")
    print(f"naive per-row loop timed on {len(sub)} of {len(rows)} rows and scaled linearly")
    print(f"{'method':<30}{'time [ms]':>12}{'/ exact softmax':>18}{'loop / method':>16}{'MSE / law':>12}")
    print(f"{'exact softmax attention':<30}{1e3 * t_exact:12.1f}{1.0:18.2f}{t_loop / t_exact:16.1f}{'-':>12}")
    for backend, kw in (("exact", {}), ("gumbel", {}), ("chain", {})):
        t, out = _median_time(lambda: sampled_attention(Q, Kmat, V, K_SAMPLES, rng=3, backend=backend, **kw),
                              args.repeats)
        mse = float(np.mean(np.sum((out - ref) ** 2, axis=-1)))
        label = f"sampled ({backend})" + (" [warm-up 100]" if backend == "chain" else "")
        print(f"{label:<30}{1e3 * t:12.1f}{t / t_exact:18.2f}{t_loop / t:16.1f}{mse / mse_law:12.2f}")
    print(f"{'naive per-row loop':<30}{1e3 * t_loop:12.1f}{t_loop / t_exact:18.2f}{1.0:16.1f}{'-':>12}")


if __name__ == "__main__":
    main()
