# cython: language_level=3
"""Private: compiled core of the level-dot samplers (see :mod:`fgrkern._samplers`).

* the arrowhead secular solver (src_c/fgr_secular.c) over many rows,
* the spectrum of symmetric tridiagonal matrices (LAPACK dsterf) over many rows,
* the dense reference eigensolver: eigenvalues and the |first component|^2 of
  every eigenvector (LAPACK dsyevr / zheevr).

All loops release the GIL.  Validation lives in :mod:`fgrkern.model`; this
module assumes C-contiguous float64/complex128 input of consistent shape.
"""
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from scipy.linalg.cython_lapack cimport dsterf, dsyevr, zheevr

include "_lapack_int.pxi"

import numpy as np

from fgrkern._cdefs cimport (fgr_arrowhead_solve, fgr_arrowhead_solve_path, FGR_SEC_WORK, FGR_SEC_IWORK,
                             fgr_arrowhead_solve_scaled, FGR_SEC_SCALED_WORK, FGR_SEC_SCALED_MIN_L,
                             fgr_sec_set_avx512_reciprocal,
                             FGR_SEC_BAD_POLES, FGR_SEC_BAD_COUPLING, FGR_SEC_BAD_ALPHA, FGR_SEC_RANGE,
                             FGR_SEC_SCALE, fgr_sterf_batch, fgr_sterf_batch_size,
                             fgr_sterf_begin, fgr_sterf_run, fgr_sterf_failed,
                             FGR_PATH_AUTO, FGR_PATH_SCALAR, FGR_PATH_GENERIC, FGR_PATH_AVX2, FGR_PATH_AVX512,
                             fgr_path_supported, fgr_path_resolve, fgr_path_set_auto)


# Code paths of the compiled loops (src_c/fgr_cpu.h): every path gives the
# same bits, so the choice is only about speed; tests and benchmarks force
# each one the CPU can run.
_PATH_CODES = {"auto": FGR_PATH_AUTO, "scalar": FGR_PATH_SCALAR, "generic": FGR_PATH_GENERIC,
               "avx2": FGR_PATH_AVX2, "avx512": FGR_PATH_AVX512}
_PATH_NAMES = {code: name for name, code in _PATH_CODES.items()}


def paths():
    """The code paths this build and CPU can run, slowest first (``"scalar"`` always)."""
    return [n for n in ("scalar", "generic", "avx2", "avx512") if fgr_path_supported(_PATH_CODES[n])]


def resolve_path(path="auto"):
    """The path a request for ``path`` runs (``"auto"``: the fastest supported)."""
    return _PATH_NAMES[fgr_path_resolve(_path_code(path))]


def set_auto_path(path="auto"):
    """For tests: make ``"auto"`` (what the samplers use) run ``path``; ``"auto"`` restores it.

    Not synchronised: call it only while no sampler runs.
    """
    fgr_path_set_auto(_path_code(path))


def set_avx512_reciprocal(mode="auto"):
    """For tests: the AVX-512 secular lanes' reciprocal, ``"divide"``, ``"estimate"`` or ``"auto"`` (by CPU).

    Both give the division's bits; the choice is about speed.  Not synchronised.
    """
    codes = {"auto": -1, "divide": 0, "estimate": 1}
    if mode not in codes:
        raise ValueError(f"mode must be one of {sorted(codes)}, got {mode!r}")
    fgr_sec_set_avx512_reciprocal(codes[mode])


cdef int _path_code(object path) except -1:
    if not isinstance(path, str) or path not in _PATH_CODES:
        raise ValueError(f"path must be one of {sorted(_PATH_CODES)}, got {path!r}")
    cdef int code = _PATH_CODES[path]
    if not fgr_path_supported(code):
        raise ValueError(f"path {path!r} cannot run on this build or CPU (it can run {paths()})")
    return code


