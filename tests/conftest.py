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
