"""What the emulated devices truly did, reading by reading: the ground truth a protocol's
verdicts are checked against.

Installed on a virtual lab, it records every pulse the 6221 drove through a device (when,
which device, what current, the state it left) and every reading the 2000 took into its
buffer (its integration window, the routed device, the value). A protocol's verdict names
its cycle's write current and the R_AHE it read; the oracle finds that reading (in order,
by its value as the 2000's single-precision format carries it) and checks that the last
pulse before it was that very write on that device, that no pulse overlapped it, and that
the verdict is the state the write left (a write too weak to count as a pulse, as a
coarse search's first currents are: that the pulse before it was a reset of that device).
A batch the protocol refused and played again is simply never named by a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulators.lab.server import VirtualLab

WEAK = 1.01  # a write this close to the threshold may drive just below it: not recorded


@dataclass(frozen=True)
class Pulse:
    """One pulse the 6221 drove through a device: when, which device, what current, the state it
    left."""
    start: float
    end: float
    device: int
    current: float
    switched: bool  # the device's state after the pulse is +1


@dataclass(frozen=True)
class Reading:
    """One reading the 2000 took into its buffer: its integration window, the device, the value
    as FORMat SREal carries it."""
    start: float
    end: float
    device: int
    value: np.float32  # as the 2000 sends it (FORMat SREal)


@dataclass
class Oracle:
    """The ground truth a protocol's verdicts are checked against: every pulse and reading of the
    virtual lab (module docstring)."""
    lab: VirtualLab
    threshold: float = 100e-6  # A: above the read limit, a reset or a write
    pulses: list[Pulse] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)

    def __post_init__(self) -> None:
        chip, meter = self.lab.chip, self.lab.instruments["voltmeter"]
        drive, finish = chip.drive, meter._finish

        def recorded_drive(current: float, duration: float) -> None:
            start = self.lab.clock.seconds  # the 6221 charges the clock after the point
            drive(current, duration)
            if abs(current) > self.threshold:
                self.pulses.append(Pulse(start, start + duration, chip.selected, current,
                                         bool(chip.states[chip.selected] > 0)))

        def recorded_finish(window: list[float]) -> None:
            finish(window)
            self.readings.append(Reading(window[0], window[1], chip.selected,
                                         np.float32(meter.readings[-1])))

        chip.drive = recorded_drive
        meter._finish = recorded_finish

    def wrong(self, device: int, verdicts, read_current: float) -> int:
        """How many of ``verdicts`` (objects with ``write_current``, ``r_after_write``,
        ``switched``, in the order a protocol returned them for ``device``) were not read
        in their own cycle: found no reading of that value, or a reading that followed
        another pulse, overlapped one, or disagrees with the state its write left."""
        starts = np.array([p.start for p in self.pulses])
        ends = np.array([p.end for p in self.pulses])  # in time order, one after another
        wrong, position = 0, 0
        for verdict in verdicts:
            value = np.float32(verdict.r_after_write * read_current)
            while position < len(self.readings) and not (
                    self.readings[position].device == device
                    and self.readings[position].value == value):
                position += 1
            if position == len(self.readings):
                return wrong + 1  # nothing more can be found
            reading = self.readings[position]
            position += 1
            last = int(np.searchsorted(ends, reading.start + 1e-12, side="right")) - 1
            overlap = last + 1 < len(starts) and starts[last + 1] < reading.end - 1e-12
            pulse = self.pulses[last] if last >= 0 else None
            own = abs(verdict.write_current) <= WEAK * self.threshold or (  # too weak to
                pulse is not None and np.isclose(pulse.current, verdict.write_current,
                                                 rtol=1e-9))  # record: its reset is last
            if pulse is None or overlap or pulse.device != device or not own or \
                    pulse.switched != verdict.switched:
                wrong += 1
        return wrong
