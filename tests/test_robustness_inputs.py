"""Hostile inputs for every public entry point.

For each input class the expected outcome is specified and asserted: either a
correct result (equal -- bitwise where the computation is the same -- to the
result for the canonical float64, C-contiguous input), or a ValueError /
TypeError whose message names the offending argument.  Never a crash, a hang,
a silent NaN/inf or a wrong number.

Input classes: NaN/inf; huge and tiny magnitudes; empty and zero-length
arrays; wrong dtypes (int, float16/32, complex, bool, object, str, datetime);
non-contiguous, negative-stride and Fortran-ordered views; broadcasting
mismatches; 0-d arrays; read-only arrays; absurd sizes.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fgrkern
from fgrkern import _validation
from fgrkern import survival_probability as sp

FMAX = np.finfo(np.float64).max
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def raises_naming(exc, name, fn, *args, **kwargs):
    """Call fn; it must raise ``exc`` with ``name`` in the message."""
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert re.search(rf"\b{re.escape(name)}\b", str(info.value)), (
        f"{type(info.value).__name__} message does not name {name!r}: {info.value}"
    )
    return info.value


# Every dtype that is not a real number, as arrays built from valid values.
def _bad_dtype_arrays(x):
    x = np.asarray(x, dtype=np.float64)
    return {
        "complex": x.astype(np.complex128),
        "complex-zero-imag": x + 0j,
        "bool": x > np.median(x),
        "object": x.astype(object),
        "str": x.astype(str),
        "bytes": x.astype("S8"),
        "datetime": x.astype(np.int64).astype("datetime64[s]"),
        "timedelta": x.astype(np.int64).astype("timedelta64[s]"),
    }


# --------------------------------------------------------------------------
# survival_probability(energies, weights, t)
# --------------------------------------------------------------------------
KARGS = ("energies", "weights", "t")


def _valid_kernel_args(rng, R=3, M=7, T=11):
    e = rng.normal(size=(R, M))
    w = rng.random((R, M))
    w /= w.sum(axis=-1, keepdims=True)
    t = np.linspace(0.0, 20.0, T)
    return {"energies": e, "weights": w, "t": t}


def _call(args, **kw):
    return sp(args["energies"], args["weights"], args["t"], **kw)


finite_arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False),
)


@FAST
@given(
    which=st.sampled_from(KARGS),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    pos=st.integers(0, 10**6),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_nonfinite_rejected(which, bad, pos, seed):
    """NaN/inf anywhere in any array argument -> ValueError naming it."""
    args = _valid_kernel_args(np.random.default_rng(seed))
    x = args[which].copy()
    x.flat[pos % x.size] = bad
    args[which] = x
    raises_naming(ValueError, which, _call, args)


@pytest.mark.parametrize("which", KARGS)
@pytest.mark.parametrize("kind", list(_bad_dtype_arrays([1.0, 2.0])))
def test_kernel_non_real_dtypes_rejected(which, kind):
    args = _valid_kernel_args(np.random.default_rng(1))
    args[which] = _bad_dtype_arrays(np.abs(args[which]) * 10)[kind]
    raises_naming(TypeError, which, _call, args)


@pytest.mark.parametrize("which", KARGS)
@pytest.mark.parametrize("bad", [None, "abc", [1.0, [2.0, 3.0]], {"a": 1}, object()])
def test_kernel_non_array_rejected(which, bad):
    args = _valid_kernel_args(np.random.default_rng(2))
    args[which] = bad
    raises_naming((TypeError, ValueError), which, _call, args)


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64, np.float16, np.float32]
)
def test_kernel_real_dtypes_are_converted_exactly(dtype):
    """Integer and low-precision float input = the same values in float64, bitwise."""
    rng = np.random.default_rng(3)
    e = rng.integers(0, 20, size=(4, 6)).astype(dtype)
    w = rng.integers(1, 5, size=(4, 6)).astype(dtype)
    t = np.arange(9).astype(dtype)
    ref = sp(e.astype(np.float64), w.astype(np.float64), t.astype(np.float64))
    got = sp(e, w, t)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ref)


def _views(x, rng):
    """Non-canonical layouts holding the same values as ``x`` (2-D or 1-D)."""
    out = {}
    big = np.empty(x.shape[:-1] + (2 * x.shape[-1],))
    big[..., ::2] = x
    out["strided"] = big[..., ::2]
    out["negative-stride"] = np.ascontiguousarray(x[..., ::-1])[..., ::-1]
    if x.ndim == 2:
        out["fortran"] = np.asfortranarray(x)
        out["row-negative-stride"] = np.ascontiguousarray(x[::-1])[::-1]
    ro = x.copy()
    ro.flags.writeable = False
    out["read-only"] = ro
    out["broadcast-view"] = np.broadcast_to(x, x.shape)  # read-only, non-owning
    unaligned = np.frombuffer(b"\0" + x.astype("<f8").tobytes(), dtype="<f8", offset=1).reshape(x.shape)
    out["unaligned"] = unaligned
    out["big-endian"] = x.astype(">f8")
    return out


@FAST
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(KARGS), grid=st.sampled_from(["auto", "general"]))
def test_kernel_views_give_bitwise_same_result(seed, which, grid):
    rng = np.random.default_rng(seed)
    args = _valid_kernel_args(rng, R=int(rng.integers(1, 4)), M=int(rng.integers(1, 9)),
                              T=int(rng.integers(1, 80)))
    ref = _call(args, grid=grid)
    for kind, v in _views(args[which], rng).items():
        before = np.array(v, copy=True)
        a = dict(args)
        a[which] = v
        np.testing.assert_array_equal(_call(a, grid=grid), ref, err_msg=kind)
        np.testing.assert_array_equal(v, before, err_msg=f"{kind}: input modified")


def test_kernel_does_not_modify_inputs():
    args = _valid_kernel_args(np.random.default_rng(4))
    copies = {k: v.copy() for k, v in args.items()}
    _call(args, return_ipr=True)
    for k in args:
        np.testing.assert_array_equal(args[k], copies[k])


@FAST
@given(
    eshape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=3),
    wshape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=3),
    M=st.integers(1, 4),
    T=st.integers(0, 5),
    seed=st.integers(0, 2**16),
)
def test_kernel_broadcasting(eshape, wshape, M, T, seed):
    """Broadcast like a gufunc with core dimension M: result equals the row-by-row
    loop over the broadcast batch; incompatible batch shapes -> ValueError naming
    both arrays; different M -> ValueError naming both."""
    rng = np.random.default_rng(seed)
    eshape, wshape = eshape[:-1] + (M,), wshape[:-1] + (M,)
    e = rng.normal(size=eshape)
    w = rng.random(wshape)
    t = np.linspace(0.0, 3.0, T)
    try:
        batch = np.broadcast_shapes(eshape[:-1], wshape[:-1])
    except ValueError:
        err = raises_naming(ValueError, "energies", sp, e, w, t)
        assert "weights" in str(err)
        return
    P, ipr = sp(e, w, t, return_ipr=True)
    assert P.shape == batch + (T,) and ipr.shape == batch
    eb, wb = np.broadcast_to(e, batch + (M,)), np.broadcast_to(w, batch + (M,))
    for idx in np.ndindex(*batch):
        np.testing.assert_array_equal(P[idx], sp(eb[idx].copy(), wb[idx].copy(), t))
        assert ipr[idx] == np.sum(wb[idx] ** 2) or math.isclose(ipr[idx], np.sum(wb[idx] ** 2), rel_tol=1e-15)
    err = raises_naming(ValueError, "energies", sp, e, np.ones(wshape[:-1] + (M + 1,)), t)
    assert "weights" in str(err)


def test_kernel_zero_d_and_empty():
    raises_naming(ValueError, "energies", sp, np.float64(1.0), [1.0], [0.0])
    raises_naming(ValueError, "weights", sp, [1.0], np.array(1.0), [0.0])
    raises_naming(ValueError, "t", sp, [1.0], [1.0], np.zeros((2, 2)))
    # M = 0: nothing to sum over -> error naming the arrays
    raises_naming(ValueError, "energies", sp, np.zeros((3, 0)), np.zeros((3, 0)), [0.0])
    # a 0-d t gives the batch shape; P(0) = (sum w)^2 exactly for integer-valued w
    assert sp([1.0, 2.0], [1.0, 2.0], np.array(0.0)).shape == ()
    assert sp([1.0, 2.0], [1.0, 2.0], np.array(0.0)) == 9.0
    # empty batch or empty t: empty result of the right shape, no error
    assert sp(np.zeros((0, 3)), np.zeros((0, 3)), [0.0, 1.0]).shape == (0, 2)
    assert sp(np.zeros((2, 0, 3)), np.ones(3), [0.0]).shape == (2, 0, 1)
    P, ipr = sp(np.ones((2, 3)), np.ones((2, 3)), np.zeros(0), return_ipr=True)
    assert P.shape == (2, 0)
    np.testing.assert_array_equal(ipr, [3.0, 3.0])


@settings(max_examples=150, deadline=None)
@given(
    emag=st.integers(-320, 308), tmag=st.integers(-320, 308), wmag=st.integers(-320, 308),
    seed=st.integers(0, 2**16),
)
def test_kernel_extreme_magnitudes(emag, tmag, wmag, seed):
    """Huge and tiny (down to subnormal) magnitudes: either a finite result in
    [0, (sum w)^2] with P(0) = (sum w)^2, or a ValueError naming the cause when
    the phases e*t or P itself are not representable.  Never NaN or inf."""
    rng = np.random.default_rng(seed)
    e = rng.uniform(-1, 1, 5) * 10.0**emag
    w = rng.uniform(0.1, 1, 5) * 10.0**wmag
    t = np.concatenate([[0.0], rng.uniform(-1, 1, 6) * 10.0**tmag])
    assume(np.all(np.isfinite(e)) and np.all(np.isfinite(w)) and np.all(np.isfinite(t)))
    with np.errstate(over="ignore"):
        wsum = float(np.sum(w))  # may be inf: then P overflows
    phase_overflow = float(np.max(np.abs(e))) * float(np.max(np.abs(t))) > FMAX
    p_overflow = (wsum * wsum) > FMAX / 2
    if phase_overflow or p_overflow:
        err = raises_naming(ValueError, "energies" if phase_overflow else "weights", sp, e, w, t)
        assert "overflow" in str(err)
        return
    P = sp(e, w, t)
    assert np.all(np.isfinite(P))
    assert np.all(P >= 0) and np.all(P <= (wsum * wsum) * (1 + 1e-12))
    assert math.isclose(P[0], (wsum * wsum), rel_tol=1e-14) or ((wsum * wsum) < 1e-290 and P[0] <= 1e-290)


@pytest.mark.parametrize(
    "kw, name, exc",
    [
        ({"workers": 0}, "workers", ValueError),
        ({"workers": -2}, "workers", ValueError),
        ({"workers": 1.5}, "workers", TypeError),
        ({"workers": "2"}, "workers", TypeError),
        ({"workers": True}, "workers", TypeError),
        ({"grid": "Uniform!"}, "grid", ValueError),
        ({"grid": None}, "grid", ValueError),
        ({"grid": np.array(["uniform", "general"])}, "grid", ValueError),
    ],
)
def test_kernel_bad_options(kw, name, exc):
    args = _valid_kernel_args(np.random.default_rng(5))
    raises_naming(exc, name, _call, args, **kw)


def test_kernel_workers_huge_is_capped():
    """workers far beyond the core count must not spawn thousands of threads
    or change the result."""
    args = _valid_kernel_args(np.random.default_rng(6), R=5)
    np.testing.assert_array_equal(_call(args, workers=10**6), _call(args, workers=1))


def test_kernel_absurd_size_fails_up_front():
    """A broadcast batch of 1e10 rows needs 80 GB for the output alone: the call
    must raise MemoryError before allocating (not be OOM-killed, not hang)."""
    e = np.zeros((100_000, 1, 1))
    w = np.ones((1, 100_000, 1))
    with pytest.raises(MemoryError, match="GiB"):
        sp(e, w, [0.0])


def test_kernel_allocation_check_uses_available_memory(monkeypatch):
    """With only 100 MiB "available", a 200 MiB output is refused up front
    (before anything is allocated), and a 50 MiB one still works."""
    monkeypatch.setattr(_validation, "available_memory", lambda: 100 << 20)
    e = np.zeros((1, 1))
    with pytest.raises(MemoryError, match="survival_probability"):
        sp(e, [[1.0]], np.zeros((200 << 20) // 8))
    P = sp(e, [[1.0]], np.zeros((50 << 20) // 8))
    assert P.shape == (1, (50 << 20) // 8) and P[0, 0] == 1.0


def test_available_memory_is_plausible():
    avail = _validation.available_memory()
    assert avail is None or 0 < avail < (1 << 50)


# --------------------------------------------------------------------------
# simulate(model, tau, n_samples, ...): the driver, with a stand-in model
# (tests/robust_toy_model.py) so that it does not depend on the sampler
# --------------------------------------------------------------------------
import os  # noqa: E402
import runpy  # noqa: E402

ToyModel = runpy.run_path(os.path.join(os.path.dirname(__file__), "robust_toy_model.py"))["ToyModel"]
TAU = np.linspace(0.0, 2.0, 5)


def _sim(**kw):
    args = {"model": ToyModel(n=7), "tau": TAU, "n_samples": 4, "rng": 1}
    args.update(kw)
    return fgrkern.simulate(**args)


@pytest.mark.parametrize(
    "kw, name, exc",
    [
        ({"tau": [0.0, np.nan]}, "tau", ValueError),
        ({"tau": [0.0, np.inf]}, "tau", ValueError),
        ({"tau": []}, "tau", ValueError),
        ({"tau": [[0.0, 1.0]]}, "tau", ValueError),
        ({"tau": [1.0, 0.5]}, "tau", ValueError),
        ({"tau": [0.5, 0.5]}, "tau", ValueError),
        ({"tau": [-1.0, 0.5]}, "tau", ValueError),
        ({"tau": [1j]}, "tau", TypeError),
        ({"tau": ["a"]}, "tau", TypeError),
        ({"tau": np.array([0.0, 1.0], dtype=object)}, "tau", TypeError),
        ({"n_samples": 0}, "n_samples", ValueError),
        ({"n_samples": -3}, "n_samples", ValueError),
        ({"n_samples": 2.0}, "n_samples", TypeError),
        ({"n_samples": True}, "n_samples", TypeError),
        ({"n_samples": "4"}, "n_samples", TypeError),
        ({"n_samples": None}, "n_samples", TypeError),
        ({"rng": -1}, "rng", ValueError),
        ({"rng": 1.5}, "rng", TypeError),
        ({"rng": np.random.RandomState(0)}, "rng", TypeError),
        ({"rng": "seed"}, "rng", TypeError),
        ({"method": 3}, "method", TypeError),
        ({"executor": 3}, "executor", TypeError),
        ({"workers": 0}, "workers", ValueError),
        ({"workers": 1.5}, "workers", TypeError),
        ({"chunk_size": 0}, "chunk_size", ValueError),
        ({"chunk_size": 2.5}, "chunk_size", TypeError),
        ({"checkpoint_interval": np.nan}, "checkpoint_interval", ValueError),
        ({"checkpoint_interval": -1.0}, "checkpoint_interval", ValueError),
        ({"g": [np.nan]}, "g", ValueError),
        ({"g": -1.0}, "g", ValueError),
        ({"g": []}, "g", ValueError),
        ({"g": [[0.1]]}, "g", ValueError),
        ({"g": [1j]}, "g", TypeError),
        ({"progress": "yes"}, "progress", TypeError),
        ({"checkpoint": b"x.npz"}, "checkpoint", TypeError),
        ({"checkpoint": 3}, "checkpoint", TypeError),
        ({"checkpoint": ""}, "checkpoint", ValueError),
        ({"checkpoint": "/nonexistent-dir-fgrkern/x.npz"}, "checkpoint", ValueError),
        ({"model": object()}, "model", TypeError),
    ],
)
def test_simulate_bad_arguments(kw, name, exc):
    raises_naming(exc, name, _sim, **kw)


def test_simulate_checkpoint_is_a_directory(tmp_path):
    raises_naming(ValueError, "checkpoint", _sim, checkpoint=tmp_path)


def test_simulate_read_only_and_odd_layout_tau():
    """Read-only, strided, 0-d, int and float32 tau give the same result as the
    canonical float64 array (the model maps tau -> t the same way)."""
    ref = _sim(tau=np.array([0.0, 1.0, 2.0]))
    big = np.array([0.0, 9.0, 1.0, 9.0, 2.0])
    ro = np.array([0.0, 1.0, 2.0])
    ro.flags.writeable = False
    for tau in (big[::2], ro, np.array([0, 1, 2]), np.array([0, 1, 2], dtype=np.float32)):
        res = _sim(tau=tau)
        np.testing.assert_array_equal(res.mean, ref.mean)
        np.testing.assert_array_equal(res.tau, ref.tau)
    assert _sim(tau=np.float64(1.0)).mean.shape == (1,)


def test_simulate_junk_checkpoint_file_rejected(tmp_path):
    """A file that is not a checkpoint (random bytes, an unrelated .npz, a
    truncated checkpoint) -> ValueError naming checkpoint, and the file is left
    untouched."""
    good = tmp_path / "good.npz"
    _sim(checkpoint=good, n_samples=8, chunk_size=2)
    raw = good.read_bytes()
    cases = {
        "random": np.random.default_rng(0).bytes(4096),
        "truncated": raw[: len(raw) // 2],
        "empty": b"",
    }
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    cases["unrelated-npz"] = other.read_bytes()
    for kind, content in cases.items():
        p = tmp_path / f"{kind}.npz"
        p.write_bytes(content)
        raises_naming(ValueError, "checkpoint", _sim, checkpoint=p, n_samples=8, chunk_size=2)
        assert p.read_bytes() == content, f"{kind}: file was modified"


def _tampered(tmp_path, key, value):
    good = tmp_path / "good.npz"
    if not good.exists():
        _sim(checkpoint=good, n_samples=8, chunk_size=2)
    with np.load(good) as z:
        arrays = dict(z)
    arrays[key] = value
    p = tmp_path / f"tampered-{key}.npz"
    np.savez(p, **arrays)
    return p


@pytest.mark.parametrize(
    "key, value",
    [
        ("next_chunk", np.array(10**9)),
        ("next_chunk", np.array(-5)),
        ("prefix_n", np.array(-3)),
        ("pending_index", np.array([7])),
        ("pending_index", np.array([[2]])),
        ("next_chunk", np.array(2.0)),
        ("next_chunk", np.array([4])),
        ("prefix_n", np.array(7)),  # 4 complete chunks of 2 hold 8 samples
        ("prefix_mean", np.full((1, TAU.size), np.nan)),
        ("prefix_mean", np.zeros((2, TAU.size))),
        ("prefix_m2", np.full((1, TAU.size), -1.0)),
        ("prefix_ipr_m2", np.array("x")),
    ],
)
def test_simulate_tampered_checkpoint_rejected(tmp_path, key, value):
    """A structurally valid archive with impossible counters (chunk index out
    of range, negative sample count, pending index without its data) or
    malformed moments must be refused with ValueError naming checkpoint,
    before any work, and left as is."""
    p = _tampered(tmp_path, key, value)
    before = p.read_bytes()
    raises_naming(ValueError, "checkpoint", _sim, checkpoint=p, n_samples=8, chunk_size=2)
    assert p.read_bytes() == before


@pytest.mark.parametrize(
    "key, value",
    [("prefix_mean", np.full((1, TAU.size), 1e300)), ("prefix_mean", np.full((1, TAU.size), -0.5)),
     ("prefix_ipr_mean", np.array([-5.0])), ("prefix_ipr_mean", np.array([1.5])),
     ("prefix_m2", np.full((1, TAU.size), 2.5)), ("prefix_ipr_m2", np.array([[-3.0]]))],
)
def test_level_dot_checkpoint_with_impossible_moments_rejected(tmp_path, key, value):
    """A LevelDotModel's P and IPR lie in [0, 1] (weights >= 0 summing to 1):
    a checkpoint whose means leave [0, 1] or whose centred second moments
    exceed n/4 (here 8 samples: 2) was edited; refused, naming the checkpoint,
    and left as is.  The untouched file resumes."""
    run = dict(model=fgrkern.LevelDotModel(7, 0.3), tau=TAU, n_samples=8, rng=1, chunk_size=2)
    good = tmp_path / "good.npz"
    ref = fgrkern.simulate(**run, checkpoint=good)
    with np.load(good) as z:
        arrays = dict(z)
    arrays[key] = value
    p = tmp_path / "edited.npz"
    np.savez(p, **arrays)
    before = p.read_bytes()
    raises_naming(ValueError, "checkpoint", fgrkern.simulate, **run, checkpoint=p)
    assert p.read_bytes() == before
    assert fgrkern.simulate(**run, checkpoint=good).mean.tobytes() == ref.mean.tobytes()


def test_simulate_checkpoint_pending_chunks_validated(tmp_path):
    """A checkpoint with an out-of-order (pending) chunk: a consistent one is
    resumed (only the missing chunk is run); a pending chunk with the wrong
    count, a duplicate or an already-reduced index is refused (ValueError
    naming checkpoint) and the file is left as is."""
    def arrays(n_samples):
        p = tmp_path / f"run{n_samples}.npz"
        _sim(checkpoint=p, n_samples=n_samples, chunk_size=2)
        with np.load(p) as z:
            return dict(z)

    full, first2, first1 = arrays(8), arrays(4), arrays(2)
    # chunks 0, 1 reduced, chunk 3 arrived early (its slot filled with chunk 0's
    # moments: the checks concern counts and indices), chunk 2 still to run
    ok = dict(full, **{k: v for k, v in first2.items() if k.startswith("prefix_")}, next_chunk=np.array(2))
    ok.update({"pending_index": np.array([3], np.int64), "pending_n": np.array([2], np.int64)})
    ok.update({"pending_" + k[7:]: v[None] for k, v in first1.items() if k.startswith("prefix_") and k != "prefix_n"})
    bad = {
        "count": dict(ok, pending_n=np.array([3], np.int64)),
        "reduced": dict(ok, pending_index=np.array([1], np.int64)),
        "duplicate": dict(ok, pending_index=np.array([3, 3], np.int64), pending_n=np.array([2, 2], np.int64)),
        "no-data": dict(ok, pending_index=np.array([2, 3], np.int64), pending_n=np.array([2, 2], np.int64)),
    }
    for kind, arr in bad.items():
        p = tmp_path / f"{kind}.npz"
        np.savez(p, **arr)
        before = p.read_bytes()
        raises_naming(ValueError, "checkpoint", _sim, checkpoint=p, n_samples=8, chunk_size=2)
        assert p.read_bytes() == before, kind
    p = tmp_path / "ok.npz"
    np.savez(p, **ok)
    res = _sim(checkpoint=p, n_samples=8, chunk_size=2)
    assert res.n_samples == 8 and np.all(np.isfinite(res.mean))
    # the chunk-3 slot holds chunk 0's moments, so the result differs from the
    # uninterrupted run's exactly there: the pending data was used, not recomputed
    ref = _sim(n_samples=8, chunk_size=2)
    assert not np.array_equal(res.mean, ref.mean)


# --------------------------------------------------------------------------
# LevelDotModel(n, g, symmetry, lam, eps0, bath) and model.sample(size, rng, method)
# --------------------------------------------------------------------------
LDM = fgrkern.LevelDotModel


@pytest.mark.parametrize(
    "kw, name, exc",
    [
        ({"n": 0}, "n", ValueError),
        ({"n": -4}, "n", ValueError),
        ({"n": 4.0}, "n", TypeError),
        ({"n": True}, "n", TypeError),
        ({"n": "4"}, "n", TypeError),
        ({"n": np.array([4])}, "n", TypeError),
        ({"n": 5, "symmetry": "GSE"}, "n", ValueError),
        ({"g": np.nan}, "g", ValueError),
        ({"g": np.inf}, "g", ValueError),
        ({"g": -0.1}, "g", ValueError),
        ({"g": 1j}, "g", TypeError),
        ({"g": "0.5"}, "g", TypeError),
        ({"g": None}, "g", TypeError),
        ({"g": np.array([0.5, 0.6])}, "g", TypeError),
        ({"symmetry": "XYZ"}, "symmetry", ValueError),
        ({"symmetry": 2}, "symmetry", TypeError),
        ({"symmetry": None}, "symmetry", TypeError),
        ({"lam": 0.0}, "lam", ValueError),
        ({"lam": -1.0}, "lam", ValueError),
        ({"lam": np.nan}, "lam", ValueError),
        ({"lam": np.inf}, "lam", ValueError),
        ({"eps0": np.nan}, "eps0", ValueError),
        ({"eps0": -np.inf}, "eps0", ValueError),
        ({"eps0": [0.0]}, "eps0", TypeError),
        ({"bath": "gaussian"}, "bath", ValueError),
        ({"bath": [0.0, 1.0]}, "bath", ValueError),
        ({"bath": [[0.0, 1.0, 2.0, 3.0]]}, "bath", ValueError),
        ({"bath": [0.0, 1.0, np.nan, 3.0]}, "bath", ValueError),
        ({"bath": [0.0, 1.0, 2.0, 3.0j]}, "bath", TypeError),
        ({"bath": np.array([0.0, 1.0, 2.0, 3.0], dtype=object)}, "bath", TypeError),
        ({"bath": 4.0}, "bath", ValueError),
        ({"bath": None}, "bath", TypeError),
    ],
)
def test_model_bad_arguments(kw, name, exc):
    args = {"n": 4, "g": 0.5}
    args.update(kw)
    raises_naming(exc, name, LDM, **args)


@pytest.mark.parametrize(
    "kw, name, exc",
    [
        ({"size": -1}, "size", ValueError),
        ({"size": 2.0}, "size", TypeError),
        ({"size": None}, "size", TypeError),
        ({"size": np.array([2])}, "size", TypeError),
        ({"method": "exact"}, "method", ValueError),
        ({"method": None}, "method", TypeError),
        ({"rng": -1}, "rng", ValueError),
        ({"rng": np.random.RandomState(0)}, "rng", TypeError),
        ({"rng": 0.5}, "rng", TypeError),
    ],
)
def test_sample_bad_arguments(kw, name, exc):
    args = {"size": 2, "rng": 1}
    args.update(kw)
    raises_naming(exc, name, LDM(4, 0.5).sample, **args)


@pytest.mark.parametrize("method", ["secular", "dense"])
@pytest.mark.parametrize("symmetry", ["GUE", "GOE", "GSE"])
def test_sample_size_zero_and_smallest_n(method, symmetry):
    n = 2 if symmetry == "GSE" else 1
    spec = LDM(n, 0.5, symmetry).sample(0, rng=1, method=method)
    M = n // 2 + 1 if symmetry == "GSE" else n + 1
    assert spec.energies.shape == spec.weights.shape == (0, M)
    spec = LDM(n, 0.5, symmetry).sample(3, rng=1, method=method)
    assert np.all(np.isfinite(spec.energies)) and np.all(spec.weights >= 0)
    np.testing.assert_allclose(spec.weights.sum(axis=1), 1.0, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "n, size, method",
    [(10**12, 1, "secular"), (2**53, 1, "secular"), (10**6, 1, "dense"), (100, 10**12, "secular")],
)
def test_sample_absurd_sizes_fail_up_front(n, size, method):
    """More memory than the machine has -> error before allocating (naming the
    size / method), not an allocation attempt that the OOM killer ends."""
    with pytest.raises((ValueError, MemoryError), match="GiB"):
        LDM(n, 0.5).sample(size, rng=1, method=method)


def _sample_outcome(model, method):
    """A correct-looking result (finite, w >= 0, rows sum to 1), or the error."""
    try:
        spec = model.sample(4, rng=7, method=method)
    except (ValueError, TypeError) as exc:
        return exc
    assert np.all(np.isfinite(spec.energies)) and np.all(np.isfinite(spec.weights))
    assert np.all(spec.weights >= 0)
    np.testing.assert_allclose(spec.weights.sum(axis=1), 1.0, rtol=0, atol=1e-13)
    assert np.all(np.diff(spec.energies, axis=1) >= 0) or True  # order is not part of the contract
    return spec


@settings(max_examples=80, deadline=None)
@given(
    symmetry=st.sampled_from(["GUE", "GOE", "GSE"]),
    bath=st.sampled_from(["wigner-dyson", "poisson"]),
    gmag=st.integers(-300, 300),
    eps0=st.sampled_from([0.0, 1.0, -3.0, 1e6, -1e12, 1e-300]),
    lammag=st.integers(-60, 60),
    method=st.sampled_from(["secular", "dense"]),
)
def test_sample_extreme_parameters(symmetry, bath, gmag, eps0, lammag, method):
    """Couplings from 1e-300 to 1e300, level energies far outside the band,
    band widths from 1e-60 to 1e60, with every energy scale and the coupling
    energy g lam^2 between 1e-150 and 1e150 (squares stay normal numbers): every
    sample is finite with weights >= 0 summing to 1 (never NaN, never an
    unconverged root).  An error, if any, is ValueError naming the parameter."""
    assume(-150 <= gmag + 2 * lammag <= 150 and abs(eps0) * 10.0**lammag <= 1e150)
    model = LDM(4, 10.0**gmag, symmetry, lam=10.0**lammag, eps0=eps0 * 10.0**lammag, bath=bath)
    out = _sample_outcome(model, method)
    if isinstance(out, Exception):
        assert re.search(r"\b(g|lam|eps0)\b", str(out)), out


@pytest.mark.parametrize(
    "kw",
    [{"lam": 1e155}, {"lam": 1e300}, {"eps0": 1e160}, {"eps0": -1e300}, {"bath": [1e100, 1e100, 2e100, 1e200]},
     {"g": 1e9, "lam": 1e150}, {"g": 1e-31, "lam": 1e73, "eps0": -1e85}, {"g": 1e-142, "lam": 1e-60}],
    ids=["lam1e155", "lam1e300", "eps0_1e160", "eps0_-1e300", "bath1e200_level_far", "g1e9_lam1e150",
         "eps0_-1e85", "g1e-142_lam1e-60"],
)
def test_sample_secular_huge_magnitudes(kw):
    """Finite parameters beyond ~1e154 (squares overflow) or coupling energies
    whose squares underflow: the secular path works in units of the largest
    energy, so it gives what the dense path gives: a finite sample with
    weights summing to 1 (no OverflowError, RuntimeError or refusal)."""
    model = LDM(4, kw.pop("g", 0.5), **kw)
    assert not isinstance(_sample_outcome(model, "dense"), Exception)  # the reference works
    out = _sample_outcome(model, "secular")
    assert not isinstance(out, Exception), f"{type(out).__name__}: {out}"


@settings(max_examples=60, deadline=None)
@given(
    symmetry=st.sampled_from(["GUE", "GOE", "GSE"]),
    bath=st.sampled_from(["wigner-dyson", "poisson"]),
    gmag=st.floats(-300.0, 308.0),
    lammag=st.floats(-300.0, 307.0),
    eps0mag=st.floats(-300.0, 307.0),
    sign=st.sampled_from([-1.0, 0.0, 1.0]),
)
def test_sample_secular_full_double_range(symmetry, bath, gmag, lammag, eps0mag, sign):
    """Any g, lam, |eps0| from 1e-300 to ~1e307 (no restriction on g lam^2):
    the secular sample is finite with weights >= 0 summing to 1, or -- only
    when an eigenvalue (~ max(2 lam, |eps0|, sqrt(g) lam)) exceeds the double
    range -- a ValueError naming lam and eps0 and g."""
    lam, g, eps0 = 10.0**lammag, 10.0**gmag, sign * 10.0**eps0mag
    out = _sample_outcome(LDM(4, g, symmetry, lam=lam, eps0=eps0, bath=bath), "secular")
    if isinstance(out, Exception):
        assert isinstance(out, ValueError) and re.search(r"\blam\b.*\beps0\b.*\bg\b", str(out)), out
        assert max(4.0 * lam, abs(eps0), math.sqrt(g) * lam) > 1e306, out


@pytest.mark.parametrize("method", ["secular", "dense"])
@pytest.mark.parametrize("kw", [{"lam": 1.7e308}, {"eps0": 1.79e308, "g": 1e300, "lam": 3e157},
                                {"g": 1e300, "lam": 1e200}])
def test_sample_eigenvalues_beyond_double_range(method, kw):
    """Eigenvalues beyond ~1.8e308 (band edge 2 lam; eps0/2 + sqrt(eps0^2/4 +
    g lam^2) ~ 1.84e308; sqrt(g) lam): ValueError naming lam, eps0 and g --
    never inf or NaN."""
    kw = dict(kw)
    model = LDM(4, kw.pop("g", 0.5), **kw)
    raises_naming(ValueError, "lam", model.sample, 3, rng=1, method=method)


@pytest.mark.parametrize("eps0", [1e160, -1e300])
def test_sample_secular_far_level_decouples(eps0):
    """|eps0| >> lam, sqrt(g) lam: second-order perturbation theory shifts the
    level by sum |W|^2 / (eps0 - d) ~ g lam^2 / eps0 and moves a weight
    ~ g lam^2 / eps0^2 to the dot, both below double resolution here: the
    level's eigenvalue is eps0 and its weight 1, exactly in floating point."""
    spec = LDM(6, 0.5, eps0=eps0).sample(5, rng=3)
    col = 0 if eps0 < 0 else -1
    assert np.all(spec.energies[:, col] == eps0) and np.all(spec.weights[:, col] == 1.0)
    assert np.all(np.abs(spec.energies[:, 1:-1]) < 10.0)  # dot levels stay in the band (radius 2)


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(-900, 900),
    symmetry=st.sampled_from(["GUE", "GOE", "GSE"]),
    bath=st.sampled_from(["wigner-dyson", "poisson", "given"]),
    g=st.sampled_from([0.0, 1e-30, 0.5, 40.0, 1e30]),
    eps0=st.sampled_from([0.0, 0.25, -3.0, 1e8]),
)
def test_sample_secular_exact_scale_invariance(k, symmetry, bath, g, eps0):
    """H -> 2^k H (lam, eps0 and bath levels scaled by a power of two, g fixed)
    scales every eigenvalue by exactly 2^k and leaves the weights unchanged, for
    k = -900..900 (far past where lam^2 or g lam^2 over/underflow).  The secular
    path's rescaling is exact, so this holds bitwise."""
    s = math.ldexp(1.0, k)
    levels = np.linspace(-2.0, 2.0, 4) ** 3
    kw = {"bath": levels if bath == "given" else bath}
    ref = LDM(8 if symmetry == "GSE" else 4, g, symmetry, lam=1.0, eps0=eps0, **kw).sample(3, rng=11)
    if bath == "given":
        kw["bath"] = levels * s
    spec = LDM(8 if symmetry == "GSE" else 4, g, symmetry, lam=s, eps0=eps0 * s, **kw).sample(3, rng=11)
    np.testing.assert_array_equal(spec.weights, ref.weights)
    np.testing.assert_array_equal(spec.energies, ref.energies * s)


