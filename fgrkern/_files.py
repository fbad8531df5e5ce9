"""Private: safe output files, guarded .npz reading and the metadata schema.

Every file fgrkern writes (results, checkpoints, the outputs of ``fgrkern
reproduce``) goes through :func:`safe_write`:

- an existing target must be a regular file: a directory, FIFO, device node or
  socket is refused with ``ValueError`` naming the argument and is never
  opened (a FIFO would block) nor replaced (as root, renaming over
  ``/dev/null`` would turn the device into a zip file);
- symbolic links are followed: the file the link points to is replaced and
  the link itself stays (a dangling link creates its target);
- the data go to a temporary file with a short random name in the target's
  directory (never longer than NAME_MAX, whatever the target's name), are
  flushed and fsync'ed, then renamed over the target, and the directory is
  fsync'ed: a crash leaves the old file or the new one, never a torn file;
- a new file gets the usual permissions (0666 minus the umask); replacing a
  file keeps that file's permission bits (and, where permitted, its owner);
  a checkpoint always keeps owner read and write, which resuming needs;
- on any error, Ctrl-C included, the temporary file is removed and the old file
  is untouched (a SIGINT is held for the moments between creating the temporary
  file and recording it, and while removing it).

Result and checkpoint files are plain ``numpy.savez`` archives.  Their
metadata is one JSON document stored as a 0-d unicode array under the key
``"metadata"``, so that ``json.loads(np.load(path)["metadata"][()])`` reads it
without fgrkern and without ``allow_pickle``.  :func:`read_npz` treats a file
as untrusted: it reads only the members it knows, checks each array header
(dtype, shape, size) before reading the data, and validates the metadata
against a schema; any failure is one ``ValueError`` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import signal
import stat
import threading
import zipfile
from typing import IO, Any, Callable, Iterator, Mapping

import numpy as np

__all__ = [
    "check_writable_path", "open_regular", "probe_directory", "read_npz", "safe_write", "to_json_value",
    "write_npz_atomic", "validate_metadata",
]

# Largest member read from a compressed (deflated) archive member: a few
# kilobytes of crafted input can inflate to gigabytes.  Stored members are
# bounded by the file's own size, which is checked instead.
_MAX_INFLATED = 256 * 2**20
_MAX_METADATA_CHARS = 2**22  # 16 MiB of UTF-32
_MAX_DEPTH = 12
_MAX_POOL_SIZE = 1024  # numpy's default is 4; a forged 1e9 would allocate gigabytes


def to_json_value(x: Any, *, nonfinite_as_str: bool = False) -> Any:
    """``x`` with numpy arrays and scalars turned into JSON types (floats round-trip exactly).

    ``nonfinite_as_str``: write inf/nan as the strings "inf"/"nan" (strict JSON has
    no such numbers; Python's json module reads and writes them as Infinity/NaN).
    """
    if isinstance(x, np.ndarray):
        return [to_json_value(v, nonfinite_as_str=nonfinite_as_str) for v in x.tolist()]
    if isinstance(x, (np.floating, float)):
        v = float(x)  # json writes repr(): exact round trip
        return str(v) if nonfinite_as_str and not math.isfinite(v) else v
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (list, tuple)):
        return [to_json_value(v, nonfinite_as_str=nonfinite_as_str) for v in x]
    if isinstance(x, dict):
        return {str(k): to_json_value(v, nonfinite_as_str=nonfinite_as_str) for k, v in x.items()}
    return x


def _fspath(path: Any, name: str) -> str:
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    if not isinstance(p, str):
        raise TypeError(f"{name} must be a str path, got {type(p).__name__}")
    if p == "":
        raise ValueError(f"{name} must not be an empty path")
    if "\0" in p:
        raise ValueError(f"{name}: path {p!r} contains a NUL character")
    return p


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def check_writable_path(path: Any, name: str, *, checkpoint: bool = False) -> str:
    """Validate an output path (str or PathLike) and return it as a str.

    Raises ``ValueError`` naming ``name`` if the directory does not exist or
    the target (after following symbolic links) exists and is not a regular
    file, or is write-protected; ``TypeError`` for a non-path.
    ``checkpoint=True``: a checkpoint is replaced only after it was read and
    recognised as this run's own file, so its permission bits do not protect
    it (a strict umask gives fgrkern's own files no write bit).
    """
    p = _fspath(path, name)
    _target(p, name, checkpoint)
    return p


def _target(p: str, name: str, checkpoint: bool = False) -> str:
    """The file a write to ``p`` replaces: symbolic links resolved, checked as above."""
    if p.endswith(os.sep) or (os.altsep and p.endswith(os.altsep)):
        raise ValueError(f"{name}: {p!r} names a directory, expected a file path")
    target = os.path.realpath(p)
    directory = os.path.dirname(target)
    try:
        dst = os.stat(directory)
    except OSError as exc:
        raise ValueError(f"{name}: directory {directory!r} does not exist or cannot be used (for path {p!r}: "
                         f"{exc.strerror})") from None
    if not stat.S_ISDIR(dst.st_mode):
        raise ValueError(f"{name}: {directory!r} is not a directory (for path {p!r})")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise ValueError(f"{name}: cannot inspect {p!r} ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{name}: {p!r} exists and is {_kind(st.st_mode)}; fgrkern only replaces regular files")
    # Replacing goes through a rename, which a file's own permissions do not
    # stop: a file its owner made read-only, or one we may not write, is kept.
    if not checkpoint and (not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
                           or not os.access(target, os.W_OK)):
        raise ValueError(f"{name}: {p!r} exists and is write-protected; fgrkern does not replace it "
                         "(choose another path, or make it writable to allow that)")
    return target


def sibling_name(path: str, suffix: str) -> str:
    """``path + suffix``, or, where that name would exceed NAME_MAX (255 bytes), a short name
    in the same folder derived from the file name: ``.fgrkern-<16 hex digits><suffix>``.
    The same ``path`` always gives the same name (a rerun finds it again)."""
    import hashlib

    folder, base = os.path.split(os.fspath(path))
    name = base + suffix
    if len(os.fsencode(name)) > 255:
        name = ".fgrkern-" + hashlib.sha256(os.fsencode(base)).hexdigest()[:16] + suffix
    return os.path.join(folder, name)


def _temp_name(directory: str) -> str:
    # Short and random: a long target name plus a suffix could exceed NAME_MAX.
    return os.path.join(directory, f".fgrkern-{secrets.token_hex(6)}.tmp")


def probe_directory(path: Any, name: str, *, checkpoint: bool = False) -> str:
    """:func:`check_writable_path`, then prove a file can be created next to the target.

    Creates and removes an empty temporary file, which catches read-only and
    pseudo file systems (``/sys``, ``/proc``) that permission bits do not
    reveal when running as root.  Raises ``ValueError`` naming ``name``.
    """
    p = check_writable_path(path, name, checkpoint=checkpoint)
    directory = os.path.dirname(_target(p, name, checkpoint))
    for _ in range(8):
        tmp = _temp_name(directory)
        # a Ctrl-C between creating and removing the file must not leave it behind
        with _sigint_deferred():
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise ValueError(f"{name}: cannot create files in {directory!r} ({exc.strerror})") from None
            os.close(fd)
            os.unlink(tmp)
        return p
    raise ValueError(f"{name}: cannot create a temporary file in {directory!r}")  # pragma: no cover


def safe_write(path: Any, name: str, writer: Callable[[IO[bytes]], None], *, checkpoint: bool = False) -> str:
    """Atomically (re)write the file ``path`` with ``writer(binary_file)``; return the file written.

    See the module docstring for the guarantees (regular files only, links
    followed, umask honoured, existing mode kept, fsync of file and directory).
    On any error the temporary file is removed and the old file is untouched.
    """
    target = _target(_fspath(path, name), name, checkpoint)
    directory = os.path.dirname(target)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    tmp, fd, fh = "", -1, None
    try:
        # Python raises a Ctrl-C at the first check after a call returns: one
        # that arrives while os.open creates the file would otherwise come
        # before its name is recorded (the file left behind, the descriptor
        # leaked).  The SIGINT is held until the file object owns the descriptor.
        with _sigint_deferred():
            for _ in range(100):
                name_try = _temp_name(directory)
                try:
                    # 0o666: the kernel applies the umask, as for any new file.
                    fd = os.open(name_try, flags, 0o666)
                except FileExistsError:
                    continue
                tmp = name_try
                fh = os.fdopen(fd, "wb")
                break
            else:  # pragma: no cover
                raise OSError(errno.EEXIST, f"cannot create a temporary file in {directory!r}")
        with fh:
            if old is not None:
                _keep_owner_and_mode(fh.fileno(), old)
            if checkpoint:
                _owner_read_write(fh.fileno())
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # The target may have changed since the check: never rename over a non-regular file.
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"{name}: {path!r} became {_kind(st.st_mode)} while writing; not replaced")
        os.replace(tmp, target)
    except BaseException:
        if tmp:
            with _sigint_deferred():  # a second Ctrl-C must not skip the removal
                try:
                    if fh is not None:
                        fh.close()  # no-op if the with block closed it
                    else:
                        os.close(fd)
                except OSError:  # e.g. the final flush on a full disk
                    pass
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        raise
    _fsync_dir(directory)
    return target


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a SIGINT (or SIGTERM) that arrives inside the block and deliver it to the previous handler at the end.

    Only Python's main thread runs signal handlers (elsewhere nothing is
    raised, so nothing is held); a handler that is not a Python callable
    (ignored, default action) is left alone.  SIGTERM has a Python handler
    only where the command line turns it into an interrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [sig for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None))
            if sig is not None and callable(signal.getsignal(sig))]
    old = {sig: signal.getsignal(sig) for sig in sigs}
    held: list[tuple[int, Any]] = []
    for sig in sigs:
        signal.signal(sig, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        # A signal that trips while a handler is restored runs the restored
        # handler at once (KeyboardInterrupt): finish restoring every handler
        # first, or ours would stay installed and swallow that signal for good.
        raised: BaseException | None = None
        for sig in sigs:
            while True:
                try:
                    signal.signal(sig, old[sig])
                    break
                except KeyboardInterrupt as exc:
                    raised = raised or exc
        # SIGTERM (the stronger request) before SIGINT when both arrived
        term = [h for h in held if h[0] == getattr(signal, "SIGTERM", None)]
        if term:
            old[term[0][0]](*term[0])  # type: ignore[operator]
        if raised is not None:
            raise raised
        if held:
            old[held[0][0]](*held[0])  # type: ignore[operator]


def _owner_read_write(fd: int) -> None:
    """Add owner read and write to a checkpoint's bits: a strict umask (0477)
    would leave the run unable to read it back, breaking the promised resume."""
    if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
        return
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & 0o600 != 0o600:
        os.fchmod(fd, mode | 0o600)


def _keep_owner_and_mode(fd: int, old: os.stat_result) -> None:
    """Give the replacement the replaced file's permission bits (and owner, where allowed)."""
    if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
        return
    me = os.fstat(fd)
    if (me.st_uid, me.st_gid) != (old.st_uid, old.st_gid):
        try:  # root rewriting a user's file must not take it over
            os.fchown(fd, old.st_uid, old.st_gid)
        except OSError:
            pass
    os.fchmod(fd, stat.S_IMODE(old.st_mode))


def _fsync_dir(directory: str) -> None:
    """Make a rename durable where the platform allows it."""
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


def write_npz_atomic(path: str, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any],
                     name: str = "path", *, checkpoint: bool = False) -> str:
    """Write ``arrays`` and JSON ``metadata`` to ``path`` with :func:`safe_write`."""
    payload = dict(arrays)
    payload["metadata"] = np.array(json.dumps(metadata, sort_keys=True))
    return safe_write(path, name, lambda fh: np.savez(fh, **payload), checkpoint=checkpoint)


# ------------------------------------------------------------------- reading
def open_regular(p: str, name: str) -> IO[bytes]:
    """Open an existing regular file for reading without ever blocking on a FIFO."""
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file {p!r}") from None
    except OSError as exc:
        raise ValueError(f"{name}: cannot open {p!r} ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ValueError(f"{name}: {p!r} is {_kind(st.st_mode)}, not a regular file")
    return os.fdopen(fd, "rb")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, kinds: str, max_ndim: int,
                 file_size: int) -> np.ndarray:
    """One array, its header checked before any data is read."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"entry {key!r} uses an unsupported compression")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size > file_size:
        raise ValueError(f"entry {key!r} claims {info.file_size} bytes, more than the file holds")
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > _MAX_INFLATED:
        raise ValueError(f"entry {key!r} inflates to {info.file_size} bytes (at most {_MAX_INFLATED})")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"entry {key!r} has unsupported .npy format version {version}")
        if (dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None
                or (dtype.kind in "fiu" and dtype.itemsize != 8)):
            # fgrkern writes float64 and int64 only (either byte order is read correctly)
            raise ValueError(f"entry {key!r} has dtype {dtype}, not allowed here")
        if len(shape) > max_ndim:
            raise ValueError(f"entry {key!r} has shape {shape}, at most {max_ndim} dimensions allowed")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        header_len = fh.tell()
        if header_len + nbytes != info.file_size:
            raise ValueError(f"entry {key!r}: header declares {nbytes} data bytes, the entry holds "
                             f"{info.file_size - header_len}")
        if key == "metadata" and count * dtype.itemsize > 4 * _MAX_METADATA_CHARS:
            raise ValueError("metadata entry is too large")
        data = fh.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"entry {key!r} is truncated")
    arr = np.frombuffer(data, dtype=dtype, count=count)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    return arr.copy()


# key -> (allowed dtype kinds, max ndim) for each file format
_F, _I = "f", "iu"
_LAYOUTS: dict[str, dict[str, tuple[str, int]]] = {
    "fgrkern.SimulationResult": {
        **{k: (_F, 2) for k in ("tau", "t", "mean", "sem", "std", "p_res", "p_res_sem", "p_res_cov", "g",
                                "gamma")},
        "n_samples": (_I, 0),
    },
    "fgrkern.simulate-checkpoint": {
        "next_chunk": (_I, 0), "pending_index": (_I, 1), "prefix_n": (_I, 0), "pending_n": (_I, 1),
        **{f"prefix_{k}": (_F, 2) for k in ("mean", "m2", "ipr_mean", "ipr_m2")},
        **{f"pending_{k}": (_F, 3) for k in ("mean", "m2", "ipr_mean", "ipr_m2")},
    },
}


def read_npz(path: Any, name: str, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read an archive written by :func:`write_npz_atomic` as untrusted input.

    Only the members of format ``kind`` are read, each after checking its
    header; unknown members, a wrong ``format`` or metadata that fails
    :func:`validate_metadata` raise one ``ValueError`` naming ``name`` and the
    file.  ``FileNotFoundError`` if there is no such file.
    """
    p = _fspath(path, name)
    layout = _LAYOUTS[kind]
    fh = open_regular(p, name)
    try:
        size = os.fstat(fh.fileno()).st_size
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ValueError(f"{name}: {p!r} is not a readable .npz archive ({exc})") from None
        with zf:
            members: dict[str, zipfile.ZipInfo] = {}
            for info in zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key in members:
                    raise ValueError(f"{name}: {p!r} has the entry {key!r} twice")
                members[key] = info
            if "metadata" not in members:
                raise ValueError(f"{name}: {p!r} has no 'metadata' entry; it was not written by fgrkern")
            arrays: dict[str, np.ndarray] = {}

            def read(key: str, kinds: str, ndim: int) -> np.ndarray:
                try:
                    return _read_member(zf, members[key], key, kinds, ndim, size)
                except ValueError as exc:
                    raise ValueError(f"{name}: {p!r} is not a valid {kind} file: {exc}") from None
                except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
                    raise ValueError(f"{name}: {p!r} is not a readable .npz archive ({exc})") from None

            meta = _parse_metadata(read("metadata", "U", 0), p, name, kind)
            unknown = sorted(k for k in members if k != "metadata" and k not in layout)
            if unknown:
                raise ValueError(f"{name}: {p!r} has unknown entries {unknown}; it was not written by fgrkern "
                                 "(or not by this version)")
            for key in members:
                if key != "metadata":
                    arrays[key] = read(key, *layout[key])
    finally:
        fh.close()
    try:
        validate_metadata(meta, kind)
        if kind == "fgrkern.SimulationResult":
            _check_result_arrays(arrays, meta)
    except ValueError as exc:
        raise ValueError(f"{name}: {p!r} is not a valid {kind} file: {exc}") from None
    return arrays, meta


# ------------------------------------------------------------------- schema
def _parse_metadata(a: np.ndarray, p: str, name: str, kind: str) -> dict[str, Any]:
    try:
        meta = json.loads(str(a[()]))
    except RecursionError:
        raise ValueError(f"{name}: {p!r} has unreadable metadata (nested too deeply)") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: {p!r} has unreadable metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != kind:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"{name}: {p!r} is not a {kind} file (format {found!r})")
    return meta


