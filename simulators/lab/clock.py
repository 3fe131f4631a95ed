"""The virtual lab's clock and its bus: what the real instruments would have taken.

Every emulator charges its own operations (``simulators/lab/k2000.py``,
``simulators/lab/k6221.py`` each hold their timing model in one place); the bus is common:
each line costs the interface's latency plus its bytes at the interface's transfer rate, in
both directions, so a long waveform upload or a 1,024-reading buffer read-back costs what
its size costs.

The Model 2000 speaks GPIB or RS-232 (User's Manual, section 4 "Selecting an interface");
the 6221 adds Ethernet. No Keithley manual states a latency per transaction or a byte rate;
the figures below are typical controller figures (IEEE-488.1 handshake with a PC interface,
a USB-GPIB bridge's 1 ms USB frame, a TCP round trip on a lab LAN) and a lab file may state
its own (``[bus] latency``, ``byte_time``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# s per transaction and s per byte, per interface (typical controller figures, see above)
BUSES: dict[str, tuple[float, float]] = {
    "gpib": (1e-3, 1e-5),  # 1 ms per transaction, 100 kB/s sustained
    "usb": (1e-3, 2e-6),  # a USB-GPIB bridge or USBTMC: one 1 ms frame, 500 kB/s
    "lan": (0.5e-3, 1e-6),  # a TCP exchange on a lab LAN, 1 MB/s
}
GPIB_LATENCY, GPIB_BYTE_TIME = BUSES["gpib"]
ASCII_READING_BYTES = 16  # "+1.23456789E-04," (Model 2000 ASCII reading, FORMat:DATA ASCii)
# Model 2000 User's Manual section 5, :FORMat subsystem, Fig. 5-2 and 5-3: each reading
# conversion is the 2-byte header "#0" and the IEEE-754 value
SREAL_READING_BYTES = 2 + 4  # FORMat:DATA SREal
DREAL_READING_BYTES = 2 + 8  # FORMat:DATA DREal


@dataclass
class LabClock:
    """Virtual time (s) and the bus every line crosses."""

    seconds: float = 0.0
    bus_latency: float = GPIB_LATENCY
    line_frequency: float = 50.0
    byte_time: float = GPIB_BYTE_TIME
    # the virtual lab's wait for its emulators to finish the lines already sent to them
    settle: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def for_bus(cls, bus: str, line_frequency: float = 50.0) -> LabClock:
        """A clock at zero on the typical latency and byte time of ``bus`` (``gpib``, ``usb`` or
        ``lan``; module docstring)."""
        if bus not in BUSES:
            raise ValueError(f"bus = {bus!r} is not one of {', '.join(BUSES)}")
        latency, byte_time = BUSES[bus]
        return cls(bus_latency=latency, byte_time=byte_time, line_frequency=line_frequency)

    def now(self) -> float:
        """The time as a client sees it: after every line it has sent has been charged (a
        write returns before its emulator has handled it). Emulators use ``seconds``."""
        if self.settle is not None:
            self.settle()
        return self.seconds

    def advance(self, dt: float) -> None:
        """Charge ``dt`` seconds of virtual time (an emulator's operation)."""
        self.seconds += dt

    def until(self, instant: float) -> None:
        """Wait for an instrument that is busy until ``instant``."""
        self.seconds = max(self.seconds, instant)

    def transfer(self, characters: int) -> float:
        """Seconds to move ``characters`` bytes over the bus."""
        return characters * self.byte_time

    def reading_transfer(self, readings: int, binary: bool = False) -> float:
        """Seconds to read ``readings`` readings back (ASCII or single-precision binary,
        header included)."""
        return self.transfer(readings * (SREAL_READING_BYTES if binary
                                          else ASCII_READING_BYTES))
