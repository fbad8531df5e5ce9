"""The ``fgrkern`` command line: argument parsing and thin commands over the public API.

Three commands sit on top of the public API:

``fgrkern reproduce``
    every panel of the paper's Figure 2, numerics against theory (figure, CSV, summary.json);
``fgrkern simulate``
    one ensemble average of P(tau) for your own parameters (:func:`fgrkern.simulate`);
``fgrkern theory``
    the paper's closed forms, Eqs. (3)-(6), as CSV on stdout.

Conventions: argument errors print one line and exit with status 2 (argparse);
errors while running (bad values rejected by the library, unwritable files, a
missing optional package) print one line ``fgrkern: error: ...`` and exit with
status 1; Ctrl-C exits with 130, SIGTERM (saved like Ctrl-C) with 143 and a closed
output pipe quietly with 141.
Tracebacks are shown only for genuine bugs.  Every output file is checked
before any work, and written with ``fgrkern._files.safe_write`` (regular
files only, symbolic links followed; see the README, "Files").
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import math
import os
import re
import signal
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, Sequence

from ._validation import METHODS
from ._version import __version__

if TYPE_CHECKING:
    import numpy as np

    from .model import LevelDotModel
    from .result import SimulationResult

__all__ = ["build_parser", "main", "parse_grid"]


class UserError(Exception):
    """A mistake of the user's detected while running (exit status 1, no traceback)."""


class _Interrupted(Exception):
    """Ctrl-C (status 130) or SIGTERM (143) while running: the message says how to resume."""

    def __init__(self, message: str, status: int = 130) -> None:
        super().__init__(message)
        self.status = status


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same saving and cleanup run (exit status 143).

    Batch schedulers (SLURM, PBS, Kubernetes) send it before they kill a job.
    """


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises :class:`_Terminated` (only where nobody else handles it)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM") \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt_status(exc: BaseException) -> tuple[str, int]:
    return ("terminated (SIGTERM)", 143) if isinstance(exc, _Terminated) else ("interrupted", 130)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line, ``prog: error: message (see prog --help)``,
    and which keeps its own registry of options (``options``: option string -> takes a value)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.options: dict[str, bool] = {}  # before super().__init__, which adds -h/--help
        self.commands: dict[str, _Parser] = {}  # filled by build_parser
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        return self.note(super().add_argument(*args, **kwargs))

    def note(self, action: argparse.Action) -> argparse.Action:
        for opt in action.option_strings:
            self.options[opt] = action.nargs != 0
        return action

    def add_mutually_exclusive_group(self, *, required: bool = False) -> "_Exclusive":  # type: ignore[override]
        return _Exclusive(self, super().add_mutually_exclusive_group(required=required))

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class _ArgumentContainer(Protocol):
    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action: ...


class _Exclusive:
    """A mutually exclusive group whose options enter the parser's registry."""

    def __init__(self, parser: _Parser, group: "_ArgumentContainer") -> None:
        self._parser, self._group = parser, group

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        return self._parser.note(self._group.add_argument(*args, **kwargs))


