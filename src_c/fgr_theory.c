/* Theory kernels: Eq. (4) without cancellation and the Eq. (5) quadrature.
 *
 * See fgr_theory.h and docs/theory/closed-forms.md for the mathematics.  Everything
 * here is reentrant (no static mutable state); tables are const.
 */
#include "fgr_theory.h"

#include <math.h>

#include "fgr_theory_tables.h"

#define FGR_PI 3.14159265358979323846
#define FGR_SQRT_PI 1.77245385090551602730
#define FGR_INV_SQRT_2PI 0.39894228040143267794

/* ------------------------------------------------------------------------
 * Bessel functions.
 *
 * The kernel needs i0e(z) = exp(-z) I0(z) and dif(z) = exp(-z) (I0 - I1)(z).
 * z < FGR_MID_HI (48): degree-13 interpolants on unit intervals (tables
 * generated from 40-digit mpmath values, relative error <= 7e-16); no
 * cancellation, as dif is interpolated itself.  Above: the Hankel asymptotic
 * series, whose smallest term at z = 48 is ~e^(-96), far below rounding.
 * With t_k the k-th term of exp(-z) I_nu(z) sqrt(2 pi z),
 *   t_k = t_{k-1} ((2k-1)^2 - 4 nu^2) / (8 k z),
 * the nu = 0 terms are all positive and the nu = 1 terms are negative for
 * k >= 1, so the series of i0e - i1e, sum (t0_k - t1_k), has only positive
 * terms: no cancellation, unlike the difference of the two values.
 * The coefficients are exact rationals rounded once (fgr_theory_tables.h).
 * The power series (i01_series) remains for i1e at small z (test helper).
 * ---------------------------------------------------------------------- */

/* Power-series sums of I_0(z) and I_1(z) / (z/2), small z
 * (unscaled: the caller folds exp(-z) into its own exponential). */
static inline void i01_series(double z, double *s0, double *s1)
{
    const double q = 0.25 * z * z, q2 = q * q;
    double qk = q, e0 = 1.0, o0 = 0.0, e1 = 1.0, o1 = 0.0;
    for (int k = 1; k + 1 < FGR_NPS; k += 2) {
        const double t0 = PS0[k] * qk, t0b = PS0[k + 1] * (qk * q);
        o0 += t0;
        e0 += t0b;
        o1 += PS1[k] * qk;
        e1 += PS1[k + 1] * (qk * q);
        if (t0b <= 1e-17 * (e0 + o0))
            break;
        qk *= q2;
    }
    *s0 = e0 + o0;
    *s1 = e1 + o1;
}

/* ------------------------------------------------------------------------
 * Eq. (4).  With s = sqrt(gamma) and the Laplace continued fraction
 *   sqrt(pi) erfcx(s) = 1/T_1,  T_k = s + (k/2)/T_{k+1},
 * the printed P_res = 1 - g - sqrt(pi g)(1/2 - g) erfcx(s) becomes exactly
 *   P_res = (1 + q) / (1 + 2 g + 2 q),   q = s / T_3,
 * a ratio of positive quantities (no cancellation at any gamma).  For
 * gamma < 1 the fraction converges slowly, and q comes instead from
 * F = sqrt(pi g) erfcx(s) via q = F / (2 (1 - F)) - g, which loses nothing
 * there (F < 0.76, q > 0.5 F).
 * ---------------------------------------------------------------------- */
double fgr_p_res(double gamma)
{
    if (!(gamma >= 0.0))
        return NAN;
    if (gamma == 0.0)
        return 1.0;
    if (isinf(gamma))
        return 0.0;
    const double s = sqrt(gamma);
    double q;
    if (gamma < 1.0) {
        const double F = FGR_SQRT_PI * s * exp(gamma) * erfc(s);
        q = F / (2.0 * (1.0 - F)) - gamma;
    } else {
        /* backward evaluation; depth from the measured convergence rate
         * (320 terms reach 1e-17 at gamma = 1, 20 at gamma >= 40) */
        const int n = 20 + (int)ceil(320.0 / gamma);
        double T = s;
        for (int k = n; k >= 3; k--)
            T = s + (0.5 * k) / T;
        q = s / T;
    }
    /* (1 + q) / (1 + 2 gamma + 2 q) with numerator and denominator halved:
     * exact, so the same bits, and 2 gamma cannot overflow for
     * gamma > DBL_MAX / 2; one rounding, also where the result is subnormal */
    return (0.5 * (1.0 + q)) / ((0.5 + gamma) + q);
}

