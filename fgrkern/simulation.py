r"""Ensemble averages of the survival probability, Eq. (2), at scale.

:func:`simulate` draws realisations of a level-dot model, evaluates
:math:`P(t) = |\sum_a w_a e^{-i e_a t}|^2` for each on a grid of rescaled times
:math:`\tau = t/t_H` and streams the sums into running means and variances, so
that memory does not grow with the number of samples.  The work is cut into
fixed chunks with their own random streams and reduced in chunk order, which
makes the result for a given seed bitwise independent of how (and where) the
chunks were computed.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import itertools
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from ._checkpoint import check_writable_path, read_npz, write_npz_atomic
from ._parallel import single_threaded_blas, stop_scope
from ._progress import Progress
from ._validation import (
    as_float_array,
    as_seed_sequence,
    check_allocation,
    check_positive_int,
    check_real_scalar,
    resolve_workers,
)
from ._version import __version__
from .kernel import survival_probability

__all__ = ["SimulationError", "SimulationResult", "simulate"]

#: Samples per chunk unless the caller chooses.  Part of the random stream's
#: definition (chunk i always holds samples [i*chunk_size, (i+1)*chunk_size)),
#: so it must not depend on the machine or on the number of workers.
DEFAULT_CHUNK_SIZE = 32

_RESULT_FORMAT = "fgrkern.SimulationResult"
_CHECKPOINT_FORMAT = "fgrkern.simulate-checkpoint"
_FILE_VERSION = 1


class SimulationError(RuntimeError):
    """A chunk of a simulation failed (in the worker or in the executor).

    The original exception is chained as ``__cause__``.  No result is returned;
    with ``checkpoint=`` the chunks completed so far are saved and rerunning
    the same call resumes from them.
    """


# --------------------------------------------------------------------------
# BLAS pinning shared by all threads of a process
# --------------------------------------------------------------------------

_pin_lock = threading.Lock()
_pin_depth = 0
_pin_ctx: contextlib.AbstractContextManager[None] | None = None


@contextlib.contextmanager
def _blas_pinned() -> Iterator[None]:
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


# --------------------------------------------------------------------------
# Streaming moments (Chan et al. pairwise update)
# --------------------------------------------------------------------------


@dataclass
class _Moments:
    """Count, means and centred second moments of P (per g, t) and of the IPR (per g).

    Centred sums (instead of raw sums of P and P^2) keep the variance exact
    when the spread is small compared with the mean; the combination rule is
    deterministic, so combining in a fixed order gives bitwise-fixed output.
    ``ipr_m2`` is the full (G, G) co-moment matrix: the g values share random
    numbers, and their covariance is part of the result.
    """

    n: int
    mean: np.ndarray      # (G, T)
    m2: np.ndarray        # (G, T)
    ipr_mean: np.ndarray  # (G,)
    ipr_m2: np.ndarray    # (G, G)

    @classmethod
    def empty(cls, G: int, T: int) -> "_Moments":
        return cls(0, np.zeros((G, T)), np.zeros((G, T)), np.zeros(G), np.zeros((G, G)))

    @classmethod
    def from_samples(cls, P: np.ndarray, ipr: np.ndarray) -> "_Moments":
        """P: (size, G, T), ipr: (size, G)."""
        # Samples along the last, contiguous axis: every (g, t) entry is then
        # reduced by the same pairwise summation whatever G and T are, so a
        # coupling evaluated among several gives bitwise the same numbers as
        # evaluated alone (no BLAS: its summation order depends on shapes).
        X = np.ascontiguousarray(np.moveaxis(P, 0, -1))
        Y = np.ascontiguousarray(ipr.T)
        mean = X.mean(axis=-1)
        dX = X - mean[..., None]
        ipr_mean = Y.mean(axis=-1)
        dY = Y - ipr_mean[:, None]
        return cls(X.shape[-1], mean, (dX * dX).sum(axis=-1), ipr_mean, (dY[:, None, :] * dY[None, :, :]).sum(axis=-1))

    def combine(self, other: "_Moments") -> "_Moments":
        if self.n == 0:
            return copy.deepcopy(other)
        if other.n == 0:
            return copy.deepcopy(self)
        n = self.n + other.n
        fb = other.n / n
        d = other.mean - self.mean
        di = other.ipr_mean - self.ipr_mean
        return _Moments(
            n,
            self.mean + d * fb,
            self.m2 + other.m2 + d * d * (self.n * fb),
            self.ipr_mean + di * fb,
            self.ipr_m2 + other.ipr_m2 + np.outer(di, di) * (self.n * fb),
        )

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            prefix + "n": np.array(self.n, dtype=np.int64),
            prefix + "mean": self.mean, prefix + "m2": self.m2,
            prefix + "ipr_mean": self.ipr_mean, prefix + "ipr_m2": self.ipr_m2,
        }


# --------------------------------------------------------------------------
# The model interface
# --------------------------------------------------------------------------

_MODEL_FIELDS = ("n", "g", "symmetry", "lam", "eps0", "bath", "bath_levels")


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.floating, float)):
        return float(x)  # json writes repr(): exact round trip
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    return x


def _model_params(model: Any) -> dict[str, Any]:
    """JSON-serialisable description of the model (its constructor arguments)."""
    params: dict[str, Any] = {"class": f"{type(model).__module__}.{type(model).__qualname__}"}
    for name in _MODEL_FIELDS:
        if hasattr(model, name):
            params[name] = _jsonable(getattr(model, name))
    for name in ("gamma", "nu", "heisenberg_time"):
        if hasattr(model, name):
            params[name] = _jsonable(getattr(model, name))
    return params


def _model_with_g(model: Any, g: float) -> Any:
    """The same model with coupling strength g (a new object; models are immutable)."""
    if hasattr(model, "with_g"):
        return model.with_g(g)
    try:
        levels = getattr(model, "bath_levels", None)
        bath = levels if levels is not None else model.bath
        return type(model)(model.n, g, model.symmetry, model.lam, model.eps0, bath)
    except (AttributeError, TypeError) as exc:
        raise TypeError(
            f"cannot build a {type(model).__name__} with another g ({exc}); evaluating several couplings "
            "needs a LevelDotModel-like constructor (n, g, symmetry, lam, eps0, bath) or a with_g method"
        ) from None


def _sample_common(model: Any, gs: np.ndarray, size: int, ss: np.random.SeedSequence, method: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(energies, weights) for each g in ``gs`` on common random numbers.

    Every g sees the random numbers of ``model.sample(size, rng=default_rng(ss))``:
    the same dot spectra and the same Gaussian coupling vectors, only the
    coupling strength differs.  The result for g_k is the one a separate run
    of the model with g = g_k and the same seed gives (bitwise; tested).
    """
    if method == "secular" and _secular_hook_applies(model):
        return _secular_common(model, gs, size, np.random.default_rng(ss))
    # Generic route: re-seed per g.  Relies on the sampler consuming its
    # stream identically for every g (true for LevelDotModel's dense path).
    out = []
    for g in gs:
        spec = _model_with_g(model, float(g)).sample(size, rng=np.random.default_rng(ss), method=method)
        out.append((spec.energies, spec.weights))
    return out