class _Commands:
    """The subcommands of ``fgrkern``: ``add_parser`` as argparse's, plus a registry by name."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        self.parsers: dict[str, _Parser] = {}

    def add_parser(self, name: str, **kwargs: Any) -> _Parser:
        p = self._sub.add_parser(name, **kwargs)
        assert isinstance(p, _Parser)
        self.parsers[name] = p
        return p


_FORMATTER = argparse.RawDescriptionHelpFormatter


# --------------------------------------------------------------------- grids
#: Most points of one grid, and of the outer product of the grids of ``fgrkern theory``
#: (10^7 float64 values are 80 MB per column).
MAX_GRID_POINTS = 10_000_000


def parse_grid(spec: str) -> "np.ndarray":
    """Parse a grid specification into a float64 array.

    Raises ``ValueError`` (with the reason) for anything else.

    Accepted forms (all end points inclusive):

    ``0.5``                  one value
    ``0.1,0.5,2``            a list
    ``START:STOP:STEP``      linear grid with step STEP, e.g. ``0:5:0.01`` (501 points)
    ``START:STOP:Nlin``      N linearly spaced points
    ``START:STOP:Nlog``      N logarithmically spaced points (START, STOP > 0), e.g. ``1e-3:10:200log``

    At most ``MAX_GRID_POINTS`` (10^7) points; larger grids raise before
    anything is allocated.
    """
    import numpy as np

    s = spec.strip()
    if not s:
        raise ValueError("empty grid")
    if ":" not in s:
        try:
            vals = [float(x) for x in s.split(",")]
        except ValueError:
            raise ValueError(f"cannot read {spec!r} as a number or comma-separated list") from None
        if len(vals) > MAX_GRID_POINTS:
            raise ValueError(f"list has {len(vals)} values; at most {MAX_GRID_POINTS:.0e} are allowed")
        arr = np.array(vals, dtype=np.float64)
    else:
        parts = s.split(":")
        if len(parts) != 3:
            raise ValueError(f"grid {spec!r} must be START:STOP:STEP, START:STOP:Nlin or START:STOP:Nlog")
        try:
            start, stop = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"grid {spec!r}: START and STOP must be numbers") from None
        if not (math.isfinite(start) and math.isfinite(stop)):
            raise ValueError(f"grid {spec!r}: START and STOP must be finite")
        last = parts[2].strip().lower()
        if last.endswith("log") or last.endswith("lin"):
            kind, count = last[-3:], last[:-3]
            try:
                n = int(count)
            except ValueError:
                raise ValueError(f"grid {spec!r}: point count {count!r} is not an integer") from None
            if n < 1:
                raise ValueError(f"grid {spec!r}: need at least one point")
            if n > MAX_GRID_POINTS:
                raise ValueError(f"grid {spec!r} has {n} points; at most {MAX_GRID_POINTS:.0e} are allowed")
            if kind == "log":
                if start <= 0 or stop <= 0:
                    raise ValueError(f"grid {spec!r}: a log grid needs START > 0 and STOP > 0")
                arr = np.geomspace(start, stop, n)
            else:
                arr = np.linspace(start, stop, n)
        else:
            try:
                step = float(last)
            except ValueError:
                raise ValueError(f"grid {spec!r}: STEP {parts[2]!r} is not a number (or Nlin / Nlog)") from None
            if not math.isfinite(step) or step <= 0:
                raise ValueError(f"grid {spec!r}: STEP must be a positive number")
            if stop < start:
                raise ValueError(f"grid {spec!r}: STOP must be >= START for a stepped grid")
            # Inclusive of STOP up to rounding: 0:5:0.01 has 501 points.
            n = int(math.floor((stop - start) / step * (1 + 1e-12) + 1e-9)) + 1
            if n > MAX_GRID_POINTS:
                raise ValueError(f"grid {spec!r} has {n} points; at most {MAX_GRID_POINTS:.0e} are allowed")
            arr = start + step * np.arange(n, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"grid {spec!r} contains non-finite values")
    return arr


def _grid_type(spec: str) -> Any:
    try:
        return parse_grid(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _times_type(spec: str) -> "np.ndarray":
    """argparse type of ``simulate --tau``: a grid that ``simulate`` accepts (the library's check)."""
    from ._validation import increasing_times

    try:
        return increasing_times(parse_grid(spec), "--tau")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _float_arg(positive: bool) -> Callable[[str], float]:
    """argparse type: a finite float (> 0 if ``positive``)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(v) or (positive and v <= 0):
            kind = "a positive finite number" if positive else "finite"
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}")
        return v

    return parse


def _int_arg(minimum: int, also: int | None = None, what: str = "",
             maximum: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer >= ``minimum`` (or equal to ``also``), <= ``maximum`` if given.

    Read exactly, as a decimal number, never through a float: a 30-digit seed
    keeps every digit, and 1e4 or 1e20 is the integer it names.
    """
    from decimal import Decimal, InvalidOperation

    def parse(text: str) -> int:
        t = text.strip()
        try:
            # underscores only between digits, as int() and float() allow them
            d = Decimal("NaN" if "__" in t or t.startswith("_") or t.endswith("_") else t)
        except InvalidOperation:
            d = Decimal("NaN")
        if not d.is_finite() or d != d.to_integral_value():
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if d and d.adjusted() > 1000:  # int() of it would take memory for nothing
            raise argparse.ArgumentTypeError(f"{text!r} is too large")
        v = int(d)
        if v < minimum and v != also:
            raise argparse.ArgumentTypeError(f"must be {what or f'>= {minimum}'}, got {text!r}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum}, got {text!r}")
        return v

    return parse


_positive_float = _float_arg(True)
_finite_float = _float_arg(False)
# sizes and sample counts: counts are float-exact up to 2^53 (far beyond any run)
_positive_int = _int_arg(1, what="a positive integer", maximum=2**53)
_seed = _int_arg(0, what="a non-negative integer")
_workers = _int_arg(1, also=-1, what=">= 1 (or -1 for all cores)")


def _symmetry(text: str) -> str:
    from ._validation import parse_symmetry

    try:
        return parse_symmetry(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown symmetry {text!r}: expected GUE, GOE, GSE (or U, O, S)") from None


# ------------------------------------------------------------------- theory
# function name in fgrkern.theory -> (required parameters, description)
_THEORY: dict[str, tuple[tuple[str, ...], str]] = {
    "p_tau": (("tau", "gamma"), "P(tau), unitary class, Eq. (5)"),
    "p_res": (("gamma",), "long-time residence probability P_res(gamma), Eq. (4)"),
    "form_factor": (("tau", "symmetry"), "spectral form factor K_X(tau), K(inf) = 1"),
    "p_sff": (("tau", "gamma", "symmetry"), "P_X(tau) at large gamma, Eq. (6)"),
    "p_tau_large_gamma": (("tau", "gamma"), "large-gamma approximation after Eq. (5), unitary class"),
    "p_off": (("gamma", "symmetry"), "offset P_off = (1, 2, 1)/(2 gamma) for (U, O, S)"),
    "p_plateau": (("gamma", "symmetry"), "plateau P_pl = (2, 3, 3)/(2 gamma) for (U, O, S)"),
    "gamma_gr": (("g", "lam"), "Golden Rule rate Gamma_GR = 2 g lam, Eq. (3)"),
}

_THEORY_EPILOG = """\
grids: a number (0.5), a list (0.1,0.5,2), START:STOP:STEP (0:5:0.01, end point
included), START:STOP:Nlin or START:STOP:Nlog (1e-3:10:200log).  When two
parameters are grids the output has one row per combination.

examples:
  fgrkern theory p_tau --gamma 0.46 --tau 0:5:0.01 > p_tau.csv
  fgrkern theory p_res --gamma 1e-2:1e2:20log
  fgrkern theory form_factor --symmetry GSE --tau 0:2:0.05
  fgrkern theory p_sff --gamma 46 --symmetry GOE --tau 1e-3:10:100log
  fgrkern theory p_tau --gamma 0.022,0.46,46 --tau 1e-2:1e2:50log
"""


def _add_theory(sub: _Commands) -> None:
    lines = "\n".join(f"  {name:<18} {desc}" for name, (_, desc) in _THEORY.items())
    p = sub.add_parser(
        "theory",
        help="print the paper's closed forms (Eqs. 3-6) as CSV",
        description=(
            "Evaluate a theory function of the paper on a grid and print CSV to stdout\n"
            "(header row, then one row per point, 16 significant digits).\n\n"
            "functions:\n" + lines + "\n\n"
            "Units: tau = t / t_H with t_H = 2 pi nu = 2N/lam; gamma = g N; lam = 1 unless given."
        ),
        epilog=_THEORY_EPILOG,
        formatter_class=_FORMATTER,
    )
    p.add_argument("function", choices=list(_THEORY), metavar="FUNCTION",
                   help="one of: " + ", ".join(_THEORY))
    p.add_argument("--tau", type=_grid_type, metavar="GRID", help="rescaled time tau = t/t_H (grid)")
    p.add_argument("--gamma", type=_grid_type, metavar="GRID", help="gamma = g N (grid)")
    p.add_argument("--symmetry", type=_symmetry, default=None, metavar="X",
                   help="GUE, GOE or GSE (also U, O, S); default GUE")
    p.add_argument("--g", type=_grid_type, metavar="GRID", help="coupling g (gamma_gr only)")
    p.add_argument("--lam", type=_positive_float, default=1.0, help="energy scale lam (gamma_gr; default 1)")


def _run_theory(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import numpy as np

    needed, _ = _THEORY[args.function]
    grid_names = [n for n in ("tau", "gamma", "g") if n in needed]
    for name in grid_names:
        if getattr(args, name) is None:
            parser.error(f"{args.function} needs --{name}")
    for name in ("tau", "gamma", "g"):
        if name not in needed and getattr(args, name) is not None:
            parser.error(f"{args.function} does not take --{name}")
    if "symmetry" not in needed and args.symmetry is not None:
        parser.error(f"{args.function} does not take --symmetry")
    symmetry = args.symmetry or "GUE"
    total = math.prod(getattr(args, n).size for n in grid_names)
    if total > MAX_GRID_POINTS:
        sizes = " x ".join(str(getattr(args, n).size) for n in grid_names)
        parser.error(f"the grids give {sizes} = {total} points; at most {MAX_GRID_POINTS:.0e} are allowed")
    from . import theory
    # Outer product over the grids, first grid slowest.
    axes = [np.asarray(getattr(args, n), dtype=np.float64) for n in grid_names]
    mesh = np.meshgrid(*axes, indexing="ij")
    cols = {n: m.ravel() for n, m in zip(grid_names, mesh)}
    func = getattr(theory, args.function)
    pos = [cols[n] for n in ("tau", "gamma") if n in cols]
    try:
        if args.function == "gamma_gr":
            values = func(cols["g"], lam=args.lam)
        else:
            values = func(*pos, *((symmetry,) if "symmetry" in needed else ()))
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), (mesh[0].size,))

    header = list(grid_names)
    if "symmetry" in needed:
        header.append("symmetry")
    header.append(args.function)
    out = sys.stdout
    if out is None:  # fd 1 closed: the table is the whole output
        raise UserError("standard output is closed: there is nowhere to write the table")
    out.write(",".join(header) + "\n")
    for i in range(values.size):
        row = [f"{cols[n][i]:.16g}" for n in grid_names]
        if "symmetry" in needed:
            row.append(symmetry)
        row.append(f"{values[i]:.16g}")
        out.write(",".join(row) + "\n")
    return 0


# ----------------------------------------------------------------- simulate
_SIMULATE_EPILOG = """\
examples:
  fgrkern simulate --n 999 --gamma 0.46 --symmetry GOE --samples 20000 \\
      --tau 1e-3:10:200log --out run.npz
  fgrkern simulate --n 999 --gamma 46 --samples 2000 --plot          # GUE, writes run.npz + run.png
  fgrkern simulate --n 400 --gamma 5 --bath poisson --samples 5000
  fgrkern simulate --n 999 --gamma 46 --samples 100000 --checkpoint ckpt.npz   # resumable
  fgrkern simulate --n 200 --gamma 3 --bath levels.txt --samples 1000  # your own bath levels

The result file is loaded with fgrkern.SimulationResult.load("run.npz").
"""


def _add_simulate(sub: _Commands) -> None:
    p = sub.add_parser(
        "simulate",
        help="ensemble-average P(tau) of the level-dot model for your parameters",
        description=(
            "Sample the level-dot model, Eq. (1), average P(tau) = <|<0|exp(-iHt)|0>|^2> with\n"
            "standard errors (fgrkern.simulate), print a short table against theory and save\n"
            "the result.  N counts the dot's states (even for GSE: N/2 Kramers doublets);\n"
            "tau = t/t_H, t_H = 2N/lam; gamma = g N; Golden Rule decay exp(-4 gamma tau)."
        ),
        epilog=_SIMULATE_EPILOG,
        formatter_class=_FORMATTER,
    )
    p.add_argument("--n", type=_positive_int, default=None,
                   help="number N of dot states (default 999, N+1 = 1000; 998 for GSE, which needs an even N)")
    cpl = p.add_mutually_exclusive_group(required=True)
    cpl.add_argument("--gamma", type=_positive_float, help="gamma = g N")
    cpl.add_argument("--g", type=_positive_float, help="coupling g (gamma = g N)")
    p.add_argument("--symmetry", type=_symmetry, default="GUE", metavar="X",
                   help="GUE, GOE or GSE (also U, O, S); default GUE")
    p.add_argument("--bath", default="wigner-dyson", metavar="BATH",
                   help="wigner-dyson (default), poisson, or a file (.npy or text) with N bath levels")
    p.add_argument("--lam", type=_positive_float, default=1.0, help="energy scale lam (default 1)")
    p.add_argument("--eps0", type=_finite_float, default=0.0, help="energy of the level |0> (default 0)")
    p.add_argument("--samples", type=_positive_int, default=1000, help="number of realisations (default 1000)")
    p.add_argument("--tau", type=_times_type, default="1e-3:10:200log", metavar="GRID",
                   help="rescaled times tau = t/t_H (default 1e-3:10:200log)")
    p.add_argument("--seed", type=_seed, default=None, help="random seed (default: fresh entropy)")
    p.add_argument("--method", choices=METHODS, default="secular",
                   help="secular: fast exact O(N^2) sampler (default); dense: full diagonalisation")
    p.add_argument("--workers", type=_workers, default=None,
                   help="worker threads (default: all usable cores); results do not depend on it")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="checkpoint file: progress is saved there and a rerun resumes from it (default: "
                        "OUT.partial.npz, removed once the result is saved)")
    p.add_argument("--out", default="run.npz", metavar="PATH", help="result file (.npz, default run.npz)")
    p.add_argument("--plot", action="store_true",
                   help="also write a PNG (same name as --out, .png) with the matching theory curve")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress display")


