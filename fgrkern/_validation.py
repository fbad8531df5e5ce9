"""Private: input validation shared by the public API.

Every public function validates its arguments here, so that bad input raises a
clear ``ValueError``/``TypeError`` naming the argument instead of reaching the
compiled code.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np

__all__ = [
    "as_float_array",
    "as_generator",
    "as_seed_sequence",
    "available_memory",
    "check_allocation",
    "check_positive_int",
    "check_real_scalar",
    "cgroup_memory_room",
    "increasing_times",
    "nonneg_vector",
    "parse_method",
    "parse_symmetry",
    "resolve_workers",
]

_SYMMETRIES = {
    "gue": "GUE", "u": "GUE",
    "goe": "GOE", "o": "GOE",
    "gse": "GSE", "s": "GSE",
}


def as_float_array(x: Any, name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """Convert ``x`` to a float64 ndarray, rejecting types that are not real numbers.

    The result is native-endian and aligned (a copy is made if needed).
    Integer and lower-precision float input is converted; complex, boolean,
    object, string and other dtypes raise ``TypeError``.  Non-finite values
    raise ``ValueError`` unless ``allow_nonfinite``.
    """
    if _is_masked(x):
        # np.asarray silently drops the mask: the masked values would be used
        raise TypeError(f"{name} is a numpy masked array (np.ma); pass a plain array "
                        f"(e.g. {name}.compressed() or {name}.filled(value))")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    kind = arr.dtype.kind
    if kind == "O" and arr.size and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                        for v in arr.flat):
        raise ValueError(f"{name} contains integers beyond the double range (|x| > ~1.8e308)")
    if kind not in "iuf":
        raise TypeError(
            f"{name} must contain real numbers (int or float), got dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64, copy=False)
    if not arr.flags.aligned:
        # e.g. np.frombuffer at an odd offset: C code must never load a
        # misaligned double (undefined behaviour; UBSan flags it)
        arr = arr.copy()
    if not allow_nonfinite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _is_masked(x: Any, depth: int = 0) -> bool:
    """Whether ``x`` is a masked array, or a (nested) list/tuple holding one."""
    if isinstance(x, np.ma.MaskedArray):
        return True
    if isinstance(x, (list, tuple)) and depth < 32:
        return any(isinstance(v, (np.ma.MaskedArray, list, tuple)) and _is_masked(v, depth + 1) for v in x)
    return False


def check_real_scalar(x: Any, name: str) -> float:
    """Return ``x`` as a finite Python float; it must be a real scalar."""
    if isinstance(x, np.ma.MaskedArray):  # np.ma.masked included: its value is meaningless
        raise TypeError(f"{name} must be a real number, got a numpy masked array")
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
            x = x.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    try:
        v = float(x)
    except OverflowError:  # an int beyond the double range
        digits = len(str(abs(int(x)))) if isinstance(x, numbers.Integral) else 0
        raise ValueError(f"{name} is beyond the double range (an integer of {digits} digits; "
                         "the largest double is ~1.8e308)") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def nonneg_vector(x: Any, name: str, what: str) -> np.ndarray:
    """A non-empty, non-negative, finite 1-D float array (scalars promoted); ``what`` names one element."""
    arr = as_float_array(x, name)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or one-dimensional, got shape {arr.shape}")
    arr = np.atleast_1d(arr).copy()
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one {what}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, got min({name}) = {arr.min()}")
    return arr


def increasing_times(tau: Any, name: str = "tau") -> np.ndarray:
    """Non-negative, strictly increasing times as a 1-D float array."""
    tt = nonneg_vector(tau, name, "time")
    bad = np.flatnonzero(np.diff(tt) <= 0)
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"{name} must be strictly increasing; {name}[{k}] = {tt[k]} >= {name}[{k + 1}] = {tt[k + 1]}")
    return tt


def check_positive_int(x: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``x`` as an int >= ``minimum`` (and <= ``maximum`` if given)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        v = operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}") from None
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def _parse_name(value: Any, name: str, table: dict[str, str], short: str, expected: str) -> str:
    """``table[value.strip().lower()]``; TypeError/ValueError naming ``name`` otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string ({short}), got {type(value).__name__}")
    key = value.strip().lower()
    if key not in table:
        raise ValueError(f"unknown {name} {value!r}: expected {expected}")
    return table[key]


def parse_symmetry(symmetry: Any, name: str = "symmetry") -> str:
    """Normalise a symmetry-class name to "GUE", "GOE" or "GSE"."""
    return _parse_name(symmetry, name, _SYMMETRIES, "GUE/GOE/GSE or U/O/S", "one of GUE, GOE, GSE (or U, O, S)")


#: Sampling methods of the level-dot model (see ``LevelDotModel.sample``).
METHODS = ("secular", "dense")


def parse_method(method: Any, name: str = "method") -> str:
    """Normalise a sampling-method name to one of :data:`METHODS`."""
    return _parse_name(method, name, {m: m for m in METHODS}, "'secular' or 'dense'", "'secular' or 'dense'")


def as_seed_sequence(rng: Any, name: str = "rng") -> np.random.SeedSequence:
    """A SeedSequence from None, an int, a SeedSequence or a Generator.

    A Generator contributes fresh entropy drawn from it (so it advances), which
    keeps results reproducible for a seeded Generator.
    """
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**63, size=4, dtype=np.uint64).tolist())
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"{name} must be None, an int, a SeedSequence or a Generator, got bool")
    if isinstance(rng, (numbers.Integral, np.integer)):
        if int(rng) < 0:
            raise ValueError(f"{name} seed must be non-negative, got {int(rng)}")
        return np.random.SeedSequence(int(rng))
    raise TypeError(
        f"{name} must be None, an int, a SeedSequence or a numpy Generator, got {type(rng).__name__}"
        " (the legacy RandomState / global numpy state is deliberately not supported)"
    )


