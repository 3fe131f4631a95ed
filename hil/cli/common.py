"""What the subcommands share: the JSON result line, current ranges, the lab options (the
virtual lab, built exactly as ``hil lab devices`` builds it, or a lab file) and the cycle
options."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

import hil
from hil import ConfigError, units

__all__ = ["add_cycle_options", "add_lab_options", "cycle_settings", "lab_description",
           "parse_current_range", "print_json_line"]


def print_json_line(payload: dict[str, Any]) -> None:
    """The machine-readable result: one JSON object, the last line of stdout."""
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    sys.stdout.flush()


def parse_range(field: str, text: str, si_unit: str, example: str,
                fewest: int = 3) -> np.ndarray:
    """START:STOP:N with a unit on each end (``example`` shows the form), N from ``fewest``
    to 10,000: evenly spaced values in SI ``si_unit``."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ConfigError(field, f"{text!r} is not START:STOP:N (e.g. {example})")
    unit = example.split(":")[0].lstrip("-0123456789.")
    start, stop = (units.parse_field(field, part, si_unit, unit) for part in parts[:2])
    try:
        n = int(parts[2])
    except ValueError:
        raise ConfigError(field, f"N = {parts[2]!r} is not a whole number") from None
    if not fewest <= n <= 10000:
        raise ConfigError(field, f"N = {n} is outside the allowed range [{fewest}, 10000]")
    return np.linspace(start, stop, n)


def parse_current_range(text: str, example_unit: str = "uA") -> np.ndarray:
    """START:STOP:N write currents, each with its unit (a bare number is refused)."""
    example = "5uA:25uA:21" if example_unit == "uA" else f"0.25{example_unit}:0.35{example_unit}:15"
    return parse_range("currents", text, "A", example)


def resumed_config(store, run_id: int) -> dict:
    """The stored configuration of run ``run_id``, which ``--resume`` goes on with."""
    return hil.stored_run(store, run_id, "resume").config


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    """The options every lab command shares (a lab file, or the virtual lab's devices, width and
    seed), spelled the same everywhere."""
    parser.add_argument("--lab", help="lab file (TOML) for real instruments; default: the "
                        "virtual lab")
    parser.add_argument("--devices", type=int, default=4, help="virtual lab: Hall bars (1-200)")
    parser.add_argument("--width", default="0.5um", help="virtual lab: bar width")
    parser.add_argument("--seed", type=int, default=0, help="virtual lab: seed")
    parser.add_argument("--switch", choices=("7001", "7002"),
                        help="virtual lab: the switch (default: a 7001 card up to 40 devices, "
                        "a 7002 with 7011 cards beyond)")


def lab_description(args: argparse.Namespace) -> dict:
    """The lab the options name, described for the run record (what a run ran on)."""
    if args.lab:
        return hil.lab_description(args.lab)
    width = units.parse_field("width", args.width, "m", "um")
    return hil.lab_description(None, args.devices, width, args.seed, args.switch)


def add_cycle_options(parser: argparse.ArgumentParser) -> None:
    """The reset-write-read cycle's settings (paper 002 Fig. 2a, Methods 4.3)."""
    parser.add_argument("--reset-current", default="-0.6mA",
                        help="reset pulse, negative: --reset-current=-0.6mA (the default)")
    parser.add_argument("--reset-width", default="100us", help="reset pulse width (100us)")
    parser.add_argument("--write-width", default="100us", help="write pulse width (100us)")
    parser.add_argument("--read-current", default="50uA",
                        help="read current (paper 002: 50 uA); refused above the read limit")
    parser.add_argument("--read-nplc", type=float, default=1.0,
                        help="read integration in power-line cycles, 0.01-10 (default 1; "
                        "hardware-timed reads integrate 0.01 inside the read window)")
    parser.add_argument("--interval", default="0s",
                        help="wait after each pulse (paper 002: 2s; default 0s); a wait "
                        "needs software timing")
    parser.add_argument("--no-reset-read", action="store_true",
                        help="skip the read after each reset (software timing) and the "
                        "reset check after each batch (hardware timing)")


def cycle_settings(args: argparse.Namespace) -> dict:
    """The cycle options as SI values (a run's config keeps them for ``--resume``); each
    refused with its field and range before any instrument is touched."""
    return hil.cycle_config(
        reset_current=units.parse_field("reset_current", args.reset_current, "A", "mA"),
        reset_width=units.parse_field("reset_width", args.reset_width, "s", "us"),
        write_width=units.parse_field("write_width", args.write_width, "s", "us"),
        read_current=units.parse_field("read_current", args.read_current, "A", "uA"),
        read_nplc=float(args.read_nplc),
        interval=units.parse_field("interval", args.interval, "s", "s"),
        verify_reset=not args.no_reset_read,
    )
