"""Every emulated instrument is one unit, drawn by serial number, and what its operations
cost on the virtual clock.

Data sheets print typical or maximum figures; a real box differs from them and from its
neighbour on the bench. Each emulated instrument is a :class:`Unit`: its serial number
seeds the draws below, so the same serial is the same box in every run. Where a sheet
gives a figure, a unit is drawn around it; where the sheets are silent, the spread is a
stated conservative one (marked *stated*). A protocol that only works at the nominal
figures fails on some draw; that is what the spread is for.

Keithley 2000 (Model 2000 data sheet, "DC operating characteristics" and "DC system
speeds", notes 2-8; Model 2000 User's Manual section 3, "Rate"):

- readings per second at 60 Hz: 10 PLC 5, 1 PLC 50, 0.1 PLC 500, 0.04 PLC 1000,
  0.01 PLC 2000 (sample count 1024, autozero off; note 2: "speeds are for 60 Hz
  operation"); 1 PLC with autozero on 30. 1 PLC is 16.67 ms at 60 Hz and 20 ms at 50 Hz
  (note 8). So a reading is its integration N/f plus an overhead: 1/3 ms below 0.1 PLC
  (the 0.01, 0.04 and 0.1 PLC rows), a fifth of the integration above (the 0.1, 1 and
  10 PLC rows); at 50 Hz the integration is N x 20 ms and the box is slower than the
  60 Hz column. Autozero adds 0.8 of an integration (1 PLC: 30/s on, 50/s off).
- per unit: the overhead within +-5 % (*stated*; +-3.3 % on the 0.01 PLC burst period at
  60 Hz, +-3.1 % at 50 Hz), the maximum external trigger rate 400/s within +-3 %
  (*stated*), the trigger-link latency 0.5-2 us with autozero off and 1.2 ms +-10 % with
  it on (comparable Model 2002 data sheet, "Trigger speed": < 2 us, 1.2 ms typical).
- range change 50/s, function change 45/s; the timer from 1 ms.

Keithley 6221 (Model 6220/6221 Reference Manual; 6221 specifications, "Settling time"):
the waveform's points run on the unit's timebase; the output settles in 2 us (fast
response, 2 mA-20 mA ranges, typical) after a DC level change. The manual gives no time
for arming a waveform, parsing an ARB upload or the phase marker's trigger-link latency:
*stated* 2 ms +-20 % to arm, 10 us +-20 % per ARB point parsed, 0.5-2 us marker latency.

Keithley 2400 (User's Manual Appendix A, "Source-Delay-Measure (SDM) cycle timing"):
each A/D conversion is N/f + 185 us; with autozero a cycle takes the reference-zero and
reference phases too (Cases I, II, V), one signal phase per function measured; the
source configuration 50 us, and a firmware overhead of 300 us (source V) or 640 us
(source I) with autozero off, 1.6 ms (V) or 1.95 ms (I) with it on and one function,
2.3 ms (V) or 2.65 ms (I) with two (Cases I-IV); trigger latency 225 us max (Cases I-IV),
500 us (V, autozero) or 100 us (VI) with a static source. Auto delay adds 100 us.
Per unit: the firmware overhead within +-5 % (*stated*).

Keithley 7001 (Instruction Manual, ROUTe:CONFigure:SLOT:STIMe): each close or open waits
the card's relay operate time and then the settling time the user set. The card's sheet
is not among the stored manuals: *stated* 3 ms +-20 % per relay operation.

Every instrument's timebase: +-100 ppm (*stated*: no stored sheet gives one).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

TIMEBASE_SPREAD = 100e-6  # fractional, +-
OVERHEAD_SPREAD = 0.05  # 2000 per-reading overhead, 2400 firmware overhead, +-
EXTERNAL_RATE_SPREAD = 0.03  # 2000 maximum external trigger rate, +-
LATENCY_2000 = (0.5e-6, 2e-6)  # s, autozero off (2002 data sheet: < 2 us)
LATENCY_2000_AUTOZERO = 1.2e-3  # s, typical (2002 data sheet)
LATENCY_AUTOZERO_SPREAD = 0.10
ARM_6221 = 2e-3  # s, stated
PARSE_6221 = 10e-6  # s per ARB point, stated
MARKER_LATENCY_6221 = (0.5e-6, 2e-6)  # s, stated
SETTLE_6221 = 2e-6  # s, fast response, typical (6221 specifications, settling time)
RELAY_7001 = 3e-3  # s per relay operation, stated
STATED_SPREAD = 0.20  # arm, parse, relay time, +-


@dataclass(frozen=True)
class Unit:
    """One instrument: its serial number and the factors drawn from it (1.0 and 0.0 are a
    nominal unit, exactly the data sheet)."""

    model: str
    serial: int
    timebase: float = 0.0  # fractional error of its clock: a nominal second lasts 1 + this
    overhead: float = 1.0  # factor on the per-reading (2000) or firmware (2400) overhead
    external_rate: float = 1.0  # factor on the 2000's maximum external trigger rate
    latency: float = 1.0  # where in its range the trigger latency lies (0 to 1)
    stated: float = 1.0  # factor on the stated figures (6221 arm and parse, 7001 relays)

    def seconds(self, nominal: float) -> float:
        """A duration the unit times with its own clock."""
        return nominal * (1.0 + self.timebase)


def nominal_unit(model: str, serial: int = 0) -> Unit:
    """A unit at the data sheet's nominal figures (no spread), for tests that want them exactly."""
    return Unit(model, serial, latency=0.5)


