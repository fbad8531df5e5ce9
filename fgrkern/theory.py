r"""The closed forms of Micklitz, Morningstar, Altland and Huse, PRL 129, 140402 (2022), Eqs. (3)-(6).

Conventions (``gamma = g N``, ``tau = t/t_H``, :math:`t_H = 2N/\lambda`, Golden
Rule decay :math:`e^{-4\gamma\tau}`): docs/theory/conventions.md; how each
closed form is evaluated: docs/theory/closed-forms.md.

- Every function of ``tau`` is even in ``tau``: the survival probability
  :math:`P(t) = \sum_{ab} w_a w_b e^{i(e_a - e_b)t}` is exactly even in t for
  each realisation, so negative ``tau`` returns the value at ``|tau|``.
  ``tau = +-inf`` returns the long-time limit.  NaN raises ``ValueError``.

All functions broadcast their array arguments like numpy ufuncs and return
float64 arrays (0-d input gives a numpy float).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _theory
from ._parallel import run_chunks
from ._validation import as_float_array, check_allocation, check_real_scalar, parse_symmetry, resolve_workers
from .model import parse_bath_name as _bath_name

__all__ = [
    "curve_for",
    "form_factor",
    "gamma_gr",
    "p_off",
    "p_plateau",
    "p_res",
    "p_sff",
    "p_tau",
    "p_tau_large_gamma",
    "sff_coefficients",
]

# Eq. (6) coefficients and the constants P_off, P_pl (paper, after Eq. 5).
_A = {"GUE": 1.0, "GOE": 2.0, "GSE": 1.0}
_B = {"GUE": 1.0, "GOE": 1.0, "GSE": 2.0}
# from this tau on the GOE form factor rounds to 1 (see form_factor)
_GOE_K_ONE = 2.0**26


# Validated domain of the Eq. (5) quadrature (p_tau), see its Notes: beyond
# it the fixed rule was measured to drift (tau >~ 1e11 at small gamma, ~1e16
# at gamma ~ 1: values off by up to 100 %, then 0 or NaN from ~1e154) or to
# lose accuracy (gamma >~ 1e104: 2e-11..6e-10, then 0 from ~1e105), so
# finite arguments above these bounds raise instead of returning a number.
P_TAU_MAX_TAU = 1e6
P_TAU_MAX_GAMMA = 1e100


# What the overloads below tell type checkers: real scalar arguments (Python or
# numpy numbers) give a numpy float; an array or sequence among the arguments
# gives an array (a 0-d array, typed as an array, gives a numpy float at run
# time, as numpy's own functions do); an argument typed only as ArrayLike (or
# float | ndarray) may be either, so the result is typed as either.
_RealScalar = Union[float, np.floating[Any], np.integer[Any]]
_Array = Union[NDArray[Any], Sequence[Any]]


def _ret(a: np.ndarray) -> "NDArray[np.float64] | np.float64":
    return a[()] if a.ndim == 0 else a


def _tau_array(tau: Any) -> np.ndarray:
    t = as_float_array(tau, "tau", allow_nonfinite=True)
    if np.any(np.isnan(t)):
        raise ValueError("tau contains NaN")
    return np.abs(t)


def _gamma_array(gamma: Any, *, positive: bool = False) -> np.ndarray:
    g = as_float_array(gamma, "gamma", allow_nonfinite=True)
    if np.any(np.isnan(g)):
        raise ValueError("gamma contains NaN")
    if positive:
        if np.any(g <= 0):
            raise ValueError("gamma must be > 0 (this approximation diverges like 1/gamma)")
    elif np.any(g < 0):
        raise ValueError("gamma must be >= 0 (gamma = g N is a coupling strength)")
    return g


def _broadcast(a: np.ndarray, b: np.ndarray, names: tuple[str, str] = ("tau", "gamma")):
    """np.broadcast_arrays with an error naming both arguments and their shapes.

    The callers materialise the broadcast shape in about ten float64 arrays
    (inputs, output, masks, index lists): checked against the memory guard.
    """
    try:
        out = np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(
            f"{names[0]} (shape {a.shape}) and {names[1]} (shape {b.shape}) cannot be broadcast together"
        ) from None
    check_allocation(80.0 * out[0].size, f"{names[0]} x {names[1]} (broadcast shape {out[0].shape})")
    return out


def _over_gamma(num: Any, g: np.ndarray) -> np.ndarray:
    """num / (2 gamma), the 1/gamma terms of the large-gamma results.

    A gamma so small (subnormal) that this overflows float64 raises
    ValueError naming gamma rather than returning inf: these formulas are
    large-gamma approximations, meaningless there anyway.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # (num/2)/g, not num/(2g): 2g would overflow for gamma > ~9e307
        r = (0.5 * num) / g
    # the GSE singularity K(1/2) = +inf stays +inf at gamma = inf too (not inf/inf = NaN)
    r = np.where(np.isinf(num) & np.isinf(g), num, r)
    bad = np.isinf(r) & np.isfinite(num)
    if np.any(bad):
        gmin = float(np.min(np.broadcast_to(g, bad.shape)[bad]))
        raise ValueError(
            f"gamma = {gmin!r} is so small that the 1/(2 gamma) term overflows float64; "
            "these large-gamma formulas need gamma >> 1 (use p_tau/p_res for small gamma)"
        )
    return r


