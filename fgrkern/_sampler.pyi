from typing import Callable

import numpy as np
import numpy.typing as npt

def arrowhead(
    d: npt.NDArray[np.float64], z2: npt.NDArray[np.float64], alpha: float, scalar: bool = False
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.intp]]: ...
def arrowhead_rows(
    poles: npt.NDArray[np.float64],
    z2: npt.NDArray[np.float64],
    alpha: float,
    e: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    scalar: bool = False,
) -> None: ...
def tridiag_eigvals_rows(
    diag: npt.NDArray[np.float64],
    off: npt.NDArray[np.float64],
    lapack: bool = False,
    scalar: int = False,
    check: Callable[[], object] | None = None,
    slice_steps: int = ...,
) -> None: ...
def syevr_first_row(
    a: npt.NDArray[np.float64], evals: npt.NDArray[np.float64], w0: npt.NDArray[np.float64]
) -> None: ...
def heevr_first_row(
    a: npt.NDArray[np.complex128], evals: npt.NDArray[np.float64], w0: npt.NDArray[np.float64]
) -> None: ...
