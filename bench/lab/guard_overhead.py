"""What the safety guard costs: its time per checked line, and its share of a pulse and of a
1,000-cycle waveform upload sent through the driver to the virtual lab (measured side by side
in one run, so machine load cancels in the ratios).

    python bench/lab/guard_overhead.py
"""

from __future__ import annotations

import os
import time

from hil.session.lab import connect_virtual
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab


def timed_guard(guard):
    """Wrap ``guard.check`` to add up the time it takes."""
    spent = [0.0]
    check = guard.check

    def timed(text: str) -> None:
        start = time.perf_counter()
        try:
            check(text)
        finally:
            spent[0] += time.perf_counter() - start

    guard.check = timed
    return spent


def main() -> None:
    with VirtualLab(build_chip(1, 0.5e-6, 0)) as virtual, connect_virtual(lab=virtual) as lab:
        pulse = lab["pulse"]
        spent = timed_guard(pulse.guard)
        pulse.pulse(0.5e-3, 100e-6)  # defines the waveform once
        lines = len(virtual.instruments["pulse"].log)
        spent[0], start = 0.0, time.perf_counter()
        for _ in range(200):
            pulse.pulse(0.5e-3, 100e-6)
        total = time.perf_counter() - start
        per_line = spent[0] / (len(virtual.instruments["pulse"].log) - lines)
        print(f"pulse(): {total / 200 * 1e3:.2f} ms each, guard {spent[0] / total:.1%} of it "
              f"({per_line * 1e6:.0f} us per line)")
        spent[0], start = 0.0, time.perf_counter()
        pulse.play_cycle_list(-0.6e-3, [0.3e-3] * 1000, 50e-6, 100e-6, points=8, read_points=3,
                              lead_points=5)
        total = time.perf_counter() - start
        print(f"1,000-cycle list (8,000 ARB points): {total:.2f} s, guard {spent[0] / total:.1%}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
