/*
 * The vector lanes of the secular solver (fgr_secular.c), written once for
 * both instruction sets: fgr_secular.c includes this file twice, with
 * SEC_LANES_ISA = 512 (AVX-512: one __m512d per 8 lanes, __mmask8 masks) and
 * SEC_LANES_ISA = 2 (AVX2: two __m256d per 8 lanes, all-ones lane masks), after the shared scalar code and lane state (sec_win8,
 * sec_state8, sec_group8, ...).  Every function is defined as NAME_avx512 /
 * NAME_avx2 (SEC_FN).  The operations below map one to one onto IEEE
 * operations of the scalar reference (no fused multiply-add: only the
 * AVX-512 reciprocal's estimate uses FMA, and it is verified exact, see
 * sec_recip8_avx512), so both instantiations give the scalar path's bits.  Not a public header; no include guard on purpose.
 */
#if SEC_LANES_ISA == 512
#define SEC_FN(name) name##_avx512
#define SV_RECIP sec_recip8_avx512
#define SEC_TARGET SEC_AVX512
#define SV_D __m512d
#define SV_I __m512i
#define SV_K __mmask8
#define SV_SET1 _mm512_set1_pd
#define SV_ZERO _mm512_setzero_pd
#define SV_LOAD _mm512_loadu_pd
#define SV_STORE _mm512_storeu_pd
#define SV_ADD _mm512_add_pd
#define SV_SUB _mm512_sub_pd
#define SV_MUL _mm512_mul_pd
#define SV_DIV _mm512_div_pd
#define SV_SQRT _mm512_sqrt_pd
#define SV_MAX _mm512_max_pd
#define SV_ABS _mm512_abs_pd
#define SV_NEG sec_neg8_avx512
#define SV_BLEND(k, a, b) _mm512_mask_blend_pd(k, a, b) /* k ? b : a */
#define SV_ADD_MASK(src, k, a, b) _mm512_mask_add_pd(src, k, a, b) /* k ? a + b : src */
#define SV_MASKZ(k, a) _mm512_maskz_mov_pd(k, a) /* k ? a : +0 */
#define SV_LT(a, b) _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ)
#define SV_LE(a, b) _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ)
#define SV_GT(a, b) _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ)
#define SV_GE(a, b) _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ)
#define SV_EQ(a, b) _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ)
#define SI_SET1(x) _mm512_set1_epi64((long long)(x))
#define SI_LOAD(p) _mm512_loadu_si512(p)
#define SI_STORE(p, v) _mm512_storeu_si512(p, v)
#define SI_LT _mm512_cmplt_epi64_mask
#define SI_GE _mm512_cmpge_epi64_mask
#define SI_ODD(v) _mm512_test_epi64_mask(v, _mm512_set1_epi64(1))
#define SI_INC(v, k) _mm512_mask_add_epi64(v, k, v, _mm512_set1_epi64(1)) /* +1 in lanes k */
#define SK_AND(a, b) ((__mmask8)((a) & (b)))
#define SK_ANDN(a, b) ((__mmask8)((a) & ~(b))) /* a and not b */
#define SK_OR(a, b) ((__mmask8)((a) | (b)))
#define SK_ANY(a) ((a) != 0)
#define SK_BITS(a) ((__mmask8)(a))
#define SK_FROM(bits) ((__mmask8)(bits))
#elif SEC_LANES_ISA == 2
#define SEC_FN(name) name##_avx2
#define SV_RECIP sec_recip8_avx2
#define SEC_TARGET SEC_AVX2
#define SV_D sec_vd2
#define SV_I sec_vi2
#define SV_K sec_vk2
#define SV_SET1 sec2_set1
#define SV_ZERO sec2_zero
#define SV_LOAD sec2_load
#define SV_STORE sec2_store
#define SV_ADD sec2_add
#define SV_SUB sec2_sub
#define SV_MUL sec2_mul
#define SV_DIV sec2_div
#define SV_SQRT sec2_sqrt
#define SV_MAX sec2_max
#define SV_ABS sec2_abs
#define SV_NEG sec2_neg
#define SV_BLEND sec2_blend
#define SV_ADD_MASK(src, k, a, b) sec2_blend(k, src, sec2_add(a, b))
#define SV_MASKZ sec2_maskz
#define SV_LT sec2_lt
#define SV_LE sec2_le
#define SV_GT sec2_gt
#define SV_GE sec2_ge
#define SV_EQ sec2_eq
#define SI_SET1(x) sec2_set1i((long long)(x))
#define SI_LOAD sec2_loadi
#define SI_STORE sec2_storei
#define SI_LT sec2_lti
#define SI_GE sec2_gei
#define SI_ODD sec2_oddi
#define SI_INC sec2_inci
#define SK_AND sec2_kand
#define SK_ANDN sec2_kandn
#define SK_OR sec2_kor
#define SK_ANY sec2_kany
#define SK_BITS sec2_kbits
#define SK_FROM sec2_kfrom
#else
#error "SEC_LANES_ISA must be 512 or 2"
#endif
#define SEC_INLINE static inline __attribute__((always_inline))

