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
    int scan; /* STERF_SCAN_*: the instructions of the lane's deflation scans */
    /* sweep state */
    double p, c, s, gamma, sigma;
} sterf_lane;

enum { STERF_SWEEP = 0, STERF_DONE = 1, STERF_FALLBACK = 2, STERF_NOCONV = 3 };

/* The deflation scans a lane runs, fixed when the lane is loaded: the runner
 * that loads it sets the batch's choice to its own instructions, which the CPU
 * can therefore run whichever runner continues the lane. */
enum { STERF_SCAN_SCALAR = 0, STERF_SCAN_AVX2 = 1, STERF_SCAN_AVX512 = 2 };

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

/* LAPACK dlasrt('I', n, d): dsterf's final sort, step for step (median-of-3
 * quicksort, insertion sort on parts of at most 21 entries), so that entries
 * that compare equal (+0 and -0) end in LAPACK's order on every platform;
 * a C library's qsort would order them as it likes.  d is 1-based. */
static void sterf_sort(double *d, ptrdiff_t n)
{
    /* (start, end) pairs; the smaller part is always sorted first, so at
     * most log2(n) + 1 are pending (dlasrt keeps 32) */
    ptrdiff_t stack[2 * 64], top;
    if (n <= 1)
        return;
    stack[0] = 1;
    stack[1] = n;
    top = 1;
    while (top > 0) {
        --top;
        const ptrdiff_t start = stack[2 * top], endd = stack[2 * top + 1];
        if (endd - start <= 20 && endd - start > 0) {
            for (ptrdiff_t i = start + 1; i <= endd; ++i)
                for (ptrdiff_t j = i; j >= start + 1 && d[j] < d[j - 1]; --j) {
                    const double t = d[j];
                    d[j] = d[j - 1];
                    d[j - 1] = t;
                }
        } else if (endd - start > 20) {
            const double d1 = d[start], d2 = d[endd], d3 = d[(start + endd) / 2];
            double pivot;
            if (d1 < d2)
                pivot = d3 < d1 ? d1 : (d3 < d2 ? d3 : d2);
            else
                pivot = d3 < d2 ? d2 : (d3 < d1 ? d3 : d1);
            ptrdiff_t i = start - 1, j = endd + 1;
            for (;;) {
                do
                    --j;
                while (d[j] > pivot);
                do
                    ++i;
                while (d[i] < pivot);
                if (i >= j)
                    break;
                const double t = d[i];
                d[i] = d[j];
                d[j] = t;
            }
            /* the larger part first: the smaller is sorted next */
            if (j - start > endd - j - 1) {
                stack[2 * top] = start;
                stack[2 * top + 1] = j;
                stack[2 * top + 2] = j + 1;
                stack[2 * top + 3] = endd;
            } else {
                stack[2 * top] = j + 1;
                stack[2 * top + 1] = endd;
                stack[2 * top + 2] = start;
                stack[2 * top + 3] = j;
            }
            top += 2;
        }
    }
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

#if defined(FGR_HAVE_X86_PATHS) && FGR_STERF_LANES == 16
#include <immintrin.h>
#define STERF_HAVE_VEC 1
#define STERF_AVX512 __attribute__((target("avx512f")))
/* AVX2 only: no FMA, so that nothing could contract into one */
#define STERF_AVX2 __attribute__((target("avx2")))

/* Bit j: the scans' test for element j of 8 (x = e + j against d0[j] d1[j]),
 * the same product and comparison as the scalar scan. */
STERF_AVX512 static inline unsigned sterf_hits8_avx512(const double *x, const double *d0,
                                                       const double *d1)
{
    const __m512d y = _mm512_abs_pd(_mm512_mul_pd(_mm512_loadu_pd(d0), _mm512_loadu_pd(d1)));
    return _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_loadu_pd(x)),
                              _mm512_mul_pd(_mm512_set1_pd(STERF_EPS2), y), _CMP_LE_OQ);
}

