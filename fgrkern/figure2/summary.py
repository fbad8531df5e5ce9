"""Numerics against theory for every panel of Figure 2: one comparison path, one summary.

Every comparison goes through :func:`compare`: z = (numerics - theory)/sem per
point, the verdict "statistical" (every point within ``Z_MAX`` sem),
"systematic" (the rest within the stated allowance for the corrections the
formula neglects) or "disagree", and chi^2/dof.  Curves are judged on
tau >= ``TAU_LATE``: below it lie the non-universal short-time region
(t < 1/lam, tau < 1/(2N)) and the Golden-Rule decay, whose rate finite N shifts
by 1/(1 - gamma/(2N)) (docs/theory/finite-n.md); the whole range is reported too.
"""

from __future__ import annotations

import math
import os
import platform
from dataclasses import asdict
from typing import Any

import numpy as np

import fgrkern as fk

from .compute import Limit, Run, limit
from .config import CLASSES, GAMMA_SFF, GAMMAS_TAU, Figure2Config, families

__all__ = ["Z_MAX", "TAU_LATE", "compare", "summarise", "verdict_text", "estimates"]

#: |z| above which a point counts as a statistically significant deviation.
#: With ~100-250 correlated points per curve, pure noise exceeds 4 with probability ~1 %.
Z_MAX = 4.0
#: Coefficient c of the systematic allowances c * gamma/N (finite N) and c/gamma (Eq. (6)).
SYSTEMATIC_COEFF = 1.5
#: Start of the window in which curves are judged (see the module docstring).
TAU_LATE = 0.05
#: Extra cost of one more coupling on common random numbers, relative to a one-coupling
#: sample (secular solve + kernel vs. the bath's spectrum): measured 0.09 at N = 999
#: (23 couplings cost 3.0x one), used only to scale time estimates between presets.
COUPLING_COST = 0.09


def compare(mean: np.ndarray, sem: np.ndarray, th: np.ndarray, allowance: np.ndarray | None = None,
            cov: np.ndarray | None = None) -> dict[str, Any]:
    """Agreement of numerics with theory: z-scores, verdict and chi^2 per degree of freedom.

    ``allowance`` (same shape, or None: no systematic term) is the size of the
    corrections the theory neglects.  With ``cov`` (covariance of the points)
    chi^2 = d^T cov^-1 d is a true chi-squared with ``n_points`` dof; without
    it, chi^2 = sum z^2 over points that share realisations (a diagnostic:
    correlated points are not independent degrees of freedom).
    """
    diff = np.asarray(mean, dtype=np.float64) - th
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sem > 0, diff / sem, np.where(diff == 0, 0.0, np.inf))
        rel = np.abs(diff) / np.abs(th)
    az = np.abs(z)
    stat_ok = az <= Z_MAX
    sys_ok = stat_ok if allowance is None else np.abs(diff) <= Z_MAX * sem + allowance
    verdict = "statistical" if stat_ok.all() else "systematic" if sys_ok.all() else "disagree"
    if cov is not None:
        chi2 = float(diff @ np.linalg.lstsq(np.asarray(cov), diff, rcond=1e-12)[0])
    else:
        chi2 = float(np.sum(z[np.isfinite(z)] ** 2))
    i = int(np.argmax(az))
    return {"verdict": verdict, "max_abs_z": float(az[i]), "max_abs_z_index": i,
            "chi2_per_dof": chi2 / diff.size, "chi2_uses": "covariance" if cov is not None else
            "diagonal (points share realisations: a diagnostic, not a chi-squared variate)",
            "n_points": int(diff.size), "mean_z": float(np.mean(z[np.isfinite(z)])) if np.isfinite(z).any() else None,
            "points_beyond_z_max": int(np.sum(~stat_ok)), "points_beyond_allowance": int(np.sum(~sys_ok)),
            "max_rel_dev": float(np.nanmax(rel)), "max_abs_dev": float(np.max(np.abs(diff)))}


