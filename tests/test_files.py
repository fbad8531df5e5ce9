"""Files fgrkern writes and reads: never replace what is not ours, never hang, never trust a file.

Tests run as root in CI containers, where permission bits do not stop a
write: special files are made with ``os.mkfifo`` and sockets, device nodes
are only ever reached through symbolic links to /dev/null (and checked to be
left alone), and "unwritable" locations are pseudo file systems (/sys, /proc)
or paths under a regular file.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import socket
import stat
import threading
import zipfile

import numpy as np
import pytest

import fgrkern
from fgrkern import LevelDotModel, SimulationResult, simulate
from fgrkern import _files as ck
from fgrkern.figure2 import Figure2Config, check_outputs, output_files, reproduce

TAU = np.array([0.0, 0.1, 1.0])


def small_result(rng: int = 1, n: int = 6) -> SimulationResult:
    return simulate(LevelDotModel(8, 0.25), TAU, n, rng=rng, workers=1, chunk_size=2)


def no_hang(fn, timeout: float = 20.0):
    """Run fn in a thread; fail (instead of hanging the suite) if it blocks."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["exc"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn} blocked for {timeout} s"
    if "exc" in box:
        raise box["exc"]
    return box.get("value")


@pytest.fixture
def specials(tmp_path):
    """A FIFO, a unix socket, a directory and a symlink to /dev/null, by name."""
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock.npz"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    devlink = tmp_path / "devnull.npz"
    devlink.symlink_to(os.devnull)
    folder = tmp_path / "folder.npz"
    folder.mkdir()
    yield {"FIFO": fifo, "socket": sock_path, "character device": devlink, "directory": folder}
    sock.close()


def assert_untouched(specials):
    assert stat.S_ISFIFO(os.lstat(specials["FIFO"]).st_mode)
    assert stat.S_ISSOCK(os.lstat(specials["socket"]).st_mode)
    assert os.path.islink(specials["character device"])
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert specials["directory"].is_dir() and not any(specials["directory"].iterdir())


def leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".fgrkern-")]


# ------------------------------------------------------------- item: special files
@pytest.mark.parametrize("what", ["FIFO", "socket", "character device", "directory"])
def test_every_writer_refuses_non_regular_targets(specials, tmp_path, what):
    target = specials[what]
    res = small_result()
    with pytest.raises(ValueError, match=r"^path: .* exists and is a") as e:
        no_hang(lambda: res.save(target))
    assert what.split()[0].lower() in str(e.value).lower()
    with pytest.raises(ValueError, match="^checkpoint: "):
        no_hang(lambda: simulate(LevelDotModel(8, 0.25), TAU, 4, rng=1, workers=1, checkpoint=target))
    with pytest.raises(ValueError, match="^out: "):
        no_hang(lambda: ck.safe_write(target, "out", lambda fh: fh.write(b"x")))
    with pytest.raises(ValueError, match="^path: "):
        no_hang(lambda: SimulationResult.load(target))
    assert_untouched(specials)
    assert leftovers(tmp_path) == []


def test_reading_a_fifo_never_blocks(tmp_path):
    fifo = tmp_path / "ck.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        no_hang(lambda: ck.read_npz(fifo, "checkpoint", "fgrkern.simulate-checkpoint"))


def test_reproduce_checks_every_output_before_running(tmp_path, monkeypatch):
    import fgrkern.figure2 as f2

    monkeypatch.setattr(f2.compute, "compute", lambda *a, **k: pytest.fail("work started before the output check"))
    cfg = Figure2Config.from_preset("quick", samples=2, n=8)
    for name in output_files(plot=False):
        out = tmp_path / name.replace(".", "_")
        out.mkdir()
        os.mkfifo(out / name)
        with pytest.raises(ValueError, match="FIFO"):
            no_hang(lambda: reproduce(cfg, str(out), plot=False, progress=False))
        assert stat.S_ISFIFO(os.lstat(out / name).st_mode)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("mine")
    with pytest.raises(ValueError, match="not a directory"):
        check_outputs(str(not_a_dir), plot=True)
    with pytest.raises(ValueError, match="cannot create files"):
        check_outputs("/sys/fgrkern-test-out", plot=True)
    with pytest.raises(ValueError, match="cannot create files"):
        check_outputs("/sys/fgrkern-a/b/c", plot=True)
    with pytest.raises(ValueError, match="not a directory"):
        check_outputs(str(not_a_dir / "sub" / "dir"), plot=True)
    check_outputs(str(tmp_path / "new" / "nested" / "dir"), plot=True)  # created by reproduce, with parents
    assert not_a_dir.read_text() == "mine"


