"""The eigenpair-sum kernel: P(t) = |sum_a w_a exp(-i e_a t)|^2 for many spectra.

This is the innermost loop of every survival-probability computation in the
package, exposed so that users can point it at their own eigenpairs (e.g. a
many-body spectrum and the overlaps of an initial state with its eigenstates).
"""

from __future__ import annotations

import math
from typing import Any, Literal, overload

import numpy as np

from . import _kernel
from ._parallel import run_chunks
from ._validation import as_float_array, check_allocation, resolve_workers

__all__ = ["survival_probability"]

# A grid counts as uniform when every point is within this many ulps (of the
# largest |t|) of t0 + k*dt: the fast path evaluates t[jB] + r*dt (k = jB + r,
# r < B <= 64), i.e. exactly the caller's time at every anchor and within a
# few ulps of it in between.
_UNIFORM_ULPS = 8.0

# Eigenpair-times per compiled call above which a row is cut into time blocks.
_BLOCK_WORK = 1 << 22
# Bytes of broadcast rows (energies + weights) gathered per compiled call.
_GATHER_BYTES = 1 << 20
# (sum_a w_a)^2 must stay below the largest double (with a factor 2 of room
# for re^2 + im^2 being rounded up).
_MAX_WEIGHT_SUM = math.sqrt(np.finfo(np.float64).max / 2)


def _uniform_step(t: np.ndarray) -> float | None:
    """dt if t is a uniform increasing/decreasing grid, else None."""
    T = t.shape[0]
    if T < 3:
        return None
    dt = (t[-1] - t[0]) / (T - 1)
    if dt == 0.0:
        return None
    k = np.arange(T, dtype=np.float64)
    dev = np.max(np.abs(t - (t[0] + k * dt)))
    scale = np.max(np.abs(t))
    if dev <= _UNIFORM_ULPS * np.finfo(np.float64).eps * scale:
        return float(dt)
    return None


@overload
def survival_probability(
    energies: Any, weights: Any, t: Any, *, workers: int | None = ...,
    grid: Literal["auto", "uniform", "general"] = ..., return_ipr: Literal[False] = ...,
) -> np.ndarray: ...
@overload
def survival_probability(
    energies: Any, weights: Any, t: Any, *, workers: int | None = ...,
    grid: Literal["auto", "uniform", "general"] = ..., return_ipr: Literal[True],
) -> tuple[np.ndarray, np.ndarray]: ...


