"""Script and model for tests/test_mpi.py, run as

    mpiexec -n 3 python -m mpi4py.futures tests/mpi_run.py OUT N CHUNK CKPT SLEEP LOG

Rank 0 runs ``simulate`` with an ``MPIPoolExecutor`` (ranks 1, 2 are the
workers) and saves the result to OUT.  The model is a LevelDotModel that
appends "<rank>\n" to LOG for every chunk it samples (size > 0) (so the test sees where
and how many chunks ran) and sleeps SLEEP seconds per chunk (so that a run can
be killed mid-way); neither changes the samples.  This file is also imported
(as ``mpi_run``) by the workers to unpickle the model.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

import numpy as np

import fgrkern as fk

TAU = np.geomspace(1e-2, 5.0, 40)
SEED = 20221006


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class LoggedModel(fk.LevelDotModel):
    """LevelDotModel recording each sample() call; same samples as the base class."""

    log: str = ""
    sleep: float = 0.0

    def sample(self, size, rng=None, method="secular"):
        if self.log and size > 0:  # a size-0 draw has nothing to log
            rank = 0
            if "mpi4py" in sys.modules:
                from mpi4py import MPI
                rank = MPI.COMM_WORLD.Get_rank()
            # one O_APPEND write per line: atomic between processes
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{rank}\n".encode())
            finally:
                os.close(fd)
        if self.sleep:
            time.sleep(self.sleep)
        return super().sample(size, rng=rng, method=method)


def model(log: str = "", sleep: float = 0.0) -> LoggedModel:
    return LoggedModel(60, 3.0 / 60, "GUE", log=log, sleep=sleep)


def run(n: int, chunk: int, executor=None, checkpoint=None, log="", sleep=0.0, workers=1):
    return fk.simulate(model(log, sleep), TAU, n, rng=SEED, executor=executor,
                       checkpoint=checkpoint, checkpoint_interval=0.0, chunk_size=chunk,
                       workers=workers)


def main(argv: list[str]) -> None:
    from mpi4py import MPI
    from mpi4py.futures import MPIPoolExecutor

    out, n, chunk, ckpt, sleep, log = argv
    with MPIPoolExecutor() as ex:
        res = run(int(n), int(chunk), executor=ex, checkpoint=None if ckpt == "-" else ckpt,
                  log=log, sleep=float(sleep))
    np.savez(out, mean=res.mean, sem=res.sem, std=res.std, p_res=res.p_res,
             p_res_sem=res.p_res_sem, world=MPI.COMM_WORLD.Get_size())


if __name__ == "__main__":
    main(sys.argv[1:])
