"""Paper 002's reset-write-read cycle (Fig. 2a, SI S3b) on a connected lab.

Reset pulse (large, negative) -> read -> write pulse -> read. The switched flag compares
R_AHE = V / I_read (Eq. 6) with a threshold halfway between the calibrated -1 and +1 levels.
A cycle interrupted by a lost or late or garbled reply is repeated on a fresh connection (a
reading is never guessed); an error in an instrument's queue, an instrument that reset
itself, or a reset that does not reset stops the run (outputs go off in ``Lab.close``).

``batches`` runs a list of cycles on either path, software-timed (one SCPI exchange per
step) or hardware-timed (``protocols/timing.py`` picks it when the instruments allow), and
yields what each path completes at once: one cycle, or one instrument batch.

Hardware timing uses only what the manuals document, on a rig wired as the lab file says
(``[wiring] trigger_line``: the 6221 trigger-link output line that drives the 2000's EXT
TRIG). Two routes:

- one write current (sweeps, endurance): the 6221 repeats one cycle as an arbitrary
  waveform; its phase marker pulses the trigger link at each cycle's read window; the 2000
  on EXTernal takes one reading per pulse into its buffer. Every reading is tied to its own
  cycle by a hardware edge, so nothing can drift; the 2000 accepts at most 400 external
  triggers a second (Model 2000 data sheet), so a cycle lasts at least 2.5 ms.
- a write current per cycle (training): all the cycles in one waveform, played once; one
  phase-marker pulse starts a burst of readings on the 2000 (sample count = readings,
  trigger delay 0), one reading period apart. That period is the 2000's own, known from
  its data sheet only as a rounded 60 Hz figure (0.01 PLC: 2000 readings/s), so it is
  measured on the rig against the 6221's waveform before the first batch, every read
  window is laid where its reading will fall, and probe readings before and after the
  cycles prove every batch stayed in step before a reading is kept (protocols/burst.py).

The 2000's timer cannot help: its first pass starts at :INIT over the bus, with no arm layer
to start it from the trigger link. When the buffer holds fewer readings than cycles sent
(triggers missed), the batch is refused, never stored shifted, and played again slower.
"""

from __future__ import annotations

import logging
import math
import numbers
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyvisa.errors import VisaIOError

from instruments.connection import Lab
from instruments.keithley import (
    READ_POINT,
    InstrumentError,
    TriggeredBuffer,
    triggered_buffer_missing,
)
from protocols.burst import (
    LEVEL_HISTORY,
    SYNC_READINGS,
    BurstClock,
    BurstDrift,
    BurstPlan,
    cycle_slots,
    measure_reading_period,
    plan_burst,
    sync_plan,
)
from protocols.errors import ConfigError, ProtocolError

log = logging.getLogger(__name__)


class MissedTriggers(ProtocolError):
    """The 2000 holds fewer readings than the cycles sent (or a burst drifted)."""


class SourceRefused(InstrumentError):
    """The pulse source's error queue held an error at a batch's check: taken as a refused
    play (a 6221 found reset under the batch answers its play with -221 and plays nothing),
    so the batch's pulses are not counted. The guard refuses every other bad line before it
    is sent, so an error there comes from the box refusing the batch's own arming or play;
    which line it came from is not in the queue, so this is the one reading of it."""


# each number's allowed range (SI) and where it comes from; a value outside is refused when
# the settings are made, whoever makes them (a script, the CLI, the GUI, a stored run)
PULSE_WIDTHS = (5e-6, 500.0)  # s, the 6221's pulse (Reference Manual, pulse / ARB widths)
READ_NPLC = (0.01, 10.0)  # the 2000's integration (SENSe:VOLTage:NPLCycles 0.01-10)
INTERVALS = (0.0, 3600.0)  # s, wait after each pulse


