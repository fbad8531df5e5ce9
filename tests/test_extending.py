"""Code that builds on fgrkern: the C-level Cython API and downstream packages.

Modelled on numpy's test_extending: the example packages in examples/ are
built and installed (``pip install --no-build-isolation --no-index``, so their
dependency on fgrkern must be met by the fgrkern under test) into a temporary
prefix and their results compared with fgrkern's Python API -- bitwise where
both run the same C code path.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import subprocess
import sys
import sysconfig
import threading

import numpy as np
import pytest

import fgrkern as fk
from fgrkern import _sampler, cython_api

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def _pip_install(src: pathlib.Path, prefix: pathlib.Path) -> pathlib.Path:
    """Build and install ``src`` into ``prefix``; return its site-packages."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation",
           "--no-index", "--prefix", str(prefix), str(src)]
    # cwd: not the repository, whose source folder `fgrkern/` would shadow
    # the installed package in the build's `python -c "import fgrkern"`
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=prefix)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    site = sysconfig.get_path("platlib", vars={"platbase": str(prefix), "base": str(prefix)})
    assert os.path.isdir(site), site
    return pathlib.Path(site)


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    """The example Cython package, built against the installed fgrkern."""
    pytest.importorskip("mesonpy", reason="building the example needs meson-python (fgrkern[test])")
    site = _pip_install(EXAMPLES / "downstream_cython", tmp_path_factory.mktemp("cy"))
    sys.path.insert(0, str(site))
    try:
        mod = importlib.import_module("fgr_downstream")
        assert pathlib.Path(mod.__file__).is_relative_to(site)
        yield mod
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("fgr_downstream")]:
            del sys.modules[name]


def _rows(rng, R, M, spread=3.0):
    e = np.sort(rng.normal(scale=spread, size=(R, M)), axis=1)
    w = rng.dirichlet(np.ones(M), size=R)
    return e, w


def test_extension_links_nothing_of_fgrkern(downstream):
    # the C kernels are reached through function pointers, never linked in
    so = pathlib.Path(downstream._ext.__file__).read_bytes()
    assert b"fgr_sp_general" not in so and b"fgr_p_tau" not in so
    assert b"fgrkern.cython_api" in so


@pytest.mark.parametrize("M,T,kind", [(1, 5, "uniform"), (37, 200, "uniform"), (37, 200, "geom"),
                                      (300, 2, "uniform"), (2000, 4200, "uniform")])
def test_survival_grid_matches_python_bitwise(downstream, M, T, kind):
    # (2000, 4200): the Python API cuts the row into time blocks; so must the C API
    rng = np.random.default_rng(M * 7919 + T)
    e, w = _rows(rng, 3, M)
    t = np.linspace(0.0, 40.0, T) if kind == "uniform" else np.geomspace(1e-3, 1e3, T)
    got = downstream.survival_many(e, w, t)
    want = fk.survival_probability(e, w, t)
    np.testing.assert_array_equal(got, want)
    # the general path, through the module's own driver
    out = np.empty(T)
    cython_api._survival_grid(e[0], w[0], t, out, True)
    np.testing.assert_array_equal(out, fk.survival_probability(e[0], w[0], t, grid="general"))
    assert cython_api._ipr(w[0]) == fk.survival_probability(e[0], w[0], t, return_ipr=True)[1]


def test_survival_grid_exact_values(downstream):
    # two levels with equal weight: P(t) = cos^2(t/2) (1 + cos t)/2; P(pi) = 0, P(2 pi) = 1
    e = np.array([[0.0, 1.0]])
    w = np.array([[0.5, 0.5]])
    t = np.array([0.0, np.pi / 2, np.pi, 2 * np.pi])
    np.testing.assert_allclose(downstream.survival_many(e, w, t)[0], [1.0, 0.5, 0.0, 1.0],
                               atol=1e-15)


@pytest.mark.parametrize("bad", ["nan_e", "inf_t", "neg_w", "M0", "overflow_phase", "huge_w"])
def test_survival_grid_invalid_gives_nan(downstream, bad):
    # where the Python API raises ValueError, the C API fills NaN
    rng = np.random.default_rng(1)
    e, w = _rows(rng, 2, 8)
    t = np.linspace(0, 5, 10)
    if bad == "nan_e":
        e[1, 3] = np.nan
    elif bad == "inf_t":
        t[4] = np.inf
    elif bad == "neg_w":
        w[1, 0] = -1e-300
    elif bad == "M0":
        e, w = e[:, :0].copy(), w[:, :0].copy()
    elif bad == "overflow_phase":
        e[1, 0], t[-1] = 1e200, 1e200
    else:
        w[1, :] = 1e155
    with pytest.raises(ValueError):
        fk.survival_probability(e[1], w[1], t)
    got = downstream.survival_many(e, w, t)
    assert np.isnan(got[1]).all()
    if bad not in ("M0", "inf_t"):
        np.testing.assert_array_equal(got[0], fk.survival_probability(e[0], w[0], t))


def test_theory_matches_python_bitwise(downstream):
    rng = np.random.default_rng(5)
    tau = np.concatenate([[0.0, -0.5, 1.0, np.inf, -np.inf, 1e6, 3.0, 0.999999],
                          rng.uniform(0, 10, 40), np.geomspace(1e-4, 1e3, 20)])
    gamma = np.concatenate([[0.3, 2.0, 1.0, 0.5, 7.0, 2.0, np.inf, 0.0],
                            np.geomspace(1e-3, 1e3, 40), rng.uniform(0.01, 20, 20)])
    np.testing.assert_array_equal(downstream.p_tau_many(tau, gamma), fk.theory.p_tau(tau, gamma))
    g = np.concatenate([[0.0, np.inf, 1e-300, 1e300], np.geomspace(1e-12, 1e12, 97)])
    np.testing.assert_array_equal(downstream.p_res_many(g), fk.theory.p_res(g))
    # limits from the formulas: P(0) = 1, P(inf) = P_res (Eq. 4), P_res(0) = 1, P_res(inf) = 0
    assert downstream.p_tau_many(np.array([0.0]), np.array([3.0]))[0] == 1.0
    assert downstream.p_res_many(np.array([0.0, np.inf])).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("tau,gamma", [(np.nan, 1.0), (1.0, np.nan), (1.0, -1.0), (2e6, 1.0),
                                       (1.0, 1e101)])
