"""``hil lab serve | devices``: the virtual lab on loopback, and its ground truth."""

from __future__ import annotations

import argparse
import time

import hil
from hil.cli.common import print_json_line


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil lab serve | devices`` to the parser."""
    p = commands.add_parser("lab", help="the virtual lab: emulated Keithley 6221/2000/2400")
    sub = p.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    for name, handler, text in (("serve", serve, "serve the emulators until Ctrl-C"),
                                ("devices", devices, "the true parameters of the devices")):
        q = sub.add_parser(name, help=text)
        q.add_argument("--devices", type=int, default=4, help="Hall bars on the chip (1-200)")
        q.add_argument("--width", default="0.5um", help="bar width, 0.3-5 um")
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--switch", choices=("7001", "7002"),
                       help="the switch (default: a 7001 card up to 40 devices, a 7002 with "
                       "7011 cards beyond: a chip at scale, with defects and drift)")
        q.add_argument("--json", action="store_true")
        q.set_defaults(handler=handler)
    sub.choices["serve"].add_argument("--port", type=int, default=0,
                                      help="first port (the next instruments on P+1, P+2); "
                                      "0: free ports")
    sub.choices["serve"].add_argument("--write-lab", metavar="FILE",
                                      help="write a lab file for these instruments (roles, "
                                      "chip, devices) to use with --lab FILE")
    sub.choices["serve"].add_argument("--no-trigger-link", action="store_true",
                                      help="no trigger-link cable between the 6221 and the "
                                      "2000 (cycles can then only be timed by software)")
    sub.choices["serve"].add_argument("--line-frequency", type=float, default=50.0,
                                      choices=(50.0, 60.0), help="the mains the instruments "
                                      "integrate over, Hz (default 50)")
    sub.choices["serve"].add_argument("--voltmeter", default="2000", type=str.upper,
                                      choices=("2000", "2182A"),
                                      help="the voltmeter reading the Hall voltage: a 2000 "
                                      "(default) or a 2182A nanovoltmeter (no hardware-timed "
                                      "routes: cycles are timed by software)")
    sub.choices["serve"].add_argument("--faults", metavar="FILE",
                                      help="inject the faults of this TOML file on the lab's "
                                      "clock: drift, a device dying or stuck, a dropped "
                                      "connection, a power cycle, late replies "
                                      "(simulators/lab/faults.py)")
    sub.choices["serve"].add_argument("--units", default=None, metavar="SEED|nominal",
                                      help="which boxes: serial numbers drawn from SEED "
                                      "(default: from --seed), or 'nominal' for boxes exactly "
                                      "as their data sheets (simulators/lab/units.py)")


def serve(args: argparse.Namespace) -> int:
    """``hil lab serve``: the emulators on loopback until Ctrl-C, so pyvisa and the ``--lab`` path
    can be tried without instruments."""
    lab = hil.serve_lab(args.devices, args.width, args.seed, args.switch, args.port,
                        args.faults, not args.no_trigger_link, args.line_frequency,
                        args.voltmeter, args.units, args.write_lab)
    try:
        if args.json:
            print_json_line(lab.resources)
        else:
            for role, entry in lab.resources.items():
                print(f"{role:>10}: Keithley {entry['model']} (serial "
                      f"{lab.units[role].serial}) at {entry['resource']}", flush=True)
            if args.write_lab:
                print(f"lab file {args.write_lab}: give --lab {args.write_lab}", flush=True)
            print("serving; Ctrl-C stops", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        lab.stop()


def lab_file_text(resources: dict[str, dict[str, str]], args: argparse.Namespace,
                  wiring=None) -> str:
    """The lab file of the served instruments for the command's options
    (``hil.lab_file_text``)."""
    return hil.lab_file_text(resources, args.devices, args.width, args.seed, wiring)


def devices(args: argparse.Namespace) -> int:
    """``hil lab devices``: the virtual devices' true parameters, the ground truth a sweep's fit is
    checked against."""
    width = hil.units.parse_field("width", args.width, "m", "um")
    rows = hil.virtual_devices(args.devices, width, args.seed, args.switch)
    if args.json:
        print_json_line({"devices": rows})
        return 0
    print(f"{'id':>3} {'I_bias (mA)':>12} {'I0 (uA)':>8} {'window (mA)':>12} {'R+ (ohm)':>9} "
          f"{'R- (ohm)':>9}  defect")
    for r in rows:
        print(f"{r['id']:>3} {r['i_bias'] * 1e3:>12.4f} {r['i0'] * 1e6:>8.3f} "
              f"{r['window'] * 1e3:>12.4f} {r['r_up']:>9.3f} {r['r_down']:>9.3f}  "
              f"{r['defect'] or ''}")
    return 0
