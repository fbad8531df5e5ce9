"""Tests of the eigenpair-sum kernel fgrkern.survival_probability.

References used here, all independent of the kernel:
- the straightforward numpy evaluation |exp(-i outer(t, e)) @ w|^2;
- an "exactly reduced" evaluation: the phase e*t is split into its rounded
  value p and the exact rounding error (Dekker's two-product), so that
  sin(e t) = sin(p) + err cos(p) to ~1e-16 absolute even at |e t| ~ 1e6,
  where numpy's own rounded phase is off by ~1e-10; it is itself checked
  against mpmath at 40 digits;
- the literal double sum sum_{a,b} w_a w_b cos((e_a - e_b) t);
- exact identities (P(0), P(-t), energy shift, long-time average).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import fgrkern
from fgrkern import _kernel
from fgrkern import survival_probability as sp

EPS = np.finfo(np.float64).eps


# --------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------
def two_prod(a, b):
    """p = fl(a*b) and err = a*b - p exactly (Dekker, no FMA needed)."""
    p = a * b
    split = 134217729.0  # 2^27 + 1
    c = split * a
    ah = c - (c - a)
    al = a - ah
    c = split * b
    bh = c - (c - b)
    bl = b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


def p_reduced(e, w, t):
    """|sum_a w_a exp(-i e_a t)|^2 with the phase e_a t taken exactly."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    p, err = two_prod(t[:, None], np.asarray(e, dtype=np.float64)[None, :])
    s, c = np.sin(p), np.cos(p)
    re = (c - err * s) @ w
    im = (s + err * c) @ w
    return re * re + im * im


def p_numpy(e, w, t):
    """What a user would write."""
    return np.abs(np.exp(-1j * np.outer(t, e)) @ w) ** 2


def p_mpmath(e, w, t, dps=40):
    with mpmath.workdps(dps):
        out = []
        for tk in np.atleast_1d(t):
            tk = mpmath.mpf(float(tk))
            re = mpmath.fsum(mpmath.mpf(float(wa)) * mpmath.cos(mpmath.mpf(float(ea)) * tk)
                             for ea, wa in zip(e, w))
            im = mpmath.fsum(mpmath.mpf(float(wa)) * mpmath.sin(mpmath.mpf(float(ea)) * tk)
                             for ea, wa in zip(e, w))
            out.append(float(re * re + im * im))
    return np.array(out)


def p_double_sum(e, w, t):
    d = np.subtract.outer(e, e)
    ww = np.outer(w, w)
    return np.array([np.sum(ww * np.cos(d * tk)) for tk in np.atleast_1d(t)])


def spectrum(rng, M, width=2.0):
    e = rng.uniform(-width, width, M)
    w = rng.exponential(size=M)
    return e, w / w.sum()


# --------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------
def test_reduced_reference_matches_mpmath():
    rng = np.random.default_rng(11)
    e, w = spectrum(rng, 40)
    t = np.array([0.0, 0.37, 123.4, 4.9e3, 2.5e5, 4.99e5])
    assert np.max(np.abs(p_reduced(e, w, t) - p_mpmath(e, w, t))) < 5e-16


@pytest.mark.parametrize("grid", ["auto", "general"])
def test_matches_numpy_up_to_phase_1e4(grid):
    # |e t| <= 2 * 5e3 = 1e4: within 1e-12 of plain numpy (a phase ~1e4 rounds by ~1e-12).
    rng = np.random.default_rng(1)
    e, w = spectrum(rng, 400)
    for t in (np.geomspace(1e-3, 5e3, 150), np.linspace(0.0, 5e3, 700), np.linspace(5e3, -1.0, 500)):
        P = sp(e, w, t, grid=grid)
        assert np.max(np.abs(P - p_numpy(e, w, t))) <= 1e-12
        assert np.max(np.abs(P - p_reduced(e, w, t))) <= 1e-12


@pytest.mark.parametrize("grid", ["auto", "general"])
def test_large_phases_up_to_1e6(grid):
    # |e t| up to 2 * 5e5 = 1e6, across FAST_PHASE_LIMIT (1.6e6 is above, so
    # also push a few energies beyond it): the phase rounding of any double
    # evaluation is ~|e t| eps ~ 1e-10 per term; requirement <= 1e-8.
    rng = np.random.default_rng(2)
    e, w = spectrum(rng, 300)
    e[:3] = [3.5, -4.0, 3.9]  # |e t| up to 2e6 > FAST_PHASE_LIMIT
    for t in (np.geomspace(1.0, 5e5, 120), np.linspace(4e5, 5e5, 600)):
        P = sp(e, w, t, grid=grid)
        ref = p_reduced(e, w, t)
        err = np.max(np.abs(P - ref))
        assert err <= 1e-8
        # our error is of the size of numpy's own phase-rounding error, not more
        assert err <= 20 * max(np.max(np.abs(p_numpy(e, w, t) - ref)), 1e-13)
        assert np.max(np.abs(P - p_numpy(e, w, t))) <= 1e-8


