"""Lab seconds per reset-write-read cycle on the virtual lab's clock (bus latency and bytes
per transaction, pulse widths, the 2000's reading time, deliberate waits).

Paper 002's settings (Fig. 2a): 100 us pulses, 50 uA reads integrated for the 2000's longest
aperture (10 PLC, with autozero), 2 s between pulses; against the fastest our drivers allow
(0.01 PLC, autozero off, no wait), both software-timed with one SCPI exchange per step.

    python bench/lab/lab_cycle.py [--cycles 20] [--bus gpib|usb|lan]
"""

from __future__ import annotations

import argparse

from hil.session.lab import connect_virtual
from protocols.cycle import CycleSettings, ResetWriteRead
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.server import VirtualLab
from simulators.lab.units import K2000Times, nominal_unit

SETTINGS = {
    "paper 002 (10 PLC + autozero, 2 s interval)": CycleSettings(read_nplc=10, interval=2.0),
    "fastest software-timed (0.01 PLC, no autozero)": CycleSettings(read_nplc=0.01,
                                                                    autozero=False),
}


def lab_seconds_per_cycle(settings: CycleSettings, cycles: int, bus: str = "gpib") -> float:
    clock = LabClock.for_bus(bus)
    with VirtualLab(build_chip(4, 0.5e-6, 0), clock, units="nominal") as virtual, \
            connect_virtual(lab=virtual) as lab:
        rwr = ResetWriteRead(lab, settings)
        rwr.calibrate()
        start = clock.now()
        for _ in range(cycles):
            rwr.cycle(0.3e-3)
        return (clock.now() - start) / cycles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--bus", default="gpib", choices=("gpib", "usb", "lan"))
    args = parser.parse_args()
    clock = LabClock.for_bus(args.bus)
    print(f"bus {args.bus}: {clock.bus_latency * 1e3:g} ms per transaction, 50 Hz line, "
          f"{args.cycles} cycles each")
    results = {}
    for name, settings in SETTINGS.items():
        results[name] = lab_seconds_per_cycle(settings, args.cycles, args.bus)
        reading = K2000Times(nominal_unit("2000"), clock.line_frequency).reading(
            settings.read_nplc, settings.autozero)  # a nominal unit: the data sheet's
        floor = settings.reset_width + settings.write_width + 2 * reading
        print(f"{name:<48} {results[name]:8.4f} lab s/cycle (pulses + two readings "
              f"{floor:.4f} s)")
    paper, fast = results.values()
    print(f"speed-up {paper / fast:.0f}x; one epoch of paper 002's 16-image experiment "
          f"(6,400 cycles): {paper * 6400 / 3600:.1f} h vs {fast * 6400 / 60:.1f} min")


if __name__ == "__main__":
    main()
