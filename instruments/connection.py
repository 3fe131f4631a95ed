"""Connecting the lab: roles -> VISA resources, *RST/*CLS at connect, outputs off on exit.

A lab file (TOML) names each role's resource and the VISA library::

    visa_library = "@py"          # pyvisa-py
    [roles]
    pulse = "GPIB0::12::INSTR"     # Keithley 6221
    voltmeter = "GPIB0::16::INSTR" # Keithley 2000
    field = "GPIB0::24::INSTR"     # Keithley 2400 (optional)
    switch = "GPIB0::7::INSTR"     # Keithley 7001 switch card (optional)
    [limits]
    max_pulse_current = 0.75e-3

or ``virtual = true``, which starts the virtual lab in this process. Whatever happens, normal
end, exception, Ctrl-C or interpreter exit, every source output is switched off.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import weakref
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pyvisa.errors import VisaIOError

from instruments.errors import LabConnectionError
from instruments.keithley import FieldSupply, HallVoltmeter, PulseSource, SwitchCard
from instruments.limits import SafetyLimits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DRIVERS = {"pulse": PulseSource, "voltmeter": HallVoltmeter, "field": FieldSupply,
           "switch": SwitchCard}
REQUIRED_ROLES = ("pulse", "voltmeter")
_OPEN_LABS: weakref.WeakSet[Lab] = weakref.WeakSet()


@dataclass
class LabFile:
    roles: dict[str, str] = field(default_factory=dict)
    visa_library: str = "@py"
    virtual: bool = False
    limits: SafetyLimits = field(default_factory=SafetyLimits)
    timeout_ms: int = 2000

    @classmethod
    def load(cls, path: str | Path) -> LabFile:
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except OSError as err:
            raise ValueError(f"lab file: cannot read {path}: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"lab file: {path} is not valid TOML: {err}") from None
        allowed = {"roles", "visa_library", "virtual", "limits", "timeout_ms"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise ValueError(f"lab file: unknown key {unknown[0]!r}; allowed: {sorted(allowed)}")
        roles = raw.get("roles", {})
        for role in roles:
            if role not in DRIVERS:
                raise ValueError(f"lab file: role {role!r} is not one of {sorted(DRIVERS)}")
        limit_names = {f.name for f in fields(SafetyLimits)}
        bad = sorted(set(raw.get("limits", {})) - limit_names)
        if bad:
            raise ValueError(f"lab file: limit {bad[0]!r} unknown; allowed: {sorted(limit_names)}")
        lab = cls(roles, raw.get("visa_library", "@py"), bool(raw.get("virtual", False)),
                  SafetyLimits(**raw.get("limits", {})), int(raw.get("timeout_ms", 2000)))
        if not lab.virtual:
            missing = [r for r in REQUIRED_ROLES if r not in roles]
            if missing:
                raise ValueError(f"lab file: role {missing[0]!r} has no resource")
        return lab


class Lab:
    """Open instruments by role. Use as a context manager."""

    def __init__(self, roles: dict[str, str], visa_library: str = "@py",
                 limits: SafetyLimits | None = None, timeout_ms: int = 2000) -> None:
        self.roles = dict(roles)
        self.visa_library = visa_library
        self.limits = limits or SafetyLimits()
        self.timeout_ms = timeout_ms
        self.instruments: dict[str, Any] = {}
        self.identities: dict[str, str] = {}
        self.virtual_lab = None
        _OPEN_LABS.add(self)

    @classmethod
    def from_file(cls, lab_file: LabFile, **virtual_options) -> Lab:
        if lab_file.virtual:
            return cls.virtual(limits=lab_file.limits, **virtual_options)
        return cls(lab_file.roles, lab_file.visa_library, lab_file.limits, lab_file.timeout_ms)

    @classmethod
    def virtual(cls, limits: SafetyLimits | None = None, lab=None, **chip_options) -> Lab:
        """Start the virtual lab in this process and point the roles at it."""
        from simulators.lab.chip import build_chip
        from simulators.lab.server import VirtualLab

        if lab is None:
            lab = VirtualLab(build_chip(chip_options.get("devices", 4),
                                        chip_options.get("width", 0.5e-6),
                                        chip_options.get("seed", 0))).start()
        connection = cls({r: v["resource"] for r, v in lab.resources.items()}, "@py", limits)
        connection.virtual_lab = lab
        return connection

    def open(self, role: str):
        address = self.roles[role]
        try:
            instrument = DRIVERS[role](address, limits=self.limits, visa_library=self.visa_library,
                                       read_termination="\n", write_termination="\n",
                                       timeout=self.timeout_ms)
            instrument.write("*RST;*CLS")
            instrument.check_errors()
            self.identities[role] = instrument.ask("*IDN?").strip()
        except (OSError, VisaIOError, ValueError) as err:
            raise LabConnectionError(f"{role} at {address}: {err}") from None
        self.instruments[role] = instrument
        return instrument

    def reconnect(self, role: str):
        """Close and reopen one instrument (after a dropped connection or a timeout)."""
        old = self.instruments.pop(role, None)
        if old is not None:
            with contextlib.suppress(Exception):  # the connection is already broken
                old.adapter.close()
        return self.open(role)

    def set_limits(self, limits: SafetyLimits) -> None:
        """New limits for the lab and every instrument already open."""
        self.limits = limits
        for instrument in self.instruments.values():
            instrument.limits = limits

    def set_coil_constant(self, tesla_per_ampere: float) -> None:
        """The coil's field per ampere, for the field supply (and the virtual lab's coil)."""
        self["field"].coil_constant = tesla_per_ampere
        if self.virtual_lab is not None:
            self.virtual_lab.instruments["field"].coil_constant = tesla_per_ampere

    def select_device(self, device: int) -> None:
        """Route ``device`` through the switch card; without one only device 0 exists."""
        if "switch" in self.roles:
            self["switch"].select(device)
        elif device != 0:
            raise ValueError(f"device = {device}: this lab has no switch card (allowed: 0)")

    def device_state(self) -> dict | None:
        """The virtual lab's routed device (state, switching budget, generators), stored
        with each batch of readings so a resumed run goes on exactly; None on real
        instruments, whose devices keep their own state."""
        return None if self.virtual_lab is None else self.virtual_lab.device_state()

    def wait(self, seconds: float) -> None:
        """A deliberate pause: counted on the virtual lab's clock, slept on real hardware."""
        if seconds <= 0:
            return
        if self.virtual_lab is not None:
            self.virtual_lab.clock.advance(seconds)
        else:
            import time

            time.sleep(seconds)

    def __getitem__(self, role: str):
        return self.instruments[role] if role in self.instruments else self.open(role)

    def connect(self) -> Lab:
        for role in self.roles:
            self.open(role)
        return self

    def outputs_off(self) -> None:
        """Every source off; keeps going past a failing instrument, then reports."""
        failures = []
        for role, instrument in list(self.instruments.items()):
            if role in ("pulse", "field", "switch"):
                try:
                    instrument.shutdown()
                except Exception as err:  # noqa: BLE001
                    try:  # a fresh connection to switch the output off
                        self.reconnect(role).shutdown()
                    except Exception:  # noqa: BLE001
                        failures.append(f"{role}: {err}")
        if failures:
            raise LabConnectionError("could not switch off: " + "; ".join(failures))

    def close(self) -> None:
        try:
            self.outputs_off()
        finally:
            for instrument in self.instruments.values():
                with contextlib.suppress(Exception):
                    instrument.adapter.close()
            self.instruments.clear()
            if self.virtual_lab is not None:
                self.virtual_lab.stop()
                self.virtual_lab = None

    def __enter__(self) -> Lab:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()


@atexit.register
def _switch_everything_off() -> None:
    """Interpreter exit: no lab is left with an output on."""
    for lab in list(_OPEN_LABS):
        with contextlib.suppress(Exception):
            lab.close()
