"""Example downstream package: fgrkern's C kernels called from its own nogil loops."""
from ._ext import arrowhead_survival, p_res_many, p_tau_many, survival_many

__all__ = ["arrowhead_survival", "p_res_many", "p_tau_many", "survival_many"]