cdef object _secular_error(int code):
    if code == FGR_SEC_BAD_POLES:
        return ValueError("poles must be finite and sorted ascending")
    if code == FGR_SEC_BAD_COUPLING:
        return ValueError("squared couplings must be finite and >= 0")
    if code == FGR_SEC_BAD_ALPHA:
        return ValueError("eps0 must be finite")
    if code == FGR_SEC_RANGE:
        return ValueError("an eigenvalue exceeds the floating-point range (|e| > 1.8e308): "
                          "eps0, the bath levels or the coupling energy sqrt(g) * lam are too large")
    if code == FGR_SEC_SCALE:
        return ValueError("the energies span too many decades: a coupling |W| below ~1e-154 of the largest "
                          "energy (eps0, the bath levels, 2 lam) mixes levels closer than |W|, which double "
                          "precision cannot resolve; bring eps0, the bath levels, lam and g closer together")
    return RuntimeError("secular solver: a root did not converge within the iteration limit "
                        "(a bug: please report the parameters and seed)")


def arrowhead(const double[::1] d, const double[::1] z2, double alpha, str path="auto"):
    """Eigenpairs of one arrowhead matrix [[alpha, z^T], [z, diag(d)]].

    Returns ``(e, w, tau, origin)``: ascending eigenvalues, weights
    ``|<a|0>|^2``, and the offsets ``tau = e - d[origin]`` computed directly
    (``origin = -1``: no pole involved).  ``d`` ascending, ``z2 = |z|^2``.
    ``path`` (see :func:`paths`): ``"scalar"`` forces the one-root-at-a-time
    reference, a vector path its lanes (the same bits).
    """
    cdef int pcode = _path_code(path)
    cdef Py_ssize_t L = d.shape[0]
    if z2.shape[0] != L:
        raise ValueError("d and z2 must have the same length")
    e = np.empty(L + 1)
    w = np.empty(L + 1)
    tau = np.empty(L + 1)
    origin = np.empty(L + 1, dtype=np.intp)
    cdef double[::1] ev = e, wv = w, tv = tau
    cdef Py_ssize_t[::1] ov = origin
    cdef double *work = <double *> malloc(FGR_SEC_WORK(L) * sizeof(double))
    cdef Py_ssize_t *iwork = <Py_ssize_t *> malloc(FGR_SEC_IWORK(L) * sizeof(Py_ssize_t))
    cdef int code
    cdef const double *dp = &d[0] if L > 0 else NULL
    cdef const double *zp = &z2[0] if L > 0 else NULL
    try:
        if work == NULL or iwork == NULL:
            raise MemoryError("arrowhead: cannot allocate scratch space")
        with nogil:
            code = fgr_arrowhead_solve_path(L, dp, zp, alpha, &ev[0], &wv[0], &tv[0], &ov[0],
                                            work, iwork, pcode)
        if code != 0:
            raise _secular_error(code)
    finally:
        free(work)
        free(iwork)
    return e, w, tau, origin


def arrowhead_rows(const double[:, ::1] poles, const double[:, ::1] z2, double alpha,
                   double[:, ::1] e, double[:, ::1] w, str path="auto"):
    """Rows r of (e, w) from poles[r or 0] and z2[r] (GIL released).

    ``poles`` has one row per realisation or a single row shared by all.
    ``path`` as in :func:`arrowhead` (the same bits on every path).
    """
    cdef int pcode = _path_code(path)
    cdef Py_ssize_t R = z2.shape[0], L = z2.shape[1], r
    cdef bint shared = poles.shape[0] == 1
    cdef int code = 0
    if poles.shape[1] != L or not (shared or poles.shape[0] == R):
        raise ValueError("poles and z2 have inconsistent shapes")
    if e.shape[0] != R or w.shape[0] != R or e.shape[1] != L + 1 or w.shape[1] != L + 1:
        raise ValueError("output arrays have the wrong shape")
    if R == 0:
        return
    cdef double *work = <double *> malloc(FGR_SEC_WORK(L) * sizeof(double))
    cdef Py_ssize_t *iwork = <Py_ssize_t *> malloc(FGR_SEC_IWORK(L) * sizeof(Py_ssize_t))
    cdef const double *pp
    cdef const double *zp
    try:
        if work == NULL or iwork == NULL:
            raise MemoryError("arrowhead_rows: cannot allocate scratch space")
        with nogil:
            for r in range(R):
                pp = NULL if L == 0 else (&poles[0, 0] if shared else &poles[r, 0])
                zp = NULL if L == 0 else &z2[r, 0]
                code = fgr_arrowhead_solve_path(L, pp, zp, alpha, &e[r, 0], &w[r, 0], NULL, NULL,
                                                work, iwork, pcode)
                if code != 0:
                    break
        if code != 0:
            raise _secular_error(code)
    finally:
        free(work)
        free(iwork)


