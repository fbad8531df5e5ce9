"""The C-level API module fgrkern.cython_api, driven from Python.

The module's C functions (the ones downstream Cython code cimports, see
cython_api.pxd) are called here through its small Python drivers, so that
every entry point also runs in the sanitizer build (.ci/run); the build of a
real downstream package that cimports them is tests/test_extending.py.
"""

from __future__ import annotations

import pathlib
import threading

import numpy as np
import pytest

import fgrkern as fk
from fgrkern import _sampler, cython_api


def test_pxd_is_installed_and_functions_exported():
    # the .pxd ships beside the package; its functions are the module's C API
    pkg = pathlib.Path(fk.__file__).parent
    pxd = (pkg / "cython_api.pxd").read_text()
    for name in ("survival_grid", "survival_grid_general", "ipr", "p_res", "p_tau",
                 "form_factor", "p_sff", "arrowhead_solve"):
        assert f" {name}(" in pxd
        assert name in cython_api.__pyx_capi__
    # the downstream-facing .pxd must not require fgrkern's C headers
    assert "cdef extern" not in pxd


@pytest.mark.parametrize("M,T,kind", [(1, 3, "uniform"), (50, 300, "uniform"), (50, 300, "geom"),
                                      (7, 2, "uniform"), (1500, 3000, "uniform")])
def test_survival_grid_matches_python_bitwise(M, T, kind):
    # (1500, 3000): the Python API cuts the row into time blocks, so must the C API
    rng = np.random.default_rng(M + 31 * T)
    e = np.sort(rng.normal(scale=3.0, size=M))
    w = rng.dirichlet(np.ones(M))
    t = np.linspace(-5.0, 60.0, T) if kind == "uniform" else np.geomspace(1e-3, 1e3, T)
    for general in (False, True):
        out = np.empty(T)
        cython_api._survival_grid(e, w, t, out, general)
        want = fk.survival_probability(e, w, t, grid="general" if general else "auto")
        np.testing.assert_array_equal(out, want)
    P, ipr = fk.survival_probability(e, w, t, return_ipr=True)
    assert cython_api._ipr(w) == ipr


@pytest.mark.parametrize("general", [False, True])
def test_survival_grid_hostile_input(general):
    t = np.linspace(0.0, 1.0, 5)
    out = np.zeros(5)
    # M = 0: NULL pointers and no eigenpair -> NaN, no crash
    cython_api._survival_grid(np.zeros(0), np.zeros(0), t, out, general)
    assert np.isnan(out).all()
    # T = 0 (NULL out): nothing written, no crash
    cython_api._survival_grid(np.ones(3), np.ones(3) / 3, np.zeros(0), np.zeros(0), general)
    for e, w, tt in [([np.nan, 0.0], [0.5, 0.5], t), ([0.0, 1.0], [0.5, -0.5], t),
                     ([0.0, 1.0], [0.5, 0.5], np.array([0.0, np.inf, 1.0, 2.0, 3.0])),
                     ([1e300, 1.0], [0.5, 0.5], np.array([0.0, 1e10, 2e10, 3e10, 4e10])),
                     ([0.0, 1.0], [1e154, 1e154], t)]:
        out[:] = 0.0
        cython_api._survival_grid(np.array(e), np.array(w), tt, out, general)
        assert np.isnan(out).all(), (e, w, tt)
    assert np.isnan(cython_api._ipr(np.zeros(0)))


def test_theory_drivers_bitwise_and_invalid():
    for tau, gamma in [(0.0, 2.0), (-0.7, 0.4), (1.0, 1.0), (3.5, 0.05), (np.inf, 0.3),
                       (2.0, 0.0), (2.0, np.inf), (1e6, 1e-3), (0.25, 1e100)]:
        assert cython_api._p_tau(tau, gamma) == fk.theory.p_tau(tau, gamma), (tau, gamma)
    for tau, gamma in [(np.nan, 1.0), (1.0, np.nan), (1.0, -2.0), (1.1e6, 1.0), (1.0, 1.1e100)]:
        assert np.isnan(cython_api._p_tau(tau, gamma))
    for gamma in [0.0, 1e-10, 0.5, 46.0, 1e12, np.inf]:
        assert cython_api._p_res(gamma) == fk.theory.p_res(gamma)
    for gamma in [np.nan, -1.0, -np.inf]:
        assert np.isnan(cython_api._p_res(gamma))
    # limits from Eq. (4): P_res(0) = 1, P_res(gamma) -> 1/gamma - 9/(4 gamma^2)
    assert cython_api._p_res(0.0) == 1.0
    g = 1e8
    assert abs(cython_api._p_res(g) * g - (1 - 9 / (4 * g))) < 1e-12


