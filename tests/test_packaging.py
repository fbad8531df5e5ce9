"""Packaging: version, typing data, console script, licences of the core dependency chain."""

from __future__ import annotations

import importlib
import importlib.machinery
import pkgutil
import pathlib
import re
import subprocess
import sys
from importlib import metadata

import pytest

import fgrkern

REPO = pathlib.Path(__file__).resolve().parents[1]
PKG = pathlib.Path(fgrkern.__file__).resolve().parent


def test_version_is_consistent():
    assert fgrkern.__version__ == metadata.version("fgrkern")
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", fgrkern.__version__)
    version_file = REPO / "VERSION"
    if version_file.exists():  # running from a checkout
        assert version_file.read_text().strip() == fgrkern.__version__


def test_typing_data_installed():
    assert (PKG / "py.typed").exists()
    compiled = []
    for mod in pkgutil.iter_modules(fgrkern.__path__):
        path = importlib.import_module(f"fgrkern.{mod.name}").__file__ or ""
        if any(path.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES):
            compiled.append(mod.name)
    assert "_kernel" in compiled, "fgrkern._kernel is not a compiled module: is this the built package?"
    for name in compiled:
        assert (PKG / f"{name}.pyi").exists(), f"missing type stub for compiled module {name}"


@pytest.mark.parametrize("cmd", [["fgrkern", "--version"], [sys.executable, "-m", "fgrkern", "--version"]])
def test_console_script_version(cmd, tmp_path):
    if cmd[0] == "fgrkern":
        script = pathlib.Path(sys.executable).parent / "fgrkern"
        if not script.exists():
            pytest.fail(f"console script not installed next to {sys.executable}")
        cmd = [str(script)] + cmd[1:]
    # cwd outside the checkout: `python -m` would otherwise find the source folder first
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    # first line the version; the second names the sampler's code path (tests/test_cli.py)
    assert out.stdout.splitlines()[0] == f"fgrkern {fgrkern.__version__}"


def _requirement_names(dist: str) -> list[str]:
    names = []
    for req in metadata.requires(dist) or []:
        if "extra ==" in req:
            continue
        names.append(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0])
    return names


def _declared_licence(dist: str) -> str:
    md = metadata.metadata(dist)
    expr = md.get("License-Expression")
    if expr:
        return expr
    classifiers = [c for c in (md.get_all("Classifier") or []) if c.startswith("License ::")]
    if classifiers:
        return "; ".join(classifiers)
    return (md.get("License") or "").strip().splitlines()[0] if md.get("License") else ""


def test_core_dependency_chain_has_no_gpl():
    """The runtime closure of fgrkern (no extras) is permissively licensed.

    Only each distribution's *own* declared licence is checked: SciPy's wheels
    bundle libgfortran (GPL-3.0 with the GCC Runtime Library Exception, which
    explicitly permits non-GPL programs to link it) and say so in their full
    licence text; that is not a GPL obligation on fgrkern.
    """
    seen: dict[str, str] = {}
    todo = ["fgrkern"]
    while todo:
        dist = todo.pop()
        if dist.lower() in seen:
            continue
        seen[dist.lower()] = _declared_licence(dist)
        todo.extend(_requirement_names(dist))
    assert {"numpy", "scipy", "threadpoolctl"} <= set(seen)
    for dist, lic in seen.items():
        assert lic, f"{dist} declares no licence"
        assert "GPL" not in lic.upper().replace("LGPL", "GPL") or "EXCEPTION" in lic.upper(), (dist, lic)


@pytest.mark.skipif(not (REPO / "fgrkern" / "meson.build").exists(), reason="no source checkout next to the tests")
def test_every_python_module_is_installed():
    # meson installs this folder's *.py by a glob; subpackages (fgrkern/figure2/) need their own
    # install_sources.  Against a real (non-editable) install, every source module must be there.
    sources = sorted(p.relative_to(REPO / "fgrkern") for p in (REPO / "fgrkern").rglob("*.py"))
    assert pathlib.Path("figure2/__init__.py") in sources
    missing = [str(p) for p in sources if not (PKG / p).exists()]
    assert not missing, f"not installed: {missing}"
    import fgrkern.figure2.summary  # noqa: F401  (imports from the installed tree)
