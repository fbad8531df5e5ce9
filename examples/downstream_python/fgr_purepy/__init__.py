"""Example downstream package: the Golden Rule residence estimate next to Eq. (4)."""
import numpy as np
import fgrkern as fk

__all__ = ["residence_table"]


def residence_table(gamma):
    """Rows (gamma, P_res(gamma) of Eq. (4), Golden Rule estimate 1/gamma).

    Parameters
    ----------
    gamma : array_like
        gamma = gN > 0.

    Returns
    -------
    ndarray, shape (len(gamma), 3)
    """
    g = np.atleast_1d(np.asarray(gamma, dtype=np.float64))
    return np.column_stack([g, fk.theory.p_res(g), 1.0 / g])
