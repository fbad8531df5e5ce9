"""Tridiagonal spectra of many rows at once (dsterf's algorithm in interleaved lanes).

The interleaved path performs, per matrix, the operations of the reference
dsterf in the same order, so it must reproduce the dsterf that SciPy links
bitwise (SciPy's wheels use OpenBLAS, which builds LAPACK from the reference
sources); rows it hands back (blocks dsterf would rescale) go to dsterf itself.
An independent eigensolver (scipy.linalg.eigvalsh_tridiagonal, bisection /
MRRR) checks the spectra to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

from fgrkern import _sampler


def _dumitriu_edelman(rng, rows, L, beta):
    c = 2.0 / math.sqrt(2.0 * beta * L)
    d = rng.standard_normal((rows, L)) * c
    e = np.zeros((rows, L))
    if L > 1:
        e[:, : L - 1] = np.sqrt(rng.standard_gamma(0.5 * beta * np.arange(L - 1, 0, -1), (rows, L - 1))) * c
    return d, e


def _both(d, e):
    a, ea, b, eb = d.copy(), e.copy(), d.copy(), e.copy()
    _sampler.tridiag_eigvals_rows(a, ea, lapack=True)
    _sampler.tridiag_eigvals_rows(b, eb)
    return a, b


@pytest.mark.parametrize("beta", [1, 2, 4])
@pytest.mark.parametrize("L", [2, 3, 5, 17, 200])
def test_bitwise_equal_to_dsterf(beta, L):
    rng = np.random.default_rng(100 * beta + L)
    d, e = _dumitriu_edelman(rng, 11, L, beta)  # more rows than lanes
    if L > 3:
        e[1, L // 2] = 0.0  # the matrix splits into blocks
        e[2, :] = 0.0  # diagonal already
        d[3] *= 1e200  # dsterf rescales: handed back to LAPACK
        e[3] *= 1e200
        d[4] *= 1e-200
        e[4] *= 1e-200
        d[5, :] = 0.25  # a repeated eigenvalue structure
        d[6, :] = 0.0
        e[6, :] = 0.0  # the zero matrix
    a, b = _both(d, e)
    assert a.tobytes() == b.tobytes()
    assert np.all(np.diff(b, axis=1) >= 0)


def test_spectra_match_an_independent_eigensolver():
    rng = np.random.default_rng(3)
    for beta, L in ((1, 64), (2, 300), (4, 129)):
        d, e = _dumitriu_edelman(rng, 9, L, beta)
        _, b = _both(d, e)
        for r in range(d.shape[0]):
            ref = scipy.linalg.eigvalsh_tridiagonal(d[r], e[r, : L - 1])
            # backward stable: errors of a few eps times the norm (here ~2)
            assert np.max(np.abs(b[r] - ref)) < 64 * np.finfo(float).eps * 2.0
            assert math.isclose(b[r].sum(), d[r].sum(), rel_tol=0, abs_tol=1e-12)  # trace


def test_edge_shapes():
    for shape in ((0, 5), (3, 0), (3, 1), (1, 7)):
        d = np.arange(np.prod(shape), dtype=float).reshape(shape)
        e = np.ones(shape)
        a, b = _both(d, e)
        assert a.tobytes() == b.tobytes()
    with pytest.raises(ValueError, match="same shape"):
        _sampler.tridiag_eigvals_rows(np.zeros((2, 3)), np.zeros((2, 4)))


def test_nan_rows_report_like_dsterf():
    d, e = _dumitriu_edelman(np.random.default_rng(5), 9, 20, 2)
    d[4, 3] = np.nan
    outcomes = []
    for lapack in (True, False):
        try:
            a, ea = d.copy(), e.copy()
            _sampler.tridiag_eigvals_rows(a, ea, lapack=lapack)
            outcomes.append(("ok", a[[0, 1, 2, 3, 5, 6, 7, 8]].tobytes()))
        except RuntimeError as exc:
            outcomes.append(("error", str(exc)))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("L", [2, 7, 21, 22, 23, 64, 300])
def test_ties_and_signed_zeros_sorted_as_dsterf(L):
    """Equal eigenvalues (+0 and -0, repeated integers) end in dsterf's order on every path.

    dsterf sorts with dlasrt (insertion sort up to 21 entries, median-of-3
    quicksort above); entries that compare equal keep its order only if the
    same algorithm sorts them, which the sign bits of the zeros show.
    """
    rng = np.random.default_rng(L)
    d = rng.choice(np.array([-0.0, 0.0, 1.0, -1.0, 2.0]), (40, L))
    e = np.zeros((40, L))
    e[20:, : L - 1] = rng.choice(np.array([0.0, 0.0, 0.5]), (20, L - 1))  # some blocks to diagonalise
    d[30:] = np.round(d[30:] * 4.0)  # integer ties
    ref, er = d.copy(), e.copy()
    _sampler.tridiag_eigvals_rows(ref, er, lapack=True)
    assert np.signbit(ref[:20]).any() and (~np.signbit(ref[:20]) & (ref[:20] == 0)).any()
    for path in ["auto", "cycle"] + _sampler.paths():
        a, ea = d.copy(), e.copy()
        _sampler.tridiag_eigvals_rows(a, ea, path=path)
        assert a.tobytes() == ref.tobytes(), path


def _special_rows(rng, L, beta):
    """DE matrices plus rows that take every branch of dsterf's control flow."""
    d, e = _dumitriu_edelman(rng, 40, L, beta)  # more rows than the 16 lanes, not a multiple
    if L > 3:
        e[1, L // 2] = 0.0  # splits into blocks
        e[2, :] = 0.0  # diagonal already
        d[3] *= 1e200  # rescaled by dsterf: handed back to LAPACK mid-batch
        e[3] *= 1e200
        d[4] *= 1e-200
        e[4] *= 1e-200
        d[5, :] = 0.25
        d[6, :] = 0.0
        e[6, :] = 0.0
        # the large diagonal entry at the top or at the bottom: dsterf sweeps
        # QR (upwards) on one, QL (downwards) on the other
        d[7] = np.linspace(10.0, 0.0, L)
        d[8] = np.linspace(0.0, 10.0, L)
        d[9, ::3] *= 1e-9  # graded
        e[10, 1::2] = 1e-300  # off-diagonal squares underflow to zero
    return d, e


@pytest.mark.parametrize("beta", [1, 4])
@pytest.mark.parametrize("L", [2, 3, 9, 40, 200])
def test_vector_scalar_and_lapack_paths_bitwise(beta, L):
    """Every path the CPU can run (vector lanes, interleaved scalar lanes) and LAPACK dsterf."""
    d, e = _special_rows(np.random.default_rng(7 * L + beta), L, beta)
    ref, er = d.copy(), e.copy()
    _sampler.tridiag_eigvals_rows(ref, er, lapack=True)
    for path in ["auto"] + _sampler.paths():
        a, ea = d.copy(), e.copy()
        _sampler.tridiag_eigvals_rows(a, ea, path=path)
        assert a.tobytes() == ref.tobytes(), path


@pytest.mark.parametrize("path", ["auto", "scalar", "cycle"])  # cycle: every path in turn
@pytest.mark.parametrize("slice_steps", [1, 5, 16, 997])
def test_slices_resume_bitwise(path, slice_steps):
    """Stopping after every slice and resuming changes nothing; check runs between slices."""
    L = 60
    d, e = _special_rows(np.random.default_rng(11), L, 2)
    ref, er = d.copy(), e.copy()
    _sampler.tridiag_eigvals_rows(ref, er, lapack=True)
    calls = []
    a, ea = d.copy(), e.copy()
    _sampler.tridiag_eigvals_rows(a, ea, path=path, check=lambda: calls.append(1),
                                  slice_steps=slice_steps)
    assert a.tobytes() == ref.tobytes()
    # each QL/QR step counts against the slice: dsterf needs more than 40 rows * L steps
    assert len(calls) >= 40 * L // (slice_steps + 16)


def test_check_stops_the_computation():
    class Stop(Exception):
        pass

    calls = []

    def check():
        calls.append(1)
        raise Stop

    d, e = _dumitriu_edelman(np.random.default_rng(2), 20, 300, 2)
    with pytest.raises(Stop):
        _sampler.tridiag_eigvals_rows(d, e, check=check, slice_steps=1000)
    assert len(calls) == 1
    # the lapack path checks between rows
    with pytest.raises(Stop):
        _sampler.tridiag_eigvals_rows(d, e, lapack=True, check=check)
    assert len(calls) == 2
    with pytest.raises(ValueError, match="slice_steps"):
        _sampler.tridiag_eigvals_rows(d, e, slice_steps=0)


def test_one_row_and_tiny_sizes_use_the_lanes():
    rng = np.random.default_rng(4)
    for L in (2, 3, 4, 8, 17, 33):
        d, e = _dumitriu_edelman(rng, 1, L, 2)
        a, b = _both(d, e)
        assert a.tobytes() == b.tobytes()


def _lapack_rows(d, e):
    ref, er = d.copy(), e.copy()
    _sampler.tridiag_eigvals_rows(ref, er, lapack=True)
    return ref


def _path_or_skip(path):
    if path != "cycle" and path not in _sampler.paths():
        pytest.skip(f"this CPU or build cannot run the {path} path")
    return path


@pytest.mark.parametrize("path", ["avx2", "avx512", "cycle"])
def test_any_number_of_rows(path):
    """1..40 rows: vector groups (four or eight lanes) partly filled, lanes idle from the start."""
    _path_or_skip(path)
    rng = np.random.default_rng(21)
    for rows in range(1, 41):
        d, e = _dumitriu_edelman(rng, rows, 23, 2)
        a, ea = d.copy(), e.copy()
        _sampler.tridiag_eigvals_rows(a, ea, path=path, slice_steps=37)
        assert a.tobytes() == _lapack_rows(d, e).tobytes(), rows


@pytest.mark.parametrize("path", ["avx2", "avx512", "cycle"])
@pytest.mark.parametrize("slice_steps", [7, 1 << 30])
def test_rows_finishing_at_different_times(path, slice_steps):
    """Matrices of very different effective sizes (a block of 2..L rows, the rest
    diagonal, at the top or at the bottom): lanes finish far apart, sit idle
    beside busy ones and take new rows mid-batch (and across slices)."""
    _path_or_skip(path)
    rng = np.random.default_rng(22)
    L, rows = 150, 37
    d, e = _dumitriu_edelman(rng, rows, L, 1)
    for r, k in enumerate(rng.integers(1, L, size=rows)):
        if r % 2:
            e[r, k : L - 1] = 0.0
        else:
            e[r, : L - 1 - k] = 0.0
    d[::3] *= np.linspace(1.0, 50.0, L)  # some sweep QR, some QL
    a, ea = d.copy(), e.copy()
    _sampler.tridiag_eigvals_rows(a, ea, path=path, slice_steps=slice_steps)
    assert a.tobytes() == _lapack_rows(d, e).tobytes()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_rows_handed_back_on_every_path(bad):
    """Rows with a NaN or an infinity go to dsterf (which may fail) mid-batch on every path."""
    d, e = _dumitriu_edelman(np.random.default_rng(5), 21, 20, 2)
    d[4, 3] = bad
    e[9, 7] = bad
    d[20, 0] = bad
    outcomes = {}
    for path in ["lapack", "cycle"] + _sampler.paths():
        a, ea = d.copy(), e.copy()
        try:
            _sampler.tridiag_eigvals_rows(a, ea, **({"lapack": True} if path == "lapack" else {"path": path}))
            outcomes[path] = ("ok", a.tobytes())
        except RuntimeError as exc:
            outcomes[path] = ("error", str(exc))
    assert all(v == outcomes["lapack"] for v in outcomes.values()), outcomes.keys()
