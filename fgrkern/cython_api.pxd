# Public C-level API of fgrkern for downstream Cython code.
#
#     from fgrkern.cython_api cimport survival_grid, p_res, p_tau
#
# Every function is `noexcept nogil`, reentrant and thread-safe (no global
# state), so it may be called from a `prange` or any `with nogil` block.
# Invalid input never raises or crashes: it gives NaN (or a negative status
# code for arrowhead_solve), as documented in fgrkern/cython_api.pyx.
#
# The functions are implemented in the extension module fgrkern.cython_api;
# Cython reaches them through the function pointers that module exports in
# its __pyx_capi__ (the mechanism of scipy.linalg.cython_lapack), so a
# downstream extension needs neither fgrkern's C headers nor its libraries:
# only this file at compile time and `import fgrkern.cython_api` at run time
# (done automatically by the generated module's import code).

# Eigenpair-sum kernel, P(t_k) = |sum_a w_a exp(-i e_a t_k)|^2 for one
# realisation (the single-realisation content of Eq. 2).  Identical bits to
# fgrkern.survival_probability(e, w, t) (grid="auto").
cdef void survival_grid(const double *e, const double *w, Py_ssize_t M,
                        const double *t, Py_ssize_t T, double *out) noexcept nogil
# Same, always on the general-grid path: fgrkern.survival_probability(..., grid="general").
cdef void survival_grid_general(const double *e, const double *w, Py_ssize_t M,
                                const double *t, Py_ssize_t T, double *out) noexcept nogil
# Inverse participation ratio sum_a w_a^2 (the t -> infinity limit of P).
cdef double ipr(const double *w, Py_ssize_t M) noexcept nogil

# Theory: Eq. (4) and Eq. (5) of Micklitz et al., PRL 129, 140402 (2022).
cdef double p_res(double gamma) noexcept nogil
cdef double p_tau(double tau, double gamma) noexcept nogil
# Spectral form factor K_X(tau) and the large-gamma curve of Eq. (6);
# beta = 1 (GOE), 2 (GUE) or 4 (GSE).
cdef double form_factor(double tau, int beta) noexcept nogil
cdef double p_sff(double tau, double gamma, int beta) noexcept nogil

# Arrowhead (secular-equation) eigensolver: the L + 1 ascending eigenvalues e
# and weights w = |<a|0>|^2 of [[alpha, z^T], [z, diag(d)]], d ascending,
# z2 = |z|^2.  Returns 0 on success, < 0 on invalid or unscalable input or no memory.
cdef int arrowhead_solve(Py_ssize_t L, const double *d, const double *z2, double alpha,
                         double *e, double *w) noexcept nogil

# Status codes of arrowhead_solve.
cpdef enum:
    ARROWHEAD_OK = 0
    ARROWHEAD_BAD_POLES = -1
    ARROWHEAD_BAD_COUPLING = -2
    ARROWHEAD_BAD_ALPHA = -3
    ARROWHEAD_RANGE = -4
    ARROWHEAD_NO_MEMORY = -5
    ARROWHEAD_BAD_SIZE = -6
    # a coupling ~1e-154 of the largest energy that is not negligible: the
    # solver's scaling cannot represent the problem
    ARROWHEAD_SCALE = -7
    ARROWHEAD_NOT_CONVERGED = 1
