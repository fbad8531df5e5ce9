# The C-level API is for Cython (cimport, see cython_api.pxd); these are the
# few Python-visible names of the module (test drivers and constants).
from typing import Any

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]

__pyx_capi__: dict[str, Any]

UNIFORM_ULPS: float
BLOCK_WORK: int
P_TAU_MAX_TAU: float
P_TAU_MAX_GAMMA: float

ARROWHEAD_OK: int
ARROWHEAD_BAD_POLES: int
ARROWHEAD_BAD_COUPLING: int
ARROWHEAD_BAD_ALPHA: int
ARROWHEAD_RANGE: int
ARROWHEAD_NO_MEMORY: int
ARROWHEAD_BAD_SIZE: int
ARROWHEAD_SCALE: int
ARROWHEAD_NOT_CONVERGED: int

def _survival_grid(e: _F64, w: _F64, t: _F64, out: _F64, general: bool = ...) -> None: ...
def _ipr(w: _F64) -> float: ...
def _p_res(gamma: float) -> float: ...
def _p_tau(tau: float, gamma: float) -> float: ...
def _form_factor(tau: float, beta: int) -> float: ...
def _p_sff(tau: float, gamma: float, beta: int) -> float: ...
def _arrowhead_solve(d: _F64, z2: _F64, alpha: float, e: _F64, w: _F64) -> int: ...
