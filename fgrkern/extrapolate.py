r"""The limit N -> infinity at fixed gamma of simulated survival probabilities.

Eqs. (4) and (5) of the paper are the joint limit :math:`N\to\infty`,
:math:`g\to 0` at fixed :math:`\gamma = gN`; a simulation at finite N differs
from them by corrections in powers of :math:`1/N` (:math:`O(\gamma/N)`
relative, footnote [26] of the paper).  :func:`extrapolate` removes them by a
weighted least-squares fit in :math:`1/N` of results at several sizes.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterable

import numpy as np

from ._validation import as_float_array, check_positive_int
from ._version import __version__
from .result import SimulationResult

__all__ = ["extrapolate"]

#: Model parameters that must agree between the inputs (the "family").
_FAMILY_KEYS = ("class", "symmetry", "bath", "lam", "eps0")
#: Relative tolerance on gamma and tau: both are recomputed per size
#: (gamma = g * n with g = gamma / n), which can move the last bits.
_RTOL = 1e-9
#: Entries of the fit record that are arrays (JSON lists in the metadata).
_RECORD_ARRAYS = ("chi2", "coef", "coef_sem", "p_res_chi2", "p_res_coef", "p_res_coef_cov")


def extrapolate(results: Iterable[SimulationResult], order: int = 1) -> SimulationResult:
    r"""Extrapolate simulations at several sizes N to :math:`N\to\infty` at fixed :math:`\gamma` and :math:`\tau`.

    For every time point (and every coupling, if the results hold several) the
    estimates :math:`\bar P_k` at sizes :math:`N_k` are fitted by the
    polynomial of degree ``order`` in :math:`x = 1/N`,

    .. math:: P(N) = a + b/N \;(+\, c/N^2 + \dots),

    by weighted least squares with weights :math:`1/\mathrm{sem}_k^2`.  The
    intercept :math:`a` is the estimate of the limit, i.e. of Eq. (5) for
    ``mean`` (GUE) and Eq. (4) for ``p_res``; for GOE and GSE it is the
    finite-gamma curve of which Eq. (6) is the large-gamma form.  In matrix
    form, with :math:`X_{kj} = N_k^{-j}` (:math:`j = 0..` ``order``) and
    :math:`W = \mathrm{diag}(\mathrm{sem}_k^{-2})`,

    .. math::

        \hat\beta = (X^T W X)^{-1} X^T W \bar P,\qquad
        \mathrm{Cov}(\hat\beta) = (X^T W X)^{-1},\qquad
        \chi^2 = \sum_k (\bar P_k - (X\hat\beta)_k)^2/\mathrm{sem}_k^2,

    with :math:`\mathrm{dof} = K - (\mathrm{order} + 1)` for K sizes.  The
    covariance is exact for independent runs per size (distinct seeds) with
    known errors; it treats the sems as exact, which is accurate when each run
    has many samples.  If the model is right, :math:`(\hat a - a)/\mathrm{se}`
    is standard normal and :math:`\chi^2` follows the chi-squared law with
    ``dof`` degrees of freedom; a large :math:`\chi^2/\mathrm{dof}` says that
    ``order`` is too low for these sizes.  A standard error below
    :math:`4\epsilon|\bar P_k|` (:math:`\epsilon = 2^{-52}`), less than the
    rounding of the mean itself (e.g. at :math:`\tau = 0`, where
    :math:`P = (\sum_a w_a)^2 = 1` varies only by rounding), is raised to that
    value; zero errors mark exact points (below).

    Parameters
    ----------
    results : sequence of SimulationResult
        Results of :func:`fgrkern.simulate` for one model family -- the same
        symmetry class, bath kind (Wigner-Dyson or Poisson), :math:`\lambda`,
        :math:`\epsilon_0`, the same :math:`\gamma = gN` value(s) and the same
        grid :math:`\tau = t/t_H` -- at ``order + 1`` or more distinct sizes
        N (dot states, ``metadata["model"]["n"]``; for GSE this counts both
        Kramers partners), in any order.  Runs must be independent (distinct
        seeds); a shared seed triggers a ``UserWarning``.
    order : int, optional
        Degree of the polynomial in :math:`1/N` (default 1: :math:`a + b/N`).

    Returns
    -------
    SimulationResult
        The :math:`N\to\infty` estimates, same shapes as the inputs:

        - ``mean``, ``sem``: intercept :math:`\hat a(\tau)` and its standard
          error :math:`\sqrt{[(X^TWX)^{-1}]_{00}}` (dimensionless
          probabilities);
        - ``p_res``, ``p_res_sem``: the same for the residence probability;
          ``p_res_cov``: covariance of the intercepts across couplings,
          :math:`\sum_k L_{0k}(g) L_{0k}(h)\,\mathrm{Cov}_k(g, h)` with
          :math:`L = (X^TWX)^{-1}X^TW` the fit's linear map (couplings simulated
          on common random numbers stay correlated);
        - ``tau``: the common grid; ``t``: ``inf`` (0 at :math:`\tau = 0`),
          since :math:`t_H = 2N/\lambda\to\infty`; ``std``: NaN (no
          per-realisation spread exists for a limit); ``g``: 0 (the limit
          :math:`g = \gamma/N\to 0`); ``gamma``: the common value(s);
          ``n_samples``: the total number of realisations of all inputs;
        - ``metadata["model"]``: the family's parameters with ``n``, ``nu``
          and ``heisenberg_time`` set to None; ``metadata["method"]`` is
          ``"extrapolate"``; ``metadata["extrapolation"]`` is the fit record
          (see below), also returned with numpy arrays by the result's
          ``extrapolation`` attribute.  Everything is kept by ``save``/``load``.

        The fit record has ``order``, ``sizes`` (ascending), ``n_samples``
        and ``seeds`` per size, ``dof``, ``exact`` (``dof == 0``), and arrays
        ``chi2`` (shape of ``mean``), ``coef`` and ``coef_sem`` (shape of
        ``mean`` + (order + 1,): coefficients of :math:`N^{-j}`, j = 0..order),
        ``p_res_chi2`` (shape of ``p_res``), ``p_res_coef`` (shape of
        ``p_res`` + (order + 1,)) and ``p_res_coef_cov`` (+ (order + 1,
        order + 1)).

    Raises
    ------
    TypeError
        ``results`` is not an iterable of SimulationResult, or ``order`` is
        not an integer.
    ValueError
        The results differ in symmetry, bath, lam, eps0, gamma, the number of
        couplings or the tau grid (the message names the result and what
        differs); a size appears twice; fewer distinct sizes than
        ``order + 1``; ``order < 1``; a result without a finite-N model record
        (e.g. an extrapolation itself) or with given bath levels (no family in
        N); a NaN/infinite mean, or a standard error that is NaN, infinite,
        negative or zero where other sizes have a nonzero one; standard
        errors of one point that differ by more than a factor 1e10 between
        sizes (beyond what a fit in double precision resolves); a
        ``p_res_sem`` whose square, the variance, is below the normal double
        range (~1e-154 and less).  A common scale of the errors, however
        large or small, changes nothing but the scale of the output errors.

    Notes
    -----
    With exactly ``order + 1`` sizes the polynomial passes through every
    point: the fit is exact, ``dof = 0`` and ``chi2`` is reported as 0 (there
    is no goodness of fit to test).  A point whose standard error is 0 at every
    size (e.g. P at :math:`\tau = 0`, or :math:`g = 0`, where P is
    deterministic) is passed through when the values agree at every size
    (``sem = 0``, ``chi2 = 0``) and refused otherwise.

    ``chi2`` is per point: points of one curve share realisations and are
    correlated, so their chi2 values must not be summed into one statistic.
    The fit uses the scaled variable :math:`N_{\min}/N \in (0, 1]` (QR of the
    weighted design matrix) for numerical stability; coefficients are
    returned for :math:`N^{-j}` itself.

    Examples
    --------
    >>> import numpy as np, fgrkern as fk                        # doctest: +SKIP
    >>> tau = np.geomspace(1e-2, 10, 100)                        # doctest: +SKIP
    >>> runs = [fk.simulate(fk.LevelDotModel(n, 4.6 / n, "GUE"), tau, 4000, rng=n)
    ...         for n in (249, 499, 999)]                        # doctest: +SKIP
    >>> lim = fk.extrapolate(runs)                               # doctest: +SKIP
    >>> lim.p_res, lim.p_res_sem, fk.theory.p_res(4.6)           # doctest: +SKIP
    >>> lim.extrapolation["chi2"], lim.extrapolation["dof"]      # doctest: +SKIP
    """
    items = _collect(results)
    n_par = _check_order(order) + 1
    order = n_par - 1
    family, sizes = _check_family(items)
    if len(sizes) < n_par:
        raise ValueError(f"results: {len(sizes)} distinct size(s) {sorted(sizes)} cannot determine a polynomial "
                         f"of order {order} in 1/N ({n_par} coefficients); give at least {n_par} sizes")
    _warn_shared_seeds(items)

    order_idx = np.argsort(sizes, kind="stable")
    runs = [items[i] for i in order_idx]
    idx = [int(i) for i in order_idx]
    n = np.array([sizes[i] for i in order_idx], dtype=np.float64)
    x = n[0] / n  # scaled 1/N in (0, 1]
    # The fit is in x' = N_min/N: c'_j x'^j = (c'_j N_min^j) N^-j, so c_j = c'_j / scale_j.
    scale = n[0] ** -np.arange(n_par, dtype=np.float64)

    ref = runs[0]
    shape = np.shape(ref.mean)
    mean = np.stack([_finite(r.mean, "mean", i) for r, i in zip(runs, idx)])
    sem = np.stack([_sem(r.sem, "sem", i) for r, i in zip(runs, idx)])
    curve = _wls(x, mean.reshape(len(runs), -1), sem.reshape(len(runs), -1), n_par, "mean/sem")

    G = int(np.size(ref.p_res))
    res_fit, p_cov = _fit_p_res(runs, idx, x, n_par, G)

    coef = curve["coef"] / scale
    coef_sem = curve["sd"] / scale
    p_coef = res_fit["coef"] / scale
    p_coef_cov = res_fit["cov"] / np.outer(scale, scale)
    dof = len(runs) - n_par

    scalar_g = np.ndim(ref.p_res) == 0
    a = coef[:, 0].reshape(shape)
    se = coef_sem[:, 0].reshape(shape)
    p_sem = np.sqrt(np.diagonal(p_cov)).copy()
    tau = np.array(ref.tau, dtype=np.float64)
    t = np.where(tau > 0, np.inf, 0.0)  # t = tau t_H with t_H = 2N/lam -> inf
    gamma_val = float(ref.gamma) if scalar_g else np.array(ref.gamma, dtype=np.float64)

    record = _record(runs, order, n, dof, shape, scalar_g, curve, coef, coef_sem, res_fit, p_coef, p_coef_cov)
    model = dict(family)
    model.update(n=None, nu=None, heisenberg_time=None,
                 g=0.0 if scalar_g else [0.0] * G,
                 gamma=gamma_val if scalar_g else gamma_val.tolist())
    meta = {
        "model": model,
        "method": "extrapolate",
        "extrapolation": record,
        "common_random_numbers": any(bool(r.metadata.get("common_random_numbers")) for r in runs),
        "fgrkern_version": __version__,
        "numpy_version": np.__version__,
    }
    common = dict(tau=tau, t=t, mean=a, sem=se, std=np.full(shape, np.nan), metadata=meta,
                  n_samples=int(sum(r.n_samples for r in runs)))
    if scalar_g:
        return SimulationResult(p_res=float(p_coef[0, 0]), p_res_sem=float(p_sem[0]), p_res_cov=float(p_cov[0, 0]),
                                g=0.0, gamma=gamma_val, **common)
    return SimulationResult(p_res=p_coef[:, 0].copy(), p_res_sem=p_sem, p_res_cov=p_cov,
                            g=np.zeros(G), gamma=gamma_val, **common)


def _fit_p_res(runs: list[SimulationResult], idx: list[int], x: np.ndarray, n_par: int,
               G: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Weighted fit of P_res against x = N_min/N per coupling, and the covariance of its intercepts."""
    pr = np.stack([np.atleast_1d(_finite(r.p_res, "p_res", i)) for r, i in zip(runs, idx)])
    prs = np.stack([np.atleast_1d(_sem(r.p_res_sem, "p_res_sem", i)) for r, i in zip(runs, idx)])
    covs = np.stack([_cov(r.p_res_cov, prs[k], G, idx[k]) for k, r in enumerate(runs)])
    res_fit = _wls(x, pr, prs, n_par, "p_res/p_res_sem")
    L0 = res_fit["L"][:, 0, :]  # (G, K): intercept = sum_k L0[g, k] p_res_k[g]
    # Independent sizes: Cov(a_g, a_h) = sum_k L0[g,k] L0[h,k] Cov_k[g, h].
    return res_fit, np.einsum("gk,hk,kgh->gh", L0, L0, covs)


