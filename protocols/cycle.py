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
  phase-marker pulse starts a burst of readings on the 2000 (sample count = cycles), the
  trigger delay making the readings one cycle period apart (the sample loop of Fig. 4-11
  runs delay -> reading); at 0.01 PLC a reading takes 0.5 ms (2000 readings/s), so a cycle
  lasts at least 0.5 ms. A burst is paced by the 2000's own reading period, not by an edge
  per cycle, so every reading is also checked to lie between the calibrated levels.

The 2000's timer cannot help: its first pass starts at :INIT over the bus, with no arm layer
to start it from the trigger link. When the buffer holds fewer readings than cycles sent
(triggers missed), the batch is refused, never stored shifted, and played again slower.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pyvisa.errors import VisaIOError

from instruments.connection import Lab
from instruments.keithley import READ_POINT, InstrumentError
from protocols.errors import ConfigError, ProtocolError

log = logging.getLogger(__name__)


class MissedTriggers(ProtocolError):
    """The 2000 holds fewer readings than the cycles sent (or a burst drifted)."""


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
BURST_READING_RATE = 2000.0  # /s, Model 2000 data sheet: 0.01 PLC readings into memory
FAST_NPLC = 0.01  # the 2000's shortest integration (SENSe:VOLTage:NPLCycles 0.01-10)
RATE_MARGIN = 1.02  # stay 2 % under a data-sheet rate (the two instruments' clocks differ)
SLOWER = 1.5  # a batch whose triggers were missed is played again this much slower
LINK_LATENCY = 10e-6  # s, trigger link to the start of the integration, autozero off
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
        self.missed_batches = 0  # hardware batches refused for missed triggers
        self.slowdown = 1.0  # hardware cycle periods stretched after missed triggers
        self.line_frequency: float | None = None  # Hz, asked of the 2000 once

    def configure(self) -> None:
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
            self.lab["pulse"].pulse(s.reset_current, s.reset_width)
            low.append(self.read_resistance())
            self.lab["pulse"].pulse(strong, s.write_width)
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
        self.lab["pulse"].pulse(write_current, s.write_width)
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
        if self.threshold is None:
            raise ProtocolError("calibrate() first: the switching threshold is unknown")
        self.lab.limits.pulse_current(write_current)
        return self._with_retries(lambda: self._once(write_current))

    def batches(self, write_currents: Iterable[float]) -> Iterator[list[CycleReading]]:
        """One cycle per current, in order, on this protocol's timing. Software-timed: each
        cycle as it ends. Hardware-timed: up to 1024 cycles per instrument batch (the 2000's
        buffer), one current per batch as a repeated waveform or a list of currents as one
        long waveform, each batch followed by a reset and a read that prove the reset still
        resets (``verify_reset``; else the batch is refused). Both paths send the same
        pulses, so on the virtual lab they switch the devices identically."""
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
            else:  # as many cycles as one waveform holds (lead points included)
                layout = self.route(False, self.line_frequency or 50.0)
                fits = (ARB_POINTS - layout["lead_points"]) // layout["points"]
                chunk = chunk[:max(1, fits)]
                readings = self._hardware_cycle_list(chunk)
            start += len(chunk)
            yield readings

    def route(self, one_current: bool, line_frequency: float = 50.0) -> dict:
        """The waveform layout of a hardware-timed batch: points per cycle (each one pulse
        width), read points, the cycle period and, for a burst, the 2000's trigger delay in
        points. One current: >= 1/400 s per cycle (external triggers); a current per
        cycle: >= 1/2000 s (burst readings); both at least the pulses and the read window."""
        s = self.settings
        width = max(s.reset_width, s.write_width)
        integration = FAST_NPLC / line_frequency
        reading = max(1 / BURST_READING_RATE, integration)
        if one_current:
            pace = RATE_MARGIN * self.slowdown / EXTERNAL_TRIGGER_RATE
        else:
            pace = RATE_MARGIN * self.slowdown * reading
        read_points = math.ceil((integration + LINK_LATENCY) / width - 1e-9)
        while True:
            points = max(READ_POINT + read_points, math.ceil(pace / width - 1e-9))
            delay = points * width - reading  # burst: reading k + 1 one period after k
            lead_points = math.floor(delay / width + 1e-9)
            offset = 0.0 if one_current else delay - lead_points * width
            if offset + integration + LINK_LATENCY <= read_points * width + 1e-12:
                break
            read_points += 1  # the burst's first reading starts inside the first point
        return {"width": width, "points": points, "read_points": read_points,
                "period": points * width, "delay": delay, "lead_points": lead_points}

    def _hardware_cycles(self, write_current: float, cycles: int) -> list[CycleReading]:
        """``cycles`` cycles at one current timed by the instruments (a 6221 waveform of
        one cycle repeated, its phase marker on the trigger link, the 2000 on EXTernal):
        no bus transaction between cycles and no read after each reset (one reset check
        ends the batch); every verdict comes from the reading after the write."""
        s = self.settings

        def arm(meter, layout):
            meter.arm_external_buffer(cycles)

        def play(pulse, layout):
            pulse.play_cycles(s.reset_current, write_current, s.read_current, layout["width"],
                              cycles, layout["points"], layout["read_points"])

        return self._hardware_batch([write_current] * cycles, True, arm, play)

    def _hardware_cycle_list(self, write_currents) -> list[CycleReading]:
        """Cycles with a different write current each, timed by the instruments: one 6221
        waveform holding them all, its phase marker starting the 2000's burst of readings,
        one per cycle period (trigger delay = period - reading time)."""
        s = self.settings
        currents = [float(c) for c in write_currents]

        def arm(meter, layout):
            meter.arm_external_buffer(1, samples=len(currents), delay=layout["delay"])

        def play(pulse, layout):
            pulse.play_cycle_list(s.reset_current, currents, s.read_current, layout["width"],
                                  layout["points"], layout["read_points"],
                                  layout["lead_points"])

        return self._hardware_batch(currents, False, arm, play)

    def _hardware_batch(self, currents: list[float], one_current: bool, arm,
                        play) -> list[CycleReading]:
        """Arm the 2000 (fast reads into its buffer), play the 6221 waveform, read the
        buffer, check the reset with one more reset and fast read, restore the
        software-timed settings, check both error queues. Fewer readings than cycles
        (missed triggers): the batch is refused and played again slower."""
        if self.threshold is None:
            raise ProtocolError("calibrate() first: the switching threshold is unknown")
        for current in currents:
            self.lab.limits.pulse_current(current)
        s = self.settings

        def batch() -> list[CycleReading]:
            meter, pulse = self.lab["voltmeter"], self.lab["pulse"]
            pulse.trigger_line = self.lab.trigger_line
            if self.line_frequency is None:
                self.line_frequency = meter.line_frequency()
            layout = self.route(one_current, self.line_frequency)
            meter.voltage_nplc = FAST_NPLC
            meter.autozero_enabled = False
            arm(meter, layout)
            try:
                play(pulse, layout)
                voltages = meter.buffer_readings()
            finally:
                meter.immediate_triggering()
            try:  # one reset and one fast read: did the last reset of the batch still work?
                resets = not s.verify_reset or self._reset(read=True) <= self.threshold
            finally:
                meter.voltage_nplc = s.read_nplc
                meter.autozero_enabled = s.autozero
            if not resets:
                raise ProtocolError(f"{NOT_RESET}; the batch before it is refused")
            for role in ("pulse", "voltmeter"):
                self.lab[role].check_errors()
            if len(voltages) != len(currents):
                raise MissedTriggers(f"the 2000 took {len(voltages)} readings for "
                                     f"{len(currents)} cycles (triggers missed)")
            resistances = [v / s.read_current for v in voltages]
            if not all(self._plausible(r) for r in resistances):
                raise MissedTriggers("a burst reading fell outside its read window "
                                     "(R_AHE outside the calibrated levels)")
            return [CycleReading(c, None, r, r > self.threshold)
                    for c, r in zip(currents, resistances, strict=True)]

        for attempt in range(self.retries + 1):
            try:
                return self._with_retries(batch)
            except MissedTriggers as err:
                if attempt == self.retries:
                    raise ProtocolError(f"{err}; refused {self.retries + 1} times, even "
                                        f"{self.slowdown:g}x slower") from None
                self.missed_batches += 1
                self.slowdown *= SLOWER
                log.warning("%s: the batch is refused and played again %gx slower", err,
                            self.slowdown)
        raise AssertionError("unreachable")

    def _plausible(self, resistance: float) -> bool:
        """A reading taken inside a read window lies near the calibrated levels."""
        low, high = self.levels
        margin = 0.5 * (high - low)
        return low - margin <= resistance <= high + margin

    def _reset(self, read: bool) -> float | None:
        """The reset pulse, the wait, and (``read``) R_AHE after it."""
        s = self.settings
        self.lab["pulse"].pulse(s.reset_current, s.reset_width)
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
