r"""Ensemble averages of the survival probability, Eq. (2), at scale: :func:`simulate`.

:func:`simulate` validates its arguments, hands the chunks to the driver
(:mod:`fgrkern._runner`: chunks with their own random streams, reduced in
chunk order, checkpointed) and builds a :class:`fgrkern.SimulationResult`.
The result for a given seed is bitwise independent of how (and where) the
chunks were computed.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _checkpoint, _runner
from ._checkpoint import CheckpointWriteWarning
from ._chunks import check_memory
from ._parallel import ChunkFailure, concurrent_in_process
from ._progress import require_tqdm
from ._validation import (
    as_seed_sequence,
    check_positive_int,
    check_real_scalar,
    increasing_times,
    nonneg_vector,
    parse_method,
    resolve_workers,
)
from ._version import __version__
from .model import LevelDotModel, RNGLike, SampleableModel
from .result import SimulationResult

__all__ = ["CheckpointWriteWarning", "SimulationError", "simulate"]

#: Samples per chunk unless the caller chooses.  Part of the random stream's
#: definition (chunk i always holds samples [i*chunk_size, (i+1)*chunk_size)),
#: so it must not depend on the machine or on the number of workers.
DEFAULT_CHUNK_SIZE = 32


class SimulationError(RuntimeError):
    """A chunk of a simulation failed (in the worker or in the executor).

    The original exception is chained as ``__cause__``.  No result is returned;
    with ``checkpoint=`` the chunks completed so far are saved and rerunning
    the same call resumes from them.
    """


def simulate(
    model: SampleableModel,
    tau: ArrayLike,
    n_samples: int,
    *,
    rng: RNGLike = None,
    method: str = "secular",
    executor: Executor | None = None,
    progress: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    g: float | ArrayLike | None = None,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    checkpoint_interval: float = 30.0,
) -> SimulationResult:
    r"""Ensemble-averaged survival probability :math:`P(\tau)`, Eq. (2), and :math:`P_{\rm res}`.

    Draws ``n_samples`` realisations of ``model`` (``model.sample``), evaluates
    :math:`P(t) = |\sum_a w_a e^{-i e_a t}|^2` at :math:`t = \tau\, t_H`
    (:func:`fgrkern.survival_probability`) and the inverse participation
    ratio :math:`\sum_a w_a^2` of each, and returns their sample means with
    standard errors.  Memory does not grow with ``n_samples``: chunks are
    reduced into running means and centred second moments as they finish.

    Parameters
    ----------
    model : LevelDotModel or SampleableModel
        The level-dot model, Eq. (1), or any object following the
        :class:`fgrkern.SampleableModel` protocol (``sample``,
        ``t_from_tau``, ``with_g``, ``to_dict``).  It must be picklable for
        process or cluster executors.
    tau : array_like, shape (T,)
        Rescaled times :math:`\tau = t/t_H` (:math:`t_H = 2\pi\nu = 2N/\lambda`),
        non-negative and strictly increasing (e.g. ``np.geomspace``).
    n_samples : int
        Number of realisations, >= 1.
    rng : None, int, SeedSequence or Generator, optional
        Seed.  The samples are split in chunks of ``chunk_size``; chunk ``i``
        draws from ``numpy.random.default_rng(child_i)`` where ``child_i =
        SeedSequence(seed).spawn(n_chunks)[i]`` (built directly from the
        entropy and spawn key, so a caller's SeedSequence is not mutated; a
        Generator contributes entropy drawn from it).  The result for a given
        seed and ``chunk_size`` is bitwise identical for any executor and any
        number of workers; the first k chunks of a longer run are the k
        chunks of a shorter one.
    method : str, optional
        Passed to ``model.sample``: ``"secular"`` (fast exact arrowhead
        sampler, default) or ``"dense"`` (reference diagonalisation).
    executor : concurrent.futures.Executor, optional
        Where chunks run.  Default: a thread pool over ``workers`` threads
        (the kernels release the GIL).  Any ``Executor`` works:

        - processes: ``concurrent.futures.ProcessPoolExecutor()``;
        - dask: ``client = dask.distributed.Client(cluster)``, then
          ``executor=client.get_executor()``;
        - MPI (mpi4py): in a script started as
          ``mpiexec -n 65 python -m mpi4py.futures script.py``, use
          ``with mpi4py.futures.MPIPoolExecutor() as ex: simulate(..., executor=ex)``.

        BLAS is pinned to one thread inside every worker.  The executor is
        not shut down by ``simulate``.
    progress : bool, optional
        Show a tqdm progress bar with samples/s and ETA on stderr (requires
        ``tqdm``, the ``fgrkern[progress]`` extra); when stderr is not a
        terminal (a log file, CI), a plain line every 10 s instead.
    checkpoint : str or PathLike, optional
        A ``.npz`` file that records the completed chunks, rewritten
        atomically (temporary file + rename) at most every
        ``checkpoint_interval`` seconds, on failure or interrupt, and at the
        end.  If the file exists, the run resumes from it and the final result
        is bitwise identical to an uninterrupted run.  A checkpoint written
        for different parameters, seed, chunking or fgrkern version is
        refused with ``ValueError``.  With ``rng=None`` an existing
        checkpoint's seed is adopted.  The file is kept after completion
        (rerunning returns the result at once); delete it to start afresh.
        Its directory must exist.  It is written like
        :meth:`SimulationResult.save` (an existing FIFO, device or other
        non-regular file is refused, never opened; links are followed) and
        read as untrusted input (see :meth:`SimulationResult.load`).  The
        first write happens before any work and raises if it fails; a later
        write that fails (e.g. a full disk) only warns with
        :class:`CheckpointWriteWarning`, naming the file: the run goes on,
        retries at the next interval, and a finished run returns its result.
    g : float or array_like, shape (G,), optional
        Couplings to evaluate on **common random numbers**: for every
        realisation, each g uses the same dot spectrum and the same Gaussian
        coupling vector (only its scale :math:`\sqrt{g}` differs); the result
        for each g equals, bitwise, a separate run of the model with that g
        and the same seed, whatever the other couplings are (e.g.
        ``g=[1e-3, 1e250]``: the secular path works in a larger energy unit
        for g beyond ~1e240, reached from the common draws by an exact
        power-of-two rescaling).  With ``method="secular"`` the dot is drawn and
        diagonalised once per realisation and only the secular equation and
        P(t) are evaluated per g (at N = 1000 ten couplings cost about 3x
        one, instead of 10x), and differences between couplings have far less
        variance than with independent runs.  The estimates at different g are then
        *positively correlated* (strongly so for neighbouring g): their errors
        are not independent, so a fit or chi-squared across g must use the
        covariance ``res.p_res_cov``, and the smoothness of a curve
        across g says nothing about its accuracy.  Default: the model's g.
        An array (even of length 1) adds a leading G axis to the result.
    workers : int, optional
        Threads of the default pool (None or -1: all usable cores; at most
        4 per CPU, larger values are clamped).  Ignored when ``executor`` is
        given.
    chunk_size : int, optional
        Realisations per chunk (default 32).  Part of the definition of the
        random stream; keep it fixed to reproduce a result.
    checkpoint_interval : float, optional
        Minimum seconds between checkpoint writes (0: after every chunk).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError, TypeError
        Bad arguments (negative or non-increasing ``tau``, ``n_samples`` < 1,
        checkpoint in a missing directory or from another run, ...).
        Arguments after ``n_samples`` are keyword-only.
    SimulationError
        A chunk failed in the worker or the executor; the cause is chained.
        Nothing is returned, completed chunks are kept in the checkpoint.
    ImportError
        ``progress=True`` without tqdm.

    Warns
    -----
    CheckpointWriteWarning
        A checkpoint write after the first one failed (see ``checkpoint``).

    Notes
    -----
    ``mean`` estimates Eq. (2) on the grid; ``p_res`` estimates its
    :math:`t\to\infty` limit (Eq. (4) for GUE as :math:`N\to\infty`; at
    finite N it exceeds Eq. (4) by O(gamma/N), footnote [26]).  Realisations
    are independent, so ``sem = std / sqrt(n_samples)``.  Each chunk is
    summarised by its count, mean and centred sum of squares, and chunks are
    merged with the pairwise update of Chan, Golub and LeVeque in chunk
    order: the variance does not suffer the cancellation of raw sums of P and
    P^2, and the merge order, hence every bit of the result, is fixed.
    ``rng=None`` draws fresh entropy; it is recorded in
    ``res.metadata["seed"]`` so that the run can be repeated.

    Examples
    --------
    The paper's Fig. 2 curves (GUE, N + 1 = 1000, 1e4 samples) on all local
    cores, resumable after a crash:

    >>> import numpy as np, fgrkern as fk                         # doctest: +SKIP
    >>> model = fk.LevelDotModel(999, 5 / 999, "GUE")             # doctest: +SKIP
    >>> tau = np.geomspace(1e-3, 10, 200)                         # doctest: +SKIP
    >>> res = fk.simulate(model, tau, 10_000, rng=1, progress=True,
    ...                   checkpoint="gue.ckpt.npz")               # doctest: +SKIP
    >>> res.save("gue.npz"); fk.SimulationResult.load("gue.npz")  # doctest: +SKIP

    P_res against gamma (Fig. 2d) on common random numbers:

    >>> gammas = np.geomspace(0.01, 100, 25)                      # doctest: +SKIP
    >>> res = fk.simulate(model, [0.0], 10_000, rng=2, g=gammas / model.n)  # doctest: +SKIP
    >>> res.p_res, res.p_res_cov                                  # doctest: +SKIP

    On an MPI cluster with mpi4py (the same seed gives the same bits as on a
    laptop); start with ``mpiexec -n 65 python -m mpi4py.futures run.py``
    where run.py contains::

        from mpi4py.futures import MPIPoolExecutor
        with MPIPoolExecutor() as ex:
            res = fk.simulate(model, tau, 10**6, rng=1, executor=ex,
                              checkpoint="run.ckpt.npz")
        res.save("run.npz")

    With dask, ``executor=dask.distributed.Client(...).get_executor()``.
    """
    plan, tau_arr = _plan(model, tau, n_samples, rng, method, executor, progress, checkpoint, g, workers,
                          chunk_size, checkpoint_interval)
    try:
        moments, fp = _runner.run(plan)
    except ChunkFailure as exc:
        raise SimulationError(str(exc)) from exc.__cause__
    params = [model.to_dict()] if plan.gs is None else [model.with_g(float(gk)).to_dict() for gk in plan.gs]
    meta = {
        "model": plan.fingerprint["model"],  # the model as given (its own g)
        "method": plan.method,
        "chunk_size": plan.chunk_size,
        "seed": fp["seed"],
        "common_random_numbers": plan.gs is not None and plan.gs.size > 1,
        "fgrkern_version": __version__,
        "numpy_version": np.__version__,
    }
    return SimulationResult.from_moments(moments, tau_arr, plan.t, params, g is None or np.ndim(g) == 0, meta)


def check_resumable(model: SampleableModel, tau: ArrayLike, n_samples: int, **kwargs: Any) -> None:
    """Raise what ``simulate(model, tau, n_samples, **kwargs)`` would raise before its first chunk:
    a bad argument, or a ``checkpoint`` file written by a different simulation.  Computes nothing.

    For callers that run several simulations (``fgrkern reproduce``) and must refuse a
    foreign checkpoint of a later one before the earlier ones compute.
    """
    import inspect

    a = inspect.signature(simulate).bind(model, tau, n_samples, **kwargs)
    a.apply_defaults()
    v = a.arguments
    plan, _ = _plan(v["model"], v["tau"], v["n_samples"], v["rng"], v["method"], v["executor"], v["progress"],
                    v["checkpoint"], v["g"], v["workers"], v["chunk_size"], v["checkpoint_interval"])
    if plan.checkpoint is not None:
        _checkpoint.load(plan.checkpoint, plan.fingerprint, plan.rng_given, *plan.shape, plan.n_chunks,
                         plan.chunk_len)


def _plan(model: SampleableModel, tau: ArrayLike, n_samples: int, rng: RNGLike, method: str,
          executor: Executor | None, progress: bool, checkpoint: str | os.PathLike[str] | None,
          g: float | ArrayLike | None, workers: int | None, chunk_size: int,
          checkpoint_interval: float) -> tuple[_runner.RunPlan, np.ndarray]:
    """Every argument checked before any work (ValueError/TypeError naming it), as a run plan and tau."""
    from ._files import check_writable_path

    if isinstance(model, type) or not isinstance(model, SampleableModel):  # a class has the methods, unbound
        raise TypeError(f"model must be a LevelDotModel or follow fgrkern.SampleableModel (sample, "
                        f"t_from_tau, with_g, to_dict), got "
                        f"{'the class ' + model.__name__ if isinstance(model, type) else type(model).__name__}")
    tau_arr = increasing_times(tau)
    # counts are exact in float64 (means, standard errors) up to 2^53
    n_samples = check_positive_int(n_samples, "n_samples", maximum=2**53)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    method = parse_method(method)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {type(progress).__name__}")
    interval = check_real_scalar(checkpoint_interval, "checkpoint_interval")
    if interval < 0:
        raise ValueError(f"checkpoint_interval must be >= 0, got {interval}")
    nthreads = resolve_workers(workers) if executor is None else 0
    gs = None if g is None else nonneg_vector(g, "g", "coupling")
    ckpt_path = None if checkpoint is None else check_writable_path(checkpoint, "checkpoint", checkpoint=True)
    if progress:
        require_tqdm()
    t_arr = np.ascontiguousarray(model.t_from_tau(tau_arr), dtype=np.float64)
    if t_arr.shape != tau_arr.shape:
        raise ValueError(f"model.t_from_tau returned shape {t_arr.shape} for tau of shape {tau_arr.shape}")
    G, rows, M = 1 if gs is None else gs.size, min(chunk_size, n_samples), 0
    if isinstance(model, LevelDotModel):
        # What the model can check before any chunk: one realisation's memory, the phases' range.
        model.check_sample_memory(0, method)
        model.check_phases(t_arr, float(np.max(gs)) if gs is not None else model.g)
        # the result records gamma = g N per coupling: refused now if it overflows, not saved as inf
        _ = model.with_g(float(np.max(gs)) if gs is not None else model.g).gamma
        M = model.n_eigen
    check_memory(rows, G, tau_arr.size, M, concurrent_in_process(executor, nthreads))
    ss = as_seed_sequence(rng)
    fp = _checkpoint.fingerprint(model.to_dict(), method, tau_arr, n_samples, chunk_size, gs,
                                 _checkpoint.seed_record(ss))
    plan = _runner.RunPlan(model=model, method=method, t=t_arr, gs=gs, n_samples=n_samples, chunk_size=chunk_size,
                           seed=ss, rng_given=rng is not None, fingerprint=fp, executor=executor,
                           nthreads=nthreads, checkpoint=ckpt_path, interval=interval, progress=bool(progress))
    return plan, tau_arr
