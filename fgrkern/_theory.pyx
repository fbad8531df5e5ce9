# cython: language_level=3
"""Private: Cython wrappers of the C theory kernels (src_c/fgr_theory.c).

Validation, broadcasting and threading live in :mod:`fgrkern.theory`; these
functions take C-contiguous float64 arrays of equal length and fill ``out``
for the index range [start, stop) with the GIL released.
"""

cdef extern from "fgr_theory.h" nogil:
    void fgr_bessel_i01e(double z, double *i0e, double *i1e, double *dif)
    double fgr_p_res(double gamma)
    double fgr_p_tau(double tau, double gamma)
    double fgr_p_tau_fine(double tau, double gamma)
    long fgr_p_tau_cost(double tau, double gamma)
    double fgr_p_tau_tune(double tau, double gamma, const double *p, long *cost)


def p_res_range(const double[::1] gamma, double[::1] out, Py_ssize_t start, Py_ssize_t stop):
    """out[i] = P_res(gamma[i]), Eq. (4), for start <= i < stop."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(start, stop):
            out[i] = fgr_p_res(gamma[i])


def p_tau_range(const double[::1] tau, const double[::1] gamma, double[::1] out,
                Py_ssize_t start, Py_ssize_t stop):
    """out[i] = P(tau[i]; gamma[i]), Eq. (5), for start <= i < stop.

    tau[i] >= 0 finite and gamma[i] > 0 finite (NaN otherwise).
    """
    cdef Py_ssize_t i
    with nogil:
        for i in range(start, stop):
            out[i] = fgr_p_tau(tau[i], gamma[i])


def p_tau_fine_range(const double[::1] tau, const double[::1] gamma, double[::1] out,
                     Py_ssize_t start, Py_ssize_t stop):
    """As p_tau_range with the refined reference rule (tests only)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(start, stop):
            out[i] = fgr_p_tau_fine(tau[i], gamma[i])


def p_tau_cost(double tau, double gamma):
    """Number of Bessel-kernel evaluations of one p_tau call."""
    return fgr_p_tau_cost(tau, gamma)


def bessel_i01e(const double[::1] z, double[::1] i0e, double[::1] i1e, double[::1] dif):
    """exp(-z) I0(z), exp(-z) I1(z) and their difference, for z >= 0 (for tests)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(z.shape[0]):
            fgr_bessel_i01e(z[i], &i0e[i], &i1e[i], &dif[i])



def p_tau_tune(const double[::1] tau, const double[::1] gamma, const double[::1] p, double[::1] out):
    """As p_tau_range (all points) with the rule parameters p (22 numbers, in
    the order of the quad_rule fields in src_c/fgr_theory.c): for tuning."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(tau.shape[0]):
            out[i] = fgr_p_tau_tune(tau[i], gamma[i], &p[0], NULL)


def p_tau_tune_cost(double tau, double gamma, const double[::1] p):
    """Kernel evaluations of p_tau_tune at one point."""
    cdef long c = 0
    fgr_p_tau_tune(tau, gamma, &p[0], &c)
    return c
