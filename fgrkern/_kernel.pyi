import numpy as np
import numpy.typing as npt

FAST_PHASE_LIMIT: float
ANCHOR_PERIOD: int

def survival_rows(
    energies: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    start: int,
    stop: int,
    uniform: bool,
    dt: float,
) -> None: ...
def ipr_rows(weights: npt.NDArray[np.float64], out: npt.NDArray[np.float64], start: int, stop: int) -> None: ...
def sincos(x: npt.NDArray[np.float64], s: npt.NDArray[np.float64], c: npt.NDArray[np.float64]) -> None: ...
