"""Resume from any checkpoint state, and stopping worker threads promptly.

- Scheduling: whatever chunks failed, in whatever order the others finished
  and on however many workers each attempt ran, resuming until done gives
  bitwise the uninterrupted result and computes no chunk twice.
- Stop flag: after simulate fails or is interrupted, its worker threads are
  gone before it returns (they stop at the next block of rows, they do not
  finish their chunk), and the sampler and kernel honour the flag.
"""

from __future__ import annotations

import os
import runpy
import signal
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fgrkern
from fgrkern import simulate
from fgrkern import SimulationError
from fgrkern import _chunks
from fgrkern._parallel import Cancelled, run_chunks, stop_scope

ToyModel = runpy.run_path(os.path.join(os.path.dirname(__file__), "robust_toy_model.py"))["ToyModel"]
TAU = np.array([0.0, 0.4, 1.3])
CHUNK = 2


def _fresh(n_samples: int) -> fgrkern.SimulationResult:
    return simulate(ToyModel(n=3), TAU, n_samples, rng=11, chunk_size=CHUNK, workers=1)


def _same(a, b) -> None:
    for name in ("mean", "sem", "std", "p_res", "p_res_sem", "p_res_cov"):
        assert np.asarray(getattr(a, name)).tobytes() == np.asarray(getattr(b, name)).tobytes(), name
    assert a.n_samples == b.n_samples


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_chunks=st.integers(2, 9),
       attempts=st.lists(st.tuples(st.sampled_from([1, 2, 3, 4]), st.sets(st.integers(0, 8), max_size=4)),
                         min_size=1, max_size=4),
       final_workers=st.sampled_from([1, 2, 4]), user_pool=st.booleans())
def test_any_failure_pattern_resumes_bitwise(tmp_path_factory, monkeypatch, n_chunks, attempts,
                                             final_workers, user_pool):
    """Attempts with random failing chunks (the failing ones finish last, so
    later chunks are pending in the checkpoint, out of order) on random
    worker counts, then a clean resume: the result equals the uninterrupted
    run bit for bit and every chunk is computed to completion exactly once."""
    n_samples = n_chunks * CHUNK - 1  # a short last chunk too
    ck = tmp_path_factory.mktemp("ck") / "run.npz"
    orig = _chunks.run_chunk
    done: list[int] = []
    lock = threading.Lock()
    failing: set[int] = set()

    def flaky(task):
        if task.index in failing:
            time.sleep(0.01)  # let the others finish first: out-of-order pending chunks
            raise RuntimeError(f"injected failure of chunk {task.index}")
        out = orig(task)
        with lock:
            done.append(task.index)
        return out

    monkeypatch.setattr(_chunks, "run_chunk", flaky)
    for workers, fail in attempts:
        failing.clear()
        failing.update(fail)
        try:
            simulate(ToyModel(n=3), TAU, n_samples, rng=11, chunk_size=CHUNK, workers=workers, checkpoint=ck)
        except SimulationError as exc:
            assert "injected failure" in str(exc.__cause__)
    failing.clear()
    done_before = len(done)
    if user_pool:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(final_workers) as ex:
            res = simulate(ToyModel(n=3), TAU, n_samples, rng=11, chunk_size=CHUNK, executor=ex, checkpoint=ck)
    else:
        res = simulate(ToyModel(n=3), TAU, n_samples, rng=11, chunk_size=CHUNK, workers=final_workers,
                       checkpoint=ck)
    monkeypatch.setattr(_chunks, "run_chunk", orig)
    _same(res, _fresh(n_samples))
    # Chunks whose results were accepted are never recomputed; a chunk that
    # completed while the run was failing may be lost and computed again,
    # but the final attempt computes each missing chunk once.
    final = done[done_before:]
    assert len(final) == len(set(final))
    assert set(done) == set(range(n_chunks))