def survival_probability(energies, weights, t, *, workers=None, grid="auto", return_ipr=False):
    r"""Survival probability of one or many realisations from their eigenpairs.

    For each row (realisation) with eigenvalues :math:`e_a` and weights
    :math:`w_a = |\langle a|0\rangle|^2`,

    .. math::  P(t) = \Big|\sum_a w_a e^{-i e_a t}\Big|^2
                    = \sum_{a,b} w_a w_b e^{i (e_a - e_b) t},

    the single-realisation content of the paper's Eq. (2).  The double sum is
    evaluated in its factorised form, O(M T) per row.

    Parameters
    ----------
    energies : array_like, shape (..., M)
        Eigenvalues :math:`e_a` (energy units; ``t`` is in inverse units, hbar = 1).
    weights : array_like, shape (..., M)
        Non-negative weights :math:`w_a`; they are *not* renormalised, so
        ``P(0) = (sum_a w_a)^2``.  Broadcasts against ``energies``.
    t : array_like, shape (T,) or scalar
        Times.  Any real values (negative times give ``P(-t) = P(t)``).
    workers : int or None, optional
        Threads over rows (``None`` or ``-1``: all usable cores; at most 4
        per CPU, larger values are clamped).  The result is bitwise
        independent of ``workers``.
    grid : {"auto", "uniform", "general"}, optional
        ``"uniform"`` factorises :math:`e^{-i e_a t_{jB+r}} = e^{-i e_a t_{jB}}
        e^{-i e_a r\,dt}` (blocks of :math:`B \approx \sqrt{T} \le 64`
        steps), so that the sums become one complex matrix product needing
        only :math:`(B + T/B) M` sines and cosines; every point is one product
        of two directly computed phasors, so the error does not grow along the
        grid.  It requires ``t`` to be uniform to a few ulps.  ``"general"``
        evaluates sin/cos at every point; ``"auto"`` (default) picks
        ``"uniform"`` when ``t`` is uniform with at least 3 points.
    return_ipr : bool, optional
        Also return the per-row inverse participation ratio
        :math:`\sum_a w_a^2`, the :math:`t \to \infty` limit of P for a
        non-degenerate spectrum.

    Returns
    -------
    P : ndarray, shape (..., T) (or (...) for scalar ``t``)
    ipr : ndarray, shape (...)
        Only if ``return_ipr``.

    Raises
    ------
    ValueError
        Mismatched or non-broadcastable shapes, M = 0, NaN/inf values,
        negative weights, unknown ``grid``, a non-uniform ``t`` with
        ``grid="uniform"``, or phases ``e * t`` beyond the double range.
    TypeError
        Complex, boolean, object or string input; ``return_ipr`` not a bool.

    Notes
    -----
    Accuracy (sum w = 1; measured against an exactly-reduced reference in the
    test suite): absolute error ~1e-14 while ``max|e t| <= 1e4`` and ~1e-12 at
    ``|e t| ~ 1e6``, the size of the error of the rounded phase fl(e t) that any
    double-precision evaluation (numpy's included) carries.  The sums use a
    fixed order, so results are bitwise reproducible and independent of
    ``workers`` and of the CPU's vector instruction set.
    """
    if not isinstance(return_ipr, (bool, np.bool_)):
        raise TypeError(f"return_ipr must be True or False, got {type(return_ipr).__name__}")
    e = as_float_array(_unbroadcast(energies), "energies")
    w = as_float_array(_unbroadcast(weights), "weights")
    tt = as_float_array(t, "t")
    # the shapes as given: e, w may have had repeated (broadcast) rows cut
    full = tuple(x.shape if type(x) is np.ndarray else y.shape for x, y in ((energies, e), (weights, w)))
    batch = _check_inputs(e, w, tt, grid, full)  # type: ignore[arg-type]
    nthreads = resolve_workers(workers)

    t1 = np.ascontiguousarray(np.atleast_1d(tt))
    T = t1.shape[0]
    nrows = math.prod(batch)
    # P <= (sum_a w_a)^2 must not overflow: checked here rather than returning inf.
    with np.errstate(over="ignore"):  # an overflowing sum is exactly what is being detected
        wsum_max = float(np.max(np.sum(w, axis=-1))) if w.size else 0.0
    if wsum_max > _MAX_WEIGHT_SUM:
        raise ValueError("weights are too large: P(0) = (sum_a w_a)^2 overflows float64")
    # output, and the C-contiguous copies of inputs that are not (transposed, strided)
    copies = sum(x.nbytes for x in (e, w) if not (x.flags.c_contiguous and x.dtype == np.float64))
    check_allocation(nrows * (T + 1) * 8 + copies, "survival_probability output")

    # Broadcasting is resolved by row indices, never by materialising the
    # broadcast (batch, M) arrays: temporaries stay O(output + input).
    e_rows, e_idx = _rows_and_index(e, batch)
    w_rows, w_idx = _rows_and_index(w, batch)

    dt = None
    if grid != "general":
        dt = _uniform_step(t1)
        if grid == "uniform" and dt is None and T >= 3:
            raise ValueError("grid='uniform' but t is not a uniform grid t0 + k*dt")

    out = np.empty((nrows, T), dtype=np.float64)
    if T > 0 and nrows > 0:
        _run_rows(e_rows, e_idx, w_rows, w_idx, t1, out, dt, nthreads)
    shape = batch + ((T,) if tt.ndim == 1 else ())
    P = out.reshape(shape)
    if not return_ipr:
        return P
    ipr_w = np.empty(w_rows.shape[0], dtype=np.float64)
    _kernel.ipr_rows(w_rows, ipr_w, 0, w_rows.shape[0])
    ipr = ipr_w if w_idx is None else ipr_w[w_idx]
    return P, ipr.reshape(batch)


