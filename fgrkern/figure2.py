"""Reproduction of Figure 2 of Micklitz, Morningstar, Altland & Huse, PRL 129, 140402 (2022).

Used by ``fgrkern reproduce``; importable for scripting::

    from fgrkern.figure2 import Figure2Config, reproduce
    summary = reproduce(Figure2Config.from_preset("quick"), "out-dir")

Panels (N + 1 = 1000 states like the paper; GSE: N = 998 dot states, i.e.
499 Kramers doublets plus the level doublet):

(a)-(c)  P(tau), GUE, gamma = 46, 0.46, 0.022: numerics vs Eq. (5).
(d)      P_res = P(tau -> inf) vs gamma (log grid 1e-2 ... 1e2): numerics vs
         Eq. (4) and the Golden Rule value 1/gamma.
(e)      GOE, GUE, GSE at gamma = 46: numerics vs Eq. (6), with the measured
         plateau/offset ratios P_pl/P_off against (3/2, 2, 3).

Every comparison is reported in ``summary.json`` against two yardsticks: the
statistical error (z = (numerics - theory)/sem) and the size of the known
systematic corrections of the theory, which the paper's formulas do not contain:

* finite N: Eqs. (4)-(5) are the limit N -> inf at fixed gamma; at N = 999 the
  simulated curves exceed them by O(gamma/N) (about 3 % of P_res at gamma = 46,
  footnote [26] of the paper);
* large gamma: Eq. (6) is the gamma >> 1 form; its corrections are
  O(1/gamma) relative (e.g. Eq. (4) = (1/gamma)(1 - 9/(4 gamma) + ...)).

A point "agrees" if |numerics - theory| <= Z_MAX sem ("statistical") or, failing
that, if it is within the stated systematic allowance ("systematic"); the
summary says which, per panel and per point of panel (d).

matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._files import check_writable_path, probe_directory, safe_write
from ._progress import Progress

__all__ = ["DEFAULT_SEED", "Figure2Config", "plot_figure2", "plot_simulation", "reproduce"]

#: Default seed of ``fgrkern reproduce`` (the paper's publication date).
DEFAULT_SEED = 20220927
#: |z| above which a point counts as a statistically significant deviation.
#: With ~250 correlated points per curve, pure noise exceeds 4 with probability ~1 %.
Z_MAX = 4.0
#: Coefficient c of the systematic allowances c * gamma/N (finite N) and c/gamma (Eq. (6)).
SYSTEMATIC_COEFF = 1.5
#: Samples per independently seeded chunk.  Fixed, so the numbers depend only on
#: the seed and the sample count (never on workers), and a larger --samples
#: extends the same random stream.
CHUNK = 256

GAMMAS_TAU = (46.0, 0.46, 0.022)
GAMMA_SFF = 46.0
CLASSES = ("GOE", "GUE", "GSE")
#: Offset/plateau constants of the paper: P_off = a/(2 gamma), P_pl = (a + b)/(2 gamma).
A_X = {"GUE": 1.0, "GOE": 2.0, "GSE": 1.0}
B_X = {"GUE": 1.0, "GOE": 1.0, "GSE": 2.0}
RATIO_X = {"GUE": 2.0, "GOE": 1.5, "GSE": 3.0}


@dataclass(frozen=True)
class Figure2Config:
    """Sizes of one reproduction run.

    Attributes
    ----------
    n : int
        Dot states N for GUE/GOE (N + 1 = 1000 by default); GSE uses the even
        N - (N mod 2).
    samples : int
        Realisations per curve of panels (a)-(c) and (e).
    samples_res : int
        Realisations per gamma of panel (d).
    n_gamma_res : int
        Number of log-spaced gammas in [1e-2, 1e2] for panel (d).
    tau_min, tau_max, n_tau : float, float, int
        Log-spaced time grid tau = t/t_H of panels (a)-(c), (e).
    seed : int
        Root seed; every curve and chunk gets its own stream derived from it.
    workers : int or None
        Worker threads (None: all usable cores); the numbers do not depend on it.
    preset : str
        Name of the preset the sizes came from ("quick", "default", "paper"), with
        ", samples=K" appended when the sample count was overridden.
    """

    n: int = 999
    samples: int = 2000
    samples_res: int = 500
    n_gamma_res: int = 20
    tau_min: float = 1e-4
    tau_max: float = 1e2
    n_tau: int = 241
    seed: int = DEFAULT_SEED
    workers: int | None = None
    preset: str = "default"

    @classmethod
    def from_preset(cls, name: str = "default", *, samples: int | None = None, n: int | None = None,
               seed: int = DEFAULT_SEED, workers: int | None = None) -> "Figure2Config":
        """The "quick" (~20 s), "default" (~3 min) or "paper" (10^4 samples) sizes on 2 cores.

        ``samples`` overrides the count per curve (panel (d) then uses the same
        count per gamma); the other sizes stay those of the preset.
        """
        base = {
            "quick": dict(samples=200, samples_res=100, n_gamma_res=9),
            "default": dict(samples=2000, samples_res=500),
            "paper": dict(samples=10_000, samples_res=10_000),
        }
        if name not in base:
            raise ValueError(f"unknown preset {name!r}: expected quick, default or paper")
        kw: dict[str, Any] = dict(base[name])
        if samples is not None:
            kw.update(samples=int(samples), samples_res=int(samples))
            name = f"{name}, samples={int(samples)}"
        if n is not None:
            kw["n"] = int(n)
        return cls(seed=seed, workers=workers, preset=name, **kw)

    def tau(self) -> np.ndarray:
        return np.geomspace(self.tau_min, self.tau_max, self.n_tau)

    def gammas_res(self) -> np.ndarray:
        return np.geomspace(1e-2, 1e2, self.n_gamma_res)

    def n_for(self, symmetry: str) -> int:
        return self.n - (self.n % 2) if symmetry == "GSE" else self.n


# ------------------------------------------------------------------ running
@dataclass
class _Curve:
    """Pooled ensemble statistics of one (symmetry, gamma) curve."""

    key: str
    symmetry: str
    gamma: float
    n: int
    tau: np.ndarray
    mean: np.ndarray = field(repr=False)
    sem: np.ndarray = field(repr=False)
    p_res: float
    p_res_sem: float
    n_samples: int
    seconds: float


def _pool(stats: list[tuple[int, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Pool (n_i, mean_i, sem_i) of independent chunks into (mean, sem); sem = sd(ddof=1)/sqrt(n)."""
    n = np.array([s[0] for s in stats], dtype=np.float64)
    means = np.array([np.asarray(s[1], dtype=np.float64) for s in stats])
    sems = np.array([np.asarray(s[2], dtype=np.float64) for s in stats])
    ntot = n.sum()
    shape = (-1,) + (1,) * (means.ndim - 1)
    mean = (n.reshape(shape) * means).sum(0) / ntot
    # Within-chunk sums of squares (n_i - 1) sd_i^2 with sd_i^2 = n_i sem_i^2 (zero for a
    # one-sample chunk, whose sem is NaN), plus the between-chunk part.
    within = np.where((n > 1).reshape(shape), (n - 1).reshape(shape) * n.reshape(shape) * sems**2, 0.0)
    ss = within.sum(0) + (n.reshape(shape) * (means - mean) ** 2).sum(0)
    sem = np.sqrt(ss / (ntot - 1) / ntot) if ntot > 1 else np.full_like(mean, np.nan)
    return mean, sem


