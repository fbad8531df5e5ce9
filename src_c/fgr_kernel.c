/*
 * Eigenpair-sum kernel:  P(t) = |sum_a w_a exp(-i e_a t)|^2.
 *
 * Speed comes from two places:
 *   - a branch-free sin/cos (Cody-Waite reduction by pi/2 in three 33-bit
 *     pieces + minimax polynomials on [-pi/4, pi/4]) that the compiler can
 *     vectorise, used while |e t| <= FGR_FAST_PHASE_LIMIT (absolute error
 *     ~2 ulp of 1);
 *   - on uniform time grids t_k = t_0 + k dt, the factorisation
 *     k = j B + r:  exp(-i e t_k) = exp(-i e t_{jB}) exp(-i e r dt), so that
 *     the sums S[j][r] = sum_a (w_a exp(-i e_a t_{jB})) exp(-i e_a r dt)
 *     form one complex matrix product that needs only (B + T/B) M sin/cos
 *     instead of T M.  Every P(t_k) is one product of two directly computed
 *     phasors: no recurrence, so the rounding error does not grow with k.
 * Reductions use eight independent partial sums: the compiler cannot
 * vectorise a floating-point sum without reassociation, which we forbid.
 * On x86-64 Linux the vectorised loops are compiled for AVX-512, AVX2 and
 * the baseline ISA (GCC/Clang function multiversioning, chosen at load time;
 * elsewhere, or with -DFGR_NO_MULTIVERSIONING, for the target ISA only; the
 * general path's AVX-512 and AVX2 loops are software-pipelined functions of
 * their own).
 * All clones run the same IEEE operations in the same order (no FMA
 * contraction), so their results are bitwise identical
 * (tests/test_kernel_isa.py).
 */
#include "fgr_kernel.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* No a*b + c -> fma contraction, so that every clone rounds identically:
 * GCC in ISO C mode (c_std=c11) does not contract, clang does by default
 * and its AVX-512 target includes FMA. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* pi/2 split in pieces with 33 significant bits each, so k * PIO2_i is exact
 * for |k| < 2^20 (fdlibm's __ieee754_rem_pio2 constants). */
static const double TWO_OVER_PI = 6.36619772367581382433e-01;
static const double PIO2_1 = 1.57079632673412561417e+00;
static const double PIO2_2 = 6.07710050630396597660e-11;
static const double PIO2_3 = 2.02226624871116645580e-21;
/* 1.5 * 2^52: adding and subtracting it rounds to the nearest integer and
 * leaves that integer in the low mantissa bits. */
static const double ROUND_MAGIC = 6755399441055744.0;

/* sin r = r + r^3 (S1 + S2 r^2 + ... + S6 r^10),
 * cos r = 1 - r^2/2 + r^4 (C1 + C2 r^2 + ... + C6 r^10)  (fdlibm k_sin.c, k_cos.c) */
static const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                    S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                    S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
static const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                    C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                    C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;

#define LANES 8

/* Eigenpairs per cache block (a multiple of LANES): the phasors of the
 * general path stay in L1, the offset table of the uniform path
 * (<= FGR_ANCHOR_PERIOD x CHUNK complex, 256 KiB) in L2. */
#define CHUNK 256

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) \
    && !defined(FGR_NO_MULTIVERSIONING)
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOT
#endif

