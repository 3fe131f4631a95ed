"""A Keithley 7002 switch system with Model 7011 multiplexer cards routing a chip of
four-terminal devices: the lab file's wiring, the driver, and the tie between its guard and
the 6221's.

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

Safety, at the lowest layer: the 7002's guard (``instruments.guard.k7002``) sits on the VISA
resource as the sources' guards do, and refuses a line that would close a channel no device
is wired to, route two devices at once, turn break-before-make off, or move a relay while the
6221 may drive current (hot switching). The route is part of the 7002's picture, believed
once ``:ROUT:CLOS:STAT?`` names it (``select`` reads it back every time), one picture per
instrument in this process, a second process refused. ``attach`` ties a lab's 6221 and 7002
(``Route``): the 6221's limits are the routed device's; with no device, two, or a route not
yet read back, nothing above 1 nA is sent (a refusal naming why).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_range

from instruments.errors import InstrumentError, ReplyError
from instruments.guard.k7002 import (
    CARD_CHANNELS,
    SLOTS,
    Channel,
    Guard7002,
    Route,
    channel_list,
    closed_reply,
    format_list,
    parse_channel,
)
from instruments.keithley.base import SafeWriteMixin, _guarded
from instruments.limits import LIMIT_RANGES, SafetyLimits, _si

__all__ = ["CARD_CHANNELS", "SLOTS", "DeviceRoute", "Route", "SwitchSystem", "SwitchWiring",
           "attach", "channel_list", "fit_waveform", "format_list", "parse_channel"]


@dataclass(frozen=True)
class DeviceRoute:
    """One device's channels and its own limits (SI; tighter than the lab's, never looser)."""

    current: tuple[Channel, ...]
    voltage: tuple[Channel, ...]
    limits: tuple[tuple[str, float], ...] = ()

    @property
    def channels(self) -> frozenset[Channel]:
        """Every channel the device's route closes (current and voltage pairs): all of
        them closed, and no other device's, routes it."""
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
        """The wired device numbers, in order (a lab file's ``devices`` list, when it
        names channels instead)."""
        return list(self.routes)

    def channels(self, device: int) -> frozenset[Channel]:
        """The channels that route ``device`` (KeyError for a device not wired)."""
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
        """The one device ``closed`` routes whole, or None (none, several, or one only
        partly routed: :meth:`route_problem` says which)."""
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


# -- the driver ------------------------------------------------------------------------------
class SwitchSystem(SafeWriteMixin, Instrument):
    """Keithley 7002 with 7011 cards: one device at a time, by the lab file's wiring."""

    def __init__(self, adapter, limits: SafetyLimits | None = None,
                 wiring: SwitchWiring | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        self.wiring = wiring if wiring is not None else SwitchWiring({})
        self.guard = Guard7002(self.wiring)
        self.guard.name = "Keithley 7002 switch system"
        adapter = _guarded(adapter, self.guard, kwargs)
        super().__init__(adapter, "Keithley 7002 switch system", includeSCPI=False, **kwargs)
        self.routes = 0  # device routes this driver has made
        self.relay_closures = 0  # relays it has closed (open -> closed)
        self.after_route = None  # called once a route is read back (the lab's: attach)

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
        """The closed channels, as the 7002 reports them (``:ROUTe:CLOSe:STATe?``); the
        guard's picture takes them from the same reply."""
        reply = self.ask(":ROUT:CLOS:STAT?").strip()
        try:
            return closed_reply(reply)
        except ValueError:
            raise ReplyError(self.name, ":ROUT:CLOS:STAT?", reply, "not a channel list") \
                from None

    def select(self, device: int) -> None:
        """Route ``device``: open what is closed, then close its channels (one line: the
        7002 settles each command's relays before the next, so it breaks before it makes),
        and read the closed channels back. Nothing moves when the 7002 has said it holds
        that route already."""
        if device not in self.wiring.routes:
            raise ValueError(f"device = {device} is not wired to the switch system (the lab "
                             f"file's devices: {_ranges(self.wiring.devices)})")
        wanted = self.wiring.channels(device)
        if self.guard.picture.possible("closed") == [wanted]:
            return
        self.write(f":ROUT:OPEN ALL;:ROUT:CLOS {format_list(wanted)}")
        self.routes += 1
        self.relay_closures += len(wanted)
        held = self.closed()
        if held != wanted:
            raise InstrumentError(f"{self.name}: device {device} not routed: the 7002 holds "
                                  f"{format_list(held)}, not {format_list(wanted)}")
        self.check_errors()
        if self.after_route is not None:
            self.after_route()

    def routed_device(self) -> int | None:
        """The device routed on every closed set the 7002 may hold (None: none, several,
        unknown, or a route not yet read back)."""
        devices = {None if closed is None else self.wiring.routed(closed)
                   for closed in self.guard.picture.possible("closed")}
        return devices.pop() if len(devices) == 1 else None

    def shutdown(self) -> None:
        self.write(":ROUT:OPEN ALL")
        super().shutdown()


def _ranges(devices: list[int]) -> str:
    return f"[{devices[0]}, ..., {devices[-1]}]" if len(devices) > 3 else str(devices)


# -- the lab's wiring of the guards ------------------------------------------------------------
def attach(lab: Any, role: str, instrument: Any) -> None:
    """Tie an opened instrument of ``lab`` (an ``instruments.connection.Lab`` with a wiring)
    to the lab's ``Route``: the 6221's limits become the routed device's, the 7002 refuses
    to move a relay while the 6221 may drive current, and after each route the 6221's
    waveform levels are brought within the new device's limits."""
    route: Route = lab.route
    if role == "pulse":
        route.link_source(instrument.guard)
    elif role == "voltmeter" and hasattr(instrument, "guard"):
        route.link_meter(instrument.guard)
    elif role == "switch":
        route.link_switch(instrument.guard)
        instrument.after_route = lambda: fit_waveform(lab)


def fit_waveform(lab: Any) -> None:
    """After a route: the 6221's waveform amplitude and offset, kept from the last device,
    brought within the new device's limits (else the next change of its shape is refused
    for a level it will never play)."""
    pulse = lab.instruments.get("pulse")
    if pulse is None:
        return
    guard = pulse.guard
    limits = guard.limits()
    if any(a is None or a > limits.max_pulse_current
           for a in guard.picture.possible("amplitude")):
        pulse.waveform_amplitude = 2e-12  # the 6221's least (Reference Manual, WAVE:AMPL)
    if any(o is None or abs(o) > limits.max_read_current
           for o in guard.picture.possible("offset")):
        pulse.waveform_offset = 0.0