def test_p_tau_invalid_gives_nan(downstream, tau, gamma):
    with pytest.raises(ValueError):
        fk.theory.p_tau(tau, gamma)
    assert np.isnan(downstream.p_tau_many(np.array([tau]), np.array([gamma]))[0])


@pytest.mark.parametrize("gamma", [np.nan, -1.0, -np.inf, -1e-300])
def test_p_res_invalid_gives_nan(downstream, gamma):
    with pytest.raises(ValueError):
        fk.theory.p_res(gamma)
    assert np.isnan(downstream.p_res_many(np.array([gamma]))[0])


def test_arrowhead_matches_sampler_and_dense(downstream):
    rng = np.random.default_rng(11)
    L = 60
    d = np.sort(rng.normal(size=L))
    z = rng.normal(scale=0.1, size=L)
    alpha = 0.2
    t = np.linspace(0, 30, 50)
    e, w, P = downstream.arrowhead_survival(d, z * z, alpha, t)
    e_ref, w_ref, _, _ = _sampler.arrowhead(d, z * z, alpha)
    np.testing.assert_array_equal(e, e_ref)
    np.testing.assert_array_equal(w, w_ref)
    np.testing.assert_array_equal(P, fk.survival_probability(e, w, t))
    # independent method: dense diagonalisation of [[alpha, z^T], [z, diag(d)]]
    H = np.diag(np.concatenate([[alpha], d]))
    H[0, 1:] = H[1:, 0] = z
    ev, vec = np.linalg.eigh(H)
    np.testing.assert_allclose(e, ev, atol=1e-13)
    np.testing.assert_allclose(w, vec[0] ** 2, atol=1e-13)


@pytest.mark.parametrize("case,code", [("unsorted", -1), ("neg_z2", -2), ("nan_alpha", -3)])
def test_arrowhead_invalid_status(downstream, case, code):
    d = np.array([0.0, 1.0, 2.0])
    z2 = np.array([0.1, 0.2, 0.3])
    alpha = 0.5
    if case == "unsorted":
        d = d[::-1].copy()
    elif case == "neg_z2":
        z2[1] = -0.1
    else:
        alpha = np.nan
    with pytest.raises(ValueError, match=f"status {code}"):
        downstream.arrowhead_survival(d, z2, alpha, np.zeros(1))
    e, w = np.zeros(4), np.zeros(4)
    assert cython_api._arrowhead_solve(d, z2, alpha, e, w) == code
    assert np.isnan(e).all() and np.isnan(w).all()
    assert getattr(cython_api, {-1: "ARROWHEAD_BAD_POLES", -2: "ARROWHEAD_BAD_COUPLING",
                                -3: "ARROWHEAD_BAD_ALPHA"}[code]) == code


def test_arrowhead_status_codes_are_distinct_and_scale_is_reported():
    """A problem beyond the solver's scaling (squared couplings ~1e-308 of the
    largest energy squared, not negligible: the level sits on a pole) is
    ARROWHEAD_SCALE, not ARROWHEAD_NO_MEMORY, whose value the C code's scale
    status would otherwise share."""
    names = ["ARROWHEAD_OK", "ARROWHEAD_BAD_POLES", "ARROWHEAD_BAD_COUPLING", "ARROWHEAD_BAD_ALPHA",
             "ARROWHEAD_RANGE", "ARROWHEAD_NO_MEMORY", "ARROWHEAD_BAD_SIZE", "ARROWHEAD_SCALE",
             "ARROWHEAD_NOT_CONVERGED"]
    values = [getattr(cython_api, n) for n in names]
    assert len(set(values)) == len(values)
    d = np.array([-1e308, 0.0, 1e308])
    z2 = np.full(3, 1e308)
    e, w = np.zeros(4), np.zeros(4)
    assert cython_api._arrowhead_solve(d, z2, 0.0, e, w) == cython_api.ARROWHEAD_SCALE
    assert np.isnan(e).all() and np.isnan(w).all()
    with pytest.raises(ValueError, match="too many decades"):
        _sampler.arrowhead(d, z2, 0.0)


def test_nogil_threads_agree(downstream):
    # the kernels release the GIL and keep no state: concurrent calls agree
    rng = np.random.default_rng(3)
    e, w = _rows(rng, 8, 400)
    t = np.linspace(0, 50, 1000)
    want = fk.survival_probability(e, w, t)
    results = [None] * 4

    def run(i):
        results[i] = downstream.survival_many(e, w, t)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_pure_python_downstream(tmp_path):
    pytest.importorskip("setuptools", reason="building the example needs setuptools (fgrkern[test])")
    site = _pip_install(EXAMPLES / "downstream_python", tmp_path)
    code = (
        "import importlib.metadata as md, numpy as np, fgr_purepy, fgrkern\n"
        "assert any(r.startswith('fgrkern') for r in md.requires('fgr-purepy'))\n"
        "tab = fgr_purepy.residence_table([1.0, 10.0])\n"
        "assert (tab[:, 1] == fgrkern.theory.p_res([1.0, 10.0])).all()\n"
        "assert (tab[:, 2] == [1.0, 0.1]).all()\n"
        "print(fgr_purepy.__file__)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(site))
