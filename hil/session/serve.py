"""The virtual lab served on loopback (``hil lab serve``): the emulated instruments answer
on real sockets, so pyvisa, a lab file and every ``--lab`` path can be tried without a rig;
and the lab file that names what is served (the same form a rig's takes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil.errors import ConfigError
from hil.session.lab import switch_for, virtual_chip
from hil.units import si_value
from instruments.connection import DEFAULT_MODELS
from instruments.keithley import SwitchWiring
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultFileError, FaultSchedule
from simulators.lab.server import VirtualLab

__all__ = ["lab_file_text", "serve_lab"]


def serve_lab(devices: int = 4, width: Any = 0.5e-6, seed: int = 0,
              switch: str | None = None, port: int = 0, faults: str | Path | None = None,
              trigger_link: bool = True, line_frequency: float = 50.0,
              voltmeter: str = "2000", units: int | str | None = None,
              write_lab: str | Path | None = None) -> VirtualLab:
    """Start the virtual lab on loopback and return it (``stop()`` it, or use it as a context
    manager): ``devices`` Hall bars of ``width`` (SI, a pint quantity or "0.5um") drawn from
    ``seed``; the instruments on ports ``port``, P+1, ... (0: free ones); ``faults`` a TOML
    file of faults on the lab's clock; ``units`` the boxes' serial-number seed or "nominal"
    (default: ``seed``'s); ``write_lab`` a lab file naming the served instruments. Every
    option is refused by name (ConfigError) before a socket opens."""
    if not (port == 0 or 1024 <= port <= 65533):
        raise ConfigError("port", f"{port} is outside the allowed range [1024, 65533]")
    width_si = si_value("width", width, "m", example_unit="um")
    chip = virtual_chip(devices, width_si, seed, switch)
    if units not in (None, "nominal"):
        try:
            units = int(units)
        except ValueError:
            raise ConfigError("units", f"{units!r} is not a seed (an integer) or "
                              "'nominal'") from None
    schedule = None
    if faults:
        try:
            schedule = FaultSchedule.load(faults, devices)
        except FaultFileError as err:
            raise ConfigError("faults", str(err)) from None
    lab = VirtualLab(chip, LabClock(line_frequency=line_frequency), faults=schedule,
                     trigger_link=trigger_link, units=units,
                     switch=switch_for(devices, switch), voltmeter=voltmeter).start(port)
    if write_lab:
        try:
            text = lab_file_text(lab.resources, devices, width, seed, _wiring(lab))
            Path(write_lab).write_text(text)
        except OSError as err:
            lab.stop()
            raise ConfigError("write_lab", f"cannot write {write_lab}: {err.strerror}") from None
        except BaseException:
            lab.stop()
            raise
    return lab


def lab_file_text(resources: dict[str, dict[str, str]], devices: int, width: Any, seed: int,
                  wiring: SwitchWiring | None = None) -> str:
    """A lab file (instruments.connection.LabFile) naming the served instruments
    (``resources``: role -> its model and VISA resource), the chip (so its sweeps are never
    mixed with another chip's; ``width`` as the user wrote it) and every routed device: a
    list for the 7001's card, each device's channels (``wiring``) for the 7002."""
    chip = f"virtual: {devices} x {width} bars, seed {seed}"
    lines = ["# written by hil lab serve --write-lab; valid while that server runs",
             'visa_library = "@py"', f"chip = {chip!r}".replace("'", '"')]
    if wiring is None:
        lines.append(f"devices = {list(range(devices))}")
    lines += ["", "[roles]"]
    lines += [f'{role} = "{entry["resource"]}"  # Keithley {entry["model"]}'
              for role, entry in resources.items()]
    named = {role: entry["model"] for role, entry in resources.items()
             if role in ("pulse", "voltmeter", "field") and entry["model"] != DEFAULT_MODELS[role]}
    if named:  # [models]: a role's model where it is not the default
        lines += ["", "[models]", *(f'{role} = "{model}"' for role, model in named.items())]
    text = "\n".join(lines) + "\n"
    return text if wiring is None else text + "\n" + wiring.lab_file_text()


def _wiring(lab: VirtualLab) -> SwitchWiring | None:
    """The served 7002's wiring as the lab file states it (None on a 7001)."""
    switch = lab.instruments["switch"]
    if lab.models["switch"] != "7002":
        return None
    return SwitchWiring.from_pairs(switch.wiring, len(switch.installed))
