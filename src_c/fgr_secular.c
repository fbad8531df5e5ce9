/*
 * Arrowhead secular solver (see fgr_secular.h for the problem statement).
 *
 * Method: for each root, a bracket on one side of its nearest pole and a
 * safeguarded "fixed weight" rational iteration (Gragg; the idea of LAPACK's
 * dlaed4): at the current offset y the secular function is modelled by
 *     A + B_near/(0 - y) + B_far/(delta_far - y)
 * matching f and f' (the poles on each side lumped onto the two neighbouring
 * poles, the linear term e onto the far one), and the model's root in the gap
 * is the next iterate.  Steps that leave the bracket are replaced by bisection
 * (geometric once the bracket is away from the pole), so every root converges.
 * All quantities are offsets from the origin pole d[o]; pole differences are
 * formed as (d[mu] - d[o]) - y, which is exact for neighbouring poles
 * (Sterbenz) and relatively accurate otherwise.
 */
#include "fgr_secular.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* No a*b + c -> fma contraction (GCC in ISO C mode does not contract; clang
 * does by default): every path must round exactly as the reference. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* The rational steps converge in ~3-6 iterations.  Adversarial input (poles
 * and couplings spread over hundreds of decades) can make them crawl, so from
 * iteration SEC_RATIONAL_ITS on every other step is a bisection: that halves
 * the exponent range of the bracket (~11 steps from a pole) and then its
 * mantissa (~53), so SEC_RATIONAL_ITS + 2 * 66 iterations always suffice and a
 * root that hits SEC_MAXIT is a bug, reported at once (the solve stops there). */
#define SEC_RATIONAL_ITS 8
#define SEC_MAXIT 160
/* |f| <= SEC_TOL * eps * (sum of |terms|) is the best floating point can do. */
#define SEC_TOL 2.0

typedef struct {
    double f;    /* secular function */
    double dlo;  /* sum over mu < split of z2/(delta_mu - y)^2 */
    double dhi;  /* sum over mu >= split */
    double err;  /* |c0| + |y| + sum |terms|: scale of the rounding error of f */
} sec_val;

#if defined(__GNUC__) || defined(__clang__)
typedef double sec_v2 __attribute__((vector_size(16)));
#define SEC_HAVE_V2 1
#endif

/* Sums over poles m0 <= mu < m1 of t = z2/(delta_mu - y) and t/(delta_mu - y). */
static void sec_sums(const double *a, const double *s, double ao, double y, ptrdiff_t m0,
                     ptrdiff_t m1, double *fsum, double *dsum)
{
    ptrdiff_t mu = m0;
    double f = 0.0, d = 0.0;
#ifdef SEC_HAVE_V2
    /* Two lanes: the loop is bound by the divisions, which the hardware does
     * two at a time; the lane order is fixed, so results stay deterministic. */
    sec_v2 fv = {0.0, 0.0}, dv = {0.0, 0.0};
    const sec_v2 aov = {ao, ao}, yv = {y, y}, one = {1.0, 1.0};
    for (; mu + 2 <= m1; mu += 2) {
        sec_v2 av, sv;
        av[0] = a[mu]; av[1] = a[mu + 1];
        sv[0] = s[mu]; sv[1] = s[mu + 1];
        const sec_v2 r = one / ((av - aov) - yv);
        const sec_v2 t = sv * r;
        fv += t;
        dv += t * r;
    }
    f = fv[0] + fv[1];
    d = dv[0] + dv[1];
#endif
    for (; mu < m1; ++mu) {
        const double r = 1.0 / ((a[mu] - ao) - y);
        const double t = s[mu] * r;
        f += t;
        d += t * r;
    }
    *fsum = f;
    *dsum = d;
}

static sec_val sec_value(double c0, double y, double flo, double dlo, double fhi, double dhi)
{
    sec_val v;
    v.f = (c0 + y) + (flo + fhi);
    v.dlo = dlo;
    v.dhi = dhi;
    /* The bracket keeps y between the poles mu < split (terms < 0) and the
     * poles mu >= split (terms > 0), so sum |t| = fhi - flo. */
    v.err = fabs(c0) + fabs(y) + (fhi - flo);
    return v;
}

static sec_val sec_eval(ptrdiff_t K, const double *a, const double *s, ptrdiff_t o,
                        ptrdiff_t split, double c0, double y)
{
    double flo, dlo, fhi, dhi;
    sec_sums(a, s, a[o], y, 0, split, &flo, &dlo);
    sec_sums(a, s, a[o], y, split, K, &fhi, &dhi);
    return sec_value(c0, y, flo, dlo, fhi, dhi);
}

/* Root in (0, D) (D > 0) of A + Bo/(0 - u) + Bf/(D - u) = 0, Bo, Bf > 0, i.e. of
 * A u^2 - (A D + Bo + Bf) u + Bo D = 0, in a cancellation-free form. */
static double gap_model_root(double A, double Bo, double Bf, double D)
{
    const double b = A * D + Bo + Bf;
    const double c = Bo * D;
    if (A == 0.0)
        return c / b;
    double disc = b * b - 4.0 * A * c;
    if (disc < 0.0)
        disc = 0.0;
    const double sq = sqrt(disc);
    if (b > 0.0)
        return 2.0 * c / (b + sq);
    return (b - sq) / (2.0 * A); /* b <= 0 implies A < 0 */
}

/* Next trial point in (lo, hi) when the model step is rejected. */
static double sec_bisect(double lo, double hi)
{
    /* Geometric bisection while the bracket spans many binades (also from
     * the pole, lo = 0 or hi = 0: a root offset can be ~1e-300), so that the
     * fallback needs ~64 steps, not ~1000 halvings towards the pole. */
    if (lo >= 0.0 && hi > 8.0 * lo)
        return sqrt(fmax(lo, DBL_TRUE_MIN)) * sqrt(hi);
    if (hi <= 0.0 && lo < 8.0 * hi)
        return -sqrt(fmax(-hi, DBL_TRUE_MIN)) * sqrt(-lo);
    return 0.5 * lo + 0.5 * hi;
}

/* One root of the active arrowhead (K >= 1 poles a, couplings s > 0) as a
 * resumable iteration, so that several roots can share one pass over the
 * poles (their evaluations are independent; see sec_roots8_avx512).
 * j = 0: below a[0]; 0 < j < K: in (a[j-1], a[j]); j = K: above a[K-1].
 * Every evaluation is requested as (eo, split, c0, y): the caller returns
 * sec_eval(K, a, s, eo, split, c0, y) to sec_step, bitwise whichever way it
 * computes it. */
typedef struct {
    ptrdiff_t j, o, split, eo; /* eo: origin pole of the pending evaluation */
    double lo, hi, y, delta_f, c0;
    int kind; /* -1 left outer, +1 right outer, 0 interior origin left, 2 interior origin right */
    int it, started;
} sec_root_state;

enum { SEC_STEP_EVAL = 0, SEC_STEP_DONE = 1, SEC_STEP_LIMIT = 2 };

static void sec_start(sec_root_state *st, ptrdiff_t K, const double *a, double alpha,
                      double ztot, ptrdiff_t j)
{
    st->j = j;
    st->it = 0;
    st->delta_f = 0.0;
    if (j == 0 || j == K) {
        /* Outer root.  Weyl: every eigenvalue lies within ||z|| of the
         * spectrum of diag(alpha, d), which fixes the far end of the bracket. */
        const double reach = sqrt(ztot) * (1.0 + 4.0 * DBL_EPSILON);
        if (j == 0) {
            st->o = 0;
            st->split = 0;
            st->kind = -1;
            st->hi = 0.0;
            st->lo = fmin(alpha - a[0], 0.0) - reach;
            if (!(st->lo < 0.0))
                st->lo = -DBL_MIN;
        } else {
            st->o = K - 1;
            st->split = K;
            st->kind = 1;
            st->lo = 0.0;
            st->hi = fmax(alpha - a[K - 1], 0.0) + reach;
            if (!(st->hi > 0.0))
                st->hi = DBL_MIN;
        }
        st->y = 0.5 * st->lo + 0.5 * st->hi;
        st->c0 = a[st->o] - alpha;
        st->eo = st->o;
        st->started = 1;
    } else {
        /* first evaluation at the middle of the gap, from the left pole */
        st->eo = j - 1;
        st->split = j;
        st->y = 0.5 * (a[j] - a[j - 1]);
        st->c0 = a[j - 1] - alpha;
        st->started = 0;
    }
}

/* Consume the requested evaluation v; returns SEC_STEP_EVAL (a new request
 * is in st), SEC_STEP_DONE (root y from pole o) or SEC_STEP_LIMIT. */