def _record(runs: list[SimulationResult], order: int, n: np.ndarray, dof: int, shape: tuple[int, ...],
            scalar_g: bool, curve: dict[str, np.ndarray], coef: np.ndarray, coef_sem: np.ndarray,
            res_fit: dict[str, np.ndarray], p_coef: np.ndarray, p_coef_cov: np.ndarray) -> dict[str, Any]:
    """The JSON fit record kept in ``metadata["extrapolation"]``."""
    n_par = order + 1
    return {
        "variable": "1/n",
        "order": order,
        "sizes": [int(v) for v in n],
        "n_samples": [int(r.n_samples) for r in runs],
        "seeds": [r.metadata.get("seed") for r in runs],
        "methods": [r.metadata.get("method") for r in runs],
        "dof": dof,
        "exact": dof == 0,
        "chi2": curve["chi2"].reshape(shape).tolist(),
        "coef": coef.reshape(shape + (n_par,)).tolist(),
        "coef_sem": coef_sem.reshape(shape + (n_par,)).tolist(),
        "p_res_chi2": float(res_fit["chi2"][0]) if scalar_g else res_fit["chi2"].tolist(),
        "p_res_coef": (p_coef[0] if scalar_g else p_coef).tolist(),
        "p_res_coef_cov": (p_coef_cov[0] if scalar_g else p_coef_cov).tolist(),
    }