def _fgr_decay(t: np.ndarray, g: np.ndarray) -> np.ndarray:
    """exp(-4 gamma tau) with the value 1 at tau = 0 (also for gamma = inf)."""
    # gamma tau beyond DBL_MAX (or 4 gamma tau) overflows to inf: exp(-inf) = 0, the limit
    with np.errstate(invalid="ignore", over="ignore"):
        prod = g * t
        return np.where(t == 0, 1.0, np.exp(-4.0 * np.where(t == 0, 0.0, prod)))


@overload
def gamma_gr(g: _RealScalar, lam: _RealScalar = 1.0) -> np.float64: ...


@overload
def gamma_gr(g: _Array, lam: ArrayLike = 1.0) -> NDArray[np.float64]: ...


@overload
def gamma_gr(g: ArrayLike, lam: _Array) -> NDArray[np.float64]: ...


@overload
def gamma_gr(g: ArrayLike, lam: ArrayLike = 1.0) -> NDArray[np.float64] | np.float64: ...


def gamma_gr(g: ArrayLike, lam: ArrayLike = 1.0) -> "NDArray[np.float64] | np.float64":
    r"""Golden Rule decay rate, Eq. (3): :math:`\Gamma_{GR} = 2\pi\langle|W|^2\rangle\nu = 2 g \lambda`.

    Parameters
    ----------
    g : array_like
        Dimensionless coupling, :math:`\langle|W_k|^2\rangle = g\lambda^2/N`; ``g >= 0``
        (``inf`` allowed).
    lam : array_like, optional
        Energy scale :math:`\lambda` (semicircle radius :math:`2\lambda`); ``lam > 0``
        (``inf`` allowed), broadcast against ``g``.

    Returns
    -------
    ndarray or float
        :math:`\Gamma_{GR}` in the units of ``lam`` (inverse time, hbar = 1).
        ``g = 0`` gives 0 (also for ``lam = inf``); otherwise an infinite
        argument gives ``inf``, like the other theory functions' limits.

    Raises
    ------
    ValueError
        NaN, ``g < 0``, ``lam <= 0``, shapes that do not broadcast, or finite
        arguments whose product :math:`2 g\lambda` overflows float64.
    """
    gg = as_float_array(g, "g", allow_nonfinite=True)
    ll = as_float_array(lam, "lam", allow_nonfinite=True)
    if np.any(np.isnan(gg)) or np.any(np.isnan(ll)):
        raise ValueError("g and lam must not contain NaN")
    if np.any(gg < 0):
        raise ValueError("g must be >= 0")
    if np.any(ll <= 0):
        raise ValueError("lam must be > 0")
    gg, ll = _broadcast(gg, ll, ("g", "lam"))
    with np.errstate(over="ignore", invalid="ignore"):
        # (2 g) lam in this order: bitwise the value 2 * g * lam had
        rate = np.where(gg == 0, 0.0, 2.0 * gg * ll)
    over = np.isinf(rate) & np.isfinite(gg) & np.isfinite(ll)
    if np.any(over):
        k = int(np.flatnonzero(over.ravel())[0])
        raise ValueError(f"gamma_gr: 2 g lam overflows float64 (g = {float(gg.ravel()[k])!r}, "
                         f"lam = {float(ll.ravel()[k])!r})")
    return _ret(rate)


@overload
def p_res(gamma: _RealScalar, *, workers: int | None = 1) -> np.float64: ...


@overload
def p_res(gamma: _Array, *, workers: int | None = 1) -> NDArray[np.float64]: ...


@overload
def p_res(gamma: ArrayLike, *, workers: int | None = 1) -> NDArray[np.float64] | np.float64: ...


