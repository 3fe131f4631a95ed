"""``hil compare``: HIL against software-then-deploy (nominal and per-device calibration),
under paper 002's fixed learning parameters and with each way's picked on validation, paired
over seeds in blocks (hil/grids/compare.py), as a Dask grid; ``--report`` prints the tables
of stored runs, with the "where HIL helps" table over all of them."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields, replace
from pathlib import Path

from hil.cli.common import resumed_config
from hil.errors import ConfigError

EXPERIMENTS = ("paper", "784-400-10")


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
    """The named experiment: ``paper`` (paper 002's 784 x 4) or ``784-400-10`` (every hidden
    neuron a device)."""
    from hil.grids.compare import Experiment

    if name == "paper":
        return Experiment()
    return Experiment(classes=tuple(range(10)), hidden=(400,), train_per_class=40,
                      validation_per_class=20, test_per_class=100, steps=50, epochs=5,
                      lrs=(0.1, 0.5), batches=(20,), fixed=(0.1, 20))


def _stored_experiment(saved: dict):
    """The experiment a run was computed with, from its stored ``exp_*`` settings."""
    from hil.grids.compare import Experiment

    values = {f.name: saved[f"exp_{f.name}"] for f in fields(Experiment)
              if f"exp_{f.name}" in saved}
    return Experiment(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _new_settings(args: argparse.Namespace):
    from hil.grids.compare import PROTOCOLS, parse_nonideality

    try:
        etas = [float(e) for e in args.etas.split(",")]
    except ValueError:
        raise ConfigError("etas", f"{args.etas!r} is not a list of numbers") from None
    if any(not 0 <= e < 1 for e in etas):
        raise ConfigError("etas", f"{args.etas} is outside the allowed range [0, 1)")
    if not 2 <= args.seeds <= 10000:
        raise ConfigError("seeds", f"{args.seeds} is outside the allowed range [2, 10000]")
    if not 0 <= args.first_seed < 2**31:
        raise ConfigError("first_seed", f"{args.first_seed} is outside the allowed range "
                          "[0, 2^31)")
    nonidealities = args.nonidealities.split(",")
    for n in nonidealities:
        try:
            parse_nonideality(n)
        except ValueError as err:
            raise ConfigError("nonidealities", str(err)) from None
    protocols = args.protocols.split(",")
    if not protocols or any(p not in PROTOCOLS for p in protocols):
        raise ConfigError("protocols", f"{args.protocols!r}: each must be one of "
                          f"{', '.join(PROTOCOLS)}")
    exp = replace(experiment(args.experiment), gradient=args.gradient, error=args.error)
    if args.fixed is not None:
        try:
            lr, batch = args.fixed.split(",")
            fixed = (float(lr), int(batch))
        except ValueError:
            raise ConfigError("fixed", f"{args.fixed!r} is not LR,BATCH (e.g. 0.5,4)") from None
        if not (0 < fixed[0] <= 100 and fixed[1] >= 1):
            raise ConfigError("fixed", f"{args.fixed}: the learning rate must lie in (0, 100] "
                              "and the batch be >= 1")
        exp = replace(exp, fixed=fixed)
    for name, low, high in (("epochs", 1, 1000), ("steps", 1, 10000)):
        value = getattr(args, name)
        if value is not None:
            if not low <= value <= high:
                raise ConfigError(name, f"{value} is outside the allowed range [{low}, {high}]")
            exp = replace(exp, **{name: value})
    return exp, {"experiment": args.experiment, "etas": etas, "seeds": args.seeds,
                 "first_seed": args.first_seed, "nonidealities": nonidealities,
                 "protocols": protocols}


def run(args: argparse.Namespace) -> int:
    """``hil compare``: the paired grid of seeds, ways and non-idealities on Dask, or ``--report``'s
    tables from a stored one."""
    from hil.grids import Grid, run_grid
    from hil.grids.compare import compare_point, grid, pool
    from protocols.store import RunStore

    store = RunStore(args.store)
    if args.report is not None:
        return report(store, args)
    if args.resume is not None:
        saved = resumed_config(store, args.resume)
        exp = _stored_experiment(saved)
        settings = {k: saved[k] for k in ("experiment", "etas", "seeds", "first_seed",
                                          "nonidealities", "protocols") if k in saved}
        settings.setdefault("first_seed", 0)
        settings.setdefault("protocols", ["picked"])
    else:
        exp, settings = _new_settings(args)
    settings.update({f"exp_{k}": v for k, v in asdict(exp).items()})
    points = grid(settings["etas"], settings["seeds"], settings["nonidealities"],
                  settings["first_seed"])
    sweep = Grid("compare", compare_point, settings, points,
                 {"exp": exp, "images": pool(exp), "protocols": tuple(settings["protocols"])})
    result = run_grid(sweep, store, scheduler=args.scheduler, workers=args.workers,
                      resume=args.resume, progress=not args.no_progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / f"compare-run{result.run_id}.csv"
    with table.open("w", newline="") as f:
        store.export_csv(result.run_id, f)
    text = run_tables(result.rows, settings)
    (out / f"compare-run{result.run_id}.md").write_text(text)
    print(f"run {result.run_id}: {settings['experiment']}, {len(result.rows)} points")
    print(text)
    for failure in result.failed:
        print(f"failed after retries: point {failure['index']}: {failure['error']}")
    if args.json:
        from hil.cli.common import print_json_line
        from hil.grids.compare import paired_table

        print_json_line({"run_id": result.run_id, "csv": str(table), "failed": result.failed,
                         "table": {p: paired_table(result.rows, p)
                                   for p in settings["protocols"]}})
    return 1 if result.failed else 0


def report(store, args: argparse.Namespace) -> int:
    """The stored runs' tables, then the where-HIL-helps table over all of them."""
    from hil.grids.compare import pooled
    from hil.session.runner import stored_run

    try:
        items = [[int(v) for v in item.split("+")] for item in args.report.split(",")]
    except ValueError:
        raise ConfigError("report", f"{args.report!r} is not a list of run ids (runs to "
                          "pool joined by +, e.g. 1,3+5)") from None
    runs = []
    for ids in items:
        parts = []
        for run_id in ids:
            stored = stored_run(store, run_id, "report")
            if stored.kind != "compare":
                raise ConfigError("report", f"run {run_id} is a {stored.kind} run, not "
                                  "compare")
            rows = [r for r in store.readings(run_id) if "error" not in r]
            parts.append((run_id, stored.config, rows))
            print(f"run {run_id}: {stored.config['experiment']}, {len(rows)} points "
                  f"({stored.status})")
        try:
            config, rows = pooled(parts) if len(parts) > 1 else parts[0][1:]
        except ValueError as err:
            raise ConfigError("report", str(err)) from None
        if len(parts) > 1:
            print(f"runs {'+'.join(map(str, ids))} pooled: {len(rows)} points")
        runs.append(("+".join(map(str, ids)), config, rows))
        print(run_tables(rows, config))
    text = helps_table(runs)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "-".join(run_id for run_id, _, _ in runs)
    (out / f"compare-report-{name}.md").write_text(text)
    return 0


