/*
 * Arrowhead (secular-equation) eigensolver of fgrkern.
 *
 * The Hamiltonian of the level-dot model in the dot eigenbasis is the
 * arrowhead matrix
 *
 *     [[alpha, z^dagger],
 *      [z,     diag(d)]],      d ascending, z2[mu] = |z_mu|^2 >= 0,
 *
 * whose eigenvalues e solve the secular equation
 *
 *     f(e) = e - alpha - sum_mu z2[mu] / (e - d[mu]) = 0
 *
 * and whose weights on the first basis vector are
 *
 *     w = |<a|0>|^2 = 1 / (1 + sum_mu z2[mu] / (e - d[mu])^2).
 *
 * Each root is found as an offset tau from its nearest pole d[o] (e = d[o] + tau)
 * with every difference formed as (d[mu] - d[o]) - tau, so that tau and w come out
 * with *relative* accuracy even when they are ~1e-18 (weak coupling).  Plain C,
 * no mutable global state besides two test-only switches (fgr_path_set_auto,
 * fgr_sec_set_avx512_reciprocal, which must not be called while a solver runs):
 * thread-safe, callable without the GIL.
 *
 * Must not be compiled with -ffast-math or any reassociation: it would rewrite
 * (d[mu] - d[o]) - tau as d[mu] - (d[o] + tau) and destroy the offsets.
 */
#ifndef FGR_SECULAR_H
#define FGR_SECULAR_H

#include <stddef.h>

#include "fgr_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes returned by fgr_arrowhead_solve (0 = success). */
#define FGR_SEC_BAD_POLES (-1)    /* non-finite or not ascending */
#define FGR_SEC_BAD_COUPLING (-2) /* negative or non-finite z2 */
#define FGR_SEC_BAD_ALPHA (-3)    /* non-finite alpha */
#define FGR_SEC_RANGE (-4)        /* an eigenvalue exceeds the double range */
#define FGR_SEC_SCALE (-5)        /* a coupling ~1e-154 of the largest energy is not negligible */
/* A positive return value (1) means a root hit the iteration limit; the solve
 * stops there (outputs incomplete).  The solver works internally in units of a
 * power of two near the largest of |alpha|, |d|, |z|, so any finite input whose
 * eigenvalues are representable is solved. */

/* Size of the scratch space needed for L poles. */
#define FGR_SEC_WORK(L) (3 * (size_t)(L) + 2)
#define FGR_SEC_IWORK(L) (2 * (size_t)(L) + 2)

/*
 * All L+1 eigenvalues (ascending) and weights of the arrowhead matrix.
 *
 * d[0..L-1]   ascending poles (L >= 0)
 * z2[0..L-1]  squared couplings (>= 0); zero couplings deflate: the pole is an
 *             eigenvalue with weight exactly 0.  Exactly repeated poles are
 *             merged (their couplings add) and the extra copies deflate likewise.
 * alpha       diagonal entry of the level (eps0)
 * e, w        outputs, length L+1
 * tau, origin optional outputs (may be NULL), length L+1: e[a] = d[origin[a]] + tau[a]
 *             with tau computed directly; origin[a] = -1 means no pole is involved
 *             (all couplings zero; then tau[a] = e[a]).
 * work        >= FGR_SEC_WORK(L) doubles, iwork >= FGR_SEC_IWORK(L) entries.
 */
int fgr_arrowhead_solve(ptrdiff_t L, const double *d, const double *z2, double alpha,
                        double *e, double *w, double *tau, ptrdiff_t *origin,
                        double *work, ptrdiff_t *iwork);

/* The same with a choice of path (fgr_cpu.h): FGR_PATH_SCALAR solves the
 * roots one at a time (the reference); the vector paths solve several roots
 * per pass over the poles; FGR_PATH_AUTO takes the fastest the CPU can run.
 * All give the same bits (after an error, e and w are unspecified: the vector
 * lanes write weights of roots beyond the failing one). */
int fgr_arrowhead_solve_path(ptrdiff_t L, const double *d, const double *z2, double alpha,
                             double *e, double *w, double *tau, ptrdiff_t *origin,
                             double *work, ptrdiff_t *iwork, int path);

/* For tests: the AVX-512 lanes' reciprocal, -1 chosen by CPU (the default),
 * 0 the division, 1 the verified estimate (the same bits either way). */
void fgr_sec_set_avx512_reciprocal(int mode);

/*
 * Several couplings on one bath: for g < G, the arrowhead with z2 = c[g] u2
 * (u2[0..L-1] >= 0 the unit couplings, c[g] >= 0 the factors): ascending
 * eigenvalues e[g*ld .. g*ld+L] and weights w[g*ld .. g*ld+L] (ld >= L+1).
 * The poles' far field in each gap is computed once for all couplings (see
 * fgr_secular.c); the numbers of coupling g do not depend on the others.
 * Distinct poles with positive u2 and L >= max(32, min_l) take this path
 * (the sampler passes min_l = FGR_SEC_SCALED_MIN_L, where it starts to pay
 * off for a single coupling); otherwise (and
 * for factors whose couplings could leave the safe range) each coupling is
 * solved by fgr_arrowhead_solve_path on z2 = c[g] * u2.  Errors as there
 * (the first one stops the solve; FGR_SEC_BAD_COUPLING also for a negative or
 * non-finite c[g]); after an error the contents of e and w are unspecified
 * (the vector lanes may have written roots beyond the failing one).
 */
#define FGR_SEC_SCALED_WORK(L, G) (3 * (size_t)(L) + (size_t)(G) + 64 * 60 + FGR_SEC_WORK(L))
#define FGR_SEC_SCALED_MIN_L 240
int fgr_arrowhead_solve_scaled(ptrdiff_t L, const double *d, const double *u2, ptrdiff_t G,
                               const double *c, double alpha, double *e, double *w, ptrdiff_t ld,
                               ptrdiff_t min_l, double *work, ptrdiff_t *iwork, int path);

#ifdef __cplusplus
}
#endif

#endif /* FGR_SECULAR_H */
