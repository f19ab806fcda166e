"""The ``jamming`` command line: list, validate, figures, paper, sweep.

Every command uses one results store (``--store PATH``, else ``$JAMMING_STORE``, else
``results/jamming.sqlite``): the commands that compute (``sweep``, ``validate``, ``figures``,
``paper``) create it, ``list`` only reads it and refuses a missing one. Every command runs
at the same scale unless told (``--scale``, else ``$JAMMING_SCALE``, else ``quick``). Bad
input ends with one line on stderr and exit code 2; a failing claim makes ``validate`` exit
1. Set ``JAMMING_DEBUG=1`` to see tracebacks. The ``--help`` texts are plain text
(:data:`DESCRIPTION`, :data:`EPILOG`), not this docstring's reStructuredText.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from jamming import __version__
from jamming.config import SCALES, default_scale, paper_dir, store_path

EXIT_FAILED_CLAIMS = 1
EXIT_USAGE = 2

#: What ``jamming --help`` says first (plain text).
DESCRIPTION = "Check the claims of the jamming paper against simulations and build the paper."

#: What ``jamming --help`` says last (plain text).
EPILOG = """\
Results store: --store PATH, else $JAMMING_STORE, else results/jamming.sqlite (relative to
the working directory); sweep, validate, figures and paper create it, list only reads it.
Scale: --scale, else $JAMMING_SCALE, else quick, for every command that simulates.
Paper folder (figures, paper): $JAMMING_PAPER_DIR, else ./paper if it holds main.tex, else
the paper/ of the checkout jamming was installed from; validate never writes into it.
Exit codes: 0 success, 1 an established claim failed (validate), 2 bad input.
Set JAMMING_DEBUG=1 to see tracebacks. Help on a command: jamming COMMAND --help."""


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage dump) with exit code 2.

    The line ends with where to read more: ``(see jamming --help)``, or ``(see jamming
    validate --help)`` for an error in a command's arguments.
    """

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _add_store(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "--store", metavar="PATH", default=default,
        help="results store (default: $JAMMING_STORE or results/jamming.sqlite)",
    )


def _add_scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=SCALES,
                        help="simulation scale (default: $JAMMING_SCALE, else quick; the same "
                             "for every command)")


def _add_report_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report-dir", metavar="DIR",
                        help="folder for report.md and report.json (default: the store's "
                             "folder)")


