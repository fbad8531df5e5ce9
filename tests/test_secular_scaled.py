"""The secular solver for several couplings on one bath (fgr_arrowhead_solve_scaled).

For z2 = c_g u2 the solver computes, once per gap, the moments of the poles
far from the gap and serves every factor c_g from them, summing only the
near poles exactly.  References: LAPACK (numpy.linalg.eigh) on the dense
arrowhead matrix, an mpmath eigensolver at 80 digits for tiny weights, the
identities sum w = 1, sum w e = alpha, sum w e^2 = alpha^2 + sum z2 and
interlacing; the documented fallback (the one-coupling solver on
z2 = c u2) bitwise where it applies.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fgrkern import _sampler


def solve(d, u2, cs, alpha, path="auto", min_l=32):
    """The far-field path from 32 poles on (the sampler takes it from FGR_SEC_SCALED_MIN_L)."""
    d = np.ascontiguousarray(d, float)[None, :]
    u2 = np.ascontiguousarray(u2, float)[None, :]
    cs = np.ascontiguousarray(cs, float)
    L = d.shape[1]
    e = np.empty((cs.size, 1, L + 1))
    w = np.empty((cs.size, 1, L + 1))
    _sampler.arrowhead_rows_scaled(d, u2, cs, alpha, e, w, path=path, min_l=min_l)
    return e[:, 0], w[:, 0]


def one_coupling(d, z2, alpha):
    e = np.empty((1, d.size + 1))
    w = np.empty((1, d.size + 1))
    _sampler.arrowhead_rows(np.ascontiguousarray(d[None, :]), np.ascontiguousarray(z2[None, :]), alpha, e, w)
    return e[0], w[0]


def dense(d, z2, alpha):
    a = np.diag(np.concatenate([[alpha], d]))
    a[0, 1:] = a[1:, 0] = np.sqrt(z2)
    ev, v = np.linalg.eigh(a)
    return ev, v[0] ** 2


FACTORS = [1e-9, 0.02, 0.3, 1.0, 7.0, 80.0]


@pytest.mark.parametrize("L", [32, 100, 300])
@pytest.mark.parametrize("beta", [1, 2, 4])
def test_matches_lapack(L, beta, de_spectrum):
    rng = np.random.default_rng(10 * L + beta)
    d = de_spectrum(rng, L, beta)
    u2 = rng.standard_gamma(0.5 * beta, L) / L
    cs = np.array(FACTORS)
    e, w = solve(d, u2, cs, 0.1)
    for g, c in enumerate(cs):
        ev, wv = dense(d, c * u2, 0.1)
        scale = max(1.0, np.max(np.abs(ev)))
        assert np.max(np.abs(e[g] - ev)) <= 1e-13 * scale, c
        assert np.max(np.abs(w[g] - wv)) <= 1e-13, c
        assert abs(w[g].sum() - 1.0) <= 1e-14
        assert np.all(e[g][:-1] <= d) and np.all(d <= e[g][1:])  # interlacing


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiny_weights_against_mpmath(seed):
    """The level degenerate with a pole and couplings ~1e-24: a pair of roots at
    +-|W| around that pole (weights ~1/2), every other root within ~z2/spacing
    of its pole with a weight ~1e-19; relative accuracy of the weights."""
    rng = np.random.default_rng(seed)
    L = 40
    d = np.sort(rng.uniform(-0.05, 0.05, L))
    u2 = rng.exponential(size=L)
    c = 1e-24
    alpha = float(d[rng.integers(L)])
    e, w = solve(d, u2, [c], alpha)
    with mp.workdps(80):
        A = mp.matrix(L + 1, L + 1)
        A[0, 0] = mp.mpf(alpha)
        for i in range(L):
            A[i + 1, i + 1] = mp.mpf(float(d[i]))
            A[0, i + 1] = A[i + 1, 0] = mp.sqrt(mp.mpf(c) * mp.mpf(float(u2[i])))
        E, Q = mp.eigsy(A)
        order = sorted(range(L + 1), key=lambda j: E[j])
        E_ref = [E[j] for j in order]
        W_ref = [Q[0, j] ** 2 for j in order]
        assert max(abs(mp.mpf(float(x)) - y) for x, y in zip(e[0], E_ref)) <= mp.mpf(2) ** -52 * 0.05
        assert max(abs((mp.mpf(float(x)) - y) / y) for x, y in zip(w[0], W_ref)) <= 1e-12
    assert abs(w[0].sum() - 1.0) <= 1e-14
    assert np.max(w[0]) > 0.4


@pytest.mark.parametrize("L", [31, 32, 33, 64, 200, 523])
def test_vector_and_scalar_paths_bitwise(L, de_spectrum, vector_path):
    rng = np.random.default_rng(L)
    d = de_spectrum(rng, L)
    u2 = rng.standard_gamma(1.0, L) / L
    cs = np.array(FACTORS + [0.0, 1e-300, 1e300])
    a = solve(d, u2, cs, -0.2, path=vector_path)
    b = solve(d, u2, cs, -0.2, path="scalar")
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()


def test_each_coupling_is_independent_of_the_others(de_spectrum):
    rng = np.random.default_rng(5)
    d = de_spectrum(rng, 150)
    u2 = rng.standard_gamma(1.0, 150) / 150
    alone = [solve(d, u2, [c], 0.0) for c in FACTORS]
    together = solve(d, u2, FACTORS[::-1] + [3.0, 3.0], 0.0)
    for k, c in enumerate(FACTORS):
        g = len(FACTORS) - 1 - k
        assert alone[k][0][0].tobytes() == together[0][g].tobytes()
        assert alone[k][1][0].tobytes() == together[1][g].tobytes()


@pytest.mark.parametrize("case", ["small", "below-min_l", "repeated", "zero-coupling", "huge-factor", "tiny-factor",
                                  "zero-factor", "spread-couplings"])
def test_fallback_is_the_one_coupling_solver(case):
    """Input the far-field expansion does not take goes to the one-coupling
    solver on z2 = c u2, bitwise."""
    rng = np.random.default_rng(9)
    L = 20 if case == "small" else 80
    d = np.sort(rng.uniform(-1, 1, L))
    u2 = rng.exponential(size=L) / L
    c = 0.5
    if case == "repeated":
        d[10] = d[11]
    elif case == "zero-coupling":
        u2[7] = 0.0
    elif case == "huge-factor":
        c = 1e200
    elif case == "tiny-factor":
        c = 1e-200
    elif case == "zero-factor":
        c = 0.0
    elif case == "spread-couplings":  # 290 decades: the scaled couplings would lose precision
        u2[3] = 1e-290
    e, w = solve(d, u2, [c], 0.3, min_l=81 if case == "below-min_l" else 32)
    er, wr = one_coupling(d, c * u2, 0.3)
    assert e[0].tobytes() == er.tobytes() and w[0].tobytes() == wr.tobytes()


def test_wide_gaps_and_clusters():
    """A cluster of poles next to isolated ones: windows of the isolated gaps
    exceed the cap and those roots use full evaluations.  Energies against
    LAPACK; weights against the one-coupling solver (all poles summed at every
    step), relatively: LAPACK's eigenvectors within the cluster (spacings
    ~1e-5) carry errors ~eps / spacing ~1e-11."""
    rng = np.random.default_rng(2)
    d = np.sort(np.concatenate([rng.uniform(-1e-3, 1e-3, 150), [-0.9, -0.5, 0.4, 2.0], rng.uniform(3, 3.001, 40)]))
    u2 = rng.exponential(size=d.size) * 1e-3
    for c in (1e-6, 1.0, 50.0):
        e, w = solve(d, u2, [c], 0.0)
        ev, _ = dense(d, c * u2, 0.0)
        _, wr = one_coupling(d, c * u2, 0.0)
        assert np.max(np.abs(e[0] - ev)) <= 1e-13 * max(1.0, np.max(np.abs(ev)))
        assert np.max(np.abs(w[0] - wr) / wr) <= 1e-13


@settings(max_examples=60, deadline=None)
@given(
    L=st.integers(32, 90),
    seed=st.integers(0, 2**32 - 1),
    alpha=st.floats(-3.0, 3.0),
    logc=st.lists(st.floats(-12.0, 4.0), min_size=1, max_size=4),
)
def test_identities(L, seed, alpha, logc, de_spectrum):
    rng = np.random.default_rng(seed)
    d = de_spectrum(rng, L)
    u2 = rng.standard_gamma(1.0, L) / L
    cs = 10.0 ** np.array(logc)
    e, w = solve(d, u2, cs, alpha)
    for g, c in enumerate(cs):
        z2 = c * u2
        assert abs(w[g].sum() - 1.0) <= 1e-13
        scale = max(abs(alpha), 2.0, math.sqrt(z2.sum()))
        assert abs(np.dot(w[g], e[g]) - alpha) <= 1e-13 * scale
        assert abs(np.dot(w[g], e[g] ** 2) - (alpha**2 + z2.sum())) <= 1e-13 * scale**2
        assert np.all(e[g][:-1] <= d) and np.all(d <= e[g][1:])


def test_bad_input():
    d = np.linspace(-1, 1, 40)
    u2 = np.full(40, 0.01)
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="squared couplings"):
            solve(d, u2, [1.0, bad], 0.0)
    with pytest.raises(ValueError, match="poles"):
        solve(d[::-1], u2, [1.0], 0.0)
    with pytest.raises(ValueError, match="eps0"):
        solve(d, u2, [1.0], np.nan)
    with pytest.raises(ValueError, match="shape"):
        _sampler.arrowhead_rows_scaled(d[None, :], u2[None, :], np.ones(2), 0.0, np.empty((1, 1, 41)), np.empty((1, 1, 41)))


@pytest.mark.parametrize("sym", ["GOE", "GUE", "GSE"])
def test_sampler_takes_the_far_field_path_and_agrees_with_the_one_coupling_solver(sym, monkeypatch):
    """At L >= FGR_SEC_SCALED_MIN_L (240) the sampler solves with the far-field
    path: the same spectra, to rounding, as the one-coupling solver on the same
    draws; the AVX-512 and reference paths bitwise."""
    import fgrkern as fk
    from fgrkern import _samplers
    from fgrkern._validation import as_generator

    n = 1200 if sym == "GSE" else 600
    gs = [0.004, 0.05, 2.0]
    m = fk.LevelDotModel(n, gs[1], sym, eps0=0.02)
    assert m.n_levels >= 240
    specs = m.sample_couplings(gs, 2, rng=3)
    poles, draws = _samplers._secular_draws(m, as_generator(3), 2, 1.0)
    u = _samplers.secular_unit(m, 0.0)
    assert u == 1.0  # lam = 1: the unit of the draws above
    for g, spec in zip(gs, specs):
        z2 = draws * _samplers._coupling_scale(m, g, u)
        for r in range(2):
            er, wr = one_coupling(poles[r], z2[r], m.eps0)
            assert np.max(np.abs(spec.energies[r] - er)) <= 1e-14 * 4.0
            assert np.max(np.abs(spec.weights[r] - wr) / np.maximum(wr, 1e-300)) <= 1e-12
    monkeypatch.setattr(_sampler, "arrowhead_rows_scaled",
                        __import__("functools").partial(_sampler.arrowhead_rows_scaled, path="scalar"))
    ref = m.sample_couplings(gs, 2, rng=3)
    for a, b in zip(specs, ref):
        assert a.energies.tobytes() == b.energies.tobytes() and a.weights.tobytes() == b.weights.tobytes()


def test_far_pole_at_the_window_edge_derivative_series():
    """A heavy pole exactly 16 half-gaps from the gap's midpoint (the nearest
    far pole the series takes) and a root near the gap's end: the weight
    needs the derivative series to ~1e-17 of that pole's term (it was kept to
    14 * 16^-13 ~ 3e-15: one moment short).  Against a 50-digit bisection."""
    d = np.array(sorted([0.0, 2.0, 17.0] + [-100.0 - 10 * i for i in range(40)]))
    u2 = np.full(d.size, 1e-6)
    u2[d == 17.0] = 2.25e6
    with mp.workdps(50):
        D = [mp.mpf(float(x)) for x in d]
        U = [mp.mpf(float(x)) for x in u2]
        xr = mp.mpf("1.99")
        alpha = float(xr - mp.fsum(z / (xr - p) for z, p in zip(U, D)))

        def f(x):
            return x - mp.mpf(alpha) - mp.fsum(z / (x - p) for z, p in zip(U, D))

        lo, hi = mp.mpf("1.9"), mp.mpf(2) - mp.mpf(10) ** -30  # f increases across the gap
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
        x = (lo + hi) / 2
        w_ref = 1 / (1 + mp.fsum(z / (x - p) ** 2 for z, p in zip(U, D)))
        # what any backward-stable solver can reach: eps * sum|terms| / f'(x)
        e_tol = float(4 * mp.mpf(2) ** -52 * (abs(x) + abs(alpha) + mp.fsum(z / abs(x - p) for z, p in zip(U, D)))
                      * w_ref)
    e, w = solve(d, u2, [1.0], alpha)
    j = int(np.searchsorted(d, 0.0)) + 1  # the root in (0, 2)
    assert 1.9 < e[0][j] < 2.0
    assert float(abs((mp.mpf(float(w[0][j])) - w_ref) / w_ref)) <= 1e-15
    assert abs(e[0][j] - float(x)) <= e_tol
    _, w1 = one_coupling(d, u2, alpha)
    assert float(abs((mp.mpf(float(w1[j])) - w_ref) / w_ref)) <= 1e-15  # the one-coupling solver, alike