def p_res(gamma: ArrayLike, *, workers: int | None = 1) -> "NDArray[np.float64] | np.float64":
    r"""Long-time probability of residence, Eq. (4).

    .. math:: P_{res} = 1 - \gamma - \sqrt{\pi\gamma}\,(1/2 - \gamma)\,
              e^{\gamma}\,\mathrm{erfc}(\sqrt{\gamma}),

    evaluated without cancellation as :math:`(1 + q)/(1 + 2\gamma + 2q)` with
    :math:`q = \sqrt\gamma/T_3` from the Laplace continued fraction of erfc
    (small ``gamma``: from erfc directly).  Relative error ~1e-16 for every
    ``gamma`` (tested against 50-digit mpmath on [1e-12, 1e12]).

    Parameters
    ----------
    gamma : array_like
        :math:`\gamma = gN \ge 0`; ``inf`` is allowed (gives 0), ``0`` gives 1.
    workers : int or None, optional
        Threads (``None``/``-1``: all cores; at most 4 per CPU, larger
        values are clamped).  Results do not depend on it.

    Returns
    -------
    ndarray or float
        :math:`P_{res}(\gamma)`, same shape as ``gamma``.  Large ``gamma``:
        :math:`1/\gamma - 9/(4\gamma^2) + \dots`; the Golden Rule estimate is
        :math:`1/\gamma`.

    Raises
    ------
    ValueError
        ``gamma`` negative or NaN.
    """
    g = _gamma_array(gamma)
    flat = np.ascontiguousarray(g.ravel())
    out = np.empty_like(flat)
    n = flat.shape[0]
    run_chunks(lambda a, b: _theory.p_res_range(flat, out, a, b), n, resolve_workers(workers), 4096)
    return _ret(out.reshape(g.shape))


@overload
def p_tau(tau: _RealScalar, gamma: _RealScalar, *, workers: int | None = None) -> np.float64: ...


@overload
def p_tau(tau: _Array, gamma: ArrayLike, *, workers: int | None = None) -> NDArray[np.float64]: ...


@overload
def p_tau(tau: ArrayLike, gamma: _Array, *, workers: int | None = None) -> NDArray[np.float64]: ...


@overload
def p_tau(tau: ArrayLike, gamma: ArrayLike, *, workers: int | None = None) -> NDArray[np.float64] | np.float64: ...


