r"""Private: one chunk of a simulation -- draw its realisations and reduce them to moments.

:func:`run_chunk` is the worker entry point, sent to threads, processes or
cluster nodes with a self-contained, picklable :class:`ChunkTask`.  It is also
the one documented test hook of the simulation driver: the driver looks it up
here at submit time, so a test may replace ``fgrkern._chunks.run_chunk`` to
count, slow down or fail chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._moments import Moments
from ._validation import check_allocation
from ._parallel import blas_pinned, stop_flag, stop_scope
from .kernel import _survival_rows_1, _uniform_step, survival_probability
from .model import LevelDotModel, SampleableModel

__all__ = ["ChunkTask", "check_memory", "run_chunk"]


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs for one chunk (picklable, self-contained)."""

    index: int
    size: int
    model: SampleableModel
    method: str
    t: np.ndarray
    gs: np.ndarray | None  # None: the model's own g
    entropy: int | list[int]
    spawn_key: tuple[int, ...]
    pool_size: int
    stop_token: int = -1  # key of the run's stop flag (see _parallel.register_stop)

    def seed_sequence(self) -> np.random.SeedSequence:
        # Identical to SeedSequence(entropy, spawn_key=key).spawn(n)[index]
        # for a fresh parent, without mutating any caller-owned object.
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key + (self.index,), pool_size=self.pool_size)


def run_chunk(task: ChunkTask) -> tuple[int, Moments]:
    """Sample one chunk and return (its index, its moments).

    Between blocks of rows (sampler, kernel) the chunk checks its run's stop
    flag and raises ``_parallel.Cancelled`` once simulate no longer wants it.
    """
    with stop_scope(stop_flag(task.stop_token)), blas_pinned():
        Ps, iprs = [], []
        # The package's own sampler (not a subclass that may override it) returns
        # C-contiguous float64 (size, M) rows that need no revalidation per
        # coupling; simulate has checked that t is one-dimensional.
        own = type(task.model) is LevelDotModel
        t1 = np.ascontiguousarray(task.t, dtype=np.float64)
        dt = _uniform_step(t1) if own else None
        for e, w in _spectra(task):
            if own:
                P, ipr = _survival_rows_1(e, w, t1, dt)
            else:
                P, ipr = survival_probability(e, w, task.t, workers=1, return_ipr=True)
            Ps.append(P)
            iprs.append(ipr)
        ipr = np.stack(iprs, axis=1)   # (size, G)
        if ipr.shape[0] != task.size:
            raise RuntimeError(f"model.sample({task.size}) returned {ipr.shape[0]} rows")
        return task.index, Moments.from_rows(Ps, ipr)


def _spectra(task: ChunkTask) -> list[tuple[np.ndarray, np.ndarray]]:
    """(energies, weights) per coupling of the chunk, all g on the chunk's random numbers.

    A LevelDotModel draws the dot once for all g (``sample_couplings``);
    another model is re-seeded per g, which relies on its sampler consuming
    the stream identically for every g.
    """
    ss = task.seed_sequence()
    model = task.model
    if task.gs is None:
        spec = model.sample(task.size, rng=np.random.default_rng(ss), method=task.method)
        return [(spec.energies, spec.weights)]
    if isinstance(model, LevelDotModel):
        specs = model.sample_couplings(task.gs, task.size, rng=np.random.default_rng(ss),
                                       method=task.method)  # type: ignore[arg-type]
    else:
        specs = [model.with_g(float(g)).sample(task.size, rng=np.random.default_rng(ss), method=task.method)
                 for g in task.gs]
    return [(s.energies, s.weights) for s in specs]


def check_memory(rows: int, G: int, T: int, M: int, concurrent: int) -> None:
    """The memory guard for ``concurrent`` chunks of ``rows`` realisations computing at once in this process.

    A chunk holds its spectra (2 G rows x M), P per coupling (G rows x T)
    and, one coupling at a time, P's transposed copy and the centred
    deviations with their squares; counted as 5 G rows x T doubles, an upper
    bound that leaves room for the caller's own copies.
    """
    if concurrent <= 0:
        return  # chunks run in other processes or on other machines
    per_chunk = 8.0 * rows * G * (5.0 * T + 2.0 * M)
    check_allocation(concurrent * per_chunk,
                     f"simulate (chunk_size = {rows} realisations x {G} couplings x {T} times tau, "
                     f"on {concurrent} workers at once)")
