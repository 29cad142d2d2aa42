"""Specs: thermoref.ou, thermoref.ou_linalg, thermoref.mixture, thermoref.langevin, thermoref.thermo_mlp.

Each valid call is small (a 2- or 3-dimensional device, a handful of steps), so that the bad-input cases run in
milliseconds. Extra bad values cover what the generic ones by type do not reach: a non-integer mode, a
non-square or asymmetric matrix, a time ratio that overflows an integer, a horizon with about 1e308 switching
events, and temperatures at the edge of the float range.
"""

import numpy as np

from . import spec

A2 = np.array([[1.0, 1.0], [0.0, 1.5]])  # non-normal, stable
SPD2 = np.array([[2.0, 0.5], [0.5, 1.0]])
D2 = np.array([[2.0, 0.5], [0.5, 1.0]])
BIG = 2**63 - 1

_MATRIX_EXTRA = [("non-square", np.ones((2, 3))), ("3-d", np.ones((2, 2, 2))), ("huge entries", np.full((2, 2), 1e300))]
_ASYM = [("asymmetric", np.array([[2.0, 0.5], [0.0, 1.0]])), ("indefinite", np.array([[1.0, 2.0], [2.0, 1.0]]))]

# ---------------------------------------------------------------------------------------------------------
# thermoref.ou
# ---------------------------------------------------------------------------------------------------------
_OU = dict(A=A2, b=np.array([0.5, -0.5]), D=D2)
# A and D, A and x0 are shape pairs: a drift of the wrong form is reported as the partner's mismatch with it.
spec("thermoref.ou.ou_mean_cov", args=dict(x0=np.array([1.0, -2.0]), t=0.7, **_OU, tau0=1.0),
     blame={"A": ("x0", "D")},
     extra={"A": _MATRIX_EXTRA, "D": _ASYM, "t": [("huge time, unstable drift", 1e300)]})
spec("thermoref.ou.ou_sample", args=dict(x0=np.array([1.0, -2.0]), t=0.7, **_OU, rng=0, size=3, tau0=1.0),
     blame={"A": ("x0", "D")},
     extra={"A": _MATRIX_EXTRA, "D": _ASYM, "size": [("negative in a tuple", (2, -1)), ("huge", (BIG, BIG))]})
spec("thermoref.ou.ou_trajectory",
     args=dict(x0=np.array([1.0, -2.0]), ts=np.array([0.1, 0.4, 0.4, 1.0]), **_OU, rng=0, tau0=1.0),
     blame={"A": ("D",)},
     extra={"A": _MATRIX_EXTRA, "D": _ASYM, "ts": [("decreasing", np.array([1.0, 0.5]))]})
spec("thermoref.ou.OUProcess", args=dict(**_OU, tau0=1.0),
     blame={"A": ("D",)}, extra={"A": _MATRIX_EXTRA, "D": _ASYM})


def _process():
    from thermoref.ou import OUProcess

    return OUProcess(**_OU)


spec("thermoref.ou.OUProcess.trajectory", make=_process,
     args=dict(x0=np.array([[1.0, -2.0], [0.0, 0.0]]), ts=np.array([0.1, 0.4, 0.4, 1.0]), rng=0),
     extra={"ts": [("decreasing", np.array([1.0, 0.5]))]})
spec("thermoref.ou.ou_stationary", args=dict(**_OU), blame={"A": ("D",)},
     extra={"A": _MATRIX_EXTRA + [("unstable", np.array([[1.0, 0.0], [0.0, -1.0]]))], "D": _ASYM})
spec("thermoref.ou.ou_autocovariance", args=dict(lags=np.array([0.0, 0.5, 2.0]), A=A2, D=D2, tau0=1.0),
     blame={"A": ("D",)}, extra={"A": _MATRIX_EXTRA, "D": _ASYM})
# A drift too large for the step makes the explicit scheme diverge: the error names dt, the step to reduce.
spec("thermoref.ou.ou_euler_maruyama",
     args=dict(x0=np.array([1.0, -2.0]), dt=0.1, n_steps=5, **_OU, rng=0, tau0=1.0),
     blame={"A": ("D", "dt")},
     extra={"A": _MATRIX_EXTRA, "D": _ASYM})
