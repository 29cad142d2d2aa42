"""thermoref.gibbs: the softmax ≡ Gibbs identity, the partition function and thermodynamic identities.

Independent references: direct exponentiation where representable, SciPy's softmax/logsumexp, closed forms
(two-level Schottky anomaly), derivatives of the exact law in 80-digit arithmetic (mpmath) with their truncation
and rounding bounds. Every test that needs random data builds it from its own seed.
"""

import mpmath as mp
import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from thermoref import (
    boltzmann,
    entropy,
    free_energy,
    heat_capacity,
    log_partition_function,
    log_softmax,
    logsumexp,
    mean_energy,
    partition_function,
    softmax,
    thermal_entropy,
)

KT_SWEEP = [1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0, 1e3, 1e6, 1e9]
E_RANDOM = np.random.default_rng(20261122).normal(size=(5, 17)) * 3.0  # a constant: built once, never drawn from again
EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------------------------- identity
@pytest.mark.parametrize("kT", KT_SWEEP + [0.0, np.inf])
def test_boltzmann_is_softmax_of_minus_E_bit_for_bit(kT):
    assert np.array_equal(boltzmann(E_RANDOM, kT), softmax(-E_RANDOM, kT))


@pytest.mark.parametrize("kT", [0.3, 1.0, 7.0])
def test_softmax_matches_direct_exponentiation_and_scipy(kT):
    w = np.exp(-E_RANDOM / kT)
    direct = w / w.sum(axis=-1, keepdims=True)
    # Direct exp of x = -E/kT has relative error <= eps (1 + |x|); the log-space form the same: bound 2(2+|x|).
    x_max = np.abs(E_RANDOM / kT).max()
    np.testing.assert_array_max_ulp(boltzmann(E_RANDOM, kT), direct, maxulp=int(2 * (2 + x_max)) + 17)
    np.testing.assert_array_max_ulp(softmax(-E_RANDOM, kT), scipy.special.softmax(-E_RANDOM / kT, axis=-1), maxulp=int(2 * (2 + x_max)) + 17)


def test_log_softmax_and_logsumexp_match_scipy():
    z = E_RANDOM
    np.testing.assert_array_max_ulp(logsumexp(z), scipy.special.logsumexp(z, axis=-1), maxulp=4)
    np.testing.assert_allclose(log_softmax(z), scipy.special.log_softmax(z, axis=-1), rtol=0, atol=8 * np.finfo(float).eps * np.abs(z).max())


def test_axis_argument():
    z = E_RANDOM
    assert np.array_equal(softmax(z, axis=0), softmax(z.T).T)
    assert np.array_equal(logsumexp(z, axis=0), logsumexp(z.T))


def test_temperature_array_one_per_row():
    kT = np.array([0.5, 1.0, 4.0])[:, None]
    E = E_RANDOM[0]
    p = boltzmann(E, kT)
    assert p.shape == (3, E.size)
    for i, t in enumerate(kT[:, 0]):
        assert np.array_equal(p[i], boltzmann(E, t))
    with pytest.raises(ValueError, match="kT: one temperature per row"):
        boltzmann(E, np.ones(E.size))


# ---------------------------------------------------------------------------------------------- extremes
@pytest.mark.parametrize("shift", [-1e6, -1000.0, 0.0, 1000.0, 1e6])
@pytest.mark.parametrize("kT", [1e-3, 1.0, 1e9])
def test_no_overflow_for_shifted_energies(shift, kT):
    E = np.array([0.0, 0.001, 0.002, 0.5]) + shift
    p = boltzmann(E, kT)
    assert np.all(np.isfinite(p)) and abs(p.sum() - 1) <= 4 * np.finfo(float).eps
    # Shift invariance of the law: only E - E0 matters. E + shift rounds the level gaps to ulp(shift).
    ref = boltzmann(E - E[0], kT)
    gap_err = 2 * np.spacing(abs(shift) + 1.0) / kT  # error of the rounded gaps, in units of kT
    np.testing.assert_allclose(p, ref, rtol=4 * np.finfo(float).eps + 2 * gap_err, atol=0)
    log_Z = log_partition_function(E, kT)
    assert np.isfinite(log_Z)
    # ln Z = -E0/kT + ln Z(E - E0); the second term is O(ln n)
    np.testing.assert_allclose(log_Z, -E[0] / kT + log_partition_function(E - E[0], kT), rtol=4 * np.finfo(float).eps, atol=4 * np.finfo(float).eps + gap_err * 4)


