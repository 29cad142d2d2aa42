"""Specs: thermoref.pbit, thermoref.ising (through the package namespace, as documented), thermoref.tempering."""

import os as _os
import tempfile as _tempfile

import numpy as np
from scipy import sparse

from . import spec

# ---------------------------------------------------------------- shared valid values
W3 = np.array([[0.0, -1.0, 2.0], [-1.0, 0.0, 2.0], [2.0, 2.0, 0.0]])  # the AND gate
B3 = np.array([1.0, 1.0, -2.0])
RING = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)  # (6, 6) a ring
H6 = np.linspace(-0.3, 0.3, 6)
SPINS6 = np.array([[1, -1, 1, 1, -1, -1], [-1, -1, 1, 1, 1, -1]], dtype=np.int8)  # (2, 6)
LATTICE = np.array([[1, -1, 1, 1], [-1, -1, 1, -1], [1, 1, -1, 1], [-1, 1, 1, 1]], dtype=np.int8)  # (4, 4)
COLOURS6 = np.array([0, 1, 0, 1, 0, 1])


def _model():
    from thermoref.ising import IsingModel

    return IsingModel(RING, H6)


def _law():
    from thermoref.ising import exact_law

    return exact_law(_model(), 0.7)


# ---------------------------------------------------------------- thermoref.pbit
spec("thermoref.pbit.pbit_probability", args=dict(I=np.array([-1.0, 0.0, 2.0]), beta=1.5))
spec("thermoref.pbit.sample_pbit", args=dict(I=np.array([-1.0, 0.0, 2.0]), beta=1.5, rng=0, values=(-1, 1)),
     extra={"values": [("non-binary values", (0.5, 1)), ("complex values", (-1 + 0j, 1 + 0j)),
                       ("booleans", (False, True))]})
spec("thermoref.pbit.sample_pbit_tanh", args=dict(I=np.array([-1.0, 0.0, 2.0]), beta=1.5, rng=0))
spec("thermoref.pbit.bm_energy", args=dict(W=W3, b=B3, m=np.array([[1.0, -1.0, 1.0], [1.0, 1.0, 1.0]])))
spec("thermoref.pbit.conditional_probability",
     args=dict(W=W3, b=B3, m=np.array([[1.0, -1.0, 1.0]]), beta=0.8, values=(-1, 1)))
spec("thermoref.pbit.gibbs_sample",
     args=dict(W=W3, b=B3, beta=0.8, n_sweeps=3, n_chains=5, rng=0, schedule="chromatic", values=(-1, 1),
               clamp={0: 1}, m0=np.array([1, -1, 1], dtype=np.int8), return_trajectory=False),
     extra={"clamp": [("string", "ab"), ("float key", {0.5: 1})],
            "values": [("non-binary values", (0.5, 1))]})
spec("thermoref.pbit.exact_law", args=dict(W=W3, b=B3, beta=0.8, values=(0, 1), clamp={2: 1}),
     extra={"clamp": [("string", "ab")]},
     allow_inf=True)  # log_Z = +-inf at beta = inf (or beyond float64 at beta ~ 1e308), documented
spec("thermoref.pbit.synchronous_stationary_law", args=dict(W=W3, b=B3, beta=0.8, values=(-1, 1)))
spec("thermoref.pbit.clt_gaussian",
     args=dict(M=16, size=10, rng=0, backend=__import__("thermoref.backend", fromlist=["x"]).NumpyBackend()))
spec("thermoref.pbit.clt_ks_distance", args=dict(M=16))

# ---------------------------------------------------------------- thermoref.ising: models and colouring
spec("thermoref.ising.greedy_colouring", args=dict(J=RING),
     extra={"J": [("sparse asymmetric", sparse.csr_array(np.triu(RING))),
                  ("sparse NaN", sparse.csr_array(np.where(RING != 0, np.nan, 0.0)))]})
spec("thermoref.ising.check_colouring", args=dict(J=RING, colours=COLOURS6),
     extra={"colours": [("improper", np.zeros(6, dtype=np.int64))]})
