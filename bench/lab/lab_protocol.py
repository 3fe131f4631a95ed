"""Lab seconds per reset-write-read cycle, per route, on benches of emulated units drawn across
the data sheets' spread (simulators/lab/units.py), against the fastest cycle those very units
allow on that route (its floor) and paper 002's protocol (paper 002, Islam et al., Hardware
in Loop Learning with Spin Stochastic Neurons: 100 us pulses, reset-read-write-read with
10 PLC reads and 2 s between pulses, about 4.8 s per cycle).

Two ratios to the paper: **like for like** (the paper's protocol, two reads per cycle,
with faster settings: 0.01 PLC reads, no waits) and **protocol change** (one read per cycle,
the reset checked once per batch). Floors, from each drawn unit's own figures:

- software-timed: the pulses, the waits, two readings (the unit's reading period at the
  NPLC) and two bus transactions;
- hardware, one current (6221 phase marker -> 2000 EXT TRIG, one reading per cycle): the
  longer of pulses + integration and the unit's shortest external-trigger interval, plus
  one reading back in SREal ("#0" + 4 bytes);
- hardware burst (a current per cycle): one reading period of the unit per read (one or
  two per cycle), plus each reading back in SREal and the write level uploaded (9 bytes).

A burst's set-up on a new lab (the reading period measured against the 6221, once) is
reported apart; the per-cycle figures are one batch of ``--batch`` cycles, its probes and
reset checks included. An epoch of paper 002's experiment is 16 images x 100 steps x 4
neurons = 6,400 cycles.

    python bench/lab/lab_protocol.py [--batch 1000] [--draws 20] [--bus gpib|usb|lan]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from hil.session.lab import connect_virtual
from protocols.cycle import FAST_NPLC, CycleSettings, ResetWriteRead
from simulators.lab.chip import build_chip
from simulators.lab.clock import SREAL_READING_BYTES, LabClock
from simulators.lab.server import VirtualLab

EPOCH_CYCLES = 16 * 100 * 4
PAPER_CYCLE = 4.8  # s, paper 002's reset-read-write-read cycle (LAB-FACTS.md)
WRITE_LEVEL_BYTES = 9  # "0.541667," : one write level in an upload, six digits
PAPER = CycleSettings(read_nplc=10, interval=2.0)  # paper 002: 10 PLC + autozero, 2 s waits
FAST = CycleSettings(read_nplc=FAST_NPLC, autozero=False)  # the same protocol, fast reads
ROUTES = [  # name, settings, timing, reads per cycle, one current
    ("software, paper 002: 10 PLC + autozero, 2 s waits", PAPER, "software", 2, False),
    ("software, same protocol: 0.01 PLC, no waits", FAST, "software", 2, False),
    ("burst, same protocol: a read after reset and write", FAST, "hardware", 2, False),
    ("burst, one read per cycle (training)", FAST, "hardware", 1, False),
    ("one current, one read per cycle (sweeps)", FAST, "hardware", 1, True),
]
LIKE_FOR_LIKE = ROUTES[1][0], ROUTES[2][0]


def bench(units: int, hertz: float, bus: str) -> VirtualLab:
    return VirtualLab(build_chip(4, 0.5e-6, 0), LabClock.for_bus(bus, hertz), units=units)


def floor(virtual: VirtualLab, settings: CycleSettings, timing: str, reads: int,
          one_current: bool) -> float:
    """The fastest cycle these units allow on this route (module docstring)."""
    clock = virtual.clock
    meter = virtual.instruments["voltmeter"].times
    pulses = settings.reset_width + settings.write_width
    if timing == "software":
        reading = meter.reading(settings.read_nplc, settings.autozero)
        return pulses + 2 * settings.interval + 2 * (reading + clock.bus_latency)
    if one_current:
        return max(pulses + meter.integration(FAST_NPLC), meter.external_interval()) + \
            clock.transfer(SREAL_READING_BYTES)
    return reads * meter.reading(FAST_NPLC, False) + clock.transfer(
        reads * SREAL_READING_BYTES + WRITE_LEVEL_BYTES)


def seconds_per_cycle(virtual: VirtualLab, settings: CycleSettings, timing: str, reads: int,
                      one_current: bool, cycles: int) -> tuple[float, float, int]:
    """(lab s per cycle, lab s of the burst's set-up, batches refused) on a fresh lab."""
    with virtual, connect_virtual(lab=virtual) as lab:
        rwr = ResetWriteRead(lab, settings, timing=timing)
        rwr.read_after_reset = reads == 2
        rwr.calibrate()
        start = virtual.clock.now()
        if timing == "hardware" and not one_current:
            rwr.burst_clock()
        setup = virtual.clock.now() - start
        currents = np.full(cycles, 0.3e-3) if one_current else np.linspace(0.25e-3, 0.35e-3,
                                                                            cycles)
        start = virtual.clock.now()
        if timing == "software":
            for current in currents:
                rwr.cycle(current)
        else:
            for _ in rwr.batches(currents):
                pass
        return (virtual.clock.now() - start) / cycles, setup, rwr.missed_batches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1000, help="cycles per hardware batch")
    parser.add_argument("--cycles", type=int, default=20, help="software-timed cycles")
    parser.add_argument("--draws", type=int, default=20, help="benches per line frequency")
    parser.add_argument("--bus", default="gpib", choices=("gpib", "usb", "lan"))
    args = parser.parse_args()
    clock = LabClock.for_bus(args.bus)
    print(f"bus {args.bus}: {clock.bus_latency * 1e3:g} ms per transaction, "
          f"{clock.byte_time * 1e6:g} us per byte; {args.draws} benches of drawn units per "
          "line frequency (min / median / max over them)")
    for hertz in (50.0, 60.0):
        print(f"\n{hertz:g} Hz")
        print(f"{'route':<54} {'floor ms':>17} {'per cycle ms':>20} {'x floor':>15} "
              f"{'vs paper':>15} {'epoch':>8} {'refused':>7}")
        for name, settings, timing, reads, one_current in ROUTES:
            rows, setups, refused = [], [], 0
            for units in range(args.draws):
                cycles = args.cycles if timing == "software" else args.batch
                virtual = bench(units, hertz, args.bus)
                low = floor(virtual, settings, timing, reads, one_current)
                took, setup, missed = seconds_per_cycle(virtual, settings, timing, reads,
                                                        one_current, cycles)
                if took < low * (1 - 1e-9):
                    raise AssertionError(f"{name}, bench {units}: ran faster than its floor")
                rows.append((low, took))
                setups.append(setup)
                refused += missed
            lows, tooks = [r[0] for r in rows], [r[1] for r in rows]
            ratio = [t / f for f, t in rows]
            paper = [PAPER_CYCLE / t for t in tooks]
            epoch = statistics.median(tooks) * EPOCH_CYCLES
            mark = " *" if name in LIKE_FOR_LIKE else ""
            print(f"{name + mark:<54} {_span(lows, 1e3):>17} {_span(tooks, 1e3):>20} "
                  f"{_span(ratio, 1, '.2f'):>15} {_span(paper, 1, '.0f'):>15} "
                  f"{_hours(epoch):>8} {refused:>7}")
            if max(setups) > 0:
                print(f"{'':<4}set-up once per lab (the reading period measured): "
                      f"{_span(setups, 1, '.2f')} s")
    print("\n* like for like: paper 002's reset-read-write-read with faster settings")


def _span(values: list[float], scale: float, fmt: str = ".3f") -> str:
    values = sorted(v * scale for v in values)
    return "/".join(format(v, fmt) for v in (values[0], statistics.median(values),
                                            values[-1]))


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds > 3600 else f"{seconds:.1f} s"


if __name__ == "__main__":
    main()