def _at(cmp: dict[str, Any], x: np.ndarray, name: str) -> dict[str, Any]:
    cmp["max_abs_z_at"] = float(x[cmp.pop("max_abs_z_index")])
    cmp["max_abs_z_at_is"] = name
    return cmp


def finite_n_allowance(tau: np.ndarray, th: np.ndarray, gamma: float, n: int, large_gamma_form: bool = False,
                       symmetry: str = "GUE") -> np.ndarray:
    """Systematic allowance per point: the size of the corrections the formula neglects.

    Finite N at fixed gamma changes the amplitude of P by O(gamma/N) (paper,
    footnote [26]) and the decay rate by O(gamma/N), which moves the Golden-Rule
    exponential by O(gamma/N) 4 gamma tau exp(-4 gamma tau).  The large-gamma
    form Eq. (6) has relative corrections O(1/gamma), and for GSE its form
    factor's log singularity at tau = 1/2 is rounded over |1 - 2 tau| ~ 1/gamma.
    """
    g = gamma / n
    x = 4.0 * gamma * tau
    allow = SYSTEMATIC_COEFF * ((g + (1.0 / gamma if large_gamma_form else 0.0)) * np.abs(th) + g * x * np.exp(-x))
    if large_gamma_form and symmetry == "GSE":
        b = fk.theory.sff_coefficients("GSE")[1]
        d = np.abs(1.0 - 2.0 * tau)
        with np.errstate(divide="ignore"):
            sing = np.where(d < 4.0 / gamma, b * 0.5 * tau * np.abs(np.log(d)) / (2.0 * gamma), 0.0)
        allow = allow + SYSTEMATIC_COEFF * sing
    return allow


ALLOWANCE_DOC = (f"{SYSTEMATIC_COEFF} * [(gamma/N) |theory| + (gamma/N) 4 gamma tau exp(-4 gamma tau)] for Eqs. (4)-(5) "
                 "(finite N at fixed gamma: O(gamma/N) changes of amplitude and decay rate, paper footnote [26]); "
                 "for Eq. (6) gamma/N -> gamma/N + 1/gamma in the first term (large-gamma form), and for GSE the "
                 "singular part of Eq. (6) where |1 - 2 tau| < 4/gamma.  N -> infinity limits: the first neglected "
                 "term of the 1/N fit at the smallest size, (gamma/N_min)^(order+1) |theory|")


def _limit_allowance(th: np.ndarray, gamma: np.ndarray, order: np.ndarray, n_min: int) -> np.ndarray:
    return (np.asarray(gamma, dtype=np.float64) / n_min) ** (np.asarray(order) + 1) * np.abs(th)


def _limit_entry(lim: Limit, i: int | np.ndarray, sel: np.ndarray | None, th: np.ndarray, x: np.ndarray,
                 xname: str, raw_sem: np.ndarray, p_res: bool = False) -> dict[str, Any]:
    """The N -> infinity estimate of one curve (row i, points sel) or of P_res (rows i) against theory."""
    if p_res:
        m, s = lim.p_res[i], lim.p_res_sem[i]
        cov, chi2, dof = lim.p_res_cov[np.ix_(i, i)], lim.p_res_chi2[i], lim.dof[i]
        allow = _limit_allowance(th, lim.gammas[i], lim.order[i], lim.sizes[0])
        orders = sorted(set(lim.order[i].tolist()))
    else:
        m, s, cov = lim.mean[i, sel], lim.sem[i, sel], None
        chi2, dof = lim.chi2[i, sel], np.full(m.size, lim.dof[i])
        allow = _limit_allowance(th, lim.gammas[i], lim.order[i], lim.sizes[0])
        orders = [int(lim.order[i])]
    out = _at(compare(m, s, th, allow, cov), x, xname)
    fit = chi2[dof > 0] / dof[dof > 0]
    out.update({"order_in_1_over_N": orders[0] if len(orders) == 1 else orders,
                "sizes_N_plus_1": [k + 1 for k in lim.sizes],
                "fit_chi2_per_dof_median": float(np.median(fit)) if fit.size else None,
                "fit_chi2_per_dof_max": float(np.max(fit)) if fit.size else None,
                "fit_note": "dof = sizes - (order + 1); dof 0 is an exact fit (no goodness test)",
                "sem_over_raw_sem_median": float(np.median(s / raw_sem))})
    return out


