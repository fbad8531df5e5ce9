"""Tests of fgrkern.simulate / SimulationResult: reduction, seeding, executors,
checkpoints, persistence, common random numbers, bad input, and statistics
against Eq. (4) of the paper."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrkern
from fgrkern import LevelDotModel, SimulationResult, simulate, survival_probability
from fgrkern import _chunks, _moments, _parallel

N_SMALL = 16
TAU = np.concatenate([[0.0], np.geomspace(1e-3, 4.0, 12)])
FIELDS = ("tau", "t", "mean", "sem", "std", "p_res", "p_res_sem", "p_res_cov", "g", "gamma")


def small_model(g: float = 0.25, symmetry: str = "GUE") -> LevelDotModel:
    return LevelDotModel(N_SMALL, g, symmetry)


def assert_identical(a: SimulationResult, b: SimulationResult) -> None:
    """Bitwise equality of every numeric field (NaN == NaN)."""
    assert a.n_samples == b.n_samples
    for k in FIELDS:
        x, y = np.asarray(getattr(a, k)), np.asarray(getattr(b, k))
        assert x.shape == y.shape, k
        assert x.tobytes() == y.tobytes(), f"{k} differs"


def direct_samples(model, tau, n_samples, seed, chunk_size, g=None):
    """P (n, T) and IPR (n,) drawn exactly as simulate() documents its streams."""
    n_chunks = -(-n_samples // chunk_size)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    t = model.t_from_tau(tau)
    Ps, iprs = [], []
    for i, child in enumerate(children):
        size = min(chunk_size, n_samples - i * chunk_size)
        m = model if g is None else LevelDotModel(model.n, g, model.symmetry, model.lam, model.eps0, model.bath)
        spec = m.sample(size, rng=np.random.default_rng(child))
        P, ipr = survival_probability(spec.energies, spec.weights, t, return_ipr=True)
        Ps.append(P)
        iprs.append(ipr)
    return np.concatenate(Ps), np.concatenate(iprs)


# --------------------------------------------------------------------------
# The estimate itself
# --------------------------------------------------------------------------


def test_matches_direct_two_pass_average():
    """Streaming chunk reduction == plain numpy mean/std over the same realisations."""
    model = small_model()
    n, cs, seed = 45, 8, 1234  # 6 chunks, the last one partial
    res = simulate(model, TAU, n, rng=seed, chunk_size=cs, workers=1)
    P, ipr = direct_samples(model, TAU, n, seed, cs)
    np.testing.assert_allclose(res.mean, P.mean(axis=0), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(res.std, P.std(axis=0, ddof=1), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(res.sem, P.std(axis=0, ddof=1) / np.sqrt(n), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(res.p_res, ipr.mean(), rtol=1e-13)
    np.testing.assert_allclose(res.p_res_sem, ipr.std(ddof=1) / np.sqrt(n), rtol=1e-10)
    np.testing.assert_allclose(res.p_res_cov, ipr.var(ddof=1) / n, rtol=1e-10)
    assert res.n_samples == n
    np.testing.assert_array_equal(res.tau, TAU)
    np.testing.assert_allclose(res.t, TAU * 2 * N_SMALL / model.lam, rtol=1e-15)
    # P(0) = (sum_a w_a)^2 = 1 in every realisation: no spread.
    assert abs(res.mean[0] - 1) < 1e-13 and res.sem[0] < 1e-13


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), split=st.lists(st.integers(1, 7), min_size=1, max_size=12),
       G=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_moment_combination_property(n, split, G, seed):
    """Chan's pairwise update of centred moments, in any chunking, equals the two-pass result."""
    rng = np.random.default_rng(seed)
    P = rng.exponential(size=(n, G, 5)) * 10.0 ** rng.integers(-8, 3)
    ipr = rng.uniform(size=(n, G))
    acc = _moments.Moments.empty(G, 5)
    i = 0
    for s in split * (n // max(1, sum(split)) + 1):
        if i >= n:
            break
        acc = acc.combine(_moments.Moments.from_samples(P[i:i + s], ipr[i:i + s]))
        i += s
    assert acc.n == n
    np.testing.assert_allclose(acc.mean, P.mean(axis=0), rtol=1e-13)
    dP = P - P.mean(axis=0)
    np.testing.assert_allclose(acc.m2, (dP**2).sum(axis=0), rtol=1e-9, atol=1e-300)
    di = ipr - ipr.mean(axis=0)
    np.testing.assert_allclose(acc.ipr_m2, di.T @ di, rtol=1e-9, atol=1e-15)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 30), cs=st.integers(1, 9), seed=st.integers(0, 2**64 - 1),
       symmetry=st.sampled_from(["GUE", "GOE", "GSE"]))