def fit_record(result: SimulationResult) -> dict[str, Any] | None:
    """The fit record of an extrapolated result with numpy arrays, or None for a simulation."""
    rec = result.metadata.get("extrapolation")
    if rec is None:
        return None
    return {k: (np.array(v, dtype=np.float64) if k in _RECORD_ARRAYS else v) for k, v in rec.items()}


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _collect(results: Any) -> list[SimulationResult]:
    if isinstance(results, SimulationResult):
        raise TypeError("results must be a sequence of SimulationResult at several sizes, got a single SimulationResult")
    if isinstance(results, (str, bytes, dict)) or not hasattr(results, "__iter__"):
        raise TypeError(f"results must be a sequence of SimulationResult, got {type(results).__name__}")
    items = list(results)
    for i, r in enumerate(items):
        if not isinstance(r, SimulationResult):
            raise TypeError(f"results[{i}] must be a SimulationResult, got {type(r).__name__}")
    return items


def _check_order(order: Any) -> int:
    if isinstance(order, (bool, np.bool_)):
        raise TypeError("order must be an integer, got bool")
    try:
        return check_positive_int(order, "order")
    except ValueError:
        raise ValueError(f"order must be >= 1 (the degree of the polynomial in 1/N), got {order}") from None


def _model_record(r: SimulationResult, i: int) -> dict[str, Any]:
    model = r.metadata.get("model") if isinstance(r.metadata, dict) else None
    if not isinstance(model, dict):
        raise ValueError(f"results[{i}] has no model record (metadata['model']); extrapolate needs the "
                         "results of fgrkern.simulate")
    return model


