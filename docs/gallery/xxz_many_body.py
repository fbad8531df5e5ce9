"""A many-body example: Neel-state survival and spectral form factor of a random-field XXZ chain.

Builds the S^z_tot = 0 block of the open XXZ chain (L = 10, Delta = 1, J = 1) with random fields
h_i in [-W, W] with scipy.sparse, diagonalises it densely for 60 disorder realisations at weak
(W = 0.5) and strong (W = 5) disorder, and evaluates with fgrkern.survival_probability the Neel
state's survival probability (weights |<a|Neel>|^2) and the spectral form factor (unit weights).
Run time: ~5 s.  Usage: python xxz_many_body.py [--out DIR]
"""

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

import fgrkern as fk

parser = argparse.ArgumentParser()
parser.add_argument("--out", default=".")
out = pathlib.Path(parser.parse_args().out)


def xxz_parts(L, delta, J=1.0):
    """The field-independent parts of the open XXZ chain in its S^z_tot = 0 block.

    Returns the sparse exchange part, the S^z_i of every basis state (rows) and the basis index;
    H(h) = exchange + diag(sz @ h).
    """
    states = [s for s in range(2**L) if bin(s).count("1") == L // 2]
    index = {s: i for i, s in enumerate(states)}
    sz = np.array([[((s >> k) & 1) - 0.5 for k in range(L)] for s in states])
    rows, cols, vals = list(range(len(states))), list(range(len(states))), list(J * delta * (sz[:, :-1] * sz[:, 1:]).sum(1))
    for i, s in enumerate(states):
        for k in range(L - 1):
            if sz[i, k] != sz[i, k + 1]:
                rows.append(index[s ^ (3 << k)])
                cols.append(i)
                vals.append(0.5 * J)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(states), len(states))), sz, index


L, delta, n_real = 10, 1.0, 60
exchange, sz, index = xxz_parts(L, delta)
H0 = exchange.toarray()
neel = sum(1 << k for k in range(0, L, 2))
t = np.geomspace(1e-2, 1e4, 400)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
for W, colour in ((0.5, "tab:blue"), (5.0, "tab:red")):
    rng = np.random.default_rng(10)
    E, Wts = [], []
    for _ in range(n_real):
        H = H0 + np.diag(sz @ rng.uniform(-W, W, L))
        e, v = np.linalg.eigh(H)
        E.append(e)
        Wts.append(v[index[neel]] ** 2)
    E, Wts = np.array(E), np.array(Wts)
    P, ipr = fk.survival_probability(E, Wts, t, return_ipr=True)
    m, s = P.mean(0), P.std(0, ddof=1) / np.sqrt(n_real)
    ax1.fill_between(t, m - 2 * s, m + 2 * s, color=colour, alpha=0.25, lw=0)
    ax1.loglog(t, m, color=colour, label=f"W = {W:g}")
    ax1.axhline(ipr.mean(), color=colour, ls=":", lw=1)
    K = fk.survival_probability(E, np.ones_like(E), t).mean(0) / E.shape[1]
    ax2.loglog(t, K, color=colour, label=f"W = {W:g}")
ax1.set_xlabel("t (1/J)")
ax1.set_ylabel("Neel-state survival probability")
ax1.set_title(f"L = {L}, S$^z$ = 0 block, {n_real} realisations (dotted: mean IPR)", fontsize=9)
ax1.legend()
ax2.set_xlabel("t (1/J)")
ax2.set_ylabel(r"$\langle|\sum_a e^{-ie_at}|^2\rangle / M$")
ax2.set_title("spectral form factor, unit weights (not unfolded)", fontsize=9)
ax2.legend()
fig.savefig(out / "xxz_many_body.png", dpi=100, bbox_inches="tight")
