"""Connecting the lab: roles -> VISA resources, *RST/*CLS at connect, outputs off on exit.

A lab file (TOML) names each role's resource and the VISA library::

    visa_library = "@py"          # pyvisa-py
    chip = "wafer 7, die 3"        # optional: names the sample (part of the lab's identity)
    devices = [0, 1, 2, 3]         # optional: the devices wired to the switch card
    [roles]
    pulse = "GPIB0::12::INSTR"     # Keithley 6221
    voltmeter = "GPIB0::16::INSTR" # Keithley 2000 (or a 2182A: [models])
    field = "GPIB0::24::INSTR"     # Keithley 2400 (optional)
    switch = "GPIB0::7::INSTR"     # Keithley 7001 switch card (optional)
    [limits]
    max_pulse_current = 0.75e-3
    [wiring]
    trigger_line = 1               # 6221 trigger-link output line -> 2000 EXT TRIG
    bus = "gpib"                   # gpib, usb or lan: the virtual lab's clock charges its cost
    [models]                       # optional: a role's model where not the default
    voltmeter = "2182A"            # MODELS: 2000 (default) or 2182A

A chip routed by a Keithley 7002 with 7011 cards names each device's channels instead of the
``devices`` list (``[switch]``, ``[devices.N]``: ``instruments.keithley.k7002``), and may give a
device its own, lower limits.

Or ``virtual = true``, which asks the caller (``hil.session``) to start the virtual lab in
this process. Whatever happens, normal end, exception, Ctrl-C, SIGTERM, SIGHUP, SIGQUIT or
interpreter exit, every source output is switched off, and "off" is what ``OUTP?`` answers, not
a guess. kill -9 cannot be caught, so the first connection to a lab switches every source output
it lists off before it sends anything else. This layer knows no simulator: whoever builds an
emulated lab hands its resources and its :class:`Clock` to :class:`Lab`.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pyvisa.errors import VisaIOError

from instruments import outputs
from instruments.errors import InstrumentError, LabConnectionError, OutputsOnError, StopSignal
from instruments.guard import Route
from instruments.keithley import (
    FieldSupply,
    HallVoltmeter,
    Nanovoltmeter,
    PulseSource,
    SwitchCard,
    k7002,
)
from instruments.limits import SafetyLimits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# role -> model -> driver: the one table of the instruments a lab file may name (``[models]``;
# a role's first model is its default; the 7002 is named by the ``[switch]`` table)
MODELS = {"pulse": {"6221": PulseSource},
          "voltmeter": {"2000": HallVoltmeter, "2182A": Nanovoltmeter},
          "field": {"2400": FieldSupply},
          "switch": {"7001": SwitchCard, "7002": k7002.SwitchSystem}}
DEFAULT_MODELS = {role: next(iter(models)) for role, models in MODELS.items()}
DRIVERS = {role: models[DEFAULT_MODELS[role]] for role, models in MODELS.items()}
REQUIRED_ROLES = ("pulse", "voltmeter")
BUS_KINDS = ("gpib", "usb", "lan")  # the interfaces a lab file may name
SOURCE_ROLES = ("pulse", "field")  # the roles with an output that drives current
# Settings read back from each instrument for a run's snapshot (as QCoDeS's station
# snapshot does), by model: the queries of the commands each manual documents (6221 manual
# section 3 (current source), 2000 manual section 3 / SENSe, 2182A manual SENSe (a range
# per channel) and SYSTem, 2400 manual section 18, 7001/7002 ROUTe).
_METER_QUERIES = {"nplc": ":SENS:VOLT:NPLC?", "range": ":SENS:VOLT:RANG?",
                  "range_auto": ":SENS:VOLT:RANG:AUTO?", "autozero": ":SYST:AZER?",
                  "trigger_source": ":TRIG:SOUR?", "continuous": ":INIT:CONT?"}
_SWITCH_QUERIES = {"closed_channels": ":ROUT:CLOS:STAT?"}
SNAPSHOT_QUERIES = {
    "6221": {"output": ":OUTP?", "current": ":SOUR:CURR?", "compliance": ":SOUR:CURR:COMP?",
             "range": ":SOUR:CURR:RANG?", "range_auto": ":SOUR:CURR:RANG:AUTO?",
             "delay": ":SOUR:DEL?"},
    "2000": _METER_QUERIES,
    "2182A": {**_METER_QUERIES, "range": ":SENS:VOLT:CHAN1:RANG?",
              "range_auto": ":SENS:VOLT:CHAN1:RANG:AUTO?", "front_autozero": ":SYST:FAZ?"},
    "2400": {"output": ":OUTP?", "source_function": ":SOUR:FUNC?",
             "current": ":SOUR:CURR?", "voltage_compliance": ":SENS:VOLT:PROT?"},
    "7001": _SWITCH_QUERIES, "7002": _SWITCH_QUERIES,
}
_OPEN_LABS: weakref.WeakSet[Lab] = weakref.WeakSet()
EXIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                     if hasattr(signal, name))


class _ExitSignals:
    """While a lab is open, SIGTERM, SIGHUP and SIGQUIT stop the program the way Ctrl-C does:
    a ``StopSignal`` (a KeyboardInterrupt) raised in the main thread, so every ``with`` and
    ``finally`` on the way out switches the outputs off. A signal that comes while outputs
    are being switched off waits until they are. Handlers someone else installed, and a
    signal the shell told us to ignore (``nohup``), are left alone."""

    def __init__(self) -> None:
        self.holders = 0
        self.previous: dict[int, object] = {}
        self.switching_off = 0
        self.pending: int | None = None

    def hold(self) -> bool:
        if threading.current_thread() is not threading.main_thread():
            return False  # only the main thread may install handlers; its owner decides
        if self.holders == 0:
            for signum in EXIT_SIGNALS:
                current = signal.getsignal(signum)
                ours = (current is signal.default_int_handler if signum == signal.SIGINT
                        else current == signal.SIG_DFL)
                if ours:
                    self.previous[signum] = current
                    signal.signal(signum, self._stop)
        self.holders += 1
        return True

    def release(self) -> None:
        self.holders -= 1
        if self.holders == 0 and threading.current_thread() is threading.main_thread():
            for signum, handler in self.previous.items():
                signal.signal(signum, handler)
            self.previous.clear()

    def _stop(self, signum: int, frame) -> None:
        if self.switching_off:
            self.pending = signum
            return
        raise StopSignal(signum)

    @contextlib.contextmanager
    def deferred(self):
        """Outputs are being switched off: a signal now is acted on afterwards (raised
        then, unless an exception is already on its way out)."""
        signum = None
        self.switching_off += 1
        try:
            yield
        finally:
            self.switching_off -= 1
            if self.switching_off == 0:
                signum, self.pending = self.pending, None
        if signum is not None:
            raise StopSignal(signum)


_EXIT_SIGNALS = _ExitSignals()


@runtime_checkable
class Clock(Protocol):
    """Where the lab's time comes from: the wall on real instruments, a counter on an
    emulated lab (which jumps instead of sleeping)."""

    @property
    def seconds(self) -> float:
        """The lab's time now (s), what waits and timing estimates are measured on."""

    def now(self) -> float:
        """The lab's time (s) once every line sent so far is charged: what progress bars,
        lab-time estimates and readings' ``lab_t`` read."""

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: slept on the wall, counted on an emulated lab."""


class WallClock:
    """Real time: ``advance`` sleeps."""

    @property
    def seconds(self) -> float:
        """The wall's time (s, ``time.perf_counter``: monotonic, its zero arbitrary)."""
        return time.perf_counter()

    def now(self) -> float:
        """The wall's time (s), as an emulated clock's ``now`` reads it after every line
        is charged: on real instruments the two are the same."""
        return time.perf_counter()

    def advance(self, seconds: float) -> None:
        """Sleep ``seconds``: a deliberate wait on real instruments takes real time."""
        time.sleep(seconds)