def _survival_rows_1(e: np.ndarray, w: np.ndarray, t1: np.ndarray,
                     dt: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``survival_probability(e, w, t1, workers=1, return_ipr=True)`` for a sampler's own output.

    ``e``, ``w``: C-contiguous float64 (rows, M) arrays from one of this
    package's samplers (finite, ``w >= 0``, rows summing to 1); ``t1``: the
    contiguous float64 (T,) grid and ``dt = _uniform_step(t1)``, computed once
    per run.  simulate calls this once per coupling and chunk, where the
    public function's checks would add ~15% to the kernel on small chunks.
    Same compiled calls, so the same bits.
    """
    _check_phases(e, t1)
    out = np.empty((e.shape[0], t1.shape[0]), dtype=np.float64)
    if t1.shape[0] > 0 and e.shape[0] > 0:
        _run_rows(e, None, w, None, t1, out, dt, 1)
    ipr = np.empty(w.shape[0], dtype=np.float64)
    _kernel.ipr_rows(w, ipr, 0, w.shape[0])
    return out, ipr


def _check_inputs(e: np.ndarray, w: np.ndarray, tt: np.ndarray, grid: object,
                  shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> tuple[int, ...]:
    """The batch shape of (energies, weights); ValueError naming the argument for anything the kernel refuses.

    ``shapes``: the shapes of energies and weights as given (``e`` and ``w``
    may have had repeated rows cut, see :func:`_unbroadcast`).
    """
    eshape, wshape = shapes
    if e.ndim == 0:
        raise ValueError("energies must have at least one dimension (..., M)")
    if w.ndim == 0:
        raise ValueError("weights must have at least one dimension (..., M)")
    if tt.ndim > 1:
        raise ValueError(f"t must be a scalar or one-dimensional, got shape {tt.shape}")
    if not isinstance(grid, str) or grid not in ("auto", "uniform", "general"):
        raise ValueError(f"grid must be 'auto', 'uniform' or 'general', got {grid!r}")
    if e.shape[-1] != w.shape[-1]:
        raise ValueError(
            f"energies and weights must have the same last dimension M, got {eshape} and {wshape}"
        )
    if e.shape[-1] == 0:
        raise ValueError("energies and weights are empty (M = 0): there is no eigenpair to sum over")
    try:
        batch = np.broadcast_shapes(eshape[:-1], wshape[:-1])
    except ValueError:
        raise ValueError(
            f"energies {eshape} and weights {wshape} cannot be broadcast together"
        ) from None
    if np.any(w < 0):
        raise ValueError("weights must be non-negative (they are |<a|0>|^2)")
    _check_phases(e, tt)
    return batch


def _check_phases(e: np.ndarray, t: np.ndarray) -> None:
    """ValueError if some e*t overflows: sin/cos of inf would be NaN, and no double can hold the phase."""
    if e.size and t.size and math.isinf(float(np.max(np.abs(e))) * float(np.max(np.abs(t)))):
        raise ValueError("max|energies| * max|t| overflows a double: the phases e*t are not representable")


def _run_rows(e_rows: np.ndarray, e_idx: np.ndarray | None, w_rows: np.ndarray, w_idx: np.ndarray | None,
              t1: np.ndarray, out: np.ndarray, dt: float | None, nthreads: int) -> None:
    """Fill ``out`` (rows x T) with P for each (gathered) row on ``nthreads`` threads."""
    nrows, T = out.shape
    M = e_rows.shape[1]
    uniform = dt is not None
    # Work items are (row, time block).  Long rows are cut into blocks of
    # whole anchor periods so that one compiled call stays short (Ctrl-C
    # responsiveness, load balance, scratch size).  The split depends only on
    # (M, T), never on ``workers``, so results stay bitwise worker-independent;
    # on a uniform grid a block's phasor factorisation differs from an unsplit
    # call's (same error bound, not the same bits).
    period = _kernel.ANCHOR_PERIOD
    tblock = max(period, _BLOCK_WORK // M // period * period)
    tblock = min(tblock, T)
    nblocks = -(-T // tblock) if T else 0

    def gather(rows: np.ndarray, idx: np.ndarray | None, a: int, b: int) -> np.ndarray:
        return rows[a:b] if idx is None else rows[idx[a:b]]

    def rows_job(a: int, b: int) -> None:
        ea, wa = gather(e_rows, e_idx, a, b), gather(w_rows, w_idx, a, b)
        _kernel.survival_rows(ea, wa, t1, out[a:b], 0, b - a, uniform, dt or 0.0)

    def blocks_job(a: int, b: int) -> None:
        for item in range(a, b):
            r, blk = divmod(item, nblocks)
            k0, k1 = blk * tblock, min(T, (blk + 1) * tblock)
            ea, wa = gather(e_rows, e_idx, r, r + 1), gather(w_rows, w_idx, r, r + 1)
            _kernel.survival_rows(ea, wa, t1[k0:k1], out[r:r + 1, k0:k1], 0, 1, uniform, dt or 0.0)

    if nblocks == 1:
        # gathered (broadcast) rows are copied per chunk: keep that copy small
        gathered = e_idx is not None or w_idx is not None
        run_chunks(rows_job, nrows, nthreads, max_chunk=max(1, _GATHER_BYTES // (16 * M)) if gathered else None)
    else:
        run_chunks(blocks_job, nrows * nblocks, nthreads)


def _unbroadcast(x: Any) -> Any:
    """An ndarray with stride-0 batch axes (``np.broadcast_to``) cut to length 1 along them.

    Broadcasting then happens by row indices: validating or copying the
    full view would materialise every repeated row (e.g. 3 GiB for one
    distinct row of 20000 repeated 10000 times).
    """
    if type(x) is not np.ndarray or x.ndim < 2:
        return x
    cut = tuple(slice(0, 1) if x.strides[i] == 0 and x.shape[i] > 1 else slice(None) for i in range(x.ndim - 1))
    return x[cut]


def _rows_and_index(x: np.ndarray, batch: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray | None]:
    """C-contiguous (rows, M) view/copy of ``x`` and the row index of each batch element.

    The index is None when ``x`` already has the full batch shape (row i is
    batch element i).
    """
    M = x.shape[-1]
    rows = np.ascontiguousarray(x.reshape(-1, M))
    if x.shape[:-1] == batch:
        return rows, None
    idx = np.arange(rows.shape[0], dtype=np.intp).reshape(x.shape[:-1])
    return rows, np.ascontiguousarray(np.broadcast_to(idx, batch)).reshape(-1)
