"""`nta-ms1`: run the MS1 workflow on files from a terminal.

    nta-ms1 run --pos POS.csv --neg NEG.csv --tracers T.csv --run-sequence-pos RP.csv \
        --run-sequence-neg RN.csv --out results/ [--no-search] [--set KEY=VALUE ...]
    nta-ms1 params        # every parameter with its default and meaning

Start-up matters for a command that runs for about a second: `run` forks its plot worker (nta_pipeline.render)
before anything heavy is imported, and imports pandas, the workflow and the writers only then, so the worker's
matplotlib import overlaps the main process's; the search client (requests) is imported only to search.
As a command (`console_main`) it runs without Python's cyclic garbage collector, see there.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
from pathlib import Path

from .errors import InputError, NtaError, ParameterError, StepError
from .params import HELP, LABELS, Parameters

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nta-ms1", description="MS1 non-targeted analysis workflow")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the workflow and write workbook, CSVs, plots and summary.json")
    run.add_argument("--pos", type=Path, help="positive-mode feature table (CSV)")
    run.add_argument("--neg", type=Path, help="negative-mode feature table (CSV)")
    run.add_argument("--tracers", type=Path, help="tracer file (CSV, both modes)")
    run.add_argument("--run-sequence-pos", type=Path, help="run-sequence file of the positive table")
    run.add_argument("--run-sequence-neg", type=Path, help="run-sequence file of the negative table")
    run.add_argument("--out", type=Path, required=True, help="output folder (replaced atomically)")
    run.add_argument("--no-search", action="store_true", help="skip the chemical search (search_dsstox=no)")
    run.add_argument("--api-url", default=os.environ.get("NTA_API_URL", ""),
                     help="search API base URL, e.g. http://localhost:31000/nta/rest (env NTA_API_URL)")
    run.add_argument("--pos-adducts", help="comma list, e.g. Na,K,NH4")
    run.add_argument("--neg-adducts", help="comma list, e.g. Cl,HCO2,CH3CO2")
    run.add_argument("--neutral-losses", help="comma list, e.g. H2O,CO2")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="any analysis parameter (see `nta-ms1 params`); repeatable")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    sub.add_parser("params", help="list every analysis parameter with its default")
    return parser


def _parameters(args: argparse.Namespace) -> Parameters:
    values: dict[str, str] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ParameterError(f"--set expects KEY=VALUE, got {item!r}")
        values[key.strip()] = value
    for key in ("pos_adducts", "neg_adducts", "neutral_losses"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.no_search:
        values["search_dsstox"] = "no"
    for key, path in (("pos_input", args.pos), ("neg_input", args.neg), ("tracer_input", args.tracers),
                      ("run_sequence_pos_file", args.run_sequence_pos),
                      ("run_sequence_neg_file", args.run_sequence_neg)):  # fmt: skip
        if path is not None:
            values.setdefault(key, path.name)
    return Parameters.from_strings(values)


def _progress_printer(quiet: bool):
    def show(step: str, fraction: float) -> None:
        if not quiet:
            print(f"[{fraction * 100:5.1f}%] {step}", file=sys.stderr, flush=True)

    return show


def cmd_run(args: argparse.Namespace) -> int:
    from .render import plot_workers

    # First of all: the worker warms up while everything below runs.
    with plot_workers() as renderer:
        params = _parameters(args)
        for label, path in (("--pos", args.pos), ("--neg", args.neg), ("--tracers", args.tracers),
                            ("--run-sequence-pos", args.run_sequence_pos),
                            ("--run-sequence-neg", args.run_sequence_neg)):  # fmt: skip
            if path is not None and not path.is_file():
                raise InputError(f"{label}: no such file", file=str(path))
        from .outputs import write_outputs
        from .workflow import Inputs, run_workflow

        searcher = None
        if params.search_dsstox == "yes" and args.api_url:
            from .search import ApiSearcher

            searcher = ApiSearcher(args.api_url, job_id="cli", retries=2)  # someone is waiting: a wrong URL fails fast
        inputs = Inputs(pos=args.pos, neg=args.neg, tracers=args.tracers, run_sequence_pos=args.run_sequence_pos,
                        run_sequence_neg=args.run_sequence_neg)  # fmt: skip
        results = run_workflow(inputs, params, progress=_progress_printer(args.quiet), searcher=searcher,
                               renderer=renderer)  # fmt: skip
        # Builds the workbook and CSVs first and reads the plots last, so the worker draws meanwhile.
        write_outputs(results, args.out, params.project_name)
    for warning in results.summary["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    s = results.summary
    print(f"{s['final_features']} features in the Final Occurrence Matrix "
          f"({s['features_in']['pos']} pos + {s['features_in']['neg']} neg in) in {s['seconds']:.2f} s; "
          f"results in {args.out}")  # fmt: skip
    return 0


def cmd_params() -> int:
    defaults = Parameters()
    for f in dataclasses.fields(Parameters):
        value = getattr(defaults, f.name)
        shown = ",".join(value) if isinstance(value, tuple) else value
        print(f"{f.name:28} {str(shown):22} {LABELS[f.name]}" + (f" — {HELP[f.name]}" if f.name in HELP else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return cmd_params() if args.command == "params" else cmd_run(args)
    except StepError as exc:
        if isinstance(exc.cause, InputError | ParameterError):
            print(f"nta-ms1: error: {exc.cause}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"nta-ms1: error: failed on step '{exc.step}': {exc.cause!r}", file=sys.stderr)
        return EXIT_FAILED
    except (InputError, ParameterError) as exc:
        print(f"nta-ms1: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except NtaError as exc:
        print(f"nta-ms1: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def console_main() -> None:
    """The `nta-ms1` command (and `python -m nta_pipeline.cli`): `main()` with the cyclic garbage collector off.

    A run's garbage is freed by reference counting: with the collector off, peak RSS went from 212 to 214 MB on the
    holdout-like data and from 775 to 780 MB on a 50,000 x 60 table. The collector only costs time: about 0.1 s
    during a holdout-size run (the plot worker, forked by the run, inherits the setting), and 0.15-0.2 s in the
    interpreter's last collection at exit, which walks every object the run left behind; frozen objects are not
    walked. Not in `main()`, which tests call in-process."""
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()