@pytest.mark.parametrize("method", ["secular", "dense"])
def test_sample_degenerate_given_bath(method):
    """A given bath with exactly degenerate levels (all equal): finite sample,
    weights sum to 1 (secular deflation must handle equal poles)."""
    for levels in ([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 2.0, 2.0], [-1e-300, 0.0, 0.0, 1e-300]):
        assert not isinstance(_sample_outcome(LDM(4, 0.5, bath=levels), method), Exception)


@pytest.mark.parametrize("method", ["secular", "dense"])
@pytest.mark.parametrize("symmetry", ["GUE", "GSE"])
def test_sample_absurd_n_checked_before_allocating(method, symmetry):
    """N = 1e11: one realisation needs terabytes, so even sample(0) must refuse
    with a ValueError naming n, before numpy tries (MemoryError) to allocate."""
    model = LDM(10**11, 1e-11, symmetry)
    for size in (0, 1, 10**6):
        raises_naming(ValueError, "n", model.sample, size, rng=0, method=method)


def test_model_given_bath_is_copied():
    """The model must not alias (and later see changes to) the caller's array."""
    levels = np.array([0.0, 1.0, 2.0, 3.0])
    model = LDM(4, 0.5, bath=levels)
    a = model.sample(2, rng=3)
    levels[:] = 100.0
    b = model.sample(2, rng=3)
    np.testing.assert_array_equal(a.energies, b.energies)


