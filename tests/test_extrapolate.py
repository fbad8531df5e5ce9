"""Tests of fgrkern.extrapolate: the weighted least-squares limit N -> infinity.

Expected values come from closed-form weighted least squares (2 and 3 points),
numpy.polyfit as an independent solver, the sampling laws of the estimator
(normal pulls, chi-squared goodness of fit: Monte Carlo with KS tests that are
shown to reject wrong error scalings), and Eq. (4)/(5) for a real GUE run.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import fgrkern
from fgrkern import LevelDotModel, SimulationResult, extrapolate, simulate, theory

TAU = np.array([0.1, 0.5, 1.0, 2.0])


def make(n, mean, sem, p_res=0.5, p_res_sem=0.01, p_res_cov=None, *, gamma=4.6, tau=TAU,
         symmetry="GUE", lam=1.0, eps0=0.0, bath="wigner-dyson", seed=None, n_samples=1000, **model_extra):
    """A SimulationResult as simulate() would return it for size n (arrays given directly)."""
    mean = np.array(mean, dtype=float)
    sem = np.broadcast_to(np.array(sem, dtype=float), mean.shape).copy()
    vector = np.ndim(gamma) > 0
    gam = np.array(gamma, dtype=float)
    p_res = np.array(p_res, dtype=float) if vector else float(p_res)
    p_res_sem = np.broadcast_to(np.array(p_res_sem, dtype=float), gam.shape).copy() if vector else float(p_res_sem)
    if p_res_cov is None:
        p_res_cov = np.diag(p_res_sem ** 2) if vector else p_res_sem ** 2
    model = {"class": "fgrkern.model.LevelDotModel", "n": int(n), "g": (gam / n).tolist(), "symmetry": symmetry,
             "lam": lam, "eps0": eps0, "bath": bath, "bath_levels": None, "gamma": gam.tolist(),
             "nu": n / (np.pi * lam), "heisenberg_time": 2 * n / lam}
    model.update(model_extra)
    meta = {"model": model, "method": "secular", "chunk_size": 32,
            "seed": {"entropy": str(n if seed is None else seed), "spawn_key": [], "pool_size": 4},
            "common_random_numbers": vector}
    tau = np.array(tau, dtype=float)
    return SimulationResult(tau=tau, t=tau * 2 * n / lam, mean=mean, sem=sem, std=sem * np.sqrt(n_samples),
                            n_samples=n_samples, p_res=p_res, p_res_sem=p_res_sem, p_res_cov=p_res_cov,
                            g=gam / n if vector else float(gam) / n, gamma=gam if vector else float(gam),
                            metadata=meta)


def line(a, b, n, c=0.0):
    return a + b / n + c / n ** 2


# --------------------------------------------------------------------------
# exact recovery and closed forms
# --------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
def test_exact_polynomial_is_recovered(order):
    a = np.array([0.9, 0.4, 0.21, 0.2])
    b = np.array([-3.0, 1.0, 7.5, 20.0])
    c = np.array([40.0, -100.0, 0.0, 300.0]) if order == 2 else np.zeros(4)
    sizes = (125, 249, 499, 999, 1999)
    runs = [make(n, line(a, b, n, c), sem=0.01 * np.sqrt(n / 125), p_res=line(0.3, 9.0, n, c[0]))
            for n in sizes]
    lim = extrapolate(runs, order=order)
    np.testing.assert_allclose(lim.mean, a, rtol=1e-12, atol=1e-13)
    assert lim.p_res == pytest.approx(0.3, rel=1e-12)
    rec = lim.extrapolation
    assert rec["order"] == order and rec["dof"] == 5 - order - 1 and not rec["exact"]
    assert rec["sizes"] == list(sizes)
    coef = rec["coef"]
    assert coef.shape == (4, order + 1)
    np.testing.assert_allclose(coef[:, 1], b, rtol=1e-9, atol=1e-9)
    if order == 2:
        np.testing.assert_allclose(coef[:, 2], c, rtol=1e-7, atol=1e-6)
    assert np.all(rec["chi2"] < 1e-18)
    assert rec["p_res_coef"][1] == pytest.approx(9.0, rel=1e-9)
    # the extrapolated result describes the limit
    assert lim.g == 0.0 and lim.gamma == 4.6 and lim.n_samples == 5000
    assert np.all(np.isinf(lim.t)) and np.all(np.isnan(lim.std))
    assert lim.model_params["n"] is None and lim.model_params["symmetry"] == "GUE"
    assert lim.metadata["method"] == "extrapolate"


def test_two_sizes_exact_fit_closed_form():
    """Two sizes, order 1: a = (N1 y1 - N2 y2)/(N1 - N2), whatever the weights."""
    n1, n2 = 250, 1000
    y1, y2 = np.array([0.3, 0.2, 0.11, 0.5]), np.array([0.28, 0.21, 0.1, 0.52])
    s1, s2 = np.array([0.01, 0.002, 0.003, 0.05]), np.array([0.02, 0.001, 0.004, 0.01])
    # two couplings with correlated p_res (common random numbers within a size)
    c1 = np.array([[4e-4, 3e-4], [3e-4, 9e-4]])
    c2 = np.array([[1e-4, -5e-5], [-5e-5, 4e-4]])
    pr1, pr2 = np.array([0.52, 0.31]), np.array([0.5, 0.3])
    r1 = make(n1, np.stack([y1, y1 + 0.1]), np.stack([s1, s1]), pr1, np.sqrt(np.diag(c1)), c1, gamma=[0.46, 4.6])
    r2 = make(n2, np.stack([y2, y2 + 0.2]), np.stack([s2, s2]), pr2, np.sqrt(np.diag(c2)), c2, gamma=[0.46, 4.6])
    lim = extrapolate([r2, r1])
    d = n1 - n2
    np.testing.assert_allclose(lim.mean[0], (n1 * y1 - n2 * y2) / d, rtol=1e-12)
    np.testing.assert_allclose(lim.mean[1], (n1 * (y1 + 0.1) - n2 * (y2 + 0.2)) / d, rtol=1e-12)
    np.testing.assert_allclose(lim.sem[0], np.sqrt(n1 ** 2 * s1 ** 2 + n2 ** 2 * s2 ** 2) / abs(d), rtol=1e-12)
    np.testing.assert_allclose(lim.p_res, (n1 * pr1 - n2 * pr2) / d, rtol=1e-12)
    np.testing.assert_allclose(lim.p_res_cov, (n1 ** 2 * c1 + n2 ** 2 * c2) / d ** 2, rtol=1e-12)
    np.testing.assert_allclose(lim.p_res_sem, np.sqrt(np.diag(lim.p_res_cov)), rtol=1e-15)
    rec = lim.extrapolation
    assert rec["exact"] and rec["dof"] == 0
    assert np.all(rec["chi2"] == 0) and np.all(rec["p_res_chi2"] == 0)
    # slope b = (y1 - y2) / (1/N1 - 1/N2)
    np.testing.assert_allclose(rec["coef"][0, :, 1], (y1 - y2) / (1 / n1 - 1 / n2), rtol=1e-10)


def test_three_sizes_closed_form_weighted_line():
    """Order 1 with three sizes: the textbook weighted straight line and its covariance."""
    rng = np.random.default_rng(5)
    ns = np.array([126.0, 500.0, 2000.0])
    x = 1 / ns
    y = rng.uniform(0.1, 0.5, (3, 2, 4))
    s = rng.uniform(0.001, 0.02, (3, 2, 4))
    ps = rng.uniform(0.005, 0.02, (3, 2))
    covs = []
    for k in range(3):
        rho = rng.uniform(-0.9, 0.9)
        covs.append(np.array([[ps[k, 0] ** 2, rho * ps[k, 0] * ps[k, 1]], [rho * ps[k, 0] * ps[k, 1], ps[k, 1] ** 2]]))
    pr = rng.uniform(0.2, 0.6, (3, 2))
    runs = [make(int(ns[k]), y[k], s[k], pr[k], ps[k], covs[k], gamma=[1.0, 10.0]) for k in range(3)]
    lim = extrapolate(runs)

    def closed(yy, ss):
        w = 1 / ss ** 2
        xx = x.reshape((3,) + (1,) * (yy.ndim - 1))
        S, Sx, Sxx = w.sum(0), (w * xx).sum(0), (w * xx ** 2).sum(0)
        Sy, Sxy = (w * yy).sum(0), (w * xx * yy).sum(0)
        D = S * Sxx - Sx ** 2
        a = (Sxx * Sy - Sx * Sxy) / D
        b = (S * Sxy - Sx * Sy) / D
        chi2 = (w * (yy - a - b * xx) ** 2).sum(0)
        ck = w * (Sxx - Sx * xx) / D  # a = sum_k ck yk
        return a, np.sqrt(Sxx / D), chi2, ck

    a, se, chi2, _ = closed(y.reshape(3, -1), s.reshape(3, -1))
    np.testing.assert_allclose(lim.mean.ravel(), a, rtol=1e-11)
    np.testing.assert_allclose(lim.sem.ravel(), se, rtol=1e-11)
    np.testing.assert_allclose(lim.extrapolation["chi2"].ravel(), chi2, rtol=1e-8, atol=1e-14)
    assert lim.extrapolation["dof"] == 1
    pa, pse, pchi2, ck = closed(pr, ps)
    np.testing.assert_allclose(lim.p_res, pa, rtol=1e-11)
    np.testing.assert_allclose(lim.p_res_sem, pse, rtol=1e-11)
    np.testing.assert_allclose(lim.extrapolation["p_res_chi2"], pchi2, rtol=1e-8)
    want = sum(np.outer(ck[k], ck[k]) * covs[k] for k in range(3))
    np.testing.assert_allclose(lim.p_res_cov, want, rtol=1e-10)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_agrees_with_numpy_polyfit(order):
    """Coefficients and their unscaled covariance equal numpy.polyfit's (an independent solver)."""
    rng = np.random.default_rng(order)
    ns = np.array([50, 90, 200, 333, 700, 1500])
    y = rng.normal(0.3, 0.05, (6, 4))
    s = rng.uniform(0.002, 0.03, (6, 4))
    lim = extrapolate([make(int(n), y[k], s[k]) for k, n in enumerate(ns)], order=order)
    rec = lim.extrapolation
    for j in range(4):
        p, cov = np.polyfit(1 / ns, y[:, j], order, w=1 / s[:, j], cov="unscaled")
        np.testing.assert_allclose(rec["coef"][j], p[::-1], rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(rec["coef_sem"][j], np.sqrt(np.diag(cov))[::-1], rtol=1e-7)
        resid = (y[:, j] - np.polyval(p, 1 / ns)) / s[:, j]
        assert rec["chi2"][j] == pytest.approx(resid @ resid, rel=1e-6)
    assert rec["dof"] == 6 - order - 1


# --------------------------------------------------------------------------
# sampling laws (Monte Carlo): pulls are N(0, 1), chi2 follows chi2_dof
# --------------------------------------------------------------------------

REPLICAS = 40_000  # independent fits, one per "tau" column


def _synthetic_replicas(order, seed):
    rng = np.random.default_rng(seed)
    ns = np.array([125, 250, 500, 1000, 2000])
    a, b, c = 0.3, 6.0, (-400.0 if order == 2 else 0.0)
    sig = 0.004 * np.sqrt(ns / 125.0)  # larger N, fewer samples: larger errors
    tau = np.arange(1, REPLICAS + 1, dtype=float)
    runs = [make(int(n), line(a, b, n, c) + sig[k] * rng.standard_normal(REPLICAS), np.full(REPLICAS, sig[k]),
                 tau=tau) for k, n in enumerate(ns)]
    lim = extrapolate(runs, order=order)
    return (lim.mean - a) / lim.sem, lim.extrapolation["chi2"], lim.extrapolation["dof"]


@pytest.mark.parametrize("order", [1, 2])
def test_pulls_are_standard_normal_and_chi2_follows_its_law(order):
    pull, chi2, dof = _synthetic_replicas(order, seed=100 + order)
    assert dof == 5 - order - 1
    assert stats.kstest(pull, "norm").pvalue > 1e-3
    assert stats.kstest(chi2, "chi2", args=(dof,)).pvalue > 1e-3
    # the same tests reject error bars off by 10 % and a chi2 with the wrong dof:
    assert stats.kstest(pull * 1.1, "norm").pvalue < 1e-6
    assert stats.kstest(pull / 1.1, "norm").pvalue < 1e-6
    assert stats.kstest(chi2, "chi2", args=(dof + 1,)).pvalue < 1e-6
    assert stats.kstest(chi2, "chi2", args=(dof - 1,) if dof > 1 else (dof + 2,)).pvalue < 1e-6


def test_pulls_reject_a_missing_term():
    """Data with a 1/N^2 term fitted with order 1: biased pulls and a chi2 excess, detected."""
    pull, chi2, dof = _synthetic_replicas(order=2, seed=7)  # data have c = -400 ...
    rng = np.random.default_rng(8)
    ns = np.array([125, 250, 500, 1000, 2000])
    sig = 0.004 * np.sqrt(ns / 125.0)
    tau = np.arange(1, 4001, dtype=float)
    runs = [make(int(n), line(0.3, 6.0, n, -400.0) + sig[k] * rng.standard_normal(4000), np.full(4000, sig[k]),
                 tau=tau) for k, n in enumerate(ns)]
    lim = extrapolate(runs, order=1)  # ... fitted without it
    p1 = (lim.mean - 0.3) / lim.sem
    assert stats.kstest(p1, "norm").pvalue < 1e-6
    assert stats.kstest(lim.extrapolation["chi2"], "chi2", args=(3,)).pvalue < 1e-6
    assert stats.kstest(pull, "norm").pvalue > 1e-3  # order 2 is right


def test_p_res_covariance_across_couplings_monte_carlo():
    """Correlated p_res at two couplings: the propagated covariance is the sampling covariance.

    d^2 = r^T C^-1 r of the intercept errors r follows chi2 with 2 dof only if
    the whole 2x2 covariance (including the correlation) is right.
    """
    rng = np.random.default_rng(11)
    ns = [126, 250, 500, 1000]
    sd = np.array([[0.004, 0.01], [0.005, 0.012], [0.007, 0.015], [0.01, 0.02]])
    rho = [0.9, 0.8, 0.95, 0.7]
    covs = [np.array([[s[0] ** 2, r * s[0] * s[1]], [r * s[0] * s[1], s[1] ** 2]]) for s, r in zip(sd, rho)]
    truth = np.array([0.6, 0.2])
    slope = np.array([20.0, 50.0])
    d2, d2_diag = [], []
    for _ in range(1500):
        runs = []
        for k, n in enumerate(ns):
            p = truth + slope / n + rng.multivariate_normal(np.zeros(2), covs[k])
            runs.append(make(n, np.zeros((2, 1)), np.ones((2, 1)), p, sd[k], covs[k], gamma=[0.46, 46.0], tau=[1.0]))
        lim = extrapolate(runs)
        r = lim.p_res - truth
        d2.append(r @ np.linalg.solve(lim.p_res_cov, r))
        d2_diag.append(r @ (r / np.diag(lim.p_res_cov)))
    assert stats.kstest(d2, "chi2", args=(2,)).pvalue > 1e-3
    # ignoring the correlation (diagonal covariance) is detected
    assert stats.kstest(d2_diag, "chi2", args=(2,)).pvalue < 1e-6


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

_sizes = st.lists(st.integers(20, 5000), min_size=3, max_size=6, unique=True)


@settings(max_examples=60, deadline=None)
@given(sizes=_sizes, seed=st.integers(0, 2**32 - 1), order=st.integers(1, 2), data=st.data())
def test_permutation_invariance(sizes, seed, order, data):
    rng = np.random.default_rng(seed)
    runs = [make(n, rng.uniform(0, 1, 4), rng.uniform(1e-3, 0.1, 4), rng.uniform(0, 1), rng.uniform(1e-3, 0.1))
            for n in sizes]
    perm = data.draw(st.permutations(range(len(runs))))
    a, b = extrapolate(runs, order), extrapolate([runs[i] for i in perm], order)
    for k in ("mean", "sem", "p_res", "p_res_sem", "p_res_cov"):
        assert np.asarray(getattr(a, k)).tobytes() == np.asarray(getattr(b, k)).tobytes(), k
    assert a.extrapolation["sizes"] == sorted(sizes)
    assert np.array_equal(a.extrapolation["chi2"], b.extrapolation["chi2"])


@settings(max_examples=60, deadline=None)
@given(sizes=_sizes, seed=st.integers(0, 2**32 - 1), shift=st.floats(-10, 10), slope=st.floats(-100, 100),
       order=st.integers(1, 2))
def test_shift_moves_intercept_and_slope_moves_only_slope(sizes, seed, shift, slope, order):
    """Adding c to every estimate adds c to the limit; adding d/N leaves the limit alone."""
    rng = np.random.default_rng(seed)
    ys = [rng.uniform(0, 1, 4) for _ in sizes]
    ss = [rng.uniform(1e-3, 0.1, 4) for _ in sizes]
    base = extrapolate([make(n, y, s) for n, y, s in zip(sizes, ys, ss)], order)
    shifted = extrapolate([make(n, y + shift, s) for n, y, s in zip(sizes, ys, ss)], order)
    tilted = extrapolate([make(n, y + slope / n, s) for n, y, s in zip(sizes, ys, ss)], order)
    tol = 1e-9 * (1 + abs(shift) + abs(slope) / min(sizes)) * np.max(base.sem / np.min(ss))
    np.testing.assert_allclose(shifted.mean, base.mean + shift, rtol=0, atol=tol)
    np.testing.assert_allclose(tilted.mean, base.mean, rtol=0, atol=tol)
    np.testing.assert_allclose(shifted.sem, base.sem, rtol=1e-12)
    np.testing.assert_allclose(tilted.extrapolation["coef"][:, 1], base.extrapolation["coef"][:, 1] + slope,
                               rtol=1e-7, atol=1e-7 * (1 + abs(slope)) * np.max(base.extrapolation["coef_sem"][:, 1]
                                                                                  / np.min(ss)))
    if len(sizes) > order + 1:
        np.testing.assert_allclose(shifted.extrapolation["chi2"], base.extrapolation["chi2"], rtol=1e-6, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(sizes=_sizes, seed=st.integers(0, 2**32 - 1), k=st.integers(-1000, 1000), order=st.integers(1, 2))
def test_errors_scaled_by_a_power_of_two_scale_the_fit_exactly(sizes, seed, k, order):
    """Weighted least squares depends on the errors only through their ratios:
    errors times 2^k leave the limit bitwise unchanged and multiply its error
    by exactly 2^k and chi^2 by 4^-k, at any k where they stay normal doubles
    (1/s and the covariance ~s^2 leave the double range long before) and
    above the means' rounding (errors below 4 eps |mean| are raised to that
    floor): for k < -30 the means are scaled by 2^(k + 30) (keeping errors above
    ~1e-12 of them, and the means far from subnormal)."""
    rng = np.random.default_rng(seed)
    ys = [rng.uniform(0, 1, 4) * 2.0 ** min(k + 30, 0) for _ in sizes]
    ss = [rng.uniform(1e-3, 0.1, 4) for _ in sizes]
    base = extrapolate([make(n, y, s) for n, y, s in zip(sizes, ys, ss)], order)
    f = 2.0**k
    got = extrapolate([make(n, y, s * f) for n, y, s in zip(sizes, ys, ss)], order)
    assert got.mean.tobytes() == base.mean.tobytes()
    np.testing.assert_array_equal(got.sem, base.sem * f)
    np.testing.assert_array_equal(np.array(got.extrapolation["coef_sem"]),
                                  np.array(base.extrapolation["coef_sem"]) * f)
    chi2_base = np.array(base.extrapolation["chi2"])
    with np.errstate(over="ignore", under="ignore"):
        want = np.ldexp(chi2_base, -2 * k)
    chi2 = np.array(got.extrapolation["chi2"])
    # exact while the squared residuals are normal numbers in both fits; near
    # the underflow threshold some of them are subnormal and keep fewer digits
    # (for k < -30 the means, and so the residuals of the unscaled fit, are
    # small: its chi^2 can be ~1e-307 while the scaled fit's is ~1e19)
    wide = np.isfinite(want) & (want >= 1e-250) & (chi2_base >= 1e-250)
    np.testing.assert_array_equal(chi2[wide], want[wide])
    # (a subnormal term's absolute error, <= 2^-1075, is then far below 1e-15 of chi^2)
    normal = np.isfinite(want) & (want >= np.finfo(float).tiny) & (chi2_base >= 1e-290)
    np.testing.assert_allclose(chi2[normal], want[normal], rtol=1e-15, atol=0)
    assert np.all(chi2[np.isinf(want)] == np.inf)
    if k < -30:
        # where the unscaled fit's squares underflow: chi^2 depends only on the
        # ratios of means and errors, so scaling both by 2^-k (means y 2^30,
        # errors s: every square normal) must give the same chi^2, bitwise
        ref = extrapolate([make(n, y * 2.0**-k, s) for n, y, s in zip(sizes, ys, ss)], order)
        np.testing.assert_array_equal(chi2, np.array(ref.extrapolation["chi2"]))


def test_errors_too_disparate_for_double_precision_are_refused():
    """One size with an error 1e-11 (or a subnormal 5e-324) of the others':
    the most precise size's residual would be its rounding over its error."""
    sizes = [250, 500, 1000]
    ys = [np.full(4, 0.5 + 1 / n) for n in sizes]
    for tiny in (1e-13, 5e-324):
        ss = [np.full(4, 0.01) for _ in sizes]
        ss[1][2] = tiny
        with pytest.raises(ValueError, match=r"mean/sem: point 2: .* differ by more than a factor 1e\+10"):
            extrapolate([make(n, y, s) for n, y, s in zip(sizes, ys, ss)])
        # (a subnormal p_res_sem is refused before: its square, the variance, is 0)
        with pytest.raises(ValueError, match=r"p_res/p_res_sem: point 0: .* differ by more than a factor"
                           if tiny > 1e-300 else r"results\[1\]\.p_res_sem: 5e-324 squared"):
            extrapolate([make(n, y, 0.01, p_res_sem=tiny if n == 500 else 1e-2) for n, y in zip(sizes, ys)])
    # within the factor: the exact line through the three points, its limit 0.5
    ss = [np.full(4, 0.01) for _ in sizes]
    ss[1][2] = 2e-12
    r = extrapolate([make(n, y, s) for n, y, s in zip(sizes, ys, ss)])
    np.testing.assert_allclose(r.mean, 0.5, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(r.sem)) and np.all(r.sem > 0)


@pytest.mark.parametrize("p_res_sem", [1e-160, 1e-200])
def test_a_p_res_variance_below_the_double_range_is_refused(p_res_sem):
    """p_res_cov = p_res_sem^2 is subnormal or 0: the intercept's error would
    come out wrong (or 0), so the result names p_res_sem instead."""
    runs = [make(n, np.full(4, 0.5), 0.01, p_res_sem=p_res_sem) for n in (250, 500, 1000)]
    with pytest.raises(ValueError, match="p_res_sem: 1e-..0 squared"):
        extrapolate(runs)


# --------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------


def _pair(**kw):
    return [make(250, [0.3] * 4, 0.01), make(500, [0.29] * 4, 0.01, **kw)]


@pytest.mark.parametrize("kw, match", [
    (dict(symmetry="GOE"), "differs from results\\[0\\] in symmetry"),
    (dict(bath="poisson"), "differs from results\\[0\\] in bath"),
    (dict(lam=2.0), "differs from results\\[0\\] in lam"),
    (dict(eps0=0.1), "differs from results\\[0\\] in eps0"),
    (dict(**{"class": "mypkg.OtherModel"}), "differs from results\\[0\\] in class"),
    (dict(gamma=4.7), "differs from results\\[0\\] in gamma"),
    (dict(tau=TAU * 1.01), "tau grid: tau\\[0\\]"),
])
def test_mismatched_family_is_refused(kw, match):
    with pytest.raises(ValueError, match="results\\[1\\] " + match if "tau" not in match else match):
        extrapolate(_pair(**kw))


def test_mismatched_shapes_are_refused():
    a = make(250, [0.3] * 4, 0.01)
    with pytest.raises(ValueError, match="tau grid: 3 points != 4"):
        extrapolate([a, make(500, [0.3] * 3, 0.01, tau=TAU[:3])])
    two = make(500, np.full((2, 4), 0.3), 0.01, [0.5, 0.5], 0.01, gamma=[4.6, 4.6])
    with pytest.raises(ValueError, match="number of gamma values differs"):
        extrapolate([a, two])
    with pytest.raises(ValueError, match="gamma\\[1\\]"):
        extrapolate([two, make(1000, np.full((2, 4), 0.3), 0.01, [0.5, 0.5], 0.01, gamma=[4.6, 46.0])])
    one = make(500, np.full((1, 4), 0.3), 0.01, [0.5], 0.01, gamma=[4.6])
    with pytest.raises(ValueError, match="results\\[1\\] was simulated with an array of gammas.*results\\[0\\] with a scalar"):
        extrapolate([a, one])
    bad = dataclasses.replace(make(500, [0.3] * 4, 0.01), sem=np.full(3, 0.01))
    with pytest.raises(ValueError, match="results\\[1\\].sem has shape"):
        extrapolate([a, bad])
    bad = dataclasses.replace(two, p_res_sem=np.array([0.01, 0.01, 0.01]))
    with pytest.raises(ValueError, match="p_res_sem has shape"):
        extrapolate([bad, make(250, np.full((2, 4), 0.3), 0.01, [0.5, 0.5], 0.01, gamma=[4.6, 4.6])])
    bad = dataclasses.replace(two, p_res_cov=np.eye(2))
    with pytest.raises(ValueError, match="diagonal of p_res_cov"):
        extrapolate([bad, make(250, np.full((2, 4), 0.3), 0.01, [0.5, 0.5], 0.01, gamma=[4.6, 4.6])])


def test_sizes_and_order_are_checked():
    with pytest.raises(ValueError, match="results\\[0\\] and results\\[2\\] have the same size n = 250"):
        extrapolate([make(250, [0.3] * 4, 0.01), make(500, [0.3] * 4, 0.01), make(250, [0.3] * 4, 0.01, seed=9)])
    with pytest.raises(ValueError, match="2 distinct size.*order 2.*at least 3"):
        extrapolate(_pair(), order=2)
    with pytest.raises(ValueError, match="1 distinct size.*at least 2"):
        extrapolate([make(250, [0.3] * 4, 0.01)])
    with pytest.raises(ValueError, match="0 distinct size"):
        extrapolate([])
    with pytest.raises(ValueError, match="order must be >= 1"):
        extrapolate(_pair(), order=0)
    for bad in (True, 1.0, "1", None):
        with pytest.raises(TypeError, match="order"):
            extrapolate(_pair(), order=bad)
    # absurd order: a clear error, not a huge allocation
    with pytest.raises(ValueError, match="at least 1000001"):
        extrapolate(_pair(), order=10**6)


def test_bad_containers_are_refused():
    r = make(250, [0.3] * 4, 0.01)
    with pytest.raises(TypeError, match="single SimulationResult"):
        extrapolate(r)
    for bad in (None, 3, "results", {"a": r}):
        with pytest.raises(TypeError, match="sequence of SimulationResult"):
            extrapolate(bad)
    with pytest.raises(TypeError, match="results\\[1\\] must be a SimulationResult, got dict"):
        extrapolate([r, {"mean": [0.3] * 4}])
    # generators are accepted
    assert extrapolate(x for x in _pair()).extrapolation["sizes"] == [250, 500]


@pytest.mark.parametrize("field, value, match", [
    ("sem", [0.01, np.nan, 0.01, 0.01], "results\\[1\\].sem contains NaN"),
    ("sem", [0.01, np.inf, 0.01, 0.01], "results\\[1\\].sem contains NaN or infinite"),
    ("sem", [0.01, -0.01, 0.01, 0.01], "negative standard errors"),
    ("sem", [0.01, 0.0, 0.01, 0.01], "point 1 has a zero standard error at some sizes"),
    ("mean", [0.3, np.nan, 0.3, 0.3], "results\\[1\\].mean contains NaN"),
    ("mean", [0.3, 0.3, -np.inf, 0.3], "results\\[1\\].mean contains NaN or infinite values \\(first at index \\(2,\\)"),
    ("p_res", np.nan, "results\\[1\\].p_res contains NaN"),
    ("p_res_sem", np.nan, "results\\[1\\].p_res_sem contains NaN"),
    ("p_res_sem", 0.0, "zero standard error"),
])
def test_bad_values_are_refused(field, value, match):
    runs = _pair()
    if field == "p_res_sem":
        runs[1] = dataclasses.replace(runs[1], p_res_sem=value, p_res_cov=value ** 2)
    else:
        runs[1] = dataclasses.replace(runs[1], **{field: np.array(value, dtype=float) if np.ndim(value) else value})
    with pytest.raises(ValueError, match=match):
        extrapolate(runs)


@pytest.mark.parametrize("field, value", [
    ("mean", np.array([0.3 + 1j] * 4)), ("mean", np.array(["0.3"] * 4)), ("sem", np.array([True] * 4)),
    ("p_res", "0.5"), ("mean", np.array([None] * 4)),
])
def test_non_real_values_are_refused(field, value):
    runs = _pair()
    runs[1] = dataclasses.replace(runs[1], **{field: value})
    with pytest.raises(TypeError, match=f"results\\[1\\].{field}"):
        extrapolate(runs)


def test_records_that_are_no_family_are_refused():
    a = make(250, [0.3] * 4, 0.01)
    b = make(500, [0.3] * 4, 0.01)
    lim = extrapolate([a, b])
    with pytest.raises(ValueError, match="results\\[1\\] is already an N -> infinity extrapolation"):
        extrapolate([a, lim, make(1000, [0.3] * 4, 0.01)])
    with pytest.raises(ValueError, match="results\\[0\\] has no model record"):
        extrapolate([dataclasses.replace(a, metadata={}), b])
    for n in (0, -5, 2.5, "500", True):
        b_bad = make(500, [0.3] * 4, 0.01)
        b_bad.metadata["model"]["n"] = n
        with pytest.raises(ValueError, match="results\\[1\\] has no valid size"):
            extrapolate([a, b_bad])
    with pytest.raises(ValueError, match="given bath levels"):
        extrapolate([make(250, [0.3] * 4, 0.01, bath="given"), make(500, [0.3] * 4, 0.01, bath="given")])


def test_errors_below_the_rounding_of_the_means_are_floored():
    """P(tau = 0) = 1.0 at every size with a sem of ~2e-17 (rounding noise of
    (sum w)^2): the fit of constant data is that constant to rounding with chi^2
    well below its dof, not rounding over a 2e-17 error (chi^2 = 192 before);
    the limit's error is that of errors at the floor 4 eps."""
    tau = np.array([0.0, 1.0])
    sizes = (10, 20, 40, 80)
    runs = [make(n, [1.0, 0.3 + 1 / n], [2.3e-17, 0.01], tau=tau) for n in sizes]
    lim = extrapolate(runs)
    assert abs(lim.mean[0] - 1.0) <= 4 * np.finfo(float).eps
    assert lim.extrapolation["chi2"][0] < 1.0
    floor = 4 * np.finfo(float).eps
    x = 1.0 / np.array(sizes, dtype=float)
    # intercept error of an unweighted line fit with equal errors `floor`
    want = floor * np.sqrt(np.sum(x**2) / (len(x) * np.sum(x**2) - np.sum(x) ** 2))
    assert lim.sem[0] == pytest.approx(want, rel=1e-12)
    assert lim.mean[1] == pytest.approx(0.3, abs=1e-12)
    # errors at or above the floor are used as given: the same bits as before
    above = [make(n, [1.0, 0.3 + 1 / n], [floor * (1 + n / 100), 0.01], tau=tau) for n in sizes]
    fit = extrapolate(above)
    w = 1.0 / np.array([floor * (1 + n / 100) for n in sizes]) ** 2
    want = np.sqrt(np.sum(w * x**2) / (np.sum(w) * np.sum(w * x**2) - np.sum(w * x) ** 2))
    assert fit.sem[0] == pytest.approx(want, rel=1e-12)


def test_deterministic_points_pass_through_or_are_refused():
    """P(tau = 0) = 1 with zero error at every size: kept exactly; differing exact values: refused."""
    tau = np.array([0.0, 1.0])
    runs = [make(n, [1.0, 0.3 + 1 / n], [0.0, 0.01], tau=tau) for n in (100, 200, 400)]
    lim = extrapolate(runs)
    assert lim.mean[0] == 1.0 and lim.sem[0] == 0.0 and lim.extrapolation["chi2"][0] == 0.0
    assert lim.t[0] == 0.0 and np.isinf(lim.t[1])
    assert lim.mean[1] == pytest.approx(0.3, abs=1e-12)
    runs[2] = make(400, [0.9, 0.3], [0.0, 0.01], tau=tau)
    with pytest.raises(ValueError, match="point 0 has zero standard errors but different values"):
        extrapolate(runs)


def test_shared_seed_warns():
    with pytest.warns(UserWarning, match="results\\[0\\] and results\\[1\\] were simulated with the same seed"):
        extrapolate([make(250, [0.3] * 4, 0.01, seed=1), make(500, [0.3] * 4, 0.01, seed=1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extrapolate(_pair())


# --------------------------------------------------------------------------
# persistence
# --------------------------------------------------------------------------


def _runs_for_file_tests(seed, vector):
    """Three synthetic sizes, one coupling or two (``vector``)."""
    rng = np.random.default_rng(seed)
    if vector:
        runs = [make(n, rng.uniform(0, 1, (2, 4)), 0.01, rng.uniform(0, 1, 2), 0.01, gamma=[0.46, 4.6])
                for n in (100, 300, 900)]
    else:
        runs = [make(n, rng.uniform(0, 1, 4), 0.01, rng.uniform(0, 1)) for n in (100, 300, 900)]
    return runs


@pytest.mark.parametrize("vector", [False, True])
def test_save_load_round_trip_keeps_the_fit_record(tmp_path, vector):
    runs = _runs_for_file_tests(3, vector)
    lim = extrapolate(runs)
    lim.save(tmp_path / "lim.npz")
    back = SimulationResult.load(tmp_path / "lim.npz")
    for k in ("tau", "t", "mean", "sem", "std", "p_res", "p_res_sem", "p_res_cov", "g", "gamma"):
        x, y = np.asarray(getattr(lim, k)), np.asarray(getattr(back, k))
        assert x.shape == y.shape and x.tobytes() == y.tobytes(), k
    assert back.n_samples == lim.n_samples
    r0, r1 = lim.extrapolation, back.extrapolation
    assert r0.keys() == r1.keys()
    for k in r0:
        if isinstance(r0[k], np.ndarray):
            assert r0[k].tobytes() == r1[k].tobytes() and r0[k].shape == r1[k].shape, k
        else:
            assert r0[k] == r1[k], k
    # readable without fgrkern, as plain JSON
    meta = json.loads(str(np.load(tmp_path / "lim.npz")["metadata"][()]))
    assert meta["extrapolation"]["sizes"] == [100, 300, 900]
    # a plain simulation has no fit record
    assert runs[0].extrapolation is None


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize("key,value", [("order", "a"), ("order", 0), ("sizes", [100]), ("dof", 5),
                                       ("exact", "no"), ("n_samples", [1]), ("chi2", [1.0, 2.0]),
                                       ("coef", "zz"), ("coef_sem", [[None]]), ("p_res_coef_cov", 1.0)])
def test_a_tampered_fit_record_is_refused_on_load(tmp_path, vector, key, value):
    # The record of a loaded file is untrusted like the rest of its metadata: a wrong type or shape
    # is one ValueError naming the file at load, not an error (or nonsense) when it is used later.
    runs = _runs_for_file_tests(4, vector)
    lim = extrapolate(runs)
    lim.metadata["extrapolation"][key] = value
    path = tmp_path / "lim.npz"
    lim.save(path)
    with pytest.raises(ValueError, match=f"lim.npz.*extrapolation.{key}"):
        SimulationResult.load(path)


# --------------------------------------------------------------------------
# a real model: GUE at small sizes against Eqs. (4) and (5)
# --------------------------------------------------------------------------


def test_gue_limit_matches_eq4_and_eq5():
    """gamma = 4: at N = 24 P_res exceeds Eq. (4) by ~10 %; the order-2 limit of
    N = 24, 48, 96 agrees with Eq. (4) and, at late times, Eq. (5)."""
    gamma = 4.0
    tau = np.array([0.6, 1.5, 4.0])  # tau >> 1/(2N): outside the non-universal short-time region
    runs = [simulate(LevelDotModel(n, gamma / n, "GUE"), tau, 3000, rng=1000 + n) for n in (24, 48, 96)]
    lim = extrapolate(runs, order=2)
    z_res = (lim.p_res - theory.p_res(gamma)) / lim.p_res_sem
    assert abs(z_res) < 4, z_res
    z = (lim.mean - theory.p_tau(tau, gamma)) / lim.sem
    assert np.all(np.abs(z) < 4), z
    # the test has power: the raw smallest size is many errors away from Eq. (4)
    raw = (runs[0].p_res - theory.p_res(gamma)) / runs[0].p_res_sem
    assert raw > 6, raw
    assert lim.extrapolation["sizes"] == [24, 48, 96] and lim.n_samples == 9000
    assert fgrkern.extrapolate is extrapolate
