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
#include <stdint.h>
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
    int vec; /* the deflation scans may use AVX-512 */
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

/* dsterf's test for a negligible off-diagonal element (e holds squares) */
#define STERF_EPS2 (0x1p-53 * 0x1p-53)

/* QL: the first m in [l, lend) with |e[m]| <= eps^2 |d[m] d[m+1]|, else lend. */
static ptrdiff_t sterf_scan_ql(const double *d, const double *e, ptrdiff_t l, ptrdiff_t lend)
{
    ptrdiff_t m;
    for (m = l; m < lend; ++m)
        if (fabs(e[m]) <= STERF_EPS2 * fabs(d[m] * d[m + 1]))
            break;
    return m;
}

/* QR: the largest m in (lend, l] with |e[m-1]| <= eps^2 |d[m] d[m-1]|, else lend. */
static ptrdiff_t sterf_scan_qr(const double *d, const double *e, ptrdiff_t l, ptrdiff_t lend)
{
    ptrdiff_t m;
    for (m = l; m > lend; --m)
        if (fabs(e[m - 1]) <= STERF_EPS2 * fabs(d[m] * d[m - 1]))
            break;
    return m;
}

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) \
    && !defined(FGR_NO_MULTIVERSIONING) && FGR_STERF_LANES == 16
#include <immintrin.h>
#define STERF_HAVE_AVX512 1
#define STERF_AVX512 __attribute__((target("avx512f")))

/* The scans eight elements at a time (the same products and comparisons). */
STERF_AVX512 static ptrdiff_t sterf_scan_ql_vec(const double *d, const double *e, ptrdiff_t l,
                                                ptrdiff_t lend)
{
    const __m512d eps2 = _mm512_set1_pd(STERF_EPS2);
    ptrdiff_t m = l;
    for (; m + 8 <= lend; m += 8) {
        const __m512d x = _mm512_abs_pd(_mm512_loadu_pd(e + m));
        const __m512d y = _mm512_mul_pd(eps2, _mm512_abs_pd(_mm512_mul_pd(_mm512_loadu_pd(d + m),
                                                                          _mm512_loadu_pd(d + m + 1))));
        const unsigned hit = _mm512_cmp_pd_mask(x, y, _CMP_LE_OQ);
        if (hit)
            return m + __builtin_ctz(hit);
    }
    return sterf_scan_ql(d, e, m, lend);
}

STERF_AVX512 static ptrdiff_t sterf_scan_qr_vec(const double *d, const double *e, ptrdiff_t l,
                                                ptrdiff_t lend)
{
    const __m512d eps2 = _mm512_set1_pd(STERF_EPS2);
    ptrdiff_t m = l;
    /* m - 7 .. m at once: e[m - 8 .. m - 1], d[m - 7 .. m], d[m - 8 .. m - 1] */
    for (; m - 8 >= lend; m -= 8) {
        const __m512d x = _mm512_abs_pd(_mm512_loadu_pd(e + m - 8));
        const __m512d y = _mm512_mul_pd(eps2, _mm512_abs_pd(_mm512_mul_pd(_mm512_loadu_pd(d + m - 7),
                                                                          _mm512_loadu_pd(d + m - 8))));
        const unsigned hit = _mm512_cmp_pd_mask(x, y, _CMP_LE_OQ);
        if (hit)
            return m - 7 + (31 - __builtin_clz(hit));
    }
    return sterf_scan_qr(d, e, m, lend);
}
#else
#define sterf_scan_ql_vec sterf_scan_ql
#define sterf_scan_qr_vec sterf_scan_qr
#endif

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
            m = st->vec ? sterf_scan_ql_vec(d, e, l, lend) : sterf_scan_ql(d, e, l, lend);
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
            m = st->vec ? sterf_scan_qr_vec(d, e, l, lend) : sterf_scan_qr(d, e, l, lend);
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

static void sterf_load(sterf_lane *st, ptrdiff_t n, double *d, double *e, ptrdiff_t row, int vec)
{
    memset(st, 0, sizeof *st);
    st->vec = vec;
    st->d = d - 1;
    st->e = e - 1;
    st->n = n;
    st->l1 = 1;
    st->row = row;
    st->nmaxit = n * STERF_MAXIT;
}