/* ---- one coupling: SEC_LANES roots per pass over the poles ---------------- */

/* t = s/x with x = (a[mu] - ao) - y per lane, and t/x, as the scalar code. */
SEC_TARGET SEC_INLINE void SEC_FN(sec_term8)(const double *a, const double *s, ptrdiff_t mu, SV_D aov, SV_D yv,
                                             SV_D *t, SV_D *d)
{
    const SV_D r = SV_RECIP(SV_SUB(SV_SUB(SV_SET1(a[mu]), aov), yv));
    *t = SV_MUL(SV_SET1(s[mu]), r);
    *d = SV_MUL(*t, r);
}

/* Unmasked pole pairs (mu0 even, mu1 - mu0 even) for lanes all on one side. */
SEC_TARGET static inline void SEC_FN(sec_pairs8)(const double *a, const double *s, SV_D aov, SV_D yv,
                                                 ptrdiff_t mu0, ptrdiff_t mu1, SV_D *fE, SV_D *dE, SV_D *fO,
                                                 SV_D *dO)
{
    for (ptrdiff_t mu = mu0; mu < mu1; mu += 2) {
        SV_D t0, d0, t1, d1;
        SEC_FN(sec_term8)(a, s, mu, aov, yv, &t0, &d0);
        SEC_FN(sec_term8)(a, s, mu + 1, aov, yv, &t1, &d1);
        *fE = SV_ADD(*fE, t0);
        *dE = SV_ADD(*dE, d0);
        *fO = SV_ADD(*fO, t1);
        *dO = SV_ADD(*dO, d1);
    }
}

/* sec_eval for SEC_LANES requests at once, bitwise.  sec_sums adds pole mu
 * to lane (mu - m0) mod 2 of its pair sums and a left-over last pole at the
 * end; here each root-lane keeps sums over even and over odd mu (ascending,
 * as there), lo (mu < split) and hi separately; which of the two is lane 0
 * does not matter (fv[0] + fv[1] is commutative).  The left-over poles
 * (split - 1 if split is odd, K - 1 if K - split is odd) are added last, in
 * scalar code as there. */
