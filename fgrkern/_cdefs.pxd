# Private: the C kernels of src_c/ as Cython sees them, declared once for every
# extension module of the package (_kernel, _theory, _sampler, cython_api).

cdef extern from "fgr_kernel.h" nogil:
    void fgr_sp_general(const double *e, const double *w, Py_ssize_t M,
                        const double *t, Py_ssize_t T, double *out, double *work)
    void fgr_sp_uniform(const double *e, const double *w, Py_ssize_t M,
                        const double *t, Py_ssize_t T, double dt,
                        double *out, double *work)
    size_t fgr_sp_uniform_work(Py_ssize_t M, Py_ssize_t T)
    size_t fgr_sp_general_work(Py_ssize_t M)
    double fgr_ipr(const double *w, Py_ssize_t M)
    void fgr_sincos_array(const double *x, Py_ssize_t n, double *s, double *c)
    double FGR_FAST_PHASE_LIMIT
    int FGR_ANCHOR_PERIOD

cdef extern from "fgr_theory.h" nogil:
    void fgr_bessel_i01e(double z, double *i0e, double *i1e, double *dif)
    double fgr_p_res(double gamma)
    double fgr_p_tau(double tau, double gamma)
    double fgr_p_tau_fine(double tau, double gamma)

cdef extern from "fgr_cpu.h" nogil:
    int FGR_PATH_AUTO, FGR_PATH_SCALAR, FGR_PATH_GENERIC, FGR_PATH_AVX2, FGR_PATH_AVX512
    int fgr_path_supported(int path)
    int fgr_path_resolve(int path)
    void fgr_path_set_auto(int path)

cdef extern from "fgr_secular.h" nogil:
    int fgr_arrowhead_solve(Py_ssize_t L, const double *d, const double *z2, double alpha,
                            double *e, double *w, double *tau, Py_ssize_t *origin,
                            double *work, Py_ssize_t *iwork)
    int fgr_arrowhead_solve_path(Py_ssize_t L, const double *d, const double *z2, double alpha,
                                 double *e, double *w, double *tau, Py_ssize_t *origin,
                                 double *work, Py_ssize_t *iwork, int path)
    int fgr_arrowhead_solve_scaled(Py_ssize_t L, const double *d, const double *u2, Py_ssize_t G,
                                   const double *c, double alpha, double *e, double *w, Py_ssize_t ld,
                                   Py_ssize_t min_l, double *work, Py_ssize_t *iwork, int path)
    size_t FGR_SEC_SCALED_WORK(Py_ssize_t L, Py_ssize_t G)
    void fgr_sec_set_avx512_reciprocal(int mode)
    Py_ssize_t FGR_SEC_SCALED_MIN_L
    size_t FGR_SEC_WORK(Py_ssize_t L)
    size_t FGR_SEC_IWORK(Py_ssize_t L)
    int FGR_SEC_BAD_POLES, FGR_SEC_BAD_COUPLING, FGR_SEC_BAD_ALPHA, FGR_SEC_RANGE, FGR_SEC_SCALE

cdef extern from "fgr_sterf.h" nogil:
    ctypedef struct fgr_sterf_batch:
        pass
    size_t fgr_sterf_batch_size()
    void fgr_sterf_begin(fgr_sterf_batch *b, Py_ssize_t rows, Py_ssize_t n, double *diag, double *off,
                         Py_ssize_t ld, int *status)
    int fgr_sterf_run(fgr_sterf_batch *b, Py_ssize_t budget, int path)
    Py_ssize_t fgr_sterf_failed(const fgr_sterf_batch *b)
