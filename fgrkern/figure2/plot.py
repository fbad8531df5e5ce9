"""Drawing Figure 2 (and one simulation) with matplotlib, imported only when a figure is drawn."""

from __future__ import annotations

from typing import Any

import numpy as np

import fgrkern as fk

from .config import CLASSES
from .output import savefig

__all__ = ["plot_figure2", "plot_simulation", "DPI"]

#: Resolution of the PNG figures.
DPI = 200
_THEORY = dict(color="tab:red", lw=1.6, ls="--")
_LIMIT = dict(color="tab:blue", lw=1.1)
_CLASS_COLOURS = {"GOE": "tab:blue", "GUE": "tab:red", "GSE": "tab:green"}


def _numerics(ax: Any, x: np.ndarray, m: np.ndarray, s: np.ndarray, label: str, color: str = "black",
              band: str = "0.55", alpha: float = 0.45, **line: Any) -> None:
    """Numerical mean as a line with a +-2 sem band (the band is what shows the statistics)."""
    poly = ax.fill_between(x, m - 2 * s, m + 2 * s, color=band, alpha=alpha, lw=0)
    (ln,) = ax.plot(x, m, color=color, lw=line.pop("lw", 1.0), label=label, **line)
    ln.fgrkern_band = poly  # the legend entry shows the line over its band (see _finish_axes)


def _finish_axes(ax: Any, xlabel: str, ylabel: str, title: str, ncol: int = 1, fontsize: float = 7.5,
                 logx: bool = True, logy: bool = False) -> None:
    """Labels, and the legend *below* the axes, where it cannot cover a curve."""
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    handles = [(h.fgrkern_band, h) if hasattr(h, "fgrkern_band") else h for h in handles]
    ax.legend(handles, labels, fontsize=fontsize, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol,
              frameon=False)
    ax.grid(alpha=0.25, which="both", lw=0.4)


_NEEDS_MATPLOTLIB = "plotting needs matplotlib, an optional extra: pip install 'fgrkern[plot]'"