def test_reproduce_writes_every_output_through_safe_write(tmp_path, monkeypatch):
    # The files reproduce writes (CSV and JSON here; figures below) all go through safe_write.
    import fgrkern.figure2 as f2

    written = []
    real = f2.output.safe_write
    monkeypatch.setattr(f2.output, "safe_write", lambda p, n, w: written.append(os.path.basename(p)) or real(p, n, w))
    cfg = Figure2Config.from_preset("quick", samples=2, n=8, workers=1)
    summary = reproduce(cfg, str(tmp_path / "o"), plot=False, progress=False)
    assert sorted(written) == sorted(output_files(False)) == sorted(summary["files"])
    assert leftovers(tmp_path / "o") == []


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_figures_go_through_safe_write(tmp_path, ext, magic):
    pytest.importorskip("matplotlib")
    import fgrkern.figure2 as f2

    plt = f2.plot._pyplot()
    fig = plt.figure(figsize=(1, 1))
    try:
        os.mkfifo(tmp_path / f"fifo.{ext}")
        with pytest.raises(ValueError, match="FIFO"):
            no_hang(lambda: f2.output.savefig(fig, str(tmp_path / f"fifo.{ext}")))
        real = tmp_path / f"real.{ext}"
        real.write_bytes(b"old")
        os.chmod(real, 0o640)
        (tmp_path / f"link.{ext}").symlink_to(real)
        f2.output.savefig(fig, str(tmp_path / f"link.{ext}"))
    finally:
        plt.close(fig)
    assert real.read_bytes().startswith(magic) and stat.S_IMODE(os.stat(real).st_mode) == 0o640
    assert (tmp_path / f"link.{ext}").is_symlink() and leftovers(tmp_path) == []


# ------------------------------------------------------------- item: symbolic links
def test_symlink_is_written_through_and_kept(tmp_path):
    real = tmp_path / "real.npz"
    real.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    res = small_result()
    res.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    np.testing.assert_array_equal(SimulationResult.load(real).mean, res.mean)
    # A dangling link creates its target; a chain of links is followed to the end.
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "new.npz")
    chain = tmp_path / "chain.npz"
    chain.symlink_to(dangling)
    res.save(chain)
    assert chain.is_symlink() and dangling.is_symlink()
    assert SimulationResult.load(tmp_path / "new.npz").n_samples == res.n_samples
    # A link to a device is refused like the device itself.
    dev = tmp_path / "dev.npz"
    dev.symlink_to(os.devnull)
    with pytest.raises(ValueError, match="character device"):
        res.save(dev)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


# ------------------------------------------------------------- item: permissions
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        small_result().save(tmp_path / "r.npz")
        simulate(LevelDotModel(8, 0.25), TAU, 2, rng=1, workers=1, checkpoint=tmp_path / "c.npz")
        ck.safe_write(tmp_path / "t.csv", "out", lambda fh: fh.write(b"a\n"))
    finally:
        os.umask(old)
    for name in ("r.npz", "c.npz", "t.csv"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, name


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o600, 0o755])
def test_overwriting_keeps_the_mode(tmp_path, mode):
    p = tmp_path / "r.npz"
    p.write_bytes(b"old")
    os.chmod(p, mode)
    old = os.umask(0o077)
    try:
        small_result().save(p)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(p).st_mode) == mode
    assert SimulationResult.load(p).n_samples == 6


# ------------------------------------------------------------- item: NAME_MAX
@pytest.mark.parametrize("length", [240, 250, 255])
def test_long_names_up_to_name_max(tmp_path, length):
    name = "r" * (length - 4) + ".npz"
    res = small_result()
    res.save(tmp_path / name)
    assert SimulationResult.load(tmp_path / name).n_samples == res.n_samples
    # Checkpoints too (they are rewritten during the run).
    ckpt = tmp_path / ("c" * (length - 4) + ".npz")
    simulate(LevelDotModel(8, 0.25), TAU, 4, rng=1, workers=1, chunk_size=2, checkpoint=ckpt,
             checkpoint_interval=0)
    assert ckpt.exists() and leftovers(tmp_path) == []