def _fixed(config: dict) -> str:
    lr, batch = config.get("exp_fixed", (None, None))
    return "-" if lr is None else f"{lr:g}, {batch}"


def _pct(v) -> str:
    mean, low, high = v
    return f"{mean:.1%} [{low:.1%}, {high:.1%}]"


def _diff(v) -> str:
    mean, low, high = (100 * x for x in v)
    return f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]"


def run_tables(rows, config: dict) -> str:
    """Per protocol: the three ways and the paired differences per block of seeds and over
    all seeds (points in percent, 95 % intervals), then the readouts side by side."""
    from hil.grids.compare import hil_rule, paired_table

    rule = hil_rule(config)
    name = config["experiment"] + (f" ({rule})" if rule else "")
    text = []
    for protocol in config.get("protocols", ["picked"]):
        entries = paired_table(rows, protocol) if rows else []
        text += [f"{name}, {protocol} hyperparameters (accuracy of the devices' own readout; "
                 "mean [95 % interval])", "",
                 "| condition | eta | seeds | deployed, nominal | deployed, twin | HIL | "
                 "HIL - nominal (points) | HIL - twin (points) | verdict (HIL vs twin) |",
                 "|---" * 9 + "|"]
        for e in entries:
            seeds = f"all {e['seeds']}" if e["all"] else f"{e['first']}-{e['last']}"
            text.append(f"| {e['condition']} | {e['eta']:g} | {seeds} | "
                        f"{_pct(e['deployed-nominal'])} | {_pct(e['deployed-device'])} | "
                        f"{_pct(e['hil'])} | {_diff(e['hil - deployed-nominal'])} | "
                        f"{_diff(e['hil - deployed-device'])} | {e.get('verdict', '')} |")
        text += ["", f"{name}, {protocol}: readouts over all seeds (devices only / ties "
                 "broken by the software's normalised input; share of first reads tied)", "",
                 "| condition | eta | HIL, devices | HIL, software tie-break | twin, devices | "
                 "twin, software tie-break | tied: HIL / twin / nominal |", "|---" * 7 + "|"]
        for e in (e for e in entries if e["all"]):
            text.append(f"| {e['condition']} | {e['eta']:g} | {_pct(e['hil'])} | "
                        f"{_pct(e['hil software tie-break'])} | {_pct(e['deployed-device'])} | "
                        f"{_pct(e['deployed-device software tie-break'])} | "
                        f"{e['hil tied']:.1%} / {e['deployed-device tied']:.1%} / "
                        f"{e['deployed-nominal tied']:.1%} |")
        text.append("")
    return "\n".join(text) + "\n"


