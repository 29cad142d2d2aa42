"""Train the denoising models that ship with thermoref (chapter 12) and write thermoref/dtm/params/<name>.npz.

Usage (from the repository root; one BLAS thread, so the bits do not depend on the machine's core count):

    OPENBLAS_NUM_THREADS=1 python tools/train_dtm.py            # every model in RECIPES
    OPENBLAS_NUM_THREADS=1 python tools/train_dtm.py ebm dtm-t8  # some of them

Each file records its recipe (including this command) and the training curves; the script prints each file's
sha256 for thermoref.dtm.shipped.SHIPPED. Same code, same seed, same BLAS: same bytes.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from thermoref.dtm import flip_schedule, image_family, make_dataset, save_dtm, train_dtm

FAMILY, SIDE, N_TRAIN, N_TEST, DATA_SEED = "shapes", 10, 20000, 5000, 0
FINAL_CORRELATION, SCHEDULE = 0.005, "linear"
COMMON = dict(neighbourhood=8, n_iterations=1000, batch_size=128, n_sweeps=5, chain_start="persistent")


def _lr(n: int, start: float = 0.05, end: float = 0.005) -> np.ndarray:
    """Adam's step size, decaying linearly from start to end over the run."""
    return np.linspace(start, end, n)


RECIPES = {
    "ebm": dict(T=1, seed=11),
    "dtm-t2": dict(T=2, seed=12),
    "dtm-t4": dict(T=4, seed=14),
    "dtm-t8": dict(T=8, seed=18),
    "dtm-t8-penalty": dict(T=8, seed=18, batch_size=32, n_chains=6, penalty=0.1, target_autocorrelation=0.3),
}


def train(name: str) -> str:
    r = dict(COMMON, **RECIPES[name])
    T, seed = r.pop("T"), r.pop("seed")
    flip = np.array([0.5]) if T == 1 else flip_schedule(T, FINAL_CORRELATION, SCHEDULE)
    family = image_family(FAMILY, SIDE)
    x_train, _ = make_dataset(family, N_TRAIN, N_TEST, rng=DATA_SEED)
    start = time.perf_counter()
    dtm, history = train_dtm(x_train, flip, side=SIDE, learning_rate=_lr(r["n_iterations"]), rng=seed, **r)
    wall = time.perf_counter() - start
    recipe = dict(r, T=T, seed=seed, family=FAMILY, side=SIDE, n_train=N_TRAIN, n_test=N_TEST,
                  data_seed=DATA_SEED, final_correlation=FINAL_CORRELATION if T > 1 else None,
                  schedule=SCHEDULE if T > 1 else None,
                  learning_rate="linear 0.05 -> 0.005", command=f"OPENBLAS_NUM_THREADS=1 python tools/train_dtm.py {name}")
    curves = {k: getattr(history, k) for k in ("pseudo_log_likelihood", "gradient_norm", "autocorrelation",
                                                "penalty_weight", "penalty_value")}
    path = os.path.join(os.path.dirname(__file__), "..", "thermoref", "dtm", "params", f"{name}.npz")
    digest = save_dtm(path, dtm, name=name, recipe=recipe, history=curves)
    print(f"{name}: T={T}, {r['n_iterations']} iterations in {wall:.0f} s; sha256 {digest}", flush=True)
    return digest


def main(names: list[str]) -> None:
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        sys.exit("set OPENBLAS_NUM_THREADS=1 (the shipped bits were made with one BLAS thread)")
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {sorted(RECIPES)}")
    digests = {n: train(n) for n in names or RECIPES}
    print("SHIPPED entries:")
    for n, d in digests.items():
        print(f'    "{n}": "{d}",')


if __name__ == "__main__":
    main(sys.argv[1:])
