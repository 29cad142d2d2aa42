"""thermoref.spectra: levels against a finite-difference eigensolve, degeneracies against counting, MB against SciPy."""

import numpy as np
import pytest
from scipy import integrate, stats

from thermoref import spectra


def _box_fd(n_grid, n_levels):
    return spectra.finite_difference_levels(lambda x: np.zeros_like(x), 0.0, 1.0, n_grid, n_levels)


def test_box_levels_match_the_discrete_laplacian_exactly():
    # On the grid the box eigenvalues are known in closed form: (2/h^2) sin^2(n pi h / 2).
    n_grid, n = 200, 6
    h = 1.0 / (n_grid + 1)
    exact_discrete = 2 / h**2 * np.sin(np.arange(1, n + 1) * np.pi * h / 2) ** 2
    np.testing.assert_allclose(_box_fd(n_grid, n), exact_discrete, rtol=1e-11)


def test_box_levels_converge_at_second_order():
    grids = np.array([99, 199, 399, 799])
    h = 1.0 / (grids + 1)
    errs = np.array([np.abs(_box_fd(g, 4) - spectra.box_levels(4)).max() for g in grids])
    orders = np.log(errs[:-1] / errs[1:]) / np.log(h[:-1] / h[1:])
    np.testing.assert_allclose(orders, 2.0, atol=0.02)
    # leading error term -pi^4 n^4 h^2 / 24 for n = 4
    np.testing.assert_allclose(errs[-1], np.pi**4 * 4**4 * h[-1] ** 2 / 24, rtol=1e-3)


def test_oscillator_levels_converge_at_second_order():
    grids = np.array([400, 800, 1600])
    errs = []
    for g in grids:
        fd = spectra.finite_difference_levels(lambda x: 0.5 * x**2, -12.0, 12.0, g, 5)
        errs.append(fd - spectra.oscillator_levels(5))
    errs = np.array(errs)  # (grids, levels)
    h = 24.0 / (grids + 1)
    orders = np.log(np.abs(errs[:-1, -1] / errs[1:, -1])) / np.log(h[:-1] / h[1:])
    np.testing.assert_allclose(orders, 2.0, atol=0.05)
    # Leading term: the discrete kinetic energy is p^2/2 - h^2 p^4/24, and <n|p^4|n> = (3/4)(2n^2 + 2n + 1).
    n = np.arange(5)
    leading = -h[-1] ** 2 * 0.75 * (2 * n**2 + 2 * n + 1) / 24
    np.testing.assert_allclose(errs[-1], leading, rtol=2e-3)


def test_box_density_is_normalised():
    for n in (1, 2, 7):
        val, err = integrate.quad(lambda x: spectra.box_density(n, x), 0, 1, limit=200)
        assert abs(val - 1) < 1e-12


def test_box3d_degeneracies_by_counting():
    E, g = spectra.box3d_levels(6)
    # brute-force count with an independent construction (itertools)
    import itertools
    from collections import Counter

    counts = Counter(a * a + b * b + c * c for a, b, c in itertools.product(range(1, 7), repeat=3))
    cutoff = 6**2 + 2
    expected = sorted((k, v) for k, v in counts.items() if k <= cutoff)
    unit = np.pi**2 / 2
    assert [(round(e / unit), int(x)) for e, x in zip(E, g)] == expected
    assert g[:6].tolist() == [1, 3, 3, 3, 1, 6]  # (1,1,1); (2,1,1)x3; (2,2,1)x3; (3,1,1)x3; (2,2,2); (3,2,1)x6


def test_oscillator3d_degeneracy_by_counting():
    E, g = spectra.oscillator3d_levels(8)
    import itertools

    n_sum = [sum(t) for t in itertools.product(range(8), repeat=3)]
    assert g.tolist() == [n_sum.count(n) for n in range(8)]
    np.testing.assert_array_equal(E, np.arange(8) + 1.5)


