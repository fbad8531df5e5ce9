"""airspeed velocity (asv) benchmarks of fgrkern's hot paths.

    asv run                       # the configured branch, in fresh environments
    asv continuous main HEAD      # regressions of HEAD against main
    asv run --python=same --quick # smoke test in the current environment (CI)

(configuration: asv.conf.json at the repository root; asv times the
``time_*`` methods, ``params`` give the sizes).  Everything is single-threaded
(``workers=1``) so that timings compare across machines and commits; the
thread scaling is measured by ``python bench/run.py``, which also prints
side-by-side ratios against plain numpy/scipy.

Setting FGRKERN_ASV_SMOKE=1 keeps only the smallest size of the slowest
benchmarks (the CI smoke pass must stay short); it changes no benchmark code.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

import fgrkern as fk

SMOKE = os.environ.get("FGRKERN_ASV_SMOKE") == "1"


def _rows(rng, R, M):
    e = np.sort(rng.normal(scale=2.0, size=(R, M)), axis=1)
    w = rng.dirichlet(np.ones(M), size=R)
    return e, w


class KernelGrid:
    """Eigenpair-sum kernel P(t) = |sum_a w_a exp(-i e_a t)|^2, 8 rows of M eigenpairs."""

    params = (["uniform", "log"], [100, 1000], [256, 4096])
    param_names = ["grid", "M", "T"]

    def setup(self, grid, M, T):
        self.e, self.w = _rows(np.random.default_rng(1), 8, M)
        # uniform: the factorised path; log (geomspace): sin/cos at every point
        self.t = np.linspace(0.0, 100.0, T) if grid == "uniform" else np.geomspace(1e-2, 1e2, T)

    def time_survival_probability(self, grid, M, T):
        fk.survival_probability(self.e, self.w, self.t, workers=1)


class PTau:
    """Eq. (5), P(tau) of the unitary class, at n points of a tau x gamma grid."""

    params = ([64, 1024],)
    param_names = ["n"]

    def setup(self, n):
        rng = np.random.default_rng(2)
        self.tau = np.geomspace(1e-3, 1e2, n)
        self.gamma = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), n))

    def time_p_tau(self, n):
        fk.theory.p_tau(self.tau, self.gamma, workers=1)


class PRes:
    """Eq. (4), P_res(gamma), at n points."""

    params = ([1000, 100_000],)
    param_names = ["n"]

    def setup(self, n):
        self.gamma = np.geomspace(1e-6, 1e6, n)

    def time_p_res(self, n):
        fk.theory.p_res(self.gamma, workers=1)


class Realisation:
    """One realisation of the level-dot model, Eq. (1): eigenvalues and weights."""

    params = (["GUE", "GOE", "GSE"], ["secular", "dense"], [200] if SMOKE else [200, 1000])
    param_names = ["symmetry", "method", "N"]

    def setup(self, symmetry, method, N):
        self.model = fk.LevelDotModel(N, 5.0 / N, symmetry)
        self.rng = np.random.default_rng(3)

    def time_sample(self, symmetry, method, N):
        self.model.sample(1, rng=self.rng, method=method)


class SimulateChunk:
    """simulate(): one chunk (32 samples, the default chunk size), 200 times tau."""

    params = ([200, 1000],)
    param_names = ["N"]

    def setup(self, N):
        self.model = fk.LevelDotModel(N, 5.0 / N, "GUE")
        self.tau = np.geomspace(1e-3, 10.0, 200)

    def time_simulate_chunk(self, N):
        fk.simulate(self.model, self.tau, 32, rng=4, workers=1)


class ReproduceQuick:
    """``fgrkern reproduce --quick --no-plot`` (all Figure 2 curves), samples per curve."""

    params = ([20] if SMOKE else [20, 200],)
    param_names = ["samples"]
    timeout = 600.0

    def setup(self, samples):
        from fgrkern.figure2 import Figure2Config

        self.cfg = Figure2Config.from_preset("quick", samples=samples, workers=1)
        self.out = tempfile.mkdtemp(prefix="fgrkern-asv-")

    def teardown(self, samples):
        shutil.rmtree(self.out, ignore_errors=True)

    def time_reproduce(self, samples):
        from fgrkern.figure2 import reproduce

        reproduce(self.cfg, self.out, plot=False, progress=False)