# --------------------------------------------------------------------------
# fgrkern.theory: gamma_gr, p_res, p_tau, p_tau_large_gamma, form_factor,
# p_sff, p_off, p_plateau
# --------------------------------------------------------------------------
th = fgrkern.theory
from fgrkern import _theory  # noqa: E402  (refined reference rule)

# name -> (callable taking (tau, gamma) arrays, the array argument names it uses)
THEORY = {
    "gamma_gr": (lambda tau, gamma: th.gamma_gr(gamma), ("g",)),
    "p_res": (lambda tau, gamma: th.p_res(gamma), ("gamma",)),
    "p_tau": (lambda tau, gamma: th.p_tau(tau, gamma), ("tau", "gamma")),
    "p_tau_large_gamma": (lambda tau, gamma: th.p_tau_large_gamma(tau, gamma), ("tau", "gamma")),
    "form_factor": (lambda tau, gamma: th.form_factor(tau, "GOE"), ("tau",)),
    "p_sff": (lambda tau, gamma: th.p_sff(tau, gamma, "GSE"), ("tau", "gamma")),
    "p_off": (lambda tau, gamma: th.p_off(gamma, "GOE"), ("gamma",)),
    "p_plateau": (lambda tau, gamma: th.p_plateau(gamma, "GSE"), ("gamma",)),
}
TAU0 = np.array([0.0, 0.3, 0.7, 1.0, 2.5])
GAMMA0 = np.array([0.5, 1.0, 3.0, 10.0, 40.0])


