# cython: language_level=3
"""Private: Cython wrapper of the C eigenpair-sum kernel (src_c/fgr_kernel.c).

Validation, broadcasting and threading live in :mod:`fgrkern.kernel`; this
module assumes C-contiguous float64 input of consistent shape.
"""
from libc.stdlib cimport malloc, free

from fgrkern._cdefs cimport (fgr_sp_general, fgr_sp_uniform, fgr_sp_uniform_work, fgr_sp_general_work,
                             fgr_ipr, fgr_sincos_array, FGR_FAST_PHASE_LIMIT, FGR_ANCHOR_PERIOD)

FAST_PHASE_LIMIT = FGR_FAST_PHASE_LIMIT
ANCHOR_PERIOD = FGR_ANCHOR_PERIOD


cdef _check_range(Py_ssize_t start, Py_ssize_t stop, Py_ssize_t n, str what):
    if not 0 <= start <= stop <= n:
        raise ValueError(f"{what}: row range [{start}, {stop}) is outside [0, {n})")


def survival_rows(const double[:, ::1] energies, const double[:, ::1] weights,
                  const double[::1] t, double[:, ::1] out, Py_ssize_t start,
                  Py_ssize_t stop, bint uniform, double dt):
    """Fill out[r, :] = P(t) for rows start <= r < stop (GIL released)."""
    cdef Py_ssize_t M = energies.shape[1], T = t.shape[0], r
    cdef double *work
    cdef size_t nwork
    # boundscheck is off in this module: a mismatch would read or write out of bounds
    if weights.shape[0] != energies.shape[0] or weights.shape[1] != M:
        raise ValueError(f"survival_rows: weights shape ({weights.shape[0]}, {weights.shape[1]}) "
                         f"differs from energies ({energies.shape[0]}, {M})")
    if out.shape[1] != T:
        raise ValueError(f"survival_rows: out has {out.shape[1]} columns, t has {T} points")
    _check_range(start, stop, min(energies.shape[0], out.shape[0]), "survival_rows")
    if stop == start or T == 0:
        return
    if M < 1:
        raise ValueError("survival_rows: M = 0 eigenpairs")
    nwork = fgr_sp_uniform_work(M, T) if uniform else fgr_sp_general_work(M)
    work = <double *> malloc(nwork * sizeof(double))
    if work == NULL:
        raise MemoryError("survival_probability: cannot allocate scratch space")
    try:
        with nogil:
            for r in range(start, stop):
                if uniform:
                    fgr_sp_uniform(&energies[r, 0], &weights[r, 0], M, &t[0], T, dt,
                                   &out[r, 0], work)
                else:
                    fgr_sp_general(&energies[r, 0], &weights[r, 0], M, &t[0], T,
                                   &out[r, 0], work)
    finally:
        free(work)


def ipr_rows(const double[:, ::1] weights, double[::1] out, Py_ssize_t start, Py_ssize_t stop):
    """out[r] = sum_a w[r, a]^2 for start <= r < stop (GIL released)."""
    cdef Py_ssize_t M = weights.shape[1], r
    _check_range(start, stop, min(weights.shape[0], out.shape[0]), "ipr_rows")
    if M < 1 and stop > start:
        raise ValueError("ipr_rows: M = 0 weights")
    with nogil:
        for r in range(start, stop):
            out[r] = fgr_ipr(&weights[r, 0], M)


def sincos(const double[::1] x, double[::1] s, double[::1] c):
    """sin and cos of x with the kernel's own vectorised routine (for tests)."""
    if s.shape[0] != x.shape[0] or c.shape[0] != x.shape[0]:
        raise ValueError(f"sincos: outputs must have the length of x ({x.shape[0]})")
    if x.shape[0] == 0:
        return
    with nogil:
        fgr_sincos_array(&x[0], x.shape[0], &s[0], &c[0])