def helps_table(runs) -> str:
    """Where HIL helps: every condition of every run (all seeds) against the paired
    differences under both protocols, and HIL's rule against the default rule where two
    runs share points."""
    from hil.grids.compare import between_runs, hil_rule, paired_table

    lines = ["Where HIL helps (paired differences in accuracy points, HIL minus deployment, "
             "mean [95 % interval] over seeds; verdicts need >= 100 seeds)", "",
             "| net | condition | eta | HIL rule | fixed lr, batch | seeds | fixed: HIL - "
             "nominal | fixed: HIL - twin | picked: HIL - nominal | picked: HIL - twin |",
             "|---" * 10 + "|"]
    for _, config, rows in runs:
        protocols = config.get("protocols", ["picked"])
        by_protocol = {p: paired_table(rows, p, block=None) for p in protocols}
        first = by_protocol[protocols[0]]
        for k, e in enumerate(first):
            cells = []
            for p in ("fixed", "picked"):
                if p in by_protocol:
                    other = by_protocol[p][k]
                    cells += [_diff(other["hil - deployed-nominal"]),
                              _diff(other["hil - deployed-device"])]
                else:
                    cells += ["-", "-"]
            lines.append(f"| {config['experiment']} | {e['condition']} | {e['eta']:g} | "
                         f"{hil_rule(config) or 'straight-through, unbiased'} | "
                         f"{_fixed(config)} | {e['seeds']} | "
                         + " | ".join(cells) + " |")
    pairs = between_runs(runs)
    if pairs:
        lines += ["", "HIL under another rule minus HIL under the default (straight-through "
                  "gradient, unbiased error), paired by seed on the same devices and images",
                  "", "| net | condition | eta | rule | seeds | fixed | picked |",
                  "|---" * 7 + "|"]
        for p in pairs:
            cells = [_diff(p[k]) if k in p else "-" for k in ("fixed", "picked")]
            lines.append(f"| {p['experiment']} | {p['condition']} | {p['eta']:g} | "
                         f"{p['rule']} | {p['seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
