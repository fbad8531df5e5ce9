# cython: language_level=3
"""Private: Cython wrappers of the C theory kernels (src_c/fgr_theory.c).

Validation, broadcasting and threading live in :mod:`fgrkern.theory`; these
functions take C-contiguous float64 arrays of equal length and fill ``out``
for the index range [start, stop) with the GIL released.
"""

from fgrkern._cdefs cimport fgr_bessel_i01e, fgr_p_res, fgr_p_tau, fgr_p_tau_fine

cdef _check_range(Py_ssize_t start, Py_ssize_t stop, Py_ssize_t n, Py_ssize_t n_out):
    # boundscheck is off in this module: a bad range would read or write out of bounds
    if n_out != n:
        raise ValueError(f"out has length {n_out}, the inputs {n}")
    if not 0 <= start <= stop <= n:
        raise ValueError(f"index range [{start}, {stop}) is outside [0, {n})")


def p_res_range(const double[::1] gamma, double[::1] out, Py_ssize_t start, Py_ssize_t stop):
    """out[i] = P_res(gamma[i]), Eq. (4), for start <= i < stop."""
    cdef Py_ssize_t i
    _check_range(start, stop, gamma.shape[0], out.shape[0])
    with nogil:
        for i in range(start, stop):
            out[i] = fgr_p_res(gamma[i])


def p_tau_range(const double[::1] tau, const double[::1] gamma, double[::1] out,
                Py_ssize_t start, Py_ssize_t stop):
    """out[i] = P(tau[i]; gamma[i]), Eq. (5), for start <= i < stop.

    tau[i] >= 0 finite and gamma[i] > 0 finite (NaN otherwise).
    """
    cdef Py_ssize_t i
    if gamma.shape[0] != tau.shape[0]:
        raise ValueError(f"tau and gamma lengths differ ({tau.shape[0]}, {gamma.shape[0]})")
    _check_range(start, stop, tau.shape[0], out.shape[0])
    with nogil:
        for i in range(start, stop):
            out[i] = fgr_p_tau(tau[i], gamma[i])


def p_tau_fine_range(const double[::1] tau, const double[::1] gamma, double[::1] out,
                     Py_ssize_t start, Py_ssize_t stop):
    """As p_tau_range with the refined reference rule (tests only)."""
    cdef Py_ssize_t i
    if gamma.shape[0] != tau.shape[0]:
        raise ValueError(f"tau and gamma lengths differ ({tau.shape[0]}, {gamma.shape[0]})")
    _check_range(start, stop, tau.shape[0], out.shape[0])
    with nogil:
        for i in range(start, stop):
            out[i] = fgr_p_tau_fine(tau[i], gamma[i])


def bessel_i01e(const double[::1] z, double[::1] i0e, double[::1] i1e, double[::1] dif):
    """exp(-z) I0(z), exp(-z) I1(z) and their difference, for z >= 0 (for tests)."""
    cdef Py_ssize_t i, n = z.shape[0]
    if i0e.shape[0] != n or i1e.shape[0] != n or dif.shape[0] != n:
        raise ValueError(f"bessel_i01e: outputs must have the length of z ({n}), got "
                         f"{i0e.shape[0]}, {i1e.shape[0]}, {dif.shape[0]}")
    with nogil:
        for i in range(n):
            fgr_bessel_i01e(z[i], &i0e[i], &i1e[i], &dif[i])

