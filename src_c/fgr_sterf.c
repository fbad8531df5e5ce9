/*
 * Eigenvalues of many symmetric tridiagonal matrices at once: LAPACK's dsterf
 * (Pal-Walker-Kahan root-free QL/QR with implicit shifts) run on several
 * matrices in interleaved lanes.
 *
 * Why: one QL/QR sweep step is a chain of three dependent divisions
 * (c = p/r, s = bb/r, p = gamma^2/c), ~40 cycles of latency per step, while
 * the divider accepts a new division every few cycles.  Stepping the sweeps
 * of FGR_STERF_LANES independent matrices in turn lets the processor overlap
 * their chains.  Each lane performs exactly the operations of the reference
 * dsterf, in the same order (no FMA contraction: ISO C mode), so the
 * eigenvalues are bitwise those of a LAPACK built from the reference sources
 * without contraction (OpenBLAS, the reference LAPACK); the tests compare
 * against the dsterf that SciPy links.  A block whose norm needs dsterf's
 * rescaling (outside ~[1e-146, 4e153]) is not handled here: the caller runs
 * dsterf on that matrix instead.
 */
#include "fgr_sterf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STERF_MAXIT 30

/* No a*b + c -> fma contraction (GCC in ISO C mode does not contract; clang
 * does by default): every path must round exactly as the reference. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

typedef struct {
    double *d, *e; /* 1-based views of the lane's matrix */
    ptrdiff_t n, l1, l, lend, lsv, lendsv, m, i, row;
    ptrdiff_t jtot, nmaxit;
    int ql, in_block;
    /* sweep state */
    double p, c, s, gamma, sigma;
} sterf_lane;

enum { STERF_SWEEP = 0, STERF_DONE = 1, STERF_FALLBACK = 2, STERF_NOCONV = 3 };

/* dlapy2(x, 1) for finite x */
static double lapy2_one(double x)
{
    const double xa = fabs(x);
    const double w = xa > 1.0 ? xa : 1.0, z = xa > 1.0 ? 1.0 : xa;
    if (z == 0.0)
        return w;
    const double q = z / w;
    return w * sqrt(1.0 + q * q);
}

/* dlae2: eigenvalues rt1, rt2 of [[a, b], [b, c]] */
static void lae2(double a, double b, double c, double *rt1, double *rt2)
{
    const double sm = a + c, df = a - c, adf = fabs(df), tb = b + b, ab = fabs(tb);
    double acmx, acmn, rt;
    if (fabs(a) > fabs(c)) {
        acmx = a;
        acmn = c;
    } else {
        acmx = c;
        acmn = a;
    }
    if (adf > ab) {
        const double q = ab / adf;
        rt = adf * sqrt(1.0 + q * q);
    } else if (adf < ab) {
        const double q = adf / ab;
        rt = ab * sqrt(1.0 + q * q);
    } else {
        rt = ab * sqrt(2.0);
    }
    if (sm < 0.0) {
        *rt1 = 0.5 * (sm - rt);
        *rt2 = (acmx / *rt1) * acmn - (b / *rt1) * b;
    } else if (sm > 0.0) {
        *rt1 = 0.5 * (sm + rt);
        *rt2 = (acmx / *rt1) * acmn - (b / *rt1) * b;
    } else {
        *rt1 = 0.5 * rt;
        *rt2 = -0.5 * rt;
    }
}

static int cmp_double(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* dsterf's shift from the 2x2 corner (p = d[l], its neighbour dn, squared
 * coupling e2) and the start of the sweep from row m towards l. */
static int sterf_begin_sweep(sterf_lane *st, double e2, double dn, double p, ptrdiff_t m,
                             ptrdiff_t i0)
{
    if (st->jtot == st->nmaxit)
        return STERF_NOCONV;
    st->jtot++;
    const double rte = sqrt(e2);
    double sigma = (dn - p) / (2.0 * rte);
    const double r = lapy2_one(sigma);
    sigma = p - (rte / (sigma + copysign(r, sigma)));
    st->sigma = sigma;
    st->c = 1.0;
    st->s = 0.0;
    st->gamma = st->d[m] - sigma;
    st->p = st->gamma * st->gamma;
    st->m = m;
    st->i = i0;
    return STERF_SWEEP;
}

