"""The ``fgrkern`` command line, run for real in subprocesses on small settings.

Exit-status conventions under test: argument errors -> one line on stderr and
status 2; runtime errors (values the library rejects, unreadable files) -> one
line ``fgrkern: error: ...`` and status 1; never a traceback for user mistakes.
"""

from __future__ import annotations

import argparse
import csv
import errno
import io
import json
import math
import os
import re
import stat
import subprocess
import types
import tempfile
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrkern
from fgrkern.cli import main, parse_grid
from fgrkern.figure2 import Figure2Config


def run(*argv: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    # Never from the checkout: `python -m fgrkern` would import the source folder
    # (no compiled modules) instead of the installed package.
    with tempfile.TemporaryDirectory() as tmp:
        return subprocess.run([sys.executable, "-m", "fgrkern", *argv], capture_output=True, text=True,
                              cwd=cwd if cwd is not None else tmp, timeout=timeout)


def read_csv(text: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def run_inprocess(capsys, *argv: str) -> subprocess.CompletedProcess:
    """main(argv) in this process (same code path as the console script, minus interpreter start-up)."""
    try:
        rc = main(list(argv))
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(argv), rc, out.out, out.err)


def assert_one_line_error(p: subprocess.CompletedProcess, status: int) -> None:
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert "error:" in lines[0]


# ----------------------------------------------------------------- basics
def test_version():
    p = run("--version")
    assert p.returncode == 0
    from fgrkern import _sampler

    first, second = p.stdout.strip().splitlines()
    assert first == f"fgrkern {fgrkern.__version__}"
    assert second.startswith(f"sampler code path: {_sampler.resolve_path()} (")
    assert second.endswith(", ".join(_sampler.paths()) + ")")


@pytest.mark.parametrize("cmd", [[], ["reproduce"], ["simulate"], ["theory"]])
def test_help_has_examples(cmd):
    p = run(*cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert "examples:" in p.stdout
    assert "usage: fgrkern" in p.stdout


def test_no_command_prints_help_and_exits_2():
    p = run()
    assert p.returncode == 2
    assert "COMMAND" in p.stderr


@pytest.mark.parametrize("argv", [
    ["bogus"],
    ["theory", "nope", "--gamma", "1"],
    ["theory", "p_tau", "--gamma", "0.46", "--tau", "0:5:x"],
    ["theory", "p_tau", "--gamma", "0.46", "--tau", "1:0:0.1"],
    ["theory", "p_tau", "--gamma", "0.46", "--tau", "0:1:10log"],
    ["theory", "p_tau", "--tau", "0:1:0.1"],
    ["theory", "p_res", "--gamma", "1", "--tau", "1"],
    ["theory", "p_res", "--gamma", "1", "--symmetry", "GOE"],
    ["theory", "form_factor", "--tau", "1", "--symmetry", "GXE"],
    ["simulate", "--gamma", "1", "--symmetry", "XYZ"],
    ["simulate", "--gamma", "-1"],
    ["simulate", "--gamma", "nan"],
    ["simulate", "--gamma", "1", "--g", "0.1"],
    ["simulate", "--samples", "10"],
    ["simulate", "--gamma", "1", "--samples", "0"],
    ["simulate", "--gamma", "1", "--n", "2.5"],
    ["simulate", "--gamma", "1", "--workers", "0"],
    ["simulate", "--gamma", "1", "--method", "magic"],
    ["simulate", "--gamma", "1", "--symmetry", "GSE", "--n", "7"],
    ["simulate", "--gamma", "1", "--tau", "-1:1:0.5"],
    ["reproduce", "--quick", "--paper"],
    ["reproduce", "--seed", "-3"],
    ["reproduce", "--samples", "many"],
    ["reproduce", "--n", "1"],
    ["reproduce", "--samples", "1"],
    ["reproduce", "--limit", "--n", "8"],
])
def test_argument_errors_exit_2_with_one_line(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run_inprocess(capsys, *argv), 2)


def test_argument_error_from_the_console_entry_point(tmp_path):
    # The same through a real interpreter: status 2, one line, no traceback.
    assert_one_line_error(run("simulate", "--gamma", "1", "--symmetry", "XYZ", cwd=tmp_path), 2)


# ------------------------------------------------------------------ grids
def test_parse_grid_forms():
    g = parse_grid("0:5:0.01")
    assert g.size == 501 and g[0] == 0.0 and g[-1] == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_allclose(np.diff(g), 0.01, rtol=1e-12)
    g = parse_grid("1e-3:10:200log")
    assert g.size == 200
    np.testing.assert_allclose([g[0], g[-1]], [1e-3, 10.0], rtol=1e-14)
    np.testing.assert_allclose(np.diff(np.log(g)), math.log(1e4) / 199, rtol=1e-10)
    np.testing.assert_array_equal(parse_grid("0:1:5lin"), [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(parse_grid("0.1, 0.5,2"), [0.1, 0.5, 2.0])
    np.testing.assert_array_equal(parse_grid("3"), [3.0])


@pytest.mark.parametrize("bad", ["", "a", "1:2", "1:2:3:4", "0:1:0", "0:1:-0.1", "2:1:0.1", "0:1:3log",
                                 "1:2:0log", "1:inf:0.1", "nan", "1:2:xlog"])
def test_parse_grid_rejects(bad):
    with pytest.raises(ValueError):
        parse_grid(bad)


@settings(max_examples=200, deadline=None)
@given(start=st.floats(-1e3, 1e3), n=st.integers(0, 2000), step=st.floats(1e-3, 10),
       frac=st.floats(0.0, 0.999))
def test_parse_grid_step_is_inclusive(start, n, step, frac):
    # STOP anywhere in [start + n*step, start + (n+1)*step): exactly n + 1 points, spaced by STEP.
    stop = start + (n + frac) * step
    g = parse_grid(f"{start!r}:{stop!r}:{step!r}")
    scale = max(abs(start), abs(stop), step)
    # Within rounding of the boundary the count may be either; away from it, it is exact.
    if 1e-6 < frac < 1 - 1e-6:
        assert g.size == n + 1
    assert g[0] == start
    assert g[-1] <= stop + 1e-9 * scale
    np.testing.assert_allclose(np.diff(g), step, rtol=1e-9, atol=1e-12 * scale)


# ----------------------------------------------------------------- theory
def test_theory_p_tau_csv(capsys):
    p = run_inprocess(capsys, "theory", "p_tau", "--gamma", "0.46", "--tau", "0:5:0.5")
    assert p.returncode == 0, p.stderr
    header, rows = read_csv(p.stdout)
    assert header == ["tau", "gamma", "p_tau"]
    assert len(rows) == 11
    vals = np.array(rows, dtype=float)
    np.testing.assert_array_equal(vals[:, 0], 0.5 * np.arange(11))
    assert np.all(vals[:, 1] == 0.46)
    # P(0) = 1 exactly (the level starts in |0>); 16 digits make the CSV lossless to ~1e-16.
    assert vals[0, 2] == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(vals[:, 2], fgrkern.theory.p_tau(vals[:, 0], 0.46), rtol=1e-15)


def test_theory_outer_product_and_symmetry_column(capsys):
    p = run_inprocess(capsys, "theory", "p_sff", "--symmetry", "o", "--gamma", "10,100", "--tau", "0.25,2")
    assert p.returncode == 0, p.stderr
    header, rows = read_csv(p.stdout)
    assert header == ["tau", "gamma", "symmetry", "p_sff"]
    assert [r[:3] for r in rows] == [["0.25", "10", "GOE"], ["0.25", "100", "GOE"],
                                     ["2", "10", "GOE"], ["2", "100", "GOE"]]
    # Eq. (6) for tau > 1 where K_GOE = 2 - tau ln((2 tau + 1)/(2 tau - 1)):
    for r in rows[2:]:
        gam = float(r[1])
        K = 2 - 2 * math.log(5 / 3)
        expect = math.exp(-8 * gam) + (2 + K) / (2 * gam)
        assert float(r[3]) == pytest.approx(expect, rel=1e-13)


def test_theory_form_factor_gue_is_min_tau_1(capsys):
    p = run_inprocess(capsys, "theory", "form_factor", "--tau", "0:3:0.125")
    header, rows = read_csv(p.stdout)
    assert header == ["tau", "symmetry", "form_factor"]
    tau = np.array([r[0] for r in rows], dtype=float)
    np.testing.assert_allclose(np.array([r[2] for r in rows], dtype=float), np.minimum(tau, 1.0), atol=1e-15)


def test_theory_p_res_limits(capsys):
    # Eq. (4): P_res -> 1 - sqrt(pi gamma)/2 as gamma -> 0 and 1/gamma - 9/(4 gamma^2) as gamma -> inf.
    p = run_inprocess(capsys, "theory", "p_res", "--gamma", "1e-8,1e6")
    _, rows = read_csv(p.stdout)
    small, large = float(rows[0][1]), float(rows[1][1])
    assert small == pytest.approx(1 - math.sqrt(math.pi * 1e-8) / 2, abs=1e-7)
    assert large == pytest.approx(1e-6 - 9 / 4 * 1e-12, rel=1e-10)


def test_theory_runtime_error_is_one_line_exit_1(capsys):
    # gamma < 0 passes the grid parser but the library rejects it: a runtime error, status 1.
    p = run_inprocess(capsys, "theory", "p_res", "--gamma=-1")
    assert_one_line_error(p, 1)
    assert p.stderr.startswith("fgrkern: error:")


# --------------------------------------------------------------- simulate
SIM = ["simulate", "--n", "40", "--gamma", "2", "--samples", "64", "--tau", "0,0.05,0.5,3", "--seed", "5",
       "--no-progress"]


def test_simulate_prints_table_and_saves(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = run_inprocess(capsys, *SIM, "--out", "r.npz")
    assert p.returncode == 0, p.stderr
    assert "P_res" in p.stdout and "Eq. (4)" in p.stdout and "theory" in p.stdout
    res = fgrkern.SimulationResult.load(tmp_path / "r.npz")
    assert res.n_samples == 64
    np.testing.assert_array_equal(res.tau, [0, 0.05, 0.5, 3])
    # P(0) = (sum_a w_a)^2 = 1 in every realisation, so its mean is 1 and its sem 0 (to rounding).
    assert res.mean[0] == pytest.approx(1.0, abs=1e-12)
    assert res.sem[0] < 1e-12
    assert np.all((res.mean >= 0) & (res.mean <= 1 + 1e-12))
    # t = tau t_H with t_H = 2N/lam.
    np.testing.assert_allclose(res.t, res.tau * 2 * 40)
    assert res.gamma == pytest.approx(2.0)


def test_simulate_same_seed_same_numbers_any_workers(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_inprocess(capsys, *SIM, "--workers", "1", "--out", "a.npz").returncode == 0
    assert run_inprocess(capsys, *SIM, "--workers", "2", "--out", "b.npz").returncode == 0
    a, b = fgrkern.SimulationResult.load("a.npz"), fgrkern.SimulationResult.load("b.npz")
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.sem, b.sem)
    assert a.p_res == b.p_res


def test_simulate_goe_user_bath_and_checkpoint(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savetxt("levels.txt", np.linspace(-2, 2, 40))
    p = run_inprocess(capsys, *SIM, "--symmetry", "GOE", "--bath", "levels.txt", "--checkpoint", "ck.npz",
                      "--out", "u.npz")
    assert p.returncode == 0, p.stderr
    assert "user levels" in p.stdout
    assert (tmp_path / "ck.npz").exists()
    res = fgrkern.SimulationResult.load("u.npz")
    assert res.mean[0] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("extra", [["--method", "dense"], ["--bath", "poisson"], ["--symmetry", "GSE"],
                                   ["--symmetry", "S", "--method", "dense"]])
def test_simulate_methods_baths_classes(tmp_path, capsys, monkeypatch, extra):
    monkeypatch.chdir(tmp_path)
    p = run_inprocess(capsys, *SIM, *extra, "--out", "r.npz")
    assert p.returncode == 0, p.stderr
    res = fgrkern.SimulationResult.load("r.npz")
    assert res.metadata["method"] == ("dense" if "dense" in extra else "secular")
    assert res.mean[0] == pytest.approx(1.0, abs=1e-12)
    # 0 < sum_a w_a^2 <= 1, and the GSE weights are summed over Kramers pairs (M = N/2 + 1 >= 1/P_res).
    assert 0 < res.p_res <= 1
    assert res.p_res >= 1 / (41 if "GSE" not in extra and "S" not in extra else 21) - 1e-12


def test_simulate_coupling_as_g(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a for a in SIM if a not in ("--gamma", "2")]
    p = run_inprocess(capsys, *argv, "--g", "0.05", "--out", "g.npz")
    assert p.returncode == 0, p.stderr
    assert fgrkern.SimulationResult.load("g.npz").gamma == pytest.approx(0.05 * 40)


@pytest.mark.parametrize("extra, needle", [
    (["--bath", "missing-file.txt"], "no such file"),
    (["--bath", "short.txt"], "holds 3 levels"),
    (["--out", "no-such-dir/r.npz"], "does not exist"),
])
def test_simulate_runtime_errors_exit_1(tmp_path, capsys, monkeypatch, extra, needle):
    monkeypatch.chdir(tmp_path)
    np.savetxt("short.txt", [0.0, 1.0, 2.0])
    p = run_inprocess(capsys, *SIM, *extra)
    assert_one_line_error(p, 1)
    assert needle in p.stderr


def test_simulate_plot(tmp_path):
    pytest.importorskip("matplotlib")
    p = run(*SIM, "--out", "r.npz", "--plot", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------- reproduce
def _tiny_gue_runs(gammas, sizes=(9, 19, 39), samples=40):
    """Independent GUE families at three sizes, all couplings on common random numbers (the real compute path)."""
    from fgrkern.figure2.compute import run_family
    from fgrkern.figure2.config import Family

    cfg = Figure2Config(n=max(sizes), samples=samples, n_tau=5, workers=1)
    return [run_family(Family("GUE", n, tuple(gammas), samples), np.array([0.1, 1.0, 10.0]), cfg, False)
            for n in sizes]


def test_limit_covariance_of_one_order_is_extrapolates():
    # All couplings below ORDER2_GAMMA: limit() must return extrapolate's own p_res_cov, computed here
    # again from the fit records (a second path to the same linear algebra).
    from fgrkern.figure2.compute import limit

    runs = _tiny_gue_runs([0.05, 0.5, 5.0])
    lim = limit(runs)
    ref = fgrkern.extrapolate([r.result for r in runs], order=1)
    assert lim.order.tolist() == [1, 1, 1]
    np.testing.assert_allclose(lim.p_res_cov, ref.p_res_cov, rtol=1e-10, atol=1e-18)
    np.testing.assert_array_equal(lim.mean, ref.mean)


def test_limit_mixed_orders_rows_and_covariance():
    # gamma = 2 (order 1) next to gamma = 40 (order 2): each row is that order's extrapolation, the
    # diagonal of the covariance its squared error, and the matrix a valid covariance (symmetric, PSD).
    from fgrkern.figure2.compute import limit

    runs = _tiny_gue_runs([2.0, 40.0])
    lim = limit(runs)
    res = [r.result for r in runs]
    e1, e2 = fgrkern.extrapolate(res, order=1), fgrkern.extrapolate(res, order=2)
    assert lim.order.tolist() == [1, 2] and lim.dof.tolist() == [1, 0]
    np.testing.assert_array_equal(lim.mean, [e1.mean[0], e2.mean[1]])
    np.testing.assert_array_equal(lim.p_res, [e1.p_res[0], e2.p_res[1]])
    np.testing.assert_allclose(np.diag(lim.p_res_cov), [e1.p_res_sem[0] ** 2, e2.p_res_sem[1] ** 2], rtol=1e-10)
    np.testing.assert_allclose(lim.p_res_cov, lim.p_res_cov.T, rtol=1e-12)
    assert np.linalg.eigvalsh(lim.p_res_cov).min() > -1e-12 * np.abs(lim.p_res_cov).max()


PANEL_COLUMNS = {
    "a": ["tau", "t", "mean", "sem", "theory_eq5"],
    "b": ["tau", "t", "mean", "sem", "theory_eq5"],
    "c": ["tau", "t", "mean", "sem", "theory_eq5"],
    "d": ["gamma", "p_res", "sem", "theory_eq4", "fgr_1_over_gamma"],
    "d_cov": ["gamma"] + [f"cov_{j}" for j in range(9)],
    "e": ["tau"] + [f"{c}_{s}" for s in ("GOE", "GUE", "GSE") for c in ("mean", "sem", "theory")],
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One real `fgrkern reproduce --quick` (the smoke-test preset), shared by the tests below."""
    out = tmp_path_factory.mktemp("fig2")
    p = run("reproduce", "--quick", "--out", str(out), "--no-progress", timeout=300)
    return p, out


def test_reproduce_quick_files_and_columns(quick_run):
    p, out = quick_run
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    for k, cols in PANEL_COLUMNS.items():
        header, rows = read_csv((out / f"panel_{k}.csv").read_text())
        assert header == cols
        vals = np.array(rows, dtype=float)
        assert np.all(np.isfinite(vals))
        if k in "abc":
            assert len(rows) == 241
            assert np.all(vals[:, 3] > 0)  # sem
        if k == "d":
            assert len(rows) == Figure2Config.from_preset("quick").n_gamma_res
            np.testing.assert_allclose(vals[[0, -1], 0], [1e-2, 1e2])
            np.testing.assert_allclose(vals[:, 4], 1 / vals[:, 0])
    if (out / "figure2.png").exists() or "matplotlib" in sys.modules:
        assert (out / "figure2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / "figure2.pdf").read_bytes()[:5] == b"%PDF-"


def test_reproduce_quick_summary_reports_agreement(quick_run):
    p, out = quick_run
    s = json.loads((out / "summary.json").read_text())
    assert s["seed"] == 20220927 and s["config"]["preset"] == "quick" and s["config"]["n"] == 999
    assert s["versions"]["fgrkern"] == fgrkern.__version__
    assert s["run_seconds"] > 0 and s["cpu_seconds"] > 0
    cfg = Figure2Config.from_preset("quick")
    # One family per class: all GUE couplings share their realisations.
    assert s["samples_total"] == 3 * cfg.samples
    assert list(s)[:2] == ["paper", "headline"] and set(s["headline"]) == set("abcd")
    # Judged on tau >= 0.05 (past the short-time region): every panel agrees within 4 standard errors,
    # or within them plus the stated O(gamma/N), O(1/gamma) systematic allowance; the small-gamma
    # panels, where gamma/N < 1e-3, agree purely statistically.
    assert set(s["agreement"].values()) <= {"statistical", "systematic"}, s["agreement"]
    for k in "bc":
        assert s["panels"][k]["late"]["verdict"] == "statistical", s["panels"][k]["late"]
        assert s["panels"][k]["all_tau"]["points_beyond_allowance"] == 0
    d = s["panels"]["d"]
    assert len(d["per_gamma"]) == cfg.n_gamma_res
    for row in d["per_gamma"]:
        if row["gamma"] < 3:
            assert abs(row["z"]) < 4, row
    # The covariance of the correlated (d) points: symmetric, diagonal = sem^2, as in panel_d_cov.csv.
    cov = np.array(d["p_res_cov"])
    np.testing.assert_allclose(np.diag(cov), [r["sem"] ** 2 for r in d["per_gamma"]], rtol=1e-9)
    np.testing.assert_allclose(cov, cov.T)
    _, rows = read_csv((out / "panel_d_cov.csv").read_text())
    np.testing.assert_allclose(np.array(rows, dtype=float)[:, 1:], cov, rtol=1e-8)
    # Plateau/offset ratios (3/2, 2, 3) for (GOE, GUE, GSE), within 4 errors of the measurement.
    for sym, info in s["panels"]["e"]["classes"].items():
        assert abs(info["ratio_pl_over_off"] - info["ratio_paper"]) < 4 * info["ratio_err"] + 0.1 * info["ratio_paper"], (sym, info)
    assert "limit" not in s["panels"]["a"]
    assert "Figure 2 reproduced" in p.stdout and "tau >= 0.05" in p.stdout
    # Panel (e)'s GUE curve is panel (a)'s (the same coupling of the same family).
    _, a = read_csv((out / "panel_a.csv").read_text())
    h, e = read_csv((out / "panel_e.csv").read_text())
    np.testing.assert_array_equal(np.array(a)[:, 2], np.array(e)[:, h.index("mean_GUE")])


def test_limit_sizes_that_collide_after_the_gse_rounding_are_refused_before_any_work(tmp_path):
    # N + 1 = 5 and 6 are N = 4 and 5: both are GSE N = 4, so the GSE extrapolation would have two sizes
    # (too few for order 2 at gamma = 46) and fail only after every family was simulated.
    with pytest.raises(ValueError, match="GSE"):
        Figure2Config(n=15, samples=4, limit=True, limit_sizes=(5, 6, 16))
    Figure2Config(n=15, samples=4, limit=True, limit_sizes=(5, 7, 16))  # N = 4, 6, 15: GSE 4, 6, 14


def test_reproduce_limit_tiny(tmp_path, monkeypatch):
    # --limit end to end on a tiny configuration: the N -> infinity entries of (a)-(d), the extra
    # files through the safe writer, and the extrapolated small-gamma curves against Eqs. (4)/(5).
    import fgrkern.figure2 as f2
    from fgrkern.figure2 import output

    written = []
    real = output.safe_write
    monkeypatch.setattr(output, "safe_write", lambda p, n, w: written.append(os.path.basename(p)) or real(p, n, w))
    cfg = Figure2Config(n=59, samples=300, n_gamma_res=5, n_tau=41, workers=1, limit=True, limit_sizes=(15, 30, 60))
    s = f2.reproduce(cfg, str(tmp_path / "o"), plot=False, progress=False)
    assert sorted(written) == sorted(f2.output_files(False, True)) == sorted(s["files"])
    assert s["samples_total"] == 3 * 3 * cfg.samples
    for k in "abcd":
        lim = s["panels"][k]["limit"]
        assert lim["verdict"] in ("statistical", "systematic", "disagree")
        assert lim["max_abs_z"] >= 0 and lim["chi2_per_dof"] >= 0 and lim["sizes_N_plus_1"] == [15, 30, 60]
        assert s["headline"][k]["limit"]["verdict"] == lim["verdict"]
    # gamma = 0.46 and 0.022: gamma/N < 3 %, the limit must agree with Eq. (5) within 4 errors.
    for k in "bc":
        assert s["panels"][k]["limit"]["verdict"] == "statistical", s["panels"][k]["limit"]
    for sym in ("GOE", "GUE", "GSE"):
        e = s["panels"]["e"]["classes"][sym]["limit"]
        assert np.isfinite(e["max_abs_diff_2gamma"]) and e["sem_2gamma_at_max"] > 0
    _, rows = read_csv((tmp_path / "o" / "panel_d.csv").read_text())
    assert len(rows[0]) == 7  # + limit_p_res, limit_sem
    assert "N->inf" in s["verdict_text"]


def test_reproduce_same_seed_same_numbers_any_workers(tmp_path, capsys):
    # Tiny in-process runs: the CSVs are byte-identical for 1 and 2 workers, and differ for another seed.
    args = ["reproduce", "--quick", "--samples", "24", "--n", "40", "--no-plot", "--no-progress"]
    for name, extra in (("w1", ["--workers", "1"]), ("w2", ["--workers", "2"]), ("s2", ["--seed", "2"])):
        p = run_inprocess(capsys, *args, *extra, "--out", str(tmp_path / name))
        assert p.returncode == 0, p.stderr
    for k in ["a", "b", "c", "d", "e", "d_cov"]:
        a = (tmp_path / "w1" / f"panel_{k}.csv").read_bytes()
        assert a == (tmp_path / "w2" / f"panel_{k}.csv").read_bytes()
        assert a != (tmp_path / "s2" / f"panel_{k}.csv").read_bytes()
    assert not (tmp_path / "w1" / "figure2.png").exists()


def test_missing_matplotlib_is_a_clear_runtime_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    for argv in (["reproduce", "--quick", "--out", "x"], [*SIM, "--plot"]):
        p = run_inprocess(capsys, *argv)
        assert_one_line_error(p, 1)
        assert "fgrkern[plot]" in p.stderr
    assert not (tmp_path / "x").exists()


def test_reproduce_api_without_matplotlib_refuses_before_any_work(tmp_path, monkeypatch, no_work):
    # the Python entry point, like the command line, must not compute for minutes and then fail
    from fgrkern.figure2 import Figure2Config, reproduce

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(RuntimeError, match=re.escape("pip install 'fgrkern[plot]'")):
        reproduce(Figure2Config.from_preset("quick"), str(tmp_path / "x"), progress=False)
    assert not (tmp_path / "x").exists()


# ------------------------------------------------- outputs checked before any work
@pytest.fixture
def no_work(monkeypatch):
    """Make any start of a simulation or of reproduce's computation fail the test."""
    import fgrkern.figure2 as f2

    def boom(*a, **k):
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr(fgrkern, "simulate", boom)
    monkeypatch.setattr(f2.compute, "compute", boom)


@pytest.mark.parametrize("opt, make, needle", [
    ("--out", lambda d: str(d), "is a directory"),
    ("--out", lambda d: "/sys/fgrkern-test.npz", "cannot create files in '/sys'"),
    ("--out", lambda d: "/proc/fgrkern-test.npz", "cannot create files in '/proc'"),
    ("--out", lambda d: str(d / "plain" / "x.npz"), "not a directory|does not exist"),
    ("--out", lambda d: str(d / "fifo"), "FIFO"),
    ("--out", lambda d: str(d / "devlink"), "character device"),
    ("--checkpoint", lambda d: str(d / "fifo"), "FIFO"),
    ("--checkpoint", lambda d: "/sys/fgrkern-ck.npz", "cannot create files"),
    ("--checkpoint", lambda d: str(d / "missing" / "ck.npz"), "does not exist"),
    ("--checkpoint", lambda d: str(d), "is a directory"),
])
def test_simulate_outputs_fail_at_once(tmp_path, capsys, monkeypatch, no_work, opt, make, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain").write_text("mine")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "devlink").symlink_to(os.devnull)
    p = run_inprocess(capsys, *SIM, opt, make(tmp_path))
    assert_one_line_error(p, 1)
    assert re.search(needle, p.stderr) and opt in p.stderr, p.stderr
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode) and (tmp_path / "plain").read_text() == "mine"
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_simulate_out_and_checkpoint_must_differ(tmp_path, capsys, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    p = run_inprocess(capsys, *SIM, "--out", "r.npz", "--checkpoint", "./r.npz")
    assert_one_line_error(p, 1)
    assert "same file" in p.stderr


def test_simulate_plot_target_checked_first(tmp_path, capsys, monkeypatch, no_work):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "r.png")
    p = run_inprocess(capsys, *SIM, "--out", "r.npz", "--plot")
    assert_one_line_error(p, 1)
    assert "--plot" in p.stderr and "FIFO" in p.stderr


@pytest.mark.parametrize("make, needle", [
    (lambda d: "/sys/fgrkern-fig", "cannot create files"),
    (lambda d: str(d / "plain"), "not a directory"),
    (lambda d: str(d / "withfifo"), "FIFO"),
])
def test_reproduce_outputs_fail_at_once(tmp_path, capsys, no_work, make, needle):
    (tmp_path / "plain").write_text("mine")
    (tmp_path / "withfifo").mkdir()
    os.mkfifo(tmp_path / "withfifo" / "summary.json")
    p = run_inprocess(capsys, "reproduce", "--quick", "--no-plot", "--no-progress", "--out", make(tmp_path))
    assert_one_line_error(p, 1)
    assert re.search(needle, p.stderr) and "--out" in p.stderr, p.stderr
    assert (tmp_path / "plain").read_text() == "mine"


def test_fifo_checkpoint_does_not_hang_from_the_console(tmp_path):
    os.mkfifo(tmp_path / "ck.npz")
    p = run(*SIM, "--checkpoint", "ck.npz", cwd=tmp_path, timeout=60)
    assert_one_line_error(p, 1)
    assert "FIFO" in p.stderr


# ------------------------------------------- result first, theory after, never lost
def test_theory_failure_never_discards_the_result(tmp_path, capsys, monkeypatch):
    import fgrkern.theory as th

    monkeypatch.chdir(tmp_path)

    def broken(*a, **k):
        raise ValueError("theory unavailable here")

    monkeypatch.setattr(th, "p_tau", broken)
    monkeypatch.setattr(th, "p_res", broken)
    p = run_inprocess(capsys, *SIM, "--out", "r.npz")
    assert p.returncode == 0, p.stderr
    assert "note: no theory curve" in p.stdout and "theory unavailable here" in p.stdout
    assert fgrkern.SimulationResult.load("r.npz").n_samples == 64
    # Even a genuine bug in the comparison comes after the file is written.
    monkeypatch.setattr(th, "p_tau", lambda *a, **k: 1 / 0 if False else (_ for _ in ()).throw(RuntimeError("bug")))
    with pytest.raises(RuntimeError, match="bug"):
        main([*SIM, "--out", "r2.npz"])
    assert fgrkern.SimulationResult.load("r2.npz").n_samples == 64


@pytest.mark.parametrize("extra, note", [
    (["--tau", "1e-3:1e7:12log"], "beyond the validated domain"),   # Eq. (5) for tau <= 1e6 only
    (["--gamma", "1e101"], "beyond the validated domain of Eq. (5)"),
])
def test_simulate_beyond_the_theory_domain_saves_and_exits_0(tmp_path, capsys, monkeypatch, extra, note):
    monkeypatch.chdir(tmp_path)
    argv = [a for a in SIM if a not in ("--gamma", "2")] + ([] if "--gamma" in extra else ["--gamma", "2"])
    p = run_inprocess(capsys, *[a for a in argv if a != "0,0.05,0.5,3" and a != "--tau"], *extra, "--out", "r.npz")
    assert p.returncode == 0, p.stderr
    assert note in p.stdout and "Traceback" not in p.stderr
    res = fgrkern.SimulationResult.load("r.npz")
    assert res.n_samples == 64
    if "--tau" in extra:
        # Values are still given where the theory applies: P(tau) -> Eq. (4) at tau >= 2 (GUE, Eq. (5)).
        line = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("1e+07")]
        assert line and line[0].split()[-1] == "-"


def test_full_disk_at_the_end_keeps_the_checkpoint(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real_save = fgrkern.SimulationResult.save

    def full(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fgrkern.SimulationResult, "save", full)
    argv = [a for a in SIM if a not in ("--seed", "5")]  # no seed: the rerun adopts the checkpoint's
    p = run_inprocess(capsys, *argv, "--out", "r.npz")
    assert_one_line_error(p, 1)
    assert "No space left on device" in p.stderr and "r.npz.partial.npz" in p.stderr
    assert not (tmp_path / "r.npz").exists() and (tmp_path / "r.npz.partial.npz").exists()
    # The rerun writes the result from the checkpoint (no recomputation) and removes it.
    monkeypatch.setattr(fgrkern.SimulationResult, "save", real_save)
    from fgrkern import _chunks

    monkeypatch.setattr(_chunks, "run_chunk", lambda *a: pytest.fail("recomputed a finished run"))
    p = run_inprocess(capsys, *argv, "--out", "r.npz")
    assert p.returncode == 0, p.stderr
    assert fgrkern.SimulationResult.load("r.npz").n_samples == 64
    assert not (tmp_path / "r.npz.partial.npz").exists()


def test_full_disk_with_a_user_checkpoint_names_it(tmp_path, capsys, monkeypatch):
    import tempfile

    monkeypatch.chdir(tmp_path)
    rescue = tmp_path / "tmp"
    rescue.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(rescue))
    monkeypatch.setattr(fgrkern._files.np, "savez", _savez_full_for("r.npz", tmp_path))
    p = run_inprocess(capsys, *SIM, "--out", "r.npz", "--checkpoint", "mine.npz")
    assert_one_line_error(p, 1)
    assert "'mine.npz'" in p.stderr and "No space left" in p.stderr
    assert (tmp_path / "mine.npz").exists() and not (tmp_path / "r.npz").exists()
    assert [q.name for q in tmp_path.iterdir() if q.name.startswith(".fgrkern-")] == []
    # the checkpoint holds the finished run: no copy elsewhere (and a failed one leaves no file)
    assert "saved in" not in p.stderr and list(rescue.iterdir()) == []


def _savez_full_for(name, folder):
    """np.savez that fails with ENOSPC while the result (the file with 'tau') is written."""
    real = np.savez

    def savez(fh, **arrays):
        if "tau" in arrays:
            fh.write(b"PK partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fh, **arrays)

    return savez


def test_default_checkpoint_name_respects_name_max(tmp_path):
    from fgrkern.cli import _default_checkpoint

    assert _default_checkpoint(str(tmp_path / "r.npz")) == str(tmp_path / "r.npz.partial.npz")
    long = str(tmp_path / ("x" * 250 + ".npz"))
    name = os.path.basename(_default_checkpoint(long))
    assert len(name) <= 255 and name.endswith(".partial.npz")
    assert _default_checkpoint(long) == _default_checkpoint(long)  # the rerun finds it again


def test_interrupt_message_names_the_checkpoint(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real = fgrkern.simulate

    def interrupted(*a, **k):
        real(a[0], a[1], 2, rng=1, checkpoint=k["checkpoint"])  # leaves a checkpoint, like a real run
        raise KeyboardInterrupt

    monkeypatch.setattr(fgrkern, "simulate", interrupted)
    p = run_inprocess(capsys, *SIM, "--out", "r.npz")
    assert p.returncode == 130
    assert "interrupted" in p.stderr and "r.npz.partial.npz" in p.stderr and "resume" in p.stderr


# ---------------------------------------------------------------- grid caps
@pytest.mark.parametrize("spec", ["1:2:10000001lin", "1:2:1000000000000log", "0:1:1e-9", "1:2:" + "9" * 5000 + "lin"])
def test_grid_point_cap(spec):
    with pytest.raises(ValueError):
        parse_grid(spec)


def test_grid_cap_boundary_is_allowed():
    from fgrkern.cli import MAX_GRID_POINTS

    assert parse_grid(f"1:2:{MAX_GRID_POINTS}lin").size == MAX_GRID_POINTS


@pytest.mark.parametrize("argv", [
    ["theory", "p_res", "--gamma", "1:2:1000000000000lin"],
    ["theory", "p_tau", "--gamma", "1:2:10000lin", "--tau", "0:1:10000lin"],
    ["theory", "form_factor", "--symmetry", "GOE", "--tau", "0:1:20000000lin"],
])
def test_theory_grids_capped_before_allocating(argv, capsys, monkeypatch):
    monkeypatch.setattr(np, "meshgrid", lambda *a, **k: pytest.fail("allocated the outer product"))
    p = run_inprocess(capsys, *argv)
    assert_one_line_error(p, 2)
    assert "at most 1e+07" in p.stderr


# -------------------------------------------------------------- --bath files
@pytest.mark.parametrize("name, make, needle", [
    ("c.npy", lambda p: np.save(p, np.zeros(40, complex)), "complex"),
    ("b.npy", lambda p: np.save(p, np.ones(40, bool)), "bool"),
    ("d.npy", lambda p: np.save(p, np.arange(40).astype("datetime64[D]")), "datetime64"),
    ("s.npy", lambda p: np.save(p, np.array(["1.0"] * 40)), "<U3"),
    ("o.npy", lambda p: np.save(p, np.array([1.0] * 40, dtype=object), allow_pickle=True), "object"),
    ("z.npy", lambda p: np.savez(open(p, "wb"), a=np.zeros(40)), "zip"),
    ("n.npy", lambda p: np.save(p, np.r_[np.zeros(39), np.nan]), "NaN"),
    ("short.npy", lambda p: np.save(p, np.zeros(39)), "holds 39 levels"),
    ("huge.npy", lambda p: _lying_npy(p), "holds 1000000000000 levels"),
    ("t.txt", lambda p: open(p, "w").write("1+2j\n" * 40), "cannot read"),
    ("e.txt", lambda p: open(p, "w").write(""), "holds 0 levels"),
    ("long.txt", lambda p: open(p, "w").write("1\n" * 10_000), "holds more than 40 levels"),
    ("fifo", lambda p: os.mkfifo(p), "FIFO"),
    ("dir", lambda p: os.mkdir(p), "directory"),
])
def test_bath_files_are_validated_like_the_library(tmp_path, capsys, monkeypatch, name, make, needle):
    monkeypatch.chdir(tmp_path)
    make(name)
    p = run_inprocess(capsys, *SIM, "--bath", name, "--out", "r.npz")
    assert_one_line_error(p, 1)
    assert needle in p.stderr and "--bath" in p.stderr, p.stderr
    assert not (tmp_path / "r.npz").exists()


def _lying_npy(path):
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})


def test_bath_integer_and_text_levels_accepted(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("i.npy", np.arange(-20, 20))
    np.savetxt("t.txt", np.arange(-20, 20))
    for name in ("i.npy", "t.txt"):
        p = run_inprocess(capsys, *SIM, "--bath", name, "--out", name + ".npz")
        assert p.returncode == 0, p.stderr
        res = fgrkern.SimulationResult.load(name + ".npz")
        np.testing.assert_array_equal(res.model_params["bath_levels"], np.arange(-20, 20))


# --------------------------------------------------------------- broken pipe
def test_broken_pipe_exits_quietly(tmp_path):
    cmd = [sys.executable, "-m", "fgrkern", "theory", "p_res", "--gamma", "1e-3:1e3:200000log"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    first = [proc.stdout.readline() for _ in range(2)]
    proc.stdout.close()  # what `| head -2` does
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=120)
    assert first[0].startswith(b"gamma,p_res")
    assert err == "", err
    assert rc == 141


def test_broken_pipe_after_simulate_keeps_the_result(tmp_path):
    cmd = [sys.executable, "-m", "fgrkern", *SIM, "--out", "r.npz"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=120)
    assert "Traceback" not in err and rc in (0, 141), err
    assert fgrkern.SimulationResult.load(tmp_path / "r.npz").n_samples == 64


# --------------------------------------------------------- default N per class
@pytest.mark.parametrize("symmetry, n", [("GUE", 999), ("GOE", 999), ("GSE", 998), ("S", 998)])
def test_default_n_is_valid_for_every_class(tmp_path, capsys, monkeypatch, symmetry, n):
    monkeypatch.chdir(tmp_path)
    seen = {}

    def capture(model, *a, **k):
        seen["model"] = model
        raise KeyboardInterrupt

    monkeypatch.setattr(fgrkern, "simulate", capture)
    p = run_inprocess(capsys, "simulate", "--gamma", "1", "--symmetry", symmetry, "--no-progress")
    assert p.returncode == 130, p.stderr
    assert seen["model"].n == n and seen["model"].gamma == pytest.approx(1.0)


# ---------------------------------------------------- theory only where it applies
@pytest.mark.parametrize("symmetry, gamma, label", [
    ("GUE", 0.46, "Eq. (5)"), ("GUE", 46, "Eq. (5)"),
    ("GOE", 0.46, None), ("GSE", 2.0, None), ("GOE", 46, "asymptotic"), ("GSE", 46, "asymptotic"),
])
def test_theory_curve_only_where_it_applies(symmetry, gamma, label):
    from fgrkern import theory

    tau = np.array([0.01, 0.3, 2.0])
    th, why = theory.curve_for(tau, gamma, symmetry)
    if label is None:
        assert th is None and "gamma >> 1" in why and gamma < theory.EQ6_MIN_GAMMA
    else:
        assert label in why
        ref = theory.p_tau(tau, gamma) if symmetry == "GUE" else theory.p_sff(tau, gamma, symmetry)
        np.testing.assert_array_equal(th, ref)
    for bath, eps0 in (("poisson", 0.0), (np.zeros(3), 0.0), ("wigner-dyson", 0.5)):
        assert theory.curve_for(tau, gamma, symmetry, bath=bath, eps0=eps0)[0] is None


def test_goe_small_gamma_shows_no_theory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a if a != "2" else "0.46" for a in SIM]
    p = run_inprocess(capsys, *argv, "--symmetry", "GOE", "--out", "r.npz")
    assert p.returncode == 0, p.stderr
    assert "theory" not in p.stdout.splitlines()[1] and "Eq. (6) holds only for gamma >> 1" in p.stdout
    drawn = {}
    import fgrkern.figure2 as f2

    monkeypatch.setattr(f2, "plot_simulation", lambda res, th, label, png, title="": drawn.update(th=th, label=label))
    monkeypatch.setattr("fgrkern.cli._require_matplotlib", lambda what: None)
    p = run_inprocess(capsys, *argv, "--symmetry", "GOE", "--out", "r.npz", "--plot")
    assert p.returncode == 0, p.stderr
    assert drawn["th"] is None
    p = run_inprocess(capsys, *[a if a != "2" else "46" for a in SIM], "--symmetry", "GOE", "--out", "r.npz", "--plot")
    assert drawn["th"] is not None and "asymptotic" in drawn["label"]


# ------------------------------------------------------------ argument parsing
def test_negative_values_reach_the_value_check(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in ([*SIM[:-1], "--tau", "-1,0.5"], [*SIM, "--tau", "-1,0.5"], [*SIM, "--tau=-1,0.5"]):
        p = run_inprocess(capsys, *argv)
        assert_one_line_error(p, 2)
        assert "--tau must be non-negative" in p.stderr
    # theory takes negative tau (P and K are even in tau): -1 gives the value at +1.
    p = run_inprocess(capsys, "theory", "form_factor", "--tau", "-1,1", "--symmetry", "GOE")
    assert p.returncode == 0, p.stderr
    rows = p.stdout.strip().splitlines()[1:]
    assert rows[0].split(",")[-1] == rows[1].split(",")[-1]
    p = run_inprocess(capsys, "theory", "p_res", "--gamma", "-2")
    assert_one_line_error(p, 1)  # the library's message about gamma, not "expected one argument"
    assert "gamma" in p.stderr and "expected one argument" not in p.stderr


@pytest.mark.parametrize("argv, hint", [
    (["simulate", "--gama", "0.46"], "--gama; did you mean --gamma?"),
    (["simulate", "--gamma", "1", "--sample", "3"], None),  # unambiguous prefix: accepted by argparse
    (["simulate", "--gamma", "1", "--smples", "3"], "--smples; did you mean --samples?"),
    (["theory", "p_tau", "--gama", "1", "--tau", "1"], "--gama; did you mean --gamma?"),
    (["reproduce", "--quik"], "--quick"),
    (["simulate", "--gamma", "1", "--zzzzzz"], "--zzzzzz"),
    (["simulate", "--gamma", "1", "--s", "3"], "ambiguous option: --s could match"),  # argparse's own message
])
def test_unknown_options_are_named(argv, hint, capsys, tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    if hint is None:
        from fgrkern.cli import _preprocess, build_parser

        parser = build_parser()
        assert parser.parse_args(_preprocess(parser, argv)).samples == 3
        return
    p = run_inprocess(capsys, *argv)
    assert_one_line_error(p, 2)
    assert ("unrecognized option" in p.stderr or "ambiguous" in hint) and hint in p.stderr, p.stderr
    assert "required" not in p.stderr


@pytest.mark.parametrize("tau", ["1:0.5:3lin", "1,0.5", "0.5,0.5", "3:1:5log"])
def test_non_increasing_tau_exits_2_like_other_grid_errors(tau, capsys, tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    p = run_inprocess(capsys, *SIM, "--tau", tau)
    assert_one_line_error(p, 2)
    assert "strictly increasing" in p.stderr


# ------------------------------------------------------------ progress display
def test_progress_off_a_terminal_is_plain_lines():
    from fgrkern._progress import Progress

    buf = io.StringIO()
    prog = Progress(100, "simulate", every=0.0, stream=buf)
    assert not prog.uses_tqdm
    for _ in range(4):
        prog.update(25, "chunk")
    prog.close()
    lines = buf.getvalue().splitlines()
    assert "\r" not in buf.getvalue() and len(lines) == 4
    assert lines[-1].startswith("simulate: 100.0% (100/100)")
    # Rate-limited: only the final line within a long interval.
    buf = io.StringIO()
    prog = Progress(100, "x", every=3600.0, stream=buf)
    prog.update(1)  # first line at once
    for _ in range(98):
        prog.update(1)
    prog.update(1)
    assert len(buf.getvalue().splitlines()) == 2
    # Disabled: silent.
    buf = io.StringIO()
    Progress(10, "x", enabled=False, stream=buf).update(10)
    assert buf.getvalue() == ""


def test_progress_on_a_terminal_uses_tqdm():
    pytest.importorskip("tqdm")
    from fgrkern._progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    buf = Tty()
    prog = Progress(10, "x", stream=buf)
    assert prog.uses_tqdm
    prog.update(10)
    prog.close()
    assert "\r" in buf.getvalue()


def test_simulate_progress_in_a_log_has_no_carriage_returns(tmp_path):
    pytest.importorskip("tqdm")
    argv = [a for a in SIM if a != "--no-progress"]
    p = run(*argv, "--out", "r.npz", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "\r" not in p.stderr and "simulate: 100.0%" in p.stderr


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 256 KiB tmpfs (needs root and mount permission; skipped elsewhere)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("cannot run mount")
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)


def test_real_full_disk_keeps_the_checkpoint(small_tmpfs, capsys):
    # 5000 times: the checkpoint (2 arrays of T, 80 KB, twice while being replaced) fits in
    # 256 KiB, the result (5 arrays of T, 200 KB) next to it does not.
    out = str(small_tmpfs / "r.npz")
    argv = [*SIM[:-5], "--tau", "0:1:5000lin", "--seed", "5", "--no-progress", "--out", out]
    p = run_inprocess(capsys, *argv)
    assert_one_line_error(p, 1)
    assert "No space left on device" in p.stderr and "r.npz.partial.npz" in p.stderr, p.stderr
    assert not os.path.exists(out) and os.path.exists(out + ".partial.npz")
    assert [q for q in os.listdir(small_tmpfs) if q.startswith(".fgrkern-")] == []
    # With room again, the same command writes the result from the checkpoint, bitwise as a fresh run.
    subprocess.run(["mount", "-o", "remount,size=2m", str(small_tmpfs)], check=True, timeout=30)
    assert run_inprocess(capsys, *argv).returncode == 0
    assert not os.path.exists(out + ".partial.npz")
    fresh = str(small_tmpfs / "fresh.npz")
    assert run_inprocess(capsys, *argv[:-1], fresh).returncode == 0
    np.testing.assert_array_equal(fgrkern.SimulationResult.load(out).mean,
                                  fgrkern.SimulationResult.load(fresh).mean)


def test_reproduce_resumes_after_an_interrupt_bitwise(tmp_path, monkeypatch):
    # Ctrl-C in the second family: the first family's checkpoint is complete, the second holds
    # its finished chunks; rerunning reproduce resumes both and writes the same bytes as an
    # uninterrupted run, then removes the checkpoints.  No chunk already saved is computed again.
    import fgrkern.figure2 as f2
    from fgrkern import _chunks

    cfg = Figure2Config(n=41, samples=100, n_gamma_res=3, n_tau=9, workers=1)
    whole = tmp_path / "whole"
    f2.reproduce(cfg, str(whole), plot=False, progress=False)
    assert not list(whole.glob("checkpoint-*"))

    orig = _chunks.run_chunk
    calls = []

    def interrupted(task):
        calls.append(task.index)
        if len(calls) == 6:  # GUE has 4 chunks of 32, so this is GOE's second chunk
            raise KeyboardInterrupt
        return orig(task)

    out = tmp_path / "resumed"
    monkeypatch.setattr(_chunks, "run_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt) as info:
        f2.reproduce(cfg, str(out), plot=False, progress=False)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "checkpoint-GOE-N41.npz" in notes and "resume" in notes
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-GOE-N41.npz", "checkpoint-GUE-N41.npz"]
    assert not (out / "summary.json").exists()

    calls.clear()
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index) or orig(task))
    f2.reproduce(cfg, str(out), plot=False, progress=False)
    assert len(calls) == 4 + 4 - 1  # GOE's other chunks and all of GSE; GUE not again
    for name in f2.output_files(False):
        if name != "summary.json":
            assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert not list(out.glob("checkpoint-*"))
    # the timings count only what this run computed: GUE none, GOE 3 chunks of 32 + the last 4, GSE all
    fams = json.loads((out / "summary.json").read_text())["families"]
    computed = {f["symmetry"]: f["samples_computed"] for f in fams.values()}
    assert computed == {"GUE": 0, "GOE": 100 - 32, "GSE": 100}, computed
    for f in fams.values():
        if f["samples_computed"]:
            assert f["cpu_ms_per_sample"] == 1e3 * f["cpu_seconds"] / f["samples_computed"]
        else:
            assert f["cpu_ms_per_sample"] is None and f["wall_ms_per_sample"] is None
    est = json.loads((out / "summary.json").read_text())["estimated_seconds_by_preset"]
    assert "paper" not in est  # no GUE rate measured by this run


def test_reproduce_refuses_a_foreign_checkpoint_and_leaves_it(tmp_path, monkeypatch):
    # A checkpoint-named file that this run did not write (not a checkpoint at all, or one of a
    # run with other settings) is refused before it is touched.
    import fgrkern.figure2 as f2
    from fgrkern import _chunks

    cfg = Figure2Config(n=41, samples=40, n_gamma_res=3, n_tau=9, workers=1)
    out = tmp_path / "o"
    out.mkdir()
    foreign = out / "checkpoint-GUE-N41.npz"
    foreign.write_bytes(b"not an archive")
    # refused before any family runs: not even the first chunk is computed
    calls = []
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index))
    for name in ("checkpoint-GUE-N41.npz", "checkpoint-GSE-N40.npz"):
        (out / name).write_bytes(b"not an archive")
        with pytest.raises(ValueError, match=f"{name}' exists and is not a readable fgrkern checkpoint"):
            f2.reproduce(cfg, str(out), plot=False, progress=False)
        assert (out / name).read_bytes() == b"not an archive" and calls == []
        (out / name).unlink()
    monkeypatch.undo()

    def ctrl_c(task):
        raise KeyboardInterrupt

    other = Figure2Config(n=41, samples=60, n_gamma_res=3, n_tau=9, workers=1)
    monkeypatch.setattr(_chunks, "run_chunk", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        f2.reproduce(other, str(out), plot=False, progress=False)  # leaves its (empty) GUE checkpoint
    monkeypatch.undo()
    kept = foreign.read_bytes()
    with pytest.raises(ValueError, match="differs"):
        f2.reproduce(cfg, str(out), plot=False, progress=False)  # 40 samples against a 60-sample checkpoint
    assert foreign.read_bytes() == kept
    # an fgrkern checkpoint of another run at a later family's path is refused before the
    # first family computes (the families before it used to run first)
    later = out / "checkpoint-GSE-N40.npz"
    foreign.rename(later)
    calls.clear()
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index))
    with pytest.raises(ValueError, match="checkpoint-GSE-N40.npz' was written by a different simulation"):
        f2.reproduce(cfg, str(out), plot=False, progress=False)
    assert calls == [] and later.read_bytes() == kept


# ---------------------------------------------------------------- SIGTERM, inputs, protected files
_SIM = ["simulate", "--n", "49", "--gamma", "2", "--samples", "4000", "--seed", "5", "--tau", "0.01:2:20log",
        "--no-progress", "--workers", "1"]

# The child runs the command line with chunks slowed down once 4 are done, and
# says so: the parent's SIGTERM then lands mid-run on any machine.
_SLOW_CHILD = """
import sys, time
from fgrkern import _chunks, cli
real, done = _chunks.run_chunk, []
def run(task):
    out = real(task)
    done.append(1)
    if len(done) == 4:
        print("READY", flush=True)
    if len(done) >= 4:
        time.sleep(0.05)
    return out
_chunks.run_chunk = run
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM delivery via os.kill")
def test_sigterm_saves_like_ctrl_c_and_the_rerun_resumes_bitwise(tmp_path):
    """What a batch scheduler sends before it kills a job: the completed
    chunks are saved (no temporary file left), status 143, and the same
    command resumes to the bits of an uninterrupted run."""
    import signal

    out, ck = tmp_path / "r.npz", tmp_path / "r.ckpt.npz"
    args = [*_SIM, "--out", str(out), "--checkpoint", str(ck)]
    child = subprocess.Popen([sys.executable, "-c", _SLOW_CHILD, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert child.stdout.readline().strip() == "READY"
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert "fgrkern: terminated (SIGTERM)" in err and str(ck) in err and "resume" in err, err
    assert not out.exists() and not list(tmp_path.glob(".fgrkern-*"))
    from fgrkern._checkpoint import samples_saved

    assert 0 < samples_saved(str(ck)) < 4000
    assert subprocess.run([sys.executable, "-m", "fgrkern", *args], capture_output=True, cwd=tmp_path).returncode == 0
    ref = tmp_path / "ref.npz"
    assert main([*_SIM, "--out", str(ref)]) == 0
    a, b = fgrkern.SimulationResult.load(out), fgrkern.SimulationResult.load(ref)
    assert a.mean.tobytes() == b.mean.tobytes() and a.sem.tobytes() == b.sem.tobytes() and a.p_res == b.p_res


def test_out_may_not_be_the_bath_input(tmp_path, capsys):
    levels = tmp_path / "levels.txt"
    np.savetxt(levels, np.linspace(-1.5, 1.5, 49))
    before = levels.read_bytes()
    base = ["simulate", "--n", "49", "--gamma", "2", "--samples", "64", "--tau", "0.01:2:20log", "--no-progress",
            "--bath", str(levels)]
    for opt, extra in [("--out", ["--out", str(levels)]),
                       ("--checkpoint", ["--out", str(tmp_path / "r.npz"), "--checkpoint", str(levels)])]:
        assert main([*base, *extra]) == 1
        err = capsys.readouterr().err
        assert f"{opt} {str(levels)!r} is the same file as the input --bath" in err, err
        assert levels.read_bytes() == before


def test_write_protected_outputs_are_not_replaced(tmp_path, capsys):
    """A rename replaces a file whatever its own permissions: a file its owner
    made read-only is refused up front (also when running as root)."""
    notes = tmp_path / "notes.npz"
    notes.write_text("my precious notes")
    notes.chmod(0o444)
    args = ["simulate", "--n", "9", "--gamma", "2", "--samples", "8", "--tau", "0,1", "--no-progress"]
    assert main([*args, "--out", str(notes)]) == 1
    err = capsys.readouterr().err
    assert "--out" in err and "write-protected" in err and notes.read_text() == "my precious notes"
    # a checkpoint is replaced only once read as this run's own: a foreign file is refused as such
    assert main([*args, "--out", str(tmp_path / "r.npz"), "--checkpoint", str(notes)]) == 1
    assert "checkpoint" in capsys.readouterr().err and notes.read_text() == "my precious notes"
    with pytest.raises(ValueError, match="checkpoint"):
        fgrkern.simulate(fgrkern.LevelDotModel(9, 0.2), [0.0, 1.0], 8, rng=1, checkpoint=notes)
    assert notes.read_text() == "my precious notes"
    with pytest.raises(ValueError, match="path: .* write-protected"):  # the library's writer refuses it too
        fgrkern.simulate(fgrkern.LevelDotModel(9, 0.2), [0.0, 1.0], 8, rng=1).save(notes)
    notes.chmod(0o644)


def test_own_checkpoint_under_a_strict_umask_is_rewritten_and_resumed(tmp_path):
    """umask 0277 would give fgrkern's own checkpoint mode 0400; it gets owner
    read and write (0600), is rewritten during the run (no warning) and resumed."""
    import warnings

    ck = tmp_path / "c.npz"
    run = dict(model=fgrkern.LevelDotModel(9, 0.2), tau=[0.0, 1.0], n_samples=64, rng=1, chunk_size=8,
               checkpoint=ck, checkpoint_interval=0)
    old = os.umask(0o277)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = fgrkern.simulate(**run)
    finally:
        os.umask(old)
    assert stat.S_IMODE(ck.stat().st_mode) == 0o600
    with np.load(ck) as z:
        assert int(z["prefix_n"]) == 64
    assert fgrkern.simulate(**run).mean.tobytes() == res.mean.tobytes()


def test_full_disk_during_the_run_saves_the_result_elsewhere(tmp_path, capsys, monkeypatch):
    """The disk filled up during the run: the later checkpoint writes failed (it holds an early
    state) and --out fails too.  Nothing is removed to make room (that could lose both); the
    finished result goes to a new file in the temporary folder, named in the message, and the
    checkpoint stays as it was (it was lost with a message that the checkpoint held 0 samples)."""
    import tempfile
    import warnings

    from fgrkern import _checkpoint

    real_ck = _checkpoint.save
    calls = {"ck": 0}

    def ck_full_after_first(*a, **k):
        calls["ck"] += 1
        if calls["ck"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_ck(*a, **k)

    def out_full(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    rescue = tmp_path / "tmp"
    rescue.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(rescue))
    monkeypatch.setattr(_checkpoint, "save", ck_full_after_first)
    monkeypatch.setattr(fgrkern.SimulationResult, "save", out_full)
    ck = tmp_path / "r.npz.partial.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fgrkern.CheckpointWriteWarning)
        p = run_inprocess(capsys, *SIM, "--out", str(tmp_path / "r.npz"))
    assert_one_line_error(p, 1)
    saved = list(rescue.glob("fgrkern-result-*.npz"))
    assert len(saved) == 1 and f"the finished result is saved in {str(saved[0])!r} instead" in p.stderr
    assert "holds 0 of the 64 samples" in p.stderr and _checkpoint.samples_saved(str(ck)) == 0
    got = fgrkern.SimulationResult.load(str(saved[0]))
    # the temporary folder full as well: the message says only what the checkpoint holds, and the
    # empty file reserved for the copy is removed
    saved[0].unlink()
    real_write = fgrkern._files.write_npz_atomic

    def full_there(path, *a, **k):
        if str(path).startswith(str(rescue)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, *a, **k)

    monkeypatch.setattr(fgrkern._files, "write_npz_atomic", full_there)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fgrkern.CheckpointWriteWarning)
        p = run_inprocess(capsys, *SIM, "--out", str(tmp_path / "r.npz"))
    assert_one_line_error(p, 1)
    assert "saved in" not in p.stderr and "holds 0 of the 64 samples" in p.stderr and list(rescue.iterdir()) == []
    monkeypatch.undo()
    fresh = run_inprocess(capsys, *SIM, "--out", str(tmp_path / "fresh.npz"))
    assert fresh.returncode == 0
    np.testing.assert_array_equal(got.mean, fgrkern.SimulationResult.load(str(tmp_path / "fresh.npz")).mean)


def test_closed_stderr_or_stdout_do_not_lose_the_run(tmp_path):
    """fd 2 closed: progress has nowhere to go and is dropped (the run was killed at its first
    progress line, --out never written); fd 1 closed: nothing to print, exit 0; stdout on a full
    device: the result and the plot are written first, then one error line."""
    base = [sys.executable, "-m", "fgrkern", *[a for a in SIM if a != "--no-progress"]]
    p = subprocess.run([*base, "--out", "a.npz"], cwd=tmp_path, capture_output=True, timeout=120,
                       preexec_fn=lambda: os.close(2))
    assert p.returncode == 0 and fgrkern.SimulationResult.load(str(tmp_path / "a.npz")).n_samples == 64
    p = subprocess.run([*base, "--out", "b.npz"], cwd=tmp_path, capture_output=True, timeout=120,
                       preexec_fn=lambda: os.close(1))
    assert p.returncode == 0 and "Traceback" not in p.stderr.decode(), p.stderr
    assert fgrkern.SimulationResult.load(str(tmp_path / "b.npz")).n_samples == 64
    p = subprocess.run([sys.executable, "-m", "fgrkern", "theory", "p_res", "--gamma", "1"], cwd=tmp_path,
                       capture_output=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert p.returncode == 1 and p.stderr.decode().count("\n") == 1 and "standard output is closed" in p.stderr.decode()
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            p = subprocess.run([*base, "--out", "c.npz"], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE,
                               timeout=120)
        err = p.stderr.decode()
        assert p.returncode == 1 and "Traceback" not in err and "No space left" in err, err
        assert fgrkern.SimulationResult.load(str(tmp_path / "c.npz")).n_samples == 64


def test_a_zip_header_of_an_unknown_version_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    """A central-directory entry claiming zip version 10.0 made zipfile raise NotImplementedError,
    which escaped as a traceback (found by fuzzing checkpoints and results)."""
    monkeypatch.chdir(tmp_path)
    assert run_inprocess(capsys, *SIM, "--out", "r.npz").returncode == 0
    data = bytearray((tmp_path / "r.npz").read_bytes())
    i = data.find(b"PK\x01\x02")
    data[i + 6] = 100  # "version needed to extract": 10.0
    (tmp_path / "bad.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a readable .npz archive"):
        fgrkern.SimulationResult.load(str(tmp_path / "bad.npz"))
    p = run_inprocess(capsys, *SIM, "--out", "r2.npz", "--checkpoint", "bad.npz")
    assert_one_line_error(p, 1)
    assert "not a readable .npz archive" in p.stderr


def test_exact_integers_on_the_command_line(tmp_path, capsys, monkeypatch):
    """A seed of 30 digits is used exactly (it went through a float and lost 14 digits); counts
    beyond 2^53 are refused up front (a run of 1e30 samples started computing)."""
    monkeypatch.chdir(tmp_path)
    seed = 123456789012345678901234567890
    argv = [a if a != "5" else str(seed) for a in SIM]
    assert run_inprocess(capsys, *argv, "--out", "r.npz").returncode == 0
    assert fgrkern.SimulationResult.load("r.npz").metadata["seed"]["entropy"] == str(seed)
    for bad in ("1e30", "9007199254740993"):
        p = run_inprocess(capsys, *[a if a != "64" else bad for a in SIM], "--out", "x.npz")
        assert p.returncode == 2 and "--samples" in p.stderr and "9007199254740992" in p.stderr
    from fgrkern.cli import _positive_int, _seed

    assert [_seed(t) for t in ("1e20", " 7 ", "1_000", "0e999999999", "5.0", "1e-0")] == [10**20, 7, 1000, 0, 5, 1]
    for bad in ("1__0", "_1", "1_", "2.5", "nan", "inf", "0x10", "1e1001", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            _seed(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="<= 9007199254740992"):
        _positive_int("1e16")
    with pytest.raises(ValueError, match="n_samples"):
        fgrkern.simulate(fgrkern.LevelDotModel(10, 0.1), [0.0], 2**53 + 1, rng=1)


def test_an_out_name_that_is_not_utf8(tmp_path, capsys):
    """Bytes that are no UTF-8 reach Python as surrogate escapes; the default checkpoint name
    encoded them with str.encode and crashed."""
    out = os.path.join(str(tmp_path), os.fsdecode(b"\xff.npz"))
    p = run_inprocess(capsys, *SIM, "--out", out)
    assert p.returncode == 0, p.stderr
    assert fgrkern.SimulationResult.load(out).n_samples == 64


def test_a_checkpoint_stays_readable_under_a_strict_umask(tmp_path, capsys, monkeypatch):
    """umask 0477 created checkpoints with mode 0200: the rerun that the interrupt message
    promised could not read them."""
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o477)
    try:
        fgrkern.simulate(fgrkern.LevelDotModel(20, 0.1), [0.0, 1.0], 8, rng=1, checkpoint="ck.npz")
        mode = os.stat("ck.npz").st_mode & 0o777
    finally:
        os.umask(old)
    assert mode & 0o600 == 0o600 and mode & 0o077 == 0


def test_ctrl_c_while_writing_out_says_where_the_result_is(tmp_path, capsys, monkeypatch):
    """Ctrl-C during the final --out write printed a bare 'interrupted'; the finished result is
    in the checkpoint and the message says so, and the rerun writes it without recomputing."""
    monkeypatch.chdir(tmp_path)
    real_save = fgrkern.SimulationResult.save

    def interrupted(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(fgrkern.SimulationResult, "save", interrupted)
    p = run_inprocess(capsys, *SIM, "--out", "r.npz")
    assert p.returncode == 130, p.stderr
    assert "interrupted while writing --out 'r.npz'" in p.stderr
    assert "finished result is kept in checkpoint 'r.npz.partial.npz'" in p.stderr
    monkeypatch.setattr(fgrkern.SimulationResult, "save", real_save)
    from fgrkern import _chunks

    monkeypatch.setattr(_chunks, "run_chunk", lambda *a: pytest.fail("recomputed a finished run"))
    assert run_inprocess(capsys, *SIM, "--out", "r.npz").returncode == 0
    assert fgrkern.SimulationResult.load("r.npz").n_samples == 64


def test_reproduce_interrupted_between_families_names_its_checkpoints(tmp_path, capsys, monkeypatch):
    """A Ctrl-C after the families computed (while the summary is made) printed a bare
    'interrupted'; it names the checkpoints a rerun resumes from."""
    import fgrkern.figure2 as f2

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(f2, "summarise", ctrl_c)
    out = tmp_path / "o"
    p = run_inprocess(capsys, "reproduce", "--quick", "--n", "41", "--samples", "40", "--no-plot", "--no-progress",
                      "--workers", "1", "--out", str(out))
    assert p.returncode == 130, p.stderr
    assert "checkpoint-GUE-N41.npz" in p.stderr and "rerun the same command to resume" in p.stderr, p.stderr
