"""Emulator of a Keithley 7001-style switch card."""

from __future__ import annotations

import re

from simulators.lab.base import LabInstrument
from simulators.lab.scpi import ScpiError


class Keithley7001Emulator(LabInstrument):
    """A 7001-style switch card: ``ROUT:CLOS (@1!n)`` routes device n (1-based) to the source
    and the voltmeter; one channel at a time (break before make)."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 7001,1234567,B06 /A02"

    def reset(self) -> None:
        self.closed: int | None = None

    def _close(self, args: str, query: bool):
        if query:
            return "(@)" if self.closed is None else f"(@1!{self.closed + 1})"
        match = re.fullmatch(r"\(@\s*1!(\d+)\s*\)", args.strip())
        if not match:
            raise ScpiError(-104, args)
        channel = int(match.group(1))
        if not 1 <= channel <= len(self.chip.devices):
            raise ScpiError(-222, f"channel {channel} outside 1-{len(self.chip.devices)}")
        self.closed = channel - 1
        self.chip.selected = self.closed
        return None

    def _open(self, args: str, query: bool):
        self.closed = None
        return None

    def commands(self):
        return {":ROUTe:CLOSe": self._close, ":ROUTe:OPEN[:ALL]": self._open,
                ":ROUTe:OPEN:ALL": self._open}