def test_out_of_order_pending_resume_on_one_worker(tmp_path, monkeypatch):
    """The reported case: 4 threads, chunk 0 fails after the others finished,
    resume with workers=1 (the pending chunks 1.. must not be re-submitted)."""
    ck = tmp_path / "c.npz"
    orig = _chunks.run_chunk
    release = threading.Event()
    finished, lock = set(), threading.Lock()

    def fail0(task):
        if task.index == 0:
            release.wait(30)
            raise RuntimeError("chunk 0 fails")
        out = orig(task)
        with lock:  # chunk 0 fails only once 1, 2 and 3 have all finished (in any order)
            finished.add(task.index)
            if finished >= {1, 2, 3}:
                release.set()
        return out

    monkeypatch.setattr(_chunks, "run_chunk", fail0)
    with pytest.raises(SimulationError):
        simulate(ToyModel(n=3), TAU, 8, rng=11, chunk_size=CHUNK, workers=4, checkpoint=ck, checkpoint_interval=0)
    with np.load(ck) as z:
        assert int(z["next_chunk"]) == 0 and z["pending_index"].tolist() == [1, 2, 3]
    calls: list[int] = []
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index) or orig(task))
    res = simulate(ToyModel(n=3), TAU, 8, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck)
    assert calls == [0]
    _same(res, _fresh(8))


# --------------------------------------------------------------------------
# stop flag
# --------------------------------------------------------------------------
def _pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor") and t.is_alive()]


@pytest.mark.parametrize("where", ["sampler", "kernel"])
def test_simulate_error_does_not_leave_computing_threads(monkeypatch, where):
    """Chunk 0 fails at once while the other worker is deep in a chunk that
    takes ~10 s uninterrupted (sampler: N + 1 = 1500 rows; kernel: 4000
    times x 2^15 levels).  simulate raises SimulationError within a couple of
    seconds, and no pool thread is alive when it does (old code: the thread
    went on computing after simulate had returned)."""
    before = set(_pool_threads())
    orig = _chunks.run_chunk
    started = threading.Event()

    def fail0(task):
        if task.index == 0:
            started.wait(10)
            time.sleep(0.2)  # the other chunk is now inside its compiled calls
            raise RuntimeError("boom")
        started.set()
        return orig(task)

    monkeypatch.setattr(_chunks, "run_chunk", fail0)
    if where == "sampler":
        model, tau, chunk = fgrkern.LevelDotModel(1499, 0.01, "GUE"), [0.0, 1.0], 200
    else:
        model, tau, chunk = ToyModel(n=(1 << 15) - 1), np.linspace(0, 1, 4000), 100
    t0 = time.perf_counter()
    with pytest.raises(SimulationError, match="boom"):
        simulate(model, tau, 2 * chunk, rng=1, chunk_size=chunk, workers=2)
    elapsed = time.perf_counter() - t0
    assert set(_pool_threads()) <= before, "simulate returned while its worker threads still run"
    assert elapsed < 5.0, f"the other chunk was not stopped ({elapsed:.1f} s)"


def test_stop_flag_stops_sampler_and_kernel():
    ev = threading.Event()
    model = fgrkern.LevelDotModel(40, 0.3, "GOE")
    e = np.zeros((4, 3))
    w = np.ones((4, 3))
    with stop_scope(ev):  # not set: everything runs
        assert model.sample(3, rng=1).size == 3
        assert model.sample(2, rng=1, method="dense").size == 2
        assert fgrkern.survival_probability(e, w, [0.0], workers=1).shape == (4, 1)
        ev.set()
        with pytest.raises(Cancelled):
            model.sample(3, rng=1)
        with pytest.raises(Cancelled):
            model.sample(2, rng=1, method="dense")
        with pytest.raises(Cancelled):
            fgrkern.survival_probability(e, w, [0.0], workers=2)
        with pytest.raises(Cancelled):
            run_chunks(lambda a, b: None, 10, 1)
    # outside the scope the flag is not consulted; the scope is per thread
    assert model.sample(1, rng=1).size == 1
    seen = []
    with stop_scope(ev):
        th = threading.Thread(target=lambda: seen.append(model.sample(1, rng=1).size))
        th.start()
        th.join()
    assert seen == [1]


def _ctrl_c_at_chunk(monkeypatch, index: int) -> None:
    """Make chunk ``index`` raise KeyboardInterrupt (as if Ctrl-C arrived there)."""
    orig = _chunks.run_chunk

    def run(task):
        if task.index == index:
            raise KeyboardInterrupt
        return orig(task)

    monkeypatch.setattr(_chunks, "run_chunk", run)


def test_keyboard_interrupt_note_names_checkpoint(tmp_path, monkeypatch):
    ck = tmp_path / "c.npz"
    _ctrl_c_at_chunk(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt) as info:
        simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck)
    notes = getattr(info.value, "__notes__", [])
    assert any(str(ck) in n and "4 completed samples" in n and "resume" in n for n in notes), notes
    with pytest.raises(KeyboardInterrupt) as info:  # no checkpoint: nothing to resume, no note
        simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1)
    assert not getattr(info.value, "__notes__", [])