static int sec_step(sec_root_state *st, const double *a, double alpha, sec_val v)
{
    if (!st->started) {
        const ptrdiff_t j = st->j;
        const double h = a[j] - a[j - 1];
        const double ymid = st->y;
        st->started = 1;
        if (v.f >= 0.0) {
            /* f increases across the gap: the root is in the left half. */
            st->o = j - 1;
            st->kind = 0;
            st->lo = 0.0;
            st->hi = ymid;
            st->y = ymid;
            st->delta_f = h;
        } else {
            /* Same point seen from the right pole (h - h/2 = h/2 exactly): f and
             * the split derivative sums are reused as the first model data; the
             * next evaluation is in the right pole's coordinates. */
            st->o = j;
            st->kind = 2;
            st->lo = -ymid;
            st->hi = 0.0;
            st->y = -ymid;
            st->delta_f = -h;
        }
        st->c0 = a[st->o] - alpha;
        st->eo = st->o;
    }
    if (st->it >= SEC_MAXIT)
        return SEC_STEP_LIMIT;
    const int kind = st->kind;
    const double y = st->y, delta_f = st->delta_f;
    if (fabs(v.f) <= SEC_TOL * DBL_EPSILON * v.err)
        return SEC_STEP_DONE;
    if (v.f < 0.0)
        st->lo = y;
    else
        st->hi = y;
    const double lo = st->lo, hi = st->hi;
    if (hi - lo <= 2.0 * DBL_EPSILON * fmax(fabs(lo), fabs(hi)))
        return SEC_STEP_DONE;

    double ynew;
    if (kind == -1 || kind == 1) {
        /* model A + Y + B/(0 - Y) with every pole lumped onto the origin */
        const double dsum = v.dlo + v.dhi;
        const double B = y * (y * dsum); /* y^2 alone can underflow */
        const double A = v.f - y + y * dsum;
        const double sq = sqrt(A * A + 4.0 * B);
        if (kind == -1)
            ynew = (A > 0.0) ? -0.5 * (A + sq) : -2.0 * B / (sq - A);
        else
            ynew = (A < 0.0) ? 0.5 * (sq - A) : 2.0 * B / (A + sq);
    } else {
        const double dn = (kind == 0) ? v.dlo : v.dhi;
        const double df = (kind == 0) ? v.dhi : v.dlo;
        const double Bo = y * (y * dn);
        const double Bf = (delta_f - y) * ((delta_f - y) * (df + 1.0));
        const double A = v.f + y * dn - (delta_f - y) * (df + 1.0);
        if (kind == 0)
            ynew = gap_model_root(A, Bo, Bf, delta_f);
        else
            ynew = -gap_model_root(-A, Bo, Bf, -delta_f);
    }
    if (!(ynew > lo && ynew < hi) || (st->it >= SEC_RATIONAL_ITS && (st->it & 1))) {
        ynew = sec_bisect(lo, hi);
        if (!(ynew > lo && ynew < hi))
            return SEC_STEP_DONE; /* the bracket is two adjacent doubles */
    }
    if (ynew == y)
        return SEC_STEP_DONE;
    st->y = ynew;
    st->it++;
    return SEC_STEP_EVAL;
}

/* Root j, the evaluations done one at a time (the reference path). */
static int sec_root(ptrdiff_t K, const double *a, const double *s, double alpha,
                    double ztot, ptrdiff_t j, double *y_out, ptrdiff_t *o_out, double *w_out)
{
    sec_root_state st;
    sec_val v;
    int r;
    sec_start(&st, K, a, alpha, ztot, j);
    do
        v = sec_eval(K, a, s, st.eo, st.split, st.c0, st.y);
    while ((r = sec_step(&st, a, alpha, v)) == SEC_STEP_EVAL);
    *y_out = st.y;
    *o_out = st.o;
    *w_out = 1.0 / (1.0 + (v.dlo + v.dhi));
    return r == SEC_STEP_LIMIT;
}

/* Which AVX-512 reciprocal: -1 by CPU (sec_recip8_avx512), 0 the division, 1 the
 * estimate; fgr_sec_set_avx512_reciprocal lets tests run both on one CPU
 * (not synchronised: set it only while no solver runs). */
static int sec_recip_mode = -1;

void fgr_sec_set_avx512_reciprocal(int mode)
{
    sec_recip_mode = mode;
}

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) \
    && !defined(FGR_NO_MULTIVERSIONING)
#include <immintrin.h>
/* the vector lanes (fgr_secular_lanes.h) for AVX-512 and for AVX2 */
#define SEC_HAVE_X86 1
#define SEC_LANES 8
#define SEC_AVX512 __attribute__((target("avx512f")))
/* AVX2 alone: the AVX2 lanes divide (sec_recip8_avx2), so they use no FMA. */
#define SEC_AVX2 __attribute__((target("avx2")))
#define SEC_AVX2_INLINE SEC_AVX2 static inline __attribute__((always_inline))

/* 1/x correctly rounded, eight lanes: both ways below give the division's
 * bits, so the choice is only about speed.  AMD's Zen 4 divides a 512-bit
 * vector faster than the estimate's ~12 instructions take (per dsterf call
 * at N+1 = 250 / 1000 / 2000: one-coupling solver 0.156 / 0.131 / 0.126
 * dividing, 0.209 / 0.176 / 0.172 with the estimate; far-field solve 0.198 /
 * 0.094 / 0.075 against 0.234 / 0.123 / 0.101), so AMD CPUs divide.  The
 * estimate stays for Intel's AVX-512 cores, whose divider takes ~2 cycles
 * per double whatever the vector width (not measured here).
 *
 * The estimate is verified against round-to-nearest, the mode Python and
 * numpy always run in; under another rounding mode it would differ from the
 * division.
 *
 * The estimate: 1/x without the divider.  y = rcp14(x)
 * refined by (1 + e + e^2 + e^3), e = 1 - x y0, is within ~2^-56 of 1/x
 * before its final rounding, so it is RN(1/x) except within ~2^-56 of a
 * rounding boundary.  It is accepted only where the exact test
 *     |1 - x y| < mant(x) 2^-54   (<=> |1/x - y| < half the spacing at y)
 * holds: the fma residual is exact for such y, the threshold is a double, and
 * rounding is monotone, so a passing y is RN(1/x); the ~1% of vectors with a
 * failing lane (and 0, inf, NaN, subnormal x) take the division there. */
SEC_AVX512 static inline __m512d sec_recip8_avx512(__m512d x)
{
    const __m512d one = _mm512_set1_pd(1.0);
    if (sec_recip_mode < 0 ? __builtin_cpu_is("amd") : sec_recip_mode == 0)
        return _mm512_div_pd(one, x);
    const __m512d y0 = _mm512_rcp14_pd(x);
    const __m512d e0 = _mm512_fnmadd_pd(x, y0, one);
    __m512d p = _mm512_fmadd_pd(e0, e0, e0);
    p = _mm512_fmadd_pd(p, e0, e0);
    __m512d y = _mm512_fmadd_pd(y0, p, y0);
    const __m512d res = _mm512_abs_pd(_mm512_fnmadd_pd(x, y, one));
    /* (bits(x) & mantissa) | bits(2^-54): mant(x) 2^-54 (ternary-logic A&B | C) */
    const __m512d thr = _mm512_castsi512_pd(_mm512_ternarylogic_epi64(
        _mm512_castpd_si512(x), _mm512_set1_epi64(0x000fffffffffffffLL),
        _mm512_set1_epi64(0x3c90000000000000LL), 0xEA));
    /* subnormal x: its mantissa bits are 0.m, not 1.m, and the threshold above too loose */
    const __mmask8 ok = _mm512_cmp_pd_mask(res, thr, _CMP_LT_OQ)
                      & _mm512_cmp_pd_mask(_mm512_abs_pd(x), _mm512_set1_pd(DBL_MIN), _CMP_GE_OQ);
    if (__builtin_expect(ok != 0xff, 0))
        y = _mm512_mask_div_pd(y, (__mmask8)~ok, one, x);
    return y;
}

/* -x as the scalar code's unary minus (0 - x would turn -0 into +0) */
SEC_AVX512 static inline __m512d sec_neg8_avx512(__m512d x)
{
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x), _mm512_set1_epi64((long long)(1ULL << 63))));
}

/* Eight AVX2 lanes: two 256-bit halves (lanes 0-3, 4-7), operated on side by
 * side so that the two dependency chains overlap; masks are all-ones lanes. */
typedef struct {
    __m256d l, h;
} sec_vd2;
typedef struct {
    __m256i l, h;
} sec_vi2;
typedef struct {
    __m256d l, h;
} sec_vk2;

/* 1/x, eight lanes: the division.  AVX2 has no double-precision estimate;
 * the float one (rcpps on x rounded to float, ~12 bits) refined by FMA
 * Newton steps to ~2^-66 and accepted by sec_recip8_avx512's exact test
 * gives the same bits but was slower on Zen 4, whose divider takes a
 * 256-bit vector far faster than the ~20 instructions of that sequence (per
 * dsterf call at N+1 = 1000: one-coupling solver 0.135 dividing, 0.32 with
 * the estimate; far-field solve per extra coupling 0.012 vs 0.017).  On CPUs
 * with a slower divider the estimate may win (see this file's history). */
SEC_AVX2_INLINE sec_vd2 sec_recip8_avx2(sec_vd2 x)
{
    const __m256d one = _mm256_set1_pd(1.0);
    sec_vd2 y;
    y.l = _mm256_div_pd(one, x.l);
    y.h = _mm256_div_pd(one, x.h);
    return y;
}

/* the operations of fgr_secular_lanes.h on sec_vd2 / sec_vi2 / sec_vk2 */
#define SEC2_OP(ret, name, params, lo, hi) \
    SEC_AVX2_INLINE ret name params        \
    {                                      \
        ret r_;                            \
        r_.l = lo;                         \
        r_.h = hi;                         \
        return r_;                         \
    }
#define SEC2_BINOP(ret, name, arg, intr) SEC2_OP(ret, name, (arg a, arg b), intr(a.l, b.l), intr(a.h, b.h))
#define SEC2_CMP(name, pred) \
    SEC2_OP(sec_vk2, name, (sec_vd2 a, sec_vd2 b), _mm256_cmp_pd(a.l, b.l, pred), _mm256_cmp_pd(a.h, b.h, pred))