def _check_family(items: list[SimulationResult]) -> tuple[dict[str, Any], list[int]]:
    """Common model parameters, and the size n of each result; ValueError naming what differs."""
    sizes: list[int] = []
    family: dict[str, Any] = {}
    seen: dict[int, int] = {}
    for i, r in enumerate(items):
        m = _model_record(r, i)
        n = m.get("n")
        if n is None and r.metadata.get("extrapolation") is not None:
            raise ValueError(f"results[{i}] is already an N -> infinity extrapolation; give finite-N results")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"results[{i}] has no valid size: metadata['model']['n'] = {n!r}")
        if m.get("bath") == "given":
            raise ValueError(f"results[{i}] was simulated with given bath levels, which define no family of "
                             "sizes N; extrapolate needs a Wigner-Dyson or Poisson bath")
        n = int(n)
        if n in seen:
            raise ValueError(f"results[{seen[n]}] and results[{i}] have the same size n = {n}; every size must "
                             "appear once (sizes must be distinct)")
        seen[n] = i
        sizes.append(n)
        _check_shapes(r, i)
        if i == 0:
            missing = [k for k in _FAMILY_KEYS if k not in m]
            if missing:
                raise ValueError(f"results[0]: model record lacks {missing}")
            family = {k: m[k] for k in _FAMILY_KEYS}
            continue
        for k in _FAMILY_KEYS:
            if not _same(m.get(k), family[k]):
                raise ValueError(f"results[{i}] differs from results[0] in {k}: {m.get(k)!r} != {family[k]!r}; "
                                 "extrapolate needs one model family")
        _check_same_grid(items[0], r, i)
    return family, sizes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=_RTOL, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return bool(a == b)