def draw_unit(model: str, serial: int) -> Unit:
    """The unit of ``model`` with serial number ``serial`` (the same serial, the same box)."""
    rng = np.random.default_rng([zlib.crc32(model.encode()), int(serial)])
    timebase, overhead, external, latency, stated = rng.uniform(-1.0, 1.0, 5)
    return Unit(model, int(serial), timebase=float(TIMEBASE_SPREAD * timebase),
                overhead=float(1.0 + OVERHEAD_SPREAD * overhead),
                external_rate=float(1.0 + EXTERNAL_RATE_SPREAD * external),
                latency=float(0.5 + 0.5 * latency), stated=float(1.0 + STATED_SPREAD * stated))


def serials(seed: int | None, models: tuple[str, ...]) -> dict[str, int]:
    """Serial numbers for a bench of ``models``, drawn from ``seed`` (7 digits, as on the
    instruments' *IDN? replies)."""
    rng = np.random.default_rng(seed)
    return {model: int(rng.integers(1_000_000, 10_000_000)) for model in models}


# -- Keithley 2000 -----------------------------------------------------------------------
OVERHEAD_FLOOR = 1 / 3000  # s: 0.01-0.1 PLC rows at 60 Hz (2000/s, 1000/s, 500/s)
OVERHEAD_FRACTION = 0.2  # of the integration: 0.1, 1, 10 PLC rows (500, 50, 5 /s at 60 Hz)
AUTOZERO_EXTRA = 0.8  # integrations: 1 PLC at 60 Hz, 30/s with autozero, 50/s without
EXTERNAL_RATE = 400.0  # /s, maximum external trigger rate


@dataclass(frozen=True)
class K2000Times:
    """What a 2000 unit's operations take at the lab's line frequency."""

    unit: Unit
    line_frequency: float
    range_change: float = 1 / 50
    function_change: float = 1 / 45
    timer_min: float = 1e-3

    def integration(self, nplc: float) -> float:
        """One integration of ``nplc`` power-line cycles (s) on the unit's timebase: N / f
        (Model 2000 data sheet, note 8)."""
        return self.unit.seconds(nplc / self.line_frequency)

    def reading(self, nplc: float, autozero: bool) -> float:
        """One reading conversion into memory (the device action of Fig. 4-11)."""
        integration = nplc / self.line_frequency
        overhead = max(OVERHEAD_FLOOR, OVERHEAD_FRACTION * integration) * self.unit.overhead
        zero = AUTOZERO_EXTRA * integration if autozero else 0.0
        return self.unit.seconds(integration + zero + overhead)

    def latency(self, autozero: bool) -> float:
        """Trigger-link latency (s) from an external trigger to the start of a reading: 0.5-2 us
        with autozero off, 1.2 ms +-10 % with it on (the comparable Model 2002's data sheet,
        "Trigger speed"), where this unit lies in the range."""
        if autozero:
            return LATENCY_2000_AUTOZERO * (1 + LATENCY_AUTOZERO_SPREAD * (
                2 * self.unit.latency - 1))
        low, high = LATENCY_2000
        return low + (high - low) * self.unit.latency

    def external_interval(self) -> float:
        """The shortest time between two accepted external triggers."""
        return self.unit.seconds(1.0 / (EXTERNAL_RATE * self.unit.external_rate))

    def delay(self, seconds: float) -> float:
        """A programmed delay or timer interval (s) as the unit's own clock times it."""
        return self.unit.seconds(seconds)


def sheet_reading_rate(nplc: float, line_frequency: float, autozero: bool = False) -> float:
    """Readings per second of a nominal 2000 (the data sheet's rows at 60 Hz)."""
    return 1.0 / K2000Times(nominal_unit("2000"), line_frequency).reading(nplc, autozero)


