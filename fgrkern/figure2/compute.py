"""The simulations of Figure 2: one ``simulate`` call per family, and the N -> infinity limit."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import fgrkern as fk
from fgrkern._checkpoint import samples_saved

from .config import ORDER2_GAMMA, Family, Figure2Config, families

__all__ = ["Run", "Limit", "compute", "run_family", "limit"]


@dataclass
class Run:
    """The result of one family's ``simulate`` call, with its cost."""

    family: Family
    result: fk.SimulationResult
    wall_seconds: float
    cpu_seconds: float  # process CPU time (all threads) during the call
    samples_computed: int  # by this call: fewer than the family's when it resumed from a checkpoint


@dataclass
class Limit:
    """N -> infinity estimates of one class, per coupling (rows), from :func:`fgrkern.extrapolate`.

    ``mean``/``sem`` have shape (G, T), ``p_res``/``p_res_sem`` (G,), ``p_res_cov``
    (G, G); ``order`` is the polynomial degree in 1/N used for each coupling,
    ``chi2``/``dof`` the fit's goodness per point (dof 0: exact, no test).
    """

    symmetry: str
    gammas: np.ndarray
    sizes: list[int]
    order: np.ndarray
    mean: np.ndarray = field(repr=False)
    sem: np.ndarray = field(repr=False)
    chi2: np.ndarray = field(repr=False)
    dof: np.ndarray
    p_res: np.ndarray
    p_res_sem: np.ndarray
    p_res_cov: np.ndarray = field(repr=False)
    p_res_chi2: np.ndarray


def run_family(fam: Family, tau: np.ndarray, cfg: Figure2Config, progress: bool,
               checkpoint: str | None = None) -> Run:
    """``simulate`` of one family: every coupling on common random numbers, one seeded stream.

    With ``checkpoint`` the call is resumable (see :func:`fgrkern.simulate`).
    """
    args, kwargs = _simulate_args(fam, tau, cfg, progress, checkpoint)
    # what a checkpoint already holds is not computed (or timed) here; simulate
    # refuses the file unless it is this family's own
    resumed = (samples_saved(checkpoint) or 0) if checkpoint is not None and os.path.exists(checkpoint) else 0
    c0, w0 = time.process_time(), time.perf_counter()
    res = fk.simulate(*args, **kwargs)
    return Run(fam, res, time.perf_counter() - w0, time.process_time() - c0, max(0, fam.samples - resumed))


def _simulate_args(fam: Family, tau: np.ndarray, cfg: Figure2Config, progress: bool,
                   checkpoint: str | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of the family's ``simulate`` call (one place for the run and its pre-check)."""
    model = fk.LevelDotModel(fam.n, fam.gammas[0] / fam.n, symmetry=fam.symmetry)
    g = np.asarray(fam.gammas, dtype=np.float64) / fam.n
    return (model, tau, fam.samples), dict(rng=fam.seed(cfg.seed), g=g, workers=cfg.workers, progress=progress,
                                           checkpoint=checkpoint)


def check_checkpoints(cfg: Figure2Config, checkpoint: Callable[[Family], str]) -> None:
    """ValueError before any family computes if an existing checkpoint belongs to another run."""
    from fgrkern.simulation import check_resumable

    tau = cfg.tau()
    for fam in families(cfg):
        path = checkpoint(fam)
        if os.path.exists(path):
            args, kwargs = _simulate_args(fam, tau, cfg, False, path)
            check_resumable(*args, **kwargs)


def compute(cfg: Figure2Config, progress: bool = False,
            checkpoint: Callable[[Family], str] | None = None) -> dict[str, Run]:
    """Every family of ``cfg`` (see :func:`~fgrkern.figure2.config.families`), keyed by ``Family.key``.

    ``checkpoint(family)``, if given, names the checkpoint file of each family's call.
    """
    show = progress and importlib.util.find_spec("tqdm") is not None
    tau = cfg.tau()
    return {fam.key: run_family(fam, tau, cfg, show, None if checkpoint is None else checkpoint(fam))
            for fam in families(cfg)}


def limit(runs: list[Run]) -> Limit:
    """Extrapolate one class's runs at several sizes to N -> infinity, coupling by coupling.

    Couplings with gamma > ``ORDER2_GAMMA`` use order 2 in 1/N, the others
    order 1 (see ``config.ORDER2_GAMMA``).  Both fits come from
    :func:`fgrkern.extrapolate`; the covariance of P_res across couplings of
    different orders follows from the fits' linear maps (below).
    """
    results = [r.result for r in runs]
    gam = np.atleast_1d(np.asarray(results[0].gamma, dtype=np.float64))
    order = np.where(gam > ORDER2_GAMMA, 2, 1)
    fits = {k: fk.extrapolate(results, order=k) for k in sorted(set(order.tolist()))}
    G, T = gam.size, np.size(results[0].tau)

    def rows(name: str, shape: tuple[int, ...]) -> np.ndarray:
        out = np.empty((G,) + shape)
        for k, f in fits.items():
            v = np.asarray(f.extrapolation[name] if name in ("chi2", "p_res_chi2") else getattr(f, name))
            out[order == k] = v.reshape((G,) + shape)[order == k]
        return out

    sizes = fits[int(order[0])].extrapolation["sizes"]
    dof = len(sizes) - (order + 1)
    return Limit(runs[0].family.symmetry, gam, sizes, order, rows("mean", (T,)), rows("sem", (T,)),
                 rows("chi2", (T,)), dof, rows("p_res", ()), rows("p_res_sem", ()),
                 _mixed_cov(results, fits, order), rows("p_res_chi2", ()))


def _mixed_cov(results: list[fk.SimulationResult], fits: dict[int, fk.SimulationResult],
               order: np.ndarray) -> np.ndarray:
    """Cov of the P_res intercepts when couplings use different orders.

    A weighted least-squares intercept is linear in the data, a_g = sum_k L_gk p_gk with
    L_gk = sum_j C_g[0, j] N_k^-j / sem_gk^2 (C_g: the fit's coefficient covariance); runs at
    different sizes are independent, so Cov(a_g, a_h) = sum_k L_gk L_hk Cov_k(g, h).
    """
    by_n = sorted(results, key=lambda r: r.metadata["model"]["n"])
    n = np.array([r.metadata["model"]["n"] for r in by_n], dtype=np.float64)
    s2 = np.stack([np.atleast_1d(r.p_res_sem) ** 2 for r in by_n], axis=1)        # (G, K)
    covs = np.stack([np.atleast_2d(r.p_res_cov) for r in by_n])                   # (K, G, G)
    L = np.empty_like(s2)
    for k, f in fits.items():
        c0 = np.asarray(f.extrapolation["p_res_coef_cov"]).reshape(order.size, k + 1, k + 1)[:, 0, :]
        X = n[:, None] ** -np.arange(k + 1)[None, :]                               # (K, P)
        L[order == k] = ((c0 @ X.T) / s2)[order == k]
    return np.einsum("gk,hk,kgh->gh", L, L, covs)
