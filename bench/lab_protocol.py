"""Lab seconds per reset-write-read cycle, per route, on the virtual lab's clock, against
the fastest cycle the instruments allow on that route (its floor) and paper 002's protocol
(paper 002, Islam et al., Hardware in Loop Learning with Spin Stochastic Neurons: 100 us
pulses, 10 PLC reads, 2 s between pulses, about 4.8 s per cycle).

Floors, from the same data-sheet numbers the emulators charge (simulators/lab/k2000.py,
simulators/lab/clock.py):

- software-timed: the pulses, the waits, two readings (each the 2000's reading period at
  the NPLC, autozero doubling it) and two bus transactions (each reading must come back);
- hardware, one current (6221 phase marker -> 2000 EXT TRIG, one reading per cycle): the
  longer of pulses + integration and one external trigger period (1/400 s), plus one
  reading back over the bus in the 2000's most compact format (SREal: "#0" + 4 bytes);
- hardware, a current per cycle (one waveform, a burst of readings): the longer of pulses +
  integration and one burst reading (1/2000 s), plus one SREal reading back and the write
  level (nine characters) uploaded.

An epoch of paper 002's experiment is 16 images x 100 steps x 4 neurons = 6,400 cycles.

    python bench/lab_protocol.py [--batch 1000] [--bus gpib|usb|lan]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from lab_cycle import SETTINGS, lab_seconds_per_cycle  # noqa: E402

from hil.session.lab import connect_virtual  # noqa: E402
from protocols.cycle import (  # noqa: E402
    BURST_READING_RATE,
    EXTERNAL_TRIGGER_RATE,
    FAST_NPLC,
    CycleSettings,
    ResetWriteRead,
)
from simulators.lab.chip import build_chip  # noqa: E402
from simulators.lab.clock import SREAL_READING_BYTES, LabClock  # noqa: E402
from simulators.lab.k2000 import TIMING  # noqa: E402
from simulators.lab.server import VirtualLab  # noqa: E402

EPOCH_CYCLES = 16 * 100 * 4
PAPER_CYCLE = 4.8  # s, paper 002's reset-read-write-read cycle (LAB-FACTS.md)
WRITE_LEVEL_BYTES = 9  # "0.541667," : one write level in an upload, six digits


def software_floor(s: CycleSettings, clock: LabClock) -> float:
    reading = TIMING.reading(s.read_nplc, clock.line_frequency, s.autozero)
    return s.reset_width + s.write_width + 2 * s.interval + 2 * (reading + clock.bus_latency)


def hardware_floor(s: CycleSettings, clock: LabClock, one_current: bool) -> float:
    integration = FAST_NPLC / clock.line_frequency
    pace = 1 / EXTERNAL_TRIGGER_RATE if one_current else max(1 / BURST_READING_RATE,
                                                             integration)
    transfer = SREAL_READING_BYTES + (0 if one_current else WRITE_LEVEL_BYTES)
    return max(s.reset_width + s.write_width + integration, pace) + clock.transfer(transfer)


def hardware_seconds_per_cycle(settings: CycleSettings, batch: int, bus: str,
                               one_current: bool) -> float:
    """Lab seconds per cycle of ``batch`` hardware-timed cycles, the reset check after
    the batch included: at one write current (sweeps) or a new one every cycle (training)."""
    clock = LabClock.for_bus(bus)
    with VirtualLab(build_chip(4, 0.5e-6, 0), clock) as virtual, \
            connect_virtual(lab=virtual) as lab:
        rwr = ResetWriteRead(lab, settings, timing="hardware")
        rwr.calibrate()
        currents = np.full(batch, 0.3e-3) if one_current else np.linspace(0.25e-3, 0.35e-3,
                                                                           batch)
        start = clock.now()
        for _ in rwr.batches(currents):
            pass
        if rwr.missed_batches:
            raise RuntimeError(f"{rwr.missed_batches} batches missed triggers")
        return (clock.now() - start) / batch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1000, help="cycles per hardware batch")
    parser.add_argument("--cycles", type=int, default=20, help="software-timed cycles")
    parser.add_argument("--bus", default="gpib", choices=("gpib", "usb", "lan"))
    args = parser.parse_args()
    clock = LabClock.for_bus(args.bus)
    paper_settings, fast_settings = SETTINGS.values()
    hardware_paper = CycleSettings()  # paper 002's 100 us pulses, no wait (reads: 0.01 PLC)
    hardware_fast = CycleSettings(reset_width=50e-6, write_width=50e-6, reset_current=-0.7e-3)
    rows = [
        ("software-timed", "paper 002: 10 PLC + autozero, 2 s waits",
         lab_seconds_per_cycle(paper_settings, args.cycles, args.bus),
         software_floor(paper_settings, clock)),
        ("software-timed", "fastest: 0.01 PLC, no autozero, no wait",
         lab_seconds_per_cycle(fast_settings, args.cycles, args.bus),
         software_floor(fast_settings, clock)),
    ]
    for route, one_current in (("hardware, one current (EXT TRIG)", True),
                               ("hardware, a current per cycle (burst)", False)):
        for label, settings in (("paper 002's 100 us pulses", hardware_paper),
                                ("50 us pulses", hardware_fast)):
            rows.append((route, f"{label}, {args.batch}-cycle batch",
                         hardware_seconds_per_cycle(settings, args.batch, args.bus,
                                                    one_current),
                         hardware_floor(settings, clock, one_current)))
    print(f"bus {args.bus}: {clock.bus_latency * 1e3:g} ms per transaction, "
          f"{clock.byte_time * 1e6:g} us per byte; {clock.line_frequency:g} Hz line")
    print(f"{'route':<38} {'settings':<44} {'floor':>9} {'per cycle':>10} {'per epoch':>9} "
          f"{'x floor':>7} {'vs paper':>8}")
    for route, label, seconds, floor in rows:
        if seconds < floor * (1 - 1e-9):
            raise AssertionError(f"{route} ({label}) ran faster than its floor")
        epoch = seconds * EPOCH_CYCLES
        epoch_text = f"{epoch / 3600:.2f} h" if epoch > 3600 else f"{epoch:.1f} s"
        print(f"{route:<38} {label:<44} {floor * 1e3:>6.3f} ms {seconds * 1e3:>7.3f} ms "
              f"{epoch_text:>9} {seconds / floor:>7.2f} {PAPER_CYCLE / seconds:>7.0f}x")


if __name__ == "__main__":
    main()