spec("thermoref.ising.IsingModel", args=dict(J=RING, h=H6),
     extra={"J": [("sparse asymmetric", sparse.csr_array(np.triu(RING))),
                  ("sparse +inf", sparse.csr_array(np.where(RING != 0, np.inf, 0.0))),
                  ("sparse complex", sparse.csr_array(RING * 1j)), ("huge couplings", RING * 1e308)],
            "h": [("huge fields", np.full(6, 1e308))]})
spec("thermoref.ising.IsingModel.energy", make=_model, args=dict(spins=SPINS6))
spec("thermoref.ising.IsingModel.local_fields", make=_model, args=dict(spins=SPINS6))
spec("thermoref.ising.ExactLaw", result_type=True)
spec("thermoref.ising.ExactLaw.magnetization_law", make=_law, args={})
spec("thermoref.ising.exact_law", args=dict(model=_model(), beta=0.7, clamp={0: -1}),
     allow_inf=True)  # log_Z = +-inf at beta = inf (or beyond float64 at beta ~ 1e308), documented
spec("thermoref.ising.ising_energy", args=dict(spins=SPINS6, J=RING, h=H6))

# ---------------------------------------------------------------- thermoref.ising: samplers
spec("thermoref.ising.block_gibbs",
     args=dict(model=_model(), spins=SPINS6, beta=0.7, n_sweeps=3, rng=0, colours=COLOURS6),
     extra={"colours": [("improper", np.zeros(6, dtype=np.int64))]})
spec("thermoref.ising.metropolis", args=dict(model=_model(), spins=SPINS6, beta=0.7, n_sweeps=3, rng=0))
spec("thermoref.ising.parallel_tempering",
     args=dict(model=_model(), spins=np.stack([SPINS6, -SPINS6, SPINS6]), betas=np.array([0.2, 0.5, 1.0]),
               n_rounds=4, rng=0, sweeps_per_round=2, colours=COLOURS6),
     extra={"betas": [("decreasing", np.array([1.0, 0.5, 0.2]))]})
# with a sampling unit: colours must be None (the unit colours the graph), so a bad colouring is refused by name;
# the NumPy route's colouring check is the one block_gibbs's spec fuzzes
spec("thermoref.ising.simulated_annealing",
     args=dict(model=_model(), spins=SPINS6, betas=np.geomspace(0.1, 2.0, 5), rng=0, colours=None,
               backend=__import__("thermoref.backend", fromlist=["x"]).NumpyBackend()))
spec("thermoref.ising.AnnealResult", result_type=True)

# ---------------------------------------------------------------- thermoref.ising: Max-Cut
HUGE_W = [("huge weights", RING * 1e308)]
_SPARSE_BAD_W = [
    ("sparse huge weights", sparse.csr_array(RING * 1e308)),
    ("sparse asymmetric", sparse.csr_array(np.triu(RING))),
    ("sparse non-zero diagonal", sparse.csr_array(RING + np.eye(6))),
    ("sparse NaN weight", sparse.csr_array(np.where(RING > 0, np.nan, 0.0))),
    ("sparse complex", sparse.csr_array(RING * 1j)),
    ("sparse non-square", sparse.csr_array(np.ones((6, 5)))),
    ("sparse empty", sparse.csr_array((0, 0))),
    ("sparse of another size", sparse.csr_array(np.ones((5, 5)) - np.eye(5))),
]
spec("thermoref.ising.cut_value", args=dict(spins=SPINS6, W=RING), extra={"W": HUGE_W + _SPARSE_BAD_W},
     blame={"W": ("spins",)})  # W of another size makes the spins' shape wrong
spec("thermoref.ising.maxcut_exact", args=dict(W=RING), extra={"W": HUGE_W + _SPARSE_BAD_W})
spec("thermoref.ising.maxcut_model", args=dict(W=RING), extra={"W": HUGE_W + _SPARSE_BAD_W})


def _gset_file(name, text):
    path = _os.path.join(_tempfile.gettempdir(), f"thermoref-fuzz-gset-{name}")
    with open(path, "w") as f:
        f.write(text)
    return path