def test_temp_names_are_short_and_in_the_target_directory(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(ck.os, "replace", lambda a, b: seen.append((a, b)) or real_replace(a, b))
    ck.safe_write(tmp_path / ("x" * 251 + ".csv"), "out", lambda fh: fh.write(b"1"))
    (tmp, dst), = seen
    assert os.path.dirname(tmp) == os.path.dirname(dst) == str(tmp_path)
    assert len(os.path.basename(tmp)) <= 32


# ------------------------------------------------------------- item: failed writes
def _full_disk(fh):
    fh.write(b"partial")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "r.npz"
    small_result(rng=1).save(p)
    before = p.read_bytes()

    with pytest.raises(OSError) as e:
        ck.safe_write(p, "path", _full_disk)
    assert e.value.errno == errno.ENOSPC
    assert p.read_bytes() == before and leftovers(tmp_path) == []
    # A failing fsync (e.g. EIO on a network file system) is not swallowed either.
    with pytest.raises(OSError):
        ck.safe_write(p, "path", lambda fh: os.close(fh.fileno()))
    assert p.read_bytes() == before and leftovers(tmp_path) == []


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _sigint_inside(fn):
    """``fn`` wrapped so that a real SIGINT arrives while it runs, after its work.

    Python raises KeyboardInterrupt at its next check (the loop's backward
    jump), i.e. where a Ctrl-C during the system call itself would surface:
    after the file exists, before the caller has recorded it.
    """
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        if ".fgrkern-" in str(args[0]):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
        return out
    return wrapped


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
@pytest.mark.parametrize("existing", [True, False])
def test_ctrl_c_while_creating_the_temp_file_leaves_nothing(tmp_path, monkeypatch, existing):
    p = tmp_path / "r.npz"
    if existing:
        small_result(rng=1).save(p)
    before = p.read_bytes() if existing else None
    fds = _open_fds()
    monkeypatch.setattr(ck.os, "open", _sigint_inside(os.open))
    with pytest.raises(KeyboardInterrupt):
        ck.safe_write(p, "path", lambda fh: fh.write(b"new"))
    monkeypatch.undo()
    assert leftovers(tmp_path) == []
    assert (p.read_bytes() == before) if existing else not p.exists()
    assert _open_fds() == fds
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_removing_the_temp_file_still_removes_it(tmp_path, monkeypatch):
    p = tmp_path / "r.npz"
    small_result(rng=1).save(p)
    before = p.read_bytes()

    real_unlink = os.unlink

    def unlink_after_sigint(path, *a, **k):
        # the signal comes first: without the hold, the removal would be skipped
        if ".fgrkern-" in str(path):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
        return real_unlink(path, *a, **k)

    monkeypatch.setattr(ck.os, "unlink", unlink_after_sigint)
    with pytest.raises(KeyboardInterrupt) as e:
        ck.safe_write(p, "path", _full_disk)
    monkeypatch.undo()
    assert isinstance(e.value.__context__, OSError)  # the write's own failure is kept
    assert p.read_bytes() == before and leftovers(tmp_path) == []


def test_ctrl_c_during_the_directory_probe_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ck.os, "open", _sigint_inside(os.open))
    with pytest.raises(KeyboardInterrupt):
        ck.probe_directory(tmp_path / "out.npz", "path")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_sigint_hold_outside_the_main_thread_and_with_custom_handlers(tmp_path):
    # worker threads never see KeyboardInterrupt: nothing is held there
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("w", ck.safe_write(tmp_path / "a.bin", "p",
                                                                          lambda fh: fh.write(b"x"))))
    t.start()
    t.join()
    assert (tmp_path / "a.bin").read_bytes() == b"x"
    # a user's own handler gets the held signal, once, after the file is recorded
    calls = []
    old = signal.signal(signal.SIGINT, lambda s, f: calls.append(s))
    try:
        real_open = os.open

        def open_then_signal(path, *a, **k):
            fd = real_open(path, *a, **k)
            if ".fgrkern-" in str(path):
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):
                    pass
                assert calls == []  # held while the file is not yet recorded
            return fd

        ck.os.open = open_then_signal
        try:
            ck.safe_write(tmp_path / "b.bin", "p", lambda fh: fh.write(b"y"))
        finally:
            ck.os.open = real_open
    finally:
        signal.signal(signal.SIGINT, old)
    assert calls == [signal.SIGINT]
    assert (tmp_path / "b.bin").read_bytes() == b"y" and leftovers(tmp_path) == []


