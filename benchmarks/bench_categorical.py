"""Benchmark: vectorized categorical sampling against a per-row ``Generator.choice`` loop.

Rows x categories x K = 1024 x 1024 x 64 draws from softmax(logits) per row. Prints samples per second for
each method of ``thermoref.sampling.sample_categorical`` and for the loop, and their ratio, in one run. The
loop baseline is timed on a subset of rows and scaled linearly (each row is an independent, identical-cost
call), which the output states. Wall-clock times on a shared machine: best of a few repeats.

Run: ``python benchmarks/bench_categorical.py``
"""

from __future__ import annotations

import time

import numpy as np

from thermoref.gibbs import softmax
from thermoref.sampling import METHODS, sample_categorical

ROWS, CATEGORIES, K = 1024, 1024, 64
LOOP_ROWS = 128  # rows actually timed for the per-row loop baseline
REPEATS = 7


def best_time(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    logits = 2.0 * np.random.default_rng(0).standard_normal((ROWS, CATEGORIES))
    total = ROWS * K
    rng = np.random.default_rng(1)
    p = softmax(logits, axis=-1)

    def loop() -> None:
        for r in range(LOOP_ROWS):  # the baseline being measured: one Generator.choice call per row
            rng.choice(CATEGORIES, size=K, p=p[r])

    t_loop = best_time(loop) * (ROWS / LOOP_ROWS)
    t_softmax = best_time(lambda: softmax(logits, axis=-1))
    t_fair = t_loop + t_softmax
    print(f"rows x categories x K = {ROWS} x {CATEGORIES} x {K} ({total:,} samples); best of {REPEATS} runs")
    print(f"per-row Generator.choice loop: timed on {LOOP_ROWS} of {ROWS} rows and scaled x{ROWS // LOOP_ROWS}")
    print(f"{'method':34s} {'samples/s':>14s}  {'vs loop(p)':>10s}  {'vs softmax+loop':>15s}")
    print(f"{'loop, p given (softmax not timed)':34s} {total / t_loop:14,.0f}  {1.0:9.2f}x  {t_fair / t_loop:14.2f}x")
    print(f"{'loop, batched softmax + loop':34s} {total / t_fair:14,.0f}  {t_loop / t_fair:9.2f}x  {1.0:14.2f}x")
    for method in METHODS:
        t = best_time(lambda: sample_categorical(logits, K, rng=rng, method=method))
        print(f"{'sample_categorical ' + method:34s} {total / t:14,.0f}  {t_loop / t:9.2f}x  {t_fair / t:14.2f}x")
    print("sample_categorical times include validation and the softmax from logits.")

if __name__ == "__main__":
    main()