def test_log_partition_function_exact_where_Z_is_not_representable():
    E = np.array([-1e6, -1e6 + 1e-3])
    kT = 1e-3
    log_Z = float(log_partition_function(E, kT))
    expected = 1e6 / kT + np.log1p(np.exp(-1.0))  # exact: Z = e^{1e9} (1 + e^{-1})
    assert abs(log_Z - expected) <= 4 * np.spacing(expected)
    assert np.isposinf(partition_function(E, kT))
    assert partition_function(-E, kT) == 0.0


def test_partition_function_two_ways():
    for kT in [0.3, 1.0, 10.0]:
        direct = np.exp(-E_RANDOM / kT).sum(axis=-1)
        np.testing.assert_array_max_ulp(partition_function(E_RANDOM, kT), direct, maxulp=64)


# ---------------------------------------------------------------------------------------------- limits
def test_cold_limit_is_the_ground_state_with_ties_shared():
    E = np.array([1.0, -2.0, 5.0, -2.0, 0.0])
    assert np.array_equal(boltzmann(E, 0.0), [0, 0.5, 0, 0.5, 0])
    assert np.array_equal(boltzmann(E, 0.0, degeneracy=[1, 1, 1, 3, 1]), [0, 0.25, 0, 0.75, 0])
    # continuity: tiny kT approaches the kT = 0 law
    np.testing.assert_allclose(boltzmann(E, 1e-2), boltzmann(E, 0.0), atol=1e-80)
    assert softmax([1.0, 3.0, 3.0], 0.0).tolist() == [0.0, 0.5, 0.5]


def test_hot_limit_is_uniform_or_degeneracy_weighted():
    E = np.array([1.0, -2.0, 5.0, 0.0])
    assert np.array_equal(boltzmann(E, np.inf), np.full(4, 0.25))
    g = np.array([1.0, 2.0, 3.0, 2.0])
    assert np.array_equal(boltzmann(E, np.inf, g), g / g.sum())
    np.testing.assert_allclose(boltzmann(E, 1e12, g), g / g.sum(), rtol=1e-10)
    assert np.array_equal(softmax([0.0, -np.inf, 3.0], np.inf), [0.5, 0.0, 0.5])


def test_thermodynamics_at_the_limits():
    E = np.array([0.5, 0.5, 2.0, 3.0])
    g = np.array([2.0, 1.0, 4.0, 1.0])
    assert mean_energy(E, 0.0) == 0.5 and free_energy(E, 0.0) == 0.5
    assert thermal_entropy(E, 0.0, g) == pytest.approx(np.log(3.0), abs=1e-15)  # residual entropy ln g0
    assert heat_capacity(E, 0.0) == 0.0 and heat_capacity(E, np.inf) == 0.0
    assert thermal_entropy(E, np.inf, g) == pytest.approx(np.log(g.sum()), abs=1e-15)
    assert log_partition_function(E, np.inf, g) == pytest.approx(np.log(8.0), abs=1e-15)
    assert np.isneginf(free_energy(E, np.inf))
    assert log_partition_function(E, 0.0) == -np.inf  # E0 > 0
    assert log_partition_function(E - 0.5, 0.0, g) == pytest.approx(np.log(3.0))  # E0 = 0: ln g0
    assert log_partition_function(E - 1.0, 0.0) == np.inf  # E0 < 0


def test_masked_logits():
    z = np.array([0.0, -np.inf, 1.0])
    p = softmax(z)
    assert p[1] == 0.0 and np.isneginf(log_softmax(z)[1])
    assert logsumexp([-np.inf, -np.inf]) == -np.inf
    with pytest.raises(ValueError, match="z: every entry of some row is -inf"):
        softmax([-np.inf, -np.inf])