def arrowhead_rows_scaled(const double[:, ::1] poles, const double[:, ::1] u2, const double[::1] c,
                          double alpha, double[:, :, :] e, double[:, :, :] w, str path="auto",
                          Py_ssize_t min_l=-1):
    """Rows r of (e[g], w[g]) for the couplings z2 = c[g] * u2[r] on poles[r or 0] (GIL released).

    One pass over the poles per gap serves every coupling (see
    ``fgr_arrowhead_solve_scaled``); the numbers of c[g] do not depend on the
    other factors.  ``e`` and ``w`` have shape (G, R, L + 1) (rows contiguous,
    the same strides).  ``path`` as in :func:`arrowhead` (the same
    bits on every path).  Below ``min_l`` poles (default: FGR_SEC_SCALED_MIN_L) each
    coupling is solved on its own (``arrowhead_rows`` on z2 = c u2).
    """
    cdef int pcode = _path_code(path)
    cdef Py_ssize_t R = u2.shape[0], L = u2.shape[1], G = c.shape[0], r
    cdef bint shared = poles.shape[0] == 1
    cdef int code = 0
    if poles.shape[1] != L or not (shared or poles.shape[0] == R):
        raise ValueError("poles and u2 have inconsistent shapes")
    if (e.shape[0] != G or w.shape[0] != G or e.shape[1] != R or w.shape[1] != R
            or e.shape[2] != L + 1 or w.shape[2] != L + 1):
        raise ValueError("output arrays have the wrong shape")
    if (e.strides[0] != w.strides[0] or e.strides[0] % sizeof(double) != 0
            or e.strides[2] != sizeof(double) or w.strides[2] != sizeof(double)):
        raise ValueError("e and w must have contiguous rows and the same layout")
    if R == 0 or G == 0:
        return
    cdef Py_ssize_t ld = e.strides[0] // sizeof(double)
    if min_l < 0:
        min_l = FGR_SEC_SCALED_MIN_L
    cdef double *work = <double *> malloc(FGR_SEC_SCALED_WORK(L, G) * sizeof(double))
    cdef Py_ssize_t *iwork = <Py_ssize_t *> malloc(FGR_SEC_IWORK(L) * sizeof(Py_ssize_t))
    cdef const double *pp
    cdef const double *up
    try:
        if work == NULL or iwork == NULL:
            raise MemoryError("arrowhead_rows_scaled: cannot allocate scratch space")
        with nogil:
            for r in range(R):
                pp = NULL if L == 0 else (&poles[0, 0] if shared else &poles[r, 0])
                up = NULL if L == 0 else &u2[r, 0]
                code = fgr_arrowhead_solve_scaled(L, pp, up, G, &c[0], alpha, &e[0, r, 0], &w[0, r, 0],
                                                  ld, min_l, work, iwork, pcode)
                if code != 0:
                    break
        if code != 0:
            raise _secular_error(code)
    finally:
        free(work)
        free(iwork)


# QL/QR steps per uninterrupted call (a few ns each: ~10-50 ms), between
# which tridiag_eigvals_rows calls its ``check``.
_STERF_SLICE = 1 << 23