def _check_same_grid(r0: SimulationResult, r: SimulationResult, i: int) -> None:
    g0, g = np.atleast_1d(np.asarray(r0.gamma, dtype=np.float64)), np.atleast_1d(np.asarray(r.gamma, dtype=np.float64))
    if np.ndim(r0.p_res) != np.ndim(r.p_res):
        kinds = {0: "a scalar gamma (curves of shape (T,))", 1: "an array of gammas (curves of shape (G, T))"}
        raise ValueError(f"results[{i}] was simulated with {kinds[np.ndim(r.p_res)]}, results[0] with "
                         f"{kinds[np.ndim(r0.p_res)]}; the number of gamma values differs")
    if g0.shape != g.shape:
        raise ValueError(f"results[{i}] has {g.size} coupling(s) (gamma shape {np.shape(r.gamma)}), results[0] has "
                         f"{g0.size} (shape {np.shape(r0.gamma)}); the number of gamma values differs")
    if not np.allclose(g, g0, rtol=_RTOL, atol=0.0):
        k = int(np.argmax(~np.isclose(g, g0, rtol=_RTOL, atol=0.0)))
        raise ValueError(f"results[{i}] differs from results[0] in gamma: gamma[{k}] = {g[k]!r} != {g0[k]!r}; "
                         "the limit is taken at fixed gamma = g N")
    t0, t = np.asarray(r0.tau, dtype=np.float64), np.asarray(r.tau, dtype=np.float64)
    if t.shape != t0.shape:
        raise ValueError(f"results[{i}] differs from results[0] in the tau grid: {t.size} points != {t0.size}")
    if not np.allclose(t, t0, rtol=_RTOL, atol=0.0):
        k = int(np.argmax(~np.isclose(t, t0, rtol=_RTOL, atol=0.0)))
        raise ValueError(f"results[{i}] differs from results[0] in the tau grid: tau[{k}] = {t[k]!r} != {t0[k]!r}")


def _check_shapes(r: SimulationResult, i: int) -> None:
    """Shapes within one result: (T,) curves with scalar p_res, or (G, T) with (G,) p_res."""
    T = np.size(r.tau)
    if np.ndim(r.tau) != 1:
        raise ValueError(f"results[{i}].tau must be one-dimensional, got shape {np.shape(r.tau)}")
    G = None if np.ndim(r.p_res) == 0 else np.size(r.p_res)
    for name in ("p_res", "p_res_sem", "gamma"):
        want: tuple[int, ...] = () if G is None else (G,)
        if np.shape(getattr(r, name)) != want:
            raise ValueError(f"results[{i}].{name} has shape {np.shape(getattr(r, name))}, expected {want}")
    for name in ("mean", "sem"):
        want = (T,) if G is None else (G, T)
        if np.shape(getattr(r, name)) != want:
            raise ValueError(f"results[{i}].{name} has shape {np.shape(getattr(r, name))}, expected {want} "
                             "(couplings x tau)")