# ---------------------------------------------------------------------------------------------- identities
@pytest.mark.parametrize("kT", [0.2, 1.0, 5.0])
def test_entropy_is_beta_times_U_minus_F(kT):
    g = np.abs(np.random.default_rng(7).normal(size=E_RANDOM.shape)) + 0.1
    for degeneracy in (None, g):
        S = thermal_entropy(E_RANDOM, kT, degeneracy)
        U = mean_energy(E_RANDOM, kT, degeneracy)
        F = free_energy(E_RANDOM, kT, degeneracy)
        scale = np.abs(U / kT) + np.abs(F / kT) + np.abs(S)
        np.testing.assert_array_less(np.abs(S - (U - F) / kT), 32 * np.finfo(float).eps * scale)


def test_entropy_in_bits_times_ln2_is_nats():
    p = boltzmann(E_RANDOM, 0.8)
    np.testing.assert_array_max_ulp(entropy(p, base=2) * np.log(2), entropy(p), maxulp=4)
    assert entropy(p, base=2).shape == (5,)
    assert entropy([1.0, 0.0]) == 0.0 and not np.signbit(entropy([1.0, 0.0]))


# ---------------------------------------------------------------------- derivatives against an 80-digit oracle
# The oracle differentiates the exact law, not thermoref: ln Z(beta) and U(beta) = sum E e^{-beta(E - E0)} / sum
# e^{-beta(E - E0)} of the float64 levels, in 80-digit arithmetic, by a central difference with step h = 1e-25.
# Its error is at most the truncation h^2/6 max|f'''| plus the rounding ~10^-80 |f| / h. The third derivatives are
# bounded through the cumulants of E: for levels spread over s = max E - min E, kappa2 <= s^2/4, |kappa3| <= s^3/4
# (|E - U| <= s) and |kappa4| <= s^4/8 (kappa4 lies in [-2 kappa2^2, s^2 kappa2 - 3 kappa2^2]). With h = 1e-25 the
# whole oracle error is below 1e-40, so what is asserted is thermoref's own float64 rounding bound.
MP_DPS = 80
MP_H = mp.mpf(10) ** -25


def _mp_rows(E):
    return [[mp.mpf(float(e)) for e in row] for row in np.atleast_2d(E)]


def _mp_weights(row, beta):
    E0 = min(row)
    return [mp.exp(-beta * (e - E0)) for e in row]


def _mp_lnZ(row, beta):
    return -beta * min(row) + mp.log(mp.fsum(_mp_weights(row, beta)))


def _mp_U(row, beta):
    w = _mp_weights(row, beta)
    return mp.fsum(e * wi for e, wi in zip(row, w)) / mp.fsum(w)


def _thermoref_rounding(E, kT):
    """Relative rounding bound of thermoref's law-weighted sums at kT: eps (2 x_max + 2n + 10) per row.

    thermoref forms x = (E0 - E)/kT (two roundings: |dx| <= 2 eps |x|), exp(x) (allowing 4 eps for a vectorized
    exp), the sum of the n weights ((n - 1) eps), p = w / sum (eps); then U = sum p E ((n + 1) eps relative to
    sum p|E|), or var = sum p (E - U)^2 (3 eps per term, (n - 1) eps for the sum; an error dU of U enters only as
    dU^2, because sum p (E - U) = 0) and C = var / kT^2 (2 eps). Every term is at most eps (2 x_max + 2n + 10).
    """
    x_max = (E.max(axis=-1) - E.min(axis=-1)) / kT
    return EPS * (2 * x_max + 2 * E.shape[-1] + 10)


