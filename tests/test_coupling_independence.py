"""simulate(g=[...]) equals separate runs bitwise, for couplings of any size.

The secular path works in an energy unit that grows with g beyond ~1e240
(so that g lam^2 stays representable).  The unit used to be chosen from the
largest g of the call, which changed the numbers of every other g in it
(g = 1e-3 next to g = 1e250 differed from its separate run by ~1e-16).
"""

from __future__ import annotations

import numpy as np
import pytest

import fgrkern

TAU = np.array([0.0, 0.05, 0.7, 3.0])


@pytest.mark.parametrize("method", ["secular", "dense"])
@pytest.mark.parametrize("gs", [[1e-3, 1e250], [1e300, 0.0, 1.0], [1e241, 1e239, 2.0**800]])
def test_several_couplings_equal_separate_runs(method, gs):
    multi = fgrkern.simulate(fgrkern.LevelDotModel(12, 0.5), TAU, 12, rng=4, g=gs, method=method, chunk_size=5)
    for k, g in enumerate(gs):
        single = fgrkern.simulate(fgrkern.LevelDotModel(12, g), TAU, 12, rng=4, method=method, chunk_size=5)
        assert multi.mean[k].tobytes() == single.mean.tobytes(), g
        assert multi.std[k].tobytes() == single.std.tobytes(), g
        assert multi.p_res[k] == single.p_res, g


@pytest.mark.parametrize("symmetry, bath", [("GOE", "wigner-dyson"), ("GSE", "poisson"), ("GUE", "given")])
def test_sampler_hook_any_coupling_mix(symmetry, bath):
    """The one-dot-many-couplings sampler hook, against models built with each g
    alone, with large and small couplings mixed (also in the other order)."""
    n = 10
    levels = np.linspace(-1.0, 1.5, n // 2 if symmetry == "GSE" else n)
    b = levels if bath == "given" else bath
    ss = np.random.SeedSequence(9)
    for gs in ([1e-3, 1e250], [1e250, 1e-3, 1e280]):
        specs = fgrkern.LevelDotModel(n, 0.3, symmetry, 2.0, 0.1, b).sample_couplings(
            np.array(gs), 4, rng=np.random.default_rng(ss), method="secular")
        for spec, g in zip(specs, gs):
            e, w = spec.energies, spec.weights
            ref = fgrkern.LevelDotModel(n, g, symmetry, 2.0, 0.1, b).sample(4, rng=np.random.default_rng(ss))
            assert e.tobytes() == ref.energies.tobytes() and w.tobytes() == ref.weights.tobytes(), g


def test_large_coupling_weights_are_right():
    """g -> infinity: the level is coupled so strongly that |0> splits into the
    two extreme eigenvalues +-sqrt(sum |W|^2) with weight 1/2 each (the dot
    levels become negligible); the rescaled poles must not spoil that."""
    spec = fgrkern.LevelDotModel(8, 1e250, "GUE").sample(3, rng=2)
    np.testing.assert_allclose(spec.weights[:, [0, -1]], 0.5, rtol=1e-12)
    np.testing.assert_allclose(spec.energies[:, 0], -spec.energies[:, -1], rtol=1e-12)
