"""Opening a lab from CLI options: the virtual lab (built exactly as ``hil lab devices``
builds it) or real instruments from a lab file."""

from __future__ import annotations

import argparse

from hil.errors import ConfigError
from hil.units import parse_field


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lab", help="lab file (TOML) for real instruments; default: the "
                        "virtual lab")
    parser.add_argument("--devices", type=int, default=4, help="virtual lab: Hall bars (1-64)")
    parser.add_argument("--width", default="0.5um", help="virtual lab: bar width")
    parser.add_argument("--seed", type=int, default=0, help="virtual lab: seed")


def lab_description(args: argparse.Namespace) -> dict:
    if args.lab:
        return {"lab_file": str(args.lab)}
    width = parse_field("width", args.width, "m", "um")
    return {"virtual": True, "devices": args.devices, "width": width, "seed": args.seed}


def open_lab(description: dict):
    from instruments.connection import Lab, LabFile

    if "lab_file" in description:
        try:
            return Lab.from_file(LabFile.load(description["lab_file"]))
        except ValueError as err:
            raise ConfigError("lab", str(err)) from None
    if not 1 <= description["devices"] <= 64:
        raise ConfigError("devices", f"{description['devices']} is outside the allowed range "
                          "[1, 64]")
    try:
        return Lab.virtual(devices=description["devices"], width=description["width"],
                           seed=description["seed"])
    except ValueError as err:
        raise ConfigError("width", str(err)) from None


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
    settings = {
        "reset_current": parse_field("reset_current", args.reset_current, "A", "mA"),
        "reset_width": parse_field("reset_width", args.reset_width, "s", "us"),
        "write_width": parse_field("write_width", args.write_width, "s", "us"),
        "read_current": parse_field("read_current", args.read_current, "A", "uA"),
        "read_nplc": float(args.read_nplc),
        "interval": parse_field("interval", args.interval, "s", "s"),
        "verify_reset": not args.no_reset_read,
    }
    if settings["reset_current"] >= 0:
        raise ConfigError("reset_current", f"{settings['reset_current'] * 1e3:g} mA: a reset "
                          "pulse is negative (I < 0 resets, paper 002)")
    for name in ("reset_width", "write_width"):
        if not 5e-6 <= settings[name] <= 500.0:
            raise ConfigError(name, f"{settings[name]:g} s is outside the allowed range "
                              "[5 us, 500 s] (the 6221's pulse)")
    if not 0.01 <= settings["read_nplc"] <= 10:
        raise ConfigError("read_nplc", f"{settings['read_nplc']:g} is outside the allowed "
                          "range [0.01, 10]")
    if not 0 <= settings["interval"] <= 3600:
        raise ConfigError("interval", f"{settings['interval']:g} s is outside the allowed "
                          "range [0, 3600] s")
    if settings["read_current"] <= 0:
        raise ConfigError("read_current", f"{settings['read_current'] * 1e6:g} uA: the read "
                          "current must be positive")
    return settings


def check_cycle_limits(settings: dict, limits) -> None:
    """The cycle's currents and widths against the lab's limits, before any pulse."""
    for name, check in (("reset_current", limits.pulse_current),
                        ("reset_width", limits.pulse_width),
                        ("write_width", limits.pulse_width)):
        try:
            check(settings[name])
        except ValueError as err:
            raise ConfigError(name, str(err)) from None
    try:
        limits.read_current(settings["read_current"])
    except ValueError as err:
        raise ConfigError("read_current", f"{err}; above it a 500 ms read may switch the "
                          "device (0.5 um bar: P = 5e-7 at 100 uA, 0.17 at 200 uA)") from None