@pytest.mark.parametrize("kT", [0.5, 1.0, 3.0])
def test_maxwell_boltzmann_against_scipy(kT):
    v = np.linspace(0, 6, 61)
    np.testing.assert_allclose(spectra.maxwell_boltzmann_speed_pdf(v, kT), stats.maxwell.pdf(v, scale=np.sqrt(kT)), rtol=1e-13, atol=1e-300)
    E = np.linspace(0, 10, 51)
    np.testing.assert_allclose(spectra.maxwell_boltzmann_energy_pdf(E, kT), stats.gamma.pdf(E, 1.5, scale=kT), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(spectra.maxwell_boltzmann_energy_cdf(E, kT), stats.gamma.cdf(E, 1.5, scale=kT), rtol=1e-13, atol=1e-300)


def test_speed_and_energy_laws_agree_by_change_of_variables():
    # E = v^2/2 (m = 1): f_E(E) = f_v(v) / v
    v = np.linspace(0.1, 5, 50)
    np.testing.assert_allclose(spectra.maxwell_boltzmann_energy_pdf(v**2 / 2, 1.3), spectra.maxwell_boltzmann_speed_pdf(v, 1.3) / v, rtol=1e-13)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: spectra.box_levels(0), "n_levels"),
        (lambda: spectra.box_levels(3, L=-1.0), "L: must be positive"),
        (lambda: spectra.oscillator_levels(3, omega=0.0), "omega"),
        (lambda: spectra.maxwell_boltzmann_speed_pdf(1.0, kT=-1.0), "kT"),
        (lambda: spectra.maxwell_boltzmann_speed_pdf(1.0, kT=0.0), "kT"),
        (lambda: spectra.finite_difference_levels(np.zeros_like, 1.0, 0.0, 10, 2), "x_max"),
        (lambda: spectra.finite_difference_levels(np.zeros_like, 0.0, 1.0, 10, 20), "n_levels"),
        (lambda: spectra.finite_difference_levels(lambda x: np.full_like(x, np.nan), 0.0, 1.0, 10, 2), "potential: returned NaN"),
        (lambda: spectra.box_density(1, [np.nan]), "x: contains NaN"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types():
    with pytest.raises(TypeError, match="n_levels"):
        spectra.box_levels(2.5)


# ------------------------------------------------------------------ extreme but valid sizes and parameters
# Where a factor of the textbook expression leaves float64 (L = 1e200 with mass = 1e-300, kT = 5e-324) the
# levels are computed from mantissas and binary exponents (a few ulps) and the densities in log space (the
# stated bound: a relative error of a few |ln f| eps); the oracle is the closed form in 50-digit arithmetic.
mp = pytest.importorskip("mpmath")
EPS = np.finfo(np.float64).eps


def _rel(a, b):
    return abs(float((mp.mpf(float(a)) - b) / b)) if b != 0 else abs(float(a))


@pytest.mark.parametrize("L, mass", [(1e200, 1e-300), (1e-160, 1e20), (1e-170, 1e40), (1.0, 1e300)])
@mp.workdps(50)
def test_box_levels_beyond_the_factors_range_match_the_closed_form(L, mass):
    E = spectra.box_levels(4, L=L, mass=mass)
    for n in range(1, 5):
        exact = mp.mpf(n) ** 2 * mp.pi**2 / (2 * mp.mpf(mass) * mp.mpf(L) ** 2)
        assert _rel(E[n - 1], exact) < 4 * EPS
    E3, g3 = spectra.box3d_levels(3, L=L, mass=mass)
    assert _rel(E3[0], 3 * mp.pi**2 / (2 * mp.mpf(mass) * mp.mpf(L) ** 2)) < 4 * EPS


def test_levels_beyond_float64_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="^L: the levels exceed the float64 range"):
        spectra.box_levels(3, L=1e-160)
    with pytest.raises(ValueError, match="^mass: the levels exceed"):
        spectra.box_levels(3, mass=5e-324)
    with pytest.raises(ValueError, match="^omega: the levels exceed"):
        spectra.oscillator_levels(5, omega=1e308)


