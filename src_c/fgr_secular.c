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
 * poles (their evaluations are independent; see sec_roots_avx512).
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

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) \
    && !defined(FGR_NO_MULTIVERSIONING)
#include <immintrin.h>
#define SEC_HAVE_AVX512 1
#define SEC_LANES 8
#define SEC_AVX512 __attribute__((target("avx512f")))

/* 1/x correctly rounded (bitwise the division) without the divider, which
 * does one double every ~2 cycles whatever the vector width.  y = rcp14(x)
 * refined by (1 + e + e^2 + e^3), e = 1 - x y0, is within ~2^-56 of 1/x
 * before its final rounding, so it is RN(1/x) except within ~2^-56 of a
 * rounding boundary.  It is accepted only where the exact test
 *     |1 - x y| < mant(x) 2^-54   (<=> |1/x - y| < half the spacing at y)
 * holds: the fma residual is exact for such y, the threshold is a double, and
 * rounding is monotone, so a passing y is RN(1/x); the ~1% of vectors with a
 * failing lane (and 0, inf, NaN, subnormal x) take the division there. */
SEC_AVX512 static inline __m512d sec_recip8(__m512d x)
{
    const __m512d one = _mm512_set1_pd(1.0);
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
    const __mmask8 ok = _mm512_cmp_pd_mask(res, thr, _CMP_LT_OQ);
    if (__builtin_expect(ok != 0xff, 0))
        y = _mm512_mask_div_pd(y, (__mmask8)~ok, one, x);
    return y;
}

/* t = s/(x) with x = (a[mu] - ao) - y per lane, and t/x, as the scalar code. */
#define SEC_TERM8(MU, T, D)                                                                   \
    do {                                                                                      \
        const __m512d x_ = _mm512_sub_pd(_mm512_sub_pd(_mm512_set1_pd(a[MU]), aov), yv);     \
        const __m512d r_ = sec_recip8(x_);                                                    \
        T = _mm512_mul_pd(_mm512_set1_pd(s[MU]), r_);                                         \
        D = _mm512_mul_pd(T, r_);                                                             \
    } while (0)