/* ------------------------------------------------------------------------
 * Eq. (5).  With r = lam_b - lam_f and x = 2 tau - r (the argument of the
 * step function), the domain x > 0 becomes 0 < r < 2 tau with lam_b in
 * [max(1, r - 1), r + 1]; the factor 1/(lam_b - lam_f) = 1/r then cancels
 * against the inner range, whose length is min(r, 2).  With lam_b = cosh u,
 * mu_b = sinh u, d = lam_b - mu_b = exp(-u), w = 2 gamma x, z = w mu_b:
 *   P = exp(-4 gamma tau) + 2 gamma^2 Int_0^{2 tau} dx x^2 / r
 *         Int du sinh(u) exp(-w d) [d i0e(z) + mu_b (i0e(z) - i1e(z))],
 * every factor non-negative.
 *
 * Outer rule: Gauss-Legendre panels in x on [0, x_cut].  With
 * E(x) = gamma x / (2 tau + 1 - x), exp(-w d) <= exp(-E) (d >= 1/(2 (r+1))):
 * beyond x_cut, where E = C + 3 ln(1 + 2 tau), the dropped tail is below
 * double precision; between E0 and the cut the panels are uniform in E
 * (bounded exponential decay per panel); below E0 they are geometric in E
 * (i.e. in x as x -> 0, where the integrand goes from ~x^(1/2) to ~x^2 on
 * the scale x ~ 1/(gamma lam_b)) down to a fraction of that scale, with
 * ratio 2 while x > lin_frac 2 tau (E is not yet linear in x there) and
 * ratio sigma below.  Those x -> 0 panels are integrated in v = ln x: the
 * power laws x^(1/2), x^2 are smooth in v, so ratio 4 costs no accuracy
 * (in x itself it would need ratio 2).  Extra geometric grading (in x)
 * towards r = 0 (x = 2 tau) and both sides of r = 2 (x = 2 tau - 2, where
 * the inner range switches from [1, r+1] to [r-1, r+1]: analytic on either
 * side, with a kink; the structure there has the scale 1/w^2 in r, so the
 * r > 2 side is graded over a length kink_l, not all of [0, 2 tau - 2]).
 * Inner rule: Gauss-Legendre on [max(1, r-1), r+1], cut into panels
 * equally spaced in d = lam_b - mu_b (each spanning at most de_in e-folds
 * of exp(-w d)) and truncated where w (d - d_min) exceeds cut_in; in
 * u = acosh lam_b when the range starts below lam_min (removes the square
 * root at lam_b = 1), in lam_b itself otherwise (one exp per node instead
 * of an exp and an expm1); 4 nodes instead of 10 for r >= r_far (the
 * range [r-1, r+1] is then narrow compared with its distance from 1).
 * The rule parameters were tuned against the refined rule (see
 * RULE_DEFAULT below).
 * ---------------------------------------------------------------------- */
