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
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    kind = arr.dtype.kind
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


def check_real_scalar(x: Any, name: str, *, finite: bool = True) -> float:
    """Return ``x`` as a Python float; it must be a real scalar."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
            x = x.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    v = float(x)
    if finite and not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def check_positive_int(x: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``x`` as an int >= ``minimum``."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        v = operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(x).__name__}") from None
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def parse_symmetry(symmetry: Any, name: str = "symmetry") -> str:
    """Normalise a symmetry-class name to "GUE", "GOE" or "GSE"."""
    if not isinstance(symmetry, str):
        raise TypeError(f"{name} must be a string (GUE/GOE/GSE or U/O/S), got {type(symmetry).__name__}")
    key = symmetry.strip().lower()
    if key not in _SYMMETRIES:
        raise ValueError(f"unknown {name} {symmetry!r}: expected one of GUE, GOE, GSE (or U, O, S)")
    return _SYMMETRIES[key]


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


def resolve_workers(workers: Any, name: str = "workers") -> int:
    """Number of threads: None -> usable cores; -1 -> usable cores; else >= 1."""
    import os

    if workers is None or (not isinstance(workers, bool) and isinstance(workers, numbers.Integral) and workers == -1):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    return check_positive_int(workers, name)


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping, or None if unknown.

    Linux: ``MemAvailable`` from /proc/meminfo, lowered to the cgroup (v2 or
    v1) limit minus current usage when a container limit is set.
    Elsewhere: physical memory from ``os.sysconf`` when available.
    """
    import os

    avail: int | None = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            with open(limit_file) as fh:
                raw = fh.read().strip()
            if raw == "max":
                continue
            with open(usage_file) as fh:
                used = int(fh.read().strip())
            room = max(0, int(raw) - used)
        except (OSError, ValueError):
            continue
        if room < (1 << 60):  # v1 reports "no limit" as a huge number
            avail = room if avail is None else min(avail, room)
    if avail is None:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            return None
    return avail


def check_allocation(nbytes: int, what: str) -> None:
    """Raise MemoryError up front if ``nbytes`` exceed the memory available now.

    Allocating first and failing later is worse on Linux: with memory
    overcommit a too-large ``numpy.empty`` succeeds and the process is killed
    by the OOM killer once the pages are touched.
    """
    if nbytes <= (64 << 20):  # small requests: not worth a system query
        return
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise MemoryError(
            f"{what} needs {nbytes / 2**30:.3g} GiB but only {avail / 2**30:.3g} GiB of memory is available"
        )
