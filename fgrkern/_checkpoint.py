"""Private: crash-safe .npz files and the JSON metadata convention.

Result and checkpoint files are plain ``numpy.savez`` archives.  Their
metadata is one JSON document stored as a 0-d unicode array under the key
``"metadata"``, so that ``json.loads(np.load(path)["metadata"][()])`` reads it
without fgrkern and without ``allow_pickle``.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Mapping

import numpy as np

__all__ = ["check_writable_path", "read_npz", "write_npz_atomic"]


def check_writable_path(path: Any, name: str) -> str:
    """Validate an output path (str or PathLike); its directory must exist."""
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    if p == "":
        raise ValueError(f"{name} must not be an empty path")
    directory = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(directory):
        raise ValueError(f"{name}: directory {directory!r} does not exist (for path {p!r})")
    if os.path.isdir(p):
        raise ValueError(f"{name}: {p!r} is a directory, expected a file path")
    return p


def write_npz_atomic(path: str, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> None:
    """Write ``arrays`` and JSON ``metadata`` to ``path`` atomically.

    The archive is written to a temporary file in the same directory, flushed
    to disk and renamed over ``path`` (``os.replace`` is atomic on POSIX and
    Windows), so a crash at any moment leaves either the old file or the new
    one, never a truncated archive.
    """
    directory = os.path.dirname(os.path.abspath(path))
    payload = dict(arrays)
    payload["metadata"] = np.array(json.dumps(metadata, sort_keys=True))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    # Make the rename itself durable where the platform allows it.
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)


def read_npz(path: Any, name: str, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read an archive written by :func:`write_npz_atomic`; check its ``format`` is ``kind``."""
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file {p!r}") from None
    except Exception as exc:
        raise ValueError(f"{name}: {p!r} is not a readable .npz archive ({exc})") from None
    if "metadata" not in arrays:
        raise ValueError(f"{name}: {p!r} has no 'metadata' entry; it was not written by fgrkern")
    try:
        meta = json.loads(str(arrays.pop("metadata")[()]))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: {p!r} has unreadable metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != kind:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"{name}: {p!r} is not a {kind} file (format {found!r})")
    return arrays, meta