/* Gauss-Legendre rules: positive halves (numpy.polynomial.legendre.leggauss) */
static const double GLX4[2] = {0.33998104358485626, 0.86113631159405257};
static const double GLW4[2] = {0.65214515486254643, 0.34785484513745357};
static const double GLX6[3] = {0.2386191860831969, 0.66120938646626448, 0.93246951420315194};
static const double GLW6[3] = {0.46791393457269104, 0.36076157304813872, 0.17132449237917027};
static const double GLX8[4] = {0.18343464249564978, 0.52553240991632899, 0.79666647741362673, 0.96028985649753618};
static const double GLW8[4] = {0.36268378337836166, 0.31370664587788688, 0.22238103445337443, 0.10122853629037706};
static const double GLX10[5] = {0.14887433898163122, 0.43339539412924721, 0.67940956829902444, 0.86506336668898454, 0.97390652851717174};
static const double GLW10[5] = {0.29552422471475281, 0.26926671930999652, 0.21908636251598201, 0.14945134915058039, 0.066671344308688138};
static const double GLX12[6] = {0.12523340851146891, 0.36783149899818018, 0.58731795428661748, 0.76990267419430469, 0.9041172563704748, 0.98156063424671924};
static const double GLW12[6] = {0.24914704581340269, 0.23349253653835461, 0.20316742672306573, 0.16007832854334642, 0.10693932599531907, 0.047175336386511411};
static const double GLX16[8] = {0.095012509837637441, 0.28160355077925892, 0.45801677765722737, 0.61787624440264377, 0.755404408355003, 0.86563120238783176, 0.9445750230732326, 0.98940093499164994};
static const double GLW16[8] = {0.18945061045506864, 0.18260341504492364, 0.16915651939500265, 0.14959598881657671, 0.12462897125553407, 0.095158511682492605, 0.062253523938647456, 0.027152459411754176};
static const double GLX20[10] = {0.076526521133497338, 0.22778585114164507, 0.37370608871541955, 0.51086700195082713, 0.63605368072651502, 0.7463319064601508, 0.83911697182221878, 0.91223442825132595, 0.96397192727791381, 0.993128599185095};
static const double GLW20[10] = {0.15275338713072628, 0.14917298647260424, 0.1420961093183824, 0.13168863844917689, 0.11819453196151861, 0.10193011981724071, 0.083276741576704713, 0.06267204833410879, 0.040601429800386446, 0.017614007139150893};

typedef struct {
    int n;           /* order (even) */
    const double *x; /* n/2 positive nodes */
    const double *w;
} gl_rule;


typedef struct {
    gl_rule outer;    /* per outer panel */
    gl_rule inner_lo; /* inner rule for r <= 2 (lam_b from 1, near-sqrt scale) */
    gl_rule inner_hi; /* inner rule for r > 2 (narrow, smooth range) */
    int split;        /* every outer panel cut into this many equal pieces */
    double sigma;     /* geometric grading ratio towards x = 0 */
    double sigma_rk;  /* ... towards r = 0 and r = 2 */
    double cut;       /* truncation exponent C (plus 3 ln(1 + 2 tau)) */
    double de;        /* E step of the panels in the decaying region */
    double de_in;     /* step of w d per inner panel */
    double cut_in;    /* inner truncation exponent */
    double e0;        /* below E0: geometric grading */
    int depth_r, depth_k;
    double xs_frac;   /* floor of the x = 0 grading, in units of 1/(gamma (T + 2)) */
    double logmap;    /* panels closer than logmap lengths to an anchor use v = ln|x - anchor| (0: off) */
    int kink_both;    /* grade both sides of r = 2 (else only r > 2) */
    double r_far;     /* inner rule inner_far for r >= r_far */
    gl_rule inner_far;
    int logmask;      /* anchors of the log map: 1 x = 0, 2 r = 0, 4 r = 2 */
    double lin_frac;  /* grading ratio towards x = 0 is 2 above lin_frac * T */
    double sigma_r0;  /* grading ratio towards r = 0 */
    double lam_min;   /* inner ranges from lam_b >= lam_min are integrated in lam_b, not u */
    double kink_l;    /* the r > 2 side of the kink is graded over at most this length */
} quad_rule;

#define FGR_MAX_DEPTH_X 40
#define FGR_MAX_DEPTH_RK 30
#define FGR_MAXB (64 + FGR_MAX_DEPTH_X + 3 * FGR_MAX_DEPTH_RK)

