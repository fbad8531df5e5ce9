"""Energies ~1e154 |W| and beyond: the secular solver is right or refuses.

The solver works in units of the largest energy; squared couplings below
DBL_MIN in those units are deflated (treated as zero).  That is right when
the coupling is negligible where it acts, and was silently wrong when it
mixes levels closer than |W| (the level on a pole while another pole sits at
1e160: P(t) = 1 instead of an oscillation between two states).  Such input
now raises ValueError; everything else still solves, checked against an
independent 400-digit mpmath diagonalisation of the dense arrowhead.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

import fgrkern
from fgrkern import _sampler


def mp_arrowhead(d, z2, alpha, dps=400):
    """Eigenvalues and first-row weights by mpmath's symmetric eigensolver."""
    with mp.workdps(dps):
        n = len(d) + 1
        A = mp.matrix(n, n)
        A[0, 0] = mp.mpf(alpha)
        for i, (di, zi) in enumerate(zip(d, z2), start=1):
            A[i, i] = mp.mpf(di)
            A[0, i] = A[i, 0] = mp.sqrt(mp.mpf(zi))
        E, Q = mp.eigsy(A)
        order = sorted(range(n), key=lambda j: E[j])
        return (np.array([float(E[j]) for j in order]), np.array([float(Q[0, j] ** 2) for j in order]))


@pytest.mark.parametrize("B", [1e10, 1e100, 1e150, 1e153])
def test_level_on_a_pole_with_far_poles_is_solved(B):
    """poles (-B, 0, B), level at 0: the pair (level, pole 0) splits into
    +-|W_0| with weight 1/2 each, the far poles keep weight ~|W|^2 / B^2."""
    d, z2 = np.array([-B, 0.0, B]), np.array([0.3, 0.05, 0.7])
    e, w, _, _ = _sampler.arrowhead(d, z2, 0.0)
    E, W = mp_arrowhead(d, z2, 0.0)
    np.testing.assert_allclose(e, E, rtol=1e-14)
    np.testing.assert_allclose(w[1:3], W[1:3], rtol=1e-13)
    np.testing.assert_allclose(w[[0, 3]], W[[0, 3]], rtol=1e-10, atol=1e-300)
    if B >= 1e100:  # the far poles' pull (~|W|^2 / B) is below double resolution
        np.testing.assert_allclose(w[1:3], 0.5, rtol=1e-15)


@pytest.mark.parametrize("B", [1e155, 1e160, 1e200, 1e300])
def test_level_on_a_pole_beyond_the_range_is_refused(B):
    """The reproducer (weights were [0, 0, 1, 0]): ValueError, not a wrong spectrum."""
    with pytest.raises(ValueError, match="too many decades"):
        _sampler.arrowhead(np.array([-B, 0.0, B]), np.array([0.3, 0.05, 0.7]), 0.0)
    with pytest.raises(ValueError, match="too many decades"):
        fgrkern.LevelDotModel(3, 0.5, bath=[-B, 0.0, B]).sample(1, rng=1)


@pytest.mark.parametrize("bath", [[0.0, 1.0, 2.0, 1e200], [-1e160, -0.5, 0.5, 1e160]])
def test_model_refuses_relevant_coupling_lost_to_scale(bath):
    """Dot levels within |W| of the level next to a level at >= 1e154 |W|."""
    with pytest.raises(ValueError, match="eps0.*lam"):
        fgrkern.LevelDotModel(4, 0.5, "GOE", bath=bath).sample(2, rng=3)


@pytest.mark.parametrize("alpha, d", [(1e100, [-1e200, 0.0, 1e200]), (1e160, [-1.0, 0.0, 1.0]),
                                      (0.0, [1e200, 2e200, 3e200])])
