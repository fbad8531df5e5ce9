# cython: language_level=3
"""C-level API of fgrkern for downstream Cython code (see cython_api.pxd).

Downstream code writes::

    from fgrkern.cython_api cimport survival_grid, p_res, p_tau

and calls these functions without the GIL, e.g. inside ``prange``.  They are
the same C kernels the Python API runs, so for valid input they return the
same bits as the Python functions named in each docstring.  Instead of
raising, invalid input yields NaN (``arrowhead_solve``: a negative status).

The functions are exported as C function pointers in this module's
``__pyx_capi__`` (like :mod:`scipy.linalg.cython_lapack`); a downstream
extension needs only the installed ``fgrkern/cython_api.pxd`` to compile and
imports this module at run time.  The Python-level names defined here exist
only to let the test suite drive every C entry point.
"""
from libc.math cimport NAN, INFINITY, fabs, isfinite, isnan, exp, log, log1p, atanh, sqrt
from libc.float cimport DBL_EPSILON, DBL_MAX
from libc.stdlib cimport malloc, free

from fgrkern._cdefs cimport (fgr_sp_general, fgr_sp_uniform, fgr_sp_uniform_work, fgr_sp_general_work,
                             fgr_ipr, FGR_ANCHOR_PERIOD, fgr_p_res, fgr_p_tau, fgr_arrowhead_solve,
                             FGR_SEC_WORK, FGR_SEC_IWORK, FGR_SEC_SCALE)

# These mirror fgrkern.kernel and fgrkern.theory (tests/test_extending.py
# checks the values): the uniform-grid tolerance in ulps of max|t|, the work
# per compiled call above which a row is cut into time blocks (the split
# changes the uniform path's bits, so it must be the same split), the largest
# weight sum whose square fits a double, and the validated box of Eq. (5).
# (C globals set once at import, read-only afterwards: thread-safe.)
cdef double _UNIFORM_ULPS = 8.0
cdef double _P_TAU_MAX_TAU = 1e6
cdef double _P_TAU_MAX_GAMMA = 1e100
cdef enum:
    _BLOCK_WORK = 4194304
    # the general path's scratch, 2 min(M, 256) doubles, fits on the stack
    _GENERAL_WORK = 512

UNIFORM_ULPS = _UNIFORM_ULPS
BLOCK_WORK = _BLOCK_WORK
P_TAU_MAX_TAU = _P_TAU_MAX_TAU
P_TAU_MAX_GAMMA = _P_TAU_MAX_GAMMA


cdef inline void _fill_nan(double *out, Py_ssize_t T) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(T):
        out[k] = NAN


cdef bint _valid_row(const double *e, const double *w, Py_ssize_t M,
                     const double *t, Py_ssize_t T) noexcept nogil:
    """The checks of fgrkern.survival_probability, for one row."""
    cdef Py_ssize_t a, k
    cdef double emax = 0.0, tmax = 0.0, wsum = 0.0
    if M < 1 or e == NULL or w == NULL or t == NULL:
        return False
    for a in range(M):
        if not isfinite(e[a]) or not isfinite(w[a]) or w[a] < 0.0:
            return False
        emax = max(emax, fabs(e[a]))
        wsum += w[a]
    for k in range(T):
        if not isfinite(t[k]):
            return False
        tmax = max(tmax, fabs(t[k]))
    if not isfinite(emax * tmax):
        return False  # the phases e t are not representable
    # P(0) = (sum w)^2 must fit a double (factor 2 of room for re^2 + im^2)
    return wsum <= sqrt(DBL_MAX / 2.0)


cdef void survival_grid_general(const double *e, const double *w, Py_ssize_t M,
                                const double *t, Py_ssize_t T, double *out) noexcept nogil:
    """P(t_k) = |sum_a w_a exp(-i e_a t_k)|^2, k < T, sin/cos at every point.

    Same bits as ``fgrkern.survival_probability(e, w, t, grid="general")``
    (every point is computed independently, so the Python API's blocking does
    not matter).  NaN in every ``out[k]`` when M < 1, a pointer is NULL, a
    value is NaN/inf, a weight is negative, max|e| max|t| overflows or
    (sum w)^2 overflows.  Nothing is written when T <= 0 or ``out`` is NULL.
    """
    cdef double work[_GENERAL_WORK]
    if T <= 0 or out == NULL:
        return
    if not _valid_row(e, w, M, t, T):
        _fill_nan(out, T)
        return
    fgr_sp_general(e, w, M, t, T, out, work)


cdef bint _uniform_step(const double *t, Py_ssize_t T, double *dt) noexcept nogil:
    """As fgrkern.kernel._uniform_step: dt if t is uniform to 8 ulps of max|t|."""
    cdef Py_ssize_t k
    cdef double step, dev = 0.0, scale = 0.0
    if T < 3:
        return False
    step = (t[T - 1] - t[0]) / <double>(T - 1)
    if step == 0.0:
        return False
    for k in range(T):
        dev = max(dev, fabs(t[k] - (t[0] + <double>k * step)))
        scale = max(scale, fabs(t[k]))
    if dev <= _UNIFORM_ULPS * DBL_EPSILON * scale:
        dt[0] = step
        return True
    return False


