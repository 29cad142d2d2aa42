"""Command line: ``python -m thermoref selftest`` runs the partition-function bench; ``python -m thermoref train
TASK --seed S`` trains a task's transformer (chapter 8) with a progress line on stderr and a final report."""

from __future__ import annotations

import argparse
import os
import sys
import time

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2**28), "MALLOC_TRIM_THRESHOLD_": str(2**28), "MALLOC_TOP_PAD_": str(2**26)}


def _rerun_single_threaded(argv: list[str]) -> None:
    """Re-run this command line with one BLAS thread, unless the caller already chose a thread count.

    The matrices of these small models are too small for a second BLAS thread to help (on this project's 2-core
    machine two threads made a training step 4 times slower), and OpenBLAS's threaded dot product sums in an
    order that depends on the thread count, so one fixed thread count also makes the trained bits independent of
    the number of cores. The variables are read when NumPy loads the BLAS library, hence a fresh process. The
    same process also keeps freed memory instead of returning it to the system after every step (glibc's
    ``MALLOC_*`` tunables; other C libraries ignore them): the backward pass allocates and frees megabyte
    arrays on every step, and the page faults of fresh memory took a fifth of the run (measured: 53-63 ms per
    ``add`` step, 43 ms with them). Neither setting changes a result.
    """
    if any(v in os.environ for v in _THREAD_VARS) or not sys.executable:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**_MALLOC, **os.environ, **dict.fromkeys(_THREAD_VARS, "1")}  # the caller's MALLOC_* win
    os.execve(sys.executable, [sys.executable, "-m", "thermoref", *argv], env)


def _lower_bound(k: int, n: int, level: float = 0.99) -> float:
    """One-sided Clopper-Pearson lower confidence bound of a binomial proportion from k successes in n."""
    from scipy.stats import beta

    return 0.0 if k == 0 else float(beta.ppf(1.0 - level, k, n - k + 1))


def _train(args: argparse.Namespace) -> int:
    from .transformer.shipped import SHA256, save_weights
    from .transformer.tasks import get_task
    from .transformer.training import RECIPES, train

    task = get_task(args.task)
    recipe = RECIPES[args.task]
    n_steps = args.steps if args.steps is not None else recipe["n_steps"]
    tokens_per_step = recipe["batch_size"] * (task.seq_len - 1)
    out = args.out if args.out is not None else f"{args.task}-seed{args.seed}.npz"
    start = time.perf_counter()
    shown = [0.0]

    def progress(step: int, loss: float) -> None:
        now = time.perf_counter()
        if now - shown[0] < 0.2 and step < n_steps:
            return
        shown[0] = now
        rate = step * tokens_per_step / max(now - start, 1e-9)
        sys.stderr.write(f"\rstep {step:>{len(str(n_steps))}}/{n_steps}  loss {loss:.4f}  {rate:,.0f} tokens/s ")
        sys.stderr.flush()

    result = train(args.task, seed=args.seed, n_steps=args.steps, n_eval=args.eval, progress=progress)
    sys.stderr.write("\n")
    digest = save_weights(out, result)
    wall = time.perf_counter() - start
    n, n_tok = result.n_eval, result.n_eval * task.n_predictable
    k_tok, k_seq = round(result.eval_accuracy * n_tok), round(result.eval_exact_match * n)
    cfg = result.config
    shipped = SHA256.get(args.task, "")
    print(f"task {args.task}, seed {args.seed}, {n_steps} steps of {recipe['batch_size']} sequences; model "
          f"d_model {cfg.d_model}, {cfg.n_heads} heads, {cfg.n_layers} layers, context {cfg.context} "
          f"({cfg.n_params} parameters); final training loss {result.losses[-1]:.5f}")
    print(f"held out: {n} fresh sequences ({n_tok} answer tokens)")
    print(f"  per-token accuracy {result.eval_accuracy:.5f}  (99 % Clopper-Pearson lower bound "
          f"{_lower_bound(k_tok, n_tok):.5f}, tokens counted as independent trials)")
    print(f"  exact match        {result.eval_exact_match:.5f}  (99 % Clopper-Pearson lower bound "
          f"{_lower_bound(k_seq, n):.5f}; also a lower bound on the per-token accuracy)")
    threads = ", ".join(f"{v}={os.environ[v]}" for v in _THREAD_VARS if v in os.environ) or "BLAS default threads"
    print(f"wall time {wall:.1f} s ({threads})")
    print(f"wrote {out}  sha256 {digest}")
    print(f"equals the shipped {args.task} weights: {'yes' if digest == shipped else 'no'}"
          + ("" if digest == shipped else f" (shipped: seed 0, {RECIPES[args.task]['n_steps']} steps, "
                                           f"sha256 {shipped or 'none'})"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thermoref", description="thermoref command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("selftest", help="run the partition-function bench; exit 0 when every outcome is the expected one")
    tr = sub.add_parser("train", help="train a task's transformer (chapter 8) and write its weights (.npz)")
    tr.add_argument("task", choices=("copy", "sort", "add"))
    tr.add_argument("--seed", type=int, required=True, help="seed of every random draw of the run (>= 0)")
    tr.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the task's recipe)")
    tr.add_argument("--eval", type=int, default=None, metavar="N",
                    help="held-out sequences scored at the end (default: the task's recipe)")
    tr.add_argument("--out", default=None, metavar="PATH", help="output .npz (default: TASK-seedS.npz)")
    args = parser.parse_args(argv)
    if args.command == "train" and argv is None:  # from the command line: one BLAS thread (see above)
        _rerun_single_threaded(sys.argv[1:])
    if args.command == "selftest":
        from .selftest import main as selftest_main

        return selftest_main()
    if args.command == "train":
        try:
            return _train(args)
        except (ValueError, TypeError) as err:
            parser.error(str(err))
    return 2  # unreachable: argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
