/*
 * Eigenpair-sum kernel:  P(t) = |sum_a w_a exp(-i e_a t)|^2.
 *
 * Speed comes from two places:
 *   - a branch-free sin/cos (Cody-Waite reduction by pi/2 in three 33-bit
 *     pieces + Taylor polynomials on [-pi/4, pi/4]) that the compiler can
 *     vectorise, used while |e t| <= FGR_FAST_PHASE_LIMIT (absolute error
 *     ~2 ulp of 1);
 *   - on uniform time grids, a phasor recurrence (one complex multiply per
 *     eigenpair and step) re-anchored exactly every FGR_ANCHOR_PERIOD steps.
 * Reductions use eight independent partial sums: the compiler cannot
 * vectorise a floating-point sum without reassociation, which we forbid.
 */
#include "fgr_kernel.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* pi/2 split in pieces with 33 significant bits each, so k * PIO2_i is exact
 * for |k| < 2^20 (fdlibm's __ieee754_rem_pio2 constants). */
static const double TWO_OVER_PI = 6.36619772367581382433e-01;
static const double PIO2_1 = 1.57079632673412561417e+00;
static const double PIO2_2 = 6.07710050630396597660e-11;
static const double PIO2_3 = 2.02226624871116645580e-21;
/* 1.5 * 2^52: adding and subtracting it rounds to the nearest integer and
 * leaves that integer in the low mantissa bits. */
static const double ROUND_MAGIC = 6755399441055744.0;

#define LANES 8

static inline uint64_t bits_of(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double double_of(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* sin(x), cos(x) for |x| <= FGR_FAST_PHASE_LIMIT; no branches. */
static inline void fast_sincos(double x, double *s_out, double *c_out)
{
    double shifted = x * TWO_OVER_PI + ROUND_MAGIC;
    double k = shifted - ROUND_MAGIC;
    uint64_t q = bits_of(shifted);  /* low bits: k mod 4 (two's complement) */
    double r = ((x - k * PIO2_1) - k * PIO2_2) - k * PIO2_3;
    double r2 = r * r;
    /* Taylor series; truncation < 1e-18 on |r| <= pi/4. */
    double ps = -1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880
              + r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0
              + r2 * (1.0 / 355687428096000.0)))))));
    double pc = 1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320 + r2 * (-1.0 / 3628800
              + r2 * (1.0 / 479001600 + r2 * (-1.0 / 87178291200.0 + r2 * (1.0 / 20922789888000.0
              + r2 * (-1.0 / 6402373705728000.0)))))));
    double sn = r + r * r2 * ps;
    double cs = 1.0 - 0.5 * r2 + r2 * r2 * pc;
    uint64_t swap = (uint64_t)0 - (q & 1u);            /* all ones for odd quadrants */
    uint64_t sb = (bits_of(sn) & ~swap) | (bits_of(cs) & swap);
    uint64_t cb = (bits_of(cs) & ~swap) | (bits_of(sn) & swap);
    sb ^= (q & 2u) << 62;                              /* sin < 0 in quadrants 2, 3 */
    cb ^= ((q + 1u) & 2u) << 62;                       /* cos < 0 in quadrants 1, 2 */
    *s_out = double_of(sb);
    *c_out = double_of(cb);
}

void fgr_sincos_array(const double *x, ptrdiff_t n, double *s, double *c)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        double xi = x[i];
        if (fabs(xi) <= FGR_FAST_PHASE_LIMIT) {
            fast_sincos(xi, &s[i], &c[i]);
        } else {
            s[i] = sin(xi);
            c[i] = cos(xi);
        }
    }
}

static double max_abs(const double *x, ptrdiff_t n)
{
    double m = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        double a = fabs(x[i]);
        m = a > m ? a : m;
    }
    return m;
}