def test_uniform_path_long_grid_does_not_drift():
    # 1e5 steps at nearly constant |e t| <= 2.2e3: the phase rounding is the
    # same at every k, so an error growing with k would be the fast path's own.
    # A phasor recurrence without re-anchoring (numpy cumprod of the step
    # phasors) reaches 3.7e-13 here, 13x its error over the first 1e4 steps;
    # the anchor x offset factorisation stays within 2x (measured max 4.6e-14).
    rng = np.random.default_rng(3)
    e, w = spectrum(rng, 64)
    T = 100_000
    t = 1000.0 + 1e-3 * np.arange(T)
    P = sp(e, w, t, grid="uniform")
    err = np.abs(P - p_reduced(e, w, t))
    assert np.max(err) <= 2e-13
    head, tail = err[:10_000].max(), err[-10_000:].max()
    assert tail <= 3 * head + 20 * EPS
    # the general path at the same points agrees too
    sub = slice(0, T, 997)
    assert np.max(np.abs(P[sub] - sp(e, w, t[sub], grid="general"))) <= 2e-13


def test_uniform_path_matches_general_path_long_grid():
    rng = np.random.default_rng(4)
    e, w = spectrum(rng, 200, width=5.0)
    t = np.linspace(-50.0, 2e4, 20_001)  # |e t| up to 1e5
    Pu = sp(e, w, t, grid="uniform")
    Pg = sp(e, w, t, grid="general")
    assert np.max(np.abs(Pu - Pg)) <= 1e-12
    assert np.max(np.abs(Pu - p_reduced(e, w, t))) <= 1e-12


def test_auto_grid_detection():
    rng = np.random.default_rng(5)
    e, w = spectrum(rng, 50)
    t = np.linspace(0.0, 100.0, 1000)
    assert np.array_equal(sp(e, w, t), sp(e, w, t, grid="uniform"))
    tl = np.geomspace(1e-2, 1e2, 1000)
    assert np.array_equal(sp(e, w, tl), sp(e, w, tl, grid="general"))
    with pytest.raises(ValueError, match="uniform"):
        sp(e, w, tl, grid="uniform")


@pytest.mark.parametrize("T", [1, 2, 3])
def test_short_time_grids(T):
    # uniform detection needs T >= 3; T = 1, 2 go through the general path
    rng = np.random.default_rng(6)
    e, w = spectrum(rng, 37)
    t = np.array([0.5, 7.25, 14.0])[:T]
    for grid in ("auto", "uniform", "general"):
        P = sp(e, w, t, grid=grid)
        assert P.shape == (T,)
        assert np.max(np.abs(P - p_reduced(e, w, t))) <= 1e-14


def test_single_level_and_two_levels():
    # M = 1: P = w^2 at every t; two levels: P = w1^2 + w2^2 + 2 w1 w2 cos(de t).
    # Each term is a product of at most two rounded unit phasors (the uniform
    # path multiplies anchor and offset), so |z|^2 = 1 within a few eps.
    t = np.linspace(-30.0, 30.0, 301)
    for grid in ("uniform", "general"):
        assert np.max(np.abs(sp([1.7], [0.6], t, grid=grid) - 0.36)) <= 8 * EPS * 0.36
    # the uniform path evaluates t_jB + r dt, which may differ from the
    # caller's linspace values by the 8 ulps (of max|t| = 30) that the grid
    # detection tolerates: a phase shift <= de * 8 * 30 eps in the cosine
    shift = 1.0 * 8 * 30.0 * EPS
    for grid in ("uniform", "general"):
        P = sp([0.0, 1.0], [0.5, 0.5], t, grid=grid)
        assert np.max(np.abs(P - 0.5 * (1.0 + np.cos(t)))) <= 8 * EPS + 0.5 * shift