def _run_curve(key: str, task_id: int, symmetry: str, gamma: float, n: int, tau: np.ndarray,
               samples: int, seed: int, workers: int | None, progress: Progress) -> _Curve:
    """simulate() in fixed-size chunks with seeds (seed, task_id, chunk): worker-independent."""
    import fgrkern as fk

    model = fk.LevelDotModel(n, gamma / n, symmetry=symmetry)
    t0 = time.perf_counter()
    parts, pres = [], []
    done, chunk = 0, 0
    while done < samples:
        k = min(CHUNK, samples - done)
        ss = np.random.SeedSequence(seed, spawn_key=(task_id, chunk))
        res = fk.simulate(model, tau, k, rng=ss, workers=workers)
        parts.append((k, np.asarray(res.mean), np.asarray(res.sem)))
        pres.append((k, np.asarray(res.p_res), np.asarray(res.p_res_sem)))
        done += k
        chunk += 1
        progress.update(k, key)
    mean, sem = _pool(parts)
    pm, ps = _pool(pres)
    return _Curve(key, symmetry, gamma, n, tau, mean, sem, float(pm), float(ps), samples,
                  time.perf_counter() - t0)


def _compute(cfg: Figure2Config, progress_on: bool) -> dict[str, Any]:
    tau = cfg.tau()
    gres = cfg.gammas_res()
    # (key, task id, symmetry, gamma, tau grid, samples).  Task ids fix the random
    # streams; they must never be renumbered.
    tasks: list[tuple[str, int, str, float, np.ndarray, int]] = []
    for i, gm in enumerate(GAMMAS_TAU):
        tasks.append((f"GUE gamma={gm:g}", i, "GUE", gm, tau, cfg.samples))
    tasks.append((f"GOE gamma={GAMMA_SFF:g}", 3, "GOE", GAMMA_SFF, tau, cfg.samples))
    tasks.append((f"GSE gamma={GAMMA_SFF:g}", 4, "GSE", GAMMA_SFF, tau, cfg.samples))
    # Panel (d) needs only the long-time limit (the mean IPR); one time point keeps it cheap.
    t_one = np.array([cfg.tau_max])
    for gm in gres:
        # id keyed by gamma: the same gamma gets the same stream in every preset.
        tasks.append((f"P_res gamma={gm:.3g}", 10_000 + int(round(1000 * math.log10(gm))), "GUE", float(gm),
                      t_one, cfg.samples_res))
    ids = [t[1] for t in tasks]
    assert len(set(ids)) == len(ids)

    prog = Progress(sum(t[5] for t in tasks), "fgrkern reproduce", progress_on, unit="sample")
    curves: dict[str, _Curve] = {}
    try:
        for key, tid, sym, gm, tt, ns in tasks:
            curves[key] = _run_curve(key, tid, sym, gm, cfg.n_for(sym), tt, ns, cfg.seed, cfg.workers, prog)
    finally:
        prog.close()
    return {"tau": tau, "gammas_res": gres, "curves": curves, "tasks": tasks}


