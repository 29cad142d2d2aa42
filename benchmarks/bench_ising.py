"""Spin updates per second of the checkerboard heat-bath sweep: tuned vs straightforward vs thrml.

Measures, side by side in one run and interleaved (every repetition runs every method once, in turn, so a
slow phase of a shared machine hits all of them), the medians of:

* ``tuned``: :func:`thermoref.lattice.checkerboard_gibbs` (the package's fast path);
* ``straightforward``: :func:`thermoref.lattice.checkerboard_gibbs_reference` (int8, ``np.roll``, float64
  ``exp``, one full-lattice ``rng.random`` per colour, ``np.where``);
* ``uniforms``: ``rng.random(out=u, dtype=np.float32)`` alone, one float32 uniform per spin update (the
  bound the issue states the target against);
* ``words``: ``rng.bit_generator.random_raw`` alone, one raw 32-bit word per spin update: what the tuned sweep
  actually consumes, hence its true bound;
* ``thrml``: the JAX library thrml's block Gibbs on the same periodic lattice with the two checkerboard
  blocks, compiled, timed after ``block_until_ready`` (setup and compile times are reported separately);
  skipped with "thrml not installed" when it is missing.

Sizes: one L = 256 lattice, one L = 1024 lattice, and a batch of 256 lattices of L = 64 (``vmap`` in thrml).

Usage::

    python benchmarks/bench_ising.py [--reps 5] [--no-thrml]

thrml lives only in the benchmark environment (``pip install thrml``), never in the package's.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from thermoref.lattice import checkerboard_gibbs, checkerboard_gibbs_reference  # noqa: E402
from thermoref.onsager import BETA_C  # noqa: E402

CASES = [("L=256", (256, 256)), ("L=1024", (1024, 1024)), ("256 x L=64", (256, 64, 64))]
TARGETS = {"tuned / straightforward": 4.0, "tuned / thrml": 4.0, "tuned / uniforms": 0.5}
BATCH_TARGET = 3.0  # tuned / straightforward for the batch


def _updates_per_run(method: str) -> float:
    return {"tuned": 4e7, "straightforward": 4e6, "uniforms": 4e7, "thrml": 1e7}[method]


def make_numpy_runners(shape):
    size = int(np.prod(shape))
    rng = np.random.default_rng(0)
    s0 = np.where(rng.random(shape) < 0.5, 1, -1).astype(np.int8)
    u = np.empty(size, dtype=np.float32)

    def sweeps(method):
        return max(1, int(_updates_per_run(method) / size))

    def tuned():
        n = sweeps("tuned")
        t0 = time.perf_counter()
        checkerboard_gibbs(s0, BETA_C, n, rng=rng)
        return n * size / (time.perf_counter() - t0)

    def straightforward():
        n = sweeps("straightforward")
        t0 = time.perf_counter()
        checkerboard_gibbs_reference(s0, BETA_C, n, rng=rng)
        return n * size / (time.perf_counter() - t0)

    def uniforms():
        n = sweeps("uniforms")
        t0 = time.perf_counter()
        for _ in range(n):
            rng.random(out=u, dtype=np.float32)
        return n * size / (time.perf_counter() - t0)

    def words():
        n = sweeps("uniforms")
        t0 = time.perf_counter()
        for _ in range(n):
            rng.bit_generator.random_raw((size + 1) // 2)
        return n * size / (time.perf_counter() - t0)

    return {"tuned": tuned, "straightforward": straightforward, "uniforms": uniforms, "words": words}


def make_thrml_runner(shape):
    """Build thrml's Ising program for the periodic lattice(s); returns (runner, setup_s, compile_s)."""
    import jax
    import jax.numpy as jnp
    from thrml import Block, SamplingSchedule, SpinNode, sample_states
    from thrml.models import IsingEBM, IsingSamplingProgram

    t0 = time.perf_counter()
    L = shape[-1]
    batch = shape[0] if len(shape) == 3 else None
    nodes = [SpinNode() for _ in range(L * L)]
    idx = np.arange(L * L).reshape(L, L)
    right, down = np.roll(idx, -1, axis=1).ravel(), np.roll(idx, -1, axis=0).ravel()
    edges = [(nodes[i], nodes[j]) for i, j in zip(np.concatenate([idx.ravel(), idx.ravel()]),
                                                   np.concatenate([right, down]))]
    model = IsingEBM(nodes, edges, jnp.zeros(L * L), jnp.ones(len(edges)), jnp.array(BETA_C))
    black = (np.add.outer(np.arange(L), np.arange(L)) % 2 == 0).ravel()
    blocks = [Block([nodes[i] for i in np.flatnonzero(black)]), Block([nodes[i] for i in np.flatnonzero(~black)])]
    program = IsingSamplingProgram(model, blocks, clamped_blocks=[])
    observe = [Block([nodes[0]])]
    size = L * L * (batch or 1)
    n_sweeps = max(1, int(_updates_per_run("thrml") / size))
    schedule = SamplingSchedule(n_warmup=n_sweeps, n_samples=1, steps_per_sample=1)
    half = L * L // 2
    key = jax.random.key(0)

    def one(k, init):
        return sample_states(k, program, schedule, init, [], observe)

    if batch is None:
        init = [jnp.zeros(half, dtype=jnp.bool_), jnp.ones(half, dtype=jnp.bool_)]
        run = jax.jit(one)
    else:
        init = [jnp.zeros((batch, half), dtype=jnp.bool_), jnp.ones((batch, half), dtype=jnp.bool_)]
        run = jax.jit(jax.vmap(one))
    setup = time.perf_counter() - t0
    calls = [0]

    def next_key():
        calls[0] += 1
        k = jax.random.fold_in(key, calls[0])
        return jax.random.split(k, batch) if batch else k

    t0 = time.perf_counter()
    jax.block_until_ready(run(next_key(), init))
    compile_s = time.perf_counter() - t0

    def thrml_rate():
        k = next_key()
        t1 = time.perf_counter()
        jax.block_until_ready(run(k, init))
        return n_sweeps * size / (time.perf_counter() - t1)

    return thrml_rate, setup, compile_s


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions per case (default 5)")
    parser.add_argument("--no-thrml", action="store_true", help="skip thrml even if installed")
    args = parser.parse_args(argv)

    have_thrml = False
    if not args.no_thrml:
        try:
            import thrml  # noqa: F401

            have_thrml = True
            import jax

            print(f"thrml {thrml.__version__} with jax {jax.__version__} on {jax.devices()[0].platform}")
        except ImportError:
            print("thrml not installed: comparing against the straightforward NumPy sweep and the RNG only")
    print(f"numpy {np.__version__}; beta = beta_c; medians over {args.reps} interleaved runs; M = million spin updates/s")
    ok = True
    for name, shape in CASES:
        runners = make_numpy_runners(shape)
        if have_thrml:
            rate, setup, compile_s = make_thrml_runner(shape)
            runners["thrml"] = rate
            print(f"[{name}] thrml setup {setup:.1f} s, compile {compile_s:.1f} s")
        for f in runners.values():  # warm-up
            f()
        rates = {k: [] for k in runners}
        for _ in range(args.reps):
            for k, f in runners.items():
                rates[k].append(f())
        med = {k: float(np.median(v)) for k, v in rates.items()}
        cells = "  ".join(f"{k} {v / 1e6:7.1f} M" for k, v in med.items())
        print(f"[{name}] {cells}")
        ratios = {"tuned / straightforward": med["tuned"] / med["straightforward"],
                  "tuned / uniforms": med["tuned"] / med["uniforms"],
                  "tuned / words": med["tuned"] / med["words"]}
        if "thrml" in med:
            ratios["tuned / thrml"] = med["tuned"] / med["thrml"]
        for k, v in ratios.items():
            if k not in TARGETS:  # the true bound: reported, no target
                print(f"    {k:24s} {v:6.2f}x")
                continue
            target = BATCH_TARGET if (k == "tuned / straightforward" and len(shape) == 3) else TARGETS[k]
            verdict = "meets" if v >= target else "MISSES"
            ok &= v >= target
            print(f"    {k:24s} {v:6.2f}x   (target >= {target:g}: {verdict})")
    print("all targets met" if ok else "some targets missed (see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
