"""The common part of the virtual lab's emulators: chip, clock and verbatim settings."""

from __future__ import annotations

from simulators.lab.chip import Chip, LabClock
from simulators.lab.scpi import ScpiInstrument


class LabInstrument(ScpiInstrument):
    def __init__(self, chip: Chip, clock: LabClock) -> None:
        self.chip = chip
        self.clock = clock
        super().__init__()

    def handle(self, line: str) -> str | None:
        self.clock.advance(self.clock.bus_latency)
        return super().handle(line)

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
