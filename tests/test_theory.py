"""Tests of fgrkern.theory: Eqs. (3)-(6) of the paper.

Every expected value comes from mathematics: mpmath evaluations of the
printed formulas at high precision (computed here), exact limits, identities
and sum rules.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrkern as fk
from fgrkern import _theory
from fgrkern import theory as th

SYMS = ("GUE", "GOE", "GSE")


# ---------------------------------------------------------------- references
def p_res_mp(gamma: float) -> mp.mpf:
    """Eq. (4) as printed, at enough digits to survive its cancellation."""
    digits = 50 + 2 * max(0, int(math.log10(max(gamma, 1.0))))
    with mp.workdps(digits):
        g = mp.mpf(gamma)
        return +(1 - g - mp.sqrt(mp.pi * g) * (mp.mpf(1) / 2 - g) * mp.exp(g) * mp.erfc(mp.sqrt(g)))


def p_tau_mp(tau: float, gamma: float, dps: int) -> mp.mpf:
    """Eq. (5) as printed, in the paper's coordinates, by mpmath tanh-sinh quadrature."""
    with mp.workdps(dps):
        tau_m, g = mp.mpf(tau), mp.mpf(gamma)

        def inner(lf):
            top = 2 * tau_m + lf  # Theta(x): lam_b < 2 tau + lam_f
            if top <= 1:
                return mp.mpf(0)

            def f(lb):
                x = 2 * tau_m - lb + lf
                mu = mp.sqrt(lb * lb - 1)
                z = 2 * g * x * mu
                return (x * x * mp.exp(-2 * g * x * lb) / (lb - lf)
                        * (lb * mp.besseli(0, z) - mu * mp.besseli(1, z)))

            return mp.quad(f, [1, top])

        lo = max(mp.mpf(-1), 1 - 2 * tau_m)
        return mp.exp(-4 * g * tau_m) + 2 * g * g * mp.quad(inner, [lo, 1])


def rel(a, b) -> float:
    return abs(float(mp.mpf(a) / mp.mpf(b) - 1))


# ---------------------------------------------------------------- Eq. (3)
def test_gamma_gr():
    assert th.gamma_gr(0.25, 2.0) == 1.0
    np.testing.assert_array_equal(th.gamma_gr([0.0, 1.0], [[1.0], [3.0]]), [[0.0, 2.0], [0.0, 6.0]])
    with pytest.raises(ValueError, match="g"):
        th.gamma_gr(-1.0)
    with pytest.raises(ValueError, match="lam"):
        th.gamma_gr(1.0, 0.0)


# ---------------------------------------------------------------- Eq. (4)
def test_p_res_vs_mpmath_50_digits():
    gammas = np.concatenate([np.geomspace(1e-12, 1e12, 97),
                             [0.5, 0.999999, 1.0, 1.000001, 2.0, 39.9, 40.0, 708.0, 710.0]])
    got = th.p_res(gammas)
    worst = max(rel(v, p_res_mp(float(g))) for g, v in zip(gammas, got))
    assert worst <= 1e-14


def test_p_res_special_values_and_errors():
    assert th.p_res(0.0) == 1.0
    assert th.p_res(np.inf) == 0.0
    assert th.p_res(0) == 1.0
    assert abs(th.p_res(0.5) - 0.5) <= 1e-16  # Eq. (4): 1 - 1/2 - 0
    assert isinstance(th.p_res(1.0), np.floating)
    assert th.p_res(np.zeros((2, 3))).shape == (2, 3)
    for bad in (-1e-300, -1.0, np.nan, [1.0, np.nan]):
        with pytest.raises(ValueError, match="gamma"):
            th.p_res(bad)
    with pytest.raises(TypeError):
        th.p_res(1j)