/* The production rule (measured: <= 9e-12 relative to the refined rule on
 * ~7700 points: gamma log-uniform in [1e-3, 1e3], tau log-uniform in
 * [1e-4, 1e3] and within 1e-6..0.1 of tau = 1) and a refined one (agrees
 * with 25-digit mpmath to ~5e-14; no log map, no lam_b form, ratio 2
 * everywhere), used by the tests as a self-convergence reference over many
 * more points than mpmath can afford. */
static const quad_rule RULE_DEFAULT = {
    {10, GLX10, GLW10}, {10, GLX10, GLW10}, {10, GLX10, GLW10}, 1, 4.0, 3.0, 40.0, 5.0, 30.0, 30.0, 6.0, 30, 30, 0.5, 1.0, 1, 10.0, {4, GLX4, GLW4}, 1, 0.1, 3.0, 1.0200667556190759, 4.0};
static const quad_rule RULE_FINE = {
    {20, GLX20, GLW20}, {20, GLX20, GLW20}, {20, GLX20, GLW20}, 3, 2.0, 2.0, 60.0, 2.5, 2.5, 60.0, 2.5, 30, 30, 0.5, 0.0, 1, 1e300, {20, GLX20, GLW20}, 0, 0.0, 2.0, 1e300, 1e300};

/* acosh(1 + e) for e >= 0 without the cancellation of acosh near 1 */
static inline double acosh1p(double e)
{
    return log1p(e + sqrt(e * (e + 2.0)));
}

/* exp(-z) I0(z) and exp(-z) (I0(z) - I1(z)) for 0 <= z < FGR_MID_HI from the
 * per-unit-interval interpolants of fgr_theory_tables.h (relative error
 * <= 7e-16): even and odd powers in separate chains, four independent
 * Horner recurrences in t^2. */
_Static_assert(FGR_MID_DEG % 2 == 1, "i0e_dif_mid pairs even and odd powers");
static inline void i0e_dif_mid(double z, double *i0e, double *dif)
{
    const int j = (int)z;
    const double t = 2.0 * (z - j) - 1.0, t2 = t * t;
    const double *a = MID0[j], *b = MIDD[j];
    double ae = a[FGR_MID_DEG - 1], ao = a[FGR_MID_DEG];
    double be = b[FGR_MID_DEG - 1], bo = b[FGR_MID_DEG];
    for (int k = FGR_MID_DEG - 3; k >= 0; k -= 2) {
        ae = ae * t2 + a[k];
        ao = ao * t2 + a[k + 1];
        be = be * t2 + b[k];
        bo = bo * t2 + b[k + 1];
    }
    *i0e = ae + t * ao;
    *dif = be + t * bo;
}

/* exp(-z) I0(z) and exp(-z) (I0(z) - I1(z)) for z >= FGR_MID_HI from the
 * Hankel series (fgr_bessel_i01e without I1): there the terms fall below
 * 1e-17 after at most 12 steps. */
static inline void i0e_dif_asym(double z, double *i0e, double *dif)
{
    const double iz = 1.0 / z, iz2 = iz * iz;
    double zk = iz, e0 = 1.0, o0 = 0.0, ed = 0.0, od = 0.0;
    for (int k = 1; k + 1 < FGR_NAS; k += 2) {
        const double zk1 = zk * iz;
        const double t0b = AS0[k + 1] * zk1;
        o0 += AS0[k] * zk;
        e0 += t0b;
        od += ASD[k] * zk;
        ed += ASD[k + 1] * zk1;
        if (t0b <= 1e-17 * e0)
            break;
        zk *= iz2;
    }
    const double p = FGR_INV_SQRT_2PI / sqrt(z);
    *i0e = p * (e0 + o0);
    *dif = p * (ed + od);
}

/* The kernel exp(-w d) [d i0e(z) + mu (i0e(z) - i1e(z))], z = w mu, of
 * lam_b = cosh u with d = exp(-u) = lam_b - mu_b, mu = mu_b = sinh u. */
