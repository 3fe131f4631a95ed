"""``hil``: the command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any

from hil.errors import ConfigError
from instruments.errors import LabConnectionError
from instruments.limits import LimitError
from protocols.errors import ProtocolError


def print_json_line(payload: dict[str, Any]) -> None:
    """The machine-readable result: one JSON object, the last line of stdout."""
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    from hil import cli_characterise, cli_lab, cli_runs, cli_simulate, cli_train

    parser = argparse.ArgumentParser(
        prog="hil",
        description="spinhil: hardware-in-the-loop learning with spintronic stochastic neurons",
    )
    parser.add_argument("--store", help="run store database (default: $SPINHIL_HOME/runs.sqlite "
                        "or ~/.local/share/spinhil/runs.sqlite)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_train.register(commands)
    cli_runs.register(commands)
    cli_simulate.register(commands)
    cli_lab.register(commands)
    cli_characterise.register(commands)
    gui = commands.add_parser("gui", help="the device-characterisation window")
    gui.set_defaults(handler=lambda args: __import__("hil.gui.window", fromlist=["run_gui"])
                     .run_gui(args.store))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Ctrl-C must always reach us (a shell may start us with SIGINT ignored): every exit
    # path, this one included, turns the instruments' outputs off.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ConfigError as err:
        print(f"hil {args.command}: error: {err}", file=sys.stderr)
        return 2
    except LimitError as err:
        print(f"hil {args.command}: refused: {err}", file=sys.stderr)
        return 2
    except (ProtocolError, LabConnectionError) as err:  # the run stopped; outputs are off
        print(f"hil {args.command}: stopped: {err}; outputs are off", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hil {args.command}: interrupted; outputs are off", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