def test_p_res_up_to_the_largest_double():
    """Beyond gamma = DBL_MAX / 2 the asymptote 1/gamma - 9/(4 gamma^2) (the
    series below) is 1/gamma to 1e-308, a subnormal result: P_res must stay
    that value (2 gamma used to overflow to 0), correctly rounded to within a
    subnormal's ulp; and continuous across DBL_MAX / 2."""
    for g in (8.9e307, 9.0e307, 1.0e308, 1.7e308, np.finfo(float).max):
        want = float(1 / mp.mpf(g) - mp.mpf(9) / (4 * mp.mpf(g) ** 2))
        got = float(th.p_res(g))
        assert abs(got - want) <= 2 * 5e-324, (g, got, want)
    assert float(th.p_res(np.finfo(float).max)) > 0.0
    # from gamma ~ 1e16 on, the continued fraction gives q = 1 exactly, and P_res =
    # 2 / (1 + 2 gamma + 2) = 1/gamma in double: the result must be that correctly rounded
    # quotient, rounded once also where it is subnormal (a halved result was rounded twice)
    g = np.random.default_rng(0).uniform(np.finfo(float).max / 8, np.finfo(float).max, 20000)
    np.testing.assert_array_equal(th.p_res(g), 1.0 / g)


def test_p_res_asymptotic_series():
    # P_res ~ sum_m (-1)^(m+1) (m+1) (2m-1)!! / (2 gamma)^m: Eq. (4) expanded at large gamma
    for g in (1e3, 1e5):
        s, dfact = 0.0, 1.0
        for m in range(1, 8):
            dfact *= 2 * m - 1
            s += (-1) ** (m + 1) * (m + 1) * dfact / (2 * g) ** m
        assert abs(th.p_res(g) / s - 1) < 1e-15


@given(st.floats(1e-10, 1e10), st.floats(1.0001, 10.0))
@settings(max_examples=50, deadline=None)
def test_p_res_monotone_and_bounded(g, factor):
    a, b = th.p_res(g), th.p_res(g * factor)
    assert 0 < b < a <= 1
    assert a * g < 1  # below the Golden Rule estimate 1/gamma
    # (1+q)/(1+2g+2q), q > 0, lies above 1/(1+2g) exactly when gamma > 1/2
    assert (a - 1 / (1 + 2 * g)) * (g - 0.5) >= -1e-16


# ---------------------------------------------------------------- Eq. (5)
@pytest.mark.parametrize("tau,gamma", [(0.3, 0.46), (1.0, 46.0)])
def test_p_tau_vs_mpmath_cheap(tau, gamma):
    assert rel(th.p_tau(tau, gamma), p_tau_mp(tau, gamma, 15)) <= 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("tau,gamma", [
    (0.9, 1000.0), (0.999, 1000.0), (1.0, 1000.0), (1.001, 1000.0), (50.0, 1000.0),
    (1000.0, 1000.0), (1000.0, 1e-3), (1000.0, 1.0), (0.5, 1e-3), (2.0, 0.022),
    (10.0, 10.0), (5.0, 46.0), (0.01, 1000.0), (3.0, 3.0),
])
def test_p_tau_vs_mpmath_slow(tau, gamma):
    assert rel(th.p_tau(tau, gamma), p_tau_mp(tau, gamma, 25)) <= 1e-10


@given(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(-1.0, 1.0))
@settings(max_examples=12, deadline=None)
def test_p_tau_self_convergence(log_tau, log_gamma, near_one):
    # the production rule against a ~30x finer rule (20-point Gauss-Legendre,
    # every panel split in 3, ratio-2 grading, cut e^-60); near tau = 1 too
    tau = np.array([10.0**log_tau, 1.0 + 10.0 ** (2 * near_one - 4) * np.sign(near_one)])
    g = np.full(2, 10.0**log_gamma)
    ref = np.empty(2)
    _theory.p_tau_fine_range(tau, g, ref, 0, 2)
    np.testing.assert_allclose(th.p_tau(tau, g), ref, rtol=1e-11, atol=0)


def test_p_tau_exact_values():
    assert th.p_tau(0.0, 0.46) == 1.0
    np.testing.assert_array_equal(th.p_tau(0.0, [1e-3, 1.0, 1e3, np.inf]), 1.0)
    np.testing.assert_array_equal(th.p_tau([0.5, 7.0], 0.0), 1.0)
    np.testing.assert_array_equal(th.p_tau([0.5, 7.0], np.inf), 0.0)
    assert th.p_tau(np.inf, 0.46) == th.p_res(0.46)


