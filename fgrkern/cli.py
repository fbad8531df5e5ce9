"""The ``fgrkern`` command line.

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
status 1.  Tracebacks are shown only for genuine bugs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ._version import __version__

if TYPE_CHECKING:
    import numpy as np

__all__ = ["build_parser", "main", "parse_grid"]


class UserError(Exception):
    """A mistake of the user's detected while running (exit status 1, no traceback)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``prog: error: message (see prog --help)``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


_FORMATTER = argparse.RawDescriptionHelpFormatter


# --------------------------------------------------------------------- grids
def parse_grid(spec: str) -> "np.ndarray":
    """Parse a grid specification into a float64 array.

    Raises ``ValueError`` (with the reason) for anything else.

    Accepted forms (all end points inclusive):

    ``0.5``                  one value
    ``0.1,0.5,2``            a list
    ``START:STOP:STEP``      linear grid with step STEP, e.g. ``0:5:0.01`` (501 points)
    ``START:STOP:Nlin``      N linearly spaced points
    ``START:STOP:Nlog``      N logarithmically spaced points (START, STOP > 0), e.g. ``1e-3:10:200log``
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
            if n > 10_000_000:
                raise ValueError(f"grid {spec!r} has {n} points; at most 10^7 are allowed")
            arr = start + step * np.arange(n, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"grid {spec!r} contains non-finite values")
    return arr


def _grid_type(spec: str) -> Any:
    try:
        return parse_grid(spec)
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


def _int_arg(minimum: int, also: int | None = None, what: str = "") -> Callable[[str], int]:
    """argparse type: an integer >= ``minimum`` (or equal to ``also``); accepts 1e4-style input."""

    def parse(text: str) -> int:
        try:
            f = float(text)
            v = int(f) if f.is_integer() else None
        except (ValueError, OverflowError):
            v = None
        if v is None:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < minimum and v != also:
            raise argparse.ArgumentTypeError(f"must be {what or f'>= {minimum}'}, got {text!r}")
        return v

    return parse


_positive_float = _float_arg(True)
_finite_float = _float_arg(False)
_positive_int = _int_arg(1, what="a positive integer")
_seed = _int_arg(0, what="a non-negative integer")
_workers = _int_arg(1, also=-1, what=">= 1 (or -1 for all cores)")


def _symmetry(text: str) -> str:
    from ._validation import parse_symmetry

    try:
        return parse_symmetry(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown symmetry {text!r}: expected GUE, GOE, GSE (or U, O, S)") from None


# ------------------------------------------------------------------- theory
# name -> (required parameters, function name in fgrkern.theory, description)
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


def _add_theory(sub: Any) -> None:
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


def _add_simulate(sub: Any) -> None:
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
    p.add_argument("--n", type=_positive_int, default=999, help="number N of dot states (default 999, N+1 = 1000)")
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
    p.add_argument("--tau", type=_grid_type, default="1e-3:10:200log", metavar="GRID",
                   help="rescaled times tau = t/t_H (default 1e-3:10:200log)")
    p.add_argument("--seed", type=_seed, default=None, help="random seed (default: fresh entropy)")
    p.add_argument("--method", choices=("secular", "dense"), default="secular",
                   help="secular: fast exact O(N^2) sampler (default); dense: full diagonalisation")
    p.add_argument("--workers", type=_workers, default=None,
                   help="worker threads (default: all usable cores); results do not depend on it")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="checkpoint file: progress is saved there and a rerun resumes from it")
    p.add_argument("--out", default="run.npz", metavar="PATH", help="result file (.npz, default run.npz)")
    p.add_argument("--plot", action="store_true",
                   help="also write a PNG (same name as --out, .png) with the matching theory curve")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress display")


def _load_bath(spec: str, n: int) -> Any:
    import numpy as np

    key = spec.strip().lower()
    if key in ("wigner-dyson", "wd", "poisson"):
        return "poisson" if key == "poisson" else "wigner-dyson"
    if not os.path.exists(spec):
        raise UserError(f"--bath {spec!r}: not 'wigner-dyson' or 'poisson', and no such file")
    try:
        levels = np.load(spec) if spec.endswith(".npy") else np.loadtxt(spec, dtype=np.float64, ndmin=1)
    except Exception as exc:  # unreadable / malformed file
        raise UserError(f"--bath {spec!r}: cannot read bath levels ({exc})") from None
    levels = np.asarray(levels, dtype=np.float64).ravel()
    if levels.size != n:
        raise UserError(f"--bath {spec!r} holds {levels.size} levels but --n is {n}")
    return levels


def _theory_curve(symmetry: str, bath: Any, tau: Any, gamma: float) -> tuple[Any, str] | tuple[None, str]:
    """The matching theory curve for a simulation, or (None, reason)."""
    from . import theory

    if not isinstance(bath, str) or bath != "wigner-dyson":
        return None, "no closed form for this bath"
    if symmetry == "GUE":
        return theory.p_tau(tau, gamma), "Eq. (5)"
    return theory.p_sff(tau, gamma, symmetry), "Eq. (6), valid for gamma >> 1"


def _run_simulate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import numpy as np

    import fgrkern as fk
    from .simulation import SimulationError

    tau = np.asarray(args.tau, dtype=np.float64)
    if np.any(tau < 0):
        parser.error("--tau must be >= 0")
    if args.symmetry == "GSE" and args.n % 2:
        parser.error(f"GSE needs an even --n (N/2 Kramers doublets), got {args.n}")
    if args.plot:
        _require_matplotlib("--plot")
    for path, what in ((args.out, "--out"), (args.checkpoint, "--checkpoint")):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder is not None and not os.path.isdir(folder):
            raise UserError(f"{what} {path!r}: folder {folder!r} does not exist")
    bath = _load_bath(args.bath, args.n)
    g = args.g if args.g is not None else args.gamma / args.n
    try:
        model = fk.LevelDotModel(args.n, g, symmetry=args.symmetry, lam=args.lam, eps0=args.eps0, bath=bath)
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    gamma = float(model.gamma)

    t0 = time.perf_counter()
    try:
        res = fk.simulate(model, tau, args.samples, rng=args.seed, method=args.method, workers=args.workers,
                          progress=args.progress and _have_tqdm(), checkpoint=args.checkpoint)
    except (ValueError, TypeError, OSError) as exc:
        raise UserError(str(exc)) from None
    except SimulationError as exc:
        raise UserError(f"simulation failed: {exc}") from None
    elapsed = time.perf_counter() - t0

    th, th_label = _theory_curve(args.symmetry, bath, res.tau, gamma) if args.eps0 == 0.0 else (None, "eps0 != 0")
    bath_name = bath if isinstance(bath, str) else f"user levels from {args.bath}"
    print(f"fgrkern simulate: N = {args.n}, gamma = {gamma:.6g} (g = {g:.6g}), {args.symmetry}, "
          f"bath = {bath_name}, {res.n_samples} samples, method = {args.method}, {elapsed:.1f} s")
    rows = np.unique(np.linspace(0, res.tau.size - 1, min(12, res.tau.size)).round().astype(int))
    head = f"{'tau':>11} {'t (1/lam)':>11} {'P mean':>11} {'sem':>10}"
    if th is not None:
        head += f" {'theory':>11} {'z':>7}"
    print(head)
    for i in rows:
        line = f"{res.tau[i]:11.4g} {res.t[i]:11.4g} {res.mean[i]:11.5g} {res.sem[i]:10.2g}"
        if th is not None:
            z = (res.mean[i] - th[i]) / res.sem[i] if res.sem[i] > 0 else float("nan")
            line += f" {th[i]:11.5g} {z:7.2f}"
        print(line)
    if th is not None:
        print(f"theory: {th_label}; z = (mean - theory)/sem")
        if args.symmetry != "GUE":
            print(f"note: Eq. (6) neglects corrections of relative order 1/gamma = {1 / gamma:.2g}")
        if gamma / args.n > 0.01:
            print(f"note: the theory is the limit N -> inf at fixed gamma; expect O(gamma/N) = "
                  f"{gamma / args.n:.2g} relative deviations at this N")
    pres = f"P_res (t -> inf, mean IPR) = {res.p_res:.6g} +- {res.p_res_sem:.2g}"
    if args.symmetry == "GUE" and isinstance(bath, str) and bath == "wigner-dyson" and args.eps0 == 0.0:
        pres += f"; Eq. (4): {fk.theory.p_res(gamma):.6g}"
    print(pres)

    try:
        res.save(args.out)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc}") from None
    print(f"saved {args.out}")
    if args.plot:
        from .figure2 import plot_simulation

        png = os.path.splitext(args.out)[0] + ".png"
        title = f"N = {args.n}, gamma = {gamma:.4g}, {args.symmetry}, {bath_name}"
        try:
            plot_simulation(res, th, th_label, png, title=title)
        except OSError as exc:
            raise UserError(f"cannot write {png}: {exc}") from None
        print(f"saved {png}")
    return 0


# ---------------------------------------------------------------- reproduce
_REPRODUCE_EPILOG = """\
presets (per curve of panels a-c and e; panel d uses the same count per gamma):
  --quick      a smoke test, ~20 s on 2 cores (few samples, coarse panel d)
  (default)    ~3 minutes on a 2-core laptop
  --paper      10^4 samples per curve like the paper (see the README for the run time)
  --samples N  any count