spec("thermoref.ou.em_stationary_variance", args=dict(a=np.array([1.0, 2.0]), D=np.array([1.0, 0.5]), dt=0.1, tau0=1.0),
     blame={"a": ("dt", "D")})  # a*dt >= 2 is reported as dt's (the step to reduce); a wrong shape as D's

# ---------------------------------------------------------------------------------------------------------
# thermoref.ou_linalg
# ---------------------------------------------------------------------------------------------------------
spec("thermoref.ou_linalg.OUSolveResult", result_type=True)
spec("thermoref.ou_linalg.ou_solve",
     args=dict(A=SPD2, y=np.array([1.0, 1.0]), t_f=2.0, dt=0.5, rng=0, burn_in=1.0, tau0=1.0),
     extra={"A": _MATRIX_EXTRA + _ASYM, "t_f": [("1e12 steps", 5e11)], "burn_in": [("1e12 steps", 5e11)]})
spec("thermoref.ou_linalg.ou_inverse",
     args=dict(A=SPD2, t_f=2.0, dt=0.5, rng=0, n_devices=3, burn_in=1.0, tau0=1.0),
     extra={"A": _MATRIX_EXTRA + _ASYM, "t_f": [("1e12 steps", 5e11)]})
spec("thermoref.ou_linalg.ou_solve_mse", args=dict(A=SPD2, t_f=np.array([10.0, 100.0]), dt=0.5, tau0=1.0),
     extra={"A": _MATRIX_EXTRA + _ASYM})

# ---------------------------------------------------------------------------------------------------------
# thermoref.mixture
# ---------------------------------------------------------------------------------------------------------
LOGITS = np.log([0.2, 0.5, 0.3])
MEANS = np.array([-3.0, 0.0, 2.5])
VARS = np.array([0.3, 0.6, 0.2])
spec("thermoref.mixture.PMOGMoments", result_type=True)
spec("thermoref.mixture.mixture_pdf", args=dict(x=np.array([-1.0, 0.0, 2.0]), logits=LOGITS, means=MEANS, variances=VARS))
spec("thermoref.mixture.mixture_cdf", args=dict(x=np.array([-1.0, 0.0, 2.0]), logits=LOGITS, means=MEANS, variances=VARS))
spec("thermoref.mixture.pmog_sample",
     args=dict(x0=np.zeros(4), mode0=np.array([0, 1, 2, 1]), t=1.0, logits=LOGITS, means=MEANS, variances=VARS,
               switch_rate=0.5, rng=0, relax_rate=np.array([1.0, 2.0, 1.5]), tau0=1.0),
     blame={"x0": ("mode0",)},  # a batch of the wrong shape is reported as mode0's mismatch with it
     extra={"mode0": [("non-integer mode", 0.5), ("out-of-range mode", 3), ("float array", np.array([0.0, 1.0, 2.0, 1.0])),
                      ("bool", True)],
            "t": [("1e308 switching events", 1e300)], "switch_rate": [("1e300 events", 1e300)]})
spec("thermoref.mixture.pmog_moments",
     args=dict(t=1.0, x0=0.5, mode0_probs=np.array([0.0, 1.0, 0.0]), logits=LOGITS, means=MEANS, variances=VARS,
               switch_rate=0.5, relax_rate=np.array([1.0, 2.0, 1.5]), tau0=1.0))
spec("thermoref.mixture.pmog_stationary",
     args=dict(logits=LOGITS, means=MEANS, variances=VARS, switch_rate=0.5, relax_rate=np.array([1.0, 2.0, 1.5])),
     extra={"logits": [("one -inf logit", np.array([-np.inf, 0.0, 0.0]))]})

# ---------------------------------------------------------------------------------------------------------
# thermoref.langevin
# ---------------------------------------------------------------------------------------------------------
_DW = dict(J2=-1.0, J3=0.0, J4=1.0, I=0.2)
_KT_EDGE = [("kT = 1e308", 1e308), ("kT = 5e-324", 5e-324)]
spec("thermoref.langevin.potential", args=dict(x=np.array([-1.0, 0.0, 2.0]), **_DW))
spec("thermoref.langevin.drift", args=dict(x=np.array([-1.0, 0.0, 2.0]), **_DW))
spec("thermoref.langevin.langevin_neuron",
     args=dict(x0=np.zeros(3), kT=0.5, dt=0.1, t_f=1.0, rng=0, **_DW, rails=(-2.0, 2.0), tau0=1.0),
     extra={"kT": _KT_EDGE, "t_f": [("1e15 steps", 1e14)], "rails": [("reversed", (1.0, -1.0)), ("three", (0.0, 1.0, 2.0))]})