def _finite(v: Any, name: str, i: int) -> np.ndarray:
    a = as_float_array(v, f"results[{i}].{name}", allow_nonfinite=True)  # TypeError for complex, str, ...
    if not np.all(np.isfinite(a)):
        k = np.argwhere(~np.isfinite(np.atleast_1d(a)))[0]
        raise ValueError(f"results[{i}].{name} contains NaN or infinite values (first at index {tuple(int(j) for j in k)})")
    return a


def _sem(v: Any, name: str, i: int) -> np.ndarray:
    a = _finite(v, name, i)
    if np.any(a < 0):
        raise ValueError(f"results[{i}].{name} contains negative standard errors")
    return a


def _cov(v: Any, sem: np.ndarray, G: int, i: int) -> np.ndarray:
    c = np.atleast_2d(_finite(v, "p_res_cov", i))
    if c.shape != (G, G):
        raise ValueError(f"results[{i}].p_res_cov has shape {np.shape(v)}, expected ({G}, {G})")
    if not np.allclose(np.diagonal(c), sem * sem, rtol=1e-8, atol=0.0):
        raise ValueError(f"results[{i}]: the diagonal of p_res_cov is not p_res_sem**2")
    if np.any((sem > 0) & (sem * sem < np.finfo(float).tiny)):
        # a subnormal variance has lost its digits: the intercepts' errors would be wrong
        raise ValueError(f"results[{i}].p_res_sem: {float(np.min(sem[sem > 0]))!r} squared (p_res_cov) is "
                         "below the normal double range")
    return c


def _warn_shared_seeds(items: list[SimulationResult]) -> None:
    seen: dict[str, int] = {}
    for i, r in enumerate(items):
        seed = r.metadata.get("seed")
        if seed is None:
            continue
        key = repr(seed)
        if key in seen:
            warnings.warn(f"results[{seen[key]}] and results[{i}] were simulated with the same seed; extrapolate "
                          "assumes independent runs per size, so its standard errors may be wrong",
                          UserWarning, stacklevel=3)
        seen.setdefault(key, i)


# --------------------------------------------------------------------------
# Weighted least squares, vectorised over points
# --------------------------------------------------------------------------


_MAX_SEM_RATIO = 1e10
# Standard errors below this many machine epsilons of |mean| are raised to it
# (see _wls): the means are only known to their rounding.
_SEM_FLOOR_EPS = 4.0


def _refuse_unfittable(bad: np.ndarray, s: np.ndarray, what: str) -> None:
    if np.any(bad):
        m = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what}: point {m}: the standard errors {s[:, m].tolist()} differ by more than a "
                         f"factor {_MAX_SEM_RATIO:g} between sizes; a weighted fit in double precision cannot "
                         "resolve that")