def test_failure_message_says_where_the_work_is_only_once_it_is_written(tmp_path, monkeypatch):
    """A failing chunk names the checkpoint with what it holds; if the final
    checkpoint write fails too (disk full), the message must not claim it was saved."""
    from fgrkern import _checkpoint

    orig = _chunks.run_chunk

    def run(task):
        if task.index == 2:
            raise RuntimeError("boom")
        return orig(task)

    monkeypatch.setattr(_chunks, "run_chunk", run)
    ck = tmp_path / "c.npz"
    with pytest.raises(SimulationError) as info:
        simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck)
    msg = str(info.value)
    assert "boom" in msg and f"4 completed samples are saved in checkpoint {str(ck)!r}" in msg, msg

    real_save, calls = _checkpoint.save, []

    def save(*a):  # the first (early) write succeeds, every later one finds the disk full
        calls.append(1)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        real_save(*a)

    monkeypatch.setattr(_checkpoint, "save", save)
    ck2 = tmp_path / "d.npz"
    with pytest.raises(SimulationError) as info:
        simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck2)
    msg = str(info.value)
    assert len(calls) == 2 and "boom" in msg and "No space left" in msg and str(ck2) in msg, msg
    assert "are saved" not in msg, msg


def test_cli_interrupt_message_names_checkpoint(tmp_path, monkeypatch, capsys):
    """The command line prints the note simulate attaches to a KeyboardInterrupt
    (where the completed samples are and how to resume) on its one line."""
    from fgrkern import cli

    ck = tmp_path / "run.ckpt.npz"
    _ctrl_c_at_chunk(monkeypatch, 1)
    rc = cli.main(["simulate", "--n", "10", "--gamma", "1", "--samples", "100", "--tau", "0,1",
                   "--workers", "1", "--checkpoint", str(ck), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130
    assert err[-1].startswith("fgrkern: interrupted; the 32 completed samples are saved in checkpoint")
    assert str(ck) in err[-1] and "resume" in err[-1]


def _disk_full_after(monkeypatch, good_writes: int, fail_until: int | None = None):
    """_checkpoint.save succeeds ``good_writes`` times, then fails with ENOSPC
    (up to write number ``fail_until``, if given; then succeeds again)."""
    from fgrkern import _checkpoint

    real_save, calls = _checkpoint.save, []

    def save(*a):
        calls.append(1)
        if len(calls) > good_writes and (fail_until is None or len(calls) <= fail_until):
            raise OSError(28, "No space left on device")
        real_save(*a)

    monkeypatch.setattr(_checkpoint, "save", save)
    return calls


def test_a_finished_run_survives_a_failing_last_checkpoint_write(tmp_path, monkeypatch):
    """A full disk at the final write must not cost the finished run: the result
    is returned (bitwise the uninterrupted one) and a warning names the file."""
    ref = _fresh(10)
    calls = _disk_full_after(monkeypatch, 1)
    ck = tmp_path / "c.npz"
    with pytest.warns(fgrkern.CheckpointWriteWarning, match=rf"{ck.name}.* at the end failed \(No space left"):
        res = simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck)
    _same(res, ref)
    assert len(calls) == 2  # the early write, the failed final one


def test_failing_periodic_checkpoint_writes_warn_and_the_run_goes_on(tmp_path, monkeypatch):
    """Writes 2-4 fail (a disk that fills up, then frees): the run warns, goes on,
    retries, and its later writes land; the checkpoint then resumes to the same bits."""
    ref = _fresh(10)
    calls = _disk_full_after(monkeypatch, 1, fail_until=4)
    ck = tmp_path / "c.npz"
    with pytest.warns(fgrkern.CheckpointWriteWarning, match="during the run failed .*retries at the next interval"):
        res = simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck,
                       checkpoint_interval=0)
    _same(res, ref)
    assert len(calls) == 7  # early write + one per chunk (5) + final
    monkeypatch.undo()
    _same(simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck), ref)


def test_cli_saves_the_result_when_the_last_checkpoint_write_fails(tmp_path, monkeypatch, capsys):
    from fgrkern import cli

    _disk_full_after(monkeypatch, 1)
    out = tmp_path / "r.npz"
    with pytest.warns(fgrkern.CheckpointWriteWarning):
        rc = cli.main(["simulate", "--n", "10", "--gamma", "1", "--samples", "64", "--tau", "0,1",
                       "--workers", "1", "--out", str(out), "--no-progress"])
    assert rc == 0 and fgrkern.SimulationResult.load(out).n_samples == 64


