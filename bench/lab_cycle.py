"""Lab seconds per reset-write-read cycle on the virtual lab's clock (bus latency per
transaction, pulse widths, 2000 integration time, deliberate waits).

Paper 002's settings (Fig. 2a): 100 us pulses, 50 uA reads integrated for the 2000's longest
aperture (10 PLC, with autozero), 2 s between pulses; against the fastest our drivers allow
(0.01 PLC, autozero off, no wait), both software-timed with one SCPI exchange per step.

    python bench/lab_cycle.py [--cycles 20] [--latency 1e-3]
"""

from __future__ import annotations

import argparse

from instruments.connection import Lab
from protocols.cycle import CycleSettings, ResetWriteRead
from simulators.lab.chip import LabClock, build_chip
from simulators.lab.server import VirtualLab

SETTINGS = {
    "paper 002 (10 PLC + autozero, 2 s interval)": CycleSettings(read_nplc=10, interval=2.0),
    "fastest software-timed (0.01 PLC, no autozero)": CycleSettings(read_nplc=0.01,
                                                                    autozero=False),
}


def lab_seconds_per_cycle(settings: CycleSettings, cycles: int, latency: float) -> float:
    clock = LabClock(bus_latency=latency)
    with VirtualLab(build_chip(4, 0.5e-6, 0), clock) as virtual, Lab.virtual(lab=virtual) as lab:
        rwr = ResetWriteRead(lab, settings)
        rwr.calibrate()
        start = clock.seconds
        for _ in range(cycles):
            rwr.cycle(0.3e-3)
        return (clock.seconds - start) / cycles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1e-3, help="s per bus transaction")
    args = parser.parse_args()
    print(f"bus latency {args.latency * 1e3:g} ms per transaction, 50 Hz line, "
          f"{args.cycles} cycles each")
    results = {}
    for name, settings in SETTINGS.items():
        results[name] = lab_seconds_per_cycle(settings, args.cycles, args.latency)
        floor = settings.reset_width + settings.write_width + 2 * settings.read_nplc / 50 * (
            2 if settings.autozero else 1)
        print(f"{name:<48} {results[name]:8.4f} lab s/cycle (pulses + integration "
              f"{floor:.4f} s)")
    paper, fast = results.values()
    print(f"speed-up {paper / fast:.0f}x; one epoch of paper 002's 16-image experiment "
          f"(6,400 cycles): {paper * 6400 / 3600:.1f} h vs {fast * 6400 / 60:.1f} min")


if __name__ == "__main__":
    main()
