"""Emulator of a Keithley 7001 switch system with a card in slot 1, one channel per device.

From the Model 7001 Instruction Manual, section 4 "IEEE-488 reference": the ROUTe subsystem
(``:CLOSe <list>``, ``:CLOSe? <list>`` answering 1/0 per channel, ``:CLOSe:STATe?`` the list
of closed channels, ``:OPEN <list>|ALL``, ``:OPEN? <list>``, ``:OPEN:ALL``,
``:CONFigure:BBMake``), channel lists ``(@ slot!channel, slot!a:slot!b)`` with slots 1-2,
SYSTem and STATus, and the common commands; *RST opens every channel. Anything else queues
the manual's SCPI error (-113 "Undefined header", -222 "Parameter data out of range" for a
channel the card lacks, -224 "Illegal parameter value" for a list that is not one). The card
has as many channels as the chip has devices (slot 2 is empty): channel n (1-based) connects
device n-1 to the source and the voltmeter.
"""

from __future__ import annotations

import re

import instruments.scpi as scpi
from simulators.lab.base import StrictInstrument
from simulators.lab.strict import ERRORS_2400, Refused, _bool, _num
from simulators.lab.units import K7001Times, nominal_unit


def channel_list(data: scpi.Data, holds) -> list[tuple[int, int]]:
    """A channel list, expression program data as the grammar reads it (IEEE 488.2 7.7.7):
    ``(@ 1!3, 1!5:1!7)`` -> [(1, 3), (1, 5), (1, 6), (1, 7)]; ``holds(slot, channel)``:
    whether an installed card has that channel (else -222). Not a list: -224."""
    if not isinstance(data, scpi.Data) or data.kind != "expression":
        raise Refused(-224)
    match = re.fullmatch(r"\s*@\s*(.*?)\s*", data.word)
    if match is None:
        raise Refused(-224)
    channels: list[tuple[int, int]] = []
    for item in (i.strip() for i in match.group(1).split(",")):
        ends = [re.fullmatch(r"(\d+)\s*!\s*(\d+)", end.strip()) for end in item.split(":")]
        if not item or len(ends) > 2 or not all(ends):
            raise Refused(-224)
        (first_slot, first), (last_slot, last) = [(int(e.group(1)), int(e.group(2)))
                                                  for e in (ends[0], ends[-1])]
        if first_slot != last_slot or last < first:
            raise Refused(-224)
        for channel in range(first, last + 1):
            if not holds(first_slot, channel):
                raise Refused(-222)
            channels.append((first_slot, channel))
    return channels


class Keithley7001Emulator(StrictInstrument):
    """A 7001 switch system: ``ROUT:CLOS (@1!n)`` routes device n (1-based)."""

    errors_text = ERRORS_2400  # Model 2400 Appendix B, Table B-1 (the 7001 the same)
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 7001,1234567,B06 /A02"
    unit = nominal_unit("7001")  # the virtual lab gives each instrument its drawn unit

    def reset(self) -> None:
        self.settings = {"bbmake": True, "beeper": True, "display": True, "settling": 0.0}
        self.closed_set: set[tuple[int, int]] = set()

    @property
    def closed(self) -> int | None:
        """The routed device (0-based), or None when no device channel is closed."""
        return min(c - 1 for _, c in self.closed_set) if self.closed_set else None

    def _apply(self) -> None:
        if self.closed is not None:
            self.chip.selected = self.closed

    def holds(self, slot: int, channel: int) -> bool:
        """The card in slot 1 has a channel per device."""
        return slot == 1 and 1 <= channel <= len(self.chip.devices)

    def _switch(self, relays: set[tuple[int, int]], move: str) -> None:
        """Close or open ``relays``: a command that moves relays waits their operate time
        and then the settling time set with ROUTe:CONFigure:SLOT:STIMe
        (simulators/lab/units.py, K7001Times); one that moves none takes no time."""
        if not relays:
            return
        if move == "close":
            self.closed_set |= relays
        else:
            self.closed_set -= relays
        self.clock.advance(K7001Times(self.unit).operation(float(self.settings["settling"])))

    def _close(self, unit: scpi.Unit) -> str | None:
        channels = channel_list(self._one(unit, lambda data: data), self.holds)
        if unit.query:
            return ",".join(str(int(c in self.closed_set)) for c in channels)
        self._switch(set(channels) - self.closed_set, "close")
        return None

    def _open(self, unit: scpi.Unit) -> str | None:
        data = self._one(unit, lambda data: data)
        if unit.query:
            return ",".join(str(int(c not in self.closed_set))
                            for c in channel_list(data, self.holds))
        if data.kind == "char" and data.word == "ALL":
            self._open_all()
        else:
            self._switch(set(channel_list(data, self.holds)) & self.closed_set, "open")
        return None

    def _open_all(self) -> None:
        self._switch(set(self.closed_set), "open")

    def _closed_state(self) -> str:
        return "(@" + ",".join(f"{s}!{c}" for s, c in sorted(self.closed_set)) + ")"

    def _build_table(self):
        return [*self._mainframe_table(),
                (":ROUTe:CONFigure:SLOT[1]:STIMe", self._setting("settling",
                                                                _num(0, 99999.999, 0.0)))]

    def _mainframe_table(self):
        """What the mainframe answers whatever its cards (section 4: the ROUTe channel
        commands and CONFigure:BBMake, SYSTem, STATus, DISPlay)."""
        s = self._setting
        status = self._status_register()
        return [
            (":ROUTe:CLOSe", self._close),
            (":ROUTe:CLOSe:STATe", self._query_only(self._closed_state)),
            (":ROUTe:OPEN", self._open),
            (":ROUTe:OPEN:ALL", self._event(self._open_all)),
            (":ROUTe:CONFigure:BBMake", s("bbmake", _bool)),
            (":SYSTem:ERRor[:NEXT]", self._system_error("NEXT")),
            (":SYSTem:PRESet", self._event(self.reset)),
            (":SYSTem:VERSion", self._query_only(lambda: "1991.0")),
            (":SYSTem:BEEPer[:STATe]", s("beeper", _bool)),
            # event and condition registers are read, enable registers set and read
            (":STATus:OPERation[:EVENt]", self._query_only(lambda: "0")),
            (":STATus:OPERation:ENABle", status),
            (":STATus:OPERation:CONDition", self._query_only(lambda: "0")),
            (":STATus:QUEStionable[:EVENt]", self._query_only(lambda: "0")),
            (":STATus:QUEStionable:ENABle", status),
            (":STATus:QUEStionable:CONDition", self._query_only(lambda: "0")),
            (":STATus:PRESet", self._event(lambda: None)),
            (":STATus:QUEue[:NEXT]", self._system_error("NEXT")),
            (":DISPlay:ENABle", s("display", _bool)),
        ]