# -- Keithley 6221 -----------------------------------------------------------------------
@dataclass(frozen=True)
class K6221Times:
    """What the 6221's operations cost on the virtual clock (module docstring, Keithley 6221)."""
    unit: Unit

    def point(self, nominal: float) -> float:
        """A waveform point's duration on the unit's timebase."""
        return self.unit.seconds(nominal)

    def arm(self) -> float:
        """Time (s) to arm a waveform: *stated* 2 ms, scaled by this unit's factor (the manual gives
        none)."""
        return ARM_6221 * self.unit.stated

    def parse(self, points: int) -> float:
        """Time (s) to parse an ARB upload of ``points`` points: *stated* 10 us a point, scaled by
        this unit's factor (the manual gives none)."""
        return PARSE_6221 * self.unit.stated * points

    def marker_latency(self) -> float:
        """Delay (s) from the marked waveform point to the phase marker's pulse on the
        trigger link: *stated* 0.5-2 us, where this unit lies in the range."""
        low, high = MARKER_LATENCY_6221
        return low + (high - low) * self.unit.latency

    def settle(self) -> float:
        """Output settling time (s) when the current starts or stops flowing: 2 us (6221
        specifications, "Settling time", fast response, 2-20 mA ranges, typical)."""
        return SETTLE_6221


# -- Keithley 2400 -----------------------------------------------------------------------
AD_EXTRA_2400 = 185e-6  # s per A/D conversion
SOURCE_CONFIG_2400 = 50e-6  # s
AUTO_DELAY_2400 = 100e-6  # s
FIRMWARE_2400 = {  # (autozero, functions > 1) -> (source V, source I), s
    (False, False): (300e-6, 640e-6), (True, False): (1.6e-3, 1.95e-3),
    (True, True): (2.3e-3, 2.65e-3), (False, True): (300e-6, 640e-6),
}


@dataclass(frozen=True)
class K2400Times:
    """What the 2400's operations cost on the virtual clock (User's Manual Appendix A, SDM cycle
    timing)."""
    unit: Unit

    def conversion(self, nplc: float, line_frequency: float) -> float:
        """One A/D conversion (s) on the unit's timebase: N / f + 185 us (User's Manual Appendix A,
        SDM cycle timing)."""
        return self.unit.seconds(nplc / line_frequency + AD_EXTRA_2400)

    def cycle(self, nplc: float, line_frequency: float, autozero: bool, functions: int,
              source_current: bool, static: bool, source_delay: float,
              auto_delay: bool) -> float:
        """One source-delay-measure cycle (Appendix A): a static source (output kept on)
        skips the source configuration, its delay and the firmware overhead (Cases V,
        VI); a source that changes each cycle pays them (Cases I-IV)."""
        conversions = (2 if autozero else 0) + max(1, functions)
        measure = conversions * self.conversion(nplc, line_frequency)
        if static:
            return (500e-6 if autozero else 100e-6) + measure
        firmware = FIRMWARE_2400[(autozero, functions > 1)][1 if source_current else 0]
        delay = source_delay + (AUTO_DELAY_2400 if auto_delay else 0.0)
        return (225e-6 + SOURCE_CONFIG_2400 + self.unit.seconds(delay) + measure
                + firmware * self.unit.overhead)


# -- Keithley 7001 -----------------------------------------------------------------------
@dataclass(frozen=True)
class K7001Times:
    """What the 7001's relay operations cost on the virtual clock (Instruction Manual,
    ROUTe:CONFigure:SLOT:STIMe)."""
    unit: Unit

    def operation(self, settling: float) -> float:
        """One close or open: the relays operate, then the user's settling time."""
        return RELAY_7001 * self.unit.stated + self.unit.seconds(settling)


def fit_unit(instrument, unit: Unit) -> None:
    """Make an emulated instrument the unit ``unit``: its timing, and its serial number in
    its *IDN? reply (the third field)."""
    instrument.unit = unit
    fields = instrument.idn.split(",")
    fields[2] = str(unit.serial)
    instrument.idn = ",".join(fields)


def bench_units(models: dict[str, str], seed, nominal: bool = False) -> dict[str, Unit]:
    """role -> the unit on that role's bench, serial numbers drawn from ``seed`` (an int,
    None or a numpy SeedSequence); ``nominal``: every unit exactly its data sheet."""
    if isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 7001))
    numbers = serials(seed, tuple(models.values()))
    return {role: (nominal_unit(model, numbers[model]) if nominal
                   else draw_unit(model, numbers[model])) for role, model in models.items()}
