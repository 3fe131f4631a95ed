"""``hil sweep psw``: a P_sw map of the Hall-bar model (current x pulse width x field) on the
sweep engine (hil/grids), each point stored as it finishes, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path

from hil.errors import ConfigError


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
    from hil.units import parse_field

    return [parse_field(name, t, unit, default_unit) for t in text.split(",")]


def run_psw(args: argparse.Namespace) -> int:
    """``hil sweep psw``: the map's points on Dask, each stored as it finishes, resumable."""
    from hil.cli.simulate import parse_current_range
    from hil.grids import Grid, run_grid
    from hil.grids.maps import switching_map, switching_map_point
    from hil.units import parse_field
    from protocols.store import RunStore
    from simulators.presets import check_fraction, hall_bar_preset

    width = parse_field("width", args.width, "m", "um")
    try:
        hall_bar_preset(width)
        check_fraction("eta", args.eta)
    except ValueError as err:
        raise ConfigError("width" if "width" in str(err) else "eta", str(err)) from None
    if not 1 <= args.trials <= 10**7:
        raise ConfigError("trials", f"{args.trials} is outside the allowed range [1, 1e7]")
    if not 1 <= args.seeds <= 1000:
        raise ConfigError("seeds", f"{args.seeds} is outside the allowed range [1, 1000]")
    points = switching_map(width, parse_current_range(args.currents),
                           _list("pulse_widths", args.pulse_widths, "s", "us"),
                           _list("fields", args.fields, "T", "mT"), args.seeds, args.eta)
    sweep = Grid("psw-map", switching_map_point, {"trials": args.trials}, points,
                  {"trials": args.trials})
    store = RunStore(args.store)
    result = run_grid(sweep, store, scheduler=args.scheduler, workers=args.workers,
                       resume=args.resume, progress=not args.no_progress)
    with Path(args.output).open("w", newline="") as f:
        store.export_csv(result.run_id, f)
    print(f"run {result.run_id}: {len(result.rows)} points ({result.computed} computed) -> "
          f"{args.output}")
    for failure in result.failed:
        print(f"failed after retries: point {failure['index']}: {failure['error']}")
    return 1 if result.failed else 0
