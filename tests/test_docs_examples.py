"""Every Python example of the user documentation runs.

The fenced ```python blocks of the guide pages (docs/**/*.md) and of README.md
are extracted and each is run as a script in a fresh interpreter, in a
temporary folder (examples write files such as run.npz there).  A block that
cannot run unattended (MPI needs a launcher) is preceded by a line
``% no-test: <reason>``; that marker is shown to nobody (a MyST comment) and
must give a reason.

The blocks are sized for CI (seconds each); the pages say what a
publication-quality run costs.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_SKIP = re.compile(r"^% no-test: (\S.*)$")


def _pages() -> list[pathlib.Path]:
    pages = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts and "_generated" not in p.parts)
    return [REPO / "README.md"] + pages


def _blocks() -> list[tuple[str, str, str | None]]:
    """(id, code, skip reason or None) for every python block."""
    out = []
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        for k, m in enumerate(_FENCE.finditer(text)):
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            skip = _SKIP.match(before)
            line = text.count("\n", 0, m.start()) + 1
            out.append((f"{page.relative_to(REPO)}:{line}", m.group(1), skip.group(1) if skip else None))
    return out


BLOCKS = _blocks()


def test_examples_were_found():
    # The extraction itself is what the other tests rely on: a broken regex
    # or a moved docs folder must not turn them into a silent no-op.
    assert (DOCS / "conf.py").exists(), "docs/ is missing: run the tests from a checkout"
    ids = [b[0] for b in BLOCKS]
    assert any(i.startswith("README.md") for i in ids)
    assert sum(i.startswith("docs/user-guide/") for i in ids) >= 10, ids
    assert all(reason.strip() for _, _, reason in BLOCKS if reason is not None)


@pytest.mark.parametrize("block_id, code, skip", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_example_runs(block_id, code, skip, tmp_path):
    if skip is not None:
        pytest.skip(skip)
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="error::RuntimeWarning")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{block_id} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