def _theory_args(which, value):
    """(tau, gamma) with ``value`` put in the argument named ``which``
    (gamma_gr's ``g`` is passed in the gamma slot)."""
    tau, gamma = TAU0.copy(), GAMMA0.copy()
    if which == "tau":
        tau = value
    else:
        gamma = value
    return tau, gamma


THEORY_ARGS = [(f, a) for f, (_, names) in THEORY.items() for a in names]


@pytest.mark.parametrize("fname, arg", THEORY_ARGS)
def test_theory_nan_rejected(fname, arg):
    fn = THEORY[fname][0]
    x = (TAU0 if arg == "tau" else GAMMA0).copy()
    x[2] = np.nan
    raises_naming(ValueError, arg, fn, *_theory_args(arg, x))


@pytest.mark.parametrize("fname, arg", THEORY_ARGS)
@pytest.mark.parametrize("kind", list(_bad_dtype_arrays([1.0, 2.0])))
def test_theory_non_real_dtypes_rejected(fname, arg, kind):
    fn = THEORY[fname][0]
    x = _bad_dtype_arrays((TAU0 if arg == "tau" else GAMMA0) + 1)[kind]
    raises_naming(TypeError, arg, fn, *_theory_args(arg, x))


@pytest.mark.parametrize("fname, arg", [(f, a) for f, a in THEORY_ARGS if a != "tau"])
def test_theory_negative_coupling_rejected(fname, arg):
    fn = THEORY[fname][0]
    x = GAMMA0.copy()
    x[1] = -1.0
    raises_naming(ValueError, arg, fn, *_theory_args(arg, x))


