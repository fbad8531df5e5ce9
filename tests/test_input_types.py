"""Argument types and ranges the whole public API rejects up front.

- numpy masked arrays: ``np.asarray`` drops the mask, so a masked value
  would silently enter the computation (a masked weight of 1e6 gives
  P = 1e12).  Every array argument refuses them with TypeError naming it.
- values beyond the double range (Python ints, t = tau * t_H): ValueError
  naming the argument before any work, never OverflowError or a failing
  chunk.
- gamma_gr follows the other theory functions: inf is a limit, NaN and
  overflow of a finite product raise, no RuntimeWarning.
"""

from __future__ import annotations

import os
import runpy
import warnings

import numpy as np
import pytest

import fgrkern
from fgrkern import _chunks
from fgrkern import theory

ToyModel = runpy.run_path(os.path.join(os.path.dirname(__file__), "robust_toy_model.py"))["ToyModel"]
MA = np.ma.array([0.5, 1e6], mask=[False, True])
MODEL = fgrkern.LevelDotModel(4, 0.5)

CALLS = {
    "energies": lambda x: fgrkern.survival_probability(x, [0.5, 0.5], [0.0]),
    "weights": lambda x: fgrkern.survival_probability([0.0, 1.0], x, [0.0]),
    "t": lambda x: fgrkern.survival_probability([0.0, 1.0], [0.5, 0.5], x),
    "bath": lambda x: fgrkern.LevelDotModel(2, 0.5, bath=x),
    "tau": lambda x: MODEL.t_from_tau(x),
    "simulate tau": lambda x: fgrkern.simulate(MODEL, x, 2, rng=1),
    "g": lambda x: fgrkern.simulate(MODEL, [0.0], 2, rng=1, g=x),
    "gamma": lambda x: theory.p_res(x),
    "p_tau tau": lambda x: theory.p_tau(x, 1.0),
    "p_tau gamma": lambda x: theory.p_tau(0.5, x),
    "p_sff": lambda x: theory.p_sff(x, 1.0),
    "p_tau_large_gamma": lambda x: theory.p_tau_large_gamma(1.0, x),
    "form_factor": lambda x: theory.form_factor(x),
    "p_off": lambda x: theory.p_off(x),
    "p_plateau": lambda x: theory.p_plateau(x),
    "gamma_gr g": lambda x: theory.gamma_gr(x),
    "gamma_gr lam": lambda x: theory.gamma_gr(1.0, x),
}
NAMES = {"simulate tau": "tau", "p_tau tau": "tau", "p_tau gamma": "gamma", "p_sff": "tau",
         "p_tau_large_gamma": "gamma", "form_factor": "tau", "p_off": "gamma", "p_plateau": "gamma",
         "gamma_gr g": "g", "gamma_gr lam": "lam"}


@pytest.mark.parametrize("arg", sorted(CALLS))
@pytest.mark.parametrize("form", ["masked", "no_mask", "in_list", "nested_list"])
def test_masked_arrays_rejected_everywhere(arg, form):
    x = {"masked": MA, "no_mask": np.ma.array([0.5, 2.0]), "in_list": [MA], "nested_list": [[MA[:1]], [MA[:1]]]}[form]
    if arg in ("tau", "simulate tau", "form_factor", "t", "energies"):
        x = {"masked": np.ma.array([0.0, 1.0], mask=[0, 1]), "no_mask": np.ma.array([0.0, 1.0]),
             "in_list": [np.ma.array([0.0, 1.0])], "nested_list": [[np.ma.array([0.0])], [np.ma.array([1.0])]]}[form]
    if form == "nested_list" and arg in ("energies", "weights", "t", "bath", "g", "simulate tau"):
        x = [np.ma.array([0.0]), 1.0]  # 1-D arguments: a masked element in a flat list
    with pytest.raises(TypeError, match=NAMES.get(arg, arg)):
        CALLS[arg](x)


@pytest.mark.parametrize("value", [np.ma.masked, np.ma.array(0.5), np.ma.array(0.5, mask=True)])
@pytest.mark.parametrize("arg", ["g", "lam", "eps0"])
def test_masked_scalars_rejected(arg, value):
    kw = {"g": 0.5, "lam": 1.0, "eps0": 0.0, arg: value}
    with pytest.raises(TypeError, match=arg):
        fgrkern.LevelDotModel(4, kw["g"], lam=kw["lam"], eps0=kw["eps0"])


def test_masked_weight_would_have_mattered():
    """The reproducer: the unmasked data (1e6) is what np.asarray passes on."""
    assert np.asarray(MA)[1] == 1e6


@pytest.mark.parametrize("arg", ["g", "lam", "eps0"])
def test_huge_python_ints_are_value_errors(arg):
    kw = {"g": 0.5, "lam": 1.0, "eps0": 0.0, arg: 10**400}
    with pytest.raises(ValueError, match=f"{arg} is beyond the double range"):
        fgrkern.LevelDotModel(10, kw["g"], lam=kw["lam"], eps0=kw["eps0"])
    with pytest.raises(ValueError, match="beyond the double range"):
        theory.p_res([1, 10**400])
    # the largest int that still rounds to a finite double is accepted
    assert fgrkern.LevelDotModel(10, 2**1023).g == 2.0**1023


