/* Theory kernels: Eq. (4) without cancellation and the Eq. (5) quadrature.
 *
 * See fgr_theory.h and DESIGN.md section 2 for the mathematics.  Everything
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
 * z <= FGR_BESSEL_SWITCH: power series of I_0 and I_1 (all terms positive,
 * so summed to a few ulp) times exp(-z).  Above it: the Hankel asymptotic
 * series, whose smallest term at z = 30 is ~e^(-60), far below rounding.
 * With t_k the k-th term of exp(-z) I_nu(z) sqrt(2 pi z),
 *   t_k = t_{k-1} ((2k-1)^2 - 4 nu^2) / (8 k z),
 * the nu = 0 terms are all positive and the nu = 1 terms are negative for
 * k >= 1, so the series of i0e - i1e, sum (t0_k - t1_k), has only positive
 * terms: no cancellation, unlike the difference of the two values.
 * The coefficients are exact rationals rounded once (fgr_theory_tables.h).
 * ---------------------------------------------------------------------- */
#define FGR_BESSEL_SWITCH 25.0 /* smallest Hankel term there: ~e^(-50) */

void fgr_bessel_i01e(double z, double *i0e, double *i1e, double *dif)
{
    if (z <= FGR_BESSEL_SWITCH) {
        const double q = 0.25 * z * z;
        double qk = 1.0, s0 = 1.0, s1 = 1.0;
        for (int k = 1; k < FGR_NPS; k++) {
            qk *= q;
            const double t0 = PS0[k] * qk;
            s0 += t0;
            s1 += PS1[k] * qk;
            if (t0 <= 1e-17 * s0)
                break;
        }
        const double e = exp(-z);
        *i0e = e * s0;
        *i1e = e * (0.5 * z) * s1;
        /* cancellation here costs at most log10(2 z) < 2 digits */
        *dif = e * (s0 - 0.5 * z * s1);
        return;
    }
    const double iz = 1.0 / z;
    double zk = 1.0, s0 = 1.0, s1 = 1.0, sd = 0.0;
    for (int k = 1; k < FGR_NAS; k++) {
        zk *= iz;
        const double t0 = AS0[k] * zk;
        s0 += t0;
        s1 += AS1[k] * zk;
        sd += ASD[k] * zk;
        if (t0 <= 1e-17 * s0)
            break;
    }
    const double p = FGR_INV_SQRT_2PI / sqrt(z);
    *i0e = p * s0;
    *i1e = p * s1;
    *dif = p * sd;
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
    return (1.0 + q) / (1.0 + 2.0 * gamma + 2.0 * q);
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
 * Outer rule: Gauss-Legendre panels on [0, x_cut], graded geometrically
 * towards x = 0 (where the kernel changes on the scale x ~ 1/(gamma lam_b)),
 * towards r = 0 (x = 2 tau, scale ~ 1/(gamma tau)^2) and towards both sides
 * of r = 2 (x = 2 tau - 2: the inner range switches from [1, r+1] to
 * [r-1, r+1]; the integrand is analytic on either side but has a kink).
 * Beyond x_cut = C (2 tau + 1)/(gamma + C), w d >= C everywhere (since
 * d >= 1/(2 (r + 1))), so the kernel is below lam_b e^(-C): truncating
 * there changes nothing at double precision.
 * ---------------------------------------------------------------------- */
#define FGR_NX 10 /* outer Gauss-Legendre order per panel */
#define FGR_NU 10 /* inner Gauss-Legendre order */
#define FGR_SIGMA 3.0
#define FGR_CUT 40.0 /* plus 3 ln(1 + 2 tau): see outer_breakpoints */
#define FGR_DE 5.0
#define FGR_E0 5.0
#define FGR_DEPTH_X 24
#define FGR_DEPTH_R 6
#define FGR_DEPTH_K 6
#define FGR_MAXB (24 + FGR_DEPTH_X + FGR_DEPTH_R + 2 * FGR_DEPTH_K)

/* positive half of the 10-point rule (numpy.polynomial.legendre.leggauss) */
static const double GL10_X[5] = {0.14887433898163122, 0.43339539412924721,
                                 0.67940956829902444, 0.86506336668898454,
                                 0.97390652851717174};
static const double GL10_W[5] = {0.29552422471475281, 0.26926671930999652,
                                 0.21908636251598201, 0.14945134915058039,
                                 0.066671344308688138};

/* acosh(1 + e) for e >= 0 without the cancellation of acosh near 1 */
static inline double acosh1p(double e)
{
    return log1p(e + sqrt(e * (e + 2.0)));
}

/* sinh(u) * K(w, cosh u): the inner integrand in u */
static inline double inner_integrand(double w, double u)
{
    const double em1 = expm1(u);
    const double d = 1.0 / (1.0 + em1);       /* exp(-u) = lam_b - mu_b */
    const double mu = 0.5 * (em1 + em1 * d);  /* sinh(u), accurate near 0 */
    const double ex = exp(-w * d);
    if (ex == 0.0)
        return 0.0;
    double a, b, dif;
    fgr_bessel_i01e(w * mu, &a, &b, &dif);
    (void)b;
    return ex * (d * a + mu * dif) * mu;
}

/* Int over lam_b in [max(1, r - 1), r + 1] of K(w, lam_b), in u = acosh lam_b */
static double inner_integral(double r, double w)
{
    const double uhi = acosh1p(r);
    const double ulo = r > 2.0 ? acosh1p(r - 2.0) : 0.0;
    const double c = 0.5 * (uhi + ulo), h = 0.5 * (uhi - ulo);
    double s = 0.0;
    for (int i = 0; i < FGR_NU / 2; i++) {
        s += GL10_W[i] * (inner_integrand(w, c - h * GL10_X[i]) +
                          inner_integrand(w, c + h * GL10_X[i]));
    }
    return h * s;
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
static int outer_breakpoints(double tau, double gamma, double *b)
{
    const double T = 2.0 * tau;
    /* the polynomial prefactor of the truncated tail grows like tau^3 */
    const double cut = FGR_CUT + 3.0 * log1p(T);
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
     * FGR_E0 and FGR_CUT resolve that decay, geometric panels in x below. */
    double first = kink ? xk : xcut;
    for (double E = cut - FGR_DE; E > FGR_E0 - 0.5 * FGR_DE; E -= FGR_DE) {
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
     * scale (at most FGR_DEPTH_X panels). */
    const double xs = 0.1 / (gamma * (T + 2.0));
    double E = FGR_E0, f;
    for (int k = 0; k < FGR_DEPTH_X; k++) {
        E /= FGR_SIGMA;
        const double xe = E * (T + 1.0) / (gamma + E);
        if (xe < first) {
            b[n++] = xe;
            if (xe < xs)
                break;
        }
    }
    if (xcut == T) {
        const double L = T - (kink ? xk : 0.0);
        f = 1.0;
        for (int k = 0; k < FGR_DEPTH_R; k++) {
            f /= FGR_SIGMA;
            b[n++] = T - L * f;
        }
    }
    if (kink) {
        const double L2 = xcut - xk;
        f = 1.0;
        for (int k = 0; k < FGR_DEPTH_K; k++) {
            f /= FGR_SIGMA;
            b[n++] = xk * (1.0 - f);
            b[n++] = xk + L2 * f;
        }
    }
    sort_unique(b, &n);
    return n;
}

double fgr_p_tau(double tau, double gamma)
{
    if (!(tau >= 0.0) || !(gamma > 0.0) || isinf(tau) || isinf(gamma))
        return NAN;
    if (tau == 0.0)
        return 1.0; /* Theta(x) vanishes identically: x = lam_f - lam_b <= 0 */
    double b[FGR_MAXB];
    const int nb = outer_breakpoints(tau, gamma, b);
    const double T = 2.0 * tau;
    double sum = 0.0;
    for (int p = 0; p + 1 < nb; p++) {
        const double c = 0.5 * (b[p] + b[p + 1]), h = 0.5 * (b[p + 1] - b[p]);
        double s = 0.0;
        for (int i = 0; i < FGR_NX / 2; i++) {
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                const double x = c + sgn * h * GL10_X[i];
                const double r = T - x;
                if (!(r > 0.0) || !(x > 0.0))
                    continue;
                s += GL10_W[i] * (x * x / r) * inner_integral(r, 2.0 * gamma * x);
            }
        }
        sum += h * s;
    }
    return exp(-4.0 * gamma * tau) + 2.0 * gamma * gamma * sum;
}

long fgr_p_tau_cost(double tau, double gamma)
{
    if (!(tau > 0.0) || !(gamma > 0.0) || isinf(tau) || isinf(gamma))
        return 0;
    double b[FGR_MAXB];
    const int nb = outer_breakpoints(tau, gamma, b);
    return (long)(nb - 1) * FGR_NX * FGR_NU;
}