def _load_bath(spec: str, n: int) -> Any:
    """The --bath argument: a bath name, or levels read from a .npy or text file.

    The file is read as untrusted input (regular files only, never a FIFO;
    a .npy header is checked before its data) and the levels go through the
    same validation as ``LevelDotModel(bath=...)`` (real numbers only).
    """
    import numpy as np

    from .model import parse_bath_name

    name = parse_bath_name(spec)
    if name is not None:
        return name
    if not os.path.lexists(spec):
        raise UserError(f"--bath {spec!r}: not 'wigner-dyson' or 'poisson', and no such file")
    from ._files import open_regular

    try:
        fh = open_regular(spec, "--bath")
    except (OSError, ValueError) as exc:
        raise UserError(str(exc)) from None
    with fh:
        head = fh.read(6)
        fh.seek(0)
        try:
            if head == b"\x93NUMPY":
                levels = _read_npy_levels(fh, n, spec)
            elif head[:4] == b"PK\x03\x04":
                raise ValueError("this is a zip (.npz) archive; give one .npy array or a text file of numbers")
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # an empty file is reported below, as 0 levels
                    levels = np.loadtxt(fh, dtype=np.float64, ndmin=1, max_rows=n + 1)
        except (ValueError, TypeError, OSError, EOFError, UnicodeDecodeError) as exc:
            msg = " ".join(str(exc).split())
            raise UserError(f"--bath {spec!r}: cannot read bath levels ({msg})") from None
    if levels.ndim != 1 and levels.size == n:
        levels = levels.ravel()
    if levels.size != n:  # (text files are read up to n + 1 rows: "more than n")
        count = f"more than {n}" if levels.size > n else str(levels.size)
        raise UserError(f"--bath {spec!r} holds {count} levels but --n is {n}")
    return levels