def test_large_M():
    # sums over 3e5 eigenpairs, processed in cache blocks (M not a multiple
    # of the block or lane count): the reduction's rounding stays at ~1e-15
    rng = np.random.default_rng(7)
    M = 300_001
    e, w = spectrum(rng, M)
    t = np.array([0.0, 0.1, 3.0, 77.0, 1e3])
    P = sp(e, w, t)
    ref = p_reduced(e, w, t)
    ref[0] = math.fsum(w) ** 2
    assert np.max(np.abs(P - ref)) <= 1e-14
    t_uniform = np.linspace(0.0, 40.0, 5)
    assert np.max(np.abs(sp(e, w, t_uniform, grid="uniform") - p_reduced(e, w, t_uniform))) <= 1e-14


# --------------------------------------------------------------------------
# the vectorised sin/cos
# --------------------------------------------------------------------------
def _sincos(x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    s = np.empty_like(x)
    c = np.empty_like(x)
    _kernel.sincos(x, s, c)
    return s, c


def test_sincos_against_libm():
    rng = np.random.default_rng(8)
    lim = _kernel.FAST_PHASE_LIMIT
    mags = 10.0 ** rng.uniform(-20, math.log10(lim), 50_000)
    k = np.arange(0, int(lim / (np.pi / 2)), 997, dtype=np.float64)
    near_quadrants = np.concatenate([k * (np.pi / 2), np.nextafter(k * (np.pi / 2), np.inf)])
    special = np.array([0.0, -0.0, 5e-324, 1e-300, 1e-8, np.pi / 4, np.pi / 2, np.pi, lim,
                        np.nextafter(lim, 0.0)])
    x = np.concatenate([mags, -mags, near_quadrants, -near_quadrants, special, -special])
    assert np.all(np.abs(x) <= lim)
    s, c = _sincos(x)
    s_ref = np.array([math.sin(v) for v in x])
    c_ref = np.array([math.cos(v) for v in x])
    # absolute error: what enters the weighted sum
    assert np.max(np.abs(s - s_ref)) <= 2 * EPS
    assert np.max(np.abs(c - c_ref)) <= 2 * EPS
    # tiny arguments: sin x == x and cos x == 1 to the last bit
    tiny = np.abs(x) < 1e-9
    assert np.array_equal(s[tiny], x[tiny])
    assert np.all(c[tiny] == 1.0)
    # odd/even exactly
    s_neg, c_neg = _sincos(-x)
    assert np.array_equal(s_neg, -s) and np.array_equal(c_neg, c)


def test_sincos_fallback_beyond_fast_limit():
    # beyond FAST_PHASE_LIMIT the libm functions are used: identical to math
    lim = _kernel.FAST_PHASE_LIMIT
    x = np.concatenate([np.nextafter(lim, np.inf) * np.ones(1), 10.0 ** np.linspace(6.3, 300, 2000),
                        -(10.0 ** np.linspace(6.3, 300, 200))])
    s, c = _sincos(x)
    assert np.array_equal(s, [math.sin(v) for v in x])
    assert np.array_equal(c, [math.cos(v) for v in x])


# --------------------------------------------------------------------------
# shapes, broadcasting, ipr, workers
# --------------------------------------------------------------------------
def test_broadcasting_and_shapes():
    rng = np.random.default_rng(9)
    M, T = 23, 17
    e = rng.uniform(-2, 2, (3, 1, M))
    w = rng.uniform(0, 1, (4, M))
    t = np.linspace(0.0, 9.0, T)
    P = sp(e, w, t)
    assert P.shape == (3, 4, T)
    for i in range(3):
        for j in range(4):
            scale = math.fsum(w[j]) ** 2  # = P(0), the largest value of P
            assert np.max(np.abs(P[i, j] - p_reduced(e[i, 0], w[j], t))) <= 16 * EPS * scale
    # scalar t drops the time axis
    Ps = sp(e, w, 4.5)
    assert Ps.shape == (3, 4)
    assert np.max(np.abs(Ps - P[..., 8]) / P[..., 0]) <= 16 * EPS
    # a single row
    assert sp(e[0, 0], w[0], t).shape == (T,)
    assert np.ndim(sp(e[0, 0], w[0], 1.0)) == 0
    # empty batch and empty t
    assert sp(np.zeros((0, M)), w[0], t).shape == (0, T)
    assert sp(e, w, np.array([])).shape == (3, 4, 0)


def test_return_ipr():
    rng = np.random.default_rng(10)
    e = rng.uniform(-2, 2, (2, 5, 31))
    w = rng.uniform(0, 1, (2, 5, 31))
    t = np.geomspace(0.1, 10.0, 7)
    P, ipr = sp(e, w, t, return_ipr=True)
    assert P.shape == (2, 5, 7) and ipr.shape == (2, 5)
    assert np.array_equal(P, sp(e, w, t))
    exact = np.array([[math.fsum(x * x for x in row) for row in blk] for blk in w])
    assert np.max(np.abs(ipr - exact) / exact) <= 4 * EPS
    # broadcast weights: one ipr per output row
    _, ipr_b = sp(e, w[0, 0], t, return_ipr=True)
    assert ipr_b.shape == (2, 5) and np.all(ipr_b == ipr_b[0, 0])


@pytest.mark.parametrize("grid", ["uniform", "general"])
def test_workers_bitwise_identical(grid):
    rng = np.random.default_rng(12)
    e = rng.uniform(-3, 3, (13, 257))
    w = rng.uniform(0, 1, (13, 257))
    t = np.linspace(0.0, 300.0, 301)
    ref = sp(e, w, t, workers=1, grid=grid)
    for workers in (2, 3, 8, None, -1):
        assert np.array_equal(sp(e, w, t, workers=workers, grid=grid), ref)
    # each row as computed alone
    assert np.array_equal(sp(e[5], w[5], t, grid=grid), ref[5])


def test_concurrent_calls_from_python_threads():
    # the C kernel releases the GIL and keeps no global state: calls from
    # several Python threads at once give exactly the sequential results
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(14)
    jobs = [(rng.uniform(-2, 2, (3, 300)), rng.uniform(0, 1, (3, 300)),
             np.linspace(0.0, 50.0, 257) if i % 2 else np.geomspace(0.1, 50.0, 257)) for i in range(8)]
    sequential = [sp(e, w, t, workers=1) for e, w, t in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda j: sp(*j, workers=2), jobs))
    for a, b in zip(sequential, concurrent):
        assert np.array_equal(a, b)


