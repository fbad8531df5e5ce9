from typing import Callable, Literal

import numpy as np
import numpy.typing as npt

Path = Literal["auto", "scalar", "generic", "avx2", "avx512"]

def paths() -> list[str]: ...
def resolve_path(path: Path = "auto") -> str: ...
def set_auto_path(path: Path = "auto") -> None: ...
def set_avx512_reciprocal(mode: Literal["auto", "divide", "estimate"] = "auto") -> None: ...
def arrowhead(
    d: npt.NDArray[np.float64], z2: npt.NDArray[np.float64], alpha: float, path: Path = "auto"
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.intp]]: ...
def arrowhead_rows(
    poles: npt.NDArray[np.float64],
    z2: npt.NDArray[np.float64],
    alpha: float,
    e: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    path: Path = "auto",
) -> None: ...
def arrowhead_rows_scaled(
    poles: npt.NDArray[np.float64],
    u2: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    alpha: float,
    e: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    path: Path = "auto",
    min_l: int = -1,
) -> None: ...
def tridiag_eigvals_rows(
    diag: npt.NDArray[np.float64],
    off: npt.NDArray[np.float64],
    lapack: bool = False,
    path: Path | Literal["cycle"] = "auto",
    check: Callable[[], object] | None = None,
    slice_steps: int = ...,
) -> None: ...
def syevr_first_row(
    a: npt.NDArray[np.float64], evals: npt.NDArray[np.float64], w0: npt.NDArray[np.float64]
) -> None: ...
def heevr_first_row(
    a: npt.NDArray[np.complex128], evals: npt.NDArray[np.float64], w0: npt.NDArray[np.float64]
) -> None: ...
