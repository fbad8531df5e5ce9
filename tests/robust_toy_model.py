"""A minimal stand-in model for exercising fgrkern.simulate's driver.

simulate() accepts any object following ``fgrkern.model.SampleableModel``:
``sample(size, rng=, method=)``, ``t_from_tau(tau)``, ``with_g(g)`` and
``to_dict()``.  Robustness tests of the driver (interrupts,
checkpoints, threads, hostile arguments) use this model so that they do not
depend on the sampler and can make one chunk as slow as they need: the
cost sits in ``survival_probability`` (``M`` levels on the caller's grid).
Its levels are i.i.d. normal and its weights a flat Dirichlet draw: not a
physical model, only a deterministic function of the generator.

Loaded with ``runpy.run_path`` because the test folder is not a package.
"""

from __future__ import annotations

import types

import numpy as np


class ToyModel:
    def __init__(self, n: int = 63, g: float = 0.1) -> None:
        self.n = n
        self.g = g
        self.symmetry = "GUE"
        self.lam = 1.0

    def with_g(self, g: float) -> "ToyModel":
        return ToyModel(self.n, g)

    def to_dict(self) -> dict:
        return {"class": "ToyModel", "n": self.n, "g": self.g}

    def t_from_tau(self, tau):
        return np.asarray(tau, dtype=np.float64) * (2.0 * self.n / self.lam)

    def sample(self, size, rng=None, method="secular"):
        rng = np.random.default_rng(rng)
        e = rng.normal(size=(size, self.n + 1))
        w = rng.dirichlet(np.ones(self.n + 1), size=size)
        return types.SimpleNamespace(energies=e, weights=w)