@dataclass(frozen=True)
class CycleSettings:
    """Paper 002 Methods 4.3 and Fig. 2a: 100 us pulses, 50 uA read.

    The settings check themselves when made: a bad value raises
    :class:`~protocols.errors.ConfigError` naming the field and its allowed range, before
    any instrument is touched. The lab's own safety limits (pulse and read currents, pulse
    width) are checked against them when a run starts, on that lab."""

    reset_current: float = -0.6e-3  # A
    reset_width: float = 100e-6  # s
    write_width: float = 100e-6  # s
    read_current: float = 50e-6  # A
    read_nplc: float = 1.0
    autozero: bool = True
    interval: float = 0.0  # s, wait after each pulse (paper 002 Fig. 2a: 2 s)
    verify_reset: bool = True

    def __post_init__(self) -> None:
        for name in ("reset_current", "reset_width", "write_width", "read_current",
                     "read_nplc", "interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise ConfigError(name, f"{value!r} is not a finite number")
        for name in ("autozero", "verify_reset"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, f"{getattr(self, name)!r} is not True or False")
        if self.reset_current >= 0:
            raise ConfigError("reset_current", f"{self.reset_current * 1e3:g} mA is outside "
                              "the allowed range (-inf, 0) mA: a reset pulse is negative "
                              "(I < 0 resets, paper 002)")
        for name in ("reset_width", "write_width"):
            _within(name, getattr(self, name), PULSE_WIDTHS, "s", "the 6221's pulse")
        _within("read_nplc", self.read_nplc, READ_NPLC, "", "the 2000's integration")
        _within("interval", self.interval, INTERVALS, "s", "wait after each pulse")
        if self.read_current <= 0:
            raise ConfigError("read_current", f"{self.read_current * 1e6:g} uA is outside "
                              "the allowed range (0, inf) uA: the read current must be "
                              "positive")


def _within(name: str, value: float, allowed: tuple[float, float], unit: str,
            source: str) -> None:
    low, high = allowed
    if not low <= value <= high:
        raise ConfigError(name, f"{value:g} {unit} is outside the allowed range [{low:g}, "
                          f"{high:g}] {unit} ({source})".replace(" ]", "]").replace("  ", " "))


@dataclass(frozen=True)
class CycleReading:
    """The raw result of one cycle: R_AHE after the reset (None if not read) and after the
    write, and the verdict."""

    write_current: float
    r_after_reset: float | None
    r_after_write: float
    switched: bool


BUFFER_READINGS = 1024  # the Keithley 2000's reading buffer (TRACe:POINts 2-1024)
ARB_POINTS = 65536  # points in one 6221 arbitrary waveform (Reference Manual, ARB:APPend)
EXTERNAL_TRIGGER_RATE = 400.0  # /s, Model 2000 data sheet: maximum external trigger rate
FAST_NPLC = 0.01  # the 2000's shortest integration (SENSe:VOLTage:NPLCycles 0.01-10)
# the sheet's maximum external rate is a typical figure: stay 5 % under it (units differ;
# the virtual lab draws them within +-3 %); a unit slower still misses triggers, and its
# batch is refused and played again slower
RATE_MARGIN = 1.05
SLOWER = 1.5  # a batch whose triggers were missed is played again this much slower
LINK_LATENCY = 10e-6  # s, trigger link to the start of the integration, autozero off
# the 2000's reading into memory at 60 Hz (data sheet, DC system speeds: 0.01-0.1 PLC
# 2000-500/s, then 50/s at 1 PLC): only a first guess, the burst route measures it
SHEET_OVERHEAD = 1 / 3000  # s


def sheet_reading_period(nplc: float, line_frequency: float) -> float:
    """The data sheet's reading period (autozero off): a guess to be measured."""
    integration = nplc / line_frequency
    return integration + max(SHEET_OVERHEAD, 0.2 * integration)


_BURST_CLOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # lab -> clocks


def measured_burst(lab: Lab) -> BurstClock | None:
    """The 2000's burst as measured on ``lab`` (None before the burst route ran there)."""
    clocks = _BURST_CLOCKS.get(lab, {})
    return next(iter(clocks.values())) if clocks else None
NOT_RESET = "the reset pulse did not reset the device (R_AHE above the threshold after reset)"


def waveform_misfit(settings: CycleSettings) -> str | None:
    """Why a 6221 waveform cannot hold these cycles (its points are one pulse width long,
    with no room for a wait), or None."""
    if settings.interval > 0:
        return "a wait after each pulse (interval) is timed by software"
    if settings.reset_width != settings.write_width:
        return "the waveform's points are one pulse width: reset and write widths must match"
    return None


class ResetWriteRead:
    """Paper 002's reset-write-read cycle (Fig. 2a, SI S3b) on a connected lab, software- or
    hardware-timed; a cycle a lost reply interrupts is repeated, never guessed."""
    def __init__(self, lab: Lab, settings: CycleSettings | None = None, retries: int = 3,
                 timing: str = "software"):
        if timing not in ("software", "hardware"):
            raise ValueError(f"timing = {timing!r} is not one of 'software', 'hardware'")
        settings = settings or CycleSettings()
        if timing == "hardware" and waveform_misfit(settings):
            raise ValueError(f"hardware timing: {waveform_misfit(settings)}")
        self.lab = lab
        self.settings = settings
        self.retries = retries
        self.timing = timing
        self.threshold: float | None = None
        self.levels: tuple[float, float] | None = None
        self.repeats = 0  # cycles repeated after a communication fault
        self.missed_batches = 0  # hardware batches refused for missed triggers or drift
        self.slowdown = 1.0  # one-current cycle periods stretched after missed triggers
        self.line_frequency: float | None = None  # Hz, asked of the 2000 once
        self.read_after_reset = False  # burst route: read after each reset too (paper 002)
        self.device = 0  # the routed device (route()), whose pulses are counted
        self.pulses: Counter[int] = Counter()  # device -> pulses sent (replays included)
        self._probe_levels: dict[int, dict[str, list[float]]] = {}  # device -> last levels

    def route_device(self, device: int) -> None:
        """Route ``device`` through the switch card; its pulses are counted from now."""
        self.lab.select_device(device)
        self.device = device

    def pulse(self, current: float, width: float) -> None:
        """One hardware-timed pulse on the routed device, counted."""
        self._count([current])
        self.lab["pulse"].pulse(current, width)

    @contextmanager
    def _counting(self, currents) -> Iterator[None]:
        """Count a hardware-timed batch's pulses once it ends, unless the pulse source
        refused its play (:class:`SourceRefused`); a batch that failed anywhere else is
        counted, since its pulses may have reached the device (a wear budget errs on the
        side of more). A replayed batch is counted once per play that happened."""
        try:
            yield
        except SourceRefused:
            raise
        except BaseException:
            self._count(currents)
            raise
        self._count(currents)

    def _check_batch_errors(self) -> None:
        """Both error queues after a hardware-timed batch, the pulse source's first: an
        error there means the play was refused (:class:`SourceRefused`)."""
        try:
            self.lab["pulse"].check_errors()
        except InstrumentError as err:
            raise SourceRefused(str(err)) from None
        self.lab["voltmeter"].check_errors()

    def _count(self, currents) -> None:
        """Pulses sent to the routed device: levels beyond the read current (a write at or
        below it is no pulse: the device sees a read)."""
        read = self.settings.read_current
        self.pulses[self.device] += sum(1 for c in currents if abs(c) > read * (1 + 1e-9))

    def configure(self) -> None:
        """Set both instruments up for the cycles: the read and reset currents checked against the
        lab's limits first, the 2000's NPLC and autozero, the 6221's compliance at the lab's limit;
        then each instrument's error queue must be empty."""
        s = self.settings
        pulse, meter = self.lab["pulse"], self.lab["voltmeter"]
        self.lab.limits.read_current(s.read_current)
        self.lab.limits.pulse_current(s.reset_current)
        meter.voltage_nplc = s.read_nplc
        meter.autozero_enabled = s.autozero
        pulse.source_compliance = self.lab.limits.compliance_voltage
        for instrument in (pulse, meter):
            instrument.check_errors()

    def read_resistance(self) -> float:
        """One read (ohm): the read current on, the 2000's voltage once the 6221 reports it flows,
        the source off again whatever happens; R_AHE = V / I (paper 002, Methods)."""
        pulse, meter = self.lab["pulse"], self.lab["voltmeter"]
        pulse.set_read_current(self.settings.read_current)
        pulse.enable_source()
        pulse.ask("*OPC?")  # the current flows before the 2000 integrates
        try:
            voltage = meter.read_voltage()
        finally:
            pulse.disable_source()
        return voltage / self.settings.read_current

    def calibrate(self, repeats: int = 3, write_current: float | None = None) -> float:
        """The -1 and +1 levels (after a reset, after a strong write) and their midpoint."""
        self.configure()
        return self._with_retries(lambda: self._calibrate(repeats, write_current))

    def _calibrate(self, repeats: int, write_current: float | None) -> float:
        s = self.settings
        strong = write_current if write_current is not None else abs(s.reset_current)
        low, high = [], []
        for _ in range(repeats):
            self.pulse(s.reset_current, s.reset_width)
            low.append(self.read_resistance())
            self.pulse(strong, s.write_width)
            high.append(self.read_resistance())
        r_low, r_high = sum(low) / repeats, sum(high) / repeats
        spread = max(max(low) - min(low), max(high) - min(high))
        if r_high - r_low < 5 * max(spread, 1e-9):
            raise ProtocolError(
                f"R_AHE levels not separated: {r_low:.4g} ohm after {s.reset_current * 1e3:g} "
                f"mA resets, {r_high:.4g} ohm after {strong * 1e3:g} mA writes: the device "
                "does not switch (pulses too weak, or a device stuck in one state)")
        self.levels = (r_low, r_high)
        self.threshold = (r_low + r_high) / 2
        return self.threshold

    def _once(self, write_current: float) -> CycleReading:
        s = self.settings
        r_reset = self._reset(read=s.verify_reset)
        if r_reset is not None and r_reset > self.threshold:
            raise ProtocolError(NOT_RESET)
        self.pulse(write_current, s.write_width)
        self.lab.wait(s.interval)
        r_write = self.read_resistance()
        for role in ("pulse", "voltmeter"):
            instrument = self.lab[role]
            if instrument.power_on_flag():
                raise ProtocolError(f"the {role} instrument reset itself during the cycle; "
                                    "its settings are lost")
            instrument.check_errors()
        return CycleReading(write_current, r_reset, r_write, r_write > self.threshold)

    def cycle(self, write_current: float) -> bool:
        """One reset-write-read; True if the device switched."""
        return self.cycle_reading(write_current).switched

    def cycle_reading(self, write_current: float) -> CycleReading:
        """One reset-write-read at ``write_current`` (A, checked against the lab's limits) with both
        resistances and the verdict; a cycle a communication fault interrupts is repeated. Needs
        ``calibrate`` first."""
        if self.threshold is None:
            raise ProtocolError("calibrate() first: the switching threshold is unknown")
        self.lab.limits.pulse_current(write_current)
        return self._with_retries(lambda: self._once(write_current))

    def batches(self, write_currents: Iterable[float]) -> Iterator[list[CycleReading]]:
        """One cycle per current, in order, on this protocol's timing. Software-timed: each
        cycle as it ends. Hardware-timed: one current per batch as a repeated waveform (up
        to 1024 cycles, the 2000's buffer, each batch followed by a reset and a read that
        prove the reset still resets, ``verify_reset``), or a list of currents as one
        burst (as many cycles as the buffer and one waveform hold; its probe blocks prove
        the resets). Both paths send the same pulses, so on the virtual lab they switch the
        devices identically."""
        currents = [float(c) for c in write_currents]
        if self.timing == "software":
            for current in currents:
                yield [self.cycle_reading(current)]
            return
        start = 0
        while start < len(currents):
            chunk = currents[start:start + BUFFER_READINGS]
            if all(c == chunk[0] for c in chunk):
                readings = self._hardware_cycles(chunk[0], len(chunk))
            else:
                chunk = chunk[:self.burst_capacity(chunk)]
                readings = self._hardware_cycle_list(chunk)
            start += len(chunk)
            yield readings

    def route(self, line_frequency: float = 50.0) -> dict:
        """The one-current waveform: points per cycle (each one pulse width), read points
        and the cycle period: at least the pulses and the read window, and one external
        trigger period of the 2000 (1/400 s) with ``RATE_MARGIN`` to spare."""
        s = self.settings
        width = max(s.reset_width, s.write_width)
        integration = FAST_NPLC / line_frequency
        pace = RATE_MARGIN * self.slowdown / EXTERNAL_TRIGGER_RATE
        read_points = math.ceil((integration + LINK_LATENCY) / width - 1e-9)
        points = max(READ_POINT + read_points, math.ceil(pace / width - 1e-9))
        return {"width": width, "points": points, "read_points": read_points,
                "period": points * width}

    def _buffer(self) -> TriggeredBuffer:
        """The voltmeter's triggered buffer, which the hardware-timed routes read; a driver
        without it (a 2182A's) refuses them by name, before any pulse."""
        meter = self.lab["voltmeter"]
        missing = triggered_buffer_missing(meter)
        if missing is not None:
            raise ProtocolError(f"timing = 'hardware' is not available: {missing}")
        return meter

    def _line_frequency(self) -> float:
        if self.line_frequency is None:
            self.line_frequency = self.lab["voltmeter"].line_frequency()
        return self.line_frequency

    def _fast_reads(self):
        """The 2000 at 0.01 PLC without autozero for a batch; back to the cycle's after."""
        meter = self.lab["voltmeter"]
        meter.voltage_nplc = FAST_NPLC
        meter.autozero_enabled = False

    def _slow_reads(self) -> None:
        meter = self.lab["voltmeter"]
        meter.voltage_nplc = self.settings.read_nplc
        meter.autozero_enabled = self.settings.autozero

    def _hardware_cycles(self, write_current: float, cycles: int) -> list[CycleReading]:
        """``cycles`` cycles at one current timed by the instruments (a 6221 waveform of
        one cycle repeated, its phase marker on the trigger link, the 2000 on EXTernal):
        no bus transaction between cycles and no read after each reset (one reset check
        ends the batch); every verdict comes from the reading after the write. Fewer
        readings than cycles (missed triggers): refused and played again slower."""
        if self.threshold is None:
            raise ProtocolError("calibrate() first: the switching threshold is unknown")
        self.lab.limits.pulse_current(write_current)
        s = self.settings

        def batch() -> list[CycleReading]:
            meter, pulse = self._buffer(), self.lab["pulse"]
            pulse.trigger_line = self.lab.trigger_line
            layout = self.route(self._line_frequency())
            self._fast_reads()
            meter.arm_external_buffer(cycles)
            with self._counting([s.reset_current, write_current] * cycles):
                try:
                    pulse.play_cycles(s.reset_current, write_current, s.read_current,
                                      layout["width"], cycles, layout["points"],
                                      layout["read_points"])
                    voltages = meter.buffer_readings()
                finally:
                    meter.immediate_triggering()
                try:  # one reset and one fast read: did the batch's last reset still work?
                    resets = not s.verify_reset or self._reset(read=True) <= self.threshold
                finally:
                    self._slow_reads()
                if not resets:
                    raise ProtocolError(f"{NOT_RESET}; the batch before it is refused")
                self._check_batch_errors()
            if len(voltages) != cycles:
                raise MissedTriggers(f"the 2000 took {len(voltages)} readings for "
                                     f"{cycles} cycles (triggers missed)")
            return self._verdicts([write_current] * cycles, voltages)

        return self._replayed(batch, slower=True)

    # -- the burst route (a write current per cycle): protocols/burst.py ------------------
    def burst_clock(self) -> BurstClock:
        """The 2000's burst on this lab, measured once (at 0.01 PLC, at this line
        frequency) and refined by every verified batch: what the run records."""
        clocks = _BURST_CLOCKS.setdefault(self.lab, {})
        key = (FAST_NPLC, self._line_frequency())
        if key not in clocks:
            clocks[key] = self._with_retries(self._measure_burst)
        return clocks[key]

    def _forget_burst_clock(self) -> None:
        _BURST_CLOCKS.get(self.lab, {}).pop((FAST_NPLC, self._line_frequency()), None)

    def _measure_burst(self) -> BurstClock:
        """A full buffer of burst readings across a square wave of read current (no pulse):
        the reading period against the 6221's timebase, and the trigger latency."""
        s = self.settings
        frequency = self._line_frequency()
        nominal = sheet_reading_period(FAST_NPLC, frequency)
        plan = sync_plan(SYNC_READINGS, nominal, s.read_current)
        voltages = self._burst(plan.levels, plan.point, plan.marker, plan.readings, None)
        try:
            return measure_reading_period(plan, voltages, nominal, FAST_NPLC / frequency,
                                          frequency)
        except BurstDrift as err:
            raise ProtocolError(f"the 2000's burst reading period could not be measured: "
                                f"{err}") from None

    def _burst(self, levels: list[float], point: float, marker: int, readings: int,
               width: float | None) -> list[float]:
        """One waveform played with its marker starting a burst of ``readings`` fast
        readings (trigger delay 0) into the 2000's buffer; the readings, the 2000 back on
        the cycle's settings, both error queues checked."""
        meter, pulse = self._buffer(), self.lab["pulse"]
        pulse.trigger_line = self.lab.trigger_line
        self._fast_reads()
        meter.arm_external_buffer(1, samples=readings, delay=0.0)
        try:
            pulse.play_levels(levels, point, marker, self.settings.read_current, width)
            voltages = meter.buffer_readings()
        finally:
            meter.immediate_triggering()
            self._slow_reads()
        self._check_batch_errors()
        return voltages

    def _burst_plan(self, currents: list[float]) -> BurstPlan:
        s = self.settings
        return plan_burst(cycle_slots(s.reset_current, currents, self.read_after_reset),
                          max(s.reset_width, s.write_width), s.read_current,
                          self.burst_clock())

    def burst_capacity(self, currents: list[float]) -> int:
        """How many of ``currents`` one burst holds: its readings in the 2000's buffer (2 %
        spare for a re-measured period), its points in one 6221 waveform."""
        n = len(currents)
        while True:
            plan = self._burst_plan(currents[:n])
            fill = max(plan.readings / (0.98 * BUFFER_READINGS), len(plan.levels) / ARB_POINTS)
            if fill <= 1 or n == 1:
                return n
            n = max(1, min(n - 1, math.floor(n / fill)))

    def _hardware_cycle_list(self, write_currents) -> list[CycleReading]:
        """Cycles with a write current each, timed by the instruments: one 6221 waveform
        holding them all, its phase marker starting the 2000's burst, every read window
        where the measured reading period puts its reading; kept only when the probe
        readings show every reading stayed in its window (else the period is measured
        again and the batch played again)."""
        if self.threshold is None:
            raise ProtocolError("calibrate() first: the switching threshold is unknown")
        s = self.settings
        currents = [float(c) for c in write_currents]
        for current in currents:
            self.lab.limits.pulse_current(current)

        def batch() -> list[CycleReading]:
            plan = self._burst_plan(currents)
            with self._counting([level for slot in plan.slots for level in slot.pulses]):
                voltages = self._burst(plan.levels, plan.point, plan.marker, plan.readings,
                                       max(s.reset_width, s.write_width))
            if len(voltages) != plan.readings:
                raise MissedTriggers(f"the 2000 took {len(voltages)} readings for "
                                     f"{plan.readings} (trigger missed)")
            history = self._probe_levels.get(self.device)
            try:
                timing = plan.check(voltages, history)
            except BurstDrift as err:
                self._forget_burst_clock()  # measured again before the batch is replayed
                raise MissedTriggers(f"{err}; the burst's period is measured again") \
                    from None
            self.burst_clock().update(*timing)
            levels = plan.levels_read(voltages)
            self._probe_levels[self.device] = {
                kind: (levels[kind] + (history or {}).get(kind, []))[:LEVEL_HISTORY]
                for kind in levels}
            resets = [voltages[k] / s.read_current for k, slot in enumerate(plan.slots)
                      if slot.read == "full" and slot.cycle is None]
            if s.verify_reset and max(resets) > self.threshold:
                raise ProtocolError(f"{NOT_RESET}; the batch is refused")
            by_cycle: dict[int, dict[bool, float]] = {}
            for k, slot in plan.cycle_readings():
                by_cycle.setdefault(slot.cycle, {})[slot.after_reset] = voltages[k]
            after_reset = [by_cycle[c].get(True) for c in range(len(currents))]
            return self._verdicts(currents, [by_cycle[c][False] for c in range(len(currents))],
                                  after_reset)

        return self._replayed(batch, slower=False)

    def _verdicts(self, currents: list[float], voltages: list[float],
                  after_reset: list[float | None] | None = None) -> list[CycleReading]:
        """Each cycle's reading as R_AHE and its verdict; a reading outside the calibrated
        levels refuses the batch (it cannot have come from a read window)."""
        s = self.settings
        resistances = [v / s.read_current for v in voltages]
        resets = [None if v is None else v / s.read_current
                  for v in (after_reset or [None] * len(currents))]
        if not all(self._plausible(r) for r in resistances + [r for r in resets if r is not None]):
            raise MissedTriggers("a burst reading fell outside its read window "
                                 "(R_AHE outside the calibrated levels)")
        if s.verify_reset and any(r is not None and r > self.threshold for r in resets):
            raise ProtocolError(f"{NOT_RESET}; the batch is refused")
        return [CycleReading(c, r0, r, r > self.threshold)
                for c, r0, r in zip(currents, resets, resistances, strict=True)]

    def _replayed(self, batch, slower: bool) -> list[CycleReading]:
        """``batch`` (with communication retries); a batch refused for missed triggers or
        a burst out of step is played again (the one-current route ``SLOWER``)."""
        for attempt in range(self.retries + 1):
            try:
                return self._with_retries(batch)
            except MissedTriggers as err:
                if attempt == self.retries:
                    raise ProtocolError(f"{err}; refused {self.retries + 1} times"
                                        + (f", even {self.slowdown:g}x slower" if slower
                                           else "")) from None
                self.missed_batches += 1
                if slower:
                    self.slowdown *= SLOWER
                log.warning("%s: the batch is refused and played again%s", err,
                            f" {self.slowdown:g}x slower" if slower else "")
        raise AssertionError("unreachable")

    def _plausible(self, resistance: float) -> bool:
        """A reading taken inside a read window lies near the calibrated levels."""
        low, high = self.levels
        margin = 0.5 * (high - low)
        return low - margin <= resistance <= high + margin

    def _reset(self, read: bool) -> float | None:
        """The reset pulse, the wait, and (``read``) R_AHE after it."""
        s = self.settings
        self.pulse(s.reset_current, s.reset_width)
        self.lab.wait(s.interval)
        return self.read_resistance() if read else None

    def _with_retries(self, step):
        """Run ``step``; after a lost, late or garbled reply reconnect and run it again (a
        reading is never guessed); any other instrument error stops the run."""
        for attempt in range(self.retries + 1):
            try:
                return step()
            except (VisaIOError, OSError, ConnectionError) as err:
                failure = err
            except InstrumentError as err:
                if "garbled" not in str(err) and "unreadable" not in str(err):
                    raise ProtocolError(str(err)) from None
                failure = err
            if attempt == self.retries:
                raise ProtocolError(f"failed {self.retries + 1} times: {failure}")
            self.repeats += 1
            log.warning("repeating after a communication fault: %s", failure)
            for role in ("pulse", "voltmeter"):
                self.lab.reconnect(role)
            self.configure()
        raise AssertionError("unreachable")
