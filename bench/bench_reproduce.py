"""Benchmark section `reproduce`: the cost of Figure 2 in units of one plain GUE curve.

The unit is one plain 1000-sample GUE curve (N + 1 = 1000, the 241-point tau
grid of Figure 2, one coupling).  Measured side by side, interleaved, in one
process on one worker (CPU time, robust on a shared machine; wall time too):

* the per-sample cost of each ``simulate`` call of ``fgrkern reproduce``: GUE
  with all 23 couplings on common random numbers, GOE, GSE at N + 1 = 1000, and
  the same families at N + 1 = 250 and 500 for ``--limit``;
* the scheme before common random numbers (three GUE curves, GOE, GSE and 20
  separate one-time-point P_res runs), per sample;
* one real ``reproduce`` at a small sample count, against the sum of its
  families (the overhead outside ``simulate``: theory curves, summary).

The paper-scale estimates are 10^4 samples x these per-sample costs.

Run:  python bench/run.py reproduce [--quick]
"""

from __future__ import annotations

import tempfile
import time
from typing import Callable

import numpy as np

import fgrkern as fk
from fgrkern.figure2 import Figure2Config, reproduce
from fgrkern.figure2.config import families

PAPER = 10_000
UNIT = 1_000  # samples of the unit curve


def _measure(fn: Callable[[], object], samples: int) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return (time.process_time() - c0) / samples, (time.perf_counter() - w0) / samples


def run(args) -> dict:
    quick = bool(getattr(args, "quick", False))
    s = 8 if quick else 48
    rounds = 1 if quick else 2
    cfg = Figure2Config.from_preset("paper", limit=True, workers=1)
    tau = cfg.tau()

    def sim(sym: str, n: int, gammas, t=tau) -> Callable[[], object]:
        model = fk.LevelDotModel(n, gammas[0] / n, symmetry=sym)
        g = np.asarray(gammas, dtype=np.float64) / n
        return lambda: fk.simulate(model, t, s, rng=1, g=g, workers=1)

    cases: dict[str, Callable[[], object]] = {"unit: plain GUE curve, N+1 = 1000": sim("GUE", 999, [46.0])}
    for f in families(cfg):
        cases[f"{f.key}, {len(f.gammas)} coupling(s)"] = sim(f.symmetry, f.n, f.gammas)
    cases["old scheme: one P_res run (1 tau point), N+1 = 1000"] = sim("GUE", 999, [1.0], t=np.array([100.0]))
    best = {k: (np.inf, np.inf) for k in cases}
    for _ in range(rounds):  # interleaved: every case sees the same machine load
        for k, fn in cases.items():
            c, w = _measure(fn, s)
            best[k] = (min(best[k][0], c), min(best[k][1], w))
    unit_cpu = best["unit: plain GUE curve, N+1 = 1000"][0] * UNIT
    fam_key = {f"{f.key}": f"{f.key}, {len(f.gammas)} coupling(s)" for f in families(cfg)}
    big = [fam_key[k] for k in ("GUE N=999", "GOE N=999", "GSE N=998")]
    small = [v for k, v in fam_key.items() if v not in big]
    plain = sum(best[k][0] for k in big) * PAPER
    extra = sum(best[k][0] for k in small) * PAPER
    old = (3 * best["unit: plain GUE curve, N+1 = 1000"][0] + best[fam_key["GOE N=999"]][0]
           + best[fam_key["GSE N=998"]][0] + 20 * best["old scheme: one P_res run (1 tau point), N+1 = 1000"][0]) * PAPER

    # One real reproduce (small sample count, no figure): its CPU time against the sum of its families.
    small_cfg = Figure2Config.from_preset("paper", samples=s, workers=1)
    with tempfile.TemporaryDirectory() as out:
        c0, w0 = time.process_time(), time.perf_counter()
        summ = reproduce(small_cfg, out, plot=False, progress=False)
        rep_cpu, rep_wall = time.process_time() - c0, time.perf_counter() - w0
    fam_cpu = summ["cpu_seconds"]

    rows = [{"case": k, "cpu_ms_per_sample": 1e3 * c, "wall_ms_per_sample": 1e3 * w,
             "in_unit_curves_per_1e4_samples": c * PAPER / unit_cpu} for k, (c, w) in best.items()]
    result = {
        "samples_per_measurement": s, "rounds": rounds, "unit_curve_cpu_seconds": unit_cpu,
        "per_sample": rows,
        "paper_cpu_seconds": plain, "paper_in_unit_curves": plain / unit_cpu,
        "paper_limit_cpu_seconds": plain + extra, "paper_limit_in_unit_curves": (plain + extra) / unit_cpu,
        "limit_cost_relative_to_plain": extra / plain,
        "old_scheme_paper_cpu_seconds": old, "old_scheme_in_unit_curves": old / unit_cpu,
        "paper_wall_minutes_on_2_idle_cores": plain / 2 / 60,
        "paper_limit_wall_minutes_on_2_idle_cores": (plain + extra) / 2 / 60,
        "reproduce_small_run": {"samples": s, "cpu_seconds": rep_cpu, "wall_seconds": rep_wall,
                                "cpu_seconds_inside_simulate": fam_cpu,
                                "overhead_cpu_seconds": rep_cpu - fam_cpu},
    }
    return result


def markdown(r: dict) -> str:
    lines = ["| simulate call | CPU ms/sample | wall ms/sample | unit curves per 10^4 samples |", "|---|---|---|---|"]
    for row in r["per_sample"]:
        lines.append(f"| {row['case']} | {row['cpu_ms_per_sample']:.2f} | {row['wall_ms_per_sample']:.2f} | "
                     f"{row['in_unit_curves_per_1e4_samples']:.1f} |")
    rs = r["reproduce_small_run"]
    lines += ["",
              f"- unit (one plain 1000-sample GUE curve): {r['unit_curve_cpu_seconds']:.1f} s CPU",
              f"- `reproduce --paper`: {r['paper_cpu_seconds']:.0f} s CPU = {r['paper_in_unit_curves']:.0f} unit curves "
              f"(before common random numbers: {r['old_scheme_in_unit_curves']:.0f}); "
              f"~{r['paper_wall_minutes_on_2_idle_cores']:.1f} min wall on 2 idle cores",
              f"- `--paper --limit`: {r['paper_limit_in_unit_curves']:.0f} unit curves, +{100 * r['limit_cost_relative_to_plain']:.0f} % "
              f"over the plain run; ~{r['paper_limit_wall_minutes_on_2_idle_cores']:.1f} min on 2 idle cores",
              f"- one real reproduce at {rs['samples']} samples: {rs['cpu_seconds']:.1f} s CPU, of which "
              f"{rs['cpu_seconds_inside_simulate']:.1f} s in simulate (overhead {rs['overhead_cpu_seconds']:.1f} s: "
              "theory curves and summary, independent of the sample count)"]
    return "\n".join(lines)