spec("thermoref.ising.read_gset", args=dict(path=_gset_file("ring", "6 6\n1 2 1\n2 3 1\n3 4 -1\n4 5 1\n5 6 1\n1 6 1\n")),
     extra={"path": [("a missing file", "/no/such/dir/G1"), ("a directory", _tempfile.gettempdir()),
                     ("bytes path", b"/tmp/G1"), ("a repeated edge", _gset_file("repeat", "3 2\n1 2 1\n2 1 1\n")),
                     ("a self-loop", _gset_file("loop", "3 1\n2 2 1\n")),
                     ("an index out of range", _gset_file("range", "3 1\n1 4 1\n")),
                     ("too few edge lines", _gset_file("short", "3 2\n1 2 1\n")),
                     ("a huge n", _gset_file("huge", "99999999999999999999 0\n")),
                     ("a NaN weight", _gset_file("nan", "3 1\n1 2 nan\n")),
                     ("not text", _gset_file("binary", "\x00\xff"))]})

# ---------------------------------------------------------------- thermoref.ising: the square lattice
for _f in ("checkerboard_gibbs", "checkerboard_gibbs_reference", "checkerboard_trace"):
    spec(f"thermoref.ising.{_f}", args=dict(spins=LATTICE, beta=0.4, n_sweeps=3, rng=0, J=1.0, h=0.1),
         extra={"spins": [("odd side", np.ones((3, 4), dtype=np.int8))]})
spec("thermoref.ising.heat_bath_table", args=dict(beta=0.4, J=1.0, h=0.1))
spec("thermoref.ising.lattice_energy", args=dict(spins=LATTICE, J=1.0, h=0.1))
spec("thermoref.ising.magnetization", args=dict(spins=LATTICE))
spec("thermoref.ising.LatticeTrace", result_type=True)
for _f in ("swendsen_wang", "wolff"):
    spec(f"thermoref.ising.{_f}", args=dict(spins=LATTICE, beta=0.4, n_steps=3, rng=0, J=1.0))

# ---------------------------------------------------------------- thermoref.ising: exact results
for _f in ("onsager_energy", "onsager_magnetization"):
    spec(f"thermoref.ising.{_f}", args=dict(beta=np.array([0.2, 0.44, 0.8]), J=1.0))
spec("thermoref.ising.onsager_specific_heat", args=dict(beta=np.array([0.2, 0.44, 0.8]), J=1.0), allow_inf=True)
spec("thermoref.ising.kaufman_log_partition_function", args=dict(beta=np.array([0.2, 0.44, 0.8]), m=4, n=6, J=1.0),
     allow_inf=True)  # ln Z ~ 2 mn beta J beyond float64 is inf (documented)
for _f in ("finite_lattice_energy", "finite_lattice_specific_heat"):
    spec(f"thermoref.ising.{_f}", args=dict(beta=np.array([0.2, 0.44, 0.8]), m=4, n=6, J=1.0))

# ---------------------------------------------------------------- thermoref.tempering
spec("thermoref.tempering.PTResult", result_type=True)
spec("thermoref.tempering.check_ladder", args=dict(betas=np.array([0.1, 0.5, 1.0]), name="betas"))
spec("thermoref.tempering.temperature_ladder", args=dict(beta=1.5, n_replicas=5, beta_min=0.1),
     blame={"beta": ("beta_min",)})  # beta <= beta_min: the pair is inconsistent, reported on beta_min


def _two_level_move(x, beta, rng):
    """Exact redraw of a two-level system (E(x) = x, x in {0, 1}) at every rung: a heat bath."""
    x[...] = rng.random(x.shape) < 1.0 / (1.0 + np.exp(beta))


spec("thermoref.tempering.replica_exchange",
     args=dict(state=np.zeros((3, 4)), betas=np.array([0.1, 0.5, 1.0]), n_rounds=3, move=_two_level_move,
               energy=lambda x: x, rng=0, observable=None),
     extra={"energy": [("returns NaN", lambda x: x * np.nan), ("returns the wrong shape", lambda x: x[:1])],
            "move": [("returns the wrong shape", lambda x, b, g: np.ones(7))],
            "observable": [("returns +inf", lambda x: x + np.inf)]})
