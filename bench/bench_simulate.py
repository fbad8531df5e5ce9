"""Benchmark section `simulate`: ensemble averages at the paper's size.

GUE, N + 1 = 1000, 200 log-spaced tau in [1e-3, 10].  Measures samples/s of
``fgrkern.simulate`` on 1 and 2 workers (parallel efficiency), the time the
paper's 1e4-sample curve takes, and the loop a user would otherwise write
(dense numpy ``eigh`` of the (N+1) x (N+1) Hamiltonian per realisation plus
``|exp(-i t e) @ w|^2``), side by side in the same process.

Run:  python bench/bench_simulate.py [--quick]   (or via bench/run.py simulate)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

N = 999          # dot states; N + 1 = 1000
G_COUPLING = 5.0 / N
N_TAU = 200
PAPER_SAMPLES = 10_000


def _baseline_sample(rng: np.random.Generator, n: int, g: float, t: np.ndarray) -> tuple[np.ndarray, float]:
    """What a user writes without fgrkern: build Eq. (1) densely, eigh, sum over eigenpairs."""
    a = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(2)
    h = (a + a.conj().T) / np.sqrt(2 * n)
    w = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * np.sqrt(g / (2 * n))
    m = np.zeros((n + 1, n + 1), dtype=complex)
    m[1:, 1:] = h
    m[1:, 0] = w
    m[0, 1:] = w.conj()
    e, v = np.linalg.eigh(m)
    wt = np.abs(v[0]) ** 2
    P = np.abs(np.exp(-1j * np.outer(t, e)) @ wt) ** 2
    return P, float(np.sum(wt**2))


def _time_min(fn, repeats: int) -> float:
    return _times_min(fn, repeats)[0]


def _times_min(fn, repeats: int) -> tuple[float, float]:
    """(min wall seconds, min process CPU seconds) over repeats.  CPU time is
    robust to other load on a shared machine; wall time shows parallelism."""
    best, best_cpu = np.inf, np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu


def run(args) -> dict:
    import fgrkern
    from threadpoolctl import threadpool_info, threadpool_limits

    quick = bool(getattr(args, "quick", False))
    n_samples = 64 if quick else 256
    repeats = 2 if quick else 3
    n_base = 2 if quick else 4

    model = fgrkern.LevelDotModel(N, G_COUPLING, "GUE")
    tau = np.geomspace(1e-3, 10.0, N_TAU)
    t = model.t_from_tau(tau)

    fgrkern.simulate(model, tau, 8, rng=0, workers=1)  # warm-up (imports, page faults)
    rates, cpu_rates = {}, {}
    for workers in (1, 2):
        sec, cpu = _times_min(lambda: fgrkern.simulate(model, tau, n_samples, rng=1, workers=workers), repeats)
        rates[workers] = n_samples / sec
        cpu_rates[workers] = n_samples / cpu

    # Same seed, 1 vs 2 workers: bitwise equal (reported, not just asserted in tests).
    r1 = fgrkern.simulate(model, tau, 64, rng=3, workers=1)
    r2 = fgrkern.simulate(model, tau, 64, rng=3, workers=2)
    identical = r1.mean.tobytes() == r2.mean.tobytes() and r1.p_res == r2.p_res

    rng = np.random.default_rng(5)
    with threadpool_limits(limits=1):
        base_sec = _time_min(lambda: [_baseline_sample(rng, N, G_COUPLING, t) for _ in range(n_base)], 1) / n_base
    base_rate = 1.0 / base_sec

    out = {
        "section": "simulate",
        "config": {"symmetry": "GUE", "n_plus_1": N + 1, "g": G_COUPLING, "gamma": G_COUPLING * N,
                   "n_tau": N_TAU, "tau_range": [1e-3, 10.0], "n_samples_timed": n_samples,
                   "repeats": repeats, "timing": "min over repeats"},
        "samples_per_s": {"fgrkern_1_worker": rates[1], "fgrkern_2_workers": rates[2],
                          "baseline_numpy_dense_1_thread": base_rate},
        "samples_per_cpu_s": {"fgrkern_1_worker": cpu_rates[1], "fgrkern_2_workers": cpu_rates[2]},
        "parallel_efficiency_2_workers": rates[2] / (2 * rates[1]),
        # Wall time of 1e4 samples if both cores were ours (CPU cost per sample / 2).
        "paper_curve_1e4_samples_cpu_bound_2_cores_s": PAPER_SAMPLES / cpu_rates[2] / 2,
        "speedup_vs_baseline": {"1_worker": rates[1] / base_rate, "2_workers": rates[2] / base_rate},
        "paper_curve_1e4_samples_s": {"1_worker": PAPER_SAMPLES / rates[1], "2_workers": PAPER_SAMPLES / rates[2],
                                      "baseline": PAPER_SAMPLES / base_rate},
        "bitwise_identical_1_vs_2_workers": bool(identical),
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                    "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    "processor": platform.processor(),
                    # The machine is shared: a load above the core count means
                    # other work competed (the 2-worker figure suffers most).
                    "loadavg_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "versions": {"fgrkern": fgrkern.__version__, "numpy": np.__version__},
        "blas": [{k: i.get(k) for k in ("internal_api", "version", "num_threads")} for i in threadpool_info()],
    }
    return out


def markdown(res: dict) -> str:
    s = res["samples_per_s"]
    p = res["paper_curve_1e4_samples_s"]
    b = s["baseline_numpy_dense_1_thread"]
    rows = [
        "| GUE N+1=1000, 200 tau | samples/s | ratio vs baseline | 1e4 samples |",
        "|---|---:|---:|---:|",
        f"| numpy dense eigh loop (1 thread) | {b:.2f} | 1 | {p['baseline']:.0f} s |",
        f"| fgrkern.simulate, 1 worker | {s['fgrkern_1_worker']:.1f} | {s['fgrkern_1_worker'] / b:.0f} | {p['1_worker']:.0f} s |",
        f"| fgrkern.simulate, 2 workers | {s['fgrkern_2_workers']:.1f} | {s['fgrkern_2_workers'] / b:.0f} | {p['2_workers']:.0f} s |",
        "",
        f"CPU cost: {1e3 / res['samples_per_cpu_s']['fgrkern_1_worker']:.1f} ms/sample (1 worker), "
        f"{1e3 / res['samples_per_cpu_s']['fgrkern_2_workers']:.1f} ms/sample (2 workers) -> 1e4 samples on 2 free "
        f"cores: {res['paper_curve_1e4_samples_cpu_bound_2_cores_s']:.0f} s; load average {res['machine']['loadavg_at_end']}",
        f"parallel efficiency (2 workers): {res['parallel_efficiency_2_workers']:.2f}; "
        f"bitwise identical 1 vs 2 workers: {res['bitwise_identical_1_vs_2_workers']}",
    ]
    return "\n".join(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and repeats")
    args = ap.parse_args(argv)
    res = run(args)
    print(markdown(res))
    outdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "simulate.json"), "w") as fh:
        json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