cdef void survival_grid(const double *e, const double *w, Py_ssize_t M,
                        const double *t, Py_ssize_t T, double *out) noexcept nogil:
    """P(t_k) = |sum_a w_a exp(-i e_a t_k)|^2, k < T, for one realisation.

    On a uniform grid (T >= 3, t uniform to 8 ulps of max|t|) the phasors are
    factorised as in ``fgrkern.survival_probability`` (grid="auto"), with the
    same time blocks, so the result has the same bits; otherwise this is
    :c:func:`survival_grid_general`.  Invalid input: as there (NaN out); NaN
    also if the scratch space cannot be allocated.
    """
    cdef double dt = 0.0
    cdef double *work
    cdef Py_ssize_t period, tblock, k0, k1
    if T <= 0 or out == NULL:
        return
    if not _valid_row(e, w, M, t, T):
        _fill_nan(out, T)
        return
    if not _uniform_step(t, T, &dt):
        survival_grid_general(e, w, M, t, T, out)
        return
    period = FGR_ANCHOR_PERIOD
    tblock = max(period, _BLOCK_WORK // M // period * period)
    tblock = min(tblock, T)
    work = <double *> malloc(fgr_sp_uniform_work(M, tblock) * sizeof(double))
    if work == NULL:
        _fill_nan(out, T)
        return
    k0 = 0
    while k0 < T:
        k1 = min(T, k0 + tblock)
        fgr_sp_uniform(e, w, M, t + k0, k1 - k0, dt, out + k0, work)
        k0 = k1
    free(work)


cdef double ipr(const double *w, Py_ssize_t M) noexcept nogil:
    """sum_a w_a^2 (``survival_probability(..., return_ipr=True)[1]``); NaN if M < 1 or w is NULL."""
    if M < 1 or w == NULL:
        return NAN
    return fgr_ipr(w, M)


cdef double p_res(double gamma) noexcept nogil:
    """Eq. (4), P_res(gamma): same bits as ``fgrkern.theory.p_res``.

    gamma >= 0 (inf gives 0); NaN for NaN or negative gamma.
    """
    if isnan(gamma) or gamma < 0.0:
        return NAN
    return fgr_p_res(gamma)


cdef double p_tau(double tau, double gamma) noexcept nogil:
    """Eq. (5), P(tau) of the unitary class: same bits as ``fgrkern.theory.p_tau``.

    P is even in tau; tau = 0 or gamma = 0 give 1, gamma = inf gives 0
    (tau != 0), tau = +-inf gives Eq. (4).  NaN for NaN tau, negative or NaN
    gamma, and finite arguments outside the validated box |tau| <= 1e6,
    gamma <= 1e100 (where the Python API raises).
    """
    if isnan(tau) or isnan(gamma) or gamma < 0.0:
        return NAN
    tau = fabs(tau)
    if tau == 0.0 or gamma == 0.0:
        return 1.0
    if gamma == INFINITY:
        return 0.0
    if tau == INFINITY:
        return fgr_p_res(gamma)
    if tau > _P_TAU_MAX_TAU or gamma > _P_TAU_MAX_GAMMA:
        return NAN
    return fgr_p_tau(tau, gamma)


cdef double form_factor(double tau, int beta) noexcept nogil:
    """Spectral form factor K_X(tau), K(inf) = 1, as ``fgrkern.theory.form_factor``.

    beta = 1 (GOE), 2 (GUE), 4 (GSE); even in tau; +inf at the GSE
    singularity tau = 1/2.  NaN for NaN tau or another beta.  Same formulas
    as the Python function; numpy's vectorised log1p/arctanh may differ from
    the C library's by an ulp or two (within 4e-16 relative).
    """
    if isnan(tau) or not (beta == 1 or beta == 2 or beta == 4):
        return NAN
    tau = fabs(tau)
    if tau >= 1.0:
        # beyond 2**26 K_GOE rounds to 1 (see fgrkern.theory.form_factor)
        if beta == 1 and tau < 67108864.0:
            # ln((2t+1)/(2t-1)) = 2 atanh(1/(2t)): no cancellation at large t
            return 2.0 - 2.0 * tau * atanh(0.5 / tau)
        return 1.0
    if beta == 2:
        return tau
    if beta == 1:
        return 2.0 * tau - tau * log1p(2.0 * tau)
    if tau == 0.5:
        return INFINITY
    # ln|1 - 2 tau|: log1p below 1/2 (accurate at small tau), log above
    return tau - 0.5 * tau * (log1p(-2.0 * tau) if tau < 0.5 else log(2.0 * tau - 1.0))


cdef double p_sff(double tau, double gamma, int beta) noexcept nogil:
    """Eq. (6), exp(-4 gamma tau) + (a_X + b_X K_X(tau)) / (2 gamma), as ``fgrkern.theory.p_sff``.

    gamma > 0 (inf allowed); +inf at the GSE singularity tau = 1/2 (every
    gamma); NaN for NaN tau, gamma <= 0 or NaN, another beta, or a gamma so
    small that 1/(2 gamma) overflows.
    """
    cdef double a, b, k, decay, corr
    if isnan(tau) or isnan(gamma) or not gamma > 0.0:
        return NAN
    if beta == 2:
        a, b = 1.0, 1.0
    elif beta == 1:
        a, b = 2.0, 1.0
    elif beta == 4:
        a, b = 1.0, 2.0
    else:
        return NAN
    tau = fabs(tau)
    k = form_factor(tau, beta)
    decay = 1.0 if tau == 0.0 else exp(-4.0 * (gamma * tau))
    if k == INFINITY:
        return INFINITY  # the GSE singularity at tau = 1/2, for gamma = inf too (not inf/inf)
    corr = ((a + b * k) / 2.0) / gamma
    if corr == INFINITY:
        return NAN
    return decay + corr


cdef int arrowhead_solve(Py_ssize_t L, const double *d, const double *z2, double alpha,
                         double *e, double *w) noexcept nogil:
    """Eigenvalues (ascending) and weights |<a|0>|^2 of [[alpha, z^T], [z, diag(d)]].

    ``d[0..L-1]`` ascending, ``z2 = |z|^2 >= 0``; ``e``, ``w`` receive L + 1
    values: the sampler's one-coupling solver (``LevelDotModel.sample`` uses it
    below 240 bath levels and the far-field variant for several couplings, equal
    to rounding, above).
    Returns ARROWHEAD_OK (0); ARROWHEAD_BAD_POLES / _BAD_COUPLING /
    _BAD_ALPHA / _RANGE / _NO_MEMORY / _BAD_SIZE / _SCALE (< 0) on invalid
    input, an eigenvalue beyond the double range, no memory, L < 0 / a NULL
    pointer, or a coupling ~1e-154 of the largest energy that is not
    negligible (beyond the solver's scaling), with ``e`` and ``w`` filled
    with NaN; 1 if a root did not converge (a bug).
    """
    cdef double *work
    cdef Py_ssize_t *iwork
    cdef int code
    if L < 0 or e == NULL or w == NULL or (L > 0 and (d == NULL or z2 == NULL)):
        if L >= 0 and e != NULL and w != NULL:
            _fill_nan(e, L + 1)
            _fill_nan(w, L + 1)
        return ARROWHEAD_BAD_SIZE
    work = <double *> malloc(FGR_SEC_WORK(L) * sizeof(double))
    iwork = <Py_ssize_t *> malloc(FGR_SEC_IWORK(L) * sizeof(Py_ssize_t))
    if work == NULL or iwork == NULL:
        code = ARROWHEAD_NO_MEMORY
    else:
        code = fgr_arrowhead_solve(L, d, z2, alpha, e, w, NULL, NULL, work, iwork)
        # the C code's -5 is taken by ARROWHEAD_NO_MEMORY in the public enum
        if code == FGR_SEC_SCALE:
            code = ARROWHEAD_SCALE
    free(work)
    free(iwork)
    if code != 0:
        _fill_nan(e, L + 1)
        _fill_nan(w, L + 1)
    return code


# ---------------------------------------------------------------------------
# Python-level drivers (tests only): call the C functions above on arrays.

def _survival_grid(const double[::1] e, const double[::1] w, const double[::1] t,
                   double[::1] out, bint general=False):
    """out = P(t) for one row through survival_grid(_general), GIL released."""
    cdef const double *ep = &e[0] if e.shape[0] else NULL
    cdef const double *wp = &w[0] if w.shape[0] else NULL
    cdef const double *tp = &t[0] if t.shape[0] else NULL
    cdef double *op = &out[0] if out.shape[0] else NULL
    if w.shape[0] != e.shape[0] or out.shape[0] != t.shape[0]:
        raise ValueError("inconsistent lengths")
    with nogil:
        if general:
            survival_grid_general(ep, wp, e.shape[0], tp, t.shape[0], op)
        else:
            survival_grid(ep, wp, e.shape[0], tp, t.shape[0], op)


def _ipr(const double[::1] w):
    return ipr(&w[0] if w.shape[0] else NULL, w.shape[0])


def _p_res(double gamma):
    return p_res(gamma)


def _p_tau(double tau, double gamma):
    return p_tau(tau, gamma)


def _form_factor(double tau, int beta):
    return form_factor(tau, beta)


def _p_sff(double tau, double gamma, int beta):
    return p_sff(tau, gamma, beta)


def _arrowhead_solve(const double[::1] d, const double[::1] z2, double alpha,
                     double[::1] e, double[::1] w):
    """Status code; e, w of length len(d) + 1 are filled."""
    cdef Py_ssize_t L = d.shape[0]
    if z2.shape[0] != L or e.shape[0] != L + 1 or w.shape[0] != L + 1:
        raise ValueError("inconsistent lengths")
    with nogil:
        code = arrowhead_solve(L, &d[0] if L else NULL, &z2[0] if L else NULL, alpha, &e[0], &w[0])
    return code
