"""The dense sampler's weights of every realisation sum to 1 up to rounding.

LAPACK's eigenvectors are unit vectors only to ~1e-13 of working precision
times N, so the first-row weights summed to 1 within ~1e-14..1e-13 and the
survival probability P(0) = (sum_a w_a)^2 = 1 (exact identity) and P <= 1
(Cauchy-Schwarz) showed errors at that level.  After normalisation the
exact sum (math.fsum) is within 2 ulps of 1 and P within a few ulps.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrkern

EPS = np.finfo(float).eps


@settings(max_examples=40, deadline=None)
@given(symmetry=st.sampled_from(["GOE", "GUE", "GSE"]), half_n=st.integers(1, 30),
       log_g=st.floats(-4, 2), eps0=st.floats(-3, 3), bath=st.sampled_from(["wigner-dyson", "poisson", "given"]),
       seed=st.integers(0, 2**32 - 1))
def test_dense_weights_sum_to_one(symmetry, half_n, log_g, eps0, bath, seed):
    n = 2 * half_n
    levels = np.linspace(-1.8, 1.8, half_n if symmetry == "GSE" else n)
    model = fgrkern.LevelDotModel(n, 10.0**log_g, symmetry, eps0=eps0, bath=levels if bath == "given" else bath)
    spec = model.sample(3, rng=seed, method="dense")
    for row in spec.weights:
        assert abs(math.fsum(row) - 1.0) <= 2 * EPS, math.fsum(row) - 1.0
    P = fgrkern.survival_probability(spec.energies, spec.weights, [0.0, 0.37, 5.0])
    assert np.all(np.abs(P[:, 0] - 1.0) <= 8 * EPS)  # P(0) = (sum w)^2 = 1
    assert np.all(P <= 1.0 + 8 * EPS)                 # |sum w e^{-iet}|^2 <= (sum w)^2


def test_dense_first_moment_still_exact():
    """Normalising moves the weights by ~1e-14 only: the exact identity
    <0|H|0> = sum_a w_a e_a = eps0 still holds row by row."""
    model = fgrkern.LevelDotModel(30, 0.4, "GUE", eps0=0.25)
    spec = model.sample(50, rng=3, method="dense")
    # <0|H|0> = eps0 exactly: sum_a w_a e_a = eps0 for every realisation
    np.testing.assert_allclose(np.sum(spec.weights * spec.energies, axis=1), 0.25, atol=1e-13)
