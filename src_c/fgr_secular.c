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

static sec_val sec_eval(ptrdiff_t K, const double *a, const double *s, ptrdiff_t o,
                        ptrdiff_t split, double c0, double y)
{
    double flo, dlo, fhi, dhi;
    sec_sums(a, s, a[o], y, 0, split, &flo, &dlo);
    sec_sums(a, s, a[o], y, split, K, &fhi, &dhi);
    sec_val v;
    v.f = (c0 + y) + (flo + fhi);
    v.dlo = dlo;
    v.dhi = dhi;
    /* The bracket keeps y between the poles mu < split (terms < 0) and the
     * poles mu >= split (terms > 0), so sum |t| = fhi - flo. */
    v.err = fabs(c0) + fabs(y) + (fhi - flo);
    return v;
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

/* One root of the active arrowhead (K >= 1 poles a, couplings s > 0).
 * j = 0: below a[0]; 0 < j < K: in (a[j-1], a[j]); j = K: above a[K-1].
 * Returns 0 if converged, 1 if the iteration limit was hit. */
static int sec_root(ptrdiff_t K, const double *a, const double *s, double alpha,
                    double ztot, ptrdiff_t j, double *y_out, ptrdiff_t *o_out, double *w_out)
{
    ptrdiff_t o, split;
    double lo, hi, y, delta_f = 0.0;
    int kind; /* -1 left outer, +1 right outer, 0 interior origin left, 2 interior origin right */
    sec_val v;

    if (j == 0 || j == K) {
        /* Outer root.  Weyl: every eigenvalue lies within ||z|| of the
         * spectrum of diag(alpha, d), which fixes the far end of the bracket. */
        const double reach = sqrt(ztot) * (1.0 + 4.0 * DBL_EPSILON);
        if (j == 0) {
            o = 0;
            split = 0;
            kind = -1;
            hi = 0.0;
            lo = fmin(alpha - a[0], 0.0) - reach;
            if (!(lo < 0.0))
                lo = -DBL_MIN;
        } else {
            o = K - 1;
            split = K;
            kind = 1;
            lo = 0.0;
            hi = fmax(alpha - a[K - 1], 0.0) + reach;
            if (!(hi > 0.0))
                hi = DBL_MIN;
        }
        y = 0.5 * lo + 0.5 * hi;
        v = sec_eval(K, a, s, o, split, a[o] - alpha, y);
    } else {
        const double h = a[j] - a[j - 1];
        const double ymid = 0.5 * h;
        v = sec_eval(K, a, s, j - 1, j, a[j - 1] - alpha, ymid);
        if (v.f >= 0.0) {
            /* f increases across the gap: the root is in the left half. */
            o = j - 1;
            split = j;
            kind = 0;
            lo = 0.0;
            hi = ymid;
            y = ymid;
            delta_f = h;
        } else {
            /* Same point seen from the right pole (h - h/2 = h/2 exactly): f and
             * the split derivative sums are reused as the first model data; the
             * next evaluation is in the right pole's coordinates. */
            o = j;
            split = j;
            kind = 2;
            lo = -ymid;
            hi = 0.0;
            y = -ymid;
            delta_f = -h;
        }
    }
    const double c0 = a[o] - alpha;

    int it;
    for (it = 0; it < SEC_MAXIT; ++it) {
        if (fabs(v.f) <= SEC_TOL * DBL_EPSILON * v.err)
            break;
        if (v.f < 0.0)
            lo = y;
        else
            hi = y;
        if (hi - lo <= 2.0 * DBL_EPSILON * fmax(fabs(lo), fabs(hi)))
            break;

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
        if (!(ynew > lo && ynew < hi) || (it >= SEC_RATIONAL_ITS && (it & 1))) {
            ynew = sec_bisect(lo, hi);
            if (!(ynew > lo && ynew < hi))
                break; /* the bracket is two adjacent doubles */
        }
        if (ynew == y)
            break;
        y = ynew;
        v = sec_eval(K, a, s, o, split, c0, y);
    }
    *y_out = y;
    *o_out = o;
    *w_out = 1.0 / (1.0 + (v.dlo + v.dhi));
    return it >= SEC_MAXIT;
}

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