@dataclass
class LabFile:
    """A lab file (TOML) as read: the instruments' resources by role, the safety limits, the
    wiring and the devices, so one file names everything a rig is."""
    roles: dict[str, str] = field(default_factory=dict)
    visa_library: str = "@py"
    virtual: bool = False
    limits: SafetyLimits = field(default_factory=SafetyLimits)
    timeout_ms: int = 2000
    trigger_line: int = 1  # [wiring]: the 6221 trigger-link line cabled to the 2000's EXT TRIG
    bus: str = "gpib"  # [wiring]: the interface the instruments are on
    chip: str | None = None
    devices: list[int] | None = None
    wiring: k7002.SwitchWiring | None = None  # [switch], [devices.N]: a 7002's channels
    models: dict[str, str] = field(default_factory=dict)  # [models]: role -> model (MODELS)
    wear: WearBudgets | None = None  # [wear]: pulses each device may take over its life

    @classmethod
    def load(cls, path: str | Path) -> LabFile:
        """Read and check the lab file at ``path``; refused with ``ValueError`` naming the
        key (unknown keys and roles, limits out of range, a bad ``[wiring]``, a real lab without a
        ``pulse`` or ``voltmeter`` resource)."""
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except OSError as err:
            raise ValueError(f"lab file: cannot read {path}: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"lab file: {path} is not valid TOML: {err}") from None
        allowed = {"roles", "visa_library", "virtual", "limits", "timeout_ms", "wiring", "chip",
                   "devices", "switch", "models", "wear"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise ValueError(f"lab file: unknown key {unknown[0]!r}; allowed: {sorted(allowed)}")
        roles = raw.get("roles", {})
        for role in roles:
            if role not in DRIVERS:
                raise ValueError(f"lab file: role {role!r} is not one of {sorted(DRIVERS)}")
        limits = SafetyLimits.from_mapping(raw.get("limits", {}), f"lab file {path}")
        devices, wiring = raw.get("devices"), None
        if isinstance(devices, dict) or "switch" in raw:
            wiring = k7002.SwitchWiring.from_table(devices if isinstance(devices, dict) else {},
                                                   raw.get("switch"), f"lab file {path}")
            devices = wiring.devices
        if devices is not None and (not isinstance(devices, list) or not devices or not all(
                isinstance(d, int) and d >= 0 for d in devices)):
            raise ValueError("lab file: devices must be a list of device numbers (0, 1, ...)")
        chip = raw.get("chip")
        trigger_line, bus = _wiring(raw.get("wiring", {}))
        lab = cls(roles, raw.get("visa_library", "@py"), bool(raw.get("virtual", False)),
                  limits, int(raw.get("timeout_ms", 2000)), trigger_line, bus,
                  None if chip is None else str(chip), devices, wiring,
                  _models(raw.get("models", {})),
                  None if "wear" not in raw else WearBudgets.from_table(raw["wear"]))
        if not lab.virtual:
            missing = [r for r in REQUIRED_ROLES if r not in roles]
            if missing:
                raise ValueError(f"lab file: role {missing[0]!r} has no resource")
            if wiring is not None and "switch" not in roles:
                raise ValueError("lab file: [devices.N] channels need a switch role")
        return lab


class LabFileError(ValueError):
    """A lab file's value refused, with the ``field`` it is in (e.g. ``wear.pulses``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"lab file: {field}: {message}")
        self.field, self.reason = field, message


MAX_WEAR_PULSES = 10**12  # far beyond any bar: 10^15 cycles are reported only for MTJs


@dataclass
class WearBudgets:
    """``[wear]``: the reset and write pulses a device may take over its whole life before a
    watched run retires it, chip-wide (``pulses``) and per device (``[wear.devices]``,
    ``"3" = 8000``), each a whole number in [1, ``MAX_WEAR_PULSES``]."""

    pulses: int | None = None
    devices: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_table(cls, raw: Any) -> WearBudgets:
        """The ``[wear]`` table as read; a bad key or value is refused naming its field."""
        if not isinstance(raw, dict):
            raise LabFileError("wear", "must be a table: pulses = N and/or [wear.devices]")
        unknown = sorted(set(raw) - {"pulses", "devices"})
        if unknown:
            raise LabFileError(f"wear.{unknown[0]}", "unknown; allowed: ['devices', 'pulses']")
        pulses = None if "pulses" not in raw else _wear_pulses("wear.pulses", raw["pulses"])
        devices = raw.get("devices", {})
        if not isinstance(devices, dict):
            raise LabFileError("wear.devices", 'must be a table of "device" = pulses')
        budgets = {}
        for key, value in devices.items():
            if not str(key).isdigit():
                raise LabFileError(f"wear.devices.{key}", "not a device number; allowed: "
                                   "0, 1, ... (a quoted key)")
            budgets[int(key)] = _wear_pulses(f"wear.devices.{key}", value)
        return cls(pulses, budgets)

    def budget(self, device: int) -> int | None:
        """``device``'s budget: its own, else the chip's; None when neither is given."""
        return self.devices.get(device, self.pulses)


def _wear_pulses(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= MAX_WEAR_PULSES:
        raise LabFileError(name, f"{value!r} is outside the allowed range "
                           f"[1, {MAX_WEAR_PULSES}] pulses (a whole number)")
    return value


def _models(models: dict) -> dict[str, str]:
    """``[models]``: each role's model where it is not the default, from ``MODELS`` (the
    switch's is named by ``[switch]``)."""
    if not isinstance(models, dict):
        raise ValueError("lab file: models must be a table of role = model")
    named = {}
    for role, model in models.items():
        choices = [m for m in MODELS.get(role, {}) if role != "switch"]
        if not choices:
            allowed = sorted(r for r in MODELS if r != "switch")
            raise ValueError(f"lab file: models.{role}: not a role with a choice of model; "
                             f"allowed: {allowed} (a 7002 switch is named by [switch])")
        found = [m for m in choices if str(model).upper() == m]
        if not found:
            raise ValueError(f"lab file: models.{role} = {model!r} is not one of {choices}")
        named[role] = found[0]
    return named


def _wiring(wiring: dict) -> tuple[int, str]:
    """``[wiring]``: ``trigger_line``, which of the 6221's six trigger-link output lines
    (Reference Manual, trigger link; WAVE:PMARker:OLINe 1-6) reaches the 2000's EXT TRIG
    (a trigger-link-to-BNC cable); ``bus``, the interface (gpib, usb, lan)."""
    unknown = sorted(set(wiring) - {"trigger_line", "bus"})
    if unknown:
        raise ValueError(f"lab file: wiring key {unknown[0]!r} unknown; allowed: "
                         "['bus', 'trigger_line']")
    line = wiring.get("trigger_line", 1)
    if not isinstance(line, int) or isinstance(line, bool) or not 1 <= line <= 6:
        raise ValueError(f"lab file: wiring trigger_line = {line!r} is outside the allowed "
                         "range [1, 6] (6221 trigger-link output lines)")
    bus = wiring.get("bus", "gpib")
    if bus not in BUS_KINDS:
        raise ValueError(f"lab file: wiring bus = {bus!r} is not one of {list(BUS_KINDS)}")
    return line, bus


class Lab:
    """Open instruments by role. Use as a context manager."""

    def __init__(self, roles: dict[str, str], visa_library: str = "@py",
                 limits: SafetyLimits | None = None, timeout_ms: int = 2000,
                 clock: Clock | None = None, wiring: k7002.SwitchWiring | None = None,
                 models: dict[str, str] | None = None) -> None:
        """``clock``: an emulated lab's clock (its waits are counted, not slept); None on
        real instruments, which wait on the wall. ``wiring``: the devices' channels on a
        7002 (its guard and the 6221's then know which device a pulse reaches)."""
        self.wiring = wiring
        self.models = {role: model for role, model in (models or {}).items() if role in MODELS}
        # the 6221's limits follow the 7002's route; the 7002's relays, the 6221's state
        self.route = Route(wiring) if wiring is not None else None
        self.roles = dict(roles)
        self.visa_library = visa_library
        self.limits = limits or SafetyLimits()
        self.timeout_ms = timeout_ms
        self.clock = clock
        self.instruments: dict[str, Any] = {}
        self.identities: dict[str, str] = {}
        self.trigger_line = 1  # 6221 trigger-link line wired to the 2000's EXT TRIG
        self._sources_checked = False  # every source output switched off at first contact
        self._holds_signals = False
        _OPEN_LABS.add(self)

    @classmethod
    def from_file(cls, lab_file: LabFile) -> Lab:
        """The lab a (real) lab file names, with its limits, wiring and trigger line, not
        yet connected; ``virtual = true`` is refused (``hil.session.open_lab`` starts that one)."""
        if lab_file.virtual:
            raise ValueError("lab file: virtual = true is opened by hil.session.open_lab")
        lab = cls(lab_file.roles, lab_file.visa_library, lab_file.limits, lab_file.timeout_ms,
                  wiring=lab_file.wiring, models=lab_file.models)
        lab.trigger_line = lab_file.trigger_line
        return lab

    def model(self, role: str) -> str:
        """``role``'s model (``MODELS``): named in the lab file, else the role's default; a
        switch with a 7002's wiring is a 7002."""
        if role == "switch" and self.wiring is not None:
            return "7002"
        return self.models.get(role, DEFAULT_MODELS[role])

    def output_name(self, role: str) -> str:
        """How ``role``'s source output is named to the operator and in what this process
        knows of its outputs (``instruments.outputs``): the role and its VISA resource."""
        return f"the {role} output ({self.roles[role]})"

    def open(self, role: str):
        """Connect ``role``. The first connection of this lab switches every source output
        it lists off first (a program killed with -9 may have left one on); a source's first
        bytes on the wire are its OUTP? check and, if on, its switch-off."""
        if not self._holds_signals:
            self._holds_signals = _EXIT_SIGNALS.hold()
        if not self._sources_checked:
            self._sources_checked = True
            for source in SOURCE_ROLES:
                if source != role and source in self.roles and source not in self.instruments:
                    self.open(source)
        address = self.roles[role]
        instrument = None
        if role in SOURCE_ROLES:
            outputs.in_use(self.output_name(role))
        routed = self.wiring is not None
        driver = MODELS[role][self.model(role)]
        extra = {"wiring": self.wiring} if routed and role == "switch" else {}
        try:
            instrument = driver(address, limits=self.limits, visa_library=self.visa_library,
                                read_termination="\n", write_termination="\n",
                                timeout=self.timeout_ms, **extra)
            instrument.pause = self.wait  # a ramp's pauses on the lab's clock
            if routed:
                k7002.attach(self, role, instrument)
            if role in SOURCE_ROLES:
                self._switch_off_if_on(instrument)
            instrument.write("*RST;*CLS")
            instrument.check_errors()
            self.identities[role] = instrument.query("*IDN?", "identity").strip()
        except (OSError, VisaIOError, ValueError, InstrumentError) as err:
            if instrument is not None:
                with contextlib.suppress(Exception):
                    instrument.adapter.close()
            if role in SOURCE_ROLES:
                outputs.may_be_on(self.output_name(role), f"connection failed: {err}")
            raise LabConnectionError(f"{role} at {address}: {err}") from None
        self.instruments[role] = instrument
        return instrument

    @staticmethod
    def _switch_off_if_on(instrument) -> None:
        """An output found on at connection (a killed run's) is switched off, confirmed."""
        with _EXIT_SIGNALS.deferred():
            try:
                on = instrument.output_enabled()
            except InstrumentError:  # an unreadable state counts as on
                on = True
            if on:
                instrument.shutdown()

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
        """The coil's field per ampere, for the field supply."""
        self["field"].coil_constant = tesla_per_ampere

    def select_device(self, device: int) -> None:
        """Route ``device`` through the switch card; without one only device 0 exists."""
        if "switch" in self.roles:
            self["switch"].select(device)
        elif device != 0:
            raise ValueError(f"device = {device}: this lab has no switch card (allowed: 0)")

    def device_limits(self, device: int) -> SafetyLimits:
        """``device``'s limits: the lab's, each lowered to the device's own (lab file)."""
        if self.wiring is None or device not in self.wiring.routes:
            return self.limits
        return self.wiring.device_limits(device, self.limits)

    def snapshot(self) -> dict[str, dict[str, str]]:
        """Every open instrument's identity, address and settings, as read back now (a
        setting an instrument refuses to report is recorded as its error)."""
        out: dict[str, dict[str, str]] = {}
        for role, instrument in self.instruments.items():
            entry = {"idn": self.identities.get(role, ""), "resource": self.roles[role]}
            for name, query in SNAPSHOT_QUERIES.get(self.model(role), {}).items():
                try:
                    entry[name] = str(instrument.ask(query)).strip()
                    instrument.check_errors()
                except Exception as err:  # noqa: BLE001 - recorded, the run goes on
                    entry[name] = f"unavailable: {err}"
            out[role] = entry
        return out

    def device_state(self, device: int | None = None) -> dict | None:
        """The routed device's (or ``device``'s) state, stored with each batch of readings
        so a resumed run goes on exactly; None on real instruments, whose devices keep their
        own state (an emulated lab's connection overrides this)."""
        return None

    def restore_device(self, state: dict) -> None:
        """Put the routed device back where a killed run left it; real devices keep their
        own state, so nothing to do here (an emulated lab's connection overrides this)."""

    def wait(self, seconds: float) -> None:
        """A deliberate pause: counted on an emulated lab's clock, slept on real hardware."""
        if seconds > 0:
            (self.clock or WallClock()).advance(seconds)

    def __getitem__(self, role: str):
        return self.instruments[role] if role in self.instruments else self.open(role)

    def connect(self) -> Lab:
        """Open every role not yet open (sources first, checked off); if one cannot be
        reached, the lab is closed, outputs off, and the error raised."""
        try:
            for role in self.roles:
                if role not in self.instruments:
                    self.open(role)
        except BaseException:  # a role that cannot be reached: the others are switched off
            self.close()
            raise
        return self

    def outputs_off(self) -> None:
        """Every source off, confirmed by OUTP?, the voltmeter on DC volts (no ohms test
        current) and the switch card open; keeps going past a failing instrument (a fresh
        connection to it is tried once), then raises OutputsOnError naming each output that
        may still be on."""
        maybe_on, failures = {}, []
        # the voltmeter first: back to DC volts, so no ohms test current flows while the
        # switch card opens (its guard refuses to move a relay under it)
        order = sorted(self.instruments.items(), key=lambda item: item[0] == "switch")
        for role, instrument in order:
            if role not in (*SOURCE_ROLES, "switch", "voltmeter"):
                continue
            try:
                try:
                    instrument.shutdown()
                except Exception:  # noqa: BLE001
                    self.reconnect(role).shutdown()  # a fresh connection
            except Exception as err:  # noqa: BLE001
                if role in SOURCE_ROLES:
                    maybe_on[self.output_name(role)] = str(err)
                    outputs.may_be_on(self.output_name(role), f"switching off failed: {err}")
                else:
                    failures.append(f"{role}: {err}")
            else:
                if role in SOURCE_ROLES:
                    outputs.confirmed_off(self.output_name(role))
        if maybe_on:
            raise OutputsOnError(maybe_on)
        if failures:
            raise LabConnectionError("could not make safe: " + "; ".join(failures) +
                                     " (the voltmeter back to DC volts, the switch card open)")

    def close(self) -> None:
        """Outputs off (a signal meanwhile waits, and is raised once they are), connections
        closed."""
        with _EXIT_SIGNALS.deferred():  # until every connection is closed too
            try:
                self.outputs_off()
            finally:
                for instrument in self.instruments.values():
                    with contextlib.suppress(Exception):
                        instrument.adapter.close()
                self.instruments.clear()
                self._sources_checked = False
                if self._holds_signals:
                    self._holds_signals = False
                    _EXIT_SIGNALS.release()

    def __enter__(self) -> Lab:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()


@atexit.register
def _switch_everything_off() -> None:
    """Interpreter exit: no lab is left with an output on."""
    for lab in list(_OPEN_LABS):
        with contextlib.suppress(Exception, KeyboardInterrupt):  # exiting already
            lab.close()