def as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """A numpy Generator from None, an int, a SeedSequence or a Generator (used as is)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.Generator(np.random.PCG64(as_seed_sequence(rng, name)))


#: Threads per CPU beyond which a ``workers`` request is clamped: the compiled
#: loops are CPU bound, more threads only cost memory and start-up time.
MAX_THREADS_PER_CPU = 4


def max_workers() -> int:
    """Largest thread count used: MAX_THREADS_PER_CPU per CPU of the machine."""
    import os

    return MAX_THREADS_PER_CPU * max(1, os.cpu_count() or 1)


def resolve_workers(workers: Any, name: str = "workers") -> int:
    """Number of threads: None or -1 -> usable cores; else >= 1, clamped to :func:`max_workers`.

    Results never depend on the number of threads, so clamping an absurd
    request (``workers=10**9``) changes nothing but the cost of honouring it
    (a thread, a work list or a round-robin index per worker).
    """
    import os

    if workers is None or (not isinstance(workers, bool) and isinstance(workers, numbers.Integral) and workers == -1):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    return min(check_positive_int(workers, name), max_workers())


#: Requests below this many bytes are not checked (not worth the file reads).
_CHECK_THRESHOLD = 8 << 20
#: cgroup v1 reports "no limit" as a huge number (2^63 rounded to pages).
_NO_LIMIT = 1 << 60
_CGROUP_ROOT = "/sys/fs/cgroup"
_PROC_SELF_CGROUP = "/proc/self/cgroup"


class InsufficientMemoryError(MemoryError, ValueError):
    """A request needs more memory than is available (raised before allocating).

    Both a MemoryError (what it is) and a ValueError (the argument asks for
    too much), so either ``except`` clause catches it.
    """


def _read_text(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_paths(text: str) -> tuple[str | None, str | None]:
    """(v2 path, v1 memory-controller path) of this process from /proc/self/cgroup."""
    v2 = v1 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        elif "memory" in parts[1].split(","):
            v1 = parts[2]
    return v2, v1


def _ancestors(base: str, rel: str | None) -> list[str]:
    """base/rel, its parents up to base (the limits of every level apply)."""
    out = [base]
    if rel:
        acc = base
        for part in rel.strip("/").split("/"):
            if part in ("", ".", ".."):
                continue
            acc = acc + "/" + part
            out.append(acc)
    return out[::-1]


def _reclaimable(directory: str, key: str) -> int:
    """Page cache a cgroup can drop (inactive file pages), from its memory.stat."""
    text = _read_text(directory + "/memory.stat") or ""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return 0


def cgroup_memory_room(root: str = _CGROUP_ROOT, proc_self_cgroup: str = _PROC_SELF_CGROUP) -> int | None:
    """Bytes the cgroup limits still allow this process, or None without a limit.

    cgroup v2 (``memory.max`` - ``memory.current``, "max" = no limit, at the
    unified root or the hybrid ``unified/`` mount) and v1
    (``memory/memory.limit_in_bytes`` - ``memory.usage_in_bytes``), for the
    process's own group and every ancestor; usage excludes inactive page
    cache (reclaimable).  The smallest room wins.
    """
    v2, v1 = _cgroup_paths(_read_text(proc_self_cgroup) or "")
    layouts = (
        (root, v2, "memory.max", "memory.current", "inactive_file"),
        (root + "/unified", v2, "memory.max", "memory.current", "inactive_file"),
        (root + "/memory", v1, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
    )
    rooms = []
    for base, rel, limit_name, usage_name, cache_key in layouts:
        for d in _ancestors(base, rel):
            raw = _read_text(f"{d}/{limit_name}")
            if raw is None or raw.strip() == "max":
                continue
            try:
                limit = int(raw.strip())
            except ValueError:
                continue
            if limit >= _NO_LIMIT:
                continue
            try:
                used = int((_read_text(f"{d}/{usage_name}") or "0").strip())
            except ValueError:
                used = 0
            rooms.append(max(0, limit - max(0, used - _reclaimable(d, cache_key))))
    return min(rooms) if rooms else None


def _meminfo_available(path: str = "/proc/meminfo") -> int | None:
    for line in (_read_text(path) or "").splitlines():
        if line.startswith("MemAvailable:"):
            try:
                return int(line.split()[1]) * 1024
            except (IndexError, ValueError):
                return None
    return None


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping, or None if unknown.

    Linux: ``MemAvailable`` from /proc/meminfo, lowered to the room left by
    the cgroup (v2 or v1) limits (:func:`cgroup_memory_room`).  Elsewhere:
    physical memory from ``os.sysconf`` when available.
    """
    import os

    candidates = [v for v in (_meminfo_available(), cgroup_memory_room()) if v is not None]
    if candidates:
        return min(candidates)
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_allocation(nbytes: float, what: str) -> None:
    """Raise :class:`InsufficientMemoryError` up front if ``nbytes`` exceed the memory available now.

    The one memory guard of the package: every allocation that grows with
    the arguments estimates its peak here first.  Allocating first and
    failing later is worse on Linux: with memory overcommit a too-large
    ``numpy.empty`` succeeds and the process is killed by the OOM killer
    once the pages are touched.  ``what`` names the argument(s) responsible.
    """
    if nbytes <= _CHECK_THRESHOLD:
        return
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise InsufficientMemoryError(
            f"{what} needs about {nbytes / 2**30:.3g} GiB but only {avail / 2**30:.3g} GiB of memory is "
            "available (free memory and container limits)"
        )
