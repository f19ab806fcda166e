"""The ``jamming`` command line: list, validate, figures, paper, sweep.

Every command reads and writes one results store (``--store PATH``, else ``$JAMMING_STORE``,
else ``results/jamming.sqlite``). Bad input ends with one line on stderr and exit code 2;
a failing claim makes ``validate`` exit 1. Set ``JAMMING_DEBUG=1`` to see tracebacks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from jamming import __version__
from jamming.config import SCALES, paper_dir, store_path

EXIT_FAILED_CLAIMS = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage dump) with exit code 2."""

    def error(self, message: str):
        raise UsageError(message)


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


def _add_scale(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--scale", choices=SCALES, default=default,
                        help=f"simulation scale (default: {default})")


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
    parser = _Parser(prog="jamming", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"jamming {__version__}")
    _add_store(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    listing = commands.add_parser("list", help="claims, sweeps and what the store holds")
    _add_store(listing, argparse.SUPPRESS)

    validate = commands.add_parser("validate", help="check claims; exit 1 if any fails")
    _add_store(validate, argparse.SUPPRESS)
    _add_scale(validate, "quick")
    validate.add_argument("--only", metavar="PATTERN",
                          help="claim ids, studies (S1) or globs (S1.cover*), comma-separated, "
                               "any case")
    _add_execution(validate)
    validate.add_argument("--json", action="store_true",
                          help="print the verdicts as a JSON list instead of a table")

    for name, text in (("figures", "write paper/figures/*.pdf and paper/generated/*.tex"),
                       ("paper", "figures, then latexmk -> paper/main.pdf")):
        command = commands.add_parser(name, help=text)
        _add_store(command, argparse.SUPPRESS)
        _add_scale(command, "paper")
        _add_execution(command)

    phic = commands.add_parser("phic", help="predicted critical density phi_c of a model")
    phic.add_argument("--model", choices=("gaussian", "random-features", "ntk"),
                      default="gaussian", help="feature model (default: gaussian)")
    phic.add_argument("--loss", choices=("square", "hinge", "quadratic-hinge"),
                      default="hinge", help="loss (default: hinge)")
    phic.add_argument("--labels", choices=("random", "teacher"), default="random",
                      help="random +-1 labels or the sign of a teacher (default: random)")
    phic.add_argument("--activation", choices=("relu", "tanh", "erf", "identity"),
                      default="relu", help="activation of the features or network")
    phic.add_argument("--input-dim", type=_positive_int, metavar="D", help="input dimension d")
    phic.add_argument("--width", type=_positive_int, metavar="H",
                      help="number of features (gaussian, random-features) or hidden width")
    phic.add_argument("--depth", type=_positive_int, default=1, metavar="L",
                      help="hidden layers of the NTK network (default: 1)")
    phic.add_argument("--bias", action="store_true", help="NTK network with biases")
    phic.add_argument("--features-per-dim", type=float, metavar="PSI",
                      help="psi = N_eff/d of random features")
    phic.add_argument("--json", action="store_true", help="print a JSON object")

    sweep = commands.add_parser("sweep", help="run a named simulation grid into the store")
    _add_store(sweep, argparse.SUPPRESS)
    sweep.add_argument("name", help="sweep name (see `jamming list`)")
    _add_scale(sweep, "paper")
    _add_execution(sweep)
    return parser


def _open_store(args):
    from jamming.sweeps.store import Store

    return Store(store_path(args.store))


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

    with _open_store(args) as store:
        stored = {name: store.statuses(name) for name in SWEEPS}
        cached = {}
        for name, spec in SWEEPS.items():
            cached[name] = {
                scale: (sum(stored[name].get(spec.key(p)) == "ok" for p in points), len(points))
                for scale, points in ((s, spec.grid(s)) for s in SCALES)
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


def _check(args, claims, *, figures: bool, paper_table: bool = True):
    from jamming.compare.report import check_claims, write_reports

    figure_folder = paper_dir() / "figures" if figures else None
    with _open_store(args) as store, _runner(args, store) as runner:
        results = check_claims(claims, args.scale, runner, figure_folder=figure_folder)
        written = write_reports(results, store.path.parent,
                                paper_dir() / "generated" if paper_table else None)
    return results, written


def _command_validate(args) -> int:
    from jamming.compare.claims import select
    from jamming.compare.report import text_table

    results, written = _check(args, select(args.only), figures=False,
                              paper_table=args.only is None)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    else:
        print(text_table(results))
        print("wrote " + ", ".join(str(p) for p in written))
        if args.only is not None:
            print("the paper's claims table is left as it was (--only checks a selection)")
    return EXIT_FAILED_CLAIMS if any(r.blocking_failure for r in results) else 0


def _command_figures(args) -> int:
    from jamming.compare.claims import select
    from jamming.compare.paper import write_generated
    from jamming.compare.report import text_table

    results, written = _check(args, select(None), figures=True)
    written += write_generated(paper_dir() / "generated", args.scale)
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
        start = time.perf_counter()
        runner.run(spec.name, args.scale)
        summary = runner.summaries[-1]
    print(f"sweep {summary.name} at scale {args.scale}: {summary.total} points, "
          f"{summary.cached} cached, {summary.computed} computed, {summary.failed} failed "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


def _command_phic(args) -> int:
    import math

    from jamming.theory.phi_c import phi_c

    result = phi_c(args.model, args.loss, args.labels, activation=args.activation,
                   input_dim=args.input_dim, width=args.width, depth=args.depth,
                   bias=args.bias, features_per_dim=args.features_per_dim)
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
        args = build_parser().parse_args(argv)
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