def _read_npy_levels(fh: Any, n: int, spec: str) -> Any:
    """An .npy array whose header (dtype, size) is checked before the data are read."""
    import numpy as np

    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    shape, _, dtype = (fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0)(fh)
    if dtype.hasobject:
        raise ValueError(f"dtype {dtype} holds Python objects, not numbers")
    if math.prod(shape) != n:
        raise UserError(f"--bath {spec!r} holds {math.prod(shape)} levels but --n is {n}")
    fh.seek(0)
    # The dtype is not converted here: LevelDotModel(bath=...) refuses complex,
    # bool, datetime or string levels with a TypeError naming the bath.
    return np.load(fh, allow_pickle=False)


def _shown(path: str) -> str:
    """``path`` for the terminal: bytes of a file name that are no UTF-8 (surrogate escapes) as \\xNN."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _default_checkpoint(out: str) -> str:
    """OUT.partial.npz, or a short name in the same folder if that would exceed NAME_MAX."""
    from ._files import sibling_name

    return sibling_name(out, ".partial.npz")


def _preflight_outputs(outputs: Sequence[tuple[str, str]], inputs: Sequence[tuple[str, str]] = ()) -> None:
    """Every output can be created and none is an input file, before any work (``UserError`` naming the option)."""
    from ._files import probe_directory

    seen: dict[str, str] = {os.path.realpath(path): f"the input {what} {path!r}" for path, what in inputs}
    for path, what in outputs:
        try:
            probe_directory(path, what, checkpoint=what == "--checkpoint")
        except (ValueError, TypeError) as exc:
            raise UserError(str(exc)) from None
        real = os.path.realpath(path)
        if real in seen:
            raise UserError(f"{what} {path!r} is the same file as {seen[real]}")
        seen[real] = f"{what} {path!r}"


def _run_simulate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.n is None:
        args.n = 998 if args.symmetry == "GSE" else 999
    if args.plot:
        _require_matplotlib("--plot")
    own_ckpt = args.checkpoint is None
    ckpt = _default_checkpoint(args.out) if own_ckpt else args.checkpoint
    png = os.path.splitext(args.out)[0] + ".png"
    from .model import parse_bath_name

    bath_file = [] if parse_bath_name(args.bath) is not None or not os.path.lexists(args.bath) else \
        [(args.bath, "--bath")]
    _preflight_outputs([(args.out, "--out"), (ckpt, "--checkpoint")] + ([(png, "--plot")] if args.plot else []),
                       bath_file)
    bath = _load_bath(args.bath, args.n)
    model = _build_model(args, parser, bath)
    t0 = time.perf_counter()
    res = _simulate_and_save(args, model, ckpt)
    elapsed = time.perf_counter() - t0
    if own_ckpt:
        from ._checkpoint import remove_unless_in_use

        with contextlib.suppress(OSError):
            remove_unless_in_use(ckpt)  # unless a run started since on the same --out uses it
    from . import theory

    # The result is saved: the comparison with theory, printing and plotting never discard it.
    th, th_label = theory.curve_for(res.tau, model.gamma, args.symmetry, bath=model.bath, eps0=args.eps0)
    bath_name = bath if isinstance(bath, str) else f"user levels from {args.bath}"
    # Files before the terminal: a full or closed standard output must not cost the plot.
    plot_error = None
    if args.plot:
        from .figure2 import plot_simulation

        title = f"N = {args.n}, gamma = {model.gamma:.4g}, {args.symmetry}, {bath_name}"
        try:
            plot_simulation(res, th, th_label, png, title=title)
        except (OSError, ValueError) as exc:
            plot_error = UserError(f"cannot write --plot {png!r} ({exc}); the result is saved in {args.out!r}")
    print(f"fgrkern simulate: N = {args.n}, gamma = {model.gamma:.6g} (g = {model.g:.6g}), {args.symmetry}, "
          f"bath = {bath_name}, {res.n_samples} samples, method = {args.method}, {elapsed:.1f} s")
    _print_table(res, th, th_label, model)
    print(f"saved {_shown(args.out)}")
    if plot_error is not None:
        raise plot_error
    if args.plot:
        print(f"saved {_shown(png)}")
    return 0


def _build_model(args: argparse.Namespace, parser: argparse.ArgumentParser, bath: "str | np.ndarray") -> "LevelDotModel":
    """The model of the arguments; what the library refuses is an argument error (a bath file's: exit 1)."""
    from .model import LevelDotModel

    g = args.g if args.g is not None else args.gamma / args.n
    try:
        return LevelDotModel(args.n, g, symmetry=args.symmetry, lam=args.lam, eps0=args.eps0, bath=bath)
    except (ValueError, TypeError, OverflowError) as exc:
        if not isinstance(bath, str) and "bath" in str(exc):
            raise UserError(f"--bath {args.bath!r}: {exc}") from None
        parser.error(str(exc).replace("n counts states", "--n counts states"))
        raise  # pragma: no cover - parser.error exits


def _simulate_and_save(args: argparse.Namespace, model: "LevelDotModel", ckpt: str) -> "SimulationResult":
    """Run the simulation (resumable in ``ckpt``) and save it to ``--out`` before anything else can fail."""
    import fgrkern as fk
    from ._progress import have_tqdm

    started = time.time()
    try:
        res = fk.simulate(model, args.tau, args.samples, rng=args.seed, method=args.method, workers=args.workers,
                          progress=args.progress and have_tqdm(), checkpoint=ckpt)
    except (ValueError, TypeError, OSError) as exc:
        raise UserError(str(exc)) from None
    except fk.SimulationError as exc:
        raise UserError(f"simulation failed: {exc}") from None
    except KeyboardInterrupt as exc:
        # simulate's note says how many samples the checkpoint holds and how to resume
        notes = "".join(f"; {n.removeprefix('simulate: ')}" for n in getattr(exc, "__notes__", ()))
        word, status = _interrupt_status(exc)
        if not notes:
            # no note: simulate saved nothing, or never reached its run; the
            # file may still be one from before this run (even another run's)
            # (with a second of slack for coarse file-system timestamps)
            if os.path.exists(ckpt) and os.path.getmtime(ckpt) >= started - 1.0:
                notes = _checkpoint_holds(ckpt, args.samples)
            else:
                before = f" (checkpoint {ckpt!r} is as it was before)" if os.path.exists(ckpt) else ""
                notes = f"; nothing of this run was saved{before}"
        raise _Interrupted(f"{word}{notes}", status) from None
    try:
        res.save(args.out)
    except KeyboardInterrupt as exc:
        # the write is atomic: --out is as it was; the checkpoint says what a rerun recovers
        word, status = _interrupt_status(exc)
        raise _Interrupted(f"{word} while writing --out {args.out!r}{_checkpoint_holds(ckpt, args.samples)}",
                           status) from None
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserError(f"cannot write --out {args.out!r} ({why}){_checkpoint_holds(ckpt, args.samples)}"
                        f"{_rescue(res, ckpt, args.samples)}") from None
    return res


def _rescue(res: "SimulationResult", ckpt: str, n_samples: int) -> str:
    """When --out cannot be written and the checkpoint does not hold the finished run (a disk
    that filled up during the run), save the result in a new file in the temporary folder,
    usually another file system; what was done, for the error message.

    Nothing is removed or replaced to make room: a new file is created, or nothing.
    """
    import tempfile

    from ._checkpoint import samples_saved
    from ._files import write_npz_atomic

    if os.path.isfile(ckpt) and samples_saved(ckpt) == n_samples:
        return ""  # the checkpoint is the result: rerunning writes it
    try:
        fd, path = tempfile.mkstemp(prefix="fgrkern-result-", suffix=".npz")
    except OSError:
        return ""
    os.close(fd)
    try:
        write_npz_atomic(path, *res._payload(), name="path")
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(path)  # the empty file mkstemp created, ours
        return ""
    return f"; the finished result is saved in {path!r} instead: move it where you want it"


def _checkpoint_holds(ckpt: str, n_samples: int) -> str:
    """What rerunning can recover from ``ckpt``, as read from the file (its last write may have failed)."""
    from ._checkpoint import samples_saved

    k = samples_saved(ckpt) if os.path.exists(ckpt) else None
    if k is None:
        return "; nothing is saved to resume from"
    if k == n_samples:
        return (f"; the finished result is kept in checkpoint {ckpt!r}: rerun the same command to write it "
                "without recomputing")
    return f"; checkpoint {ckpt!r} holds {k} of the {n_samples} samples: rerun the same command to resume"


def _print_table(res: "SimulationResult", th: "np.ndarray | None", th_label: str, model: "LevelDotModel") -> None:
    """A dozen rows of the result against the theory curve, with the notes that qualify the comparison."""
    import numpy as np

    from . import theory

    rows = np.unique(np.linspace(0, res.tau.size - 1, min(12, res.tau.size)).round().astype(int))
    head = f"{'tau':>11} {'t (1/lam)':>11} {'P mean':>11} {'sem':>10}"
    print(head + (f" {'theory':>11} {'z':>7}" if th is not None else ""))
    for i in rows:
        line = f"{res.tau[i]:11.4g} {res.t[i]:11.4g} {res.mean[i]:11.5g} {res.sem[i]:10.2g}"
        if th is not None and np.isfinite(th[i]):
            z = (res.mean[i] - th[i]) / res.sem[i] if res.sem[i] > 0 else float("nan")
            line += f" {th[i]:11.5g} {z:7.2f}"
        elif th is not None:
            line += f" {'-':>11} {'-':>7}"
        print(line)
    gamma = model.gamma
    if th is not None:
        print(f"theory: {th_label}; z = (mean - theory)/sem")
        if not np.all(np.isfinite(th)):
            print("note: '-': tau beyond the validated domain of the theory (no value given)")
        if model.symmetry != "GUE":
            print(f"note: Eq. (6) neglects corrections of relative order 1/gamma = {1 / gamma:.2g}")
        if gamma / model.n > 0.01:
            print(f"note: the theory is the limit N -> inf at fixed gamma; expect O(gamma/N) = "
                  f"{gamma / model.n:.2g} relative deviations at this N")
    else:
        print(f"note: no theory curve: {th_label}")
    pres = f"P_res (t -> inf, mean IPR) = {res.p_res:.6g} +- {res.p_res_sem:.2g}"
    if model.symmetry == "GUE" and model.bath == "wigner-dyson" and model.eps0 == 0.0:
        try:
            pres += f"; Eq. (4): {theory.p_res(gamma):.6g}"
        except (ValueError, ArithmeticError):
            pass
    print(pres)


# ---------------------------------------------------------------- reproduce
_REPRODUCE_EPILOG = """\
presets (samples per family: every GUE coupling of panels a-e shares them; GOE, GSE as many):
  --quick      a smoke test, ~5 s of CPU (200 samples, 9 values of gamma in panel d)
  (default)    600 samples, ~10 s of CPU: about 7 s on 2 idle cores
  --paper      10^4 samples per curve like the paper, ~115 s of CPU: about 60 s on 2 idle cores
  --samples N  any count
  --limit      also N+1 = 250 and 500, extrapolated to N -> infinity (about +50-60 % of CPU)

examples:
  fgrkern reproduce                          # writes fgr-figure2/
  fgrkern reproduce --quick --out /tmp/fig2
  fgrkern reproduce --paper --seed 7 --out paper-run
  fgrkern reproduce --limit                  # N -> infinity curves judged against Eqs. (4)-(5)
  fgrkern reproduce --samples 5000 --no-plot  # data and summary.json only

Outputs in --out: figure2.png, figure2.pdf, panel_a.csv ... panel_e.csv, panel_d_cov.csv
(with --limit also panel_d_limit_cov.csv), summary.json.
The same --seed gives the same numbers, whatever the number of workers.
"""


def _add_reproduce(sub: Any) -> None:
    from .figure2 import DEFAULT_SEED

    p = sub.add_parser(
        "reproduce",
        help="reproduce every panel of the paper's Figure 2 (figure, CSV, summary.json)",
        description=(
            "Reproduce Figure 2 of Micklitz, Morningstar, Altland & Huse, PRL 129, 140402:\n"
            "(a)-(c) P(tau), GUE, gamma = 46, 0.46, 0.022, numerics vs Eq. (5); (d) P_res vs gamma,\n"
            "numerics vs Eq. (4) and the Golden Rule 1/gamma; (e) GOE, GUE, GSE at gamma = 46 vs\n"
            "Eq. (6).  N + 1 = 1000 like the paper.  summary.json records the measured agreement."
        ),
        epilog=_REPRODUCE_EPILOG,
        formatter_class=_FORMATTER,
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke test (200 samples, ~5 s of CPU)")
    size.add_argument("--paper", action="store_true", help="10^4 samples per curve, like the paper")
    p.add_argument("--samples", type=_positive_int, default=None,
                   help="samples per family (all GUE couplings share them; overrides the preset's count)")
    p.add_argument("--limit", action="store_true",
                   help="also simulate N+1 = 250, 500 and extrapolate every curve to N -> infinity")
    p.add_argument("--n", type=_positive_int, default=None,
                   help="number N of dot states (default 999; even N is rounded for GSE)")
    p.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--workers", type=_workers, default=None, help="worker threads (default: all usable cores)")
    p.add_argument("--out", default="fgr-figure2", metavar="DIR", help="output folder (default fgr-figure2/)")
    p.add_argument("--no-plot", dest="plot", action="store_false",
                   help="skip the figure (no matplotlib needed)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress display")


def _run_reproduce(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .figure2 import Figure2Config, reproduce

    if args.plot:
        _require_matplotlib("fgrkern reproduce (or pass --no-plot)")
    if args.n is not None and args.n < 2:
        parser.error("--n must be >= 2 (GSE needs at least one Kramers doublet)")
    preset = "quick" if args.quick else "paper" if args.paper else "default"
    try:
        cfg = Figure2Config.from_preset(preset, samples=args.samples, n=args.n, seed=args.seed,
                                        workers=args.workers, limit=args.limit)
    except ValueError as exc:  # sizes the parser cannot check alone (--samples 1, --limit with a small --n)
        parser.error(str(exc))
    from .figure2 import check_outputs
    from . import SimulationError

    # Every output can be created before the run starts (not after it).
    try:
        check_outputs(args.out, args.plot, cfg.limit)
        os.makedirs(args.out, exist_ok=True)
        check_outputs(args.out, args.plot, cfg.limit)
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc).replace("out:", "--out:", 1)) from None
    except OSError as exc:
        raise UserError(f"cannot create output folder {args.out!r} ({exc.strerror or exc})") from None

    try:
        summary = reproduce(cfg, args.out, plot=args.plot, progress=args.progress)
    except KeyboardInterrupt as exc:
        if not getattr(exc, "__notes__", None):
            # between families or while writing the outputs: no simulate said what is kept
            exc.add_note(_reproduce_kept(args.out))
        raise
    except SimulationError as exc:
        raise UserError(f"simulation failed: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write into {args.out}: {exc}") from None
    print(summary["verdict_text"])
    print(f"wrote {_shown(args.out)}{os.sep}: " + ", ".join(summary["files"]))
    return 0


def _reproduce_kept(out: str) -> str:
    """What a rerun of an interrupted ``reproduce`` into ``out`` resumes from."""
    from ._checkpoint import samples_saved

    try:
        names = sorted(n for n in os.listdir(out) if n.startswith("checkpoint-") and n.endswith(".npz"))
    except OSError:
        names = []
    kept = [n for n in names if samples_saved(os.path.join(out, n))]
    if not kept:
        return "nothing was saved yet"
    return (f"the work done is kept in {len(kept)} checkpoint(s) in {_shown(out)}{os.sep} "
            f"({', '.join(kept)}): rerun the same command to resume")


# ------------------------------------------------------------------- common
def _require_matplotlib(what: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(
            f"{what} needs matplotlib, an optional extra: pip install 'fgrkern[plot]'"
        ) from None


class _VersionAction(argparse.Action):
    """``--version``: the version, and which vector code path the compiled sampler takes on this
    CPU (every path gives the same numbers; the path sets the speed).  The compiled module is
    imported only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"fgrkern {__version__}", flush=True)
        try:
            from . import _sampler
        except ImportError as exc:  # the version stays printable from a broken build
            print(f"sampler code path: unavailable (the compiled module does not load: {exc})")
        else:
            print(f"sampler code path: {_sampler.resolve_path()} (this CPU and build can run: "
                  f"{', '.join(_sampler.paths())})")
        parser.exit()


def build_parser() -> _Parser:
    """The ``fgrkern`` parser; ``parser.commands`` maps each command to its subparser."""
    parser = _Parser(
        prog="fgrkern",
        description="Emergence of Fermi's Golden Rule (PRL 129, 140402): theory, numerics, Figure 2.",
        epilog=(
            "examples:\n"
            "  fgrkern reproduce                      # the paper's Figure 2 into fgr-figure2/\n"
            "  fgrkern simulate --gamma 0.46 --symmetry GOE --samples 20000 --out run.npz\n"
            "  fgrkern theory p_tau --gamma 0.46 --tau 0:5:0.01\n"
            "  fgrkern COMMAND --help                 # options and examples of one command"
        ),
        formatter_class=_FORMATTER,
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="show the version and the compiled sampler's code path, and exit")
    sub = _Commands(parser)
    for name, add, run in (("reproduce", _add_reproduce, _run_reproduce), ("simulate", _add_simulate, _run_simulate),
                           ("theory", _add_theory, _run_theory)):
        add(sub)
        sub.parsers[name].set_defaults(func=run)
    parser.commands = sub.parsers
    return parser


_NUMBERISH = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


def _preprocess(parser: _Parser, argv: list[str]) -> list[str]:
    """Fix what argparse gets wrong before it runs.

    - A value starting with '-' (``--tau -1,0.5``) is glued to its option
      (``--tau=-1,0.5``), so that the value is checked and reported, instead
      of "expected one argument".
    - An unknown option (``--gama``) is reported by name, with the closest
      known option, instead of a confusing complaint about a missing one.
    """
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in parser.commands:
        return argv
    sub = parser.commands[command]
    opts = set(sub.options)
    valued = {o for o, takes_value in sub.options.items() if takes_value}
    top = set(parser.options)
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            out.extend(argv[i:])
            break
        if a.startswith("-") and not _NUMBERISH.match(a) and a != "-":
            name = a.split("=", 1)[0]
            known = opts | top
            # argparse accepts unambiguous prefixes of long options (--samp for --samples)
            prefixed = [o for o in known if o.startswith(name)] if name.startswith("--") else []
            if name not in known and not prefixed:  # (an ambiguous prefix is argparse's to report)
                close = difflib.get_close_matches(name, sorted(o for o in known if o.startswith("--")), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                sub.error(f"unrecognized option {name}{hint}")
            full = name if name in known else prefixed[0] if len(prefixed) == 1 else ""
            if full in valued and "=" not in a and i + 1 < len(argv) and _NUMBERISH.match(argv[i + 1]):
                out.append(f"{a}={argv[i + 1]}")
                i += 2
                continue
        out.append(a)
        i += 1
    return out


def _quiet_broken_pipe() -> int:
    """stdout's reader went away (``| head``): stop quietly, like other Unix tools (128 + SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0 success, 1 runtime error, 2 argument error, 130 interrupted (Ctrl-C),
    143 terminated (SIGTERM; the work done is saved as for Ctrl-C), 141 the
    output pipe was closed by its reader (e.g. ``| head``).
    """
    try:
        parser = build_parser()
    except KeyboardInterrupt:  # Ctrl-C while the parser (and its lazy imports) start: nothing to keep
        print("fgrkern: interrupted", file=sys.stderr)
        return 130
    try:
        args = parser.parse_args(_preprocess(parser, list(sys.argv[1:] if argv is None else argv)))
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        try:
            with _sigterm_as_interrupt():
                status = args.func(args, parser.commands[args.command])
        except UserError as exc:
            print(f"fgrkern: error: {exc}", file=sys.stderr)
            return 1
        except _Interrupted as exc:
            print(f"fgrkern: {exc}", file=sys.stderr)
            return exc.status
        except KeyboardInterrupt as exc:
            # notes say where the work done so far is kept (simulate's checkpoint)
            notes = "".join(f"; {n.removeprefix('simulate: ')}" for n in getattr(exc, "__notes__", ()))
            word, code = _interrupt_status(exc)
            print(f"fgrkern: {word}{notes}", file=sys.stderr)
            return code
        if sys.stdout is not None:
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as exc:
        # standard output on a full disk (> /dev/full) or otherwise unwritable;
        # the files are written before anything is printed
        print(f"fgrkern: error: cannot write the output: {exc}", file=sys.stderr)
        return 1
