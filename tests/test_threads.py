"""Thread safety and GIL release of the compiled entry points.

1. Hammering: many Python threads call the same entry point at once, on
   shared and on distinct inputs, with internal worker threads too; every
   result must equal, bitwise, the result of the same call made serially.
   A data race (shared scratch, static state, a non-reentrant LAPACK
   workspace) shows up as a mismatch.
2. GIL release: while one thread is inside a long compiled call, a pure
   Python thread must make progress.  No wall-time threshold: the counter
   thread timestamps its own iterations, and the test asserts that some of
   those timestamps fall in the middle half of the interval the call spent
   in compiled code.  With the GIL held the counter thread cannot run at all
   in that window (the compiled loop never checks the eval breaker).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fgrkern

N_THREADS = 8


def _kernel_jobs(n_jobs=24):
    """Inputs of various shapes and grid kinds, deterministic."""
    rng = np.random.default_rng(12345)
    jobs = []
    for i in range(n_jobs):
        R, M = int(rng.integers(1, 6)), int(rng.integers(1, 300))
        e = rng.normal(size=(R, M))
        w = rng.random((R, M))
        t = np.linspace(0, 40, 257) if i % 2 else np.sort(rng.uniform(-40, 40, 131))
        jobs.append((e, w, t, int(rng.integers(1, 4))))
    return jobs


def _hammer(fn, jobs, repeats=3):
    """Run fn(job) serially, then all jobs x repeats concurrently; compare bitwise."""
    serial = [fn(j) for j in jobs]
    order = [i for _ in range(repeats) for i in range(len(jobs))]
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        results = list(pool.map(lambda i: (i, fn(jobs[i])), order))
    for i, res in results:
        ref = serial[i]
        if isinstance(ref, tuple):
            for a, b in zip(res, ref):
                np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_array_equal(res, ref)


def test_kernel_hammer_distinct_inputs():
    jobs = _kernel_jobs()
    _hammer(lambda j: fgrkern.survival_probability(j[0], j[1], j[2], workers=j[3], return_ipr=True), jobs)


def test_kernel_hammer_shared_input_and_broadcasting():
    """All threads read the same arrays (including a broadcast energies row)."""
    rng = np.random.default_rng(7)
    e = rng.normal(size=600)
    w = rng.random((9, 600))
    t = np.linspace(0, 100, 1000)
    jobs = [(e, w, t, k % 3 + 1) for k in range(16)]
    _hammer(lambda j: fgrkern.survival_probability(j[0], j[1], j[2], workers=j[3]), jobs)


# --------------------------------------------------------------------------
# GIL release
# --------------------------------------------------------------------------
def _counter_ticks_during(call):
    """Run ``call()`` in this thread while a pure-Python thread records
    perf_counter timestamps; return (t0, t1, ticks)."""
    ticks: list[float] = []
    stop = threading.Event()
    started = threading.Event()

    def counter():
        started.set()
        n = 0
        while not stop.is_set():
            n += 1
            if n % 256 == 0:
                ticks.append(time.perf_counter())

    th = threading.Thread(target=counter)
    th.start()
    started.wait()
    try:
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
    finally:
        stop.set()
        th.join()
    return t0, t1, ticks


def _assert_gil_released(call, repeats=3):
    """Some counter tick must land in the middle half of the call.

    Retries a couple of times only to absorb the case where the OS did not
    schedule the counter thread at all (a loaded machine); a held GIL fails
    every attempt deterministically.
    """
    for _ in range(repeats):
        t0, t1, ticks = _counter_ticks_during(call)
        lo, hi = t0 + 0.25 * (t1 - t0), t1 - 0.25 * (t1 - t0)
        inside = sum(lo < x < hi for x in ticks)
        if inside > 0:
            return
    pytest.fail(f"no Python progress during the middle of a {t1 - t0:.3f} s compiled call: GIL held")


def _gil_released(call, repeats=3):
    try:
        _assert_gil_released(call, repeats)
    except pytest.fail.Exception:
        return False
    return True


def test_gil_detector_detects_a_gil_holding_call():
    """Negative control: list.sort on floats runs in C *with* the GIL held and
    never checks the eval breaker; the detector must say so."""
    data = np.random.default_rng(0).random(1_500_000).tolist()
    assert not _gil_released(lambda: sorted(data), repeats=1)
    assert _gil_released(lambda: time.sleep(0.2))


def _long_kernel_args(total_work=4e7):
    rng = np.random.default_rng(0)
    M = 2000
    T = int(total_work // M)
    return rng.normal(size=M), rng.random(M), np.sort(rng.uniform(0, 1000, T))


@pytest.mark.parametrize("workers", [1, 2])
def test_kernel_releases_gil(workers):
    e, w, t = _long_kernel_args()
    _assert_gil_released(lambda: fgrkern.survival_probability(e, w, t, workers=workers, grid="general"))


def test_kernel_two_threads_overlap():
    """Two threads in long kernel calls run at the same time: the interval each
    spends in compiled code (bracketed by a barrier) intersects the other's,
    and in the middle of each a pure-Python counter still runs."""
    e, w, t = _long_kernel_args(2e7)
    barrier = threading.Barrier(2)
    spans: dict[int, tuple[float, float]] = {}

    def run(i):
        barrier.wait()
        a = time.perf_counter()
        fgrkern.survival_probability(e, w, t, workers=1, grid="general")
        spans[i] = (a, time.perf_counter())

    def both():
        th = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for x in th:
            x.start()
        for x in th:
            x.join()

    _assert_gil_released(both)
    (a0, a1), (b0, b1) = spans[0], spans[1]
    assert max(a0, b0) < min(a1, b1), f"calls did not overlap: {spans}"


# --------------------------------------------------------------------------
# sampler: LevelDotModel.sample (secular C solver, LAPACK dsterf / syevr / heevr)
# --------------------------------------------------------------------------
SAMPLER_CASES = [
    (sym, bath, method)
    for sym in ("GUE", "GOE", "GSE")
    for bath, method in (("wigner-dyson", "secular"), ("poisson", "secular"), ("wigner-dyson", "dense"))
]


def test_sampler_hammer():
    """Concurrent sample() calls with private seeds equal the serial draws bitwise
    (no shared scratch in the secular solver, reentrant LAPACK workspaces)."""
    jobs = [(sym, bath, method, seed) for (sym, bath, method) in SAMPLER_CASES for seed in (1, 2)]

    def fn(j):
        sym, bath, method, seed = j
        n = 40 if method == "dense" else 120
        spec = fgrkern.LevelDotModel(n, 0.3, sym, bath=bath).sample(6, rng=seed, method=method)
        return spec.energies, spec.weights

    _hammer(fn, jobs, repeats=2)


def test_sampler_shared_model_object():
    """One model object used by all threads at once (it must be immutable in use)."""
    model = fgrkern.LevelDotModel(200, 0.5, "GOE", bath=np.linspace(-2, 2, 200))

    def fn(seed):
        s = model.sample(5, rng=seed)
        return s.energies, s.weights

    _hammer(fn, list(range(12)))


@pytest.mark.parametrize("method, n, size", [("secular", 800, 16), ("dense", 240, 4)])
def test_sampler_releases_gil(method, n, size):
    from fgrkern._parallel import single_threaded_blas

    model = fgrkern.LevelDotModel(n, 0.5, "GUE")
    # one BLAS thread: OpenBLAS's own pool spinning on a loaded 2-core machine
    # would only add noise (and seconds) to what is a test of our wrappers
    with single_threaded_blas():
        model.sample(1, rng=0, method=method)  # warm-up (LAPACK workspace queries, page faults)
        _assert_gil_released(lambda: model.sample(size, rng=1, method=method))


# --------------------------------------------------------------------------
# simulate: several simulations at once in one process
# --------------------------------------------------------------------------
def test_simulate_concurrent_calls_bitwise():
    """Several simulate() calls from different threads (each with its own
    internal pool) equal their serial results bitwise; BLAS pinning must not
    be undone by one call while another runs."""
    model = fgrkern.LevelDotModel(60, 0.4, "GOE")
    tau = np.linspace(0.0, 2.0, 9)
    jobs = [(seed, workers, method) for seed in (1, 2, 3) for workers in (1, 2) for method in ("secular", "dense")]

    def fn(j):
        seed, workers, method = j
        r = fgrkern.simulate(model, tau, 24, rng=seed, workers=workers, method=method, chunk_size=5)
        return r.mean, r.sem, np.atleast_1d(r.p_res)

    _hammer(fn, jobs, repeats=1)


# --------------------------------------------------------------------------
# theory: p_tau quadrature and p_res (C, GIL released, run_chunks)
# --------------------------------------------------------------------------
def test_theory_hammer():
    rng = np.random.default_rng(11)
    jobs = [(rng.uniform(0, 3, 40), rng.uniform(0.01, 50, 40), k % 3 + 1) for k in range(12)]

    def fn(j):
        tau, gamma, workers = j
        return fgrkern.theory.p_tau(tau, gamma, workers=workers), fgrkern.theory.p_res(gamma, workers=workers)

    _hammer(fn, jobs, repeats=2)


@pytest.mark.parametrize("workers", [1, 2])
def test_p_tau_releases_gil(workers):
    tau = np.linspace(0.05, 4.0, 600)
    _assert_gil_released(lambda: fgrkern.theory.p_tau(tau, 20.0, workers=workers))