def _add_execution(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="run sweep points on a Dask LocalCluster of N processes")
    where.add_argument("--scheduler", metavar="ADDR",
                       help="run sweep points on an existing Dask scheduler (tcp://HOST:PORT)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="device of GPU-capable sweeps (default: auto)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="recompute sweep points stored as failed")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jamming``."""
    parser = _Parser(prog="jamming", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"jamming {__version__}")
    _add_store(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    listing = commands.add_parser("list", help="claims, sweeps and what the store holds "
                                               "(the store must exist)")
    _add_store(listing, argparse.SUPPRESS)

    validate = commands.add_parser("validate", help="check claims and write report.md and "
                                   "report.json; exit 1 if an established claim fails")
    _add_store(validate, argparse.SUPPRESS)
    _add_scale(validate)
    _add_report_dir(validate)
    validate.add_argument("--only", metavar="PATTERN",
                          help="claim ids, studies (S1) or globs (S1.cover*), comma-separated, "
                               "any case")
    _add_execution(validate)
    validate.add_argument("--json", action="store_true",
                          help="print the verdicts as a JSON list instead of a table")

    for name, text in (("figures", "check every claim; write the reports, the figures and "
                                   "the paper's generated inputs (tables, numbers)"),
                       ("paper", "figures, then latexmk -> paper/main.pdf")):
        command = commands.add_parser(name, help=text)
        _add_store(command, argparse.SUPPRESS)
        _add_scale(command)
        _add_report_dir(command)
        _add_execution(command)

    # Options a model does not take default to None, so that phi_c can refuse them.
    phic = commands.add_parser("phic", help="predicted critical density phi_c of a model")
    phic.add_argument("--store", metavar="PATH", default=argparse.SUPPRESS,
                      help="accepted as by every command; phic reads no store")
    phic.add_argument("--model", choices=("gaussian", "random-features", "ntk"),
                      default="gaussian", help="feature model (default: gaussian)")
    phic.add_argument("--loss", choices=("square", "hinge", "quadratic-hinge"),
                      default="hinge", help="loss (default: hinge)")
    phic.add_argument("--labels", choices=("random", "teacher"), default="random",
                      help="random +-1 labels or the sign of a teacher (default: random)")
    phic.add_argument("--activation", choices=_PhicActivations(), metavar="NAME",
                      help="activation of random-features or ntk: %(choices)s (default: relu; "
                           "ntk takes a subset)")
    phic.add_argument("--input-dim", type=_positive_int, metavar="D",
                      help="input dimension d of random-features or ntk")
    phic.add_argument("--width", type=_positive_int, metavar="H",
                      help="number of features (gaussian, random-features) or hidden width (ntk)")
    phic.add_argument("--depth", type=_positive_int, metavar="L",
                      help="hidden layers of ntk (default: 1)")
    phic.add_argument("--bias", action="store_true", default=None,
                      help="biases in the hidden layers of ntk")
    phic.add_argument("--features-per-dim", type=float, metavar="PSI",
                      help="psi = N_eff/d of random-features")
    phic.add_argument("--json", action="store_true", help="print a JSON object")

    sweep = commands.add_parser("sweep", help="run a named simulation grid into the store")
    _add_store(sweep, argparse.SUPPRESS)
    sweep.add_argument("name", help="sweep name (see: jamming list)")
    _add_scale(sweep)
    _add_execution(sweep)
    return parser


def _open_store(args, *, create: bool = True):
    """The results store of ``args``; with ``create=False`` a missing one is a usage error."""
    from jamming.sweeps.store import MissingStoreError, Store

    try:
        return Store(store_path(args.store), create=create)
    except MissingStoreError as error:
        raise UsageError(f"{error} (run `jamming validate` or `jamming sweep` first, "
                         "or pass --store)") from None


def _runner(args, store):
    from jamming.sweeps.runner import SweepRunner

    if args.device == "cuda":
        from jamming.simulate.devices import resolve_device

        resolve_device("cuda")
    return SweepRunner(store, workers=args.workers, scheduler=args.scheduler,
                       device=args.device, retry_failed=args.retry_failed)


def _command_list(args) -> int:
    from jamming.compare.claims import registry
    from jamming.sweeps.catalog import SWEEPS

    with _open_store(args, create=False) as store:
        stored = {name: store.statuses(name) for name in SWEEPS}
        cached = {}
        for name, spec in SWEEPS.items():
            cached[name] = {
                scale: (sum(stored[name].get(spec.key(p)) == "ok" for p in points), len(points))
                for scale, points in ((s, spec.points(s)) for s in SCALES)
            }
        print(f"store: {store.path}")
    print("\nclaims:")
    for claim in registry().values():
        print(f"  {claim.id:<28} [{', '.join(claim.sweeps)}]")
        print(f"      {claim.statement}")
    print("\nsweeps (stored points / grid points per scale):")
    for name, spec in SWEEPS.items():
        counts = "  ".join(f"{s} {done}/{total}" for s, (done, total) in cached[name].items())
        print(f"  {name:<28} {counts}")
        print(f"      {spec.description}")
    return 0


def _report_folder(args, store) -> Path:
    """``--report-dir`` (else the store's folder), created now, before any claim is checked."""
    if args.report_dir is None:
        return store.path.parent
    folder = Path(args.report_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = "a file is in the way" if isinstance(error, FileExistsError) else (
            error.strerror or str(error))
        raise UsageError(f"--report-dir {folder}: cannot create the folder ({reason})") from None
    return folder


def _check(args, claims, *, figures: bool, only: str | None = None):
    """Check ``claims`` and write the reports (``--report-dir``, else the store's folder).

    Validation writes nothing into the paper: its generated files are written together by
    ``figures`` and ``paper`` (:func:`jamming.compare.paper.write_generated`).
    """
    from jamming.compare.report import check_claims, write_reports

    claims = list(claims)
    selection = f"--only {only}" if only is not None else f"all {len(claims)} claims"
    figure_folder = paper_dir() / "figures" if figures else None
    with _open_store(args) as store, _runner(args, store) as runner:
        report_folder = _report_folder(args, store)
        results = check_claims(claims, args.scale, runner, figure_folder=figure_folder)
        written = write_reports(results, report_folder, selection=selection)
    return results, written


def _command_validate(args) -> int:
    from jamming.compare.claims import select
    from jamming.compare.report import text_table

    results, written = _check(args, select(args.only), figures=False, only=args.only)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    else:
        print(text_table(results))
        print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_FAILED_CLAIMS if any(r.blocking_failure for r in results) else 0


def _command_figures(args) -> int:
    from jamming.compare.claims import select
    from jamming.compare.paper import write_generated
    from jamming.compare.report import text_table

    results, written = _check(args, select(None), figures=True)
    written += write_generated(paper_dir() / "generated", args.scale, results)
    print(text_table(results))
    print(f"wrote {len(results)} figures in {paper_dir() / 'figures'} and {len(written)} files")
    return 0


def _command_paper(args) -> int:
    from jamming.compare.paper import LatexError, build_pdf, find_latexmk

    try:
        latexmk = find_latexmk()  # before drawing every figure, not after
        _command_figures(args)
        start = time.perf_counter()
        pdf = build_pdf(paper_dir(), latexmk=latexmk)
    except LatexError as error:
        print(f"jamming: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {pdf} (latexmk {time.perf_counter() - start:.1f} s)")
    return 0


def _command_sweep(args) -> int:
    from jamming.sweeps.catalog import get_sweep

    spec = get_sweep(args.name)
    with _open_store(args) as store, _runner(args, store) as runner:
        runner.run(spec.name, args.scale)
        summary = runner.summaries[-1]
        print(f"store: {store.path}")
    print(summary.describe(args.scale))
    return 0


class _PhicActivations:
    """The choices of ``phic --activation``, :data:`jamming.theory.phi_c.ACTIVATIONS`.

    Read when argparse first iterates them (checking a value, writing help), so that
    building the parser, as every command does, does not import the theory (scipy).
    """

    def __iter__(self):
        from jamming.theory.phi_c import ACTIVATIONS

        return iter(ACTIVATIONS)


#: ``phic``'s flags whose name is not the parameter's of :func:`jamming.theory.phi_c.phi_c`.
_PHIC_FLAGS = {"psi": "--features-per-dim"}


def _phic_flags(message: str, parameters) -> str:
    """A message of :func:`jamming.theory.phi_c.phi_c` naming ``phic``'s flags.

    Each of ``parameters`` becomes its flag, with its value if one follows:
    ``input_dim`` -> ``--input-dim``, ``model='ntk'`` -> ``--model ntk``,
    ``width=7`` -> ``--width 7``, ``psi`` -> ``--features-per-dim``.
    """
    import re

    def flag(match):
        value = match[2] if match[2] is not None else match[3]
        name = _PHIC_FLAGS.get(match[1], "--" + match[1].replace("_", "-"))
        return name + ("" if value is None else f" {value}")

    names = "|".join(map(re.escape, parameters))
    return re.sub(rf"\b({names})\b(?:='([^']*)'|=([^\s;,)]+))?", flag, message)


def _command_phic(args) -> int:
    import inspect
    import math

    from jamming.theory.phi_c import phi_c

    try:
        result = phi_c(args.model, args.loss, args.labels, activation=args.activation,
                       input_dim=args.input_dim, width=args.width, depth=args.depth,
                       bias=args.bias, psi=args.features_per_dim)
    except ValueError as error:
        raise ValueError(_phic_flags(str(error), inspect.signature(phi_c).parameters)) from None
    unbounded = math.isinf(result.phi_c)
    if args.json:
        print(json.dumps({
            "model": args.model, "loss": args.loss, "labels": args.labels,
            "phi_c": None if unbounded else result.phi_c, "always_sat": unbounded,
            "n_eff": result.n_eff,
            "n_data": None if result.n_data is None or unbounded else result.n_data,
            "formula": result.formula, "reference": result.reference,
        }, indent=2))
        return 0
    print(f"phi_c = {result.phi_c:.6g}   (N_data/N_eff at the transition)")
    if result.n_eff is not None:
        print(f"N_eff = {result.n_eff}, N_data at the transition = {result.n_data:.6g}")
    print(f"formula: {result.formula}")
    print(f"reference: {result.reference}")
    return 0


COMMANDS = {
    "list": _command_list,
    "validate": _command_validate,
    "figures": _command_figures,
    "paper": _command_paper,
    "sweep": _command_sweep,
    "phic": _command_phic,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from jamming.sweeps.store import StoreError

    debug = bool(os.environ.get("JAMMING_DEBUG"))
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # point to the help of the command they were given to
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)} "
                             f"(see jamming {args.command} --help)")
        if "scale" in args and args.scale is None:
            args.scale = default_scale()
        return COMMANDS[args.command](args)
    except (UsageError, StoreError, ValueError, TypeError, OSError) as error:
        if debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"jamming: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("jamming: interrupted; every stored point is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
