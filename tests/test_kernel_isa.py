"""The C kernel gives bitwise identical results for every instruction set.

src_c/fgr_kernel.c is compiled here with a C compiler into several variants
(function multiversioning as shipped; baseline x86-64 only; plain-C lane
sums; AVX2 / AVX-512 forced where this CPU has them; clang where installed) and called through
ctypes on the same inputs.  The variants must agree with each other and with
the installed extension to the last bit: the kernel's error analysis (and the
workers-independence promise) must not depend on the machine.

Skipped where there is no source tree (installed package tested elsewhere) or
no C compiler.
"""

from __future__ import annotations

import ctypes
import pathlib
import platform
import shlex
import shutil
import subprocess
import sysconfig

import numpy as np
import pytest

from fgrkern import _kernel

SRC = pathlib.Path(__file__).resolve().parents[1] / "src_c"
BASE_FLAGS = ["-std=c11", "-O3", "-fno-fast-math", "-fno-math-errno", "-shared", "-fPIC"]


def _compiler():
    cc = sysconfig.get_config_var("CC") or "cc"
    exe = shlex.split(cc)[0]
    return exe if shutil.which(exe) else shutil.which("cc")


def _cpu_flags():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _variants(cc):
    """name -> (compiler, extra flags)."""
    v = {
        "multiversioned": (cc, []),
        "no-multiversioning": (cc, ["-DFGR_NO_MULTIVERSIONING"]),
        "scalar-lanes": (cc, ["-DFGR_NO_MULTIVERSIONING", "-DFGR_SCALAR_LANES"]),
    }
    flags = _cpu_flags()
    if platform.machine() in ("x86_64", "AMD64"):
        # the shipped build's run-time choice capped: its AVX2 form and its plain loop
        # also run on a CPU that would pick a wider one
        v["multiversioned, plain form"] = (cc, ["-DFGR_KERNEL_MAX_FORM=0"])
        if "avx2" in flags:
            v["avx2"] = (cc, ["-DFGR_NO_MULTIVERSIONING", "-mavx2"])
            v["multiversioned, at most avx2"] = (cc, ["-DFGR_KERNEL_MAX_FORM=1"])
        if "avx512f" in flags:
            v["avx512f"] = (cc, ["-DFGR_NO_MULTIVERSIONING", "-mavx512f"])
        # whole microarchitecture levels, with FMA: the compiler must not fuse anything
        # (GCC 12 turned a complex multiply-add into FMADDSUB at -march=x86-64-v3 and up)
        if {"avx2", "fma", "bmi2"} <= flags:
            v["x86-64-v3"] = (cc, ["-DFGR_NO_MULTIVERSIONING", "-march=x86-64-v3"])
        if {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "fma"} <= flags:
            v["x86-64-v4"] = (cc, ["-DFGR_NO_MULTIVERSIONING", "-march=x86-64-v4"])
    # the other common compiler, where installed (clang contracts a*b + c
    # into FMA by default; the source must forbid it)
    other = shutil.which("clang") or shutil.which("clang-14")
    if other and "clang" not in pathlib.Path(cc).name:
        v["clang"] = (other, [])
    return v


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    if not (SRC / "fgr_kernel.c").exists():
        pytest.skip("no source tree next to the tests")
    cc = _compiler()
    if cc is None:
        pytest.skip("no C compiler")
    out = {}
    tmp = tmp_path_factory.mktemp("isa")
    procs = {}
    for name, (compiler, extra) in _variants(cc).items():  # compile concurrently
        so = tmp / f"libfgr_{name}.so"
        cmd = [compiler, *BASE_FLAGS, *extra, "-I", str(SRC), str(SRC / "fgr_kernel.c"), "-o", str(so), "-lm"]
        procs[name] = (so, cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for name, (so, cmd, proc) in procs.items():
        _, err = proc.communicate()
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{err}"
        lib = ctypes.CDLL(str(so))
        dp, ip = ctypes.POINTER(ctypes.c_double), ctypes.c_ssize_t
        lib.fgr_sp_general.argtypes = [dp, dp, ip, dp, ip, dp, dp]
        lib.fgr_sp_uniform.argtypes = [dp, dp, ip, dp, ip, ctypes.c_double, dp, dp]
        lib.fgr_sp_uniform_work.argtypes = [ip, ip]
        lib.fgr_sp_uniform_work.restype = ctypes.c_size_t
        lib.fgr_sp_general_work.argtypes = [ip]
        lib.fgr_sp_general_work.restype = ctypes.c_size_t
        lib.fgr_sincos_array.argtypes = [dp, ip, dp, dp]
        lib.fgr_ipr.argtypes = [dp, ip]
        lib.fgr_ipr.restype = ctypes.c_double
        out[name] = lib
    return out


def _p(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


def _run(lib, e, w, t_uni, dt, t_gen, x):
    M = e.size
    work = np.empty(max(lib.fgr_sp_general_work(M), lib.fgr_sp_uniform_work(M, t_uni.size)))
    uni = np.empty(t_uni.size)
    lib.fgr_sp_uniform(_p(e), _p(w), M, _p(t_uni), t_uni.size, dt, _p(uni), _p(work))
    gen = np.empty(t_gen.size)
    lib.fgr_sp_general(_p(e), _p(w), M, _p(t_gen), t_gen.size, _p(gen), _p(work))
    s, c = np.empty_like(x), np.empty_like(x)
    lib.fgr_sincos_array(_p(x), x.size, _p(s), _p(c))
    return {"uniform": uni, "general": gen, "sin": s, "cos": c, "ipr": np.array([lib.fgr_ipr(_p(w), M)])}


@pytest.mark.parametrize("M", [1, 7, 8, 15, 16, 17, 24, 250, 1237])
def test_variants_bitwise_identical(libs, M):
    rng = np.random.default_rng(M)
    e = rng.uniform(-4.0, 4.0, M)
    w = rng.uniform(0.0, 1.0, M)
    dt = 3.3
    t_uni = 17.0 + dt * np.arange(3001)
    t_gen = 1e-3 * np.arange(500.0) ** 2
    x = rng.uniform(-1.7e6, 1.7e6, 100_000)  # both sides of FAST_PHASE_LIMIT
    results = {name: _run(lib, e, w, t_uni, dt, t_gen, x) for name, lib in libs.items()}
    ref = results["multiversioned"]
    for name, res in results.items():
        for key in ref:
            assert np.array_equal(res[key], ref[key]), f"{name}: {key} differs from multiversioned build"
    # and the installed extension (built by meson) agrees too
    E, W = e[None, :], w[None, :]
    out = np.empty((1, t_uni.size))
    _kernel.survival_rows(E, W, t_uni, out, 0, 1, True, dt)
    assert np.array_equal(out[0], ref["uniform"])
    out = np.empty((1, t_gen.size))
    _kernel.survival_rows(E, W, t_gen, out, 0, 1, False, 0.0)
    assert np.array_equal(out[0], ref["general"])
