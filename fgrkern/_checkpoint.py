"""Private: the checkpoint format of :func:`fgrkern.simulate` (fingerprint, seed record, reduction state).

A checkpoint is a ``.npz`` archive written through :mod:`fgrkern._files`:
the reduction state (merged prefix of chunks plus chunks that finished out
of order) as arrays, and a JSON fingerprint of the run (model, method, tau,
sample count, chunking, couplings, seed, fgrkern version).  A run resumes
only from a checkpoint with the same fingerprint, and every count in it is
checked against the run before it is trusted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from typing import Callable, Iterator

import numpy as np

from ._files import read_npz, sibling_name, to_json_value, write_npz_atomic
from ._moments import Moments, OrderedReduction
from ._version import __version__

__all__ = ["CHECKPOINT_FORMAT", "FILE_VERSION", "CheckpointWriteWarning", "fingerprint", "seed_record",
           "seed_from_record", "load", "save", "locked", "lock_path", "remove_unless_in_use"]


class CheckpointWriteWarning(UserWarning):
    """Writing the checkpoint of a running simulation failed (e.g. its disk is full).

    The run goes on (a periodic write is retried at the next interval) and a
    finished run still returns its result: only the protection against an
    interrupt is reduced to what the last successful write saved.  The
    message names the file and the error.  ``warnings.simplefilter("error",
    fgrkern.CheckpointWriteWarning)`` turns it into an exception instead.
    """

CHECKPOINT_FORMAT = "fgrkern.simulate-checkpoint"
FILE_VERSION = 1

JSON = dict[str, object]


def fingerprint(params: JSON, method: str, tau: np.ndarray, n_samples: int, chunk_size: int,
                gs: np.ndarray | None, seed: JSON) -> JSON:
    """Everything that defines the numbers of a run (two runs with equal fingerprints agree bitwise)."""
    return {
        "model": params,
        "method": method,
        "tau_sha256": hashlib.sha256(np.ascontiguousarray(tau, dtype="<f8").tobytes()).hexdigest(),
        "n_samples": n_samples,
        "chunk_size": chunk_size,
        "g": None if gs is None else to_json_value(gs),
        "seed": seed,
        "fgrkern_version": __version__,
    }


def seed_record(ss: np.random.SeedSequence) -> JSON:
    """JSON record of a SeedSequence (entropy as decimal strings: it may exceed 2^64)."""
    ent = ss.entropy
    ent_json = [str(int(v)) for v in ent] if isinstance(ent, (list, tuple, np.ndarray)) else str(int(ent))
    return {"entropy": ent_json, "spawn_key": [int(k) for k in ss.spawn_key], "pool_size": int(ss.pool_size)}


def seed_from_record(rec: JSON) -> np.random.SeedSequence:
    ent = rec["entropy"]
    entropy = [int(v) for v in ent] if isinstance(ent, list) else int(ent)  # type: ignore[arg-type]
    return np.random.SeedSequence(entropy, spawn_key=tuple(rec["spawn_key"]),  # type: ignore[arg-type]
                                  pool_size=rec["pool_size"])  # type: ignore[arg-type]


def save(path: str, reduction: OrderedReduction, fp: JSON) -> None:
    """Write the reduction state atomically (see :func:`fgrkern._files.safe_write`)."""
    write_npz_atomic(path, _to_arrays(reduction),
                     {"format": CHECKPOINT_FORMAT, "file_version": FILE_VERSION, "fingerprint": fp},
                     name="checkpoint", checkpoint=True)


def samples_saved(path: str) -> int | None:
    """How many samples the checkpoint at ``path`` holds, or None if it cannot be read as one."""
    try:
        arrays, _ = read_npz(path, "checkpoint", CHECKPOINT_FORMAT)
        return int(arrays["prefix_n"]) + int(np.sum(arrays.get("pending_n", np.zeros(0, dtype=np.int64))))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load(path: str, fp: JSON, rng_given: bool, G: int, T: int, n_chunks: int,
         chunk_len: Callable[[int], int]) -> tuple[OrderedReduction, JSON] | None:
    """The saved reduction and the fingerprint to continue with, or None if ``path`` does not exist.

    Raises ValueError naming the file for a checkpoint of another run or an
    inconsistent one.  With ``rng_given`` False the checkpoint's seed is adopted.
    """
    if not os.path.exists(path):
        return None
    arrays, meta = read_npz(path, "checkpoint", CHECKPOINT_FORMAT)
    old = meta.get("fingerprint", {})
    if not rng_given:
        # rng=None means "no seed chosen": resuming adopts the checkpoint's seed.
        fp = dict(fp, seed=old.get("seed"))
    diff = sorted(k for k in set(fp) | set(old) if fp.get(k) != old.get(k))
    if diff:
        raise ValueError(
            f"checkpoint {path!r} was written by a different simulation (differs in: {', '.join(diff)}); "
            "it cannot be resumed with these arguments. Delete the file to start afresh, or use another "
            "checkpoint path (another output for `fgrkern reproduce`)."
        )
    try:
        reduction = _from_arrays(arrays, G, T, n_chunks, chunk_len)
        model = fp.get("model")
        if isinstance(model, dict) and model.get("class") == "fgrkern.model.LevelDotModel":
            # its weights are >= 0 and sum to 1: every P and IPR lies in [0, 1]
            for m in [reduction.prefix, *reduction.pending.values()]:
                _check_unit_range(m)
    except ValueError as exc:
        raise ValueError(f"checkpoint {path!r} is inconsistent ({exc}); it cannot be resumed. "
                         "Delete the file to start afresh.") from None
    return reduction, fp


def _to_arrays(r: OrderedReduction) -> dict[str, np.ndarray]:
    a = r.prefix.arrays("prefix_")
    a["next_chunk"] = np.array(r.next, dtype=np.int64)
    ids = sorted(r.pending)
    a["pending_index"] = np.array(ids, dtype=np.int64)
    G, T = r.prefix.mean.shape
    stack = {
        "n": np.array([r.pending[i].n for i in ids], dtype=np.int64),
        "mean": np.array([r.pending[i].mean for i in ids]).reshape(-1, G, T),
        "m2": np.array([r.pending[i].m2 for i in ids]).reshape(-1, G, T),
        "ipr_mean": np.array([r.pending[i].ipr_mean for i in ids]).reshape(-1, G),
        "ipr_m2": np.array([r.pending[i].ipr_m2 for i in ids]).reshape(-1, G, G),
    }
    a.update({"pending_" + k: v for k, v in stack.items()})
    return a


def _entry(a: dict[str, np.ndarray], key: str, shape: tuple[int, ...], integer: bool = False) -> np.ndarray:
    """Entry ``key`` of a checkpoint, checked for kind, shape and finiteness."""
    if key not in a:
        raise ValueError(f"missing entry {key!r}")
    v = a[key]
    kind = "iu" if integer else "f"
    if v.dtype.kind not in kind or v.shape != shape:
        want = "integer" if integer else "float"
        raise ValueError(f"entry {key!r} has dtype {v.dtype} and shape {v.shape}, expected {want} of shape {shape}")
    if not integer and not np.all(np.isfinite(v)):
        raise ValueError(f"entry {key!r} contains non-finite values")
    return v.astype(np.int64 if integer else np.float64)


def _moments(a: dict[str, np.ndarray], prefix: str, ns: np.ndarray, K: tuple[int, ...], G: int,
             T: int) -> list[Moments]:
    mean, m2 = _entry(a, prefix + "mean", K + (G, T)), _entry(a, prefix + "m2", K + (G, T))
    im, im2 = _entry(a, prefix + "ipr_mean", K + (G,)), _entry(a, prefix + "ipr_m2", K + (G, G))
    if np.any(m2 < 0) or np.any(np.diagonal(im2, axis1=-2, axis2=-1) < 0):
        raise ValueError(f"entries {prefix}m2/{prefix}ipr_m2 have negative second moments")
    if not K:
        return [Moments(int(ns), mean, m2, im, im2)]
    return [Moments(int(ns[j]), mean[j], m2[j], im[j], im2[j]) for j in range(K[0])]


def _check_unit_range(m: Moments) -> None:
    """Moments of samples in [0, 1] (to rounding): means in [0, 1], centred second moments at most n/4."""
    tol = 1e-9
    if not (np.all(m.mean >= -tol) and np.all(m.mean <= 1 + tol) and np.all(m.ipr_mean >= -tol)
            and np.all(m.ipr_mean <= 1 + tol)):
        raise ValueError("means of P or of the IPR outside [0, 1], impossible for this model")
    bound = m.n / 4 * (1 + tol) + tol
    if np.any(m.m2 > bound) or np.any(np.abs(m.ipr_m2) > bound):
        raise ValueError(f"second moments above n/4 = {m.n / 4:g}, impossible for samples in [0, 1]")


def _from_arrays(a: dict[str, np.ndarray], G: int, T: int, n_chunks: int,
                 chunk_len: Callable[[int], int]) -> OrderedReduction:
    """Rebuild from :func:`_to_arrays`, checking every count against the run.

    A file can be a well-formed archive with the right fingerprint and still
    be impossible (edited, or written by a buggy version); trusting it would
    fail later, mid-run, or overwrite it.  Raises ValueError (without the
    "checkpoint" prefix, which the caller adds).
    """
    nxt = int(_entry(a, "next_chunk", (), integer=True))
    if not 0 <= nxt <= n_chunks:
        raise ValueError(f"next_chunk = {nxt} is outside [0, {n_chunks}] (chunks of this run)")
    prefix_n = int(_entry(a, "prefix_n", (), integer=True))
    want = 0 if nxt == 0 else chunk_len(0) * (nxt - 1) + chunk_len(nxt - 1)  # only the last chunk is short
    if prefix_n != want:
        raise ValueError(f"prefix_n = {prefix_n} does not match next_chunk = {nxt} ({want} samples)")
    if "pending_index" in a and a["pending_index"].ndim != 1:
        raise ValueError(f"entry 'pending_index' must be one-dimensional, got shape {a['pending_index'].shape}")
    ids = _entry(a, "pending_index", a.get("pending_index", np.zeros(0)).shape, integer=True).tolist()
    if len(set(ids)) != len(ids) or any(not nxt < i < n_chunks for i in ids):
        raise ValueError(f"pending_index {ids} must be distinct chunk indices in ({nxt}, {n_chunks})")
    K = len(ids)
    pn = _entry(a, "pending_n", (K,), integer=True)
    for i, n_i in zip(ids, pn.tolist()):
        if n_i != chunk_len(i):
            raise ValueError(f"pending chunk {i} has {n_i} samples, expected {chunk_len(i)}")
    r = OrderedReduction(G, T)
    r.prefix = _moments(a, "prefix_", np.array(prefix_n), (), G, T)[0]
    r.next = nxt
    for i, m in zip(ids, _moments(a, "pending_", pn, (K,), G, T)):
        r.pending[int(i)] = m
    return r


# ------------------------------------------------------------------ locking
# Two runs sharing one checkpoint path (e.g. the jobs of a batch array given the
# same --out) would replace each other's file: each would later resume, or
# report, the other's state.  A run therefore holds an exclusive advisory lock
# (flock) on a small sidecar file, CHECKPOINT.lock, from before it reads the
# checkpoint until after its last write; a second run on the same path is
# refused with a ValueError.  flock is released by the kernel when a process
# dies (kill -9 included): a lock file left behind is re-used, never an
# obstacle.  Where flock does not exist (Windows) runs are not locked.
_LOCK_MARK = b"fgrkern checkpoint lock\n"


def lock_path(path: str) -> str:
    """The sidecar lock file of checkpoint ``path``: ``path + ".lock"`` (a short hashed name if too long)."""
    return sibling_name(path, ".lock")


def _busy(path: str, lock: str) -> ValueError:
    return ValueError(f"checkpoint {path!r} is in use by another running fgrkern process (it holds the lock "
                      f"{lock!r}); wait for that run to finish, or give this one another checkpoint")


def _open_lock(lock: str, path: str) -> int | None:
    """A descriptor of the lock file holding our flock, or None where no file can be created."""
    import fcntl

    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(20):
        try:
            fd = os.open(lock, flags | os.O_CREAT, 0o600)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
                if os.path.lexists(lock) and exc.errno in (errno.EACCES, errno.EPERM):
                    raise ValueError(f"checkpoint lock {lock!r} exists and cannot be opened ({exc.strerror}); "
                                     "it is left alone") from None
                # a folder where nothing can be created (or a full disk): no run
                # can write a checkpoint there either
                return None
            if exc.errno == errno.ELOOP:
                raise ValueError(f"checkpoint lock {lock!r} is a symbolic link; it is left alone") from None
            if exc.errno == errno.EISDIR:
                raise ValueError(f"checkpoint lock {lock!r} is a directory; it is left alone") from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"checkpoint lock {lock!r} exists and is not a regular file; it is left alone")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _busy(path, lock) from None
            # the run that held it may have removed the file after we opened it
            try:
                now = os.stat(lock)
            except FileNotFoundError:
                now = None
            if now is None or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                os.close(fd)
                continue
            # Held: an empty file is ours (just created, or left by a run killed
            # between creating and marking it); a marked one a dead run's.
            content = os.pread(fd, len(_LOCK_MARK) + 1, 0)
            if not content:
                with contextlib.suppress(OSError):  # a full disk: the empty file still carries the lock
                    os.write(fd, _LOCK_MARK)
            elif content != _LOCK_MARK:
                raise ValueError(f"{lock!r} exists and was not written by fgrkern (it is the lock file name of "
                                 f"checkpoint {path!r}); it is left alone: move it away")
            return fd
        except BaseException:
            os.close(fd)
            raise
    raise _busy(path, lock)  # pragma: no cover - the file kept being replaced


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Hold the exclusive lock of checkpoint ``path`` (ValueError naming it if another process holds it)."""
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    # next to the file written: a symbolic link to a checkpoint shares its lock
    lock = lock_path(os.path.realpath(path))
    fd = _open_lock(lock, os.fspath(path))
    try:
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(lock)  # while still holding it: a waiting run sees the file change and retries
            os.close(fd)


def remove_unless_in_use(path: str) -> bool:
    """Delete this run's finished checkpoint, unless another run now uses it; True if removed."""
    try:
        with locked(path):
            os.unlink(path)
    except FileNotFoundError:
        return False
    except ValueError:
        return False  # another run holds it (a later run on the same path): leave it to that run
    return True