def p_tau(tau: ArrayLike, gamma: ArrayLike, *, workers: int | None = None) -> "NDArray[np.float64] | np.float64":
    r"""Survival probability of the unitary class, Eq. (5).

    .. math:: P(\tau) = e^{-4\gamma\tau} + 2\gamma^2 \int_{-1}^{1} d\lambda_f
              \int_1^\infty d\lambda_b\, \frac{x^2 e^{-2\gamma x\lambda_b}}
              {\lambda_b - \lambda_f}\,[\lambda_b I_0(z_b) - \mu_b I_1(z_b)]\,\Theta(x),

    :math:`x = 2\tau - \lambda_b + \lambda_f`, :math:`\mu_b = \sqrt{\lambda_b^2 - 1}`,
    :math:`z_b = 2\gamma x\mu_b`.  The domain is finite (:math:`\lambda_b < 2\tau + \lambda_f`)
    and the integral is evaluated in C (GIL released) by a fixed graded
    Gauss-Legendre product rule in :math:`x` and :math:`u = \mathrm{arccosh}\,\lambda_b`,
    on the all-positive, exponentially scaled form of the kernel
    (docs/theory/closed-forms.md).

    Parameters
    ----------
    tau : array_like
        Rescaled time :math:`\tau = t/t_H` (:math:`t_H = 2\pi\nu`).  Negative
        values give :math:`P(|\tau|)` (P is even in t); ``inf`` gives
        :math:`P_{res}(\gamma)` (Eq. 4).  Finite values need ``|tau| <= 1e6``
        (``P_TAU_MAX_TAU``, the validated range).
    gamma : array_like
        :math:`\gamma = gN \ge 0`, broadcast against ``tau``.  ``0`` gives
        :math:`P \equiv 1`; ``inf`` gives 0 for :math:`\tau \ne 0`.  Finite
        values need ``gamma <= 1e100`` (``P_TAU_MAX_GAMMA``).
    workers : int or None, optional
        Threads over the points (``None``/``-1``: all usable cores; at most
        4 per CPU and one per point, larger values are clamped).  Each
        point is computed by the same code, so results do not depend on it.

    Returns
    -------
    ndarray or float
        :math:`P(\tau)`, broadcast shape of ``tau`` and ``gamma``.
        ``P(0) = 1`` exactly.

    Raises
    ------
    ValueError
        NaN in ``tau``; negative or NaN ``gamma``; shapes that do not
        broadcast; finite ``|tau| > 1e6`` (use :func:`p_res`, the
        :math:`\tau \to \infty` limit, or ``tau=inf``) or finite
        ``gamma > 1e100`` (use :func:`p_tau_large_gamma`/:func:`p_sff`, or
        ``gamma=inf``) at a point where ``tau``, ``gamma`` != 0.

    Notes
    -----
    Accuracy: relative error <= 1e-10 for gamma in [1e-3, 1e3] and tau in
    [0, 1e3], the tested box; measured <= 9e-12 against a ~30x finer rule on
    ~7700 random points of that box (a quarter of them within 1e-6..0.1 of
    the kink at tau = 1) and against 25-digit mpmath evaluations of the
    printed integral at the test points.

    Validated domain: ``|tau| <= 1e6`` and ``gamma <= 1e100`` (plus the exact
    special values ``tau`` = 0 or +-inf, ``gamma`` = 0 or inf); finite
    arguments beyond it raise ``ValueError`` (see Raises).  Measured there
    (2026-11, tests/test_robustness_inputs.py pins the edges):

    - against the refined rule, 7000 log-uniform points with gamma in
      [1e-300, 1e12], tau in [1e-8, 1e6]: max relative difference 7.6e-11;
    - against the large-gamma asymptote
      :math:`e^{-4\gamma\tau} + [(1+\tau)/2\ \mathrm{or}\ 1]/\gamma`,
      whose own relative error is :math:`O(1/\gamma)`, for gamma in
      [1e6, 1e100] and tau in [1e-300, 1e6]: :math:`|P/P_{asym} - 1| \le
      3/\gamma + 5.5\times 10^{-12}`;
    - against P_res(gamma) (Eq. 4) for tau in [100, 1e6], gamma >= 0.5:
      3.5e-12.

    Beyond it the fixed rule was measured to drift (e.g. gamma = 1e-20 at
    tau = 1e11: 3e-9; gamma = 1 at tau = 1e16: 8 %), lose accuracy (gamma =
    1e104: up to 6e-10) and then return 0 or NaN.

    Cost: 280-3600 Bessel-kernel evaluations (~35 ns each) per point, i.e.
    ~1e4-1e5 points per second per core (least for gamma ~ 0.02 at
    tau ~ 1e2-1e3 and gamma ~ 5 at tau ~ 2-5).  Numerically P(tau) agrees with
    P_res(gamma) (Eq. 4) to ~1e-12 already at moderate tau (tau >= 5 for
    gamma >= 0.46, tau >= 20 for gamma = 0.022, tau >= 100 for gamma = 1e-3).
    """
    t = _tau_array(tau)
    g = _gamma_array(gamma)
    nworkers = resolve_workers(workers)  # checked even when no point needs the quadrature
    t, g = _broadcast(t, g)
    shape = t.shape
    tf = np.ascontiguousarray(t.ravel(), dtype=np.float64)
    gf = np.ascontiguousarray(g.ravel(), dtype=np.float64)
    out = np.empty_like(tf)
    # special values handled here; the C rule sees finite tau > 0, 0 < gamma < inf
    out[tf == 0] = 1.0
    out[(gf == 0) & (tf != 0)] = 1.0
    big_g = np.isinf(gf) & (tf != 0)
    out[big_g] = 0.0
    inf_t = np.isinf(tf) & ~big_g & (gf != 0)
    if np.any(inf_t):
        out[inf_t] = np.asarray(p_res(gf[inf_t]), dtype=np.float64).ravel()
    quad = (tf != 0) & (gf != 0) & np.isfinite(tf) & np.isfinite(gf)
    _check_p_tau_domain(tf[quad], gf[quad])
    todo = np.flatnonzero(quad)
    if todo.size:
        nthreads = min(nworkers, todo.size)
        # the cost per point varies with tau and gamma: deal the points out
        # round-robin so that run_chunks' contiguous chunks get similar mixes
        todo = np.concatenate([todo[k::nthreads] for k in range(nthreads)])
        tt = np.ascontiguousarray(tf[todo])
        gg = np.ascontiguousarray(gf[todo])
        res = np.empty_like(tt)
        run_chunks(lambda a, b: _theory.p_tau_range(tt, gg, res, a, b), todo.size, nthreads, 8)
        out[todo] = res
    return _ret(out.reshape(shape))


