"""Reproduction of Figure 2 of Micklitz, Morningstar, Altland & Huse, PRL 129, 140402 (2022).

Used by ``fgrkern reproduce``; importable for scripting::

    from fgrkern.figure2 import Figure2Config, reproduce
    summary = reproduce(Figure2Config.from_preset("quick", limit=True), "out-dir")

Panels (N + 1 = 1000 states like the paper; GSE: N = 998 dot states, i.e.
499 Kramers doublets plus the level doublet):

- (a)-(c): P(tau), GUE, gamma = 46, 0.46, 0.022: numerics vs Eq. (5).
- (d): P_res = P(tau -> inf) vs gamma (log grid 1e-2 ... 1e2): numerics vs
  Eq. (4) and the Golden Rule value 1/gamma.
- (e): GOE, GUE, GSE at gamma = 46: numerics vs Eq. (6), with the measured
  plateau/offset ratios P_pl/P_off against (3/2, 2, 3).

Layout (internal modules): ``config`` (sizes, seeds, the typed ``simulate``
tasks), ``compute`` (one ``simulate`` call per family; the N -> infinity
limit), ``summary`` (one comparison path, the verdicts), ``plot``, ``output``
(file names, checks, safe writes).

Common random numbers: all GUE curves -- (a), (b), (c), every gamma of (d) and
e's GUE curve (= (a)) -- come from one ``simulate`` call with ``g=[...]``: the
same bath spectrum and coupling vector per realisation drive every coupling.
The points of (d) are therefore positively correlated; each mean and error bar
is exact and the covariance is written (``panel_d_cov.csv``, summary.json).

Eqs. (4)-(5) are the limit N -> infinity at fixed gamma; at N + 1 = 1000 the
numerics exceed them by O(gamma/N) (P_res +3 % at gamma = 46), many standard
errors at the paper's sample count.  With ``limit=True`` every family is also
run at the smaller sizes of ``Figure2Config.limit_sizes`` (N + 1 = 250 and 500
by default; independent seeds) and :func:`fgrkern.extrapolate`
gives the N -> infinity curves, judged against the theory without any
finite-N allowance.  matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import os
import time
from typing import Any

from . import compute as _compute_mod
from .config import DEFAULT_SEED, Figure2Config, families
from .output import check_outputs, checkpoint_file, output_files, remove_checkpoints, write_csv, write_json
from .plot import plot_figure2, plot_simulation, require_matplotlib
from .summary import summarise, verdict_text

__all__ = ["DEFAULT_SEED", "Figure2Config", "check_outputs", "output_files", "plot_figure2", "plot_simulation",
           "reproduce"]


def reproduce(cfg: Figure2Config, out_dir: str, *, plot: bool = True, progress: bool = True) -> dict[str, Any]:
    """Compute every panel of Figure 2 and write figure, CSV files and summary.json.

    Parameters
    ----------
    cfg : Figure2Config
        Sizes and seed (``Figure2Config.from_preset("quick" | "default" | "paper", limit=...)``).
    out_dir : str
        Output folder (created if missing), files :func:`output_files`:
        ``figure2.png`` (200 dpi), ``figure2.pdf`` (if ``plot``),
        ``panel_a.csv`` ... ``panel_e.csv``, ``panel_d_cov.csv`` (covariance of
        the P_res points), with ``cfg.limit`` ``panel_d_limit_cov.csv``, and
        ``summary.json``.
    plot : bool, optional
        Draw the figure (needs matplotlib).
    progress : bool, optional
        Progress bars on stderr (if tqdm is installed).

    Returns
    -------
    dict
        The summary as written to ``summary.json`` (``headline`` first: per
        panel the verdict for tau >= 0.05 and, with ``cfg.limit``, the
        N -> infinity verdict), with the extra keys ``files`` and ``verdict_text``.

    Notes
    -----
    Units: tau = t/t_H with t_H = 2N/lam, lam = 1; gamma = g N.  The numbers
    depend only on ``cfg`` (seed and sizes), not on ``cfg.workers``.  Every
    output is checked before the computation starts and written atomically
    (only regular files are replaced, links are followed, new files honour the
    umask, replaced ones keep their mode).  Each family's ``simulate`` call keeps a
    checkpoint in ``out_dir`` (``checkpoint-<class>-N<n>.npz``) until every output
    is written: after an interrupt, a failure or a full disk, calling
    ``reproduce`` again with the same ``cfg`` and ``out_dir`` resumes where it
    stopped and gives the same numbers, bit for bit.  A checkpoint left by a
    run with other settings is refused (``ValueError``), never overwritten.

    Raises
    ------
    ValueError
        An output cannot be created (``out_dir`` is a file or in an unwritable
        place, an output is a directory, FIFO or device), or a checkpoint in
        ``out_dir`` belongs to a run with other settings.
    RuntimeError
        ``plot`` without matplotlib (raised before any work).
    fgrkern.SimulationError
        A simulation failed (its checkpoint keeps the work done).
    """
    if plot:
        require_matplotlib()

    def ckpt(fam: Any) -> str:
        return checkpoint_file(out_dir, fam.symmetry, fam.n)

    checkpoints = tuple(ckpt(fam) for fam in families(cfg))
    check_outputs(out_dir, plot, cfg.limit, checkpoints)
    os.makedirs(out_dir, exist_ok=True)
    check_outputs(out_dir, plot, cfg.limit, checkpoints)
    # a checkpoint of another run is refused now, not after the families before it computed
    _compute_mod.check_checkpoints(cfg, ckpt)
    t0 = time.perf_counter()
    runs = _compute_mod.compute(cfg, progress, ckpt)
    out = summarise(cfg, runs, time.perf_counter() - t0)
    summary, tables = out["summary"], out["tables"]
    files = []
    for name, key in [(f"panel_{k}.csv", k) for k in "abcde"] + [("panel_d_cov.csv", "d_cov"),
                                                                 ("panel_d_limit_cov.csv", "d_limit_cov")]:
        if key in tables:
            write_csv(os.path.join(out_dir, name), tables[key])
            files.append(name)
    if plot:
        plot_figure2(tables, summary, os.path.join(out_dir, "figure2.png"), os.path.join(out_dir, "figure2.pdf"))
        files[:0] = ["figure2.png", "figure2.pdf"]
    files.append("summary.json")
    summary["files"] = files
    write_json(os.path.join(out_dir, "summary.json"), summary)
    remove_checkpoints(list(checkpoints))
    summary["verdict_text"] = verdict_text(summary)
    return summary