def _wls(x: np.ndarray, y: np.ndarray, s: np.ndarray, n_par: int, what: str) -> dict[str, np.ndarray]:
    """Fit y[:, m] = sum_j c_j x**j with weights 1/s**2, independently for every column m.

    x: (K,) distinct abscissae, y and s: (K, M).  Returns coef (M, P), cov (M, P, P),
    sd (M, P) the square roots of cov's diagonal (representable where cov under- or
    overflows), chi2 (M,) and the linear map L (M, P, K) with coef = L @ y.  Columns whose s is
    zero at every k are deterministic: passed through if y is constant, else refused.
    """
    K, M = y.shape
    zero = s == 0
    det = np.all(zero, axis=0)
    mixed = np.any(zero, axis=0) & ~det
    if np.any(mixed):
        m = int(np.flatnonzero(mixed)[0])
        raise ValueError(f"{what}: point {m} has a zero standard error at some sizes but not at others; "
                         "a weighted fit needs a nonzero error at every size")
    bad = det & np.any(y != y[:1], axis=0)
    if np.any(bad):
        m = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what}: point {m} has zero standard errors but different values at different sizes "
                         f"({y[:, m].tolist()}); no weighted fit is possible")
    # An error below the rounding of the mean itself says nothing: the fit's
    # own rounding (~eps |y|) would then count as many standard errors
    # (P(tau = 0) = (sum w)^2 has a sem of ~2e-17 from rounding alone, and a
    # constant 1.0 gave chi^2 = 192).  Such errors are raised to that floor.
    floor = _SEM_FLOOR_EPS * np.finfo(np.float64).eps * np.abs(y)
    s_eff = np.where(det[None, :], 1.0, np.maximum(s, floor))
    # Errors of one point that differ by more than _MAX_SEM_RATIO between sizes:
    # the residual of the most precise size is then its fit's rounding over its
    # tiny error, and chi^2 (and then the rest) would be rounding noise.
    with np.errstate(over="ignore"):
        ratio = np.max(s_eff, axis=0) / np.min(s_eff, axis=0)
    _refuse_unfittable(~det & ~(ratio <= _MAX_SEM_RATIO), s, what)
    # The fit does not depend on a common scale of a column's errors, but
    # 1/s and the covariance ~s^2 leave the double range for errors ~1e-160
    # or ~1e160: the fit runs on s / 2^e, 2^e near the column's smallest
    # error (a power of two: exact, the same bits as no scaling), and its
    # covariance is scaled back at the end.
    _, e2 = np.frexp(np.min(s_eff, axis=0))                   # (M,)
    s_n = np.ldexp(s_eff, -e2[None, :])                       # >= 1/2; inf: no weight
    A = x[:, None] ** np.arange(n_par)[None, :]               # (K, P)
    # Householder QR of rows weighted this unevenly is accurate only with the
    # heaviest rows first (Powell & Reid 1969): an exact line with one error
    # 5e9 times smaller than the others lost 3e-7 of its intercept.  Columns
    # with errors within a factor 16 keep their order (and their bits).
    perm = np.where((ratio > 16.0)[None, :], np.argsort(s_n, axis=0, kind="stable"), np.arange(K)[:, None])
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        Aw = A[perm.T] / np.take_along_axis(s_n, perm, axis=0).T[:, :, None]   # (M, K, P), rows permuted
        Q, R = np.linalg.qr(Aw)                               # (M, K, P), (M, P, P)
        # errors so disparate that fewer than P sizes keep a representable
        # weight leave R singular
        dR = np.diagonal(R, axis1=-2, axis2=-1)
        _refuse_unfittable(~det & ~np.all(np.isfinite(dR) & (dR != 0), axis=1), s, what)
        Rinv = np.linalg.inv(R)
        Lp = np.einsum("mij,mkj->mik", Rinv, Q) / np.take_along_axis(s_n, perm, axis=0).T[:, None, :]
        L = np.empty_like(Lp)                                 # (M, P, K): the same for s and s_n
        np.put_along_axis(L, np.broadcast_to(perm.T[:, None, :], Lp.shape), Lp, axis=2)
        coef = np.einsum("mpk,km->mp", L, y)
        cov_n = np.einsum("mij,mkj->mik", Rinv, Rinv)        # covariance in units of 4^e
        sd = np.ldexp(np.sqrt(np.diagonal(cov_n, axis1=-2, axis2=-1)), e2[:, None])  # (M, P)
        cov = np.ldexp(cov_n, 2 * e2[:, None, None])
        resid = (y / s_eff).T - np.einsum("mkp,mp->mk", A[None, :, :] / s_eff.T[:, :, None], coef)
        # where y/s or A/s overflow (errors below ~1e-308), from the unweighted residual
        if not np.all(np.isfinite(resid)):
            resid = np.where(np.isfinite(resid), resid, (y.T - np.einsum("kp,mp->mk", A, coef)) / s_eff.T)
        chi2 = np.einsum("mk,mk->m", resid, resid) if K > n_par else np.zeros(M)
    _refuse_unfittable(~det & ~(np.all(np.isfinite(coef), axis=1) & np.all(np.isfinite(sd), axis=1)), s, what)
    if np.any(det):
        coef[det] = 0.0
        coef[det, 0] = y[0, det]
        cov[det] = 0.0
        sd[det] = 0.0
        chi2[det] = 0.0
        L[det] = 0.0
        L[det, 0, :] = 1.0 / K
    return {"coef": coef, "cov": cov, "sd": sd, "chi2": chi2, "L": L}