static inline uint64_t bits_of(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double double_of(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* sin(x), cos(x) for |x| <= FGR_FAST_PHASE_LIMIT; no branches. */
static inline void fast_sincos(double x, double *s_out, double *c_out)
{
    double shifted = x * TWO_OVER_PI + ROUND_MAGIC;
    double k = shifted - ROUND_MAGIC;
    uint64_t q = bits_of(shifted);  /* low bits: k mod 4 (two's complement) */
    double r = ((x - k * PIO2_1) - k * PIO2_2) - k * PIO2_3;
    double r2 = r * r, r4 = r2 * r2;
    /* fdlibm's minimax polynomials (__kernel_sin/__kernel_cos): error below
     * 2^-58 on |r| <= pi/4, with two terms fewer each than the Taylor series
     * of the same accuracy.  Estrin's scheme: the loop is bound by the
     * multiplier ports, and the shorter dependency chains let more
     * iterations overlap. */
    double ps = (S1 + S2 * r2) + r4 * ((S3 + S4 * r2) + r4 * (S5 + S6 * r2));
    double pc = (C1 + C2 * r2) + r4 * ((C3 + C4 * r2) + r4 * (C5 + C6 * r2));
    double sn = r + r * r2 * ps;
    double cs = 1.0 - 0.5 * r2 + r4 * pc;
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

/* zr[a] = w_a cos(e_a t), zi[a] = -w_a sin(e_a t): the terms w_a exp(-i e_a t)
 * (w == NULL: unit weights).  `weighted` is a constant after inlining. */
static inline void phasors_impl(const double *e, const double *w, ptrdiff_t M, double t,
                                double emax, double *zr, double *zi, int weighted)
{
    if (emax * fabs(t) <= FGR_FAST_PHASE_LIMIT) {
        for (ptrdiff_t a = 0; a < M; a++) {
            double s, c;
            fast_sincos(e[a] * t, &s, &c);
            zr[a] = weighted ? w[a] * c : c;
            zi[a] = weighted ? -(w[a] * s) : -s;
        }
    } else {
        for (ptrdiff_t a = 0; a < M; a++) {
            double ph = e[a] * t;
            double c = cos(ph), s = sin(ph);
            zr[a] = weighted ? w[a] * c : c;
            zi[a] = weighted ? -(w[a] * s) : -s;
        }
    }
}

HOT static void phasors(const double *e, const double *w, ptrdiff_t M, double t, double emax,
                        double *zr, double *zi)
{
    phasors_impl(e, w, M, t, emax, zr, zi, 1);
}

HOT static void unit_phasors(const double *e, ptrdiff_t M, double t, double emax,
                             double *zr, double *zi)
{
    phasors_impl(e, NULL, M, t, emax, zr, zi, 0);
}

/* Reductions keep LANES partial sums in a fixed order.  GCC's vectoriser
 * turns the plain-C form into slow outer-loop shuffles, so GNU C gets
 * explicit vectors of LANES/2 doubles (two per LANES): 32-byte vectors are
 * native in the AVX clones, where GCC spills 64-byte ones to memory.  Both
 * forms perform the same operations in the same order (FGR_SCALAR_LANES
 * selects the plain form, for testing). */
#if defined(__GNUC__) && !defined(FGR_SCALAR_LANES)
#define VECTOR_LANES 1
typedef double half_t __attribute__((vector_size(LANES / 2 * sizeof(double))));
/* unaligned load as a macro: a helper function would be compiled for the
 * default ISA and pass the vector through memory in the AVX clones */
#define LOAD_HALF(v, p) memcpy(&(v), (p), sizeof(half_t))
/* the LANES partial sums held in two vectors, back to an array */
#define STORE_LANES(dst, lo, hi)                           \
    do {                                                   \
        memcpy((dst), &(lo), sizeof(half_t));              \
        memcpy((dst) + LANES / 2, &(hi), sizeof(half_t));  \
    } while (0)
#else
#define VECTOR_LANES 0
#endif

/* ar[j], ai[j] += the terms a = j (mod LANES) of zr, zi (a < n - n % LANES),
 * and tail[0], tail[1] += the last n % LANES terms.  Called chunk by chunk
 * with chunks of a multiple of LANES terms, every lane sees the same
 * additions in the same order as in one call over the whole row. */
HOT static void lane_sums(const double *zr, const double *zi, ptrdiff_t n,
                          double *ar, double *ai, double *tail)
{
    ptrdiff_t a = 0, nv = n - n % LANES;
#if VECTOR_LANES
    half_t ar0, ai0, ar1, ai1;
    LOAD_HALF(ar0, ar);
    LOAD_HALF(ar1, ar + LANES / 2);
    LOAD_HALF(ai0, ai);
    LOAD_HALF(ai1, ai + LANES / 2);
    for (; a < nv; a += LANES) {
        half_t xr0, xi0, xr1, xi1;
        LOAD_HALF(xr0, zr + a);
        LOAD_HALF(xi0, zi + a);
        LOAD_HALF(xr1, zr + a + LANES / 2);
        LOAD_HALF(xi1, zi + a + LANES / 2);
        ar0 += xr0;
        ai0 += xi0;
        ar1 += xr1;
        ai1 += xi1;
    }
    STORE_LANES(ar, ar0, ar1);
    STORE_LANES(ai, ai0, ai1);
#else
    for (; a < nv; a += LANES) {
        for (int j = 0; j < LANES; j++) {
            ar[j] += zr[a + j];
            ai[j] += zi[a + j];
        }
    }
#endif
    for (; a < n; a++) {
        tail[0] += zr[a];
        tail[1] += zi[a];
    }
}

#if VECTOR_LANES
/* The fast path of fgr_sp_general for one time t, on a whole row: sin/cos,
 * weights and the LANES partial sums in one loop over vectors of LANES
 * eigenpairs, the phasors never leaving registers (the phasors()/lane_sums()
 * pair stores and reloads them: 14% slower on AVX-512).  The operations are
 * fast_sincos's, in the same order, and each lane adds its terms
 * a = j (mod LANES) in the same order as lane_sums, so the bits are the
 * same; -(w s) is formed as w (-s), the same IEEE product.  The vectors span
 * LANES doubles: one register with AVX-512 (fused_lane_sums_wide), split by
 * the compiler in the plain loop (faster than the two-pass form there too);
 * the AVX2 loop works on half vectors. */
typedef double lanes_t __attribute__((vector_size(LANES * sizeof(double))));
typedef uint64_t ulanes_t __attribute__((vector_size(LANES * sizeof(double))));
typedef int64_t ilanes_t __attribute__((vector_size(LANES * sizeof(double))));
_Static_assert(LANES == 8, "SPLAT spells out LANES elements");
#define SPLAT(c) ((lanes_t){c, c, c, c, c, c, c, c})

/* The two halves of one vector of terms, so that the x86 loops can overlap
 * them across vectors (fused_lane_sums_wide, fused_lane_sums_avx2), written
 * once for vectors of type V (U, I: its unsigned and signed integer vectors,
 * SP: its splat, VT: the time splat t, SIGN: the sign-bit splat).  REDUCE_V:
 * the reduced argument r and the quadrant bits q of e t for the eigenpairs at
 * e + a; TERMS_V: w (cos(e t), -sin(e t)) from them, with the weights at w + a. */
#define REDUCE_V(V, U, SP, VT, a, r, q)                                                              \
    do {                                                                                             \
        V ev;                                                                                        \
        memcpy(&ev, e + (a), sizeof ev);                                                             \
        V x = ev * (VT);                                                                             \
        V shifted = x * SP(TWO_OVER_PI) + SP(ROUND_MAGIC);                                           \
        V k = shifted - SP(ROUND_MAGIC);                                                             \
        (q) = (U)shifted;                                                                            \
        (r) = ((x - k * SP(PIO2_1)) - k * SP(PIO2_2)) - k * SP(PIO2_3);                              \
    } while (0)
#define TERMS_V(V, U, I, SP, SIGN, a, r, q, xr, xi)                                                  \
    do {                                                                                             \
        V wv;                                                                                        \
        memcpy(&wv, w + (a), sizeof wv);                                                             \
        V r2 = (r) * (r), r4 = r2 * r2;                                                              \
        V ps = (SP(S1) + SP(S2) * r2) + r4 * ((SP(S3) + SP(S4) * r2) + r4 * (SP(S5) + SP(S6) * r2)); \
        V pc = (SP(C1) + SP(C2) * r2) + r4 * ((SP(C3) + SP(C4) * r2) + r4 * (SP(C5) + SP(C6) * r2)); \
        V sn = (r) + (r) * r2 * ps;                                                                  \
        V cs = SP(1.0) - SP(0.5) * r2 + r4 * pc;                                                     \
        U swap = (U)((I)((q) << 63) >> 63); /* all ones for odd quadrants */                         \
        U diff = ((U)sn ^ (U)cs) & swap;                                                             \
        U sb = (U)sn ^ diff, cb = (U)cs ^ diff;                                                      \
        sb ^= (((q) + 2u) << 62) & (SIGN); /* -sin < 0 in quadrants 0, 1 */                          \
        cb ^= (((q) + 1u) << 62) & (SIGN); /* cos < 0 in quadrants 1, 2 */                           \
        (xr) = wv * (V)cb;                                                                           \
        (xi) = wv * (V)sb;                                                                           \
    } while (0)
#define REDUCE(a, r, q) REDUCE_V(lanes_t, ulanes_t, SPLAT, vt, a, r, q)
#define TERMS(a, r, q, xr, xi) TERMS_V(lanes_t, ulanes_t, ilanes_t, SPLAT, sign, a, r, q, xr, xi)
/* w (cos(e t), -sin(e t)) of the LANES eigenpairs at e + a, w + a into xr, xi */
#define FUSED_TERMS(a, xr, xi)           \
    do {                                 \
        lanes_t r_;                      \
        ulanes_t q_;                     \
        REDUCE(a, r_, q_);               \
        TERMS(a, r_, q_, xr, xi);        \
    } while (0)

/* The last LANES eigenpairs once more (M >= LANES; overlapping the loop's
 * last vector): their top M % LANES terms are the tail, which the caller
 * adds one by one.  Same bits as a scalar fast_sincos per term, at the cost
 * of one vector (two scalar ones cost 4% at M = 250). */
#define FUSED_TAIL()                            \
    do {                                        \
        if (nv < M) {                           \
            FUSED_TERMS(M - LANES, xr, xi);     \
            memcpy(tr, &xr, sizeof xr);         \
            memcpy(ti, &xi, sizeof xi);         \
        }                                       \
    } while (0)

/* The x86 forms are functions of their own: in multiversioned x86-64 builds
 * chosen at run time (AVX-512, else AVX2, else the plain loop), in builds for
 * an AVX-512 or AVX2 target always. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) \
    && !defined(FGR_NO_MULTIVERSIONING)
#define WIDE __attribute__((target("avx512f")))
#define MID __attribute__((target("avx2")))
#define HAVE_WIDE 1
#define HAVE_MID 1
/* tests compile 1 (at most AVX2) and 0 (the plain loop) to run every form on one CPU */
#ifndef FGR_KERNEL_MAX_FORM
#define FGR_KERNEL_MAX_FORM 2
#endif
#define WIDE_ON_THIS_CPU() (FGR_KERNEL_MAX_FORM >= 2 && __builtin_cpu_supports("avx512f"))
#define MID_ON_THIS_CPU() (FGR_KERNEL_MAX_FORM >= 1 && __builtin_cpu_supports("avx2"))
#elif defined(__AVX512F__)
#define WIDE
#define HAVE_WIDE 1
#define HAVE_MID 0
#define WIDE_ON_THIS_CPU() 1
#elif defined(__AVX2__)
#define MID
#define HAVE_WIDE 0
#define HAVE_MID 1
#define MID_ON_THIS_CPU() 1
#else
#define HAVE_WIDE 0
#define HAVE_MID 0
#endif

static void fused_lane_sums(const double *e, const double *w, ptrdiff_t M, double t,
                            double *ar, double *ai, double *tr, double *ti)
{
    lanes_t sr = SPLAT(0.0), si = SPLAT(0.0), xr, xi;
    const lanes_t vt = SPLAT(t);
    const ulanes_t sign = (ulanes_t){0} + ((uint64_t)1 << 63);
    ptrdiff_t nv = M - M % LANES;
    for (ptrdiff_t a = 0; a < nv; a += LANES) {
        FUSED_TERMS(a, xr, xi);
        sr += xr;
        si += xi;
    }
    memcpy(ar, &sr, sizeof sr);
    memcpy(ai, &si, sizeof si);
    FUSED_TAIL();
}

#if HAVE_WIDE
/* fused_lane_sums software-pipelined for AVX-512: each iteration reduces the
 * arguments of the vector two ahead while it finishes the current one.  One
 * vector's operations form a chain of ~45 cycles (about 55 operations that
 * four pipes could retire in 14 cycles); in program order the out-of-order
 * window holds only about two such chains, and the loop measured 0.80 ns
 * per phasor (2.9 cycles).  With the reductions issued two vectors early
 * the finishing half finds its inputs ready: 0.57-0.66 ns (Zen 5, M = 250;
 * one vector ahead: 0.64-0.70, three: 0.58-0.68).  The same operations on
 * the same vectors in the same order: the same bits.  With 16 vector
 * registers (AVX2, SSE2) this form spills (AVX2: 1.8 -> 3.0 ns per phasor);
 * AVX2 pipelines half vectors instead (fused_lane_sums_avx2), the portable
 * code keeps the plain loop (NEON, with 32 registers, was not measured). */
WIDE static void fused_lane_sums_wide(const double *e, const double *w, ptrdiff_t M, double t,
                                      double *ar, double *ai, double *tr, double *ti)
{
    lanes_t sr = SPLAT(0.0), si = SPLAT(0.0), xr, xi;
    const lanes_t vt = SPLAT(t);
    const ulanes_t sign = (ulanes_t){0} + ((uint64_t)1 << 63);
    ptrdiff_t nv = M - M % LANES;
    if (nv >= 2 * LANES) {
        lanes_t ra, rb, rc;
        ulanes_t qa, qb, qc;
        REDUCE(0, ra, qa);
        REDUCE(LANES, rb, qb);
        ptrdiff_t a = 2 * LANES;
        for (; a < nv; a += LANES) {
            REDUCE(a, rc, qc);
            TERMS(a - 2 * LANES, ra, qa, xr, xi);
            sr += xr;
            si += xi;
            ra = rb;
            qa = qb;
            rb = rc;
            qb = qc;
        }
        TERMS(a - 2 * LANES, ra, qa, xr, xi);
        sr += xr;
        si += xi;
        TERMS(a - LANES, rb, qb, xr, xi);
        sr += xr;
        si += xi;
    } else if (nv > 0) {
        FUSED_TERMS(0, xr, xi);
        sr += xr;
        si += xi;
    }
    memcpy(ar, &sr, sizeof sr);
    memcpy(ai, &si, sizeof si);
    FUSED_TAIL();
}
#endif

#if HAVE_MID
#define HSPLAT(c) ((half_t){c, c, c, c})
typedef uint64_t uhalf_t __attribute__((vector_size(LANES / 2 * sizeof(double))));
typedef int64_t ihalf_t __attribute__((vector_size(LANES / 2 * sizeof(double))));
#define HREDUCE(a, r, q) REDUCE_V(half_t, uhalf_t, HSPLAT, vt4, a, r, q)
#define HTERMS(a, r, q, xr, xi) TERMS_V(half_t, uhalf_t, ihalf_t, HSPLAT, sign4, a, r, q, xr, xi)
/* fused_lane_sums for AVX2, software-pipelined on half vectors (four
 * eigenpairs, one 256-bit register): lanes 0-3 of each block of LANES in
 * sr0/si0, lanes 4-7 in sr1/si1, so every lane adds its terms in the plain
 * loop's order (the same bits), and each iteration reduces the arguments of
 * the next block while it finishes this one.  Zen 5, M = 250: 1.21-1.23 ns
 * per phasor, against 1.80-1.87 for the plain loop of eight-wide vectors
 * (which the compiler splits in two and spills), 1.60-1.70 for unpipelined
 * half vectors and 1.24-1.30 for a reduction one half vector ahead. */
MID static void fused_lane_sums_avx2(const double *e, const double *w, ptrdiff_t M, double t,
                                     double *ar, double *ai, double *tr, double *ti)
{
    lanes_t xr, xi;
    const lanes_t vt = SPLAT(t);
    const ulanes_t sign = (ulanes_t){0} + ((uint64_t)1 << 63);
    const half_t vt4 = HSPLAT(t);
    const uhalf_t sign4 = (uhalf_t){0} + ((uint64_t)1 << 63);
    half_t sr0 = HSPLAT(0.0), si0 = sr0, sr1 = sr0, si1 = sr0, yr, yi;
    ptrdiff_t nv = M - M % LANES;
    if (nv > 0) {
        half_t ra, rb, rc;
        uhalf_t qa, qb, qc;
        HREDUCE(0, ra, qa);
        HREDUCE(LANES / 2, rb, qb);
        ptrdiff_t a = 0;
        for (; a + LANES < nv; a += LANES) {
            HREDUCE(a + LANES, rc, qc);
            HTERMS(a, ra, qa, yr, yi);
            sr0 += yr;
            si0 += yi;
            HREDUCE(a + LANES + LANES / 2, ra, qa);
            HTERMS(a + LANES / 2, rb, qb, yr, yi);
            sr1 += yr;
            si1 += yi;
            rb = ra;
            qb = qa;
            ra = rc;
            qa = qc;
        }
        HTERMS(a, ra, qa, yr, yi);
        sr0 += yr;
        si0 += yi;
        HTERMS(a + LANES / 2, rb, qb, yr, yi);
        sr1 += yr;
        si1 += yi;
    }
    STORE_LANES(ar, sr0, sr1);
    STORE_LANES(ai, si0, si1);
    FUSED_TAIL();
}
#endif
#endif

size_t fgr_sp_general_work(ptrdiff_t M)
{
    return (size_t)(2 * (M < CHUNK ? M : CHUNK));
}

void fgr_sp_general(const double *e, const double *w, ptrdiff_t M,
                    const double *t, ptrdiff_t T, double *out, double *work)
{
    ptrdiff_t mc = M < CHUNK ? M : CHUNK;
    double *zr = work, *zi = work + mc;
    double emax = max_abs(e, M);
#if VECTOR_LANES && HAVE_WIDE
    const int wide = WIDE_ON_THIS_CPU();
#endif
#if VECTOR_LANES && HAVE_MID
    const int mid = MID_ON_THIS_CPU();
#endif
    for (ptrdiff_t k = 0; k < T; k++) {
        double ar[LANES] = {0}, ai[LANES] = {0}, sum[2] = {0.0, 0.0};
#if VECTOR_LANES
        if (emax * fabs(t[k]) <= FGR_FAST_PHASE_LIMIT) {
            if (M >= LANES) {
                double tr[LANES], ti[LANES];
#if HAVE_WIDE
                if (wide)
                    fused_lane_sums_wide(e, w, M, t[k], ar, ai, tr, ti);
                else
#endif
#if HAVE_MID
                if (mid)
                    fused_lane_sums_avx2(e, w, M, t[k], ar, ai, tr, ti);
                else
#endif
                    fused_lane_sums(e, w, M, t[k], ar, ai, tr, ti);
                /* the last M % LANES terms one by one, as lane_sums adds them */
                for (ptrdiff_t j = LANES - M % LANES; j < LANES; j++) {
                    sum[0] += tr[j];
                    sum[1] += ti[j];
                }
            } else {
                for (ptrdiff_t a = 0; a < M; a++) {
                    double s, c;
                    fast_sincos(e[a] * t[k], &s, &c);
                    sum[0] += w[a] * c;
                    sum[1] += -(w[a] * s);
                }
            }
        } else
#endif
        {
            /* chunks keep the phasors in L1 however large M is */
            for (ptrdiff_t a0 = 0; a0 < M; a0 += mc) {
                ptrdiff_t n = M - a0 < mc ? M - a0 : mc;
                phasors(e + a0, w + a0, n, t[k], emax, zr, zi);
                lane_sums(zr, zi, n, ar, ai, sum);
            }
        }
        for (int j = 0; j < LANES; j++) {
            sum[0] += ar[j];
            sum[1] += ai[j];
        }
        out[k] = sum[0] * sum[0] + sum[1] * sum[1];
    }
}

/* Block length B of the uniform path: ~sqrt(T) minimises the B + T/B
 * phasors per eigenpair; capped so the offset table stays in cache. */
static ptrdiff_t uniform_block(ptrdiff_t T)
{
    ptrdiff_t B = 1;
    while (B * B < T && B < FGR_ANCHOR_PERIOD)
        B++;
    return B;
}

size_t fgr_sp_uniform_work(ptrdiff_t M, ptrdiff_t T)
{
    ptrdiff_t B = uniform_block(T), J = (T + B - 1) / B;
    ptrdiff_t mc = M < CHUNK ? M : CHUNK;
    return (size_t)(2 * (B + 2) * mc + 2 * J * B);
}

/* s += x y for complex x = xr + i xi, y = yr + i yi (scalars or vectors) */
#define CMAC(sr, si, xr, xi, yr, yi)          \
    do {                                      \
        (sr) += (xr) * (yr) - (xi) * (yi);    \
        (si) += (xr) * (yi) + (xi) * (yr);    \
    } while (0)

/* acc_m[0] + i acc_m[1] += sum_a (ur_m + i ui_m)(rr + i ri) over a < n for
 * two anchors m = 0, 1 sharing one offset row (halves the loads of the
 * offset table, which streams from L2), with fixed lane-wise partial sums:
 * deterministic order, the same for either anchor. */
HOT static void cdot2_acc(const double *restrict ur0, const double *restrict ui0,
                          const double *restrict ur1, const double *restrict ui1,
                          const double *restrict rr, const double *restrict ri,
                          ptrdiff_t n, double *restrict acc0, double *restrict acc1)
{
    ptrdiff_t a = 0, nv = n - n % LANES;
    double sr0[LANES], si0[LANES], sr1[LANES], si1[LANES];
#if VECTOR_LANES
    half_t p0 = {0}, q0 = {0}, p1 = {0}, q1 = {0};  /* anchor 0: lanes 0-3, 4-7 */
    half_t p2 = {0}, q2 = {0}, p3 = {0}, q3 = {0};  /* anchor 1 */
    for (; a < nv; a += LANES) {
        half_t yr0, yi0, yr1, yi1, xr, xi;
        LOAD_HALF(yr0, rr + a);
        LOAD_HALF(yi0, ri + a);
        LOAD_HALF(yr1, rr + a + LANES / 2);
        LOAD_HALF(yi1, ri + a + LANES / 2);
/* p, q += anchor x offset for the half of the lanes at offset `off` */
#define HALF_CMAC(p, q, ur, ui, off, yr, yi) \
        do {                                 \
            LOAD_HALF(xr, (ur) + (off));     \
            LOAD_HALF(xi, (ui) + (off));     \
            CMAC(p, q, xr, xi, yr, yi);      \
        } while (0)
        HALF_CMAC(p0, q0, ur0, ui0, a, yr0, yi0);
        HALF_CMAC(p1, q1, ur0, ui0, a + LANES / 2, yr1, yi1);
        HALF_CMAC(p2, q2, ur1, ui1, a, yr0, yi0);
        HALF_CMAC(p3, q3, ur1, ui1, a + LANES / 2, yr1, yi1);
#undef HALF_CMAC
    }
    STORE_LANES(sr0, p0, p1);
    STORE_LANES(si0, q0, q1);
    STORE_LANES(sr1, p2, p3);
    STORE_LANES(si1, q2, q3);
#else
    for (int j = 0; j < LANES; j++)
        sr0[j] = si0[j] = sr1[j] = si1[j] = 0.0;
    for (; a < nv; a += LANES) {
        for (int j = 0; j < LANES; j++) {
            CMAC(sr0[j], si0[j], ur0[a + j], ui0[a + j], rr[a + j], ri[a + j]);
            CMAC(sr1[j], si1[j], ur1[a + j], ui1[a + j], rr[a + j], ri[a + j]);
        }
    }
#endif
    double re0 = 0.0, im0 = 0.0, re1 = 0.0, im1 = 0.0;
    /* The tail's real parts, then its imaginary parts (each sum in CMAC's
     * order): written as one complex multiply-add per term, GCC 12 pairs them
     * into FMADDSUB wherever FMA is enabled (-march=x86-64-v3 and up), in
     * spite of -ffp-contract=off, and those builds rounded differently. */
    const ptrdiff_t tail = a;
    for (; a < n; a++) {
        re0 += ur0[a] * rr[a] - ui0[a] * ri[a];
        re1 += ur1[a] * rr[a] - ui1[a] * ri[a];
    }
    for (a = tail; a < n; a++) {
        im0 += ur0[a] * ri[a] + ui0[a] * rr[a];
        im1 += ur1[a] * ri[a] + ui1[a] * rr[a];
    }
    for (int j = 0; j < LANES; j++) {
        re0 += sr0[j];
        im0 += si0[j];
        re1 += sr1[j];
        im1 += si1[j];
    }
    acc0[0] += re0;
    acc0[1] += im0;
    acc1[0] += re1;
    acc1[1] += im1;
}

void fgr_sp_uniform(const double *e, const double *w, ptrdiff_t M,
                    const double *t, ptrdiff_t T, double dt,
                    double *out, double *work)
{
    ptrdiff_t B = uniform_block(T), J = (T + B - 1) / B;
    ptrdiff_t mc = M < CHUNK ? M : CHUNK;
    double *rr = work, *ri = rr + B * mc;          /* offsets e^{-i e_a r dt}          */
    double *ur0 = ri + B * mc, *ui0 = ur0 + mc;    /* anchors w_a e^{-i e_a t_{jB}},   */
    double *ur1 = ui0 + mc, *ui1 = ur1 + mc;       /* two blocks j, j + 1 at a time    */
    double *s = ui1 + mc;                          /* S[j][r] as (re, im) pairs        */
    double discard[2];
    double emax = max_abs(e, M);
    for (ptrdiff_t i = 0; i < 2 * J * B; i++)
        s[i] = 0.0;
    for (ptrdiff_t a0 = 0; a0 < M; a0 += mc) {
        ptrdiff_t n = M - a0 < mc ? M - a0 : mc;
        for (ptrdiff_t r = 0; r < B; r++)
            unit_phasors(e + a0, n, (double)r * dt, emax, rr + r * mc, ri + r * mc);
        for (ptrdiff_t j = 0; j < J; j += 2) {
            /* anchored at the caller's own grid values */
            phasors(e + a0, w + a0, n, t[j * B], emax, ur0, ui0);
            ptrdiff_t rend0 = T - j * B < B ? T - j * B : B, rend1 = 0;
            /* A last, odd block j has no partner: anchor 0 stands in for it
             * (initialised data; the sums go to `discard`), never the stale
             * or uninitialised anchor-1 scratch. */
            const double *vr1 = ur0, *vi1 = ui0;
            if (j + 1 < J) {
                phasors(e + a0, w + a0, n, t[(j + 1) * B], emax, ur1, ui1);
                rend1 = T - (j + 1) * B < B ? T - (j + 1) * B : B;
                vr1 = ur1;
                vi1 = ui1;
            }
            for (ptrdiff_t r = 0; r < rend0; r++) {
                /* past the end of block j + 1 its sums are computed and dropped */
                double *acc1 = r < rend1 ? s + 2 * ((j + 1) * B + r) : discard;
                cdot2_acc(ur0, ui0, vr1, vi1, rr + r * mc, ri + r * mc, n,
                          s + 2 * (j * B + r), acc1);
            }
        }
    }
    for (ptrdiff_t k = 0; k < T; k++)
        out[k] = s[2 * k] * s[2 * k] + s[2 * k + 1] * s[2 * k + 1];
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
