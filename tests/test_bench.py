"""Smoke test of the benchmark runner (no timing assertions).

Runs `bench/run.py kernel --quick` in a subprocess and checks that the
section is discovered, the Markdown table is printed and the JSON record has
the promised fields.  Skipped where the tests run without the source tree.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.skipif(not (BENCH / "run.py").exists(), reason="no bench/ next to the tests")
def test_runner_kernel_quick(tmp_path):
    listed = subprocess.run([sys.executable, str(BENCH / "run.py"), "--list"],
                            capture_output=True, text=True, check=True)
    assert "kernel" in listed.stdout
    res = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "kernel", "--quick", "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "| case |" in res.stdout and "uniform grid" in res.stdout
    rec = json.loads((tmp_path / "kernel.json").read_text())
    assert rec["section"] == "kernel"
    for key in ("cpu_model", "usable_cores"):
        assert key in rec["machine"]
    assert set(rec["versions"]) >= {"python", "numpy", "scipy", "fgrkern"}
    rows = rec["rows"]
    assert len(rows) == 4
    for row in rows:
        assert row["fgrkern"]["seconds"] > 0 and row["baselines"]
        assert row["ratio_vs_best"] > 0
        # the benchmark also cross-checks fgrkern against the numpy baselines:
        # |e t| <= 4e4 there, so phase rounding allows ~4e4 * eps * a few
        assert row["max_abs_diff"] < 1e-10
    # unknown section: a clear error, not a traceback
    bad = subprocess.run([sys.executable, str(BENCH / "run.py"), "nosuchsection"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown section" in bad.stderr


@pytest.mark.skipif(not (BENCH / "run.py").exists(), reason="no bench/ next to the tests")
@pytest.mark.parametrize("section", ["simulate", "theory", "reproduce"])
def test_runner_fast_sections_run(tmp_path, section):
    # Each section runs end to end on the current API (a benchmark that no longer runs is a
    # benchmark that silently stops measuring); no timing is asserted.
    res = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), section, "--quick", "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((tmp_path / f"{section}.json").read_text())["section"] == section


@pytest.mark.skipif(not (BENCH / "run.py").exists(), reason="no bench/ next to the tests")
def test_sampler_ratio_section_runs_on_a_small_size(monkeypatch):
    # The per-coupling ratios drive the model's public common-random-numbers path and the
    # private block size; run them on one small size so an API change cannot break them unseen.
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_sampler

    (row,) = bench_sampler.section_ratios(True, sizes=[120])
    assert row["M"] == 120 and row["rows_per_block"] >= 1
    assert row["dsterf_s"] > 0 and row["realisation_s"] > 0 and row["solve_s"] > 0
