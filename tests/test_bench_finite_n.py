"""Smoke test of bench/finite_n.py on tiny sizes (no numbers asserted beyond consistency).

Runs the script in a subprocess with a few samples and checks that the tables and the
JSON record are written, that the extrapolated P_res is the one fgrkern.extrapolate
would return (the script's own bookkeeping), and that a bad --out is refused.
Skipped where the tests run without the source tree.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "bench" / "finite_n.py"


@pytest.mark.skipif(not SCRIPT.exists(), reason="no bench/ next to the tests")
def test_finite_n_script_smoke(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--sizes", "17,33,65", "--gammas", "0.5,40", "--classes", "GUE,GSE",
           "--samples", "40", "--workers", "1", "--out", str(tmp_path)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    md = (tmp_path / "finite_n.md").read_text()
    assert "## P_res(N) = P_res(inf)" in md and "## Early decay rate" in md and "--samples 40" in md
    rec = json.loads((tmp_path / "finite_n.json").read_text())
    gue = rec["classes_data"]["GUE"]
    assert gue["n"] == [16, 32, 64] and rec["classes_data"]["GSE"]["n"] == [16, 32, 64]
    assert gue["samples"] == [160, 80, 40]
    row = gue["gammas"]["0.5"]
    assert row["order1"]["dof"] == 1 and row["order2"]["dof"] == 0 and row["order2"]["p_res_chi2"] == 0
    assert "eq4" in row["order1"] and "eq4" not in rec["classes_data"]["GSE"]["gammas"]["0.5"]["order1"]
    assert "rate" not in row  # gamma = 0.5: the decay is not separated from the plateau
    bad = subprocess.run(cmd[:-1] + [str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "--out" in bad.stderr
