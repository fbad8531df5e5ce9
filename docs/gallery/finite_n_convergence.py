"""Finite-N convergence: P_res(N) against 1/N, extrapolated to N -> infinity and compared with Eq. (4).

Simulates the GUE level-dot model at five sizes N + 1 = 80 ... 320 (independent seeds; the two
couplings gamma = 4 and 16 share the realisations of each size), fits P_res(N) = a + b/N with
fgrkern.extrapolate and compares the intercept with Eq. (4).  Run time: ~7 s of CPU, ~5 s on
two cores.  Usage: python finite_n_convergence.py [--out DIR]
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

gammas = np.array([4.0, 16.0])
# Smaller sizes are cheaper (the sampler is O(N^2)): give them more samples.
sizes_samples = [(79, 3500), (119, 2500), (159, 1800), (239, 1200), (319, 850)]
runs = [fk.simulate(fk.LevelDotModel(n, 1.0 / n), [1.0], samples, rng=1000 + n, g=gammas / n,
                    chunk_size=250)
        for n, samples in sizes_samples]
lim = fk.extrapolate(runs)                         # order 1: P(N) = a + b/N, weights 1/sem^2
fit = lim.extrapolation

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
x = np.array([1.0 / r.metadata["model"]["n"] for r in runs])
xx = np.linspace(0, 1.05 * x.max(), 50)
for k, (ax, gamma) in enumerate(zip(axes, gammas)):
    p = np.array([r.p_res[k] for r in runs])
    s = np.array([r.p_res_sem[k] for r in runs])
    a, b = fit["p_res_coef"][k]
    eq4 = fk.theory.p_res(gamma)
    ax.errorbar(x, p, yerr=2 * s, fmt="o", capsize=2, label=r"numerics $\pm 2$ s.e.m.")
    ax.plot(xx, a + b * xx, color="tab:blue", lw=1,
            label=rf"fit $a + b/N$, $\chi^2$ = {fit['p_res_chi2'][k]:.1f} ({fit['dof']} dof)")
    ax.errorbar([0], [lim.p_res[k]], yerr=[2 * lim.p_res_sem[k]], fmt="s", color="tab:blue", capsize=3,
                label=rf"$N\to\infty$: {lim.p_res[k]:.4f} $\pm$ {lim.p_res_sem[k]:.4f}")
    ax.axhline(eq4, color="0.3", ls="--", label=f"Eq. (4): {eq4:.4f}")
    ax.set_xlim(-0.0005, xx[-1])
    ax.set_xlabel("1/N")
    ax.set_title(rf"GUE, $\gamma$ = {gamma:g}")
    ax.legend(fontsize=7)
axes[0].set_ylabel(r"$P_{res} = \langle\sum_a w_a^2\rangle$")
fig.tight_layout()
fig.savefig(out / "finite_n_convergence.png", dpi=100, bbox_inches="tight")
for k, gamma in enumerate(gammas):
    z = (lim.p_res[k] - fk.theory.p_res(gamma)) / lim.p_res_sem[k]
    print(f"gamma = {gamma:g}: N -> inf {lim.p_res[k]:.5f} +- {lim.p_res_sem[k]:.5f}, "
          f"Eq. (4) {fk.theory.p_res(gamma):.5f}, z = {z:+.2f}, chi2 = {fit['p_res_chi2'][k]:.2f}/{fit['dof']}")
