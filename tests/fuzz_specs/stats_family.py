"""Specs: thermoref.testing, thermoref.empirical, thermoref.estimators."""

import numpy as np

from . import spec

P3 = np.array([0.5, 0.3, 0.2])
Q3 = np.array([0.4, 0.35, 0.25])


def _nan_fn(x):
    return np.full(np.shape(x), np.nan)


def _inf_fn(x):
    return np.full(np.shape(x), np.inf)


def _str_fn(x):  # noqa: ARG001
    return "abc"


def _bad_shape_fn(x):  # noqa: ARG001
    return np.zeros(7)


_USER_FN = [("NaN-returning", _nan_fn), ("inf-returning", _inf_fn), ("string-returning", _str_fn),
            ("wrong-shape-returning", _bad_shape_fn)]

# ---------------------------------------------------------------------------------------------------------
# thermoref.testing
# ---------------------------------------------------------------------------------------------------------
spec("thermoref.testing.GoodnessOfFit", result_type=True)
spec("thermoref.testing.chi_square_test",
     args=dict(counts=np.array([52, 28, 20]), p=P3, alpha=1e-3, min_expected=5.0, ddof=0),
     blame={"counts": ("p",), "p": ("counts",)}, allow_inf=True)
spec("thermoref.testing.ks_test",
     args=dict(samples=np.random.default_rng(0).standard_normal(50), cdf="norm", alpha=1e-3, args=(0.0, 1.0)),
     extra={"cdf": [("NaN-returning cdf", _nan_fn), ("string-returning cdf", _str_fn),
                    ("wrong-shape cdf", _bad_shape_fn), ("cdf outside [0, 1]", lambda x: x)]})
spec("thermoref.testing.z_test", args=dict(estimate=0.1, expected=0.0, std_error=0.05, alpha=1e-3, n=100),
     allow_inf=True)
spec("thermoref.testing.z_test_mean",
     args=dict(samples=np.array([0.1, -0.3, 0.2, 0.5]), mean=0.0, variance=1.0, alpha=1e-3), allow_inf=True)
spec("thermoref.testing.chi_square_sample_size", args=dict(p=P3, q=Q3, alpha=1e-3, power=0.99),
     blame={"p": ("q",), "q": ("p",)})
spec("thermoref.testing.chi_square_power", args=dict(p=P3, q=Q3, n=500, alpha=1e-3, min_expected=5.0),
     blame={"p": ("q",), "q": ("p",)})
spec("thermoref.testing.z_sample_size", args=dict(delta=0.05, sigma=1.0, alpha=1e-3, power=0.99))
spec("thermoref.testing.enumerate_states", args=dict(n=3, values=(-1, 1)),
     extra={"values": [("non-integer values", (0.5, 1)), ("equal values", (1, 1)), ("out of int8", (0, 300))]})
spec("thermoref.testing.state_index",
     args=dict(states=np.array([[-1, 1, 1], [1, 1, -1]]), values=(-1, 1)),
     extra={"states": [("64 units", np.ones((2, 64), dtype=np.int64))],
            "values": [("non-integer values", (0.5, 1)), ("equal values", (1, 1))]})
spec("thermoref.testing.empirical_law",
     args=dict(states=np.array([[-1, 1, 1], [1, 1, -1], [1, 1, -1]]), values=(-1, 1)),
     extra={"states": [("40 units", np.ones((2, 40), dtype=np.int64))],
            "values": [("non-integer values", (0.5, 1)), ("equal values", (1, 1))]})


def _trial(g):
    from thermoref.testing import z_test_mean

    return z_test_mean(g.standard_normal(10), 0.0, 1.0, alpha=0.05)


spec("thermoref.testing.rejection_rate", args=dict(trial=_trial, n_trials=5, rng=0),
     extra={"trial": [("trial returning a float", lambda g: 0.5)]})

# ---------------------------------------------------------------------------------------------------------
# thermoref.empirical
# ---------------------------------------------------------------------------------------------------------
spec("thermoref.empirical.kl_divergence", args=dict(p=P3, q=Q3), allow_inf=True,
     blame={"p": ("q",), "q": ("p",)})
spec("thermoref.empirical.squared_error", args=dict(p_hat=Q3, p=P3), blame={"p_hat": ("p",), "p": ("p_hat",)})
spec("thermoref.empirical.expected_squared_error", args=dict(p=P3, n_samples=100))
spec("thermoref.empirical.expected_reverse_kl", args=dict(p=P3, n_samples=100))
spec("thermoref.empirical.reverse_kl_asymptote", args=dict(p=P3, n_samples=100))
spec("thermoref.empirical.prob_all_seen", args=dict(p=P3, n_samples=20))

# ---------------------------------------------------------------------------------------------------------
# thermoref.estimators
# ---------------------------------------------------------------------------------------------------------


def _f(x):
    return (x - 0.3) ** 2


def _df(x):
    return 2 * (x - 0.3)


THETA = np.array([-2.0, 0.0, 1.5])
spec("thermoref.estimators.exact_gradient", args=dict(theta=THETA, f=_f), extra={"f": _USER_FN})
spec("thermoref.estimators.sample_gradient",
     args=dict(theta=THETA, f=_f, df=_df, size=16, method="reinforce", rng=0, tau=0.5, baseline=0.0),
     extra={"f": _USER_FN, "df": _USER_FN})
spec("thermoref.estimators.expected_gradient",
     args=dict(theta=THETA, f=_f, df=_df, method="gumbel_sigmoid", tau=0.5, baseline=0.0),
     extra={"f": _USER_FN, "df": _USER_FN})