@pytest.mark.parametrize("kT", [0.25, 1.0, 4.0])
def test_mean_energy_is_minus_dlnZ_dbeta_of_the_exact_law(kT):
    """mean_energy against -d ln Z / d beta of the exact law (80 digits): within thermoref's rounding bound of U,
    eps (2 x_max + 2n + 10) sum p|E|. A wrong U (say the unweighted mean of E) misses it by ~13 orders."""
    E = E_RANDOM
    U = mean_energy(E, kT)
    spread = E.max(axis=-1) - E.min(axis=-1)
    with mp.workdps(MP_DPS):
        beta = mp.mpf(1) / mp.mpf(kT)  # kT is a power of 2: beta exact, the same law thermoref computes
        rows = _mp_rows(E)
        ref = np.array([float(-(_mp_lnZ(r, beta + MP_H) - _mp_lnZ(r, beta - MP_H)) / (2 * MP_H)) for r in rows])
        scale = np.array([float(mp.fsum(abs(e) * w for e, w in zip(r, _mp_weights(r, beta))) / mp.fsum(_mp_weights(r, beta)))
                          for r in rows])  # sum p |E|
    oracle = float(MP_H) ** 2 / 6 * spread**3 / 4 + 1e-40 + 0.5 * np.spacing(np.abs(ref))  # truncation, rounding
    np.testing.assert_array_less(np.abs(U - ref), _thermoref_rounding(E, kT) * scale + oracle)


@pytest.mark.parametrize("kT", [0.25, 1.0, 4.0])
def test_heat_capacity_is_dU_dT_of_the_exact_law(kT):
    """heat_capacity against dU/dT of the exact law (80-digit central difference, error < 1e-40): within
    thermoref's rounding bound of C, eps (2 x_max + 2n + 10) C, about 1e-13 C. (The former float64 difference
    allowed more than C itself at kT = 0.25, so a function returning 0 passed; it now misses by ~13 orders.)"""
    E = E_RANDOM
    C = heat_capacity(E, kT)
    spread = E.max(axis=-1) - E.min(axis=-1)
    with mp.workdps(MP_DPS):
        T = mp.mpf(kT)
        rows = _mp_rows(E)
        ref = np.array([float((_mp_U(r, 1 / (T + MP_H)) - _mp_U(r, 1 / (T - MP_H))) / (2 * MP_H)) for r in rows])
    # |U'''(T)| = |beta^6 kappa4 - 6 beta^5 kappa3 + 6 beta^4 kappa2| on [T - h, T + h], with the cumulant bounds
    b = 1.001 / kT
    third = b**4 * (b**2 * spread**4 / 8 + 6 * b * spread**3 / 4 + 6 * spread**2 / 4)
    oracle = float(MP_H) ** 2 / 6 * third + 1e-40 + 0.5 * np.spacing(ref)
    assert (ref > 0).all()
    np.testing.assert_array_less(np.abs(C - ref), _thermoref_rounding(E, kT) * ref + oracle)


def _schottky(kT):
    """Two levels 0 and 1: C = x^2 e^x / (1 + e^x)^2 with x = 1/kT, written by hand."""
    x = 1.0 / kT
    return x**2 * np.exp(x) / (1 + np.exp(x)) ** 2