def test_drivers_from_threads_agree():
    # no global state: concurrent calls give the sequential bits
    rng = np.random.default_rng(4)
    e = np.sort(rng.normal(size=300))
    w = rng.dirichlet(np.ones(300))
    t = np.linspace(0.0, 80.0, 2000)
    want = fk.survival_probability(e, w, t)
    outs = [np.empty_like(t) for _ in range(4)]
    threads = [threading.Thread(target=cython_api._survival_grid, args=(e, w, t, o)) for o in outs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for o in outs:
        np.testing.assert_array_equal(o, want)


@pytest.mark.parametrize("case,code", [("unsorted", -1), ("neg_z2", -2), ("nan_alpha", -3),
                                       ("inf_pole", -1), ("nan_z2", -2)])
def test_arrowhead_invalid_status(case, code):
    d = np.array([0.0, 1.0, 2.0])
    z2 = np.array([0.1, 0.2, 0.3])
    alpha = 0.5
    if case == "unsorted":
        d = d[::-1].copy()
    elif case == "neg_z2":
        z2[1] = -0.1
    elif case == "inf_pole":
        d[2] = np.inf
    elif case == "nan_z2":
        z2[0] = np.nan
    else:
        alpha = np.nan
    e, w = np.zeros(4), np.zeros(4)
    assert cython_api._arrowhead_solve(d, z2, alpha, e, w) == code
    assert np.isnan(e).all() and np.isnan(w).all()


def test_arrowhead_exact_cases():
    # L = 0: the 1x1 matrix [alpha]; one pole with z = 0 deflates (weight exactly 0);
    # [[0, 1], [1, 0]]: eigenvalues -1, 1 with weights 1/2
    e, w = np.zeros(1), np.zeros(1)
    assert cython_api._arrowhead_solve(np.zeros(0), np.zeros(0), 0.75, e, w) == 0
    assert e.tolist() == [0.75] and w.tolist() == [1.0]
    e, w = np.zeros(2), np.zeros(2)
    assert cython_api._arrowhead_solve(np.array([2.0]), np.array([0.0]), -1.0, e, w) == 0
    assert e.tolist() == [-1.0, 2.0] and w.tolist() == [1.0, 0.0]
    assert cython_api._arrowhead_solve(np.array([0.0]), np.array([1.0]), 0.0, e, w) == 0
    np.testing.assert_allclose(e, [-1.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(w, [0.5, 0.5], rtol=1e-15)
    # and against the sampler's solver, bitwise, on a random matrix
    rng = np.random.default_rng(9)
    d = np.sort(rng.normal(size=30))
    z2 = rng.exponential(0.01, size=30)
    e, w = np.zeros(31), np.zeros(31)
    assert cython_api._arrowhead_solve(d, z2, 0.1, e, w) == 0
    e_ref, w_ref, _, _ = _sampler.arrowhead(d, z2, 0.1)
    np.testing.assert_array_equal(e, e_ref)
    np.testing.assert_array_equal(w, w_ref)


@pytest.mark.parametrize("beta,sym", [(1, "GOE"), (2, "GUE"), (4, "GSE")])
def test_form_factor_and_p_sff(beta, sym):
    # same formulas as the Python API; numpy's vectorised log1p/atanh may
    # differ from libm in the last bit, so compare to a few ulps
    tau = np.concatenate([[0.0, 0.25, 0.5, 1.0, 2.0, np.inf, -0.3],
                          np.linspace(0.001, 3, 101)])
    ff = np.array([cython_api._form_factor(x, beta) for x in tau])
    np.testing.assert_allclose(ff, fk.theory.form_factor(tau, sym), rtol=4e-16, atol=0)
    ps = np.array([cython_api._p_sff(x, 3.0, beta) for x in tau])
    np.testing.assert_allclose(ps, fk.theory.p_sff(tau, 3.0, sym), rtol=4e-16, atol=0)
    # exact values: K(tau >= 1) = 1 for GUE/GSE, K(0) = 0
    assert cython_api._form_factor(0.0, beta) == 0.0
    assert cython_api._form_factor(5.0, beta) == (1.0 if beta != 1 else cython_api._form_factor(5.0, 1))
    for args in [(np.nan, beta), (0.3, 3)]:
        assert np.isnan(cython_api._form_factor(*args))
    for args in [(0.3, 0.0, beta), (0.3, -1.0, beta), (0.3, np.nan, beta), (0.3, 1.0, 0),
                 (0.3, 5e-324, beta)]:
        assert np.isnan(cython_api._p_sff(*args))
    # gamma = inf: the decay and the 1/gamma terms vanish; the GSE singularity stays +inf
    for x in (0.3, 0.5, 2.0):
        want = fk.theory.p_sff(x, np.inf, sym)
        assert cython_api._p_sff(x, np.inf, beta) == want
    if beta == 4:
        assert cython_api._p_sff(0.5, np.inf, beta) == np.inf == cython_api._p_sff(0.5, 3.0, beta)




def test_mirrored_constants_agree():
    # the C API re-implements the Python API's grid choice and domain checks;
    # the constants they use must stay in step for the results to agree bitwise
    from fgrkern import kernel, theory

    assert cython_api.UNIFORM_ULPS == kernel._UNIFORM_ULPS
    assert cython_api.BLOCK_WORK == kernel._BLOCK_WORK
    assert cython_api.P_TAU_MAX_TAU == theory.P_TAU_MAX_TAU
    assert cython_api.P_TAU_MAX_GAMMA == theory.P_TAU_MAX_GAMMA
