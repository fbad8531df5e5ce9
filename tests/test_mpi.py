"""simulate() on MPI ranks through mpi4py.futures equals a local run bit for bit.

Marker ``mpi``: not in the default suite (it starts mpiexec); CI runs it in its
own step, ``pytest -m mpi tests/test_mpi.py``, with ``fgrkern[mpi]`` installed
(mpi4py and the MPICH wheel).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.mpi

HERE = pathlib.Path(__file__).resolve().parent
SCRIPT = HERE / "mpi_run.py"
FIELDS = ("mean", "sem", "std", "p_res", "p_res_sem")
N, CHUNK = 400, 8  # 50 chunks
N_CHUNKS = N // CHUNK


def _mpiexec() -> str:
    if importlib.util.find_spec("mpi4py") is None:
        pytest.fail("mpi4py is not installed: pip install 'fgrkern[mpi]'")
    # prefer the mpiexec of this environment (the MPICH wheel puts it next to python)
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if exe is None:
        pytest.fail("no mpiexec found: pip install 'fgrkern[mpi]'")
    return exe


def _command(out, ckpt="-", sleep=0.0, log=""):
    return [_mpiexec(), "-n", "3", sys.executable, "-m", "mpi4py.futures", str(SCRIPT),
            str(out), str(N), str(CHUNK), str(ckpt), str(sleep), str(log)]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE)] + [p for p in [env.get("PYTHONPATH")] if p])
    # Open MPI refuses to start as root without these; MPICH ignores them
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env


def _load_script_module():
    spec = importlib.util.spec_from_file_location("mpi_run", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["mpi_run"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def local():
    """The reference: the same simulation in this process, one thread."""
    mod = _load_script_module()
    try:
        res = mod.run(N, CHUNK)
        return {k: np.asarray(getattr(res, k)) for k in FIELDS}
    finally:
        del sys.modules["mpi_run"]


def _ranks(log: pathlib.Path) -> list[int]:
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def test_mpi_pool_equals_local_run(tmp_path, local):
    out, log = tmp_path / "mpi.npz", tmp_path / "calls.log"
    proc = subprocess.run(_command(out, log=log), env=_env(), capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = np.load(out)
    assert int(got["world"]) == 3
    for k in FIELDS:
        np.testing.assert_array_equal(got[k], local[k], err_msg=k)
    ranks = _ranks(log)
    # every chunk sampled exactly once, all of them on the worker ranks
    assert len(ranks) == N_CHUNKS and set(ranks) <= {1, 2}, ranks


def _wait_gone(pgid: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {pgid} still alive {timeout} s after SIGKILL")


def test_mpi_checkpoint_killed_and_resumed(tmp_path, local):
    out, ckpt, log = tmp_path / "mpi.npz", tmp_path / "run.ckpt.npz", tmp_path / "calls.log"
    # 1. a slow run (0.1 s per chunk on 2 workers: ~2.5 s), SIGKILLed with
    #    every process of the MPI job once at least 10 chunks have started
    proc = subprocess.Popen(_command(out, ckpt, sleep=0.1, log=log), env=_env(), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        end = time.monotonic() + 120
        while len(_ranks(log)) < 10:
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < end, "the MPI run did not start sampling within 120 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
        _wait_gone(proc.pid, 60)
    first = len(_ranks(log))
    assert not out.exists() and ckpt.exists()
    assert first < N_CHUNKS, "the run finished before it was killed: nothing was tested"

    # 2. rerun the same command (without the delay): it resumes from the checkpoint
    log.write_text("")
    proc = subprocess.run(_command(out, ckpt, sleep=0.0, log=log), env=_env(), capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    resumed = _ranks(log)
    # it sampled only what the checkpoint did not hold, on the workers
    assert 0 < len(resumed) < N_CHUNKS and set(resumed) <= {1, 2}, (first, resumed)
    got = np.load(out)
    for k in FIELDS:
        np.testing.assert_array_equal(got[k], local[k], err_msg=k)