struct fgr_sterf_batch {
    sterf_lane lane[FGR_STERF_LANES];
    int busy[FGR_STERF_LANES];
    ptrdiff_t rows, n, ld, next, nbusy, nfail;
    int vec; /* lanes use the AVX-512 scans (set by the vector runner) */
    double *diag, *off;
    int *status;
};

size_t fgr_sterf_batch_size(void)
{
    return sizeof(fgr_sterf_batch);
}

void fgr_sterf_begin(fgr_sterf_batch *b, ptrdiff_t rows, ptrdiff_t n, double *diag, double *off,
                     ptrdiff_t ld, int *status)
{
    memset(b, 0, sizeof *b);
    b->rows = rows;
    b->n = n;
    b->ld = ld;
    b->diag = diag;
    b->off = off;
    b->status = status;
    if (n <= 1) {
        for (ptrdiff_t r = 0; r < rows; ++r)
            status[r] = 0;
        b->next = rows;
    }
}

ptrdiff_t fgr_sterf_failed(const fgr_sterf_batch *b)
{
    return b->nfail;
}

/* The lane's matrix is finished (a != STERF_SWEEP): record its outcome. */
static void sterf_retire(fgr_sterf_batch *b, int k, int a)
{
    b->status[b->lane[k].row] = (a == STERF_DONE) ? 0 : a;
    b->nfail += a != STERF_DONE;
    b->busy[k] = 0;
    --b->nbusy;
}

/* Lane k continues after a sweep (or is idle): its next sweep, or the next
 * matrices until one needs a sweep.  Returns whether the lane is busy. */
static int sterf_continue(fgr_sterf_batch *b, int k)
{
    if (b->busy[k]) {
        const int a = sterf_advance(&b->lane[k]);
        if (a == STERF_SWEEP)
            return 1;
        sterf_retire(b, k, a);
    }
    while (b->next < b->rows) {
        const ptrdiff_t r = b->next++;
        sterf_load(&b->lane[k], b->n, b->diag + r * b->ld, b->off + r * b->ld, r, b->vec);
        b->busy[k] = 1;
        ++b->nbusy;
        const int a = sterf_advance(&b->lane[k]);
        if (a == STERF_SWEEP)
            return 1;
        sterf_retire(b, k, a);
    }
    return 0;
}

/* Fill idle lanes k < nlanes with the next matrices, each up to its first sweep. */
static void sterf_fill(fgr_sterf_batch *b, int nlanes)
{
    for (int k = 0; k < nlanes; ++k)
        if (!b->busy[k])
            sterf_continue(b, k);
}

/* Interleaved scalar lanes: one sweep step per busy lane in turn.  Eight
 * lanes hide the divisions' latency; more only add bookkeeping. */
#define STERF_SCALAR_LANES 8
static int sterf_run_scalar(fgr_sterf_batch *b, ptrdiff_t budget)
{
    sterf_fill(b, STERF_SCALAR_LANES);
    for (;;) {
        if (b->nbusy == 0)
            return 1;
        if (budget <= 0)
            return 0;
        /* every busy lane steps (a batch begun by the vector runner may have
         * busy lanes >= STERF_SCALAR_LANES); new matrices go to the first ones */
        for (int k = 0; k < FGR_STERF_LANES; ++k) {
            if (!b->busy[k])
                continue;
            --budget;
            if (!sterf_step(&b->lane[k]))
                continue;
            if (k < STERF_SCALAR_LANES) {
                sterf_continue(b, k);
            } else {
                const int a = sterf_advance(&b->lane[k]);
                if (a != STERF_SWEEP)
                    sterf_retire(b, k, a);
            }
        }
    }
}

#ifdef STERF_HAVE_AVX512
/*
 * Eight lanes' sweep steps as one vector step: vector lane k holds matrix k's
 * sweep state (p, c, s, gamma, sigma and its position i); it reads and
 * writes its own matrix at per-lane addresses (sterf_load8/sterf_store8:
 * scalar loads and stores, a third of the cost of hardware gathers and
 * scatters here; a sweep's rare last step uses a masked scatter).  Every
 * lane performs sterf_step's IEEE operations in the same order (vector
 * division and multiplication are correctly rounded as the scalar ones; no
 * FMA), so the results are bitwise those of the scalar lanes.  With q = 0
 * (QL, i descending) or q = 1 (QR, i ascending) a step reads e[i] and
 * d[i + q] and writes d[i + 1 - q] and, except in a sweep's first step,
 * e[i + 1 - 2q]; a sweep's last step also writes e[i] and d[i + q].  One
 * step is a chain of two dependent divisions (~40 cycles of latency), so two
 * independent groups of eight lanes are stepped in turn to keep the divider
 * busy.  The scalar control (deflation, shifts, 2x2 blocks) runs per lane
 * between sweeps, which are ~n/2 steps long.
 */