STERF_AVX2 static inline unsigned sterf_hits8_avx2(const double *x, const double *d0,
                                                   const double *d1)
{
    const __m256d sign = _mm256_set1_pd(-0.0), eps2 = _mm256_set1_pd(STERF_EPS2);
    unsigned hit = 0;
    for (int h = 0; h < 8; h += 4) {
        const __m256d y = _mm256_andnot_pd(sign, _mm256_mul_pd(_mm256_loadu_pd(d0 + h),
                                                               _mm256_loadu_pd(d1 + h)));
        const __m256d t = _mm256_cmp_pd(_mm256_andnot_pd(sign, _mm256_loadu_pd(x + h)),
                                        _mm256_mul_pd(eps2, y), _CMP_LE_OQ);
        hit |= (unsigned)_mm256_movemask_pd(t) << h;
    }
    return hit;
}

/* sterf_scan_ql/qr eight elements at a time with sterf_hits8_ISA */
#define STERF_VEC_SCANS(ISA, TARGET)                                                              \
    TARGET static ptrdiff_t sterf_scan_ql_##ISA(const double *d, const double *e, ptrdiff_t l,    \
                                                ptrdiff_t lend)                                   \
    {                                                                                             \
        ptrdiff_t m = l;                                                                          \
        for (; m + 8 <= lend; m += 8) {                                                           \
            const unsigned hit = sterf_hits8_##ISA(e + m, d + m, d + m + 1);                      \
            if (hit)                                                                              \
                return m + __builtin_ctz(hit);                                                    \
        }                                                                                         \
        return sterf_scan_ql(d, e, m, lend);                                                      \
    }                                                                                             \
    /* m - 7 .. m at once: e[m - 8 .. m - 1], d[m - 7 .. m], d[m - 8 .. m - 1] */                 \
    TARGET static ptrdiff_t sterf_scan_qr_##ISA(const double *d, const double *e, ptrdiff_t l,    \
                                                ptrdiff_t lend)                                   \
    {                                                                                             \
        ptrdiff_t m = l;                                                                          \
        for (; m - 8 >= lend; m -= 8) {                                                           \
            const unsigned hit = sterf_hits8_##ISA(e + m - 8, d + m - 7, d + m - 8);              \
            if (hit)                                                                              \
                return m - 7 + (31 - __builtin_clz(hit));                                         \
        }                                                                                         \
        return sterf_scan_qr(d, e, m, lend);                                                      \
    }
STERF_VEC_SCANS(avx512, STERF_AVX512)
STERF_VEC_SCANS(avx2, STERF_AVX2)
#endif