@pytest.mark.parametrize("gamma", [1e-3, 0.46, 46.0, 1000.0])
def test_p_tau_long_time_limit_is_p_res(gamma):
    p = th.p_tau([100.0, 1000.0], gamma)
    np.testing.assert_allclose(p, th.p_res(gamma), rtol=1e-12, atol=0)


def test_p_tau_large_gamma_limit():
    # gamma (P - e^{-4 gamma tau}) -> (1 + tau)/2 (tau < 1), 1 (tau > 1); corrections O(1/gamma)
    taus = np.array([0.25, 0.5, 2.0, 5.0])
    lim = np.where(taus < 1, 0.5 * (1 + taus), 1.0)
    dev = {}
    for g in (1e3, 1e4):
        dev[g] = g * (th.p_tau(taus, g) - np.exp(-4 * g * taus)) - lim
    assert np.all(np.abs(dev[1e4]) < 3.0 / 1e4)
    ratio = dev[1e3] / dev[1e4]
    assert np.all((ratio > 8) & (ratio < 12))


def test_p_tau_even_broadcast_workers():
    tau = np.linspace(-3, 3, 13)
    g = np.array([[0.1], [5.0]])
    p = th.p_tau(tau, g, workers=1)
    assert p.shape == (2, 13)
    np.testing.assert_array_equal(p, p[:, ::-1])
    np.testing.assert_array_equal(p, th.p_tau(tau, g, workers=2))


def test_p_tau_errors():
    with pytest.raises(ValueError, match="tau"):
        th.p_tau(np.nan, 1.0)
    with pytest.raises(ValueError, match="gamma"):
        th.p_tau(1.0, -1.0)
    with pytest.raises(ValueError, match="gamma"):
        th.p_tau(1.0, np.nan)
    with pytest.raises(ValueError, match="broadcast"):
        th.p_tau(np.ones(3), np.ones(4))
    with pytest.raises(TypeError):
        th.p_tau("1", 1.0)


@given(st.floats(0.0, 1e3), st.floats(1e-3, 1e3))
@settings(max_examples=30, deadline=None)
def test_p_tau_bounded_and_continuous(tau, g):
    h = 1e-7 * max(tau, 1e-3)
    p0, p1 = th.p_tau([tau, tau + h], g)
    assert 0.0 <= p0 <= 1.0
    # |dP/dtau| is at most of order 4 gamma (the Golden Rule rate) plus O(1)
    assert abs(p1 - p0) <= (8 * g + 10) * h + 1e-11


@given(st.floats(1e-3, 1e3), st.floats(1.01, 10.0))
@settings(max_examples=15, deadline=None)
def test_p_tau_monotone_in_gamma_at_long_times(g, factor):
    # at tau = 1e3 P is P_res (to quadrature accuracy), strictly decreasing in gamma
    a, b = th.p_tau(1e3, [g, min(g * factor, 1e3)])
    if g * factor <= 1e3:
        assert b < a


def test_bessel_helper():
    # includes the ends of every unit interval of the z < 48 interpolants
    z = np.concatenate([np.linspace(0, 60, 1201), np.geomspace(60, 1e9, 200)])
    a, b, d = (np.empty_like(z) for _ in range(3))
    _theory.bessel_i01e(z, a, b, d)
    np.testing.assert_allclose(a, scipy.special.i0e(z), rtol=5e-15)
    np.testing.assert_allclose(b[1:], scipy.special.i1e(z[1:]), rtol=5e-15)
    for zz, dd in zip(z[::7], d[::7]):
        with mp.workdps(30):
            ref = mp.exp(-zz) * (mp.besseli(0, zz) - mp.besseli(1, zz))
        # the difference is interpolated (z < 48) or summed (above) by itself
        assert rel(dd, ref) < 2e-15


# ---------------------------------------------------------------- form factors
def _mehta_gse(s):
    # Mehta/Haake, s in Heisenberg times of the doublet spectrum
    return s / 2 - (s / 4) * math.log(abs(1 - s)) if s < 2 else 1.0


