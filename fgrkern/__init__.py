"""fgrkern: the emergence of Fermi's Golden Rule, exact and fast.

Theory curves of Micklitz, Morningstar, Altland and Huse, PRL 129, 140402
(2022), ensemble-averaged numerics of the level-dot model for every symmetry
class, their extrapolation to N -> infinity at fixed gamma, and the
eigenpair-sum kernel P(t) = |sum_a w_a exp(-i e_a t)|^2.
"""

from ._version import __version__
from .kernel import survival_probability
from .model import LevelDotModel, SampleableModel, Spectrum
from .result import SimulationResult
from .simulation import CheckpointWriteWarning, SimulationError, simulate
from .extrapolate import extrapolate
from . import theory

__all__ = [
    "__version__",
    "survival_probability",
    "LevelDotModel",
    "SampleableModel",
    "Spectrum",
    "simulate",
    "SimulationError",
    "CheckpointWriteWarning",
    "SimulationResult",
    "extrapolate",
    "theory",
]