def test_schottky_peak():
    """Two levels 0 and 1: C(x) = x^2 e^x/(1+e^x)^2 with x = 1/kT. dC/dx = 0 gives x tanh(x/2) = 2, and then
    (x/2) tanh(x/2) = 1, so the height is C_max = (x/2)^2 sech^2(x/2) = x^2/4 - 1.

    thermoref's heat_capacity is maximized numerically (bounded Brent search, xatol 1e-12) and held against the
    closed forms with x* the root of the peak condition. Near the peak C is computed to rho = 32 eps C_max
    (eps (2x + 2n + 10) with x = 2.4, n = 2, rounded up), so the maximum of the computed C can lie anywhere the
    true C is within 2 rho of C_max: within w = sqrt(4 rho / |C''|) of the peak (C'' of the closed form, by mpmath),
    where the computed C is within 3 rho of C_max. Location to w, height to 3 rho (about 9e-15).
    """
    from scipy.optimize import brentq, minimize_scalar

    x_star = brentq(lambda x: x * np.tanh(x / 2) - 2, 1, 4, xtol=1e-15)
    kT_star, C_star = 1 / x_star, x_star**2 / 4 - 1
    with mp.workdps(30):
        C2 = abs(float(mp.diff(lambda t: (1 / t) ** 2 * mp.exp(1 / t) / (1 + mp.exp(1 / t)) ** 2, mp.mpf(kT_star), 2)))
    rho = 32 * EPS * C_star
    res = minimize_scalar(lambda t: -float(heat_capacity([0.0, 1.0], t)), bounds=(0.1, 1.0), method="bounded",
                          options={"xatol": 1e-12})
    assert abs(res.x - kT_star) <= np.sqrt(4 * rho / C2) + 1e-12
    assert abs(-res.fun - C_star) <= 3 * rho
    assert round(float(res.x), 3) == 0.417
    # The whole curve against the closed form: thermoref's bound eps (2x + 2n + 10) plus the closed form's own
    # rounding, eps (x + 12) (x = 1/kT rounded, exp(x), (1 + e^x)^2, the products), with x <= 20 on this grid.
    kT = np.linspace(0.05, 2.0, 2001)
    C = heat_capacity(np.array([0.0, 1.0]), kT[:, None])
    np.testing.assert_allclose(C, _schottky(kT), rtol=EPS * (3 * 20 + 2 * 2 + 22), atol=0)


def test_degeneracy_is_log_g_in_the_logits():
    g = np.array([1.0, 3.0, 5.0, 0.0])
    E = np.array([0.0, 1.0, 2.0, -1.0])  # the level with g = 0 is excluded, even though it is lowest
    p = boltzmann(E, 0.7, g)
    assert p[3] == 0.0
    ref = softmax(np.where(g > 0, -E / 0.7 + np.log(np.where(g > 0, g, 1)), -np.inf))
    np.testing.assert_allclose(p, ref, rtol=32 * np.finfo(float).eps)
    assert np.array_equal(boltzmann(E, 0.0, g), [1.0, 0, 0, 0])


# ---------------------------------------------------------------------------------------------- properties
finite_E = arrays(np.float64, st.integers(1, 12), elements=st.floats(-1e3, 1e3, allow_nan=False))
temperatures = st.floats(1e-3, 1e9, allow_nan=False)


@given(finite_E, temperatures)
def test_property_normalised_and_nonnegative(E, kT):
    p = boltzmann(E, kT)
    assert np.all(p >= 0) and abs(p.sum() - 1) <= 2 * E.size * np.finfo(float).eps


@given(finite_E, temperatures, st.floats(-1e3, 1e3))
def test_property_shift_invariance(E, kT, c):
    # Adding c to every energy changes the law only by the rounding of E + c (at most ulp(|E|+|c|) per level).
    p, q = boltzmann(E, kT), boltzmann(E + c, kT)
    dx = 2 * np.spacing(np.abs(E).max() + abs(c) + 1) / kT
    np.testing.assert_allclose(q, p, rtol=8 * np.finfo(float).eps + 4 * dx * E.size, atol=1e-300)
    # ln Z shifts by exactly -c/kT (up to the same rounding)
    np.testing.assert_allclose(log_partition_function(E + c, kT), log_partition_function(E, kT) - c / kT,
                               rtol=1e-12, atol=4 * dx + 1e-12 * abs(c / kT))


