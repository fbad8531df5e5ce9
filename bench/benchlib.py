"""Shared helpers of the benchmark sections (timing, machine and version info).

Not a section itself: sections are the ``bench_*.py`` modules next to it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import time
from typing import Callable, Iterator


def best_time(func: Callable[[], object], repeat: int = 7, min_seconds: float = 0.05,
              clock: Callable[[], float] = time.perf_counter) -> float:
    """Minimum over ``repeat`` rounds of the mean time of one call, in seconds.

    Each round calls ``func`` often enough to last ``min_seconds``: on a shared,
    noisy machine the minimum is the least disturbed estimate.  ``clock`` is
    wall time by default; single-threaded comparisons may pass
    ``time.thread_time`` (CPU time of the calling thread), which does not
    count the time the thread waits for a core another process holds, so a
    long baseline is not penalised more by preemption than a short kernel.
    """
    func()  # warm-up: caches, lazy imports, thread-pool start
    t0 = clock()
    func()
    once = max(clock() - t0, 1e-6)
    number = max(1, int(min_seconds / once))
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = clock()
            for _ in range(number):
                func()
            best = min(best, (clock() - t0) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Limit BLAS (and OpenMP) pools to ``n`` threads inside the block."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n):
        yield


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "system": platform.system(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        # other load on a shared machine skews the figures (threads most)
        "load_average_1_5_15min": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
                if k in os.environ},
    }


def versions() -> dict:
    import numpy
    import scipy

    import fgrkern

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "fgrkern": fgrkern.__version__,
    }


def blas_info() -> list[dict]:
    """The BLAS/OpenMP pools numpy/scipy loaded (kernel architecture, threads)."""
    from threadpoolctl import threadpool_info

    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    return [{k: d.get(k) for k in keep} for d in threadpool_info()]
