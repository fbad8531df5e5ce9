"""Private: where work runs -- threads over rows, executors over chunks, stop flags, BLAS pinning.

Kernels release the GIL, so a plain thread pool scales.  :func:`run_chunks`
splits rows of one compiled computation over threads; :class:`ChunkScheduler`
submits the chunks of a simulation to any ``concurrent.futures.Executor``
through a bounded window.  Callers pin BLAS to one thread
(:func:`blas_pinned`) so that our threads and OpenBLAS's do not oversubscribe
the cores.

Row work is handed out in small chunks whose size adapts to a wall-time target
(:data:`CHUNK_SECONDS`): a compiled call cannot be interrupted, so bounding
the length of each call is what keeps Ctrl-C (KeyboardInterrupt) responsive
and lets an error in one chunk stop the others promptly.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from typing import Callable, Generic, Iterable, Iterator, TypeVar

R = TypeVar("R")

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


#: Stop flags of the runs in this process, by token.  A worker thread looks its
#: run's flag up here (an Event does not pickle); in another process (process
#: or cluster executors) there is none and the chunk runs to its end.
_STOP_FLAGS: dict[int, threading.Event] = {}
_stop_tokens = itertools.count()


def register_stop() -> tuple[int, threading.Event]:
    """A new stop flag and the token that finds it (:func:`stop_flag`); release with :func:`release_stop`."""
    token, event = next(_stop_tokens), threading.Event()
    _STOP_FLAGS[token] = event
    return token, event


def stop_flag(token: int) -> threading.Event | None:
    """The stop flag registered under ``token`` in this process, if any."""
    return _STOP_FLAGS.get(token)


def release_stop(token: int) -> None:
    _STOP_FLAGS.pop(token, None)


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


_pin_lock = threading.Lock()
_pin_depth = 0
_pin_ctx: contextlib.AbstractContextManager[None] | None = None


@contextlib.contextmanager
def blas_pinned() -> Iterator[None]:
    """Process-wide single-threaded BLAS while any caller is inside the block.

    threadpoolctl changes a global setting, so concurrent enter/exit from
    several threads (a thread pool, a dask worker with several threads) would
    restore limits out of order.  A reference count makes the first entrant
    pin and the last one restore.  Pinning also makes LAPACK-based sampling
    (the dense method) bitwise independent of the BLAS thread count.
    """
    global _pin_depth, _pin_ctx
    with _pin_lock:
        if _pin_depth == 0:
            ctx = single_threaded_blas()
            ctx.__enter__()
            _pin_ctx = ctx
        _pin_depth += 1
    try:
        yield
    finally:
        with _pin_lock:
            _pin_depth -= 1
            if _pin_depth == 0 and _pin_ctx is not None:
                ctx, _pin_ctx = _pin_ctx, None
                ctx.__exit__(None, None, None)


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


# --------------------------------------------------------------------------
# Chunks on an executor
# --------------------------------------------------------------------------


def executor_capacity(executor: Executor) -> int:
    """Best guess of how many tasks ``executor`` runs at once (for the submit window)."""
    for attr in ("_max_workers", "num_workers"):
        v = getattr(executor, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    client = getattr(executor, "_client", None)  # dask's ClientExecutor
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:
            pass
    from ._validation import resolve_workers

    return resolve_workers(None)


def concurrent_in_process(executor: Executor | None, nthreads: int) -> int:
    """Chunks computing at once in this process (0 when they run elsewhere: process or cluster executors)."""
    if executor is None:
        return max(1, nthreads)
    if isinstance(executor, ThreadPoolExecutor):
        return executor_capacity(executor)
    return 0


class ChunkFailure(RuntimeError):
    """A chunk failed in its worker or was mishandled by the executor (the cause is chained)."""


class SubmitRefused(ChunkFailure):
    """The executor refused a chunk (the cause is chained)."""


class ChunkScheduler(Generic[R]):
    """Runs ``func(make_task(i))`` for the indices of ``todo`` and hands back results as they finish.

    Without an executor and with one thread, chunks run inline in the calling
    thread.  Otherwise a window of at most 2 x capacity + 2 chunks is in
    flight, so memory does not grow with the number of chunks.  ``func`` is
    looked up through ``get_func`` at submit time.  The executor, if given,
    is not shut down; an own thread pool is.
    """

    def __init__(self, get_func: Callable[[], Callable[..., R]], make_task: Callable[[int], object],
                 todo: Iterable[int], executor: Executor | None, nthreads: int) -> None:
        self._get_func, self._make_task, self._todo = get_func, make_task, iter(todo)
        self._own = executor is None and nthreads > 1
        self._pool: Executor | None = ThreadPoolExecutor(max_workers=nthreads) if self._own else executor
        self._window = 2 * (nthreads if executor is None else executor_capacity(executor)) + 2
        self.futures: dict[Future[R], int] = {}

    def _refill(self) -> None:
        assert self._pool is not None
        while len(self.futures) < self._window:
            i = next(self._todo, None)
            if i is None:
                return
            try:
                self.futures[self._pool.submit(self._get_func(), self._make_task(i))] = i
            except Exception as exc:
                raise SubmitRefused(f"executor {type(self._pool).__name__} refused chunk {i}: {exc}") from exc

    def completed(self) -> Iterator[tuple[int, Callable[[], R]]]:
        """(chunk index, result getter) as chunks finish (ties in index order)."""
        if self._pool is None:
            for i in self._todo:
                task = self._make_task(i)
                yield i, lambda task=task: self._get_func()(task)  # type: ignore[misc]
            return
        self._refill()
        while self.futures:
            done, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
            for f in sorted(done, key=self.futures.__getitem__):
                yield self.futures.pop(f), f.result
            self._refill()

    def cancel(self) -> None:
        """Queued chunks never start (running ones are stopped through their stop flag)."""
        for f in self.futures:
            f.cancel()

    def finished(self) -> list[tuple[int, R]]:
        """Chunks that completed successfully but were not handed out yet, in index order."""
        out = []
        for f, i in sorted(self.futures.items(), key=lambda item: item[1]):
            if f.done() and not f.cancelled() and f.exception() is None:
                out.append((i, f.result()))
        return out

    def join(self) -> None:
        """Return only when no chunk of ours computes any more."""
        if self._own and self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        elif self.futures:
            wait(list(self.futures))