def test_huge_level_counts_are_refused_before_allocating():  # regression: int64 max returned an empty array
    for call, name in [(lambda: spectra.box_levels(2**63 - 1), "n_levels"),
                       (lambda: spectra.oscillator_levels(2**63 - 1), "n_levels"),
                       (lambda: spectra.oscillator3d_levels(2**40), "n_levels"),
                       (lambda: spectra.box3d_levels(2**12), "n_max"),
                       (lambda: spectra.finite_difference_levels(np.zeros_like, 0.0, 1.0, 2**62, 2), "n_grid")]:
        with pytest.raises(ValueError, match=f"^{name}: the result would need"):
            call()


@mp.workdps(50)
def test_maxwell_boltzmann_densities_at_extreme_temperatures_match_the_closed_form():
    # f(v) = 4 pi v^2 (m / 2 pi kT)^{3/2} exp(-m v^2 / 2 kT) and f(E) = 2/sqrt(pi) sqrt(E) kT^{-3/2} exp(-E/kT)
    def speed(v, kT, m=1.0):
        v, kT, m = mp.mpf(v), mp.mpf(kT), mp.mpf(m)
        return 4 * mp.pi * v**2 * (m / (2 * mp.pi * kT)) ** mp.mpf(1.5) * mp.exp(-m * v**2 / (2 * kT))

    def energy(E, kT):
        E, kT = mp.mpf(E), mp.mpf(kT)
        return 2 / mp.sqrt(mp.pi) * mp.sqrt(E) / kT ** mp.mpf(1.5) * mp.exp(-E / kT)

    for v, kT in [(1e-162, 5e-324), (1.5e-162, 5e-324), (1e154, 1e308), (3e153, 1e307)]:
        exact = speed(v, kT)
        assert _rel(spectra.maxwell_boltzmann_speed_pdf(v, kT), exact) < 8 * (1 + abs(float(mp.log(exact)))) * EPS
    for E, kT in [(1e-300, 1e-300), (1e308, 1e308), (3e307, 1e307)]:
        exact = energy(E, kT)
        assert _rel(spectra.maxwell_boltzmann_energy_pdf(E, kT), exact) < 8 * (1 + abs(float(mp.log(exact)))) * EPS
    # the limits: all the mass at 0 (kT -> 0), none at finite speed (kT -> inf)
    assert np.array_equal(spectra.maxwell_boltzmann_speed_pdf([0.0, 0.5, 2.0], 5e-324), [0.0, 0.0, 0.0])
    assert np.array_equal(spectra.maxwell_boltzmann_energy_cdf([0.0, 1e-300, np.inf], 5e-324), [0.0, 1.0, 1.0])


def test_finite_difference_eigensolve_far_from_unit_scale_is_scale_covariant():
    # H = -1/(2m) d2 + V with m = 1e-200 and V = 1e200 x^2/2 is 1e200 times the unit oscillator: the same grid
    # gives 1e200 times the same eigenvalues (LAPACK sees the scaled matrix).
    unit = spectra.finite_difference_levels(lambda x: 0.5 * x**2, -12.0, 12.0, 400, 4)
    big = spectra.finite_difference_levels(lambda x: 0.5e200 * x**2, -12.0, 12.0, 400, 4, mass=1e-200)
    np.testing.assert_allclose(big / 1e200, unit, rtol=1e-12)
    with pytest.raises(ValueError, match="^x_max: the kinetic coefficient"):
        spectra.finite_difference_levels(np.zeros_like, 0.0, 1e308, 10, 2)
    with pytest.raises(ValueError, match="^potential: returned shape"):
        spectra.finite_difference_levels(lambda x: np.zeros(3), 0.0, 1.0, 10, 2)
    with pytest.raises(TypeError, match="^potential: expected a callable"):
        spectra.finite_difference_levels(None, 0.0, 1.0, 10, 2)
