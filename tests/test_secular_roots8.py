"""Interior roots of the far-field path, eight per vector.

On the vector paths (AVX-512, AVX2) the roots of gaps with a far-field
expansion are iterated eight at a time (any mix of gaps and couplings per vector, each lane
with its own window, origin pole and factor); ``path="scalar"`` solves them one
at a time.  Both run the same IEEE operations per root, so every energy and
weight must agree bitwise.  The cases vary what the lanes see: L not a
multiple of eight (partial vectors, lanes going idle), windows cut by the
spectrum's edges, couplings over many decades (different iteration counts
per lane), zero factors and factors the far-field path hands to the
one-coupling solver, clusters whose gaps take full evaluations.  Accuracy
against LAPACK on the dense arrowhead matrix and against mpmath.  The bitwise
tests run once per vector path the CPU can run (``vector_path`` fixture) and
are skipped for the others.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

from fgrkern import _sampler


def solve(d, u2, cs, alpha, path="auto"):
    d = np.ascontiguousarray(d, float)[None, :]
    u2 = np.ascontiguousarray(u2, float)[None, :]
    cs = np.ascontiguousarray(cs, float)
    L = d.shape[1]
    # NaN-filled: an entry neither path wrote cannot compare equal by accident
    e = np.full((cs.size, 1, L + 1), np.nan)
    w = np.full((cs.size, 1, L + 1), np.nan)
    _sampler.arrowhead_rows_scaled(d, u2, cs, alpha, e, w, path=path, min_l=0)
    return e[:, 0], w[:, 0]


def same(a, b):
    return a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()


def test_bitwise_unit_couplings_over_thirty_decades(vector_path):
    # tiny and huge unit couplings side by side drive roots to the edges of
    # their gaps, where the iteration takes its geometric bisection steps
    rng = np.random.default_rng(77)
    for rep in range(30):
        L = int(rng.integers(40, 200))
        d = np.linspace(-1.0, 1.0, L) + rng.uniform(-0.2, 0.2, L) / L
        u2 = 10.0 ** rng.uniform(-15.0, 15.0, L) / L
        cs = 10.0 ** rng.uniform(-6.0, 2.0, int(rng.integers(1, 6)))
        alpha = float(rng.uniform(-1.2, 1.2))
        r = solve(d, u2, cs, alpha, path=vector_path)
        assert np.all(np.isfinite(r[0])) and np.all(np.isfinite(r[1]))
        assert same(r, solve(d, u2, cs, alpha, path="scalar")), rep


@pytest.mark.parametrize("L", [32, 33, 39, 40, 41, 63, 64, 65, 66, 127, 130, 257, 531])
def test_bitwise_against_scalar(L, de_spectrum, vector_path):
    rng = np.random.default_rng(1000 + L)
    for rep in range(3):
        d = de_spectrum(rng, L, beta=1 + rep)
        u2 = rng.standard_gamma(0.5 * (1 + rep), L) / L
        G = int(rng.integers(1, 12))
        cs = 10.0 ** rng.uniform(-14.0, 3.0, G)
        alpha = float(rng.uniform(-2.5, 2.5))
        assert same(solve(d, u2, cs, alpha, path=vector_path), solve(d, u2, cs, alpha, path="scalar")), (L, rep)


def test_bitwise_mixed_factors(de_spectrum, vector_path):
    """Zero factors and factors outside the far-field path's range between
    ordinary ones: the lanes skip them, the one-coupling solver takes them."""
    rng = np.random.default_rng(7)
    L = 101
    d = de_spectrum(rng, L)
    u2 = rng.standard_gamma(1.0, L) / L
    cs = np.array([0.0, 3e-7, 1e300, 0.0, 1.0, 1e-300, 40.0, 0.0, 1e-12, 2.0, 2.0])
    for G in (1, 2, 5, cs.size):
        assert same(solve(d, u2, cs[:G], 0.1, path=vector_path), solve(d, u2, cs[:G], 0.1, path="scalar")), G


def test_bitwise_clusters_and_isolated_poles(vector_path):
    """Gaps whose window exceeds the cap (full evaluations) between gaps with
    an expansion; windows of very different lengths in one vector."""
    rng = np.random.default_rng(3)
    d = np.sort(np.concatenate([rng.uniform(-1e-3, 1e-3, 90), [-0.9, -0.5, 0.4, 2.0],
                                rng.uniform(3, 3.001, 37), np.linspace(4, 6, 23)]))
    u2 = rng.exponential(size=d.size) * 1e-3
    cs = np.array([1e-9, 1e-3, 1.0, 50.0])
    assert same(solve(d, u2, cs, 0.0, path=vector_path), solve(d, u2, cs, 0.0, path="scalar"))


def test_bitwise_many_random_problems(vector_path):
    """Poles from several ensembles (uniform, clustered, picket fence with
    jitter), couplings spread over decades, the level anywhere."""
    rng = np.random.default_rng(11)
    for trial in range(40):
        L = int(rng.integers(32, 200))
        kind = trial % 3
        if kind == 0:
            d = np.sort(rng.uniform(-1.0, 1.0, L))
        elif kind == 1:
            d = np.sort(np.concatenate([rng.normal(c, 0.01, L // 4) for c in rng.uniform(-1, 1, 4)]
                                       + [rng.uniform(-1, 1, L - 4 * (L // 4))]))
        else:
            d = np.arange(L) / L + rng.uniform(-0.3, 0.3, L) / L
        if np.any(np.diff(d) <= 0):
            continue
        u2 = 10.0 ** rng.uniform(-3.0, 1.0, L) / L
        cs = 10.0 ** rng.uniform(-10.0, 2.0, int(rng.integers(1, 10)))
        alpha = float(rng.choice([rng.uniform(-1.5, 1.5), d[rng.integers(L)]]))
        assert same(solve(d, u2, cs, alpha, path=vector_path), solve(d, u2, cs, alpha, path="scalar")), trial


@pytest.mark.parametrize("L", [45, 250])
def test_against_lapack(L, de_spectrum):
    """Energies and weights of every coupling against LAPACK on the dense
    arrowhead matrix, couplings from weak to strong."""
    rng = np.random.default_rng(L)
    d = de_spectrum(rng, L)
    u2 = rng.standard_gamma(1.0, L) / L
    cs = np.array([1e-6, 0.05, 1.0, 30.0, 0.7, 2e-3, 5.0, 0.01, 100.0])
    e, w = solve(d, u2, cs, 0.2)
    for g, c in enumerate(cs):
        a = np.diag(np.concatenate([[0.2], d]))
        a[0, 1:] = a[1:, 0] = np.sqrt(c * u2)
        ev, v = np.linalg.eigh(a)
        scale = max(1.0, np.max(np.abs(ev)))
        assert np.max(np.abs(e[g] - ev)) <= 1e-13 * scale, c
        assert np.max(np.abs(w[g] - v[0] ** 2)) <= 1e-13, c


def test_weak_coupling_against_mpmath():
    """Couplings ~1e-20: every root sits ~z2/spacing from its pole with a
    weight ~1e-17; relative accuracy of the weights against 60 digits (on
    the lanes' path)."""
    rng = np.random.default_rng(21)
    L = 37
    d = np.sort(rng.uniform(-1.0, 1.0, L))
    u2 = rng.exponential(size=L)
    c = 1e-20
    alpha = 0.0123
    e, w = solve(d, u2, [c, 1.0], alpha)
    with mp.workdps(60):
        D = [mp.mpf(float(x)) for x in d]
        Z = [mp.mpf(c) * mp.mpf(float(x)) for x in u2]
        for j in range(1, L):
            if abs(alpha - d[j - 1]) < 1e-3 or abs(alpha - d[j]) < 1e-3:
                continue

            def f(x):
                return x - mp.mpf(alpha) - mp.fsum(z / (x - p) for z, p in zip(Z, D))

            lo, hi = D[j - 1], D[j]  # f rises from -inf to +inf across the gap
            for _ in range(240):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
            x = (lo + hi) / 2
            wr = 1 / (1 + mp.fsum(z / (x - p) ** 2 for z, p in zip(Z, D)))
            assert float(abs((mp.mpf(float(w[0][j])) - wr) / wr)) <= 1e-13, j


@pytest.mark.parametrize("scale", [2.0**-500, 1e-150, 1.0, 1e150, 2.0**500])
def test_bitwise_extreme_scales(scale, vector_path):
    """Energies near the ends of the double range, poles spread over decades
    and near-degenerate pairs (gaps ~1e-13 of the bandwidth): the lanes and
    the reference see the same scaled problem."""
    rng = np.random.default_rng(int(abs(math.log2(scale))) + 1)
    L = 203
    d = np.sort(np.concatenate([np.exp(rng.uniform(-20, 2, 120)) * rng.choice([-1, 1], 120),
                                rng.uniform(-1, 1, L - 120)]))
    d[50] = d[49] * (1 + 1e-13) if d[49] > 0 else d[49] * (1 - 1e-13)
    d = np.unique(d)
    u2 = 10.0 ** rng.uniform(-6.0, 0.0, d.size) / d.size
    cs = np.array([1e-20, 1e-4, 1.0, 1e3])
    a = solve(d * scale, u2 * scale**2, cs, 0.3 * scale, path=vector_path)
    b = solve(d * scale, u2 * scale**2, cs, 0.3 * scale, path="scalar")
    assert same(a, b)
    assert np.all(np.isfinite(a[0])) and np.all(a[1] >= 0.0)