def test_negligible_couplings_far_from_everything_still_solve(alpha, d):
    """Couplings deflated by the threshold but negligible where they act (the
    level far from every pole): solved, the level keeps weight 1 to double
    precision and every eigenvalue is right (mpmath) to double precision of
    the largest energy (a deflated pole keeps its value; its true shift
    |W|^2 / distance is below that)."""
    d, z2 = np.array(d), np.array([0.2, 0.5, 0.3])
    e, w, _, _ = _sampler.arrowhead(d, z2, alpha)
    E, W = mp_arrowhead(d, z2, alpha)
    np.testing.assert_allclose(e, E, rtol=1e-15, atol=1e-15 * np.max(np.abs(E)))
    np.testing.assert_allclose(w, W, atol=1e-15)
    spec = fgrkern.LevelDotModel(3, 0.5, eps0=alpha, bath=d).sample(2, rng=1)
    assert np.all(spec.weights.max(axis=1) == 1.0)


def test_model_scale_choice_keeps_small_couplings():
    """bath (-1e150, 0, 1e150), level at 0: the coupling factor g lam^2 / u^2
    underflowed in the old unit u ~ 1e150 only beyond ~1e154; the model now
    picks a smaller unit, so the solved weights match mpmath at 1e150 and the
    pair at 0 shares the weight evenly."""
    spec = fgrkern.LevelDotModel(3, 0.5, bath=[-1e150, 0.0, 1e150]).sample(4, rng=2)
    np.testing.assert_allclose(spec.weights[:, 1:3], 0.5, rtol=1e-12)
    np.testing.assert_allclose(spec.energies[:, 1], -spec.energies[:, 2], rtol=1e-12)


def test_level_on_pole_tiny_coupling():
    """One pole, the level on it: eigenvalues d +- |W|, weights 1/2 (exact 2x2
    result) while z2 = |W|^2 is a normal number; below DBL_MIN the solver
    cannot form the offsets and refuses (it returned weights 0 and 1)."""
    e, w, _, _ = _sampler.arrowhead(np.array([2.0]), np.array([1e-300]), 2.0)
    np.testing.assert_allclose(w, [0.5, 0.5], rtol=1e-15)
    assert np.all(e == 2.0)  # 2 +- 1e-150 rounds to 2
    with pytest.raises(ValueError, match="too many decades"):
        _sampler.arrowhead(np.array([2.0]), np.array([1e-310]), 2.0)


def test_repeated_pole_group_merges_subthreshold_couplings():
    """A repeated pole whose copies have couplings below and above DBL_MIN is
    one group (couplings add); nothing is refused, and the result is mpmath's."""
    d, z2 = np.array([-1.0, 1.0, 1.0]), np.array([0.3, 1e-309, 0.2])
    e, w, _, _ = _sampler.arrowhead(d, z2, 0.0)
    E, W = mp_arrowhead(d, z2, 0.0)
    np.testing.assert_allclose(e, E, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(w, W, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("alpha", [-1e292, 1e250, -1e200])
def test_far_detuned_level_with_a_coupled_bath_solves(alpha):
    """A bath of width ~1e139 with couplings ~1e139 and the level at >= 1e200:
    the couplings fall below the threshold in units of |alpha|, yet each only
    gives its pole a weight ~|W|^2 / alpha^2 (the first-order test, not the
    distance to the nearest root, which is another bath level's ~1e139).  Was
    refused ("too many decades"); solved, against 400-digit mpmath."""
    d = np.array([-2e139, -5e138, 5e138, 2e139])
    z2 = 1e278 * np.array([0.3, 0.05, 0.7, 0.2])
    e, w, _, _ = _sampler.arrowhead(d, z2, alpha)
    E, W = mp_arrowhead(d, z2, alpha)
    np.testing.assert_allclose(e, E, rtol=1e-15, atol=1e-15 * np.max(np.abs(E)))
    np.testing.assert_allclose(w, W, rtol=0, atol=1e-15)
    assert abs(w.sum() - 1.0) <= 1e-15
    spec = fgrkern.LevelDotModel(4, 1.0, "GUE", lam=1e139, eps0=alpha).sample(4, rng=7)
    np.testing.assert_allclose(spec.weights.sum(axis=1), 1.0, rtol=0, atol=1e-15)
