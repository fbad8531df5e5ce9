"""The paths of the arrowhead secular solver give the same bits.

On the vector paths (x86-64 CPUs with AVX-512 or AVX2) the solver iterates
several roots per pass over the poles, with a correctly rounded reciprocal
(the division, or on AVX-512 CPUs other than AMD's a hardware estimate refined
by Newton steps and checked exactly, the division where the check fails); with ``path="scalar"``, and on other CPUs, it solves
one root at a time.  Both run the same IEEE
operations per root in the same order, so every eigenvalue, weight, offset and
status must agree bitwise, also through ``LevelDotModel.sample`` and
``simulate(g=[...])`` (the reference paths, with LAPACK dsterf for the dot
spectra, are forced by wrapping the compiled entry points).  The direct
comparisons run once per vector path the CPU can run (``vector_path``);
the end-to-end ones compare the automatic path with the reference, and with
"auto" pointed at each vector path in turn.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import fgrkern as fk
from fgrkern import _sampler


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _solve(d, z2, alpha, path):
    try:
        return _sampler.arrowhead(d, z2, alpha, path=path)
    except (ValueError, RuntimeError) as exc:
        return type(exc), str(exc)


def _case(rng, L, kind):
    d = np.sort(rng.standard_normal(L)) * 2.0 ** float(rng.integers(-20, 20))
    if kind == "repeated" and L > 3:
        d[1::3] = d[0::3][: len(d[1::3])]
        d.sort()
    if kind == "wide":
        d = np.sort(rng.standard_normal(L)) * 10.0 ** float(rng.integers(-300, 300))
    scale = float(np.max(np.abs(d), initial=1.0))
    with np.errstate(over="ignore"):
        z2 = rng.standard_gamma(float(rng.choice([0.5, 1.0, 2.0])), L) * 10.0 ** rng.uniform(-30, 4) / max(L, 1)
        z2 = z2 * scale * scale
    if kind == "zeros" and L:
        z2[rng.random(L) < 0.3] = 0.0
    if kind == "spread" and L:
        z2 *= 10.0 ** rng.uniform(-200, 0, L)
    alpha = float(rng.standard_normal()) * scale
    if kind == "on-pole" and L:
        alpha = float(d[rng.integers(L)])
    return d, z2, alpha


KINDS = ["plain", "repeated", "wide", "zeros", "spread", "on-pole"]


@pytest.mark.parametrize("kind", KINDS)
def test_paths_bitwise_on_hard_inputs(kind, vector_path):
    # sizes around the lane count (8) and the vector path's threshold (32 poles)
    rng = np.random.default_rng(abs(hash(kind)) % 2**32)
    for L in (0, 1, 7, 31, 32, 33, 40, 63, 129, 400):
        for _ in range(3):
            d, z2, alpha = _case(rng, L, kind)
            ref = _solve(d, z2, alpha, "scalar")
            new = _solve(d, z2, alpha, vector_path)
            if isinstance(ref[0], type):
                assert ref == new
                continue
            for x, y in zip(ref, new):
                assert _same(x, y), (kind, L)


def test_paths_bitwise_on_dumitriu_edelman_rows(vector_path):
    # the production input: dsterf spectra of beta-Hermite matrices, weak to strong coupling
    rng = np.random.default_rng(11)
    for beta, L in ((1, 300), (2, 999), (4, 257)):
        diag = rng.standard_normal((3, L))
        off = np.zeros((3, L))
        off[:, : L - 1] = np.sqrt(rng.standard_gamma(0.5 * beta * np.arange(L - 1, 0, -1), (3, L - 1)))
        c = 2.0 / math.sqrt(2.0 * beta * L)
        diag *= c
        off *= c
        _sampler.tridiag_eigvals_rows(diag, off)
        unit = rng.standard_gamma(0.5 * beta, (3, L))
        for g in (1e-12, 0.5 / L, 46.0 / L, 1.0, 300.0):
            z2 = unit * (g / L / (0.5 * beta))
            out = [(np.empty((3, L + 1)), np.empty((3, L + 1))) for _ in range(2)]
            _sampler.arrowhead_rows(diag, z2, 0.1, *out[0], path="scalar")
            _sampler.arrowhead_rows(diag, z2, 0.1, *out[1], path=vector_path)
            assert _same(out[0][0], out[1][0]) and _same(out[0][1], out[1][1]), (beta, L, g)
            # and the spectrum is the right one: weights sum to 1, interlacing
            assert np.allclose(out[1][1].sum(axis=1), 1.0, rtol=0, atol=1e-13)
            e = out[1][0]
            assert np.all(e[:, :-1] <= diag) and np.all(diag <= e[:, 1:])


def _force_reference(mp):
    """The one-root secular path and LAPACK dsterf wherever the samplers call them."""
    mp.setattr(_sampler, "arrowhead_rows", functools.partial(_sampler.arrowhead_rows, path="scalar"))
    mp.setattr(_sampler, "arrowhead_rows_scaled", functools.partial(_sampler.arrowhead_rows_scaled, path="scalar"))
    mp.setattr(_sampler, "tridiag_eigvals_rows", functools.partial(_sampler.tridiag_eigvals_rows, lapack=True))


@pytest.fixture
def scalar_solver(monkeypatch):
    _force_reference(monkeypatch)


@pytest.mark.parametrize("sym", ["GOE", "GUE", "GSE"])
@pytest.mark.parametrize("bath", ["wigner-dyson", "poisson", "given"])
def test_sample_bitwise_equal_to_scalar_path(sym, bath, monkeypatch):
    n = 160 if sym == "GSE" else 80
    levels = np.linspace(-1.5, 1.5, n if sym != "GSE" else n // 2) if bath == "given" else None
    runs = []
    for force in (False, True):
        with monkeypatch.context() as mp:
            if force:
                _force_reference(mp)
            out = []
            for g, seed in ((0.3, 1), (12.0 / n, 2), (40.0, 3)):
                kw = dict(bath=levels) if bath == "given" else dict(bath=bath)
                m = fk.LevelDotModel(n, g, sym, eps0=0.05, **kw)
                s = m.sample(11, rng=seed)  # more rows than the dsterf lanes
                out.append((s.energies, s.weights))
            runs.append(out)
    for (e0, w0), (e1, w1) in zip(*runs):
        assert _same(e0, e1) and _same(w0, w1)


def test_simulate_several_couplings_bitwise(scalar_solver, monkeypatch):
    m = fk.LevelDotModel(200, 0.1, "GUE")
    tau = np.geomspace(0.05, 5.0, 9)
    gs = [0.02, 0.1, 0.4]
    ref = fk.simulate(m, tau, 6, rng=7, g=gs, workers=1)
    monkeypatch.undo()  # back to the automatic path
    new = fk.simulate(m, tau, 6, rng=7, g=gs, workers=1)
    assert ref.mean.shape == (3, 9)
    for name in ("mean", "sem", "std", "p_res", "p_res_sem"):
        assert _same(getattr(ref, name), getattr(new, name)), name


def test_subnormal_differences_bitwise(vector_path):
    """Couplings of a few DBL_MIN: root offsets and pole differences ~1e-307 to
    subnormal.  The AVX-512 reciprocal accepted its estimate for subnormal x
    (whose mantissa bits are 0.m), one bit off 1/x in ~1e-3 of cases, and the
    weights then differed from the one-root path's."""
    rng = np.random.default_rng(1)
    dbl_min = np.finfo(float).tiny
    for _ in range(20):
        L = 400
        d = np.sort(rng.uniform(-1, 1, L))
        alpha = -10.0 * rng.uniform(0.5, 2)
        z2 = dbl_min * 4.0**3 * rng.uniform(1.0, 8.0, L)
        a = _sampler.arrowhead(d, z2, alpha, path=vector_path)
        b = _sampler.arrowhead(d, z2, alpha, path="scalar")
        for x, y in zip(a, b):
            assert x.tobytes() == y.tobytes()


