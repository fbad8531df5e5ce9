"""Private: thread-level parallelism over independent rows / chunks.

Kernels release the GIL, so a plain thread pool scales.  BLAS threads are
pinned to one inside the pool so that our threads and OpenBLAS's do not
oversubscribe the cores.

Work is handed out in small chunks whose size adapts to a wall-time target
(:data:`CHUNK_SECONDS`): a compiled call cannot be interrupted, so bounding
the length of each call is what keeps Ctrl-C (KeyboardInterrupt) responsive
and lets an error in one chunk stop the others promptly.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

#: Target wall time of one ``func(start, stop)`` call, in seconds.  Small
#: enough that an interrupt is handled within ~0.1 s, large enough that the
#: per-call overhead (a few microseconds) is negligible.
CHUNK_SECONDS = 0.02


class Cancelled(Exception):
    """A computation stopped early because its caller set the stop flag (see :func:`stop_scope`)."""


_local = threading.local()


@contextlib.contextmanager
def stop_scope(event: threading.Event | None) -> Iterator[None]:
    """Make ``event`` the stop flag of long computations run by this thread.

    A compiled call cannot be interrupted, and a KeyboardInterrupt reaches
    only the main thread: worker threads learn that their result is no longer
    wanted from this flag, which the sampler (between blocks of rows) and
    :func:`run_chunks` (between chunks) check through :func:`check_stop`.
    """
    prev = getattr(_local, "stop", None)
    _local.stop = event
    try:
        yield
    finally:
        _local.stop = prev


def current_stop() -> threading.Event | None:
    """The stop flag of the calling thread (None outside :func:`stop_scope`)."""
    return getattr(_local, "stop", None)


def check_stop() -> None:
    """Raise :class:`Cancelled` if the calling thread's stop flag is set."""
    ev = getattr(_local, "stop", None)
    if ev is not None and ev.is_set():
        raise Cancelled("stopped by the caller")


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


class _Dispenser:
    """Hands out contiguous ranges of [0, n); thread-safe; can be stopped."""

    def __init__(self, n: int, nthreads: int, min_chunk: int, max_chunk: int,
                 cancel: threading.Event | None = None) -> None:
        self.n = n
        self.cancel = cancel
        self.max_chunk = max_chunk
        self.nthreads = nthreads
        self.min_chunk = min_chunk
        self.next = 0
        self.stopped = False
        self.lock = threading.Lock()

    def take(self, size: int) -> tuple[int, int] | None:
        with self.lock:
            if self.stopped or self.next >= self.n:
                return None
            a = self.next
            # Near the end, shrink chunks so that all threads finish together.
            fair = -(-(self.n - a) // self.nthreads)
            b = min(self.n, a + max(self.min_chunk, min(size, fair, self.max_chunk)))
            self.next = b
            return a, b

    def stop(self) -> None:
        with self.lock:
            self.stopped = True

    def work(self, func: Callable[[int, int], None]) -> None:
        size = self.min_chunk
        while True:
            if self.cancel is not None and self.cancel.is_set():
                # the caller's stop flag (not an error of ours): leave at this chunk boundary
                self.stop()
                raise Cancelled("stopped by the caller")
            rng = self.take(size)
            if rng is None:
                return
            t0 = time.perf_counter()
            try:
                func(*rng)
            except BaseException:
                self.stop()
                raise
            dt = time.perf_counter() - t0
            # Grow geometrically towards the target; shrink if a chunk overshot.
            if dt < 0.5 * CHUNK_SECONDS:
                size *= 2
            elif dt > 2.0 * CHUNK_SECONDS:
                size = max(self.min_chunk, size // 2)


def run_chunks(
    func: Callable[[int, int], None], n: int, workers: int, min_chunk: int = 1, max_chunk: int | None = None
) -> None:
    """Call ``func(start, stop)`` over [0, n) split into contiguous chunks.

    The split only decides who computes which rows; every row is computed by
    the same code, so the output does not depend on ``workers`` (nor on the
    chunk sizes, which adapt to the measured speed).  ``func`` must therefore
    treat rows independently.  ``max_chunk`` caps the rows per call (e.g. to
    bound per-chunk temporaries).

    The calling thread works too and regains control between chunks, so a
    KeyboardInterrupt is raised within about one chunk's time
    (:data:`CHUNK_SECONDS`); the other threads then finish their current chunk
    and stop before the exception propagates.  The first exception raised by
    any chunk is re-raised the same way.  A stop flag of the calling thread
    (:func:`stop_scope`) is checked by every thread between chunks and raises
    :class:`Cancelled`.
    """
    if n <= 0:
        return
    nthreads = max(1, min(workers, n // max(1, min_chunk)))
    disp = _Dispenser(n, nthreads, max(1, min_chunk), max(1, min_chunk, max_chunk or n), current_stop())
    if nthreads == 1:
        disp.work(func)
        return
    pool = ThreadPoolExecutor(max_workers=nthreads - 1, thread_name_prefix="fgrkern")
    futures = []
    try:
        futures = [pool.submit(disp.work, func) for _ in range(nthreads - 1)]
        disp.work(func)
        for f in futures:
            f.result()
    except BaseException:
        disp.stop()
        raise
    finally:
        # Helpers stop at their next chunk boundary, so this wait is short;
        # no thread may still write into the caller's output after we return.
        pool.shutdown(wait=True, cancel_futures=True)