def _secular_hook_applies(model: Any) -> bool:
    from .model import LevelDotModel

    return type(model) is LevelDotModel  # exactly: a subclass may sample differently


def _secular_common(model: Any, gs: np.ndarray, size: int, gen: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Secular sampling of several couplings with the dot drawn and diagonalised once.

    The dot spectrum (Dumitriu-Edelman tridiagonal + dsterf, about half the
    cost of a realisation at N = 1000) and the chi^2 coupling draws do not
    depend on g; the model draws them once per realisation and solves the
    arrowhead secular equation per g (``LevelDotModel._sample_secular_couplings``),
    so the numbers equal separate runs with the same seed (tested bitwise).
    """
    M = model.n_eigen
    out = [(np.empty((size, M)), np.empty((size, M))) for _ in gs]
    model._sample_secular_couplings(gen, [float(g) for g in gs], out)
    return out


@dataclass(frozen=True)
class _ChunkTask:
    """Everything a worker needs for one chunk (picklable, self-contained)."""

    index: int
    size: int
    model: Any
    method: str
    t: np.ndarray
    gs: np.ndarray | None  # None: the model's own g
    entropy: Any
    spawn_key: tuple[int, ...]
    pool_size: int
    stop_token: int = -1  # key of the run's stop flag in _STOP_FLAGS (an Event does not pickle)

    def seed_sequence(self) -> np.random.SeedSequence:
        # Identical to SeedSequence(entropy, spawn_key=key).spawn(n)[index]
        # for a fresh parent, without mutating any caller-owned object.
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key + (self.index,), pool_size=self.pool_size)


#: Stop flags of the simulate calls running in this process, by token.  A
#: worker thread looks its run's flag up here; in another process (process
#: or cluster executors) there is none and the chunk runs to its end.
_STOP_FLAGS: dict[int, threading.Event] = {}
_stop_tokens = itertools.count()


def _run_chunk(task: _ChunkTask) -> tuple[int, _Moments]:
    """Worker entry point: sample one chunk and return its moments.

    Between blocks of rows (sampler, kernel) the chunk checks its run's stop
    flag and raises ``_parallel.Cancelled`` once simulate no longer wants it.
    """
    with stop_scope(_STOP_FLAGS.get(task.stop_token)):
        return _run_chunk_body(task)


def _run_chunk_body(task: _ChunkTask) -> tuple[int, _Moments]:
    with _blas_pinned():
        ss = task.seed_sequence()
        if task.gs is None:
            spec = task.model.sample(task.size, rng=np.random.default_rng(ss), method=task.method)
            pairs = [(spec.energies, spec.weights)]
        else:
            pairs = _sample_common(task.model, task.gs, task.size, ss, task.method)
        Ps, iprs = [], []
        for e, w in pairs:
            P, ipr = survival_probability(e, w, task.t, workers=1, return_ipr=True)
            Ps.append(P)
            iprs.append(ipr)
        P = np.stack(Ps, axis=1)       # (size, G, T)
        ipr = np.stack(iprs, axis=1)   # (size, G)
        if P.shape[0] != task.size:
            raise RuntimeError(f"model.sample({task.size}) returned {P.shape[0]} rows")
        return task.index, _Moments.from_samples(P, ipr)


# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------


@dataclass(eq=False)
class SimulationResult:
    r"""Monte Carlo estimate of the survival probability, Eq. (2).

    Attributes
    ----------
    tau : ndarray, shape (T,)
        Rescaled times :math:`\tau = t/t_H`.
    t : ndarray, shape (T,)
        Times :math:`t = \tau\, t_H` in units of 1/energy (hbar = 1),
        :math:`t_H = 2\pi\nu = 2N/\lambda`.
    mean : ndarray, shape (T,) or (G, T)
        Sample mean of :math:`P(t) = |\sum_a w_a e^{-i e_a t}|^2`.
    sem : ndarray, shape like ``mean``
        Standard error of ``mean`` (sample standard deviation / sqrt(n));
        NaN when ``n_samples == 1``.
    std : ndarray, shape like ``mean``
        Sample standard deviation of P across realisations (ddof = 1).
    n_samples : int
        Number of realisations averaged.
    p_res, p_res_sem : float or ndarray, shape (G,)
        Mean and standard error of the inverse participation ratio
        :math:`\sum_a w_a^2`, the per-realisation :math:`t\to\infty` limit
        of P; its mean is the residence probability (Eq. (4), Fig. 2d).
    p_res_cov : float or ndarray, shape (G, G)
        Covariance matrix of the ``p_res`` estimates.  With several
        couplings on common random numbers the off-diagonal entries are
        large and positive (see :func:`simulate`); fits across g must use it.
    g : float or ndarray, shape (G,)
        Coupling(s) :math:`g`; ``gamma = g * n``.  Scalar when a single
        coupling was simulated, in which case the G axis is absent above.
    gamma : float or ndarray, shape (G,)
    metadata : dict
        JSON-serialisable record: model parameters, sampling method, seed
        (entropy and spawn key), chunk size, fgrkern version.
    """

    tau: np.ndarray
    t: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    std: np.ndarray
    n_samples: int
    p_res: Any
    p_res_sem: Any
    p_res_cov: Any
    g: Any
    gamma: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    _ARRAYS = ("tau", "t", "mean", "sem", "std", "p_res", "p_res_sem", "p_res_cov", "g", "gamma")

    @property
    def model_params(self) -> dict[str, Any]:
        """Parameters of the simulated model (``metadata["model"]``)."""
        return self.metadata["model"]

    @property
    def version(self) -> str:
        """fgrkern version that produced the result."""
        return self.metadata["fgrkern_version"]

    @property
    def extrapolation(self) -> dict[str, Any] | None:
        """Fit record of :func:`fgrkern.extrapolate` (sizes, order, chi2, dof, coefficients), or None.

        Kept in ``metadata["extrapolation"]`` (so ``save``/``load`` keep it);
        returned here with its arrays as numpy arrays.
        """
        from .extrapolate import fit_record  # lazy: extrapolate imports this module

        return fit_record(self)

    def __repr__(self) -> str:
        m = self.metadata.get("model", {})
        return (f"SimulationResult(n={m.get('n')}, symmetry={m.get('symmetry')!r}, g={self.g!r}, "
                f"n_samples={self.n_samples}, T={self.tau.shape[0]}, method={self.metadata.get('method')!r})")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result to a plain ``.npz`` archive (atomically).

        Every attribute is stored as an array under its own name, and
        ``metadata`` as a JSON string, so that the file is readable without
        fgrkern::

            z = numpy.load(path)
            tau, mean, sem = z["tau"], z["mean"], z["sem"]
            meta = json.loads(z["metadata"][()])

        ``SimulationResult.load(path)`` restores an object equal to this one
        bit for bit.  The path is used as given (no ``.npz`` is appended).

        The write is atomic (temporary file in the same directory, fsync,
        rename).  An existing ``path`` must be a regular file: a directory,
        FIFO, device or socket raises ``ValueError`` and is left alone.  A
        symbolic link is followed: the file it points to is replaced, the link
        stays.  A new file gets mode 0666 minus the umask; an overwritten
        file keeps its mode.
        """
        arrays = {k: np.asarray(getattr(self, k), dtype=np.float64) for k in self._ARRAYS}
        arrays["n_samples"] = np.array(self.n_samples, dtype=np.int64)
        meta = dict(self.metadata)
        meta["format"] = _RESULT_FORMAT
        meta["file_version"] = _FILE_VERSION
        write_npz_atomic(path, arrays, meta, name="path")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "SimulationResult":
        """Read a result written by :meth:`save`.

        The file is treated as untrusted: only the known entries are read,
        each array header (dtype, shape, size) is checked before its data,
        and the metadata is validated; anything else raises one
        ``ValueError`` naming the file.
        """
        arrays, meta = read_npz(path, "path", _RESULT_FORMAT)  # every entry present and consistent
        meta.pop("format", None)
        meta.pop("file_version", None)

        def scalar_or_array(a: np.ndarray) -> Any:
            return float(a[()]) if a.ndim == 0 else a

        kw = {k: scalar_or_array(arrays[k]) for k in cls._ARRAYS}
        return cls(n_samples=int(arrays["n_samples"]), metadata=meta, **kw)


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------


def _fingerprint(params: dict[str, Any], method: str, tau: np.ndarray, n_samples: int, chunk_size: int,
                 gs: np.ndarray | None, seed: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": params,
        "method": method,
        "tau_sha256": hashlib.sha256(np.ascontiguousarray(tau, dtype="<f8").tobytes()).hexdigest(),
        "n_samples": n_samples,
        "chunk_size": chunk_size,
        "g": None if gs is None else _jsonable(gs),
        "seed": seed,
        "fgrkern_version": __version__,
    }


def _seed_record(ss: np.random.SeedSequence) -> dict[str, Any]:
    ent = ss.entropy
    ent_json = [str(int(v)) for v in ent] if isinstance(ent, (list, tuple, np.ndarray)) else str(int(ent))
    return {"entropy": ent_json, "spawn_key": [int(k) for k in ss.spawn_key], "pool_size": int(ss.pool_size)}


def _seed_from_record(rec: dict[str, Any]) -> np.random.SeedSequence:
    ent = rec["entropy"]
    entropy = [int(v) for v in ent] if isinstance(ent, list) else int(ent)
    return np.random.SeedSequence(entropy, spawn_key=tuple(rec["spawn_key"]), pool_size=rec["pool_size"])


class _Reducer:
    """Ordered reduction of chunk moments: a prefix plus out-of-order arrivals."""

    def __init__(self, G: int, T: int) -> None:
        self.prefix = _Moments.empty(G, T)
        self.next = 0                         # chunks [0, next) are in prefix
        self.pending: dict[int, _Moments] = {}

    def add(self, index: int, m: _Moments) -> None:
        if index < self.next or index in self.pending:
            raise RuntimeError(f"chunk {index} reported twice")
        self.pending[index] = m
        while self.next in self.pending:
            self.prefix = self.prefix.combine(self.pending.pop(self.next))
            self.next += 1

    def done_samples(self) -> int:
        return self.prefix.n + sum(m.n for m in self.pending.values())

    def to_arrays(self) -> dict[str, np.ndarray]:
        a = self.prefix.arrays("prefix_")
        a["next_chunk"] = np.array(self.next, dtype=np.int64)
        ids = sorted(self.pending)
        a["pending_index"] = np.array(ids, dtype=np.int64)
        G, T = self.prefix.mean.shape
        stack = {
            "n": np.array([self.pending[i].n for i in ids], dtype=np.int64),
            "mean": np.array([self.pending[i].mean for i in ids]).reshape(-1, G, T),
            "m2": np.array([self.pending[i].m2 for i in ids]).reshape(-1, G, T),
            "ipr_mean": np.array([self.pending[i].ipr_mean for i in ids]).reshape(-1, G),
            "ipr_m2": np.array([self.pending[i].ipr_m2 for i in ids]).reshape(-1, G, G),
        }
        a.update({"pending_" + k: v for k, v in stack.items()})
        return a

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray], G: int, T: int, n_chunks: int,
                    chunk_len: Callable[[int], int]) -> "_Reducer":
        """Rebuild from :meth:`to_arrays`, checking every count against the run.

        A file can be a well-formed archive with the right fingerprint and
        still be impossible (edited, or written by a buggy version); trusting
        it would fail later, mid-run, or overwrite it.  Raises ValueError
        (without the "checkpoint" prefix, which the caller adds).
        """
        def arr(key: str, shape: tuple[int, ...], integer: bool = False) -> np.ndarray:
            if key not in a:
                raise ValueError(f"missing entry {key!r}")
            v = a[key]
            kind = "iu" if integer else "f"
            if v.dtype.kind not in kind or v.shape != shape:
                want = "integer" if integer else "float"
                raise ValueError(f"entry {key!r} has dtype {v.dtype} and shape {v.shape}, "
                                 f"expected {want} of shape {shape}")
            if not integer and not np.all(np.isfinite(v)):
                raise ValueError(f"entry {key!r} contains non-finite values")
            return v.astype(np.int64 if integer else np.float64)

        def moments(prefix: str, ns: np.ndarray, K: tuple[int, ...]) -> list[_Moments]:
            mean, m2 = arr(prefix + "mean", K + (G, T)), arr(prefix + "m2", K + (G, T))
            im, im2 = arr(prefix + "ipr_mean", K + (G,)), arr(prefix + "ipr_m2", K + (G, G))
            if np.any(m2 < 0) or np.any(np.diagonal(im2, axis1=-2, axis2=-1) < 0):
                raise ValueError(f"entries {prefix}m2/{prefix}ipr_m2 have negative second moments")
            if not K:
                return [_Moments(int(ns), mean, m2, im, im2)]
            return [_Moments(int(ns[j]), mean[j], m2[j], im[j], im2[j]) for j in range(K[0])]

        nxt = int(arr("next_chunk", (), integer=True))
        if not 0 <= nxt <= n_chunks:
            raise ValueError(f"next_chunk = {nxt} is outside [0, {n_chunks}] (chunks of this run)")
        prefix_n = int(arr("prefix_n", (), integer=True))
        want = 0 if nxt == 0 else chunk_len(0) * (nxt - 1) + chunk_len(nxt - 1)  # only the last chunk is short
        if prefix_n != want:
            raise ValueError(f"prefix_n = {prefix_n} does not match next_chunk = {nxt} ({want} samples)")
        if "pending_index" in a and a["pending_index"].ndim != 1:
            raise ValueError(f"entry 'pending_index' must be one-dimensional, got shape {a['pending_index'].shape}")
        ids = arr("pending_index", a.get("pending_index", np.zeros(0)).shape, integer=True).tolist()
        if len(set(ids)) != len(ids) or any(not nxt < i < n_chunks for i in ids):
            raise ValueError(f"pending_index {ids} must be distinct chunk indices in ({nxt}, {n_chunks})")
        K = len(ids)
        pn = arr("pending_n", (K,), integer=True)
        for i, n_i in zip(ids, pn.tolist()):
            if n_i != chunk_len(i):
                raise ValueError(f"pending chunk {i} has {n_i} samples, expected {chunk_len(i)}")
        r = cls(G, T)
        r.prefix = moments("prefix_", np.array(prefix_n), ())[0]
        r.next = nxt
        for i, m in zip(ids, moments("pending_", pn, (K,))):
            r.pending[int(i)] = m
        return r