@given(finite_E, st.floats(0.01, 100.0), st.floats(0.1, 10.0))
def test_property_temperature_scaling(E, kT, a):
    # Scaling E and kT together leaves the law unchanged: p(aE, a kT) = p(E, kT).
    p, q = boltzmann(E, kT), boltzmann(a * E, a * kT)
    x = np.abs(E).max() / kT
    np.testing.assert_allclose(q, p, rtol=8 * np.finfo(float).eps * (4 + x) * E.size, atol=1e-300)


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: boltzmann([0.0, np.nan]), "E: contains NaN"),
        (lambda: boltzmann([0.0, np.inf]), r"E: contains \+inf"),
        (lambda: boltzmann([0.0, -np.inf]), "E: contains -inf"),
        (lambda: boltzmann([0.0, 1.0], kT=-1.0), "kT: temperature must be non-negative"),
        (lambda: boltzmann([0.0, 1.0], kT=np.nan), "kT: contains NaN"),
        (lambda: boltzmann([0.0, 1.0], degeneracy=[1.0, -1.0]), "degeneracy: must be non-negative"),
        (lambda: boltzmann([0.0, 1.0], degeneracy=[1.0, 1.0, 1.0]), "degeneracy: shape"),
        (lambda: boltzmann([0.0, 1.0], degeneracy=[0.0, 0.0]), "degeneracy: every level"),
        (lambda: softmax([1.0, np.nan]), "z: contains NaN"),
        (lambda: softmax([1.0, 2.0], temperature=-0.5), "temperature: temperature must be non-negative"),
        (lambda: softmax(3.0), "z: expected at least 1"),
        (lambda: softmax([1.0, 2.0], axis=2), "axis"),
        (lambda: entropy([0.5, 0.6]), "p: probabilities must sum to 1"),
        (lambda: entropy([1.5, -0.5]), "p: probabilities must be non-negative"),
        (lambda: entropy([0.5, 0.5], base=1.0), "base"),
        (lambda: log_partition_function([[0.0, 1.0]], kT=[[1.0], [2.0], [3.0]]), None),
    ],
)
def test_bad_input_raises_naming_the_parameter(call, match):
    if match is None:  # broadcasting a column of temperatures against one row of levels is allowed
        assert call().shape == (3,)
        return
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="z"):
        softmax("abc")
    with pytest.raises(TypeError, match="E"):
        boltzmann([1 + 2j, 0])
    with pytest.raises(TypeError, match="axis"):
        softmax([1.0, 2.0], axis=0.5)


# ------------------------------------------------------------------------- extreme but valid temperatures
# kT = 5e-324 must behave as kT -> 0 and kT = 1e308 as kT -> inf, silently (warnings are errors here), and
# give the limit exactly. Oracles: the argmax law with ties shared (1/k on the k maxima), the uniform law
# 1/n, the degeneracy-weighted laws g/sum(g) over the ground level(s) or over all levels, written by hand.
Z_TIES = np.array([1.0, 3.0, -2.0, 3.0, 0.5, 3.0, -np.inf])


@pytest.mark.parametrize("tau", [0.0, 5e-324, 1e-300])
def test_softmax_at_tiny_temperature_is_the_argmax_law_with_ties_shared(tau):
    argmax_law = np.array([0, 1, 0, 1, 0, 1, 0]) / 3.0  # three maxima share the weight
    assert np.array_equal(softmax(Z_TIES, tau), argmax_law)
    # ln p = (z - z_max)/tau - ln 3: -ln 3 on the maxima; elsewhere -inf, or a finite -O(1e300) at tau = 1e-300
    with np.errstate(over="ignore"):  # the oracle's own quotient: -inf where it leaves float64
        log_law = np.where(argmax_law > 0, -np.log(3.0), (Z_TIES - 3.0) / tau if tau else -np.inf)
    np.testing.assert_array_max_ulp(log_softmax(Z_TIES, tau), log_law, maxulp=1)


@pytest.mark.parametrize("tau", [1e308, np.inf])
def test_softmax_at_huge_temperature_is_the_uniform_law_over_unmasked_entries(tau):
    assert np.array_equal(softmax(Z_TIES, tau), np.r_[np.full(6, 1 / 6), 0.0])
    assert np.array_equal(softmax(Z_TIES[:-1], tau), np.full(6, 1 / 6))


def test_softmax_gap_beyond_float64_at_a_temperature_that_resolves_it():
    # z = +-1e308 at tau = 1e308 is softmax([1, -1]): the gap 2e308 itself overflows, the law does not.
    e = np.exp(2.0)
    np.testing.assert_allclose(softmax([1e308, -1e308], 1e308), [e / (e + 1), 1 / (e + 1)], rtol=1e-15)
    np.testing.assert_allclose(log_partition_function([1e308, -1e308], 1e308), np.log(np.e + 1 / np.e), rtol=1e-15)