@pytest.mark.parametrize("n", [10**400, 2**53 + 2, 2**64])
def test_dot_size_beyond_exact_floats_is_a_value_error(n):
    """gamma = g N and t_H are computed in floats: N must be one exactly."""
    with pytest.raises(ValueError, match=f"n must be <= {2**53}, got {n}"):
        fgrkern.LevelDotModel(n, 0.5)
    m = fgrkern.LevelDotModel(2**53, 0.5)  # a model, not a sample: only parameters
    assert m.gamma == 0.5 * 2.0**53 and np.isfinite(m.t_from_tau(1.0))


@pytest.mark.parametrize("tau, lam, match", [([0.0, 1e307], 1.0, "tau = 1e\\+307"), ([1.0], 1e-320, "lam = 1e-320"),
                                             ([1e300], 1e-10, "tau = 1e\\+300")])
def test_simulate_time_overflow_before_any_chunk(monkeypatch, tau, lam, match):
    calls = []
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task))
    model = fgrkern.LevelDotModel(10, 0.5, lam=lam)
    with pytest.raises(ValueError, match=match):
        fgrkern.simulate(model, tau, 10, rng=1)
    assert calls == []
    with pytest.raises(ValueError, match=match):
        model.t_from_tau(tau)
    # the neighbour that still fits: t = tau * t_H just below the largest double
    ok = fgrkern.LevelDotModel(10, 0.5).t_from_tau(np.finfo(float).max / 20.0)
    assert np.isfinite(ok)


def test_gamma_gr_limits_overflow_and_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert theory.gamma_gr(0.25, 3.0) == 1.5  # 2 g lam, Eq. (3)
        assert theory.gamma_gr(np.inf) == np.inf and theory.gamma_gr(2.0, np.inf) == np.inf
        assert theory.gamma_gr(0.0, np.inf) == 0.0  # no coupling: no decay at any lam
        np.testing.assert_array_equal(theory.gamma_gr([0.0, 1.0, np.inf], 2.0), [0.0, 4.0, np.inf])
        big = np.finfo(float).max / 2
        assert theory.gamma_gr(big) == np.finfo(float).max  # 2 * (max / 2): exact, still finite
        for g, lam in [(1e308, 1.0), (1e200, 1e200), (np.nextafter(big, np.inf), 1.0)]:
            with pytest.raises(ValueError, match="overflows"):
                theory.gamma_gr(g, lam)
        for g, lam in [(np.nan, 1.0), (1.0, np.nan)]:
            with pytest.raises(ValueError, match="NaN"):
                theory.gamma_gr(g, lam)
        with pytest.raises(ValueError, match="g must be >= 0"):
            theory.gamma_gr(-np.inf)
        with pytest.raises(ValueError, match="lam must be > 0"):
            theory.gamma_gr(1.0, 0.0)
    # consistent with the other theory functions at infinite coupling
    assert theory.p_res(np.inf) == 0.0 and theory.p_tau(0.5, np.inf) == 0.0


def test_simulate_phase_overflow_before_any_chunk(monkeypatch):
    """t = tau t_H finite but e t beyond the double range (lam = 1e10: t_H =
    2e-9, eigenvalues ~1e10): the kernel would refuse every chunk; simulate
    raises ValueError naming tau before the first one.  1e290 still runs."""
    model = fgrkern.LevelDotModel(10, 0.5, lam=1e10)
    calls = []
    orig = _chunks.run_chunk
    monkeypatch.setattr(_chunks, "run_chunk", lambda task: calls.append(task.index) or orig(task))
    with pytest.raises(ValueError, match="tau = 1e\\+307.*phases"):
        fgrkern.simulate(model, [0.0, 1e307], 4, rng=1)
    assert calls == []
    res = fgrkern.simulate(model, [0.0, 1e290], 4, rng=1, chunk_size=4)
    assert calls == [0] and res.mean[0] == 1.0 and 0.0 <= res.mean[1] <= 1.0


def test_model_helpers_validate_their_arguments():
    from fgrkern.model import heisenberg_time, parse_bath_name

    assert heisenberg_time(500, 0.5) == 2000.0  # t_H = 2N/lam
    for args, exc, name in [((5, 0.0), ValueError, "lam"), ((-5, -1.0), ValueError, "n"),
                            ((5, "x"), TypeError, "lam"), ((True, 1.0), TypeError, "n"),
                            ((5, np.inf), ValueError, "lam")]:
        with pytest.raises(exc, match=name):
            heisenberg_time(*args)
    assert parse_bath_name(" Poisson ") == "poisson" and parse_bath_name("nope") is None
    with pytest.raises(TypeError, match="bath name must be a string"):
        parse_bath_name(None)


def test_simulate_refuses_a_model_class_for_an_instance():
    """The class has the protocol's methods (unbound): refused up front, not
    failing later with a missing-argument TypeError inside a chunk."""
    with pytest.raises(TypeError, match="model must be .* got the class LevelDotModel"):
        fgrkern.simulate(fgrkern.LevelDotModel, [0.0, 1.0], 4, rng=1)