def _load_checkpoint(path: str, fp: dict[str, Any], rng_given: bool, G: int, T: int, n_chunks: int,
                     chunk_len: Callable[[int], int]) -> tuple[_Reducer, dict[str, Any]] | None:
    if not os.path.exists(path):
        return None
    arrays, meta = read_npz(path, "checkpoint", _CHECKPOINT_FORMAT)
    old = meta.get("fingerprint", {})
    if not rng_given:
        # rng=None means "no seed chosen": resuming adopts the checkpoint's seed.
        fp = dict(fp, seed=old.get("seed"))
    diff = sorted(k for k in set(fp) | set(old) if fp.get(k) != old.get(k))
    if diff:
        raise ValueError(
            f"checkpoint {path!r} was written by a different simulation (differs in: {', '.join(diff)}); "
            "it cannot be resumed with these arguments. Use another checkpoint path, or delete the file "
            "to start afresh."
        )
    try:
        reducer = _Reducer.from_arrays(arrays, G, T, n_chunks, chunk_len)
    except ValueError as exc:
        raise ValueError(f"checkpoint {path!r} is inconsistent ({exc}); it cannot be resumed. "
                         "Delete the file to start afresh.") from None
    return reducer, fp


# --------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------


def _executor_capacity(executor: Executor) -> int:
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
    return resolve_workers(None)


