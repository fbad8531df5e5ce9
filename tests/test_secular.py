"""Single-realisation accuracy of the arrowhead secular solver (src_c/fgr_secular.c).

References: LAPACK (numpy.linalg.eigh) on the same dense arrowhead matrix for
absolute accuracy, and an independent mpmath bisection at 50 digits for the
relative accuracy of tiny offsets from the poles and tiny weights.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fgrkern import _sampler


def dense_arrowhead(d, z2, alpha):
    a = np.diag(np.concatenate([[alpha], d]))
    a[0, 1:] = a[1:, 0] = np.sqrt(z2)
    ev, v = np.linalg.eigh(a)
    return ev, v[0] ** 2


def mp_roots(d, z2, alpha, dps=50):
    """(origin, offset, weight) of every root of the secular equation, in mpmath.

    Independent of the C solver: the side of each gap is decided by the sign at
    the midpoint, then the offset from that pole is bisected (geometrically, so
    offsets of any magnitude get full relative precision).
    """
    with mp.workdps(dps):
        D = [mp.mpf(float(x)) for x in d]
        Z = [mp.mpf(float(x)) for x in z2]
        A = mp.mpf(float(alpha))
        act = [k for k in range(len(D)) if Z[k] != 0]
        tol = mp.mpf(10) ** (-(dps - 15))

        def f(o, t):
            return (D[o] - A) + t + mp.fsum(Z[m] / ((D[m] - D[o]) - t) for m in act)

        out = []
        K = len(act)
        reach = mp.sqrt(mp.fsum(Z)) + 1
        for j in range(K + 1):
            if 0 < j < K:
                left, right = act[j - 1], act[j]
                h = D[right] - D[left]
                if f(left, h / 2) >= 0:
                    o, lo, hi = left, mp.mpf(0), h / 2
                else:
                    o, lo, hi = right, -h / 2, mp.mpf(0)
            elif j == 0:
                o, lo, hi = act[0], min(A - D[act[0]], 0) - reach, mp.mpf(0)
            else:
                o, lo, hi = act[-1], mp.mpf(0), max(A - D[act[-1]], 0) + reach
            for _ in range(5000):
                if lo >= 0:
                    mid = mp.sqrt(lo * hi) if lo > 0 else hi * mp.mpf(2) ** -40
                else:
                    mid = -mp.sqrt(lo * hi) if hi < 0 else lo * mp.mpf(2) ** -40
                if f(o, mid) < 0:
                    lo = mid
                else:
                    hi = mid
                if abs(hi - lo) <= abs(mid) * tol:
                    break
            t = (lo + hi) / 2
            w = 1 / (1 + mp.fsum(Z[m] / ((D[m] - D[o]) - t) ** 2 for m in act))
            out.append((o, t, w))
        return out


def check_against_mpmath(d, z2, alpha, rtol=1e-13):
    e, w, tau, origin = _sampler.arrowhead(np.asarray(d, float), np.asarray(z2, float), alpha)
    ref = mp_roots(d, z2, alpha)
    active = [a for a in range(len(e)) if not (origin[a] >= 0 and z2[origin[a]] == 0 and w[a] == 0)]
    assert len(active) == len(ref)
    worst_t = worst_w = 0.0
    for a, (o, t, wr) in zip(active, ref):
        if origin[a] == o:
            worst_t = max(worst_t, float(abs((tau[a] - t) / t)))
        else:  # root within rounding of the gap midpoint: compare energies
            assert abs(e[a] - float(mp.mpf(float(d[o])) + t)) <= 1e-15 * (1 + abs(e[a]))
        worst_w = max(worst_w, float(abs((w[a] - wr) / wr)))
    assert worst_t <= rtol, worst_t
    assert worst_w <= rtol, worst_w
    return tau, w


def check_against_lapack(d, z2, alpha, atol=1e-13):
    d = np.asarray(d, float)
    z2 = np.asarray(z2, float)
    e, w, tau, origin = _sampler.arrowhead(d, z2, alpha)
    ev, wv = dense_arrowhead(d, z2, alpha)
    scale = max(1.0, np.max(np.abs(ev)))
    assert np.max(np.abs(e - ev)) <= atol * scale
    assert np.max(np.abs(w - wv)) <= atol
    assert abs(w.sum() - 1.0) <= 1e-14
    assert np.all(np.diff(e) >= 0)
    # interlacing: one eigenvalue below d[0], one in each gap, one above d[-1]
    if len(d):
        assert np.all(e[:-1] <= d) and np.all(d <= e[1:])
    # the offsets reproduce the eigenvalues
    has = origin >= 0
    np.testing.assert_array_equal(e[has], d[origin[has]] + tau[has])
    # <0|H|0> = alpha and <0|(H - alpha)^2|0> = sum z2 exactly in exact arithmetic
    assert abs(np.sum(w * (e - alpha))) <= 1e-13 * scale
    assert abs(np.sum(w * (e - alpha) ** 2) - z2.sum()) <= 1e-13 * scale**2
    return e, w


@pytest.mark.parametrize("gamma", [1e-8, 1e-4, 1.0, 30.0])
def test_random_vs_lapack_and_mpmath(gamma):
    rng = np.random.default_rng(11)
    L = 20
    d = np.sort(2 * np.cos(np.pi * rng.random(L)))
    z2 = gamma / L * rng.exponential(size=L)
    check_against_lapack(d, z2, 0.05)
    tau, w = check_against_mpmath(d, z2, 0.05)
    if gamma == 1e-8:
        # the regime the relative accuracy is for: offsets and weights ~1e-9 .. 1e-12
        assert np.min(np.abs(tau[tau != 0])) < 1e-10
        assert np.min(w) < 1e-10


def test_tiny_offsets_relative_accuracy():
    # offsets ~1e-18 and weights ~1e-18 (weak coupling at N ~ 1000): absolute
    # accuracy alone would lose every digit
    rng = np.random.default_rng(2)
    L = 15
    d = np.sort(rng.uniform(-2, 2, L))
    z2 = 1e-18 * rng.exponential(size=L)
    tau, w = check_against_mpmath(d, z2, 0.3)
    assert np.sort(np.abs(tau))[1] < 1e-16
    assert np.sort(w)[0] < 1e-16


def test_near_degenerate_poles_and_zero_couplings():
    rng = np.random.default_rng(4)
    L = 16
    d = np.sort(rng.uniform(-2, 2, L))
    d[5] = d[4] + 1e-13
    d[9] = np.nextafter(d[8], 3.0)  # adjacent doubles
    z2 = rng.exponential(size=L) / L * 1e-2
    z2[[2, 12]] = 0.0
    check_against_lapack(d, z2, 0.0)
    check_against_mpmath(d, z2, 0.0)
    e, w, tau, origin = _sampler.arrowhead(d, z2, 0.0)
    for k in (2, 12):  # decoupled poles are eigenvalues of weight exactly 0
        hit = np.flatnonzero((origin == k) & (w == 0))
        assert len(hit) == 1 and e[hit[0]] == d[k]


@pytest.mark.parametrize("alpha", [-7.5, 3.0, 40.0])
def test_level_outside_band(alpha):
    rng = np.random.default_rng(6)
    L = 18
    d = np.sort(rng.uniform(-2, 2, L))
    z2 = rng.exponential(size=L) / L * 0.5
    e, _ = check_against_lapack(d, z2, alpha)
    check_against_mpmath(d, z2, alpha)
    # the level survives as a bound state outside the band, shifted by ~ sum z2 / (alpha - d)
    outer = e[0] if alpha < 0 else e[-1]
    assert abs(outer - alpha) < np.sum(z2) / (abs(alpha) - 2)


def test_exactly_repeated_poles():
    d = np.array([-1.0, 0.5, 0.5, 0.5, 1.0])
    z2 = np.array([0.1, 0.2, 0.3, 0.0, 0.1])
    e, w = check_against_lapack(d, z2, 0.0)
    # the pole 0.5 of multiplicity 3 keeps multiplicity 2 with zero weight
    assert np.sum((e == 0.5) & (w == 0.0)) == 2


def test_degenerate_inputs():
    e, w, tau, origin = _sampler.arrowhead(np.empty(0), np.empty(0), 0.7)
    assert e.tolist() == [0.7] and w.tolist() == [1.0]
    e, w, _, _ = _sampler.arrowhead(np.array([-1.0, 1.0]), np.zeros(2), 0.25)
    assert e.tolist() == [-1.0, 0.25, 1.0] and w.tolist() == [0.0, 1.0, 0.0]
    # a single pole: 2x2 closed form
    d0, z, a = 0.3, 0.04, -0.1
    e, w, _, _ = _sampler.arrowhead(np.array([d0]), np.array([z]), a)
    disc = np.sqrt(((a - d0) / 2) ** 2 + z)
    np.testing.assert_allclose(e, [(a + d0) / 2 - disc, (a + d0) / 2 + disc], rtol=1e-15)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="sorted"):
        _sampler.arrowhead(np.array([1.0, 0.0]), np.array([1.0, 1.0]), 0.0)
    with pytest.raises(ValueError, match="couplings"):
        _sampler.arrowhead(np.array([0.0, 1.0]), np.array([1.0, -1.0]), 0.0)
    with pytest.raises(ValueError, match="couplings"):
        _sampler.arrowhead(np.array([0.0, 1.0]), np.array([1.0, np.nan]), 0.0)
    with pytest.raises(ValueError, match="eps0"):
        _sampler.arrowhead(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.inf)


@settings(max_examples=150, deadline=None)
@given(
    L=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    log_gamma=st.floats(-16, 3),
    alpha=st.floats(-6, 6),
    frac_zero=st.floats(0, 0.5),
    n_clusters=st.integers(0, 4),
)
def test_property_matches_lapack(L, seed, log_gamma, alpha, frac_zero, n_clusters):
    rng = np.random.default_rng(seed)
    d = rng.uniform(-2, 2, L)
    for _ in range(n_clusters):  # clusters of nearly or exactly coinciding poles
        i, j = rng.integers(0, L, 2)
        d[j] = d[i] + rng.choice([0.0, 1e-15, 1e-12, 1e-8])
    d = np.sort(d)
    z2 = 10.0**log_gamma / L * rng.exponential(size=L)
    z2[rng.random(L) < frac_zero] = 0.0
    check_against_lapack(d, z2, alpha)


def test_rows_interface_matches_single():
    rng = np.random.default_rng(8)
    R, L = 5, 30
    poles = np.sort(rng.standard_normal((R, L)), axis=1)
    z2 = rng.exponential(size=(R, L)) * 0.01
    e = np.empty((R, L + 1))
    w = np.empty((R, L + 1))
    _sampler.arrowhead_rows(poles, z2, 0.2, e, w)
    for r in range(R):
        er, wr, _, _ = _sampler.arrowhead(poles[r], z2[r], 0.2)
        np.testing.assert_array_equal(e[r], er)
        np.testing.assert_array_equal(w[r], wr)
    # one shared row of poles
    _sampler.arrowhead_rows(poles[:1], z2, 0.2, e, w)
    er, wr, _, _ = _sampler.arrowhead(poles[0], z2[3], 0.2)
    np.testing.assert_array_equal(e[3], er)


def test_tridiagonal_eigenvalues_match_lapack():
    rng = np.random.default_rng(9)
    R, L = 3, 50
    diag = rng.standard_normal((R, L))
    off = np.abs(rng.standard_normal((R, L)))
    ref = [np.linalg.eigvalsh(np.diag(diag[r]) + np.diag(off[r, :-1], 1) + np.diag(off[r, :-1], -1))
           for r in range(R)]
    _sampler.tridiag_eigvals_rows(diag, off)
    np.testing.assert_allclose(diag, np.array(ref), atol=1e-13)


@settings(max_examples=200, deadline=None)
@given(
    L=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    pole_exp=st.integers(-300, 300),
    gap_decades=st.integers(0, 300),
    coupling_exp=st.integers(-300, 300),
    alpha_kind=st.sampled_from(["zero", "pole", "far", "random"]),
    m=st.integers(-200, 200),
)
def test_adversarial_scales_converge(L, seed, pole_exp, gap_decades, coupling_exp, alpha_kind, m):
    """Poles at any magnitude with gaps spread over up to 300 decades, couplings
    from 1e-300 to 1e300 relative to them, the level anywhere: every root
    converges (no RuntimeError) within the iteration limit, or the input is
    refused because a relevant coupling is below the solver's resolution; the eigenvalues
    interlace with the poles, the weights sum to 1 and <0|H - alpha|0> = 0.
    Scaling H by 2^m scales the eigenvalues by exactly 2^m and leaves the
    weights bitwise unchanged (the solver works in units of a power of two)."""
    rng = np.random.default_rng(seed)
    s = 10.0**pole_exp
    d = np.sort(s * (rng.choice([-1.0, 1.0]) + np.cumsum(10.0 ** -rng.uniform(0, gap_decades, L))))
    z2 = (s * s) * 10.0 ** rng.uniform(min(coupling_exp, 0) - 10, min(coupling_exp, 8), L)
    z2 = np.minimum(z2, 1e300)
    alpha = {"zero": 0.0, "pole": float(d[L // 2]), "far": -1e3 * s, "random": s * rng.standard_normal()}[alpha_kind]
    try:
        e, w, tau, origin = _sampler.arrowhead(d, z2, alpha)
    except ValueError as exc:
        # Refused only where a squared coupling is below DBL_MIN in the solver's
        # unit (the largest energy) -- too small to solve with, yet not negligible
        # (e.g. the level on a pole with |W| ~ 1e-154: weights 1/2, 1/2, not 0, 1;
        # tests/test_secular_scales.py checks the criterion against mpmath).
        assert "too many decades" in str(exc)
        big = max(abs(alpha), float(np.max(np.abs(d))), float(np.sqrt(np.max(z2))))
        assert np.min(z2) < 4 * np.finfo(float).tiny * big * big, exc
        return
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) >= 0) and np.all(w >= 0)
    assert abs(w.sum() - 1.0) <= 1e-14
    assert np.all(e[:-1] <= d) and np.all(d <= e[1:])
    big = max(np.max(np.abs(e)), abs(alpha))
    assert abs(np.sum(w * (e - alpha))) <= 1e-13 * big
    f, f2 = 2.0**m, 4.0**m
    with np.errstate(over="ignore"):  # an overflowing scale only means: skip the scaling check
        # nothing may underflow either: alpha ~ 1e-289 scaled by 2^-116 became 0, exactly a
        # pole's value, and the scaled matrix was then another (degenerate) one
        nonzero = np.concatenate([np.abs(d[d != 0]), [abs(alpha)] if alpha != 0 else []])
        scalable = max(np.max(np.abs(e)) * f, np.max(z2) * f2) < 1e300 and \
            min(np.min(z2[z2 > 0], initial=1.0) * f2, np.min(nonzero, initial=1.0) * f) > 1e-290
    if scalable:
        e2, w2, _, _ = _sampler.arrowhead(d * f, z2 * f2, alpha * f)
        np.testing.assert_array_equal(w2, w)
        np.testing.assert_array_equal(e2, e * f)