@pytest.fixture
def auto_path(vector_path):
    """The samplers' automatic path pointed at one vector path."""
    _sampler.set_auto_path(vector_path)
    try:
        yield vector_path
    finally:
        _sampler.set_auto_path("auto")


@pytest.mark.parametrize("sym", ["GOE", "GUE", "GSE"])
def test_sample_and_simulate_bitwise_on_each_vector_path(sym, auto_path, monkeypatch):
    # 300 bath levels: the far-field path (from FGR_SEC_SCALED_MIN_L) for several couplings;
    # 40 rows: more than the dsterf lanes
    n = 600 if sym == "GSE" else 300
    m = fk.LevelDotModel(n, 0.3, sym, eps0=0.05)
    tau = np.geomspace(0.05, 5.0, 7)
    gs = [1e-3, 0.05, 0.3, 2.0]
    got = (m.sample(40, rng=5), m.sample_couplings(gs, 9, rng=6),
           fk.simulate(m, tau, 12, rng=7, g=gs, workers=1))
    with monkeypatch.context() as mp:
        _force_reference(mp)
        ref = (m.sample(40, rng=5), m.sample_couplings(gs, 9, rng=6),
               fk.simulate(m, tau, 12, rng=7, g=gs, workers=1))
    assert _same(got[0].energies, ref[0].energies) and _same(got[0].weights, ref[0].weights)
    for a, b in zip(got[1], ref[1]):
        assert _same(a.energies, b.energies) and _same(a.weights, b.weights)
    for name in ("mean", "sem", "p_res"):
        assert _same(getattr(got[2], name), getattr(ref[2], name)), name


def test_path_names_are_checked():
    with pytest.raises(ValueError, match="path must be one of"):
        _sampler.arrowhead(np.zeros(1), np.ones(1), 0.0, path="sse")
    with pytest.raises(ValueError, match="path must be one of"):
        _sampler.tridiag_eigvals_rows(np.zeros((1, 3)), np.zeros((1, 3)), path="fast")
    assert _sampler.paths()[0] == "scalar"
    assert _sampler.resolve_path("scalar") == "scalar"
    assert _sampler.resolve_path() == _sampler.paths()[-1]