# --------------------------------------------------------------- statistics
def _compare(mean: np.ndarray, sem: np.ndarray, th: np.ndarray, allowance: np.ndarray,
             allowance_doc: str) -> dict[str, Any]:
    """Agreement of numerics with theory, statistically and within a systematic allowance."""
    diff = mean - th
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sem > 0, diff / sem, np.where(diff == 0, 0.0, np.inf))
        rel = np.abs(diff) / np.abs(th)
    az = np.abs(z)
    stat_ok = az <= Z_MAX
    sys_ok = np.abs(diff) <= Z_MAX * sem + allowance
    i = int(np.argmax(az))
    if bool(np.all(stat_ok)):
        verdict = "statistical"
    elif bool(np.all(sys_ok)):
        verdict = "systematic"
    else:
        verdict = "disagree"
    return {
        "n_points": int(mean.size),
        "max_abs_z": float(az[i]),
        "max_abs_z_at": float(i),  # replaced by the caller with the abscissa
        "mean_z": float(np.mean(z[np.isfinite(z)])) if np.any(np.isfinite(z)) else None,
        "fraction_within_2sem": float(np.mean(az <= 2)),
        "points_beyond_z_max": int(np.sum(~stat_ok)),
        "max_rel_dev": float(np.nanmax(rel)),
        "max_abs_dev": float(np.max(np.abs(diff))),
        "points_beyond_allowance": int(np.sum(~sys_ok)),
        "systematic_allowance": allowance_doc,
        "agreement": verdict,
    }