def test_form_factor_values():
    t = np.array([0.1, 0.3, 0.7, 0.9, 1.5, 4.0])
    np.testing.assert_allclose(th.form_factor(t, "U"), np.minimum(t, 1.0), rtol=1e-15)
    goe = [2 * x - x * math.log(1 + 2 * x) if x < 1 else 2 - x * math.log((2 * x + 1) / (2 * x - 1)) for x in t]
    np.testing.assert_allclose(th.form_factor(t, "goe"), goe, rtol=1e-13)
    np.testing.assert_allclose(th.form_factor(t, "GSE"), [_mehta_gse(2 * x) for x in t], rtol=1e-14)
    for s in SYMS:
        assert th.form_factor(np.inf, s) == 1.0
        assert th.form_factor(0.0, s) == 0.0
        np.testing.assert_array_equal(th.form_factor(-t, s), th.form_factor(t, s))


def test_form_factor_goe_large_tau_to_the_float_limit():
    """K_GOE(tau) = 2 - tau ln((2 tau + 1)/(2 tau - 1)) -> 1 - 1/(12 tau^2):
    correctly rounded against mpmath from tau = 1 up to DBL_MAX, where 2 tau
    overflows, in both the Python and the Cython API (and in p_sff)."""
    from fgrkern import cython_api

    taus = np.concatenate([[1.0, 1.5, 10.0, 1e4, 2.0**26 / 1.5, np.nextafter(2.0**26, 0), 2.0**26, 1e8, 1e154,
                            8.98e307, 9e307, 1e308, np.finfo(float).max], np.geomspace(1.01, 1e300, 61)])
    ref = []
    for x in taus:
        # enough digits to survive the cancellation in (2 tau + 1)/(2 tau - 1)
        with mp.workdps(40 + 2 * int(math.log10(x))):
            ref.append(float(2 - mp.mpf(x) * mp.log((2 * mp.mpf(x) + 1) / (2 * mp.mpf(x) - 1))))
    got = th.form_factor(taus, "GOE")
    # the formula loses a few ulps to the logarithm's cancellation near tau = 1
    np.testing.assert_allclose(got, ref, rtol=4e-16, atol=0)
    big = taus >= 2.0**26
    np.testing.assert_array_equal(got[big], 1.0)
    np.testing.assert_array_equal(np.array(ref)[big], 1.0)
    cy = np.array([cython_api._form_factor(x, 1) for x in taus])
    np.testing.assert_allclose(cy, ref, rtol=4e-16, atol=0)
    np.testing.assert_array_equal(cy[big], 1.0)
    # P_SFF (Eq. 6) stays a finite probability however large tau
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ps = th.p_sff(taus, 10.0, "GOE")
        # exp(-4 gamma tau) underflows to 0, leaving (1 + tau)/(2 gamma)
        assert th.p_tau_large_gamma(0.5, 1e308) == 0.75 / 1e308
    assert np.all(np.isfinite(ps)) and np.all((ps >= 0) & (ps <= 1))
    np.testing.assert_array_equal(ps[big], th.p_sff(np.inf, 10.0, "GOE"))
    assert cython_api._p_sff(1e308, 10.0, 1) == th.p_sff(np.inf, 10.0, "GOE")


@pytest.mark.parametrize("sym,expected", [("GUE", 0.5), ("GOE", 0.5), ("GSE", 0.25)])
def test_form_factor_sum_rule(sym, expected):
    f = lambda x: 1.0 - float(th.form_factor(x, sym))  # noqa: E731
    a, _ = scipy.integrate.quad(f, 0, 1, points=[0.5], limit=200, epsabs=1e-13, epsrel=1e-12)
    b, _ = scipy.integrate.quad(f, 1, np.inf, limit=200, epsabs=1e-13, epsrel=1e-12)
    assert abs(a + b - expected) < 1e-9


@pytest.mark.parametrize("sym,slope", [("GUE", 1.0), ("GOE", 2.0), ("GSE", 1.0)])
def test_form_factor_small_tau_slope(sym, slope):
    eps = 1e-8
    assert abs(th.form_factor(eps, sym) / eps - slope) < 1e-6


@pytest.mark.parametrize("sym", SYMS)
def test_form_factor_continuity_at_one(sym):
    eps = 1e-9
    lo, hi = th.form_factor([1 - eps, 1 + eps], sym)
    assert abs(hi - lo) < 1e-7