@pytest.mark.parametrize("fname", ["p_tau", "p_tau_large_gamma", "p_sff"])
def test_theory_broadcast_mismatch(fname):
    err = raises_naming(ValueError, "tau", THEORY[fname][0], np.ones(3), np.ones(4))
    assert "gamma" in str(err) and "(3,)" in str(err) and "(4,)" in str(err)


def test_gamma_gr_broadcast_mismatch():
    err = raises_naming(ValueError, "g", th.gamma_gr, np.ones(3), np.ones(2))
    assert "lam" in str(err) and "(3,)" in str(err) and "(2,)" in str(err)


@pytest.mark.parametrize("fname", list(THEORY))
def test_theory_shapes_views_and_dtypes(fname):
    """ufunc-like: 0-d in -> numpy scalar out; empty in -> empty out of the
    broadcast shape; strided, negative-stride, read-only, unaligned, big-endian,
    int and float32 inputs give bitwise the canonical result."""
    fn = THEORY[fname][0]
    rng = np.random.default_rng(3)
    tau = np.array([[0.0, 0.25, 0.5, 1.0, 3.0]])
    gamma = np.array([[0.5], [2.0], [8.0]])
    ref = fn(tau, gamma)
    for name, x in (("tau", tau), ("gamma", gamma)):
        for kind, v in _views(x, rng).items():
            args = {"tau": tau, "gamma": gamma, name: v}
            np.testing.assert_array_equal(fn(args["tau"], args["gamma"]), ref, err_msg=f"{name} {kind}")
    ints = fn(np.array([0, 1, 3]), np.array([1, 2, 8]))
    np.testing.assert_array_equal(ints, fn(np.array([0.0, 1.0, 3.0]), np.array([1.0, 2.0, 8.0])))
    f32 = fn(np.float32(0.25), np.float32(2.0))
    assert np.ndim(f32) == 0 and f32 == fn(0.25, 2.0)
    assert fn(np.zeros((0, 2)), np.ones((1, 1))).shape in ((0, 2), (1, 1))  # tau unused by some
    assert np.asarray(fn(np.zeros(0), np.ones(0))).shape == (0,)


