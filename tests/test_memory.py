"""Bounded memory and no leaks.

- Temporaries: numpy reports its data allocations to tracemalloc, so the
  traced peak during a call measures every array temporary the Python layer
  creates.  The bound is O(output + input) -- in particular broadcasting must
  not materialise the broadcast (batch, M) arrays.  The C scratch (4 M
  doubles per worker thread) is malloc'd outside numpy and is O(M) by
  construction; the leak test below covers it.
- Leaks: resident set size after thousands of calls (including calls that
  fail validation and calls with worker threads) must not grow beyond a
  bound far below what one leaked buffer per call would add.
"""

from __future__ import annotations

import gc
import os
import tracemalloc

import numpy as np
import pytest

import fgrkern
from fgrkern import _samplers


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
SANITIZED = os.environ.get("FGRKERN_SANITIZED") == "1"


def _traced_peak(fn):
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize("grid", ["uniform", "general"])
def test_kernel_broadcast_temporaries_are_o_output(grid):
    """One spectrum shared by 4000 weight rows, T = 3: materialising the
    broadcast energies would cost 4000 * 2000 * 8 = 64 MB; the output is 96 kB
    and the inputs 64 MB (weights) + 16 kB.  Allowed: output + 1.5 * largest
    *replicated* input beyond what exists already, i.e. well under 64 MB extra."""
    rng = np.random.default_rng(0)
    R, M, T = 4000, 2000, 3
    e = rng.normal(size=M)
    w = rng.random((R, M))
    t = np.linspace(0.0, 1.0, T) if grid == "uniform" else np.array([0.0, 0.3, 1.0])
    P, peak = _traced_peak(lambda: fgrkern.survival_probability(e, w, t, grid=grid, workers=2))
    out_bytes = P.nbytes
    # w is already float64 C-contiguous -> no copy; w<0 check makes a bool temp of R*M bytes
    allowed = out_bytes + R * M * 1 + 8 * (R + M + T) * 16 + (4 << 20)
    assert peak < allowed, f"peak {peak / 1e6:.1f} MB > allowed {allowed / 1e6:.1f} MB"
    # and the result is right: row r equals the unbroadcast call
    np.testing.assert_array_equal(P[17], fgrkern.survival_probability(e, w[17], t, grid=grid))


def test_kernel_outer_broadcast_temporaries():
    """energies (K, 1, M) x weights (1, K, M): batch K^2 rows from 2K input rows."""
    rng = np.random.default_rng(1)
    K, M, T = 300, 400, 2
    e = rng.normal(size=(K, 1, M))
    w = rng.random((1, K, M))
    t = np.array([0.0, 2.0])
    P, peak = _traced_peak(lambda: fgrkern.survival_probability(e, w, t))
    materialised = K * K * M * 8  # 288 MB per broadcast array
    allowed = P.nbytes + 8 * K * K * 2 + 2 * (e.nbytes + w.nbytes) + (4 << 20)
    assert peak < allowed < materialised / 4, (peak, allowed)
    np.testing.assert_array_equal(P[5, 7], fgrkern.survival_probability(e[5, 0], w[0, 7], t))