def test_boltzmann_and_thermodynamics_at_kT_5e_324_are_the_kT_0_limits():
    E = np.array([0.5, 0.5, 2.0, 3.0])
    g = np.array([2.0, 1.0, 4.0, 1.0])
    assert np.array_equal(boltzmann(E, 5e-324, g), [2 / 3, 1 / 3, 0.0, 0.0])  # ground level, g-weighted
    assert mean_energy(E, 5e-324, g) == 0.5
    assert thermal_entropy(E, 5e-324, g) == pytest.approx(np.log(3.0), abs=1e-15)  # residual entropy ln g0
    assert heat_capacity(E, 5e-324, g) == 0.0
    assert free_energy(E, 5e-324, g) == 0.5  # F = E0 - kT ln g0 = 0.5 to rounding
    assert log_partition_function(E, 5e-324) == -np.inf  # -E0/kT = -1e323: beyond float64, the kT = 0 limit


def test_boltzmann_and_thermodynamics_at_kT_1e308_are_the_kT_inf_limits():
    E = np.array([0.5, 0.5, 2.0, 3.0])
    g = np.array([2.0, 1.0, 4.0, 1.0])
    assert np.array_equal(boltzmann(E, 1e308, g), g / g.sum())
    assert heat_capacity(E, 1e308, g) == 0.0  # Var(E)/kT^2 ~ 1e-616
    assert mean_energy(E, 1e308, g) == pytest.approx(float(g @ E / g.sum()), rel=1e-15)
    assert thermal_entropy(E, 1e308, g) == pytest.approx(np.log(g.sum()), rel=1e-15)
    # free energy: one microstate in total (sum g = 1) -> F -> g-weighted mean energy, at kT = 1e300 and inf
    h = np.array([0.25, 0.75])
    for kT in (1e300, np.inf):
        assert free_energy([0.0, 1.0], kT, h) == pytest.approx(0.75, rel=1e-15)


def test_heat_capacity_where_kT_squared_leaves_the_normal_range_is_the_schottky_value():
    # Two levels 0 and Delta at kT = Delta: C = x^2 e^x / (1 + e^x)^2 with x = 1, for Delta = 1e-200 (kT^2
    # underflows) and Delta = 1e200 (kT^2 overflows). Closed form written independently.
    schottky = np.e / (1 + np.e) ** 2
    for delta in (1e-200, 1.0, 1e200):
        assert heat_capacity([0.0, delta], delta) == pytest.approx(schottky, rel=1e-14)


def test_logsumexp_of_an_empty_axis_is_minus_inf_and_keepdims_is_a_flag():
    assert np.array_equal(logsumexp(np.zeros((2, 0))), [-np.inf, -np.inf])
    assert logsumexp(np.zeros((2, 0)), keepdims=True).shape == (2, 1)
    assert logsumexp([1e308, -1e308]) == 1e308  # the second weight is exactly 0, without a warning
    with pytest.raises(TypeError, match="keepdims:"):
        logsumexp([1.0, 2.0], keepdims=np.array([True, False]))


def test_an_empty_axis_of_levels_is_reported_as_E_not_as_degeneracy():  # regression: was "degeneracy:"
    with pytest.raises(ValueError, match="^E: the axis of levels"):
        boltzmann(np.zeros(0), 1.0, degeneracy=[1.0])
    with pytest.raises(ValueError, match="^z: the axis of categories"):
        softmax(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="^p: the axis of categories"):
        entropy(np.zeros(0))
    assert softmax(np.zeros((0, 3))).shape == (0, 3)  # an empty batch is valid


def test_entropy_base_must_be_a_single_real():  # regression: an array failed inside float()
    with pytest.raises(ValueError, match="^base: expected a single real number"):
        entropy([0.5, 0.5], base=np.array([2.0, 3.0]))
