"""Faults the virtual lab injects on a schedule of its own clock (``hil lab serve --faults
FILE``, ``VirtualLab(faults=FaultSchedule...)``), so that a run left alone overnight meets
what a real rig does to it, through the same sockets:

- ``drift``: devices whose switching current scale moves at ``percent_per_hour`` from ``at``
  (paper 002 SI Fig. S4 saw ~0.5 % a week in I_bias; heating makes it faster);
- ``die``: a device that never switches again from ``at`` (a bar worn out; paper 002 SI
  Fig. S5 saw none fail in 10,000 cycles, 5061 of them switching), held in the state it had;
- ``stuck``: a device held in ``state`` (+1 or -1) from ``at``;
- ``open``: a device whose current contact opens at ``at`` (a lifted bond, a cracked
  lead): its write channel is an open circuit, so the 6221 runs into its compliance voltage
  and the device receives no current (simulators/lab/chip.py, k6221.py);
- ``drop``: every line to ``role`` from ``at`` for ``duration`` lab seconds closes the
  connection without a reply (a lost GPIB or LAN link; one line when ``duration`` is 0);
- ``power_cycle``: ``role`` powers up again at ``at``: every setting back at its ``*RST``
  default, its error queue empty and the power-on bit of its event status register set
  (IEEE-488.2 ``*ESR?`` bit 7, each manual's status structure section);
- ``late``: the replies of ``role`` from ``at`` (for ``duration`` lab seconds, or the next
  one) come ``delay`` wall seconds late, past a client's time-out;
- ``error``: ``role`` queues error ``code`` at ``at`` (an instrument's own complaint).

A fault file is TOML, one array of tables per kind, times in lab seconds::

    [[drift]]
    devices = [0, 3]
    percent_per_hour = 0.5
    at = 0.0
    [[die]]
    device = 1
    at = 7200.0
    [[open]]
    device = 2
    at = 30.0
    [[drop]]
    role = "voltmeter"
    at = 3600.0
    duration = 30.0
    [[power_cycle]]
    role = "pulse"
    at = 10800.0

The schedule keeps its own log (``log()``): what struck, where, and at which lab time, so a
run's record of events can be checked against what the lab did.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEVICE_KINDS = ("drift", "die", "stuck", "open")  # they strike the chip
INSTRUMENT_KINDS = ("drop", "power_cycle", "late", "error")  # they strike an instrument
# they strike the field supply's load (the 2400 emulator asks the schedule):
# - ``compliance``: the coil's resistance is ``resistance`` ohm from ``at`` (a heating coil,
#   a failing contact), so a current the 2400 sources needs more than its compliance
#   voltage and it clamps (Model 2400 User's Manual section 18, :SENSe:VOLTage:PROTection);
# - ``field_drift``: the supply's output current departs from its programmed level at
#   ``percent_per_hour`` from ``at`` (a source out of calibration), and so does the field.
SUPPLY_KINDS = ("compliance", "field_drift")
KINDS = (*DEVICE_KINDS, *INSTRUMENT_KINDS, *SUPPLY_KINDS)
ROLES = ("pulse", "voltmeter", "field", "switch")
SUPPLY_ROLES = ("field",)  # the load the virtual lab models: the 2400's coil
MAX_COIL_RESISTANCE = 1e6  # ohm: an open coil
# which server fault each instrument fault is (simulators/lab/server.py)
SERVER_KIND = {"drop": "drop", "power_cycle": "reset", "late": "late", "error": "error"}
FIELDS = {
    "drift": {"devices", "percent_per_hour", "at"},
    "die": {"device", "at"},
    "stuck": {"device", "state", "at"},
    "open": {"device", "at"},
    "drop": {"role", "at", "duration"},
    "power_cycle": {"role", "at"},
    "late": {"role", "at", "duration", "delay"},
    "error": {"role", "at", "code"},
    "compliance": {"role", "at", "resistance"},
    "field_drift": {"role", "at", "percent_per_hour"},
}
MAX_DRIFT = 1e4  # %/h: fast enough to compress a night into minutes of lab time (tests)
LATE_DELAY = 3.0  # s of wall time: past the 2 s time-out a lab file gives by default


class FaultFileError(ValueError):
    """A fault file refused, naming the entry, the field and what it allows."""


@dataclass(frozen=True)
class ScheduledFault:
    """One fault at lab time ``at`` (s). Device faults name ``device`` (``devices`` for
    drift); instrument faults name ``role``."""

    kind: str
    at: float
    device: int | None = None
    devices: tuple[int, ...] = ()
    percent_per_hour: float = 0.0
    state: int = 1
    role: str | None = None
    duration: float = 0.0  # s of lab time a drop or a late reply lasts (0: one line)
    delay: float = LATE_DELAY  # s of wall time before a late reply
    code: int = -221  # "error": the code queued (-221: settings conflict)
    resistance: float = 0.0  # ohm: "compliance", the coil's resistance from ``at``

    @property
    def rate(self) -> float:
        """Drift as a relative change of the switching current scale per second."""
        return self.percent_per_hour / 100.0 / 3600.0


def _number(where: str, name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            low <= value <= high):
        raise FaultFileError(f"{where}: {name} = {value!r} is outside the allowed range "
                             f"[{low:g}, {high:g}]")
    return float(value)


def _device(where: str, name: str, value: Any, devices: int | None) -> int:
    top = (devices - 1) if devices else 10**6
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise FaultFileError(f"{where}: {name} = {value!r} is not a device of the chip "
                             f"(allowed: 0-{top})")
    return value


def parse_fault(kind: str, entry: dict, index: int, devices: int | None = None
                ) -> ScheduledFault:
    """One ``[[kind]]`` table of a fault file, each field checked."""
    where = f"fault file [[{kind}]] #{index + 1}"
    if kind not in KINDS:
        raise FaultFileError(f"fault file: [[{kind}]] is not a fault; allowed: {list(KINDS)}")
    unknown = sorted(set(entry) - FIELDS[kind])
    if unknown:
        raise FaultFileError(f"{where}: unknown field {unknown[0]!r}; allowed: "
                             f"{sorted(FIELDS[kind])}")
    if "at" not in entry:
        raise FaultFileError(f"{where}: at (lab seconds) is missing")
    at = _number(where, "at", entry["at"], 0.0, 1e9)
    if kind == "drift":
        listed = entry.get("devices")
        if not isinstance(listed, list) or not listed:
            raise FaultFileError(f"{where}: devices must be a list of device numbers")
        return ScheduledFault(kind, at, devices=tuple(_device(where, "devices", d, devices)
                                                      for d in listed),
                              percent_per_hour=_number(where, "percent_per_hour",
                                                       entry.get("percent_per_hour"),
                                                       -MAX_DRIFT, MAX_DRIFT))
    if kind in DEVICE_KINDS:
        device = _device(where, "device", entry.get("device"), devices)
        state = entry.get("state", 1)
        if kind == "stuck" and state not in (-1, 1):
            raise FaultFileError(f"{where}: state = {state!r} is not one of [-1, 1]")
        return ScheduledFault(kind, at, device=device, state=int(state))
    if kind in SUPPLY_KINDS:
        role = entry.get("role", "field")
        if role not in SUPPLY_ROLES:
            raise FaultFileError(f"{where}: role = {role!r} is not one of {list(SUPPLY_ROLES)}")
        if kind == "compliance":
            if "resistance" not in entry:
                raise FaultFileError(f"{where}: resistance (ohm) is missing")
            return ScheduledFault(kind, at, role=role, resistance=_number(
                where, "resistance", entry["resistance"], 0.0, MAX_COIL_RESISTANCE))
        return ScheduledFault(kind, at, role=role, percent_per_hour=_number(
            where, "percent_per_hour", entry.get("percent_per_hour"), -MAX_DRIFT, MAX_DRIFT))
    role = entry.get("role")
    if role not in ROLES:
        raise FaultFileError(f"{where}: role = {role!r} is not one of {list(ROLES)}")
    return ScheduledFault(
        kind, at, role=role,
        duration=_number(where, "duration", entry.get("duration", 0.0), 0.0, 86400.0),
        delay=_number(where, "delay", entry.get("delay", LATE_DELAY), 0.0, 60.0),
        code=int(_number(where, "code", entry.get("code", -221), -999, 999)))


@dataclass
class FaultSchedule:
    """The faults of a fault file, installed on one virtual lab (``install``)."""

    faults: list[ScheduledFault] = field(default_factory=list)
    _server_faults: list[tuple[ScheduledFault, Any]] = field(default_factory=list,
                                                              init=False, repr=False)
    _struck: dict[int, float] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_mapping(cls, raw: dict, devices: int | None = None) -> FaultSchedule:
        """The schedule a fault file's tables describe (or the same dict from the API),
        each field checked and named when refused; ``devices``: the chip's count, to refuse a
        device not on it. Faults in order of their lab time."""
        unknown = sorted(set(raw) - set(KINDS))
        if unknown:
            raise FaultFileError(f"fault file: [[{unknown[0]}]] is not a fault; allowed: "
                                 f"{list(KINDS)}")
        faults = []
        for kind in KINDS:
            entries = raw.get(kind, [])
            if not isinstance(entries, list):
                raise FaultFileError(f"fault file: {kind} must be an array of tables "
                                     f"([[{kind}]])")
            faults += [parse_fault(kind, entry, i, devices) for i, entry in enumerate(entries)]
        return cls(sorted(faults, key=lambda f: f.at))

    @classmethod
    def load(cls, path: str | Path, devices: int | None = None) -> FaultSchedule:
        """The fault file at ``path`` (TOML, module docstring) as a schedule; a file that
        cannot be read or parsed is a FaultFileError naming it."""
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except OSError as err:
            raise FaultFileError(f"fault file: cannot read {path}: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise FaultFileError(f"fault file: {path} is not valid TOML: {err}") from None
        return cls.from_mapping(raw, devices)

    # -- on the lab ----------------------------------------------------------------------
    def install(self, lab: Any, make_fault: Callable[..., Any]) -> None:
        """The device faults on the virtual ``lab``'s chip, the instrument faults on its
        server (each made by ``make_fault``: simulators.lab.server.Fault)."""
        n = len(lab.chip.devices)
        for fault in self.faults:
            for device in fault.devices or ((fault.device,) if fault.device is not None
                                            else ()):
                if device >= n:
                    raise FaultFileError(f"fault file [[{fault.kind}]]: device {device} is "
                                         f"not on this chip of {n} devices")
        lab.chip.scheduled = self
        for scheduled in self.faults:
            if scheduled.kind in INSTRUMENT_KINDS:
                served = make_fault(SERVER_KIND[scheduled.kind], scheduled.role, after=0,
                                    delay=scheduled.delay, at=scheduled.at,
                                    code=scheduled.code,
                                    until=scheduled.at + scheduled.duration or None)
                self._server_faults.append((scheduled, served))
                lab.faults.append(served)

    def drift_scale(self, device: int, now: float) -> float:
        """The factor on ``device``'s switching current scale at lab time ``now``."""
        scale = 1.0
        for fault in self.faults:
            if fault.kind == "drift" and device in fault.devices and now > fault.at:
                scale *= 1.0 + fault.rate * (now - fault.at)
        return scale

    def coil_resistance(self, nominal: float, now: float) -> float:
        """The field supply's load (ohm) at ``now``: the latest ``compliance`` fault struck,
        else ``nominal``; noted in the log."""
        resistance = nominal
        for fault in self.faults:
            if fault.kind == "compliance" and now >= fault.at:
                self._struck.setdefault(id(fault), now)
                resistance = fault.resistance
        return resistance

    def supply_scale(self, now: float) -> float:
        """The factor between the field supply's output and its programmed level at
        ``now`` (``field_drift``); noted in the log."""
        scale = 1.0
        for fault in self.faults:
            if fault.kind == "field_drift" and now > fault.at:
                self._struck.setdefault(id(fault), now)
                scale *= 1.0 + fault.rate * (now - fault.at)
        return scale

    def held(self, device: int, now: float) -> tuple[str, int | None] | None:
        """("stuck", state) or ("die", None) when ``device`` no longer switches freely at
        ``now`` (the first fault to strike it), else None; noted in the log."""
        for fault in self.faults:
            if fault.device == device and fault.kind in ("die", "stuck") and now >= fault.at:
                self._struck.setdefault(id(fault), now)
                return fault.kind, (fault.state if fault.kind == "stuck" else None)
        return None

    def contact_open(self, device: int, now: float) -> bool:
        """``device``'s current contact is open at ``now`` (an ``open`` fault struck it);
        noted in the log."""
        for fault in self.faults:
            if fault.kind == "open" and fault.device == device and now >= fault.at:
                self._struck.setdefault(id(fault), now)
                return True
        return False

    def log(self) -> list[dict]:
        """What struck so far: kind, device or role, the scheduled lab time and the lab
        time the lab first acted on it (drift acts from its start)."""
        out = []
        for fault in self.faults:
            entry: dict[str, Any] = {"kind": fault.kind, "at": fault.at}
            if fault.kind == "drift":
                out.append({**entry, "devices": list(fault.devices),
                            "percent_per_hour": fault.percent_per_hour, "struck": fault.at})
            elif fault.kind in DEVICE_KINDS and id(fault) in self._struck:
                out.append({**entry, "device": fault.device, "struck": self._struck[id(fault)]})
            elif fault.kind in SUPPLY_KINDS and id(fault) in self._struck:
                out.append({**entry, "role": fault.role, "struck": self._struck[id(fault)]})
        for fault, served in self._server_faults:
            if served.fired_at is not None:
                out.append({"kind": fault.kind, "at": fault.at, "role": fault.role,
                            "struck": served.fired_at, "lines": served.strikes_count})
        return sorted(out, key=lambda e: e["struck"])
