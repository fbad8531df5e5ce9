/*
 * Eigenpair-sum kernel of fgrkern.
 *
 * For one realisation with energies e_a and weights w_a (a = 0..M-1),
 *     P(t) = |sum_a w_a exp(-i e_a t)|^2 = sum_{a,b} w_a w_b exp(i (e_a - e_b) t),
 * evaluated in the factorised form (O(M T) per row).  Plain C, no Python,
 * thread-safe (no global state), so the Cython layer calls it without the GIL.
 */
#ifndef FGR_KERNEL_H
#define FGR_KERNEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest |e t| for which the vectorised Cody-Waite sin/cos is used; beyond
 * it the libm functions (full Payne-Hanek reduction) take over. */
#define FGR_FAST_PHASE_LIMIT 1.6e6

/* Largest block length B of the uniform-grid path: every P(t_k) is computed
 * from a phasor anchored exactly at one of the caller's times t_{jB}, at
 * most FGR_ANCHOR_PERIOD - 1 steps before t_k. */
#define FGR_ANCHOR_PERIOD 64

/*
 * P(t_k) for one row on an arbitrary time grid t[0..T-1].
 * work: scratch of at least fgr_sp_general_work(M) doubles.
 */
void fgr_sp_general(const double *e, const double *w, ptrdiff_t M,
                    const double *t, ptrdiff_t T, double *out, double *work);

/* Scratch size (in doubles) that fgr_sp_general needs: 2 min(M, 256). */
size_t fgr_sp_general_work(ptrdiff_t M);

/*
 * P(t_k) for one row on a uniform grid t_k = t0 + k dt (k = 0..T-1), as
 * |sum_a (w_a exp(-i e_a t[jB])) exp(-i e_a r dt)|^2 with k = jB + r: the
 * anchor is the caller's t[jB], the offset r dt (r < B <= FGR_ANCHOR_PERIOD).
 * work: scratch of at least fgr_sp_uniform_work(M, T) doubles.
 */
void fgr_sp_uniform(const double *e, const double *w, ptrdiff_t M,
                    const double *t, ptrdiff_t T, double dt,
                    double *out, double *work);

/* Scratch size (in doubles) that fgr_sp_uniform needs: O(min(M, 256) sqrt(T) + T). */
size_t fgr_sp_uniform_work(ptrdiff_t M, ptrdiff_t T);

/* sum_a w_a^2 (the tau -> infinity limit of P for a non-degenerate row). */
double fgr_ipr(const double *w, ptrdiff_t M);

/* sin and cos of x for many x at once (used by the kernels; exported for tests). */
void fgr_sincos_array(const double *x, ptrdiff_t n, double *s, double *c);

#ifdef __cplusplus
}
#endif

#endif
