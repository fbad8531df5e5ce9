"""One memory guard for every allocation that grows with the arguments, and capped thread counts.

The guard compares a request with the memory available *now*: MemAvailable
lowered to what the cgroup (v1 or v2) limits leave, not the machine's total
RAM (a container with a 1 GiB limit on a 64 GiB host is killed at 1 GiB).
Its probe is tested on fake cgroup trees; the callers are tested with the
probe patched to report a small amount, so that no test allocates much.
"""

from __future__ import annotations

import os
import runpy
import threading
import tracemalloc

import numpy as np
import pytest

import fgrkern
from fgrkern import _validation
from fgrkern import model as model_mod
from fgrkern import _chunks
from fgrkern._validation import InsufficientMemoryError, cgroup_memory_room

ToyModel = runpy.run_path(os.path.join(os.path.dirname(__file__), "robust_toy_model.py"))["ToyModel"]
MiB = 1 << 20


def _tree(tmp_path, files: dict[str, str], proc: str):
    root = tmp_path / "cg"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    root.mkdir(exist_ok=True)
    pc = tmp_path / "proc_self_cgroup"
    pc.write_text(proc)
    return str(root), str(pc)


# --------------------------------------------------------------------------
# the probe
# --------------------------------------------------------------------------
def test_cgroup_v2_nested_limits_and_page_cache(tmp_path):
    root, pc = _tree(tmp_path, {
        "memory.max": "max\n",
        "a/memory.max": "2000000000\n", "a/memory.current": "1500000000\n",
        "a/b/memory.max": "1073741824\n", "a/b/memory.current": "300000000\n",
        "a/b/memory.stat": "anon 200000000\ninactive_file 100000000\nactive_file 5\n",
    }, "0::/a/b\n")
    # own group: 1073741824 - (300000000 - 100000000 reclaimable); parent: 2e9 - 1.5e9
    assert cgroup_memory_room(root, pc) == min(1073741824 - 200000000, 500000000)


def test_cgroup_v2_max_means_no_limit(tmp_path):
    root, pc = _tree(tmp_path, {"memory.max": "max\n", "svc/memory.max": "max\n", "svc/memory.current": "123\n"},
                     "0::/svc\n")
    assert cgroup_memory_room(root, pc) is None


def test_cgroup_v1_limit_and_no_limit_sentinel(tmp_path):
    files = {"memory/memory.limit_in_bytes": "9223372036854771712\n",  # v1's "unlimited"
             "memory/job/memory.limit_in_bytes": "1073741824\n",
             "memory/job/memory.usage_in_bytes": "1000000000\n",
             "memory/job/memory.stat": "cache 10\ntotal_inactive_file 50000000\n"}
    root, pc = _tree(tmp_path, files, "4:memory:/job\n3:cpuset:/\n0::/\n")
    assert cgroup_memory_room(root, pc) == 1073741824 - (1000000000 - 50000000)
    root, pc = _tree(tmp_path / "x", {"memory/memory.limit_in_bytes": "9223372036854771712\n",
                                      "memory/memory.usage_in_bytes": "5\n"}, "4:memory:/\n")
    assert cgroup_memory_room(root, pc) is None


def test_cgroup_hybrid_unified_mount_and_usage_above_limit(tmp_path):
    root, pc = _tree(tmp_path, {"unified/u/memory.max": "1000\n", "unified/u/memory.current": "5000\n"},
                     "0::/u\n")
    assert cgroup_memory_room(root, pc) == 0


@pytest.mark.parametrize("limit, proc", [("garbage\n", "0::/g\n"), ("", "0::/g\n"), ("1000\n", "0::/../../etc\n")])
def test_cgroup_unreadable_or_hostile_entries_are_ignored(tmp_path, limit, proc):
    root, pc = _tree(tmp_path, {"g/memory.max": limit, "g/memory.current": "x"}, proc)
    assert cgroup_memory_room(root, pc) is None


