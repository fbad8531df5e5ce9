import numpy as np
import numpy.typing as npt

def p_res_range(
    gamma: npt.NDArray[np.float64], out: npt.NDArray[np.float64], start: int, stop: int
) -> None: ...
def p_tau_range(
    tau: npt.NDArray[np.float64],
    gamma: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    start: int,
    stop: int,
) -> None: ...
def p_tau_fine_range(
    tau: npt.NDArray[np.float64],
    gamma: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    start: int,
    stop: int,
) -> None: ...
def p_tau_cost(tau: float, gamma: float) -> int: ...
def bessel_i01e(
    z: npt.NDArray[np.float64],
    i0e: npt.NDArray[np.float64],
    i1e: npt.NDArray[np.float64],
    dif: npt.NDArray[np.float64],
) -> None: ...
