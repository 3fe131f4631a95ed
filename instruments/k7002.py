"""A Keithley 7002 switch system with Model 7011 multiplexer cards routing a chip of
four-terminal devices: the lab file's wiring, the route guard under the driver, and the
driver.

Why this system: a chip of ~100 four-terminal Hall bars needs 400 terminals switched. A
7011 card is four 1x10 two-pole multiplexers (40 channels, each a HI/LO pair), so a bar takes
two channels, its current pair and its voltage pair: 20 bars a card, five cards for 100, and
the 7002's ten slots hold 200. It speaks the 7001's SCPI (Model 7002 Instruction Manual,
section 4, ROUTe subsystem; channel lists ``(@ slot!channel, ...)``). A 707B matrix mainframe
has six slots of 8x12 matrix cards (Models 707B/708B Reference Manual, section 5: "Slot 1
... to Slot 6 for the Model 707B"): 72 columns, 18 four-terminal devices. The 7011's
contacts are rated 1 A switched, 110 V DC (Model 7011 specifications), well above the
6221's +-105 mA and 105 V compliance.

The lab file maps each device to its channels (and may lower its limits)::

    [switch]
    model = "7002"
    cards = 5                        # slots 1-5 hold 7011s
    [devices.0]
    current = "1!1"                  # the channel carrying I+ / I- (the 6221's HI / LO)
    voltage = "1!11"                 # the channel carrying V+ / V- (the 2000's HI / LO)
    [devices.7]
    current = "1!8"
    voltage = "1!18"
    max_pulse_current = "0.5 mA"     # device 7's own limit (the lab's [limits] otherwise)

Safety, at the lowest layer (``attach``): the switch's guard reads every line sent to the
7002 and refuses one that would close a channel no device is wired to, route two devices at
once, turn break-before-make off, or close a relay while the 6221 may drive current (its
output on or a waveform armed: hot switching). The 6221's guard takes its limits from the
device the switch's guard knows is routed: that device's limits; with no device, two, or an
unknown route, nothing above 1 nA is sent (a refusal naming why).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymeasure.adapters import VISAAdapter
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_range

from instruments import scpi
from instruments.errors import InstrumentError, ReplyError
from instruments.guard import SourceGuard, UnknownCommandError
from instruments.keithley import SafeWriteMixin
from instruments.limits import LIMIT_RANGES, LimitError, SafetyLimits, _si

SLOTS = 10  # Model 7002: ten card slots
CARD_CHANNELS = 40  # Model 7011: four 1x10 banks of two-pole channels
UNROUTED_CURRENT = 1e-9  # A: what may reach a device the guard cannot name
Channel = tuple[int, int]  # (slot, channel)
_CHANNEL = re.compile(r"\s*(\d+)\s*!\s*(\d+)\s*")
_STATE = re.compile(r"\(@((?:\d+!\d+)(?:,\d+!\d+)*)?\)")  # :ROUTe:CLOSe:STATe? reply


def parse_channel(text: str, where: str = "channel") -> Channel:
    match = _CHANNEL.fullmatch(str(text))
    if match is None:
        raise ValueError(f"{where} = {text!r} is not a channel like \"1!5\" (slot!channel)")
    slot, channel = int(match.group(1)), int(match.group(2))
    if not (1 <= slot <= SLOTS and 1 <= channel <= CARD_CHANNELS):
        raise ValueError(f"{where} = {text!r} is outside the allowed range: slot [1, {SLOTS}],"
                         f" channel [1, {CARD_CHANNELS}] (7002 with 7011 cards)")
    return slot, channel


def channel_list(text: str) -> frozenset[Channel]:
    """``(@ 1!3, 1!5:1!7)`` as the 7002 reads it (a range stays in one slot)."""
    match = re.fullmatch(r"\(\s*@(.*)\)", text.strip())
    if match is None:
        raise scpi.ScpiSyntaxError(-224, "Illegal parameter value")
    channels = set()
    for item in match.group(1).split(","):
        ends = item.split(":")
        try:
            parsed = [parse_channel(end) for end in ends]
        except ValueError:
            raise scpi.ScpiSyntaxError(-224, "Illegal parameter value") from None
        if len(parsed) > 2 or parsed[0][0] != parsed[-1][0] or parsed[-1][1] < parsed[0][1]:
            raise scpi.ScpiSyntaxError(-224, "Illegal parameter value")
        channels.update((parsed[0][0], c) for c in range(parsed[0][1], parsed[-1][1] + 1))
    return frozenset(channels)


def format_list(channels) -> str:
    return "(@" + ",".join(f"{s}!{c}" for s, c in sorted(channels)) + ")"


@dataclass(frozen=True)
class DeviceRoute:
    """One device's channels and its own limits (SI; tighter than the lab's, never looser)."""

    current: tuple[Channel, ...]
    voltage: tuple[Channel, ...]
    limits: tuple[tuple[str, float], ...] = ()

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(self.current + self.voltage)


class SwitchWiring:
    """Which channels reach which device, read from a lab file or handed over by whoever
    built the bench (the virtual lab)."""

    def __init__(self, routes: dict[int, DeviceRoute], cards: int = SLOTS) -> None:
        self.routes = dict(sorted(routes.items()))
        self.cards = cards
        self.owner: dict[Channel, int] = {}
        for device, route in self.routes.items():
            for channel in route.current + route.voltage:
                if channel in self.owner:
                    raise ValueError(f"channel {channel[0]}!{channel[1]} is wired to devices "
                                     f"{self.owner[channel]} and {device}")
                if channel[0] > cards:
                    raise ValueError(f"device {device}: channel {channel[0]}!{channel[1]} is in "
                                     f"slot {channel[0]}, outside the allowed range [1, {cards}] "
                                     "(switch cards)")
                self.owner[channel] = device

    @property
    def devices(self) -> list[int]:
        return list(self.routes)

    def channels(self, device: int) -> frozenset[Channel]:
        return self.routes[device].channels

    def touched(self, closed) -> list[int]:
        """Every device some closed channel reaches."""
        return sorted({self.owner[c] for c in closed if c in self.owner})

    def route_problem(self, closed) -> str | None:
        """Why ``closed`` does not route exactly one whole device, or None."""
        devices = self.touched(closed)
        if not devices:
            return "no device is routed through the switch system"
        if len(devices) > 1:
            return f"devices {', '.join(map(str, devices))} are routed at once"
        missing = self.channels(devices[0]) - frozenset(closed)
        if missing:
            return f"device {devices[0]} is not fully routed ({format_list(missing)} open)"
        return None

    def routed(self, closed) -> int | None:
        return None if self.route_problem(closed) else self.touched(closed)[0]

    def device_limits(self, device: int, base: SafetyLimits) -> SafetyLimits:
        """The lab's limits, each lowered to the device's own where it has one."""
        own = dict(self.routes[device].limits)
        return dataclasses.replace(base, **{k: min(getattr(base, k), v) for k, v in own.items()})

    @classmethod
    def from_pairs(cls, pairs: dict[int, tuple[Channel, Channel]],
                   cards: int = SLOTS) -> SwitchWiring:
        """device -> (current channel, voltage channel)."""
        return cls({d: DeviceRoute((c,), (v,)) for d, (c, v) in pairs.items()}, cards)

    @classmethod
    def from_table(cls, devices: dict, switch: dict | None = None,
                   where: str = "lab file") -> SwitchWiring:
        """The ``[devices.N]`` tables and the ``[switch]`` table of a lab file."""
        switch = dict(switch or {})
        unknown = sorted(set(switch) - {"model", "cards"})
        if unknown:
            raise ValueError(f"{where}: switch key {unknown[0]!r} unknown; allowed: "
                             "['cards', 'model']")
        if switch.get("model", "7002") != "7002":
            raise ValueError(f"{where}: switch model = {switch['model']!r}: devices wired by "
                             "channel need the 7002 (allowed: '7002')")
        cards = switch.get("cards", SLOTS)
        if not isinstance(cards, int) or isinstance(cards, bool) or not 1 <= cards <= SLOTS:
            raise ValueError(f"{where}: switch cards = {cards!r} is outside the allowed range "
                             f"[1, {SLOTS}]")
        routes = {}
        for key, table in devices.items():
            if not str(key).isdigit() or not isinstance(table, dict):
                raise ValueError(f"{where}: [devices.{key}] must be a table named by a device "
                                 "number (0, 1, ...)")
            routes[int(key)] = _route(int(key), table, where)
        if not routes:
            raise ValueError(f"{where}: [devices] names no device")
        try:
            return cls(routes, cards)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None

    def lab_file_text(self) -> str:
        """The ``[switch]`` and ``[devices.N]`` tables that describe this wiring."""
        lines = ["[switch]", 'model = "7002"', f"cards = {self.cards}"]
        for device, route in self.routes.items():
            lines += ["", f"[devices.{device}]",
                      f"current = {_toml_channels(route.current)}",
                      f"voltage = {_toml_channels(route.voltage)}"]
            lines += [f"{name} = {value!r}" for name, value in route.limits]
        return "\n".join(lines) + "\n"


def _toml_channels(channels: tuple[Channel, ...]) -> str:
    names = [f'"{s}!{c}"' for s, c in channels]
    return names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"


def _route(device: int, table: dict, where: str) -> DeviceRoute:
    allowed = {"current", "voltage", *LIMIT_RANGES}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: devices.{device} key {unknown[0]!r} unknown; allowed: "
                         f"{sorted(allowed)}")
    pairs = {}
    for role in ("current", "voltage"):
        if role not in table:
            raise ValueError(f"{where}: devices.{device} has no {role} channel")
        names = table[role] if isinstance(table[role], list) else [table[role]]
        if not names:
            raise ValueError(f"{where}: devices.{device} {role} names no channel")
        pairs[role] = tuple(parse_channel(n, f"devices.{device} {role}") for n in names)
    limits = []
    for name in sorted(set(table) & set(LIMIT_RANGES)):
        high, unit = LIMIT_RANGES[name]
        try:
            value = _si(table[name], unit)
        except ValueError as err:
            raise ValueError(f"{where}: devices.{device} {name} = {table[name]!r}: {err}") \
                from None
        if not 0 < value <= high:
            raise ValueError(f"{where}: devices.{device} {name} = {value:g} {unit} is outside "
                             f"the allowed range (0, {high:g}] {unit}")
        limits.append((name, value))
    return DeviceRoute(pairs["current"], pairs["voltage"], tuple(limits))


# -- the route guard -----------------------------------------------------------------------
@dataclass
class RouteState:
    closed: frozenset[Channel] | None = None  # None: unknown (before *RST)


class RouteGuard(SourceGuard):
    """What the 7002 would hold after each line, and the lines that would route a device
    unsafely, refused before a byte is sent (an allow-list of the manual's ROUTe, SYSTem,
    STATus and DISPlay headers the driver uses)."""

    model = "Keithley 7002"
    table = [
        (":ROUTe:CLOSe", "_close"), (":ROUTe:CLOSe:STATe", None),
        (":ROUTe:OPEN", "_open"), (":ROUTe:OPEN:ALL", "_open_all"),
        (":ROUTe:CONFigure:BBMake", "_bbmake"),
        *[(f":ROUTe:CONFigure:SLOT{s}:{node}", None) for s in range(1, SLOTS + 1)
          for node in ("STIMe", "CTYPe")],
        (":ROUTe:CONFigure:SLOT:STIMe", None), (":ROUTe:CONFigure:SLOT:CTYPe", None),
        (":SYSTem:ERRor[:NEXT]", None), (":SYSTem:PRESet", "_preset"),
        (":SYSTem:VERSion", None), (":SYSTem:BEEPer[:STATe]", None),
        (":STATus:PRESet", None), (":STATus:QUEue[:NEXT]", None),
        (":STATus:OPERation[:EVENt]", None), (":STATus:OPERation:ENABle", None),
        (":STATus:OPERation:CONDition", None), (":STATus:QUEStionable[:EVENt]", None),
        (":STATus:QUEStionable:ENABle", None), (":STATus:QUEStionable:CONDition", None),
        (":DISPlay:ENABle", None),
    ]
    def __init__(self, wiring: SwitchWiring) -> None:
        self.wiring = wiring
        # why a source may drive current now (set by the lab: hot switching), or None
        self.sources_busy: Callable[[], str | None] = lambda: None
        super().__init__(SafetyLimits)

    def unknown_state(self) -> RouteState:
        return RouteState()

    def reset_state(self) -> RouteState:
        return RouteState(frozenset())  # *RST opens every channel (section 4, ROUTe)

    def _common(self, state: RouteState, unit: scpi.Unit) -> None:
        if unit.nodes[0] == "*RST" and not unit.query:  # *RST opens every channel
            self._cold(state.closed, frozenset(), unit)
        super()._common(state, unit)

    def _close(self, state: RouteState, unit: scpi.Unit) -> None:
        if state.closed is None:
            raise LimitError(f"{self.model}: {unit.text!r} refused: the closed channels are "
                             "unknown (send *RST or :ROUT:OPEN ALL first)")
        params = unit.params()
        if len(params) != 1:
            raise scpi.ScpiSyntaxError(-109 if not params else -108, "one channel list")
        new = state.closed | channel_list(params[0])
        unwired = sorted(new - set(self.wiring.owner))
        if unwired:
            raise LimitError(f"{self.model}: {unit.text!r} refused: channel "
                             f"{unwired[0][0]}!{unwired[0][1]} is wired to no device in the "
                             "lab file")
        devices = self.wiring.touched(new)
        if len(devices) > 1:
            raise LimitError(f"{self.model}: {unit.text!r} refused: it would route devices "
                             f"{', '.join(map(str, devices))} at once (one device at a time)")
        self._cold(state.closed, new, unit)
        state.closed = new

    def _cold(self, old, new, unit: scpi.Unit) -> None:
        """No relay moves while a source may drive current (contacts switched hot wear,
        and a relay closed onto a live source hands a device an untimed pulse)."""
        if old == new:
            return
        busy = self.sources_busy()
        if busy:
            raise LimitError(f"{self.model}: {unit.text!r} refused: {busy} (a relay moved "
                             "under current switches hot)")

    def _open(self, state: RouteState, unit: scpi.Unit) -> None:
        params = unit.params()
        if len(params) != 1:
            raise scpi.ScpiSyntaxError(-109 if not params else -108, "one channel list")
        if params[0].strip().upper() == "ALL":
            self._open_all(state, unit)
        elif state.closed is not None:
            new = state.closed - channel_list(params[0])
            self._cold(state.closed, new, unit)
            state.closed = new
        else:
            channel_list(params[0])
            self._cold(None, frozenset(), unit)

    def _open_all(self, state: RouteState, unit: scpi.Unit) -> None:
        self._cold(state.closed, frozenset(), unit)
        state.closed = frozenset()

    def _preset(self, state: RouteState, unit: scpi.Unit) -> None:
        self._open_all(state, unit)

    def _bbmake(self, state: RouteState, unit: scpi.Unit) -> None:
        if not scpi.boolean(unit.args):
            raise LimitError(f"{self.model}: {unit.text!r} refused: make-before-break can "
                             "connect two devices at once")


# -- the driver ------------------------------------------------------------------------------
class SwitchSystem(SafeWriteMixin, Instrument):
    """Keithley 7002 with 7011 cards: one device at a time, by the lab file's wiring."""

    def __init__(self, adapter, limits: SafetyLimits | None = None,
                 wiring: SwitchWiring | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        self.wiring = wiring if wiring is not None else SwitchWiring({})
        self.guard = RouteGuard(self.wiring)
        if isinstance(adapter, int | str):
            adapter = VISAAdapter(adapter, **kwargs)
            kwargs.clear()
        self.guard.install(adapter)
        super().__init__(adapter, "Keithley 7002 switch system", includeSCPI=False, **kwargs)
        self.routes = 0  # device routes this driver has made
        self.relay_closures = 0  # relays it has closed (open -> closed)

    settling_time = Instrument.control(
        ":ROUT:CONF:SLOT1:STIM?", ":ROUT:CONF:SLOT1:STIM %g",
        """Control slot 1's settling time (s), waited after its relays move, 0-99999.999
        (Model 7002 manual, ROUTe:CONFigure:SLOT<n>:STIMe).""",
        validator=strict_range, values=[0, 99999.999],
    )

    def card_type(self, slot: int) -> str:
        """The card in ``slot`` (``C7011``; ``NONE`` for an empty slot)."""
        strict_range(slot, [1, SLOTS])
        reply = self.ask(f":ROUT:CONF:SLOT{slot}:CTYP?").strip()
        if not re.fullmatch(r"C?\w+", reply):
            raise ReplyError(self.name, f":ROUT:CONF:SLOT{slot}:CTYP?", reply, "not a card")
        return reply

    def closed(self) -> frozenset[Channel]:
        """The closed channels, as the 7002 reports them (``:ROUTe:CLOSe:STATe?``)."""
        reply = self.ask(":ROUT:CLOS:STAT?").strip()
        if not _STATE.fullmatch(reply):
            raise ReplyError(self.name, ":ROUT:CLOS:STAT?", reply, "not a channel list")
        return channel_list(reply) if reply != "(@)" else frozenset()

    def select(self, device: int) -> None:
        """Route ``device``: open what is closed, then close its channels (one line: the
        7002 settles each command's relays before the next, so it breaks before it makes),
        and read the closed channels back. Nothing moves when it is routed already."""
        if device not in self.wiring.routes:
            raise ValueError(f"device = {device} is not wired to the switch system (the lab "
                             f"file's devices: {_ranges(self.wiring.devices)})")
        wanted = self.wiring.channels(device)
        if self.guard.state.closed == wanted:
            return
        self.write(f":ROUT:OPEN ALL;:ROUT:CLOS {format_list(wanted)}")
        self.routes += 1
        self.relay_closures += len(wanted)
        held = self.closed()
        if held != wanted:
            raise InstrumentError(f"{self.name}: device {device} not routed: the 7002 holds "
                                  f"{format_list(held)}, not {format_list(wanted)}")
        self.check_errors()

    def routed_device(self) -> int | None:
        """The device the guard knows is routed (None: none, several, or unknown)."""
        closed = self.guard.state.closed
        return None if closed is None else self.wiring.routed(closed)

    def shutdown(self) -> None:
        self.write(":ROUT:OPEN ALL")
        super().shutdown()


def _ranges(devices: list[int]) -> str:
    return f"[{devices[0]}, ..., {devices[-1]}]" if len(devices) > 3 else str(devices)


# -- the lab's wiring of the guards ------------------------------------------------------------
def attach(lab: Any, role: str, instrument: Any) -> None:
    """Tie an opened instrument of ``lab`` (an ``instruments.connection.Lab`` with a wiring)
    to the route: the 6221's guard takes the routed device's limits and names why nothing
    may reach a device; the 7002's guard refuses closing a relay while the 6221 is live."""
    if role == "pulse":
        guard = instrument.guard
        guard.limits = lambda: routed_limits(lab)
        check = guard.check

        def checked(text: str) -> None:
            try:
                check(text)
            except UnknownCommandError:
                raise
            except LimitError as err:
                problem = route_problem(lab)
                if problem is None:
                    raise
                raise LimitError(f"{err}; {problem}, so nothing above "
                                 f"{UNROUTED_CURRENT:g} A is sent") from None

        guard.check = checked
    elif role == "switch":
        instrument.guard.sources_busy = lambda: source_live(lab)
        select = instrument.select

        def routed_select(device: int) -> None:
            select(device)
            fit_waveform(lab)

        instrument.select = routed_select


def fit_waveform(lab: Any) -> None:
    """After a route: the 6221's waveform amplitude and offset, kept from the last device,
    brought within the new device's limits (else the next change of its shape is refused
    for a level it will never play)."""
    pulse = lab.instruments.get("pulse")
    if pulse is None:
        return
    state, limits = pulse.guard.state, routed_limits(lab)
    if state.amplitude is None or state.amplitude > limits.max_pulse_current:
        pulse.waveform_amplitude = 2e-12  # the 6221's least (Reference Manual, WAVE:AMPL)
    if state.offset is None or abs(state.offset) > limits.max_read_current:
        pulse.waveform_offset = 0.0


def route_problem(lab: Any) -> str | None:
    switch = lab.instruments.get("switch")
    if switch is None or not isinstance(switch, SwitchSystem):
        return "the switch system is not connected"
    closed = switch.guard.state.closed
    if closed is None:
        return "the switch system's closed channels are unknown"
    return switch.wiring.route_problem(closed)


def routed_limits(lab: Any) -> SafetyLimits:
    """The limits of the device routed now; 1 nA when none (or several) is."""
    if route_problem(lab) is not None:
        return dataclasses.replace(lab.limits, max_pulse_current=UNROUTED_CURRENT,
                                   max_read_current=UNROUTED_CURRENT)
    switch = lab.instruments["switch"]
    return switch.wiring.device_limits(switch.routed_device(), lab.limits)


def source_live(lab: Any) -> str | None:
    """Why the 6221 may drive current now, or None once it has said it is idle: its output
    off and no waveform armed, as sent, and executed (*OPC? answered: a write returns before
    the instrument acts on it, and the 7002 would act on its own line first)."""
    pulse = lab.instruments.get("pulse")
    if pulse is None:
        return None
    state = pulse.guard.state
    if state.output is not False:
        return "the 6221's output may be on"
    if state.wave_armed:
        return "a 6221 waveform is armed or playing"
    pulse.complete()
    return None