class _Term(KeyboardInterrupt):
    """A KeyboardInterrupt subclass, as the command line's SIGTERM."""


def test_an_interrupt_during_cleanup_keeps_its_type(tmp_path, monkeypatch):
    """A SIGTERM-like interrupt that hits the last checkpoint write is retried
    through and then raised as itself (the command line maps its type to
    exit status 143), with the finished result saved in the checkpoint."""
    from fgrkern import _checkpoint

    real_save, calls = _checkpoint.save, []

    def save(*a):
        calls.append(1)
        if len(calls) == 2:
            raise _Term()
        real_save(*a)

    monkeypatch.setattr(_checkpoint, "save", save)
    ck = tmp_path / "c.npz"
    with pytest.raises(_Term):
        simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck)
    assert len(calls) == 3 and _checkpoint.samples_saved(str(ck)) == 10
    monkeypatch.undo()
    _same(simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck), _fresh(10))


def test_ctrl_c_during_a_failing_last_write_does_not_discard_the_result(tmp_path, monkeypatch):
    """The last write is interrupted, and its retry finds the disk full: the
    checkpoint cannot hold the finished result, so the interrupt is ignored
    with a warning and the result is returned rather than lost."""
    from fgrkern import _checkpoint

    real_save, calls = _checkpoint.save, []

    def save(*a):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        real_save(*a)

    monkeypatch.setattr(_checkpoint, "save", save)
    ck = tmp_path / "c.npz"
    with pytest.warns(fgrkern.CheckpointWriteWarning) as rec:
        res = simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1, checkpoint=ck)
    _same(res, _fresh(10))
    msgs = [str(w.message) for w in rec]
    assert any("finished result is returned" in m for m in msgs), msgs
    assert any("KeyboardInterrupt during the cleanup of a finished run ignored" in m for m in msgs), msgs