def _fit_offset(tau: np.ndarray, mean: np.ndarray, sem: np.ndarray, gamma: float,
                symmetry: str) -> tuple[float, float]:
    """P_off: weighted fit of P - exp(-4 gamma tau) = A + B K_X(tau) on 8/(4 gamma) <= tau <= 0.3.

    Eq. (6) says that once the Golden Rule exponential has decayed (below e^-8
    in the window, and subtracted) P is a constant offset plus a multiple of
    the form factor.  Fitting both coefficients uses the *shape* K_X from
    theory but takes the offset A = P_off from the data alone; A's error
    comes from the fit covariance.  Returns (A, error of A).
    """
    from fgrkern import theory

    sel = (tau >= 8.0 / (4.0 * gamma)) & (tau <= 0.3)
    if np.count_nonzero(sel) < 4:
        return float("nan"), float("nan")
    x, y = tau[sel], mean[sel] - np.exp(-4.0 * gamma * tau[sel])
    s = sem[sel] if np.all(sem[sel] > 0) else np.ones(np.count_nonzero(sel))
    basis = np.column_stack([np.ones_like(x), np.asarray(theory.form_factor(x, symmetry), dtype=np.float64)])
    A = basis / s[:, None]
    coef, *_ = np.linalg.lstsq(A, y / s, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    return float(coef[0]), float(math.sqrt(cov[0, 0]))


#: Start of the "late" window reported separately: past the non-universal
#: short-time regime (t < 1/lam, i.e. tau < 1/(2N)) and the onset of the decay,
#: where the offset, the form-factor ramp and the plateau live.
TAU_LATE = 0.05


def _late_window(tau: np.ndarray, mean: np.ndarray, sem: np.ndarray, th: np.ndarray) -> dict[str, Any]:
    sel = tau >= TAU_LATE
    z = (mean[sel] - th[sel]) / sem[sel]
    return {"late_window": f"tau >= {TAU_LATE}", "late_max_abs_z": float(np.max(np.abs(z))),
            "late_max_rel_dev": float(np.max(np.abs(mean[sel] - th[sel]) / np.abs(th[sel]))),
            "late_mean_z": float(np.mean(z))}


def _allowance(tau: np.ndarray, th: np.ndarray, gamma: float, n: int, large_gamma_form: bool,
               symmetry: str = "GUE") -> tuple[np.ndarray, str]:
    """Systematic allowance per point: the size of the corrections the formula neglects.

    Finite N at fixed gamma changes the amplitude of P by O(g) = O(gamma/N)
    (footnote [26] of the paper) and the decay rate by O(g), which moves the
    Golden-Rule exponential by O(g) * 4 gamma tau * exp(-4 gamma tau).  The
    large-gamma form Eq. (6) has relative corrections O(1/gamma), and for GSE
    its form factor's log singularity at tau = 1/2 is rounded at finite gamma.
    """
    c, g = SYSTEMATIC_COEFF, gamma / n
    x = 4.0 * gamma * tau
    rel = g + (1.0 / gamma if large_gamma_form else 0.0)
    allow = c * (rel * np.abs(th) + g * x * np.exp(-x))
    doc = (f"{c} * [(gamma/N{' + 1/gamma' if large_gamma_form else ''}) * |theory| "
           "+ gamma/N * 4 gamma tau exp(-4 gamma tau)]"
           f" with gamma/N = {g:.3g}")
    if large_gamma_form and symmetry == "GSE":
        # K_GSE has an integrable log singularity at tau = 1/2 (the doublet Heisenberg
        # time); a finite gamma rounds it over |1 - 2 tau| ~ 1/gamma, where the whole
        # singular part b (tau/2) |ln|1 - 2 tau|| / (2 gamma) of Eq. (6) is uncertain.
        d = np.abs(1.0 - 2.0 * tau)
        with np.errstate(divide="ignore"):
            sing = np.where(d < 4.0 / gamma, B_X["GSE"] * 0.5 * tau * np.abs(np.log(d)) / (2.0 * gamma), 0.0)
        allow = allow + c * sing
        doc += "; GSE: + c * b (tau/2)|ln|1-2 tau||/(2 gamma) where |1 - 2 tau| < 4/gamma (rounded log singularity)"
    return allow, doc


def _summarise(cfg: Figure2Config, data: dict[str, Any], elapsed: float) -> dict[str, Any]:
    import fgrkern as fk
    from fgrkern import theory

    tau = data["tau"]
    curves: dict[str, _Curve] = data["curves"]
    coeff = SYSTEMATIC_COEFF
    panels: dict[str, Any] = {}
    tables: dict[str, dict[str, np.ndarray]] = {}

    # (a)-(c): Eq. (5).
    for letter, gm in zip("abc", GAMMAS_TAU):
        c = curves[f"GUE gamma={gm:g}"]
        th = np.asarray(theory.p_tau(tau, gm), dtype=np.float64)
        cmp = _compare(c.mean, c.sem, th, *_allowance(tau, th, gm, c.n, False))
        cmp.update(_late_window(tau, c.mean, c.sem, th))
        cmp["max_abs_z_at"] = float(tau[int(cmp["max_abs_z_at"])])
        cmp["max_abs_z_at_is"] = "tau"
        panels[letter] = {"symmetry": "GUE", "gamma": gm, "N": c.n, "samples": c.n_samples,
                          "theory": "Eq. (5)", "gamma_over_N": gm / c.n, **cmp,
                          "p_res_numerics": c.p_res, "p_res_sem": c.p_res_sem,
                          "p_res_eq4": float(theory.p_res(gm)),
                          "p_res_rel_excess": c.p_res / float(theory.p_res(gm)) - 1.0,
                          "seconds": c.seconds}
        tables[letter] = {"tau": tau, "t": tau * 2 * c.n, "mean": c.mean, "sem": c.sem, "theory_eq5": th}

    # (d): Eq. (4) per gamma.
    gres = data["gammas_res"]
    rows = []
    ms, ss, ths = [], [], []
    for gm in gres:
        c = curves[f"P_res gamma={gm:.3g}"]
        th = float(theory.p_res(gm))
        eps = coeff * gm / c.n
        d = c.p_res - th
        z = d / c.p_res_sem if c.p_res_sem > 0 else (0.0 if d == 0 else math.inf)
        ok_stat = abs(z) <= Z_MAX
        ok_sys = abs(d) <= Z_MAX * c.p_res_sem + eps * th
        rows.append({"gamma": float(gm), "p_res": c.p_res, "sem": c.p_res_sem, "eq4": th,
                     "fgr_1_over_gamma": 1.0 / gm, "z": z, "rel_dev": d / th, "gamma_over_N": gm / c.n,
                     "samples": c.n_samples,
                     "agreement": "statistical" if ok_stat else "systematic" if ok_sys else "disagree"})
        ms.append(c.p_res)
        ss.append(c.p_res_sem)
        ths.append(th)
    ms_a, ss_a, th_a = np.array(ms), np.array(ss), np.array(ths)
    allow = coeff * gres / cfg.n * th_a
    cmp = _compare(ms_a, ss_a, th_a, allow, f"{coeff} * gamma/N * Eq.(4) (finite N), per gamma")
    cmp["max_abs_z_at"] = float(gres[int(cmp["max_abs_z_at"])])
    cmp["max_abs_z_at_is"] = "gamma"
    panels["d"] = {"symmetry": "GUE", "N": cfg.n, "samples_per_gamma": cfg.samples_res, "theory": "Eq. (4)",
                   **cmp, "per_gamma": rows}
    tables["d"] = {"gamma": gres, "p_res": ms_a, "sem": ss_a, "theory_eq4": th_a, "fgr_1_over_gamma": 1.0 / gres}

    # (e): Eq. (6) at gamma = 46, plus the plateau / offset ratios.
    e_tab: dict[str, np.ndarray] = {"tau": tau}
    e_pan: dict[str, Any] = {"gamma": GAMMA_SFF, "theory": "Eq. (6)", "classes": {}}
    verdicts = []
    for sym in CLASSES:
        c = curves[f"{sym} gamma={GAMMA_SFF:g}"]
        th = np.asarray(theory.p_sff(tau, GAMMA_SFF, sym), dtype=np.float64)
        cmp = _compare(c.mean, c.sem, th, *_allowance(tau, th, GAMMA_SFF, c.n, True, sym))
        cmp.update(_late_window(tau, c.mean, c.sem, th))
        cmp["max_abs_z_at"] = float(tau[int(cmp["max_abs_z_at"])])
        cmp["max_abs_z_at_is"] = "tau"
        verdicts.append(cmp["agreement"])
        p_off, p_off_err = _fit_offset(tau, c.mean, c.sem, GAMMA_SFF, sym)
        ratio = c.p_res / p_off
        ratio_err = abs(ratio) * math.hypot(c.p_res_sem / c.p_res, p_off_err / p_off)
        info = {"N": c.n, "samples": c.n_samples, **cmp,
                "p_plateau_numerics": c.p_res, "p_plateau_sem": c.p_res_sem,
                "p_plateau_paper": float(theory.p_plateau(GAMMA_SFF, sym)),
                "p_off_numerics": p_off, "p_off_err": p_off_err,
                "p_off_paper": float(theory.p_off(GAMMA_SFF, sym)),
                "ratio_pl_over_off": ratio, "ratio_err": ratio_err, "ratio_paper": RATIO_X[sym],
                "ratio_z": (ratio - RATIO_X[sym]) / ratio_err if ratio_err > 0 else None,
                "seconds": c.seconds}
        if sym == "GUE":
            eq5 = np.asarray(theory.p_tau(tau, GAMMA_SFF), dtype=np.float64)
            off5, _ = _fit_offset(tau, eq5, np.zeros_like(eq5), GAMMA_SFF, sym)
            info["ratio_eq4_over_eq5_offset"] = float(theory.p_res(GAMMA_SFF)) / off5
            info["max_rel_diff_eq6_vs_eq5"] = float(np.max(np.abs(th - eq5) / eq5))
        e_pan["classes"][sym] = info
        e_tab[f"mean_{sym}"] = c.mean
        e_tab[f"sem_{sym}"] = c.sem
        e_tab[f"theory_{sym}"] = th
    e_pan["agreement"] = ("disagree" if "disagree" in verdicts else
                          "systematic" if "systematic" in verdicts else "statistical")
    e_pan["max_abs_z"] = max(e_pan["classes"][s]["max_abs_z"] for s in CLASSES)
    panels["e"] = e_pan
    tables["e"] = e_tab

    try:
        import scipy

        sv = scipy.__version__
    except ImportError:  # pragma: no cover
        sv = None
    summary = {
        "paper": "Micklitz, Morningstar, Altland, Huse, PRL 129, 140402 (2022), Figure 2",
        "config": asdict(cfg),
        "conventions": {"tau": "t / t_H, t_H = 2 pi nu = 2N/lam, lam = 1", "gamma": "g N",
                        "N": "dot states; GSE: N even (N/2 Kramers doublets), level |0> a doublet",
                        "sem": "standard error of the mean over realisations (sd with ddof=1 / sqrt(n))"},
        "criteria": {
            "z_max": Z_MAX,
            "statistical": f"every point has |numerics - theory| <= {Z_MAX} sem",
            "systematic": ("not statistical, but every point is within "
                           f"{Z_MAX} sem + allowance, the size of the corrections the formula neglects: "
                           f"allowance = {coeff} * [gamma/N * |theory| + gamma/N * 4 gamma tau exp(-4 gamma tau)] "
                           "for Eqs. (4)-(5) (finite N at fixed gamma: O(g) changes of amplitude and decay rate, "
                           "paper footnote [26]); for Eq. (6) gamma/N is replaced by gamma/N + 1/gamma "
                           "in the first term (large-gamma form), and for GSE the singular part of Eq. (6) "
                           "is added where |1 - 2 tau| < 4/gamma (K_GSE's log singularity at tau = 1/2, "
                           "rounded at finite gamma)"),
            "disagree": "some point beyond both",
        },
        "panels": panels,
        "samples_total": int(sum(c.n_samples for c in curves.values())),
        "run_seconds": elapsed,
        "samples_per_second": float(sum(c.n_samples for c in curves.values()) / elapsed) if elapsed > 0 else None,
        "estimated_seconds_by_preset": _estimates(cfg, curves),
        "seed": cfg.seed,
        "versions": {"fgrkern": fk.__version__, "numpy": np.__version__, "scipy": sv,
                     "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpus": os.cpu_count()},
    }
    summary["agreement"] = {k: panels[k]["agreement"] for k in "abcde"}
    return {"summary": summary, "tables": tables}


def _estimates(cfg: Figure2Config, curves: dict[str, _Curve]) -> dict[str, float]:
    """Run time of each preset on this machine, from the per-sample times measured in this run."""
    secs: dict[str, float] = {}
    count: dict[str, int] = {}
    for key, c in curves.items():
        kind = "res" if key.startswith("P_res") else c.symmetry
        secs[kind] = secs.get(kind, 0.0) + c.seconds
        count[kind] = count.get(kind, 0) + c.n_samples
    per = {k: secs[k] / count[k] for k in secs}
    out = {}
    for name in ("quick", "default", "paper"):
        p = Figure2Config.from_preset(name, n=cfg.n)
        # Curves: GUE at three gammas, GOE and GSE at one; then one P_res point per gamma.
        sec = p.samples * (3 * per.get("GUE", 0.0) + per.get("GOE", 0.0) + per.get("GSE", 0.0))
        sec += p.n_gamma_res * p.samples_res * per.get("res", 0.0)
        out[name] = float(sec)
    return out


def _verdict_text(summary: dict[str, Any]) -> str:
    p = summary["panels"]
    est = summary["estimated_seconds_by_preset"]
    lines = [f"Figure 2 reproduced in {summary['run_seconds']:.0f} s "
             f"({summary['samples_total']} realisations, seed {summary['seed']}); at this run's speed "
             f"--paper would take about {est['paper'] / 60:.0f} min."]
    for k in "abc":
        q = p[k]
        lines.append(f"  ({k}) GUE gamma={q['gamma']:<5g} vs Eq. (5): {q['agreement']:<11} max|z| = {q['max_abs_z']:.3g} "
                     f"(tau >= {TAU_LATE}: {q['late_max_abs_z']:.2g}), max rel. dev. {100 * q['max_rel_dev']:.2g}% "
                     f"(gamma/N = {100 * q['gamma_over_N']:.2g}%)")
    q = p["d"]
    lines.append(f"  (d) P_res, {len(q['per_gamma'])} gammas vs Eq. (4): {q['agreement']:<11} max|z| = "
                 f"{q['max_abs_z']:.2g} (at gamma = {q['max_abs_z_at']:.3g}), max rel. dev. {100 * q['max_rel_dev']:.2g}%")
    for sym in CLASSES:
        q = p["e"]["classes"][sym]
        lines.append(f"  (e) {sym} gamma={GAMMA_SFF:<5g} vs Eq. (6): {q['agreement']:<11} max|z| = {q['max_abs_z']:.3g} "
                     f"(tau >= {TAU_LATE}: {q['late_max_abs_z']:.2g}), "
                     f"P_pl/P_off = {q['ratio_pl_over_off']:.2f} +- {q['ratio_err']:.2f} (paper {q['ratio_paper']:g})")
    lines.append(f"  statistical: every point within {Z_MAX:g} sem; systematic: the rest within the known finite-N "
                 "(O(gamma/N)) and large-gamma (O(1/gamma)) corrections; details in summary.json")
    return "\n".join(lines)


# ------------------------------------------------------------------ output
def _write_text(path: str, text: str) -> None:
    safe_write(path, "out", lambda fh: fh.write(text.encode("utf-8")))


def _write_csv(path: str, cols: dict[str, np.ndarray]) -> None:
    names = list(cols)
    arrs = [np.asarray(cols[k], dtype=np.float64) for k in names]
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(names)
    for i in range(arrs[0].size):
        w.writerow([f"{a[i]:.10g}" for a in arrs])
    _write_text(path, buf.getvalue())


def output_files(plot: bool) -> list[str]:
    """Names of the files :func:`reproduce` writes into its output folder."""
    return (["figure2.png", "figure2.pdf"] if plot else []) + [f"panel_{k}.csv" for k in "abcde"] + ["summary.json"]


def check_outputs(out_dir: str, plot: bool) -> None:
    """Before any work: every output of :func:`reproduce` in ``out_dir`` can be created.

    ``out_dir`` may be missing (it is created) but must not be a file; each
    output must be absent or a regular file (see ``safe_write``), and a file
    must be creatable in the folder.  Raises ``ValueError`` naming ``out``.
    """
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"out: {out_dir!r} exists and is not a directory")
    if not os.path.isdir(out_dir):
        # Created with its missing parents: the nearest existing ancestor must take new entries.
        parent = os.path.dirname(os.path.abspath(out_dir))
        while not os.path.lexists(parent) and os.path.dirname(parent) != parent:
            parent = os.path.dirname(parent)
        probe_directory(os.path.join(parent, "fgrkern-probe"), "out")
        return
    for name in output_files(plot):
        check_writable_path(os.path.join(out_dir, name), "out")
    probe_directory(os.path.join(out_dir, output_files(plot)[0]), "out")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _finite_json(o: Any) -> Any:
    """JSON has no inf/nan: write them as strings."""
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    if isinstance(o, dict):
        return {k: _finite_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite_json(v) for v in o]
    return o


