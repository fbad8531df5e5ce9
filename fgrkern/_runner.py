"""Private: run the chunks of one :func:`fgrkern.simulate` call to the end, or to a saved checkpoint.

The run resumes from its checkpoint, schedules the remaining chunks
(:class:`fgrkern._parallel.ChunkScheduler`), reduces their moments in chunk
order, shows progress, writes the checkpoint every ``interval`` seconds and,
whatever happens (failure, Ctrl-C, a second Ctrl-C during cleanup), saves the
completed chunks and leaves no thread computing before it returns or raises.
"""

from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from . import _checkpoint, _chunks
from ._moments import Moments, OrderedReduction
from ._parallel import ChunkFailure, ChunkScheduler, blas_pinned, register_stop, release_stop
from ._progress import Progress
from .model import SampleableModel

__all__ = ["RunPlan", "run"]


@dataclass(frozen=True)
class RunPlan:
    """A validated simulation: what to compute, where, and where to keep it."""

    model: SampleableModel
    method: str
    t: np.ndarray
    gs: np.ndarray | None
    n_samples: int
    chunk_size: int
    seed: np.random.SeedSequence
    rng_given: bool
    fingerprint: dict[str, object]
    executor: Executor | None
    nthreads: int
    checkpoint: str | None
    interval: float
    progress: bool

    @property
    def n_chunks(self) -> int:
        return -(-self.n_samples // self.chunk_size)

    @property
    def shape(self) -> tuple[int, int]:
        """(G couplings, T times)."""
        return (1 if self.gs is None else self.gs.size), self.t.size

    def chunk_len(self, i: int) -> int:
        return min(self.chunk_size, self.n_samples - i * self.chunk_size)


def run(plan: RunPlan) -> tuple[Moments, dict[str, object]]:
    """The moments of all ``plan.n_samples`` realisations and the fingerprint they belong to.

    Raises ``ChunkFailure`` (cause chained) when a chunk or the executor fails.
    """
    if plan.checkpoint is None:
        return _Run(plan).execute()
    # held from before the checkpoint is read until after its last write
    with _checkpoint.locked(plan.checkpoint):
        return _Run(plan).execute()


class _Run:
    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.fp = plan.fingerprint
        self.seed = plan.seed
        self.reduction = OrderedReduction(*plan.shape)
        if plan.checkpoint is not None:
            loaded = _checkpoint.load(plan.checkpoint, self.fp, plan.rng_given, *plan.shape, plan.n_chunks,
                                      plan.chunk_len)
            if loaded is not None:
                self.reduction, self.fp = loaded
                self.seed = _checkpoint.seed_from_record(self.fp["seed"])  # type: ignore[arg-type]

    def save(self) -> None:
        if self.plan.checkpoint is not None:
            _checkpoint.save(self.plan.checkpoint, self.reduction, self.fp)

    def _save_or_warn(self, final: bool) -> bool:
        """Write the checkpoint; if that fails, warn (naming the file) and go on.  Whether it was written."""
        try:
            self.save()
            return True
        except (OSError, ValueError) as exc:
            # A checkpoint only protects the run: losing the run for it (a
            # full disk at the last write of a finished run) would be worse.
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            what = ("at the end failed ({why}); the finished result is returned all the same" if final else
                    "during the run failed ({why}); the run goes on and retries at the next interval")
            warnings.warn(f"writing checkpoint {self.plan.checkpoint!r} {what.format(why=why)}, and the checkpoint "
                          "holds only what its last successful write saved",
                          _checkpoint.CheckpointWriteWarning, stacklevel=2)
            return False

    def task(self, token: int, i: int) -> _chunks.ChunkTask:
        p, ss = self.plan, self.seed
        return _chunks.ChunkTask(i, p.chunk_len(i), p.model, p.method, p.t, p.gs, ss.entropy,
                                 tuple(ss.spawn_key), ss.pool_size, token)

    def execute(self) -> tuple[Moments, dict[str, object]]:
        p = self.plan
        # An early write proves the path is writable before hours of work.
        if p.checkpoint is not None and not os.path.exists(p.checkpoint):
            self.save()
        # Chunks to compute: [next, n_chunks) minus those already pending in the
        # checkpoint.  The pending set is copied now: the reduction's own set
        # shrinks as the prefix advances past it, and a lazy test against it
        # would hand out those chunks a second time.
        skip = frozenset(self.reduction.pending)
        todo = (i for i in range(self.reduction.next, p.n_chunks) if i not in skip)  # lazily: O(1) memory
        token, stop = register_stop()
        sched: ChunkScheduler[tuple[int, Moments]] = ChunkScheduler(
            lambda: _chunks.run_chunk, lambda i: self.task(token, i), todo, p.executor, p.nthreads)
        bar = Progress(p.n_samples, "simulate", initial=self.reduction.done_samples()) if p.progress else None
        ok, failure = False, None
        try:
            with blas_pinned():
                self._reduce(sched.completed(), bar)
            ok = True
        except BaseException as exc:
            failure = exc
            raise
        finally:
            try:
                again = self._cleanup(sched, stop.set, bar, ok, failure)
            finally:
                release_stop(token)
            if again is not None and not isinstance(failure, KeyboardInterrupt):
                raise again  # the Ctrl-C (or SIGTERM) that arrived during cleanup (chains the failure, if any)
        r = self.reduction
        if r.next != p.n_chunks or r.pending or r.prefix.n != p.n_samples:
            raise ChunkFailure(f"internal error: {r.prefix.n} of {p.n_samples} samples reduced")  # pragma: no cover
        return r.prefix, self.fp

    def _reduce(self, completed: Iterator[tuple[int, Callable[[], tuple[int, Moments]]]],
                bar: Progress | None) -> None:
        last_write = time.monotonic()
        for i, get in completed:
            try:
                idx, mom = get()
            except Exception as exc:
                raise ChunkFailure(self._fail_msg(i, exc)) from exc
            self.accept(i, idx, mom)
            if bar is not None:
                bar.update(mom.n)
            if self.plan.checkpoint is not None and time.monotonic() - last_write >= self.plan.interval:
                self._save_or_warn(final=False)
                last_write = time.monotonic()

    def accept(self, i: int, idx: int, mom: Moments) -> None:
        """Check a chunk result before it enters the reduction (executors can misbehave)."""
        G, T = self.plan.shape
        if idx != i or mom.n != self.plan.chunk_len(i) or mom.mean.shape != (G, T) or mom.ipr_m2.shape != (G, G):
            raise ChunkFailure(f"chunk {i}: executor returned a result for chunk {idx} with {mom.n} samples")
        self.reduction.add(i, mom)

    def _fail_msg(self, i: int, exc: BaseException) -> str:
        # Where the work is kept is added by _cleanup, once the checkpoint is actually written.
        return f"chunk {i} of {self.plan.n_chunks} failed with {type(exc).__name__}: {exc}"

    def _cleanup(self, sched: ChunkScheduler[tuple[int, Moments]], stop: Callable[[], None],
                 bar: Progress | None, ok: bool, failure: BaseException | None) -> KeyboardInterrupt | None:
        """Stop the chunks, keep what finished, save, join; return the Ctrl-C that arrived meanwhile, if any.

        Every step runs to its end even through further Ctrl-C (each is short
        and retried): the checkpoint is written and no thread is left.  A
        finished run whose result the checkpoint could not take ignores such a
        Ctrl-C (with a warning): raising it would discard the only copy.
        """
        again: KeyboardInterrupt | None = None
        # In-flight chunks are no longer wanted: they stop at their next block
        # boundary (about 0.1 s), queued ones never start.
        stop()
        sched.cancel()
        if not ok:
            self._harvest(sched)
        if bar is not None:
            bar.close()
        saved = False
        ckpt = self.plan.checkpoint
        if ckpt is not None:
            # Saved on success and on failure/interrupt alike, before waiting
            # for the workers: completed chunks are never lost.  A failing
            # write must not mask the original exception.
            try:
                if ok:
                    # the finished result is returned even if this write fails
                    box = [False]
                    again = _through_interrupts(lambda: box.__setitem__(0, self._save_or_warn(final=True)))
                    saved = box[0]
                else:
                    again = _through_interrupts(self.save)
                    saved = True
            except Exception as exc:
                if ok:
                    raise
                if isinstance(failure, ChunkFailure):
                    failure.args = (f"{failure}; writing checkpoint {ckpt!r} failed too ({exc}): it holds "
                                    "only what its last successful write saved",)
        if isinstance(failure, ChunkFailure) and saved:
            # The count after _harvest: what the checkpoint holds, not what was reduced at the failure.
            failure.args = (f"{failure}; the {self.reduction.done_samples()} completed samples are saved in "
                            f"checkpoint {ckpt!r}, rerun to resume",)
        if isinstance(failure, KeyboardInterrupt) and saved:
            _add_note(failure, f"simulate: the {self.reduction.done_samples()} completed samples are saved in "
                               f"checkpoint {self.plan.checkpoint!r}; rerun the same call (or command) to resume")
        # Never return (or raise) while our threads still compute.
        joined = _through_interrupts(sched.join)
        again = again or joined
        if isinstance(failure, KeyboardInterrupt):
            # An impatient second Ctrl-C comes ~0.02-0.2 s after the first; the
            # cleanup above may be over by then, and the signal would interrupt
            # the interpreter's printing of the traceback and of the note that
            # names the checkpoint ("lost sys.stderr").  Absorb it here.
            absorbed = _through_interrupts(lambda: time.sleep(_SECOND_INTERRUPT_WINDOW))
            again = again or absorbed
        if ok and again is not None and ckpt is not None and not saved:
            warnings.warn(f"{type(again).__name__} during the cleanup of a finished run ignored: its last write to "
                          f"checkpoint {ckpt!r} failed, so the result is returned instead of being lost",
                          _checkpoint.CheckpointWriteWarning, stacklevel=3)
            again = None
        return again

    def _harvest(self, sched: ChunkScheduler[tuple[int, Moments]]) -> None:
        """Keep chunks that finished but were not reduced when the run failed (pending in the checkpoint)."""
        for i, result in sched.finished():
            try:
                idx, mom = result
                self.accept(i, idx, mom)
            except Exception:  # a malformed result is simply recomputed on resume
                continue


#: Seconds after a Ctrl-C's cleanup during which a second Ctrl-C is absorbed.
_SECOND_INTERRUPT_WINDOW = 0.25


def _through_interrupts(step: Callable[[], None]) -> KeyboardInterrupt | None:
    """Run a short cleanup ``step`` to completion, retrying it if Ctrl-C interrupts it.

    Returns the first KeyboardInterrupt that arrived meanwhile (the command
    line's SIGTERM is one too, and keeps its type), or None.  The steps (an
    atomic checkpoint write, joining workers that stop at their next block)
    take well under a second; a second Ctrl-C during them would otherwise
    lose the checkpoint or leave running threads behind ("Exception ignored
    in threading._shutdown" at exit).
    """
    hit: KeyboardInterrupt | None = None
    while True:
        try:
            step()
            return hit
        except KeyboardInterrupt as exc:
            hit = hit or exc


def _add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` (Python >= 3.11; shown under the traceback and by the CLI)."""
    add = getattr(exc, "add_note", None)
    if add is not None:
        add(note)
    else:  # pragma: no cover - Python 3.10
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]
