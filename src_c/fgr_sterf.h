/*
 * Eigenvalues of many symmetric tridiagonal matrices (LAPACK dsterf's
 * algorithm, several matrices in interleaved lanes; see fgr_sterf.c).
 * Plain C, no global state: thread-safe, callable without the GIL.
 */
#ifndef FGR_STERF_H
#define FGR_STERF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Matrices whose sweeps are interleaved. */
#define FGR_STERF_LANES 8

/*
 * For r < rows: diag[r*ld .. r*ld+n-1] <- ascending eigenvalues of the
 * tridiagonal matrix with that diagonal and off-diagonal off[r*ld .. r*ld+n-2]
 * (off is overwritten).  status[r] = 0 on success; otherwise (a block that
 * dsterf would rescale, or no convergence) the row is left half-done and the
 * caller must run LAPACK dsterf on a copy of the original row.  Returns the
 * number of such rows.
 */
ptrdiff_t fgr_sterf_rows(ptrdiff_t rows, ptrdiff_t n, double *diag, double *off, ptrdiff_t ld,
                         int *status);

#ifdef __cplusplus
}
#endif

#endif /* FGR_STERF_H */
