"""Keithley 6221, 2000 and 2400 drivers for the protocols: pymeasure's drivers, extended.

What pymeasure 0.16 lacks is added as declarative ``Instrument.control`` properties; its two
bugs are fixed (6221 ``config_buffer`` set a trigger count the class never defined, so
nothing was sent; 2000 ``voltage_ac_range`` wrote the DC auto-range command). Every
outgoing command passes ``write``, where the safety limits are checked before any byte is
sent, so no caller, ours or pymeasure's own properties, can get past them.

Pulse route (6221): a two-point arbitrary waveform [+-1, 0] played once at f = 1 / (2 w):
the instrument times the pulse in hardware with microsecond resolution (5 us to 500 s),
where a DC output switched on and off by software is as long as the bus round trip, and the
sweep list's delays start at 1 ms.
"""

from __future__ import annotations

import re
import warnings

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2000, Keithley2400, Keithley6221
from pymeasure.instruments.validators import strict_discrete_set, strict_range, truncated_range

from instruments.limits import SafetyLimits


class InstrumentError(RuntimeError):
    """The instrument reported an error, or answered something that is not a reading."""


def _float_list(values) -> str:
    return ",".join(f"{float(v):g}" for v in values)


def _parse_floats(reply) -> list[float]:
    items = reply if isinstance(reply, list) else str(reply).split(",")
    return [float(v) for v in items]


class SafeWriteMixin:
    """Checks every command against ``self.limits`` in ``write`` and reads the error queue."""

    limits: SafetyLimits
    _guards: list[tuple[re.Pattern[str], str]] = []

    def write(self, command: str, **kwargs) -> None:
        for message in command.split(";"):
            self._guard(message.strip())
        super().write(command, **kwargs)

    def _guard(self, message: str) -> None:
        for pattern, check in self._guards:
            match = pattern.match(message)
            if match:
                getattr(self.limits, check)(float(match.group(1)))

    def check_errors(self) -> list:
        """Read the whole error queue; raise InstrumentError if it held anything."""
        errors = []
        for _ in range(20):
            reply = self.ask("SYST:ERR?").strip()
            code = reply.split(",", 1)[0]
            try:
                if int(float(code)) == 0:
                    break
            except ValueError:
                raise InstrumentError(
                    f"{self.name}: unreadable error-queue reply {reply!r}") from None
            errors.append(reply)
        if errors:
            raise InstrumentError(f"{self.name} reported: {'; '.join(errors)}")
        return errors

    def read_float(self, command: str) -> float:
        """A single reading, refused unless it parses as one finite number."""
        reply = self.ask(command).strip()
        try:
            value = float(reply.split(",")[0])
        except ValueError:
            raise InstrumentError(f"{self.name}: garbled reply {reply!r} to {command}") from None
        if value != value or abs(value) > 9.9e37:
            raise InstrumentError(f"{self.name}: no valid reading ({reply!r}) to {command}")
        return value

    def confirm_output_off(self) -> None:
        """Read the output state back: 'off' is a fact only once the instrument says so."""
        state = self.ask(":OUTP?").strip()
        if state not in ("0", "OFF"):
            raise InstrumentError(f"{self.name}: output still on after switching it off "
                                  f"(OUTP? -> {state!r})")

    def power_on_flag(self) -> bool:
        """True if the instrument reset itself since the last check (*ESR? bit 7, PON)."""
        return bool(int(self.read_float("*ESR?")) & 128)