def test_unwritable_locations_fail_before_work(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    for bad, needle in (("/sys/fgrkern-x.npz", "cannot create files"), ("/proc/fgrkern-x.npz", "cannot create"),
                        (plain / "x.npz", "not a directory|does not exist"), (tmp_path / "no" / "x.npz", "exist")):
        with pytest.raises(ValueError, match=needle):
            ck.probe_directory(bad, "out")
    with pytest.raises(ValueError, match="directory"):
        ck.probe_directory(str(tmp_path) + os.sep, "out")
    with pytest.raises(TypeError, match="out must be a path"):
        ck.probe_directory(b"x.npz", "out")
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------- items: hostile .npz files
def npy_bytes(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array(b, a, allow_pickle=False)
    return b.getvalue()


def write_zip(path, members: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for k, v in members.items():
            z.writestr(k, v)


def members_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def tampered(src, dst, meta_fn=None, **arrays) -> None:
    """Copy an fgrkern archive, changing its metadata (meta_fn) and/or arrays."""
    m = members_of(src)
    if meta_fn is not None:
        meta = json.loads(str(np.load(io.BytesIO(m["metadata.npy"]))[()]))
        out = meta_fn(meta)
        meta = meta if out is None else out
        m["metadata.npy"] = npy_bytes(np.array(meta if isinstance(meta, str) else json.dumps(meta)))
    for k, v in arrays.items():
        if v is None:
            m.pop(k + ".npy", None)
        else:
            m[k + ".npy"] = v if isinstance(v, bytes) else npy_bytes(np.asarray(v))
    write_zip(dst, m)


@pytest.fixture
def result_file(tmp_path):
    p = tmp_path / "good.npz"
    small_result().save(p)
    return p


@pytest.fixture
def checkpoint_file(tmp_path):
    p = tmp_path / "ck.npz"
    simulate(LevelDotModel(8, 0.25), TAU, 8, rng=3, workers=1, chunk_size=2, checkpoint=p)
    return p


def test_unknown_entries_are_not_decompressed(tmp_path, result_file, monkeypatch):
    # A bomb: 64 MB of zeros deflate to ~64 KB.  It must be rejected by name, never inflated.
    bomb = tmp_path / "bomb.npz"
    m = members_of(result_file)
    m["junk.npy"] = npy_bytes(np.zeros(8 * 2**20))
    write_zip(bomb, m, zipfile.ZIP_DEFLATED)
    assert os.path.getsize(bomb) < 2**20
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(
        getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    with pytest.raises(ValueError, match=r"^path: .*bomb.npz.* unknown entries \['junk'\]"):
        SimulationResult.load(bomb)
    assert "junk.npy" not in opened


@pytest.mark.parametrize("header_shape, why", [((10**9,), "header declares"), ((2**40, 2**30), "header declares"),
                                               ((3, 3, 3), "dimensions")])
def test_array_headers_are_checked_before_reading(tmp_path, result_file, header_shape, why):
    # A header that lies about the size: rejected from the header, nothing allocated.
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": header_shape})
    bad = tmp_path / "bad.npz"
    tampered(result_file, bad, mean=hdr.getvalue() + b"\0" * 64)
    with pytest.raises(ValueError, match=rf"^path: .*bad.npz.*{why}"):
        SimulationResult.load(bad)


def test_deflated_entries_are_size_capped(tmp_path, result_file, monkeypatch):
    monkeypatch.setattr(ck, "_MAX_INFLATED", 1000)
    m = members_of(result_file)
    m["mean.npy"] = npy_bytes(np.zeros(1000))
    bad = tmp_path / "big.npz"
    write_zip(bad, m, zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="inflates to"):
        SimulationResult.load(bad)


@pytest.mark.parametrize("value, needle", [
    (np.array(["a", "b", "c"]), "dtype <U1"),
    (np.array([1 + 1j, 0, 0]), "dtype complex128"),
    (np.array([True, False, True]), "dtype bool"),
    (np.array(["2020-01-01"] * 3, dtype="datetime64[D]"), "dtype datetime64"),
    (np.zeros(3, dtype=[("a", "<f8")]), "dtype"),
    (np.zeros(3, dtype=np.float16), "dtype float16"),
    (np.zeros(3, dtype=np.longdouble), "dtype float128|dtype float96"),
])
def test_wrong_dtypes_are_refused(tmp_path, result_file, value, needle):
    bad = tmp_path / "bad.npz"
    tampered(result_file, bad, tau=value)
    with pytest.raises(ValueError, match=rf"^path: .*{needle}"):
        SimulationResult.load(bad)


def test_object_arrays_and_duplicates_are_refused(tmp_path, result_file):
    pickled = io.BytesIO()
    np.lib.format.write_array(pickled, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    bad = tmp_path / "obj.npz"
    tampered(result_file, bad, tau=pickled.getvalue())
    with pytest.raises(ValueError, match="dtype object"):
        SimulationResult.load(bad)
    dup = tmp_path / "dup.npz"
    m = members_of(result_file)
    with zipfile.ZipFile(dup, "w") as z:
        for k, v in m.items():
            z.writestr(k, v)
        with pytest.warns(UserWarning, match="Duplicate"):
            z.writestr("tau.npy", m["tau.npy"])
    with pytest.raises(ValueError, match="twice"):
        SimulationResult.load(dup)


def _set(key, value):
    def f(meta):
        meta[key] = value
    return f


def _del(key):
    def f(meta):
        del meta[key]
    return f


def _deep(meta):
    return '{"format": "fgrkern.SimulationResult", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _seed(**kw):
    def f(meta):
        meta["seed"].update(kw)
    return f


@pytest.mark.parametrize("meta_fn, arrays, needle", [
    (_deep, {}, "nested too deeply"),
    (_set("x", [[[[[[[[[[[[[[1]]]]]]]]]]]]]]), {}, "nested deeper"),
    (_del("fgrkern_version"), {}, "fgrkern_version"),
    (_set("fgrkern_version", 3), {}, "fgrkern_version"),
    (_set("model", [1, 2]), {}, "model must be an object"),
    (_set("model", {"class": "x", "n": -3}), {}, r"model.n must be a positive"),
    (_set("chunk_size", 2.5), {}, "chunk_size"),
    (_set("seed", "nope"), {}, "seed must be an object"),
    (_seed(pool_size=10**9), {}, "pool_size"),
    (_seed(pool_size=4.0), {}, "pool_size"),
    (_seed(entropy="-5"), {}, "entropy"),
    (_seed(spawn_key=[-1]), {}, "spawn_key"),
    (_set("file_version", 99), {}, "file_version"),
    (_set("format", "something else"), {}, "is not a fgrkern.SimulationResult file"),
    (None, {"n_samples": np.array(-4)}, "n_samples must be >= 1"),
    (None, {"n_samples": np.array(4.0)}, "dtype float64"),
    (None, {"tau": np.array(["1", "2", "3"])}, "dtype <U1"),
    (None, {"t": np.zeros(5)}, r"t has shape \(5,\)"),
    (None, {"mean": np.zeros((2, 3))}, "mean has shape"),
    (None, {"p_res_cov": np.zeros(2)}, "p_res_cov has shape"),
    (None, {"sem": None}, r"entries \['sem'\] are missing"),
    (None, {"tau": np.array([0.0, np.nan, 1.0])}, "finite"),
    (None, {"n_samples": np.array(6, dtype=np.int8)}, "dtype int8"),
])
def test_result_metadata_and_shapes_follow_the_schema(tmp_path, result_file, meta_fn, arrays, needle):
    bad = tmp_path / "bad.npz"
    tampered(result_file, bad, meta_fn, **arrays)
    with pytest.raises(ValueError, match=r"^path: .*bad\.npz") as e:
        SimulationResult.load(bad)
    assert e.type is ValueError
    assert __import__("re").search(needle, str(e.value)), str(e.value)


def _fp(**kw):
    def f(meta):
        for k, v in kw.items():
            if v is KeyError:
                del meta["fingerprint"][k]
            else:
                meta["fingerprint"][k] = v
    return f


def _fp_seed(**kw):
    def f(meta):
        meta["fingerprint"]["seed"].update(kw)
    return f


@pytest.mark.parametrize("meta_fn, needle", [
    (_set("fingerprint", [1]), "fingerprint must be an object"),
    (_set("fingerprint", "x"), "fingerprint must be an object"),
    (_fp(n_samples=-8), "n_samples"),
    (_fp(n_samples=8.0), "n_samples"),
    (_fp(chunk_size=True), "chunk_size"),
    (_fp(g="0.5"), "fingerprint.g"),
    (_fp(tau_sha256="zz"), "tau_sha256"),
    (_fp(fgrkern_version=KeyError), "fgrkern_version"),
    (_fp_seed(pool_size=10**9), "pool_size"),
    (_fp_seed(pool_size=2), "pool_size"),
    (_fp_seed(spawn_key=[[1]]), "spawn_key"),
])
def test_checkpoint_metadata_follows_the_schema(tmp_path, checkpoint_file, meta_fn, needle, monkeypatch):
    bad = tmp_path / "bad.npz"
    tampered(checkpoint_file, bad, meta_fn)
    # rng=None adopts the checkpoint's seed: a forged seed must be refused before it is used.
    seeds = []
    real = np.random.SeedSequence
    monkeypatch.setattr(np.random, "SeedSequence", lambda *a, **k: seeds.append(k) or real(*a, **k))
    with pytest.raises(ValueError, match=rf"^checkpoint: .*bad\.npz.*{needle}"):
        simulate(LevelDotModel(8, 0.25), TAU, 8, workers=1, chunk_size=2, checkpoint=bad)
    assert all(k.get("pool_size", 4) <= 1024 for k in seeds)


def test_checkpoint_arrays_are_checked(tmp_path, checkpoint_file):
    bad = tmp_path / "bad.npz"
    tampered(checkpoint_file, bad, prefix_mean=np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        simulate(LevelDotModel(8, 0.25), TAU, 8, rng=3, workers=1, chunk_size=2, checkpoint=bad)
    tampered(checkpoint_file, bad, extra=np.zeros(3))
    with pytest.raises(ValueError, match=r"unknown entries \['extra'\]"):
        simulate(LevelDotModel(8, 0.25), TAU, 8, rng=3, workers=1, chunk_size=2, checkpoint=bad)


def test_big_endian_float64_is_read_correctly(tmp_path, result_file):
    # Another machine's byte order is a valid file, not an attack.
    other = tmp_path / "be.npz"
    mean = np.load(result_file)["mean"]
    tampered(result_file, other, mean=mean.astype(">f8"))
    np.testing.assert_array_equal(SimulationResult.load(other).mean, mean)


def test_valid_files_still_round_trip(result_file, checkpoint_file):
    res = SimulationResult.load(result_file)
    again = small_result()
    for k in SimulationResult._ARRAYS:
        np.testing.assert_array_equal(getattr(res, k), getattr(again, k))
    assert res.version == fgrkern.__version__
    # The complete checkpoint returns the same result as an uninterrupted run, bitwise.
    full = simulate(LevelDotModel(8, 0.25), TAU, 8, rng=3, workers=1, chunk_size=2)
    resumed = simulate(LevelDotModel(8, 0.25), TAU, 8, workers=1, chunk_size=2, checkpoint=checkpoint_file)
    np.testing.assert_array_equal(full.mean, resumed.mean)


def test_bit_flips_give_value_errors_only(tmp_path, result_file):
    data = bytearray(result_file.read_bytes())
    rng = np.random.default_rng(7)
    bad = tmp_path / "flip.npz"
    for _ in range(150):
        d = bytearray(data)
        i = int(rng.integers(len(d)))
        d[i] ^= 1 << int(rng.integers(8))
        bad.write_bytes(bytes(d))
        try:
            SimulationResult.load(bad)
        except ValueError as exc:
            assert str(exc).startswith("path: "), exc


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing owners needs root")
def test_root_overwriting_a_users_file_keeps_its_owner(tmp_path):
    p = tmp_path / "r.npz"
    p.write_bytes(b"old")
    os.chown(p, 12345, 23456)
    os.chmod(p, 0o640)
    small_result().save(p)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o640)


# Any JSON value at any key of valid metadata: loading ends in a result or one ValueError, never
# another exception (TypeError, AttributeError, RecursionError, MemoryError, ...).
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=4), kids, max_size=3),
    max_leaves=8)


@pytest.fixture(scope="module")
def fuzz_sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzzsrc")
    small_result(n=2).save(d / "result.npz")
    simulate(LevelDotModel(8, 0.25), TAU, 4, rng=3, workers=1, chunk_size=2, checkpoint=d / "checkpoint.npz")
    return {"result": d / "result.npz", "checkpoint": d / "checkpoint.npz"}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.sampled_from(["fingerprint", "seed", "model", "pool_size", "entropy", "spawn_key",
                                      "n_samples", "chunk_size", "g", "fgrkern_version", "n", "class"]),
                     min_size=1, max_size=3),
       value=_json, which=st.sampled_from(["result", "checkpoint"]))