def test_property_workers_and_direct_average(n, cs, seed, symmetry):
    """Any n_samples / chunk_size / seed: 1 and 2 workers agree bitwise, and with the direct average."""
    model = LevelDotModel(6, 0.4, symmetry)
    tau = [0.0, 0.05, 0.7, 3.0]
    a = simulate(model, tau, n, rng=seed, chunk_size=cs, workers=1)
    b = simulate(model, tau, n, rng=seed, chunk_size=cs, workers=2)
    assert_identical(a, b)
    P, ipr = direct_samples(model, np.array(tau), n, seed, cs)
    np.testing.assert_allclose(a.mean, P.mean(axis=0), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(a.p_res, ipr.mean(), rtol=1e-13)


def test_first_chunks_are_a_prefix_of_a_longer_run():
    """Chunk i's stream does not depend on n_samples: 2 chunks == the first 2 of 5."""
    model = small_model()
    short = simulate(model, TAU, 16, rng=7, chunk_size=8, workers=1)
    P, _ = direct_samples(model, TAU, 40, 7, 8)
    np.testing.assert_allclose(short.mean, P[:16].mean(axis=0), rtol=1e-13, atol=1e-16)


def test_standard_errors_are_calibrated():
    """Independent runs scatter by their reported sem: over R = 200 runs of 20
    realisations, std(run means) / rms(sem) -> 1 (both estimate sigma/sqrt(20)).
    Its sampling spread is ~6% here (the IPR is skewed); realisations correlated
    within a chunk (e.g. a stream reused inside it) would give sqrt(chunk_size)
    = 2.2.  Accept [0.8, 1.25]."""
    model = small_model(g=0.2)
    runs = [simulate(model, [0.0, 2.0], 20, rng=1000 + k, chunk_size=5, workers=1) for k in range(200)]
    for vals, sems in (([r.mean[-1] for r in runs], [r.sem[-1] for r in runs]),
                       ([r.p_res for r in runs], [r.p_res_sem for r in runs])):
        ratio = np.std(vals, ddof=1) / np.sqrt(np.mean(np.square(sems)))
        assert 0.8 < ratio < 1.25, ratio


def test_single_sample_has_nan_errors():
    res = simulate(small_model(), TAU, 1, rng=3)
    assert res.n_samples == 1 and np.all(np.isfinite(res.mean))
    assert np.all(np.isnan(res.sem)) and np.isnan(res.p_res_sem)


def test_late_time_average_is_p_res():
    """For a non-degenerate spectrum the time average of P(t) is sum_a w_a^2 (exactly,
    per realisation); averaging res.mean over many late times must reproduce res.p_res."""
    model = LevelDotModel(32, 0.05, "GUE")
    tau = np.linspace(20.0, 400.0, 4000)
    res = simulate(model, tau, 64, rng=11, chunk_size=16)
    # Residual oscillations average out like 1/sqrt(#independent times).
    assert abs(res.mean.mean() - res.p_res) < 0.02 * res.p_res


def _p_res_eq4(gamma: float) -> float:
    """Eq. (4) of the paper, evaluated in 40-digit arithmetic (independent of fgrkern.theory)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(40):
        g = mpmath.mpf(gamma)
        v = 1 - g - mpmath.sqrt(mpmath.pi * g) * (mpmath.mpf(1) / 2 - g) * mpmath.exp(g) * mpmath.erfc(mpmath.sqrt(g))
        return float(v)


@pytest.mark.parametrize("n, n_samples", [(128, 600)])
def test_p_res_agrees_with_eq4_quick(n, n_samples):
    """GUE residence probability vs Eq. (4) at gamma = 1.  Finite N adds O(gamma/N)
    (footnote [26]); allow 4 standard errors plus 2 gamma/N relative."""
    gamma = 1.0
    res = simulate(LevelDotModel(n, gamma / n, "GUE"), [0.0, 1.0], n_samples, rng=2024)
    theory = _p_res_eq4(gamma)
    z = (res.p_res - theory) / np.hypot(res.p_res_sem, 2 * gamma / n * theory)
    assert abs(z) < 4, (res.p_res, res.p_res_sem, theory)


@pytest.mark.slow
def test_p_res_agrees_with_eq4_slow():
    """As above with N = 1000 (the paper's size) and 1e4 samples: stat. error ~0.4%."""
    gamma = 2.0
    n = 999
    res = simulate(LevelDotModel(n, gamma / n, "GUE"), [0.0], 10_000, rng=99)
    theory = _p_res_eq4(gamma)
    z = (res.p_res - theory) / np.hypot(res.p_res_sem, 2 * gamma / n * theory)
    assert abs(z) < 4, (res.p_res, res.p_res_sem, theory)


# --------------------------------------------------------------------------
# Reproducibility across executors
# --------------------------------------------------------------------------


class ReversingExecutor(Executor):
    """Runs submitted calls in batches, *last submitted first*, in a helper thread:
    chunk results arrive out of order, exercising the ordered reduction."""

    _max_workers = 4

    def __init__(self) -> None:
        self._queue: list[tuple[Future, object, tuple]] = []
        self._cv = threading.Condition()
        self._stop = False
        self.order: list[int] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def submit(self, fn, /, *args, **kwargs):
        f: Future = Future()
        with self._cv:
            self._queue.append((f, fn, args))
            self._cv.notify()
        return f

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop and not self._queue:
                    return
            with self._cv:  # let the caller fill its submit window (>= 4 tasks, or 0.2 s)
                self._cv.wait_for(lambda: len(self._queue) >= 4 or self._stop, timeout=0.2)
                batch, self._queue = self._queue, []
            for f, fn, args in reversed(batch):
                if f.set_running_or_notify_cancel():
                    self.order.append(args[0].index)
                    try:
                        f.set_result(fn(*args))
                    except BaseException as exc:
                        f.set_exception(exc)

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._cv:
            self._stop = True
            self._cv.notify()
        if wait:
            self._thread.join()


@pytest.fixture(scope="module")
def reference():
    """One run on one worker, inline (no executor at all)."""
    return simulate(small_model(), TAU, 60, rng=42, chunk_size=4, workers=1)


@pytest.mark.parametrize("workers", [2, 3])
def test_threads_bitwise_identical(reference, workers):
    assert_identical(reference, simulate(small_model(), TAU, 60, rng=42, chunk_size=4, workers=workers))


def test_user_thread_pool_bitwise_identical(reference):
    with ThreadPoolExecutor(2) as ex:
        assert_identical(reference, simulate(small_model(), TAU, 60, rng=42, chunk_size=4, executor=ex))


def test_out_of_order_completion_bitwise_identical(reference):
    ex = ReversingExecutor()
    try:
        res = simulate(small_model(), TAU, 60, rng=42, chunk_size=4, executor=ex)
    finally:
        ex.shutdown()
    assert ex.order != sorted(ex.order), "the test executor did not reorder anything"
    assert_identical(reference, res)


def test_process_pool_bitwise_identical(reference):
    with ProcessPoolExecutor(2) as ex:
        assert_identical(reference, simulate(small_model(), TAU, 60, rng=42, chunk_size=4, executor=ex))


def test_dask_cluster_bitwise_identical(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        with distributed.Client(cluster) as client:
            res = simulate(small_model(), TAU, 60, rng=42, chunk_size=4, executor=client.get_executor())
    assert_identical(reference, res)


def test_seed_forms_and_no_mutation(reference):
    ss = np.random.SeedSequence(42)
    res = simulate(small_model(), TAU, 60, rng=ss, chunk_size=4)
    assert ss.n_children_spawned == 0  # the caller's SeedSequence is not consumed
    assert_identical(reference, res)
    a = simulate(small_model(), TAU, 8, rng=np.random.default_rng(5), chunk_size=4)
    b = simulate(small_model(), TAU, 8, rng=np.random.default_rng(5), chunk_size=4)
    assert_identical(a, b)
    c = simulate(small_model(), TAU, 8, rng=43, chunk_size=4)
    assert not np.array_equal(reference.mean, c.mean)


def test_blas_pin_is_restored():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info()]
    simulate(small_model(), TAU, 12, rng=0, chunk_size=2, workers=2)
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info()] == before
    assert _parallel._pin_depth == 0


# --------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------


class FailingExecutor(ThreadPoolExecutor):
    """A thread pool whose k-th submitted task raises."""

    def __init__(self, fail_at: int) -> None:
        super().__init__(max_workers=2)
        self.fail_at = fail_at
        self.count = 0

    def submit(self, fn, /, *args, **kwargs):
        self.count += 1
        if self.count - 1 == self.fail_at:
            def boom(*a):
                raise OSError("worker node lost")
            return super().submit(boom, *args)
        return super().submit(fn, *args, **kwargs)


def test_failing_task_raises_and_keeps_checkpoint(tmp_path, reference):
    ck = tmp_path / "run.npz"
    with FailingExecutor(fail_at=6) as ex:
        with pytest.raises(fgrkern.SimulationError, match="chunk 6 of 15 failed with OSError") as info:
            simulate(small_model(), TAU, 60, rng=42, chunk_size=4, executor=ex, checkpoint=ck,
                     checkpoint_interval=0)
    assert isinstance(info.value.__cause__, OSError)
    z = np.load(ck)
    assert 0 < int(z["next_chunk"]) <= 6  # chunks before the failure were kept
    # Resuming computes the rest and reproduces the uninterrupted run.
    assert_identical(reference, simulate(small_model(), TAU, 60, rng=42, chunk_size=4, checkpoint=ck))


def test_executor_refusing_submissions():
    ex = ThreadPoolExecutor(2)
    ex.shutdown()
    with pytest.raises(fgrkern.SimulationError, match="refused chunk 0"):
        simulate(small_model(), TAU, 8, rng=1, chunk_size=2, executor=ex)


def test_unknown_method_refused_up_front():
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        simulate(small_model(), TAU, 4, rng=1, method="nope")


def test_sampler_error_propagates_inline():
    class Broken:
        n, g = 4, 0.1

        def t_from_tau(self, tau):
            return tau * 8.0

        def with_g(self, g):
            return self

        def to_dict(self):
            return {"class": "Broken", "n": self.n, "g": self.g}

        def sample(self, size, rng=None, method="secular"):
            if size:
                raise FloatingPointError("secular solver did not converge")
            return None

    with pytest.raises(fgrkern.SimulationError, match="chunk 0 of 1 failed with FloatingPointError") as info:
        simulate(Broken(), TAU, 4, rng=1, workers=1)
    assert isinstance(info.value.__cause__, FloatingPointError)


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------


def test_checkpoint_complete_rerun_computes_nothing(tmp_path, reference, monkeypatch):
    ck = tmp_path / "run.npz"
    first = simulate(small_model(), TAU, 60, rng=42, chunk_size=4, checkpoint=ck)
    assert_identical(reference, first)
    calls = []
    orig = _chunks.run_chunk
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index) or orig(task))
    assert_identical(reference, simulate(small_model(), TAU, 60, rng=42, chunk_size=4, checkpoint=ck))
    assert calls == []
    # rng=None adopts the checkpoint's seed instead of starting a different run.
    assert_identical(reference, simulate(small_model(), TAU, 60, chunk_size=4, checkpoint=ck))


