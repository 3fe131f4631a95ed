"""``hil compare``: HIL against software-then-deploy (nominal and per-device calibration),
validation-chosen hyperparameters, paired over seeds (hil/grids/compare.py), as a Dask sweep."""

from __future__ import annotations

import argparse
from pathlib import Path

from hil.cli.common import resumed_config
from hil.errors import ConfigError

EXPERIMENTS = ("paper", "784-400-10")


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("compare", help="HIL vs deployed (nominal / device calibration), "
                            "paired over seeds, hyperparameters chosen on validation")
    p.add_argument("--experiment", choices=EXPERIMENTS, default="paper",
                   help="paper: 784 x 4, 16 training images (Fig. 4); 784-400-10: all classes,"
                   " 400 hidden neurons")
    p.add_argument("--etas", default="0,0.1,0.25")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--nonidealities", default="none,drift",
                   help="comma-separated: none, drift (SI S4: +-0.5 %% after "
                   "characterisation), joule (used with 100 ns reset-to-write gaps, "
                   "characterised with slow cycles)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument("--workers", type=int, help="local cluster size (default: every core)")
    p.add_argument("--resume", type=int, metavar="RUN_ID")
    p.add_argument("--out", default="compare", help="folder for the CSV and the table")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def experiment(name: str):
    from hil.grids.compare import Experiment

    if name == "paper":
        return Experiment()
    return Experiment(classes=tuple(range(10)), hidden=(400,), train_per_class=40,
                      validation_per_class=20, test_per_class=100, steps=50, epochs=5,
                      lrs=(0.1, 0.5), batches=(20,))


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from hil.grids import Grid, run_grid
    from hil.grids.compare import NON_IDEALITIES, compare_point, grid, paired_table, split
    from protocols.store import RunStore

    store = RunStore(args.store)
    if args.resume is not None:
        saved = resumed_config(store, args.resume)
        args.experiment, etas = saved["experiment"], saved["etas"]
        seeds, nonidealities = saved["seeds"], saved["nonidealities"]
    else:
        try:
            etas = [float(e) for e in args.etas.split(",")]
        except ValueError:
            raise ConfigError("etas", f"{args.etas!r} is not a list of numbers") from None
        if any(not 0 <= e < 1 for e in etas):
            raise ConfigError("etas", f"{args.etas} is outside the allowed range [0, 1)")
        seeds = args.seeds
        if not 2 <= seeds <= 1000:
            raise ConfigError("seeds", f"{seeds} is outside the allowed range [2, 1000]")
        nonidealities = args.nonidealities.split(",")
        for n in nonidealities:
            if n not in NON_IDEALITIES:
                raise ConfigError("nonidealities", f"{n!r} is not one of "
                                  f"{', '.join(NON_IDEALITIES)}")
    exp = experiment(args.experiment)
    settings = {"experiment": args.experiment, "etas": etas, "seeds": seeds,
                "nonidealities": nonidealities, **{f"exp_{k}": v for k, v in asdict(exp).items()}}
    sweep = Grid("compare", compare_point, settings, grid(etas, seeds, nonidealities),
                  {"exp": exp, "data": split(exp)})
    result = run_grid(sweep, store, scheduler=args.scheduler, workers=args.workers,
                       resume=args.resume, progress=not args.no_progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / f"compare-run{result.run_id}.csv"
    with table.open("w", newline="") as f:
        store.export_csv(result.run_id, f)
    rows = paired_table(result.rows) if result.rows else []
    text = markdown(rows, args.experiment)
    (out / f"compare-run{result.run_id}.md").write_text(text)
    print(f"run {result.run_id}: {args.experiment}, {len(result.rows)} points")
    print(text)
    for failure in result.failed:
        print(f"failed after retries: point {failure['index']}: {failure['error']}")
    if args.json:
        from hil.cli.common import print_json_line

        print_json_line({"run_id": result.run_id, "table": rows, "csv": str(table),
                         "failed": result.failed})
    return 1 if result.failed else 0


def markdown(rows, experiment: str) -> str:
    def cell(v):
        return f"{v[0]:.1%} ± {v[1]:.1%}"

    lines = [f"| {experiment} | eta | seeds | deployed, nominal | deployed, device | HIL | "
             "HIL - nominal | HIL - device | verdict |", "|---" * 9 + "|"]
    for r in rows:
        lines.append(f"| {r['nonideality']} | {r['eta']:g} | {r['seeds']} | "
                     f"{cell(r['deployed-nominal'])} | {cell(r['deployed-device'])} | "
                     f"{cell(r['hil'])} | {cell(r['hil - deployed-nominal'])} | "
                     f"{cell(r['hil - deployed-device'])} | {r['verdict']} |")
    return "\n".join(lines) + "\n"