def require_matplotlib() -> None:
    """RuntimeError at once if matplotlib is missing: callers check before long work, not after it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RuntimeError(_NEEDS_MATPLOTLIB) from None


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(_NEEDS_MATPLOTLIB) from None
    return plt


def plot_figure2(tables: dict[str, dict[str, np.ndarray]], summary: dict[str, Any], png: str,
                 pdf: str | None = None, dpi: int = DPI, save: Any = None) -> None:
    """Draw the five panels of Figure 2 from the tables written to the panel CSVs.

    Files are written by ``save(fig, path, **kw)`` (default: ``output.savefig``, the safe writer).
    """
    plt = _pyplot()
    save = save or savefig
    fig = plt.figure(figsize=(14.0, 10.0))
    gs = fig.add_gridspec(2, 6, hspace=0.75, wspace=0.9)
    axes = [fig.add_subplot(gs[0, 0:2]), fig.add_subplot(gs[0, 2:4]), fig.add_subplot(gs[0, 4:6]),
            fig.add_subplot(gs[1, 0:3]), fig.add_subplot(gs[1, 3:6])]
    pans = summary["panels"]
    n = pans["a"]["N"]
    lim = "limit" in pans["a"]
    lim_label = ""
    if lim:
        lim_label = (r"$N\to\infty$ $\pm$2 s.e., from N+1 = " + "/".join(map(str, pans["a"]["limit"]["sizes_N_plus_1"])))
    for ax, k in zip(axes[:3], "abc"):
        tb, pan = tables[k], pans[k]
        tau = tb["tau"]
        _numerics(ax, tau, tb["mean"], tb["sem"], f"numerics $\\pm$2 s.e.m., N+1 = {n + 1}")
        if lim:
            _numerics(ax, tau, tb["limit_mean"], tb["limit_sem"], lim_label, band="tab:blue", alpha=0.25, **_LIMIT)
        ax.plot(tau, tb["theory_eq5"], **_THEORY, label="theory, Eq. (5)")
        ax.axhline(pan["p_res_eq4"], color="tab:purple", lw=0.8, ls=":", label="$P_{res}$, Eq. (4)")
        _finish_axes(ax, r"$\tau = t/t_H$   ($t_H = 2N/\lambda$)", r"$P(\tau)$",
                     f"({k})  GUE, $\\gamma$ = {pan['gamma']:g}   [{pan['samples']} samples]", logy=(k == "a"))

    _draw_d(axes[3], tables["d"], pans, n, lim_label)
    _draw_e(axes[4], tables["e"], pans)
    fig.suptitle("Emergence of Fermi's Golden Rule, Fig. 2: numerics (fgrkern) vs theory", fontsize=12, y=0.93)
    try:
        save(fig, png, dpi=dpi)
        if pdf is not None:
            save(fig, pdf)
    finally:
        plt.close(fig)


def _draw_d(ax: Any, tb: dict[str, np.ndarray], pans: dict[str, Any], n: int, lim_label: str) -> None:
    """Panel (d): P_res against gamma, Eq. (4), the Golden Rule, the N -> infinity points if any."""
    g = tb["gamma"]
    gg = np.geomspace(g.min() / 1.5, g.max() * 1.5, 400)
    ax.plot(gg, fk.theory.p_res(gg), color="0.45", lw=2.0, label="theory, Eq. (4)")
    ax.plot(gg[gg > 0.3], 1.0 / gg[gg > 0.3], color="tab:purple", lw=1.3, ls="--", label=r"Golden Rule $1/\gamma$")
    ax.errorbar(g, tb["p_res"], yerr=2 * tb["sem"], fmt="o", ms=4, color="black", ecolor="black", capsize=2,
                label=f"numerics $\\pm$2 s.e.m., N+1 = {n + 1}")
    if lim_label:
        ax.errorbar(g * 1.08, tb["limit_p_res"], yerr=2 * tb["limit_sem"], fmt="s", ms=3.5, mfc="none",
                    color="tab:blue", capsize=2, label=lim_label)
    for k in "abc":
        pan = pans[k]
        ax.annotate("", xy=(pan["gamma"], pan["p_res_numerics"]), xytext=(pan["gamma"], pan["p_res_numerics"] * 0.45),
                    arrowprops=dict(arrowstyle="->", color="black", lw=1.0))
        ax.text(pan["gamma"], pan["p_res_numerics"] * 0.36, f"({k})", ha="center", va="top", fontsize=8)
    _finish_axes(ax, r"$\gamma = gN$", r"$P_{res} = P(\tau\to\infty)$",
                 f"(d)  residence probability, GUE   [{pans['d']['samples_per_gamma']} samples, common to all "
                 r"$\gamma$]", ncol=2, fontsize=8, logy=True)



def _draw_e(ax: Any, tb: dict[str, np.ndarray], pans: dict[str, Any]) -> None:
    """Panel (e): 2 gamma P(tau) of the three classes against Eq. (6)."""
    tau = tb["tau"]
    gm = pans["e"]["gamma"]
    for sym in CLASSES:
        col = _CLASS_COLOURS[sym]
        a, b = fk.theory.sff_coefficients(sym)
        _numerics(ax, tau, 2 * gm * tb[f"mean_{sym}"], 2 * gm * tb[f"sem_{sym}"],
                  f"{sym}, {pans['e']['classes'][sym]['N'] + (2 if sym == 'GSE' else 1)} states  "
                  f"(Eq. (6): {a:g} + {b:g} $K_X$)",
                  color=col, band=col, alpha=0.25)
        if f"limit_mean_{sym}" in tb:
            ax.plot(tau, 2 * gm * tb[f"limit_mean_{sym}"], color=col, lw=0.8, ls=":", alpha=0.9,
                    label=f"{sym}, $N\\to\\infty$")
        ax.plot(tau, 2 * gm * tb[f"theory_{sym}"], color="black", lw=1.3, ls="--",
                label="theory, Eq. (6)" if sym == CLASSES[-1] else None)
    ax.set_xlim(1e-3, tau.max())
    ax.set_ylim(0, 4.2)
    _finish_axes(ax, r"$\tau = t/t_H$", r"$2\gamma\, P(\tau)$",
                 f"(e)  GOE, GUE, GSE at $\\gamma$ = {gm:g}   [{pans['e']['classes']['GUE']['samples']} samples each]",
                 ncol=2)


def plot_simulation(res: fk.SimulationResult, theory_curve: np.ndarray | None, theory_label: str, png: str,
                    title: str = "", save: Any = None) -> None:
    """PNG of one simulation: mean with a +-2 sem band, and the matching theory curve if any."""
    plt = _pyplot()
    save = save or savefig
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    tau, m, s = np.asarray(res.tau), np.asarray(res.mean), np.asarray(res.sem)
    _numerics(ax, tau, m, s, f"numerics $\\pm$2 s.e.m., {res.n_samples} samples")
    if theory_curve is not None:
        ax.plot(tau, theory_curve, **_THEORY, label=f"theory, {theory_label}")
    _finish_axes(ax, r"$\tau = t/t_H$   ($t_H = 2N/\lambda$)", r"$P(\tau)$", title, ncol=2, fontsize=8,
                 logx=bool(np.all(tau > 0)), logy=bool(np.all(m > 0) and m.max() / max(m.min(), 1e-300) > 5))
    try:
        save(fig, png, dpi=DPI)
    finally:
        plt.close(fig)