class PulseSource(SafeWriteMixin, Keithley6221):
    """Keithley 6221: write/reset pulses, read current, sweep lists, trigger link."""

    _guards = [
        (re.compile(r":?SOUR(?:CE)?:CURR(?:ENT)?\s+(\S+)$", re.I), "pulse_current"),
        (re.compile(r":?SOUR(?:CE)?:CURR(?:ENT)?:COMP(?:LIANCE)?\s+(\S+)$", re.I), "compliance"),
        (re.compile(r":?SOUR(?:CE)?:WAVE:AMPL(?:ITUDE)?\s+(\S+)$", re.I), "pulse_current"),
        (re.compile(r":?SOUR(?:CE)?:WAVE:OFFS(?:ET)?\s+(\S+)$", re.I), "read_current"),
    ]

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self.limits = limits or SafetyLimits()
        super().__init__(adapter, **kwargs)
        self._pulse_shape: tuple[int, float] | None = None

    trigger_count = Instrument.control(
        ":TRIG:COUN?", ":TRIG:COUN %d",
        """Control the trigger count (the 6221 trigger model); config_buffer sets it.""",
        validator=strict_range, values=[1, 99999], cast=int,
    )
    trigger_delay = Instrument.control(
        ":TRIG:DEL?", ":TRIG:DEL %g", """Control the trigger delay in seconds.""",
        validator=truncated_range, values=[0, 999999.999],
    )
    sweep_spacing = Instrument.control(
        ":SOUR:SWE:SPAC?", ":SOUR:SWE:SPAC %s",
        """Control the sweep type: 'linear', 'log' or 'list'.""",
        validator=strict_discrete_set, values={"linear": "LIN", "log": "LOG", "list": "LIST"},
        map_values=True,
    )
    list_currents = Instrument.control(
        ":SOUR:LIST:CURR?", ":SOUR:LIST:CURR %s",
        """Control the custom sweep's currents (A), up to 100 points.""",
        set_process=_float_list, get_process=_parse_floats,
    )
    list_delays = Instrument.control(
        ":SOUR:LIST:DEL?", ":SOUR:LIST:DEL %s",
        """Control the custom sweep's per-point delays (s), 1 ms to 999999.999 s.""",
        set_process=_float_list, get_process=_parse_floats,
    )
    list_compliances = Instrument.control(
        ":SOUR:LIST:COMP?", ":SOUR:LIST:COMP %s",
        """Control the custom sweep's per-point compliances (V).""",
        set_process=_float_list, get_process=_parse_floats,
    )
    sweep_ranging = Instrument.control(
        ":SOUR:SWE:RANG?", ":SOUR:SWE:RANG %s", """Control sweep ranging: 'best' or 'fixed'.""",
        validator=strict_discrete_set, values={"best": "BEST", "fixed": "FIX"}, map_values=True,
    )

    def arm_sweep(self) -> None:
        self.write(":SOUR:SWE:ARM")

    def abort_sweep(self) -> None:
        self.write(":SOUR:SWE:ABOR")

    def load_list(self, currents, delays) -> None:
        """A custom sweep list; every current is checked against the limits first."""
        currents, delays = list(currents), list(delays)
        if not 1 <= len(currents) <= 100 or len(delays) not in (1, len(currents)):
            raise ValueError(f"list: {len(currents)} points (allowed 1-100, one delay each)")
        for value in currents:
            self.limits.pulse_current(value)
        for value in delays:
            strict_range(value, [1e-3, 999999.999])
        self.sweep_spacing = "list"
        self.list_currents = currents
        self.list_delays = delays

    def pulse(self, current: float, width: float) -> None:
        """One hardware-timed pulse (arbitrary waveform [sign, 0] played once), then wait for
        completion with *OPC?. The output returns to its DC state afterwards."""
        self.limits.pulse_current(current)
        self.limits.pulse_width(width)
        strict_range(width, [5e-6, 500.0])
        sign = 1 if current >= 0 else -1
        if self._pulse_shape != (sign, width):
            self.define_arbitary_waveform([sign, 0], location=1)  # also selects ARB1
            self.waveform_frequency = 1.0 / (2.0 * width)
            self.waveform_offset = 0.0
            self.waveform_duration_cycles = 1
            self._pulse_shape = (sign, width)
        self.waveform_amplitude = max(self.programmed(abs(current)), 2e-12)
        self.waveform_arm()
        self.waveform_start()
        self.ask("*OPC?")

    CYCLE_POINTS = 7  # reset, 0, write, 0, read x3 (the 2000 integrates inside the reads)
    MARKER_POINT = 4
    LIST_POINTS = 10  # per cycle: reset, 0, 0, write, 0, read x3, 0, 0 -> 1 ms at 100 us

    @staticmethod
    def programmed(current: float) -> float:
        """A level as the instrument is told it: pymeasure writes amplitudes with %g (six
        significant digits). A waveform's points are sent in full as programmed level /
        programmed amplitude, so a cycle inside a waveform gets the current a single pulse
        of the same level gets, within one floating-point rounding."""
        return float(f"{current:g}")

    def _cycle_amplitude(self, reset: float, writes: list[float], read: float,
                         width: float) -> float:
        """Check every level against the limits; the waveform's peak amplitude."""
        for value in (reset, *writes):
            self.limits.pulse_current(value)
        self.limits.read_current(read)
        self.limits.pulse_width(width)
        return self.programmed(max(abs(reset), abs(read), *(abs(w) for w in writes)))

    def _play(self, frequency: float, amplitude: float, cycles: int, phase: float) -> None:
        """Play the selected arbitrary waveform ``cycles`` times, the phase marker (on the
        trigger link) at ``phase`` degrees, and wait until it has played."""
        self.waveform_frequency = frequency
        self.waveform_offset = 0.0
        self.waveform_amplitude = amplitude
        self.waveform_duration_cycles = cycles
        self.waveform_phasemarker_phase = phase - 360.0 if phase > 180 else phase  # -180..180
        self.waveform_phasemarker_line = 1
        self.waveform_use_phasemarker = True
        self._pulse_shape = None  # another location is selected now: the next pulse redefines
        self.waveform_arm()
        self.waveform_start()
        self.ask("*OPC?")

    def mark_trigger_link(self) -> None:
        """One pulse on the trigger link and no current: a 2-point waveform of zeros (2 pA
        full scale) played once with its phase marker on. Proves the cable to the 2000
        without driving the device."""
        self.define_arbitary_waveform([0.0, 0.0], location=4)
        self._play(1e3, 2e-12, 1, 0.0)

    def play_cycles(self, reset: float, write: float, read: float, width: float,
                    cycles: int) -> None:
        """``cycles`` reset-write-read cycles timed by the instrument: a 7-point arbitrary
        waveform (each point ``width`` long) repeated, its phase marker on the trigger link at
        the start of the read window, so the 2000 takes one reading per cycle into its buffer."""
        amplitude = self._cycle_amplitude(reset, [write], read, width)
        strict_range(cycles, [1, 1024])
        points = [reset, 0.0, write, 0.0, read, read, read]
        self.define_arbitary_waveform([self.programmed(v) / amplitude for v in points],
                                      location=2)
        self._play(1.0 / (self.CYCLE_POINTS * width), amplitude, cycles,
                   360.0 * self.MARKER_POINT / self.CYCLE_POINTS)

    def play_cycle_list(self, reset: float, writes, read: float, width: float) -> None:
        """One waveform holding every cycle with its own write current (up to 6,553 cycles),
        uploaded 100 points a command (ARB:DATA, then ARB:APPend), played once; its phase
        marker at the start arms the 2000, which then samples on its own timer."""
        writes = [float(w) for w in writes]
        amplitude = self._cycle_amplitude(reset, writes, read, width)
        strict_range(len(writes), [1, 65536 // self.LIST_POINTS])
        data = []
        for w in writes:
            data += [reset, 0.0, 0.0, w, 0.0, read, read, read, 0.0, 0.0]
        scaled = [repr(self.programmed(v) / amplitude) for v in data]
        self.write(":SOUR:WAVE:ARB:DATA " + ",".join(scaled[:100]))
        for start in range(100, len(scaled), 100):
            self.write(":SOUR:WAVE:ARB:APP " + ",".join(scaled[start:start + 100]))
        self.write(":SOUR:WAVE:ARB:COPY 3")
        self.waveform_function = "arbitrary3"
        self._play(1.0 / (len(data) * width), amplitude, 1, 0.0)

    def set_read_current(self, current: float) -> None:
        self.limits.read_current(current)
        self.source_current = current

    def shutdown(self) -> None:
        """Output off first, then pymeasure's shutdown."""
        try:
            self.write(":SOUR:WAVE:ABOR")
            self.write("OUTPUT OFF")
            self.confirm_output_off()
        finally:
            super().shutdown()


class HallVoltmeter(SafeWriteMixin, Keithley2000):
    """Keithley 2000 reading the anomalous-Hall voltage (paper 002 Methods 4.3)."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self.limits = limits or SafetyLimits()
        with warnings.catch_warnings():  # pymeasure 0.16's SCPIUnknownMixin FutureWarning
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(adapter, **kwargs)

    voltage_nplc = Instrument.control(
        ":SENS:VOLT:NPLC?", ":SENS:VOLT:NPLC %g",
        """Control the DC-voltage integration time in power-line cycles, 0.01 to 10.""",
        validator=strict_range, values=[0.01, 10],
    )
    voltage_ac_range = Instrument.control(
        ":SENS:VOLT:AC:RANG?", ":SENS:VOLT:AC:RANG:AUTO 0;:SENS:VOLT:AC:RANG %g",
        """Control the AC voltage range in volts, 0 to 757.5 V (auto-range off).""",
        validator=truncated_range, values=[0, 757.5],
    )
    trigger_source = Instrument.control(
        ":TRIG:SOUR?", ":TRIG:SOUR %s",
        """Control the trigger source: 'immediate', 'external', 'timer', 'manual', 'bus' or
        'tlink' (the trigger link from the 6221).""",
        validator=strict_discrete_set,
        values={"immediate": "IMM", "external": "EXT", "timer": "TIM", "manual": "MAN",
                "bus": "BUS", "tlink": "TLIN"}, map_values=True,
    )
    sample_count = Instrument.control(
        ":SAMP:COUN?", ":SAMP:COUN %d", """Control readings per trigger, 1 to 1024.""",
        validator=strict_range, values=[1, 1024], cast=int,
    )
    continuous_initiation = Instrument.control(
        ":INIT:CONT?", ":INIT:CONT %d", """Control continuous initiation (off for triggered
        acquisition).""", validator=strict_discrete_set, values={True: 1, False: 0},
        map_values=True,
    )
    autozero_enabled = Instrument.control(
        ":SYST:AZER:STAT?", ":SYST:AZER:STAT %d", """Control autozero (off halves the read
        time, at the cost of drift).""", validator=strict_discrete_set,
        values={True: 1, False: 0}, map_values=True,
    )
    display_enabled = Instrument.control(
        ":DISP:ENAB?", ":DISP:ENAB %d", """Control the front panel display (off is faster).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )

    def initiate(self) -> None:
        self.write(":INIT")

    def fetch(self) -> list[float]:
        """The readings of the last acquisition (:FETC?)."""
        reply = self.ask(":FETC?").strip()
        try:
            return _parse_floats(reply)
        except ValueError:
            raise InstrumentError(f"{self.name}: garbled reply {reply!r} to :FETC?") from None

    def read_voltage(self) -> float:
        return self.read_float(":READ?")

    def arm_link_buffer(self, readings: int) -> None:
        """Wait for ``readings`` trigger-link pulses, one reading each, into the buffer."""
        strict_range(readings, [1, 1024])
        self.continuous_initiation = False
        self.trigger_source = "tlink"
        self.sample_count = 1
        self.trigger_count = readings
        self.initiate()
        self.check_errors()  # a query: the 2000 has taken :INIT before the 6221 plays

    def arm_timed_buffer(self, readings: int, interval: float, delay: float) -> None:
        """Armed by one trigger-link pulse, then ``readings`` readings ``interval`` apart
        (the 2000's timer: 1 ms at the least), the first after ``delay``."""
        strict_range(readings, [1, 1024])
        strict_range(interval, [1e-3, 999999.999])
        self.continuous_initiation = False
        self.write(":ARM:SOUR TLIN")
        self.trigger_source = "timer"
        self.write(f":TRIG:TIM {interval:g};:TRIG:DEL {delay:g}")
        self.sample_count = 1
        self.trigger_count = readings
        self.initiate()
        self.check_errors()  # a query: the 2000 has taken :INIT before the 6221 plays

    def immediate_triggering(self) -> None:
        self.write(":ARM:SOUR IMM;:TRIG:DEL 0")
        self.trigger_source = "immediate"
        self.trigger_count = 1


class FieldSupply(SafeWriteMixin, Keithley2400):
    """Keithley 2400 as coil supply (field = coil_constant * I) or as bias-voltage source."""

    _guards = [
        (re.compile(r":?SOUR(?:CE)?:VOLT(?:AGE)?\s+(\S+)$", re.I), "compliance"),
        (re.compile(r":?SENS(?:E)?:VOLT(?:AGE)?:PROT(?:ECTION)?\s+(\S+)$", re.I), "compliance"),
    ]

    def __init__(self, adapter, limits: SafetyLimits | None = None,
                 coil_constant: float = 0.01, **kwargs) -> None:
        if coil_constant <= 0:
            raise ValueError(f"coil_constant = {coil_constant:g} T/A must be > 0")
        self.limits = limits or SafetyLimits()
        self.coil_constant = coil_constant
        super().__init__(adapter, **kwargs)

    def set_field(self, field: float, compliance: float = 10.0) -> None:
        """Source the coil current for an in-plane field (T)."""
        self.limits.field(field)
        self.limits.compliance(compliance)
        self.source_mode = "current"
        self.compliance_voltage = compliance
        self.source_current_range_auto_enabled = True
        self.source_current = field / self.coil_constant
        self.enable_source()
        self.check_errors()  # also waits until the instrument has taken the settings

    def shutdown(self) -> None:
        """Source back to zero and output off (pymeasure's ramp), then confirmed."""
        super().shutdown()
        self.confirm_output_off()

    def set_bias_voltage(self, voltage: float, compliance_current: float = 1e-4) -> None:
        self.limits.compliance(abs(voltage))
        self.source_mode = "voltage"
        self.compliance_current = compliance_current
        self.source_voltage_range_auto_enabled = True
        self.source_voltage = voltage
        self.enable_source()
        self.check_errors()


class SwitchCard(SafeWriteMixin, Instrument):
    """Keithley 7001-style switch card routing one device at a time (card 1)."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, channels: int = 40,
                 **kwargs) -> None:
        self.limits = limits or SafetyLimits()
        self.channels = channels
        super().__init__(adapter, "Keithley 7001 switch", includeSCPI=False, **kwargs)

    closed_channels = Instrument.measurement(":ROUT:CLOS?", """Get the closed channel list.""",
                                             get_process=lambda v: str(v))

    def select(self, device: int) -> None:
        """Route device ``device`` (0-based): open everything, then close its channel."""
        strict_range(device, [0, self.channels - 1])
        self.write(f":ROUT:OPEN ALL;:ROUT:CLOS (@1!{device + 1})")
        self.check_errors()

    def shutdown(self) -> None:
        self.write(":ROUT:OPEN ALL")
        super().shutdown()
