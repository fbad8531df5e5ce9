"""Benchmark section `kernel`: fgrkern.survival_probability vs plain numpy.

P(t) = |sum_a w_a exp(-i e_a t)|^2 for one realisation of M = 1000 eigenpairs
on T = 200 log-spaced and T = 2000 uniform times (single thread), and for 64
realisations with 1 and 2 worker threads.  Times span 0.01 .. 2e4, i.e. up to
10 Heisenberg times 2N/lam of an N = 1000 dot, |e t| up to 4e4.

Baselines (all in one process, BLAS pinned to one thread):
  numpy-exp     np.abs(np.exp(-1j*np.outer(t, e)) @ w)**2   (what users write)
  numpy-cossin  real cos/sin of the phase matrix, two real matrix-vector products
  numpy-blocked uniform grids only: t = t_j + r dt factorises the phase matrix,
                S[j, r] = sum_a (w_a e^{-i e_a t_j}) e^{-i e_a r dt}, one complex
                matrix product with ~2 sqrt(T) M exponentials instead of T M
"""

from __future__ import annotations

import time

import numpy as np

from benchlib import best_time, blas_threads

import fgrkern


def numpy_exp(e, w, t):
    return np.abs(np.exp(-1j * np.outer(t, e)) @ w) ** 2


def numpy_cossin(e, w, t):
    ph = np.outer(t, e)
    c = np.cos(ph) @ w
    s = np.sin(ph) @ w
    return c * c + s * s


def numpy_blocked(e, w, t):
    """Uniform grids only (t[k] = t[0] + k dt)."""
    T = t.shape[0]
    dt = (t[-1] - t[0]) / (T - 1)
    B = max(1, int(round(np.sqrt(T))))
    J = -(-T // B)
    A = np.exp(-1j * np.outer(t[0] + dt * B * np.arange(J), e)) * w  # (J, M)
    R = np.exp(-1j * np.outer(dt * np.arange(B), e))  # (B, M)
    S = A @ R.T  # (J, B): S[j, r] = sum at t_0 + (j B + r) dt
    return (S.real ** 2 + S.imag ** 2).ravel()[:T]


def realisation(rng, M, rows=None):
    shape = (M,) if rows is None else (rows, M)
    # semicircle of radius 2 (the dot's density of states), weights ~ Porter-Thomas-like
    e = 2.0 * np.cos(np.pi * rng.random(shape))
    w = rng.exponential(size=shape)
    return e, w / w.sum(axis=-1, keepdims=True)


def run(args) -> dict:
    rng = np.random.default_rng(2022)
    quick = getattr(args, "quick", False)
    repeat = args.repeat
    mins = getattr(args, "min_seconds", 0.05)
    M = 200 if quick else 1000
    rows_multi = 8 if quick else 64
    e, w = realisation(rng, M)
    t_log = np.geomspace(1e-2, 2e4, 200)
    t_uni = np.linspace(0.0, 2e4, 2000)
    rows = []

    cpu = time.thread_time  # single-threaded rows: CPU time of this thread
    with blas_threads(1):
        for label, t, baselines in (
            ("log grid", t_log, {"numpy-exp": numpy_exp, "numpy-cossin": numpy_cossin}),
            ("uniform grid", t_uni, {"numpy-exp": numpy_exp, "numpy-cossin": numpy_cossin,
                                     "numpy-blocked": numpy_blocked}),
        ):
            ours = fgrkern.survival_probability(e, w, t, workers=1)
            diff = max(float(np.max(np.abs(f(e, w, t) - ours))) for f in baselines.values())
            rows.append({
                "case": f"M={M}, T={t.size} {label}",
                "threads": 1,
                "params": {"M": M, "T": int(t.size), "grid": label, "rows": 1},
                "fgrkern": {"label": "survival_probability",
                            "seconds": best_time(lambda: fgrkern.survival_probability(e, w, t, workers=1),
                                                 repeat, mins, clock=cpu)},
                "baselines": {k: best_time(lambda f=f: f(e, w, t), repeat, mins, clock=cpu)
                              for k, f in baselines.items()},
                "clock": "thread CPU time",
                "max_abs_diff": diff,
            })

        E, W = realisation(rng, M, rows_multi)
        base = {"numpy-cossin (loop)": best_time(
            lambda: [numpy_cossin(E[i], W[i], t_log) for i in range(rows_multi)], max(2, repeat // 2), mins)}
        ref = np.array([numpy_exp(E[i], W[i], t_log) for i in range(rows_multi)])
        for workers in (1, 2):
            ours = fgrkern.survival_probability(E, W, t_log, workers=workers)
            rows.append({
                "case": f"{rows_multi} rows x M={M}, T=200 log grid",
                "threads": workers,
                "params": {"M": M, "T": 200, "grid": "log grid", "rows": rows_multi},
                "fgrkern": {"label": f"workers={workers}",
                            "seconds": best_time(
                                lambda workers=workers: fgrkern.survival_probability(
                                    E, W, t_log, workers=workers), max(2, repeat // 2), mins)},
                "baselines": base,
                "clock": "wall time",
                "max_abs_diff": float(np.max(np.abs(ours - ref))),
            })

    def vs_best(row):
        return min(row["baselines"].values()) / row["fgrkern"]["seconds"]

    speedup = rows[-2]["fgrkern"]["seconds"] / rows[-1]["fgrkern"]["seconds"]
    notes = [
        f"targets: >= 3x vs best numpy on the log grid (reached {vs_best(rows[0]):.1f}x); "
        f">= 10x on the uniform grid (reached {vs_best(rows[1]):.1f}x vs the best numpy, "
        f"{rows[1]['baselines']['numpy-exp'] / rows[1]['fgrkern']['seconds']:.1f}x vs numpy-exp)",
        f"threads: 2 workers vs 1 worker speed-up {speedup:.2f} on {rows_multi} rows",
    ]
    return {"rows": rows, "notes": notes, "speedup_2_workers": speedup}
