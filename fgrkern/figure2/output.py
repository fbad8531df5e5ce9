"""The files of a reproduction: names, checks before any work, and safe writes."""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any, Callable

import numpy as np

# The package's one writer for user-visible files (atomic; only regular files replaced).
from .._checkpoint import samples_saved
from .._files import check_writable_path, probe_directory, safe_write, to_json_value

__all__ = ["output_files", "checkpoint_file", "check_outputs", "remove_checkpoints", "write_text", "write_csv",
           "write_json", "savefig"]


def output_files(plot: bool, limit: bool = False) -> list[str]:
    """Names of the files :func:`~fgrkern.figure2.reproduce` writes into its output folder."""
    return ((["figure2.png", "figure2.pdf"] if plot else []) + [f"panel_{k}.csv" for k in "abcde"]
            + ["panel_d_cov.csv"] + (["panel_d_limit_cov.csv"] if limit else []) + ["summary.json"])


def checkpoint_file(out_dir: str, symmetry: str, n: int) -> str:
    """Checkpoint of one family's ``simulate`` call; kept in ``out_dir`` until the outputs are written.

    An interrupted or failed reproduction is resumed by rerunning the same
    command: each family continues from its checkpoint (bitwise the same numbers).
    """
    return os.path.join(out_dir, f"checkpoint-{symmetry}-N{n}.npz")


def remove_checkpoints(paths: list[str]) -> None:
    """Delete the family checkpoints once every output is written (they are ours: simulate checked them),
    except one that another run, started on the same folder since, is using."""
    from .._checkpoint import remove_unless_in_use

    for p in paths:
        remove_unless_in_use(p)


def check_outputs(out_dir: str, plot: bool, limit: bool = False, checkpoints: tuple[str, ...] = ()) -> None:
    """Before any work: every output in ``out_dir`` can be created.

    ``out_dir`` may be missing (then its nearest existing ancestor must take new
    entries: the caller creates it) but must not be a file; each output (the
    figure only with ``plot``, the limit covariance with ``limit``, and the
    ``checkpoints``) must be absent or a regular file (see ``safe_write``), and
    a file must be creatable in the folder.  Raises ``ValueError`` naming ``out``
    (the command line's option).
    """
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"out: {out_dir!r} exists and is not a directory")
    if not os.path.isdir(out_dir):
        # Created with its missing parents: the nearest existing ancestor must take new entries.
        parent = os.path.dirname(os.path.abspath(out_dir))
        while not os.path.lexists(parent) and os.path.dirname(parent) != parent:
            parent = os.path.dirname(parent)
        probe_directory(os.path.join(parent, "fgrkern-probe"), "out")
        return
    names = output_files(plot, limit)
    for path in [os.path.join(out_dir, name) for name in names]:
        check_writable_path(path, "out")
    for path in checkpoints:
        check_writable_path(path, "out", checkpoint=True)
        # a file there that is no fgrkern checkpoint is refused now, not when its family starts
        if os.path.lexists(path) and samples_saved(path) is None:
            raise ValueError(f"out: {path!r} exists and is not a readable fgrkern checkpoint; it is left alone "
                             "(move it away, or choose another --out)")
    probe_directory(os.path.join(out_dir, names[0]), "out")


def _write(path: str, fill: Callable[[Any], Any]) -> None:
    safe_write(path, "out", fill)


def write_text(path: str, text: str) -> None:
    _write(path, lambda fh: fh.write(text.encode("utf-8")))


def write_csv(path: str, cols: dict[str, np.ndarray]) -> None:
    names = list(cols)
    arrs = [np.asarray(cols[k], dtype=np.float64) for k in names]
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(names)
    for i in range(arrs[0].size):
        w.writerow([f"{a[i]:.10g}" for a in arrs])
    write_text(path, buf.getvalue())


def write_json(path: str, obj: dict[str, Any]) -> None:
    write_text(path, json.dumps(to_json_value(obj, nonfinite_as_str=True), indent=1) + "\n")


def savefig(fig: Any, path: str, **kw: Any) -> None:
    """``fig.savefig`` through ``safe_write`` (format from the file extension)."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    _write(path, lambda fh: fig.savefig(fh, format=fmt, bbox_inches="tight", **kw))