@pytest.mark.parametrize("change, key", [
    (dict(rng=43), "seed"),
    (dict(n_samples=64), "n_samples"),
    (dict(tau=TAU * 1.5), "tau_sha256"),
    (dict(chunk_size=5), "chunk_size"),
    (dict(model=small_model(g=0.3)), "model"),
    (dict(method="dense"), "method"),
    (dict(g=[0.25, 0.5]), "g"),
])
def test_checkpoint_from_other_run_is_refused(tmp_path, change, key):
    ck = tmp_path / "run.npz"
    base = dict(model=small_model(), tau=TAU, n_samples=8, rng=42, chunk_size=4)
    simulate(**base, checkpoint=ck)
    with pytest.raises(ValueError, match=rf"different simulation \(differs in: .*{key}"):
        simulate(**dict(base, **change), checkpoint=ck)


def test_checkpoint_path_errors(tmp_path):
    with pytest.raises(ValueError, match="checkpoint: directory .* does not exist"):
        simulate(small_model(), TAU, 4, rng=1, checkpoint=tmp_path / "missing" / "run.npz")
    with pytest.raises(ValueError, match="is a directory"):
        simulate(small_model(), TAU, 4, rng=1, checkpoint=tmp_path)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ValueError, match="not written by fgrkern"):
        simulate(small_model(), TAU, 4, rng=1, checkpoint=foreign)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable .npz"):
        simulate(small_model(), TAU, 4, rng=1, checkpoint=junk)
    res_file = tmp_path / "result.npz"
    simulate(small_model(), TAU, 2, rng=1).save(res_file)
    with pytest.raises(ValueError, match="not a fgrkern.simulate-checkpoint file"):
        simulate(small_model(), TAU, 4, rng=1, checkpoint=res_file)


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import fgrkern
    from fgrkern import _chunks
    orig = _chunks.run_chunk
    def slow(task):          # chunks >= 6 hang, so the parent kills the run mid-way
        time.sleep(600 if task.index >= 6 else 0.05)   # whatever the machine's load;
        return orig(task)                              # values are unaffected
    _chunks.run_chunk = slow
    tau = np.array({tau!r})
    model = fgrkern.LevelDotModel({n}, 0.25, "GUE")
    fgrkern.simulate(model, tau, 60, rng=42, chunk_size=4, workers=2, checkpoint=sys.argv[1],
                     checkpoint_interval=0)
    print("finished")