spec("thermoref.langevin.StationaryLaw", result_type=True)


def _law():
    from thermoref.langevin import stationary_law

    return stationary_law(kT=0.5, **_DW)


spec("thermoref.langevin.StationaryLaw.pdf", make=_law, args=dict(x=np.array([-1.0, 0.0, 1.5])))
spec("thermoref.langevin.StationaryLaw.cdf", make=_law, args=dict(x=np.array([-1.0, 0.0, 1.5])))
spec("thermoref.langevin.stationary_law", args=dict(kT=0.5, **_DW, n_grid=2001), extra={"kT": _KT_EDGE})
spec("thermoref.langevin.mala", args=dict(x0=np.zeros(3), n_steps=4, kT=0.5, dt=0.2, rng=0, **_DW, tau0=1.0),
     extra={"kT": _KT_EDGE})
spec("thermoref.langevin.kramers_rate", args=dict(kT=0.25, J2=-1.0, J4=1.0, J3=0.0, I=0.0, start="left"),
     extra={"kT": _KT_EDGE})
spec("thermoref.langevin.mean_first_passage_time",
     args=dict(a=-1.0, c=1.0, kT=0.25, J2=-1.0, J3=0.0, J4=1.0, I=0.0, n_grid=2001),
     blame={"a": ("c",)}, extra={"kT": _KT_EDGE})  # a >= c is reported as c's: "c: must exceed a"
spec("thermoref.langevin.first_passage_times",
     args=dict(x0=np.full(3, -1.0), target=1.0, kT=0.5, dt=0.05, max_time=2.0, rng=0, **_DW, tau0=1.0),
     allow_inf=True,  # documented: inf where the target was not reached
     extra={"kT": _KT_EDGE, "max_time": [("1e15 steps", 5e13)]})
spec("thermoref.langevin.parallel_tempering",
     args=dict(x0=np.zeros((3, 2)), betas=np.array([0.5, 1.0, 2.0]), n_rounds=2, dt=0.1, rng=0, steps_per_round=1,
               **_DW))

# ---------------------------------------------------------------------------------------------------------
# thermoref.thermo_mlp
# ---------------------------------------------------------------------------------------------------------
spec("thermoref.thermo_mlp.ridge_fit",
     args=dict(H=np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), y=np.array([1.0, 2.0, 3.0]), penalty=0.1))
spec("thermoref.thermo_mlp.CostModel", result_type=True)
_NET = dict(n_in=2, widths=(3, 2), rng=0, kT=0.1, t_f=0.5, dt=0.1, J2=1.0, J3=0.0, J4=1.0, rails=(-3.0, 3.0),
            replicas=2, input_scale=1.0, tau0=1.0)
spec("thermoref.thermo_mlp.ThermodynamicMLP", args=_NET,
     extra={"widths": [("zero width", (3, 0)), ("float width", (2.5,)), ("empty", ())],
            "rails": [("reversed", (1.0, -1.0))], "t_f": [("1e15 steps", 1e14)]})
spec("thermoref.thermo_mlp.ThermodynamicFFN",
     args=dict(n_in=2, width=3, rng=0, kT=0.1, t_f=0.5, dt=0.1, J4=1.0))


def _net(fitted: bool = False):
    from thermoref.thermo_mlp import ThermodynamicMLP

    net = ThermodynamicMLP(**_NET)
    if fitted:
        net.fit(np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [-1.0, 0.2]]), np.array([1.0, 0.0, 0.5, 0.2]),
                penalty=1e-3, rng=1)
    return net


_X4 = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [-1.0, 0.2]])
spec("thermoref.thermo_mlp.ThermodynamicMLP.features", make=_net, args=dict(X=_X4, rng=0))
spec("thermoref.thermo_mlp.ThermodynamicMLP.fit", make=_net,
     args=dict(X=_X4, y=np.array([1.0, 0.0, 0.5, 0.2]), penalty=1e-3, rng=0))
spec("thermoref.thermo_mlp.ThermodynamicMLP.predict", make=lambda: _net(True), args=dict(X=_X4, rng=0))
spec("thermoref.thermo_mlp.ThermodynamicMLP.cost", make=_net, args=dict(batch=8, n_out=1))
