"""The ``fgrkern`` command line, run for real in subprocesses on small settings.

Exit-status conventions under test: argument errors -> one line on stderr and
status 2; runtime errors (values the library rejects, unreadable files) -> one
line ``fgrkern: error: ...`` and status 1; never a traceback for user mistakes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
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
    assert p.stdout.strip() == f"fgrkern {fgrkern.__version__}"


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
@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6), seed=st.integers(0, 2**32 - 1))
def test_chunk_pooling_equals_one_sample(sizes, seed):
    # reproduce pools simulate() chunks; the pooled mean and sem must be those of all samples at once.
    from fgrkern.figure2 import _pool

    if sum(sizes) < 2:
        sizes = sizes + [1]
    rng = np.random.default_rng(seed)
    data = [rng.exponential(size=(k, 3)) for k in sizes]
    stats = [(k, d.mean(0), d.std(0, ddof=1) / np.sqrt(k) if k > 1 else np.full(3, np.nan))
             for k, d in zip(sizes, data)]
    allv = np.concatenate(data)
    mean, sem = _pool(stats)
    np.testing.assert_allclose(mean, allv.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sem, allv.std(0, ddof=1) / np.sqrt(len(allv)), rtol=1e-9)



PANEL_COLUMNS = {
    "a": ["tau", "t", "mean", "sem", "theory_eq5"],
    "b": ["tau", "t", "mean", "sem", "theory_eq5"],
    "c": ["tau", "t", "mean", "sem", "theory_eq5"],
    "d": ["gamma", "p_res", "sem", "theory_eq4", "fgr_1_over_gamma"],
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
    assert s["run_seconds"] > 0
    cfg = Figure2Config.from_preset("quick")
    assert s["samples_total"] == 5 * cfg.samples + cfg.n_gamma_res * cfg.samples_res
    # Every panel agrees with the theory within 4 standard errors, or within them plus the stated
    # O(gamma/N), O(1/gamma) systematic allowance (the short-time regime t < 1/lam is resolved far
    # better than gamma/N, so it is always "systematic").  Past it (tau >= 0.05) the small-gamma
    # panels, where gamma/N < 1e-3, agree purely statistically.
    assert set(s["agreement"].values()) <= {"statistical", "systematic"}, s["agreement"]
    for k in "bc":
        assert s["panels"][k]["points_beyond_allowance"] == 0
        assert s["panels"][k]["late_max_abs_z"] < 4, s["panels"][k]
    d = s["panels"]["d"]["per_gamma"]
    assert len(d) == Figure2Config.from_preset("quick").n_gamma_res
    for row in d:
        assert row["agreement"] in ("statistical", "systematic"), row
        if row["gamma"] < 3:
            assert abs(row["z"]) < 4, row
    # Plateau/offset ratios (3/2, 2, 3) for (GOE, GUE, GSE), within 4 errors of the measurement.
    for sym, info in s["panels"]["e"]["classes"].items():
        assert abs(info["ratio_pl_over_off"] - info["ratio_paper"]) < 4 * info["ratio_err"] + 0.1 * info["ratio_paper"], (sym, info)
    assert "Figure 2 reproduced" in p.stdout


def test_reproduce_same_seed_same_numbers_any_workers(tmp_path, capsys):
    # Tiny in-process runs: the CSVs are byte-identical for 1 and 2 workers, and differ for another seed.
    args = ["reproduce", "--quick", "--samples", "24", "--n", "40", "--no-plot", "--no-progress"]
    for name, extra in (("w1", ["--workers", "1"]), ("w2", ["--workers", "2"]), ("s2", ["--seed", "2"])):
        p = run_inprocess(capsys, *args, *extra, "--out", str(tmp_path / name))
        assert p.returncode == 0, p.stderr
    for k in "abcde":
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
