# cython: language_level=3
"""Loops over many spectra / parameters, all without the GIL, that call
fgrkern's C-level API (no fgrkern header or library is needed to build this)."""
import numpy as np

from fgrkern.cython_api cimport (survival_grid, p_res, p_tau, arrowhead_solve,
                                 ARROWHEAD_OK)


def survival_many(const double[:, ::1] e, const double[:, ::1] w, const double[::1] t):
    """P[r, k] = |sum_a w[r, a] exp(-i e[r, a] t[k])|^2 for every row r."""
    cdef Py_ssize_t R = e.shape[0], M = e.shape[1], T = t.shape[0], r
    if w.shape[0] != R or w.shape[1] != M:
        raise ValueError("e and w must have the same shape")
    out = np.empty((R, T))
    cdef double[:, ::1] o = out
    if T == 0 or R == 0:
        return out
    with nogil:
        for r in range(R):
            survival_grid(&e[r, 0], &w[r, 0], M, &t[0], T, &o[r, 0])
    return out


def p_tau_many(const double[::1] tau, const double[::1] gamma):
    """P(tau[i]; gamma[i]), Eq. (5) (NaN outside its domain)."""
    cdef Py_ssize_t n = tau.shape[0], i
    if gamma.shape[0] != n:
        raise ValueError("tau and gamma must have the same length")
    out = np.empty(n)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = p_tau(tau[i], gamma[i])
    return out


def p_res_many(const double[::1] gamma):
    """P_res(gamma[i]), Eq. (4) (NaN for negative or NaN gamma)."""
    cdef Py_ssize_t n = gamma.shape[0], i
    out = np.empty(n)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = p_res(gamma[i])
    return out


def arrowhead_survival(const double[::1] d, const double[::1] z2, double alpha,
                       const double[::1] t):
    """Eigenpairs of [[alpha, z^T], [z, diag(d)]] and P(t) of the level |0>.

    Returns (e, w, P); raises ValueError with the solver's status code.
    """
    cdef Py_ssize_t L = d.shape[0], T = t.shape[0]
    cdef int code
    if z2.shape[0] != L:
        raise ValueError("d and z2 must have the same length")
    e = np.empty(L + 1)
    w = np.empty(L + 1)
    P = np.empty(T)
    cdef double[::1] ev = e, wv = w, pv = P
    with nogil:
        code = arrowhead_solve(L, &d[0] if L else NULL, &z2[0] if L else NULL, alpha,
                               &ev[0], &wv[0])
        if code == ARROWHEAD_OK and T > 0:
            survival_grid(&ev[0], &wv[0], L + 1, &t[0], T, &pv[0])
    if code != ARROWHEAD_OK:
        raise ValueError(f"arrowhead_solve failed with status {code}")
    return e, w, P