typedef struct {
    __m512d p, c, s, gamma, sigma;
    __m512i ea, da, rem, step, dread, dwrite, ewrite;
    __mmask8 act, skip_e;
} sterf_vec;

/* Vector lane k <- lane st's sweep state (active), or inactive (st == NULL). */
STERF_AVX512 static void sterf_vec_put(sterf_vec *v, int k, const sterf_lane *st)
{
    /* an idle lane reads here (its writes go to the run's sink) */
    static const double dummy_slot[1] = {0.0};
    const __mmask8 m = (__mmask8)(1u << k);
    if (st == NULL) {
        const __m512i z = _mm512_setzero_si512();
        v->act &= (__mmask8)~m;
        v->ea = _mm512_mask_set1_epi64(v->ea, m, (long long)(intptr_t)dummy_slot);
        v->da = _mm512_mask_set1_epi64(v->da, m, (long long)(intptr_t)dummy_slot);
        v->dread = _mm512_mask_mov_epi64(v->dread, m, z);
        v->dwrite = _mm512_mask_mov_epi64(v->dwrite, m, z);
        v->ewrite = _mm512_mask_mov_epi64(v->ewrite, m, z);
        v->step = _mm512_mask_mov_epi64(v->step, m, z);
        return;
    }
    const long long q = st->ql ? 0 : 1;
    v->act |= m;
    v->p = _mm512_mask_mov_pd(v->p, m, _mm512_set1_pd(st->p));
    v->c = _mm512_mask_mov_pd(v->c, m, _mm512_set1_pd(st->c));
    v->s = _mm512_mask_mov_pd(v->s, m, _mm512_set1_pd(st->s));
    v->gamma = _mm512_mask_mov_pd(v->gamma, m, _mm512_set1_pd(st->gamma));
    v->sigma = _mm512_mask_mov_pd(v->sigma, m, _mm512_set1_pd(st->sigma));
    v->ea = _mm512_mask_set1_epi64(v->ea, m, (long long)(intptr_t)(st->e + st->i));
    v->da = _mm512_mask_set1_epi64(v->da, m, (long long)(intptr_t)(st->d + st->i));
    v->rem = _mm512_mask_set1_epi64(v->rem, m, st->ql ? st->i - st->l + 1 : st->l - st->i);
    v->step = _mm512_mask_set1_epi64(v->step, m, st->ql ? -8 : 8); /* bytes per step */
    /* byte offsets from &d[i] of d[i + q] and d[i + 1 - q], from &e[i] of e[i + 1 - 2q] */
    v->dread = _mm512_mask_set1_epi64(v->dread, m, 8 * q);
    v->dwrite = _mm512_mask_set1_epi64(v->dwrite, m, 8 - 8 * q);
    v->ewrite = _mm512_mask_set1_epi64(v->ewrite, m, 8 - 16 * q);
    if (st->ql ? (st->i == st->m - 1) : (st->i == st->m))
        v->skip_e |= m;
    else
        v->skip_e &= (__mmask8)~m;
}

STERF_AVX512 static void sterf_vec_load(sterf_vec *v, const fgr_sterf_batch *b, int k0)
{
    const __m512d z = _mm512_setzero_pd();
    const __m512i zi = _mm512_setzero_si512();
    v->p = v->c = v->s = v->gamma = v->sigma = z;
    v->ea = v->da = v->rem = v->step = v->dread = v->dwrite = v->ewrite = zi;
    v->act = v->skip_e = 0;
    for (int k = 0; k < 8; ++k)
        sterf_vec_put(v, k, b->busy[k0 + k] ? &b->lane[k0 + k] : NULL);
}

/* The sweeps of the lanes in fin have ended: each lane goes on (scalar
 * control) with its next sweep or matrix, or becomes idle. */
STERF_AVX512 static void sterf_vec_next(sterf_vec *v, fgr_sterf_batch *b, int k0, __mmask8 fin)
{
    for (int k = 0; k < 8; ++k)
        if (fin >> k & 1)
            sterf_vec_put(v, k, sterf_continue(b, k0 + k) ? &b->lane[k0 + k] : NULL);
}