def _check_p_tau_domain(t: np.ndarray, g: np.ndarray) -> None:
    """ValueError for points (finite, nonzero tau and gamma) outside the validated box."""
    if t.size and t.max() > P_TAU_MAX_TAU:
        raise ValueError(
            f"tau = {float(t.max())!r} is outside the validated range of p_tau "
            f"(|tau| <= {P_TAU_MAX_TAU:g}, where P has long reached its limit for gamma >~ 1e-3); "
            "for the tau -> infinity limit use theory.p_res(gamma) (Eq. 4), or pass tau=inf"
        )
    if g.size and g.max() > P_TAU_MAX_GAMMA:
        raise ValueError(
            f"gamma = {float(g.max())!r} is outside the validated range of p_tau "
            f"(gamma <= {P_TAU_MAX_GAMMA:g}); for large gamma use theory.p_tau_large_gamma "
            "or theory.p_sff (relative error O(1/gamma)), or pass gamma=inf"
        )


@overload
def p_tau_large_gamma(tau: _RealScalar, gamma: _RealScalar) -> np.float64: ...


@overload
def p_tau_large_gamma(tau: _Array, gamma: ArrayLike) -> NDArray[np.float64]: ...


@overload
def p_tau_large_gamma(tau: ArrayLike, gamma: _Array) -> NDArray[np.float64]: ...


@overload
def p_tau_large_gamma(tau: ArrayLike, gamma: ArrayLike) -> NDArray[np.float64] | np.float64: ...


def p_tau_large_gamma(tau: ArrayLike, gamma: ArrayLike) -> "NDArray[np.float64] | np.float64":
    r"""Large-gamma approximation to Eq. (5) printed after it in the paper.

    .. math:: P(\tau) \approx e^{-4\gamma\tau} + \frac{1+\tau}{2\gamma}\Theta(1-\tau)
              + \frac{1}{\gamma}\Theta(\tau - 1),

    continuous at :math:`\tau = 1`.  Note it is not 1 at :math:`\tau = 0`
    (the correction terms are long-time results).

    Parameters
    ----------
    tau : array_like
        :math:`\tau = t/t_H`; negative values give the value at ``|tau|``.
    gamma : array_like
        :math:`\gamma > 0` (``inf`` allowed), broadcast against ``tau``.

    Returns
    -------
    ndarray or float
    """
    t = _tau_array(tau)
    g = _gamma_array(gamma, positive=True)
    t, g = _broadcast(t, g)
    corr = _over_gamma(np.where(t < 1.0, 1.0 + np.where(t < 1.0, t, 0.0), 2.0), g)
    return _ret(_fgr_decay(t, g) + corr)


@overload
def form_factor(tau: _RealScalar, symmetry: str = "GUE") -> np.float64: ...


@overload
def form_factor(tau: _Array, symmetry: str = "GUE") -> NDArray[np.float64]: ...


@overload
def form_factor(tau: ArrayLike, symmetry: str = "GUE") -> NDArray[np.float64] | np.float64: ...


def form_factor(tau: ArrayLike, symmetry: str = "GUE") -> "NDArray[np.float64] | np.float64":
    r"""Spectral form factor :math:`K_X(\tau)` with :math:`K(\infty) = 1`.

    In the package's unit :math:`\tau = t/(2\pi\nu)`, :math:`\nu` counting
    states (both Kramers partners for GSE):

    - GUE: :math:`K = \tau` for :math:`\tau < 1`, else 1.
    - GOE: :math:`K = 2\tau - \tau\ln(1 + 2\tau)` for :math:`\tau < 1`,
      else :math:`2 - \tau\ln\frac{2\tau+1}{2\tau-1}`.
    - GSE: :math:`K = \tau - \frac{\tau}{2}\ln|1 - 2\tau|` for :math:`\tau < 1`,
      else 1 -- Mehta's :math:`K_M(s) = s/2 - (s/4)\ln|1-s|` at :math:`s = 2\tau`
      (:math:`s` in Heisenberg times of the doublet spectrum).  It has an
      integrable logarithmic singularity at :math:`\tau = 1/2`, where the value
      returned is ``+inf``.

    Sum rule: :math:`\int_0^\infty (1 - K)\,d\tau = 1/2` (GUE, GOE), 1/4 (GSE).

    Parameters
    ----------
    tau : array_like
        :math:`\tau`; negative values give :math:`K(|\tau|)`; ``inf`` gives 1.
    symmetry : str
        "GUE"/"GOE"/"GSE" or "U"/"O"/"S" (case-insensitive).

    Returns
    -------
    ndarray or float
    """
    sym = parse_symmetry(symmetry)
    t = _tau_array(tau)
    out = np.ones_like(t)
    lo = t < 1.0
    tl = t[lo]
    if sym == "GUE":
        out[lo] = tl
    elif sym == "GOE":
        out[lo] = 2.0 * tl - tl * np.log1p(2.0 * tl)
        # beyond 2**26, K = 1 - 1/(12 tau^2) - ... is 1 to within a sixth of
        # an ulp (the ones already in `out`); the formula would be off by an ulp
        # there, and 2 tau overflows beyond DBL_MAX / 2
        hi = ~lo & (t < _GOE_K_ONE)
        th = t[hi]
        # ln((2t+1)/(2t-1)) = 2 atanh(1/(2t)): no cancellation at large t
        out[hi] = 2.0 - 2.0 * th * np.arctanh(0.5 / th)
    else:
        # ln|1 - 2 tau|: log1p below 1/2 (accurate at small tau), log above
        below = tl < 0.5
        lg = np.empty_like(tl)
        lg[below] = np.log1p(-2.0 * tl[below])
        above = tl > 0.5
        lg[above] = np.log(2.0 * tl[above] - 1.0)
        lg[~below & ~above] = -np.inf  # the integrable log singularity at 1/2
        out[lo] = tl - 0.5 * tl * lg
    return _ret(out)


