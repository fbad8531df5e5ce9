"""Vector lanes of the secular solver (src_c/fgr_secular_lanes.h) on the
values where a reciprocal built from a float or 14-bit estimate must fall
back to the division: pole differences beyond float's range (below ~1e-38
and above ~1e38 of each other once scaled), subnormal and zero differences,
and the NaN / infinite ones of the masked-out rows; and the far-field
moment lanes where the gaps sharing a vector have tier bounds far apart
(masked and unmasked pole ranges).  Both solvers (one coupling; far field
with several factors) are compared bitwise with the scalar reference on each
vector path the CPU can run.
"""

from __future__ import annotations

import numpy as np

from fgrkern import _sampler


def _scaled(d, u2, cs, alpha, path):
    L = d.size
    e = np.full((cs.size, 1, L + 1), np.nan)
    w = np.full((cs.size, 1, L + 1), np.nan)
    _sampler.arrowhead_rows_scaled(d[None, :], u2[None, :], cs, alpha, e, w, path=path, min_l=0)
    return e.tobytes(), w.tobytes()


def _clustered_bath(rng, L, exps):
    """Poles on [-1, 1] with a run of gaps 10^-k (k in exps) inserted: their
    differences (and the root offsets in them) span float's range limits."""
    d = list(np.sort(rng.uniform(-1.0, 1.0, L - len(exps))))
    x = float(rng.uniform(-0.5, 0.5))
    for k in exps:
        x = x + 10.0 ** -k
        d.append(x)
    d = np.unique(np.array(d))
    return d


def test_lanes_bitwise_on_float_range_pole_differences(vector_path):
    rng = np.random.default_rng(2026)
    for rep in range(12):
        exps = [int(k) for k in rng.integers(30, 48, int(rng.integers(4, 12)))]
        d = _clustered_bath(rng, int(rng.integers(60, 300)), exps)
        L = d.size
        u2 = rng.standard_gamma(1.0, L) / L
        # tiny couplings keep the roots within ~1e-40 of their poles as well
        cs = np.array([1e-3, 1.0, 40.0, 1e-60, 1e-85])[: int(rng.integers(2, 6))]
        alpha = float(rng.uniform(-1.0, 1.0))
        assert _scaled(d, u2, cs, alpha, vector_path) == _scaled(d, u2, cs, alpha, "scalar"), rep
        for c in cs:
            a = _sampler.arrowhead(d, c * u2, alpha, path=vector_path)
            b = _sampler.arrowhead(d, c * u2, alpha, path="scalar")
            for x, y in zip(a, b):
                assert x.tobytes() == y.tobytes(), (rep, c)


def test_lanes_bitwise_on_wide_scales(vector_path):
    # energies ~2^+-480 with the bath 1e-40 .. 1 of the largest: differences
    # and root offsets far outside float's range in the scaled units
    rng = np.random.default_rng(7)
    for scale in (2.0**-480, 1.0, 2.0**480):
        for rep in range(4):
            L = int(rng.integers(40, 200))
            d = np.sort(np.concatenate([rng.uniform(-1, 1, L // 2), 10.0 ** -rng.uniform(20, 60, L - L // 2)]))
            d = np.unique(d) * scale
            u2 = rng.standard_gamma(1.0, d.size) * 10.0 ** rng.uniform(-6, 0, d.size) * scale * scale / d.size
            cs = np.array([1e-4, 1.0, 8.0])
            alpha = float(rng.uniform(-1, 1)) * scale
            assert _scaled(d, u2, cs, alpha, vector_path) == _scaled(d, u2, cs, alpha, "scalar"), (scale, rep)
            a = _sampler.arrowhead(d, u2, alpha, path=vector_path)
            b = _sampler.arrowhead(d, u2, alpha, path="scalar")
            for x, y in zip(a, b):
                assert x.tobytes() == y.tobytes(), (scale, rep)


def test_moment_lanes_bitwise_on_gaps_of_unequal_widths(vector_path):
    # adjacent gaps whose widths differ by decades: the far-field tiers (64,
    # 512, 8192 half-gaps) of the gaps sharing a vector end at very different
    # poles, so most poles fall in the masked ranges of the moment lanes
    rng = np.random.default_rng(99)
    for rep in range(6):
        L = int(rng.integers(250, 700))
        d = np.cumsum(10.0 ** rng.uniform(-6.0, 0.0, L))
        d = (d - d.mean()) / d.std()
        u2 = rng.standard_gamma(1.0, L) / L
        cs = np.array([1e-6, 0.02, 1.0])
        alpha = float(rng.uniform(-1, 1))
        assert _scaled(d, u2, cs, alpha, vector_path) == _scaled(d, u2, cs, alpha, "scalar"), rep
