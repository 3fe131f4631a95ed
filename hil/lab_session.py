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