SEC_TARGET static void SEC_FN(sec_eval8)(ptrdiff_t K, const double *a, const double *s,
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
    const SV_D aov = SV_LOAD(ao), yv = SV_LOAD(yl);
    const SV_I spv = SI_LOAD(sp), loev = SI_LOAD(loe), hiev = SI_LOAD(hie);
    SV_D flE = SV_ZERO(), flO = flE, dlE = flE, dlO = flE;
    SV_D fhE = flE, fhO = flE, dhE = flE, dhO = flE;
    /* [0, all_lo): every lane lo; [all_hi, himin): every lane hi (both even) */
    const ptrdiff_t all_lo = smin & ~(ptrdiff_t)1;
    ptrdiff_t all_hi = (smax + 1) & ~(ptrdiff_t)1;
    himin &= ~(ptrdiff_t)1;
    ptrdiff_t mu = 0;
    SEC_FN(sec_pairs8)(a, s, aov, yv, 0, all_lo, &flE, &dlE, &flO, &dlO);
    mu = all_lo;
    while (mu < K) {
        if (mu >= all_hi && mu + 2 <= himin) {
            SEC_FN(sec_pairs8)(a, s, aov, yv, mu, himin, &fhE, &dhE, &fhO, &dhO);
            mu = himin;
            continue;
        }
        /* mixed region: per-lane masks (a masked add leaves the other lanes' bits alone) */
        for (int q = 0; q < 2 && mu < K; ++q, ++mu) {
            SV_D t, d;
            SEC_FN(sec_term8)(a, s, mu, aov, yv, &t, &d);
            const SV_I mv = SI_SET1(mu);
            const SV_K ml = SI_LT(mv, loev);
            const SV_K mh = SK_AND(SI_GE(mv, spv), SI_LT(mv, hiev));
            if (q == 0) {
                flE = SV_ADD_MASK(flE, ml, flE, t);
                dlE = SV_ADD_MASK(dlE, ml, dlE, d);
                fhE = SV_ADD_MASK(fhE, mh, fhE, t);
                dhE = SV_ADD_MASK(dhE, mh, dhE, d);
            } else {
                flO = SV_ADD_MASK(flO, ml, flO, t);
                dlO = SV_ADD_MASK(dlO, ml, dlO, d);
                fhO = SV_ADD_MASK(fhO, mh, fhO, t);
                dhO = SV_ADD_MASK(dhO, mh, dhO, d);
            }
        }
    }
    double acc[8][SEC_LANES];
    SV_STORE(acc[0], flE);
    SV_STORE(acc[1], flO);
    SV_STORE(acc[2], dlE);
    SV_STORE(acc[3], dlO);
    SV_STORE(acc[4], fhE);
    SV_STORE(acc[5], fhO);
    SV_STORE(acc[6], dhE);
    SV_STORE(acc[7], dhO);
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
SEC_TARGET static void SEC_FN(sec_roots8)(ptrdiff_t K, const double *a, const double *s, double alpha,
                                          double ztot, double *yroot, ptrdiff_t *oroot, double *wroot)
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
        SEC_FN(sec_eval8)(K, a, s, req, v);
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

/* ---- several couplings: far-field moments and interior roots -------------- */

#if SEC_LANES_ISA == 512
/* AVX-512 only: with AVX2, eight lanes' 16 moment accumulators take all 16
 * vector registers and spill; sec_gap_moments4 (four lanes) is faster there
 * (measured on Zen 4, far-field solve for one coupling at N+1 = 1000 per
 * dsterf call: 0.17 with eight AVX2 lanes dividing, 0.22 with an rcpps
 * estimate refined by FMA, 0.145 with four lanes; 0.12 since those skip
 * their all-ones masks). */

/* Poles mu0 <= mu < max(mu0, mu1) of one side, at most kmax moments (a
 * constant after inlining); returns the end. */
SEC_TARGET SEC_INLINE ptrdiff_t SEC_FN(sec_mom8_range)(const double *a, const double *u2, ptrdiff_t mu0,
                                                       ptrdiff_t mu1, const int kmax, const int side, SV_I w0v,
                                                       SV_I w1v, const SV_I *ltv, const SV_I *rtv, SV_D alv,
                                                       SV_D ymv, SV_D *acc)
{
    for (ptrdiff_t mu = mu0; mu < mu1; ++mu) {
        const SV_I muv = SI_SET1(mu);
        const SV_K far = side ? SI_GE(muv, w1v) : SI_LT(muv, w0v);
        /* need[t]: the lanes that take moments k >= SEC_TIERS[t].nk of this pole */
        SV_K need[SEC_NTIERS];
        for (int t = 0; t < SEC_NTIERS; ++t)
            need[t] = SK_AND(far, side ? SI_LT(muv, rtv[t]) : SI_GE(muv, ltv[t]));
        const SV_D D = SV_SUB(SV_SUB(SV_SET1(a[mu]), alv), ymv);
        const SV_D r = SV_RECIP(D);
        SV_D t = SV_MUL(SV_SET1(u2[mu]), r);
        acc[0] = SV_ADD_MASK(acc[0], far, acc[0], t);
        for (int k = 1; k < kmax; ++k) {
            const SV_K m = k >= SEC_TIERS[0].nk ? need[0] : k >= SEC_TIERS[1].nk ? need[1]
                         : k >= SEC_TIERS[2].nk ? need[2] : far;
            t = SV_MUL(t, r);
            acc[k] = SV_ADD_MASK(acc[k], m, acc[k], t);
        }
    }
    return mu1 > mu0 ? mu1 : mu0;
}

/* The moments of eight gaps j0 .. j0+7 at once (lane q: gap j0+q); bitwise
 * sec_gap_moments: per lane the same terms in the same (ascending) order. */
SEC_TARGET static void SEC_FN(sec_gap_moments8)(ptrdiff_t K, const double *a, const double *u2, ptrdiff_t j0,
                                                sec_gap *gp, double *mom)
{
    sec_lanes ln;
    sec_lanes_setup(&ln, K, a, j0, gp, 8);
    long long(*lt)[8] = ln.lt, (*rt)[8] = ln.rt;
    const ptrdiff_t lmax = ln.lmax, rmin = ln.rmin;
    const SV_D alv = SV_LOAD(ln.al), ymv = SV_LOAD(ln.yl);
    const SV_I w0v = SI_LOAD(ln.w0), w1v = SI_LOAD(ln.w1);
    SV_I ltv[SEC_NTIERS], rtv[SEC_NTIERS];
    for (int t = 0; t < SEC_NTIERS; ++t) {
        ltv[t] = SI_LOAD(lt[t]);
        rtv[t] = SI_LOAD(rt[t]);
    }
    double out[2][SEC_NACC][8];
    for (int side = 0; side < 2; ++side) {
        SV_D acc[SEC_NACC];
        for (int k = 0; k < SEC_NACC; ++k)
            acc[k] = SV_ZERO();
        /* segments of poles where the lanes need at most kmax moments */
        ptrdiff_t bound[SEC_NTIERS];
        for (int t = 0; t < SEC_NTIERS; ++t) {
            bound[t] = side ? rmin : lmax;
            for (int q = 0; q < 8; ++q)
                bound[t] = side ? (rt[t][q] > bound[t] ? (ptrdiff_t)rt[t][q] : bound[t])
                                : (lt[t][q] < bound[t] ? (ptrdiff_t)lt[t][q] : bound[t]);
        }
#define SEC_RANGE(mu, end, kmax, side) \
    SEC_FN(sec_mom8_range)(a, u2, mu, end, kmax, side, w0v, w1v, ltv, rtv, alv, ymv, acc)
        if (!side) {
            ptrdiff_t mu = 0;
            mu = SEC_RANGE(mu, bound[2], SEC_TIERS[2].nk, 0);
            mu = SEC_RANGE(mu, bound[1], SEC_TIERS[1].nk, 0);
            mu = SEC_RANGE(mu, bound[0], SEC_TIERS[0].nk, 0);
            SEC_RANGE(mu, lmax, SEC_NACC, 0);
        } else {
            ptrdiff_t mu = rmin;
            mu = SEC_RANGE(mu, bound[0], SEC_NACC, 1);
            mu = SEC_RANGE(mu, bound[1], SEC_TIERS[0].nk, 1);
            mu = SEC_RANGE(mu, bound[2], SEC_TIERS[1].nk, 1);
            SEC_RANGE(mu, K, SEC_TIERS[2].nk, 1);
        }
#undef SEC_RANGE
        for (int k = 0; k < SEC_NACC; ++k)
            SV_STORE(out[side][k], acc[k]);
    }
    for (int q = 0; q < 8; ++q)
        sec_moments_store(mom + q * SEC_GAP_STRIDE, &out[0][0][q], &out[1][0][q], 8, gp + q);
}
#endif

/* sec_series on SEC_LANES coefficient columns: c[k] (deriv = 0) or (k+1) c[k+1] (deriv = 1; the
 * last one, 15 F_15, is stored as such) */
SEC_TARGET SEC_INLINE SV_D SEC_FN(sec_series8)(const double (*c)[SEC_LANES], const int deriv, SV_D h, SV_D h2,
                                               SV_D h4, SV_D h8)
{
#define SEC_C(k)                                                                                              \
    (!deriv ? SV_LOAD(c[k])                                                                                \
            : (k) + 1 == SEC_NMOM ? SV_LOAD(c[SEC_NMOM]) : SV_MUL(SV_SET1((double)((k) + 1)), SV_LOAD(c[(k) + 1])))
#define SEC_LIN(p, q, x) SV_ADD(p, SV_MUL(q, x))
    const SV_D q0 = SEC_LIN(SEC_C(0), SEC_C(1), h), q1 = SEC_LIN(SEC_C(2), SEC_C(3), h);
    const SV_D q2 = SEC_LIN(SEC_C(4), SEC_C(5), h), q3 = SEC_LIN(SEC_C(6), SEC_C(7), h);
    const SV_D q4 = SEC_LIN(SEC_C(8), SEC_C(9), h), q5 = SEC_LIN(SEC_C(10), SEC_C(11), h);
    const SV_D q6 = SEC_LIN(SEC_C(12), SEC_C(13), h);
    const SV_D r0 = SEC_LIN(q0, q1, h2), r1 = SEC_LIN(q2, q3, h2), r2 = SEC_LIN(q4, q5, h2);
    const SV_D r3 = SEC_LIN(q6, SEC_C(14), h2);
    return SV_ADD(SEC_LIN(r0, r1, h4), SV_MUL(SEC_LIN(r2, r3, h4), h8));
#undef SEC_C
#undef SEC_LIN
}

/* The left-over pole (row x of xa, xu) added to the lanes m, after the pair sums as in sec_sums. */
SEC_TARGET SEC_INLINE void SEC_FN(sec_win8_last)(const sec_win8 *wn, int x, SV_K m, SV_D aov, SV_D yv, SV_D *f,
                                                 SV_D *d)
{
    const SV_D r = SV_RECIP(SV_SUB(SV_SUB(SV_LOAD(wn->xa[x]), aov), yv));
    const SV_D t = SV_MUL(SV_LOAD(wn->xu[x]), r);
    *f = SV_ADD_MASK(*f, m, *f, t);
    *d = SV_ADD_MASK(*d, m, *d, SV_MUL(t, r));
}

/* sec_eval_gap for SEC_LANES requests (lane l: origin value ao[l], offset
 * y[l], c0[l], hoff[l] = a[eo] - a[j-1]; rows < nmax), bitwise: f, the
 * split derivative sums and the error scale of sec_val. */
SEC_TARGET SEC_INLINE void SEC_FN(sec_eval_gap8)(const sec_win8 *wn, SV_D aov, SV_D yv, SV_D c0v, SV_D hoff,
                                                 ptrdiff_t nmax, SV_D *fout, SV_D *dlout, SV_D *dhout,
                                                 SV_D *errout)
{
    const SV_I nlov = SI_LOAD(wn->nlo), ntotv = SI_LOAD(wn->ntot);
    SV_D flE = SV_ZERO(), flO = flE, dlE = flE, dlO = flE;
    SV_D fhE = flE, fhO = flE, dhE = flE, dhO = flE;
    for (ptrdiff_t i = 0; i < nmax; i += 2) {
        const SV_I iv = SI_SET1(i);
        const SV_K ml = SI_LT(iv, nlov);
        const SV_K mh = SK_ANDN(SI_LT(iv, ntotv), ml);
        const SV_D r0 = SV_RECIP(SV_SUB(SV_SUB(SV_LOAD(wn->pa[i]), aov), yv));
        const SV_D r1 = SV_RECIP(SV_SUB(SV_SUB(SV_LOAD(wn->pa[i + 1]), aov), yv));
        const SV_D t0 = SV_MUL(SV_LOAD(wn->pu[i]), r0);
        const SV_D t1 = SV_MUL(SV_LOAD(wn->pu[i + 1]), r1);
        const SV_D d0 = SV_MUL(t0, r0), d1 = SV_MUL(t1, r1);
        flE = SV_ADD_MASK(flE, ml, flE, t0);
        dlE = SV_ADD_MASK(dlE, ml, dlE, d0);
        flO = SV_ADD_MASK(flO, ml, flO, t1);
        dlO = SV_ADD_MASK(dlO, ml, dlO, d1);
        fhE = SV_ADD_MASK(fhE, mh, fhE, t0);
        dhE = SV_ADD_MASK(dhE, mh, dhE, d0);
        fhO = SV_ADD_MASK(fhO, mh, fhO, t1);
        dhO = SV_ADD_MASK(dhO, mh, dhO, d1);
    }
    SV_D flo = SV_ADD(flE, flO), dlo = SV_ADD(dlE, dlO);
    SV_D fhi = SV_ADD(fhE, fhO), dhi = SV_ADD(dhE, dhO);
    SEC_FN(sec_win8_last)(wn, 0, SK_FROM(wn->oddlo), aov, yv, &flo, &dlo);
    SEC_FN(sec_win8_last)(wn, 1, SK_FROM(wn->oddhi), aov, yv, &fhi, &dhi);
    const SV_D h = SV_SUB(SV_ADD(hoff, yv), SV_LOAD(wn->ym));
    const SV_D h2 = SV_MUL(h, h), h4 = SV_MUL(h2, h2), h8 = SV_MUL(h4, h4);
    flo = SV_ADD(flo, SEC_FN(sec_series8)(wn->coef, 0, h, h2, h4, h8));
    dlo = SV_ADD(dlo, SEC_FN(sec_series8)(wn->coef, 1, h, h2, h4, h8));
    fhi = SV_ADD(fhi, SEC_FN(sec_series8)(wn->coef + SEC_NACC, 0, h, h2, h4, h8));
    dhi = SV_ADD(dhi, SEC_FN(sec_series8)(wn->coef + SEC_NACC, 1, h, h2, h4, h8));
    /* sec_value on the scaled sums */
    const SV_D csv = SV_LOAD(wn->cs);
    flo = SV_MUL(csv, flo);
    dlo = SV_MUL(csv, dlo);
    fhi = SV_MUL(csv, fhi);
    dhi = SV_MUL(csv, dhi);
    *fout = SV_ADD(SV_ADD(c0v, yv), SV_ADD(flo, fhi));
    *dlout = dlo;
    *dhout = dhi;
    *errout = SV_ADD(SV_ADD(SV_ABS(c0v), SV_ABS(yv)), SV_SUB(fhi, flo));
}

/* sec_step for the lanes act (bits) of interior roots, bitwise (the same
 * branches as masks; every division and square root correctly rounded as
 * the scalar ones).  Returns the lanes that take another evaluation; *done
 * and *limit: those with SEC_STEP_DONE, SEC_STEP_LIMIT.  Other lanes are
 * left alone. */
SEC_TARGET static __mmask8 SEC_FN(sec_step8)(sec_state8 *st, __mmask8 act, SV_D f, SV_D dlo, SV_D dhi, SV_D err,
                                             __mmask8 *done, __mmask8 *limit)
{
    const SV_D zero = SV_ZERO();
    const SV_K actk = SK_FROM(act);
    SV_D y = SV_LOAD(st->y), lo = SV_LOAD(st->lo), hi = SV_LOAD(st->hi);
    SV_D delta_f = SV_LOAD(st->delta_f);
    /* the first evaluation, at the middle of the gap, picks the origin */
    const __mmask8 first = act & (__mmask8)~st->started;
    if (first) {
        const SV_K firstk = SK_FROM(first), left = SV_GE(f, zero);
        const SV_D ymid = y, nymid = SV_NEG(ymid), gap = SV_LOAD(st->gap);
        const SV_K fl = SK_AND(firstk, left), fr = SK_ANDN(firstk, left);
        lo = SV_BLEND(fl, lo, zero);
        hi = SV_BLEND(fl, hi, ymid);
        delta_f = SV_BLEND(fl, delta_f, gap);
        lo = SV_BLEND(fr, lo, nymid);
        hi = SV_BLEND(fr, hi, zero);
        y = SV_BLEND(fr, y, nymid);
        delta_f = SV_BLEND(fr, delta_f, SV_NEG(gap));
        st->right = (__mmask8)((st->right & ~first) | SK_BITS(fr));
        st->started |= first;
        SV_STORE(st->y, y);
    }
    const SV_K right = SK_FROM(st->right);
    const SV_I it = SI_LOAD(st->it);
    const SV_K lim = SK_AND(actk, SI_GE(it, SI_SET1(SEC_MAXIT)));
    const SV_K fin = SV_LE(SV_ABS(f), SV_MUL(SV_SET1(SEC_TOL * DBL_EPSILON), err));
    SV_K go = SK_ANDN(SK_ANDN(actk, lim), fin);
    const SV_K neg = SV_LT(f, zero);
    lo = SV_BLEND(SK_AND(go, neg), lo, y);
    hi = SV_BLEND(SK_ANDN(go, neg), hi, y);
    const SV_D width = SV_MUL(SV_SET1(2.0 * DBL_EPSILON), SV_MAX(SV_ABS(lo), SV_ABS(hi)));
    go = SK_ANDN(go, SV_LE(SV_SUB(hi, lo), width));
    /* the gap model (gap_model_root; for kind 2 on -A and -delta_f, negated) */
    const SV_D one = SV_SET1(1.0);
    const SV_D dn = SV_BLEND(right, dlo, dhi), dfar = SV_BLEND(right, dhi, dlo);
    const SV_D Bo = SV_MUL(y, SV_MUL(y, dn));
    const SV_D t = SV_SUB(delta_f, y), d1 = SV_ADD(dfar, one);
    const SV_D Bf = SV_MUL(t, SV_MUL(t, d1));
    const SV_D A0 = SV_SUB(SV_ADD(f, SV_MUL(y, dn)), SV_MUL(t, d1));
    const SV_D A = SV_BLEND(right, A0, SV_NEG(A0));
    const SV_D D = SV_BLEND(right, delta_f, SV_NEG(delta_f));
    const SV_D b = SV_ADD(SV_ADD(SV_MUL(A, D), Bo), Bf);
    const SV_D c = SV_MUL(Bo, D);
    SV_D disc = SV_SUB(SV_MUL(b, b), SV_MUL(SV_MUL(SV_SET1(4.0), A), c));
    disc = SV_BLEND(SV_LT(disc, zero), disc, zero);
    const SV_D sq = SV_SQRT(disc);
    const SV_K a0 = SV_EQ(A, zero), bpos = SV_GT(b, zero);
    const SV_D two = SV_SET1(2.0);
    SV_D num = SV_BLEND(bpos, SV_SUB(b, sq), SV_MUL(two, c));
    SV_D den = SV_BLEND(bpos, SV_MUL(two, A), SV_ADD(b, sq));
    num = SV_BLEND(a0, num, c);
    den = SV_BLEND(a0, den, b);
    const SV_D g = SV_DIV(num, den);
    SV_D ynew = SV_BLEND(right, g, SV_NEG(g));
    /* rejected steps and, from SEC_RATIONAL_ITS on, every other step: sec_bisect */
    const SV_K inside = SK_AND(SV_GT(ynew, lo), SV_LT(ynew, hi));
    const SV_K alt = SK_AND(SI_GE(it, SI_SET1(SEC_RATIONAL_ITS)), SI_ODD(it));
    const SV_K bis = SK_OR(SK_ANDN(go, inside), SK_AND(go, alt));
    if (SK_ANY(bis)) {
        const SV_D eight = SV_SET1(8.0), tmin = SV_SET1(DBL_TRUE_MIN);
        const SV_K up = SK_AND(SV_GE(lo, zero), SV_GT(hi, SV_MUL(eight, lo)));
        const SV_K dw = SK_AND(SV_LE(hi, zero), SV_LT(lo, SV_MUL(eight, hi)));
        const SV_D nlo = SV_NEG(lo), nhi = SV_NEG(hi);
        const SV_D half = SV_SET1(0.5);
        SV_D yb = SV_ADD(SV_MUL(half, lo), SV_MUL(half, hi));
        yb = SV_BLEND(SK_ANDN(dw, up), yb, SV_MUL(SV_NEG(SV_SQRT(SV_MAX(nhi, tmin))), SV_SQRT(nlo)));
        yb = SV_BLEND(up, yb, SV_MUL(SV_SQRT(SV_MAX(lo, tmin)), SV_SQRT(hi)));
        ynew = SV_BLEND(bis, ynew, yb);
        const SV_K ok = SK_AND(SV_GT(yb, lo), SV_LT(yb, hi));
        go = SK_ANDN(go, SK_ANDN(bis, ok));
    }
    go = SK_ANDN(go, SV_EQ(ynew, y));
    SV_STORE(st->lo, lo);
    SV_STORE(st->hi, hi);
    SV_STORE(st->delta_f, delta_f);
    SV_STORE(st->y, SV_BLEND(go, y, ynew));
    SI_STORE(st->it, SI_INC(it, go));
    *limit = SK_BITS(lim);
    *done = SK_BITS(SK_ANDN(SK_ANDN(actk, lim), go));
    return SK_BITS(go);
}

/* One evaluation and step of the group's busy lanes; the finished ones are
 * left to sec_group8_finish. */
SEC_TARGET static void SEC_FN(sec_group8_step)(sec_group8 *gr)
{
    sec_win8 *wn = &gr->wn;
    ptrdiff_t nmax = 0;
    for (int l = 0; l < SEC_LANES; ++l)
        nmax = wn->ntot[l] > nmax ? (ptrdiff_t)wn->ntot[l] : nmax;
    /* rows a lane does not use are read (masked out): keep them finite */
    if (nmax > gr->rows) {
        for (ptrdiff_t i = gr->rows; i < nmax; ++i)
            for (int l = 0; l < SEC_LANES; ++l)
                if (i >= wn->ntot[l])
                    wn->pa[i][l] = wn->pu[i][l] = 0.0;
        gr->rows = nmax;
    }
    /* the origin a[eo], its offset from a[j-1] and c0 of each lane */
    const sec_state8 *st = &gr->st;
    const SV_K right = SK_FROM(st->right);
    const SV_D aov = SV_BLEND(right, SV_LOAD(st->al), SV_LOAD(st->ar));
    const SV_D hoff = SV_MASKZ(right, SV_LOAD(st->gap)); /* a[j-1] - a[j-1] = +0 */
    const SV_D c0v = SV_BLEND(right, SV_LOAD(st->c0l), SV_LOAD(st->c0r));
    SV_D f, dlo, dhi, err;
    SEC_FN(sec_eval_gap8)(wn, aov, SV_LOAD(st->y), c0v, hoff, nmax, &f, &dlo, &dhi, &err);
    SEC_FN(sec_step8)(&gr->st, gr->busy, f, dlo, dhi, err, &gr->done, &gr->lim);
    if (gr->done | gr->lim) {
        const SV_D one = SV_SET1(1.0);
        SV_STORE(gr->wl, SV_DIV(one, SV_ADD(one, SV_ADD(dlo, dhi))));
    }
}

/* The interior roots with an expansion (gp[q].w1 >= 0) of gaps j0 .. j0+n-1
 * for every factor cs[g] > 0: energies and weights to e, w (scale 2^k) as
 * sec_root_scaled's, bitwise.  Returns the first root (g * n + q, the
 * scalar path's order) at the iteration limit, or -1.  Two groups of lanes
 * take turns, each group's finished roots handled after the other group's
 * step: a step ends in a long dependent chain (division, square roots)
 * that the other group's independent work then overlaps, and the branches
 * on its outcome are resolved by the time they are reached.  The groups'
 * copies take ~31 KB of stack (no allocation per call). */
SEC_TARGET static ptrdiff_t SEC_FN(sec_gap_roots8)(const double *a, const double *u2, double alpha,
                                                   const double *cs, ptrdiff_t G, ptrdiff_t j0, ptrdiff_t n,
                                                   const sec_gap *gp, const double *mom, int k, double *e,
                                                   double *w, ptrdiff_t ld)
{
    sec_queue8 qu;
    sec_group8 grp[2];
    ptrdiff_t limit = -1;
    sec_queue8_init(&qu, a, u2, alpha, cs, G, j0, n, gp, mom);
    sec_group8_init(&grp[0], &qu);
    sec_group8_init(&grp[1], &qu);
    for (int c = 0;; c ^= 1) {
        sec_group8 *cur = &grp[c], *oth = &grp[c ^ 1];
        if (cur->busy)
            SEC_FN(sec_group8_step)(cur);
        sec_group8_finish(oth, &qu, k, e, w, ld, &limit);
        if (!cur->busy && !oth->busy)
            break;
    }
    return limit;
}

#undef SEC_FN
#undef SEC_TARGET
#undef SEC_INLINE
#undef SV_D
#undef SV_I
#undef SV_K
#undef SV_SET1
#undef SV_ZERO
#undef SV_LOAD
#undef SV_STORE
#undef SV_ADD
#undef SV_SUB
#undef SV_MUL
#undef SV_DIV
#undef SV_SQRT
#undef SV_MAX
#undef SV_ABS
#undef SV_NEG
#undef SV_RECIP
#undef SV_BLEND
#undef SV_ADD_MASK
#undef SV_MASKZ
#undef SV_LT
#undef SV_LE
#undef SV_GT
#undef SV_GE
#undef SV_EQ
#undef SI_SET1
#undef SI_LOAD
#undef SI_STORE
#undef SI_LT
#undef SI_GE
#undef SI_ODD
#undef SI_INC
#undef SK_AND
#undef SK_ANDN
#undef SK_OR
#undef SK_ANY
#undef SK_BITS
#undef SK_FROM