@overload
def p_sff(tau: _RealScalar, gamma: _RealScalar, symmetry: str = "GUE") -> np.float64: ...


@overload
def p_sff(tau: _Array, gamma: ArrayLike, symmetry: str = "GUE") -> NDArray[np.float64]: ...


@overload
def p_sff(tau: ArrayLike, gamma: _Array, symmetry: str = "GUE") -> NDArray[np.float64]: ...


@overload
def p_sff(tau: ArrayLike, gamma: ArrayLike, symmetry: str = "GUE") -> NDArray[np.float64] | np.float64: ...


def p_sff(tau: ArrayLike, gamma: ArrayLike, symmetry: str = "GUE") -> "NDArray[np.float64] | np.float64":
    r"""Large-gamma survival probability with the spectral form factor, Eq. (6).

    .. math:: P_X(\tau) = e^{-4\gamma\tau} + \frac{1}{2\gamma}[a_X + b_X K_X(\tau)],

    :math:`a_X = (1, 2, 1)`, :math:`b_X = (1, 1, 2)` for X = (U, O, S), with
    :math:`K_X` from :func:`form_factor`.

    Parameters
    ----------
    tau : array_like
        :math:`\tau = t/t_H`, even in ``tau``.
    gamma : array_like
        :math:`\gamma > 0` (``inf`` allowed), broadcast against ``tau``.
    symmetry : str
        "GUE"/"GOE"/"GSE" or "U"/"O"/"S".

    Returns
    -------
    ndarray or float
        ``+inf`` at the GSE singularity :math:`\tau = 1/2` (for every
        gamma, ``inf`` included).
    """
    sym = parse_symmetry(symmetry)
    t = _tau_array(tau)
    g = _gamma_array(gamma, positive=True)
    t, g = _broadcast(t, g)
    k = np.asarray(form_factor(t, sym), dtype=np.float64)
    return _ret(_fgr_decay(t, g) + _over_gamma(_A[sym] + _B[sym] * k, g))


@overload
def p_off(gamma: _RealScalar, symmetry: str = "GUE") -> np.float64: ...


@overload
def p_off(gamma: _Array, symmetry: str = "GUE") -> NDArray[np.float64]: ...


@overload
def p_off(gamma: ArrayLike, symmetry: str = "GUE") -> NDArray[np.float64] | np.float64: ...


def p_off(gamma: ArrayLike, symmetry: str = "GUE") -> "NDArray[np.float64] | np.float64":
    r"""Offset (minimum) of P after the Golden Rule decay: :math:`a_X/(2\gamma)` (Eq. 6 at :math:`K_X \to 0`).

    :math:`a_X = (1, 2, 1)` for (U, O, S).  The paper's :math:`P_{off}`:
    the correction term :math:`[a_X + b_X K_X(\tau)]/(2\gamma)` of Eq. (6)
    while the form factor is still small, i.e. once the decay is over
    (:math:`1/(4\gamma) \ll \tau \ll 1`);
    for GUE it is also the :math:`\tau \to 0` value of the correction term
    of the large-gamma form after Eq. (5) (:func:`p_tau_large_gamma`).
    :math:`P_{pl}/P_{off} = (2, 3/2, 3)` for (U, O, S) (see :func:`p_plateau`).

    Parameters
    ----------
    gamma : array_like
        :math:`\gamma = gN > 0` (``inf`` allowed, gives 0).
    symmetry : str
        "GUE"/"GOE"/"GSE" or "U"/"O"/"S" (case-insensitive).

    Returns
    -------
    ndarray or float
        :math:`P_{off} = a_X/(2\gamma)`, same shape as ``gamma``
        (dimensionless probability).

    Raises
    ------
    ValueError
        ``gamma <= 0`` or NaN, a ``gamma`` so small (subnormal) that
        :math:`1/(2\gamma)` overflows float64, or an unknown ``symmetry``.
    TypeError
        ``gamma`` not real numbers, or ``symmetry`` not a string.
    """
    sym = parse_symmetry(symmetry)
    g = _gamma_array(gamma, positive=True)
    return _ret(_over_gamma(np.float64(_A[sym]), g))