def test_no_cgroup_files_at_all(tmp_path):
    assert cgroup_memory_room(str(tmp_path / "missing"), str(tmp_path / "missing_proc")) is None


def test_available_memory_is_the_smaller_of_meminfo_and_cgroup(monkeypatch):
    monkeypatch.setattr(_validation, "_meminfo_available", lambda: 64 << 30)
    monkeypatch.setattr(_validation, "cgroup_memory_room", lambda: 1 << 30)
    assert _validation.available_memory() == 1 << 30
    monkeypatch.setattr(_validation, "cgroup_memory_room", lambda: None)
    assert _validation.available_memory() == 64 << 30


def test_insufficient_memory_error_is_both_types():
    assert issubclass(InsufficientMemoryError, MemoryError) and issubclass(InsufficientMemoryError, ValueError)


def test_model_has_no_separate_memory_check():
    assert not hasattr(model_mod, "_physical_memory") and not hasattr(model_mod, "_check_memory")


# --------------------------------------------------------------------------
# every caller uses it
# --------------------------------------------------------------------------
@pytest.fixture
def small_memory(monkeypatch):
    monkeypatch.setattr(_validation, "available_memory", lambda: 100 * MiB)


def _peak(fn):
    tracemalloc.start()
    try:
        try:
            fn()
        except MemoryError as exc:
            err = exc
        else:
            err = None
        return tracemalloc.get_traced_memory()[1], err
    finally:
        tracemalloc.stop()


def test_sampler_refuses_before_allocating(small_memory):
    """The reported case: LevelDotModel(99, .5).sample(1_000_000) needs 1.6 GB
    of output; in a container with 100 MiB left it must fail up front."""
    model = fgrkern.LevelDotModel(99, 0.5)
    peak, err = _peak(lambda: model.sample(1_000_000, rng=1))
    assert isinstance(err, InsufficientMemoryError) and "size=1000000" in str(err)
    assert peak < 4 * MiB


@pytest.mark.parametrize("method", ["secular", "dense"])
def test_sample_couplings_counts_every_couplings_output(small_memory, method):
    """Each of the 8 outputs (2 x 8 B x 5000 x 100 = 8 MB) fits alone in
    100 MiB, all 16 together (128 MB) do not: refused before drawing anything,
    naming the couplings; 8 couplings (64 MB) pass."""
    model = fgrkern.LevelDotModel(99, 0.5)
    gs = np.linspace(0.1, 0.5, 16)
    peak, err = _peak(lambda: model.sample_couplings(gs, 5000, rng=1, method=method))
    assert isinstance(err, InsufficientMemoryError) and "16 couplings gs" in str(err)
    assert peak < 4 * MiB
    assert len(model.sample_couplings(gs[:8], 5000, rng=1)) == 8


def test_sampler_request_that_fits_passes(small_memory):
    # dense scratch 6 x 16 B x 1001^2 = 96 MB < 100 MiB: accepted (size 0: nothing drawn)
    assert fgrkern.LevelDotModel(1000, 0.5, "GUE").sample(0, method="dense").size == 0


def test_dense_sampler_refuses_large_matrix(small_memory):
    with pytest.raises(InsufficientMemoryError, match="3001 x 3001"):
        fgrkern.LevelDotModel(3000, 0.5, "GUE").sample(0, method="dense")


def test_simulate_counts_chunk_temporaries_of_all_workers(small_memory, monkeypatch):
    """T = 10^6 times: one chunk of 32 holds ~5 x 32 x 10^6 doubles (1.3 GB)
    at its peak, per worker.  Refused before any chunk runs, naming the
    arguments; a grid that fits runs."""
    calls = []
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index))
    tau = np.linspace(0.0, 1.0, 1_000_000)
    with pytest.raises(InsufficientMemoryError, match="chunk_size = 32") as info:
        fgrkern.simulate(ToyModel(n=3), tau, 64, rng=1, workers=2)
    assert "2 workers" in str(info.value) and calls == []
    # 2 workers x 5 x 32 x 150000 x 8 B = 384 MB > 100 MiB; on 1 worker with chunks of 8: 48 MB
    with pytest.raises(InsufficientMemoryError):
        fgrkern.simulate(ToyModel(n=3), tau[:150_000], 64, rng=1, workers=2)
    monkeypatch.undo()
    monkeypatch.setattr(_validation, "available_memory", lambda: 100 * MiB)
    res = fgrkern.simulate(ToyModel(n=3), tau[:150_000], 16, rng=1, workers=1, chunk_size=8)
    assert res.mean.shape == (150_000,)