def reproduce(cfg: Figure2Config, out_dir: str, *, plot: bool = True, progress: bool = True) -> dict[str, Any]:
    """Compute every panel of Figure 2 and write figure, CSV files and summary.json.

    Parameters
    ----------
    cfg : Figure2Config
        Sizes and seed (``Figure2Config.from_preset("quick" | "default" | "paper")``).
    out_dir : str
        Output folder (created if missing): ``figure2.png``, ``figure2.pdf``
        (if ``plot``), ``panel_a.csv`` ... ``panel_e.csv``, ``summary.json``.
    plot : bool, optional
        Draw the figure (needs matplotlib).
    progress : bool, optional
        Progress display on stderr (tqdm if installed).

    Returns
    -------
    dict
        The summary (as written to ``summary.json``: per-panel agreement, P_res
        per gamma, P_pl/P_off per class, run time, samples, seed, versions),
        with the extra keys ``files`` and ``verdict_text``.

    Notes
    -----
    Units: tau = t/t_H with t_H = 2N/lam, lam = 1; gamma = g N.  The numbers
    depend only on ``cfg`` (seed and sizes), not on ``cfg.workers``.

    Every output is checked (:func:`check_outputs`) before the computation
    starts, and written atomically with the rules of
    ``SimulationResult.save``: only regular files are replaced, symbolic
    links are followed, new files honour the umask, replaced ones keep
    their mode.

    Raises
    ------
    ValueError
        An output cannot be created (``out_dir`` is a file or in an
        unwritable place, an output is a directory, FIFO or device).
    """
    check_outputs(out_dir, plot)
    os.makedirs(out_dir, exist_ok=True)
    check_outputs(out_dir, plot)
    t0 = time.perf_counter()
    data = _compute(cfg, progress)
    elapsed = time.perf_counter() - t0
    out = _summarise(cfg, data, elapsed)
    summary, tables = out["summary"], out["tables"]
    files = []
    for k in "abcde":
        name = f"panel_{k}.csv"
        _write_csv(os.path.join(out_dir, name), tables[k])
        files.append(name)
    if plot:
        plot_figure2(tables, summary, os.path.join(out_dir, "figure2.png"), os.path.join(out_dir, "figure2.pdf"))
        files[:0] = ["figure2.png", "figure2.pdf"]
    files.append("summary.json")
    summary["files"] = files
    _write_text(os.path.join(out_dir, "summary.json"),
                json.dumps(_finite_json(summary), indent=1, default=_json_default) + "\n")
    summary["verdict_text"] = _verdict_text(summary)
    return summary