/* Unmasked pole pairs (mu0 even, mu1 - mu0 even) for lanes all on one side. */
SEC_AVX512 static inline void sec_pairs8(const double *a, const double *s, __m512d aov, __m512d yv,
                                         ptrdiff_t mu0, ptrdiff_t mu1, __m512d *fE, __m512d *dE,
                                         __m512d *fO, __m512d *dO)
{
    for (ptrdiff_t mu = mu0; mu < mu1; mu += 2) {
        __m512d t0, d0, t1, d1;
        SEC_TERM8(mu, t0, d0);
        SEC_TERM8(mu + 1, t1, d1);
        *fE = _mm512_add_pd(*fE, t0);
        *dE = _mm512_add_pd(*dE, d0);
        *fO = _mm512_add_pd(*fO, t1);
        *dO = _mm512_add_pd(*dO, d1);
    }
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

/* sec_eval for SEC_LANES requests at once, bitwise.  sec_sums adds pole mu
 * to lane (mu - m0) mod 2 of its pair sums and a left-over last pole at the
 * end; here each root-lane keeps sums over even and over odd mu (ascending,
 * as there), lo (mu < split) and hi separately; which of the two is lane 0
 * does not matter (fv[0] + fv[1] is commutative).  The left-over poles
 * (split - 1 if split is odd, K - 1 if K - split is odd) are added last, in
 * scalar code as there. */
SEC_AVX512 static void sec_eval8(ptrdiff_t K, const double *a, const double *s,
                                 const sec_root_state *const *st, sec_val *out)
{
    double ao[SEC_LANES], yl[SEC_LANES];
    long long sp[SEC_LANES], loe[SEC_LANES], hie[SEC_LANES];
    ptrdiff_t smin = K, smax = 0, himin = K;
    for (int l = 0; l < SEC_LANES; ++l) {
        const ptrdiff_t S = st[l]->split, he = S + ((K - S) & ~(ptrdiff_t)1);
        ao[l] = a[st[l]->eo];
        yl[l] = st[l]->y;
        sp[l] = S;
        loe[l] = S & ~(ptrdiff_t)1;
        hie[l] = he;
        smin = S < smin ? S : smin;
        smax = S > smax ? S : smax;
        himin = he < himin ? he : himin;
    }
    const __m512d aov = _mm512_loadu_pd(ao), yv = _mm512_loadu_pd(yl);
    const __m512i spv = _mm512_loadu_si512(sp), loev = _mm512_loadu_si512(loe),
                  hiev = _mm512_loadu_si512(hie);
    __m512d flE = _mm512_setzero_pd(), flO = flE, dlE = flE, dlO = flE;
    __m512d fhE = flE, fhO = flE, dhE = flE, dhO = flE;
    /* [0, all_lo): every lane lo; [all_hi, himin): every lane hi (both even) */
    const ptrdiff_t all_lo = smin & ~(ptrdiff_t)1;
    ptrdiff_t all_hi = (smax + 1) & ~(ptrdiff_t)1;
    himin &= ~(ptrdiff_t)1;
    ptrdiff_t mu = 0;
    sec_pairs8(a, s, aov, yv, 0, all_lo, &flE, &dlE, &flO, &dlO);
    mu = all_lo;
    while (mu < K) {
        if (mu >= all_hi && mu + 2 <= himin) {
            sec_pairs8(a, s, aov, yv, mu, himin, &fhE, &dhE, &fhO, &dhO);
            mu = himin;
            continue;
        }
        /* mixed region: per-lane masks (a masked add leaves the other lanes' bits alone) */
        for (int q = 0; q < 2 && mu < K; ++q, ++mu) {
            __m512d t, d;
            SEC_TERM8(mu, t, d);
            const __m512i mv = _mm512_set1_epi64((long long)mu);
            const __mmask8 ml = _mm512_cmplt_epi64_mask(mv, loev);
            const __mmask8 mh = _mm512_cmpge_epi64_mask(mv, spv) & _mm512_cmplt_epi64_mask(mv, hiev);
            if (q == 0) {
                flE = _mm512_mask_add_pd(flE, ml, flE, t);
                dlE = _mm512_mask_add_pd(dlE, ml, dlE, d);
                fhE = _mm512_mask_add_pd(fhE, mh, fhE, t);
                dhE = _mm512_mask_add_pd(dhE, mh, dhE, d);
            } else {
                flO = _mm512_mask_add_pd(flO, ml, flO, t);
                dlO = _mm512_mask_add_pd(dlO, ml, dlO, d);
                fhO = _mm512_mask_add_pd(fhO, mh, fhO, t);
                dhO = _mm512_mask_add_pd(dhO, mh, dhO, d);
            }
        }
    }
    double acc[8][SEC_LANES];
    _mm512_storeu_pd(acc[0], flE);
    _mm512_storeu_pd(acc[1], flO);
    _mm512_storeu_pd(acc[2], dlE);
    _mm512_storeu_pd(acc[3], dlO);
    _mm512_storeu_pd(acc[4], fhE);
    _mm512_storeu_pd(acc[5], fhO);
    _mm512_storeu_pd(acc[6], dhE);
    _mm512_storeu_pd(acc[7], dhO);
    for (int l = 0; l < SEC_LANES; ++l) {
        const ptrdiff_t S = (ptrdiff_t)sp[l];
        double flo = acc[0][l] + acc[1][l], dlo = acc[2][l] + acc[3][l];
        double fhi = acc[4][l] + acc[5][l], dhi = acc[6][l] + acc[7][l];
        if (S & 1)
            sec_add_pole(a, s, ao[l], yl[l], S - 1, &flo, &dlo);
        if ((K - S) & 1)
            sec_add_pole(a, s, ao[l], yl[l], K - 1, &fhi, &dhi);
        out[l] = sec_value(st[l]->c0, yl[l], flo, dlo, fhi, dhi);
    }
}

/* All K+1 roots, SEC_LANES at a time: a lane whose root converged takes the
 * next one.  Results as sec_root's, bitwise; a root at the iteration limit is
 * marked by w = NaN (the caller reports the first one in root order). */
SEC_AVX512 static void sec_roots_avx512(ptrdiff_t K, const double *a, const double *s,
                                        double alpha, double ztot, double *yroot,
                                        ptrdiff_t *oroot, double *wroot)
{
    sec_root_state lane[SEC_LANES];
    const sec_root_state *req[SEC_LANES];
    sec_val v[SEC_LANES];
    int busy[SEC_LANES];
    ptrdiff_t next = 0;
    int nbusy = 0;
    for (int l = 0; l < SEC_LANES; ++l) {
        busy[l] = next <= K;
        if (busy[l]) {
            sec_start(&lane[l], K, a, alpha, ztot, next++);
            ++nbusy;
        }
    }
    while (nbusy > 0) {
        int first = 0;
        while (!busy[first])
            ++first;
        for (int l = 0; l < SEC_LANES; ++l)
            req[l] = busy[l] ? &lane[l] : &lane[first]; /* idle lanes repeat a request */
        sec_eval8(K, a, s, req, v);
        for (int l = 0; l < SEC_LANES; ++l) {
            if (!busy[l])
                continue;
            const int r = sec_step(&lane[l], a, alpha, v[l]);
            if (r == SEC_STEP_EVAL)
                continue;
            const ptrdiff_t j = lane[l].j;
            yroot[j] = lane[l].y;
            oroot[j] = lane[l].o;
            wroot[j] = (r == SEC_STEP_DONE) ? 1.0 / (1.0 + (v[l].dlo + v[l].dhi)) : NAN;
            if (next <= K) {
                sec_start(&lane[l], K, a, alpha, ztot, next++);
            } else {
                busy[l] = 0;
                --nbusy;
            }
        }
    }
}

static int sec_avx512_usable(void)
{
    return __builtin_cpu_supports("avx512f");
}
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
                             double *work, ptrdiff_t *iwork, int scalar_only)
{
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
#ifdef SEC_HAVE_AVX512
        /* Below a few lanes' worth of roots the vector path cannot pay off. */
        if (!scalar_only && K >= 4 * SEC_LANES && sec_avx512_usable()) {
            /* the roots go to yroot, oroot and (weights) the tail of w */
            sec_roots_avx512(K, a, s, alpha_s, ztot, yroot, oroot, w + ndefl);
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
            (void)scalar_only;
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
     * repeated pole) must really be negligible:
     * its pole's weight is ~ z2 / (d - e)^2 with e the nearest root of the
     * active problem.  Energies beyond ~1e154 |z| make the threshold drop
     * couplings that mix states closer than |z| (e.g. the level sitting on a
     * pole while another pole is at 1e160): refuse instead of returning a
     * wrong spectrum.  The roots e[ndefl..L] are ascending. */
    for (mu = 0; mu < L; ++mu) {
        if (!(z2[mu] > 0.0) || ldexp(z2[mu], -2 * k) >= DBL_MIN || pole_is_active(a, K, ldexp(d[mu], -k)))
            continue;
        ptrdiff_t lo = ndefl, hi = L + 1; /* first root >= d[mu], by bisection */
        while (lo < hi) {
            const ptrdiff_t mid = lo + (hi - lo) / 2;
            if (e[mid] < d[mu])
                lo = mid + 1;
            else
                hi = mid;
        }
        double dist = INFINITY;
        if (lo <= L)
            dist = fmin(dist, e[lo] - d[mu]);
        if (lo > ndefl)
            dist = fmin(dist, d[mu] - e[lo - 1]);
        /* weight z2 / dist^2 above ~eps/2: compared as amplitudes (no overflow) */
        if (sqrt(z2[mu]) > 0x1p-27 * dist)
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
