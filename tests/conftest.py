"""Test configuration: make sure the tests exercise the *built* package."""

from __future__ import annotations

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    try:
        import fgrkern
        from fgrkern import _kernel  # noqa: F401  (compiled: absent from a bare source tree)
    except ImportError as exc:
        raise pytest.UsageError(
            f"fgrkern is not built/installed ({exc}). Install it first, e.g. `pip install '.[test]'`, "
            "and run the `pytest` script (the source folder has no compiled modules)."
        ) from None
    if os.environ.get("FGRKERN_REQUIRE_INSTALLED") == "1":
        pkg = pathlib.Path(fgrkern.__file__).resolve().parent
        if pkg == REPO / "fgrkern":
            raise pytest.UsageError(
                f"tests imported fgrkern from the source folder {pkg}, not the installed package"
            )


@pytest.fixture(scope="session")
def de_spectrum():
    """``draw(rng, L, beta=2)``: the ascending eigenvalues of a Dumitriu-Edelman
    beta-Hermite tridiagonal of size L (the sampler's dot spectrum, mean level
    spacing ~ 1/L near the centre), a row of realistic poles for solver tests."""
    import math

    import numpy as np

    from fgrkern import _sampler

    def draw(rng, L, beta=2):
        c = 2.0 / math.sqrt(2.0 * beta * L)
        d = rng.standard_normal((1, L)) * c
        e = np.zeros((1, L))
        e[0, : L - 1] = np.sqrt(rng.standard_gamma(0.5 * beta * np.arange(L - 1, 0, -1))) * c
        _sampler.tridiag_eigvals_rows(d, e)
        return d[0]

    return draw


@pytest.fixture(params=["generic", "avx2", "avx512:divide", "avx512:estimate"])
def vector_path(request):
    """A vector code path of the compiled samplers ("generic", "avx2",
    "avx512"), for tests that compare it bitwise with the scalar reference;
    skipped where this CPU or build cannot run it (the comparison would be
    scalar against scalar).  AVX-512 runs twice, with each of its secular
    reciprocals (the division and the verified estimate; which one a CPU
    takes depends on its vendor)."""
    from fgrkern import _sampler

    path, _, recip = request.param.partition(":")
    if path not in _sampler.paths():
        pytest.skip(f"this CPU or build cannot run the {path} path")
    _sampler.set_avx512_reciprocal(recip or "auto")
    try:
        yield path
    finally:
        _sampler.set_avx512_reciprocal("auto")