# ---------------------------------------------------------------- plotting
def _numerics(ax: Any, tau: np.ndarray, m: np.ndarray, s: np.ndarray, label: str, color: str = "black",
              band: str = "0.55", alpha: float = 0.45) -> None:
    """Numerical mean as a line with a +-2 sem band (the band is what shows the statistics)."""
    poly = ax.fill_between(tau, m - 2 * s, m + 2 * s, color=band, alpha=alpha, lw=0)
    (line,) = ax.plot(tau, m, color=color, lw=1.0, label=label)
    line.fgrkern_band = poly  # for the legend entry (see _finish_axes)


def _finish_axes(ax: Any, xlabel: str, ylabel: str, title: str, legend_loc: str, fontsize: float = 7.5,
                 logx: bool = True, logy: bool = False) -> None:
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    # A numerics entry shows its line drawn over its error band.
    handles = [(h.fgrkern_band, h) if hasattr(h, "fgrkern_band") else h for h in handles]
    ax.legend(handles, labels, fontsize=fontsize, loc=legend_loc)
    ax.grid(alpha=0.25, which="both", lw=0.4)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib, an optional extra: pip install 'fgrkern[plot]'") from None
    return plt


_THEORY = dict(color="tab:red", lw=1.6, ls="--")
_CLASS_COLOURS = {"GOE": "tab:blue", "GUE": "tab:red", "GSE": "tab:green"}


