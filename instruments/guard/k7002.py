"""The guard of a Keithley 7002 switch system with 7011 cards, and the route it imposes on the
6221 behind it.

The 7002 speaks the 7001's SCPI (Model 7001 Instruction Manual, section 4 "IEEE-488
reference": the ROUTe subsystem, channel lists ``(@ slot!channel, slot!a:slot!b)``, SYSTem,
STATus, DISPlay; the 7002 is its ten-slot mainframe). What it allows is that table; a header
it does not know (``:ROUT:SCAN``, channel patterns, the trigger model), ``*RCL``: refused.

The closed channels are part of the instrument's picture (``picture``) and, like an
output, believed only once the instrument names them: a line that closes or opens relays
leaves the channels held before it as a value the 7002 may still hold (and a route built on
an uncertain one unknown), until ``:ROUTe:CLOSe:STATe?`` is read back (the driver reads it
after every route; ``*ESR?`` confirms nothing here). One picture per instrument, shared by
every connection of this process, and a second process refused (``claim``).

Refused before a byte is sent: a line that would close a channel no device is wired to,
route two devices at once (on the closed channels as the line leaves them), close channels
while the closed set is unknown, or turn break-before-make off; and any line that may move a
relay while the 6221 may drive current (``Route.source_live``: its output maybe on, a
waveform, sweep or delta mode maybe armed; asked of the 6221 before a relay is refused).

``Route`` ties the two pictures: the 6221's limits are the routed device's (the lab file's
``[devices.N]``), taken over every route the 7002 may hold; with no device, two, a route not
yet read back, or no switch connected, nothing above 1 nA (``UNROUTED_CURRENT``). The two
pictures share one lock, so a check on either sees the other still.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from instruments import scpi
from instruments.guard.base import SourceGuard, Tracked
from instruments.guard.grammar import flag_reply
from instruments.limits import LimitError, SafetyLimits

SLOTS = 10  # Model 7002: ten card slots
CARD_CHANNELS = 40  # Model 7011: four 1x10 banks of two-pole channels
UNROUTED_CURRENT = 1e-9  # A: what may reach a device the guard cannot name
Channel = tuple[int, int]  # (slot, channel)
_CHANNEL = re.compile(r"\s*(\d+)\s*!\s*(\d+)\s*")
_STATE = re.compile(r"\(@((?:\d+!\d+)(?:,\d+!\d+)*)?\)")  # :ROUTe:CLOSe:STATe? reply


def parse_channel(text: str, where: str = "channel") -> Channel:
    """``slot!channel`` as the 7002 writes it (Model 7001/7002 manuals, channel list), refused
    with the allowed range when outside the mainframe's slots and a 7011's channels."""
    match = _CHANNEL.fullmatch(str(text))
    if match is None:
        raise ValueError(f"{where} = {text!r} is not a channel like \"1!5\" (slot!channel)")
    slot, channel = int(match.group(1)), int(match.group(2))
    if not (1 <= slot <= SLOTS and 1 <= channel <= CARD_CHANNELS):
        raise ValueError(f"{where} = {text!r} is outside the allowed range: slot [1, {SLOTS}],"
                         f" channel [1, {CARD_CHANNELS}] (7002 with 7011 cards)")
    return slot, channel


def channel_list(text: str) -> frozenset[Channel]:
    """``(@ 1!3, 1!5:1!7)`` as the 7002 reads it (a range stays in one slot); expression
    data from the grammar, or its text. Not a list: -224 "Illegal parameter value"."""
    data = text if isinstance(text, scpi.Data) else None
    if data is not None and data.kind != "expression":
        raise scpi.ScpiSyntaxError(-224, "Illegal parameter value")
    inside = data.word if data is not None else None
    if inside is None:
        match = re.fullmatch(r"\(\s*(@.*)\)", str(text).strip())
        if match is None:
            raise scpi.ScpiSyntaxError(-224, "Illegal parameter value")
        inside = match.group(1)
    match = re.fullmatch(r"\s*@(.*)", inside)
    if match is None:
        raise scpi.ScpiSyntaxError(-224, "Illegal parameter value")
    channels = set()
    for item in match.group(1).split(","):
        try:
            parsed = [parse_channel(end) for end in item.split(":")]
        except ValueError:
            raise scpi.ScpiSyntaxError(-224, "Illegal parameter value") from None
        if len(parsed) > 2 or parsed[0][0] != parsed[-1][0] or parsed[-1][1] < parsed[0][1]:
            raise scpi.ScpiSyntaxError(-224, "Illegal parameter value")
        channels.update((parsed[0][0], c) for c in range(parsed[0][1], parsed[-1][1] + 1))
    return frozenset(channels)


def format_list(channels) -> str:
    """Channels as a 7002 channel list, ``(@1!1,1!11)``."""
    return "(@" + ",".join(f"{s}!{c}" for s, c in sorted(channels)) + ")"


def closed_reply(text: str) -> frozenset[Channel]:
    """The reply to ``:ROUTe:CLOSe:STATe?``: ``(@1!1,1!11)``, ``(@)`` when none is closed."""
    reply = text.strip()
    if not _STATE.fullmatch(reply):
        raise ValueError("not a channel list")
    return channel_list(reply) if reply != "(@)" else frozenset()


@dataclass
class State7002(Tracked):
    """What the 7002 may hold: its closed channels (None until read back) and break-before-make."""
    closed: frozenset[Channel] | None = None  # None: unknown
    bbmake: bool | None = None  # break-before-make


class Guard7002(SourceGuard):
    """What the 7002 holds after each line, and the lines that would route a device unsafely,
    refused before a byte is sent (the 7001 manual's ROUTe, SYSTem, STATus and DISPlay
    headers). ``wiring``: which channels reach which device (``SwitchWiring``)."""

    model = "Keithley 7002"
    table = [
        (":ROUTe:CLOSe", "l", "_close"), (":ROUTe:CLOSe:STATe", "q", None),
        (":ROUTe:OPEN", "l", "_open"), (":ROUTe:OPEN:ALL", "", "_open_all"),
        (":ROUTe:CONFigure:BBMake", "b", "_bbmake"),
        *[(f":ROUTe:CONFigure:{'SLOT[1]' if s == 1 else f'SLOT{s}'}:{node}", kind, None)
          for s in range(1, SLOTS + 1) for node, kind in (("STIMe", "n"), ("CTYPe", "c"))],
        (":SYSTem:ERRor[:NEXT]", "q", None), (":SYSTem:PRESet", "", "_open_all"),
        (":SYSTem:VERSion", "q", None), (":SYSTem:BEEPer[:STATe]", "b", None),
        (":STATus:PRESet", "", None), (":STATus:QUEue[:NEXT]", "q", None),
        (":STATus:OPERation[:EVENt]", "q", None), (":STATus:OPERation:ENABle", "n", None),
        (":STATus:OPERation:CONDition", "q", None), (":STATus:QUEStionable[:EVENt]", "q", None),
        (":STATus:QUEStionable:ENABle", "n", None),
        (":STATus:QUEStionable:CONDition", "q", None),
        (":DISPlay:ENABle", "b", None),
    ]
    readback = [("closed", ":ROUT:CLOS:STAT?", closed_reply),
                ("bbmake", ":ROUT:CONF:BBM?", flag_reply)]
    read_only = frozenset({"closed"})

    def __init__(self, wiring, limits: Callable[[], SafetyLimits] = SafetyLimits) -> None:
        self.wiring = wiring
        super().__init__(limits)

    def unknown_state(self) -> State7002:
        return State7002()

    def reset_state(self) -> State7002:
        """*RST and :SYSTem:PRESet open every channel (section 4, ROUTe); break-before-make
        on."""
        return State7002(frozenset(), True)

    # -- the handlers ------------------------------------------------------------------------
    def _close(self, state: State7002, unit: scpi.Unit) -> None:
        channels = channel_list(unit.data[0])
        if state.closed is None:
            raise LimitError(f"{self.model}: {unit.text!r} refused: the closed channels are "
                             "unknown (send *RST or :ROUT:OPEN ALL first)")
        new = state.closed | channels
        unwired = sorted(new - set(self.wiring.owner))
        if unwired:
            raise LimitError(f"{self.model}: {unit.text!r} refused: channel "
                             f"{unwired[0][0]}!{unwired[0][1]} is wired to no device in the "
                             "lab file")
        devices = self.wiring.touched(new)
        if len(devices) > 1:
            raise LimitError(f"{self.model}: {unit.text!r} refused: it would route devices "
                             f"{', '.join(map(str, devices))} at once (one device at a time)")
        if False in self.possible("bbmake"):
            raise LimitError(f"{self.model}: {unit.text!r} refused: break-before-make may be "
                             "off (send :ROUT:CONF:BBM ON first)")
        self._moves(lambda held: held | channels, unit.text)
        self.derived("closed", "closed")
        state.closed = new

    def _open(self, state: State7002, unit: scpi.Unit) -> None:
        data = unit.data[0]
        if data.kind == "char":
            if data.word != "ALL":
                raise scpi.ScpiSyntaxError(-224, "Illegal parameter value")
            self._open_all(state, unit)
            return
        channels = channel_list(data)
        self._moves(lambda held: held - channels, unit.text)
        self.derived("closed", "closed")
        state.closed = None if state.closed is None else state.closed - channels

    def _open_all(self, state: State7002, unit: scpi.Unit) -> None:
        self._moves(lambda held: frozenset(), unit.text)
        state.closed = frozenset()

    def _reset(self, state: State7002) -> None:
        self._moves(lambda held: frozenset(), "*RST")
        super()._reset(state)

    def _bbmake(self, state: State7002, unit: scpi.Unit) -> None:
        if not scpi.boolean(unit.data[0]):
            raise LimitError(f"{self.model}: {unit.text!r} refused: make-before-break can "
                             "connect two devices at once")
        state.bbmake = True

    def _moves(self, result: Callable[[frozenset], frozenset], text: str) -> None:
        """Refuse a unit that may move a relay (on any closed set the 7002 may hold) while a
        source may drive current: contacts switched hot wear, and a relay closed onto a
        live source hands a device an untimed pulse."""
        if all(held is not None and result(held) == held for held in self.possible("closed")):
            return
        interlock = self.picture.interlock
        why = interlock() if interlock is not None else None
        if why:
            raise LimitError(f"{self.model}: {text!r} refused: {why} (a relay moved under "
                             "current switches hot)")


# -- the route: the 7002's picture as the 6221's ceiling, the 6221's as the 7002's interlock -
class Route:
    """Which device the 6221 reaches, from the 7002's picture; and whether the 6221 may
    drive current, from its own."""

    def __init__(self, wiring) -> None:
        self.wiring = wiring
        self.switch: Guard7002 | None = None
        self.source: SourceGuard | None = None
        self.meter = None  # the 2000's guard: its test current reaches the routed device

    def link_source(self, guard: SourceGuard) -> None:
        """The 6221 is connected: its limits are lowered to the routed device's (this
        route becomes its picture's ceiling), and the two pictures share one lock."""
        self.source = guard
        guard.picture.ceiling = self
        self._share_lock()

    def link_meter(self, guard) -> None:
        """The 2000 reads the routed device: its ohms test current is held to that device's
        read limit, and no relay moves while it may drive one (``k2000``)."""
        self.meter = guard
        guard.picture.ceiling = self
        self._share_lock()

    def link_switch(self, guard: Guard7002) -> None:
        """The 7002 is connected: a relay may move only while the 6221 and the 2000 can
        drive no current (this route's ``source_live`` becomes its picture's interlock)."""
        self.switch = guard
        guard.picture.interlock = self.source_live
        self._share_lock()

    def _share_lock(self) -> None:
        """One lock for both pictures: a check on one reads (and may ask) the other."""
        if self.source is not None and self.switch is not None:
            self.switch.picture.lock = self.source.picture.lock
        if self.meter is not None and self.switch is not None:
            self.meter.picture.lock = self.switch.picture.lock

    # -- the ceiling ------------------------------------------------------------------------
    def routed(self) -> tuple[int | None, str | None]:
        """(the device routed on every closed set the 7002 may hold, None) or (None, why
        no one device is)."""
        if self.switch is None:
            return None, "the switch system is not connected"
        held = self.switch.picture.possible("closed")
        if any(closed is None for closed in held):
            return None, "the switch system's closed channels are unknown"
        devices = set()
        for index, closed in enumerate(held):
            problem = self.wiring.route_problem(closed)
            if problem is not None:
                return None, problem if index == 0 else \
                    f"{problem} on a route the 7002 may still hold (not yet read back)"
            devices.add(self.wiring.routed(closed))
        if len(devices) > 1:
            return None, (f"devices {', '.join(map(str, sorted(devices)))} may be routed (the "
                          "7002's route not yet read back)")
        return devices.pop(), None

    def __call__(self, limits: SafetyLimits) -> SafetyLimits:
        """``limits`` lowered to the routed device's own; 1 nA when no one device is."""
        device, problem = self.routed()
        if problem is not None:
            return dataclasses.replace(
                limits, max_pulse_current=min(limits.max_pulse_current, UNROUTED_CURRENT),
                max_read_current=min(limits.max_read_current, UNROUTED_CURRENT))
        return self.wiring.device_limits(device, limits)

    def confirm(self) -> bool:
        """Ask the 7002 which channels it holds if the route is uncertain; True if asked."""
        switch = self.switch
        if switch is None or not switch.can_ask():
            return False
        held = switch.picture.possible("closed")
        if len(held) == 1 and held[0] is not None:
            return False
        switch.confirm()
        return True

    def explained(self, err: LimitError) -> LimitError:
        """A refusal under the route's limits, saying why no device is routed."""
        _, problem = self.routed()
        if problem is None:
            return err
        return type(err)(f"{err}; {problem}, so nothing above {UNROUTED_CURRENT:g} A is sent")

    # -- the interlock ----------------------------------------------------------------------
    def source_live(self) -> str | None:
        """Why the 6221 may drive current now, or None once the instrument has said it
        cannot: its output off (OUTP? read back) and no waveform, sweep or delta mode armed
        (confirmed by *ESR?, a waveform's end by *OPC?). Asked of the 6221 when uncertain:
        an answer also proves it has acted on every line before (a write returns before
        the instrument acts on it, and the 7002 would act on its own line first)."""
        why = None
        for guard, live in ((self.source, _live), (self.meter, _testing)):
            if guard is None:
                continue
            why = live(guard)
            if why is not None and guard.can_ask():
                guard.confirm()
                why = live(guard)
            if why is not None:
                return why
        return why


def _testing(meter) -> str | None:
    """Why the 2000 may drive a test current (an ohms, continuity or diode function)."""
    possible = meter.picture.possible
    if any(meter.test_current(f, possible)[0] > 0.0 for f in possible("function")):
        return "the 2000 may drive its ohms test current"
    return None


def _live(source: SourceGuard) -> str | None:
    possible = source.picture.possible
    if any(on is not False for on in possible("output")):
        return "the 6221's output may be on"
    if any(armed is not False for armed in possible("wave_armed")):
        return "a 6221 waveform may be armed or playing"
    if any(armed is not False for armed in possible("sweep_armed")):
        return "a 6221 sweep may be armed"
    if any(mode != "" for mode in possible("armed_mode")):
        return "a 6221 delta mode may be armed"
    return None