def _fit_offset(tau: np.ndarray, mean: np.ndarray, sem: np.ndarray, gamma: float, symmetry: str) -> tuple[float, float]:
    """P_off: weighted fit of P - exp(-4 gamma tau) = A + B K_X(tau) on 8/(4 gamma) <= tau <= 0.3.

    Eq. (6) says that once the Golden-Rule exponential has decayed (and is
    subtracted) P is a constant offset plus a multiple of the form factor; the
    offset A = P_off comes from the data alone, its error from the fit covariance.
    """
    sel = (tau >= 8.0 / (4.0 * gamma)) & (tau <= 0.3)
    if np.count_nonzero(sel) < 4:
        return float("nan"), float("nan")
    x, y = tau[sel], mean[sel] - np.exp(-4.0 * gamma * tau[sel])
    s = sem[sel] if np.all(sem[sel] > 0) else np.ones(np.count_nonzero(sel))
    basis = np.column_stack([np.ones_like(x), np.asarray(fk.theory.form_factor(x, symmetry), dtype=np.float64)])
    A = basis / s[:, None]
    coef, *_ = np.linalg.lstsq(A, y / s, rcond=None)
    return float(coef[0]), float(math.sqrt(np.linalg.inv(A.T @ A)[0, 0]))


def _curve(res: fk.SimulationResult, i: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    return (np.asarray(res.mean)[i], np.asarray(res.sem)[i], float(np.asarray(res.p_res)[i]),
            float(np.asarray(res.p_res_sem)[i]))


def summarise(cfg: Figure2Config, runs: dict[str, Run], elapsed: float) -> dict[str, Any]:
    """Summary (JSON-ready dict) and the panel tables of a run; ``runs`` from :func:`compute`."""
    tau = cfg.tau()
    top = {s: runs[f"{s} N={cfg.n - (cfg.n % 2 if s == 'GSE' else 0)}"] for s in CLASSES}
    lims = {s: limit([r for r in runs.values() if r.family.symmetry == s]) for s in CLASSES} if cfg.limit else {}
    panels: dict[str, Any] = {}
    tables: dict[str, dict[str, np.ndarray]] = {}
    _panels_abc(cfg, top["GUE"], lims.get("GUE"), panels, tables)
    _panel_d(cfg, top["GUE"], lims.get("GUE"), panels, tables)
    panels["e"], tables["e"] = _panel_e(cfg, tau, top, lims)
    for k in "abcd":
        panels[k]["headline"] = _headline(panels[k])
    summary = {
        "paper": "Micklitz, Morningstar, Altland, Huse, PRL 129, 140402 (2022), Figure 2",
        "headline": {k: panels[k]["headline"] for k in "abcd"},
        "agreement": {k: panels[k]["agreement"] for k in "abcde"},
        "config": asdict(cfg),
        "criteria": {"z_max": Z_MAX, "window": f"curves judged on tau >= {TAU_LATE} (the whole range under all_tau)",
                     "statistical": f"every point has |numerics - theory| <= {Z_MAX} sem",
                     "systematic": f"not statistical, but every point within {Z_MAX} sem + allowance; "
                                   f"allowance = {ALLOWANCE_DOC}",
                     "disagree": "some point beyond both"},
        "conventions": {"tau": "t / t_H, t_H = 2 pi nu = 2N/lam, lam = 1", "gamma": "g N",
                        "N": "dot states; GSE: N even (N/2 Kramers doublets), level |0> a doublet",
                        "sem": "standard error of the mean over realisations (sd with ddof=1 / sqrt(n))",
                        "seeds": "family (class, N) uses SeedSequence(seed, spawn_key=(id, N)), id GUE 1, GOE 2, "
                                 "GSE 3; all couplings of a family share its realisations"},
        "panels": panels,
        # per sample computed by this run (a resumed family's checkpoint held the rest): None if none was
        "families": {k: {"symmetry": r.family.symmetry, "N": r.family.n, "couplings": len(r.family.gammas),
                         "samples": r.family.samples, "samples_computed": r.samples_computed,
                         "wall_seconds": r.wall_seconds, "cpu_seconds": r.cpu_seconds,
                         "wall_ms_per_sample": 1e3 * r.wall_seconds / r.samples_computed if r.samples_computed else None,
                         "cpu_ms_per_sample": 1e3 * r.cpu_seconds / r.samples_computed if r.samples_computed else None}
                     for k, r in runs.items()},
        "samples_total": int(sum(r.family.samples for r in runs.values())),
        "run_seconds": elapsed,
        "cpu_seconds": float(sum(r.cpu_seconds for r in runs.values())),
        "estimated_seconds_by_preset": estimates(cfg, runs),
        "seed": cfg.seed,
        "versions": {"fgrkern": fk.__version__, "numpy": np.__version__, "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
    }
    return {"summary": summary, "tables": tables}


def _panels_abc(cfg: Figure2Config, run: Run, lim_gue: Limit | None, panels: dict[str, Any],
                tables: dict[str, dict[str, np.ndarray]]) -> None:
    """Panels (a)-(c): the first three GUE couplings against Eq. (5), on tau >= TAU_LATE."""
    tau = cfg.tau()
    late = tau >= TAU_LATE
    gue, n = run.result, run.family.n
    for i, (letter, gm) in enumerate(zip("abc", GAMMAS_TAU)):
        m, s, pr, prs = _curve(gue, i)
        th = np.asarray(fk.theory.p_tau(tau, gm), dtype=np.float64)
        allow = finite_n_allowance(tau, th, gm, n)
        pan: dict[str, Any] = {"symmetry": "GUE", "gamma": gm, "N": n, "samples": cfg.samples, "theory": "Eq. (5)",
                               "window": f"tau >= {TAU_LATE}"}
        pan["late"] = _at(compare(m[late], s[late], th[late], allow[late]), tau[late], "tau")
        pan["agreement"] = pan["late"]["verdict"]
        tables[letter] = {"tau": tau, "t": tau * run.result.metadata["model"]["heisenberg_time"],
                          "mean": m, "sem": s, "theory_eq5": th}
        if lim_gue is not None:
            pan["limit"] = _limit_entry(lim_gue, i, late, th[late], tau[late], "tau", s[late])
            tables[letter].update(limit_mean=lim_gue.mean[i], limit_sem=lim_gue.sem[i])
        pan["all_tau"] = _at(compare(m, s, th, allow), tau, "tau")
        pan.update({"gamma_over_N": gm / n, "p_res_numerics": pr, "p_res_sem": prs,
                    "p_res_eq4": float(fk.theory.p_res(gm)), "p_res_rel_excess": pr / float(fk.theory.p_res(gm)) - 1})
        panels[letter] = pan


def _panel_d(cfg: Figure2Config, run: Run, lim_gue: Limit | None, panels: dict[str, Any],
             tables: dict[str, dict[str, np.ndarray]]) -> None:
    """Panel (d): P_res of the GUE couplings after (a)-(c) against Eq. (4), chi^2 with their covariance."""
    gue, n = run.result, run.family.n
    gres = cfg.gammas_res()
    d = np.arange(3, 3 + gres.size)
    pr, prs = np.asarray(gue.p_res)[d], np.asarray(gue.p_res_sem)[d]
    cov = np.asarray(gue.p_res_cov)[np.ix_(d, d)]
    th = np.asarray(fk.theory.p_res(gres), dtype=np.float64)
    allow = SYSTEMATIC_COEFF * gres / n * th
    pan = {"symmetry": "GUE", "N": n, "samples_per_gamma": cfg.samples, "theory": "Eq. (4)",
           "common_random_numbers": "every gamma uses the same baths and coupling vectors: the points are "
                                     "positively correlated (covariance in p_res_cov, panel_d_cov.csv); each "
                                     "mean and error bar is exact, chi2 uses the covariance"}
    pan["all_gamma"] = _at(compare(pr, prs, th, allow, cov), gres, "gamma")
    pan["agreement"] = pan["all_gamma"]["verdict"]
    tables["d"] = {"gamma": gres, "p_res": pr, "sem": prs, "theory_eq4": th, "fgr_1_over_gamma": 1.0 / gres}
    tables["d_cov"] = {"gamma": gres, **{f"cov_{j}": cov[:, j] for j in range(gres.size)}}
    if lim_gue is not None:
        lim = lim_gue
        pan["limit"] = _limit_entry(lim, d, None, th, gres, "gamma", prs, p_res=True)
        pan["limit"]["p_res_cov"] = lim.p_res_cov[np.ix_(d, d)]
        tables["d"].update(limit_p_res=lim.p_res[d], limit_sem=lim.p_res_sem[d])
        tables["d_limit_cov"] = {"gamma": gres, **{f"cov_{j}": lim.p_res_cov[d, d[j]] for j in range(gres.size)}}
    pan["per_gamma"] = [{"gamma": float(g), "p_res": float(p), "sem": float(e), "eq4": float(t), "z": float((p - t) / e),
                         "rel_dev": float(p / t - 1), "gamma_over_N": float(g / n)} for g, p, e, t in zip(gres, pr, prs, th)]
    pan["p_res_cov"] = cov
    panels["d"] = pan


def _headline(pan: dict[str, Any]) -> dict[str, Any]:
    main = pan.get("late") or pan["all_gamma"]
    out = {"verdict": main["verdict"], "max_abs_z": main["max_abs_z"], "window": pan.get("window", "all gamma")}
    if "limit" in pan:
        out["limit"] = {k: pan["limit"][k] for k in ("verdict", "max_abs_z", "chi2_per_dof")}
    return out


def _panel_e(cfg: Figure2Config, tau: np.ndarray, top: dict[str, Run],
             lims: dict[str, Limit]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """GOE, GUE, GSE at gamma = GAMMA_SFF against Eq. (6); P_pl/P_off; N -> infinity differences (measured)."""
    late = tau >= TAU_LATE
    gm = GAMMA_SFF
    tab: dict[str, np.ndarray] = {"tau": tau}
    pan: dict[str, Any] = {"gamma": gm, "theory": "Eq. (6)", "window": f"tau >= {TAU_LATE}", "classes": {}}
    for sym in CLASSES:
        run = top[sym]
        m, s, pr, prs = _curve(run.result, 0)
        th = np.asarray(fk.theory.p_sff(tau, gm, sym), dtype=np.float64)
        allow = finite_n_allowance(tau, th, gm, run.family.n, True, sym)
        p_off, p_off_err = _fit_offset(tau, m, s, gm, sym)
        ratio_paper = float(fk.theory.p_plateau(gm, sym) / fk.theory.p_off(gm, sym))
        ratio = pr / p_off
        ratio_err = abs(ratio) * math.hypot(prs / pr, p_off_err / p_off)
        info: dict[str, Any] = {"N": run.family.n, "samples": run.family.samples}
        info["late"] = _at(compare(m[late], s[late], th[late], allow[late]), tau[late], "tau")
        info["agreement"] = info["late"]["verdict"]
        info["all_tau"] = _at(compare(m, s, th, allow), tau, "tau")
        info.update({"p_plateau_numerics": pr, "p_plateau_sem": prs,
                     "p_plateau_paper": float(fk.theory.p_plateau(gm, sym)),
                     "p_off_numerics": p_off, "p_off_err": p_off_err, "p_off_paper": float(fk.theory.p_off(gm, sym)),
                     "ratio_pl_over_off": ratio, "ratio_err": ratio_err, "ratio_paper": ratio_paper,
                     "ratio_z": (ratio - ratio_paper) / ratio_err if ratio_err > 0 else None})
        tab.update({f"mean_{sym}": m, f"sem_{sym}": s, f"theory_{sym}": th})
        if sym in lims:
            info["limit"] = _eq6_difference(lims[sym], tau, th, gm)
            tab.update({f"limit_mean_{sym}": lims[sym].mean[0], f"limit_sem_{sym}": lims[sym].sem[0]})
        if sym == "GUE":
            eq5 = np.asarray(fk.theory.p_tau(tau, gm), dtype=np.float64)
            info["eq5_minus_eq6_max_2gamma"] = float(np.max(np.abs(2 * gm * (eq5 - th))[late]))
        pan["classes"][sym] = info
    verdicts = [pan["classes"][s]["agreement"] for s in CLASSES]
    pan["agreement"] = ("disagree" if "disagree" in verdicts else "systematic" if "systematic" in verdicts
                        else "statistical")
    return pan, tab


def _eq6_difference(lim: Limit, tau: np.ndarray, th: np.ndarray, gamma: float) -> dict[str, Any]:
    """The measured remaining difference of the N -> infinity curve from Eq. (6): a number, not a verdict."""
    late = tau >= TAU_LATE
    d = 2 * gamma * (lim.mean[0] - th)
    j = int(np.argmax(np.abs(d) * late))
    pl = float(fk.theory.p_plateau(gamma, lim.symmetry))
    return {"what": "N -> infinity numerics minus Eq. (6), in units of 1/(2 gamma) (Eq. (6)'s a_X, b_X)",
            "order_in_1_over_N": int(lim.order[0]), "sizes_N": list(lim.sizes),
            "max_abs_diff_2gamma": float(abs(d[j])), "diff_2gamma_at_max": float(d[j]),
            "sem_2gamma_at_max": float(2 * gamma * lim.sem[0, j]), "at_tau": float(tau[j]),
            "plateau_rel_diff": float(lim.p_res[0] / pl - 1), "plateau_rel_diff_sem": float(lim.p_res_sem[0] / pl),
            "plateau_rel_diff_times_gamma": float(gamma * (lim.p_res[0] / pl - 1))}


def estimates(cfg: Figure2Config, runs: dict[str, Run]) -> dict[str, float]:
    """Wall time of each preset (with and without --limit) on this machine when it is not shared.

    From this run's CPU time per sample, divided by the worker threads (CPU time
    does not grow when other programs load the machine; wall time does).  A GUE family with another
    number of couplings G is scaled by (1 + COUPLING_COST (G - 1)), and sizes
    this run did not simulate are taken as the nearest simulated size scaled by
    N^2 (spectrum and secular solve are both O(N^2) per sample).
    """
    per: dict[tuple[str, int], float] = {}
    for r in runs.values():
        f = r.family
        if r.samples_computed:  # a family resumed whole from its checkpoint measured nothing
            per[(f.symmetry, f.n)] = r.cpu_seconds / r.samples_computed / (1 + COUPLING_COST * (len(f.gammas) - 1))
    threads = cfg.workers if cfg.workers and cfg.workers > 0 else len(os.sched_getaffinity(0))
    out: dict[str, float] = {}
    for name in ("quick", "default", "paper"):
        for lim in (False, True):
            try:
                p = Figure2Config.from_preset(name, n=cfg.n, limit=lim)
            except ValueError:  # N too small for the default extrapolation sizes
                continue
            sec = 0.0
            for f in families(p):
                measured = [k for k in per if k[0] == f.symmetry]
                if not measured:
                    break  # no rate for this class in this run: no estimate for the preset
                near = min(measured, key=lambda k: abs(math.log(k[1] / f.n)))
                sec += per[near] * (f.n / near[1]) ** 2 * (1 + COUPLING_COST * (len(f.gammas) - 1)) * f.samples
            else:
                out[name + (" --limit" if lim else "")] = float(sec / threads)
    return out


def verdict_text(summary: dict[str, Any]) -> str:
    """The terminal report: late-time and N -> infinity verdicts first."""
    p, est = summary["panels"], summary["estimated_seconds_by_preset"]
    estimate = (f"from this run's CPU time, --paper would take about {est['paper'] / 60:.0f} min "
                f"({est.get('paper --limit', math.nan) / 60:.0f} min with --limit) on an unloaded machine"
                if "paper" in est else "no time estimate: this run resumed its checkpoints and measured too little")
    lines = [f"Figure 2 reproduced in {summary['run_seconds']:.0f} s wall, {summary['cpu_seconds']:.0f} s CPU "
             f"({summary['samples_total']} realisations, seed {summary['seed']}); {estimate}.",
             f"Agreement with the paper's theory (tau >= {TAU_LATE}; statistical = every point within "
             f"{Z_MAX:g} sem):"]

    def lim(q: dict[str, Any]) -> str:
        if "limit" not in q:
            return ""
        m = q["limit"]
        return (f"; N->inf (N+1 = {'/'.join(map(str, m['sizes_N_plus_1']))}): {m['verdict']}, max|z| = "
                f"{m['max_abs_z']:.2g}, chi2/dof = {m['chi2_per_dof']:.2g}")

    for k in "abc":
        q = p[k]
        lines.append(f"  ({k}) GUE gamma={q['gamma']:<5g} vs Eq. (5): N+1 = {q['N'] + 1}: {q['late']['verdict']}, "
                     f"max|z| = {q['late']['max_abs_z']:.2g} (rel. dev. {100 * q['late']['max_rel_dev']:.2g}%, "
                     f"gamma/N = {100 * q['gamma_over_N']:.2g}%){lim(q)}")
    q = p["d"]
    a = q["all_gamma"]
    lines.append(f"  (d) P_res at {len(q['per_gamma'])} gammas vs Eq. (4): N+1 = {q['N'] + 1}: {a['verdict']}, max|z| = "
                 f"{a['max_abs_z']:.2g} (at gamma = {a['max_abs_z_at']:.3g}), chi2/dof = {a['chi2_per_dof']:.2g}{lim(q)}")
    for sym in CLASSES:
        q = p["e"]["classes"][sym]
        extra = ""
        if "limit" in q:
            m = q["limit"]
            extra = (f"; N->inf - Eq. (6): max {m['diff_2gamma_at_max']:+.2f} +- {m['sem_2gamma_at_max']:.2f} /(2 gamma) "
                     f"at tau = {m['at_tau']:.2g}, plateau {100 * m['plateau_rel_diff']:+.1f}%")
        lines.append(f"  (e) {sym} gamma={GAMMA_SFF:<5g} vs Eq. (6): {q['late']['verdict']}, max|z| = "
                     f"{q['late']['max_abs_z']:.2g}; P_pl/P_off = {q['ratio_pl_over_off']:.2f} +- {q['ratio_err']:.2f} "
                     f"(paper {q['ratio_paper']:g}){extra}")
    zs = max(p[k]["all_tau"]["max_abs_z"] for k in "abc")
    lines.append(f"  Over the whole tau range (short times t < 1/lam, the finite-N decay rate) max|z| = {zs:.2g} at "
                 f"N+1 = {p['a']['N'] + 1}: finite-N effects outside Eq. (5)'s limit; details in summary.json.")
    return "\n".join(lines)