@overload
def p_plateau(gamma: _RealScalar, symmetry: str = "GUE") -> np.float64: ...


@overload
def p_plateau(gamma: _Array, symmetry: str = "GUE") -> NDArray[np.float64]: ...


@overload
def p_plateau(gamma: ArrayLike, symmetry: str = "GUE") -> NDArray[np.float64] | np.float64: ...


def p_plateau(gamma: ArrayLike, symmetry: str = "GUE") -> "NDArray[np.float64] | np.float64":
    r"""Long-time plateau :math:`(a_X + b_X)/(2\gamma) = (2, 3, 3)/(2\gamma)` (Eq. 6 at :math:`\tau > 1`).

    The paper's :math:`P_{pl}`, reached after the Heisenberg time, where
    :math:`K_X = 1`.  :math:`P_{pl}/P_{off} = (2, 3/2, 3)` for (U, O, S)
    (see :func:`p_off`).

    Parameters
    ----------
    gamma : array_like
        :math:`\gamma = gN > 0` (``inf`` allowed, gives 0).
    symmetry : str
        "GUE"/"GOE"/"GSE" or "U"/"O"/"S" (case-insensitive).

    Returns
    -------
    ndarray or float
        :math:`P_{pl} = (a_X + b_X)/(2\gamma)`, same shape as ``gamma``
        (dimensionless probability).

    Raises
    ------
    ValueError
        ``gamma <= 0`` or NaN, a ``gamma`` so small (subnormal) that
        :math:`1/(2\gamma)` overflows float64, or an unknown ``symmetry``.
    TypeError
        ``gamma`` not real numbers, or ``symmetry`` not a string.
    """
    sym = parse_symmetry(symmetry)
    g = _gamma_array(gamma, positive=True)
    return _ret(_over_gamma(np.float64(_A[sym] + _B[sym]), g))


def sff_coefficients(symmetry: str = "GUE") -> tuple[float, float]:
    r"""The coefficients :math:`(a_X, b_X)` of Eq. (6), :math:`P_X = e^{-4\gamma\tau} + (a_X + b_X K_X(\tau))/(2\gamma)`.

    (1, 1) for GUE, (2, 1) for GOE, (1, 2) for GSE: :math:`P_{off} = a_X/(2\gamma)`
    and :math:`P_{pl} = (a_X + b_X)/(2\gamma)`.

    Parameters
    ----------
    symmetry : str, optional
        "GUE"/"GOE"/"GSE" or "U"/"O"/"S" (case-insensitive); default "GUE".

    Returns
    -------
    a_X, b_X : float
        The offset and form-factor coefficients of Eq. (6) (dimensionless),
        as used by :func:`p_sff`, :func:`p_off` and :func:`p_plateau`.

    Raises
    ------
    ValueError
        An unknown ``symmetry`` name.
    TypeError
        ``symmetry`` is not a string.
    """
    sym = parse_symmetry(symmetry)
    return _A[sym], _B[sym]


#: Eq. (6) is the large-gamma form (corrections of relative order 1/gamma):
#: :func:`curve_for` offers it only from this gamma on, as "asymptotic".
EQ6_MIN_GAMMA = 10.0