/* Run dsterf's control flow until the next sweep (STERF_SWEEP, sweep state
 * set) or the end of the matrix. */
static int sterf_advance(sterf_lane *st)
{
    const double eps = 0x1p-53, eps2 = eps * eps; /* dlamch('E') */
    const double safmin = 0x1p-1022, safmax = 1.0 / safmin;
    const double ssfmax = sqrt(safmax) / 3.0, ssfmin = sqrt(safmin) / eps2;
    double *d = st->d, *e = st->e;
    const ptrdiff_t n = st->n;
    for (;;) {
        if (!st->in_block) {
            ptrdiff_t l1 = st->l1, m, i;
            if (l1 > n) {
                qsort(d + 1, (size_t)n, sizeof(double), cmp_double);
                return STERF_DONE;
            }
            if (l1 > 1)
                e[l1 - 1] = 0.0;
            for (m = l1; m <= n - 1; ++m)
                if (fabs(e[m]) <= (sqrt(fabs(d[m])) * sqrt(fabs(d[m + 1]))) * eps) {
                    e[m] = 0.0;
                    break;
                }
            if (m > n - 1)
                m = n;
            st->l = l1;
            st->lsv = l1;
            st->lend = m;
            st->lendsv = m;
            st->l1 = m + 1;
            if (st->lend == st->l)
                continue;
            double anorm = 0.0; /* dlanst('M') */
            for (i = st->l; i <= st->lend; ++i)
                if (anorm < fabs(d[i]) || isnan(d[i]))
                    anorm = fabs(d[i]);
            for (i = st->l; i < st->lend; ++i)
                if (anorm < fabs(e[i]) || isnan(e[i]))
                    anorm = fabs(e[i]);
            if (anorm == 0.0)
                continue;
            if (!(anorm <= ssfmax && anorm >= ssfmin))
                return STERF_FALLBACK; /* dsterf would rescale the block */
            for (i = st->l; i <= st->lend - 1; ++i)
                e[i] = e[i] * e[i];
            if (fabs(d[st->lend]) < fabs(d[st->l])) {
                st->lend = st->lsv;
                st->l = st->lendsv;
            }
            st->ql = st->lend >= st->l;
            st->in_block = 1;
        }
        const ptrdiff_t l = st->l, lend = st->lend;
        ptrdiff_t m;
        double p, rte, rt1, rt2;
        if (st->ql) {
            m = lend;
            if (l != lend)
                for (m = l; m <= lend - 1; ++m)
                    if (fabs(e[m]) <= eps2 * fabs(d[m] * d[m + 1]))
                        break;
            if (m < lend)
                e[m] = 0.0;
            p = d[l];
            if (m == l) {
                d[l] = p;
                st->l = l + 1;
                if (st->l > lend)
                    st->in_block = 0;
                continue;
            }
            if (m == l + 1) {
                rte = sqrt(e[l]);
                lae2(d[l], rte, d[l + 1], &rt1, &rt2);
                d[l] = rt1;
                d[l + 1] = rt2;
                e[l] = 0.0;
                st->l = l + 2;
                if (st->l > lend)
                    st->in_block = 0;
                continue;
            }
            return sterf_begin_sweep(st, e[l], d[l + 1], p, m, m - 1);
        } else {
            for (m = l; m >= lend + 1; --m)
                if (fabs(e[m - 1]) <= eps2 * fabs(d[m] * d[m - 1]))
                    break;
            if (m < lend + 1)
                m = lend;
            if (m > lend)
                e[m - 1] = 0.0;
            p = d[l];
            if (m == l) {
                d[l] = p;
                st->l = l - 1;
                if (st->l < lend)
                    st->in_block = 0;
                continue;
            }
            if (m == l - 1) {
                rte = sqrt(e[l - 1]);
                lae2(d[l], rte, d[l - 1], &rt1, &rt2);
                d[l] = rt1;
                d[l - 1] = rt2;
                e[l - 1] = 0.0;
                st->l = l - 2;
                if (st->l < lend)
                    st->in_block = 0;
                continue;
            }
            return sterf_begin_sweep(st, e[l - 1], d[l - 1], p, m, m);
        }
    }
}

