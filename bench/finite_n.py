"""Measure the finite-N corrections of the level-dot model and its N -> infinity limit.

Eqs. (4) and (5) of the paper are the limit N -> infinity at fixed gamma = g N.
This script simulates GUE, GOE and GSE at several sizes N + 1 (default 126, 250,
500, 1000) and couplings gamma (default 0.46, 4.6, 46; all gammas of one size on
common random numbers, every (class, size) with its own seed), extrapolates with
``fgrkern.extrapolate`` and reports:

* the residence probability at each size and its coefficient c_X(gamma) in
  P_res(N) = P_res(inf) (1 + c_X gamma/N + ...), from the fit a + b/N
  (c = b/(a gamma), error by the delta method with the fit covariance); for GUE
  P_res(inf) is compared with Eq. (4);
* the early decay rate r_N (two-point slope of -ln[P - B] over
  4 gamma tau in [1, 2], with B the non-exponential part of Eq. (6)) against
  4 gamma/(1 - g/2), g = gamma/N (the Golden Rule rate with the level's
  quasiparticle weight 1/(1 - g/2) from the semicircle's Re Sigma(E) = g E/2),
  and its N -> infinity limit, where the exponential dominates the window
  (exp(-4 gamma tau) >= 4 B at both points: gamma = 46 here; at smaller gamma
  the decay is not separated from the offset and plateau);
* the N -> infinity curves against Eq. (5) (GUE: max |z| for tau >= 0.05) and
  Eq. (6) (all classes: the remaining difference, a number, not a verdict),
  and P_res(inf) against the Eq. (6) plateau (a_X + b_X)/(2 gamma).

Writes bench/results/finite_n.md (Markdown tables, with the command line, the
sample counts and the CPU time) and bench/results/finite_n.json (all numbers).

Usage::

    python bench/finite_n.py                      # defaults: --samples 3000, ~5 min CPU
    python bench/finite_n.py --samples 200        # smoke test (seconds)
    python bench/finite_n.py --sizes 126,250,500,1000 --gammas 0.46,4.6,46 \\
        --classes GUE,GOE,GSE --samples 3000 --small-boost 4 --workers 2 --seed 1

``--samples`` is the sample count at the largest size; a size N gets
``samples * min(small_boost, round(N_max / N))`` (smaller sizes are cheap and
their errors set the slope).  Sizes are N + 1 (total states); GSE uses the
even N below (N + 2 states: N/2 Kramers doublets plus the level doublet).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import shlex
import sys
import time

import numpy as np

import fgrkern as fk
from fgrkern import theory

A_X = {"GUE": 1.0, "GOE": 2.0, "GSE": 1.0}
B_X = {"GUE": 1.0, "GOE": 1.0, "GSE": 2.0}
TAU_LATE = 0.05  # below: the non-universal short-time region (t < 1/lambda at small N)
RATE_WINDOW = (1.0, 2.0)  # 4 gamma tau at the two points of the early-decay slope
RATE_G_MAX = 0.2  # sizes used in the fit of the decay rate: g = gamma/N <= this
CLASS_INDEX = {"GUE": 0, "GOE": 1, "GSE": 2}


def dot_states(size: int, sym: str) -> int:
    n = size - 1
    return n - (n % 2) if sym == "GSE" else n


def tau_grid(gammas: list[float]) -> np.ndarray:
    special = [u / (4 * g) for g in gammas for u in RATE_WINDOW]
    return np.unique(np.concatenate([np.geomspace(1e-3, 10.0, 100), special, [TAU_LATE]]))


def background(tau: np.ndarray, gamma: float, sym: str) -> np.ndarray:
    """Eq. (6) without its exponential: (a_X + b_X K_X(tau)) / (2 gamma)."""
    return (A_X[sym] + B_X[sym] * np.asarray(theory.form_factor(tau, sym))) / (2 * gamma)


def decay_rate(tau: np.ndarray, mean: np.ndarray, sem: np.ndarray, gamma: float, sym: str) -> tuple[float, float]:
    """Two-point early decay rate (per unit tau) and its error.

    The error treats the two points as independent; they come from the same
    realisations and are positively correlated, so it is an upper bound.
    """
    i1, i2 = (int(np.argmin(np.abs(tau - u / (4 * gamma)))) for u in RATE_WINDOW)
    bg = background(tau[[i1, i2]], gamma, sym)
    p1, p2 = mean[i1] - bg[0], mean[i2] - bg[1]
    dt = tau[i2] - tau[i1]
    if not (p1 > p2 > 0):  # no decay above the background (tiny N, huge g): no rate
        return math.nan, math.nan
    r = math.log(p1 / p2) / dt
    err = math.hypot(sem[i1] / p1, sem[i2] / p2) / dt
    return r, err


def rate_measurable(tau: np.ndarray, gamma: float, sym: str) -> bool:
    """The exponential dominates the window: exp(-4 gamma tau) >= 4 B at both points."""
    t = np.array(RATE_WINDOW) / (4 * gamma)
    return bool(np.all(np.exp(-np.array(RATE_WINDOW)) >= 4 * background(t, gamma, sym)))


def c_coefficient(coef: np.ndarray, cov: np.ndarray, gamma: float) -> tuple[float, float]:
    """c = b/(a gamma) for P = a + b/N (+ ...), error by the delta method."""
    a, b = coef[0], coef[1]
    grad = np.array([-b / (a * a * gamma), 1.0 / (a * gamma)])
    return float(b / (a * gamma)), float(math.sqrt(grad @ cov[:2, :2] @ grad))


def fmt(v: float, e: float | None = None, digits: int = 4) -> str:
    if e is None or not np.isfinite(e):
        return f"{v:.{digits}g}"
    return f"{v:.{digits}g} ± {e:.2g}"


def run(args: argparse.Namespace) -> dict:
    sizes = sorted(int(s) for s in args.sizes.split(","))
    gammas = [float(g) for g in args.gammas.split(",")]
    classes = [c.strip().upper() for c in args.classes.split(",")]
    tau = tau_grid(gammas)
    late = tau >= TAU_LATE
    out: dict = {"sizes_total_states": sizes, "gammas": gammas, "classes": classes, "tau": tau.tolist(),
                 "classes_data": {}}
    for sym in classes:
        runs = []
        for size in sizes:
            n = dot_states(size, sym)
            ns = args.samples * min(args.small_boost, max(1, round(sizes[-1] / size)))
            model = fk.LevelDotModel(n, gammas[0] / n, sym)
            ss = np.random.SeedSequence([args.seed, CLASS_INDEX[sym], n])
            c0 = time.process_time()
            res = fk.simulate(model, tau, ns, rng=ss, g=np.array(gammas) / n, workers=args.workers)
            print(f"{sym} N={n} samples={ns}: {time.process_time() - c0:.1f} s CPU", file=sys.stderr, flush=True)
            runs.append(res)
        fits = {o: fk.extrapolate(runs, order=o) for o in (1, 2) if len(runs) >= o + 1}
        cls: dict = {"n": [int(r.model_params["n"]) for r in runs], "samples": [r.n_samples for r in runs],
                     "gammas": {}}
        for j, gamma in enumerate(gammas):
            row: dict = {"p_res": [[float(r.p_res[j]), float(r.p_res_sem[j])] for r in runs]}
            for o, lim in fits.items():
                rec = lim.extrapolation
                c, ce = c_coefficient(rec["p_res_coef"][j], rec["p_res_coef_cov"][j], gamma)
                plateau = (A_X[sym] + B_X[sym]) / (2 * gamma)
                d = {"p_res": float(lim.p_res[j]), "p_res_sem": float(lim.p_res_sem[j]),
                     "p_res_chi2": float(rec["p_res_chi2"][j]), "dof": rec["dof"], "c": c, "c_sem": ce,
                     "p_res_rel_to_eq6_plateau": float(lim.p_res[j] / plateau - 1),
                     "p_res_rel_to_eq6_plateau_sem": float(lim.p_res_sem[j] / plateau)}
                eq6 = np.asarray(theory.p_sff(tau, gamma, sym))
                diff = (lim.mean[j] - eq6)[late]
                k = int(np.argmax(np.abs(diff)))
                d["eq6_max_abs_diff"] = float(diff[k])
                d["eq6_max_abs_diff_sem"] = float(lim.sem[j][late][k])
                d["eq6_max_abs_diff_at_tau"] = float(tau[late][k])
                d["eq6_max_abs_diff_times_2gamma"] = float(2 * gamma * diff[k])
                chi2 = rec["chi2"][j][late]
                d["curve_chi2_per_dof_median"] = float(np.median(chi2) / rec["dof"]) if rec["dof"] else None
                if sym == "GUE":
                    eq4 = float(theory.p_res(gamma))
                    d["eq4"] = eq4
                    d["p_res_z_vs_eq4"] = float((lim.p_res[j] - eq4) / lim.p_res_sem[j])
                    eq5 = np.asarray(theory.p_tau(tau, gamma))
                    z = ((lim.mean[j] - eq5) / lim.sem[j])[late]
                    d["eq5_max_abs_z"] = float(np.max(np.abs(z)))
                    d["eq5_max_abs_z_at_tau"] = float(tau[late][int(np.argmax(np.abs(z)))])
                    zr = ((runs[-1].mean[j] - eq5) / runs[-1].sem[j])[late]
                    d["eq5_max_abs_z_largest_size"] = float(np.max(np.abs(zr)))
                    d["eq6_vs_eq5_max_abs_diff_times_2gamma"] = float(2 * gamma * np.max(np.abs((eq6 - eq5)[late])))
                row[f"order{o}"] = d
            if rate_measurable(tau, gamma, sym):
                rates = [decay_rate(tau, r.mean[j], r.sem[j], gamma, sym) for r in runs]
                nn = np.array(cls["n"], dtype=float)
                one_minus = 1 - gamma / nn / 2
                rr = np.array([r for r, _ in rates]) / (4 * gamma)
                re = np.array([e for _, e in rates]) / (4 * gamma)
                # The pole of the level's Green's function predicts r_N = r_inf/(1 - g/2), i.e.
                # 1/r_N linear in 1/N: 4 gamma/r_N = A (1 - d gamma/N) with d = 1/2 exactly.
                inv, inv_e = 1 / rr, re / rr ** 2
                # Fit where g <= RATE_G_MAX (the prediction is leading order in g and at
                # larger g the decay time 1/(2 g lambda) enters the non-universal t ~ 1/lambda).
                ok = np.isfinite(inv)
                use = ok & (gamma / nn <= RATE_G_MAX)
                if use.sum() < 3:
                    use = ok
                if use.sum() >= 2:
                    p, cov = np.polyfit(1 / nn[use], inv[use], 1, w=1 / inv_e[use], cov="unscaled")
                    dcoef, dsem = c_coefficient(p[::-1], cov[::-1, ::-1], gamma)
                    resid = (inv[use] - np.polyval(p, 1 / nn[use])) / inv_e[use]
                else:
                    p, cov, dcoef, dsem, resid = np.full(2, np.nan), np.full((2, 2), np.nan), np.nan, np.nan, np.zeros(0)
                row["rate"] = {"r_over_4gamma": rr.tolist(), "r_over_4gamma_sem": re.tolist(),
                               "prediction_1_over_1_minus_g_half": (1 / one_minus).tolist(),
                               "r_times_1_minus_g_half_over_4gamma": (rr * one_minus).tolist(),
                               "r_inf_over_4gamma": float(1 / p[1]), "r_inf_over_4gamma_sem": float(math.sqrt(cov[1, 1]) / p[1] ** 2),
                               "d": -dcoef, "d_sem": dsem, "d_prediction": 0.5,
                               "fit_sizes": nn[use].astype(int).tolist(),
                               "chi2": float(resid @ resid), "dof": int(use.sum()) - 2}
                if sym == "GUE":
                    eq5 = np.asarray(theory.p_tau(tau, gamma))
                    row["rate"]["estimator_on_eq5_over_4gamma"] = decay_rate(tau, eq5, np.zeros_like(tau), gamma, sym)[0] / (4 * gamma)
            cls["gammas"][str(gamma)] = row
        out["classes_data"][sym] = cls
    return out


def fit_rows(out: dict):
    """(class, gamma, row, order, fit) for every fit in ``out``, in table order."""
    for sym, cls in out["classes_data"].items():
        for gam, row in cls["gammas"].items():
            for o in (1, 2):
                if f"order{o}" in row:
                    yield sym, gam, row, o, row[f"order{o}"]


def opt(d: dict, key: str, spec: str) -> str:
    """d[key] formatted, or a dash where the quantity does not exist (no theory for the class)."""
    return format(d[key], spec) if key in d else "—"


def markdown(out: dict, cmd: str, cpu: float, wall: float) -> str:
    L = ["# Finite-N corrections and the N -> infinity limit", "",
         f"Command: `{cmd}`  ",
         f"fgrkern {fk.__version__}, numpy {np.__version__}, {platform.machine()}, "
         f"{os.cpu_count()} cores; process CPU time {cpu:.0f} s, wall {wall:.0f} s (shared machine).", "",
         "Sizes are N + 1 total states "
         f"{out['sizes_total_states']} (GSE: the even N below, N + 2 states). "
         "All gammas of one size share random numbers (common random numbers); "
         "sizes and classes are independent runs.", ""]
    for sym, cls in out["classes_data"].items():
        L.append(f"Samples per size, {sym}: " + ", ".join(f"N = {n}: {s}" for n, s in zip(cls["n"], cls["samples"])))
    L += ["", "## P_res(N) = P_res(inf) (1 + c_X(gamma) gamma/N + ...)", "",
          "c from the weighted fit P_res = a + b/N (order 1) or a + b/N + c2/N^2 (order 2), c = b/(a gamma). "
          "chi2 with dof = sizes - parameters. GUE: P_res(inf) against Eq. (4); all classes: "
          "P_res(inf) relative to the Eq. (6) plateau (a_X + b_X)/(2 gamma).", "",
          "| class | gamma | P_res at each N (± sem) | order | P_res(inf) | Eq. (4) | z vs Eq. (4) "
          "| chi2/dof | c_X(gamma) | P_res(inf)/plateau(Eq. 6) - 1 |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for sym, gam, row, o, d in fit_rows(out):
        raw = "; ".join(fmt(v, e) for v, e in row["p_res"])
        L.append(f"| {sym} | {gam} | {raw if o == 1 else '〃'} | {o} | {fmt(d['p_res'], d['p_res_sem'])} "
                 f"| {opt(d, 'eq4', '.4g')} | {opt(d, 'p_res_z_vs_eq4', '.2f')} | {d['p_res_chi2']:.2f}/{d['dof']} "
                 f"| {fmt(d['c'], d['c_sem'], 3)} "
                 f"| {fmt(d['p_res_rel_to_eq6_plateau'], d['p_res_rel_to_eq6_plateau_sem'], 3)} |")
    L += ["", "## Early decay rate", "",
          "r_N: two-point slope of -ln(P - B) at 4 gamma tau = 1 and 2 (B: Eq. (6) without the exponential), "
          "in units of the Golden Rule rate 4 gamma (per unit tau); errors treat the two points as independent "
          "(an upper bound). The pole of the level's Green's function (Re Sigma(E) = g E/2 at the band centre) "
          "predicts r_N = r_inf/(1 - g/2), g = gamma/N, so r_N (1 - g/2) should not depend on N, and the fit "
          f"4 gamma/r_N = A (1 - d gamma/N) should give d = 1/2 (fitted on the sizes with g <= {RATE_G_MAX}, listed). The estimator has an N-independent bias "
          "(B ignores the build-up of the return term): applied to Eq. (5) it gives the last column (GUE).", "",
          "| class | gamma | r_N/(4 gamma) at each N | 1/(1 - g/2) | r_N (1 - g/2)/(4 gamma) | r_inf/(4 gamma) "
          "| d (pred. 0.5) | fit sizes N | chi2/dof | estimator on Eq. (5) |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for sym, cls in out["classes_data"].items():
        for gam, row in cls["gammas"].items():
            r = row.get("rate")
            if r is None:
                continue
            meas = "; ".join(fmt(v, e) for v, e in zip(r["r_over_4gamma"], r["r_over_4gamma_sem"]))
            pred = "; ".join(f"{v:.4g}" for v in r["prediction_1_over_1_minus_g_half"])
            corr = "; ".join(f"{v:.4g}" for v in r["r_times_1_minus_g_half_over_4gamma"])
            e5 = f"{r['estimator_on_eq5_over_4gamma']:.4g}" if "estimator_on_eq5_over_4gamma" in r else "—"
            L.append(f"| {sym} | {gam} | {meas} | {pred} | {corr} | {fmt(r['r_inf_over_4gamma'], r['r_inf_over_4gamma_sem'])} "
                     f"| {fmt(r['d'], r['d_sem'], 3)} | {', '.join(map(str, r['fit_sizes']))} | {r['chi2']:.2f}/{r['dof']} | {e5} |")
    L += ["", f"## N -> infinity curves against Eqs. (5) and (6), tau >= {TAU_LATE}", "",
          "GUE: max |z| of the limit against Eq. (5), and of the largest size alone. All classes: the largest "
          "|P(inf) - Eq. (6)| (in units of 1/(2 gamma), i.e. of Eq. (6)'s coefficients a_X, b_X), with its "
          "standard error and position; for GUE the same difference between the exact Eq. (5) and Eq. (6) "
          "shows the size of Eq. (6)'s O(1/gamma) corrections. Median per-point chi2/dof of the fits in 1/N.", "",
          "| class | gamma | order | max|z| vs Eq. (5) (limit) | max|z| vs Eq. (5) (largest N) "
          "| 2 gamma (P(inf) - Eq. 6) at max | at tau | 2 gamma (Eq. 5 - Eq. 6) max | median chi2/dof |",
          "|---|---|---|---|---|---|---|---|---|"]
    for sym, gam, row, o, d in fit_rows(out):
        med = f"{d['curve_chi2_per_dof_median']:.2f}" if d["curve_chi2_per_dof_median"] is not None else "exact"
        L.append(f"| {sym} | {gam} | {o} | {opt(d, 'eq5_max_abs_z', '.2f')} | {opt(d, 'eq5_max_abs_z_largest_size', '.3g')} "
                 f"| {fmt(d['eq6_max_abs_diff_times_2gamma'], 2 * float(gam) * d['eq6_max_abs_diff_sem'], 3)} "
                 f"| {d['eq6_max_abs_diff_at_tau']:.3g} | {opt(d, 'eq6_vs_eq5_max_abs_diff_times_2gamma', '.3g')} | {med} |")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="126,250,500,1000", help="N + 1 (total states), comma-separated")
    ap.add_argument("--gammas", default="0.46,4.6,46")
    ap.add_argument("--classes", default="GUE,GOE,GSE")
    ap.add_argument("--samples", type=int, default=3000, help="samples at the largest size")
    ap.add_argument("--small-boost", type=int, default=4, help="max factor of extra samples at smaller sizes")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent / "results"),
                    help="directory for finite_n.md and finite_n.json")
    args = ap.parse_args(argv)
    outdir = pathlib.Path(args.out)
    if not outdir.is_dir():
        ap.error(f"--out: {outdir} is not a directory")
    c0, w0 = time.process_time(), time.time()
    out = run(args)
    cpu, wall = time.process_time() - c0, time.time() - w0
    cmd = "python bench/finite_n.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    out.update(command=cmd.strip(), cpu_seconds=cpu, wall_seconds=wall, fgrkern_version=fk.__version__)
    (outdir / "finite_n.json").write_text(json.dumps(out, indent=1))
    md = markdown(out, cmd.strip(), cpu, wall)
    (outdir / "finite_n.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