def test_random_metadata_values_give_value_errors_only(fuzz_sources, tmp_path_factory, path, value, which):
    src = fuzz_sources[which]
    d = tmp_path_factory.mktemp("fuzz")

    def mutate(meta):
        node = meta
        for key in path[:-1]:
            nxt = node.get(key) if isinstance(node, dict) else None
            if not isinstance(nxt, dict):
                break
            node = nxt
        node[path[-1]] = value

    bad = d / "bad.npz"
    tampered(src, bad, mutate)
    try:
        if which == "result":
            SimulationResult.load(bad)
        else:
            simulate(LevelDotModel(8, 0.25), TAU, 4, workers=1, chunk_size=2, checkpoint=bad)
    except ValueError as exc:
        assert "bad.npz" in str(exc), exc


def test_json_values_of_numpy_types_and_non_finite_numbers():
    # One conversion serves results, checkpoints and summary.json: floats round-trip exactly
    # (repr), numpy scalars become Python ones, and strict JSON gets inf/nan as strings.
    import json

    from fgrkern._files import to_json_value

    x = {"f": np.float64(0.1) + np.float64(0.2), "i": np.int64(-3), "b": np.bool_(False),
         "a": np.array([[1.5, np.inf], [-np.inf, np.nan]]), 1: (np.float32(0.5),)}
    plain = to_json_value(x)
    assert json.loads(json.dumps(plain))["f"] == 0.1 + 0.2
    assert plain["i"] == -3 and type(plain["i"]) is int and plain["b"] is False and plain["1"] == [0.5]
    strict = to_json_value(x, nonfinite_as_str=True)
    assert strict["a"] == [[1.5, "inf"], ["-inf", "nan"]]
    json.dumps(strict, allow_nan=False)  # strict JSON: no Infinity/NaN tokens
    with pytest.raises(ValueError):
        json.dumps(plain, allow_nan=False)