def _check_phases(model: Any, gs: np.ndarray | None, t: np.ndarray) -> None:
    """ValueError naming tau when the phases e t would overflow (the kernel would refuse every chunk)."""
    bound = getattr(model, "_energy_bound", None)
    if bound is None or t.size == 0:
        return
    e_max = bound(float(np.max(gs)) if gs is not None else float(model.g))
    with np.errstate(over="ignore"):
        phase = e_max * float(np.max(np.abs(t)))
    if not np.isfinite(phase):
        raise ValueError(f"tau = {float(np.max(np.abs(t))) / model.heisenberg_time!r}: the phases e t reach "
                         f"~{e_max:.3g} x {float(np.max(np.abs(t))):.3g} (eigenvalue bound x time), beyond "
                         "the double range; use smaller tau")


def _check_chunk_memory(model: Any, executor: Executor | None, nthreads: int, rows: int, G: int, T: int) -> None:
    """The memory guard for the chunks computing at once in this process.

    A chunk holds its spectra (2 G rows x M), P per coupling, P stacked,
    its transposed copy and the centred deviations with their squares
    (5 G rows x T doubles) at its peak.  Chunks of a process or cluster
    executor run elsewhere and are not counted.
    """
    if executor is None:
        concurrent = max(1, nthreads)
    elif isinstance(executor, ThreadPoolExecutor):
        concurrent = _executor_capacity(executor)
    else:
        return
    M = getattr(model, "n_eigen", None)
    if not isinstance(M, int):
        n = getattr(model, "n", 0)
        M = n + 1 if isinstance(n, int) else 0
    per_chunk = 8.0 * rows * G * (5.0 * T + 2.0 * M)
    check_allocation(concurrent * per_chunk,
                     f"simulate (chunk_size = {rows} realisations x {G} couplings x {T} times tau, "
                     f"on {concurrent} workers at once)")