/* Store the group's sweep state back into its lanes. */
STERF_AVX512 static void sterf_vec_store(const sterf_vec *v, fgr_sterf_batch *b, int k0)
{
    double P[8], C[8], S[8], G[8];
    long long REM[8];
    _mm512_storeu_pd(P, v->p);
    _mm512_storeu_pd(C, v->c);
    _mm512_storeu_pd(S, v->s);
    _mm512_storeu_pd(G, v->gamma);
    _mm512_storeu_si512(REM, v->rem);
    for (int k = 0; k < 8; ++k) {
        if (!(v->act >> k & 1))
            continue;
        sterf_lane *st = &b->lane[k0 + k];
        st->p = P[k];
        st->c = C[k];
        st->s = S[k];
        st->gamma = G[k];
        st->i = st->ql ? st->l - 1 + REM[k] : st->l - REM[k];
    }
}

/* The lanes' values at per-lane addresses, and stores to them (lanes outside
 * m write to the sink instead).  Scalar loads and stores through the
 * addresses cost a third of a hardware gather/scatter on current CPUs. */
STERF_AVX512 static inline __m512d sterf_load8(__m512i addr)
{
    long long a[8];
    _mm512_storeu_si512(a, addr);
#define STERF_AT(k) (*(const double *)(intptr_t)a[k])
    return _mm512_set_pd(STERF_AT(7), STERF_AT(6), STERF_AT(5), STERF_AT(4), STERF_AT(3), STERF_AT(2),
                         STERF_AT(1), STERF_AT(0));
#undef STERF_AT
}

STERF_AVX512 static inline void sterf_store8(__m512i addr, __mmask8 m, __m512d v, __m512i sink)
{
    long long a[8];
    double x[8];
    _mm512_storeu_si512(a, _mm512_mask_blend_epi64(m, sink, addr));
    _mm512_storeu_pd(x, v);
    for (int k = 0; k < 8; ++k)
        *(double *)(intptr_t)a[k] = x[k];
}

/* The group's state as local variables (V##p, ...), which the compiler keeps
 * in registers; the scalar control of lanes whose sweep ended goes through a
 * sterf_vec copy (rare: once per ~n/2 steps of a lane). */
#define STERF_VEC_LOCALS(V)                                                                 \
    __m512d V##p, V##c, V##s, V##gamma, V##sigma;                                           \
    __m512i V##ea, V##da, V##rem, V##step, V##dread, V##dwrite, V##ewrite;                  \
    __mmask8 V##act, V##skip_e