def tridiag_eigvals_rows(double[:, ::1] diag, double[:, ::1] off, bint lapack=False,
                         str path="auto", object check=None, Py_ssize_t slice_steps=_STERF_SLICE):
    """In place: diag[r] <- ascending eigenvalues of tridiag(off[r, :L-1], diag[r]).

    ``off`` has the same shape as ``diag``; its last column is ignored and all
    of it is overwritten (GIL released).  The rows run dsterf's algorithm in
    lanes (src_c/fgr_sterf.c: 16 matrices in vector lanes, AVX-512, AVX2 or
    portable vectors on other CPUs, or eight interleaved scalar lanes with
    ``path="scalar"``; the same bits as the reference dsterf on every path); rows
    it does not handle, or all with ``lapack=True``, call LAPACK dsterf.
    ``check`` (if given) is called between slices of about ``slice_steps``
    QL/QR steps: an exception it raises (a stop request) ends the call, with
    the rows partly overwritten.  ``path="cycle"`` (for tests) takes the
    paths the CPU can run in turn from slice to slice.
    """
    cdef int cycle[4]
    cdef int ncycle = 0
    for name in (paths() if path == "cycle" else [path]):
        cycle[ncycle] = _path_code(name)
        ncycle += 1
    cdef Py_ssize_t R = diag.shape[0], L = diag.shape[1], r, nfail = 0
    cdef lapack_int n = <lapack_int> L, info = 0
    cdef double *save = NULL
    cdef int *status = NULL
    cdef fgr_sterf_batch *batch = NULL
    cdef int done = 0
    cdef Py_ssize_t slices = 0
    if off.shape[0] != R or off.shape[1] != L:
        raise ValueError("diag and off must have the same shape")
    if slice_steps < 1:
        raise ValueError("slice_steps must be >= 1")
    if L <= 1 or R == 0:
        return
    try:
        if lapack:
            for r in range(R):
                with nogil:
                    dsterf(&n, &diag[r, 0], &off[r, 0], &info)
                if info != 0:
                    raise RuntimeError(f"LAPACK dsterf failed (info={info})")
                if check is not None:
                    check()
            return
        save = <double *> malloc(2 * <size_t> R * <size_t> L * sizeof(double))
        status = <int *> malloc(<size_t> R * sizeof(int))
        batch = <fgr_sterf_batch *> malloc(fgr_sterf_batch_size())
        if save == NULL or status == NULL or batch == NULL:
            raise MemoryError("tridiag_eigvals_rows: cannot allocate scratch space")
        with nogil:
            # the originals, for rows handed back to LAPACK
            memcpy(save, &diag[0, 0], <size_t> R * <size_t> L * sizeof(double))
            memcpy(save + R * L, &off[0, 0], <size_t> R * <size_t> L * sizeof(double))
            fgr_sterf_begin(batch, R, L, &diag[0, 0], &off[0, 0], L, status)
        while not done:
            with nogil:
                done = fgr_sterf_run(batch, slice_steps, cycle[slices % ncycle])
            slices += 1
            if not done and check is not None:
                check()
        nfail = fgr_sterf_failed(batch)
        with nogil:
            for r in range(R):
                if nfail == 0:
                    break
                if status[r] != 0:
                    memcpy(&diag[r, 0], save + r * L, <size_t> L * sizeof(double))
                    memcpy(&off[r, 0], save + R * L + r * L, <size_t> L * sizeof(double))
                    dsterf(&n, &diag[r, 0], &off[r, 0], &info)
                    if info != 0:
                        break
        if info != 0:
            raise RuntimeError(f"LAPACK dsterf failed (info={info})")
    finally:
        free(save)
        free(status)
        free(batch)


