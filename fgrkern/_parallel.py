"""Private: thread-level parallelism over independent rows / chunks.

Kernels release the GIL, so a plain thread pool scales.  BLAS threads are
pinned to one inside the pool so that our threads and OpenBLAS's do not
oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS/OpenMP pools to one thread for the duration of the block."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1):
        yield


def run_chunks(func: Callable[[int, int], None], n: int, workers: int, min_chunk: int = 1) -> None:
    """Call ``func(start, stop)`` over [0, n) split into contiguous chunks.

    The split only decides who computes which rows; every row is computed by
    the same code, so the output does not depend on ``workers``.
    """
    if n <= 0:
        return
    nthreads = max(1, min(workers, n // max(1, min_chunk)))
    if nthreads == 1:
        func(0, n)
        return
    bounds = [n * i // nthreads for i in range(nthreads + 1)]
    with ThreadPoolExecutor(max_workers=nthreads) as pool:
        futures = [pool.submit(func, bounds[i], bounds[i + 1]) for i in range(nthreads)]
        for f in futures:
            f.result()
