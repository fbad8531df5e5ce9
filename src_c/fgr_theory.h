/* Theory kernels of Micklitz, Morningstar, Altland, Huse, PRL 129, 140402 (2022).
 *
 * Plain C11, no Python, no global mutable state: every function is
 * reentrant and may run concurrently in several threads.
 */
#ifndef FGR_THEORY_H
#define FGR_THEORY_H

/* Exponentially scaled modified Bessel functions of the first kind for
 * z >= 0: *i0e = exp(-z) I_0(z), *i1e = exp(-z) I_1(z) and
 * *dif = exp(-z) (I_0(z) - I_1(z)).  The difference is formed from its own
 * all-positive asymptotic series for large z, so it keeps full relative
 * accuracy where i0e - i1e would cancel (it decays like z^(-3/2)/2 while
 * each term decays like z^(-1/2)). */
void fgr_bessel_i01e(double z, double *i0e, double *i1e, double *dif);

/* Eq. (4), P_res(gamma), for gamma >= 0 (inf allowed), through an
 * all-positive continued fraction: relative error ~1e-16.  The caller
 * rejects NaN and negative gamma; here they return NaN. */
double fgr_p_res(double gamma);

/* Eq. (5), P(tau) of the unitary class, for finite tau >= 0 and finite
 * gamma > 0, by a fixed graded Gauss-Legendre product rule (relative error
 * <= 1e-10 for gamma in [1e-3, 1e3], tau in [0, 1e3]).  Returns NaN on
 * arguments outside that domain (the caller validates). */
double fgr_p_tau(double tau, double gamma);

/* The same integral by a much finer, independent rule (tens of times the
 * cost): the tests' self-convergence reference. */
double fgr_p_tau_fine(double tau, double gamma);

#endif