def _nonneg_vector(x: Any, name: str, what: str) -> np.ndarray:
    """A non-empty, non-negative, finite 1-D float array (scalars promoted)."""
    arr = as_float_array(x, name)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or one-dimensional, got shape {arr.shape}")
    arr = np.atleast_1d(arr).copy()
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one {what}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, got min({name}) = {arr.min()}")
    return arr


def _check_tau(tau: Any) -> np.ndarray:
    tt = _nonneg_vector(tau, "tau", "time")
    bad = np.flatnonzero(np.diff(tt) <= 0)
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"tau must be strictly increasing; tau[{k}] = {tt[k]} >= tau[{k + 1}] = {tt[k + 1]}")
    return tt


def simulate(
    model: Any,
    tau: Any,
    n_samples: int,
    rng: Any = None,
    method: str = "secular",
    executor: Executor | None = None,
    progress: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    g: Any = None,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    checkpoint_interval: float = 30.0,
) -> SimulationResult:
    r"""Ensemble-averaged survival probability :math:`P(\tau)`, Eq. (2), and :math:`P_{\rm res}`.

    Draws ``n_samples`` realisations of ``model`` (``model.sample``), evaluates
    :math:`P(t) = |\sum_a w_a e^{-i e_a t}|^2` at :math:`t = \tau\, t_H`
    (:func:`fgrkern.survival_probability`) and the inverse participation
    ratio :math:`\sum_a w_a^2` of each, and returns their sample means with
    standard errors.  Memory does not grow with ``n_samples``: chunks are
    reduced into running means and centred second moments as they finish.

    Parameters
    ----------
    model : LevelDotModel
        The level-dot model, Eq. (1); any object with ``sample(size, rng=,
        method=)`` returning ``energies``/``weights`` of shape (size, M) and
        ``t_from_tau(tau)``.  It must be picklable for process or cluster
        executors.
    tau : array_like, shape (T,)
        Rescaled times :math:`\tau = t/t_H` (:math:`t_H = 2\pi\nu = 2N/\lambda`),
        non-negative and strictly increasing (e.g. ``np.geomspace``).
    n_samples : int
        Number of realisations, >= 1.
    rng : None, int, SeedSequence or Generator, optional
        Seed.  The samples are split in chunks of ``chunk_size``; chunk ``i``
        draws from ``numpy.random.default_rng(child_i)`` where ``child_i =
        SeedSequence(seed).spawn(n_chunks)[i]`` (built directly from the
        entropy and spawn key, so a caller's SeedSequence is not mutated; a
        Generator contributes entropy drawn from it).  The result for a given
        seed and ``chunk_size`` is bitwise identical for any executor and any
        number of workers; the first k chunks of a longer run are the k
        chunks of a shorter one.
    method : str, optional
        Passed to ``model.sample``: ``"secular"`` (fast exact arrowhead
        sampler, default) or ``"dense"`` (reference diagonalisation).
    executor : concurrent.futures.Executor, optional
        Where chunks run.  Default: a thread pool over ``workers`` threads
        (the kernels release the GIL).  Any ``Executor`` works:

        - processes: ``concurrent.futures.ProcessPoolExecutor()``;
        - dask: ``client = dask.distributed.Client(cluster)``, then
          ``executor=client.get_executor()``;
        - MPI (mpi4py): in a script started as
          ``mpiexec -n 65 python -m mpi4py.futures script.py``, use
          ``with mpi4py.futures.MPIPoolExecutor() as ex: simulate(..., executor=ex)``.

        BLAS is pinned to one thread inside every worker.  The executor is
        not shut down by ``simulate``.
    progress : bool, optional
        Show a tqdm progress bar with samples/s and ETA on stderr (requires
        ``tqdm``, the ``fgrkern[progress]`` extra); when stderr is not a
        terminal (a log file, CI), a plain line every 10 s instead.
    checkpoint : str or PathLike, optional
        A ``.npz`` file that records the completed chunks, rewritten
        atomically (temporary file + rename) at most every
        ``checkpoint_interval`` seconds, on failure or interrupt, and at the
        end.  If the file exists, the run resumes from it and the final result
        is bitwise identical to an uninterrupted run.  A checkpoint written
        for different parameters, seed, chunking or fgrkern version is
        refused with ``ValueError``.  With ``rng=None`` an existing
        checkpoint's seed is adopted.  The file is kept after completion
        (rerunning returns the result at once); delete it to start afresh.
        Its directory must exist.  It is written like
        :meth:`SimulationResult.save` (an existing FIFO, device or other
        non-regular file is refused, never opened; links are followed) and
        read as untrusted input (see :meth:`SimulationResult.load`).
    g : float or array_like, shape (G,), optional
        Couplings to evaluate on **common random numbers**: for every
        realisation, each g uses the same dot spectrum and the same Gaussian
        coupling vector (only its scale :math:`\sqrt{g}` differs); the result
        for each g equals, bitwise, a separate run of the model with that g
        and the same seed, whatever the other couplings are (e.g.
        ``g=[1e-3, 1e250]``: the secular path works in a larger energy unit
        for g beyond ~1e240, reached from the common draws by an exact
        power-of-two rescaling).  With ``method="secular"`` the dot is drawn and
        diagonalised once per realisation and only the secular equation and
        P(t) are evaluated per g (at N = 1000 ten couplings cost about 3x
        one, instead of 10x), and differences between couplings have far less
        variance than with independent runs.  The estimates at different g are then
        *positively correlated* (strongly so for neighbouring g): their errors
        are not independent, so a fit or chi-squared across g must use the
        covariance ``res.p_res_cov``, and the smoothness of a curve
        across g says nothing about its accuracy.  Default: the model's g.
        An array (even of length 1) adds a leading G axis to the result.
    workers : int, optional
        Threads of the default pool (None or -1: all usable cores; at most
        4 per CPU, larger values are clamped).  Ignored when ``executor`` is
        given.
    chunk_size : int, optional
        Realisations per chunk (default 32).  Part of the definition of the
        random stream; keep it fixed to reproduce a result.
    checkpoint_interval : float, optional
        Minimum seconds between checkpoint writes (0: after every chunk).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError, TypeError
        Bad arguments (negative or non-increasing ``tau``, ``n_samples`` < 1,
        checkpoint in a missing directory or from another run, ...).
    SimulationError
        A chunk failed in the worker or the executor; the cause is chained.
        Nothing is returned, completed chunks are kept in the checkpoint.
    ImportError
        ``progress=True`` without tqdm.

    Notes
    -----
    ``mean`` estimates Eq. (2) on the grid; ``p_res`` estimates its
    :math:`t\to\infty` limit (Eq. (4) for GUE as :math:`N\to\infty`; at
    finite N it exceeds Eq. (4) by O(gamma/N), footnote [26]).  Realisations
    are independent, so ``sem = std / sqrt(n_samples)``.  Each chunk is
    summarised by its count, mean and centred sum of squares, and chunks are
    merged with the pairwise update of Chan, Golub and LeVeque in chunk
    order: the variance does not suffer the cancellation of raw sums of P and
    P^2, and the merge order, hence every bit of the result, is fixed.
    ``rng=None`` draws fresh entropy; it is recorded in
    ``res.metadata["seed"]`` so that the run can be repeated.

    Examples
    --------
    The paper's Fig. 2 curves (GUE, N + 1 = 1000, 1e4 samples) on all local
    cores, resumable after a crash:

    >>> import numpy as np, fgrkern as fk                         # doctest: +SKIP
    >>> model = fk.LevelDotModel(999, 5 / 999, "GUE")             # doctest: +SKIP
    >>> tau = np.geomspace(1e-3, 10, 200)                         # doctest: +SKIP
    >>> res = fk.simulate(model, tau, 10_000, rng=1, progress=True,
    ...                   checkpoint="gue.ckpt.npz")               # doctest: +SKIP
    >>> res.save("gue.npz"); fk.SimulationResult.load("gue.npz")  # doctest: +SKIP

    P_res against gamma (Fig. 2d) on common random numbers:

    >>> gammas = np.geomspace(0.01, 100, 25)                      # doctest: +SKIP
    >>> res = fk.simulate(model, [0.0], 10_000, rng=2, g=gammas / model.n)  # doctest: +SKIP
    >>> res.p_res, res.p_res_cov                                  # doctest: +SKIP

    On an MPI cluster with mpi4py (the same seed gives the same bits as on a
    laptop); start with ``mpiexec -n 65 python -m mpi4py.futures run.py``
    where run.py contains::

        from mpi4py.futures import MPIPoolExecutor
        with MPIPoolExecutor() as ex:
            res = fk.simulate(model, tau, 10**6, rng=1, executor=ex,
                              checkpoint="run.ckpt.npz")
        res.save("run.npz")

    With dask, ``executor=dask.distributed.Client(...).get_executor()``.
    """
    # ---- validation (all of it before any work) ----
    if not (hasattr(model, "sample") and hasattr(model, "t_from_tau")):
        raise TypeError(f"model must be a LevelDotModel (with sample and t_from_tau), got {type(model).__name__}")
    tau_arr = _check_tau(tau)
    n_samples = check_positive_int(n_samples, "n_samples")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    method = method.strip().lower()
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {type(progress).__name__}")
    interval = check_real_scalar(checkpoint_interval, "checkpoint_interval")
    if interval < 0:
        raise ValueError(f"checkpoint_interval must be >= 0, got {interval}")
    nthreads = resolve_workers(workers) if executor is None else 0
    gs = None if g is None else _nonneg_vector(g, "g", "coupling")
    scalar_g = gs is None or np.ndim(g) == 0
    ckpt_path = None if checkpoint is None else check_writable_path(checkpoint, "checkpoint")
    tqdm_cls = None
    if progress:
        try:
            from tqdm.auto import tqdm as tqdm_cls
        except ImportError:
            raise ImportError("progress=True needs tqdm: pip install tqdm (or fgrkern[progress])") from None

    # A zero-size draw validates ``method`` (and the model) before any work.
    model.sample(0, rng=np.random.default_rng(0), method=method)
    t_arr = np.ascontiguousarray(model.t_from_tau(tau_arr), dtype=np.float64)
    if t_arr.shape != tau_arr.shape:
        raise ValueError(f"model.t_from_tau returned shape {t_arr.shape} for tau of shape {tau_arr.shape}")
    _check_phases(model, gs, t_arr)
    params = _model_params(model)
    G = 1 if gs is None else gs.size
    T = tau_arr.size
    _check_chunk_memory(model, executor, nthreads, min(chunk_size, n_samples), G, T)

    ss = as_seed_sequence(rng)
    fp = _fingerprint(params, method, tau_arr, n_samples, chunk_size, gs, _seed_record(ss))
    n_chunks = -(-n_samples // chunk_size)

    def chunk_len(i: int) -> int:
        return min(chunk_size, n_samples - i * chunk_size)

    reducer = _Reducer(G, T)
    if ckpt_path is not None:
        loaded = _load_checkpoint(ckpt_path, fp, rng is not None, G, T, n_chunks, chunk_len)
        if loaded is not None:
            reducer, fp = loaded
            ss = _seed_from_record(fp["seed"])

    def write_ckpt() -> None:
        if ckpt_path is not None:
            write_npz_atomic(ckpt_path, reducer.to_arrays(),
                             {"format": _CHECKPOINT_FORMAT, "file_version": _FILE_VERSION, "fingerprint": fp})

    # An early write proves the path is writable before hours of work.
    if ckpt_path is not None and not os.path.exists(ckpt_path):
        write_ckpt()

    entropy = ss.entropy
    # Chunks to compute: [next, n_chunks) minus those already pending in the
    # checkpoint.  The pending set is copied now: the reducer's own set
    # shrinks as the prefix advances past it, and a lazy test against it
    # would hand out those chunks a second time.
    skip = frozenset(reducer.pending)
    todo = (i for i in range(reducer.next, n_chunks) if i not in skip)  # lazily: O(1) memory
    stop = threading.Event()
    token = next(_stop_tokens)
    _STOP_FLAGS[token] = stop

    def make_task(i: int) -> _ChunkTask:
        return _ChunkTask(i, chunk_len(i), model, method, t_arr, gs, entropy, tuple(ss.spawn_key), ss.pool_size,
                          token)

    own_pool = executor is None and nthreads > 1
    pool: Executor | None = ThreadPoolExecutor(max_workers=nthreads) if own_pool else executor
    window = 2 * (nthreads if executor is None else _executor_capacity(executor)) + 2
    bar = None
    if tqdm_cls is not None:
        bar = Progress(n_samples, "simulate", initial=reducer.done_samples())  # plain lines off a terminal
    last_write = time.monotonic()
    futures: dict[Future, int] = {}
    ok = False
    failure: BaseException | None = None

    def refill() -> None:
        while len(futures) < window:
            i = next(todo, None)
            if i is None:
                return
            try:
                futures[pool.submit(_run_chunk, make_task(i))] = i
            except Exception as exc:
                raise SimulationError(f"executor {type(pool).__name__} refused chunk {i}: {exc}") from exc

    def completed() -> Iterator[tuple[int, Callable[[], tuple[int, _Moments]]]]:
        """(chunk index, result getter) as chunks finish; inline when there is no pool."""
        if pool is None:
            for i in todo:
                yield i, functools.partial(_run_chunk, make_task(i))
            return
        refill()
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for f in sorted(done, key=futures.__getitem__):
                yield futures.pop(f), f.result
            refill()

    try:
        with _blas_pinned():
            for i, get in completed():
                try:
                    idx, mom = get()
                except Exception as exc:
                    raise SimulationError(_fail_msg(i, n_chunks, reducer, ckpt_path, exc)) from exc
                _accept(reducer, i, idx, mom, chunk_len(i), G, T)
                if bar is not None:
                    bar.update(mom.n)
                if ckpt_path is not None and time.monotonic() - last_write >= interval:
                    write_ckpt()
                    last_write = time.monotonic()
        ok = True
    except BaseException as exc:
        failure = exc
        raise
    finally:
        # Cleanup runs to its end even through further Ctrl-C (each step is
        # short and retried): the checkpoint is written and no thread is left.
        again = False
        try:
            # In-flight chunks are no longer wanted: they stop at their next
            # block boundary (about 0.1 s), queued ones never start.
            stop.set()
            for f in futures:
                f.cancel()
            if not ok:
                _harvest(futures, reducer, chunk_len, G, T)
            if bar is not None:
                bar.close()
            saved = False
            if ckpt_path is not None:
                # Saved on success and on failure/interrupt alike, before
                # waiting for the workers: completed chunks are never lost.
                # A failing write must not mask the original exception.
                try:
                    again |= _through_interrupts(write_ckpt)
                    saved = True
                except Exception:
                    if ok:
                        raise
            if isinstance(failure, KeyboardInterrupt) and saved:
                _add_note(failure, f"simulate: the {reducer.done_samples()} completed samples are saved in "
                                   f"checkpoint {ckpt_path!r}; rerun the same call (or command) to resume")
            # Never return (or raise) while our threads still compute.
            if own_pool and pool is not None:
                again |= _through_interrupts(lambda: pool.shutdown(wait=True, cancel_futures=True))
            elif futures:
                again |= _through_interrupts(lambda: wait(list(futures)))
        finally:
            _STOP_FLAGS.pop(token, None)
        if again and not isinstance(failure, KeyboardInterrupt):
            raise KeyboardInterrupt  # the Ctrl-C that arrived during cleanup (chains the failure, if any)

    if reducer.next != n_chunks or reducer.pending or reducer.prefix.n != n_samples:
        raise SimulationError(  # pragma: no cover - guarded by the loop above
            f"internal error: {reducer.prefix.n} of {n_samples} samples reduced")
    return _make_result(reducer.prefix, tau_arr, t_arr, gs, scalar_g, model, params, method, chunk_size, fp)


def _harvest(futures: dict[Future, int], reducer: _Reducer, chunk_len: Callable[[int], int], G: int, T: int) -> None:
    """Keep chunks that finished successfully but were not reduced yet when the run failed.

    They go into the checkpoint as pending chunks instead of being computed again.
    """
    for f, i in sorted(futures.items(), key=lambda item: item[1]):
        if not f.done() or f.cancelled() or f.exception() is not None:
            continue
        try:
            idx, mom = f.result()
            _accept(reducer, i, idx, mom, chunk_len(i), G, T)
        except Exception:  # a malformed result is simply recomputed on resume
            continue


def _through_interrupts(step: Callable[[], Any]) -> bool:
    """Run a short cleanup ``step`` to completion, retrying it if Ctrl-C interrupts it.

    Returns whether a KeyboardInterrupt arrived meanwhile.  The steps (an
    atomic checkpoint write, joining workers that stop at their next block)
    take well under a second; a second Ctrl-C during them would otherwise
    lose the checkpoint or leave running threads behind ("Exception ignored
    in threading._shutdown" at exit).
    """
    hit = False
    while True:
        try:
            step()
            return hit
        except KeyboardInterrupt:
            hit = True


def _add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` (Python >= 3.11; shown under the traceback and by the CLI)."""
    add = getattr(exc, "add_note", None)
    if add is not None:
        add(note)
    else:  # pragma: no cover - Python 3.10
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]


def _fail_msg(i: int, n_chunks: int, reducer: _Reducer, ckpt: str | None, exc: BaseException) -> str:
    where = (f"; the {reducer.done_samples()} completed samples are saved in checkpoint {ckpt!r}, rerun to resume"
             if ckpt is not None else "")
    return f"chunk {i} of {n_chunks} failed with {type(exc).__name__}: {exc}{where}"


def _accept(reducer: _Reducer, i: int, idx: int, mom: _Moments, size: int, G: int, T: int) -> None:
    """Check a chunk result before it enters the reduction (executors can misbehave)."""
    if idx != i or mom.n != size or mom.mean.shape != (G, T) or mom.ipr_m2.shape != (G, G):
        raise SimulationError(f"chunk {i}: executor returned a result for chunk {idx} with {mom.n} samples")
    reducer.add(i, mom)


def _make_result(m: _Moments, tau: np.ndarray, t: np.ndarray, gs: np.ndarray | None, scalar_g: bool,
                 model: Any, params: dict[str, Any], method: str, chunk_size: int,
                 fp: dict[str, Any]) -> SimulationResult:
    n = m.n
    if n > 1:
        var = m.m2 / (n - 1)
        std = np.sqrt(var)
        sem = np.sqrt(var / n)
        cov = m.ipr_m2 / (n * (n - 1))
    else:
        std = np.full_like(m.mean, np.nan)
        sem = np.full_like(m.mean, np.nan)
        cov = np.full_like(m.ipr_m2, np.nan)
    p_res_sem = np.sqrt(np.diagonal(cov)).copy()
    models = [model] if gs is None else [_model_with_g(model, float(gk)) for gk in gs]
    g_arr = np.array([float(getattr(mk, "g", np.nan)) for mk in models])
    gamma_arr = np.array([float(getattr(mk, "gamma", np.nan)) for mk in models])
    meta = {
        "model": params,
        "method": method,
        "chunk_size": chunk_size,
        "seed": fp["seed"],
        "common_random_numbers": gs is not None and gs.size > 1,
        "fgrkern_version": __version__,
        "numpy_version": np.__version__,
    }
    if scalar_g:
        return SimulationResult(
            tau=tau, t=t, mean=m.mean[0], sem=sem[0], std=std[0], n_samples=n,
            p_res=float(m.ipr_mean[0]), p_res_sem=float(p_res_sem[0]), p_res_cov=float(cov[0, 0]),
            g=float(g_arr[0]), gamma=float(gamma_arr[0]), metadata=meta)
    return SimulationResult(
        tau=tau, t=t, mean=m.mean, sem=sem, std=std, n_samples=n, p_res=m.ipr_mean.copy(),
        p_res_sem=p_res_sem, p_res_cov=cov, g=g_arr.copy(), gamma=gamma_arr, metadata=meta)