static inline double kernel_dm(double w, double d, double mu)
{
    const double ex = exp(-w * d);
    if (ex == 0.0)
        return 0.0;
    const double z = w * mu;
    double a, dif;
    if (z < FGR_MID_HI)
        i0e_dif_mid(z, &a, &dif);
    else
        i0e_dif_asym(z, &a, &dif);
    return ex * (d * a + mu * dif);
}

/* The production evaluation (the kernel's own i0e_dif_mid/_asym), plus i1e:
 * from the power series for z < 2 (where i0e - dif would cancel), as
 * i0e - dif above (i1e/i0e > 0.69 there: no cancellation). */
void fgr_bessel_i01e(double z, double *i0e, double *i1e, double *dif)
{
    if (z < FGR_MID_HI)
        i0e_dif_mid(z, i0e, dif);
    else
        i0e_dif_asym(z, i0e, dif);
    if (z < 2.0) {
        double s0, s1;
        i01_series(z, &s0, &s1);
        *i1e = exp(-z) * (0.5 * z) * s1;
    } else {
        *i1e = *i0e - *dif;
    }
}

/* K(w, lam): the inner integrand in lam_b itself, used away from lam_b = 1
 * (no square root to remove there; saves the expm1 of the u form). */
static inline double inner_integrand_lam(double w, double lam)
{
    const double mu = sqrt((lam - 1.0) * (lam + 1.0));
    return kernel_dm(w, 1.0 / (lam + mu), mu);
}

/* Int over lam_b in [max(1, r - 1), r + 1] of K(w, lam_b), in u = acosh lam_b.
 * The kernel carries exp(-w d), d = exp(-u): where w d varies by more than
 * de over the range, the u-range is cut into panels of equal length in
 * w d (so each panel sees an exponential of bounded rate), and beyond
 * w (d - d_min) = cut the integrand is below e^(-cut) of its peak value at
 * the upper end and is dropped. */
static double inner_integral(double r, double w, const quad_rule *q)
{
    /* d = lam_b - mu_b = 1 / (lam_b + mu_b) at the ends, mu = sqrt(lam^2 - 1) */
    const double dmin = 1.0 / (r + 1.0 + sqrt(r * (r + 2.0)));
    double dlo = r > 2.0 ? 1.0 / (r - 1.0 + sqrt(r * (r - 2.0))) : 1.0;
    double span = w * (dlo - dmin);
    int trunc = 0;
    if (span > q->cut_in) {
        dlo = dmin + q->cut_in / w;
        span = q->cut_in;
        trunc = 1;
    }
    int m = (int)ceil(span / q->de_in);
    if (m < 1)
        m = 1;
    const gl_rule *g = r >= q->r_far ? &q->inner_far : r > 2.0 ? &q->inner_hi : &q->inner_lo;
    const double llo = trunc ? 0.5 * (1.0 / dlo + dlo) : r > 2.0 ? r - 1.0 : 1.0;
    double s = 0.0;
    if (llo >= q->lam_min) {
        /* away from lam_b = 1: Gauss-Legendre in lam_b itself */
        double la = llo;
        for (int k = 1; k <= m; k++) {
            /* panel ends equally spaced in d between dlo and dmin */
            const double dk = dmin + (m - k) * (span / m) / w;
            const double lb = k == m ? r + 1.0 : 0.5 * (1.0 / dk + dk);
            const double c = 0.5 * (la + lb), h = 0.5 * (lb - la);
            double sk = 0.0;
            for (int i = 0; i < g->n / 2; i++) {
                sk += g->w[i] * (inner_integrand_lam(w, c - h * g->x[i]) +
                                 inner_integrand_lam(w, c + h * g->x[i]));
            }
            s += h * sk;
            la = lb;
        }
        return s;
    }
    /* near lam_b = 1: in u = acosh lam_b (removes the square root) */
    const double uhi = acosh1p(r);
    double ua = trunc ? -log(dlo) : r > 2.0 ? acosh1p(r - 2.0) : 0.0;
    for (int k = 1; k <= m; k++) {
        const double ub = k == m ? uhi : -log(dmin + (m - k) * (span / m) / w);
        const double c = 0.5 * (ua + ub), h = 0.5 * (ub - ua);
        /* the node pair c -+ h x shares one expm1: with a = e^(c + h x) - 1
         * and E = e^(2c) - 1, e^(c - h x) - 1 = (E - a) / (1 + a) (relative
         * error <= ~80 ulp at the node nearest u = 0) */
        const double E2 = expm1(2.0 * c), iE = 1.0 / (1.0 + E2);
        double sk = 0.0;
        for (int i = 0; i < g->n / 2; i++) {
            const double ap = expm1(c + h * g->x[i]), dp = 1.0 / (1.0 + ap);
            const double am = (E2 - ap) * dp, dm = (1.0 + ap) * iE;
            const double mup = 0.5 * (ap + ap * dp), mum = 0.5 * (am + am * dm);
            sk += g->w[i] * (kernel_dm(w, dm, mum) * mum + kernel_dm(w, dp, mup) * mup);
        }
        s += h * sk;
        ua = ub;
    }
    return s;
}

