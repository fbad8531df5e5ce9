"""The private compiled wrappers check their buffer sizes.

The Cython modules are built with ``boundscheck=False``: every size relation
the C code relies on must be checked explicitly at the wrapper, or a caller
with mismatched buffers reads or writes out of bounds.  Each wrapper gets
the mismatches it could be handed (short outputs, mismatched rows/columns,
index ranges outside the arrays) and must raise ValueError; the matching
call still works.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fgrkern import _kernel, _theory


def test_removed_tuning_wrappers_are_gone():
    for name in ("p_tau_tune", "p_tau_tune_cost", "p_tau_cost"):
        assert not hasattr(_theory, name), name


@pytest.mark.parametrize("short", [0, 1, 2])
def test_bessel_i01e_short_output(short):
    z = np.linspace(0.0, 5.0, 7)
    outs = [np.empty(7) for _ in range(3)]
    outs[short] = np.empty(3)
    with pytest.raises(ValueError, match="length of z"):
        _theory.bessel_i01e(z, *outs)


def test_bessel_i01e_matches_definition():
    # e^{-z} I_0(z) = 1 at z = 0 and I_1(0) = 0; at z = 1 from the series
    # I_nu(z) = sum_k (z/2)^(2k+nu) / (k! (k+nu)!)
    z = np.array([0.0, 1.0])
    i0, i1, d = np.empty(2), np.empty(2), np.empty(2)
    _theory.bessel_i01e(z, i0, i1, d)
    s0 = sum(0.25 ** k / math.factorial(k) ** 2 for k in range(30))
    s1 = sum(0.5 ** (2 * k + 1) / (math.factorial(k) * math.factorial(k + 1)) for k in range(30))
    np.testing.assert_allclose(i0, [1.0, math.exp(-1) * s0], rtol=1e-15)
    np.testing.assert_allclose(i1, [0.0, math.exp(-1) * s1], rtol=1e-15)
    np.testing.assert_allclose(d, i0 - i1, rtol=1e-15)


@pytest.mark.parametrize("fn", ["p_tau_range", "p_tau_fine_range"])
@pytest.mark.parametrize("bad", ["short_out", "short_gamma", "stop_past_end", "negative_start", "reversed"])
def test_theory_range_wrappers_check_sizes(fn, bad):
    n = 4
    tau, gamma, out = np.full(n, 0.5), np.full(n, 1.0), np.empty(n)
    start, stop = 0, n
    if bad == "short_out":
        out = np.empty(2)
    elif bad == "short_gamma":
        gamma = np.full(2, 1.0)
    elif bad == "stop_past_end":
        stop = n + 1000
    elif bad == "negative_start":
        start = -3
    else:
        start, stop = 3, 1
    with pytest.raises(ValueError):
        getattr(_theory, fn)(tau, gamma, out, start, stop)


@pytest.mark.parametrize("start, stop, n_out", [(0, 9, 4), (-1, 2, 4), (0, 4, 2), (3, 2, 4)])
def test_p_res_range_checks_sizes(start, stop, n_out):
    with pytest.raises(ValueError):
        _theory.p_res_range(np.full(4, 1.0), np.empty(n_out), start, stop)


def test_theory_range_wrappers_valid_call():
    out = np.full(3, -1.0)
    _theory.p_res_range(np.array([0.0, 1.0, np.inf]), out, 0, 3)
    assert out[0] == 1.0 and out[2] == 0.0  # P_res(0) = 1, P_res(inf) = 0 (Eq. 4)
    out = np.full(2, -1.0)
    _theory.p_tau_range(np.array([0.0, 0.3]), np.array([1.0, 1.0]), out, 1, 1)  # empty range: no-op
    assert np.all(out == -1.0)


def _rows(R=3, M=5, T=4):
    rng = np.random.default_rng(0)
    return rng.normal(size=(R, M)), rng.random((R, M)), np.linspace(0.0, 1.0, T), np.empty((R, T))


@pytest.mark.parametrize("uniform", [False, True])
@pytest.mark.parametrize("bad", ["fewer_weight_rows", "fewer_weight_cols", "out_columns", "out_rows",
                                 "stop_past_end", "negative_start"])
def test_survival_rows_checks_shapes(uniform, bad):
    e, w, t, out = _rows()
    start, stop = 0, 3
    if bad == "fewer_weight_rows":
        w = w[:1].copy()
    elif bad == "fewer_weight_cols":
        w = np.ascontiguousarray(w[:, :3])
    elif bad == "out_columns":
        out = np.empty((3, 2))
    elif bad == "out_rows":
        out = np.empty((1, 4))
    elif bad == "stop_past_end":
        stop = 10**6
    else:
        start = -1
    with pytest.raises(ValueError, match="survival_rows"):
        _kernel.survival_rows(e, w, t, out, start, stop, uniform, 1.0 / 3.0)


def test_survival_rows_valid_call_is_p_of_t():
    # one eigenpair: P(t) = w^2 for every t; two: w1^2 + w2^2 + 2 w1 w2 cos((e1 - e2) t)
    e = np.array([[0.3, 0.0], [1.0, -1.0]])
    w = np.array([[0.5, 0.0], [0.25, 0.75]])
    t = np.array([0.0, 0.7, 2.0])
    out = np.empty((2, 3))
    _kernel.survival_rows(e, w, t, out, 0, 2, False, 0.0)
    np.testing.assert_allclose(out[0], 0.25, rtol=1e-15)
    np.testing.assert_allclose(out[1], 0.25 ** 2 + 0.75 ** 2 + 2 * 0.25 * 0.75 * np.cos(2.0 * t), rtol=1e-14)


def test_ipr_rows_and_sincos_check_sizes():
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match="ipr_rows"):
        _kernel.ipr_rows(w, np.empty(1), 0, 2)
    with pytest.raises(ValueError, match="ipr_rows"):
        _kernel.ipr_rows(w, np.empty(2), 0, 3)
    with pytest.raises(ValueError, match="sincos"):
        _kernel.sincos(np.zeros(5), np.empty(5), np.empty(4))
    _kernel.sincos(np.zeros(0), np.empty(0), np.empty(0))  # empty input: nothing to index
    s, c = np.empty(2), np.empty(2)
    _kernel.sincos(np.array([0.0, np.pi / 2]), s, c)
    np.testing.assert_allclose(s, [0.0, 1.0], atol=1e-16)
    np.testing.assert_allclose(c, [1.0, 0.0], atol=1e-16)


@pytest.mark.parametrize("T", [3, 10, 26, 83])
def test_uniform_path_last_odd_block_is_exact(T):
    """Grids whose number of anchor blocks J is odd (T = 3: J = 1; 10: J = 3;
    26: J = 5; 83: J = 9): the unpaired last block is computed from its own
    anchor; compared with the closed form for two eigenpairs."""
    e = np.array([[0.9, -0.4]])
    w = np.array([[0.3, 0.7]])
    t = np.linspace(0.0, 5.0, T)
    out = np.empty((1, T))
    _kernel.survival_rows(e, w, t, out, 0, 1, True, float(t[1] - t[0]))
    exact = 0.3 ** 2 + 0.7 ** 2 + 2 * 0.3 * 0.7 * np.cos(1.3 * t)
    np.testing.assert_allclose(out[0], exact, rtol=0, atol=1e-14)
