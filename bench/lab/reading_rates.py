"""The emulated Keithley 2000's reading rate per NPLC at 50 and 60 Hz beside its data sheet.

Model 2000 data sheet, DC operating characteristics (note 2: speeds are for 60 Hz; note 8:
1 PLC is 16.67 ms at 60 Hz, 20 ms at 50 Hz): 10 PLC 5/s, 1 PLC 50/s, 0.1 PLC 500/s,
0.04 PLC 1000/s, 0.01 PLC 2000/s (autozero off), 1 PLC with autozero 30/s. Each rate is
measured on the emulator's virtual clock (a burst of readings into memory, SAMPle:COUNt,
the bus's cost of the command taken off) for a nominal unit and for 20 drawn units (their
spread: simulators/lab/units.py).

The Keithley 2400 beside it: its source-delay-measure cycle (User's Manual Appendix A:
each A/D conversion NPLC/f + 185 us; with a static source 100 us trigger latency and one
conversion per function with autozero off (Case VI), 500 us and the two reference phases
with it on (Case V)), measured the same way (TRIGger:COUNt readings of one :READ?).

    python bench/lab/reading_rates.py [--readings 100] [--draws 20]
"""

from __future__ import annotations

import argparse

from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k2000 import Keithley2000Emulator
from simulators.lab.k2400 import Keithley2400Emulator
from simulators.lab.units import draw_unit, nominal_unit

SHEET = [(10, False, 5), (1, False, 50), (0.1, False, 500), (0.04, False, 1000),
         (0.01, False, 2000), (1, True, 30)]  # NPLC, autozero, readings/s at 60 Hz
BEFORE = {(10, False): 6.0, (1, False): 59.6, (0.1, False): 577}  # issue 25: 60 Hz, old


def rate(unit, hertz: float, nplc: float, autozero: bool, readings: int) -> float:
    """Readings per second into memory: one :INIT of ``readings`` samples, timed."""
    meter = Keithley2000Emulator(build_chip(1, 0.5e-6, 0), LabClock(line_frequency=hertz))
    meter.unit = unit
    for line in (f":SENS:VOLT:NPLC {nplc}", f":SYST:AZER {int(autozero)}",
                 f":SAMP:COUN {readings}"):
        meter.handle(line)
    start = meter.clock.seconds
    meter.handle(":INIT")
    bus = meter.clock.bus_latency + meter.clock.transfer(len(":INIT") + 1)
    return readings / (meter.clock.seconds - start - bus)


def rate_2400(hertz: float, nplc: float, autozero: bool, functions: int,
              readings: int) -> float:
    """A 2400's readings per second, output on, one fixed level (a static source)."""
    meter = Keithley2400Emulator(build_chip(1, 0.5e-6, 0), LabClock(line_frequency=hertz))
    sense = "'CURR'" if functions == 1 else "'CURR','VOLT'"
    for line in ("*RST", f":SYST:LFR {hertz:g}", f":SYST:AZER {'ON' if autozero else 'OFF'}",
                 ":SENS:FUNC:OFF:ALL", f":SENS:FUNC {sense}", f":SENS:CURR:NPLC {nplc}",
                 f":TRIG:COUN {readings}", ":OUTP ON"):
        meter.handle(line)
    start = meter.clock.seconds
    meter.handle(":READ?")  # (the 2400's emulator charges its bus latency, not its bytes)
    return readings / (meter.clock.seconds - start - meter.clock.bus_latency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=100)
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()
    units = [draw_unit("2000", 1_000_000 + k) for k in range(args.draws)]
    print(f"{'NPLC':>5} {'autozero':>8} {'sheet 60 Hz':>11} {'before':>7} "
          f"{'60 Hz':>7} {'50 Hz':>7}  {args.draws} drawn units, 60 Hz (50 Hz)")
    for nplc, autozero, sheet in SHEET:
        nominal = [rate(nominal_unit("2000"), hz, nplc, autozero, args.readings)
                   for hz in (60.0, 50.0)]
        spread = {hz: [rate(u, hz, nplc, autozero, args.readings) for u in units]
                  for hz in (60.0, 50.0)}
        before = BEFORE.get((nplc, autozero))
        print(f"{nplc:>5g} {'on' if autozero else 'off':>8} {sheet:>11g} "
              f"{'' if before is None else f'{before:g}':>7} {nominal[0]:>7.4g} "
              f"{nominal[1]:>7.4g}  {min(spread[60.0]):.4g}-{max(spread[60.0]):.4g} "
              f"({min(spread[50.0]):.4g}-{max(spread[50.0]):.4g})")
    print("\nKeithley 2400, static source (Appendix A), readings/s: 60 Hz, 50 Hz")
    for nplc in (0.01, 0.1, 1.0, 10.0):
        for autozero, functions in ((False, 1), (True, 2)):
            rates = [rate_2400(hz, nplc, autozero, functions, args.readings)
                     for hz in (60.0, 50.0)]
            print(f"{nplc:>5g} PLC, autozero {'on ' if autozero else 'off'}, {functions} "
                  f"function{'s' if functions > 1 else ' '}: {rates[0]:>7.4g} {rates[1]:>7.4g}")


if __name__ == "__main__":
    main()