# --------------------------------------------------------------------------
# validation and conversion
# --------------------------------------------------------------------------
E3 = [0.0, 1.0, 2.0]
W3 = [0.2, 0.3, 0.5]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(energies=E3, weights=[0.5, 0.5], t=[1.0]), ValueError, "last dimension"),
        (dict(energies=np.zeros((2, 3)), weights=np.ones((3, 3)), t=[1.0]), ValueError, "broadcast"),
        (dict(energies=[], weights=[], t=[1.0]), ValueError, "M = 0"),
        (dict(energies=[0.0, np.nan, 1.0], weights=W3, t=[1.0]), ValueError, "energies"),
        (dict(energies=E3, weights=[0.2, np.inf, 0.5], t=[1.0]), ValueError, "weights"),
        (dict(energies=E3, weights=W3, t=[1.0, np.nan]), ValueError, "t contains"),
        (dict(energies=E3, weights=W3, t=[-np.inf]), ValueError, "t contains"),
        (dict(energies=E3, weights=[0.2, -0.1, 0.9], t=[1.0]), ValueError, "non-negative"),
        (dict(energies=1.0, weights=1.0, t=[1.0]), ValueError, "energies"),
        (dict(energies=E3, weights=W3, t=np.zeros((2, 2))), ValueError, "t must be"),
        (dict(energies=E3, weights=W3, t=[1.0], grid="log"), ValueError, "grid"),
        (dict(energies=np.array(E3, complex), weights=W3, t=[1.0]), TypeError, "energies"),
        (dict(energies=E3, weights=np.array(W3, complex), t=[1.0]), TypeError, "weights"),
        (dict(energies=E3, weights=W3, t=[1j]), TypeError, "t must"),
        (dict(energies=[True, False, True], weights=W3, t=[1.0]), TypeError, "energies"),
        (dict(energies=np.array(E3, object), weights=W3, t=[1.0]), TypeError, "energies"),
        (dict(energies=["a", "b", "c"], weights=W3, t=[1.0]), TypeError, "energies"),
        (dict(energies=[1e200, 0.0, 1.0], weights=W3, t=[1.0, 1e200]), ValueError, "overflows"),
        (dict(energies=E3, weights=W3, t=[1.0], workers=0), ValueError, "workers"),
        (dict(energies=E3, weights=W3, t=[1.0], workers=1.5), TypeError, "workers"),
    ],
)
def test_validation_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sp(**kwargs)