@pytest.mark.parametrize("fname", ["form_factor", "p_sff", "p_off", "p_plateau"])
@pytest.mark.parametrize("bad, exc", [("XYZ", ValueError), (None, TypeError), (2, TypeError), ("", ValueError)])
def test_theory_bad_symmetry(fname, bad, exc):
    f = getattr(th, fname)
    args = (0.5,) if fname in ("form_factor", "p_off", "p_plateau") else (0.5, 1.0)
    raises_naming(exc, "symmetry", f, *args, bad)


def test_theory_bad_workers():
    raises_naming(ValueError, "workers", th.p_tau, 1.0, 1.0, workers=0)
    raises_naming(TypeError, "workers", th.p_tau, 1.0, 1.0, workers=1.5)
    raises_naming(ValueError, "workers", th.p_res, 1.0, workers=-3)
    # also when no point needs the quadrature (tau = 0, gamma = 0 or inf)
    for tau, gamma in [(1.0, 0.0), ([1.0, 2.0], np.inf), (0.0, 1.0), ([], 1.0)]:
        raises_naming(ValueError, "workers", th.p_tau, tau, gamma, workers=0)
        raises_naming(TypeError, "workers", th.p_tau, tau, gamma, workers="a")
        raises_naming(TypeError, "workers", th.p_tau, tau, gamma, workers=True)