/* The lane's deflation scan (QL or QR) with its instructions. */
static ptrdiff_t sterf_scan(const sterf_lane *st, ptrdiff_t l, ptrdiff_t lend)
{
    const double *d = st->d, *e = st->e;
#ifdef STERF_HAVE_VEC
    if (st->scan == STERF_SCAN_AVX512)
        return st->ql ? sterf_scan_ql_avx512(d, e, l, lend) : sterf_scan_qr_avx512(d, e, l, lend);
    if (st->scan == STERF_SCAN_AVX2)
        return st->ql ? sterf_scan_ql_avx2(d, e, l, lend) : sterf_scan_qr_avx2(d, e, l, lend);
#endif
    return st->ql ? sterf_scan_ql(d, e, l, lend) : sterf_scan_qr(d, e, l, lend);
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
                sterf_sort(d, n);
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
            m = sterf_scan(st, l, lend);
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
            m = sterf_scan(st, l, lend);
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

static void sterf_load(sterf_lane *st, ptrdiff_t n, double *d, double *e, ptrdiff_t row, int scan)
{
    memset(st, 0, sizeof *st);
    st->scan = scan;
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
    int scan; /* STERF_SCAN_* of lanes loaded from now on (the last vector runner's) */
    double *diag, *off;
    int *status;
    /* what idle vector lanes read and write: the step maps (e, d) = (0, 1) with
     * p = c = gamma = 1, s = sigma = 0 to itself exactly (sterf_group_put) */
    double idle_e, idle_d;
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
        sterf_load(&b->lane[k], b->n, b->diag + r * b->ld, b->off + r * b->ld, r, b->scan);
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

/* Vector lanes in portable GNU C vectors (GCC, Clang) for the generic path:
 * what CPUs without a dedicated path (ARM, POWER, x86 without AVX2) run. */
#if defined(__GNUC__) && FGR_STERF_LANES == 16
#define STERF_HAVE_GROUPS 1
#endif
/* the x86 runners below need the group code */
#if defined(STERF_HAVE_VEC) && !defined(STERF_HAVE_GROUPS)
#error "the x86 vector lanes need the GNU C group code"
#endif

#ifdef STERF_HAVE_GROUPS
/*
 * A group of lanes' sweep steps as one vector step (8 lanes in __m512d, 4 in
 * __m256d, or 2 in a portable vector): vector lane k holds matrix k's sweep
 * state (p, c, s, gamma, sigma and its position i); it reads and writes its
 * own matrix at per-lane addresses (scalar loads and stores through the
 * addresses: a third of the cost of AVX-512 gathers and scatters here, and
 * ~10% faster overall than AVX2 gathers).  Every lane performs sterf_step's
 * IEEE operations in the same order (vector division and
 * multiplication are correctly rounded as the scalar ones; no FMA), so the
 * results are bitwise those of the scalar lanes.  With q = 0 (QL, i
 * descending) or q = 1 (QR, i ascending) a step reads e[i] and d[i + q] and
 * writes d[i + 1 - q] and e[i + 1 - 2q]; a sweep's first step (which must not
 * write e) runs in scalar code before the lane enters the vector
 * (sterf_group_put), its last step's extra stores e[i] = s p and d[i + q] =
 * sigma + gamma after it leaves (sterf_group_next).  One step is a chain of
 * two dependent divisions (~40 cycles of latency), so independent groups
 * (2 x 8, 4 x 4 or 4 x 2 lanes) are stepped in turn to keep the divider
 * busy.  The scalar control (deflation, shifts, 2x2 blocks) runs per lane between
 * sweeps, which are ~n/2 steps long.
 *
 * The vector step has no masks: an idle lane steps at a fixed point on the
 * batch's idle slots, and a group counts its steps up to the first lane's
 * sweep end (until) instead of counting down per lane.  Between vector steps
 * a group lives in registers (the runner's locals); the rare scalar work on
 * it (a sweep ended, the slice ended) goes through sterf_group, the
 * registers' image in memory, with code shared by all instruction sets.
 */

/* The vector fields of a group, F(X, V, T, name, kind) for each (X, V, T:
 * passed through), kind d: doubles, i: 64-bit integers (the addresses of
 * e[i] and d[i + q]; bytes per step: -8 QL, 8 QR, so that the written
 * e[i + 1 - 2q] and d[i + 1 - q] lie one step behind what is read). */
#define STERF_GROUP_FIELDS(F, X, V, T)                                                        \
    F(X, V, T, p, d) F(X, V, T, c, d) F(X, V, T, s, d) F(X, V, T, gamma, d)                     \
    F(X, V, T, sigma, d) F(X, V, T, ea, i) F(X, V, T, dr, i) F(X, V, T, step, i)
typedef double sterf_elt_d;
typedef long long sterf_elt_i;
#define STERF_GROUP_ARRAY(X, V, T, name, kind) sterf_elt_##kind name[8];
typedef struct {
    STERF_GROUP_FIELDS(STERF_GROUP_ARRAY, ~, ~, ~)
    ptrdiff_t end[8];       /* the value of `steps` at the end of lane k's sweep */
    ptrdiff_t steps, until; /* vector steps done; the first end of a busy lane */
    unsigned act;           /* bit k: vector lane k is busy */
} sterf_group;

/* Vector lane k <- lane `lane`'s sweep state, or an idle lane. */
static void sterf_group_put(sterf_group *g, int k, fgr_sterf_batch *b, int lane)
{
    const unsigned bit = 1u << k;
    sterf_lane *st = &b->lane[lane];
    /* A sweep's first step (which must not write e) runs here.  dsterf never
     * starts a sweep shorter than two steps (m - l >= 2), but one that ended
     * here would leave the vector a lane with no step to take and a sweep end
     * already passed, which it would never see: finish it in scalar code. */
    while (b->busy[lane] && (st->ql ? (st->i == st->m - 1) : (st->i == st->m)) && sterf_step(st))
        sterf_continue(b, lane);
    if (!b->busy[lane]) {
        g->act &= ~bit;
        b->idle_e = 0.0;
        b->idle_d = 1.0;
        g->p[k] = g->c[k] = g->gamma[k] = 1.0;
        g->s[k] = g->sigma[k] = 0.0;
        g->ea[k] = (long long)(intptr_t)&b->idle_e;
        g->dr[k] = (long long)(intptr_t)&b->idle_d;
        g->step[k] = 0;
        return;
    }
    const long long q = st->ql ? 0 : 1;
    g->act |= bit;
    g->p[k] = st->p;
    g->c[k] = st->c;
    g->s[k] = st->s;
    g->gamma[k] = st->gamma;
    g->sigma[k] = st->sigma;
    g->ea[k] = (long long)(intptr_t)(st->e + st->i);
    g->dr[k] = (long long)(intptr_t)(st->d + st->i + q);
    g->step[k] = st->ql ? -8 : 8;
    g->end[k] = g->steps + (st->ql ? st->i - st->l + 1 : st->l - st->i);
}

/* until <- the first sweep end */
static void sterf_group_until(sterf_group *g)
{
    ptrdiff_t u = PTRDIFF_MAX;
    for (int k = 0; k < 8; ++k)
        if ((g->act >> k & 1) && g->end[k] < u)
            u = g->end[k];
    g->until = u;
}

/* The group of lanes k0 .. k0 + width - 1. */
static void sterf_group_load(sterf_group *g, fgr_sterf_batch *b, int k0, int width)
{
    memset(g, 0, sizeof *g);
    for (int k = 0; k < width; ++k)
        sterf_group_put(g, k, b, k0 + k);
    sterf_group_until(g);
}

/* Some sweeps have had their last vector step: finish them as sterf_step
 * does (e[i] = s p, d[i + q] = sigma + gamma at the sweep's last i), then
 * each such lane goes on (scalar control) with its next sweep or matrix, or
 * becomes idle. */
static void sterf_group_next(sterf_group *g, fgr_sterf_batch *b, int k0)
{
    for (int k = 0; k < 8; ++k) {
        if (!(g->act >> k & 1) || g->end[k] != g->steps)
            continue;
        sterf_lane *st = &b->lane[k0 + k];
        st->e[st->ql ? st->l : st->l - 1] = g->s[k] * g->p[k];
        st->d[st->l] = g->sigma[k] + g->gamma[k];
        sterf_continue(b, k0 + k);
        sterf_group_put(g, k, b, k0 + k);
    }
    sterf_group_until(g);
}

/* Store the group's sweep state back into its lanes. */
static void sterf_group_store(const sterf_group *g, fgr_sterf_batch *b, int k0)
{
    for (int k = 0; k < 8; ++k) {
        if (!(g->act >> k & 1))
            continue;
        sterf_lane *st = &b->lane[k0 + k];
        const ptrdiff_t rem = g->end[k] - g->steps;
        st->p = g->p[k];
        st->c = g->c[k];
        st->s = g->s[k];
        st->gamma = g->gamma[k];
        st->i = st->ql ? st->l - 1 + rem : st->l - rem;
    }
}

/* The operations of one instruction set, SV(X, op): X = Z (AVX-512, 8 lanes),
 * Y (AVX2, 4 lanes) or G (GNU C vectors of 2 lanes, the generic path). */
#define SV(X, op) STERF_##X##_##op

/* G: two lanes, the width of SSE2 and NEON registers.  Four-lane vectors,
 * which the compiler splits into pairs, ran 2.5x slower than the scalar
 * lanes at baseline x86-64 (the split state went through memory).  +, -, *,
 * / are IEEE per element, as the scalar operations. */
typedef double sterf_g_d __attribute__((vector_size(2 * sizeof(double))));
typedef long long sterf_g_i __attribute__((vector_size(2 * sizeof(long long))));
#define STERF_G_d sterf_g_d
#define STERF_G_i sterf_g_i
#define STERF_G_ldd(a) ({ sterf_g_d gv_v; memcpy(&gv_v, (a), sizeof gv_v); gv_v; })
#define STERF_G_ldi(a) ({ sterf_g_i gv_v; memcpy(&gv_v, (a), sizeof gv_v); gv_v; })
#define STERF_G_std(a, x)                                                                     \
    do {                                                                                      \
        const sterf_g_d gv_v = (x);                                                            \
        memcpy((a), &gv_v, sizeof gv_v);                                                       \
    } while (0)
#define STERF_G_sti(a, x)                                                                     \
    do {                                                                                      \
        const sterf_g_i gv_v = (x);                                                            \
        memcpy((a), &gv_v, sizeof gv_v);                                                       \
    } while (0)
#define STERF_G_add(x, y) ((x) + (y))
#define STERF_G_sub(x, y) ((x) - (y))
#define STERF_G_mul(x, y) ((x) * (y))
#define STERF_G_div(x, y) ((x) / (y))
#define STERF_G_iadd(x, y) ((x) + (y))
#define STERF_G_isub(x, y) ((x) - (y))
#define STERF_G_AT(a, k) (*(double *)(intptr_t)(a)[k])
/* the lanes' values at their own addresses, and stores to them */
#define STERF_G_get(addr)                                                                     \
    ({                                                                                        \
        const sterf_g_i gv_a = (addr);                                                         \
        (sterf_g_d){STERF_G_AT(gv_a, 0), STERF_G_AT(gv_a, 1)};                                \
    })
#define STERF_G_put(addr, x)                                                                  \
    do {                                                                                      \
        const sterf_g_i gv_a = (addr);                                                         \
        const sterf_g_d gv_x = (x);                                                            \
        for (int gv_k = 0; gv_k < 2; ++gv_k)                                                   \
            STERF_G_AT(gv_a, gv_k) = gv_x[gv_k];                                               \
    } while (0)
/* c != 0 ? g2 / c : alt (c != 0 is also true for NaN, as _CMP_NEQ_UQ) */
#define STERF_G_divnz(g2, c, alt)                                                             \
    ({                                                                                        \
        const sterf_g_d gv_c = (c), gv_q = (g2) / gv_c, gv_alt = (alt);                        \
        const sterf_g_i gv_m = (sterf_g_i)(gv_c != (sterf_g_d){0.0, 0.0});                     \
        (sterf_g_d)(((sterf_g_i)gv_q & gv_m) | ((sterf_g_i)gv_alt & ~gv_m));                   \
    })

#ifdef STERF_HAVE_VEC
#define STERF_Z_d __m512d
#define STERF_Z_i __m512i
#define STERF_Z_ldd(a) _mm512_loadu_pd(a)
#define STERF_Z_ldi(a) _mm512_loadu_si512(a)
#define STERF_Z_std(a, x) _mm512_storeu_pd(a, x)
#define STERF_Z_sti(a, x) _mm512_storeu_si512(a, x)
#define STERF_Z_add _mm512_add_pd
#define STERF_Z_sub _mm512_sub_pd
#define STERF_Z_mul _mm512_mul_pd
#define STERF_Z_div _mm512_div_pd
#define STERF_Z_iadd _mm512_add_epi64
#define STERF_Z_isub _mm512_sub_epi64
#define STERF_Z_get sterf_load8
#define STERF_Z_put sterf_store8
/* c != 0 ? g2 / c : alt */
#define STERF_Z_divnz(g2, c, alt)                                                             \
    _mm512_mask_div_pd(alt, _mm512_cmp_pd_mask(c, _mm512_setzero_pd(), _CMP_NEQ_UQ), g2, c)
#define STERF_Y_d __m256d
#define STERF_Y_i __m256i
#define STERF_Y_ldd(a) _mm256_loadu_pd(a)
#define STERF_Y_ldi(a) _mm256_loadu_si256((const __m256i *)(a))
#define STERF_Y_std(a, x) _mm256_storeu_pd(a, x)
#define STERF_Y_sti(a, x) _mm256_storeu_si256((__m256i *)(a), x)
#define STERF_Y_add _mm256_add_pd
#define STERF_Y_sub _mm256_sub_pd
#define STERF_Y_mul _mm256_mul_pd
#define STERF_Y_div _mm256_div_pd
#define STERF_Y_iadd _mm256_add_epi64
#define STERF_Y_isub _mm256_sub_epi64
#define STERF_Y_get sterf_load4
#define STERF_Y_put sterf_store4
#define STERF_Y_divnz(g2, c, alt)                                                             \
    _mm256_blendv_pd(alt, _mm256_div_pd(g2, c), _mm256_cmp_pd(c, _mm256_setzero_pd(), _CMP_NEQ_UQ))

/* The lanes' values at per-lane addresses, and stores to them. */
STERF_AVX512 static inline __m512d sterf_load8(__m512i addr)
{
    long long a[8];
    _mm512_storeu_si512(a, addr);
#define STERF_AT(k) (*(const double *)(intptr_t)a[k])
    return _mm512_set_pd(STERF_AT(7), STERF_AT(6), STERF_AT(5), STERF_AT(4), STERF_AT(3), STERF_AT(2),
                         STERF_AT(1), STERF_AT(0));
}

STERF_AVX2 static inline __m256d sterf_load4(__m256i addr)
{
    long long a[4];
    _mm256_storeu_si256((__m256i *)a, addr);
    return _mm256_set_pd(STERF_AT(3), STERF_AT(2), STERF_AT(1), STERF_AT(0));
#undef STERF_AT
}

STERF_AVX512 static inline void sterf_store8(__m512i addr, __m512d v)
{
    long long a[8];
    double x[8];
    _mm512_storeu_si512(a, addr);
    _mm512_storeu_pd(x, v);
    for (int k = 0; k < 8; ++k)
        *(double *)(intptr_t)a[k] = x[k];
}

STERF_AVX2 static inline void sterf_store4(__m256i addr, __m256d v)
{
    long long a[4];
    double x[4];
    _mm256_storeu_si256((__m256i *)a, addr);
    _mm256_storeu_pd(x, v);
    for (int k = 0; k < 4; ++k)
        *(double *)(intptr_t)a[k] = x[k];
}
#endif /* STERF_HAVE_VEC */

/* A group's registers: the locals V##p, ... (the compiler keeps them in
 * registers) and its image V##g, where the vector fields go for the rare
 * scalar work (PACK ... UNPACK: sweep ends, the slice's end). */
#define STERF_LOCAL1(X, V, T, name, kind) SV(X, kind) V##name;
#define STERF_UNPACK1(X, V, T, name, kind) V##name = SV(X, ld##kind)((T).name);
#define STERF_PACK1(X, V, T, name, kind) SV(X, st##kind)((T).name, V##name);
#define STERF_LOCALS(X, V)                                                                    \
    STERF_GROUP_FIELDS(STERF_LOCAL1, X, V, ~)                                                 \
    ptrdiff_t V##steps;                                                                       \
    sterf_group V##g
#define STERF_UNPACK(X, V)                                                                    \
    do {                                                                                      \
        STERF_GROUP_FIELDS(STERF_UNPACK1, X, V, V##g)                                         \
        V##steps = V##g.steps;                                                                \
    } while (0)
#define STERF_PACK(X, V)                                                                      \
    do {                                                                                      \
        STERF_GROUP_FIELDS(STERF_PACK1, X, V, V##g)                                           \
        V##g.steps = V##steps;                                                                \
    } while (0)

/* A sweep has ended in group V.  AVX-512: note it (`ended`) for the runner,
 * which packs every group before the scalar control: its 32 registers hold
 * both groups' state, and a call inside the loop, with the other group's
 * registers live across it (a call clobbers them all), makes GCC keep the
 * state on the stack (5% slower).  AVX2: its 16 registers cannot hold four
 * groups' state anyway, and packing all four at each sweep end costs more
 * (4% at N = 250) than handling the group at once. */
#define STERF_Z_ended(V, K0) (ended |= ++V##steps == V##g.until)
#define STERF_ENDED_NOW(X, V, K0)                                                             \
    do {                                                                                      \
        if (__builtin_expect(++V##steps == V##g.until, 0)) {                                  \
            STERF_PACK(X, V);                                                                 \
            sterf_group_next(&V##g, b, K0);                                                   \
            STERF_UNPACK(X, V);                                                               \
        }                                                                                     \
    } while (0)
#define STERF_Y_ended(V, K0) STERF_ENDED_NOW(Y, V, K0)
/* G: as Y (how many registers the target has is unknown) */
#define STERF_G_ended(V, K0) STERF_ENDED_NOW(G, V, K0)

/* One vector step of the group in the locals V##... (sterf_step's operations),
 * then SV(X, ended). */
#define STERF_STEP(X, V, K0)                                                                  \
    do {                                                                                      \
        if (!V##g.act)                                                                        \
            break;                                                                            \
        const SV(X, d) bb_ = SV(X, get)(V##ea);                                               \
        const SV(X, d) alpha_ = SV(X, get)(V##dr);                                            \
        const SV(X, d) r_ = SV(X, add)(V##p, bb_);                                            \
        /* e[i + 1 - 2q] = s r */                                                             \
        SV(X, put)(SV(X, isub)(V##ea, V##step), SV(X, mul)(V##s, r_));                        \
        const SV(X, d) c_ = SV(X, div)(V##p, r_), s_ = SV(X, div)(bb_, r_);                   \
        const SV(X, d) gamma_ = SV(X, sub)(SV(X, mul)(c_, SV(X, sub)(alpha_, V##sigma)),      \
                                           SV(X, mul)(s_, V##gamma));                         \
        /* d[i + 1 - q] = oldgamma + (alpha - gamma) */                                       \
        SV(X, put)(SV(X, isub)(V##dr, V##step),                                               \
                   SV(X, add)(V##gamma, SV(X, sub)(alpha_, gamma_)));                         \
        /* p = c != 0 ? gamma^2 / c : oldc bb */                                              \
        V##p = SV(X, divnz)(SV(X, mul)(gamma_, gamma_), c_, SV(X, mul)(V##c, bb_));           \
        V##c = c_;                                                                            \
        V##s = s_;                                                                            \
        V##gamma = gamma_;                                                                    \
        V##ea = SV(X, iadd)(V##ea, V##step);                                                  \
        V##dr = SV(X, iadd)(V##dr, V##step);                                                  \
        SV(X, ended)(V, K0);                                                                  \
    } while (0)

/* A runner over GROUPS(G, X): G(X, V, K0, WIDTH) for each group (locals V##...). */
#define STERF_RUNNER(X, GROUPS, SCAN, NLANES)                                                 \
    {                                                                                         \
        GROUPS(STERF_RUN_DECL, X)                                                             \
        int ended = 0;                                                                        \
        b->scan = SCAN;                                                                       \
        sterf_fill(b, NLANES);                                                                \
        GROUPS(STERF_RUN_LOAD, X)                                                             \
        while (b->nbusy > 0) {                                                                \
            if (budget <= 0) {                                                                \
                GROUPS(STERF_RUN_STORE, X)                                                    \
                return 0;                                                                     \
            }                                                                                 \
            GROUPS(STERF_RUN_STEP, X)                                                         \
            budget -= NLANES;                                                                 \
            if (__builtin_expect(ended, 0)) {                                                 \
                /* (AVX-512) every group to memory, then the calls */                         \
                GROUPS(STERF_RUN_PACK, X)                                                     \
                GROUPS(STERF_RUN_NEXT, X)                                                     \
                GROUPS(STERF_RUN_UNPACK, X)                                                   \
                ended = 0;                                                                    \
            }                                                                                 \
        }                                                                                     \
        return 1;                                                                             \
    }
#define STERF_RUN_DECL(X, V, K0, WIDTH) STERF_LOCALS(X, V);
#define STERF_RUN_LOAD(X, V, K0, WIDTH)                                                       \
    sterf_group_load(&V##g, b, K0, WIDTH);                                                    \
    STERF_UNPACK(X, V);
#define STERF_RUN_STORE(X, V, K0, WIDTH)                                                      \
    STERF_PACK(X, V);                                                                         \
    sterf_group_store(&V##g, b, K0);
#define STERF_RUN_STEP(X, V, K0, WIDTH) STERF_STEP(X, V, K0);
#define STERF_RUN_PACK(X, V, K0, WIDTH) STERF_PACK(X, V);
#define STERF_RUN_UNPACK(X, V, K0, WIDTH) STERF_UNPACK(X, V);
#define STERF_RUN_NEXT(X, V, K0, WIDTH)                                                       \
    if (V##g.steps == V##g.until)                                                             \
        sterf_group_next(&V##g, b, K0);

/* Four groups of two lanes in portable vectors (scalar deflation scans):
 * lanes 0-7.  At baseline x86-64 (16 vector registers) eight lanes ran ~12%
 * faster than sixteen (8 x 2: 0.94 of the scalar lanes' time at N = 250, 4 x
 * 2: 0.83, 3 x 2: 0.91, 6 x 2: 1.03). */
#define STERF_G_LANES 8
#define STERF_G_GROUPS(G, X) G(X, a_, 0, 2) G(X, b_, 2, 2) G(X, c_, 4, 2) G(X, d_, 6, 2)
static int sterf_run_generic8(fgr_sterf_batch *b, ptrdiff_t budget)
STERF_RUNNER(G, STERF_G_GROUPS, STERF_SCAN_SCALAR, STERF_G_LANES)

/* A batch begun on a 16-lane path may have busy lanes >= 8, which the
 * generic runner does not step: the scalar lanes (which step every busy lane
 * and refill only lanes < 8; the same bits) run until those have drained. */
static int sterf_run_generic(fgr_sterf_batch *b, ptrdiff_t budget)
{
    for (int k = STERF_G_LANES; k < FGR_STERF_LANES; ++k)
        if (b->busy[k])
            return sterf_run_scalar(b, budget);
    return sterf_run_generic8(b, budget);
}

#ifdef STERF_HAVE_VEC
/* Two groups of eight lanes. */
#define STERF_Z_GROUPS(G, X) G(X, a_, 0, 8) G(X, b_, 8, 8)
STERF_AVX512 static int sterf_run_avx512(fgr_sterf_batch *b, ptrdiff_t budget)
STERF_RUNNER(Z, STERF_Z_GROUPS, STERF_SCAN_AVX512, FGR_STERF_LANES)

/* Four groups of four lanes: as many divisions in flight as the AVX-512
 * runner's two groups of eight. */
#define STERF_Y_GROUPS(G, X) G(X, a_, 0, 4) G(X, b_, 4, 4) G(X, c_, 8, 4) G(X, d_, 12, 4)
STERF_AVX2 static int sterf_run_avx2(fgr_sterf_batch *b, ptrdiff_t budget)
STERF_RUNNER(Y, STERF_Y_GROUPS, STERF_SCAN_AVX2, FGR_STERF_LANES)
#endif /* STERF_HAVE_VEC */

#endif /* STERF_HAVE_GROUPS */

int fgr_sterf_run(fgr_sterf_batch *b, ptrdiff_t budget, int path)
{
    path = fgr_path_resolve(path);
#ifdef STERF_HAVE_VEC
    if (path == FGR_PATH_AVX512)
        return sterf_run_avx512(b, budget);
    if (path == FGR_PATH_AVX2)
        return sterf_run_avx2(b, budget);
#endif
#ifdef STERF_HAVE_GROUPS
    if (path == FGR_PATH_GENERIC)
        return sterf_run_generic(b, budget);
#endif
    return sterf_run_scalar(b, budget);
}