static void sort_unique(double *b, int *n)
{
    for (int i = 1; i < *n; i++) { /* insertion sort: n is small */
        const double v = b[i];
        int j = i - 1;
        while (j >= 0 && b[j] > v) {
            b[j + 1] = b[j];
            j--;
        }
        b[j + 1] = v;
    }
    int m = 0;
    for (int i = 0; i < *n; i++) {
        if (m == 0 || b[i] > b[m - 1])
            b[m++] = b[i];
    }
    *n = m;
}

/* Panel boundaries of the outer rule in x; returns their number. */
static int outer_breakpoints(double tau, double gamma, const quad_rule *q, double *b)
{
    const double T = 2.0 * tau;
    /* the polynomial prefactor of the truncated tail grows like tau^3 */
    const double cut = q->cut + 3.0 * log1p(T);
    const double xcut = fmin(T, cut * (T + 1.0) / (gamma + cut));
    const double xk = T - 2.0;
    const int kink = xk > 0.0 && xk < xcut;
    int n = 0;
    b[n++] = 0.0;
    b[n++] = xcut;
    if (kink)
        b[n++] = xk;
    /* With E(x) = gamma x / (T + 1 - x) the kernel is bounded by
     * lam_b exp(-E) (d >= 1/(2 (r + 1))): panels uniform in E between
     * E0 and the cut resolve that decay. */
    double first = kink ? xk : xcut;
    for (double E = cut - q->de; E > q->e0 - 0.5 * q->de && n < 64; E -= q->de) {
        const double xe = E * (T + 1.0) / (gamma + E);
        if (xe < xcut) {
            b[n++] = xe;
            first = fmin(first, xe);
        }
    }
    /* Below E0 continue geometrically in E (= geometrically in x for small
     * x, while respecting the pole of E at x = T + 1 when gamma is small).
     * Below x ~ 1/(gamma lam_b) the kernel tends to lam_b and the integrand
     * to ~x^2; above, it goes like x^(1/2): grade down to a fraction of that
     * scale. */
    const double xs = q->xs_frac / (gamma * (T + 2.0));
    double E = q->e0, f;
    for (int k = 0; k < FGR_MAX_DEPTH_X; k++) {
        /* ratio sigma only where E is nearly linear in x (x << T + 1) */
        E /= E * (T + 1.0) / (gamma + E) > q->lin_frac * T ? 2.0 : q->sigma;
        const double xe = E * (T + 1.0) / (gamma + E);
        if (xe < first) {
            b[n++] = xe;
            if (xe < xs)
                break;
        }
    }
    /* Towards r = 0 and both sides of r = 2: down to the same scale xs
     * (at most depth_r / depth_k panels). */
    if (xcut == T) {
        const double L = T - (kink ? xk : 0.0);
        f = 1.0;
        for (int k = 0; k < q->depth_r && L * f > xs; k++) {
            f /= q->sigma_r0;
            b[n++] = T - L * f;
        }
    }
    if (kink) {
        const double L2 = xcut - xk, L1 = fmin(xk, q->kink_l);
        f = 1.0;
        for (int k = 0; k < q->depth_k && fmax(L1, L2) * f > xs; k++) {
            f /= q->sigma_rk;
            if (L1 * f > 0.1 * xs)
                b[n++] = xk - L1 * f;
            if (q->kink_both && L2 * f > 0.1 * xs)
                b[n++] = xk + L2 * f;
        }
    }
    sort_unique(b, &n);
    return n;
}