/* zr[a] = w_a cos(e_a t), zi[a] = -w_a sin(e_a t): the terms w_a exp(-i e_a t). */
static void phasors(const double *e, const double *w, ptrdiff_t M, double t, double emax,
                    double *zr, double *zi)
{
    if (emax * fabs(t) <= FGR_FAST_PHASE_LIMIT) {
        for (ptrdiff_t a = 0; a < M; a++) {
            double s, c;
            fast_sincos(e[a] * t, &s, &c);
            zr[a] = w[a] * c;
            zi[a] = -(w[a] * s);
        }
    } else {
        for (ptrdiff_t a = 0; a < M; a++) {
            double ph = e[a] * t;
            zr[a] = w[a] * cos(ph);
            zi[a] = -(w[a] * sin(ph));
        }
    }
}

static double abs2_of_sum(const double *zr, const double *zi, ptrdiff_t M)
{
    double ar[LANES] = {0}, ai[LANES] = {0};
    ptrdiff_t a = 0;
    for (; a + LANES <= M; a += LANES) {
        for (int j = 0; j < LANES; j++) {
            ar[j] += zr[a + j];
            ai[j] += zi[a + j];
        }
    }
    double re = 0.0, im = 0.0;
    for (; a < M; a++) { re += zr[a]; im += zi[a]; }
    for (int j = 0; j < LANES; j++) { re += ar[j]; im += ai[j]; }
    return re * re + im * im;
}

void fgr_sp_general(const double *e, const double *w, ptrdiff_t M,
                    const double *t, ptrdiff_t T, double *out, double *work)
{
    double *zr = work, *zi = work + M;
    double emax = max_abs(e, M);
    for (ptrdiff_t k = 0; k < T; k++) {
        phasors(e, w, M, t[k], emax, zr, zi);
        out[k] = abs2_of_sum(zr, zi, M);
    }
}

void fgr_sp_uniform(const double *e, const double *w, ptrdiff_t M,
                    const double *t, ptrdiff_t T, double dt,
                    double *out, double *work)
{
    double *zr = work, *zi = work + M, *sr = work + 2 * M, *si = work + 3 * M;
    double emax = max_abs(e, M);
    /* step phasors exp(-i e_a dt) */
    {
        if (emax * fabs(dt) <= FGR_FAST_PHASE_LIMIT) {
            for (ptrdiff_t a = 0; a < M; a++) {
                double s, c;
                fast_sincos(e[a] * dt, &s, &c);
                sr[a] = c;
                si[a] = -s;
            }
        } else {
            for (ptrdiff_t a = 0; a < M; a++) {
                sr[a] = cos(e[a] * dt);
                si[a] = -sin(e[a] * dt);
            }
        }
    }
    for (ptrdiff_t k0 = 0; k0 < T; k0 += FGR_ANCHOR_PERIOD) {
        phasors(e, w, M, t[k0], emax, zr, zi);
        out[k0] = abs2_of_sum(zr, zi, M);
        ptrdiff_t kend = k0 + FGR_ANCHOR_PERIOD < T ? k0 + FGR_ANCHOR_PERIOD : T;
        for (ptrdiff_t k = k0 + 1; k < kend; k++) {
            double ar[LANES] = {0}, ai[LANES] = {0};
            ptrdiff_t a = 0;
            for (; a + LANES <= M; a += LANES) {
                for (int j = 0; j < LANES; j++) {
                    double xr = zr[a + j], xi = zi[a + j];
                    double nr = xr * sr[a + j] - xi * si[a + j];
                    double ni = xr * si[a + j] + xi * sr[a + j];
                    zr[a + j] = nr;
                    zi[a + j] = ni;
                    ar[j] += nr;
                    ai[j] += ni;
                }
            }
            double re = 0.0, im = 0.0;
            for (; a < M; a++) {
                double xr = zr[a], xi = zi[a];
                double nr = xr * sr[a] - xi * si[a];
                double ni = xr * si[a] + xi * sr[a];
                zr[a] = nr;
                zi[a] = ni;
                re += nr;
                im += ni;
            }
            for (int j = 0; j < LANES; j++) { re += ar[j]; im += ai[j]; }
            out[k] = re * re + im * im;
        }
    }
}

double fgr_ipr(const double *w, ptrdiff_t M)
{
    double acc[LANES] = {0};
    ptrdiff_t a = 0;
    for (; a + LANES <= M; a += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += w[a + j] * w[a + j];
    double s = 0.0;
    for (; a < M; a++) s += w[a] * w[a];
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}