examples:
  fgrkern reproduce                          # writes fgr-figure2/
  fgrkern reproduce --quick --out /tmp/fig2
  fgrkern reproduce --paper --seed 7 --out paper-run
  fgrkern reproduce --samples 5000 --no-plot  # data and summary.json only

Outputs in --out: figure2.png, figure2.pdf, panel_a.csv ... panel_e.csv, summary.json.
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
    size.add_argument("--quick", action="store_true", help="smoke test (~20 s)")
    size.add_argument("--paper", action="store_true", help="10^4 samples per curve, like the paper")
    p.add_argument("--samples", type=_positive_int, default=None,
                   help="samples per curve and per gamma of panel (d) (overrides the preset's count)")
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
    cfg = Figure2Config.from_preset(preset, samples=args.samples, n=args.n, seed=args.seed, workers=args.workers)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {args.out}: {exc}") from None
    from .simulation import SimulationError

    try:
        summary = reproduce(cfg, args.out, plot=args.plot, progress=args.progress)
    except SimulationError as exc:
        raise UserError(f"simulation failed: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write into {args.out}: {exc}") from None
    print(summary["verdict_text"])
    print(f"wrote {args.out}{os.sep}: " + ", ".join(summary["files"]))
    return 0


# ------------------------------------------------------------------- common
def _have_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _require_matplotlib(what: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(
            f"{what} needs matplotlib, an optional extra: pip install 'fgrkern[plot]'"
        ) from None


def build_parser() -> argparse.ArgumentParser:
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
    parser.add_argument("--version", action="version", version=f"fgrkern {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_reproduce(sub)
    _add_simulate(sub)
    _add_theory(sub)
    return parser


_COMMANDS: dict[str, Callable[[argparse.Namespace, argparse.ArgumentParser], int]] = {
    "reproduce": _run_reproduce,
    "simulate": _run_simulate,
    "theory": _run_theory,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    sub_parser = parser._subparsers._group_actions[0].choices[args.command]  # type: ignore[union-attr]
    try:
        return _COMMANDS[args.command](args, sub_parser)
    except UserError as exc:
        print(f"fgrkern: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        # notes say where the work done so far is kept (simulate's checkpoint)
        notes = "".join(f"; {n.removeprefix('simulate: ')}" for n in getattr(exc, "__notes__", ()))
        print(f"fgrkern: interrupted{notes}", file=sys.stderr)
        return 130