def curve_for(tau: ArrayLike, gamma: float, symmetry: str = "GUE", *, bath: str | ArrayLike = "wigner-dyson",
              eps0: float = 0.0) -> tuple[np.ndarray | None, str]:
    r"""The closed form that applies to a level-dot simulation, on ``tau``: (values, label) or (None, reason).

    Eq. (5) (unitary class, any gamma) is evaluated where it is validated:
    points beyond ``P_TAU_MAX_TAU`` are NaN.  For GOE and GSE only the
    large-gamma form Eq. (6) exists, offered for gamma >= ``EQ6_MIN_GAMMA``.
    The closed forms hold for the Wigner-Dyson bath with ``eps0 = 0``.
    Never raises for valid input (a failing evaluation is a reason too);
    ``TypeError``/``ValueError`` naming the argument for a non-number, a NaN
    tau or a gamma that is not finite.

    Parameters
    ----------
    tau : array_like
        Rescaled times :math:`\tau = t/t_H` (:math:`t_H = 2N/\lambda`), any
        shape; negative values give the value at ``|tau|``.  ``+-inf`` is
        accepted: the plateau under Eq. (6), NaN under Eq. (5) (beyond
        ``P_TAU_MAX_TAU``).
    gamma : float
        :math:`\gamma = gN` of the simulation, a finite real scalar.  Values
        for which no closed form applies (e.g. negative, or
        ``gamma > P_TAU_MAX_GAMMA`` for GUE) give ``(None, reason)``.
    symmetry : str, optional
        "GUE"/"GOE"/"GSE" or "U"/"O"/"S" (case-insensitive); default "GUE".
    bath : str or array_like, optional
        The simulated bath, e.g. ``model.bath`` of a
        :class:`~fgrkern.LevelDotModel`.  Only the Wigner-Dyson bath, under
        any name ``LevelDotModel`` accepts for it (``"wigner-dyson"``,
        ``"WD"``, case-insensitive), has closed forms; any other string or an
        array of bath levels gives ``(None, reason)``.
    eps0 : float, optional
        Energy of the level :math:`|0\rangle` in units of :math:`\lambda`, a
        finite real scalar; anything but 0 gives ``(None, reason)``.

    Returns
    -------
    values : ndarray or None
        float64 array of ``tau``'s shape: Eq. (5) (:func:`p_tau`) for GUE,
        with NaN at ``|tau| > P_TAU_MAX_TAU``; Eq. (6) (:func:`p_sff`) for
        GOE and GSE at ``gamma >= EQ6_MIN_GAMMA``.  None when no closed form
        applies or it cannot be evaluated.
    label : str
        ``"Eq. (5)"`` or ``"Eq. (6), asymptotic (gamma >> 1)"`` with values;
        otherwise the reason why there is no curve (for a legend or a log).

    Raises
    ------
    TypeError
        ``eps0`` not a real scalar; ``symmetry`` not a string, ``gamma`` not
        a real scalar, or ``tau`` not real numbers (these three checked only
        once ``eps0`` and ``bath`` admit a closed form).
    ValueError
        A NaN or infinite ``eps0``; an unknown ``symmetry``, a NaN or
        infinite ``gamma``, or NaN in ``tau`` (same condition).  A ``ValueError`` or
        ``ArithmeticError`` during the evaluation itself is returned as a
        reason instead.
    """
    if check_real_scalar(eps0, "eps0") != 0.0:
        return None, "the closed forms are for eps0 = 0"
    # any spelling LevelDotModel accepts ("WD", "Wigner-Dyson", ...)
    if not isinstance(bath, str) or _bath_name(bath) != "wigner-dyson":
        return None, "there is no closed form for this bath"
    symmetry = parse_symmetry(symmetry)
    gamma = check_real_scalar(gamma, "gamma")
    t = as_float_array(tau, "tau", allow_nonfinite=True)  # tau = inf: the plateau of Eq. (6)
    if np.isnan(t).any():
        raise ValueError("tau contains NaN")
    try:
        if symmetry == "GUE":
            if not gamma <= P_TAU_MAX_GAMMA:
                return None, f"gamma = {gamma:.3g} is beyond the validated domain of Eq. (5)"
            ok = np.abs(t) <= P_TAU_MAX_TAU
            if t.size and not np.any(ok):
                return None, f"every tau is beyond the validated domain of Eq. (5) (tau <= {P_TAU_MAX_TAU:g})"
            th = np.full(t.shape, np.nan)
            th[ok] = p_tau(t[ok], gamma)
            return th, "Eq. (5)"
        if gamma < EQ6_MIN_GAMMA:
            return None, (f"Eq. (6) holds only for gamma >> 1 (shown from gamma = {EQ6_MIN_GAMMA:g}); "
                          f"there is no closed form for {symmetry} at gamma = {gamma:.3g}")
        return np.asarray(p_sff(t, gamma, symmetry), dtype=np.float64), "Eq. (6), asymptotic (gamma >> 1)"
    except (ValueError, ArithmeticError) as exc:
        return None, f"the theory cannot be evaluated here ({exc})"
