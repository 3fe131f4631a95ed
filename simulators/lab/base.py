"""The common part of the virtual lab's emulators: chip, clock, bus cost and settings."""

from __future__ import annotations

from simulators.lab.chip import Chip
from simulators.lab.clock import LabClock
from simulators.lab.scpi import ScpiInstrument


class LabInstrument(ScpiInstrument):
    def __init__(self, chip: Chip, clock: LabClock) -> None:
        self.chip = chip
        self.clock = clock
        super().__init__()

    def handle(self, line: str) -> str | bytes | None:
        """One line over the bus: the transaction's latency and the bytes both ways (a
        binary reply costs its bytes, header included)."""
        self.clock.advance(self.clock.bus_latency + self.clock.transfer(len(line) + 1))
        reply = super().handle(line)
        if reply is not None:
            self.clock.advance(self.clock.transfer(len(reply) + 1))
        return reply

    def _setting(self, name: str, parse, fmt_out=str):
        def handler(args: str, query: bool):
            if query:
                return fmt_out(getattr(self, name))
            self._set(name, parse(args))
            return None

        return handler

    def _set(self, name: str, value) -> None:
        setattr(self, name, value)

    def _generic(self, key: str):
        """A setting kept verbatim (accepted, echoed back, no effect on the physics)."""

        def handler(args: str, query: bool):
            if query:
                return self.generic.get(key, "0")
            self.generic[key] = args
            return None

        return handler

    def power_on_reset(self) -> None:
        """Fault injection: the instrument reset itself (power glitch): defaults, PON set."""
        self.reset()
        self.errors.clear()
        self.esr = 128