def test_cli_says_what_the_checkpoint_really_holds_when_out_fails_too(tmp_path, monkeypatch, capsys):
    """Disk full for the last checkpoint write and for --out: the message must
    not claim the result is in the checkpoint (it holds 0 of 64 samples)."""
    from fgrkern import cli
    from fgrkern import result as result_mod

    _disk_full_after(monkeypatch, 1)

    def full(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(result_mod.SimulationResult, "save", full)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the result is rescued to
    out = tmp_path / "r.npz"
    with pytest.warns(fgrkern.CheckpointWriteWarning):
        rc = cli.main(["simulate", "--n", "10", "--gamma", "1", "--samples", "64", "--tau", "0,1",
                       "--workers", "1", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot write --out" in err and "holds 0 of the 64 samples" in err, err
    assert "finished result is kept" not in err
    assert len(list(tmp_path.glob("fgrkern-result-*.npz"))) == 1 and "is saved in" in err


def test_ctrl_c_during_the_join_of_a_run_without_checkpoint_is_raised(monkeypatch):
    """Without a checkpoint nothing failed to be written: a Ctrl-C that lands
    while a finished run's threads are joined is raised, with no warning."""
    import warnings

    from fgrkern import _parallel

    real_join, hits = _parallel.ChunkScheduler.join, []

    def join(self):
        if not hits:
            hits.append(1)
            raise KeyboardInterrupt
        return real_join(self)

    monkeypatch.setattr(_parallel.ChunkScheduler, "join", join)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(KeyboardInterrupt):
            simulate(ToyModel(n=3), TAU, 10, rng=11, chunk_size=CHUNK, workers=1)
    assert hits == [1]


def test_cli_interrupt_before_the_run_does_not_vouch_for_an_old_checkpoint(tmp_path, monkeypatch, capsys):
    """A Ctrl-C before simulate reads its checkpoint: the file there (here
    another run's) is not this run's work and must not be offered as such."""
    from fgrkern import cli

    ck = tmp_path / "c.npz"
    simulate(ToyModel(n=3), TAU, 4, rng=2, chunk_size=CHUNK, workers=1, checkpoint=ck)
    old = time.time() - 60
    os.utime(ck, (old, old))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(fgrkern, "simulate", interrupted)
    rc = cli.main(["simulate", "--n", "10", "--gamma", "1", "--samples", "64", "--tau", "0,1", "--workers", "1",
                   "--out", str(tmp_path / "r.npz"), "--checkpoint", str(ck), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 130 and "nothing of this run was saved" in err and "is as it was before" in err, err
    assert "resume" not in err


def test_two_runs_on_one_checkpoint_are_refused_not_mixed(tmp_path):
    """A second run on a checkpoint path that a running simulation holds is refused (it used to
    replace the first run's file, whose interrupt message then described the other run's state),
    and the holder's file and lock are left untouched; once the holder is gone the lock file is
    re-used or removed, never an obstacle."""
    from fgrkern import _checkpoint

    ck = tmp_path / "shared.npz"
    run = dict(model=fgrkern.LevelDotModel(9, 0.2), tau=[0.0, 1.0], n_samples=32, chunk_size=8, checkpoint=ck)
    lock = _checkpoint.lock_path(str(ck))
    with _checkpoint.locked(str(ck)):  # what a running simulate holds (another open file: flock conflicts)
        assert os.path.exists(lock)
        with pytest.raises(ValueError, match="in use by another running fgrkern process"):
            fgrkern.simulate(rng=2, **run)
        assert not ck.exists()
    assert not os.path.exists(lock)  # released and removed with the run
    a = fgrkern.simulate(rng=1, **run)
    assert not os.path.exists(lock) and ck.exists()
    # the finished run's checkpoint is not removed while another run holds it
    with _checkpoint.locked(str(ck)):
        assert _checkpoint.remove_unless_in_use(str(ck)) is False and ck.exists()
    assert _checkpoint.remove_unless_in_use(str(ck)) is True and not ck.exists()
    # a lock file left by a killed run (it has the marker, nobody holds it) is taken over
    with open(lock, "wb") as fh:
        fh.write(_checkpoint._LOCK_MARK)
    assert fgrkern.simulate(rng=1, **run).mean.tobytes() == a.mean.tobytes() and not os.path.exists(lock)
    # an empty one (a run killed between creating and marking it) too
    open(lock, "wb").close()
    assert fgrkern.simulate(rng=1, **run).mean.tobytes() == a.mean.tobytes() and not os.path.exists(lock)
    # a symbolic link to the checkpoint shares its lock (the file written is the link's target)
    link = tmp_path / "link.npz"
    link.symlink_to(ck)
    with _checkpoint.locked(str(ck)):
        with pytest.raises(ValueError, match="in use"):
            fgrkern.simulate(rng=1, **{**run, "checkpoint": link})
    # a directory at the lock's name is refused and kept
    os.mkdir(lock)
    with pytest.raises(ValueError, match="is a directory; it is left alone"):
        fgrkern.simulate(rng=1, **run)
    os.rmdir(lock)
    # a file at the lock's name that fgrkern did not write is refused and kept
    with open(lock, "w") as fh:
        fh.write("my notes")
    with pytest.raises(ValueError, match="was not written by fgrkern"):
        fgrkern.simulate(rng=1, **run)
    with open(lock) as fh:
        assert fh.read() == "my notes"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_run_does_not_lock_out_the_resume(tmp_path):
    """flock dies with its process: after kill -9 of a running simulate (real process, holding
    the lock), the next run on the same checkpoint resumes instead of being refused; while the
    first one runs, a second is refused."""
    import subprocess
    import sys
    import time

    from fgrkern import _checkpoint

    ck = tmp_path / "ck.npz"
    code = ("import fgrkern, numpy as np\n"
            f"fgrkern.simulate(fgrkern.LevelDotModel(400, 0.01), np.geomspace(1e-3, 10, 400), 10**6, rng=3,\n"
            f"                 workers=1, chunk_size=8, checkpoint={str(ck)!r}, checkpoint_interval=0)\n")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path)
    try:
        lock = _checkpoint.lock_path(str(ck))
        deadline = time.monotonic() + 120
        while not (ck.exists() and _checkpoint.samples_saved(str(ck))) and time.monotonic() < deadline:
            assert p.poll() is None
            time.sleep(0.05)
        assert os.path.exists(lock)
        with pytest.raises(ValueError, match="in use"):
            fgrkern.simulate(fgrkern.LevelDotModel(400, 0.01), np.geomspace(1e-3, 10, 400), 10**6, rng=3,
                             workers=1, chunk_size=8, checkpoint=ck)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    held = _checkpoint.samples_saved(str(ck))
    assert held and os.path.exists(lock)  # the dead run's file stays; its lock does not
    with _checkpoint.locked(str(ck)):
        pass
    assert not os.path.exists(lock)