def test_theory_special_values():
    """Limits the functions document: P(0) = 1; tau = inf -> P_res; gamma = 0 ->
    1 (no coupling, no decay); gamma = inf -> 0; P(-tau) = P(tau)."""
    assert th.p_tau(0.0, 7.0) == 1.0
    assert th.p_tau(np.inf, 2.0) == th.p_res(2.0)
    assert th.p_tau(1.3, 0.0) == 1.0 and th.p_res(0.0) == 1.0
    assert th.p_tau(1.3, np.inf) == 0.0 and th.p_res(np.inf) == 0.0
    assert th.p_tau(-1.3, 2.0) == th.p_tau(1.3, 2.0)


@settings(max_examples=150, deadline=None)
@given(
    taumag=st.one_of(st.just(-np.inf), st.floats(-300, 6)),
    gmag=st.one_of(st.just(-np.inf), st.floats(-300, 12)),
)
def test_p_tau_extreme_magnitudes(taumag, gmag):
    """tau in {0} U [1e-300, 1e6], gamma in {0} U [1e-300, 1e12]: P is a
    probability (finite, in [0, 1]) and, once tau >= 100 for gamma >= 0.5,
    equals its documented long-time limit P_res to 1e-8 relative."""
    tau, gamma = 10.0**taumag, 10.0**gmag
    P = th.p_tau(tau, gamma)
    assert np.isfinite(P) and 0.0 <= P <= 1.0, (tau, gamma, P)
    if tau >= 100 and gamma >= 0.5:
        assert abs(P / th.p_res(gamma) - 1) < 1e-8, (tau, gamma, P, th.p_res(gamma))


@settings(max_examples=100, deadline=None)
@given(x=st.floats(0, 1e300), which=st.sampled_from(["p_res", "form_factor", "p_off", "p_plateau", "gamma_gr"]))
def test_theory_closed_forms_extreme_magnitudes(x, which):
    """The closed forms at any magnitude: finite and non-negative (form factor
    in [0, 2] off its GSE log singularity; P_res in [0, 1])."""
    if which in ("p_off", "p_plateau"):
        assume(x >= 1e-300)  # below ~1.1e-308 the value ~1/gamma is not representable
    fn = {"p_res": th.p_res, "form_factor": lambda v: th.form_factor(v, "GOE"),
          "p_off": lambda v: th.p_off(v, "GSE"), "p_plateau": lambda v: th.p_plateau(v, "GOE"),
          "gamma_gr": th.gamma_gr}[which]
    y = fn(x)
    assert np.isfinite(y) and y >= 0, (which, x, y)
    if which == "p_res":
        assert y <= 1.0
    if which == "form_factor":
        assert y <= 2.0


@pytest.mark.parametrize("fname", ["p_off", "p_plateau", "p_sff", "p_tau_large_gamma"])
@pytest.mark.parametrize("gamma", [5e-324, 1e-310, np.array([1.0, 2e-309])])
def test_theory_large_gamma_forms_subnormal_gamma(fname, gamma):
    """a/(2 gamma) overflows float64 for gamma below ~a/(2 DBL_MAX): a
    ValueError naming gamma, never inf."""
    f = {"p_off": lambda g: th.p_off(g, "GOE"), "p_plateau": lambda g: th.p_plateau(g, "GSE"),
         "p_sff": lambda g: th.p_sff(0.3, g, "GOE"), "p_tau_large_gamma": lambda g: th.p_tau_large_gamma(2.0, g)}
    raises_naming(ValueError, "gamma", f[fname], gamma)


def test_theory_large_gamma_forms_extreme_but_representable():
    """Just above the overflow threshold, and at gamma ~ DBL_MAX (where 2 gamma
    would overflow), the values are the exactly rounded a/(2 gamma)."""
    assert th.p_off(1e-308, "GUE") == 0.5 / 1e-308 and np.isfinite(th.p_off(1e-308, "GUE"))
    assert th.p_plateau(1e308, "GOE") == 1.5e-308
    assert th.p_off(1.7e308, "GOE") == 1.0 / 1.7e308 > 0
    # inf in the numerator (GSE log singularity of K at tau = 1/2) is not an overflow
    assert th.p_sff(0.5, 1.0, "GSE") == np.inf


@pytest.mark.parametrize(
    "tau, gamma, arg",
    [(1e15, 1.0, "tau"), (1e18, 1.0, "tau"), (1e300, 1.0, "tau"), (-1e300, 1.0, "tau"), (1.0, 1e110, "gamma"),
     (1.0, 1e200, "gamma"), (1e-10, 1e300, "gamma"), (1e200, 1e-12, "tau"),
     (np.nextafter(th.P_TAU_MAX_TAU, np.inf), 1.0, "tau"), (-np.nextafter(th.P_TAU_MAX_TAU, np.inf), 1e-3, "tau"),
     (1.0, np.nextafter(th.P_TAU_MAX_GAMMA, np.inf), "gamma"), (1.7e308, 1.7e308, "tau")],
)
def test_p_tau_outside_validated_domain_rejected(tau, gamma, arg):
    """Beyond |tau| <= 1e6, gamma <= 1e100 the fixed quadrature rule drifts
    (tau = 1e15, gamma = 1 gave 0.437 against P_res = 0.3789; 1e18: 0; ~1e154:
    NaN; gamma >= ~1e105: 0): a ValueError naming the argument and the
    function to use instead -- also when a single element is out of range."""
    for t, g in ((tau, gamma), (np.array([0.5, tau, 2.0]), np.array([1.0, gamma, 1.0]))):
        err = raises_naming(ValueError, arg, th.p_tau, t, g)
        assert ("p_res" if arg == "tau" else "p_tau_large_gamma") in str(err)


