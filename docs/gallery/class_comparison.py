"""Class comparison: the spectral form factor in P(tau) for GOE, GUE and GSE (Fig. 2(e) in miniature).

Simulates the level-dot model at N + 1 = 1000 and gamma = 46 (the paper's panel (e)), 400 samples per class, for the three Wigner-Dyson classes
and compares 2 gamma P(tau) with Eq. (6), 2 gamma P = 2 gamma e^{-4 gamma tau} + a_X + b_X K_X(tau).
Run time: ~10 s on two cores.  Usage: python class_comparison.py [--out DIR]
"""

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import fgrkern as fk

parser = argparse.ArgumentParser()
parser.add_argument("--out", default=".")
out = pathlib.Path(parser.parse_args().out)

gamma, n, samples = 46.0, 999, 400
tau = np.geomspace(1e-3, 5, 160)
fig, ax = plt.subplots(figsize=(7, 4.5))
for X, colour in (("GOE", "tab:blue"), ("GUE", "tab:red"), ("GSE", "tab:green")):
    nX = n - n % 2 if X == "GSE" else n             # GSE: N even (N/2 Kramers doublets)
    model = fk.LevelDotModel(n=nX, g=gamma / nX, symmetry=X)
    res = fk.simulate(model, tau, n_samples=samples, rng=2022)
    m, s = 2 * gamma * res.mean, 2 * gamma * res.sem
    ax.fill_between(tau, m - 2 * s, m + 2 * s, color=colour, alpha=0.25, lw=0)
    ax.plot(tau, m, color=colour, lw=1, label=f"{X}, N = {nX}, {samples} samples")
    ax.plot(tau, 2 * gamma * fk.theory.p_sff(tau, gamma, X), "k--", lw=1)
ax.plot([], [], "k--", label="Eq. (6)")
ax.set_xscale("log")
ax.set_ylim(0, 4.2)
ax.set_xlabel(r"$\tau = t/t_H$")
ax.set_ylabel(r"$2\gamma\,P(\tau)$")
ax.set_title(rf"offset $a_X$, ramp $b_X K_X(\tau)$, plateau $a_X + b_X$ at $\gamma$ = {gamma:g}")
ax.legend(loc="lower right", fontsize=8)
fig.savefig(out / "class_comparison.png", dpi=100, bbox_inches="tight")
