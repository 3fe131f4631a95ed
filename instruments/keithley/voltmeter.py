"""What the reset-write-read cycle asks of the voltmeter reading the Hall voltage.

Every voltmeter driver (the 2000's ``HallVoltmeter``, the 2182A's ``Nanovoltmeter``) offers
the read path: ``voltage_nplc`` and ``autozero_enabled`` (the integration the reads use),
``line_frequency()`` (50 or 60 Hz, what an NPLC counts in), ``read_voltage()`` (one
reading), ``check_errors()`` and ``power_on_flag()``. The hardware-timed routes need more:
a buffer armed on EXTernal triggers and read back whole (:class:`TriggeredBuffer`), which
only the 2000's driver offers; a driver without it says why in ``no_triggered_buffer``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class TriggeredBuffer(Protocol):
    """The capability the hardware-timed routes read (Model 2000 User's Manual, trigger
    model Fig. 4-11 and TRACe): readings taken on EXT TRIG into the buffer, read back."""

    def arm_external_buffer(self, triggers: int, samples: int = 1,
                            delay: float = 0.0) -> None:
        """Wait for ``triggers`` pulses on the trigger link, each followed by ``samples``
        readings ``delay`` s apart, every reading into the buffer."""

    def buffer_readings(self) -> list[float]:
        """Every reading the buffer holds (V); fewer than armed for means missed triggers."""

    def immediate_triggering(self) -> None:
        """Back to one immediate reading per read (the buffer off)."""


def triggered_buffer_missing(meter: object) -> str | None:
    """Why ``meter``'s driver cannot serve the hardware-timed routes, or None when it can."""
    if isinstance(meter, TriggeredBuffer):
        return None
    return getattr(meter, "no_triggered_buffer",
                   f"the voltmeter's driver ({type(meter).__name__}) has no triggered buffer")
