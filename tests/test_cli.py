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
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrkern
from fgrkern.cli import main, parse_grid


def run(*argv: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fgrkern", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


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
