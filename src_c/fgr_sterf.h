/*
 * Eigenvalues of many symmetric tridiagonal matrices (LAPACK dsterf's
 * algorithm, several matrices in interleaved lanes; see fgr_sterf.c).
 * Plain C, no mutable global state besides the test-only fgr_path_set_auto
 * (fgr_cpu.h): thread-safe, callable without the GIL.
 */
#ifndef FGR_STERF_H
#define FGR_STERF_H

#include <stddef.h>

#include "fgr_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Matrices whose sweeps are interleaved. */
#define FGR_STERF_LANES 16

/*
 * For r < rows: diag[r*ld .. r*ld+n-1] <- ascending eigenvalues of the
 * tridiagonal matrix with that diagonal and off-diagonal off[r*ld .. r*ld+n-2]
 * (off is overwritten).  status[r] = 0 on success; otherwise (a block that
 * dsterf would rescale, or no convergence) the row is left half-done and the
 * caller must run LAPACK dsterf on a copy of the original row.
 *
 * The computation runs in slices, so that a caller can check for an interrupt
 * between them: allocate fgr_sterf_batch_size() bytes, call fgr_sterf_begin
 * once, then fgr_sterf_run until it returns 1; fgr_sterf_failed gives the
 * number of rows handed back (status[r] != 0).  Each fgr_sterf_run call does
 * about `budget` QL/QR steps (one step costs a few nanoseconds) and then
 * returns 0 if work remains.  `path` (fgr_cpu.h) chooses the lanes:
 * FGR_PATH_SCALAR the interleaved scalar lanes, the vector paths vector
 * lanes, FGR_PATH_AUTO the fastest the CPU can run; all give the same bits,
 * and successive calls on one batch may take different paths.  The batch
 * refers to the caller's arrays until the last call.
 */
typedef struct fgr_sterf_batch fgr_sterf_batch;
size_t fgr_sterf_batch_size(void);
void fgr_sterf_begin(fgr_sterf_batch *b, ptrdiff_t rows, ptrdiff_t n, double *diag, double *off,
                     ptrdiff_t ld, int *status);
int fgr_sterf_run(fgr_sterf_batch *b, ptrdiff_t budget, int path);
ptrdiff_t fgr_sterf_failed(const fgr_sterf_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* FGR_STERF_H */
