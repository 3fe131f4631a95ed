"""``hil sweep psw``: a P_sw map of the Hall-bar model (current x pulse width x field) on the
sweep engine (hil/grids), each point stored as it finishes, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path

import hil
from hil.cli.common import parse_current_range


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil sweep psw`` (a Hall-bar P_sw map on the grid engine) to the parser."""
    p = commands.add_parser("sweep", help="maps on the Dask sweep engine")
    sub = p.add_subparsers(dest="sweep_command", required=True, metavar="ACTION")
    psw = sub.add_parser("psw", help="Hall-bar P_sw over write current x pulse width x field")
    psw.add_argument("--width", default="0.5um")
    psw.add_argument("--eta", type=float, default=0.0, help="device drawn with this variation")
    psw.add_argument("--currents", required=True, help="START:STOP:N, e.g. 0.2mA:0.4mA:21")
    psw.add_argument("--pulse-widths", default="100us", help="comma-separated, e.g. 10us,1ms")
    psw.add_argument("--fields", default="20mT",
                     help="in-plane fields, e.g. --fields=-20mT,2mT,20mT")
    psw.add_argument("--seeds", type=int, default=1)
    psw.add_argument("--trials", type=int, default=1000)
    psw.add_argument("--scheduler")
    psw.add_argument("--workers", type=int)
    psw.add_argument("--resume", type=int, metavar="RUN_ID")
    psw.add_argument("-o", "--output", default="psw-map.csv")
    psw.add_argument("--no-progress", action="store_true")
    psw.set_defaults(handler=run_psw)


def _list(name: str, text: str, unit: str, default_unit: str) -> list[float]:
    return [hil.units.parse_field(name, t, unit, default_unit) for t in text.split(",")]


def run_psw(args: argparse.Namespace) -> int:
    """``hil sweep psw``: the map's points on Dask, each stored as it finishes, resumable
    (``hil.psw_map``)."""
    width = hil.units.parse_field("width", args.width, "m", "um")
    currents = parse_current_range(args.currents)
    store = hil.RunStore(args.store)
    result = hil.psw_map(store, width, currents,
                         _list("pulse_widths", args.pulse_widths, "s", "us"),
                         _list("fields", args.fields, "T", "mT"), args.eta, args.seeds,
                         args.trials, scheduler=args.scheduler, workers=args.workers,
                         resume=args.resume, progress=not args.no_progress)
    with Path(args.output).open("w", newline="") as f:
        store.export_csv(result.run_id, f)
    print(f"run {result.run_id}: {len(result.rows)} points ({result.computed} computed) -> "
          f"{args.output}")
    for failure in result.failed:
        print(f"failed after retries: point {failure['index']}: {failure['error']}")
    return 1 if result.failed else 0