/* One step of the lane's sweep; returns 1 when the sweep is complete. */
static inline int sterf_step(sterf_lane *st)
{
    double *d = st->d, *e = st->e;
    const ptrdiff_t i = st->i;
    const double bb = e[i], r = st->p + bb, sigma = st->sigma;
    const double oldc = st->c, oldgam = st->gamma;
    if (st->ql) {
        if (i != st->m - 1)
            e[i + 1] = st->s * r;
        const double c = st->p / r, s = bb / r, alpha = d[i];
        const double gamma = c * (alpha - sigma) - s * oldgam;
        d[i + 1] = oldgam + (alpha - gamma);
        st->p = (c != 0.0) ? (gamma * gamma) / c : oldc * bb;
        st->c = c;
        st->s = s;
        st->gamma = gamma;
        if (--st->i >= st->l)
            return 0;
        e[st->l] = s * st->p;
        d[st->l] = sigma + gamma;
    } else {
        if (i != st->m)
            e[i - 1] = st->s * r;
        const double c = st->p / r, s = bb / r, alpha = d[i + 1];
        const double gamma = c * (alpha - sigma) - s * oldgam;
        d[i] = oldgam + (alpha - gamma);
        st->p = (c != 0.0) ? (gamma * gamma) / c : oldc * bb;
        st->c = c;
        st->s = s;
        st->gamma = gamma;
        if (++st->i <= st->l - 1)
            return 0;
        e[st->l - 1] = s * st->p;
        d[st->l] = sigma + gamma;
    }
    return 1;
}

static void sterf_load(sterf_lane *st, ptrdiff_t n, double *d, double *e, ptrdiff_t row)
{
    memset(st, 0, sizeof *st);
    st->d = d - 1;
    st->e = e - 1;
    st->n = n;
    st->l1 = 1;
    st->row = row;
    st->nmaxit = n * STERF_MAXIT;
}

ptrdiff_t fgr_sterf_rows(ptrdiff_t rows, ptrdiff_t n, double *diag, double *off, ptrdiff_t ld,
                         int *status)
{
    sterf_lane lane[FGR_STERF_LANES];
    int busy[FGR_STERF_LANES];
    ptrdiff_t next = 0, nbusy = 0, nfail = 0;
    if (n <= 1) {
        for (ptrdiff_t r = 0; r < rows; ++r)
            status[r] = 0;
        return 0;
    }
    for (int k = 0; k < FGR_STERF_LANES; ++k)
        busy[k] = 0;
    for (;;) {
        /* fill idle lanes with the next matrices, up to their first sweep */
        for (int k = 0; k < FGR_STERF_LANES; ++k) {
            while (!busy[k] && next < rows) {
                const ptrdiff_t r = next++;
                sterf_load(&lane[k], n, diag + r * ld, off + r * ld, r);
                const int a = sterf_advance(&lane[k]);
                if (a == STERF_SWEEP) {
                    busy[k] = 1;
                    ++nbusy;
                } else {
                    status[r] = (a == STERF_DONE) ? 0 : a;
                    nfail += a != STERF_DONE;
                }
            }
        }
        if (nbusy == 0)
            return nfail;
        /* one sweep step per busy lane: independent dependency chains */
        for (int k = 0; k < FGR_STERF_LANES; ++k) {
            if (!busy[k] || !sterf_step(&lane[k]))
                continue;
            const int a = sterf_advance(&lane[k]);
            if (a != STERF_SWEEP) {
                status[lane[k].row] = (a == STERF_DONE) ? 0 : a;
                nfail += a != STERF_DONE;
                busy[k] = 0;
                --nbusy;
            }
        }
    }
}
