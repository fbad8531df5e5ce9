"""The package ships ``py.typed``: documented usage must type-check against its annotations.

mypy checks a user's script that uses the public API as the guide does, with
``--follow-imports=silent`` (errors inside fgrkern itself are not the user's).
A model class that follows :class:`fgrkern.SampleableModel` with a plain
``method: str`` and :class:`fgrkern.LevelDotModel` must both be accepted by
``simulate`` (LevelDotModel was not: its ``method`` Literal did not match the
protocol's ``str``), and the results of :mod:`fgrkern.theory` must be
indexable when the arguments are arrays (they were typed ``ndarray | float64``).
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import fgrkern

USER_CODE = textwrap.dedent('''
    from __future__ import annotations

    import numpy as np
    from numpy.typing import ArrayLike

    import fgrkern as fk


    class MyModel:
        """A user model: the four methods, no base class."""

        def __init__(self, g: float) -> None:
            self.g = g

        def sample(self, size: int, rng: fk.model.RNGLike = None, method: str = "secular") -> fk.Spectrum:
            gen = np.random.default_rng(rng)
            e = np.sort(gen.standard_normal((size, 5)), axis=1)
            return fk.Spectrum(e, np.full((size, 5), 0.2))

        def t_from_tau(self, tau: ArrayLike) -> np.ndarray | float:
            return np.asarray(tau, dtype=float) * 10.0

        def with_g(self, g: float) -> MyModel:
            return MyModel(g)

        def to_dict(self) -> dict[str, object]:
            return {"g": self.g}


    m = fk.LevelDotModel(100, 0.02, "GUE")
    tau = np.geomspace(1e-3, 10.0, 20)
    res: fk.SimulationResult = fk.simulate(m, tau, 64, rng=1)
    mine: fk.SimulationResult = fk.simulate(MyModel(0.1), tau, 64, rng=1)
    specs: list[fk.Spectrum] = m.sample_couplings([0.01, 0.02], 8, rng=2)
    P = fk.survival_probability(specs[0].energies, specs[0].weights, m.t_from_tau(tau))
    lim = fk.extrapolate([fk.simulate(fk.LevelDotModel(n, 2.0 / n), tau, 64, rng=n) for n in (50, 100)])
    th, label = fk.theory.curve_for(tau, m.gamma)
    print(res.mean[0], mine.sem.shape, P.shape, lim.mean[0], label, m.heisenberg_time)

    # theory: arrays in, arrays out (indexable); real scalars in, a numpy float out
    curve = fk.theory.p_tau(tau, 46.0)
    early: float = float(curve[0])
    plateau: float = fk.theory.p_plateau(46.0, "GOE")
    res_g = fk.theory.p_res([0.1, 1.0, 10.0])
    print(early, curve[1:] * 2.0, plateau, res_g[-1], fk.theory.p_res(46), fk.theory.p_res(np.float32(4.6)),
          fk.theory.gamma_gr(0.1, 2.0) * 2.0, fk.theory.gamma_gr([0.1, 0.2])[0],
          fk.theory.p_tau_large_gamma(tau, [100.0])[0], fk.theory.form_factor(tau, "GSE")[3],
          fk.theory.p_sff(tau, 46.0, "GOE")[0], fk.theory.p_off(np.array([1.0, 2.0]))[0],
          fk.theory.p_tau(0.5, [46.0])[0], fk.theory.gamma_gr(0.1, [1.0, 2.0])[1])
''')


def _mypy(tmp_path, code):
    """(status, report) of mypy on ``code`` as a user's script."""
    api = pytest.importorskip("mypy.api")
    script = tmp_path / "user.py"
    script.write_text(code)
    # Installed in site-packages, mypy finds fgrkern itself (PEP 561) and refuses site-packages
    # on MYPYPATH; an editable install resolves to the checkout, which it must be shown.
    root = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(fgrkern.__file__))))
    paths = sysconfig.get_paths()
    installed = {os.path.realpath(p) for p in (paths["purelib"], paths["platlib"], *site.getsitepackages())}
    env_path = os.environ.get("MYPYPATH")
    if root in installed:
        os.environ.pop("MYPYPATH", None)
    else:
        os.environ["MYPYPATH"] = root
    try:
        out, err, status = api.run([str(script), "--follow-imports=silent", "--no-incremental",
                                    "--python-version", f"{sys.version_info[0]}.{sys.version_info[1]}",
                                    "--cache-dir", str(tmp_path / "cache")])
    finally:
        if env_path is None:
            os.environ.pop("MYPYPATH", None)
        else:
            os.environ["MYPYPATH"] = env_path
    return status, out + err


def test_documented_usage_type_checks(tmp_path):
    status, report = _mypy(tmp_path, USER_CODE)
    assert status == 0, report
    # and the script runs
    p = subprocess.run([sys.executable, str(tmp_path / "user.py")], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_theory_claims_no_array_for_an_argument_that_may_be_a_scalar(tmp_path):
    # SimulationResult.gamma is float | ndarray: p_res of it may be a numpy float at run time (it
    # is here), so indexing it unchecked must be refused, not typed as an array.
    code = textwrap.dedent("""
        import numpy as np
        import fgrkern as fk

        res = fk.simulate(fk.LevelDotModel(100, 0.02), np.geomspace(1e-2, 10.0, 5), 16, rng=1)
        first = fk.theory.p_res(res.gamma)[0]
    """)
    status, report = _mypy(tmp_path, code)
    assert status == 1 and 'user.py:6: error: Value of type "ndarray' in report and "not indexable" in report, report