SEC2_BINOP(sec_vd2, sec2_add, sec_vd2, _mm256_add_pd)
SEC2_BINOP(sec_vd2, sec2_sub, sec_vd2, _mm256_sub_pd)
SEC2_BINOP(sec_vd2, sec2_mul, sec_vd2, _mm256_mul_pd)
SEC2_BINOP(sec_vd2, sec2_div, sec_vd2, _mm256_div_pd)
SEC2_BINOP(sec_vd2, sec2_max, sec_vd2, _mm256_max_pd)
SEC2_OP(sec_vd2, sec2_sqrt, (sec_vd2 a), _mm256_sqrt_pd(a.l), _mm256_sqrt_pd(a.h))
SEC2_OP(sec_vd2, sec2_abs, (sec_vd2 a), _mm256_andnot_pd(_mm256_set1_pd(-0.0), a.l),
        _mm256_andnot_pd(_mm256_set1_pd(-0.0), a.h))
/* -x as the scalar code's unary minus (a sign flip, also of 0 and NaN) */
SEC2_OP(sec_vd2, sec2_neg, (sec_vd2 a), _mm256_xor_pd(_mm256_set1_pd(-0.0), a.l),
        _mm256_xor_pd(_mm256_set1_pd(-0.0), a.h))
SEC2_OP(sec_vd2, sec2_set1, (double x), _mm256_set1_pd(x), _mm256_set1_pd(x))
SEC2_OP(sec_vd2, sec2_zero, (void), _mm256_setzero_pd(), _mm256_setzero_pd())
SEC2_OP(sec_vd2, sec2_load, (const double *p), _mm256_loadu_pd(p), _mm256_loadu_pd(p + 4))
/* k ? b : a per lane; k ? a : +0 */
SEC2_OP(sec_vd2, sec2_blend, (sec_vk2 k, sec_vd2 a, sec_vd2 b), _mm256_blendv_pd(a.l, b.l, k.l),
        _mm256_blendv_pd(a.h, b.h, k.h))
SEC2_OP(sec_vd2, sec2_maskz, (sec_vk2 k, sec_vd2 a), _mm256_and_pd(k.l, a.l), _mm256_and_pd(k.h, a.h))
SEC2_CMP(sec2_lt, _CMP_LT_OQ)
SEC2_CMP(sec2_le, _CMP_LE_OQ)
SEC2_CMP(sec2_gt, _CMP_GT_OQ)
SEC2_CMP(sec2_ge, _CMP_GE_OQ)
SEC2_CMP(sec2_eq, _CMP_EQ_OQ)
SEC2_OP(sec_vi2, sec2_set1i, (long long x), _mm256_set1_epi64x(x), _mm256_set1_epi64x(x))
SEC2_OP(sec_vi2, sec2_loadi, (const long long *p), _mm256_loadu_si256((const __m256i *)p),
        _mm256_loadu_si256((const __m256i *)(p + 4)))
/* signed 64-bit a < b, a >= b (lane indices and counts: small, non-negative) */
SEC2_OP(sec_vk2, sec2_lti, (sec_vi2 a, sec_vi2 b), _mm256_castsi256_pd(_mm256_cmpgt_epi64(b.l, a.l)),
        _mm256_castsi256_pd(_mm256_cmpgt_epi64(b.h, a.h)))
SEC2_OP(sec_vk2, sec2_gei, (sec_vi2 a, sec_vi2 b),
        _mm256_castsi256_pd(_mm256_xor_si256(_mm256_cmpgt_epi64(b.l, a.l), _mm256_set1_epi64x(-1))),
        _mm256_castsi256_pd(_mm256_xor_si256(_mm256_cmpgt_epi64(b.h, a.h), _mm256_set1_epi64x(-1))))
SEC2_OP(sec_vk2, sec2_oddi, (sec_vi2 a),
        _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(a.l, _mm256_set1_epi64x(1)), _mm256_set1_epi64x(1))),
        _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(a.h, _mm256_set1_epi64x(1)), _mm256_set1_epi64x(1))))
/* a + 1 in the lanes k (a mask lane is -1) */
SEC2_OP(sec_vi2, sec2_inci, (sec_vi2 a, sec_vk2 k), _mm256_sub_epi64(a.l, _mm256_castpd_si256(k.l)),
        _mm256_sub_epi64(a.h, _mm256_castpd_si256(k.h)))
SEC2_BINOP(sec_vk2, sec2_kand, sec_vk2, _mm256_and_pd)
SEC2_BINOP(sec_vk2, sec2_kor, sec_vk2, _mm256_or_pd)
/* a and not b */
SEC2_OP(sec_vk2, sec2_kandn, (sec_vk2 a, sec_vk2 b), _mm256_andnot_pd(b.l, a.l), _mm256_andnot_pd(b.h, a.h))
/* lane masks from bits (bit l: lane l) */
SEC2_OP(sec_vk2, sec2_kfrom, (unsigned bits),
        _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(bits), _mm256_setr_epi64x(1, 2, 4, 8)),
                                               _mm256_setr_epi64x(1, 2, 4, 8))),
        _mm256_castsi256_pd(_mm256_cmpeq_epi64(
            _mm256_and_si256(_mm256_set1_epi64x(bits), _mm256_setr_epi64x(16, 32, 64, 128)),
            _mm256_setr_epi64x(16, 32, 64, 128))))
#undef SEC2_CMP
#undef SEC2_BINOP
#undef SEC2_OP

SEC_AVX2_INLINE void sec2_store(double *p, sec_vd2 v)
{
    _mm256_storeu_pd(p, v.l);
    _mm256_storeu_pd(p + 4, v.h);
}

SEC_AVX2_INLINE void sec2_storei(long long *p, sec_vi2 v)
{
    _mm256_storeu_si256((__m256i *)p, v.l);
    _mm256_storeu_si256((__m256i *)(p + 4), v.h);
}

SEC_AVX2_INLINE int sec2_kany(sec_vk2 k)
{
    return _mm256_movemask_pd(_mm256_or_pd(k.l, k.h)) != 0;
}

SEC_AVX2_INLINE __mmask8 sec2_kbits(sec_vk2 k)
{
    return (__mmask8)(_mm256_movemask_pd(k.l) | _mm256_movemask_pd(k.h) << 4);
}

/* The left-over pole of sec_sums' scalar tail. */
static inline void sec_add_pole(const double *a, const double *s, double ao, double y, ptrdiff_t mu,
                                double *f, double *d)
{
    const double r = 1.0 / ((a[mu] - ao) - y);
    const double t = s[mu] * r;
    *f += t;
    *d += t * r;
}

/* The one-coupling lanes (sec_roots8_*, fgr_secular_lanes.h, included below
 * the far-field code whose lane state it shares). */
#define SEC_ROOTS8_ARGS                                                                                    \
    ptrdiff_t K, const double *a, const double *s, double alpha, double ztot, double *yroot, ptrdiff_t *oroot, \
        double *wroot
SEC_AVX512 static void sec_roots8_avx512(SEC_ROOTS8_ARGS);
SEC_AVX2 static void sec_roots8_avx2(SEC_ROOTS8_ARGS);
#undef SEC_ROOTS8_ARGS
#endif

