"""Benchmark section `sampler`: the exact secular sampler against dense diagonalisation.

Side by side in one process, one core (BLAS pinned to one thread):

1. per class at N+1 = 1000 (GSE: 999 doublets, N = 1998 states, a 2000 x 2000
   complex matrix): seconds per realisation of
   - ``LevelDotModel.sample(method="secular")``,
   - ``LevelDotModel.sample(method="dense")`` (LAPACK dsyevr/zheevr from Cython),
   - the baseline a user would write: build the matrix with numpy and call
     ``numpy.linalg.eigh`` (eigenvectors needed for the weights);
2. the secular cost for N+1 = 250 .. 8000 and its fitted exponent (O(N^2) expected),
   with the split between the tridiagonal spectrum (dsterf) and the secular solve;
3. one realisation at N+1 = 1e5 (a dense complex matrix would need 160 GB);
4. (part ``ratios``) CPU-time ratios to one LAPACK dsterf call on a Dumitriu-Edelman
   matrix of the same size (the mean over 32 distinct matrices; 16 above N+1 = 2000),
   measured interleaved so that a shared machine slows all alike: one realisation of
   ``sample`` (timed as ``sample(32)`` / 32, simulate's default chunk; 16 above
   N+1 = 2000), the dot spectra of the same matrices in one ``tridiag_eigvals_rows``
   call (vector lanes where the CPU has AVX-512 or AVX2, and the interleaved scalar lanes),
   and the cost of each additional coupling g
   on the same bath per realisation (common random numbers: ``simulate(g=gs[:8])``
   minus ``simulate(g=gs[:1])`` over one chunk, divided by 7 and by the chunk's
   realisations; per g a secular solve, the survival-probability kernel on 241
   log-spaced times and the moments), and the secular solve alone as the sampler
   calls it (``arrowhead_rows_scaled``: one coupling, and the marginal cost of
   each of 8 couplings sharing its pass over the poles), on the reference path
   (``path="scalar"``, no vector lanes; same bits), and the one-coupling solver of
   ``fgrkern.cython_api`` (``arrowhead_rows``); and the kernel alone, P(t) on the
   241 times for one coupling as simulate computes it, per realisation.  Then the
   same realisation, dot spectra and secular solve on each code path this CPU can
   run (scalar, AVX2, AVX-512: what a CPU with only that instruction set gets;
   every path gives the same bits).

Usage: ``python bench/bench_sampler.py [--quick]``; ``run(args)`` returns the
raw results (also written to bench/results/sampler.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import sys
import time

import numpy as np

import fgrkern as fk
from fgrkern import _sampler, _samplers
from fgrkern._parallel import single_threaded_blas
from fgrkern.kernel import _survival_rows_1

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def _best(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def numpy_baseline(n, g, symmetry, rng):
    """What a user would write: the dense matrix of Eq. (1) and numpy.linalg.eigh."""
    lam = 1.0
    s = lam / math.sqrt(n)
    sw = math.sqrt(g / n) * lam
    if symmetry == "GOE":
        a = rng.standard_normal((n, n))
        h = np.zeros((n + 1, n + 1))
        h[1:, 1:] = s * (a + a.T) / math.sqrt(2)
        w = sw * rng.standard_normal(n)
        h[0, 1:] = h[1:, 0] = w
        ev, v = np.linalg.eigh(h)
        return ev, v[0] ** 2
    cn = lambda shape: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)
    if symmetry == "GUE":
        a = cn((n, n))
        h = np.zeros((n + 1, n + 1), complex)
        h[1:, 1:] = s * (a + a.conj().T) / math.sqrt(2)
        w = sw * cn(n)
        h[1:, 0] = w
        h[0, 1:] = w.conj()
        ev, v = np.linalg.eigh(h)
        return ev, np.abs(v[0]) ** 2
    L = n // 2
    p, q = cn((L, L)), cn((L, L))
    A = np.zeros((L + 1, L + 1), complex)
    B = np.zeros((L + 1, L + 1), complex)
    A[1:, 1:] = s * (p + p.conj().T) / math.sqrt(2)
    B[1:, 1:] = s * (q - q.T) / math.sqrt(2)
    wa, wb = sw * cn(L), sw * cn(L)
    A[0, 1:], A[1:, 0] = wa, wa.conj()
    B[0, 1:], B[1:, 0] = wb, -wb
    ev, v = np.linalg.eigh(np.block([[A, B], [-B.conj(), A.conj()]]))
    w0 = np.abs(v[0]) ** 2
    return 0.5 * (ev[0::2] + ev[1::2]), w0[0::2] + w0[1::2]


def section_classes(quick):
    rows = []
    gamma = 46.0
    for sym in ("GUE", "GOE", "GSE"):
        n = 1998 if sym == "GSE" else 999
        m = fk.LevelDotModel(n, gamma / n, sym)
        rng = np.random.default_rng(1)
        t_sec = _best(lambda: m.sample(5, rng=rng), 3 if quick else 5) / 5
        rep_dense = 1 if (sym == "GSE" or quick) else 3
        t_den = _best(lambda: m.sample(1, rng=rng, method="dense"), rep_dense)
        t_np = _best(lambda: numpy_baseline(n, gamma / n, sym, rng), rep_dense)
        rows.append(dict(symmetry=sym, n=n, M=m.n_eigen, dense_dim=m.dense_dimension(),
                         secular_s=t_sec, dense_lapack_s=t_den, numpy_eigh_s=t_np,
                         speedup_vs_dense=t_den / t_sec, speedup_vs_numpy=t_np / t_sec))
    return rows


def _dot_spectrum(rng, L, beta=2):
    """(callable, diagonal, off-diagonal): the spectrum of one Dumitriu-Edelman matrix of L levels.

    The draws are made once, so every call times the same dsterf-equivalent work;
    the scaled matrix (rows of shape (1, L)) is returned too.
    """
    diag = rng.standard_normal((1, L))
    off = np.zeros((1, L))
    off[0, : L - 1] = np.sqrt(rng.standard_gamma(0.5 * beta * np.arange(L - 1, 0, -1)))
    c = 2.0 / math.sqrt(2 * beta * L)

    def tri():
        d, o = diag * c, off * c
        _sampler.tridiag_eigvals_rows(d, o)
        return d

    return tri, diag * c, off * c


def section_scaling(quick):
    sizes = [250, 500, 1000, 2000, 4000] + ([] if quick else [8000])
    rows = []
    for M in sizes:
        L = M - 1
        m = fk.LevelDotModel(L, 20.0 / L, "GUE")
        rng = np.random.default_rng(2)
        k = max(1, 4000 // M)
        reps = 5 if M <= 2000 else (3 if M <= 4000 else 2)
        t_tot = _best(lambda: m.sample(k, rng=rng), reps) / k
        # components on one realisation's data
        tri, _, _ = _dot_spectrum(rng, L)

        t_tri = _best(tri, reps)
        poles = tri()
        z2 = rng.standard_gamma(1.0, (1, L)) * (20.0 / L) / L
        e = np.empty((1, M))
        w = np.empty((1, M))
        t_sol = _best(lambda: _sampler.arrowhead_rows(poles, z2, 0.0, e, w), reps)
        rows.append(dict(M=M, total_s=t_tot, dsterf_s=t_tri, secular_solve_s=t_sol))
    x = np.log([r["M"] for r in rows])
    fit = {}
    for key in ("total_s", "dsterf_s", "secular_solve_s"):
        y = np.log([r[key] for r in rows])
        sel = x >= math.log(1000)  # asymptotic range; small sizes carry O(N) overheads
        fit[key] = float(np.polyfit(x[sel], y[sel], 1)[0])
    return rows, fit


def _cpu_best(fns, repeats):
    """Best CPU time (time.process_time) of each callable, the callables interleaved."""
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - t0)
    return best


def _dumitriu_edelman_rows(rng, rows, L, beta=2):
    """``rows`` independent scaled Dumitriu-Edelman matrices (diagonal, off-diagonal), shape (rows, L)."""
    c = 2.0 / math.sqrt(2 * beta * L)
    diag = rng.standard_normal((rows, L)) * c
    off = np.zeros((rows, L))
    off[:, : L - 1] = np.sqrt(rng.standard_gamma(0.5 * beta * np.arange(L - 1, 0, -1), (rows, L - 1))) * c
    return diag, off


def section_ratios(quick, sizes=None):
    """Per-realisation and per-additional-coupling CPU time / one dsterf call."""
    sizes = sizes or [250, 500, 1000, 2000] + ([] if quick else [4000, 8000])
    n_g = 8  # couplings per bath for the marginal cost
    rows_r = 32  # realisations per measurement: simulate's default chunk
    tau_grid = np.geomspace(0.01, 100.0, 241)  # t / t_H
    rows = []
    for M in sizes:
        L = M - 1
        m = fk.LevelDotModel(L, 20.0 / L, "GUE")
        gs = [20.0 / L * 2.0 ** (k / 2) for k in range(n_g)]
        rng = np.random.default_rng(4)
        # distinct matrices: lanes running identical matrices would converge in lockstep
        R = rows_r if M <= 2000 else 16
        diag, off = _dumitriu_edelman_rows(rng, R, L)

        def spectra(**kw):
            def fn():
                d, o = diag.copy(), off.copy()
                _sampler.tridiag_eigvals_rows(d, o, **kw)
                return d
            return fn

        n_sample = rows_r if M <= 2000 else 16

        def crn(k):
            # the product path: one chunk of simulate(g=[...]) (sampler, kernel, moments)
            return lambda: fk.simulate(m, tau_grid, n_sample, rng=5, g=gs[:k], workers=1)

        poles = spectra()()[:1]
        u2 = rng.standard_gamma(1.0, (1, L))
        z2 = u2 * (gs[2] / L)
        e, w = np.empty((1, M)), np.empty((1, M))
        c8 = np.array(gs) / L
        e8, w8 = np.empty((n_g, 1, M)), np.empty((n_g, 1, M))

        def solve(path, k=1):
            # the sampler's solver: z2 = factor * u2 for k factors at once
            return lambda: _sampler.arrowhead_rows_scaled(poles, u2, c8[2:2 + k] if k == 1 else c8[:k], 0.0,
                                                          e8[:k], w8[:k], path=path)

        def solve_one_coupling():
            return _sampler.arrowhead_rows(poles, z2, 0.0, e, w)

        # P(t) alone, as simulate calls it per coupling: the O(N T) part of an extra coupling
        spec = m.sample(n_sample, rng=7)
        t_grid = np.ascontiguousarray(tau_grid * m.heisenberg_time)

        def kernel():
            return _survival_rows_1(spec.energies, spec.weights, t_grid, None)

        def on_path(path, fn):
            # the whole sampler on one code path ("auto" pointed at it)
            def run():
                _sampler.set_auto_path(path)
                try:
                    return fn()
                finally:
                    _sampler.set_auto_path("auto")
            return run

        paths = _sampler.paths()
        per_path = [f for p in paths for f in (on_path(p, lambda: m.sample(n_sample, rng=rng)),
                                              spectra(path=p), solve(p))]
        reps = 5 if M <= 1000 else (3 if M <= 2000 else 1)
        t_lapack, t_vec, t_scal, t_samp, t_1g, t_ng, t_sol, t_sol8, t_ref, t_1c, t_kern, *t_paths = _cpu_best(
            [spectra(lapack=True), spectra(), spectra(path="scalar"), lambda: m.sample(n_sample, rng=rng),
             crn(1), crn(n_g), solve("auto"), solve("auto", n_g), solve("scalar"), solve_one_coupling, kernel]
            + per_path, reps)
        t_tri = t_lapack / R
        t_one = t_samp / n_sample
        per_g = (t_ng - t_1g) / (n_g - 1) / n_sample
        rows.append(dict(M=M, dsterf_s=t_tri, realisation_s=t_one, extra_coupling_s=per_g,
                         solve_s=t_sol, solve_reference_path_s=t_ref, sample_rows=n_sample,
                         rows_per_block=_samplers.secular_block(m, n_sample), spectra_rows=R,
                         lanes_tridiag_over_dsterf=t_vec / t_lapack,
                         scalar_lanes_tridiag_over_dsterf=t_scal / t_lapack,
                         realisation_over_dsterf=t_one / t_tri, extra_coupling_over_dsterf=per_g / t_tri,
                         solve_over_dsterf=t_sol / t_tri, solve_reference_path_over_dsterf=t_ref / t_tri,
                         extra_coupling_solve_over_dsterf=(t_sol8 - t_sol) / (n_g - 1) / t_tri,
                         one_coupling_solver_over_dsterf=t_1c / t_tri,
                         kernel_over_dsterf=t_kern / n_sample / t_tri,
                         auto_path=_sampler.resolve_path(),
                         by_path={p: dict(realisation_over_dsterf=t_paths[3 * i] / n_sample / t_tri,
                                          spectra_over_dsterf=t_paths[3 * i + 1] / t_lapack,
                                          solve_over_dsterf=t_paths[3 * i + 2] / t_tri)
                                  for i, p in enumerate(paths)}))
    return rows


def section_huge(quick):
    M = 20_001 if quick else 100_000
    L = M - 1
    m = fk.LevelDotModel(L, 20.0 / L, "GUE")
    t0 = time.perf_counter()
    spec = m.sample(1, rng=3)
    t = time.perf_counter() - t0
    return dict(M=M, seconds=t, sum_w_minus_1=float(abs(spec.weights.sum() - 1)),
                ipr=float(spec.ipr()[0]))


def section_threads(quick):
    """Throughput with 1 and 2 threads calling sample() on independent seeds (GIL released)."""
    from concurrent.futures import ThreadPoolExecutor

    m = fk.LevelDotModel(999, 0.046, "GUE")
    k = 4 if quick else 8
    seeds = np.random.SeedSequence(5).spawn(2)
    t1 = _best(lambda: [m.sample(k, rng=s) for s in seeds], 2)
    with ThreadPoolExecutor(2) as ex:
        t2 = _best(lambda: list(ex.map(lambda s: m.sample(k, rng=s), seeds)), 2)
    return dict(realisations=2 * k, one_thread_s=t1, two_threads_s=t2, speedup=t1 / t2)


def _machine():
    import scipy
    from threadpoolctl import threadpool_info

    return dict(
        platform=platform.platform(), processor=platform.processor(), python=sys.version.split()[0],
        cpu_count=os.cpu_count(), numpy=np.__version__, scipy=scipy.__version__,
        fgrkern=fk.__version__, blas=[(i.get("internal_api"), i.get("version")) for i in threadpool_info()],
        threads=1, loadavg=os.getloadavg() if hasattr(os, "getloadavg") else None,
    )


def run(args) -> dict:
    quick = bool(getattr(args, "quick", False))
    parts = str(getattr(args, "parts", None) or "classes,scaling,ratios,huge,threads").split(",")
    out = dict(machine=_machine(), quick=quick)
    with single_threaded_blas():
        if "classes" in parts:
            out["classes"] = section_classes(quick)
        if "scaling" in parts:
            out["scaling"], out["scaling_exponent"] = section_scaling(quick)
        if "ratios" in parts:
            out["ratios"] = section_ratios(quick)
        if "huge" in parts:
            out["huge"] = section_huge(quick)
    if "threads" in parts:  # BLAS is not used on this path; the threads are ours
        out["threads"] = section_threads(quick)
    _report(out)
    RESULTS.mkdir(exist_ok=True)
    name = "sampler.json" if len(parts) == 5 else f"sampler_{'_'.join(parts)}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=1))
    return out


def _report(out):
    if "classes" in out:
        _report_classes(out["classes"])
    if "scaling" in out:
        _report_scaling(out["scaling"], out["scaling_exponent"])
    if "ratios" in out:
        _report_ratios(out["ratios"])
    if "huge" in out:
        h = out["huge"]
        print(f"\none realisation at N+1 = {h['M']}: {h['seconds']:.1f} s (|sum w - 1| = {h['sum_w_minus_1']:.1e})")
    if "threads" in out:
        th = out["threads"]
        print(f"two threads vs one ({th['realisations']} realisations at N+1 = 1000): x{th['speedup']:.2f}")


def _report_classes(rows):
    print("\n## sampler: secular vs dense, one core, N+1 = 1000 (GSE: 999 doublets)\n")
    print("| class | dense dim | secular [ms] | dense LAPACK [s] | numpy eigh [s] | x dense | x numpy |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['symmetry']} | {r['dense_dim']} | {1e3 * r['secular_s']:.1f} | {r['dense_lapack_s']:.3f} | "
              f"{r['numpy_eigh_s']:.3f} | {r['speedup_vs_dense']:.0f} | {r['speedup_vs_numpy']:.0f} |")


def _report_ratios(rows):
    print("\n## CPU time / one dsterf call (GUE, one core)\n")
    print("| N+1 | dsterf [ms] | realisation / dsterf | rows sampled | dot spectra / dsterf "
          "| same, scalar lanes / dsterf | each extra coupling / dsterf | secular solve / dsterf "
          "| its extra coupling / dsterf | reference path / dsterf | one-coupling solver / dsterf "
          "| kernel, 241 τ / dsterf |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['M']} | {1e3 * r['dsterf_s']:.2f} | {r['realisation_over_dsterf']:.3f} | "
              f"{r['sample_rows']} | {r['lanes_tridiag_over_dsterf']:.3f} | "
              f"{r['scalar_lanes_tridiag_over_dsterf']:.3f} | "
              f"{r['extra_coupling_over_dsterf']:.3f} | {r['solve_over_dsterf']:.3f} | "
              f"{r['extra_coupling_solve_over_dsterf']:.3f} | {r['solve_reference_path_over_dsterf']:.3f} | "
              f"{r['one_coupling_solver_over_dsterf']:.3f} | {r['kernel_over_dsterf']:.3f} |")
    paths = list(rows[0]["by_path"]) if rows else []
    print(f"\n## By code path (the whole sampler forced onto each; automatic here: {rows[0]['auto_path']})\n")
    print("| N+1 | " + " | ".join(f"{p}: realisation | {p}: dot spectra | {p}: secular solve" for p in paths) + " |")
    print("|---|" + "---|---|---|" * len(paths))
    for r in rows:
        cells = [f"{b['realisation_over_dsterf']:.3f} | {b['spectra_over_dsterf']:.3f} | {b['solve_over_dsterf']:.3f}"
                 for b in r["by_path"].values()]
        print(f"| {r['M']} | " + " | ".join(cells) + " |")


def _report_scaling(rows, ex):
    print("\n| N+1 | secular total [ms] | dsterf [ms] | secular solve [ms] |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['M']} | {1e3 * r['total_s']:.1f} | {1e3 * r['dsterf_s']:.1f} | {1e3 * r['secular_solve_s']:.1f} |")
    print(f"\nfitted exponent (N+1 >= 1000): total {ex['total_s']:.2f}, dsterf {ex['dsterf_s']:.2f}, "
          f"solve {ex['secular_solve_s']:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    ap.add_argument("--parts", default=None, help="comma-separated subset of classes,scaling,ratios,huge,threads")
    run(ap.parse_args())