def test_form_factor_gse_log_singularity():
    assert th.form_factor(0.5, "GSE") == np.inf
    for eps in (1e-4, 1e-8, 1e-12):
        taus = np.array([0.5 - eps, 0.5 + eps])
        # K ~ 1/2 - (1/4) ln(2 |tau - 1/2|) on both sides (|tau - 1/2| exact by Sterbenz)
        for t, v in zip(taus, th.form_factor(taus, "GSE")):
            e = abs(t - 0.5)
            assert abs(v - (0.5 - 0.25 * math.log(2 * e))) < e * (2 - math.log(2 * e)) + 1e-13
    assert np.isfinite(th.form_factor(0.5 + 1e-15, "GSE"))


def test_form_factor_emits_no_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for s in SYMS:
            th.form_factor(np.linspace(0, 3, 301), s)
            th.p_sff(np.linspace(0, 3, 301), 46.0, s)


def test_form_factor_errors():
    with pytest.raises(ValueError, match="symmetry"):
        th.form_factor(0.5, "GXE")
    with pytest.raises(TypeError):
        th.form_factor(0.5, 2)
    with pytest.raises(ValueError, match="tau"):
        th.form_factor(np.nan, "U")


# ---------------------------------------------------------------- Eq. (6) and constants
def test_p_off_p_plateau_ratios():
    g = np.array([2.0, 46.0])
    np.testing.assert_allclose(th.p_off(g, "U") * 2 * g, 1.0)
    np.testing.assert_allclose(th.p_off(g, "O") * 2 * g, 2.0)
    np.testing.assert_allclose(th.p_off(g, "S") * 2 * g, 1.0)
    for s, pl, ratio in (("U", 2, 2.0), ("O", 3, 1.5), ("S", 3, 3.0)):
        np.testing.assert_allclose(th.p_plateau(g, s) * 2 * g, pl)
        np.testing.assert_allclose(th.p_plateau(g, s) / th.p_off(g, s), ratio)
    with pytest.raises(ValueError, match="gamma"):
        th.p_off(0.0)


@pytest.mark.parametrize("sym", SYMS)
def test_p_sff_structure(sym):
    g = 46.0
    # long times: the plateau; early (after decay): the offset
    np.testing.assert_allclose(th.p_sff(1e6, g, sym), th.p_plateau(g, sym), rtol=1e-12)
    if sym != "GOE":  # K = 1 exactly beyond tau = 1 for GUE and GSE
        np.testing.assert_allclose(th.p_sff(5.0, g, sym), th.p_plateau(g, sym) + math.exp(-4 * g * 5), rtol=1e-14)
    np.testing.assert_allclose(th.p_sff(1e-9, g, sym), th.p_off(g, sym) + math.exp(-4 * g * 1e-9), rtol=1e-7)
    assert th.p_sff(0.0, g, sym) == 1.0 + th.p_off(g, sym)
    assert th.p_sff(0.3, np.inf, sym) == 0.0


def test_p_sff_gse_singularity_at_every_gamma():
    """K_GSE(1/2) = +inf (log singularity of Eq. (6)'s form factor): P is +inf
    there for finite gamma and for gamma = inf alike, without a warning (it
    was inf/inf = NaN with a RuntimeWarning at gamma = inf)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = th.p_sff(0.5, [1.0, 1e300, np.inf], "GSE")
        assert np.all(np.isposinf(got))
        assert th.p_sff(0.5 + 1e-15, np.inf, "GSE") == 0.0  # exp(-inf) + finite K / inf


def test_p_sff_gue_is_large_gamma_formula_and_unitary_plateau_is_p_res_limit():
    t = np.linspace(0, 3, 31)
    np.testing.assert_allclose(th.p_sff(t, 46.0, "U"), th.p_tau_large_gamma(t, 46.0), rtol=1e-15)
    # P_U(inf) = 1/gamma = leading order of P_res (Eq. 4)
    g = 1e6
    assert abs(th.p_plateau(g, "U") / th.p_res(g) - 1) < 3e-6


def test_p_tau_large_gamma_matches_p_tau_at_large_gamma():
    t = np.array([0.3, 0.6, 3.0])
    g = 1e3
    assert np.all(np.abs(th.p_tau_large_gamma(t, g) - th.p_tau(t, g)) < 3 / g**2)


def test_namespace():
    assert fk.theory is th
    for name in th.__all__:
        assert callable(getattr(th, name))
