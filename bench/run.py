#!/usr/bin/env python3
"""fgrkern benchmark runner.

    python bench/run.py kernel          # one section
    python bench/run.py all             # every section
    python bench/run.py --list          # what sections exist

A section is any module ``bench/bench_<name>.py`` that exposes
``run(args) -> dict``; new sections plug in without editing this file.
``run`` returns ``{"rows": [row, ...], "notes": [str, ...]}`` (notes optional),
each row being

    {"case": str,                      # what is computed, sizes
     "threads": int,                   # threads fgrkern used
     "fgrkern": {"label": str, "seconds": float},
     "baselines": {label: seconds, ...},   # plain numpy/scipy, same process
     "max_abs_diff": float}            # optional: |fgrkern - baseline| (sanity)

The runner adds the ratios (baseline time / fgrkern time, > 1 means fgrkern
is faster), prints a Markdown table and writes the raw figures with machine
and version information to ``bench/results/<name>.json``.

Sections whose measurements do not fit one row per case (sampler: scaling
exponents; simulate: samples/s and parallel efficiency) return their own
record without "rows"; they print their tables themselves or expose
``markdown(result) -> str``, and the runner still writes the JSON.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import benchlib  # noqa: E402


def discover() -> dict[str, pathlib.Path]:
    return {p.stem[len("bench_"):]: p for p in sorted(HERE.glob("bench_*.py"))}


def load(name: str, path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(f"fgrkern_bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not callable(getattr(mod, "run", None)):
        raise SystemExit(f"{path.name} has no run(args) function")
    return mod


def add_ratios(rows: list[dict]) -> None:
    for row in rows:
        ours = row["fgrkern"]["seconds"]
        base = row.get("baselines", {})
        row["ratios"] = {k: v / ours for k, v in base.items()}
        if base:
            best = min(base, key=base.get)
            row["best_baseline"] = best
            row["ratio_vs_best"] = base[best] / ours


def fmt_ms(s: float) -> str:
    ms = s * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def markdown(name: str, rows: list[dict]) -> str:
    lines = [f"### {name}", "",
             "| case | threads | fgrkern (ms) | baselines (ms, ratio) | best ratio | max abs diff |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        base = "; ".join(f"{k}: {fmt_ms(v)} ({row['ratios'][k]:.1f}x)"
                         for k, v in row.get("baselines", {}).items()) or "-"
        best = f"**{row['ratio_vs_best']:.1f}x**" if "ratio_vs_best" in row else "-"
        diff = f"{row['max_abs_diff']:.1e}" if "max_abs_diff" in row else "-"
        lines.append(f"| {row['case']} | {row['threads']} | {fmt_ms(row['fgrkern']['seconds'])} "
                     f"({row['fgrkern']['label']}) | {base} | {best} | {diff} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    sections = discover()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sections", nargs="*", help=f"'all' or any of: {', '.join(sections)}")
    ap.add_argument("--list", action="store_true", help="list the sections and exit")
    ap.add_argument("--repeat", type=int, default=7, help="timing rounds; the minimum is reported")
    ap.add_argument("--min-seconds", type=float, default=0.05,
                    help="each timing round repeats the call for at least this long")
    ap.add_argument("--quick", action="store_true", help="small sizes, few short repeats (smoke test)")
    ap.add_argument("--results", type=pathlib.Path, default=HERE / "results",
                    help="folder for the JSON files")
    args = ap.parse_args(argv)
    if args.list or not args.sections:
        print("sections:", ", ".join(sections) or "(none)")
        return 0 if args.list else 2
    names = list(sections) if "all" in args.sections else args.sections
    unknown = [n for n in names if n not in sections]
    if unknown:
        ap.error(f"unknown section(s) {unknown}; available: {', '.join(sections)}")
    if args.quick:
        args.repeat = min(args.repeat, 2)
        args.min_seconds = min(args.min_seconds, 0.002)

    machine, versions = benchlib.machine_info(), benchlib.versions()
    if "OPENBLAS_CORETYPE" in machine["env"]:
        print("warning: OPENBLAS_CORETYPE is set; numpy's BLAS runs a generic kernel and the "
              "baselines are slower than they would be. For fair numbers run\n"
              "  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py ...",
              file=sys.stderr)
    loadavg = machine["load_average_1_5_15min"]
    print(f"machine: {machine['cpu_model']}, {machine['usable_cores']} usable cores"
          + (f", load average {loadavg[0]:.1f}" if loadavg else "") + "; "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    args.results.mkdir(parents=True, exist_ok=True)
    for name in names:
        mod = load(name, sections[name])
        result = mod.run(args)
        print()
        if "rows" in result:
            add_ratios(result["rows"])
            print(markdown(name, result["rows"]))
        elif callable(getattr(mod, "markdown", None)):
            print(f"### {name}\n")
            print(mod.markdown(result))
        for note in result.get("notes", []):
            print(f"- {note}")
        record = {
            "section": name,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine,
            "versions": versions,
            "blas": benchlib.blas_info(),
            "repeat": args.repeat,
            "quick": args.quick,
            **result,
        }
        out = args.results / f"{name}.json"
        out.write_text(json.dumps(record, indent=2) + "\n")
        print(f"\n(raw figures: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