def test_simulate_counts_couplings(small_memory):
    # 12 couplings x 32 x 20000 times x 5 doubles = 307 MB per chunk
    with pytest.raises(InsufficientMemoryError, match="12 couplings"):
        fgrkern.simulate(ToyModel(n=3), np.linspace(0, 1, 20_000), 64, rng=1, workers=1,
                         g=np.linspace(0.1, 1.0, 12))


def test_theory_broadcast_refused_up_front(small_memory):
    tau = np.linspace(0.0, 1.0, 10_000)[:, None]
    gamma = np.linspace(0.1, 1.0, 10_000)[None, :]
    for fn in (fgrkern.theory.p_tau, fgrkern.theory.p_sff, fgrkern.theory.p_tau_large_gamma):
        peak, err = _peak(lambda: fn(tau, gamma))
        assert isinstance(err, InsufficientMemoryError) and "(10000, 10000)" in str(err), fn
        assert peak < 4 * MiB


def test_kernel_output_refused(small_memory):
    with pytest.raises(InsufficientMemoryError, match="survival_probability"):
        fgrkern.survival_probability(np.zeros((30_000, 1)), [1.0], np.zeros(1000))  # 240 MB of output


# --------------------------------------------------------------------------
# thread counts
# --------------------------------------------------------------------------
def test_absurd_workers_are_clamped_before_allocating():
    """theory.p_tau([0.5], 1.0, workers=10**9) built a 10^9-entry round-robin
    index (out of memory); 10**7 took 9 s for one point."""
    ref = fgrkern.theory.p_tau([0.5], 1.0, workers=1)
    for w in (10**9, 10**7, 2**62):
        peak, err = _peak(lambda: fgrkern.theory.p_tau([0.5], 1.0, workers=w))
        assert err is None and peak < MiB
        assert fgrkern.theory.p_tau([0.5], 1.0, workers=w).tobytes() == ref.tobytes()
    assert _validation.resolve_workers(10**9) == _validation.max_workers() == 4 * (os.cpu_count() or 1)
    assert _validation.resolve_workers(3) == min(3, _validation.max_workers())
    np.testing.assert_array_equal(fgrkern.theory.p_res([0.1, 1.0], workers=10**9), fgrkern.theory.p_res([0.1, 1.0]))
    e, w = np.zeros((3, 2)), np.ones((3, 2))
    np.testing.assert_array_equal(fgrkern.survival_probability(e, w, [0.0, 1.0], workers=10**9),
                                  fgrkern.survival_probability(e, w, [0.0, 1.0], workers=1))


def test_simulate_thread_pool_is_clamped(monkeypatch):
    """workers=10**6 with 200 chunks: the pool must not start a thread per chunk."""
    orig = _chunks.run_chunk
    seen: set[int] = set()
    lock = threading.Lock()

    def record(task):
        with lock:
            seen.add(threading.get_ident())
        return orig(task)

    monkeypatch.setattr(_chunks, "run_chunk", record)
    res = fgrkern.simulate(ToyModel(n=3), [0.0, 1.0], 200, rng=1, chunk_size=1, workers=10**6)
    assert len(seen) <= _validation.max_workers()
    monkeypatch.setattr(_chunks, "run_chunk", orig)
    ref = fgrkern.simulate(ToyModel(n=3), [0.0, 1.0], 200, rng=1, chunk_size=1, workers=1)
    assert res.mean.tobytes() == ref.mean.tobytes()