def test_input_conversion():
    rng = np.random.default_rng(13)
    e = rng.integers(-5, 6, size=(4, 40))
    w = rng.integers(0, 10, size=(4, 40)).astype(np.int32)
    t = np.linspace(0.0, 3.0, 11)
    ref = sp(e.astype(np.float64), w.astype(np.float64), t)
    assert np.array_equal(sp(e, w, t), ref)
    assert np.array_equal(sp(e.tolist(), w.tolist(), t.tolist()), ref)
    # float32 values are exactly representable in float64: same result
    e32 = rng.uniform(-2, 2, (3, 50)).astype(np.float32)
    w32 = rng.uniform(0, 1, (3, 50)).astype(np.float32)
    assert np.array_equal(sp(e32, w32, t), sp(e32.astype(np.float64), w32.astype(np.float64), t))
    # non-contiguous views (strided, transposed, reversed t)
    big_e = rng.uniform(-2, 2, (50, 6))
    big_w = rng.uniform(0, 1, (50, 6))
    ev, wv = big_e[::2].T, big_w[::2].T  # shape (6, 25), non-contiguous
    tr = np.linspace(0.0, 5.0, 40)[::-2]
    assert np.array_equal(sp(ev, wv, tr), sp(ev.copy(), wv.copy(), tr.copy()))
    # inputs are not modified
    e0 = e.copy()
    sp(e, w, t)
    assert np.array_equal(e, e0)


def test_public_name():
    assert fgrkern.survival_probability is sp


# --------------------------------------------------------------------------
# hypothesis properties
# --------------------------------------------------------------------------
finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def spectra(draw, max_m=24, emax=10.0):
    M = draw(st.integers(1, max_m))
    e = np.array(draw(st.lists(st.floats(-emax, emax, **finite), min_size=M, max_size=M)))
    w = np.array(draw(st.lists(st.floats(0.0, 1.0, **finite), min_size=M, max_size=M)))
    assume(w.sum() > 1e-3)
    return e, w / w.sum()


times = st.lists(st.floats(-200.0, 200.0, **finite), min_size=1, max_size=20).map(np.array)


@settings(max_examples=60, deadline=None)
@given(spectra(), times)
def test_prop_bounds_and_t0(ew, t):
    e, w = ew
    P = sp(e, w, np.concatenate([[0.0], t]))
    s = math.fsum(w)
    assert abs(P[0] - s * s) <= 8 * EPS  # = 1 for normalised weights
    assert abs(P[0] - 1.0) <= 16 * EPS
    assert np.all(P >= 0.0)
    assert np.all(P <= 1.0 + 16 * EPS)
    Pu = sp(e, w, np.linspace(0.0, abs(t[0]) + 1.0, 100), grid="uniform")
    assert abs(Pu[0] - 1.0) <= 16 * EPS
    assert np.all(Pu >= 0.0) and np.all(Pu <= 1.0 + 16 * EPS)


@settings(max_examples=60, deadline=None)
@given(spectra(), times)
def test_prop_time_reversal(ew, t):
    e, w = ew
    assert np.max(np.abs(sp(e, w, -t) - sp(e, w, t))) <= 1e-14
    tu = np.linspace(0.0, abs(t[0]) + 1.0, 50)
    assert np.max(np.abs(sp(e, w, -tu) - sp(e, w, tu))) <= 1e-14


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 20).flatmap(lambda m: st.tuples(
        st.lists(st.integers(-2**20, 2**20), min_size=m, max_size=m),
        st.lists(st.floats(0.01, 1.0), min_size=m, max_size=m))),
    st.integers(-2**10, 2**10),
    times,
)
def test_prop_energy_shift(ew, shift, t):
    # energies on the grid 2^-17 and shifts on 2^-7, so that e + c is exact
    # and only the phase rounding (|e t| <= 2e3) separates the two results
    e = np.array(ew[0], dtype=np.float64) * 2.0**-17
    w = np.array(ew[1])
    w /= w.sum()
    c = shift * 2.0**-7
    assert np.max(np.abs(sp(e + c, w, t) - sp(e, w, t))) <= 2e3 * EPS * 8