""")


def test_killed_run_resumes_identically(tmp_path, reference, monkeypatch):
    ck = tmp_path / "run.npz"
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT.format(tau=TAU.tolist(), n=N_SMALL))
    proc = subprocess.Popen([sys.executable, str(script), str(ck)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 120
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if ck.exists():
                with np.load(ck) as z:  # never torn: written to a temp file and renamed
                    done = int(z["next_chunk"]) + z["pending_index"].size
                if done >= 6:
                    break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # a crash: no cleanup code runs
    finally:
        out, err = proc.communicate(timeout=60)
    assert b"finished" not in out, "the run completed before it could be killed"
    assert done == 6, err.decode()

    with np.load(ck) as z:
        already = int(z["next_chunk"]) + z["pending_index"].size
    calls = []
    orig = _chunks.run_chunk
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index) or orig(task))
    resumed = simulate(small_model(), TAU, 60, rng=42, chunk_size=4, workers=2, checkpoint=ck)
    assert already == 6 and sorted(calls) == list(range(6, 15))  # only the missing chunks
    assert_identical(reference, resumed)


def test_keyboard_interrupt_saves_checkpoint(tmp_path, reference, monkeypatch):
    ck = tmp_path / "run.npz"
    orig = _chunks.run_chunk

    def interrupt_at_5(task):
        if task.index == 5:
            raise KeyboardInterrupt
        return orig(task)

    monkeypatch.setattr(_chunks, "run_chunk", interrupt_at_5)
    with pytest.raises(KeyboardInterrupt):
        simulate(small_model(), TAU, 60, rng=42, chunk_size=4, workers=1, checkpoint=ck,
                 checkpoint_interval=1e9)
    with np.load(ck) as z:
        assert int(z["next_chunk"]) == 5  # saved on the way out despite the long interval
    monkeypatch.setattr(_chunks, "run_chunk", orig)
    assert_identical(reference, simulate(small_model(), TAU, 60, rng=42, chunk_size=4, checkpoint=ck))


# --------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------


@pytest.mark.parametrize("g", [None, [0.1, 0.25, 0.5]])
def test_save_load_round_trip(tmp_path, g):
    res = simulate(small_model(), TAU, 10, rng=8, chunk_size=4, g=g)
    path = tmp_path / "res.npz"
    res.save(path)
    back = SimulationResult.load(path)
    assert_identical(res, back)
    assert back.metadata == res.metadata
    assert type(back.p_res) is type(res.p_res) and type(back.g) is type(res.g)
    # Readable without fgrkern and without pickle.
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(z["metadata"][()])
        np.testing.assert_array_equal(z["mean"], res.mean)
    assert meta["fgrkern_version"] == fgrkern.__version__
    assert meta["model"]["n"] == N_SMALL and meta["model"]["symmetry"] == "GUE"
    assert meta["method"] == "secular" and meta["chunk_size"] == 4
    assert meta["seed"]["entropy"] == "8"


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        SimulationResult.load(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="directory .* does not exist"):
        simulate(small_model(), TAU, 2, rng=1).save(tmp_path / "no" / "r.npz")


# --------------------------------------------------------------------------
# Common random numbers across couplings
# --------------------------------------------------------------------------


def test_common_random_numbers_equal_separate_runs_with_same_seed():
    gs = [0.05, 0.1, 0.2]
    multi = simulate(small_model(), TAU, 24, rng=5, chunk_size=8, g=gs)
    assert multi.mean.shape == (3, TAU.size) and multi.p_res.shape == (3,) and multi.p_res_cov.shape == (3, 3)
    np.testing.assert_allclose(multi.gamma, np.array(gs) * N_SMALL)
    for k, gk in enumerate(gs):
        single = simulate(LevelDotModel(N_SMALL, gk, "GUE"), TAU, 24, rng=5, chunk_size=8)
        assert multi.mean[k].tobytes() == single.mean.tobytes()
        assert multi.p_res[k] == single.p_res


@pytest.mark.parametrize("symmetry, bath, method", [
    ("GUE", "wigner-dyson", "secular"), ("GOE", "wigner-dyson", "secular"), ("GSE", "wigner-dyson", "secular"),
    ("GOE", "poisson", "secular"), ("GUE", "given", "secular"),
    ("GUE", "wigner-dyson", "dense"), ("GSE", "poisson", "dense"),
])
def test_common_random_numbers_sampler_equals_separate_models(symmetry, bath, method):
    """The one-dot-many-couplings hook (and the re-seeding route for dense) gives
    bitwise the spectra of separate models with the same seed, g = 0 included."""
    n = 12
    levels = np.linspace(-1.5, 1.5, n // 2 if symmetry == "GSE" else n) ** 3
    b = levels if bath == "given" else bath
    base = LevelDotModel(n, 0.3, symmetry, 1.3, 0.2, b)
    gs = np.array([0.0, 0.02, 0.3, 2.0])
    ss = np.random.SeedSequence(77, spawn_key=(3,))
    specs = base.sample_couplings(gs, 5, rng=np.random.default_rng(ss), method=method)
    for spec, gk in zip(specs, gs):
        e, w = spec.energies, spec.weights
        ref = LevelDotModel(n, gk, symmetry, 1.3, 0.2, b).sample(5, rng=np.random.default_rng(ss), method=method)
        assert e.tobytes() == ref.energies.tobytes() and w.tobytes() == ref.weights.tobytes(), gk


def test_common_random_numbers_correlate_and_reduce_difference_variance():
    gs = [0.1, 0.12]
    res = simulate(LevelDotModel(24, 0.1, "GUE"), [0.0, 1.0], 400, rng=6, chunk_size=50, g=gs)
    C = res.p_res_cov
    rho = C[0, 1] / np.sqrt(C[0, 0] * C[1, 1])
    # Neighbouring couplings on the same spectra: strongly correlated estimates.
    assert rho > 0.8, rho
    var_diff = C[0, 0] + C[1, 1] - 2 * C[0, 1]
    assert var_diff < 0.2 * (C[0, 0] + C[1, 1])


def test_scalar_g_override_keeps_shapes():
    res = simulate(small_model(), TAU, 4, rng=1, g=0.5)
    assert res.mean.shape == TAU.shape and isinstance(res.p_res, float) and res.g == 0.5


# --------------------------------------------------------------------------
# Progress bar
# --------------------------------------------------------------------------


def test_progress_bar(capsys):
    pytest.importorskip("tqdm")
    simulate(small_model(), TAU, 12, rng=1, chunk_size=4, progress=True, workers=1)
    err = capsys.readouterr().err
    assert "12/12" in err and "samples/s" in err


def test_progress_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="progress=True needs tqdm"):
        simulate(small_model(), TAU, 4, rng=1, progress=True)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("tau, exc, msg", [
    ([0.1, -0.2], ValueError, "non-negative"),
    ([-1.0], ValueError, "non-negative"),
    ([0.1, 0.3, 0.2], ValueError, r"strictly increasing; tau\[1\]"),
    ([0.1, 0.1], ValueError, "strictly increasing"),
    ([], ValueError, "at least one"),
    ([[0.1, 0.2]], ValueError, "scalar or one-dimensional"),
    ([0.1, np.nan], ValueError, "NaN"),
    (["a"], TypeError, "tau"),
    ([1j], TypeError, "tau"),
])
def test_bad_tau(tau, exc, msg):
    with pytest.raises(exc, match=msg):
        simulate(small_model(), tau, 4, rng=1)


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(n_samples=0), ValueError, "n_samples must be >= 1"),
    (dict(n_samples=-5), ValueError, "n_samples"),
    (dict(n_samples=2.5), TypeError, "n_samples"),
    (dict(n_samples=True), TypeError, "n_samples"),
    (dict(chunk_size=0), ValueError, "chunk_size"),
    (dict(executor="threads"), TypeError, "executor"),
    (dict(progress="yes"), TypeError, "progress"),
    (dict(workers=0), ValueError, "workers"),
    (dict(g=[-0.1]), ValueError, "g must be non-negative"),
    (dict(g=[[0.1]]), ValueError, "g must be a scalar or one-dimensional"),
    (dict(rng=-1), ValueError, "rng"),
    (dict(rng=np.random.RandomState(0)), TypeError, "rng"),
    (dict(checkpoint=3), TypeError, "checkpoint"),
    (dict(checkpoint_interval=-1.0), ValueError, "checkpoint_interval"),
    (dict(method=3), TypeError, "method"),
])
def test_bad_arguments(kw, exc, msg):
    args = dict(model=small_model(), tau=TAU, n_samples=4, rng=1)
    args.update(kw)
    with pytest.raises(exc, match=msg):
        simulate(**args)


def test_not_a_model():
    with pytest.raises(TypeError, match="model must be a LevelDotModel"):
        simulate(object(), TAU, 4)
