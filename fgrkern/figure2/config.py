"""Sizes, seeds and the typed simulation tasks of a Figure 2 reproduction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DEFAULT_SEED", "GAMMAS_TAU", "GAMMA_SFF", "CLASSES", "LIMIT_SIZES", "ORDER2_GAMMA",
           "Figure2Config", "Family", "families"]

#: Default seed of ``fgrkern reproduce`` (the paper's publication date).
DEFAULT_SEED = 20220927
#: gamma of panels (a), (b), (c) (GUE, Eq. (5)).
GAMMAS_TAU = (46.0, 0.46, 0.022)
#: gamma of panel (e) (all three classes, Eq. (6)); its GUE curve is panel (a)'s.
GAMMA_SFF = 46.0
CLASSES = ("GOE", "GUE", "GSE")
#: Total sizes N + 1 of the N -> infinity extrapolation (``--limit``); the largest is the figure's.
LIMIT_SIZES = (250, 500, 1000)
#: Couplings above this gamma are extrapolated with order 2 in 1/N, the others with order 1.
#: The neglected c2 (gamma/N)^2 term (c2 = 0.3..0.6 measured, docs/theory/finite-n.md) biases the
#: order-1 intercept on N + 1 = 250/500/1000 by about -5 c2 (gamma/999)^2 relative: 0.35 % at
#: gamma = 46 (about 2 standard errors at 10^4 samples), 0.07 % at gamma = 20 (0.3 of one).
ORDER2_GAMMA = 20.0
#: Stream id of each symmetry class: the seed of a family is SeedSequence(seed, spawn_key=(id, N)).
FAMILY_IDS = {"GUE": 1, "GOE": 2, "GSE": 3}

_PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(samples=200, n_gamma_res=9),
    "default": dict(samples=600),
    "paper": dict(samples=10_000),
}


@dataclass(frozen=True)
class Figure2Config:
    """Sizes of one reproduction run.

    Attributes
    ----------
    n : int
        Dot states N for GUE/GOE (N + 1 = 1000 by default); GSE uses the even
        N - (N mod 2).
    samples : int
        Realisations per family: every GUE coupling (panels a-d, and e's GUE
        curve) shares them, GOE and GSE have as many each.
    n_gamma_res : int
        Number of log-spaced gammas in [1e-2, 1e2] for panel (d).
    tau_min, tau_max, n_tau : float, float, int
        Log-spaced time grid tau = t/t_H of panels (a)-(c), (e).
    seed : int
        Root seed: each family (class and size N) draws from
        ``SeedSequence(seed, spawn_key=(class, N))``, so its numbers do not depend on
        which other families are run.
    workers : int or None
        Worker threads (None: all usable cores); the numbers do not depend on it.
    preset : str
        Name of the preset the sizes came from ("quick", "default", "paper"), with
        ", samples=K" appended when the sample count was overridden.
    limit : bool
        Also simulate every family at the smaller sizes ``limit_sizes`` and
        extrapolate to N -> infinity (``fgrkern reproduce --limit``).
    limit_sizes : tuple of int
        Total sizes N + 1 of the extrapolation; ``n + 1`` must be the largest.
    """

    n: int = 999
    samples: int = 600
    n_gamma_res: int = 20
    tau_min: float = 1e-4
    tau_max: float = 1e2
    n_tau: int = 241
    seed: int = DEFAULT_SEED
    workers: int | None = None
    preset: str = "default"
    limit: bool = False
    limit_sizes: tuple[int, ...] = field(default=LIMIT_SIZES)

    def __post_init__(self) -> None:
        if self.n < 2:
            raise ValueError(f"n must be >= 2 (GSE needs one Kramers doublet), got {self.n}")
        if self.samples < 2:
            raise ValueError(f"samples must be >= 2 (a standard error needs two realisations), got {self.samples}")
        if self.n_gamma_res < 1:
            raise ValueError(f"n_gamma_res must be >= 1, got {self.n_gamma_res}")
        if self.limit:
            sizes = tuple(int(s) for s in self.limit_sizes)
            if len(set(sizes)) < 3 or max(sizes) != self.n + 1 or min(sizes) < 4:
                raise ValueError(f"limit_sizes must be 3 or more distinct sizes N + 1 >= 4 whose largest is "
                                 f"n + 1 = {self.n + 1}, got {self.limit_sizes}")
            # GSE runs the even N - (N mod 2): sizes that round together would leave the
            # extrapolation short of a size, found only after every simulation.
            gse = {(s - 1) - (s - 1) % 2 for s in sizes}
            if len(gse) < len(set(sizes)):
                raise ValueError(f"limit_sizes {self.limit_sizes}: GSE rounds N = size - 1 down to an even "
                                 f"number, and two sizes give the same GSE size; use sizes that differ by 2 or more")

    @classmethod
    def from_preset(cls, name: str = "default", *, samples: int | None = None, n: int | None = None,
                    seed: int = DEFAULT_SEED, workers: int | None = None, limit: bool = False,
                    limit_sizes: tuple[int, ...] | None = None) -> "Figure2Config":
        """The "quick", "default" or "paper" (10^4 samples, like the paper) sizes.

        ``samples`` overrides the count per family; the other sizes stay those of
        the preset.  With ``limit`` and a non-default ``n``, the extrapolation
        sizes default to (n + 1)/4, (n + 1)/2 and n + 1.
        """
        if name not in _PRESETS:
            raise ValueError(f"unknown preset {name!r}: expected quick, default or paper")
        kw: dict[str, Any] = dict(_PRESETS[name])
        if samples is not None:
            kw["samples"] = int(samples)
            name = f"{name}, samples={int(samples)}"
        if n is not None:
            kw["n"] = int(n)
        total = kw.get("n", cls.n) + 1
        if limit_sizes is None:
            if limit and total < 16:
                raise ValueError(f"--limit needs n + 1 >= 16 (it also runs (n + 1)/4 and (n + 1)/2 states), got n = {total - 1}")
            limit_sizes = LIMIT_SIZES if total == 1000 else (total // 4, total // 2, total)
        return cls(seed=seed, workers=workers, preset=name, limit=limit, limit_sizes=tuple(limit_sizes), **kw)

    def tau(self) -> np.ndarray:
        """The time grid tau = t/t_H of panels (a)-(c) and (e): ``n_tau`` log-spaced points."""
        return np.geomspace(self.tau_min, self.tau_max, self.n_tau)

    def gammas_res(self) -> np.ndarray:
        """The couplings gamma = g N of panel (d): ``n_gamma_res`` log-spaced points in [1e-2, 1e2]."""
        return np.geomspace(1e-2, 1e2, self.n_gamma_res)

    def gue_gammas(self) -> np.ndarray:
        """Every GUE coupling: panels (a), (b), (c) (indices 0-2; (a) is also e's GUE), then (d)."""
        return np.concatenate([GAMMAS_TAU, self.gammas_res()])

    def sizes(self) -> tuple[int, ...]:
        """Dot-state counts N (before the GSE rounding) simulated: the extrapolation sizes or just n."""
        if not self.limit:
            return (self.n,)
        return tuple(sorted(int(s) - 1 for s in set(self.limit_sizes)))


@dataclass(frozen=True)
class Family:
    """One ``simulate`` call: a symmetry class at one size N with all its couplings.

    Couplings of one family share every random number (common random numbers).
    The stream is ``SeedSequence(seed, spawn_key=(FAMILY_IDS[symmetry], n))``:
    independent of the workers, of the preset and of the other families, so
    every size of an extrapolation is an independent run.
    """

    symmetry: str
    n: int
    gammas: tuple[float, ...]
    samples: int

    @property
    def key(self) -> str:
        return f"{self.symmetry} N={self.n}"

    def seed(self, root: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(root, spawn_key=(FAMILY_IDS[self.symmetry], self.n))


def families(cfg: Figure2Config) -> list[Family]:
    """The simulate calls of a run: GUE (all couplings), GOE and GSE at every size, largest last."""
    out = []
    for n in cfg.sizes():
        out.append(Family("GUE", n, tuple(float(g) for g in cfg.gue_gammas()), cfg.samples))
        out.append(Family("GOE", n, (GAMMA_SFF,), cfg.samples))
        out.append(Family("GSE", n - n % 2, (GAMMA_SFF,), cfg.samples))
    return out