@settings(max_examples=60, deadline=None)
@given(spectra(max_m=12), times)
def test_prop_literal_double_sum(ew, t):
    e, w = ew
    # |e t| <= 2e3: phase rounding <= 2e3 eps per term in both evaluations
    assert np.max(np.abs(sp(e, w, t) - p_double_sum(e, w, t))) <= 2e3 * EPS * 8


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 8).flatmap(lambda m: st.tuples(
        st.lists(st.floats(0.02, 0.25), min_size=m, max_size=m),
        st.lists(st.floats(0.01, 1.0), min_size=m, max_size=m))),
)
def test_prop_long_time_average_is_ipr(gw):
    # non-degenerate spectrum: gaps >= 0.02, spread <= 2 so that with dt = 1
    # no difference e_a - e_b aliases to 0 mod 2 pi.  On t_k = k dt,
    # (1/K) sum_k P(t_k) = sum_a w_a^2 + sum_{a!=b} w_a w_b (1/K) sum_k cos(d_ab k dt),
    # and |(1/K) sum_k cos(d k dt)| <= 1 / (K |sin(d dt / 2)|): a rigorous bound.
    gaps, w = np.array(gw[0]), np.array(gw[1])
    e = np.concatenate([[-1.0], -1.0 + np.cumsum(gaps[1:])])
    w = w / w.sum()
    K, dt = 200_000, 1.0
    P, ipr = sp(e, w, dt * np.arange(K), return_ipr=True)
    d = np.subtract.outer(e, e)
    off = ~np.eye(len(e), dtype=bool)
    bound = np.sum(np.outer(w, w)[off] / (K * np.abs(np.sin(d[off] * dt / 2))))
    assert bound < 2e-3  # the check is informative
    assert abs(P.mean() - ipr) <= bound + 1e-12
    assert ipr == pytest.approx(math.fsum(w * w), rel=1e-15)


# --------------------------------------------------------------------------
# simulate's unchecked per-coupling call
# --------------------------------------------------------------------------
@pytest.mark.parametrize("t", [np.geomspace(0.1, 300.0, 37), 0.5 + 0.25 * np.arange(50.0), np.array([2.0])])
def test_simulate_kernel_call_is_the_public_one(t):
    # simulate skips the public function's checks for the package's own
    # sampler output; it must compute the same bits, on either grid path
    from fgrkern.kernel import _survival_rows_1, _uniform_step

    spec = fgrkern.LevelDotModel(40, 0.3, "GOE").sample(6, rng=3)
    e, w = spec.energies, spec.weights
    P, ipr = _survival_rows_1(e, w, t, _uniform_step(t))
    P_ref, ipr_ref = sp(e, w, t, workers=1, return_ipr=True)
    assert np.array_equal(P, P_ref) and np.array_equal(ipr, ipr_ref)
    with pytest.raises(ValueError, match="overflows"):
        _survival_rows_1(e, w, np.array([1e308, 2e308 / 3]), None)


def test_simulate_checks_spectra_of_a_subclassed_model():
    # only LevelDotModel itself skips the per-coupling checks: a subclass that
    # overrides the sampler gets the public function's validation
    class Broken(fgrkern.LevelDotModel):
        def sample_couplings(self, gs, size, rng=None, method="auto"):
            specs = super().sample_couplings(gs, size, rng=rng, method=method)
            specs[0].weights[0, 0] = -1.0
            return specs

    m = Broken(20, 0.2)
    with pytest.raises(Exception, match="non-negative"):
        fgrkern.simulate(m, np.geomspace(0.1, 10.0, 5), 4, rng=1, g=[0.1, 0.2], workers=1)


def test_broadcast_views_are_not_materialised():
    """np.broadcast_to views (stride-0 batch axes) are broadcast by row index:
    one distinct row repeated 2000 times costs no 2000-row copy (80 MB per
    array here), and the result is each row's own P, bitwise."""
    import tracemalloc

    rng = np.random.default_rng(4)
    e1, w1 = spectrum(rng, 5000)
    t = np.array([0.0, 0.7, 3.0])
    e = np.broadcast_to(e1, (2000, 5000))
    w = np.broadcast_to(w1, (2000, 5000))
    tracemalloc.start()
    try:
        P = sp(e, w, t)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert P.shape == (2000, 3) and peak < 8 << 20, peak
    np.testing.assert_array_equal(P, np.broadcast_to(sp(e1, w1, t), (2000, 3)))
    # mixed with a real batch axis, and shapes that only the cut views would broadcast
    w2 = rng.uniform(0.0, 1.0, (4, 5000))
    e2 = np.broadcast_to(e1, (3, 4, 5000))
    np.testing.assert_array_equal(sp(e2, w2, t), sp(np.ascontiguousarray(e2), w2, t))
    with pytest.raises(ValueError, match=r"energies \(3, 5000\) and weights \(4, 5000\) cannot be broadcast"):
        sp(np.broadcast_to(e1, (3, 5000)), w2, t)
    with pytest.raises(ValueError, match=r"same last dimension M, got \(3, 5000\) and \(3, 40\)"):
        sp(np.broadcast_to(e1, (3, 5000)), np.ones((3, 40)), t)