/* Whether the (scaled) pole value x is one of the active poles a[0..K-1] (ascending). */
static int pole_is_active(const double *a, ptrdiff_t K, double x)
{
    ptrdiff_t lo = 0, hi = K;
    while (lo < hi) {
        const ptrdiff_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < K && a[lo] == x;
}

int fgr_arrowhead_solve(ptrdiff_t L, const double *d, const double *z2, double alpha,
                        double *e, double *w, double *tau, ptrdiff_t *origin,
                        double *work, ptrdiff_t *iwork)
{
    return fgr_arrowhead_solve_path(L, d, z2, alpha, e, w, tau, origin, work, iwork, 0);
}

int fgr_arrowhead_solve_path(ptrdiff_t L, const double *d, const double *z2, double alpha,
                             double *e, double *w, double *tau, ptrdiff_t *origin,
                             double *work, ptrdiff_t *iwork, int path)
{
    path = fgr_path_resolve(path);
    ptrdiff_t mu, K = 0, j;
    double ztot = 0.0, big, zmax = 0.0;
    double *a = work, *s = work + L, *yroot = work + 2 * L;
    ptrdiff_t *act = iwork, *oroot = iwork + L;
    int k = 0;

    if (!isfinite(alpha))
        return FGR_SEC_BAD_ALPHA;
    big = fabs(alpha);
    for (mu = 0; mu < L; ++mu) {
        if (!isfinite(d[mu]) || (mu > 0 && !(d[mu] >= d[mu - 1])))
            return FGR_SEC_BAD_POLES;
        if (!isfinite(z2[mu]) || !(z2[mu] >= 0.0))
            return FGR_SEC_BAD_COUPLING;
        big = fmax(big, fabs(d[mu]));
        zmax = fmax(zmax, z2[mu]);
    }

    /* Work in units of 2^k ~ the largest energy scale (|alpha|, |d|, |z|):
     * scaling by a power of two is exact (short of underflow) and the weights
     * are scale invariant, so nothing changes for ordinary input, while
     * energies near 1e300 (whose squares overflow) or 1e-300 (whose squares
     * underflow) solve like energies near 1. */
    big = fmax(big, sqrt(zmax));
    if (big > 0.0)
        k = ilogb(big);
    const double alpha_s = ldexp(alpha, -k);

    /* Deflation: a pole without coupling is an eigenvalue with weight 0; a
     * repeated pole couples through one combination only (rotate within the
     * degenerate subspace: the couplings of the group add), the orthogonal
     * ones decouple.  A group whose coupling is below DBL_MIN (in the scaled
     * units) is treated as uncoupled: offsets ~ z2 would underflow; whether
     * that is right (weight ~ z2 / distance^2 negligible) is checked below. */
    for (mu = 0; mu < L;) {
        const double ds = ldexp(d[mu], -k);
        double zs = 0.0;
        ptrdiff_t end = mu;
        while (end < L && ldexp(d[end], -k) == ds)
            zs += ldexp(z2[end++], -2 * k);
        if (zs >= DBL_MIN) {
            a[K] = ds;
            s[K] = zs;
            act[K] = mu;
            ztot += zs;
            ++K;
        }
        mu = end;
    }
    const ptrdiff_t ndefl = L - K;

    /* Roots of the active problem, parked in the tail of e, w (merged below). */
    if (K == 0) {
        yroot[0] = alpha_s;
        oroot[0] = -1;
        e[ndefl] = alpha;
        w[ndefl] = 1.0;
    } else {
#ifdef SEC_HAVE_X86
        /* Below a few lanes' worth of roots the vector path cannot pay off. */
        if ((path == FGR_PATH_AVX512 || path == FGR_PATH_AVX2) && K >= 4 * SEC_LANES) {
            /* the roots go to yroot, oroot and (weights) the tail of w */
            if (path == FGR_PATH_AVX512)
                sec_roots8_avx512(K, a, s, alpha_s, ztot, yroot, oroot, w + ndefl);
            else
                sec_roots8_avx2(K, a, s, alpha_s, ztot, yroot, oroot, w + ndefl);
            for (j = 0; j <= K; ++j) {
                if (isnan(w[ndefl + j]))
                    return 1; /* as the scalar path: the first failing root in order */
                e[ndefl + j] = ldexp(a[oroot[j]] + yroot[j], k);
                if (!isfinite(e[ndefl + j]))
                    return FGR_SEC_RANGE;
            }
        } else
#endif
        {
            (void)path;
            for (j = 0; j <= K; ++j) {
                double y, wj;
                ptrdiff_t o;
                if (sec_root(K, a, s, alpha_s, ztot, j, &y, &o, &wj))
                    return 1; /* failure is reported at once, not after every root */
                yroot[j] = y;
                oroot[j] = o;
                e[ndefl + j] = ldexp(a[o] + y, k);
                w[ndefl + j] = wj;
                if (!isfinite(e[ndefl + j]))
                    return FGR_SEC_RANGE;
            }
        }
    }

    /* A coupling deflated by the DBL_MIN threshold (not merged into an active
     * repeated pole) must really be negligible.  Restoring it would give its
     * pole a root at offset ~z2/F and weight ~z2/F^2, F = F(d[mu]) the active
     * problem's secular function at the pole (to first order in z2/F^2,
     * which the test below keeps under 2^-54; the other roots then move by
     * ~z2/F, below rounding of the energy scale).  Energies beyond ~1e154 |z|
     * make the threshold drop couplings that mix states closer than |z|
     * (e.g. the level sitting on a pole while another pole is at 1e160, F = 0):
     * refuse instead of returning a wrong spectrum.  A far detuned level
     * (a bath at 1e139 and the level at 1e292) keeps its deflated couplings:
     * their weights ~1e-306 are below the resolution of sum w = 1. */
    for (mu = 0; mu < L; ++mu) {
        if (!(z2[mu] > 0.0) || ldexp(z2[mu], -2 * k) >= DBL_MIN || pole_is_active(a, K, ldexp(d[mu], -k)))
            continue;
        const double x = ldexp(d[mu], -k);
        double F = x - alpha_s;
        for (j = 0; j < K; ++j)
            F -= s[j] / (x - a[j]);
        /* weight z2 / F^2 above 2^-54: compared as amplitudes (no overflow) */
        if (!(sqrt(z2[mu]) <= 0x1p-27 * ldexp(fabs(F), k)))
            return FGR_SEC_SCALE;
    }

    /* Merge the K+1 roots with the deflated poles, ascending.  Writing
     * position p = i + j never passes the read position ndefl + j of root j. */
    {
        ptrdiff_t i = 0, p = 0, nexta = 0, m = 0;
        j = 0;
        while (p <= L) {
            /* next deflated pole index m (indices not in act[]) */
            while (i < ndefl && nexta < K && m == act[nexta]) {
                ++m;
                ++nexta;
            }
            const int take_defl = (i < ndefl) && (j > K || d[m] <= e[ndefl + j]);
            if (take_defl) {
                e[p] = d[m];
                w[p] = 0.0;
                if (tau) tau[p] = 0.0;
                if (origin) origin[p] = m;
                ++m;
                ++i;
            } else {
                const double ej = e[ndefl + j], wj = w[ndefl + j];
                e[p] = ej;
                w[p] = wj;
                if (tau) tau[p] = ldexp(yroot[j], k);
                if (origin) origin[p] = (oroot[j] < 0) ? -1 : act[oroot[j]];
                ++j;
            }
            ++p;
        }
    }
    return 0;
}

/* ======================================================================
 * Several couplings on one bath: z2 = c_g u2 for g = 0..G-1 (u2 the unit
 * coupling draws, c_g the coupling factors), all roots of every coupling.
 *
 * The secular function of coupling g is f_g(y) = c0 + y + c_g S(y) with
 * S(y) = sum_mu u2[mu] / (delta_mu - y): only the factor depends on g.
 * Within the gap (a[j-1], a[j]) of an interior root, the poles farther than
 * R = 16 ym from the gap's midpoint (ym = half the gap) contribute to S a
 * function of h = (position - midpoint), |h| <= ym, with the convergent
 * expansion
 *     sum_far u2/(D - h) = sum_k F_k h^k,   F_k = sum_far u2 / D^(k+1),
 * (D the far pole's distance from the midpoint; ratio |h/D| <= 1/16), so
 * that the SEC_NACC = 16 moments F_k, computed once per gap from the bath
 * alone, give the far part (15 terms, 16^-15 ~ 1e-18) and its derivative
 * sum u2/(D - h)^2 (terms (k+1) F_(k+1) h^k, k < 15: 16 * 16^-15 ~ 1e-17)
 * to that accuracy relative to their size at any point of
 * the gap for every coupling.  The near poles (within R, typically ~8 on
 * each side) are summed exactly at each evaluation, as the one-coupling
 * solver does over all poles; the iteration itself (bracket, rational
 * steps, stopping test) is that solver's (sec_start / sec_step).  One pass
 * over the poles per gap thus serves every coupling: an additional
 * coupling costs O(window) per evaluation instead of O(L).
 *
 * Below min_l poles (a parameter: ~240 on current CPUs with AVX-512, where
 * one pass of moments and the roots of one coupling cost as much as the
 * one-coupling solver) every coupling goes to the one-coupling solver.
 * Outer roots, gaps whose window would exceed SEC_GAP_WMAX poles, and
 * couplings outside the range where no scaled quantity can under- or
 * overflow are solved with evaluations over all poles.  Whatever the other
 * couplings of a call, the numbers of coupling g are the same (every
 * decision depends only on the bath and on c_g).  The scalar path (the
 * reference), the vector moment passes and the AVX-512 roots (eight per
 * vector, any mix of gaps and couplings: sec_gap_roots8) give the same bits.
 * ====================================================================== */
/* terms of the two series; moments accumulated (the derivative needs one more) */
#define SEC_NMOM 15
#define SEC_NACC (SEC_NMOM + 1)
#define SEC_GAP_INVRHO 16.0
#define SEC_GAP_WMAX 96
#define SEC_GAP_BLOCK 64 /* 64 * SEC_GAP_STRIDE: see FGR_SEC_SCALED_WORK */
/* The far-field path needs at least this many poles (min_l below). */
#define SEC_GAP_MIN_L 32
/* doubles per gap: left and right moments F_k and derivative coefficients (k+1) F_(k+1) */
#define SEC_GAP_STRIDE (4 * SEC_NMOM)
#if SEC_GAP_BLOCK * SEC_GAP_STRIDE != 64 * 60
#error "FGR_SEC_SCALED_WORK assumes 64 gaps of 60 doubles"
#endif

/* Far poles need fewer moments: one at distance >= X ym contributes terms
 * ~(1/X)^k of its first, so SEC_TIERS[t].nk moments keep the series to
 * X^-nk and its derivative to nk X^-(nk-1) < 1e-17 of that pole's terms
 * beyond SEC_TIERS[t].x half-gaps. */
#define SEC_NTIERS 3
static const struct {
    double x;
    int nk;
} SEC_TIERS[SEC_NTIERS] = {{64.0, 11}, {512.0, 8}, {8192.0, 6}};

typedef struct {
    ptrdiff_t w0, w1; /* the near window [w0, w1); w1 < 0: no expansion for this gap */
    double ym;        /* half the gap: the midpoint's offset from a[j-1] */
    /* poles mu < lt[t] (left) and mu >= rt[t] (right) are beyond SEC_TIERS[t].x half-gaps */
    ptrdiff_t lt[SEC_NTIERS], rt[SEC_NTIERS];
} sec_gap;

/* The window of interior gap j (1 <= j < K). */
static sec_gap sec_gap_window(ptrdiff_t K, const double *a, ptrdiff_t j)
{
    sec_gap gp;
    const ptrdiff_t jl = j - 1;
    const double ym = 0.5 * (a[j] - a[jl]);
    const double R = SEC_GAP_INVRHO * ym;
    ptrdiff_t w0 = jl, w1 = j + 1;
    while (w0 > 0 && -((a[w0 - 1] - a[jl]) - ym) < R)
        --w0;
    while (w1 < K && ((a[w1] - a[jl]) - ym) < R)
        ++w1;
    gp.ym = ym;
    gp.w0 = w0;
    gp.w1 = (w1 - w0 <= SEC_GAP_WMAX && R < INFINITY) ? w1 : -1;
    /* tier bounds by bisection on D = (a[mu] - a[j-1]) - ym (monotone in mu;
     * the tiers nest).  The probes' outcomes are unpredictable, so the
     * search is branch-free (a conditional move per step); any search finds
     * the same boundary of a monotone test. */
    ptrdiff_t lend = w0, rbeg = w1;
    for (int t = 0; t < SEC_NTIERS; ++t) {
        const double X = SEC_TIERS[t].x * ym;
        /* left: the first mu in [0, lend) with -D < X */
        ptrdiff_t base = 0, n = lend;
        while (n > 1) {
            const ptrdiff_t half = n / 2;
            base = (-((a[base + half] - a[jl]) - ym) >= X) ? base + half : base;
            n -= half;
        }
        lend = n > 0 ? base + (-((a[base] - a[jl]) - ym) >= X) : 0;
        gp.lt[t] = lend;
        /* right: the first mu in [rbeg, K) with D >= X */
        base = rbeg;
        n = K - rbeg;
        while (n > 1) {
            const ptrdiff_t half = n / 2;
            base = (((a[base + half] - a[jl]) - ym) >= X) ? base : base + half;
            n -= half;
        }
        rbeg = n > 0 ? base + !(((a[base] - a[jl]) - ym) >= X) : rbeg;
        gp.rt[t] = rbeg;
    }
    return gp;
}

/* The terms u2 r^(k+1), r = 1/D, k < nk, of one far pole added to the moments m[k]. */
static inline void sec_moments_add(double *m, double u2, double D, int nk)
{
    const double r = 1.0 / D;
    double t = u2 * r;
    m[0] += t;
    for (int k = 1; k < nk; ++k) {
        t = t * r;
        m[k] += t;
    }
}

/* Moments a pole needs: SEC_NACC near the window, fewer by tier beyond. */
static inline int sec_left_nk(const sec_gap *gp, ptrdiff_t mu)
{
    int nk = SEC_NACC;
    for (int t = 0; t < SEC_NTIERS; ++t)
        if (mu < gp->lt[t])
            nk = SEC_TIERS[t].nk;
    return nk;
}

static inline int sec_right_nk(const sec_gap *gp, ptrdiff_t mu)
{
    int nk = SEC_NACC;
    for (int t = 0; t < SEC_NTIERS; ++t)
        if (mu >= gp->rt[t])
            nk = SEC_TIERS[t].nk;
    return nk;
}

/* A gap's series coefficients from its accumulated moments acc[k * stride]
 * (k < SEC_NACC) of one side: F_k, and (k+1) F_(k+1) for the derivative sum
 * u2/(D - h)^2.  Returns 0 if a moment overflowed (a gap ~1e-300 wide in a
 * bath of width 1): that gap is left to evaluations over all poles. */
static int sec_side_store(double *F, const double *acc, ptrdiff_t stride)
{
    int finite = 1;
    for (int k = 0; k < SEC_NMOM; ++k) {
        F[k] = acc[k * stride];
        F[SEC_NMOM + k] = (double)(k + 1) * acc[(k + 1) * stride];
        finite &= isfinite(F[k]) && isfinite(F[SEC_NMOM + k]);
    }
    return finite;
}

/* Gap gp's coefficients mq from the moments of its left and right far poles. */
static void sec_moments_store(double *mq, const double *left, const double *right, ptrdiff_t stride,
                              sec_gap *gp)
{
    const int ok_left = sec_side_store(mq, left, stride);
    const int ok_right = sec_side_store(mq + 2 * SEC_NMOM, right, stride);
    if (!(ok_left && ok_right))
        gp->w1 = -1;
}

/* The per-lane data of up to eight gaps j0 .. j0+n-1 for the vector moment
 * passes; a gap without expansion takes no terms (empty far ranges). */
typedef struct {
    double al[8], yl[8];
    long long w0[8], w1[8], lt[SEC_NTIERS][8], rt[SEC_NTIERS][8];
    ptrdiff_t lmax, rmin; /* the union of the lanes' far ranges: [0, lmax) and [rmin, K) */
} sec_lanes;

static void sec_lanes_setup(sec_lanes *ln, ptrdiff_t K, const double *a, ptrdiff_t j0, const sec_gap *gp, int n)
{
    ln->lmax = 0;
    ln->rmin = K;
    for (int q = 0; q < n; ++q) {
        const int ok = gp[q].w1 >= 0;
        ln->al[q] = a[j0 + q - 1];
        ln->yl[q] = gp[q].ym;
        ln->w0[q] = ok ? gp[q].w0 : 0;
        ln->w1[q] = ok ? gp[q].w1 : K;
        for (int t = 0; t < SEC_NTIERS; ++t) {
            ln->lt[t][q] = ok ? gp[q].lt[t] : 0;
            ln->rt[t][q] = ok ? gp[q].rt[t] : K;
        }
        ln->lmax = ln->w0[q] > ln->lmax ? (ptrdiff_t)ln->w0[q] : ln->lmax;
        ln->rmin = ln->w1[q] < ln->rmin ? (ptrdiff_t)ln->w1[q] : ln->rmin;
    }
}

/* Moments of gaps j0 .. j0+n-1 (reference path). */
static void sec_gap_moments(ptrdiff_t K, const double *a, const double *u2, ptrdiff_t j0,
                            ptrdiff_t n, sec_gap *gp, double *mom)
{
    for (ptrdiff_t q = 0; q < n; ++q) {
        double left[SEC_NACC] = {0.0}, right[SEC_NACC] = {0.0};
        if (gp[q].w1 >= 0) {
            const ptrdiff_t jl = j0 + q - 1;
            const double ym = gp[q].ym;
            for (ptrdiff_t mu = 0; mu < gp[q].w0; ++mu)
                sec_moments_add(left, u2[mu], (a[mu] - a[jl]) - ym, sec_left_nk(gp + q, mu));
            for (ptrdiff_t mu = gp[q].w1; mu < K; ++mu)
                sec_moments_add(right, u2[mu], (a[mu] - a[jl]) - ym, sec_right_nk(gp + q, mu));
        }
        sec_moments_store(mom + q * SEC_GAP_STRIDE, left, right, 1, gp + q);
    }
}

/* sum_k c[k] h^k (k < SEC_NMOM = 15) by Estrin's scheme, given h^2, h^4, h^8:
 * a dependency chain of four multiply-adds (the root iteration waits for
 * the four series of an evaluation) where Horner's rule has thirteen. */
static inline double sec_series(const double *c, double h, double h2, double h4, double h8)
{
    const double q0 = c[0] + c[1] * h, q1 = c[2] + c[3] * h, q2 = c[4] + c[5] * h;
    const double q3 = c[6] + c[7] * h, q4 = c[8] + c[9] * h, q5 = c[10] + c[11] * h;
    const double q6 = c[12] + c[13] * h;
    const double r0 = q0 + q1 * h2, r1 = q2 + q3 * h2, r2 = q4 + q5 * h2, r3 = q6 + c[14] * h2;
    return (r0 + r1 * h4) + (r2 + r3 * h4) * h8;
}
#if SEC_NMOM != 15
#error "sec_series is written out for SEC_NMOM = 15"
#endif

/* sec_eval for the factor cs, over all poles. */
static sec_val sec_eval_scaled(ptrdiff_t K, const double *a, const double *u2, ptrdiff_t eo,
                               ptrdiff_t split, double c0, double y, double cs)
{
    double flo, dlo, fhi, dhi;
    sec_sums(a, u2, a[eo], y, 0, split, &flo, &dlo);
    sec_sums(a, u2, a[eo], y, split, K, &fhi, &dhi);
    return sec_value(c0, y, cs * flo, cs * dlo, cs * fhi, cs * dhi);
}

/* sec_eval for the factor cs in gap j: the window exactly, the rest by its moments. */
static sec_val sec_eval_gap(const double *a, const double *u2, ptrdiff_t j, const sec_gap *gp,
                            const double *mom, ptrdiff_t eo, ptrdiff_t split, double c0, double y,
                            double cs)
{
    double flo, dlo, fhi, dhi;
    sec_sums(a, u2, a[eo], y, gp->w0, split, &flo, &dlo);
    sec_sums(a, u2, a[eo], y, split, gp->w1, &fhi, &dhi);
    const double h = ((a[eo] - a[j - 1]) + y) - gp->ym, h2 = h * h, h4 = h2 * h2, h8 = h4 * h4;
    flo += sec_series(mom, h, h2, h4, h8);
    dlo += sec_series(mom + SEC_NMOM, h, h2, h4, h8);
    fhi += sec_series(mom + 2 * SEC_NMOM, h, h2, h4, h8);
    dhi += sec_series(mom + 3 * SEC_NMOM, h, h2, h4, h8);
    return sec_value(c0, y, cs * flo, cs * dlo, cs * fhi, cs * dhi);
}

/* Root j of coupling factor cs; gp/mom NULL: evaluations over all poles. */
static int sec_root_scaled(ptrdiff_t K, const double *a, const double *u2, double alpha,
                           double ztot, double cs, ptrdiff_t j, const sec_gap *gp,
                           const double *mom, double *y_out, ptrdiff_t *o_out, double *w_out)
{
    sec_root_state st;
    sec_val v;
    int r;
    sec_start(&st, K, a, alpha, ztot, j);
    do
        v = gp ? sec_eval_gap(a, u2, j, gp, mom, st.eo, st.split, st.c0, st.y, cs)
               : sec_eval_scaled(K, a, u2, st.eo, st.split, st.c0, st.y, cs);
    while ((r = sec_step(&st, a, alpha, v)) == SEC_STEP_EVAL);
    *y_out = st.y;
    *o_out = st.o;
    *w_out = 1.0 / (1.0 + (v.dlo + v.dhi));
    return r == SEC_STEP_LIMIT;
}

#ifdef SEC_HAVE_X86
/* The interior roots of gaps with an expansion, SEC_LANES at a time (any
 * mix of gaps and couplings per vector).  Lane l holds one root: its
 * window's poles are copied, transposed, when it takes the root (each
 * root's ~4-6 evaluations then load them as vectors, where gathers would
 * load them every time), as are the gap's series coefficients.  sec_sums
 * adds pole w0 + i (below split) to pair lane i mod 2, pole split + i
 * (above) to pair lane i mod 2, and a left-over last pole of either side
 * after the pair sum.  The copy keeps the paired poles below split in rows
 * [0, nlo) and those above in rows [nlo, ntot) (nlo even: the same
 * parities), the left-over poles apart.  A vector runs to the longest of
 * its lanes' windows, so the roots are taken in order of window length. */
typedef struct {
    double pa[SEC_GAP_WMAX][SEC_LANES], pu[SEC_GAP_WMAX][SEC_LANES]; /* paired poles */
    double xa[2][SEC_LANES], xu[2][SEC_LANES];                       /* left-over pole below, above */
    /* per side: F_0 .. F_14 and 15 F_15 (the derivative's other coefficients
     * (k+1) F_(k+1) are formed from F_(k+1) by the same product each time) */
    double coef[2 * SEC_NACC][SEC_LANES];
    long long nlo[SEC_LANES], ntot[SEC_LANES]; /* paired rows below split, in all (even) */
    double cs[SEC_LANES], al[SEC_LANES], ym[SEC_LANES];
    __mmask8 oddlo, oddhi; /* lanes with a left-over pole below, above */
} sec_win8;

/* Lane l takes root j of factor cs. */
static void sec_win8_load(sec_win8 *wn, int l, const double *a, const double *u2, ptrdiff_t j,
                          const sec_gap *gp, const double *mom, double cs)
{
    const ptrdiff_t w0 = gp->w0, w1 = gp->w1, nlo = j - w0, nhi = w1 - j;
    const ptrdiff_t plo = nlo & ~(ptrdiff_t)1, phi = nhi & ~(ptrdiff_t)1;
    for (ptrdiff_t i = 0; i < plo; ++i) {
        wn->pa[i][l] = a[w0 + i];
        wn->pu[i][l] = u2[w0 + i];
    }
    for (ptrdiff_t i = 0; i < phi; ++i) {
        wn->pa[plo + i][l] = a[j + i];
        wn->pu[plo + i][l] = u2[j + i];
    }
    /* without a left-over pole, one that is not the origin keeps the
     * masked-out lane off the reciprocal's slow path */
    wn->xa[0][l] = (nlo & 1) ? a[j - 1] : a[w0];
    wn->xu[0][l] = (nlo & 1) ? u2[j - 1] : 0.0;
    wn->xa[1][l] = a[w1 - 1];
    wn->xu[1][l] = (nhi & 1) ? u2[w1 - 1] : 0.0;
    const __mmask8 bit = (__mmask8)(1u << l);
    wn->oddlo = (nlo & 1) ? (wn->oddlo | bit) : (wn->oddlo & ~bit);
    wn->oddhi = (nhi & 1) ? (wn->oddhi | bit) : (wn->oddhi & ~bit);
    wn->nlo[l] = plo;
    wn->ntot[l] = plo + phi;
    for (int side = 0; side < 2; ++side) {
        const double *F = mom + 2 * SEC_NMOM * side;
        for (int k = 0; k < SEC_NMOM; ++k)
            wn->coef[SEC_NACC * side + k][l] = F[k];
        wn->coef[SEC_NACC * side + SEC_NMOM][l] = F[2 * SEC_NMOM - 1];
    }
    wn->cs[l] = cs;
    wn->al[l] = a[j - 1];
    wn->ym[l] = gp->ym;
}

/* An idle lane: no rows, no left-over poles (its results are not used). */
static void sec_win8_idle(sec_win8 *wn, int l)
{
    wn->nlo[l] = wn->ntot[l] = 0;
    wn->oddlo &= (__mmask8) ~(1u << l);
    wn->oddhi &= (__mmask8) ~(1u << l);
}

/* The interior-root state of sec_root_state, one lane per root: the origin
 * is the gap's left pole (kind 0) or, in lanes "right", its right pole
 * (kind 2); split = j throughout. */
typedef struct {
    double y[SEC_LANES], lo[SEC_LANES], hi[SEC_LANES], delta_f[SEC_LANES];
    long long it[SEC_LANES];
    /* per root: a[j-1], a[j], a[j] - a[j-1], a[j-1] - alpha, a[j] - alpha */
    double al[SEC_LANES], ar[SEC_LANES], gap[SEC_LANES], c0l[SEC_LANES], c0r[SEC_LANES];
    __mmask8 started, right;
} sec_state8;

/* sec_start for interior root j in lane l */
static void sec_start8(sec_state8 *st, int l, const double *a, double alpha, ptrdiff_t j)
{
    const __mmask8 bit = (__mmask8)(1u << l);
    st->y[l] = 0.5 * (a[j] - a[j - 1]);
    st->it[l] = 0;
    st->al[l] = a[j - 1];
    st->ar[l] = a[j];
    st->gap[l] = a[j] - a[j - 1];
    st->c0l[l] = a[j - 1] - alpha;
    st->c0r[l] = a[j] - alpha;
    st->started &= (__mmask8)~bit;
    st->right &= (__mmask8)~bit;
}

/* The roots of a driver call: the gaps with an expansion in order of window
 * length (order[0..m)), each for every factor cs[g] > 0 in turn. */
typedef struct {
    const double *a, *u2, *cs, *mom;
    const sec_gap *gp;
    double alpha;
    ptrdiff_t G, j0, n, m, next, g; /* the next root: gap order[next], factor g */
    int order[SEC_GAP_BLOCK];
} sec_queue8;

/* Takes the next root into lane l of (wn, st); 0 if none is left. */
static int sec_queue8_take(sec_queue8 *qu, sec_win8 *wn, sec_state8 *st, ptrdiff_t *tg, ptrdiff_t *tq, int l)
{
    for (; qu->next < qu->m; qu->g = 0, ++qu->next) {
        while (qu->g < qu->G && qu->cs[qu->g] == 0.0)
            ++qu->g;
        if (qu->g < qu->G)
            break;
    }
    if (qu->next == qu->m)
        return 0;
    const ptrdiff_t q = qu->order[qu->next], j = qu->j0 + q;
    tg[l] = qu->g++;
    tq[l] = q;
    sec_start8(st, l, qu->a, qu->alpha, j);
    sec_win8_load(wn, l, qu->a, qu->u2, j, qu->gp + q, qu->mom + q * SEC_GAP_STRIDE, qu->cs[tg[l]]);
    return 1;
}

/* The queue of a driver call: the gaps by window length (insertion sort,
 * stable), so that the lanes of a vector hold similar windows. */
static void sec_queue8_init(sec_queue8 *qu, const double *a, const double *u2, double alpha, const double *cs,
                            ptrdiff_t G, ptrdiff_t j0, ptrdiff_t n, const sec_gap *gp, const double *mom)
{
    qu->a = a;
    qu->u2 = u2;
    qu->cs = cs;
    qu->mom = mom;
    qu->gp = gp;
    qu->alpha = alpha;
    qu->G = G;
    qu->j0 = j0;
    qu->n = n;
    qu->next = qu->g = 0;
    int len[SEC_GAP_BLOCK], m = 0;
    for (ptrdiff_t q = 0; q < n; ++q) {
        if (gp[q].w1 < 0)
            continue;
        const int key = (int)(((j0 + q - gp[q].w0) & ~(ptrdiff_t)1) + ((gp[q].w1 - j0 - q) & ~(ptrdiff_t)1));
        int p = m++;
        for (; p > 0 && len[p - 1] > key; --p) {
            qu->order[p] = qu->order[p - 1];
            len[p] = len[p - 1];
        }
        qu->order[p] = (int)q;
        len[p] = key;
    }
    qu->m = m;
}

/* Eight roots in flight: window copies, iteration state, and the outcome
 * of the last step (done / limit lanes and their weights). */
typedef struct {
    sec_win8 wn;
    sec_state8 st;
    ptrdiff_t tg[SEC_LANES], tq[SEC_LANES];
    ptrdiff_t rows; /* rows [0, rows) of every lane are finite (zero or poles) */
    double wl[SEC_LANES];
    __mmask8 busy, done, lim;
} sec_group8;

/* Fills the group's lanes; an idle lane repeats lane 0's first request. */
static void sec_group8_init(sec_group8 *gr, sec_queue8 *qu)
{
    memset(&gr->st, 0, sizeof gr->st);
    gr->wn.oddlo = gr->wn.oddhi = 0;
    gr->rows = 0;
    gr->busy = gr->done = gr->lim = 0;
    for (int l = 0; l < SEC_LANES; ++l) {
        if (sec_queue8_take(qu, &gr->wn, &gr->st, gr->tg, gr->tq, l)) {
            gr->busy |= (__mmask8)(1u << l);
            continue;
        }
        if (l == 0)
            return; /* an empty group is never evaluated */
        const ptrdiff_t q = gr->tq[0], j = qu->j0 + q;
        gr->tg[l] = gr->tg[0];
        gr->tq[l] = q;
        sec_start8(&gr->st, l, qu->a, qu->alpha, j);
        sec_win8_load(&gr->wn, l, qu->a, qu->u2, j, qu->gp + q, qu->mom + q * SEC_GAP_STRIDE, qu->cs[gr->tg[l]]);
        sec_win8_idle(&gr->wn, l);
    }
}

/* The roots the last step finished: results out, next roots in. */
static void sec_group8_finish(sec_group8 *gr, sec_queue8 *qu, int k, double *e, double *w, ptrdiff_t ld,
                              ptrdiff_t *limit)
{
    const __mmask8 fin = gr->done | gr->lim;
    for (int l = 0; l < SEC_LANES; ++l) {
        if (!(fin >> l & 1))
            continue;
        const ptrdiff_t j = qu->j0 + gr->tq[l], g = gr->tg[l];
        const double ao = (gr->st.right >> l & 1) ? gr->st.ar[l] : gr->st.al[l];
        e[g * ld + j] = ldexp(ao + gr->st.y[l], k);
        w[g * ld + j] = gr->wl[l];
        if ((gr->lim >> l & 1) && (*limit < 0 || g * qu->n + gr->tq[l] < *limit))
            *limit = g * qu->n + gr->tq[l];
        if (!sec_queue8_take(qu, &gr->wn, &gr->st, gr->tg, gr->tq, l)) {
            gr->busy &= (__mmask8) ~(1u << l);
            sec_win8_idle(&gr->wn, l);
        }
    }
    gr->done = gr->lim = 0;
}

/* The vector lanes, once per instruction set (see fgr_secular_lanes.h). */
#define SEC_LANES_ISA 512
#include "fgr_secular_lanes.h"
#undef SEC_LANES_ISA
#define SEC_LANES_ISA 2
#include "fgr_secular_lanes.h"
#undef SEC_LANES_ISA
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SEC_HAVE_V4 1
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && !defined(FGR_NO_MULTIVERSIONING) \
    && !defined(__clang__)
#define SEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SEC_CLONES
#endif
/* inlined into each clone of its caller */
#define SEC_CLONES_INLINE __attribute__((always_inline))
typedef double sec_v4 __attribute__((vector_size(32)));
typedef long long sec_m4 __attribute__((vector_size(32)));

SEC_CLONES_INLINE static inline void sec_mom4_pole(const double *a, const double *u2, ptrdiff_t mu, const int side,
                                                  const sec_m4 *pw0, const sec_m4 *pw1, const sec_m4 *lt,
                                                  const sec_m4 *rt, const sec_v4 *pal, const sec_v4 *pyl, sec_m4 *far,
                                                  sec_m4 *need, sec_v4 *r, sec_v4 *t)
{
    const sec_v4 one = {1.0, 1.0, 1.0, 1.0};
    const sec_m4 muv = {mu, mu, mu, mu};
    *far = side ? (muv >= *pw1) : (muv < *pw0); /* all ones where the pole is far */
    for (int q = 0; q < SEC_NTIERS; ++q)
        need[q] = *far & (side ? (muv < rt[q]) : (muv >= lt[q]));
    const sec_v4 av = {a[mu], a[mu], a[mu], a[mu]}, uv = {u2[mu], u2[mu], u2[mu], u2[mu]};
    *r = one / ((av - *pal) - *pyl);
    *t = uv * *r;
}

/* Term x of a pole masked to the lanes that take moment k of it (its tier
 * masks need, far mask far); with masked = 0 (a range where every lane takes
 * every moment up to kmax) x itself. */
#define SEC_MOM4_TERM(x, k, need, far)                                                                      \
    (!masked ? (x)                                                                                          \
             : (sec_v4)((sec_m4)(x) & ((k) >= SEC_TIERS[0].nk   ? (need)[0]                                 \
                                       : (k) >= SEC_TIERS[1].nk ? (need)[1]                                 \
                                       : (k) >= SEC_TIERS[2].nk ? (need)[2]                                 \
                                                                : (far))))

/* Poles mu0 <= mu < max(mu0, mu1) of one side, at most kmax moments (a
 * constant after inlining); returns the end.  A lane outside its range adds
 * the bits of +0.0, which leaves its sum unchanged (the sums start at +0.0
 * and never become -0.0).  Two poles per step: their products u2 r^(k+1)
 * are independent chains of multiplications, which one pole alone leaves
 * latency-bound (each sum still takes pole mu before mu + 1, as the
 * reference). */
SEC_CLONES_INLINE static inline ptrdiff_t
sec_mom4_range(const double *a, const double *u2, ptrdiff_t mu0, ptrdiff_t mu1, const int kmax, const int masked,
               const int side, const sec_m4 *pw0, const sec_m4 *pw1, const sec_m4 *lt, const sec_m4 *rt,
               const sec_v4 *pal, const sec_v4 *pyl, sec_v4 *acc)
{
    ptrdiff_t mu = mu0;
    for (; mu + 2 <= mu1; mu += 2) {
        sec_m4 far0, far1, need0[SEC_NTIERS], need1[SEC_NTIERS];
        sec_v4 r0, r1, t0, t1;
        sec_mom4_pole(a, u2, mu, side, pw0, pw1, lt, rt, pal, pyl, &far0, need0, &r0, &t0);
        sec_mom4_pole(a, u2, mu + 1, side, pw0, pw1, lt, rt, pal, pyl, &far1, need1, &r1, &t1);
        acc[0] = (acc[0] + SEC_MOM4_TERM(t0, 0, need0, far0)) + SEC_MOM4_TERM(t1, 0, need1, far1);
        for (int k = 1; k < kmax; ++k) {
            t0 = t0 * r0;
            t1 = t1 * r1;
            acc[k] = (acc[k] + SEC_MOM4_TERM(t0, k, need0, far0)) + SEC_MOM4_TERM(t1, k, need1, far1);
        }
    }
    if (mu < mu1) {
        sec_m4 far, need[SEC_NTIERS];
        sec_v4 r, t;
        sec_mom4_pole(a, u2, mu, side, pw0, pw1, lt, rt, pal, pyl, &far, need, &r, &t);
        acc[0] += SEC_MOM4_TERM(t, 0, need, far);
        for (int k = 1; k < kmax; ++k) {
            t = t * r;
            acc[k] += SEC_MOM4_TERM(t, k, need, far);
        }
    }
    return mu1 > mu0 ? mu1 : mu0;
}
#undef SEC_MOM4_TERM

/* The moments of four gaps j0 .. j0+3 at once (lane q: gap j0+q), bitwise
 * sec_gap_moments: per lane the same divisions, products and sums in the
 * same order. */
SEC_CLONES static void sec_gap_moments4(ptrdiff_t K, const double *a, const double *u2, ptrdiff_t j0,
                                        sec_gap *gp, double *mom)
{
    sec_lanes ln;
    sec_lanes_setup(&ln, K, a, j0, gp, 4);
    sec_v4 al, yl;
    sec_m4 w0, w1, lt[SEC_NTIERS], rt[SEC_NTIERS];
    memcpy(&al, ln.al, sizeof al);
    memcpy(&yl, ln.yl, sizeof yl);
    memcpy(&w0, ln.w0, sizeof w0);
    memcpy(&w1, ln.w1, sizeof w1);
    for (int t = 0; t < SEC_NTIERS; ++t) {
        memcpy(&lt[t], ln.lt[t], sizeof lt[t]);
        memcpy(&rt[t], ln.rt[t], sizeof rt[t]);
    }
    const ptrdiff_t lmax = ln.lmax, rmin = ln.rmin;
    sec_v4 acc[2][SEC_NACC];
    for (int side = 0; side < 2; ++side) {
        for (int k = 0; k < SEC_NACC; ++k)
            acc[side][k] = al - al;
        /* the lanes' smallest and largest tier bounds and window edges of this side */
        ptrdiff_t lo[SEC_NTIERS], hi[SEC_NTIERS], wlo = K, whi = 0;
        for (int t = 0; t < SEC_NTIERS; ++t) {
            lo[t] = K;
            hi[t] = 0;
            for (int q = 0; q < 4; ++q) {
                const ptrdiff_t b = side ? (ptrdiff_t)rt[t][q] : (ptrdiff_t)lt[t][q];
                lo[t] = b < lo[t] ? b : lo[t];
                hi[t] = b > hi[t] ? b : hi[t];
            }
        }
        for (int q = 0; q < 4; ++q) {
            const ptrdiff_t b = side ? (ptrdiff_t)w1[q] : (ptrdiff_t)w0[q];
            wlo = b < wlo ? b : wlo;
            whi = b > whi ? b : whi;
        }
        /* Ranges of poles in order, each with the most moments a lane takes
         * there; unmasked (masked = 0: the and-masks are most of the work
         * that AVX-512's masked adds get for free) where every lane takes
         * exactly those (beyond the lanes' largest bound of the nearer tier
         * and short of their smallest of the farther one), masked between.  The four
         * lanes are adjacent gaps, but their tier bounds differ with their
         * widths, so the masked ranges are not negligible; each range
         * starts where the previous one ended (an empty range when its end
         * lies before), which keeps every bound above valid. */
        sec_v4 *A = acc[side];
        const int n0 = SEC_TIERS[0].nk, n1 = SEC_TIERS[1].nk, n2 = SEC_TIERS[2].nk;
#define SEC_R(end, kmax, masked) \
    mu = sec_mom4_range(a, u2, mu, end, kmax, masked, side, &w0, &w1, lt, rt, &al, &yl, A)
#define SEC_MIN(x, y) ((x) < (y) ? (x) : (y))
        if (!side) {
            /* far to near: mu < lo[t] is beyond tier t for every lane */
            ptrdiff_t mu = 0;
            SEC_R(lo[2], n2, 0);
            SEC_R(SEC_MIN(hi[2], lo[1]), n1, 1);
            SEC_R(lo[1], n1, 0);
            SEC_R(SEC_MIN(hi[1], lo[0]), n0, 1);
            SEC_R(lo[0], n0, 0);
            SEC_R(SEC_MIN(hi[0], wlo), SEC_NACC, 1);
            SEC_R(wlo, SEC_NACC, 0);
            SEC_R(lmax, SEC_NACC, 1);
        } else {
            /* near to far: mu >= hi[t] is beyond tier t for every lane */
            ptrdiff_t mu = rmin;
            SEC_R(whi, SEC_NACC, 1);
            SEC_R(lo[0], SEC_NACC, 0);
            SEC_R(hi[0], SEC_NACC, 1);
            SEC_R(lo[1], n0, 0);
            SEC_R(hi[1], n0, 1);
            SEC_R(lo[2], n1, 0);
            SEC_R(hi[2], n1, 1);
            SEC_R(K, n2, 0);
        }
#undef SEC_R
#undef SEC_MIN
    }
    for (int q = 0; q < 4; ++q)
        sec_moments_store(mom + q * SEC_GAP_STRIDE, (const double *)acc[0] + q, (const double *)acc[1] + q, 4,
                          gp + q);
}
#endif

/* The smallest and largest unit coupling, and whether the poles are distinct
 * and every u2 is positive (else the one-coupling solver, which deflates). */
static int sec_scaled_plain(ptrdiff_t L, const double *d, const double *u2, double *umin, double *umax)
{
    double lo = INFINITY, hi = 0.0;
    for (ptrdiff_t mu = 0; mu < L; ++mu) {
        if (!(u2[mu] > 0.0) || !isfinite(u2[mu]) || !isfinite(d[mu]) || (mu > 0 && !(d[mu] > d[mu - 1])))
            return 0;
        lo = fmin(lo, u2[mu]);
        hi = fmax(hi, u2[mu]);
    }
    *umin = lo;
    *umax = hi;
    return 1;
}

int fgr_arrowhead_solve_scaled(ptrdiff_t L, const double *d, const double *u2, ptrdiff_t G,
                               const double *c, double alpha, double *e, double *w, ptrdiff_t ld,
                               ptrdiff_t min_l, double *work, ptrdiff_t *iwork, int path)
{
    path = fgr_path_resolve(path);
    double umin = 0.0, umax = 0.0;
    for (ptrdiff_t g = 0; g < G; ++g)
        if (!isfinite(c[g]) || !(c[g] >= 0.0))
            return FGR_SEC_BAD_COUPLING;
    int plain = L >= SEC_GAP_MIN_L && L >= min_l && isfinite(alpha) && sec_scaled_plain(L, d, u2, &umin, &umax);
    double *a = work, *s = work + L, *z2 = work + 2 * L, *cs = work + 3 * L;
    double *mom = cs + G, *sub = mom + SEC_GAP_BLOCK * SEC_GAP_STRIDE;
    sec_gap gp[SEC_GAP_BLOCK];
    /* the bath's scale 2^k, independent of the couplings (scaling by 2^-k is
     * exact; z2 = c u2 scales as u2) */
    int k = 0;
    double ssum = 0.0;
    if (plain) {
        double big = fabs(alpha);
        for (ptrdiff_t mu = 0; mu < L; ++mu)
            big = fmax(big, fabs(d[mu]));
        big = fmax(big, sqrt(umax));
        k = big > 0.0 ? ilogb(big) : 0;
        for (ptrdiff_t mu = 0; mu < L; ++mu) {
            a[mu] = ldexp(d[mu], -k);
            s[mu] = ldexp(u2[mu], -2 * k);
            ssum += s[mu];
            /* poles ~1e-308 apart can coincide once scaled: the one-coupling solver merges them */
            plain = plain && (mu == 0 || a[mu] > a[mu - 1]);
        }
    }
    /* the scaled unit couplings must keep full precision (u2 spread over
     * hundreds of decades, or far below the energies: the one-coupling solver
     * deflates and checks those) */
    plain = plain && ldexp(umin, -2 * k) >= 0x1p-900;
    /* per coupling: the factor, or 0 where the one-coupling solver takes over
     * (a zero coupling, scaled couplings that could under- or overflow,
     * deflation, small L) */
    for (ptrdiff_t g = 0; g < G; ++g) {
        const int ok = plain && c[g] * ldexp(umin, -2 * k) >= 0x1p-600 && c[g] * ldexp(umax, -2 * k) <= 0x1p600;
        cs[g] = ok ? c[g] : 0.0;
        if (ok)
            continue;
        for (ptrdiff_t mu = 0; mu < L; ++mu)
            z2[mu] = c[g] * u2[mu];
        const int code = fgr_arrowhead_solve_path(L, d, z2, alpha, e + g * ld, w + g * ld, NULL, NULL,
                                                  sub, iwork, path);
        if (code != 0)
            return code;
    }
    if (!plain)
        return 0;
    const ptrdiff_t K = L;
    const double alpha_s = ldexp(alpha, -k);
    /* outer roots, over all poles */
    for (ptrdiff_t g = 0; g < G; ++g) {
        if (cs[g] == 0.0)
            continue;
        for (int side = 0; side < 2; ++side) {
            const ptrdiff_t j = side ? K : 0;
            double y, wj;
            ptrdiff_t o;
            if (sec_root_scaled(K, a, s, alpha_s, cs[g] * ssum, cs[g], j, NULL, NULL, &y, &o, &wj))
                return 1;
            e[g * ld + j] = ldexp(a[o] + y, k);
            w[g * ld + j] = wj;
            if (!isfinite(e[g * ld + j]))
                return FGR_SEC_RANGE;
        }
    }
    /* interior roots, SEC_GAP_BLOCK gaps at a time: one moment pass for all couplings */
    for (ptrdiff_t j0 = 1; j0 < K; j0 += SEC_GAP_BLOCK) {
        const ptrdiff_t n = K - j0 < SEC_GAP_BLOCK ? K - j0 : SEC_GAP_BLOCK;
        for (ptrdiff_t q = 0; q < n; ++q)
            gp[q] = sec_gap_window(K, a, j0 + q);
        ptrdiff_t q0 = 0;
#ifdef SEC_HAVE_X86
        if (path == FGR_PATH_AVX512)
            for (; q0 + 8 <= n; q0 += 8)
                sec_gap_moments8_avx512(K, a, s, j0 + q0, gp + q0, mom + q0 * SEC_GAP_STRIDE);
#endif
#ifdef SEC_HAVE_V4
        /* the scalar path: the reference, one gap at a time (the tests compare both) */
        if (path != FGR_PATH_SCALAR)
            for (; q0 + 4 <= n; q0 += 4)
                sec_gap_moments4(K, a, s, j0 + q0, gp + q0, mom + q0 * SEC_GAP_STRIDE);
#endif
        sec_gap_moments(K, a, s, j0 + q0, n - q0, gp + q0, mom + q0 * SEC_GAP_STRIDE);
        /* the first root at the iteration limit of the vector pass, -2: no vector pass */
        ptrdiff_t limit = -2;
#ifdef SEC_HAVE_X86
        if (path == FGR_PATH_AVX512)
            limit = sec_gap_roots8_avx512(a, s, alpha_s, cs, G, j0, n, gp, mom, k, e, w, ld);
        else if (path == FGR_PATH_AVX2)
            limit = sec_gap_roots8_avx2(a, s, alpha_s, cs, G, j0, n, gp, mom, k, e, w, ld);
#endif
        for (ptrdiff_t g = 0; g < G; ++g) {
            if (cs[g] == 0.0)
                continue;
            for (ptrdiff_t q = 0; q < n; ++q) {
                const ptrdiff_t j = j0 + q;
                const int ok = gp[q].w1 >= 0;
                double y, wj;
                ptrdiff_t o;
                /* the same checks in the same order as the scalar path: the same return code */
                if (ok && limit > -2) {
                    if (g * n + q == limit)
                        return 1;
                    if (!isfinite(e[g * ld + j]))
                        return FGR_SEC_RANGE;
                    continue;
                }
                if (sec_root_scaled(K, a, s, alpha_s, cs[g] * ssum, cs[g], j, ok ? gp + q : NULL,
                                    ok ? mom + q * SEC_GAP_STRIDE : NULL, &y, &o, &wj))
                    return 1;
                e[g * ld + j] = ldexp(a[o] + y, k);
                w[g * ld + j] = wj;
                if (!isfinite(e[g * ld + j]))
                    return FGR_SEC_RANGE;
            }
        }
    }
    return 0;
}