def _depth(x: Any) -> int:
    """Nesting depth of a JSON value (iterative: no recursion limit)."""
    best, stack = 0, [(x, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            best = max(best, d)
            if d > _MAX_DEPTH:
                return d
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return best


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _check_seed(rec: Any, where: str) -> None:
    _need(isinstance(rec, dict), f"{where} must be an object")
    _need(set(rec) == {"entropy", "spawn_key", "pool_size"},
          f"{where} must have exactly entropy, spawn_key and pool_size")
    ent = rec["entropy"]
    vals = ent if isinstance(ent, list) else [ent]
    _need(0 < len(vals) <= 64, f"{where}.entropy must hold 1 to 64 numbers")
    for v in vals:
        _need(isinstance(v, str) and 0 < len(v) <= 1300 and v.isdigit() and v.isascii(),
              f"{where}.entropy must be non-negative integers written as strings")
    key = rec["spawn_key"]
    _need(isinstance(key, list) and len(key) <= 64 and all(_is_int(k) and 0 <= k < 2**64 for k in key),
          f"{where}.spawn_key must be a list of at most 64 non-negative integers < 2^64")
    ps = rec["pool_size"]
    _need(_is_int(ps) and 4 <= ps <= _MAX_POOL_SIZE, f"{where}.pool_size must be an integer in [4, {_MAX_POOL_SIZE}]")


def _check_model(m: Any, where: str, *, size_optional: bool = False) -> None:
    _need(isinstance(m, dict) and all(isinstance(k, str) for k in m), f"{where} must be an object")
    _need(isinstance(m.get("class"), str), f"{where}.class must be a string")
    # An N -> infinity extrapolation (method "extrapolate") has no size: n is null.
    if "n" in m and not (size_optional and m["n"] is None):
        _need(_is_int(m["n"]) and m["n"] >= 1, f"{where}.n must be a positive integer")


def validate_metadata(meta: Any, kind: str) -> None:
    """Check metadata against the schema of ``kind``; ``ValueError`` with the reason."""
    _need(isinstance(meta, dict), "metadata must be a JSON object")
    _need(_depth(meta) <= _MAX_DEPTH, f"metadata is nested deeper than {_MAX_DEPTH} levels")
    _need(_is_int(meta.get("file_version")) and meta["file_version"] == 1,
          f"file_version must be 1, got {meta.get('file_version')!r}")
    if kind == "fgrkern.simulate-checkpoint":
        fp = meta.get("fingerprint")
        _need(isinstance(fp, dict), "fingerprint must be an object")
        _check_model(fp.get("model"), "fingerprint.model")
        _need(isinstance(fp.get("method"), str), "fingerprint.method must be a string")
        h = fp.get("tau_sha256")
        _need(isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h),
              "fingerprint.tau_sha256 must be 64 hex digits")
        for k in ("n_samples", "chunk_size"):
            _need(_is_int(fp.get(k)) and fp[k] >= 1, f"fingerprint.{k} must be a positive integer")
        g = fp.get("g")
        _need(g is None or (isinstance(g, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                        and math.isfinite(v) and v >= 0 for v in g)),
              "fingerprint.g must be null or a list of non-negative numbers")
        _check_seed(fp.get("seed"), "fingerprint.seed")
        _need(isinstance(fp.get("fgrkern_version"), str), "fingerprint.fgrkern_version must be a string")
    else:
        _need(isinstance(meta.get("fgrkern_version"), str), "fgrkern_version must be a string")
        _need(isinstance(meta.get("method"), str), "method must be a string")
        # An N -> infinity extrapolation combines runs: it has no size, chunking or seed of its own
        # (those of its inputs are in its fit record).
        derived = meta["method"] == "extrapolate"
        _check_model(meta.get("model"), "model", size_optional=derived)
        if derived:
            _need(isinstance(meta.get("extrapolation"), dict), "extrapolation must be an object")
        else:
            _need(_is_int(meta.get("chunk_size")) and meta["chunk_size"] >= 1, "chunk_size must be a positive integer")
            _check_seed(meta.get("seed"), "seed")
        if "common_random_numbers" in meta:
            _need(isinstance(meta["common_random_numbers"], bool), "common_random_numbers must be true or false")


def _check_result_arrays(a: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    missing = [k for k in _LAYOUTS["fgrkern.SimulationResult"] if k not in a]
    _need(not missing, f"entries {missing} are missing")
    n = int(a["n_samples"])
    _need(n >= 1, f"n_samples must be >= 1, got {n}")
    tau = a["tau"]
    _need(tau.ndim == 1 and tau.size >= 1, f"tau must be one-dimensional and non-empty, got shape {tau.shape}")
    T = tau.size
    _need(a["t"].shape == (T,), f"t has shape {a['t'].shape}, expected {(T,)}")
    _need(bool(np.all(np.isfinite(tau)) and np.all(tau >= 0)), "tau must be finite and >= 0")
    scalar = a["p_res"].ndim == 0
    G = 1 if scalar else (a["p_res"].shape[0] if a["p_res"].ndim == 1 else -1)
    _need(G >= 1, f"p_res has shape {a['p_res'].shape}, expected () or (G,)")
    shapes = {"mean": (T,) if scalar else (G, T), "p_res_sem": () if scalar else (G,),
              "p_res_cov": () if scalar else (G, G), "g": () if scalar else (G,), "gamma": () if scalar else (G,)}
    shapes["sem"] = shapes["std"] = shapes["mean"]
    for k, shp in shapes.items():
        _need(a[k].shape == shp, f"{k} has shape {a[k].shape}, expected {shp}")
    if meta.get("method") == "extrapolate":
        _check_fit_record(meta["extrapolation"], shapes["mean"], shapes["p_res_sem"])


def _check_fit_record(rec: dict[str, Any], shape: tuple[int, ...], p_shape: tuple[int, ...]) -> None:
    """The fit record of an extrapolated result (see :func:`fgrkern.extrapolate`): types and array shapes."""
    order = rec.get("order")
    _need(_is_int(order) and 1 <= order <= 64, "extrapolation.order must be an integer >= 1")
    n_par = order + 1
    sizes = rec.get("sizes")
    _need(isinstance(sizes, list) and n_par <= len(sizes) <= 4096 and all(_is_int(v) and v >= 1 for v in sizes),
          f"extrapolation.sizes must be a list of at least {n_par} positive integers")
    ns = rec.get("n_samples")
    _need(isinstance(ns, list) and len(ns) == len(sizes) and all(_is_int(v) and v >= 1 for v in ns),
          "extrapolation.n_samples must be a positive integer per size")
    _need(rec.get("dof") == len(sizes) - n_par and _is_int(rec.get("dof")),
          "extrapolation.dof must be the number of sizes minus order + 1")
    _need(rec.get("exact") is (rec["dof"] == 0), "extrapolation.exact must be true exactly when dof is 0")
    want = {"chi2": shape, "coef": shape + (n_par,), "coef_sem": shape + (n_par,), "p_res_chi2": p_shape,
            "p_res_coef": p_shape + (n_par,), "p_res_coef_cov": p_shape + (n_par, n_par)}
    for k, shp in want.items():
        try:
            arr = np.array(rec.get(k), dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        _need(arr is not None and arr.shape == shp, f"extrapolation.{k} must be numbers of shape {shp}")