cdef lapack_int _eigh_first_row(bint cplx, void *a, lapack_int n, double *evals,
                                double *w0) noexcept nogil:
    """Eigenvalues of the real symmetric (dsyevr) or hermitian (zheevr) n x n matrix
    ``a`` (column-major, destroyed) and the squared modulus of every eigenvector's
    first component.  Returns LAPACK's info, or -1000 if scratch allocation failed."""
    cdef lapack_int lda = n, m = 0, info = 0, il = 1, iu = n
    cdef lapack_int lwork = -1, lrwork = -1, liwork = -1, iwq = 0
    cdef double vl = 0.0, vu = 0.0, abstol = 0.0, rwq = 0.0
    cdef double wq[2]
    cdef double *z = NULL
    cdef double *work = NULL
    cdef double *rwork = NULL
    cdef lapack_int *iwork = NULL
    cdef lapack_int *isuppz = NULL
    cdef size_t D = <size_t> n, k, nc = 2 if cplx else 1
    # workspace query
    if cplx:
        zheevr(b"V", b"A", b"L", &n, <double complex *> a, &lda, &vl, &vu, &il, &iu, &abstol,
               &m, evals, <double complex *> wq, &n, &iwq, <double complex *> wq, &lwork,
               &rwq, &lrwork, &iwq, &liwork, &info)
    else:
        dsyevr(b"V", b"A", b"L", &n, <double *> a, &lda, &vl, &vu, &il, &iu, &abstol, &m,
               evals, wq, &n, &iwq, wq, &lwork, &iwq, &liwork, &info)
    if info != 0:
        return info
    lwork = <lapack_int> wq[0] + 1
    lrwork = <lapack_int> rwq + 1
    liwork = iwq + 1
    z = <double *> malloc(nc * D * D * sizeof(double))
    work = <double *> malloc(nc * <size_t> lwork * sizeof(double))
    rwork = <double *> malloc(<size_t> lrwork * sizeof(double))
    iwork = <lapack_int *> malloc(<size_t> liwork * sizeof(lapack_int))
    isuppz = <lapack_int *> malloc(2 * D * sizeof(lapack_int))
    if z == NULL or work == NULL or rwork == NULL or iwork == NULL or isuppz == NULL:
        info = -1000
    elif cplx:
        zheevr(b"V", b"A", b"L", &n, <double complex *> a, &lda, &vl, &vu, &il, &iu, &abstol,
               &m, evals, <double complex *> z, &n, isuppz, <double complex *> work, &lwork,
               rwork, &lrwork, iwork, &liwork, &info)
    else:
        dsyevr(b"V", b"A", b"L", &n, <double *> a, &lda, &vl, &vu, &il, &iu, &abstol, &m,
               evals, z, &n, isuppz, work, &lwork, iwork, &liwork, &info)
    if info == 0:
        for k in range(D):  # first row of the eigenvector matrix (column k starts at k*D)
            if cplx:
                w0[k] = z[2 * k * D] * z[2 * k * D] + z[2 * k * D + 1] * z[2 * k * D + 1]
            else:
                w0[k] = z[k * D] * z[k * D]
    free(z)
    free(work)
    free(rwork)
    free(iwork)
    free(isuppz)
    return info


cdef _run_eigh(bint cplx, void *a, Py_ssize_t D, Py_ssize_t D2, double[::1] evals, double[::1] w0):
    cdef lapack_int info
    if D2 != D or evals.shape[0] != D or w0.shape[0] != D:
        raise ValueError("inconsistent shapes")
    if D == 0:
        return
    with nogil:
        info = _eigh_first_row(cplx, a, <lapack_int> D, &evals[0], &w0[0])
    if info == -1000:
        raise MemoryError("dense eigensolver: cannot allocate workspace")
    if info != 0:
        raise RuntimeError(f"LAPACK {'zheevr' if cplx else 'dsyevr'} failed (info={info})")


def syevr_first_row(double[:, ::1] a, double[::1] evals, double[::1] w0):
    """Real symmetric ``a`` (destroyed): ascending eigenvalues and v_a[0]^2 (dsyevr)."""
    _run_eigh(False, &a[0, 0] if a.shape[0] else NULL, a.shape[0], a.shape[1], evals, w0)


def heevr_first_row(double complex[:, ::1] a, double[::1] evals, double[::1] w0):
    """Hermitian ``a`` (destroyed): ascending eigenvalues and |v_a[0]|^2 (zheevr).

    The C-ordered array is read by LAPACK as its transpose, conj(a): same
    eigenvalues, conjugated eigenvectors, hence the same |v_a[0]|^2.
    """
    _run_eigh(True, &a[0, 0] if a.shape[0] else NULL, a.shape[0], a.shape[1], evals, w0)