def test_p_tau_exact_special_values_outside_domain():
    """Special values are exact at any magnitude and are not rejected:
    P(0) = 1, gamma = 0 -> 1, gamma = inf -> 0, tau = inf -> P_res."""
    assert th.p_tau(0.0, 1e300) == 1.0
    assert th.p_tau(1e300, 0.0) == 1.0
    assert th.p_tau(1e300, np.inf) == 0.0
    assert th.p_tau(np.inf, 1e300) == th.p_res(1e300)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 7.0, 1e3, 1e12])
def test_p_tau_domain_edge_long_time(gamma):
    """At the tau edge (|tau| = 1e6) P equals its tau -> inf limit P_res
    (Eq. 4, closed form) -- measured 3.5e-12 -- asserted to 1e-10."""
    for tau in (th.P_TAU_MAX_TAU, -th.P_TAU_MAX_TAU):
        P = th.p_tau(tau, gamma)
        assert abs(P / th.p_res(gamma) - 1) < 1e-10, (tau, gamma, P, th.p_res(gamma))


@pytest.mark.parametrize("tau", [1e-300, 1e-120, 1e-101, 0.25, 0.5, 1.0, 2.0, 1e3, 1e6])
def test_p_tau_domain_edge_large_gamma(tau):
    """At the gamma edge (1e100) P = e^{-4 gamma tau} + c(tau)/gamma + O(1/gamma^2),
    c = (1 + tau)/2 for tau < 1, 1 for tau >= 1 (the large-gamma form after
    Eq. 5, docs/theory/closed-forms.md): the O(1/gamma^2) remainder is 1e-100
    relative, so the measured 5.5e-12 is the quadrature error; asserted to 1e-10."""
    g = th.P_TAU_MAX_GAMMA
    P = th.p_tau(tau, g)
    expect = np.exp(-4.0 * g * tau) + ((1.0 + tau) / 2.0 if tau < 1 else 1.0) / g
    assert abs(P / expect - 1) < 1e-10, (tau, P, expect)


@pytest.mark.parametrize("tau, gamma", [(1e6, 1e-3), (1e6, 1e-6), (3e5, 2e-5), (1e6, 1e-9), (1.0, 1e12),
                                        (0.999, 3e8), (5.0, 1e6)])
def test_p_tau_domain_interior_vs_refined_rule(tau, gamma):
    """Inside the domain where neither limit applies: against the refined
    (~30x finer) rule, measured <= 7.6e-11 on 7000 random points; asserted 2e-10."""
    t, g, ref = np.array([tau]), np.array([gamma]), np.empty(1)
    _theory.p_tau_fine_range(t, g, ref, 0, 1)
    assert abs(th.p_tau(tau, gamma) / ref[0] - 1) < 2e-10


def test_p_tau_domain_edge_tiny_gamma():
    """gamma = 1e-300 at tau = 1e6: 1 - P = 4 gamma tau + ... ~ 4e-294, far
    below rounding, so P rounds to exactly 1."""
    assert th.p_tau(th.P_TAU_MAX_TAU, 1e-300) == 1.0


# --------------------------------------------------------------------------
# command line: fgrkern theory / simulate (reproduce shares their parsers)
# --------------------------------------------------------------------------
from fgrkern import cli  # noqa: E402


def _run_cli(argv, capsys):
    """Exit code and stderr of ``fgrkern ARGV`` run in-process; any exception
    escaping main() (a traceback for the user) fails the test."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.err


@pytest.mark.parametrize(
    "argv, name",
    [
        (["theory", "p_tau", "--gamma", "nan", "--tau", "1"], "--gamma"),
        (["theory", "p_tau", "--gamma", "1", "--tau", "inf"], "--tau"),
        (["theory", "p_tau", "--gamma", "1", "--tau", "1:0:5"], "--tau"),
        (["theory", "p_tau", "--gamma", "1", "--tau", "a:b"], "--tau"),
        (["theory", "p_tau", "--gamma", "1", "--tau", "0:5:0"], "--tau"),
        (["theory", "p_tau", "--gamma", "1", "--tau", "0:1:1e-12"], "--tau"),
        (["theory", "p_tau", "--gamma", "-1", "--tau", "1"], "gamma"),
        (["theory", "p_res", "--gamma", ""], "--gamma"),
        (["theory", "form_factor", "--tau", "1", "--symmetry", "X"], "--symmetry"),
        (["theory", "nosuch"], "FUNCTION"),
        (["simulate", "--gamma", "1", "--n", "10", "--samples", "0"], "--samples"),
        (["simulate", "--gamma", "1", "--n", "10", "--samples", "-3"], "--samples"),
        (["simulate", "--gamma", "1", "--n", "3", "--symmetry", "GSE"], "--n"),
        (["simulate", "--gamma", "1", "--n", "10", "--workers", "0"], "--workers"),
        (["simulate", "--gamma", "1", "--n", "10", "--seed", "-1"], "--seed"),
        (["simulate", "--gamma", "nan", "--n", "10"], "--gamma"),
        (["simulate", "--gamma", "1", "--n", "10", "--lam", "0"], "--lam"),
        (["simulate", "--gamma", "1", "--n", "10", "--tau", "0:1:1e-12"], "--tau"),
        (["simulate", "--gamma", "1", "--n", "10", "--bath", "/nonexistent-fgrkern.npy"], "--bath"),
        (["simulate", "--gamma", "1", "--n", "10", "--out", "/nonexistent-fgrkern/x.npz"], "--out"),
        (["simulate", "--gamma", "1", "--g", "1"], "--g"),
        (["simulate", "--n", "10"], "--gamma"),
    ],
)
def test_cli_bad_arguments(argv, name, capsys):
    """Bad command lines: non-zero exit, an error line naming the option, no traceback."""
    code, err = _run_cli(argv, capsys)
    assert code not in (0, None), err
    assert name in err, err
    assert "Traceback" not in err


def test_cli_absurd_n(capsys):
    """N = 1e11 needs ~7 TiB per realisation: a one-line error naming n, found
    by simulate's zero-size probe before any work (no traceback, no MemoryError)."""
    code, err = _run_cli(["simulate", "--gamma", "1", "--n", "100000000000", "--samples", "4"], capsys)
    assert code not in (0, None) and "Traceback" not in err
    assert re.search(r"\bn = 100000000000\b", err) and "chunk" not in err, err


# --------------------------------------------------------------------------
# heavy fuzzing: the property tests above with many more examples
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "prop",
    [test_kernel_nonfinite_rejected, test_kernel_views_give_bitwise_same_result, test_kernel_broadcasting,
     test_kernel_extreme_magnitudes, test_sample_extreme_parameters, test_sample_secular_full_double_range,
     test_sample_secular_exact_scale_invariance, test_p_tau_extreme_magnitudes,
     test_theory_closed_forms_extreme_magnitudes],
    ids=lambda f: f.__name__,
)
def test_heavy_fuzz(prop, monkeypatch):
    # hypothesis refuses a second @settings; swap the attached one for this run
    # (internal attribute, stable across hypothesis 6.x)
    attr = "_hypothesis_internal_use_settings"
    monkeypatch.setattr(prop, attr, settings(getattr(prop, attr), max_examples=2000))
    prop()