def _on_int(signum, frame):
    raise KeyboardInterrupt


def _on_term(signum, frame):
    raise SystemExit(143)  # what the command line's SIGTERM ends in


@pytest.fixture
def late_sigint(monkeypatch):
    """Python handlers for SIGINT and SIGTERM, and a signal.signal (as
    fgrkern._files sees it) that raises KeyboardInterrupt once, right after
    restoring the SIGINT handler: a SIGINT landing mid-restore.  Yields a
    function that installs that flaky signal.signal; the original handlers
    are back afterwards."""
    from fgrkern import _files

    old_int, old_term = signal.signal(signal.SIGINT, _on_int), signal.signal(signal.SIGTERM, _on_term)
    real, restoring = signal.signal, []

    def flaky(sig, handler):
        prev = real(sig, handler)
        if handler is _on_int and not restoring:
            restoring.append(1)
            raise KeyboardInterrupt
        return prev

    try:
        yield lambda: monkeypatch.setattr(_files.signal, "signal", flaky)
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _handlers_back() -> bool:
    return signal.getsignal(signal.SIGINT) is _on_int and signal.getsignal(signal.SIGTERM) is _on_term


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
def test_signal_hold_restores_every_handler_when_a_signal_lands_during_the_restore(late_sigint, monkeypatch):
    """A SIGINT that trips right after its handler is restored raises inside
    the restoring code: SIGTERM's handler must be restored all the same (else
    the temporary one would swallow every later SIGTERM), and the interrupt
    is raised once everything is back."""
    from fgrkern import _files

    late_sigint()
    with pytest.raises(KeyboardInterrupt):
        with _files._sigint_deferred():
            pass
    monkeypatch.undo()
    assert _handlers_back()


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
def test_signal_hold_delivers_a_held_sigterm_before_a_late_sigint(late_sigint, monkeypatch):
    """SIGTERM held during the block, then a SIGINT while the handlers are
    restored: the SIGTERM (exit 143 in the command line) wins, as it does
    when both are held."""
    from fgrkern import _files

    with pytest.raises(SystemExit) as info:
        with _files._sigint_deferred():
            late_sigint()
            os.kill(os.getpid(), signal.SIGTERM)  # held by the block's handler
            for _ in range(1000):  # let the interpreter run the (holding) handler
                pass
    assert info.value.code == 143
    monkeypatch.undo()
    assert _handlers_back()
