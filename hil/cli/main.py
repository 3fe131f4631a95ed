"""``hil``: the command line. Each subcommand lives in its own module, imported when the
parser is built (``hil simulate`` imports only its own, so it starts without the lab,
instrument and training modules)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

import hil
from hil import (
    ConfigError,
    InstrumentError,
    LabConnectionError,
    LimitError,
    OutOfRange,
    OutputsOnError,
    ProtocolError,
    StoreError,
    outputs,
)
from hil.gui import open_window


def _command_word(argv: Sequence[str] | None) -> str | None:
    """The subcommand named on the command line (after any --store), without parsing."""
    words = list(sys.argv[1:] if argv is None else argv)
    while words and words[0].startswith("-"):
        words = words[2:] if words[0] == "--store" else words[1:]
    return words[0] if words else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only="simulate"`` just the simulator's (which then starts
    without importing the lab, instrument and training modules)."""
    parser = argparse.ArgumentParser(
        prog="hil",
        description="spinhil: hardware-in-the-loop learning with spintronic stochastic neurons",
    )
    parser.add_argument("--store", help="run store database (default: $SPINHIL_HOME/runs.sqlite "
                        "or the user data folder, e.g. ~/.local/share/spinhil/runs.sqlite)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if only == "simulate":
        from hil.cli import simulate

        simulate.register(commands)
        return parser
    from hil.cli import characterise, codesign, compare, lab, runs, simulate, sweep, train

    for module in (train, runs, simulate, lab, characterise, codesign, compare, sweep):
        module.register(commands)
    gui = commands.add_parser("gui", help="the device-characterisation window")
    gui.set_defaults(handler=_run_gui)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    """The window (``hil.gui.open_window``: Qt loads only for ``hil gui``)."""
    return open_window(args.store)


def _quiet_stdout() -> None:
    """After a closed pipe (``| head -1``): send the rest of stdout nowhere."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _stopped(command: str, what: str, err: BaseException | None = None) -> None:
    """The last line of a run that did not finish: why, and the outputs' state as the
    instruments confirmed it (OUTP?), or which output may still be on."""
    if isinstance(err, OutputsOnError):  # the outputs line says it; the reason comes first
        err = err.__context__
    line = f"hil {command}: {what}" + (f": {err}" if err is not None and str(err) else "")
    line = " ".join(line.split())  # one line, whatever the error's text held
    state = outputs.summary()
    print(line + (f"; {state}" if state else ""), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    # Ctrl-C must always reach us (a shell may start us with SIGINT ignored): every exit
    # path, this one included, turns the instruments' outputs off.
    """The ``hil`` command: parse, run the subcommand, and on every exit path switch the outputs
    off and tell the operator only what the instruments confirmed."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    outputs.forget()
    parser = build_parser("simulate" if _command_word(argv) == "simulate" else None)
    args = parser.parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handling below
        return code
    except ConfigError as err:
        print(f"hil {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OutOfRange as err:  # a simulator's physical argument, refused by name
        print(f"hil {args.command}: error: {hil.units.refused(err)}", file=sys.stderr)
        return 2
    except LimitError as err:
        print(f"hil {args.command}: refused: {err}", file=sys.stderr)
        return 2
    except (ProtocolError, LabConnectionError, InstrumentError) as err:  # the run stopped
        _stopped(args.command, "stopped", err)
        return 1
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM/SIGHUP/SIGQUIT (a StopSignal)
        signum = getattr(err, "signum", signal.SIGINT)
        _stopped(args.command, "interrupted" if signum == signal.SIGINT
                 else f"stopped by {signal.Signals(signum).name}")
        return 128 + signum
    except StoreError as err:  # the store refused or failed: what was kept, and the outputs
        _stopped(args.command, "run store", err)
        return 2
    except BrokenPipeError:  # the reader went away (| head); outputs are off
        _quiet_stdout()
        return 141


if __name__ == "__main__":
    sys.exit(main())
