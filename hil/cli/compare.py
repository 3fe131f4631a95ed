"""``hil compare``: HIL against software-then-deploy (nominal and per-device calibration),
under paper 002's fixed learning parameters and with each way's picked on validation, paired
over seeds in blocks (hil/grids/compare.py), as a Dask grid; ``--report`` prints the tables
of stored runs, with the "where HIL helps" table over all of them."""

from __future__ import annotations

import argparse
from pathlib import Path

import hil
from hil import ConfigError
from hil.cli.common import print_json_line

EXPERIMENTS = ("paper", "784-400-10")  # hil.compare_experiment's (the parser loads no torch)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil compare`` (HIL against software-then-deploy, paper 002 Fig. 4d-e) to the parser."""
    p = commands.add_parser("compare", help="HIL vs deployed (nominal / device calibration), "
                            "paired over seeds, fixed and validation-picked hyperparameters")
    p.add_argument("--experiment", choices=EXPERIMENTS, default="paper",
                   help="paper: 784 x 4, 16 training images (Fig. 4); 784-400-10: all classes,"
                   " 400 hidden neurons")
    p.add_argument("--etas", default="0,0.1,0.25")
    p.add_argument("--seeds", type=int, default=100, help="seeds per condition (a verdict "
                   "needs 100)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--nonidealities", default="none,drift",
                   help="comma-separated, each NAME or NAME=FRACTION: none, drift (SI S4: "
                   "+-0.5 %% after characterisation; drift=0.2 for 20 %%), width (a chip-wide "
                   "width error, default 20 %%), joule (used with 100 ns reset-to-write gaps, "
                   "characterised with slow cycles)")
    p.add_argument("--protocols", default="fixed,picked",
                   help="fixed (paper 002: the same learning parameters for every way), "
                   "picked (each way's chosen on validation)")
    p.add_argument("--fixed", metavar="LR,BATCH", help="the fixed protocol's learning rate "
                   "and batch size (default: the experiment's, 0.1 and one update per epoch)")
    p.add_argument("--gradient", choices=("straight-through", "clamp-aware", "exact"),
                   default="straight-through", help="HIL's backward rule through the devices")
    p.add_argument("--error", choices=("unbiased", "corrected"), default="unbiased",
                   help="HIL's output error: count/T - y, or the display rate's")
    p.add_argument("--epochs", type=int, help="override the experiment's epochs (quick tries)")
    p.add_argument("--steps", type=int, help="override the experiment's time steps T")
    p.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument("--workers", type=int, help="local cluster size (default: every core)")
    p.add_argument("--resume", type=int, metavar="RUN_ID")
    p.add_argument("--report", metavar="RUN_IDS", help="print the tables of stored compare "
                   "runs (comma-separated; runs of one experiment joined by + are pooled, "
                   "e.g. 3+5) and the where-HIL-helps table; computes nothing")
    p.add_argument("--out", default="compare", help="folder for the CSV and the tables")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def experiment(name: str):
    """The named experiment (``hil.compare_experiment``): ``paper`` (paper 002's 784 x 4) or
    ``784-400-10`` (every hidden neuron a device)."""
    return hil.compare_experiment(name)


def _list(field: str, text: str) -> list[float]:
    try:
        return [float(e) for e in text.split(",")]
    except ValueError:
        raise ConfigError(field, f"{text!r} is not a list of numbers") from None


def _fixed(text: str | None) -> tuple[float, int] | None:
    if text is None:
        return None
    try:
        lr, batch = text.split(",")
        return float(lr), int(batch)
    except ValueError:
        raise ConfigError("fixed", f"{text!r} is not LR,BATCH (e.g. 0.5,4)") from None


def run(args: argparse.Namespace) -> int:
    """``hil compare``: the paired grid of seeds, ways and non-idealities on Dask
    (``hil.compare``), or ``--report``'s tables from a stored one."""
    store = hil.RunStore(args.store)
    if args.report is not None:
        return report(store, args)
    if args.resume is not None:  # the recorded settings: the flags are not read
        result = hil.compare(store, out=args.out, scheduler=args.scheduler,
                             workers=args.workers, resume=args.resume,
                             progress=not args.no_progress)
    else:
        result = hil.compare(
            store, args.experiment, _list("etas", args.etas), args.seeds, args.first_seed,
            args.nonidealities.split(","), args.protocols.split(","), _fixed(args.fixed),
            args.gradient, args.error, args.epochs, args.steps, args.out,
            scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress)
    print(f"run {result.run_id}: {result.settings['experiment']}, {len(result.rows)} points")
    print(result.tables())
    for failure in result.failed:
        print(f"failed after retries: point {failure['index']}: {failure['error']}")
    if args.json:
        print_json_line({"run_id": result.run_id, "csv": str(result.csv),
                         "failed": result.failed, "table": result.paired()})
    return 1 if result.failed else 0


def report(store, args: argparse.Namespace) -> int:
    """The stored runs' tables, then the where-HIL-helps table over all of them
    (``hil.stored_compare``, ``hil.helps_table``)."""
    try:
        items = [[int(v) for v in item.split("+")] for item in args.report.split(",")]
    except ValueError:
        raise ConfigError("report", f"{args.report!r} is not a list of run ids (runs to "
                          "pool joined by +, e.g. 1,3+5)") from None
    results = []
    for ids in items:
        result = hil.stored_compare(store, ids)
        for run_id, name, points, status in result.parts:
            print(f"run {run_id}: {name}, {points} points ({status})")
        if len(ids) > 1:
            print(f"runs {result.name} pooled: {len(result.rows)} points")
        results.append(result)
        print(result.tables())
    text = hil.helps_table(results)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "-".join(result.name for result in results)
    (out / f"compare-report-{name}.md").write_text(text)
    return 0