#define STERF_VEC_UNPACK(V, T)                                                              \
    (V##p = (T).p, V##c = (T).c, V##s = (T).s, V##gamma = (T).gamma, V##sigma = (T).sigma,  \
     V##ea = (T).ea, V##da = (T).da, V##rem = (T).rem, V##step = (T).step,                  \
     V##dread = (T).dread, V##dwrite = (T).dwrite, V##ewrite = (T).ewrite, V##act = (T).act, \
     V##skip_e = (T).skip_e)
#define STERF_VEC_PACK(T, V)                                                                \
    ((T).p = V##p, (T).c = V##c, (T).s = V##s, (T).gamma = V##gamma, (T).sigma = V##sigma,  \
     (T).ea = V##ea, (T).da = V##da, (T).rem = V##rem, (T).step = V##step,                  \
     (T).dread = V##dread, (T).dwrite = V##dwrite, (T).ewrite = V##ewrite, (T).act = V##act, \
     (T).skip_e = V##skip_e)
/* sterf_vec_step on the locals V##..., then the control of ended sweeps */
#define STERF_VEC_STEP(V, K0)                                                               \
    do {                                                                                    \
        if (!V##act)                                                                        \
            break;                                                                          \
        const __m512d bb_ = sterf_load8(V##ea);                                             \
        const __m512d alpha_ = sterf_load8(_mm512_add_epi64(V##da, V##dread));              \
        const __m512d r_ = _mm512_add_pd(V##p, bb_);                                        \
        sterf_store8(_mm512_add_epi64(V##ea, V##ewrite), V##act & ~V##skip_e,               \
                     _mm512_mul_pd(V##s, r_), sink);                                        \
        const __m512d cn_ = _mm512_div_pd(V##p, r_), sn_ = _mm512_div_pd(bb_, r_);          \
        const __m512d gn_ = _mm512_sub_pd(_mm512_mul_pd(cn_, _mm512_sub_pd(alpha_, V##sigma)), \
                                          _mm512_mul_pd(sn_, V##gamma));                    \
        sterf_store8(_mm512_add_epi64(V##da, V##dwrite), V##act,                             \
                     _mm512_add_pd(V##gamma, _mm512_sub_pd(alpha_, gn_)), sink);            \
        /* p = c != 0 ? gamma^2 / c : oldc bb */                                            \
        const __mmask8 cnz_ = _mm512_cmp_pd_mask(cn_, zero, _CMP_NEQ_UQ);                   \
        const __m512d pn_ = _mm512_mask_div_pd(_mm512_mul_pd(V##c, bb_), cnz_,              \
                                               _mm512_mul_pd(gn_, gn_), cn_);               \
        V##p = _mm512_mask_mov_pd(V##p, V##act, pn_);                                       \
        V##c = _mm512_mask_mov_pd(V##c, V##act, cn_);                                       \
        V##s = _mm512_mask_mov_pd(V##s, V##act, sn_);                                       \
        V##gamma = _mm512_mask_mov_pd(V##gamma, V##act, gn_);                               \
        V##skip_e &= (__mmask8)~V##act;                                                     \
        V##rem = _mm512_mask_sub_epi64(V##rem, V##act, V##rem, ione);                       \
        const __mmask8 fin_ = V##act & _mm512_cmpeq_epi64_mask(V##rem, izero);              \
        if (__builtin_expect(fin_ != 0, 0)) {                                               \
            /* the sweep's last step: e[i] = s p, d[i + q] = sigma + gamma */               \
            _mm512_mask_i64scatter_pd((void *)0, fin_, V##ea, _mm512_mul_pd(V##s, V##p), 1); \
            _mm512_mask_i64scatter_pd((void *)0, fin_, _mm512_add_epi64(V##da, V##dread),   \
                                      _mm512_add_pd(V##sigma, V##gamma), 1);                \
            V##ea = _mm512_mask_add_epi64(V##ea, V##act, V##ea, V##step);                   \
            V##da = _mm512_mask_add_epi64(V##da, V##act, V##da, V##step);                   \
            STERF_VEC_PACK(t, V);                                                           \
            sterf_vec_next(&t, b, K0, fin_);                                                \
            STERF_VEC_UNPACK(V, t);                                                         \
        } else {                                                                            \
            V##ea = _mm512_mask_add_epi64(V##ea, V##act, V##ea, V##step);                   \
            V##da = _mm512_mask_add_epi64(V##da, V##act, V##da, V##step);                   \
        }                                                                                   \
    } while (0)

STERF_AVX512 static int sterf_run_avx512(fgr_sterf_batch *b, ptrdiff_t budget)
{
    const __m512d zero = _mm512_setzero_pd();
    const __m512i ione = _mm512_set1_epi64(1), izero = _mm512_setzero_si512();
    double sink_slot[1];
    const __m512i sink = _mm512_set1_epi64((long long)(intptr_t)sink_slot);
    sterf_vec t;
    b->vec = 1;
    STERF_VEC_LOCALS(a_);
    STERF_VEC_LOCALS(b_);
    sterf_fill(b, FGR_STERF_LANES);
    sterf_vec_load(&t, b, 0);
    STERF_VEC_UNPACK(a_, t);
    sterf_vec_load(&t, b, 8);
    STERF_VEC_UNPACK(b_, t);
    while (b->nbusy > 0) {
        if (budget <= 0) {
            STERF_VEC_PACK(t, a_);
            sterf_vec_store(&t, b, 0);
            STERF_VEC_PACK(t, b_);
            sterf_vec_store(&t, b, 8);
            return 0;
        }
        STERF_VEC_STEP(a_, 0);
        STERF_VEC_STEP(b_, 8);
        budget -= FGR_STERF_LANES;
    }
    return 1;
}

#endif

int fgr_sterf_run(fgr_sterf_batch *b, ptrdiff_t budget, int path)
{
    path = fgr_path_resolve(path);
#ifdef STERF_HAVE_AVX512
    if (path == FGR_PATH_AVX512)
        return sterf_run_avx512(b, budget);
#endif
    return sterf_run_scalar(b, budget);
}
