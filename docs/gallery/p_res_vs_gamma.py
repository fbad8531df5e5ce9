"""P_res against gamma: from full residence to the Golden Rule (Fig. 2(d) in miniature).

Simulates the long-time limit P_res = <sum_a w_a^2> of the GUE level-dot model at N + 1 = 200
for 20 couplings on common random numbers and compares it with Eq. (4) and with the Golden
Rule estimate 1/gamma.  Run time: ~5 s on two cores.  Usage: python p_res_vs_gamma.py [--out DIR]
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

n, samples = 199, 400
gammas = np.geomspace(1e-2, 30, 20)
model = fk.LevelDotModel(n=n, g=1.0 / n)
res = fk.simulate(model, [1.0], n_samples=samples, rng=4, g=gammas / n, chunk_size=64)

gg = np.geomspace(5e-3, 60, 300)
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.loglog(gg, fk.theory.p_res(gg), color="0.45", lw=2, label="Eq. (4)")
ax.loglog(gg[gg > 0.3], 1 / gg[gg > 0.3], "--", color="tab:purple", label=r"Golden Rule $1/\gamma$")
ax.errorbar(res.gamma, res.p_res, yerr=2 * res.p_res_sem, fmt="o", ms=4, capsize=2,
            label=rf"numerics $\pm 2$ s.e.m., N + 1 = {n + 1}, {samples} samples")
ax.set_xlabel(r"$\gamma = gN$")
ax.set_ylabel(r"$P_{res} = \langle\sum_a w_a^2\rangle$")
ax.set_title("common random numbers: neighbouring points are correlated")
ax.legend(fontsize=8)
fig.savefig(out / "p_res_vs_gamma.png", dpi=100, bbox_inches="tight")