static double p_tau_rule(double tau, double gamma, const quad_rule *q)
{
    if (!(tau >= 0.0) || !(gamma > 0.0) || isinf(tau) || isinf(gamma))
        return NAN;
    if (tau == 0.0)
        return 1.0; /* Theta(x) vanishes identically: x = lam_f - lam_b <= 0 */
    double b[FGR_MAXB];
    const int nb = outer_breakpoints(tau, gamma, q, b);
    const double T = 2.0 * tau;
    const gl_rule *g = &q->outer;
    double sum = 0.0;
    const int kink = T > 2.0 && T - 2.0 < b[nb - 1];
    const double xk = T - 2.0;
    for (int p = 0; p + 1 < nb; p++) {
        const double len = (b[p + 1] - b[p]) / q->split;
        for (int sp = 0; sp < q->split; sp++) {
            const double lo = b[p] + sp * len, hi = lo + len;
            /* Panels near a point where the integrand has a square-root
             * type scale (x = 0, r = 0, the r > 2 side of r = 2) are
             * integrated in v = ln|x - anchor|: there the integrand is a
             * smooth function of v, not of x. */
            double anc = 0.0, dist = (q->logmask & 1) && !(kink && lo >= xk) ? lo : INFINITY, sgn_a = 1.0;
            if ((q->logmask & 2) && b[nb - 1] == T && T - hi < dist) {
                anc = T; dist = T - hi; sgn_a = -1.0;
            }
            if ((q->logmask & 4) && kink && hi <= xk && xk - hi < dist) {
                anc = xk; dist = xk - hi; sgn_a = -1.0;
            }
            if ((q->logmask & 4) && kink && lo >= xk && lo - xk < dist) {
                anc = xk; dist = lo - xk; sgn_a = 1.0;
            }
            const int logp = q->logmap > 0.0 && isfinite(dist) && dist > 0.0 && dist < q->logmap * len;
            double c, h;
            if (logp) {
                const double va = log(fabs(lo - anc)), vb = log(fabs(hi - anc));
                c = 0.5 * (va + vb);
                h = 0.5 * fabs(vb - va);
            } else {
                c = lo + 0.5 * len;
                h = 0.5 * len;
            }
            double s = 0.0;
            for (int i = 0; i < g->n / 2; i++) {
                for (int sgn = -1; sgn <= 1; sgn += 2) {
                    double x, r, jac = 1.0;
                    if (logp) {
                        jac = exp(c + sgn * h * g->x[i]);
                        x = anc + sgn_a * jac;
                        r = anc == T ? jac : T - x;
                    } else {
                        x = c + sgn * h * g->x[i];
                        r = T - x;
                    }
                    if (!(r > 0.0) || !(x > 0.0))
                        continue;
                    s += g->w[i] * jac * (x * x / r) *
                         inner_integral(r, 2.0 * gamma * x, q);
                }
            }
            sum += h * s;
        }
    }
    return exp(-4.0 * gamma * tau) + 2.0 * gamma * gamma * sum;
}

double fgr_p_tau(double tau, double gamma)
{
    return p_tau_rule(tau, gamma, &RULE_DEFAULT);
}

double fgr_p_tau_fine(double tau, double gamma)
{
    return p_tau_rule(tau, gamma, &RULE_FINE);
}