def plot_figure2(tables: dict[str, dict[str, np.ndarray]], summary: dict[str, Any], png: str,
                 pdf: str | None = None, dpi: int = 110) -> None:
    """Draw the five panels of Figure 2 from the tables written to the panel CSVs."""
    plt = _pyplot()
    fig = plt.figure(figsize=(13.0, 7.6))
    gs = fig.add_gridspec(2, 6, hspace=0.38, wspace=0.9)
    axes = [fig.add_subplot(gs[0, 0:2]), fig.add_subplot(gs[0, 2:4]), fig.add_subplot(gs[0, 4:6]),
            fig.add_subplot(gs[1, 0:3]), fig.add_subplot(gs[1, 3:6])]
    n = summary["panels"]["a"]["N"]
    for ax, k in zip(axes[:3], "abc"):
        tb, pan = tables[k], summary["panels"][k]
        tau, m, s = tb["tau"], tb["mean"], tb["sem"]
        _numerics(ax, tau, m, s, f"numerics $\\pm$2 s.e.m., N+1 = {n + 1}")
        ax.plot(tau, tb["theory_eq5"], **_THEORY, label="theory, Eq. (5)")
        ax.axhline(pan["p_res_eq4"], color="tab:purple", lw=0.8, ls=":", label="$P_{res}$, Eq. (4)")
        _finish_axes(ax, r"$\tau = t/t_H$   ($t_H = 2\pi\nu = 2N/\lambda$)", r"$P(\tau)$",
                     f"({k})  GUE, $\\gamma$ = {pan['gamma']:g}   [{pan['samples']} samples]",
                     "upper right", logy=(k == "a"))

    ax = axes[3]
    tb = tables["d"]
    g = tb["gamma"]
    gg = np.geomspace(g.min() / 1.5, g.max() * 1.5, 400)
    from fgrkern import theory

    ax.plot(gg, theory.p_res(gg), color="0.45", lw=2.0, label="theory, Eq. (4)")
    ax.plot(gg[gg > 0.3], 1.0 / gg[gg > 0.3], color="tab:purple", lw=1.3, ls="--", label=r"Golden Rule $1/\gamma$")
    ax.errorbar(g, tb["p_res"], yerr=2 * tb["sem"], fmt="o", ms=4, color="tab:blue", ecolor="tab:blue",
                capsize=2, label=f"numerics $\\pm$2 s.e.m., N+1 = {n + 1}")
    for k in "abc":
        pan = summary["panels"][k]
        ax.annotate("", xy=(pan["gamma"], pan["p_res_numerics"]),
                    xytext=(pan["gamma"], pan["p_res_numerics"] * 0.45),
                    arrowprops=dict(arrowstyle="->", color="black", lw=1.0))
        ax.text(pan["gamma"], pan["p_res_numerics"] * 0.36, f"({k})", ha="center", va="top", fontsize=8)
    _finish_axes(ax, r"$\gamma = gN$", r"$P_{res} = P(\tau\to\infty)$",
                 f"(d)  long-time residence probability, GUE   [{summary['panels']['d']['samples_per_gamma']} "
                 "samples per $\\gamma$]", "lower left", fontsize=8, logy=True)

    ax = axes[4]
    tb = tables["e"]
    tau = tb["tau"]
    gm = summary["panels"]["e"]["gamma"]
    for sym in CLASSES:
        col = _CLASS_COLOURS[sym]
        m, s = 2 * gm * tb[f"mean_{sym}"], 2 * gm * tb[f"sem_{sym}"]
        _numerics(ax, tau, m, s, f"{sym} numerics $\\pm$2 s.e.m.  (Eq. (6): {A_X[sym]:g} + {B_X[sym]:g} $K_X$)",
                  color=col, band=col, alpha=0.25)
        ax.plot(tau, 2 * gm * tb[f"theory_{sym}"], color="black", lw=1.3, ls="--",
                label="theory, Eq. (6)" if sym == CLASSES[-1] else None)
    ax.set_xlim(1e-3, tau.max())
    ax.set_ylim(0, 4.2)
    _finish_axes(ax, r"$\tau = t/t_H$", r"$2\gamma\, P(\tau)$",
                 f"(e)  GOE, GUE, GSE at $\\gamma$ = {gm:g}   [{summary['panels']['e']['classes']['GUE']['samples']} "
                 "samples each]", "lower right")
    fig.suptitle("Emergence of Fermi's Golden Rule, Fig. 2: numerics (fgrkern) vs theory", fontsize=12)
    try:
        _savefig(fig, png, dpi=dpi)
        if pdf is not None:
            _savefig(fig, pdf)
    finally:
        plt.close(fig)


def plot_simulation(res: Any, theory_curve: np.ndarray | None, theory_label: str, png: str,
                    title: str = "") -> None:
    """PNG of one simulation: mean with a +-2 sem band, and the matching theory curve if any."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    tau, m, s = np.asarray(res.tau), np.asarray(res.mean), np.asarray(res.sem)
    _numerics(ax, tau, m, s, f"numerics $\\pm$2 s.e.m., {res.n_samples} samples")
    if theory_curve is not None:
        ax.plot(tau, theory_curve, **_THEORY, label=f"theory, {theory_label}")
    _finish_axes(ax, r"$\tau = t/t_H$   ($t_H = 2N/\lambda$)", r"$P(\tau)$", title, "best", fontsize=8,
                 logx=bool(np.all(tau > 0)),
                 logy=bool(np.all(m > 0) and m.max() / max(m.min(), 1e-300) > 5))
    try:
        _savefig(fig, png, dpi=110)
    finally:
        plt.close(fig)


def _savefig(fig: Any, path: str, **kw: Any) -> None:
    """``fig.savefig`` through ``safe_write`` (format from the file extension)."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    safe_write(path, "out", lambda fh: fig.savefig(fh, format=fmt, bbox_inches="tight", **kw))