def _leak_check(call, n_calls, per_call_leak_detectable):
    """RSS growth over n_calls (after warm-up) must stay below a quarter of
    what a leak of ``per_call_leak_detectable`` bytes per call would add."""
    for _ in range(max(50, n_calls // 10)):
        call()
    gc.collect()
    before = _rss_bytes()
    for _ in range(n_calls):
        call()
    gc.collect()
    grown = _rss_bytes() - before
    bound = max(2 << 20, n_calls * per_call_leak_detectable // 4)
    assert grown < bound, f"RSS grew by {grown / 1e6:.2f} MB over {n_calls} calls (bound {bound / 1e6:.2f} MB)"


@pytest.mark.skipif(SANITIZED, reason="ASan quarantines freed memory: RSS is not meaningful")
@pytest.mark.parametrize("grid", ["uniform", "general"])
def test_kernel_no_leak(grid):
    rng = np.random.default_rng(2)
    M = 4096  # 4 M doubles of C scratch = 128 kB per call if leaked
    e, w = rng.normal(size=(2, M)), rng.random((2, M))
    t = np.linspace(0, 5, 8) if grid == "uniform" else np.array([0.0, 1.5, 0.2])

    def call():
        fgrkern.survival_probability(e, w, t, grid=grid, workers=2, return_ipr=True)

    _leak_check(call, 800, 4 * M * 8)


@pytest.mark.skipif(SANITIZED, reason="ASan quarantines freed memory: RSS is not meaningful")
def test_kernel_no_leak_on_error_paths():
    """Validation failures (every error branch) must not leak either."""
    big = np.ones((4, 20000))  # 640 kB per input
    bad_calls = [
        lambda: fgrkern.survival_probability(big, -big, [0.0]),
        lambda: fgrkern.survival_probability(big, big * np.nan, [0.0]),
        lambda: fgrkern.survival_probability(big, big[:3], [0.0]),
        lambda: fgrkern.survival_probability(big, big, [0.0], grid="bad"),
        lambda: fgrkern.survival_probability(big * 1e200, big, [1e200]),
    ]

    def call():
        for c in bad_calls:
            try:
                c()
            except (ValueError, TypeError):
                pass
            else:  # pragma: no cover
                raise AssertionError("expected an error")

    _leak_check(call, 300, big.nbytes)


# --------------------------------------------------------------------------
# sampler
# --------------------------------------------------------------------------
@pytest.mark.skipif(SANITIZED, reason="ASan quarantines freed memory: RSS is not meaningful")
@pytest.mark.parametrize("symmetry, method, n", [("GUE", "secular", 300), ("GSE", "secular", 300),
                                                 ("GOE", "dense", 80), ("GUE", "dense", 80)])
def test_sampler_no_leak(symmetry, method, n):
    """Scratch of the secular solver (O(N) per call) and LAPACK workspaces
    (O(N^2) for dense) are freed: a leak would add >= 8 N bytes per call."""
    from fgrkern._parallel import single_threaded_blas

    model = fgrkern.LevelDotModel(n, 0.5, symmetry)
    with single_threaded_blas():
        _leak_check(lambda: model.sample(2, rng=1, method=method), 100 if method == "dense" else 150,
                    8 * n * (n if method == "dense" else 4))


def test_sampler_temporaries_bounded(monkeypatch):
    """sample(size) of the secular path works in blocks of _samplers._CHUNK_ELEMENTS
    random numbers per array, so its temporaries beyond the (size, M) output
    are O(block) -- not size * N per array.  The block is shrunk to 2^12 here
    so that the two regimes differ by far at a cheap size."""

    monkeypatch.setattr(_samplers, "_CHUNK_ELEMENTS", 1 << 12)
    model = fgrkern.LevelDotModel(100, 0.5, "GOE")
    spec, peak = _traced_peak(lambda: model.sample(3000, rng=1))
    out = spec.energies.nbytes + spec.weights.nbytes
    allowed = out + 8 * 8 * (1 << 12) + (1 << 20)  # up to two generations of ~3 block arrays
    unblocked = out + 3 * 8 * 3000 * 100
    assert peak < allowed < unblocked, (peak / 1e6, allowed / 1e6)


# --------------------------------------------------------------------------
# theory
# --------------------------------------------------------------------------
def test_p_tau_temporaries_are_o_output():
    """tau (T, 1) x gamma (1, G): temporaries a small multiple of the output."""
    tau = np.linspace(0.0, 3.0, 100)[:, None]
    gamma = np.linspace(0.1, 0.5, 10)[None, :]
    P, peak = _traced_peak(lambda: fgrkern.theory.p_tau(tau, gamma, workers=2))
    assert P.shape == (100, 10)
    assert peak < 12 * P.nbytes + (1 << 20), (peak, P.nbytes)


@pytest.mark.skipif(SANITIZED, reason="ASan quarantines freed memory: RSS is not meaningful")
def test_theory_no_leak():
    tau = np.linspace(0.0, 3.0, 8)
    gamma = np.linspace(0.1, 0.5, 8)

    def call():
        fgrkern.theory.p_tau(tau, gamma, workers=2)
        fgrkern.theory.p_res(gamma)
        fgrkern.theory.p_sff(tau, gamma, "GOE")

    _leak_check(call, 300, 8 * 8 * 4)
